/* SPDX-License-Identifier: Apache-2.0 */
/* petra keygen: a key pair in cosign's format. */
#include "cli.h"
#include "trust/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char usage[] =
    "Usage: petra keygen [OPTIONS]\n"
    "\n"
    "Write an ECDSA P-256 key pair in cosign's format: PREFIX.key, the private\n"
    "key encrypted with a password (scrypt and NaCl secretbox, PEM type\n"
    "ENCRYPTED SIGSTORE PRIVATE KEY), and PREFIX.pub, the public key. cosign\n"
    "reads petra's keys and petra reads cosign's. The password comes from\n"
    "$PETRA_PASSWORD, else it is asked for (twice) on the terminal.\n"
    "\n"
    "Options:\n"
    "  -o, --output PREFIX   where to write (default: cosign)\n"
    "  -f, --force           replace existing files\n"
    "  -h, --help            this help\n";

/* One line from the terminal, not echoed. */
static char *prompt_tty(const char *prompt, struct petra_error **err)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		petra_error_set(err, ENXIO, "no password: set PETRA_PASSWORD or run on a terminal");
		return NULL;
	}
	struct termios old, quiet;
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	(void)!write(fd, prompt, strlen(prompt));
	struct strbuf line = STRBUF_INIT;
	char c;
	while (read(fd, &c, 1) == 1 && c != '\n')
		strbuf_addch(&line, c);
	(void)!write(fd, "\n", 1);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	return strbuf_detach(&line);
}

char *cli_read_password(bool confirm, struct petra_error **err)
{
	const char *env = getenv("PETRA_PASSWORD");
	if (env)
		return xstrdup(env);
	char *first = prompt_tty("Enter password for private key: ", err);
	if (!first || !confirm)
		return first;
	_cleanup_free_ char *again = prompt_tty("Enter password for private key again: ", err);
	if (!again || strcmp(first, again)) {
		if (again)
			petra_error_set(err, EINVAL, "the passwords do not match");
		free(first);
		return NULL;
	}
	return first;
}

static int write_new(const char *path, const char *data, mode_t mode, bool force,
		     struct petra_error **err)
{
	if (!force && access(path, F_OK) == 0)
		return petra_error_set(err, EEXIST, "%s exists (--force replaces it)", path);
	return fs_write_file_atomic_at(AT_FDCWD, path, data, strlen(data), mode, err);
}

int cmd_keygen(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option options[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *prefix = "cosign";
	bool force = false;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "o:fh", options, NULL)) != -1) {
		if (c == 'o')
			prefix = optarg;
		else if (c == 'f')
			force = true;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("keygen", argv);
	}
	if (optind != argc)
		return cli_usage("keygen", "takes no operands");
	struct petra_error *err = NULL;
	_cleanup_free_ char *password = cli_read_password(true, &err);
	if (!password)
		return cli_fail(err);
	_cleanup_free_ char *private_pem = NULL, *public_pem = NULL;
	_cleanup_free_ char *key_path = xasprintf("%s.key", prefix);
	_cleanup_free_ char *pub_path = xasprintf("%s.pub", prefix);
	if (trust_keygen(password, &private_pem, &public_pem, &err) < 0 ||
	    write_new(key_path, private_pem, 0600, force, &err) < 0 ||
	    write_new(pub_path, public_pem, 0644, force, &err) < 0)
		return cli_fail(err);
	printf("Private key written to %s\nPublic key written to %s\n", key_path, pub_path);
	return EXIT_OK;
}
