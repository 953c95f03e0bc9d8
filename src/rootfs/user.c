/* SPDX-License-Identifier: Apache-2.0 */
/* Users and groups of the filesystem a stack of layers makes. */
#include "internal.h"

#include <string.h>

/* Find the line of an /etc/passwd or /etc/group file whose first field is
 * `name` (or, with by_id, whose third field is the number); fields split. */
static bool find_entry(const char *file, const char *name, long id, struct strvec *fields)
{
	const char *line = file;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		_cleanup_free_ char *copy = xstrndup(line, len);
		strvec_clear(fields);
		char *save = copy;
		for (char *f; (f = strsep(&save, ":"));)
			strvec_push(fields, f);
		if (fields->n >= 3 && ((name && !strcmp(fields->v[0], name)) ||
				       (!name && strtol(fields->v[2], NULL, 10) == id)))
			return true;
		line = end ? end + 1 : NULL;
	}
	strvec_clear(fields);
	return false;
}

static bool parse_id(const char *s, unsigned long *out)
{
	char *end;
	if (!*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !*end && errno == 0 && *out < UINT32_MAX;
}

int rootfs_user_lookup(const char *passwd, const char *groups, const char *user, uid_t *uid,
		       gid_t *gid, char **home, struct petra_error **err)
{
	*uid = 0;
	*gid = 0;
	*home = xstrdup("/");
	if (!user || !*user)
		return 0;
	_cleanup_free_ char *u = xstrdup(user);
	char *group = strchr(u, ':');
	if (group)
		*group++ = '\0';
	_cleanup_strvec_ struct strvec f = STRVEC_INIT;
	unsigned long id;
	bool numeric = parse_id(u, &id);
	bool found = passwd && find_entry(passwd, numeric ? NULL : u, numeric ? (long)id : 0, &f);
	if (!numeric && !found)
		return petra_error_set(err, EINVAL, "user \"%s\" is not in the image's /etc/passwd",
				       u);
	*uid = numeric ? (uid_t)id : (uid_t)strtoul(f.v[2], NULL, 10);
	if (found && f.n >= 4)
		*gid = (gid_t)strtoul(f.v[3], NULL, 10);
	if (found && f.n >= 6 && f.v[5][0] == '/') {
		free(*home);
		*home = xstrdup(f.v[5]);
	}
	if (group && *group) {
		if (parse_id(group, &id)) {
			*gid = (gid_t)id;
		} else if (groups && find_entry(groups, group, 0, &f)) {
			*gid = (gid_t)strtoul(f.v[2], NULL, 10);
		} else {
			return petra_error_set(
			    err, EINVAL, "group \"%s\" is not in the image's /etc/group", group);
		}
	}
	return 0;
}

int rootfs_resolve_user(const char *const *lowers, size_t n_lowers, const char *user, uid_t *uid,
			gid_t *gid, char **home, struct petra_error **err)
{
	_cleanup_free_ char *passwd = NULL, *groups = NULL;
	if (user && *user) {
		_cleanup_error_ struct petra_error *ignored = NULL;
		rootfs_read_file(lowers, n_lowers, "/etc/passwd", 1u << 20, &passwd, NULL,
				 &ignored);
		rootfs_read_file(lowers, n_lowers, "/etc/group", 1u << 20, &groups, NULL, &ignored);
	}
	return rootfs_user_lookup(passwd, groups, user, uid, gid, home, err);
}
