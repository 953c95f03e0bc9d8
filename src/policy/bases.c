/* SPDX-License-Identifier: Apache-2.0 */
/* The base image catalog: allowed, banned or not approved; rewrites. */
#include "policy.h"

#include <string.h>

const char *policy_base_status_name(enum policy_base_status status)
{
	switch (status) {
	case POLICY_BASE_ALLOWED:
		return "allowed";
	case POLICY_BASE_NOT_APPROVED:
		return "not approved";
	case POLICY_BASE_BANNED:
		return "banned";
	}
	return "?";
}

static bool ban_matches(const struct policy_ban *ban, const struct policy_ref *ref,
			const char *resolved_digest)
{
	if (ban->digest)
		return (ref->digest && !strcmp(ref->digest, ban->digest)) ||
		       (resolved_digest && !strcmp(resolved_digest, ban->digest));
	if (policy_pattern_match(ban->pattern, ref))
		return true;
	/* A ban on "name@digest" also catches the tag that resolved to it. */
	if (resolved_digest && !ref->digest) {
		struct policy_ref with = *ref;
		with.digest = (char *)resolved_digest;
		return policy_pattern_match(ban->pattern, &with);
	}
	return false;
}

int petra_policy_check_base(const struct petra_policy *policy, const char *text,
			    const char *resolved_digest, struct policy_base_verdict *out,
			    struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	struct policy_ref ref;
	if (policy_ref_parse(text, &ref, err) < 0)
		return -EINVAL;
	if (resolved_digest && !policy_digest_valid(resolved_digest)) {
		policy_ref_release(&ref);
		return petra_error_set(err, EINVAL, "invalid digest \"%s\"", resolved_digest);
	}
	out->pinned = ref.digest || resolved_digest;
	out->status = POLICY_BASE_ALLOWED;
	const struct policy_bases *b = policy ? petra_policy_bases(policy) : NULL;
	if (!b) {
		policy_ref_release(&ref);
		return 0;
	}
	for (size_t i = 0; i < b->n_ban; i++) {
		if (ban_matches(&b->ban[i], &ref, resolved_digest)) {
			out->status = POLICY_BASE_BANNED;
			out->entry = b->ban[i].text;
			out->reason = b->ban[i].reason;
			out->line = b->ban[i].line;
			policy_ref_release(&ref);
			return 0;
		}
	}
	if (b->n_allow) {
		out->status = POLICY_BASE_NOT_APPROVED;
		struct policy_ref with = ref;
		if (!with.digest && resolved_digest)
			with.digest = (char *)resolved_digest;
		for (size_t i = 0; i < b->n_allow; i++) {
			if (policy_pattern_match(b->allow[i].pattern, &with)) {
				out->status = POLICY_BASE_ALLOWED;
				out->entry = b->allow[i].text;
				out->line = b->allow[i].line;
				break;
			}
		}
	}
	policy_ref_release(&ref);
	return 0;
}

/* ---- rewrites ------------------------------------------------------------ */

void policy_rewrite_result_release(struct policy_rewrite_result *r)
{
	free(r->ref);
	for (size_t i = 0; i < r->n_steps; i++) {
		free(r->steps[i].before);
		free(r->steps[i].after);
	}
	free(r->steps);
	memset(r, 0, sizeof(*r));
}

/* A new reference leaves out the registry (and "library/") only where the
 * one it replaces did and it still means the same. */
static void spell_like(struct policy_ref *next, const struct policy_ref *old)
{
	bool hub = !strcmp(next->domain, "docker.io");
	next->familiar_domain = hub && old->familiar_domain;
	next->familiar_library = hub && old->familiar_library &&
				 !strncmp(next->path, "library/", 8) &&
				 !strchr(next->path + 8, '/');
}

/* Apply one rule to *ref; 1 when it applied, 0 when it did not, < 0 when
 * the result is not a valid reference. */
static int apply_rule(const struct policy_rewrite *rw, struct policy_ref *ref,
		      struct petra_error **err)
{
	switch (rw->kind) {
	case POLICY_REWRITE_REPLACE: {
		if (!policy_pattern_match(rw->match, ref))
			return 0;
		struct policy_ref next;
		policy_ref_copy(&next, &rw->to);
		if (!rw->to_has_ref) {
			/* a rename: the tag and digest stay */
			next.tag = ref->tag ? xstrdup(ref->tag) : NULL;
			next.digest = ref->digest ? xstrdup(ref->digest) : NULL;
		}
		spell_like(&next, ref);
		bool same = !strcmp(next.domain, ref->domain) && !strcmp(next.path, ref->path) &&
			    !strcmp(next.tag ? next.tag : "", ref->tag ? ref->tag : "") &&
			    !strcmp(next.digest ? next.digest : "", ref->digest ? ref->digest : "");
		policy_ref_release(ref);
		*ref = next;
		return same ? 0 : 1;
	}
	case POLICY_REWRITE_PIN:
		if (!policy_pattern_match(rw->match, ref))
			return 0;
		if (ref->digest && !strcmp(ref->digest, rw->digest))
			return 0;
		free(ref->digest);
		ref->digest = xstrdup(rw->digest);
		return 1;
	case POLICY_REWRITE_MIRROR: {
		_cleanup_free_ char *name = policy_ref_name(ref);
		size_t n = strlen(rw->prefix_from);
		if (strncmp(name, rw->prefix_from, n) || (name[n] != '/' && name[n] != '\0'))
			return 0;
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s%s", rw->prefix_to, name + n);
		if (ref->tag)
			strbuf_addf(&sb, ":%s", ref->tag);
		if (ref->digest)
			strbuf_addf(&sb, "@%s", ref->digest);
		struct policy_ref next;
		if (policy_ref_parse(sb.buf, &next, err) < 0)
			return petra_error_prefix(err, "rewrite rule \"%s\" (line %u)", rw->id,
						  rw->line);
		spell_like(&next, ref);
		policy_ref_release(ref);
		*ref = next;
		return 1;
	}
	}
	return 0;
}

int petra_policy_rewrite_base(const struct petra_policy *policy, const char *text,
			      struct policy_rewrite_result *out, struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	struct policy_ref ref;
	if (policy_ref_parse(text, &ref, err) < 0)
		return -EINVAL;
	const struct policy_bases *b = policy ? petra_policy_bases(policy) : NULL;
	for (size_t i = 0; b && i < b->n_rewrite; i++) {
		char *before = policy_ref_format(&ref, 0);
		int r = apply_rule(&b->rewrite[i], &ref, err);
		if (r <= 0) {
			free(before);
			if (r < 0) {
				policy_ref_release(&ref);
				policy_rewrite_result_release(out);
				return r;
			}
			continue;
		}
		out->steps = xrealloc(out->steps, (out->n_steps + 1) * sizeof(*out->steps));
		out->steps[out->n_steps++] = (struct policy_rewrite_step){
		    .rule = &b->rewrite[i], .before = before, .after = policy_ref_format(&ref, 0)};
	}
	if (out->n_steps)
		out->ref = policy_ref_format(&ref, POLICY_REF_FAMILIAR);
	policy_ref_release(&ref);
	return 0;
}
