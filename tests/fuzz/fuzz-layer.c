/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the layer reader and the safe apply: an arbitrary (uncompressed)
 * tar stream is applied onto a fresh directory inside a sandbox directory.
 * Whatever happens, nothing may appear outside the target: the harness
 * checks that the sandbox holds nothing but the target afterwards.
 */
#include "layer/layer.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char *sandbox;

/* Each run removes its target, so the sandbox is empty at exit. */
static void remove_sandbox(void)
{
	rmdir(sandbox);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sandbox) {
		sandbox = xstrdup("/tmp/petra-fuzz-layer.XXXXXX");
		if (!mkdtemp(sandbox))
			__builtin_trap();
		atexit(remove_sandbox);
	}
	int memfd = memfd_create("layer", MFD_CLOEXEC);
	if (memfd < 0 || fs_write_all(memfd, data, size) < 0)
		__builtin_trap();
	lseek(memfd, 0, SEEK_SET);
	char *target = path_join(sandbox, "target");
	mkdir(target, 0755);
	int root = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct layer_reader_options ro = {.compression = LAYER_COMPRESSION_NONE};
	struct layer_reader *r = NULL;
	struct petra_error *err = NULL;
	if (layer_reader_open(memfd, &ro, &r, &err) == 0) {
		struct layer_apply_options ao = {.flags = LAYER_APPLY_NO_OWNERSHIP};
		layer_apply(r, root, &ao, &err);
		layer_reader_close(r);
	}
	petra_error_free(err);
	err = NULL;
	close(root);
	close(memfd);
	/* The only thing in the sandbox is the target. */
	if (count_entries(sandbox) != 1)
		__builtin_trap();
	int dfd = open(sandbox, O_RDONLY | O_DIRECTORY);
	if (fs_remove_tree_at(dfd, "target", &err) < 0)
		__builtin_trap();
	close(dfd);
	free(target);
	return 0;
}
