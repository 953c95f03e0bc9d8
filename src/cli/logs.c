/* SPDX-License-Identifier: Apache-2.0 */
/* petra logs: a detached container's output. */
#include "cli.h"

#include <fcntl.h>

static const char usage[] = "Usage: petra logs [OPTIONS] CONTAINER\n"
			    "\n"
			    "Print what a detached container wrote to its standard output "
			    "and error.\n"
			    "\n"
			    "Options:\n"
			    "  -f, --follow   keep printing while the container runs\n"
			    "  -h, --help     this help\n";

int cmd_logs(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool follow = false;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "fh", options, NULL)) != -1) {
		if (c == 'f')
			follow = true;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("logs", argv);
	}
	if (argc - optind != 1)
		return cli_usage("logs", "expects one CONTAINER");
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container ct;
	if (cli_find_container(run_dir, argv[optind], &ct))
		return EXIT_FAIL;
	_cleanup_free_ char *path = path_join(ct.dir, "log");
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		runtime_container_release(&ct);
		if (errno == ENOENT)
			return EXIT_OK; /* a foreground container logs to its terminal */
		struct petra_error *err = NULL;
		petra_error_set_errno(&err, errno, "open %s", path);
		return cli_fail(err);
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (!follow)
			break;
		fflush(stdout);
		/* Follow until the container ended and the log is drained. */
		struct runtime_container now;
		_cleanup_error_ struct petra_error *gone = NULL;
		bool running = runtime_find(run_dir, ct.id, &now, &gone) == 0 && now.running;
		if (!gone)
			runtime_container_release(&now);
		if (!running) {
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				fwrite(buf, 1, (size_t)n, stdout);
			break;
		}
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	runtime_container_release(&ct);
	return EXIT_OK;
}
