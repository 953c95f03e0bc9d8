/* SPDX-License-Identifier: Apache-2.0 */
/* Progress of one transfer, shared by its threads: the terminal's byte
 * counter, or one plain line per blob when stderr is not a terminal. */
#include "internal.h"

#include <string.h>
#include <unistd.h>

/* ---- progress shared by the threads of one transfer ---- */

void registry_progress_begin(struct registry_progress *tp, const char *title, uint64_t total,
			     bool quiet)
{
	pthread_mutex_init(&tp->lock, NULL);
	tp->quiet = quiet;
	tp->tty = isatty(STDERR_FILENO);
	memset(&tp->bar, 0, sizeof(tp->bar));
	tp->title = xstrdup(title);
	tp->blobs_moved = tp->blobs_skipped = 0;
	tp->bytes_moved = 0;
	progress_begin(&tp->bar, title, total);
}

void registry_progress_add(struct registry_progress *tp, uint64_t bytes)
{
	if (!tp || tp->quiet)
		return;
	pthread_mutex_lock(&tp->lock);
	progress_add(&tp->bar, bytes);
	pthread_mutex_unlock(&tp->lock);
}

/* One plain line per blob when stderr is not a terminal (logs, CI); every
 * blob counts for the summary. */
void registry_progress_line(struct registry_progress *tp, const char *verb, const char *digest,
			    int64_t size)
{
	if (!tp)
		return;
	bool moved = !strcmp(verb, "fetched") || !strcmp(verb, "pushed");
	pthread_mutex_lock(&tp->lock);
	if (moved) {
		tp->blobs_moved++;
		tp->bytes_moved += size > 0 ? (uint64_t)size : 0;
	} else {
		tp->blobs_skipped++;
	}
	pthread_mutex_unlock(&tp->lock);
	if (tp->quiet || tp->tty)
		return;
	char hex[13];
	oci_digest_short(digest, hex);
	char human[32];
	format_size(size > 0 ? (uint64_t)size : 0, human, sizeof(human));
	pthread_mutex_lock(&tp->lock);
	log_info("%s blob %s (%s)", verb, hex, human);
	pthread_mutex_unlock(&tp->lock);
}

void registry_progress_end(struct registry_progress *tp, bool ok)
{
	if (!tp->quiet) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double secs = (double)(now.tv_sec - tp->bar.started.tv_sec) +
			      (double)(now.tv_nsec - tp->bar.started.tv_nsec) / 1e9;
		char moved[32], rate[32];
		format_size(tp->bytes_moved, moved, sizeof(moved));
		format_size(secs > 0 ? (uint64_t)((double)tp->bytes_moved / secs) : 0, rate,
			    sizeof(rate));
		progress_end(&tp->bar);
		/* The summary: what crossed the wire, what did not need to. */
		if (ok)
			log_info("%s: %u blob%s transferred (%s in %.2fs, %s/s), %u already there "
				 "or mounted",
				 tp->title, tp->blobs_moved, tp->blobs_moved == 1 ? "" : "s", moved,
				 secs, rate, tp->blobs_skipped);
	}
	progress_end(&tp->bar); /* frees its title; draws nothing twice */
	free(tp->title);
	pthread_mutex_destroy(&tp->lock);
}
