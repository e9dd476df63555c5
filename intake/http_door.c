/* http_door.c - what the HTTP front door counts and whether the spool can
 * take more: the per-service intake counters (accepted, duplicates,
 * rejected at the door, the last written to the ledger at most once a
 * second), and the free-space check against <spool min-free>, cached so a
 * flood costs one statvfs per DISK_CACHE_MS (the rule itself is
 * intake_disk_ok, the one the command line uses too).
 *
 * Owns: the counter rows and the disk cache in struct http_server (under
 * h->mu). */
#include "intake/http_int.h"
#include "intake/intake_spool.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/clock.h"
#include "util/errs.h"
#include "util/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* svc_row - counter row of service (h->mu held); NULL when full */
static struct svc_count *svc_row(struct http_server *h, const char *name)
{
    for (size_t i = 0; i < h->nsvc; i++)
        if (strcmp(h->svc[i].name, name) == 0)
            return &h->svc[i];
    if (h->nsvc == MAX_SERVICES)
        return NULL;
    struct svc_count *r = &h->svc[h->nsvc++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

/* http_count_result - bump a service counter: 0 accepted, 1 duplicate,
 * 2 rejected at the door (also kept for the ledger's daily report,
 * written at most once a second so a flood of bad requests cannot turn
 * into a flood of fsyncs) */
void http_count_result(struct http_server *h, const char *service,
                       int kind, uint64_t n)
{
    int64_t flush = 0;
    char name[128];
    pthread_mutex_lock(&h->mu);
    struct svc_count *r = svc_row(h, service);
    if (r) {
        if (kind == 0)
            r->accepted += n;
        else if (kind == 1)
            r->duplicates += n;
        else {
            r->rejected += n;
            r->door_pending += (int64_t)n;
            int64_t now = clock_mono_ms();
            if (now - h->door_flushed_ms >= 1000) {
                h->door_flushed_ms = now;
                flush = r->door_pending;
                r->door_pending = 0;
                snprintf(name, sizeof name, "%s", r->name);
            }
        }
    }
    pthread_mutex_unlock(&h->mu);
    if (flush) {
        struct errs e;
        errs_init(&e);
        if (spool_count_rejected_at_door(h->sp, name, flush, &e) != 0)
            log_event(LOG_WARN, "door-count-failed", "service", name,
                      "error", errs_first_msg(&e), NULL);
        errs_free(&e);
    }
}

/* http_flush_door_counts - write every pending rejected-at-door count */
void http_flush_door_counts(struct http_server *h)
{
    for (size_t i = 0; i < h->nsvc; i++) {
        if (!h->svc[i].door_pending)
            continue;
        struct errs e;
        errs_init(&e);
        if (spool_count_rejected_at_door(h->sp, h->svc[i].name,
                                         h->svc[i].door_pending, &e) != 0)
            log_event(LOG_WARN, "door-count-failed", "service",
                      h->svc[i].name, "error", errs_first_msg(&e), NULL);
        h->svc[i].door_pending = 0;
        errs_free(&e);
    }
}

/* http_disk_ok - free space of the spool's file system above min-free
 * (cached for DISK_CACHE_MS) */
bool http_disk_ok(struct http_server *h, const struct ferry_config *cfg)
{
    int64_t now = clock_mono_ms();
    pthread_mutex_lock(&h->mu);
    if (h->disk_checked_ms && now - h->disk_checked_ms < DISK_CACHE_MS) {
        bool ok = h->disk_ok;
        pthread_mutex_unlock(&h->mu);
        return ok;
    }
    pthread_mutex_unlock(&h->mu);
    bool ok = intake_disk_ok(h->sp, cfg->spool_min_free_mb);
    pthread_mutex_lock(&h->mu);
    if (!ok && h->disk_ok)
        log_event(LOG_ERROR, "spool-low-disk", "dir", spool_dir(h->sp), NULL);
    h->disk_ok = ok;
    h->disk_checked_ms = now;
    pthread_mutex_unlock(&h->mu);
    return ok;
}
