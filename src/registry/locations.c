/* SPDX-License-Identifier: Apache-2.0 */
/* Where blobs were last seen: "host/repo" lists per digest, kept next to
 * the store's layout in registry-locations.json, so a push can mount a
 * blob from another repository of the same registry instead of uploading
 * it. A cache only: a lost update costs an upload, never correctness. */
#include "internal.h"

#include <fcntl.h>
#include <string.h>

#define LOCATIONS_FILE     "registry-locations.json"
#define LOCATIONS_PER_BLOB 8

static json_t *locations_load(struct petra_store *store)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	struct petra_error *e = NULL;
	if (fs_read_file_at(petra_store_root_fd(store), LOCATIONS_FILE, 64u << 20, &data, &len,
			    &e) < 0) {
		petra_error_free(e);
		return json_object();
	}
	json_t *doc = json_loadb(data, len, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return json_object();
	}
	return doc;
}

void registry_locations_add(struct petra_store *store, const char *host, const char *repo,
			    const char *const *digests, size_t n)
{
	json_t *doc = locations_load(store);
	_cleanup_free_ char *where = xasprintf("%s/%s", host, repo);
	for (size_t i = 0; i < n; i++) {
		json_t *list = json_object_get(doc, digests[i]);
		if (!json_is_array(list)) {
			list = json_array();
			json_object_set_new(doc, digests[i], list);
		}
		for (size_t k = 0; k < json_array_size(list); k++)
			if (json_is_string(json_array_get(list, k)) &&
			    !strcmp(json_string_value(json_array_get(list, k)), where)) {
				json_array_remove(list, k);
				break;
			}
		/* Most recent first. */
		json_array_insert_new(list, 0, json_string(where));
		while (json_array_size(list) > LOCATIONS_PER_BLOB)
			json_array_remove(list, json_array_size(list) - 1);
	}
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(doc, &len);
	struct petra_error *e = NULL;
	if (fs_write_file_atomic_at(petra_store_root_fd(store), LOCATIONS_FILE, text, len, 0644,
				    &e) < 0) {
		log_debug("%s", e->message);
		petra_error_free(e);
	}
	json_decref(doc);
}

void registry_locations_find(struct petra_store *store, const char *host, const char *repo,
			     const char *digest, struct strvec *repos)
{
	json_t *doc = locations_load(store);
	json_t *list = json_object_get(doc, digest);
	size_t hl = strlen(host);
	for (size_t k = 0; k < json_array_size(list); k++) {
		const char *where = json_string_value(json_array_get(list, k));
		if (!where || strncmp(where, host, hl) || where[hl] != '/')
			continue;
		if (strcmp(where + hl + 1, repo))
			strvec_push(repos, where + hl + 1);
	}
	json_decref(doc);
}
