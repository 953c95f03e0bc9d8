/* SPDX-License-Identifier: Apache-2.0 */
/* Bases, squashing, and the image the build ends with. */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define OPAQUE_XATTR "trusted.overlay.opaque"

/* A base from the store, by the name as written or Docker Hub's long
 * form of a name the store holds short. */
static int load_base(struct build *b, const char *ref, struct image *img, struct petra_error **err)
{
	_cleanup_error_ struct petra_error *first = NULL;
	int r = image_load(b->store, ref, img, &first);
	if (r == 0)
		return 0;
	static const char *const prefixes[] = {"docker.io/library/", "docker.io/",
					       "index.docker.io/library/"};
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t pl = strlen(prefixes[i]);
		if (!strncmp(ref, prefixes[i], pl) &&
		    image_load(b->store, ref + pl, img, NULL) == 0)
			return 0;
	}
	if (r == -ENOENT)
		return petra_error_set(err, ENOENT,
				       "image \"%s\" is not in the store (petra import it, or copy "
				       "it in with skopeo)",
				       ref);
	*err = steal_pointer(&first);
	return r;
}

/* ---- the policy ---- */

static const char *const build_keys[] = {"network", "require-reproducible", NULL};

int build_check_policy(struct build *b, struct petra_error **err)
{
	const struct petra_policy *policy = b->o->policy;
	const json_t *sec = policy ? petra_policy_section(policy, "build") : NULL;
	if (!sec)
		return 0;
	const struct petra_yaml *y = petra_policy_yaml(policy);
	if (petra_yaml_check_keys(y, sec, "build", build_keys, err) < 0)
		return -EINVAL;
	const json_t *network = json_object_get(sec, "network");
	if (network && (!json_is_string(network) || (strcmp(json_string_value(network), "none") &&
						     strcmp(json_string_value(network), "host"))))
		return petra_yaml_error(
		    y, sec, "network", 0, err,
		    "build: network is none or host (the most a build may use)");
	if (network && !strcmp(json_string_value(network), "none") &&
	    b->o->network == SANDBOX_NETWORK_HOST)
		return petra_error_set(err, EPERM,
				       "the policy (%s) allows builds no network: --network host "
				       "is refused",
				       petra_policy_path(policy));
	const json_t *repro = json_object_get(sec, "require-reproducible");
	if (repro && !json_is_boolean(repro))
		return petra_yaml_error(y, sec, "require-reproducible", 0, err,
					"build: require-reproducible is true or false");
	if (json_is_true(repro) && !b->o->reproducible)
		return petra_error_set(err, EPERM,
				       "the policy (%s) requires reproducible builds: set "
				       "SOURCE_DATE_EPOCH or --source-date-epoch",
				       petra_policy_path(policy));
	return 0;
}

/* The policy's verdict on a base; resolved_digest may be NULL. */
static int check_base(struct build *b, const char *ref, const char *resolved_digest,
		      struct petra_error **err)
{
	const struct petra_policy *policy = b->o->policy;
	struct policy_base_verdict v;
	int r = petra_policy_check_base(policy, ref, resolved_digest, &v, err);
	if (r < 0)
		return r;
	const char *path = petra_policy_path(policy);
	if (v.status == POLICY_BASE_BANNED)
		return petra_error_set(err, EPERM, "base %s is banned by %s:%u (%s): %s", ref, path,
				       v.line, v.entry, v.reason);
	if (v.status == POLICY_BASE_NOT_APPROVED)
		return petra_error_set(
		    err, EPERM, "base %s is not in the catalog of approved bases in %s", ref, path);
	/* Pinned as written, not by what the store resolved it to. */
	const struct policy_bases *bases = petra_policy_bases(policy);
	if (!resolved_digest && bases->require_digest && !v.pinned)
		return petra_error_set(err, EPERM,
				       "base %s is not pinned by digest, and %s requires it "
				       "(petra rebase can pin it)",
				       ref, path);
	return 0;
}

/* ---- bases ---- */

/* The one place a base image is chosen: the policy's rewrites, its
 * verdict (before the image is looked at, and again with the digest it
 * resolves to, for bans by digest), then the store. */
int build_resolve_base(struct build *b, const struct stage *st, const char *ref, struct image *img,
		       struct petra_error **err)
{
	bool layout = !strncmp(ref, "oci:", 4) || !strncmp(ref, "oci-archive:", 12);
	_cleanup_free_ char *rewritten = NULL;
	if (b->o->policy && !layout) {
		struct policy_rewrite_result rw;
		int r = petra_policy_rewrite_base(b->o->policy, ref, &rw, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < rw.n_steps; i++)
			build_say(b, st, "policy: base %s rewritten to %s (rule \"%s\": %s)",
				  rw.steps[i].before, rw.steps[i].after, rw.steps[i].rule->id,
				  rw.steps[i].rule->reason);
		rewritten = steal_pointer(&rw.ref);
		policy_rewrite_result_release(&rw);
		if (rewritten)
			ref = rewritten;
		r = check_base(b, ref, NULL, err);
		if (r < 0)
			return r;
	}
	int r;
	if (layout) {
		/* Brought into the store first (under the name import
		 * derives), as any base must be. */
		_cleanup_free_ char *name = NULL;
		char digest[OCI_DIGEST_SIZE];
		struct image_import_options io = {.compression = LAYER_COMPRESSION_GZIP};
		r = image_import(b->store, ref, &io, &name, digest, err);
		if (r < 0)
			return r;
		r = image_load(b->store, digest, img, err);
		if (r == 0 && b->o->policy)
			r = check_base(b, name, img->desc.digest, err);
	} else {
		r = load_base(b, ref, img, err);
		if (r == 0 && b->o->policy)
			r = check_base(b, ref, img->desc.digest, err);
	}
	if (r < 0 && img->desc.media_type)
		image_release(img);
	return r;
}

/* ---- squashing ---- */

static int copy_meta(int dirfd, const char *name, const struct stat *st)
{
	if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0)
		return -errno;
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static void copy_dir_xattrs(int from, int to)
{
	char list[4096];
	ssize_t n = flistxattr(from, list, sizeof(list));
	for (char *k = list; n > 0 && k < list + n; k += strlen(k) + 1) {
		char v[4096];
		ssize_t vn = fgetxattr(from, k, v, sizeof(v));
		if (vn >= 0)
			fsetxattr(to, k, v, (size_t)vn, 0);
	}
}

/* Put one overlay-format layer (src) on top of the squashed result so far
 * (dst), keeping the result in overlay format: whiteouts and opaque
 * directories stay, for what the base below has. */
static int squash_dir(int src, int dst, const char *path, struct petra_error **err)
{
	_cleanup_closedir_ DIR *d = fs_opendir_at(src, ".");
	if (!d)
		return petra_error_set_errno(err, errno, "squash: read %s", *path ? path : "/");
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		_cleanup_free_ char *shown = *path ? xasprintf("%s/%s", path, name) : xstrdup(name);
		struct stat st, old;
		if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return petra_error_set_errno(err, errno, "squash: %s", shown);
		bool exists = fstatat(dst, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
		bool whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sfd =
			    openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char flag;
			bool opaque =
			    sfd >= 0 && fgetxattr(sfd, OPAQUE_XATTR, &flag, 1) == 1 && flag == 'y';
			/* A directory over a whiteout replaces what the base had
			 * there: opaque. */
			bool over_whiteout =
			    exists && S_ISCHR(old.st_mode) && old.st_rdev == makedev(0, 0);
			if (exists && (opaque || !S_ISDIR(old.st_mode))) {
				int r = fs_remove_tree_at(dst, name, err);
				if (r < 0)
					return r;
				exists = false;
			}
			if (!exists && mkdirat(dst, name, 0700) < 0)
				return petra_error_set_errno(err, errno, "squash: %s", shown);
			_cleanup_close_ int dfd =
			    openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd < 0 || dfd < 0)
				return petra_error_set_errno(err, errno, "squash: %s", shown);
			copy_dir_xattrs(sfd, dfd);
			if (over_whiteout)
				fsetxattr(dfd, OPAQUE_XATTR, "y", 1, 0);
			int r = squash_dir(sfd, dfd, shown, err);
			if (r < 0)
				return r;
			copy_meta(dst, name, &st);
			continue;
		}
		if (exists) {
			int r = fs_remove_tree_at(dst, name, err);
			if (r < 0)
				return r;
		}
		int r = 0;
		if (whiteout) {
			r = mknodat(dst, name, S_IFCHR | 0000, makedev(0, 0));
		} else if (S_ISREG(st.st_mode)) {
			/* Layers are never written once cached: sharing the
			 * inode costs nothing. */
			r = linkat(src, name, dst, name, 0);
			if (r < 0) {
				_cleanup_close_ int in =
				    openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
				_cleanup_close_ int out = openat(
				    dst, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
				r = in < 0 || out < 0 ? -1 : fs_copy_fd(in, out, NULL, err);
				if (r == 0)
					r = copy_meta(dst, name, &st);
			}
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
			if (n >= 0) {
				target[n] = '\0';
				r = symlinkat(target, dst, name);
			} else {
				r = -1;
			}
			if (r == 0)
				r = copy_meta(dst, name, &st);
		} else {
			r = mknodat(dst, name, st.st_mode, st.st_rdev);
			if (r == 0)
				r = copy_meta(dst, name, &st);
		}
		if (r < 0)
			return petra_error_set_errno(err, errno, "squash: %s", shown);
	}
	return 0;
}

int build_squash(struct build *b, struct stage *st, struct petra_error **err)
{
	struct image_state *s = &st->state;
	size_t first = st->n_base_layers;
	if (s->n_layers <= first + 1)
		return 0;
	char key[OCI_DIGEST_SIZE];
	struct oci_hasher k;
	oci_hasher_init(&k);
	key_add(&k, st->key);
	key_add(&k, "squash");
	oci_hasher_final(&k, key);
	struct image_state hit;
	if (!b->o->no_cache && cache_load(b, key, &hit)) {
		image_state_release(s);
		*s = hit;
		build_say(b, NULL, "squashing %zu layers  (cached)", st->state.n_layers - first);
		return 0;
	}
	size_t n_new = s->n_layers - first;
	build_say(b, NULL, "squashing %zu layers", n_new);
	_cleanup_free_ char *dir = NULL;
	int r = build_scratch_dir(b, "squash", &dir, err);
	_cleanup_close_ int dst = r < 0 ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r == 0 && dst < 0)
		r = petra_error_set_errno(err, errno, "open %s", dir);
	for (size_t i = first; r == 0 && i < s->n_layers; i++) {
		struct build_layer *l = &s->layers[i];
		if (!l->dir)
			r = rootfs_ensure_layer(b->store, &l->desc, l->diff_id, &l->dir, err);
		_cleanup_close_ int src =
		    r < 0 ? -1 : open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r == 0 && src < 0)
			r = petra_error_set_errno(err, errno, "open %s", l->dir);
		if (r == 0)
			r = squash_dir(src, dst, "", err);
	}
	struct layer_info info;
	char *cached = NULL;
	if (r == 0)
		r = fs_commit_dir(b, dir, &info, &cached, err);
	if (r < 0) {
		fs_remove_tree_at(AT_FDCWD, dir, NULL);
		return petra_error_prefix(err, "squash");
	}
	/* The base's layers and one more. */
	for (size_t i = first; i < s->n_layers; i++) {
		oci_descriptor_release(&s->layers[i].desc);
		free(s->layers[i].dir);
	}
	s->n_layers = first;
	json_t *ids = json_object_get(json_object_get(s->config, "rootfs"), "diff_ids");
	while (json_array_size(ids) > first)
		json_array_remove(ids, first);
	image_state_add_layer(s, &info, cached);
	/* The history after the base's describes no layer any more. */
	json_t *history = json_object_get(s->config, "history");
	size_t i;
	json_t *h;
	json_array_foreach(history, i, h) if (i >= st->n_base_history)
	    json_object_set_new(h, "empty_layer", json_true());
	_cleanup_free_ char *what = xasprintf("petra build --squash (%zu layers)", n_new);
	image_state_add_history(s, what, false, b->o->reproducible ? b->now : time(NULL));
	cache_save(b, key, s);
	return 0;
}

/* ---- the image ---- */

static json_t *build_record(struct build *b)
{
	const struct builder_options *o = b->o;
	json_t *rec = json_object();
	json_object_set_new(rec, "dockerfile", json_string(b->dockerfile_path));
	json_object_set_new(rec, "dockerfile_digest", json_string(b->dockerfile_digest));
	json_object_set_new(rec, "context", json_string(b->context_dir));
	if (o->target)
		json_object_set_new(rec, "target", json_string(o->target));
	json_t *args = json_object();
	for (size_t i = 0; i < o->n_build_args; i++) {
		const char *kv = o->build_args[i];
		const char *eq = strchr(kv, '=');
		_cleanup_free_ char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
		const char *v = eq ? eq + 1 : getenv(kv);
		if (v)
			json_object_set_new(args, k, json_string(v));
	}
	json_object_set_new(rec, "build_args", args);
	json_t *secrets = json_array();
	for (size_t i = 0; i < o->n_secrets; i++)
		json_array_append_new(secrets, json_string(o->secrets[i].id));
	json_object_set_new(rec, "secrets", secrets);
	json_object_set_new(rec, "compression",
			    json_string(layer_compression_name(o->compression)));
	if (o->squash)
		json_object_set_new(rec, "squash", json_true());
	if (o->reproducible)
		json_object_set_new(rec, "source_date_epoch",
				    json_integer((json_int_t)o->source_date_epoch));
	return rec;
}

int build_write_image(struct build *b, struct stage *st, char digest[OCI_DIGEST_SIZE],
		      struct petra_error **err)
{
	struct image_state *s = &st->state;
	_cleanup_json_ json_t *config = json_deep_copy(s->config);
	if (!json_get_string(config, "created")) {
		char when[40];
		time_format_rfc3339(b->now, when, sizeof(when));
		json_object_set_new(config, "created", json_string(when));
	}
	struct oci_descriptor config_desc;
	int r = petra_store_put_json(b->store, config, OCI_MEDIA_TYPE_CONFIG, &config_desc, err);
	if (r < 0)
		return r;
	struct oci_descriptor *layers = xcalloc(s->n_layers + 1, sizeof(*layers));
	for (size_t i = 0; i < s->n_layers; i++)
		layers[i] = s->layers[i].desc; /* borrowed */
	_cleanup_json_ json_t *ann = json_object();
	json_object_set_new(ann, "org.opencontainers.image.created",
			    json_string(json_get_string(config, "created")));
	if (st->base_name) {
		json_object_set_new(ann, "org.opencontainers.image.base.name",
				    json_string(st->base_name));
		json_object_set_new(ann, "org.opencontainers.image.base.digest",
				    json_string(st->base_digest));
	}
	struct git_info git;
	if (git_describe(b->context_dir, &git, NULL) == 0) {
		if (git.source)
			json_object_set_new(ann, "org.opencontainers.image.source",
					    json_string(git.source));
		if (git.revision)
			json_object_set_new(ann, "org.opencontainers.image.revision",
					    json_string(git.revision));
		git_info_release(&git);
	}
	_cleanup_json_ json_t *manifest =
	    oci_manifest_build(&config_desc, layers, s->n_layers, ann);
	free(layers);
	oci_descriptor_release(&config_desc);
	struct oci_descriptor desc;
	r = petra_store_put_json(b->store, manifest, OCI_MEDIA_TYPE_MANIFEST, &desc, err);
	if (r < 0)
		return r;
	memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	/* Each name's index entry carries the build record, outside the
	 * manifest: a record names paths of this machine, the image's
	 * digest must not. */
	json_t *rec = build_record(b);
	size_t len;
	_cleanup_free_ char *rec_text = json_dump_compact(rec, &len);
	json_decref(rec);
	desc.annotations = json_pack("{s:s}", BUILDER_RECORD_ANNOTATION, rec_text);
	for (size_t i = 0; r == 0 && i < b->o->n_tags; i++) {
		struct oci_ref ref;
		r = oci_ref_parse(b->o->tags[i], &ref, err);
		if (r < 0)
			break;
		_cleanup_free_ char *name = oci_ref_format(&ref);
		oci_ref_release(&ref);
		r = petra_store_set_ref(b->store, name, &desc, err);
	}
	oci_descriptor_release(&desc);
	return r;
}
