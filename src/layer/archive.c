/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tar archives that are not layers (ADD of a local archive): whether a
 * file is one, how it is compressed, and the compressions the layer reader
 * does not undo itself (bzip2, xz) undone through libarchive's filters.
 */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

bool layer_archive_detect(int fd)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	struct archive_entry *e;
	bool yes = archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK &&
		   archive_read_next_header(a, &e) == ARCHIVE_OK;
	archive_read_free(a);
	lseek(fd, 0, SEEK_SET);
	return yes;
}

int layer_compression_detect(int fd, enum layer_compression *out)
{
	unsigned char magic[6] = {0};
	ssize_t n = pread(fd, magic, sizeof(magic), 0);
	*out = LAYER_COMPRESSION_NONE;
	if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		*out = LAYER_COMPRESSION_GZIP;
	else if (n >= 4 && !memcmp(magic, "\x28\xb5\x2f\xfd", 4))
		*out = LAYER_COMPRESSION_ZSTD;
	else if ((n >= 3 && !memcmp(magic, "BZh", 3)) || (n >= 6 && !memcmp(magic,
									    "\xfd"
									    "7zXZ",
									    6)))
		return 1;
	return 0;
}

int layer_archive_decompress(int in_fd, int out_fd, const char *what, struct petra_error **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	int r = archive_read_open_fd(a, in_fd, 65536) == ARCHIVE_OK &&
			archive_read_next_header(a, &e) == ARCHIVE_OK
		    ? 0
		    : -EIO;
	char buf[65536];
	la_ssize_t got = 0;
	while (r == 0 && (got = archive_read_data(a, buf, sizeof(buf))) > 0)
		if (fs_write_all(out_fd, buf, (size_t)got) < 0)
			r = -errno;
	if (r == 0 && got < 0)
		r = -EIO;
	if (r < 0)
		r = petra_error_set(err, EIO, "%s: %s", what,
				    archive_error_string(a) ? archive_error_string(a)
							    : "cannot decompress");
	archive_read_free(a);
	if (r == 0 && lseek(out_fd, 0, SEEK_SET) < 0)
		r = petra_error_set_errno(err, errno, "%s: decompress", what);
	return r;
}
