/* sched_check.c - the whole configuration check, and the scheduler's part
 * of it.
 *
 * `ferry check`, the daemon's start and every SIGHUP run this one
 * function, so a configuration that one accepts the others accept.  It
 * stands on the scheduler's floor because it needs every floor below:
 * config/ (secrets, mappings against their copybooks), adapters/ (the
 * typed option tables and each adapter's own validation, the same code
 * the daemon runs) and the scheduler's own parsers (cron schedules, time
 * zones, delivery windows, a delimited target's ack layout). */
#include "scheduler/sched_check.h"
#include "adapters/adapter_check.h"
#include "config/config.h"
#include "mappings/fw_target.h"
#include "scheduler/reconcile.h"
#include "scheduler/cron.h"
#include "scheduler/window.h"
#include "util/errs.h"
#include "util/tz.h"

#include <stdio.h>
#include <string.h>

/* check_windows - each target's <window> and holidays parse */
static void check_windows(const struct ferry_config *c, struct errs *e)
{
    for (size_t i = 0; i < c->ntargets; i++) {
        const struct target_config *t = &c->targets[i];
        if (!t->window && !t->nholidays)
            continue;
        struct errs tmp;
        errs_init(&tmp);
        struct window *w = window_parse(t->window ? t->window : "00:00-24:00",
                                        (const char *const *)t->holidays,
                                        t->nholidays, &tmp);
        if (!w)
            for (size_t k = 0; k < tmp.n; k++)
                errs_add_at(e, c->path, t->line, "target '%s': %s%s%s",
                            t->name ? t->name : "", tmp.v[k].where,
                            tmp.v[k].where[0] ? ": " : "", tmp.v[k].msg);
        window_free(w);
        errs_free(&tmp);
    }
}

static void check_jobs(const struct ferry_config *c, struct errs *e)
{
    for (size_t i = 0; i < c->njobs; i++) {
        const struct job_config *j = &c->jobs[i];
        const char *name = j->name ? j->name : "";
        if (j->schedule) {
            struct errs tmp;
            errs_init(&tmp);
            struct cron cr;
            if (cron_parse(j->schedule, &cr, &tmp) != 0)
                errs_add_at(e, c->path, j->line,
                            "job '%s': schedule '%s': %s", name,
                            j->schedule, tmp.n ? tmp.v[0].msg : "bad");
            errs_free(&tmp);
        }
        if (j->tz) {
            struct errs tmp;
            errs_init(&tmp);
            struct tz *z = tz_load(j->tz, &tmp);
            if (!z)
                errs_add_at(e, c->path, j->line,
                            "job '%s': unknown time zone '%s'", name, j->tz);
            tz_free(z);
            errs_free(&tmp);
        }
    }
}

/* check_delimited_acks - the ack section of each delimited target of s
 * compiles as reconcile will compile it (a fixed-width one is checked
 * with its copybooks by the adapter: compiling it again would say each
 * copybook problem twice) */
static void check_delimited_acks(const struct ferry_config *c,
                                 const struct service_config *s,
                                 struct errs *e)
{
    for (size_t i = 0; s->mapping && i < s->ntargets; i++) {
        const struct target_config *t = config_target(c, s->targets[i]);
        const struct map_target *mt = mapping_target(s->mapping,
                                                     s->targets[i]);
        if (!t || !t->type || strcmp(t->type, "delimited") != 0 || !mt ||
            !fw_section(mt, "ack"))
            continue;
        recon_layout_free(recon_layout_for(t, mt, s->mapping->file
                                           ? s->mapping->file
                                           : s->mapping_file, s->name, e));
    }
}

int sched_check_config(const struct ferry_config *c, struct errs *e)
{
    if (!c)
        return 0;
    size_t before = e->n + e->dropped;
    adapter_check_types(c, e);
    config_check(c, e);
    adapter_check_targets(c, e);
    for (size_t i = 0; i < c->nservices; i++) {
        const struct service_config *s = &c->services[i];
        int bad = adapter_check_service_keys(c, s, e);
        bad += config_check_service(c, s, e);
        if (!bad) {     /* a mapping that reads cleanly: ask the adapter */
            size_t n0 = e->n + e->dropped;
            adapter_check_service(c, s, e);
            if (e->n + e->dropped == n0)
                check_delimited_acks(c, s, e);
        }
    }
    check_jobs(c, e);
    check_windows(c, e);
    return (int)(e->n + e->dropped - before);
}
