/* SPDX-License-Identifier: Apache-2.0 */
/* Compose files with petra's guarantees: read-only, tmpfs per writable
 * path, numeric user, no capabilities, no new privileges. */
#include "kube.h"

#include <string.h>

/* "PATH:mode=0755,uid=U,gid=G,size=N": the short tmpfs syntax, which both
 * the specification and the classic format accept and which the engine
 * passes on to the tmpfs mount. For podman the owner is "U" instead, the
 * container's user; a label that wants another owner is noted. */
static json_t *tmpfs_entry(const struct image_writable_path *w, const struct kube_image_facts *f,
			   enum kube_compose_engine engine, struct strvec *notes)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s:mode=%04o", w->path, (unsigned)(w->mode & 07777));
	if (engine == KUBE_COMPOSE_PODMAN) {
		strbuf_addstr(&sb, ",U");
		if (w->uid != f->uid)
			strvec_pushf(notes,
				     "%s: the label wants uid %u, podman can only give the "
				     "container's user (%u)",
				     w->path, (unsigned)w->uid, (unsigned)f->uid);
	} else {
		strbuf_addf(&sb, ",uid=%u,gid=%u", (unsigned)w->uid, (unsigned)f->gid);
	}
	if (w->size)
		strbuf_addf(&sb, ",size=%llu", (unsigned long long)w->size);
	json_t *j = json_string(strbuf_str(&sb));
	strbuf_release(&sb);
	return j;
}

static json_t *compose_service(const struct kube_image_facts *f, enum kube_compose_engine engine,
			       struct strvec *notes)
{
	_cleanup_free_ char *user = xasprintf("%u:%u", (unsigned)f->uid, (unsigned)f->gid);
	json_t *svc =
	    json_pack("{s:s,s:s,s:b,s:[s],s:[s]}", "image", f->by_digest, "user", user, "read_only",
		      1, "cap_drop", "ALL", "security_opt", "no-new-privileges:true");
	if (f->port > 0 && f->port < 1024)
		json_object_set_new(svc, "cap_add", json_pack("[s]", "NET_BIND_SERVICE"));
	if (f->n_writable > 0) {
		json_t *tmpfs = json_array();
		for (size_t i = 0; i < f->n_writable; i++)
			json_array_append_new(tmpfs,
					      tmpfs_entry(&f->writable[i], f, engine, notes));
		json_object_set_new(svc, "tmpfs", tmpfs);
	}
	/* podman fills a tmpfs with the image's content there (tmpcopyup, its
	 * default); Docker and Compose have no way to. */
	for (size_t i = 0; engine == KUBE_COMPOSE_DOCKER && i < f->n_writable; i++)
		if (f->writable[i].copy)
			strvec_pushf(notes,
				     "%s is marked copy, but Docker's tmpfs starts empty (podman "
				     "copies the image's content up; --engine podman)",
				     f->writable[i].path);
	/* The container port alone: the engine picks a free host port, so two
	 * services of one file never fight over one (the user maps fixed
	 * ports where the host needs them). */
	if (f->port > 0) {
		_cleanup_free_ char *p = xasprintf("%d", f->port);
		json_object_set_new(svc, "ports", json_pack("[s]", p));
	}
	if (f->stop_signal)
		json_object_set_new(svc, "stop_signal", json_string(f->stop_signal));
	json_t *test = f->healthcheck ? json_object_get(f->healthcheck, "Test") : NULL;
	if (json_array_size(test) > 0)
		json_object_set_new(svc, "healthcheck", json_pack("{s:O}", "test", test));
	if (f->uid == 0)
		strvec_pushf(notes, "%s runs as root: harden it (petra harden)", f->by_digest);
	return svc;
}

int kube_deploy_compose(struct petra_store *store, const char *const *refs, size_t n_refs,
			const struct kube_compose_options *o, struct kube_deploy_result *res,
			struct petra_error **err)
{
	memset(res, 0, sizeof(*res));
	json_t *services = json_object();
	int r = 0;
	for (size_t i = 0; r == 0 && i < n_refs; i++) {
		struct kube_image_facts f;
		r = kube_image_facts_load(store, refs[i], o->gate, o->gate_ctx, &f, err);
		if (r < 0)
			break;
		char *name = xstrdup(f.app_name);
		for (unsigned n = 2; json_object_get(services, name); n++) {
			free(name);
			name = xasprintf("%s-%u", f.app_name, n);
		}
		json_object_set_new(services, name, compose_service(&f, o->engine, &res->notes));
		free(name);
		kube_image_facts_release(&f);
	}
	if (r < 0) {
		json_decref(services);
		kube_deploy_result_release(res);
		return -1;
	}
	json_t *doc = o->version == 2
			  ? json_pack("{s:s,s:o}", "version", "2.4", "services", services)
			  : json_pack("{s:o}", "services", services);
	res->objects = json_pack("[o]", doc);
	return 0;
}
