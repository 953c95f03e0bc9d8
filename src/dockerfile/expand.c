/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Word processing as BuildKit's shell lexer (frontend/dockerfile/shell)
 * does it, and the variables it reads.
 *
 * The input is read as runes: invalid UTF-8 becomes U+FFFD, as Go's
 * text/scanner makes it. Quirks kept on purpose because builds depend on
 * them: an escape at the very end is dropped, "" alone is no word when
 * splitting, ${VAR/p/r} and ${VAR#p} patterns know only * and ?, and
 * neither matches a newline.
 */
#include "internal.h"

/* ---- variables: insertion-ordered hash map --------------------------- */

struct var_entry {
	char *name;
	char *value; /* NULL: declared, unset */
};

struct dockerfile_vars {
	struct var_entry *entries;
	size_t n, alloc;
	size_t *index; /* entry number + 1, 0 = empty; open addressing */
	size_t capacity;
};

static size_t vars_slot(const struct dockerfile_vars *v, const char *name)
{
	size_t mask = v->capacity - 1;
	size_t i = (size_t)str_hash(name) & mask;
	while (v->index[i] && strcmp(v->entries[v->index[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return i;
}

struct dockerfile_vars *dockerfile_vars_new(void)
{
	return xcalloc(1, sizeof(struct dockerfile_vars));
}

void dockerfile_vars_free(struct dockerfile_vars *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->entries[i].name);
		free(v->entries[i].value);
	}
	free(v->entries);
	free(v->index);
	free(v);
}

void dockerfile_vars_set(struct dockerfile_vars *v, const char *name, const char *value)
{
	if ((v->n + 1) * 2 > v->capacity) {
		size_t cap = v->capacity ? v->capacity * 2 : 16;
		free(v->index);
		v->index = xcalloc(cap, sizeof(size_t));
		v->capacity = cap;
		for (size_t i = 0; i < v->n; i++)
			v->index[vars_slot(v, v->entries[i].name)] = i + 1;
	}
	size_t slot = vars_slot(v, name);
	if (v->index[slot]) {
		struct var_entry *e = &v->entries[v->index[slot] - 1];
		free(e->value);
		e->value = value ? xstrdup(value) : NULL;
		return;
	}
	xgrow((void **)&v->entries, &v->alloc, v->n + 1, sizeof(*v->entries));
	v->entries[v->n] = (struct var_entry){xstrdup(name), value ? xstrdup(value) : NULL};
	v->index[slot] = ++v->n;
}

void dockerfile_vars_set_pair(struct dockerfile_vars *v, const char *pair)
{
	const char *eq = strchr(pair, '=');
	if (!eq) {
		dockerfile_vars_set(v, pair, "");
		return;
	}
	char *name = xstrndup(pair, (size_t)(eq - pair));
	dockerfile_vars_set(v, name, eq + 1);
	free(name);
}

const char *dockerfile_vars_get(const struct dockerfile_vars *v, const char *name, bool *declared)
{
	if (declared)
		*declared = false;
	if (!v || !v->capacity)
		return NULL;
	size_t slot = vars_slot(v, name);
	if (!v->index[slot])
		return NULL;
	if (declared)
		*declared = true;
	return v->entries[v->index[slot] - 1].value;
}

struct dockerfile_vars *dockerfile_vars_copy(const struct dockerfile_vars *v)
{
	struct dockerfile_vars *c = dockerfile_vars_new();
	for (size_t i = 0; v && i < v->n; i++)
		dockerfile_vars_set(c, v->entries[i].name, v->entries[i].value);
	return c;
}

size_t dockerfile_vars_count(const struct dockerfile_vars *v)
{
	return v ? v->n : 0;
}

const char *dockerfile_vars_at(const struct dockerfile_vars *v, size_t i, const char **value)
{
	if (!v || i >= v->n)
		return NULL;
	if (value)
		*value = v->entries[i].value;
	return v->entries[i].name;
}

/* ---- the lexer ------------------------------------------------------- */

#define LEX_EOF (-1)
/* ${a:-${b:-${c...}}} nests; bounded so hostile input cannot exhaust the
 * stack. */
#define LEX_MAX_DEPTH 64
/* No real word expands to a megabyte; nested ${V//p/r} can multiply a
 * value's length at each level, so a few hundred bytes of input could
 * otherwise ask for gigabytes and minutes. */
#define EXPAND_MAX_LEN (1u << 20)

struct lexer {
	const struct dockerfile_expander *ex;
	const unsigned char *s;
	size_t i, n;
	bool raw_escapes;
	int depth;
	struct petra_error **err;
};

/* Words being split (BuildKit's wordsStruct). */
struct words {
	struct strbuf word;
	struct strvec *out; /* NULL: not splitting */
	bool in_word;
};

static int32_t lex_peek(const struct lexer *lx)
{
	if (lx->i >= lx->n)
		return LEX_EOF;
	size_t w;
	return (int32_t)dockerfile_utf8_decode(lx->s + lx->i, lx->n - lx->i, &w);
}

static int32_t lex_next(struct lexer *lx)
{
	if (lx->i >= lx->n)
		return LEX_EOF;
	size_t w;
	uint32_t r = dockerfile_utf8_decode(lx->s + lx->i, lx->n - lx->i, &w);
	lx->i += w;
	return (int32_t)r;
}

static void words_raw_rune(struct words *w, uint32_t r)
{
	if (!w->out)
		return;
	dockerfile_utf8_append(&w->word, r);
	w->in_word = true;
}

static void words_rune(struct words *w, uint32_t r)
{
	if (!w->out)
		return;
	if (dockerfile_go_rune_is_space(r)) {
		if (w->in_word && w->word.len) {
			strvec_push(w->out, strbuf_str(&w->word));
			strbuf_reset(&w->word);
			w->in_word = false;
		}
		return;
	}
	words_raw_rune(w, r);
}

/* A substituted value: split at its spaces. */
static void words_string(struct words *w, const char *s, size_t n)
{
	if (!w->out)
		return;
	for (size_t i = 0; i < n;) {
		size_t width;
		uint32_t r = dockerfile_utf8_decode((const unsigned char *)s + i, n - i, &width);
		words_rune(w, r);
		i += width;
	}
}

/* A quoted string: one piece of a word, spaces and all. */
static void words_raw_string(struct words *w, const char *s, size_t n)
{
	if (!w->out)
		return;
	strbuf_add(&w->word, s, n);
	w->in_word = true;
}

static void words_finish(struct words *w)
{
	if (w->out && w->word.len)
		strvec_push(w->out, strbuf_str(&w->word));
	strbuf_release(&w->word);
}

static int lex_fail(struct lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lex_fail(struct lexer *lx, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	petra_error_set(lx->err, EINVAL, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
	return -EINVAL;
}

static int process_stop_on(struct lexer *lx, int32_t stop, bool raw_escapes, struct strbuf *result,
			   struct words *w);
static int process_dollar(struct lexer *lx, struct strbuf *out);

/* The operand of a ${...} operator, up to `stop`; running out of input
 * is BuildKit's `missing` message. */
static int read_operand(struct lexer *lx, int32_t stop, bool raw_escapes, struct strbuf *out,
			const char *missing)
{
	int r = process_stop_on(lx, stop, raw_escapes, out, NULL);
	if (r < 0 && lex_peek(lx) == LEX_EOF)
		r = lex_fail(lx, "syntax error: missing %s", missing);
	return r;
}

static const char *lookup(struct lexer *lx, const char *name, bool *set)
{
	const struct dockerfile_expander *ex = lx->ex;
	bool declared;
	const char *v = dockerfile_vars_get(ex->vars, name, &declared);
	if (!v && ex->fallback)
		v = dockerfile_vars_get(ex->fallback, name, &declared);
	*set = v != NULL;
	if (!v && ex->unset)
		strset_add(ex->unset, name);
	return v ? v : "";
}

static int process_single_quote(struct lexer *lx, struct strbuf *out)
{
	bool raw = lx->ex->flags & DOCKERFILE_EXPAND_RAW_QUOTES;
	lex_next(lx);
	if (raw)
		strbuf_addch(out, '\'');
	for (;;) {
		int32_t ch = lex_next(lx);
		if (ch == LEX_EOF)
			return lex_fail(lx, "unexpected end of statement while looking for "
					    "matching single-quote");
		if (ch == '\'') {
			if (raw)
				strbuf_addch(out, '\'');
			return 0;
		}
		dockerfile_utf8_append(out, (uint32_t)ch);
	}
}

static int process_double_quote(struct lexer *lx, struct strbuf *out)
{
	bool raw = lx->ex->flags & DOCKERFILE_EXPAND_RAW_QUOTES;
	int32_t esc = (unsigned char)lx->ex->escape;
	lex_next(lx);
	if (raw)
		strbuf_addch(out, '"');
	for (;;) {
		int32_t ch = lex_peek(lx);
		if (ch == LEX_EOF)
			return lex_fail(lx, "unexpected end of statement while looking for "
					    "matching double-quote");
		if (ch == '"') {
			lex_next(lx);
			if (raw)
				strbuf_addch(out, '"');
			return 0;
		}
		if (ch == '$') {
			int r = process_dollar(lx, out);
			if (r < 0)
				return r;
			continue;
		}
		ch = lex_next(lx);
		if (ch == esc) {
			if (lx->raw_escapes)
				dockerfile_utf8_append(out, (uint32_t)ch);
			int32_t nx = lex_peek(lx);
			if (nx == LEX_EOF)
				continue; /* fails at the top of the loop */
			/* Only these can be escaped; otherwise the escape stays. */
			if (nx == '"' || nx == '$' || nx == esc)
				ch = lex_next(lx);
		}
		dockerfile_utf8_append(out, (uint32_t)ch);
	}
}

static bool is_special_param(int32_t ch)
{
	return ch == '@' || ch == '*' || ch == '#' || ch == '?' || ch == '-' || ch == '$' ||
	       ch == '!' || ch == '0';
}

/* A name: letters, digits, _; or all digits; or one special parameter. */
static void process_name(struct lexer *lx, struct strbuf *name)
{
	for (int32_t ch = lex_peek(lx); ch != LEX_EOF; ch = lex_peek(lx)) {
		if (!name->len && dockerfile_unicode_is_digit((uint32_t)ch)) {
			while ((ch = lex_peek(lx)) != LEX_EOF &&
			       dockerfile_unicode_is_digit((uint32_t)ch))
				dockerfile_utf8_append(name, (uint32_t)lex_next(lx));
			return;
		}
		if (!name->len && is_special_param(ch)) {
			dockerfile_utf8_append(name, (uint32_t)lex_next(lx));
			return;
		}
		if (!dockerfile_unicode_is_letter((uint32_t)ch) &&
		    !dockerfile_unicode_is_digit((uint32_t)ch) && ch != '_')
			return;
		dockerfile_utf8_append(name, (uint32_t)lex_next(lx));
	}
}

/* ---- shell patterns: * and ? (not across newlines), escapes ----------- */

enum pat_kind { PAT_LIT, PAT_ANY, PAT_STAR };
struct pat_tok {
	enum pat_kind kind;
	uint32_t rune;
};

struct runes {
	uint32_t *v;
	size_t n, alloc;
};

static void runes_push(struct runes *r, uint32_t c)
{
	xgrow((void **)&r->v, &r->alloc, r->n + 1, sizeof(*r->v));
	r->v[r->n++] = c;
}

/* Go's []rune(s): invalid bytes become U+FFFD. */
static void runes_of(struct runes *r, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t w;
		runes_push(r, dockerfile_utf8_decode((const unsigned char *)s + i, n - i, &w));
		i += w;
	}
}

/* BuildKit's convertShellPatternToRegex, as tokens. */
static int compile_pattern(struct lexer *lx, const struct runes *p, struct pat_tok **out,
			   size_t *n_out, const char *pattern)
{
	struct pat_tok *t = xmalloc((p->n + 1) * sizeof(*t));
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++) {
		uint32_t c = p->v[i];
		if (c == '*') {
			t[n++] = (struct pat_tok){PAT_STAR, 0};
		} else if (c == '?') {
			t[n++] = (struct pat_tok){PAT_ANY, 0};
		} else if (c == '\\') {
			uint32_t next = i + 1 < p->n ? p->v[i + 1] : 0;
			/* \} and \/ are ${} syntax, not part of the pattern. */
			if (next == '}' || next == '/')
				continue;
			if (next != '*' && next != '?' && next != '\\') {
				free(t);
				struct strbuf e = STRBUF_INIT;
				if (i + 1 < p->n)
					dockerfile_utf8_append(&e, next);
				int r = lex_fail(lx,
						 "invalid pattern (%s) in substitution: invalid "
						 "escape '\\%s'",
						 pattern, strbuf_str(&e));
				strbuf_release(&e);
				return r;
			}
			t[n++] = (struct pat_tok){PAT_LIT, next};
			i++;
		} else {
			t[n++] = (struct pat_tok){PAT_LIT, c};
		}
	}
	*out = t;
	*n_out = n;
	return 0;
}

/* NFA simulation over the pattern tokens: state k = k tokens matched; a
 * star state also stands for the state after it. Each live state keeps
 * the smallest start position that reaches it (leftmost wins). */
struct glob {
	const struct pat_tok *t;
	size_t n;
	size_t *cur, *nxt; /* start + 1 per state, 0 = dead */
};

static void glob_add(struct glob *g, size_t *set, size_t state, size_t start1)
{
	for (;;) {
		if (set[state] && set[state] <= start1)
			return;
		set[state] = start1;
		if (state < g->n && g->t[state].kind == PAT_STAR)
			state++;
		else
			return;
	}
}

static bool glob_step_ok(const struct pat_tok *t, uint32_t c)
{
	if (t->kind == PAT_LIT)
		return t->rune == c;
	return c != '\n';
}

/* Match the pattern against v[from..]: anchored at `from` (unanchored: the
 * leftmost start, greedy). Returns true with [*ms, *me) of the match. */
static bool glob_match(struct glob *g, const struct runes *v, size_t from, bool anchored,
		       bool greedy, size_t *ms, size_t *me)
{
	size_t states = g->n + 1;
	memset(g->cur, 0, states * sizeof(size_t));
	bool found = false;
	size_t best_s = 0, best_e = 0;
	glob_add(g, g->cur, 0, from + 1);
	for (size_t i = from;; i++) {
		if (g->cur[g->n]) {
			size_t s = g->cur[g->n] - 1;
			if (!found || s < best_s || (s == best_s && greedy)) {
				found = true;
				best_s = s;
				best_e = i;
				if (!greedy && anchored)
					break;
			}
		}
		if (i >= v->n)
			break;
		memset(g->nxt, 0, states * sizeof(size_t));
		bool alive = false;
		for (size_t k = 0; k < g->n; k++) {
			if (!g->cur[k] || (found && g->cur[k] - 1 > best_s))
				continue;
			if (!glob_step_ok(&g->t[k], v->v[i]))
				continue;
			size_t to = g->t[k].kind == PAT_STAR ? k : k + 1;
			glob_add(g, g->nxt, to, g->cur[k]);
			alive = true;
		}
		if (!anchored && !found)
			glob_add(g, g->nxt, 0, i + 2);
		else if (!alive)
			break;
		size_t *tmp = g->cur;
		g->cur = g->nxt;
		g->nxt = tmp;
	}
	*ms = best_s;
	*me = best_e;
	return found;
}

static void glob_init(struct glob *g, const struct pat_tok *t, size_t n)
{
	g->t = t;
	g->n = n;
	g->cur = xcalloc(n + 1, sizeof(size_t));
	g->nxt = xcalloc(n + 1, sizeof(size_t));
}

static void glob_release(struct glob *g)
{
	free(g->cur);
	free(g->nxt);
}

static void runes_append_to(struct strbuf *out, const struct runes *r, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		dockerfile_utf8_append(out, r->v[i]);
}

/* ${VAR#p}, ${VAR##p}, ${VAR%p}, ${VAR%%p}. */
static int trim_pattern(struct lexer *lx, const char *value, const char *word, bool suffix,
			struct strbuf *out)
{
	bool greedy = false;
	char op = suffix ? '%' : '#';
	if (word[0] == op) {
		greedy = true;
		word++;
	}
	struct runes p = {0}, v = {0};
	runes_of(&p, word, strlen(word));
	runes_of(&v, value, strlen(value));
	if (suffix) {
		/* BuildKit reverses pattern (escapes kept in front) and value,
		 * so the shortest suffix becomes the shortest prefix. */
		struct runes rp = {0};
		/* Escape pairs first, so "\\*" stays an escaped star. */
		struct runes pairs = {0};
		for (size_t i = 0; i < p.n;) {
			if (p.v[i] == '\\' && i + 1 < p.n) {
				runes_push(&pairs, p.v[i + 1] | 0x80000000u);
				i += 2;
			} else {
				runes_push(&pairs, p.v[i]);
				i++;
			}
		}
		for (size_t i = pairs.n; i > 0; i--) {
			uint32_t c = pairs.v[i - 1];
			if (c & 0x80000000u) {
				runes_push(&rp, '\\');
				runes_push(&rp, c & 0x7FFFFFFFu);
			} else {
				runes_push(&rp, c);
			}
		}
		free(pairs.v);
		free(p.v);
		p = rp;
		for (size_t i = 0; i < v.n / 2; i++) {
			uint32_t t = v.v[i];
			v.v[i] = v.v[v.n - 1 - i];
			v.v[v.n - 1 - i] = t;
		}
	}
	struct pat_tok *toks;
	size_t n_toks;
	int r = compile_pattern(lx, &p, &toks, &n_toks, word);
	if (r == 0) {
		struct glob g;
		glob_init(&g, toks, n_toks);
		size_t ms = 0, me = 0;
		size_t cut = glob_match(&g, &v, 0, true, greedy, &ms, &me) ? me : 0;
		glob_release(&g);
		free(toks);
		if (suffix) {
			for (size_t i = v.n; i > cut; i--)
				dockerfile_utf8_append(out, v.v[i - 1]);
		} else {
			runes_append_to(out, &v, cut, v.n);
		}
	}
	free(p.v);
	free(v.v);
	return r;
}

/* ${VAR/p/r} and ${VAR//p/r}: leftmost, longest matches replaced. */
static int replace_pattern(struct lexer *lx, const char *value, const char *pattern,
			   const char *replacement, bool all, struct strbuf *out)
{
	struct runes p = {0}, v = {0};
	runes_of(&p, pattern, strlen(pattern));
	runes_of(&v, value, strlen(value));
	struct pat_tok *toks;
	size_t n_toks;
	int r = compile_pattern(lx, &p, &toks, &n_toks, pattern);
	free(p.v);
	if (r < 0) {
		free(v.v);
		return r;
	}
	struct glob g;
	glob_init(&g, toks, n_toks);
	size_t pos = 0;
	bool prev_match = false;
	size_t prev_end = 0;
	while (pos <= v.n) {
		size_t ms, me;
		if (out->len > EXPAND_MAX_LEN) {
			r = lex_fail(lx, "substitution result longer than %u bytes",
				     EXPAND_MAX_LEN);
			break;
		}
		if (!glob_match(&g, &v, pos, false, true, &ms, &me))
			break;
		if (me == ms && prev_match && ms == prev_end) {
			/* Go ignores an empty match right after a match. */
			if (ms >= v.n)
				break;
			runes_append_to(out, &v, pos, ms + 1);
			pos = ms + 1;
			continue;
		}
		runes_append_to(out, &v, pos, ms);
		strbuf_addstr(out, replacement);
		prev_match = true;
		prev_end = me;
		if (me == ms) {
			if (ms < v.n)
				dockerfile_utf8_append(out, v.v[ms]);
			pos = ms + 1;
		} else {
			pos = me;
		}
		if (!all)
			break;
	}
	if (r == 0 && pos < v.n)
		runes_append_to(out, &v, pos, v.n);
	glob_release(&g);
	free(toks);
	free(v.v);
	return r;
}

/* At '$'. Appends the substitution to out. */
static int process_dollar(struct lexer *lx, struct strbuf *out)
{
	bool skip_unset = lx->ex->flags & DOCKERFILE_EXPAND_SKIP_UNSET;
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT;
	bool set;
	lex_next(lx);
	if (lex_peek(lx) != '{') {
		process_name(lx, &name);
		if (!name.len) {
			strbuf_addch(out, '$');
			return 0;
		}
		const char *v = lookup(lx, name.buf, &set);
		if (!set && skip_unset)
			strbuf_addf(out, "$%s", name.buf);
		else
			strbuf_addstr(out, v);
		return 0;
	}
	lex_next(lx);
	int32_t ch = lex_peek(lx);
	if (ch == LEX_EOF)
		return lex_fail(lx, "syntax error: missing '}'");
	if (ch == '{' || ch == '}' || ch == ':')
		return lex_fail(lx, "syntax error: bad substitution");
	if (lx->depth >= LEX_MAX_DEPTH)
		return lex_fail(lx, "substitutions nested deeper than %d", LEX_MAX_DEPTH);
	process_name(lx, &name);
	ch = lex_next(lx);
	_cleanup_strbuf_ struct strbuf chs = STRBUF_INIT;
	if (ch == LEX_EOF)
		return lex_fail(lx, "syntax error: missing '}'");
	dockerfile_utf8_append(&chs, (uint32_t)ch);
	bool null_is_unset = false;
	int r;
	lx->depth++;
	if (ch == '}') {
		const char *v = lookup(lx, strbuf_str(&name), &set);
		if (!set && skip_unset)
			strbuf_addf(out, "${%s}", strbuf_str(&name));
		else
			strbuf_addstr(out, v);
		r = 0;
	} else if (ch == ':' || ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%') {
		if (ch == ':') {
			null_is_unset = true;
			ch = lex_next(lx);
			if (ch != LEX_EOF)
				dockerfile_utf8_append(&chs, (uint32_t)ch);
		}
		_cleanup_strbuf_ struct strbuf word = STRBUF_INIT;
		r = read_operand(lx, '}', ch == '#' || ch == '%', &word, "'}'");
		if (r < 0)
			goto out;
		const char *v = lookup(lx, strbuf_str(&name), &set);
		if (skip_unset && !set) {
			strbuf_addf(out, "${%s%s%s}", strbuf_str(&name), strbuf_str(&chs),
				    strbuf_str(&word));
			goto out;
		}
		bool empty = !set || (null_is_unset && !*v);
		switch (ch) {
		case '-':
			strbuf_addstr(out, empty ? strbuf_str(&word) : v);
			break;
		case '+':
			if (!empty)
				strbuf_addstr(out, strbuf_str(&word));
			break;
		case '?':
			if (!set)
				r = lex_fail(lx, "%s: %s", strbuf_str(&name),
					     word.len ? word.buf : "is not allowed to be unset");
			else if (null_is_unset && !*v)
				r = lex_fail(lx, "%s: %s", strbuf_str(&name),
					     word.len ? word.buf : "is not allowed to be empty");
			else
				strbuf_addstr(out, v);
			break;
		case '#':
		case '%':
			r = trim_pattern(lx, v, strbuf_str(&word), ch == '%', out);
			break;
		default:
			r = lex_fail(lx, "unsupported modifier (%s) in substitution",
				     strbuf_str(&chs));
		}
	} else if (ch == '/') {
		bool all = lex_peek(lx) == '/';
		if (all)
			lex_next(lx);
		_cleanup_strbuf_ struct strbuf pattern = STRBUF_INIT;
		_cleanup_strbuf_ struct strbuf repl = STRBUF_INIT;
		r = read_operand(lx, '/', true, &pattern, "'/' in ${}");
		if (r == 0)
			r = read_operand(lx, '}', true, &repl, "'}'");
		if (r < 0)
			goto out;
		const char *v = lookup(lx, strbuf_str(&name), &set);
		if (skip_unset && !set) {
			strbuf_addf(out, "${%s/%s/%s}", strbuf_str(&name), strbuf_str(&pattern),
				    strbuf_str(&repl));
			goto out;
		}
		r = replace_pattern(lx, v, strbuf_str(&pattern), strbuf_str(&repl), all, out);
	} else {
		r = lex_fail(lx, "unsupported modifier (%s) in substitution", strbuf_str(&chs));
	}
	if (r == 0 && out->len > EXPAND_MAX_LEN)
		r = lex_fail(lx, "substitution result longer than %u bytes", EXPAND_MAX_LEN);
out:
	lx->depth--;
	return r;
}

static int process_stop_on(struct lexer *lx, int32_t stop, bool raw_escapes, struct strbuf *result,
			   struct words *w)
{
	bool quotes = !(lx->ex->flags & DOCKERFILE_EXPAND_NO_QUOTES);
	int32_t esc = (unsigned char)lx->ex->escape;
	bool saved = lx->raw_escapes;
	lx->raw_escapes = raw_escapes;
	int r = 0;
	_cleanup_strbuf_ struct strbuf tmp = STRBUF_INIT;
	while (lx->i < lx->n) {
		int32_t ch = lex_peek(lx);
		if (stop != LEX_EOF && ch == stop) {
			lex_next(lx);
			goto done;
		}
		if (ch == '$' || (quotes && (ch == '\'' || ch == '"'))) {
			strbuf_reset(&tmp);
			r = ch == '$'    ? process_dollar(lx, &tmp)
			    : ch == '\'' ? process_single_quote(lx, &tmp)
					 : process_double_quote(lx, &tmp);
			if (r < 0)
				goto done;
			strbuf_add(result, tmp.buf ? tmp.buf : "", tmp.len);
			if (w && ch == '$')
				words_string(w, strbuf_str(&tmp), tmp.len);
			else if (w)
				words_raw_string(w, strbuf_str(&tmp), tmp.len);
			continue;
		}
		ch = lex_next(lx);
		if (ch == esc) {
			if (lx->raw_escapes) {
				if (w)
					words_raw_rune(w, (uint32_t)ch);
				dockerfile_utf8_append(result, (uint32_t)ch);
			}
			ch = lex_next(lx);
			if (ch == LEX_EOF)
				break; /* an escape at the very end is dropped */
			if (w)
				words_raw_rune(w, (uint32_t)ch);
		} else if (w) {
			words_rune(w, (uint32_t)ch);
		}
		dockerfile_utf8_append(result, (uint32_t)ch);
	}
	if (stop != LEX_EOF) {
		char c[5] = {0};
		c[0] = (char)stop;
		r = lex_fail(lx, "unexpected end of statement while looking for matching %s", c);
	}
done:
	lx->raw_escapes = saved;
	return r;
}

static int expand(const struct dockerfile_expander *ex, const char *word, struct strbuf *result,
		  struct strvec *words, struct petra_error **err)
{
	static const struct dockerfile_expander none = {.escape = '\\'};
	if (!ex)
		ex = &none;
	size_t n = strlen(word);
	struct lexer lx = {.ex = ex, .s = (const unsigned char *)word, .n = n, .err = err};
	/* Go's text/scanner skips a byte-order mark at the start. */
	if (n >= 3 && !memcmp(word, "\xEF\xBB\xBF", 3))
		lx.i = 3;
	struct words w = {.word = STRBUF_INIT, .out = words};
	int r = process_stop_on(&lx, LEX_EOF, ex->flags & DOCKERFILE_EXPAND_RAW_ESCAPES, result,
				words ? &w : NULL);
	if (r == 0)
		words_finish(&w);
	else
		strbuf_release(&w.word);
	if (r < 0) {
		_cleanup_free_ char *q = str_quote(word);
		petra_error_prefix(err, "failed to process %s", q);
	}
	return r;
}

int dockerfile_expand_word(const struct dockerfile_expander *ex, const char *word, char **out,
			   struct petra_error **err)
{
	struct strbuf sb = STRBUF_INIT;
	int r = expand(ex, word, &sb, NULL, err);
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	*out = strbuf_detach(&sb);
	return 0;
}

int dockerfile_expand_words(const struct dockerfile_expander *ex, const char *word,
			    struct strvec *out, struct petra_error **err)
{
	struct strbuf sb = STRBUF_INIT;
	size_t before = out->n;
	int r = expand(ex, word, &sb, out, err);
	strbuf_release(&sb);
	if (r < 0) {
		while (out->n > before)
			free(out->v[--out->n]);
		if (out->v)
			out->v[out->n] = NULL;
	}
	return r;
}
