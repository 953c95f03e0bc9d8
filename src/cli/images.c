/* SPDX-License-Identifier: Apache-2.0 */
/* petra images: the named images of the store. */
#include "cli.h"

#include <string.h>

static const char usage[] =
    "Usage: petra images [OPTIONS]\n"
    "\n"
    "List the images in the store: name, tag, manifest digest, age, and size\n"
    "(the stored, compressed size of config and layers).\n"
    "\n"
    "Options:\n"
    "      --format FORMAT   text (default) or json\n"
    "      --digests         show whole digests\n"
    "  -q, --quiet           print only names (name:tag)\n"
    "  -h, --help            this help\n";

struct row {
	char *name, *tag, *digest, *created;
	time_t created_time;
	uint64_t size;
};

/* Name and tag of "host:5000/a/b:tag". */
static void split_name(const char *full, char **name, char **tag)
{
	const char *slash = strrchr(full, '/');
	const char *colon = strrchr(slash ? slash : full, ':');
	*name = colon ? xstrndup(full, (size_t)(colon - full)) : xstrdup(full);
	*tag = xstrdup(colon ? colon + 1 : "");
}

static void fill_row(struct petra_store *store, const struct petra_store_entry *e, struct row *r)
{
	memset(r, 0, sizeof(*r));
	split_name(e->name ? e->name : "<none>:<none>", &r->name, &r->tag);
	r->digest = xstrdup(e->desc.digest);
	struct image img = {0};
	_cleanup_error_ struct petra_error *err = NULL;
	oci_descriptor_copy(&img.desc, &e->desc);
	/* A broken image is still listed; fsck says what is wrong with it. */
	char *data = NULL;
	size_t len;
	if (oci_media_type_kind(e->desc.media_type) == OCI_KIND_MANIFEST &&
	    petra_store_read_blob(store, e->desc.digest, 16u << 20, &data, &len, &err) == 0 &&
	    oci_manifest_parse(data, len, &img.manifest, &err) == 0) {
		r->size = (uint64_t)img.manifest.config.size;
		for (size_t i = 0; i < img.manifest.n_layers; i++)
			r->size += (uint64_t)img.manifest.layers[i].size;
		char *cdata = NULL;
		size_t clen;
		if (petra_store_read_blob(store, img.manifest.config.digest, 16u << 20, &cdata,
					  &clen, &err) == 0 &&
		    oci_config_parse(cdata, clen, &img.config, &err) == 0) {
			const char *created = json_get_string(img.config.json, "created");
			if (created) {
				r->created = xstrdup(created);
				time_parse_rfc3339(created, &r->created_time);
			}
		}
		free(cdata);
	}
	free(data);
	image_release(&img);
}

struct images_args {
	enum cli_format format;
	bool digests, quiet;
};

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct images_args *a)
{
	enum { OPT_FORMAT = 256, OPT_DIGESTS };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"digests", no_argument, NULL, OPT_DIGESTS},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*a = (struct images_args){.format = CLI_FORMAT_TEXT};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "qh", options, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (cli_parse_format("images", optarg, &a->format))
				return EXIT_USAGE;
			break;
		case OPT_DIGESTS:
			a->digests = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("images", argv);
		}
	}
	if (optind != argc)
		return cli_usage("images", "takes no arguments");
	return -1;
}

static void print_json(const struct petra_store_entry *entries, const struct row *rows, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(rows[i].name));
		json_object_set_new(o, "tag", json_string(rows[i].tag));
		json_object_set_new(o, "digest", json_string(rows[i].digest));
		json_object_set_new(o, "mediaType", json_string(entries[i].desc.media_type));
		json_object_set_new(o, "created",
				    rows[i].created ? json_string(rows[i].created) : json_null());
		json_object_set_new(o, "size", json_integer((json_int_t)rows[i].size));
		json_array_append_new(arr, o);
	}
	cli_print_json(arr);
	json_decref(arr);
}

static void print_table(const struct row *rows, size_t n, bool digests)
{
	size_t wn = 4, wt = 3;
	for (size_t i = 0; i < n; i++) {
		if (strlen(rows[i].name) > wn)
			wn = strlen(rows[i].name);
		if (strlen(rows[i].tag) > wt)
			wt = strlen(rows[i].tag);
	}
	printf("%-*s  %-*s  %-*s  %-16s  %s\n", (int)wn, "NAME", (int)wt, "TAG", digests ? 71 : 12,
	       "DIGEST", "CREATED", "SIZE");
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		char age[48], size[32], shortd[13];
		format_age(rows[i].created_time, now, age, sizeof(age));
		format_size(rows[i].size, size, sizeof(size));
		oci_digest_short(rows[i].digest, shortd);
		printf("%-*s  %-*s  %-*s  %-16s  %s\n", (int)wn, rows[i].name, (int)wt, rows[i].tag,
		       digests ? 71 : 12, digests ? rows[i].digest : shortd, age, size);
	}
}

int cmd_images(struct cli *cli, int argc, char **argv)
{
	struct images_args a;
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_CREATE);
	if (!store)
		return EXIT_FAIL;
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	struct petra_error *err = NULL;
	if (petra_store_list(store, &entries, &n, &err) < 0)
		return cli_fail(err);
	struct row *rows = xcalloc(n, sizeof(*rows));
	for (size_t i = 0; i < n; i++)
		fill_row(store, &entries[i], &rows[i]);
	if (a.format == CLI_FORMAT_JSON)
		print_json(entries, rows, n);
	else if (a.quiet)
		for (size_t i = 0; i < n; i++)
			printf("%s:%s\n", rows[i].name, rows[i].tag);
	else
		print_table(rows, n, a.digests);
	for (size_t i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].tag);
		free(rows[i].digest);
		free(rows[i].created);
	}
	free(rows);
	petra_store_entries_free(entries, n);
	return EXIT_OK;
}
