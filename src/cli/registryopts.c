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
