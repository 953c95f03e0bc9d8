/* SPDX-License-Identifier: Apache-2.0 */
/*
 * context: a build context directory as a builder reads it.
 *
 *  - .dockerignore: Docker's rules (moby/patternmatcher): one pattern per
 *    line, '#' comments, Go's filepath.Match syntax plus "**" for any
 *    number of directories, '!' exceptions; the last pattern that matches
 *    a path or one of its parent directories decides.
 *  - walking: a file or a directory below a root, children sorted by name,
 *    each directory before its contents, excluded entries left out (an
 *    excluded directory is still entered when an exception may re-include
 *    something below it, and then appears only if something does).
 *  - wildcards: COPY and ADD sources with '*', '?' and '[...]' matched
 *    component by component, as BuildKit does, excluded entries skipped.
 *  - hashing: a digest of what a walk yields (relative names, types,
 *    permission bits, link targets and file contents; not times, not
 *    owners), for cache keys that change exactly when the content does.
 *
 * Paths given to and returned by this module are relative to the root,
 * '/'-separated, with no "." or ".." components ("" is the root itself).
 * Everything is read through directory descriptors; nothing outside the
 * root is followed into.
 */
#ifndef PETRA_CONTEXT_H
#define PETRA_CONTEXT_H

#include <sys/stat.h>

#include "base/base.h"
#include "oci/oci.h"

/* ---- .dockerignore ----------------------------------------------------- */

struct context_ignore;

/* Parse the text of a .dockerignore file (Docker's ReadAll: BOM, comments,
 * whitespace, "!" exceptions, filepath.Clean, a leading "/" dropped). A
 * malformed pattern is an error naming its line. */
int context_ignore_parse(const char *text, size_t len, const char *what,
			 struct context_ignore **out, struct petra_error **err);
/* Read dirfd/name; a missing file gives a matcher that excludes nothing. */
int context_ignore_load(int dirfd, const char *name, struct context_ignore **out,
			struct petra_error **err);
void context_ignore_free(struct context_ignore *ig);
static inline void context_ignore_freep(struct context_ignore **ig)
{
	context_ignore_free(*ig);
}
#define _cleanup_ignore_ _cleanup_(context_ignore_freep)

/* Whether `path` is excluded (Docker's MatchesOrParentMatches). ig may be
 * NULL: nothing is excluded. The root ("") is never excluded. */
bool context_ignore_match(const struct context_ignore *ig, const char *path);
/* For an excluded directory: whether an exception pattern names something
 * below it, so the walk must still enter it. */
bool context_ignore_may_include_below(const struct context_ignore *ig, const char *dir);
size_t context_ignore_count(const struct context_ignore *ig);

/* ---- walking ----------------------------------------------------------- */

struct context_entry {
	const char *path;      /* relative to the walk's start ("" for the start) */
	const char *name;      /* the last component ("" for the start) */
	const struct stat *st; /* lstat of the entry (stat of the start) */
	int dir_fd;            /* its parent directory, open; -1 for the start */
	int fd;                /* the start only: an O_PATH descriptor of it; else -1 */
	const char *link;      /* a symlink's target, else NULL */
};

/* Open an entry (O_NOFOLLOW; the start through its descriptor). */
int context_entry_open(const struct context_entry *e, int flags);

/* Called for each entry; a negative return stops the walk with that error. */
typedef int (*context_walk_fn)(void *ctx, const struct context_entry *e, struct petra_error **err);

/* Walk `path` below root_fd. The start is resolved inside the root,
 * following symlinks (as COPY follows its source), and reported first with
 * path "". Below it nothing is followed. `ignore_base` is the start's
 * path relative to the context root for matching against ig (which may be
 * NULL); it is usually `path` itself. */
int context_walk(int root_fd, const char *path, const struct context_ignore *ig,
		 const char *ignore_base, context_walk_fn fn, void *ctx, struct petra_error **err);

/* Clean a source path as BuildKit does: relative to the root, "." and
 * ".." resolved lexically and never above the root. Caller frees. */
char *context_clean_path(const char *path);

/* Whether a source path has wildcard characters. */
bool context_has_wildcards(const char *path);

/* Expand a (cleaned) path with wildcards against the tree below root_fd:
 * the matching paths, sorted, excluded ones left out. None is not an
 * error here: the caller decides. */
int context_glob(int root_fd, const char *pattern, const struct context_ignore *ig,
		 struct strvec *matches, struct petra_error **err);

/* ---- hashing ----------------------------------------------------------- */

/* Feed the walk of `path` into h (see above for what counts). Returns
 * -ENOENT with an error naming the path when it does not exist. *files
 * *entries (may be NULL) is increased by the number of entries seen. */
int context_hash(struct oci_hasher *h, int root_fd, const char *path,
		 const struct context_ignore *ig, uint64_t *entries, struct petra_error **err);

#endif
