/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gzip codec as petra builds it without ISA-L (zlib only). This test
 * compiles src/layer/compress.c on its own with HAVE_ISAL undefined, so the
 * fallback is exercised on machines that have ISA-L too: its output must be
 * ordinary gzip (checked with the gzip program) and its decoder must read
 * multi-member streams and refuse garbage.
 */
#undef HAVE_ISAL
#include "../../src/layer/compress.c"

#include "testutil.h"

struct sink {
	struct strbuf out;
};

static int to_sink(void *ctx, const void *data, size_t len, struct petra_error **err)
{
	(void)err;
	strbuf_add(&((struct sink *)ctx)->out, data, len);
	return 0;
}

static void compress_all(const char *data, size_t len, struct strbuf *out)
{
	struct sink s = {STRBUF_INIT};
	struct encoder *e;
	struct petra_error *err = NULL;
	assert_int_equal(layer_encoder_new(LAYER_COMPRESSION_GZIP, 0, to_sink, &s, &e, &err), 0);
	/* In uneven pieces, as the tar writer hands them over. */
	for (size_t off = 0; off < len;) {
		size_t n = len - off < 7777 ? len - off : 7777;
		assert_int_equal(layer_encoder_write(e, data + off, n, &err), 0);
		off += n;
	}
	assert_int_equal(layer_encoder_finish(e, &err), 0);
	layer_encoder_free(e);
	*out = s.out;
}

static int decompress_all(const struct strbuf *in, struct strbuf *out, struct petra_error **err)
{
	struct decoder *d;
	assert_int_equal(layer_decoder_new(LAYER_COMPRESSION_GZIP, &d, err), 0);
	uint8_t buf[4096];
	size_t pos = 0;
	int r = 0;
	while (r == 0) {
		size_t used, made;
		r = layer_decoder_run(d, (const uint8_t *)in->buf + pos, in->len - pos, &used, buf,
				      sizeof(buf), &made, err);
		pos += used;
		strbuf_add(out, buf, made);
		if (pos == in->len && made == 0)
			break;
	}
	if (r == 0 && !layer_decoder_complete(d))
		r = petra_error_set(err, EIO, "truncated");
	layer_decoder_free(d);
	return r;
}

static void test_zlib_fallback_round_trip_and_interop(void **state)
{
	(void)state;
	struct strbuf data = STRBUF_INIT;
	for (int i = 0; i < 200000; i++)
		strbuf_addf(&data, "line %d of some fairly repetitive text\n", i % 977);
	struct strbuf gz;
	compress_all(data.buf, data.len, &gz);
	assert_true(gz.len < data.len / 4);
	assert_int_equal((unsigned char)gz.buf[0], 0x1f);
	assert_int_equal((unsigned char)gz.buf[1], 0x8b);
	/* Round trip, and two members back to back. */
	struct strbuf twice = STRBUF_INIT;
	strbuf_add(&twice, gz.buf, gz.len);
	strbuf_add(&twice, gz.buf, gz.len);
	struct strbuf back = STRBUF_INIT;
	struct petra_error *err = NULL;
	assert_int_equal(decompress_all(&twice, &back, &err), 0);
	assert_int_equal(back.len, 2 * data.len);
	assert_memory_equal(back.buf, data.buf, data.len);
	assert_memory_equal(back.buf + data.len, data.buf, data.len);
	/* The gzip program reads what the fallback wrote. */
	char *dir = test_tmpdir();
	char *file = path_join(dir, "x.gz");
	int fd = open(file, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(fs_write_all(fd, gz.buf, gz.len), 0);
	close(fd);
	char *expected = path_join(dir, "x");
	fd = open(expected, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(fs_write_all(fd, data.buf, data.len), 0);
	close(fd);
	char *cmd = xasprintf("gzip -dc %s | cmp -s - %s", file, expected);
	assert_int_equal(system(cmd), 0);
	free(expected);
	/* Garbage after the stream, and a cut stream, are errors. */
	strbuf_reset(&back);
	strbuf_addstr(&gz, "junk");
	assert_true(decompress_all(&gz, &back, &err) < 0);
	assert_error_contains(err, "trailing garbage");
	petra_error_free(err);
	err = NULL;
	strbuf_setlen(&gz, gz.len / 2);
	strbuf_reset(&back);
	assert_true(decompress_all(&gz, &back, &err) < 0);
	petra_error_free(err);
	free(cmd);
	free(file);
	test_rmtree(dir);
	strbuf_release(&back);
	strbuf_release(&twice);
	strbuf_release(&gz);
	strbuf_release(&data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zlib_fallback_round_trip_and_interop),
	};
	return cmocka_run_group_tests_name("zlib-codec", tests, NULL, NULL);
}
