/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a stage starts and what --from names: base images (through the
 * policy), earlier stages, and the build section of the policy.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>

/* A base from the store, by the name as written or Docker Hub's long
 * form of a name the store holds short. */
static int load_base(struct builder_session *b, const char *ref, struct image *img,
		     struct petra_error **err)
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

int builder_check_policy(struct builder_session *b, struct petra_error **err)
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
static int check_base(struct builder_session *b, const char *ref, const char *resolved_digest,
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

/* Whether ref says which registry it is in ("host.domain/...",
 * "host:port/...", "localhost/..."): only such a name is pulled when the
 * store lacks it, so a mistyped short name never goes to Docker Hub. */
static bool names_registry(const char *ref)
{
	const char *slash = strchr(ref, '/');
	if (!slash)
		return false;
	size_t n = (size_t)(slash - ref);
	return memchr(ref, '.', n) || memchr(ref, ':', n) ||
	       (n == 9 && !strncmp(ref, "localhost", 9));
}

/* Bring ref from its registry as b->o->pull says: the manifest first, the
 * policy's verdict on its digest, then the blobs. */
static int pull_base(struct builder_session *b, const char *stage, const char *ref,
		     struct petra_error **err)
{
	enum builder_pull when = b->o->pull;
	if (when == BUILDER_PULL_NEVER)
		return 0;
	if (when == BUILDER_PULL_MISSING) {
		struct image have;
		if (load_base(b, ref, &have, NULL) == 0) {
			image_release(&have);
			return 0;
		}
		if (!names_registry(ref))
			return 0;
	}
	struct registry_options o = {.tls_verify = -1};
	if (b->o->registry)
		o = *b->o->registry;
	o.quiet = o.quiet || b->o->quiet;
	json_t *manifest = NULL, *config = NULL;
	char digest[OCI_DIGEST_SIZE], pulled[OCI_DIGEST_SIZE];
	int r = registry_inspect(ref, &o, &manifest, &config, digest, err);
	json_decref(manifest);
	json_decref(config);
	if (r == 0 && b->o->policy)
		r = check_base(b, ref, digest, err);
	if (r == 0) {
		builder_say(b, stage, "pulling %s (%s)", ref, digest);
		r = registry_pull(b->store, ref, &o, pulled, err);
	}
	/* The tag moved between the two requests: what the policy judged is
	 * not what arrived (the store's name is checked again on load). */
	if (r == 0 && strcmp(digest, pulled))
		builder_say(b, stage, "%s moved to %s while it was pulled", ref, pulled);
	if (r < 0 && r != -EPERM && when == BUILDER_PULL_MISSING)
		return petra_error_prefix(err,
					  "image \"%s\" is not in the store, and pulling it "
					  "failed",
					  ref);
	return r;
}

/* The one place a base image is chosen: the policy's rewrites, its
 * verdict (before the image is looked at, and again with the digest it
 * resolves to, for bans by digest), then the store. */
int builder_resolve_base(struct builder_session *b, const char *stage, const char *ref,
			 struct image *img, struct petra_error **err)
{
	/* Released below on any failure, including one before it is loaded. */
	memset(img, 0, sizeof(*img));
	bool layout = !strncmp(ref, "oci:", 4) || !strncmp(ref, "oci-archive:", 12);
	_cleanup_free_ char *rewritten = NULL;
	if (b->o->policy && !layout) {
		struct policy_rewrite_result rw;
		int r = petra_policy_rewrite_base(b->o->policy, ref, &rw, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < rw.n_steps; i++)
			builder_say(b, stage, "policy: base %s rewritten to %s (rule \"%s\": %s)",
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
		r = pull_base(b, stage, ref, err);
		if (r == 0)
			r = load_base(b, ref, img, err);
		if (r == 0 && b->o->policy)
			r = check_base(b, ref, img->desc.digest, err);
	}
	if (r < 0 && img->desc.media_type)
		image_release(img);
	return r;
}

/* ---- stages and --from ---- */

struct builder_stage *builder_find_stage(const struct builder_plan *p, const char *ref,
					 size_t before)
{
	if (!ref || !*ref)
		return NULL;
	for (size_t i = 0; i < before && i < p->n_stages; i++)
		if (p->stages[i].df->name && !strcasecmp(p->stages[i].df->name, ref))
			return &p->stages[i];
	char *end;
	errno = 0;
	unsigned long n = strtoul(ref, &end, 10);
	if (isdigit((unsigned char)*ref) && !*end && errno == 0 && n < before && n < p->n_stages)
		return &p->stages[n];
	return NULL;
}

int builder_source_state(struct builder_session *b, const struct builder_plan *p,
			 const struct builder_stage *st, const char *from, const char *kind,
			 struct builder_state *out, struct petra_error **err)
{
	struct builder_stage *src = builder_find_stage(p, from, st->index);
	if (src) {
		/* Scheduled before this stage: done by now. */
		builder_state_copy(out, &src->state);
		return 0;
	}
	struct image img;
	int r = builder_resolve_base(b, st->label, from, &img, err);
	if (r < 0)
		return petra_error_prefix(err, "--from=%s", from);
	builder_note_material(b, st->index, st->df->name, kind, img.name ? img.name : from,
			      img.desc.digest);
	builder_state_from_image(out, &img);
	image_release(&img);
	return 0;
}

int builder_resolve_user(struct builder_session *b, struct builder_state *state, const char *user,
			 uid_t *uid, gid_t *gid, char **home, struct petra_error **err)
{
	_cleanup_strvec_ struct strvec lowers = STRVEC_INIT;
	int r = builder_stage_lowers(b, state, &lowers, err);
	if (r < 0)
		return r;
	return rootfs_resolve_user((const char *const *)lowers.v, lowers.n, user, uid, gid, home,
				   err);
}
