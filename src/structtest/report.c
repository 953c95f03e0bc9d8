/* SPDX-License-Identifier: Apache-2.0 */
/* Printing structure test results: text as container-structure-test prints
 * them, JSON in its field names, JUnit XML for CI systems. */
#include "structtest.h"

#include <string.h>

static void print_text(const struct structtest_report *r, FILE *out)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct structtest_result *res = &r->results[i];
		fprintf(out, "=== RUN: %s: %s\n", res->kind, res->name);
		fprintf(out, "--- %s\n", res->passed ? "PASS" : "FAIL");
		fprintf(out, "duration: %.3fs\n", (double)res->duration_ns / 1e9);
		if (res->stdout_text && *res->stdout_text)
			fprintf(out, "stdout: %s%s", res->stdout_text,
				res->stdout_text[strlen(res->stdout_text) - 1] == '\n' ? "" : "\n");
		if (res->stderr_text && *res->stderr_text)
			fprintf(out, "stderr: %s%s", res->stderr_text,
				res->stderr_text[strlen(res->stderr_text) - 1] == '\n' ? "" : "\n");
		for (size_t k = 0; k < res->errors.n; k++)
			fprintf(out, "Error: %s\n", res->errors.v[k]);
		fputc('\n', out);
	}
	fprintf(out, "=====================================\n"
		     "============== RESULTS ==============\n"
		     "=====================================\n");
	fprintf(out, "Passes:      %u\n", r->passes);
	fprintf(out, "Failures:    %u\n", r->failures);
	fprintf(out, "Duration:    %.3fs\n", (double)r->duration_ns / 1e9);
	fprintf(out, "Total tests: %zu\n\n", r->n);
	fprintf(out, "%s\n", r->failures ? "FAIL" : "PASS");
}

static void print_json(const struct structtest_report *r, FILE *out)
{
	json_t *results = json_array();
	for (size_t i = 0; i < r->n; i++) {
		const struct structtest_result *res = &r->results[i];
		json_t *errors = json_array();
		for (size_t k = 0; k < res->errors.n; k++)
			json_array_append_new(errors, json_string(res->errors.v[k]));
		json_t *o = json_pack("{s:s,s:b,s:I}", "Name", res->name, "Pass", res->passed,
				      "Duration", (json_int_t)res->duration_ns);
		json_object_set_new(o, "Kind", json_string(res->kind));
		if (res->stdout_text)
			json_object_set_new(o, "Stdout", json_string(res->stdout_text));
		if (res->stderr_text)
			json_object_set_new(o, "Stderr", json_string(res->stderr_text));
		json_object_set_new(o, "Errors", errors);
		json_array_append_new(results, o);
	}
	json_t *doc = json_pack("{s:I,s:I,s:I,s:I,s:o}", "Pass", (json_int_t)r->passes, "Fail",
				(json_int_t)r->failures, "Total", (json_int_t)r->n, "Duration",
				(json_int_t)r->duration_ns, "Results", results);
	char *s = json_dump_pretty(doc);
	fprintf(out, "%s\n", s);
	free(s);
	json_decref(doc);
}

static void xml_escaped(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			/* XML 1.0 has no place for other control characters. */
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc('?', out);
			else
				fputc(*s, out);
		}
	}
}

static void print_junit(const struct structtest_report *r, FILE *out)
{
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites failures=\"%u\" tests=\"%zu\" time=\"%.3f\">\n", r->failures,
		r->n, (double)r->duration_ns / 1e9);
	fprintf(out,
		"  <testsuite name=\"petra structure tests\" failures=\"%u\" tests=\"%zu\" "
		"time=\"%.3f\">\n",
		r->failures, r->n, (double)r->duration_ns / 1e9);
	for (size_t i = 0; i < r->n; i++) {
		const struct structtest_result *res = &r->results[i];
		fprintf(out, "    <testcase name=\"");
		xml_escaped(out, res->kind);
		fputs(": ", out);
		xml_escaped(out, res->name);
		fprintf(out, "\" time=\"%.3f\"", (double)res->duration_ns / 1e9);
		if (res->passed) {
			fputs("/>\n", out);
			continue;
		}
		fputs(">\n", out);
		for (size_t k = 0; k < res->errors.n; k++) {
			fputs("      <failure message=\"", out);
			xml_escaped(out, res->errors.v[k]);
			fputs("\"/>\n", out);
		}
		fputs("    </testcase>\n", out);
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
}

void structtest_print(const struct structtest_report *report, enum structtest_format format,
		      FILE *out)
{
	switch (format) {
	case STRUCTTEST_TEXT:
		print_text(report, out);
		break;
	case STRUCTTEST_JSON:
		print_json(report, out);
		break;
	case STRUCTTEST_JUNIT:
		print_junit(report, out);
		break;
	}
}
