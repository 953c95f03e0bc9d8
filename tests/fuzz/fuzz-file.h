/* SPDX-License-Identifier: Apache-2.0 */
/* For harnesses whose parser takes a path: the input written to one
 * temporary file per process (a real file, not /proc/self/fd/N: petra's
 * loaders refuse to follow symbolic links, magic ones included), removed
 * at exit. */
#ifndef PETRA_FUZZ_FILE_H
#define PETRA_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_file_path[64];

static void fuzz_file_remove(void)
{
	unlink(fuzz_file_path);
}

/* Write data to the process's file and return its path. */
static const char *fuzz_file_write(const char *name, const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0) {
		snprintf(fuzz_file_path, sizeof(fuzz_file_path), "/tmp/petra-fuzz-%s.XXXXXX", name);
		if ((fd = mkstemp(fuzz_file_path)) < 0)
			__builtin_trap();
		atexit(fuzz_file_remove);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		__builtin_trap();
	return fuzz_file_path;
}

#endif
