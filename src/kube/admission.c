/* SPDX-License-Identifier: Apache-2.0 */
/* The admission webhook's decisions: an AdmissionReview request in, the
 * review with the response out, through the kube-lint rule engine. No
 * HTTP here (petra-admission serves it), so this is tested on its own. */
#include "kube.h"

#include <string.h>

static char *bad_request(int *status, const char *message)
{
	*status = 400;
	json_t *j = json_pack("{s:s}", "error", message);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

static char *review_response(const char *uid, bool allowed, const char *message, json_t *warnings)
{
	json_t *resp = json_pack("{s:s,s:b}", "uid", uid, "allowed", allowed);
	if (!allowed)
		json_object_set_new(resp, "status",
				    json_pack("{s:i,s:s,s:s}", "code", 403, "reason", "Forbidden",
					      "message", message ? message : "refused"));
	if (warnings && json_array_size(warnings) > 0)
		json_object_set(resp, "warnings", warnings);
	json_t *review = json_pack("{s:s,s:s,s:o}", "apiVersion", "admission.k8s.io/v1", "kind",
				   "AdmissionReview", "response", resp);
	char *text = json_dumps(review, JSON_COMPACT);
	json_decref(review);
	return text;
}

/* The pod spec a workload runs (or the Pod's own), for telling a scale
 * from a change; NULL for other kinds. */
static const json_t *pod_template(const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const json_t *spec = json_object_get(obj, "spec");
	if (!kind)
		return NULL;
	if (strcmp(kind, "Pod") == 0)
		return spec;
	if (strcmp(kind, "CronJob") == 0)
		spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
	return json_object_get(spec, "template");
}

void kube_admission_review(struct kube_linter *l, const struct kube_admission_options *o,
			   const char *body, size_t len, int *status, char **response)
{
	if (o->max_body && len > o->max_body) {
		*response = bad_request(status, "the request is too large");
		return;
	}
	json_error_t jerr;
	_cleanup_json_ json_t *review = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(review)) {
		*response = bad_request(status, "the body is not a JSON object");
		return;
	}
	const json_t *req = json_object_get(review, "request");
	const char *uid = json_string_value(json_object_get(req, "uid"));
	const char *api = json_string_value(json_object_get(review, "apiVersion"));
	const char *kind = json_string_value(json_object_get(review, "kind"));
	if (!api || strcmp(api, "admission.k8s.io/v1") != 0 || !kind ||
	    strcmp(kind, "AdmissionReview") != 0 || !json_is_object(req) || !uid) {
		*response = bad_request(status, "not an admission.k8s.io/v1 AdmissionReview "
						"request with a uid");
		return;
	}
	*status = 200;
	const char *op = json_string_value(json_object_get(req, "operation"));
	const json_t *obj = json_object_get(req, "object");
	const json_t *old = json_object_get(req, "oldObject");
	/* A workload that is going away, or only scaled, must always be
	 * let through: a banned workload has to be able to leave. */
	if (!op || strcmp(op, "DELETE") == 0 || strcmp(op, "CONNECT") == 0 ||
	    !json_is_object(obj)) {
		*response = review_response(uid, true, NULL, NULL);
		return;
	}
	if (strcmp(op, "UPDATE") == 0 && json_is_object(old) && pod_template(obj) &&
	    json_equal((json_t *)pod_template(obj), (json_t *)pod_template(old))) {
		*response = review_response(uid, true, NULL, NULL);
		return;
	}
	struct kube_lint_result res;
	kube_lint_object(l, obj, "request", &res);
	struct strbuf refused = STRBUF_INIT;
	json_t *warnings = json_array();
	for (size_t i = 0; i < res.n_findings; i++) {
		const struct kube_finding *f = &res.findings[i];
		_cleanup_free_ char *line =
		    xasprintf("%s %s: %s", f->rule->id, f->object, f->message);
		if (f->rule->severity >= o->deny_at) {
			if (refused.len)
				strbuf_addstr(&refused, "; ");
			strbuf_addstr(&refused, line);
		} else if (f->rule->severity >= LINT_WARNING) {
			json_array_append_new(warnings, json_string(line));
		}
	}
	*response = review_response(uid, refused.len == 0, strbuf_str(&refused), warnings);
	json_decref(warnings);
	strbuf_release(&refused);
	kube_lint_result_release(&res);
}
