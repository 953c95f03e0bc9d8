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
    "  -h, --help            this help\n";

struct lineage_args {
	enum cli_format format;
	const char *image;
};

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct lineage_args *a)
{
	enum { OPT_FORMAT = 256 };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*a = (struct lineage_args){.format = CLI_FORMAT_TEXT};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (cli_parse_format("lineage", optarg, &a->format))
				return EXIT_USAGE;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("lineage", argv);
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

int cmd_lineage(struct cli *cli, int argc, char **argv)
{
	struct lineage_args a;
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	struct petra_error *err = NULL;
	struct oci_descriptor desc;
	if (petra_store_resolve(store, a.image, &desc, NULL, &err) < 0)
		return cli_fail(err);
	struct lineage_images images;
	if (lineage_images_from_store(store, &images, &err) < 0) {
		oci_descriptor_release(&desc);
		return cli_fail(err);
	}
	_cleanup_json_ json_t *tree = lineage_tree(&images, desc.digest);
	/* The root by the name asked for, when it is one of the image's. */
	if (strchr(a.image, ':') && !oci_digest_valid(a.image)) {
		for (size_t i = 0; i < images.n; i++)
			for (size_t k = 0; k < images.v[i].names.n; k++)
				if (!strcmp(images.v[i].digest, desc.digest) &&
				    !strcmp(images.v[i].names.v[k], a.image))
					json_object_set_new(tree, "name", json_string(a.image));
	}
	if (a.format == CLI_FORMAT_JSON) {
		cli_print_json(tree);
	} else {
		struct strbuf indent = STRBUF_INIT;
		print_tree(tree, &indent, true, true);
		strbuf_release(&indent);
	}
	lineage_images_release(&images);
	oci_descriptor_release(&desc);
	return EXIT_OK;
}
