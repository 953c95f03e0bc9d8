/* SPDX-License-Identifier: Apache-2.0 */
/* registry internals: the HTTP client (auth, TLS, errors) the verbs share. */
#ifndef PETRA_REGISTRY_INTERNAL_H
#define PETRA_REGISTRY_INTERNAL_H

/* The type-checking macros of curl.h would call the functions by name;
 * petra calls them through the table below (see curl.c). */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>

#include "policy/policy.h"
#include "registry.h"

#define REGISTRY_MANIFEST_MAX (4u << 20)
#define REGISTRY_CONFIG_MAX   (16u << 20)
#define REGISTRY_ACCEPT                                                                            \
	"Accept: " OCI_MEDIA_TYPE_INDEX ", " OCI_MEDIA_TYPE_MANIFEST ", " DOCKER_MEDIA_TYPE_LIST   \
	", " DOCKER_MEDIA_TYPE_MANIFEST

/* ---- libcurl, dlopen'd (curl.c) ---- */
struct registry_curl_api {
	bool loaded;
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	CURLcode (*easy_perform)(CURL *curl);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	char *(*easy_escape)(CURL *curl, const char *string, int length);
	void (*free)(void *p);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
	void (*slist_free_all)(struct curl_slist *list);
	CURLSH *(*share_init)(void);
	CURLSHcode (*share_setopt)(CURLSH *share, CURLSHoption option, ...);
	CURLSHcode (*share_cleanup)(CURLSH *share);
	curl_version_info_data *(*version_info)(CURLversion version);
};
extern struct registry_curl_api registry_curl;
/* Load libcurl once (ENOSYS when it is missing). */
int registry_curl_load(struct petra_error **err);
#ifndef REGISTRY_CURL_IMPLEMENTATION
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt
#define curl_easy_init      registry_curl.easy_init
#define curl_easy_setopt    registry_curl.easy_setopt
#define curl_easy_getinfo   registry_curl.easy_getinfo
#define curl_easy_perform   registry_curl.easy_perform
#define curl_easy_cleanup   registry_curl.easy_cleanup
#define curl_easy_strerror  registry_curl.easy_strerror
#define curl_easy_escape    registry_curl.easy_escape
#define curl_free           registry_curl.free
#define curl_slist_append   registry_curl.slist_append
#define curl_slist_free_all registry_curl.slist_free_all
#define curl_share_init     registry_curl.share_init
#define curl_share_setopt   registry_curl.share_setopt
#define curl_share_cleanup  registry_curl.share_cleanup
#define curl_version_info   registry_curl.version_info
#endif

/* Where a repository is really served (after registries.conf). */
struct registry_target {
	char *host; /* "127.0.0.1:5000", "docker.io" */
	char *repo; /* "library/debian" */
	bool insecure;
};
void registry_targets_free(struct registry_target *targets, size_t n);
/* The places to try for a reference, mirrors first when pulling; EACCES
 * when registries.conf blocks it. */
int registry_resolve(const struct policy_ref *ref, bool pull, struct registry_target **targets,
		     size_t *n, struct petra_error **err);

struct registry_token {
	char *scope;
	char *token;
	time_t expires;
};

/* One registry host: how to reach it and its credentials; shared by the
 * threads of one transfer (the token cache and curl's connection cache
 * under locks). */
struct registry_client {
	char *host;
	char *base; /* "https://host" or "http://host" */
	bool tls_verify;
	char *cert_dir; /* CAs (*.crt) and client pairs (*.cert, *.key), or NULL */
	char *client_cert, *client_key;
	struct strbuf cas; /* PEM: the system's CAs and cert_dir's, or empty: curl's default */
	char *user, *password;
	struct registry_challenge challenge; /* from the /v2/ ping; scheme NULL: none */
	pthread_mutex_t lock;
	struct registry_token *tokens;
	size_t n_tokens;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
};

/* A client for host; credentials for repo (may be NULL) loaded. */
int registry_client_new(const char *host, const char *repo, bool insecure,
			const struct registry_options *options, struct registry_client **out,
			struct petra_error **err);
void registry_client_free(struct registry_client *c);
static inline void registry_client_freep(struct registry_client **c)
{
	if (*c)
		registry_client_free(*c);
}
#define _cleanup_client_ _cleanup_(registry_client_freep)

/* A request body read from a file range (a blob) or memory; bytes past
 * *hashed_upto go through hasher (may be NULL) the first time they are
 * read, so a retried request does not hash twice. */
struct http_source {
	const char *mem;
	int fd;
	int64_t start, end, pos;
	struct oci_hasher *hasher;
	int64_t *hashed_upto;
	/* Told of bytes as curl takes them, each byte once (a rewound retry
	 * does not count again): progress. May be NULL. */
	void (*on_sent)(void *ctx, uint64_t bytes);
	void *on_sent_ctx;
	int64_t sent_upto; /* 0: from start */
};

/* Body bytes of a successful (2xx) response go to sink when set;
 * returning false aborts the transfer. */
typedef bool (*http_sink_fn)(void *ctx, long status, const char *data, size_t len);

struct http_request {
	const char *method; /* GET HEAD PUT POST PATCH DELETE */
	const char *url;    /* "/v2/..." (on the client's base) or absolute */
	const char *scope;  /* token scope(s), space separated; NULL: none */
	const char *const *headers;
	struct http_source *source; /* PUT/PATCH body */
	http_sink_fn sink;
	void *sink_ctx;
	bool no_retry; /* not idempotent or the caller retries itself */
};

struct http_response {
	long status;
	struct strbuf body; /* error bodies and small documents (capped) */
	size_t body_max;    /* 0: 64 KiB */
	bool body_too_big;
	char *www_authenticate, *digest, *location, *range, *content_type;
	int64_t content_length;
	bool oci_subject; /* OCI-Subject: the registry keeps referrers itself */
};
void registry_http_response_release(struct http_response *r);

/* Perform a request with auth (a 401 fetches a token for the scope, or
 * sends Basic credentials, and retries once) and retries of transient
 * failures. Fails only when no HTTP answer arrived; check r->status. */
int registry_request(struct registry_client *c, const struct http_request *req,
		     struct http_response *r, struct petra_error **err);
/* "manifest unknown (404 MANIFEST_UNKNOWN)" from a registry's error body. */
int registry_http_error(const struct http_response *r, struct petra_error **err);
/* The scope string for a repository ("repository:NAME:pull[,push]"). */
char *registry_scope(const char *repo, bool push);

/* ---- credentials (creds.c) ---- */
/* Credentials for host (and repo): --creds, else the auth files. */
int registry_credentials(const struct registry_options *o, const char *host, const char *repo,
			 char **user, char **password, struct petra_error **err);

/* ---- base64 ---- */
char *registry_base64_encode(const char *data, size_t len);
/* NULL when invalid. */
char *registry_base64_decode(const char *text, size_t *len);

/* ---- transfers shared by pull, push and referrers ---- */
struct registry_fetched {
	char *data;
	size_t len;
	char *media_type;
	char digest[OCI_DIGEST_SIZE];
};
void registry_fetched_release(struct registry_fetched *f);
/* GET a manifest by tag or digest, checked against the digest asked for
 * and Docker-Content-Digest. */
int registry_fetch_manifest(struct registry_client *c, const char *repo, const char *reference,
			    struct registry_fetched *out, struct petra_error **err);
/* The index of subject's referrers in repo: the referrers API, else the
 * "sha256-<hex>" tag's index, else an empty one (referrers.c). */
int registry_list_referrers(struct registry_client *c, const char *repo, const char *subject,
			    json_t **index, struct petra_error **err);
struct registry_progress;
/* A blob into the store unless it is there (verified; progress may be NULL). */
int registry_fetch_blob(struct registry_client *c, const char *repo, struct petra_store *store,
			const struct oci_descriptor *desc, struct registry_progress *progress,
			struct petra_error **err);
/* A blob of the store to repo (HEAD skip, mount, upload). */
int registry_push_blob(struct registry_client *c, const char *host, const char *repo,
		       struct petra_store *store, const struct registry_options *o,
		       const struct oci_descriptor *desc, struct petra_error **err);

/* ---- chunked uploads in progress (uploads.c) ---- */
/* The registry's upload session of host/repo/digest a push left behind:
 * 1 with its Location and the bytes the registry acknowledged, 0 when
 * there is none. */
int registry_upload_session_load(struct petra_store *store, const char *host, const char *repo,
				 const char *digest, char **location, int64_t *acked);
/* Record (atomically) that the session at location holds acked bytes. */
void registry_upload_session_save(struct petra_store *store, const char *host, const char *repo,
				  const char *digest, const char *location, int64_t acked);
void registry_upload_session_remove(struct petra_store *store, const char *host, const char *repo,
				    const char *digest);
/* Forget sessions older than max_age seconds (registries purge theirs). */
void registry_upload_sessions_sweep(struct petra_store *store, time_t max_age);

/* ---- progress (progress.c) ---- */
struct registry_blob_line;
struct registry_progress {
	pthread_mutex_t lock;
	bool quiet;
	bool tty;
	char *title;
	uint64_t total;
	struct timespec started, last_draw;
	struct registry_blob_line *lines; /* in the order blobs started */
	size_t n_lines, first_live, drawn;
	unsigned blobs_moved, blobs_skipped;
	uint64_t bytes_moved;
};
void registry_progress_begin(struct registry_progress *p, const char *title, uint64_t total,
			     bool quiet);
/* A blob starts moving ("pushing", "fetching", "resuming"): size bytes,
 * already of them there (a resumed transfer). Every function takes a NULL
 * p (no progress). */
void registry_progress_start(struct registry_progress *p, const char *verb, const char *digest,
			     int64_t size, int64_t already);
/* bytes of digest crossed the wire. */
void registry_progress_add(struct registry_progress *p, const char *digest, uint64_t bytes);
/* A blob is done: "pushed", "fetched" (moved), "exists", "mounted",
 * "have" (not). */
void registry_progress_line(struct registry_progress *p, const char *verb, const char *digest,
			    int64_t size);
/* The last drawing; when ok, a summary (blobs and bytes moved, time, rate). */
void registry_progress_end(struct registry_progress *p, bool ok);

/* ---- where blobs are known to be (locations.c) ---- */
/* Remember that host/repo holds these blobs (for cross-repository mounts). */
void registry_locations_add(struct petra_store *store, const char *host, const char *repo,
			    const char *const *digests, size_t n);
/* Repositories of host known to hold digest, other than repo. */
void registry_locations_find(struct petra_store *store, const char *host, const char *repo,
			     const char *digest, struct strvec *repos);

#endif
