/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/base: errors, strings, files, time. */
#include "testutil.h"

#include <pthread.h>

#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int fail_with_context(struct petra_error **err)
{
	petra_error_set(err, ENOENT, "blob %s: missing", "sha256:ab");
	return petra_error_prefix(err, "layer %d", 3);
}

static void test_error_set_and_prefix(void **state)
{
	(void)state;
	struct petra_error *err = NULL;
	int r = fail_with_context(&err);
	assert_int_equal(r, -ENOENT);
	assert_int_equal(err->code, ENOENT);
	assert_string_equal(err->message, "layer 3: blob sha256:ab: missing");
	/* Setting again replaces the old error without leaking it. */
	r = petra_error_set_errno(&err, EACCES, "open %s", "x");
	assert_int_equal(r, -EACCES);
	assert_string_equal(err->message, "open x: Permission denied");
	petra_error_free(err);
}

static void test_error_null_and_zero_code(void **state)
{
	(void)state;
	/* A NULL err still returns a negative value. */
	assert_int_equal(petra_error_set(NULL, EINVAL, "ignored"), -EINVAL);
	struct petra_error *err = NULL;
	/* Code 0 is never returned as success. */
	assert_int_equal(petra_error_set(&err, 0, "no code"), -EIO);
	assert_int_equal(err->code, EIO);
	petra_error_free(err);
	err = NULL;
	assert_int_equal(petra_error_prefix(&err, "nothing to prefix"), -EIO);
	assert_null(err);
}

static void test_strbuf(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(strbuf_str(&sb), "");
	strbuf_addstr(&sb, "abc");
	strbuf_addch(&sb, '-');
	strbuf_addf(&sb, "%d/%s", 42, "x");
	assert_string_equal(sb.buf, "abc-42/x");
	/* A formatted string longer than the internal scratch buffer. */
	char big[1000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_addf(&sb, "[%s]", big);
	assert_int_equal(sb.len, 8 + 2 + 999);
	assert_int_equal(sb.buf[sb.len], '\0');
	strbuf_setlen(&sb, 3);
	assert_string_equal(sb.buf, "abc");
	char *s = strbuf_detach(&sb);
	assert_string_equal(s, "abc");
	assert_null(sb.buf);
	free(s);
}

static void test_quote(void **state)
{
	(void)state;
	char *q = str_quote("a\"b\\c\n\x1b[31m");
	assert_string_equal(q, "\"a\\\"b\\\\c\\n\\x1b[31m\"");
	free(q);
	char long_name[400];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	q = str_quote(long_name);
	assert_true(strlen(q) < 270);
	assert_non_null(strstr(q, "...\""));
	free(q);
}

static void test_strvec_and_strset(void **state)
{
	(void)state;
	struct strvec sv = STRVEC_INIT;
	strvec_push(&sv, "b");
	strvec_pushf(&sv, "%s", "a");
	strvec_push(&sv, "c");
	strvec_sort(&sv);
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[0], "a");
	assert_string_equal(sv.v[2], "c");
	assert_null(sv.v[3]);
	strvec_clear(&sv);

	struct strset set = STRSET_INIT;
	assert_false(strset_contains(&set, "x"));
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "path/%d", i);
		assert_true(strset_add(&set, key));
	}
	assert_false(strset_add(&set, "path/1234"));
	assert_true(strset_contains(&set, "path/4999"));
	assert_false(strset_contains(&set, "path/5000"));
	assert_int_equal(set.used, 5000);
	strset_clear(&set);
}

static void test_str_hash(void **state)
{
	(void)state;
	/* FNV-1a: stable across runs, so tables keyed by it are deterministic. */
	assert_true(str_hash("") == 14695981039346656037ULL);
	assert_true(str_hash("a") == 0xaf63dc4c8601ec8cULL);
	assert_true(str_hash("ab") != str_hash("ba"));
}

static void test_arena(void **state)
{
	(void)state;
	struct arena a = {0};
	/* Small allocations share chunks, are aligned, and do not overlap. */
	char *prev = NULL;
	for (int i = 0; i < 5000; i++) {
		char *p = arena_strndup(&a, "abcdefghijklmnopqrstuvwxyz", (size_t)(i % 27));
		assert_int_equal((uintptr_t)p % 16, 0);
		assert_int_equal(strlen(p), (size_t)(i % 27));
		if (prev)
			assert_true(p != prev);
		prev = p;
	}
	/* A large request gets its own chunk and keeps its contents. */
	char *big = arena_alloc(&a, 100000);
	memset(big, 'x', 100000);
	char *after = arena_strndup(&a, "after", 5);
	assert_string_equal(after, "after");
	assert_int_equal(big[99999], 'x');
	int v[3] = {1, 2, 3};
	int *copy = arena_memdup(&a, v, sizeof(v));
	assert_int_equal(copy[2], 3);
	assert_null(arena_memdup(&a, v, 0));
	arena_release(&a);
	assert_null(a.chunks);
	arena_release(&a); /* a released arena is empty, and can be released again */
}

static void test_path_join(void **state)
{
	(void)state;
	char *p = path_join("/a/", "/b");
	assert_string_equal(p, "/a/b");
	free(p);
	p = path_join("/", "x");
	assert_string_equal(p, "/x");
	free(p);
	p = path_join("a", "");
	assert_string_equal(p, "a");
	free(p);
}

/* An output that is a fifo (or a device: -o /dev/null) is written to, not
 * replaced by a file. */
static void test_atomic_write_to_fifo(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(mkfifoat(dfd, "out", 0600), 0);
	int reader = openat(dfd, "out", O_RDONLY | O_NONBLOCK);
	assert_true(reader >= 0);
	struct petra_error *err = NULL;
	assert_int_equal(fs_write_file_atomic_at(dfd, "out", "data", 4, 0644, &err), 0);
	char buf[8] = {0};
	assert_int_equal(read(reader, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "data");
	struct stat st;
	assert_int_equal(fstatat(dfd, "out", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(st.st_mode));
	close(reader);
	close(dfd);
	test_rmtree(dir);
}

static void test_atomic_write_and_read(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct petra_error *err = NULL;
	assert_int_equal(fs_write_file_atomic_at(dfd, "f.json", "{}", 2, 0640, &err), 0);
	assert_int_equal(fs_write_file_atomic_at(dfd, "f.json", "[1]", 3, 0640, &err), 0);
	char *data;
	size_t len;
	assert_int_equal(fs_read_file_at(dfd, "f.json", 100, &data, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_string_equal(data, "[1]");
	free(data);
	struct stat st;
	assert_int_equal(fstatat(dfd, "f.json", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* No temporary file is left behind. */
	DIR *d = opendir(dir);
	struct dirent *de;
	int entries = 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
			entries++;
	closedir(d);
	assert_int_equal(entries, 1);
	/* The size limit is enforced. */
	assert_true(fs_read_file_at(dfd, "f.json", 2, &data, &len, &err) < 0);
	assert_error_contains(err, "larger than 2 bytes");
	petra_error_free(err);
	err = NULL;
	assert_true(fs_read_file_at(dfd, "missing", 100, &data, &len, &err) == -ENOENT);
	assert_error_contains(err, "open missing");
	petra_error_free(err);
	close(dfd);
	test_rmtree(dir);
}

static void test_remove_tree_does_not_follow_symlinks(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *outside = test_tmpdir();
	test_write_file(outside, "keep/me", "precious", 0644);
	test_write_file(dir, "victim/a/b/c", "x", 0644);
	char *link = path_join(dir, "victim/a/escape");
	char *target = path_join(outside, "keep");
	assert_int_equal(symlink(target, link), 0);
	/* A directory without write permission is still removed. */
	char *ro = path_join(dir, "victim/a/b");
	assert_int_equal(chmod(ro, 0555), 0);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct petra_error *err = NULL;
	assert_int_equal(fs_remove_tree_at(dfd, "victim", &err), 0);
	assert_int_equal(faccessat(dfd, "victim", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	/* The symlink's target survives. */
	char *kept = path_join(outside, "keep/me");
	assert_int_equal(access(kept, F_OK), 0);
	/* Removing what is not there is not an error. */
	assert_int_equal(fs_remove_tree_at(dfd, "victim", &err), 0);
	close(dfd);
	free(kept);
	free(ro);
	free(link);
	free(target);
	test_rmtree(outside);
	test_rmtree(dir);
}

static void test_mkdir_p(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *deep = path_join(dir, "a/b/c");
	struct petra_error *err = NULL;
	assert_int_equal(fs_mkdir_p(deep, 0755, &err), 0);
	assert_int_equal(fs_mkdir_p(deep, 0755, &err), 0);
	test_write_file(dir, "file", "x", 0644);
	char *under_file = path_join(dir, "file/sub");
	assert_true(fs_mkdir_p(under_file, 0755, &err) < 0);
	assert_non_null(err);
	petra_error_free(err);
	free(under_file);
	free(deep);
	test_rmtree(dir);
}

static void test_time(void **state)
{
	(void)state;
	char buf[40];
	time_format_rfc3339(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	time_t t;
	assert_int_equal(time_parse_rfc3339("2024-02-29T12:00:00Z", &t), 0);
	assert_int_equal(t, 1709208000);
	assert_int_equal(time_parse_rfc3339("2024-02-29T12:00:00.123456789+01:00", &t), 0);
	assert_int_equal(t, 1709208000 - 3600);
	assert_int_equal(time_parse_rfc3339("yesterday", &t), -EINVAL);

	struct petra_error *err = NULL;
	unsetenv("SOURCE_DATE_EPOCH");
	assert_int_equal(petra_source_date_epoch(&t, &err), 0);
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	assert_int_equal(petra_source_date_epoch(&t, &err), 1);
	assert_int_equal(t, 1700000000);
	setenv("SOURCE_DATE_EPOCH", "17e8", 1);
	assert_true(petra_source_date_epoch(&t, &err) < 0);
	assert_error_contains(err, "SOURCE_DATE_EPOCH=\"17e8\"");
	petra_error_free(err);
	unsetenv("SOURCE_DATE_EPOCH");

	format_size(999, buf, sizeof(buf));
	assert_string_equal(buf, "999B");
	format_size(1500000, buf, sizeof(buf));
	assert_string_equal(buf, "1.5MB");
	format_age(1000, 1000 + 3 * 3600 + 5, buf, sizeof(buf));
	assert_string_equal(buf, "3 hours ago");
}

static void test_json_helpers(void **state)
{
	(void)state;
	struct petra_error *err = NULL;
	json_t *j = json_parse_buffer("{\"a\":1,\"a\":2}", 13, "doc", &err);
	assert_null(j);
	assert_error_contains(err, "doc: invalid JSON");
	petra_error_free(err);
	err = NULL;
	j = json_parse_buffer("{\"b\":\"x\",\"a\":7}", 15, "doc", &err);
	assert_non_null(j);
	assert_string_equal(json_get_string(j, "b"), "x");
	assert_null(json_get_string(j, "a"));
	assert_int_equal(json_get_int(j, "a", -1), 7);
	assert_int_equal(json_get_int(j, "missing", -1), -1);
	/* Keys keep their insertion order: documents petra writes are stable. */
	char *s = json_dump_compact(j, NULL);
	assert_string_equal(s, "{\"b\":\"x\",\"a\":7}");
	free(s);
	json_decref(j);
}

static void test_open_in_root_and_opendir_at(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	test_write_file(dir, "root/etc/passwd", "inside\n", 0644);
	test_write_file(dir, "passwd", "outside\n", 0644);
	char *root = path_join(dir, "root");
	char *link = path_join(root, "escape");
	/* An absolute symlink and ".." both stay inside the root. */
	assert_int_equal(symlink("/etc", link), 0);
	int root_fd = open(root, O_PATH | O_DIRECTORY);
	assert_true(root_fd >= 0);
	const char *inside[] = {"/etc/passwd", "escape/passwd", "../../etc/passwd",
				"/../etc/passwd"};
	for (size_t i = 0; i < ARRAY_SIZE(inside); i++) {
		int fd = fs_open_in_root(root_fd, inside[i], O_RDONLY);
		assert_true(fd >= 0);
		char buf[16] = {0};
		assert_int_equal(read(fd, buf, sizeof(buf) - 1), 7);
		assert_string_equal(buf, "inside\n");
		close(fd);
	}
	assert_int_equal(fs_open_in_root(root_fd, "/missing", O_RDONLY), -ENOENT);
	int self = fs_open_in_root(root_fd, "/", O_PATH | O_DIRECTORY);
	assert_true(self >= 0);
	close(self);
	/* fs_opendir_at does not follow a symlink. */
	assert_null(fs_opendir_at(root_fd, "escape"));
	assert_int_equal(errno, ENOTDIR);
	DIR *d = fs_opendir_at(root_fd, "etc");
	assert_non_null(d);
	closedir(d);
	close(root_fd);
	free(link);
	free(root);
	test_rmtree(dir);
}

/* A diamond (0 <- 1, 2 <- 3) and a task not wanted (4, which 5 needs). */
struct graph_test {
	size_t deps[6][2];
	size_t n_deps[6];
	int fail; /* this task fails; -1 none */
	unsigned order[6];
	unsigned next;
	unsigned busy, most_busy;
	bool meet; /* tasks 1 and 2 wait (10 s at most) for each other */
	pthread_mutex_t lock;
	pthread_cond_t met;
};

static bool gt_wanted(void *ctx, size_t t)
{
	(void)ctx;
	return t != 4;
}
static size_t gt_n_deps(void *ctx, size_t t)
{
	return ((struct graph_test *)ctx)->n_deps[t];
}
static size_t gt_dep(void *ctx, size_t t, size_t k)
{
	return ((struct graph_test *)ctx)->deps[t][k];
}
static int gt_run(void *ctx, size_t t, struct petra_error **err)
{
	struct graph_test *g = ctx;
	pthread_mutex_lock(&g->lock);
	g->order[t] = ++g->next;
	if (++g->busy > g->most_busy)
		g->most_busy = g->busy;
	pthread_cond_broadcast(&g->met);
	if (g->meet && (t == 1 || t == 2)) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		while (!(g->order[1] && g->order[2]) &&
		       pthread_cond_timedwait(&g->met, &g->lock, &until) == 0)
			;
	}
	g->busy--;
	pthread_mutex_unlock(&g->lock);
	if ((int)t == g->fail)
		return petra_error_set(err, EIO, "task %zu broke", t);
	return 0;
}

static void test_graph_run(void **state)
{
	(void)state;
	static const struct graph_ops ops = {gt_wanted, gt_n_deps, gt_dep, gt_run};
	struct graph_test g = {
	    .deps = {{0}, {0}, {0}, {1, 2}, {0}, {4}},
	    .n_deps = {0, 1, 1, 2, 0, 1},
	    .fail = -1,
	    .meet = true,
	};
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.met, NULL);
	struct petra_error *err = NULL;
	assert_int_equal(graph_run(6, 2, &ops, &g, &err), 0);
	/* Dependencies first; 1 and 2 side by side (each waited for the
	 * other); 4 and 5 never. */
	assert_true(g.order[0] < g.order[1] && g.order[0] < g.order[2]);
	assert_true(g.order[1] < g.order[3] && g.order[2] < g.order[3]);
	assert_int_equal(g.order[4], 0);
	assert_int_equal(g.order[5], 0);
	assert_int_equal(g.most_busy, 2);
	/* One at a time with one job. */
	memset(g.order, 0, sizeof(g.order));
	g.next = g.most_busy = 0;
	g.meet = false;
	assert_int_equal(graph_run(6, 1, &ops, &g, &err), 0);
	assert_int_equal(g.most_busy, 1);
	/* A failure stops what depends on it and is returned. */
	memset(g.order, 0, sizeof(g.order));
	g.next = 0;
	g.fail = 1;
	assert_int_equal(graph_run(6, 2, &ops, &g, &err), -EIO);
	assert_string_equal(err->message, "task 1 broke");
	assert_int_equal(g.order[3], 0);
	petra_error_free(err);
	err = NULL;
	/* A cycle is an error, not a hang. */
	g.fail = -1;
	g.deps[0][0] = 3;
	g.n_deps[0] = 1;
	assert_int_equal(graph_run(6, 2, &ops, &g, &err), -EDEADLK);
	petra_error_free(err);
	pthread_mutex_destroy(&g.lock);
	pthread_cond_destroy(&g.met);
}

/* ---- fs_walk ---- */

struct walk_log {
	struct strvec lines;
	const char *prune; /* a path whose contents are skipped */
	const char *fail;  /* a path whose pre callback fails */
	size_t max_fds;    /* the most descriptors open during a callback */
	unsigned max_depth;
};

static size_t open_fds(void)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int walk_log_pre(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	struct walk_log *l = ctx;
	if (l->fail && !strcmp(e->path, l->fail))
		return petra_error_set(err, EPERM, "refused %s", e->path);
	/* The parent descriptor and name reach the entry itself. */
	struct stat st;
	assert_int_equal(fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_ino, e->st.st_ino);
	char kind = S_ISDIR(e->st.st_mode) ? 'd' : S_ISLNK(e->st.st_mode) ? 'l' : 'f';
	if (e->depth > l->max_depth) {
		l->max_depth = e->depth;
		size_t n = open_fds();
		if (n > l->max_fds)
			l->max_fds = n;
	}
	if (e->depth <= 3)
		strvec_pushf(&l->lines, "pre %s %c %u", e->path, kind, e->depth);
	return l->prune && !strcmp(e->path, l->prune) ? FS_WALK_PRUNE : FS_WALK_CONTINUE;
}

static int walk_log_post(void *ctx, const struct fs_walk_entry *e, struct petra_error **err)
{
	(void)err;
	struct walk_log *l = ctx;
	assert_true(S_ISDIR(e->st.st_mode));
	struct stat st;
	assert_int_equal(fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_ino, e->st.st_ino);
	if (e->depth <= 3)
		strvec_pushf(&l->lines, "post %s", e->path);
	return 0;
}

static const struct fs_walk_ops walk_log_ops = {walk_log_pre, walk_log_post};

static void assert_lines(const struct strvec *got, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	for (size_t i = 0; i < got->n && i < n; i++)
		assert_string_equal(got->v[i], want[i]);
	assert_int_equal(got->n, n);
}

/* Sorted names, parents before children, post after contents, symlinks
 * reported and never entered (even to a directory outside). */
static void test_walk_order_and_symlinks(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *outside = test_tmpdir();
	test_write_file(outside, "secret/file", "x", 0644);
	test_write_file(dir, "b", "b", 0644);
	test_write_file(dir, "a/z", "z", 0644);
	test_write_file(dir, "a/B/deep", "d", 0644);
	test_write_file(dir, "c", "c", 0644);
	char *link = path_join(dir, "a/link");
	char *target = path_join(outside, "secret");
	assert_int_equal(symlink(target, link), 0);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct walk_log l = {.lines = STRVEC_INIT};
	struct petra_error *err = NULL;
	assert_int_equal(fs_walk(dfd, "", 0, &walk_log_ops, &l, &err), 0);
	const char *want[] = {"pre a d 1",      "pre a/B d 2", "pre a/B/deep f 3", "post a/B",
			      "pre a/link l 2", "pre a/z f 2", "post a",           "pre b f 1",
			      "pre c f 1",      NULL};
	assert_lines(&l.lines, want);
	strvec_clear(&l.lines);
	/* A prefix is put before every path, with one "/". */
	assert_int_equal(fs_walk(dfd, "/", 0, &walk_log_ops, &l, &err), 0);
	assert_string_equal(l.lines.v[0], "pre /a d 1");
	strvec_clear(&l.lines);
	assert_int_equal(fs_walk(dfd, "top", 0, &walk_log_ops, &l, &err), 0);
	assert_string_equal(l.lines.v[1], "pre top/a/B d 2");
	strvec_clear(&l.lines);
	close(dfd);
	free(link);
	free(target);
	test_rmtree(outside);
	test_rmtree(dir);
}

/* A pruned directory is reported but not entered, and has no post. */
static void test_walk_prune(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	test_write_file(dir, "a/x", "x", 0644);
	test_write_file(dir, "a/y/z", "z", 0644);
	test_write_file(dir, "b/x", "x", 0644);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct walk_log l = {.lines = STRVEC_INIT, .prune = "a"};
	struct petra_error *err = NULL;
	assert_int_equal(fs_walk(dfd, "", 0, &walk_log_ops, &l, &err), 0);
	const char *want[] = {"pre a d 1", "pre b d 1", "pre b/x f 2", "post b", NULL};
	assert_lines(&l.lines, want);
	strvec_clear(&l.lines);
	close(dfd);
	test_rmtree(dir);
}

/* Deeper than the walker keeps descriptors for: every level is reached,
 * siblings after a deep branch too (the closed levels are opened again),
 * and the descriptors in use stay bounded. */
static void test_walk_deep_tree(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	enum { DEPTH = 500 };
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < DEPTH; i++) {
		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		/* "e" sorts after "d": walked after the deep branch returns. */
		int f = openat(fd, "e", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(f >= 0);
		close(f);
		int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(next >= 0);
		close(fd);
		fd = next;
	}
	close(fd);
	size_t before = open_fds();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct walk_log l = {.lines = STRVEC_INIT};
	struct petra_error *err = NULL;
	assert_int_equal(fs_walk(dfd, "", 0, &walk_log_ops, &l, &err), 0);
	assert_int_equal(l.max_depth, DEPTH);
	assert_true(l.max_fds < before + 40);
	/* depth <= 3 logged: the last line is level 1's "e", after the return
	 * from 500 levels. */
	assert_string_equal(l.lines.v[l.lines.n - 1], "pre e f 1");
	assert_string_equal(l.lines.v[l.lines.n - 2], "post d");
	close(dfd);
	assert_int_equal(open_fds(), before);
	strvec_clear(&l.lines);
	test_rmtree(dir);
}

/* A callback's error stops the walk and is returned; so is a directory
 * that cannot be read; no descriptor is left open. */
static void test_walk_errors(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	test_write_file(dir, "a/b/c", "x", 0644);
	test_write_file(dir, "z", "x", 0644);
	size_t before = open_fds();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct walk_log l = {.lines = STRVEC_INIT, .fail = "a/b/c"};
	struct petra_error *err = NULL;
	assert_int_equal(fs_walk(dfd, "", 0, &walk_log_ops, &l, &err), -EPERM);
	assert_error_contains(err, "refused a/b/c");
	petra_error_free(err);
	err = NULL;
	/* Nothing after the failure was visited. */
	assert_string_equal(l.lines.v[l.lines.n - 1], "pre a/b d 2");
	strvec_clear(&l.lines);
	close(dfd);
	assert_int_equal(open_fds(), before);
	/* Not a directory. */
	char *file = path_join(dir, "z");
	int ffd = open(file, O_RDONLY);
	assert_int_equal(fs_walk(ffd, "z", 0, &walk_log_ops, &l, &err), -ENOTDIR);
	assert_error_contains(err, "z\": read directory");
	petra_error_free(err);
	close(ffd);
	free(file);
	test_rmtree(dir);
}

/* The host's view of the caller: itself in the initial namespace; in a
 * user namespace whose 0 is host uid 4321 (a rootless build's), 4321. */
static void test_user_namespace_ids(void **state)
{
	(void)state;
	if (geteuid() != 0 || !fs_user_namespace_is_initial()) {
		/* Only root of the host can give a namespace another 0. */
		assert_int_equal(fs_host_euid() == geteuid() || !fs_user_namespace_is_initial(), 1);
		return;
	}
	assert_int_equal(fs_host_euid(), 0);
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char c;
		close(go[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(10);
		/* The parent maps us once we are in. */
		if (read(go[0], &c, 1) != 1)
			_exit(11);
		/* Host root is not mapped there: become its 0, host uid 4321. */
		if (setresuid(0, 0, 0) < 0)
			_exit(14);
		if (fs_user_namespace_is_initial())
			_exit(12);
		if (geteuid() != 0 || fs_host_euid() != 4321)
			_exit(13);
		_exit(0);
	}
	close(go[0]);
	/* Wait until the child is in its namespace. */
	char path[64], ns_self[64] = "", ns_child[64] = "";
	readlink("/proc/self/ns/user", ns_self, sizeof(ns_self) - 1);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)child);
	for (int i = 0; i < 1000 && (!ns_child[0] || !strcmp(ns_child, ns_self)); i++) {
		memset(ns_child, 0, sizeof(ns_child));
		if (readlink(path, ns_child, sizeof(ns_child) - 1) < 0 ||
		    !strcmp(ns_child, ns_self))
			usleep(1000);
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)child);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0 4321 1\n", 9), 9);
	close(fd);
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_set_and_prefix),
	    cmocka_unit_test(test_error_null_and_zero_code),
	    cmocka_unit_test(test_strbuf),
	    cmocka_unit_test(test_quote),
	    cmocka_unit_test(test_strvec_and_strset),
	    cmocka_unit_test(test_str_hash),
	    cmocka_unit_test(test_path_join),
	    cmocka_unit_test(test_atomic_write_and_read),
	    cmocka_unit_test(test_atomic_write_to_fifo),
	    cmocka_unit_test(test_remove_tree_does_not_follow_symlinks),
	    cmocka_unit_test(test_mkdir_p),
	    cmocka_unit_test(test_arena),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_json_helpers),
	    cmocka_unit_test(test_open_in_root_and_opendir_at),
	    cmocka_unit_test(test_graph_run),
	    cmocka_unit_test(test_walk_order_and_symlinks),
	    cmocka_unit_test(test_walk_prune),
	    cmocka_unit_test(test_walk_deep_tree),
	    cmocka_unit_test(test_walk_errors),
	    cmocka_unit_test(test_user_namespace_ids),
	};
	return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
