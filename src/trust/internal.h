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

#endif
