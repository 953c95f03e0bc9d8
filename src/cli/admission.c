/* SPDX-License-Identifier: Apache-2.0 */
/* petra admission serve: the validating admission webhook. The server is
 * the program petra-admission (installed next to petra or in libexec),
 * which alone loads the TLS stack; this verb finds it and runs it. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    "uid is echoed. Image facts come from the store only: no network call on\n"
    "the request path. GET /healthz answers \"ok\". One log line per decision\n"
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
    "  -h, --help              this help\n"
    "\n"
    "Exit status: 0 when stopped by a signal, 1 when it cannot serve, 2 bad usage.\n";

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
		return cli_usage("admission", "expects serve");
	if (strcmp(argv[1], "serve") != 0)
		return cli_usage("admission", "unknown subcommand \"%s\" (serve)", argv[1]);
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
