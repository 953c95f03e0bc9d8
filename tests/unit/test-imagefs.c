/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/imagefs: the merged tree with its history, hooks,
 * captures, visiting, and dive's efficiency measure. */
#include "image-builder.h"
#include "store-fixture.h"

#include "imagefs/imagefs.h"

static struct imagefs *build(struct petra_store *store, const char *name,
			     const struct imagefs_build_options *o)
{
	struct image img;
	struct petra_error *err = NULL;
	assert_int_equal(image_load(store, name, &img, &err), 0);
	struct imagefs *fs = NULL;
	if (imagefs_build(store, &img, o, &fs, &err) < 0)
		fail_msg("imagefs_build: %s", err->message);
	image_release(&img);
	return fs;
}

static const struct test_layer three_layers[] = {
    TEST_LAYER("base", {'d', "etc"}, {'f', "etc/passwd", 0644, 0, 0, "root:x:0:0::/:/bin/sh\n"},
	       {'d', "app"}, {'f', "app/secret", 0600, 0, 0, "hunter2hunter2\n"}, {'d', "app/dir"},
	       {'f', "app/dir/a", 0, 0, 0, "aaaa"}, {'f', "app/dir/b", 0, 0, 0, "bbbbbbbb"},
	       {'f', "x", 0, 0, 0, "plain"}, {'d', "tree"}, {'f', "tree/leaf", 0, 0, 0, "leaf!"}),
    TEST_LAYER("RUN rm app/secret && rewrite", {'w', "app/secret"}, {'o', "app/dir"},
	       {'f', "app/dir/c", 0, 0, 0, "c"},
	       {'f', "etc/passwd", 0644, 0, 0, "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:\n"},
	       {'f', "x/y", 0, 0, 0, "x is a directory now"}),
    TEST_LAYER("replace tree with a file", {'f', "tree", 0755, 1000, 1000, "#!/bin/sh\n"}),
};

static void test_tree_history_and_visibility(void **state)
{
	struct store_fixture *f = *state;
	test_build_image(f->store, "t:1", three_layers, 3, NULL);
	const char *capture[] = {"etc/passwd", "etc/group"};
	struct imagefs_build_options o = {.capture = capture, .n_capture = 2};
	struct imagefs *fs = build(f->store, "t:1", &o);
	assert_int_equal(imagefs_n_layers(fs), 3);

	struct imagefs_node *n = imagefs_lookup(fs, "app/secret");
	assert_non_null(n);
	assert_null(imagefs_node_visible(n));
	assert_int_equal(n->top->layer, 0);
	assert_int_equal(n->top->hidden_by, 1);
	assert_int_equal(n->top->hidden_how, IMAGEFS_HIDDEN_WHITEOUT);
	assert_int_equal(n->top->mode, 0600);

	n = imagefs_lookup(fs, "app/dir/a");
	assert_int_equal(n->top->hidden_how, IMAGEFS_HIDDEN_OPAQUE);
	assert_non_null(imagefs_node_visible(imagefs_lookup(fs, "app/dir/c")));
	/* The opaque directory itself stays. */
	assert_non_null(imagefs_node_visible(imagefs_lookup(fs, "app/dir")));

	n = imagefs_lookup(fs, "etc/passwd");
	assert_int_equal(n->top->layer, 1);
	assert_true(imagefs_version_visible(n->top));
	assert_non_null(n->top->below);
	assert_int_equal(n->top->below->hidden_how, IMAGEFS_HIDDEN_REPLACED);
	assert_int_equal(n->top->below->hidden_by, 1);

	/* A file that a later layer writes below becomes a directory. */
	n = imagefs_lookup(fs, "x");
	assert_int_equal(n->top->hidden_how, IMAGEFS_HIDDEN_REPLACED);
	assert_non_null(imagefs_node_visible(imagefs_lookup(fs, "x/y")));

	/* A file over a directory hides what was below it. */
	n = imagefs_lookup(fs, "tree/leaf");
	assert_int_equal(n->top->hidden_how, IMAGEFS_HIDDEN_PARENT_REPLACED);
	assert_int_equal(n->top->hidden_by, 2);
	n = imagefs_lookup(fs, "tree");
	assert_int_equal(n->top->type, IMAGEFS_REG);
	assert_int_equal(n->top->uid, 1000);
	assert_int_equal(n->top->below->type, IMAGEFS_DIR);

	/* Hidden: secret (15), a (4), b (8), the old passwd (22), x (5),
	 * tree/leaf (5). */
	assert_int_equal(imagefs_hidden_files(fs), 6);
	assert_int_equal(imagefs_hidden_bytes(fs), 15 + 4 + 8 + 22 + 5 + 5);

	/* Captured: the final version only. */
	const char *data;
	size_t len;
	assert_int_equal(imagefs_captured(fs, "etc/passwd", &data, &len), 1);
	assert_string_equal(data, "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:\n");
	assert_int_equal(imagefs_captured(fs, "etc/group", &data, &len), 0);

	struct strbuf sb = STRBUF_INIT;
	imagefs_node_path(imagefs_lookup(fs, "app/dir/c"), &sb);
	assert_string_equal(sb.buf, "app/dir/c");
	imagefs_node_path(imagefs_root(fs), &sb);
	assert_string_equal(sb.buf, "");
	strbuf_release(&sb);
	assert_null(imagefs_lookup(fs, "nope"));
	assert_int_equal(imagefs_layer(fs, 0)->entries, 10);
	assert_int_equal(imagefs_layer(fs, 1)->file_bytes, 1 + 42 + 20);
	assert_true(imagefs_layer(fs, 0)->tar_bytes > 10 * 512);
	imagefs_free(fs);
}

/* ---- hooks ---- */

struct seen {
	struct strbuf log;
	struct strbuf content;
	unsigned layers_ended;
};

static int hook_entry(void *ctx, struct imagefs *fs, struct imagefs_version *v, const char *path,
		      struct petra_error **err)
{
	(void)fs;
	(void)err;
	struct seen *s = ctx;
	strbuf_addf(&s->log, "%u:%s ", v->layer, path);
	return v->type == IMAGEFS_REG && !strcmp(path, "etc/passwd");
}

static int hook_data(void *ctx, const void *buf, size_t len, struct petra_error **err)
{
	(void)err;
	struct seen *s = ctx;
	strbuf_add(&s->content, buf, len);
	return 0;
}

static int hook_entry_end(void *ctx, struct petra_error **err)
{
	(void)err;
	struct seen *s = ctx;
	strbuf_addstr(&s->content, "|");
	return 0;
}

static int hook_layer_end(void *ctx, struct imagefs *fs, size_t layer, struct petra_error **err)
{
	(void)fs;
	(void)layer;
	(void)err;
	struct seen *s = ctx;
	s->layers_ended++;
	return 0;
}

static void test_hooks_see_entries_and_data(void **state)
{
	struct store_fixture *f = *state;
	test_build_image(f->store, "t:1", three_layers, 2, NULL);
	struct seen s = {STRBUF_INIT, STRBUF_INIT, 0};
	struct imagefs_hooks hooks = {
	    .ctx = &s,
	    .entry = hook_entry,
	    .data = hook_data,
	    .entry_end = hook_entry_end,
	    .layer_end = hook_layer_end,
	};
	struct imagefs_build_options o = {.hooks = &hooks};
	struct imagefs *fs = build(f->store, "t:1", &o);
	assert_string_equal(s.content.buf, "root:x:0:0::/:/bin/sh\n|"
					   "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:\n|");
	assert_non_null(strstr(s.log.buf, "0:app/dir/b 0:x "));
	assert_non_null(strstr(s.log.buf, "1:app/dir/c 1:etc/passwd 1:x/y "));
	/* Whiteouts and opaque markers are not entries. */
	assert_null(strstr(s.log.buf, ".wh."));
	assert_int_equal(s.layers_ended, 2);
	strbuf_release(&s.log);
	strbuf_release(&s.content);
	imagefs_free(fs);
}

/* ---- visiting ---- */

static int visit_log(void *ctx, struct imagefs_node *node, const char *path,
		     struct petra_error **err)
{
	(void)err;
	struct strbuf *sb = ctx;
	/* What is visible below a hidden node was written later. */
	if (imagefs_node_visible(node))
		strbuf_addf(sb, "%s ", path);
	return !strcmp(path, "etc") ? 1 : 0;
}

static void test_visit_sorted_with_skips(void **state)
{
	struct store_fixture *f = *state;
	test_build_image(f->store, "t:1", three_layers, 3, NULL);
	struct imagefs *fs = build(f->store, "t:1", NULL);
	struct strbuf sb = STRBUF_INIT;
	struct petra_error *err = NULL;
	assert_int_equal(imagefs_visit(fs, visit_log, &sb, &err), 0);
	assert_string_equal(sb.buf, "app app/dir app/dir/c etc tree x/y ");
	strbuf_release(&sb);
	imagefs_free(fs);
}

/* ---- efficiency ---- */

static void test_efficiency_as_dive(void **state)
{
	struct store_fixture *f = *state;
	const struct test_layer layers[] = {
	    TEST_LAYER("base", {'d', "data"}, {'f', "data/big", 0, 0, 0, NULL, 4000},
		       {'f', "data/tmp", 0, 0, 0, NULL, 1000},
		       {'f', "data/keep", 0, 0, 0, NULL, 500}),
	    TEST_LAYER("COPY big again", {'f', "data/big", 0, 0, 0, NULL, 4000}),
	    TEST_LAYER("RUN rm data/tmp", {'w', "data/tmp"}),
	};
	test_build_image(f->store, "t:1", layers, 3, NULL);
	struct imagefs *fs = build(f->store, "t:1", NULL);
	struct imagefs_efficiency e;
	imagefs_efficiency(fs, 1, &e);
	/* big: 4000 + 4000 (min 4000); tmp: 1000 + 0 (min 0): dive counts a
	 * file's whiteout as 0 bytes; keep: 500. */
	assert_int_equal(e.wasted_bytes, 8000 + 1000);
	assert_true(e.score > 4500.0 / 9500 - 1e-9 && e.score < 4500.0 / 9500 + 1e-9);
	assert_int_equal(e.user_bytes, 4000);
	assert_true(e.wasted_share > 2.24 && e.wasted_share < 2.26);
	assert_int_equal(e.n_waste, 2);
	struct strbuf sb = STRBUF_INIT;
	imagefs_node_path(e.waste[0].node, &sb);
	assert_string_equal(sb.buf, "data/big");
	assert_int_equal(e.waste[0].count, 2);
	assert_int_equal(e.waste[0].last_layer, 1);
	imagefs_node_path(e.waste[1].node, &sb);
	assert_string_equal(sb.buf, "data/tmp");
	assert_int_equal(e.waste[1].last_layer, 2);
	assert_int_equal(e.waste[1].min, 0);
	strbuf_release(&sb);
	imagefs_efficiency_release(&e);
	/* No layer wasted anything: 1.0. */
	imagefs_free(fs);
	test_build_image(f->store, "t:2", layers, 1, NULL);
	fs = build(f->store, "t:2", NULL);
	imagefs_efficiency(fs, 1, &e);
	assert_true(e.score == 1.0);
	assert_int_equal(e.wasted_bytes, 0);
	assert_int_equal(e.user_bytes, 0);
	imagefs_efficiency_release(&e);
	imagefs_free(fs);
}

static void test_corrupt_layer_is_an_error(void **state)
{
	struct store_fixture *f = *state;
	test_build_image(f->store, "t:1", three_layers, 1, NULL);
	struct image img;
	struct petra_error *err = NULL;
	assert_int_equal(image_load(f->store, "t:1", &img, &err), 0);
	/* A config that promises another diff_id: caught at the end. */
	free(img.config.diff_ids.v[0]);
	img.config.diff_ids.v[0] =
	    xstrdup("sha256:0000000000000000000000000000000000000000000000000000000000000000");
	struct imagefs *fs = NULL;
	assert_true(imagefs_build(f->store, &img, NULL, &fs, &err) < 0);
	assert_error_contains(err, "layer 1 (sha256:");
	assert_error_contains(err, "not to the config's diff_id");
	assert_null(fs);
	petra_error_free(err);
	image_release(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tree_history_and_visibility, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_hooks_see_entries_and_data, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_visit_sorted_with_skips, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_efficiency_as_dive, store_fixture_setup,
					    store_fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_layer_is_an_error, store_fixture_setup,
					    store_fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
