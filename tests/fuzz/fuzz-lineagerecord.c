/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the build record parser (records come from registries with pulls). */
#include "lineage/lineage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_error *err = NULL;
	struct lineage_record rec;
	if (lineage_record_parse((const char *)data, size, &rec, &err) == 0) {
		/* What parsed must make a statement again. */
		json_t *st = lineage_record_statement(
		    &rec, rec.image_name,
		    "sha256:0000000000000000000000000000000000000000000000000000000000000000");
		json_decref(st);
		lineage_record_release(&rec);
	}
	petra_error_free(err);
	return 0;
}
