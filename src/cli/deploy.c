/* SPDX-License-Identifier: Apache-2.0 */
/* petra deploy: Kubernetes and Compose manifests from what petra knows
 * about an image. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kube/kube.h"

static const char usage[] =
    "Usage: petra deploy kubernetes [OPTIONS] IMAGE\n"
    "       petra deploy compose [OPTIONS] IMAGE...\n"
    "\n"
    "Write manifests that run IMAGE as petra would: read-only, non-root, with\n"
    "one emptyDir (Kubernetes) or tmpfs (Compose) per path of the image's\n"
    "writable-paths label, every capability dropped, by digest.\n"
    "\n"
    "kubernetes options:\n"
    "      --name NAME         the app's name (default: from the image's name)\n"
    "      --namespace NS      the objects' namespace\n"
    "      --replicas N        replicas (default 1; split with --canary)\n"
    "      --port PORT         the container and Service port (default: the\n"
    "                          image's first exposed TCP port)\n"
    "  -e, --env K=V           an environment variable (repeatable)\n"
    "      --memory SIZE       memory limit and request (64m, 1g, ...)\n"
    "      --cpus N            CPU limit and request (0.5, 2, ...)\n"
    "      --pod               also a bare Pod\n"
    "      --allow-root        write a root USER as such instead of refusing\n"
    "      --canary IMAGE2     a second Deployment (track: canary) behind the\n"
    "                          same Service\n"
    "      --canary-weight PCT the canary's share of the replicas (default 10)\n"
    "\n"
    "compose options:\n"
    "      --compose-version 2 the classic version 2 format (default: the\n"
    "                          current Compose specification)\n"
    "      --engine docker|podman  how a tmpfs's owner is written: uid=/gid=\n"
    "                          (docker, the default) or U (podman)\n"
    "\n"
    "Both:\n"
    "      --policy FILE       the policy the trust gate judges every image by\n"
    "                          first (default: .petra/policy.yaml if there): a\n"
    "                          banned base or a missing required signature\n"
    "                          gets no manifest\n"
    "      --signature-policy FILE  also a containers-policy.json over the\n"
    "                          image's signatures in the store\n"
    "  -o, --output FILE|DIR|-  where to write (default -, standard output); a\n"
    "                          directory gets one file per object\n"
    "  -h, --help              this help\n";

enum {
	OPT_NAME = 256,
	OPT_NAMESPACE,
	OPT_REPLICAS,
	OPT_PORT,
	OPT_MEMORY,
	OPT_CPUS,
	OPT_POD,
	OPT_ALLOW_ROOT,
	OPT_CANARY,
	OPT_CANARY_WEIGHT,
	OPT_COMPOSE_VERSION,
	OPT_ENGINE,
	OPT_POLICY,
	OPT_SIGNATURE_POLICY,
};

struct deploy_args {
	bool compose;
	struct kube_deploy_options k;
	struct kube_compose_options c;
	struct strvec env;
	const char *output;
	const char *policy;
	const char *signature_policy;
};

static int parse_number(const char *what, const char *arg, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || *arg == '\0' || *end || v < lo || v > hi)
		return cli_usage("deploy", "%s wants a number from %ld to %ld, not \"%s\"", what,
				 lo, hi, arg);
	*out = v;
	return 0;
}

static int parse_option(int c, struct deploy_args *a, char **argv)
{
	long v;
	switch (c) {
	case OPT_NAME:
		a->k.name = optarg;
		return 0;
	case OPT_NAMESPACE:
		a->k.namespace = optarg;
		return 0;
	case OPT_REPLICAS:
		return parse_number("--replicas", optarg, 1, 10000, &a->k.replicas);
	case OPT_PORT:
		if (parse_number("--port", optarg, 1, 65535, &v))
			return EXIT_USAGE;
		a->k.port = (int)v;
		return 0;
	case 'e':
		if (!strchr(optarg, '=') || optarg[0] == '=')
			return cli_usage("deploy", "--env wants K=V, not \"%s\"", optarg);
		strvec_push(&a->env, optarg);
		return 0;
	case OPT_MEMORY:
		if (!cli_parse_size(optarg, &a->k.memory_bytes) || a->k.memory_bytes == 0)
			return cli_usage("deploy", "--memory: \"%s\" is not a size", optarg);
		return 0;
	case OPT_CPUS: {
		char *end;
		double cpus = strtod(optarg, &end);
		if (*optarg == '\0' || *end || !(cpus >= 0.001 && cpus <= 4096))
			return cli_usage("deploy", "--cpus wants a number of CPUs, not \"%s\"",
					 optarg);
		a->k.millicpus = lround(cpus * 1000);
		return 0;
	}
	case OPT_POD:
		a->k.pod = true;
		return 0;
	case OPT_ALLOW_ROOT:
		a->k.allow_root = true;
		return 0;
	case OPT_CANARY:
		a->k.canary = optarg;
		return cli_check_image_ref("deploy", optarg);
	case OPT_CANARY_WEIGHT:
		if (parse_number("--canary-weight", optarg, 1, 99, &v))
			return EXIT_USAGE;
		a->k.canary_weight = (int)v;
		return 0;
	case OPT_COMPOSE_VERSION:
		if (strcmp(optarg, "2") != 0)
			return cli_usage("deploy",
					 "--compose-version: only 2 (the classic format) can be "
					 "asked for; the default is the current specification");
		a->c.version = 2;
		return 0;
	case OPT_ENGINE:
		if (strcmp(optarg, "docker") == 0)
			a->c.engine = KUBE_COMPOSE_DOCKER;
		else if (strcmp(optarg, "podman") == 0)
			a->c.engine = KUBE_COMPOSE_PODMAN;
		else
			return cli_usage("deploy", "--engine: docker or podman, not \"%s\"",
					 optarg);
		return 0;
	case 'o':
		a->output = optarg;
		return 0;
	case OPT_POLICY:
		a->policy = optarg;
		return 0;
	case OPT_SIGNATURE_POLICY:
		a->signature_policy = optarg;
		return 0;
	default:
		return cli_bad_option("deploy", argv);
	}
}

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct deploy_args *a)
{
	static const struct option options[] = {
	    {"name", required_argument, NULL, OPT_NAME},
	    {"namespace", required_argument, NULL, OPT_NAMESPACE},
	    {"replicas", required_argument, NULL, OPT_REPLICAS},
	    {"port", required_argument, NULL, OPT_PORT},
	    {"env", required_argument, NULL, 'e'},
	    {"memory", required_argument, NULL, OPT_MEMORY},
	    {"cpus", required_argument, NULL, OPT_CPUS},
	    {"pod", no_argument, NULL, OPT_POD},
	    {"allow-root", no_argument, NULL, OPT_ALLOW_ROOT},
	    {"canary", required_argument, NULL, OPT_CANARY},
	    {"canary-weight", required_argument, NULL, OPT_CANARY_WEIGHT},
	    {"compose-version", required_argument, NULL, OPT_COMPOSE_VERSION},
	    {"engine", required_argument, NULL, OPT_ENGINE},
	    {"output", required_argument, NULL, 'o'},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"signature-policy", required_argument, NULL, OPT_SIGNATURE_POLICY},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return cli_help(usage);
	if (argc < 2)
		return cli_usage("deploy", "expects kubernetes or compose");
	if (strcmp(argv[1], "compose") == 0)
		a->compose = true;
	else if (strcmp(argv[1], "kubernetes") != 0 && strcmp(argv[1], "k8s") != 0)
		return cli_usage("deploy", "unknown target \"%s\" (kubernetes or compose)",
				 argv[1]);
	a->k.canary_weight = 10;
	cli_getopt_reset();
	argc--, argv++;
	int c;
	while ((c = getopt_long(argc, argv, "e:o:h", options, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		int status = parse_option(c, a, argv);
		if (status != 0)
			return status;
	}
	int n = argc - optind;
	if (a->compose ? n < 1 : n != 1)
		return cli_usage("deploy", a->compose ? "compose expects one IMAGE or more"
						      : "kubernetes expects one IMAGE");
	for (int i = optind; i < argc; i++)
		if (cli_check_image_ref("deploy", argv[i]) != 0)
			return EXIT_USAGE;
	a->k.env = (const char *const *)a->env.v;
	a->k.n_env = a->env.n;
	return -1;
}

/* One file per object in a directory: KIND-NAME.yaml. */
static int write_dir(const char *dir, const json_t *objects, bool compose, struct petra_error **err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return petra_error_set_errno(err, errno, "open %s", dir);
	size_t i;
	json_t *obj;
	json_array_foreach(objects, i, obj)
	{
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
		if (kube_yaml_emit(obj, &sb, err) < 0)
			return -1;
		const char *kind = json_string_value(json_object_get(obj, "kind"));
		const char *name =
		    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
		_cleanup_free_ char *lower = kube_dns_label(kind ? kind : "object");
		_cleanup_free_ char *file =
		    compose ? xstrdup("compose.yaml")
			    : xasprintf("%s-%s.yaml", lower, name ? name : "unnamed");
		if (fs_write_file_atomic_at(dfd, file, sb.buf, sb.len, 0644, err) < 0)
			return petra_error_prefix(err, "%s/%s", dir, file);
	}
	return 0;
}

static int write_output(const char *output, const json_t *objects, bool compose,
			struct petra_error **err)
{
	struct stat st;
	if (output && strcmp(output, "-") != 0 && stat(output, &st) == 0 && S_ISDIR(st.st_mode))
		return write_dir(output, objects, compose, err);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *obj;
	json_array_foreach(objects, i, obj)
	{
		if (kube_yaml_emit(obj, &sb, err) < 0)
			return -1;
	}
	if (!output || strcmp(output, "-") == 0) {
		fwrite(sb.buf, 1, sb.len, stdout);
		return fflush(stdout) == 0 ? 0 : petra_error_set_errno(err, errno, "write output");
	}
	if (fs_write_file_atomic_at(AT_FDCWD, output, sb.buf, sb.len, 0644, err) < 0)
		return petra_error_prefix(err, "%s", output);
	return 0;
}

static int deploy(struct cli *cli, struct deploy_args *a, int n, char **images)
{
	struct petra_error *err = NULL;
	struct kube_trust_gate gate;
	if (kube_trust_gate_load(&gate, a->policy, a->signature_policy, &err) < 0)
		return cli_fail(err);
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	if (!store) {
		kube_trust_gate_release(&gate);
		return EXIT_FAIL;
	}
	/* The gate is asked for every image, the canary's too, before any
	 * manifest is made (with no policy it allows every image). */
	/* petra's static copier, for the copy helper image of an image
	 * without a cp (none installed: a note instead). */
	_cleanup_free_ char *copier = cli_helper_path("petra-copy", "PETRA_COPY");
	a->k.copy_helper = copier;
	a->k.gate = a->c.gate = kube_trust_gate;
	a->k.gate_ctx = a->c.gate_ctx = &gate;
	struct kube_deploy_result res;
	int r = a->compose ? kube_deploy_compose(store, (const char *const *)images, (size_t)n,
						 &a->c, &res, &err)
			   : kube_deploy_kubernetes(store, images[0], &a->k, &res, &err);
	kube_trust_gate_release(&gate);
	if (r < 0) {
		petra_error_prefix(&err, "deploy");
		return cli_fail(err);
	}
	r = write_output(a->output, res.objects, a->compose, &err);
	if (r == 0 && !cli->quiet)
		for (size_t i = 0; i < res.notes.n; i++)
			fprintf(stderr, "petra: note: %s\n", res.notes.v[i]);
	kube_deploy_result_release(&res);
	return r < 0 ? cli_fail(err) : EXIT_OK;
}

int cmd_deploy(struct cli *cli, int argc, char **argv)
{
	struct deploy_args a = {.env = STRVEC_INIT};
	int status = parse_args(argc, argv, &a);
	if (status < 0)
		status = deploy(cli, &a, argc - 1 - optind, argv + 1 + optind);
	strvec_clear(&a.env);
	return status;
}
