/* SPDX-License-Identifier: Apache-2.0 */
/* petra parse: read a Dockerfile and print its parse tree. */
#include "cli.h"
#include "dockerfile/dockerfile.h"

#include <fcntl.h>
#include <string.h>

static const char usage[] =
    "Usage: petra parse [OPTIONS] FILE\n"
    "\n"
    "Parse a Dockerfile (\"-\" reads standard input) the way BuildKit does and\n"
    "print it: one instruction per line with its lines and stage, or the tree\n"
    "as JSON. A file BuildKit would reject is an error naming the line.\n"
    "\n"
    "Options:\n"
    "      --dump            print BuildKit's parse-tree dump (s-expressions),\n"
    "                        comparable line for line with BuildKit's\n"
    "      --raw             only BuildKit's raw-parser checks: no checks of\n"
    "                        instructions, arguments, flags or stages\n"
    "      --format FORMAT   text (default) or json\n"
    "  -h, --help            this help\n";

static void print_text(const struct dockerfile *df)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < df->n_stages; i++) {
		const struct dockerfile_stage *st = &df->stages[i];
		strbuf_addf(&sb, "stage %zu", i);
		if (st->name)
			strbuf_addf(&sb, " %s", st->name);
		strbuf_addf(&sb, ": FROM %s, line %u, %zu instructions\n",
			    st->base ? st->base->text : "", df->instructions[st->from].start_line,
			    st->end - st->from);
	}
	for (size_t i = 0; i < df->n_instructions; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		char lines[32];
		if (in->end_line > in->start_line)
			snprintf(lines, sizeof(lines), "%u-%u", in->start_line, in->end_line);
		else
			snprintf(lines, sizeof(lines), "%u", in->start_line);
		if (in->stage == DOCKERFILE_GLOBAL)
			strbuf_addf(&sb, "%-9s -  ", lines);
		else
			strbuf_addf(&sb, "%-9s %-2zu ", lines, in->stage);
		dockerfile_dump_instruction(in, &sb);
		strbuf_addch(&sb, '\n');
	}
	for (size_t i = 0; i < df->n_warnings; i++)
		strbuf_addf(&sb, "warning: line %u: %s\n", df->warnings[i].line,
			    df->warnings[i].message);
	fputs(sb.buf, stdout);
}

int cmd_parse(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option options[] = {
	    {"dump", no_argument, NULL, 'd'},
	    {"raw", no_argument, NULL, 'r'},
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool dump = false;
	enum cli_format format = CLI_FORMAT_TEXT;
	struct dockerfile_parse_opts opts = {0};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			dump = true;
			break;
		case 'r':
			opts.flags |= DOCKERFILE_PARSE_RAW;
			break;
		case 'f':
			if (cli_parse_format("parse", optarg, &format) != 0)
				return EXIT_USAGE;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("parse", argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage("parse", "expects one FILE");
	if (dump && format == CLI_FORMAT_JSON)
		return cli_usage("parse", "--dump and --format json exclude each other");
	const char *path = argv[optind];
	struct petra_error *err = NULL;
	_cleanup_dockerfile_ struct dockerfile *df = NULL;
	int r;
	if (!strcmp(path, "-")) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		r = cli_read_stdin(DOCKERFILE_MAX_SIZE, &data, &len, &err);
		opts.name = "<stdin>";
		if (r == 0)
			r = dockerfile_parse(data, len, &opts, &df, &err);
	} else {
		r = dockerfile_parse_file(AT_FDCWD, path, &opts, &df, &err);
	}
	if (r < 0)
		return cli_fail(err);
	if (dump) {
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
		dockerfile_dump(df, &sb);
		fwrite(sb.buf, 1, sb.len, stdout);
	} else if (format == CLI_FORMAT_JSON) {
		json_t *j = dockerfile_to_json(df);
		cli_print_json(j);
		json_decref(j);
	} else {
		print_text(df);
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
