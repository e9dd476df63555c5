/* clock.c - clocks in milliseconds and deadline waits.  See clock.h. */
#include "util/clock.h"

#include <stdio.h>

static int64_t ms_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
    return ms_of(CLOCK_REALTIME);
}

int64_t clock_mono_ms(void)
{
    return ms_of(CLOCK_MONOTONIC);
}

void clock_abs_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int clock_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
                          int64_t deadline_mono_ms)
{
    int64_t left = deadline_mono_ms - clock_mono_ms();
    if (left <= 0)
        return -1;
    struct timespec ts;
    clock_abs_in(&ts, left > 100 ? 100 : left);
    pthread_cond_timedwait(cv, mu, &ts);
    return 0;
}

void clock_fmt_rfc3339(int64_t ms, char *out, size_t outsz)
{
    int64_t sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, outsz - n, ".%03dZ", (int)rem);
}
