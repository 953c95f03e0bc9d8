/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the flow reader (Habitus build.yml: YAML, versions, keys, the
 * dependency graph) through a file, as flow_check takes a path. */
#include "flow/flow.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

static char path[] = "/tmp/petra-fuzz-flow.XXXXXX";

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
	struct petra_error *err = NULL;
	if (flow_check(path, &err) < 0) {
		if (!err || !err->message[0])
			__builtin_trap(); /* a refused flow says why */
		petra_error_free(err);
	}
	return 0;
}
