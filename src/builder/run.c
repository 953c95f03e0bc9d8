/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RUN step kind: the command (or a flow's cleanup command) in the
 * sandbox on the stage's root, its --mount options and its output. The
 * engine prepares the view unmounted: the sandbox mounts it as the root.
 *
 * Secrets are written to a tmpfs mounted for that one step (in the
 * build's private mount namespace) and bound read-only into the
 * container; their content goes into no key, record, layer or history.
 * Cache mounts live under <store>/build/cache-mounts, outside any image.
 */
#include "step.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define OUTPUT_TAIL_LINES 15
#define OUTPUT_LINE_MAX   300

static const char *const proxy_args[] = {
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
    "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
};

/* What one RUN needs besides its command. */
struct run_setup {
	struct strvec argv, env, targets;
	struct sandbox_mount *mounts;
	size_t n_mounts;
	struct strvec strings;      /* sources and targets the mounts point to */
	struct strvec tmp_mounts;   /* host-side mounts of ours, unmounted after */
	struct builder_view *views; /* stage roots bound in */
	size_t n_views;
	int *locks; /* cache mounts with sharing=locked */
	size_t n_locks;
	enum sandbox_network network;
	char *dir; /* the step's scratch directory for mounts */
};

static void run_setup_release(struct run_setup *rs)
{
	for (size_t i = rs->tmp_mounts.n; i > 0; i--)
		umount2(rs->tmp_mounts.v[i - 1], MNT_DETACH);
	for (size_t i = 0; i < rs->n_views; i++)
		builder_view_release(&rs->views[i]);
	free(rs->views);
	for (size_t i = 0; i < rs->n_locks; i++)
		close(rs->locks[i]);
	free(rs->locks);
	strvec_clear(&rs->argv);
	strvec_clear(&rs->env);
	strvec_clear(&rs->targets);
	strvec_clear(&rs->strings);
	strvec_clear(&rs->tmp_mounts);
	free(rs->mounts);
	if (rs->dir)
		fs_remove_tree_at(AT_FDCWD, rs->dir, NULL);
	free(rs->dir);
}

static const char *keep(struct run_setup *rs, const char *s)
{
	strvec_push(&rs->strings, s);
	return rs->strings.v[rs->strings.n - 1];
}

static struct sandbox_mount *add_mount(struct run_setup *rs, enum sandbox_mount_kind kind,
				       const char *target, const char *source, bool readonly)
{
	rs->mounts = xrealloc(rs->mounts, (rs->n_mounts + 1) * sizeof(*rs->mounts));
	struct sandbox_mount *m = &rs->mounts[rs->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->target = keep(rs, target);
	m->source = source ? keep(rs, source) : NULL;
	m->readonly = readonly;
	strvec_push(&rs->targets, target);
	return m;
}

static int scratch(struct builder_session *b, struct run_setup *rs, struct petra_error **err)
{
	if (rs->dir)
		return 0;
	return builder_scratch_dir(b, "run", &rs->dir, err);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		break;
	default:
		break;
	}
	return v;
}

static unsigned parse_num(const char *s, unsigned def, int base)
{
	return s && *s ? (unsigned)strtoul(s, NULL, base) : def;
}

static char *absolute_target(struct builder_state *state, const char *target)
{
	if (target[0] == '/')
		return xasprintf("/%s", target + strspn(target, "/"));
	const char *wd = json_get_string(builder_state_runtime(state), "WorkingDir");
	_cleanup_free_ char *joined = xasprintf("%s/%s", wd && *wd ? wd : "", target);
	_cleanup_free_ char *clean = context_clean_path(joined);
	return xasprintf("/%s", clean);
}

/* ---- --mount=type=secret ---- */

static const struct builder_secret *find_secret(struct builder_session *b, const char *id)
{
	for (size_t i = 0; i < b->o->n_secrets; i++)
		if (!strcmp(b->o->secrets[i].id, id))
			return &b->o->secrets[i];
	return NULL;
}

static int read_secret(const struct builder_secret *sec, char **data, size_t *len,
		       struct petra_error **err)
{
	if (sec->env) {
		const char *v = getenv(sec->env);
		if (!v)
			return petra_error_set(err, ENOENT, "secret %s: $%s is not set", sec->id,
					       sec->env);
		*data = xstrdup(v);
		*len = strlen(v);
		return 0;
	}
	int r = fs_read_file_at(AT_FDCWD, sec->path, 1u << 20, data, len, err);
	if (r < 0)
		return petra_error_prefix(err, "secret %s", sec->id);
	return 0;
}

static int mount_secret(struct builder_step *s, struct run_setup *rs,
			const struct dockerfile_mount *m, struct petra_error **err)
{
	struct builder_session *b = s->session;
	const char *id = m->id;
	_cleanup_free_ char *derived = NULL;
	if (!id && m->target) {
		const char *slash = strrchr(m->target, '/');
		derived = xstrdup(slash ? slash + 1 : m->target);
		id = derived;
	}
	if (!id || !*id)
		return petra_error_set(err, EINVAL, "a secret mount needs an id");
	const struct builder_secret *sec = find_secret(b, id);
	if (!sec) {
		if (m->required)
			return petra_error_set(err, ENOENT,
					       "secret \"%s\" is required but was not given "
					       "(--secret id=%s,src=FILE)",
					       id, id);
		return 0;
	}
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = read_secret(sec, &data, &len, err);
	if (r < 0)
		return r;
	if (m->env) {
		/* As an environment variable of this step only. */
		strvec_pushf(&rs->env, "%s=%.*s", m->env, (int)len, data);
		explicit_bzero(data, len);
		if (!m->target)
			return 0;
	}
	r = scratch(b, rs, err);
	if (r < 0)
		return r;
	/* A tmpfs of ours, for this step only: the secret never touches a
	 * disk on its way. */
	_cleanup_free_ char *dir = xasprintf("%s/secret-%zu", rs->dir, rs->n_mounts);
	if (mkdir(dir, 0700) < 0)
		return petra_error_set_errno(err, errno, "create %s", dir);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=2m") < 0)
		return petra_error_set_errno(err, errno, "mount a tmpfs for secret %s", id);
	strvec_push(&rs->tmp_mounts, dir);
	_cleanup_free_ char *file = path_join(dir, "secret");
	_cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || fs_write_all(fd, data, len) < 0)
		r = petra_error_set_errno(err, errno, "write secret %s", id);
	explicit_bzero(data, len);
	if (r == 0 && (fchown(fd, parse_num(m->uid, 0, 10), parse_num(m->gid, 0, 10)) < 0 ||
		       fchmod(fd, parse_num(m->mode, 0400, 8) & 07777) < 0))
		r = petra_error_set_errno(err, errno, "secret %s", id);
	if (r < 0)
		return r;
	_cleanup_free_ char *target =
	    m->target ? absolute_target(s->state, m->target) : xasprintf("/run/secrets/%s", id);
	add_mount(rs, SANDBOX_MOUNT_BIND, target, file, true);
	return 0;
}

/* ---- --mount=type=cache ---- */

static int mount_cache(struct builder_step *s, struct run_setup *rs,
		       const struct dockerfile_mount *m, struct petra_error **err)
{
	struct builder_session *b = s->session;
	if (m->from || m->source)
		return petra_error_set(err, ENOTSUP,
				       "cache mounts with from= or source= are not "
				       "supported");
	_cleanup_free_ char *target = absolute_target(s->state, m->target);
	const char *id = m->id && *m->id ? m->id : target;
	char digest[OCI_DIGEST_SIZE];
	oci_digest_buffer(id, strlen(id), digest);
	_cleanup_free_ char *dir =
	    xasprintf("%s/cache-mounts/%.32s", b->build_dir, oci_digest_hex(digest));
	struct stat st;
	if (stat(dir, &st) < 0) {
		int r = fs_mkdir_p(dir, 0755, err);
		if (r < 0)
			return r;
		if (chown(dir, parse_num(m->uid, 0, 10), parse_num(m->gid, 0, 10)) < 0 ||
		    chmod(dir, parse_num(m->mode, 0755, 8) & 07777) < 0)
			return petra_error_set_errno(err, errno, "cache mount %s", id);
	}
	if (!m->sharing || strcmp(m->sharing, "shared")) {
		/* locked (and private, which would need a copy per user):
		 * one step at a time. */
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) < 0) {
			if (fd >= 0)
				close(fd);
			return petra_error_set_errno(err, errno, "lock cache mount %s", id);
		}
		rs->locks = xrealloc(rs->locks, (rs->n_locks + 1) * sizeof(*rs->locks));
		rs->locks[rs->n_locks++] = fd;
	}
	add_mount(rs, SANDBOX_MOUNT_BIND, target, dir, m->readonly);
	return 0;
}

/* ---- --mount=type=bind ---- */

/* The context's `source`, filtered through .dockerignore into a copy when
 * there are patterns (or when it is to be writable): never the context
 * itself writable, never an excluded file visible. */
static int bind_context_source(struct builder_step *s, struct run_setup *rs, const char *source,
			       bool writable, char **host, struct petra_error **err)
{
	struct builder_session *b = s->session;
	_cleanup_free_ char *clean = context_clean_path(source);
	if (!writable && !context_ignore_count(b->ignore)) {
		int fd = fs_open_in_root(b->context_fd, *clean ? clean : "/", O_PATH);
		if (fd < 0) {
			_cleanup_free_ char *q = str_quote(*clean ? clean : ".");
			return petra_error_set_errno(err, -fd, "bind source %s", q);
		}
		char proc[64], real[4096];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(proc, real, sizeof(real) - 1);
		close(fd);
		if (n < 0)
			return petra_error_set_errno(err, errno, "bind source %s", clean);
		real[n] = '\0';
		*host = xstrdup(real);
		return 0;
	}
	int r = scratch(b, rs, err);
	if (r < 0)
		return r;
	*host = xasprintf("%s/bind-%zu", rs->dir, rs->n_mounts);
	if (mkdir(*host, 0755) < 0)
		return petra_error_set_errno(err, errno, "create %s", *host);
	_cleanup_close_ int dest = open(*host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dest < 0)
		return petra_error_set_errno(err, errno, "open %s", *host);
	r = builder_copy_tree(b, b->context_fd, clean, b->ignore, dest, err);
	if (r < 0)
		return r;
	/* A file source is copied into the directory: bind the file. */
	struct stat st;
	if (fstatat(b->context_fd, *clean ? clean : ".", &st, 0) == 0 && !S_ISDIR(st.st_mode)) {
		const char *slash = strrchr(clean, '/');
		char *file = path_join(*host, slash ? slash + 1 : clean);
		free(*host);
		*host = file;
	}
	return 0;
}

/* With key: only the mount's part of the key (what it binds, by
 * content); without: the mount itself. */
static int mount_bind(struct builder_step *s, struct run_setup *rs,
		      const struct dockerfile_mount *m, struct oci_hasher *key,
		      struct petra_error **err)
{
	struct builder_session *b = s->session;
	_cleanup_free_ char *target = absolute_target(s->state, m->target);
	const char *source = m->source ? m->source : ".";
	bool writable = !m->readonly;
	_cleanup_free_ char *host = NULL;
	if (!m->from && key) {
		_cleanup_free_ char *clean = context_clean_path(source);
		int r = context_hash(key, b->context_fd, clean, b->ignore, NULL, err);
		return r < 0 ? petra_error_prefix(err, "bind mount") : 0;
	}
	if (!m->from) {
		int r = bind_context_source(s, rs, source, writable, &host, err);
		if (r < 0)
			return r;
	} else {
		struct builder_state from = {0};
		int r = builder_source_state(s->session, s->plan, s->stage, m->from, "mount-from",
					     &from, err);
		if (r < 0)
			return r;
		if (key) {
			char id[OCI_DIGEST_SIZE];
			builder_state_identity(&from, id);
			builder_key_add(key, id);
			builder_state_release(&from);
			return 0;
		}
		rs->views = xrealloc(rs->views, (rs->n_views + 1) * sizeof(*rs->views));
		struct builder_view *v = &rs->views[rs->n_views++];
		/* Writable: an overlay with a throwaway upper directory. */
		r = writable ? builder_view_open(b, &from, true, v, err)
			     : builder_view_open_readonly(b, &from, v, err);
		builder_state_release(&from);
		if (r < 0)
			return r;
		_cleanup_free_ char *clean = context_clean_path(source);
		_cleanup_close_ int root = open(v->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		int fd = root < 0 ? -1 : fs_open_in_root(root, *clean ? clean : "/", O_PATH);
		if (fd < 0)
			return petra_error_set(err, ENOENT, "bind source %s not in %s", source,
					       m->from);
		close(fd);
		host = *clean ? path_join(v->root, clean) : xstrdup(v->root);
	}
	add_mount(rs, SANDBOX_MOUNT_BIND, target, host, !writable);
	return 0;
}

/* Every --mount of the step: with key only their part of the key;
 * without, everything set up. */
static int mounts(struct builder_step *s, struct run_setup *rs, struct oci_hasher *key,
		  struct petra_error **err)
{
	const struct dockerfile_instruction *in = s->in;
	struct dockerfile_expander ex;
	dockerfile_scope_expander(s->scope, in->kind, &ex);
	for (size_t i = 0; i < in->n_flags; i++) {
		if (strncmp(in->flags[i].text, "--mount=", 8))
			continue;
		_cleanup_free_ char *value = NULL;
		int r = dockerfile_expand_word(&ex, in->flags[i].text + 8, &value, err);
		if (r < 0)
			return r;
		struct dockerfile_mount m;
		r = dockerfile_mount_parse(value, &m, err);
		if (r < 0)
			return r;
		/* Everything but secret content: a secret's change does not
		 * rerun the step, as in BuildKit. */
		if (key)
			builder_key_add(key, value);
		switch (m.type) {
		case DOCKERFILE_MOUNT_BIND:
			r = mount_bind(s, rs, &m, key, err);
			break;
		case DOCKERFILE_MOUNT_CACHE:
			r = key ? 0 : mount_cache(s, rs, &m, err);
			break;
		case DOCKERFILE_MOUNT_TMPFS:
			if (!key) {
				_cleanup_free_ char *t = absolute_target(s->state, m.target);
				struct sandbox_mount *sm =
				    add_mount(rs, SANDBOX_MOUNT_TMPFS, t, NULL, false);
				sm->size = m.size ? parse_size(m.size) : 0;
				sm->mode = 01777;
			}
			break;
		case DOCKERFILE_MOUNT_SECRET:
			r = key ? 0 : mount_secret(s, rs, &m, err);
			break;
		case DOCKERFILE_MOUNT_SSH:
			r = petra_error_set(err, ENOTSUP, "ssh mounts are not supported");
			break;
		}
		dockerfile_mount_release(&m);
		if (r < 0)
			return petra_error_prefix(err, "--mount=%s", value);
	}
	return 0;
}

/* ---- the command ---- */

static void shell_of(struct builder_state *state, struct strvec *argv)
{
	json_t *shell = json_object_get(builder_state_runtime(state), "Shell");
	if (json_is_array(shell) && json_array_size(shell)) {
		size_t i;
		json_t *v;
		json_array_foreach(shell, i, v) strvec_push(argv, json_string_value(v));
	} else {
		strvec_push(argv, "/bin/sh");
		strvec_push(argv, "-c");
	}
}

/* BuildKit's heredocs in RUN: a command that is only "<<EOF" runs the
 * heredoc as the script (through the shell, or as a file when it starts
 * with "#!"); otherwise the shell gets the command with the heredoc
 * bodies after it, and handles them itself. *script is a file to bind. */
static void command_argv(struct builder_step *s, struct run_setup *rs, char **script_body)
{
	const struct dockerfile_instruction *in = s->in;
	*script_body = NULL;
	if (in->json) {
		for (size_t i = 0; i < in->n_args; i++)
			strvec_push(&rs->argv, in->args[i].text);
		return;
	}
	const char *cmd = in->n_args ? in->args[0].text : "";
	if (in->n_heredocs == 1 && dockerfile_find_heredoc(in, cmd)) {
		const struct dockerfile_heredoc *h = &in->heredocs[0];
		if (!strncmp(h->content, "#!", 2)) {
			*script_body = xstrdup(h->content);
			strvec_pushf(&rs->argv, "/run/petra-heredoc/%s", h->name);
			return;
		}
		shell_of(s->state, &rs->argv);
		strvec_push(&rs->argv, h->content);
		return;
	}
	shell_of(s->state, &rs->argv);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, cmd);
	for (size_t i = 0; i < in->n_heredocs; i++) {
		strbuf_addch(&sb, '\n');
		strbuf_addstr(&sb, in->heredocs[i].content);
		strbuf_addstr(&sb, in->heredocs[i].name);
	}
	strvec_push_nodup(&rs->argv, strbuf_detach(&sb));
}

static bool env_has(const struct strvec *env, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], name, len) && env->v[i][len] == '=')
			return true;
	return false;
}

/* The image's environment, then the ARGs in scope (ENV wins), then proxy
 * variables given as build arguments. `visible` gets "K=V" of the ARGs
 * for the history. */
static void run_env(struct builder_step *s, struct strvec *env, struct strvec *args)
{
	builder_state_env(s->state, env);
	const struct dockerfile_vars *vars = s->scope->args;
	for (size_t i = 0; vars && i < dockerfile_vars_count(vars); i++) {
		const char *value;
		const char *name = dockerfile_vars_at(vars, i, &value);
		if (!value || env_has(env, name))
			continue;
		strvec_pushf(env, "%s=%s", name, value);
		strvec_pushf(args, "%s=%s", name, value);
	}
	if (!env_has(env, "PATH"))
		strvec_push(env,
			    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

static void proxy_env(struct builder_session *b, struct strvec *env)
{
	for (size_t i = 0; i < ARRAY_SIZE(proxy_args); i++) {
		const char *v = dockerfile_vars_get(b->build_args, proxy_args[i], NULL);
		if (v && !env_has(env, proxy_args[i]))
			strvec_pushf(env, "%s=%s", proxy_args[i], v);
	}
}

/* ---- output ---- */

struct tail {
	char *lines[OUTPUT_TAIL_LINES];
	size_t next, count;
	struct strbuf partial;
	bool name_lookup_failed; /* a line says a host name did not resolve */
};

/* What apt, curl, wget, getaddrinfo and git say when a host name does not
 * resolve: with the build's network off, the likely reason. */
static bool says_name_lookup_failed(const char *line)
{
	static const char *const phrases[] = {
	    "Temporary failure resolving",
	    "Temporary failure in name resolution",
	    "Could not resolve",
	    "Name or service not known",
	    "bad address",
	};
	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++)
		if (strstr(line, phrases[i]))
			return true;
	return false;
}

static void tail_line(struct builder_step *s, struct tail *t, const char *line, size_t len)
{
	if (len > OUTPUT_LINE_MAX)
		len = OUTPUT_LINE_MAX;
	char *copy = xstrndup(line, len);
	builder_say(s->session, s->say_as, "      | %s", copy);
	t->name_lookup_failed = t->name_lookup_failed || says_name_lookup_failed(copy);
	free(t->lines[t->next]);
	t->lines[t->next] = copy;
	t->next = (t->next + 1) % OUTPUT_TAIL_LINES;
	if (t->count < OUTPUT_TAIL_LINES)
		t->count++;
}

static void tail_feed(struct builder_step *s, struct tail *t, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			tail_line(s, t, t->partial.buf ? t->partial.buf : "", t->partial.len);
			strbuf_reset(&t->partial);
		} else if (t->partial.len < 4 * OUTPUT_LINE_MAX) {
			strbuf_addch(&t->partial, data[i]);
		}
	}
}

static void tail_release(struct tail *t)
{
	for (size_t i = 0; i < OUTPUT_TAIL_LINES; i++)
		free(t->lines[i]);
	strbuf_release(&t->partial);
}

/* ---- running it ---- */

static uint64_t build_caps(void)
{
	/* Docker's RUN capabilities, less MKNOD (no device nodes in images). */
	uint64_t caps = sandbox_default_caps();
	static const char *const more[] = {"NET_RAW", "SYS_CHROOT", "AUDIT_WRITE"};
	for (size_t i = 0; i < ARRAY_SIZE(more); i++) {
		uint64_t m;
		if (sandbox_cap_parse(more[i], &m, NULL) == 0)
			caps |= m;
	}
	return caps;
}

/* The container, from a forked helper (see sandbox_fork_helper: this
 * process may have other threads): it waits for the container and exits
 * with its status. */
struct helper {
	const struct sandbox_config *sc;
	int out_fd;
};

static int spawn_and_wait(void *ctx, int report_fd)
{
	struct helper *h = ctx;
	struct petra_error *e = NULL;
	pid_t pid;
	int r = sandbox_spawn(h->sc, &pid, &e);
	if (r < 0)
		sandbox_child_fail(report_fd, r == -ENOENT ? 127 : r == -EACCES ? 126 : 125, e);
	/* Started: only the container writes the output from now. */
	close(h->out_fd);
	close(report_fd);
	int status = 125;
	struct sandbox_wait_options wo = {.pty_master = -1};
	if (sandbox_wait(pid, &wo, &status, &e) < 0)
		return 125;
	return status;
}

static int execute(struct builder_step *s, struct run_setup *rs, struct builder_view *v, uid_t uid,
		   gid_t gid, const char *cwd, struct petra_error **err)
{
	struct builder_session *b = s->session;
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return petra_error_set_errno(err, errno, "pipe");
	_cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *work = path_join(v->dir, "mnt");
	mkdir(work, 0700);
	const char *empty[] = {b->empty_dir};
	const char *root[] = {v->root};
	struct sandbox_config sc = {
	    .work_dir = work,
	    .mounts = rs->mounts,
	    .n_mounts = rs->n_mounts,
	    .network = rs->network,
	    .hostname = "petra-build",
	    .process =
		{
		    .argv = rs->argv.v,
		    .env = rs->env.v,
		    .cwd = cwd,
		    .uid = uid,
		    .gid = gid,
		    .caps = build_caps(),
		    .stdio = {devnull, pipefd[1], pipefd[1]},
		},
	};
	if (v->overlay) {
		sc.root.lowers = v->lowers.n ? (const char *const *)v->lowers.v : empty;
		sc.root.n_lowers = v->lowers.n ? v->lowers.n : 1;
		sc.root.upper = v->upper;
		sc.root.work = v->work;
	} else {
		sc.root.lowers = root;
		sc.root.n_lowers = 1;
		sc.root.flags = ROOTFS_MOUNT_WRITABLE_DIR;
	}
	pid_t helper = -1;
	struct helper h = {&sc, pipefd[1]};
	int r = sandbox_fork_helper(spawn_and_wait, &h, &helper, err);
	close(pipefd[1]);
	struct tail tail = {0};
	if (r == 0) {
		char buf[65536];
		for (;;) {
			ssize_t n = read(pipefd[0], buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			tail_feed(s, &tail, buf, (size_t)n);
		}
		if (tail.partial.len)
			tail_line(s, &tail, tail.partial.buf, tail.partial.len);
		int ws = 0;
		while (waitpid(helper, &ws, 0) < 0 && errno == EINTR)
			;
		int status = sandbox_exit_code(ws);
		if (status != 0) {
			struct strbuf msg = STRBUF_INIT;
			strbuf_addf(&msg, "exit status %d", status);
			if (tail.count) {
				strbuf_addstr(&msg, "; the last lines of its output:");
				for (size_t i = 0; i < tail.count; i++) {
					size_t at =
					    (tail.next + OUTPUT_TAIL_LINES - tail.count + i) %
					    OUTPUT_TAIL_LINES;
					strbuf_addf(&msg, "\n  | %s", tail.lines[at]);
				}
			}
			if (tail.name_lookup_failed && rs->network == SANDBOX_NETWORK_NONE)
				strbuf_addstr(&msg,
					      "\nhint: the build's network is off (--network "
					      "none, the default): petra build --network host "
					      "gives RUN the host's network");
			r = petra_error_set(err, EIO, "%s", msg.buf);
			strbuf_release(&msg);
			builder_note_exit_status(b, status);
		}
	} else if (r == -ENOENT || r == -EACCES) {
		builder_note_exit_status(b, r == -ENOENT ? 127 : 126);
	}
	close(pipefd[0]);
	tail_release(&tail);
	return r;
}

static char *history_text(const struct strvec *argv, const struct strvec *args)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "RUN ");
	if (args->n) {
		strbuf_addf(&sb, "|%zu", args->n);
		for (size_t i = 0; i < args->n; i++)
			strbuf_addf(&sb, " %s", args->v[i]);
		strbuf_addch(&sb, ' ');
	}
	for (size_t i = 0; i < argv->n; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", argv->v[i]);
	return strbuf_detach(&sb);
}

/* What a RUN step keeps from prepare to apply. */
struct run_step {
	struct run_setup rs;
	struct strvec argv; /* the command */
	char *script;       /* a heredoc run as a file, or NULL */
	char *user, *wd;
};

/* The network, checked against the build's; the key: the command, its
 * environment, user, directory, network and mounts (with the content of
 * what is bound from the context). */
static int run_prepare(struct builder_step *s, struct petra_error **err)
{
	struct builder_session *b = s->session;
	const struct dockerfile_instruction *in = s->in;
	struct run_step *rd = xcalloc(1, sizeof(*rd));
	s->data = rd;
	rd->rs.network = b->o->network;
	const char *net = in ? dockerfile_flag(in, "network") : NULL;
	if (net && !strcmp(net, "none"))
		rd->rs.network = SANDBOX_NETWORK_NONE;
	else if (net && !strcmp(net, "host") && b->o->network != SANDBOX_NETWORK_HOST)
		return petra_error_set(err, EPERM,
				       "RUN --network=host needs the build's consent: petra build "
				       "--network host");
	const char *security = in ? dockerfile_flag(in, "security") : NULL;
	if (security && strcmp(security, "sandbox"))
		return petra_error_set(err, ENOTSUP, "RUN --security=%s is not supported",
				       security);
	json_t *cfg = builder_state_runtime(s->state);
	const char *user = json_get_string(cfg, "User");
	const char *wd = json_get_string(cfg, "WorkingDir");
	rd->user = user ? xstrdup(user) : NULL;
	rd->wd = xstrdup(wd && *wd ? wd : "/");
	if (s->command) {
		shell_of(s->state, &rd->argv);
		strvec_push(&rd->argv, s->command);
	} else {
		struct run_setup tmp = {0};
		command_argv(s, &tmp, &rd->script);
		rd->argv = tmp.argv;
	}
	_cleanup_strvec_ struct strvec args = STRVEC_INIT;
	run_env(s, &rd->rs.env, &args);
	for (size_t i = 0; i < rd->argv.n; i++)
		builder_key_add(&s->key, rd->argv.v[i]);
	if (rd->script)
		builder_key_add(&s->key, rd->script);
	for (size_t i = 0; i < rd->rs.env.n; i++)
		builder_key_add(&s->key, rd->rs.env.v[i]);
	builder_key_addf(&s->key, "user=%s wd=%s net=%d", user ? user : "", wd ? wd : "",
			 (int)rd->rs.network);
	s->created_by = history_text(&rd->argv, &args);
	return in ? mounts(s, &rd->rs, &s->key, err) : 0;
}

/* A heredoc run as a file: written in the step's scratch directory and
 * bound where argv[0] says. */
static int bind_script(struct builder_step *s, struct run_step *rd, struct petra_error **err)
{
	struct run_setup *rs = &rd->rs;
	int r = scratch(s->session, rs, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *file = path_join(rs->dir, "script");
	_cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0 || fs_write_all(fd, rd->script, strlen(rd->script)) < 0)
		return petra_error_set_errno(err, errno, "write the heredoc script");
	add_mount(rs, SANDBOX_MOUNT_BIND, rs->argv.v[0], file, true);
	return 0;
}

/* The mounts set up, the command run in the sandbox on the view, and what
 * its mount points left in the view removed. */
static int run_apply(struct builder_step *s, struct builder_view *v, struct petra_error **err)
{
	struct run_step *rd = s->data;
	struct run_setup *rs = &rd->rs;
	rs->argv = rd->argv;
	rd->argv = (struct strvec)STRVEC_INIT;
	proxy_env(s->session, &rs->env);
	int r = s->in ? mounts(s, rs, NULL, err) : 0;
	if (r == 0 && rd->script)
		r = bind_script(s, rd, err);
	uid_t uid = 0;
	gid_t gid = 0;
	_cleanup_free_ char *home = NULL;
	if (r == 0) {
		/* Resolved in the layers: a name needs the image's passwd. */
		r = rootfs_resolve_user((const char *const *)v->lowers.v, v->lowers.n, rd->user,
					&uid, &gid, &home, err);
	}
	if (r == 0 && !env_has(&rs->env, "HOME"))
		strvec_pushf(&rs->env, "HOME=%s", home);
	if (r == 0) {
		for (size_t i = 0; i < SANDBOX_N_STANDARD_MOUNTS; i++)
			strvec_push(&rs->targets, sandbox_standard_mounts[i].target);
		r = execute(s, rs, v, uid, gid, rd->wd, err);
	}
	/* Secrets and the other mounts go before the layer is made. */
	struct strvec targets = rs->targets;
	rs->targets = (struct strvec)STRVEC_INIT;
	run_setup_release(rs);
	*rs = (struct run_setup){0};
	if (r == 0)
		builder_view_prune_stubs(v, &targets);
	strvec_clear(&targets);
	return r;
}

static void run_release(struct builder_step *s)
{
	struct run_step *rd = s->data;
	if (!rd)
		return;
	run_setup_release(&rd->rs);
	strvec_clear(&rd->argv);
	free(rd->script);
	free(rd->user);
	free(rd->wd);
	free(rd);
	s->data = NULL;
}

const struct builder_step_kind builder_kind_run = {
    .name = "RUN",
    .flags = BUILDER_STEP_SAY_DONE,
    .view = BUILDER_VIEW_UNMOUNTED,
    .prepare = run_prepare,
    .apply = run_apply,
    .release = run_release,
};
