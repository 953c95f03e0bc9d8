/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the admission webhook's handling of an AdmissionReview body (what
 * the API server, or anyone who can reach the webhook, sends): every body
 * gets a status and a JSON answer. */
#include "kube/kube.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kube_linter *linter;
	if (!linter) {
		struct petra_error *err = NULL;
		struct kube_lint_options options = {0};
		if (kube_linter_new(&options, &linter, &err) < 0)
			__builtin_trap();
	}
	struct kube_admission_options options = {.deny_at = LINT_ERROR, .max_body = 1 << 20};
	int status = 0;
	char *response = NULL;
	kube_admission_review(linter, &options, (const char *)data, size, &status, &response);
	if ((status != 200 && status != 400) || !response)
		__builtin_trap();
	json_error_t jerr;
	json_t *answer = json_loads(response, 0, &jerr);
	if (status == 200 && !answer)
		__builtin_trap(); /* a review is answered with a review */
	json_decref(answer);
	free(response);
	return 0;
}
