/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/dockerfile: UTF-8 and Go-compatible character classes, and
 * the pieces the parser's files share (everything a parsed file owns lives
 * in one base arena). */
#ifndef PETRA_DOCKERFILE_INTERNAL_H
#define PETRA_DOCKERFILE_INTERNAL_H

#include "dockerfile.h"

#include <string.h>

struct dockerfile_private {
	struct arena arena;
	size_t *line_starts; /* byte offset of each line's first byte */
};

/* ---- UTF-8 and Go's character classes ---------------------------------- */

#define RUNE_ERROR 0xFFFDu

/* Decode one rune like Go's utf8.DecodeRune: invalid or truncated input
 * gives RUNE_ERROR with width 1. n > 0. */
uint32_t dockerfile_utf8_decode(const unsigned char *s, size_t n, size_t *width);
/* Append the UTF-8 encoding of r. */
void dockerfile_utf8_append(struct strbuf *sb, uint32_t r);
/* Go's unicode.IsSpace. */
bool dockerfile_go_rune_is_space(uint32_t r);
/* Go's unicode.IsSpace for the rune at s (n > 0): its width, 0 if not a space. */
size_t dockerfile_go_space_width(const char *s, size_t n);
/* Go's strings.TrimSpace / TrimLeftFunc(unicode.IsSpace) on [*start, *end). */
void dockerfile_go_trim_space(const char *s, size_t *start, size_t *end);
size_t dockerfile_go_skip_space(const char *s, size_t start, size_t end);
/* The whitespace of BuildKit's `[\t\v\f\r ]+` splits. */
static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}
/* Go's strconv.IsPrint, unicode.IsLetter, unicode.IsDigit (printable.c,
 * generated). */
bool dockerfile_unicode_is_print(uint32_t r);
bool dockerfile_unicode_is_letter(uint32_t r);
bool dockerfile_unicode_is_digit(uint32_t r);

/* ---- the JSON array of exec form --------------------------------------- */

struct word_vec {
	struct dockerfile_word *v;
	size_t n, alloc;
};
void dockerfile_word_vec_push(struct word_vec *wv, struct arena *a, const char *text, size_t len,
			      size_t start, size_t end);

enum json_array_result {
	JSON_ARRAY_NOT_JSON = 0, /* not a valid JSON array: shell form */
	JSON_ARRAY_OK = 1,
	JSON_ARRAY_NOT_STRINGS = -1, /* valid JSON with other values: an error */
};
/* Decode s[start, end) as Go's json.Unmarshal into []any would, pushing the
 * strings with logical offsets of their literals. */
enum json_array_result dockerfile_json_array_parse(const char *s, size_t start, size_t end,
						   struct word_vec *out, struct arena *a);

/* ---- checks (check.c) -------------------------------------------------- */

/* BuildKit's instruction-level checks for one instruction; `line` for the
 * message is the caller's. Returns < 0 with a reason (no location). */
int dockerfile_check_instruction(const struct dockerfile_instruction *in, bool in_stage,
				 struct petra_error **err);

#endif
