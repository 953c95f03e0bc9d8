/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The step engine, and one stage: FROM, the base image's ONBUILD
 * triggers, then each instruction in order, each through its kind.
 *
 * Every step goes the same way (builder_step_execute):
 *
 *   prepare  the kind parses and expands the instruction, and adds to the
 *            key what is quick to know; a config-only step is done here
 *   key      the kind adds what is slow to hash (the content COPY reads),
 *            while its apply may already run in a thread (speculation)
 *   cache    the key's record, if any, is the step's result
 *   announce the step's line, marked when cached
 *   view     a writable view of the stage (overlay, copy, or empty)
 *   apply    the kind's work in the view
 *   commit   the view's changes as a layer, added to the state
 *   record   the history entry, and the state saved under the key
 *
 * The engine knows the kinds only through struct builder_step_kind.
 */
#include "step.h"

#include <ctype.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What a step shows and records: its source line, blanks collapsed and
 * control bytes written as \xNN, for people; the first line of a heredoc
 * only. */
static char *step_text(const struct dockerfile_instruction *in, size_t max)
{
	struct strbuf sb = STRBUF_INIT;
	bool blank = false;
	for (const char *p = in->original; *p && *p != '\n'; p++) {
		if (isspace((unsigned char)*p)) {
			blank = sb.len > 0;
			continue;
		}
		if (blank)
			strbuf_addch(&sb, ' ');
		blank = false;
		/* A control byte in a Dockerfile (ESC, BEL) is shown, never sent
		 * to the terminal as it is. */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			strbuf_addf(&sb, "\\x%02x", (unsigned char)*p);
		else
			strbuf_addch(&sb, *p);
	}
	if (max && sb.len > max) {
		strbuf_setlen(&sb, max - 3);
		strbuf_addstr(&sb, "...");
	}
	return strbuf_detach(&sb);
}

/* ---- the engine ---- */

/* Print the step's line, marked when its result comes from the cache. */
static void announce(struct builder_step *s, bool cached)
{
	builder_say(s->session, s->say_as, "%s%s%s%s%s", s->label, *s->label ? " " : "", s->prefix,
		    s->text, cached ? "  (cached)" : "");
	s->stage->last_ran = !cached;
	s->cached = cached;
}

/* Print the step's result line. */
static void say_done(struct builder_step *s, struct timespec start, size_t layers_before)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	double secs =
	    (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
	if (s->state->n_layers > layers_before) {
		char size[32];
		format_size((uint64_t)s->state->layers[s->state->n_layers - 1].desc.size, size,
			    sizeof(size));
		builder_say(s->session, s->say_as, "      done in %.2fs, layer %s", secs, size);
	} else {
		builder_say(s->session, s->say_as, "      done in %.2fs, no changes", secs);
	}
}

/* The history entry and the cache record of a step that went through the
 * cache. */
static void record(struct builder_step *s, const char *key, bool changed)
{
	struct builder_session *b = s->session;
	builder_state_add_history(s->state, s->created_by ? s->created_by : s->text, !changed,
				  b->o->reproducible ? b->now : time(NULL));
	builder_cache_save(b, key, s->state);
}

/* A config-only step: its history time is the stage's last, so the image
 * does not change when nothing else does. */
static void finish_config_only(struct builder_step *s)
{
	if (!s->no_history) {
		const char *created = json_get_string(s->state->config, "created");
		time_t when = s->session->now;
		if (created)
			time_parse_rfc3339(created, &when);
		builder_state_add_history(s->state, s->text, true, when);
	}
	builder_say(s->session, s->say_as, "%s %s%s", s->label, s->prefix, s->text);
}

static int open_view(struct builder_step *s, struct builder_view *v, struct petra_error **err)
{
	switch (s->view) {
	case BUILDER_VIEW_EMPTY:
		return builder_view_open_empty(s->session, "layer", v, err);
	case BUILDER_VIEW_UNMOUNTED:
		return builder_view_open(s->session, s->state, false, v, err);
	default:
		return builder_view_open(s->session, s->state, true, v, err);
	}
}

/* ---- speculation: apply in a thread while the key is hashed ---- */

struct speculation {
	struct builder_step *s;
	const struct builder_step_kind *kind;
	struct builder_view v;
	int r;
	struct petra_error *err;
	pthread_t thread;
	pthread_mutex_t lock; /* done */
	pthread_cond_t cond;
	bool done;
};

static void *speculation_thread(void *arg)
{
	struct speculation *sp = arg;
	memset(&sp->v, 0, sizeof(sp->v));
	sp->r = open_view(sp->s, &sp->v, &sp->err);
	if (sp->r == 0)
		sp->r = sp->kind->apply(sp->s, &sp->v, &sp->err);
	pthread_mutex_lock(&sp->lock);
	sp->done = true;
	pthread_cond_signal(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

static bool speculation_start(struct speculation *sp, struct builder_step *s,
			      const struct builder_step_kind *kind)
{
	*sp = (struct speculation){.s = s, .kind = kind};
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	if (pthread_create(&sp->thread, NULL, speculation_thread, sp) == 0)
		return true;
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
	return false;
}

static void speculation_join(struct speculation *sp)
{
	pthread_join(sp->thread, NULL);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
}

/* Not wanted (a cache hit, or the key failed): stopped, and what it made
 * goes. */
static void speculation_cancel(struct speculation *sp)
{
	atomic_store(&sp->s->cancel, true);
	speculation_join(sp);
	builder_view_release(&sp->v);
	petra_error_free(sp->err);
}

/* The step's: its progress shown until it ends, its view and result
 * taken. */
static int speculation_wait(struct speculation *sp, struct builder_view *v,
			    struct petra_error **err)
{
	struct builder_session *b = sp->s->session;
	const char *title = sp->kind->progress;
	struct progress progress;
	if (title && !b->parallel)
		progress_begin(&progress, title, 0);
	uint64_t shown = 0;
	pthread_mutex_lock(&sp->lock);
	while (!sp->done) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&sp->cond, &sp->lock, &until);
		uint64_t now = atomic_load(&sp->s->copied);
		if (title && !b->parallel)
			progress_add(&progress, now - shown);
		shown = now;
	}
	pthread_mutex_unlock(&sp->lock);
	speculation_join(sp);
	if (title && !b->parallel)
		progress_end(&progress);
	*v = sp->v;
	if (sp->r < 0 && err) {
		petra_error_free(*err);
		*err = sp->err;
	} else {
		petra_error_free(sp->err);
	}
	return sp->r;
}

/* ---- one step ---- */

/* A layer made by this step before on any parent (s->layer_key): put on
 * this one. */
static bool take_layer(struct builder_step *s, const char *key)
{
	struct builder_session *b = s->session;
	struct builder_state linked;
	if (!s->has_layer_key || b->o->no_cache || !builder_cache_load(b, s->layer_key, &linked))
		return false;
	bool ok = linked.n_layers == 1;
	if (ok) {
		struct layer_info li = {.size = linked.layers[0].desc.size,
					.uncompressed_size = 2048, /* not empty */
					.media_type = linked.layers[0].desc.media_type};
		memcpy(li.digest, linked.layers[0].desc.digest, OCI_DIGEST_SIZE);
		memcpy(li.diff_id, linked.layers[0].diff_id, OCI_DIGEST_SIZE);
		builder_state_add_layer(s->state, &li, NULL);
		announce(s, true);
		record(s, key, true);
	}
	builder_state_release(&linked);
	return ok;
}

/* Commit and record what apply did in v (r: how that went). */
static int commit(struct builder_step *s, const struct builder_step_kind *kind,
		  struct builder_view *v, int r, const char *key, struct petra_error **err)
{
	struct builder_session *b = s->session;
	bool changed = false;
	struct layer_info info;
	if (r == 0)
		r = builder_view_commit(b, v, s->state, kind->flags & BUILDER_STEP_ALWAYS_LAYER,
					&changed, &info, err);
	builder_view_release(v);
	if (r < 0)
		return r;
	record(s, key, changed);
	if (s->has_layer_key && changed) {
		/* The layer alone, for this step on any other parent. */
		struct builder_state only = {
		    .config = json_pack("{s:{s:s,s:[]}}", "rootfs", "type", "layers", "diff_ids")};
		builder_state_add_layer(&only, &info, NULL);
		builder_cache_save(b, s->layer_key, &only);
		builder_state_release(&only);
	}
	return 0;
}

/* key -> cache -> announce -> view -> apply -> commit -> record. */
static int through_cache(struct builder_step *s, const struct builder_step_kind *kind,
			 struct petra_error **err)
{
	struct builder_session *b = s->session;
	struct speculation sp;
	bool speculating = s->speculate && (b->o->no_cache || s->stage->last_ran) &&
			   speculation_start(&sp, s, kind);
	int r = kind->key ? kind->key(s, err) : 0;
	char key[OCI_DIGEST_SIZE];
	oci_hasher_final(&s->key, key);
	oci_hasher_init(&s->key);
	builder_key_add(&s->key, key);
	struct builder_state hit;
	bool cached = r == 0 && !b->o->no_cache && builder_cache_load(b, key, &hit);
	if (speculating && (r < 0 || cached)) {
		speculation_cancel(&sp);
		speculating = false;
	}
	if (r < 0)
		return r;
	if (cached) {
		builder_state_release(s->state);
		*s->state = hit;
		announce(s, true);
		return 0;
	}
	if (take_layer(s, key))
		return 0;
	announce(s, false);
	struct builder_view v = {0};
	if (speculating) {
		r = speculation_wait(&sp, &v, err);
	} else {
		struct progress progress;
		s->progress = b->parallel || !kind->progress ? NULL : &progress;
		r = open_view(s, &v, err);
		if (r == 0)
			r = kind->apply(s, &v, err);
		s->progress = NULL;
	}
	return commit(s, kind, &v, r, key, err);
}

int builder_step_execute(struct builder_step *s, const struct builder_step_kind *kind,
			 struct petra_error **err)
{
	if (builder_cancelled(s->session))
		return petra_error_set(err, ECANCELED, "cancelled: another stage failed");
	s->view = kind->view;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	size_t layers_before = s->state->n_layers;
	int r = kind->prepare(s, err);
	if (r == 0 && s->view == BUILDER_VIEW_NONE)
		finish_config_only(s);
	else if (r == 0)
		r = through_cache(s, kind, err);
	if (r == 0 && !s->cached && (kind->flags & BUILDER_STEP_SAY_DONE))
		say_done(s, start, layers_before);
	if (kind->release)
		kind->release(s);
	free(s->created_by);
	s->created_by = NULL;
	return r;
}

/* ---- the stage ---- */

/* One step of the stage, of an instruction or (in is NULL) an extra
 * command; key is the parent's on the way in, the step's on the way out. */
static int stage_step(struct builder_session *b, struct builder_plan *p, struct builder_stage *st,
		      struct dockerfile_scope *scope, struct builder_state *state,
		      char key[OCI_DIGEST_SIZE], const struct dockerfile_instruction *in,
		      const char *command, unsigned n, unsigned total, const char *prefix,
		      struct petra_error **err)
{
	_cleanup_free_ char *text = in ? step_text(in, 100) : xasprintf("RUN %s", command);
	struct builder_step s = {.session = b,
				 .plan = p,
				 .stage = st,
				 .in = in,
				 .command = command,
				 .scope = scope,
				 .state = state,
				 .text = text,
				 .prefix = prefix,
				 .say_as = st->label};
	snprintf(s.label, sizeof(s.label), "[%u/%u]", n, total);
	oci_hasher_init(&s.key);
	builder_key_add(&s.key, key);
	builder_key_add(&s.key, in ? dockerfile_kind_name(in->kind) : "RUN");
	st->steps++;
	int r =
	    builder_step_execute(&s, builder_step_kind_for(in ? in->kind : DOCKERFILE_RUN), err);
	if (r < 0) {
		oci_hasher_release(&s.key);
		return in ? petra_error_prefix(err, "%s %s%s", s.label, prefix, text) : r;
	}
	if (s.cached)
		st->cached++;
	oci_hasher_final(&s.key, key);
	return 0;
}

/* The base of the stage: scratch, an earlier stage, or an image. */
static int stage_from(struct builder_session *b, const struct builder_plan *p,
		      struct builder_stage *st, struct dockerfile_scope *scope,
		      struct builder_state *state, char key[OCI_DIGEST_SIZE], char **shown,
		      struct petra_error **err)
{
	const struct dockerfile_instruction *from = &p->df->instructions[st->df->from];
	struct dockerfile_expander ex;
	dockerfile_scope_expander(scope, DOCKERFILE_FROM, &ex);
	_cleanup_free_ char *base = NULL, *platform = NULL;
	int r = dockerfile_expand_word(&ex, st->df->base->text, &base, err);
	if (r == 0 && st->df->platform)
		r = dockerfile_expand_word(&ex, st->df->platform, &platform, err);
	if (r < 0)
		return petra_error_prefix(err, "line %u: FROM", from->start_line);
	_cleanup_free_ char *host = xasprintf("linux/%s", oci_host_architecture());
	if (platform && *platform && strcmp(platform, host))
		return petra_error_set(err, ENOTSUP,
				       "line %u: FROM --platform=%s: only this machine's platform "
				       "(%s) can be built",
				       from->start_line, platform, host);
	struct oci_hasher k;
	oci_hasher_init(&k);
	builder_key_add(&k, "petra-build/1");
	builder_key_add(&k, layer_compression_name(b->o->compression));
	builder_key_addf(&k, "%lld",
			 b->o->reproducible ? (long long)b->o->source_date_epoch : -1LL);
	struct builder_stage *parent = builder_find_stage(p, base, st->index);
	if (!strcasecmp(base, "scratch")) {
		state->config =
		    json_pack("{s:s,s:s,s:{s:[s]},s:{s:s,s:[]},s:[]}", "architecture",
			      oci_host_architecture(), "os", "linux", "config", "Env", DEFAULT_PATH,
			      "rootfs", "type", "layers", "diff_ids", "history");
		state->layers = xcalloc(1, sizeof(*state->layers));
		builder_key_add(&k, "scratch");
		*shown = xstrdup("scratch");
	} else if (parent) {
		builder_state_copy(state, &parent->state);
		char id[OCI_DIGEST_SIZE];
		builder_state_identity(&parent->state, id);
		builder_key_add(&k, id);
		st->base_name = parent->base_name ? xstrdup(parent->base_name) : NULL;
		memcpy(st->base_digest, parent->base_digest, OCI_DIGEST_SIZE);
		st->base_stage = parent->base_stage;
		st->n_base_layers = parent->n_base_layers;
		st->n_base_history = parent->n_base_history;
		*shown = xasprintf("%s (stage %s)", base, parent->label);
	} else {
		struct image img;
		r = builder_resolve_base(b, st->label, base, &img, err);
		if (r < 0) {
			oci_hasher_release(&k);
			return petra_error_prefix(err, "line %u: FROM %s", from->start_line, base);
		}
		builder_state_from_image(state, &img);
		builder_key_add(&k, img.desc.digest);
		st->base_name = xstrdup(img.name ? img.name : base);
		memcpy(st->base_digest, img.desc.digest, OCI_DIGEST_SIZE);
		st->base_stage = st->index;
		builder_note_material(b, st->index, st->df->name, "from", st->base_name,
				      st->base_digest);
		st->n_base_layers = state->n_layers;
		st->n_base_history = json_array_size(json_object_get(state->config, "history"));
		char short_digest[13];
		oci_digest_short(img.desc.digest, short_digest);
		*shown = xasprintf("%s (%s)", img.name ? img.name : base, short_digest);
		image_release(&img);
	}
	oci_hasher_final(&k, key);
	/* The stage's environment starts as the base's. */
	struct dockerfile_vars *env = dockerfile_vars_new();
	json_t *list = json_object_get(builder_state_runtime(state), "Env");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) if (json_is_string(v))
	    dockerfile_vars_set_pair(env, json_string_value(v));
	dockerfile_scope_image_env(scope, env);
	dockerfile_vars_free(env);
	return 0;
}

/* The base image's ONBUILD triggers, parsed as Dockerfile lines. */
static int onbuild_triggers(struct builder_state *state, struct dockerfile **out,
			    struct petra_error **err)
{
	*out = NULL;
	json_t *cfg = builder_state_runtime(state);
	json_t *triggers = json_object_get(cfg, "OnBuild");
	if (!json_is_array(triggers) || !json_array_size(triggers)) {
		json_object_del(cfg, "OnBuild");
		return 0;
	}
	struct strbuf text = STRBUF_INIT;
	strbuf_addstr(&text, "FROM scratch\n");
	size_t i;
	json_t *v;
	json_array_foreach(triggers, i, v)
	{
		strbuf_addstr(&text, json_string_value(v) ? json_string_value(v) : "");
		strbuf_addch(&text, '\n');
	}
	struct dockerfile_parse_opts po = {.name = "ONBUILD trigger"};
	int r = dockerfile_parse(text.buf, text.len, &po, out, err);
	strbuf_release(&text);
	/* Triggers run once, in the image built on this one, not after. */
	json_object_del(cfg, "OnBuild");
	return r;
}

int builder_stage_build(struct builder_session *b, struct builder_plan *p, struct builder_stage *st,
			struct petra_error **err)
{
	const struct dockerfile *df = p->df;
	struct dockerfile_scope scope;
	dockerfile_scope_init(&scope, df->escape, b->build_args);
	int r = 0;
	for (size_t i = 0; i < df->n_instructions && r == 0; i++)
		if (df->instructions[i].stage == DOCKERFILE_GLOBAL)
			r = dockerfile_scope_apply(&scope, &df->instructions[i], err);
	if (r == 0)
		r = dockerfile_scope_apply(&scope, &df->instructions[st->df->from], err);
	struct builder_state state = {0};
	char key[OCI_DIGEST_SIZE];
	_cleanup_free_ char *shown = NULL;
	if (r == 0)
		r = stage_from(b, p, st, &scope, &state, key, &shown, err);
	_cleanup_dockerfile_ struct dockerfile *triggers = NULL;
	if (r == 0)
		r = onbuild_triggers(&state, &triggers, err);
	if (r == 0) {
		bool target = st->index == p->target;
		size_t n_extra = target ? b->o->n_extra_run : 0;
		unsigned n_triggers = triggers ? (unsigned)triggers->n_instructions - 1 : 0;
		unsigned total =
		    (unsigned)(st->df->end - st->df->from) + n_triggers + (unsigned)n_extra;
		unsigned n = 1;
		builder_say(b, st->label, "[%u/%u] FROM %s", n, total, shown);
		st->steps++;
		for (size_t i = 1; r == 0 && triggers && i < triggers->n_instructions; i++)
			r = stage_step(b, p, st, &scope, &state, key, &triggers->instructions[i],
				       NULL, ++n, total, "ONBUILD ", err);
		for (size_t i = st->df->from + 1; r == 0 && i < st->df->end; i++)
			r = stage_step(b, p, st, &scope, &state, key, &df->instructions[i], NULL,
				       ++n, total, "", err);
		for (size_t i = 0; r == 0 && i < n_extra; i++)
			r = stage_step(b, p, st, &scope, &state, key, NULL, b->o->extra_run[i], ++n,
				       total, "", err);
	}
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < scope.used_build_args.capacity; i++)
		if (scope.used_build_args.slots && scope.used_build_args.slots[i])
			strset_add(&p->used_build_args, scope.used_build_args.slots[i]);
	pthread_mutex_unlock(&b->lock);
	dockerfile_scope_release(&scope);
	if (r < 0) {
		builder_state_release(&state);
		return r;
	}
	st->state = state;
	memcpy(st->key, key, OCI_DIGEST_SIZE);
	return 0;
}
