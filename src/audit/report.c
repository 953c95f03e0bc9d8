/* SPDX-License-Identifier: Apache-2.0 */
/* Reports: text for people (grouped by severity, one summary line), JSON
 * for programs (with the inventory), SARIF 2.1.0 for code-scanning
 * dashboards. */
#include "internal.h"

#include <inttypes.h>
#include <string.h>

int audit_format_parse(const char *text, enum audit_format *out, struct petra_error **err)
{
	if (!strcmp(text, "text"))
		*out = AUDIT_FORMAT_TEXT;
	else if (!strcmp(text, "json"))
		*out = AUDIT_FORMAT_JSON;
	else if (!strcmp(text, "sarif"))
		*out = AUDIT_FORMAT_SARIF;
	else
		return petra_error_set(err, EINVAL, "unknown format \"%s\" (text, json or sarif)",
				       text);
	return 0;
}

static const char *where_name(enum audit_where w)
{
	static const char *const names[] = {"file", "env", "label", "history", "config", "image"};
	return names[w];
}

/* ---- text ---- */

static void text_location(const struct audit_finding *f, FILE *out)
{
	if (f->layer >= 0) {
		char d[13];
		oci_digest_short(f->layer_digest, d);
		fprintf(out, "      layer %ld (sha256:%s)", f->layer + 1, d);
		if (f->created_by) {
			/* One line, at most 72 characters of the command. */
			_cleanup_free_ char *flat = xstrdup(f->created_by);
			for (char *p = flat; *p; p++)
				if (*p == '\n' || *p == '\t' || *p == '\r')
					*p = ' ';
			if (strlen(flat) > 72)
				strcpy(flat + 69, "...");
			fprintf(out, ": %s", flat);
		}
		fputc('\n', out);
	} else if (f->step >= 0) {
		fprintf(out, "      history step %ld\n", f->step + 1);
	}
}

static void print_text(const struct audit_report *r, FILE *out)
{
	char total[32];
	format_size(r->tar_bytes, total, sizeof(total));
	fprintf(out, "petra audit %s (%s)\n", r->image, r->digest);
	fprintf(out, "%zu layers (%zu from the base, %s), %s of layer data; user ", r->n_layers,
		r->base_layers, r->base_how ? r->base_how : "default", total);
	if (!*r->user)
		fprintf(out, "none (root)");
	else if (r->uid >= 0)
		fprintf(out, "%s (uid %ld, gid %ld)", r->user, r->uid, r->gid);
	else
		fprintf(out, "%s (unknown)", r->user);
	fputc('\n', out);
	for (int s = AUDIT_ERROR; s >= AUDIT_INFO; s--) {
		if (!r->counts[s])
			continue;
		const char *name = audit_severity_name((enum audit_severity)s);
		fprintf(out, "\n");
		for (const char *p = name; *p; p++)
			fputc(*p - 32, out);
		fprintf(out, " (%u)\n", r->counts[s]);
		for (size_t i = 0; i < r->n_findings; i++) {
			const struct audit_finding *f = &r->findings[i];
			if ((int)f->severity != s)
				continue;
			fprintf(out, "  %-24s %s", f->check->id, f->message);
			if (f->line)
				fprintf(out, " (line %u)", f->line);
			if (f->more)
				fprintf(out, " (and %" PRIu64 " more below)", f->more);
			fputc('\n', out);
			if (f->where == AUDIT_WHERE_FILE || f->where == AUDIT_WHERE_HISTORY ||
			    f->step >= 0)
				text_location(f, out);
		}
	}
	char wasted[32], hidden[32];
	format_size(r->wasted_bytes, wasted, sizeof(wasted));
	format_size(r->hidden_bytes, hidden, sizeof(hidden));
	fprintf(out,
		"\n%u error%s, %u warning%s, %u info; efficiency %.1f%%, %s wasted; %s hidden in "
		"history; %zu package%s\n",
		r->counts[AUDIT_ERROR], r->counts[AUDIT_ERROR] == 1 ? "" : "s",
		r->counts[AUDIT_WARNING], r->counts[AUDIT_WARNING] == 1 ? "" : "s",
		r->counts[AUDIT_INFO], r->efficiency * 100, wasted, hidden, r->n_packages,
		r->n_packages == 1 ? "" : "s");
}

/* ---- JSON ---- */

static json_t *layer_ref(const struct audit_finding *f)
{
	if (f->layer < 0)
		return json_null();
	return json_pack("{s:I,s:s}", "index", (json_int_t)f->layer, "digest", f->layer_digest);
}

static void set_opt_string(json_t *o, const char *key, const char *value)
{
	if (value)
		json_object_set_new(o, key, json_string(value));
}

static json_t *finding_json(const struct audit_finding *f)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", f->check->id, "severity",
			      audit_severity_name(f->severity), "category",
			      audit_category_name(f->check->category), "where",
			      where_name(f->where), "message", f->message);
	set_opt_string(o, "path", f->path);
	set_opt_string(o, "key", f->key);
	json_object_set_new(o, "layer", layer_ref(f));
	json_object_set_new(o, "step", f->step >= 0 ? json_integer(f->step) : json_null());
	set_opt_string(o, "created_by", f->created_by);
	if (f->hidden_by >= 0)
		json_object_set_new(o, "hidden_by_layer", json_integer(f->hidden_by));
	set_opt_string(o, "value", f->masked);
	set_opt_string(o, "fingerprint", f->fingerprint);
	if (f->line)
		json_object_set_new(o, "line", json_integer(f->line));
	if (f->bytes)
		json_object_set_new(o, "bytes", json_integer((json_int_t)f->bytes));
	if (f->more)
		json_object_set_new(o, "more_below", json_integer((json_int_t)f->more));
	return o;
}

json_t *audit_report_json(const struct audit_report *r)
{
	json_t *layers = json_array();
	for (size_t i = 0; i < r->n_layers; i++) {
		const struct audit_layer *l = &r->layers[i];
		json_t *o =
		    json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I}", "index", (json_int_t)i, "digest",
			      l->digest, "diff_id", l->diff_id, "size", (json_int_t)l->size,
			      "tar_bytes", (json_int_t)l->tar_bytes, "file_bytes",
			      (json_int_t)l->file_bytes, "entries", (json_int_t)l->entries);
		json_object_set_new(o, "base", json_boolean(i < r->base_layers));
		json_object_set_new(o, "step", l->step >= 0 ? json_integer(l->step) : json_null());
		set_opt_string(o, "created_by", l->created_by);
		json_array_append_new(layers, o);
	}
	json_t *findings = json_array();
	for (size_t i = 0; i < r->n_findings; i++)
		json_array_append_new(findings, finding_json(&r->findings[i]));
	json_t *waste = json_array();
	for (size_t i = 0; i < r->n_waste; i++)
		json_array_append_new(
		    waste, json_pack("{s:s,s:I,s:I,s:i,s:I}", "path", r->waste[i].path, "total",
				     (json_int_t)r->waste[i].total, "min",
				     (json_int_t)r->waste[i].min, "count", (int)r->waste[i].count,
				     "last_layer", (json_int_t)r->waste[i].last_layer));
	json_t *packages = json_array();
	for (size_t i = 0; i < r->n_packages; i++) {
		const struct audit_package *p = &r->packages[i];
		json_array_append_new(
		    packages, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "name", p->name, "version",
					p->version, "source", p->source, "arch", p->arch, "type",
					p->type, "db", p->db, "layer", (json_int_t)p->layer));
	}
	json_t *writable = json_array();
	for (size_t i = 0; i < r->n_writable; i++)
		json_array_append_new(writable, json_string(r->writable[i]));
	json_t *user = json_pack("{s:s}", "user", r->user);
	json_object_set_new(user, "uid", r->uid >= 0 ? json_integer(r->uid) : json_null());
	json_object_set_new(user, "gid", r->gid >= 0 ? json_integer(r->gid) : json_null());
	json_object_set_new(user, "writable_paths", writable);
	return json_pack("{s:s,s:s,s:o,s:{s:I,s:s},s:o,s:o,s:{s:i,s:i,s:i},s:{s:f,s:I,s:I,s:f,s:o},"
			 "s:{s:I,s:I},s:{s:o},s:{s:I}}",
			 "image", r->image, "digest", r->digest, "runtime", user, "base", "layers",
			 (json_int_t)r->base_layers, "from", r->base_how ? r->base_how : "default",
			 "layers", layers, "findings", findings, "summary", "error",
			 (int)r->counts[AUDIT_ERROR], "warning", (int)r->counts[AUDIT_WARNING],
			 "info", (int)r->counts[AUDIT_INFO], "efficiency", "score", r->efficiency,
			 "wasted_bytes", (json_int_t)r->wasted_bytes, "user_bytes",
			 (json_int_t)r->user_bytes, "wasted_share", r->wasted_share, "paths", waste,
			 "hidden", "bytes", (json_int_t)r->hidden_bytes, "files",
			 (json_int_t)r->hidden_files, "inventory", "packages", packages, "read",
			 "tar_bytes", (json_int_t)r->tar_bytes);
}

/* ---- SARIF ---- */

static const char *sarif_level(enum audit_severity s)
{
	return s == AUDIT_ERROR ? "error" : s == AUDIT_WARNING ? "warning" : "note";
}

json_t *audit_report_sarif(const struct audit_report *r)
{
	size_t n_checks;
	const struct audit_check *all = audit_checks(&n_checks);
	json_t *rules = json_array();
	for (size_t i = 0; i < n_checks; i++)
		json_array_append_new(rules,
				      json_pack("{s:s,s:{s:s},s:{s:s},s:{s:s}}", "id", all[i].id,
						"shortDescription", "text", all[i].summary,
						"defaultConfiguration", "level",
						sarif_level(all[i].severity), "properties",
						"category", audit_category_name(all[i].category)));
	json_t *results = json_array();
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct audit_finding *f = &r->findings[i];
		json_t *res = json_pack("{s:s,s:i,s:s,s:{s:s}}", "ruleId", f->check->id,
					"ruleIndex", (int)(f->check - all), "level",
					sarif_level(f->severity), "message", "text", f->message);
		json_t *location = json_object();
		if (f->path) {
			json_t *phys = json_pack("{s:{s:s,s:s}}", "artifactLocation", "uri",
						 f->path + 1, "uriBaseId", "IMAGE_ROOT");
			if (f->line)
				json_object_set_new(phys, "region",
						    json_pack("{s:i}", "startLine", (int)f->line));
			json_object_set_new(location, "physicalLocation", phys);
		}
		json_t *logical = json_array();
		if (f->layer >= 0) {
			_cleanup_free_ char *name = xasprintf("layer %ld", f->layer + 1);
			json_array_append_new(logical, json_pack("{s:s,s:s,s:s}", "name", name,
								 "fullyQualifiedName",
								 f->layer_digest, "kind", "layer"));
		}
		if (f->key) {
			_cleanup_free_ char *name =
			    xasprintf("%s:%s", where_name(f->where), f->key);
			json_array_append_new(logical, json_pack("{s:s,s:s}", "name", name, "kind",
								 where_name(f->where)));
		}
		if (json_array_size(logical))
			json_object_set_new(location, "logicalLocations", logical);
		else
			json_decref(logical);
		if (json_object_size(location))
			json_object_set_new(res, "locations", json_pack("[o]", location));
		else
			json_decref(location);
		if (f->fingerprint)
			json_object_set_new(
			    res, "partialFingerprints",
			    json_pack("{s:s}", "secretFingerprint/v1", f->fingerprint));
		json_t *props =
		    json_pack("{s:s}", "category", audit_category_name(f->check->category));
		if (f->step >= 0)
			json_object_set_new(props, "step", json_integer(f->step));
		set_opt_string(props, "createdBy", f->created_by);
		if (f->hidden_by >= 0)
			json_object_set_new(props, "hiddenByLayer", json_integer(f->hidden_by));
		json_object_set_new(res, "properties", props);
		json_array_append_new(results, res);
	}
	json_t *run = json_pack("{s:{s:{s:s,s:s,s:o}},s:{s:{s:s,s:{s:s}}},s:o,s:{s:s,s:s}}", "tool",
				"driver", "name", "petra audit", "version", PETRA_VERSION, "rules",
				rules, "originalUriBaseIds", "IMAGE_ROOT", "uri", "file:///",
				"description", "text", "the image's merged filesystem", "results",
				results, "properties", "image", r->image, "digest", r->digest);
	return json_pack("{s:s,s:s,s:[o]}", "$schema",
			 "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0",
			 "runs", run);
}

void audit_print(const struct audit_report *r, enum audit_format format, FILE *out)
{
	if (format == AUDIT_FORMAT_TEXT) {
		print_text(r, out);
		return;
	}
	json_t *doc = format == AUDIT_FORMAT_JSON ? audit_report_json(r) : audit_report_sarif(r);
	char *s = json_dump_pretty(doc);
	fputs(s, out);
	fputc('\n', out);
	free(s);
	json_decref(doc);
}
