/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the .dockerignore parser and, on what parses, the matcher over a
 * few paths of a context. */
#include "context/context.h"

#include <string.h>

static const char *const paths[] = {
    "",
    "Dockerfile",
    ".git",
    ".git/config",
    "src/main.c",
    "src/a/b/c.txt",
    "node_modules/x/y.js",
    "docs/README.md",
    "a b/c[1]",
    "\xff\xfe/x",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct context_ignore *ig = NULL;
	struct petra_error *err = NULL;
	if (context_ignore_parse((const char *)data, size, "fuzz/.dockerignore", &ig, &err) < 0) {
		/* every error names the file */
		if (!err || !strstr(err->message, "fuzz/.dockerignore"))
			__builtin_trap();
		petra_error_free(err);
		return 0;
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		bool excluded = context_ignore_match(ig, paths[i]);
		if (!paths[i][0] && excluded)
			__builtin_trap(); /* the root is never excluded */
		if (excluded)
			(void)context_ignore_may_include_below(ig, paths[i]);
	}
	context_ignore_free(ig);
	return 0;
}
