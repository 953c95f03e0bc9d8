/* SPDX-License-Identifier: Apache-2.0 */
/* petra start: a stopped container again, from the options its state
 * keeps. */
#include "internal.h"

#include <string.h>

static json_t *strings_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *runtime_options_json(const struct runtime_run_options *o)
{
	json_t *j = json_object();
	json_object_set_new(j, "image", json_string(o->image));
	if (o->command)
		json_object_set_new(j, "command", strings_json(o->command));
	if (o->user)
		json_object_set_new(j, "user", json_string(o->user));
	if (o->workdir)
		json_object_set_new(j, "workdir", json_string(o->workdir));
	json_object_set_new(j, "env", strings_json(o->env));
	json_t *mounts = json_array();
	for (size_t i = 0; i < o->n_mounts; i++) {
		const struct sandbox_mount *m = &o->mounts[i];
		json_t *mj = json_pack("{s:s,s:s,s:b,s:I,s:i,s:I,s:I}", "kind",
				       m->kind == SANDBOX_MOUNT_TMPFS ? "tmpfs" : "bind", "target",
				       m->target, "readonly", m->readonly, "size",
				       (json_int_t)m->size, "mode", (int)m->mode, "uid",
				       (json_int_t)m->uid, "gid", (json_int_t)m->gid);
		if (m->source)
			json_object_set_new(mj, "source", json_string(m->source));
		json_array_append_new(mounts, mj);
	}
	json_object_set_new(j, "mounts", mounts);
	json_object_set_new(j, "network",
			    json_string(o->network == SANDBOX_NETWORK_NONE ? "none" : "host"));
	json_object_set_new(j, "cap_add", json_integer((json_int_t)o->cap_add));
	json_object_set_new(j, "read_write", json_boolean(o->read_write));
	json_object_set_new(j, "remove", json_boolean(o->remove));
	json_object_set_new(j, "non_root", json_boolean(o->non_root));
	json_object_set_new(j, "copy_root", json_boolean(o->copy_root));
	if (o->init)
		json_object_set_new(j, "init", json_string(o->init));
	json_object_set_new(j, "memory", json_integer((json_int_t)o->limits.memory));
	json_object_set_new(j, "cpu_quota", json_integer((json_int_t)o->limits.cpu_quota));
	json_object_set_new(j, "pids", json_integer((json_int_t)o->limits.pids));
	json_t *ports = json_array();
	for (size_t i = 0; i < o->n_ports; i++) {
		const struct runtime_port *p = &o->ports[i];
		json_array_append_new(ports, json_pack("{s:s,s:i,s:i,s:b,s:b}", "host_ip",
						       p->host_ip, "host_port", (int)p->host_port,
						       "container_port", (int)p->container_port,
						       "ipv6", p->ipv6, "udp", p->udp));
	}
	json_object_set_new(j, "ports", ports);
	return j;
}

/* The options back, pointing into strings and mounts (owned here). */
struct saved_options {
	struct runtime_run_options o;
	struct strvec command, env;
	struct sandbox_mount *mounts;
	struct runtime_port *ports;
};

static void saved_options_release(struct saved_options *s)
{
	strvec_clear(&s->command);
	strvec_clear(&s->env);
	free(s->mounts);
	free(s->ports);
}

static int options_from_json(json_t *j, const struct runtime_container *c, struct saved_options *s,
			     struct petra_error **err)
{
	memset(s, 0, sizeof(*s));
	if (!json_is_object(j))
		return petra_error_set(err, EINVAL,
				       "container %.12s: its state keeps no run options (made "
				       "by an older petra): it cannot be started again",
				       c->id);
	struct runtime_run_options *o = &s->o;
	/* The image by digest: the name may point elsewhere now. */
	o->image = c->image_digest;
	size_t i;
	json_t *v;
	json_t *command = json_object_get(j, "command");
	json_array_foreach(command, i, v) if (json_is_string(v))
	    strvec_push(&s->command, json_string_value(v));
	o->command = command ? s->command.v : NULL;
	json_array_foreach(json_object_get(j, "env"), i, v) if (json_is_string(v))
	    strvec_push(&s->env, json_string_value(v));
	o->env = s->env.v;
	o->user = json_get_string(j, "user");
	o->workdir = json_get_string(j, "workdir");
	json_t *mounts = json_object_get(j, "mounts");
	s->mounts = xcalloc(json_array_size(mounts) + 1, sizeof(*s->mounts));
	json_array_foreach(mounts, i, v)
	{
		struct sandbox_mount *m = &s->mounts[o->n_mounts];
		const char *kind = json_get_string(v, "kind");
		m->target = json_get_string(v, "target");
		m->source = json_get_string(v, "source");
		if (!kind || !m->target || (!strcmp(kind, "bind") && !m->source))
			return petra_error_set(err, EINVAL, "container %.12s: a mount of its state",
					       c->id);
		m->kind = !strcmp(kind, "bind") ? SANDBOX_MOUNT_BIND : SANDBOX_MOUNT_TMPFS;
		m->readonly = json_is_true(json_object_get(v, "readonly"));
		m->size = (uint64_t)json_get_int(v, "size", 0);
		m->mode = (mode_t)json_get_int(v, "mode", 0);
		m->uid = (uid_t)json_get_int(v, "uid", 0);
		m->gid = (gid_t)json_get_int(v, "gid", 0);
		o->n_mounts++;
	}
	o->mounts = s->mounts;
	const char *network = json_get_string(j, "network");
	o->network =
	    network && !strcmp(network, "host") ? SANDBOX_NETWORK_HOST : SANDBOX_NETWORK_NONE;
	o->cap_add = (uint64_t)json_get_int(j, "cap_add", 0);
	o->read_write = json_is_true(json_object_get(j, "read_write"));
	o->remove = json_is_true(json_object_get(j, "remove"));
	o->non_root = json_is_true(json_object_get(j, "non_root"));
	o->copy_root = json_is_true(json_object_get(j, "copy_root"));
	o->init = json_get_string(j, "init");
	o->limits.memory = (uint64_t)json_get_int(j, "memory", 0);
	o->limits.cpu_quota = (uint64_t)json_get_int(j, "cpu_quota", 0);
	o->limits.pids = (uint64_t)json_get_int(j, "pids", 0);
	json_t *ports = json_object_get(j, "ports");
	s->ports = xcalloc(json_array_size(ports) + 1, sizeof(*s->ports));
	json_array_foreach(ports, i, v)
	{
		struct runtime_port *p = &s->ports[o->n_ports++];
		snprintf(p->host_ip, sizeof(p->host_ip), "%s",
			 json_get_string(v, "host_ip") ? json_get_string(v, "host_ip") : "0.0.0.0");
		p->host_port = (uint16_t)json_get_int(v, "host_port", 0);
		p->container_port = (uint16_t)json_get_int(v, "container_port", 0);
		p->ipv6 = json_is_true(json_object_get(v, "ipv6"));
		p->udp = json_is_true(json_object_get(v, "udp"));
	}
	o->ports = s->ports;
	return 0;
}

int runtime_start(struct petra_store *store, const char *run_dir, struct runtime_container *c,
		  const char *supervisor, struct petra_error **err)
{
	if (c->running)
		return petra_error_set(err, EBUSY, "container %.12s is running", c->id);
	struct saved_options s;
	int r = options_from_json(json_object_get(c->state, "options"), c, &s, err);
	if (r == 0) {
		s.o.name = c->name;
		s.o.detach = true;
		s.o.supervisor = supervisor;
		s.o.restart_id = c->id;
		struct runtime_run_result result;
		r = runtime_run(store, run_dir, &s.o, &result, err);
		runtime_run_result_release(&result);
	}
	saved_options_release(&s);
	if (r == 0)
		c->running = true;
	return r;
}
