/* SPDX-License-Identifier: Apache-2.0 */
/* What installs the admission webhook itself: petra's own Deployment
 * (read-only, non-root, by digest, its TLS from a Secret), the Service in
 * front of it and the ValidatingWebhookConfiguration that sends the API
 * server's reviews there. */
#include "kube.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#define TLS_DIR "/etc/petra-admission/tls"
/* Registry images: where serve keeps their facts (an emptyDir: the root
 * is read-only; layers pass through it one at a time while their paths
 * are read, hence its size), its auth file and certificates. */
#define IMAGE_CACHE_DIR   "/var/cache/petra-admission"
#define IMAGE_CACHE_SIZE  "4Gi"
#define REGISTRY_AUTH_DIR "/etc/petra-admission/registry-auth"
#define CERT_DIR          "/etc/petra-admission/registry-certs"

static char *base64(const char *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
	return out;
}

static json_t *server_container(const struct kube_image_facts *f,
				const struct kube_webhook_options *o)
{
	_cleanup_free_ char *listen = xasprintf(":%d", o->port);
	json_t *c = json_pack(
	    "{s:s,s:s,s:s,s:[s,s,s,s,s,s,s,s,s,s,s],s:[{s:s,s:i,s:s}]}", "name", "petra-admission",
	    "image", f->by_digest, "imagePullPolicy", "IfNotPresent", "command", "petra",
	    "admission", "serve", "--listen", listen, "--tls-cert", TLS_DIR "/tls.crt", "--tls-key",
	    TLS_DIR "/tls.key", "--on-unknown-image", o->on_unknown_deny ? "deny" : "allow",
	    "ports", "name", "https", "containerPort", o->port, "protocol", "TCP");
	json_t *command = json_object_get(c, "command");
	json_array_append_new(command, json_string("--log-format"));
	json_array_append_new(command, json_string("json"));
	if (o->registry) {
		json_array_append_new(command, json_string("--registry"));
		json_array_append_new(command, json_string("--image-cache"));
		json_array_append_new(command, json_string(IMAGE_CACHE_DIR));
	}
	if (o->registry && o->registry_auth_secret) {
		json_array_append_new(command, json_string("--registry-auth"));
		json_array_append_new(command, json_string(REGISTRY_AUTH_DIR "/auth.json"));
	}
	if (o->registry && o->cert_dir_secret) {
		json_array_append_new(command, json_string("--cert-dir"));
		json_array_append_new(command, json_string(CERT_DIR));
	}
	if (o->registry && o->tls_verify_false)
		json_array_append_new(command, json_string("--tls-verify=false"));
	if (o->registry && o->refresh > 0) {
		_cleanup_free_ char *refresh = xasprintf("%ld", o->refresh);
		json_array_append_new(command, json_string("--refresh"));
		json_array_append_new(command, json_string(refresh));
	}
	json_t *caps = json_pack("{s:[s]}", "drop", "ALL");
	if (o->port < 1024)
		json_object_set_new(caps, "add", json_pack("[s]", "NET_BIND_SERVICE"));
	json_object_set_new(c, "securityContext",
			    json_pack("{s:b,s:b,s:o}", "allowPrivilegeEscalation", 0,
				      "readOnlyRootFilesystem", 1, "capabilities", caps));
	json_t *probe = json_pack("{s:{s:s,s:i,s:s},s:I,s:I}", "httpGet", "path", "/healthz",
				  "port", o->port, "scheme", "HTTPS", "periodSeconds",
				  (json_int_t)10, "timeoutSeconds", (json_int_t)2);
	json_object_set_new(c, "readinessProbe", json_deep_copy(probe));
	json_object_set_new(c, "livenessProbe", probe);
	json_object_set_new(c, "resources",
			    json_pack("{s:{s:s,s:s},s:{s:s,s:s}}", "limits", "memory", "128Mi",
				      "cpu", "1", "requests", "memory", "64Mi", "cpu", "100m"));
	json_t *mounts =
	    json_pack("[{s:s,s:s,s:b}]", "name", "tls", "mountPath", TLS_DIR, "readOnly", 1);
	for (size_t i = 0; i < f->n_writable; i++) {
		_cleanup_free_ char *label = kube_dns_label(f->writable[i].path);
		_cleanup_free_ char *vol = xasprintf("w%zu-%s", i, label);
		if (strlen(vol) > 63)
			vol[63] = '\0';
		json_array_append_new(
		    mounts, json_pack("{s:s,s:s}", "name", vol, "mountPath", f->writable[i].path));
	}
	if (o->registry)
		json_array_append_new(mounts, json_pack("{s:s,s:s}", "name", "image-cache",
							"mountPath", IMAGE_CACHE_DIR));
	if (o->registry && o->registry_auth_secret)
		json_array_append_new(mounts,
				      json_pack("{s:s,s:s,s:b}", "name", "registry-auth",
						"mountPath", REGISTRY_AUTH_DIR, "readOnly", 1));
	if (o->registry && o->cert_dir_secret)
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:b}", "name", "registry-certs",
							"mountPath", CERT_DIR, "readOnly", 1));
	json_object_set_new(c, "volumeMounts", mounts);
	return c;
}

static json_t *server_volumes(const struct kube_image_facts *f, const char *secret,
			      const struct kube_webhook_options *o)
{
	json_t *v = json_pack("[{s:s,s:{s:s,s:i}}]", "name", "tls", "secret", "secretName", secret,
			      "defaultMode", 0440);
	if (o->registry)
		json_array_append_new(v, json_pack("{s:s,s:{s:s}}", "name", "image-cache",
						   "emptyDir", "sizeLimit", IMAGE_CACHE_SIZE));
	/* A dockerconfigjson Secret's key is the auth file's format. */
	if (o->registry && o->registry_auth_secret)
		json_array_append_new(
		    v, json_pack("{s:s,s:{s:s,s:i,s:[{s:s,s:s}]}}", "name", "registry-auth",
				 "secret", "secretName", o->registry_auth_secret, "defaultMode",
				 0440, "items", "key", ".dockerconfigjson", "path", "auth.json"));
	if (o->registry && o->cert_dir_secret)
		json_array_append_new(v, json_pack("{s:s,s:{s:s,s:i}}", "name", "registry-certs",
						   "secret", "secretName", o->cert_dir_secret,
						   "defaultMode", 0440));
	for (size_t i = 0; i < f->n_writable; i++) {
		_cleanup_free_ char *label = kube_dns_label(f->writable[i].path);
		_cleanup_free_ char *vol = xasprintf("w%zu-%s", i, label);
		if (strlen(vol) > 63)
			vol[63] = '\0';
		json_t *empty = json_object();
		if (f->writable[i].memory)
			json_object_set_new(empty, "medium", json_string("Memory"));
		if (f->writable[i].size) {
			_cleanup_free_ char *q = kube_quantity_bytes(f->writable[i].size);
			json_object_set_new(empty, "sizeLimit", json_string(q));
		}
		json_array_append_new(v, json_pack("{s:s,s:o}", "name", vol, "emptyDir", empty));
	}
	return v;
}

/* What the webhook is asked about: CREATE and UPDATE of pods and of every
 * workload kind kube-lint reads. */
static json_t *webhook_rules(void)
{
	json_t *rules = json_array();
	static const struct {
		const char *group, *version;
		const char *resources[4];
	} groups[] = {
	    {"", "v1", {"pods", "replicationcontrollers"}},
	    {"apps", "v1", {"deployments", "statefulsets", "daemonsets", "replicasets"}},
	    {"batch", "v1", {"jobs", "cronjobs"}},
	};
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
		json_t *res = json_array();
		for (size_t k = 0; k < 4 && groups[i].resources[k]; k++)
			json_array_append_new(res, json_string(groups[i].resources[k]));
		json_array_append_new(
		    rules, json_pack("{s:[s],s:[s],s:[s,s],s:o,s:s}", "apiGroups", groups[i].group,
				     "apiVersions", groups[i].version, "operations", "CREATE",
				     "UPDATE", "resources", res, "scope", "Namespaced"));
	}
	return rules;
}

int kube_webhook_manifests(struct petra_store *store, const struct kube_webhook_options *o,
			   struct kube_deploy_result *res, struct petra_error **err)
{
	memset(res, 0, sizeof(*res));
	if (strcmp(o->failure_policy, "Fail") != 0 && strcmp(o->failure_policy, "Ignore") != 0)
		return petra_error_set(err, EINVAL, "failure policy %s: Fail or Ignore",
				       o->failure_policy);
	struct kube_image_facts f;
	if (kube_image_facts_load(store, o->image, o->gate, o->gate_ctx, &f, err) < 0)
		return -1;
	if (f.uid == 0) {
		kube_image_facts_release(&f);
		return petra_error_set(err, EPERM,
				       "%s: its USER is root; the webhook runs non-root (harden "
				       "the image: petra harden)",
				       o->image);
	}
	const char *name = o->name;
	_cleanup_free_ char *secret =
	    o->tls_secret ? xstrdup(o->tls_secret) : xasprintf("%s-tls", name);
	_cleanup_free_ char *ca = base64(o->ca_bundle, strlen(o->ca_bundle));
	json_t *labels = json_pack("{s:s}", "app", name);
	json_t *pod_sc =
	    json_pack("{s:b,s:I,s:I,s:{s:s}}", "runAsNonRoot", 1, "runAsUser", (json_int_t)f.uid,
		      "runAsGroup", (json_int_t)f.gid, "seccompProfile", "type", "RuntimeDefault");
	json_t *deployment = json_pack(
	    "{s:s,s:s,s:{s:s,s:s,s:O},s:{s:I,s:{s:O},s:{s:{s:O},s:{s:b,s:o,s:[o],s:o}}}}",
	    "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name, "namespace",
	    o->namespace, "labels", labels, "spec", "replicas", (json_int_t)o->replicas, "selector",
	    "matchLabels", labels, "template", "metadata", "labels", labels, "spec",
	    "automountServiceAccountToken", 0, "securityContext", pod_sc, "containers",
	    server_container(&f, o), "volumes", server_volumes(&f, secret, o));
	json_t *service =
	    json_pack("{s:s,s:s,s:{s:s,s:s,s:O},s:{s:O,s:[{s:s,s:i,s:i,s:s}]}}", "apiVersion", "v1",
		      "kind", "Service", "metadata", "name", name, "namespace", o->namespace,
		      "labels", labels, "spec", "selector", labels, "ports", "name", "https",
		      "port", 443, "targetPort", o->port, "protocol", "TCP");
	/* The webhook never judges its own namespace: its own pods must
	 * start even when it is down (with failurePolicy Fail, nothing else
	 * would). */
	_cleanup_free_ char *hook = xasprintf("%s.%s.petra.dev", name, o->namespace);
	json_t *vwc = json_pack(
	    "{s:s,s:s,s:{s:s,s:O},s:[{s:s,s:[s],s:{s:{s:s,s:s,s:s,s:i},s:s},s:o,s:s,s:s,s:s,s:"
	    "I,s:{s:[{s:s,s:s,s:[s]}]}}]}",
	    "apiVersion", "admissionregistration.k8s.io/v1", "kind",
	    "ValidatingWebhookConfiguration", "metadata", "name", name, "labels", labels,
	    "webhooks", "name", hook, "admissionReviewVersions", "v1", "clientConfig", "service",
	    "name", name, "namespace", o->namespace, "path", "/validate", "port", 443, "caBundle",
	    ca, "rules", webhook_rules(), "failurePolicy", o->failure_policy, "sideEffects", "None",
	    "matchPolicy", "Equivalent", "timeoutSeconds", (json_int_t)o->timeout_seconds,
	    "namespaceSelector", "matchExpressions", "key", "kubernetes.io/metadata.name",
	    "operator", "NotIn", "values", o->namespace);
	json_decref(labels);
	kube_image_facts_release(&f);
	if (!deployment || !service || !vwc) {
		json_decref(deployment), json_decref(service), json_decref(vwc);
		return petra_error_set(err, EINVAL, "internal: a webhook manifest did not build");
	}
	res->objects = json_pack("[o,o,o]", service, deployment, vwc);
	strvec_pushf(&res->notes,
		     "the Secret %s/%s (tls.crt, tls.key, for %s.%s.svc) must exist: kubectl "
		     "create secret tls %s -n %s --cert=... --key=...",
		     o->namespace, secret, name, o->namespace, secret, o->namespace);
	return 0;
}
