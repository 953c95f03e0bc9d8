/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli: the command-line layer. One file per verb parses its arguments,
 * calls the library and prints. Errors become one line "petra: <message>"
 * on stderr.
 *
 * Exit status: 0 success, 1 failure (or problems found, for fsck and
 * verify; a failed test for test), 2 bad usage. run and exec pass the
 * command's status on and use 125 (petra failed or bad usage), 126 (not
 * executable) and 127 (not found) for their own, as docker does.
 */
#ifndef PETRA_CLI_H
#define PETRA_CLI_H

#include <getopt.h>

#include "base/base.h"
#include "image/image.h"
#include "layer/layer.h"
#include "oci/oci.h"
#include "registry/registry.h"
#include "runtime/runtime.h"

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
/* What prune (and rmi) removed. */
struct cli_gc_result {
	uint64_t blobs, bytes; /* unreferenced blobs */
	uint64_t layers;       /* extracted layers no image or container uses */
};
/* Remove unreferenced blobs, then extracted layers (<store>/rootfs) that
 * neither an image of the store nor a container (running or not) uses.
 * The store must be open with PETRA_STORE_EXCLUSIVE. */
int cli_collect_garbage(struct petra_store *store, bool dry_run, struct cli_gc_result *result,
			struct petra_error **err);

/* Print JSON (indented) on stdout. */
void cli_print_json(const json_t *json);
/* Reset getopt before a verb parses its own arguments (argv[0] is the verb). */
void cli_getopt_reset(void);
/* A bad option value whose parser filled err: "petra VERB: PREFIX<message>"
 * and the hint; frees err; EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *prefix, struct petra_error *err);
/* Where a report goes: stdout for NULL, else the file (created or
 * truncated); NULL after printing why it could not be opened. */
FILE *cli_open_output(const char *path);
void cli_close_output(FILE *out);
/* After getopt_long returned '?' or ':': print what was wrong; EXIT_USAGE. */
int cli_bad_option(const char *verb, char **argv);
/* Print a verb's help text on stdout; EXIT_OK. */
int cli_help(const char *text);
/* Parse the options of a verb whose only option is -h/--help: -1 to go
 * on (optind at the first operand), else the exit status to return. */
int cli_parse_help_only(const char *verb, const char *usage, int argc, char **argv);
/* Read all of standard input (at most max bytes). Caller frees *data. */
int cli_read_stdin(size_t max, char **data, size_t *len, struct petra_error **err);
/* A count (0 or more) for option `name`: 0, or EXIT_USAGE after saying
 * what is wrong. */
int cli_parse_count(const char *verb, const char *name, const char *arg, long *out);
/* "64m", "512k", "1g", "4096" (a trailing "b" allowed) into bytes. */
bool cli_parse_size(const char *s, uint64_t *out);

/* "none" or "host" for --network: 0, or EXIT_USAGE after saying why. */
int cli_parse_network(const char *verb, const char *arg, enum sandbox_network *out);

/* ---- build options shared by build and flow (buildopts.c) ---- */

enum {
	CLI_OPT_NO_CACHE = 1100,
	CLI_OPT_BUILD_NETWORK,
	CLI_OPT_COMPRESS,
	CLI_OPT_EPOCH,
	CLI_OPT_POLICY,
};
#define CLI_BUILD_LONG_OPTIONS                                                                     \
	{"no-cache", no_argument, NULL, CLI_OPT_NO_CACHE},                                         \
	    {"network", required_argument, NULL, CLI_OPT_BUILD_NETWORK},                           \
	    {"compress", required_argument, NULL, CLI_OPT_COMPRESS},                               \
	    {"source-date-epoch", required_argument, NULL, CLI_OPT_EPOCH},                         \
	    {"policy", required_argument, NULL, CLI_OPT_POLICY},                                   \
	    {"jobs", required_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},             \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

struct petra_policy;
struct cli_build_args {
	bool no_cache;
	enum sandbox_network network;
	enum layer_compression compression;
	bool reproducible;
	time_t source_date_epoch;
	unsigned jobs; /* 0: the cores */
	bool quiet;
	const char *policy_path;
	struct petra_policy *policy; /* loaded by cli_build_args_finish */
};
/* Defaults (gzip, network none, quiet as petra -q says). */
void cli_build_args_init(struct cli_build_args *a, const struct cli *cli);
/* 0 when opt was a build option and is recorded, -1 when it is not one,
 * EXIT_USAGE (message printed) when its value is wrong. */
int cli_build_option(const char *verb, int opt, const char *arg, struct cli_build_args *a);
/* SOURCE_DATE_EPOCH unless --source-date-epoch was given; the policy
 * (--policy, else .petra/policy.yaml when it exists). */
int cli_build_args_finish(struct cli_build_args *a, struct petra_error **err);
void cli_build_args_release(struct cli_build_args *a);

/* ---- container options shared by run, bundle and test (runopts.c) ---- */

enum {
	CLI_OPT_TMPFS = 1000,
	CLI_OPT_NETWORK,
	CLI_OPT_CAP_ADD,
	CLI_OPT_READ_WRITE,
	CLI_OPT_NON_ROOT,
};
#define CLI_RUN_SHORT_OPTIONS "v:u:e:w:"
#define CLI_RUN_LONG_OPTIONS                                                                       \
	{"tmpfs", required_argument, NULL, CLI_OPT_TMPFS},                                         \
	    {"volume", required_argument, NULL, 'v'}, {"user", required_argument, NULL, 'u'},      \
	    {"env", required_argument, NULL, 'e'}, {"workdir", required_argument, NULL, 'w'},      \
	    {"network", required_argument, NULL, CLI_OPT_NETWORK},                                 \
	    {"cap-add", required_argument, NULL, CLI_OPT_CAP_ADD},                                 \
	    {"read-write", no_argument, NULL, CLI_OPT_READ_WRITE},                                 \
	{                                                                                          \
		"non-root", no_argument, NULL, CLI_OPT_NON_ROOT                                    \
	}
#define CLI_RUN_OPTIONS_HELP                                                                       \
	"      --tmpfs PATH[:OPTS]  a writable tmpfs at PATH; OPTS: size=64m,mode=1777,\n"         \
	"                           uid=N,gid=N,ro\n"                                              \
	"  -v, --volume SRC:DST[:ro]  bind the host path SRC at DST\n"                             \
	"  -u, --user USER[:GROUP]  run as USER (a name of the image's /etc/passwd, or\n"          \
	"                           a number); default: the image's USER\n"                        \
	"  -e, --env K=V            set an environment variable (K alone: petra's value)\n"        \
	"  -w, --workdir DIR        the working directory; default: the image's\n"                 \
	"      --network none|host  none (default): only loopback; host: the host's\n"             \
	"      --cap-add CAP        keep capability CAP too (also ambient for a\n"                 \
	"                           non-root user)\n"                                              \
	"      --read-write         a writable root (changes kept in the container's\n"            \
	"                           state directory): the loud exception\n"                        \
	"      --non-root           refuse to start as root\n"

struct cli_run_args {
	struct runtime_run_options o;
	struct sandbox_mount *mounts;
	size_t n_mounts;
	struct strvec env;
};
/* 0 when opt was a container option and is recorded, -1 when it is not
 * one, EXIT_USAGE (message printed) when its value is wrong. */
int cli_run_option(const char *verb, int opt, const char *arg, struct cli_run_args *a);
/* Point the options at the collected mounts and environment. */
void cli_run_args_finish(struct cli_run_args *a);
void cli_run_args_release(struct cli_run_args *a);
/* The petra-supervisor program, or NULL. Caller frees. */
char *cli_supervisor_path(void);

/* ---- registry options shared by pull, push, login, inspect (registryopts.c) ---- */

enum {
	CLI_OPT_CREDS = 1200,
	CLI_OPT_AUTHFILE,
	CLI_OPT_CERT_DIR,
	CLI_OPT_TLS_VERIFY,
	CLI_OPT_PLATFORM,
	CLI_OPT_CHUNK_SIZE,
};
#define CLI_REGISTRY_LONG_OPTIONS                                                                  \
	{"creds", required_argument, NULL, CLI_OPT_CREDS},                                         \
	    {"authfile", required_argument, NULL, CLI_OPT_AUTHFILE},                               \
	    {"cert-dir", required_argument, NULL, CLI_OPT_CERT_DIR},                               \
	    {"tls-verify", optional_argument, NULL, CLI_OPT_TLS_VERIFY},                           \
	{                                                                                          \
		"platform", required_argument, NULL, CLI_OPT_PLATFORM                              \
	}
#define CLI_REGISTRY_OPTIONS_HELP                                                                  \
	"      --creds USER[:PASS]  credentials (default: the auth files)\n"                       \
	"      --authfile FILE      the auth file (default: $REGISTRY_AUTH_FILE, else\n"           \
	"                           $XDG_RUNTIME_DIR/containers/auth.json, then\n"                 \
	"                           ~/.docker/config.json)\n"                                      \
	"      --cert-dir DIR       CAs (*.crt) and client certificates (*.cert, *.key)\n"         \
	"                           (default: /etc/containers/certs.d/HOST:PORT)\n"                \
	"      --tls-verify=false   do not check TLS certificates; plain HTTP allowed\n"
/* 0 when opt was a registry option and is recorded, -1 when it is not
 * one, EXIT_USAGE (message printed) when its value is wrong. */
int cli_registry_option(const char *verb, int opt, const char *arg, struct registry_options *o);

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
	X(build, "Build an image from a Dockerfile and a context directory")                       \
	X(flow, "Run a multi-step build flow (Habitus build.yml)")                                 \
	X(run, "Run a command in a new read-only, hardened container of an image")                 \
	X(ps, "List containers")                                                                   \
	X(logs, "Print a detached container's output")                                             \
	X(stop, "Stop running containers (SIGTERM, then SIGKILL)")                                 \
	X(rm, "Remove containers")                                                                 \
	X(exec, "Run a command in one running container, or in all that match")                    \
	X(diff, "Show what changed in a container's writable places")                              \
	X(verify, "Check the extracted layers on disk against their images")                       \
	X(bundle, "Write an OCI runtime bundle (rootfs and config.json) for runc")                 \
	X(test, "Run structure tests (container-structure-test YAML) against an image")            \
	X(lint, "Check Dockerfiles for hygiene, immutability, secrets and base policy")            \
	X(rebase, "Apply the policy's base rewrites to FROM lines (diff, or --write)")             \
	X(audit, "Report what makes an image unsafe or mutable, layer by layer")                   \
	X(harden, "Write an immutable copy of an image: root-owned, non-root USER, squashed")      \
	X(pull, "Pull an image from a registry into the store")                                    \
	X(push, "Push an image to a registry")                                                     \
	X(login, "Keep credentials for a registry")                                                \
	X(logout, "Forget credentials for a registry")                                             \
	X(copy, "Copy an image between registries, layouts, archives and the store")               \
	X(save, "Write images to a docker save archive")                                           \
	X(load, "Load the images of a docker save archive")

#define CLI_DECLARE(name, summary) int cmd_##name(struct cli *cli, int argc, char **argv);
CLI_VERBS(CLI_DECLARE)
#undef CLI_DECLARE

#endif
