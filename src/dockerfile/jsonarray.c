/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The exec form: a JSON array of strings, decoded the way Go's
 * json.Unmarshal into []any decodes it, because BuildKit's choice between
 * exec form, shell form and an error depends on exactly that:
 *  - text that is not valid JSON (syntax, nesting deeper than 10000, a
 *    number too big for a float64) falls back to shell form;
 *  - valid JSON holding anything but strings is an error;
 *  - strings: invalid UTF-8 and lone surrogates become U+FFFD.
 * Hand-written rather than jansson because jansson rejects invalid UTF-8
 * and large integers where Go accepts them, which would flip the form.
 */
#include "internal.h"

#include <math.h>

#define JSON_MAX_DEPTH 10000

struct json_cursor {
	const char *s;
	size_t i, end;
	bool overflow; /* a number Go cannot hold: Unmarshal fails */
};

static void jscan_ws(struct json_cursor *c)
{
	while (c->i < c->end) {
		char ch = c->s[c->i];
		if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
			break;
		c->i++;
	}
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool jscan_hex4(struct json_cursor *c, uint32_t *out)
{
	if (c->end - c->i < 4)
		return false;
	uint32_t v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hex_value(c->s[c->i + k]);
		if (h < 0)
			return false;
		v = (v << 4) | (uint32_t)h;
	}
	c->i += 4;
	*out = v;
	return true;
}

/* At '"': scan the string, decoding into sb when it is not NULL. */
static bool jscan_string(struct json_cursor *c, struct strbuf *sb)
{
	c->i++;
	while (c->i < c->end) {
		unsigned char ch = (unsigned char)c->s[c->i];
		if (ch == '"') {
			c->i++;
			return true;
		}
		if (ch < 0x20)
			return false;
		if (ch != '\\') {
			if (ch < 0x80) {
				if (sb)
					strbuf_addch(sb, (char)ch);
				c->i++;
				continue;
			}
			size_t w;
			uint32_t r = dockerfile_utf8_decode((const unsigned char *)c->s + c->i,
							    c->end - c->i, &w);
			if (sb) {
				if (r == RUNE_ERROR && w == 1)
					dockerfile_utf8_append(sb, RUNE_ERROR);
				else
					strbuf_add(sb, c->s + c->i, w);
			}
			c->i += w;
			continue;
		}
		if (++c->i >= c->end)
			return false;
		char e = c->s[c->i++];
		char simple = 0;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			simple = e;
			break;
		case 'b':
			simple = '\b';
			break;
		case 'f':
			simple = '\f';
			break;
		case 'n':
			simple = '\n';
			break;
		case 'r':
			simple = '\r';
			break;
		case 't':
			simple = '\t';
			break;
		case 'u': {
			uint32_t r;
			if (!jscan_hex4(c, &r))
				return false;
			if (r >= 0xD800 && r < 0xDC00) {
				/* A pair makes one rune; anything else is U+FFFD,
				 * and the next escape is read on its own. */
				uint32_t lo;
				size_t save = c->i;
				if (c->end - c->i >= 6 && c->s[c->i] == '\\' &&
				    c->s[c->i + 1] == 'u') {
					c->i += 2;
					if (jscan_hex4(c, &lo) && lo >= 0xDC00 && lo < 0xE000)
						r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
					else {
						c->i = save;
						r = RUNE_ERROR;
					}
				} else {
					r = RUNE_ERROR;
				}
			} else if (r >= 0xDC00 && r < 0xE000) {
				r = RUNE_ERROR;
			}
			if (sb)
				dockerfile_utf8_append(sb, r);
			continue;
		}
		default:
			return false;
		}
		if (sb)
			strbuf_addch(sb, simple);
	}
	return false;
}

static bool jscan_digits(struct json_cursor *c)
{
	size_t start = c->i;
	while (c->i < c->end && c->s[c->i] >= '0' && c->s[c->i] <= '9')
		c->i++;
	return c->i > start;
}

static bool jscan_number(struct json_cursor *c)
{
	size_t start = c->i;
	if (c->s[c->i] == '-')
		c->i++;
	if (c->i >= c->end)
		return false;
	if (c->s[c->i] == '0')
		c->i++;
	else if (!jscan_digits(c))
		return false;
	if (c->i < c->end && c->s[c->i] == '.') {
		c->i++;
		if (!jscan_digits(c))
			return false;
	}
	if (c->i < c->end && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
		c->i++;
		if (c->i < c->end && (c->s[c->i] == '+' || c->s[c->i] == '-'))
			c->i++;
		if (!jscan_digits(c))
			return false;
	}
	/* Go converts every number to a float64 and fails on overflow. */
	char buf[64];
	size_t n = c->i - start;
	if (n >= sizeof(buf)) {
		char *tmp = xstrndup(c->s + start, n);
		if (isinf(strtod(tmp, NULL)))
			c->overflow = true;
		free(tmp);
	} else {
		memcpy(buf, c->s + start, n);
		buf[n] = '\0';
		if (isinf(strtod(buf, NULL)))
			c->overflow = true;
	}
	return true;
}

static bool jscan_literal(struct json_cursor *c, const char *word)
{
	size_t n = strlen(word);
	if (c->end - c->i < n || memcmp(c->s + c->i, word, n) != 0)
		return false;
	c->i += n;
	return true;
}

/* An object member's key and the colon after it. */
static bool jscan_key(struct json_cursor *c)
{
	jscan_ws(c);
	if (c->i >= c->end || c->s[c->i] != '"' || !jscan_string(c, NULL))
		return false;
	jscan_ws(c);
	if (c->i >= c->end || c->s[c->i] != ':')
		return false;
	c->i++;
	return true;
}

/* Any JSON value, nesting tracked on an explicit stack so deep input
 * cannot exhaust the C stack. depth is that of the enclosing array. */
static bool jscan_value(struct json_cursor *c, int depth)
{
	char *stack = NULL; /* '[' or '{' per open container */
	size_t n = 0, alloc = 0;
	bool ok = false;
	for (;;) {
		jscan_ws(c);
		if (c->i >= c->end)
			goto out;
		char ch = c->s[c->i];
		bool scalar = true;
		if (ch == '"') {
			if (!jscan_string(c, NULL))
				goto out;
		} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
			if (!jscan_number(c))
				goto out;
		} else if (ch == 't' || ch == 'f' || ch == 'n') {
			if (!jscan_literal(c, ch == 't' ? "true" : ch == 'f' ? "false" : "null"))
				goto out;
		} else if (ch == '[' || ch == '{') {
			if (depth + (int)n + 1 > JSON_MAX_DEPTH)
				goto out;
			xgrow((void **)&stack, &alloc, n + 1, 1);
			stack[n++] = ch;
			c->i++;
			jscan_ws(c);
			char close = ch == '[' ? ']' : '}';
			if (c->i < c->end && c->s[c->i] == close) {
				c->i++;
				n--;
			} else {
				scalar = false;
				if (ch == '{' && !jscan_key(c))
					goto out;
			}
		} else {
			goto out;
		}
		if (!scalar)
			continue;
		/* A value is complete: close containers or move to the next. */
		for (;;) {
			if (n == 0) {
				ok = true;
				goto out;
			}
			jscan_ws(c);
			if (c->i >= c->end)
				goto out;
			char open = stack[n - 1];
			ch = c->s[c->i];
			if (ch == ',') {
				c->i++;
				if (open == '{' && !jscan_key(c))
					goto out;
				break;
			}
			if ((open == '[' && ch == ']') || (open == '{' && ch == '}')) {
				c->i++;
				n--;
				continue;
			}
			goto out;
		}
	}
out:
	free(stack);
	return ok;
}

enum json_array_result dockerfile_json_array_parse(const char *s, size_t start, size_t end,
						   struct word_vec *out, struct arena *a)
{
	struct json_cursor c = {.s = s, .i = start, .end = end};
	start = dockerfile_go_skip_space(s, start, end);
	c.i = start;
	if (c.i >= end || s[c.i] != '[')
		return JSON_ARRAY_NOT_JSON;
	c.i++;
	size_t first = out->n;
	bool strings_only = true;
	struct strbuf sb = STRBUF_INIT;
	jscan_ws(&c);
	if (c.i < end && s[c.i] == ']') {
		c.i++;
	} else {
		for (;;) {
			jscan_ws(&c);
			if (c.i >= end)
				goto invalid;
			if (s[c.i] == '"') {
				size_t lit = c.i;
				strbuf_reset(&sb);
				if (!jscan_string(&c, &sb))
					goto invalid;
				dockerfile_word_vec_push(out, a, strbuf_str(&sb), sb.len, lit, c.i);
			} else {
				strings_only = false;
				if (!jscan_value(&c, 1))
					goto invalid;
			}
			jscan_ws(&c);
			if (c.i >= end)
				goto invalid;
			if (s[c.i] == ',') {
				c.i++;
				continue;
			}
			if (s[c.i] == ']') {
				c.i++;
				break;
			}
			goto invalid;
		}
	}
	jscan_ws(&c);
	if (c.i != end || c.overflow)
		goto invalid;
	strbuf_release(&sb);
	if (!strings_only) {
		out->n = first;
		return JSON_ARRAY_NOT_STRINGS;
	}
	return JSON_ARRAY_OK;
invalid:
	strbuf_release(&sb);
	out->n = first;
	return JSON_ARRAY_NOT_JSON;
}
