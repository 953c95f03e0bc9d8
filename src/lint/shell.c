/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small shell splitter for the rules that read RUN commands (apt-get
 * flags, cd, sudo, pipes into a shell, rm of a file an earlier layer
 * wrote). It is not a shell: it knows quotes, escapes, comments, command
 * substitution and the operators that separate commands, which is what
 * the rules need. ShellCheck does the real analysis when it is installed.
 */
#include "internal.h"

#include <string.h>

struct splitter {
	struct sh_script *out;
	struct strvec words;
	struct strvec outputs;
	struct strbuf word;
	bool in_word;
	bool want_output; /* the next word is a > target */
	bool substituted;
};

static void end_word(struct splitter *s)
{
	if (!s->in_word)
		return;
	if (s->want_output) {
		strvec_push(&s->outputs, s->word.buf);
		s->want_output = false;
	} else {
		strvec_push(&s->words, s->word.buf);
	}
	strbuf_reset(&s->word);
	s->in_word = false;
}

static bool is_keyword(const char *w)
{
	static const char *const kw[] = {"if",    "then",  "else", "elif", "fi", "do",   "done",
					 "while", "until", "!",    "{",    "}",  "time", NULL};
	for (size_t i = 0; kw[i]; i++)
		if (!strcmp(w, kw[i]))
			return true;
	return false;
}

static bool is_assignment(const char *w)
{
	const char *eq = strchr(w, '=');
	if (!eq || eq == w)
		return false;
	for (const char *p = w; p < eq; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9' && p > w) || *p == '_'))
			return false;
	return true;
}

static void end_command(struct splitter *s, enum sh_op op)
{
	end_word(s);
	s->want_output = false;
	size_t skip = 0;
	while (skip < s->words.n &&
	       (is_keyword(s->words.v[skip]) || is_assignment(s->words.v[skip])))
		skip++;
	if (skip == s->words.n && !s->outputs.n) {
		/* nothing: an operator after an empty command joins the last one */
		if (op != SH_SEQ && op != SH_END && s->out->n &&
		    s->out->cmds[s->out->n - 1].op == SH_SEQ)
			s->out->cmds[s->out->n - 1].op = op;
		strvec_clear(&s->words);
		return;
	}
	struct sh_script *sc = s->out;
	xgrow((void **)&sc->cmds, &sc->alloc, sc->n + 1, sizeof(*sc->cmds));
	struct sh_cmd *c = &sc->cmds[sc->n++];
	memset(c, 0, sizeof(*c));
	c->argc = s->words.n - skip;
	c->argv = xcalloc(c->argc + 1, sizeof(char *));
	for (size_t i = 0; i < c->argc; i++)
		c->argv[i] = steal_pointer(&s->words.v[skip + i]);
	c->n_outputs = s->outputs.n;
	c->outputs = xcalloc(c->n_outputs + 1, sizeof(char *));
	for (size_t i = 0; i < c->n_outputs; i++)
		c->outputs[i] = steal_pointer(&s->outputs.v[i]);
	c->op = op;
	c->substituted = s->substituted;
	strvec_clear(&s->words);
	strvec_clear(&s->outputs);
}

/* The end of a $( ... ) or `...` starting at p (after the opener):
 * nesting and quotes respected. Returns the index of the closer or len. */
static size_t subst_end(const char *p, size_t len, char closer)
{
	int depth = 1;
	char quote = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = p[i];
		if (quote) {
			if (ch == '\\' && quote == '"' && i + 1 < len)
				i++;
			else if (ch == quote)
				quote = 0;
			continue;
		}
		if (ch == '\\' && i + 1 < len) {
			i++;
		} else if (ch == '\'' || (ch == '"' && closer != '"')) {
			quote = ch;
		} else if (closer == ')' && ch == '(') {
			depth++;
		} else if (ch == closer && --depth == 0) {
			return i;
		}
	}
	return len;
}

static void split(const char *text, size_t len, bool substituted, struct sh_script *out);

/* Copy a substitution into the current word and split its commands too. */
static size_t take_subst(struct splitter *s, const char *p, size_t len, size_t open_len,
			 char closer)
{
	size_t inner = subst_end(p + open_len, len - open_len, closer);
	size_t total = open_len + inner + (open_len + inner < len ? 1 : 0);
	strbuf_add(&s->word, p, total);
	s->in_word = true;
	split(p + open_len, inner, true, s->out);
	return total;
}

static void split(const char *text, size_t len, bool substituted, struct sh_script *out)
{
	struct splitter s = {.out = out, .substituted = substituted};
	size_t i = 0;
	while (i < len) {
		char ch = text[i];
		if (ch == '\\' && i + 1 < len) {
			if (text[i + 1] != '\n') {
				strbuf_addch(&s.word, text[i + 1]);
				s.in_word = true;
			}
			i += 2;
		} else if (ch == '\'') {
			const char *end = memchr(text + i + 1, '\'', len - i - 1);
			size_t n = end ? (size_t)(end - text - i - 1) : len - i - 1;
			strbuf_add(&s.word, text + i + 1, n);
			s.in_word = true;
			i += n + 2;
		} else if (ch == '"') {
			i++;
			s.in_word = true;
			while (i < len && text[i] != '"') {
				if (text[i] == '\\' && i + 1 < len &&
				    strchr("\"\\$`\n", text[i + 1])) {
					if (text[i + 1] != '\n')
						strbuf_addch(&s.word, text[i + 1]);
					i += 2;
				} else if (text[i] == '$' && i + 1 < len && text[i + 1] == '(') {
					i += take_subst(&s, text + i, len - i, 2, ')');
				} else if (text[i] == '`') {
					i += take_subst(&s, text + i, len - i, 1, '`');
				} else {
					strbuf_addch(&s.word, text[i++]);
				}
			}
			i++;
		} else if (ch == '$' && i + 1 < len && text[i + 1] == '(') {
			i += take_subst(&s, text + i, len - i, 2, ')');
		} else if (ch == '`') {
			i += take_subst(&s, text + i, len - i, 1, '`');
		} else if ((ch == '<' || ch == '>') && i + 1 < len && text[i + 1] == '(') {
			/* process substitution <(...) */
			i += take_subst(&s, text + i, len - i, 2, ')');
		} else if (ch == '#' && !s.in_word) {
			while (i < len && text[i] != '\n')
				i++;
		} else if (ch == ' ' || ch == '\t' || ch == '\r') {
			end_word(&s);
			i++;
		} else if (ch == '\n' || ch == ';') {
			end_command(&s, SH_SEQ);
			i += (ch == ';' && i + 1 < len && text[i + 1] == ';') ? 2 : 1;
		} else if (ch == '&' && i + 1 < len && text[i + 1] == '&') {
			end_command(&s, SH_AND);
			i += 2;
		} else if (ch == '|' && i + 1 < len && text[i + 1] == '|') {
			end_command(&s, SH_OR);
			i += 2;
		} else if (ch == '|') {
			end_command(&s, SH_PIPE);
			i += (i + 1 < len && text[i + 1] == '&') ? 2 : 1;
		} else if (ch == '&' && !(i + 1 < len && text[i + 1] == '>')) {
			end_command(&s, SH_BG);
			i++;
		} else if (ch == '(' || ch == ')') {
			end_command(&s, SH_SEQ);
			i++;
		} else if (ch == '>' || ch == '<' ||
			   (ch == '&' && i + 1 < len && text[i + 1] == '>')) {
			/* a redirection: "2>" and "&>" end a word of digits */
			bool fd_word = s.in_word && strspn(s.word.buf, "0123456789") == s.word.len;
			if (fd_word) {
				strbuf_reset(&s.word);
				s.in_word = false;
			} else {
				end_word(&s);
			}
			bool output = ch != '<';
			size_t j = i + 1;
			if (ch == '&')
				j++;
			if (j < len && (text[j] == '>' || text[j] == '<'))
				j++; /* >> << */
			if (j < len && text[j] == '&') {
				/* >&2 2>&1: a descriptor, not a file */
				j++;
				while (j < len &&
				       ((text[j] >= '0' && text[j] <= '9') || text[j] == '-'))
					j++;
				output = false;
				i = j;
				continue;
			}
			i = j;
			/* the target is the next word; inputs are kept as words */
			s.want_output = output;
			if (!output) {
				while (i < len && (text[i] == ' ' || text[i] == '\t'))
					i++;
				/* skip the input file (or heredoc delimiter) */
				while (i < len && !strchr(" \t\n;&|", text[i]))
					i++;
			}
		} else {
			strbuf_addch(&s.word, ch);
			s.in_word = true;
			i++;
		}
	}
	end_command(&s, SH_END);
	strvec_clear(&s.words);
	strvec_clear(&s.outputs);
	strbuf_release(&s.word);
}

void lint_sh_parse(const char *text, struct sh_script *out)
{
	memset(out, 0, sizeof(*out));
	split(text, strlen(text), false, out);
}

void lint_sh_script_release(struct sh_script *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t k = 0; k < s->cmds[i].argc; k++)
			free(s->cmds[i].argv[k]);
		free(s->cmds[i].argv);
		for (size_t k = 0; k < s->cmds[i].n_outputs; k++)
			free(s->cmds[i].outputs[k]);
		free(s->cmds[i].outputs);
	}
	free(s->cmds);
	memset(s, 0, sizeof(*s));
}

const char *lint_sh_cmd_name(const struct sh_cmd *c, size_t *first_arg)
{
	static const char *const wrappers[] = {"sudo",    "env",   "nice",   "nohup", "exec",
					       "command", "xargs", "stdbuf", NULL};
	size_t i = 0;
	while (i < c->argc) {
		const char *w = c->argv[i];
		const char *base = strrchr(w, '/');
		base = base ? base + 1 : w;
		bool wrapper = false;
		for (size_t k = 0; wrappers[k]; k++)
			if (!strcmp(base, wrappers[k]))
				wrapper = true;
		if (!wrapper && !(i > 0 && (w[0] == '-' || is_assignment(w)))) {
			if (first_arg)
				*first_arg = i + 1;
			return base;
		}
		i++;
	}
	return NULL;
}

bool lint_sh_has_option(const struct sh_cmd *c, size_t from, const char *opt)
{
	bool short_opt = opt[0] == '-' && opt[1] && opt[1] != '-' && !opt[2];
	for (size_t i = from; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (!strcmp(a, opt))
			return true;
		if (short_opt && a[0] == '-' && a[1] != '-' && strchr(a + 1, opt[1]))
			return true;
	}
	return false;
}
