/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection for prune and rmi (the library's runtime_collect_garbage). */
#include "cli.h"

int cli_collect_garbage(struct petra_store *store, bool dry_run, struct rootfs_gc_result *result)
{
	_cleanup_free_ char *run_dir = runtime_default_run_dir(petra_store_root(store));
	struct petra_error *err = NULL;
	/* A rootless build leaves cached layers owned by the user's
	 * subordinate ids, which only root of its user namespace may remove:
	 * the collection runs there too (the store is open already). */
	struct sandbox_rootless rootless;
	if (sandbox_enter_rootless(&rootless, &err) < 0)
		return cli_fail(err);
	if (runtime_collect_garbage(store, run_dir, dry_run, result, &err) < 0)
		return cli_fail(err);
	return EXIT_OK;
}
