/* SPDX-License-Identifier: Apache-2.0 */
/* Time helpers: SOURCE_DATE_EPOCH, RFC 3339, human-readable sizes and ages. */
#include "base.h"

#include <ctype.h>
#include <string.h>

int petra_source_date_epoch(time_t *out, struct petra_error **err)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	if (!s || !*s)
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || end == s)
		return petra_error_set(err, EINVAL,
				       "SOURCE_DATE_EPOCH=\"%s\": not a number of seconds", s);
	*out = (time_t)v;
	return 1;
}

void time_format_rfc3339(time_t t, char *buf, size_t size)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "1970-01-01T00:00:00Z");
}

int time_parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -EINVAL;
		offset = sign * (hh * 3600L + mm * 60L);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*out = timegm(&tm) - offset;
	return 0;
}

void format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1000.0 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%lluB", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.3g%s", v, units[u]);
}

void format_age(time_t then, time_t now, char *buf, size_t size)
{
	long long d = (long long)(now - then);
	if (then <= 0) {
		snprintf(buf, size, "N/A");
		return;
	}
	if (d < 0)
		d = 0;
	struct {
		long long secs;
		const char *unit;
	} steps[] = {{365LL * 86400, "year"}, {30LL * 86400, "month"}, {7LL * 86400, "week"},
		     {86400, "day"},          {3600, "hour"},          {60, "minute"}};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		if (d >= steps[i].secs) {
			long long n = d / steps[i].secs;
			snprintf(buf, size, "%lld %s%s ago", n, steps[i].unit, n == 1 ? "" : "s");
			return;
		}
	}
	snprintf(buf, size, "%lld second%s ago", d, d == 1 ? "" : "s");
}
