/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP side of the distribution API, over libcurl: one client per
 * registry host, TLS settings, the /v2/ ping (scheme, auth challenge),
 * Basic and Bearer auth with a token cache per scope, retries of transient
 * failures, and the registry's error bodies turned into messages. */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

void registry_http_response_release(struct http_response *r)
{
	strbuf_release(&r->body);
	free(r->www_authenticate);
	free(r->digest);
	free(r->location);
	free(r->range);
	free(r->content_type);
	memset(r, 0, sizeof(*r));
}

char *registry_scope(const char *repo, bool push)
{
	return xasprintf("repository:%s:%s", repo, push ? "pull,push" : "pull");
}

/* ---- curl callbacks ---- */

struct transfer {
	CURL *curl;
	struct http_response *r;
	const struct http_request *req;
	bool sink_failed;
};

static void header_set(char **slot, const char *value, size_t len)
{
	while (len && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '))
		len--;
	while (len && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	free(*slot);
	*slot = xstrndup(value, len);
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;
	size_t len = size * n;
	struct http_response *r = t->r;
	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* A new response (after a redirect or a 100): forget the last. */
		free(r->www_authenticate);
		free(r->digest);
		free(r->location);
		free(r->range);
		free(r->content_type);
		r->www_authenticate = r->digest = r->location = r->range = r->content_type = NULL;
		r->content_length = -1;
		r->oci_subject = false;
		return len;
	}
	const char *colon = memchr(data, ':', len);
	if (!colon)
		return len;
	size_t name_len = (size_t)(colon - data);
	const char *value = colon + 1;
	size_t value_len = len - name_len - 1;
#define IS(name) (name_len == strlen(name) && !strncasecmp(data, name, name_len))
	if (IS("WWW-Authenticate"))
		header_set(&r->www_authenticate, value, value_len);
	else if (IS("Docker-Content-Digest"))
		header_set(&r->digest, value, value_len);
	else if (IS("Location"))
		header_set(&r->location, value, value_len);
	else if (IS("Range"))
		header_set(&r->range, value, value_len);
	else if (IS("OCI-Subject"))
		r->oci_subject = true;
	else if (IS("Content-Type"))
		header_set(&r->content_type, value, value_len);
	else if (IS("Content-Length")) {
		_cleanup_free_ char *v = NULL;
		header_set(&v, value, value_len);
		r->content_length = strtoll(v, NULL, 10);
	}
#undef IS
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;
	size_t len = size * n;
	long status = 0;
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	if (t->req->sink && status >= 200 && status < 300) {
		if (!t->req->sink(t->req->sink_ctx, status, data, len)) {
			t->sink_failed = true;
			return 0;
		}
		return len;
	}
	size_t max = t->r->body_max ? t->r->body_max : 64 * 1024;
	if (t->r->body.len + len > max) {
		t->r->body_too_big = true;
		return 0;
	}
	strbuf_add(&t->r->body, data, len);
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
	struct http_source *s = ctx;
	size_t want = size * n;
	int64_t left = s->end - s->pos;
	if ((int64_t)want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (s->mem) {
		memcpy(buf, s->mem + s->pos, want);
	} else {
		ssize_t got = pread(s->fd, buf, want, s->pos);
		if (got <= 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)got;
	}
	if (s->hasher && s->hashed_upto && s->pos + (int64_t)want > *s->hashed_upto) {
		int64_t skip = *s->hashed_upto - s->pos;
		if (skip < 0)
			skip = 0;
		oci_hasher_update(s->hasher, buf + skip, want - (size_t)skip);
		*s->hashed_upto = s->pos + (int64_t)want;
	}
	if (s->on_sent) {
		if (s->sent_upto < s->start)
			s->sent_upto = s->start;
		if (s->pos + (int64_t)want > s->sent_upto) {
			s->on_sent(s->on_sent_ctx,
				   (uint64_t)(s->pos + (int64_t)want - s->sent_upto));
			s->sent_upto = s->pos + (int64_t)want;
		}
	}
	s->pos += (int64_t)want;
	return want;
}

static int on_seek(void *ctx, curl_off_t offset, int origin)
{
	struct http_source *s = ctx;
	if (origin != SEEK_SET || offset < 0 || s->start + offset > s->end)
		return CURL_SEEKFUNC_CANTSEEK;
	s->pos = s->start + offset;
	return CURL_SEEKFUNC_OK;
}

/* The CAs to trust: the system's bundle and the certs.d directory's
 * *.crt files (extra CAs are added, as containers/image does), handed to
 * curl as one PEM blob. */
static void load_cas(struct registry_client *c)
{
	curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
	const char *system = info->cainfo ? info->cainfo : "/etc/ssl/certs/ca-certificates.crt";
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct petra_error *e = NULL;
	if (fs_read_file_at(AT_FDCWD, system, 16u << 20, &data, &len, &e) == 0) {
		strbuf_add(&c->cas, data, len);
		strbuf_addch(&c->cas, '\n');
	}
	petra_error_free(e);
	_cleanup_closedir_ DIR *dir = opendir(c->cert_dir);
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".crt"))
			continue;
		_cleanup_free_ char *path = path_join(c->cert_dir, de->d_name);
		_cleanup_free_ char *pem = NULL;
		e = NULL;
		if (fs_read_file_at(AT_FDCWD, path, 1u << 20, &pem, &len, &e) == 0) {
			strbuf_add(&c->cas, pem, len);
			strbuf_addch(&c->cas, '\n');
		}
		petra_error_free(e);
	}
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *ctx)
{
	(void)h;
	(void)a;
	struct registry_client *c = ctx;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	(void)h;
	struct registry_client *c = ctx;
	pthread_mutex_unlock(&c->share_locks[data]);
}

static void setup_tls(struct registry_client *c, CURL *curl)
{
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
	if (c->cas.len) {
		struct curl_blob blob = {c->cas.buf, c->cas.len, CURL_BLOB_NOCOPY};
		curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->client_cert && c->client_key) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, c->client_cert);
		curl_easy_setopt(curl, CURLOPT_SSLKEY, c->client_key);
	}
}

static CURL *new_handle(struct registry_client *c, char errbuf[CURL_ERROR_SIZE])
{
	CURL *curl = curl_easy_init();
	if (!curl)
		abort();
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "petra/" PETRA_VERSION);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled transfer (no byte for a minute) is a failure, not a hang. */
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_SHARE, c->share);
	errbuf[0] = '\0';
	setup_tls(c, curl);
	return curl;
}

static const char *curl_message(CURLcode code, const char *errbuf)
{
	return errbuf[0] ? errbuf : curl_easy_strerror(code);
}

/* ---- tokens ---- */

static char *token_lookup(struct registry_client *c, const char *scope)
{
	char *token = NULL;
	time_t now = time(NULL);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_tokens; i++)
		if (!strcmp(c->tokens[i].scope, scope) && c->tokens[i].expires > now) {
			token = xstrdup(c->tokens[i].token);
			break;
		}
	pthread_mutex_unlock(&c->lock);
	return token;
}

static void token_store(struct registry_client *c, const char *scope, const char *token,
			time_t expires)
{
	pthread_mutex_lock(&c->lock);
	size_t i;
	for (i = 0; i < c->n_tokens; i++)
		if (!strcmp(c->tokens[i].scope, scope))
			break;
	if (i == c->n_tokens) {
		c->tokens = xrealloc(c->tokens, (c->n_tokens + 1) * sizeof(*c->tokens));
		c->tokens[i].scope = xstrdup(scope);
		c->n_tokens++;
	} else {
		free(c->tokens[i].token);
	}
	c->tokens[i].token = xstrdup(token);
	c->tokens[i].expires = expires;
	pthread_mutex_unlock(&c->lock);
}

static int fetch_token(struct registry_client *c, const struct registry_challenge *ch,
		       const char *scope, char **token, struct petra_error **err)
{
	if (!ch->realm)
		return petra_error_set(err, EPROTO, "%s: Bearer challenge without a realm",
				       c->host);
	if (strncmp(ch->realm, "https://", 8) && strncmp(ch->realm, "http://", 7))
		return petra_error_set(err, EPROTO, "%s: token realm is not an http(s) URL",
				       c->host);
	char errbuf[CURL_ERROR_SIZE];
	CURL *curl = new_handle(c, errbuf);
	struct strbuf url = STRBUF_INIT;
	strbuf_addstr(&url, ch->realm);
	char sep = strchr(ch->realm, '?') ? '&' : '?';
	if (ch->service) {
		char *e = curl_easy_escape(curl, ch->service, 0);
		strbuf_addf(&url, "%cservice=%s", sep, e);
		curl_free(e);
		sep = '&';
	}
	/* Each scope its own parameter, as the token spec asks. */
	if (scope) {
		_cleanup_free_ char *copy = xstrdup(scope);
		char *save = NULL;
		for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
			char *e = curl_easy_escape(curl, s, 0);
			strbuf_addf(&url, "%cscope=%s", sep, e);
			curl_free(e);
			sep = '&';
		}
	}
	curl_easy_setopt(curl, CURLOPT_URL, url.buf);
	strbuf_release(&url);
	if (c->user) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	struct http_response r = {.content_length = -1, .body_max = 1 << 20};
	struct http_request req = {.method = "GET"};
	struct transfer t = {.curl = curl, .r = &r, .req = &req};
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	CURLcode code = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
	int ret = 0;
	if (code != CURLE_OK) {
		ret = petra_error_set(err, EIO, "%s: token server: %s", c->host,
				      curl_message(code, errbuf));
		goto out;
	}
	if (r.status != 200) {
		ret = registry_http_error(&r, err);
		petra_error_prefix(err, "%s: token server", c->host);
		if (r.status == 401 || r.status == 403)
			(*err)->code = EACCES, ret = -EACCES;
		goto out;
	}
	json_t *doc = json_parse_buffer(r.body.buf, r.body.len, "token response", err);
	if (!doc) {
		ret = -EPROTO;
		goto out;
	}
	const char *tok = json_get_string(doc, "token");
	if (!tok || !*tok)
		tok = json_get_string(doc, "access_token");
	if (!tok || !*tok) {
		json_decref(doc);
		ret = petra_error_set(err, EPROTO, "%s: token server answered without a token",
				      c->host);
		goto out;
	}
	json_int_t expires_in = json_get_int(doc, "expires_in", 60);
	if (expires_in < 60)
		expires_in = 60;
	*token = xstrdup(tok);
	/* A little early, so a token does not expire in flight. */
	token_store(c, scope ? scope : "", tok, time(NULL) + (time_t)expires_in - 10);
	json_decref(doc);
out:
	registry_http_response_release(&r);
	curl_easy_cleanup(curl);
	return ret;
}

/* ---- requests ---- */

static bool transient_status(long status)
{
	return status == 500 || status == 502 || status == 503 || status == 504 || status == 429;
}

static bool transient_curl(CURLcode code)
{
	return code == CURLE_COULDNT_CONNECT || code == CURLE_RECV_ERROR ||
	       code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING ||
	       code == CURLE_PARTIAL_FILE || code == CURLE_OPERATION_TIMEDOUT ||
	       code == CURLE_HTTP2 || code == CURLE_HTTP2_STREAM;
}

static int perform_once(struct registry_client *c, const struct http_request *req,
			const char *authorization, struct http_response *r, CURLcode *code,
			struct petra_error **err)
{
	char errbuf[CURL_ERROR_SIZE];
	CURL *curl = new_handle(c, errbuf);
	size_t body_max = r->body_max;
	strbuf_reset(&r->body);
	r->status = 0;
	r->body_too_big = false;
	r->body_max = body_max;
	r->content_length = -1;
	_cleanup_free_ char *url = NULL;
	if (req->url[0] == '/')
		url = xasprintf("%s%s", c->base, req->url);
	else if (!strncmp(req->url, "http://", 7) || !strncmp(req->url, "https://", 8))
		url = xstrdup(req->url);
	else
		return petra_error_set(err, EPROTO, "%s: unexpected URL in a response", c->host);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	struct curl_slist *headers = NULL;
	/* No "Expect: 100-continue" round trip before uploads. */
	headers = curl_slist_append(headers, "Expect:");
	for (const char *const *h = req->headers; h && *h; h++)
		headers = curl_slist_append(headers, *h);
	if (authorization)
		headers = curl_slist_append(headers, authorization);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	struct transfer t = {.curl = curl, .r = r, .req = req};
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	const char *m = req->method;
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(m, "GET")) {
		/* Blob GETs may be redirected to storage; authorization is not
		 * sent to another host (curl drops it). */
		curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
	} else if (!strcmp(m, "POST") && !req->source) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
	} else if (!strcmp(m, "DELETE")) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	if (req->source) {
		req->source->pos = req->source->start;
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(curl, CURLOPT_READDATA, req->source);
		curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(curl, CURLOPT_SEEKDATA, req->source);
		curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(req->source->end - req->source->start));
		/* Blobs leave in 256 KiB reads and socket writes (curl's default is
		 * 64 KiB): fewer system calls per byte on the way to the registry. */
		if (!req->source->mem)
			curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 256L << 10);
		if (strcmp(m, "PUT"))
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m);
	}
	*code = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	int ret = 0;
	if (*code != CURLE_OK && !(t.sink_failed || r->body_too_big)) {
		ret = petra_error_set(err, EIO, "%s %s: %s", m, url, curl_message(*code, errbuf));
	} else if (t.sink_failed) {
		ret = -EIO; /* the sink filled err */
	} else if (r->body_too_big) {
		ret = petra_error_set(err, EFBIG, "%s %s: response larger than %zu bytes", m, url,
				      r->body_max ? r->body_max : (size_t)64 * 1024);
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return ret;
}

static char *authorization_for(struct registry_client *c, const char *scope,
			       struct petra_error **err, int *ret)
{
	*ret = 0;
	if (!c->challenge.scheme)
		return NULL;
	if (!strcasecmp(c->challenge.scheme, "Basic")) {
		if (!c->user)
			return NULL;
		_cleanup_free_ char *pair =
		    xasprintf("%s:%s", c->user, c->password ? c->password : "");
		_cleanup_free_ char *b64 = registry_base64_encode(pair, strlen(pair));
		explicit_bzero(pair, strlen(pair));
		return xasprintf("Authorization: Basic %s", b64);
	}
	if (!strcasecmp(c->challenge.scheme, "Bearer")) {
		const char *key = scope ? scope : "";
		_cleanup_free_ char *token = token_lookup(c, key);
		if (!token && (*ret = fetch_token(c, &c->challenge, scope, &token, err)) < 0)
			return NULL;
		return xasprintf("Authorization: Bearer %s", token);
	}
	return NULL;
}

int registry_request(struct registry_client *c, const struct http_request *req,
		     struct http_response *r, struct petra_error **err)
{
	bool retried_auth = false;
	unsigned transient = 0;
	for (;;) {
		int ret;
		_cleanup_free_ char *auth = authorization_for(c, req->scope, err, &ret);
		if (ret < 0)
			return ret;
		CURLcode code = CURLE_OK;
		ret = perform_once(c, req, auth, r, &code, err);
		if (auth)
			explicit_bzero(auth, strlen(auth));
		bool idempotent = !req->no_retry && !req->sink &&
				  (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"));
		if (ret < 0) {
			if (idempotent && transient_curl(code) && transient < 3) {
				log_debug("%s: %s, retrying", c->host, (*err)->message);
				usleep(200000u << transient++);
				continue;
			}
			return ret;
		}
		if (r->status == 401 && !retried_auth && r->www_authenticate) {
			retried_auth = true;
			struct registry_challenge ch;
			if (registry_challenge_parse(r->www_authenticate, &ch, NULL) < 0)
				return 0;
			if (!strcasecmp(ch.scheme, "Bearer")) {
				/* A fresh token for what the registry asked (its scope
				 * when it names one) and retry once. */
				const char *scope = req->scope ? req->scope : ch.scope;
				_cleanup_free_ char *token = NULL;
				pthread_mutex_lock(&c->lock);
				if (!c->challenge.scheme ||
				    strcasecmp(c->challenge.scheme, "Bearer")) {
					registry_challenge_release(&c->challenge);
					c->challenge = ch;
					memset(&ch, 0, sizeof(ch));
				}
				pthread_mutex_unlock(&c->lock);
				ret = fetch_token(c, ch.scheme ? &ch : &c->challenge, scope, &token,
						  err);
				registry_challenge_release(&ch);
				if (ret < 0)
					return ret;
				continue;
			}
			if (!strcasecmp(ch.scheme, "Basic") && c->user &&
			    (!c->challenge.scheme || strcasecmp(c->challenge.scheme, "Basic"))) {
				pthread_mutex_lock(&c->lock);
				registry_challenge_release(&c->challenge);
				c->challenge = ch;
				pthread_mutex_unlock(&c->lock);
				continue;
			}
			registry_challenge_release(&ch);
			return 0;
		}
		if (idempotent && transient_status(r->status) && transient < 3) {
			log_debug("%s: %s %s answered %ld, retrying", c->host, req->method,
				  req->url, r->status);
			usleep(200000u << transient++);
			continue;
		}
		return 0;
	}
}

static int status_errno(long status)
{
	switch (status) {
	case 401:
	case 403:
		return EACCES;
	case 404:
		return ENOENT;
	case 416:
		return ERANGE;
	default:
		return EIO;
	}
}

int registry_http_error(const struct http_response *r, struct petra_error **err)
{
	int code = status_errno(r->status);
	if (r->body.len) {
		json_t *doc = json_loadb(r->body.buf, r->body.len, 0, NULL);
		json_t *errors = doc ? json_object_get(doc, "errors") : NULL;
		json_t *first = json_array_get(errors, 0);
		const char *ecode = json_get_string(first, "code");
		const char *message = json_get_string(first, "message");
		if (ecode) {
			int ret = petra_error_set(err, code, "%s (%ld %s)",
						  message && *message ? message : ecode, r->status,
						  ecode);
			json_decref(doc);
			return ret;
		}
		json_decref(doc);
	}
	const char *reason = r->status == 404   ? "not found"
			     : r->status == 401 ? "unauthorized"
			     : r->status == 403 ? "denied"
						: "unexpected answer";
	return petra_error_set(err, code, "%s (HTTP %ld)", reason, r->status);
}

/* ---- the client ---- */

static char *find_file(const char *dir, const char *suffix)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return NULL;
	struct dirent *de;
	size_t slen = strlen(suffix);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len > slen && !strcmp(de->d_name + len - slen, suffix))
			return path_join(dir, de->d_name);
	}
	return NULL;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* --cert-dir, else the certs.d directories containers/image reads. */
static char *find_cert_dir(const char *host, const struct registry_options *o)
{
	if (o && o->cert_dir)
		return xstrdup(o->cert_dir);
	const char *home = getenv("HOME");
	_cleanup_free_ char *user =
	    home ? xasprintf("%s/.config/containers/certs.d/%s", home, host) : NULL;
	if (user && is_dir(user))
		return steal_pointer(&user);
	const char *system[] = {"/etc/containers/certs.d", "/etc/docker/certs.d"};
	for (size_t i = 0; i < ARRAY_SIZE(system); i++) {
		char *path = xasprintf("%s/%s", system[i], host);
		if (is_dir(path))
			return path;
		free(path);
	}
	return NULL;
}

void registry_client_free(struct registry_client *c)
{
	if (c->share)
		curl_share_cleanup(c->share);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->lock);
	for (size_t i = 0; i < c->n_tokens; i++) {
		free(c->tokens[i].scope);
		explicit_bzero(c->tokens[i].token, strlen(c->tokens[i].token));
		free(c->tokens[i].token);
	}
	free(c->tokens);
	registry_challenge_release(&c->challenge);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c->user);
	free(c->host);
	free(c->base);
	free(c->cert_dir);
	free(c->client_cert);
	free(c->client_key);
	strbuf_release(&c->cas);
	free(c);
}

/* GET /v2/ on https, and on plain http too for an insecure registry: the
 * scheme that answers, and the auth challenge when there is one. */
static int ping(struct registry_client *c, bool insecure, struct petra_error **err)
{
	const char *schemes[] = {"https", "http"};
	struct petra_error *first = NULL;
	for (size_t i = 0; i < (insecure ? 2u : 1u); i++) {
		free(c->base);
		c->base = xasprintf("%s://%s", schemes[i], c->host);
		struct http_response r = {.content_length = -1};
		struct http_request req = {.method = "GET", .url = "/v2/"};
		struct petra_error *e = NULL;
		CURLcode code;
		int ret = perform_once(c, &req, NULL, &r, &code, &e);
		if (ret == 0 && (r.status == 200 || r.status == 401)) {
			if (r.status == 401 && r.www_authenticate)
				registry_challenge_parse(r.www_authenticate, &c->challenge, NULL);
			registry_http_response_release(&r);
			petra_error_free(first);
			petra_error_free(e);
			return 0;
		}
		if (ret == 0 && !e) {
			registry_http_error(&r, &e);
			petra_error_prefix(&e, "GET %s/v2/", c->base);
		}
		registry_http_response_release(&r);
		if (!first)
			first = e;
		else
			petra_error_free(e);
	}
	int code = first->code;
	*err = first;
	if (insecure)
		petra_error_prefix(err, "%s: no registry answered on https or http", c->host);
	return -code;
}

int registry_client_new(const char *host, const char *repo, bool insecure,
			const struct registry_options *o, struct registry_client **out,
			struct petra_error **err)
{
	int ret = registry_curl_load(err);
	if (ret < 0)
		return ret;
	struct registry_client *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	c->share = curl_share_init();
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	c->host = xstrdup(host);
	ret = registry_credentials(o, host, repo, &c->user, &c->password, err);
	if (ret < 0) {
		registry_client_free(c);
		return ret;
	}
	bool tls_verify = o && o->tls_verify >= 0 ? o->tls_verify != 0 : !insecure;
	c->tls_verify = tls_verify;
	c->cert_dir = find_cert_dir(host, o);
	if (c->cert_dir) {
		load_cas(c);
		c->client_cert = find_file(c->cert_dir, ".cert");
		if (c->client_cert) {
			size_t len = strlen(c->client_cert);
			c->client_key = xasprintf("%.*s.key", (int)(len - 5), c->client_cert);
			if (access(c->client_key, R_OK) != 0) {
				ret = petra_error_set(
				    err, ENOENT, "%s: client certificate %s without its key %s",
				    host, c->client_cert, c->client_key);
				registry_client_free(c);
				return ret;
			}
		}
	}
	/* Docker Hub's API is not served on its name. */
	const char *api_host = !strcmp(host, "docker.io") ? "registry-1.docker.io" : host;
	free(c->host);
	c->host = xstrdup(api_host);
	ret = ping(c, !tls_verify, err);
	free(c->host);
	c->host = xstrdup(host);
	if (ret < 0) {
		registry_client_free(c);
		return ret;
	}
	*out = c;
	return 0;
}
