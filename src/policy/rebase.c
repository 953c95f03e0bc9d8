/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rebase: the policy's rewrite rules applied to a Dockerfile in place.
 * Only the bytes of a reference change: the parser gives the exact source
 * span of every word, and a word is rewritten only when its span holds
 * exactly its text (no continuation or quotes inside), so comments,
 * CRLF line ends, escapes and spacing stay as they were.
 */
#include "policy.h"

#include <string.h>
#include <strings.h>

void policy_rebase_release(struct policy_rebase *rb)
{
	for (size_t i = 0; i < rb->n_edits; i++) {
		free(rb->edits[i].before);
		free(rb->edits[i].after);
		policy_rewrite_result_release(&rb->edits[i].result);
	}
	free(rb->edits);
	strvec_clear(&rb->notes);
	free(rb->output);
	memset(rb, 0, sizeof(*rb));
}

static bool span_is_text(const struct dockerfile *df, size_t start, size_t end, const char *text,
			 size_t len)
{
	return end >= start && end - start == len && end <= df->source_len &&
	       !memcmp(df->source + start, text, len);
}

/* Does `name` name a stage before stage `before` (FROM name, COPY --from=name)? */
static bool names_stage(const struct dockerfile *df, const char *name, size_t before)
{
	for (size_t i = 0; i < before && i < df->n_stages; i++)
		if (df->stages[i].name && !strcasecmp(df->stages[i].name, name))
			return true;
	return false;
}

/* "$NAME" or "${NAME}": the name, else NULL. Caller frees. */
static char *plain_variable(const char *text)
{
	if (text[0] != '$')
		return NULL;
	const char *p = text + 1;
	bool brace = *p == '{';
	if (brace)
		p++;
	size_t n = 0;
	while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z') ||
	       (p[n] >= '0' && p[n] <= '9') || p[n] == '_')
		n++;
	if (!n || (brace ? strcmp(p + n, "}") : p[n] != '\0'))
		return NULL;
	return xstrndup(p, n);
}

/* The last global ARG word "NAME=value" declaring `name`. */
static const struct dockerfile_word *global_arg(const struct dockerfile *df, const char *name)
{
	const struct dockerfile_word *found = NULL;
	size_t n = strlen(name);
	for (size_t i = 0; i < df->n_instructions; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		if (in->stage != DOCKERFILE_GLOBAL)
			break;
		if (in->kind != DOCKERFILE_ARG)
			continue;
		for (size_t k = 0; k < in->n_args; k++) {
			const char *t = in->args[k].text;
			if (!strncmp(t, name, n) && (t[n] == '=' || t[n] == '\0'))
				found = &in->args[k];
		}
	}
	return found;
}

struct rebaser {
	const struct petra_policy *policy;
	const struct dockerfile *df;
	struct policy_rebase *rb;
	size_t alloc;
};

static void note(struct rebaser *rs, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct rebaser *rs, unsigned line, const char *fmt, ...)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s:%u: ", rs->df->name, line);
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strvec_push(&rs->rb->notes, sb.buf);
}

/* Rewrite the reference `text` found at source [start, end). */
static int rewrite_at(struct rebaser *rs, const char *where, const char *text, size_t start,
		      size_t end, struct petra_error **err)
{
	struct policy_rebase *rb = rs->rb;
	for (size_t i = 0; i < rb->n_edits; i++)
		if (rb->edits[i].start == start)
			return 0; /* an ARG two FROM lines use */
	unsigned line, col;
	dockerfile_position(rs->df, start, &line, &col);
	struct policy_rewrite_result res;
	struct petra_error *e = NULL;
	if (petra_policy_rewrite_base(rs->policy, text, &res, &e) < 0) {
		_cleanup_free_ char *q = str_quote(text);
		note(rs, line, "%s %s: not rewritten: %s", where, q, e->message);
		petra_error_free(e);
		return 0;
	}
	if (!res.ref)
		return 0;
	(void)err;
	xgrow((void **)&rb->edits, &rs->alloc, rb->n_edits + 1, sizeof(*rb->edits));
	rb->edits[rb->n_edits++] = (struct policy_rebase_edit){
	    .start = start,
	    .end = end,
	    .before = xstrdup(text),
	    .after = xstrdup(res.ref),
	    .line = line,
	    .col = col,
	    .where = where,
	    .result = res,
	};
	return 0;
}

static int rebase_word(struct rebaser *rs, const char *where, const struct dockerfile_word *w,
		       size_t text_offset, unsigned line, struct petra_error **err)
{
	const struct dockerfile *df = rs->df;
	const char *text = w->text + text_offset;
	size_t len = w->len - text_offset;
	if (strchr(text, '$')) {
		_cleanup_free_ char *var = plain_variable(text);
		const struct dockerfile_word *arg = var ? global_arg(df, var) : NULL;
		const char *eq = arg ? strchr(arg->text, '=') : NULL;
		_cleanup_free_ char *q = str_quote(text);
		if (!eq) {
			note(rs, line,
			     "%s %s: uses variables with no literal default; not rewritten", where,
			     q);
			return 0;
		}
		size_t off = (size_t)(eq + 1 - arg->text);
		const char *value = eq + 1;
		if (!*value || strpbrk(value, "$\"'\\`") ||
		    !span_is_text(df, arg->start + off, arg->end, value, arg->len - off)) {
			note(rs, line,
			     "%s %s: the ARG default is not written literally; not rewritten",
			     where, q);
			return 0;
		}
		return rewrite_at(rs, "ARG", value, arg->start + off, arg->end, err);
	}
	size_t start = w->start + text_offset;
	if (!span_is_text(df, start, w->end, text, len) || memchr(text, '\0', len)) {
		_cleanup_free_ char *q = str_quote(text);
		note(rs, line, "%s %s: written across lines or quoted; not rewritten", where, q);
		return 0;
	}
	return rewrite_at(rs, where, text, start, w->end, err);
}

static int cmp_edit(const void *a, const void *b)
{
	const struct policy_rebase_edit *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

int petra_policy_rebase(const struct petra_policy *policy, const struct dockerfile *df,
			struct policy_rebase *out, struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	struct rebaser rs = {.policy = policy, .df = df, .rb = out};
	for (size_t s = 0; s < df->n_stages; s++) {
		const struct dockerfile_stage *st = &df->stages[s];
		const struct dockerfile_instruction *from = &df->instructions[st->from];
		const struct dockerfile_word *base = st->base;
		if (base && strcasecmp(base->text, "scratch") && !names_stage(df, base->text, s) &&
		    rebase_word(&rs, "FROM", base, 0, from->start_line, err) < 0)
			goto fail;
		for (size_t i = st->from + 1; i < st->end; i++) {
			const struct dockerfile_instruction *in = &df->instructions[i];
			if (in->kind != DOCKERFILE_COPY)
				continue;
			const struct dockerfile_word *flag = NULL;
			for (size_t k = 0; k < in->n_flags; k++)
				if (!strncmp(in->flags[k].text, "--from=", 7))
					flag = &in->flags[k];
			if (!flag)
				continue;
			const char *value = flag->text + 7;
			if (!*value || names_stage(df, value, s) ||
			    strspn(value, "0123456789") == strlen(value))
				continue;
			if (rebase_word(&rs, "COPY --from", flag, 7, in->start_line, err) < 0)
				goto fail;
		}
	}
	if (out->n_edits) /* qsort wants an array, even of none */
		qsort(out->edits, out->n_edits, sizeof(*out->edits), cmp_edit);
	struct strbuf sb = STRBUF_INIT;
	size_t pos = 0;
	for (size_t i = 0; i < out->n_edits; i++) {
		strbuf_add(&sb, df->source + pos, out->edits[i].start - pos);
		strbuf_addstr(&sb, out->edits[i].after);
		pos = out->edits[i].end;
	}
	strbuf_add(&sb, df->source + pos, df->source_len - pos);
	out->output_len = sb.len;
	out->output = strbuf_detach(&sb);
	return 0;
fail:
	policy_rebase_release(out);
	return -EINVAL;
}

/* ---- unified diff -------------------------------------------------------- */

struct line_index {
	size_t *start; /* start[i]: offset of line i; start[n] = end */
	size_t n;
};

static void index_lines(const char *s, size_t len, struct line_index *li)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	if (len && s[len - 1] != '\n')
		n++;
	li->start = xmalloc((n + 1) * sizeof(size_t));
	li->n = n;
	size_t k = 0;
	li->start[k++] = 0;
	for (size_t i = 0; i < len && k < n + 1; i++)
		if (s[i] == '\n')
			li->start[k++] = i + 1;
	li->start[n] = len;
}

static void diff_line(struct strbuf *out, char mark, const char *s, const struct line_index *li,
		      size_t i)
{
	size_t a = li->start[i], b = li->start[i + 1];
	strbuf_addch(out, mark);
	strbuf_add(out, s + a, b - a);
	if (b == a || s[b - 1] != '\n')
		strbuf_addstr(out, "\n\\ No newline at end of file\n");
}

void policy_rebase_diff(const struct dockerfile *df, const struct policy_rebase *rb,
			const char *name, struct strbuf *out)
{
	if (!rb->n_edits)
		return;
	struct line_index a, b;
	index_lines(df->source, df->source_len, &a);
	index_lines(rb->output, rb->output_len, &b);
	/* References hold no newline, so both sides have the same lines. */
	size_t n = a.n < b.n ? a.n : b.n;
	_cleanup_free_ bool *changed = xcalloc(n + 1, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		size_t la = a.start[i + 1] - a.start[i], lb = b.start[i + 1] - b.start[i];
		changed[i] =
		    la != lb || memcmp(df->source + a.start[i], rb->output + b.start[i], la);
	}
	strbuf_addf(out, "--- a/%s\n+++ b/%s\n", name, name);
	const size_t ctx = 3;
	size_t i = 0;
	while (i < n) {
		if (!changed[i]) {
			i++;
			continue;
		}
		size_t first = i > ctx ? i - ctx : 0;
		/* extend the hunk while the next change is within 2*ctx lines */
		size_t last = i;
		for (size_t j = i; j < n && j <= last + 2 * ctx; j++)
			if (changed[j])
				last = j;
		size_t end = last + ctx + 1 < n ? last + ctx + 1 : n;
		strbuf_addf(out, "@@ -%zu,%zu +%zu,%zu @@\n", first + 1, end - first, first + 1,
			    end - first);
		for (size_t j = first; j < end;) {
			if (!changed[j]) {
				diff_line(out, ' ', df->source, &a, j++);
				continue;
			}
			size_t k = j;
			while (k < end && changed[k])
				k++;
			for (size_t x = j; x < k; x++)
				diff_line(out, '-', df->source, &a, x);
			for (size_t x = j; x < k; x++)
				diff_line(out, '+', rb->output, &b, x);
			j = k;
		}
		i = end;
	}
	free(a.start);
	free(b.start);
}
