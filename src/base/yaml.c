/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YAML documents: libfyaml's event parser builds a jansson tree, and a
 * table beside it remembers where every key, item and node was written,
 * so a module that validates its part of a file can name the line.
 *
 * The event parser rather than libfyaml's document API: its events carry
 * positions for mappings and sequences too, and building the tree
 * ourselves lets us refuse aliases (no "billion laughs" expansion) and
 * duplicate keys with our own messages.
 */
#include "base.h"

#include <ctype.h>
#include <libfyaml.h>
#include <string.h>

#define YAML_MAX_SIZE  (1u << 20) /* policy and config files are small */
#define YAML_MAX_DEPTH 64
/* The flow nesting ("[[[[") the text may have before libfyaml reads it:
 * libfyaml keeps state for every open flow level before it emits a
 * single event (200 KB of "[" cost 62 MB), so the tree builder's
 * YAML_MAX_DEPTH check comes too late. A coarse bound, well above the
 * exact one, as the scan below is not a full YAML lexer. */
#define YAML_MAX_FLOW_SCAN_DEPTH (16 * YAML_MAX_DEPTH)

/* A position: of a mapping's key (parent, key), of a sequence's item
 * (parent, NULL, index), or of a node itself (node, NULL, NODE). */
struct yaml_pos {
	const json_t *parent;
	char *key;
	size_t index;
	unsigned line, col;
};

struct petra_yaml {
	char *name;
	json_t *root;
	struct yaml_pos *pos; /* open addressing; parent NULL = free */
	size_t n_pos, cap_pos;
};

static uint64_t pos_hash(const json_t *parent, const char *key, size_t index)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ull;
	h ^= key ? str_hash(key) : index * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

static bool pos_equal(const struct yaml_pos *p, const json_t *parent, const char *key, size_t index)
{
	if (p->parent != parent)
		return false;
	if (key || p->key)
		return key && p->key && !strcmp(key, p->key);
	return p->index == index;
}

static void pos_insert_slot(struct yaml_pos *table, size_t cap, struct yaml_pos p)
{
	size_t i = pos_hash(p.parent, p.key, p.index) & (cap - 1);
	while (table[i].parent)
		i = (i + 1) & (cap - 1);
	table[i] = p;
}

static void pos_add(struct petra_yaml *y, const json_t *parent, const char *key, size_t index,
		    const struct fy_mark *m)
{
	if ((y->n_pos + 1) * 2 > y->cap_pos) {
		size_t cap = y->cap_pos ? y->cap_pos * 2 : 64;
		struct yaml_pos *table = xcalloc(cap, sizeof(*table));
		for (size_t i = 0; i < y->cap_pos; i++)
			if (y->pos[i].parent)
				pos_insert_slot(table, cap, y->pos[i]);
		free(y->pos);
		y->pos = table;
		y->cap_pos = cap;
	}
	struct yaml_pos p = {.parent = parent,
			     .key = key ? xstrdup(key) : NULL,
			     .index = index,
			     .line = m ? (unsigned)m->line + 1 : 0,
			     .col = m ? (unsigned)m->column + 1 : 0};
	pos_insert_slot(y->pos, y->cap_pos, p);
	y->n_pos++;
}

void petra_yaml_position(const struct petra_yaml *y, const json_t *parent, const char *key,
			 size_t index, unsigned *line, unsigned *col)
{
	*line = 0;
	if (col)
		*col = 0;
	if (!y || !parent || !y->cap_pos)
		return;
	size_t i = pos_hash(parent, key, index) & (y->cap_pos - 1);
	while (y->pos[i].parent) {
		if (pos_equal(&y->pos[i], parent, key, index)) {
			*line = y->pos[i].line;
			if (col)
				*col = y->pos[i].col;
			return;
		}
		i = (i + 1) & (y->cap_pos - 1);
	}
}

const char *petra_yaml_name(const struct petra_yaml *y)
{
	return y->name;
}

const json_t *petra_yaml_root(const struct petra_yaml *y)
{
	return y->root;
}

void petra_yaml_free(struct petra_yaml *y)
{
	if (!y)
		return;
	for (size_t i = 0; i < y->cap_pos; i++)
		free(y->pos[i].key);
	free(y->pos);
	json_decref(y->root);
	free(y->name);
	free(y);
}

int petra_yaml_error(const struct petra_yaml *y, const json_t *parent, const char *key,
		     size_t index, struct petra_error **err, const char *fmt, ...)
{
	unsigned line, col;
	petra_yaml_position(y, parent, key, index, &line, &col);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, y->name);
	if (line)
		strbuf_addf(&sb, ":%u:%u", line, col);
	strbuf_addstr(&sb, ": ");
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return petra_error_set(err, EINVAL, "%s", sb.buf);
}

int petra_yaml_check_keys(const struct petra_yaml *y, const json_t *map, const char *what,
			  const char *const *allowed, struct petra_error **err)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)map, key, value)
	{
		bool known = false;
		for (size_t i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				known = true;
		if (known)
			continue;
		_cleanup_strbuf_ struct strbuf list = STRBUF_INIT;
		for (size_t i = 0; allowed[i]; i++)
			strbuf_addf(&list, "%s%s", i ? ", " : "", allowed[i]);
		_cleanup_free_ char *q = str_quote(key);
		return petra_yaml_error(y, map, key, 0, err, "%s: unknown key %s (known: %s)", what,
					q, list.buf);
	}
	return 0;
}

const char *petra_yaml_type_name(const json_t *node)
{
	switch (json_typeof(node)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a sequence";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

int petra_yaml_member(const struct petra_yaml *y, const json_t *map, const char *key,
		      json_type type, const char *what, const json_t **out,
		      struct petra_error **err)
{
	const json_t *v = json_object_get(map, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_typeof(v) != type) {
		json_t *want = type == JSON_ARRAY ? json_array() : json_object();
		_cleanup_free_ char *name = xstrdup(petra_yaml_type_name(want));
		json_decref(want);
		return petra_yaml_error(y, map, key, 0, err, "%s%s%s: must be %s, not %s",
					what ? what : "", what ? "." : "", key, name,
					petra_yaml_type_name(v));
	}
	*out = v;
	return 0;
}

/* ---- building the tree --------------------------------------------------- */

/* YAML 1.2 core schema for plain scalars: null, booleans, numbers; the
 * rest (and every quoted scalar) is a string. */
static json_t *plain_scalar(const char *s, size_t len)
{
	if (len == 0 || (len == 1 && s[0] == '~'))
		return json_null();
	char buf[64];
	if (len >= sizeof(buf) || memchr(s, '\0', len))
		return json_stringn(s, len);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!strcmp(buf, "null") || !strcmp(buf, "Null") || !strcmp(buf, "NULL"))
		return json_null();
	if (!strcmp(buf, "true") || !strcmp(buf, "True") || !strcmp(buf, "TRUE"))
		return json_true();
	if (!strcmp(buf, "false") || !strcmp(buf, "False") || !strcmp(buf, "FALSE"))
		return json_false();
	char *end;
	errno = 0;
	if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'o') && buf[2]) {
		long long v = strtoll(buf + 2, &end, buf[1] == 'x' ? 16 : 8);
		if (!*end && !errno && isxdigit((unsigned char)buf[2]))
			return json_integer(v);
		return json_stringn(s, len);
	}
	size_t i = (buf[0] == '-' || buf[0] == '+') ? 1 : 0;
	bool digits = buf[i] != '\0', dot = false, exp = false;
	for (; buf[i] && digits; i++) {
		char c = buf[i];
		if (c >= '0' && c <= '9')
			continue;
		if (c == '.' && !dot && !exp)
			dot = true;
		else if ((c == 'e' || c == 'E') && !exp && i > 0 && buf[i + 1]) {
			exp = true;
			if (buf[i + 1] == '-' || buf[i + 1] == '+')
				i++;
		} else
			digits = false;
	}
	if (digits && strcmp(buf, ".") && strcmp(buf, "-.") && strcmp(buf, "+.")) {
		if (!dot && !exp) {
			long long v = strtoll(buf, &end, 10);
			if (!*end && !errno)
				return json_integer(v);
		}
		double d = strtod(buf, &end);
		if (!*end)
			return json_real(d);
	}
	return json_stringn(s, len);
}

struct yaml_frame {
	json_t *node;  /* object or array being filled */
	char *key;     /* mapping: the key waiting for its value */
	bool want_key; /* mapping: next scalar is a key */
	struct fy_mark key_mark;
	struct fy_mark start;
};

struct yaml_builder {
	struct petra_yaml *y;
	struct yaml_frame *stack;
	size_t depth, alloc;
	json_t *root;
	unsigned documents;
};

static void builder_release(struct yaml_builder *b)
{
	for (size_t i = 0; i < b->depth; i++) {
		free(b->stack[i].key);
		json_decref(b->stack[i].node);
	}
	free(b->stack);
	json_decref(b->root);
}

/* Attach a finished node to its parent (or make it the root). Steals node. */
static int builder_attach(struct yaml_builder *b, json_t *node, const struct fy_mark *m,
			  struct petra_error **err)
{
	struct petra_yaml *y = b->y;
	if (b->depth == 0) {
		if (b->root) {
			json_decref(node);
			return petra_error_set(err, EINVAL,
					       "%s:%d: only one YAML document is allowed", y->name,
					       m->line + 1);
		}
		b->root = node;
		return 0;
	}
	struct yaml_frame *f = &b->stack[b->depth - 1];
	if (json_is_array(f->node)) {
		pos_add(y, f->node, NULL, json_array_size(f->node), m);
		json_array_append_new(f->node, node);
		return 0;
	}
	if (f->want_key) {
		json_decref(node);
		return petra_error_set(err, EINVAL, "%s:%d:%d: mapping keys must be plain strings",
				       y->name, m->line + 1, m->column + 1);
	}
	pos_add(y, f->node, f->key, 0, &f->key_mark);
	json_object_set_new(f->node, f->key, node);
	free(f->key);
	f->key = NULL;
	f->want_key = true;
	return 0;
}

/* A scalar's text, escapes and folding applied, into sb. Read with a
 * token iterator rather than fy_token_get_text(), whose copy is kept in
 * the token and leaked by libfyaml 0.7.12 when the stream ends in an
 * error (found by fuzz-lintconfig). */
static int token_text(struct fy_token *tok, struct strbuf *sb)
{
	/* The whole processed text at once: libfyaml 0.8's token iterator
	 * (fy_token_iter_read) counts bytes it did not write when a
	 * double-quoted scalar holds an escape (valgrind: the text of
	 * reason: "a \"b\"" came back partly uninitialised). */
	size_t len = 0;
	const char *text = fy_token_get_text(tok, &len);
	if (!text)
		return -EINVAL;
	strbuf_add(sb, text, len);
	return 0;
}

/* m: the event's start (libfyaml has none for an empty plain scalar). */
static int builder_scalar(struct yaml_builder *b, struct fy_event *fye, const struct fy_mark *m,
			  struct petra_error **err)
{
	struct fy_token *tok = fye->scalar.value;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	if (tok && token_text(tok, &sb) < 0)
		return petra_error_set(err, EINVAL, "%s:%d:%d: unreadable scalar", b->y->name,
				       m->line + 1, m->column + 1);
	const char *text = strbuf_str(&sb);
	size_t len = sb.len;
	struct yaml_frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	if (f && json_is_object(f->node) && f->want_key) {
		if (memchr(text, '\0', len))
			return petra_error_set(err, EINVAL, "%s:%d:%d: a key holds a NUL byte",
					       b->y->name, m->line + 1, m->column + 1);
		if (json_object_getn(f->node, text, len)) {
			_cleanup_free_ char *k = xstrndup(text, len);
			_cleanup_free_ char *q = str_quote(k);
			return petra_error_set(err, EINVAL, "%s:%d:%d: duplicate key %s",
					       b->y->name, m->line + 1, m->column + 1, q);
		}
		f->key = xstrndup(text, len);
		f->key_mark = *m;
		f->want_key = false;
		return 0;
	}
	json_t *node = fy_token_scalar_style(tok) == FYSS_PLAIN ? plain_scalar(text, len)
								: json_stringn(text, len);
	if (!node) /* invalid UTF-8: jansson refuses it */
		return petra_error_set(err, EINVAL, "%s:%d:%d: a string is not valid UTF-8",
				       b->y->name, m->line + 1, m->column + 1);
	/* null and the booleans are shared singletons: only the key or item
	 * position locates them. */
	if (json_is_string(node) || json_is_number(node))
		pos_add(b->y, node, NULL, PETRA_YAML_NODE, m);
	return builder_attach(b, node, m, err);
}

static int builder_start(struct yaml_builder *b, json_t *node, const struct fy_mark *m,
			 struct petra_error **err)
{
	struct yaml_frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	if (f && json_is_object(f->node) && f->want_key) {
		json_decref(node);
		return petra_error_set(err, EINVAL, "%s:%d:%d: mapping keys must be plain strings",
				       b->y->name, m->line + 1, m->column + 1);
	}
	if (b->depth >= YAML_MAX_DEPTH) {
		json_decref(node);
		return petra_error_set(err, EINVAL, "%s:%d:%d: nested deeper than %d levels",
				       b->y->name, m->line + 1, m->column + 1, YAML_MAX_DEPTH);
	}
	xgrow((void **)&b->stack, &b->alloc, b->depth + 1, sizeof(*b->stack));
	b->stack[b->depth++] =
	    (struct yaml_frame){.node = node, .want_key = json_is_object(node), .start = *m};
	/* The node's own position is its start, not where it ends. */
	pos_add(b->y, node, NULL, PETRA_YAML_NODE, m);
	return 0;
}

/* A finished mapping or sequence goes to its parent, located where it
 * started. */
static int builder_end(struct yaml_builder *b, struct petra_error **err)
{
	struct yaml_frame f = b->stack[--b->depth];
	free(f.key);
	return builder_attach(b, f.node, &f.start, err);
}

/* Length of the valid UTF-8 sequence at s (1 for ASCII), 0 when invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (!len || len > n || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

/* YAML is Unicode text. Checked before libfyaml sees it: libfyaml 0.7.12
 * loops forever on some invalid bytes (a directive line "%\x91"). */
static int check_utf8(const char *data, size_t len, const char *name, struct petra_error **err)
{
	unsigned line = 1, col = 1;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len((const unsigned char *)data + i, len - i);
		if (!n)
			return petra_error_set(err, EINVAL, "%s:%u:%u: not valid UTF-8", name, line,
					       col);
		if (data[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
		i += n;
	}
	return 0;
}

/* The first error libfyaml collected, as "name:line:col: message". */
static int parse_error(struct petra_yaml *y, struct fy_diag *diag, struct petra_error **err)
{
	void *iter = NULL;
	struct fy_diag_error *e;
	while ((e = fy_diag_errors_iterate(diag, &iter))) {
		if (e->type < FYET_ERROR)
			continue;
		/* libfyaml's collected errors count lines and columns from 1 */
		return petra_error_set(err, EINVAL, "%s:%d:%d: %s", y->name, e->line, e->column,
				       e->msg ? e->msg : "invalid YAML");
	}
	return petra_error_set(err, EINVAL, "%s: invalid YAML", y->name);
}

/* Does the text open more than YAML_MAX_FLOW_SCAN_DEPTH flow collections
 * at once? Quoted strings and comments are skipped; "[" and "{" count in
 * flow context, and in block context where a node starts (after
 * indentation, "- ", ": " or "? "), as a plain scalar cannot start with
 * them. On a yes, *line and *col (1-based) locate the opener. */
static bool flow_too_deep(const char *s, size_t len, unsigned *line, unsigned *col)
{
	size_t depth = 0;
	unsigned ln = 1;
	size_t line_start = 0;
	char prev = '\n'; /* the last character that is not a blank */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\n') {
			ln++;
			line_start = i + 1;
			prev = '\n';
			continue;
		}
		if (c == ' ' || c == '\t')
			continue;
		bool after_blank =
		    i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == '\n';
		if (c == '#' && after_blank) {
			while (i + 1 < len && s[i + 1] != '\n')
				i++;
			continue;
		}
		if ((c == '"' || c == '\'') && (depth || prev == '\n' || strchr("-:?,[{", prev))) {
			for (i++; i < len && s[i] != c; i++) {
				if (c == '"' && s[i] == '\\' && i + 1 < len)
					i++;
				else if (s[i] == '\n') {
					ln++;
					line_start = i + 1;
				}
			}
			prev = c;
			continue;
		}
		if ((c == '[' || c == '{') && (depth || prev == '\n' || strchr("-:?", prev))) {
			if (++depth > YAML_MAX_FLOW_SCAN_DEPTH) {
				*line = ln;
				*col = (unsigned)(i - line_start + 1);
				return true;
			}
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
		prev = c;
	}
	return false;
}

int petra_yaml_parse(const char *data, size_t len, const char *name, struct petra_yaml **out,
		     struct petra_error **err)
{
	*out = NULL;
	if (len > YAML_MAX_SIZE)
		return petra_error_set(err, EFBIG, "%s: larger than %u bytes", name, YAML_MAX_SIZE);
	if (check_utf8(data, len, name, err) < 0)
		return -EINVAL;
	unsigned line, col;
	if (flow_too_deep(data, len, &line, &col))
		return petra_error_set(err, EINVAL, "%s:%u:%u: nested deeper than %d levels", name,
				       line, col, YAML_MAX_DEPTH);
	struct petra_yaml *y = xcalloc(1, sizeof(*y));
	y->name = xstrdup(name);

	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = NULL;
	dcfg.colorize = false;
	struct fy_diag *diag = fy_diag_create(&dcfg);
	if (!diag)
		abort();
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG, .diag = diag};
	struct fy_parser *fyp = fy_parser_create(&cfg);
	if (!fyp)
		abort();
	int r = 0;
	struct yaml_builder b = {.y = y};
	/* libfyaml wants a string it can keep until the parser is gone. */
	_cleanup_free_ char *copy = xmalloc(len + 1);
	if (len)
		memcpy(copy, data, len);
	copy[len] = '\0';
	if (fy_parser_set_string(fyp, copy, len) != 0)
		r = petra_error_set(err, EINVAL, "%s: cannot read as YAML", name);
	struct fy_event *fye;
	struct fy_mark last = {0};
	while (r == 0 && (fye = fy_parser_parse(fyp))) {
		const struct fy_mark *m = fy_event_start_mark(fye);
		if (m)
			last = *m;
		else /* an empty scalar has no token: place it where the last event was */
			m = &last;
		switch (fye->type) {
		case FYET_DOCUMENT_START:
			if (++b.documents > 1)
				r = petra_error_set(err, EINVAL,
						    "%s:%d: only one YAML document is allowed",
						    name, m->line + 1);
			break;
		case FYET_MAPPING_START:
			r = builder_start(&b, json_object(), m, err);
			break;
		case FYET_SEQUENCE_START:
			r = builder_start(&b, json_array(), m, err);
			break;
		case FYET_MAPPING_END:
		case FYET_SEQUENCE_END:
			r = b.depth ? builder_end(&b, err) : 0;
			break;
		case FYET_SCALAR:
			r = builder_scalar(&b, fye, m, err);
			break;
		case FYET_ALIAS:
			r = petra_error_set(err, EINVAL,
					    "%s:%d:%d: aliases (*name) are not supported: write "
					    "the value out",
					    name, m->line + 1, m->column + 1);
			break;
		default:
			break;
		}
		fy_parser_event_free(fyp, fye);
	}
	if (r < 0) {
		/* Read on: when the YAML itself is broken further on, libfyaml's
		 * message says more than what the tree builder tripped on (a
		 * scalar cut short by the error reads as invalid UTF-8). But
		 * not into a nesting deeper than the limit: libfyaml keeps
		 * state for every open level ("- - - ..." 100k times: 30 MB). */
		size_t depth = b.depth;
		while (depth <= YAML_MAX_DEPTH && (fye = fy_parser_parse(fyp))) {
			if (fye->type == FYET_MAPPING_START || fye->type == FYET_SEQUENCE_START)
				depth++;
			else if ((fye->type == FYET_MAPPING_END ||
				  fye->type == FYET_SEQUENCE_END) &&
				 depth)
				depth--;
			fy_parser_event_free(fyp, fye);
		}
	}
	if (fy_parser_get_stream_error(fyp))
		r = parse_error(y, diag, err);
	fy_parser_destroy(fyp);
	fy_diag_destroy(diag);
	if (r < 0) {
		builder_release(&b);
		petra_yaml_free(y);
		return r;
	}
	y->root = steal_pointer(&b.root);
	builder_release(&b);
	*out = y;
	return 0;
}

int petra_yaml_load(int dirfd, const char *path, struct petra_yaml **out, struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = fs_read_file_at(dirfd, path, YAML_MAX_SIZE, &data, &len, err);
	if (r < 0)
		return r;
	return petra_yaml_parse(data, len, path, out, err);
}
