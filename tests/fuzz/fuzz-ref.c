/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz image references and digests. */
#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct oci_ref ref;
	struct petra_error *err = NULL;
	if (oci_ref_parse(s, &ref, &err) == 0) {
		char *back = oci_ref_format(&ref);
		/* What was accepted formats back to something accepted again. */
		struct oci_ref again;
		if (oci_ref_parse(back, &again, NULL) != 0)
			__builtin_trap();
		oci_ref_release(&again);
		free(back);
		oci_ref_release(&ref);
	} else {
		petra_error_free(err);
	}
	(void)oci_digest_valid(s);
	err = NULL;
	oci_digest_check(s, &err);
	petra_error_free(err);
	free(s);
	return 0;
}
