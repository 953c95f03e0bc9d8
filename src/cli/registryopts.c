/* SPDX-License-Identifier: Apache-2.0 */
/* Options every registry verb takes (pull, push, login, inspect docker://). */
#include <string.h>

#include "cli.h"

int cli_registry_option(const char *verb, int opt, const char *arg, struct registry_options *o)
{
	switch (opt) {
	case CLI_OPT_CREDS:
		o->creds = arg;
		return 0;
	case CLI_OPT_AUTHFILE:
		o->auth_file = arg;
		return 0;
	case CLI_OPT_CERT_DIR:
		o->cert_dir = arg;
		return 0;
	case CLI_OPT_TLS_VERIFY:
		if (!arg || !strcmp(arg, "true"))
			o->tls_verify = 1;
		else if (!strcmp(arg, "false"))
			o->tls_verify = 0;
		else
			return cli_usage(verb, "--tls-verify wants true or false, not \"%s\"", arg);
		return 0;
	case CLI_OPT_PLATFORM:
		o->platform = arg;
		return 0;
	case CLI_OPT_CHUNK_SIZE: {
		uint64_t size;
		if (!cli_parse_size(arg, &size) || size < 4096)
			return cli_usage(
			    verb, "--chunk-size wants a size of at least 4k, not \"%s\"", arg);
		o->chunk_size = size;
		return 0;
	}
	case 'j': {
		long n;
		int r = cli_parse_count(verb, "--jobs", arg, &n);
		if (r)
			return r;
		if (n < 1 || n > 64)
			return cli_usage(verb, "--jobs wants 1 to 64");
		o->jobs = (unsigned)n;
		return 0;
	}
	default:
		return -1;
	}
}

void cli_pull_args_init(struct cli_pull_args *a, const struct cli *cli)
{
	*a = (struct cli_pull_args){.when = BUILDER_PULL_MISSING,
				    .registry = {.tls_verify = -1, .quiet = cli->quiet}};
}

int cli_pull_option(const char *verb, int opt, const char *arg, struct cli_pull_args *a)
{
	switch (opt) {
	case CLI_OPT_PULL:
		if (!strcmp(arg, "missing"))
			a->when = BUILDER_PULL_MISSING;
		else if (!strcmp(arg, "always"))
			a->when = BUILDER_PULL_ALWAYS;
		else if (!strcmp(arg, "never"))
			a->when = BUILDER_PULL_NEVER;
		else
			return cli_usage(verb, "--pull wants missing, always or never, not \"%s\"",
					 arg);
		return 0;
	case CLI_OPT_CREDS:
	case CLI_OPT_AUTHFILE:
	case CLI_OPT_CERT_DIR:
	case CLI_OPT_TLS_VERIFY:
		return cli_registry_option(verb, opt, arg, &a->registry);
	default:
		return -1;
	}
}

/* The same test the builder makes for a base (a name that says where it
 * lives), so a mistyped short name is "not found", never a Docker Hub
 * request. */
static bool names_registry(const char *ref)
{
	const char *slash = strchr(ref, '/');
	if (!slash)
		return false;
	size_t n = (size_t)(slash - ref);
	return memchr(ref, '.', n) || memchr(ref, ':', n) ||
	       (n == 9 && !strncmp(ref, "localhost", 9));
}

int cli_pull_image(struct petra_store *store, const char *ref, const struct cli_pull_args *a,
		   struct petra_error **err)
{
	if (a->when == BUILDER_PULL_NEVER)
		return 0;
	if (a->when == BUILDER_PULL_MISSING) {
		struct image img;
		if (image_load(store, ref, &img, NULL) == 0) {
			image_release(&img);
			return 0;
		}
		if (!names_registry(ref))
			return 0;
	}
	return registry_pull(store, ref, &a->registry, NULL, err);
}

void cli_pull_referrers(struct petra_store *store, const char *ref, const char *digest,
			const struct registry_options *o)
{
	_cleanup_error_ struct petra_error *err = NULL;
	size_t pulled = 0;
	if (registry_pull_referrers(store, ref, digest, o, &pulled, &err) < 0)
		log_warn("%s", err->message);
	else if (pulled && !o->quiet)
		log_info("pulled %zu referrer%s", pulled, pulled == 1 ? "" : "s");
}

int cli_registry_parse(struct cli *cli, const char *verb, const char *usage, int argc, char **argv,
		       const struct option *options, struct registry_options *o)
{
	*o = (struct registry_options){.tls_verify = -1, .quiet = cli->quiet};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "j:qh", options, NULL)) != -1) {
		int r = cli_registry_option(verb, c, optarg, o);
		if (r >= 0) {
			if (r)
				return r;
			continue;
		}
		switch (c) {
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option(verb, argv);
		}
	}
	return -1;
}
