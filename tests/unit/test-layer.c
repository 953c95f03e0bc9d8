/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/layer: codec round trips, reproducibility, whiteouts,
 * and the hostile-layer corpus. */
#include "store-fixture.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <zlib.h>

#include "layer/layer.h"

/* ---- helpers ---- */

static char *fixture_path(struct store_fixture *f, const char *rel)
{
	return path_join(f->dir, rel);
}

static void write_tree_layer(struct store_fixture *f, const char *tree, enum layer_compression c,
			     bool clamp, time_t clamp_to, struct layer_info *info)
{
	struct layer_writer_options o = {
	    .compression = c, .clamp_mtime = clamp, .mtime_clamp = clamp_to};
	struct layer_writer *w;
	struct petra_error *err = NULL;
	assert_int_equal(layer_writer_new(f->store, &o, &w, &err), 0);
	int fd = open(tree, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	if (layer_writer_add_tree(w, fd, "", 0, &err) < 0)
		fail_msg("add_tree: %s", err->message);
	close(fd);
	if (layer_writer_finish(w, info, &err) < 0)
		fail_msg("finish: %s", err->message);
}

/* Apply a blob of the store onto dir (created if needed); returns the
 * result and leaves any error in *err. */
static int apply_blob(struct store_fixture *f, const struct layer_info *info, const char *dir,
		      unsigned flags, struct petra_error **err)
{
	mkdir(dir, 0755);
	int root = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);
	int fd = petra_store_open_blob(f->store, info->digest, err);
	assert_true(fd >= 0);
	enum layer_compression c;
	assert_int_equal(layer_compression_from_media_type(info->media_type, &c, err), 0);
	struct layer_reader_options ro = {
	    .compression = c,
	    .expected_digest = info->digest,
	    .expected_diff_id = info->diff_id,
	};
	struct layer_reader *r;
	assert_int_equal(layer_reader_open(fd, &ro, &r, err), 0);
	struct layer_apply_options ao = {.flags = flags};
	int e = layer_apply(r, root, &ao, err);
	layer_reader_close(r);
	close(fd);
	close(root);
	return e;
}

/* Apply a tar file (any compression) onto dir. */
static int apply_file(const char *file, enum layer_compression c, const char *dir,
		      struct petra_error **err)
{
	mkdir(dir, 0755);
	int root = open(dir, O_RDONLY | O_DIRECTORY);
	int fd = open(file, O_RDONLY);
	assert_true(root >= 0 && fd >= 0);
	struct layer_reader_options ro = {.compression = c};
	struct layer_reader *r;
	assert_int_equal(layer_reader_open(fd, &ro, &r, err), 0);
	struct layer_apply_options ao = {0};
	int e = layer_apply(r, root, &ao, err);
	layer_reader_close(r);
	close(fd);
	close(root);
	return e;
}

/* A listing of a tree: path, type, mode, owner, size, link target,
 * content checksum, user xattrs, and which paths share an inode. */
static void list_dir(const char *root, const char *rel, struct strvec *out)
{
	char *dir = *rel ? path_join(root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct strvec names = STRVEC_INIT;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strvec_push(&names, de->d_name);
	closedir(d);
	strvec_sort(&names);
	for (size_t i = 0; i < names.n; i++) {
		char *p = *rel ? path_join(rel, names.v[i]) : xstrdup(names.v[i]);
		char *full = path_join(root, p);
		struct stat st;
		assert_int_equal(lstat(full, &st), 0);
		struct strbuf line = STRBUF_INIT;
		strbuf_addf(&line, "%s %o %u:%u", p, st.st_mode, st.st_uid, st.st_gid);
		if (S_ISREG(st.st_mode)) {
			char *data;
			size_t len;
			assert_int_equal(
			    fs_read_file_at(AT_FDCWD, full, 1 << 24, &data, &len, NULL), 0);
			strbuf_addf(&line, " size=%zu crc=%lx links=%lu", len,
				    crc32(0, (const Bytef *)data, (uInt)len),
				    (unsigned long)st.st_nlink);
			free(data);
			char value[64];
			ssize_t n = getxattr(full, "user.petra", value, sizeof(value) - 1);
			if (n >= 0) {
				value[n] = '\0';
				strbuf_addf(&line, " xattr=%s", value);
			}
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(full, target, sizeof(target) - 1);
			assert_true(n >= 0);
			target[n] = '\0';
			strbuf_addf(&line, " -> %s", target);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			strbuf_addf(&line, " dev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
		}
		strvec_push_nodup(out, strbuf_detach(&line));
		if (S_ISDIR(st.st_mode))
			list_dir(root, p, out);
		free(full);
		free(p);
	}
	strvec_clear(&names);
	free(dir);
}

static void assert_same_trees(const char *a, const char *b)
{
	struct strvec la = STRVEC_INIT, lb = STRVEC_INIT;
	list_dir(a, "", &la);
	list_dir(b, "", &lb);
	for (size_t i = 0; i < la.n || i < lb.n; i++) {
		const char *x = i < la.n ? la.v[i] : "(nothing)";
		const char *y = i < lb.n ? lb.v[i] : "(nothing)";
		if (strcmp(x, y) != 0)
			fail_msg("trees differ:\n  %s\n  %s", x, y);
	}
	strvec_clear(&la);
	strvec_clear(&lb);
}

static bool has_entry(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	struct stat st;
	bool found = lstat(p, &st) == 0;
	free(p);
	return found;
}

/* A tree with every kind of entry the codec must carry. */
static void make_rich_tree(const char *dir)
{
	test_write_file(dir, "etc/config", "key=value\n", 0640);
	test_write_file(dir, "usr/bin/tool", "#!/bin/sh\necho hi\n", 0755);
	test_write_file(dir, "usr/bin/su", "setuid\n", 04755);
	test_write_file(dir, "empty", "", 0600);
	char long_rel[300];
	snprintf(long_rel, sizeof(long_rel), "deep/%s/%s/file-with-a-rather-long-name-%s",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "ccccccccccccccccccccccccccccccccccccccccccccccccccc");
	test_write_file(dir, long_rel, "long\n", 0644);
	test_write_file(dir, "unicode/h\xc3\xa9llo w\xc3\xb6rld", "utf-8\n", 0644);
	char *p = path_join(dir, "usr/bin/link");
	assert_int_equal(symlink("tool", p), 0);
	free(p);
	p = path_join(dir, "abs-link");
	assert_int_equal(symlink("/etc/config", p), 0);
	free(p);
	char *a = path_join(dir, "usr/bin/tool"), *b = path_join(dir, "usr/bin/tool-hardlink");
	assert_int_equal(link(a, b), 0);
	free(a);
	free(b);
	p = path_join(dir, "fifo");
	assert_int_equal(mkfifo(p, 0620), 0);
	free(p);
	p = path_join(dir, "etc");
	assert_int_equal(chmod(p, 0750), 0);
	free(p);
	p = path_join(dir, "etc/config");
	/* user xattrs need a filesystem that has them; /tmp normally does. */
	if (setxattr(p, "user.petra", "yes", 3, 0) < 0)
		fprintf(stderr, "# note: no user xattrs on this filesystem\n");
	free(p);
	p = path_join(dir, "owned");
	assert_int_equal(mkdir(p, 0700), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(p, 1234, 5678), 0);
	free(p);
}

/* ---- tests ---- */

static void test_round_trip_every_entry_kind(void **state)
{
	struct store_fixture *f = *state;
	char *tree = fixture_path(f, "tree"), *out = fixture_path(f, "out");
	mkdir(tree, 0755);
	make_rich_tree(tree);
	static const enum layer_compression kinds[] = {
	    LAYER_COMPRESSION_GZIP, LAYER_COMPRESSION_ZSTD, LAYER_COMPRESSION_NONE};
	char diff_id[OCI_DIGEST_SIZE] = "";
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct layer_info info;
		write_tree_layer(f, tree, kinds[k], false, 0, &info);
		assert_string_equal(info.media_type, layer_media_type(kinds[k]));
		/* The uncompressed tar is the same whatever the compression. */
		if (k == 0)
			memcpy(diff_id, info.diff_id, sizeof(diff_id));
		else
			assert_string_equal(info.diff_id, diff_id);
		struct petra_error *err = NULL;
		if (apply_blob(f, &info, out, 0, &err) < 0)
			fail_msg("apply (%s): %s", layer_compression_name(kinds[k]), err->message);
		assert_same_trees(tree, out);
		assert_int_equal(fs_remove_tree_at(AT_FDCWD, out, &err), 0);
	}
	free(tree);
	free(out);
}

static void test_reproducible_digests(void **state)
{
	struct store_fixture *f = *state;
	char *a = fixture_path(f, "a"), *b = fixture_path(f, "b");
	mkdir(a, 0755);
	mkdir(b, 0755);
	/* The same content created in a different order, at other times. */
	test_write_file(a, "x/one", "1", 0644);
	test_write_file(a, "x/two", "2", 0644);
	test_write_file(a, "y", "3", 0644);
	test_write_file(b, "y", "3", 0644);
	test_write_file(b, "x/two", "2", 0644);
	test_write_file(b, "x/one", "1", 0644);
	char *bx = path_join(b, "x");
	struct timespec later[2] = {{0, UTIME_OMIT}, {2000000000, 123}};
	assert_int_equal(utimensat(AT_FDCWD, bx, later, 0), 0);
	struct layer_info ia, ib, ia2;
	write_tree_layer(f, a, LAYER_COMPRESSION_GZIP, true, 1700000000, &ia);
	write_tree_layer(f, a, LAYER_COMPRESSION_GZIP, true, 1700000000, &ia2);
	write_tree_layer(f, b, LAYER_COMPRESSION_GZIP, true, 1700000000, &ib);
	assert_string_equal(ia.digest, ia2.digest);
	assert_string_equal(ia.diff_id, ib.diff_id);
	assert_string_equal(ia.digest, ib.digest);
	/* Without clamping, the changed mtime shows. */
	struct layer_info ua, ub;
	write_tree_layer(f, a, LAYER_COMPRESSION_GZIP, false, 0, &ua);
	write_tree_layer(f, b, LAYER_COMPRESSION_GZIP, false, 0, &ub);
	assert_string_not_equal(ua.diff_id, ub.diff_id);
	free(bx);
	free(a);
	free(b);
}

/* Write the tar of a layer into a file as two gzip members. */
static void write_two_member_gzip(struct store_fixture *f, const struct layer_info *plain,
				  const char *file)
{
	char *data;
	size_t len;
	struct petra_error *err = NULL;
	char *blob = path_join(f->store_dir, "blobs/sha256");
	char *path = path_join(blob, oci_digest_hex(plain->digest));
	assert_int_equal(fs_read_file_at(AT_FDCWD, path, 1 << 24, &data, &len, &err), 0);
	FILE *out = fopen(file, "wb");
	size_t half = len / 2;
	for (int part = 0; part < 2; part++) {
		gzFile gz = gzdopen(dup(fileno(out)), "ab");
		gzwrite(gz, data + (part ? half : 0), (unsigned)(part ? len - half : half));
		gzclose(gz);
		fseek(out, 0, SEEK_END);
	}
	fclose(out);
	free(data);
	free(path);
	free(blob);
}

static void test_multi_member_gzip_and_trailing_garbage(void **state)
{
	struct store_fixture *f = *state;
	char *tree = fixture_path(f, "tree");
	mkdir(tree, 0755);
	test_write_file(tree, "a/b", "content of b\n", 0644);
	test_write_file(tree, "c", "content of c\n", 0600);
	struct layer_info plain;
	write_tree_layer(f, tree, LAYER_COMPRESSION_NONE, false, 0, &plain);
	char *gz = fixture_path(f, "two.gz"), *out = fixture_path(f, "out");
	write_two_member_gzip(f, &plain, gz);
	struct petra_error *err = NULL;
	if (apply_file(gz, LAYER_COMPRESSION_GZIP, out, &err) < 0)
		fail_msg("two members: %s", err->message);
	assert_same_trees(tree, out);
	/* Garbage after the last member is an error. */
	FILE *fp = fopen(gz, "ab");
	fputs("garbage", fp);
	fclose(fp);
	char *out2 = fixture_path(f, "out2");
	assert_true(apply_file(gz, LAYER_COMPRESSION_GZIP, out2, &err) < 0);
	assert_error_contains(err, "trailing garbage");
	petra_error_free(err);
	free(out2);
	free(out);
	free(gz);
	free(tree);
}

static void test_corruption_is_detected(void **state)
{
	struct store_fixture *f = *state;
	char *tree = fixture_path(f, "tree");
	mkdir(tree, 0755);
	test_write_file(tree, "file", "some content that will be compressed\n", 0644);
	struct layer_info info;
	write_tree_layer(f, tree, LAYER_COMPRESSION_GZIP, false, 0, &info);
	struct petra_error *err = NULL;
	/* The wrong expected diff_id. */
	struct layer_info wrong = info;
	memcpy(wrong.diff_id, info.digest, sizeof(wrong.diff_id));
	char *out = fixture_path(f, "out");
	assert_true(apply_blob(f, &wrong, out, 0, &err) < 0);
	assert_error_contains(err, "not to the config's diff_id");
	petra_error_free(err);
	err = NULL;
	/* A flipped byte in the compressed stream. */
	char *blob = path_join(f->store_dir, "blobs/sha256");
	char *path = path_join(blob, oci_digest_hex(info.digest));
	chmod(path, 0644);
	int fd = open(path, O_RDWR);
	char byte;
	assert_int_equal(pread(fd, &byte, 1, 30), 1);
	byte ^= 0x55;
	assert_int_equal(pwrite(fd, &byte, 1, 30), 1);
	close(fd);
	int rfd = open(path, O_RDONLY);
	struct layer_reader_options ro = {.compression = LAYER_COMPRESSION_GZIP,
					  .expected_digest = info.digest};
	assert_true(layer_verify_fd(rfd, &ro, &err) < 0);
	assert_non_null(err);
	petra_error_free(err);
	close(rfd);
	free(path);
	free(blob);
	free(out);
	free(tree);
}

/* An uncompressed layer is hashed once for both digests: each is still
 * compared with what was expected. */
static void test_uncompressed_digests_are_verified(void **state)
{
	struct store_fixture *f = *state;
	char *tree = fixture_path(f, "tree");
	mkdir(tree, 0755);
	test_write_file(tree, "file", "uncompressed content\n", 0644);
	struct layer_info info;
	write_tree_layer(f, tree, LAYER_COMPRESSION_NONE, false, 0, &info);
	assert_string_equal(info.digest, info.diff_id);
	char other[OCI_DIGEST_SIZE];
	oci_digest_buffer("something else", 14, other);
	struct {
		const char *digest, *diff_id, *error; /* NULL: verifies */
	} cases[] = {
	    {info.digest, info.diff_id, NULL},
	    {NULL, NULL, NULL},
	    {info.digest, other, "not to the config's diff_id"},
	    {other, info.diff_id, "blob is corrupt"},
	    {NULL, other, "not to the config's diff_id"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int fd = petra_store_open_blob(f->store, info.digest, NULL);
		assert_true(fd >= 0);
		struct layer_reader_options ro = {.compression = LAYER_COMPRESSION_NONE,
						  .expected_digest = cases[i].digest,
						  .expected_diff_id = cases[i].diff_id};
		struct petra_error *err = NULL;
		int r = layer_verify_fd(fd, &ro, &err);
		close(fd);
		if (!cases[i].error) {
			if (r < 0)
				fail_msg("case %zu: %s", i, err->message);
			continue;
		}
		if (r >= 0)
			fail_msg("case %zu verified", i);
		assert_error_contains(err, cases[i].error);
		petra_error_free(err);
	}
	free(tree);
}

/* Build a layer from explicit entries (for whiteouts and odd cases). */
struct spec {
	const char *path;
	char type;       /* f file, d dir, l symlink, h hardlink */
	const char *arg; /* content or target */
};

static void write_spec_layer(struct store_fixture *f, const struct spec *specs, size_t n,
			     struct layer_info *info)
{
	struct layer_writer_options o = {.compression = LAYER_COMPRESSION_GZIP};
	struct layer_writer *w;
	struct petra_error *err = NULL;
	assert_int_equal(layer_writer_new(f->store, &o, &w, &err), 0);
	for (size_t i = 0; i < n; i++) {
		const struct spec *s = &specs[i];
		const char *base = strrchr(s->path, '/') ? strrchr(s->path, '/') + 1 : s->path;
		int r;
		if (!strcmp(base, ".wh..wh..opq")) {
			char *dir = xstrndup(
			    s->path, (size_t)(base - s->path) ? (size_t)(base - s->path) - 1 : 0);
			r = layer_writer_add_opaque(w, dir, &err);
			free(dir);
		} else if (!strncmp(base, ".wh.", 4)) {
			char *victim = base == s->path ? xstrdup(base + 4)
						       : xasprintf("%.*s%s", (int)(base - s->path),
								   s->path, base + 4);
			r = layer_writer_add_whiteout(w, victim, &err);
			free(victim);
		} else {
			struct archive_entry *e = archive_entry_new();
			archive_entry_set_pathname(e, s->path);
			archive_entry_set_mtime(e, 1700000000, 0);
			size_t len = 0;
			if (s->type == 'd') {
				archive_entry_set_filetype(e, AE_IFDIR);
				archive_entry_set_perm(e, 0755);
			} else if (s->type == 'l') {
				archive_entry_set_filetype(e, AE_IFLNK);
				archive_entry_set_perm(e, 0777);
				archive_entry_set_symlink(e, s->arg);
			} else if (s->type == 'h') {
				archive_entry_set_filetype(e, AE_IFREG);
				archive_entry_set_perm(e, 0644);
				archive_entry_set_hardlink(e, s->arg);
			} else {
				archive_entry_set_filetype(e, AE_IFREG);
				archive_entry_set_perm(e, 0644);
				len = strlen(s->arg);
				archive_entry_set_size(e, (la_int64_t)len);
			}
			r = layer_writer_add_entry(w, e, s->arg, len, &err);
			archive_entry_free(e);
		}
		if (r < 0)
			fail_msg("entry %s: %s", s->path, err->message);
	}
	assert_int_equal(layer_writer_finish(w, info, &err), 0);
}

/* Write two spec layers and apply both onto a new directory "out"; returns
 * its path (caller frees). */
static char *apply_lower_upper(struct store_fixture *f, const struct spec *lower, size_t n_lower,
			       const struct spec *upper, size_t n_upper, struct layer_info *ui)
{
	struct layer_info li;
	write_spec_layer(f, lower, n_lower, &li);
	write_spec_layer(f, upper, n_upper, ui);
	char *out = fixture_path(f, "out");
	struct petra_error *err = NULL;
	if (apply_blob(f, &li, out, 0, &err) < 0)
		fail_msg("lower: %s", err->message);
	if (apply_blob(f, ui, out, 0, &err) < 0)
		fail_msg("upper: %s", err->message);
	return out;
}

static void test_whiteouts(void **state)
{
	struct store_fixture *f = *state;
	const struct spec lower[] = {
	    {"a", 'd', NULL},         {"a/keep", 'f', "k"},      {"a/gone", 'f', "g"},
	    {"a/gonedir", 'd', NULL}, {"a/gonedir/x", 'f', "x"}, {"o", 'd', NULL},
	    {"o/old", 'f', "old"},    {"o/sub", 'd', NULL},      {"o/sub/deep", 'f', "d"},
	};
	/* Entries of the upper layer before and after its opaque marker both
	 * survive; nothing of the lower o/ does, not even below o/sub. */
	const struct spec upper[] = {
	    {"a/.wh.gone", 'f', ""},          {"a/.wh.gonedir", 'f', ""}, {"o/before", 'f', "b"},
	    {"o/.wh..wh..opq", 'f', ""},      {"o/sub/new", 'f', "n"},    {"o/after", 'f', "a"},
	    {"missing/.wh.nothing", 'f', ""},
	};
	struct layer_info ui;
	char *out = apply_lower_upper(f, lower, ARRAY_SIZE(lower), upper, ARRAY_SIZE(upper), &ui);
	struct petra_error *err = NULL;
	assert_true(has_entry(out, "a/keep"));
	assert_false(has_entry(out, "a/gone"));
	assert_false(has_entry(out, "a/gonedir"));
	assert_false(has_entry(out, "o/old"));
	assert_false(has_entry(out, "o/sub/deep"));
	assert_true(has_entry(out, "o/before"));
	assert_true(has_entry(out, "o/after"));
	assert_true(has_entry(out, "o/sub/new"));
	assert_false(has_entry(out, "a/.wh.gone"));
	assert_false(has_entry(out, "o/.wh..wh..opq"));
	/* The same upper layer extracted on its own for overlayfs. */
	char *ovl = fixture_path(f, "overlay");
	if (apply_blob(f, &ui, ovl, LAYER_APPLY_OVERLAY, &err) < 0)
		fail_msg("overlay: %s", err->message);
	char *wh = path_join(ovl, "a/gone");
	struct stat st;
	assert_int_equal(lstat(wh, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	char *odir = path_join(ovl, "o");
	char value[4] = "";
	if (geteuid() == 0) {
		assert_int_equal(getxattr(odir, "trusted.overlay.opaque", value, sizeof(value)), 1);
		assert_int_equal(value[0], 'y');
	}
	free(odir);
	free(wh);
	free(ovl);
	free(out);
}

static void test_replacing_entries_never_writes_through_symlinks(void **state)
{
	struct store_fixture *f = *state;
	char *canary_dir = fixture_path(f, "outside");
	mkdir(canary_dir, 0755);
	const struct spec lower[] = {
	    {"etc", 'd', NULL},
	    /* Relative path that would reach the fixture's "outside" dir. */
	    {"etc/passwd", 'l', "../../outside/canary"},
	    {"dir", 'd', NULL},
	    {"dir/child", 'f', "c"},
	    {"file", 'f', "was a file"},
	    {"var", 'd', NULL},
	    {"var/tmp", 'd', NULL},
	    {"var/tmp/x", 'f', "x"},
	};
	/* A directory below the root replaced by a file: its parent's
	 * descriptor is the one cached for the entry before. */
	const struct spec upper[] = {
	    {"etc/passwd", 'f', "root:x:0:0::/:/bin/sh\n"},
	    {"dir", 'f', "now a file"},
	    {"file", 'd', NULL},
	    {"file/inside", 'f', "i"},
	    {"var", 'd', NULL},
	    {"var/tmp", 'f', "now a file too"},
	};
	struct layer_info ui;
	char *out = apply_lower_upper(f, lower, ARRAY_SIZE(lower), upper, ARRAY_SIZE(upper), &ui);
	char *passwd = path_join(out, "etc/passwd");
	struct stat st;
	assert_int_equal(lstat(passwd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_false(has_entry(canary_dir, "canary"));
	char *dir = path_join(out, "dir");
	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_true(has_entry(out, "file/inside"));
	char *tmp = path_join(out, "var/tmp");
	assert_int_equal(lstat(tmp, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	free(tmp);
	free(dir);
	free(passwd);
	free(out);
	free(canary_dir);
}

static void test_symlinked_parents_resolve_inside_the_root(void **state)
{
	struct store_fixture *f = *state;
	/* Debian's merged /usr and /var/run -> /run: legitimate links that a
	 * later layer writes through. */
	const struct spec lower[] = {
	    {"usr", 'd', NULL},   {"usr/lib", 'd', NULL}, {"lib", 'l', "usr/lib"},
	    {"run", 'd', NULL},   {"var", 'd', NULL},     {"var/run", 'l', "/run"},
	    {"self", 'l', "./."},
	};
	const struct spec upper[] = {
	    {"lib/libx.so", 'f', "elf"},
	    {"var/run/app.pid", 'f', "42"},
	    {"self/lib/liby.so", 'f', "elf2"},
	    {"lib/libx-link.so", 'h', "usr/lib/libx.so"},
	};
	struct layer_info ui;
	char *out = apply_lower_upper(f, lower, ARRAY_SIZE(lower), upper, ARRAY_SIZE(upper), &ui);
	assert_true(has_entry(out, "usr/lib/libx.so"));
	assert_true(has_entry(out, "run/app.pid"));
	assert_true(has_entry(out, "usr/lib/liby.so"));
	assert_true(has_entry(out, "usr/lib/libx-link.so"));
	free(out);
}

struct hostile_case {
	const char *file;
	enum layer_compression compression;
	const char *message;
};

static void test_hostile_corpus(void **state)
{
	struct store_fixture *f = *state;
	static const struct hostile_case cases[] = {
	    {"traversal.tar", LAYER_COMPRESSION_NONE, "\"..\" component escapes the root"},
	    {"traversal-nested.tar", LAYER_COMPRESSION_NONE, "\"..\" component escapes the root"},
	    {"absolute.tar", LAYER_COMPRESSION_NONE, "absolute path"},
	    {"symlink-escape.tar", LAYER_COMPRESSION_NONE, "a symlink leads out of the root"},
	    {"symlink-escape-absolute.tar", LAYER_COMPRESSION_NONE,
	     "a symlink leads out of the root"},
	    {"hardlink-escape.tar", LAYER_COMPRESSION_NONE,
	     "hardlink target: \"../../../../../../etc/passwd\": \"..\" component escapes"},
	    {"hardlink-symlink-escape.tar", LAYER_COMPRESSION_NONE,
	     "a symlink leads out of the root"},
	    {"whiteout-dotdot.tar", LAYER_COMPRESSION_NONE, "whiteout names \"..\""},
	    {"whiteout-symlink-escape.tar", LAYER_COMPRESSION_NONE,
	     "a symlink leads out of the root"},
	    {"device.tar", LAYER_COMPRESSION_NONE, "block device node 8:0 refused"},
	    {"duplicate.tar", LAYER_COMPRESSION_NONE, "\"etc/passwd\": duplicate entry"},
	    {"truncated.tar", LAYER_COMPRESSION_NONE, "runcated"},
	    {"bomb.tar.gz", LAYER_COMPRESSION_GZIP, "likely compression bomb"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *sandbox = fixture_path(f, "sandbox");
		mkdir(sandbox, 0755);
		char *target = path_join(sandbox, "target");
		char *file = xasprintf("%s/hostile/%s", TEST_DATA_DIR, cases[i].file);
		struct petra_error *err = NULL;
		int r = apply_file(file, cases[i].compression, target, &err);
		if (r >= 0)
			fail_msg("%s was accepted", cases[i].file);
		if (!strstr(err->message, cases[i].message))
			fail_msg("%s: error \"%s\" does not say \"%s\"", cases[i].file,
				 err->message, cases[i].message);
		petra_error_free(err);
		/* Nothing appeared next to the target, nor in /tmp. */
		DIR *d = opendir(sandbox);
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			    strcmp(de->d_name, "target"))
				fail_msg("%s wrote %s outside the target", cases[i].file,
					 de->d_name);
		closedir(d);
		assert_int_equal(access("/tmp/petra-hostile-canary", F_OK), -1);
		assert_int_equal(fs_remove_tree_at(AT_FDCWD, sandbox, &err), 0);
		free(file);
		free(target);
		free(sandbox);
	}
}

static void test_devices_when_allowed(void **state)
{
	struct store_fixture *f = *state;
	if (geteuid() != 0)
		skip();
	char *out = fixture_path(f, "out");
	mkdir(out, 0755);
	int root = open(out, O_RDONLY | O_DIRECTORY);
	char *file = xasprintf("%s/hostile/device.tar", TEST_DATA_DIR);
	int fd = open(file, O_RDONLY);
	struct layer_reader_options ro = {.compression = LAYER_COMPRESSION_NONE};
	struct layer_reader *r;
	struct petra_error *err = NULL;
	assert_int_equal(layer_reader_open(fd, &ro, &r, &err), 0);
	struct layer_apply_options ao = {.flags = LAYER_APPLY_ALLOW_DEVICES};
	if (layer_apply(r, root, &ao, &err) < 0)
		fail_msg("%s", err->message);
	layer_reader_close(r);
	char *dev = path_join(out, "dev/sda");
	struct stat st;
	assert_int_equal(lstat(dev, &st), 0);
	assert_true(S_ISBLK(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(8, 0));
	free(dev);
	close(fd);
	close(root);
	free(file);
	free(out);
}

static void test_bomb_check_can_be_turned_off_for_verification(void **state)
{
	(void)state;
	char *file = xasprintf("%s/hostile/bomb.tar.gz", TEST_DATA_DIR);
	int fd = open(file, O_RDONLY);
	struct layer_reader_options ro = {.compression = LAYER_COMPRESSION_GZIP, .max_ratio = -1};
	struct petra_error *err = NULL;
	if (layer_verify_fd(fd, &ro, &err) < 0)
		fail_msg("%s", err->message);
	close(fd);
	free(file);
}

static void test_clean_path(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} good[] = {{"./a/b/", "a/b"}, {"a//b", "a/b"},  {".", ""},
		    {"./", ""},        {"a/./b", "a/b"}, {"..a/b..", "..a/b.."}};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		char *out = NULL;
		assert_int_equal(layer_clean_path(good[i].in, &out, NULL), 0);
		assert_string_equal(out, good[i].out);
		free(out);
	}
	static const char *bad[] = {"/abs", "..", "a/../b", "a/..", "../x"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *out = NULL;
		struct petra_error *err = NULL;
		assert_true(layer_clean_path(bad[i], &out, &err) < 0);
		assert_null(out);
		petra_error_free(err);
	}
}

static void test_tarball_import_normalises_and_refuses(void **state)
{
	struct store_fixture *f = *state;
	char *tree = fixture_path(f, "tree");
	mkdir(tree, 0755);
	test_write_file(tree, "bin/app", "app\n", 0755);
	char *tarball = fixture_path(f, "rootfs.tar.gz");
	char *cmd = xasprintf("tar -C %s -czf %s .", tree, tarball);
	assert_int_equal(system(cmd), 0);
	struct layer_writer_options o = {.compression = LAYER_COMPRESSION_ZSTD};
	struct layer_writer *w;
	struct petra_error *err = NULL;
	assert_int_equal(layer_writer_new(f->store, &o, &w, &err), 0);
	int fd = open(tarball, O_RDONLY);
	if (layer_writer_add_tar(w, fd, tarball, &err) < 0)
		fail_msg("%s", err->message);
	close(fd);
	struct layer_info info;
	assert_int_equal(layer_writer_finish(w, &info, &err), 0);
	char *out = fixture_path(f, "out");
	assert_int_equal(apply_blob(f, &info, out, 0, &err), 0);
	assert_same_trees(tree, out);
	/* A tarball with ".." is refused at import. */
	assert_int_equal(layer_writer_new(f->store, &o, &w, &err), 0);
	char *hostile = xasprintf("%s/hostile/traversal.tar", TEST_DATA_DIR);
	fd = open(hostile, O_RDONLY);
	assert_true(layer_writer_add_tar(w, fd, hostile, &err) < 0);
	assert_error_contains(err, "escapes the root");
	petra_error_free(err);
	layer_writer_abort(w);
	close(fd);
	free(hostile);
	free(out);
	free(cmd);
	free(tarball);
	free(tree);
}

static void test_writer_refuses_duplicates(void **state)
{
	struct store_fixture *f = *state;
	const struct spec twice[] = {{"a", 'f', "1"}};
	struct layer_writer_options o = {.compression = LAYER_COMPRESSION_NONE};
	struct layer_writer *w;
	struct petra_error *err = NULL;
	assert_int_equal(layer_writer_new(f->store, &o, &w, &err), 0);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, twice[0].path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, 1);
	assert_int_equal(layer_writer_add_entry(w, e, "1", 1, &err), 0);
	assert_true(layer_writer_add_entry(w, e, "1", 1, &err) < 0);
	assert_error_contains(err, "duplicate entry");
	petra_error_free(err);
	archive_entry_free(e);
	layer_writer_abort(w);
	/* An aborted writer leaves no temporary file in the store. */
	char *blobs = path_join(f->store_dir, "blobs/sha256");
	DIR *d = opendir(blobs);
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, ".tmp-", 5))
			fail_msg("left %s behind", de->d_name);
	closedir(d);
	free(blobs);
}

/* Regressions from the adversarial review of layer apply. */

static void test_replacing_a_symlink_parent_drops_the_cache(void **state)
{
	struct store_fixture *f = *state;
	/* Entries under a/ first go through the symlink a -> d; once a/ is a
	 * directory of its own, nothing more may land in (or vanish from) d. */
	const struct spec lower[] = {{"d", 'd', NULL}, {"d/keep", 'f', "k"}, {"a", 'l', "d"}};
	const struct spec upper[] = {
	    {"a/x", 'f', "x"}, {"a", 'd', NULL}, {"a/y", 'f', "y"}, {"a/.wh.keep", 'f', ""}};
	struct layer_info ui;
	char *out = apply_lower_upper(f, lower, ARRAY_SIZE(lower), upper, ARRAY_SIZE(upper), &ui);
	assert_true(has_entry(out, "d/keep"));
	assert_true(has_entry(out, "d/x"));
	assert_true(has_entry(out, "a/y"));
	assert_false(has_entry(out, "d/y"));
	char *a = path_join(out, "a");
	struct stat st;
	assert_int_equal(lstat(a, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(a);
	free(out);
}

static void test_opaque_keeps_what_the_layer_wrote_below_lower_dirs(void **state)
{
	struct store_fixture *f = *state;
	/* a/b comes from the lower layer; the upper writes a/b/new without an
	 * entry for a/b, then marks a/ opaque: a/b/new stays, a/b/old goes. */
	const struct spec lower[] = {
	    {"a", 'd', NULL}, {"a/b", 'd', NULL}, {"a/b/old", 'f', "o"}, {"a/c", 'f', "c"}};
	const struct spec upper[] = {{"a/b/new", 'f', "n"}, {"a/.wh..wh..opq", 'f', ""}};
	struct layer_info ui;
	char *out = apply_lower_upper(f, lower, ARRAY_SIZE(lower), upper, ARRAY_SIZE(upper), &ui);
	assert_true(has_entry(out, "a/b/new"));
	assert_false(has_entry(out, "a/b/old"));
	assert_false(has_entry(out, "a/c"));
	free(out);
}

static void write_xattr_layer(struct store_fixture *f, mode_t mode, unsigned uid,
			      struct layer_info *info)
{
	struct layer_writer_options o = {.compression = LAYER_COMPRESSION_NONE};
	struct layer_writer *w;
	struct petra_error *err = NULL;
	assert_int_equal(layer_writer_new(f->store, &o, &w, &err), 0);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "tool");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, mode);
	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, uid);
	archive_entry_set_size(e, 2);
	archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/private", 8);
	archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
	archive_entry_xattr_add_entry(e, "user.overlay.metacopy", "", 0);
	archive_entry_xattr_add_entry(e, "security.selinux", "system_u:object_r:x", 19);
	archive_entry_xattr_add_entry(e, "user.petra", "ok", 2);
	assert_int_equal(layer_writer_add_entry(w, e, "#!", 2, &err), 0);
	archive_entry_free(e);
	assert_int_equal(layer_writer_finish(w, info, &err), 0);
}

static void test_layers_cannot_set_overlay_or_host_xattrs(void **state)
{
	struct store_fixture *f = *state;
	struct layer_info info;
	write_xattr_layer(f, 0755, 0, &info);
	char *out = fixture_path(f, "out");
	struct petra_error *err = NULL;
	if (apply_blob(f, &info, out, 0, &err) < 0)
		fail_msg("%s", err->message);
	char *tool = path_join(out, "tool");
	char list[512];
	ssize_t n = listxattr(tool, list, sizeof(list));
	assert_true(n >= 0);
	for (char *k = list; k < list + n; k += strlen(k) + 1)
		if (strcmp(k, "user.petra") != 0 && strcmp(k, "security.capability") != 0)
			fail_msg("xattr %s was applied", k);
	free(tool);
	free(out);
}

static void test_setuid_cleared_without_ownership(void **state)
{
	struct store_fixture *f = *state;
	struct layer_info info;
	/* setuid and setgid for uid/gid 1000, unpacked without chown. */
	write_xattr_layer(f, 06755, 1000, &info);
	char *out = fixture_path(f, "out");
	struct petra_error *err = NULL;
	assert_int_equal(apply_blob(f, &info, out, LAYER_APPLY_NO_OWNERSHIP, &err), 0);
	char *tool = path_join(out, "tool");
	struct stat st;
	assert_int_equal(lstat(tool, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, geteuid());
	free(tool);
	free(out);
}

static void test_mount_points_inside_the_target_are_never_crossed(void **state)
{
	struct store_fixture *f = *state;
	if (geteuid() != 0)
		skip(); /* needs a bind mount */
	char *victim = fixture_path(f, "victim");
	mkdir(victim, 0755);
	test_write_file(victim, "file", "precious", 0644);
	test_write_file(victim, "deep/file2", "precious", 0644);
	const struct spec lower[] = {{"m", 'd', NULL}, {"n", 'd', NULL}};
	struct layer_info li;
	write_spec_layer(f, lower, ARRAY_SIZE(lower), &li);
	char *out = fixture_path(f, "out");
	struct petra_error *err = NULL;
	assert_int_equal(apply_blob(f, &li, out, 0, &err), 0);
	char *m = path_join(out, "m");
	/* Another mount inside the target, as a hostile host might arrange. */
	assert_int_equal(mount(victim, m, NULL, MS_BIND, NULL), 0);
	static const struct spec wh[] = {{".wh.m", 'f', ""}};
	static const struct spec write_through[] = {{"m/pwn", 'f', "x"}};
	static const struct spec wh_inside[] = {{"m/.wh.file", 'f', ""}};
	static const struct spec replace[] = {{"m", 'f', "now a file"}};
	const struct {
		const struct spec *spec;
		const char *message;
	} cases[] = {
	    {wh, "a mount point, not removed"},
	    {write_through, "is a mount point"},
	    {wh_inside, "is a mount point"},
	    {replace, "a mount point, not removed"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct layer_info ui;
		write_spec_layer(f, cases[i].spec, 1, &ui);
		assert_true(apply_blob(f, &ui, out, 0, &err) < 0);
		if (!strstr(err->message, cases[i].message))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->message,
				 cases[i].message);
		petra_error_free(err);
		err = NULL;
		assert_true(has_entry(victim, "file"));
		assert_true(has_entry(victim, "deep/file2"));
		assert_false(has_entry(victim, "pwn"));
	}
	/* Removing the whole tree stops at the mount too. */
	assert_true(fs_remove_tree_at(AT_FDCWD, out, &err) < 0);
	assert_error_contains(err, "a mount point, not removed");
	petra_error_free(err);
	assert_true(has_entry(victim, "file"));
	assert_int_equal(umount2(m, MNT_DETACH), 0);
	free(m);
	free(out);
	free(victim);
}

static void test_writer_streams_file_data(void **state)
{
	struct store_fixture *f = *state;
	struct layer_writer_options o = {.compression = LAYER_COMPRESSION_GZIP};
	struct layer_writer *w;
	struct petra_error *err = NULL;
	assert_int_equal(layer_writer_new(f->store, &o, &w, &err), 0);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "streamed");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 10);
	/* The header first, then the content in pieces. */
	assert_int_equal(layer_writer_add_entry(w, e, NULL, 0, &err), 0);
	assert_int_equal(layer_writer_add_data(w, "hello", 5, &err), 0);
	assert_int_equal(layer_writer_add_data(w, "", 0, &err), 0);
	assert_int_equal(layer_writer_add_data(w, "world", 5, &err), 0);
	archive_entry_set_pathname(e, "after");
	archive_entry_set_size(e, 1);
	assert_int_equal(layer_writer_add_entry(w, e, "!", 1, &err), 0);
	archive_entry_free(e);
	struct layer_info info;
	assert_int_equal(layer_writer_finish(w, &info, &err), 0);
	int fd = petra_store_open_blob(f->store, info.digest, &err);
	assert_true(fd >= 0);
	struct layer_reader_options ro = {.compression = LAYER_COMPRESSION_GZIP,
					  .expected_digest = info.digest,
					  .expected_diff_id = info.diff_id};
	struct layer_reader *r;
	assert_int_equal(layer_reader_open(fd, &ro, &r, &err), 0);
	struct strbuf content = STRBUF_INIT;
	struct archive_entry *re;
	while (layer_reader_next(r, &re, &err) == 1) {
		strbuf_addf(&content, "%s=", archive_entry_pathname(re));
		const void *data;
		size_t len;
		int64_t off;
		while (layer_reader_data_block(r, &data, &len, &off, &err) == 1)
			strbuf_add(&content, data, len);
		strbuf_addch(&content, ';');
	}
	assert_int_equal(layer_reader_finish(r, &err), 0);
	assert_string_equal(content.buf, "streamed=helloworld;after=!;");
	strbuf_release(&content);
	layer_reader_close(r);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip_every_entry_kind, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_reproducible_digests, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_multi_member_gzip_and_trailing_garbage,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_uncompressed_digests_are_verified,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_corruption_is_detected, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_whiteouts, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_replacing_entries_never_writes_through_symlinks,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_symlinked_parents_resolve_inside_the_root,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_corpus, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_devices_when_allowed, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test(test_bomb_check_can_be_turned_off_for_verification),
	    cmocka_unit_test(test_clean_path),
	    cmocka_unit_test_setup_teardown(test_tarball_import_normalises_and_refuses,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_replacing_a_symlink_parent_drops_the_cache,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_opaque_keeps_what_the_layer_wrote_below_lower_dirs,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_layers_cannot_set_overlay_or_host_xattrs,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_setuid_cleared_without_ownership,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_mount_points_inside_the_target_are_never_crossed,
					    store_fixture_setup, store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_writer_streams_file_data, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_writer_refuses_duplicates, store_fixture_setup,
					    store_fixture_teardown),
	};
	return cmocka_run_group_tests_name("layer", tests, NULL, NULL);
}
