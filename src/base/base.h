/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base: what every petra module stands on.
 *
 *  - struct petra_error: how failures travel. A fallible function returns a
 *    negative errno-style value and fills *err with the code and a message
 *    that names the object and the reason; callers add context on the way
 *    up with petra_error_prefix().
 *  - cleanup attributes (_cleanup_free_, _cleanup_close_, ...): ownership
 *    ends with the scope unless the pointer is handed on (steal_pointer).
 *  - strbuf / strvec / strset: growable strings, string vectors, string sets;
 *    an arena for many small allocations freed at once.
 *  - fs_*: whole reads and writes, atomic file replacement (temp + fsync +
 *    rename + fsync of the directory), safe recursive removal, and the one
 *    tree walker (fs_walk: sorted, openat-based, never following symlinks).
 *  - JSON helpers over jansson, time helpers (SOURCE_DATE_EPOCH, RFC 3339).
 *  - log and progress on stderr.
 *  - petra_yaml_*: YAML documents as jansson trees that remember the line
 *    and column of every key, item and node (libfyaml's event parser;
 *    aliases and duplicate keys refused), for the policy, lint's config,
 *    flows and structure tests.
 *
 * Memory allocation failure aborts the process (xmalloc and friends): a
 * command-line tool cannot do anything useful after it, and checking every
 * allocation would drown the real error paths.
 */
#ifndef PETRA_BASE_H
#define PETRA_BASE_H

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ---- errors ------------------------------------------------------------ */

struct petra_error {
	int code;      /* positive errno value (EINVAL, ENOENT, EIO, ...) */
	char *message; /* full message with context, no trailing newline */
};

/* Set *err (freeing a previous one) and return -code. err may be NULL. */
int petra_error_set(struct petra_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As petra_error_set, and append ": strerror(code)". */
int petra_error_set_errno(struct petra_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the message of *err with context ("ctx: old message"); returns
 * -(*err)->code. Does nothing but return -EIO if *err is unset. */
int petra_error_prefix(struct petra_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void petra_error_free(struct petra_error *err);

/* ---- cleanup helpers --------------------------------------------------- */

#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void petra_error_freep(struct petra_error **e)
{
	petra_error_free(*e);
}

#define _cleanup_free_     _cleanup_(freep)
#define _cleanup_close_    _cleanup_(closep)
#define _cleanup_fclose_   _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_error_    _cleanup_(petra_error_freep)
/* json_decrefp comes with jansson >= 2.14 */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Hand ownership on: returns *pp and clears it so cleanup does nothing. */
#define steal_pointer(pp)                                                                          \
	({                                                                                         \
		__typeof__(*(pp)) _stolen = *(pp);                                                 \
		*(pp) = NULL;                                                                      \
		_stolen;                                                                           \
	})
#define steal_fd(fdp)                                                                              \
	({                                                                                         \
		int _stolen = *(fdp);                                                              \
		*(fdp) = -1;                                                                       \
		_stolen;                                                                           \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation (aborts on failure) ------------------------------------ */

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Grow *array so it holds at least `need` elements of `size` bytes. */
void xgrow(void **array, size_t *alloc, size_t need, size_t size);

/* ---- strbuf: a growable, always NUL-terminated byte string -------------- */

struct strbuf {
	char *buf; /* never NULL after the first add; "" before */
	size_t len;
	size_t alloc;
};
#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Add s in double quotes, escaping quotes, backslashes and non-printable
 * bytes (\n, \xNN), cut after max bytes with "..." (0: no limit). For
 * messages that name untrusted paths. */
void strbuf_add_quoted(struct strbuf *sb, const char *s, size_t max);
/* The same into a new string. Caller frees. */
char *str_quote(const char *s);
void strbuf_setlen(struct strbuf *sb, size_t len);
void strbuf_reset(struct strbuf *sb);
/* The string (never NULL, "" when empty). */
const char *strbuf_str(const struct strbuf *sb);
/* Take the buffer (caller frees); sb is reset. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
#define _cleanup_strbuf_ _cleanup_(strbuf_release)

/* ---- strvec: a NULL-terminated vector of owned strings ----------------- */

struct strvec {
	char **v; /* NULL-terminated once anything was pushed */
	size_t n;
	size_t alloc;
};
#define STRVEC_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void strvec_push(struct strvec *sv, const char *s);
void strvec_push_nodup(struct strvec *sv, char *s);
void strvec_pushf(struct strvec *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strvec_sort(struct strvec *sv);
void strvec_clear(struct strvec *sv);
#define _cleanup_strvec_ _cleanup_(strvec_clear)

/* ---- strset: a hash set of owned strings ------------------------------- */

struct strset {
	char **slots;
	size_t used;
	size_t capacity; /* a power of two, or 0 */
};
#define STRSET_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* Returns true if s was added, false if it was already there. */
bool strset_add(struct strset *set, const char *s);
bool strset_contains(const struct strset *set, const char *s);
/* The hash strset uses (FNV-1a), for other tables keyed by strings. */
uint64_t str_hash(const char *s);
void strset_clear(struct strset *set);
#define _cleanup_strset_ _cleanup_(strset_clear)

/* ---- arena: many small allocations freed at once ----------------------- */

/* For structures with many small parts that live and die together (a
 * parsed file, an image's merged file tree): allocation is a pointer bump
 * in 16 KiB chunks, and arena_release frees everything. A zeroed struct is
 * an empty arena. */
struct arena_chunk;
struct arena {
	struct arena_chunk *chunks;
	char *next;
	size_t left;
};
/* Aligned for any type; never NULL (aborts when memory runs out). */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* NULL for size 0. */
void *arena_memdup(struct arena *a, const void *p, size_t size);
void arena_release(struct arena *a);

/* ---- files ------------------------------------------------------------- */

/* write(2)/read(2) until done, retrying on EINTR. read_full returns the
 * number of bytes read (short only at end of file) or -errno. */
int fs_write_all(int fd, const void *buf, size_t len);
ssize_t fs_read_full(int fd, void *buf, size_t len);

/* Read a whole file (at most max_size bytes, else EFBIG) into a malloc'd
 * NUL-terminated buffer. dirfd may be AT_FDCWD. */
int fs_read_file_at(int dirfd, const char *path, size_t max_size, char **data, size_t *len,
		    struct petra_error **err);

/* Create a temporary file next to `name` in dirfd (".tmp-<name>-<random>"),
 * O_RDWR|O_CLOEXEC|O_EXCL. *tmp_name receives its name (caller frees). */
int fs_tmpfile_at(int dirfd, const char *name, mode_t mode, char **tmp_name,
		  struct petra_error **err);

/* Atomically replace dirfd/name with data: temp file, fsync, rename, fsync
 * of the directory. Readers see the old or the new file, never a mix. A
 * name that is a device, fifo or socket is written to, never replaced. */
int fs_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			    struct petra_error **err);

/* fsync a directory so a rename or unlink in it is durable. */
int fs_fsync_dir_at(int dirfd, const char *path, struct petra_error **err);

/* mkdir -p, each missing component with `mode`. */
int fs_mkdir_p(const char *path, mode_t mode, struct petra_error **err);

/* Remove dirfd/name and everything below it. Never follows symlinks and
 * never enters a mount point (not even a bind mount of the same
 * filesystem): that is an EXDEV error. Missing is not an error. */
int fs_remove_tree_at(int dirfd, const char *name, struct petra_error **err);

/* ---- temporaries of live processes ----
 * A temporary file or directory that a process is writing is held with
 * flock(LOCK_EX) on a descriptor of it until it is renamed into place or
 * removed; the kernel drops the lock when the process dies, so a temporary
 * nobody holds belongs to a dead process and can go. */

/* Hold fd (a temporary just created) as one in use. -ESTALE when a sweep
 * removed it between its creation and now: create another. */
int fs_hold_temporary(int fd);

/* The stale temporaries in dirfd whose names begin with `prefix` (and that
 * the caller owns): removed when `remove`, and counted in *count and their
 * bytes in *bytes (both added to; either may be NULL). A temporary that
 * cannot be removed is left for the next sweep. */
void fs_sweep_temporaries(int dirfd, const char *prefix, bool remove, uint64_t *count,
			  uint64_t *bytes);

/* The mount ID of dirfd/name (dirfd itself when name is ""), without
 * following a final symlink; -ENOTSUP on kernels before 5.8. */
int fs_mount_id_at(int dirfd, const char *name, uint64_t *id);

/* Is the process in the initial user namespace (its uid_map maps every id
 * to itself)? Only there does root hold what trusted.* extended attributes
 * and device nodes need; a rootless build is root of a namespace of its
 * own. */
bool fs_user_namespace_is_initial(void);
/* The effective uid as the host knows it: geteuid() through the user
 * namespace's uid_map (a rootless build's 0 is the user's own uid). What
 * decides per-user defaults (store, run directory, credentials). */
uid_t fs_host_euid(void);

/* Copy the rest of in_fd to out_fd (copy_file_range, falling back to
 * read/write); *copied receives the byte count. */
int fs_copy_fd(int in_fd, int out_fd, uint64_t *copied, struct petra_error **err);

/* ---- the tree walker (walk.c) ------------------------------------------ */

/* An entry met by fs_walk. dirfd, name and path are valid during the
 * callback only. */
struct fs_walk_entry {
	int dirfd;        /* its parent directory */
	const char *name; /* its name in dirfd */
	const char *path; /* the prefix given to fs_walk, "/", then the names */
	struct stat st;   /* fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) */
	unsigned depth;   /* 1 for the entries of the walked directory */
};
enum {
	FS_WALK_CONTINUE = 0,
	FS_WALK_PRUNE = 1, /* from pre: do not enter this directory */
};
/* Callbacks return < 0 (with *err set) to stop the walk with that value. */
struct fs_walk_ops {
	/* Every entry, parents before children. */
	int (*pre)(void *ctx, const struct fs_walk_entry *e, struct petra_error **err);
	/* A directory after its contents (not one pruned); may be NULL. */
	int (*post)(void *ctx, const struct fs_walk_entry *e, struct petra_error **err);
};
enum {
	/* An entry gone between reading its directory and reaching it is
	 * skipped (a tree something else writes, such as a running
	 * container's), not an error. */
	FS_WALK_SKIP_VANISHED = 1 << 0,
};
/* Walk everything below directory dirfd (not dirfd itself): names in
 * byte order, every step openat() with O_NOFOLLOW from the parent's
 * descriptor (symlinks are entries, never followed; no path is resolved
 * twice), a bounded number of descriptors whatever the depth. Entries
 * are named `prefix/name/...` (prefix "" gives "name/..."; a prefix
 * ending in "/" gets no second one). Mount points are entered: a caller
 * that must not prunes where e->st.st_dev changes. */
int fs_walk(int dirfd, const char *prefix, unsigned flags, const struct fs_walk_ops *ops, void *ctx,
	    struct petra_error **err);

/* A directory stream of dirfd/name (name "." for dirfd itself), opened
 * O_NOFOLLOW; NULL with errno set. The caller closedir()s it. */
DIR *fs_opendir_at(int dirfd, const char *name);

/* Open `path` as if dirfd were the root directory: "..", absolute symlinks
 * and absolute paths stay below it (openat2 RESOLVE_IN_ROOT, no magic
 * links). Returns the descriptor or -errno. For paths inside a container
 * or image root seen from the host. */
int fs_open_in_root(int root_fd, const char *path, int flags);

/* Join two path parts with exactly one '/'. */
char *path_join(const char *a, const char *b);
/* An absolute path without "." or ".." components: what a mount target or
 * a path named by an image label must be (sandbox_spawn refuses others
 * before it creates anything). */
bool path_is_clean(const char *path);

/* ---- JSON (jansson) ---------------------------------------------------- */

/* Parse JSON text; the error names `what` (a file or blob) and the position. */
json_t *json_parse_buffer(const char *data, size_t len, const char *what, struct petra_error **err);
/* Serialise compactly, keys in insertion order (deterministic for documents
 * petra builds). Caller frees. */
char *json_dump_compact(const json_t *json, size_t *len);
/* Indented, for people. Caller frees. */
char *json_dump_pretty(const json_t *json);
/* Convenience getters: NULL / default when the key is missing or has
 * another type. */
const char *json_get_string(const json_t *obj, const char *key);
json_int_t json_get_int(const json_t *obj, const char *key, json_int_t def);

/* ---- time -------------------------------------------------------------- */

/* SOURCE_DATE_EPOCH from the environment: 1 and *out set when present and
 * valid, 0 when absent, negative with *err when malformed. */
int petra_source_date_epoch(time_t *out, struct petra_error **err);
/* RFC 3339 UTC ("2024-01-02T03:04:05Z") into buf (at least 32 bytes). */
void time_format_rfc3339(time_t t, char *buf, size_t size);
/* Parse RFC 3339 (fractional seconds and offsets allowed). */
int time_parse_rfc3339(const char *s, time_t *out);
/* Human size ("12.3MB", decimal units as docker prints them). */
void format_size(uint64_t bytes, char *buf, size_t size);
/* Human age ("3 minutes ago"). */
void format_age(time_t then, time_t now, char *buf, size_t size);

/* ---- log and progress (stderr) ----------------------------------------- */

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Set once by the entry point before any thread starts; read-only after.
 * This and the progress switch below are the only process-wide settings. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A byte counter drawn as one updating line on stderr when stderr is a
 * terminal and the log level is at least INFO; silent otherwise. */
struct progress {
	char *title;
	uint64_t total; /* 0 when unknown */
	uint64_t done;
	struct timespec started;
	struct timespec last_draw;
	bool active;
	bool drawn;
};
void progress_begin(struct progress *p, const char *title, uint64_t total);
void progress_add(struct progress *p, uint64_t bytes);
void progress_end(struct progress *p);

/* ---- tasks in dependency order, in threads (graph.c) ------------------- */

/* A graph of n tasks: which to run, what each waits for, how it runs.
 * `run` is called without any lock held, from one of the threads. */
struct graph_ops {
	bool (*wanted)(void *ctx, size_t task); /* NULL: every task */
	size_t (*n_deps)(void *ctx, size_t task);
	size_t (*dep)(void *ctx, size_t task, size_t k);
	int (*run)(void *ctx, size_t task, struct petra_error **err);
};
/* Run every wanted task after the tasks it depends on succeeded, up to
 * `jobs` at once (the calling thread is one of the workers). The first
 * failure stops tasks from starting (those running finish) and is
 * returned; a cycle is an error (EDEADLK). */
int graph_run(size_t n, unsigned jobs, const struct graph_ops *ops, void *ctx,
	      struct petra_error **err);

/* ---- YAML with positions (yaml.c) ------------------------------------- */

struct petra_yaml;

/* Parse one YAML document (at most 1 MiB) into a jansson tree: mappings
 * are objects (keys must be strings), plain scalars typed by YAML 1.2's
 * core schema (null, true/false, numbers), everything else a string.
 * Errors are "<name>:<line>:<col>: <reason>". */
int petra_yaml_parse(const char *data, size_t len, const char *name, struct petra_yaml **out,
		     struct petra_error **err);
int petra_yaml_load(int dirfd, const char *path, struct petra_yaml **out, struct petra_error **err);
void petra_yaml_free(struct petra_yaml *y);
static inline void petra_yaml_freep(struct petra_yaml **y)
{
	petra_yaml_free(*y);
}
#define _cleanup_yaml_ _cleanup_(petra_yaml_freep)

/* The tree (NULL for an empty document) and the name given to parse. */
const json_t *petra_yaml_root(const struct petra_yaml *y);
const char *petra_yaml_name(const struct petra_yaml *y);

#define PETRA_YAML_NODE ((size_t)-1)
/* Where something was written (1-based; 0 when unknown): the key `key` of
 * mapping `parent`; item `index` of sequence `parent` (key NULL); or the
 * node `parent` itself (key NULL, index PETRA_YAML_NODE; not for null
 * and booleans, which jansson shares: locate them by key or index). */
void petra_yaml_position(const struct petra_yaml *y, const json_t *parent, const char *key,
			 size_t index, unsigned *line, unsigned *col);
/* Set *err to "<name>:<line>:<col>: <message>" located as above; returns
 * -EINVAL. */
int petra_yaml_error(const struct petra_yaml *y, const json_t *parent, const char *key,
		     size_t index, struct petra_error **err, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* An error naming the first key of `map` not in the NULL-terminated
 * `allowed` list ("<what>: unknown key "x" (known: a, b)"); 0 if none. */
int petra_yaml_check_keys(const struct petra_yaml *y, const json_t *map, const char *what,
			  const char *const *allowed, struct petra_error **err);
/* map[key] when it is a sequence or mapping (type JSON_ARRAY or
 * JSON_OBJECT): *out NULL when absent or null; an error
 * "<what>.<key>: must be a sequence, not a string" otherwise. */
int petra_yaml_member(const struct petra_yaml *y, const json_t *map, const char *key,
		      json_type type, const char *what, const json_t **out,
		      struct petra_error **err);
/* "a mapping", "a string", ... for messages. */
const char *petra_yaml_type_name(const json_t *node);

#endif
