/* SPDX-License-Identifier: Apache-2.0 */
/* petra admission serve: the validating admission webhook. The server is
 * the program petra-admission (installed next to petra or in libexec),
 * which alone loads the TLS stack; this verb finds it and runs it.
 * petra admission manifests: what installs it in a cluster. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/kube.h"

static const char usage[] =
    "Usage: petra admission serve --listen ADDR:PORT --tls-cert FILE --tls-key FILE\n"
    "                             [OPTIONS]\n"
    "\n"
    "Serve a validating admission webhook over HTTPS: AdmissionReview\n"
    "(admission.k8s.io/v1) requests are answered with kube-lint's rules. CREATE\n"
    "and UPDATE of pods and workloads with a finding at the threshold or worse\n"
    "are refused, every such finding in status.message; lesser findings\n"
    "(warning or worse) go to warnings. DELETE, CONNECT and an UPDATE that\n"
    "leaves the pod template alone (scaling) are always allowed. The request's\n"
    "uid is echoed. Image facts come from the store and, with --registry, from\n"
    "a cache of registry images' facts that a background thread fills and\n"
    "refreshes: no network call on the request path (a miss is answered by\n"
    "--on-unknown-image). GET /healthz answers \"ok\". One log line per decision\n"
    "on standard error. SIGHUP reloads the certificate, its key and the\n"
    "policies (a failed reload keeps the old ones). SIGTERM or SIGINT stops it.\n"
    "\n"
    "Options:\n"
    "      --listen ADDR:PORT  where to listen (127.0.0.1:8443, [::]:8443, :8443)\n"
    "      --tls-cert FILE     the server certificate (PEM; a chain may follow)\n"
    "      --tls-key FILE      its private key (PEM)\n"
    "      --failure-threshold LEVEL\n"
    "                          refuse on findings of this severity or worse:\n"
    "                          error (default), warning, info\n"
    "      --max-body BYTES    larger requests get 400 (default 3145728, the\n"
    "                          API server's own limit)\n"
    "      --log-format text|json  the decision log (default text)\n"
    "      --no-images         leave out the image-aware rules\n"
    "      --policy FILE       the trust gate's policy (KL203: a banned base, a\n"
    "                          missing required signature; default:\n"
    "                          .petra/policy.yaml if there)\n"
    "      --signature-policy FILE  also a containers-policy.json (KL203)\n"
    "      --on-unknown-image allow|deny\n"
    "                          an image not in the store: allowed (default;\n"
    "                          its image-aware rules are left out) or refused\n"
    "      --registry          read images not in the store from their registry,\n"
    "                          in the background (implied by the three below)\n"
    "      --registry-auth FILE  the auth file, as pull's --authfile\n"
    "      --tls-verify=false  do not check the registry's TLS certificate\n"
    "      --cert-dir DIR      the registry's CAs and client certificates\n"
    "      --image-cache DIR   where registry images' facts are kept\n"
    "                          (default: ~/.cache/petra/kube-images)\n"
    "      --refresh SECONDS   how often cached tags are asked again (default 300)\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit status: 0 when stopped by a signal, 1 when it cannot serve, 2 bad usage.\n"
    "\n"
    "Usage: petra admission manifests --image IMAGE --ca-bundle FILE [OPTIONS]\n"
    "\n"
    "Write what installs the webhook: a Service, petra's Deployment (IMAGE, a\n"
    "store image with petra in it, by digest, read-only, non-root, TLS from a\n"
    "Secret) and a ValidatingWebhookConfiguration (the CA bundle, sideEffects\n"
    "None, the timeout and failurePolicy, every workload kind on CREATE and\n"
    "UPDATE; its own namespace is never judged).\n"
    "\n"
    "Options:\n"
    "      --image IMAGE       petra's image in the store\n"
    "      --ca-bundle FILE    the CA (PEM) that signed the server certificate\n"
    "      --name NAME         the objects' name (default petra-admission)\n"
    "      --namespace NS      their namespace (default petra-system)\n"
    "      --tls-secret NAME   the Secret with tls.crt and tls.key (default\n"
    "                          NAME-tls)\n"
    "      --failure-policy Fail|Ignore  what the API server does when the\n"
    "                          webhook does not answer (default Fail: closed)\n"
    "      --timeout SECONDS   the API server's wait, 1 to 30 (default 5)\n"
    "      --port PORT         the container's port (default 8443)\n"
    "      --replicas N        (default 2)\n"
    "      --on-unknown-image allow|deny  passed to serve (default allow)\n"
    "      --policy FILE       the trust gate asked for IMAGE first\n"
    "      --registry          serve reads images not in its store from their\n"
    "                          registry (--registry), its image cache on an\n"
    "                          emptyDir of its own; implied by the next four\n"
    "      --registry-auth-secret NAME  a kubernetes.io/dockerconfigjson Secret\n"
    "                          mounted as serve's --registry-auth\n"
    "      --cert-dir-secret NAME  a Secret of the registry's CAs and client\n"
    "                          certificates, mounted as serve's --cert-dir\n"
    "      --tls-verify=false  passed to serve\n"
    "      --refresh SECONDS   passed to serve\n"
    "  -o, --output FILE|-     where to write (default -)\n";

static int parse_long(const char *what, const char *arg, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || *arg == '\0' || *end || v < lo || v > hi)
		return cli_usage("admission", "%s wants a number from %ld to %ld, not \"%s\"", what,
				 lo, hi, arg);
	*out = v;
	return 0;
}

static int manifests(struct cli *cli, int argc, char **argv)
{
	enum {
		OPT_IMAGE = 256,
		OPT_CA,
		OPT_NAME,
		OPT_NAMESPACE,
		OPT_SECRET,
		OPT_FAILURE,
		OPT_TIMEOUT,
		OPT_PORT,
		OPT_REPLICAS,
		OPT_UNKNOWN,
		OPT_POLICY,
		OPT_REGISTRY,
		OPT_REGISTRY_AUTH_SECRET,
		OPT_CERT_DIR_SECRET,
		OPT_TLS_VERIFY,
		OPT_REFRESH,
	};
	static const struct option options[] = {
	    {"image", required_argument, NULL, OPT_IMAGE},
	    {"ca-bundle", required_argument, NULL, OPT_CA},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"namespace", required_argument, NULL, OPT_NAMESPACE},
	    {"tls-secret", required_argument, NULL, OPT_SECRET},
	    {"failure-policy", required_argument, NULL, OPT_FAILURE},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"port", required_argument, NULL, OPT_PORT},
	    {"replicas", required_argument, NULL, OPT_REPLICAS},
	    {"on-unknown-image", required_argument, NULL, OPT_UNKNOWN},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"registry", no_argument, NULL, OPT_REGISTRY},
	    {"registry-auth-secret", required_argument, NULL, OPT_REGISTRY_AUTH_SECRET},
	    {"cert-dir-secret", required_argument, NULL, OPT_CERT_DIR_SECRET},
	    {"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
	    {"refresh", required_argument, NULL, OPT_REFRESH},
	    {"output", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	struct kube_webhook_options o = {.name = "petra-admission",
					 .namespace = "petra-system",
					 .failure_policy = "Fail",
					 .timeout_seconds = 5,
					 .port = 8443,
					 .replicas = 2};
	const char *ca_path = NULL, *output = NULL, *policy = NULL;
	long v;
	cli_getopt_reset();
	argc--, argv++;
	int c;
	while ((c = getopt_long(argc, argv, "o:", options, NULL)) != -1) {
		switch (c) {
		case OPT_IMAGE:
			o.image = optarg;
			break;
		case OPT_CA:
			ca_path = optarg;
			break;
		case OPT_NAME:
			o.name = optarg;
			break;
		case OPT_NAMESPACE:
			o.namespace = optarg;
			break;
		case OPT_SECRET:
			o.tls_secret = optarg;
			break;
		case OPT_FAILURE:
			if (strcmp(optarg, "Fail") != 0 && strcmp(optarg, "Ignore") != 0)
				return cli_usage("admission",
						 "--failure-policy: Fail or Ignore, not \"%s\"",
						 optarg);
			o.failure_policy = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_long("--timeout", optarg, 1, 30, &o.timeout_seconds))
				return EXIT_USAGE;
			break;
		case OPT_PORT:
			if (parse_long("--port", optarg, 1, 65535, &v))
				return EXIT_USAGE;
			o.port = (int)v;
			break;
		case OPT_REPLICAS:
			if (parse_long("--replicas", optarg, 1, 100, &o.replicas))
				return EXIT_USAGE;
			break;
		case OPT_UNKNOWN:
			if (strcmp(optarg, "allow") != 0 && strcmp(optarg, "deny") != 0)
				return cli_usage("admission",
						 "--on-unknown-image: allow or deny, not \"%s\"",
						 optarg);
			o.on_unknown_deny = strcmp(optarg, "deny") == 0;
			break;
		case OPT_POLICY:
			policy = optarg;
			break;
		case OPT_REGISTRY:
			o.registry = true;
			break;
		case OPT_REGISTRY_AUTH_SECRET:
		case OPT_CERT_DIR_SECRET: {
			_cleanup_free_ char *label = kube_dns_label(optarg);
			if (strcmp(label, optarg) != 0)
				return cli_usage("admission", "--%s: \"%s\" is not a DNS label",
						 c == OPT_CERT_DIR_SECRET ? "cert-dir-secret"
									  : "registry-auth-secret",
						 optarg);
			if (c == OPT_CERT_DIR_SECRET)
				o.cert_dir_secret = optarg;
			else
				o.registry_auth_secret = optarg;
			o.registry = true;
			break;
		}
		case OPT_TLS_VERIFY:
			if (optarg && strcmp(optarg, "true") != 0 && strcmp(optarg, "false") != 0)
				return cli_usage("admission",
						 "--tls-verify: true or false, not \"%s\"", optarg);
			o.tls_verify_false = optarg && strcmp(optarg, "false") == 0;
			o.registry = true;
			break;
		case OPT_REFRESH:
			if (parse_long("--refresh", optarg, 1, 86400, &o.refresh))
				return EXIT_USAGE;
			o.registry = true;
			break;
		case 'o':
			output = optarg;
			break;
		default:
			return cli_bad_option("admission", argv);
		}
	}
	if (optind != argc || !o.image || !ca_path)
		return cli_usage("admission",
				 "manifests expects --image IMAGE and --ca-bundle FILE");
	if (cli_check_image_ref("admission", o.image) != 0)
		return EXIT_USAGE;
	_cleanup_free_ char *dns = kube_dns_label(o.name);
	if (strcmp(dns, o.name) != 0)
		return cli_usage("admission", "--name %s is not a DNS label", o.name);
	struct petra_error *err = NULL;
	_cleanup_free_ char *ca = NULL;
	size_t ca_len;
	if (fs_read_file_at(AT_FDCWD, ca_path, 1 << 20, &ca, &ca_len, &err) < 0)
		return cli_fail(err);
	if (!strstr(ca, "-----BEGIN CERTIFICATE-----")) {
		petra_error_set(&err, EINVAL, "%s: not a PEM certificate", ca_path);
		return cli_fail(err);
	}
	o.ca_bundle = ca;
	struct kube_trust_gate gate;
	if (kube_trust_gate_load(&gate, policy, NULL, &err) < 0)
		return cli_fail(err);
	o.gate = kube_trust_gate;
	o.gate_ctx = &gate;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_WRITE);
	struct kube_deploy_result res;
	int r = store ? kube_webhook_manifests(store, &o, &res, &err) : -1;
	kube_trust_gate_release(&gate);
	if (!store)
		return EXIT_FAIL;
	if (r < 0) {
		petra_error_prefix(&err, "admission manifests");
		return cli_fail(err);
	}
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *obj;
	json_array_foreach(res.objects, i, obj)
	{
		if (r == 0 && kube_yaml_emit(obj, &sb, &err) < 0)
			r = -1;
	}
	if (r == 0) {
		if (!output || strcmp(output, "-") == 0)
			fwrite(sb.buf, 1, sb.len, stdout);
		else if (fs_write_file_atomic_at(AT_FDCWD, output, sb.buf, sb.len, 0644, &err) < 0)
			r = -1;
	}
	if (r == 0 && !cli->quiet)
		for (size_t k = 0; k < res.notes.n; k++)
			fprintf(stderr, "petra: note: %s\n", res.notes.v[k]);
	kube_deploy_result_release(&res);
	return r < 0 ? cli_fail(err) : EXIT_OK;
}

/* petra-admission: $PETRA_ADMISSION, next to petra, or in libexec. */
static char *server_path(void)
{
	const char *env = getenv("PETRA_ADMISSION");
	if (env && *env)
		return xstrdup(env);
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char *p = path_join(self, "petra-admission");
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	char *p = path_join(PETRA_LIBEXECDIR, "petra-admission");
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	return NULL;
}

int cmd_admission(struct cli *cli, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return cli_help(usage);
	if (argc < 2)
		return cli_usage("admission", "expects serve or manifests");
	if (strcmp(argv[1], "manifests") == 0)
		return manifests(cli, argc, argv);
	if (strcmp(argv[1], "serve") != 0)
		return cli_usage("admission", "unknown subcommand \"%s\" (serve or manifests)",
				 argv[1]);
	_cleanup_free_ char *path = server_path();
	if (!path) {
		struct petra_error *err = NULL;
		petra_error_set(&err, ENOENT,
				"petra-admission is not installed next to petra or in %s",
				PETRA_LIBEXECDIR);
		return cli_fail(err);
	}
	if (cli->root)
		setenv("PETRA_ROOT", cli->root, 1);
	argv[1] = (char *)"petra-admission";
	execv(path, argv + 1);
	struct petra_error *err = NULL;
	petra_error_set_errno(&err, errno, "run %s", path);
	return cli_fail(err);
}
