/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: what makes an image unsafe or mutable, layer by layer.
 *
 * audit_image() streams the image's layers once (imagefs: verified,
 * nothing written to disk) and reports findings, each with a stable ID, a
 * severity, the layer (index and digest) and history step that brought
 * it, and the path or config key:
 *
 *  - leaks: files a later layer removed or replaced that still sit in a
 *    lower layer and look sensitive; the bytes all hidden files take;
 *  - secrets in files, Env, Labels and history (keyword prefilter and a
 *    PCRE2-JIT regex per rule; values masked, fingerprints to allow-list);
 *  - immutability: what the runtime user or everyone can write outside
 *    the writable paths, files the runtime user owns, setuid/setgid, root
 *    or no USER, shells and package managers in an image that says it has
 *    none, device nodes;
 *  - efficiency as dive measures it, with thresholds;
 *  - the package inventory (dpkg status and status.d, apk installed) of
 *    the final filesystem, for a vulnerability matcher.
 *
 * Reports print as text (grouped by severity, one summary line), JSON or
 * SARIF 2.1.0. Also here: what audit and harden share — which programs
 * are shells and package managers, the labels petra's hardening writes,
 * and how many layers of an image come from its base.
 */
#ifndef PETRA_AUDIT_H
#define PETRA_AUDIT_H

#include "base/base.h"
#include "image/image.h"
#include "oci/oci.h"

/* The image declares it needs no shell or package manager ("true"); set
 * by petra harden --strip-shells. */
#define AUDIT_LABEL_NO_SHELL "org.petra.no-shell"
/* How many of the image's layers come from its base (a number). */
#define AUDIT_LABEL_BASE_LAYERS "org.petra.base.layers"
/* The manifest annotation builders write for the base image. */
#define AUDIT_ANNOTATION_BASE_DIGEST "org.opencontainers.image.base.digest"

enum audit_severity { AUDIT_INFO, AUDIT_WARNING, AUDIT_ERROR, AUDIT_NONE };
enum audit_category { AUDIT_LEAK, AUDIT_SECRET, AUDIT_IMMUTABILITY, AUDIT_EFFICIENCY };

const char *audit_severity_name(enum audit_severity s); /* "error", "warning", "info" */
/* "error", "warning", "info" or "none". */
int audit_severity_parse(const char *text, enum audit_severity *out, struct petra_error **err);
const char *audit_category_name(enum audit_category c);

/* Every kind of finding audit reports. */
struct audit_check {
	const char *id; /* stable: "secret-aws-access-key" */
	enum audit_category category;
	enum audit_severity severity;
	const char *summary; /* one line */
};
const struct audit_check *audit_checks(size_t *n);
const struct audit_check *audit_check_find(const char *id);

enum audit_where {
	AUDIT_WHERE_FILE,    /* path in a layer */
	AUDIT_WHERE_ENV,     /* key of config.Env */
	AUDIT_WHERE_LABEL,   /* key of config.Labels */
	AUDIT_WHERE_HISTORY, /* a history step's created_by or comment */
	AUDIT_WHERE_CONFIG,  /* the config as a whole (User) */
	AUDIT_WHERE_IMAGE,   /* the image as a whole (efficiency, hidden bytes) */
};

struct audit_finding {
	const struct audit_check *check;
	enum audit_severity severity;
	enum audit_where where;
	char *message; /* one line; secret values masked */
	char *path;    /* "/etc/passwd" (FILE), else NULL */
	char *key;     /* ENV and LABEL keys */
	long layer;    /* index from 0, -1 for none */
	char layer_digest[OCI_DIGEST_SIZE];
	long step;         /* history index, -1 for none */
	char *created_by;  /* that step's command, masked */
	long hidden_by;    /* leaks: the layer that removed or replaced it, -1 */
	char *masked;      /* secrets: the value, masked */
	char *fingerprint; /* secrets: 12 hex digits of the value's SHA-256 */
	unsigned line;     /* secrets in files: line, 0 unknown */
	uint64_t bytes;    /* sizes (leaks, efficiency) */
	uint64_t more;     /* entries below a directory with the same finding */
};

struct audit_package {
	char *name, *version, *source, *arch;
	const char *type; /* "deb" or "apk" */
	char *db;         /* the database file it is listed in ("/var/lib/dpkg/status") */
	long layer;       /* the layer where this version first appears */
};

struct audit_layer {
	char digest[OCI_DIGEST_SIZE];
	char diff_id[OCI_DIGEST_SIZE];
	int64_t size;
	uint64_t tar_bytes, file_bytes, entries;
	long step;
	char *created_by; /* masked */
};

struct audit_waste {
	char *path;
	uint64_t total, min;
	unsigned count;
	long last_layer;
};

/* A known false positive: every field given must match (NULL: any). */
struct audit_allow {
	const char *id;          /* a finding id, or a glob ("secret-*") */
	const char *path;        /* a glob over the path (fnmatch; "*" crosses "/") */
	const char *fingerprint; /* the fingerprint a report shows */
};

struct audit_options {
	const struct audit_allow *allow;
	size_t n_allow;
	/* Efficiency thresholds (dive's CI rules); negative or 0 disables. */
	double min_efficiency;     /* default 0.9 */
	uint64_t max_wasted_bytes; /* default 0: no limit */
	double max_wasted_share;   /* default 0.1 */
	uint64_t min_wasted_file;  /* report a path that wastes this much (1 MiB) */
	bool defaults_set;         /* false: the defaults above are used */
	long base_layers;          /* -1: from the image (audit_base_layers) */
	struct progress *progress;
};
/* The defaults above. */
void audit_options_init(struct audit_options *o);

struct petra_policy;
/* The policy file's audit section (docs/POLICY.md) over o: thresholds,
 * base-layers, *fail_on, and *allow (caller frees the array; its strings
 * belong to the policy, which must outlive o). No section: nothing
 * changes. policy may be NULL. */
int audit_options_from_policy(const struct petra_policy *policy, struct audit_options *o,
			      struct audit_allow **allow, size_t *n_allow,
			      enum audit_severity *fail_on, struct petra_error **err);

struct audit_report {
	char *image;
	char digest[OCI_DIGEST_SIZE];
	char *user;           /* USER as written ("" when none) */
	long uid, gid;        /* resolved; -1 when unknown */
	size_t base_layers;   /* as used */
	const char *base_how; /* where that number came from */
	struct audit_layer *layers;
	size_t n_layers;
	struct audit_finding *findings; /* most severe first, then by layer and path */
	size_t n_findings;
	unsigned counts[3]; /* by severity */
	double efficiency;
	uint64_t wasted_bytes, user_bytes;
	double wasted_share;
	struct audit_waste *waste; /* largest first, at most 50 */
	size_t n_waste;
	uint64_t hidden_bytes, hidden_files;
	struct audit_package *packages; /* by name */
	size_t n_packages;
	uint64_t tar_bytes; /* uncompressed layer bytes read */
	char **writable;    /* the writable paths (from the label) */
	size_t n_writable;
};

int audit_image(struct petra_store *store, const char *ref, const struct audit_options *o,
		struct audit_report *report, struct petra_error **err);
void audit_report_release(struct audit_report *r);

enum audit_format { AUDIT_FORMAT_TEXT, AUDIT_FORMAT_JSON, AUDIT_FORMAT_SARIF };
int audit_format_parse(const char *text, enum audit_format *out, struct petra_error **err);
void audit_print(const struct audit_report *r, enum audit_format format, FILE *out);
json_t *audit_report_json(const struct audit_report *r);
json_t *audit_report_sarif(const struct audit_report *r);
/* Is there a finding at or above `level` (AUDIT_NONE: never)? */
bool audit_fails(const struct audit_report *r, enum audit_severity level);

/* ---- shared with harden ---- */

enum audit_program { AUDIT_PROGRAM_OTHER, AUDIT_PROGRAM_SHELL, AUDIT_PROGRAM_PACKAGE_MANAGER };
/* A path ("bin/sh", no leading "/") in one of the bin directories whose
 * name is a shell (sh, bash, ash, dash, zsh, ..., and busybox, which is
 * one) or a package manager (apt, apt-get, dpkg, apk, yum, dnf, rpm, pip,
 * npm, ...). */
enum audit_program audit_program_kind(const char *path);

/* How many of img's layers come from its base: the base.layers label,
 * else the base digest annotation when that image is in the store and its
 * layers start img's, else `fallback`. *how (may be NULL) says which. */
size_t audit_base_layers(struct petra_store *store, const struct image *img, size_t fallback,
			 const char **how);

#endif
