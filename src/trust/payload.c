/* SPDX-License-Identifier: Apache-2.0 */
/* The containers "simple signing" payload cosign signs, and the identity
 * rules that compare its docker-reference with the image's. */
#include "trust.h"
#include "internal.h"
#include "policy/policy.h"

#include <errno.h>
#include <math.h>
#include <string.h>

char *trust_payload_build(const char *docker_reference, const char *manifest_digest,
			  const json_t *annotations, size_t *len)
{
	return trust_payload_build_type(TRUST_PAYLOAD_TYPE, docker_reference, manifest_digest,
					annotations, len);
}

char *trust_payload_build_type(const char *type, const char *docker_reference,
			       const char *manifest_digest, const json_t *annotations, size_t *len)
{
	/* Key order as cosign marshals its structs: identity, image, type. */
	_cleanup_json_ json_t *doc = json_pack(
	    "{s:{s:{s:s},s:{s:s},s:s},s:O}", "critical", "identity", "docker-reference",
	    docker_reference, "image", "docker-manifest-digest", manifest_digest, "type", type,
	    "optional",
	    annotations && json_object_size(annotations) ? (json_t *)annotations : json_null());
	return json_dump_compact(doc, len);
}

/* obj has exactly these keys (containers/image's
 * ParanoidUnmarshalJSONObjectExactFields). */
static int exact_fields(const json_t *obj, const char *what, const char *const *keys, size_t n,
			struct petra_error **err)
{
	if (!json_is_object(obj))
		return petra_error_set(err, EINVAL, "payload: %s is not an object", what);
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(obj, keys[i]))
			return petra_error_set(err, EINVAL, "payload: %s has no \"%s\"", what,
					       keys[i]);
	if (json_object_size(obj) != n) {
		const char *key;
		json_t *value;
		json_object_foreach((json_t *)obj, key, value)
		{
			bool known = false;
			for (size_t i = 0; i < n; i++)
				known |= !strcmp(key, keys[i]);
			if (!known)
				return petra_error_set(err, EINVAL,
						       "payload: %s has an unknown field \"%s\"",
						       what, key);
		}
	}
	return 0;
}

static const char *string_field(const json_t *obj, const char *key, const char *what,
				struct petra_error **err)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v)) {
		petra_error_set(err, EINVAL, "payload: %s.%s is not a string", what, key);
		return NULL;
	}
	return json_string_value(v);
}

int trust_payload_parse(const char *data, size_t len, struct trust_payload *payload,
			struct petra_error **err)
{
	return trust_payload_parse_type(data, len, TRUST_PAYLOAD_TYPE, payload, err);
}

int trust_payload_parse_type(const char *data, size_t len, const char *expected_type,
			     struct trust_payload *payload, struct petra_error **err)
{
	memset(payload, 0, sizeof(*payload));
	json_error_t jerr;
	/* No JSON_ALLOW_NUL: a NUL in a signed string is refused. */
	_cleanup_json_ json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return petra_error_set(err, EINVAL, "payload: invalid JSON: %s", jerr.text);
	static const char *const top[] = {"critical", "optional"};
	static const char *const critical_keys[] = {"type", "image", "identity"};
	static const char *const image_keys[] = {"docker-manifest-digest"};
	static const char *const identity_keys[] = {"docker-reference"};
	if (exact_fields(doc, "the payload", top, ARRAY_SIZE(top), err) < 0)
		return -1;
	json_t *critical = json_object_get(doc, "critical");
	if (exact_fields(critical, "critical", critical_keys, ARRAY_SIZE(critical_keys), err) < 0)
		return -1;
	const char *type = string_field(critical, "type", "critical", err);
	if (!type)
		return -1;
	if (strcmp(type, expected_type))
		return petra_error_set(err, EINVAL, "payload: unknown signature type \"%s\"", type);
	json_t *image = json_object_get(critical, "image");
	json_t *identity = json_object_get(critical, "identity");
	if (exact_fields(image, "critical.image", image_keys, 1, err) < 0 ||
	    exact_fields(identity, "critical.identity", identity_keys, 1, err) < 0)
		return -1;
	const char *digest = string_field(image, "docker-manifest-digest", "critical.image", err);
	const char *ref =
	    digest ? string_field(identity, "docker-reference", "critical.identity", err) : NULL;
	if (!ref)
		return -1;
	json_t *optional = json_object_get(doc, "optional");
	/* Atomic (GPG) signatures always carry an optional object; cosign
	 * writes null when there are no annotations. */
	if (json_is_null(optional) && strcmp(expected_type, TRUST_PAYLOAD_TYPE))
		return petra_error_set(err, EINVAL, "payload: optional is not an object");
	if (!json_is_null(optional)) {
		if (!json_is_object(optional))
			return petra_error_set(err, EINVAL, "payload: optional is not an object");
		json_t *creator = json_object_get(optional, "creator");
		if (creator && !json_is_string(creator))
			return petra_error_set(err, EINVAL,
					       "payload: optional.creator is not a string");
		json_t *ts = json_object_get(optional, "timestamp");
		if (ts) {
			double v = json_number_value(ts);
			if (!json_is_number(ts) || v != floor(v) || !isfinite(v))
				return petra_error_set(err, EINVAL,
						       "payload: optional.timestamp is not an "
						       "integer");
		}
		payload->optional = json_incref(optional);
	}
	payload->manifest_digest = xstrdup(digest);
	payload->docker_reference = xstrdup(ref);
	return 0;
}

void trust_payload_release(struct trust_payload *payload)
{
	free(payload->docker_reference);
	free(payload->manifest_digest);
	json_decref(payload->optional);
	memset(payload, 0, sizeof(*payload));
}

/* ---- identity rules ---------------------------------------------------- */

static const char *const match_names[] = {
    [TRUST_MATCH_REPO_DIGEST_OR_EXACT] = "match-repo-digest-or-exact",
    [TRUST_MATCH_REPOSITORY] = "match-repository",
    [TRUST_MATCH_EXACT] = "match-exact",
};

int trust_match_parse(const char *text, enum trust_match *match, struct petra_error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(match_names); i++) {
		/* "repository" as well as "match-repository" */
		if (!strcmp(text, match_names[i]) || !strcmp(text, match_names[i] + 6)) {
			*match = (enum trust_match)i;
			return 0;
		}
	}
	return petra_error_set(err, EINVAL,
			       "unknown identity rule \"%s\" (known: match-repo-digest-or-exact, "
			       "match-repository, match-exact)",
			       text);
}

const char *trust_match_name(enum trust_match match)
{
	return match_names[match];
}

static bool same_name(const struct policy_ref *a, const struct policy_ref *b)
{
	return !strcmp(a->domain, b->domain) && !strcmp(a->path, b->path);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool trust_identity_matches(enum trust_match match, const char *intended, const char *signed_ref)
{
	struct policy_ref want, got;
	if (!intended || policy_ref_parse(intended, &want, NULL) < 0)
		return false;
	if (policy_ref_parse(signed_ref, &got, NULL) < 0) {
		policy_ref_release(&want);
		return false;
	}
	bool want_name_only = !want.tag && !want.digest, got_name_only = !got.tag && !got.digest;
	bool ok = false;
	switch (match) {
	case TRUST_MATCH_EXACT:
		ok = !want_name_only && !got_name_only && same_name(&want, &got) &&
		     same_str(want.tag, got.tag) && same_str(want.digest, got.digest);
		break;
	case TRUST_MATCH_REPO_DIGEST_OR_EXACT:
		if (got_name_only)
			ok = false;
		else if (want.tag)
			ok = same_name(&want, &got) && same_str(want.tag, got.tag) &&
			     same_str(want.digest, got.digest);
		else if (want.digest)
			ok = same_name(&want, &got);
		break;
	case TRUST_MATCH_REPOSITORY:
		ok = same_name(&want, &got);
		break;
	}
	policy_ref_release(&want);
	policy_ref_release(&got);
	return ok;
}
