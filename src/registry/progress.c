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
	if (!quiet)
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

/* One plain line per blob when stderr is not a terminal (logs, CI). */
void registry_progress_line(struct registry_progress *tp, const char *verb, const char *digest,
			    int64_t size)
{
	if (!tp || tp->quiet || tp->tty)
		return;
	char hex[13];
	oci_digest_short(digest, hex);
	char human[32];
	format_size(size > 0 ? (uint64_t)size : 0, human, sizeof(human));
	pthread_mutex_lock(&tp->lock);
	log_info("%s blob %s (%s)", verb, hex, human);
	pthread_mutex_unlock(&tp->lock);
}

void registry_progress_end(struct registry_progress *tp)
{
	if (!tp->quiet)
		progress_end(&tp->bar);
	pthread_mutex_destroy(&tp->lock);
}
