/* SPDX-License-Identifier: Apache-2.0 */
/* petra copy: an image between registries, layouts, archives and the
 * store, through the store (blobs verified once, shared blobs kept once). */
#include <errno.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: petra copy [OPTIONS] SRC DEST\n"
    "\n"
    "Copy an image. SRC and DEST are each one of:\n"
    "  docker://REF             a registry\n"
    "  oci:PATH[:TAG]           an OCI image layout\n"
    "  oci-archive:FILE[:TAG]   an OCI layout in a tar archive\n"
    "  docker-archive:FILE      a `docker save` archive (SRC: its first image)\n"
    "  dir:PATH                 containers/image's directory layout (skopeo's dir:)\n"
    "  NAME[:TAG]               an image of the store\n"
    "The image goes through the store (and stays there under SRC's name, or\n"
    "DEST's when DEST is the store); the printed digest is the manifest's.\n"
    "The image's referrers (build records, signatures, SBOMs: the referrers\n"
    "API, else the sha256-<hex> tag) are copied too. Cosign\n"
    "signatures and attestations (sha256-<hex>.sig and .att) go along between\n"
    "registries, the store and dir: (signature-N files); GPG signatures between\n"
    "the store, dir: and the registries.d lookaside of a registry.\n"
    "\n"
    "Options:\n"
    "      --platform OS/ARCH[/VARIANT]  docker:// SRC: the image of an "
    "index\n"
    "      --registries.d DIR   lookaside configuration (default:\n"
    "                           /etc/containers/registries.d)\n" CLI_REGISTRY_OPTIONS_HELP
    "  -j, --jobs N             blobs at once (default 4)\n"
    "  -q, --quiet              no progress\n"
    "  -h, --help               this help\n";

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

int cmd_copy(struct cli *cli, int argc, char **argv)
{
	enum { OPT_REGISTRIES_D = 256 };
	static const struct option options[] = {
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"registries.d", required_argument, NULL, OPT_REGISTRIES_D},
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct registry_options o = {.tls_verify = -1, .quiet = cli->quiet};
	const char *registries_d = NULL;
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "j:qh", options, NULL)) != -1) {
		int r = cli_registry_option("copy", c, optarg, &o);
		if (r > 0)
			return r;
		if (r == 0)
			continue;
		if (c == OPT_REGISTRIES_D)
			registries_d = optarg;
		else if (c == 'q')
			o.quiet = true;
		else if (c == 'h')
			return cli_help(usage);
		else
			return cli_bad_option("copy", argv);
	}
	if (argc - optind != 2)
		return cli_usage("copy", "expects SRC and DEST");
	const char *src = argv[optind], *dest = argv[optind + 1];
	_cleanup_store_ struct petra_store *store =
	    cli_open_store(cli, PETRA_STORE_CREATE | PETRA_STORE_WRITE);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	_cleanup_registries_d_ struct trust_registries_d *rd = NULL;
	if (trust_registries_d_load(registries_d, &rd, &err) < 0)
		return cli_fail(err);
	char digest[OCI_DIGEST_SIZE];
	_cleanup_free_ char *name = NULL;
	/* SRC into the store. */
	if (has_prefix(src, "docker://")) {
		if (registry_pull(store, src + 9, &o, digest, &err) < 0)
			return cli_fail(err);
		cli_pull_referrers(store, src + 9, digest, &o);
		name = xstrdup(src + 9);
	} else if (has_prefix(src, "oci:") || has_prefix(src, "oci-archive:") ||
		   has_prefix(src, "dir:")) {
		struct image_import_options io = {.compression = LAYER_COMPRESSION_GZIP};
		if (image_import(store, src, &io, &name, digest, &err) < 0)
			return cli_fail(err);
	} else if (has_prefix(src, "docker-archive:")) {
		_cleanup_strvec_ struct strvec names = STRVEC_INIT;
		if (image_load_docker_archive(store, src + 15, NULL, &names, &err) < 0)
			return cli_fail(err);
		if (!names.n)
			return cli_fail(
			    (petra_error_set(&err, ENOENT, "copy: %s holds no image", src), err));
		char *space = strchr(names.v[0], ' ');
		name = xstrndup(names.v[0], (size_t)(space - names.v[0]));
		if (!strcmp(name, "<none>")) {
			free(name);
			name = xstrdup(space + 1);
		}
	} else {
		name = xstrdup(src);
	}
	/* Its signatures into the store with it. */
	size_t carried = 0;
	if (has_prefix(src, "docker://") &&
	    (trust_pull_signatures(store, src + 9, name, &o, &carried, &err) < 0 ||
	     trust_lookaside_pull(store, rd, src + 9, name, &o, &carried, &err) < 0)) {
		/* As pull: the image is there; what is missing is said. */
		log_warn("copy %s: signatures not copied: %s", src, err->message);
		petra_error_free(err);
		err = NULL;
	}
	if (has_prefix(src, "dir:") &&
	    trust_dir_import_signatures(store, src + 4, name, &carried, &err) < 0)
		return cli_fail((petra_error_prefix(&err, "copy %s: signatures", src), err));
	/* The store's image to DEST. */
	if (has_prefix(dest, "docker://")) {
		if (registry_push(store, name, dest + 9, &o, digest, &err) < 0)
			return cli_fail(err);
		/* Registry to registry: signatures, SBOMs and attestations too. */
		size_t copied = 0;
		if (has_prefix(src, "docker://") &&
		    registry_copy_referrers(store, src + 9, dest + 9, digest, &o, &copied, &err) <
			0)
			return cli_fail(err);
		/* From the store or a layout: the store's referrers. */
		if (!has_prefix(src, "docker://") &&
		    registry_push_referrers(store, dest + 9, digest, &o, &copied, &err) < 0)
			return cli_fail(err);
		if (copied && !o.quiet)
			log_info("copied %zu referrer%s", copied, copied == 1 ? "" : "s");
		if (trust_push_signatures(store, name, dest + 9, &o, &carried, &err) < 0)
			return cli_fail(
			    (petra_error_prefix(&err, "copy to %s: signatures", dest), err));
		if (trust_lookaside_push(store, rd, name, dest + 9, &carried, &err) < 0) {
			if (err->code != ENOENT)
				return cli_fail(
				    (petra_error_prefix(&err, "copy to %s: GPG signatures", dest),
				     err));
			log_warn("copy to %s: the image's GPG signatures are not copied: %s", dest,
				 err->message);
			petra_error_free(err);
			err = NULL;
		}
	} else if (has_prefix(dest, "oci:") || has_prefix(dest, "oci-archive:") ||
		   has_prefix(dest, "dir:")) {
		if (image_export(store, name, dest, &err) < 0)
			return cli_fail(err);
		if (has_prefix(dest, "dir:") &&
		    trust_dir_export_signatures(store, name, dest + 4, &carried, &err) < 0)
			return cli_fail(
			    (petra_error_prefix(&err, "copy to %s: signatures", dest), err));
	} else if (has_prefix(dest, "docker-archive:")) {
		const char *refs[] = {name};
		if (image_save(store, refs, 1, dest + 15, &err) < 0)
			return cli_fail(err);
	} else {
		struct oci_descriptor desc;
		struct oci_ref ref;
		if (petra_store_resolve(store, name, &desc, NULL, &err) < 0 ||
		    oci_ref_parse(dest, &ref, &err) < 0)
			return cli_fail(err);
		_cleanup_free_ char *dest_name = oci_ref_format(&ref);
		oci_ref_release(&ref);
		int r = petra_store_set_ref(store, dest_name, &desc, &err);
		oci_descriptor_release(&desc);
		if (r < 0 ||
		    trust_store_copy_signatures(store, name, dest_name, &carried, &err) < 0)
			return cli_fail(err);
	}
	struct oci_descriptor final;
	if (petra_store_resolve(store, name, &final, NULL, &err) < 0)
		return cli_fail(err);
	printf("%s\n", final.digest);
	oci_descriptor_release(&final);
	return EXIT_OK;
}
