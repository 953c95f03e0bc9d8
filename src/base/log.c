/* SPDX-License-Identifier: Apache-2.0 */
/* Log lines and a progress line on stderr. */
#include "base.h"

#include <string.h>

/* Set once by the entry point before any thread starts (see base.h). */
static enum log_level current_level = LOG_INFO;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	static const char *prefix[] = {"error: ", "warning: ", "", "debug: "};
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "petra: ");
	strbuf_addstr(&sb, prefix[level]);
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addch(&sb, '\n');
	/* One write so lines from parallel workers do not interleave. */
	fs_write_all(STDERR_FILENO, sb.buf, sb.len);
	strbuf_release(&sb);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void progress_begin(struct progress *p, const char *title, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->title = xstrdup(title);
	p->total = total;
	p->active = current_level >= LOG_INFO && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	p->last_draw = p->started;
}

static void progress_draw(struct progress *p, const struct timespec *now)
{
	char done[32], total[32];
	format_size(p->done, done, sizeof(done));
	double secs = seconds_between(&p->started, now);
	char rate[32] = "";
	if (secs > 0.2) {
		format_size((uint64_t)((double)p->done / secs), rate, sizeof(rate));
		strcat(rate, "/s");
	}
	char line[256];
	if (p->total) {
		format_size(p->total, total, sizeof(total));
		int pct = (int)(p->done * 100 / p->total);
		if (pct > 100)
			pct = 100;
		int filled = pct / 5;
		char bar[21];
		memset(bar, '=', (size_t)filled);
		memset(bar + filled, ' ', (size_t)(20 - filled));
		bar[20] = '\0';
		snprintf(line, sizeof(line), "\r%.40s [%s] %3d%% %s / %s %s\033[K", p->title, bar,
			 pct, done, total, rate);
	} else {
		snprintf(line, sizeof(line), "\r%.40s %s %s\033[K", p->title, done, rate);
	}
	fs_write_all(STDERR_FILENO, line, strlen(line));
	p->drawn = true;
	p->last_draw = *now;
}

void progress_add(struct progress *p, uint64_t bytes)
{
	p->done += bytes;
	if (!p->active)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Redraw at most ten times a second, and not at all for short work. */
	if (seconds_between(&p->last_draw, &now) < 0.1 || seconds_between(&p->started, &now) < 0.5)
		return;
	progress_draw(p, &now);
}

void progress_end(struct progress *p)
{
	if (p->active && p->drawn)
		fs_write_all(STDERR_FILENO, "\r\033[K", 4);
	free(p->title);
	p->title = NULL;
	p->active = false;
}
