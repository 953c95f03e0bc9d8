/* SPDX-License-Identifier: Apache-2.0 */
/* petra diff: what changed in a container's writable places. */
#include "cli.h"

static const char usage[] =
    "Usage: petra diff CONTAINER\n"
    "\n"
    "Show what changed in a container's writable places since it started, one\n"
    "line per path: A (added), C (changed) or D (deleted), as docker diff does.\n"
    "A read-only container can only change its tmpfs mounts (shown while it\n"
    "runs); a --read-write one its whole root.\n"
    "\n"
    "Options:\n"
    "  -h, --help   this help\n";

static void print_change(void *ctx, char kind, const char *path)
{
	(void)ctx;
	/* The container chose the name: one with a control byte (a newline
	 * forging a line, an escape sequence for the terminal), a quote or a
	 * backslash is printed quoted and escaped; others as docker diff does. */
	bool plain = true;
	for (const unsigned char *p = (const unsigned char *)path; *p && plain; p++)
		plain = *p >= 0x20 && *p != 0x7f && *p != '"' && *p != '\\';
	if (plain) {
		printf("%c %s\n", kind, path);
		return;
	}
	_cleanup_strbuf_ struct strbuf q = STRBUF_INIT;
	strbuf_add_quoted(&q, path, 0);
	printf("%c %s\n", kind, q.buf);
}

int cmd_diff(struct cli *cli, int argc, char **argv)
{
	int parsed = cli_parse_help_only("diff", usage, argc, argv);
	if (parsed >= 0)
		return parsed;
	if (argc - optind != 1)
		return cli_usage("diff", "expects one CONTAINER");
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container ct;
	if (cli_find_container(run_dir, argv[optind], &ct))
		return EXIT_FAIL;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	struct petra_error *err = NULL;
	int r = store ? runtime_diff(store, &ct, print_change, NULL, &err) : -EIO;
	runtime_container_release(&ct);
	if (!store)
		return EXIT_FAIL;
	return r < 0 ? cli_fail(err) : EXIT_OK;
}
