/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parser: physical lines → directives, comments and logical lines
 * (continuations joined) → one instruction record per logical line, with
 * BuildKit's per-instruction argument rules (parser/line_parsers.go),
 * flags (split_command.go) and heredocs.
 *
 * One pass over the input; every logical line keeps a small map from its
 * offsets back to source offsets, so words carry exact byte spans for
 * tools that rewrite the file in place.
 */
#include "internal.h"

#include <fcntl.h>

/* ONBUILD may wrap ONBUILD only in raw mode (BuildKit's raw parser allows
 * it; its checks do not); bounded so the recursion is. */
#define MAX_ONBUILD_DEPTH 8

struct segment {
	size_t lstart, sstart, len;
};

struct parser {
	const char *src;
	size_t len, pos;
	unsigned line; /* physical lines read so far */
	char escape;
	bool directives_done;
	unsigned flags;
	const char *name;
	struct petra_error **err;
	unsigned error_line;
	struct dockerfile *df;
	struct arena *arena;

	/* The logical line being parsed and its map to the source. */
	struct strbuf logical;
	struct segment *segs;
	size_t n_segs, segs_alloc;
	size_t logical_start; /* source offset of the logical line's first byte */

	size_t ins_alloc, comments_alloc, dirs_alloc, warns_alloc, lines_alloc;
	size_t comment_mark; /* first comment not yet given to an instruction */
	bool seen_from;
};

static int parse_fail(struct parser *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int parse_fail(struct parser *p, unsigned line, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	p->error_line = line;
	petra_error_set(p->err, EINVAL, "%s:%u: %s", p->name, line, strbuf_str(&sb));
	strbuf_release(&sb);
	return -EINVAL;
}

/* ---- physical lines ---- */

struct phys {
	size_t start; /* first byte */
	size_t end;   /* end of content: newline and trailing \r removed */
	size_t next;  /* start of the next line */
};

static int read_line(struct parser *p, struct phys *l)
{
	if (p->pos >= p->len)
		return 0;
	const char *nl = memchr(p->src + p->pos, '\n', p->len - p->pos);
	size_t e = nl ? (size_t)(nl - p->src) : p->len;
	l->start = p->pos;
	l->next = nl ? e + 1 : p->len;
	p->line++;
	p->df->n_lines = p->line;
	struct dockerfile_private *priv = p->df->priv;
	xgrow((void **)&priv->line_starts, &p->lines_alloc, p->line, sizeof(size_t));
	priv->line_starts[p->line - 1] = l->start;
	if (e - l->start > DOCKERFILE_MAX_LINE)
		return parse_fail(p, p->line, "line longer than the maximum of %d bytes",
				  DOCKERFILE_MAX_LINE);
	while (e > l->start && p->src[e - 1] == '\r')
		e--;
	l->end = e;
	p->pos = l->next;
	return 1;
}

/* A line ending (trailing blanks aside) in the escape character continues,
 * unless that character is itself escaped (BuildKit's regexp
 * `([^\\])\\[ \t]*$|^\\[ \t]*$`). *end moves to the escape character. */
static bool trim_continuation(const struct parser *p, size_t start, size_t *end)
{
	size_t i = *end;
	while (i > start && (p->src[i - 1] == ' ' || p->src[i - 1] == '\t'))
		i--;
	if (i == start || p->src[i - 1] != p->escape)
		return false;
	if (i - 1 > start && p->src[i - 2] == p->escape)
		return false;
	*end = i - 1;
	return true;
}

static void add_piece(struct parser *p, size_t start, size_t end)
{
	if (end <= start)
		return;
	xgrow((void **)&p->segs, &p->segs_alloc, p->n_segs + 1, sizeof(*p->segs));
	p->segs[p->n_segs++] = (struct segment){p->logical.len, start, end - start};
	strbuf_add(&p->logical, p->src + start, end - start);
}

/* Source offset of a logical offset. */
static size_t map_offset(const struct parser *p, size_t l)
{
	if (!p->n_segs)
		return p->logical_start; /* only escape characters: an empty line */
	size_t lo = 0, hi = p->n_segs;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->segs[mid].lstart <= l)
			lo = mid;
		else
			hi = mid;
	}
	const struct segment *s = &p->segs[lo];
	if (l >= s->lstart + s->len)
		return s->sstart + s->len;
	return s->sstart + (l - s->lstart);
}

static void map_span(const struct parser *p, size_t ls, size_t le, size_t *ss, size_t *se)
{
	*ss = map_offset(p, ls);
	*se = le > ls ? map_offset(p, le - 1) + 1 : *ss;
}

/* ---- comments and directives ---- */

static void add_comment(struct parser *p, size_t hash, size_t end, bool in_continuation)
{
	struct dockerfile *df = p->df;
	size_t ts = hash + 1, te = end;
	dockerfile_go_trim_space(p->src, &ts, &te);
	xgrow((void **)&df->comments, &p->comments_alloc, df->n_comments + 1,
	      sizeof(*df->comments));
	df->comments[df->n_comments++] = (struct dockerfile_comment){
	    .text = arena_strndup(p->arena, p->src + ts, te - ts),
	    .line = p->line,
	    .start = hash,
	    .end = end,
	    .in_continuation = in_continuation,
	};
}

static bool is_directive_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* BuildKit's DirectiveParser on a line without leading whitespace:
 * `#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, keys escape, syntax and
 * check. Returns 1 for a directive, 0 when directives are over. */
static int parse_directive(struct parser *p, size_t s, size_t e)
{
	if (s >= e || p->src[s] != '#')
		return 0;
	size_t i = dockerfile_go_skip_space(p->src, s + 1, e);
	size_t ks = i;
	if (i >= e || !((p->src[i] | 0x20) >= 'a' && (p->src[i] | 0x20) <= 'z'))
		return 0;
	while (i < e && ((p->src[i] >= '0' && p->src[i] <= '9') ||
			 ((p->src[i] | 0x20) >= 'a' && (p->src[i] | 0x20) <= 'z')))
		i++;
	size_t ke = i;
	while (i < e && is_directive_space(p->src[i]))
		i++;
	if (i >= e || p->src[i] != '=')
		return 0;
	i++;
	size_t after_eq = i;
	while (i < e && is_directive_space(p->src[i]))
		i++;
	size_t vs = i, ve = e;
	while (ve > vs && is_directive_space(p->src[ve - 1]))
		ve--;
	if (vs == ve) {
		if (after_eq == e)
			return 0;
		/* Only blanks after '=': the lazy (.+?) takes the last one. */
		vs = e - 1;
		ve = e;
	}
	char key[16];
	size_t klen = ke - ks;
	if (klen >= sizeof(key))
		return 0;
	for (size_t k = 0; k < klen; k++)
		key[k] =
		    (char)((p->src[ks + k] >= 'A' && p->src[ks + k] <= 'Z') ? p->src[ks + k] | 0x20
									    : p->src[ks + k]);
	key[klen] = '\0';
	if (strcmp(key, "escape") && strcmp(key, "syntax") && strcmp(key, "check"))
		return 0;
	struct dockerfile *df = p->df;
	for (size_t k = 0; k < df->n_directives; k++)
		if (!strcmp(df->directives[k].name, key))
			return parse_fail(p, p->line, "only one %s parser directive can be used",
					  key);
	if (!strcmp(key, "escape")) {
		if (ve - vs != 1 || (p->src[vs] != '\\' && p->src[vs] != '`'))
			return parse_fail(p, p->line,
					  "invalid escape token '%.*s' does not match ` or \\",
					  (int)(ve - vs), p->src + vs);
		p->escape = p->src[vs];
	}
	xgrow((void **)&df->directives, &p->dirs_alloc, df->n_directives + 1,
	      sizeof(*df->directives));
	df->directives[df->n_directives++] = (struct dockerfile_directive){
	    .name = arena_strndup(p->arena, key, klen),
	    .value = arena_strndup(p->arena, p->src + vs, ve - vs),
	    .line = p->line,
	};
	return 1;
}

/* ---- words of one logical line ---- */

static bool is_go_byte_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* BuildKit's extractBuilderFlags: leading "--words" (quotes removed,
 * backslash escapes the next byte); "--" alone ends them. Returns where
 * the arguments start. */
static size_t extract_flags(struct parser *p, size_t i, size_t end, struct word_vec *flags)
{
	const char *s = p->logical.buf;
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	struct strbuf word = STRBUF_INIT;
	bool blank_ok = false;
	char quote = 0;
	size_t wstart = i;
	size_t rest = end;
	for (size_t pos = i; pos <= end; pos++) {
		char ch = pos < end ? s[pos] : 0;
		if (phase == IN_SPACES) {
			if (pos == end)
				break;
			if (is_go_byte_space(ch))
				continue;
			if (ch != '-' || pos + 1 == end || s[pos + 1] != '-') {
				rest = pos;
				goto out;
			}
			phase = IN_WORD;
			wstart = pos;
		}
		if (pos == end) {
			if (!(word.len == 2 && !memcmp(word.buf, "--", 2)) &&
			    (blank_ok || word.len))
				dockerfile_word_vec_push(flags, p->arena, strbuf_str(&word),
							 word.len, wstart, pos);
			break;
		}
		if (phase == IN_WORD) {
			if (is_go_byte_space(ch)) {
				phase = IN_SPACES;
				if (word.len == 2 && !memcmp(word.buf, "--", 2)) {
					rest = pos;
					goto out;
				}
				if (blank_ok || word.len)
					dockerfile_word_vec_push(flags, p->arena, strbuf_str(&word),
								 word.len, wstart, pos);
				strbuf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = IN_QUOTE;
				continue;
			}
			if (ch == '\\') {
				if (pos + 1 == end)
					continue;
				ch = s[++pos];
			}
			strbuf_addch(&word, ch);
			continue;
		}
		/* IN_QUOTE */
		if (ch == quote) {
			phase = IN_WORD;
			continue;
		}
		if (ch == '\\') {
			if (pos + 1 == end) {
				phase = IN_WORD;
				continue;
			}
			ch = s[++pos];
		}
		strbuf_addch(&word, ch);
	}
out:
	strbuf_release(&word);
	return rest;
}

/* BuildKit's parseWords (ARG, ENV, LABEL): split at whitespace outside
 * quotes; quotes and escapes stay in the words. */
static void parse_words(struct parser *p, size_t i, size_t end, struct word_vec *out)
{
	const char *s = p->logical.buf;
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	struct strbuf word = STRBUF_INIT;
	bool blank_ok = false;
	char quote = 0;
	size_t wstart = i;
	for (size_t pos = i; pos <= end;) {
		size_t w = 1;
		uint32_t ch = 0;
		if (pos < end)
			ch = dockerfile_utf8_decode((const unsigned char *)s + pos, end - pos, &w);
		if (phase == IN_SPACES) {
			if (pos == end)
				break;
			if (dockerfile_go_space_width(s + pos, end - pos)) {
				pos += w;
				continue;
			}
			phase = IN_WORD;
			wstart = pos;
		}
		if (pos == end) {
			if (blank_ok || word.len)
				dockerfile_word_vec_push(out, p->arena, strbuf_str(&word), word.len,
							 wstart, pos);
			break;
		}
		if (phase == IN_WORD) {
			if (dockerfile_go_space_width(s + pos, end - pos)) {
				phase = IN_SPACES;
				if (blank_ok || word.len)
					dockerfile_word_vec_push(out, p->arena, strbuf_str(&word),
								 word.len, wstart, pos);
				strbuf_reset(&word);
				blank_ok = false;
				pos += w;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = (char)ch;
				blank_ok = true;
				phase = IN_QUOTE;
			}
			if (ch == (unsigned char)p->escape) {
				if (pos + w == end) {
					pos += w;
					continue; /* an escape at the end is dropped */
				}
				dockerfile_utf8_append(&word, ch);
				pos += w;
				ch = dockerfile_utf8_decode((const unsigned char *)s + pos,
							    end - pos, &w);
			}
			dockerfile_utf8_append(&word, ch);
			pos += w;
			continue;
		}
		/* IN_QUOTE */
		if (ch == (unsigned char)quote)
			phase = IN_WORD;
		if (ch == (unsigned char)p->escape && quote != '\'') {
			if (pos + w == end) {
				phase = IN_WORD;
				pos += w;
				continue;
			}
			pos += w;
			dockerfile_utf8_append(&word, ch);
			ch = dockerfile_utf8_decode((const unsigned char *)s + pos, end - pos, &w);
		}
		dockerfile_utf8_append(&word, ch);
		pos += w;
	}
	strbuf_release(&word);
}

static void push_range(struct parser *p, struct word_vec *args, size_t s, size_t e)
{
	dockerfile_word_vec_push(args, p->arena, p->logical.buf + s, e - s, s, e);
}

/* FROM, EXPOSE and the shell form of COPY/ADD/VOLUME: `[\t\v\f\r ]+`. */
static void split_blanks(struct parser *p, size_t s, size_t e, struct word_vec *args)
{
	const char *b = p->logical.buf;
	if (s == e)
		return;
	size_t ws = s;
	for (size_t i = s; i <= e; i++) {
		if (i == e || is_blank(b[i])) {
			push_range(p, args, ws, i);
			while (i < e && is_blank(b[i]))
				i++;
			ws = i;
			if (i == e)
				break;
		}
	}
}

static int maybe_json(struct parser *p, size_t s, size_t e, bool to_list, struct word_vec *args,
		      bool *json)
{
	if (s == e && !to_list)
		return 0;
	enum json_array_result r =
	    dockerfile_json_array_parse(p->logical.buf, s, e, args, p->arena);
	if (r == JSON_ARRAY_OK) {
		*json = true;
		return 0;
	}
	if (r == JSON_ARRAY_NOT_STRINGS)
		return -1;
	if (to_list)
		split_blanks(p, s, e, args);
	else
		push_range(p, args, s, e);
	return 0;
}

/* ENV and LABEL: key, value, separator triples. */
static int name_val(struct parser *p, const char *what, size_t s, size_t e, struct word_vec *args,
		    unsigned line)
{
	const char *b = p->logical.buf;
	struct word_vec words = {0};
	int r = 0;
	parse_words(p, s, e, &words);
	if (!words.n)
		goto out;
	if (!strchr(words.v[0].text, '=')) {
		/* The legacy "KEY value..." form. */
		size_t k = s;
		while (k < e && !is_blank(b[k]))
			k++;
		if (k == e) {
			r = parse_fail(p, line, "%s must have two arguments", what);
			goto out;
		}
		size_t v = k;
		while (v < e && is_blank(b[v]))
			v++;
		push_range(p, args, s, k);
		push_range(p, args, v, e);
		dockerfile_word_vec_push(args, p->arena, "", 0, v, v);
		goto out;
	}
	for (size_t i = 0; i < words.n; i++) {
		const struct dockerfile_word *w = &words.v[i];
		const char *eq = strchr(w->text, '=');
		if (!eq) {
			struct strbuf q = STRBUF_INIT;
			dockerfile_quote_go(&q, w->text, w->len);
			r = parse_fail(p, line,
				       "Syntax error - can't find = in %s. Must be of the form: "
				       "name=value",
				       strbuf_str(&q));
			strbuf_release(&q);
			goto out;
		}
		/* The first '=' of the text is the first of the source word:
		 * parsing only drops a final escape or replaces bad UTF-8. */
		const char *seq = memchr(b + w->start, '=', w->end - w->start);
		size_t eqpos = seq ? (size_t)(seq - b) : w->start;
		size_t klen = (size_t)(eq - w->text);
		dockerfile_word_vec_push(args, p->arena, w->text, klen, w->start, eqpos);
		dockerfile_word_vec_push(args, p->arena, eq + 1, w->len - klen - 1, eqpos + 1,
					 w->end);
		dockerfile_word_vec_push(args, p->arena, "=", 1, eqpos, eqpos + 1);
	}
out:
	free(words.v);
	return r;
}

static enum dockerfile_kind kind_of(const char *kw)
{
	static const char *const names[] = {
	    [DOCKERFILE_ADD] = "add",
	    [DOCKERFILE_ARG] = "arg",
	    [DOCKERFILE_CMD] = "cmd",
	    [DOCKERFILE_COPY] = "copy",
	    [DOCKERFILE_ENTRYPOINT] = "entrypoint",
	    [DOCKERFILE_ENV] = "env",
	    [DOCKERFILE_EXPOSE] = "expose",
	    [DOCKERFILE_FROM] = "from",
	    [DOCKERFILE_HEALTHCHECK] = "healthcheck",
	    [DOCKERFILE_LABEL] = "label",
	    [DOCKERFILE_MAINTAINER] = "maintainer",
	    [DOCKERFILE_ONBUILD] = "onbuild",
	    [DOCKERFILE_RUN] = "run",
	    [DOCKERFILE_SHELL] = "shell",
	    [DOCKERFILE_STOPSIGNAL] = "stopsignal",
	    [DOCKERFILE_USER] = "user",
	    [DOCKERFILE_VOLUME] = "volume",
	    [DOCKERFILE_WORKDIR] = "workdir",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(names[i], kw))
			return (enum dockerfile_kind)i;
	return DOCKERFILE_UNKNOWN;
}

static void finish_words(struct parser *p, struct word_vec *wv, struct dockerfile_word **out,
			 size_t *n)
{
	for (size_t i = 0; i < wv->n; i++)
		map_span(p, wv->v[i].start, wv->v[i].end, &wv->v[i].start, &wv->v[i].end);
	*out = arena_memdup(p->arena, wv->v, wv->n * sizeof(*wv->v));
	*n = wv->n;
}

/* One instruction from logical[ls, le): BuildKit's splitCommand and the
 * dispatch to its line parsers. */
static int parse_instruction(struct parser *p, size_t ls, size_t le, int depth, unsigned line,
			     struct dockerfile_instruction *in)
{
	const char *b = p->logical.buf;
	dockerfile_go_trim_space(b, &ls, &le);
	size_t k = ls;
	while (k < le && !is_blank(b[k]))
		k++;
	char *kw = arena_strndup(p->arena, b + ls, k - ls);
	for (char *c = kw; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c | 0x20);
	in->keyword = kw;
	in->kind = kind_of(kw);
	in->start = map_offset(p, ls);
	if (in->kind == DOCKERFILE_UNKNOWN && !(p->flags & DOCKERFILE_PARSE_RAW)) {
		struct strbuf q = STRBUF_INIT;
		dockerfile_quote_go(&q, b + ls, k - ls);
		int r = parse_fail(p, line, "unknown instruction: %.*s",
				   (int)(q.len >= 2 ? q.len - 2 : 0), q.buf + 1);
		strbuf_release(&q);
		return r;
	}

	struct word_vec flags = {0}, args = {0};
	size_t as = le, ae = le;
	if (k < le) {
		size_t r = k;
		while (r < le && is_blank(b[r]))
			r++;
		as = extract_flags(p, r, le, &flags);
	}
	dockerfile_go_trim_space(b, &as, &ae);
	int r = 0;
	bool json = false;
	switch (in->kind) {
	case DOCKERFILE_ADD:
	case DOCKERFILE_COPY:
	case DOCKERFILE_VOLUME:
		r = maybe_json(p, as, ae, true, &args, &json);
		break;
	case DOCKERFILE_CMD:
	case DOCKERFILE_ENTRYPOINT:
	case DOCKERFILE_RUN:
	case DOCKERFILE_SHELL:
		r = maybe_json(p, as, ae, false, &args, &json);
		break;
	case DOCKERFILE_ARG:
		parse_words(p, as, ae, &args);
		break;
	case DOCKERFILE_ENV:
	case DOCKERFILE_LABEL:
		r = name_val(p, in->kind == DOCKERFILE_ENV ? "ENV" : "LABEL", as, ae, &args, line);
		if (r < 0)
			goto out;
		break;
	case DOCKERFILE_EXPOSE:
	case DOCKERFILE_FROM:
		split_blanks(p, as, ae, &args);
		break;
	case DOCKERFILE_MAINTAINER:
	case DOCKERFILE_STOPSIGNAL:
	case DOCKERFILE_USER:
	case DOCKERFILE_WORKDIR:
		if (as < ae)
			push_range(p, &args, as, ae);
		break;
	case DOCKERFILE_HEALTHCHECK: {
		/* The type (NONE, CMD), then the command as CMD takes it. */
		size_t sep = as;
		while (sep < ae && !is_go_byte_space(b[sep]))
			sep++;
		if (sep == as)
			break;
		push_range(p, &args, as, sep);
		size_t next = sep;
		while (next < ae && is_go_byte_space(b[next]))
			next++;
		r = maybe_json(p, next, ae, false, &args, &json);
		break;
	}
	case DOCKERFILE_ONBUILD:
		if (as == ae)
			break;
		if (depth >= 1 && !(p->flags & DOCKERFILE_PARSE_RAW)) {
			r = parse_fail(p, line,
				       "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
			goto out;
		}
		if (depth + 1 >= MAX_ONBUILD_DEPTH) {
			r = parse_fail(p, line, "ONBUILD nested more than %d deep",
				       MAX_ONBUILD_DEPTH - 1);
			goto out;
		}
		in->sub = arena_alloc(p->arena, sizeof(*in->sub));
		memset(in->sub, 0, sizeof(*in->sub));
		r = parse_instruction(p, as, ae, depth + 1, line, in->sub);
		if (r < 0)
			goto out;
		in->sub->stage = DOCKERFILE_GLOBAL;
		break;
	case DOCKERFILE_UNKNOWN:
		break;
	}
	if (r < 0) {
		r = parse_fail(p, line,
			       "when using JSON array syntax, arrays must be comprised of strings "
			       "only");
		goto out;
	}
	in->json = json;
	finish_words(p, &flags, &in->flags, &in->n_flags);
	finish_words(p, &args, &in->args, &in->n_args);
	in->original = arena_strndup(p->arena, b + ls, le - ls);
out:
	free(flags.v);
	free(args.v);
	return r;
}

/* ---- heredocs ---- */

/* `^(\d*)<<(-?)([^<]*)$` on a word; fills h (name unset) and the rest. */
static bool heredoc_marker(const char *w, unsigned *fd, bool *chomp, const char **rest)
{
	unsigned long v = 0;
	const char *c = w;
	while (*c >= '0' && *c <= '9') {
		if (v < 100000000)
			v = v * 10 + (unsigned long)(*c - '0');
		c++;
	}
	if (c[0] != '<' || c[1] != '<')
		return false;
	c += 2;
	*chomp = *c == '-';
	if (*chomp)
		c++;
	if (!*c || strchr(c, '<'))
		return false;
	*fd = (unsigned)v;
	*rest = c;
	return true;
}

static size_t count_quotes(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\'' || *s == '"';
	return n;
}

/* BuildKit's heredocFromMatch: the delimiter is the marker's one word with
 * quotes processed; quoting any of it turns expansion off. */
static int heredoc_name(const char *rest, char **name, bool *expand, struct petra_error **err)
{
	struct dockerfile_expander ex = {.escape = '\\', .flags = DOCKERFILE_EXPAND_SKIP_UNSET};
	_cleanup_strvec_ struct strvec words = STRVEC_INIT;
	_cleanup_strvec_ struct strvec raw = STRVEC_INIT;
	*name = NULL;
	if (dockerfile_expand_words(&ex, rest, &words, err) < 0)
		return -EINVAL;
	if (words.n != 1)
		return 0;
	ex.flags |= DOCKERFILE_EXPAND_RAW_QUOTES;
	if (dockerfile_expand_words(&ex, rest, &raw, err) < 0)
		return -EINVAL;
	if (raw.n != 1)
		return petra_error_set(
		    err, EINVAL, "internal lexing of heredoc produced inconsistent results: %s",
		    rest);
	*expand = count_quotes(words.v[0]) == count_quotes(raw.v[0]);
	*name = xstrdup(words.v[0]);
	return 0;
}

static void chomp_tabs(struct strbuf *sb)
{
	size_t w = 0;
	bool bol = true;
	for (size_t r = 0; r < sb->len; r++) {
		char c = sb->buf[r];
		if (bol && c == '\t')
			continue;
		bol = c == '\n';
		sb->buf[w++] = c;
	}
	strbuf_setlen(sb, w);
}

static int read_heredocs(struct parser *p, struct dockerfile_instruction *target, unsigned line,
			 size_t *span_end)
{
	struct dockerfile_expander ex = {.escape = '\\',
					 .flags = DOCKERFILE_EXPAND_RAW_QUOTES |
						  DOCKERFILE_EXPAND_RAW_ESCAPES |
						  DOCKERFILE_EXPAND_SKIP_UNSET};
	_cleanup_strvec_ struct strvec words = STRVEC_INIT;
	struct petra_error *ignored = NULL;
	/* As in BuildKit, a line the lexer cannot split has no heredocs. */
	if (dockerfile_expand_words(&ex, strbuf_str(&p->logical), &words, &ignored) < 0) {
		petra_error_free(ignored);
		return 0;
	}
	struct dockerfile_heredoc *docs = NULL;
	size_t n = 0, alloc = 0;
	int r = 0;
	_cleanup_strbuf_ struct strbuf content = STRBUF_INIT;
	for (size_t i = 0; i < words.n; i++) {
		unsigned fd;
		bool chomp, expand = true;
		const char *rest;
		if (!heredoc_marker(words.v[i], &fd, &chomp, &rest))
			continue;
		char *name;
		struct petra_error *e = NULL;
		if (heredoc_name(rest, &name, &expand, &e) < 0) {
			r = parse_fail(p, line, "%s", e->message);
			petra_error_free(e);
			goto out;
		}
		if (!name)
			continue;
		size_t nlen = strlen(name);
		strbuf_reset(&content);
		struct phys l;
		size_t body_start = p->pos;
		unsigned first_line = p->line + 1;
		bool terminated = false;
		int got;
		while ((got = read_line(p, &l)) > 0) {
			size_t ts = l.start;
			if (chomp)
				while (ts < l.end && p->src[ts] == '\t')
					ts++;
			if (l.end - ts == nlen && !memcmp(p->src + ts, name, nlen)) {
				terminated = true;
				*span_end = l.end;
				break;
			}
			strbuf_add(&content, p->src + l.start, l.next - l.start);
		}
		if (got < 0) {
			free(name);
			r = got;
			goto out;
		}
		if (!terminated) {
			struct strbuf q = STRBUF_INIT;
			dockerfile_quote_go(&q, name, nlen);
			r = parse_fail(p, line, "unterminated heredoc %s", strbuf_str(&q));
			strbuf_release(&q);
			free(name);
			goto out;
		}
		if (chomp)
			chomp_tabs(&content);
		xgrow((void **)&docs, &alloc, n + 1, sizeof(*docs));
		docs[n++] = (struct dockerfile_heredoc){
		    .name = arena_strndup(p->arena, name, nlen),
		    .content = arena_strndup(p->arena, strbuf_str(&content), content.len),
		    .content_len = content.len,
		    .fd = fd,
		    .expand = expand,
		    .chomp = chomp,
		    .start_line = first_line,
		    .end_line = p->line,
		    .start = body_start,
		    .end = *span_end,
		};
		free(name);
	}
	target->heredocs = arena_memdup(p->arena, docs, n * sizeof(*docs));
	target->n_heredocs = n;
out:
	free(docs);
	return r;
}

static bool can_contain_heredoc(const struct dockerfile_instruction *in)
{
	if (in->kind == DOCKERFILE_ONBUILD && in->sub)
		in = in->sub;
	return (in->kind == DOCKERFILE_RUN || in->kind == DOCKERFILE_COPY ||
		in->kind == DOCKERFILE_ADD) &&
	       !in->json;
}

/* ---- the file ---- */

static int add_instruction(struct parser *p, unsigned start_line, size_t first_comment,
			   size_t n_comments, bool empty_continuation, size_t content_end)
{
	struct dockerfile *df = p->df;
	struct dockerfile_instruction in = {0};
	int r = parse_instruction(p, 0, p->logical.len, 0, start_line, &in);
	if (r < 0)
		return r;
	size_t span_end = content_end;
	if (can_contain_heredoc(&in) && strstr(strbuf_str(&p->logical), "<<")) {
		struct dockerfile_instruction *target = in.sub ? in.sub : &in;
		r = read_heredocs(p, target, start_line, &span_end);
		if (r < 0)
			return r;
	}
	in.start_line = start_line;
	in.end_line = p->line;
	in.end = span_end;
	in.first_comment = first_comment;
	in.n_comments = n_comments;
	in.stage = DOCKERFILE_GLOBAL;
	dockerfile_position(df, in.start, NULL, &in.col);
	if (in.sub) {
		in.sub->start_line = in.start_line;
		in.sub->end_line = in.end_line;
		in.sub->end = in.end;
		dockerfile_position(df, in.sub->start, NULL, &in.sub->col);
	}
	if (!(p->flags & DOCKERFILE_PARSE_RAW)) {
		struct petra_error *e = NULL;
		if (dockerfile_check_instruction(&in, p->seen_from, &e) < 0) {
			r = parse_fail(p, start_line, "%s", e->message);
			petra_error_free(e);
			return r;
		}
	}
	if (in.kind == DOCKERFILE_FROM)
		p->seen_from = true;
	if (empty_continuation) {
		xgrow((void **)&df->warnings, &p->warns_alloc, df->n_warnings + 1,
		      sizeof(*df->warnings));
		df->warnings[df->n_warnings++] = (struct dockerfile_warning){
		    .line = start_line,
		    .message = "empty continuation line (BuildKit will make this an error)",
		};
	}
	xgrow((void **)&df->instructions, &p->ins_alloc, df->n_instructions + 1,
	      sizeof(*df->instructions));
	df->instructions[df->n_instructions++] = in;
	return 0;
}

static int parse_lines(struct parser *p)
{
	struct phys l;
	int got;
	while ((got = read_line(p, &l)) > 0) {
		size_t s = l.start, e = l.end;
		if (p->line == 1 && e - s >= 3 && !memcmp(p->src + s, "\xEF\xBB\xBF", 3))
			s += 3;
		s = dockerfile_go_skip_space(p->src, s, e);
		if (!p->directives_done) {
			int d = parse_directive(p, s, e);
			if (d < 0)
				return d;
			if (d > 0)
				continue;
			p->directives_done = true;
		}
		if (s < e && p->src[s] == '#') {
			add_comment(p, s, e, false);
			continue;
		}
		if (s == e)
			continue;

		unsigned start_line = p->line;
		size_t first_comment = p->comment_mark;
		size_t n_comments = p->df->n_comments - first_comment;
		strbuf_reset(&p->logical);
		p->n_segs = 0;
		p->logical_start = s;
		size_t ce = e;
		bool cont = trim_continuation(p, s, &ce);
		add_piece(p, s, ce);
		size_t content_end = e;
		bool empty_continuation = false;
		while (cont && (got = read_line(p, &l)) > 0) {
			size_t ts = dockerfile_go_skip_space(p->src, l.start, l.end);
			if (ts < l.end && p->src[ts] == '#') {
				add_comment(p, ts, l.end, true);
				continue;
			}
			if (ts == l.end) {
				empty_continuation = true;
				continue;
			}
			ce = l.end;
			cont = trim_continuation(p, l.start, &ce);
			add_piece(p, l.start, ce);
			content_end = l.end;
		}
		if (got < 0)
			return got;
		int r = add_instruction(p, start_line, first_comment, n_comments,
					empty_continuation, content_end);
		if (r < 0)
			return r;
		p->comment_mark = p->df->n_comments;
	}
	return got;
}

/* Stages: each FROM and what follows it. */
static void find_stages(struct parser *p)
{
	struct dockerfile *df = p->df;
	size_t n = 0;
	for (size_t i = 0; i < df->n_instructions; i++)
		n += df->instructions[i].kind == DOCKERFILE_FROM;
	if (!n)
		return;
	df->stages = arena_alloc(p->arena, n * sizeof(*df->stages));
	size_t cur = DOCKERFILE_GLOBAL;
	for (size_t i = 0; i < df->n_instructions; i++) {
		struct dockerfile_instruction *in = &df->instructions[i];
		if (in->kind == DOCKERFILE_FROM) {
			if (cur != DOCKERFILE_GLOBAL)
				df->stages[cur].end = i;
			cur = cur == DOCKERFILE_GLOBAL ? 0 : cur + 1;
			struct dockerfile_stage *st = &df->stages[cur];
			memset(st, 0, sizeof(*st));
			st->from = i;
			st->base = in->n_args ? &in->args[0] : NULL;
			st->platform = dockerfile_flag(in, "platform");
			if (in->n_args == 3 && !strcasecmp(in->args[1].text, "as")) {
				char *name =
				    arena_strndup(p->arena, in->args[2].text, in->args[2].len);
				for (char *c = name; *c; c++)
					if (*c >= 'A' && *c <= 'Z')
						*c = (char)(*c | 0x20);
				st->name = name;
			}
		}
		in->stage = cur;
	}
	df->stages[cur].end = df->n_instructions;
	df->n_stages = n;
}

int dockerfile_parse(const char *data, size_t len, struct dockerfile_parse_opts *opts,
		     struct dockerfile **out, struct petra_error **err)
{
	const char *name = opts && opts->name ? opts->name : "Dockerfile";
	if (opts)
		opts->error_line = 0;
	*out = NULL;
	if (len > DOCKERFILE_MAX_SIZE)
		return petra_error_set(err, EFBIG, "%s: larger than the maximum of %u bytes", name,
				       DOCKERFILE_MAX_SIZE);
	struct dockerfile *df = xcalloc(1, sizeof(*df));
	df->priv = xcalloc(1, sizeof(*df->priv));
	struct parser p = {
	    .src = data,
	    .len = len,
	    .escape = '\\',
	    .flags = opts ? opts->flags : 0,
	    .name = name,
	    .err = err,
	    .df = df,
	    .arena = &df->priv->arena,
	};
	int r = 0;
	const char *nul = memchr(data, '\0', len);
	if (nul) {
		/* Count the lines before it for the message. */
		unsigned line = 1;
		for (const char *c = data; c < nul; c++)
			line += *c == '\n';
		r = parse_fail(&p, line, "NUL byte: not a text file");
		goto out;
	}
	char *copy = arena_strndup(p.arena, data, len);
	p.src = copy;
	df->source = copy;
	df->source_len = len;
	df->name = arena_strndup(p.arena, name, strlen(name));
	r = parse_lines(&p);
	if (r < 0)
		goto out;
	df->n_lines = p.line;
	df->escape = p.escape;
	if (!df->n_instructions) {
		r = parse_fail(&p, p.line ? p.line : 1, "file with no instructions");
		goto out;
	}
	find_stages(&p);
	if (!(p.flags & DOCKERFILE_PARSE_RAW) && !df->n_stages)
		r = parse_fail(&p, df->instructions[df->n_instructions - 1].start_line,
			       "no FROM instruction: nothing to build");
out:
	strbuf_release(&p.logical);
	free(p.segs);
	if (opts)
		opts->error_line = p.error_line;
	if (r < 0) {
		dockerfile_free(df);
		return r;
	}
	*out = df;
	return 0;
}

int dockerfile_parse_file(int dirfd, const char *path, struct dockerfile_parse_opts *opts,
			  struct dockerfile **out, struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = fs_read_file_at(dirfd, path, DOCKERFILE_MAX_SIZE, &data, &len, err);
	if (r < 0)
		return r;
	struct dockerfile_parse_opts o = {.name = path};
	if (opts) {
		o = *opts;
		if (!o.name)
			o.name = path;
	}
	r = dockerfile_parse(data, len, &o, out, err);
	if (opts)
		opts->error_line = o.error_line;
	return r;
}

void dockerfile_free(struct dockerfile *df)
{
	if (!df)
		return;
	free(df->instructions);
	free(df->comments);
	free(df->directives);
	free(df->warnings);
	if (df->priv) {
		free(df->priv->line_starts);
		arena_release(&df->priv->arena);
		free(df->priv);
	}
	free(df);
}

const char *dockerfile_kind_name(enum dockerfile_kind kind)
{
	static const char *const names[] = {
	    "ADD",    "ARG",   "CMD",         "COPY",  "ENTRYPOINT", "ENV",
	    "EXPOSE", "FROM",  "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD",
	    "RUN",    "SHELL", "STOPSIGNAL",  "USER",  "VOLUME",     "WORKDIR",
	};
	return (size_t)kind < ARRAY_SIZE(names) ? names[kind] : "UNKNOWN";
}

const char *dockerfile_flag(const struct dockerfile_instruction *in, const char *name)
{
	size_t n = strlen(name);
	const char *value = NULL;
	for (size_t i = 0; i < in->n_flags; i++) {
		const char *f = in->flags[i].text;
		if (strncmp(f, "--", 2) || strncmp(f + 2, name, n))
			continue;
		if (f[2 + n] == '=')
			value = f + 3 + n;
		else if (!f[2 + n])
			value = "";
	}
	return value;
}

void dockerfile_position(const struct dockerfile *df, size_t offset, unsigned *line, unsigned *col)
{
	const size_t *ls = df->priv ? df->priv->line_starts : NULL;
	size_t n = df->n_lines;
	size_t lo = 0, hi = n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (ls[mid] <= offset)
			lo = mid;
		else
			hi = mid;
	}
	if (line)
		*line = n ? (unsigned)lo + 1 : 1;
	if (col)
		*col = n ? (unsigned)(offset - ls[lo]) + 1 : 1;
}

const struct dockerfile_heredoc *dockerfile_find_heredoc(const struct dockerfile_instruction *in,
							 const char *word)
{
	unsigned fd;
	bool chomp, expand;
	const char *rest;
	if (!in->n_heredocs || !heredoc_marker(word, &fd, &chomp, &rest))
		return NULL;
	char *name;
	struct petra_error *err = NULL;
	if (heredoc_name(rest, &name, &expand, &err) < 0) {
		petra_error_free(err);
		return NULL;
	}
	const struct dockerfile_heredoc *found = NULL;
	for (size_t i = 0; name && i < in->n_heredocs && !found; i++)
		if (!strcmp(in->heredocs[i].name, name))
			found = &in->heredocs[i];
	free(name);
	return found;
}
