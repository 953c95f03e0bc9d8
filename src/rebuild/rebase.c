/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer rebase: an image whose layers above its base ran nothing (COPY,
 * ADD, WORKDIR) does not depend on what the base's files hold, only on
 * its paths, so the base's layers can be swapped for the new base's and
 * the config rewritten: no step runs, the image's own layers are shared.
 */
#include "rebuild.h"
#include "image/image.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#define BASE_NAME_ANNOTATION   "org.opencontainers.image.base.name"
#define BASE_DIGEST_ANNOTATION "org.opencontainers.image.base.digest"
#define BASE_LAYERS_LABEL      "org.petra.base.layers"

/* The instruction of a history entry: petra writes the instruction
 * ("COPY a /b"), buildah and Docker "/bin/sh -c #(nop) COPY ...". */
static const char *instruction(const char *created_by)
{
	const char *nop = strstr(created_by, "#(nop)");
	const char *s = nop ? nop + strlen("#(nop)") : created_by;
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static bool keyword(const char *s, const char *kw)
{
	size_t n = strlen(kw);
	return strncasecmp(s, kw, n) == 0 && (s[n] == ' ' || s[n] == '\t' || s[n] == '\0');
}

/* --chown=NAME resolves NAME in the base's /etc/passwd: the layer depends
 * on the base's content. A numeric owner does not. */
static bool chown_by_name(const char *s)
{
	const char *p = strstr(s, "--chown=");
	if (!p)
		return false;
	for (p += strlen("--chown="); *p && *p != ' '; p++)
		if (!isdigit((unsigned char)*p) && *p != ':')
			return true;
	return false;
}

char *rebuild_rebase_unsafe(const json_t *config, size_t base_history)
{
	const json_t *history = json_object_get(config, "history");
	size_t n = json_array_size(history);
	if (n < base_history)
		return xstrdup("its history is shorter than its base's");
	for (size_t i = base_history; i < n; i++) {
		const json_t *h = json_array_get(history, i);
		if (json_is_true(json_object_get(h, "empty_layer")))
			continue; /* config only */
		const char *by = json_get_string(h, "created_by");
		if (!by)
			return xasprintf("history entry %zu does not say what made its layer", i);
		const char *ins = instruction(by);
		if (!keyword(ins, "COPY") && !keyword(ins, "ADD") && !keyword(ins, "WORKDIR"))
			return xasprintf("its history step %zu is not COPY, ADD or WORKDIR "
					 "(\"%.60s\")",
					 i, by);
		if (chown_by_name(ins))
			return xasprintf("history entry %zu chowns by name (the base's passwd)", i);
	}
	return NULL;
}

/* A setting the image took from its old base follows the new base; one
 * the image set itself stays. Env and Labels per entry. */
static bool env_key_eq(const char *a, const char *b)
{
	size_t na = strcspn(a, "="), nb = strcspn(b, "=");
	return na == nb && strncmp(a, b, na) == 0;
}

static const json_t *env_find(const json_t *env, const char *entry)
{
	size_t i;
	const json_t *v;
	json_array_foreach(env, i, v) if (json_is_string(v) &&
					  env_key_eq(json_string_value(v), entry)) return v;
	return NULL;
}

static json_t *merge_env(const json_t *mine, const json_t *old, const json_t *new_)
{
	json_t *out = json_array();
	size_t i;
	const json_t *v;
	/* The new base's entries, unless the image set that variable itself. */
	json_array_foreach(new_, i, v)
	{
		const json_t *m = env_find(mine, json_string_value(v));
		const json_t *o = env_find(old, json_string_value(v));
		bool own = m && (!o || !json_equal(m, o));
		json_array_append(out, own ? (json_t *)m : (json_t *)v);
	}
	/* The image's own variables the new base does not have. */
	json_array_foreach(mine, i, v)
	{
		if (env_find(new_, json_string_value(v)))
			continue;
		const json_t *o = env_find(old, json_string_value(v));
		if (!o || !json_equal(o, v))
			json_array_append(out, (json_t *)v);
	}
	return out;
}

static json_t *merge_object(const json_t *mine, const json_t *old, const json_t *new_)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)new_, k, v) json_object_set(out, k, v);
	json_object_foreach((json_t *)mine, k, v)
	{
		const json_t *o = json_object_get(old, k);
		if (!o || !json_equal(o, v))
			json_object_set(out, k, v); /* the image's own */
		else if (!json_object_get(new_, k))
			continue; /* the old base's, which the new one dropped */
	}
	return out;
}

static json_t *merge_config(const json_t *mine, const json_t *old, const json_t *new_)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	/* Every key of either: the image's when it differs from the old base's,
	 * else the new base's. */
	json_object_foreach((json_t *)mine, k, v)
	{
		const json_t *o = json_object_get(old, k);
		const json_t *n = json_object_get(new_, k);
		if (strcmp(k, "Env") == 0)
			json_object_set_new(out, k, merge_env(v, o, n));
		else if (strcmp(k, "Labels") == 0 || strcmp(k, "ExposedPorts") == 0 ||
			 strcmp(k, "Volumes") == 0)
			json_object_set_new(out, k, merge_object(v, o, n));
		else if (o && json_equal(o, v)) {
			if (n)
				json_object_set(out, k, (json_t *)n);
		} else
			json_object_set(out, k, v);
	}
	json_object_foreach((json_t *)new_, k,
			    v) if (!json_object_get(mine, k) && !json_object_get(old, k))
	    json_object_set(out, k, v);
	return out;
}

/* org.opencontainers.image.base.name as the builder (and buildah) write
 * it: a name of petra's store only is localhost/NAME:TAG, another the
 * fully qualified name with its tag. */
static char *base_annotation_name(const char *name)
{
	struct policy_ref ref;
	if (policy_ref_parse(name, &ref, NULL) < 0)
		return xstrdup(name);
	char *out;
	if (ref.familiar_domain) {
		const char *path = ref.familiar_library ? ref.path + strlen("library/") : ref.path;
		out = xasprintf("localhost/%s:%s", path, ref.tag ? ref.tag : "latest");
	} else {
		out = policy_ref_format(&ref, POLICY_REF_NO_DIGEST);
	}
	policy_ref_release(&ref);
	return out;
}

static int rebase_loaded(struct petra_store *store, const char *image, const char *old_base,
			 const struct image *img, const struct image *old, const struct image *nb,
			 const char *new_base_name, char new_digest[OCI_DIGEST_SIZE],
			 struct petra_error **err)
{
	size_t n_old = old->manifest.n_layers;
	bool prefix = n_old < img->manifest.n_layers && n_old == old->config.diff_ids.n &&
		      img->config.diff_ids.n == img->manifest.n_layers;
	for (size_t i = 0; prefix && i < n_old; i++)
		prefix = strcmp(old->config.diff_ids.v[i], img->config.diff_ids.v[i]) == 0;
	if (!prefix)
		return petra_error_set(err, EINVAL, "%s does not start with the layers of %s",
				       image, old_base);
	size_t base_history = json_array_size(json_object_get(old->config.json, "history"));
	_cleanup_free_ char *why = rebuild_rebase_unsafe(img->config.json, base_history);
	if (why)
		return petra_error_set(err, EINVAL, "%s cannot be rebased: %s", image, why);

	/* The config: the image's, its base part replaced. */
	_cleanup_json_ json_t *config = json_deep_copy(img->config.json);
	json_object_set_new(config, "config",
			    merge_config(json_object_get(img->config.json, "config"),
					 json_object_get(old->config.json, "config"),
					 json_object_get(nb->config.json, "config")));
	json_t *labels = json_object_get(json_object_get(config, "config"), "Labels");
	if (json_object_get(labels, BASE_LAYERS_LABEL))
		json_object_set_new(labels, BASE_LAYERS_LABEL,
				    json_sprintf("%zu", nb->manifest.n_layers));
	json_t *diff_ids = json_array();
	for (size_t i = 0; i < nb->config.diff_ids.n; i++)
		json_array_append_new(diff_ids, json_string(nb->config.diff_ids.v[i]));
	for (size_t i = n_old; i < img->config.diff_ids.n; i++)
		json_array_append_new(diff_ids, json_string(img->config.diff_ids.v[i]));
	json_object_set_new(config, "rootfs",
			    json_pack("{s:s, s:o}", "type", "layers", "diff_ids", diff_ids));
	json_t *history = json_array();
	json_array_extend(history, json_object_get(nb->config.json, "history"));
	const json_t *mine = json_object_get(img->config.json, "history");
	for (size_t i = base_history; i < json_array_size(mine); i++)
		json_array_append(history, json_array_get(mine, i));
	json_object_set_new(config, "history", history);

	struct oci_descriptor config_desc;
	int r = petra_store_put_json(store, config, OCI_MEDIA_TYPE_CONFIG, &config_desc, err);
	if (r < 0)
		return r;
	size_t n_layers = nb->manifest.n_layers + img->manifest.n_layers - n_old;
	struct oci_descriptor *layers = xcalloc(n_layers + 1, sizeof(*layers));
	for (size_t i = 0; i < nb->manifest.n_layers; i++)
		layers[i] = nb->manifest.layers[i]; /* borrowed */
	for (size_t i = n_old; i < img->manifest.n_layers; i++)
		layers[nb->manifest.n_layers + i - n_old] = img->manifest.layers[i];
	_cleanup_json_ json_t *ann =
	    json_deep_copy(json_object_get(img->manifest.json, "annotations"));
	if (!ann)
		ann = json_object();
	_cleanup_free_ char *annotated = base_annotation_name(new_base_name);
	json_object_set_new(ann, BASE_NAME_ANNOTATION, json_string(annotated));
	json_object_set_new(ann, BASE_DIGEST_ANNOTATION, json_string(nb->desc.digest));
	_cleanup_json_ json_t *manifest = oci_manifest_build(&config_desc, layers, n_layers, ann);
	free(layers);
	oci_descriptor_release(&config_desc);
	struct oci_descriptor desc;
	r = petra_store_put_json(store, manifest, OCI_MEDIA_TYPE_MANIFEST, &desc, err);
	if (r == 0) {
		memcpy(new_digest, desc.digest, OCI_DIGEST_SIZE);
		oci_descriptor_release(&desc);
	}
	return r;
}

int rebuild_rebase_image(struct petra_store *store, const char *image, const char *old_base,
			 const char *new_base, const char *new_base_name,
			 char new_digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	struct image img = {0}, old = {0}, nb = {0};
	int r = image_load(store, image, &img, err);
	if (r == 0)
		r = image_load(store, old_base, &old, err);
	if (r == 0)
		r = image_load(store, new_base, &nb, err);
	if (r == 0)
		r = rebase_loaded(store, image, old_base, &img, &old, &nb, new_base_name,
				  new_digest, err);
	image_release(&img);
	image_release(&old);
	image_release(&nb);
	return r;
}
