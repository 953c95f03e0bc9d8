/* SPDX-License-Identifier: Apache-2.0 */
/* petra cp: files out of a running container. */
#include "cli.h"

#include <string.h>

static const char usage[] =
    "Usage: petra cp CONTAINER:PATH DEST\n"
    "\n"
    "Copy PATH (absolute) out of a running container's filesystem, as the\n"
    "container sees it (its root and its tmpfs and volumes), to DEST on the\n"
    "host: into DEST when it is a directory, else as DEST. A directory is\n"
    "copied whole; files keep their permission bits but not their owner or\n"
    "setuid and setgid bits; symbolic links are copied as links; devices,\n"
    "fifos and sockets are left out (and counted). Paths are resolved inside\n"
    "the container: no link leads out of it.\n"
    "\n"
    "Options:\n"
    "  -h, --help   this help\n";

int cmd_cp(struct cli *cli, int argc, char **argv)
{
	int status = cli_parse_help_only("cp", usage, argc, argv);
	if (status >= 0)
		return status;
	if (argc - optind != 2)
		return cli_usage("cp", "expects CONTAINER:PATH and DEST");
	_cleanup_free_ char *source = xstrdup(argv[optind]);
	char *path = strchr(source, ':');
	if (!path || path == source)
		return cli_usage("cp", "copies out of a container: CONTAINER:PATH, not \"%s\"",
				 argv[optind]);
	*path++ = '\0';
	if (!path_is_clean(path))
		return cli_usage("cp", "PATH is absolute, without . or .., not \"%s\"", path);
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container ct;
	if (cli_find_container(run_dir, source, &ct))
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	size_t skipped = 0;
	int r = runtime_copy_out(&ct, path, argv[optind + 1], &skipped, &err);
	runtime_container_release(&ct);
	if (r < 0)
		return cli_fail(err);
	if (skipped)
		log_warn("cp: left out %zu device%s, fifo%s or socket%s", skipped,
			 skipped == 1 ? "" : "s", skipped == 1 ? "" : "s", skipped == 1 ? "" : "s");
	return EXIT_OK;
}
