/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox internals shared by its files; not part of the API. */
#ifndef PETRA_SANDBOX_INTERNAL_H
#define PETRA_SANDBOX_INTERNAL_H

#include "sandbox.h"

/* Apply the process part of a configuration to the calling process (which
 * is already in the container's namespaces and root) and exec it. Returns
 * only on failure, with *err set; *exit_code is what the child should
 * exit with (127 not found, 126 not executable, 125 set-up failure).
 * parent_pipe >= 0: the write end of a pipe whose only reader is the
 * parent, kept open by it until this exec: the process is then made to
 * die with its parent (sandbox_config.die_with_parent). */
int sandbox_process_exec(const struct sandbox_process *p, int parent_pipe, int *exit_code,
			 struct petra_error **err);

/* Put stdio[i] (when >= 0) on descriptor i, inheritable. */
int sandbox_stdio_install(const int stdio[3], struct petra_error **err);

/* Close every descriptor above 2 but the (at most 8) in keep. A process
 * entering a container's namespaces does this first: whatever it still
 * held would be open to the container through /proc/PID/fd until exec. */
int sandbox_close_fds(const int *keep, size_t n_keep, struct petra_error **err);

/* The hardening profile (profile.c), NULL- or 0-terminated. */
extern const char *const sandbox_masked_paths[];
extern const char *const sandbox_readonly_paths[];

/* One rule of the default seccomp profile (whose default is to allow):
 * `syscall` fails with errno_ret; when arg >= 0, only if its argument
 * number arg, masked with mask, equals value. */
struct sandbox_seccomp_rule {
	const char *syscall;
	int errno_ret;
	int arg;
	uint64_t mask, value;
};
typedef void (*sandbox_seccomp_rule_fn)(void *ctx, const struct sandbox_seccomp_rule *rule);
/* Every rule, in order. */
void sandbox_seccomp_rules(sandbox_seccomp_rule_fn fn, void *ctx);

/* The default seccomp profile as a libseccomp filter (*filter is a
 * scmp_filter_ctx; the caller seccomp_release()s it), and loaded into the
 * calling process. */
int sandbox_seccomp_build(void **filter, struct petra_error **err);
int sandbox_seccomp_load(struct petra_error **err);

#endif
