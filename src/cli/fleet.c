/* SPDX-License-Identifier: Apache-2.0 */
/* One command on many targets at once (exec --all, exec --kubernetes):
 * each in a worker process of its own, the output read back here and kept
 * up to a cap, then reported grouped by identical output. */
#include "cli.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>

/* A target whose worker has not ended this long after its timeout is
 * stuck outside the command (joining the container, say): killed. */
enum { FLEET_GRACE_MS = 10000 };

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cli_fleet_target_release(struct cli_fleet_target *t)
{
	free(t->name);
	free(t->line);
	json_decref(t->info);
	free(t->error);
	strbuf_release(&t->output);
	if (t->out_fd >= 0)
		close(t->out_fd);
	if (t->result_fd >= 0)
		close(t->result_fd);
}

void cli_fleet_targets_free(struct cli_fleet_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cli_fleet_target_release(&t[i]);
	free(t);
}

struct cli_fleet_target *cli_fleet_target_add(struct cli_fleet_target **v, size_t *n, size_t *alloc)
{
	xgrow((void **)v, alloc, *n + 1, sizeof(**v));
	struct cli_fleet_target *t = &(*v)[(*n)++];
	*t = (struct cli_fleet_target){
	    .output = STRBUF_INIT, .exit_code = -1, .out_fd = -1, .result_fd = -1};
	return t;
}

/* What a worker sends back before it exits. */
struct fleet_result {
	int r;
	int exit_code;
};

/* The worker: run the target, send the result, end. */
__attribute__((noreturn)) static void fleet_worker(struct cli_fleet_target *t, int out_fd,
						   int result_fd, unsigned timeout_ms)
{
	struct petra_error *err = NULL;
	struct fleet_result res = {.exit_code = -1};
	res.r = t->run(t->ctx, out_fd, timeout_ms, &res.exit_code, &err);
	close(out_fd);
	struct strbuf msg = STRBUF_INIT;
	strbuf_add(&msg, &res, sizeof(res));
	if (res.r < 0 && err)
		strbuf_addstr(&msg, err->message);
	(void)!fs_write_all(result_fd, msg.buf, msg.len);
	_exit(0);
}

static int fleet_start(struct cli_fleet_target *t, unsigned timeout_ms, struct petra_error **err)
{
	int out[2], result[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return petra_error_set_errno(err, errno, "pipe");
	if (pipe2(result, O_CLOEXEC) < 0) {
		int e = errno;
		close(out[0]);
		close(out[1]);
		return petra_error_set_errno(err, e, "pipe");
	}
	fflush(NULL);
	t->start_ms = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		close(out[0]);
		close(result[0]);
		fleet_worker(t, out[1], result[1], timeout_ms);
	}
	int e = errno;
	close(out[1]);
	close(result[1]);
	if (pid < 0) {
		close(out[0]);
		close(result[0]);
		return petra_error_set_errno(err, e, "fork");
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	t->worker = pid;
	t->out_fd = out[0];
	t->result_fd = result[0];
	return 0;
}

/* Keep what fits under the cap, count all of it: 1 after reading some,
 * 0 at the end, -1 when there is nothing more now (or an error). */
static int fleet_read_output(struct cli_fleet_target *t, size_t cap)
{
	char buf[8192];
	ssize_t n = read(t->out_fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return 1;
	if (n < 0)
		return errno == EAGAIN ? -1 : 0;
	if (n == 0)
		return 0;
	if (t->output.len < cap)
		strbuf_add(&t->output, buf,
			   (size_t)n < cap - t->output.len ? (size_t)n : cap - t->output.len);
	t->output_total += (uint64_t)n;
	return 1;
}

/* The worker ended (result pipe at its end, or killed): take what the
 * output pipe holds without waiting for an end that processes the
 * command left behind may delay, and the result. */
static void fleet_finish(struct cli_fleet_target *t, size_t cap, bool killed, unsigned timeout_ms)
{
	t->duration_ms = now_ms() - t->start_ms;
	while (fleet_read_output(t, cap) > 0)
		;
	close(t->out_fd);
	t->out_fd = -1;
	_cleanup_strbuf_ struct strbuf msg = STRBUF_INIT;
	if (!killed) {
		char buf[4096];
		ssize_t n;
		while ((n = read(t->result_fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
			if (n > 0)
				strbuf_add(&msg, buf, (size_t)n);
	}
	close(t->result_fd);
	t->result_fd = -1;
	int ws = 0;
	while (waitpid(t->worker, &ws, 0) < 0 && errno == EINTR)
		;
	t->done = true;
	struct fleet_result res;
	if (killed || msg.len < sizeof(res)) {
		t->status = killed ? CLI_FLEET_TIMED_OUT : CLI_FLEET_FAILED;
		t->error =
		    killed ? xasprintf("timed out after %u ms and did not end, killed", timeout_ms)
			   : xstrdup("petra's worker for it ended without a result");
		return;
	}
	memcpy(&res, msg.buf, sizeof(res));
	t->exit_code = res.exit_code;
	if (res.r < 0 && msg.len > sizeof(res))
		t->error = xstrndup(msg.buf + sizeof(res), msg.len - sizeof(res));
	if (res.r == -ETIMEDOUT) {
		t->status = CLI_FLEET_TIMED_OUT;
		t->exit_code = CLI_FLEET_TIMEOUT_STATUS;
	} else if (res.r < 0 || res.exit_code != 0) {
		t->status = CLI_FLEET_FAILED;
		if (res.r < 0 && !t->error)
			t->error = xstrdup(strerror(-res.r));
	} else {
		t->status = CLI_FLEET_OK;
	}
}

int cli_fleet_run(struct cli_fleet_target *t, size_t n, unsigned jobs, unsigned timeout_ms,
		  size_t cap, struct petra_error **err)
{
	if (jobs == 0)
		jobs = 1;
	size_t next = 0, running = 0;
	_cleanup_free_ struct pollfd *fds = xcalloc(2 * jobs, sizeof(*fds));
	_cleanup_free_ size_t *which = xcalloc(2 * jobs, sizeof(*which));
	for (;;) {
		while (running < jobs && next < n) {
			struct cli_fleet_target *s = &t[next++];
			if (s->done)
				continue;
			if (fleet_start(s, timeout_ms, err) < 0) {
				/* The ones under way still end, and are waited for. */
				for (size_t i = 0; i < next; i++)
					if (!t[i].done && t[i].worker > 0) {
						kill(t[i].worker, SIGKILL);
						fleet_finish(&t[i], cap, true, timeout_ms);
					}
				return -1;
			}
			running++;
		}
		if (!running)
			return 0;
		nfds_t nfds = 0;
		int wait_ms = -1;
		uint64_t now = now_ms();
		for (size_t i = 0; i < next; i++) {
			struct cli_fleet_target *s = &t[i];
			if (s->done || s->worker <= 0)
				continue;
			if (timeout_ms) {
				uint64_t deadline = s->start_ms + timeout_ms + FLEET_GRACE_MS;
				if (now >= deadline) {
					kill(s->worker, SIGKILL);
					fleet_finish(s, cap, true, timeout_ms);
					running--;
					continue;
				}
				if (wait_ms < 0 || deadline - now < (uint64_t)wait_ms)
					wait_ms = (int)(deadline - now);
			}
			if (s->out_fd >= 0) {
				fds[nfds] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
				which[nfds++] = i;
			}
			fds[nfds] = (struct pollfd){.fd = s->result_fd, .events = POLLIN};
			which[nfds++] = i;
		}
		if (!nfds)
			continue;
		if (poll(fds, nfds, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			return petra_error_set_errno(err, errno, "poll");
		}
		for (nfds_t k = 0; k < nfds; k++) {
			struct cli_fleet_target *s = &t[which[k]];
			if (s->done || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (fds[k].fd == s->out_fd) {
				/* Its end here is not the worker's: keep waiting for the result. */
				if (fleet_read_output(s, cap) == 0) {
					close(s->out_fd);
					s->out_fd = -1;
				}
				continue;
			}
			/* The result is written in one go just before the worker exits:
			 * a readable result pipe means it is ending. */
			fleet_finish(s, cap, false, timeout_ms);
			running--;
		}
	}
}

/* The length of the valid UTF-8 sequence at s (0: none). */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
	size_t w = s[0] < 0x80   ? 1
		   : s[0] < 0xc2 ? 0
		   : s[0] < 0xe0 ? 2
		   : s[0] < 0xf0 ? 3
		   : s[0] < 0xf5 ? 4
				 : 0;
	if (!w || w > len)
		return 0;
	for (size_t i = 1; i < w; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates and beyond U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return w;
}

/* JSON strings are UTF-8: output is whatever the command wrote (and the
 * cap may cut a character), so bad bytes become U+FFFD. */
static json_t *json_text(const char *s, size_t len)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < len;) {
		size_t w = utf8_sequence((const unsigned char *)s + i, len - i);
		if (w)
			strbuf_add(&sb, s + i, w);
		else
			strbuf_addstr(&sb, "\xef\xbf\xbd");
		i += w ? w : 1;
	}
	return json_stringn(strbuf_str(&sb), sb.len);
}

static int by_name(const void *a, const void *b)
{
	const struct cli_fleet_target *x = *(const struct cli_fleet_target *const *)a;
	const struct cli_fleet_target *y = *(const struct cli_fleet_target *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->line ? x->line : "", y->line ? y->line : "");
}

static int by_name_value(const void *a, const void *b)
{
	const struct cli_fleet_target *x = a, *y = b;
	return by_name(&x, &y);
}

void cli_fleet_sort(struct cli_fleet_target *t, size_t n)
{
	if (n)
		qsort(t, n, sizeof(*t), by_name_value);
}

static bool same_output(const struct cli_fleet_target *a, const struct cli_fleet_target *b)
{
	return a->output_total == b->output_total && a->output.len == b->output.len &&
	       !memcmp(a->output.buf, b->output.buf, a->output.len);
}

static const char *status_word(enum cli_fleet_status s)
{
	return s == CLI_FLEET_OK ? "ok" : s == CLI_FLEET_TIMED_OUT ? "timed out" : "failed";
}

static void print_block(const struct cli_fleet_target *const *sorted, size_t n, size_t first)
{
	static const char rule[] = "----------------";
	printf("%s\n", rule);
	for (size_t i = first, k = 0; i < n; i++)
		if (same_output(sorted[first], sorted[i]))
			printf("%s%s", k++ ? ", " : "", sorted[i]->name);
	printf("\n%s\n", rule);
	const struct cli_fleet_target *t = sorted[first];
	fwrite(t->output.buf, 1, t->output.len, stdout);
	if (t->output.len && t->output.buf[t->output.len - 1] != '\n')
		putchar('\n');
	if (t->output_total > t->output.len)
		printf("[output cut: the first %zu of %" PRIu64 " bytes]\n", t->output.len,
		       t->output_total);
}

int cli_fleet_report(const struct cli_fleet_target *t, size_t n, enum cli_format format)
{
	unsigned counts[3] = {0};
	for (size_t i = 0; i < n; i++)
		counts[t[i].status]++;
	if (format == CLI_FORMAT_JSON) {
		json_t *all = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = t[i].info ? json_deep_copy(t[i].info) : json_object();
			json_object_set_new(o, "status", json_string(status_word(t[i].status)));
			json_object_set_new(o, "exit_code",
					    t[i].exit_code >= 0 ? json_integer(t[i].exit_code)
								: json_null());
			json_object_set_new(o, "duration_ms",
					    json_integer((json_int_t)t[i].duration_ms));
			json_object_set_new(o, "output",
					    json_text(t[i].output.buf, t[i].output.len));
			json_object_set_new(o, "output_bytes",
					    json_integer((json_int_t)t[i].output_total));
			json_object_set_new(o, "output_cut",
					    json_boolean(t[i].output_total > t[i].output.len));
			if (t[i].error)
				json_object_set_new(o, "error", json_string(t[i].error));
			json_array_append_new(all, o);
		}
		cli_print_json(all);
		json_decref(all);
	} else if (n) {
		_cleanup_free_ const struct cli_fleet_target **sorted = xcalloc(n, sizeof(*sorted));
		for (size_t i = 0; i < n; i++)
			sorted[i] = &t[i];
		qsort(sorted, n, sizeof(*sorted), by_name);
		/* dshbak -c: one block per distinct output, in the order of the first
		 * target that printed it; targets that printed nothing have none. */
		for (size_t i = 0; i < n; i++) {
			bool seen = sorted[i]->output_total == 0;
			for (size_t k = 0; !seen && k < i; k++)
				seen = same_output(sorted[k], sorted[i]);
			if (!seen)
				print_block(sorted, n, i);
		}
		for (size_t i = 0; i < n; i++) {
			const struct cli_fleet_target *s = sorted[i];
			printf("%s %s (", s->line ? s->line : s->name, status_word(s->status));
			if (s->status == CLI_FLEET_TIMED_OUT)
				printf("killed, exit %d", s->exit_code);
			else if (s->error)
				printf("%s", s->error);
			else
				printf("exit %d", s->exit_code);
			if (s->status != CLI_FLEET_TIMED_OUT && s->error && s->exit_code >= 0)
				printf(", exit %d", s->exit_code);
			if (s->worker > 0)
				printf(") %" PRIu64 ".%03" PRIu64 "s\n", s->duration_ms / 1000,
				       s->duration_ms % 1000);
			else
				printf(")\n");
		}
		printf("%u ok, %u failed, %u timed out\n", counts[CLI_FLEET_OK],
		       counts[CLI_FLEET_FAILED], counts[CLI_FLEET_TIMED_OUT]);
	}
	return counts[CLI_FLEET_FAILED] || counts[CLI_FLEET_TIMED_OUT] ? EXIT_FAIL : EXIT_OK;
}
