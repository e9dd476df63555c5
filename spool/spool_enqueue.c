/* spool_enqueue.c - durable intake with group commit and idempotency.
 *
 * Callers append a request to a queue.  Whoever finds no leader becomes
 * the leader: it takes every pending request, stores them all in ONE
 * transaction (one fsync), marks them done and wakes the others.  While it
 * commits, new callers pile up for the next leader, so N concurrent
 * single-record intakes cost far fewer than N fsyncs.  Nobody returns
 * before its own items are committed.
 *
 * References are FRY-<UTC date of receipt>-<per-day sequence>; the
 * sequence lives in the ledger (sequences table) and is taken in the same
 * transaction as the rows.  They are for people and unique only within
 * this spool; each record also gets a delivery identity (128 random bits,
 * spool_id_new) that is unique across spools, for targets to key on. */
#include "spool/spool_int.h"
#include "util/clock.h"
#include "util/crash.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct spool_req {
    const struct spool_item *items;
    size_t n;
    struct spool_result *res;
    struct errs *e;
    int rc;
    bool done;
    struct spool_req *next;
};

/* Per-transaction caches: the day sequences and the counters, written
 * once at the end instead of once per record. */
struct day_seq {
    char day[9];                   /* YYYYMMDD */
    int64_t seq;
    bool loaded;
};

struct tally {
    const char *service;
    char day[11];
    int64_t accepted, duplicates;
    int64_t fanout;                     /* deliveries beyond one each */
    int64_t channel[SPOOL_NCHANNELS];   /* accepted by channel */
};

struct txn {
    struct day_seq days[8];
    size_t ndays;
    struct tally *t;
    size_t nt, capt;
    uint64_t dups;
};

void spool_ref_format(char *out, size_t outsz, int64_t day_ms, int64_t seq)
{
    time_t t = (time_t)(day_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int y = (tm.tm_year + 1900) % 10000, m = tm.tm_mon + 1, d = tm.tm_mday;
    if (seq <= 999999) {
        snprintf(out, outsz, "FRY-%04d%02d%02d-%06lld", y, m, d,
                 (long long)seq);
        return;
    }
    int digits = 0;
    for (int64_t v = seq; v > 0; v /= 10)
        digits++;
    /* 'A' = 7 digits, 'B' = 8 ...: letters sort after digits, and a wider
     * number after a narrower one, so text order stays numeric order. */
    snprintf(out, outsz, "FRY-%04d%02d%02d-%c%lld", y, m, d,
             'A' + (digits - 7), (long long)seq);
}

static struct day_seq *day_seq_get(struct spool *s, struct txn *x,
                                   int64_t at, struct errs *e)
{
    char day[11], key[16];
    spool_day_text(at, day);
    char compact[9] = { day[0], day[1], day[2], day[3], day[5], day[6],
                        day[8], day[9], '\0' };
    for (size_t i = 0; i < x->ndays; i++)
        if (memcmp(x->days[i].day, compact, 9) == 0)
            return &x->days[i];
    if (x->ndays == sizeof x->days / sizeof x->days[0]) {
        errs_add(e, s->dir, "too many receipt days in one commit");
        return NULL;
    }
    struct day_seq *d = &x->days[x->ndays];
    memcpy(d->day, compact, 9);
    snprintf(key, sizeof key, "ref:%s", compact);
    sqlite3_stmt *st = spool_stmt(s, "SELECT value FROM sequences "
                                  "WHERE name = ?", e);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        d->seq = sqlite3_column_int64(st, 0);
    } else if (r == SQLITE_DONE) {
        d->seq = 0;
    } else {
        spool_dberr(s, e, NULL, "reading reference sequence");
        return NULL;
    }
    sqlite3_reset(st);
    d->loaded = true;
    x->ndays++;
    return d;
}

static int day_seq_save(struct spool *s, struct txn *x, struct errs *e)
{
    for (size_t i = 0; i < x->ndays; i++) {
        char key[16];
        snprintf(key, sizeof key, "ref:%s", x->days[i].day);
        sqlite3_stmt *st = spool_stmt(s,
            "INSERT INTO sequences(name, value) VALUES(?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value", e);
        if (!st)
            return -1;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, x->days[i].seq);
        if (sqlite3_step(st) != SQLITE_DONE) {
            spool_dberr(s, e, NULL, "saving reference sequence");
            return -1;
        }
    }
    return 0;
}

static struct tally *tally_get(struct txn *x, const char *service,
                               int64_t at)
{
    char day[11];
    spool_day_text(at, day);
    for (size_t i = 0; i < x->nt; i++)
        if (strcmp(x->t[i].service, service) == 0
            && strcmp(x->t[i].day, day) == 0)
            return &x->t[i];
    if (x->nt == x->capt) {
        size_t cap = x->capt ? x->capt * 2 : 8;
        struct tally *t = realloc(x->t, cap * sizeof *t);
        if (!t)
            return NULL;
        x->t = t;
        x->capt = cap;
    }
    struct tally *t = &x->t[x->nt++];
    memset(t, 0, sizeof *t);
    t->service = service;
    memcpy(t->day, day, sizeof day);
    return t;
}

/* find_dup - existing reference for (service, target, key); 1 found */
static int find_dup(struct spool *s, const struct spool_item *it,
                    const char *target, char ref[SPOOL_REF_MAX],
                    struct errs *e)
{
    /* records retention moved to the archive are still known */
    sqlite3_stmt *st = spool_stmt(s, "SELECT ref FROM records WHERE "
                                  "service = ?1 AND target = ?2 AND "
                                  "idem_key = ?3 UNION ALL SELECT ref FROM "
                                  "records_archive WHERE service = ?1 AND "
                                  "target = ?2 AND idem_key = ?3 AND "
                                  "idem_key IS NOT NULL LIMIT 1", e);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, it->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, target ? target : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, it->idem_key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        snprintf(ref, SPOOL_REF_MAX, "%s",
                 (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
        return 1;
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, it->service, "checking idempotency key");
        return -1;
    }
    return 0;
}

/* store_delivery - one delivery row of the item under ref, with its
 * own delivery identity; the payload and record JSON are stored with
 * each row (a row is what the delivery path reads).  Search entries go
 * with the first row only, so a find names the record once. */
static int store_delivery(struct spool *s, const struct spool_item *it,
                          const char *ref, const char *target, bool first,
                          int64_t at,
                          int64_t now, struct errs *e)
{
    static const char ins[] =
        "INSERT INTO records(ref, service, target, client, fe_ref, idem_key,"
        " received_at, payload_enc, state, updated_at, delivery_id, channel)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)";
    static const char ins_data[] =
        "INSERT INTO record_data(id, payload, record_json, encoded)"
        " VALUES(?,?,?,?)";
    char did[SPOOL_ID_LEN];
    if (spool_id_new(did) != 0) {
        errs_add(e, ref, "cannot make a delivery identity: the random "
                 "generator failed");
        return -1;
    }
    unsigned char *p1 = NULL, *p2 = NULL, *p3 = NULL;
    int rc = -1;
    sqlite3_stmt *st = spool_stmt(s, ins, e);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, it->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, target ? target : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, it->client, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, it->fe_ref, -1, SQLITE_STATIC);
    if (it->idem_key && *it->idem_key)
        sqlite3_bind_text(st, 6, it->idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, at);
    sqlite3_bind_int(st, 8, s->opts.encrypt ? 1 : 0);
    sqlite3_bind_text(st, 9, spool_state_name(it->hold ? SPOOL_HELD
                                              : SPOOL_QUEUED), -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, now);
    sqlite3_bind_text(st, 11, did, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, spool_channel_name(it->channel), -1,
                      SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        spool_dberr(s, e, ref, "storing record");
        goto done;
    }
    int64_t id = sqlite3_last_insert_rowid(s->db);
    sqlite3_stmt *dt = spool_stmt(s, ins_data, e);
    if (!dt)
        goto done;
    sqlite3_bind_int64(dt, 1, id);
    if (spool_bind_sealed(s, dt, 2, ref, "payload", it->payload,
                          it->payload_len, &p1) != 0
        || spool_bind_sealed(s, dt, 3, ref, "record", it->record_json,
                             it->record_json ? strlen(it->record_json) : 0,
                             &p2) != 0
        /* the stored encoding is the first target's (intake_doc_admit) */
        || spool_bind_sealed(s, dt, 4, ref, "encoded",
                             first ? it->encoded : NULL,
                             first ? it->encoded_len : 0, &p3) != 0) {
        sqlite3_reset(dt);
        sqlite3_clear_bindings(dt);
        errs_add(e, ref, "cannot encrypt payload");
        goto done;
    }
    int dr = sqlite3_step(dt);
    sqlite3_reset(dt);
    sqlite3_clear_bindings(dt);
    if (dr != SQLITE_DONE) {
        spool_dberr(s, e, ref, "storing payload");
        goto done;
    }
    if (first && spool_search_add(s, id, it->service, it->search,
                                  it->nsearch, e) != 0)
        goto done;
    rc = 0;
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(p1);
    free(p2);
    free(p3);
    return rc;
}

/* store_one - one item: duplicate answer, or a new reference with one
 * delivery row per target, all in the caller's transaction */
static int store_one(struct spool *s, struct txn *x,
                     const struct spool_item *it, struct spool_result *res,
                     int64_t now, struct errs *e)
{
    int64_t at = it->received_at ? it->received_at : now;
    struct tally *t = tally_get(x, it->service, at);
    if (!t) {
        errs_add(e, it->service, "out of memory");
        return -1;
    }
    const char *one = it->target;
    const char *const *dv = it->ntargets ? (const char *const *)it->targets
                                         : &one;
    size_t nd = it->ntargets ? it->ntargets : 1;
    memset(res, 0, sizeof *res);
    if (it->client_key) {
        int r = spool_key_find(s, it, res, e);
        if (r < 0)
            return -1;
        if (r == 1) {
            if (res->replay) {
                t->duplicates++;
                x->dups++;
            }
            return 0;
        }
    }
    /* the submission is one: seen for any of its targets (a target added
     * to the service since) is seen, and nothing is stored for the rest */
    for (size_t k = 0; it->idem_key && *it->idem_key && k < nd; k++) {
        int r = find_dup(s, it, dv[k], res->ref, e);
        if (r < 0)
            return -1;
        if (r == 1) {
            res->duplicate = true;
            t->duplicates++;
            x->dups++;
            return it->client_key ? spool_key_save(s, it, res, now, e) : 0;
        }
    }
    struct day_seq *d = day_seq_get(s, x, at, e);
    if (!d)
        return -1;
    d->seq++;
    spool_ref_format(res->ref, sizeof res->ref, at, d->seq);
    for (size_t k = 0; k < nd; k++)
        if (store_delivery(s, it, res->ref, dv[k], k == 0, at, now, e) != 0)
            return -1;
    if (it->client_key && spool_key_save(s, it, res, now, e) != 0)
        return -1;
    t->accepted++;
    t->fanout += (int64_t)nd - 1;
    t->channel[(unsigned)it->channel < SPOOL_NCHANNELS ? it->channel
               : SPOOL_CH_UNKNOWN]++;
    return 0;
}

/* commit_reqs - every item of every request in one transaction.  Errors go
 * to e (the leader's scratch list). */
static int commit_reqs(struct spool *s, struct spool_req *list, size_t nreq,
                       struct errs *e, uint64_t *dups)
{
    struct txn x;
    int rc = -1;
    memset(&x, 0, sizeof x);
    int64_t now = clock_wall_ms();
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto done;
    size_t k = 0;
    for (struct spool_req *r = list; r && k < nreq; r = r->next, k++)
        for (size_t i = 0; i < r->n; i++)
            if (store_one(s, &x, &r->items[i], &r->res[i], now, e) != 0)
                goto rollback;
    if (day_seq_save(s, &x, e) != 0)
        goto rollback;
    for (size_t i = 0; i < x.nt; i++) {
        if ((x.t[i].accepted && spool_counter_add(s, x.t[i].service,
                 x.t[i].day, "accepted", x.t[i].accepted, e) != 0)
            || (x.t[i].duplicates && spool_counter_add(s, x.t[i].service,
                 x.t[i].day, "duplicates", x.t[i].duplicates, e) != 0)
            || (x.t[i].fanout && spool_counter_add(s, x.t[i].service,
                 x.t[i].day, SPOOL_COUNTER_FANOUT, x.t[i].fanout, e) != 0))
            goto rollback;
        for (int c = 0; c < SPOOL_NCHANNELS; c++) {
            char name[32];
            if (!x.t[i].channel[c])
                continue;
            snprintf(name, sizeof name, "accepted:%s",
                     spool_channel_name((enum spool_channel)c));
            if (spool_counter_add(s, x.t[i].service, x.t[i].day, name,
                                  x.t[i].channel[c], e) != 0)
                goto rollback;
        }
    }
    crash_point("enqueue-before-commit");
    if (spool_commit(s, e) != 0)
        goto done;
    crash_point("enqueue-after-commit");
    *dups = x.dups;
    rc = 0;
    goto done;
rollback:
    spool_rollback(s);
done:
    spool_unlock(s);
    free(x.t);
    return rc;
}

/* lead - commit the taken list; if a shared commit fails, give each
 * request its own try so one caller's problem is not everyone's. */
static void lead(struct spool *s, struct spool_req *list)
{
    size_t nreq = 0, nitems = 0;
    uint64_t dups = 0, commits = 0;
    for (struct spool_req *r = list; r; r = r->next) {
        nreq++;
        nitems += r->n;
    }
    struct errs ge;
    errs_init(&ge);
    int rc = commit_reqs(s, list, nreq, &ge, &dups);
    commits++;
    if (rc == 0) {
        for (struct spool_req *r = list; r; r = r->next)
            r->rc = 0;
    } else if (nreq == 1) {
        list->rc = -1;
        errs_move(list->e, &ge);
    } else {
        for (struct spool_req *r = list; r; r = r->next) {
            uint64_t d = 0;
            r->rc = commit_reqs(s, r, 1, r->e, &d);
            dups += d;
            commits++;
        }
    }
    errs_free(&ge);
    pthread_mutex_lock(&s->q_mu);
    s->stats.enqueue_commits += commits;
    s->stats.duplicates += dups;
    if (nreq > s->stats.max_group_calls)
        s->stats.max_group_calls = nreq;
    for (struct spool_req *r = list; r; r = r->next)
        r->done = true;
    (void)nitems;
    pthread_mutex_unlock(&s->q_mu);
}

int spool_enqueue(struct spool *s, const struct spool_item *items, size_t n,
                  struct spool_result *results, struct errs *e)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!items[i].service || !*items[i].service) {
            errs_add(e, "", "item %zu has no service", i + 1);
            return -1;
        }
        if (s->opts.read_only) {
            errs_add(e, s->dir, "spool opened read-only");
            return -1;
        }
    }
    struct spool_req me = { .items = items, .n = n, .res = results, .e = e,
                            .rc = -1 };
    pthread_mutex_lock(&s->q_mu);
    s->stats.enqueue_calls++;
    s->stats.enqueue_items += n;
    if (s->q_tail)
        s->q_tail->next = &me;
    else
        s->q_head = &me;
    s->q_tail = &me;
    while (!me.done) {
        if (!s->q_leader) {
            struct spool_req *list = s->q_head;
            s->q_head = s->q_tail = NULL;
            s->q_leader = true;
            pthread_mutex_unlock(&s->q_mu);
            lead(s, list);
            pthread_mutex_lock(&s->q_mu);
            s->q_leader = false;
            pthread_cond_broadcast(&s->q_cv);
        } else {
            pthread_cond_wait(&s->q_cv, &s->q_mu);
        }
    }
    pthread_mutex_unlock(&s->q_mu);
    return me.rc;
}

int spool_count_rejected_at_door(struct spool *s, const char *service,
                                 int64_t n, struct errs *e)
{
    char day[11];
    int rc = -1;
    if (n <= 0)
        return 0;
    spool_day_text(clock_wall_ms(), day);
    spool_lock(s);
    if (spool_begin(s, e) == 0)
        rc = spool_counter_add(s, service ? service : "", day,
                               "rejected_at_door", n, e);
    return spool_end(s, rc, e);
}
