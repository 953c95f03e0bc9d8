/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the registries.d reader and the lookaside scope choice over a few
 * references. */
#include "trust/trust.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_error *err = NULL;
	struct trust_registries_d *d = trust_registries_d_new();
	if (trust_registries_d_parse(d, (const char *)data, size, "fuzz.yaml", &err) < 0) {
		if (!err || strncmp(err->message, "fuzz.yaml", 9))
			__builtin_trap(); /* every refusal names the file */
		petra_error_free(err);
		trust_registries_d_free(d);
		return 0;
	}
	static const char *const refs[] = {
	    "busybox:latest",
	    ("registry.example.com:5000/a/b/c@sha256:"
	     "0000000000000000000000000000000000000000000000000000000000000000"),
	    "reg.example/team/app:1",
	};
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		for (int write = 0; write < 2; write++) {
			char *url = trust_lookaside_url(d, refs[i], write);
			/* A base always ends with the repository's path. */
			if (url && !strstr(url, i == 0 ? "/library/busybox" : "/"))
				__builtin_trap();
			free(url);
		}
	}
	trust_registries_d_free(d);
	return 0;
}
