/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for src/lineage/query.c: the layer-prefix rule, and
 * derivations over image sets made here (records, layers, annotations,
 * labels), with the paths they give. */
#include "testutil.h"

#include "lineage/lineage.h"

/* "sha256:" and 64 times c (a hex digit where it must be valid: the
 * base of a query). */
static void fake_digest(char out[OCI_DIGEST_SIZE], char c)
{
	memcpy(out, "sha256:", 7);
	memset(out + 7, c, 64);
	out[71] = '\0';
}

static char *fake_digest_dup(char c)
{
	char d[OCI_DIGEST_SIZE];
	fake_digest(d, c);
	return xstrdup(d);
}

/* (The pointer returned is good until the next add_image.)
 * An image `name` with digest of c, layers named in `layers` (one letter
 * each: layer "sha256:LLL..."). */
static struct lineage_image *add_image(struct lineage_images *set, char c, const char *name,
				       const char *layers)
{
	set->v = xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
	struct lineage_image *im = &set->v[set->n++];
	memset(im, 0, sizeof(*im));
	fake_digest(im->digest, c);
	if (name)
		strvec_push(&im->names, name);
	for (const char *l = layers; *l; l++)
		strvec_push_nodup(&im->diff_ids, fake_digest_dup(*l));
	return im;
}

static void add_material(struct lineage_image *im, const char *role, const char *name, char c)
{
	im->has_record = true;
	struct lineage_record *r = &im->record;
	if (!r->producer)
		r->producer = xstrdup("build");
	r->materials = xrealloc(r->materials, (r->n_materials + 1) * sizeof(*r->materials));
	struct lineage_material *m = &r->materials[r->n_materials++];
	m->role = xstrdup(role);
	m->name = xstrdup(name);
	fake_digest(m->digest, c);
}

/* The derivation's path, names and roles only: "app:1 <- base:1 (base)". */
static char *path_text(const struct lineage_derivation *d)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < d->n_path; i++) {
		if (i)
			strbuf_addstr(&sb, " <- ");
		const char *at = strchr(d->path[i], '@');
		strbuf_add(&sb, d->path[i], (size_t)(at - d->path[i]));
		const char *role = strchr(at, ' ');
		if (role)
			strbuf_addstr(&sb, role);
	}
	return strbuf_detach(&sb);
}

static const struct lineage_derivation *find(const struct lineage_derivations *d, char c)
{
	char digest[OCI_DIGEST_SIZE];
	fake_digest(digest, c);
	return lineage_derivations_find(d, digest);
}

static void assert_path(const struct lineage_derivations *d, char c, const char *expected)
{
	const struct lineage_derivation *x = find(d, c);
	assert_non_null(x);
	char *text = path_text(x);
	assert_string_equal(text, expected);
	free(text);
}

static void test_layers_extend(void **state)
{
	(void)state;
	const char *base[] = {"a", "b"};
	const char *longer[] = {"a", "b", "c"};
	const char *other[] = {"a", "x", "c"};
	const char *same[] = {"a", "b"};
	assert_true(lineage_layers_extend(base, 2, longer, 3));
	assert_false(lineage_layers_extend(base, 2, other, 3));
	/* The same layers: neither derives from the other by layers alone. */
	assert_false(lineage_layers_extend(base, 2, same, 2));
	/* Shorter is never derived. */
	assert_false(lineage_layers_extend(longer, 3, base, 2));
	/* An image without layers would be the base of everything. */
	assert_false(lineage_layers_extend(NULL, 0, base, 2));
	/* Order matters. */
	const char *swapped[] = {"b", "a", "c"};
	assert_false(lineage_layers_extend(base, 2, swapped, 3));
}

/* The hierarchy, made by records where petra built it and by
 * layers only for the image another tool built. */
static void test_hierarchy(void **state)
{
	(void)state;
	struct lineage_images set = {0};
	add_image(&set, '1', "base:1", "A");
	add_image(&set, '2', "base:2", "Z");
	struct lineage_image *runtime = add_image(&set, 'e', "runtime:1", "AR");
	add_material(runtime, "base", "base:1", '1');
	struct lineage_image *a = add_image(&set, 'a', "app-a:1", "ARa");
	add_material(a, "base", "runtime:1", 'e');
	struct lineage_image *b = add_image(&set, 'b', "app-b:1", "ARb");
	add_material(b, "base", "runtime:1", 'e');
	struct lineage_image *c = add_image(&set, 'c', "app-c:1", "Ac");
	add_material(c, "base", "base:1", '1');
	/* FROM scratch with a builder stage FROM base: no common layer. */
	struct lineage_image *d = add_image(&set, 'd', "app-d:1", "d");
	add_material(d, "stage builder", "base:1", '1');
	/* Squashed above runtime: only the record knows app-a. */
	struct lineage_image *hard = add_image(&set, 'h', "app-a:hard", "ARh");
	add_material(hard, "harden", "app-a:1", 'a');
	add_image(&set, 'x', "bah:1", "Ax");
	add_image(&set, 'o', "other:1", "O");
	/* The same layers as base:1, but nothing says which came first. */
	add_image(&set, 's', "same:1", "A");

	struct lineage_derivations out;
	struct petra_error *err = NULL;
	char base[OCI_DIGEST_SIZE];
	fake_digest(base, '1');
	assert_int_equal(lineage_derive(&set, base, NULL, &out, &err), 0);
	assert_int_equal(out.n, 7);
	assert_path(&out, 'e', "runtime:1 <- base:1 (base)");
	assert_path(&out, 'a', "app-a:1 <- runtime:1 (base) <- base:1 (base)");
	assert_path(&out, 'b', "app-b:1 <- runtime:1 (base) <- base:1 (base)");
	assert_path(&out, 'c', "app-c:1 <- base:1 (base)");
	assert_path(&out, 'd', "app-d:1 <- base:1 (stage builder)");
	assert_path(&out, 'h',
		    "app-a:hard <- app-a:1 (harden) <- runtime:1 (base) <- base:1 (base)");
	assert_path(&out, 'x', "bah:1 <- base:1 (layers)");
	assert_true(find(&out, 'x')->by_layers);
	assert_false(find(&out, 'h')->by_layers);
	assert_null(find(&out, 'o'));
	assert_null(find(&out, 's'));
	assert_null(find(&out, '2'));
	assert_null(find(&out, '1'));
	lineage_derivations_release(&out);

	/* From runtime: its descendants only. */
	fake_digest(base, 'e');
	assert_int_equal(lineage_derive(&set, base, NULL, &out, &err), 0);
	assert_int_equal(out.n, 3);
	assert_non_null(find(&out, 'a'));
	assert_non_null(find(&out, 'b'));
	assert_non_null(find(&out, 'h'));
	lineage_derivations_release(&out);
	lineage_images_release(&set);
}

/* Without any record, paths follow the longest layer prefix, whatever
 * order the images come in; a harden label and a base annotation stand in
 * for records; a base no longer there is found through its layers. */
static void test_layers_only(void **state)
{
	(void)state;
	struct lineage_images set = {0};
	/* Descendants before their bases. */
	fake_digest(add_image(&set, 'h', "hard:1", "ARh")->hardened_from, 'a');
	add_image(&set, 'a', "app:1", "ARa");
	add_image(&set, 'r', "runtime:1", "AR");
	struct lineage_image *squashed = add_image(&set, 'q', "squashed:1", "Q");
	fake_digest(squashed->base_digest, 'r');
	add_image(&set, '1', "base:1", "A");

	struct lineage_derivations out;
	struct petra_error *err = NULL;
	char base[OCI_DIGEST_SIZE];
	fake_digest(base, '1');
	assert_int_equal(lineage_derive(&set, base, NULL, &out, &err), 0);
	assert_int_equal(out.n, 4);
	assert_path(&out, 'r', "runtime:1 <- base:1 (layers)");
	assert_path(&out, 'a', "app:1 <- runtime:1 (layers) <- base:1 (layers)");
	assert_path(&out, 'h', "hard:1 <- app:1 (harden) <- runtime:1 (layers) <- base:1 (layers)");
	assert_path(&out, 'q', "squashed:1 <- runtime:1 (base) <- base:1 (layers)");
	/* base:1 <- runtime:1 by layers, runtime <- squashed by annotation. */
	assert_true(find(&out, 'q')->by_layers);
	lineage_derivations_release(&out);

	/* base:1 removed from the set: its digest and layers still find them. */
	struct lineage_images without = set;
	without.n--;
	struct strvec layers = STRVEC_INIT;
	strvec_push_nodup(&layers, fake_digest_dup('A'));
	assert_int_equal(lineage_derive(&without, base, &layers, &out, &err), 0);
	assert_int_equal(out.n, 4);
	assert_path(&out, 'r', "runtime:1 <- <none> (layers)");
	lineage_derivations_release(&out);
	/* Nor layers: nothing derives (no record names it). */
	assert_int_equal(lineage_derive(&without, base, NULL, &out, &err), 0);
	assert_int_equal(out.n, 0);
	lineage_derivations_release(&out);
	strvec_clear(&layers);
	lineage_images_release(&set);
}

/* A forged record cycle does not loop; a bad base digest is refused. */
static void test_cycles_and_errors(void **state)
{
	(void)state;
	struct lineage_images set = {0};
	add_image(&set, '1', "base:1", "A");
	struct lineage_image *x = add_image(&set, 'x', "x:1", "AX");
	add_material(x, "base", "y:1", 'y');
	struct lineage_image *y = add_image(&set, 'y', "y:1", "AXY");
	add_material(y, "base", "x:1", 'x');
	struct lineage_derivations out;
	struct petra_error *err = NULL;
	char base[OCI_DIGEST_SIZE];
	fake_digest(base, '1');
	assert_int_equal(lineage_derive(&set, base, NULL, &out, &err), 0);
	assert_int_equal(out.n, 2);
	lineage_derivations_release(&out);
	json_t *tree = lineage_tree(&set, set.v[1].digest);
	assert_non_null(tree);
	json_decref(tree);
	assert_true(lineage_derive(&set, "sha256:nothex", NULL, &out, &err) < 0);
	assert_non_null(err);
	petra_error_free(err);
	lineage_images_release(&set);
}

/* The tree: record materials first, then the label, the annotation, the
 * longest layer prefix. */
static void test_tree(void **state)
{
	(void)state;
	struct lineage_images set = {0};
	add_image(&set, '1', "base:1", "A");
	struct lineage_image *d = add_image(&set, 'd', "app-d:1", "d");
	add_material(d, "stage builder", "base:1", '1');
	add_material(d, "copy-from", "tools:1", 't');
	add_image(&set, 'x', "bah:1", "Ax");
	json_t *tree = lineage_tree(&set, set.v[1].digest);
	json_t *from = json_object_get(tree, "from");
	assert_int_equal(json_array_size(from), 2);
	assert_string_equal(json_get_string(json_array_get(from, 0), "name"), "base:1");
	assert_string_equal(json_get_string(json_array_get(from, 0), "role"), "stage builder");
	assert_string_equal(json_get_string(json_array_get(from, 0), "how"), "record");
	/* Not in the set: the record's name, no further. */
	assert_string_equal(json_get_string(json_array_get(from, 1), "name"), "tools:1");
	assert_int_equal(json_array_size(json_object_get(json_array_get(from, 1), "from")), 0);
	json_decref(tree);
	tree = lineage_tree(&set, set.v[2].digest);
	from = json_object_get(tree, "from");
	assert_int_equal(json_array_size(from), 1);
	assert_string_equal(json_get_string(json_array_get(from, 0), "how"), "layers");
	assert_string_equal(json_get_string(json_array_get(from, 0), "name"), "base:1");
	json_decref(tree);
	lineage_images_release(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layers_extend), cmocka_unit_test(test_hierarchy),
	    cmocka_unit_test(test_layers_only),   cmocka_unit_test(test_cycles_and_errors),
	    cmocka_unit_test(test_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
