/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading layers: blob bytes -> hash (digest) -> decompress -> hash
 * (diff_id) -> libarchive's tar reader. Every byte is hashed exactly once
 * on its way through, and the digests are compared once the stream has
 * been read to its end, so a layer is read once to be both unpacked and
 * verified. An uncompressed layer's blob is its tar: it is read straight
 * into the buffer libarchive reads and hashed once, for both digests.
 */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#define READ_CHUNK             (256u << 10)
#define DEFAULT_MAX_RATIO      250
#define DEFAULT_BOMB_MIN_BYTES (64ull << 20)

struct layer_reader {
	int fd;
	enum layer_compression compression;
	char *expected_digest;
	char *expected_diff_id;
	int max_ratio;
	uint64_t bomb_min_bytes;
	struct progress *progress;

	struct decoder *decoder;
	uint8_t *in;
	size_t in_pos, in_len;
	bool in_eof;
	uint8_t *out;
	struct oci_hasher compressed_hash, uncompressed_hash;
	uint64_t compressed_bytes, uncompressed_bytes;
	bool stream_done;

	struct archive *archive;
	struct petra_error *pump_error; /* why the stream failed, for libarchive's caller */
	bool finished;
};

uint64_t layer_reader_compressed_bytes(const struct layer_reader *r)
{
	return r->compressed_bytes;
}
uint64_t layer_reader_uncompressed_bytes(const struct layer_reader *r)
{
	return r->uncompressed_bytes;
}

/* pump for an uncompressed layer: no decoder, no copy, one hash. */
static ssize_t pump_plain(struct layer_reader *r)
{
	ssize_t n;
	do
		n = read(r->fd, r->out, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return petra_error_set_errno(&r->pump_error, errno, "read layer");
	if (n == 0) {
		r->stream_done = true;
		return 0;
	}
	oci_hasher_update(&r->compressed_hash, r->out, (size_t)n);
	r->compressed_bytes += (uint64_t)n;
	r->uncompressed_bytes += (uint64_t)n;
	if (r->progress)
		progress_add(r->progress, (uint64_t)n);
	return n;
}

/* Produce the next chunk of uncompressed bytes in r->out: > 0 bytes, 0 at
 * the end of the stream, < 0 on error (r->pump_error set). */
static ssize_t pump(struct layer_reader *r)
{
	if (r->stream_done)
		return 0;
	if (r->compression == LAYER_COMPRESSION_NONE)
		return pump_plain(r);
	for (;;) {
		if (r->in_pos == r->in_len && !r->in_eof) {
			ssize_t n;
			do
				n = read(r->fd, r->in, READ_CHUNK);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				return petra_error_set_errno(&r->pump_error, errno, "read layer");
			if (n == 0) {
				r->in_eof = true;
			} else {
				oci_hasher_update(&r->compressed_hash, r->in, (size_t)n);
				r->compressed_bytes += (uint64_t)n;
				if (r->progress)
					progress_add(r->progress, (uint64_t)n);
			}
			r->in_pos = 0;
			r->in_len = (size_t)n > 0 ? (size_t)n : 0;
		}
		if (r->in_eof && r->in_pos == r->in_len) {
			if (r->compressed_bytes > 0 && !layer_decoder_complete(r->decoder))
				return petra_error_set(&r->pump_error, EIO,
						       "truncated: the %s stream ends early",
						       layer_compression_name(r->compression));
			r->stream_done = true;
			return 0;
		}
		size_t used, made;
		int e = layer_decoder_run(r->decoder, r->in + r->in_pos, r->in_len - r->in_pos,
					  &used, r->out, READ_CHUNK, &made, &r->pump_error);
		if (e < 0)
			return e;
		r->in_pos += used;
		if (made > 0) {
			oci_hasher_update(&r->uncompressed_hash, r->out, made);
			r->uncompressed_bytes += made;
			if (r->max_ratio > 0 && r->uncompressed_bytes > r->bomb_min_bytes &&
			    r->uncompressed_bytes /
				    (r->compressed_bytes ? r->compressed_bytes : 1) >
				(uint64_t)r->max_ratio) {
				char u[32], c[32];
				format_size(r->uncompressed_bytes, u, sizeof(u));
				format_size(r->compressed_bytes, c, sizeof(c));
				return petra_error_set(&r->pump_error, EFBIG,
						       "expands more than %d times (%s from %s): "
						       "refusing a likely compression bomb",
						       r->max_ratio, u, c);
			}
			return (ssize_t)made;
		}
		if (used == 0 && r->in_pos < r->in_len)
			return petra_error_set(&r->pump_error, EIO, "%s: decoder made no progress",
					       layer_compression_name(r->compression));
	}
}

static la_ssize_t archive_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct layer_reader *r = ctx;
	ssize_t n = pump(r);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", r->pump_error->message);
		return -1;
	}
	*buf = r->out;
	return n;
}

int layer_reader_open(int fd, const struct layer_reader_options *o, struct layer_reader **out,
		      struct petra_error **err)
{
	struct layer_reader *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->compression = o->compression;
	r->expected_digest = o->expected_digest ? xstrdup(o->expected_digest) : NULL;
	r->expected_diff_id = o->expected_diff_id ? xstrdup(o->expected_diff_id) : NULL;
	r->max_ratio = o->max_ratio ? o->max_ratio : DEFAULT_MAX_RATIO;
	r->bomb_min_bytes = o->bomb_min_bytes ? o->bomb_min_bytes : DEFAULT_BOMB_MIN_BYTES;
	r->progress = o->progress;
	if (o->compression != LAYER_COMPRESSION_NONE)
		r->in = xmalloc(READ_CHUNK);
	r->out = xmalloc(READ_CHUNK);
	oci_hasher_init(&r->compressed_hash);
	oci_hasher_init(&r->uncompressed_hash);
	int e = layer_decoder_new(o->compression, &r->decoder, err);
	if (e < 0) {
		layer_reader_close(r);
		return e;
	}
	*out = r;
	return 0;
}

static int ensure_archive(struct layer_reader *r, struct petra_error **err)
{
	if (r->archive)
		return 0;
	r->archive = archive_read_new();
	archive_read_support_format_tar(r->archive);
	archive_read_support_format_empty(r->archive);
	if (archive_read_open(r->archive, r, NULL, archive_read_cb, NULL) != ARCHIVE_OK)
		return petra_error_set(err, EIO, "tar: %s",
				       r->pump_error ? r->pump_error->message
						     : archive_error_string(r->archive));
	return 0;
}

static int archive_failure(struct layer_reader *r, struct petra_error **err)
{
	if (r->pump_error)
		return petra_error_set(err, r->pump_error->code, "%s", r->pump_error->message);
	const char *msg = archive_error_string(r->archive);
	return petra_error_set(err, EIO, "tar: %s", msg ? msg : "unreadable archive");
}

int layer_reader_next(struct layer_reader *r, struct archive_entry **entry,
		      struct petra_error **err)
{
	int e = ensure_archive(r, err);
	if (e < 0)
		return e;
	int ar = archive_read_next_header(r->archive, entry);
	if (ar == ARCHIVE_EOF)
		return 0;
	if (ar == ARCHIVE_OK)
		return 1;
	if (ar == ARCHIVE_WARN) {
		log_debug("tar: %s", archive_error_string(r->archive));
		return 1;
	}
	return archive_failure(r, err);
}

int layer_reader_data_block(struct layer_reader *r, const void **data, size_t *len, int64_t *offset,
			    struct petra_error **err)
{
	la_int64_t off;
	int ar = archive_read_data_block(r->archive, data, len, &off);
	if (ar == ARCHIVE_EOF)
		return 0;
	if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
		return archive_failure(r, err);
	*offset = off;
	return 1;
}

int layer_reader_finish(struct layer_reader *r, struct petra_error **err)
{
	if (r->finished)
		return 0;
	/* Whatever libarchive did not need (end-of-archive padding) still
	 * counts for the digests. */
	for (;;) {
		ssize_t n = pump(r);
		if (n < 0)
			return petra_error_set(err, r->pump_error->code, "%s",
					       r->pump_error->message);
		if (n == 0)
			break;
	}
	r->finished = true;
	char digest[OCI_DIGEST_SIZE], diff_id[OCI_DIGEST_SIZE];
	oci_hasher_final(&r->compressed_hash, digest);
	if (r->compression == LAYER_COMPRESSION_NONE)
		memcpy(diff_id, digest, sizeof(diff_id));
	else
		oci_hasher_final(&r->uncompressed_hash, diff_id);
	if (r->expected_digest && strcmp(digest, r->expected_digest) != 0)
		return petra_error_set(err, EIO, "blob is corrupt: its content hashes to %s",
				       digest);
	if (r->expected_diff_id && strcmp(diff_id, r->expected_diff_id) != 0)
		return petra_error_set(err, EIO,
				       "uncompressed content hashes to %s, not to the config's "
				       "diff_id %s",
				       diff_id, r->expected_diff_id);
	return 0;
}

void layer_reader_close(struct layer_reader *r)
{
	if (!r)
		return;
	if (r->archive)
		archive_read_free(r->archive);
	layer_decoder_free(r->decoder);
	oci_hasher_release(&r->compressed_hash);
	oci_hasher_release(&r->uncompressed_hash);
	petra_error_free(r->pump_error);
	free(r->expected_digest);
	free(r->expected_diff_id);
	free(r->in);
	free(r->out);
	free(r);
}

int layer_verify_fd(int fd, const struct layer_reader_options *options, struct petra_error **err)
{
	struct layer_reader *r;
	int e = layer_reader_open(fd, options, &r, err);
	if (e < 0)
		return e;
	e = layer_reader_finish(r, err);
	layer_reader_close(r);
	return e;
}

int layer_clean_path(const char *name, char **out, struct petra_error **err)
{
	if (!name)
		return petra_error_set(err, EINVAL, "entry without a name");
	if (name[0] == '/') {
		_cleanup_free_ char *q = str_quote(name);
		return petra_error_set(err, EINVAL, "%s: absolute path", q);
	}
	struct strbuf sb = STRBUF_INIT;
	const char *p = name;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			strbuf_release(&sb);
			_cleanup_free_ char *q = str_quote(name);
			return petra_error_set(err, EINVAL, "%s: \"..\" component escapes the root",
					       q);
		}
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (sb.len)
				strbuf_addch(&sb, '/');
			strbuf_add(&sb, p, len);
		}
		p += len;
		while (*p == '/')
			p++;
	}
	*out = strbuf_detach(&sb);
	return 0;
}
