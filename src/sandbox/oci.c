/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI runtime config (config.json) for a sandbox configuration: the
 * same container, described for runc. The seccomp profile is the one
 * seccomp.c loads, spelled as the runtime spec wants it.
 */
#include "internal.h"

#include <string.h>

static json_t *strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *mount_entry(const char *dest, const char *type, const char *source,
			   const char *const *options, size_t n)
{
	json_t *m = json_object();
	json_object_set_new(m, "destination", json_string(dest));
	json_object_set_new(m, "type", json_string(type));
	json_object_set_new(m, "source", json_string(source));
	json_object_set_new(m, "options", strings(options, n));
	return m;
}

#define MOUNT(dest, type, source, ...)                                                             \
	({                                                                                         \
		static const char *const o_[] = {__VA_ARGS__};                                     \
		mount_entry(dest, type, source, o_, ARRAY_SIZE(o_));                               \
	})

static json_t *mounts(const struct sandbox_config *c)
{
	json_t *a = json_array();
	json_array_append_new(a, MOUNT("/proc", "proc", "proc", "nosuid", "noexec", "nodev"));
	json_array_append_new(
	    a, MOUNT("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"));
	json_array_append_new(a, MOUNT("/dev/pts", "devpts", "devpts", "nosuid", "noexec",
				       "newinstance", "ptmxmode=0666", "mode=0620"));
	json_array_append_new(a, MOUNT("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev",
				       "mode=1777", "size=65536k"));
	json_array_append_new(a,
			      MOUNT("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"));
	for (size_t i = 0; i < c->n_mounts; i++) {
		const struct sandbox_mount *m = &c->mounts[i];
		json_t *o = json_array();
		json_t *e = json_object();
		json_object_set_new(e, "destination", json_string(m->target));
		if (m->kind == SANDBOX_MOUNT_TMPFS) {
			json_object_set_new(e, "type", json_string("tmpfs"));
			json_object_set_new(e, "source", json_string("tmpfs"));
			json_array_append_new(o, json_string("nosuid"));
			json_array_append_new(o, json_string("nodev"));
			json_array_append_new(
			    o, json_sprintf("size=%llu",
					    (unsigned long long)(m->size ? m->size : 64u << 20)));
			json_array_append_new(
			    o, json_sprintf("mode=%04o", (unsigned)(m->mode ? m->mode : 0755)));
			json_array_append_new(o, json_sprintf("uid=%u", (unsigned)m->uid));
			json_array_append_new(o, json_sprintf("gid=%u", (unsigned)m->gid));
			/* runc's and crun's name for the same copy */
			if (m->copy_up)
				json_array_append_new(o, json_string("tmpcopyup"));
		} else {
			json_object_set_new(e, "type", json_string("bind"));
			json_object_set_new(e, "source", json_string(m->source));
			json_array_append_new(o, json_string("rbind"));
		}
		if (m->readonly)
			json_array_append_new(o, json_string("ro"));
		json_object_set_new(e, "options", o);
		json_array_append_new(a, e);
	}
	return a;
}

static json_t *string_list(const char *const *v)
{
	size_t n = 0;
	while (v[n])
		n++;
	return strings(v, n);
}

static void add_oci_rule(void *ctx, const struct sandbox_seccomp_rule *rule)
{
	json_t *rules = ctx;
	json_t *last = json_array_get(rules, json_array_size(rules) - 1);
	/* Rules without arguments and with the same answer share an entry,
	 * as in Docker's profile. */
	if (rule->arg < 0 && last && !json_object_get(last, "args") &&
	    json_get_int(last, "errnoRet", 0) == rule->errno_ret) {
		json_array_append_new(json_object_get(last, "names"), json_string(rule->syscall));
		return;
	}
	json_t *e = json_pack("{s:[s],s:s,s:i}", "names", rule->syscall, "action", "SCMP_ACT_ERRNO",
			      "errnoRet", rule->errno_ret);
	/* The runtime spec's SCMP_CMP_MASKED_EQ: "value" is the mask,
	 * "valueTwo" what the masked argument must equal. */
	if (rule->arg >= 0)
		json_object_set_new(e, "args",
				    json_pack("[{s:i,s:I,s:I,s:s}]", "index", rule->arg, "value",
					      (json_int_t)rule->mask, "valueTwo",
					      (json_int_t)rule->value, "op", "SCMP_CMP_MASKED_EQ"));
	json_array_append_new(rules, e);
}

static json_t *seccomp_profile(void)
{
	/* What seccomp.c loads, from the same rules. */
	json_t *s = json_object();
	json_object_set_new(s, "defaultAction", json_string("SCMP_ACT_ALLOW"));
#if defined(__x86_64__)
	json_object_set_new(s, "architectures", json_pack("[s]", "SCMP_ARCH_X86_64"));
#elif defined(__aarch64__)
	json_object_set_new(s, "architectures", json_pack("[s]", "SCMP_ARCH_AARCH64"));
#endif
	json_t *rules = json_array();
	sandbox_seccomp_rules(add_oci_rule, rules);
	json_object_set_new(s, "syscalls", rules);
	return s;
}

json_t *sandbox_oci_config(const struct sandbox_config *c)
{
	const struct sandbox_process *p = &c->process;
	json_t *cfg = json_object();
	json_object_set_new(cfg, "ociVersion", json_string("1.0.2"));

	json_t *proc = json_object();
	json_object_set_new(proc, "terminal", json_boolean(p->tty));
	json_t *user = json_pack("{s:I,s:I}", "uid", (json_int_t)p->uid, "gid", (json_int_t)p->gid);
	if (p->n_groups) {
		json_t *g = json_array();
		for (size_t i = 0; i < p->n_groups; i++)
			json_array_append_new(g, json_integer(p->groups[i]));
		json_object_set_new(user, "additionalGids", g);
	}
	json_object_set_new(proc, "user", user);
	json_t *args = json_array();
	for (size_t i = 0; p->argv && p->argv[i]; i++)
		json_array_append_new(args, json_string(p->argv[i]));
	json_object_set_new(proc, "args", args);
	json_t *env = json_array();
	for (size_t i = 0; p->env && p->env[i]; i++)
		json_array_append_new(env, json_string(p->env[i]));
	json_object_set_new(proc, "env", env);
	json_object_set_new(proc, "cwd", json_string(p->cwd && *p->cwd ? p->cwd : "/"));
	/* The sets set_capabilities gives the process (see there why). */
	uint64_t ambient_mask = p->uid == 0 ? 0 : p->caps & p->ambient;
	_cleanup_strvec_ struct strvec caps = STRVEC_INIT, ambient = STRVEC_INIT;
	_cleanup_strvec_ struct strvec permitted = STRVEC_INIT;
	sandbox_cap_names(p->caps, &caps);
	sandbox_cap_names(ambient_mask, &ambient);
	sandbox_cap_names(p->uid == 0 ? p->caps : ambient_mask, &permitted);
	json_t *jcaps = json_object();
	json_object_set_new(jcaps, "bounding", strings((const char *const *)caps.v, caps.n));
	json_object_set_new(jcaps, "effective",
			    strings((const char *const *)permitted.v, permitted.n));
	json_object_set_new(jcaps, "permitted",
			    strings((const char *const *)permitted.v, permitted.n));
	json_object_set_new(jcaps, "inheritable",
			    strings((const char *const *)ambient.v, ambient.n));
	json_object_set_new(jcaps, "ambient", strings((const char *const *)ambient.v, ambient.n));
	json_object_set_new(proc, "capabilities", jcaps);
	json_object_set_new(proc, "noNewPrivileges", json_true());
	json_object_set_new(cfg, "process", proc);

	json_object_set_new(
	    cfg, "root",
	    json_pack("{s:s,s:b}", "path", "rootfs", "readonly", c->root.upper == NULL));
	json_object_set_new(cfg, "hostname", json_string(c->hostname ? c->hostname : "petra"));
	json_object_set_new(cfg, "mounts", mounts(c));

	json_t *lnx = json_object();
	json_t *ns = json_array();
	const char *types[] = {"pid", "ipc", "uts", "mount", "cgroup", "network"};
	size_t n_types = c->network == SANDBOX_NETWORK_NONE ? 6 : 5;
	for (size_t i = 0; i < n_types; i++)
		json_array_append_new(ns, json_pack("{s:s}", "type", types[i]));
	json_object_set_new(lnx, "namespaces", ns);
	json_object_set_new(lnx, "maskedPaths", string_list(sandbox_masked_paths));
	json_object_set_new(lnx, "readonlyPaths", string_list(sandbox_readonly_paths));
	if (!p->no_seccomp)
		json_object_set_new(lnx, "seccomp", seccomp_profile());
	json_object_set_new(cfg, "linux", lnx);
	return cfg;
}
