/* SPDX-License-Identifier: Apache-2.0 */
/* The options petra build and petra flow share. */
#include "cli.h"
#include "policy/policy.h"

#include <string.h>

void cli_build_args_init(struct cli_build_args *a, const struct cli *cli)
{
	memset(a, 0, sizeof(*a));
	a->compression = LAYER_COMPRESSION_GZIP;
	a->network = SANDBOX_NETWORK_NONE;
	a->quiet = cli->quiet;
}

int cli_build_option(const char *verb, int opt, const char *arg, struct cli_build_args *a)
{
	struct petra_error *err = NULL;
	long n;
	switch (opt) {
	case CLI_OPT_NO_CACHE:
		a->no_cache = true;
		return 0;
	case CLI_OPT_BUILD_NETWORK:
		return cli_parse_network(verb, arg, &a->network);
	case CLI_OPT_COMPRESS:
		if (layer_compression_parse(arg, &a->compression, &err) < 0)
			return cli_usage_error(verb, "--compress: ", err);
		return 0;
	case CLI_OPT_EPOCH:
		if (cli_parse_count(verb, "--source-date-epoch", arg, &n) != 0)
			return EXIT_USAGE;
		a->reproducible = true;
		a->source_date_epoch = (time_t)n;
		return 0;
	case CLI_OPT_POLICY:
		a->policy_path = arg;
		return 0;
	case 'j':
		if (cli_parse_count(verb, "--jobs", arg, &n) != 0)
			return EXIT_USAGE;
		if (n < 1 || n > 1024)
			return cli_usage(verb, "--jobs is from 1 to 1024, not %ld", n);
		a->jobs = (unsigned)n;
		return 0;
	case 'q':
		a->quiet = true;
		return 0;
	default:
		return -1;
	}
}

int cli_build_args_finish(struct cli_build_args *a, struct petra_error **err)
{
	if (!a->reproducible) {
		time_t epoch;
		int r = petra_source_date_epoch(&epoch, err);
		if (r < 0)
			return r;
		a->reproducible = r == 1;
		a->source_date_epoch = r == 1 ? epoch : 0;
	}
	return petra_policy_load_default(a->policy_path, &a->policy, err);
}

void cli_build_args_release(struct cli_build_args *a)
{
	petra_policy_free(a->policy);
	a->policy = NULL;
}
