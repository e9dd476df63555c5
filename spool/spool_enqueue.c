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
#include "spool/sql.h"
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
    struct sql_stmt *st = spool_sql(s, "SELECT value FROM sequences "
                                    "WHERE name = ?", e);
    if (!st)
        return NULL;
    enum sql_step r = sql_bind_text(st, 1, key) == 0 ? sql_step(st)
                                                     : SQL_STEP_ERROR;
    d->seq = r == SQL_STEP_ROW ? sql_col_int64(st, 0) : 0;
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        spool_sqlerr(s, e, NULL, "reading reference sequence");
        return NULL;
    }
    d->loaded = true;
    x->ndays++;
    return d;
}

static int day_seq_save(struct spool *s, struct txn *x, struct errs *e)
{
    for (size_t i = 0; i < x->ndays; i++) {
        char key[16];
        snprintf(key, sizeof key, "ref:%s", x->days[i].day);
        struct sql_stmt *st = spool_sql(s,
            "INSERT INTO sequences(name, value) VALUES(?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value", e);
        if (!st)
            return -1;
        enum sql_step r = SQL_STEP_ERROR;
        if (sql_bind_text(st, 1, key) == 0
            && sql_bind_int64(st, 2, x->days[i].seq) == 0)
            r = sql_step(st);
        sql_reset(st);
        if (r != SQL_STEP_DONE) {
            spool_sqlerr(s, e, NULL, "saving reference sequence");
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

/* tally_save - the transaction's counters, one row per service, day and
 * name */
static int tally_save(struct spool *s, const struct txn *x, struct errs *e)
{
    for (size_t i = 0; i < x->nt; i++) {
        const struct tally *t = &x->t[i];
        if ((t->accepted && spool_counter_add(s, t->service, t->day,
                 "accepted", t->accepted, e) != 0)
            || (t->duplicates && spool_counter_add(s, t->service, t->day,
                 "duplicates", t->duplicates, e) != 0)
            || (t->fanout && spool_counter_add(s, t->service, t->day,
                 SPOOL_COUNTER_FANOUT, t->fanout, e) != 0))
            return -1;
        for (int c = 0; c < SPOOL_NCHANNELS; c++) {
            char name[32];
            if (!t->channel[c])
                continue;
            snprintf(name, sizeof name, "accepted:%s",
                     spool_channel_name((enum spool_channel)c));
            if (spool_counter_add(s, t->service, t->day, name,
                                  t->channel[c], e) != 0)
                return -1;
        }
    }
    return 0;
}

/* find_dup - existing reference for (service, target, key); 1 found */
static int find_dup(struct spool *s, const struct spool_item *it,
                    const char *target, char ref[SPOOL_REF_MAX],
                    struct errs *e)
{
    /* records retention moved to the archive are still known */
    struct sql_stmt *st = spool_sql(s, "SELECT ref FROM records WHERE "
                                    "service = ?1 AND target = ?2 AND "
                                    "idem_key = ?3 UNION ALL SELECT ref FROM "
                                    "records_archive WHERE service = ?1 AND "
                                    "target = ?2 AND idem_key = ?3 AND "
                                    "idem_key IS NOT NULL LIMIT 1", e);
    if (!st)
        return -1;
    enum sql_step r = SQL_STEP_ERROR;
    if (sql_bind_text(st, 1, it->service) == 0
        && sql_bind_text(st, 2, target ? target : "") == 0
        && sql_bind_text(st, 3, it->idem_key) == 0)
        r = sql_step(st);
    if (r == SQL_STEP_ROW) {
        const char *was = sql_col_text(st, 0);
        snprintf(ref, SPOOL_REF_MAX, "%s", was ? was : "");
        sql_reset(st);
        return 1;
    }
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, it->service, "checking idempotency key");
        return -1;
    }
    return 0;
}

/* bind_record - a records row's 12 values from parameter p on (the
 * columns of ins in store_delivery); values borrowed from it and did */
static int bind_record(const struct spool *s, struct sql_stmt *st, int p,
                       const struct spool_item *it, const char *ref,
                       const char *target, int64_t at, int64_t now,
                       const char *did)
{
    return sql_bind_text(st, p, ref) != 0
        || sql_bind_text(st, p + 1, it->service) != 0
        || sql_bind_text(st, p + 2, target ? target : "") != 0
        || sql_bind_text(st, p + 3, it->client) != 0
        || sql_bind_text(st, p + 4, it->fe_ref) != 0
        || sql_bind_text(st, p + 5, it->idem_key && *it->idem_key
                                    ? it->idem_key : NULL) != 0
        || sql_bind_int64(st, p + 6, at) != 0
        || sql_bind_int64(st, p + 7, s->opts.encrypt ? 1 : 0) != 0
        || sql_bind_text(st, p + 8, spool_state_name(it->hold ? SPOOL_HELD
                                                     : SPOOL_QUEUED)) != 0
        || sql_bind_int64(st, p + 9, now) != 0
        || sql_bind_text(st, p + 10, did) != 0
        || sql_bind_text(st, p + 11, spool_channel_name(it->channel)) != 0
        ? -1 : 0;
}

/* bind_data - payload, record JSON and (first delivery only) encoding
 * from parameter p on, sealed when the spool encrypts: *p1..*p3 hold the
 * sealed bytes until the statement has run (caller frees) */
static int bind_data(struct spool *s, struct sql_stmt *st, int p,
                     const struct spool_item *it, const char *ref,
                     bool first, unsigned char **p1, unsigned char **p2,
                     unsigned char **p3)
{
    return spool_bind_sealed(s, st, p, ref, "payload", it->payload,
                             it->payload_len, p1) != 0
        || spool_bind_sealed(s, st, p + 1, ref, "record", it->record_json,
                             it->record_json ? strlen(it->record_json) : 0,
                             p2) != 0
        /* the stored encoding is the first target's (intake_doc_admit) */
        || spool_bind_sealed(s, st, p + 2, ref, "encoded",
                             first ? it->encoded : NULL,
                             first ? it->encoded_len : 0, p3) != 0 ? -1 : 0;
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
    /* SQLite gives the new id without RETURNING, which would make the
     * INSERT a multi-write statement with a statement journal of its own
     * (measured: batched intake 0.55x); PostgreSQL says RETURNING */
    static const char ins[] =
        "INSERT INTO records(ref, service, target, client, fe_ref, idem_key,"
        " received_at, payload_enc, state, updated_at, delivery_id, channel)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)";
    static const char ins_pg[] =
        "INSERT INTO records(ref, service, target, client, fe_ref, idem_key,"
        " received_at, payload_enc, state, updated_at, delivery_id, channel)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id";
    bool lite = sql_backend(s->sql) == SQL_SQLITE;
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
    struct sql_stmt *st = spool_sql(s, lite ? ins : ins_pg, e);
    if (!st)
        return -1;
    enum sql_step r = SQL_STEP_ERROR;
    if (bind_record(s, st, 1, it, ref, target, at, now, did) == 0)
        r = sql_step(st);
    int64_t id = r == SQL_STEP_ROW ? sql_col_int64(st, 0) : 0;
    sql_reset(st);
    if (lite && r == SQL_STEP_DONE) {
        st = spool_sql(s, "SELECT last_insert_rowid()", e);
        r = st ? sql_step(st) : SQL_STEP_ERROR;
        id = r == SQL_STEP_ROW ? sql_col_int64(st, 0) : 0;
        if (st)
            sql_reset(st);
    }
    if (r != SQL_STEP_ROW) {
        spool_sqlerr(s, e, ref, "storing record");
        goto done;
    }
    struct sql_stmt *dt = spool_sql(s, ins_data, e);
    if (!dt)
        goto done;
    if (sql_bind_int64(dt, 1, id) != 0
        || bind_data(s, dt, 2, it, ref, first, &p1, &p2, &p3) != 0) {
        sql_reset(dt);
        errs_add(e, ref, "cannot encrypt payload");
        goto done;
    }
    enum sql_step dr = sql_step(dt);
    sql_reset(dt);
    if (dr != SQL_STEP_DONE) {
        spool_sqlerr(s, e, ref, "storing payload");
        goto done;
    }
    if (first && spool_search_add(s, id, it->service, it->search,
                                  it->nsearch, e) != 0)
        goto done;
    rc = 0;
done:
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

/* ---- PostgreSQL: a group in a few round trips, whatever its size ------
 * Each statement waited for is a round trip to the server, so the group
 * is read first with a statement per 100 lookups (the clients' keys,
 * the submissions already stored, the day's sequence and the ids the
 * rows will take), decided in memory as store_one would, and then
 * written in ONE pipeline: every delivery row by multi-row INSERTs
 * (sql_insert_rows), the payloads, search entries, keys, sequences,
 * counters and the COMMIT, all sent before one wait.  A group that
 * repeats a submission or a client's key within itself goes the
 * one-by-one way (store_one), which sees its own earlier rows. */

struct slot {                       /* one item of the group */
    const struct spool_item *it;
    struct spool_result *res;
    int64_t at;
    const char *one;                /* it->target, for dv */
    const char *const *dv;          /* its targets */
    size_t nd;
    bool fresh;                     /* to be stored */
    bool save_key;                  /* its client key to be remembered */
};

struct drow {                       /* one delivery row to write */
    const struct slot *sl;
    const char *target;
    bool first;
    int64_t id;
    char did[SPOOL_ID_LEN];
    unsigned char *p1, *p2, *p3;    /* sealed payloads */
};

struct pgroup {
    struct spool *s;
    struct slot *sl;
    size_t nsl;
    struct drow *dr;
    size_t ndr;
    int64_t now;
};

static int cmp_idem(const void *a, const void *b)
{
    const struct spool_item *x = (*(const struct slot *const *)a)->it,
                            *y = (*(const struct slot *const *)b)->it;
    int c = strcmp(x->service, y->service);
    return c ? c : strcmp(x->idem_key, y->idem_key);
}

static int cmp_ckey(const void *a, const void *b)
{
    const struct spool_item *x = (*(const struct slot *const *)a)->it,
                            *y = (*(const struct slot *const *)b)->it;
    int c = strcmp(x->service, y->service);
    if (!c)
        c = strcmp(x->client ? x->client : "", y->client ? y->client : "");
    return c ? c : strcmp(x->client_key, y->client_key);
}

/* repeats - true when two items of the group are one submission, or
 * carry one client key: sorted, neighbours compared */
static bool repeats(const struct slot **v, size_t n,
                    int (*cmp)(const void *, const void *))
{
    qsort(v, n, sizeof *v, cmp);
    for (size_t i = 1; i < n; i++)
        if (cmp(&v[i - 1], &v[i]) == 0)
            return true;
    return false;
}

static int rec_bind(void *arg, struct sql_stmt *st, int p, size_t i)
{
    const struct pgroup *g = arg;
    const struct drow *d = &g->dr[i];
    return sql_bind_int64(st, p, d->id) != 0
        || bind_record(g->s, st, p + 1, d->sl->it, d->sl->res->ref,
                       d->target, d->sl->at, g->now, d->did) != 0 ? -1 : 0;
}

static int data_bind(void *arg, struct sql_stmt *st, int p, size_t i)
{
    struct pgroup *g = arg;
    struct drow *d = &g->dr[i];
    return sql_bind_int64(st, p, d->id) != 0
        || bind_data(g->s, st, p + 1, d->sl->it, d->sl->res->ref, d->first,
                     &d->p1, &d->p2, &d->p3) != 0 ? -1 : 0;
}

/* pg_ids - n ids for new records rows from the table's own sequence
 * (one statement), so the pipeline needs no RETURNING */
static int pg_ids(struct pgroup *g, struct errs *e)
{
    struct sql_stmt *st = spool_sql(g->s, "SELECT nextval("
                                    "pg_get_serial_sequence('records', "
                                    "'id')) FROM generate_series(1, "
                                    "CAST(?1 AS BIGINT))", e);
    if (!st)
        return -1;
    size_t k = 0;
    enum sql_step r = sql_bind_int64(st, 1, (int64_t)g->ndr) == 0
                      ? SQL_STEP_ROW : SQL_STEP_ERROR;
    while (r == SQL_STEP_ROW && (r = sql_step(st)) == SQL_STEP_ROW
           && k < g->ndr)
        g->dr[k++].id = sql_col_int64(st, 0);
    sql_reset(st);
    if (r != SQL_STEP_DONE || k != g->ndr) {
        spool_sqlerr(g->s, e, NULL, "numbering records");
        return -1;
    }
    return 0;
}

/* pg_decide - the group's answers, as store_one gives them one by one */
static int pg_decide(struct pgroup *g, struct txn *x, struct errs *e)
{
    int rc = -1;
    size_t nk = 0, np = 0, ndv = 0;
    for (size_t i = 0; i < g->nsl; i++) {
        nk += g->sl[i].it->client_key != NULL;
        if (g->sl[i].it->idem_key && *g->sl[i].it->idem_key)
            np += g->sl[i].nd;
    }
    const struct spool_item **kit = calloc(nk + np + 1, sizeof *kit);
    struct spool_result **kres = calloc(nk + 1, sizeof *kres);
    bool *known = calloc(nk + 1, sizeof *known);
    const char **ptg = calloc(np + 1, sizeof *ptg);
    char (*refs)[SPOOL_REF_MAX] = calloc(np + 1, sizeof *refs);
    if (!kit || !kres || !known || !ptg || !refs) {
        errs_add(e, g->s->dir, "out of memory");
        goto done;
    }
    const struct spool_item **pit = kit + nk;
    size_t a = 0, b = 0;
    for (size_t i = 0; i < g->nsl; i++) {
        struct slot *sl = &g->sl[i];
        memset(sl->res, 0, sizeof *sl->res);
        if (sl->it->client_key) {
            kit[a] = sl->it;
            kres[a++] = sl->res;
        }
        for (size_t k = 0; sl->it->idem_key && *sl->it->idem_key
                           && k < sl->nd; k++) {
            pit[b] = sl->it;
            ptg[b++] = sl->dv[k] ? sl->dv[k] : "";
        }
    }
    if (spool_keys_find_many(g->s, kit, kres, known, nk, e) != 0
        || spool_dups_find_many(g->s, pit, ptg, refs, np, e) != 0)
        goto done;
    a = b = 0;
    for (size_t i = 0; i < g->nsl; i++) {
        struct slot *sl = &g->sl[i];
        const struct spool_item *it = sl->it;
        struct spool_result *res = sl->res;
        struct tally *t = tally_get(x, it->service, sl->at);
        if (!t) {
            errs_add(e, it->service, "out of memory");
            goto done;
        }
        bool keyed = it->client_key != NULL, seen = keyed && known[a];
        a += keyed;
        const char *dup = NULL;
        for (size_t k = 0; it->idem_key && *it->idem_key && k < sl->nd;
             k++, b++)
            if (!dup && refs[b][0])
                dup = refs[b];
        if (seen) {
            if (res->replay) {
                t->duplicates++;
                x->dups++;
            }
            continue;
        }
        sl->save_key = keyed;
        if (dup) {
            snprintf(res->ref, sizeof res->ref, "%s", dup);
            res->duplicate = true;
            t->duplicates++;
            x->dups++;
            continue;
        }
        struct day_seq *d = day_seq_get(g->s, x, sl->at, e);
        if (!d)
            goto done;
        d->seq++;
        spool_ref_format(res->ref, sizeof res->ref, sl->at, d->seq);
        sl->fresh = true;
        ndv += sl->nd;
        t->accepted++;
        t->fanout += (int64_t)sl->nd - 1;
        t->channel[(unsigned)it->channel < SPOOL_NCHANNELS ? it->channel
                   : SPOOL_CH_UNKNOWN]++;
    }
    g->dr = calloc(ndv + 1, sizeof *g->dr);
    if (!g->dr) {
        errs_add(e, g->s->dir, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < g->nsl; i++)
        for (size_t k = 0; g->sl[i].fresh && k < g->sl[i].nd; k++) {
            struct drow *d = &g->dr[g->ndr++];
            d->sl = &g->sl[i];
            d->target = g->sl[i].dv[k];
            d->first = k == 0;
            if (spool_id_new(d->did) != 0) {
                errs_add(e, g->sl[i].res->ref, "cannot make a delivery "
                         "identity: the random generator failed");
                goto done;
            }
        }
    rc = g->ndr ? pg_ids(g, e) : 0;
done:
    free(kit);
    free(kres);
    free(known);
    free(ptg);
    free(refs);
    return rc;
}

/* pg_write - every row of the decided group and the COMMIT, in one
 * pipeline (one round trip) */
static int pg_write(struct pgroup *g, struct txn *x, struct errs *e)
{
    struct spool *s = g->s;
    size_t nk = 0;
    int rc = -1;
    for (size_t i = 0; i < g->nsl; i++)
        nk += g->sl[i].save_key;
    const struct spool_item **kit = calloc(nk + 1, sizeof *kit);
    const struct spool_result **kres = calloc(nk + 1, sizeof *kres);
    unsigned char *dig = NULL;
    if (!kit || !kres) {
        errs_add(e, s->dir, "out of memory");
        goto done;
    }
    for (size_t i = 0, a = 0; i < g->nsl; i++)
        if (g->sl[i].save_key) {
            kit[a] = g->sl[i].it;
            kres[a++] = g->sl[i].res;
        }
    if (sql_pipeline_begin(s->sql) != 0) {
        spool_sqlerr(s, e, NULL, "starting the group");
        goto done;
    }
    int w = 0;
    if (sql_insert_rows(s->sql, "INSERT INTO records(id, ref, service, "
                        "target, client, fe_ref, idem_key, received_at, "
                        "payload_enc, state, updated_at, delivery_id, "
                        "channel) OVERRIDING SYSTEM VALUE", 13, g->ndr,
                        rec_bind, g) != 0
        || sql_insert_rows(s->sql, "INSERT INTO record_data(id, payload, "
                           "record_json, encoded)", 4, g->ndr, data_bind,
                           g) != 0) {
        spool_sqlerr(s, e, NULL, "storing records");
        w = -1;
    }
    for (size_t i = 0; w == 0 && i < g->ndr; i++)
        if (g->dr[i].first
            && spool_search_add(s, g->dr[i].id, g->dr[i].sl->it->service,
                                g->dr[i].sl->it->search,
                                g->dr[i].sl->it->nsearch, e) != 0)
            w = -1;
    if (w == 0
        && (spool_keys_save_many(s, kit, kres, nk, g->now, &dig, e) != 0
            || day_seq_save(s, x, e) != 0 || tally_save(s, x, e) != 0))
        w = -1;
    if (w == 0)
        crash_point("enqueue-before-commit");
    if (w == 0 && spool_commit(s, e) != 0)
        w = -1;
    if (sql_pipeline_end(s->sql) != 0) {
        if (w == 0)
            spool_sqlerr(s, e, NULL, "committing the group");
        w = -1;
    }
    if (w != 0) {
        spool_rollback(s);
        goto done;
    }
    crash_point("enqueue-after-commit");
    rc = 0;
done:
    free(kit);
    free(kres);
    free(dig);
    return rc;
}

/* commit_pg - the group as above: 0, -1 with e, or 1 when it repeats
 * itself and must go one by one (nothing done yet) */
static int commit_pg(struct spool *s, struct spool_req *list, size_t nreq,
                     int64_t now, struct errs *e, uint64_t *dups)
{
    struct pgroup g = { .s = s, .now = now };
    struct txn x;
    int rc = -1;
    size_t n = 0, k = 0;
    memset(&x, 0, sizeof x);
    for (struct spool_req *r = list; r && k < nreq; r = r->next, k++)
        n += r->n;
    g.sl = calloc(n + 1, sizeof *g.sl);
    const struct slot **v = calloc(n + 1, sizeof *v);
    if (!g.sl || !v) {
        free(g.sl);
        free(v);
        errs_add(e, s->dir, "out of memory");
        return -1;
    }
    k = 0;
    for (struct spool_req *r = list; r && k < nreq; r = r->next, k++)
        for (size_t i = 0; i < r->n; i++) {
            struct slot *sl = &g.sl[g.nsl++];
            sl->it = &r->items[i];
            sl->res = &r->res[i];
            sl->at = sl->it->received_at ? sl->it->received_at : now;
            sl->one = sl->it->target;
            sl->dv = sl->it->ntargets ? (const char *const *)sl->it->targets
                                      : &sl->one;
            sl->nd = sl->it->ntargets ? sl->it->ntargets : 1;
        }
    size_t ni = 0, nc = 0;
    for (size_t i = 0; i < n; i++)
        if (g.sl[i].it->idem_key && *g.sl[i].it->idem_key)
            v[ni++] = &g.sl[i];
    bool again = repeats(v, ni, cmp_idem);
    for (size_t i = 0; !again && i < n; i++)
        if (g.sl[i].it->client_key)
            v[nc++] = &g.sl[i];
    again = again || repeats(v, nc, cmp_ckey);
    free(v);
    if (again) {
        free(g.sl);
        return 1;
    }
    spool_lock(s);
    /* BEGIN and the intake lock (see commit_reqs) in one round trip */
    if (sql_pipeline_begin(s->sql) != 0 || spool_begin(s, e) != 0
        || sql_lock_xact(s->sql, "intake") != 0
        || sql_pipeline_end(s->sql) != 0) {
        spool_sqlerr(s, e, NULL, "starting the group");
        spool_rollback(s);
        goto done;
    }
    if (pg_decide(&g, &x, e) != 0) {
        spool_rollback(s);
        goto done;
    }
    if (pg_write(&g, &x, e) != 0)
        goto done;
    *dups = x.dups;
    rc = 0;
done:
    spool_unlock(s);
    for (size_t i = 0; i < g.ndr; i++) {
        free(g.dr[i].p1);
        free(g.dr[i].p2);
        free(g.dr[i].p3);
    }
    free(g.dr);
    free(g.sl);
    free(x.t);
    return rc;
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
    /* PostgreSQL: round trips are what a group costs there */
    if (sql_backend(s->sql) == SQL_POSTGRESQL) {
        int r = commit_pg(s, list, nreq, now, e, dups);
        if (r != 1)
            return r;
    }
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto done;
    /* nodes sharing a PostgreSQL ledger commit their groups one at a
     * time: the day sequences and the duplicate checks below read what
     * the last group wrote (SQLite: BEGIN IMMEDIATE already does this) */
    if (sql_lock_xact(s->sql, "intake") != 0) {
        spool_sqlerr(s, e, NULL, "taking the intake lock");
        goto rollback;
    }
    size_t k = 0;
    for (struct spool_req *r = list; r && k < nreq; r = r->next, k++)
        for (size_t i = 0; i < r->n; i++)
            if (store_one(s, &x, &r->items[i], &r->res[i], now, e) != 0)
                goto rollback;
    if (day_seq_save(s, &x, e) != 0 || tally_save(s, &x, e) != 0)
        goto rollback;
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
