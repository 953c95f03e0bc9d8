/* SPDX-License-Identifier: Apache-2.0 */
/* The one place a verb asks the gate whether an image may become a process:
 * run (and run -d), start, restart, exec, test and bundle call cli_gate();
 * deploy and the admission webhook ask the same trust gate through
 * kube_trust_gate(). */
#include "cli.h"

#include <string.h>

#include "policy/policy.h"

int cli_gate_option(int opt, const char *arg, struct cli_gate_args *a)
{
	switch (opt) {
	case CLI_OPT_GATE_POLICY:
		a->policy_path = arg;
		return 0;
	case CLI_OPT_SIGNATURE_POLICY:
		a->signature_policy = arg;
		return 0;
	default:
		return -1;
	}
}

static void print_reasons(const char *prefix, const struct strvec *reasons)
{
	/* Lines starting with spaces are details of the line before. */
	for (size_t i = 0; i < reasons->n; i++)
		fprintf(stderr, "%s  %s\n", prefix, reasons->v[i]);
}

int cli_gate(struct petra_store *store, const char *image, enum trust_purpose purpose,
	     const struct cli_gate_args *a, bool warn_only)
{
	const char *what = trust_purpose_name(purpose);
	struct petra_error *err = NULL;
	_cleanup_policy_ struct petra_policy *policy = NULL;
	if (petra_policy_load_default(a->policy_path, &policy, &err) < 0) {
		/* A policy that cannot be read is no answer: refuse (exec
		 * warns). */
		if (!warn_only)
			return cli_fail(err), -1;
		log_warn("cannot check %s against the policy: %s", image, err->message);
		petra_error_free(err);
		return 0;
	}
	/* No policy and no signature policy: nothing to ask, as before. */
	if (!policy && !a->signature_policy)
		return 0;
	struct trust_gate_result r;
	if (trust_gate_check_with(store, image, purpose, policy, a->signature_policy, &r, &err) <
	    0) {
		petra_error_prefix(&err, "the gate has no answer for %s (%s)", image, what);
		if (!warn_only)
			return cli_fail(err), -1;
		log_warn("%s", err->message);
		petra_error_free(err);
		return 0;
	}
	int status = 0;
	if (!r.allowed) {
		if (warn_only) {
			fprintf(stderr, "petra: warning: the policy now refuses %s:\n", image);
			print_reasons("petra: warning:", &r.reasons);
		} else {
			fprintf(stderr, "petra: %s refused by the policy (%s):\n", image, what);
			print_reasons("petra:", &r.reasons);
			status = 1;
		}
	}
	trust_gate_result_release(&r);
	return status;
}

const char *cli_gate_container_image(struct petra_store *store, const struct runtime_container *ct)
{
	if (!ct->image_digest)
		return ct->image;
	struct oci_descriptor desc;
	struct petra_error *err = NULL;
	if (ct->image && petra_store_resolve(store, ct->image, &desc, NULL, &err) == 0) {
		bool same = !strcmp(desc.digest, ct->image_digest);
		oci_descriptor_release(&desc);
		if (same)
			return ct->image;
	}
	petra_error_free(err);
	return ct->image_digest;
}
