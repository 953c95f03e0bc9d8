/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the verbs. */
#include "cli.h"

#include <string.h>

int cli_fail(struct petra_error *err)
{
	fprintf(stderr, "petra: %s\n", err && err->message ? err->message : "unknown error");
	petra_error_free(err);
	return EXIT_FAIL;
}

int cli_usage(const char *verb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "petra %s: ", verb);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'petra %s --help'.\n", verb);
	va_end(ap);
	return EXIT_USAGE;
}

int cli_usage_error(const char *verb, const char *prefix, struct petra_error *err)
{
	cli_usage(verb, "%s%s", prefix, err && err->message ? err->message : "bad value");
	petra_error_free(err);
	return EXIT_USAGE;
}

int cli_parse_count(const char *verb, const char *name, const char *arg, long *out)
{
	char *end;
	errno = 0;
	long n = strtol(arg, &end, 10);
	if (end == arg || *end || n < 0 || errno)
		return cli_usage(verb, "%s wants a number, not \"%s\"", name, arg);
	*out = n;
	return 0;
}

FILE *cli_open_output(const char *path)
{
	if (!path)
		return stdout;
	FILE *out = fopen(path, "we");
	if (!out) {
		struct petra_error *err = NULL;
		petra_error_set_errno(&err, errno, "open %s", path);
		cli_fail(err);
	}
	return out;
}

void cli_close_output(FILE *out)
{
	if (out && out != stdout)
		fclose(out);
}

struct petra_store *cli_open_store(struct cli *cli, unsigned flags)
{
	struct petra_store *store = NULL;
	struct petra_error *err = NULL;
	/* The store is made on first use, so a new machine behaves like an
	 * empty store rather than a missing one. */
	if (petra_store_open(cli->root, flags | PETRA_STORE_CREATE, &store, &err) < 0) {
		cli_fail(err);
		return NULL;
	}
	return store;
}

int cli_parse_format(const char *verb, const char *value, enum cli_format *out)
{
	if (!strcmp(value, "text") || !strcmp(value, "table"))
		*out = CLI_FORMAT_TEXT;
	else if (!strcmp(value, "json"))
		*out = CLI_FORMAT_JSON;
	else
		return cli_usage(verb, "unknown format \"%s\" (text or json)", value);
	return 0;
}

void cli_print_json(const json_t *json)
{
	char *s = json_dump_pretty(json);
	fputs(s, stdout);
	fputc('\n', stdout);
	free(s);
}

void cli_getopt_reset(void)
{
	optind = 0; /* 0 also resets GNU getopt's internal state */
	opterr = 0; /* we print our own message */
}

int cli_bad_option(const char *verb, char **argv)
{
	const char *arg = argv[optind - 1];
	if (optopt && !strchr(arg, '=') && arg[0] == '-' && arg[1] != '-')
		return cli_usage(verb, "option '-%c' is unknown or needs a value", optopt);
	return cli_usage(verb, "option '%s' is unknown or needs a value", arg);
}

int cli_help(const char *text)
{
	fputs(text, stdout);
	return EXIT_OK;
}

int cli_parse_help_only(const char *verb, const char *usage, int argc, char **argv)
{
	static const struct option options[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		return cli_bad_option(verb, argv);
	}
	return -1;
}

int cli_read_stdin(size_t max, char **data, size_t *len, struct petra_error **err)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_release(&sb);
			return petra_error_set_errno(err, errno, "read standard input");
		}
		if (n == 0)
			break;
		strbuf_add(&sb, buf, (size_t)n);
		if (sb.len > max) {
			strbuf_release(&sb);
			return petra_error_set(err, EFBIG, "standard input: larger than %zu bytes",
					       max);
		}
	}
	*len = sb.len;
	*data = strbuf_detach(&sb);
	return 0;
}

int cli_find_container(const char *run_dir, const char *what, struct runtime_container *c)
{
	struct petra_error *err = NULL;
	if (runtime_find(run_dir, what, c, &err) < 0)
		return cli_fail(err);
	return 0;
}

int cli_each_container(struct cli *cli, int n, char **names, cli_container_fn fn, void *ctx)
{
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	int status = EXIT_OK;
	for (int i = 0; i < n; i++) {
		struct runtime_container ct;
		struct petra_error *err = NULL;
		if (cli_find_container(run_dir, names[i], &ct)) {
			status = EXIT_FAIL;
			continue;
		}
		if (fn(&ct, ctx, &err) < 0)
			status = cli_fail(err);
		else
			printf("%s\n", names[i]);
		runtime_container_release(&ct);
	}
	return status;
}

int cli_check_image_ref(const char *verb, const char *arg)
{
	if (oci_digest_valid(arg))
		return 0;
	struct oci_ref ref;
	struct petra_error *err = NULL;
	if (oci_ref_parse(arg, &ref, &err) < 0)
		return cli_usage_error(verb, "", err);
	oci_ref_release(&ref);
	return 0;
}

int cli_check_image_name(const char *verb, const char *arg)
{
	struct oci_ref ref;
	struct petra_error *err = NULL;
	if (oci_ref_parse(arg, &ref, &err) < 0)
		return cli_usage_error(verb, "", err);
	bool tagged = ref.tag != NULL;
	oci_ref_release(&ref);
	if (!tagged)
		return cli_usage(verb, "the name \"%s\" needs a tag, not a digest", arg);
	return 0;
}
