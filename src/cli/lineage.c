/* SPDX-License-Identifier: Apache-2.0 */
/* petra lineage: what an image was made from, as a tree. */
#include "cli.h"

#include <string.h>

static const char usage[] =
    "Usage: petra lineage [OPTIONS] IMAGE\n"
    "\n"
    "Show what IMAGE was made from, as a tree: the images its build record\n"
    "names (each stage's FROM, COPY --from images, the input of harden), and\n"
    "theirs in turn; where there is no record, the base its annotations name\n"
    "(org.opencontainers.image.base.digest, as buildah writes it), else the\n"
    "image whose layers its own layers extend (the longest such chain). Each\n"
    "line says the role and how it is known (record, annotation, label,\n"
    "layers).\n"
    "\n"
    "Options:\n"
    "      --format FORMAT   text (default) or json\n"
    "      --registry HOST/REPO  the images of this registry repository's tags\n"
    "                        instead of the store's (repeatable): manifests,\n"
    "                        configs and build records (referrers), no layer;\n"
    "                        IMAGE is HOST/REPO:TAG, a digest, or a store "
    "name\n" CLI_REGISTRY_OPTIONS_HELP "  -h, --help            this help\n";

struct lineage_args {
	enum cli_format format;
	const char *image;
	struct strvec registries; /* --registry HOST/REPO */
	struct registry_options registry;
};

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct lineage_args *a)
{
	enum { OPT_FORMAT = 256, OPT_REGISTRY };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"registry", required_argument, NULL, OPT_REGISTRY},
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*a = (struct lineage_args){
	    .format = CLI_FORMAT_TEXT, .registries = STRVEC_INIT, .registry = {.tls_verify = -1}};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (cli_parse_format("lineage", optarg, &a->format))
				return EXIT_USAGE;
			break;
		case OPT_REGISTRY:
			strvec_push(&a->registries, optarg);
			break;
		case 'h':
			return cli_help(usage);
		default: {
			int r = cli_registry_option("lineage", c, optarg, &a->registry);
			if (r > 0)
				return r;
			if (r < 0)
				return cli_bad_option("lineage", argv);
		}
		}
	}
	if (argc - optind != 1)
		return cli_usage("lineage", "expects one IMAGE");
	a->image = argv[optind];
	return -1;
}

/* "NAME@sha256:HEX (role)" to "NAME (role)"; unnamed images keep a short
 * digest. */
static void path_element_text(struct strbuf *sb, const char *element)
{
	const char *at = strstr(element, "@sha256:");
	if (!at) {
		strbuf_addstr(sb, element);
		return;
	}
	if (!strncmp(element, "<none>@", 7)) {
		char shortd[13];
		oci_digest_short(at + 1, shortd);
		strbuf_addstr(sb, shortd);
	} else {
		strbuf_add(sb, element, (size_t)(at - element));
	}
	const char *role = strchr(at, ' ');
	if (role)
		strbuf_addstr(sb, role);
}

char *cli_lineage_path_text(const struct lineage_derivation *d)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < d->n_path; i++) {
		if (i)
			strbuf_addstr(&sb, " <- ");
		path_element_text(&sb, d->path[i]);
	}
	return strbuf_detach(&sb);
}

static void print_tree(const json_t *node, struct strbuf *indent, bool last, bool root)
{
	const char *name = json_get_string(node, "name");
	const char *digest = json_get_string(node, "digest");
	char shortd[13];
	oci_digest_short(digest ? digest : "", shortd);
	if (root) {
		printf("%s  %s\n", name ? name : "<none>", shortd);
	} else {
		printf("%s%s %s  %s  (%s, %s)\n", strbuf_str(indent), last ? "└─" : "├─",
		       name ? name : "<none>", shortd, json_get_string(node, "role") ?: "?",
		       json_get_string(node, "how") ?: "?");
	}
	json_t *from = json_object_get(node, "from");
	size_t len = indent->len;
	if (!root)
		strbuf_addstr(indent, last ? "   " : "│  ");
	for (size_t i = 0; i < json_array_size(from); i++)
		print_tree(json_array_get(from, i), indent, i + 1 == json_array_size(from), false);
	strbuf_setlen(indent, len);
}

/* IMAGE's digest: a name or digest of the set, else the store's. */
static int resolve_image(struct petra_store *store, const struct lineage_images *images,
			 const char *image, char digest[OCI_DIGEST_SIZE], struct petra_error **err)
{
	for (size_t i = 0; i < images->n; i++) {
		bool match = !strcmp(images->v[i].digest, image);
		for (size_t k = 0; !match && k < images->v[i].names.n; k++)
			match = !strcmp(images->v[i].names.v[k], image);
		if (match) {
			snprintf(digest, OCI_DIGEST_SIZE, "%s", images->v[i].digest);
			return 0;
		}
	}
	struct oci_descriptor desc;
	if (petra_store_resolve(store, image, &desc, NULL, err) < 0)
		return -1;
	snprintf(digest, OCI_DIGEST_SIZE, "%s", desc.digest);
	oci_descriptor_release(&desc);
	return 0;
}

int cmd_lineage(struct cli *cli, int argc, char **argv)
{
	struct lineage_args a;
	int status = parse_args(argc, argv, &a);
	_cleanup_strvec_ struct strvec registries = a.registries;
	if (status >= 0)
		return status;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	struct lineage_images images;
	a.registry.quiet = true;
	if ((registries.n ? lineage_images_from_registry((const char *const *)registries.v,
							 registries.n, &a.registry, &images, &err)
			  : lineage_images_from_store(store, &images, &err)) < 0)
		return cli_fail(err);
	char digest[OCI_DIGEST_SIZE];
	if (resolve_image(store, &images, a.image, digest, &err) < 0) {
		lineage_images_release(&images);
		return cli_fail(err);
	}
	_cleanup_json_ json_t *tree = lineage_tree(&images, digest);
	/* The root by the name asked for, when it is one of the image's. */
	for (size_t i = 0; i < images.n; i++)
		for (size_t k = 0; k < images.v[i].names.n; k++)
			if (!strcmp(images.v[i].digest, digest) &&
			    !strcmp(images.v[i].names.v[k], a.image))
				json_object_set_new(tree, "name", json_string(a.image));
	if (a.format == CLI_FORMAT_JSON) {
		cli_print_json(tree);
	} else {
		struct strbuf indent = STRBUF_INIT;
		print_tree(tree, &indent, true, true);
		strbuf_release(&indent);
	}
	lineage_images_release(&images);
	return EXIT_OK;
}
