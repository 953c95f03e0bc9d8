/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harden: a new image in which the runtime user cannot change a byte
 * outside its writable paths (the input image is never changed).
 *
 *  - every file and directory owned by root, directories and executables
 *    0755, other files 0644, setuid/setgid cleared (unless kept), file
 *    capabilities dropped with them, device nodes removed;
 *  - USER a numeric non-root uid:gid (the option, the image's USER through
 *    its /etc/passwd, or 65532);
 *  - the writable paths in the org.petra.writable-paths label, and, where
 *    they exist, empty directories owned by the runtime user;
 *  - shells and package managers (and listed paths) removed on request,
 *    the image labelled org.petra.no-shell;
 *  - squashing: the layers above the base merged into one (whiteouts
 *    resolved, so nothing deleted there survives), base layers shared and
 *    corrected by entries in the new layer where they need it; or one
 *    layer; or no merge (a correcting layer on top);
 *  - honest history and labels that record the input, the base and the
 *    options.
 *
 * Two passes: imagefs reads every layer to decide what the final
 * filesystem holds and where each file's content lies; then the new layer
 * is written — directories, links and whiteouts from the tree in sorted
 * order, then files streamed from the layers that hold them, then
 * hardlinks. Memory stays that of imagefs and a few buffers.
 */
#ifndef PETRA_HARDEN_H
#define PETRA_HARDEN_H

#include "base/base.h"
#include "layer/layer.h"
#include "oci/oci.h"
#include "image/image.h"

/* Labels the hardened image carries. */
#define HARDEN_LABEL_FROM     "org.petra.hardened.from"     /* input manifest digest */
#define HARDEN_LABEL_BASE     "org.petra.hardened.base"     /* base manifest digest */
#define HARDEN_LABEL_OPTIONS  "org.petra.hardened.options"  /* the options, as a command line */
#define HARDEN_LABEL_STRIPPED "org.petra.hardened.stripped" /* JSON list of removed paths */

enum harden_squash {
	HARDEN_SQUASH_APP,  /* the layers above the base into one */
	HARDEN_SQUASH_ALL,  /* every layer into one */
	HARDEN_SQUASH_NONE, /* keep every layer, correct on top */
};
int harden_squash_parse(const char *text, enum harden_squash *out, struct petra_error **err);
const char *harden_squash_name(enum harden_squash s);

struct harden_options {
	const char *name; /* the new image's name */
	const char *user; /* "uid[:gid]" or a name of the image's passwd; NULL: see above */
	/* --writable: path and size (0: 64 MiB); mode and uid are set by
	 * harden. Added to (or replacing) the image's own label entries. */
	const struct image_writable_path *writable;
	size_t n_writable;
	bool strip_shells;
	const char *const *strip; /* absolute paths to remove */
	size_t n_strip;
	bool keep_setuid;
	enum harden_squash squash;
	long base_layers; /* -1: the image's record (audit_base_layers), else none */
	enum layer_compression compression;
	struct progress *progress;
};

struct harden_result {
	char digest[OCI_DIGEST_SIZE]; /* of the new manifest */
	uid_t uid;
	gid_t gid;
	size_t base_layers;     /* layers kept as they were */
	size_t squashed_layers; /* layers merged into the new one */
	bool added_layer;       /* false when nothing needed a new layer */
	uint64_t entries;       /* in the new layer */
	uint64_t removed;       /* paths removed (stripped, devices, writable contents) */
	struct strvec notes;    /* what a person should know */
};
void harden_result_release(struct harden_result *r);

int harden_image(struct petra_store *store, const char *ref, const struct harden_options *o,
		 struct harden_result *result, struct petra_error **err);

struct petra_policy;
/* The policy file's harden section (docs/POLICY.md) into o: user (a
 * string borrowed from the policy), squash, base-layers, strip-shells,
 * keep-setuid; *writable (caller frees with image_writable_paths_free)
 * and paths pushed to strip. No section: nothing changes. */
int harden_options_from_policy(const struct petra_policy *policy, struct harden_options *o,
			       struct image_writable_path **writable, size_t *n_writable,
			       struct strvec *strip, struct petra_error **err);

#endif
