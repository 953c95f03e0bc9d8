/* SPDX-License-Identifier: Apache-2.0 */
/* What a manifest needs to know about an image of the store. */
#include "kube.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/rootfs.h"

char *kube_dns_label(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = s; *p && sb.len < 63; p++) {
		char c = (char)tolower((unsigned char)*p);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			strbuf_addch(&sb, c);
		else if (sb.len > 0 && sb.buf[sb.len - 1] != '-')
			strbuf_addch(&sb, '-');
	}
	while (sb.len > 0 && sb.buf[sb.len - 1] == '-')
		strbuf_setlen(&sb, sb.len - 1);
	if (sb.len == 0)
		strbuf_addstr(&sb, "app");
	return strbuf_detach(&sb);
}

/* Whether `name` is in one of the directories where a preStop hook's
 * command would be looked up. */
static bool image_has_program(const struct strvec *lowers, const char *name)
{
	static const char *const dirs[] = {"/bin", "/usr/bin", "/sbin", "/usr/sbin"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dirs[i], name);
		struct stat st;
		size_t layer;
		if (rootfs_lookup((const char *const *)lowers->v, lowers->n, path, &st, &layer) ==
		    0)
			return true;
	}
	return false;
}

/* The first "N/tcp" of ExposedPorts. */
static int first_tcp_port(const json_t *cfg)
{
	json_t *ports = cfg ? json_object_get(cfg, "ExposedPorts") : NULL;
	const char *key;
	json_t *v;
	int best = 0;
	json_object_foreach(ports, key, v)
	{
		char *end;
		long port = strtol(key, &end, 10);
		if (port <= 0 || port > 65535 || (*end && strcmp(end, "/tcp") != 0))
			continue;
		if (best == 0 || port < best)
			best = (int)port;
	}
	return best;
}

static int reference_by_digest(const struct image *img, const char *ref,
			       struct kube_image_facts *facts, struct petra_error **err)
{
	if (!img->name)
		return petra_error_set(err, EINVAL,
				       "%s: the image has no name in the store; a manifest "
				       "names an image by name@digest (tag it first)",
				       ref);
	struct oci_ref parsed;
	if (oci_ref_parse(img->name, &parsed, err) < 0)
		return -1;
	facts->by_digest = xasprintf("%s@%s", parsed.name, img->desc.digest);
	const char *slash = strrchr(parsed.name, '/');
	facts->app_name = kube_dns_label(slash ? slash + 1 : parsed.name);
	oci_ref_release(&parsed);
	return 0;
}

static int read_config_facts(struct petra_store *store, const struct image *img,
			     struct kube_image_facts *facts, struct petra_error **err)
{
	json_t *cfg = image_runtime_config(img);
	json_t *labels = cfg ? json_object_get(cfg, "Labels") : NULL;
	const char *label = json_string_value(json_object_get(labels, IMAGE_WRITABLE_PATHS_LABEL));
	if (image_writable_paths_parse(label, &facts->writable, &facts->n_writable, err) < 0)
		return petra_error_prefix(err, "label %s", IMAGE_WRITABLE_PATHS_LABEL);
	json_t *hc = cfg ? json_object_get(cfg, "Healthcheck") : NULL;
	if (json_is_object(hc))
		facts->healthcheck = json_incref(hc);
	const char *stop = json_string_value(cfg ? json_object_get(cfg, "StopSignal") : NULL);
	if (stop && *stop)
		facts->stop_signal = xstrdup(stop);
	facts->port = first_tcp_port(cfg);
	const char *user = json_string_value(cfg ? json_object_get(cfg, "User") : NULL);
	facts->user = xstrdup(user ? user : "");

	/* The user as the runtime resolves it: through the image's own
	 * /etc/passwd and /etc/group, so a name becomes the numbers the
	 * kubelet needs (runAsNonRoot cannot check a name). */
	_cleanup_strvec_ struct strvec lowers = STRVEC_INIT;
	if (rootfs_prepare(store, img, &lowers, err) < 0)
		return -1;
	_cleanup_free_ char *home = NULL;
	if (rootfs_resolve_user((const char *const *)lowers.v, lowers.n, facts->user, &facts->uid,
				&facts->gid, &home, err) < 0)
		return petra_error_prefix(err, "USER");
	facts->has_kill = image_has_program(&lowers, "kill");
	facts->has_sh = image_has_program(&lowers, "sh");
	facts->has_cp = image_has_program(&lowers, "cp");
	return 0;
}

int kube_image_facts_load(struct petra_store *store, const char *ref, kube_gate_fn gate,
			  void *gate_ctx, struct kube_image_facts *facts, struct petra_error **err)
{
	memset(facts, 0, sizeof(*facts));
	struct image img;
	if (image_load(store, ref, &img, err) < 0)
		return -1;
	int r = gate ? gate(gate_ctx, store, &img, err) : 0;
	if (r == 0)
		r = reference_by_digest(&img, ref, facts, err);
	if (r == 0)
		r = read_config_facts(store, &img, facts, err);
	image_release(&img);
	if (r < 0) {
		kube_image_facts_release(facts);
		return petra_error_prefix(err, "%s", ref);
	}
	return 0;
}

void kube_image_facts_release(struct kube_image_facts *facts)
{
	free(facts->by_digest);
	free(facts->app_name);
	free(facts->user);
	image_writable_paths_free(facts->writable, facts->n_writable);
	json_decref(facts->healthcheck);
	free(facts->stop_signal);
	free(facts->copy_image);
	memset(facts, 0, sizeof(*facts));
}
