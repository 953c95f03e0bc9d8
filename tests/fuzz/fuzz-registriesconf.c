/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the registries.conf (TOML subset) reader. */
#include "registry/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry_conf conf;
	struct petra_error *err = NULL;
	if (registry_conf_parse((const char *)data, size, &conf, &err) == 0) {
		/* Every entry has a prefix, every mirror a location. */
		for (size_t i = 0; i < conf.n_entries; i++) {
			if (!conf.entries[i].prefix)
				__builtin_trap();
			for (size_t m = 0; m < conf.entries[i].mirrors.n; m++)
				if (!conf.entries[i].mirrors.v[m][0])
					__builtin_trap();
		}
		registry_conf_release(&conf);
	} else {
		petra_error_free(err);
	}
	return 0;
}
