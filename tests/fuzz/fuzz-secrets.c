/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the secret rules: a buffer scan, the same bytes streamed in odd
 * pieces, assignments and masking. File contents, Env values and history
 * steps come from images: any bytes at all. */
#include <string.h>

#include "audit/internal.h"

static struct secret_rules *rules;
static struct secret_stream *stream;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petra_error *err = NULL;
	if (!rules) {
		if (audit_secret_rules_new(&rules, &err) < 0)
			__builtin_trap();
		stream = audit_secret_stream_new(rules);
	}
	struct secret_match m[32];
	size_t n = audit_secret_scan_buffer(rules, (const char *)data, size, m, 32);
	/* A stream of the same bytes finds at least the rules the buffer
	 * found (the buffer scan is one window). */
	audit_secret_stream_begin(stream);
	for (size_t off = 0; off < size; off += 7)
		audit_secret_stream_feed(stream, data + off, size - off < 7 ? size - off : 7);
	const struct secret_match *sm;
	size_t sn = audit_secret_stream_end(stream, &sm);
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < sn; k++)
			found |= sm[k].rule == m[i].rule;
		if (!found)
			__builtin_trap();
		if (!m[i].masked || strlen(m[i].fingerprint) != SECRET_FINGERPRINT_SIZE - 1)
			__builtin_trap();
		audit_secret_match_release(&m[i]);
	}
	char *text = xstrndup((const char *)data, size);
	char *masked = audit_secret_mask_text(rules, text);
	size_t start = 0;
	char *key = NULL;
	struct secret_match am;
	while (audit_secret_scan_assignment(rules, text, &start, &key, &am)) {
		if (!*key || start > size)
			__builtin_trap();
		free(key);
		audit_secret_match_release(&am);
	}
	free(masked);
	free(text);
	return 0;
}
