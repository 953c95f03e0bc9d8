/* SPDX-License-Identifier: Apache-2.0 */
/*
 * structtest: black-box structure tests of an image, in the
 * container-structure-test format (schemaVersion 2.0.0).
 *
 *  - structtest_load: a YAML (or JSON) test file, read with petra_yaml (base) and
 *    checked: known sections and fields only, the right types.
 *  - structtest_run: every test of a file against an image.
 *    commandTests run each command in a fresh read-only sandbox of the
 *    image (runtime_run, killed at the test's timeout; its output read
 *    through pipes as it is written, at most STRUCTTEST_OUTPUT_KEPT of it
 *    kept); setup, command and teardown share one in-memory
 *    writable layer when there is a setup or teardown, as the original
 *    commits between them); fileExistenceTests and fileContentTests look
 *    at the image's filesystem mounted read-only; metadataTest at its
 *    config. immutabilityTest, petra's own section, checks as the image's
 *    user that no directory but the listed ones is writable.
 *  - reports: text as container-structure-test prints it (=== RUN,
 *    --- PASS/--- FAIL, the summary), JSON and JUnit XML.
 */
#ifndef PETRA_STRUCTTEST_H
#define PETRA_STRUCTTEST_H

#include "base/base.h"
#include "image/image.h"
#include "oci/oci.h"
#include "runtime/runtime.h"

/* Parse and check a test file; *doc receives it as JSON. */
int structtest_load(const char *path, json_t **doc, struct petra_error **err);

struct structtest_result {
	char *kind; /* "Command Test", "File Existence Test", ... */
	char *name;
	bool passed;
	struct strvec errors;
	char *stdout_text, *stderr_text; /* command tests */
	uint64_t duration_ns;
};

struct structtest_report {
	struct structtest_result *results;
	size_t n;
	unsigned passes, failures;
	uint64_t duration_ns;
};
void structtest_report_release(struct structtest_report *report);

struct structtest_context {
	struct petra_store *store;
	const char *image;
	const char *run_dir;
	/* A command test's setup, command and teardown together (and the
	 * immutability probe) are killed after this; 0: no limit. */
	unsigned timeout_ms;
};

/* What is kept of each command's stdout and stderr, and of a file a
 * content test reads; the rest is read and counted, not kept. Patterns
 * match against what is kept; when there was more, a pattern that could
 * only be decided by the rest fails the test and says so. */
#define STRUCTTEST_OUTPUT_KEPT       ((size_t)8 << 20)
#define STRUCTTEST_DEFAULT_TIMEOUT_S 60

/* Run every test of doc against the image; results are appended to
 * report. Fails only when the tests cannot be run at all. */
int structtest_run(const struct structtest_context *ctx, const json_t *doc,
		   struct structtest_report *report, struct petra_error **err);

enum structtest_format { STRUCTTEST_TEXT, STRUCTTEST_JSON, STRUCTTEST_JUNIT };
/* Print a report (the results of all files) on out. */
void structtest_print(const struct structtest_report *report, enum structtest_format format,
		      FILE *out);

#endif
