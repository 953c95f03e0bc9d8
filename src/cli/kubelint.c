/* SPDX-License-Identifier: Apache-2.0 */
/* petra kube-lint: Kubernetes manifests against the restricted profile and
 * against what the images in the store say they need. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "kube/kube.h"

static const char usage[] =
    "Usage: petra kube-lint [OPTIONS] FILE...\n"
    "\n"
    "Check Kubernetes manifests (\"-\" reads standard input; multi-document\n"
    "YAML and Lists) for what the restricted Pod Security Standard and an\n"
    "immutable deployment ask (KL1xx), and against the images in the store\n"
    "(KL2xx: a writable path of the image's label with no writable volume, an\n"
    "emptyDir hiding image content, KL203: an image the trust gate refuses,\n"
    "KL204: a tmpfs-only path on a volume that may be on disk).\n"
    "Every workload kind; containers, init\n"
    "and ephemeral containers; the pod's and the container's securityContext\n"
    "resolved as the kubelet does. docs/rules/<ID>.md explains each rule.\n"
    "\n"
    "Options:\n"
    "      --format FORMAT     text (default), json or sarif\n"
    "      --failure-threshold LEVEL\n"
    "                          fail on findings of this severity or worse: error,\n"
    "                          warning (default), info, or none\n"
    "      --no-images         leave out the image-aware rules (no store)\n"
    "      --policy FILE       the policy the trust gate judges images by for\n"
    "                          KL203 (default: .petra/policy.yaml if there)\n"
    "      --signature-policy FILE  also a containers-policy.json over the\n"
    "                          images' signatures (KL203)\n"
    "      --registry          read images not in the store from their registry\n"
    "                          (their label and USER; implied by the three\n"
    "                          options below), cached by manifest digest\n"
    "      --registry-auth FILE  the auth file, as pull's --authfile\n"
    "      --tls-verify=false  do not check the registry's TLS certificate\n"
    "      --cert-dir DIR      the registry's CAs and client certificates\n"
    "      --image-cache DIR   where registry images' facts are kept\n"
    "                          (default: ~/.cache/petra/kube-images)\n"
    "      --list-rules        list the rules: ID, severity, summary\n"
    "  -h, --help              this help\n"
    "\n"
    "Exemptions: the annotation \"petra.dev/ignore: ID[,ID]\" on a workload or its\n"
    "pod template for all its containers, \"petra.dev/ignore.CONTAINER: ID[,ID]\"\n"
    "for one container (init and ephemeral ones too).\n"
    "\n"
    "Exit status: 0 when no finding reaches the threshold, 1 when one does or a\n"
    "file cannot be read, 2 bad usage.\n";

#define KUBE_LINT_MAX_FILE (64u << 20)

enum kube_lint_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_SARIF };

struct kube_lint_args {
	enum kube_lint_format format;
	enum lint_severity threshold;
	bool no_images;
	const char *policy;
	const char *signature_policy;
	bool registry;
	struct kube_remote_options remote;
};

static int list_rules(void)
{
	size_t n;
	const struct kube_rule *rules = kube_lint_rules(&n);
	for (size_t i = 0; i < n; i++)
		printf("%s  %-7s  %s\n", rules[i].id, lint_severity_name(rules[i].severity),
		       rules[i].summary);
	return EXIT_OK;
}

static int read_input(const char *path, char **data, size_t *len, struct petra_error **err)
{
	if (strcmp(path, "-") == 0)
		return cli_read_stdin(KUBE_LINT_MAX_FILE, data, len, err);
	return fs_read_file_at(AT_FDCWD, path, KUBE_LINT_MAX_FILE, data, len, err);
}

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct kube_lint_args *a)
{
	enum {
		OPT_FORMAT = 256,
		OPT_THRESHOLD,
		OPT_NO_IMAGES,
		OPT_LIST,
		OPT_POLICY,
		OPT_SIGNATURE_POLICY,
		OPT_REGISTRY,
		OPT_REGISTRY_AUTH,
		OPT_TLS_VERIFY,
		OPT_CERT_DIR,
		OPT_IMAGE_CACHE,
	};
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"failure-threshold", required_argument, NULL, OPT_THRESHOLD},
	    {"no-images", no_argument, NULL, OPT_NO_IMAGES},
	    {"list-rules", no_argument, NULL, OPT_LIST},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"signature-policy", required_argument, NULL, OPT_SIGNATURE_POLICY},
	    {"registry", no_argument, NULL, OPT_REGISTRY},
	    {"registry-auth", required_argument, NULL, OPT_REGISTRY_AUTH},
	    {"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
	    {"cert-dir", required_argument, NULL, OPT_CERT_DIR},
	    {"image-cache", required_argument, NULL, OPT_IMAGE_CACHE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				a->format = FORMAT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				a->format = FORMAT_JSON;
			else if (strcmp(optarg, "sarif") == 0)
				a->format = FORMAT_SARIF;
			else
				return cli_usage("kube-lint",
						 "unknown format \"%s\" (text, json or sarif)",
						 optarg);
			break;
		case OPT_THRESHOLD:
			if (lint_severity_parse(optarg, true, &a->threshold) < 0)
				return cli_usage(
				    "kube-lint",
				    "unknown failure threshold \"%s\" (error, warning, "
				    "info or none)",
				    optarg);
			break;
		case OPT_NO_IMAGES:
			a->no_images = true;
			break;
		case OPT_LIST:
			return list_rules();
		case OPT_POLICY:
			a->policy = optarg;
			break;
		case OPT_SIGNATURE_POLICY:
			a->signature_policy = optarg;
			break;
		case OPT_REGISTRY:
			a->registry = true;
			break;
		case OPT_REGISTRY_AUTH:
			a->registry = true;
			a->remote.auth_file = optarg;
			break;
		case OPT_TLS_VERIFY:
			a->registry = true;
			if (!optarg || strcmp(optarg, "true") == 0)
				a->remote.tls_verify = 1;
			else if (strcmp(optarg, "false") == 0)
				a->remote.tls_verify = 0;
			else
				return cli_usage("kube-lint",
						 "--tls-verify wants true or false, not \"%s\"",
						 optarg);
			break;
		case OPT_CERT_DIR:
			a->registry = true;
			a->remote.cert_dir = optarg;
			break;
		case OPT_IMAGE_CACHE:
			a->remote.cache_dir = optarg;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("kube-lint", argv);
		}
	}
	if (optind >= argc)
		return cli_usage("kube-lint", "expects at least one FILE");
	return -1;
}

/* The store for the image-aware rules, or NULL (with a note) when there
 * is none to read. */
static struct petra_store *open_store(struct cli *cli, bool no_images)
{
	if (no_images)
		return NULL;
	struct petra_store *store = NULL;
	struct petra_error *err = NULL;
	if (petra_store_open(cli->root, PETRA_STORE_WRITE, &store, &err) < 0) {
		fprintf(stderr,
			"petra kube-lint: note: %s; the image-aware rules (KL2xx) are left out\n",
			err->message);
		petra_error_free(err);
		return NULL;
	}
	return store;
}

int cmd_kube_lint(struct cli *cli, int argc, char **argv)
{
	struct kube_lint_args a = {.format = FORMAT_TEXT,
				   .threshold = LINT_WARNING,
				   .remote = {.tls_verify = -1, .fetch_on_miss = true}};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	struct petra_error *err = NULL;
	struct kube_trust_gate gate;
	if (kube_trust_gate_load(&gate, a.policy, a.signature_policy, &err) < 0)
		return cli_fail(err);
	_cleanup_store_ struct petra_store *store = open_store(cli, a.no_images);
	/* No policy: the gate allows everything, so it is not asked. */
	bool gated = gate.policy || gate.signature_policy;
	struct kube_remote *remote = NULL;
	if (a.registry && !a.no_images && kube_remote_new(&a.remote, &remote, &err) < 0) {
		kube_trust_gate_release(&gate);
		return cli_fail(err);
	}
	struct kube_lint_options o = {.store = store,
				      .gate = gated ? kube_trust_gate : NULL,
				      .gate_ctx = &gate,
				      .remote_gate = gated ? kube_trust_gate_remote : NULL,
				      .remote = remote};
	struct kube_linter *linter = NULL;
	if (kube_linter_new(&o, &linter, &err) < 0) {
		kube_trust_gate_release(&gate);
		kube_remote_free(remote);
		return cli_fail(err);
	}
	_cleanup_json_ json_t *json = a.format == FORMAT_JSON ? json_array() : NULL;
	_cleanup_json_ json_t *sarif = a.format == FORMAT_SARIF ? kube_lint_sarif_new() : NULL;
	_cleanup_strset_ struct strset notes = STRSET_INIT;
	bool failed = false;
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		struct kube_lint_result res;
		if (read_input(argv[i], &data, &len, &err) < 0 ||
		    kube_lint_buffer(linter, data, len, argv[i], &res, &err) < 0) {
			petra_error_prefix(&err, "%s", argv[i]);
			cli_fail(err);
			err = NULL;
			failed = true;
			continue;
		}
		if (json) {
			json_array_append_new(json, kube_lint_report_json(&res));
		} else if (sarif) {
			kube_lint_sarif_add(sarif, &res);
		} else {
			_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
			kube_lint_report_text(&res, &sb);
			fputs(strbuf_str(&sb), stdout);
		}
		for (size_t k = 0; k < res.notes.n; k++)
			if (strset_add(&notes, res.notes.v[k]))
				fprintf(stderr, "petra kube-lint: note: %s\n", res.notes.v[k]);
		if (kube_lint_result_worst(&res) >= a.threshold)
			failed = true;
		kube_lint_result_release(&res);
	}
	kube_linter_free(linter);
	kube_remote_free(remote);
	kube_trust_gate_release(&gate);
	if (json)
		cli_print_json(json);
	if (sarif)
		cli_print_json(sarif);
	return failed ? EXIT_FAIL : EXIT_OK;
}
