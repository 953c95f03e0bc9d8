/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image a build ends with: the target's config and manifest, with
 * provenance (base, created, the git source and revision), a name per
 * tag, and the build record (lineage/) as a referrer of the image.
 */
#include "internal.h"
#include "lineage/lineage.h"

#include <fcntl.h>
#include <string.h>

/* The build's record: every image it used (roles as lineage.h names
 * them), the Dockerfile, the context and its git checkout, build args,
 * target and the policy's digest; the rest of the options as parameters. */
static void build_record(struct builder_session *b, const struct builder_stage *st,
			 const struct builder_inputs *in, const struct builder_git_info *git,
			 struct lineage_record *rec)
{
	const struct builder_options *o = b->o;
	memset(rec, 0, sizeof(*rec));
	rec->producer = xstrdup(o->record_producer ? o->record_producer : "build");
	for (size_t i = 0; i < b->n_materials; i++) {
		const struct builder_material *m = &b->materials[i];
		_cleanup_free_ char *role = NULL;
		if (strcmp(m->kind, "from") != 0)
			role = xstrdup(m->kind);
		else if (m->stage == st->base_stage)
			role = xstrdup("base");
		else
			role = xasprintf("stage %s", m->stage_label);
		bool dup = false;
		for (size_t k = 0; k < rec->n_materials && !dup; k++)
			dup = !strcmp(rec->materials[k].role, role) &&
			      !strcmp(rec->materials[k].digest, m->digest);
		if (!dup)
			lineage_record_add_material(rec, role, m->name, m->digest);
	}
	rec->dockerfile_path = xstrdup(in->dockerfile_path);
	snprintf(rec->dockerfile_digest, sizeof(rec->dockerfile_digest), "%s",
		 in->dockerfile_digest);
	rec->context_dir = xstrdup(in->context_dir);
	if (git->source)
		rec->git_remote = xstrdup(git->source);
	if (git->revision)
		rec->git_revision = xstrdup(git->revision);
	if (o->target)
		rec->target = xstrdup(o->target);
	rec->build_args = xcalloc(o->n_build_args + 1, sizeof(char *));
	for (size_t i = 0; i < o->n_build_args; i++) {
		const char *kv = o->build_args[i];
		const char *eq = strchr(kv, '=');
		_cleanup_free_ char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
		const char *v = eq ? eq + 1 : getenv(kv);
		if (v)
			rec->build_args[rec->n_build_args++] = xasprintf("%s=%s", k, v);
	}
	const char *policy_path = o->policy ? petra_policy_path(o->policy) : NULL;
	_cleanup_free_ char *policy_text = NULL;
	size_t policy_len;
	if (policy_path &&
	    fs_read_file_at(AT_FDCWD, policy_path, 1u << 20, &policy_text, &policy_len, NULL) == 0)
		oci_digest_buffer(policy_text, policy_len, rec->policy_digest);
	json_t *params = json_object();
	if (o->n_secrets) { /* their ids: which secrets the build was given */
		json_t *secrets = json_array();
		for (size_t i = 0; i < o->n_secrets; i++)
			json_array_append_new(secrets, json_string(o->secrets[i].id));
		json_object_set_new(params, "secrets", secrets);
	}
	json_object_set_new(params, "compression",
			    json_string(layer_compression_name(o->compression)));
	if (o->squash)
		json_object_set_new(params, "squash", json_true());
	if (o->reproducible)
		json_object_set_new(params, "sourceDateEpoch",
				    json_integer((json_int_t)o->source_date_epoch));
	/* What a rebuild needs to make the same image: every name, a
	 * flow's cleanup commands run on top. */
	if (o->n_tags) {
		json_t *tags = json_array();
		for (size_t i = 0; i < o->n_tags; i++)
			json_array_append_new(tags, json_string(o->tags[i]));
		json_object_set_new(params, "tags", tags);
	}
	if (o->n_extra_run) {
		json_t *extra = json_array();
		for (size_t i = 0; i < o->n_extra_run; i++)
			json_array_append_new(extra, json_string(o->extra_run[i]));
		json_object_set_new(params, "extraRun", extra);
	}
	if (o->record_parameters)
		json_object_update(params, (json_t *)o->record_parameters);
	rec->parameters = params;
	rec->started = b->started;
	rec->finished = time(NULL);
}

/* org.opencontainers.image.base.name as buildah 1.28 writes it: the
 * fully qualified name with its tag, no digest (FROM name@digest gets the
 * image's tagged name). A short name is an image of petra's store only
 * (the builder pulls only names that say their registry), which
 * containers-storage names localhost/NAME.
 *
 * Where buildah differs: a final stage FROM another stage gets, from
 * buildah, the bottom image's name but the digest of the stage's
 * intermediate image (removed after the build, so it names nothing);
 * petra writes the bottom image's digest, which the name goes with. */
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
	/* As buildah 1.28 writes them (tests/system/lineage-records.bats
	 * compares): a final stage FROM scratch gets both, empty. */
	_cleanup_free_ char *base_name = st->base_name ? base_annotation_name(st->base_name) : NULL;
	json_object_set_new(ann, "org.opencontainers.image.base.name",
			    json_string(base_name ? base_name : ""));
	json_object_set_new(ann, "org.opencontainers.image.base.digest",
			    json_string(st->base_name ? st->base_digest : ""));
	struct builder_git_info git = {0};
	if (builder_git_describe(in->context_dir, &git, NULL) == 0) {
		if (git.source)
			json_object_set_new(ann, "org.opencontainers.image.source",
					    json_string(git.source));
		if (git.revision)
			json_object_set_new(ann, "org.opencontainers.image.revision",
					    json_string(git.revision));
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
	for (size_t i = 0; r == 0 && i < b->o->n_tags; i++) {
		struct oci_ref ref;
		r = oci_ref_parse(b->o->tags[i], &ref, err);
		if (r < 0)
			break;
		_cleanup_free_ char *name = oci_ref_format(&ref);
		oci_ref_release(&ref);
		r = petra_store_set_ref(b->store, name, &desc, err);
	}
	/* The record is a referrer of the image, outside its manifest: it
	 * names paths of this machine and times, the image's digest must not. */
	if (r == 0) {
		struct lineage_record rec;
		build_record(b, st, in, &git, &rec);
		if (b->o->n_tags)
			rec.image_name = xstrdup(b->o->tags[0]);
		r = lineage_record_save(b->store, desc.digest, &rec, err);
		lineage_record_release(&rec);
	}
	builder_git_info_release(&git);
	oci_descriptor_release(&desc);
	return r;
}
