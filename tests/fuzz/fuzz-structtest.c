/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the structure-test file loader (YAML, schema version, fields and
 * their types) through a file, as structtest_load takes a path. */
#include "structtest/structtest.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

static char path[] = "/tmp/petra-fuzz-structtest.XXXXXX";

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A real file, not /proc/self/fd/N: the loader refuses to follow
	 * symbolic links, magic ones included. */
	static int fd = -1;
	if (fd < 0) {
		if ((fd = mkstemp(path)) < 0)
			__builtin_trap();
		atexit(remove_file);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		__builtin_trap();
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
