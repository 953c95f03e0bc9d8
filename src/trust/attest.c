/* SPDX-License-Identifier: Apache-2.0 */
/* In-toto attestations as cosign stores them: a statement about the image
 * (subject: its repository and manifest digest) in a DSSE envelope signed
 * over DSSE's pre-authentication encoding, one layer per attestation of
 * the manifest `<repo>:sha256-<hex>.att` (media type
 * application/vnd.dsse.envelope.v1+json, annotation predicateType). */
#include "trust.h"
#include "internal.h"

#include <errno.h>
#include <string.h>

#define STATEMENT_TYPE "https://in-toto.io/Statement/v0.1"

char *trust_attestation_tag(const char *repository, const char *manifest_digest)
{
	_cleanup_free_ char *sig = trust_signature_tag(repository, manifest_digest);
	size_t len = strlen(sig);
	return xasprintf("%.*s.att", (int)(len - 4), sig);
}

/* DSSE v1 pre-authentication encoding: what is signed. */
static void pae(struct strbuf *out, const char *type, const char *body, size_t len)
{
	strbuf_addf(out, "DSSEv1 %zu %s %zu ", strlen(type), type, len);
	strbuf_add(out, body, len);
}

char *trust_statement_build(const char *subject_name, const char *manifest_digest,
			    const char *predicate_type, const json_t *predicate, size_t *len)
{
	const char *hex = oci_digest_hex(manifest_digest);
	_cleanup_json_ json_t *doc =
	    json_pack("{s:s,s:[{s:s,s:{s:s}}],s:s,s:O}", "_type", STATEMENT_TYPE, "subject", "name",
		      subject_name, "digest", "sha256", hex, "predicateType", predicate_type,
		      "predicate", predicate);
	return json_dump_compact(doc, len);
}

static int store_attest(struct petra_store *store, const struct trust_key *key, const char *image,
			const char *predicate_type, const json_t *predicate,
			struct trust_signed *out, struct petra_error **err)
{
	struct oci_descriptor desc;
	_cleanup_free_ char *name = NULL;
	if (petra_store_resolve(store, image, &desc, &name, err) < 0)
		return -1;
	memcpy(out->manifest_digest, desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&desc);
	struct oci_ref ref;
	if (!name)
		return petra_error_set(err, EINVAL, "image %s has no name", image);
	if (oci_ref_parse(name, &ref, err) < 0)
		return -1;
	out->identity = xstrdup(ref.name);
	out->signature_ref = trust_attestation_tag(ref.name, out->manifest_digest);
	oci_ref_release(&ref);

	size_t statement_len;
	_cleanup_free_ char *statement = trust_statement_build(
	    out->identity, out->manifest_digest, predicate_type, predicate, &statement_len);
	struct strbuf signed_bytes = STRBUF_INIT;
	pae(&signed_bytes, TRUST_INTOTO_PAYLOAD_TYPE, statement, statement_len);
	_cleanup_free_ char *sig = NULL;
	int rc = trust_sign(key, signed_bytes.buf, signed_bytes.len, &sig, err);
	strbuf_release(&signed_bytes);
	if (rc < 0)
		return -1;
	_cleanup_free_ char *payload_b64 = trust_base64_encode(statement, statement_len);
	_cleanup_json_ json_t *envelope =
	    json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "payloadType", TRUST_INTOTO_PAYLOAD_TYPE,
		      "payload", payload_b64, "signatures", "keyid", "", "sig", sig);
	size_t envelope_len;
	_cleanup_free_ char *envelope_text = json_dump_compact(envelope, &envelope_len);
	_cleanup_json_ json_t *annotations = json_pack("{s:s}", "predicateType", predicate_type);
	return trust_sig_manifest_append(store, out->signature_ref, TRUST_DSSE_MEDIA_TYPE,
					 envelope_text, envelope_len, annotations,
					 &out->n_signatures, err);
}

int trust_store_attest(struct petra_store *store, const struct trust_key *key, const char *image,
		       const char *predicate_type, const json_t *predicate,
		       struct trust_signed *out, struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	if (store_attest(store, key, image, predicate_type, predicate, out, err) < 0) {
		trust_signed_release(out);
		return -1;
	}
	return 0;
}

int trust_store_attestations(struct petra_store *store, const char *repository,
			     const char *manifest_digest, struct trust_signatures *sigs,
			     struct petra_error **err)
{
	_cleanup_free_ char *att_ref = trust_attestation_tag(repository, manifest_digest);
	return trust_sig_manifest_read(store, att_ref, sigs, err);
}

/* One envelope: the verified statement (*statement) or why not. */
static enum trust_failure check_envelope(const struct trust_check *check,
					 const struct trust_signature *att,
					 const char *predicate_type, json_t **statement,
					 struct strvec *reasons)
{
	json_error_t jerr;
	_cleanup_json_ json_t *env =
	    json_loadb(att->payload, att->payload_len, JSON_REJECT_DUPLICATES, &jerr);
	const char *type = json_get_string(env, "payloadType");
	const char *payload_b64 = json_get_string(env, "payload");
	json_t *signatures = json_object_get(env, "signatures");
	if (!type || !payload_b64 || !json_is_array(signatures)) {
		strvec_pushf(reasons, "%s: not a DSSE envelope", att->source);
		return TRUST_INVALID_PAYLOAD;
	}
	_cleanup_free_ unsigned char *body = NULL;
	size_t body_len;
	if (trust_base64_decode(payload_b64, strlen(payload_b64), &body, &body_len) < 0) {
		strvec_pushf(reasons, "%s: the payload is not base64", att->source);
		return TRUST_INVALID_PAYLOAD;
	}
	struct strbuf signed_bytes = STRBUF_INIT;
	pae(&signed_bytes, type, (const char *)body, body_len);
	const struct trust_key *key = NULL;
	size_t i;
	json_t *s;
	json_array_foreach(signatures, i, s)
	{
		for (size_t k = 0; k < check->n_keys && !key; k++)
			if (trust_verify(check->keys[k], signed_bytes.buf, signed_bytes.len,
					 json_get_string(s, "sig")))
				key = check->keys[k];
	}
	strbuf_release(&signed_bytes);
	if (!key) {
		strvec_pushf(reasons, "%s: not signed by any of the keys", att->source);
		return TRUST_WRONG_KEY;
	}
	if (strcmp(type, TRUST_INTOTO_PAYLOAD_TYPE)) {
		strvec_pushf(reasons, "%s: payload type \"%s\" is not in-toto", att->source, type);
		return TRUST_INVALID_PAYLOAD;
	}
	_cleanup_json_ json_t *st =
	    json_loadb((const char *)body, body_len, JSON_REJECT_DUPLICATES, &jerr);
	const char *st_type = json_get_string(st, "_type");
	const char *pt = json_get_string(st, "predicateType");
	json_t *subjects = json_object_get(st, "subject");
	if (!st_type || !pt || !json_is_array(subjects)) {
		strvec_pushf(reasons, "%s: not an in-toto statement", att->source);
		return TRUST_INVALID_PAYLOAD;
	}
	bool subject = false;
	json_array_foreach(subjects, i, s)
	{
		const char *hex = json_get_string(json_object_get(s, "digest"), "sha256");
		subject |= hex && !strcmp(hex, oci_digest_hex(check->manifest_digest));
	}
	if (!subject) {
		strvec_pushf(reasons, "%s: its subject is not %s", att->source,
			     check->manifest_digest);
		return TRUST_DIGEST_MISMATCH;
	}
	if (predicate_type && strcmp(pt, predicate_type)) {
		strvec_pushf(reasons, "%s: predicate type %s, not %s", att->source, pt,
			     predicate_type);
		return TRUST_NO_SIGNATURE;
	}
	*statement = json_pack("{s:s,s:O}", "key", trust_key_name(key), "statement", st);
	return TRUST_ACCEPTED;
}

int trust_verify_attestations(const struct trust_check *check, const struct trust_signatures *atts,
			      const char *predicate_type, struct trust_verdict *verdict,
			      struct petra_error **err)
{
	(void)err;
	memset(verdict, 0, sizeof(*verdict));
	verdict->accepted = json_array();
	enum trust_failure furthest = TRUST_NO_SIGNATURE;
	for (size_t i = 0; i < atts->n; i++) {
		if (strcmp(atts->v[i].media_type, TRUST_DSSE_MEDIA_TYPE)) {
			strvec_pushf(&verdict->reasons, "%s: not an attestation (%s)",
				     atts->v[i].source, atts->v[i].media_type);
			continue;
		}
		json_t *statement = NULL;
		enum trust_failure f = check_envelope(check, &atts->v[i], predicate_type,
						      &statement, &verdict->reasons);
		if (statement)
			json_array_append_new(verdict->accepted, statement);
		else if (f > furthest)
			furthest = f;
	}
	verdict->failure = json_array_size(verdict->accepted) ? TRUST_ACCEPTED : furthest;
	return 0;
}
