/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for petra's cmocka unit tests. */
#ifndef PETRA_TESTUTIL_H
#define PETRA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"

/* A new empty directory under /tmp; caller removes it with test_rmtree. */
static inline char *test_tmpdir(void)
{
	char *dir = xstrdup("/tmp/petra-unit.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static inline void test_rmtree(char *dir)
{
	struct petra_error *err = NULL;
	if (fs_remove_tree_at(AT_FDCWD, dir, &err) < 0) {
		fprintf(stderr, "cleanup %s: %s\n", dir, err->message);
		petra_error_free(err);
	}
	free(dir);
}

/* Write dir/rel with content (creating parents), then chmod it. */
static inline void test_write_file(const char *dir, const char *rel, const char *content,
				   mode_t mode)
{
	char *path = path_join(dir, rel);
	char *parent = xstrdup(path);
	*strrchr(parent, '/') = '\0';
	struct petra_error *err = NULL;
	assert_int_equal(fs_mkdir_p(parent, 0755, &err), 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, content, strlen(content)), 0);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	free(parent);
	free(path);
}

/* Assert that a call failed and its message contains `needle`. */
#define assert_error_contains(err, needle)                                                         \
	do {                                                                                       \
		assert_non_null(err);                                                              \
		if (!strstr((err)->message, (needle)))                                             \
			fail_msg("error \"%s\" does not contain \"%s\"", (err)->message,           \
				 (needle));                                                        \
	} while (0)

#endif
