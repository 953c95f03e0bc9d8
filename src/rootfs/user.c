/* SPDX-License-Identifier: Apache-2.0 */
/* Users and groups of the filesystem a stack of layers makes. */
#include "internal.h"

#include <string.h>

bool rootfs_parse_id(const char *s, uint32_t *id)
{
	size_t digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 10 || s[digits])
		return false;
	unsigned long long v = strtoull(s, NULL, 10);
	if (v >= UINT32_MAX)
		return false;
	*id = (uint32_t)v;
	return true;
}

/* Find the line of an /etc/passwd or /etc/group file whose first field is
 * `name` (or, when name is NULL, whose third field is the number id);
 * fields split. */
static bool find_entry(const char *file, const char *name, uint32_t id, struct strvec *fields)
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
		uint32_t have;
		if (fields->n >= 3 &&
		    ((name && !strcmp(fields->v[0], name)) ||
		     (!name && rootfs_parse_id(fields->v[2], &have) && have == id)))
			return true;
		line = end ? end + 1 : NULL;
	}
	strvec_clear(fields);
	return false;
}

/* Field `index` of an entry of the image's /etc/passwd or /etc/group as
 * an id. The image is untrusted: "-1", "4294967295" or an overflowing
 * number would otherwise become (uid_t)-1, which setresuid() takes as
 * "unchanged", leaving the process root. */
static int entry_id(const struct strvec *f, size_t index, const char *file, uint32_t *id,
		    struct petra_error **err)
{
	if (rootfs_parse_id(f->v[index], id))
		return 0;
	_cleanup_free_ char *name = str_quote(f->v[0]);
	_cleanup_free_ char *value = str_quote(f->v[index]);
	return petra_error_set(err, EINVAL, "%s in the image's %s: %s is not a valid %s", name,
			       file, value,
			       index == 2 && !strcmp(file, "/etc/passwd") ? "uid" : "gid");
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
	uint32_t id = 0;
	bool numeric = rootfs_parse_id(u, &id);
	bool found = passwd && find_entry(passwd, numeric ? NULL : u, id, &f);
	if (!numeric && !found) {
		_cleanup_free_ char *q = str_quote(u);
		return petra_error_set(err, EINVAL, "user %s is not in the image's /etc/passwd", q);
	}
	if (!numeric && entry_id(&f, 2, "/etc/passwd", &id, err) < 0)
		return -EINVAL;
	*uid = id;
	if (found && f.n >= 4) {
		if (entry_id(&f, 3, "/etc/passwd", &id, err) < 0)
			return -EINVAL;
		*gid = id;
	}
	if (found && f.n >= 6 && f.v[5][0] == '/') {
		free(*home);
		*home = xstrdup(f.v[5]);
	}
	if (group && *group) {
		if (rootfs_parse_id(group, &id)) {
			*gid = id;
		} else if (groups && find_entry(groups, group, 0, &f)) {
			if (entry_id(&f, 2, "/etc/group", &id, err) < 0)
				return -EINVAL;
			*gid = id;
		} else {
			_cleanup_free_ char *q = str_quote(group);
			return petra_error_set(err, EINVAL,
					       "group %s is not in the image's /etc/group", q);
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
