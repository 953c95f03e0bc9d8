/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl, loaded when a registry is first reached. Linked normally, it
 * brings some thirty shared libraries (GnuTLS, Kerberos, LDAP, ...) that
 * every petra command would map and relocate at start, most of what a
 * short `petra run` costs; dlopen'd, only the commands that talk to a
 * registry pay for them. */
#define REGISTRY_CURL_IMPLEMENTATION 1
#include "internal.h"

#include <dlfcn.h>

struct registry_curl_api registry_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
	void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(load_error, sizeof(load_error),
			 "cannot load libcurl.so.4 (the libcurl4 package): %s", dlerror());
		return;
	}
	struct {
		const char *name;
		void **slot;
	} symbols[] = {
#define SYMBOL(field, name) {#name, (void **)&registry_curl.field}
	    SYMBOL(global_init, curl_global_init),
	    SYMBOL(easy_init, curl_easy_init),
	    SYMBOL(easy_setopt, curl_easy_setopt),
	    SYMBOL(easy_getinfo, curl_easy_getinfo),
	    SYMBOL(easy_perform, curl_easy_perform),
	    SYMBOL(easy_cleanup, curl_easy_cleanup),
	    SYMBOL(easy_strerror, curl_easy_strerror),
	    SYMBOL(easy_escape, curl_easy_escape),
	    SYMBOL(free, curl_free),
	    SYMBOL(slist_append, curl_slist_append),
	    SYMBOL(slist_free_all, curl_slist_free_all),
	    SYMBOL(share_init, curl_share_init),
	    SYMBOL(share_setopt, curl_share_setopt),
	    SYMBOL(share_cleanup, curl_share_cleanup),
	    SYMBOL(version_info, curl_version_info),
#undef SYMBOL
	};
	for (size_t i = 0; i < ARRAY_SIZE(symbols); i++) {
		*symbols[i].slot = dlsym(lib, symbols[i].name);
		if (!*symbols[i].slot) {
			snprintf(load_error, sizeof(load_error), "libcurl.so.4 lacks %s",
				 symbols[i].name);
			return;
		}
	}
	if (registry_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(load_error, sizeof(load_error), "curl_global_init failed");
		return;
	}
	registry_curl.loaded = true;
}

int registry_curl_load(struct petra_error **err)
{
	pthread_once(&load_once, load);
	if (!registry_curl.loaded)
		return petra_error_set(err, ENOSYS, "%s", load_error);
	return 0;
}
