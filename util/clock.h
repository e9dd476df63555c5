/* clock.h - the clocks every module reads, in milliseconds, and the one
 * way ferry waits on a condition variable with a deadline.
 *
 * Wall time (CLOCK_REALTIME) is what the ledger stores and what a cron
 * schedule means; monotonic time (CLOCK_MONOTONIC) is what timeouts and
 * deadlines count, so a clock step never shortens or stretches them. */
#ifndef FERRY_UTIL_CLOCK_H
#define FERRY_UTIL_CLOCK_H
#include <pthread.h>
#include <stdint.h>
#include <time.h>

int64_t clock_wall_ms(void);     /* ms since 1970-01-01 UTC */
int64_t clock_mono_ms(void);     /* ms on the monotonic clock */
/* clock_abs_in - the absolute CLOCK_REALTIME instant ms from now, as
 * pthread_cond_timedwait wants it */
void clock_abs_in(struct timespec *ts, int64_t ms);
/* clock_cond_wait_until - wait on cv (mu held) until signalled or the
 * monotonic deadline; wakes at least every 100 ms so a caller's loop can
 * re-check its condition.  Returns -1 when the deadline has passed before
 * waiting, else 0. */
int clock_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
                          int64_t deadline_mono_ms);
/* clock_fmt_rfc3339 - ms since the epoch as RFC 3339 UTC with
 * milliseconds, "2026-12-03T08:49:11.042Z": the one form of a time in
 * JSON output and log lines; out holds at least 25 bytes */
void clock_fmt_rfc3339(int64_t ms, char *out, size_t outsz);

#endif
