/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the policy loader (YAML with positions, validation) and, on what
 * loads, the base checks and rewrites over a few references. */
#include "policy/policy.h"

#include <string.h>

static const char *const refs[] = {
    "debian:12",
    "docker.io/library/debian:12.1-slim",
    "registry.example:5000/team/app:1.0",
    "alpine@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "quay.io/keycloak/keycloak:10.4.8",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_policy *p = NULL;
	struct petra_error *err = NULL;
	if (petra_policy_parse((const char *)data, size, "fuzz.yaml", &p, &err) < 0) {
		/* every error names the file */
		if (!err || strncmp(err->message, "policy: fuzz.yaml", 17))
			__builtin_trap();
		petra_error_free(err);
		return 0;
	}
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		struct policy_base_verdict v;
		if (petra_policy_check_base(p, refs[i], NULL, &v, &err) < 0)
			__builtin_trap(); /* the references are valid */
		struct policy_rewrite_result r;
		if (petra_policy_rewrite_base(p, refs[i], &r, &err) == 0) {
			/* a rewritten reference is a reference */
			struct policy_ref again;
			if (r.ref && policy_ref_parse(r.ref, &again, NULL) != 0)
				__builtin_trap();
			if (r.ref)
				policy_ref_release(&again);
			policy_rewrite_result_release(&r);
		} else {
			petra_error_free(err);
			err = NULL;
		}
	}
	(void)petra_policy_section(p, "audit");
	petra_policy_free(p);
	return 0;
}
