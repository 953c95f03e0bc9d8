/* SPDX-License-Identifier: Apache-2.0 */
/* petra ban / unban: add or remove an entry of the policy file's
 * bases.ban list by editing lines in place, so every other byte (comments,
 * order, quoting, blank lines) stays as it was. The result is parsed again
 * before it replaces the file, atomically. */
#include "trust.h"
#include "internal.h"
#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

/* Byte offset of the start of line `line` (1-based); len when past the end. */
static size_t line_start(const char *text, size_t len, unsigned line)
{
	size_t off = 0;
	for (unsigned l = 1; l < line && off < len; off++)
		if (text[off] == '\n')
			l++;
	return off;
}

static size_t line_end(const char *text, size_t len, size_t off)
{
	const char *nl = memchr(text + off, '\n', len - off);
	return nl ? (size_t)(nl - text) + 1 : len;
}

/* Leading spaces of the line at off; *first the first other character
 * ('\n' or '\0' for a blank line). */
static size_t indent_at(const char *text, size_t len, size_t off, char *first)
{
	size_t n = 0;
	while (off + n < len && text[off + n] == ' ')
		n++;
	*first = off + n < len ? text[off + n] : '\0';
	if (*first == '\r')
		*first = '\n';
	return n;
}

/* A YAML double-quoted scalar: JSON's string syntax is one. */
static char *quoted(const char *s)
{
	json_t *j = json_string(s);
	char *out = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	return out;
}

static int validate_target(const char *target, const char **key, struct petra_error **err)
{
	if (!strncmp(target, "sha256:", 7)) {
		if (!oci_digest_valid(target))
			return petra_error_set(err, EINVAL, "\"%s\" is not a sha256 digest",
					       target);
		*key = "digest";
		return 0;
	}
	_cleanup_free_ char *normalised = NULL;
	if (policy_pattern_normalize(target, &normalised, err) < 0)
		return -1;
	*key = "image";
	return 0;
}

static int parse(const char *text, size_t len, const char *path, struct petra_policy **policy,
		 struct petra_error **err)
{
	return petra_policy_parse(len ? text : "{}", len ? len : 2, path, policy, err);
}

/* Is ban entry `b` the one `target` names (as written, or normalised)? */
static bool ban_is(const struct policy_ban *b, const char *target)
{
	if (!strcmp(b->text, target) || (b->digest && !strcmp(b->digest, target)))
		return true;
	_cleanup_free_ char *normalised = NULL;
	return b->pattern && policy_pattern_normalize(target, &normalised, NULL) == 0 &&
	       !strcmp(normalised, b->pattern);
}

static int write_back(const char *path, const char *text, size_t len, bool existed,
		      struct petra_error **err)
{
	struct stat st;
	mode_t mode = existed && stat(path, &st) == 0 ? st.st_mode & 07777 : 0644;
	return fs_write_file_atomic_at(AT_FDCWD, path, text, len, mode, err);
}

static int read_policy_text(const char *path, bool create, char **text, size_t *len, bool *existed,
			    struct petra_error **err)
{
	struct petra_error *read_err = NULL;
	*existed = true;
	if (fs_read_file_at(AT_FDCWD, path, 1 << 20, text, len, &read_err) == 0)
		return 0;
	if (read_err->code != ENOENT || !create) {
		*err = read_err;
		return -1;
	}
	petra_error_free(read_err);
	*existed = false;
	*text = xstrdup("");
	*len = 0;
	return 0;
}

int trust_policy_ban(const char *path, const char *target, const char *reason, bool create,
		     struct petra_error **err)
{
	const char *key = NULL;
	if (validate_target(target, &key, err) < 0)
		return -1;
	_cleanup_free_ char *text = NULL;
	size_t len;
	bool existed;
	if (read_policy_text(path, create, &text, &len, &existed, err) < 0)
		return -1;
	_cleanup_(petra_policy_freep) struct petra_policy *policy = NULL;
	if (parse(text, len, path, &policy, err) < 0)
		return -1;
	const struct policy_bases *bases_now = petra_policy_bases(policy);
	for (size_t i = 0; i < bases_now->n_ban; i++)
		if (ban_is(&bases_now->ban[i], target))
			return petra_error_set(err, EEXIST, "%s: %s is already banned (line %u)",
					       path, target, bases_now->ban[i].line);
	size_t n_before = bases_now->n_ban;

	const struct petra_yaml *y = petra_policy_yaml(policy);
	const json_t *root = y ? petra_yaml_root(y) : NULL;
	const json_t *bases = root ? json_object_get(root, "bases") : NULL;
	const json_t *ban = json_is_object(bases) ? json_object_get(bases, "ban") : NULL;
	_cleanup_free_ char *qtarget = quoted(target);
	_cleanup_free_ char *qreason = quoted(reason);
	struct strbuf insert = STRBUF_INIT;
	size_t at;
	unsigned line = 0, col = 0;
	char first;
	if (json_is_array(ban) && json_array_size(ban)) {
		/* Before the first item, in its style. */
		petra_yaml_position(y, ban, NULL, 0, &line, &col);
		at = line_start(text, len, line);
		size_t dash = indent_at(text, len, at, &first);
		if (!line || first != '-') {
			strbuf_release(&insert);
			return petra_error_set(err, ENOTSUP,
					       "%s:%u: bases.ban is not a block list: add the ban "
					       "by hand",
					       path, line);
		}
		strbuf_addf(&insert, "%*s- %s: %s\n%*sreason: %s\n", (int)dash, "", key, qtarget,
			    (int)dash + 2, "", qreason);
	} else if (json_is_object(bases) && (!ban || json_is_null(ban))) {
		if (ban) {
			/* "ban:" with nothing after it: the items go below it. */
			petra_yaml_position(y, bases, "ban", 0, &line, &col);
			at = line_end(text, len, line_start(text, len, line));
			strbuf_addf(&insert, "%*s- %s: %s\n%*sreason: %s\n", (int)col + 1, "", key,
				    qtarget, (int)col + 3, "", qreason);
		} else {
			/* A new `ban:` key before the first key of bases. */
			const char *k;
			const json_t *v;
			json_object_foreach((json_t *)bases, k, v)
			{
				unsigned l, c;
				petra_yaml_position(y, bases, k, 0, &l, &c);
				if (l && (!line || l < line)) {
					line = l;
					col = c;
				}
			}
			at = line_start(text, len, line);
			if (!line || indent_at(text, len, at, &first) + 1 != col) {
				strbuf_release(&insert);
				return petra_error_set(err, ENOTSUP,
						       "%s: bases is not a block mapping: add the "
						       "ban by hand",
						       path);
			}
			strbuf_addf(&insert, "%*sban:\n%*s- %s: %s\n%*sreason: %s\n", (int)col - 1,
				    "", (int)col + 1, "", key, qtarget, (int)col + 3, "", qreason);
		}
	} else if (!bases || json_is_null(bases)) {
		/* A new section at the end of the file. */
		at = len;
		if (len && text[len - 1] != '\n')
			strbuf_addch(&insert, '\n');
		if (bases) {
			strbuf_release(&insert);
			return petra_error_set(err, ENOTSUP,
					       "%s: bases is empty: add the ban by hand", path);
		}
		strbuf_addf(&insert, "bases:\n  ban:\n    - %s: %s\n      reason: %s\n", key,
			    qtarget, qreason);
	} else {
		strbuf_release(&insert);
		return petra_error_set(err, ENOTSUP,
				       "%s: bases.ban is not a list in block style: add the ban "
				       "by hand",
				       path);
	}
	struct strbuf out = STRBUF_INIT;
	strbuf_add(&out, text, at);
	strbuf_add(&out, insert.buf, insert.len);
	strbuf_add(&out, text + at, len - at);
	strbuf_release(&insert);

	/* The edit must give a policy with exactly one more ban, this one. */
	_cleanup_(petra_policy_freep) struct petra_policy *after = NULL;
	int rc = parse(out.buf, out.len, path, &after, err);
	if (rc == 0) {
		const struct policy_bases *b = petra_policy_bases(after);
		bool found = false;
		for (size_t i = 0; i < b->n_ban; i++)
			found |= ban_is(&b->ban[i], target);
		if (b->n_ban != n_before + 1 || !found)
			rc = petra_error_set(err, EIO,
					     "%s: the edited file did not parse as intended", path);
	}
	if (rc == 0)
		rc = write_back(path, out.buf, out.len, existed, err);
	strbuf_release(&out);
	return rc;
}

int trust_policy_unban(const char *path, const char *target, struct petra_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	bool existed;
	if (read_policy_text(path, false, &text, &len, &existed, err) < 0)
		return -1;
	_cleanup_(petra_policy_freep) struct petra_policy *policy = NULL;
	if (parse(text, len, path, &policy, err) < 0)
		return -1;
	const struct policy_bases *bases_now = petra_policy_bases(policy);
	size_t index = bases_now->n_ban;
	for (size_t i = 0; i < bases_now->n_ban && index == bases_now->n_ban; i++)
		if (ban_is(&bases_now->ban[i], target))
			index = i;
	if (index == bases_now->n_ban)
		return petra_error_set(err, ENOENT, "%s: %s is not banned", path, target);
	const struct petra_yaml *y = petra_policy_yaml(policy);
	const json_t *ban = json_object_get(json_object_get(petra_yaml_root(y), "bases"), "ban");
	unsigned line, col;
	petra_yaml_position(y, ban, NULL, index, &line, &col);
	size_t start = line_start(text, len, line);
	char first;
	size_t dash = indent_at(text, len, start, &first);
	if (!line || first != '-')
		return petra_error_set(
		    err, ENOTSUP, "%s:%u: bases.ban is not a block list: remove the ban by hand",
		    path, line);
	/* The item is its dash line and every line indented deeper after
	 * it; blank lines and comments after its last line stay. */
	size_t end = line_end(text, len, start);
	for (size_t off = end; off < len;) {
		size_t next = line_end(text, len, off);
		size_t ind = indent_at(text, len, off, &first);
		if (first == '\n' || first == '\0' || (first == '#' && ind <= dash)) {
			off = next;
			continue;
		}
		if (ind <= dash)
			break;
		end = next;
		off = next;
	}
	struct strbuf out = STRBUF_INIT;
	strbuf_add(&out, text, start);
	strbuf_add(&out, text + end, len - end);
	_cleanup_(petra_policy_freep) struct petra_policy *after = NULL;
	int rc = parse(out.buf, out.len, path, &after, err);
	if (rc == 0) {
		const struct policy_bases *b = petra_policy_bases(after);
		if (b->n_ban + 1 != bases_now->n_ban)
			rc = petra_error_set(err, EIO,
					     "%s: the edited file did not parse as intended", path);
	}
	if (rc == 0)
		rc = write_back(path, out.buf, out.len, existed, err);
	strbuf_release(&out);
	return rc;
}
