/* SPDX-License-Identifier: Apache-2.0 */
/* Where signatures live: cosign's `.sig` manifests in petra's store, and
 * containers/image's `dir:` layout (manifest.json, signature-N). */
#include "trust.h"
#include "internal.h"
#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_MANIFEST  (4u << 20)
#define MAX_SIGNATURE (4u << 20)

void trust_signatures_release(struct trust_signatures *sigs)
{
	for (size_t i = 0; i < sigs->n; i++) {
		free(sigs->v[i].media_type);
		free(sigs->v[i].payload);
		free(sigs->v[i].signature_b64);
		free(sigs->v[i].source);
		json_decref(sigs->v[i].annotations);
	}
	free(sigs->v);
	memset(sigs, 0, sizeof(*sigs));
}

struct trust_signature *trust_signatures_add(struct trust_signatures *sigs)
{
	xgrow((void **)&sigs->v, &sigs->alloc, sigs->n + 1, sizeof(*sigs->v));
	struct trust_signature *s = &sigs->v[sigs->n++];
	memset(s, 0, sizeof(*s));
	return s;
}

char *trust_signature_tag(const char *repository, const char *manifest_digest)
{
	const char *colon = strchr(manifest_digest, ':');
	return xasprintf("%s:%.*s-%s.sig", repository, (int)(colon ? colon - manifest_digest : 0),
			 manifest_digest, colon ? colon + 1 : manifest_digest);
}

int trust_manifest_digest(const char *manifest, size_t len, char digest[OCI_DIGEST_SIZE],
			  struct petra_error **err)
{
	/* Schema 1 manifests carry their own JWS signatures, which a digest
	 * must strip; petra does not handle schema 1 (nor did the image come
	 * from petra), so a signature cannot be matched to one. */
	_cleanup_json_ json_t *doc = json_loadb(manifest, len, 0, NULL);
	if (doc && json_integer_value(json_object_get(doc, "schemaVersion")) == 1)
		return petra_error_set(err, EINVAL,
				       "manifest: schema 1 (its digest cannot be computed)");
	oci_digest_buffer(manifest, len, digest);
	return 0;
}

static int store_blob_reader(void *store, const char *digest, char **data, size_t *len,
			     struct petra_error **err)
{
	return petra_store_read_blob(store, digest, MAX_SIGNATURE, data, len, err);
}

/* The layers of a `.sig` manifest in the store as signatures. */
static int signatures_from_manifest(struct petra_store *store, const char *sig_ref,
				    const char *data, size_t len, struct trust_signatures *sigs,
				    struct petra_error **err)
{
	return trust_signatures_from_manifest(store_blob_reader, store, sig_ref, data, len, sigs,
					      err);
}

int trust_signatures_from_manifest(trust_blob_reader *read_blob, void *ctx, const char *sig_ref,
				   const char *data, size_t len, struct trust_signatures *sigs,
				   struct petra_error **err)
{
	_cleanup_json_ json_t *doc = json_parse_buffer(data, len, sig_ref, err);
	if (!doc)
		return -1;
	json_t *layers = json_object_get(doc, "layers");
	if (!json_is_array(layers))
		return petra_error_set(err, EINVAL, "%s: layers is not an array", sig_ref);
	size_t i;
	json_t *layer;
	json_array_foreach(layers, i, layer)
	{
		struct oci_descriptor desc;
		if (oci_descriptor_from_json(layer, &desc, err) < 0)
			return petra_error_prefix(err, "%s: layer %zu", sig_ref, i + 1);
		char *payload = NULL;
		size_t payload_len = 0;
		int rc = read_blob(ctx, desc.digest, &payload, &payload_len, err);
		if (rc < 0) {
			oci_descriptor_release(&desc);
			return petra_error_prefix(err, "%s: layer %zu", sig_ref, i + 1);
		}
		struct trust_signature *s = trust_signatures_add(sigs);
		s->kind = TRUST_SIGNATURE_SIGSTORE;
		s->media_type = xstrdup(desc.media_type ? desc.media_type : "");
		s->payload = payload;
		s->payload_len = payload_len;
		const char *b64 = oci_descriptor_annotation(&desc, TRUST_SIGNATURE_ANNOTATION);
		s->signature_b64 = b64 ? xstrdup(b64) : NULL;
		s->annotations = desc.annotations ? json_incref(desc.annotations) : NULL;
		s->source = xasprintf("%s layer %zu", sig_ref, i + 1);
		oci_descriptor_release(&desc);
	}
	return 0;
}

int trust_sig_manifest_read(struct petra_store *store, const char *tag,
			    struct trust_signatures *sigs, struct petra_error **err)
{
	struct oci_descriptor desc;
	struct petra_error *lookup = NULL;
	if (petra_store_resolve(store, tag, &desc, NULL, &lookup) < 0) {
		int code = lookup->code;
		if (code == ENOENT) {
			petra_error_free(lookup);
			return 0;
		}
		*err = lookup;
		return -1;
	}
	_cleanup_free_ char *data = NULL;
	size_t len;
	int rc = petra_store_read_blob(store, desc.digest, MAX_MANIFEST, &data, &len, err);
	oci_descriptor_release(&desc);
	if (rc < 0)
		return petra_error_prefix(err, "%s", tag);
	return signatures_from_manifest(store, tag, data, len, sigs, err);
}

char *trust_gpg_signature_tag(const char *repository, const char *manifest_digest)
{
	const char *colon = strchr(manifest_digest, ':');
	return xasprintf("%s:%.*s-%s.gpgsig", repository,
			 (int)(colon ? colon - manifest_digest : 0), manifest_digest,
			 colon ? colon + 1 : manifest_digest);
}

int trust_store_signatures(struct petra_store *store, const char *repository,
			   const char *manifest_digest, struct trust_signatures *sigs,
			   struct petra_error **err)
{
	_cleanup_free_ char *sig_ref = trust_signature_tag(repository, manifest_digest);
	if (trust_sig_manifest_read(store, sig_ref, sigs, err) < 0)
		return -1;
	/* GPG signatures: whole OpenPGP messages as the layers' blobs. */
	size_t first = sigs->n;
	_cleanup_free_ char *gpg_ref = trust_gpg_signature_tag(repository, manifest_digest);
	if (trust_sig_manifest_read(store, gpg_ref, sigs, err) < 0)
		return -1;
	for (size_t i = first; i < sigs->n; i++) {
		struct trust_signature *s = &sigs->v[i];
		s->kind = TRUST_SIGNATURE_GPG;
		free(s->signature_b64);
		s->signature_b64 = NULL;
	}
	return 0;
}

int trust_gpg_sign_image(const char *fingerprint, const char *reference, const char *digest,
			 const json_t *annotations, char **message, size_t *message_len,
			 struct petra_error **err)
{
	/* As containers/image writes them: creator and timestamp. */
	_cleanup_json_ json_t *optional = annotations ? json_deep_copy(annotations) : json_object();
	json_object_set_new(optional, "creator", json_string("petra " PETRA_VERSION));
	json_object_set_new(optional, "timestamp", json_integer((json_int_t)time(NULL)));
	size_t payload_len;
	_cleanup_free_ char *payload = trust_payload_build_type(TRUST_GPG_PAYLOAD_TYPE, reference,
								digest, optional, &payload_len);
	return trust_gpg_sign(fingerprint, payload, payload_len, message, message_len, err);
}

int trust_store_add_gpg_signature(struct petra_store *store, const char *image, const void *message,
				  size_t len, size_t *n_signatures, struct petra_error **err)
{
	struct oci_descriptor desc;
	_cleanup_free_ char *name = NULL;
	if (petra_store_resolve(store, image, &desc, &name, err) < 0)
		return -1;
	_cleanup_free_ char *repository = trust_repository_of(name ? name : image);
	_cleanup_free_ char *tag = trust_gpg_signature_tag(repository, desc.digest);
	oci_descriptor_release(&desc);
	return trust_sig_manifest_append(store, tag, TRUST_GPG_SIGNATURE_MEDIA_TYPE, message, len,
					 NULL, n_signatures, err);
}

int trust_store_sign_gpg(struct petra_store *store, const char *fingerprint, const char *image,
			 const char *identity, const json_t *annotations, struct trust_signed *out,
			 struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	struct oci_descriptor desc;
	_cleanup_free_ char *name = NULL;
	if (petra_store_resolve(store, image, &desc, &name, err) < 0)
		return -1;
	memcpy(out->manifest_digest, desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&desc);
	if (!name && !identity)
		return petra_error_set(err, EINVAL,
				       "image %s has no name: give the identity to sign", image);
	_cleanup_free_ char *repository = trust_repository_of(name ? name : identity);
	int rc = trust_normalise_ref(identity ? identity : name, &out->identity, err);
	char *message = NULL;
	size_t len = 0;
	if (rc == 0)
		rc = trust_gpg_sign_image(fingerprint, out->identity, out->manifest_digest,
					  annotations, &message, &len, err);
	if (rc == 0) {
		out->signature_ref = trust_gpg_signature_tag(repository, out->manifest_digest);
		rc = trust_sig_manifest_append(store, out->signature_ref,
					       TRUST_GPG_SIGNATURE_MEDIA_TYPE, message, len, NULL,
					       &out->n_signatures, err);
	}
	free(message);
	if (rc < 0)
		trust_signed_release(out);
	return rc;
}

void trust_signed_release(struct trust_signed *signed_)
{
	free(signed_->identity);
	free(signed_->signature_ref);
	memset(signed_, 0, sizeof(*signed_));
}

char *trust_repository_of(const char *name)
{
	const char *at = strchr(name, '@');
	size_t len = at ? (size_t)(at - name) : strlen(name);
	const char *slash = memrchr(name, '/', len);
	const char *colon =
	    memrchr(slash ? slash : name, ':', len - (size_t)((slash ? slash : name) - name));
	if (colon)
		len = (size_t)(colon - name);
	return xstrndup(name, len);
}

int trust_normalise_ref(const char *text, char **out, struct petra_error **err)
{
	struct policy_ref ref;
	if (policy_ref_parse(text, &ref, err) < 0)
		return -1;
	*out = policy_ref_format(&ref, 0);
	policy_ref_release(&ref);
	return 0;
}

json_t *trust_sig_config(const json_t *layers)
{
	/* A config as cosign writes one: the layers as diff_ids, no platform. */
	json_t *diff_ids = json_array();
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) json_array_append(diff_ids, json_object_get(l, "digest"));
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:o},s:{}}", "architecture", "", "created",
			 "0001-01-01T00:00:00Z", "os", "", "rootfs", "type", "layers", "diff_ids",
			 diff_ids, "config");
}

json_t *trust_sig_manifest(const struct oci_descriptor *config, const json_t *layers)
{
	return json_pack("{s:i,s:s,s:o,s:O}", "schemaVersion", 2, "mediaType",
			 OCI_MEDIA_TYPE_MANIFEST, "config", oci_descriptor_to_json(config),
			 "layers", layers);
}

int trust_sig_manifest_write(struct petra_store *store, const char *sig_ref, json_t *layers,
			     struct petra_error **err)
{
	_cleanup_json_ json_t *config = trust_sig_config(layers);
	struct oci_descriptor config_desc = {0};
	if (petra_store_put_json(store, config, OCI_MEDIA_TYPE_CONFIG, &config_desc, err) < 0)
		return -1;
	_cleanup_json_ json_t *manifest = trust_sig_manifest(&config_desc, layers);
	oci_descriptor_release(&config_desc);
	struct oci_descriptor manifest_desc = {0};
	if (petra_store_put_json(store, manifest, OCI_MEDIA_TYPE_MANIFEST, &manifest_desc, err) < 0)
		return -1;
	int rc = petra_store_set_ref(store, sig_ref, &manifest_desc, err);
	oci_descriptor_release(&manifest_desc);
	return rc;
}

int trust_sig_manifest_append(struct petra_store *store, const char *tag, const char *media_type,
			      const void *blob, size_t len, const json_t *annotations,
			      size_t *n_layers, struct petra_error **err)
{
	_cleanup_json_ json_t *layers = json_array();
	struct oci_descriptor desc;
	struct petra_error *lookup = NULL;
	if (petra_store_resolve(store, tag, &desc, NULL, &lookup) == 0) {
		_cleanup_free_ char *data = NULL;
		size_t dlen;
		int rc = petra_store_read_blob(store, desc.digest, MAX_MANIFEST, &data, &dlen, err);
		oci_descriptor_release(&desc);
		if (rc < 0)
			return -1;
		_cleanup_json_ json_t *doc = json_parse_buffer(data, dlen, tag, err);
		json_t *old = doc ? json_object_get(doc, "layers") : NULL;
		if (!json_is_array(old))
			return doc ? petra_error_set(err, EINVAL, "%s: layers is not an array", tag)
				   : -1;
		json_array_extend(layers, old);
	} else if (lookup->code != ENOENT) {
		*err = lookup;
		return -1;
	} else {
		petra_error_free(lookup);
	}
	struct oci_descriptor layer = {.media_type = (char *)media_type,
				       .size = (int64_t)len,
				       .annotations = (json_t *)annotations};
	if (petra_store_put_blob(store, blob, len, layer.digest, err) < 0)
		return -1;
	/* The same blob with the same annotations is there already. */
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l)
	{
		const char *d = json_get_string(l, "digest");
		json_t *a = json_object_get(l, "annotations");
		if (d && !strcmp(d, layer.digest) &&
		    (a == annotations || (a && annotations && json_equal(a, annotations)))) {
			*n_layers = json_array_size(layers);
			return 0;
		}
	}
	json_array_append_new(layers, oci_descriptor_to_json(&layer));
	*n_layers = json_array_size(layers);
	return trust_sig_manifest_write(store, tag, layers, err);
}

static int store_sign(struct petra_store *store, const struct trust_key *key, const char *image,
		      const char *identity, const json_t *annotations, struct trust_signed *out,
		      struct petra_error **err)
{
	struct oci_descriptor image_desc;
	_cleanup_free_ char *name = NULL;
	if (petra_store_resolve(store, image, &image_desc, &name, err) < 0)
		return -1;
	memcpy(out->manifest_digest, image_desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&image_desc);
	if (!name && !identity)
		return petra_error_set(err, EINVAL,
				       "image %s has no name: give the identity to sign", image);
	_cleanup_free_ char *repository = trust_repository_of(name ? name : identity);
	if (trust_normalise_ref(identity ? identity : name, &out->identity, err) < 0)
		return -1;
	out->signature_ref = trust_signature_tag(repository, out->manifest_digest);

	size_t payload_len;
	_cleanup_free_ char *payload =
	    trust_payload_build(out->identity, out->manifest_digest, annotations, &payload_len);
	_cleanup_free_ char *signature = NULL;
	if (trust_sign(key, payload, payload_len, &signature, err) < 0)
		return -1;

	/* Accumulate: the layers already there, unless one holds this very
	 * payload signed by this key (ECDSA signatures differ every time). */
	_cleanup_json_ json_t *layers = json_array();
	struct oci_descriptor sig_desc;
	struct petra_error *lookup = NULL;
	if (petra_store_resolve(store, out->signature_ref, &sig_desc, NULL, &lookup) == 0) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		int rc =
		    petra_store_read_blob(store, sig_desc.digest, MAX_MANIFEST, &data, &len, err);
		oci_descriptor_release(&sig_desc);
		if (rc < 0)
			return -1;
		_cleanup_json_ json_t *doc = json_parse_buffer(data, len, out->signature_ref, err);
		json_t *old = doc ? json_object_get(doc, "layers") : NULL;
		if (!json_is_array(old)) {
			if (doc)
				petra_error_set(err, EINVAL, "%s: layers is not an array",
						out->signature_ref);
			return -1;
		}
		json_array_extend(layers, old);
		struct trust_signatures sigs = {0};
		if (signatures_from_manifest(store, out->signature_ref, data, len, &sigs, err) < 0)
			return -1;
		bool already = false;
		for (size_t i = 0; i < sigs.n && !already; i++)
			already = sigs.v[i].payload_len == payload_len &&
				  !memcmp(sigs.v[i].payload, payload, payload_len) &&
				  trust_verify(key, payload, payload_len, sigs.v[i].signature_b64);
		trust_signatures_release(&sigs);
		if (already) {
			out->n_signatures = json_array_size(layers);
			return 0;
		}
	} else if (lookup->code != ENOENT) {
		*err = lookup;
		return -1;
	} else {
		petra_error_free(lookup);
	}

	struct oci_descriptor layer = {.media_type = TRUST_SIMPLESIGNING_MEDIA_TYPE};
	if (petra_store_put_blob(store, payload, payload_len, layer.digest, err) < 0)
		return -1;
	layer.size = (int64_t)payload_len;
	layer.annotations = json_pack("{s:s}", TRUST_SIGNATURE_ANNOTATION, signature);
	json_array_append_new(layers, oci_descriptor_to_json(&layer));
	json_decref(layer.annotations);

	if (trust_sig_manifest_write(store, out->signature_ref, layers, err) < 0)
		return -1;
	out->n_signatures = json_array_size(layers);
	return 0;
}

int trust_store_sign(struct petra_store *store, const struct trust_key *key, const char *image,
		     const char *identity, const json_t *annotations, struct trust_signed *out,
		     struct petra_error **err)
{
	memset(out, 0, sizeof(*out));
	if (store_sign(store, key, image, identity, annotations, out, err) < 0) {
		trust_signed_release(out);
		return -1;
	}
	return 0;
}

/* ---- dir: ---------------------------------------------------------------- */

/* One signature-N file: sigstore JSON after its prefix, else GPG. */
int trust_signature_file_parse(const char *data, size_t len, const char *source,
			       struct trust_signatures *sigs, struct petra_error **err)
{
	struct trust_signature *s = trust_signatures_add(sigs);
	s->source = xstrdup(source);
	if (len >= TRUST_SIGSTORE_FILE_PREFIX_LEN &&
	    !memcmp(data, TRUST_SIGSTORE_FILE_PREFIX, TRUST_SIGSTORE_FILE_PREFIX_LEN)) {
		s->kind = TRUST_SIGNATURE_SIGSTORE;
		_cleanup_json_ json_t *doc =
		    json_parse_buffer(data + TRUST_SIGSTORE_FILE_PREFIX_LEN,
				      len - TRUST_SIGSTORE_FILE_PREFIX_LEN, source, err);
		if (!doc)
			return -1;
		const char *mime = json_get_string(doc, "mimeType");
		const char *payload_b64 = json_get_string(doc, "payload");
		if (!mime || !payload_b64)
			return petra_error_set(err, EINVAL, "%s: no mimeType or payload", source);
		unsigned char *payload;
		if (trust_base64_decode(payload_b64, strlen(payload_b64), &payload,
					&s->payload_len) < 0)
			return petra_error_set(err, EINVAL, "%s: payload is not base64", source);
		s->payload = (char *)payload;
		s->media_type = xstrdup(mime);
		json_t *annotations = json_object_get(doc, "annotations");
		const char *b64 = json_get_string(annotations, TRUST_SIGNATURE_ANNOTATION);
		s->signature_b64 = b64 ? xstrdup(b64) : NULL;
		s->annotations = json_is_object(annotations) ? json_incref(annotations) : NULL;
		return 0;
	}
	s->kind = TRUST_SIGNATURE_GPG;
	s->payload = xmalloc(len ? len : 1);
	memcpy(s->payload, data, len);
	s->payload_len = len;
	return 0;
}

int trust_dir_load(const char *path, char **manifest, size_t *manifest_len,
		   struct trust_signatures *sigs, struct petra_error **err)
{
	_cleanup_close_ int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return petra_error_set_errno(err, errno, "dir:%s", path);
	for (unsigned n = 1;; n++) {
		_cleanup_free_ char *name = xasprintf("signature-%u", n);
		_cleanup_free_ char *data = NULL;
		size_t len;
		struct petra_error *read_err = NULL;
		if (fs_read_file_at(dirfd, name, MAX_SIGNATURE, &data, &len, &read_err) < 0) {
			if (read_err->code == ENOENT) {
				petra_error_free(read_err);
				break;
			}
			*err = read_err;
			return petra_error_prefix(err, "dir:%s", path);
		}
		_cleanup_free_ char *source = xasprintf("dir:%s/%s", path, name);
		if (trust_signature_file_parse(data, len, source, sigs, err) < 0)
			return -1;
	}
	if (fs_read_file_at(dirfd, "manifest.json", MAX_MANIFEST, manifest, manifest_len, err) < 0)
		return petra_error_prefix(err, "dir:%s", path);
	return 0;
}

/* The next free signature-N of a dir: layout, created exclusively. */
static int dir_write_signature(int dirfd, const char *path, const void *data, size_t len,
			       char **written, struct petra_error **err)
{
	for (unsigned n = 1; n < 100000; n++) {
		_cleanup_free_ char *name = xasprintf("signature-%u", n);
		_cleanup_close_ int fd =
		    openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return petra_error_set_errno(err, errno, "dir:%s/%s", path, name);
		if (fs_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
			int e = errno;
			unlinkat(dirfd, name, 0);
			return petra_error_set_errno(err, e, "dir:%s/%s", path, name);
		}
		*written = xasprintf("%s/%s", path, name);
		return 0;
	}
	return petra_error_set(err, ENOSPC, "dir:%s: too many signatures", path);
}

int trust_dir_sign(const char *path, const struct trust_key *key, const char *gpg_fingerprint,
		   const char *identity, const json_t *annotations, char **written,
		   struct petra_error **err)
{
	_cleanup_close_ int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return petra_error_set_errno(err, errno, "dir:%s", path);
	_cleanup_free_ char *manifest = NULL;
	size_t len;
	if (fs_read_file_at(dirfd, "manifest.json", MAX_MANIFEST, &manifest, &len, err) < 0)
		return petra_error_prefix(err, "dir:%s", path);
	char digest[OCI_DIGEST_SIZE];
	if (trust_manifest_digest(manifest, len, digest, err) < 0)
		return petra_error_prefix(err, "dir:%s", path);
	_cleanup_free_ char *ref = NULL;
	if (trust_normalise_ref(identity, &ref, err) < 0)
		return -1;
	struct strbuf file = STRBUF_INIT;
	int rc = 0;
	if (gpg_fingerprint) {
		char *message = NULL;
		size_t message_len;
		rc = trust_gpg_sign_image(gpg_fingerprint, ref, digest, annotations, &message,
					  &message_len, err);
		if (rc == 0)
			strbuf_add(&file, message, message_len);
		free(message);
	} else {
		size_t payload_len;
		_cleanup_free_ char *payload =
		    trust_payload_build(ref, digest, annotations, &payload_len);
		_cleanup_free_ char *signature = NULL;
		rc = trust_sign(key, payload, payload_len, &signature, err);
		if (rc == 0) {
			_cleanup_free_ char *payload_b64 =
			    trust_base64_encode(payload, payload_len);
			_cleanup_json_ json_t *doc =
			    json_pack("{s:s,s:s,s:{s:s}}", "mimeType",
				      TRUST_SIMPLESIGNING_MEDIA_TYPE, "payload", payload_b64,
				      "annotations", TRUST_SIGNATURE_ANNOTATION, signature);
			size_t doc_len;
			_cleanup_free_ char *text = json_dump_compact(doc, &doc_len);
			strbuf_add(&file, TRUST_SIGSTORE_FILE_PREFIX,
				   TRUST_SIGSTORE_FILE_PREFIX_LEN);
			strbuf_add(&file, text, doc_len);
		}
	}
	if (rc == 0)
		rc = dir_write_signature(dirfd, path, file.buf, file.len, written, err);
	strbuf_release(&file);
	return rc;
}

/* ---- carrying signatures between the store and dir: ---------------------- */

/* The image's name, digest and signature manifest name in the store. */
static int resolve_signed(struct petra_store *store, const char *image, char **name,
			  char digest[OCI_DIGEST_SIZE], char **sig_ref, struct petra_error **err)
{
	struct oci_descriptor desc;
	if (petra_store_resolve(store, image, &desc, name, err) < 0)
		return -1;
	memcpy(digest, desc.digest, OCI_DIGEST_SIZE);
	oci_descriptor_release(&desc);
	if (!*name)
		return petra_error_set(err, EINVAL, "image %s has no name to keep signatures under",
				       image);
	_cleanup_free_ char *repository = trust_repository_of(*name);
	*sig_ref = trust_signature_tag(repository, digest);
	return 0;
}

int trust_dir_export_signatures(struct petra_store *store, const char *image, const char *path,
				size_t *written, struct petra_error **err)
{
	*written = 0;
	_cleanup_free_ char *name = NULL, *sig_ref = NULL;
	char digest[OCI_DIGEST_SIZE];
	if (resolve_signed(store, image, &name, digest, &sig_ref, err) < 0)
		return -1;
	_cleanup_free_ char *repository = trust_repository_of(name);
	struct trust_signatures sigs = {0};
	if (trust_store_signatures(store, repository, digest, &sigs, err) < 0)
		return -1;
	_cleanup_close_ int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = dirfd < 0 ? petra_error_set_errno(err, errno, "dir:%s", path) : 0;
	for (size_t i = 0; i < sigs.n && rc == 0; i++) {
		if (sigs.v[i].kind == TRUST_SIGNATURE_GPG) {
			/* An OpenPGP message is the whole file. */
			_cleanup_free_ char *where = NULL;
			rc = dir_write_signature(dirfd, path, sigs.v[i].payload,
						 sigs.v[i].payload_len, &where, err);
			if (rc == 0)
				(*written)++;
			continue;
		}
		_cleanup_free_ char *payload_b64 =
		    trust_base64_encode(sigs.v[i].payload, sigs.v[i].payload_len);
		_cleanup_json_ json_t *doc = json_pack(
		    "{s:s,s:s,s:O}", "mimeType", sigs.v[i].media_type, "payload", payload_b64,
		    "annotations", sigs.v[i].annotations ? sigs.v[i].annotations : json_object());
		size_t len;
		_cleanup_free_ char *text = json_dump_compact(doc, &len);
		struct strbuf file = STRBUF_INIT;
		strbuf_add(&file, TRUST_SIGSTORE_FILE_PREFIX, TRUST_SIGSTORE_FILE_PREFIX_LEN);
		strbuf_add(&file, text, len);
		_cleanup_free_ char *where = NULL;
		rc = dir_write_signature(dirfd, path, file.buf, file.len, &where, err);
		strbuf_release(&file);
		if (rc == 0)
			(*written)++;
	}
	trust_signatures_release(&sigs);
	return rc;
}

int trust_dir_import_signatures(struct petra_store *store, const char *path, const char *image,
				size_t *added, struct petra_error **err)
{
	*added = 0;
	_cleanup_free_ char *name = NULL, *sig_ref = NULL;
	char digest[OCI_DIGEST_SIZE];
	if (resolve_signed(store, image, &name, digest, &sig_ref, err) < 0)
		return -1;
	_cleanup_free_ char *manifest = NULL;
	size_t len;
	struct trust_signatures incoming = {0}, present = {0};
	char dir_digest[OCI_DIGEST_SIZE];
	_cleanup_free_ char *repository = trust_repository_of(name);
	int rc = trust_dir_load(path, &manifest, &len, &incoming, err);
	if (rc == 0)
		rc = trust_manifest_digest(manifest, len, dir_digest, err);
	if (rc == 0 && strcmp(dir_digest, digest))
		rc = petra_error_set(err, EINVAL, "dir:%s holds image %s, not %s", path, dir_digest,
				     digest);
	if (rc == 0)
		rc = trust_store_signatures(store, repository, digest, &present, err);
	_cleanup_json_ json_t *layers = json_array();
	size_t present_sigstore = 0;
	for (size_t k = 0; k < present.n; k++)
		present_sigstore += present.v[k].kind == TRUST_SIGNATURE_SIGSTORE;
	if (rc == 0 && present_sigstore) {
		/* The manifest's layers as they are, new ones after them. */
		struct oci_descriptor d;
		_cleanup_free_ char *data = NULL;
		size_t dlen;
		rc = petra_store_resolve(store, sig_ref, &d, NULL, err);
		if (rc == 0) {
			rc =
			    petra_store_read_blob(store, d.digest, MAX_MANIFEST, &data, &dlen, err);
			oci_descriptor_release(&d);
		}
		_cleanup_json_ json_t *doc =
		    rc == 0 ? json_parse_buffer(data, dlen, sig_ref, err) : NULL;
		if (!doc)
			rc = -1;
		else
			json_array_extend(layers, json_object_get(doc, "layers"));
	}
	for (size_t i = 0; i < incoming.n && rc == 0; i++) {
		const struct trust_signature *s = &incoming.v[i];
		if (s->kind == TRUST_SIGNATURE_GPG) {
			/* Into the image's .gpgsig manifest (the same message
			 * is not added twice). */
			size_t before = 0, after = 0;
			_cleanup_free_ char *gpg_ref = trust_gpg_signature_tag(repository, digest);
			struct trust_signatures now = {0};
			rc = trust_sig_manifest_read(store, gpg_ref, &now, err);
			before = now.n;
			trust_signatures_release(&now);
			if (rc == 0)
				rc = trust_sig_manifest_append(
				    store, gpg_ref, TRUST_GPG_SIGNATURE_MEDIA_TYPE, s->payload,
				    s->payload_len, NULL, &after, err);
			if (rc == 0 && after > before)
				(*added)++;
			continue;
		}
		bool known = false;
		for (size_t k = 0; k < present.n && !known; k++)
			known = present.v[k].payload_len == s->payload_len &&
				!memcmp(present.v[k].payload, s->payload, s->payload_len) &&
				(present.v[k].annotations == s->annotations ||
				 json_equal(present.v[k].annotations, s->annotations));
		if (known)
			continue;
		struct oci_descriptor layer = {.media_type = s->media_type,
					       .size = (int64_t)s->payload_len,
					       .annotations = s->annotations};
		rc = petra_store_put_blob(store, s->payload, s->payload_len, layer.digest, err);
		if (rc == 0) {
			json_array_append_new(layers, oci_descriptor_to_json(&layer));
			(*added)++;
		}
	}
	if (rc == 0 && *added)
		rc = trust_sig_manifest_write(store, sig_ref, layers, err);
	trust_signatures_release(&incoming);
	trust_signatures_release(&present);
	return rc;
}
