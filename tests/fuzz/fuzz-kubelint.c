/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the Kubernetes manifest linter's input (YAML documents, Lists,
 * workloads of every kind) as petra kube-lint reads a file; no store, so
 * the image-aware rules stay out. */
#include "kube/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kube_linter *linter;
	struct petra_error *err = NULL;
	if (!linter) {
		struct kube_lint_options options = {0};
		if (kube_linter_new(&options, &linter, &err) < 0)
			__builtin_trap();
	}
	struct kube_lint_result result = {0};
	if (kube_lint_buffer(linter, (const char *)data, size, "fuzz.yaml", &result, &err) < 0) {
		if (!err || !err->message[0])
			__builtin_trap(); /* a refused file says why */
		petra_error_free(err);
	} else {
		struct strbuf out = STRBUF_INIT;
		kube_lint_report_text(&result, &out);
		strbuf_release(&out);
		json_decref(kube_lint_report_json(&result));
	}
	kube_lint_result_release(&result);
	return 0;
}
