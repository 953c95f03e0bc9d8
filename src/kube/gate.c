/* SPDX-License-Identifier: Apache-2.0 */
/* The trust gate as deploy, kube-lint and the webhook ask it: trust/'s
 * trust_gate_check under petra's policy (bans, base catalog, signed-by),
 * then, when given, a containers-policy.json over the image's signatures
 * in the store. One function (a kube_gate_fn) so every caller refuses
 * for the same reasons in the same words. */
#include "kube.h"

#include <errno.h>
#include <string.h>

#include "policy/policy.h"
#include "trust/trust.h"

/* The repository of a name, without tag or digest: signatures are
 * stored under it. */
static char *repository_of(const char *name)
{
	struct oci_ref ref;
	if (oci_ref_parse(name, &ref, NULL) < 0)
		return xstrdup(name);
	char *repo = xstrdup(ref.name);
	oci_ref_release(&ref);
	return repo;
}

/* The containers-policy.json's reasons to refuse image `name` with
 * manifest `digest` and these signatures. */
static int signature_policy_reasons(const struct kube_trust_gate *g, const char *name,
				    const char *digest, const struct trust_signatures *sigs,
				    struct strvec *reasons, struct petra_error **err)
{
	_cleanup_free_ char *identity = NULL;
	struct policy_ref ref;
	if (policy_ref_parse(name, &ref, NULL) == 0) {
		identity = policy_ref_format(&ref, 0);
		policy_ref_release(&ref);
	}
	struct trust_policy_image pi = {.transport = "docker",
					.scope_identity = identity ? identity : name,
					.reference = name,
					.manifest_digest = digest};
	_cleanup_strvec_ struct strvec why = STRVEC_INIT;
	const char *scope = NULL;
	int r = trust_containers_policy_check(g->signature_policy, &pi, sigs, &why, &scope, err);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < why.n; i++)
		strvec_pushf(reasons, "%s (%s, %s)", why.v[i], g->signature_policy_path, scope);
	return 0;
}

static int store_signature_policy_reasons(const struct kube_trust_gate *g,
					  struct petra_store *store, const struct image *img,
					  struct strvec *reasons, struct petra_error **err)
{
	if (!img->name) {
		strvec_pushf(reasons,
			     "the signature policy %s cannot be checked: the image has no name",
			     g->signature_policy_path);
		return 0;
	}
	_cleanup_free_ char *repo = repository_of(img->name);
	struct trust_signatures sigs = {0};
	if (trust_store_signatures(store, repo, img->desc.digest, &sigs, err) < 0)
		return -1;
	int r = signature_policy_reasons(g, img->name, img->desc.digest, &sigs, reasons, err);
	trust_signatures_release(&sigs);
	return r;
}

/* Every reason as one EPERM error, or 0 for none. */
static int refusal(const struct strvec *reasons, struct petra_error **err)
{
	if (reasons->n == 0)
		return 0;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < reasons->n; i++)
		strbuf_addf(&sb, "%s%s", i ? "; " : "", reasons->v[i]);
	return petra_error_set(err, EPERM, "refused by the trust gate: %s", sb.buf);
}

int kube_trust_gate(void *ctx, struct petra_store *store, const struct image *img,
		    struct petra_error **err)
{
	const struct kube_trust_gate *g = ctx;
	const char *image = img->name ? img->name : img->desc.digest;
	struct trust_gate_result result;
	if (trust_gate_check(store, image, TRUST_PURPOSE_DEPLOY, g->policy, &result, err) < 0)
		return petra_error_prefix(err, "the trust gate cannot judge %s", image);
	_cleanup_strvec_ struct strvec reasons = STRVEC_INIT;
	for (size_t i = 0; i < result.reasons.n; i++)
		strvec_push(&reasons, result.reasons.v[i]);
	if (!result.allowed && reasons.n == 0)
		strvec_push(&reasons, "refused by the policy");
	trust_gate_result_release(&result);
	if (g->signature_policy && store_signature_policy_reasons(g, store, img, &reasons, err) < 0)
		return petra_error_prefix(err, "the trust gate cannot judge %s", image);
	return refusal(&reasons, err);
}

/* The cached signatures (kube_remote_image's JSON) as trust/ reads them. */
static void signatures_from_json(const json_t *array, struct trust_signatures *sigs)
{
	size_t i;
	const json_t *o;
	json_array_foreach(array, i, o)
	{
		const char *payload = json_string_value(json_object_get(o, "payload"));
		if (!payload)
			continue;
		xgrow((void **)&sigs->v, &sigs->alloc, sigs->n + 1, sizeof(*sigs->v));
		struct trust_signature *s = &sigs->v[sigs->n++];
		memset(s, 0, sizeof(*s));
		s->kind = TRUST_SIGNATURE_SIGSTORE;
		s->media_type = xstrdup(json_string_value(json_object_get(o, "mediaType")) ?: "");
		s->payload_len = json_string_length(json_object_get(o, "payload"));
		s->payload = xstrndup(payload, s->payload_len);
		const char *b64 = json_string_value(json_object_get(o, "signature"));
		s->signature_b64 = b64 ? xstrdup(b64) : NULL;
		s->source = xstrdup("the registry's .sig tag");
		json_t *annotations = json_object_get(o, "annotations");
		s->annotations = annotations ? json_incref(annotations) : NULL;
	}
}

int kube_trust_gate_remote(void *ctx, struct petra_store *store, const char *name,
			   const char *digest, const json_t *manifest, const json_t *signatures,
			   struct petra_error **err)
{
	const struct kube_trust_gate *g = ctx;
	struct trust_signatures sigs = {0};
	signatures_from_json(signatures, &sigs);
	struct trust_gate_result result;
	int rc =
	    trust_gate_check_given(store, name, digest, json_object_get(manifest, "annotations"),
				   &sigs, TRUST_PURPOSE_DEPLOY, g->policy, NULL, &result, err);
	_cleanup_strvec_ struct strvec reasons = STRVEC_INIT;
	if (rc == 0) {
		for (size_t i = 0; i < result.reasons.n; i++)
			strvec_push(&reasons, result.reasons.v[i]);
		if (!result.allowed && reasons.n == 0)
			strvec_push(&reasons, "refused by the policy");
		trust_gate_result_release(&result);
		if (g->signature_policy)
			rc = signature_policy_reasons(g, name, digest, &sigs, &reasons, err);
	}
	trust_signatures_release(&sigs);
	if (rc < 0)
		return petra_error_prefix(err, "the trust gate cannot judge %s", name);
	return refusal(&reasons, err);
}

int kube_trust_gate_load(struct kube_trust_gate *g, const char *policy_path,
			 const char *signature_policy_path, struct petra_error **err)
{
	memset(g, 0, sizeof(*g));
	if (petra_policy_load_default(policy_path, &g->policy, err) < 0)
		return -1;
	if (signature_policy_path) {
		if (trust_containers_policy_load(signature_policy_path, &g->signature_policy, err) <
		    0) {
			kube_trust_gate_release(g);
			return -1;
		}
		g->signature_policy_path = xstrdup(signature_policy_path);
	}
	return 0;
}

void kube_trust_gate_release(struct kube_trust_gate *g)
{
	petra_policy_free(g->policy);
	trust_containers_policy_free(g->signature_policy);
	free(g->signature_policy_path);
	memset(g, 0, sizeof(*g));
}
