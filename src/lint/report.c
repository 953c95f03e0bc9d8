/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reports: text for people and editors (file:line:col ID severity
 * message), JSON for scripts, SARIF 2.1.0 for code-scanning dashboards and
 * Checkstyle XML for CI systems that read it.
 */
#include "internal.h"

#include <string.h>

int lint_format_parse(const char *name, enum lint_format *out)
{
	static const char *const names[] = {"text", "json", "sarif", "checkstyle"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i])) {
			*out = (enum lint_format)i;
			return 0;
		}
	return -EINVAL;
}

void lint_report_text(const struct lint_result *r, struct strbuf *out)
{
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct lint_finding *f = &r->findings[i];
		strbuf_addf(out, "%s:%u:%u %s %s %s\n", r->file, f->line, f->col ? f->col : 1,
			    f->rule, lint_severity_name(f->severity), f->message);
	}
}

static json_t *finding_json(const struct lint_result *r, const struct lint_finding *f)
{
	return json_pack("{s:s, s:i, s:i, s:i, s:s, s:s, s:s}", "file", r->file, "line",
			 (json_int_t)f->line, "column", (json_int_t)(f->col ? f->col : 1),
			 "end_line", (json_int_t)f->end_line, "rule", f->rule, "severity",
			 lint_severity_name(f->severity), "message", f->message);
}

json_t *lint_report_json(const struct lint_result *r)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < r->n_findings; i++)
		json_array_append_new(arr, finding_json(r, &r->findings[i]));
	return arr;
}

/* ---- SARIF 2.1.0 --------------------------------------------------------- */

static const char *sarif_level(enum lint_severity sev)
{
	switch (sev) {
	case LINT_ERROR:
		return "error";
	case LINT_WARNING:
		return "warning";
	case LINT_INFO:
	case LINT_STYLE:
		return "note";
	default:
		return "none";
	}
}

static json_t *sarif_rule(const char *id, const char *name, const char *summary,
			  enum lint_severity sev, const char *help)
{
	json_t *rule =
	    json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "id", id, "name", name, "shortDescription",
		      "text", summary, "defaultConfiguration", "level", sarif_level(sev));
	if (help && !strncmp(help, "https://", 8))
		json_object_set_new(rule, "helpUri", json_string(help));
	else if (help)
		json_object_set_new(rule, "help", json_pack("{s:s}", "text", help));
	return rule;
}

/* The tool.driver object, with every petra rule. */
static json_t *sarif_driver(void)
{
	json_t *rules = json_array();
	size_t n;
	const struct lint_rule *all = lint_rules(&n);
	for (size_t i = 0; i < n; i++) {
		char help[64];
		snprintf(help, sizeof(help), "docs/rules/%s.md", all[i].id);
		json_array_append_new(rules, sarif_rule(all[i].id, all[i].name, all[i].summary,
							all[i].severity, help));
	}
	return json_pack("{s:s, s:s, s:o}", "name", "petra", "version", PETRA_VERSION, "rules",
			 rules);
}

static const char sarif_schema[] = "https://json.schemastore.org/sarif-2.1.0.json";

json_t *lint_sarif_new(void)
{
	return json_pack("{s:s, s:s, s:[{s:{s:o}, s:[], s:s}]}", "$schema", sarif_schema, "version",
			 "2.1.0", "runs", "tool", "driver", sarif_driver(), "results", "columnKind",
			 "utf16CodeUnits");
}

/* A relative URI reference for a path: unreserved characters and "/"
 * as they are, the rest percent-encoded. */
static char *path_uri(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			strbuf_addch(&sb, (char)*p);
		else
			strbuf_addf(&sb, "%%%02X", *p);
	}
	return strbuf_detach(&sb);
}

/* The index of a rule in the driver's rules, adding ShellCheck's on first
 * use. */
static size_t sarif_rule_index(json_t *rules, const char *id, enum lint_severity sev)
{
	size_t i;
	json_t *r;
	json_array_foreach(rules, i, r)
	{
		if (!strcmp(json_string_value(json_object_get(r, "id")), id))
			return i;
	}
	char summary[64], help[96];
	snprintf(summary, sizeof(summary), "ShellCheck %s", id);
	snprintf(help, sizeof(help), "https://www.shellcheck.net/wiki/%s", id);
	json_array_append_new(rules, sarif_rule(id, id, summary, sev, help));
	return json_array_size(rules) - 1;
}

static json_t *sarif_result(json_t *rules, const struct lint_finding *f, const char *uri)
{
	size_t index = sarif_rule_index(rules, f->rule, f->severity);
	json_t *region =
	    json_pack("{s:i, s:i, s:i}", "startLine", (json_int_t)f->line, "startColumn",
		      (json_int_t)(f->col ? f->col : 1), "endLine", (json_int_t)f->end_line);
	return json_pack("{s:s, s:i, s:s, s:{s:s}, s:[{s:{s:{s:s}, s:o}}]}", "ruleId", f->rule,
			 "ruleIndex", (json_int_t)index, "level", sarif_level(f->severity),
			 "message", "text", f->message, "locations", "physicalLocation",
			 "artifactLocation", "uri", uri, "region", region);
}

void lint_sarif_add(json_t *sarif, const struct lint_result *r)
{
	json_t *run = json_array_get(json_object_get(sarif, "runs"), 0);
	json_t *rules =
	    json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	json_t *results = json_object_get(run, "results");
	_cleanup_free_ char *uri = path_uri(r->file);
	for (size_t i = 0; i < r->n_findings; i++)
		json_array_append_new(results, sarif_result(rules, &r->findings[i], uri));
}

/* ---- Checkstyle ------------------------------------------------------------ */

static void xml_escape(struct strbuf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			strbuf_addstr(out, "&amp;");
			break;
		case '<':
			strbuf_addstr(out, "&lt;");
			break;
		case '>':
			strbuf_addstr(out, "&gt;");
			break;
		case '"':
			strbuf_addstr(out, "&quot;");
			break;
		case '\'':
			strbuf_addstr(out, "&apos;");
			break;
		default:
			/* XML 1.0 has no way to write most control characters */
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				strbuf_addch(out, '?');
			else
				strbuf_addch(out, (char)*p);
		}
	}
}

static const char *checkstyle_severity(enum lint_severity sev)
{
	return sev == LINT_ERROR ? "error" : sev == LINT_WARNING ? "warning" : "info";
}

void lint_report_checkstyle(const struct lint_result *r, struct strbuf *out)
{
	strbuf_addstr(out, "<file name=\"");
	xml_escape(out, r->file);
	strbuf_addstr(out, "\">\n");
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct lint_finding *f = &r->findings[i];
		strbuf_addf(out, "<error line=\"%u\" column=\"%u\" severity=\"%s\" message=\"",
			    f->line, f->col ? f->col : 1, checkstyle_severity(f->severity));
		xml_escape(out, f->message);
		strbuf_addf(out, "\" source=\"petra.%s\"/>\n", f->rule);
	}
	strbuf_addstr(out, "</file>\n");
}

/* ---- the reporter --------------------------------------------------------- */

/*
 * Every format streams: JSON and SARIF write each finding as it comes
 * (SARIF's results before its tool object, which JSON's key order allows),
 * so memory does not grow with the number of files or findings beyond the
 * driver's rule list.
 */
struct lint_reporter {
	enum lint_format format;
	FILE *out;
	json_t *driver; /* SARIF: tool.driver, ShellCheck's rules added as they appear */
	size_t written; /* findings written so far */
	bool failed;
};

static void emit(struct lint_reporter *rp, const struct strbuf *sb)
{
	if (sb->len && fwrite(sb->buf, 1, sb->len, rp->out) != sb->len)
		rp->failed = true;
}

/* One element of the streamed array. Steals obj. */
static void emit_element(struct lint_reporter *rp, struct strbuf *sb, json_t *obj)
{
	char *text = json_dump_compact(obj, NULL);
	const char *indent = rp->format == LINT_FORMAT_JSON ? "  " : "    ";
	strbuf_addf(sb, "%s\n%s", rp->written++ ? "," : "", indent);
	strbuf_addstr(sb, text);
	free(text);
	json_decref(obj);
}

struct lint_reporter *lint_reporter_new(enum lint_format format, FILE *out)
{
	struct lint_reporter *rp = xcalloc(1, sizeof(*rp));
	rp->format = format;
	rp->out = out;
	struct strbuf sb = STRBUF_INIT;
	if (format == LINT_FORMAT_JSON) {
		strbuf_addch(&sb, '[');
	} else if (format == LINT_FORMAT_SARIF) {
		rp->driver = sarif_driver();
		strbuf_addf(&sb,
			    "{\n  \"$schema\": \"%s\",\n  \"version\": \"2.1.0\",\n  \"runs\": [{\n"
			    "   \"columnKind\": \"utf16CodeUnits\",\n   \"results\": [",
			    sarif_schema);
	} else if (format == LINT_FORMAT_CHECKSTYLE) {
		strbuf_addstr(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				   "<checkstyle version=\"4.3\">\n");
	}
	emit(rp, &sb);
	strbuf_release(&sb);
	return rp;
}

void lint_reporter_add(struct lint_reporter *rp, const struct lint_result *r)
{
	struct strbuf sb = STRBUF_INIT;
	switch (rp->format) {
	case LINT_FORMAT_TEXT:
		lint_report_text(r, &sb);
		break;
	case LINT_FORMAT_CHECKSTYLE:
		lint_report_checkstyle(r, &sb);
		break;
	case LINT_FORMAT_JSON:
		for (size_t i = 0; i < r->n_findings; i++)
			emit_element(rp, &sb, finding_json(r, &r->findings[i]));
		break;
	case LINT_FORMAT_SARIF: {
		_cleanup_free_ char *uri = path_uri(r->file);
		json_t *rules = json_object_get(rp->driver, "rules");
		for (size_t i = 0; i < r->n_findings; i++)
			emit_element(rp, &sb, sarif_result(rules, &r->findings[i], uri));
		break;
	}
	}
	emit(rp, &sb);
	strbuf_release(&sb);
}

int lint_reporter_finish(struct lint_reporter *rp)
{
	struct strbuf sb = STRBUF_INIT;
	if (rp->format == LINT_FORMAT_CHECKSTYLE) {
		strbuf_addstr(&sb, "</checkstyle>\n");
	} else if (rp->format == LINT_FORMAT_JSON) {
		strbuf_addstr(&sb, rp->written ? "\n]\n" : "]\n");
	} else if (rp->format == LINT_FORMAT_SARIF) {
		char *driver = json_dump_compact(rp->driver, NULL);
		strbuf_addf(&sb, "%s],\n   \"tool\": {\"driver\": %s}\n  }]\n}\n",
			    rp->written ? "\n   " : "", driver);
		free(driver);
	}
	emit(rp, &sb);
	strbuf_release(&sb);
	json_decref(rp->driver);
	bool failed = rp->failed || fflush(rp->out) != 0;
	free(rp);
	return failed ? -EIO : 0;
}
