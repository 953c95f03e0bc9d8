/* SPDX-License-Identifier: Apache-2.0 */
/* A stage's image while it is built (config and layers), and the cache of
 * such states by step key. */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define RECORD_MAX_SIZE (16u << 20)

void builder_state_release(struct builder_state *s)
{
	json_decref(s->config);
	for (size_t i = 0; i < s->n_layers; i++) {
		oci_descriptor_release(&s->layers[i].desc);
		free(s->layers[i].dir);
	}
	free(s->layers);
	memset(s, 0, sizeof(*s));
}

void builder_state_copy(struct builder_state *dst, const struct builder_state *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->config = json_deep_copy(src->config);
	dst->cmd_set = src->cmd_set;
	dst->n_layers = src->n_layers;
	dst->layers = xcalloc(src->n_layers ? src->n_layers : 1, sizeof(*dst->layers));
	for (size_t i = 0; i < src->n_layers; i++) {
		oci_descriptor_copy(&dst->layers[i].desc, &src->layers[i].desc);
		memcpy(dst->layers[i].diff_id, src->layers[i].diff_id, OCI_DIGEST_SIZE);
		dst->layers[i].dir = src->layers[i].dir ? xstrdup(src->layers[i].dir) : NULL;
		dst->layers[i].empty = src->layers[i].empty;
	}
}

json_t *builder_state_runtime(struct builder_state *s)
{
	json_t *c = json_object_get(s->config, "config");
	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(s->config, "config", c);
	}
	return c;
}

void builder_state_env(struct builder_state *s, struct strvec *env)
{
	json_t *list = json_object_get(builder_state_runtime(s), "Env");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) if (json_is_string(v))
	    strvec_push(env, json_string_value(v));
}

void builder_state_from_image(struct builder_state *s, const struct image *img)
{
	memset(s, 0, sizeof(*s));
	s->config = json_deep_copy(img->config.json);
	s->n_layers = img->manifest.n_layers;
	s->layers = xcalloc(s->n_layers + 1, sizeof(*s->layers));
	for (size_t i = 0; i < s->n_layers; i++) {
		oci_descriptor_copy(&s->layers[i].desc, &img->manifest.layers[i]);
		memcpy(s->layers[i].diff_id, img->config.diff_ids.v[i], OCI_DIGEST_SIZE);
		s->layers[i].empty = -1;
	}
}

static json_t *diff_ids_of(struct builder_state *s)
{
	json_t *rootfs = json_object_get(s->config, "rootfs");
	if (!json_is_object(rootfs)) {
		rootfs = json_object();
		json_object_set_new(s->config, "rootfs", rootfs);
	}
	json_object_set_new(rootfs, "type", json_string("layers"));
	json_t *ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids)) {
		ids = json_array();
		json_object_set_new(rootfs, "diff_ids", ids);
	}
	return ids;
}

void builder_state_add_layer(struct builder_state *s, const struct layer_info *info, char *dir)
{
	s->layers = xrealloc(s->layers, (s->n_layers + 1) * sizeof(*s->layers));
	struct builder_layer *l = &s->layers[s->n_layers++];
	memset(l, 0, sizeof(*l));
	l->desc.media_type = xstrdup(info->media_type);
	memcpy(l->desc.digest, info->digest, OCI_DIGEST_SIZE);
	l->desc.size = info->size;
	memcpy(l->diff_id, info->diff_id, OCI_DIGEST_SIZE);
	l->dir = dir;
	l->empty = info->uncompressed_size <= 1024 ? -1 : 0;
	json_array_append_new(diff_ids_of(s), json_string(info->diff_id));
}

void builder_state_add_history(struct builder_state *s, const char *created_by, bool empty_layer,
			       time_t created)
{
	json_t *history = json_object_get(s->config, "history");
	if (!json_is_array(history)) {
		history = json_array();
		json_object_set_new(s->config, "history", history);
	}
	char when[40];
	time_format_rfc3339(created, when, sizeof(when));
	json_t *h = json_object();
	json_object_set_new(h, "created", json_string(when));
	json_object_set_new(h, "created_by", json_string(created_by));
	if (empty_layer)
		json_object_set_new(h, "empty_layer", json_true());
	json_array_append_new(history, h);
	json_object_set_new(s->config, "created", json_string(when));
}

void builder_state_identity(const struct builder_state *s, char out[OCI_DIGEST_SIZE])
{
	struct oci_hasher h;
	oci_hasher_init(&h);
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(s->config, &len);
	oci_hasher_update(&h, text, len);
	for (size_t i = 0; i < s->n_layers; i++)
		oci_hasher_update(&h, s->layers[i].desc.digest, strlen(s->layers[i].desc.digest));
	oci_hasher_final(&h, out);
}

/* ---- keys ---- */

void builder_key_add(struct oci_hasher *h, const char *field)
{
	/* NUL-terminated fields: no two sequences of fields collide. */
	oci_hasher_update(h, field, strlen(field) + 1);
}

void builder_key_addf(struct oci_hasher *h, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	builder_key_add(h, strbuf_str(&sb));
	strbuf_release(&sb);
}

/* ---- records ---- */

static char *record_path(struct builder_session *b, const char *key)
{
	return xasprintf("%s/cache/%s", b->build_dir, oci_digest_hex(key));
}

int builder_cache_load(struct builder_session *b, const char *key, struct builder_state *state)
{
	_cleanup_free_ char *path = record_path(b, key);
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, path, RECORD_MAX_SIZE, &data, &len, NULL) < 0)
		return 0;
	_cleanup_json_ json_t *rec = json_parse_buffer(data, len, path, NULL);
	json_t *config = rec ? json_object_get(rec, "config") : NULL;
	json_t *layers = rec ? json_object_get(rec, "layers") : NULL;
	if (!json_is_object(config) || !json_is_array(layers))
		return 0;
	struct builder_state s = {.config = json_incref(config)};
	s.cmd_set = json_is_true(json_object_get(rec, "cmd_set"));
	json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (json_array_size(ids) != json_array_size(layers)) {
		builder_state_release(&s);
		return 0;
	}
	s.layers = xcalloc(json_array_size(layers) + 1, sizeof(*s.layers));
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l)
	{
		struct builder_layer *bl = &s.layers[s.n_layers];
		const char *diff_id = json_string_value(json_array_get(ids, i));
		/* A blob pruned since (the cache is not an image): a miss. */
		if (oci_descriptor_from_json(l, &bl->desc, NULL) < 0 || !diff_id ||
		    !oci_digest_valid(diff_id) ||
		    !petra_store_has_blob(b->store, bl->desc.digest)) {
			if (bl->desc.media_type)
				oci_descriptor_release(&bl->desc);
			builder_state_release(&s);
			return 0;
		}
		memcpy(bl->diff_id, diff_id, OCI_DIGEST_SIZE);
		bl->empty = -1;
		s.n_layers++;
	}
	*state = s;
	return 1;
}

void builder_cache_save(struct builder_session *b, const char *key,
			const struct builder_state *state)
{
	_cleanup_free_ char *dir = path_join(b->build_dir, "cache");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	json_t *rec = json_object();
	json_object_set(rec, "config", state->config);
	json_t *layers = json_array();
	for (size_t i = 0; i < state->n_layers; i++)
		json_array_append_new(layers, oci_descriptor_to_json(&state->layers[i].desc));
	json_object_set_new(rec, "layers", layers);
	json_object_set_new(rec, "cmd_set", json_boolean(state->cmd_set));
	size_t len;
	_cleanup_free_ char *text = json_dump_compact(rec, &len);
	json_decref(rec);
	/* Replaced whole by a rename, but not fsync'd: a record lost in a
	 * crash only costs a step run again, and a torn one reads as a miss. */
	_cleanup_free_ char *path = record_path(b, key);
	_cleanup_free_ char *tmp =
	    xasprintf("%s.tmp-%d-%lu", path, (int)getpid(), (unsigned long)pthread_self());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (fs_write_all(fd, text, len) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}
