/* SPDX-License-Identifier: Apache-2.0 */
/* petra: the entry point. Global options, then the verb table. */
#include <getopt.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"

#define CLI_ENTRY(name, summary) {#name, cmd_##name, summary},
static const struct cli_verb verbs[] = {CLI_VERBS(CLI_ENTRY)};
#undef CLI_ENTRY

static void print_usage(FILE *out)
{
	fprintf(out, "Usage: petra [GLOBAL OPTIONS] COMMAND [ARGS]\n"
		     "\n"
		     "Daemonless toolkit for immutable OCI images.\n"
		     "\n"
		     "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		/* a verb's C name spells '-' as '_' */
		_cleanup_free_ char *name = xstrdup(verbs[i].name);
		for (char *p = name; *p; p++)
			if (*p == '_')
				*p = '-';
		fprintf(out, "  %-10s %s\n", name, verbs[i].summary);
	}
	fprintf(out, "\n"
		     "Global options:\n"
		     "  --root DIR          the image store (default: $PETRA_ROOT, else\n"
		     "                      /var/lib/petra for root, else $XDG_DATA_HOME/petra)\n"
		     "  --log-level LEVEL   error, warn, info (default) or debug\n"
		     "  -q, --quiet         only errors on stderr (same as --log-level error)\n"
		     "  --debug             same as --log-level debug\n"
		     "  -v, --version       print the version\n"
		     "  -h, --help          this help; 'petra COMMAND --help' for a command\n"
		     "\n"
		     "Exit status: 0 success, 1 failure, 2 bad usage; run and exec: the\n"
		     "command's, or 125 (petra failed, bad usage too), 126 (not executable),\n"
		     "127 (not found). docs/EXIT-CODES.md has the whole table.\n");
}

/* A verb's name in the table is a C identifier: "kube_lint" is spelled
 * "kube-lint" on the command line (and only so). */
static bool verb_named(const char *table_name, const char *name)
{
	for (; *table_name && *name; table_name++, name++)
		if (*table_name == '_' ? *name != '-' : *table_name != *name)
			return false;
	return *table_name == *name;
}

static const struct cli_verb *find_verb(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (verb_named(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

/* Deep layer trees are removed with one descriptor per level. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"root", required_argument, NULL, 'r'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"debug", no_argument, NULL, 'd'},
	    {"version", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	_cleanup_free_ char *root = NULL;
	enum log_level level = LOG_INFO;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+qvh", options, NULL)) != -1) {
		switch (c) {
		case 'r':
			free(root);
			root = xstrdup(optarg);
			break;
		case 'l':
			if (!strcmp(optarg, "error"))
				level = LOG_ERROR;
			else if (!strcmp(optarg, "warn") || !strcmp(optarg, "warning"))
				level = LOG_WARN;
			else if (!strcmp(optarg, "info"))
				level = LOG_INFO;
			else if (!strcmp(optarg, "debug"))
				level = LOG_DEBUG;
			else {
				fprintf(stderr, "petra: unknown log level \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'q':
			level = LOG_ERROR;
			break;
		case 'd':
			level = LOG_DEBUG;
			break;
		case 'v':
			printf("petra version %s\n", PETRA_VERSION);
			return EXIT_OK;
		case 'h':
			print_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "petra: unknown option '%s'\nTry 'petra --help'.\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	if (!strcmp(name, "help")) {
		if (optind + 1 >= argc) {
			print_usage(stdout);
			return EXIT_OK;
		}
		const struct cli_verb *verb = find_verb(argv[optind + 1]);
		if (!verb) {
			fprintf(stderr, "petra: unknown command \"%s\"\nTry 'petra --help'.\n",
				argv[optind + 1]);
			return EXIT_USAGE;
		}
		char *help_argv[] = {argv[optind + 1], "--help", NULL};
		struct cli cli = {.root = ""};
		return verb->run(&cli, 2, help_argv);
	}
	const struct cli_verb *verb = find_verb(name);
	if (!verb) {
		fprintf(stderr, "petra: unknown command \"%s\"\nTry 'petra --help'.\n", name);
		return EXIT_USAGE;
	}
	log_set_level(level);
	raise_fd_limit();
	if (!root)
		root = petra_store_default_root();
	struct cli cli = {.root = root, .quiet = level == LOG_ERROR};
	int status = verb->run(&cli, argc - optind, argv + optind);
	if (fflush(stdout) != 0 && status == EXIT_OK) {
		fprintf(stderr, "petra: write to standard output: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return status;
}
