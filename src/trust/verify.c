/* SPDX-License-Identifier: Apache-2.0 */
/* Signatures x keys -> the verified payloads, or why none verified. The
 * checks run in containers/image's order: the cryptographic signature
 * first (nothing unsigned is parsed further), then the payload, the
 * manifest digest, the identity. */
#include "trust.h"
#include "internal.h"

#include <string.h>

static const char *const failure_names[] = {
    [TRUST_ACCEPTED] = "accepted",
    [TRUST_NO_SIGNATURE] = "no signature",
    [TRUST_WRONG_KEY] = "wrong key",
    [TRUST_INVALID_PAYLOAD] = "invalid payload",
    [TRUST_DIGEST_MISMATCH] = "digest mismatch",
    [TRUST_IDENTITY_MISMATCH] = "identity mismatch",
};

const char *trust_failure_name(enum trust_failure failure)
{
	return failure_names[failure];
}

void trust_verdict_release(struct trust_verdict *verdict)
{
	json_decref(verdict->accepted);
	strvec_clear(&verdict->reasons);
	memset(verdict, 0, sizeof(*verdict));
}

/* After the cryptography: the payload, the digest, the identity. */
static enum trust_failure check_payload(const struct trust_check *check,
					const struct trust_signature *sig, const char *payload_type,
					const char *content, size_t content_len, const char *signer,
					json_t **accepted_json, struct strvec *reasons)
{
	struct trust_payload payload;
	struct petra_error *err = NULL;
	if (trust_payload_parse_type(content, content_len, payload_type, &payload, &err) < 0) {
		strvec_pushf(reasons, "%s: %s", sig->source, err->message);
		petra_error_free(err);
		return TRUST_INVALID_PAYLOAD;
	}
	enum trust_failure failure = TRUST_ACCEPTED;
	if (strcmp(payload.manifest_digest, check->manifest_digest)) {
		strvec_pushf(reasons, "%s: signs manifest %s, not %s", sig->source,
			     payload.manifest_digest, check->manifest_digest);
		failure = TRUST_DIGEST_MISMATCH;
	} else if (!trust_identity_matches(check->match, check->intended,
					   payload.docker_reference)) {
		if (check->intended)
			strvec_pushf(reasons, "%s: signs \"%s\", which does not match \"%s\" (%s)",
				     sig->source, payload.docker_reference, check->intended,
				     trust_match_name(check->match));
		else
			strvec_pushf(reasons,
				     "%s: signs \"%s\", and the image has no reference to match "
				     "it against",
				     sig->source, payload.docker_reference);
		failure = TRUST_IDENTITY_MISMATCH;
	} else {
		*accepted_json = json_pack(
		    "{s:s,s:s,s:s,s:s,s:O}", "type", payload_type, "docker-reference",
		    payload.docker_reference, "docker-manifest-digest", payload.manifest_digest,
		    "key", signer, "optional", payload.optional ? payload.optional : json_null());
	}
	trust_payload_release(&payload);
	return failure;
}

static enum trust_failure check_cosign(const struct trust_check *check,
				       const struct trust_signature *sig, json_t **accepted_json,
				       struct strvec *reasons)
{
	const struct trust_key *key = NULL;
	for (size_t k = 0; k < check->n_keys && !key; k++)
		if (trust_verify(check->keys[k], sig->payload, sig->payload_len,
				 sig->signature_b64))
			key = check->keys[k];
	if (!key) {
		strvec_pushf(reasons, "%s: %s", sig->source,
			     !check->n_keys       ? "no cosign key to check it with"
			     : sig->signature_b64 ? "not signed by any of the keys"
						  : "no signature annotation");
		return TRUST_WRONG_KEY;
	}
	return check_payload(check, sig, TRUST_PAYLOAD_TYPE, sig->payload, sig->payload_len,
			     trust_key_name(key), accepted_json, reasons);
}

static enum trust_failure check_gpg(const struct trust_check *check,
				    const struct trust_signature *sig, json_t **accepted_json,
				    struct strvec *reasons)
{
	_cleanup_free_ char *content = NULL, *fingerprint = NULL;
	size_t content_len = 0;
	struct petra_error *err = NULL;
	if (trust_gpg_verify(check->gpg, sig->payload, sig->payload_len, &content, &content_len,
			     &fingerprint, &err) < 0) {
		strvec_pushf(reasons, "%s: %s", sig->source, err->message);
		petra_error_free(err);
		return TRUST_WRONG_KEY;
	}
	if (!trust_gpg_trusts(check->gpg, fingerprint)) {
		strvec_pushf(reasons, "%s: signed by GPG key %s, not a trusted one", sig->source,
			     fingerprint);
		return TRUST_WRONG_KEY;
	}
	_cleanup_free_ char *signer = xasprintf("gpg:%s", fingerprint);
	return check_payload(check, sig, TRUST_GPG_PAYLOAD_TYPE, content, content_len, signer,
			     accepted_json, reasons);
}

int trust_verify_signatures(const struct trust_check *check, const struct trust_signatures *sigs,
			    struct trust_verdict *verdict, struct petra_error **err)
{
	(void)err;
	memset(verdict, 0, sizeof(*verdict));
	verdict->accepted = json_array();
	enum trust_failure furthest = TRUST_NO_SIGNATURE;
	for (size_t i = 0; i < sigs->n; i++) {
		const struct trust_signature *sig = &sigs->v[i];
		/* Other attachments, and GPG signatures when no GPG key is
		 * given, are not signatures here: they neither count nor fail. */
		json_t *accepted = NULL;
		enum trust_failure f;
		if (sig->kind == TRUST_SIGNATURE_GPG && check->gpg) {
			f = check_gpg(check, sig, &accepted, &verdict->reasons);
		} else if (sig->kind == TRUST_SIGNATURE_SIGSTORE &&
			   !strcmp(sig->media_type, TRUST_SIMPLESIGNING_MEDIA_TYPE) &&
			   check->n_keys) {
			f = check_cosign(check, sig, &accepted, &verdict->reasons);
		} else {
			strvec_pushf(&verdict->reasons, "%s: not a %s signature (%s)", sig->source,
				     check->gpg && !check->n_keys ? "GPG" : "cosign",
				     sig->kind == TRUST_SIGNATURE_GPG ? "GPG" : sig->media_type);
			continue;
		}
		if (accepted)
			json_array_append_new(verdict->accepted, accepted);
		else if (f > furthest)
			furthest = f;
	}
	verdict->failure = json_array_size(verdict->accepted) ? TRUST_ACCEPTED : furthest;
	return 0;
}
