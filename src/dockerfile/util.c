/* SPDX-License-Identifier: Apache-2.0 */
/* The character classes the parser shares with the dump and the
 * expander. Go's definitions are followed byte for byte because
 * BuildKit's behaviour (what is a space, what is printable) comes from
 * them. */
#include "internal.h"

void dockerfile_word_vec_push(struct word_vec *wv, struct arena *a, const char *text, size_t len,
			      size_t start, size_t end)
{
	xgrow((void **)&wv->v, &wv->alloc, wv->n + 1, sizeof(*wv->v));
	wv->v[wv->n++] = (struct dockerfile_word){
	    .text = arena_strndup(a, text, len), .len = len, .start = start, .end = end};
}

/* ---- UTF-8 ---- */

uint32_t dockerfile_utf8_decode(const unsigned char *s, size_t n, size_t *width)
{
	unsigned char c = s[0];
	*width = 1;
	if (c < 0x80)
		return c;
	uint32_t r;
	size_t need;
	uint32_t min;
	if (c >= 0xC2 && c <= 0xDF) {
		r = c & 0x1F;
		need = 1;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		r = c & 0x0F;
		need = 2;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		r = c & 0x07;
		need = 3;
		min = 0x10000;
	} else {
		return RUNE_ERROR;
	}
	if (n < need + 1)
		return RUNE_ERROR;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return RUNE_ERROR;
		r = (r << 6) | (s[i] & 0x3F);
	}
	if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		return RUNE_ERROR;
	*width = need + 1;
	return r;
}

void dockerfile_utf8_append(struct strbuf *sb, uint32_t r)
{
	char b[4];
	size_t n;
	if (r < 0x80) {
		b[0] = (char)r;
		n = 1;
	} else if (r < 0x800) {
		b[0] = (char)(0xC0 | (r >> 6));
		b[1] = (char)(0x80 | (r & 0x3F));
		n = 2;
	} else if (r < 0x10000) {
		b[0] = (char)(0xE0 | (r >> 12));
		b[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		b[2] = (char)(0x80 | (r & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (r >> 18));
		b[1] = (char)(0x80 | ((r >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((r >> 6) & 0x3F));
		b[3] = (char)(0x80 | (r & 0x3F));
		n = 4;
	}
	strbuf_add(sb, b, n);
}

size_t dockerfile_go_space_width(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	if (c < 0x80)
		return dockerfile_go_rune_is_space(c) ? 1 : 0;
	size_t w;
	uint32_t r = dockerfile_utf8_decode((const unsigned char *)s, n, &w);
	return dockerfile_go_rune_is_space(r) ? w : 0;
}

bool dockerfile_go_rune_is_space(uint32_t r)
{
	if (r < 0x80)
		return r == ' ' || (r >= '\t' && r <= '\r');
	switch (r) {
	case 0x85:
	case 0xA0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202F:
	case 0x205F:
	case 0x3000:
		return true;
	default:
		return r >= 0x2000 && r <= 0x200A;
	}
}

size_t dockerfile_go_skip_space(const char *s, size_t start, size_t end)
{
	while (start < end) {
		size_t w = dockerfile_go_space_width(s + start, end - start);
		if (!w)
			break;
		start += w;
	}
	return start;
}

void dockerfile_go_trim_space(const char *s, size_t *start, size_t *end)
{
	size_t i = dockerfile_go_skip_space(s, *start, *end);
	*start = i;
	/* Scanning forward keeps multi-byte spaces whole; the trimmed end is
	 * the end of the last non-space rune. */
	size_t last = i;
	while (i < *end) {
		size_t w = dockerfile_go_space_width(s + i, *end - i);
		if (w) {
			i += w;
			continue;
		}
		size_t rw;
		dockerfile_utf8_decode((const unsigned char *)s + i, *end - i, &rw);
		i += rw;
		last = i;
	}
	*end = last;
}
