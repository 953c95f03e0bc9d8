/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Build records: in-toto statements (https://in-toto.io/Statement/v1) with
 * a SLSA provenance v1 predicate, stored as referrers of the image they
 * describe: an OCI image manifest with artifactType
 * application/vnd.in-toto+json, the empty config, one layer holding the
 * statement, and the image as its subject. A referrer rather than an
 * annotation or a config field: the image's digest stays what the build
 * made (a record names paths of this machine and times), and the record
 * travels where the image goes (push, copy, pull, export/import oci:), where
 * `petra attest` can sign it.
 *
 * The predicate's fields (SLSA provenance v1):
 *   buildDefinition.buildType          LINEAGE_BUILD_TYPE
 *   buildDefinition.externalParameters  producer, dockerfile {path, digest},
 *                                       target, buildArgs {K: V}, context
 *                                       {directory, git {remote, revision}},
 *                                       parameters (the producer's options)
 *   buildDefinition.internalParameters  policy {digest}
 *   buildDefinition.resolvedDependencies every material: uri docker://NAME,
 *                                       name, digest {sha256}, annotations.role
 *   runDetails.builder.id              https://petra.dev/petra@VERSION
 *   runDetails.metadata                startedOn, finishedOn
 */
#include "lineage.h"

#include <string.h>

#define STATEMENT_MAX_SIZE (4u << 20)
#define MANIFEST_MAX_SIZE  (1u << 20)
#define BUILDER_ID         "https://petra.dev/petra@" PETRA_VERSION

void lineage_record_release(struct lineage_record *record)
{
	if (!record)
		return;
	free(record->producer);
	for (size_t i = 0; i < record->n_materials; i++) {
		free(record->materials[i].role);
		free(record->materials[i].name);
	}
	free(record->materials);
	free(record->dockerfile_path);
	free(record->context_dir);
	free(record->git_remote);
	free(record->git_revision);
	for (size_t i = 0; i < record->n_build_args; i++)
		free(record->build_args[i]);
	free(record->build_args);
	free(record->target);
	json_decref(record->parameters);
	free(record->image_name);
	free(record->builder_id);
	memset(record, 0, sizeof(*record));
}

void lineage_record_add_material(struct lineage_record *record, const char *role, const char *name,
				 const char *digest)
{
	record->materials =
	    xrealloc(record->materials, (record->n_materials + 1) * sizeof(*record->materials));
	struct lineage_material *m = &record->materials[record->n_materials++];
	memset(m, 0, sizeof(*m));
	m->role = xstrdup(role);
	m->name = name ? xstrdup(name) : NULL;
	snprintf(m->digest, sizeof(m->digest), "%s", digest ? digest : "");
}

/* {"sha256": "<hex>"} of a digest. */
static json_t *digest_set(const char *digest)
{
	return json_pack("{s:s}", "sha256", oci_digest_hex(digest));
}

json_t *lineage_record_statement(const struct lineage_record *rec, const char *subject_name,
				 const char *subject_digest)
{
	json_t *external = json_object();
	if (rec->producer)
		json_object_set_new(external, "producer", json_string(rec->producer));
	if (rec->dockerfile_path || rec->dockerfile_digest[0]) {
		json_t *df = json_object();
		if (rec->dockerfile_path)
			json_object_set_new(df, "path", json_string(rec->dockerfile_path));
		if (oci_digest_valid(rec->dockerfile_digest))
			json_object_set_new(df, "digest", digest_set(rec->dockerfile_digest));
		json_object_set_new(external, "dockerfile", df);
	}
	if (rec->target)
		json_object_set_new(external, "target", json_string(rec->target));
	if (rec->n_build_args) {
		json_t *args = json_object();
		for (size_t i = 0; i < rec->n_build_args; i++) {
			const char *kv = rec->build_args[i];
			const char *eq = strchr(kv, '=');
			_cleanup_free_ char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
			json_object_set_new(args, k, json_string(eq ? eq + 1 : ""));
		}
		json_object_set_new(external, "buildArgs", args);
	}
	if (rec->context_dir || rec->git_remote || rec->git_revision) {
		json_t *ctx = json_object();
		if (rec->context_dir)
			json_object_set_new(ctx, "directory", json_string(rec->context_dir));
		if (rec->git_remote || rec->git_revision) {
			json_t *git = json_object();
			if (rec->git_remote)
				json_object_set_new(git, "remote", json_string(rec->git_remote));
			if (rec->git_revision)
				json_object_set_new(git, "revision",
						    json_string(rec->git_revision));
			json_object_set_new(ctx, "git", git);
		}
		json_object_set_new(external, "context", ctx);
	}
	if (rec->parameters)
		json_object_set_new(external, "parameters", json_deep_copy(rec->parameters));
	json_t *internal = json_object();
	if (oci_digest_valid(rec->policy_digest))
		json_object_set_new(internal, "policy",
				    json_pack("{s:o}", "digest", digest_set(rec->policy_digest)));
	json_t *deps = json_array();
	for (size_t i = 0; i < rec->n_materials; i++) {
		const struct lineage_material *m = &rec->materials[i];
		json_t *d = json_object();
		if (m->name) {
			json_object_set_new(d, "uri", json_sprintf("docker://%s", m->name));
			json_object_set_new(d, "name", json_string(m->name));
		}
		if (oci_digest_valid(m->digest))
			json_object_set_new(d, "digest", digest_set(m->digest));
		json_object_set_new(d, "annotations", json_pack("{s:s}", "role", m->role));
		json_array_append_new(deps, d);
	}
	char started[40] = "", finished[40];
	if (rec->started)
		time_format_rfc3339(rec->started, started, sizeof(started));
	time_format_rfc3339(rec->finished ? rec->finished : time(NULL), finished, sizeof(finished));
	json_t *metadata = json_object();
	if (started[0])
		json_object_set_new(metadata, "startedOn", json_string(started));
	json_object_set_new(metadata, "finishedOn", json_string(finished));
	json_t *predicate =
	    json_pack("{s:{s:s,s:o,s:o,s:o},s:{s:{s:s},s:o}}", "buildDefinition", "buildType",
		      LINEAGE_BUILD_TYPE, "externalParameters", external, "internalParameters",
		      internal, "resolvedDependencies", deps, "runDetails", "builder", "id",
		      BUILDER_ID, "metadata", metadata);
	const char *name = subject_name ? subject_name : subject_digest;
	return json_pack("{s:s,s:[{s:s,s:o}],s:s,s:o}", "_type", LINEAGE_STATEMENT_TYPE, "subject",
			 "name", name, "digest", digest_set(subject_digest), "predicateType",
			 LINEAGE_PREDICATE_TYPE, "predicate", predicate);
}

/* ---- parsing ---- */

/* The member `key` of obj (at `path`), which must be of `type` when
 * present; required members must be present. */
static int member(const json_t *obj, const char *path, const char *key, json_type type,
		  bool required, json_t **out, struct petra_error **err)
{
	static const char *const names[] = {
	    [JSON_OBJECT] = "an object",   [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
	    [JSON_INTEGER] = "an integer", [JSON_REAL] = "a number",  [JSON_TRUE] = "a boolean",
	    [JSON_FALSE] = "a boolean",    [JSON_NULL] = "null"};
	json_t *v = json_object_get(obj, key);
	*out = v;
	if (!v) {
		if (required)
			return petra_error_set(err, EINVAL, "build record: %s%s%s is missing", path,
					       *path ? "." : "", key);
		return 0;
	}
	if (json_typeof(v) != type)
		return petra_error_set(err, EINVAL, "build record: %s%s%s is not %s", path,
				       *path ? "." : "", key, names[type]);
	return 0;
}

static int member_string(const json_t *obj, const char *path, const char *key, bool required,
			 char **out, struct petra_error **err)
{
	json_t *v;
	int r = member(obj, path, key, JSON_STRING, required, &v, err);
	if (r < 0)
		return r;
	if (v && out)
		*out = xstrdup(json_string_value(v));
	return 0;
}

/* A DigestSet ({"sha256": hex}) into "sha256:hex"; other algorithms are
 * ignored (out stays ""), a malformed sha256 is an error. */
static int member_digest(const json_t *obj, const char *path, const char *key,
			 char out[OCI_DIGEST_SIZE], struct petra_error **err)
{
	json_t *set;
	int r = member(obj, path, key, JSON_OBJECT, false, &set, err);
	if (r < 0 || !set)
		return r;
	_cleanup_free_ char *where = xasprintf("%s%s%s", path, *path ? "." : "", key);
	_cleanup_free_ char *hex = NULL;
	r = member_string(set, where, "sha256", false, &hex, err);
	if (r < 0 || !hex)
		return r;
	_cleanup_free_ char *digest = xasprintf("sha256:%s", hex);
	if (!oci_digest_valid(digest))
		return petra_error_set(err, EINVAL,
				       "build record: %s.sha256 is not a sha256 digest", where);
	snprintf(out, OCI_DIGEST_SIZE, "%s", digest);
	return 0;
}

static int parse_external(const json_t *ext, struct lineage_record *rec, struct petra_error **err)
{
	const char *path = "predicate.buildDefinition.externalParameters";
	int r = member_string(ext, path, "producer", false, &rec->producer, err);
	if (r < 0)
		return r;
	json_t *df, *ctx, *args, *params;
	if ((r = member(ext, path, "dockerfile", JSON_OBJECT, false, &df, err)) < 0)
		return r;
	if (df) {
		_cleanup_free_ char *where = xasprintf("%s.dockerfile", path);
		if ((r = member_string(df, where, "path", false, &rec->dockerfile_path, err)) < 0 ||
		    (r = member_digest(df, where, "digest", rec->dockerfile_digest, err)) < 0)
			return r;
	}
	if ((r = member_string(ext, path, "target", false, &rec->target, err)) < 0)
		return r;
	if ((r = member(ext, path, "buildArgs", JSON_OBJECT, false, &args, err)) < 0)
		return r;
	if (args) {
		rec->build_args = xcalloc(json_object_size(args) + 1, sizeof(char *));
		const char *k;
		json_t *v;
		json_object_foreach(args, k, v)
		{
			if (!json_is_string(v))
				return petra_error_set(
				    err, EINVAL, "build record: %s.buildArgs.%s is not a string",
				    path, k);
			rec->build_args[rec->n_build_args++] =
			    xasprintf("%s=%s", k, json_string_value(v));
		}
	}
	if ((r = member(ext, path, "context", JSON_OBJECT, false, &ctx, err)) < 0)
		return r;
	if (ctx) {
		_cleanup_free_ char *where = xasprintf("%s.context", path);
		json_t *git;
		if ((r = member_string(ctx, where, "directory", false, &rec->context_dir, err)) <
			0 ||
		    (r = member(ctx, where, "git", JSON_OBJECT, false, &git, err)) < 0)
			return r;
		if (git) {
			_cleanup_free_ char *gwhere = xasprintf("%s.git", where);
			if ((r = member_string(git, gwhere, "remote", false, &rec->git_remote,
					       err)) < 0 ||
			    (r = member_string(git, gwhere, "revision", false, &rec->git_revision,
					       err)) < 0)
				return r;
		}
	}
	if ((r = member(ext, path, "parameters", JSON_OBJECT, false, &params, err)) < 0)
		return r;
	if (params)
		rec->parameters = json_incref(params);
	return 0;
}

static int parse_dependencies(const json_t *deps, struct lineage_record *rec,
			      struct petra_error **err)
{
	size_t i;
	json_t *d;
	json_array_foreach(deps, i, d)
	{
		_cleanup_free_ char *where =
		    xasprintf("predicate.buildDefinition.resolvedDependencies[%zu]", i);
		if (!json_is_object(d))
			return petra_error_set(err, EINVAL, "build record: %s is not an object",
					       where);
		_cleanup_free_ char *uri = NULL, *name = NULL, *role = NULL;
		char digest[OCI_DIGEST_SIZE] = "";
		json_t *ann;
		int r;
		if ((r = member_string(d, where, "uri", false, &uri, err)) < 0 ||
		    (r = member_string(d, where, "name", false, &name, err)) < 0 ||
		    (r = member_digest(d, where, "digest", digest, err)) < 0 ||
		    (r = member(d, where, "annotations", JSON_OBJECT, false, &ann, err)) < 0)
			return r;
		if (ann) {
			_cleanup_free_ char *awhere = xasprintf("%s.annotations", where);
			if ((r = member_string(ann, awhere, "role", false, &role, err)) < 0)
				return r;
		}
		if (!name && uri)
			name = xstrdup(strncmp(uri, "docker://", 9) ? uri : uri + 9);
		lineage_record_add_material(rec, role ? role : "", name, digest);
	}
	return 0;
}

static int parse_statement(const json_t *st, struct lineage_record *rec, struct petra_error **err)
{
	if (!json_is_object(st))
		return petra_error_set(err, EINVAL, "build record: not a JSON object");
	_cleanup_free_ char *type = NULL, *predicate_type = NULL;
	int r;
	if ((r = member_string(st, "", "_type", true, &type, err)) < 0 ||
	    (r = member_string(st, "", "predicateType", true, &predicate_type, err)) < 0)
		return r;
	if (strcmp(type, LINEAGE_STATEMENT_TYPE) != 0)
		return petra_error_set(err, EINVAL, "build record: _type is \"%s\", not %s", type,
				       LINEAGE_STATEMENT_TYPE);
	if (strcmp(predicate_type, LINEAGE_PREDICATE_TYPE) != 0)
		return petra_error_set(err, EINVAL, "build record: predicateType is \"%s\", not %s",
				       predicate_type, LINEAGE_PREDICATE_TYPE);
	json_t *subjects, *pred, *def, *ext, *internal, *deps, *run, *builder, *meta;
	if ((r = member(st, "", "subject", JSON_ARRAY, true, &subjects, err)) < 0)
		return r;
	size_t i;
	json_t *subj;
	json_array_foreach(subjects, i, subj)
	{
		_cleanup_free_ char *where = xasprintf("subject[%zu]", i);
		char digest[OCI_DIGEST_SIZE] = "";
		if (!json_is_object(subj))
			return petra_error_set(err, EINVAL, "build record: %s is not an object",
					       where);
		if ((r = member_string(subj, where, "name", false, i == 0 ? &rec->image_name : NULL,
				       err)) < 0 ||
		    (r = member_digest(subj, where, "digest", digest, err)) < 0)
			return r;
	}
	if ((r = member(st, "", "predicate", JSON_OBJECT, true, &pred, err)) < 0 ||
	    (r = member(pred, "predicate", "buildDefinition", JSON_OBJECT, true, &def, err)) < 0)
		return r;
	const char *dpath = "predicate.buildDefinition";
	if ((r = member_string(def, dpath, "buildType", true, NULL, err)) < 0 ||
	    (r = member(def, dpath, "externalParameters", JSON_OBJECT, true, &ext, err)) < 0 ||
	    (r = member(def, dpath, "internalParameters", JSON_OBJECT, false, &internal, err)) <
		0 ||
	    (r = member(def, dpath, "resolvedDependencies", JSON_ARRAY, false, &deps, err)) < 0)
		return r;
	if ((r = parse_external(ext, rec, err)) < 0)
		return r;
	if (internal) {
		json_t *policy;
		const char *ipath = "predicate.buildDefinition.internalParameters";
		if ((r = member(internal, ipath, "policy", JSON_OBJECT, false, &policy, err)) < 0)
			return r;
		if (policy) {
			_cleanup_free_ char *where = xasprintf("%s.policy", ipath);
			if ((r = member_digest(policy, where, "digest", rec->policy_digest, err)) <
			    0)
				return r;
		}
	}
	if (deps && (r = parse_dependencies(deps, rec, err)) < 0)
		return r;
	if ((r = member(pred, "predicate", "runDetails", JSON_OBJECT, false, &run, err)) < 0)
		return r;
	if (!run)
		return 0;
	const char *rpath = "predicate.runDetails";
	if ((r = member(run, rpath, "builder", JSON_OBJECT, false, &builder, err)) < 0 ||
	    (r = member(run, rpath, "metadata", JSON_OBJECT, false, &meta, err)) < 0)
		return r;
	if (builder && (r = member_string(builder, "predicate.runDetails.builder", "id", false,
					  &rec->builder_id, err)) < 0)
		return r;
	if (meta) {
		const char *mpath = "predicate.runDetails.metadata";
		_cleanup_free_ char *started = NULL, *finished = NULL;
		if ((r = member_string(meta, mpath, "startedOn", false, &started, err)) < 0 ||
		    (r = member_string(meta, mpath, "finishedOn", false, &finished, err)) < 0)
			return r;
		if (started && time_parse_rfc3339(started, &rec->started) < 0)
			return petra_error_set(err, EINVAL,
					       "build record: %s.startedOn is not an RFC 3339 time",
					       mpath);
		if (finished && time_parse_rfc3339(finished, &rec->finished) < 0)
			return petra_error_set(
			    err, EINVAL, "build record: %s.finishedOn is not an RFC 3339 time",
			    mpath);
	}
	return 0;
}

int lineage_record_parse(const char *data, size_t len, struct lineage_record *rec,
			 struct petra_error **err)
{
	memset(rec, 0, sizeof(*rec));
	_cleanup_json_ json_t *st = json_parse_buffer(data, len, "build record", err);
	if (!st)
		return -EINVAL;
	int r = parse_statement(st, rec, err);
	if (r < 0)
		lineage_record_release(rec);
	return r;
}

/* ---- the store ---- */

/* The descriptor of the store manifest `digest` (its media type read from
 * it), for the referrer's subject. */
static int subject_descriptor(struct petra_store *store, const char *digest,
			      struct oci_descriptor *desc, struct petra_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = petra_store_read_blob(store, digest, MANIFEST_MAX_SIZE, &data, &len, err);
	if (r < 0)
		return petra_error_prefix(err, "build record of %s", digest);
	_cleanup_json_ json_t *j = json_parse_buffer(data, len, digest, err);
	if (!j)
		return petra_error_prefix(err, "build record of %s", digest);
	const char *mt = json_get_string(j, "mediaType");
	memset(desc, 0, sizeof(*desc));
	desc->media_type = xstrdup(mt ? mt : OCI_MEDIA_TYPE_MANIFEST);
	snprintf(desc->digest, sizeof(desc->digest), "%s", digest);
	desc->size = (int64_t)len;
	return 0;
}

/* A name the store gives the image, or NULL. */
static char *store_name_of(struct petra_store *store, const char *digest)
{
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	char *name = NULL;
	if (petra_store_list(store, &entries, &n, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < n && !name; i++)
		if (entries[i].name && !strcmp(entries[i].desc.digest, digest))
			name = xstrdup(entries[i].name);
	petra_store_entries_free(entries, n);
	return name;
}

int lineage_record_save(struct petra_store *store, const char *subject_digest,
			const struct lineage_record *record, struct petra_error **err)
{
	struct oci_descriptor subject;
	int r = subject_descriptor(store, subject_digest, &subject, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *found_name =
	    record->image_name ? NULL : store_name_of(store, subject_digest);
	const char *name = record->image_name ? record->image_name : found_name;
	_cleanup_json_ json_t *statement = lineage_record_statement(record, name, subject_digest);
	struct oci_descriptor layer, config = {0}, manifest_desc;
	_cleanup_json_ json_t *ann = NULL, *manifest = NULL;
	r = petra_store_put_json(store, statement, LINEAGE_ARTIFACT_TYPE, &layer, err);
	if (r < 0)
		goto out_subject;
	r = petra_store_put_blob(store, OCI_EMPTY_DATA, strlen(OCI_EMPTY_DATA), config.digest, err);
	if (r < 0)
		goto out_layer;
	config.media_type = (char *)OCI_MEDIA_TYPE_EMPTY;
	config.size = (int64_t)strlen(OCI_EMPTY_DATA);
	json_t *finished = json_object_get(
	    json_object_get(json_object_get(json_object_get(statement, "predicate"), "runDetails"),
			    "metadata"),
	    "finishedOn");
	ann = json_pack("{s:s,s:O}", LINEAGE_ANNOTATION_PREDICATE, LINEAGE_PREDICATE_TYPE,
			"org.opencontainers.image.created", finished);
	manifest = oci_manifest_build(&config, &layer, 1, ann);
	json_object_set_new(manifest, "artifactType", json_string(LINEAGE_ARTIFACT_TYPE));
	json_object_set_new(manifest, "subject", oci_descriptor_to_json(&subject));
	r = petra_store_put_json(store, manifest, OCI_MEDIA_TYPE_MANIFEST, &manifest_desc, err);
	if (r < 0)
		goto out_layer;
	manifest_desc.artifact_type = xstrdup(LINEAGE_ARTIFACT_TYPE);
	/* One record per image: an image made again (the same digest) has
	 * the newest; the older ones' blobs go with the next prune. */
	r = petra_store_replace_referrers(store, subject_digest, &manifest_desc, err);
	if (r < 0)
		petra_error_prefix(err, "build record of %s", subject_digest);
	oci_descriptor_release(&manifest_desc);
out_layer:
	oci_descriptor_release(&layer);
out_subject:
	oci_descriptor_release(&subject);
	return r;
}

int lineage_record_read(struct petra_store *store, const char *subject_digest, char **text,
			size_t *len, struct petra_error **err)
{
	*text = NULL;
	struct oci_descriptor *refs = NULL;
	size_t n = 0;
	int r = petra_store_list_referrers(store, subject_digest, LINEAGE_ARTIFACT_TYPE, &refs, &n,
					   err);
	if (r < 0)
		return r;
	if (!n) {
		free(refs);
		return -ENOENT;
	}
	/* The last listed was added last. */
	_cleanup_free_ char *data = NULL;
	size_t data_len;
	struct oci_manifest m = {0};
	r = petra_store_read_blob(store, refs[n - 1].digest, MANIFEST_MAX_SIZE, &data, &data_len,
				  err);
	if (r < 0)
		goto out;
	r = oci_manifest_parse(data, data_len, &m, err);
	if (r < 0)
		goto out;
	const struct oci_descriptor *layer = NULL;
	for (size_t i = 0; i < m.n_layers && !layer; i++)
		if (!strcmp(m.layers[i].media_type, LINEAGE_ARTIFACT_TYPE))
			layer = &m.layers[i];
	if (!layer) {
		r = petra_error_set(err, EINVAL, "no %s layer", LINEAGE_ARTIFACT_TYPE);
		goto out;
	}
	r = petra_store_read_blob(store, layer->digest, STATEMENT_MAX_SIZE, text, len, err);
out:
	if (r < 0)
		petra_error_prefix(err, "build record %s of %s", refs[n - 1].digest,
				   subject_digest);
	oci_manifest_release(&m);
	oci_descriptors_release(refs, n);
	return r;
}

int lineage_record_load(struct petra_store *store, const char *subject_digest,
			struct lineage_record *record, struct petra_error **err)
{
	memset(record, 0, sizeof(*record));
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = lineage_record_read(store, subject_digest, &text, &len, err);
	if (r < 0)
		return r;
	r = lineage_record_parse(text, len, record, err);
	if (r < 0)
		return petra_error_prefix(err, "image %s", subject_digest);
	return 0;
}
