/* SPDX-License-Identifier: Apache-2.0 */
/* petra login / logout: credentials in the containers auth file. */
#include <string.h>
#include <termios.h>

#include "cli.h"

static const char login_usage[] =
    "Usage: petra login [OPTIONS] [REGISTRY]\n"
    "\n"
    "Check a user name and password against REGISTRY (default docker.io) and\n"
    "keep them in the auth file (--authfile, else $REGISTRY_AUTH_FILE, else\n"
    "$XDG_RUNTIME_DIR/containers/auth.json), which podman and skopeo read too.\n"
    "\n"
    "Options:\n"
    "  -u, --username USER      the user (default: asked on the terminal)\n"
    "      --password-stdin     read the password from standard input (else it\n"
    "                           is asked on the terminal, not echoed)\n"
    "      --authfile FILE      the auth file to write\n"
    "      --cert-dir DIR       CAs (*.crt) and client certificates (*.cert, *.key)\n"
    "      --tls-verify=false   do not check the registry's TLS certificate\n"
    "  -h, --help               this help\n";

enum { OPT_PASSWORD_STDIN = 1500, OPT_ALL };

static char *read_line(FILE *in, bool echo)
{
	struct termios old, quiet;
	bool tty = !echo && isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(in), TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, in);
	if (tty) {
		tcsetattr(fileno(in), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

int cmd_login(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option options[] = {
	    {"username", required_argument, NULL, 'u'},
	    {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct registry_options o = {.tls_verify = -1};
	_cleanup_free_ char *user = NULL;
	bool password_stdin = false;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "u:h", options, NULL)) != -1) {
		if (c == CLI_OPT_CREDS || c == CLI_OPT_PLATFORM)
			return cli_bad_option("login", argv);
		int r = cli_registry_option("login", c, optarg, &o);
		if (r >= 0) {
			if (r)
				return r;
			continue;
		}
		switch (c) {
		case 'u':
			free(user);
			user = xstrdup(optarg);
			break;
		case OPT_PASSWORD_STDIN:
			password_stdin = true;
			break;
		case 'h':
			return cli_help(login_usage);
		default:
			return cli_bad_option("login", argv);
		}
	}
	if (argc - optind > 1)
		return cli_usage("login", "expects at most one REGISTRY");
	const char *registry = argc - optind == 1 ? argv[optind] : NULL;
	if (!user) {
		if (password_stdin)
			return cli_usage("login", "--password-stdin needs --username");
		fprintf(stderr, "Username: ");
		user = read_line(stdin, true);
		if (!user || !*user)
			return cli_usage("login", "no user name");
	}
	char *password;
	if (password_stdin) {
		password = read_line(stdin, true);
	} else {
		fprintf(stderr, "Password: ");
		password = read_line(stdin, false);
	}
	if (!password)
		return cli_usage("login", "no password on standard input");
	struct petra_error *err = NULL;
	int r = registry_login(registry, user, password, &o, &err);
	explicit_bzero(password, strlen(password));
	free(password);
	if (r < 0)
		return cli_fail(err);
	fprintf(stderr, "Login Succeeded!\n");
	return EXIT_OK;
}

static const char logout_usage[] =
    "Usage: petra logout [OPTIONS] [REGISTRY]\n"
    "\n"
    "Remove the credentials of REGISTRY (default docker.io) from the auth file.\n"
    "\n"
    "Options:\n"
    "  -a, --all                remove every registry's credentials\n"
    "      --authfile FILE      the auth file\n"
    "  -h, --help               this help\n";

int cmd_logout(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option options[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"authfile", required_argument, NULL, CLI_OPT_AUTHFILE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct registry_options o = {.tls_verify = -1};
	bool all = false;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "ah", options, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case CLI_OPT_AUTHFILE:
			o.auth_file = optarg;
			break;
		case 'h':
			return cli_help(logout_usage);
		default:
			return cli_bad_option("logout", argv);
		}
	}
	if (argc - optind > 1 || (all && argc - optind == 1))
		return cli_usage("logout", "expects one REGISTRY or --all");
	struct petra_error *err = NULL;
	if (registry_logout(argc - optind == 1 ? argv[optind] : NULL, all, &o, &err) < 0)
		return cli_fail(err);
	fprintf(stderr, "Removed login credentials for %s\n",
		all                  ? "every registry"
		: argc - optind == 1 ? argv[optind]
				     : "docker.io");
	return EXIT_OK;
}
