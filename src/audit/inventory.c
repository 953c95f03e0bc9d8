/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Package databases as the package managers write them: dpkg's status
 * file (RFC 822-style paragraphs; status.d/ files of distroless images
 * hold one paragraph each, without Status) and apk's installed database
 * ("K:value" lines, blank lines between packages). The input comes from
 * an image, so anything may be in it: no field is trusted to exist, be
 * short, or come once.
 */
#include "internal.h"

#include <string.h>

#define MAX_FIELD 4096 /* longer values are cut: names and versions are short */

void audit_inventory_pkgs_free(struct inventory_pkg *pkgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pkgs[i].name);
		free(pkgs[i].version);
		free(pkgs[i].source);
		free(pkgs[i].arch);
	}
	free(pkgs);
}

static int compare_pkgs(const void *a, const void *b)
{
	const struct inventory_pkg *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->version, y->version);
}

const struct inventory_pkg *audit_inventory_find(const struct inventory_pkg *pkgs, size_t n,
						 const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(pkgs[mid].name, name);
		if (!c)
			return &pkgs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A value with surrounding blanks trimmed, cut at MAX_FIELD. */
static char *field_value(const char *p, size_t len)
{
	while (len && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	return xstrndup(p, len < MAX_FIELD ? len : MAX_FIELD);
}

static void set_field(char **slot, const char *p, size_t len)
{
	free(*slot);
	*slot = field_value(p, len);
}

struct pkg_list {
	struct inventory_pkg *v;
	size_t n, alloc;
};

/* Keep pkg if it has a name and a version; release it otherwise. */
static void keep(struct pkg_list *l, struct inventory_pkg *pkg, bool installed)
{
	if (installed && pkg->name && *pkg->name && pkg->version && *pkg->version) {
		if (!pkg->source || !*pkg->source) {
			free(pkg->source);
			pkg->source = xstrdup(pkg->name);
		}
		if (!pkg->arch)
			pkg->arch = xstrdup("");
		xgrow((void **)&l->v, &l->alloc, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = *pkg;
	} else {
		free(pkg->name);
		free(pkg->version);
		free(pkg->source);
		free(pkg->arch);
	}
	memset(pkg, 0, sizeof(*pkg));
}

static void finish(struct pkg_list *l, struct inventory_pkg **out, size_t *n)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), compare_pkgs);
	*out = l->v;
	*n = l->n;
}

/* "installed" as the last word of a Status value ("install ok installed",
 * "hold ok installed"; not "deinstall ok config-files"). */
static bool status_installed(const char *status)
{
	size_t len = strlen(status);
	return len >= 9 && !strcmp(status + len - 9, "installed") &&
	       (len == 9 || status[len - 10] == ' ');
}

void audit_inventory_parse_dpkg(const char *data, size_t len, bool status_required,
				struct inventory_pkg **out, size_t *n)
{
	struct pkg_list l = {0};
	struct inventory_pkg pkg = {0};
	char *status = NULL;
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		bool blank = true;
		for (size_t i = 0; i < ll; i++)
			if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
				blank = false;
		if (blank) {
			keep(&l, &pkg, !status_required || (status && status_installed(status)));
			free(status);
			status = NULL;
		} else if (p[0] != ' ' && p[0] != '\t') {
			/* (Continuation lines only extend long fields such as
			 * Description, none of which is read.) */
			const char *colon = memchr(p, ':', ll);
			char **last = NULL;
			if (colon) {
				size_t kl = (size_t)(colon - p);
				const char *v = colon + 1;
				size_t vl = ll - kl - 1;
				if (kl == 7 && !strncasecmp(p, "Package", 7))
					last = &pkg.name;
				else if (kl == 7 && !strncasecmp(p, "Version", 7))
					last = &pkg.version;
				else if (kl == 12 && !strncasecmp(p, "Architecture", 12))
					last = &pkg.arch;
				else if (kl == 6 && !strncasecmp(p, "Status", 6))
					last = &status;
				else if (kl == 6 && !strncasecmp(p, "Source", 6)) {
					/* "Source: name (version)": the name. */
					const char *paren = memchr(v, '(', vl);
					if (paren)
						vl = (size_t)(paren - v);
					last = &pkg.source;
				}
				if (last)
					set_field(last, v, vl);
			}
		}
		p = nl ? nl + 1 : end;
	}
	keep(&l, &pkg, !status_required || (status && status_installed(status)));
	free(status);
	finish(&l, out, n);
}

void audit_inventory_parse_apk(const char *data, size_t len, struct inventory_pkg **out, size_t *n)
{
	struct pkg_list l = {0};
	struct inventory_pkg pkg = {0};
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			keep(&l, &pkg, true);
		} else if (ll >= 2 && p[1] == ':') {
			switch (p[0]) {
			case 'P':
				set_field(&pkg.name, p + 2, ll - 2);
				break;
			case 'V':
				set_field(&pkg.version, p + 2, ll - 2);
				break;
			case 'A':
				set_field(&pkg.arch, p + 2, ll - 2);
				break;
			case 'o':
				set_field(&pkg.source, p + 2, ll - 2);
				break;
			default:
				break;
			}
		}
		p = nl ? nl + 1 : end;
	}
	keep(&l, &pkg, true);
	finish(&l, out, n);
}
