/* SPDX-License-Identifier: Apache-2.0 */
/* petra history: the layers of an image and the steps that made them. */
#include "cli.h"

#include <string.h>

static const char usage[] = "Usage: petra history [OPTIONS] IMAGE\n"
			    "\n"
			    "List IMAGE's history, newest first: for each step the layer it made\n"
			    "(its digest and stored size, or <empty>), when, and the command.\n"
			    "\n"
			    "Options:\n"
			    "      --format FORMAT   text (default) or json\n"
			    "      --no-trunc        do not shorten digests and commands\n"
			    "  -h, --help            this help\n";

struct history_args {
	enum cli_format format;
	bool no_trunc;
	const char *image;
};

/* -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct history_args *a)
{
	enum { OPT_FORMAT = 256, OPT_NO_TRUNC };
	static const struct option options[] = {
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"no-trunc", no_argument, NULL, OPT_NO_TRUNC},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*a = (struct history_args){.format = CLI_FORMAT_TEXT};
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (cli_parse_format("history", optarg, &a->format))
				return EXIT_USAGE;
			break;
		case OPT_NO_TRUNC:
			a->no_trunc = true;
			break;
		case 'h':
			return cli_help(usage);
		default:
			return cli_bad_option("history", argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage("history", "expects one IMAGE");
	a->image = argv[optind];
	return cli_check_image_ref("history", a->image) != 0 ? EXIT_USAGE : -1;
}

static json_t *layer_step(const struct oci_descriptor *layer)
{
	json_t *o = json_object();
	json_object_set_new(o, "layer", layer ? json_string(layer->digest) : json_null());
	json_object_set_new(o, "size", json_integer(layer ? layer->size : 0));
	return o;
}

/* The steps, oldest first. History steps are paired with layers: each
 * step without empty_layer made the next layer. Layers without a step
 * are listed as <missing>. */
static json_t *history_steps(const struct image *img)
{
	json_t *steps = json_array();
	json_t *history = json_object_get(img->config.json, "history");
	size_t layer = 0;
	for (size_t i = 0; i < json_array_size(history); i++) {
		json_t *h = json_array_get(history, i);
		bool empty = json_is_true(json_object_get(h, "empty_layer"));
		json_t *o = layer_step(!empty && layer < img->manifest.n_layers
					   ? &img->manifest.layers[layer++]
					   : NULL);
		const char *created = json_get_string(h, "created");
		const char *by = json_get_string(h, "created_by");
		const char *comment = json_get_string(h, "comment");
		json_object_set_new(o, "created", created ? json_string(created) : json_null());
		json_object_set_new(o, "created_by", json_string(by ? by : ""));
		if (comment)
			json_object_set_new(o, "comment", json_string(comment));
		json_array_append_new(steps, o);
	}
	for (; layer < img->manifest.n_layers; layer++) {
		json_t *o = layer_step(&img->manifest.layers[layer]);
		json_object_set_new(o, "created", json_null());
		json_object_set_new(o, "created_by", json_string("<missing>"));
		json_array_append_new(steps, o);
	}
	return steps;
}

/* Newest first, one line per step whatever the command holds. */
static void print_text(json_t *steps, bool no_trunc)
{
	printf("%-*s  %-16s  %-10s  %s\n", no_trunc ? 71 : 12, "LAYER", "CREATED", "SIZE",
	       "CREATED BY");
	time_t now = time(NULL);
	for (size_t i = json_array_size(steps); i > 0; i--) {
		json_t *o = json_array_get(steps, i - 1);
		const char *digest = json_get_string(o, "layer");
		char shortd[13], age[48] = "N/A", size[32];
		if (digest)
			oci_digest_short(digest, shortd);
		const char *created = json_get_string(o, "created");
		time_t t;
		if (created && time_parse_rfc3339(created, &t) == 0)
			format_age(t, now, age, sizeof(age));
		format_size((uint64_t)json_get_int(o, "size", 0), size, sizeof(size));
		_cleanup_free_ char *flat = xstrdup(json_get_string(o, "created_by"));
		for (char *p = flat; *p; p++)
			if (*p == '\n' || *p == '\t' || *p == '\r')
				*p = ' ';
		if (!no_trunc && strlen(flat) > 60)
			strcpy(flat + 57, "...");
		printf("%-*s  %-16s  %-10s  %s\n", no_trunc ? 71 : 12,
		       digest ? (no_trunc ? digest : shortd) : "<empty>", age, size, flat);
	}
}

static void print_json(json_t *steps)
{
	json_t *reversed = json_array();
	for (size_t i = json_array_size(steps); i > 0; i--)
		json_array_append(reversed, json_array_get(steps, i - 1));
	cli_print_json(reversed);
	json_decref(reversed);
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
	struct history_args a;
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXIT_FAIL;
	struct image img;
	struct petra_error *err = NULL;
	if (image_load(store, a.image, &img, &err) < 0)
		return cli_fail(err);
	json_t *steps = history_steps(&img);
	if (a.format == CLI_FORMAT_JSON)
		print_json(steps);
	else
		print_text(steps, a.no_trunc);
	json_decref(steps);
	image_release(&img);
	return EXIT_OK;
}
