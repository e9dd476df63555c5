/* catchup.h - what to do on start-up about runs missed while ferry was down.
 *
 * Pure function of the schedule, the last recorded run and now (implemented
 * in cron.c).  Policy "run": if at least one scheduled time fell after the
 * last run and at or before now, run the job once now, however many were
 * missed.  Policy "skip": never run on start-up; the caller logs the skip
 * and waits for the next scheduled time (cron_next(now)). */
#ifndef FERRY_SCHEDULER_CATCHUP_H
#define FERRY_SCHEDULER_CATCHUP_H
#include <stdint.h>

#include "scheduler/cron.h"

enum cron_catchup_policy { CRON_CATCHUP_POLICY_RUN = 0, CRON_CATCHUP_POLICY_SKIP };

enum cron_catchup_action {
    CRON_CATCHUP_NONE = 0,      /* nothing missed (or never ran before) */
    CRON_CATCHUP_RUN_NOW,       /* run once now */
    CRON_CATCHUP_SKIPPED        /* runs were missed, policy says skip */
};

/* last_run_utc_s value for a job that has no recorded run: nothing counts
 * as missed, the job simply waits for its next time. */
#define CRON_NEVER_RAN INT64_MIN

/* cron_catchup_policy_parse - "run" or "skip"; NULL means the default
 * ("run").  0 ok, -1 unknown word. */
int cron_catchup_policy_parse(const char *s, enum cron_catchup_policy *out);

/* cron_catchup - decide at start-up.  *missed_utc_s (may be NULL) is set to
 * the earliest missed scheduled time, or 0 when none was missed; *nmissed
 * (may be NULL) to how many were missed, counted up to 1000. */
enum cron_catchup_action cron_catchup(const struct cron *c,
                                      const struct tz *z,
                                      enum cron_catchup_policy policy,
                                      int64_t last_run_utc_s,
                                      int64_t now_utc_s,
                                      int64_t *missed_utc_s,
                                      unsigned *nmissed);

#endif
