/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli: the command-line layer. One file per verb parses its arguments,
 * calls the library and prints. Errors become one line "petra: <message>"
 * on stderr.
 *
 * Exit status: 0 success, 1 failure (or problems found, for fsck), 2 bad
 * usage.
 */
#ifndef PETRA_CLI_H
#define PETRA_CLI_H

#include <getopt.h>

#include "base/base.h"
#include "image/image.h"
#include "layer/layer.h"
#include "oci/oci.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

enum cli_format { CLI_FORMAT_TEXT, CLI_FORMAT_JSON };

struct cli {
	const char *root; /* the store directory */
	bool quiet;
};

typedef int (*cli_verb_fn)(struct cli *cli, int argc, char **argv);

struct cli_verb {
	const char *name;
	cli_verb_fn run;
	const char *summary;
};

/* Print "petra: <message>" and free err; returns EXIT_FAIL. */
int cli_fail(struct petra_error *err);
/* Print "petra <verb>: <message>" and a hint to --help; returns EXIT_USAGE. */
int cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Open the store, printing the error; NULL on failure. */
struct petra_store *cli_open_store(struct cli *cli, unsigned flags);
/* "text" or "json". */
int cli_parse_format(const char *verb, const char *value, enum cli_format *out);
/* Print JSON (indented) on stdout. */
void cli_print_json(const json_t *json);
/* Reset getopt before a verb parses its own arguments (argv[0] is the verb). */
void cli_getopt_reset(void);
/* After getopt_long returned '?' or ':': print what was wrong; EXIT_USAGE. */
int cli_bad_option(const char *verb, char **argv);
/* Print a verb's help text on stdout; EXIT_OK. */
int cli_help(const char *text);
/* Read all of standard input (at most max bytes). Caller frees *data. */
int cli_read_stdin(size_t max, char **data, size_t *len, struct petra_error **err);

#define CLI_VERBS(X)                                                                               \
	X(import, "Import a directory, tarball, OCI layout or OCI archive as an image")            \
	X(export, "Export an image to an OCI layout or OCI archive")                               \
	X(images, "List images")                                                                   \
	X(inspect, "Show an image's manifest and config")                                          \
	X(history, "Show an image's layers and the steps that made them")                          \
	X(tag, "Give an image another name")                                                       \
	X(rmi, "Remove image names and the blobs only they used")                                  \
	X(unpack, "Unpack an image's filesystem into a directory, safely")                         \
	X(fsck, "Verify every blob, reference and layer of the store")                             \
	X(prune, "Remove blobs no image uses")                                                     \
	X(parse, "Parse a Dockerfile and print its tree (BuildKit's dump with --dump)")            \
	X(lint, "Check Dockerfiles for hygiene, immutability, secrets and base policy")            \
	X(rebase, "Apply the policy's base rewrites to FROM lines (diff, or --write)")

#define CLI_DECLARE(name, summary) int cmd_##name(struct cli *cli, int argc, char **argv);
CLI_VERBS(CLI_DECLARE)
#undef CLI_DECLARE

#endif
