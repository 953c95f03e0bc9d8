/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection for prune and rmi (the library's runtime_collect_garbage). */
#include "cli.h"

int cli_collect_garbage(struct petra_store *store, bool dry_run, struct rootfs_gc_result *result)
{
	_cleanup_free_ char *run_dir = runtime_default_run_dir(petra_store_root(store));
	struct petra_error *err = NULL;
	if (runtime_collect_garbage(store, run_dir, dry_run, result, &err) < 0)
		return cli_fail(err);
	return EXIT_OK;
}
