/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the structure-test file loader (YAML, schema version, fields and
 * their types) through a file, as structtest_load takes a path. */
#include "structtest/structtest.h"

#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file_write("structtest", data, size);
	json_t *doc = NULL;
	struct petra_error *err = NULL;
	if (structtest_load(path, &doc, &err) < 0) {
		if (!err || !err->message[0] || doc)
			__builtin_trap();
		petra_error_free(err);
	} else {
		if (!json_is_object(doc))
			__builtin_trap(); /* a loaded test file is a mapping */
		json_decref(doc);
	}
	return 0;
}
