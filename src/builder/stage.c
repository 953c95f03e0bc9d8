/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One stage: FROM, the base image's ONBUILD triggers, then each
 * instruction in order. Instructions that only change the config are
 * applied at once (their history time is the stage's last), the others
 * (RUN, COPY, ADD, a WORKDIR that must be created) go through the cache.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- helpers shared with the steps ---- */

void state_env(struct image_state *s, struct strvec *env)
{
	json_t *list = json_object_get(image_state_runtime(s), "Env");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) if (json_is_string(v))
	    strvec_push(env, json_string_value(v));
}

int stage_resolve_user(struct build *b, struct image_state *state, const char *user, uid_t *uid,
		       gid_t *gid, char **home, struct petra_error **err)
{
	_cleanup_strvec_ struct strvec lowers = STRVEC_INIT;
	int r = fs_stage_lowers(b, state, &lowers, err);
	if (r < 0)
		return r;
	return rootfs_resolve_user((const char *const *)lowers.v, lowers.n, user, uid, gid, home,
				   err);
}

/* The words of an instruction expanded as the stage sees them. */
static int expand(struct step *s, const char *word, char **out, struct petra_error **err)
{
	struct dockerfile_expander ex;
	dockerfile_scope_expander(s->scope, s->in->kind, &ex);
	int r = dockerfile_expand_word(&ex, word, out, err);
	if (r < 0)
		petra_error_prefix(err, "line %u", s->in->start_line);
	return r;
}

/* What a step shows and records: its source line, blanks collapsed, for
 * people; the first line of a heredoc only. */
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
		strbuf_addch(&sb, *p);
	}
	if (max && sb.len > max) {
		strbuf_setlen(&sb, max - 3);
		strbuf_addstr(&sb, "...");
	}
	return strbuf_detach(&sb);
}

/* ---- config-only instructions ---- */

static void env_set(json_t *cfg, const char *key, const char *value)
{
	json_t *env = json_object_get(cfg, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(cfg, "Env", env);
	}
	_cleanup_free_ char *kv = xasprintf("%s=%s", key, value);
	size_t kl = strlen(key);
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v)
	{
		const char *e = json_string_value(v);
		if (e && !strncmp(e, key, kl) && (e[kl] == '=' || !e[kl])) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static json_t *object_member(json_t *cfg, const char *name)
{
	json_t *o = json_object_get(cfg, name);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(cfg, name, o);
	}
	return o;
}

/* The shell-form command as it runs: the stage's SHELL plus the text. */
static json_t *shell_command(struct image_state *state, const char *text)
{
	json_t *shell = json_object_get(image_state_runtime(state), "Shell");
	json_t *a = json_array();
	if (json_is_array(shell) && json_array_size(shell)) {
		size_t i;
		json_t *v;
		json_array_foreach(shell, i, v) json_array_append(a, v);
	} else {
		json_array_append_new(a, json_string("/bin/sh"));
		json_array_append_new(a, json_string("-c"));
	}
	json_array_append_new(a, json_string(text));
	return a;
}

static json_t *command_of(struct step *s, size_t first)
{
	const struct dockerfile_instruction *in = s->in;
	if (!in->json)
		return shell_command(s->state, first < in->n_args ? in->args[first].text : "");
	json_t *a = json_array();
	for (size_t i = first; i < in->n_args; i++)
		json_array_append_new(a, json_stringn(in->args[i].text, in->args[i].len));
	return a;
}

static int parse_port(const char *spec, struct strvec *keys, struct petra_error **err)
{
	const char *slash = strchr(spec, '/');
	_cleanup_free_ char *ports = slash ? xstrndup(spec, (size_t)(slash - spec)) : xstrdup(spec);
	_cleanup_free_ char *proto = xstrdup(slash ? slash + 1 : "tcp");
	for (char *c = proto; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return petra_error_set(err, EINVAL, "EXPOSE %s: invalid protocol \"%s\"", spec,
				       proto);
	char *dash = strchr(ports, '-');
	char *end;
	unsigned long lo = strtoul(ports, &end, 10);
	unsigned long hi = lo;
	bool ok = end != ports && (dash ? end == dash : !*end);
	if (ok && dash) {
		hi = strtoul(dash + 1, &end, 10);
		ok = end != dash + 1 && !*end;
	}
	if (!ok || lo < 1 || hi > 65535 || hi < lo)
		return petra_error_set(err, EINVAL, "EXPOSE %s: invalid port", spec);
	for (unsigned long p = lo; p <= hi; p++)
		strvec_pushf(keys, "%lu/%s", p, proto);
	return 0;
}

static int healthcheck(struct step *s, json_t *cfg, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	json_t *hc = json_object();
	if (!strcasecmp(in->args[0].text, "NONE")) {
		json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
	} else {
		json_t *test = json_array();
		if (in->json) {
			json_array_append_new(test, json_string("CMD"));
			for (size_t i = 1; i < in->n_args; i++)
				json_array_append_new(test, json_string(in->args[i].text));
		} else {
			json_array_append_new(test, json_string("CMD-SHELL"));
			json_array_append_new(test,
					      json_string(in->n_args > 1 ? in->args[1].text : ""));
		}
		json_object_set_new(hc, "Test", test);
		static const char *const flags[][2] = {{"interval", "Interval"},
						       {"timeout", "Timeout"},
						       {"start-period", "StartPeriod"},
						       {"start-interval", "StartInterval"}};
		for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
			const char *v = dockerfile_flag(in, flags[i][0]);
			int64_t ns;
			if (v && *v && dockerfile_parse_duration(v, &ns) && ns)
				json_object_set_new(hc, flags[i][1], json_integer(ns));
		}
		const char *retries = dockerfile_flag(in, "retries");
		if (retries && *retries && atoi(retries) > 0)
			json_object_set_new(hc, "Retries", json_integer(atoi(retries)));
	}
	json_object_set_new(cfg, "Healthcheck", hc);
	(void)err;
	return 0;
}

/* Apply an instruction that only changes the config; the key gets what
 * it did. */
static int config_step(struct step *s, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	json_t *cfg = image_state_runtime(s->state);
	struct oci_hasher *k = &s->key;
	int r = 0;
	switch (in->kind) {
	case DOCKERFILE_ARG:
		r = dockerfile_scope_apply(s->scope, in, err);
		for (size_t i = 0; r == 0 && i < in->n_args; i++) {
			_cleanup_free_ char *name =
			    xstrndup(in->args[i].text, strcspn(in->args[i].text, "="));
			const char *v = dockerfile_vars_get(s->scope->args, name, NULL);
			key_addf(k, "%s=%s", name, v ? v : "<unset>");
		}
		return r;
	case DOCKERFILE_ENV: {
		_cleanup_strvec_ struct strvec keys = STRVEC_INIT;
		for (size_t i = 0; r == 0 && i + 1 < in->n_args; i += 3) {
			char *key;
			r = expand(s, in->args[i].text, &key, err);
			if (r == 0)
				strvec_push_nodup(&keys, key);
		}
		if (r == 0)
			r = dockerfile_scope_apply(s->scope, in, err);
		for (size_t i = 0; r == 0 && i < keys.n; i++) {
			const char *v = dockerfile_vars_get(s->scope->env, keys.v[i], NULL);
			env_set(cfg, keys.v[i], v ? v : "");
			key_addf(k, "%s=%s", keys.v[i], v ? v : "");
		}
		return r;
	}
	case DOCKERFILE_LABEL: {
		json_t *labels = object_member(cfg, "Labels");
		for (size_t i = 0; r == 0 && i + 1 < in->n_args; i += 3) {
			_cleanup_free_ char *key = NULL, *value = NULL;
			r = expand(s, in->args[i].text, &key, err);
			if (r == 0)
				r = expand(s, in->args[i + 1].text, &value, err);
			if (r == 0) {
				json_object_set_new(labels, key, json_string(value));
				key_addf(k, "%s=%s", key, value);
			}
		}
		return r;
	}
	case DOCKERFILE_EXPOSE: {
		json_t *ports = object_member(cfg, "ExposedPorts");
		for (size_t i = 0; r == 0 && i < in->n_args; i++) {
			struct dockerfile_expander ex;
			dockerfile_scope_expander(s->scope, in->kind, &ex);
			_cleanup_strvec_ struct strvec words = STRVEC_INIT, keys = STRVEC_INIT;
			r = dockerfile_expand_words(&ex, in->args[i].text, &words, err);
			for (size_t w = 0; r == 0 && w < words.n; w++)
				r = parse_port(words.v[w], &keys, err);
			for (size_t p = 0; r == 0 && p < keys.n; p++) {
				json_object_set_new(ports, keys.v[p], json_object());
				key_add(k, keys.v[p]);
			}
		}
		return r;
	}
	case DOCKERFILE_VOLUME: {
		json_t *volumes = object_member(cfg, "Volumes");
		for (size_t i = 0; r == 0 && i < in->n_args; i++) {
			_cleanup_free_ char *v = NULL;
			r = expand(s, in->args[i].text, &v, err);
			if (r == 0 && *v) {
				json_object_set_new(volumes, v, json_object());
				key_add(k, v);
			}
		}
		return r;
	}
	case DOCKERFILE_USER:
	case DOCKERFILE_STOPSIGNAL: {
		_cleanup_free_ char *value = NULL;
		r = expand(s, in->args[0].text, &value, err);
		if (r == 0) {
			json_object_set_new(cfg,
					    in->kind == DOCKERFILE_USER ? "User" : "StopSignal",
					    json_string(value));
			key_add(k, value);
		}
		return r;
	}
	case DOCKERFILE_CMD:
		json_object_set_new(cfg, "Cmd", command_of(s, 0));
		s->state->cmd_set = true;
		break;
	case DOCKERFILE_ENTRYPOINT:
		json_object_set_new(cfg, "Entrypoint", command_of(s, 0));
		/* An inherited CMD makes no sense with a new ENTRYPOINT. */
		if (!s->state->cmd_set)
			json_object_set_new(cfg, "Cmd", json_null());
		break;
	case DOCKERFILE_SHELL:
		/* Always JSON (the parser checks): the arguments as they are. */
		json_object_set_new(cfg, "Shell", command_of(s, 0));
		break;
	case DOCKERFILE_HEALTHCHECK:
		r = healthcheck(s, cfg, err);
		break;
	case DOCKERFILE_ONBUILD: {
		json_t *onbuild = json_object_get(cfg, "OnBuild");
		if (!json_is_array(onbuild)) {
			onbuild = json_array();
			json_object_set_new(cfg, "OnBuild", onbuild);
		}
		/* The trigger as written after ONBUILD. */
		const char *t = in->original + strlen("ONBUILD");
		while (isspace((unsigned char)*t))
			t++;
		json_array_append_new(onbuild, json_string(t));
		break;
	}
	case DOCKERFILE_MAINTAINER: {
		json_object_set_new(s->state->config, "author", json_string(in->args[0].text));
		break;
	}
	default:
		break;
	}
	/* The rest is taken as written. */
	key_add(k, in->original);
	return r;
}

/* ---- steps through the cache ---- */

void step_announce(struct step *s, bool cached)
{
	build_say(s->b, s->st, "%s %s%s%s", s->label, s->prefix, s->text,
		  cached ? "  (cached)" : "");
	s->st->last_ran = !cached;
	if (cached)
		s->st->cached++;
}

void step_key_final(struct step *s, char key[OCI_DIGEST_SIZE])
{
	oci_hasher_final(&s->key, key);
	oci_hasher_init(&s->key);
	key_add(&s->key, key);
}

void step_record(struct step *s, const char *key, const char *created_by, bool changed)
{
	struct build *b = s->b;
	image_state_add_history(s->state, created_by, !changed,
				b->o->reproducible ? b->now : time(NULL));
	cache_save(b, key, s->state);
}

static char *join_workdir(const char *old, const char *dir)
{
	_cleanup_free_ char *joined =
	    dir[0] == '/' ? xstrdup(dir) : xasprintf("%s/%s", old && *old ? old : "/", dir);
	_cleanup_free_ char *clean = context_clean_path(joined);
	return xasprintf("/%s", clean);
}

int step_finish(struct step *s, struct rootview *v, int r, const char *key, const char *created_by,
		struct layer_info *info, bool *changed, struct petra_error **err)
{
	bool made = false;
	struct layer_info li;
	if (r == 0)
		r = rootview_commit(s->b, v, s->state, &made, &li, err);
	rootview_release(v);
	if (r < 0)
		return r;
	step_record(s, key, created_by, made);
	if (changed)
		*changed = made;
	if (info && made)
		*info = li;
	return 0;
}

/* The history entry of a step that built nothing: its time is the
 * stage's last, so the image does not change when nothing else does. */
static void add_config_history(struct build *b, struct image_state *state, const char *text)
{
	const char *created = json_get_string(state->config, "created");
	time_t when = b->now;
	if (created)
		time_parse_rfc3339(created, &when);
	image_state_add_history(state, text, true, when);
}

/* WORKDIR and VOLUME: the directories are made (root's, 0755) where they
 * are missing, as buildah makes them. */
static int dirs_step(struct step *s, const struct strvec *dirs, struct petra_error **err)
{
	struct build *b = s->b;
	if (!dirs->n) {
		step_announce(s, false);
		add_config_history(b, s->state, s->text);
		return 0;
	}
	char key[OCI_DIGEST_SIZE];
	for (size_t i = 0; i < dirs->n; i++)
		key_add(&s->key, dirs->v[i]);
	step_key_final(s, key);
	struct image_state hit;
	if (!b->o->no_cache && cache_load(b, key, &hit)) {
		image_state_release(s->state);
		*s->state = hit;
		step_announce(s, true);
		return 0;
	}
	step_announce(s, false);
	struct rootview v;
	int r = rootview_open(b, s->state, true, &v, err);
	_cleanup_close_ int root = r < 0 ? -1 : open(v.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r == 0 && root < 0)
		r = petra_error_set_errno(err, errno, "open %s", v.root);
	for (size_t i = 0; r == 0 && i < dirs->n; i++)
		r = build_mkdir_in_root(root, dirs->v[i], 0, 0, err);
	return step_finish(s, &v, r, key, s->text, NULL, NULL, err);
}

/* ---- the stage ---- */

/* Print the step's result line. */
static void say_done(struct step *s, struct timespec start, size_t layers_before)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	double secs =
	    (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
	if (s->state->n_layers > layers_before) {
		char size[32];
		format_size((uint64_t)s->state->layers[s->state->n_layers - 1].desc.size, size,
			    sizeof(size));
		build_say(s->b, s->st, "      done in %.2fs, layer %s", secs, size);
	} else {
		build_say(s->b, s->st, "      done in %.2fs, no changes", secs);
	}
}

/* One instruction. */
static int step(struct build *b, struct stage *st, struct dockerfile_scope *scope,
		struct image_state *state, char key[OCI_DIGEST_SIZE],
		const struct dockerfile_instruction *in, unsigned n, unsigned total,
		const char *prefix, struct petra_error **err)
{
	pthread_mutex_lock(&b->lock);
	bool stop = b->failed;
	pthread_mutex_unlock(&b->lock);
	if (stop)
		return petra_error_set(err, ECANCELED, "cancelled: another stage failed");
	_cleanup_free_ char *text = step_text(in, 100);
	struct step s = {.b = b,
			 .st = st,
			 .in = in,
			 .scope = scope,
			 .state = state,
			 .text = text,
			 .prefix = prefix};
	snprintf(s.label, sizeof(s.label), "[%u/%u]", n, total);
	oci_hasher_init(&s.key);
	key_add(&s.key, key);
	key_add(&s.key, dockerfile_kind_name(in->kind));
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	size_t layers_before = state->n_layers;
	unsigned cached_before = st->cached;
	int r = 0;
	st->steps++;
	switch (in->kind) {
	case DOCKERFILE_RUN:
	case DOCKERFILE_COPY:
	case DOCKERFILE_ADD:
		r = in->kind == DOCKERFILE_RUN ? step_run(&s, err) : step_copy(&s, err);
		if (r == 0 && st->cached == cached_before)
			say_done(&s, start, layers_before);
		break;
	case DOCKERFILE_WORKDIR: {
		_cleanup_free_ char *dir = NULL;
		r = expand(&s, in->args[0].text, &dir, err);
		if (r < 0)
			break;
		json_t *cfg = image_state_runtime(state);
		_cleanup_free_ char *full = join_workdir(json_get_string(cfg, "WorkingDir"), dir);
		json_object_set_new(cfg, "WorkingDir", json_string(full));
		struct strvec dirs = STRVEC_INIT;
		strvec_push(&dirs, full);
		r = dirs_step(&s, &dirs, err);
		strvec_clear(&dirs);
		break;
	}
	case DOCKERFILE_VOLUME: {
		json_t *before =
		    json_deep_copy(json_object_get(image_state_runtime(state), "Volumes"));
		r = config_step(&s, err);
		struct strvec dirs = STRVEC_INIT;
		const char *path;
		json_t *v;
		json_t *cfg = image_state_runtime(state);
		json_object_foreach(json_object_get(cfg, "Volumes"), path, v)
		{
			if (json_object_get(before, path))
				continue;
			const char *wd = json_get_string(cfg, "WorkingDir");
			strvec_push_nodup(&dirs,
					  path[0] == '/' ? xstrdup(path) : join_workdir(wd, path));
		}
		json_decref(before);
		if (r == 0)
			r = dirs_step(&s, &dirs, err);
		strvec_clear(&dirs);
		break;
	}
	default:
		r = config_step(&s, err);
		if (r == 0 && in->kind != DOCKERFILE_ARG)
			add_config_history(b, state, text);
		if (r == 0)
			build_say(b, st, "%s %s%s", s.label, prefix, text);
		break;
	}
	if (r < 0) {
		oci_hasher_release(&s.key);
		return petra_error_prefix(err, "%s %s%s", s.label, prefix, text);
	}
	oci_hasher_final(&s.key, key);
	return 0;
}

/* The base of the stage: scratch, an earlier stage, or an image. */
static int stage_from(struct build *b, struct stage *st, struct dockerfile_scope *scope,
		      struct image_state *state, char key[OCI_DIGEST_SIZE], char **shown,
		      struct petra_error **err)
{
	const struct dockerfile_instruction *from = &b->df->instructions[st->df->from];
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
	key_add(&k, "petra-build/1");
	key_add(&k, layer_compression_name(b->o->compression));
	key_addf(&k, "%lld", b->o->reproducible ? (long long)b->o->source_date_epoch : -1LL);
	struct stage *parent = build_find_stage(b, base, st->index);
	if (!strcasecmp(base, "scratch")) {
		state->config =
		    json_pack("{s:s,s:s,s:{s:[s]},s:{s:s,s:[]},s:[]}", "architecture",
			      oci_host_architecture(), "os", "linux", "config", "Env", DEFAULT_PATH,
			      "rootfs", "type", "layers", "diff_ids", "history");
		state->layers = xcalloc(1, sizeof(*state->layers));
		key_add(&k, "scratch");
		*shown = xstrdup("scratch");
	} else if (parent) {
		image_state_copy(state, &parent->state);
		char id[OCI_DIGEST_SIZE];
		image_state_identity(&parent->state, id);
		key_add(&k, id);
		st->base_name = parent->base_name ? xstrdup(parent->base_name) : NULL;
		memcpy(st->base_digest, parent->base_digest, OCI_DIGEST_SIZE);
		st->n_base_layers = parent->n_base_layers;
		st->n_base_history = parent->n_base_history;
		*shown = xasprintf("%s (stage %s)", base, parent->label);
	} else {
		struct image img;
		r = build_resolve_base(b, st, base, &img, err);
		if (r < 0) {
			oci_hasher_release(&k);
			return petra_error_prefix(err, "line %u: FROM %s", from->start_line, base);
		}
		state->config = json_deep_copy(img.config.json);
		state->n_layers = img.manifest.n_layers;
		state->layers = xcalloc(state->n_layers + 1, sizeof(*state->layers));
		for (size_t i = 0; i < state->n_layers; i++) {
			oci_descriptor_copy(&state->layers[i].desc, &img.manifest.layers[i]);
			memcpy(state->layers[i].diff_id, img.config.diff_ids.v[i], OCI_DIGEST_SIZE);
			state->layers[i].empty = -1;
		}
		key_add(&k, img.desc.digest);
		st->base_name = xstrdup(img.name ? img.name : base);
		memcpy(st->base_digest, img.desc.digest, OCI_DIGEST_SIZE);
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
	json_t *list = json_object_get(image_state_runtime(state), "Env");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) if (json_is_string(v))
	    dockerfile_vars_set_pair(env, json_string_value(v));
	dockerfile_scope_image_env(scope, env);
	dockerfile_vars_free(env);
	return 0;
}

/* The base image's ONBUILD triggers, parsed as Dockerfile lines. */
static int onbuild_triggers(struct image_state *state, struct dockerfile **out,
			    struct petra_error **err)
{
	*out = NULL;
	json_t *cfg = image_state_runtime(state);
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

int stage_build(struct build *b, struct stage *st, struct petra_error **err)
{
	const struct dockerfile *df = b->df;
	struct dockerfile_scope scope;
	dockerfile_scope_init(&scope, df->escape, b->build_args);
	int r = 0;
	for (size_t i = 0; i < df->n_instructions && r == 0; i++)
		if (df->instructions[i].stage == DOCKERFILE_GLOBAL)
			r = dockerfile_scope_apply(&scope, &df->instructions[i], err);
	const struct dockerfile_instruction *from = &df->instructions[st->df->from];
	if (r == 0)
		r = dockerfile_scope_apply(&scope, from, err);
	struct image_state state = {0};
	char key[OCI_DIGEST_SIZE];
	_cleanup_free_ char *shown = NULL;
	if (r == 0)
		r = stage_from(b, st, &scope, &state, key, &shown, err);
	_cleanup_dockerfile_ struct dockerfile *triggers = NULL;
	if (r == 0)
		r = onbuild_triggers(&state, &triggers, err);
	if (r == 0) {
		bool target = st->index == b->target;
		unsigned n_triggers = triggers ? (unsigned)triggers->n_instructions - 1 : 0;
		unsigned total = (unsigned)(st->df->end - st->df->from) + n_triggers +
				 (target ? (unsigned)b->o->n_extra_run : 0);
		unsigned n = 1;
		build_say(b, st, "[%u/%u] FROM %s", n, total, shown);
		st->steps++;
		for (size_t i = 1; r == 0 && triggers && i < triggers->n_instructions; i++)
			r = step(b, st, &scope, &state, key, &triggers->instructions[i], ++n, total,
				 "ONBUILD ", err);
		for (size_t i = st->df->from + 1; r == 0 && i < st->df->end; i++)
			r = step(b, st, &scope, &state, key, &df->instructions[i], ++n, total, "",
				 err);
		for (size_t i = 0; r == 0 && target && i < b->o->n_extra_run; i++) {
			_cleanup_free_ char *text = xasprintf("RUN %s", b->o->extra_run[i]);
			struct step s = {.b = b,
					 .st = st,
					 .scope = &scope,
					 .state = &state,
					 .text = text,
					 .prefix = ""};
			snprintf(s.label, sizeof(s.label), "[%u/%u]", ++n, total);
			oci_hasher_init(&s.key);
			key_add(&s.key, key);
			key_add(&s.key, "RUN");
			struct timespec start;
			clock_gettime(CLOCK_MONOTONIC, &start);
			size_t layers_before = state.n_layers;
			unsigned cached_before = st->cached;
			st->steps++;
			r = step_run_command(&s, b->o->extra_run[i], err);
			if (r == 0) {
				oci_hasher_final(&s.key, key);
				if (st->cached == cached_before)
					say_done(&s, start, layers_before);
			} else {
				oci_hasher_release(&s.key);
			}
		}
	}
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < scope.used_build_args.capacity; i++)
		if (scope.used_build_args.slots && scope.used_build_args.slots[i])
			strset_add(&b->used_build_args, scope.used_build_args.slots[i]);
	pthread_mutex_unlock(&b->lock);
	dockerfile_scope_release(&scope);
	if (r < 0) {
		image_state_release(&state);
		return r;
	}
	st->state = state;
	memcpy(st->key, key, OCI_DIGEST_SIZE);
	return 0;
}
