/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/oci: digests, references, documents, the store. */
#include "store-fixture.h"

#include <sys/mman.h>

#include "oci/oci.h"

#define EMPTY_SHA256 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_digests(void **state)
{
	(void)state;
	char d[OCI_DIGEST_SIZE];
	oci_digest_buffer("", 0, d);
	assert_string_equal(d, EMPTY_SHA256);
	/* Streaming in pieces gives the same digest. */
	struct oci_hasher h;
	oci_hasher_init(&h);
	oci_hasher_update(&h, "ab", 2);
	oci_hasher_update(&h, "c", 1);
	oci_hasher_final(&h, d);
	assert_string_equal(
	    d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(oci_digest_valid(EMPTY_SHA256));
	assert_false(oci_digest_valid(
	    "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
	assert_false(oci_digest_valid("sha256:abc"));
	assert_false(oci_digest_valid("md5:d41d8cd98f00b204e9800998ecf8427e"));
	struct petra_error *err = NULL;
	assert_true(oci_digest_check("sha512:abcd", &err) < 0);
	assert_error_contains(err, "unsupported algorithm \"sha512\"");
	petra_error_free(err);
	char s[13];
	oci_digest_short(EMPTY_SHA256, s);
	assert_string_equal(s, "e3b0c44298fc");
}

static void test_references(void **state)
{
	(void)state;
	static const struct {
		const char *in, *name, *tag;
		bool digest;
	} good[] = {
	    {"busybox", "busybox", "latest", false},
	    {"busybox:1.36", "busybox", "1.36", false},
	    {"library/debian:12-slim", "library/debian", "12-slim", false},
	    {"localhost:5000/app", "localhost:5000/app", "latest", false},
	    {"127.0.0.1:5000/team/app:v1.2_3", "127.0.0.1:5000/team/app", "v1.2_3", false},
	    {"Registry.Example.com/a__b/c-d.e:x", "Registry.Example.com/a__b/c-d.e", "x", false},
	    {"app@" EMPTY_SHA256, "app", NULL, true},
	    {"app:1@" EMPTY_SHA256, "app", "1", true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct oci_ref ref;
		struct petra_error *err = NULL;
		if (oci_ref_parse(good[i].in, &ref, &err) < 0)
			fail_msg("%s: %s", good[i].in, err->message);
		assert_string_equal(ref.name, good[i].name);
		if (good[i].tag)
			assert_string_equal(ref.tag, good[i].tag);
		else
			assert_null(ref.tag);
		assert_int_equal(ref.digest != NULL, good[i].digest);
		oci_ref_release(&ref);
	}
	static const char *bad[] = {"",       "UPPER",        "a:",   ":tag",
				    "a/",     "/a",           "a//b", "a:tag with space",
				    "a:-tag", "a@sha256:123", "a..b", "-a",
				    "a-",     "host:port/x"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct oci_ref ref;
		struct petra_error *err = NULL;
		if (oci_ref_parse(bad[i], &ref, &err) == 0)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_non_null(err);
		petra_error_free(err);
	}
	struct oci_ref ref;
	assert_int_equal(oci_ref_parse("x", &ref, NULL), 0);
	char *s = oci_ref_format(&ref);
	assert_string_equal(s, "x:latest");
	free(s);
	oci_ref_release(&ref);
}

static char *manifest_text(const char *config_digest, const char *layer_digest)
{
	return xasprintf(
	    "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
	    "\"digest\":\"%s\",\"size\":2},\"layers\":[{\"mediaType\":\"%s\","
	    "\"digest\":\"%s\",\"size\":3}]}",
	    OCI_MEDIA_TYPE_MANIFEST, OCI_MEDIA_TYPE_CONFIG, config_digest,
	    OCI_MEDIA_TYPE_LAYER_GZIP, layer_digest);
}

static void test_documents(void **state)
{
	(void)state;
	char *text = manifest_text(EMPTY_SHA256, EMPTY_SHA256);
	struct oci_manifest m;
	struct petra_error *err = NULL;
	assert_int_equal(oci_manifest_parse(text, strlen(text), &m, &err), 0);
	assert_int_equal(m.n_layers, 1);
	assert_int_equal(m.layers[0].size, 3);
	assert_int_equal(oci_media_type_kind(m.config.media_type), OCI_KIND_CONFIG);
	oci_manifest_release(&m);
	free(text);
	static const struct {
		const char *doc, *message;
	} bad[] = {
	    {"[]", "not a JSON object"},
	    {"{\"schemaVersion\":1}", "schemaVersion is not 2"},
	    {"{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", "unexpected mediaType"},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:1\","
	     "\"size\":1}}",
	     "config: descriptor: digest"},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" EMPTY_SHA256
	     "\",\"size\":-1}}",
	     "size is not a non-negative integer"},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" EMPTY_SHA256
	     "\",\"size\":1},\"layers\":{}}",
	     "layers is not an array"},
	    {"{", "invalid JSON"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_true(oci_manifest_parse(bad[i].doc, strlen(bad[i].doc), &m, &err) < 0);
		if (!strstr(err->message, bad[i].message))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].doc, err->message,
				 bad[i].message);
		petra_error_free(err);
		err = NULL;
	}
	const char *config =
	    "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" EMPTY_SHA256 "\"]}}";
	struct oci_config c;
	assert_int_equal(oci_config_parse(config, strlen(config), &c, &err), 0);
	assert_int_equal(c.diff_ids.n, 1);
	oci_config_release(&c);
	const char *bad_config = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"nope\"]}}";
	assert_true(oci_config_parse(bad_config, strlen(bad_config), &c, &err) < 0);
	assert_error_contains(err, "diff_id 1");
	petra_error_free(err);
	err = NULL;
	/* Platform selection in an image index. */
	char *index = xasprintf(
	    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
	    "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"s390x-nope\"}},"
	    "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1,\"platform\":{\"os\":\"linux\","
	    "\"architecture\":\"%s\"}}]}",
	    OCI_MEDIA_TYPE_MANIFEST, EMPTY_SHA256, OCI_MEDIA_TYPE_MANIFEST, EMPTY_SHA256,
	    oci_host_architecture());
	struct oci_index idx;
	assert_int_equal(oci_index_parse(index, strlen(index), &idx, &err), 0);
	assert_int_equal(oci_index_select_platform(&idx, &err), 1);
	oci_index_release(&idx);
	free(index);
}

/* A small image: config, one "layer" blob and a manifest, named. */
static void put_image(struct store_fixture *f, const char *name, const char *layer_content,
		      struct oci_descriptor *out)
{
	struct petra_error *err = NULL;
	char config[OCI_DIGEST_SIZE], layer[OCI_DIGEST_SIZE], manifest[OCI_DIGEST_SIZE];
	assert_int_equal(petra_store_put_blob(f->store, "{}", 2, config, &err), 0);
	assert_int_equal(petra_store_put_blob(f->store, layer_content, 3, layer, &err), 0);
	char *text = manifest_text(config, layer);
	assert_int_equal(petra_store_put_blob(f->store, text, strlen(text), manifest, &err), 0);
	memset(out, 0, sizeof(*out));
	out->media_type = xstrdup(OCI_MEDIA_TYPE_MANIFEST);
	memcpy(out->digest, manifest, sizeof(manifest));
	out->size = (int64_t)strlen(text);
	free(text);
	if (name)
		assert_int_equal(petra_store_set_ref(f->store, name, out, &err), 0);
}

static void test_store_layout_and_blobs(void **state)
{
	struct store_fixture *f = *state;
	char *layout = path_join(f->dir, "store/oci-layout");
	char *data;
	assert_int_equal(fs_read_file_at(AT_FDCWD, layout, 100, &data, NULL, NULL), 0);
	assert_string_equal(data, "{\"imageLayoutVersion\":\"1.0.0\"}");
	free(data);
	free(layout);
	struct petra_error *err = NULL;
	char d[OCI_DIGEST_SIZE];
	assert_int_equal(petra_store_put_blob(f->store, "hello", 5, d, &err), 0);
	assert_true(petra_store_has_blob(f->store, d));
	/* A JSON document: compact, in insertion order, named by its bytes. */
	json_t *doc = json_pack("{s:i,s:s}", "b", 1, "a", "x");
	struct oci_descriptor jd;
	assert_int_equal(petra_store_put_json(f->store, doc, OCI_MEDIA_TYPE_CONFIG, &jd, &err), 0);
	char expect[OCI_DIGEST_SIZE];
	oci_digest_buffer("{\"b\":1,\"a\":\"x\"}", 15, expect);
	assert_string_equal(jd.digest, expect);
	assert_int_equal(jd.size, 15);
	assert_string_equal(jd.media_type, OCI_MEDIA_TYPE_CONFIG);
	oci_descriptor_release(&jd);
	json_decref(doc);
	size_t len;
	assert_int_equal(petra_store_read_blob(f->store, d, 100, &data, &len, &err), 0);
	assert_int_equal(len, 5);
	free(data);
	/* Blobs are read-only on disk. */
	char *path = xasprintf("%s/store/blobs/sha256/%s", f->dir, oci_digest_hex(d));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	/* A corrupted blob is noticed on read. */
	chmod(path, 0644);
	int fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(fs_write_all(fd, "hellO", 5), 0);
	close(fd);
	assert_true(petra_store_read_blob(f->store, d, 100, &data, &len, &err) < 0);
	assert_error_contains(err, "is corrupt");
	petra_error_free(err);
	err = NULL;
	/* A streamed blob with the wrong expected digest is not stored. */
	int mem = memfd_create("blob", 0);
	assert_int_equal(fs_write_all(mem, "abc", 3), 0);
	lseek(mem, 0, SEEK_SET);
	assert_true(petra_store_put_blob_fd(f->store, mem, EMPTY_SHA256, 0, &err) < 0);
	assert_error_contains(err, "larger than its 0 bytes");
	petra_error_free(err);
	err = NULL;
	lseek(mem, 0, SEEK_SET);
	assert_true(petra_store_put_blob_fd(f->store, mem, EMPTY_SHA256, -1, &err) < 0);
	assert_error_contains(err, "content hashes to sha256:ba7816bf");
	petra_error_free(err);
	assert_false(petra_store_has_blob(f->store, EMPTY_SHA256));
	close(mem);
	free(path);
}

static void test_names(void **state)
{
	struct store_fixture *f = *state;
	struct oci_descriptor a, b, got;
	put_image(f, "app:1", "AAA", &a);
	put_image(f, "app:2", "BBB", &b);
	struct petra_error *err = NULL;
	char *name = NULL;
	assert_int_equal(petra_store_resolve(f->store, "app:1", &got, &name, &err), 0);
	assert_string_equal(got.digest, a.digest);
	assert_string_equal(name, "app:1");
	oci_descriptor_release(&got);
	free(name);
	/* By digest, by prefix, and name@digest. */
	assert_int_equal(petra_store_resolve(f->store, b.digest, &got, NULL, &err), 0);
	assert_string_equal(got.digest, b.digest);
	oci_descriptor_release(&got);
	char prefix[9];
	snprintf(prefix, sizeof(prefix), "%.8s", oci_digest_hex(b.digest));
	assert_int_equal(petra_store_resolve(f->store, prefix, &got, NULL, &err), 0);
	assert_string_equal(got.digest, b.digest);
	oci_descriptor_release(&got);
	char *at = xasprintf("app@%s", a.digest);
	assert_int_equal(petra_store_resolve(f->store, at, &got, NULL, &err), 0);
	assert_string_equal(got.digest, a.digest);
	oci_descriptor_release(&got);
	free(at);
	/* Moving a name replaces it in place; the old image keeps its other names. */
	assert_int_equal(petra_store_set_ref(f->store, "app:1", &b, &err), 0);
	struct petra_store_entry *entries;
	size_t n;
	assert_int_equal(petra_store_list(f->store, &entries, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(entries[0].name, "app:1");
	assert_string_equal(entries[0].desc.digest, b.digest);
	petra_store_entries_free(entries, n);
	assert_int_equal(petra_store_remove_ref(f->store, "app:1", &err), 0);
	assert_true(petra_store_remove_ref(f->store, "app:1", &err) == -ENOENT);
	assert_error_contains(err, "not found");
	petra_error_free(err);
	err = NULL;
	assert_true(petra_store_resolve(f->store, "app:1", &got, NULL, &err) == -ENOENT);
	assert_error_contains(err, "image \"app:1\" not found");
	petra_error_free(err);
	err = NULL;
	/* A name never points at a missing blob. */
	struct oci_descriptor ghost = a;
	memcpy(ghost.digest, EMPTY_SHA256, sizeof(EMPTY_SHA256));
	assert_true(petra_store_set_ref(f->store, "ghost:1", &ghost, &err) == -ENOENT);
	petra_error_free(err);
	oci_descriptor_release(&a);
	oci_descriptor_release(&b);
}

struct reports {
	struct strvec lines;
};

static void collect(void *ctx, const char *object, const char *problem)
{
	struct reports *r = ctx;
	strvec_pushf(&r->lines, "%s: %s", object, problem);
}

static bool reported(struct reports *r, const char *needle)
{
	for (size_t i = 0; i < r->lines.n; i++)
		if (strstr(r->lines.v[i], needle))
			return true;
	return false;
}

static void test_check_and_prune(void **state)
{
	struct store_fixture *f = *state;
	struct oci_descriptor a, orphan;
	put_image(f, "keep:1", "KKK", &a);
	put_image(f, NULL, "OOO", &orphan);
	struct petra_error *err = NULL;
	struct reports r = {STRVEC_INIT};
	unsigned problems = 0;
	assert_int_equal(petra_store_check(f->store, collect, &r, &problems, &err), 0);
	assert_int_equal(problems, 0);
	/* Prune needs the exclusive lock: reopen the store that way. */
	char *root = path_join(f->dir, "store");
	petra_store_close(f->store);
	assert_int_equal(petra_store_open(root, PETRA_STORE_EXCLUSIVE, &f->store, &err), 0);
	uint64_t blobs, bytes;
	assert_int_equal(petra_store_prune(f->store, true, &blobs, &bytes, &err), 0);
	assert_int_equal(blobs, 2); /* the orphan's manifest and layer; the config is shared */
	assert_true(petra_store_has_blob(f->store, orphan.digest));
	assert_int_equal(petra_store_prune(f->store, false, &blobs, &bytes, &err), 0);
	assert_int_equal(blobs, 2);
	assert_false(petra_store_has_blob(f->store, orphan.digest));
	assert_true(petra_store_has_blob(f->store, a.digest));
	/* Now break things: a missing layer and a corrupted manifest. */
	char *text = manifest_text(EMPTY_SHA256, EMPTY_SHA256);
	char md[OCI_DIGEST_SIZE];
	assert_int_equal(petra_store_put_blob(f->store, text, strlen(text), md, &err), 0);
	struct oci_descriptor broken = {.media_type = (char *)OCI_MEDIA_TYPE_MANIFEST,
					.size = (int64_t)strlen(text)};
	memcpy(broken.digest, md, sizeof(md));
	/* A name is never written over a missing blob... */
	assert_true(petra_store_set_ref(f->store, "broken:1", &broken, &err) < 0);
	assert_error_contains(err, "name broken:1 not written: blob " EMPTY_SHA256 " is missing");
	petra_error_free(err);
	err = NULL;
	/* ...so the name goes into index.json by hand (as an older petra or
	 * another tool could have written it). */
	char *index_path = xasprintf("%s/index.json", root);
	json_t *index = json_load_file(index_path, 0, NULL);
	assert_non_null(index);
	json_t *entry = oci_descriptor_to_json(&broken);
	json_object_set_new(entry, "annotations",
			    json_pack("{s:s}", OCI_ANNOTATION_REF_NAME, "broken:1"));
	json_array_append_new(json_object_get(index, "manifests"), entry);
	assert_int_equal(json_dump_file(index, index_path, 0), 0);
	json_decref(index);
	free(index_path);
	char *path = xasprintf("%s/blobs/sha256/%s", root, oci_digest_hex(a.digest));
	chmod(path, 0644);
	FILE *fp = fopen(path, "a");
	fputs(" ", fp);
	fclose(fp);
	assert_int_equal(petra_store_check(f->store, collect, &r, &problems, &err), 0);
	assert_true(reported(&r, EMPTY_SHA256 ": missing (referenced by"));
	assert_true(reported(&r, "is corrupt"));
	assert_true(reported(&r, "bytes on disk"));
	assert_true(problems >= 3);
	/* Prune refuses to guess while a referenced manifest is unreadable. */
	assert_true(petra_store_prune(f->store, false, &blobs, &bytes, &err) < 0);
	assert_error_contains(err, "run 'petra fsck'");
	petra_error_free(err);
	strvec_clear(&r.lines);
	free(path);
	free(text);
	free(root);
	oci_descriptor_release(&a);
	oci_descriptor_release(&orphan);
}

/* A referrer manifest of `subject` with one layer of `content`. */
static void put_referrer(struct store_fixture *f, const struct oci_descriptor *subject,
			 const char *content, struct oci_descriptor *out)
{
	struct petra_error *err = NULL;
	char config[OCI_DIGEST_SIZE], layer[OCI_DIGEST_SIZE], manifest[OCI_DIGEST_SIZE];
	assert_int_equal(petra_store_put_blob(f->store, "{}", 2, config, &err), 0);
	assert_string_equal(config, OCI_EMPTY_DIGEST);
	assert_int_equal(petra_store_put_blob(f->store, content, strlen(content), layer, &err), 0);
	json_t *subj = oci_descriptor_to_json(subject);
	json_t *m = json_pack(
	    "{s:i,s:s,s:s,s:{s:s,s:s,s:i},s:[{s:s,s:s,s:i}],s:o}", "schemaVersion", 2, "mediaType",
	    OCI_MEDIA_TYPE_MANIFEST, "artifactType", "application/x.test", "config", "mediaType",
	    OCI_MEDIA_TYPE_EMPTY, "digest", config, "size", 2, "layers", "mediaType",
	    "application/x.test", "digest", layer, "size", (int)strlen(content), "subject", subj);
	size_t len;
	char *text = json_dump_compact(m, &len);
	json_decref(m);
	assert_int_equal(petra_store_put_blob(f->store, text, len, manifest, &err), 0);
	free(text);
	memset(out, 0, sizeof(*out));
	out->media_type = xstrdup(OCI_MEDIA_TYPE_MANIFEST);
	memcpy(out->digest, manifest, sizeof(manifest));
	out->size = (int64_t)len;
}

static size_t count_referrers(struct store_fixture *f, const char *subject, const char *type)
{
	struct oci_descriptor *v = NULL;
	size_t n = 0;
	struct petra_error *err = NULL;
	assert_int_equal(petra_store_list_referrers(f->store, subject, type, &v, &n, &err), 0);
	oci_descriptors_release(v, n);
	return n;
}

static void test_referrers(void **state)
{
	struct store_fixture *f = *state;
	struct oci_descriptor a, b, ra, rb, rr;
	put_image(f, "a:1", "AAA", &a);
	put_image(f, NULL, "BBB", &b); /* a manifest no name keeps */
	put_referrer(f, &a, "record of a", &ra);
	put_referrer(f, &b, "record of b", &rb);
	put_referrer(f, &ra, "signature of a's record", &rr);
	struct petra_error *err = NULL;
	/* The subject a referrer's manifest names is the one it is added under. */
	assert_true(petra_store_add_referrer(f->store, b.digest, &ra, &err) < 0);
	assert_error_contains(err, "its subject is");
	petra_error_free(err);
	err = NULL;
	assert_true(petra_store_add_referrer(f->store, a.digest, &a, &err) < 0);
	assert_error_contains(err, "has no subject");
	petra_error_free(err);
	err = NULL;
	assert_int_equal(petra_store_add_referrer(f->store, a.digest, &ra, &err), 0);
	assert_int_equal(petra_store_add_referrer(f->store, a.digest, &ra, &err), 0); /* once */
	assert_int_equal(petra_store_add_referrer(f->store, b.digest, &rb, &err), 0);
	assert_int_equal(petra_store_add_referrer(f->store, ra.digest, &rr, &err), 0);
	struct oci_descriptor *v = NULL;
	size_t n = 0;
	assert_int_equal(petra_store_list_referrers(f->store, a.digest, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].digest, ra.digest);
	assert_string_equal(v[0].artifact_type, "application/x.test");
	oci_descriptors_release(v, n);
	assert_int_equal(count_referrers(f, a.digest, "application/x.test"), 1);
	assert_int_equal(count_referrers(f, a.digest, "application/x.other"), 0);
	/* Referrers are not images: the store's list has only a:1. */
	struct petra_store_entry *entries;
	assert_int_equal(petra_store_list(f->store, &entries, &n, &err), 0);
	assert_int_equal(n, 1);
	petra_store_entries_free(entries, n);
	/* fsck walks them: all is well. */
	struct reports r = {STRVEC_INIT};
	unsigned problems = 0;
	assert_int_equal(petra_store_check(f->store, collect, &r, &problems, &err), 0);
	assert_int_equal(problems, 0);
	/* gc keeps a referrer (and its referrer) while its subject is kept,
	 * drops one whose subject goes. */
	char *root = path_join(f->dir, "store");
	petra_store_close(f->store);
	assert_int_equal(petra_store_open(root, PETRA_STORE_EXCLUSIVE, &f->store, &err), 0);
	uint64_t blobs, bytes;
	assert_int_equal(petra_store_prune(f->store, false, &blobs, &bytes, &err), 0);
	assert_false(petra_store_has_blob(f->store, b.digest));
	assert_false(petra_store_has_blob(f->store, rb.digest));
	assert_int_equal(count_referrers(f, b.digest, NULL), 0);
	assert_true(petra_store_has_blob(f->store, ra.digest));
	assert_true(petra_store_has_blob(f->store, rr.digest));
	assert_int_equal(count_referrers(f, a.digest, NULL), 1);
	assert_int_equal(count_referrers(f, ra.digest, NULL), 1);
	assert_int_equal(petra_store_check(f->store, collect, &r, &problems, &err), 0);
	assert_int_equal(problems, 0);
	/* A corrupt referrer blob is caught by fsck. */
	char *path = xasprintf("%s/blobs/sha256/%s", root, oci_digest_hex(ra.digest));
	chmod(path, 0644);
	FILE *fp = fopen(path, "a");
	fputs(" ", fp);
	fclose(fp);
	assert_int_equal(petra_store_check(f->store, collect, &r, &problems, &err), 0);
	assert_true(problems > 0);
	assert_true(reported(&r, "corrupt"));
	free(path);
	/* Its subject's name removed, the referrer chain goes with the next prune. */
	assert_int_equal(petra_store_remove_ref(f->store, "a:1", &err), 0);
	assert_int_equal(petra_store_prune(f->store, false, &blobs, &bytes, &err), 0);
	assert_false(petra_store_has_blob(f->store, a.digest));
	assert_false(petra_store_has_blob(f->store, ra.digest));
	assert_false(petra_store_has_blob(f->store, rr.digest));
	assert_int_equal(count_referrers(f, a.digest, NULL), 0);
	assert_int_equal(count_referrers(f, ra.digest, NULL), 0);
	strvec_clear(&r.lines);
	free(root);
	oci_descriptor_release(&a);
	oci_descriptor_release(&b);
	oci_descriptor_release(&ra);
	oci_descriptor_release(&rb);
	oci_descriptor_release(&rr);
}

static void test_replace_referrers(void **state)
{
	struct store_fixture *f = *state;
	struct oci_descriptor a, r1, r2, sig;
	put_image(f, "a:1", "AAA", &a);
	put_referrer(f, &a, "first", &r1);
	put_referrer(f, &a, "second", &r2);
	put_referrer(f, &a, "third", &sig);
	struct petra_error *err = NULL;
	assert_int_equal(petra_store_add_referrer(f->store, a.digest, &r1, &err), 0);
	assert_int_equal(petra_store_add_referrer(f->store, a.digest, &sig, &err), 0);
	/* Same artifact type: r2 takes r1's place; sig is another referrer
	 * of that type too, so it goes as well: one of a kind. */
	assert_int_equal(petra_store_replace_referrers(f->store, a.digest, &r2, &err), 0);
	struct oci_descriptor *v = NULL;
	size_t n = 0;
	assert_int_equal(petra_store_list_referrers(f->store, a.digest, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].digest, r2.digest);
	oci_descriptors_release(v, n);
	oci_descriptor_release(&a);
	oci_descriptor_release(&r1);
	oci_descriptor_release(&r2);
	oci_descriptor_release(&sig);
}

static void test_read_only_layout_without_blobs(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	test_write_file(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 0644);
	test_write_file(dir, "index.json", "{\"schemaVersion\":2,\"manifests\":[]}", 0644);
	struct petra_store *s;
	struct petra_error *err = NULL;
	assert_int_equal(petra_store_open(dir, 0, &s, &err), 0);
	assert_false(petra_store_has_blob(s, EMPTY_SHA256));
	struct petra_blob_writer *w;
	assert_true(petra_store_blob_begin(s, &w, &err) < 0);
	assert_error_contains(err, "not open for writing");
	petra_error_free(err);
	petra_store_close(s);
	/* Not a layout at all. */
	char *other = test_tmpdir();
	err = NULL;
	assert_true(petra_store_open(other, 0, &s, &err) < 0);
	assert_error_contains(err, "is not an OCI image layout");
	petra_error_free(err);
	test_rmtree(other);
	test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_digests),
	    cmocka_unit_test(test_references),
	    cmocka_unit_test(test_documents),
	    cmocka_unit_test_setup_teardown(test_store_layout_and_blobs, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_names, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_check_and_prune, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_referrers, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_replace_referrers, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test(test_read_only_layout_without_blobs),
	};
	return cmocka_run_group_tests_name("oci", tests, NULL, NULL);
}
