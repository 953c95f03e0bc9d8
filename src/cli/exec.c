/* SPDX-License-Identifier: Apache-2.0 */
/* petra exec: a command in one running container, or in all that match. */
#include "cli.h"
#include "kube/kube.h"
#include "lineage/lineage.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <string.h>

static const char usage[] =
    "Usage: petra exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
    "       petra exec --all [--filter FILTER]... [OPTIONS] -- COMMAND [ARG...]\n"
    "       petra exec --kubernetes PODS.json [--filter FILTER]... [--run] -- COMMAND...\n"
    "\n"
    "Run COMMAND inside a running container: its namespaces, its root, its user,\n"
    "environment and working directory, with the same capabilities,\n"
    "no_new_privs and seccomp profile as the container itself.\n"
    "\n"
    "With --all, run it in every running container that matches all filters,\n"
    "--jobs at once, each with its own --timeout. The report groups the\n"
    "containers by identical output (one block per distinct output, headed by\n"
    "the containers that printed it, as pdsh's dshbak -c), then one line per\n"
    "container and a summary:\n"
    "  <id> <name> <image> ok|failed|timed out (exit N) <duration>s\n"
    "  N ok, N failed, N timed out\n"
    "Each container's output (stdout and stderr) is kept up to 64 KiB; the\n"
    "report says where it was cut.\n"
    "\n"
    "With --kubernetes, read PODS.json (kubectl get pods -A -o json; - for stdin),\n"
    "look up each running container's image digest (status.*containerStatuses[]\n"
    ".imageID) in the store, and print a `kubectl exec -n NS POD -c CONTAINER --\n"
    "COMMAND...` line for each that matches the filters (derived-from=REF,\n"
    "image=REF); a digest the store does not hold is reported as unknown.\n"
    "--run runs them through the kubectl on PATH (configured for the cluster),\n"
    "as --all runs its own.\n"
    "\n"
    "Options:\n"
    "      --all              every running container (that matches the filters)\n"
    "  -f, --filter FILTER    image=REF, base=DIGEST, derived-from=REF, label=K[=V],\n"
    "                         name=NAME, id=PREFIX (repeatable; all must match)\n"
    "      --dry-run          list the containers, run nothing\n"
    "  -j, --jobs N           with --all or --run: containers at once (default 8)\n"
    "      --timeout S        with --all or --run: kill the command, and all it\n"
    "                         started there, after S seconds\n"
    "      --kubernetes FILE  the containers of kubectl get pods -A -o json output\n"
    "      --run              with --kubernetes: run the kubectl commands\n"
    "      --registry HOST/REPO  with --kubernetes: the images of this repository\n"
    "                         are known too (repeatable; no layer is pulled)\n"
    "      --format FORMAT    with --all or --kubernetes: text (default) or json\n"
    "  -i, --interactive      keep standard input open\n"
    "  -t, --tty              a terminal\n"
    "  -u, --user USER        another user of the image\n"
    "  -e, --env K=V          set an environment variable\n"
    "  -w, --workdir DIR      the working directory\n"
    "      --strict           refuse (125; with --all: that container fails) when\n"
    "                         the policy now refuses the container's image\n" CLI_GATE_OPTIONS_HELP
	CLI_REGISTRY_OPTIONS_HELP "  -h, --help             this help\n"
    "\n"
    "The gate checks each container's image against the policy before the\n"
    "command starts: an image banned (or its base, or whose signatures no longer\n"
    "satisfy the policy) since the container started gets a warning on stderr,\n"
    "and the command still runs (an emergency fix must reach a container while\n"
    "its image is rebuilt), unless --strict.\n"
    "\n"
    "Exit status: the command's (125 petra failed, 126 not executable, 127 not\n"
    "found). With --all: 0 when it succeeded everywhere (or matched nothing),\n"
    "1 when it failed or timed out in any container (a timed-out container's\n"
    "exit is reported as 124), 125 when petra failed.\n";

enum { EXEC_EXIT_FAIL = 125 };

/* 0: the command may run in ct (perhaps after a warning); else refused
 * with --strict, the reasons printed. */
static int exec_gate(struct petra_store *store, const struct runtime_container *ct,
		     const struct cli_gate_args *gate, bool strict)
{
	const char *image = cli_gate_container_image(store, ct);
	if (!image) {
		if (!strict)
			return 0;
		fprintf(stderr, "petra: container %s records no image to check\n", ct->id);
		return -1;
	}
	return cli_gate(store, image, TRUST_PURPOSE_EXEC, gate, !strict);
}

/* What the fleet needs to know about the whole run. */
struct fleet_args {
	bool dry_run;
	unsigned jobs;
	unsigned timeout_ms;
	enum cli_format format;
};

/* One container of exec --all, run by a fleet worker. */
struct container_target {
	struct petra_store *store;
	const struct runtime_container *ct;
	const struct runtime_exec_options *o;
};

static int exec_in_container(void *ctx, int out_fd, unsigned timeout_ms, int *exit_code,
			     struct petra_error **err)
{
	const struct container_target *x = ctx;
	struct runtime_exec_options o = *x->o;
	o.stdio[0] = -1;
	o.stdio[1] = o.stdio[2] = out_fd;
	o.timeout_ms = timeout_ms;
	return runtime_exec(x->store, x->ct, &o, exit_code, err);
}

/* --dry-run: the targets, nothing run. */
static void print_targets(const struct cli_fleet_target *t, size_t n, enum cli_format format)
{
	if (format == CLI_FORMAT_JSON) {
		json_t *all = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = t[i].info ? json_deep_copy(t[i].info) : json_object();
			if (t[i].done && t[i].error)
				json_object_set_new(o, "error", json_string(t[i].error));
			json_array_append_new(all, o);
		}
		cli_print_json(all);
		json_decref(all);
		return;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s%s%s\n", t[i].line ? t[i].line : t[i].name, t[i].done ? " " : "",
		       t[i].done && t[i].error ? t[i].error : "");
	printf("%zu target%s (dry run: nothing was run)\n", n, n == 1 ? "" : "s");
}

/* Run the targets (or list them) and report: the exit status. */
static int fleet(struct cli_fleet_target *t, size_t n, const struct fleet_args *f)
{
	cli_fleet_sort(t, n);
	if (f->dry_run) {
		print_targets(t, n, f->format);
		return EXIT_OK;
	}
	struct petra_error *err = NULL;
	if (cli_fleet_run(t, n, f->jobs, f->timeout_ms, CLI_FLEET_OUTPUT_CAP, &err) < 0) {
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	return cli_fleet_report(t, n, f->format);
}

static int exec_all(struct cli *cli, const struct strvec *filters,
		    const struct runtime_exec_options *o, const struct fleet_args *f,
		    const struct cli_gate_args *gate, bool strict)
{
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXEC_EXIT_FAIL;
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container *list;
	size_t n;
	struct petra_error *err = NULL;
	if (runtime_list(run_dir, &list, &n, &err) < 0) {
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	/* derived-from is worked out once here, not per container. */
	struct runtime_filters *matcher = NULL;
	if (runtime_filters_new(store, (const char *const *)filters->v, filters->n, &matcher,
				&err) < 0) {
		runtime_containers_free(list, n);
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	struct cli_fleet_target *targets = NULL;
	size_t n_targets = 0, alloc = 0;
	_cleanup_free_ struct container_target *ctxs = xcalloc(n ? n : 1, sizeof(*ctxs));
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct runtime_container *ct = &list[i];
		bool match = false;
		if (ct->running)
			r = runtime_filters_match(matcher, ct, &match, &err);
		if (r < 0 || !match)
			continue;
		const char *name = ct->name ? ct->name : ct->id;
		struct cli_fleet_target *t = cli_fleet_target_add(&targets, &n_targets, &alloc);
		t->name = xstrdup(name);
		t->line = xasprintf("%.12s %s %s", ct->id, name, ct->image ? ct->image : "-");
		t->info =
		    json_pack("{s:s,s:s,s:s?}", "id", ct->id, "name", name, "image", ct->image);
		ctxs[i] = (struct container_target){store, ct, o};
		t->run = exec_in_container;
		t->ctx = &ctxs[i];
		if (exec_gate(store, ct, gate, strict) != 0) {
			t->done = true;
			t->status = CLI_FLEET_FAILED;
			t->error = xstrdup("refused by the policy");
		}
	}
	int status = EXEC_EXIT_FAIL;
	if (r < 0)
		cli_fail(err);
	else
		status = fleet(targets, n_targets, f);
	cli_fleet_targets_free(targets, n_targets);
	runtime_filters_free(matcher);
	runtime_containers_free(list, n);
	return status;
}

/* ---- exec --kubernetes: the same selection over a cluster's pods ---- */

/* kubectl get pods -A -o json of a large cluster is tens of megabytes. */
#define PODS_MAX_SIZE ((size_t)512 << 20)

/* What exec --kubernetes does with a container. */
enum pod_decision { POD_TARGET, POD_UNKNOWN, POD_NO_MATCH, POD_NOT_RUNNING };
static const char *const pod_decision_names[] = {"target", "unknown", "no match", "not running"};

/* The filters of --kubernetes, resolved once against the store (and the
 * registry repositories of --registry). */
struct pod_filters {
	struct strvec images; /* image=REF: the manifest digests */
	/* derived-from=REF: the images derived from each REF, among the
	 * store's and (when --registry) among the repositories' */
	struct lineage_derivations *derived, *derived_registry;
	size_t n_derived;
	struct lineage_images registry; /* --registry: the repositories' images */
	bool has_registry;
};

static void pod_filters_release(struct pod_filters *f)
{
	strvec_clear(&f->images);
	for (size_t i = 0; i < f->n_derived; i++) {
		lineage_derivations_release(&f->derived[i]);
		lineage_derivations_release(&f->derived_registry[i]);
	}
	free(f->derived);
	free(f->derived_registry);
	if (f->has_registry)
		lineage_images_release(&f->registry);
}

static bool kube_filter_valid(const char *filter)
{
	return (!strncmp(filter, "image=", 6) && filter[6]) ||
	       (!strncmp(filter, "derived-from=", 13) && filter[13]);
}

static const struct lineage_image *registry_image(const struct pod_filters *f, const char *digest)
{
	for (size_t i = 0; f->has_registry && i < f->registry.n; i++)
		if (!strcmp(f->registry.v[i].digest, digest))
			return &f->registry.v[i];
	return NULL;
}

/* derived-from=base over the registry's images: the base is a store image
 * (its layers then come from the store) or a digest among them. */
static int derive_in_registry(struct petra_store *store, struct pod_filters *f, const char *base,
			      struct lineage_derivations *out, struct petra_error **err)
{
	*out = (struct lineage_derivations){0};
	if (!f->has_registry)
		return 0;
	struct image img;
	_cleanup_error_ struct petra_error *ignored = NULL;
	if (image_load(store, base, &img, &ignored) == 0) {
		int r =
		    lineage_derive(&f->registry, img.desc.digest, &img.config.diff_ids, out, err);
		image_release(&img);
		return r;
	}
	const struct lineage_image *in = registry_image(f, base);
	if (!in)
		return petra_error_set(
		    err, ENOENT, "no image %s in the store or the registry repositories", base);
	return lineage_derive(&f->registry, in->digest, &in->diff_ids, out, err);
}

static int pod_filters_load(struct petra_store *store, const struct strvec *filters,
			    struct pod_filters *f, struct petra_error **err)
{
	for (size_t i = 0; i < filters->n; i++) {
		const char *value = strchr(filters->v[i], '=') + 1;
		if (!strncmp(filters->v[i], "derived-from=", 13)) {
			size_t k = f->n_derived;
			f->derived = xrealloc(f->derived, (k + 1) * sizeof(*f->derived));
			f->derived_registry =
			    xrealloc(f->derived_registry, (k + 1) * sizeof(*f->derived_registry));
			f->derived[k] = (struct lineage_derivations){0};
			f->derived_registry[k] = (struct lineage_derivations){0};
			f->n_derived++;
			/* With --registry the base may be there only. */
			_cleanup_error_ struct petra_error *store_err = NULL;
			int r = lineage_derived_from(store, value, &f->derived[k], &store_err);
			if (r < 0 && !f->has_registry) {
				*err = store_err;
				store_err = NULL;
			}
			if ((r < 0 && !f->has_registry) ||
			    derive_in_registry(store, f, value, &f->derived_registry[k], err) < 0)
				return petra_error_prefix(err, "filter \"%s\"", filters->v[i]);
			continue;
		}
		struct oci_descriptor desc;
		if (petra_store_resolve(store, value, &desc, NULL, err) < 0)
			return petra_error_prefix(err, "filter \"%s\"", filters->v[i]);
		strvec_push(&f->images, desc.digest);
		oci_descriptor_release(&desc);
	}
	return 0;
}

/* How manifest derives from the base of derived-from filter i, or NULL. */
static const struct lineage_derivation *pod_derivation(const struct pod_filters *f, size_t i,
						       const char *manifest)
{
	const struct lineage_derivation *d = lineage_derivations_find(&f->derived[i], manifest);
	return d ? d : lineage_derivations_find(&f->derived_registry[i], manifest);
}

/* The store's manifests by their config digest, made on first need:
 * containerd reports an image pulled by no digest (or imported) by its
 * config's digest, "sha256:…" alone. */
struct config_index {
	bool loaded;
	struct strvec configs, manifests;
};

static void config_index_release(struct config_index *x)
{
	strvec_clear(&x->configs);
	strvec_clear(&x->manifests);
}

static const char *config_index_find(struct petra_store *store, struct config_index *x,
				     const char *config)
{
	if (!x->loaded) {
		x->loaded = true;
		struct petra_store_entry *entries;
		size_t n;
		_cleanup_error_ struct petra_error *ignored = NULL;
		if (petra_store_list(store, &entries, &n, &ignored) == 0) {
			for (size_t i = 0; i < n; i++) {
				struct image img;
				_cleanup_error_ struct petra_error *e = NULL;
				if (image_load(store, entries[i].desc.digest, &img, &e) < 0)
					continue; /* not an image (a referrer, say) */
				strvec_push(&x->configs, img.manifest.config.digest);
				strvec_push(&x->manifests, img.desc.digest);
				image_release(&img);
			}
			petra_store_entries_free(entries, n);
		}
	}
	for (size_t i = 0; i < x->configs.n; i++)
		if (!strcmp(x->configs.v[i], config))
			return x->manifests.v[i];
	return NULL;
}

/* What to do with c; *manifest the store manifest it runs, when known. */
static enum pod_decision pod_decide(struct petra_store *store, const struct pod_filters *f,
				    struct config_index *configs,
				    const struct kube_pod_container *c,
				    char manifest[OCI_DIGEST_SIZE])
{
	manifest[0] = '\0';
	if (!c->running)
		return POD_NOT_RUNNING;
	if (!c->digest[0])
		return POD_UNKNOWN;
	struct oci_descriptor desc;
	_cleanup_error_ struct petra_error *ignored = NULL;
	const char *found = NULL;
	if (petra_store_resolve(store, c->digest, &desc, NULL, &ignored) == 0) {
		snprintf(manifest, OCI_DIGEST_SIZE, "%s", desc.digest);
		oci_descriptor_release(&desc);
	} else if ((found = config_index_find(store, configs, c->digest))) {
		snprintf(manifest, OCI_DIGEST_SIZE, "%s", found);
	} else if (registry_image(f, c->digest)) {
		snprintf(manifest, OCI_DIGEST_SIZE, "%s", c->digest);
	} else {
		/* A digest neither the store nor the registry holds: nothing
		 * is known of its lineage, which is not "not derived". */
		return POD_UNKNOWN;
	}
	for (size_t i = 0; i < f->images.n; i++)
		if (strcmp(f->images.v[i], manifest) != 0)
			return POD_NO_MATCH;
	for (size_t i = 0; i < f->n_derived; i++)
		if (!pod_derivation(f, i, manifest))
			return POD_NO_MATCH;
	return POD_TARGET;
}

/* A word as the shell reads it back: bare when it is only safe
 * characters, else in single quotes (a quote inside as '\''). */
static void shell_word(struct strbuf *sb, const char *w)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_@%+=:,./-";
	if (*w && strspn(w, safe) == strlen(w)) {
		strbuf_addstr(sb, w);
		return;
	}
	strbuf_addch(sb, '\'');
	for (; *w; w++)
		if (*w == '\'')
			strbuf_addstr(sb, "'\\''");
		else
			strbuf_addch(sb, *w);
	strbuf_addch(sb, '\'');
}

static void kubectl_argv(const struct kube_pod_container *c, char *const *command,
			 struct strvec *argv)
{
	strvec_push(argv, "kubectl");
	strvec_push(argv, "exec");
	strvec_push(argv, "-n");
	strvec_push(argv, c->namespace);
	strvec_push(argv, c->pod);
	strvec_push(argv, "-c");
	strvec_push(argv, c->container);
	strvec_push(argv, "--");
	for (size_t i = 0; command[i]; i++)
		strvec_push(argv, command[i]);
}

static char *shell_line(const struct strvec *argv)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < argv->n; i++) {
		if (i)
			strbuf_addch(&sb, ' ');
		shell_word(&sb, argv->v[i]);
	}
	return strbuf_detach(&sb);
}

static json_t *strvec_json(const struct strvec *v)
{
	json_t *a = json_array();
	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

/* kubectl, run by a fleet worker: in a session of its own, so that the
 * timeout kills it and whatever it started. */
static int run_kubectl(void *ctx, int out_fd, unsigned timeout_ms, int *exit_code,
		       struct petra_error **err)
{
	char *const *argv = ctx;
	pid_t pid = fork();
	if (pid < 0)
		return petra_error_set_errno(err, errno, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (setsid() < 0 || null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 ||
		    dup2(out_fd, 2) < 0)
			_exit(125);
		execvp(argv[0], argv);
		dprintf(2, "petra: %s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	struct sandbox_wait_options wo = {
	    .pty_master = -1,
	    .timeout_ms = timeout_ms,
	    .timeout_kills_descendants = true,
	};
	return sandbox_wait(pid, &wo, exit_code, err);
}

/* --registry: the repositories whose images (manifests, configs, records;
 * no layer) count as known, and derive, besides the store's. */
struct kube_registries {
	const struct strvec *repos;
	const struct registry_options *options;
};

static int exec_kubernetes(struct cli *cli, const char *pods_path, const struct strvec *filters,
			   const struct kube_registries *reg, char *const *command,
			   const struct fleet_args *f, bool run)
{
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXEC_EXIT_FAIL;
	struct petra_error *err = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = strcmp(pods_path, "-") == 0
		    ? cli_read_stdin(PODS_MAX_SIZE, &data, &len, &err)
		    : fs_read_file_at(AT_FDCWD, pods_path, PODS_MAX_SIZE, &data, &len, &err);
	if (r < 0) {
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	struct kube_pods pods;
	if (kube_pods_parse(data, len, strcmp(pods_path, "-") ? pods_path : "standard input", &pods,
			    &err) < 0) {
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	_cleanup_(pod_filters_release) struct pod_filters pf = {.images = STRVEC_INIT};
	if (reg->repos->n) {
		if (lineage_images_from_registry((const char *const *)reg->repos->v, reg->repos->n,
						 reg->options, &pf.registry, &err) < 0) {
			kube_pods_release(&pods);
			cli_fail(err);
			return EXEC_EXIT_FAIL;
		}
		pf.has_registry = true;
	}
	if (pod_filters_load(store, filters, &pf, &err) < 0) {
		kube_pods_release(&pods);
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	struct cli_fleet_target *targets = NULL;
	size_t n_targets = 0, alloc = 0;
	json_t *listing = json_array();
	_cleanup_(config_index_release) struct config_index configs = {.configs = STRVEC_INIT,
								       .manifests = STRVEC_INIT};
	_cleanup_strbuf_ struct strbuf notes = STRBUF_INIT;
	for (size_t i = 0; i < pods.n; i++) {
		const struct kube_pod_container *c = &pods.v[i];
		char manifest[OCI_DIGEST_SIZE];
		enum pod_decision d = pod_decide(store, &pf, &configs, c, manifest);
		_cleanup_strvec_ struct strvec argv = STRVEC_INIT;
		kubectl_argv(c, command, &argv);
		_cleanup_free_ char *where =
		    xasprintf("%s/%s/%s", c->namespace, c->pod, c->container);
		json_t *o = json_pack(
		    "{s:s,s:s,s:s,s:s,s:b,s:s?,s:s,s:s?,s:s?,s:s}", "namespace", c->namespace,
		    "pod", c->pod, "container", c->container, "kind",
		    kube_container_kind_name(c->kind), "running", c->running, "image", c->image,
		    "image_id", c->image_id, "digest", c->digest[0] ? c->digest : NULL, "manifest",
		    manifest[0] ? manifest : NULL, "decision", pod_decision_names[d]);
		if (d == POD_UNKNOWN)
			strbuf_addf(&notes, "%s%s runs %s: %s\n",
				    run ? "petra: warning: " : "# unknown: ", where,
				    *c->image_id ? c->image_id : "an image of no ID yet",
				    c->digest[0]
					? "not in the store, its lineage is unknown"
					: "no digest in the image ID, its lineage is unknown");
		if (d != POD_TARGET) {
			json_array_append_new(listing, o);
			continue;
		}
		json_object_set_new(o, "command", strvec_json(&argv));
		/* How it derives from the (first) derived-from base. */
		const struct lineage_derivation *how =
		    pf.n_derived ? pod_derivation(&pf, 0, manifest) : NULL;
		if (how) {
			json_t *path = json_array();
			for (size_t k = 0; k < how->n_path; k++)
				json_array_append_new(path, json_string(how->path[k]));
			json_object_set_new(o, "path", path);
		}
		if (!run || f->dry_run) {
			json_array_append_new(listing, o);
			continue;
		}
		json_decref(o);
		struct cli_fleet_target *t = cli_fleet_target_add(&targets, &n_targets, &alloc);
		t->name = xstrdup(where);
		t->info = json_pack("{s:s,s:s,s:s,s:o}", "namespace", c->namespace, "pod", c->pod,
				    "container", c->container, "command", strvec_json(&argv));
		t->run = run_kubectl;
		/* The argv lives as long as the target (ctx holds it). */
		struct strvec *keep = xmalloc(sizeof(*keep));
		*keep = argv;
		argv = (struct strvec)STRVEC_INIT;
		t->ctx = keep->v;
		free(keep);
	}
	kube_pods_release(&pods);
	int status = EXIT_OK;
	if (!run || f->dry_run) {
		if (f->format == CLI_FORMAT_JSON) {
			cli_print_json(listing);
		} else {
			size_t i;
			json_t *o;
			json_array_foreach(listing, i, o)
			{
				json_t *cmd = json_object_get(o, "command");
				if (!cmd)
					continue;
				_cleanup_strvec_ struct strvec argv = STRVEC_INIT;
				size_t k;
				json_t *w;
				json_array_foreach(cmd, k, w)
				    strvec_push(&argv, json_string_value(w));
				_cleanup_free_ char *line = shell_line(&argv);
				printf("%s\n", line);
			}
			fputs(strbuf_str(&notes), stdout);
		}
	} else {
		fputs(strbuf_str(&notes), stderr);
		status = fleet(targets, n_targets, f);
	}
	json_decref(listing);
	for (size_t i = 0; i < n_targets; i++) {
		char **argv = targets[i].ctx;
		for (size_t k = 0; argv && argv[k]; k++)
			free(argv[k]);
		free(argv);
	}
	cli_fleet_targets_free(targets, n_targets);
	return status;
}

struct exec_args {
	struct runtime_exec_options o;
	struct strvec env, filters;
	bool all;
	bool strict;
	struct cli_gate_args gate;
	struct fleet_args fleet;
	const char *kubernetes;   /* --kubernetes PODS.json */
	struct strvec registries; /* --registry HOST/REPO */
	struct registry_options registry;
	bool registry_options; /* any of the registry's own options given */
	bool run;              /* --run: the kubectl commands, not only printed */
	const char *container; /* without --all */
};

/* --timeout: seconds (a fraction allowed), at least a millisecond. */
static int parse_timeout(const char *arg, unsigned *ms)
{
	char *end;
	errno = 0;
	double s = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(s) || s * 1000 < 1 ||
	    s * 1000 > (double)UINT_MAX) {
		cli_usage("exec", "--timeout expects seconds (e.g. 30 or 0.5), not \"%s\"", arg);
		return -1;
	}
	*ms = (unsigned)(s * 1000 + 0.5);
	return 0;
}

static void exec_args_release(struct exec_args *a)
{
	strvec_clear(&a->env);
	strvec_clear(&a->filters);
	strvec_clear(&a->registries);
}

/* The rest of exec --kubernetes's arguments: -1 to go on, else the exit
 * status. */
static int parse_kubernetes(int argc, char **argv, struct exec_args *a, const char *fleet_only)
{
	for (size_t i = 0; i < a->filters.n; i++)
		if (!kube_filter_valid(a->filters.v[i])) {
			cli_usage("exec",
				  "filter \"%s\": --kubernetes takes derived-from=REF or image=REF",
				  a->filters.v[i]);
			return EXEC_EXIT_FAIL;
		}
	if (a->all) {
		cli_usage("exec", "--kubernetes and --all exclude each other");
		return EXEC_EXIT_FAIL;
	}
	if (a->o.tty || a->o.interactive || a->o.user || a->o.workdir || a->env.n || a->strict) {
		cli_usage("exec", "--kubernetes takes none of -i, -t, -u, -w, -e, --strict");
		return EXEC_EXIT_FAIL;
	}
	if (fleet_only && !a->run && strcmp(fleet_only, "--dry-run") != 0) {
		cli_usage("exec", "%s goes with --run", fleet_only);
		return EXEC_EXIT_FAIL;
	}
	if (optind >= argc) {
		cli_usage("exec", "--kubernetes expects -- COMMAND");
		return EXEC_EXIT_FAIL;
	}
	a->o.argv = argv + optind;
	return -1;
}

/* -1 to go on, else the exit status: 0 after --help, EXEC_EXIT_FAIL after
 * a usage error (2 could be the command's). */
static int parse_args(int argc, char **argv, struct exec_args *a)
{
	enum {
		OPT_ALL = 256,
		OPT_FORMAT,
		OPT_STRICT,
		OPT_DRY_RUN,
		OPT_TIMEOUT,
		OPT_KUBERNETES,
		OPT_RUN,
		OPT_REGISTRY
	};
	static const struct option options[] = {
	    {"all", no_argument, NULL, OPT_ALL},
	    {"kubernetes", required_argument, NULL, OPT_KUBERNETES},
	    {"run", no_argument, NULL, OPT_RUN},
	    {"registry", required_argument, NULL, OPT_REGISTRY},
	    CLI_REGISTRY_LONG_OPTIONS,
	    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
	    {"jobs", required_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"filter", required_argument, NULL, 'f'},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"user", required_argument, NULL, 'u'},
	    {"env", required_argument, NULL, 'e'},
	    {"workdir", required_argument, NULL, 'w'},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    CLI_GATE_LONG_OPTIONS,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct petra_error *err = NULL;
	const char *fleet_only = NULL; /* an option that needs --all */
	cli_getopt_reset();
	int c;
	while ((c = getopt_long(argc, argv, "+f:itu:e:w:j:h", options, NULL)) != -1) {
		if (cli_gate_option(c, optarg, &a->gate) == 0)
			continue;
		switch (c) {
		case OPT_STRICT:
			a->strict = true;
			break;
		case OPT_ALL:
			a->all = true;
			break;
		case OPT_KUBERNETES:
			a->kubernetes = optarg;
			break;
		case OPT_RUN:
			a->run = true;
			break;
		case OPT_REGISTRY:
			strvec_push(&a->registries, optarg);
			break;
		case OPT_DRY_RUN:
			a->fleet.dry_run = true;
			fleet_only = "--dry-run";
			break;
		case 'j': {
			long jobs;
			if (cli_parse_count("exec", "--jobs", optarg, &jobs) ||
			    (jobs < 1 && cli_usage("exec", "--jobs expects 1 or more")))
				return EXEC_EXIT_FAIL;
			a->fleet.jobs = jobs > 1024 ? 1024 : (unsigned)jobs;
			fleet_only = "--jobs";
			break;
		}
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &a->fleet.timeout_ms) < 0)
				return EXEC_EXIT_FAIL;
			fleet_only = "--timeout";
			break;
		case 'f':
			strvec_push(&a->filters, optarg);
			break;
		case OPT_FORMAT:
			if (cli_parse_format("exec", optarg, &a->fleet.format))
				return EXEC_EXIT_FAIL;
			break;
		case 'i':
			a->o.interactive = true;
			break;
		case 't':
			a->o.tty = true;
			break;
		case 'u':
			a->o.user = optarg;
			break;
		case 'e':
			strvec_push(&a->env, optarg);
			break;
		case 'w':
			a->o.workdir = optarg;
			break;
		case 'h':
			return cli_help(usage);
		default: {
			int r = cli_registry_option("exec", c, optarg, &a->registry);
			if (r < 0)
				cli_bad_option("exec", argv);
			if (r != 0)
				return EXEC_EXIT_FAIL;
			a->registry_options = true;
			break;
		}
		}
	}
	a->o.env = a->env.v;
	if (a->kubernetes)
		return parse_kubernetes(argc, argv, a, fleet_only);
	if (a->registries.n || a->registry_options) {
		cli_usage("exec", "--registry and its options go with --kubernetes");
		return EXEC_EXIT_FAIL;
	}
	for (size_t i = 0; i < a->filters.n; i++)
		if (runtime_filter_check(a->filters.v[i], &err) < 0) {
			cli_usage_error("exec", "", err);
			return EXEC_EXIT_FAIL;
		}
	if (a->run) {
		cli_usage("exec", "--run goes with --kubernetes");
		return EXEC_EXIT_FAIL;
	}
	if (a->filters.n && !a->all) {
		cli_usage("exec", "--filter goes with --all");
		return EXEC_EXIT_FAIL;
	}
	if (fleet_only && !a->all) {
		cli_usage("exec", "%s goes with --all", fleet_only);
		return EXEC_EXIT_FAIL;
	}
	if (a->all) {
		if (optind >= argc) {
			cli_usage("exec", "--all expects -- COMMAND");
			return EXEC_EXIT_FAIL;
		}
		if (a->o.tty || a->o.interactive) {
			cli_usage("exec", "--all cannot go with -i or -t");
			return EXEC_EXIT_FAIL;
		}
		a->o.argv = argv + optind;
		return -1;
	}
	if (argc - optind < 2) {
		cli_usage("exec", "expects CONTAINER and COMMAND");
		return EXEC_EXIT_FAIL;
	}
	a->container = argv[optind];
	a->o.argv = argv + optind + 1;
	return -1;
}

/* The command's status, or 125, 126, 127 as run. */
static int exec_one(struct cli *cli, const char *container, const struct runtime_exec_options *o,
		    const struct cli_gate_args *gate, bool strict)
{
	_cleanup_store_ struct petra_store *store = cli_open_store(cli, 0);
	if (!store)
		return EXEC_EXIT_FAIL;
	_cleanup_free_ char *run_dir = runtime_default_run_dir(cli->root);
	struct runtime_container ct;
	struct petra_error *err = NULL;
	if (runtime_find(run_dir, container, &ct, &err) < 0) {
		cli_fail(err);
		return EXEC_EXIT_FAIL;
	}
	if (exec_gate(store, &ct, gate, strict) != 0) {
		runtime_container_release(&ct);
		return EXEC_EXIT_FAIL;
	}
	int code = EXEC_EXIT_FAIL;
	int r = runtime_exec(store, &ct, o, &code, &err);
	runtime_container_release(&ct);
	if (r < 0) {
		cli_fail(err);
		return code == 126 || code == 127 ? code : EXEC_EXIT_FAIL;
	}
	return code;
}

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	_cleanup_(exec_args_release) struct exec_args a = {
	    .o = {.stdio = {-1, -1, -1}},
	    .env = STRVEC_INIT,
	    .filters = STRVEC_INIT,
	    .fleet = {.jobs = CLI_FLEET_DEFAULT_JOBS, .format = CLI_FORMAT_TEXT},
	    .registries = STRVEC_INIT,
	    .registry = {.tls_verify = -1},
	};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	if (a.kubernetes) {
		a.registry.quiet = true;
		struct kube_registries reg = {&a.registries, &a.registry};
		return exec_kubernetes(cli, a.kubernetes, &a.filters, &reg, a.o.argv, &a.fleet,
				       a.run);
	}
	if (a.all)
		return exec_all(cli, &a.filters, &a.o, &a.fleet, &a.gate, a.strict);
	return exec_one(cli, a.container, &a.o, &a.gate, a.strict);
}
