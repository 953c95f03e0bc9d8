/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the reader of `kubectl get pods -A -o json` output (exec
 * --kubernetes): a file from elsewhere, read field by field. */
#include <string.h>

#include "kube/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_pods pods;
	struct petra_error *err = NULL;
	if (kube_pods_parse((const char *)data, size, "fuzz.json", &pods, &err) < 0) {
		/* A refused file says why, and leaves nothing behind. */
		if (!err || !err->message[0] || pods.n || pods.v)
			__builtin_trap();
		petra_error_free(err);
		return 0;
	}
	for (size_t i = 0; i < pods.n; i++) {
		const struct kube_pod_container *c = &pods.v[i];
		/* Every container has a place, and its digest (when any) is a
		 * well-formed one taken from the end of its image ID. */
		if (!c->namespace || !c->pod || !c->container || !c->image_id)
			__builtin_trap();
		if (c->digest[0] &&
		    (!oci_digest_valid(c->digest) || strlen(c->image_id) < strlen(c->digest) ||
		     strcmp(c->image_id + strlen(c->image_id) - strlen(c->digest), c->digest) != 0))
			__builtin_trap();
		kube_container_kind_name(c->kind);
	}
	kube_pods_release(&pods);
	return 0;
}
