/* SPDX-License-Identifier: Apache-2.0 */
/* kube-lint's reports: text, JSON and SARIF 2.1.0. */
#include "kube.h"

#include <string.h>

void kube_lint_report_text(const struct kube_lint_result *r, struct strbuf *out)
{
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct kube_finding *f = &r->findings[i];
		strbuf_addf(out, "%s:%u: %s %s %s: %s\n", r->file, f->line, f->rule->id,
			    lint_severity_name(f->rule->severity), f->object, f->message);
	}
}

json_t *kube_lint_report_json(const struct kube_lint_result *r)
{
	json_t *findings = json_array();
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct kube_finding *f = &r->findings[i];
		json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s}", "rule", f->rule->id, "severity",
				      lint_severity_name(f->rule->severity), "object", f->object,
				      "line", (int)f->line, "message", f->message);
		json_object_set_new(j, "container",
				    f->container ? json_string(f->container) : json_null());
		json_array_append_new(findings, j);
	}
	json_t *notes = json_array();
	for (size_t i = 0; i < r->notes.n; i++)
		json_array_append_new(notes, json_string(r->notes.v[i]));
	return json_pack("{s:s,s:i,s:o,s:o}", "file", r->file, "objects", (int)r->objects,
			 "findings", findings, "notes", notes);
}

static const char *sarif_level(enum lint_severity sev)
{
	return sev == LINT_ERROR ? "error" : sev == LINT_WARNING ? "warning" : "note";
}

json_t *kube_lint_sarif_new(void)
{
	json_t *rules = json_array();
	size_t n;
	const struct kube_rule *all = kube_lint_rules(&n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *help = xasprintf("docs/rules/%s.md", all[i].id);
		json_array_append_new(
		    rules, json_pack("{s:s,s:s,s:{s:s},s:{s:s},s:{s:s}}", "id", all[i].id, "name",
				     all[i].name, "shortDescription", "text", all[i].summary,
				     "defaultConfiguration", "level", sarif_level(all[i].severity),
				     "help", "text", help));
	}
	return json_pack("{s:s,s:s,s:[{s:{s:{s:s,s:s,s:o}},s:[]}]}", "$schema",
			 "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0",
			 "runs", "tool", "driver", "name", "petra kube-lint", "version",
			 PETRA_VERSION, "rules", rules, "results");
}

void kube_lint_sarif_add(json_t *sarif, const struct kube_lint_result *r)
{
	json_t *run = json_array_get(json_object_get(sarif, "runs"), 0);
	json_t *results = json_object_get(run, "results");
	size_t n;
	const struct kube_rule *all = kube_lint_rules(&n);
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct kube_finding *f = &r->findings[i];
		_cleanup_free_ char *text = xasprintf("%s: %s", f->object, f->message);
		json_t *region = json_object();
		if (f->line > 0)
			json_object_set_new(region, "startLine", json_integer(f->line));
		json_array_append_new(
		    results, json_pack("{s:s,s:i,s:s,s:{s:s},s:[{s:{s:{s:s},s:o}}]}", "ruleId",
				       f->rule->id, "ruleIndex", (int)(f->rule - all), "level",
				       sarif_level(f->rule->severity), "message", "text", text,
				       "locations", "physicalLocation", "artifactLocation", "uri",
				       r->file, "region", region));
	}
}
