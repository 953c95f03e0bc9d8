/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ShellCheck on shell-form RUN. Each RUN becomes one script file whose
 * lines are the Dockerfile's lines (the keyword and flags blanked, comment
 * and empty lines inside a continuation turned into a lone backslash), so
 * ShellCheck's line and column are the Dockerfile's. One ShellCheck
 * process checks every RUN of a file.
 */
#include "internal.h"

#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

char *lint_find_program(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *full = path_join(*dir ? dir : ".", name);
		if (access(full, X_OK) == 0)
			return full;
		free(full);
	}
	return NULL;
}

/* Offset of the start of 1-based `line`. */
static size_t line_start(const struct dockerfile *df, unsigned line)
{
	size_t off = 0;
	for (unsigned l = 1; l < line && off < df->source_len; off++)
		if (df->source[off] == '\n')
			l++;
	return off;
}

static bool heredoc_line(const struct dockerfile_instruction *in, unsigned line)
{
	for (size_t h = 0; h < in->n_heredocs; h++)
		if (line >= in->heredocs[h].start_line && line <= in->heredocs[h].end_line)
			return true;
	return false;
}

/* "<<EOF", "<<-'EOF'" alone: BuildKit runs the heredoc as the script. */
static bool heredoc_script(const struct dockerfile_instruction *in)
{
	if (in->n_heredocs != 1 || !in->n_args)
		return false;
	const char *t = in->args[0].text;
	t += strspn(t, " \t");
	size_t n = strlen(t);
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	_cleanup_free_ char *word = xstrndup(t, n);
	return dockerfile_find_heredoc(in, word) != NULL;
}

/* The script for one RUN, line for line with the Dockerfile; false when
 * it is not something ShellCheck can read (a heredoc for another
 * interpreter). */
static bool build_script(const struct dockerfile *df, const struct dockerfile_instruction *in,
			 struct strbuf *sb)
{
	size_t first = line_start(df, in->start_line);
	if (heredoc_script(in)) {
		const struct dockerfile_heredoc *h = &in->heredocs[0];
		if (!strncmp(h->content, "#!", 2) && !strstr(h->content, "sh\n") &&
		    !strstr(h->content, "bash"))
			return false;
		for (unsigned l = in->start_line; l < h->start_line; l++)
			strbuf_addch(sb, '\n');
		strbuf_add(sb, h->content, h->content_len);
		return true;
	}
	size_t cmd = in->args[0].start; /* where the command begins on the first line */
	unsigned line = in->start_line;
	bool at_line_start = true;
	for (size_t off = first; off < in->end && off < df->source_len; off++) {
		char ch = df->source[off];
		if (off < cmd && ch != '\n') {
			strbuf_addch(sb, ch == '\t' ? '\t' : ' ');
			continue;
		}
		if (at_line_start && line > in->start_line && !heredoc_line(in, line)) {
			/* Docker drops comment and empty lines inside a continuation;
			 * a lone backslash keeps the shell's command joined. */
			const char *p = df->source + off;
			size_t n = strcspn(p, "\n");
			if (off + n > df->source_len)
				n = df->source_len - off;
			size_t lead = strspn(p, " \t\r");
			if (lead >= n || p[lead] == '#') {
				strbuf_addch(sb, '\\');
				off += n - 1;
				at_line_start = false;
				continue;
			}
		}
		at_line_start = false;
		if (ch == '\n') {
			line++;
			at_line_start = true;
		}
		strbuf_addch(sb, ch);
	}
	strbuf_addch(sb, '\n');
	return true;
}

struct script_file {
	char *path;
	const struct dockerfile_instruction *in;
};

#define SHELLCHECK_BATCH 1000

/* Run shellcheck on the files; its JSON output into *out. */
static int run_shellcheck(const char *program, const char *shell, struct script_file *files,
			  size_t n, struct strbuf *out, struct petra_error **err)
{
	struct strvec argv = STRVEC_INIT;
	strvec_push(&argv, program);
	strvec_push(&argv, "--format=json1");
	strvec_pushf(&argv, "--shell=%s", shell);
	/* sourced files are not in the build context's reach here */
	strvec_push(&argv, "--exclude=SC1090,SC1091");
	for (size_t i = 0; i < n; i++)
		strvec_push(&argv, files[i].path);
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		strvec_clear(&argv);
		return petra_error_set_errno(err, errno, "pipe");
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	int r = posix_spawn(&pid, program, &fa, NULL, argv.v, environ);
	posix_spawn_file_actions_destroy(&fa);
	strvec_clear(&argv);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		return petra_error_set_errno(err, r, "run %s", program);
	}
	char buf[65536];
	for (;;) {
		ssize_t k = read(pipefd[0], buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		strbuf_add(out, buf, (size_t)k);
	}
	close(pipefd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* 0: nothing found, 1: findings; anything else is ShellCheck failing */
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
		return petra_error_set(err, EIO, "%s failed (status %d)", program,
				       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static enum lint_severity level_of(const char *level)
{
	if (!level)
		return LINT_WARNING;
	if (!strcmp(level, "error"))
		return LINT_ERROR;
	if (!strcmp(level, "warning"))
		return LINT_WARNING;
	if (!strcmp(level, "info"))
		return LINT_INFO;
	return LINT_STYLE;
}

/* Names set by ARG or ENV anywhere in the file: ShellCheck cannot see them. */
static void declared_names(const struct dockerfile *df, struct strset *names)
{
	for (size_t i = 0; i < df->n_instructions; i++) {
		const struct dockerfile_instruction *in = &df->instructions[i];
		if (in->kind == DOCKERFILE_ARG)
			for (size_t k = 0; k < in->n_args; k++) {
				_cleanup_free_ char *n =
				    xstrndup(in->args[k].text, strcspn(in->args[k].text, "="));
				strset_add(names, n);
			}
		else if (in->kind == DOCKERFILE_ENV)
			for (size_t k = 0; k < in->n_args; k += 3)
				strset_add(names, in->args[k].text);
	}
}

/* The RUN a script file was written for: files are in the order of their
 * instructions, named run-<line>.sh, so a binary search on the line (a
 * scan per comment was quadratic in the number of RUNs). */
static const struct dockerfile_instruction *file_instruction(const struct script_file *files,
							     size_t n, const char *file)
{
	const char *base = file ? strrchr(file, '/') : NULL;
	if (!base || strncmp(base, "/run-", 5))
		return NULL;
	char *end;
	unsigned long line = strtoul(base + 5, &end, 10);
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (files[mid].in->start_line < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && files[lo].in->start_line == line && !strcmp(files[lo].path, file)
		   ? files[lo].in
		   : NULL;
}

static void report_comments(struct lint_ctx *c, const json_t *doc, struct script_file *files,
			    size_t n)
{
	struct strset names = STRSET_INIT;
	declared_names(c->df, &names);
	size_t i;
	json_t *cm;
	json_array_foreach(json_object_get(doc, "comments"), i, cm)
	{
		const char *file = json_get_string(cm, "file");
		const struct dockerfile_instruction *in = file_instruction(files, n, file);
		json_int_t code = json_get_int(cm, "code", 0);
		const char *message = json_get_string(cm, "message");
		if (!in || code <= 0 || code > 9999 || !message)
			continue;
		if (code == 2154) {
			/* "x is referenced but not assigned": ARG and ENV assign it */
			_cleanup_free_ char *var = xstrndup(message, strcspn(message, " "));
			if (strset_contains(&names, var))
				continue;
		}
		json_int_t line = json_get_int(cm, "line", 1), col = json_get_int(cm, "column", 1);
		unsigned dl = in->start_line + (unsigned)(line > 0 ? line - 1 : 0);
		if (dl > in->end_line)
			dl = in->end_line;
		char id[12];
		snprintf(id, sizeof(id), "SC%04d", (int)code);
		lint_report_at(c, id, level_of(json_get_string(cm, "level")), in, dl,
			       col > 0 ? (unsigned)col : 1, message);
	}
	strset_clear(&names);
}

void lint_check_shellcheck(struct lint_ctx *c)
{
	const struct dockerfile *df = c->df;
	if (!c->l->shellcheck) {
		strvec_push(&c->res->notes, "shellcheck is not installed: ShellCheck's SC checks "
					    "were skipped (apt-get install shellcheck)");
		return;
	}
	if (df->escape != '\\') {
		strvec_push(&c->res->notes,
			    "the escape character is not \\: ShellCheck's checks were skipped");
		return;
	}
	const char *tmpdir = getenv("TMPDIR");
	_cleanup_free_ char *dir =
	    xasprintf("%s/petra-shellcheck.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(dir)) {
		strvec_pushf(&c->res->notes, "ShellCheck skipped: cannot make %s: %s", dir,
			     strerror(errno));
		return;
	}
	/* One batch per shell: sh and bash read the same scripts differently. */
	const char *shells[] = {"sh", "bash"};
	for (size_t sh = 0; sh < ARRAY_SIZE(shells); sh++) {
		struct script_file *files = xcalloc(df->n_instructions + 1, sizeof(*files));
		size_t n = 0;
		for (size_t s = 0; s < df->n_stages; s++) {
			const struct dockerfile_stage *st = &df->stages[s];
			for (size_t i = st->from + 1; i < st->end; i++) {
				const struct dockerfile_instruction *in = &df->instructions[i];
				if (in->kind != DOCKERFILE_RUN || in->json || !in->n_args)
					continue;
				struct lint_shell shell = lint_shell_at(c, s, i);
				bool bash = !strcmp(shell.name, "bash");
				if (!shell.posix || bash != (sh == 1))
					continue;
				struct strbuf script = STRBUF_INIT;
				if (build_script(df, in, &script)) {
					char *path = xasprintf("%s/run-%u.sh", dir, in->start_line);
					struct petra_error *err = NULL;
					if (fs_write_file_atomic_at(AT_FDCWD, path, script.buf,
								    script.len, 0600, &err) < 0) {
						strvec_pushf(&c->res->notes,
							     "ShellCheck skipped: %s",
							     err->message);
						petra_error_free(err);
						free(path);
					} else {
						files[n++] = (struct script_file){path, in};
					}
				}
				strbuf_release(&script);
			}
		}
		/* In batches: one command line cannot name 300,000 files. */
		for (size_t first = 0; first < n; first += SHELLCHECK_BATCH) {
			size_t count = n - first < SHELLCHECK_BATCH ? n - first : SHELLCHECK_BATCH;
			struct strbuf out = STRBUF_INIT;
			struct petra_error *err = NULL;
			if (run_shellcheck(c->l->shellcheck, shells[sh], files + first, count, &out,
					   &err) < 0) {
				strvec_pushf(&c->res->notes, "ShellCheck skipped: %s",
					     err->message);
				petra_error_free(err);
			} else {
				json_t *doc =
				    json_parse_buffer(out.buf, out.len, "shellcheck output", &err);
				if (!doc) {
					strvec_pushf(&c->res->notes, "ShellCheck skipped: %s",
						     err->message);
					petra_error_free(err);
				} else {
					report_comments(c, doc, files + first, count);
					json_decref(doc);
				}
			}
			strbuf_release(&out);
		}
		for (size_t i = 0; i < n; i++)
			free(files[i].path);
		free(files);
	}
	struct petra_error *err = NULL;
	if (fs_remove_tree_at(AT_FDCWD, dir, &err) < 0)
		petra_error_free(err);
}
