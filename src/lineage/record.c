/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Build records: in-toto statements with a SLSA provenance v1 predicate,
 * stored as referrers of the image they describe.
 */
#include "lineage.h"

#include <string.h>

int lineage_record_save(struct petra_store *store, const char *subject_digest,
			const struct lineage_record *record, struct petra_error **err)
{
	(void)store;
	(void)record;
	return petra_error_set(err, ENOSYS, "build record of %s: not implemented yet",
			       subject_digest);
}

int lineage_record_load(struct petra_store *store, const char *subject_digest,
			struct lineage_record *record, struct petra_error **err)
{
	(void)store;
	memset(record, 0, sizeof(*record));
	return petra_error_set(err, ENOSYS, "build record of %s: not implemented yet",
			       subject_digest);
}

void lineage_record_release(struct lineage_record *record)
{
	if (!record)
		return;
	free(record->producer);
	for (size_t i = 0; i < record->n_materials; i++) {
		free(record->materials[i].role);
		free(record->materials[i].name);
	}
	free(record->materials);
	free(record->dockerfile_path);
	free(record->context_dir);
	free(record->git_remote);
	free(record->git_revision);
	for (size_t i = 0; i < record->n_build_args; i++)
		free(record->build_args[i]);
	free(record->build_args);
	free(record->target);
	json_decref(record->parameters);
	memset(record, 0, sizeof(*record));
}
