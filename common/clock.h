/*
 * clock.h - the clocks both binaries read: monotonic milliseconds (for
 * deadlines and timings), the wall clock, ISO-8601 time stamps and a
 * sleep that survives signals. No FUSE, no X.
 *
 *	uint64_t end = clk_mono_ms() + 5000;
 *	while (clk_mono_ms() < end) ...
 *	double t0 = clk_mono_msf(); ...; printf("%.3f ms", clk_mono_msf() - t0);
 *	char ts[32]; clk_iso8601(NULL, ts, sizeof ts);     "2026-11-23T01:02:03.123Z"
 */
#ifndef DESKFS_CLOCK_H
#define DESKFS_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in whole milliseconds. */
uint64_t clk_mono_ms(void);
/* CLOCK_MONOTONIC in milliseconds, with the fraction (timings). */
double clk_mono_msf(void);
/* CLOCK_REALTIME in seconds since the epoch, with the fraction. */
double clk_wall(void);
/* b - a in milliseconds. */
double clk_ms_between(const struct timespec *a, const struct timespec *b);
/* ts (NULL: now) as UTC with milliseconds: "2026-11-23T01:02:03.123Z" (out: 25+ bytes). */
void clk_iso8601(const struct timespec *ts, char *out, size_t len);
/* The same for t seconds since the epoch (clk_wall()'s unit). */
void clk_iso8601_at(double t, char *out, size_t len);
/* Sleeps ms milliseconds, resuming after signals. */
void clk_sleep_ms(unsigned ms);

#endif
