/*
 * clock.c - monotonic and wall clocks, ISO-8601 stamps, sleeping (clock.h).
 */
#include "common/clock.h"

#include <errno.h>
#include <stdio.h>

uint64_t clk_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double clk_mono_msf(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double clk_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clk_ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

void clk_iso8601(const struct timespec *ts, char *out, size_t len)
{
	struct timespec now;
	struct tm tm;

	if (!ts) {
		clock_gettime(CLOCK_REALTIME, &now);
		ts = &now;
	}
	gmtime_r(&ts->tv_sec, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
}

void clk_iso8601_at(double t, char *out, size_t len)
{
	time_t sec = (time_t)t;
	struct timespec ts;

	if ((double)sec > t) /* (time_t) truncates towards zero */
		sec--;
	ts.tv_sec = sec;
	ts.tv_nsec = (long)((t - (double)sec) * 1e9);

	if (ts.tv_nsec > 999999999)
		ts.tv_nsec = 999999999;
	clk_iso8601(&ts, out, len);
}

void clk_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
