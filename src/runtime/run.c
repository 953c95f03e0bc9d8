/* SPDX-License-Identifier: Apache-2.0 */
/* petra run: a container of an image, in the foreground or detached. */
#include "internal.h"

#include <fcntl.h>
#include <pty.h>
#include <sched.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

void runtime_run_result_release(struct runtime_run_result *r)
{
	image_writable_paths_free(r->learned, r->n_learned);
	strvec_clear(&r->learn_notes);
	memset(r, 0, sizeof(*r));
}

static int new_id(char id[65], struct petra_error **err)
{
	unsigned char raw[32];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return petra_error_set_errno(err, errno, "random container id");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

static json_t *strings_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* What later commands need to know about the container. */
static json_t *initial_state(const struct image *img, const struct runtime_run_options *o,
			     const struct runtime_spec *spec, const char *id, const char *name)
{
	json_t *s = json_object();
	json_object_set_new(s, "id", json_string(id));
	json_object_set_new(s, "name", json_string(name));
	json_object_set_new(s, "image", json_string(img->name ? img->name : o->image));
	json_object_set_new(s, "image_digest", json_string(img->desc.digest));
	json_object_set_new(s, "config_digest", json_string(img->manifest.config.digest));
	json_t *layers = json_array();
	for (size_t i = 0; i < img->manifest.n_layers; i++)
		json_array_append_new(layers, json_string(img->manifest.layers[i].digest));
	json_object_set_new(s, "layers", layers);
	json_object_set_new(s, "diff_ids", strings_json(img->config.diff_ids.v));
	json_t *cfg = image_runtime_config(img);
	json_t *labels = cfg ? json_object_get(cfg, "Labels") : NULL;
	json_object_set_new(s, "labels",
			    json_is_object(labels) ? json_deep_copy(labels) : json_object());
	json_t *ann = json_object_get(img->manifest.json, "annotations");
	const char *base =
	    ann ? json_get_string(ann, "org.opencontainers.image.base.digest") : NULL;
	if (base && *base) /* empty: the image was built FROM scratch */
		json_object_set_new(s, "base_digest", json_string(base));
	const struct sandbox_process *p = &spec->sandbox.process;
	json_object_set_new(s, "command", strings_json(p->argv));
	json_object_set_new(s, "env", strings_json(p->env));
	json_object_set_new(s, "user", json_string(spec->user));
	json_object_set_new(s, "uid", json_integer(p->uid));
	json_object_set_new(s, "gid", json_integer(p->gid));
	json_object_set_new(s, "cwd", json_string(spec->cwd));
	json_object_set_new(s, "caps", json_integer((json_int_t)p->caps));
	json_object_set_new(s, "ambient", json_integer((json_int_t)p->ambient));
	json_t *mounts = json_array();
	for (size_t i = 0; i < spec->n_mounts; i++)
		json_array_append_new(
		    mounts,
		    json_pack("{s:s,s:s,s:b}", "target", spec->mounts[i].target, "kind",
			      spec->mounts[i].kind == SANDBOX_MOUNT_TMPFS ? "tmpfs" : "bind",
			      "readonly", spec->mounts[i].readonly));
	json_object_set_new(s, "mounts", mounts);
	json_object_set_new(s, "read_write", json_boolean(o->read_write));
	json_object_set_new(s, "network",
			    json_string(o->network == SANDBOX_NETWORK_NONE ? "none" : "host"));
	json_object_set_new(s, "detached", json_boolean(o->detach));
	/* A detached learner: its upper directory stays in the state
	 * directory for `petra stop` (or `petra learn stop`) to read. */
	if (o->learn && o->detach)
		json_object_set_new(
		    s, "learn",
		    json_pack("{s:o}", "save",
			      o->learn_save ? json_string(o->learn_save) : json_null()));
	json_object_set_new(s, "created", json_integer((json_int_t)time(NULL)));
	return s;
}

static int record_started(int dir_fd, json_t *state, pid_t pid, struct petra_error **err)
{
	json_object_set_new(state, "pid", json_integer(pid));
	json_object_set_new(state, "pid_start",
			    json_integer((json_int_t)runtime_process_start(pid)));
	return runtime_state_write(dir_fd, state, err);
}

static void record_exit(int dir_fd, int code)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d\n", code);
	/* The supervisor program writes the same file the same way. */
	_cleanup_close_ int fd =
	    openat(dir_fd, ".exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && fs_write_all(fd, buf, (size_t)n) == 0)
		renameat(dir_fd, ".exit.tmp", dir_fd, "exit");
}

struct container {
	char id[65];
	char *dir;
	int dir_fd;
	char *learn_dir; /* the host-side tmpfs of --learn, mounted */
	json_t *state;
	struct runtime_cgroup cgroup; /* --memory, --cpus, --pids-limit */
	int *port_fds;                /* -p: the host's sockets, until the forwarder has them */
	size_t n_ports;
};

static void container_cleanup(struct container *c, bool remove)
{
	runtime_cgroup_remove(&c->cgroup);
	runtime_ports_close(c->port_fds, c->n_ports);
	free(c->port_fds);
	if (c->learn_dir) {
		umount2(c->learn_dir, MNT_DETACH);
		free(c->learn_dir);
	}
	if (c->dir_fd >= 0)
		close(c->dir_fd);
	if (remove && c->dir) {
		_cleanup_error_ struct petra_error *e = NULL;
		if (fs_remove_tree_at(AT_FDCWD, c->dir, &e) < 0)
			log_warn("could not remove %s: %s", c->dir, e->message);
	}
	free(c->dir);
	json_decref(c->state);
}

/* A name is one container's, running or not: the run directory is locked
 * (*lock, released once the new state is written) and no other state may
 * hold the name, so two runs cannot both take it. */
static int claim_name(const char *run_dir, const char *name, int *lock, struct petra_error **err)
{
	int r = runtime_run_dir_check(run_dir, true, err);
	if (r < 0)
		return r;
	*lock = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*lock < 0 || flock(*lock, LOCK_EX) < 0)
		return petra_error_set_errno(err, errno, "lock %s", run_dir);
	struct runtime_container *list;
	size_t n;
	r = runtime_list(run_dir, &list, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++)
		if (list[i].name && !strcmp(list[i].name, name)) {
			_cleanup_free_ char *q = str_quote(name);
			r = petra_error_set(
			    err, EEXIST,
			    "the name %s is already used by container %.12s (petra rm "
			    "it first)",
			    q, list[i].id);
		}
	runtime_containers_free(list, n);
	return r;
}

static int create_dirs(const char *run_dir, const struct runtime_run_options *o,
		       struct runtime_spec *spec, struct container *c, struct petra_error **err)
{
	int r = runtime_run_dir_check(run_dir, true, err);
	if (r < 0)
		return r;
	if (o->restart_id) {
		snprintf(c->id, sizeof(c->id), "%s", o->restart_id);
	} else if ((r = new_id(c->id, err)) < 0) {
		return r;
	}
	c->dir = path_join(run_dir, c->id);
	if (!o->restart_id && mkdir(c->dir, 0700) < 0)
		return petra_error_set_errno(err, errno, "create %s", c->dir);
	c->dir_fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->dir_fd < 0)
		return petra_error_set_errno(err, errno, "open %s", c->dir);
	if (mkdirat(c->dir_fd, "mnt", 0700) < 0 && !(o->restart_id && errno == EEXIST))
		return petra_error_set_errno(err, errno, "create %s/mnt", c->dir);
	/* Started again: the last run's status is history. */
	if (o->restart_id && unlinkat(c->dir_fd, "exit", 0) < 0 && errno != ENOENT)
		return petra_error_set_errno(err, errno, "remove %s/exit", c->dir);
	strvec_pushf(&spec->strings, "%s/mnt", c->dir);
	spec->sandbox.work_dir = spec->strings.v[spec->strings.n - 1];
	const char *upper_base = NULL;
	if (o->learn && o->detach) {
		/* The container outlives us: its writable layer is a directory
		 * of its state, read once it stopped, removed with it. */
		strvec_pushf(&spec->strings, "%s/learn", c->dir);
		upper_base = spec->strings.v[spec->strings.n - 1];
		if (mkdir(upper_base, 0700) < 0)
			return petra_error_set_errno(err, errno, "create %s", upper_base);
	} else if (o->learn) {
		/* A throwaway writable layer in memory, visible to us after the
		 * container ended, mounted in a private mount namespace of ours
		 * (the container's is a copy of it): it never shows on the host
		 * and goes with us and the container, however we end. */
		c->learn_dir = path_join(c->dir, "learn");
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			r = petra_error_set_errno(err, errno, "a private mount namespace");
			free(c->learn_dir);
			c->learn_dir = NULL;
			return r;
		}
		if (mkdir(c->learn_dir, 0700) < 0 ||
		    mount("tmpfs", c->learn_dir, "tmpfs", MS_NODEV, "mode=0700") < 0) {
			r = petra_error_set_errno(err, errno, "mount a tmpfs on %s", c->learn_dir);
			free(c->learn_dir);
			c->learn_dir = NULL;
			return r;
		}
		upper_base = c->learn_dir;
	} else if (o->upper_dir) {
		upper_base = o->upper_dir;
	} else if (o->read_write) {
		upper_base = c->dir;
	}
	if (upper_base) {
		strvec_pushf(&spec->strings, "%s/upper", upper_base);
		spec->sandbox.root.upper = spec->strings.v[spec->strings.n - 1];
		strvec_pushf(&spec->strings, "%s/work", upper_base);
		spec->sandbox.root.work = spec->strings.v[spec->strings.n - 1];
		if ((mkdir(spec->sandbox.root.upper, 0755) < 0 && errno != EEXIST) ||
		    (mkdir(spec->sandbox.root.work, 0700) < 0 && errno != EEXIST))
			return petra_error_set_errno(err, errno, "create %s/upper", upper_base);
	}
	return 0;
}

/* Started again: it was created when it was first run; now is when it
 * started. */
static void keep_created(int dir_fd, json_t *state)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (fs_read_file_at(dir_fd, "state.json", 1u << 20, &data, &len, &ignored) < 0)
		return;
	json_t *old = json_loadb(data, len, 0, NULL);
	json_t *created = old ? json_object_get(old, "created") : NULL;
	json_object_set(state, "started", json_object_get(state, "created"));
	if (json_is_integer(created))
		json_object_set(state, "created", created);
	json_decref(old);
}

/* sandbox_spawn from inside the container's cgroups, if it has any: its
 * first process starts in them. */
static int spawn_in_cgroup(struct runtime_spec *spec, struct container *c, pid_t *pid,
			   struct petra_error **err)
{
	struct strvec saved;
	int r = runtime_cgroup_enter(&c->cgroup, &saved, err);
	if (r < 0)
		return r;
	r = sandbox_spawn(&spec->sandbox, pid, err);
	runtime_cgroup_leave(&saved);
	return r;
}

/* The forwarder of the published ports, once the container runs; the
 * host's sockets are its alone from then on. */
static int start_ports(const struct runtime_run_options *o, struct container *c, pid_t pid,
		       pid_t *forwarder, struct petra_error **err)
{
	*forwarder = -1;
	if (!c->n_ports)
		return 0;
	int r = runtime_ports_start(pid, o->ports, c->port_fds, c->n_ports, forwarder, err);
	runtime_ports_close(c->port_fds, c->n_ports);
	return r;
}

/* ---- foreground ---- */

int runtime_relay_setup(struct runtime_relay *t, int stdio[3], bool interactive,
			struct petra_error **err)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 3; i++)
		t->theirs[i] = -1;
	for (int i = 0; i < 3; i++) {
		if (stdio[i] >= 0 || (i == 0 && !interactive) || !isatty(i))
			continue;
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return petra_error_set_errno(err, errno, "pipe");
		bool in = i == 0;
		t->theirs[i] = stdio[i] = in ? p[0] : p[1];
		t->relays[t->n++] = (struct sandbox_relay){
		    .from = in ? 0 : p[0],
		    .to = in ? p[1] : i,
		    .input = in,
		};
	}
	return 0;
}

void runtime_relay_started(struct runtime_relay *t)
{
	for (int i = 0; i < 3; i++)
		if (t->theirs[i] >= 0) {
			close(t->theirs[i]);
			t->theirs[i] = -1;
		}
}

void runtime_relay_release(struct runtime_relay *t, bool waited)
{
	runtime_relay_started(t);
	for (size_t i = 0; i < t->n; i++)
		if (!t->relays[i].input)
			close(t->relays[i].from);
		else if (!waited)
			close(t->relays[i].to);
	t->n = 0;
}

static int run_foreground(const struct runtime_run_options *o, struct runtime_spec *spec,
			  struct container *c, struct runtime_run_result *result,
			  struct petra_error **err)
{
	struct sandbox_process *p = &spec->sandbox.process;
	_cleanup_close_ int devnull = -1, master = -1, slave = -1;
	if (o->use_stdio) {
		for (int i = 0; i < 3; i++)
			p->stdio[i] = o->stdio[i];
	} else if (o->tty) {
		if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
			return petra_error_set_errno(err, errno, "open a pseudo-terminal");
		fcntl(master, F_SETFD, FD_CLOEXEC);
		fcntl(slave, F_SETFD, FD_CLOEXEC);
		p->stdio[0] = p->stdio[1] = p->stdio[2] = slave;
		if (!o->interactive) {
			devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
	} else if (!o->interactive) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		p->stdio[0] = devnull;
	}
	struct runtime_relay relay = RUNTIME_RELAY_INIT;
	int r =
	    o->use_stdio || o->tty ? 0 : runtime_relay_setup(&relay, p->stdio, o->interactive, err);
	if (r < 0) {
		runtime_relay_release(&relay, false);
		return r;
	}
	sigset_t forward, saved;
	sandbox_forward_signals(&forward);
	sigprocmask(SIG_BLOCK, &forward, &saved);
	/* A foreground container ends with this process, even killed. */
	spec->sandbox.die_with_parent = true;
	pid_t pid;
	r = spawn_in_cgroup(spec, c, &pid, err);
	runtime_relay_started(&relay);
	bool waited = r == 0; /* sandbox_wait closes the input pipe */
	if (r == -ENOENT || r == -EACCES)
		result->exit_code = r == -ENOENT ? 127 : 126;
	if (r == 0) {
		if (slave >= 0) {
			close(slave);
			slave = -1;
		}
		_cleanup_error_ struct petra_error *state_err = NULL;
		if (record_started(c->dir_fd, c->state, pid, &state_err) < 0)
			log_warn("%s", state_err->message);
		pid_t forwarder = -1;
		r = start_ports(o, c, pid, &forwarder, err);
		if (r < 0)
			kill(pid, SIGKILL);
		struct sandbox_wait_options wo = {
		    .forward = &forward,
		    .pty_master = master,
		    .relays = relay.relays,
		    .n_relays = relay.n,
		    .kill_on_second_interrupt = true,
		    .timeout_ms = o->timeout_ms,
		};
		int wr = sandbox_wait(pid, &wo, &result->exit_code, r < 0 ? NULL : err);
		if (r == 0)
			r = wr;
		if (r == 0)
			record_exit(c->dir_fd, result->exit_code);
		/* It ends with the container. */
		if (forwarder > 0)
			waitpid(forwarder, NULL, 0);
	}
	runtime_relay_release(&relay, waited);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return r;
}

/* ---- detached ---- */

/* The supervisor: the container's parent for its whole life. It reports
 * "ok" (or the error) on report_fd once the container runs, then becomes
 * the small petra-supervisor program, which waits and records the exit
 * status; without that program it waits itself. */
__attribute__((noreturn)) static void supervise(const struct runtime_run_options *o,
						struct runtime_spec *spec, struct container *c,
						int report_fd)
{
	setsid();
	struct petra_error *err = NULL;
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int log = openat(c->dir_fd, "log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (devnull < 0 || log < 0) {
		petra_error_set_errno(&err, errno, "open the container log");
		sandbox_child_fail(report_fd, 125, err);
	}
	struct sandbox_process *p = &spec->sandbox.process;
	p->stdio[0] = devnull;
	p->stdio[1] = p->stdio[2] = log;
	pid_t pid, forwarder;
	if (spawn_in_cgroup(spec, c, &pid, &err) < 0 ||
	    record_started(c->dir_fd, c->state, pid, &err) < 0)
		sandbox_child_fail(report_fd, 125, err);
	if (start_ports(o, c, pid, &forwarder, &err) < 0) {
		kill(pid, SIGKILL);
		sandbox_child_fail(report_fd, 125, err);
	}
	/* From here on nothing of ours may hold the caller's terminal or
	 * pipes open. */
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(devnull, 2);
	(void)!write(report_fd, "", 0);
	close(report_fd);
	if (o->supervisor) {
		char pid_text[16];
		snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
		struct strvec args = STRVEC_INIT;
		strvec_push(&args, "petra-supervisor");
		strvec_push(&args, c->dir);
		strvec_push(&args, pid_text);
		if (o->remove)
			strvec_push(&args, "--rm");
		for (size_t i = 0; i < c->cgroup.dirs.n; i++)
			strvec_pushf(&args, "--cgroup=%s", c->cgroup.dirs.v[i]);
		execv(o->supervisor, args.v);
		strvec_clear(&args);
		/* Not there: wait here instead. */
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	runtime_cgroup_remove(&c->cgroup);
	record_exit(c->dir_fd, sandbox_exit_code(ws));
	if (o->remove)
		fs_remove_tree_at(AT_FDCWD, c->dir, NULL);
	_exit(0);
}

static int run_detached(const struct runtime_run_options *o, struct runtime_spec *spec,
			struct container *c, struct runtime_run_result *result,
			struct petra_error **err)
{
	int report[2];
	if (pipe2(report, O_CLOEXEC) < 0)
		return petra_error_set_errno(err, errno, "pipe");
	/* Fork twice so the supervisor is nobody's child but init's (or a
	 * subreaper's) and outlives this command. */
	pid_t mid = fork();
	if (mid == 0) {
		close(report[0]);
		pid_t sup = fork();
		if (sup == 0)
			supervise(o, spec, c, report[1]);
		_exit(sup < 0 ? 1 : 0);
	}
	close(report[1]);
	if (mid < 0) {
		close(report[0]);
		return petra_error_set_errno(err, errno, "fork");
	}
	int ws;
	waitpid(mid, &ws, 0);
	int r = sandbox_child_result(report[0], -1, err);
	close(report[0]);
	if (r == -ENOENT || r == -EACCES)
		result->exit_code = r == -ENOENT ? 127 : 126;
	else if (r == 0)
		result->exit_code = 0;
	if (r == 0 && (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0))
		r = petra_error_set(err, EIO, "could not start the supervisor");
	return r;
}

int runtime_run(struct petra_store *store, const char *run_dir, const struct runtime_run_options *o,
		struct runtime_run_result *result, struct petra_error **err)
{
	memset(result, 0, sizeof(*result));
	result->exit_code = 125; /* until the command runs */
	if (o->learn && o->read_write)
		return petra_error_set(err, EINVAL, "--learn runs on its own root");
	if (o->learn && o->detach && o->remove)
		return petra_error_set(
		    err, EINVAL,
		    "a detached --learn keeps its container until learning ends: "
		    "no --rm");
	if (o->n_ports && o->network != SANDBOX_NETWORK_NONE)
		return petra_error_set(
		    err, EINVAL,
		    "-p publishes a port of a container's own network (--network "
		    "none); with --network host its ports are the host's already");
	struct image img;
	struct runtime_spec spec;
	int r = runtime_prepare(store, o, &img, &spec, err);
	if (r < 0)
		return r;
	if (o->init && (r = runtime_spec_add_init(&spec, o->init, err)) < 0) {
		runtime_spec_release(&spec);
		image_release(&img);
		return r;
	}
	struct container c = {.dir_fd = -1};
	_cleanup_close_ int name_lock = -1;
	if (o->name && !o->restart_id)
		r = claim_name(run_dir, o->name, &name_lock, err);
	if (r == 0)
		r = create_dirs(run_dir, o, &spec, &c, err);
	if (r == 0) {
		memcpy(result->id, c.id, sizeof(result->id));
		char short_id[13];
		snprintf(short_id, sizeof(short_id), "%.12s", c.id);
		spec.sandbox.hostname = short_id;
		c.state = initial_state(&img, o, &spec, c.id, o->name ? o->name : short_id);
		if (o->restart_id)
			keep_created(c.dir_fd, c.state);
		if (runtime_limits_set(&o->limits))
			r = runtime_cgroup_create(c.id, &o->limits, &c.cgroup, err);
		if (r == 0 && o->n_ports) {
			c.port_fds = xcalloc(o->n_ports, sizeof(*c.port_fds));
			c.n_ports = o->n_ports;
			r = runtime_ports_bind(o->ports, o->n_ports, c.port_fds, err);
		}
		if (r == 0 && o->n_ports) {
			json_t *ports = json_array();
			for (size_t i = 0; i < o->n_ports; i++) {
				_cleanup_free_ char *text = runtime_port_text(&o->ports[i]);
				json_array_append_new(ports, json_string(text));
			}
			json_object_set_new(c.state, "ports", ports);
		}
		if (r == 0) {
			json_object_set_new(c.state, "cgroups", strings_json(c.cgroup.dirs.v));
			json_object_set_new(c.state, "init", json_boolean(o->init != NULL));
			json_object_set_new(c.state, "options", runtime_options_json(o));
			r = runtime_state_write(c.dir_fd, c.state, err);
		}
		/* The state holds the name now. */
		if (name_lock >= 0) {
			close(name_lock);
			name_lock = -1;
		}
		/* The layers are extracted and state.json names them (prune keeps
		 * every container's layers): prune need not wait for us now. */
		if (r == 0)
			petra_store_release_gc_lock(store);
		if (r == 0)
			r = o->detach ? run_detached(o, &spec, &c, result, err)
				      : run_foreground(o, &spec, &c, result, err);
	}
	if (r == 0 && o->learn && !o->detach) {
		r = runtime_learn_analyse(&spec, &result->learned, &result->n_learned,
					  &result->learn_notes, err);
	}
	/* A detached container's state (and cgroups) belong to its supervisor
	 * now; a failed start leaves nothing behind. */
	if (r == 0 && o->detach) {
		strvec_clear(&c.cgroup.dirs);
		strvec_clear(&c.cgroup.controllers);
	}
	container_cleanup(&c, (r < 0 && !o->restart_id) || (!o->detach && o->remove));
	runtime_spec_release(&spec);
	image_release(&img);
	return r;
}

int runtime_open_image_root(struct petra_store *store, const struct image *img, const char *run_dir,
			    int *root_fd, struct petra_error **err)
{
	struct strvec lowers = STRVEC_INIT;
	int r = rootfs_prepare(store, img, &lowers, err);
	if (r == 0 && unshare(CLONE_NEWNS) < 0)
		r = petra_error_set_errno(err, errno, "a private mount namespace");
	if (r == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		r = petra_error_set_errno(err, errno, "make the mount tree private");
	_cleanup_free_ char *target = xasprintf("%s/inspect-%d", run_dir, (int)getpid());
	if (r == 0)
		r = runtime_run_dir_check(run_dir, true, err);
	if (r == 0 && mkdir(target, 0700) < 0 && errno != EEXIST)
		r = petra_error_set_errno(err, errno, "create %s", target);
	if (r == 0) {
		struct rootfs_mount_options mo = {
		    .lowers = (const char *const *)lowers.v,
		    .n_lowers = lowers.n,
		};
		r = rootfs_mount(target, &mo, err);
		if (r == 0) {
			*root_fd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (*root_fd < 0)
				r = petra_error_set_errno(err, errno, "open %s", target);
			/* The descriptor keeps the mount alive. */
			umount2(target, MNT_DETACH);
		}
		rmdir(target);
	}
	strvec_clear(&lowers);
	return r;
}
