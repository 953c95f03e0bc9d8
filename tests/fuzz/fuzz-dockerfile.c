/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the Dockerfile parser (raw and checked), the dump, the JSON form
 * and a scope walk over what parsed. */
#include "dockerfile/dockerfile.h"

#include <string.h>

static void check_tree(const struct dockerfile *df, size_t size)
{
	for (size_t i = 0; i < df->n_instructions; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		if (in->start > in->end || in->end > size || in->start_line > in->end_line ||
		    in->end_line > df->n_lines)
			__builtin_trap();
		for (size_t k = 0; k < in->n_args; k++)
			if (in->args[k].start > in->args[k].end || in->args[k].end > size)
				__builtin_trap();
		for (size_t k = 0; k < in->n_flags; k++)
			if (in->flags[k].end > size)
				__builtin_trap();
		unsigned line, col;
		dockerfile_position(df, in->start, &line, &col);
		/* The keyword is on the first line, or later when lines holding
		 * only an escape character come first. */
		if (line < in->start_line || line > in->end_line)
			__builtin_trap();
		for (size_t k = 0; k < in->n_args; k++)
			(void)dockerfile_find_heredoc(in, in->args[k].text);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_error *err = NULL;
	struct dockerfile *raw = NULL, *checked = NULL;
	struct dockerfile_parse_opts opts = {.flags = DOCKERFILE_PARSE_RAW};
	int r_raw = dockerfile_parse((const char *)data, size, &opts, &raw, &err);
	petra_error_free(err);
	err = NULL;
	int r_checked = dockerfile_parse((const char *)data, size, NULL, &checked, &err);
	petra_error_free(err);
	err = NULL;
	/* The checks only ever reject more: what passes them parses raw, to
	 * the same tree. */
	if (r_checked == 0 && r_raw != 0)
		__builtin_trap();
	if (r_raw == 0) {
		check_tree(raw, size);
		struct strbuf a = STRBUF_INIT;
		dockerfile_dump(raw, &a);
		if (r_checked == 0) {
			struct strbuf b = STRBUF_INIT;
			dockerfile_dump(checked, &b);
			if (a.len != b.len || memcmp(a.buf, b.buf, a.len))
				__builtin_trap();
			strbuf_release(&b);
			json_t *j = dockerfile_to_json(checked);
			char *s = json_dump_compact(j, NULL);
			if (!s)
				__builtin_trap();
			free(s);
			json_decref(j);

			struct dockerfile_scope scope;
			dockerfile_scope_init(&scope, checked->escape, NULL);
			for (size_t i = 0; i < checked->n_instructions; i++) {
				struct dockerfile_expander ex;
				const struct dockerfile_instruction *in = &checked->instructions[i];
				dockerfile_scope_expander(&scope, in->kind, &ex);
				for (size_t k = 0; k < in->n_args && k < 4; k++) {
					struct strvec words = STRVEC_INIT;
					if (dockerfile_expand_words(&ex, in->args[k].text, &words,
								    &err) < 0) {
						petra_error_free(err);
						err = NULL;
					}
					strvec_clear(&words);
				}
				if (dockerfile_scope_apply(&scope, in, &err) < 0) {
					petra_error_free(err);
					err = NULL;
				}
			}
			dockerfile_scope_release(&scope);
		}
		strbuf_release(&a);
	}
	dockerfile_free(raw);
	dockerfile_free(checked);
	return 0;
}
