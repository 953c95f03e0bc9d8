/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image a build ends with: the target's config and manifest, with
 * provenance (base, created, the git source and revision), and a name per
 * tag whose index entry carries the build record.
 */
#include "internal.h"

#include <string.h>

static json_t *build_record(struct builder_session *b, const struct builder_inputs *in)
{
	const struct builder_options *o = b->o;
	json_t *rec = json_object();
	json_object_set_new(rec, "dockerfile", json_string(in->dockerfile_path));
	json_object_set_new(rec, "dockerfile_digest", json_string(in->dockerfile_digest));
	json_object_set_new(rec, "context", json_string(in->context_dir));
	if (o->target)
		json_object_set_new(rec, "target", json_string(o->target));
	json_t *args = json_object();
	for (size_t i = 0; i < o->n_build_args; i++) {
		const char *kv = o->build_args[i];
		const char *eq = strchr(kv, '=');
		_cleanup_free_ char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
		const char *v = eq ? eq + 1 : getenv(kv);
		if (v)
			json_object_set_new(args, k, json_string(v));
	}
	json_object_set_new(rec, "build_args", args);
	json_t *secrets = json_array();
	for (size_t i = 0; i < o->n_secrets; i++)
		json_array_append_new(secrets, json_string(o->secrets[i].id));
	json_object_set_new(rec, "secrets", secrets);
	json_object_set_new(rec, "compression",
			    json_string(layer_compression_name(o->compression)));
	if (o->squash)
		json_object_set_new(rec, "squash", json_true());
	if (o->reproducible)
		json_object_set_new(rec, "source_date_epoch",
				    json_integer((json_int_t)o->source_date_epoch));
	return rec;
}

int builder_write_image(struct builder_session *b, const struct builder_stage *st,
			const struct builder_inputs *in, char digest[OCI_DIGEST_SIZE],
			struct petra_error **err)
{
	const struct builder_state *s = &st->state;
	_cleanup_json_ json_t *config = json_deep_copy(s->config);
	if (!json_get_string(config, "created")) {
		char when[40];
		time_format_rfc3339(b->now, when, sizeof(when));
		json_object_set_new(config, "created", json_string(when));
	}
	struct oci_descriptor config_desc;
	int r = petra_store_put_json(b->store, config, OCI_MEDIA_TYPE_CONFIG, &config_desc, err);
	if (r < 0)
		return r;
	struct oci_descriptor *layers = xcalloc(s->n_layers + 1, sizeof(*layers));
	for (size_t i = 0; i < s->n_layers; i++)
		layers[i] = s->layers[i].desc; /* borrowed */
	_cleanup_json_ json_t *ann = json_object();
	json_object_set_new(ann, "org.opencontainers.image.created",
			    json_string(json_get_string(config, "created")));
	if (st->base_name) {
		json_object_set_new(ann, "org.opencontainers.image.base.name",
				    json_string(st->base_name));
		json_object_set_new(ann, "org.opencontainers.image.base.digest",
				    json_string(st->base_digest));
	}
	struct builder_git_info git;
	if (builder_git_describe(in->context_dir, &git, NULL) == 0) {
		if (git.source)
			json_object_set_new(ann, "org.opencontainers.image.source",
					    json_string(git.source));
		if (git.revision)
			json_object_set_new(ann, "org.opencontainers.image.revision",
					    json_string(git.revision));
		builder_git_info_release(&git);
	}
	_cleanup_json_ json_t *manifest =
	    oci_manifest_build(&config_desc, layers, s->n_layers, ann);
	free(layers);
	oci_descriptor_release(&config_desc);
	struct oci_descriptor desc;
	r = petra_store_put_json(b->store, manifest, OCI_MEDIA_TYPE_MANIFEST, &desc, err);
	if (r < 0)
		return r;
	memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	/* Each name's index entry carries the build record, outside the
	 * manifest: a record names paths of this machine, the image's
	 * digest must not. */
	json_t *rec = build_record(b, in);
	size_t len;
	_cleanup_free_ char *rec_text = json_dump_compact(rec, &len);
	json_decref(rec);
	desc.annotations = json_pack("{s:s}", BUILDER_RECORD_ANNOTATION, rec_text);
	for (size_t i = 0; r == 0 && i < b->o->n_tags; i++) {
		struct oci_ref ref;
		r = oci_ref_parse(b->o->tags[i], &ref, err);
		if (r < 0)
			break;
		_cleanup_free_ char *name = oci_ref_format(&ref);
		oci_ref_release(&ref);
		r = petra_store_set_ref(b->store, name, &desc, err);
	}
	oci_descriptor_release(&desc);
	return r;
}
