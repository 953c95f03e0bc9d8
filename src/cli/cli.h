/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli: the command-line layer. One file per verb parses its arguments,
 * calls the library and prints. Errors become one line "petra: <message>"
 * on stderr.
 *
 * Exit status (docs/EXIT-CODES.md has the whole table): 0 success, 1 the
 * operation failed (also a file whose content is invalid, and problems
 * found, for fsck, verify, lint, audit and test), 2 bad usage (what the
 * command line alone shows to be wrong). run and exec pass the command's
 * status on and use 125 (petra failed, bad usage included), 126 (not
 * executable) and 127 (not found) for their own, as podman does.
 */
#ifndef PETRA_CLI_H
#define PETRA_CLI_H

#include <getopt.h>

#include "base/base.h"
#include "builder/builder.h"
#include "image/image.h"
#include "layer/layer.h"
#include "lineage/lineage.h"
#include "oci/oci.h"
#include "registry/registry.h"
#include "runtime/runtime.h"
#include "trust/trust.h"

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
/* Collect the store's garbage, sparing the layers of containers
 * (runtime_collect_garbage): EXIT_OK, or EXIT_FAIL with the error printed.
 * The store must be open with PETRA_STORE_EXCLUSIVE. */
int cli_collect_garbage(struct petra_store *store, bool dry_run, struct rootfs_gc_result *result);

/* Find a container by id, id prefix or name: 0, or EXIT_FAIL with the
 * error printed. */
int cli_find_container(const char *run_dir, const char *what, struct runtime_container *c);
typedef int (*cli_container_fn)(struct runtime_container *c, void *ctx, struct petra_error **err);
/* Apply fn to each named container, printing each name done (stop, rm);
 * every container is tried, the status says whether all succeeded. */
int cli_each_container(struct cli *cli, int n, char **names, cli_container_fn fn, void *ctx);

/* An image given on the command line (a name, name@digest, digest or
 * digest prefix) that cannot name anything is bad usage: 0, or EXIT_USAGE
 * after saying why. Whether it exists is the operation's business. */
int cli_check_image_ref(const char *verb, const char *arg);
/* The same for a name an image is to get (tag, -t, --ref): "name[:tag]". */
int cli_check_image_name(const char *verb, const char *arg);

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

/* ---- one command on many targets at once (fleet.c) ---- */

/* exec --all and exec --kubernetes: each target runs in a worker process
 * of its own, --jobs at once; its output (stdout and stderr together) is
 * read back and kept up to a cap, the rest counted; the report groups
 * targets by identical output (as pdsh's dshbak -c), then gives one line
 * per target and a summary. */
enum cli_fleet_status { CLI_FLEET_OK, CLI_FLEET_FAILED, CLI_FLEET_TIMED_OUT };
/* The status reported for a command killed at its timeout, as timeout(1). */
enum { CLI_FLEET_TIMEOUT_STATUS = 124 };
#define CLI_FLEET_OUTPUT_CAP   ((size_t)64 * 1024)
#define CLI_FLEET_DEFAULT_JOBS 8
struct cli_fleet_target {
	char *name;   /* heads its output block, and sorts the report */
	char *line;   /* begins its result line (NULL: the name) */
	json_t *info; /* its fields in --format json (NULL: none) */
	/* Run in the worker process: the command's output to out_fd, killed
	 * after timeout_ms (0: never) and then -ETIMEDOUT; *exit_code the
	 * command's status (-1: it did not run). */
	int (*run)(void *ctx, int out_fd, unsigned timeout_ms, int *exit_code,
		   struct petra_error **err);
	void *ctx;
	/* The result. A target done before cli_fleet_run (refused, say) is
	 * not run: the caller sets done, status and error. */
	bool done;
	enum cli_fleet_status status;
	int exit_code; /* -1: none */
	char *error;
	struct strbuf output; /* at most the cap */
	uint64_t output_total;
	uint64_t start_ms, duration_ms;
	pid_t worker; /* > 0 once it ran */
	int out_fd, result_fd;
};
/* A new, empty target at the end of *v. */
struct cli_fleet_target *cli_fleet_target_add(struct cli_fleet_target **v, size_t *n,
					      size_t *alloc);
void cli_fleet_target_release(struct cli_fleet_target *t);
/* In report order: by name (then line). Before cli_fleet_run only. */
void cli_fleet_sort(struct cli_fleet_target *t, size_t n);
void cli_fleet_targets_free(struct cli_fleet_target *t, size_t n);
/* Run every target not yet done, `jobs` at once. A target's own failure
 * is its result; < 0 only when petra itself cannot go on (fork). */
int cli_fleet_run(struct cli_fleet_target *t, size_t n, unsigned jobs, unsigned timeout_ms,
		  size_t cap, struct petra_error **err);
/* Print the report (text: the blocks, a line per target, "N ok, N failed,
 * N timed out"; nothing for no target; json: a list, one object per
 * target). EXIT_OK when every target succeeded, else EXIT_FAIL. */
int cli_fleet_report(const struct cli_fleet_target *t, size_t n, enum cli_format format);

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

/* ---- the gate: every verb that makes a process of an image (gate.c) ---- */

/* run, run -d, exec, test and bundle ask cli_gate() before anything of the
 * image runs; a new such path (start, deploy, admission) takes
 * CLI_GATE_LONG_OPTIONS and calls cli_gate() the same way. Stopping and
 * removing containers is never gated. */
/* Shared option ids live in ranges of their own (1000 run's, 1100
 * build's, 1200 run's limits, 1300 the gate's), so one verb can take
 * several sets without two options sharing an id. */
enum {
	CLI_OPT_GATE_POLICY = 1300,
	CLI_OPT_SIGNATURE_POLICY,
};
#define CLI_GATE_LONG_OPTIONS                                                                      \
	{"policy", required_argument, NULL, CLI_OPT_GATE_POLICY},                                  \
	{                                                                                          \
		"signature-policy", required_argument, NULL, CLI_OPT_SIGNATURE_POLICY              \
	}
#define CLI_GATE_OPTIONS_HELP                                                                      \
	"      --policy FILE        the policy the gate applies: bans, base catalog,\n"            \
	"                           trust (default: .petra/policy.yaml if there)\n"                \
	"      --signature-policy FILE  a containers policy.json the image must also\n"            \
	"                           satisfy (instead of the policy's signature-policy)\n"

struct cli_gate_args {
	const char *policy_path;      /* --policy; NULL: .petra/policy.yaml when present */
	const char *signature_policy; /* --signature-policy; NULL: the policy's own */
};
/* 0 when opt was a gate option and is recorded, -1 when it is not one. */
int cli_gate_option(int opt, const char *arg, struct cli_gate_args *a);
/* May the store image `image` become a process for `purpose`? Loads the
 * policy and asks trust_gate_check_with(). 0: allowed (also when there is
 * no policy and no signature policy: nothing is asked). 1: refused, every
 * reason printed on stderr. -1: no answer (policy unreadable, image not
 * found), the error printed; callers refuse on both (run, exec: 125;
 * others: 1). With warn_only (exec without --strict, into a container that
 * already runs), a refusal or no answer is a warning on stderr and 0. */
int cli_gate(struct petra_store *store, const char *image, enum trust_purpose purpose,
	     const struct cli_gate_args *a, bool warn_only);
/* The image a container runs, as the gate should judge it: its name while
 * the name still gives the container's manifest, else the digest (judged
 * under every name it has now). NULL when the container records none. */
const char *cli_gate_container_image(struct petra_store *store, const struct runtime_container *ct);

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
	"      --tmpfs PATH[:OPTS]  a writable tmpfs at PATH (default mode 1777); OPTS:\n"         \
	"                           size=64m,mode=0755,uid=N,gid=N,copy (start with the\n"         \
	"                           image's content of PATH),ro\n"                                 \
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
 * one, EXIT_USAGE (message printed) when its value is wrong, EXIT_FAIL
 * (printed too) when a -v source is not there. */
int cli_run_option(const char *verb, int opt, const char *arg, struct cli_run_args *a);
/* Point the options at the collected mounts and environment. */
void cli_run_args_finish(struct cli_run_args *a);
void cli_run_args_release(struct cli_run_args *a);
/* --learn (learn.c): print what a run learned (stderr); save image as
 * `save` with it (EXIT_OK, or EXIT_FAIL with the error printed); both for
 * a detached learner that ended (c->image by digest, `save` may be NULL). */
void cli_learn_print(const struct runtime_run_result *r);
int cli_learn_save(struct cli *cli, const char *image, const struct runtime_run_result *r,
		   const char *save);
int cli_learn_finish(struct cli *cli, const struct runtime_container *c, const char *save);

/* The petra-supervisor program, or NULL. Caller frees. */
char *cli_supervisor_path(void);
/* A helper program of petra's: $env_name, next to petra (a build tree),
 * or the installed one; NULL when none is there. Caller frees. */
char *cli_helper_path(const char *name, const char *env_name);

/* ---- run's process, resource and port options (runlimits.c) ---- */

enum {
	CLI_OPT_INIT = 1200,
	CLI_OPT_MEMORY,
	CLI_OPT_CPUS,
	CLI_OPT_PIDS_LIMIT,
};
#define CLI_RUN_LIMITS_LONG_OPTIONS                                                                \
	{"init", no_argument, NULL, CLI_OPT_INIT},                                                 \
	    {"memory", required_argument, NULL, CLI_OPT_MEMORY},                                   \
	    {"cpus", required_argument, NULL, CLI_OPT_CPUS},                                       \
	    {"publish", required_argument, NULL, 'p'},                                             \
	{                                                                                          \
		"pids-limit", required_argument, NULL, CLI_OPT_PIDS_LIMIT                          \
	}
#define CLI_RUN_LIMITS_HELP                                                                        \
	"      --init               run petra's small init as PID 1: it passes signals on\n"       \
	"                           to COMMAND and reaps orphaned processes\n"                     \
	"      --memory SIZE        at most SIZE of memory (e.g. 256m); over it the\n"             \
	"                           container is killed (status 137)\n"                            \
	"      --cpus N             at most N CPUs' time (e.g. 0.5)\n"                             \
	"      --pids-limit N       at most N processes and threads\n"                             \
	"  -p, --publish [IP:]HOST:CONTAINER[/tcp|udp]\n"                                          \
	"                           publish a port of the container (--network none)\n"            \
	"                           on the host (IP default 0.0.0.0)\n"
/* 0 when opt was one of them and is recorded, -1 when it is not one,
 * EXIT_USAGE (message printed) when its value is wrong. -p's ports go to
 * o->ports, which the caller frees. */
#define CLI_RUN_LIMITS_SHORT_OPTIONS "p:"
int cli_run_limits_option(const char *verb, int opt, const char *arg,
			  struct runtime_run_options *o);
/* After parsing: --init's program into o->init (*init_path, caller
 * frees); 0, or EXIT_FAIL after saying it is missing. */
int cli_run_limits_finish(const char *verb, struct runtime_run_options *o, char **init_path);

/* ---- registry options shared by pull, push, login, inspect (registryopts.c) ---- */

enum {
	CLI_OPT_CREDS = 1400, /* apart from the gate (1200) and run (1200) ranges */
	CLI_OPT_AUTHFILE,
	CLI_OPT_CERT_DIR,
	CLI_OPT_TLS_VERIFY,
	CLI_OPT_PLATFORM,
	CLI_OPT_CHUNK_SIZE,
	CLI_OPT_PULL,
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
/* The options of pull, push and copy (options: CLI_REGISTRY_LONG_OPTIONS,
 * --jobs, --quiet, --help and any the verb adds that cli_registry_option
 * knows) into *o, which starts from the defaults. -1 to go on (operands at
 * optind), else the exit status. */
int cli_registry_parse(struct cli *cli, const char *verb, const char *usage, int argc, char **argv,
		       const struct option *options, struct registry_options *o);
/* After a pull of ref (manifest `digest`): its referrers (build records,
 * signatures) into the store. A registry that cannot list them does not
 * fail the pull: a warning says so. */
void cli_pull_referrers(struct petra_store *store, const char *ref, const char *digest,
			const struct registry_options *o);

/* build and run pull an image the store lacks: --pull and the options
 * above but --platform (the host's image is the one that runs). */
#define CLI_PULL_LONG_OPTIONS                                                                      \
	{"creds", required_argument, NULL, CLI_OPT_CREDS},                                         \
	    {"authfile", required_argument, NULL, CLI_OPT_AUTHFILE},                               \
	    {"cert-dir", required_argument, NULL, CLI_OPT_CERT_DIR},                               \
	    {"tls-verify", optional_argument, NULL, CLI_OPT_TLS_VERIFY},                           \
	{                                                                                          \
		"pull", required_argument, NULL, CLI_OPT_PULL                                      \
	}
#define CLI_PULL_OPTIONS_HELP                                                                      \
	"      --pull missing|always|never  pull IMAGE from its registry: when the\n"              \
	"                           store lacks it and the name says its registry\n"               \
	"                           (host.domain/, host:port/ or localhost/; default),\n"          \
	"                           every time, or never\n" CLI_REGISTRY_OPTIONS_HELP
struct cli_pull_args {
	enum builder_pull when;
	struct registry_options registry;
};
void cli_pull_args_init(struct cli_pull_args *a, const struct cli *cli);
/* As cli_registry_option, for CLI_PULL_LONG_OPTIONS. */
int cli_pull_option(const char *verb, int opt, const char *arg, struct cli_pull_args *a);
/* Pull ref into the store as a->when says (run's image); 0 when there was
 * nothing to do or it was pulled. */
int cli_pull_image(struct petra_store *store, const char *ref, const struct cli_pull_args *a,
		   struct petra_error **err);

/* ---- lineage (lineage.c) ---- */

/* A derivation's path for people: "app:1 <- runtime:1 (base) <- base:1
 * (base)", digests left out but for unnamed images. Caller frees. */
char *cli_lineage_path_text(const struct lineage_derivation *d);

#define CLI_VERBS(X)                                                                               \
	X(import, "Import a directory, tarball, OCI layout or OCI archive as an image")            \
	X(export, "Export an image to an OCI layout or OCI archive")                               \
	X(images, "List images")                                                                   \
	X(inspect, "Show an image's manifest and config")                                          \
	X(history, "Show an image's layers and the steps that made them")                          \
	X(lineage, "Show what an image was made from (build records, base annotations, layers)")   \
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
	X(learn, "End a detached --learn container and save what it learned")                      \
	X(kill, "Send a signal to running containers")                                             \
	X(start, "Start stopped containers again")                                                 \
	X(restart, "Stop and start containers again")                                              \
	X(rm, "Remove containers")                                                                 \
	X(cp, "Copy files out of a running container")                                             \
	X(top, "List the processes of a running container")                                        \
	X(exec, "Run a command in one running container, or in all that match")                    \
	X(diff, "Show what changed in a container's writable places")                              \
	X(verify, "Check the extracted layers on disk against their images")                       \
	X(bundle, "Write an OCI runtime bundle (rootfs and config.json) for runc")                 \
	X(test, "Run structure tests (container-structure-test YAML) against an image")            \
	X(lint, "Check Dockerfiles for hygiene, immutability, secrets and base policy")            \
	X(rebase, "Apply the policy's base rewrites to FROM lines (diff, or --write)")             \
	X(audit, "Report what makes an image unsafe or mutable, layer by layer")                   \
	X(harden, "Write an immutable copy of an image: root-owned, non-root USER, squashed")      \
	X(rebuild, "Rebuild every image derived from a banned base on its replacement")            \
	X(keygen, "Write a key pair in cosign's format (encrypted private key, public key)")       \
	X(sign, "Sign a store image as cosign does (a .sig manifest beside it)")                   \
	X(verify_signature, "Check an image's signatures offline: cosign, GPG, policy.json")       \
	X(policy, "policy check: the gate's decision (bans, base catalog, signatures) for images") \
	X(ban, "Add an image or digest to the policy file's ban list (other bytes kept)")          \
	X(unban, "Remove an entry of the policy file's ban list (other bytes kept)")               \
	X(attest, "Attest a store image: an in-toto statement in a signed DSSE envelope (.att)")   \
	X(verify_attestation, "Check a store image's in-toto attestations offline")                \
	X(deploy, "Write Kubernetes or Compose manifests: read-only, restricted, by digest")       \
	X(kube_lint, "Check Kubernetes manifests against the restricted profile and the images")   \
	X(admission, "Serve a validating admission webhook (HTTPS) with kube-lint's rules")        \
	X(info, "Show the store, the run directory and the kernel features petra uses")            \
	X(pull, "Pull an image from a registry into the store")                                    \
	X(push, "Push an image to a registry")                                                     \
	X(login, "Keep credentials for a registry")                                                \
	X(logout, "Forget credentials for a registry")                                             \
	X(copy, "Copy an image between registries, layouts, archives and the store")               \
	X(save, "Write images to a docker save archive")                                           \
	X(load, "Load the images of a docker save archive")

/* The private key's password: $PETRA_PASSWORD, else asked on the terminal
 * (twice when confirm). NULL with err when there is none. Caller frees. */
char *cli_read_password(bool confirm, struct petra_error **err);

#define CLI_DECLARE(name, summary) int cmd_##name(struct cli *cli, int argc, char **argv);
CLI_VERBS(CLI_DECLARE)
#undef CLI_DECLARE

#endif
