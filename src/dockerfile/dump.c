/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Output: BuildKit's s-expression dump (parser.Node.Dump), with Go's
 * strconv.Quote so that petra's and BuildKit's dumps of one file can be
 * compared with diff, and the JSON form of the tree.
 */
#include "internal.h"

static const char hexdigits[] = "0123456789abcdef";

void dockerfile_quote_go(struct strbuf *out, const char *s, size_t len)
{
	strbuf_grow(out, len + 2);
	strbuf_addch(out, '"');
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t w = 1;
		uint32_t r = c;
		if (c >= 0x80)
			r = dockerfile_utf8_decode((const unsigned char *)s + i, len - i, &w);
		if (r == RUNE_ERROR && w == 1) {
			/* Invalid UTF-8: the byte itself. */
			char b[4] = {'\\', 'x', hexdigits[c >> 4], hexdigits[c & 15]};
			strbuf_add(out, b, 4);
			i++;
			continue;
		}
		i += w;
		if (r == '"' || r == '\\') {
			strbuf_addch(out, '\\');
			strbuf_addch(out, (char)r);
			continue;
		}
		if (dockerfile_unicode_is_print(r)) {
			strbuf_add(out, s + i - w, w);
			continue;
		}
		switch (r) {
		case '\a':
			strbuf_addstr(out, "\\a");
			continue;
		case '\b':
			strbuf_addstr(out, "\\b");
			continue;
		case '\f':
			strbuf_addstr(out, "\\f");
			continue;
		case '\n':
			strbuf_addstr(out, "\\n");
			continue;
		case '\r':
			strbuf_addstr(out, "\\r");
			continue;
		case '\t':
			strbuf_addstr(out, "\\t");
			continue;
		case '\v':
			strbuf_addstr(out, "\\v");
			continue;
		}
		if (r < ' ' || r == 0x7f) {
			char b[4] = {'\\', 'x', hexdigits[r >> 4], hexdigits[r & 15]};
			strbuf_add(out, b, 4);
		} else if (r < 0x10000) {
			strbuf_addf(out, "\\u%04x", (unsigned)r);
		} else {
			strbuf_addf(out, "\\U%08x", (unsigned)r);
		}
	}
	strbuf_addch(out, '"');
}

void dockerfile_dump_instruction(const struct dockerfile_instruction *in, struct strbuf *out)
{
	strbuf_addstr(out, in->keyword);
	if (in->n_flags) {
		/* Go's %q of a []string. */
		strbuf_addstr(out, " [");
		for (size_t i = 0; i < in->n_flags; i++) {
			if (i)
				strbuf_addch(out, ' ');
			dockerfile_quote_go(out, in->flags[i].text, in->flags[i].len);
		}
		strbuf_addch(out, ']');
	}
	if (in->sub) {
		strbuf_addstr(out, " (");
		dockerfile_dump_instruction(in->sub, out);
		strbuf_addch(out, ')');
	}
	for (size_t i = 0; i < in->n_args; i++) {
		strbuf_addch(out, ' ');
		dockerfile_quote_go(out, in->args[i].text, in->args[i].len);
	}
}

void dockerfile_dump(const struct dockerfile *df, struct strbuf *out)
{
	for (size_t i = 0; i < df->n_instructions; i++) {
		strbuf_addch(out, '(');
		dockerfile_dump_instruction(&df->instructions[i], out);
		strbuf_addstr(out, ")\n");
	}
}

/* JSON strings must be valid UTF-8: bad bytes become U+FFFD. */
static json_t *json_text(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t w;
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		if (dockerfile_utf8_decode((const unsigned char *)s + i, len - i, &w) ==
			RUNE_ERROR &&
		    w == 1)
			break;
		i += w;
	}
	if (i == len)
		return json_stringn(s, len);
	struct strbuf sb = STRBUF_INIT;
	strbuf_add(&sb, s, i);
	while (i < len) {
		size_t w;
		uint32_t r = dockerfile_utf8_decode((const unsigned char *)s + i, len - i, &w);
		dockerfile_utf8_append(&sb, r);
		i += w;
	}
	json_t *j = json_stringn(sb.buf, sb.len);
	strbuf_release(&sb);
	return j;
}

static json_t *words_json(const struct dockerfile_word *w, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_text(w[i].text, w[i].len));
	return a;
}

static json_t *instruction_json(const struct dockerfile *df,
				const struct dockerfile_instruction *in)
{
	json_t *o = json_object();
	json_object_set_new(o, "instruction", json_string(dockerfile_kind_name(in->kind)));
	json_object_set_new(o, "keyword", json_text(in->keyword, strlen(in->keyword)));
	json_object_set_new(o, "start_line", json_integer(in->start_line));
	json_object_set_new(o, "end_line", json_integer(in->end_line));
	json_object_set_new(o, "column", json_integer(in->col));
	json_object_set_new(o, "start", json_integer((json_int_t)in->start));
	json_object_set_new(o, "end", json_integer((json_int_t)in->end));
	if (in->stage != DOCKERFILE_GLOBAL)
		json_object_set_new(o, "stage", json_integer((json_int_t)in->stage));
	if (in->n_flags)
		json_object_set_new(o, "flags", words_json(in->flags, in->n_flags));
	json_object_set_new(o, "args", words_json(in->args, in->n_args));
	if (in->json)
		json_object_set_new(o, "exec_form", json_true());
	if (in->sub)
		json_object_set_new(o, "trigger", instruction_json(df, in->sub));
	if (in->n_heredocs) {
		json_t *a = json_array();
		for (size_t i = 0; i < in->n_heredocs; i++) {
			const struct dockerfile_heredoc *h = &in->heredocs[i];
			json_t *hj = json_object();
			json_object_set_new(hj, "name", json_text(h->name, strlen(h->name)));
			json_object_set_new(hj, "content", json_text(h->content, h->content_len));
			json_object_set_new(hj, "expand", json_boolean(h->expand));
			json_object_set_new(hj, "chomp", json_boolean(h->chomp));
			if (h->fd)
				json_object_set_new(hj, "fd", json_integer(h->fd));
			json_object_set_new(hj, "start_line", json_integer(h->start_line));
			json_object_set_new(hj, "end_line", json_integer(h->end_line));
			json_array_append_new(a, hj);
		}
		json_object_set_new(o, "heredocs", a);
	}
	if (in->n_comments) {
		json_t *a = json_array();
		for (size_t i = 0; i < in->n_comments; i++) {
			const struct dockerfile_comment *c = &df->comments[in->first_comment + i];
			json_array_append_new(a, json_text(c->text, strlen(c->text)));
		}
		json_object_set_new(o, "comments", a);
	}
	return o;
}

json_t *dockerfile_to_json(const struct dockerfile *df)
{
	json_t *root = json_object();
	json_object_set_new(root, "file", json_text(df->name, strlen(df->name)));
	char esc[2] = {df->escape, 0};
	json_object_set_new(root, "escape", json_string(esc));
	json_t *dirs = json_object();
	for (size_t i = 0; i < df->n_directives; i++)
		json_object_set_new(
		    dirs, df->directives[i].name,
		    json_text(df->directives[i].value, strlen(df->directives[i].value)));
	json_object_set_new(root, "directives", dirs);
	json_t *stages = json_array();
	for (size_t i = 0; i < df->n_stages; i++) {
		const struct dockerfile_stage *st = &df->stages[i];
		json_t *s = json_object();
		if (st->name)
			json_object_set_new(s, "name", json_text(st->name, strlen(st->name)));
		if (st->base)
			json_object_set_new(s, "base", json_text(st->base->text, st->base->len));
		if (st->platform)
			json_object_set_new(s, "platform",
					    json_text(st->platform, strlen(st->platform)));
		json_object_set_new(s, "start_line",
				    json_integer(df->instructions[st->from].start_line));
		json_object_set_new(s, "instructions",
				    json_integer((json_int_t)(st->end - st->from)));
		json_array_append_new(stages, s);
	}
	json_object_set_new(root, "stages", stages);
	json_t *ins = json_array();
	for (size_t i = 0; i < df->n_instructions; i++)
		json_array_append_new(ins, instruction_json(df, &df->instructions[i]));
	json_object_set_new(root, "instructions", ins);
	if (df->n_warnings) {
		json_t *w = json_array();
		for (size_t i = 0; i < df->n_warnings; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "line", json_integer(df->warnings[i].line));
			json_object_set_new(o, "message", json_string(df->warnings[i].message));
			json_array_append_new(w, o);
		}
		json_object_set_new(root, "warnings", w);
	}
	return root;
}
