/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the OCI document parsers: manifest, index, config. */
#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_error *err = NULL;
	struct oci_manifest m;
	if (oci_manifest_parse((const char *)data, size, &m, &err) == 0) {
		json_t *back = oci_manifest_build(&m.config, m.layers, m.n_layers, NULL);
		json_decref(back);
		oci_manifest_release(&m);
	}
	petra_error_free(err);
	err = NULL;
	struct oci_index idx;
	if (oci_index_parse((const char *)data, size, &idx, &err) == 0) {
		(void)oci_index_select_platform(&idx, NULL);
		oci_index_release(&idx);
	}
	petra_error_free(err);
	err = NULL;
	struct oci_config c;
	if (oci_config_parse((const char *)data, size, &c, &err) == 0)
		oci_config_release(&c);
	petra_error_free(err);
	return 0;
}
