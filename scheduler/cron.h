/* cron.h - five-field cron expressions evaluated in a named time zone.
 *
 *   minute hour day-of-month month day-of-week
 *
 * Each field: "*", a number, a range "a-b", a step "*\/n" or "a-b/n" or
 * "a/n" (a to the field's maximum), and comma lists of these.  Months take
 * JAN-DEC, days of week SUN-SAT (case-insensitive); day of week 0 and 7
 * are both Sunday.  Macros: @yearly (@annually), @monthly, @weekly, @daily
 * (@midnight), @hourly.
 *
 * Day matching follows Vixie cron: when both day-of-month and day-of-week
 * are restricted (neither field starts with "*"), a day matches if EITHER
 * matches; otherwise both must (so the "*" one matches every day).
 *
 * Times are wall-clock times in the job's zone.  Across clock changes:
 *   - a time in the spring gap (Europe/London 01:00-01:59 on the last
 *     Sunday of March) runs once, at the first valid instant after the
 *     gap, i.e. at the transition (02:00 BST = 01:00 UTC).  Several gap
 *     times (a "*\/15" job) collapse into that one run;
 *   - a time in the autumn fold (01:00-01:59 on the last Sunday of
 *     October) runs once, at its first occurrence (BST), not again an hour
 *     later.
 *
 * struct cron is a plain value: no allocation, nothing to free; it may be
 * shared read-only between threads. */
#ifndef FERRY_SCHEDULER_CRON_H
#define FERRY_SCHEDULER_CRON_H
#include <stdbool.h>
#include <stdint.h>

struct errs;
struct tz;

struct cron {
    uint64_t minute;        /* bit n = minute n (0-59) */
    uint32_t hour;          /* 0-23 */
    uint32_t dom;           /* bit n = day n (1-31) */
    uint16_t month;         /* bit n = month n (1-12) */
    uint8_t dow;            /* bit n = weekday n (0 = Sunday .. 6) */
    bool dom_star, dow_star;/* field started with "*" (Vixie rule) */
};

/* Searches never look further ahead than this many days (covers Feb 29
 * across a century year, e.g. 2097 -> 2104). */
#define CRON_SEARCH_DAYS (366 * 9)

/* cron_parse - parse expr into *out.  Returns 0, or -1 with one problem
 * added to e naming the field and the 1-based column, e.g.
 *   "hour (field 2) at column 3: 25 is out of range 0-23".
 * Expressions that can never fire (0 0 30 2 *) are refused too. */
int cron_parse(const char *expr, struct cron *out, struct errs *e);

/* cron_matches_day - whether the schedule fires on that local date */
bool cron_matches_day(const struct cron *c, int64_t y, int month /* 1-12 */,
                      int mday);

/* cron_next - the next run strictly after after_utc_s, in zone z (see the
 * DST rules above).  Returns 0 and sets *next_utc_s, or -1 if there is no
 * run within CRON_SEARCH_DAYS. */
int cron_next(const struct cron *c, const struct tz *z, int64_t after_utc_s,
              int64_t *next_utc_s);

#endif
