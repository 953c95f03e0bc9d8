/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stand-ins for the libxml2 functions that a statically linked libarchive
 * references from its xar writer. libarchive's table of write formats pulls
 * every writer in, but petra only ever writes pax tar, so these are never
 * called; linking libxml2 (and with it ICU and libstdc++) just for them would
 * cost every petra start several milliseconds. Should anything call them,
 * they fail the way libxml2 reports failure (NULL or -1), and libarchive
 * turns that into an ordinary error.
 *
 * Only linked when petra links its libraries statically (meson option
 * static_deps); see meson.build.
 */
#include <stddef.h>

/* Declarations for -Wmissing-prototypes: the real ones are in libxml2's
 * headers, which petra does not include. */
void *xmlBufferCreate(void);
void xmlBufferFree(void *buffer);
void xmlFreeTextWriter(void *writer);
void *xmlNewTextWriterMemory(void *buffer, int compression);
int xmlTextWriterEndDocument(void *writer);
int xmlTextWriterEndElement(void *writer);
int xmlTextWriterSetIndent(void *writer, int indent);
int xmlTextWriterStartDocument(void *writer, const char *version, const char *encoding,
			       const char *standalone);
int xmlTextWriterStartElement(void *writer, const void *name);
int xmlTextWriterWriteAttribute(void *writer, const void *name, const void *content);
int xmlTextWriterWriteFormatAttribute(void *writer, const void *name, const char *format, ...);
int xmlTextWriterWriteString(void *writer, const void *content);
int xmlTextWriterWriteBase64(void *writer, const char *data, int start, int len);
int UTF8Toisolat1(unsigned char *out, int *outlen, const unsigned char *in, int *inlen);

void *xmlBufferCreate(void)
{
	return NULL;
}
void xmlBufferFree(void *buffer)
{
	(void)buffer;
}
void xmlFreeTextWriter(void *writer)
{
	(void)writer;
}
void *xmlNewTextWriterMemory(void *buffer, int compression)
{
	(void)buffer;
	(void)compression;
	return NULL;
}
int xmlTextWriterEndDocument(void *writer)
{
	(void)writer;
	return -1;
}
int xmlTextWriterEndElement(void *writer)
{
	(void)writer;
	return -1;
}
int xmlTextWriterSetIndent(void *writer, int indent)
{
	(void)writer;
	(void)indent;
	return -1;
}
int xmlTextWriterStartDocument(void *writer, const char *version, const char *encoding,
			       const char *standalone)
{
	(void)writer;
	(void)version;
	(void)encoding;
	(void)standalone;
	return -1;
}
int xmlTextWriterStartElement(void *writer, const void *name)
{
	(void)writer;
	(void)name;
	return -1;
}
int xmlTextWriterWriteAttribute(void *writer, const void *name, const void *content)
{
	(void)writer;
	(void)name;
	(void)content;
	return -1;
}
int xmlTextWriterWriteFormatAttribute(void *writer, const void *name, const char *format, ...)
{
	(void)writer;
	(void)name;
	(void)format;
	return -1;
}
int xmlTextWriterWriteString(void *writer, const void *content)
{
	(void)writer;
	(void)content;
	return -1;
}
int xmlTextWriterWriteBase64(void *writer, const char *data, int start, int len)
{
	(void)writer;
	(void)data;
	(void)start;
	(void)len;
	return -1;
}
int UTF8Toisolat1(unsigned char *out, int *outlen, const unsigned char *in, int *inlen)
{
	(void)out;
	(void)outlen;
	(void)in;
	(void)inlen;
	return -1;
}
