/* SPDX-License-Identifier: Apache-2.0 */
/* The audit: one pass over the layers (imagefs, with hooks that scan
 * contents and parse package databases), then the checks over the merged
 * tree, the config and the history. */
#include "internal.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <string.h>

#include "imagefs/imagefs.h"
#include "image/image.h"
#include "rootfs/rootfs.h"

#define INVENTORY_MAX            (64u << 20)
#define MAX_WASTE                50
#define MAX_WASTED_FILE_FINDINGS 20

static const struct audit_check checks[] = {
    {"leak-sensitive-file", AUDIT_LEAK, AUDIT_ERROR,
     "a sensitive file a later layer removed or replaced is still in a lower layer"},
    {"leak-hidden-bytes", AUDIT_LEAK, AUDIT_INFO,
     "bytes of files later layers removed or replaced: downloaded, never used"},
    {"secret-private-key", AUDIT_SECRET, AUDIT_ERROR, "a private key (PEM or OpenSSH)"},
    {"secret-aws-access-key", AUDIT_SECRET, AUDIT_ERROR, "an AWS access key ID"},
    {"secret-aws-secret-key", AUDIT_SECRET, AUDIT_ERROR, "an AWS secret access key"},
    {"secret-gcp-service-account", AUDIT_SECRET, AUDIT_ERROR, "a GCP service account key (JSON)"},
    {"secret-github-token", AUDIT_SECRET, AUDIT_ERROR,
     "a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)"},
    {"secret-gitlab-token", AUDIT_SECRET, AUDIT_ERROR, "a GitLab personal access token (glpat-)"},
    {"secret-slack-token", AUDIT_SECRET, AUDIT_ERROR, "a Slack token (xox?-) or webhook URL"},
    {"secret-stripe-key", AUDIT_SECRET, AUDIT_ERROR, "a Stripe secret or restricted key"},
    {"secret-npm-token", AUDIT_SECRET, AUDIT_ERROR, "an npm token (npm_, _authToken=)"},
    {"secret-pypi-token", AUDIT_SECRET, AUDIT_ERROR, "a PyPI API token"},
    {"secret-docker-auth", AUDIT_SECRET, AUDIT_ERROR,
     "registry credentials in a Docker config (auths)"},
    {"secret-jwt", AUDIT_SECRET, AUDIT_WARNING, "a JSON web token"},
    {"secret-file", AUDIT_SECRET, AUDIT_ERROR,
     "a credentials file (.env, .aws/credentials, .git-credentials, .netrc, .pgpass, "
     "SSH private key names, keystores)"},
    {"secret-password-env", AUDIT_SECRET, AUDIT_ERROR,
     "an Env variable with a password-like name holds a value"},
    {"secret-password-label", AUDIT_SECRET, AUDIT_WARNING,
     "a label with a password-like name holds a value"},
    {"secret-password-history", AUDIT_SECRET, AUDIT_ERROR,
     "a history step assigns a value to a password-like name (a build argument, a RUN line)"},
    {"world-writable", AUDIT_IMMUTABILITY, AUDIT_ERROR,
     "writable by every user, outside the writable paths"},
    {"writable-by-user", AUDIT_IMMUTABILITY, AUDIT_ERROR,
     "writable by the runtime user (owner or group), outside the writable paths"},
    {"owned-by-user", AUDIT_IMMUTABILITY, AUDIT_WARNING,
     "owned by the runtime user, who can make it writable, outside the writable paths"},
    {"setuid", AUDIT_IMMUTABILITY, AUDIT_WARNING, "a setuid executable"},
    {"setgid", AUDIT_IMMUTABILITY, AUDIT_WARNING, "a setgid executable"},
    {"device-node", AUDIT_IMMUTABILITY, AUDIT_ERROR,
     "a character or block device (the runtime provides /dev)"},
    {"user-missing", AUDIT_IMMUTABILITY, AUDIT_ERROR, "no USER: the image runs as root"},
    {"user-root", AUDIT_IMMUTABILITY, AUDIT_ERROR, "USER is root"},
    {"user-unknown", AUDIT_IMMUTABILITY, AUDIT_ERROR,
     "USER names a user or group the image's /etc/passwd or /etc/group does not have"},
    {"user-not-numeric", AUDIT_IMMUTABILITY, AUDIT_INFO,
     "USER is a name: runAsNonRoot cannot check it (harden writes uid:gid)"},
    {"shell-present", AUDIT_IMMUTABILITY, AUDIT_ERROR,
     "a shell in an image labelled " AUDIT_LABEL_NO_SHELL},
    {"package-manager-present", AUDIT_IMMUTABILITY, AUDIT_ERROR,
     "a package manager in an image labelled " AUDIT_LABEL_NO_SHELL},
    {"writable-paths-invalid", AUDIT_IMMUTABILITY, AUDIT_ERROR,
     "the org.petra.writable-paths label cannot be read"},
    {"efficiency-score", AUDIT_EFFICIENCY, AUDIT_WARNING,
     "dive's efficiency score is below the threshold"},
    {"wasted-bytes", AUDIT_EFFICIENCY, AUDIT_WARNING,
     "the bytes dive counts as wasted exceed the threshold"},
    {"wasted-share", AUDIT_EFFICIENCY, AUDIT_WARNING,
     "wasted bytes are too large a share of the layers above the base"},
    {"wasted-file", AUDIT_EFFICIENCY, AUDIT_INFO,
     "a path several layers wrote (or wrote and removed) wastes space"},
};

const struct audit_check *audit_checks(size_t *n)
{
	*n = ARRAY_SIZE(checks);
	return checks;
}

const struct audit_check *audit_check_find(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++)
		if (!strcmp(checks[i].id, id))
			return &checks[i];
	return NULL;
}

static const struct audit_check *check(const char *id)
{
	const struct audit_check *c = audit_check_find(id);
	if (!c)
		abort(); /* a check without an entry in the table: a bug */
	return c;
}

const char *audit_severity_name(enum audit_severity s)
{
	switch (s) {
	case AUDIT_ERROR:
		return "error";
	case AUDIT_WARNING:
		return "warning";
	case AUDIT_INFO:
		return "info";
	default:
		return "none";
	}
}

int audit_severity_parse(const char *text, enum audit_severity *out, struct petra_error **err)
{
	for (int s = AUDIT_INFO; s <= AUDIT_NONE; s++)
		if (!strcmp(text, audit_severity_name((enum audit_severity)s))) {
			*out = (enum audit_severity)s;
			return 0;
		}
	return petra_error_set(err, EINVAL,
			       "unknown severity \"%s\" (error, warning, info or none)", text);
}

const char *audit_category_name(enum audit_category c)
{
	static const char *const names[] = {"leak", "secret", "immutability", "efficiency"};
	return names[c];
}

void audit_options_init(struct audit_options *o)
{
	memset(o, 0, sizeof(*o));
	o->min_efficiency = 0.9;
	o->max_wasted_share = 0.1;
	o->min_wasted_file = 1u << 20;
	o->base_layers = -1;
	o->defaults_set = true;
}

/* ---- programs ---- */

static const char *const bin_dirs[] = {"bin",      "sbin",          "usr/bin",
				       "usr/sbin", "usr/local/bin", "usr/local/sbin"};
static const char *const shells[] = {"sh",  "bash", "ash",  "dash", "zsh",   "ksh",    "mksh",
				     "csh", "tcsh", "fish", "yash", "rbash", "busybox"};
static const char *const package_managers[] = {
    "apt", "apt-get", "apt-cache", "aptitude", "dpkg", "dpkg-deb",    "dpkg-query",
    "apk", "yum",     "dnf",       "microdnf", "rpm",  "zypper",      "pacman",
    "pip", "pip3",    "npm",       "yarn",     "gem",  "easy_install"};

enum audit_program audit_program_kind(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return AUDIT_PROGRAM_OTHER;
	size_t dl = (size_t)(slash - path);
	bool in_bin = false;
	for (size_t i = 0; i < ARRAY_SIZE(bin_dirs); i++)
		if (strlen(bin_dirs[i]) == dl && !strncmp(path, bin_dirs[i], dl))
			in_bin = true;
	if (!in_bin)
		return AUDIT_PROGRAM_OTHER;
	const char *name = slash + 1;
	for (size_t i = 0; i < ARRAY_SIZE(shells); i++)
		if (!strcmp(name, shells[i]))
			return AUDIT_PROGRAM_SHELL;
	for (size_t i = 0; i < ARRAY_SIZE(package_managers); i++)
		if (!strcmp(name, package_managers[i]))
			return AUDIT_PROGRAM_PACKAGE_MANAGER;
	/* pip3.11 and friends */
	if (!strncmp(name, "pip", 3) && name[3] &&
	    strspn(name + 3, "0123456789.") == strlen(name + 3))
		return AUDIT_PROGRAM_PACKAGE_MANAGER;
	return AUDIT_PROGRAM_OTHER;
}

/* ---- the base ---- */

static const char *config_label(const struct image *img, const char *key)
{
	json_t *labels = json_object_get(json_object_get(img->config.json, "config"), "Labels");
	return json_get_string(labels, key);
}

size_t audit_base_layers(struct petra_store *store, const struct image *img, size_t fallback,
			 const char **how)
{
	size_t n_layers = img->manifest.n_layers;
	const char *label = config_label(img, AUDIT_LABEL_BASE_LAYERS);
	if (label) {
		char *end;
		unsigned long v = strtoul(label, &end, 10);
		if (end != label && !*end && v <= n_layers) {
			if (how)
				*how = "label " AUDIT_LABEL_BASE_LAYERS;
			return v;
		}
	}
	const char *base = json_get_string(json_object_get(img->manifest.json, "annotations"),
					   AUDIT_ANNOTATION_BASE_DIGEST);
	if (base && oci_digest_valid(base) && petra_store_has_blob(store, base)) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		struct oci_manifest m = {0};
		_cleanup_error_ struct petra_error *ignored = NULL;
		if (petra_store_read_blob(store, base, 16u << 20, &data, &len, &ignored) == 0 &&
		    oci_manifest_parse(data, len, &m, &ignored) == 0 && m.n_layers <= n_layers) {
			bool prefix = true;
			for (size_t i = 0; i < m.n_layers && prefix; i++)
				prefix =
				    !strcmp(m.layers[i].digest, img->manifest.layers[i].digest);
			size_t n = m.n_layers;
			oci_manifest_release(&m);
			if (prefix) {
				if (how)
					*how = "annotation " AUDIT_ANNOTATION_BASE_DIGEST;
				return n;
			}
		}
		oci_manifest_release(&m);
	}
	if (how)
		*how = "default";
	return fallback < n_layers ? fallback : n_layers;
}

/* ---- the pass over the layers ---- */

enum inventory_kind { INV_NONE, INV_DPKG_STATUS, INV_DPKG_STATUS_D, INV_APK };

struct file_secret {
	const struct imagefs_version *v;
	struct secret_match m; /* rule: a secret rule, or SECRET_RULE_FILE_NAME */
};
#define SECRET_RULE_FILE_NAME 254u

struct inventory_db {
	const struct imagefs_version *v;
	enum inventory_kind kind;
	struct inventory_pkg *pkgs;
	size_t n;
};

struct auditor {
	struct petra_store *store;
	const struct image *img;
	const struct audit_options *o;
	struct audit_report *report;
	struct secret_rules *rules;
	struct secret_stream *stream;
	struct imagefs *fs;
	/* the entry being read */
	struct imagefs_version *cur;
	bool cur_scan;
	enum inventory_kind cur_inventory;
	struct strbuf inventory_buf;
	bool inventory_too_big;
	/* what the pass found */
	struct file_secret *secrets;
	size_t n_secrets, alloc_secrets;
	struct inventory_db *dbs;
	size_t n_dbs, alloc_dbs;
	size_t alloc_findings;
	char **steps_masked; /* history created_by, masked, per step */
	size_t n_steps;
};

/* Names that are credentials whatever they hold. */
static bool sensitive_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	static const char *const names[] = {
	    ".env",   ".git-credentials", ".netrc",   "_netrc",     ".pgpass", ".htpasswd",
	    "id_rsa", "id_dsa",           "id_ecdsa", "id_ed25519", ".my.cnf",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return true;
	/* .env.production, not the templates people commit on purpose */
	if (!strncmp(name, ".env.", 5))
		return strcmp(name + 5, "example") && strcmp(name + 5, "sample") &&
		       strcmp(name + 5, "template") && strcmp(name + 5, "dist");
	if (!strcmp(name, "credentials") && slash && slash - path >= 4 &&
	    !strncmp(slash - 4, ".aws", 4))
		return true;
	size_t len = strlen(name);
	static const char *const suffixes[] = {".p12", ".pfx", ".jks", ".keystore"};
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);
		if (len > sl && !strcmp(name + len - sl, suffixes[i]))
			return true;
	}
	return false;
}

static enum inventory_kind inventory_kind_of(const char *path)
{
	if (!strcmp(path, "var/lib/dpkg/status"))
		return INV_DPKG_STATUS;
	if (!strcmp(path, "lib/apk/db/installed"))
		return INV_APK;
	if (!strncmp(path, "var/lib/dpkg/status.d/", 22) && !strchr(path + 22, '/')) {
		size_t len = strlen(path);
		if (len > 22 && !(len > 8 && !strcmp(path + len - 8, ".md5sums")))
			return INV_DPKG_STATUS_D;
	}
	return INV_NONE;
}

static void add_secret(struct auditor *a, const struct imagefs_version *v,
		       const struct secret_match *m)
{
	xgrow((void **)&a->secrets, &a->alloc_secrets, a->n_secrets + 1, sizeof(*a->secrets));
	struct file_secret *fsec = &a->secrets[a->n_secrets++];
	fsec->v = v;
	fsec->m = *m;
	fsec->m.masked = xstrdup(m->masked ? m->masked : "");
}

static int on_entry(void *ctx, struct imagefs *fs, struct imagefs_version *v, const char *path,
		    struct petra_error **err)
{
	(void)fs;
	(void)err;
	struct auditor *a = ctx;
	a->cur = v;
	a->cur_scan = false;
	a->cur_inventory = INV_NONE;
	if (v->type != IMAGEFS_REG || !v->size)
		return 0;
	if (sensitive_name(path)) {
		struct secret_match m = {.rule = SECRET_RULE_FILE_NAME};
		add_secret(a, v, &m);
	}
	a->cur_scan = true;
	a->cur_inventory = inventory_kind_of(path);
	strbuf_reset(&a->inventory_buf);
	a->inventory_too_big = false;
	audit_secret_stream_begin(a->stream);
	return 1;
}

static int on_data(void *ctx, const void *buf, size_t len, struct petra_error **err)
{
	(void)err;
	struct auditor *a = ctx;
	audit_secret_stream_feed(a->stream, buf, len);
	if (a->cur_inventory != INV_NONE && !a->inventory_too_big) {
		if (a->inventory_buf.len + len > INVENTORY_MAX)
			a->inventory_too_big = true;
		else
			strbuf_add(&a->inventory_buf, buf, len);
	}
	return 0;
}

static int on_entry_end(void *ctx, struct petra_error **err)
{
	(void)err;
	struct auditor *a = ctx;
	const struct secret_match *matches;
	size_t n = audit_secret_stream_end(a->stream, &matches);
	for (size_t i = 0; i < n; i++)
		add_secret(a, a->cur, &matches[i]);
	if (a->cur_inventory != INV_NONE) {
		if (a->inventory_too_big) {
			log_warn("package database in layer %u larger than %u MiB: not read",
				 a->cur->layer + 1, INVENTORY_MAX >> 20);
			return 0;
		}
		xgrow((void **)&a->dbs, &a->alloc_dbs, a->n_dbs + 1, sizeof(*a->dbs));
		struct inventory_db *db = &a->dbs[a->n_dbs++];
		memset(db, 0, sizeof(*db));
		db->v = a->cur;
		db->kind = a->cur_inventory;
		if (db->kind == INV_APK)
			audit_inventory_parse_apk(a->inventory_buf.buf, a->inventory_buf.len,
						  &db->pkgs, &db->n);
		else
			audit_inventory_parse_dpkg(a->inventory_buf.buf, a->inventory_buf.len,
						   db->kind == INV_DPKG_STATUS, &db->pkgs, &db->n);
	}
	return 0;
}

/* ---- findings ---- */

static struct audit_finding *add_finding(struct auditor *a, const char *id, enum audit_where where)
{
	struct audit_report *r = a->report;
	xgrow((void **)&r->findings, &a->alloc_findings, r->n_findings + 1, sizeof(*r->findings));
	struct audit_finding *f = &r->findings[r->n_findings++];
	memset(f, 0, sizeof(*f));
	f->check = check(id);
	f->severity = f->check->severity;
	f->where = where;
	f->layer = -1;
	f->step = -1;
	f->hidden_by = -1;
	return f;
}

static void set_layer(struct auditor *a, struct audit_finding *f, long layer)
{
	f->layer = layer;
	if (layer < 0 || (size_t)layer >= a->report->n_layers)
		return;
	const struct audit_layer *l = &a->report->layers[layer];
	memcpy(f->layer_digest, l->digest, OCI_DIGEST_SIZE);
	f->step = l->step;
	free(f->created_by);
	f->created_by = l->created_by ? xstrdup(l->created_by) : NULL;
}

static void set_step(struct auditor *a, struct audit_finding *f, long step)
{
	f->step = step;
	free(f->created_by);
	f->created_by = step >= 0 && (size_t)step < a->n_steps && a->steps_masked[step]
			    ? xstrdup(a->steps_masked[step])
			    : NULL;
	/* The layer that step made, if it made one. */
	for (size_t i = 0; i < a->report->n_layers; i++)
		if (a->report->layers[i].step == step) {
			f->layer = (long)i;
			memcpy(f->layer_digest, a->report->layers[i].digest, OCI_DIGEST_SIZE);
		}
}

static bool allowed(const struct audit_options *o, const char *id, const char *path,
		    const char *fingerprint)
{
	for (size_t i = 0; i < o->n_allow; i++) {
		const struct audit_allow *al = &o->allow[i];
		if (al->id && fnmatch(al->id, id, 0) != 0)
			continue;
		if (al->path && (!path || fnmatch(al->path, path, 0) != 0))
			continue;
		if (al->fingerprint && (!fingerprint || strcmp(al->fingerprint, fingerprint) != 0))
			continue;
		return true;
	}
	return false;
}

static void set_secret(struct audit_finding *f, const struct secret_match *m)
{
	if (m->masked && *m->masked)
		f->masked = xstrdup(m->masked);
	if (m->fingerprint[0])
		f->fingerprint = xstrdup(m->fingerprint);
	f->line = m->line;
}

static const char *rule_id(unsigned rule)
{
	if (rule == SECRET_RULE_FILE_NAME)
		return "secret-file";
	if (rule == SECRET_RULE_ASSIGNMENT)
		return "secret-password-history";
	return audit_secret_rule_id(rule);
}

static const char *rule_title(unsigned rule)
{
	if (rule == SECRET_RULE_FILE_NAME)
		return "credentials file";
	if (rule == SECRET_RULE_ASSIGNMENT)
		return "password-like assignment";
	return audit_secret_rule_title(rule);
}

static char *slash_path(const struct imagefs_node *n)
{
	struct strbuf sb = STRBUF_INIT;
	imagefs_node_path(n, &sb);
	char *p = xasprintf("/%s", sb.buf);
	strbuf_release(&sb);
	return p;
}

/* Is there an earlier record with the same node, rule and fingerprint
 * (the same secret seen again in a later version of the file)? */
static bool same_secret(const struct file_secret *x, const struct file_secret *y)
{
	return x->v->node == y->v->node && x->m.rule == y->m.rule &&
	       !strcmp(x->m.fingerprint, y->m.fingerprint);
}

static void file_findings(struct auditor *a)
{
	for (size_t i = 0; i < a->n_secrets; i++) {
		const struct file_secret *s = &a->secrets[i];
		bool visible = imagefs_version_visible(s->v);
		/* A name-only finding counts when the content said nothing. */
		if (s->m.rule == SECRET_RULE_FILE_NAME) {
			bool content = false;
			for (size_t k = 0; k < a->n_secrets; k++)
				if (a->secrets[k].v == s->v && k != i)
					content = true;
			if (content)
				continue;
		}
		/* Once per secret and path: a hidden copy of what a visible
		 * version still holds is the visible finding; of several hidden
		 * copies, the oldest. */
		bool dup = false;
		for (size_t k = 0; k < a->n_secrets && !dup; k++) {
			const struct file_secret *o = &a->secrets[k];
			if (k == i || !same_secret(s, o))
				continue;
			bool o_visible = imagefs_version_visible(o->v);
			if (!visible && (o_visible || (!o_visible && k < i)))
				dup = true;
		}
		if (dup)
			continue;
		_cleanup_free_ char *path = slash_path(s->v->node);
		const char *id = visible ? rule_id(s->m.rule) : "leak-sensitive-file";
		const char *fp = s->m.fingerprint[0] ? s->m.fingerprint : NULL;
		if (allowed(a->o, rule_id(s->m.rule), path, fp) || allowed(a->o, id, path, fp))
			continue;
		struct audit_finding *f = add_finding(a, id, AUDIT_WHERE_FILE);
		if (visible && s->m.rule < SECRET_RULE_FILE_NAME)
			f->severity = audit_secret_rule_severity(s->m.rule);
		f->path = xstrdup(path);
		set_layer(a, f, (long)s->v->layer);
		set_secret(f, &s->m);
		f->bytes = s->v->size;
		struct strbuf msg = STRBUF_INIT;
		strbuf_addstr(&msg, rule_title(s->m.rule));
		if (f->masked)
			strbuf_addf(&msg, " (%s)", f->masked);
		strbuf_addf(&msg, " in %s", path);
		if (!visible) {
			f->hidden_by = (long)s->v->hidden_by;
			strbuf_addf(&msg, ", %s in layer %ld but still in layer %u",
				    s->v->hidden_how == IMAGEFS_HIDDEN_REPLACED ? "replaced"
										: "removed",
				    f->hidden_by + 1, s->v->layer + 1);
		}
		f->message = strbuf_detach(&msg);
	}
}

/* ---- config: user, Env, Labels, history ---- */

static bool password_like(const char *key)
{
	static const char *const words[] = {"password",   "passwd",     "pwd",         "secret",
					    "token",      "apikey",     "api_key",     "accesskey",
					    "access_key", "privatekey", "private_key", "credential",
					    "credentials"};
	_cleanup_free_ char *lower = xstrdup(key);
	for (char *p = lower; *p; p++)
		*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p == '-' || *p == '.' ? '_' : *p);
	/* Names that point at a secret rather than hold one. */
	static const char *const pointers[] = {"_file", "_path", "_dir", "_url", "_env"};
	size_t len = strlen(lower);
	for (size_t i = 0; i < ARRAY_SIZE(pointers); i++) {
		size_t pl = strlen(pointers[i]);
		if (len > pl && !strcmp(lower + len - pl, pointers[i]))
			return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		size_t wl = strlen(words[i]);
		for (const char *p = lower; (p = strstr(p, words[i])); p++) {
			bool start = p == lower || p[-1] == '_';
			bool end = p[wl] == '\0' || p[wl] == '_';
			if (start && end)
				return true;
		}
	}
	return false;
}

/* The value is a reference to a secret, not the secret. */
static bool value_is_reference(const char *v)
{
	return !*v || v[0] == '$' || v[0] == '/' || !strcmp(v, "changeme") || !strcmp(v, "true") ||
	       !strcmp(v, "false");
}

/* The history step whose text contains a secret with this fingerprint. */
static long step_with(struct auditor *a, const char *fingerprint)
{
	json_t *history = json_object_get(a->img->config.json, "history");
	for (size_t i = 0; i < json_array_size(history); i++) {
		const char *by = json_get_string(json_array_get(history, i), "created_by");
		if (!by)
			continue;
		struct secret_match m[16];
		size_t n = audit_secret_scan_buffer(a->rules, by, strlen(by), m, ARRAY_SIZE(m));
		bool hit = false;
		for (size_t k = 0; k < n; k++) {
			hit |= !strcmp(m[k].fingerprint, fingerprint);
			audit_secret_match_release(&m[k]);
		}
		if (hit)
			return (long)i;
	}
	return -1;
}

/* Secrets in one key/value of Env or Labels; *fingerprints collects
 * what was reported, so the history does not report it again. */
static void config_value_findings(struct auditor *a, enum audit_where where, const char *key,
				  const char *value, struct strset *reported)
{
	const char *what = where == AUDIT_WHERE_ENV ? "Env" : "label";
	_cleanup_free_ char *kv = xasprintf("%s=%s", key, value);
	_cleanup_free_ char *loc =
	    xasprintf("%s:%s", where == AUDIT_WHERE_ENV ? "env" : "label", key);
	struct secret_match m[16];
	size_t n = audit_secret_scan_buffer(a->rules, kv, strlen(kv), m, ARRAY_SIZE(m));
	for (size_t i = 0; i < n; i++) {
		const char *id = audit_secret_rule_id(m[i].rule);
		if (!allowed(a->o, id, loc, m[i].fingerprint)) {
			struct audit_finding *f = add_finding(a, id, where);
			f->severity = audit_secret_rule_severity(m[i].rule);
			f->key = xstrdup(key);
			set_secret(f, &m[i]);
			f->line = 0;
			set_step(a, f, step_with(a, m[i].fingerprint));
			f->message =
			    xasprintf("%s (%s) in %s %s", audit_secret_rule_title(m[i].rule),
				      m[i].masked, what, key);
		}
		strset_add(reported, m[i].fingerprint);
		audit_secret_match_release(&m[i]);
	}
	if (n || !password_like(key) || value_is_reference(value))
		return;
	const char *id = where == AUDIT_WHERE_ENV ? "secret-password-env" : "secret-password-label";
	char fp[SECRET_FINGERPRINT_SIZE];
	audit_secret_fingerprint(value, strlen(value), fp);
	strset_add(reported, fp);
	if (allowed(a->o, id, loc, fp))
		return;
	struct audit_finding *f = add_finding(a, id, where);
	f->key = xstrdup(key);
	struct strbuf masked = STRBUF_INIT;
	audit_secret_mask(value, strlen(value), &masked);
	f->masked = strbuf_detach(&masked);
	f->fingerprint = xstrdup(fp);
	/* The step that set it: the first that mentions KEY=. */
	json_t *history = json_object_get(a->img->config.json, "history");
	_cleanup_free_ char *needle = xasprintf("%s=", key);
	for (size_t i = 0; i < json_array_size(history) && f->step < 0; i++) {
		const char *by = json_get_string(json_array_get(history, i), "created_by");
		if (by && strstr(by, needle))
			set_step(a, f, (long)i);
	}
	f->message =
	    xasprintf("%s %s has a password-like name and a value (%s)", what, key, f->masked);
}

static void history_findings(struct auditor *a, struct strset *reported)
{
	json_t *history = json_object_get(a->img->config.json, "history");
	for (size_t i = 0; i < json_array_size(history); i++) {
		json_t *h = json_array_get(history, i);
		const char *fields[] = {"created_by", "comment"};
		for (size_t fi = 0; fi < ARRAY_SIZE(fields); fi++) {
			const char *text = json_get_string(h, fields[fi]);
			if (!text)
				continue;
			_cleanup_free_ char *loc = xasprintf("history:%zu", i);
			struct secret_match m[16];
			size_t n = audit_secret_scan_buffer(a->rules, text, strlen(text), m,
							    ARRAY_SIZE(m));
			for (size_t k = 0; k < n; k++) {
				const char *id = audit_secret_rule_id(m[k].rule);
				if (strset_add(reported, m[k].fingerprint) &&
				    !allowed(a->o, id, loc, m[k].fingerprint)) {
					struct audit_finding *f =
					    add_finding(a, id, AUDIT_WHERE_HISTORY);
					f->severity = audit_secret_rule_severity(m[k].rule);
					set_secret(f, &m[k]);
					f->line = 0;
					set_step(a, f, (long)i);
					f->message =
					    xasprintf("%s (%s) in the %s of history step %zu",
						      audit_secret_rule_title(m[k].rule),
						      m[k].masked, fields[fi], i + 1);
				}
				audit_secret_match_release(&m[k]);
			}
			_cleanup_free_ char *key = NULL;
			struct secret_match am;
			for (size_t start = 0;
			     audit_secret_scan_assignment(a->rules, text, &start, &key, &am);) {
				if (strset_add(reported, am.fingerprint) &&
				    !allowed(a->o, "secret-password-history", loc,
					     am.fingerprint)) {
					struct audit_finding *f = add_finding(
					    a, "secret-password-history", AUDIT_WHERE_HISTORY);
					f->key = xstrdup(key);
					set_secret(f, &am);
					f->line = 0;
					set_step(a, f, (long)i);
					f->message =
					    xasprintf("%s=%s in the %s of history step %zu", key,
						      am.masked, fields[fi], i + 1);
				}
				audit_secret_match_release(&am);
				free(key);
				key = NULL;
			}
		}
	}
}

static int user_findings(struct auditor *a)
{
	struct audit_report *r = a->report;
	json_t *cfg = json_object_get(a->img->config.json, "config");
	const char *user = json_get_string(cfg, "User");
	r->user = xstrdup(user ? user : "");
	r->uid = r->gid = -1;
	const char *passwd = NULL, *group = NULL;
	size_t len;
	imagefs_captured(a->fs, "etc/passwd", &passwd, &len);
	imagefs_captured(a->fs, "etc/group", &group, &len);
	uid_t uid;
	gid_t gid;
	_cleanup_free_ char *home = NULL;
	_cleanup_error_ struct petra_error *e = NULL;
	if (rootfs_user_lookup(passwd, group, r->user, &uid, &gid, &home, &e) < 0) {
		struct audit_finding *f = add_finding(a, "user-unknown", AUDIT_WHERE_CONFIG);
		f->key = xstrdup("User");
		f->message = xasprintf("USER %s: %s", r->user, e->message);
		return 0;
	}
	r->uid = uid;
	r->gid = gid;
	if (!*r->user) {
		struct audit_finding *f = add_finding(a, "user-missing", AUDIT_WHERE_CONFIG);
		f->key = xstrdup("User");
		f->message = xstrdup("the image has no USER: its processes run as root");
	} else if (uid == 0) {
		struct audit_finding *f = add_finding(a, "user-root", AUDIT_WHERE_CONFIG);
		f->key = xstrdup("User");
		f->message = xasprintf("USER %s is root", r->user);
	} else {
		_cleanup_free_ char *u = xstrdup(r->user);
		char *colon = strchr(u, ':');
		if (colon)
			*colon = '\0';
		if (strspn(u, "0123456789") != strlen(u)) {
			struct audit_finding *f =
			    add_finding(a, "user-not-numeric", AUDIT_WHERE_CONFIG);
			f->key = xstrdup("User");
			f->message = xasprintf("USER %s is a name (uid %u): Kubernetes' "
					       "runAsNonRoot cannot check it",
					       r->user, (unsigned)uid);
		}
	}
	return 0;
}

/* ---- the final filesystem ---- */

struct tree_checks {
	struct auditor *a;
	struct strset writable;
	bool no_shell;
	/* For each immutability check, the directory whose finding covers
	 * everything below it, and that finding's index. */
	struct {
		const char *id;
		char *root;
		size_t finding;
	} collapse[4];
};

static bool below(const char *path, const char *root)
{
	size_t rl = strlen(root);
	return !strncmp(path, root, rl) && path[rl] == '/';
}

static void tree_finding(struct tree_checks *t, size_t slot, struct imagefs_node *node,
			 const char *path, const char *what)
{
	struct auditor *a = t->a;
	if (t->collapse[slot].root && below(path, t->collapse[slot].root)) {
		a->report->findings[t->collapse[slot].finding].more++;
		return;
	}
	_cleanup_free_ char *slashed = xasprintf("/%s", path);
	if (allowed(a->o, t->collapse[slot].id, slashed, NULL))
		return;
	struct audit_finding *f = add_finding(a, t->collapse[slot].id, AUDIT_WHERE_FILE);
	const struct imagefs_version *v = node->top;
	f->path = xstrdup(slashed);
	set_layer(a, f, (long)v->layer);
	f->message = xasprintf("%s %s (%04o %u:%u) is %s", imagefs_type_name(v->type), slashed,
			       v->mode, v->uid, v->gid, what);
	if (v->type == IMAGEFS_DIR) {
		free(t->collapse[slot].root);
		t->collapse[slot].root = xstrdup(path);
		t->collapse[slot].finding = a->report->n_findings - 1;
	}
}

static void single_finding(struct auditor *a, const char *id, struct imagefs_node *node,
			   const char *path, const char *message_fmt)
{
	_cleanup_free_ char *slashed = xasprintf("/%s", path);
	if (allowed(a->o, id, slashed, NULL))
		return;
	struct audit_finding *f = add_finding(a, id, AUDIT_WHERE_FILE);
	f->path = xstrdup(slashed);
	set_layer(a, f, (long)node->top->layer);
	f->message = xasprintf(message_fmt, slashed);
}

static int visit_node(void *ctx, struct imagefs_node *node, const char *path,
		      struct petra_error **err)
{
	(void)err;
	struct tree_checks *t = ctx;
	struct auditor *a = t->a;
	if (strset_contains(&t->writable, path))
		return 1; /* a tmpfs at run time: what is below does not matter */
	const struct imagefs_version *v = imagefs_node_visible(node);
	if (!v)
		return 0; /* hidden (what is visible below was written later) or implicit */
	if (v->type == IMAGEFS_CHAR || v->type == IMAGEFS_BLOCK) {
		single_finding(a, "device-node", node, path,
			       "%s is a device node: the runtime provides /dev");
		return 0;
	}
	if (t->no_shell && v->type != IMAGEFS_DIR) {
		enum audit_program kind = audit_program_kind(path);
		if (kind == AUDIT_PROGRAM_SHELL)
			single_finding(a, "shell-present", node, path,
				       "%s is a shell, and the image says it needs none");
		else if (kind == AUDIT_PROGRAM_PACKAGE_MANAGER)
			single_finding(a, "package-manager-present", node, path,
				       "%s is a package manager, and the image says it needs none");
	}
	/* Links: their own mode means nothing (a hardlink is its target). */
	if (v->type == IMAGEFS_SYMLINK || v->type == IMAGEFS_HARDLINK)
		return 0;
	if (v->type == IMAGEFS_REG && (v->mode & 04000))
		single_finding(a, "setuid", node, path, "%s is setuid");
	if (v->type == IMAGEFS_REG && (v->mode & 02000))
		single_finding(a, "setgid", node, path, "%s is setgid");
	long uid = a->report->uid, gid = a->report->gid;
	if (v->mode & 0002) {
		tree_finding(t, 0, node, path, "writable by everyone");
	} else if (uid > 0 && ((v->uid == (uint32_t)uid && (v->mode & 0200)) ||
			       (gid >= 0 && v->gid == (uint32_t)gid && (v->mode & 0020)))) {
		tree_finding(t, 1, node, path, "writable by the runtime user");
	} else if (uid > 0 && v->uid == (uint32_t)uid) {
		tree_finding(t, 2, node, path, "owned by the runtime user");
	}
	return 0;
}

static int tree_findings(struct auditor *a, struct petra_error **err)
{
	struct tree_checks t = {.a = a, .writable = STRSET_INIT};
	t.collapse[0].id = "world-writable";
	t.collapse[1].id = "writable-by-user";
	t.collapse[2].id = "owned-by-user";
	for (size_t i = 0; i < a->report->n_writable; i++)
		strset_add(&t.writable, a->report->writable[i] + 1);
	const char *no_shell = config_label(a->img, AUDIT_LABEL_NO_SHELL);
	t.no_shell = no_shell && !strcmp(no_shell, "true");
	int r = imagefs_visit(a->fs, visit_node, &t, err);
	for (size_t i = 0; i < ARRAY_SIZE(t.collapse); i++)
		free(t.collapse[i].root);
	strset_clear(&t.writable);
	return r;
}

static void writable_paths(struct auditor *a)
{
	const char *label = config_label(a->img, IMAGE_WRITABLE_PATHS_LABEL);
	struct image_writable_path *paths = NULL;
	size_t n = 0;
	_cleanup_error_ struct petra_error *e = NULL;
	if (image_writable_paths_parse(label, &paths, &n, &e) < 0) {
		struct audit_finding *f =
		    add_finding(a, "writable-paths-invalid", AUDIT_WHERE_LABEL);
		f->key = xstrdup(IMAGE_WRITABLE_PATHS_LABEL);
		f->message = xstrdup(e->message);
		return;
	}
	struct audit_report *r = a->report;
	r->writable = xcalloc(n ? n : 1, sizeof(*r->writable));
	for (size_t i = 0; i < n; i++) {
		/* "/run/app/" and "/run/app" are one path. */
		char *p = xstrdup(paths[i].path);
		size_t len = strlen(p);
		while (len > 1 && p[len - 1] == '/')
			p[--len] = '\0';
		r->writable[r->n_writable++] = p;
	}
	image_writable_paths_free(paths, n);
}

/* ---- efficiency and leaks ---- */

static void efficiency_findings(struct auditor *a)
{
	struct audit_report *r = a->report;
	const struct audit_options *o = a->o;
	struct imagefs_efficiency e;
	imagefs_efficiency(a->fs, r->base_layers ? r->base_layers : 1, &e);
	r->efficiency = e.score;
	r->wasted_bytes = e.wasted_bytes;
	r->user_bytes = e.user_bytes;
	r->wasted_share = e.wasted_share;
	r->n_waste = e.n_waste < MAX_WASTE ? e.n_waste : MAX_WASTE;
	r->waste = xcalloc(r->n_waste ? r->n_waste : 1, sizeof(*r->waste));
	for (size_t i = 0; i < r->n_waste; i++) {
		r->waste[i].path = slash_path(e.waste[i].node);
		r->waste[i].total = e.waste[i].total;
		r->waste[i].min = e.waste[i].min;
		r->waste[i].count = e.waste[i].count;
		r->waste[i].last_layer = e.waste[i].last_layer;
	}
	char wasted[32], user[32], limit[32];
	format_size(e.wasted_bytes, wasted, sizeof(wasted));
	format_size(e.user_bytes, user, sizeof(user));
	if (o->min_efficiency > 0 && e.score < o->min_efficiency &&
	    !allowed(o, "efficiency-score", NULL, NULL)) {
		struct audit_finding *f = add_finding(a, "efficiency-score", AUDIT_WHERE_IMAGE);
		f->bytes = e.wasted_bytes;
		f->message = xasprintf("efficiency %.1f%% is below %.1f%% (dive's measure)",
				       e.score * 100, o->min_efficiency * 100);
	}
	if (o->max_wasted_bytes && e.wasted_bytes > o->max_wasted_bytes &&
	    !allowed(o, "wasted-bytes", NULL, NULL)) {
		format_size(o->max_wasted_bytes, limit, sizeof(limit));
		struct audit_finding *f = add_finding(a, "wasted-bytes", AUDIT_WHERE_IMAGE);
		f->bytes = e.wasted_bytes;
		f->message = xasprintf("%s wasted, more than %s", wasted, limit);
	}
	if (o->max_wasted_share > 0 && e.user_bytes && e.wasted_share > o->max_wasted_share &&
	    !allowed(o, "wasted-share", NULL, NULL)) {
		struct audit_finding *f = add_finding(a, "wasted-share", AUDIT_WHERE_IMAGE);
		f->bytes = e.wasted_bytes;
		f->message = xasprintf("%s wasted is %.1f%% of the %s of the layers above the base "
				       "(%zu), more than %.1f%%",
				       wasted, e.wasted_share * 100, user, r->base_layers,
				       o->max_wasted_share * 100);
	}
	size_t reported = 0;
	for (size_t i = 0; i < e.n_waste && o->min_wasted_file; i++) {
		const struct imagefs_waste *w = &e.waste[i];
		if (w->total < o->min_wasted_file || reported == MAX_WASTED_FILE_FINDINGS)
			break;
		_cleanup_free_ char *path = slash_path(w->node);
		if (allowed(o, "wasted-file", path, NULL))
			continue;
		struct audit_finding *f = add_finding(a, "wasted-file", AUDIT_WHERE_FILE);
		f->path = xstrdup(path);
		set_layer(a, f, (long)w->last_layer);
		f->bytes = w->total;
		char total[32];
		format_size(w->total, total, sizeof(total));
		f->message = xasprintf("%s: %u layers wrote or removed it, %s in all (layer %u "
				       "the last)",
				       path, w->count, total, w->last_layer + 1);
		reported++;
	}
	imagefs_efficiency_release(&e);
	r->hidden_bytes = imagefs_hidden_bytes(a->fs);
	r->hidden_files = imagefs_hidden_files(a->fs);
	if (r->hidden_files && !allowed(o, "leak-hidden-bytes", NULL, NULL)) {
		char hidden[32];
		format_size(r->hidden_bytes, hidden, sizeof(hidden));
		struct audit_finding *f = add_finding(a, "leak-hidden-bytes", AUDIT_WHERE_IMAGE);
		f->bytes = r->hidden_bytes;
		f->message = xasprintf("%s in %" PRIu64 " files later layers removed or replaced "
				       "are still in the image",
				       hidden, r->hidden_files);
	}
}

/* ---- inventory ---- */

static void inventory(struct auditor *a)
{
	struct audit_report *r = a->report;
	size_t alloc = 0;
	for (size_t i = 0; i < a->n_dbs; i++) {
		const struct inventory_db *db = &a->dbs[i];
		if (!imagefs_version_visible(db->v))
			continue;
		_cleanup_free_ char *path = slash_path(db->v->node);
		for (size_t k = 0; k < db->n; k++) {
			const struct inventory_pkg *p = &db->pkgs[k];
			/* The layer where this name and version first show up
			 * in the file's uninterrupted line of versions. */
			long layer = (long)db->v->layer;
			const struct imagefs_version *older = db->v->below;
			for (; older; older = older->below) {
				const struct inventory_db *odb = NULL;
				for (size_t j = 0; j < a->n_dbs && !odb; j++)
					if (a->dbs[j].v == older)
						odb = &a->dbs[j];
				const struct inventory_pkg *op =
				    odb ? audit_inventory_find(odb->pkgs, odb->n, p->name) : NULL;
				if (!op || strcmp(op->version, p->version) != 0)
					break;
				layer = (long)older->layer;
			}
			xgrow((void **)&r->packages, &alloc, r->n_packages + 1,
			      sizeof(*r->packages));
			struct audit_package *out = &r->packages[r->n_packages++];
			out->name = xstrdup(p->name);
			out->version = xstrdup(p->version);
			out->source = xstrdup(p->source);
			out->arch = xstrdup(p->arch);
			out->type = db->kind == INV_APK ? "apk" : "deb";
			out->db = xstrdup(path);
			out->layer = layer;
		}
	}
}

static int compare_packages(const void *x, const void *y)
{
	const struct audit_package *a = x, *b = y;
	int c = strcmp(a->name, b->name);
	return c ? c : strcmp(a->type, b->type);
}

static int compare_findings(const void *x, const void *y)
{
	const struct audit_finding *a = x, *b = y;
	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	if (a->check->category != b->check->category)
		return a->check->category < b->check->category ? -1 : 1;
	if (a->layer != b->layer)
		return a->layer < b->layer ? -1 : 1;
	int c = strcmp(a->path ? a->path : "", b->path ? b->path : "");
	if (c)
		return c;
	c = strcmp(a->key ? a->key : "", b->key ? b->key : "");
	return c ? c : strcmp(a->check->id, b->check->id);
}

/* ---- the whole ---- */

static void layers_info(struct auditor *a)
{
	struct audit_report *r = a->report;
	const struct image *img = a->img;
	r->n_layers = img->manifest.n_layers;
	r->layers = xcalloc(r->n_layers ? r->n_layers : 1, sizeof(*r->layers));
	for (size_t i = 0; i < r->n_layers; i++) {
		struct audit_layer *l = &r->layers[i];
		memcpy(l->digest, img->manifest.layers[i].digest, OCI_DIGEST_SIZE);
		snprintf(l->diff_id, sizeof(l->diff_id), "%s", img->config.diff_ids.v[i]);
		l->size = img->manifest.layers[i].size;
		size_t step;
		l->step = image_layer_step(img, i, &step) ? (long)step : -1;
		if (l->step >= 0 && a->steps_masked[l->step])
			l->created_by = xstrdup(a->steps_masked[l->step]);
	}
}

static void layers_stats(struct auditor *a)
{
	struct audit_report *r = a->report;
	for (size_t i = 0; i < r->n_layers; i++) {
		const struct imagefs_layer *s = imagefs_layer(a->fs, i);
		r->layers[i].tar_bytes = s->tar_bytes;
		r->layers[i].file_bytes = s->file_bytes;
		r->layers[i].entries = s->entries;
		r->tar_bytes += s->tar_bytes;
	}
}

static void mask_history(struct auditor *a)
{
	json_t *history = json_object_get(a->img->config.json, "history");
	a->n_steps = json_array_size(history);
	a->steps_masked = xcalloc(a->n_steps ? a->n_steps : 1, sizeof(*a->steps_masked));
	for (size_t i = 0; i < a->n_steps; i++) {
		const char *by = json_get_string(json_array_get(history, i), "created_by");
		a->steps_masked[i] = by ? audit_secret_mask_text(a->rules, by) : NULL;
	}
}

static void auditor_release(struct auditor *a)
{
	for (size_t i = 0; i < a->n_secrets; i++)
		audit_secret_match_release(&a->secrets[i].m);
	free(a->secrets);
	for (size_t i = 0; i < a->n_dbs; i++)
		audit_inventory_pkgs_free(a->dbs[i].pkgs, a->dbs[i].n);
	free(a->dbs);
	for (size_t i = 0; i < a->n_steps; i++)
		free(a->steps_masked[i]);
	free(a->steps_masked);
	strbuf_release(&a->inventory_buf);
	audit_secret_stream_free(a->stream);
	audit_secret_rules_free(a->rules);
	imagefs_free(a->fs);
}

int audit_image(struct petra_store *store, const char *ref, const struct audit_options *options,
		struct audit_report *r, struct petra_error **err)
{
	memset(r, 0, sizeof(*r));
	struct audit_options defaults;
	audit_options_init(&defaults);
	const struct audit_options *o = options && options->defaults_set ? options : &defaults;
	struct image img;
	int e = image_load(store, ref, &img, err);
	if (e < 0)
		return e;
	struct auditor a = {
	    .store = store, .img = &img, .o = o, .report = r, .inventory_buf = STRBUF_INIT};
	e = audit_secret_rules_new(&a.rules, err);
	if (e == 0) {
		a.stream = audit_secret_stream_new(a.rules);
		r->image = xstrdup(img.name ? img.name : ref);
		memcpy(r->digest, img.desc.digest, OCI_DIGEST_SIZE);
		r->base_layers =
		    o->base_layers >= 0 && (size_t)o->base_layers <= img.manifest.n_layers
			? (size_t)o->base_layers
			: audit_base_layers(store, &img, 1, &r->base_how);
		if (o->base_layers >= 0)
			r->base_how = "option";
		mask_history(&a);
		layers_info(&a);
		static const char *const capture[] = {"etc/passwd", "etc/group"};
		struct imagefs_hooks hooks = {
		    .ctx = &a,
		    .entry = on_entry,
		    .data = on_data,
		    .entry_end = on_entry_end,
		};
		struct imagefs_build_options bo = {
		    .hooks = &hooks,
		    .capture = capture,
		    .n_capture = ARRAY_SIZE(capture),
		    .progress = o->progress,
		    .max_ratio = -1, /* nothing is written */
		};
		e = imagefs_build(store, &img, &bo, &a.fs, err);
	}
	if (e == 0) {
		layers_stats(&a);
		struct strset reported = STRSET_INIT;
		file_findings(&a);
		json_t *cfg = json_object_get(img.config.json, "config");
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(cfg, "Env"), i, v)
		{
			const char *kv = json_string_value(v);
			const char *eq = kv ? strchr(kv, '=') : NULL;
			if (!eq)
				continue;
			_cleanup_free_ char *key = xstrndup(kv, (size_t)(eq - kv));
			config_value_findings(&a, AUDIT_WHERE_ENV, key, eq + 1, &reported);
		}
		const char *key;
		json_object_foreach(json_object_get(cfg, "Labels"), key, v)
		{
			if (json_is_string(v))
				config_value_findings(&a, AUDIT_WHERE_LABEL, key,
						      json_string_value(v), &reported);
		}
		history_findings(&a, &reported);
		strset_clear(&reported);
		user_findings(&a);
		writable_paths(&a);
		e = tree_findings(&a, err);
	}
	if (e == 0) {
		efficiency_findings(&a);
		inventory(&a);
		if (r->n_packages)
			qsort(r->packages, r->n_packages, sizeof(*r->packages), compare_packages);
		if (r->n_findings)
			qsort(r->findings, r->n_findings, sizeof(*r->findings), compare_findings);
		for (size_t i = 0; i < r->n_findings; i++)
			r->counts[r->findings[i].severity]++;
	}
	auditor_release(&a);
	image_release(&img);
	if (e < 0) {
		audit_report_release(r);
		return petra_error_prefix(err, "audit %s", ref);
	}
	return 0;
}

void audit_report_release(struct audit_report *r)
{
	free(r->image);
	free(r->user);
	for (size_t i = 0; i < r->n_layers; i++)
		free(r->layers[i].created_by);
	free(r->layers);
	for (size_t i = 0; i < r->n_findings; i++) {
		struct audit_finding *f = &r->findings[i];
		free(f->message);
		free(f->path);
		free(f->key);
		free(f->created_by);
		free(f->masked);
		free(f->fingerprint);
	}
	free(r->findings);
	for (size_t i = 0; i < r->n_waste; i++)
		free(r->waste[i].path);
	free(r->waste);
	for (size_t i = 0; i < r->n_packages; i++) {
		struct audit_package *p = &r->packages[i];
		free(p->name);
		free(p->version);
		free(p->source);
		free(p->arch);
		free(p->db);
	}
	free(r->packages);
	for (size_t i = 0; i < r->n_writable; i++)
		free(r->writable[i]);
	free(r->writable);
	memset(r, 0, sizeof(*r));
}

bool audit_fails(const struct audit_report *r, enum audit_severity level)
{
	for (int s = AUDIT_ERROR; s >= (int)level && level != AUDIT_NONE; s--)
		if (r->counts[s])
			return true;
	return false;
}
