/* SPDX-License-Identifier: Apache-2.0 */
/* struct petra_error: a code and a message carried up the call chain. */
#include "base.h"

#include <string.h>

static int error_store(struct petra_error **err, int code, char *message)
{
	if (code <= 0)
		code = EIO;
	if (!err) {
		free(message);
		return -code;
	}
	if (*err)
		petra_error_free(*err);
	struct petra_error *e = xmalloc(sizeof(*e));
	e->code = code;
	e->message = message;
	*err = e;
	return -code;
}

int petra_error_set(struct petra_error **err, int code, const char *fmt, ...)
{
	if (!err)
		return -(code > 0 ? code : EIO);
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return error_store(err, code, strbuf_detach(&sb));
}

int petra_error_set_errno(struct petra_error **err, int code, const char *fmt, ...)
{
	if (!err)
		return -(code > 0 ? code : EIO);
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addf(&sb, ": %s", strerror(code > 0 ? code : EIO));
	return error_store(err, code, strbuf_detach(&sb));
}

int petra_error_prefix(struct petra_error **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -EIO;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addstr(&sb, ": ");
	strbuf_addstr(&sb, (*err)->message);
	free((*err)->message);
	(*err)->message = strbuf_detach(&sb);
	return -(*err)->code;
}

void petra_error_free(struct petra_error *err)
{
	if (!err)
		return;
	free(err->message);
	free(err);
}
