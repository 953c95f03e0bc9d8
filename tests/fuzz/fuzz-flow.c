/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the flow reader (Habitus build.yml: YAML, versions, keys, the
 * dependency graph) through a file, as flow_check takes a path. */
#include "flow/flow.h"

#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file_write("flow", data, size);
	struct petra_error *err = NULL;
	if (flow_check(path, &err) < 0) {
		if (!err || !err->message[0])
			__builtin_trap(); /* a refused flow says why */
		petra_error_free(err);
	}
	return 0;
}
