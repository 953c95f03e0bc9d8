/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz word processing: the first byte picks the escape character and the
 * flags, the rest is the word. */
#include "dockerfile/dockerfile.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct dockerfile_vars *vars = dockerfile_vars_new();
	dockerfile_vars_set(vars, "A", "apple");
	dockerfile_vars_set(vars, "E", "");
	dockerfile_vars_set(vars, "U", NULL);
	dockerfile_vars_set(vars, "S", "a b\tc\n d");
	dockerfile_vars_set(vars, "P", "/usr/local/bin:/usr/bin:/bin");
	struct dockerfile_vars *fallback = dockerfile_vars_new();
	dockerfile_vars_set(fallback, "F", "from-args");
	struct strset unset = STRSET_INIT;
	struct dockerfile_expander ex = {
	    .escape = (data[0] & 0x80) ? '`' : '\\',
	    .flags = data[0] & 0x0f,
	    .vars = vars,
	    .fallback = fallback,
	    .unset = &unset,
	};
	char *word = xstrndup((const char *)data + 1, size - 1);
	struct petra_error *err = NULL;
	char *out = NULL;
	int r1 = dockerfile_expand_word(&ex, word, &out, &err);
	petra_error_free(err);
	err = NULL;
	struct strvec words = STRVEC_INIT;
	int r2 = dockerfile_expand_words(&ex, word, &words, &err);
	petra_error_free(err);
	/* One lexer: both succeed or both fail. */
	if ((r1 == 0) != (r2 == 0))
		__builtin_trap();
	strvec_clear(&words);
	free(out);
	free(word);
	strset_clear(&unset);
	dockerfile_vars_free(vars);
	dockerfile_vars_free(fallback);
	return 0;
}
