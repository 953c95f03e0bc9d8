/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation wrappers, strbuf, strvec, strset and the arena. */
#include "base.h"

#include <string.h>

static void __attribute__((noreturn)) out_of_memory(size_t size)
{
	fprintf(stderr, "petra: out of memory (allocating %zu bytes)\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		out_of_memory(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		out_of_memory(size);
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		out_of_memory(strlen(s) + 1);
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		out_of_memory(n + 1);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb);
}

void xgrow(void **array, size_t *alloc, size_t need, size_t size)
{
	if (need <= *alloc)
		return;
	size_t n = *alloc ? *alloc : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			out_of_memory(SIZE_MAX);
		n *= 2;
	}
	*array = xrealloc(*array, n * size);
	*alloc = n;
}

/* ---- strbuf ---- */

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 < sb->len)
		out_of_memory(SIZE_MAX);
	size_t need = sb->len + extra + 1;
	if (need <= sb->alloc)
		return;
	size_t n = sb->alloc ? sb->alloc : 64;
	while (n < need)
		n *= 2;
	sb->buf = xrealloc(sb->buf, n);
	sb->alloc = n;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, char c)
{
	strbuf_add(sb, &c, 1);
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		strbuf_add(sb, small, (size_t)n);
		return;
	}
	strbuf_grow(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_add_quoted(struct strbuf *sb, const char *s, size_t max)
{
	strbuf_addch(sb, '"');
	size_t i = 0;
	for (; s[i] && (max == 0 || i < max); i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, (char)c);
		} else if (c == '\n') {
			strbuf_addstr(sb, "\\n");
		} else if (c == '\t') {
			strbuf_addstr(sb, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			strbuf_addf(sb, "\\x%02x", c);
		} else {
			strbuf_addch(sb, (char)c);
		}
	}
	if (s[i])
		strbuf_addstr(sb, "...");
	strbuf_addch(sb, '"');
}

char *str_quote(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_add_quoted(&sb, s, 256);
	return strbuf_detach(&sb);
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (len > sb->len)
		return;
	sb->len = len;
	if (sb->buf)
		sb->buf[len] = '\0';
}

void strbuf_reset(struct strbuf *sb)
{
	strbuf_setlen(sb, 0);
}

const char *strbuf_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

char *strbuf_detach(struct strbuf *sb)
{
	char *s = sb->buf ? sb->buf : xstrdup("");
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return s;
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

/* ---- strvec ---- */

void strvec_push_nodup(struct strvec *sv, char *s)
{
	xgrow((void **)&sv->v, &sv->alloc, sv->n + 2, sizeof(char *));
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void strvec_push(struct strvec *sv, const char *s)
{
	strvec_push_nodup(sv, xstrdup(s));
}

void strvec_pushf(struct strvec *sv, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strvec_push_nodup(sv, strbuf_detach(&sb));
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strvec_sort(struct strvec *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(char *), compare_strings);
}

void strvec_clear(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->alloc = 0;
}

/* ---- strset: open addressing with linear probing, FNV-1a hashes ---- */

uint64_t str_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t strset_find(char **slots, size_t capacity, const char *s)
{
	size_t mask = capacity - 1;
	size_t i = (size_t)str_hash(s) & mask;
	while (slots[i] && strcmp(slots[i], s) != 0)
		i = (i + 1) & mask;
	return i;
}

bool strset_contains(const struct strset *set, const char *s)
{
	if (!set->capacity)
		return false;
	return set->slots[strset_find(set->slots, set->capacity, s)] != NULL;
}

bool strset_add(struct strset *set, const char *s)
{
	if ((set->used + 1) * 4 >= set->capacity * 3) {
		size_t capacity = set->capacity ? set->capacity * 2 : 64;
		char **slots = xcalloc(capacity, sizeof(char *));
		for (size_t i = 0; i < set->capacity; i++)
			if (set->slots[i])
				slots[strset_find(slots, capacity, set->slots[i])] = set->slots[i];
		free(set->slots);
		set->slots = slots;
		set->capacity = capacity;
	}
	size_t i = strset_find(set->slots, set->capacity, s);
	if (set->slots[i])
		return false;
	set->slots[i] = xstrdup(s);
	set->used++;
	return true;
}

void strset_clear(struct strset *set)
{
	for (size_t i = 0; i < set->capacity; i++)
		free(set->slots[i]);
	free(set->slots);
	set->slots = NULL;
	set->used = set->capacity = 0;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (la == 1 && a[0] == '/')
		return xasprintf("/%s", b);
	if (!*b)
		return xstrndup(a, la);
	return xasprintf("%.*s/%s", (int)la, a, b);
}

bool path_is_clean(const char *path)
{
	if (path[0] != '/')
		return false;
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, "/");
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len + (p[len] == '/');
	}
	return true;
}

/* ---- arena ---- */

struct arena_chunk {
	struct arena_chunk *next;
	max_align_t data[];
};

#define ARENA_CHUNK 16384

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (size > a->left) {
		/* Big requests get their own chunk so the current one keeps its
		 * free space. */
		size_t cap = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
		struct arena_chunk *c = xmalloc(sizeof(*c) + cap);
		c->next = a->chunks;
		a->chunks = c;
		if (cap != ARENA_CHUNK)
			return c->data;
		a->next = (char *)c->data;
		a->left = cap;
	}
	void *p = a->next;
	a->next += size;
	a->left -= size;
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *arena_memdup(struct arena *a, const void *p, size_t size)
{
	if (!size)
		return NULL;
	void *q = arena_alloc(a, size);
	memcpy(q, p, size);
	return q;
}

void arena_release(struct arena *a)
{
	struct arena_chunk *c = a->chunks;
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->chunks = NULL;
	a->next = NULL;
	a->left = 0;
}
