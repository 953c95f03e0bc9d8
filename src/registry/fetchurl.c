/* SPDX-License-Identifier: Apache-2.0 */
/* One small document from a plain web server (not a registry: no /v2/
 * ping, no auth): the signature-N files of a registries.d lookaside. */
#include "internal.h"

#include <string.h>

struct fetch_body {
	struct strbuf buf;
	size_t max;
	bool too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct fetch_body *b = ctx;
	size_t len = size * n;
	if (b->buf.len + len > b->max) {
		b->too_big = true;
		return 0;
	}
	strbuf_add(&b->buf, data, len);
	return len;
}

int registry_fetch_url(const char *url, size_t max, const struct registry_options *o, char **data,
		       size_t *len, struct petra_error **err)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return petra_error_set(err, EINVAL, "%s: only http:// and https:// are fetched",
				       url);
	int ret = registry_curl_load(err);
	if (ret < 0)
		return ret;
	CURL *curl = curl_easy_init();
	if (!curl)
		return petra_error_set(err, ENOMEM, "%s: curl_easy_init failed", url);
	struct fetch_body body = {.buf = STRBUF_INIT, .max = max};
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	if (o && o->tls_verify == 0) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	CURLcode code = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (body.too_big)
		ret = petra_error_set(err, EFBIG, "%s: larger than %zu bytes", url, max);
	else if (code != CURLE_OK)
		ret = petra_error_set(err, EIO, "%s: %s", url, curl_easy_strerror(code));
	else if (status == 404)
		ret = petra_error_set(err, ENOENT, "%s: not found (HTTP 404)", url);
	else if (status != 200)
		ret = petra_error_set(err, EIO, "%s: HTTP %ld", url, status);
	if (ret < 0) {
		strbuf_release(&body.buf);
		return ret;
	}
	*len = body.buf.len;
	*data = strbuf_detach(&body.buf);
	return 0;
}
