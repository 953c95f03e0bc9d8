/* SPDX-License-Identifier: Apache-2.0 */
/* petra info: where petra keeps things and what of the kernel it uses. */
#include "cli.h"

#include <string.h>

static const char usage[] =
    "Usage: petra info [OPTIONS]\n"
    "\n"
    "Print petra's version, the store, the run directory of its containers,\n"
    "the helper programs it found (petra-supervisor, petra-init, petra-copy)\n"
    "and the kernel features it uses: overlayfs, tmpfs, cgroups (v2, or v1's\n"
    "memory, cpu and pids hierarchies, for --memory, --cpus, --pids-limit),\n"
    "seccomp, user namespaces (petra run as a non-root user), mount_setattr\n"
    "and idmapped mounts, pidfds; and the stale temporaries that killed petra\n"
    "processes left in the store (count and bytes; the next writing command\n"
    "removes them); and what 'petra prune' would reclaim: blobs no image\n"
    "references (count, bytes) and extracted layers no image or container\n"
    "uses (complete data a killed command left unnamed is counted here).\n"
    "\n"
    "Options:\n"
    "      --format text|json  the output format (default text)\n"
    "  -h, --help              this help\n";

static void print_value(const char *key, json_t *v, int indent)
{
	if (json_is_object(v)) {
		printf("%*s%s:\n", indent, "", key);
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e) print_value(k, e, indent + 2);
	} else if (json_is_boolean(v)) {
		printf("%*s%-18s %s\n", indent, "", key, json_is_true(v) ? "yes" : "no");
	} else if (json_is_string(v)) {
		printf("%*s%-18s %s\n", indent, "", key, json_string_value(v));
	} else if (json_is_integer(v)) {
		printf("%*s%-18s %lld\n", indent, "", key, (long long)json_integer_value(v));
	} else if (json_is_null(v)) {
		printf("%*s%-18s (none)\n", indent, "", key);
	}
}

int cmd_info(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum cli_format format = CLI_FORMAT_TEXT;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'f') {
			if (cli_parse_format("info", optarg, &format) != 0)
				return EXIT_USAGE;
		} else if (c == 'h') {
			return cli_help(usage);
		} else {
			return cli_bad_option("info", argv);
		}
	}
	if (optind < argc)
		return cli_usage("info", "takes no arguments");
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	_cleanup_free_ char *supervisor = cli_supervisor_path();
	_cleanup_free_ char *init = cli_helper_path("petra-init", "PETRA_INIT");
	_cleanup_free_ char *copy = cli_helper_path("petra-copy", "PETRA_COPY");
	json_t *j = json_object();
	json_object_set_new(j, "version", json_string(PETRA_VERSION));
	json_object_set_new(j, "store", json_string(cli->root));
	json_object_set_new(j, "run_dir", json_string(run_dir));
	json_t *helpers = json_object();
	json_object_set_new(helpers, "supervisor",
			    supervisor ? json_string(supervisor) : json_null());
	json_object_set_new(helpers, "init", init ? json_string(init) : json_null());
	json_object_set_new(helpers, "copy", copy ? json_string(copy) : json_null());
	json_object_set_new(j, "helpers", helpers);
	json_object_set_new(j, "kernel", runtime_host_features());
	/* Read-only: a writing open would sweep them before they are counted. */
	_cleanup_store_ struct petra_store *store = NULL;
	_cleanup_error_ struct petra_error *serr = NULL;
	if (petra_store_open(cli->root, 0, &store, &serr) == 0) {
		uint64_t count = 0, bytes = 0;
		petra_store_stale_temporaries(store, &count, &bytes);
		rootfs_stale_temporaries(store, &count, &bytes);
		json_t *stale = json_object();
		json_object_set_new(stale, "count", json_integer((json_int_t)count));
		json_object_set_new(stale, "bytes", json_integer((json_int_t)bytes));
		json_object_set_new(j, "stale_temporaries", stale);
		/* What a killed command (or rmi --no-prune) left complete but
		 * unnamed: it cannot be told from what a user keeps until the
		 * next prune, so it is counted here and prune removes it. */
		struct rootfs_gc_result gc;
		_cleanup_error_ struct petra_error *gerr = NULL;
		if (runtime_collect_garbage(store, run_dir, true, &gc, &gerr) == 0) {
			json_t *unused = json_object();
			json_object_set_new(unused, "blobs", json_integer((json_int_t)gc.blobs));
			json_object_set_new(unused, "bytes", json_integer((json_int_t)gc.bytes));
			json_object_set_new(unused, "extracted_layers",
					    json_integer((json_int_t)gc.layers));
			json_object_set_new(j, "reclaimable", unused);
		}
	}
	if (format == CLI_FORMAT_JSON) {
		cli_print_json(j);
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) print_value(k, v, 0);
	}
	json_decref(j);
	return EXIT_OK;
}
