/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The default seccomp profile.
 *
 * Modelled on the well-known container default (Docker's, also used by
 * podman and containerd): the system calls it refuses to a container
 * without CAP_SYS_ADMIN and friends are refused here with EPERM; everything
 * else is allowed. Written as a short deny list rather than the 300-entry
 * allow list so it can be read in one sitting; the effect for a container
 * with the default capabilities is the same. Only the native architecture
 * is allowed: a 32-bit system call kills the process (libseccomp's
 * default for a foreign architecture), which also closes the x32 and ia32
 * side doors. The rules themselves are in profile.c.
 */
#include "internal.h"

#include <seccomp.h>

struct builder {
	scmp_filter_ctx ctx;
	int r;
	const char *what;
};

static void add_rule(void *p, const struct sandbox_seccomp_rule *rule)
{
	struct builder *b = p;
	int nr = seccomp_syscall_resolve_name(rule->syscall);
	if (b->r < 0 || nr == __NR_SCMP_ERROR)
		return; /* failed already, or not on this architecture */
	b->what = rule->syscall;
	if (rule->arg < 0)
		b->r = seccomp_rule_add(b->ctx, SCMP_ACT_ERRNO(rule->errno_ret), nr, 0);
	else
		b->r = seccomp_rule_add(
		    b->ctx, SCMP_ACT_ERRNO(rule->errno_ret), nr, 1,
		    SCMP_CMP((unsigned)rule->arg, SCMP_CMP_MASKED_EQ, rule->mask, rule->value));
}

int sandbox_seccomp_build(void **filter, struct petra_error **err)
{
	struct builder b = {.ctx = seccomp_init(SCMP_ACT_ALLOW)};
	if (!b.ctx)
		return petra_error_set(err, ENOMEM, "seccomp: cannot create a filter");
	sandbox_seccomp_rules(add_rule, &b);
	if (b.r < 0) {
		seccomp_release(b.ctx);
		return petra_error_set_errno(err, -b.r, "seccomp: %s", b.what);
	}
	*filter = b.ctx;
	return 0;
}

int sandbox_seccomp_load(struct petra_error **err)
{
	scmp_filter_ctx ctx;
	int r = sandbox_seccomp_build(&ctx, err);
	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return petra_error_set_errno(err, -r, "seccomp: load");
	return 0;
}
