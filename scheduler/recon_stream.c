/* recon_stream.c - reconciling stream targets (ODBC, SOAP): every
 * delivered and in-doubt record of the target is put to the adapter's
 * probe (ODBC reconcile-query / marker table, SOAP status-operation).
 * OK confirms it; FAIL reports a delivered record missing and requeues an
 * in-doubt one (safe to send again); RETRY changes nothing; STOP (the
 * target has no way to be asked, or cannot be used) is said once, as a
 * fact of the configuration, and nothing more is asked.  Only delivered
 * and in-doubt records are asked: confirmed ones never. */
#include "scheduler/recon_int.h"
#include "util/clock.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "mappings/fw_target.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>


/* ---- stream targets ------------------------------------------------------ */

struct collect {
    struct spool_record **v;
    size_t n, cap;
    bool nomem;
};

static int collect_one(void *vctx, const struct spool_record *r)
{
    struct collect *c = vctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct spool_record **nv = realloc(c->v, cap * sizeof *nv);
        if (!nv) {
            c->nomem = true;
            return 1;
        }
        c->v = nv;
        c->cap = cap;
    }
    /* keep what the probe needs: ref, service, state, record JSON */
    struct spool_record *k = calloc(1, sizeof *k);
    if (!k) {
        c->nomem = true;
        return 1;
    }
    k->ref = strdup(r->ref);
    k->delivery_id = strdup(r->delivery_id);
    k->service = strdup(r->service);
    k->state = r->state;
    k->attempts = r->attempts;
    k->in_doubt = r->in_doubt;
    k->record_json = r->record_json ? strdup(r->record_json) : NULL;
    if (!k->ref || !k->service || !k->delivery_id) {
        spool_record_free(k);
        c->nomem = true;
        return 1;
    }
    c->v[c->n++] = k;
    return 0;
}

int recon_stream_run(const struct ferry_config *cfg, struct spool *sp,
                     const struct target_config *tc, const struct adapter *ad,
                     const struct recon_opts *o, struct recon_summary *sum,
                     struct errs *e)
{
    sum->stream = true;
    struct collect c = { 0 };
    struct spool_filter fl;
    memset(&fl, 0, sizeof fl);
    fl.target = tc->name;
    fl.nstates = 2;
    fl.states[0] = SPOOL_DELIVERED;
    fl.states[1] = SPOOL_INDOUBT;
    if (spool_foreach(sp, &fl, SPOOL_WITH_PAYLOAD, collect_one, &c, e) < 0 ||
        c.nomem) {
        if (c.nomem)
            errs_add(e, tc->name, "out of memory");
        for (size_t i = 0; i < c.n; i++)
            spool_record_free(c.v[i]);
        free(c.v);
        return -1;
    }
    int rc = 0;
    const char *actor = o->actor ? o->actor : "reconcile";
    for (size_t s = 0; s < cfg->nservices && rc == 0; s++) {
        const struct service_config *sv = &cfg->services[s];
        const struct map_target *mt = sv->mapping
            ? mapping_target(sv->mapping, tc->name) : NULL;
        if (!mt)
            continue;
        bool any = false;
        for (size_t i = 0; i < c.n; i++)
            any |= strcmp(c.v[i]->service, sv->name) == 0;
        if (!any)
            continue;
        if (!ad->probe) {
            for (size_t i = 0; i < c.n; i++)
                if (strcmp(c.v[i]->service, sv->name) == 0)
                    sum->unknown++;
            if (!sum->uncheckable) {
                sum->uncheckable = true;
                snprintf(sum->uncheckable_msg, sizeof sum->uncheckable_msg,
                         "adapter %s has no way to ask the target", ad->name);
            }
            continue;
        }
        struct adapter_env env = {
            .target = tc, .opts = &tc->opts, .map = mt,
            .base_dir = cfg->base_dir, .service = sv->name,
        };
        void *ctx = NULL;
        if (ad->init(&ctx, &env, e) != 0) {
            rc = -1;
            break;
        }
        bool stop = false;
        for (size_t i = 0; i < c.n && rc == 0; i++) {
            struct spool_record *r = c.v[i];
            if (strcmp(r->service, sv->name) != 0)
                continue;
            if (stop) {                 /* said once: the rest unknown */
                sum->unknown++;
                continue;
            }
            struct errs re;
            errs_init(&re);
            struct record *rec = r->record_json
                ? record_from_json(r->record_json, &re) : NULL;
            errs_free(&re);
            struct delivery_item it;
            memset(&it, 0, sizeof it);
            it.ref = r->ref;
            it.delivery_id = r->delivery_id;
            it.marker_gen = r->marker_gen;
            it.service = r->service;
            it.attempt = r->attempts;
            it.was_in_doubt = r->state == SPOOL_INDOUBT;
            it.rec = rec;
            if (rec)
                ad->probe(ctx, &it);
            else
                adapter_result_set(&it.res, ADAPTER_RETRY, "stored record "
                                   "unreadable");
            record_free(rec);
            if (it.res.outcome == ADAPTER_STOP) {
                stop = true;
                sum->unknown++;
                if (!sum->uncheckable) {
                    sum->uncheckable = true;
                    snprintf(sum->uncheckable_msg,
                             sizeof sum->uncheckable_msg, "%s: %s",
                             sv->name, it.res.msg);
                }
                log_event(LOG_WARN, "reconcile-uncheckable", "target",
                          tc->name, "service", sv->name, "reason",
                          it.res.msg, NULL);
            } else if (it.res.outcome == ADAPTER_OK) {
                struct spool_ack a = { .key = r->ref, .target = r->target,
                    .accepted = true,
                    .receipt = it.res.receipt[0] ? it.res.receipt : NULL,
                    .receipt_data = it.res.receipt_data[0]
                                    ? it.res.receipt_data : NULL };
                enum spool_ack_result ar;
                if (spool_ack_apply(sp, NULL, NULL, &a, 1, &ar, NULL, NULL,
                                    NULL, e) != 0) {
                    rc = -1;
                    break;
                }
                if (ar == SPOOL_ACK_APPLIED)
                    sum->confirmed++;
            } else if (it.res.outcome == ADAPTER_FAIL) {
                if (r->state == SPOOL_INDOUBT) {
                    /* never arrived: safe to send again */
                    if (spool_retry(sp, r->ref, r->target, actor, "reconcile: the target "
                                    "does not have it", e) != 0) {
                        rc = -1;
                        break;
                    }
                    sum->requeued++;
                    recon_item_add(sum, "requeued", r->ref, NULL, 0, "in doubt, not "
                             "at the target: requeued (%s)", it.res.msg);
                } else {
                    /* kept on the record: an operator's requeue then
                     * writes it anew past its marker (spool_retry) */
                    if (spool_mark_missing(sp, r->ref, r->target, clock_wall_ms(),
                                           e) < 0) {
                        rc = -1;
                        break;
                    }
                    sum->missing++;
                    recon_item_add(sum, "missing", r->ref, NULL, 0, "delivered but "
                             "the target does not have it: %s", it.res.msg);
                }
            } else {
                sum->unknown++;
                recon_item_add(sum, "unknown", r->ref, NULL, 0, "cannot tell now: %s",
                         it.res.msg);
                if (it.res.outcome == ADAPTER_RETRY && !sum->transport_unavailable) {
                    sum->transport_unavailable = true;
                    snprintf(sum->transport_msg, sizeof sum->transport_msg,
                             "%s", it.res.msg);
                }
            }
        }
        ad->close(ctx);
    }
    for (size_t i = 0; i < c.n; i++)
        spool_record_free(c.v[i]);
    free(c.v);
    return rc;
}

