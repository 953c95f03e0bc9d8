/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the layer module: the compression codecs. */
#ifndef PETRA_LAYER_INTERNAL_H
#define PETRA_LAYER_INTERNAL_H

#include "layer.h"

typedef int (*codec_sink_fn)(void *ctx, const void *data, size_t len, struct petra_error **err);

/* Compress a stream: bytes in, compressed bytes handed to sink. */
struct encoder;
int layer_encoder_new(enum layer_compression c, int level, codec_sink_fn sink, void *ctx,
		      struct encoder **out, struct petra_error **err);
int layer_encoder_write(struct encoder *e, const void *data, size_t len, struct petra_error **err);
int layer_encoder_finish(struct encoder *e, struct petra_error **err);
void layer_encoder_free(struct encoder *e);

/* Decompress a stream. layer_decoder_run consumes from in and produces into out.
 * layer_decoder_complete tells whether the stream may end here: at least one
 * whole gzip member or zstd frame, and not inside another. */
struct decoder;
int layer_decoder_new(enum layer_compression c, struct decoder **out, struct petra_error **err);
int layer_decoder_run(struct decoder *d, const uint8_t *in, size_t in_len, size_t *in_used,
		      uint8_t *out, size_t out_len, size_t *out_made, struct petra_error **err);
bool layer_decoder_complete(const struct decoder *d);
void layer_decoder_free(struct decoder *d);

#endif
