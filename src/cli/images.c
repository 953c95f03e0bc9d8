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
    "  -f, --filter derived-from=REF|DIGEST\n"
    "                        only the images made from REF, however indirectly:\n"
    "                        through build records (stages, COPY --from, harden),\n"
    "                        layer prefixes (its layers start with all of REF's)\n"
    "                        and base annotations; each with its path (image <-\n"
    "                        ... <- REF). REF itself is not listed\n"
    "      --registry HOST/REPO  with derived-from: the tags of this registry\n"
    "                        repository instead of the store (repeatable):\n"
    "                        manifests, configs and build records (referrers)\n"
    "                        are read, no layer; REF may be a store name\n"
    "                        or digest, or HOST/REPO:TAG\n" CLI_REGISTRY_OPTIONS_HELP
    "  -q, --quiet           print only names (name:tag)\n"
    "  -h, --help            this help\n";

struct row {
	char *name, *tag, *digest, *created;
	time_t created_time;
	uint64_t size;
	const struct lineage_derivation *derivation; /* with --filter derived-from */
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
	const char *derived_from; /* --filter derived-from=REF, or NULL */
	struct strvec registries; /* --registry HOST/REPO */
	struct registry_options registry;
};

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct images_args *a)
{
	enum { OPT_FORMAT = 256, OPT_DIGESTS, OPT_REGISTRY };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"digests", no_argument, NULL, OPT_DIGESTS},
	    {"filter", required_argument, NULL, 'f'},
	    {"registry", required_argument, NULL, OPT_REGISTRY},
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*a = (struct images_args){
	    .format = CLI_FORMAT_TEXT, .registries = STRVEC_INIT, .registry = {.tls_verify = -1}};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "f:qh", options, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strncmp(optarg, "derived-from=", 13) || !optarg[13])
				return cli_usage(
				    "images", "--filter \"%s\": expected derived-from=REF|DIGEST",
				    optarg);
			if (a->derived_from)
				return cli_usage("images", "one --filter derived-from at a time");
			a->derived_from = optarg + 13;
			break;
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
		case OPT_REGISTRY:
			strvec_push(&a->registries, optarg);
			break;
		case 'h':
			return cli_help(usage);
		default: {
			int r = cli_registry_option("images", c, optarg, &a->registry);
			if (r > 0)
				return r;
			if (r < 0)
				return cli_bad_option("images", argv);
		}
		}
	}
	if (optind != argc)
		return cli_usage("images", "takes no arguments");
	if (a->registries.n && !a->derived_from)
		return cli_usage("images", "--registry goes with --filter derived-from=REF");
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
		const struct lineage_derivation *d = rows[i].derivation;
		if (d) {
			json_t *path = json_array();
			for (size_t k = 0; k < d->n_path; k++)
				json_array_append_new(path, json_string(d->path[k]));
			json_object_set_new(o, "path", path);
			json_object_set_new(o, "byLayers", json_boolean(d->by_layers));
		}
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
	bool paths = n && rows[0].derivation;
	printf("%-*s  %-*s  %-*s  %-16s  %-8s%s\n", (int)wn, "NAME", (int)wt, "TAG",
	       digests ? 71 : 12, "DIGEST", "CREATED", "SIZE", paths ? "  PATH" : "");
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		char age[48], size[32], shortd[13];
		format_age(rows[i].created_time, now, age, sizeof(age));
		format_size(rows[i].size, size, sizeof(size));
		oci_digest_short(rows[i].digest, shortd);
		_cleanup_free_ char *path =
		    rows[i].derivation ? cli_lineage_path_text(rows[i].derivation) : NULL;
		printf("%-*s  %-*s  %-*s  %-16s  %-8s%s%s\n", (int)wn, rows[i].name, (int)wt,
		       rows[i].tag, digests ? 71 : 12, digests ? rows[i].digest : shortd, age, size,
		       path ? "  " : "", path ? path : "");
	}
}

/* --registry: the derived images of registry repositories (no store
 * listing: name, tag, digest and path). */
static int print_registry(const struct images_args *a, const struct lineage_derivations *d)
{
	if (a->format == CLI_FORMAT_JSON) {
		json_t *arr = json_array();
		for (size_t i = 0; i < d->n; i++)
			for (size_t k = 0; k < d->v[i].n_names; k++) {
				_cleanup_free_ char *name = NULL, *tag = NULL;
				split_name(d->v[i].names[k], &name, &tag);
				json_t *path = json_array();
				for (size_t p = 0; p < d->v[i].n_path; p++)
					json_array_append_new(path, json_string(d->v[i].path[p]));
				json_array_append_new(
				    arr, json_pack("{s:s,s:s,s:s,s:o,s:b}", "name", name, "tag",
						   tag, "digest", d->v[i].digest, "path", path,
						   "byLayers", d->v[i].by_layers));
			}
		cli_print_json(arr);
		json_decref(arr);
		return EXIT_OK;
	}
	if (!a->quiet)
		printf("%-40s  %-*s  %s\n", "NAME:TAG", a->digests ? 71 : 12, "DIGEST", "PATH");
	for (size_t i = 0; i < d->n; i++)
		for (size_t k = 0; k < d->v[i].n_names; k++) {
			if (a->quiet) {
				printf("%s\n", d->v[i].names[k]);
				continue;
			}
			char shortd[13];
			oci_digest_short(d->v[i].digest, shortd);
			_cleanup_free_ char *path = cli_lineage_path_text(&d->v[i]);
			printf("%-40s  %-*s  %s\n", d->v[i].names[k], a->digests ? 71 : 12,
			       a->digests ? d->v[i].digest : shortd, path);
		}
	return EXIT_OK;
}

int cmd_images(struct cli *cli, int argc, char **argv)
{
	struct images_args a;
	int status = parse_args(argc, argv, &a);
	_cleanup_strvec_ struct strvec registries = a.registries;
	if (status >= 0)
		return status;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, PETRA_STORE_CREATE);
	if (!store)
		return EXIT_FAIL;
	if (registries.n) {
		struct lineage_derivations d;
		struct petra_error *e = NULL;
		a.registry.quiet = true;
		if (lineage_derived_from_registry(store, (const char *const *)registries.v,
						  registries.n, &a.registry, a.derived_from, &d,
						  &e) < 0)
			return cli_fail(e);
		status = print_registry(&a, &d);
		lineage_derivations_release(&d);
		return status;
	}
	struct petra_store_entry *entries = NULL;
	size_t n = 0;
	struct petra_error *err = NULL;
	struct lineage_derivations derived = {0};
	if (a.derived_from && lineage_derived_from(store, a.derived_from, &derived, &err) < 0)
		return cli_fail(err);
	/* Names only: the query has them (from its cache), no listing to read. */
	if (a.derived_from && a.quiet && a.format != CLI_FORMAT_JSON) {
		for (size_t i = 0; i < derived.n; i++)
			for (size_t k = 0; k < derived.v[i].n_names; k++)
				printf("%s\n", derived.v[i].names[k]);
		lineage_derivations_release(&derived);
		return EXIT_OK;
	}
	if (petra_store_list(store, &entries, &n, &err) < 0) {
		lineage_derivations_release(&derived);
		return cli_fail(err);
	}
	struct row *rows = xcalloc(n ? n : 1, sizeof(*rows));
	/* Filtered: the entries (names) of derived images, in store order. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		const struct lineage_derivation *d = NULL;
		if (a.derived_from &&
		    !(d = lineage_derivations_find(&derived, entries[i].desc.digest)))
			continue;
		if (kept != i) {
			struct petra_store_entry tmp = entries[kept];
			entries[kept] = entries[i];
			entries[i] = tmp;
		}
		fill_row(store, &entries[kept], &rows[kept]);
		rows[kept++].derivation = d;
	}
	if (a.format == CLI_FORMAT_JSON)
		print_json(entries, rows, kept);
	else if (a.quiet)
		for (size_t i = 0; i < kept; i++)
			printf("%s:%s\n", rows[i].name, rows[i].tag);
	else
		print_table(rows, kept, a.digests);
	lineage_derivations_release(&derived);
	for (size_t i = 0; i < kept; i++) {
		free(rows[i].name);
		free(rows[i].tag);
		free(rows[i].digest);
		free(rows[i].created);
	}
	free(rows);
	petra_store_entries_free(entries, n);
	return EXIT_OK;
}
