/* SPDX-License-Identifier: Apache-2.0 */
/* petra bundle: the container petra run would start, as an OCI runtime
 * bundle (rootfs/ and config.json) that runc runs unchanged. */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

int runtime_bundle(struct petra_store *store, const struct runtime_run_options *o, const char *dir,
		   struct petra_error **err)
{
	/* The cached layers answer the user lookup; the bundle gets its own
	 * flattened copy, which runc needs. */
	struct image img;
	struct runtime_spec spec;
	int r = runtime_prepare(store, o, &img, &spec, err);
	if (r < 0)
		return r;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		r = petra_error_set_errno(err, errno, "create %s", dir);
	_cleanup_free_ char *rootfs = path_join(dir, "rootfs");
	struct image_unpack_options uo = {0};
	if (r == 0)
		r = image_unpack(store, o->image, rootfs, &uo, err);
	if (r == 0) {
		spec.sandbox.hostname = "petra";
		_cleanup_json_ json_t *config = sandbox_oci_config(&spec.sandbox);
		_cleanup_free_ char *text = json_dump_pretty(config);
		_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = dfd < 0 ? petra_error_set_errno(err, errno, "open %s", dir)
			    : fs_write_file_atomic_at(dfd, "config.json", text, strlen(text), 0644,
						      err);
	}
	runtime_spec_release(&spec);
	image_release(&img);
	return r;
}
