/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the strict simple-signing payload parser: what it accepts, rebuilt
 * by trust_payload_build, parses again to the same fields. */
#include "trust/trust.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_error *err = NULL;
	struct trust_payload p;
	if (trust_payload_parse((const char *)data, size, &p, &err) < 0) {
		if (!err || strncmp(err->message, "payload: ", 9))
			__builtin_trap(); /* every refusal says it is about the payload */
		petra_error_free(err);
		return 0;
	}
	size_t len;
	json_t *annotations = json_is_object(p.optional) ? p.optional : NULL;
	char *again = trust_payload_build(p.docker_reference, p.manifest_digest, annotations, &len);
	struct trust_payload q;
	if (trust_payload_parse(again, len, &q, &err) < 0 ||
	    strcmp(p.docker_reference, q.docker_reference) ||
	    strcmp(p.manifest_digest, q.manifest_digest))
		__builtin_trap();
	trust_payload_release(&q);
	free(again);
	trust_payload_release(&p);
	return 0;
}
