/* SPDX-License-Identifier: Apache-2.0 */
/* petra rebase: apply the policy's base rewrite rules to Dockerfiles. */
#include "cli.h"
#include "policy/policy.h"

#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
    "Usage: petra rebase [OPTIONS] DOCKERFILE...\n"
    "\n"
    "Apply the policy's bases.rewrite rules (version bumps, digest pins,\n"
    "registry mirrors) to every FROM image and COPY --from image, and to the\n"
    "global ARG defaults FROM lines use. Prints a unified diff on stdout and\n"
    "one line per change on stderr naming the rules and why; --write edits the\n"
    "files in place, atomically, keeping every other byte as it was.\n"
    "\n"
    "Options:\n"
    "      --policy FILE   the policy (default: .petra/policy.yaml)\n"
    "      --write         rewrite the files instead of printing a diff\n"
    "      --check         exit 1 when a file would change (for CI)\n"
    "  -h, --help          this help\n"
    "\n"
    "Exit status: 0 success (changed or not), 1 failure or, with --check, a file\n"
    "that would change, 2 bad usage.\n";

/* Replace path with data, keeping its permissions. */
static int write_back(const char *path, const char *data, size_t len, struct petra_error **err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return petra_error_set_errno(err, errno, "%s", path);
	_cleanup_free_ char *dir_copy = xstrdup(path);
	_cleanup_free_ char *base_copy = xstrdup(path);
	const char *dir = dirname(dir_copy);
	const char *base = basename(base_copy);
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return petra_error_set_errno(err, errno, "%s", dir);
	return fs_write_file_atomic_at(dirfd, base, data, len, st.st_mode & 07777, err);
}

static void print_changes(const struct policy_rebase *rb, const char *name)
{
	for (size_t i = 0; i < rb->n_edits; i++) {
		const struct policy_rebase_edit *e = &rb->edits[i];
		fprintf(stderr, "%s:%u: %s %s -> %s:", name, e->line, e->where, e->before,
			e->after);
		for (size_t k = 0; k < e->result.n_steps; k++) {
			const struct policy_rewrite *rule = e->result.steps[k].rule;
			fprintf(stderr, "%s rule \"%s\" (line %u: %s)", k ? "," : "", rule->id,
				rule->line, rule->reason);
		}
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < rb->notes.n; i++)
		fprintf(stderr, "petra rebase: note: %s\n", rb->notes.v[i]);
}

static int rebase_one(const struct petra_policy *policy, const char *path, bool write,
		      bool *changed)
{
	struct petra_error *err = NULL;
	_cleanup_dockerfile_ struct dockerfile *df = NULL;
	struct dockerfile_parse_opts opts = {.name = path};
	if (dockerfile_parse_file(AT_FDCWD, path, &opts, &df, &err) < 0)
		return cli_fail(err);
	struct policy_rebase rb;
	if (petra_policy_rebase(policy, df, &rb, &err) < 0)
		return cli_fail(err);
	print_changes(&rb, path);
	int status = EXIT_OK;
	if (rb.n_edits) {
		*changed = true;
		if (write) {
			if (write_back(path, rb.output, rb.output_len, &err) < 0)
				status = cli_fail(err);
		} else {
			struct strbuf diff = STRBUF_INIT;
			policy_rebase_diff(df, &rb, path, &diff);
			fwrite(diff.buf, 1, diff.len, stdout);
			strbuf_release(&diff);
		}
	}
	policy_rebase_release(&rb);
	return status;
}

int cmd_rebase(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option options[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"write", no_argument, NULL, 'w'},
	    {"check", no_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *policy_path = NULL;
	bool write = false, check = false;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy_path = optarg;
			break;
		case 'w':
			write = true;
			break;
		case 'c':
			check = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("rebase", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("rebase", "expects at least one DOCKERFILE");
	if (write && check)
		return cli_usage("rebase", "--write and --check exclude each other");
	struct petra_error *err = NULL;
	_cleanup_policy_ struct petra_policy *policy = NULL;
	if (petra_policy_load_default(policy_path, &policy, &err) < 0)
		return cli_fail(err);
	if (!policy) {
		fprintf(stderr, "petra: no policy: give --policy FILE or create %s\n",
			PETRA_POLICY_DEFAULT);
		return EXIT_FAIL;
	}
	int status = EXIT_OK;
	bool changed = false;
	for (int i = optind; i < argc; i++)
		if (rebase_one(policy, argv[i], write, &changed) != EXIT_OK)
			status = EXIT_FAIL;
	if (check && changed && status == EXIT_OK)
		status = EXIT_FAIL;
	return status;
}
