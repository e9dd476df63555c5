/* batch.c - the night batch runner for fixed-width targets.  See batch.h
 * and docs/batch.md.
 *
 * Contract: the ledger binds records to a batch before a byte is written,
 * so a file can always be rebuilt byte for byte from the ledger: the
 * header's creation time is the batch's created_at, never the clock, and
 * records that could not be encoded are already in the dead letter state
 * (or fail again the same way) and are left out either way.  The file is
 * written under a temporary name, fsynced, renamed and its folder fsynced;
 * it is read back with the decoders before it leaves.  A run finishes an
 * unfinished batch before it binds a new one, so a crash at any point
 * ends, after a plain re-run, with every record in exactly one sent file.
 *
 * Owns: outbound/<target>/ (files waiting for transfer) and
 * archive/<target>/ (sent files) in the spool folder, and the crash
 * points batch-write, batch-fsync, batch-rename, batch-ledger-written,
 * batch-upload, batch-after-transfer and batch-ledger-sent.
 *
 * This file compiles the target and runs batches; batch_build.c writes a
 * file, batch_verify.c reads it back, batch_send.c hands it over. */
#include "scheduler/batch_int.h"
#include "util/clock.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "scheduler/joblock.h"
#include "util/tz.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/crash.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

/* ---- small helpers ---------------------------------------------------- */

const char *batch_outcome_name(enum batch_outcome o)
{
    switch (o) {
    case BATCH_DONE:     return "done";
    case BATCH_DATA:     return "data";
    case BATCH_TEMPFAIL: return "tempfail";
    case BATCH_BUSY:     return "busy";
    case BATCH_CONFIG:   return "config";
    case BATCH_REFUSED:  return "refused";
    case BATCH_STOPPED:  return "stopped";
    case BATCH_VERIFY:   return "verify";
    case BATCH_ERROR:    return "error";
    }
    return "error";
}

int batch_exit_code(enum batch_outcome o)
{
    switch (o) {
    case BATCH_DONE:     return EX_OK;
    case BATCH_DATA:     return EX_DATAERR;
    case BATCH_TEMPFAIL: return EX_TEMPFAIL;
    case BATCH_BUSY:     return EX_TEMPFAIL;
    case BATCH_CONFIG:   return EX_CONFIG;
    case BATCH_REFUSED:  return EX_CONFIG;
    case BATCH_STOPPED:  return EX_CONFIG;
    case BATCH_VERIFY:   return EX_SOFTWARE;
    case BATCH_ERROR:    return EX_IOERR;
    }
    return EX_SOFTWARE;
}



static bool name_char_ok(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

int batch_file_name(const char *pattern, const char *business_date,
                    int seq, int64_t gen, const char *target, char *out,
                    size_t outsz, char *why, size_t whysz)
{
    const char *p = pattern ? pattern : "{target}.D{yymmdd}.S{seq:3}";
    size_t n = 0;
    if (!business_date || strlen(business_date) != 10 || seq < 1) {
        snprintf(why, whysz, "needs a business date and a sequence");
        return -1;
    }
    char ymd[9];
    snprintf(ymd, sizeof ymd, "%.4s%.2s%.2s", business_date,
             business_date + 5, business_date + 8);
    while (*p) {
        char piece[160];
        if (*p != '{') {
            piece[0] = *p++;
            piece[1] = '\0';
        } else {
            const char *end = strchr(p, '}');
            if (!end) {
                snprintf(why, whysz, "'%s': unclosed {", pattern);
                return -1;
            }
            size_t tl = (size_t)(end - p - 1);
            char tok[32];
            if (tl >= sizeof tok) {
                snprintf(why, whysz, "'%s': unknown {%.*s}", pattern,
                         (int)(tl > 40 ? 40 : tl), p + 1);
                return -1;
            }
            memcpy(tok, p + 1, tl);
            tok[tl] = '\0';
            if (strcmp(tok, "yyyymmdd") == 0 || strcmp(tok, "ccyymmdd") == 0)
                snprintf(piece, sizeof piece, "%s", ymd);
            else if (strcmp(tok, "yymmdd") == 0)
                snprintf(piece, sizeof piece, "%s", ymd + 2);
            else if (strcmp(tok, "target") == 0)
                snprintf(piece, sizeof piece, "%s", target ? target : "");
            else if (strcmp(tok, "seq") == 0)
                snprintf(piece, sizeof piece, "%d", seq);
            else if (strcmp(tok, "gen") == 0) {
                if (gen < 1 || gen > 9999) {
                    snprintf(why, whysz, "generation %lld does not fit {gen}"
                             " (G0001V00 to G9999V00; the name would not be "
                             "unique)", (long long)gen);
                    return -1;
                }
                snprintf(piece, sizeof piece, "G%04lldV00", (long long)gen);
            }
            else if (strncmp(tok, "seq:", 4) == 0) {
                char *e2 = NULL;
                errno = 0;
                long w = strtol(tok + 4, &e2, 10);
                if (errno || !e2 || *e2 || e2 == tok + 4 || w < 1 || w > 9) {
                    snprintf(why, whysz, "'%s': {seq:N} needs N from 1 to 9",
                             pattern);
                    return -1;
                }
                snprintf(piece, sizeof piece, "%0*d", (int)w, seq);
                if (strlen(piece) > (size_t)w) {
                    snprintf(why, whysz, "sequence %d does not fit {seq:%ld}"
                             " (the name would not be unique)", seq, w);
                    return -1;
                }
            } else {
                snprintf(why, whysz, "'%s': unknown {%s} (yyyymmdd, "
                         "ccyymmdd, yymmdd, seq, seq:N, gen, target)", pattern, tok);
                return -1;
            }
            p = end + 1;
        }
        size_t pl = strlen(piece);
        if (n + pl + 1 > outsz) {
            snprintf(why, whysz, "'%s': the name is too long", pattern);
            return -1;
        }
        memcpy(out + n, piece, pl);
        n += pl;
    }
    out[n] = '\0';
    if (n == 0 || out[0] == '.') {
        snprintf(why, whysz, "'%s' gives '%s': not a usable file name",
                 pattern, out);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok(out[i])) {
            snprintf(why, whysz, "'%s' gives '%s': a file name may hold "
                     "only A-Z a-z 0-9 . _ -", pattern, out);
            return -1;
        }
    return 0;
}


/* ---- the compiled target ---------------------------------------------- */

static void bctx_free(struct bctx *c)
{
    for (size_t i = 0; i < c->nsvc; i++)
        if (c->format && c->format->close)
            c->format->close(c->svc[i].fmt);
    free(c->svc);
    c->svc = NULL;
    c->nsvc = 0;
}

/* format_of - the target's batch format, when it has every file callback */
static const struct adapter *format_of(const struct target_config *tc)
{
    const struct adapter *ad = tc->type ? adapter_find(tc->type) : NULL;
    if (!ad || ad->kind != ADAPTER_BATCH || !ad->init || !ad->file_info ||
        !ad->open_file || !ad->write_record || !ad->close_file ||
        !ad->check_file)
        return NULL;
    return ad;
}

/* bctx_setup - an instance of the target's format for every service
 * mapping that feeds target */
static int bctx_setup(struct bctx *c, const char *target, struct errs *e)
{
    c->tc = config_target(c->cfg, target);
    if (!c->tc) {
        errs_add(e, target, "no target '%s' in %s", target, c->cfg->path);
        return -1;
    }
    c->format = format_of(c->tc);
    if (!c->format) {
        errs_add(e, target, "target %s is of type %s: only batch file "
                 "formats (fixed-width, delimited) have a night batch", target,
                 c->tc->type);
        return -1;
    }
    c->svc = calloc(c->cfg->nservices ? c->cfg->nservices : 1, sizeof *c->svc);
    if (!c->svc) {
        errs_add(e, target, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->cfg->nservices; i++) {
        const struct service_config *s = &c->cfg->services[i];
        if (!config_service_delivers_to(s, target))
            continue;
        const struct map_target *mt = s->mapping ?
            mapping_target(s->mapping, target) : NULL;
        if (!mt) {
            errs_add(e, s->name, "service %s has no <target name=\"%s\"> in "
                     "its mapping", s->name, target);
            return -1;
        }
        struct adapter_env env = {
            .target = c->tc, .opts = &c->tc->opts, .map = mt,
            .base_dir = c->cfg->base_dir, .service = s->name,
            .mapping_file = s->mapping->file ? s->mapping->file
                                             : s->mapping_file,
        };
        void *fmt = NULL;
        if (c->format->init(&fmt, &env, e) != 0)
            return -1;
        c->svc[c->nsvc].service = s->name;
        c->svc[c->nsvc++].fmt = fmt;
    }
    if (!c->nsvc) {
        errs_add(e, target, "no service delivers to target %s", target);
        return -1;
    }
    c->format->file_info(c->svc[0].fmt, &c->info);
    for (size_t i = 1; i < c->nsvc && c->format->same_file; i++) {
        char why[256];
        if (c->format->same_file(c->svc[0].fmt, c->svc[i].fmt, why,
                                 sizeof why) != 0) {
            errs_add(e, target, "services %s and %s write different record "
                     "layouts into one file: %s", c->svc[0].service,
                     c->svc[i].service, why);
            return -1;
        }
    }
    return 0;
}

/* ---- one batch, start to end ------------------------------------------ */

static void set_msg(struct batch_summary *sum, enum batch_outcome o,
                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_msg(struct batch_summary *sum, enum batch_outcome o,
                    const char *fmt, ...)
{
    va_list ap;
    sum->outcome = o;
    va_start(ap, fmt);
    vsnprintf(sum->message, sizeof sum->message, fmt, ap);
    va_end(ap);
}

/* folder - spool/<sub>/<target>, created 0700 */
static int folder(struct bctx *c, const char *sub, char *out, size_t outsz,
                  struct errs *e)
{
    if (snprintf(out, outsz, "%s/%s/%s", spool_dir(c->sp), sub,
                 c->tc->name) >= (int)outsz || fs_mkdirs(out, 0700) != 0) {
        errs_add(e, out, "cannot create: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* archive - move the sent file from outbound to archive (best effort:
 * a file left in outbound/ after a crash here is only tidied later) */
static void archive(struct bctx *c, struct batch_file *bf, struct errs *e)
{
    char dir[PATH_MAX], dst[PATH_MAX];
    batch_handover_tidy(bf->local_path, bf->file_name);
    if (folder(c, "archive", dir, sizeof dir, e) != 0 ||
        fs_join(dst, sizeof dst, dir, bf->file_name) != 0)
        return;
    if (rename(bf->local_path, dst) == 0) {
        fs_fsync_dir(dir);
        fs_fsync_parent(bf->local_path);
        snprintf(bf->local_path, sizeof bf->local_path, "%s", dst);
    }
}

/* refused - the transport said FAIL (or could not start): the file waits */
static int refused(struct batch_summary *sum, const struct spool_batch *b,
                   const struct batch_file *bf, const char *msg)
{
    set_msg(sum, BATCH_REFUSED, "%s refused: %s (the file waits in "
            "outbound/ and is sent by the next run once this is fixed)",
            bf->file_name, msg);
    log_event(LOG_ERROR, "batch-send-failed", "target", b->target, "file",
              bf->file_name, "message", msg, NULL);
    return 0;
}

/* stopped - the transport said STOP (host key, login): the target stops
 * with the reason, in the ledger, and its records wait: none fails.
 * waiting says where they wait. */
static int stopped(struct bctx *c, struct batch_summary *sum,
                   const char *msg, const char *waiting)
{
    set_msg(sum, BATCH_STOPPED, "target %s stopped: %s; %s (none failed), "
            "and go on the next run once this is fixed", c->tc->name, msg,
            waiting);
    log_event(LOG_ERROR, "target-stopped", "target", c->tc->name, "reason",
              msg, "records", "wait (not failed)", NULL);
    batch_state_put(c, msg);
    return 0;
}

/* send_batch - audit a resend, hand the verified file to the open
 * transport, record "sent" and archive it */
static int send_batch(struct bctx *c, struct btransport *tr,
                      const struct spool_batch *b, enum build_mode mode,
                      const struct built *res, struct batch_file *bf,
                      struct batch_summary *sum, struct errs *e)
{
    char msg[1024];
    if (mode == BUILD_RESEND) {
        char detail[1200];
        snprintf(detail, sizeof detail, "batch %lld %s sha256 %s to %s",
                 (long long)b->id, bf->file_name, res->sha256, bf->sent_to);
        if (spool_audit_add(c->sp, c->o->actor ? c->o->actor : "unknown",
                            "batch-resend", NULL, c->o->reason, detail,
                            e) != 0)
            goto io;
    }
    crash_point("batch-upload");
    enum adapter_outcome out = batch_send_file(c, tr, bf->local_path,
                                               bf->file_name, res->sha256,
                                               res->bytes,
                                               &bf->already_present, msg,
                                               sizeof msg);
    if (out == ADAPTER_RETRY) {
        set_msg(sum, BATCH_TEMPFAIL, "%s not sent, try again later: %s",
                bf->file_name, msg);
        log_event(LOG_WARN, "batch-send-retry", "target", b->target, "file",
                  bf->file_name, "message", msg, NULL);
        return 0;
    }
    if (out == ADAPTER_STOP) {
        char waiting[400];
        snprintf(waiting, sizeof waiting, "%s waits in outbound/ with its "
                 "records", bf->file_name);
        return stopped(c, sum, msg, waiting);
    }
    if (out != ADAPTER_OK) {
        return refused(sum, b, bf, msg);
    }
    if (c->was_stopped)
        batch_state_put(c, NULL);
    crash_point("batch-after-transfer");
    bf->sent = true;
    if (mode != BUILD_RESEND) {
        if (spool_batch_sent(c->sp, b->id, e) != 0)
            goto io;
        crash_point("batch-ledger-sent");
    }
    archive(c, bf, e);
    log_event(LOG_INFO, bf->already_present ? "batch-already-present"
              : "batch-sent", "target", b->target, "file", bf->file_name,
              "to", bf->sent_to, "sha256", res->sha256, NULL);
    return 0;
io:
    set_msg(sum, BATCH_ERROR, "%s: %s", bf->file_name[0] ? bf->file_name
            : b->target, errs_first_msg(e));
    return -1;
}

/* run_batch - build (or rebuild), record, verify and send batch b */
static int run_batch(struct bctx *c, const struct spool_batch *b,
                     enum build_mode mode, struct batch_file *bf,
                     struct batch_summary *sum, struct errs *e)
{
    bool dry = c->o->dry_run;
    char dir[PATH_MAX], why[512], msg[1024];
    struct built res;
    memset(&res, 0, sizeof res);
    bf->batch_id = b->id;
    bf->seq = b->seq;
    snprintf(bf->business_date, sizeof bf->business_date, "%s",
             b->business_date);
    if (b->file_name)
        snprintf(bf->file_name, sizeof bf->file_name, "%s", b->file_name);
    else if (batch_file_name(c->info.file_pattern, b->business_date, b->seq,
                             b->generation, b->target, bf->file_name,
                             sizeof bf->file_name,
                             why, sizeof why) != 0) {
        set_msg(sum, BATCH_CONFIG, "file-name %s", why);
        errs_add(e, b->target, "file-name %s", why);
        return -1;
    }
    if (dry)
        snprintf(dir, sizeof dir, "%s", c->o->scratch_dir);
    else if (folder(c, "outbound", dir, sizeof dir, e) != 0)
        goto io;
    if (fs_join(bf->local_path, sizeof bf->local_path, dir, bf->file_name))
        goto io;
    log_event(LOG_INFO, "batch-build", "target", b->target, "batch",
              bf->file_name, "state", spool_batch_state_name(b->state), NULL);
    enum build_result r = batch_build_file(c, b, mode, dry, dir,
                                           bf->file_name, b->record_count,
                                           &res, e);
    if (r == BUILT_CONFIG) {
        set_msg(sum, BATCH_CONFIG, "%s: %s", bf->file_name, errs_first_msg(e));
        return -1;
    }
    if (r != BUILT_OK)
        goto io;
    bf->records = res.count;
    bf->failed = res.failed;
    bf->bytes = res.bytes;
    snprintf(bf->totals, sizeof bf->totals, "%s", res.totals);
    snprintf(bf->sha256, sizeof bf->sha256, "%s", res.sha256);
    if (mode == BUILD_RESEND) {
        if (!b->sha256 || strcmp(b->sha256, res.sha256) != 0 ||
            b->record_count != res.count) {
            snprintf(why, sizeof why, "batch %lld rebuilt as %lld records, "
                     "sha256 %s; the ledger says %lld records, sha256 %s "
                     "(records changed or purged since): not resent",
                     (long long)b->id, (long long)res.count, res.sha256,
                     (long long)b->record_count, b->sha256 ? b->sha256 : "-");
            set_msg(sum, BATCH_VERIFY, "%s", why);
            return 0;
        }
    } else if (!dry) {
        if (spool_batch_written(c->sp, b->id, bf->file_name, res.count,
                                res.totals, res.sha256, e) != 0) {
            set_msg(sum, BATCH_VERIFY, "%s: %s", bf->file_name,
                    errs_first_msg(e));
            return 0;
        }
        crash_point("batch-ledger-written");
        log_event(LOG_INFO, "batch-written", "target", b->target, "file",
                  bf->file_name, "sha256", res.sha256, "totals", res.totals,
                  NULL);
    }
    if (batch_verify_file(c, bf->local_path, &res, why, sizeof why, e) != 0) {
        if (!why[0])
            goto io;
        set_msg(sum, BATCH_VERIFY, "read-back check of %s failed: %s; "
                "nothing was sent", bf->file_name, why);
        log_event(LOG_ERROR, "batch-verify-failed", "target", b->target,
                  "file", bf->file_name, "reason", why, NULL);
        return 0;
    }
    if (dry)
        return 0;
    struct btransport tr;
    if (batch_transport_open(c, &tr, msg, sizeof msg) != 0) {
        return refused(sum, b, bf, msg);
    }
    batch_transport_describe(&tr, bf->sent_to, sizeof bf->sent_to);
    int rc = send_batch(c, &tr, b, mode, &res, bf, sum, e);
    batch_transport_close(&tr);
    return rc;
io:
    set_msg(sum, BATCH_ERROR, "%s: %s", bf->file_name[0] ? bf->file_name
            : b->target, errs_first_msg(e));
    return -1;
}

/* tidy_outbound - a crash after the ledger said "sent" and before the
 * file moved to archive/ left the sent file in outbound/<target>/: move
 * every such file (its name and SHA-256 those of a sent or confirmed
 * batch) to archive/<target>/.  Anything else in outbound/ is left, for
 * the unfinished batch it belongs to.  Best effort: a failure is logged
 * and tidied by a later run. */
static void tidy_outbound(struct bctx *c)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/outbound/%s", spool_dir(c->sp),
                 c->tc->name) >= (int)sizeof dir)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct spool_batch **v = NULL;
    size_t n = 0;
    bool listed = false;
    struct dirent *de;
    for (int seen = 0; (de = readdir(d)) && seen < 10000; seen++) {
        size_t nl = strlen(de->d_name);
        if (de->d_name[0] == '.' && nl > 6 &&
            strcmp(de->d_name + nl - 5, ".send") == 0) {
            /* a plain copy a crash left behind mid-transfer */
            char p[PATH_MAX];
            if (fs_join(p, sizeof p, dir, de->d_name) == 0)
                unlink(p);
            continue;
        }
        if (de->d_name[0] == '.')
            continue;
        struct errs e;
        errs_init(&e);
        if (!listed && spool_batch_list(c->sp, c->tc->name, 0, &v, &n, &e)) {
            errs_free(&e);
            break;
        }
        listed = true;
        const struct spool_batch *b = NULL;
        for (size_t i = 0; i < n && !b; i++)
            if (v[i]->file_name && strcmp(v[i]->file_name, de->d_name) == 0 &&
                (v[i]->state == SPOOL_BATCH_SENT ||
                 v[i]->state == SPOOL_BATCH_CONFIRMED))
                b = v[i];
        char hex[65];
        struct batch_file bf;
        memset(&bf, 0, sizeof bf);
        snprintf(bf.file_name, sizeof bf.file_name, "%s", de->d_name);
        if (b && b->sha256 && fs_join(bf.local_path, sizeof bf.local_path, dir,
                                      de->d_name) == 0 &&
            batch_file_sha256(c, bf.local_path, de->d_name, hex) == 0 &&
            strcmp(hex, b->sha256) == 0) {
            archive(c, &bf, &e);
            log_event(LOG_INFO, "batch-outbound-tidied", "target",
                      c->tc->name, "file", de->d_name, "to", bf.local_path,
                      NULL);
        }
        errs_free(&e);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++)
        spool_batch_free(v[i]);
    free(v);
}

/* ---- the run ---------------------------------------------------------- */

/* today - YYYY-MM-DD now in zone */
static int today(const char *zone, char out[11], struct errs *e)
{
    struct tz *z = tz_load(zone ? zone : "Europe/London", e);
    if (!z)
        return -1;
    struct tm tm;
    tz_localtime(z, clock_wall_ms() / 1000, &tm);
    tz_free(z);
    if (tm.tm_year < -1899 || tm.tm_year > 8099) {
        errs_add(e, "clock", "the year is out of range");
        return -1;
    }
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
    return 0;
}

/* queued_count - target's queued records, from the ledger's counts (an
 * aggregate: no record is read) */
static int queued_count(struct bctx *c, int64_t *n, struct errs *e)
{
    struct spool_counts cs;
    *n = 0;
    if (spool_counts(c->sp, &cs, e) != 0)
        return -1;
    for (size_t i = 0; i < cs.n; i++)
        if (cs.v[i].state == SPOOL_QUEUED && cs.v[i].target &&
            strcmp(cs.v[i].target, c->tc->name) == 0)
            *n += cs.v[i].n;
    spool_counts_free(&cs);
    return 0;
}

/* finish_outcome - fold a file's dead letters into the run's outcome; a
 * dry run says what a real run would do */
static void finish_outcome(struct batch_summary *sum)
{
    if (sum->outcome != BATCH_DONE)
        return;
    for (size_t i = 0; i < sum->nfiles; i++)
        if (sum->files[i].failed) {
            sum->outcome = BATCH_DATA;
            snprintf(sum->message, sizeof sum->message, sum->dry_run
                     ? "dry run: %lld record(s) could not be encoded and "
                       "would go to the dead letter state; the rest would be "
                       "sent (nothing was changed or sent)"
                     : "%lld record(s) could not be encoded and were moved "
                       "to the dead letter state (ferry queue --state "
                       "failed); the rest were sent",
                     (long long)sum->files[i].failed);
        }
}

/* scratch_remove - the dry run's scratch folder and the files in it:
 * they hold personal data and must not outlive the run */
static void scratch_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    for (int i = 0; (de = readdir(d)) && i < 1000; i++) {
        char p[PATH_MAX];
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            fs_join(p, sizeof p, dir, de->d_name) != 0)
            continue;
        if (unlink(p) != 0)
            log_event(LOG_WARN, "batch-dry-run-cleanup", "file", p, "error",
                      strerror(errno), NULL);
    }
    closedir(d);
    if (rmdir(dir) != 0)
        log_event(LOG_WARN, "batch-dry-run-cleanup", "folder", dir, "error",
                  strerror(errno), NULL);
}

/* run_locked - the run proper, with the lock held (or a dry run) */
static int run_locked(struct bctx *c, const char *date,
                      struct batch_summary *sum, struct errs *e)
{
    const char *target = c->tc->name;
    struct spool_batch *b = NULL;
    int rc = 0;
    if (!c->o->dry_run) {
        tidy_outbound(c);
        c->was_stopped = batch_was_stopped(c);
    }
    if (c->o->resend_id > 0) {
        int g = spool_batch_get(c->sp, c->o->resend_id, &b, e);
        if (g != 0 || strcmp(b->target, target) != 0) {
            char id[32];
            snprintf(id, sizeof id, "%lld", (long long)c->o->resend_id);
            set_msg(sum, g < 0 ? BATCH_ERROR : BATCH_CONFIG,
                    "no batch %s of target %s", id, target);
            if (g >= 0)
                errs_add(e, target, "%s", sum->message);
            spool_batch_free(b);
            return -1;
        }
        if (b->state != SPOOL_BATCH_SENT && b->state != SPOOL_BATCH_CONFIRMED) {
            set_msg(sum, BATCH_CONFIG, "batch %s was never sent: run without "
                    "--resend to finish it", b->file_name ? b->file_name
                    : "(unwritten)");
            errs_add(e, target, "%s", sum->message);
            spool_batch_free(b);
            return -1;
        }
        struct batch_file *bf = &sum->files[sum->nfiles++];
        bf->resent = true;
        rc = run_batch(c, b, BUILD_RESEND, bf, sum, e);
        spool_batch_free(b);
        return rc;
    }
    /* 1. finish what a crashed run left (at most a few: each is finished
     * before a new one is bound, so normally one) */
    while (sum->nfiles < BATCH_MAX_FILES - 1) {
        int u = spool_batch_unfinished(c->sp, target, &b, e);
        if (u < 0) {
            set_msg(sum, BATCH_ERROR, "%s", errs_first_msg(e));
            return -1;
        }
        if (u == 1)
            break;
        struct batch_file *bf = &sum->files[sum->nfiles++];
        bf->finished_earlier = true;
        log_event(LOG_INFO, "batch-resume", "target", target, "batch",
                  b->file_name ? b->file_name : "", "state",
                  spool_batch_state_name(b->state), NULL);
        rc = run_batch(c, b, BUILD_BOUND, bf, sum, e);
        spool_batch_free(b);
        b = NULL;
        if (rc != 0 || sum->outcome != BATCH_DONE || c->o->dry_run)
            return rc;   /* a dry run previews only the unfinished one */
    }
    /* 2. a new batch, when there is something to send (or empty-file) */
    int64_t queued = 0;
    if (queued_count(c, &queued, e) != 0) {
        set_msg(sum, BATCH_ERROR, "%s", errs_first_msg(e));
        return -1;
    }
    bool some = queued || c->info.empty_file;
    if (!c->o->dry_run && (some || c->was_stopped)) {
        /* ask the transport first (host key, login): a target that
         * refuses keeps its records queued, none bound to a file that
         * cannot go; one that cannot be reached now builds the file, to
         * wait in outbound/ */
        struct btransport tr;
        char msg[1024];
        if (batch_transport_open(c, &tr, msg, sizeof msg) == 0) {
            enum adapter_outcome r = batch_transport_reach(&tr, msg,
                                                           sizeof msg);
            batch_transport_close(&tr);
            if (r == ADAPTER_STOP) {
                char waiting[128];
                snprintf(waiting, sizeof waiting, "its %lld record(s) wait "
                         "queued", (long long)queued);
                return stopped(c, sum, msg, waiting);
            }
            if (r == ADAPTER_OK && c->was_stopped)
                batch_state_put(c, NULL);
        }
    }
    if (!some) {
        if (!sum->nfiles)
            sum->nothing = true;
        return 0;
    }
    struct batch_file *bf = &sum->files[sum->nfiles++];
    if (c->o->dry_run) {
        struct spool_batch pb;
        memset(&pb, 0, sizeof pb);
        pb.target = (char *)target;
        snprintf(pb.business_date, sizeof pb.business_date, "%s", date);
        if (spool_batch_next_seq(c->sp, target, date, &pb.seq, e) != 0 ||
            spool_batch_next_generation(c->sp, target, &pb.generation,
                                        e) != 0) {
            set_msg(sum, BATCH_ERROR, "%s", errs_first_msg(e));
            return -1;
        }
        pb.created_at = clock_wall_ms();
        pb.record_count = c->o->max_records && (int64_t)c->o->max_records
            < queued ? (int64_t)c->o->max_records : queued;
        return run_batch(c, &pb, BUILD_PREVIEW, bf, sum, e);
    }
    /* binding a big batch rewrites every bound row: let the WAL be
     * checkpointed by another thread while the file is built, rather
     * than inside the bind's commit */
    struct errs ce;
    errs_init(&ce);
    struct spool_checkpointer *ck = spool_checkpointer_start(c->sp, 250, &ce);
    errs_free(&ce);
    if (spool_batch_bind(c->sp, target, date, c->o->max_records, &b, e) != 0) {
        spool_checkpointer_stop(ck);
        set_msg(sum, BATCH_ERROR, "binding records: %s", errs_first_msg(e));
        return -1;
    }
    log_event(LOG_INFO, "batch-bound", "target", target, "date", date, NULL);
    rc = run_batch(c, b, BUILD_BOUND, bf, sum, e);
    spool_checkpointer_stop(ck);
    spool_batch_free(b);
    return rc;
}

int batch_run(const struct ferry_config *cfg, struct spool *sp,
              const char *target, const struct batch_opts *o,
              struct batch_summary *sum, struct errs *e)
{
    int64_t t0 = clock_wall_ms();
    struct batch_opts dflt;
    memset(&dflt, 0, sizeof dflt);
    memset(sum, 0, sizeof *sum);
    if (!o)
        o = &dflt;
    sum->dry_run = o->dry_run;
    struct bctx c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.sp = sp;
    c.o = o;
    struct joblock *lock = NULL;
    char date[11], scratch[PATH_MAX] = "";
    struct batch_opts dry;
    int rc = -1;
    if (o->resend_id > 0 && (!o->reason || !*o->reason)) {
        set_msg(&sum[0], BATCH_CONFIG, "a resend needs a reason");
        errs_add(e, target, "%s", sum->message);
        goto out;
    }
    if (o->resend_id > 0 && o->dry_run) {
        set_msg(sum, BATCH_CONFIG, "--resend and --dry-run do not go "
                "together");
        errs_add(e, target, "%s", sum->message);
        goto out;
    }
    if (bctx_setup(&c, target, e) != 0) {
        set_msg(sum, BATCH_CONFIG, "%s", errs_first_msg(e));
        goto out;
    }
    if (o->business_date) {
        int64_t days;
        if (strlen(o->business_date) != 10 ||
            record_date_parse(o->business_date, &days) != 0) {
            set_msg(sum, BATCH_CONFIG, "business date '%s': use YYYY-MM-DD",
                    o->business_date);
            errs_add(e, target, "%s", sum->message);
            goto out;
        }
        snprintf(date, sizeof date, "%s", o->business_date);
    } else if (today(o->tz, date, e) != 0) {
        set_msg(sum, BATCH_CONFIG, "%s", errs_first_msg(e));
        goto out;
    }
    if (o->dry_run) {
        const char *base = o->scratch_dir ? o->scratch_dir : getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/ferry-batch-dry-run.XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(scratch)) {
            set_msg(sum, BATCH_ERROR, "cannot make a scratch folder: %s",
                    strerror(errno));
            errs_add(e, scratch, "%s", sum->message);
            goto out;
        }
        dry = *o;
        dry.scratch_dir = scratch;
        c.o = &dry;
    } else {
        char job[300];
        snprintf(job, sizeof job, "batch-%s", target);
        pid_t holder = 0;
        int l = joblock_take(sp, job, &lock, &holder, e);
        if (l < 0) {
            set_msg(sum, BATCH_ERROR, "%s", errs_first_msg(e));
            goto out;
        }
        if (l == 2) {
            set_msg(sum, BATCH_BUSY, "the night batch of %s is already "
                    "running on another node", target);
            rc = 0;
            goto out;
        }
        if (l == 1) {
            char pid[32];
            snprintf(pid, sizeof pid, "%ld", (long)holder);
            sum->holder = holder;
            set_msg(sum, BATCH_BUSY, "the night batch of %s is already "
                    "running as PID %s", target, pid);
            rc = 0;
            goto out;
        }
    }
    rc = run_locked(&c, date, sum, e);
    if (rc == 0)
        finish_outcome(sum);
out:
    if (scratch[0])
        scratch_remove(scratch);
    joblock_release(lock);
    bctx_free(&c);
    sum->elapsed_ms = clock_wall_ms() - t0;
    return rc;
}
