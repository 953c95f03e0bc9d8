/* SPDX-License-Identifier: Apache-2.0 */
/* Progress of one transfer, shared by its threads. On a terminal, one line
 * per blob (short digest, what happens to it, bytes done of its size, its
 * rate), redrawn in place at most ten times a second; lines of finished
 * blobs above the ones still moving scroll up and stay. Not on a terminal
 * (logs, CI): a plain line when a blob starts moving and one when it is
 * done. Quiet: nothing. Then a summary line either way. */
#include "internal.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct registry_blob_line {
	char hex[13];
	char digest[OCI_DIGEST_SIZE];
	const char *verb; /* a static string */
	uint64_t done, total;
	uint64_t moved; /* this time, over the wire */
	struct timespec started, ended;
	bool finished;
};

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void registry_progress_begin(struct registry_progress *tp, const char *title, uint64_t total,
			     bool quiet)
{
	memset(tp, 0, sizeof(*tp));
	pthread_mutex_init(&tp->lock, NULL);
	tp->quiet = quiet || log_get_level() < LOG_INFO;
	tp->tty = isatty(STDERR_FILENO);
	tp->title = xstrdup(title);
	tp->total = total;
	clock_gettime(CLOCK_MONOTONIC, &tp->started);
}

static struct registry_blob_line *find_line(struct registry_progress *tp, const char *digest)
{
	for (size_t i = tp->n_lines; i-- > 0;)
		if (!strcmp(tp->lines[i].digest, digest))
			return &tp->lines[i];
	return NULL;
}

static void format_line(const struct registry_blob_line *l, const struct timespec *now,
			struct strbuf *out)
{
	char done[32], total[32], rate[32] = "";
	format_size(l->done < l->total ? l->done : l->total, done, sizeof(done));
	format_size(l->total, total, sizeof(total));
	double secs = seconds_between(&l->started, l->finished ? &l->ended : now);
	/* A running blob's rate means something after a moment; a finished
	 * one always has its average. */
	if (l->moved && (l->finished ? secs > 0 : secs > 0.05)) {
		format_size((uint64_t)((double)l->moved / secs), rate, sizeof(rate));
		strcat(rate, "/s");
	}
	strbuf_addf(out, "%s %-9s %9s / %-9s %s", l->hex, l->verb, done, total, rate);
}

/* Redraw the lines from the first unfinished one (under the lock): the
 * cursor goes back up over what was drawn last time. */
static void draw(struct registry_progress *tp, const struct timespec *now, bool force)
{
	if (tp->quiet || !tp->tty)
		return;
	if (!force && seconds_between(&tp->last_draw, now) < 0.1)
		return;
	tp->last_draw = *now;
	struct strbuf sb = STRBUF_INIT;
	if (tp->drawn)
		strbuf_addf(&sb, "\033[%zuA", tp->drawn);
	struct winsize ws;
	size_t width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20
			   ? (size_t)ws.ws_col - 1
			   : 79;
	for (size_t i = tp->first_live; i < tp->n_lines; i++) {
		struct strbuf line = STRBUF_INIT;
		format_line(&tp->lines[i], now, &line);
		if (line.len > width)
			strbuf_setlen(&line, width);
		strbuf_addf(&sb, "\r%s\033[K\n", line.buf);
		strbuf_release(&line);
	}
	tp->drawn = tp->n_lines - tp->first_live;
	/* Finished lines on top stay where they are, drawn for the last time. */
	while (tp->first_live < tp->n_lines && tp->lines[tp->first_live].finished) {
		tp->first_live++;
		tp->drawn--;
	}
	fs_write_all(STDERR_FILENO, sb.buf, sb.len);
	strbuf_release(&sb);
}

void registry_progress_start(struct registry_progress *tp, const char *verb, const char *digest,
			     int64_t size, int64_t already)
{
	if (!tp)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&tp->lock);
	struct registry_blob_line *l = find_line(tp, digest);
	if (!l || l->finished) {
		tp->lines = xrealloc(tp->lines, (tp->n_lines + 1) * sizeof(*tp->lines));
		l = &tp->lines[tp->n_lines++];
		memset(l, 0, sizeof(*l));
		snprintf(l->digest, sizeof(l->digest), "%s", digest);
		oci_digest_short(digest, l->hex);
	}
	/* Started again (a download from the start after a failed resume):
	 * what it had no longer counts. */
	l->verb = verb;
	l->total = size > 0 ? (uint64_t)size : 0;
	l->done = already > 0 ? (uint64_t)already : 0;
	l->started = now;
	if (!tp->quiet && !tp->tty) {
		char human[32];
		format_size(l->total, human, sizeof(human));
		if (already > 0)
			log_info("%s blob %s (%s) at byte %" PRId64, verb, l->hex, human, already);
		else
			log_info("%s blob %s (%s)", verb, l->hex, human);
	}
	draw(tp, &now, true);
	pthread_mutex_unlock(&tp->lock);
}

void registry_progress_add(struct registry_progress *tp, const char *digest, uint64_t bytes)
{
	if (!tp)
		return;
	pthread_mutex_lock(&tp->lock);
	tp->bytes_moved += bytes;
	struct registry_blob_line *l = find_line(tp, digest);
	if (l) {
		l->done += bytes;
		l->moved += bytes;
	}
	if (!tp->quiet && tp->tty) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		draw(tp, &now, false);
	}
	pthread_mutex_unlock(&tp->lock);
}

void registry_progress_line(struct registry_progress *tp, const char *verb, const char *digest,
			    int64_t size)
{
	if (!tp)
		return;
	bool moved = !strcmp(verb, "fetched") || !strcmp(verb, "pushed");
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&tp->lock);
	if (moved)
		tp->blobs_moved++;
	else
		tp->blobs_skipped++;
	struct registry_blob_line *l = find_line(tp, digest);
	if (!l || l->finished) {
		/* Nothing moved for it (there already, mounted): a line all the same. */
		tp->lines = xrealloc(tp->lines, (tp->n_lines + 1) * sizeof(*tp->lines));
		l = &tp->lines[tp->n_lines++];
		memset(l, 0, sizeof(*l));
		snprintf(l->digest, sizeof(l->digest), "%s", digest);
		oci_digest_short(digest, l->hex);
		l->started = now;
	}
	l->verb = verb;
	l->total = size > 0 ? (uint64_t)size : 0;
	l->done = l->total;
	l->finished = true;
	l->ended = now;
	if (!tp->quiet && !tp->tty) {
		struct strbuf sb = STRBUF_INIT;
		char human[32];
		format_size(l->total, human, sizeof(human));
		strbuf_addf(&sb, "%s blob %s (%s", verb, l->hex, human);
		if (l->moved) {
			double secs = seconds_between(&l->started, &l->ended);
			char rate[32];
			format_size(secs > 0 ? (uint64_t)((double)l->moved / secs) : 0, rate,
				    sizeof(rate));
			if (l->moved != l->total) {
				char sent[32];
				format_size(l->moved, sent, sizeof(sent));
				strbuf_addf(&sb, ", %s of it", sent);
			}
			strbuf_addf(&sb, " in %.2fs, %s/s", secs, rate);
		}
		strbuf_addch(&sb, ')');
		log_info("%s", sb.buf);
		strbuf_release(&sb);
	}
	draw(tp, &now, true);
	pthread_mutex_unlock(&tp->lock);
}

void registry_progress_end(struct registry_progress *tp, bool ok)
{
	if (!tp->quiet) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		draw(tp, &now, true);
		double secs = seconds_between(&tp->started, &now);
		char moved[32], rate[32];
		format_size(tp->bytes_moved, moved, sizeof(moved));
		format_size(secs > 0 ? (uint64_t)((double)tp->bytes_moved / secs) : 0, rate,
			    sizeof(rate));
		/* The summary: what crossed the wire, what did not need to. */
		if (ok)
			log_info("%s: %u blob%s transferred (%s in %.2fs, %s/s), %u already there "
				 "or mounted",
				 tp->title, tp->blobs_moved, tp->blobs_moved == 1 ? "" : "s", moved,
				 secs, rate, tp->blobs_skipped);
	}
	free(tp->lines);
	free(tp->title);
	pthread_mutex_destroy(&tp->lock);
}
