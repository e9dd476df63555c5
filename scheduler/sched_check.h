/* sched_check.h - the one configuration check (sched_check.c). */
#ifndef FERRY_SCHEDULER_SCHED_CHECK_H
#define FERRY_SCHEDULER_SCHED_CHECK_H

struct errs;
struct ferry_config;

/* sched_check_config - every check of a loaded configuration: adapter
 * types, secrets, adapter options against their typed tables, mappings
 * against their copybooks, each adapter's own validation of each target
 * it would start, cron schedules, time zones and delivery windows.  Adds
 * every problem to e with file:line; returns how many it added.  The
 * daemon starts, and a SIGHUP applies, only a configuration with none. */
int sched_check_config(const struct ferry_config *c, struct errs *e);

#endif
