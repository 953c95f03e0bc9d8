/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The COPY and ADD step kind: sources from the context (through
 * .dockerignore), from another stage or image (--from), or heredocs;
 * wildcards; --chown, --chmod, --link; ADD's local archives unpacked.
 * The copying itself is the tree copier's (copier.c).
 *
 * The key is what is copied (content, not times), where and how. When
 * the step very likely misses the cache, hashing the sources (to look the
 * step up) and copying them would be two reads of the same files: the
 * kind lets the engine start the copy while the sources are hashed.
 */
#include "step.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

struct source {
	char *path;                            /* cleaned, relative to its root */
	const struct dockerfile_heredoc *here; /* or a heredoc */
	char *here_text;                       /* its content, expanded */
};

static void sources_free(struct source *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].path);
		free(s[i].here_text);
	}
	free(s);
}

static int parse_chmod(const char *v, mode_t *out, struct petra_error **err)
{
	char *end;
	unsigned long m = strtoul(v, &end, 8);
	if (!*v || *end || m > 07777)
		return petra_error_set(err, EINVAL, "--chmod=%s: an octal mode is expected", v);
	*out = (mode_t)m;
	return 0;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "git@", 4) ||
	       !strncmp(s, "git://", 6);
}

static bool has_context_source(const struct source *sources, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!sources[i].here)
			return true;
	return false;
}

/* What a COPY step keeps from prepare to apply. */
struct copy_step {
	struct dockerfile_expander ex;
	char *from, *chown, *chmod, *dest; /* as expanded */
	char *target;                      /* dest, absolute and clean, without its "/" */
	bool into, link, unpack;
	mode_t mode;
	struct source *sources;
	size_t n_sources;
	struct builder_state src_state; /* --from: the stage or image copied from */
	bool have_src_state;
	struct oci_hasher content; /* what is copied, where and how */
	bool hashing;
};

static int copy_flags(struct builder_step *s, struct copy_step *c, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	bool add = in->kind == DOCKERFILE_ADD;
	static const char *const unsupported[] = {"parents", "exclude", "checksum", "keep-git-dir"};
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
		if (dockerfile_flag(in, unsupported[i]))
			return petra_error_set(err, ENOTSUP, "--%s is not supported",
					       unsupported[i]);
	dockerfile_scope_expander(s->scope, in->kind, &c->ex);
	int r = 0;
	const char *flag;
	if (r == 0 && (flag = dockerfile_flag(in, "from")))
		r = dockerfile_expand_word(&c->ex, flag, &c->from, err);
	if (r == 0 && (flag = dockerfile_flag(in, "chown")))
		r = dockerfile_expand_word(&c->ex, flag, &c->chown, err);
	if (r == 0 && (flag = dockerfile_flag(in, "chmod")))
		r = dockerfile_expand_word(&c->ex, flag, &c->chmod, err);
	const char *link_flag = dockerfile_flag(in, "link");
	c->link = link_flag && strcasecmp(link_flag, "false");
	const char *unpack_flag = add ? dockerfile_flag(in, "unpack") : NULL;
	c->unpack = add && !(unpack_flag && !strcasecmp(unpack_flag, "false"));
	if (r == 0)
		r = dockerfile_expand_word(&c->ex, in->args[in->n_args - 1].text, &c->dest, err);
	if (r == 0 && c->chmod)
		r = parse_chmod(c->chmod, &c->mode, err);
	if (r == 0 && c->from) {
		r = builder_source_state(s->session, s->plan, s->stage, c->from, "copy-from",
					 &c->src_state, err);
		c->have_src_state = r == 0;
	}
	return r;
}

/* One source word: a heredoc, a path, or a wildcard's matches. */
static int copy_word(struct builder_step *s, struct copy_step *c, const char *arg,
		     struct strvec *paths, struct petra_error **err)
{
	const struct dockerfile_heredoc *h = dockerfile_find_heredoc(s->in, arg);
	if (h) {
		struct source *src = &c->sources[c->n_sources++];
		src->here = h;
		if (!h->expand) {
			src->here_text = xstrdup(h->content);
			return 0;
		}
		struct dockerfile_expander hx = c->ex;
		hx.flags |= DOCKERFILE_EXPAND_RAW_QUOTES | DOCKERFILE_EXPAND_RAW_ESCAPES;
		return dockerfile_expand_word(&hx, h->content, &src->here_text, err);
	}
	_cleanup_free_ char *word = NULL;
	int r = dockerfile_expand_word(&c->ex, arg, &word, err);
	if (r < 0)
		return r;
	if (s->in->kind == DOCKERFILE_ADD && is_url(word))
		return petra_error_set(err, ENOTSUP,
				       "ADD %s: remote sources are not supported (builds have "
				       "no network for sources): download it before the build",
				       word);
	_cleanup_free_ char *clean = context_clean_path(word);
	if (!context_has_wildcards(clean)) {
		strvec_push(paths, clean);
		return 0;
	}
	if (c->from)
		return petra_error_set(err, ENOTSUP, "%s: wildcards with --from are not supported",
				       word);
	size_t before = paths->n;
	r = context_glob(s->session->context_fd, clean, s->session->ignore, paths, err);
	if (r == 0 && paths->n == before)
		r = petra_error_set(err, ENOENT, "%s: no source files match", word);
	return r;
}

static int copy_sources(struct builder_step *s, struct copy_step *c, struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	c->sources = xcalloc(in->n_args, sizeof(*c->sources));
	_cleanup_strvec_ struct strvec paths = STRVEC_INIT;
	int r = 0;
	for (size_t i = 0; r == 0 && i + 1 < in->n_args; i++)
		r = copy_word(s, c, in->args[i].text, &paths, err);
	for (size_t i = 0; r == 0 && i < paths.n; i++) {
		c->sources = xrealloc(c->sources, (c->n_sources + 1) * sizeof(*c->sources));
		c->sources[c->n_sources++] = (struct source){.path = xstrdup(paths.v[i])};
	}
	if (r < 0)
		return r;
	size_t dl = strlen(c->dest);
	c->into = dl && (c->dest[dl - 1] == '/' || (dl >= 2 && !strcmp(c->dest + dl - 2, "/.")));
	if (c->n_sources > 1 && !c->into)
		return petra_error_set(err, EINVAL,
				       "with more than one source the destination must be a "
				       "directory and end with a /");
	return 0;
}

static int copy_prepare(struct builder_step *s, struct petra_error **err)
{
	struct copy_step *c = xcalloc(1, sizeof(*c));
	s->data = c;
	int r = copy_flags(s, c, err);
	if (r == 0)
		r = copy_sources(s, c, err);
	if (r < 0)
		return r;
	const char *wd = json_get_string(builder_state_runtime(s->state), "WorkingDir");
	_cleanup_free_ char *full =
	    c->dest[0] == '/' ? xstrdup(c->dest) : xasprintf("%s/%s", wd && *wd ? wd : "", c->dest);
	c->target = context_clean_path(full);
	/* Hashed apart first: --link layers are found by that alone. */
	oci_hasher_init(&c->content);
	c->hashing = true;
	builder_key_add(&c->content, c->target);
	builder_key_addf(&c->content, "into=%d chown=%s chmod=%s link=%d unpack=%d", c->into,
			 c->chown ? c->chown : "", c->chmod ? c->chmod : "", c->link, c->unpack);
	if (c->have_src_state) {
		char id[OCI_DIGEST_SIZE];
		builder_state_identity(&c->src_state, id);
		builder_key_addf(&c->content, "from=%s", id);
	}
	s->view = c->link ? BUILDER_VIEW_EMPTY : BUILDER_VIEW_MOUNTED;
	s->speculate =
	    !c->link && !c->have_src_state && has_context_source(c->sources, c->n_sources);
	return 0;
}

/* The sources' content (a stage's is named by its identity above). */
static int copy_key(struct builder_step *s, struct petra_error **err)
{
	struct builder_session *b = s->session;
	struct copy_step *c = s->data;
	uint64_t entries = 0;
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->n_sources; i++) {
		const struct source *src = &c->sources[i];
		if (src->here) {
			builder_key_addf(&c->content, "heredoc %s", src->here->name);
			builder_key_add(&c->content, src->here_text);
		} else {
			builder_key_addf(&c->content, "source %s", src->path);
			if (!c->have_src_state)
				r = context_hash(&c->content, b->context_fd, src->path, b->ignore,
						 &entries, err);
		}
	}
	char content_key[OCI_DIGEST_SIZE];
	oci_hasher_final(&c->content, content_key);
	c->hashing = false;
	builder_key_add(&s->key, content_key);
	if (c->link) {
		struct oci_hasher lk;
		oci_hasher_init(&lk);
		builder_key_add(&lk, "link");
		builder_key_add(&lk, layer_compression_name(b->o->compression));
		builder_key_addf(&lk, "%lld",
				 b->o->reproducible ? (long long)b->o->source_date_epoch : -1LL);
		builder_key_add(&lk, content_key);
		oci_hasher_final(&lk, s->layer_key);
		s->has_layer_key = true;
	}
	return r;
}

/* Every source into the view. */
static int copy_apply(struct builder_step *s, struct builder_view *v, struct petra_error **err)
{
	struct builder_session *b = s->session;
	struct copy_step *c = s->data;
	struct builder_copy o = {.session = b,
				 .dest = c->target,
				 .into = c->into,
				 .keep_owner = c->have_src_state,
				 .chmod = c->chmod != NULL,
				 .mode = c->mode,
				 .unpack = c->unpack,
				 .text_time = b->now,
				 .progress = s->progress,
				 .copied = &s->copied,
				 .cancel = &s->cancel};
	struct builder_view src_view = {0};
	int src_root = b->context_fd;
	const struct context_ignore *ig = b->ignore;
	int r = 0;
	if (c->have_src_state) {
		r = builder_view_open_readonly(b, &c->src_state, &src_view, err);
		src_root = r < 0 ? -1 : open(src_view.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r == 0 && src_root < 0)
			r = petra_error_set_errno(err, errno, "open %s", src_view.root);
		ig = NULL;
	}
	if (r == 0 && c->chown) {
		_cleanup_free_ char *home = NULL;
		r = builder_resolve_user(b, s->state, c->chown, &o.uid, &o.gid, &home, err);
		if (r < 0)
			petra_error_prefix(err, "--chown=%s", c->chown);
		o.chown = true;
	}
	_cleanup_close_ int root_fd = -1;
	if (r == 0 && (root_fd = open(v->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = petra_error_set_errno(err, errno, "open %s", v->root);
	o.root_fd = root_fd;
	struct builder_copier *copier = builder_copier_new(&o);
	if (o.progress)
		progress_begin(o.progress, "copying", 0);
	for (size_t i = 0; r == 0 && i < c->n_sources; i++) {
		const struct source *src = &c->sources[i];
		r = src->here ? builder_copier_text(copier, src->here->name, src->here_text, err)
			      : builder_copier_copy(copier, src_root, src->path, ig, err);
	}
	if (o.progress)
		progress_end(o.progress);
	builder_copier_free(copier);
	if (src_root >= 0 && src_root != b->context_fd)
		close(src_root);
	builder_view_release(&src_view);
	return r;
}

static void copy_release(struct builder_step *s)
{
	struct copy_step *c = s->data;
	if (!c)
		return;
	if (c->hashing)
		oci_hasher_release(&c->content);
	sources_free(c->sources, c->n_sources);
	builder_state_release(&c->src_state);
	free(c->from);
	free(c->chown);
	free(c->chmod);
	free(c->dest);
	free(c->target);
	free(c);
	s->data = NULL;
}

const struct builder_step_kind builder_kind_copy = {
    .name = "COPY",
    .flags = BUILDER_STEP_SAY_DONE,
    .view = BUILDER_VIEW_MOUNTED,
    .progress = "copying",
    .prepare = copy_prepare,
    .key = copy_key,
    .apply = copy_apply,
    .release = copy_release,
};
