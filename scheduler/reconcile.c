/* reconcile.c - running a reconciliation: `ferry reconcile TARGET` and the
 * reconcile job.  See reconcile.h; the pieces live in recon_layout.c,
 * recon_ack.c and recon_stream.c (shared types in recon_int.h).
 *
 * A run: a stream target goes to recon_stream_run; for a fixed-width
 * target the given files, or those listed in the transport's ack folder
 * and fetched into inbound/, are applied one by one (recon_apply_file),
 * then sent batches are checked for overdue records.  The summary and its
 * exit code are built here. */
#include "scheduler/recon_int.h"
#include "util/clock.h"
#include "adapters/adapter.h"
#include "adapters/handover.h"
#include "config/config.h"
#include "scheduler/joblock.h"
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




/* ---- the run -------------------------------------------------------------- */


static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* fetch_and_apply - list the transport's ack folder, fetch each file into
 * inbound/ and apply it */
static int fetch_and_apply(const struct ferry_config *cfg, struct spool *sp,
                           const struct target_config *tc,
                           const struct recon_layout *l,
                           const struct recon_opts *o,
                           struct recon_summary *sum, struct errs *e)
{
    const struct adapter *tr = tc->transport_type
        ? adapter_find(tc->transport_type) : NULL;
    if (!tr || tr->kind != ADAPTER_TRANSPORT || !tr->list || !tr->fetch) {
        errs_add(e, tc->name, "target has no transport that can fetch "
                 "acknowledgement files");
        return -1;
    }
    if (!l->pattern) {
        errs_add(e, tc->name, "the ack section needs name-pattern=\"GLOB\"");
        return -1;
    }
    struct adapter_env env = { .target = tc, .opts = &tc->transport_opts,
                               .base_dir = cfg->base_dir };
    void *ctx = NULL;
    char owner[200];
    snprintf(owner, sizeof owner, "target %s transport", tc->name);
    struct adapter_handover *h = adapter_handover_new(tr, &tc->transport_opts,
                                                      cfg->base_dir, owner, e);
    if (!h)
        return -1;
    if (tr->init(&ctx, &env, e) != 0) {
        adapter_handover_free(h);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct adapter_result res;
    memset(&res, 0, sizeof res);
    tr->list(ctx, l->pattern, &names, &n, &res);
    int rc = 0;
    if (res.outcome == ADAPTER_STOP) {
        /* host key or login refused: no later try can fix it, so it is
         * not "unavailable, try later" but a fact to fix (exit 78) */
        sum->uncheckable = true;
        snprintf(sum->uncheckable_msg, sizeof sum->uncheckable_msg,
                 "acknowledgements cannot be fetched: %s", res.msg);
        log_event(LOG_ERROR, "ack-list-refused", "target", tc->name,
                  "message", res.msg, NULL);
        goto out;
    }
    if (res.outcome != ADAPTER_OK) {
        sum->transport_unavailable = true;
        snprintf(sum->transport_msg, sizeof sum->transport_msg, "%s", res.msg);
        log_event(LOG_WARN, "ack-list-failed", "target", tc->name, "message",
                  res.msg, NULL);
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        char local[PATH_MAX];
        if (strchr(names[i], '/') || names[i][0] == '.' ||
            snprintf(local, sizeof local, "%s/inbound/%s", spool_dir(sp),
                     names[i]) >= (int)sizeof local)
            continue;
        memset(&res, 0, sizeof res);
        tr->fetch(ctx, names[i], local, &res);
        if (res.outcome != ADAPTER_OK) {
            struct recon_file f;
            memset(&f, 0, sizeof f);
            f.name = strdup(names[i]);
            f.status = RECON_FILE_ERROR;
            f.problem = strdup(res.msg);
            f.trailer_count = f.trailer_accepted = f.trailer_rejected = -1;
            sum->files++;
            sum->errors++;
            if (res.outcome == ADAPTER_RETRY) {
                sum->transport_unavailable = true;
                snprintf(sum->transport_msg, sizeof sum->transport_msg, "%s",
                         res.msg);
            }
            if (recon_file_add(sum, &f) != 0)
                rc = -1;
            continue;
        }
        char plain[PATH_MAX + 8];
        const char *apply = local;
        if (adapter_handover_ack_pgp(h)) {
            /* only what decrypts and carries the ack signer's good
             * signature is read; anything else is refused, unread */
            char why[600];
            snprintf(plain, sizeof plain, "%s.plain", local);
            if (adapter_handover_open_ack(h, local, plain, why,
                                          sizeof why) != 0) {
                struct recon_file f;
                memset(&f, 0, sizeof f);
                f.name = strdup(names[i]);
                f.status = RECON_FILE_ERROR;
                char m[700];
                snprintf(m, sizeof m, "ack file %s %s", names[i], why);
                f.problem = strdup(m);
                f.trailer_count = f.trailer_accepted = f.trailer_rejected = -1;
                sum->files++;
                sum->errors++;
                log_event(LOG_ERROR, "ack-refused", "target", tc->name,
                          "file", names[i], "reason", why, NULL);
                if (recon_file_add(sum, &f) != 0)
                    rc = -1;
                continue;
            }
            apply = plain;
        }
        struct recon_file f;
        rc = recon_apply_file(sp, l, apply, names[i], o, &f, sum, e);
        if (apply != local) {
            unlink(apply);      /* unless the archive took it */
            unlink(local);      /* the encrypted copy as fetched */
        }
        if (recon_file_add(sum, &f) != 0)
            rc = -1;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    tr->close(ctx);
    adapter_handover_free(h);
    return rc;
}

/* run_locked - the run itself, under the target's reconcile lock */
static int run_locked(const struct ferry_config *cfg, struct spool *sp,
                      const char *target, const struct recon_opts *o,
                      struct recon_summary *out, struct errs *e)
{
    const struct target_config *tc = config_target(cfg, target);
    if (!tc) {
        errs_add(e, target, "no such target in %s", cfg->path);
        return -1;
    }
    const struct adapter *ad = tc->type ? adapter_find(tc->type) : NULL;
    if (!ad) {
        errs_add(e, target, "unknown adapter type '%s'", tc->type ? tc->type : "");
        return -1;
    }
    int64_t now = o->now_ms ? o->now_ms : clock_wall_ms();
    if (ad->kind == ADAPTER_STREAM) {
        if (o->nfiles) {
            errs_add(e, target, "a stream target has no acknowledgement files");
            return -1;
        }
        return recon_stream_run(cfg, sp, tc, ad, o, out, e);
    }
    /* a batch target: the first service delivering here with an ack
     * layout (a copybook's, or a delimited file's) */
    struct recon_layout *l = NULL;
    struct errs le;
    errs_init(&le);
    for (size_t i = 0; i < cfg->nservices && !l; i++) {
        const struct service_config *sv = &cfg->services[i];
        const struct map_target *mt = sv->mapping
            ? mapping_target(sv->mapping, target) : NULL;
        if (mt && fw_section(mt, "ack"))
            l = recon_layout_for(tc, mt, sv->mapping->file ? sv->mapping->file
                                                       : sv->mapping_file,
                                 sv->name, &le);
    }
    if (!l) {
        if (!le.n)
            errs_add(e, target, "no service's mapping describes this target's "
                     "acknowledgement file (<section name=\"ack\">)");
        errs_move(e, &le);
        errs_free(&le);
        return -1;
    }
    errs_free(&le);
    int rc = 0;
    if (o->nfiles) {
        for (size_t i = 0; i < o->nfiles && rc == 0; i++) {
            struct recon_file f;
            rc = recon_apply_file(sp, l, o->files[i], base_name(o->files[i]),
                                  o, &f, out, e);
            if (recon_file_add(out, &f) != 0)
                rc = -1;
        }
    } else {
        rc = fetch_and_apply(cfg, sp, tc, l, o, out, e);
    }
    long hours = o->overdue_hours ? o->overdue_hours
               : l->overdue_hours ? l->overdue_hours
               : RECON_DEFAULT_OVERDUE_HOURS;
    if (rc == 0)
        rc = recon_overdue(sp, target, hours, now, out, e);
    recon_layout_free(l);
    return rc;
}

/* recon_run - one reconciliation of a target at a time, across the
 * processes of this host and the nodes sharing a PostgreSQL spool (the
 * lock "reconcile-TARGET": joblock_take).  A second run is told who
 * holds it and does nothing (out->busy, exit 75). */
int recon_run(const struct ferry_config *cfg, struct spool *sp,
              const char *target, const struct recon_opts *o,
              struct recon_summary *out, struct errs *e)
{
    memset(out, 0, sizeof *out);
    out->target = strdup(target);
    if (!config_target(cfg, target)) {
        errs_add(e, target, "no such target in %s", cfg->path);
        return -1;
    }
    char job[300];
    snprintf(job, sizeof job, "reconcile-%s", target);
    struct joblock *lock = NULL;
    pid_t holder = 0;
    int l = joblock_take(sp, job, &lock, &holder, e);
    if (l < 0)
        return -1;
    if (l > 0) {
        out->busy = true;
        if (l == 2)
            snprintf(out->busy_msg, sizeof out->busy_msg, "the reconcile of "
                     "%s is already running on another node", target);
        else
            snprintf(out->busy_msg, sizeof out->busy_msg, "the reconcile of "
                     "%s is already running as PID %ld", target,
                     (long)holder);
        log_event(LOG_WARN, "reconcile-busy", "target", target, "message",
                  out->busy_msg, NULL);
        return 0;
    }
    int rc = run_locked(cfg, sp, target, o, out, e);
    joblock_release(lock);
    return rc;
}
