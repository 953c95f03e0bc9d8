/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trust: keys, signatures and the gate, offline.
 *
 *  - Keys (key.c): cosign's key pair format. The private key is a PEM
 *    block "ENCRYPTED SIGSTORE PRIVATE KEY" whose body is JSON (scrypt
 *    parameters and salt, a NaCl secretbox nonce, and the sealed PKCS#8
 *    DER of an ECDSA P-256 key), as go-securesystemslib's `encrypted`
 *    package writes it; the public key is a PEM SubjectPublicKeyInfo.
 *    Signatures are ECDSA over SHA-256, DER, base64 (cosign's).
 *  - Payloads (payload.c): the containers "simple signing" JSON that
 *    cosign signs, built and parsed strictly (exact fields, as
 *    containers/image's parser).
 *  - Signatures of an image (sigstore.c): cosign's layout in petra's store
 *    (an OCI manifest named `<repo>:sha256-<hex>.sig`, one layer per
 *    signature) and the `dir:` layout of containers/image (manifest.json
 *    and signature-N files, sigstore or GPG).
 *  - Verification (verify.c): keys x signatures -> the verified payloads,
 *    or the reason nothing verified (no signature, wrong key, digest
 *    mismatch, identity mismatch).
 *
 * Nothing here needs the network.
 */
#ifndef PETRA_TRUST_H
#define PETRA_TRUST_H

#include "base/base.h"
#include "oci/oci.h"

/* ---- keys (key.c) ------------------------------------------------------ */

#define TRUST_PRIVATE_KEY_PEM_TYPE "ENCRYPTED SIGSTORE PRIVATE KEY"
/* Older cosign keys; read, never written. */
#define TRUST_COSIGN_PRIVATE_KEY_PEM_TYPE "ENCRYPTED COSIGN PRIVATE KEY"

/* A public key, or a private key (which can also verify). */
struct trust_key;

/* A new ECDSA P-256 key pair: the encrypted private key PEM (password may
 * be empty, as cosign allows) and the public key PEM. Caller frees both. */
int trust_keygen(const char *password, char **private_pem, char **public_pem,
		 struct petra_error **err);
/* Decrypt a cosign private key. `what` names the file in errors; a wrong
 * password is EACCES. */
int trust_private_key_parse(const char *pem, size_t len, const char *password, const char *what,
			    struct trust_key **key, struct petra_error **err);
/* A PEM public key (SubjectPublicKeyInfo: ECDSA, RSA). */
int trust_public_key_parse(const char *pem, size_t len, const char *what, struct trust_key **key,
			   struct petra_error **err);
int trust_public_key_load(const char *path, struct trust_key **key, struct petra_error **err);
/* The key's public half as PEM (caller frees). */
char *trust_key_public_pem(const struct trust_key *key);
/* The file or name the key was read from, for messages. */
const char *trust_key_name(const struct trust_key *key);
void trust_key_free(struct trust_key *key);
static inline void trust_key_freep(struct trust_key **k)
{
	if (*k)
		trust_key_free(*k);
}
#define _cleanup_trust_key_ _cleanup_(trust_key_freep)

/* Sign data (SHA-256, DER signature) with a private key; *signature_b64
 * is the standard base64 of the signature (caller frees). */
int trust_sign(const struct trust_key *key, const void *data, size_t len, char **signature_b64,
	       struct petra_error **err);
/* Does signature_b64 verify data under key? */
bool trust_verify(const struct trust_key *key, const void *data, size_t len,
		  const char *signature_b64);

/* ---- simple-signing payloads (payload.c) ------------------------------- */

#define TRUST_PAYLOAD_TYPE "cosign container image signature"

struct trust_payload {
	char *docker_reference; /* critical.identity.docker-reference */
	char *manifest_digest;  /* critical.image.docker-manifest-digest */
	json_t *optional;       /* the optional object (annotations), or NULL */
};
/* The payload JSON (compact, keys as cosign orders them). annotations is
 * an object of strings, or NULL (then "optional": null). Caller frees. */
char *trust_payload_build(const char *docker_reference, const char *manifest_digest,
			  const json_t *annotations, size_t *len);
/* Parse strictly: exactly the fields above (critical and optional), the
 * type, a valid digest; EINVAL names what is wrong. */
int trust_payload_parse(const char *data, size_t len, struct trust_payload *payload,
			struct petra_error **err);
void trust_payload_release(struct trust_payload *payload);
/* The same for another signature type: TRUST_GPG_PAYLOAD_TYPE for GPG
 * simple signing, whose optional part must be an object. */
#define TRUST_GPG_PAYLOAD_TYPE "atomic container signature"
char *trust_payload_build_type(const char *type, const char *docker_reference,
			       const char *manifest_digest, const json_t *annotations, size_t *len);
int trust_payload_parse_type(const char *data, size_t len, const char *expected_type,
			     struct trust_payload *payload, struct petra_error **err);

/* ---- GPG simple signing (gpg.c) ---------------------------------------- */

/* Trusted OpenPGP keys, imported from keyring files (binary or armored)
 * into a temporary GnuPG home that trust_gpg_free removes. */
struct trust_gpg;
int trust_gpg_open(const char *const *keyrings, size_t n, struct trust_gpg **gpg,
		   struct petra_error **err);
struct trust_blob {
	char *data;
	size_t len;
};
/* The same with keyrings given as bytes too (policy.json's keyData). */
int trust_gpg_open_with_blobs(const char *const *keyrings, size_t n, const struct trust_blob *blobs,
			      size_t n_blobs, struct trust_gpg **gpg, struct petra_error **err);
void trust_gpg_free(struct trust_gpg *gpg);
/* The signed content of an OpenPGP message with exactly one good
 * signature, and the signing key's fingerprint (not yet checked against
 * the trusted ones: trust_gpg_trusts). Callers free both. */
int trust_gpg_verify(struct trust_gpg *gpg, const void *message, size_t len, char **content,
		     size_t *content_len, char **fingerprint, struct petra_error **err);
bool trust_gpg_trusts(const struct trust_gpg *gpg, const char *fingerprint);
/* Sign data with the user's GnuPG secret key `fingerprint` (the default
 * GnuPG home, $GNUPGHOME): an OpenPGP message holding data. */
int trust_gpg_sign(const char *fingerprint, const void *data, size_t len, char **message,
		   size_t *message_len, struct petra_error **err);

/* ---- identity rules ---------------------------------------------------- */

enum trust_match {
	TRUST_MATCH_REPO_DIGEST_OR_EXACT, /* tagged: exact; by digest: same repository */
	TRUST_MATCH_REPOSITORY,           /* same repository, any tag */
	TRUST_MATCH_EXACT,                /* same repository and tag */
};
int trust_match_parse(const char *text, enum trust_match *match, struct petra_error **err);
const char *trust_match_name(enum trust_match match);
/* Does the reference a signature claims match the reference the image is
 * used under (both in Docker's normalised form, containers/image's
 * rules)? */
bool trust_identity_matches(enum trust_match match, const char *intended, const char *signed_ref);

/* ---- the signatures of an image (sigstore.c) --------------------------- */

#define TRUST_SIMPLESIGNING_MEDIA_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define TRUST_SIGNATURE_ANNOTATION     "dev.cosignproject.cosign/signature"

enum trust_signature_kind {
	TRUST_SIGNATURE_SIGSTORE, /* payload + base64 signature annotation */
	TRUST_SIGNATURE_GPG,      /* an OpenPGP message holding the payload */
};

struct trust_signature {
	enum trust_signature_kind kind;
	char *media_type; /* SIGSTORE: the layer's (or file's) media type */
	char *payload;    /* SIGSTORE: the payload bytes; GPG: the message */
	size_t payload_len;
	char *signature_b64; /* SIGSTORE: the annotation, NULL when absent */
	char *source;        /* where it came from, for messages */
	json_t *annotations; /* SIGSTORE: all of them (object), or NULL */
};

struct trust_signatures {
	struct trust_signature *v;
	size_t n;
	size_t alloc;
};
void trust_signatures_release(struct trust_signatures *sigs);

/* "<name>:sha256-<hex>.sig" for an image named `name` (without tag or
 * digest) with manifest `digest`. Caller frees. */
char *trust_signature_tag(const char *repository, const char *manifest_digest);

/* The signatures of a store image with this manifest digest, stored
 * under repository (the image's name without tag). None is not an
 * error (sigs->n == 0). */
int trust_store_signatures(struct petra_store *store, const char *repository,
			   const char *manifest_digest, struct trust_signatures *sigs,
			   struct petra_error **err);

/* What signing a store image did. */
struct trust_signed {
	char manifest_digest[OCI_DIGEST_SIZE]; /* the image signed */
	char *identity;                        /* the docker-reference signed */
	char *signature_ref;                   /* "<repo>:sha256-<hex>.sig" */
	size_t n_signatures;                   /* now in that manifest */
};
void trust_signed_release(struct trust_signed *signed_);
/* Sign the store image `image` (a name, or a digest when identity is
 * given): the payload names identity (default: the image's name,
 * normalised), its manifest digest and annotations (object of strings or
 * NULL). The signature is added to the image's signature manifest; the
 * same payload signed with the same key again adds nothing. */
int trust_store_sign(struct petra_store *store, const struct trust_key *key, const char *image,
		     const char *identity, const json_t *annotations, struct trust_signed *out,
		     struct petra_error **err);

/* GPG simple-signing signatures of a store image: whole OpenPGP messages
 * as the layers (this media type) of the manifest
 * "<repository>:sha256-<hex>.gpgsig" (petra's own: the store has no
 * other place for them; registries keep them in a registries.d
 * lookaside). trust_store_signatures returns them too, as
 * TRUST_SIGNATURE_GPG. */
#define TRUST_GPG_SIGNATURE_MEDIA_TYPE "application/vnd.petra.gpg-simple-signing.v1"
char *trust_gpg_signature_tag(const char *repository, const char *manifest_digest);
/* The "atomic container signature" payload for reference (normalised)
 * and digest, with creator and timestamp as containers/image writes,
 * signed by the user's GnuPG key fingerprint. Caller frees *message. */
int trust_gpg_sign_image(const char *fingerprint, const char *reference, const char *digest,
			 const json_t *annotations, char **message, size_t *message_len,
			 struct petra_error **err);
/* Sign the store image with GPG (as trust_store_sign: identity default the
 * image's name), kept in its .gpgsig manifest. */
int trust_store_sign_gpg(struct petra_store *store, const char *fingerprint, const char *image,
			 const char *identity, const json_t *annotations, struct trust_signed *out,
			 struct petra_error **err);
/* Keep a GPG signature (an OpenPGP message) of the store image; the same
 * message is not added twice. *n_signatures: the .gpgsig layers now. */
int trust_store_add_gpg_signature(struct petra_store *store, const char *image, const void *message,
				  size_t len, size_t *n_signatures, struct petra_error **err);

/* A `dir:` image (containers/image's layout): its manifest.json (caller
 * frees) and signature-1, signature-2, ... until the first missing. A
 * missing manifest is ENOENT with the signatures still read. */
int trust_dir_load(const char *path, char **manifest, size_t *manifest_len,
		   struct trust_signatures *sigs, struct petra_error **err);
/* Add a signature-N file to a dir: image, signing identity (a reference)
 * and the manifest's digest: a cosign one with key, or a GPG simple
 * signing one with gpg_fingerprint (then key is NULL). *written names
 * the file (caller frees). */
int trust_dir_sign(const char *path, const struct trust_key *key, const char *gpg_fingerprint,
		   const char *identity, const json_t *annotations, char **written,
		   struct petra_error **err);
/* Carry cosign signatures along with an image between the store and a
 * dir: layout (export and import call these after the image itself):
 * every signature of the store image as a signature-N file (*written
 * counts them); or every sigstore signature-N of dir:PATH into the store
 * image's .sig manifest, those already there skipped (*added counts the
 * new ones). The dir: manifest must be the store image's (EINVAL). GPG
 * signature files go to and from the image's .gpgsig manifest. */
int trust_dir_export_signatures(struct petra_store *store, const char *image, const char *path,
				size_t *written, struct petra_error **err);
int trust_dir_import_signatures(struct petra_store *store, const char *path, const char *image,
				size_t *added, struct petra_error **err);
/* The digest of a manifest as signatures name it: sha256 of its bytes.
 * Schema 1 manifests (signed JWS) are refused: EINVAL. */
int trust_manifest_digest(const char *manifest, size_t len, char digest[OCI_DIGEST_SIZE],
			  struct petra_error **err);

/* ---- signatures in a registry (registry.c) ----------------------------- */

/* Registry references are written as the registry verbs write them
 * ("host:5000/repo:tag", "host/repo@sha256:..."; docker:// stripped). */
struct registry_options;
/* The digest of the manifest ref names (a tag: what it names now; an index
 * is not resolved, as cosign signs what the tag names) and the layers of
 * the repository's sha256-<hex>.sig manifest as signatures (none:
 * sigs->n == 0). Only the manifest and the signature blobs are fetched. */
int trust_registry_signatures(const char *ref, const struct registry_options *options,
			      char digest[OCI_DIGEST_SIZE], struct trust_signatures *sigs,
			      struct petra_error **err);
/* Sign the registry image ref (digest: this manifest digest; NULL: what
 * ref names now) as trust_store_sign does, in the registry: the payload
 * blob, then the .sig manifest's config and the manifest with the layers
 * already there plus the new one. out->signature_ref is
 * "host/repo:sha256-<hex>.sig". */
int trust_registry_sign(const char *ref, const char *digest, const struct trust_key *key,
			const char *identity, const json_t *annotations,
			const struct registry_options *options, struct trust_signed *out,
			struct petra_error **err);
/* Carry the store image's cosign signatures and attestations (its .sig
 * and .att manifests) to the registry reference ref's repository, or the
 * registry's into the store image's: the layers the other side lacks are
 * appended to what it has (blobs first). *carried counts them. The image
 * is the same on both sides (pushed or pulled just before). */
int trust_push_signatures(struct petra_store *store, const char *image, const char *ref,
			  const struct registry_options *options, size_t *carried,
			  struct petra_error **err);
int trust_pull_signatures(struct petra_store *store, const char *ref, const char *image,
			  const struct registry_options *options, size_t *carried,
			  struct petra_error **err);
/* The same between two names of one store image in different
 * repositories (copy to another name), its .gpgsig included. */
int trust_store_copy_signatures(struct petra_store *store, const char *image, const char *dest,
				size_t *carried, struct petra_error **err);

/* ---- GPG signatures in a registries.d lookaside (lookaside.c) ---------- */

/* The registries.d directory (containers-registries.d(5)): dir, else
 * ~/.config/containers/registries.d when it exists, else
 * /etc/containers/registries.d (none there: nothing configured). Every
 * *.yaml: default-docker and docker: scopes with lookaside,
 * lookaside-staging and skopeo 1.9's older sigstore, sigstore-staging;
 * other keys ignored; a scope configured twice is an error. */
struct trust_registries_d;
int trust_registries_d_load(const char *dir, struct trust_registries_d **d,
			    struct petra_error **err);
void trust_registries_d_free(struct trust_registries_d *d);
static inline void trust_registries_d_freep(struct trust_registries_d **d)
{
	trust_registries_d_free(*d);
}
#define _cleanup_registries_d_ _cleanup_(trust_registries_d_freep)
const char *trust_registries_d_dir(const struct trust_registries_d *d);
/* An empty configuration, and one file's text added to it (what load does
 * per file; for tests and fuzzing). */
struct trust_registries_d *trust_registries_d_new(void);
int trust_registries_d_parse(struct trust_registries_d *d, const char *data, size_t len,
			     const char *name, struct petra_error **err);
/* The lookaside base of a registry reference ("<url>/<repository path>";
 * write: lookaside-staging first), as containers/image chooses: the
 * reference's own entry, its repository's, each parent namespace's up to
 * the host, then default-docker. NULL when none. */
char *trust_lookaside_url(const struct trust_registries_d *d, const char *ref, bool write);
/* The signature-N files of ref's image with manifest digest (file://,
 * http://, https://) appended to sigs (GPG, or sigstore JSON); *n_read
 * counts them. Nothing configured or nothing there is not an error. */
int trust_lookaside_read(const struct trust_registries_d *d, const char *ref, const char *digest,
			 const struct registry_options *options, struct trust_signatures *sigs,
			 size_t *n_read, struct petra_error **err);
/* Write messages (OpenPGP messages) as the next signature-N files of the
 * staging lookaside (file:// only: ENOTSUP otherwise; ENOENT when none
 * is configured); messages already there are not written again. */
int trust_lookaside_write(const struct trust_registries_d *d, const char *ref, const char *digest,
			  const struct trust_blob *messages, size_t n, size_t *written,
			  struct petra_error **err);
/* The store image's GPG signatures (its .gpgsig) written to ref's staging
 * lookaside (nothing to write: 0; none configured: ENOENT), or ref's
 * lookaside signatures (of the store image's digest) kept in the store;
 * *written / *added count the new ones. */
int trust_lookaside_push(struct petra_store *store, const struct trust_registries_d *d,
			 const char *image, const char *ref, size_t *written,
			 struct petra_error **err);
int trust_lookaside_pull(struct petra_store *store, const struct trust_registries_d *d,
			 const char *ref, const char *image, const struct registry_options *options,
			 size_t *added, struct petra_error **err);
/* A new GPG signature of ref's image (digest; identity NULL: ref) by the
 * user's key fingerprint, written to the staging lookaside. */
int trust_lookaside_sign(const struct trust_registries_d *d, const char *fingerprint,
			 const char *ref, const char *digest, const char *identity, size_t *written,
			 struct petra_error **err);

/* ---- attestations (attest.c) ------------------------------------------ */

#define TRUST_DSSE_MEDIA_TYPE     "application/vnd.dsse.envelope.v1+json"
#define TRUST_INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"

/* "<repository>:sha256-<hex>.att". Caller frees. */
char *trust_attestation_tag(const char *repository, const char *manifest_digest);
/* An in-toto statement (v0.1) about one subject. Caller frees. */
char *trust_statement_build(const char *subject_name, const char *manifest_digest,
			    const char *predicate_type, const json_t *predicate, size_t *len);
/* Attest the store image `image` (it needs a name): the statement (subject
 * its repository and digest) in a DSSE envelope signed with key, added to
 * the image's .att manifest as cosign does. out as for trust_store_sign
 * (identity: the subject name). */
int trust_store_attest(struct petra_store *store, const struct trust_key *key, const char *image,
		       const char *predicate_type, const json_t *predicate,
		       struct trust_signed *out, struct petra_error **err);
/* The layers of the image's .att manifest (none: sigs->n == 0). */
int trust_store_attestations(struct petra_store *store, const char *repository,
			     const char *manifest_digest, struct trust_signatures *atts,
			     struct petra_error **err);

/* ---- verification (verify.c) ------------------------------------------- */

/* Why a signature (or an image) was not accepted, from the earliest stage
 * to the latest. An image's failure is the latest stage any of its
 * signatures reached. */
enum trust_failure {
	TRUST_ACCEPTED = 0,
	TRUST_NO_SIGNATURE,      /* nothing that is a signature */
	TRUST_WRONG_KEY,         /* no key verifies the signature */
	TRUST_INVALID_PAYLOAD,   /* signed, but not a simple-signing payload */
	TRUST_DIGEST_MISMATCH,   /* signs another manifest */
	TRUST_IDENTITY_MISMATCH, /* signs another reference */
};
const char *trust_failure_name(enum trust_failure failure);

struct trust_check {
	const char *manifest_digest; /* the image's ("sha256:...") */
	const char *intended;        /* the reference the image is used under; NULL: none known */
	enum trust_match match;
	struct trust_key *const *keys; /* cosign public keys */
	size_t n_keys;
	struct trust_gpg *gpg; /* trusted GPG keys, or NULL: GPG signatures are not checked */
};

struct trust_verdict {
	enum trust_failure failure; /* TRUST_ACCEPTED when any signature verified */
	json_t *accepted;           /* array of verified payloads (objects, with "key") */
	struct strvec reasons;      /* one line per signature that was refused */
};
void trust_verdict_release(struct trust_verdict *verdict);

/* Check cosign signatures against the keys, and GPG ones against the
 * GPG keys when check->gpg is set (else they are not counted). Fills *verdict; < 0 only on internal
 * failures. */
int trust_verify_signatures(const struct trust_check *check, const struct trust_signatures *sigs,
			    struct trust_verdict *verdict, struct petra_error **err);

/* ---- containers-policy.json (policyjson.c) ---------------------------- */

/* /etc/containers/policy.json and its like: default, transports, scopes;
 * requirements insecureAcceptAnything, reject, signedBy (GPGKeys) and
 * sigstoreSigned (public keys), signedIdentity rules. Relative key paths
 * are read from the policy file's directory. */
struct trust_containers_policy;
int trust_containers_policy_parse(const char *data, size_t len, const char *path,
				  struct trust_containers_policy **policy,
				  struct petra_error **err);
int trust_containers_policy_load(const char *path, struct trust_containers_policy **policy,
				 struct petra_error **err);
void trust_containers_policy_free(struct trust_containers_policy *policy);

/* An image as the policy sees it. */
struct trust_policy_image {
	const char *transport;      /* "docker" (store images, by name) or "dir" */
	const char *scope_identity; /* docker: the normalised reference; dir: absolute path */
	const char *reference; /* the reference it is used under (identity rules); may be NULL */
	const char *manifest_digest;
};
/* Evaluate the requirements of the image's scope against its signatures:
 * one line in reasons per requirement not met (none: accepted). *scope
 * names the scope used ("default" or "transport \"docker\" scope \"...\"").
 * < 0 only when a key cannot be read. */
int trust_containers_policy_check(const struct trust_containers_policy *policy,
				  const struct trust_policy_image *image,
				  const struct trust_signatures *sigs, struct strvec *reasons,
				  const char **scope, struct petra_error **err);

/* ---- editing the ban list (ban.c) -------------------------------------- */

/* Add `target` (an image pattern, or a "sha256:" digest) with `reason` to
 * the policy file's bases.ban, or remove it, by inserting or deleting its
 * lines: every other byte of the file stays. The edited text is parsed
 * again (exactly one ban more or less) before it replaces the file
 * atomically. ban creates the file when create is set; EEXIST when the
 * target is banned already, ENOENT (unban) when it is not; ENOTSUP when
 * the list is written in flow style ([...]). */
int trust_policy_ban(const char *path, const char *target, const char *reason, bool create,
		     struct petra_error **err);
int trust_policy_unban(const char *path, const char *target, struct petra_error **err);

/* ---- the gate (gate.c) ------------------------------------------------- */

struct petra_policy;

/* What the image is for; every purpose is gated (stop and rm are not). */
enum trust_purpose {
	TRUST_PURPOSE_RUN,
	TRUST_PURPOSE_EXEC,
	TRUST_PURPOSE_TEST,
	TRUST_PURPOSE_BUNDLE,
	TRUST_PURPOSE_CHECK,  /* petra policy check */
	TRUST_PURPOSE_DEPLOY, /* deploy's manifests, kube-lint's KL203, the webhook */
};
const char *trust_purpose_name(enum trust_purpose purpose);

enum trust_requirement {
	TRUST_REQUIRE_ACCEPT,
	TRUST_REQUIRE_REJECT,
	TRUST_REQUIRE_SIGNED_BY,
};

struct trust_gate_result {
	bool allowed;
	bool cached;           /* the decision came from the cache */
	struct strvec reasons; /* every reason for a refusal, one per line */
	char manifest_digest[OCI_DIGEST_SIZE];
};
void trust_gate_result_release(struct trust_gate_result *result);

/* May the store image `image` (name, digest or prefix) be used for
 * `purpose` under `policy` (NULL: no policy, everything is allowed)? A
 * name is judged as that name; a digest or prefix under every name the
 * store gives the manifest (all must be allowed), or under no name (the
 * default scope; signed-by refuses) when it has none.
 * Refusal is not an error: 0 with result->allowed false and every reason
 * (the image banned by name or digest; its base, from the manifest's
 * org.opencontainers.image.base.name/digest annotations the builder
 * writes, banned or not in the catalog; the trust section's requirement
 * for the image's scope: reject, or signed-by keys not met). < 0 only
 * when the question cannot be answered (image not found, policy key
 * unreadable, store damaged): callers must refuse then too.
 * Decisions are cached in <store>/trust-cache, keyed by the manifest
 * digest, the policy file's and its keys' bytes, the image name and the
 * image's signature manifests (.sig and .gpgsig): any change to those
 * asks again. */
int trust_gate_check(struct petra_store *store, const char *image, enum trust_purpose purpose,
		     const struct petra_policy *policy, struct trust_gate_result *result,
		     struct petra_error **err);
/* The same with a containers-policy.json given on the command line
 * (--signature-policy FILE): it replaces the trust section's
 * signature-policy, and applies without a policy file too (policy NULL).
 * NULL: trust_gate_check. The CLI's verbs ask through cli_gate(). */
int trust_gate_check_with(struct petra_store *store, const char *image, enum trust_purpose purpose,
			  const struct petra_policy *policy, const char *signature_policy,
			  struct trust_gate_result *result, struct petra_error **err);

/* The same question for an image not in the store (a registry's): named
 * `name` (NULL: unnamed), manifest `digest`, its manifest's annotations
 * (the base), and its signatures as the caller read them (the registry's
 * .sig tag: trust_registry_signatures; NULL: none). store (may be NULL)
 * only continues the chain of bases through the manifests it holds. No
 * network, no cache: the caller keeps what it read. */
int trust_gate_check_given(struct petra_store *store, const char *name, const char *digest,
			   const json_t *manifest_annotations, const struct trust_signatures *sigs,
			   enum trust_purpose purpose, const struct petra_policy *policy,
			   const char *signature_policy, struct trust_gate_result *result,
			   struct petra_error **err);

/* Check attestations (from trust_store_attestations) against check's
 * keys: an envelope signed (over DSSE's PAE) by one of them, an in-toto
 * statement whose subject is check->manifest_digest, of predicate_type
 * when it is not NULL. verdict->accepted holds {key, statement} objects. */
int trust_verify_attestations(const struct trust_check *check, const struct trust_signatures *atts,
			      const char *predicate_type, struct trust_verdict *verdict,
			      struct petra_error **err);

#endif
