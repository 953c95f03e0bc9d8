/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plan: the roots, the images derived from them, what to do with each
 * and in which level.
 */
#include "rebuild.h"
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *rebuild_action_name(enum rebuild_action a)
{
	switch (a) {
	case REBUILD_ACTION_REBUILD:
		return "rebuild";
	case REBUILD_ACTION_REBASE:
		return "rebase";
	case REBUILD_ACTION_HARDEN:
		return "harden";
	case REBUILD_ACTION_LEARN:
		return "learn";
	case REBUILD_ACTION_NONE:
		break;
	}
	return "none";
}

const char *rebuild_outcome_name(enum rebuild_outcome o)
{
	switch (o) {
	case REBUILD_PENDING:
		return "pending";
	case REBUILD_REBUILT:
		return "rebuilt";
	case REBUILD_REBASED:
		return "rebased";
	case REBUILD_UNCHANGED:
		return "unchanged";
	case REBUILD_FAILED:
		return "failed";
	case REBUILD_NOT_REBUILDABLE:
		return "not-rebuildable";
	case REBUILD_SKIPPED:
		break;
	}
	return "skipped";
}

static void item_release(struct rebuild_item *it)
{
	/* One per name: before the names go. */
	for (size_t i = 0; it->old_before && i < it->names.n; i++)
		oci_descriptor_release(&it->old_before[i]);
	free(it->old_before);
	strvec_clear(&it->names);
	free(it->why);
	if (it->has_record)
		lineage_record_release(&it->record);
	free(it->deps);
	free(it->context);
	free(it->error);
	strbuf_release(&it->output);
}

void rebuild_plan_release(struct rebuild_plan *plan)
{
	for (size_t i = 0; i < plan->n_roots; i++) {
		free(plan->roots[i].name);
		free(plan->roots[i].replacement);
	}
	free(plan->roots);
	for (size_t i = 0; i < plan->n_items; i++)
		item_release(&plan->items[i]);
	free(plan->items);
	memset(plan, 0, sizeof(*plan));
}

static bool replaced(const struct oci_descriptor *desc)
{
	return oci_descriptor_annotation(desc, REBUILD_ANNOTATION_REPLACED_BY) != NULL;
}

static ssize_t find_root(const struct rebuild_plan *plan, const char *digest)
{
	for (size_t i = 0; i < plan->n_roots; i++)
		if (strcmp(plan->roots[i].digest, digest) == 0)
			return (ssize_t)i;
	return -1;
}

static ssize_t find_item(const struct rebuild_plan *plan, const char *digest)
{
	for (size_t i = 0; i < plan->n_items; i++)
		if (strcmp(plan->items[i].digest, digest) == 0)
			return (ssize_t)i;
	return -1;
}

static void add_root(struct rebuild_plan *plan, const struct petra_policy *policy, const char *name,
		     const char *digest)
{
	if (find_root(plan, digest) >= 0)
		return;
	plan->roots = xrealloc(plan->roots, (plan->n_roots + 1) * sizeof(*plan->roots));
	struct rebuild_root *r = &plan->roots[plan->n_roots++];
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	snprintf(r->digest, sizeof(r->digest), "%s", digest);
	struct policy_rewrite_result rw = {0};
	if (policy && petra_policy_rewrite_base(policy, name, &rw, NULL) == 0 && rw.ref)
		r->replacement = xstrdup(rw.ref);
	policy_rewrite_result_release(&rw);
}

/* Every named store image the policy bans. */
static int banned_roots(struct petra_store *store, const struct petra_policy *policy,
			struct rebuild_plan *plan, struct petra_error **err)
{
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	int r = petra_store_list(store, &entries, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!entries[i].name || replaced(&entries[i].desc))
			continue;
		struct policy_base_verdict v;
		r = petra_policy_check_base(policy, entries[i].name, entries[i].desc.digest, &v,
					    err);
		if (r == 0 && v.status == POLICY_BASE_BANNED)
			add_root(plan, policy, entries[i].name, entries[i].desc.digest);
	}
	petra_store_entries_free(entries, n);
	return r;
}

/* The names an item keeps: those not already marked as replaced. */
static void live_names(struct petra_store_entry *entries, size_t n, const char *digest,
		       struct strvec *out)
{
	for (size_t i = 0; i < n; i++)
		if (entries[i].name && strcmp(entries[i].desc.digest, digest) == 0 &&
		    !replaced(&entries[i].desc))
			strvec_push(out, entries[i].name);
}

static void add_dep(struct rebuild_item *it, size_t dep)
{
	for (size_t i = 0; i < it->n_deps; i++)
		if (it->deps[i] == dep)
			return;
	it->deps = xrealloc(it->deps, (it->n_deps + 1) * sizeof(*it->deps));
	it->deps[it->n_deps++] = dep;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The number of history entries and diff_ids of an image, or false. */
static bool image_shape(struct petra_store *store, const char *digest, size_t *history,
			struct strvec *diff_ids)
{
	struct image img = {0};
	if (image_load(store, digest, &img, NULL) < 0)
		return false;
	*history = json_array_size(json_object_get(img.config.json, "history"));
	for (size_t i = 0; i < img.config.diff_ids.n; i++)
		strvec_push(diff_ids, img.config.diff_ids.v[i]);
	image_release(&img);
	return true;
}

static bool is_prefix(const struct strvec *a, const struct strvec *b)
{
	if (a->n == 0 || a->n >= b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* Without a record, the base is the root or item with the longest layer
 * prefix of the image's. */
static void base_by_layers(struct petra_store *store, struct rebuild_plan *plan, size_t idx)
{
	struct rebuild_item *it = &plan->items[idx];
	size_t hist;
	_cleanup_strvec_ struct strvec mine = STRVEC_INIT;
	if (!image_shape(store, it->digest, &hist, &mine))
		return;
	size_t best = 0;
	for (size_t k = 0; k < plan->n_roots + plan->n_items; k++) {
		const char *d = k < plan->n_roots ? plan->roots[k].digest
						  : plan->items[k - plan->n_roots].digest;
		if (k == plan->n_roots + idx)
			continue;
		_cleanup_strvec_ struct strvec theirs = STRVEC_INIT;
		size_t h;
		if (!image_shape(store, d, &h, &theirs) || !is_prefix(&theirs, &mine) ||
		    theirs.n <= best)
			continue;
		best = theirs.n;
		it->base_root = k < plan->n_roots ? (ssize_t)k : -1;
		it->base_item = k < plan->n_roots ? -1 : (ssize_t)(k - plan->n_roots);
	}
}

/* May this item be rebased? NULL, or why not. */
static char *rebase_blocker(struct petra_store *store, const struct rebuild_plan *plan,
			    const struct rebuild_item *it)
{
	if (it->base_root < 0 && it->base_item < 0)
		return xstrdup("its base is not an affected image (FROM scratch or a stage)");
	if (it->has_record) {
		for (size_t i = 0; i < it->record.n_materials; i++) {
			const struct lineage_material *m = &it->record.materials[i];
			if (strcmp(m->role, "base") == 0)
				continue;
			if (find_root(plan, m->digest) >= 0 || find_item(plan, m->digest) >= 0)
				return xasprintf("its %s %s is affected too", m->role, m->name);
		}
	}
	const char *base = it->base_root >= 0 ? plan->roots[it->base_root].digest
					      : plan->items[it->base_item].digest;
	size_t base_history, hist;
	_cleanup_strvec_ struct strvec base_ids = STRVEC_INIT, ids = STRVEC_INIT;
	if (!image_shape(store, base, &base_history, &base_ids) ||
	    !image_shape(store, it->digest, &hist, &ids))
		return xstrdup("its base or its config cannot be read");
	if (!is_prefix(&base_ids, &ids))
		return xstrdup("its layers do not start with its base's");
	struct image img = {0};
	if (image_load(store, it->digest, &img, NULL) < 0)
		return xstrdup("its config cannot be read");
	char *why = rebuild_rebase_unsafe(img.config.json, base_history);
	image_release(&img);
	return why;
}

/* A commit id: 7 to 64 hexadecimal digits, nothing else. */
static bool commit_id(const char *rev)
{
	size_t n = strspn(rev, "0123456789abcdef");
	return n >= 7 && n <= 64 && rev[n] == '\0';
}

static void decide(struct petra_store *store, struct rebuild_plan *plan, size_t idx,
		   enum rebuild_mode mode, bool banned)
{
	struct rebuild_item *it = &plan->items[idx];
	const struct lineage_record *rec = &it->record;
	/* harden and learn made the image from another one: the same again
	 * from that image's new version. */
	bool harden = it->has_record && strcmp(rec->producer, "harden") == 0;
	bool learn = it->has_record && strcmp(rec->producer, "learn") == 0;
	if (harden || learn) {
		for (size_t i = 0; i < rec->n_materials; i++)
			if (strcmp(rec->materials[i].role, rec->producer) == 0 &&
			    find_item(plan, rec->materials[i].digest) >= 0) {
				it->action = harden ? REBUILD_ACTION_HARDEN : REBUILD_ACTION_LEARN;
				return;
			}
		it->action = REBUILD_ACTION_NONE;
		it->why =
		    xasprintf("made by %s from an image that is not rebuilt here", rec->producer);
		return;
	}
	_cleanup_free_ char *blocker = mode == REBUILD_MODE_NO_REBASE
					   ? xstrdup("--no-rebase")
					   : rebase_blocker(store, plan, it);
	if (!blocker && it->base_root >= 0 && banned && !plan->roots[it->base_root].replacement) {
		/* Rebased onto what? The ban says what not to use, only a
		 * rewrite says what to use instead. */
		it->action = REBUILD_ACTION_NONE;
		it->why = xasprintf("its base %s is banned and the policy rewrites it to nothing",
				    plan->roots[it->base_root].name);
		return;
	}
	if (!blocker) {
		it->action = REBUILD_ACTION_REBASE;
		return;
	}
	if (!it->has_record) {
		it->action = REBUILD_ACTION_NONE;
		it->why = xasprintf("no build record, and no rebase: %s", blocker);
		return;
	}
	if (!rec->dockerfile_path) {
		it->action = REBUILD_ACTION_NONE;
		it->why = xasprintf("its %s record names no Dockerfile, and no rebase: %s",
				    rec->producer, blocker);
		return;
	}
	if (is_dir(rec->context_dir)) {
		struct stat st;
		if (stat(rec->dockerfile_path, &st) < 0) {
			it->action = REBUILD_ACTION_NONE;
			it->why = xasprintf("Dockerfile gone: %s", rec->dockerfile_path);
			return;
		}
		it->context = xstrdup(rec->context_dir);
	} else if (!rec->git_remote || !rec->git_revision) {
		it->action = REBUILD_ACTION_NONE;
		it->why = xasprintf("context gone: %s (and no git source recorded)",
				    rec->context_dir ? rec->context_dir : "(none recorded)");
		return;
	} else if (!commit_id(rec->git_revision)) {
		/* A "-dirty" revision had changes no commit holds. */
		it->action = REBUILD_ACTION_NONE;
		it->why = xasprintf("context gone: %s, and its recorded revision %s is not a "
				    "commit that can be checked out",
				    rec->context_dir ? rec->context_dir : "(none recorded)",
				    rec->git_revision);
		return;
	}
	it->action = REBUILD_ACTION_REBUILD;
	it->why = xasprintf("not a rebase: %s", blocker);
}

static unsigned item_level(struct rebuild_plan *plan, size_t idx, unsigned depth)
{
	struct rebuild_item *it = &plan->items[idx];
	if (it->level != 0 || depth > plan->n_items)
		return it->level;
	unsigned level = 1;
	for (size_t i = 0; i < it->n_deps; i++) {
		unsigned l = item_level(plan, it->deps[i], depth + 1) + 1;
		if (l > level)
			level = l;
	}
	it->level = level;
	return level;
}

static int compare_items(const void *a, const void *b, void *ctx)
{
	const struct rebuild_item *items = ctx;
	const struct rebuild_item *x = &items[*(const size_t *)a], *y = &items[*(const size_t *)b];
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	const char *nx = x->names.n ? x->names.v[0] : x->digest;
	const char *ny = y->names.n ? y->names.v[0] : y->digest;
	return strcmp(nx, ny);
}

/* Sort by level then name, and renumber the references between items. */
static void sort_items(struct rebuild_plan *plan)
{
	size_t n = plan->n_items;
	size_t *order = xcalloc(n + 1, sizeof(*order)); /* new position -> old index */
	size_t *to_new = xcalloc(n + 1, sizeof(*to_new));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), compare_items, plan->items);
	struct rebuild_item *sorted = xcalloc(n + 1, sizeof(*sorted));
	for (size_t i = 0; i < n; i++) {
		sorted[i] = plan->items[order[i]];
		to_new[order[i]] = i;
	}
	free(plan->items);
	plan->items = sorted;
	for (size_t i = 0; i < n; i++) {
		struct rebuild_item *it = &plan->items[i];
		for (size_t k = 0; k < it->n_deps; k++)
			it->deps[k] = to_new[it->deps[k]];
		if (it->base_item >= 0)
			it->base_item = (ssize_t)to_new[it->base_item];
		it->level -= 1; /* levels count from 0 */
		if (it->level + 1 > plan->n_levels)
			plan->n_levels = it->level + 1;
	}
	free(order);
	free(to_new);
}

int rebuild_plan_make(struct petra_store *store, const struct rebuild_options *o,
		      struct rebuild_plan *plan, struct petra_error **err)
{
	memset(plan, 0, sizeof(*plan));
	int r;
	if (o->banned) {
		if (!o->policy)
			return petra_error_set(err, EINVAL, "--banned needs a policy with bans");
		r = banned_roots(store, o->policy, plan, err);
	} else {
		struct oci_descriptor desc;
		_cleanup_free_ char *name = NULL;
		r = petra_store_resolve(store, o->derived_from, &desc, &name, err);
		if (r == 0) {
			add_root(plan, o->policy, name ? name : o->derived_from, desc.digest);
			oci_descriptor_release(&desc);
		}
	}
	if (r < 0)
		return r;

	struct petra_store_entry *entries = NULL;
	size_t n_entries = 0;
	r = petra_store_list(store, &entries, &n_entries, err);
	for (size_t k = 0; r == 0 && k < plan->n_roots; k++) {
		struct lineage_derivations d = {0};
		r = lineage_derived_from(store, plan->roots[k].digest, &d, err);
		for (size_t i = 0; r == 0 && i < d.n; i++) {
			const char *digest = d.v[i].digest;
			if (find_item(plan, digest) >= 0 || find_root(plan, digest) >= 0)
				continue;
			_cleanup_strvec_ struct strvec names = STRVEC_INIT;
			live_names(entries, n_entries, digest, &names);
			if (names.n == 0)
				continue; /* only old names left: already replaced */
			plan->items =
			    xrealloc(plan->items, (plan->n_items + 1) * sizeof(*plan->items));
			struct rebuild_item *it = &plan->items[plan->n_items++];
			memset(it, 0, sizeof(*it));
			snprintf(it->digest, sizeof(it->digest), "%s", digest);
			it->names = names;
			names = (struct strvec)STRVEC_INIT;
			it->base_root = it->base_item = -1;
			it->output = (struct strbuf)STRBUF_INIT;
		}
		lineage_derivations_release(&d);
	}
	petra_store_entries_free(entries, n_entries);
	/* A root found below another root is a root, not an item: done above.
	 * Now the records, the dependencies and the bases. */
	for (size_t i = 0; r == 0 && i < plan->n_items; i++) {
		struct rebuild_item *it = &plan->items[i];
		r = lineage_record_load(store, it->digest, &it->record, err);
		if (r == -ENOENT) {
			r = 0;
			base_by_layers(store, plan, i);
			continue;
		}
		if (r < 0)
			break;
		it->has_record = true;
		for (size_t m = 0; m < it->record.n_materials; m++) {
			const struct lineage_material *mat = &it->record.materials[m];
			ssize_t dep = find_item(plan, mat->digest);
			if (dep >= 0 && (size_t)dep != i)
				add_dep(it, (size_t)dep);
			if (strcmp(mat->role, "base") == 0) {
				it->base_item = dep;
				it->base_root = dep >= 0 ? -1 : find_root(plan, mat->digest);
			}
		}
	}
	if (r < 0) {
		rebuild_plan_release(plan);
		return r;
	}
	for (size_t i = 0; i < plan->n_items; i++)
		decide(store, plan, i, o->mode, o->banned);
	for (size_t i = 0; i < plan->n_items; i++)
		item_level(plan, i, 0);
	sort_items(plan);
	return 0;
}

static json_t *strvec_json(const struct strvec *sv)
{
	json_t *a = json_array();
	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static json_t *item_json(const struct rebuild_plan *plan, const struct rebuild_item *it)
{
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(it->names.n ? it->names.v[0] : it->digest));
	json_object_set_new(j, "names", strvec_json(&it->names));
	json_object_set_new(j, "digest", json_string(it->digest));
	json_object_set_new(j, "level", json_integer(it->level));
	json_object_set_new(j, "action", json_string(rebuild_action_name(it->action)));
	if (it->why)
		json_object_set_new(j, "why", json_string(it->why));
	if (it->base_root >= 0) {
		const struct rebuild_root *root = &plan->roots[it->base_root];
		json_object_set_new(j, "base", json_string(root->name));
		json_object_set_new(
		    j, "new_base", json_string(root->replacement ? root->replacement : root->name));
	} else if (it->base_item >= 0) {
		const struct rebuild_item *b = &plan->items[it->base_item];
		json_object_set_new(j, "base", json_string(b->names.v[0]));
		json_object_set_new(j, "new_base", json_string(b->names.v[0]));
	}
	json_t *after = json_array();
	for (size_t i = 0; i < it->n_deps; i++)
		json_array_append_new(after, json_string(plan->items[it->deps[i]].names.v[0]));
	json_object_set_new(j, "after", after);
	if (it->has_record) {
		const struct lineage_record *rec = &it->record;
		json_t *r = json_object();
		json_object_set_new(r, "producer", json_string(rec->producer));
		if (rec->dockerfile_path)
			json_object_set_new(r, "dockerfile", json_string(rec->dockerfile_path));
		if (rec->context_dir)
			json_object_set_new(r, "context", json_string(rec->context_dir));
		if (rec->git_remote)
			json_object_set_new(r, "git_remote", json_string(rec->git_remote));
		if (rec->git_revision)
			json_object_set_new(r, "git_revision", json_string(rec->git_revision));
		json_t *args = json_array();
		for (size_t i = 0; i < rec->n_build_args; i++)
			json_array_append_new(args, json_string(rec->build_args[i]));
		json_object_set_new(r, "build_args", args);
		if (rec->target)
			json_object_set_new(r, "target", json_string(rec->target));
		if (rec->parameters)
			json_object_set(r, "parameters", rec->parameters);
		json_t *materials = json_array();
		for (size_t i = 0; i < rec->n_materials; i++)
			json_array_append_new(materials, json_pack("{s:s, s:s, s:s}", "role",
								   rec->materials[i].role, "name",
								   rec->materials[i].name, "digest",
								   rec->materials[i].digest));
		json_object_set_new(r, "materials", materials);
		json_object_set_new(j, "record", r);
	}
	return j;
}

static json_t *roots_json(const struct rebuild_plan *plan)
{
	json_t *a = json_array();
	for (size_t i = 0; i < plan->n_roots; i++) {
		const struct rebuild_root *r = &plan->roots[i];
		json_t *j = json_pack("{s:s, s:s}", "name", r->name, "digest", r->digest);
		if (r->replacement)
			json_object_set_new(j, "replacement", json_string(r->replacement));
		json_array_append_new(a, j);
	}
	return a;
}

json_t *rebuild_plan_json(const struct rebuild_plan *plan)
{
	json_t *levels = json_array();
	for (unsigned l = 0; l < plan->n_levels; l++) {
		json_t *level = json_array();
		for (size_t i = 0; i < plan->n_items; i++)
			if (plan->items[i].level == l)
				json_array_append_new(level, item_json(plan, &plan->items[i]));
		json_array_append_new(levels, level);
	}
	return json_pack("{s:o, s:o}", "roots", roots_json(plan), "levels", levels);
}

json_t *rebuild_report_json(const struct rebuild_plan *plan)
{
	static const enum rebuild_outcome order[] = {
	    REBUILD_REBUILT, REBUILD_REBASED,         REBUILD_UNCHANGED,
	    REBUILD_FAILED,  REBUILD_NOT_REBUILDABLE, REBUILD_SKIPPED,
	};
	json_t *report = json_pack("{s:o}", "roots", roots_json(plan));
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		json_t *list = json_array();
		for (size_t i = 0; i < plan->n_items; i++) {
			const struct rebuild_item *it = &plan->items[i];
			if (it->outcome != order[k])
				continue;
			json_t *j = json_object();
			json_object_set_new(j, "name", json_string(it->names.v[0]));
			json_object_set_new(j, "digest", json_string(it->digest));
			json_object_set_new(j, "level", json_integer(it->level));
			if (it->new_digest[0])
				json_object_set_new(j, "new_digest", json_string(it->new_digest));
			if (it->new_digest[0] && strcmp(it->new_digest, it->digest) != 0) {
				json_t *old = json_array();
				for (size_t n = 0; n < it->names.n; n++)
					json_array_append_new(
					    old,
					    json_sprintf("%s" REBUILD_OLD_SUFFIX, it->names.v[n]));
				json_object_set_new(j, "old_names", old);
			}
			if (it->why)
				json_object_set_new(j, "why", json_string(it->why));
			if (it->error)
				json_object_set_new(j, "error", json_string(it->error));
			if (it->outcome == REBUILD_FAILED && it->output.len)
				json_object_set_new(j, "output", json_string(it->output.buf));
			json_object_set_new(j, "seconds", json_real(it->seconds));
			json_array_append_new(list, j);
		}
		json_object_set_new(report, rebuild_outcome_name(order[k]), list);
	}
	return report;
}

/* ---- a plan read back (--from-plan) ------------------------------------ */

static char *dup_or_null(const json_t *obj, const char *key)
{
	const char *s = json_get_string(obj, key);
	return s ? xstrdup(s) : NULL;
}

static void record_from_json(const json_t *j, struct lineage_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->producer =
	    xstrdup(json_get_string(j, "producer") ? json_get_string(j, "producer") : "build");
	rec->dockerfile_path = dup_or_null(j, "dockerfile");
	rec->context_dir = dup_or_null(j, "context");
	rec->git_remote = dup_or_null(j, "git_remote");
	rec->git_revision = dup_or_null(j, "git_revision");
	rec->target = dup_or_null(j, "target");
	const json_t *args = json_object_get(j, "build_args");
	rec->build_args = xcalloc(json_array_size(args) + 1, sizeof(char *));
	size_t i;
	const json_t *v;
	json_array_foreach(args, i, v) if (json_is_string(v)) rec->build_args[rec->n_build_args++] =
	    xstrdup(json_string_value(v));
	const json_t *mats = json_object_get(j, "materials");
	rec->materials = xcalloc(json_array_size(mats) + 1, sizeof(*rec->materials));
	json_array_foreach(mats, i, v)
	{
		const char *role = json_get_string(v, "role"), *name = json_get_string(v, "name");
		const char *digest = json_get_string(v, "digest");
		if (!role || !name || !digest)
			continue;
		struct lineage_material *m = &rec->materials[rec->n_materials++];
		m->role = xstrdup(role);
		m->name = xstrdup(name);
		snprintf(m->digest, sizeof(m->digest), "%s", digest);
	}
	const json_t *params = json_object_get(j, "parameters");
	rec->parameters = params ? json_deep_copy(params) : NULL;
}

static ssize_t find_named(const struct rebuild_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->n_items; i++)
		if (plan->items[i].names.n && strcmp(plan->items[i].names.v[0], name) == 0)
			return (ssize_t)i;
	return -1;
}

int rebuild_plan_from_json(const json_t *j, struct rebuild_plan *plan, struct petra_error **err)
{
	memset(plan, 0, sizeof(*plan));
	const json_t *roots = json_object_get(j, "roots"), *levels = json_object_get(j, "levels");
	if (!json_is_array(roots) || !json_is_array(levels))
		return petra_error_set(err, EINVAL, "not a rebuild plan (roots, levels)");
	size_t i, k;
	const json_t *v, *level;
	json_array_foreach(roots, i, v)
	{
		const char *name = json_get_string(v, "name"),
			   *digest = json_get_string(v, "digest");
		if (!name || !digest || !oci_digest_valid(digest)) {
			rebuild_plan_release(plan);
			return petra_error_set(err, EINVAL, "plan root %zu: no name or digest", i);
		}
		plan->roots = xrealloc(plan->roots, (plan->n_roots + 1) * sizeof(*plan->roots));
		struct rebuild_root *r = &plan->roots[plan->n_roots++];
		memset(r, 0, sizeof(*r));
		r->name = xstrdup(name);
		snprintf(r->digest, sizeof(r->digest), "%s", digest);
		r->replacement = dup_or_null(v, "replacement");
	}
	json_array_foreach(levels, k, level)
	{
		json_array_foreach(level, i, v)
		{
			const char *digest = json_get_string(v, "digest");
			const json_t *names = json_object_get(v, "names");
			if (!digest || !oci_digest_valid(digest) || json_array_size(names) == 0) {
				rebuild_plan_release(plan);
				return petra_error_set(
				    err, EINVAL, "plan level %zu, image %zu: no digest or names", k,
				    i);
			}
			plan->items =
			    xrealloc(plan->items, (plan->n_items + 1) * sizeof(*plan->items));
			struct rebuild_item *it = &plan->items[plan->n_items++];
			memset(it, 0, sizeof(*it));
			it->output = (struct strbuf)STRBUF_INIT;
			snprintf(it->digest, sizeof(it->digest), "%s", digest);
			size_t n;
			const json_t *name;
			json_array_foreach(names, n, name)
			    strvec_push(&it->names, json_string_value(name));
			it->level = (unsigned)k;
			const char *action = json_get_string(v, "action");
			it->action = !action                          ? REBUILD_ACTION_NONE
				     : strcmp(action, "rebuild") == 0 ? REBUILD_ACTION_REBUILD
				     : strcmp(action, "rebase") == 0  ? REBUILD_ACTION_REBASE
				     : strcmp(action, "harden") == 0  ? REBUILD_ACTION_HARDEN
				     : strcmp(action, "learn") == 0   ? REBUILD_ACTION_LEARN
								      : REBUILD_ACTION_NONE;
			it->why = dup_or_null(v, "why");
			it->base_root = it->base_item = -1;
			const json_t *rec = json_object_get(v, "record");
			if (rec) {
				it->has_record = true;
				record_from_json(rec, &it->record);
				if (is_dir(it->record.context_dir))
					it->context = xstrdup(it->record.context_dir);
			}
		}
		plan->n_levels = (unsigned)k + 1;
	}
	/* The references between them, by name. */
	json_array_foreach(levels, k, level)
	{
		json_array_foreach(level, i, v)
		{
			struct rebuild_item *it =
			    &plan->items[find_named(plan, json_string_value(json_array_get(
							      json_object_get(v, "names"), 0)))];
			size_t n;
			const json_t *after;
			json_array_foreach(json_object_get(v, "after"), n, after)
			{
				ssize_t dep = find_named(plan, json_string_value(after));
				if (dep >= 0)
					add_dep(it, (size_t)dep);
			}
			const char *base = json_get_string(v, "base");
			if (!base)
				continue;
			it->base_item = find_named(plan, base);
			for (size_t r = 0; it->base_item < 0 && r < plan->n_roots; r++)
				if (strcmp(plan->roots[r].name, base) == 0)
					it->base_root = (ssize_t)r;
		}
	}
	return 0;
}
