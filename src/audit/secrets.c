/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secret rules: each a few keywords and a regex. A file's bytes go through
 * a 1 MiB window; one pass over the window looks for every keyword at
 * once (a table of the keywords' first two bytes, lower-cased, then a
 * comparison), and only the rules whose keywords occur run their regex,
 * compiled once with PCRE2's JIT, over the window. Windows overlap by 4
 * KiB so a secret across a boundary is seen whole. A rule is reported at
 * most once per file.
 *
 * The prefilter runs over every byte of every file, so it is the part
 * that must be fast. Where the CPU has AVX2 (x86-64), each keyword has a
 * fingerprint, its three least common consecutive bytes, in one of eight
 * buckets; for each of the three positions, two 16-byte tables (by low
 * and high nibble, both cases) give the buckets a byte may belong to.
 * Six table lookups (vpshufb) and ANDs over 32 positions at once say
 * where a fingerprint of some bucket may start; the keywords of those
 * buckets are compared only there. Elsewhere the scan looks for each
 * keyword's two least common overlapping byte pairs (at offsets a and
 * a+1): every case variant of those pairs is a bit in an 8 KiB bitmap,
 * and the scan looks at every second position only, one 16-bit load and
 * one bit test each (one of the two anchors always falls on a position
 * it looks at). Both find exactly the keywords that occur.
 *
 * A stream runs the prefilter over each piece as it is copied into the
 * window (with a keyword's length of look-back, for keywords across
 * pieces), while the piece is still in the cache; when the window is
 * full the rules it found run their regexes.
 *
 * The value a rule finds is its first non-empty capture group (else the
 * whole match); only its first characters and a fingerprint (the start of
 * its SHA-256) ever leave this file.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define VECTOR_PREFILTER 1
#endif

#define WINDOW  (1u << 20)
#define OVERLAP (4u << 10)

#define MAX_KEYWORDS 8

struct rule_def {
	const char *id; /* the finding id */
	const char *title;
	enum audit_severity severity;
	const char *keywords[MAX_KEYWORDS]; /* lower case, 3 bytes or more */
	const char *regex;
};

/* Documentation examples that are not anyone's secret. */
static const char *const known_examples[] = {
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

static const struct rule_def rule_defs[] = {
    {"secret-private-key",
     "private key",
     AUDIT_ERROR,
     {"-----begin"},
     "-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[ \\t]*\\r?\\n"
     "(?:[A-Za-z-]+:[^\\r\\n]*\\r?\\n)*\\s*([A-Za-z0-9+/=]{40,})"},
    {"secret-aws-access-key",
     "AWS access key ID",
     AUDIT_ERROR,
     {"akia", "asia", "abia", "acca"},
     "(?<![A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Za-z0-9])"},
    {"secret-aws-secret-key",
     "AWS secret access key",
     AUDIT_ERROR,
     {"aws_secret", "aws-secret", "awssecret", "secret_access_key", "secretaccesskey"},
     "(?i)(?:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key)[\"']?"
     "\\s*[:=]\\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"},
    {"secret-gcp-service-account",
     "GCP service account key",
     AUDIT_ERROR,
     {"service_account"},
     "\"private_key_id\"\\s*:\\s*\"([0-9a-f]{16,64})\""},
    {"secret-github-token",
     "GitHub token",
     AUDIT_ERROR,
     {"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
     "(?<![A-Za-z0-9_])((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,255})"
     "(?![A-Za-z0-9_])"},
    {"secret-gitlab-token",
     "GitLab token",
     AUDIT_ERROR,
     {"glpat-"},
     "(?<![A-Za-z0-9_])(glpat-[A-Za-z0-9_-]{20,})"},
    {"secret-slack-token",
     "Slack token or webhook",
     AUDIT_ERROR,
     {"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "hooks.slack.com"},
     "(?<![A-Za-z0-9])(xox[baprse]-[A-Za-z0-9-]{10,})"
     "|(https://hooks\\.slack\\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+)"},
    {"secret-stripe-key",
     "Stripe API key",
     AUDIT_ERROR,
     {"sk_live_", "rk_live_", "sk_test_", "rk_test_"},
     "(?<![A-Za-z0-9])((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,})"},
    {"secret-npm-token",
     "npm token",
     AUDIT_ERROR,
     {"npm_", "_authtoken"},
     "(?<![A-Za-z0-9_])(npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])"
     "|_authToken\\s*=\\s*[\"']?([^\\s$\"'{][^\\s\"']{7,})"},
    {"secret-pypi-token",
     "PyPI token",
     AUDIT_ERROR,
     {"pypi-ageichlwas5vcmc"},
     "(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})"},
    {"secret-docker-auth",
     "Docker registry credentials",
     AUDIT_ERROR,
     {"\"auths\""},
     "\"auths\"\\s*:\\s*\\{[\\s\\S]{0,4096}?\"auth\"\\s*:\\s*\"([A-Za-z0-9+/=]{8,})\""},
    {"secret-jwt",
     "JSON web token",
     AUDIT_WARNING,
     {"eyj"},
     "(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,})"},
};

#define N_RULES ARRAY_SIZE(rule_defs)

struct keyword {
	const char *text;
	size_t len;
	unsigned rule;
	unsigned fingerprint; /* offset of its three fingerprint bytes */
};

#define FINGERPRINT 3
#define BUCKETS     8

/* A pair the scan looks for, and where it lies in its keyword. */
struct anchor {
	unsigned pair; /* lower case, first byte high */
	unsigned offset;
	unsigned keyword;
};

struct secret_rules {
	pcre2_code *code[N_RULES];
	struct keyword keywords[N_RULES * MAX_KEYWORDS];
	size_t n_keywords;
	struct anchor anchors[2 * N_RULES * MAX_KEYWORDS]; /* sorted by pair */
	size_t n_anchors;
	/* Bit (b0 | b1 << 8) is set for every case variant of an anchor pair
	 * b0 b1: the key of a 16-bit load on a little-endian machine, the
	 * byte order is swapped on a big-endian one (pair_key). */
	uint64_t bitmap[65536 / 64];
	uint8_t lower[256];
	size_t max_keyword_len;
	/* The vector prefilter: bit b of nibble_lo[k][c & 15] &
	 * nibble_hi[k][c >> 4] is set when byte k of a fingerprint in bucket
	 * b may be c. */
	bool vector; /* the CPU has AVX2 */
	uint8_t nibble_lo[FINGERPRINT][16], nibble_hi[FINGERPRINT][16];
	uint8_t bucket_keywords[BUCKETS][N_RULES * MAX_KEYWORDS];
	size_t bucket_size[BUCKETS];
	uint32_t bucket_rules[BUCKETS];
	pcre2_code *assignment; /* NAME=value in a history step */
};

size_t audit_secret_rules_count(void)
{
	return N_RULES;
}

const char *audit_secret_rule_id(unsigned rule)
{
	return rule_defs[rule].id;
}

const char *audit_secret_rule_title(unsigned rule)
{
	return rule_defs[rule].title;
}

enum audit_severity audit_secret_rule_severity(unsigned rule)
{
	return rule_defs[rule].severity;
}

static int compile(const char *pattern, pcre2_code **out, struct petra_error **err)
{
	int code;
	PCRE2_SIZE offset;
	*out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
	if (!*out) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof(msg));
		return petra_error_set(err, EINVAL, "secret rule /%s/ at %zu: %s", pattern,
				       (size_t)offset, (const char *)msg);
	}
	/* Without JIT (an architecture it does not support) the interpreter
	 * gives the same answers, slower. */
	pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
	return 0;
}

static int compare_anchors(const void *a, const void *b)
{
	const struct anchor *x = a, *y = b;
	return x->pair < y->pair ? -1 : x->pair > y->pair;
}

/* How common a byte pair is in files (lower is rarer): letters are
 * common, the pairs English uses most are more so; punctuation and
 * digits are rare. Only the choice of anchor depends on it. */
static unsigned pair_cost(char a, char b)
{
	static const char *const common[] = {
	    "th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te",
	    "of", "ed", "is", "it", "al", "ar", "st", "to", "nt", "ng", "se", "ha", "as", "ou",
	    "io", "le", "ve", "co", "me", "de", "hi", "ri", "ro", "ic", "ne", "ea", "ra", "ce",
	    "li", "ch", "ll", "be", "ma", "si", "om", "ur", "ey", "ke", "ac", "ab"};
	unsigned wa = (a >= 'a' && a <= 'z') ? 3 : (a >= '0' && a <= '9') ? 2 : a == '-' ? 2 : 1;
	unsigned wb = (b >= 'a' && b <= 'z') ? 3 : (b >= '0' && b <= '9') ? 2 : b == '-' ? 2 : 1;
	unsigned cost = wa * wb;
	for (size_t i = 0; i < ARRAY_SIZE(common); i++)
		if (common[i][0] == a && common[i][1] == b)
			cost += 6;
	return cost;
}

/* The offset a where pairs a and a+1 are least common together. */
static size_t choose_anchor(const struct keyword *kw)
{
	unsigned best = UINT32_MAX;
	size_t at = 0;
	for (size_t i = 0; i + 2 < kw->len; i++) {
		unsigned c = pair_cost(kw->text[i], kw->text[i + 1]) +
			     pair_cost(kw->text[i + 1], kw->text[i + 2]);
		if (c < best) {
			best = c;
			at = i;
		}
	}
	return at;
}

/* The bitmap key of two bytes as they lie in memory. */
static inline unsigned pair_key(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = (uint16_t)(v >> 8 | v << 8);
#endif
	return v;
}

static void set_bit(struct secret_rules *s, uint8_t b0, uint8_t b1)
{
	unsigned key = (unsigned)b0 | (unsigned)b1 << 8;
	s->bitmap[key / 64] |= UINT64_C(1) << (key % 64);
}

/* How common a byte is in files, roughly (lower is rarer), for choosing
 * fingerprints: a letter matches in either case, the letters English uses
 * most are more common still, '_' fills symbol tables. */
static unsigned byte_cost(uint8_t c)
{
	if (c && strchr("etaoinsrhl", c))
		return 6;
	if ((c >= 'a' && c <= 'z') || c == '_')
		return 4;
	if ((c >= '0' && c <= '9') || c == '-' || c == '.')
		return 3;
	return 2;
}

/* The offset of kw's least common FINGERPRINT consecutive bytes. */
static unsigned choose_fingerprint(const struct keyword *kw)
{
	unsigned best = UINT32_MAX, at = 0;
	for (size_t i = 0; i + FINGERPRINT <= kw->len; i++) {
		unsigned c = 0;
		for (size_t k = 0; k < FINGERPRINT; k++) {
			c += byte_cost((uint8_t)kw->text[i + k]);
			/* Runs ("---", "   ", zeros) are common whatever the byte. */
			if (k && kw->text[i + k] == kw->text[i + k - 1])
				c += 4;
		}
		if (c < best) {
			best = c;
			at = (unsigned)i;
		}
	}
	return at;
}

/* The nibble tables of a bucket, as if kw were added to it. */
struct bucket_tables {
	uint16_t lo[FINGERPRINT], hi[FINGERPRINT]; /* a bit per nibble value */
};

static void bucket_add(struct bucket_tables *t, const struct keyword *kw)
{
	for (size_t k = 0; k < FINGERPRINT; k++) {
		uint8_t c = (uint8_t)kw->text[kw->fingerprint + k];
		uint8_t u = (uint8_t)toupper(c);
		t->lo[k] |= (uint16_t)(1u << (c & 15) | 1u << (u & 15));
		t->hi[k] |= (uint16_t)(1u << (c >> 4) | 1u << (u >> 4));
	}
}

/* How many byte triples a bucket's tables let through (0 when empty): the
 * false candidates it costs grow with it. */
static uint64_t bucket_volume(const struct bucket_tables *t)
{
	uint64_t v = 1;
	for (size_t k = 0; k < FINGERPRINT; k++)
		v *=
		    (uint64_t)__builtin_popcount(t->lo[k]) * (uint64_t)__builtin_popcount(t->hi[k]);
	return v;
}

static int compare_fingerprints(const void *a, const void *b, void *ctx)
{
	const struct keyword *kws = ctx;
	const struct keyword *x = &kws[*(const uint8_t *)a], *y = &kws[*(const uint8_t *)b];
	return strncmp(x->text + x->fingerprint, y->text + y->fingerprint, FINGERPRINT);
}

/* Each keyword's fingerprint, in the bucket where it adds the fewest
 * triples (alike fingerprints share one), and the tables. */
static void build_buckets(struct secret_rules *s)
{
	uint8_t order[N_RULES * MAX_KEYWORDS];
	for (size_t i = 0; i < s->n_keywords; i++) {
		s->keywords[i].fingerprint = choose_fingerprint(&s->keywords[i]);
		order[i] = (uint8_t)i;
	}
	qsort_r(order, s->n_keywords, 1, compare_fingerprints, s->keywords);
	struct bucket_tables tables[BUCKETS] = {0};
	for (size_t i = 0; i < s->n_keywords; i++) {
		const struct keyword *kw = &s->keywords[order[i]];
		size_t best = 0;
		uint64_t best_cost = UINT64_MAX;
		for (size_t b = 0; b < BUCKETS; b++) {
			struct bucket_tables t = tables[b];
			uint64_t before = s->bucket_size[b] ? bucket_volume(&t) : 0;
			bucket_add(&t, kw);
			if (bucket_volume(&t) - before < best_cost) {
				best_cost = bucket_volume(&t) - before;
				best = b;
			}
		}
		bucket_add(&tables[best], kw);
		s->bucket_keywords[best][s->bucket_size[best]++] = order[i];
		s->bucket_rules[best] |= 1u << kw->rule;
	}
	for (size_t b = 0; b < BUCKETS; b++)
		for (size_t k = 0; k < FINGERPRINT; k++)
			for (unsigned n = 0; n < 16; n++) {
				if (tables[b].lo[k] & (1u << n))
					s->nibble_lo[k][n] |= (uint8_t)(1u << b);
				if (tables[b].hi[k] & (1u << n))
					s->nibble_hi[k][n] |= (uint8_t)(1u << b);
			}
#ifdef VECTOR_PREFILTER
	s->vector = __builtin_cpu_supports("avx2");
#endif
}

int audit_secret_rules_new(struct secret_rules **out, struct petra_error **err)
{
	struct secret_rules *s = xcalloc(1, sizeof(*s));
	for (unsigned c = 0; c < 256; c++)
		s->lower[c] = (uint8_t)tolower((int)c);
	int r = 0;
	for (unsigned i = 0; i < N_RULES && r == 0; i++) {
		r = compile(rule_defs[i].regex, &s->code[i], err);
		for (unsigned k = 0; r == 0 && k < MAX_KEYWORDS && rule_defs[i].keywords[k]; k++) {
			/* Both scans need three bytes: a fingerprint, two pairs. */
			if (strlen(rule_defs[i].keywords[k]) < FINGERPRINT)
				r = petra_error_set(err, EINVAL,
						    "secret rule %s: keyword \"%s\" is too short",
						    rule_defs[i].id, rule_defs[i].keywords[k]);
			s->keywords[s->n_keywords++] = (struct keyword){
			    .text = rule_defs[i].keywords[k],
			    .len = strlen(rule_defs[i].keywords[k]),
			    .rule = i,
			};
		}
	}
	if (r == 0)
		r = compile("(?i)(?<![A-Za-z0-9_])([A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|"
			    "API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)[A-Za-z0-9_]*)="
			    "(\"[^\"$]+\"|'[^']+'|[^\\s\"'$;&|)]+)",
			    &s->assignment, err);
	if (r < 0) {
		audit_secret_rules_free(s);
		return r;
	}
	for (size_t i = 0; i < s->n_keywords; i++) {
		size_t at = choose_anchor(&s->keywords[i]);
		for (size_t k = at; k < at + 2; k++) {
			uint8_t a = (uint8_t)s->keywords[i].text[k];
			uint8_t b = (uint8_t)s->keywords[i].text[k + 1];
			uint8_t ua = (uint8_t)toupper(a), ub = (uint8_t)toupper(b);
			set_bit(s, a, b);
			set_bit(s, ua, b);
			set_bit(s, a, ub);
			set_bit(s, ua, ub);
			s->anchors[s->n_anchors++] = (struct anchor){.pair = (unsigned)a << 8 | b,
								     .offset = (unsigned)k,
								     .keyword = (unsigned)i};
		}
	}
	qsort(s->anchors, s->n_anchors, sizeof(*s->anchors), compare_anchors);
	for (size_t i = 0; i < s->n_keywords; i++)
		if (s->keywords[i].len > s->max_keyword_len)
			s->max_keyword_len = s->keywords[i].len;
	build_buckets(s);
	*out = s;
	return 0;
}

void audit_secret_rules_free(struct secret_rules *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < N_RULES; i++)
		pcre2_code_free(s->code[i]);
	pcre2_code_free(s->assignment);
	free(s);
}

/* ---- values ---- */

void audit_secret_mask(const char *value, size_t len, struct strbuf *out)
{
	/* The first four characters say what kind of thing it is (a prefix
	 * such as "ghp_" or "AKIA"); the rest stays unseen. */
	size_t shown = len > 12 ? 4 : 0;
	strbuf_add(out, value, shown);
	size_t stars = len - shown < 16 ? len - shown : 16;
	for (size_t i = 0; i < stars; i++)
		strbuf_addch(out, '*');
}

void audit_secret_fingerprint(const char *value, size_t len, char out[SECRET_FINGERPRINT_SIZE])
{
	char digest[OCI_DIGEST_SIZE];
	oci_digest_buffer(value, len, digest);
	memcpy(out, oci_digest_hex(digest), SECRET_FINGERPRINT_SIZE - 1);
	out[SECRET_FINGERPRINT_SIZE - 1] = '\0';
}

static bool known_example(const char *value, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_examples); i++)
		if (strlen(known_examples[i]) == len && !memcmp(known_examples[i], value, len))
			return true;
	return false;
}

/* ---- matching ---- */

struct secret_matcher {
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *stack;
};

static void matcher_init(struct secret_matcher *m)
{
	m->md = pcre2_match_data_create(16, NULL);
	m->mc = pcre2_match_context_create(NULL);
	m->stack = pcre2_jit_stack_create(32 << 10, 1 << 20, NULL);
	pcre2_jit_stack_assign(m->mc, NULL, m->stack);
}

static void matcher_release(struct secret_matcher *m)
{
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mc);
	pcre2_jit_stack_free(m->stack);
}

/* The first match of code in data from start: 1 with the value's span
 * and the whole match's, 0 when none. */
static int match_at(struct secret_matcher *m, const pcre2_code *code, const char *data, size_t len,
		    size_t start, size_t *vstart, size_t *vend, size_t *mstart, size_t *mend)
{
	int rc = pcre2_match(code, (PCRE2_SPTR)data, len, start, 0, m->md, m->mc);
	if (rc <= 0)
		return 0; /* no match, or a resource limit: not a finding */
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
	*mstart = ov[0];
	*mend = ov[1];
	*vstart = ov[0];
	*vend = ov[1];
	for (int g = 1; g < rc; g++)
		if (ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] > ov[2 * g]) {
			*vstart = ov[2 * g];
			*vend = ov[2 * g + 1];
			break;
		}
	return 1;
}

static void fill_match(struct secret_match *out, unsigned rule, const char *value, size_t len,
		       uint64_t offset)
{
	memset(out, 0, sizeof(*out));
	out->rule = rule;
	out->offset = offset;
	struct strbuf sb = STRBUF_INIT;
	audit_secret_mask(value, len, &sb);
	out->masked = strbuf_detach(&sb);
	audit_secret_fingerprint(value, len, out->fingerprint);
}

void audit_secret_match_release(struct secret_match *m)
{
	free(m->masked);
	memset(m, 0, sizeof(*m));
}

/* The anchors with a lower-case pair: [*first, *first + n). */
static size_t anchors_at(const struct secret_rules *s, unsigned pair, size_t *first)
{
	size_t lo = 0, hi = s->n_anchors;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->anchors[mid].pair < pair)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	size_t n = 0;
	while (lo + n < s->n_anchors && s->anchors[lo + n].pair == pair)
		n++;
	return n;
}

/* Does keyword k lie at data + start (case-insensitively)? */
static bool keyword_at(const struct secret_rules *s, const struct keyword *kw, const uint8_t *data,
		       size_t len, size_t at, size_t offset)
{
	if (at < offset || at - offset + kw->len > len)
		return false;
	const uint8_t *start = data + at - offset;
	for (size_t j = 0; j < kw->len; j++)
		if (s->lower[start[j]] != (uint8_t)kw->text[j])
			return false;
	return true;
}

/* The pair-bitmap scan, from position from (see prefilter). */
static uint32_t prefilter_pairs(const struct secret_rules *s, const uint8_t *data, size_t from,
				size_t len, uint32_t hits)
{
	const uint8_t *lc = s->lower;
	for (size_t i = from & ~(size_t)1; i + 1 < len; i += 2) {
		unsigned key = pair_key(data + i);
		if (!(s->bitmap[key / 64] & (UINT64_C(1) << (key % 64))))
			continue;
		size_t first,
		    n = anchors_at(s, (unsigned)lc[data[i]] << 8 | lc[data[i + 1]], &first);
		for (size_t k = first; k < first + n; k++) {
			const struct anchor *an = &s->anchors[k];
			const struct keyword *kw = &s->keywords[an->keyword];
			if (!(hits & (1u << kw->rule)) &&
			    keyword_at(s, kw, data, len, i, an->offset))
				hits |= 1u << kw->rule;
		}
	}
	return hits;
}

/* The buckets with a rule not yet found. */
static uint8_t live_buckets(const struct secret_rules *s, uint32_t hits)
{
	uint8_t live = 0;
	for (unsigned b = 0; b < BUCKETS; b++)
		if (s->bucket_rules[b] & ~hits)
			live |= (uint8_t)(1u << b);
	return live;
}

/* The keywords of buckets whose fingerprint may start at data + at. */
static uint32_t verify_buckets(const struct secret_rules *s, const uint8_t *data, size_t len,
			       size_t at, unsigned buckets, uint32_t hits)
{
	for (; buckets; buckets &= buckets - 1) {
		unsigned b = (unsigned)__builtin_ctz(buckets);
		for (size_t i = 0; i < s->bucket_size[b]; i++) {
			const struct keyword *kw = &s->keywords[s->bucket_keywords[b][i]];
			if (!(hits & (1u << kw->rule)) &&
			    keyword_at(s, kw, data, len, at, kw->fingerprint))
				hits |= 1u << kw->rule;
		}
	}
	return hits;
}

/* The fingerprint scan one position at a time, from `from`. */
static uint32_t prefilter_fingerprints(const struct secret_rules *s, const uint8_t *data,
				       size_t from, size_t len, uint32_t hits)
{
	uint8_t live = live_buckets(s, hits);
	for (size_t i = from; live && i + FINGERPRINT <= len; i++) {
		unsigned buckets = live;
		for (size_t k = 0; k < FINGERPRINT; k++)
			buckets &=
			    s->nibble_lo[k][data[i + k] & 15] & s->nibble_hi[k][data[i + k] >> 4];
		if (buckets) {
			hits = verify_buckets(s, data, len, i, buckets, hits);
			live = live_buckets(s, hits);
		}
	}
	return hits;
}

#ifdef VECTOR_PREFILTER
/* The fingerprint scan 32 positions at a time (the header says how). */
__attribute__((target("avx2"))) static uint32_t prefilter_vector(const struct secret_rules *s,
								 const uint8_t *data, size_t from,
								 size_t len, uint32_t hits)
{
	const __m256i nibble = _mm256_set1_epi8(0x0f);
	__m256i lo[FINGERPRINT], hi[FINGERPRINT];
	for (size_t k = 0; k < FINGERPRINT; k++) {
		lo[k] = _mm256_broadcastsi128_si256(
		    _mm_loadu_si128((const __m128i *)(const void *)s->nibble_lo[k]));
		hi[k] = _mm256_broadcastsi128_si256(
		    _mm_loadu_si128((const __m128i *)(const void *)s->nibble_hi[k]));
	}
	uint8_t live = live_buckets(s, hits);
	size_t i = from;
	/* The loads reach FINGERPRINT - 1 bytes beyond the 32 positions. */
	for (; live && i + 32 + FINGERPRINT - 1 <= len; i += 32) {
		__m256i m = _mm256_set1_epi8((char)live);
		for (size_t k = 0; k < FINGERPRINT; k++) {
			__m256i v =
			    _mm256_loadu_si256((const __m256i *)(const void *)(data + i + k));
			__m256i l = _mm256_shuffle_epi8(lo[k], _mm256_and_si256(v, nibble));
			__m256i h = _mm256_shuffle_epi8(
			    hi[k], _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
			m = _mm256_and_si256(m, _mm256_and_si256(l, h));
		}
		if (_mm256_testz_si256(m, m))
			continue;
		uint8_t buckets[32];
		_mm256_storeu_si256((__m256i *)(void *)buckets, m);
		uint32_t at =
		    ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(m, _mm256_setzero_si256()));
		for (; at; at &= at - 1) {
			unsigned j = (unsigned)__builtin_ctz(at);
			hits = verify_buckets(s, data, len, i + j, buckets[j], hits);
		}
		live = live_buckets(s, hits);
	}
	return prefilter_fingerprints(s, data, i, len, hits);
}
#endif

/* hits and the rules that have a keyword in data[0, len) (a bit per
 * rule): every keyword starting at or after `from` is found, and maybe
 * some starting before. Rules in hits are not looked for again. */
static uint32_t prefilter(const struct secret_rules *s, const uint8_t *data, size_t from,
			  size_t len, uint32_t hits)
{
#ifdef VECTOR_PREFILTER
	if (s->vector)
		return prefilter_vector(s, data, from, len, hits);
#endif
	return prefilter_pairs(s, data, from, len, hits);
}

uint32_t audit_secret_prefilter(const struct secret_rules *s, const void *data, size_t len,
				enum secret_prefilter_scan scan)
{
	switch (scan) {
	case SECRET_PREFILTER_PAIRS:
		return prefilter_pairs(s, data, 0, len, 0);
	case SECRET_PREFILTER_FINGERPRINTS:
		return prefilter_fingerprints(s, data, 0, len, 0);
	default:
		return prefilter(s, data, 0, len, 0);
	}
}

size_t audit_secret_scan_buffer(const struct secret_rules *s, const char *data, size_t len,
				struct secret_match *out, size_t max)
{
	uint32_t hits = prefilter(s, (const uint8_t *)data, 0, len, 0);
	if (!hits)
		return 0;
	struct secret_matcher m;
	matcher_init(&m);
	size_t n = 0;
	for (unsigned rule = 0; rule < N_RULES && n < max; rule++) {
		if (!(hits & (1u << rule)))
			continue;
		size_t vs, ve, ms, me;
		for (size_t start = 0;
		     match_at(&m, s->code[rule], data, len, start, &vs, &ve, &ms, &me);
		     start = me > start ? me : start + 1) {
			if (known_example(data + vs, ve - vs))
				continue;
			fill_match(&out[n++], rule, data + vs, ve - vs, vs);
			break;
		}
	}
	matcher_release(&m);
	return n;
}

int audit_secret_scan_assignment(const struct secret_rules *s, const char *text, size_t *start,
				 char **key, struct secret_match *out)
{
	struct secret_matcher m;
	matcher_init(&m);
	size_t len = strlen(text);
	int found = 0;
	while (*start < len) {
		int rc = pcre2_match(s->assignment, (PCRE2_SPTR)text, len, *start, 0, m.md, m.mc);
		if (rc < 3)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m.md);
		*start = ov[1] > *start ? ov[1] : *start + 1;
		const char *v = text + ov[4];
		size_t vl = ov[5] - ov[4];
		if (vl >= 2 && (v[0] == '"' || v[0] == '\'')) {
			v++;
			vl -= 2;
		}
		if (!vl)
			continue;
		*key = xstrndup(text + ov[2], ov[3] - ov[2]);
		fill_match(out, SECRET_RULE_ASSIGNMENT, v, vl, (uint64_t)(v - text));
		found = 1;
		break;
	}
	matcher_release(&m);
	return found;
}

char *audit_secret_mask_text(const struct secret_rules *s, const char *text)
{
	size_t len = strlen(text);
	uint32_t hits = prefilter(s, (const uint8_t *)text, 0, len, 0);
	/* Spans to hide, from every rule and every match. */
	size_t(*spans)[2] = NULL;
	size_t n = 0, alloc = 0;
	struct secret_matcher m;
	matcher_init(&m);
	for (unsigned rule = 0; rule < N_RULES; rule++) {
		if (!(hits & (1u << rule)))
			continue;
		size_t vs, ve, ms, me;
		for (size_t start = 0;
		     match_at(&m, s->code[rule], text, len, start, &vs, &ve, &ms, &me);
		     start = me > start ? me : start + 1) {
			xgrow((void **)&spans, &alloc, n + 1, sizeof(*spans));
			spans[n][0] = vs;
			spans[n][1] = ve;
			n++;
		}
	}
	/* Assignments (PASSWORD=...) too. */
	for (size_t start = 0; start < len;) {
		int rc = pcre2_match(s->assignment, (PCRE2_SPTR)text, len, start, 0, m.md, m.mc);
		if (rc < 3)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m.md);
		xgrow((void **)&spans, &alloc, n + 1, sizeof(*spans));
		spans[n][0] = ov[4];
		spans[n][1] = ov[5];
		n++;
		start = ov[1] > start ? ov[1] : start + 1;
	}
	matcher_release(&m);
	struct strbuf sb = STRBUF_INIT;
	size_t pos = 0;
	while (pos < len) {
		/* The earliest span starting at or after pos. */
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < n; i++)
			if (spans[i][0] >= pos &&
			    (best == SIZE_MAX || spans[i][0] < spans[best][0]))
				best = i;
		if (best == SIZE_MAX) {
			strbuf_add(&sb, text + pos, len - pos);
			break;
		}
		strbuf_add(&sb, text + pos, spans[best][0] - pos);
		size_t end = spans[best][1];
		/* Overlapping spans hide as one. */
		for (bool grew = true; grew;) {
			grew = false;
			for (size_t i = 0; i < n; i++)
				if (spans[i][0] < end && spans[i][1] > end) {
					end = spans[i][1];
					grew = true;
				}
		}
		audit_secret_mask(text + spans[best][0], end - spans[best][0], &sb);
		pos = end;
	}
	free(spans);
	return strbuf_detach(&sb);
}

/* ---- streams (file contents) ---- */

struct secret_stream {
	const struct secret_rules *rules;
	struct secret_matcher m;
	char *window;
	size_t len;
	uint64_t base;  /* file offset of window[0] */
	uint32_t hits;  /* the rules with a keyword in the window */
	uint32_t found; /* the rules reported for this file */
	struct secret_match matches[N_RULES];
	size_t n_matches;
};

struct secret_stream *audit_secret_stream_new(const struct secret_rules *rules)
{
	struct secret_stream *st = xcalloc(1, sizeof(*st));
	st->rules = rules;
	st->window = xmalloc(WINDOW);
	matcher_init(&st->m);
	return st;
}

void audit_secret_stream_free(struct secret_stream *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_matches; i++)
		audit_secret_match_release(&st->matches[i]);
	matcher_release(&st->m);
	free(st->window);
	free(st);
}

void audit_secret_stream_begin(struct secret_stream *st)
{
	for (size_t i = 0; i < st->n_matches; i++)
		audit_secret_match_release(&st->matches[i]);
	st->n_matches = 0;
	st->len = 0;
	st->base = 0;
	st->hits = 0;
	st->found = 0;
}

static unsigned line_of(const char *data, size_t offset)
{
	unsigned line = 1;
	for (const char *p = data; (p = memchr(p, '\n', (size_t)(data + offset - p))); p++)
		line++;
	return line;
}

static void scan_window(struct secret_stream *st)
{
	const struct secret_rules *s = st->rules;
	uint32_t hits = st->hits & ~st->found;
	for (unsigned rule = 0; hits && rule < N_RULES; rule++) {
		if (!(hits & (1u << rule)))
			continue;
		size_t vs, ve, ms, me;
		for (size_t start = 0; match_at(&st->m, s->code[rule], st->window, st->len, start,
						&vs, &ve, &ms, &me);
		     start = me > start ? me : start + 1) {
			if (known_example(st->window + vs, ve - vs))
				continue;
			struct secret_match *out = &st->matches[st->n_matches++];
			fill_match(out, rule, st->window + vs, ve - vs, st->base + vs);
			/* Lines are counted in the first window only: the
			 * files secrets live in are small, and counting every
			 * window would cost a pass over every byte. */
			out->line = st->base == 0 ? line_of(st->window, ms) : 0;
			st->found |= 1u << rule;
			break;
		}
	}
}

void audit_secret_stream_feed(struct secret_stream *st, const void *data, size_t len)
{
	const struct secret_rules *s = st->rules;
	/* A keyword that ends in the new bytes starts at most this far
	 * before them. */
	size_t back = s->max_keyword_len - 1;
	const char *p = data;
	while (len) {
		size_t take = WINDOW - st->len < len ? WINDOW - st->len : len;
		memcpy(st->window + st->len, p, take);
		size_t from = st->len > back ? st->len - back : 0;
		st->len += take;
		p += take;
		len -= take;
		st->hits =
		    prefilter(s, (const uint8_t *)st->window, from, st->len, st->hits | st->found);
		if (st->len == WINDOW) {
			scan_window(st);
			memmove(st->window, st->window + WINDOW - OVERLAP, OVERLAP);
			st->base += WINDOW - OVERLAP;
			st->len = OVERLAP;
			st->hits = prefilter(s, (const uint8_t *)st->window, 0, OVERLAP, st->found);
		}
	}
}

size_t audit_secret_stream_end(struct secret_stream *st, const struct secret_match **matches)
{
	/* What is left; after a slide only the overlap, already scanned. */
	if (st->len > (st->base ? OVERLAP : 0))
		scan_window(st);
	*matches = st->matches;
	return st->n_matches;
}
