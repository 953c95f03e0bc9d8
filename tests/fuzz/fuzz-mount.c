/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the RUN --mount value parser and the writable-paths label parser:
 * both read text a Dockerfile or an image brings. */
#include "dockerfile/dockerfile.h"
#include "runtime/runtime.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct dockerfile_mount m;
	struct petra_error *err = NULL;
	if (dockerfile_mount_parse(text, &m, &err) == 0) {
		/* what parses has one of the known types */
		if (m.type > DOCKERFILE_MOUNT_SSH)
			__builtin_trap();
		dockerfile_mount_release(&m);
	} else {
		if (!err || !err->message[0])
			__builtin_trap();
		petra_error_free(err);
		err = NULL;
	}

	struct image_writable_path *paths = NULL;
	size_t n = 0;
	if (image_writable_paths_parse(text, &paths, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			if (paths[i].path[0] != '/')
				__builtin_trap(); /* every writable path is absolute */
		/* what is formatted parses again to the same paths */
		char *again = image_writable_paths_format(paths, n);
		struct image_writable_path *paths2 = NULL;
		size_t n2 = 0;
		if (image_writable_paths_parse(again, &paths2, &n2, &err) < 0 || n2 != n)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (strcmp(paths[i].path, paths2[i].path) ||
			    paths[i].size != paths2[i].size || paths[i].mode != paths2[i].mode ||
			    paths[i].uid != paths2[i].uid)
				__builtin_trap();
		image_writable_paths_free(paths2, n2);
		free(again);
		image_writable_paths_free(paths, n);
	} else {
		if (!err || !err->message[0])
			__builtin_trap();
		petra_error_free(err);
	}
	free(text);
	return 0;
}
