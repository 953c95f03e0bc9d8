/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest linter: workloads, their pods and containers, held to the
 * restricted profile and to what the image in the store says it needs. */
#include "kube.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rootfs/rootfs.h"

static const struct kube_rule rules[] = {
    {"KL101", "root-filesystem-writable", LINT_ERROR,
     "a container's root filesystem is read-only (readOnlyRootFilesystem: true)"},
    {"KL102", "may-run-as-root", LINT_ERROR,
     "a container cannot run as root (runAsNonRoot, a non-zero runAsUser)"},
    {"KL103", "privileged", LINT_ERROR, "no container is privileged"},
    {"KL104", "privilege-escalation", LINT_ERROR,
     "a container cannot gain privileges (allowPrivilegeEscalation: false)"},
    {"KL105", "capabilities-not-dropped", LINT_WARNING,
     "a container drops every capability (capabilities.drop: [ALL])"},
    {"KL106", "dangerous-capability", LINT_ERROR,
     "a container adds no capability but NET_BIND_SERVICE"},
    {"KL107", "host-namespace", LINT_ERROR,
     "the pod shares no host namespace (hostNetwork, hostPID, hostIPC)"},
    {"KL108", "host-path", LINT_ERROR, "the pod mounts no hostPath volume"},
    {"KL109", "host-port", LINT_WARNING, "a container binds no hostPort"},
    {"KL110", "no-seccomp", LINT_WARNING,
     "a container has a seccomp profile (RuntimeDefault or Localhost)"},
    {"KL111", "image-not-by-digest", LINT_WARNING, "an image is named by digest, not by tag"},
    {"KL112", "image-latest", LINT_ERROR, "an image has a tag other than latest, or a digest"},
    {"KL113", "service-account-token", LINT_WARNING,
     "the pod does not mount a service account token (automountServiceAccountToken: false)"},
    {"KL114", "no-resource-limits", LINT_WARNING, "a container has memory and CPU limits"},
    {"KL201", "writable-path-not-mounted", LINT_ERROR,
     "every writable path of the image's label has a writable volume on a read-only root"},
    {"KL202", "emptydir-over-image-content", LINT_WARNING,
     "an emptyDir does not hide the image's content without an init container to copy it"},
    {"KL203", "image-refused-by-trust-gate", LINT_ERROR,
     "the trust gate allows the image (its base not banned, the signatures the policy "
     "requires present)"},
    {"KL204", "tmpfs-only-path-on-disk", LINT_WARNING,
     "a writable path the image's label marks tmpfs-only (memory) is not backed by disk "
     "(an emptyDir with medium: Memory)"},
};

const struct kube_rule *kube_lint_rules(size_t *n)
{
	*n = ARRAY_SIZE(rules);
	return rules;
}

const struct kube_rule *kube_lint_rule_find(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (strcmp(rules[i].id, id) == 0)
			return &rules[i];
	return NULL;
}

/* What the image-aware rules need about an image, looked up once. */
struct image_entry {
	char *ref;
	bool found;
	uid_t uid;
	struct image_writable_path *writable;
	size_t n_writable;
	struct strvec lowers;
	char *refused;       /* KL203: the trust gate's reasons, or NULL */
	bool pending;        /* not in the store nor yet in the registry cache */
	bool remote;         /* read from the registry cache */
	unsigned generation; /* of the cache, when read */
	/* A registry image's paths (kube_remote_image's), for KL202; the
	 * store's images have their extracted layers (lowers) instead. */
	struct strvec paths;
	bool has_paths;
	char paths_digest[OCI_DIGEST_SIZE]; /* the manifest they are of */
};

struct kube_linter {
	struct petra_store *store;
	kube_gate_fn gate;
	void *gate_ctx;
	bool unknown_image_refused;
	struct kube_remote *remote;
	kube_remote_gate_fn remote_gate;
	struct image_entry *images;
	size_t n_images, alloc_images;
};

int kube_linter_new(const struct kube_lint_options *o, struct kube_linter **out,
		    struct petra_error **err)
{
	(void)err;
	*out = xcalloc(1, sizeof(**out));
	(*out)->store = o ? o->store : NULL;
	(*out)->gate = o ? o->gate : NULL;
	(*out)->gate_ctx = o ? o->gate_ctx : NULL;
	(*out)->unknown_image_refused = o && o->unknown_image_refused;
	(*out)->remote = o ? o->remote : NULL;
	(*out)->remote_gate = o ? o->remote_gate : NULL;
	return 0;
}

void kube_linter_free(struct kube_linter *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_images; i++) {
		free(l->images[i].ref);
		free(l->images[i].refused);
		image_writable_paths_free(l->images[i].writable, l->images[i].n_writable);
		strvec_clear(&l->images[i].lowers);
		strvec_clear(&l->images[i].paths);
	}
	free(l->images);
	free(l);
}

void kube_lint_result_release(struct kube_lint_result *r)
{
	for (size_t i = 0; i < r->n_findings; i++) {
		free(r->findings[i].object);
		free(r->findings[i].container);
		free(r->findings[i].message);
	}
	free(r->findings);
	free(r->file);
	strvec_clear(&r->notes);
	memset(r, 0, sizeof(*r));
}

enum lint_severity kube_lint_result_worst(const struct kube_lint_result *r)
{
	enum lint_severity worst = LINT_OFF;
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].rule->severity > worst)
			worst = r->findings[i].rule->severity;
	return worst;
}

/* A USER as a number without the image's /etc/passwd: "UID[:GID]", and
 * "" or root as 0; another name cannot be resolved from the config. */
static bool user_from_config(const char *user, uid_t *uid)
{
	size_t n = user ? strcspn(user, ":") : 0;
	if (n == 0 || (n == 4 && strncmp(user, "root", 4) == 0)) {
		*uid = 0;
		return true;
	}
	char *end;
	unsigned long v = strtoul(user, &end, 10);
	if (end != user + n)
		return false;
	*uid = (uid_t)v;
	return true;
}

/* The facts of an image not in the store from the registry cache (and,
 * for kube-lint, the registry): its label and USER. On a miss the entry
 * stays pending and is looked up again on the next request. */
static void remote_entry(struct kube_linter *l, struct image_entry *e, struct strvec *notes)
{
	bool first = !e->pending;
	/* Read before the cache: a fetch meanwhile makes it read again. */
	unsigned generation = kube_remote_generation(l->remote);
	free(e->refused);
	e->refused = NULL;
	image_writable_paths_free(e->writable, e->n_writable);
	e->writable = NULL;
	e->n_writable = 0;
	e->found = false;
	struct kube_remote_image img = {0};
	struct petra_error *err = NULL;
	int r = kube_remote_image(l->remote, e->ref, &img, &err);
	if (r < 0) {
		if (l->unknown_image_refused)
			e->refused =
			    xasprintf("%s is not in the store and its registry failed (%s), "
				      "and unknown images are refused",
				      e->ref, err->message);
		else
			strvec_pushf(notes,
				     "image %s: %s; the image-aware rules (KL2xx) are left "
				     "out for it",
				     e->ref, err->message);
		petra_error_free(err);
		return;
	}
	if (r == 0) {
		e->pending = true;
		if (l->unknown_image_refused && !e->refused)
			e->refused = xasprintf("%s is neither in the store nor yet in the image "
					       "cache (being fetched), and unknown images are "
					       "refused",
					       e->ref);
		else if (first && !l->unknown_image_refused)
			strvec_pushf(notes,
				     "%s is neither in the store nor yet in the image cache (being "
				     "fetched): the image-aware rules (KL2xx) are left out for it",
				     e->ref);
		return;
	}
	e->pending = false;
	e->remote = true;
	e->generation = generation;
	if (l->remote_gate) {
		/* The name the gate judges: the reference without a digest. */
		_cleanup_free_ char *name = xstrndup(e->ref, strcspn(e->ref, "@"));
		if (l->remote_gate(l->gate_ctx, l->store, name, img.digest, img.manifest,
				   img.signatures, &err) < 0) {
			e->refused = xstrdup(err->message);
			petra_error_free(err);
			err = NULL;
		}
	}
	const json_t *cfg = json_object_get(img.config, "config");
	const char *label = json_string_value(
	    json_object_get(json_object_get(cfg, "Labels"), IMAGE_WRITABLE_PATHS_LABEL));
	const char *user = json_string_value(json_object_get(cfg, "User"));
	if (image_writable_paths_parse(label, &e->writable, &e->n_writable, &err) < 0) {
		strvec_pushf(notes, "image %s: %s; its image-aware rules (KL2xx) are left out",
			     e->ref, err->message);
		petra_error_free(err);
		kube_remote_image_release(&img);
		return;
	}
	if (!user_from_config(user, &e->uid)) {
		/* Without the layers there is no /etc/passwd: a name other
		 * than root is taken for what it conventionally is. */
		e->uid = 65534;
		strvec_pushf(notes,
			     "image %s (from its registry): USER %s is a name, taken as not "
			     "root without the image's /etc/passwd",
			     e->ref, user);
	}
	/* The list is immutable per manifest: read again only for another
	 * one (a tag moved), not at every change of the cache. */
	if (e->has_paths && strcmp(e->paths_digest, img.digest) != 0) {
		strvec_clear(&e->paths);
		e->has_paths = false;
	}
	if (!e->has_paths && img.has_paths) {
		e->has_paths = kube_remote_paths(l->remote, img.digest, &e->paths);
		memcpy(e->paths_digest, img.digest, OCI_DIGEST_SIZE);
	}
	if (!e->has_paths) {
		strvec_pushf(
		    notes, "image %s (from its registry): KL202 is left out for it: %s", e->ref,
		    img.paths_error ? img.paths_error
				    : "its layers' paths are not read yet (being fetched)");
	}
	kube_remote_image_release(&img);
	e->found = true;
}

/* The image facts of `ref`, from the store (else, with a registry cache,
 * from its registry); found false when it is not there (or there is no
 * store), which leaves the image-aware rules out. */
static const struct image_entry *image_entry(struct kube_linter *l, const char *ref,
					     struct strvec *notes)
{
	for (size_t i = 0; i < l->n_images; i++)
		if (strcmp(l->images[i].ref, ref) == 0) {
			/* Pending, or read from a cache that has changed
			 * since (the refresher's fetch): read again. */
			if (l->images[i].pending ||
			    (l->images[i].remote &&
			     l->images[i].generation != kube_remote_generation(l->remote)))
				remote_entry(l, &l->images[i], notes);
			return &l->images[i];
		}
	xgrow((void **)&l->images, &l->alloc_images, l->n_images + 1, sizeof(*l->images));
	struct image_entry *e = &l->images[l->n_images++];
	memset(e, 0, sizeof(*e));
	e->ref = xstrdup(ref);
	if (!l->store && l->remote)
		remote_entry(l, e, notes);
	if (!l->store)
		return e;
	struct image img;
	struct petra_error *err = NULL;
	if (image_load(l->store, ref, &img, &err) < 0) {
		if (err->code == ENOENT && l->remote)
			remote_entry(l, e, notes);
		else if (err->code == ENOENT && l->unknown_image_refused)
			e->refused = xasprintf(
			    "%s is not in the store, and unknown images are refused", ref);
		else if (err->code == ENOENT)
			strvec_pushf(notes,
				     "%s is not in the store: the image-aware rules (KL2xx) are "
				     "left out for it",
				     ref);
		else
			strvec_pushf(notes,
				     "image %s: %s; the image-aware rules (KL2xx) are "
				     "left out for it",
				     ref, err->message);
		petra_error_free(err);
		return e;
	}
	if (l->gate && l->gate(l->gate_ctx, l->store, &img, &err) < 0) {
		e->refused = xstrdup(err->message);
		petra_error_free(err);
		err = NULL;
	}
	json_t *cfg = image_runtime_config(&img);
	const char *label = json_string_value(
	    json_object_get(json_object_get(cfg, "Labels"), IMAGE_WRITABLE_PATHS_LABEL));
	const char *user = json_string_value(json_object_get(cfg, "User"));
	gid_t gid;
	_cleanup_free_ char *home = NULL;
	int r = image_writable_paths_parse(label, &e->writable, &e->n_writable, &err);
	if (r == 0)
		r = rootfs_prepare(l->store, &img, &e->lowers, &err);
	if (r == 0)
		r = rootfs_resolve_user((const char *const *)e->lowers.v, e->lowers.n, user,
					&e->uid, &gid, &home, &err);
	image_release(&img);
	if (r < 0) {
		strvec_pushf(notes, "image %s: %s; its image-aware rules (KL2xx) are left out", ref,
			     err->message);
		petra_error_free(err);
		return e;
	}
	e->found = true;
	return e;
}

/* ---- one pod ------------------------------------------------------------ */

/* What a finding is about, and where. */
struct pod_ctx {
	struct kube_linter *l;
	const struct petra_yaml *y;
	struct kube_lint_result *out;
	unsigned line_offset; /* of the document in the file */
	char *object;         /* "Deployment/web" */
	unsigned object_line;
	const json_t *annotations[2]; /* the workload's and the pod template's */
	const json_t *spec;           /* the pod spec */
	const json_t *pod_sc;         /* spec.securityContext */
};

/* Whether `id` is in the comma-separated list `list`. */
static bool list_has(const char *list, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = list; p && *p;) {
		p += strspn(p, " ,");
		size_t len = strcspn(p, " ,");
		if (len == n && strncasecmp(p, id, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* Exemptions: "petra.dev/ignore" on the workload or its pod template for
 * every container, "petra.dev/ignore.CONTAINER" for one (init and
 * ephemeral containers by their own names). */
static bool exempt(const struct pod_ctx *p, const char *id, const char *container)
{
	_cleanup_free_ char *key = container ? xasprintf("petra.dev/ignore.%s", container) : NULL;
	for (size_t i = 0; i < ARRAY_SIZE(p->annotations); i++) {
		const json_t *a = p->annotations[i];
		if (list_has(json_string_value(json_object_get(a, "petra.dev/ignore")), id))
			return true;
		if (key && list_has(json_string_value(json_object_get(a, key)), id))
			return true;
	}
	return false;
}

static void report(struct pod_ctx *p, const char *id, const char *container, unsigned line,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report(struct pod_ctx *p, const char *id, const char *container, unsigned line,
		   const char *fmt, ...)
{
	if (exempt(p, id, container))
		return;
	struct kube_lint_result *out = p->out;
	out->findings = xrealloc(out->findings, (out->n_findings + 1) * sizeof(*out->findings));
	struct kube_finding *f = &out->findings[out->n_findings++];
	f->rule = kube_lint_rule_find(id);
	f->object = xstrdup(p->object);
	f->container = container ? xstrdup(container) : NULL;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	f->message = strbuf_detach(&sb);
	f->line = line ? line + p->line_offset : p->object_line;
}

/* A securityContext field as the kubelet sees it: the container's, else
 * the pod's (for the fields both have). */
static const json_t *effective(const struct pod_ctx *p, const json_t *c_sc, const char *key)
{
	const json_t *v = json_object_get(c_sc, key);
	if (v && !json_is_null(v))
		return v;
	return json_object_get(p->pod_sc, key);
}

/* Whether an image reference has a digest, and whether its tag is
 * latest (or missing, which means latest). */
static void image_ref_tag(const char *image, bool *by_digest, bool *latest)
{
	*by_digest = strstr(image, "@sha256:") != NULL;
	const char *slash = strrchr(image, '/');
	const char *last = slash ? slash + 1 : image;
	size_t n = strcspn(last, "@");
	const char *colon = memchr(last, ':', n);
	size_t tag_len = colon ? (size_t)(last + n - colon - 1) : 0;
	*latest = !*by_digest && (!colon || (tag_len == 6 && strncmp(colon + 1, "latest", 6) == 0));
}

static const json_t *volume_named(const struct pod_ctx *p, const char *name)
{
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(p->spec, "volumes"), i, v)
	{
		if (name && strcmp(json_string_value(json_object_get(v, "name")) ?: "", name) == 0)
			return v;
	}
	return NULL;
}

/* A volume a container can write into: not one of the kinds the kubelet
 * always mounts read-only, and not mounted readOnly. */
static bool writable_mount(const struct pod_ctx *p, const json_t *mount)
{
	if (json_is_true(json_object_get(mount, "readOnly")))
		return false;
	const json_t *v = volume_named(p, json_string_value(json_object_get(mount, "name")));
	if (!v)
		return false;
	static const char *const read_only_kinds[] = {"configMap", "secret", "downwardAPI",
						      "projected", "image"};
	for (size_t i = 0; i < ARRAY_SIZE(read_only_kinds); i++)
		if (json_object_get(v, read_only_kinds[i]))
			return false;
	return true;
}

/* Whether mount path m is `path` or a directory above it. */
static bool covers(const char *m, const char *path)
{
	size_t n = strlen(m);
	while (n > 1 && m[n - 1] == '/')
		n--;
	if (n == 1 && m[0] == '/')
		return true;
	return strncmp(m, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* How many entries the image has at `path` (a directory's entries that are
 * still there on top; a file or link counts as one), following the
 * overlay rules of the extracted layers. */
/* The same from a registry image's sorted path list: the path itself (a
 * file counts as one), else the entries right under it. */
static size_t listed_entries_at(const struct strvec *paths, const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	_cleanup_free_ char *file = xstrndup(path, n);
	_cleanup_free_ char *dir = xasprintf("%s/", n == 1 ? "" : file);
	size_t lo = 0, hi = paths->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(paths->v[mid], dir) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t dn = strlen(dir), count = 0;
	bool is_dir = false;
	for (size_t i = lo; i < paths->n && strncmp(paths->v[i], dir, dn) == 0; i++) {
		const char *rest = paths->v[i] + dn;
		if (*rest == '\0') {
			is_dir = true;
			continue;
		}
		const char *slash = strchr(rest, '/');
		if (!slash || slash[1] == '\0')
			count++;
	}
	if (is_dir || count > 0)
		return count;
	/* A file: its exact line (no trailing "/"). */
	for (size_t a = 0, b = paths->n; a < b;) {
		size_t mid = (a + b) / 2;
		int c = strcmp(paths->v[mid], file);
		if (c == 0)
			return 1;
		if (c < 0)
			a = mid + 1;
		else
			b = mid;
	}
	return 0;
}

static size_t image_entries_at(const struct image_entry *e, const char *path)
{
	if (e->remote)
		return e->has_paths ? listed_entries_at(&e->paths, path) : 0;
	const char *const *lowers = (const char *const *)e->lowers.v;
	struct stat st;
	size_t layer;
	if (rootfs_lookup(lowers, e->lowers.n, path, &st, &layer) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return 1;
	_cleanup_strset_ struct strset seen = STRSET_INIT;
	size_t n = 0;
	for (size_t i = 0; i < e->lowers.n; i++) {
		_cleanup_free_ char *dir = xasprintf("%s%s", lowers[i], path);
		_cleanup_closedir_ DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
			    !strset_add(&seen, de->d_name))
				continue;
			_cleanup_free_ char *child = xasprintf("%s/%s", path, de->d_name);
			if (rootfs_lookup(lowers, e->lowers.n, child, &st, &layer) == 0)
				n++;
		}
	}
	return n;
}

/* Whether an init container mounts volume `name`: the copy step. */
static bool init_fills(const struct pod_ctx *p, const char *name)
{
	size_t i, j;
	const json_t *c, *m;
	json_array_foreach(json_object_get(p->spec, "initContainers"), i, c)
	{
		json_array_foreach(json_object_get(c, "volumeMounts"), j, m)
		{
			if (strcmp(json_string_value(json_object_get(m, "name")) ?: "", name) == 0)
				return true;
		}
	}
	return false;
}

/* KL204: the mount that serves a tmpfs-only path (the deepest writable
 * one over it) must be memory: an emptyDir with medium Memory. */
static void memory_rule(struct pod_ctx *p, const json_t *mounts,
			const struct image_writable_path *w, const char *cname, const char *label,
			const char *image, unsigned line)
{
	const json_t *best = NULL, *m;
	size_t i, best_len = 0;
	json_array_foreach(mounts, i, m)
	{
		const char *mp = json_string_value(json_object_get(m, "mountPath"));
		if (mp && covers(mp, w->path) && writable_mount(p, m) && strlen(mp) >= best_len) {
			best = m;
			best_len = strlen(mp);
		}
	}
	const char *vname = json_string_value(json_object_get(best, "name"));
	const json_t *empty = json_object_get(volume_named(p, vname), "emptyDir");
	const char *medium = json_string_value(json_object_get(empty, "medium"));
	if (!medium || strcmp(medium, "Memory") != 0)
		report(p, "KL204", cname, line,
		       "%s: %s keeps %s in memory only (its writable-paths label), and the "
		       "volume %s mounted there may be backed by disk (an emptyDir with "
		       "medium: Memory is not)",
		       label, image, w->path, vname ? vname : "?");
}

static void image_rules(struct pod_ctx *p, const json_t *c, const char *cname, const char *label,
			unsigned line, bool read_only)
{
	const char *image = json_string_value(json_object_get(c, "image"));
	if (!image)
		return;
	const struct image_entry *e = image_entry(p->l, image, &p->out->notes);
	if (e->refused)
		report(p, "KL203", cname, line, "%s: %s", label, e->refused);
	if (!e->found)
		return;
	const json_t *mounts = json_object_get(c, "volumeMounts");
	size_t i;
	const json_t *m;
	for (size_t w = 0; read_only && w < e->n_writable; w++) {
		bool ok = false;
		json_array_foreach(mounts, i, m)
		{
			const char *mp = json_string_value(json_object_get(m, "mountPath"));
			if (mp && covers(mp, e->writable[w].path) && writable_mount(p, m))
				ok = true;
		}
		if (ok && e->writable[w].memory)
			memory_rule(p, mounts, &e->writable[w], cname, label, image, line);
		if (!ok)
			report(p, "KL201", cname, line,
			       "%s: %s must write %s (its writable-paths label) and no writable "
			       "volume is mounted there: it fails on the read-only root",
			       label, image, e->writable[w].path);
	}
	json_array_foreach(mounts, i, m)
	{
		const char *mp = json_string_value(json_object_get(m, "mountPath"));
		const char *vname = json_string_value(json_object_get(m, "name"));
		const json_t *v = volume_named(p, vname);
		if (!mp || !v || !json_object_get(v, "emptyDir"))
			continue;
		size_t n = image_entries_at(e, mp);
		if (n > 0 && !init_fills(p, vname))
			report(p, "KL202", cname, line,
			       "%s: the emptyDir %s at %s hides %zu entr%s of %s there, and no "
			       "init container copies them in",
			       label, vname, mp, n, n == 1 ? "y" : "ies", image);
	}
}

static void container_rules(struct pod_ctx *p, const json_t *c, const char *kind, unsigned line)
{
	const char *cname = json_string_value(json_object_get(c, "name"));
	_cleanup_free_ char *label = xasprintf("%s %s", kind, cname ? cname : "?");
	const json_t *sc = json_object_get(c, "securityContext");
	bool ephemeral = strcmp(kind, "ephemeral container") == 0;
	bool read_only = json_is_true(json_object_get(sc, "readOnlyRootFilesystem"));
	if (!read_only)
		report(p, "KL101", cname, line, "%s: the root filesystem is writable", label);

	const json_t *uid = effective(p, sc, "runAsUser");
	bool non_root = json_is_true(effective(p, sc, "runAsNonRoot"));
	if (json_is_integer(uid) && json_integer_value(uid) == 0) {
		report(p, "KL102", cname, line, "%s: runAsUser is 0 (root)", label);
	} else if (!non_root && !(json_is_integer(uid) && json_integer_value(uid) > 0)) {
		const char *image = json_string_value(json_object_get(c, "image"));
		const struct image_entry *e = image && (p->l->store || p->l->remote)
						  ? image_entry(p->l, image, &p->out->notes)
						  : NULL;
		if (!e || !e->found || e->uid == 0)
			report(p, "KL102", cname, line,
			       "%s may run as root: no runAsNonRoot and no non-zero runAsUser%s",
			       label, e && e->found ? ", and the image's USER is root" : "");
	}
	if (json_is_true(json_object_get(sc, "privileged")))
		report(p, "KL103", cname, line, "%s is privileged", label);
	if (!json_is_false(json_object_get(sc, "allowPrivilegeEscalation")))
		report(p, "KL104", cname, line,
		       "%s may gain privileges: allowPrivilegeEscalation is not false", label);
	const json_t *caps = json_object_get(sc, "capabilities");
	bool drops_all = false;
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(caps, "drop"), i, v)
	{
		const char *s = json_string_value(v);
		if (s && strcasecmp(s, "ALL") == 0)
			drops_all = true;
	}
	if (!drops_all)
		report(p, "KL105", cname, line, "%s does not drop ALL capabilities", label);
	json_array_foreach(json_object_get(caps, "add"), i, v)
	{
		const char *s = json_string_value(v) ?: "";
		const char *bare = strncasecmp(s, "CAP_", 4) == 0 ? s + 4 : s;
		if (strcasecmp(bare, "NET_BIND_SERVICE") != 0)
			report(p, "KL106", cname, line, "%s adds the capability %s", label, s);
	}
	json_array_foreach(json_object_get(c, "ports"), i, v)
	{
		json_int_t hp = json_integer_value(json_object_get(v, "hostPort"));
		if (hp > 0)
			report(p, "KL109", cname, line, "%s binds host port %lld", label,
			       (long long)hp);
	}
	const char *seccomp =
	    json_string_value(json_object_get(effective(p, sc, "seccompProfile"), "type"));
	if (!seccomp ||
	    (strcmp(seccomp, "RuntimeDefault") != 0 && strcmp(seccomp, "Localhost") != 0))
		report(p, "KL110", cname, line, "%s has no seccomp profile%s%s", label,
		       seccomp ? ": " : "", seccomp ? seccomp : "");
	const char *image = json_string_value(json_object_get(c, "image"));
	if (image) {
		bool by_digest, latest;
		image_ref_tag(image, &by_digest, &latest);
		if (latest)
			report(p, "KL112", cname, line,
			       "%s: the image %s is latest (or has no tag): what runs changes "
			       "under the same name",
			       label, image);
		else if (!by_digest)
			report(p, "KL111", cname, line,
			       "%s: the image %s is named by tag, not digest", label, image);
	}
	const json_t *limits = json_object_get(json_object_get(c, "resources"), "limits");
	bool mem = json_object_get(limits, "memory") != NULL;
	bool cpu = json_object_get(limits, "cpu") != NULL;
	if (!ephemeral && (!mem || !cpu))
		report(p, "KL114", cname, line, "%s has no %s limit", label,
		       !mem && !cpu ? "memory or CPU"
		       : !mem       ? "memory"
				    : "CPU");
	if (p->l->store || p->l->remote)
		image_rules(p, c, cname, label, line, read_only);
}

static void pod_rules(struct pod_ctx *p)
{
	static const char *const host[] = {"hostNetwork", "hostPID", "hostIPC"};
	for (size_t i = 0; i < ARRAY_SIZE(host); i++)
		if (json_is_true(json_object_get(p->spec, host[i])))
			report(p, "KL107", NULL, 0,
			       "the pod shares the host's namespace (%s: true)", host[i]);
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(p->spec, "volumes"), i, v)
	{
		if (json_object_get(v, "hostPath"))
			report(p, "KL108", NULL, 0, "the volume %s is a hostPath (%s)",
			       json_string_value(json_object_get(v, "name")) ?: "?",
			       json_string_value(
				   json_object_get(json_object_get(v, "hostPath"), "path"))
				   ?: "?");
	}
	if (!json_is_false(json_object_get(p->spec, "automountServiceAccountToken")))
		report(p, "KL113", NULL, 0,
		       "the pod mounts a service account token (automountServiceAccountToken is "
		       "not false)");
	static const char *const lists[][2] = {{"initContainers", "init container"},
					       {"containers", "container"},
					       {"ephemeralContainers", "ephemeral container"}};
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
		const json_t *arr = json_object_get(p->spec, lists[k][0]);
		json_array_foreach(arr, i, v)
		{
			unsigned line = 0, col;
			if (p->y)
				petra_yaml_position(p->y, arr, NULL, i, &line, &col);
			container_rules(p, v, lists[k][1], line);
		}
	}
}

/* ---- objects ------------------------------------------------------------ */

/* The pod spec and pod template metadata of a workload, or NULL for a
 * kind that has none. */
static const json_t *pod_spec_of(const json_t *obj, const char *kind, const json_t **template_meta)
{
	static const char *const templated[] = {"Deployment", "StatefulSet",           "DaemonSet",
						"ReplicaSet", "ReplicationController", "Job"};
	*template_meta = NULL;
	const json_t *spec = json_object_get(obj, "spec");
	if (strcmp(kind, "Pod") == 0)
		return spec;
	if (strcmp(kind, "CronJob") == 0)
		spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
	else {
		bool ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(templated); i++)
			ok |= strcmp(kind, templated[i]) == 0;
		if (!ok)
			return NULL;
	}
	const json_t *tmpl = json_object_get(spec, "template");
	*template_meta = json_object_get(tmpl, "metadata");
	return json_object_get(tmpl, "spec");
}

static void lint_object(struct kube_linter *l, const struct petra_yaml *y, const json_t *obj,
			const json_t *parent, size_t index, unsigned line_offset,
			struct kube_lint_result *out)
{
	if (!json_is_object(obj))
		return;
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	if (!kind)
		return;
	if (strcmp(kind, "List") == 0 ||
	    (strlen(kind) > 4 && !strcmp(kind + strlen(kind) - 4, "List"))) {
		size_t i;
		const json_t *item;
		const json_t *items = json_object_get(obj, "items");
		json_array_foreach(items, i, item)
		{
			lint_object(l, y, item, items, i, line_offset, out);
		}
		return;
	}
	const json_t *tmeta;
	const json_t *spec = pod_spec_of(obj, kind, &tmeta);
	if (!json_is_object(spec))
		return;
	out->objects++;
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	struct pod_ctx p = {
	    .l = l,
	    .y = y,
	    .out = out,
	    .line_offset = line_offset,
	    .object = ns ? xasprintf("%s/%s/%s", ns, kind, name ? name : "?")
			 : xasprintf("%s/%s", kind, name ? name : "?"),
	    .annotations = {json_object_get(meta, "annotations"),
			    json_object_get(tmeta, "annotations")},
	    .spec = spec,
	    .pod_sc = json_object_get(spec, "securityContext"),
	};
	unsigned line = 0, col;
	if (y && parent)
		petra_yaml_position(y, parent, NULL, index, &line, &col);
	else if (y)
		petra_yaml_position(y, obj, "kind", 0, &line, &col);
	p.object_line = line + line_offset;
	pod_rules(&p);
	free(p.object);
}

/* Where the next document starts: a line "---" (alone or followed by
 * a blank); *line counts the lines passed. */
static size_t next_document(const char *data, size_t len, size_t pos, unsigned *line)
{
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;
		if (pos > 0 && end - pos >= 3 && memcmp(data + pos, "---", 3) == 0 &&
		    (end - pos == 3 || strchr(" \t\r\n", data[pos + 3])))
			return pos;
		pos = end;
		(*line)++;
	}
	return len;
}

int kube_lint_buffer(struct kube_linter *l, const char *data, size_t len, const char *name,
		     struct kube_lint_result *out, struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	out->file = xstrdup(name);
	unsigned line = 0;
	size_t start = 0;
	while (start < len) {
		unsigned doc_line = line;
		/* Past the first line, so a document's own "---" is not its end. */
		const char *nl = memchr(data + start, '\n', len - start);
		size_t first_end = nl ? (size_t)(nl - data) + 1 : len;
		unsigned next_line = line + 1;
		size_t end = next_document(data, len, first_end, &next_line);
		struct petra_yaml *y = NULL;
		_cleanup_free_ char *where = xstrdup(name);
		if (petra_yaml_parse(data + start, end - start, where, &y, err) < 0) {
			kube_lint_result_release(out);
			return petra_error_prefix(err, "document at line %u", doc_line + 1);
		}
		lint_object(l, y, petra_yaml_root(y), NULL, 0, doc_line, out);
		petra_yaml_free(y);
		start = end;
		line = next_line;
	}
	return 0;
}

int kube_lint_object(struct kube_linter *l, const json_t *object, const char *name,
		     struct kube_lint_result *out)
{
	memset(out, 0, sizeof(*out));
	out->file = xstrdup(name);
	lint_object(l, NULL, object, NULL, 0, 0, out);
	return 0;
}
