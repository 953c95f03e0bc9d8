/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Provenance from a git checkout, read from .git without running git:
 * HEAD resolved through loose refs and packed-refs (worktrees and
 * "gitdir:" files included), the origin's URL from the config, and
 * whether the tree is dirty.
 *
 * Dirty means what `git describe --dirty` means, from the index: a
 * tracked file that differs from the index (stat data first, as git does,
 * then the content's blob hash), a conflict, or staged changes (the
 * index's cached tree invalid, or not HEAD's tree). Untracked files do
 * not count.
 */
#include "internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define GIT_FILE_MAX  (1u << 20)
#define GIT_INDEX_MAX (512u << 20)

#define BE32(p) ((uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 | (p)[3])

void builder_git_info_release(struct builder_git_info *info)
{
	free(info->source);
	free(info->revision);
	memset(info, 0, sizeof(*info));
}

static char *read_small(const char *dir, const char *name)
{
	_cleanup_free_ char *path = path_join(dir, name);
	char *data = NULL;
	if (fs_read_file_at(AT_FDCWD, path, GIT_FILE_MAX, &data, NULL, NULL) < 0)
		return NULL;
	/* One line: trailing whitespace off. */
	size_t len = strlen(data);
	while (len && isspace((unsigned char)data[len - 1]))
		data[--len] = '\0';
	return data;
}

static bool is_hex_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return (n == 40 || n == 64) && (!s[n] || isspace((unsigned char)s[n]));
}

/* A ref's commit: loose in gitdir or the common dir, else packed. */
static char *resolve_ref(const char *gitdir, const char *common, const char *ref, int depth)
{
	if (depth > 5)
		return NULL;
	const char *dirs[] = {gitdir, common};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *v = read_small(dirs[i], ref);
		if (!v)
			continue;
		if (!strncmp(v, "ref: ", 5))
			return resolve_ref(gitdir, common, v + 5, depth + 1);
		if (is_hex_id(v))
			return xstrndup(v, strspn(v, "0123456789abcdef"));
	}
	_cleanup_free_ char *packed = path_join(common, "packed-refs");
	_cleanup_free_ char *data = NULL;
	if (fs_read_file_at(AT_FDCWD, packed, 64u << 20, &data, NULL, NULL) < 0)
		return NULL;
	for (char *line = data, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!is_hex_id(line))
			continue;
		size_t n = strspn(line, "0123456789abcdef");
		if (line[n] == ' ' && !strcmp(line + n + 1, ref))
			return xstrndup(line, n);
	}
	return NULL;
}

/* The source an image records must be the same wherever the same commit
 * is built, and must name nothing of the machine or of the person who
 * built it: only a remote, in one spelling.
 *
 *  - "https://user:token@Host/path": credentials removed, scheme and host
 *    lowercased ("https://host/path"); http keeps its scheme.
 *  - "ssh://[user@]host[:port]/path", "git+ssh://...", "git://host/path"
 *    and git's scp-like "[user@]host:path": "https://host/path" (the ssh
 *    user and port say how to reach the host, not what the source is).
 *  - the path kept as written (".git" included), trailing slashes off.
 *  - a local path, "file://" or anything else unrecognised: no source.
 */
char *builder_git_normalize_url(const char *url)
{
	const char *scheme_end = strstr(url, "://");
	const char *slash = strchr(url, '/');
	const char *colon = strchr(url, ':');
	_cleanup_free_ char *scheme = NULL;
	const char *authority, *path;
	bool rewritten = false; /* reached some other way than http(s) */
	if (scheme_end && (!slash || scheme_end < slash)) {
		scheme = xstrndup(url, (size_t)(scheme_end - url));
		for (char *c = scheme; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!strcmp(scheme, "ssh") || !strcmp(scheme, "git+ssh") ||
		    !strcmp(scheme, "ssh+git") || !strcmp(scheme, "git")) {
			free(scheme);
			scheme = xstrdup("https");
			rewritten = true;
		} else if (strcmp(scheme, "https") && strcmp(scheme, "http")) {
			return NULL; /* file:// and the like: not a remote */
		}
		authority = scheme_end + 3;
		path = authority + strcspn(authority, "/");
	} else if (colon && (!slash || colon < slash) && colon > url) {
		/* scp-like: no "/" before the ":" (else git reads a path). */
		scheme = xstrdup("https");
		rewritten = true;
		authority = url;
		path = colon; /* ":path" */
	} else {
		return NULL;
	}
	/* The host: after any credentials, before any port. */
	const char *host_end = path;
	const char *at = memrchr(authority, '@', (size_t)(host_end - authority));
	const char *host = at ? at + 1 : authority;
	const char *port = memchr(host, ':', (size_t)(host_end - host));
	if (port && rewritten)
		host_end = port; /* an ssh or git port: not https's */
	if (host_end == host)
		return NULL;
	const char *p = *path == ':' ? path + 1 : path;
	while (*p == '/')
		p++;
	size_t plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	if (!plen)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s://", scheme);
	for (const char *c = host; c < host_end; c++)
		strbuf_addch(&sb, (char)tolower((unsigned char)*c));
	strbuf_addch(&sb, '/');
	strbuf_add(&sb, p, plen);
	return strbuf_detach(&sb);
}

/* The origin's URL from the config, normalised (above); NULL when there
 * is no origin or it is not a remote. */
static char *origin_url(const char *common)
{
	_cleanup_free_ char *path = path_join(common, "config");
	_cleanup_free_ char *data = NULL;
	if (fs_read_file_at(AT_FDCWD, path, GIT_FILE_MAX, &data, NULL, NULL) < 0)
		return NULL;
	bool in_origin = false;
	for (char *line = data, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '[') {
			in_origin = !strncmp(line, "[remote \"origin\"]", 17);
			continue;
		}
		if (!in_origin || strncmp(line, "url", 3))
			continue;
		char *eq = strchr(line, '=');
		if (!eq || strspn(line + 3, " \t") != (size_t)(eq - line - 3))
			continue;
		char *url = eq + 1;
		while (isspace((unsigned char)*url))
			url++;
		size_t len = strlen(url);
		while (len && isspace((unsigned char)url[len - 1]))
			url[--len] = '\0';
		return builder_git_normalize_url(url);
	}
	return NULL;
}

/* ---- objects, for HEAD's tree ---- */

static bool inflate_all(const unsigned char *in, size_t in_len, char *out, size_t out_len,
			size_t *got)
{
	z_stream zs = {0};
	if (inflateInit(&zs) != Z_OK)
		return false;
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)in_len;
	zs.next_out = (unsigned char *)out;
	zs.avail_out = (uInt)out_len;
	int r = inflate(&zs, Z_NO_FLUSH);
	*got = out_len - zs.avail_out;
	inflateEnd(&zs);
	return r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR;
}

/* The tree id of a commit read from a loose object or, undeltified, from
 * a pack. NULL when it cannot be read this simply. */
static char *commit_tree(const char *common, const char *commit)
{
	char out[512];
	size_t got = 0;
	_cleanup_free_ char *loose = xasprintf("%s/objects/%.2s/%s", common, commit, commit + 2);
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, loose, 64u << 20, &data, &len, NULL) == 0) {
		if (!inflate_all((unsigned char *)data, len, out, sizeof(out) - 1, &got))
			return NULL;
		out[got] = '\0';
		const char *tree = memmem(out, got, "\0tree ", 6);
		return tree && is_hex_id(tree + 6) ? xstrndup(tree + 6, 40) : NULL;
	}
	/* Packs: find the object in a version 2 index. */
	unsigned char id[20];
	for (int i = 0; i < 20; i++)
		sscanf(commit + 2 * i, "%2hhx", &id[i]);
	_cleanup_free_ char *packdir = xasprintf("%s/objects/pack", common);
	_cleanup_closedir_ DIR *d = opendir(packdir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (nl < 5 || strcmp(de->d_name + nl - 4, ".idx"))
			continue;
		_cleanup_free_ char *idx_path = path_join(packdir, de->d_name);
		_cleanup_free_ char *idx = NULL;
		size_t idx_len;
		if (fs_read_file_at(AT_FDCWD, idx_path, 256u << 20, &idx, &idx_len, NULL) < 0 ||
		    idx_len < 8 + 1024 || memcmp(idx, "\377tOc\0\0\0\2", 8))
			continue;
		const unsigned char *fan = (unsigned char *)idx + 8;
		uint32_t n = BE32(fan + 255 * 4);
		uint32_t lo = id[0] ? BE32(fan + (id[0] - 1) * 4) : 0, hi = BE32(fan + id[0] * 4);
		const unsigned char *ids = fan + 1024;
		if (idx_len < 8 + 1024 + (size_t)n * 28)
			continue;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			int c = memcmp(ids + (size_t)mid * 20, id, 20);
			if (c == 0) {
				lo = mid;
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= n || memcmp(ids + (size_t)lo * 20, id, 20))
			continue;
		uint32_t off = BE32(ids + (size_t)n * 24 + (size_t)lo * 4);
		if (off & 0x80000000u)
			return NULL; /* large packs: not read here */
		_cleanup_free_ char *pack_path =
		    xasprintf("%.*s.pack", (int)(strlen(idx_path) - 4), idx_path);
		_cleanup_close_ int fd = open(pack_path, O_RDONLY | O_CLOEXEC);
		unsigned char buf[4096];
		ssize_t rn = fd < 0 ? -1 : pread(fd, buf, sizeof(buf), off);
		if (rn < 2)
			return NULL;
		int type = (buf[0] >> 4) & 7;
		size_t p = 1;
		while (p < (size_t)rn && (buf[p - 1] & 0x80))
			p++;
		if (type != 1) /* a delta: not read here */
			return NULL;
		if (!inflate_all(buf + p, (size_t)rn - p, out, sizeof(out) - 1, &got))
			return NULL;
		out[got] = '\0';
		return !strncmp(out, "tree ", 5) && is_hex_id(out + 5) ? xstrndup(out + 5, 40)
								       : NULL;
	}
	return NULL;
}

/* ---- the index ---- */

static void hex20(const unsigned char *in, char out[41])
{
	for (int i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* Whether the work tree's file differs from an index entry. */
static bool entry_differs(int top_fd, const char *name, uint32_t mode, const unsigned char *e,
			  const unsigned char *sha)
{
	if ((mode & 0170000) == 0160000) /* a submodule */
		return false;
	struct stat st;
	if (fstatat(top_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return true;
	bool link = (mode & 0170000) == 0120000;
	if (link != S_ISLNK(st.st_mode) || (!link && !S_ISREG(st.st_mode)))
		return true;
	if (!link && ((mode & 0111) != 0) != ((st.st_mode & 0111) != 0))
		return true;
	uint32_t size = BE32(e + 36);
	if ((uint32_t)st.st_size != size)
		return true;
	/* Unchanged stat data: unchanged, as git assumes. */
	if (BE32(e + 8) == (uint32_t)st.st_mtim.tv_sec &&
	    BE32(e + 12) == (uint32_t)st.st_mtim.tv_nsec)
		return false;
	/* git's blob id: SHA-1 of "blob <size>\0" and the content. */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
	char header[32];
	int hl = snprintf(header, sizeof(header), "blob %lld", (long long)st.st_size);
	EVP_DigestUpdate(ctx, header, (size_t)hl + 1);
	bool failed = false;
	if (link) {
		char target[4096];
		ssize_t n = readlinkat(top_fd, name, target, sizeof(target));
		if (n < 0)
			failed = true;
		else
			EVP_DigestUpdate(ctx, target, (size_t)n);
	} else {
		_cleanup_close_ int fd = openat(top_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char buf[65536];
		ssize_t n;
		if (fd < 0)
			failed = true;
		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
			EVP_DigestUpdate(ctx, buf, (size_t)n);
	}
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;
	EVP_DigestFinal_ex(ctx, got, &got_len);
	EVP_MD_CTX_free(ctx);
	return failed || got_len != 20 || memcmp(got, sha, 20) != 0;
}

/* 1 dirty, 0 clean, -1 the index could not be read. `tree` receives the
 * index's cached root tree id when it is valid. */
static int index_dirty(const char *gitdir, const char *top, char tree[41])
{
	tree[0] = '\0';
	_cleanup_free_ char *path = path_join(gitdir, "index");
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (fs_read_file_at(AT_FDCWD, path, GIT_INDEX_MAX, &data, &len, NULL) < 0 || len < 32)
		return -1;
	const unsigned char *p = (unsigned char *)data, *end = p + len - 20;
	if (memcmp(p, "DIRC", 4))
		return -1;
	uint32_t version = BE32(p + 4), n = BE32(p + 8);
	if (version < 2 || version > 4)
		return -1;
	_cleanup_close_ int top_fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top_fd < 0)
		return -1;
	p += 12;
	_cleanup_strbuf_ struct strbuf name = STRBUF_INIT;
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *entry = p;
		if (p + 62 > end)
			return -1;
		uint16_t flags = (uint16_t)(p[60] << 8 | p[61]), ext = 0;
		size_t fixed = 62;
		if (version >= 3 && (flags & 0x4000)) {
			ext = (uint16_t)(p[62] << 8 | p[63]);
			fixed = 64;
		}
		const unsigned char *np = p + fixed;
		if (version == 4) {
			/* Prefix compression: drop N bytes of the last name. */
			size_t strip = 0;
			unsigned char c;
			do {
				if (np >= end)
					return -1;
				c = *np++;
				strip = (strip << 7) | (c & 0x7f);
				if (c & 0x80)
					strip++;
			} while (c & 0x80);
			if (strip > name.len)
				return -1;
			strbuf_setlen(&name, name.len - strip);
			size_t sl = strnlen((const char *)np, (size_t)(end - np));
			strbuf_add(&name, np, sl);
			p = np + sl + 1;
		} else {
			size_t sl = strnlen((const char *)np, (size_t)(end - np));
			strbuf_reset(&name);
			strbuf_add(&name, np, sl);
			p = entry + ((fixed + sl + 8) & ~(size_t)7);
		}
		if (flags & 0x3000)
			return 1; /* a conflict */
		if ((flags & 0x8000) || (ext & 0x4000))
			continue; /* assume-unchanged, skip-worktree */
		if (entry_differs(top_fd, name.buf, BE32(entry + 24), entry, entry + 40))
			return 1;
	}
	/* Extensions: the cached tree's root is the index as a tree. */
	while (p + 8 <= end) {
		uint32_t size = BE32(p + 4);
		const unsigned char *d = p + 8;
		if (d + size > end)
			break;
		if (!memcmp(p, "TREE", 4) && size > 0 && d[0] == '\0') {
			const char *q = (const char *)d + 1;
			long entries = strtol(q, NULL, 10);
			const char *nl = memchr(q, '\n', size - 1);
			/* -1: invalidated by a change not yet written as a
			 * tree, i.e. something staged. */
			if (entries < 0)
				return 1;
			if (nl && (const unsigned char *)nl + 21 <= d + size)
				hex20((const unsigned char *)nl + 1, tree);
		}
		p = d + size;
	}
	return 0;
}

int builder_git_describe(const char *dir, struct builder_git_info *info, struct petra_error **err)
{
	(void)err;
	memset(info, 0, sizeof(*info));
	_cleanup_free_ char *top = xstrdup(dir);
	_cleanup_free_ char *gitdir = NULL;
	for (;;) {
		_cleanup_free_ char *dotgit = path_join(top, ".git");
		struct stat st;
		if (lstat(dotgit, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				gitdir = steal_pointer(&dotgit);
			} else {
				_cleanup_free_ char *f = read_small(top, ".git");
				if (f && !strncmp(f, "gitdir: ", 8))
					gitdir =
					    f[8] == '/' ? xstrdup(f + 8) : path_join(top, f + 8);
			}
			break;
		}
		char *slash = strrchr(top, '/');
		if (!slash || slash == top)
			return 0;
		*slash = '\0';
	}
	if (!gitdir)
		return 0;
	_cleanup_free_ char *commondir = read_small(gitdir, "commondir");
	_cleanup_free_ char *common = !commondir            ? xstrdup(gitdir)
				      : commondir[0] == '/' ? xstrdup(commondir)
							    : path_join(gitdir, commondir);
	_cleanup_free_ char *head = read_small(gitdir, "HEAD");
	if (!head)
		return 0;
	char *commit = !strncmp(head, "ref: ", 5) ? resolve_ref(gitdir, common, head + 5, 0)
		       : is_hex_id(head)          ? xstrndup(head, strspn(head, "0123456789abcdef"))
						  : NULL;
	info->source = origin_url(common);
	if (!commit)
		return 0;
	char tree[41];
	int dirty = index_dirty(gitdir, top, tree);
	if (dirty == 0 && tree[0]) {
		_cleanup_free_ char *head_tree = commit_tree(common, commit);
		if (head_tree && strcmp(head_tree, tree))
			dirty = 1;
	}
	info->revision = dirty == 1 ? xasprintf("%s-dirty", commit) : xstrdup(commit);
	free(commit);
	return 0;
}
