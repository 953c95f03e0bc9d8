/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the WWW-Authenticate challenge parser a registry's 401 feeds. */
#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct registry_challenge c;
	struct petra_error *err = NULL;
	if (registry_challenge_parse(s, &c, &err) == 0) {
		/* An accepted challenge always has a scheme. */
		if (!c.scheme || !*c.scheme)
			__builtin_trap();
		registry_challenge_release(&c);
	} else {
		petra_error_free(err);
	}
	free(s);
	return 0;
}
