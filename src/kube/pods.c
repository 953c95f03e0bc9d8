/* SPDX-License-Identifier: Apache-2.0 */
/* The containers of `kubectl get pods -A -o json` output: which image (by
 * digest) each runs. The file comes from elsewhere: every field read is
 * checked for its type, and an error names the field. */
#include "kube.h"

#include <string.h>

const char *kube_container_kind_name(enum kube_container_kind kind)
{
	return kind == KUBE_CONTAINER_INIT        ? "init"
	       : kind == KUBE_CONTAINER_EPHEMERAL ? "ephemeral"
						  : "container";
}

void kube_pods_release(struct kube_pods *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct kube_pod_container *c = &p->v[i];
		free(c->namespace);
		free(c->pod);
		free(c->container);
		free(c->image);
		free(c->image_id);
	}
	free(p->v);
	*p = (struct kube_pods){0};
}

/* Where a field is, for errors: "items[3].status.containerStatuses[0]". */
static int field_error(struct petra_error **err, const char *path, const char *field,
		       const char *expected)
{
	return petra_error_set(err, EINVAL, "%s%s%s: expected %s", path, *path && *field ? "." : "",
			       field, expected);
}

/* A string field: NULL when absent (or null) and optional; an error when
 * of another type, holding a NUL byte, or absent and required. */
static int get_string(const json_t *obj, const char *key, bool required, const char *path,
		      const char **out, struct petra_error **err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return required ? field_error(err, path, key, "a string (it is missing)") : 0;
	if (!json_is_string(v))
		return field_error(err, path, key, "a string");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return field_error(err, path, key, "a string without NUL bytes");
	*out = json_string_value(v);
	return 0;
}

/* An object or array field (NULL when absent or null). */
static int get_typed(const json_t *obj, const char *key, json_type type, const char *path,
		     json_t **out, struct petra_error **err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_typeof(v) != type)
		return field_error(err, path, key, type == JSON_OBJECT ? "an object" : "an array");
	*out = v;
	return 0;
}

/* "sha256:<64 hex>" at the end of an image ID: "docker-pullable://repo@sha256:…",
 * "repo@sha256:…", "sha256:…", "docker://sha256:…". "" when none. */
static void image_id_digest(const char *id, char digest[OCI_DIGEST_SIZE])
{
	digest[0] = '\0';
	const char *at = strrchr(id, '@');
	const char *d = at ? at + 1 : id;
	if (!at) {
		const char *scheme = strstr(id, "://");
		if (scheme)
			d = scheme + 3;
	}
	if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return;
	for (const char *h = d + 7; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return;
	memcpy(digest, d, 7 + 64 + 1);
}

static int read_status(const json_t *st, const char *path, const char *ns, const char *pod,
		       enum kube_container_kind kind, struct kube_pods *out, size_t *alloc,
		       struct petra_error **err)
{
	const char *name, *image, *image_id;
	json_t *state, *running;
	if (get_string(st, "name", true, path, &name, err) < 0 ||
	    get_string(st, "image", false, path, &image, err) < 0 ||
	    get_string(st, "imageID", false, path, &image_id, err) < 0 ||
	    get_typed(st, "state", JSON_OBJECT, path, &state, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *state_path = xasprintf("%s.state", path);
	if (state && get_typed(state, "running", JSON_OBJECT, state_path, &running, err) < 0)
		return -EINVAL;
	json_t *started = json_object_get(st, "started");
	if (started && !json_is_null(started) && !json_is_boolean(started))
		return field_error(err, path, "started", "a boolean");
	xgrow((void **)&out->v, alloc, out->n + 1, sizeof(*out->v));
	struct kube_pod_container *c = &out->v[out->n++];
	*c = (struct kube_pod_container){
	    .namespace = xstrdup(ns),
	    .pod = xstrdup(pod),
	    .container = xstrdup(name),
	    .kind = kind,
	    .running = state && running,
	    .image = image ? xstrdup(image) : NULL,
	    .image_id = xstrdup(image_id ? image_id : ""),
	};
	image_id_digest(c->image_id, c->digest);
	return 0;
}

static int read_pod(const json_t *pod, const char *path, struct kube_pods *out, size_t *alloc,
		    struct petra_error **err)
{
	if (!json_is_object(pod))
		return petra_error_set(err, EINVAL, "%s: expected an object (a Pod)", path);
	const char *kind, *name, *ns;
	json_t *meta, *status;
	if (get_string(pod, "kind", false, path, &kind, err) < 0)
		return -EINVAL;
	if (kind && strcmp(kind, "Pod") != 0)
		return petra_error_set(err, EINVAL, "%s.kind: expected \"Pod\", not \"%s\"", path,
				       kind);
	if (get_typed(pod, "metadata", JSON_OBJECT, path, &meta, err) < 0)
		return -EINVAL;
	if (!meta)
		return field_error(err, path, "metadata", "an object (it is missing)");
	_cleanup_free_ char *meta_path = xasprintf("%s%smetadata", path, *path ? "." : "");
	if (get_string(meta, "name", true, meta_path, &name, err) < 0 ||
	    get_string(meta, "namespace", false, meta_path, &ns, err) < 0 ||
	    get_typed(pod, "status", JSON_OBJECT, path, &status, err) < 0)
		return -EINVAL;
	if (!status) /* not scheduled yet: no containers to reach */
		return 0;
	static const struct {
		const char *key;
		enum kube_container_kind kind;
	} lists[] = {
	    {"initContainerStatuses", KUBE_CONTAINER_INIT},
	    {"containerStatuses", KUBE_CONTAINER_REGULAR},
	    {"ephemeralContainerStatuses", KUBE_CONTAINER_EPHEMERAL},
	};
	_cleanup_free_ char *status_path = xasprintf("%s%sstatus", path, *path ? "." : "");
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		json_t *a;
		if (get_typed(status, lists[l].key, JSON_ARRAY, status_path, &a, err) < 0)
			return -EINVAL;
		size_t i;
		json_t *st;
		json_array_foreach(a, i, st)
		{
			_cleanup_free_ char *st_path =
			    xasprintf("%s.%s[%zu]", status_path, lists[l].key, i);
			if (!json_is_object(st))
				return petra_error_set(err, EINVAL, "%s: expected an object",
						       st_path);
			if (read_status(st, st_path, ns ? ns : "default", name, lists[l].kind, out,
					alloc, err) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

int kube_pods_parse(const char *data, size_t len, const char *what, struct kube_pods *out,
		    struct petra_error **err)
{
	*out = (struct kube_pods){0};
	size_t alloc = 0;
	json_t *doc = json_parse_buffer(data, len, what, err);
	if (!doc)
		return -EINVAL; /* the message names `what` already */
	int r = 0;
	const char *kind = NULL;
	if (!json_is_object(doc)) {
		r = petra_error_set(err, EINVAL, "expected an object (a List of Pods)");
	} else if (get_string(doc, "kind", true, "", &kind, err) < 0) {
		r = -EINVAL;
	} else if (!strcmp(kind, "Pod")) {
		r = read_pod(doc, "", out, &alloc, err);
	} else if (!strcmp(kind, "List") || !strcmp(kind, "PodList")) {
		json_t *items = json_object_get(doc, "items");
		size_t i;
		json_t *pod;
		if (!json_is_array(items))
			r = field_error(err, "", "items", "an array");
		else
			json_array_foreach(items, i, pod)
			{
				_cleanup_free_ char *path = xasprintf("items[%zu]", i);
				if ((r = read_pod(pod, path, out, &alloc, err)) < 0)
					break;
			}
	} else {
		r = petra_error_set(err, EINVAL,
				    "kind: expected \"List\", \"PodList\" or \"Pod\", not \"%s\"",
				    kind);
	}
	json_decref(doc);
	if (r < 0) {
		kube_pods_release(out);
		return petra_error_prefix(err, "%s", what);
	}
	return 0;
}
