/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compression codecs for layers: gzip with ISA-L (zlib when petra is built
 * without it), zstd, and none. Output of the gzip encoder is an ordinary
 * single-member gzip stream any reader accepts; the decoders accept
 * multi-member gzip and multi-frame zstd, and reject trailing garbage.
 */
#include "internal.h"

#include <string.h>
#include <zlib.h>
#include <zstd.h>
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#define CODEC_CHUNK (256u << 10)

int layer_compression_parse(const char *name, enum layer_compression *out, struct petra_error **err)
{
	if (!strcmp(name, "gzip"))
		*out = LAYER_COMPRESSION_GZIP;
	else if (!strcmp(name, "zstd"))
		*out = LAYER_COMPRESSION_ZSTD;
	else if (!strcmp(name, "none"))
		*out = LAYER_COMPRESSION_NONE;
	else
		return petra_error_set(err, EINVAL,
				       "unknown compression \"%s\" (gzip, zstd or none)", name);
	return 0;
}

const char *layer_compression_name(enum layer_compression c)
{
	switch (c) {
	case LAYER_COMPRESSION_GZIP:
		return "gzip";
	case LAYER_COMPRESSION_ZSTD:
		return "zstd";
	default:
		return "none";
	}
}

const char *layer_media_type(enum layer_compression c)
{
	switch (c) {
	case LAYER_COMPRESSION_GZIP:
		return OCI_MEDIA_TYPE_LAYER_GZIP;
	case LAYER_COMPRESSION_ZSTD:
		return OCI_MEDIA_TYPE_LAYER_ZSTD;
	default:
		return OCI_MEDIA_TYPE_LAYER;
	}
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && !strcmp(s + ls - lx, suffix);
}

int layer_compression_from_media_type(const char *mt, enum layer_compression *out,
				      struct petra_error **err)
{
	if (oci_media_type_kind(mt) != OCI_KIND_LAYER)
		return petra_error_set(err, ENOTSUP, "\"%s\" is not a layer media type", mt);
	if (has_suffix(mt, "+gzip") || has_suffix(mt, ".tar.gzip"))
		*out = LAYER_COMPRESSION_GZIP;
	else if (has_suffix(mt, "+zstd"))
		*out = LAYER_COMPRESSION_ZSTD;
	else if (has_suffix(mt, ".tar"))
		*out = LAYER_COMPRESSION_NONE;
	else
		return petra_error_set(err, ENOTSUP, "layer media type \"%s\" is not supported",
				       mt);
	return 0;
}

/* ---- encoders ---- */

struct encoder {
	enum layer_compression kind;
	codec_sink_fn sink;
	void *ctx;
	uint8_t *out;
#ifdef HAVE_ISAL
	struct isal_zstream isal;
	uint8_t *level_buf;
#else
	z_stream zs;
#endif
	ZSTD_CCtx *zstd;
};

int layer_encoder_new(enum layer_compression c, int level, codec_sink_fn sink, void *ctx,
		      struct encoder **out, struct petra_error **err)
{
	struct encoder *e = xcalloc(1, sizeof(*e));
	e->kind = c;
	e->sink = sink;
	e->ctx = ctx;
	e->out = xmalloc(CODEC_CHUNK);
	if (c == LAYER_COMPRESSION_GZIP) {
#ifdef HAVE_ISAL
		/* Level 1 is ISA-L's fast default: what `igzip -1` does. */
		int lvl = level > 0 && level <= ISAL_DEF_MAX_LEVEL ? level : 1;
		static const uint32_t sizes[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
						 ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
		isal_deflate_init(&e->isal);
		e->isal.level = (uint32_t)lvl;
		e->level_buf = xmalloc(sizes[lvl]);
		e->isal.level_buf = e->level_buf;
		e->isal.level_buf_size = sizes[lvl];
		e->isal.gzip_flag = IGZIP_GZIP;
		e->isal.end_of_stream = 0;
		e->isal.flush = NO_FLUSH;
#else
		int lvl = level > 0 && level <= 9 ? level : 1;
		if (deflateInit2(&e->zs, lvl, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			layer_encoder_free(e);
			return petra_error_set(err, ENOMEM, "zlib: cannot start a gzip stream");
		}
#endif
	} else if (c == LAYER_COMPRESSION_ZSTD) {
		e->zstd = ZSTD_createCCtx();
		if (!e->zstd) {
			layer_encoder_free(e);
			return petra_error_set(err, ENOMEM, "zstd: cannot create a context");
		}
		ZSTD_CCtx_setParameter(e->zstd, ZSTD_c_compressionLevel, level > 0 ? level : 3);
		ZSTD_CCtx_setParameter(e->zstd, ZSTD_c_checksumFlag, 1);
	}
	*out = e;
	return 0;
}

static int encoder_run(struct encoder *e, const void *data, size_t len, bool finish,
		       struct petra_error **err)
{
	int r;
	if (e->kind == LAYER_COMPRESSION_NONE)
		return len ? e->sink(e->ctx, data, len, err) : 0;
	if (e->kind == LAYER_COMPRESSION_GZIP) {
#ifdef HAVE_ISAL
		e->isal.next_in = (uint8_t *)data;
		e->isal.avail_in = (uint32_t)len;
		e->isal.end_of_stream = finish ? 1 : 0;
		do {
			e->isal.next_out = e->out;
			e->isal.avail_out = CODEC_CHUNK;
			if (isal_deflate(&e->isal) != COMP_OK)
				return petra_error_set(err, EIO,
						       "gzip (ISA-L): compression failed");
			size_t made = CODEC_CHUNK - e->isal.avail_out;
			if (made && (r = e->sink(e->ctx, e->out, made, err)) < 0)
				return r;
		} while (e->isal.avail_in > 0 || e->isal.avail_out == 0 ||
			 (finish && e->isal.internal_state.state != ZSTATE_END));
#else
		e->zs.next_in = (Bytef *)data;
		e->zs.avail_in = (uInt)len;
		int zr;
		do {
			e->zs.next_out = e->out;
			e->zs.avail_out = CODEC_CHUNK;
			zr = deflate(&e->zs, finish ? Z_FINISH : Z_NO_FLUSH);
			if (zr == Z_STREAM_ERROR)
				return petra_error_set(err, EIO, "gzip (zlib): compression failed");
			size_t made = CODEC_CHUNK - e->zs.avail_out;
			if (made && (r = e->sink(e->ctx, e->out, made, err)) < 0)
				return r;
		} while (e->zs.avail_in > 0 || e->zs.avail_out == 0 ||
			 (finish && zr != Z_STREAM_END));
#endif
		return 0;
	}
	ZSTD_inBuffer in = {data, len, 0};
	for (;;) {
		ZSTD_outBuffer out = {e->out, CODEC_CHUNK, 0};
		size_t left =
		    ZSTD_compressStream2(e->zstd, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left))
			return petra_error_set(err, EIO, "zstd: %s", ZSTD_getErrorName(left));
		if (out.pos && (r = e->sink(e->ctx, e->out, out.pos, err)) < 0)
			return r;
		if (finish ? left == 0 : in.pos == in.size)
			break;
	}
	return 0;
}

int layer_encoder_write(struct encoder *e, const void *data, size_t len, struct petra_error **err)
{
	/* ISA-L counts input in 32 bits: feed large buffers in pieces. */
	const uint8_t *p = data;
	while (len > 0) {
		size_t n = len > (1u << 30) ? (1u << 30) : len;
		int r = encoder_run(e, p, n, false, err);
		if (r < 0)
			return r;
		p += n;
		len -= n;
	}
	return 0;
}

int layer_encoder_finish(struct encoder *e, struct petra_error **err)
{
	return encoder_run(e, NULL, 0, true, err);
}

void layer_encoder_free(struct encoder *e)
{
	if (!e)
		return;
#ifdef HAVE_ISAL
	free(e->level_buf);
#else
	if (e->kind == LAYER_COMPRESSION_GZIP)
		deflateEnd(&e->zs);
#endif
	if (e->zstd)
		ZSTD_freeCCtx(e->zstd);
	free(e->out);
	free(e);
}

/* ---- decoders ---- */

struct decoder {
	enum layer_compression kind;
	bool in_member;        /* inside a gzip member / zstd frame */
	unsigned members_done; /* complete gzip members / zstd frames */
#ifdef HAVE_ISAL
	struct inflate_state isal;
#else
	z_stream zs;
	bool zs_ready;
#endif
	ZSTD_DCtx *zstd;
};

int layer_decoder_new(enum layer_compression c, struct decoder **out, struct petra_error **err)
{
	struct decoder *d = xcalloc(1, sizeof(*d));
	d->kind = c;
	if (c == LAYER_COMPRESSION_GZIP) {
#ifdef HAVE_ISAL
		isal_inflate_init(&d->isal);
		d->isal.crc_flag = ISAL_GZIP;
#else
		if (inflateInit2(&d->zs, 15 + 16) != Z_OK) {
			free(d);
			return petra_error_set(err, ENOMEM, "zlib: cannot start a gzip reader");
		}
		d->zs_ready = true;
#endif
	} else if (c == LAYER_COMPRESSION_ZSTD) {
		d->zstd = ZSTD_createDCtx();
		if (!d->zstd) {
			free(d);
			return petra_error_set(err, ENOMEM, "zstd: cannot create a context");
		}
	}
	*out = d;
	return 0;
}

#ifdef HAVE_ISAL
static const char *isal_error_name(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
		return "invalid deflate block";
	case ISAL_INVALID_SYMBOL:
		return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK:
		return "invalid lookback distance";
	case ISAL_INVALID_WRAPPER:
		return "not a gzip stream (bad header)";
	case ISAL_UNSUPPORTED_METHOD:
		return "unsupported compression method";
	case ISAL_INCORRECT_CHECKSUM:
		return "CRC mismatch (corrupt data)";
	default:
		return "corrupt data";
	}
}
#endif

bool layer_decoder_complete(const struct decoder *d)
{
	return d->kind == LAYER_COMPRESSION_NONE || (!d->in_member && d->members_done > 0);
}

int layer_decoder_run(struct decoder *d, const uint8_t *in, size_t in_len, size_t *in_used,
		      uint8_t *out, size_t out_len, size_t *out_made, struct petra_error **err)
{
	*in_used = 0;
	*out_made = 0;
	if (d->kind == LAYER_COMPRESSION_NONE) {
		size_t n = in_len < out_len ? in_len : out_len;
		memcpy(out, in, n);
		*in_used = *out_made = n;
		return 0;
	}
	if (d->kind == LAYER_COMPRESSION_GZIP) {
		/* A new member must start with the gzip magic: anything else after
		 * a complete member is trailing garbage. */
		if (!d->in_member && in_len > 0) {
			if (in[0] != 0x1f || (in_len > 1 && in[1] != 0x8b))
				return petra_error_set(
				    err, EINVAL, "gzip: %s",
				    d->members_done ? "trailing garbage after the compressed stream"
						    : "not a gzip stream");
			d->in_member = true;
		}
#ifdef HAVE_ISAL
		d->isal.next_in = (uint8_t *)in;
		d->isal.avail_in = (uint32_t)(in_len > UINT32_MAX ? UINT32_MAX : in_len);
		d->isal.next_out = out;
		d->isal.avail_out = (uint32_t)(out_len > UINT32_MAX ? UINT32_MAX : out_len);
		uint32_t avail_in_before = d->isal.avail_in;
		int r = isal_inflate(&d->isal);
		if (r < 0)
			return petra_error_set(err, EINVAL, "gzip: %s", isal_error_name(r));
		*in_used = avail_in_before - d->isal.avail_in;
		*out_made = (size_t)(d->isal.next_out - out);
		if (d->isal.block_state == ISAL_BLOCK_FINISH) {
			isal_inflate_reset(&d->isal);
			d->isal.crc_flag = ISAL_GZIP;
			d->in_member = false;
			d->members_done++;
		}
#else
		d->zs.next_in = (Bytef *)in;
		d->zs.avail_in = (uInt)in_len;
		d->zs.next_out = out;
		d->zs.avail_out = (uInt)out_len;
		int r = inflate(&d->zs, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
			return petra_error_set(err, EINVAL, "gzip: %s",
					       d->zs.msg ? d->zs.msg : "corrupt data");
		*in_used = in_len - d->zs.avail_in;
		*out_made = out_len - d->zs.avail_out;
		if (r == Z_STREAM_END) {
			inflateReset(&d->zs);
			d->in_member = false;
			d->members_done++;
		}
#endif
		return 0;
	}
	ZSTD_inBuffer zin = {in, in_len, 0};
	ZSTD_outBuffer zout = {out, out_len, 0};
	size_t r = ZSTD_decompressStream(d->zstd, &zout, &zin);
	if (ZSTD_isError(r))
		return petra_error_set(err, EINVAL, "zstd: %s", ZSTD_getErrorName(r));
	*in_used = zin.pos;
	*out_made = zout.pos;
	if (zin.pos > 0 || zout.pos > 0) {
		if (r == 0 && (d->in_member || zin.pos > 0))
			d->members_done++;
		d->in_member = r != 0;
	}
	return 0;
}

void layer_decoder_free(struct decoder *d)
{
	if (!d)
		return;
#ifndef HAVE_ISAL
	if (d->zs_ready)
		inflateEnd(&d->zs);
#endif
	if (d->zstd)
		ZSTD_freeDCtx(d->zstd);
	free(d);
}
