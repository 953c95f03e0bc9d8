/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the key readers: an encrypted cosign private key (PEM, JSON,
 * base64, scrypt, secretbox, PKCS#8) and a PEM public key. Inputs that
 * reach scrypt cost its full price (64 MiB, ~0.1 s): that is the format. */
#include "trust/trust.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_error *err = NULL;
	struct trust_key *key = NULL;
	if (trust_private_key_parse((const char *)data, size, "hello", "fuzz.key", &key, &err) ==
	    0) {
		char *sig = NULL;
		if (trust_sign(key, data, size, &sig, &err) == 0) {
			if (!trust_verify(key, data, size, sig))
				__builtin_trap(); /* a key verifies its own signature */
			free(sig);
		} else {
			petra_error_free(err);
		}
		trust_key_free(key);
	} else {
		if (!err || strncmp(err->message, "fuzz.key", 8))
			__builtin_trap(); /* every refusal names the file */
		petra_error_free(err);
	}
	err = NULL;
	if (trust_public_key_parse((const char *)data, size, "fuzz.pub", &key, &err) == 0)
		trust_key_free(key);
	else
		petra_error_free(err);
	return 0;
}
