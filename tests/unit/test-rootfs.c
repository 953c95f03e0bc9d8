/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/rootfs: the layer cache, lookups through layers, the
 * merged copy, verification of extracted layers, and garbage collection. */
#include "testutil.h"

#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/image.h"
#include "rootfs/rootfs.h"

/* Two overlay lower directories by hand: lower has a, dir/b, dir/c,
 * gone; upper whites out "gone" and makes "dir" opaque with only dir/d. */
static void make_layers(const char *tmp, char **lower, char **upper)
{
	*lower = path_join(tmp, "lower");
	*upper = path_join(tmp, "upper");
	test_write_file(*lower, "a", "lower a\n", 0644);
	test_write_file(*lower, "dir/b", "lower b\n", 0600);
	test_write_file(*lower, "dir/c", "lower c\n", 0644);
	test_write_file(*lower, "gone", "lower gone\n", 0644);
	test_write_file(*upper, "dir/d", "upper d\n", 0640);
	test_write_file(*upper, "a", "upper a\n", 0644);
	char *gone = path_join(*upper, "gone");
	assert_int_equal(mknod(gone, S_IFCHR | 0000, makedev(0, 0)), 0);
	free(gone);
	char *dir = path_join(*upper, "dir");
	assert_int_equal(setxattr(dir, "trusted.overlay.opaque", "y", 1, 0), 0);
	free(dir);
}

static void test_lookup_follows_overlay_rules(void **state)
{
	(void)state;
	char *tmp = test_tmpdir(), *lower, *upper;
	make_layers(tmp, &lower, &upper);
	const char *lowers[] = {lower, upper};
	struct stat st;
	size_t layer = 99;
	assert_int_equal(rootfs_lookup(lowers, 2, "/a", &st, &layer), 0);
	assert_int_equal(layer, 1); /* the top layer wins */
	assert_int_equal(rootfs_lookup(lowers, 2, "gone", &st, NULL), -ENOENT);
	assert_int_equal(rootfs_lookup(lowers, 2, "dir/b", &st, NULL), -ENOENT); /* opaque */
	assert_int_equal(rootfs_lookup(lowers, 2, "dir/d", &st, &layer), 0);
	assert_int_equal(rootfs_lookup(lowers, 1, "dir/b", &st, &layer), 0);
	assert_int_equal(layer, 0);
	char *data = NULL;
	size_t len;
	struct petra_error *err = NULL;
	assert_int_equal(rootfs_read_file(lowers, 2, "/a", 1024, &data, &len, &err), 0);
	assert_string_equal(data, "upper a\n");
	free(data);
	assert_int_equal(rootfs_read_file(lowers, 2, "/gone", 1024, &data, &len, &err), -ENOENT);
	assert_error_contains(err, "not in the image");
	petra_error_free(err);
	free(lower);
	free(upper);
	test_rmtree(tmp);
}

static void test_merge_copy_is_what_overlayfs_shows(void **state)
{
	(void)state;
	char *tmp = test_tmpdir(), *lower, *upper;
	make_layers(tmp, &lower, &upper);
	char *dest = path_join(tmp, "merged");
	assert_int_equal(mkdir(dest, 0700), 0);
	int fd = open(dest, O_RDONLY | O_DIRECTORY);
	const char *lowers[] = {lower, upper};
	struct petra_error *err = NULL;
	assert_int_equal(rootfs_merge_copy(lowers, 2, fd, &err), 0);
	close(fd);
	char *data = NULL;
	char *p = path_join(dest, "a");
	assert_int_equal(fs_read_file_at(AT_FDCWD, p, 1024, &data, NULL, &err), 0);
	assert_string_equal(data, "upper a\n");
	free(data);
	free(p);
	struct stat st;
	p = path_join(dest, "gone");
	assert_int_equal(lstat(p, &st), -1); /* whited out */
	free(p);
	p = path_join(dest, "dir/b");
	assert_int_equal(lstat(p, &st), -1); /* hidden by the opaque directory */
	free(p);
	p = path_join(dest, "dir/d");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	free(p);
	free(dest);
	free(lower);
	free(upper);
	test_rmtree(tmp);
}

/* A store with one image imported from a small directory. */
static struct petra_store *store_with_image(const char *tmp, struct image *img)
{
	char *src = path_join(tmp, "src");
	test_write_file(src, "etc/passwd", "root:x:0:0::/:/bin/sh\n", 0644);
	test_write_file(src, "bin/tool", "#!/bin/sh\necho tool\n", 0755);
	char *root = path_join(tmp, "store");
	struct petra_store *store = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(
	    petra_store_open(root, PETRA_STORE_CREATE | PETRA_STORE_WRITE, &store, &err), 0);
	struct image_import_options o = {.name = "unit:1"};
	char *name = NULL;
	char digest[OCI_DIGEST_SIZE];
	assert_int_equal(image_import(store, src, &o, &name, digest, &err), 0);
	assert_int_equal(image_load(store, "unit:1", img, &err), 0);
	free(name);
	free(root);
	free(src);
	return store;
}

static unsigned count_problems(struct petra_store *store, const struct image *img)
{
	unsigned problems = 0;
	struct petra_error *err = NULL;
	assert_int_equal(rootfs_verify(store, img, NULL, NULL, &problems, &err), 0);
	return problems;
}

static void test_cache_extracts_once_and_verify_catches_tampering(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct image img;
	struct petra_store *store = store_with_image(tmp, &img);
	struct strvec lowers = STRVEC_INIT;
	struct petra_error *err = NULL;
	/* Nothing cached: nothing to verify, nothing wrong. */
	assert_int_equal(count_problems(store, &img), 0);
	assert_int_equal(rootfs_prepare(store, &img, &lowers, &err), 0);
	assert_int_equal(lowers.n, 1);
	char *expected = rootfs_layer_dir(store, img.config.diff_ids.v[0]);
	assert_string_equal(lowers.v[0], expected);
	struct stat before, after;
	assert_int_equal(stat(expected, &before), 0);
	/* A second prepare uses the cache. */
	strvec_clear(&lowers);
	assert_int_equal(rootfs_prepare(store, &img, &lowers, &err), 0);
	assert_int_equal(stat(expected, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(count_problems(store, &img), 0);
	/* Content, mode, an extra file and a missing one are all caught. */
	char *passwd = path_join(expected, "etc/passwd");
	test_write_file(expected, "etc/passwd", "evil:x:0:0::/:/bin/sh\n", 0644);
	assert_int_equal(count_problems(store, &img), 1);
	test_write_file(expected, "etc/passwd", "root:x:0:0::/:/bin/sh\n", 0644);
	assert_int_equal(count_problems(store, &img), 0);
	assert_int_equal(chmod(passwd, 0666), 0);
	assert_int_equal(count_problems(store, &img), 1);
	assert_int_equal(chmod(passwd, 0644), 0);
	test_write_file(expected, "bin/extra", "", 0755);
	char *tool = path_join(expected, "bin/tool");
	assert_int_equal(unlink(tool), 0);
	assert_int_equal(count_problems(store, &img), 2);
	free(tool);
	free(passwd);
	free(expected);
	strvec_clear(&lowers);
	image_release(&img);
	petra_store_close(store);
	test_rmtree(tmp);
}

static void test_adopted_layer_is_used_until_a_reboot(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct image img;
	struct petra_store *store = store_with_image(tmp, &img);
	struct petra_error *err = NULL;
	const char *diff_id = img.config.diff_ids.v[0];
	/* A directory standing for the layer, as the builder would adopt it
	 * (its content differs from the blob so the test can tell them apart). */
	char *dir = path_join(tmp, "upper");
	test_write_file(dir, "adopted", "from the directory\n", 0644);
	char *cached = NULL;
	assert_int_equal(rootfs_adopt_layer(store, diff_id, dir, &cached, &err), 0);
	char *expected = rootfs_layer_dir(store, diff_id);
	assert_string_equal(cached, expected);
	struct stat st;
	assert_int_not_equal(stat(dir, &st), 0);
	/* In this boot the adopted directory is the layer. */
	char *layer = NULL;
	assert_int_equal(rootfs_ensure_layer(store, &img.manifest.layers[0], diff_id, &layer, &err),
			 0);
	char *adopted = path_join(expected, "adopted");
	assert_int_equal(stat(adopted, &st), 0);
	free(layer);
	/* After a reboot (another boot id in the marker) it is not trusted:
	 * the blob is extracted again. */
	char *marker = xasprintf("%s.unsynced", expected);
	int fd = open(marker, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, "an-earlier-boot", 15), 0);
	close(fd);
	assert_int_equal(rootfs_ensure_layer(store, &img.manifest.layers[0], diff_id, &layer, &err),
			 0);
	assert_int_not_equal(stat(adopted, &st), 0);
	assert_int_not_equal(stat(marker, &st), 0);
	char *passwd = path_join(expected, "etc/passwd");
	assert_int_equal(stat(passwd, &st), 0);
	/* Adopting a layer that is cached already drops the directory. */
	char *again = path_join(tmp, "again");
	test_write_file(again, "x", "x\n", 0644);
	free(cached);
	assert_int_equal(rootfs_adopt_layer(store, diff_id, again, &cached, &err), 0);
	assert_int_not_equal(stat(again, &st), 0);
	assert_int_equal(stat(passwd, &st), 0);
	free(again);
	free(passwd);
	free(marker);
	free(adopted);
	free(layer);
	free(cached);
	free(expected);
	free(dir);
	image_release(&img);
	petra_store_close(store);
	test_rmtree(tmp);
}

/* Import a one-file image as `name` into an open store, extract its
 * layer, and return its diff_id (caller frees). */
static char *import_extracted(struct petra_store *store, const char *tmp, const char *name)
{
	char *src = path_join(tmp, name);
	test_write_file(src, "id", name, 0644);
	struct image_import_options o = {.name = name};
	char *stored = NULL;
	char digest[OCI_DIGEST_SIZE];
	struct petra_error *err = NULL;
	assert_int_equal(image_import(store, src, &o, &stored, digest, &err), 0);
	struct image img;
	assert_int_equal(image_load(store, name, &img, &err), 0);
	struct strvec lowers = STRVEC_INIT;
	assert_int_equal(rootfs_prepare(store, &img, &lowers, &err), 0);
	char *diff_id = xstrdup(img.config.diff_ids.v[0]);
	strvec_clear(&lowers);
	image_release(&img);
	free(stored);
	free(src);
	return diff_id;
}

static bool layer_extracted(struct petra_store *store, const char *diff_id)
{
	char *dir = rootfs_layer_dir(store, diff_id);
	struct stat st;
	bool there = stat(dir, &st) == 0;
	free(dir);
	return there;
}

static void test_collect_garbage_spares_images_and_users(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	char *root = path_join(tmp, "store");
	struct petra_store *store = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(
	    petra_store_open(root, PETRA_STORE_CREATE | PETRA_STORE_WRITE, &store, &err), 0);
	char *kept = import_extracted(store, tmp, "kept:1");
	char *gone = import_extracted(store, tmp, "gone:1");
	char *used = import_extracted(store, tmp, "used:1");
	assert_int_equal(petra_store_remove_ref(store, "gone:1", &err), 0);
	assert_int_equal(petra_store_remove_ref(store, "used:1", &err), 0);
	petra_store_close(store);
	/* Garbage collection needs the store to itself; counting does not
	 * (petra info counts beside live writers). */
	assert_int_equal(petra_store_open(root, PETRA_STORE_WRITE, &store, &err), 0);
	struct rootfs_gc_result res;
	assert_int_equal(rootfs_collect_garbage(store, NULL, true, &res, &err), 0);
	assert_int_equal(res.blobs, 6);
	assert_true(rootfs_collect_garbage(store, NULL, false, &res, &err) < 0);
	assert_error_contains(err, "not opened exclusively");
	petra_error_free(err);
	err = NULL;
	petra_store_close(store);
	assert_int_equal(petra_store_open(root, PETRA_STORE_EXCLUSIVE, &store, &err), 0);
	struct strset in_use = STRSET_INIT;
	strset_add(&in_use, used);
	/* A dry run counts and removes nothing: two images of three blobs
	 * each (manifest, config, layer), one extracted layer (the other is
	 * in use). */
	assert_int_equal(rootfs_collect_garbage(store, &in_use, true, &res, &err), 0);
	assert_int_equal(res.blobs, 6);
	assert_true(res.bytes > 0);
	assert_int_equal(res.layers, 1);
	assert_true(layer_extracted(store, gone));
	assert_int_equal(rootfs_collect_garbage(store, &in_use, false, &res, &err), 0);
	assert_int_equal(res.blobs, 6);
	assert_int_equal(res.layers, 1);
	assert_false(layer_extracted(store, gone));
	assert_true(layer_extracted(store, used));
	assert_true(layer_extracted(store, kept));
	/* Nothing left to collect but the layer nobody uses any more. */
	assert_int_equal(rootfs_collect_garbage(store, NULL, false, &res, &err), 0);
	assert_int_equal(res.blobs, 0);
	assert_int_equal(res.layers, 1);
	assert_false(layer_extracted(store, used));
	assert_true(layer_extracted(store, kept));
	struct image img;
	assert_int_equal(image_load(store, "kept:1", &img, &err), 0);
	image_release(&img);
	strset_clear(&in_use);
	petra_store_close(store);
	free(kept);
	free(gone);
	free(used);
	free(root);
	test_rmtree(tmp);
}

/* An image that cannot be read hides which layers it needs: nothing is
 * removed. */
static void test_collect_garbage_keeps_everything_when_unsure(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	char *root = path_join(tmp, "store");
	struct petra_store *store = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(
	    petra_store_open(root, PETRA_STORE_CREATE | PETRA_STORE_WRITE, &store, &err), 0);
	char *kept = import_extracted(store, tmp, "kept:1");
	char *gone = import_extracted(store, tmp, "gone:1");
	struct image img;
	assert_int_equal(image_load(store, "kept:1", &img, &err), 0);
	char *config =
	    xasprintf("%s/blobs/sha256/%s", root, oci_digest_hex(img.manifest.config.digest));
	image_release(&img);
	assert_int_equal(petra_store_remove_ref(store, "gone:1", &err), 0);
	petra_store_close(store);
	assert_int_equal(chmod(config, 0644), 0);
	FILE *fp = fopen(config, "a");
	assert_non_null(fp);
	fputs(" ", fp);
	fclose(fp);
	assert_int_equal(petra_store_open(root, PETRA_STORE_EXCLUSIVE, &store, &err), 0);
	struct rootfs_gc_result res;
	assert_true(rootfs_collect_garbage(store, NULL, false, &res, &err) < 0);
	assert_non_null(err);
	petra_error_free(err);
	assert_true(layer_extracted(store, gone));
	assert_true(layer_extracted(store, kept));
	petra_store_close(store);
	free(config);
	free(kept);
	free(gone);
	free(root);
	test_rmtree(tmp);
}

/* Threads of one process extracting the same layer at once (flow's
 * parallel steps do): each gets the complete layer. Each one's sweep of
 * dead temporaries once took a neighbour's directory before it was held,
 * and the neighbour, re-creating the same name, then extracted into the
 * other's (by then placed) layer and failed to rename it. */
struct extractor {
	struct petra_store *store;
	const struct image *img;
	int result;
};

static void *extract_layer(void *arg)
{
	struct extractor *x = arg;
	char *dir = NULL;
	struct petra_error *err = NULL;
	x->result = rootfs_ensure_layer(x->store, &x->img->manifest.layers[0],
					x->img->config.diff_ids.v[0], &dir, &err);
	if (err)
		fprintf(stderr, "extract: %s\n", err->message);
	petra_error_free(err);
	free(dir);
	return NULL;
}

static void test_threads_extract_one_layer_at_once(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	char *root = path_join(tmp, "store");
	char *src = path_join(tmp, "rootfs");
	for (int i = 0; i < 50; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%03d", i);
		test_write_file(src, name, name, 0644);
	}
	struct petra_store *store = NULL;
	struct petra_error *err = NULL;
	assert_int_equal(
	    petra_store_open(root, PETRA_STORE_CREATE | PETRA_STORE_WRITE, &store, &err), 0);
	struct image_import_options o = {.name = "many:1"};
	char *stored = NULL;
	char digest[OCI_DIGEST_SIZE];
	assert_int_equal(image_import(store, src, &o, &stored, digest, &err), 0);
	struct image img;
	assert_int_equal(image_load(store, "many:1", &img, &err), 0);
	char *layer = rootfs_layer_dir(store, img.config.diff_ids.v[0]);
	for (int round = 0; round < 30; round++) {
		assert_int_equal(fs_remove_tree_at(AT_FDCWD, layer, &err), 0);
		struct extractor x[8];
		pthread_t t[8];
		for (int i = 0; i < 8; i++) {
			x[i] = (struct extractor){.store = store, .img = &img, .result = -1};
			assert_int_equal(pthread_create(&t[i], NULL, extract_layer, &x[i]), 0);
		}
		for (int i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			assert_int_equal(x[i].result, 0);
		}
		char *last = path_join(layer, "f049");
		struct stat st;
		assert_int_equal(stat(last, &st), 0);
		free(last);
	}
	free(layer);
	image_release(&img);
	free(stored);
	petra_store_close(store);
	free(src);
	free(root);
	test_rmtree(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup_follows_overlay_rules),
	    cmocka_unit_test(test_merge_copy_is_what_overlayfs_shows),
	    cmocka_unit_test(test_cache_extracts_once_and_verify_catches_tampering),
	    cmocka_unit_test(test_adopted_layer_is_used_until_a_reboot),
	    cmocka_unit_test(test_collect_garbage_spares_images_and_users),
	    cmocka_unit_test(test_collect_garbage_keeps_everything_when_unsure),
	    cmocka_unit_test(test_threads_extract_one_layer_at_once),
	};
	return cmocka_run_group_tests_name("rootfs", tests, NULL, NULL);
}
