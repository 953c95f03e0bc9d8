/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rootless: the calling process moves into a user namespace of its own in
 * which it is root, as buildah and podman do for a user without privileges.
 *
 * The map gives the caller's own uid (gid) the id 0 and, above it, the
 * subordinate ranges /etc/subuid (/etc/subgid) lists for the user, written
 * by the setuid newuidmap (newgidmap) of shadow's uidmap package, which
 * checks again that the user owns every range it is given. Nothing else is
 * ever mapped. Without a range (or the helpers), the process writes its own
 * single-id map, which the kernel allows for the caller's own ids only;
 * then 0 is the only id inside.
 */
#include "internal.h"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/wait.h>

/* The kernel takes 340 lines per map; far more than anyone lists. */
#define MAX_RANGES 32

/* One file's ranges for the user: lines "NAME:START:COUNT" or
 * "UID:START:COUNT", in the file's order. /etc/subgid is keyed by the
 * user's name or uid too (as newgidmap reads it), never by a gid: the
 * line of the user whose uid is our gid is not ours. */
int sandbox_subid_ranges(const char *text, const char *user, uid_t uid, unsigned long id,
			 struct sandbox_id_range *ranges, size_t max, size_t *n)
{
	*n = 0;
	char id_text[32];
	snprintf(id_text, sizeof(id_text), "%lu", (unsigned long)uid);
	uint32_t next_inside = 1; /* 0 is the caller's own id */
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		_cleanup_free_ char *copy = xstrndup(line, len);
		line = end ? end + 1 : NULL;
		char *save = NULL;
		char *owner = strtok_r(copy, ":", &save);
		char *start = owner ? strtok_r(NULL, ":", &save) : NULL;
		char *count = start ? strtok_r(NULL, ":\r", &save) : NULL;
		if (!count || strtok_r(NULL, ":", &save) ||
		    (strcmp(owner, user ? user : "") && strcmp(owner, id_text)))
			continue;
		char *e1, *e2;
		errno = 0;
		unsigned long long s = strtoull(start, &e1, 10), c = strtoull(count, &e2, 10);
		if (errno || *e1 || *e2 || !*start || !*count || *start == '-' || *count == '-' ||
		    c == 0 || s + c > UINT32_MAX || s + c < s)
			continue;
		/* A range holding the caller's own id would map it twice; one
		 * holding the host's root (a mistake in the file) would give
		 * the build root's files: neither is the user's to map. */
		if ((id >= s && id < s + c) || s == 0)
			continue;
		if (*n == max || (uint64_t)next_inside + c >= UINT32_MAX)
			break;
		ranges[(*n)++] = (struct sandbox_id_range){next_inside, (uint32_t)s, (uint32_t)c};
		next_inside += (uint32_t)c;
	}
	return 0;
}

static void read_ranges(const char *path, const char *user, uid_t uid, unsigned long id,
			struct sandbox_id_range *ranges, size_t *n)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ struct petra_error *ignored = NULL;
	*n = 0;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL, &ignored) == 0)
		sandbox_subid_ranges(text, user, uid, id, ranges, MAX_RANGES, n);
}

/* In the forked helper, still in the caller's user namespace: run
 * newuidmap or newgidmap for pid; its own messages go to stderr. */
static int run_map_helper(const char *helper, pid_t pid, unsigned long own_id,
			  const struct sandbox_id_range *ranges, size_t n)
{
	struct strvec words = STRVEC_INIT;
	strvec_push(&words, helper);
	strvec_pushf(&words, "%d", (int)pid);
	/* Each number is an argument of its own. */
	strvec_push(&words, "0");
	strvec_pushf(&words, "%lu", own_id);
	strvec_push(&words, "1");
	for (size_t i = 0; i < n; i++) {
		strvec_pushf(&words, "%u", ranges[i].inside);
		strvec_pushf(&words, "%u", ranges[i].outside);
		strvec_pushf(&words, "%u", ranges[i].count);
	}
	pid_t child = fork();
	if (child == 0) {
		execvp(helper, words.v);
		fprintf(stderr, "petra: run %s: %s\n", helper, strerror(errno));
		_exit(127);
	}
	int status = 0;
	while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	strvec_clear(&words);
	return child > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 126;
}

static int write_own_map(const char *file, unsigned long own_id, struct petra_error **err)
{
	_cleanup_free_ char *line = xasprintf("0 %lu 1\n", own_id);
	_cleanup_free_ char *path = xasprintf("/proc/self/%s", file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || fs_write_all(fd, line, strlen(line)) < 0)
		return petra_error_set_errno(err, errno, "write %s", path);
	return 0;
}

int sandbox_enter_rootless(struct sandbox_rootless *info, struct petra_error **err)
{
	memset(info, 0, sizeof(*info));
	if (geteuid() == 0)
		return 0; /* root already, or inside such a namespace */
	info->active = true;
	info->uid = geteuid();
	info->gid = getegid();
	struct passwd pw, *found = NULL;
	char buf[4096];
	getpwuid_r(info->uid, &pw, buf, sizeof(buf), &found);
	struct sandbox_id_range uids[MAX_RANGES], gids[MAX_RANGES];
	size_t n_uids, n_gids;
	const char *name = found ? found->pw_name : NULL;
	read_ranges("/etc/subuid", name, info->uid, info->uid, uids, &n_uids);
	read_ranges("/etc/subgid", name, info->uid, info->gid, gids, &n_gids);
	/* With no_new_privs (a container that forbids privilege escalation)
	 * the setuid helpers run without their privilege and can only fail:
	 * only the caller's own ids can be mapped. */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 && (n_uids || n_gids)) {
		log_warn("no_new_privs is set, so newuidmap and newgidmap cannot work: this "
			 "rootless build has only your own uid and gid, as 0");
		n_uids = n_gids = 0;
	}
	info->n_uids = 1;
	for (size_t i = 0; i < n_uids; i++)
		info->n_uids += uids[i].count;
	info->n_gids = 1;
	for (size_t i = 0; i < n_gids; i++)
		info->n_gids += gids[i].count;

	/* The helpers write the maps of a process from outside its new
	 * namespace: a child forked before unshare waits for the word. */
	pid_t self = getpid();
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return petra_error_set_errno(err, errno, "pipe");
	pid_t helper = fork();
	if (helper < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		return petra_error_set_errno(err, e, "fork the id map helper");
	}
	if (helper == 0) {
		char word;
		close(go[1]);
		if (read(go[0], &word, 1) != 1)
			_exit(0); /* unshare failed: nothing to map */
		if (n_uids && run_map_helper("newuidmap", self, info->uid, uids, n_uids) != 0)
			_exit(1);
		if (n_gids && run_map_helper("newgidmap", self, info->gid, gids, n_gids) != 0)
			_exit(2);
		_exit(0);
	}
	close(go[0]);
	int r = 0;
	if (unshare(CLONE_NEWUSER) < 0) {
		int e = errno;
		const char *why = "";
		if (e == EINVAL)
			why = " (the process already runs threads)";
		else if (e == EPERM || e == ENOSPC || e == EUSERS)
			why =
			    " (user namespaces disabled here? see sysctl user.max_user_namespaces "
			    "and kernel.unprivileged_userns_clone, or a seccomp profile that "
			    "forbids them)";
		r = petra_error_set_errno(err, e, "create a user namespace for a rootless build%s",
					  why);
	} else if (write(go[1], "g", 1) != 1) {
		r = petra_error_set_errno(err, errno, "start the id map helper");
	}
	close(go[1]);
	int status = 0;
	while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	/* A helper that failed wrote nothing (each writes its whole map at
	 * once): that map falls back to the caller's own id. */
	int failed = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	if (failed == 1 && n_uids) {
		log_warn("newuidmap could not map the subordinate ids of %s (its message is "
			 "above): this rootless build has only your own uid, as 0",
			 found ? found->pw_name : "this user");
		n_uids = 0;
		info->n_uids = 1;
	}
	if ((failed == 1 || failed == 2) && n_gids) {
		if (failed == 2)
			log_warn("newgidmap could not map the subordinate gids of %s (its "
				 "message is above): this rootless build has only your own "
				 "gid, as 0",
				 found ? found->pw_name : "this user");
		n_gids = 0;
		info->n_gids = 1;
	}
	/* No range: the single map the kernel lets a process write for its
	 * own id (for gids only once setgroups is denied). */
	if (!n_uids && (r = write_own_map("uid_map", info->uid, err)) < 0)
		return r;
	if (!n_gids) {
		_cleanup_close_ int fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || fs_write_all(fd, "deny", 4) < 0)
			return petra_error_set_errno(err, errno, "write /proc/self/setgroups");
		if ((r = write_own_map("gid_map", info->gid, err)) < 0)
			return r;
	}
	if (geteuid() != 0 || getegid() != 0)
		return petra_error_set(err, EPERM, "the user namespace does not map the caller");
	return 0;
}
