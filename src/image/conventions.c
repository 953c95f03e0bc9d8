/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image conventions: what petra writes into an image's config for the
 * stages after the build (the writable-paths label) and the part of the
 * config the runtime reads. Here rather than in runtime/ so that audit and
 * harden read a label without depending on the runtime.
 */
#include "image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the writable-paths label ---- */

/* A tmpfs size: a number of bytes, or a string in Docker's form: digits,
 * then optionally k, m or g (powers of 1024, any case) and an optional
 * "b" or "ib" ("64m", "64MiB", "1g", "4096"). Anything else is refused:
 * a size silently read as "none" would get the default. */
static int parse_size(json_t *v, uint64_t *size)
{
	*size = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -1;
		*size = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	const char *s = json_string_value(v);
	if (*s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	unsigned shift = 0;
	switch (*end | 0x20) { /* lower case */
	case 'k':
		shift = 10, end++;
		break;
	case 'm':
		shift = 20, end++;
		break;
	case 'g':
		shift = 30, end++;
		break;
	}
	if (shift && (*end | 0x20) == 'i')
		end++;
	if ((*end | 0x20) == 'b')
		end++;
	if (*end || errno || n > (UINT64_MAX >> shift))
		return -1;
	*size = (uint64_t)n << shift;
	return 0;
}

void image_writable_paths_free(struct image_writable_path *paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i].path);
	free(paths);
}

int image_writable_paths_parse(const char *label, struct image_writable_path **out, size_t *n_out,
			       struct petra_error **err)
{
	*out = NULL;
	*n_out = 0;
	if (!label)
		return 0;
	_cleanup_json_ json_t *json =
	    json_parse_buffer(label, strlen(label), "label " IMAGE_WRITABLE_PATHS_LABEL, err);
	if (!json)
		return -EINVAL;
	if (!json_is_array(json))
		return petra_error_set(err, EINVAL, "label %s is not a JSON array",
				       IMAGE_WRITABLE_PATHS_LABEL);
	size_t n = json_array_size(json);
	struct image_writable_path *paths = xcalloc(n ? n : 1, sizeof(*paths));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(json, i);
		const char *path = json_get_string(e, "path");
		if (!path || !path_is_clean(path)) {
			image_writable_paths_free(paths, n);
			return petra_error_set(err, EINVAL,
					       "label %s: entry %zu has no absolute \"path\"",
					       IMAGE_WRITABLE_PATHS_LABEL, i + 1);
		}
		paths[i].path = xstrdup(path);
		if (parse_size(json_object_get(e, "size"), &paths[i].size) < 0) {
			image_writable_paths_free(paths, n);
			return petra_error_set(err, EINVAL,
					       "label %s: entry %zu (%s) has an invalid \"size\" "
					       "(bytes, or a string such as \"64m\")",
					       IMAGE_WRITABLE_PATHS_LABEL, i + 1, path);
		}
		json_t *mode = json_object_get(e, "mode");
		if (json_is_string(mode))
			paths[i].mode = (mode_t)strtoul(json_string_value(mode), NULL, 8);
		else if (json_is_integer(mode))
			paths[i].mode = (mode_t)json_integer_value(mode);
		paths[i].mode &= 07777;
		json_t *copy = json_object_get(e, "copy");
		if (copy && !json_is_boolean(copy)) {
			image_writable_paths_free(paths, n);
			return petra_error_set(
			    err, EINVAL,
			    "label %s: entry %zu has a \"copy\" that is not true "
			    "or false",
			    IMAGE_WRITABLE_PATHS_LABEL, i + 1);
		}
		paths[i].copy = json_is_true(copy);
		json_t *memory = json_object_get(e, "memory");
		if (memory && !json_is_boolean(memory)) {
			image_writable_paths_free(paths, n);
			return petra_error_set(
			    err, EINVAL,
			    "label %s: entry %zu has a \"memory\" that is not true "
			    "or false",
			    IMAGE_WRITABLE_PATHS_LABEL, i + 1);
		}
		paths[i].memory = json_is_true(memory);
		paths[i].has_uid = json_object_get(e, "uid") != NULL;
		json_int_t uid = json_get_int(e, "uid", 0);
		if (uid < 0 || uid >= UINT32_MAX) {
			image_writable_paths_free(paths, n);
			return petra_error_set(err, EINVAL,
					       "label %s: entry %zu has an invalid \"uid\"",
					       IMAGE_WRITABLE_PATHS_LABEL, i + 1);
		}
		paths[i].uid = (uid_t)uid;
	}
	*out = paths;
	*n_out = n;
	return 0;
}

char *image_writable_paths_format(const struct image_writable_path *paths, size_t n)
{
	_cleanup_json_ json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		char mode[8];
		snprintf(mode, sizeof(mode), "%04o", (unsigned)(paths[i].mode & 07777));
		json_t *e = json_pack("{s:s,s:I,s:s}", "path", paths[i].path, "size",
				      (json_int_t)paths[i].size, "mode", mode);
		if (paths[i].has_uid)
			json_object_set_new(e, "uid", json_integer((json_int_t)paths[i].uid));
		if (paths[i].copy)
			json_object_set_new(e, "copy", json_true());
		/* Written only when set: older readers see the label they knew. */
		if (paths[i].memory)
			json_object_set_new(e, "memory", json_true());
		json_array_append_new(a, e);
	}
	return json_dump_compact(a, NULL);
}

/* ---- the runtime view of a config ---- */

json_t *image_runtime_config(const struct image *img)
{
	json_t *c = json_object_get(img->config.json, "config");
	return json_is_object(c) ? c : NULL;
}
