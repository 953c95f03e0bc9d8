/* SPDX-License-Identifier: Apache-2.0 */
/* sha256 digests with OpenSSL's EVP interface (uses SHA-NI where present). */
#include "oci.h"

#include <openssl/evp.h>
#include <string.h>

void oci_hasher_init(struct oci_hasher *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "petra: OpenSSL cannot initialise sha256\n");
		abort();
	}
	h->ctx = ctx;
}

void oci_hasher_update(struct oci_hasher *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
}

void oci_hasher_final(struct oci_hasher *h, char digest[OCI_DIGEST_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_DigestFinal_ex(h->ctx, md, &n);
	static const char hex[] = "0123456789abcdef";
	memcpy(digest, "sha256:", 7);
	for (unsigned int i = 0; i < n; i++) {
		digest[7 + 2 * i] = hex[md[i] >> 4];
		digest[7 + 2 * i + 1] = hex[md[i] & 15];
	}
	digest[7 + 2 * n] = '\0';
	oci_hasher_release(h);
}

void oci_hasher_release(struct oci_hasher *h)
{
	if (h->ctx)
		EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void oci_digest_buffer(const void *data, size_t len, char digest[OCI_DIGEST_SIZE])
{
	struct oci_hasher h;
	oci_hasher_init(&h);
	oci_hasher_update(&h, data, len);
	oci_hasher_final(&h, digest);
}

bool oci_digest_valid(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0)
		return false;
	const char *hex = digest + 7;
	size_t i = 0;
	for (; hex[i]; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return false;
	return i == 64;
}

int oci_digest_check(const char *digest, struct petra_error **err)
{
	if (!digest)
		return petra_error_set(err, EINVAL, "missing digest");
	if (oci_digest_valid(digest))
		return 0;
	const char *colon = strchr(digest, ':');
	if (!colon)
		return petra_error_set(err, EINVAL, "digest \"%.80s\": no algorithm prefix",
				       digest);
	if (strncmp(digest, "sha256:", 7) != 0)
		return petra_error_set(err, ENOTSUP,
				       "digest \"%.80s\": unsupported algorithm \"%.*s\"", digest,
				       (int)(colon - digest), digest);
	return petra_error_set(err, EINVAL,
			       "digest \"%.80s\": not 64 lower-case hexadecimal digits", digest);
}

const char *oci_digest_hex(const char *digest)
{
	const char *colon = strchr(digest, ':');
	return colon ? colon + 1 : digest;
}

void oci_digest_short(const char *digest, char out[13])
{
	snprintf(out, 13, "%.12s", oci_digest_hex(digest));
}
