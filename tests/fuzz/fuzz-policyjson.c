/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the containers-policy.json reader and the scope resolution over a
 * few images (with no signatures: nothing reads a key file). */
#include "trust/trust.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_error *err = NULL;
	struct trust_containers_policy *p = NULL;
	if (trust_containers_policy_parse((const char *)data, size, "/nonexistent/policy.json", &p,
					  &err) < 0) {
		if (!err || strncmp(err->message, "/nonexistent/policy.json: ", 26))
			__builtin_trap(); /* every refusal names the file */
		petra_error_free(err);
		return 0;
	}
	static const struct trust_policy_image images[] = {
	    {"docker", "docker.io/library/busybox:latest", "busybox:latest", "sha256:00"},
	    {"docker", "registry.example.com:5000/a/b/c@sha256:00", NULL, "sha256:00"},
	    {"dir", "/srv/images/app", "app:1", "sha256:00"},
	    {"oci", "/x", NULL, "sha256:00"},
	};
	struct trust_signatures none = {0};
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		struct strvec reasons = STRVEC_INIT;
		const char *scope = NULL;
		if (trust_containers_policy_check(p, &images[i], &none, &reasons, &scope, &err) <
		    0) {
			petra_error_free(err); /* a key file that does not exist */
			err = NULL;
		} else if (!scope) {
			__builtin_trap();
		}
		strvec_clear(&reasons);
	}
	trust_containers_policy_free(p);
	return 0;
}
