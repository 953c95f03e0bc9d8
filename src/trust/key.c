/* SPDX-License-Identifier: Apache-2.0 */
/* Keys in cosign's format: scrypt + NaCl secretbox around PKCS#8 (libsodium),
 * ECDSA P-256 and PEM (OpenSSL). */
#include "trust.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

struct trust_key {
	EVP_PKEY *pkey;
	bool is_private;
	char *name;
};

/* go-securesystemslib's three accepted scrypt strengths; cosign writes
 * the standard one. Anything else is refused, as it does. */
static const struct {
	uint64_t n;
	uint32_t r, p;
} scrypt_params[] = {{32768, 8, 1}, {65536, 8, 1}, {131072, 8, 1}};
#define SCRYPT_N_DEFAULT 65536
#define SALT_SIZE        32

int trust_sodium_init(struct petra_error **err)
{
	if (sodium_init() < 0)
		return petra_error_set(err, EIO, "libsodium could not be initialised");
	return 0;
}

char *trust_base64_encode(const void *data, size_t len)
{
	size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(size);
	sodium_bin2base64(out, size, data, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

int trust_base64_decode(const char *text, size_t text_len, unsigned char **out, size_t *out_len)
{
	size_t max = text_len / 4 * 3 + 3;
	unsigned char *buf = xmalloc(max ? max : 1);
	const char *end = NULL;
	if (sodium_base642bin(buf, max, text, text_len, NULL, out_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != text + text_len) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

static struct trust_key *key_new(EVP_PKEY *pkey, bool is_private, const char *name)
{
	struct trust_key *key = xcalloc(1, sizeof(*key));
	key->pkey = pkey;
	key->is_private = is_private;
	key->name = xstrdup(name ? name : "key");
	return key;
}

void trust_key_free(struct trust_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key->name);
	free(key);
}

const char *trust_key_name(const struct trust_key *key)
{
	return key->name;
}

static char *bio_take(BIO *bio)
{
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);
	char *out = xstrndup(data, (size_t)len);
	BIO_free(bio);
	return out;
}

char *trust_key_public_pem(const struct trust_key *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_PUBKEY(bio, key->pkey)) {
		fprintf(stderr, "petra: out of memory (writing a public key)\n");
		abort();
	}
	return bio_take(bio);
}

/* Seal plaintext under password: the JSON document of go-securesystemslib's
 * encrypted.Encrypt (standard scrypt strength). */
static char *seal_json(const unsigned char *plaintext, size_t len, const char *password,
		       size_t *json_len, struct petra_error **err)
{
	unsigned char salt[SALT_SIZE], nonce[crypto_secretbox_NONCEBYTES];
	unsigned char box_key[crypto_secretbox_KEYBYTES];
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, strlen(password), salt,
						  sizeof(salt), SCRYPT_N_DEFAULT, 8, 1, box_key,
						  sizeof(box_key)) != 0) {
		petra_error_set(err, ENOMEM, "scrypt failed (out of memory?)");
		return NULL;
	}
	size_t sealed_len = len + crypto_secretbox_MACBYTES;
	_cleanup_free_ unsigned char *sealed = xmalloc(sealed_len);
	crypto_secretbox_easy(sealed, plaintext, len, nonce, box_key);
	sodium_memzero(box_key, sizeof(box_key));

	_cleanup_free_ char *salt_b64 = trust_base64_encode(salt, sizeof(salt));
	_cleanup_free_ char *nonce_b64 = trust_base64_encode(nonce, sizeof(nonce));
	_cleanup_free_ char *sealed_b64 = trust_base64_encode(sealed, sealed_len);
	_cleanup_json_ json_t *doc = json_pack(
	    "{s:{s:s,s:{s:I,s:i,s:i},s:s},s:{s:s,s:s},s:s}", "kdf", "name", "scrypt", "params", "N",
	    (json_int_t)SCRYPT_N_DEFAULT, "r", 8, "p", 1, "salt", salt_b64, "cipher", "name",
	    "nacl/secretbox", "nonce", nonce_b64, "ciphertext", sealed_b64);
	return json_dump_compact(doc, json_len);
}

static int b64_member(const json_t *obj, const char *key, const char *what, unsigned char **out,
		      size_t *out_len, struct petra_error **err)
{
	const char *text = json_get_string(obj, key);
	if (!text)
		return petra_error_set(err, EINVAL, "%s: \"%s\" is missing or not a string", what,
				       key);
	if (trust_base64_decode(text, strlen(text), out, out_len) < 0)
		return petra_error_set(err, EINVAL, "%s: \"%s\" is not base64", what, key);
	return 0;
}

/* Open the JSON document of encrypted.Encrypt with password. */
static int open_json(const char *json, size_t len, const char *password, const char *what,
		     unsigned char **plaintext, size_t *plaintext_len, struct petra_error **err)
{
	_cleanup_json_ json_t *doc = json_parse_buffer(json, len, what, err);
	if (!doc)
		return -1;
	json_t *kdf = json_object_get(doc, "kdf");
	json_t *cipher = json_object_get(doc, "cipher");
	json_t *params = kdf ? json_object_get(kdf, "params") : NULL;
	if (!json_is_object(kdf) || !json_is_object(cipher) || !json_is_object(params))
		return petra_error_set(err, EINVAL, "%s: not an encrypted key (kdf, cipher)", what);
	const char *kdf_name = json_get_string(kdf, "name");
	if (!kdf_name || strcmp(kdf_name, "scrypt"))
		return petra_error_set(err, EINVAL, "%s: unknown kdf \"%s\"", what,
				       kdf_name ? kdf_name : "");
	const char *cipher_name = json_get_string(cipher, "name");
	if (!cipher_name || strcmp(cipher_name, "nacl/secretbox"))
		return petra_error_set(err, EINVAL, "%s: unknown cipher \"%s\"", what,
				       cipher_name ? cipher_name : "");
	json_int_t n = json_get_int(params, "N", -1), r = json_get_int(params, "r", -1),
		   p = json_get_int(params, "p", -1);
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(scrypt_params); i++)
		known |= (uint64_t)n == scrypt_params[i].n && r == scrypt_params[i].r &&
			 p == scrypt_params[i].p;
	if (!known)
		return petra_error_set(err, EINVAL, "%s: unsupported scrypt parameters", what);
	_cleanup_free_ unsigned char *salt = NULL, *nonce = NULL, *sealed = NULL;
	size_t salt_len, nonce_len, sealed_len;
	if (b64_member(kdf, "salt", what, &salt, &salt_len, err) < 0 ||
	    b64_member(cipher, "nonce", what, &nonce, &nonce_len, err) < 0 ||
	    b64_member(doc, "ciphertext", what, &sealed, &sealed_len, err) < 0)
		return -1;
	if (nonce_len != crypto_secretbox_NONCEBYTES)
		return petra_error_set(err, EINVAL, "%s: the nonce is not %d bytes", what,
				       crypto_secretbox_NONCEBYTES);
	if (sealed_len < crypto_secretbox_MACBYTES)
		return petra_error_set(err, EINVAL, "%s: the ciphertext is too short", what);
	unsigned char box_key[crypto_secretbox_KEYBYTES];
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, strlen(password), salt,
						  salt_len, (uint64_t)n, (uint32_t)r, (uint32_t)p,
						  box_key, sizeof(box_key)) != 0)
		return petra_error_set(err, ENOMEM, "%s: scrypt failed (out of memory?)", what);
	*plaintext_len = sealed_len - crypto_secretbox_MACBYTES;
	*plaintext = xmalloc(*plaintext_len ? *plaintext_len : 1);
	int rc = crypto_secretbox_open_easy(*plaintext, sealed, sealed_len, nonce, box_key);
	sodium_memzero(box_key, sizeof(box_key));
	if (rc != 0) {
		free(*plaintext);
		*plaintext = NULL;
		return petra_error_set(
		    err, EACCES, "%s: decryption failed (wrong password or damaged key)", what);
	}
	return 0;
}

int trust_keygen(const char *password, char **private_pem, char **public_pem,
		 struct petra_error **err)
{
	if (trust_sodium_init(err) < 0)
		return -1;
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	if (!pkey)
		return petra_error_set(err, EIO, "could not generate an ECDSA P-256 key");
	_cleanup_(trust_key_freep) struct trust_key *key = key_new(pkey, true, "new key");
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
	unsigned char *der = NULL;
	int der_len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (der_len <= 0)
		return petra_error_set(err, EIO, "could not encode the private key (PKCS#8)");
	size_t json_len;
	char *json = seal_json(der, (size_t)der_len, password, &json_len, err);
	OPENSSL_clear_free(der, (size_t)der_len);
	if (!json)
		return -1;
	BIO *bio = BIO_new(BIO_s_mem());
	int ok = bio && PEM_write_bio(bio, TRUST_PRIVATE_KEY_PEM_TYPE, "",
				      (const unsigned char *)json, (long)json_len);
	free(json);
	if (!ok) {
		BIO_free(bio);
		return petra_error_set(err, EIO, "could not write the private key PEM");
	}
	*private_pem = bio_take(bio);
	*public_pem = trust_key_public_pem(key);
	return 0;
}

int trust_private_key_parse(const char *pem, size_t len, const char *password, const char *what,
			    struct trust_key **out, struct petra_error **err)
{
	if (trust_sodium_init(err) < 0)
		return -1;
	if (len > INT32_MAX)
		return petra_error_set(err, EFBIG, "%s: too large for a key", what);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long data_len = 0;
	int ok = bio && PEM_read_bio(bio, &name, &header, &data, &data_len);
	BIO_free(bio);
	if (!ok)
		return petra_error_set(err, EINVAL, "%s: not a PEM file", what);
	int rc = 0;
	unsigned char *der = NULL;
	size_t der_len = 0;
	if (strcmp(name, TRUST_PRIVATE_KEY_PEM_TYPE) &&
	    strcmp(name, TRUST_COSIGN_PRIVATE_KEY_PEM_TYPE))
		rc = petra_error_set(err, EINVAL, "%s: unsupported PEM type \"%s\"", what, name);
	else
		rc = open_json((const char *)data, (size_t)data_len, password, what, &der, &der_len,
			       err);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	if (rc < 0)
		return -1;
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)der_len);
	EVP_PKEY *pkey = p8 ? EVP_PKCS82PKEY(p8) : NULL;
	PKCS8_PRIV_KEY_INFO_free(p8);
	sodium_memzero(der, der_len);
	free(der);
	if (!pkey)
		return petra_error_set(err, EINVAL, "%s: the decrypted key is not PKCS#8", what);
	*out = key_new(pkey, true, what);
	return 0;
}

int trust_public_key_parse(const char *pem, size_t len, const char *what, struct trust_key **out,
			   struct petra_error **err)
{
	if (len > INT32_MAX)
		return petra_error_set(err, EFBIG, "%s: too large for a key", what);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!pkey)
		return petra_error_set(err, EINVAL, "%s: not a PEM public key", what);
	int type = EVP_PKEY_get_base_id(pkey);
	if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		return petra_error_set(err, EINVAL, "%s: only ECDSA and RSA keys are supported",
				       what);
	}
	*out = key_new(pkey, false, what);
	return 0;
}

int trust_public_key_load(const char *path, struct trust_key **key, struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &data, &len, err) < 0)
		return -1;
	return trust_public_key_parse(data, len, path, key, err);
}

int trust_sign(const struct trust_key *key, const void *data, size_t len, char **signature_b64,
	       struct petra_error **err)
{
	if (!key->is_private)
		return petra_error_set(err, EINVAL, "%s: a public key cannot sign", key->name);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = 0;
	unsigned char *sig = NULL;
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
		 EVP_DigestSign(ctx, NULL, &sig_len, data, len) == 1;
	if (ok) {
		sig = xmalloc(sig_len);
		ok = EVP_DigestSign(ctx, sig, &sig_len, data, len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		free(sig);
		return petra_error_set(err, EIO, "%s: signing failed", key->name);
	}
	*signature_b64 = trust_base64_encode(sig, sig_len);
	free(sig);
	return 0;
}

bool trust_verify(const struct trust_key *key, const void *data, size_t len,
		  const char *signature_b64)
{
	if (!signature_b64)
		return false;
	_cleanup_free_ unsigned char *sig = NULL;
	size_t sig_len;
	if (trust_base64_decode(signature_b64, strlen(signature_b64), &sig, &sig_len) < 0)
		return false;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
		  EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}
