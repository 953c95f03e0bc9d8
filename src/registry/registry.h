/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry: the OCI distribution client (libcurl for HTTP, OpenSSL for TLS).
 *
 *  - references are normalised as Docker does ("debian:12" is
 *    docker.io/library/debian:12, see policy_ref_parse).
 *  - where a registry is reached: registries.conf ([[registry]] prefix,
 *    location, insecure, blocked, [[registry.mirror]]), TLS settings from
 *    --tls-verify, --cert-dir and the certs.d directories (CA .crt files, client
 *    pairs in .cert/.key files).
 *  - auth: anonymous, Basic, and Bearer tokens fetched from the realm a 401
 *    names, cached per scope until they expire. Credentials come from
 *    --creds or the auth files (containers auth.json, Docker's
 *    config.json); they never appear in messages.
 *  - pull: manifest (index resolved to a platform), config and layers,
 *    every blob verified while it streams into the store's atomic blob
 *    writer, layers in parallel; push: HEAD skip, cross-repository mount,
 *    monolithic or chunked uploads, the manifest last.
 */
#ifndef PETRA_REGISTRY_H
#define PETRA_REGISTRY_H

#include "base/base.h"
#include "oci/oci.h"

struct registry_options {
	const char *creds;     /* "USER[:PASS]" (--creds) or NULL: the auth files */
	const char *auth_file; /* NULL: $REGISTRY_AUTH_FILE, else the default files */
	const char *cert_dir;  /* NULL: certs.d directories */
	int tls_verify;        /* -1: registries.conf decides (default on), 0 off, 1 on */
	const char *platform;  /* "os/arch[/variant]"; NULL: linux/<host> */
	unsigned jobs;         /* blobs at once; 0: 4 */
	uint64_t chunk_size;   /* push: blobs above this go in PATCH chunks of it; 0: 64 MiB */
	bool quiet;            /* no progress lines */
};

/* Pull `ref` (a registry reference, Docker's normalisation) into the store
 * and name it `ref` as written (tag, or "name@digest" when pulled by
 * digest only). An index is resolved to options->platform; the stored
 * name points at the platform's image manifest. Blobs the store holds are
 * not fetched; every other blob is verified (size and digest) as it
 * streams and enters the store only when it matched. *digest (may be NULL)
 * receives the stored manifest digest. Errors read "pull REF: ...". */
int registry_pull(struct petra_store *store, const char *ref,
		  const struct registry_options *options, char digest[OCI_DIGEST_SIZE],
		  struct petra_error **err);

/* Push the store's `image` to `dest` (a registry reference; NULL: image's
 * own name). *digest receives the pushed manifest digest (may be NULL). */
int registry_push(struct petra_store *store, const char *image, const char *dest,
		  const struct registry_options *options, char digest[OCI_DIGEST_SIZE],
		  struct petra_error **err);

/* Copy the referrers of `subject` (a manifest digest) from the registry
 * reference src to dest: listed by the referrers API, else the
 * "sha256-<hex>" tag; blobs and manifests copied (verified on the way
 * through the store); on a destination that does not keep referrers
 * itself (no OCI-Subject answer), the tag's index is updated. *copied
 * receives how many. */
int registry_copy_referrers(struct petra_store *store, const char *src, const char *dest,
			    const char *subject, const struct registry_options *options,
			    size_t *copied, struct petra_error **err);

/* The store's referrers of `subject` (its build record; and theirs, a
 * signature of the record) to the registry reference dest: blobs, then
 * each referrer manifest by digest; a registry that does not answer
 * OCI-Subject (no referrers API) gets the "sha256-<hex>" tag's index
 * updated (what it listed is kept). *pushed receives how many. */
int registry_push_referrers(struct petra_store *store, const char *dest, const char *subject,
			    const struct registry_options *options, size_t *pushed,
			    struct petra_error **err);
/* The referrers of `subject` in the registry reference src (the referrers
 * API, else the tag schema) into the store, verified, each added as a
 * referrer of subject. *pulled receives how many. */
int registry_pull_referrers(struct petra_store *store, const char *src, const char *subject,
			    const struct registry_options *options, size_t *pulled,
			    struct petra_error **err);

/* The manifest (after platform resolution) and config of a remote image,
 * both verified, without touching a store. *digest gets the manifest's. */
int registry_inspect(const char *ref, const struct registry_options *options, json_t **manifest,
		     json_t **config, char digest[OCI_DIGEST_SIZE], struct petra_error **err);

/* ---- reading a repository without a store (lineage queries) ---- */

/* The tags of `repository` ("HOST/REPO", no tag), every page of
 * /v2/<name>/tags/list, in the registry's order. */
int registry_list_tags(const char *repository, const struct registry_options *options,
		       struct strvec *tags, struct petra_error **err);
/* One referrer read into memory: its manifest, and the content of its
 * first layer of the media type asked for (NULL when it has none). */
struct registry_referrer {
	char digest[OCI_DIGEST_SIZE];
	json_t *manifest;
	char *layer;
	size_t layer_len;
};
/* The referrers of `subject` in the repository of `ref` whose artifactType
 * is artifact_type (NULL: all), manifest and layer (of layer_type, NULL:
 * none) each verified against its digest, in the order the registry lists
 * them. Nothing is stored. */
int registry_read_referrers(const char *ref, const char *subject, const char *artifact_type,
			    const char *layer_type, const struct registry_options *options,
			    struct registry_referrer **out, size_t *n, struct petra_error **err);
void registry_referrers_free(struct registry_referrer *v, size_t n);

/* Check credentials against `registry` ("host[:port]", docker.io when
 * NULL) and store them in the auth file (written atomically, mode 0600). */
int registry_login(const char *registry, const char *user, const char *password,
		   const struct registry_options *options, struct petra_error **err);
/* Remove the registry's entry (ENOENT when there was none); all = every entry. */
int registry_logout(const char *registry, bool all, const struct registry_options *options,
		    struct petra_error **err);
/* The auth file login writes: options->auth_file, $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/UID/auth.json. */
char *registry_auth_file_path(const struct registry_options *options);

/* ---- small documents of one repository (repository.c) ------------------- */

/* The repository of a registry reference (its tag or digest aside) at its
 * primary location, for documents read and written whole in memory:
 * cosign's sha256-<hex>.sig and .att manifests and their blobs. */
struct registry_repository;
int registry_repository_open(const char *ref, const struct registry_options *options,
			     struct registry_repository **repo, struct petra_error **err);
void registry_repository_free(struct registry_repository *repo);
static inline void registry_repository_freep(struct registry_repository **r)
{
	if (*r)
		registry_repository_free(*r);
}
#define _cleanup_registry_repository_ _cleanup_(registry_repository_freep)
/* "host/repo" where it is served, for messages. */
const char *registry_repository_where(const struct registry_repository *repo);
/* The manifest a tag or digest names, exactly as served (checked against
 * the digest asked for and Docker-Content-Digest), no index resolved.
 * ENOENT when the registry has none. media_type and digest may be NULL. */
int registry_repository_get_manifest(struct registry_repository *repo, const char *reference,
				     char **data, size_t *len, char **media_type,
				     char digest[OCI_DIGEST_SIZE], struct petra_error **err);
int registry_repository_put_manifest(struct registry_repository *repo, const char *reference,
				     const char *media_type, const void *data, size_t len,
				     struct petra_error **err);
/* A blob of at most max bytes, verified against its digest. */
int registry_repository_get_blob(struct registry_repository *repo, const char *digest, size_t max,
				 char **data, size_t *len, struct petra_error **err);
/* A blob streamed into fd (never whole in memory), verified against its
 * digest (EIO when it differs); more than max bytes is EFBIG. */
int registry_repository_get_blob_fd(struct registry_repository *repo, const char *digest, int fd,
				    uint64_t max, struct petra_error **err);
/* Upload bytes as a blob (nothing sent when the registry has it);
 * *digest receives its digest. */
int registry_repository_put_blob(struct registry_repository *repo, const void *data, size_t len,
				 char digest[OCI_DIGEST_SIZE], struct petra_error **err);

/* A small document from a plain web server (http:// or https://; no
 * registry API, no credentials), at most max bytes: the signature-N files
 * of a registries.d lookaside. ENOENT on 404; options->tls_verify 0 skips
 * certificate checks. (fetchurl.c) */
int registry_fetch_url(const char *url, size_t max, const struct registry_options *options,
		       char **data, size_t *len, struct petra_error **err);

/* ---- parsers (exported for tests and fuzzing) --------------------------- */

/* One WWW-Authenticate challenge: scheme and its auth-params. */
struct registry_challenge {
	char *scheme; /* "Bearer", "Basic" */
	char *realm;
	char *service;
	char *scope;
	char *error;
};
int registry_challenge_parse(const char *header, struct registry_challenge *challenge,
			     struct petra_error **err);
void registry_challenge_release(struct registry_challenge *challenge);

/* registries.conf (v2): the [[registry]] tables petra uses. */
struct registry_conf_entry {
	char *prefix;   /* "example.com/ns", or "*.example.com" */
	char *location; /* where it is really served */
	bool insecure;
	bool blocked;
	struct strvec mirrors;     /* locations, in order */
	uint64_t insecure_mirrors; /* bit i: mirror i is insecure */
};
struct registry_conf {
	struct registry_conf_entry *entries;
	size_t n_entries;
};
/* Parse the TOML subset registries.conf uses (tables, arrays of tables,
 * strings, booleans, arrays of strings; unknown keys ignored). */
int registry_conf_parse(const char *data, size_t len, struct registry_conf *conf,
			struct petra_error **err);
void registry_conf_release(struct registry_conf *conf);

#endif
