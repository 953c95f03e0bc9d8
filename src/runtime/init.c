/* SPDX-License-Identifier: Apache-2.0 */
/* --init: petra-init as the container's PID 1, the command its child. */
#include "internal.h"

#include <string.h>

int runtime_spec_add_init(struct runtime_spec *spec, const char *init, struct petra_error **err)
{
	struct stat st;
	if (stat(init, &st) < 0)
		return petra_error_set_errno(err, errno, "--init: %s", init);
	if (!S_ISREG(st.st_mode))
		return petra_error_set(err, EINVAL, "--init: %s is not a file", init);
	/* A name no image uses, at the top (not below /sbin, which may be a
	 * symbolic link): a read-only root gets its mount target from the
	 * scaffold, never in the image. (/dev is read-only once set up.) */
	strvec_push(&spec->strings, RUNTIME_INIT_TARGET);
	const char *target = spec->strings.v[spec->strings.n - 1];
	strvec_push(&spec->strings, init);
	const char *source = spec->strings.v[spec->strings.n - 1];
	spec->mounts = xrealloc(spec->mounts, (spec->n_mounts + 1) * sizeof(*spec->mounts));
	spec->mounts[spec->n_mounts++] = (struct sandbox_mount){
	    .kind = SANDBOX_MOUNT_BIND,
	    .target = target,
	    .source = source,
	    .readonly = true,
	};
	spec->sandbox.mounts = spec->mounts;
	spec->sandbox.n_mounts = spec->n_mounts;
	/* argv becomes /.petra-init -- COMMAND...: the command keeps its PATH
	 * lookup, done by petra-init in the container. */
	struct strvec argv = STRVEC_INIT;
	strvec_push(&argv, RUNTIME_INIT_TARGET);
	strvec_push(&argv, "--");
	for (size_t i = 0; i < spec->argv.n; i++)
		strvec_push(&argv, spec->argv.v[i]);
	strvec_clear(&spec->argv);
	spec->argv = argv;
	spec->sandbox.process.argv = spec->argv.v;
	return 0;
}
