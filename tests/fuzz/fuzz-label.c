/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the writable-paths label codec (an image's label: any image can
 * carry any value): parse, then format and parse again, which must give
 * the same entries. */
#include "image/image.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *label = strndup((const char *)data, size); /* a label is a C string */
	struct image_writable_path *paths = NULL, *again = NULL;
	size_t n = 0, n_again = 0;
	struct petra_error *err = NULL;
	if (image_writable_paths_parse(label, &paths, &n, &err) < 0) {
		if (!err || !err->message[0])
			__builtin_trap(); /* a refused label says why */
		petra_error_free(err);
		free(label);
		return 0;
	}
	char *formatted = image_writable_paths_format(paths, n);
	if (image_writable_paths_parse(formatted, &again, &n_again, &err) < 0 || n_again != n)
		__builtin_trap(); /* what petra writes, petra reads back */
	for (size_t i = 0; i < n; i++)
		if (strcmp(paths[i].path, again[i].path) || paths[i].size != again[i].size ||
		    paths[i].mode != again[i].mode || paths[i].copy != again[i].copy)
			__builtin_trap();
	image_writable_paths_free(paths, n);
	image_writable_paths_free(again, n_again);
	free(formatted);
	free(label);
	return 0;
}
