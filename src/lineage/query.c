/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lineage queries: which images derive from a base, and what an image was
 * made from. The images are read once (manifest, config, record,
 * annotations) into a lineage_images set; the queries then work on that
 * set in memory, with indexes sorted once, so a store of a thousand images
 * costs a thousand small reads, not a thousand times that.
 */
#include "lineage.h"

#include "image/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define LINEAGE_ANNOTATION_BASE_DIGEST "org.opencontainers.image.base.digest"
#define LINEAGE_ANNOTATION_BASE_NAME   "org.opencontainers.image.base.name"
#define LINEAGE_LABEL_HARDENED_FROM    "org.petra.hardened.from"
#define LINEAGE_BLOB_MAX               (16u << 20)

/* ---- the image set ------------------------------------------------------ */

static void lineage_image_clear(struct lineage_image *im)
{
	strvec_clear(&im->names);
	strvec_clear(&im->diff_ids);
	if (im->has_record)
		lineage_record_release(&im->record);
	free(im->base_name);
	memset(im, 0, sizeof(*im));
}

void lineage_images_release(struct lineage_images *images)
{
	for (size_t i = 0; i < images->n; i++)
		lineage_image_clear(&images->v[i]);
	free(images->v);
	images->v = NULL;
	images->n = 0;
}

static void copy_digest(char dst[OCI_DIGEST_SIZE], const char *src)
{
	dst[0] = '\0';
	if (src && oci_digest_valid(src))
		snprintf(dst, OCI_DIGEST_SIZE, "%s", src);
}

/* What the manifest and config say: layers, base annotations, the
 * hardened-from label. */
static void image_fill(struct lineage_image *im, const json_t *manifest, const json_t *config)
{
	json_t *annotations = json_object_get(manifest, "annotations");
	copy_digest(im->base_digest, json_get_string(annotations, LINEAGE_ANNOTATION_BASE_DIGEST));
	const char *base_name = json_get_string(annotations, LINEAGE_ANNOTATION_BASE_NAME);
	/* buildah writes an empty one for a final stage FROM scratch. */
	im->base_name = base_name && *base_name ? xstrdup(base_name) : NULL;
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	size_t i;
	json_t *v;
	json_array_foreach(diff_ids, i, v) if (json_is_string(v))
	    strvec_push(&im->diff_ids, json_string_value(v));
	json_t *labels = json_object_get(json_object_get(config, "config"), "Labels");
	copy_digest(im->hardened_from, json_get_string(labels, LINEAGE_LABEL_HARDENED_FROM));
}

/* Entries by digest, then in index order (the pointers are into one
 * array): an image's names keep the index's order. */
static int cmp_entry_digest(const void *a, const void *b)
{
	const struct petra_store_entry *x = *(const struct petra_store_entry *const *)a;
	const struct petra_store_entry *y = *(const struct petra_store_entry *const *)b;
	int c = strcmp(x->desc.digest, y->desc.digest);
	return c ? c : (x > y) - (x < y);
}

struct image_position {
	struct lineage_image image;
	size_t first; /* its first entry in the index */
};

static int cmp_position(const void *a, const void *b)
{
	size_t x = ((const struct image_position *)a)->first;
	size_t y = ((const struct image_position *)b)->first;
	return (x > y) - (x < y);
}

/* The build record a referrer manifest carries (its in-toto layer), and
 * the subject it describes. */
static int record_from_referrer(struct petra_store *store, const char *referrer,
				char subject[OCI_DIGEST_SIZE], struct lineage_record *record,
				struct petra_error **err)
{
	_cleanup_free_ char *data = NULL, *text = NULL;
	size_t len, text_len;
	if (petra_store_read_blob(store, referrer, LINEAGE_BLOB_MAX, &data, &len, err) < 0)
		return -1;
	_cleanup_json_ json_t *manifest = json_parse_buffer(data, len, "referrer", err);
	if (!manifest)
		return -1;
	copy_digest(subject, json_get_string(json_object_get(manifest, "subject"), "digest"));
	const char *statement = NULL;
	size_t i;
	json_t *layer;
	json_array_foreach(json_object_get(manifest, "layers"), i, layer)
	{
		const char *mt = json_get_string(layer, "mediaType");
		if (!statement && mt && !strcmp(mt, LINEAGE_ARTIFACT_TYPE))
			statement = json_get_string(layer, "digest");
	}
	if (!subject[0] || !statement || !oci_digest_valid(statement))
		return petra_error_set(err, EINVAL, "no subject or no %s layer",
				       LINEAGE_ARTIFACT_TYPE);
	if (petra_store_read_blob(store, statement, LINEAGE_BLOB_MAX, &text, &text_len, err) < 0)
		return -1;
	return lineage_record_parse(text, text_len, record, err);
}

struct subject_record {
	char subject[OCI_DIGEST_SIZE];
	char referrer[OCI_DIGEST_SIZE];
	struct lineage_record record;
	bool used;
};

/* What an earlier cache knew (its key no longer matching): manifests and
 * referrers are content-addressed, so what it says of a digest still
 * holds. Sorted by manifest digest, and by record digest. */
struct memo {
	struct lineage_images images;
	const struct lineage_image **by_record;
	size_t n_by_record;
};

static int cmp_image_digest(const void *a, const void *b)
{
	return strcmp(((const struct lineage_image *)a)->digest,
		      ((const struct lineage_image *)b)->digest);
}

static int cmp_image_record(const void *a, const void *b)
{
	return strcmp((*(const struct lineage_image *const *)a)->record_digest,
		      (*(const struct lineage_image *const *)b)->record_digest);
}

static void memo_index(struct memo *m)
{
	qsort(m->images.v, m->images.n, sizeof(*m->images.v), cmp_image_digest);
	m->by_record = xcalloc(m->images.n + 1, sizeof(*m->by_record));
	for (size_t i = 0; i < m->images.n; i++)
		if (m->images.v[i].has_record && m->images.v[i].record_digest[0])
			m->by_record[m->n_by_record++] = &m->images.v[i];
	qsort(m->by_record, m->n_by_record, sizeof(*m->by_record), cmp_image_record);
}

static void memo_release(struct memo *m)
{
	lineage_images_release(&m->images);
	free(m->by_record);
}

static const struct lineage_image *memo_image(const struct memo *m, const char *digest)
{
	if (!m->images.n)
		return NULL;
	struct lineage_image key;
	snprintf(key.digest, sizeof(key.digest), "%s", digest);
	return bsearch(&key, m->images.v, m->images.n, sizeof(key), cmp_image_digest);
}

static const struct lineage_image *memo_record(const struct memo *m, const char *referrer)
{
	if (!m->n_by_record)
		return NULL;
	struct lineage_image key;
	snprintf(key.record_digest, sizeof(key.record_digest), "%s", referrer);
	const struct lineage_image *pkey = &key;
	const struct lineage_image **found =
	    bsearch(&pkey, m->by_record, m->n_by_record, sizeof(pkey), cmp_image_record);
	return found ? *found : NULL;
}

static void copy_record(struct lineage_record *dst, const struct lineage_record *src)
{
	*dst = (struct lineage_record){.producer = xstrdup(src->producer ? src->producer : "")};
	for (size_t m = 0; m < src->n_materials; m++)
		lineage_record_add_material(dst, src->materials[m].role, src->materials[m].name,
					    src->materials[m].digest);
}

static int cmp_subject_record(const void *a, const void *b)
{
	return strcmp(((const struct subject_record *)a)->subject,
		      ((const struct subject_record *)b)->subject);
}

/* Every build record of the store, newest per subject, sorted by subject:
 * one read of the index rather than one per image. */
static int load_records(struct petra_store *store, const struct memo *memo,
			struct subject_record **out, size_t *n_out, struct petra_error **err)
{
	*out = NULL;
	*n_out = 0;
	struct oci_descriptor *refs = NULL;
	size_t n = 0;
	if (petra_store_list_referrers(store, NULL, LINEAGE_ARTIFACT_TYPE, &refs, &n, err) < 0)
		return -1;
	struct subject_record *v = xcalloc(n ? n : 1, sizeof(*v));
	size_t kept = 0;
	int r = 0;
	/* The last listed was added last: it wins (read from the end). */
	for (size_t i = n; i-- > 0 && r == 0;) {
		struct subject_record *sr = &v[kept];
		snprintf(sr->referrer, sizeof(sr->referrer), "%s", refs[i].digest);
		const struct lineage_image *known = memo_record(memo, refs[i].digest);
		if (known) {
			snprintf(sr->subject, sizeof(sr->subject), "%s", known->digest);
			copy_record(&sr->record, &known->record);
		} else if (record_from_referrer(store, refs[i].digest, sr->subject, &sr->record,
						err) < 0) {
			r = petra_error_prefix(err, "build record %s", refs[i].digest);
			break;
		}
		bool seen = false;
		for (size_t k = 0; k < kept && !seen; k++)
			seen = !strcmp(v[k].subject, sr->subject);
		if (seen)
			lineage_record_release(&sr->record);
		else
			kept++;
	}
	oci_descriptors_release(refs, n);
	if (r < 0) {
		for (size_t k = 0; k < kept; k++)
			lineage_record_release(&v[k].record);
		free(v);
		return r;
	}
	qsort(v, kept, sizeof(*v), cmp_subject_record);
	*out = v;
	*n_out = kept;
	return 0;
}

/* The newest record of im (from load_records), moved into it: what
 * queries use, the producer and the materials. */
static void attach_record(struct lineage_image *im, struct subject_record *records,
			  size_t n_records)
{
	struct subject_record key;
	snprintf(key.subject, sizeof(key.subject), "%s", im->digest);
	struct subject_record *sr =
	    bsearch(&key, records, n_records, sizeof(key), cmp_subject_record);
	if (!sr || sr->used)
		return;
	struct lineage_record *r = &sr->record;
	im->record = (struct lineage_record){.producer = steal_pointer(&r->producer),
					     .materials = steal_pointer(&r->materials),
					     .n_materials = r->n_materials};
	r->n_materials = 0;
	lineage_record_release(r);
	snprintf(im->record_digest, sizeof(im->record_digest), "%s", sr->referrer);
	im->has_record = sr->used = true;
}

static int images_read_store(struct petra_store *store, const struct memo *memo,
			     struct lineage_images *out, struct petra_error **err)
{
	*out = (struct lineage_images){0};
	struct subject_record *records = NULL;
	size_t n_records = 0;
	if (load_records(store, memo, &records, &n_records, err) < 0)
		return -1;
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	if (petra_store_list(store, &entries, &n, err) < 0) {
		for (size_t k = 0; k < n_records; k++)
			lineage_record_release(&records[k].record);
		free(records);
		return -1;
	}
	/* Several names of one manifest: read once (sorted by digest); the
	 * images then in the order of their first name in the index. */
	const struct petra_store_entry **sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	for (size_t i = 0; i < n; i++)
		sorted[i] = &entries[i];
	qsort(sorted, n, sizeof(*sorted), cmp_entry_digest);
	struct image_position *pos = xcalloc(n ? n : 1, sizeof(*pos));
	size_t n_pos = 0;
	for (size_t i = 0; i < n; i++) {
		const struct petra_store_entry *e = sorted[i];
		if (oci_media_type_kind(e->desc.media_type) != OCI_KIND_MANIFEST)
			continue;
		if (n_pos && !strcmp(pos[n_pos - 1].image.digest, e->desc.digest)) {
			if (e->name)
				strvec_push(&pos[n_pos - 1].image.names, e->name);
			continue;
		}
		const struct lineage_image *known = memo_image(memo, e->desc.digest);
		if (known) {
			pos[n_pos].first = (size_t)(e - entries);
			struct lineage_image *im = &pos[n_pos++].image;
			memset(im, 0, sizeof(*im));
			snprintf(im->digest, sizeof(im->digest), "%s", known->digest);
			if (e->name)
				strvec_push(&im->names, e->name);
			for (size_t k = 0; k < known->diff_ids.n; k++)
				strvec_push(&im->diff_ids, known->diff_ids.v[k]);
			memcpy(im->base_digest, known->base_digest, sizeof(im->base_digest));
			memcpy(im->hardened_from, known->hardened_from, sizeof(im->hardened_from));
			im->base_name = known->base_name ? xstrdup(known->base_name) : NULL;
			attach_record(im, records, n_records);
			continue;
		}
		_cleanup_free_ char *mdata = NULL, *cdata = NULL;
		size_t mlen, clen;
		_cleanup_error_ struct petra_error *ignored = NULL;
		/* A broken image is left out (fsck reports it), not fatal. */
		if (petra_store_read_blob(store, e->desc.digest, LINEAGE_BLOB_MAX, &mdata, &mlen,
					  &ignored) < 0)
			continue;
		_cleanup_json_ json_t *manifest =
		    json_parse_buffer(mdata, mlen, "manifest", &ignored);
		/* Referrers (records, SBOMs) are not images. */
		if (!manifest || json_object_get(manifest, "subject"))
			continue;
		const char *config_digest =
		    json_get_string(json_object_get(manifest, "config"), "digest");
		if (!config_digest || !oci_digest_valid(config_digest) ||
		    petra_store_read_blob(store, config_digest, LINEAGE_BLOB_MAX, &cdata, &clen,
					  &ignored) < 0)
			continue;
		_cleanup_json_ json_t *config = json_parse_buffer(cdata, clen, "config", &ignored);
		if (!config)
			continue;
		pos[n_pos].first = (size_t)(e - entries);
		struct lineage_image *im = &pos[n_pos++].image;
		memset(im, 0, sizeof(*im));
		snprintf(im->digest, sizeof(im->digest), "%s", e->desc.digest);
		if (e->name)
			strvec_push(&im->names, e->name);
		image_fill(im, manifest, config);
		attach_record(im, records, n_records);
	}
	qsort(pos, n_pos, sizeof(*pos), cmp_position);
	out->v = xcalloc(n_pos ? n_pos : 1, sizeof(*out->v));
	for (size_t i = 0; i < n_pos; i++)
		out->v[out->n++] = pos[i].image;
	free(pos);
	for (size_t k = 0; k < n_records; k++)
		if (!records[k].used)
			lineage_record_release(&records[k].record);
	free(records);
	free(sorted);
	petra_store_entries_free(entries, n);
	return 0;
}

/* ---- the store's query cache ---------------------------------------------
 *
 * Reading a thousand manifests and configs (and the index, for names and
 * records) costs more than the 50 ms a query may take; what a query needs
 * of them is kept in LINEAGE_CACHE_FILE at the store's root, keyed by the
 * identity of index.json (inode, size, modification and change times in
 * nanoseconds). Every change that matters rewrites index.json (names,
 * referrers, removals: always a new file renamed into place), so a key
 * that matches means the same images, names and records; blobs are
 * content-addressed and never change. A cache that does not match, or
 * cannot be read, is rebuilt from the store; one that cannot be written
 * (a read-only store) is simply not kept. The key is taken before the
 * store is read and checked again after, so a cache never describes an
 * index other than its key's.
 *
 * Text, one item a line, fields separated by tabs (no value may hold a tab
 * or a newline; an image set with one is not cached):
 *   petra-lineage-cache 2 INO SIZE MTIME_NS CTIME_NS
 *   I DIGEST BASE_DIGEST|- HARDENED_FROM|- BASE_NAME|-
 *   N NAME   L DIFF_ID   R PRODUCER REFERRER|-   M ROLE NAME DIGEST
 *   E (the end: a file cut at a line's end is not taken for whole)
 */

#define LINEAGE_CACHE_FILE  "lineage-cache"
#define LINEAGE_CACHE_MAGIC "petra-lineage-cache 2"

static bool index_key(struct petra_store *store, char key[128])
{
	struct stat st;
	if (fstatat(petra_store_root_fd(store), "index.json", &st, 0) < 0)
		return false;
	snprintf(key, 128, "%ju %jd %jd%09ld %jd%09ld", (uintmax_t)st.st_ino, (intmax_t)st.st_size,
		 (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec,
		 st.st_ctim.tv_nsec);
	return true;
}

static bool cacheable(const char *s)
{
	return s && *s && !strpbrk(s, "\t\n");
}

/* The set as cache text, or NULL when a value cannot be written so. */
static char *cache_format(const struct lineage_images *images, const char *key)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, LINEAGE_CACHE_MAGIC " %s\n", key);
	for (size_t i = 0; i < images->n; i++) {
		const struct lineage_image *im = &images->v[i];
		if (im->base_name && !cacheable(im->base_name))
			goto fail;
		strbuf_addf(&sb, "I\t%s\t%s\t%s\t%s\n", im->digest,
			    im->base_digest[0] ? im->base_digest : "-",
			    im->hardened_from[0] ? im->hardened_from : "-",
			    im->base_name ? im->base_name : "-");
		for (size_t k = 0; k < im->names.n; k++) {
			if (!cacheable(im->names.v[k]))
				goto fail;
			strbuf_addf(&sb, "N\t%s\n", im->names.v[k]);
		}
		for (size_t k = 0; k < im->diff_ids.n; k++) {
			if (!cacheable(im->diff_ids.v[k]))
				goto fail;
			strbuf_addf(&sb, "L\t%s\n", im->diff_ids.v[k]);
		}
		if (!im->has_record)
			continue;
		const struct lineage_record *r = &im->record;
		if (!cacheable(r->producer))
			goto fail;
		strbuf_addf(&sb, "R\t%s\t%s\n", r->producer,
			    im->record_digest[0] ? im->record_digest : "-");
		for (size_t m = 0; m < r->n_materials; m++) {
			const struct lineage_material *mat = &r->materials[m];
			if (!cacheable(mat->role) || !cacheable(mat->name) ||
			    !oci_digest_valid(mat->digest))
				goto fail;
			strbuf_addf(&sb, "M\t%s\t%s\t%s\n", mat->role, mat->name, mat->digest);
		}
	}
	strbuf_addstr(&sb, "E\n");
	return strbuf_detach(&sb);
fail:
	strbuf_release(&sb);
	return NULL;
}

/* Split line (modified in place) at tabs into at most max fields. */
static size_t split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;
	while (n < max) {
		fields[n++] = line;
		char *tab = strchr(line, '\t');
		if (!tab)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

static const char *dash_null(const char *s)
{
	return strcmp(s, "-") ? s : NULL;
}

/* Parse cache text (modified in place) whose key is `key` (NULL: any, for
 * a memo): false when it is not for that key or malformed (then rebuilt). */
static bool cache_parse(char *data, const char *key, struct lineage_images *out)
{
	*out = (struct lineage_images){0};
	char *line = data, *next;
	size_t alloc = 0;
	bool ok = false, end = false;
	for (size_t lineno = 0; line && *line; line = next, lineno++) {
		next = strchr(line, '\n');
		if (!next)
			goto done; /* cut short */
		*next++ = '\0';
		if (lineno == 0) {
			if (strncmp(line, LINEAGE_CACHE_MAGIC " ",
				    strlen(LINEAGE_CACHE_MAGIC) + 1) ||
			    (key && strcmp(line + strlen(LINEAGE_CACHE_MAGIC) + 1, key)))
				goto done;
			continue;
		}
		if (end)
			goto done; /* nothing after the end */
		if (!strcmp(line, "E")) {
			end = true;
			continue;
		}
		char *f[5];
		size_t n = split_tabs(line, f, 5);
		struct lineage_image *im = out->n ? &out->v[out->n - 1] : NULL;
		if (!strcmp(f[0], "I") && n == 5 && oci_digest_valid(f[1])) {
			xgrow((void **)&out->v, &alloc, out->n + 1, sizeof(*out->v));
			im = &out->v[out->n++];
			memset(im, 0, sizeof(*im));
			snprintf(im->digest, sizeof(im->digest), "%s", f[1]);
			copy_digest(im->base_digest, dash_null(f[2]));
			copy_digest(im->hardened_from, dash_null(f[3]));
			im->base_name = dash_null(f[4]) ? xstrdup(f[4]) : NULL;
		} else if (im && !strcmp(f[0], "N") && n == 2) {
			strvec_push(&im->names, f[1]);
		} else if (im && !strcmp(f[0], "L") && n == 2) {
			strvec_push(&im->diff_ids, f[1]);
		} else if (im && !strcmp(f[0], "R") && n == 3 && !im->has_record) {
			im->has_record = true;
			im->record.producer = xstrdup(f[1]);
			copy_digest(im->record_digest, dash_null(f[2]));
		} else if (im && im->has_record && !strcmp(f[0], "M") && n == 4 &&
			   oci_digest_valid(f[3])) {
			lineage_record_add_material(&im->record, f[1], f[2], f[3]);
		} else {
			goto done;
		}
	}
	ok = end;
done:
	if (!ok)
		lineage_images_release(out);
	return ok;
}

/* Replace the cache: a temporary file renamed into place, not synced (the
 * sync would cost more than the query; a file a crash leaves cut or empty
 * has no end line and is rebuilt). Best effort: a store petra may not
 * write keeps no cache. */
static void cache_write(struct petra_store *store, const char *text)
{
	int dirfd = petra_store_root_fd(store);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_error_ struct petra_error *ignored = NULL;
	_cleanup_close_ int fd = fs_tmpfile_at(dirfd, LINEAGE_CACHE_FILE, 0644, &tmp, &ignored);
	if (fd < 0)
		return;
	if (fs_write_all(fd, text, strlen(text)) < 0 ||
	    renameat(dirfd, tmp, dirfd, LINEAGE_CACHE_FILE) < 0)
		unlinkat(dirfd, tmp, 0);
}

int lineage_images_from_store(struct petra_store *store, struct lineage_images *out,
			      struct petra_error **err)
{
	char key[128], after[128];
	bool keyed = index_key(store, key);
	struct memo memo = {0};
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	_cleanup_error_ struct petra_error *ignored = NULL;
	/* (an empty file's buffer is not terminated) */
	if (keyed &&
	    fs_read_file_at(petra_store_root_fd(store), LINEAGE_CACHE_FILE, 256u << 20, &data, &len,
			    &ignored) == 0 &&
	    len > 0 && strlen(data) == len) {
		_cleanup_free_ char *copy = xstrdup(data);
		if (cache_parse(data, key, out))
			return 0;
		/* Another index: what it says of unchanged digests still holds. */
		if (cache_parse(copy, NULL, &memo.images))
			memo_index(&memo);
	}
	int r = images_read_store(store, &memo, out, err);
	memo_release(&memo);
	if (r < 0)
		return -1;
	if (keyed && index_key(store, after) && !strcmp(key, after)) {
		_cleanup_free_ char *text = cache_format(out, key);
		if (text)
			cache_write(store, text);
	}
	return 0;
}

/* ---- a registry's repositories ----------------------------------------- */

/* The referrers tag schema's tags ("sha256-<hex>") list referrers, not
 * images. */
static bool is_referrers_tag(const char *tag)
{
	if (strncmp(tag, "sha256-", 7) || strlen(tag) != 7 + 64)
		return false;
	return strspn(tag + 7, "0123456789abcdef") == 64;
}

/* The newest build record of the image `ref` (digest) in its registry. */
static int registry_record(const char *ref, const char *digest,
			   const struct registry_options *options, struct lineage_image *im,
			   struct petra_error **err)
{
	struct registry_referrer *refs = NULL;
	size_t n = 0;
	if (registry_read_referrers(ref, digest, LINEAGE_ARTIFACT_TYPE, LINEAGE_ARTIFACT_TYPE,
				    options, &refs, &n, err) < 0)
		return -1;
	int r = 0;
	/* The last listed is taken for the newest, as in the store. */
	for (size_t i = n; i-- > 0;) {
		if (!refs[i].layer)
			continue;
		struct lineage_record record;
		r = lineage_record_parse(refs[i].layer, refs[i].layer_len, &record, err);
		if (r < 0) {
			r = petra_error_prefix(err, "build record %s of %s", refs[i].digest, ref);
			break;
		}
		im->record = (struct lineage_record){.producer = steal_pointer(&record.producer),
						     .materials = steal_pointer(&record.materials),
						     .n_materials = record.n_materials};
		record.n_materials = 0;
		lineage_record_release(&record);
		snprintf(im->record_digest, sizeof(im->record_digest), "%s", refs[i].digest);
		im->has_record = true;
		break;
	}
	registry_referrers_free(refs, n);
	return r;
}

int lineage_images_from_registry(const char *const *repos, size_t n_repos,
				 const struct registry_options *options, struct lineage_images *out,
				 struct petra_error **err)
{
	*out = (struct lineage_images){0};
	size_t alloc = 0;
	int r = 0;
	for (size_t k = 0; k < n_repos && r == 0; k++) {
		_cleanup_strvec_ struct strvec tags = STRVEC_INIT;
		r = registry_list_tags(repos[k], options, &tags, err);
		for (size_t t = 0; r == 0 && t < tags.n; t++) {
			if (is_referrers_tag(tags.v[t]))
				continue;
			_cleanup_free_ char *ref = xasprintf("%s:%s", repos[k], tags.v[t]);
			_cleanup_json_ json_t *manifest = NULL, *config = NULL;
			char digest[OCI_DIGEST_SIZE];
			r = registry_inspect(ref, options, &manifest, &config, digest, err);
			if (r < 0)
				break;
			struct lineage_image *im = NULL;
			for (size_t i = 0; i < out->n && !im; i++)
				if (!strcmp(out->v[i].digest, digest))
					im = &out->v[i];
			if (im) {
				strvec_push(&im->names, ref);
				continue;
			}
			xgrow((void **)&out->v, &alloc, out->n + 1, sizeof(*out->v));
			im = &out->v[out->n++];
			memset(im, 0, sizeof(*im));
			snprintf(im->digest, sizeof(im->digest), "%s", digest);
			strvec_push(&im->names, ref);
			image_fill(im, manifest, config);
			r = registry_record(ref, digest, options, im, err);
		}
	}
	if (r < 0)
		lineage_images_release(out);
	return r;
}

/* ---- layer prefixes ----------------------------------------------------- */

bool lineage_layers_extend(const char *const *base, size_t n_base, const char *const *image,
			   size_t n_image)
{
	/* An image with no layers is the base of nothing: every image would
	 * "start with" it. */
	if (n_base == 0 || n_image <= n_base)
		return false;
	for (size_t i = 0; i < n_base; i++)
		if (strcmp(base[i], image[i]))
			return false;
	return true;
}

/* ---- derivations -------------------------------------------------------- */

enum how { HOW_NONE, HOW_BASE, HOW_RECORD, HOW_LAYERS, HOW_ANNOTATION };

/* The graph of one query: images 0..n-1, and the base as node n when it
 * is not among them. Indexes: digests sorted, record edges sorted by the
 * material's digest, full layer chains sorted by hash. */
struct node_key {
	const char *digest;
	size_t node;
};
struct record_edge {
	const char *material; /* digest */
	const char *role;
	size_t child;
};
struct chain_key {
	uint64_t hash;
	size_t node;
};
struct node_state {
	enum how how;
	size_t parent;
	const char *role;
	bool candidate; /* found by layers or annotation this round, not yet reached */
};
struct query {
	const struct lineage_images *images;
	size_t n_nodes; /* images->n, +1 with a virtual base */
	const char *base_digest;
	const struct strvec *base_diff_ids;
	size_t base;
	struct node_key *by_digest;
	size_t n_by_digest;
	struct record_edge *edges;
	size_t n_edges;
	struct chain_key *chains;
	size_t n_chains;
	uint64_t **prefix_hashes; /* per node: hash of the first k+1 diff_ids */
	struct node_state *state;
};

static const struct strvec *node_diff_ids(const struct query *q, size_t node)
{
	if (node < q->images->n)
		return &q->images->v[node].diff_ids;
	return q->base_diff_ids;
}

static const char *node_digest(const struct query *q, size_t node)
{
	return node < q->images->n ? q->images->v[node].digest : q->base_digest;
}

static int cmp_node_key(const void *a, const void *b)
{
	return strcmp(((const struct node_key *)a)->digest, ((const struct node_key *)b)->digest);
}

static int cmp_edge(const void *a, const void *b)
{
	return strcmp(((const struct record_edge *)a)->material,
		      ((const struct record_edge *)b)->material);
}

static int cmp_chain(const void *a, const void *b)
{
	uint64_t x = ((const struct chain_key *)a)->hash, y = ((const struct chain_key *)b)->hash;
	return x < y ? -1 : x > y;
}

static uint64_t hash_step(uint64_t h, const char *s)
{
	/* FNV-1a continued over the next diff_id, a separator first. */
	h ^= 0x1f;
	h *= 0x100000001b3ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void query_index(struct query *q)
{
	size_t n = q->n_nodes;
	q->by_digest = xcalloc(n, sizeof(*q->by_digest));
	q->prefix_hashes = xcalloc(n, sizeof(*q->prefix_hashes));
	q->chains = xcalloc(n, sizeof(*q->chains));
	q->state = xcalloc(n, sizeof(*q->state));
	size_t n_edges = 0;
	for (size_t i = 0; i < q->images->n; i++) {
		const struct lineage_image *im = &q->images->v[i];
		n_edges += (im->has_record ? im->record.n_materials : 0) + 1;
	}
	q->edges = xcalloc(n_edges ? n_edges : 1, sizeof(*q->edges));
	for (size_t i = 0; i < n; i++) {
		q->by_digest[q->n_by_digest++] = (struct node_key){node_digest(q, i), i};
		const struct strvec *d = node_diff_ids(q, i);
		size_t layers = d ? d->n : 0;
		q->prefix_hashes[i] = xcalloc(layers ? layers : 1, sizeof(uint64_t));
		uint64_t h = 0xcbf29ce484222325ULL;
		for (size_t k = 0; k < layers; k++)
			q->prefix_hashes[i][k] = h = hash_step(h, d->v[k]);
		if (layers)
			q->chains[q->n_chains++] = (struct chain_key){h, i};
		if (i >= q->images->n)
			continue;
		const struct lineage_image *im = &q->images->v[i];
		if (im->has_record) {
			for (size_t m = 0; m < im->record.n_materials; m++)
				q->edges[q->n_edges++] =
				    (struct record_edge){im->record.materials[m].digest,
							 im->record.materials[m].role, i};
		} else if (im->hardened_from[0]) {
			/* petra harden's label says the input when no record does. */
			q->edges[q->n_edges++] =
			    (struct record_edge){im->hardened_from, "harden", i};
		}
	}
	qsort(q->by_digest, q->n_by_digest, sizeof(*q->by_digest), cmp_node_key);
	qsort(q->edges, q->n_edges, sizeof(*q->edges), cmp_edge);
	qsort(q->chains, q->n_chains, sizeof(*q->chains), cmp_chain);
}

static void query_release(struct query *q)
{
	for (size_t i = 0; i < q->n_nodes; i++)
		free(q->prefix_hashes ? q->prefix_hashes[i] : NULL);
	free(q->prefix_hashes);
	free(q->by_digest);
	free(q->edges);
	free(q->chains);
	free(q->state);
}

/* The nodes whose digest is `digest` (several only for a virtual base
 * equal to an image, which query setup avoids): the first, or SIZE_MAX. */
static size_t node_by_digest(const struct query *q, const char *digest)
{
	struct node_key key = {digest, 0};
	const struct node_key *k =
	    bsearch(&key, q->by_digest, q->n_by_digest, sizeof(key), cmp_node_key);
	return k ? k->node : SIZE_MAX;
}

static bool reach(struct query *q, size_t node, size_t parent, enum how how, const char *role,
		  size_t *queue, size_t *n_queue)
{
	if (q->state[node].how != HOW_NONE)
		return false;
	q->state[node] = (struct node_state){how, parent, role};
	queue[(*n_queue)++] = node;
	return true;
}

/* Breadth first through records from the queue: a record naming a reached
 * image as a material makes its image reached. */
static void follow_records(struct query *q, size_t *queue, size_t *n_queue, size_t *head)
{
	while (*head < *n_queue) {
		size_t y = queue[(*head)++];
		struct record_edge key = {node_digest(q, y), NULL, 0};
		struct record_edge *e = bsearch(&key, q->edges, q->n_edges, sizeof(key), cmp_edge);
		if (!e)
			continue;
		while (e > q->edges && !strcmp(e[-1].material, key.material))
			e--;
		for (; e < q->edges + q->n_edges && !strcmp(e->material, key.material); e++)
			reach(q, e->child, y, HOW_RECORD, e->role, queue, n_queue);
	}
}

/* The node whose layer chain is x's first k layers, among those `want`
 * accepts, or SIZE_MAX. */
static size_t chain_node(const struct query *q, size_t x, size_t k,
			 bool (*want)(const struct query *q, size_t node))
{
	const struct strvec *d = node_diff_ids(q, x);
	struct chain_key key = {q->prefix_hashes[x][k - 1], 0};
	struct chain_key *c = bsearch(&key, q->chains, q->n_chains, sizeof(key), cmp_chain);
	if (!c)
		return SIZE_MAX;
	while (c > q->chains && c[-1].hash == key.hash)
		c--;
	for (; c < q->chains + q->n_chains && c->hash == key.hash; c++) {
		if (!want(q, c->node))
			continue;
		const struct strvec *p = node_diff_ids(q, c->node);
		if (p->n == k && lineage_layers_extend((const char *const *)p->v, p->n,
						       (const char *const *)d->v, d->n))
			return c->node;
	}
	return SIZE_MAX;
}

static bool is_reached(const struct query *q, size_t node)
{
	return q->state[node].how != HOW_NONE;
}

static bool is_candidate(const struct query *q, size_t node)
{
	return q->state[node].candidate;
}

/* The reached node with the longest layer chain that x's strictly
 * extends, or SIZE_MAX. */
static size_t reached_layer_parent(const struct query *q, size_t x)
{
	const struct strvec *d = node_diff_ids(q, x);
	for (size_t k = d ? d->n - 1 : 0; k >= 1 && d && k < d->n; k--) {
		size_t p = chain_node(q, x, k, is_reached);
		if (p != SIZE_MAX)
			return p;
	}
	return SIZE_MAX;
}

/* Whether a candidate found with x this round gives x a better path: a
 * record of x names it, or its layers are a longer prefix of x's than
 * x's parent's. x then waits for the next round. */
static bool better_path_pending(const struct query *q, size_t x)
{
	const struct lineage_image *im = &q->images->v[x];
	if (im->has_record) {
		for (size_t m = 0; m < im->record.n_materials; m++) {
			size_t node = node_by_digest(q, im->record.materials[m].digest);
			if (node != SIZE_MAX && q->state[node].candidate)
				return true;
		}
	} else if (im->hardened_from[0]) {
		size_t node = node_by_digest(q, im->hardened_from);
		if (node != SIZE_MAX && q->state[node].candidate)
			return true;
	}
	if (q->state[x].how != HOW_LAYERS)
		return false;
	const struct strvec *d = node_diff_ids(q, x);
	size_t parent_layers = node_diff_ids(q, q->state[x].parent)->n;
	for (size_t k = d->n - 1; k > parent_layers; k--)
		if (chain_node(q, x, k, is_candidate) != SIZE_MAX)
			return true;
	return false;
}

/* Rounds: everything records reach (breadth first), then what layer
 * prefixes of reached images, else base annotations, reach. A candidate of
 * a round that a record or a longer layer prefix among the other
 * candidates would reach waits, so paths go through records and the
 * closest base wherever there is one, whatever the order of the store. */
static void run_query(struct query *q)
{
	size_t *queue = xcalloc(q->n_nodes, sizeof(*queue));
	size_t *found = xcalloc(q->n_nodes, sizeof(*found));
	size_t n_queue = 0, head = 0;
	reach(q, q->base, SIZE_MAX, HOW_BASE, NULL, queue, &n_queue);
	for (;;) {
		follow_records(q, queue, &n_queue, &head);
		size_t n_found = 0;
		for (size_t x = 0; x < q->images->n; x++) {
			if (is_reached(q, x))
				continue;
			size_t parent = reached_layer_parent(q, x);
			enum how how = HOW_LAYERS;
			if (parent == SIZE_MAX) {
				const char *annotated = q->images->v[x].base_digest;
				parent = annotated[0] ? node_by_digest(q, annotated) : SIZE_MAX;
				if (parent == SIZE_MAX || !is_reached(q, parent))
					continue;
				how = HOW_ANNOTATION;
			}
			/* Kept in the state while a candidate (how is set only
			 * on reaching). */
			q->state[x] = (struct node_state){HOW_NONE, parent, NULL, true};
			q->state[x].role = how == HOW_LAYERS ? "layers" : "base";
			found[n_found++] = x;
		}
		if (!n_found)
			break;
		size_t reached = 0;
		for (int pass = 0; pass < 2 && !reached; pass++) {
			for (size_t i = 0; i < n_found; i++) {
				size_t x = found[i];
				enum how how = !strcmp(q->state[x].role, "layers") ? HOW_LAYERS
										   : HOW_ANNOTATION;
				q->state[x].how = how; /* for better_path_pending */
				bool wait = pass == 0 && better_path_pending(q, x);
				q->state[x].how = HOW_NONE;
				if (wait)
					continue;
				found[i] = SIZE_MAX;
				reached++;
			}
		}
		for (size_t i = 0; i < n_found; i++)
			if (found[i] != SIZE_MAX) /* waits */
				q->state[found[i]] = (struct node_state){0};
		/* Reach the ones not waiting (their state still holds parent
		 * and role). */
		for (size_t x = 0; x < q->images->n; x++) {
			if (!q->state[x].candidate)
				continue;
			size_t parent = q->state[x].parent;
			const char *role = q->state[x].role;
			enum how how = !strcmp(role, "layers") ? HOW_LAYERS : HOW_ANNOTATION;
			q->state[x] = (struct node_state){0};
			reach(q, x, parent, how, role, queue, &n_queue);
		}
	}
	free(found);
	free(queue);
}

/* "NAME@DIGEST": the node's first name, else the name a record gave it. */
static char *node_label(const struct query *q, size_t node, const char *fallback_name)
{
	const char *name = fallback_name ? fallback_name : "<none>";
	if (node < q->images->n && q->images->v[node].names.n)
		name = q->images->v[node].names.v[0];
	return xasprintf("%s@%s", name, node_digest(q, node));
}

/* The name a record of `child` gives the material `digest`. */
static const char *material_name(const struct query *q, size_t child, const char *digest)
{
	if (child >= q->images->n || !q->images->v[child].has_record)
		return NULL;
	const struct lineage_record *r = &q->images->v[child].record;
	for (size_t m = 0; m < r->n_materials; m++)
		if (!strcmp(r->materials[m].digest, digest))
			return r->materials[m].name;
	return NULL;
}

static void fill_derivation(const struct query *q, size_t x, struct lineage_derivation *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->digest, sizeof(d->digest), "%s", q->images->v[x].digest);
	const struct strvec *names = &q->images->v[x].names;
	d->names = xcalloc(names->n + 1, sizeof(char *));
	for (size_t i = 0; i < names->n; i++)
		d->names[d->n_names++] = xstrdup(names->v[i]);
	struct strvec path = STRVEC_INIT;
	strvec_push_nodup(&path, node_label(q, x, NULL));
	for (size_t y = x; q->state[y].parent != SIZE_MAX; y = q->state[y].parent) {
		size_t p = q->state[y].parent;
		if (q->state[y].how == HOW_LAYERS)
			d->by_layers = true;
		_cleanup_free_ char *label =
		    node_label(q, p, material_name(q, y, node_digest(q, p)));
		strvec_pushf(&path, "%s (%s)", label, q->state[y].role ? q->state[y].role : "base");
		if (path.n > q->n_nodes + 1)
			break; /* cannot happen: parents form a tree; a guard all the same */
	}
	d->n_path = path.n;
	d->path = steal_pointer(&path.v);
}

int lineage_derive(const struct lineage_images *images, const char *base_digest,
		   const struct strvec *base_diff_ids, struct lineage_derivations *out,
		   struct petra_error **err)
{
	*out = (struct lineage_derivations){0};
	if (oci_digest_check(base_digest, err) < 0)
		return -1;
	struct query q = {.images = images,
			  .base_digest = base_digest,
			  .base_diff_ids = base_diff_ids,
			  .n_nodes = images->n};
	q.base = SIZE_MAX;
	for (size_t i = 0; i < images->n; i++)
		if (!strcmp(images->v[i].digest, base_digest))
			q.base = i;
	if (q.base == SIZE_MAX)
		q.base = q.n_nodes++;
	query_index(&q);
	run_query(&q);
	out->v = xcalloc(images->n ? images->n : 1, sizeof(*out->v));
	for (size_t x = 0; x < images->n; x++)
		if (x != q.base && q.state[x].how != HOW_NONE)
			fill_derivation(&q, x, &out->v[out->n++]);
	query_release(&q);
	return 0;
}

const struct lineage_derivation *lineage_derivations_find(const struct lineage_derivations *d,
							  const char *digest)
{
	for (size_t i = 0; digest && i < d->n; i++)
		if (!strcmp(d->v[i].digest, digest))
			return &d->v[i];
	return NULL;
}

void lineage_derivations_release(struct lineage_derivations *d)
{
	for (size_t i = 0; i < d->n; i++) {
		for (size_t k = 0; k < d->v[i].n_names; k++)
			free(d->v[i].names[k]);
		free(d->v[i].names);
		for (size_t k = 0; k < d->v[i].n_path; k++)
			free(d->v[i].path[k]);
		free(d->v[i].path);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

/* The base of a query: a store reference (its layers known) or a bare
 * manifest digest (perhaps of an image no longer there). */
static int resolve_base(struct petra_store *store, const struct lineage_images *images,
			const char *base, char digest[OCI_DIGEST_SIZE], struct strvec *diff_ids,
			struct petra_error **err)
{
	/* A name or digest of the set needs no other read of the index. */
	_cleanup_free_ char *latest = strchr(strrchr(base, '/') ? strrchr(base, '/') : base, ':')
					  ? NULL
					  : xasprintf("%s:latest", base);
	for (size_t i = 0; i < images->n; i++) {
		bool match = !strcmp(images->v[i].digest, base);
		for (size_t k = 0; !match && k < images->v[i].names.n; k++)
			match = !strcmp(images->v[i].names.v[k], base) ||
				(latest && !strcmp(images->v[i].names.v[k], latest));
		if (match) {
			snprintf(digest, OCI_DIGEST_SIZE, "%s", images->v[i].digest);
			return 0;
		}
	}
	struct oci_descriptor desc;
	_cleanup_error_ struct petra_error *resolve_err = NULL;
	if (store && petra_store_resolve(store, base, &desc, NULL, &resolve_err) == 0) {
		snprintf(digest, OCI_DIGEST_SIZE, "%s", desc.digest);
		oci_descriptor_release(&desc);
	} else if (oci_digest_valid(base)) {
		snprintf(digest, OCI_DIGEST_SIZE, "%s", base);
	} else {
		/* A registry name among the images queried. */
		for (size_t i = 0; i < images->n; i++)
			for (size_t k = 0; k < images->v[i].names.n; k++)
				if (!strcmp(images->v[i].names.v[k], base)) {
					snprintf(digest, OCI_DIGEST_SIZE, "%s",
						 images->v[i].digest);
					return 0;
				}
		if (resolve_err) {
			*err = steal_pointer(&resolve_err);
			return petra_error_prefix(err, "derived-from");
		}
		return petra_error_set(err, ENOENT, "derived-from %s: no such image", base);
	}
	for (size_t i = 0; i < images->n; i++)
		if (!strcmp(images->v[i].digest, digest))
			return 0;
	/* Not among the images: its layers from the store, when it is there. */
	struct image img;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (store && image_load(store, digest, &img, &ignored) == 0) {
		for (size_t k = 0; k < img.config.diff_ids.n; k++)
			strvec_push(diff_ids, img.config.diff_ids.v[k]);
		image_release(&img);
	}
	return 0;
}

int lineage_derived_from(struct petra_store *store, const char *base,
			 struct lineage_derivations *out, struct petra_error **err)
{
	*out = (struct lineage_derivations){0};
	struct lineage_images images;
	if (lineage_images_from_store(store, &images, err) < 0)
		return -1;
	char digest[OCI_DIGEST_SIZE];
	_cleanup_strvec_ struct strvec diff_ids = STRVEC_INIT;
	int r = resolve_base(store, &images, base, digest, &diff_ids, err);
	if (r == 0)
		r = lineage_derive(&images, digest, diff_ids.n ? &diff_ids : NULL, out, err);
	lineage_images_release(&images);
	return r;
}

int lineage_derived_from_registry(struct petra_store *store, const char *const *repos,
				  size_t n_repos, const struct registry_options *options,
				  const char *base, struct lineage_derivations *out,
				  struct petra_error **err)
{
	*out = (struct lineage_derivations){0};
	struct lineage_images images;
	if (lineage_images_from_registry(repos, n_repos, options, &images, err) < 0)
		return -1;
	char digest[OCI_DIGEST_SIZE];
	_cleanup_strvec_ struct strvec diff_ids = STRVEC_INIT;
	int r = resolve_base(store, &images, base, digest, &diff_ids, err);
	if (r == 0)
		r = lineage_derive(&images, digest, diff_ids.n ? &diff_ids : NULL, out, err);
	lineage_images_release(&images);
	return r;
}

/* ---- the tree of one image ---------------------------------------------- */

static ssize_t image_index(const struct lineage_images *images, const char *digest)
{
	for (size_t i = 0; i < images->n; i++)
		if (!strcmp(images->v[i].digest, digest))
			return (ssize_t)i;
	return -1;
}

/* The image among `images` with the longest layer chain that i's extends. */
static ssize_t layer_parent(const struct lineage_images *images, size_t i)
{
	const struct strvec *d = &images->v[i].diff_ids;
	ssize_t best = -1;
	for (size_t j = 0; j < images->n; j++) {
		const struct strvec *p = &images->v[j].diff_ids;
		if (lineage_layers_extend((const char *const *)p->v, p->n,
					  (const char *const *)d->v, d->n) &&
		    (best < 0 || p->n > images->v[best].diff_ids.n))
			best = (ssize_t)j;
	}
	return best;
}

/* The digests from the root down to the node being expanded: a cycle
 * cannot be built (a digest names its content), but a forged record could
 * claim one. A base shared by two materials still shows under both. */
struct tree_path {
	const char *v[64];
	size_t n;
};

static bool tree_path_has(const struct tree_path *p, const char *digest)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i], digest))
			return true;
	return false;
}

static json_t *tree_node(const struct lineage_images *images, const char *digest,
			 const char *fallback_name, const char *role, const char *how,
			 struct tree_path *path)
{
	json_t *node = json_object();
	ssize_t i = image_index(images, digest);
	const char *name = fallback_name;
	if (i >= 0 && images->v[i].names.n)
		name = images->v[i].names.v[0];
	json_object_set_new(node, "name", name ? json_string(name) : json_null());
	json_object_set_new(node, "digest", json_string(digest));
	if (role)
		json_object_set_new(node, "role", json_string(role));
	if (how)
		json_object_set_new(node, "how", json_string(how));
	json_t *from = json_array();
	json_object_set_new(node, "from", from);
	if (i < 0 || tree_path_has(path, digest) || path->n == ARRAY_SIZE(path->v))
		return node;
	path->v[path->n++] = images->v[i].digest;
	const struct lineage_image *im = &images->v[i];
	if (im->has_record) {
		for (size_t m = 0; m < im->record.n_materials; m++) {
			const struct lineage_material *mat = &im->record.materials[m];
			json_array_append_new(from, tree_node(images, mat->digest, mat->name,
							      mat->role, "record", path));
		}
	} else if (im->hardened_from[0]) {
		json_array_append_new(
		    from, tree_node(images, im->hardened_from, NULL, "harden", "label", path));
	} else if (im->base_digest[0]) {
		json_array_append_new(from, tree_node(images, im->base_digest, im->base_name,
						      "base", "annotation", path));
	} else {
		ssize_t p = layer_parent(images, (size_t)i);
		if (p >= 0)
			json_array_append_new(from, tree_node(images, images->v[p].digest, NULL,
							      "base", "layers", path));
	}
	path->n--;
	return node;
}

json_t *lineage_tree(const struct lineage_images *images, const char *digest)
{
	struct tree_path path = {.n = 0};
	return tree_node(images, digest, NULL, NULL, NULL, &path);
}
