/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the package database parsers (dpkg status, status.d, apk
 * installed): images are untrusted, so is what they say they installed. */
#include <string.h>

#include "audit/internal.h"

static void check(struct inventory_pkg *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* Every package kept has a name, a version and a source, and
		 * the list is sorted so lookups find them. */
		if (!*p[i].name || !*p[i].version || !p[i].source || !p[i].arch)
			__builtin_trap();
		if (i && strcmp(p[i - 1].name, p[i].name) > 0)
			__builtin_trap();
		if (!audit_inventory_find(p, n, p[i].name))
			__builtin_trap();
	}
	audit_inventory_pkgs_free(p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory_pkg *p;
	size_t n;
	audit_inventory_parse_dpkg((const char *)data, size, true, &p, &n);
	check(p, n);
	audit_inventory_parse_dpkg((const char *)data, size, false, &p, &n);
	check(p, n);
	audit_inventory_parse_apk((const char *)data, size, &p, &n);
	check(p, n);
	return 0;
}
