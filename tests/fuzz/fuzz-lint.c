/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the linter (every rule, the shell splitter) and rebase on arbitrary
 * Dockerfiles, with a policy that has a catalog, a ban and rewrites. */
#include "lint/lint.h"

#include <string.h>

static const char policy_yaml[] =
    "bases:\n"
    "  allow: [\"debian:12*\", \"**/base/**\"]\n"
    "  ban: [{image: \"debian:12.1*\", reason: r}]\n"
    "  rewrite:\n"
    "    - {match: \"alpine:3.19\", to: \"alpine:3.20\", reason: bump}\n"
    "    - {match: \"alpine:3.20\", pin: "
    "\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", "
    "reason: pin}\n"
    "    - {mirror: docker.io, to: mirror.example/hub, reason: mirror}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_error *err = NULL;
	struct petra_policy *p = NULL;
	if (petra_policy_parse(policy_yaml, sizeof(policy_yaml) - 1, "p.yaml", &p, &err) < 0)
		__builtin_trap();
	struct lint_options opts = {.policy = p};
	struct lint_linter *l = NULL;
	if (lint_new(&opts, &l, &err) < 0)
		__builtin_trap();
	struct lint_result r;
	if (lint_buffer(l, (const char *)data, size, "Dockerfile", &r, &err) < 0) {
		petra_error_free(err); /* only a missing --target can fail, and there is none */
		__builtin_trap();
	}
	for (size_t i = 0; i < r.n_findings; i++)
		if (!r.findings[i].line || !r.findings[i].message)
			__builtin_trap();
	json_t *sarif = lint_sarif_new();
	lint_sarif_add(sarif, &r);
	json_decref(sarif);
	lint_result_release(&r);

	struct dockerfile *df = NULL;
	if (dockerfile_parse((const char *)data, size, NULL, &df, &err) == 0) {
		struct policy_rebase rb;
		if (petra_policy_rebase(p, df, &rb, &err) < 0)
			__builtin_trap();
		/* nothing but the edits changes: the rest of the bytes are the same */
		size_t removed = 0, added = 0;
		for (size_t i = 0; i < rb.n_edits; i++) {
			removed += rb.edits[i].end - rb.edits[i].start;
			added += strlen(rb.edits[i].after);
		}
		if (rb.output_len != df->source_len - removed + added)
			__builtin_trap();
		struct strbuf diff = STRBUF_INIT;
		policy_rebase_diff(df, &rb, "Dockerfile", &diff);
		strbuf_release(&diff);
		policy_rebase_release(&rb);
		dockerfile_free(df);
	} else {
		petra_error_free(err);
	}
	lint_free(l);
	petra_policy_free(p);
	return 0;
}
