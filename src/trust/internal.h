/* SPDX-License-Identifier: Apache-2.0 */
/* trust: helpers shared by the module's files (never included elsewhere). */
#ifndef PETRA_TRUST_INTERNAL_H
#define PETRA_TRUST_INTERNAL_H

#include "base/base.h"

int trust_sodium_init(struct petra_error **err);
/* Standard base64 with padding, as Go's encoding/base64.StdEncoding. */
char *trust_base64_encode(const void *data, size_t len);
/* Strict: the whole text must be base64 (padding required). */
int trust_base64_decode(const char *text, size_t text_len, unsigned char **out, size_t *out_len);

/* The prefix containers/image puts before a sigstore signature in a
 * signature-N file (the rest is JSON). */
#define TRUST_SIGSTORE_FILE_PREFIX     "\0sigstore-json\n"
#define TRUST_SIGSTORE_FILE_PREFIX_LEN 15

#include "oci/oci.h"
struct trust_signatures;

/* The layers of the artifact manifest `tag` (a .sig or .att) as
 * signatures; none when the tag is not there. */
int trust_sig_manifest_read(struct petra_store *store, const char *tag,
			    struct trust_signatures *sigs, struct petra_error **err);
/* Add a layer (blob stored, its descriptor with annotations) to the
 * artifact manifest `tag`, creating it; the same blob with the same
 * annotations is not added twice. *n_layers: the layers now. */
int trust_sig_manifest_append(struct petra_store *store, const char *tag, const char *media_type,
			      const void *blob, size_t len, const json_t *annotations,
			      size_t *n_layers, struct petra_error **err);

struct trust_signature;
struct oci_descriptor;
struct trust_signature *trust_signatures_add(struct trust_signatures *sigs);
/* The name without its tag or digest ("reg:5000/app:1" -> "reg:5000/app"). */
char *trust_repository_of(const char *name);
/* The normalised form of a reference, for payloads and identities. */
int trust_normalise_ref(const char *text, char **out, struct petra_error **err);

/* One signature-N file (dir: or a lookaside): sigstore JSON after its
 * prefix, else a GPG message; appended to sigs. */
int trust_signature_file_parse(const char *data, size_t len, const char *source,
			       struct trust_signatures *sigs, struct petra_error **err);
/* Reads a signature blob (at most a few MiB) from wherever it lives. */
typedef int trust_blob_reader(void *ctx, const char *digest, char **data, size_t *len,
			      struct petra_error **err);
/* The layers of a .sig manifest (its bytes) as signatures, their payloads
 * read with read_blob. */
int trust_signatures_from_manifest(trust_blob_reader *read_blob, void *ctx, const char *sig_ref,
				   const char *data, size_t len, struct trust_signatures *sigs,
				   struct petra_error **err);
/* The config and the manifest cosign writes for a signature (or
 * attestation) manifest with these layers. */
json_t *trust_sig_config(const json_t *layers);
json_t *trust_sig_manifest(const struct oci_descriptor *config, const json_t *layers);
/* Write the store's artifact manifest `tag` holding layers (descriptor
 * objects whose blobs are in the store). */
int trust_sig_manifest_write(struct petra_store *store, const char *tag, json_t *layers,
			     struct petra_error **err);

#endif
