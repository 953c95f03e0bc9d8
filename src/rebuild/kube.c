/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plan as Kubernetes objects: a ConfigMap holding the plan (JSON) and
 * one Indexed Job per level, each index one image of the level, running
 * `petra rebuild --from-plan` in a pod without privileges. Jobs have no
 * order between them: level N is applied once level N-1 completed (the
 * annotation petra.dev/rebuild-after names it).
 */
#include "rebuild.h"

#include <errno.h>
#include <string.h>

#define PLAN_DIR "/etc/petra-rebuild"

size_t rebuild_level_size(const struct rebuild_plan *plan, unsigned level)
{
	size_t n = 0;
	for (size_t i = 0; i < plan->n_items; i++)
		if (plan->items[i].level == level && plan->items[i].action != REBUILD_ACTION_NONE)
			n++;
	return n;
}

ssize_t rebuild_level_item(const struct rebuild_plan *plan, unsigned level, size_t index)
{
	for (size_t i = 0; i < plan->n_items; i++) {
		const struct rebuild_item *it = &plan->items[i];
		if (it->level != level || it->action == REBUILD_ACTION_NONE)
			continue;
		if (index-- == 0)
			return (ssize_t)i;
	}
	return -1;
}

static json_t *metadata(const struct rebuild_kube_options *o, const char *name)
{
	json_t *m =
	    json_pack("{s:s, s:{s:s, s:s}}", "name", name, "labels", "app.kubernetes.io/name",
		      "petra-rebuild", "app.kubernetes.io/instance", o->name_prefix);
	if (o->namespace_)
		json_object_set_new(m, "namespace", json_string(o->namespace_));
	return m;
}

static json_t *restricted_container_context(void)
{
	return json_pack("{s:b, s:b, s:b, s:b, s:{s:[s]}, s:{s:s}}", "allowPrivilegeEscalation", 0,
			 "privileged", 0, "readOnlyRootFilesystem", 1, "runAsNonRoot", 1,
			 "capabilities", "drop", "ALL", "seccompProfile", "type", "RuntimeDefault");
}

static json_t *job(const struct rebuild_plan *plan, const struct rebuild_kube_options *o,
		   unsigned level, const char *configmap)
{
	size_t n = rebuild_level_size(plan, level);
	_cleanup_free_ char *name = xasprintf("%s-level-%u", o->name_prefix, level);
	json_t *images = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(
		    images,
		    json_string(plan->items[rebuild_level_item(plan, level, k)].names.v[0]));
	size_t len;
	_cleanup_free_ char *images_text = json_dump_compact(images, &len);
	json_decref(images);
	json_t *meta = metadata(o, name);
	json_t *ann = json_pack("{s:s}", "petra.dev/rebuild-images", images_text);
	if (level > 0)
		json_object_set_new(ann, "petra.dev/rebuild-after",
				    json_sprintf("%s-level-%u", o->name_prefix, level - 1));
	json_object_set_new(meta, "annotations", ann);
	_cleanup_free_ char *level_text = xasprintf("%u", level);
	json_t *args = json_pack("[s, s, s, s, s, s, s, s, s]", "rebuild", "--from-plan",
				 PLAN_DIR "/plan.json", "--level", level_text, "--index",
				 "$(JOB_COMPLETION_INDEX)", "--push", o->registry);
	json_t *env = json_pack("[{s:s, s:{s:{s:s}}}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "name",
				"JOB_COMPLETION_INDEX", "valueFrom", "fieldRef", "fieldPath",
				"metadata.annotations['batch.kubernetes.io/job-completion-index']",
				"name", "PETRA_ROOT", "value", "/var/lib/petra", "name", "TMPDIR",
				"value", "/tmp", "name", "HOME", "value", "/tmp");
	/* A build's share of a node: kube-lint wants limits on every
	 * container, and a storm of Jobs must not starve the node. */
	json_t *resources = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "requests", "cpu", "500m",
				      "memory", "512Mi", "limits", "cpu", "2", "memory", "2Gi");
	json_t *container = json_pack(
	    "{s:s, s:s, s:[s], s:o, s:o, s:o, s:o, s:[{s:s, s:s, s:b}, {s:s, s:s}, {s:s, s:s}]}",
	    "name", "rebuild", "image", o->petra_image, "command", "petra", "args", args, "env",
	    env, "resources", resources, "securityContext", restricted_container_context(),
	    "volumeMounts", "name", "plan", "mountPath", PLAN_DIR, "readOnly", 1, "name", "store",
	    "mountPath", "/var/lib/petra", "name", "tmp", "mountPath", "/tmp");
	json_t *pod_spec = json_pack(
	    "{s:s, s:b, s:{s:b, s:i, s:i, s:{s:s}}, s:[o], s:[{s:s, s:{s:s}}, {s:s, s:{}}, "
	    "{s:s, s:{}}]}",
	    "restartPolicy", "Never", "automountServiceAccountToken", 0, "securityContext",
	    "runAsNonRoot", 1, "runAsUser", 1000, "runAsGroup", 1000, "seccompProfile", "type",
	    "RuntimeDefault", "containers", container, "volumes", "name", "plan", "configMap",
	    "name", configmap, "name", "store", "emptyDir", "name", "tmp", "emptyDir");
	unsigned parallelism = o->parallelism && o->parallelism < n ? o->parallelism : (unsigned)n;
	json_t *template = json_pack(
	    "{s:{s:{s:s, s:s}}, s:o}", "metadata", "labels", "app.kubernetes.io/name",
	    "petra-rebuild", "app.kubernetes.io/instance", o->name_prefix, "spec", pod_spec);
	return json_pack("{s:s, s:s, s:o, s:{s:s, s:I, s:I, s:i, s:o}}", "apiVersion", "batch/v1",
			 "kind", "Job", "metadata", meta, "spec", "completionMode", "Indexed",
			 "completions", (json_int_t)n, "parallelism", (json_int_t)parallelism,
			 "backoffLimit", 1, "template", template);
}

static void add_document(struct strbuf *out, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	strbuf_addstr(out, "---\n");
	strbuf_addstr(out, text);
	strbuf_addch(out, '\n');
	free(text);
}

int rebuild_emit_kubernetes(const struct rebuild_plan *plan, const struct rebuild_kube_options *o,
			    struct strbuf *out, struct petra_error **err)
{
	if (!o->registry || !*o->registry)
		return petra_error_set(err, EINVAL, "Kubernetes Jobs need a registry to push to");
	_cleanup_free_ char *configmap = xasprintf("%s-plan", o->name_prefix);
	_cleanup_json_ json_t *plan_json = rebuild_plan_json(plan);
	json_object_set_new(plan_json, "registry", json_string(o->registry));
	_cleanup_free_ char *plan_text =
	    json_dumps(plan_json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	_cleanup_json_ json_t *cm =
	    json_pack("{s:s, s:s, s:o, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
		      "metadata", metadata(o, configmap), "data", "plan.json", plan_text);
	add_document(out, cm);
	for (unsigned level = 0; level < plan->n_levels; level++) {
		if (rebuild_level_size(plan, level) == 0)
			continue;
		_cleanup_json_ json_t *j = job(plan, o, level, configmap);
		add_document(out, j);
	}
	return 0;
}
