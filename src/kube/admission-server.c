/* SPDX-License-Identifier: Apache-2.0 */
/*
 * petra-admission: the validating admission webhook `petra admission
 * serve` runs. HTTPS by libmicrohttpd (its own TLS, GnuTLS); decisions by
 * kube_admission_review. A program of its own, like petra-supervisor, so
 * that petra itself does not load the TLS stack on every start.
 *
 * One polling thread serves every connection (a slow client holds only
 * its own connection, and the linter, which is not thread-safe, is only
 * ever used by that thread). A body larger than the limit is answered
 * 400 without being kept.
 *
 * SIGHUP reloads the certificate, its key and the policies: a new daemon
 * (with a new linter, so no decision of the old policy is kept) takes
 * over the same listening socket, the old one stops accepting
 * (MHD_quiesce_daemon) and is stopped once its connections are done (or
 * after a few seconds). If anything fails to load, the old daemon goes
 * on serving and the reason is logged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/kube.h"

static const char usage[] =
    "Usage: petra admission serve --listen ADDR:PORT --tls-cert FILE --tls-key FILE\n"
    "                             [--failure-threshold LEVEL] [--max-body BYTES]\n"
    "                             [--log-format text|json] [--no-images]\n"
    "                             [--policy FILE] [--signature-policy FILE]\n"
    "                             [--on-unknown-image allow|deny]\n"
    "                             [--registry] [--registry-auth FILE]\n"
    "                             [--tls-verify=BOOL] [--cert-dir DIR]\n"
    "                             [--image-cache DIR] [--refresh SECONDS]\n";

/* What one daemon serves with; a reload makes a new one. */
struct server {
	struct kube_linter *linter;
	struct kube_trust_gate gate;
	struct kube_admission_options o;
	bool json_log;
	struct MHD_Daemon *daemon;
};

/* What the command line said, read again on each reload. */
struct config {
	const char *cert_path, *key_path;
	const char *policy_path, *signature_policy_path;
	bool json_log;
	bool unknown_image_refused;
	struct kube_admission_options o;
	struct petra_store *store;
	/* Images not in the store, from their registry through the cache:
	 * one for the process, across reloads; NULL without --registry. */
	struct kube_remote *remote;
	unsigned refresh;
};

/* What one request has sent so far. */
struct upload {
	struct strbuf body;
	bool too_large;
};

static void log_decision(const struct server *s, int status, const char *response)
{
	_cleanup_json_ json_t *j = json_loads(response, 0, NULL);
	const json_t *resp = json_object_get(j, "response");
	const char *uid = json_string_value(json_object_get(resp, "uid"));
	bool allowed = json_is_true(json_object_get(resp, "allowed"));
	const char *why =
	    json_string_value(json_object_get(json_object_get(resp, "status"), "message"));
	if (status != 200)
		why = json_string_value(json_object_get(j, "error"));
	if (s->json_log) {
		_cleanup_json_ json_t *line = json_pack(
		    "{s:I,s:i,s:s?,s:b,s:s?}", "time", (json_int_t)time(NULL), "status", status,
		    "uid", uid, "allowed", status == 200 && allowed, "reason", why);
		_cleanup_free_ char *text = json_dumps(line, JSON_COMPACT);
		fprintf(stderr, "%s\n", text);
	} else {
		fprintf(stderr, "petra-admission: %d uid=%s %s%s%s\n", status, uid ? uid : "-",
			status != 200 ? "bad request"
			: allowed     ? "allowed"
				      : "refused",
			why ? ": " : "", why ? why : "");
	}
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *text,
			     const char *type)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_size, void **con_cls)
{
	(void)version;
	struct server *s = cls;
	if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0)
		return reply(conn, 200, "ok\n", "text/plain");
	if (strcmp(method, "POST") != 0)
		return reply(conn, 405, "{\"error\":\"POST an AdmissionReview\"}\n",
			     "application/json");
	struct upload *u = *con_cls;
	if (!u) {
		*con_cls = u = xcalloc(1, sizeof(*u));
		return MHD_YES;
	}
	if (*data_size > 0) {
		if (!u->too_large && u->body.len + *data_size > s->o.max_body) {
			u->too_large = true;
			strbuf_release(&u->body);
		}
		if (!u->too_large)
			strbuf_add(&u->body, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	int status;
	_cleanup_free_ char *response = NULL;
	if (u->too_large) {
		status = 400;
		response = xstrdup("{\"error\":\"the request is too large\"}");
	} else {
		kube_admission_review(s->linter, &s->o, strbuf_str(&u->body), u->body.len, &status,
				      &response);
	}
	log_decision(s, status, response);
	return reply(conn, (unsigned)status, response, "application/json");
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode code)
{
	(void)cls, (void)conn, (void)code;
	struct upload *u = *con_cls;
	if (u) {
		strbuf_release(&u->body);
		free(u);
		*con_cls = NULL;
	}
}

static int resolve_listen(const char *spec, struct sockaddr_storage *sa)
{
	const char *colon = strrchr(spec, ':');
	if (!colon)
		return -1;
	_cleanup_free_ char *host = xstrndup(spec, (size_t)(colon - spec));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
	if (getaddrinfo(*host ? host : NULL, colon + 1, &hints, &res) != 0)
		return -1;
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "petra admission serve: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 1;
}

static void log_note(bool json_log, const char *event, const char *message)
{
	if (json_log) {
		_cleanup_json_ json_t *line =
		    json_pack("{s:I,s:s,s:s?}", "time", (json_int_t)time(NULL), "event", event,
			      "message", message);
		_cleanup_free_ char *text = json_dumps(line, JSON_COMPACT);
		fprintf(stderr, "%s\n", text);
	} else {
		fprintf(stderr, "petra-admission: %s%s%s\n", event, message ? ": " : "",
			message ? message : "");
	}
}

static void server_free(struct server *s)
{
	if (!s)
		return;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	kube_linter_free(s->linter);
	kube_trust_gate_release(&s->gate);
	free(s);
}

/* A daemon with the certificate and policies as the files say now, on
 * listen_fd (or, when it is -1, on sa). */
static struct server *server_start(const struct config *cfg, const struct sockaddr_storage *sa,
				   int listen_fd, struct petra_error **err)
{
	_cleanup_free_ char *cert = NULL, *key = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, cfg->cert_path, 1 << 20, &cert, &len, err) < 0 ||
	    fs_read_file_at(AT_FDCWD, cfg->key_path, 1 << 20, &key, &len, err) < 0)
		return NULL;
	struct server *s = xcalloc(1, sizeof(*s));
	s->o = cfg->o;
	s->json_log = cfg->json_log;
	if (kube_trust_gate_load(&s->gate, cfg->policy_path, cfg->signature_policy_path, err) < 0) {
		free(s);
		return NULL;
	}
	/* No policy: the gate allows everything, so it is not asked. */
	bool gated = s->gate.policy || s->gate.signature_policy;
	struct kube_lint_options lo = {.store = cfg->store,
				       .gate = gated ? kube_trust_gate : NULL,
				       .gate_ctx = &s->gate,
				       .remote_gate = gated ? kube_trust_gate_remote : NULL,
				       .unknown_image_refused = cfg->unknown_image_refused,
				       .remote = cfg->remote};
	if (kube_linter_new(&lo, &s->linter, err) < 0) {
		server_free(s);
		return NULL;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_TLS | MHD_USE_ITC;
	if (listen_fd >= 0)
		s->daemon = MHD_start_daemon(
		    flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, listen_fd,
		    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_END);
	else
		s->daemon = MHD_start_daemon(
		    flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, sa,
		    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_END);
	if (!s->daemon) {
		server_free(s);
		petra_error_set(err, EINVAL,
				"cannot listen (address in use, or the certificate and key do "
				"not load)");
		return NULL;
	}
	return s;
}

/* Let the old daemon finish what it has started (up to 5 s), then stop
 * it. It accepts nothing new: it was quiesced. */
static void server_retire(struct server *old)
{
	for (int i = 0; i < 50; i++) {
		const union MHD_DaemonInfo *info =
		    MHD_get_daemon_info(old->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!info || info->num_connections == 0)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	server_free(old);
}

static int serve(const struct config *cfg, const struct sockaddr_storage *sa)
{
	sigset_t wanted;
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGINT);
	sigaddset(&wanted, SIGTERM);
	sigaddset(&wanted, SIGHUP);
	/* Blocked before the daemon's thread starts, so it inherits the mask
	 * and the signals come to sigwait here. */
	pthread_sigmask(SIG_BLOCK, &wanted, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct petra_error *err = NULL;
	/* The refresher, with the signals blocked too: they come here. */
	if (cfg->remote && kube_remote_start(cfg->remote, cfg->refresh, &err) < 0) {
		fail("%s", err->message);
		petra_error_free(err);
		return 1;
	}
	struct server *s = server_start(cfg, sa, -1, &err);
	if (!s) {
		fail("%s", err->message);
		petra_error_free(err);
		return 1;
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, "petra-admission: listening on port %u\n", info ? info->port : 0);
	int sig = 0;
	for (;;) {
		sigwait(&wanted, &sig);
		if (sig != SIGHUP)
			break;
		const union MHD_DaemonInfo *li =
		    MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
		struct server *next = li ? server_start(cfg, sa, li->listen_fd, &err) : NULL;
		if (!next) {
			_cleanup_free_ char *why = xasprintf(
			    "reload failed, serving on with the old certificate and policy: %s",
			    err ? err->message : "no listening socket");
			log_note(cfg->json_log, "reload", why);
			petra_error_free(err);
			err = NULL;
			continue;
		}
		/* Both daemons poll the socket until the old one lets go. */
		MHD_quiesce_daemon(s->daemon);
		struct server *old = s;
		s = next;
		server_retire(old);
		log_note(cfg->json_log, "reloaded", "certificate, key and policy read again");
	}
	server_free(s);
	fprintf(stderr, "petra-admission: stopped by signal %d\n", sig);
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_LISTEN = 256,
		OPT_CERT,
		OPT_KEY,
		OPT_THRESHOLD,
		OPT_MAX,
		OPT_LOG,
		OPT_NO_IMAGES,
		OPT_POLICY,
		OPT_SIGNATURE_POLICY,
		OPT_ON_UNKNOWN,
		OPT_REGISTRY,
		OPT_REGISTRY_AUTH,
		OPT_TLS_VERIFY,
		OPT_CERT_DIR,
		OPT_IMAGE_CACHE,
		OPT_REFRESH,
	};
	static const struct option options[] = {
	    {"registry", no_argument, NULL, OPT_REGISTRY},
	    {"registry-auth", required_argument, NULL, OPT_REGISTRY_AUTH},
	    {"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
	    {"cert-dir", required_argument, NULL, OPT_CERT_DIR},
	    {"image-cache", required_argument, NULL, OPT_IMAGE_CACHE},
	    {"refresh", required_argument, NULL, OPT_REFRESH},
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"tls-cert", required_argument, NULL, OPT_CERT},
	    {"tls-key", required_argument, NULL, OPT_KEY},
	    {"failure-threshold", required_argument, NULL, OPT_THRESHOLD},
	    {"max-body", required_argument, NULL, OPT_MAX},
	    {"log-format", required_argument, NULL, OPT_LOG},
	    {"no-images", no_argument, NULL, OPT_NO_IMAGES},
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"signature-policy", required_argument, NULL, OPT_SIGNATURE_POLICY},
	    {"on-unknown-image", required_argument, NULL, OPT_ON_UNKNOWN},
	    {NULL, 0, NULL, 0},
	};
	struct config cfg = {.o = {.deny_at = LINT_ERROR, .max_body = 3u << 20}};
	const char *listen = NULL;
	bool no_images = false, registry = false;
	struct kube_remote_options ro = {.tls_verify = -1};
	int c;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			listen = optarg;
			break;
		case OPT_CERT:
			cfg.cert_path = optarg;
			break;
		case OPT_KEY:
			cfg.key_path = optarg;
			break;
		case OPT_THRESHOLD:
			if (lint_severity_parse(optarg, true, &cfg.o.deny_at) < 0)
				return fail("unknown failure threshold \"%s\"", optarg) + 1;
			break;
		case OPT_MAX: {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (*end || v == 0)
				return fail("--max-body wants a number of bytes, not \"%s\"",
					    optarg) +
				       1;
			cfg.o.max_body = (size_t)v;
			break;
		}
		case OPT_LOG:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				return fail("--log-format: text or json, not \"%s\"", optarg) + 1;
			cfg.json_log = strcmp(optarg, "json") == 0;
			break;
		case OPT_NO_IMAGES:
			no_images = true;
			break;
		case OPT_POLICY:
			cfg.policy_path = optarg;
			break;
		case OPT_SIGNATURE_POLICY:
			cfg.signature_policy_path = optarg;
			break;
		case OPT_ON_UNKNOWN:
			if (strcmp(optarg, "allow") != 0 && strcmp(optarg, "deny") != 0)
				return fail("--on-unknown-image: allow or deny, not \"%s\"",
					    optarg) +
				       1;
			cfg.unknown_image_refused = strcmp(optarg, "deny") == 0;
			break;
		case OPT_REGISTRY:
			registry = true;
			break;
		case OPT_REGISTRY_AUTH:
			registry = true;
			ro.auth_file = optarg;
			break;
		case OPT_TLS_VERIFY:
			registry = true;
			if (!optarg || strcmp(optarg, "true") == 0)
				ro.tls_verify = 1;
			else if (strcmp(optarg, "false") == 0)
				ro.tls_verify = 0;
			else
				return fail("--tls-verify wants true or false, not \"%s\"",
					    optarg) +
				       1;
			break;
		case OPT_CERT_DIR:
			registry = true;
			ro.cert_dir = optarg;
			break;
		case OPT_IMAGE_CACHE:
			ro.cache_dir = optarg;
			break;
		case OPT_REFRESH: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > 86400)
				return fail("--refresh wants 1 to 86400 seconds, not \"%s\"",
					    optarg) +
				       1;
			cfg.refresh = (unsigned)v;
			break;
		}
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	struct sockaddr_storage sa;
	if (!listen || !cfg.cert_path || !cfg.key_path || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (resolve_listen(listen, &sa) < 0)
		return fail("--listen %s: not ADDR:PORT", listen) + 1;
	/* Image facts come from the local store and the registry cache only:
	 * no network call on the request path (the refresher fills the
	 * cache). */
	struct petra_error *err = NULL;
	_cleanup_free_ char *root = petra_store_default_root();
	if (!no_images && petra_store_open(root, PETRA_STORE_WRITE, &cfg.store, &err) < 0) {
		fprintf(stderr, "petra-admission: note: %s; the image-aware rules are left out\n",
			err->message);
		petra_error_free(err);
		cfg.store = NULL;
	}
	if (!no_images && registry && kube_remote_new(&ro, &cfg.remote, &err) < 0) {
		fail("%s", err->message);
		petra_error_free(err);
		if (cfg.store)
			petra_store_close(cfg.store);
		return 1;
	}
	int r = serve(&cfg, &sa);
	kube_remote_free(cfg.remote);
	if (cfg.store)
		petra_store_close(cfg.store);
	return r;
}
