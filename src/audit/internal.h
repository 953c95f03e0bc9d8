/* SPDX-License-Identifier: Apache-2.0 */
/* Private to src/audit: the secret rules and the package database parsers. */
#ifndef PETRA_AUDIT_INTERNAL_H
#define PETRA_AUDIT_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "audit.h"

/* ---- secrets (secrets.c) ---- */

#define SECRET_FINGERPRINT_SIZE 13 /* 12 hex digits and NUL */
/* The rule number of a NAME=value assignment in a history step. */
#define SECRET_RULE_ASSIGNMENT 255u

struct secret_rules; /* compiled once; read-only afterwards */
int audit_secret_rules_new(struct secret_rules **out, struct petra_error **err);
void audit_secret_rules_free(struct secret_rules *s);
size_t audit_secret_rules_count(void);
const char *audit_secret_rule_id(unsigned rule);
const char *audit_secret_rule_title(unsigned rule);
enum audit_severity audit_secret_rule_severity(unsigned rule);

struct secret_match {
	unsigned rule;
	uint64_t offset; /* of the value */
	unsigned line;   /* 1-based, 0 unknown */
	char *masked;
	char fingerprint[SECRET_FINGERPRINT_SIZE];
};
void audit_secret_match_release(struct secret_match *m);

/* "ghp_****************": the first 4 characters of a value longer than
 * 12, then one star per character (at most 16). */
void audit_secret_mask(const char *value, size_t len, struct strbuf *out);
void audit_secret_fingerprint(const char *value, size_t len, char out[SECRET_FINGERPRINT_SIZE]);

/* Every rule over a whole buffer, the first match of each; returns how
 * many (at most max) were written to out (release each). */
size_t audit_secret_scan_buffer(const struct secret_rules *s, const char *data, size_t len,
				struct secret_match *out, size_t max);
/* The next PASSWORD=value (a password-like name assigned a literal) in
 * text from *start: 1 with *key (caller frees) and *out, 0 when none. */
int audit_secret_scan_assignment(const struct secret_rules *s, const char *text, size_t *start,
				 char **key, struct secret_match *out);
/* text with every value any rule finds masked. Caller frees. */
char *audit_secret_mask_text(const struct secret_rules *s, const char *text);

/* Which rules have a keyword in data, a bit per rule: what decides which
 * regexes run. BEST is what scans use (the vector scan where the CPU has
 * it); the others are there for tests, which compare them. */
enum secret_prefilter_scan {
	SECRET_PREFILTER_BEST,
	SECRET_PREFILTER_PAIRS,        /* the pair bitmap, every second position */
	SECRET_PREFILTER_FINGERPRINTS, /* the fingerprint buckets, one position at a time */
};
uint32_t audit_secret_prefilter(const struct secret_rules *s, const void *data, size_t len,
				enum secret_prefilter_scan scan);

/* A file's content, streamed: every rule at most once. */
struct secret_stream;
struct secret_stream *audit_secret_stream_new(const struct secret_rules *rules);
void audit_secret_stream_free(struct secret_stream *st);
void audit_secret_stream_begin(struct secret_stream *st);
void audit_secret_stream_feed(struct secret_stream *st, const void *data, size_t len);
/* The matches (owned by the stream until the next begin). */
size_t audit_secret_stream_end(struct secret_stream *st, const struct secret_match **matches);

/* ---- package databases (inventory.c) ---- */

struct inventory_pkg {
	char *name, *version, *source, *arch;
};
void audit_inventory_pkgs_free(struct inventory_pkg *pkgs, size_t n);
/* A dpkg status file (status_required: only packages whose Status ends
 * in "installed") or a status.d file (no Status field needed). Sorted by
 * name. Malformed paragraphs are skipped: the database is untrusted. */
void audit_inventory_parse_dpkg(const char *data, size_t len, bool status_required,
				struct inventory_pkg **out, size_t *n);
/* An apk installed database. Sorted by name. */
void audit_inventory_parse_apk(const char *data, size_t len, struct inventory_pkg **out, size_t *n);
/* The package of a sorted list by name, or NULL. */
const struct inventory_pkg *audit_inventory_find(const struct inventory_pkg *pkgs, size_t n,
						 const char *name);

#endif
