/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes manifests that are restricted and read-only by construction. */
#include "kube.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

char *kube_quantity_bytes(uint64_t bytes)
{
	static const char *const units[] = {"Ki", "Mi", "Gi", "Ti"};
	const char *unit = "";
	uint64_t v = bytes;
	for (size_t i = 0; i < ARRAY_SIZE(units) && v > 0 && v % 1024 == 0; i++) {
		v /= 1024;
		unit = units[i];
	}
	return xasprintf("%llu%s", (unsigned long long)v, unit);
}

char *kube_quantity_millicpus(long millicpus)
{
	if (millicpus % 1000 == 0)
		return xasprintf("%ld", millicpus / 1000);
	return xasprintf("%ldm", millicpus);
}

/* A JSON string that takes a malloc'd C string. */
static json_t *json_string_take(char *s)
{
	json_t *j = json_string(s);
	free(s);
	return j;
}

void kube_deploy_result_release(struct kube_deploy_result *res)
{
	json_decref(res->objects);
	strvec_clear(&res->notes);
	memset(res, 0, sizeof(*res));
}

/* The emptyDir volume name of a writable path: "w-" and the path as a
 * DNS label, numbered so two paths that sanitize alike stay apart. */
static char *volume_name(const char *path, size_t index)
{
	_cleanup_free_ char *label = kube_dns_label(path);
	_cleanup_free_ char *name = xasprintf("w%zu-%s", index, label);
	if (strlen(name) > 63)
		name[63] = '\0';
	while (strlen(name) > 0 && name[strlen(name) - 1] == '-')
		name[strlen(name) - 1] = '\0';
	return steal_pointer(&name);
}

/* Seconds from a Healthcheck duration (nanoseconds), with a default. */
static json_int_t seconds(const json_t *hc, const char *key, json_int_t dflt)
{
	json_int_t ns = json_integer_value(json_object_get(hc, key));
	if (ns <= 0)
		return dflt;
	json_int_t s = ns / 1000000000;
	return s > 0 ? s : 1;
}

/* HEALTHCHECK as an exec liveness probe; NULL for none (or NONE). */
static json_t *liveness_probe(const json_t *hc, struct strvec *notes)
{
	json_t *test = json_object_get(hc, "Test");
	const char *kind = json_string_value(json_array_get(test, 0));
	if (!kind || strcmp(kind, "NONE") == 0)
		return NULL;
	json_t *command = json_array();
	if (strcmp(kind, "CMD-SHELL") == 0) {
		json_array_append_new(command, json_string("/bin/sh"));
		json_array_append_new(command, json_string("-c"));
		json_array_append(command, json_array_get(test, 1));
	} else if (strcmp(kind, "CMD") == 0) {
		for (size_t i = 1; i < json_array_size(test); i++)
			json_array_append(command, json_array_get(test, i));
	} else {
		strvec_pushf(notes, "HEALTHCHECK of kind %s is not understood; no liveness probe",
			     kind);
		json_decref(command);
		return NULL;
	}
	json_int_t retries = json_integer_value(json_object_get(hc, "Retries"));
	return json_pack("{s:{s:o},s:I,s:I,s:I,s:I}", "exec", "command", command,
			 "initialDelaySeconds", seconds(hc, "StartPeriod", 0), "periodSeconds",
			 seconds(hc, "Interval", 30), "timeoutSeconds", seconds(hc, "Timeout", 30),
			 "failureThreshold", retries > 0 ? retries : (json_int_t)3);
}

/* STOPSIGNAL: Kubernetes always sends SIGTERM, so another signal is sent
 * to PID 1 by a preStop hook, when the image has a kill to send it. */
static json_t *lifecycle(const struct kube_image_facts *f, struct strvec *notes)
{
	const char *sig = f->stop_signal;
	if (!sig)
		return NULL;
	const char *name = strncmp(sig, "SIG", 3) == 0 ? sig + 3 : sig;
	if (strcmp(name, "TERM") == 0 || strcmp(name, "15") == 0)
		return NULL;
	if (!f->has_kill) {
		strvec_pushf(notes,
			     "STOPSIGNAL %s cannot be honoured: Kubernetes sends SIGTERM and the "
			     "image has no kill for a preStop hook",
			     sig);
		return NULL;
	}
	return json_pack("{s:{s:{s:[s,s,s,s]}}}", "preStop", "exec", "command", "kill", "-s", name,
			 "1");
}

static json_t *container_spec(const struct kube_image_facts *f, const char *name, int port,
			      const struct kube_deploy_options *o, struct strvec *notes)
{
	json_t *caps = json_pack("{s:[s]}", "drop", "ALL");
	if (port > 0 && port < 1024)
		json_object_set_new(caps, "add", json_pack("[s]", "NET_BIND_SERVICE"));
	json_t *c = json_pack("{s:s,s:s,s:s}", "name", name, "image", f->by_digest,
			      "imagePullPolicy", "IfNotPresent");
	if (port > 0)
		json_object_set_new(c, "ports",
				    json_pack("[{s:s,s:i,s:s}]", "name", "main", "containerPort",
					      port, "protocol", "TCP"));
	if (o->n_env > 0) {
		json_t *env = json_array();
		for (size_t i = 0; i < o->n_env; i++) {
			const char *eq = strchr(o->env[i], '=');
			_cleanup_free_ char *k = xstrndup(o->env[i], (size_t)(eq - o->env[i]));
			json_array_append_new(env,
					      json_pack("{s:s,s:s}", "name", k, "value", eq + 1));
		}
		json_object_set_new(c, "env", env);
	}
	if (o->memory_bytes || o->millicpus) {
		json_t *limits = json_object(), *requests = json_object();
		if (o->memory_bytes) {
			json_object_set_new(limits, "memory",
					    json_string_take(kube_quantity_bytes(o->memory_bytes)));
			json_object_set(requests, "memory", json_object_get(limits, "memory"));
		}
		if (o->millicpus) {
			_cleanup_free_ char *q = kube_quantity_millicpus(o->millicpus);
			json_object_set_new(limits, "cpu", json_string(q));
			json_object_set_new(requests, "cpu", json_string(q));
		}
		json_object_set_new(c, "resources",
				    json_pack("{s:o,s:o}", "limits", limits, "requests", requests));
	}
	json_t *probe = f->healthcheck ? liveness_probe(f->healthcheck, notes) : NULL;
	if (probe)
		json_object_set_new(c, "livenessProbe", probe);
	json_t *hooks = lifecycle(f, notes);
	if (hooks)
		json_object_set_new(c, "lifecycle", hooks);
	json_t *sc = json_pack("{s:b,s:b,s:o}", "allowPrivilegeEscalation", 0,
			       "readOnlyRootFilesystem", 1, "capabilities", caps);
	json_object_set_new(c, "securityContext", sc);
	if (f->n_writable > 0) {
		json_t *mounts = json_array();
		for (size_t i = 0; i < f->n_writable; i++) {
			_cleanup_free_ char *vol = volume_name(f->writable[i].path, i);
			json_array_append_new(mounts, json_pack("{s:s,s:s}", "name", vol,
								"mountPath", f->writable[i].path));
		}
		json_object_set_new(c, "volumeMounts", mounts);
	}
	return c;
}

/* Where an init container mounts the emptyDir it fills. */
#define COPY_MOUNT "/mnt/petra-copy"

/* Kubernetes never copies image content into an emptyDir: for a path
 * the label marks "copy", an init container (the image itself, as the
 * same user, just as restricted) copies the image's files there into
 * the emptyDir first. The image's own cp does it; an image without one
 * runs petra's static copier from its copy helper image (the same layers
 * and the copier's), or, with no helper, gets a note and an empty
 * directory. */
static json_t *copy_init_containers(const struct kube_image_facts *f, const json_t *main,
				    struct strvec *notes)
{
	json_t *inits = json_array();
	for (size_t i = 0; i < f->n_writable; i++) {
		const struct image_writable_path *w = &f->writable[i];
		if (!w->copy)
			continue;
		if (!f->has_cp && !f->copy_image) {
			strvec_pushf(notes,
				     "%s is marked copy, but %s has no cp to fill its emptyDir "
				     "with: it starts empty",
				     w->path, f->by_digest);
			continue;
		}
		_cleanup_free_ char *vol = volume_name(w->path, i);
		_cleanup_free_ char *name = xasprintf("copy-%s", vol);
		if (strlen(name) > 63)
			name[63] = '\0';
		_cleanup_free_ char *from = xasprintf("%s/.", w->path);
		json_t *command =
		    f->has_cp ? json_pack("[s,s,s,s]", "cp", "-a", from, COPY_MOUNT "/")
			      : json_pack("[s,s,s]", KUBE_COPY_HELPER_PATH, w->path, COPY_MOUNT);
		json_t *c = json_pack("{s:s,s:s,s:s,s:o,s:O,s:[{s:s,s:s}]}", "name", name, "image",
				      f->has_cp ? f->by_digest : f->copy_image, "imagePullPolicy",
				      "IfNotPresent", "command", command, "securityContext",
				      json_object_get(main, "securityContext"), "volumeMounts",
				      "name", vol, "mountPath", COPY_MOUNT);
		const json_t *resources = json_object_get(main, "resources");
		if (resources)
			json_object_set(c, "resources", (json_t *)resources);
		/* The copy needs no capability, whatever the main one binds. */
		json_t *sc = json_deep_copy(json_object_get(c, "securityContext"));
		json_object_del(json_object_get(sc, "capabilities"), "add");
		json_object_set_new(c, "securityContext", sc);
		json_array_append_new(inits, c);
	}
	if (json_array_size(inits) == 0) {
		json_decref(inits);
		return NULL;
	}
	return inits;
}

static json_t *pod_spec(const struct kube_image_facts *f, const char *name, int port,
			const struct kube_deploy_options *o, struct strvec *notes)
{
	json_t *sc = json_pack("{s:b,s:I,s:I,s:{s:s}}", "runAsNonRoot", f->uid != 0, "runAsUser",
			       (json_int_t)f->uid, "runAsGroup", (json_int_t)f->gid,
			       "seccompProfile", "type", "RuntimeDefault");
	json_t *spec =
	    json_pack("{s:b,s:o,s:[o]}", "automountServiceAccountToken", 0, "securityContext", sc,
		      "containers", container_spec(f, name, port, o, notes));
	if (f->n_writable > 0) {
		json_t *volumes = json_array();
		for (size_t i = 0; i < f->n_writable; i++) {
			_cleanup_free_ char *vol = volume_name(f->writable[i].path, i);
			json_t *empty = json_object();
			/* tmpfs-only: the kubelet backs it with tmpfs (its size
			 * counts against the container's memory limit). */
			if (f->writable[i].memory)
				json_object_set_new(empty, "medium", json_string("Memory"));
			if (f->writable[i].size)
				json_object_set_new(
				    empty, "sizeLimit",
				    json_string_take(kube_quantity_bytes(f->writable[i].size)));
			json_array_append_new(
			    volumes, json_pack("{s:s,s:o}", "name", vol, "emptyDir", empty));
		}
		json_object_set_new(spec, "volumes", volumes);
		json_t *inits = copy_init_containers(
		    f, json_array_get(json_object_get(spec, "containers"), 0), notes);
		if (inits)
			json_object_set_new(spec, "initContainers", inits);
	}
	return spec;
}

/* The copy steps run cp, not the service: the label's paths are the
 * service's to write, so KL201 is waived for them, by name, where
 * kube-lint and the reader both see it. NULL when there is none. */
static json_t *copy_exemptions(const json_t *spec)
{
	const json_t *inits = json_object_get(spec, "initContainers");
	if (json_array_size(inits) == 0)
		return NULL;
	json_t *a = json_object();
	size_t i;
	const json_t *c;
	json_array_foreach(inits, i, c)
	{
		_cleanup_free_ char *key =
		    xasprintf("petra.dev/ignore.%s", json_string_value(json_object_get(c, "name")));
		json_object_set_new(a, key, json_string("KL201"));
	}
	return a;
}

/* A pod template or Pod's metadata: labels, and the copy steps' waivers. */
static void add_copy_exemptions(json_t *meta, const json_t *spec)
{
	json_t *a = copy_exemptions(spec);
	if (!a)
		return;
	json_t *have = json_object_get(meta, "annotations");
	if (have)
		json_object_update(have, a), json_decref(a);
	else
		json_object_set_new(meta, "annotations", a);
}

static json_t *metadata(const char *name, const struct kube_deploy_options *o, json_t *labels)
{
	json_t *m = json_pack("{s:s}", "name", name);
	if (o->namespace)
		json_object_set_new(m, "namespace", json_string(o->namespace));
	json_object_set_new(m, "labels", labels);
	return m;
}

static json_t *deployment(const struct kube_image_facts *f, const char *app, const char *track,
			  long replicas, int port, const struct kube_deploy_options *o,
			  struct strvec *notes, json_t *annotations)
{
	_cleanup_free_ char *name =
	    strcmp(track, "stable") == 0 ? xstrdup(app) : xasprintf("%s-%s", app, track);
	json_t *labels = json_pack("{s:s,s:s}", "app", app, "track", track);
	json_t *meta = metadata(name, o, json_deep_copy(labels));
	if (annotations)
		json_object_set_new(meta, "annotations", annotations);
	json_t *spec = pod_spec(f, app, port, o, notes);
	json_t *template_meta = json_pack("{s:O}", "labels", labels);
	add_copy_exemptions(template_meta, spec);
	/* labels: the template holds a reference (O), the selector takes ours (o). */
	return json_pack("{s:s,s:s,s:o,s:{s:I,s:{s:o},s:{s:o,s:o}}}", "apiVersion", "apps/v1",
			 "kind", "Deployment", "metadata", meta, "spec", "replicas",
			 (json_int_t)replicas, "selector", "matchLabels", labels, "template",
			 "metadata", template_meta, "spec", spec);
}

/* Split `total` replicas so the canary's share is as close to `weight`
 * percent as the count allows, with at least one replica on each track. */
static void split_replicas(long total, int weight, long *stable, long *canary)
{
	long c = lround((double)total * weight / 100.0);
	if (c < 1)
		c = 1;
	if (c > total - 1)
		c = total - 1;
	*canary = c;
	*stable = total - c;
}

/* An image with a copy path and no cp gets its copy helper image, made
 * (or found again: the same digest) in the store, when the caller gave
 * petra's copier; the note says what to push with the image. */
static int prepare_copy(struct petra_store *store, const char *ref, struct kube_image_facts *f,
			const struct kube_deploy_options *o, struct strvec *notes,
			struct petra_error **err)
{
	bool wanted = false;
	for (size_t i = 0; i < f->n_writable; i++)
		wanted |= f->writable[i].copy;
	if (!wanted || f->has_cp || !o->copy_helper)
		return 0;
	_cleanup_free_ char *tag = NULL;
	if (kube_copy_helper_image(store, ref, o->copy_helper, &f->copy_image, &tag, err) < 0)
		return -1;
	strvec_pushf(notes,
		     "%s has no cp: its copy paths are filled by the copy helper image %s "
		     "(its layers and petra's copier); push it with the image",
		     ref, tag);
	return 0;
}

static int check_root(const struct kube_image_facts *f, const char *ref,
		      const struct kube_deploy_options *o, struct strvec *notes,
		      struct petra_error **err)
{
	if (f->uid != 0)
		return 0;
	const char *why = *f->user ? "its USER resolves to uid 0" : "it has no USER (root)";
	if (!o->allow_root)
		return petra_error_set(err, EPERM,
				       "%s: %s, and the restricted Pod Security Standard forbids "
				       "root; harden the image (petra harden) or pass --allow-root",
				       ref, why);
	strvec_pushf(notes,
		     "%s runs as root (%s): --allow-root, so runAsNonRoot is false and the "
		     "manifest is not restricted",
		     ref, why);
	return 0;
}

static int check_options(const struct kube_deploy_options *o, long replicas,
			 struct petra_error **err)
{
	for (size_t i = 0; i < o->n_env; i++)
		if (!strchr(o->env[i], '=') || o->env[i][0] == '=')
			return petra_error_set(err, EINVAL, "--env %s: not K=V", o->env[i]);
	if (o->canary && replicas < 2)
		return petra_error_set(err, EINVAL,
				       "a canary needs at least 2 replicas to split (--replicas)");
	if (o->canary && (o->canary_weight < 1 || o->canary_weight > 99))
		return petra_error_set(err, EINVAL, "the canary weight must be 1 to 99 percent");
	return 0;
}

static json_t *service(const char *app, int port, const struct kube_deploy_options *o)
{
	return json_pack("{s:s,s:s,s:o,s:{s:{s:s},s:[{s:s,s:i,s:s,s:s}]}}", "apiVersion", "v1",
			 "kind", "Service", "metadata",
			 metadata(app, o, json_pack("{s:s}", "app", app)), "spec", "selector",
			 "app", app, "ports", "name", "main", "port", port, "targetPort", "main",
			 "protocol", "TCP");
}

static int add_canary(struct petra_store *store, const char *app, int port,
		      const struct kube_deploy_options *o, struct kube_deploy_result *res,
		      struct petra_error **err)
{
	struct kube_image_facts cf;
	if (kube_image_facts_load(store, o->canary, o->gate, o->gate_ctx, &cf, err) < 0)
		return -1;
	int r = check_root(&cf, o->canary, o, &res->notes, err);
	if (r == 0)
		r = prepare_copy(store, o->canary, &cf, o, &res->notes, err);
	if (r == 0) {
		res->canary_percent = 100.0 * (double)res->canary_replicas /
				      (double)(res->canary_replicas + res->stable_replicas);
		_cleanup_free_ char *share =
		    xasprintf("requested %d%%, actual %.1f%% (%ld of %ld replicas)",
			      o->canary_weight, res->canary_percent, res->canary_replicas,
			      res->canary_replicas + res->stable_replicas);
		json_array_append_new(
		    res->objects,
		    deployment(&cf, app, "canary", res->canary_replicas, port, o, &res->notes,
			       json_pack("{s:s}", "petra.dev/canary-weight", share)));
		strvec_pushf(&res->notes, "canary weight %s", share);
	}
	kube_image_facts_release(&cf);
	return r;
}

int kube_deploy_kubernetes(struct petra_store *store, const char *ref,
			   const struct kube_deploy_options *o, struct kube_deploy_result *res,
			   struct petra_error **err)
{
	memset(res, 0, sizeof(*res));
	long replicas = o->replicas > 0 ? o->replicas : 1;
	if (check_options(o, replicas, err) < 0)
		return -1;
	struct kube_image_facts f;
	if (kube_image_facts_load(store, ref, o->gate, o->gate_ctx, &f, err) < 0)
		return -1;
	res->objects = json_array();
	int r = check_root(&f, ref, o, &res->notes, err);
	if (r == 0)
		r = prepare_copy(store, ref, &f, o, &res->notes, err);
	_cleanup_free_ char *app = kube_dns_label(o->name ? o->name : f.app_name);
	int port = o->port > 0 ? o->port : f.port;
	res->stable_replicas = replicas;
	if (o->canary)
		split_replicas(replicas, o->canary_weight, &res->stable_replicas,
			       &res->canary_replicas);
	if (r == 0 && port > 0)
		json_array_append_new(res->objects, service(app, port, o));
	else if (r == 0)
		strvec_pushf(&res->notes,
			     "%s exposes no TCP port and --port was not given: no "
			     "Service",
			     ref);
	if (r == 0)
		json_array_append_new(res->objects,
				      deployment(&f, app, "stable", res->stable_replicas, port, o,
						 &res->notes, NULL));
	if (r == 0 && o->canary)
		r = add_canary(store, app, port, o, res, err);
	if (r == 0 && o->pod) {
		_cleanup_free_ char *pod_name = xasprintf("%s-pod", app);
		json_t *spec = pod_spec(&f, app, port, o, &res->notes);
		json_t *meta =
		    metadata(pod_name, o, json_pack("{s:s,s:s}", "app", app, "track", "pod"));
		add_copy_exemptions(meta, spec);
		json_array_append_new(res->objects,
				      json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind",
						"Pod", "metadata", meta, "spec", spec));
	}
	kube_image_facts_release(&f);
	if (r < 0)
		kube_deploy_result_release(res);
	return r;
}
