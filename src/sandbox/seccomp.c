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
 * side doors. The lists themselves are in profile.c.
 */
#include "internal.h"

#include <seccomp.h>

int sandbox_seccomp_load(struct petra_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return petra_error_set(err, ENOMEM, "seccomp: cannot create a filter");
	int r = 0;
	const char *what = "";
	for (size_t i = 0; sandbox_denied_syscalls[i] && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(sandbox_denied_syscalls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		what = sandbox_denied_syscalls[i];
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	for (size_t i = 0; sandbox_namespace_flags[i] && r == 0; i++) {
		what = "clone";
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, sandbox_namespace_flags[i],
					     sandbox_namespace_flags[i]));
	}
	/* clone3 passes its flags in memory, out of a filter's sight: ENOSYS
	 * makes the C library fall back to clone(), which is checked. */
	if (r == 0) {
		what = "clone3";
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	}
	for (size_t i = 0; sandbox_denied_ioctls[i] && r == 0; i++) {
		what = "ioctl";
		r = seccomp_rule_add(
		    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, sandbox_denied_ioctls[i]));
	}
	if (r == 0) {
		what = "load";
		r = seccomp_load(ctx);
	}
	seccomp_release(ctx);
	if (r < 0)
		return petra_error_set_errno(err, -r, "seccomp: %s", what);
	return 0;
}
