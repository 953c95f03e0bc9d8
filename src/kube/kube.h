/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube: petra's guarantees carried to where services run at scale.
 *
 *  - kube_image_facts: what a manifest needs to know about an image of the
 *    store: its reference by digest (name@sha256:..., never a tag), the
 *    numeric user and group its USER resolves to through the image's own
 *    /etc/passwd and /etc/group (as the runtime resolves it), the
 *    writable paths of its label, HEALTHCHECK, STOPSIGNAL, exposed ports.
 *  - kube_deploy_kubernetes: a Deployment and a Service (and a bare Pod on
 *    request), restricted (Pod Security Standards) by construction:
 *    non-root numeric user, no privilege escalation, every capability
 *    dropped (NET_BIND_SERVICE only for a port below 1024), the runtime's
 *    default seccomp profile, no service account token, a read-only root
 *    with one emptyDir per writable path. With a canary image, a second
 *    Deployment (track: canary) behind the same Service, replicas split
 *    as closely to the requested weight as the count allows.
 *  - kube_deploy_compose: the same guarantees as a Compose file (the
 *    current specification, or the classic version 2 format).
 *  - kube_yaml_emit: manifests (jansson trees) as YAML documents, emitted
 *    by libfyaml.
 *  - kube_lint_*: the manifest linter. Rules with stable IDs (KL1xx: the
 *    pod and its containers, KL2xx: against the image, in the store or,
 *    through kube_remote's cache, in a registry),
 *    every workload kind, Lists and multi-document files, containers,
 *    init and ephemeral containers, the pod's and the container's
 *    securityContext resolved as the kubelet resolves them, exemptions by
 *    annotation; severities and thresholds as lint/'s.
 *  - kube_pods_parse: which image (by digest) every container of
 *    `kubectl get pods -A -o json` output runs (exec --kubernetes).
 *
 * The trust gate lives in trust/, above this module: callers pass it in
 * as a function (kube_gate_fn) and every image is put to it before a line
 * of a manifest is made for it.
 */
#ifndef PETRA_KUBE_H
#define PETRA_KUBE_H

#include "base/base.h"
#include "image/image.h"
#include "lint/lint.h"
#include "oci/oci.h"

/* The trust gate's decision for one image of the store: 0 to go on, < 0
 * with err saying why the image may not become a workload. */
typedef int (*kube_gate_fn)(void *ctx, struct petra_store *store, const struct image *img,
			    struct petra_error **err);

/* The trust gate (gate.c): trust_gate_check under `policy` (NULL: every
 * image allowed), then `signature_policy` (a containers-policy.json; NULL:
 * none) over the image's signatures in the store. kube_trust_gate is a
 * kube_gate_fn whose ctx is a struct kube_trust_gate; a refusal is EPERM
 * with every reason in the message. */
struct petra_policy;
struct trust_containers_policy;
struct kube_trust_gate {
	struct petra_policy *policy;
	struct trust_containers_policy *signature_policy;
	char *signature_policy_path;
};
/* Load the policy (`policy_path`, else .petra/policy.yaml when there, as
 * build does) and the signature policy (NULL: none). */
int kube_trust_gate_load(struct kube_trust_gate *gate, const char *policy_path,
			 const char *signature_policy_path, struct petra_error **err);
void kube_trust_gate_release(struct kube_trust_gate *gate);
int kube_trust_gate(void *ctx, struct petra_store *store, const struct image *img,
		    struct petra_error **err);
/* The same gate for an image read from a registry (not in the store):
 * `name` as the manifest names it (without a digest), its manifest
 * `digest`, the manifest (its base annotations) and the signatures of a
 * struct kube_remote_image. No network call: judged on what was read;
 * the store (may be NULL) only continues the chain of bases. */
typedef int (*kube_remote_gate_fn)(void *ctx, struct petra_store *store, const char *name,
				   const char *digest, const json_t *manifest,
				   const json_t *signatures, struct petra_error **err);
int kube_trust_gate_remote(void *ctx, struct petra_store *store, const char *name,
			   const char *digest, const json_t *manifest, const json_t *signatures,
			   struct petra_error **err);

struct kube_image_facts {
	char *by_digest; /* "name@sha256:..." */
	char *app_name;  /* the last path component of the name, a DNS label */
	char *user;      /* the USER as the image says it ("" for none) */
	uid_t uid;
	gid_t gid;
	struct image_writable_path *writable;
	size_t n_writable;
	json_t *healthcheck;   /* the config's Healthcheck, or NULL (owned) */
	char *stop_signal;     /* the config's StopSignal, or NULL */
	int port;              /* the first exposed TCP port, or 0 */
	bool has_kill, has_sh; /* a kill or sh in the image's usual bin dirs */
	bool has_cp;           /* a cp there: copy paths are filled with it */
	char *copy_image;      /* else: the copy helper image by digest, or NULL */
};

/* Read the facts of image `ref` of the store (its layers are extracted
 * into the rootfs cache to read /etc/passwd). When gate is not NULL it is
 * asked first and its refusal is the error. */
int kube_image_facts_load(struct petra_store *store, const char *ref, kube_gate_fn gate,
			  void *gate_ctx, struct kube_image_facts *facts, struct petra_error **err);
void kube_image_facts_release(struct kube_image_facts *facts);

struct kube_deploy_options {
	const char *name;       /* NULL: the image's app name */
	const char *namespace;  /* NULL: none written (the context's) */
	long replicas;          /* 1 when 0 */
	int port;               /* 0: the image's first exposed TCP port, or none */
	const char *const *env; /* "K=V" */
	size_t n_env;
	uint64_t memory_bytes; /* limits and requests; 0: none */
	long millicpus;        /* limits; 0: none */
	bool pod;              /* also a bare Pod */
	bool allow_root;       /* a root USER is written as such instead of refused */
	const char *canary;    /* the canary track's image, or NULL */
	int canary_weight;     /* percent of the replicas for the canary, 1..99 */
	/* petra's static copier (petra-copy). An image with a copy path and
	 * no cp of its own gets a copy helper image made with it
	 * (kube_copy_helper_image); NULL: such a path is a note and starts
	 * empty. */
	const char *copy_helper;
	/* The trust gate. The CLI passes the trust gate here (trust/'s
	 * trust_gate_check once it exists); every image, the canary's too,
	 * goes through it before any manifest is made. NULL: no gate. */
	kube_gate_fn gate;
	void *gate_ctx;
};

struct kube_deploy_result {
	json_t *objects;     /* array of Kubernetes objects, in apply order */
	struct strvec notes; /* what the caller should tell the user */
	/* With a canary: the replicas of each track and the real share. */
	long stable_replicas, canary_replicas;
	double canary_percent;
};
void kube_deploy_result_release(struct kube_deploy_result *res);

int kube_deploy_kubernetes(struct petra_store *store, const char *ref,
			   const struct kube_deploy_options *options,
			   struct kube_deploy_result *res, struct petra_error **err);

/* Where the copy helper image holds petra's static copier. */
#define KUBE_COPY_HELPER_PATH "/.petra/copy"

/* The copy helper image of `ref` (copyhelper.c): its layers, shared, and
 * one more holding the static program `copier` at KUBE_COPY_HELPER_PATH,
 * tagged NAME:petra-copy-<short digest of ref> in the store. *by_digest is
 * "NAME@sha256:..." of it and *tag_ref (when not NULL) the tag; caller
 * frees both. The same image and copier always make the same digest. */
int kube_copy_helper_image(struct petra_store *store, const char *ref, const char *copier,
			   char **by_digest, char **tag_ref, struct petra_error **err);

/* How a tmpfs's owner is spelled: Docker passes uid=/gid= to the mount;
 * podman (4.3) refuses them and has "U" (owned by the container's user). */
enum kube_compose_engine { KUBE_COMPOSE_DOCKER, KUBE_COMPOSE_PODMAN };

struct kube_compose_options {
	int version; /* 0: the current Compose specification; 2: the classic "2.4" */
	enum kube_compose_engine engine;
	kube_gate_fn gate; /* as in kube_deploy_options */
	void *gate_ctx;
};

/* One service per image; res->objects holds the one Compose document. */
int kube_deploy_compose(struct petra_store *store, const char *const *refs, size_t n_refs,
			const struct kube_compose_options *options, struct kube_deploy_result *res,
			struct petra_error **err);

/* A Kubernetes resource quantity: bytes in the largest binary unit that
 * divides them ("64Mi"), millicores as cores or "m" ("2", "500m"). Caller
 * frees. */
char *kube_quantity_bytes(uint64_t bytes);
char *kube_quantity_millicpus(long millicpus);
/* A name made a DNS-1123 label: lower case, [a-z0-9-], at most 63. */
char *kube_dns_label(const char *s);

/* Each object as a YAML document ("---" before each), appended to out. */
int kube_yaml_emit(const json_t *object, struct strbuf *out, struct petra_error **err);

/* ---- what runs in a cluster (pods.c) ------------------------------------ */

/* The containers of `kubectl get pods -A -o json` (a List or PodList of
 * Pods, or one Pod): one per entry of status.initContainerStatuses,
 * containerStatuses and ephemeralContainerStatuses, in that order, pod by
 * pod. Read strictly: malformed JSON, or a field read of the wrong type,
 * is an error naming the field ("items[2].status.containerStatuses[0].
 * imageID: expected a string"); fields not read are not checked. */
enum kube_container_kind { KUBE_CONTAINER_REGULAR, KUBE_CONTAINER_INIT, KUBE_CONTAINER_EPHEMERAL };
struct kube_pod_container {
	char *namespace;       /* metadata.namespace, else "default" */
	char *pod, *container; /* metadata.name, the status's name */
	enum kube_container_kind kind;
	bool running;                 /* state.running is there */
	char *image;                  /* as the kubelet reports it, or NULL */
	char *image_id;               /* imageID as given ("" when none yet) */
	char digest[OCI_DIGEST_SIZE]; /* the sha256 digest the image ID ends in: the
				       * manifest's (a repo digest) or, from some
				       * runtimes for an image pulled by no digest,
				       * the config's; "" when it has none */
};
struct kube_pods {
	struct kube_pod_container *v;
	size_t n;
};
/* `what` names the input in errors (a file name). */
int kube_pods_parse(const char *data, size_t len, const char *what, struct kube_pods *out,
		    struct petra_error **err);
void kube_pods_release(struct kube_pods *p);
/* "container", "init", "ephemeral". */
const char *kube_container_kind_name(enum kube_container_kind kind);

/* ---- the manifest linter (lint.c, lintreport.c) ----------------------- */

struct kube_rule {
	const char *id;   /* "KL101" */
	const char *name; /* a slug, SARIF's rule name */
	enum lint_severity severity;
	const char *summary;
};
/* Every rule, in ID order; docs/rules/<ID>.md explains each. */
const struct kube_rule *kube_lint_rules(size_t *n);
const struct kube_rule *kube_lint_rule_find(const char *id);

struct kube_finding {
	const struct kube_rule *rule;
	char *object;    /* "Deployment/web" (namespace/ in front when given) */
	char *container; /* NULL for the pod as a whole */
	char *message;
	unsigned line; /* 1-based, in the file; 0 when unknown */
};

struct kube_lint_result {
	char *file;
	struct kube_finding *findings;
	size_t n_findings;
	unsigned objects;    /* workloads looked at */
	struct strvec notes; /* what was not checked and why */
};
void kube_lint_result_release(struct kube_lint_result *r);
enum lint_severity kube_lint_result_worst(const struct kube_lint_result *r);

/* ---- image facts from a registry (remote.c) ---------------------------- */

/* The config of images not in the store, read from their registry and
 * cached on disk by manifest digest (a tag through the digest it last
 * resolved to). */
struct kube_remote_options {
	const char *cache_dir; /* NULL: kube_remote_default_dir() */
	const char *auth_file; /* as pull's --authfile; NULL: the default files */
	const char *cert_dir;  /* as pull's --cert-dir */
	int tls_verify;        /* as registry_options: -1 registries.conf, 0, 1 */
	/* Ask the registry at once on a miss (kube-lint). Else (the webhook)
	 * never on the caller's path: a miss is queued for the refresher
	 * thread (kube_remote_start) and answered as unknown meanwhile. */
	bool fetch_on_miss;
};
struct kube_remote;
/* $XDG_CACHE_HOME/petra/kube-images, else ~/.cache/petra/kube-images. */
char *kube_remote_default_dir(void);
int kube_remote_new(const struct kube_remote_options *options, struct kube_remote **out,
		    struct petra_error **err);
/* Stops the refresher first when it runs. */
void kube_remote_free(struct kube_remote *r);
/* What the cache keeps of a registry image: everything but its layers. */
struct kube_remote_image {
	char digest[OCI_DIGEST_SIZE]; /* its manifest's */
	json_t *manifest;             /* owned */
	json_t *config;
	/* The cosign signatures of its .sig tag when last fetched: an array
	 * of {mediaType, payload (text), signature (base64), annotations};
	 * kube_trust_gate_remote reads them. */
	json_t *signatures;
	/* Its path list is in the cache (kube_remote_paths reads it). */
	bool has_paths;
	char *paths_error; /* why the last fetch could not read them, or NULL */
};
/* An image with more paths keeps no list (KL202 is left out for it). */
#define KUBE_REMOTE_MAX_PATHS 500000u
void kube_remote_image_release(struct kube_remote_image *img);
/* 1 and *img when known, 0 on a miss without fetch_on_miss (queued), < 0
 * when the registry failed. */
int kube_remote_image(struct kube_remote *r, const char *ref, struct kube_remote_image *img,
		      struct petra_error **err);
/* Every path of the filesystem of the image with manifest `digest`,
 * sorted, a directory's with a trailing "/" (KL202): false when the cache
 * has no list. A separate read: a list may be large, and the linter reads
 * it again only for another digest. */
bool kube_remote_paths(struct kube_remote *r, const char *digest, struct strvec *paths);
/* Changes whenever a fetch wrote the cache (thread-safe): what was read
 * from it before may be stale. */
unsigned kube_remote_generation(struct kube_remote *r);
/* The refresher thread: fetches what misses queued at once, and every
 * `interval` seconds (0: 300) the tags seen again. Start it after the
 * caller has blocked the signals it waits for. Thread-safe with
 * kube_remote_config. */
int kube_remote_start(struct kube_remote *r, unsigned interval, struct petra_error **err);

struct kube_lint_options {
	/* The image-aware rules (KL2xx) read images from this store; NULL
	 * leaves them out. */
	struct petra_store *store;
	/* KL203: the trust gate asked for every image found in the store;
	 * NULL leaves KL203 out. */
	kube_gate_fn gate;
	void *gate_ctx;
	/* Images not in the store are read from their registry through it
	 * (their label and USER; KL202 is left out for them). NULL: not
	 * looked for. Borrowed, and may be shared by linters (the webhook's
	 * reloads). */
	struct kube_remote *remote;
	/* KL203 for those images (gate_ctx is its ctx); NULL leaves it out. */
	kube_remote_gate_fn remote_gate;
	/* An image not in the store is a KL203 finding (the webhook's
	 * --on-unknown-image deny) instead of a note. */
	bool unknown_image_refused;
};
struct kube_linter;
int kube_linter_new(const struct kube_lint_options *options, struct kube_linter **out,
		    struct petra_error **err);
void kube_linter_free(struct kube_linter *l);
/* Lint the YAML documents of one file (a List's items one by one). A
 * document that is not YAML is an error naming its line. */
int kube_lint_buffer(struct kube_linter *l, const char *data, size_t len, const char *name,
		     struct kube_lint_result *out, struct petra_error **err);

/* Lint one object already parsed (a workload, a List): no line numbers. */
int kube_lint_object(struct kube_linter *l, const json_t *object, const char *name,
		     struct kube_lint_result *out);

/* ---- what installs the webhook (webhook.c) ------------------------------ */

struct kube_webhook_options {
	const char *image;          /* petra's image in the store (non-root USER) */
	const char *name;           /* objects' name, "petra-admission" */
	const char *namespace;      /* its namespace, never judged by itself */
	const char *ca_bundle;      /* PEM: the CA the API server trusts it by */
	const char *tls_secret;     /* the Secret with tls.crt/tls.key; NULL: NAME-tls */
	const char *failure_policy; /* "Fail" or "Ignore", always written */
	long timeout_seconds;       /* 1..30 */
	int port;                   /* the container's port */
	long replicas;
	bool on_unknown_deny; /* --on-unknown-image deny */
	/* Registry images (serve --registry): the image cache on an emptyDir
	 * of its own (the root is read-only), and what serve is passed. */
	bool registry;
	const char *registry_auth_secret; /* a kubernetes.io/dockerconfigjson Secret */
	const char *cert_dir_secret;      /* a Secret of CAs and client certificates */
	bool tls_verify_false;            /* serve --tls-verify=false */
	long refresh;                     /* serve --refresh; 0: its default */
	kube_gate_fn gate;                /* as in kube_deploy_options */
	void *gate_ctx;
};
/* A Service, petra's Deployment (read-only, non-root, by digest, the
 * label's emptyDirs, TLS from the Secret) and the
 * ValidatingWebhookConfiguration (caBundle, sideEffects None, the
 * timeout and failurePolicy given, every workload kind on CREATE and
 * UPDATE, its own namespace left out). */
int kube_webhook_manifests(struct petra_store *store, const struct kube_webhook_options *options,
			   struct kube_deploy_result *res, struct petra_error **err);

/* ---- the admission webhook's decisions (admission.c) ------------------- */

struct kube_admission_options {
	enum lint_severity deny_at; /* findings this severe or worse refuse */
	size_t max_body;            /* larger requests are refused with 400 */
};

/* Answer one AdmissionReview (admission.k8s.io/v1) request body: *status
 * the HTTP status (200 with a review, 400 for a body that is not one),
 * *response the body to send (caller frees). CREATE and UPDATE of pods
 * and workloads are linted; DELETE, CONNECT and an UPDATE that leaves the
 * pod template as it was (scaling) are always allowed. The response
 * echoes request.uid, puts every refusing finding in status.message and
 * the others (warning or worse) in warnings. */
void kube_admission_review(struct kube_linter *l, const struct kube_admission_options *options,
			   const char *body, size_t len, int *status, char **response);

/* Reports: text lines ("FILE:LINE: ID severity OBJECT[ container C]:
 * message"), a JSON array of files, SARIF 2.1.0. */
void kube_lint_report_text(const struct kube_lint_result *r, struct strbuf *out);
json_t *kube_lint_report_json(const struct kube_lint_result *r);
json_t *kube_lint_sarif_new(void);
void kube_lint_sarif_add(json_t *sarif, const struct kube_lint_result *r);

#endif
