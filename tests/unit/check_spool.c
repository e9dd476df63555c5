/* check_spool.c - the spool ledger: intake, idempotency, references, group
 * commit, transitions, claims and outcomes, batches, acks, operator
 * actions and the audit chain, encryption, purge.  Each test works in its
 * own temporary spool. */
#include <check.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool/spool.h"
#include "tests/unit/spool_test.h"
#include "util/clock.h"
#include "util/errs.h"

static char tmpdir[512];
static char spdir[600];

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_spool.XXXXXX", t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(spdir, sizeof spdir, "%s/spool", tmpdir);
}

static void teardown(void)
{
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct spool *open_sp(const struct spool_opts *o)
{
    struct errs e;
    errs_init(&e);
    struct spool *s = test_spool_open(spdir, o, &e);
    ck_assert_msg(s != NULL, "open: %s", errs_first_msg(&e));
    errs_free(&e);
    return s;
}

#include "tests/unit/spool_undo.h"

/* UNDO_V14 - the schema-14 addition (batch generations) dropped; no '%'
 * in it, so it can stand in a format string */
#define UNDO_V14 \
    "ALTER TABLE batches DROP COLUMN generation;" \
    "DELETE FROM sequences WHERE substr(name, 1, 4) = 'gen:';"

/* UNDO_V13 - the schema-13 additions dropped, records_svc put back:
 * every downgrade below starts with it */
#define UNDO_V13 \
    "DROP VIEW records_archive_full;" \
    "DROP TABLE records_archive;" \
    "DROP TABLE state_totals;" \
    "DROP INDEX records_work;" \
    "DROP INDEX records_final;" \
    "DROP INDEX records_received;" \
    "DROP INDEX audit_at;" \
    "DROP INDEX counters_day;" \
    "DROP TRIGGER counters_total_ins;" \
    "DROP TRIGGER counters_total_upd;" \
    "DROP TRIGGER counters_total_del;" \
    "DROP TABLE counter_totals;" \
    "CREATE INDEX records_svc ON records(service, state);"

static struct spool_item item(const char *svc, const char *target,
                              const char *key, const char *payload)
{
    struct spool_item it = { .service = svc, .target = target,
                             .idem_key = key, .payload = payload,
                             .payload_len = payload ? strlen(payload) : 0,
                             .record_json = "{\"x\":{\"t\":\"string\"}}" };
    return it;
}

static void enq1(struct spool *s, struct spool_item it,
                 struct spool_result *r)
{
    struct errs e;
    errs_init(&e);
    ck_assert_msg(spool_enqueue(s, &it, 1, r, &e) == 0, "enqueue: %s",
                  errs_first_msg(&e));
    errs_free(&e);
}

static enum spool_state state_of(struct spool *s, const char *ref)
{
    struct errs e;
    struct spool_record *r = NULL;
    errs_init(&e);
    ck_assert_int_eq(spool_get(s, ref, 0, &r, &e), 0);
    enum spool_state st = r->state;
    spool_record_free(r);
    errs_free(&e);
    return st;
}

/* count_rows, raw_exec - the ledger looked at or changed from outside
 * the spool, on whichever engine the test runs (spool_test.h) */
static int64_t count_rows(const char *sql)
{
    return test_ledger_count(spdir, sql);
}

static void raw_exec(const char *sql)
{
    test_ledger_exec(spdir, sql);
}

START_TEST(test_open_creates_private_folder_and_schema)
{
    struct spool *s = open_sp(NULL);
    struct stat sb;
    char p[700];
    ck_assert_int_eq(stat(spdir, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0700);
    const char *subs[] = { "outbound", "inbound", "archive", "locks" };
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", spdir, subs[i]);
        ck_assert_int_eq(stat(p, &sb), 0);
        ck_assert_int_eq(sb.st_mode & 0777, 0700);
    }
    snprintf(p, sizeof p, "%s/ledger.db", spdir);
    if (test_spool_pg()) {
        /* the ledger is the database: no ledger.db, the schema there */
        ck_assert_int_ne(stat(p, &sb), 0);
        ck_assert_int_eq(count_rows("SELECT CAST(value AS BIGINT) FROM meta "
                                    "WHERE name = 'schema_version'"),
                         SPOOL_SCHEMA_VERSION);
        ck_assert_int_eq(count_rows("SELECT count(*) FROM meta WHERE name "
                                    "= 'spool_id'"), 1);
        /* the ledger's size is the database's */
        uint64_t lb = 0, fb = 1;
        struct errs e;
        errs_init(&e);
        ck_assert_int_eq(spool_size(s, &lb, &fb, &e), 0);
        ck_assert_uint_gt(lb, 1u << 20);
        ck_assert_uint_eq(fb, 0);
        errs_free(&e);
        spool_close(s);
        s = open_sp(NULL);
        spool_close(s);
        return;
    }
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    snprintf(p, sizeof p, "%s/ledger.db-wal", spdir);
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(count_rows("PRAGMA user_version"), SPOOL_SCHEMA_VERSION);
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM pragma_journal_mode "
                                "WHERE journal_mode = 'wal'"), 1);
    spool_close(s);
    /* reopening an existing ledger migrates nothing and works */
    s = open_sp(NULL);
    spool_close(s);
}
END_TEST

START_TEST(test_open_tightens_loose_existing_folder)
{
    char p[700];
    struct stat sb;
    mode_t old = umask(0);
    ck_assert_int_eq(mkdir(spdir, 0755), 0);
    snprintf(p, sizeof p, "%s/outbound", spdir);
    ck_assert_int_eq(mkdir(p, 0777), 0);
    umask(old);
    ck_assert_int_eq(chmod(p, 0777), 0);
    struct spool *s = open_sp(NULL);
    spool_close(s);
    ck_assert_int_eq(stat(spdir, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0700);
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0700);
    if (test_spool_pg())
        return;     /* no ledger file: the rest is ledger.db's */
    /* a ledger left readable by others is made 0600 again */
    snprintf(p, sizeof p, "%s/ledger.db", spdir);
    ck_assert_int_eq(chmod(p, 0644), 0);
    s = open_sp(NULL);
    spool_close(s);
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
}
END_TEST

/* A PostgreSQL session the server ended (a restart, a failover, a killed
 * backend) is made again by the next transaction: spool_begin reconnects
 * once, between transactions, where nothing is lost.  On SQLite there is
 * no session to lose and the same calls pass. */
START_TEST(test_lost_connection_made_again_by_next_transaction)
{
    struct spool *s = open_sp(NULL);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_audit_add(s, "x", "note", NULL, "a", NULL, &e), 0);
    if (test_spool_pg()) {
        struct sql_stmt *st = sql_prepare(test_spool_sql(s),
                                          "SELECT pg_backend_pid()");
        ck_assert_ptr_nonnull(st);
        ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
        int64_t pid = sql_col_int64(st, 0);
        sql_reset(st);
        struct sql_conn *adm = test_ledger_open(spdir);
        st = sql_prepare(adm, "SELECT pg_terminate_backend("
                         "CAST(?1 AS INTEGER))");
        ck_assert_ptr_nonnull(st);
        sql_bind_int64(st, 1, pid);
        ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
        ck_assert_int_eq(sql_col_int64(st, 0), 1);
        /* gone from the server before the spool speaks again */
        st = sql_prepare(adm, "SELECT count(*) FROM pg_stat_activity "
                         "WHERE pid = CAST(?1 AS INTEGER)");
        int64_t left = 1;
        for (int i = 0; i < 100 && left; i++) {
            sql_bind_int64(st, 1, pid);
            ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
            left = sql_col_int64(st, 0);
            sql_reset(st);
            if (left)
                usleep(50000);
        }
        ck_assert_int_eq(left, 0);
        sql_close(adm);
    }
    ck_assert_msg(spool_audit_add(s, "x", "note", NULL, "b", NULL, &e) == 0,
                  "after the session ended: %s", errs_first_msg(&e));
    struct spool_audit_proof p;
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 0);
    ck_assert_uint_eq(p.checked, 2);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* A read-only spool (the daemon's /v1/mi reader, inspection tools)
 * reads an existing ledger and writes nothing: not an audit entry, and
 * not a ledger where none is (SQLite: no ledger.db made; PostgreSQL: no
 * schema built in an empty database). */
START_TEST(test_read_only_open_reads_and_never_writes)
{
    struct spool_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.read_only = true;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(mkdir(spdir, 0700), 0);
    ck_assert_ptr_null(test_spool_open(spdir, &ro, &e));
    ck_assert_int_gt(e.n, 0);
    errs_clear(&e);
    struct spool *s = open_sp(NULL);
    ck_assert_int_eq(spool_audit_add(s, "x", "note", NULL, "a", NULL, &e), 0);
    spool_close(s);
    s = test_spool_open(spdir, &ro, &e);
    ck_assert_msg(s != NULL, "read-only: %s", errs_first_msg(&e));
    struct spool_audit_proof p;
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 0);
    ck_assert_uint_eq(p.checked, 1);
    ck_assert_int_eq(spool_audit_add(s, "x", "note", NULL, "b", NULL, &e), -1);
    spool_close(s);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit"), 1);
    errs_free(&e);
}
END_TEST

START_TEST(test_open_refuses_folder_owned_by_another_user)
{
    if (geteuid() != 0)
        return;     /* only root can hand a folder to another user */
    ck_assert_int_eq(mkdir(spdir, 0700), 0);
    ck_assert_int_eq(chown(spdir, 65534, 65534), 0);
    struct errs e;
    errs_init(&e);
    struct spool *s = test_spool_open(spdir, NULL, &e);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "owned by uid 65534"));
    errs_free(&e);
}
END_TEST

START_TEST(test_enqueue_get_list)
{
    struct spool *s = open_sp(NULL);
    struct spool_item its[3] = { item("claims", "mf", "k1", "{\"a\":1}"),
                                 item("claims", "mf", "k2", "{\"a\":2}"),
                                 item("other", "soap", NULL, "{\"a\":3}") };
    its[0].client = "web";
    its[0].fe_ref = "FE-1";
    struct spool_result res[3];
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_enqueue(s, its, 3, res, &e), 0);
    for (int i = 0; i < 3; i++)
        ck_assert(!res[i].duplicate);
    ck_assert_str_ne(res[0].ref, res[1].ref);

    struct spool_record *r = NULL;
    ck_assert_int_eq(spool_get(s, res[0].ref, SPOOL_WITH_PAYLOAD, &r, &e), 0);
    ck_assert_str_eq(r->service, "claims");
    ck_assert_str_eq(r->target, "mf");
    ck_assert_str_eq(r->client, "web");
    ck_assert_str_eq(r->fe_ref, "FE-1");
    ck_assert_int_eq(r->state, SPOOL_QUEUED);
    ck_assert_uint_eq(r->payload_len, 7);
    ck_assert(memcmp(r->payload, "{\"a\":1}", 7) == 0);
    ck_assert_str_eq(r->record_json, "{\"x\":{\"t\":\"string\"}}");
    spool_record_free(r);
    ck_assert_int_eq(spool_get(s, "FRY-19990101-000001", 0, &r, &e), 1);
    ck_assert_ptr_null(r);

    struct spool_filter f = { .service = "claims" };
    struct spool_list l;
    ck_assert_int_eq(spool_list(s, &f, 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_str_eq(l.v[0]->ref, res[0].ref);
    ck_assert_str_eq(l.v[1]->ref, res[1].ref);
    ck_assert_ptr_null(l.v[0]->payload);
    spool_list_free(&l);

    f = (struct spool_filter){ .nstates = 1, .states = { SPOOL_QUEUED },
                               .limit = 2 };
    ck_assert_int_eq(spool_list(s, &f, 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 2);
    spool_list_free(&l);

    struct spool_counts c;
    ck_assert_int_eq(spool_counts(s, &c, &e), 0);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_str_eq(c.v[0].service, "claims");
    ck_assert_int_eq(c.v[0].n, 2);
    spool_counts_free(&c);

    int64_t at = 0;
    ck_assert_int_eq(spool_oldest(s, SPOOL_QUEUED, NULL, &at, &e), 0);
    ck_assert(at > 0);
    ck_assert_int_eq(spool_oldest(s, SPOOL_FAILED, NULL, &at, &e), 0);
    ck_assert_int_eq(at, 0);
    uint64_t lb = 0, fb = 0;
    ck_assert_int_eq(spool_size(s, &lb, &fb, &e), 0);
    ck_assert(lb > 0);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* The read side (spool_query/search/timeline/mi/totals) on a ledger
 * seeded by SQL through the statement layer, so the same body checks
 * both engines without the write side.  More records than a page
 * (spool_page_rows: the long reads go in keyset pages on PostgreSQL):
 * every one read once and in order, a limit across pages, a filter kept
 * on every page, the caller's own after_id, the report's read counting
 * each record once. */
#define SEED_N 2600
#define SEED_RECORDS \
    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s" \
    " WHERE i < 2600) INSERT INTO records(ref, service, target, client," \
    " channel, fe_ref, received_at, updated_at, state, attempts," \
    " last_error, lease_owner, lease_until, delivery_id, confirmed_at)" \
    " SELECT 'SEED-' || i, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'Odd' END," \
    " 'mf', 'cli', CASE WHEN i % 3 = 0 THEN 'csv' ELSE 'http' END," \
    " 'FE-' || i, 1000000 + i * 1000, 1000000 + i * 1000," \
    " CASE WHEN i % 100 = 0 THEN 'failed' WHEN i % 100 = 1 THEN" \
    " 'delivering' WHEN i % 10 = 5 THEN 'confirmed' ELSE 'queued' END," \
    " 1, CASE WHEN i % 100 = 0 THEN 'E01: not known' END," \
    " CASE WHEN i % 100 = 1 THEN 'node-b:42:1' END," \
    " CASE WHEN i % 100 = 1 THEN 9000000 ELSE 0 END, 'D-' || i," \
    " CASE WHEN i % 10 = 5 THEN 2000000 + i * 1000 ELSE 0 END FROM s;"
#define SEED_REST \
    "INSERT INTO attempts(record_id, target, started_at, ended_at," \
    " outcome, message) SELECT id, 'mf', 5000000, 5000100, 'retry'," \
    " 'timeout' FROM records WHERE ref = 'SEED-1';" \
    "INSERT INTO attempts(record_id, target, started_at, ended_at," \
    " outcome, message) SELECT id, 'mf', 6000000, 6000100, 'ok', NULL" \
    " FROM records WHERE ref = 'SEED-1';" \
    "INSERT INTO state_totals(service, target, state, n) SELECT service," \
    " target, state, COUNT(*) FROM records WHERE state = 'confirmed'" \
    " GROUP BY service, target, state;" \
    "INSERT INTO counters(service, day, name, value) SELECT service," \
    " '1970-01-01', 'accepted', COUNT(*) FROM records GROUP BY service;" \
    "INSERT INTO counters(service, day, name, value) SELECT service," \
    " '1970-01-01', 'accepted:' || channel, COUNT(*) FROM records" \
    " GROUP BY service, channel;"

struct paged {
    size_t n, claimed;
    int64_t last;
    bool ordered;
};

static int paged_cb(void *ctx, const struct spool_record *r)
{
    struct paged *p = ctx;
    p->ordered = p->ordered && r->id > p->last;
    p->last = r->id;
    p->n++;
    p->claimed += r->lease_owner && strcmp(r->lease_owner, "node-b:42:1") == 0;
    return 0;
}

struct mi_seen {
    size_t n, failed, confirmed, csv, touched;
};

static int seen_mi_cb(void *ctx, const struct spool_mi_row *row)
{
    struct mi_seen *m = ctx;
    m->n += row->ndeliveries == 1;
    m->failed += row->state == SPOOL_FAILED && row->last_error
                 && strcmp(row->last_error, "E01: not known") == 0;
    m->confirmed += row->state == SPOOL_CONFIRMED && row->confirmed_at > 0;
    m->csv += row->channel == SPOOL_CH_CSV;
    m->touched += row->touched;
    return 0;
}

/* seed_values - the reindex's values of a seeded record: its "nino" */
static int seed_values(void *ctx, const char *json, char ***pairs,
                       size_t *n)
{
    size_t *calls = ctx;
    const char *v = strstr(json, "\"nino\":\"");
    (*calls)++;
    *n = 0;
    *pairs = calloc(2, sizeof **pairs);
    if (!*pairs || !v)
        return *pairs ? 0 : -1;
    v += 8;
    (*pairs)[0] = strdup("nino");
    (*pairs)[1] = strndup(v, strcspn(v, "\""));
    *n = 1;
    return 0;
}

static void seed_values_free(char **pairs, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++)
        free(pairs[i]);
    free(pairs);
}

START_TEST(test_reads_of_a_ledger_seeded_by_sql_on_either_engine)
{
    struct spool_opts o;
    memset(&o, 0, sizeof o);
    o.search = true;
    memset(o.search_key, 7, sizeof o.search_key);
    struct spool *s = open_sp(&o);
    struct errs e;
    errs_init(&e);
    raw_exec(SEED_RECORDS SEED_REST);

    /* listings: all, a limit over pages, a filter, after_id */
    struct paged p = { .ordered = true };
    ck_assert_int_eq(spool_foreach(s, NULL, 0, paged_cb, &p, &e), 0);
    ck_assert_uint_eq(p.n, SEED_N);
    ck_assert_uint_eq(p.claimed, 26);
    ck_assert(p.ordered);
    struct spool_filter f = { .limit = 1500 };
    p = (struct paged){ .ordered = true };
    ck_assert_int_eq(spool_foreach(s, &f, 0, paged_cb, &p, &e), 0);
    ck_assert_uint_eq(p.n, 1500);
    ck_assert(p.ordered);
    f = (struct spool_filter){ .service = "even", .nstates = 1,
                               .states = { SPOOL_QUEUED } };
    struct spool_list l;
    ck_assert_int_eq(spool_list(s, &f, 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 1300 - 26);     /* every even one but i % 100 = 0 */
    for (size_t i = 0; i < l.n; i++) {
        ck_assert_str_eq(l.v[i]->service, "even");
        ck_assert_int_eq(l.v[i]->state, SPOOL_QUEUED);
    }
    spool_list_free(&l);
    f = (struct spool_filter){ .limit = 10 };
    ck_assert_int_eq(spool_list(s, &f, 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 10);
    f = (struct spool_filter){ .after_id = l.v[9]->id };
    spool_list_free(&l);
    p = (struct paged){ .ordered = true, .last = f.after_id };
    ck_assert_int_eq(spool_foreach(s, &f, 0, paged_cb, &p, &e), 0);
    ck_assert_uint_eq(p.n, SEED_N - 10);
    ck_assert(p.ordered);
    f = (struct spool_filter){ .since = 1000000 + 2501 * 1000,
                               .until = 1000000 + 2511 * 1000 };
    p = (struct paged){ .ordered = true };
    ck_assert_int_eq(spool_foreach(s, &f, 0, paged_cb, &p, &e), 0);
    ck_assert_uint_eq(p.n, 10);

    /* one record: with its history, by target, its deliveries */
    struct spool_record *r = NULL;
    ck_assert_int_eq(spool_get(s, "SEED-1", SPOOL_WITH_HISTORY, &r, &e), 0);
    ck_assert_str_eq(r->service, "Odd");
    ck_assert_str_eq(r->fe_ref, "FE-1");
    ck_assert_str_eq(r->lease_owner, "node-b:42:1");
    ck_assert_int_eq(r->state, SPOOL_DELIVERING);
    ck_assert_int_eq(r->channel, SPOOL_CH_HTTP);
    ck_assert_uint_eq(r->natt, 2);
    ck_assert_str_eq(r->att[0].outcome, "retry");
    ck_assert_str_eq(r->att[0].message, "timeout");
    ck_assert_ptr_null(r->att[1].message);
    spool_record_free(r);
    ck_assert_int_eq(spool_get_delivery(s, "SEED-1", "mf", 0, &r, &e), 0);
    spool_record_free(r);
    ck_assert_int_eq(spool_get_delivery(s, "SEED-1", "other", 0, &r, &e), 1);
    ck_assert_int_eq(spool_get(s, "SEED-0", 0, &r, &e), 1);
    ck_assert_int_eq(spool_deliveries(s, "SEED-100", 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.v[0]->last_error, "E01: not known");
    spool_list_free(&l);

    /* its timeline: received, two attempts, an audited note */
    ck_assert_int_eq(spool_audit_add(s, "erin", "note", "SEED-1", "phoned",
                                     "target mf; ticket 9", &e), 0);
    struct spool_timeline t;
    ck_assert_int_eq(spool_timeline(s, "SEED-1", &t, &e), 0);
    ck_assert_uint_eq(t.n, 4);
    ck_assert_int_eq(t.v[0].kind, SPOOL_EV_RECEIVED);
    ck_assert_str_eq(t.v[0].channel, "http");
    ck_assert_int_eq(t.v[1].kind, SPOOL_EV_ATTEMPT);
    ck_assert_str_eq(t.v[1].outcome, "retry");
    ck_assert_str_eq(t.v[1].target, "mf");
    ck_assert_int_eq(t.v[2].kind, SPOOL_EV_ATTEMPT);
    ck_assert_int_eq(t.v[3].kind, SPOOL_EV_ACTION);
    ck_assert_str_eq(t.v[3].what, "note");
    ck_assert_str_eq(t.v[3].actor, "erin");
    ck_assert_str_eq(t.v[3].message, "phoned");
    ck_assert_str_eq(t.v[3].target, "mf");
    spool_timeline_free(&t);
    ck_assert_int_eq(spool_timeline(s, "SEED-0", &t, &e), 1);

    /* search: entries set through the spool, found by value and by
     * reference (the ferry one, or the front end's in each service) */
    char *pairs[] = { "nino", "AB123456C" };
    ck_assert_int_eq(spool_search_set(s, "SEED-7", pairs, 1, &e), 0);
    ck_assert_int_eq(spool_search_set(s, "SEED-7", pairs, 1, &e), 0);
    ck_assert_int_eq(spool_find(s, "Odd", "nino", "AB123456C", 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.v[0]->ref, "SEED-7");
    spool_list_free(&l);
    ck_assert_int_eq(spool_find(s, "even", "nino", "AB123456C", 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 0);
    spool_list_free(&l);
    const char *svcs[] = { "even", "Odd" };
    ck_assert_int_eq(spool_find_ref(s, "FE-8", svcs, 2, &l, &e), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.v[0]->ref, "SEED-8");
    spool_list_free(&l);
    ck_assert_int_eq(spool_find_ref(s, "SEED-9", svcs, 2, &l, &e), 0);
    ck_assert_uint_eq(l.n, 1);
    spool_list_free(&l);
    /* the service's name is matched exactly, case and all */
    ck_assert_int_eq(spool_find(s, "odd", "nino", "AB123456C", 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 0);
    spool_list_free(&l);

    /* a reindex reads the service's stored records (over pages) */
    raw_exec(test_spool_pg()
             ? "INSERT INTO record_data(id, record_json) SELECT id,"
               " convert_to('{\"nino\":\"N' || ref || '\"}', 'UTF8')"
               " FROM records"
             : "INSERT INTO record_data(id, record_json) SELECT id,"
               " CAST('{\"nino\":\"N' || ref || '\"}' AS BLOB)"
               " FROM records");
    size_t calls = 0, indexed = 0;
    ck_assert_int_eq(spool_search_reindex(s, "Odd", seed_values,
                                          seed_values_free, &calls, "erin",
                                          &indexed, &e), 0);
    ck_assert_uint_eq(calls, SEED_N / 2);
    ck_assert_uint_eq(indexed, SEED_N / 2);
    ck_assert_int_eq(spool_find(s, "Odd", "nino", "NSEED-2599", 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.v[0]->ref, "SEED-2599");
    spool_list_free(&l);
    ck_assert_int_eq(spool_find(s, "Odd", "nino", "AB123456C", 0, &l, &e), 0);
    ck_assert_uint_eq(l.n, 0);                 /* the reindex replaced it */
    spool_list_free(&l);

    /* counts, oldest, intake counters, channels */
    struct spool_counts c;
    ck_assert_int_eq(spool_counts(s, &c, &e), 0);
    int64_t n_q = 0, n_c = 0, n_f = 0, n_d = 0;
    for (size_t i = 0; i < c.n; i++) {
        n_q += c.v[i].state == SPOOL_QUEUED ? c.v[i].n : 0;
        n_c += c.v[i].state == SPOOL_CONFIRMED ? c.v[i].n : 0;
        n_f += c.v[i].state == SPOOL_FAILED ? c.v[i].n : 0;
        n_d += c.v[i].state == SPOOL_DELIVERING ? c.v[i].n : 0;
    }
    spool_counts_free(&c);
    ck_assert_int_eq(n_c, 260);
    ck_assert_int_eq(n_f, 26);
    ck_assert_int_eq(n_d, 26);
    ck_assert_int_eq(n_q, SEED_N - 260 - 52);
    int64_t at = 0;
    ck_assert_int_eq(spool_oldest(s, SPOOL_FAILED, "even", &at, &e), 0);
    ck_assert_int_eq(at, 1000000 + 100 * 1000);
    ck_assert_int_eq(spool_oldest(s, SPOOL_CONFIRMED, NULL, &at, &e), 0);
    ck_assert_int_eq(at, 1000000 + 5 * 1000);
    struct spool_day_list dl;
    ck_assert_int_eq(spool_day_counts(s, NULL, "1970-01-01", "1970-01-01",
                                      &dl, &e), 0);
    ck_assert_uint_eq(dl.n, 2);
    ck_assert_str_ne(dl.v[0].service, dl.v[1].service);
    ck_assert_int_eq(dl.v[0].accepted, SEED_N / 2);
    ck_assert_int_eq(dl.v[1].accepted, SEED_N / 2);
    spool_day_list_free(&dl);
    ck_assert_int_eq(spool_day_counts(s, "even", NULL, NULL, &dl, &e), 0);
    ck_assert_uint_eq(dl.n, 1);
    ck_assert_int_eq(dl.v[0].accepted, SEED_N / 2);
    spool_day_list_free(&dl);
    ck_assert_int_eq(spool_day_counts(s, NULL, "1970-01-02", NULL, &dl, &e), 0);
    ck_assert_uint_eq(dl.n, 0);
    spool_day_list_free(&dl);
    struct spool_channel_counts cc;
    ck_assert_int_eq(spool_channel_counts(s, &cc, &e), 0);
    int64_t csv = 0, all = 0;
    for (size_t i = 0; i < cc.n; i++) {
        csv += cc.v[i].channel == SPOOL_CH_CSV ? cc.v[i].n : 0;
        all += cc.v[i].n;
    }
    spool_channel_counts_free(&cc);
    ck_assert_int_eq(csv, SEED_N / 3);
    ck_assert_int_eq(all, SEED_N);

    /* conservation and the totals' proof, each in one snapshot */
    int64_t acc = 0, in_states = 0;
    ck_assert_int_eq(spool_conservation(s, &acc, &in_states, &e), 0);
    ck_assert_int_eq(acc, SEED_N);
    ck_assert_int_eq(in_states, SEED_N);
    struct spool_totals_proof tp;
    ck_assert_int_eq(spool_totals_check(s, &tp, &e), 0);
    ck_assert_int_eq(tp.rows, SEED_N);
    ck_assert_int_eq(tp.accepted, SEED_N);
    ck_assert_int_eq(tp.totals_off, 0);

    /* the report's read: every record once, over pages */
    static const char *const acts[] = { "note", NULL };
    struct spool_mi_query q = { .since = 0, .until = INT64_MAX,
                                .actions = acts };
    struct mi_seen m = { 0 };
    ck_assert_int_eq(spool_mi_foreach(s, &q, seen_mi_cb, &m, &e), 0);
    ck_assert_uint_eq(m.n, SEED_N);
    ck_assert_uint_eq(m.failed, 26);
    ck_assert_uint_eq(m.confirmed, 260);
    ck_assert_uint_eq(m.csv, SEED_N / 3);
    ck_assert_uint_eq(m.touched, 1);
    m = (struct mi_seen){ 0 };
    q.service = "even";
    q.since = 1000000 + 1001 * 1000;       /* records 1001 .. 2600 */
    ck_assert_int_eq(spool_mi_foreach(s, &q, seen_mi_cb, &m, &e), 0);
    ck_assert_uint_eq(m.n, 800);
    ck_assert_uint_eq(m.touched, 0);
    ck_assert_msg(e.n == 0, "%s", errs_first_msg(&e));
    errs_free(&e);
    spool_close(s);
}
END_TEST

START_TEST(test_idempotency_same_call_and_across_calls)
{
    struct spool *s = open_sp(NULL);
    struct spool_item its[3] = { item("claims", "mf", "same", "a"),
                                 item("claims", "mf", "same", "b"),
                                 item("claims", "mf", "other", "c") };
    struct spool_result res[3];
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_enqueue(s, its, 3, res, &e), 0);
    ck_assert(!res[0].duplicate);
    ck_assert(res[1].duplicate);
    ck_assert_str_eq(res[0].ref, res[1].ref);
    ck_assert(!res[2].duplicate);

    struct spool_result again;
    enq1(s, item("claims", "mf", "same", "z"), &again);
    ck_assert(again.duplicate);
    ck_assert_str_eq(again.ref, res[0].ref);
    /* the same key for another service is a different submission */
    enq1(s, item("benefit", "mf", "same", "z"), &again);
    ck_assert(!again.duplicate);

    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM records WHERE "
                                "idem_key = 'same'"), 2);
    struct spool_stats st;
    spool_stats_get(s, &st);
    ck_assert_uint_eq(st.duplicates, 2);
    ck_assert_int_eq(spool_count_rejected_at_door(s, "claims", 3, &e), 0);
    struct spool_day_list dl;
    ck_assert_int_eq(spool_day_counts(s, "claims", NULL, NULL, &dl, &e), 0);
    ck_assert_uint_eq(dl.n, 1);
    ck_assert_int_eq(dl.v[0].accepted, 2);
    ck_assert_int_eq(dl.v[0].duplicates, 2);
    ck_assert_int_eq(dl.v[0].rejected_at_door, 3);
    spool_day_list_free(&dl);
    errs_free(&e);
    spool_close(s);
}
END_TEST

struct thr {
    struct spool *s;
    int id;
    int per;
    const char *key;              /* NULL: unique keys */
    struct spool_result last;
    int dups;
    int fails;
};

static void *enq_thread(void *arg)
{
    struct thr *t = arg;
    for (int i = 0; i < t->per; i++) {
        char key[64], payload[64];
        snprintf(key, sizeof key, "t%d-%d", t->id, i);
        snprintf(payload, sizeof payload, "{\"t\":%d,\"i\":%d}", t->id, i);
        struct spool_item it = item("claims", "mf", t->key ? t->key : key,
                                    payload);
        struct errs e;
        errs_init(&e);
        if (spool_enqueue(t->s, &it, 1, &t->last, &e) != 0)
            t->fails++;
        else if (t->last.duplicate)
            t->dups++;
        errs_free(&e);
    }
    return NULL;
}

START_TEST(test_idempotency_concurrent_threads)
{
    struct spool *s = open_sp(NULL);
    enum { N = 16 };
    struct thr t[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        t[i] = (struct thr){ .s = s, .id = i, .per = 1, .key = "one-key" };
        pthread_create(&th[i], NULL, enq_thread, &t[i]);
    }
    int dups = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(t[i].fails, 0);
        dups += t[i].dups;
        ck_assert_str_eq(t[i].last.ref, t[0].last.ref);
    }
    ck_assert_int_eq(dups, N - 1);
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM records"), 1);
    spool_close(s);
}
END_TEST

/* two nodes (two connections to one ledger) taking intake at once: one
 * submission is stored once whichever node gets it, a client's key has
 * one answer, and the day's references never collide */
START_TEST(test_idempotency_two_nodes_at_once)
{
    struct spool *n1 = open_sp(NULL), *n2 = open_sp(NULL);
    enum { N = 8, PER = 20 };
    struct thr t[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        t[i] = (struct thr){ .s = i % 2 ? n2 : n1, .id = i, .per = 1,
                             .key = "one-key" };
        pthread_create(&th[i], NULL, enq_thread, &t[i]);
    }
    int dups = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(t[i].fails, 0);
        dups += t[i].dups;
        ck_assert_str_eq(t[i].last.ref, t[0].last.ref);
    }
    ck_assert_int_eq(dups, N - 1);
    for (int i = 0; i < N; i++) {
        t[i] = (struct thr){ .s = i % 2 ? n2 : n1, .id = i, .per = PER };
        pthread_create(&th[i], NULL, enq_thread, &t[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(t[i].fails, 0);
        ck_assert_int_eq(t[i].dups, 0);
    }
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM records"),
                     1 + N * PER);
    ck_assert_int_eq(count_rows("SELECT COUNT(DISTINCT ref) FROM records"),
                     1 + N * PER);
    /* a client's Idempotency-Key sent to both nodes: one answer */
    struct spool_item it = item("claims", "mf", "keyed", "{\"k\":1}");
    it.client = "portal";
    it.client_key = "ck-1";
    struct spool_result r1, r2;
    enq1(n1, it, &r1);
    enq1(n2, it, &r2);
    ck_assert(!r1.replay);
    ck_assert(r2.replay);
    ck_assert_str_eq(r1.ref, r2.ref);
    spool_close(n2);
    spool_close(n1);
}
END_TEST

START_TEST(test_group_commit_coalesces)
{
    struct spool *s = open_sp(NULL);
    enum { N = 32, PER = 20 };
    struct thr t[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        t[i] = (struct thr){ .s = s, .id = i, .per = PER };
        pthread_create(&th[i], NULL, enq_thread, &t[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(t[i].fails, 0);
        ck_assert_int_eq(t[i].dups, 0);
    }
    struct spool_stats st;
    spool_stats_get(s, &st);
    ck_assert_uint_eq(st.enqueue_calls, N * PER);
    ck_assert_uint_eq(st.enqueue_items, N * PER);
    ck_assert_msg(st.enqueue_commits < st.enqueue_calls / 2,
                  "%llu commits for %llu calls: not coalesced",
                  (unsigned long long)st.enqueue_commits,
                  (unsigned long long)st.enqueue_calls);
    ck_assert(st.max_group_calls > 1);
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM records"), N * PER);
    ck_assert_int_eq(count_rows("SELECT COUNT(DISTINCT ref) FROM records"),
                     N * PER);
    spool_close(s);
}
END_TEST

START_TEST(test_references_sort_as_text)
{
    int64_t seqs[] = { 1, 9, 10, 999999, 1000000, 1000001, 9999999,
                       10000000, 123456789 };
    char prev[SPOOL_REF_MAX] = "", cur[SPOOL_REF_MAX];
    int64_t day = 1795737600000LL;             /* 2026-11-27 00:00 UTC */
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        spool_ref_format(cur, sizeof cur, day, seqs[i]);
        ck_assert_msg(strcmp(prev, cur) < 0, "%s !< %s", prev, cur);
        memcpy(prev, cur, sizeof cur);
    }
    spool_ref_format(cur, sizeof cur, day + 3600000, 123);
    ck_assert_str_eq(cur, "FRY-20261127-000123");
    spool_ref_format(cur, sizeof cur, day, 1234567);
    ck_assert_str_eq(cur, "FRY-20261127-A1234567");

    struct spool *s = open_sp(NULL);
    struct spool_item its[50];
    struct spool_result res[50];
    for (int i = 0; i < 50; i++)
        its[i] = item("claims", "mf", NULL, "x");
    its[49].received_at = 1577836800000LL;     /* 2020-01-01: another day */
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_enqueue(s, its, 49, res, &e), 0);
    for (int i = 1; i < 49; i++)
        ck_assert(strcmp(res[i - 1].ref, res[i].ref) < 0);
    ck_assert_int_eq(spool_enqueue(s, &its[49], 1, &res[49], &e), 0);
    ck_assert_str_eq(res[49].ref, "FRY-20200101-000001");
    errs_free(&e);
    spool_close(s);
}
END_TEST

START_TEST(test_transition_table)
{
    ck_assert(spool_transition_ok(SPOOL_QUEUED, SPOOL_DELIVERING));
    ck_assert(spool_transition_ok(SPOOL_QUEUED, SPOOL_BATCHED));
    ck_assert(spool_transition_ok(SPOOL_BATCHED, SPOOL_SENT));
    ck_assert(spool_transition_ok(SPOOL_SENT, SPOOL_REJECTED));
    ck_assert(spool_transition_ok(SPOOL_FAILED, SPOOL_QUEUED));
    ck_assert(!spool_transition_ok(SPOOL_CONFIRMED, SPOOL_QUEUED));
    ck_assert(!spool_transition_ok(SPOOL_DISCARDED, SPOOL_QUEUED));
    ck_assert(spool_transition_ok(SPOOL_SENT, SPOOL_QUEUED));   /* operator retry */
    ck_assert(!spool_transition_ok(SPOOL_SENT, SPOOL_DELIVERING));
    ck_assert(!spool_transition_ok(SPOOL_BATCHED, SPOOL_QUEUED));
    ck_assert(!spool_transition_ok(SPOOL_QUEUED, SPOOL_CONFIRMED));
    ck_assert(!spool_transition_ok(SPOOL_HELD, SPOOL_DELIVERING));
    for (int i = 0; i < SPOOL_NSTATES; i++) {
        enum spool_state st;
        ck_assert_int_eq(spool_state_parse(spool_state_name(i), &st), 0);
        ck_assert_int_eq(st, i);
        ck_assert(!spool_transition_ok(SPOOL_CONFIRMED, i));
        ck_assert(!spool_transition_ok(SPOOL_DISCARDED, i));
    }
    ck_assert_str_eq(spool_state_name(SPOOL_INDOUBT), "indoubt");
    enum spool_state st;
    ck_assert_int_eq(spool_state_parse("nonsense", &st), -1);

    struct spool *s = open_sp(NULL);
    struct spool_result r;
    enq1(s, item("claims", "mf", NULL, "x"), &r);
    struct errs e;
    errs_init(&e);
    /* release of a record that is not held is refused, clearly */
    ck_assert_int_eq(spool_release(s, r.ref, NULL, "alice", "why", &e), -1);
    ck_assert_str_eq(e.v[0].where, r.ref);
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "cannot release a queued"));
    errs_clear(&e);
    ck_assert_int_eq(spool_discard(s, r.ref, NULL, "alice", NULL, &e), -1);
    errs_clear(&e);
    ck_assert_int_eq(spool_hold(s, r.ref, NULL, "alice", "check id", &e), 0);
    ck_assert_int_eq(state_of(s, r.ref), SPOOL_HELD);
    ck_assert_int_eq(spool_retry(s, r.ref, NULL, "alice", NULL, &e), -1);
    errs_clear(&e);
    ck_assert_int_eq(spool_release(s, r.ref, NULL, "alice", "ok", &e), 0);
    ck_assert_int_eq(spool_discard(s, r.ref, NULL, "bob", "duplicate claim", &e),
                     0);
    ck_assert_int_eq(spool_retry(s, r.ref, NULL, "bob", NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "discarded"));
    errs_clear(&e);
    struct spool_record *rec = NULL;
    ck_assert_int_eq(spool_get(s, r.ref, SPOOL_WITH_HISTORY, &rec, &e), 0);
    ck_assert_int_eq(rec->state, SPOOL_DISCARDED);
    ck_assert_str_eq(rec->closed_reason, "duplicate claim");
    ck_assert_uint_eq(rec->naud, 3);
    ck_assert_str_eq(rec->aud[0].action, "hold");
    ck_assert_str_eq(rec->aud[0].before, "queued");
    ck_assert_str_eq(rec->aud[0].after, "held");
    ck_assert_str_eq(rec->aud[2].actor, "bob");
    ck_assert_str_eq(rec->aud[2].reason, "duplicate claim");
    spool_record_free(rec);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* The lease clock in the claim tests.  On SQLite the caller's clock
 * measures leases, so a test moves time by passing a later now_ms; on
 * PostgreSQL the database's clock does (whatever now_ms says), so the
 * test waits for real.  lease_start marks the test's time 0;
 * lease_at(t0, ms) is "ms after it": t0 + ms on SQLite, and on
 * PostgreSQL t0 once ms have passed (t0, far in the future, keeps every
 * record due by the caller's clock). */
static int64_t lease_mark;

static void lease_start(void)
{
    lease_mark = clock_mono_ms();
}

static int64_t lease_at(int64_t t0, int64_t ms)
{
    if (!test_spool_pg())
        return t0 + ms;
    int64_t left;
    while ((left = lease_mark + ms - clock_mono_ms()) > 0) {
        struct timespec ts = { left / 1000, (long)(left % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    return t0;
}

/* seed_queued - n queued deliveries of service "claims" to target, refs
 * FRY-SEED-000000 on, as intake leaves them (payload, record JSON, a
 * delivery identity), written in one transaction through a connection
 * of the test's own to the open spool's ledger: the claim tests that
 * must run on PostgreSQL need no other spool file on the layer */
static void seed_queued(const char *target, int n)
{
    struct sql_conn *c = test_ledger_open(spdir);
    ck_assert_int_eq(sql_begin(c), 0);
    int64_t now = clock_wall_ms();
    for (int i = 0; i < n; i++) {
        char ref[32], did[48];
        snprintf(ref, sizeof ref, "FRY-SEED-%06d", i);
        snprintf(did, sizeof did, "seed-%s-%06d", target, i);
        struct sql_stmt *st = sql_prepare(c, "INSERT INTO records(ref, "
            "service, target, received_at, state, updated_at, delivery_id, "
            "channel) VALUES(?1, 'claims', ?2, ?3, 'queued', ?3, ?4, 'cli') "
            "RETURNING id");
        ck_assert_msg(st != NULL, "%s", sql_errmsg(c));
        sql_bind_text(st, 1, ref);
        sql_bind_text(st, 2, target);
        sql_bind_int64(st, 3, now);
        sql_bind_text(st, 4, did);
        ck_assert_msg(sql_step(st) == SQL_STEP_ROW, "%s", sql_errmsg(c));
        int64_t id = sql_col_int64(st, 0);
        sql_reset(st);
        st = sql_prepare(c, "INSERT INTO record_data(id, payload, "
                         "record_json) VALUES(?1, ?2, ?3)");
        ck_assert_msg(st != NULL, "%s", sql_errmsg(c));
        static const char json[] = "{\"x\":{\"t\":\"string\"}}";
        sql_bind_int64(st, 1, id);
        sql_bind_blob(st, 2, "x", 1);
        sql_bind_blob(st, 3, json, sizeof json - 1);
        ck_assert_msg(sql_step(st) == SQL_STEP_DONE, "%s", sql_errmsg(c));
        sql_reset(st);
    }
    ck_assert_msg(sql_commit(c) == 0, "%s", sql_errmsg(c));
    sql_close(c);
}

START_TEST(test_claim_lease_expiry)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r[4];
    for (int i = 0; i < 3; i++)
        enq1(s, item("claims", "soap", NULL, "x"), &r[i]);
    enq1(s, item("claims", "mf", NULL, "x"), &r[3]);
    struct errs e;
    errs_init(&e);
    int64_t t0 = 4102444800000LL;              /* far future: all due */
    struct spool_list a, b, c;
    lease_start();
    ck_assert_int_eq(spool_claim(s, "soap", "A", 1000, 2, false, t0, &a, &e),
                     0);
    ck_assert_uint_eq(a.n, 2);
    ck_assert_str_eq(a.v[0]->ref, r[0].ref);
    ck_assert_int_eq(a.v[0]->attempts, 1);
    ck_assert_int_eq(a.v[0]->state, SPOOL_DELIVERING);
    ck_assert_ptr_nonnull(a.v[0]->payload);
    ck_assert_int_eq(spool_claim(s, "soap", "B", 1000, 10, false, t0, &b, &e),
                     0);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_str_eq(b.v[0]->ref, r[2].ref);
    spool_list_free(&b);
    /* lease still running: nothing more */
    ck_assert_int_eq(spool_claim(s, "soap", "B", 1000, 10, true,
                                 lease_at(t0, 500), &b, &e), 0);
    ck_assert_uint_eq(b.n, 0);
    spool_list_free(&b);
    /* lease over, target allows a second call: claimed again in doubt */
    int64_t t2 = lease_at(t0, 2000);
    ck_assert_int_eq(spool_claim(s, "soap", "B", 1000, 1, true, t2, &b, &e),
                     0);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_str_eq(b.v[0]->ref, r[0].ref);
    ck_assert(b.v[0]->in_doubt);
    ck_assert_int_eq(b.v[0]->attempts, 2);
    /* ... target does not allow it: parked in doubt */
    ck_assert_int_eq(spool_claim(s, "soap", "C", 1000, 5, false, t2, &c, &e),
                     0);
    ck_assert_uint_eq(c.n, 0);
    spool_list_free(&c);
    ck_assert_int_eq(state_of(s, r[1].ref), SPOOL_INDOUBT);
    /* A's outcome comes too late: refused, named */
    struct spool_outcome o = { .ref = r[0].ref, .kind = SPOOL_OUT_OK };
    ck_assert_int_eq(spool_outcomes(s, "A", &o, 1, &e), 0);
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, r[0].ref);
    errs_clear(&e);
    o.receipt = "RCPT-1";
    ck_assert_int_eq(spool_outcomes(s, "B", &o, 1, &e), 0);
    ck_assert_uint_eq(e.n, 0);
    struct spool_record *rec = NULL;
    ck_assert_int_eq(spool_get(s, r[0].ref, SPOOL_WITH_HISTORY, &rec, &e), 0);
    ck_assert_int_eq(rec->state, SPOOL_DELIVERED);
    ck_assert_str_eq(rec->receipt, "RCPT-1");
    ck_assert_uint_eq(rec->natt, 2);
    ck_assert_str_eq(rec->att[0].outcome, "expired");
    ck_assert_str_eq(rec->att[1].outcome, "ok");
    spool_record_free(rec);
    spool_list_free(&a);
    spool_list_free(&b);
    /* the in-doubt one is claimed only when allowed */
    int64_t t3 = lease_at(t0, 3000);
    ck_assert_int_eq(spool_claim(s, "soap", "D", 1000, 5, false, t3, &c, &e),
                     0);
    ck_assert_uint_eq(c.n, 0);
    spool_list_free(&c);
    ck_assert_int_eq(spool_claim(s, "soap", "D", 1000, 5, true, t3, &c, &e),
                     0);
    /* r[1] in doubt, r[2] whose lease (B's) ran out meanwhile */
    ck_assert_uint_eq(c.n, 2);
    ck_assert_str_eq(c.v[0]->ref, r[1].ref);
    ck_assert_str_eq(c.v[1]->ref, r[2].ref);
    ck_assert(c.v[1]->in_doubt);
    spool_list_free(&c);
    size_t rel = 0;
    ck_assert_int_eq(spool_claims_release(s, "D", &rel, &e), 0);
    ck_assert_uint_eq(rel, 2);
    ck_assert_int_eq(state_of(s, r[1].ref), SPOOL_INDOUBT);
    errs_free(&e);
    spool_close(s);
}
END_TEST

START_TEST(test_outcomes_move_states)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r[5];
    for (int i = 0; i < 5; i++)
        enq1(s, item("claims", "soap", NULL, "x"), &r[i]);
    struct errs e;
    errs_init(&e);
    struct spool_list l;
    int64_t now = 4102444800000LL;
    ck_assert_int_eq(spool_claim(s, "soap", "W", 60000, 10, false, now, &l,
                                 &e), 0);
    ck_assert_uint_eq(l.n, 5);
    struct spool_outcome o[4] = {
        { .ref = r[0].ref, .kind = SPOOL_OUT_OK, .receipt = "R0" },
        { .ref = r[1].ref, .kind = SPOOL_OUT_RETRY, .message = "HTTP 503",
          .next_attempt_at = now + 5000 },
        { .ref = r[2].ref, .kind = SPOOL_OUT_RETRY, .message = "timeout",
          .exhausted = true },
        { .ref = r[3].ref, .kind = SPOOL_OUT_FAIL,
          .message = "SQLSTATE 23505 duplicate key" },
    };
    ck_assert_int_eq(spool_outcomes(s, "W", o, 4, &e), 0);
    ck_assert_uint_eq(e.n, 0);
    struct spool_outcome od = { .ref = r[4].ref, .kind = SPOOL_OUT_INDOUBT,
                                .message = "timeout after send" };
    ck_assert_int_eq(spool_outcomes(s, "W", &od, 1, &e), 0);
    ck_assert_int_eq(state_of(s, r[0].ref), SPOOL_DELIVERED);
    ck_assert_int_eq(state_of(s, r[1].ref), SPOOL_DEFERRED);
    ck_assert_int_eq(state_of(s, r[2].ref), SPOOL_FAILED);
    ck_assert_int_eq(state_of(s, r[3].ref), SPOOL_FAILED);
    ck_assert_int_eq(state_of(s, r[4].ref), SPOOL_INDOUBT);
    struct spool_record *rec = NULL;
    ck_assert_int_eq(spool_get(s, r[3].ref, SPOOL_WITH_HISTORY, &rec, &e), 0);
    ck_assert_str_eq(rec->last_error, "SQLSTATE 23505 duplicate key");
    ck_assert_uint_eq(rec->natt, 1);
    ck_assert_str_eq(rec->att[0].outcome, "fail");
    spool_record_free(rec);
    ck_assert_int_eq(spool_get(s, r[1].ref, 0, &rec, &e), 0);
    ck_assert_int_eq(rec->next_attempt_at, now + 5000);
    spool_record_free(rec);
    spool_list_free(&l);
    /* deferred: not due before its time, due after */
    ck_assert_int_eq(spool_claim(s, "soap", "W", 1000, 10, false, now + 4000,
                                 &l, &e), 0);
    ck_assert_uint_eq(l.n, 0);
    spool_list_free(&l);
    ck_assert_int_eq(spool_claim(s, "soap", "W", 1000, 10, false, now + 5000,
                                 &l, &e), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_int_eq(l.v[0]->attempts, 2);
    spool_list_free(&l);
    size_t rel = 0;
    ck_assert_int_eq(spool_claims_release(s, "W", &rel, &e), 0);
    ck_assert_uint_eq(rel, 1);
    ck_assert_int_eq(spool_get(s, r[1].ref, 0, &rec, &e), 0);
    ck_assert_int_eq(rec->state, SPOOL_QUEUED);
    ck_assert_int_eq(rec->attempts, 1);
    spool_record_free(rec);
    /* operator retry of a failed record */
    ck_assert_int_eq(spool_retry(s, r[2].ref, NULL, "carol", "service back", &e),
                     0);
    ck_assert_int_eq(state_of(s, r[2].ref), SPOOL_QUEUED);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* chunked claims and outcomes (64 ids per statement): a claim larger than
 * a chunk takes the oldest first, mixed outcomes land on the right rows
 * across chunk edges, a repeated ref in one call is refused the second
 * time, and another owner's outcome is refused. */
START_TEST(test_claims_and_outcomes_across_chunks)
{
    enum { N = 150, C = 140 };
    struct spool *s = open_sp(NULL);
    static struct spool_result r[N];
    for (int i = 0; i < N; i++)
        enq1(s, item("claims", "db", NULL, "x"), &r[i]);
    struct errs e;
    errs_init(&e);
    struct spool_list l;
    int64_t now = 4102444800000LL;
    ck_assert_int_eq(spool_claim(s, "db", "W", 60000, C, false, now, &l, &e),
                     0);
    ck_assert_uint_eq(l.n, C);
    for (int i = 0; i < C; i++)             /* oldest first */
        ck_assert_str_eq(l.v[i]->ref, r[i].ref);
    static struct spool_outcome o[C + 1];
    for (int i = 0; i < C; i++) {
        o[i].ref = r[i].ref;
        o[i].kind = i % 7 == 3 ? SPOOL_OUT_FAIL
                  : i % 11 == 5 ? SPOOL_OUT_RETRY : SPOOL_OUT_OK;
        o[i].message = o[i].kind == SPOOL_OUT_OK ? NULL : "no";
        o[i].next_attempt_at = now + 1000;
    }
    o[C] = o[70];                           /* the same ref again */
    ck_assert_int_eq(spool_outcomes(s, "W", o, C + 1, &e), 0);
    ck_assert_uint_eq(e.n, 1);              /* only the repeat refused */
    ck_assert_str_eq(e.v[0].where, r[70].ref);
    for (int i = 0; i < C; i++) {
        enum spool_state want = o[i].kind == SPOOL_OUT_FAIL ? SPOOL_FAILED
                              : o[i].kind == SPOOL_OUT_RETRY ? SPOOL_DEFERRED
                              : SPOOL_DELIVERED;
        ck_assert_msg(state_of(s, r[i].ref) == want, "record %d", i);
    }
    for (int i = C; i < N; i++)
        ck_assert_int_eq(state_of(s, r[i].ref), SPOOL_QUEUED);
    spool_list_free(&l);
    errs_clear(&e);
    /* another owner cannot record an outcome for W's claim */
    ck_assert_int_eq(spool_claim(s, "db", "W", 60000, 5, false, now, &l, &e),
                     0);
    ck_assert_uint_eq(l.n, 5);
    struct spool_outcome x = { .ref = l.v[0]->ref, .kind = SPOOL_OUT_OK };
    ck_assert_int_eq(spool_outcomes(s, "OTHER", &x, 1, &e), 0);
    ck_assert_uint_eq(e.n, 1);
    ck_assert_int_eq(state_of(s, l.v[0]->ref), SPOOL_DELIVERING);
    spool_list_free(&l);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* A node that dies holding claims (closed without releasing them) leaves
 * them to the others once the lease has run out, by the lease clock: on
 * PostgreSQL the database's, so a node whose own clock runs ten minutes
 * ahead takes nothing early.  What comes back is handled as any expired
 * claim: claimed again in doubt where the target allows it, parked in
 * doubt where it does not, each with an "expired" attempt naming the
 * node that held it; the owner of a claim is in the ledger. */
START_TEST(test_claim_dead_node_lease_returns_on_ledger_clock)
{
    struct spool *a = open_sp(NULL);
    seed_queued("soap", 3);
    struct errs e;
    errs_init(&e);
    int64_t t0 = 4102444800000LL;
    struct spool_list l;
    lease_start();
    ck_assert_int_eq(spool_claim(a, "soap", "hostA:101", 1500, 3, false, t0,
                                 &l, &e), 0);
    ck_assert_uint_eq(l.n, 3);
    spool_list_free(&l);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE state = "
                                "'delivering' AND lease_owner = 'hostA:101'"),
                     3);
    spool_close(a);                          /* dies: nothing released */
    struct spool *b = open_sp(NULL);
    if (test_spool_pg()) {
        /* b's clock ten minutes ahead: the database's says the lease runs */
        ck_assert_int_eq(spool_claim(b, "soap", "hostB:202", 1500, 3, true,
                                     t0 + 600000, &l, &e), 0);
        ck_assert_uint_eq(l.n, 0);
        spool_list_free(&l);
    }
    int64_t t = lease_at(t0, 1600);
    ck_assert_int_eq(spool_claim(b, "soap", "hostB:202", 1500, 1, true, t,
                                 &l, &e), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert(l.v[0]->in_doubt);
    ck_assert_int_eq(l.v[0]->attempts, 2);
    ck_assert_str_eq(l.v[0]->lease_owner, "hostB:202");
    spool_list_free(&l);
    ck_assert_int_eq(spool_claim(b, "soap", "hostC:303", 1500, 5, false, t,
                                 &l, &e), 0);
    ck_assert_uint_eq(l.n, 0);
    spool_list_free(&l);
    ck_assert_uint_eq(e.n, 0);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE state = "
                                "'delivering' AND lease_owner = 'hostB:202'"),
                     1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE state = "
                                "'indoubt' AND in_doubt = 1 AND lease_owner "
                                "IS NULL"), 2);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM attempts WHERE "
                                "outcome = 'expired' AND message = 'lease of "
                                "hostA:101 expired; outcome unknown'"), 3);
    errs_free(&e);
    spool_close(b);
}
END_TEST

/* Two nodes on one ledger (two spool connections, each its own thread)
 * claim and settle one target's records at once: no record is claimed
 * twice, none is left, each is delivered after one attempt. */
enum { RACE_N = 400, RACE_MAX = 25 };

struct racer {
    const char *owner;
    struct spool *s;
    int got[RACE_N];             /* claims of each record by this node */
    int claims;
    char err[256];
};

static void *race_claims(void *arg)
{
    struct racer *r = arg;
    struct errs e;
    errs_init(&e);
    for (int idle = 0; idle < 3 && !r->err[0];) {
        struct spool_list l;
        if (spool_claim(r->s, "soap", r->owner, 60000, RACE_MAX, false, 0,
                        &l, &e) != 0) {
            snprintf(r->err, sizeof r->err, "claim: %s", errs_first_msg(&e));
            break;
        }
        if (l.n == 0) {
            idle++;
            struct timespec ts = { 0, 2000000 };
            nanosleep(&ts, NULL);
            continue;
        }
        idle = 0;
        r->claims++;
        struct spool_outcome o[RACE_MAX];
        for (size_t i = 0; i < l.n; i++) {
            int k = -1;
            if (sscanf(l.v[i]->ref, "FRY-SEED-%d", &k) == 1 && k >= 0
                && k < RACE_N)
                r->got[k]++;
            o[i] = (struct spool_outcome){ .ref = l.v[i]->ref,
                                           .kind = SPOOL_OUT_OK };
        }
        if (spool_outcomes(r->s, r->owner, o, l.n, &e) != 0 || e.n)
            snprintf(r->err, sizeof r->err, "outcomes: %s",
                     errs_first_msg(&e));
        spool_list_free(&l);
    }
    errs_free(&e);
    return NULL;
}

START_TEST(test_claims_two_nodes_concurrently_never_twice)
{
    static struct racer r[2];
    memset(r, 0, sizeof r);
    r[0].owner = "nodeA:101";
    r[1].owner = "nodeB:202";
    r[0].s = open_sp(NULL);
    r[1].s = open_sp(NULL);
    seed_queued("soap", RACE_N);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, race_claims, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_msg(!r[0].err[0], "%s", r[0].err);
    ck_assert_msg(!r[1].err[0], "%s", r[1].err);
    for (int k = 0; k < RACE_N; k++)
        ck_assert_msg(r[0].got[k] + r[1].got[k] == 1,
                      "record %d claimed %d + %d times", k, r[0].got[k],
                      r[1].got[k]);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE state = "
                                "'delivered' AND attempts = 1 AND "
                                "lease_owner IS NULL"), RACE_N);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM attempts WHERE "
                                "outcome = 'ok'"), RACE_N);
    spool_close(r[0].s);
    spool_close(r[1].s);
}
END_TEST

/* A target's breaker and stop state, written by one node, is read by
 * every node on the ledger; a later write replaces it. */
START_TEST(test_target_state_shared_through_the_ledger)
{
    struct spool *a = open_sp(NULL), *b = open_sp(NULL);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_target_state_put(a, "soap", "open", 1000, NULL,
                                            "nodeA:101", &e), 0);
    ck_assert_int_eq(spool_target_state_put(a, "db", "closed", 500,
                                            "login refused", "nodeA:101",
                                            &e), 0);
    struct spool_target_states l;
    ck_assert_int_eq(spool_target_state_list(b, &l, &e), 0);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_str_eq(l.v[0].target, "db");
    ck_assert_str_eq(l.v[0].stopped, "login refused");
    ck_assert_str_eq(l.v[1].target, "soap");
    ck_assert_str_eq(l.v[1].breaker, "open");
    ck_assert_int_eq(l.v[1].since, 1000);
    ck_assert_ptr_null(l.v[1].stopped);
    ck_assert_str_eq(l.v[1].owner, "nodeA:101");
    spool_target_states_free(&l);
    ck_assert_int_eq(spool_target_state_put(b, "soap", "half-open", 2000,
                                            NULL, "nodeB:202", &e), 0);
    ck_assert_int_eq(spool_target_state_list(a, &l, &e), 0);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_str_eq(l.v[1].breaker, "half-open");
    ck_assert_int_eq(l.v[1].since, 2000);
    ck_assert_str_eq(l.v[1].owner, "nodeB:202");
    spool_target_states_free(&l);
    errs_free(&e);
    spool_close(a);
    spool_close(b);
}
END_TEST

/* a version-1 ledger (payload inline in records, full indexes) holding
 * records is migrated in place when a newer ferry opens it: same records,
 * same payloads, schema at SPOOL_SCHEMA_VERSION, integrity intact */
START_TEST(test_v1_ledger_migrates_in_place)
{
    TEST_SQLITE_ONLY();
    struct spool *s = open_sp(NULL);
    struct spool_result r[3];
    for (int i = 0; i < 3; i++)
        enq1(s, item("claims", "mf", NULL, i == 1 ? "{\"b\":1}" : "{\"a\":1}"),
             &r[i]);
    struct errs e0;
    errs_init(&e0);
    ck_assert_int_eq(spool_hold(s, r[0].ref, NULL, "alice", "check", &e0), 0);
    ck_assert_int_eq(spool_release(s, r[0].ref, NULL, "alice", "ok", &e0), 0);
    errs_free(&e0);
    spool_close(s);
    /* turn it back into the version-1 shape, data included */
    raw_exec("BEGIN;" UNDO_V16 UNDO_V15 UNDO_V14 UNDO_V13
             "DROP TABLE record_history;"
             "ALTER TABLE records DROP COLUMN missing_at;"
             "ALTER TABLE records DROP COLUMN receipt_data;"
             "ALTER TABLE records DROP COLUMN marker_gen;"
             "ALTER TABLE records DROP COLUMN ack_file;"
             "ALTER TABLE records DROP COLUMN ack_record;"
             "ALTER TABLE records DROP COLUMN ack_at;"
             "ALTER TABLE audit DROP COLUMN keyed;"
             "DROP VIEW records_full;"
             "DROP TABLE target_state;"
             "DROP INDEX records_delivery_id;"
             "ALTER TABLE records DROP COLUMN delivery_id;"
             "DELETE FROM meta WHERE name = 'spool_id';"
             "ALTER TABLE records ADD COLUMN payload BLOB;"
             "ALTER TABLE records ADD COLUMN original BLOB;"
             "ALTER TABLE records ADD COLUMN record_json BLOB;"
             "UPDATE records SET payload = (SELECT payload FROM record_data d"
             " WHERE d.id = records.id), record_json = (SELECT record_json"
             " FROM record_data d WHERE d.id = records.id);"
             "DROP TABLE record_data;"
             "DROP TABLE search;"
             "DROP INDEX records_due;"
             "CREATE INDEX records_due ON records(target, state, next_attempt_at);"
             "DROP INDEX records_batch;"
             "CREATE INDEX records_batch ON records(batch_id);"
             "ALTER TABLE records DROP COLUMN channel;"
             "ALTER TABLE records DROP COLUMN confirmed_at;"
             "DELETE FROM counters WHERE name LIKE 'accepted:%';"
             "DROP TABLE client_keys;"
             "PRAGMA user_version = 1;"
             "COMMIT;");
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE "
                                "payload IS NOT NULL"), 3);
    s = open_sp(NULL);
    ck_assert_int_eq(count_rows("PRAGMA user_version"), SPOOL_SCHEMA_VERSION);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM record_data"), 3);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM pragma_table_info("
                                "'records') WHERE name = 'payload'"), 0);
    /* audit entries from before the key are marked so, and still verify */
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit WHERE keyed = 0"),
                     2);
    struct errs e;
    errs_init(&e);
    struct spool_audit_proof pr;
    ck_assert_int_eq(spool_audit_verify(s, NULL, &pr, &e), 0);
    ck_assert_uint_eq(pr.unkeyed, 2);
    struct spool_record *rec = NULL;
    ck_assert_int_eq(spool_get(s, r[1].ref, SPOOL_WITH_PAYLOAD, &rec, &e), 0);
    ck_assert_uint_eq(rec->payload_len, 7);
    ck_assert(memcmp(rec->payload, "{\"b\":1}", 7) == 0);
    ck_assert_str_eq(rec->record_json, "{\"x\":{\"t\":\"string\"}}");
    spool_record_free(rec);
    /* and it works as a v3 ledger: the records can be bound to a batch */
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 0, &b, &e), 0);
    ck_assert_int_eq(b->record_count, 3);
    spool_batch_free(b);
    errs_free(&e);
    spool_close(s);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM pragma_integrity_check"
                                " WHERE integrity_check = 'ok'"), 1);
}
END_TEST

/* every record keeps the channel it came in by; becoming confirmed (by a
 * batch acknowledgement or a stream target's confirmation) stamps
 * confirmed_at, and nothing else does */
START_TEST(test_channel_and_confirmed_at_kept)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r[3];
    static const enum spool_channel ch[3] = { SPOOL_CH_HTTP, SPOOL_CH_CSV,
                                              SPOOL_CH_ASSISTED };
    for (int i = 0; i < 3; i++) {
        struct spool_item it = item("claims", "mf", NULL, "x");
        it.channel = ch[i];
        enq1(s, it, &r[i]);
    }
    struct errs e;
    errs_init(&e);
    struct spool_record *rec = NULL;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(spool_get(s, r[i].ref, 0, &rec, &e), 0);
        ck_assert_int_eq(rec->channel, ch[i]);
        ck_assert_int_eq(rec->confirmed_at, 0);
        spool_record_free(rec);
    }
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 2, &b, &e), 0);
    ck_assert_int_eq(spool_batch_written(s, b->id, "F1", 2, NULL, "00", &e),
                     0);
    ck_assert_int_eq(spool_batch_sent(s, b->id, &e), 0);
    struct spool_ack acks[2] = {
        { .key = r[0].ref, .accepted = true },
        { .key = r[1].ref, .accepted = false, .reason = "R07" },
    };
    enum spool_ack_result res[2];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    ck_assert_int_eq(spool_ack_apply(s, "ACK1", "aa", acks, 2, res, NULL,
                                     NULL, NULL, &e), 0);
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t after = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    ck_assert_int_eq(spool_get(s, r[0].ref, 0, &rec, &e), 0);
    ck_assert_int_eq(rec->state, SPOOL_CONFIRMED);
    ck_assert_int_ge(rec->confirmed_at, before);
    ck_assert_int_le(rec->confirmed_at, after);
    spool_record_free(rec);
    ck_assert_int_eq(spool_get(s, r[1].ref, 0, &rec, &e), 0);
    ck_assert_int_eq(rec->confirmed_at, 0);              /* rejected */
    spool_record_free(rec);
    /* the stream path: delivered, then confirmed by the target */
    struct spool_list l = { 0 };
    ck_assert_int_eq(spool_claim(s, "mf", "me", 60000, 10, false, 0, &l, &e),
                     0);
    ck_assert_uint_eq(l.n, 1);
    struct spool_outcome o = { .ref = r[2].ref, .kind = SPOOL_OUT_OK };
    ck_assert_int_eq(spool_outcomes(s, "me", &o, 1, &e), 0);
    spool_list_free(&l);
    ck_assert_int_eq(spool_get(s, r[2].ref, 0, &rec, &e), 0);
    ck_assert_int_eq(rec->state, SPOOL_DELIVERED);
    ck_assert_int_eq(rec->confirmed_at, 0);
    spool_record_free(rec);
    struct spool_ack sa = { .key = r[2].ref, .accepted = true };
    ck_assert_int_eq(spool_ack_apply(s, NULL, NULL, &sa, 1, res, NULL, NULL,
                                     NULL, &e), 0);
    ck_assert_int_eq(spool_get(s, r[2].ref, 0, &rec, &e), 0);
    ck_assert_int_eq(rec->state, SPOOL_CONFIRMED);
    ck_assert_int_ge(rec->confirmed_at, before);
    ck_assert_int_eq(rec->channel, SPOOL_CH_ASSISTED);
    spool_record_free(rec);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE "
                                "channel = 'csv'"), 1);
    struct spool_channel_counts cc = { 0 };
    ck_assert_int_eq(spool_channel_counts(s, &cc, &e), 0);
    ck_assert_uint_eq(cc.n, 3);
    int64_t by[SPOOL_NCHANNELS] = { 0 };
    for (size_t i = 0; i < cc.n; i++)
        by[cc.v[i].channel] += cc.v[i].n;
    ck_assert_int_eq(by[SPOOL_CH_HTTP], 1);
    ck_assert_int_eq(by[SPOOL_CH_CSV], 1);
    ck_assert_int_eq(by[SPOOL_CH_ASSISTED], 1);
    spool_channel_counts_free(&cc);
    spool_batch_free(b);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* a version-6 ledger (no channel, no confirmed_at) migrates in place: the
 * channel is derived from the client intake always wrote ("cli", "csv",
 * an HTTP client's id; none = unknown) and a confirmed record's last
 * change, which is its confirmation, becomes confirmed_at */
START_TEST(test_v6_ledger_gets_channel_and_confirmed_at)
{
    TEST_SQLITE_ONLY();
    struct spool *s = open_sp(NULL);
    struct spool_result r[4];
    static const char *const client[4] = { "cli", "csv", "portal", NULL };
    for (int i = 0; i < 4; i++) {
        struct spool_item it = item("claims", "mf", NULL, "x");
        it.client = client[i];
        enq1(s, it, &r[i]);
    }
    spool_close(s);
    char sql[8192];
    snprintf(sql, sizeof sql, "BEGIN;" UNDO_V16 UNDO_V15 UNDO_V14 UNDO_V13
             "DROP TABLE record_history;"
             "ALTER TABLE records DROP COLUMN missing_at;"
             "ALTER TABLE records DROP COLUMN receipt_data;"
             "ALTER TABLE records DROP COLUMN marker_gen;"
             "ALTER TABLE records DROP COLUMN ack_file;"
             "ALTER TABLE records DROP COLUMN ack_record;"
             "ALTER TABLE records DROP COLUMN ack_at;"
             "DROP TABLE target_state;"
             "ALTER TABLE records DROP COLUMN channel;"
             "ALTER TABLE records DROP COLUMN confirmed_at;"
             "DELETE FROM counters WHERE name LIKE 'accepted:%%';"
             "UPDATE records SET state = 'confirmed', updated_at = 1764000000123"
             " WHERE ref = '%s';"
             "DROP TABLE search;"
             "PRAGMA user_version = 6;"
             "COMMIT;", r[2].ref);
    raw_exec(sql);
    s = open_sp(NULL);
    ck_assert_int_eq(count_rows("PRAGMA user_version"), SPOOL_SCHEMA_VERSION);
    static const enum spool_channel want[4] = { SPOOL_CH_CLI, SPOOL_CH_CSV,
                                                SPOOL_CH_HTTP,
                                                SPOOL_CH_UNKNOWN };
    struct errs e;
    errs_init(&e);
    for (int i = 0; i < 4; i++) {
        struct spool_record *rec = NULL;
        ck_assert_int_eq(spool_get(s, r[i].ref, 0, &rec, &e), 0);
        ck_assert_int_eq(rec->channel, want[i]);
        ck_assert_int_eq(rec->confirmed_at, i == 2 ? 1764000000123LL : 0);
        spool_record_free(rec);
    }
    /* and the intake counters by channel, as /metrics reads them */
    struct spool_channel_counts cc = { 0 };
    ck_assert_int_eq(spool_channel_counts(s, &cc, &e), 0);
    ck_assert_uint_eq(cc.n, 4);
    for (size_t i = 0; i < cc.n; i++) {
        ck_assert_str_eq(cc.v[i].service, "claims");
        ck_assert_int_eq(cc.v[i].n, 1);
    }
    spool_channel_counts_free(&cc);
    errs_free(&e);
    spool_close(s);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM pragma_integrity_check"
                                " WHERE integrity_check = 'ok'"), 1);
}
END_TEST

/* uuid_shaped - 8-4-4-4-12 lower-case hex */
static bool uuid_shaped(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return false;
    }
    return true;
}

/* every record gets its own delivery identity at intake, and every spool
 * its own identity: two fresh spools numbering their records alike
 * (same references) never share an identity */
START_TEST(test_delivery_identity_unique_across_spools)
{
    char ids[2][SPOOL_ID_LEN], dids[2][3][SPOOL_ID_LEN];
    char refs[2][3][SPOOL_REF_MAX];
    struct errs e;
    errs_init(&e);
    for (int k = 0; k < 2; k++) {
        snprintf(spdir, sizeof spdir, "%s/spool%d", tmpdir, k);
        struct spool *s = open_sp(NULL);
        ck_assert_int_eq(spool_identity(s, ids[k], &e), 0);
        ck_assert(uuid_shaped(ids[k]));
        for (int i = 0; i < 3; i++) {
            struct spool_result r;
            enq1(s, item("claims", "db", NULL, "{\"a\":1}"), &r);
            struct spool_record *rec = NULL;
            ck_assert_int_eq(spool_get(s, r.ref, 0, &rec, &e), 0);
            ck_assert(uuid_shaped(rec->delivery_id));
            snprintf(dids[k][i], SPOOL_ID_LEN, "%s", rec->delivery_id);
            snprintf(refs[k][i], SPOOL_REF_MAX, "%s", rec->ref);
            spool_record_free(rec);
        }
        /* the identity is kept, not remade, when the spool is reopened */
        spool_close(s);
        s = open_sp(NULL);
        char again[SPOOL_ID_LEN];
        ck_assert_int_eq(spool_identity(s, again, &e), 0);
        ck_assert_str_eq(again, ids[k]);
        spool_close(s);
    }
    ck_assert_str_ne(ids[0], ids[1]);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(refs[0][i], refs[1][i]);   /* references collide */
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 3; j++)
                if (k != 0 || j != i)
                    ck_assert_str_ne(dids[0][i], dids[k][j]);
    }
    errs_free(&e);
}
END_TEST

/* a version-3 ledger (before delivery identities) migrates in place: each
 * record already stored gets its own identity, the spool gets one, and
 * new records keep getting theirs */
START_TEST(test_v3_ledger_gets_identities)
{
    TEST_SQLITE_ONLY();
    struct spool *s = open_sp(NULL);
    struct spool_result r[4];
    for (int i = 0; i < 4; i++)
        enq1(s, item("claims", "db", NULL, "{\"a\":1}"), &r[i]);
    spool_close(s);
    raw_exec("BEGIN;" UNDO_V16 UNDO_V15 UNDO_V14 UNDO_V13
             "DROP TABLE record_history;"
             "ALTER TABLE records DROP COLUMN missing_at;"
             "ALTER TABLE records DROP COLUMN receipt_data;"
             "ALTER TABLE records DROP COLUMN marker_gen;"
             "ALTER TABLE records DROP COLUMN ack_file;"
             "ALTER TABLE records DROP COLUMN ack_record;"
             "ALTER TABLE records DROP COLUMN ack_at;"
             "ALTER TABLE audit DROP COLUMN keyed;"
             "DROP TABLE target_state;"
             "DROP INDEX records_delivery_id;"
             "ALTER TABLE records DROP COLUMN delivery_id;"
             "DELETE FROM meta WHERE name = 'spool_id';"
             "DROP TABLE client_keys;"
             "ALTER TABLE records DROP COLUMN channel;"
             "ALTER TABLE records DROP COLUMN confirmed_at;"
             "DELETE FROM counters WHERE name LIKE 'accepted:%';"
             "DROP TABLE search;"
             "PRAGMA user_version = 3;"
             "COMMIT;");
    s = open_sp(NULL);
    ck_assert_int_eq(count_rows("PRAGMA user_version"), SPOOL_SCHEMA_VERSION);
    ck_assert_int_eq(count_rows("SELECT count(DISTINCT delivery_id) FROM "
                                "records WHERE length(delivery_id) = 36"), 4);
    struct errs e;
    errs_init(&e);
    char id[SPOOL_ID_LEN];
    ck_assert_int_eq(spool_identity(s, id, &e), 0);
    ck_assert(uuid_shaped(id));
    struct spool_record *rec = NULL;
    ck_assert_int_eq(spool_get(s, r[2].ref, 0, &rec, &e), 0);
    ck_assert(uuid_shaped(rec->delivery_id));
    spool_record_free(rec);
    struct spool_result n;
    enq1(s, item("claims", "db", NULL, "{\"a\":2}"), &n);
    ck_assert_int_eq(count_rows("SELECT count(DISTINCT delivery_id) FROM "
                                "records"), 5);
    errs_free(&e);
    spool_close(s);
}
END_TEST

struct conserve_ctx {
    struct spool *s;
    int n;
};

static void *conserve_writer(void *arg)
{
    struct conserve_ctx *c = arg;
    for (int i = 0; i < c->n; i++) {
        char key[32], payload[32];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(payload, sizeof payload, "{\"i\":%d}", i);
        struct spool_item it = item("claims", "db", key, payload);
        struct spool_result r;
        struct errs e;
        errs_init(&e);
        if (spool_enqueue(c->s, &it, 1, &r, &e) != 0)
            __atomic_store_n(&c->n, -1, __ATOMIC_SEQ_CST);
        errs_free(&e);
    }
    return NULL;
}

/* the conservation check's two counts come from one snapshot: while
 * records are committed one by one on the same spool, accepted and in
 * states never differ (read apart, a commit in between showed a false
 * difference under load) */
START_TEST(test_conservation_counts_one_snapshot)
{
    struct spool *s = open_sp(NULL);
    struct conserve_ctx c = { s, 1500 };
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, conserve_writer, &c), 0);
    int checks = 0, diffs = 0;
    int64_t acc = 0, ins = 0;
    /* (a writer that failed ends the wait: its records never come) */
    while (ins < 1500 && checks < 1000000
           && __atomic_load_n(&c.n, __ATOMIC_SEQ_CST) > 0) {
        struct errs e;
        errs_init(&e);
        ck_assert_int_eq(spool_conservation(s, &acc, &ins, &e), 0);
        errs_free(&e);
        if (acc != ins)
            diffs++;
        checks++;
    }
    pthread_join(th, NULL);
    ck_assert_int_eq(c.n, 1500);
    ck_assert_int_eq(diffs, 0);
    ck_assert_int_gt(checks, 10);
    spool_close(s);
}
END_TEST

struct collect {
    char refs[16][SPOOL_REF_MAX];
    int n;
};

static int collect_cb(void *ctx, const struct spool_record *r)
{
    struct collect *c = ctx;
    ck_assert_ptr_nonnull(r->payload);
    if (c->n < 16)
        snprintf(c->refs[c->n++], SPOOL_REF_MAX, "%s", r->ref);
    return 0;
}

START_TEST(test_batch_bind_order_and_restart)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r[7];
    for (int i = 0; i < 5; i++)
        enq1(s, item("claims", "mf", NULL, "x"), &r[i]);
    enq1(s, item("claims", "soap", NULL, "x"), &r[5]);
    struct spool_item h = item("claims", "mf", NULL, "x");
    h.hold = true;
    enq1(s, h, &r[6]);
    struct errs e;
    errs_init(&e);
    int seq = 0;
    ck_assert_int_eq(spool_batch_next_seq(s, "mf", "2026-11-27", &seq, &e),
                     0);
    ck_assert_int_eq(seq, 1);
    struct spool_batch *b = NULL, *u = NULL;
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 0, &b, &e), 0);
    ck_assert_int_eq(b->seq, 1);
    ck_assert_int_eq(b->record_count, 5);
    ck_assert_int_eq(b->state, SPOOL_BATCH_BUILT);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(state_of(s, r[i].ref), SPOOL_BATCHED);
    ck_assert_int_eq(state_of(s, r[5].ref), SPOOL_QUEUED);
    ck_assert_int_eq(state_of(s, r[6].ref), SPOOL_HELD);

    struct collect c1 = { .n = 0 }, c2 = { .n = 0 };
    ck_assert_int_eq(spool_batch_foreach(s, b->id, collect_cb, &c1, &e), 0);
    ck_assert_int_eq(spool_batch_foreach(s, b->id, collect_cb, &c2, &e), 0);
    ck_assert_int_eq(c1.n, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(c1.refs[i], r[i].ref);
        ck_assert_str_eq(c2.refs[i], c1.refs[i]);
    }
    /* a crashed run finds its batch again */
    ck_assert_int_eq(spool_batch_unfinished(s, "mf", &u, &e), 0);
    ck_assert_int_eq(u->id, b->id);
    spool_batch_free(u);
    ck_assert_int_eq(spool_record_fail(s, r[2].ref, NULL, "cannot encode 'Ŵ' in "
                                       "IBM-285", &e), 0);
    ck_assert_int_eq(spool_batch_sent(s, b->id, &e), -1);   /* not written */
    errs_clear(&e);
    const char *sha = "ab00000000000000000000000000000000000000000000000000"
                      "000000000000";
    ck_assert_int_eq(spool_batch_written(s, b->id, "CLM.D261127.S001", 4,
                                         "AMOUNT=10.00", sha, &e), 0);
    ck_assert_int_eq(spool_batch_written(s, b->id, "CLM.D261127.S001", 4,
                                         "AMOUNT=10.00", sha, &e), 0);
    ck_assert_int_eq(spool_batch_written(s, b->id, "CLM.D261127.S001", 5,
                                         "AMOUNT=10.00", sha, &e), -1);
    errs_clear(&e);
    ck_assert_int_eq(spool_batch_sent(s, b->id, &e), 0);
    ck_assert_int_eq(state_of(s, r[0].ref), SPOOL_SENT);
    ck_assert_int_eq(state_of(s, r[2].ref), SPOOL_FAILED);
    ck_assert_int_eq(spool_batch_unfinished(s, "mf", &u, &e), 1);
    spool_batch_free(b);
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 0, &b, &e), 0);
    ck_assert_int_eq(b->seq, 2);
    ck_assert_int_eq(b->record_count, 0);
    spool_batch_free(b);
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-28", 0, &b, &e), 0);
    ck_assert_int_eq(b->seq, 1);
    spool_batch_free(b);
    struct spool_batch **bl = NULL;
    size_t nb = 0;
    ck_assert_int_eq(spool_batch_list(s, "mf", 0, &bl, &nb, &e), 0);
    ck_assert_uint_eq(nb, 3);
    ck_assert_str_eq(bl[2]->file_name, "CLM.D261127.S001");
    ck_assert_int_eq(bl[2]->state, SPOOL_BATCH_SENT);
    for (size_t i = 0; i < nb; i++)
        spool_batch_free(bl[i]);
    free(bl);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* the generation ({gen} file names) runs on per target over every
 * business date, survives a reopen and is never taken again, even when
 * the batches that had it are gone */
START_TEST(test_batch_generation_per_target_never_reused)
{
    struct spool *s = open_sp(NULL);
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = NULL;
    int64_t g = 0;
    ck_assert_int_eq(spool_batch_next_generation(s, "mf", &g, &e), 0);
    ck_assert_int_eq(g, 1);
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 0, &b, &e), 0);
    ck_assert_int_eq(b->generation, 1);
    spool_batch_free(b);
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 0, &b, &e), 0);
    ck_assert_int_eq(b->generation, 2);
    ck_assert_int_eq(b->seq, 2);
    spool_batch_free(b);
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-28", 0, &b, &e), 0);
    ck_assert_int_eq(b->generation, 3);
    ck_assert_int_eq(b->seq, 1);
    spool_batch_free(b);
    ck_assert_int_eq(spool_batch_bind(s, "other", "2026-11-28", 0, &b, &e), 0);
    ck_assert_int_eq(b->generation, 1);
    spool_batch_free(b);
    spool_close(s);
    raw_exec("DELETE FROM batches WHERE target = 'mf' AND generation = 3");
    s = open_sp(NULL);
    ck_assert_int_eq(spool_batch_next_generation(s, "mf", &g, &e), 0);
    ck_assert_int_eq(g, 4);
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-29", 0, &b, &e), 0);
    ck_assert_int_eq(b->generation, 4);
    int64_t id = b->id;
    spool_batch_free(b);
    ck_assert_int_eq(spool_batch_get(s, id, &b, &e), 0);
    ck_assert_int_eq(b->generation, 4);
    spool_batch_free(b);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* v14 numbers the batches a ledger already holds per target, in the
 * order they were made, and the next generation follows the last */
START_TEST(test_migrate_v14_numbers_existing_batches)
{
    TEST_SQLITE_ONLY();
    struct spool *s = open_sp(NULL);
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = NULL;
    const char *tg[] = { "mf", "other", "mf" };
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(spool_batch_bind(s, tg[i], "2026-11-27", 0, &b, &e),
                         0);
        spool_batch_free(b);
    }
    spool_close(s);
    raw_exec("BEGIN;" UNDO_V16 UNDO_V15 UNDO_V14 "PRAGMA user_version = 13; COMMIT;");
    s = open_sp(NULL);
    ck_assert_int_eq(count_rows("PRAGMA user_version"), SPOOL_SCHEMA_VERSION);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM batches WHERE "
                                "(target = 'mf' AND seq = 1 AND generation = 1)"
                                " OR (target = 'mf' AND seq = 2 AND "
                                "generation = 2) OR (target = 'other' AND "
                                "generation = 1)"), 3);
    int64_t g = 0;
    ck_assert_int_eq(spool_batch_next_generation(s, "mf", &g, &e), 0);
    ck_assert_int_eq(g, 3);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* a v14 ledger with records, attempts, a batch, acks and audit entries
 * migrates in place to v15 (records rebuilt with UNIQUE(ref, target)),
 * keeping every row and every link, and then takes fanned-out records */
START_TEST(test_migrate_v15_keeps_every_row)
{
    TEST_SQLITE_ONLY();
    struct spool *s = open_sp(NULL);
    struct spool_result r[4];
    for (int i = 0; i < 4; i++)
        enq1(s, item("claims", i < 2 ? "mf" : "soap", NULL, "x"), &r[i]);
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 0, &b, &e), 0);
    spool_batch_free(b);
    struct spool_list l = { 0 };
    ck_assert_int_eq(spool_claim(s, "soap", "me", 60000, 10, false, 0, &l,
                                 &e), 0);
    ck_assert_uint_eq(l.n, 2);
    struct spool_outcome o = { .ref = r[2].ref, .kind = SPOOL_OUT_FAIL,
                               .message = "no" };
    ck_assert_int_eq(spool_outcomes(s, "me", &o, 1, &e), 0);
    spool_list_free(&l);
    ck_assert_int_eq(spool_retry(s, r[2].ref, NULL, "alice", "again", &e), 0);
    spool_close(s);
    int64_t recs = count_rows("SELECT count(*) FROM records");
    int64_t att = count_rows("SELECT count(*) FROM attempts");
    int64_t aud = count_rows("SELECT count(*) FROM audit");
    int64_t mem = count_rows("SELECT count(*) FROM batch_members");
    int64_t sum = count_rows("SELECT sum(id * length(ref) + attempts) FROM "
                             "records");
    raw_exec("BEGIN;" UNDO_V16 UNDO_V15 "PRAGMA user_version = 14; COMMIT;");
    ck_assert_int_eq(count_rows("SELECT count(*) FROM sqlite_master WHERE "
                                "name = 'records' AND sql LIKE "
                                "'%ref TEXT NOT NULL UNIQUE%'"), 1);
    s = open_sp(NULL);
    ck_assert_int_eq(count_rows("PRAGMA user_version"), SPOOL_SCHEMA_VERSION);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records"), recs);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM attempts a JOIN "
                                "records r ON r.id = a.record_id"), att);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM audit"), aud);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM batch_members m JOIN "
                                "records r ON r.id = m.record_id"), mem);
    ck_assert_int_eq(count_rows("SELECT sum(id * length(ref) + attempts) "
                                "FROM records"), sum);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM sqlite_master WHERE "
                                "tbl_name = 'records' AND type = 'index' AND "
                                "name IN ('records_due', 'records_batch', "
                                "'records_feref', 'records_delivery_id', "
                                "'records_work', 'records_received', "
                                "'records_final')"), 7);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records_full"), recs);
    ck_assert_int_eq(state_of(s, r[0].ref), SPOOL_BATCHED);
    ck_assert_int_eq(state_of(s, r[2].ref), SPOOL_QUEUED);
    /* and the rebuilt table takes one reference with two deliveries */
    char *tg[] = { "mf", "soap" };
    struct spool_item it = item("claims", NULL, "k1", "x");
    it.targets = tg;
    it.ntargets = 2;
    struct spool_result fr;
    enq1(s, it, &fr);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records"), recs + 2);
    struct spool_audit_proof p;
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 0);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* one submission to a service with two targets: one reference, two
 * delivery rows with their own identities; a duplicate creates nothing;
 * conservation counts deliveries */
START_TEST(test_fanout_one_record_two_deliveries)
{
    struct spool *s = open_sp(NULL);
    char *tg[] = { "mf", "soap" };
    struct spool_item it = item("claims", NULL, "HCR-1", "x");
    it.targets = tg;
    it.ntargets = 2;
    struct spool_result r, d;
    enq1(s, it, &r);
    ck_assert(!r.duplicate);
    enq1(s, it, &d);
    ck_assert(d.duplicate);
    ck_assert_str_eq(d.ref, r.ref);
    /* a single-target item with the same key is the same submission */
    struct spool_item one = item("claims", "soap", "HCR-1", "x");
    enq1(s, one, &d);
    ck_assert(d.duplicate);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records"), 2);
    ck_assert_int_eq(count_rows("SELECT count(DISTINCT delivery_id) FROM "
                                "records"), 2);
    struct errs e;
    errs_init(&e);
    struct spool_list dl = { 0 };
    ck_assert_int_eq(spool_deliveries(s, r.ref, SPOOL_WITH_PAYLOAD, &dl, &e),
                     0);
    ck_assert_uint_eq(dl.n, 2);
    ck_assert_str_eq(dl.v[0]->target, "mf");
    ck_assert_str_eq(dl.v[1]->target, "soap");
    ck_assert_str_eq(dl.v[0]->ref, dl.v[1]->ref);
    ck_assert_str_ne(dl.v[0]->delivery_id, dl.v[1]->delivery_id);
    ck_assert_str_eq(dl.v[1]->record_json, dl.v[0]->record_json);
    spool_list_free(&dl);
    int64_t acc = 0, ins = 0;
    ck_assert_int_eq(spool_conservation(s, &acc, &ins, &e), 0);
    ck_assert_int_eq(acc, 2);
    ck_assert_int_eq(ins, 2);
    struct spool_day_list days = { 0 };
    ck_assert_int_eq(spool_day_counts(s, "claims", NULL, NULL, &days, &e), 0);
    ck_assert_uint_eq(days.n, 1);
    ck_assert_int_eq(days.v[0].accepted, 1);      /* one submission */
    ck_assert_int_eq(days.v[0].duplicates, 2);
    ck_assert_int_eq(days.v[0].fanout, 1);
    spool_day_list_free(&days);
    struct spool_totals_proof tp;
    ck_assert_int_eq(spool_totals_check(s, &tp, &e), 0);
    ck_assert_int_eq(tp.accepted, tp.rows);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* an action on a record with two deliveries it could apply to is
 * refused without a target, naming both; with one it moves only that
 * delivery, and the audit says which; ack and outcome move only the
 * named target's delivery */
START_TEST(test_fanout_actions_need_the_target)
{
    struct spool *s = open_sp(NULL);
    char *tg[] = { "mf", "soap" };
    struct spool_item it = item("claims", NULL, NULL, "x");
    it.targets = tg;
    it.ntargets = 2;
    struct spool_result r;
    enq1(s, it, &r);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_hold(s, r.ref, NULL, "alice", "wait", &e), -1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "mf, soap"));
    errs_clear(&e);
    ck_assert_int_eq(spool_hold(s, r.ref, "nope", "alice", "wait", &e), -1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "its targets: mf, soap"));
    errs_clear(&e);
    ck_assert_int_eq(spool_hold(s, r.ref, "soap", "alice", "wait", &e), 0);
    struct spool_record *x = NULL;
    ck_assert_int_eq(spool_get_delivery(s, r.ref, "soap", 0, &x, &e), 0);
    ck_assert_int_eq(x->state, SPOOL_HELD);
    spool_record_free(x);
    ck_assert_int_eq(spool_get_delivery(s, r.ref, "mf", 0, &x, &e), 0);
    ck_assert_int_eq(x->state, SPOOL_QUEUED);
    spool_record_free(x);
    /* only one delivery is held: release needs no target */
    ck_assert_int_eq(spool_release(s, r.ref, NULL, "alice", "go", &e), 0);
    struct spool_audit_list al = { 0 };
    ck_assert_int_eq(spool_audit_list(s, r.ref, &al, &e), 0);
    ck_assert_uint_eq(al.n, 2);
    ck_assert_str_eq(al.v[0].detail, "target soap");
    ck_assert_str_eq(al.v[1].detail, "target soap");
    spool_audit_list_free(&al);
    /* the stream delivery: claimed, delivered, confirmed by its own ack */
    struct spool_list l = { 0 };
    ck_assert_int_eq(spool_claim(s, "soap", "me", 60000, 10, false, 0, &l,
                                 &e), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.v[0]->target, "soap");
    struct spool_outcome o = { .ref = r.ref, .target = "soap",
                               .kind = SPOOL_OUT_OK, .receipt = "R1" };
    ck_assert_int_eq(spool_outcomes(s, "me", &o, 1, &e), 0);
    spool_list_free(&l);
    struct spool_ack ack = { .key = r.ref, .target = "mf", .accepted = true };
    enum spool_ack_result res;
    ck_assert_int_eq(spool_ack_apply(s, NULL, NULL, &ack, 1, &res, NULL, NULL,
                                     NULL, &e), 0);
    ck_assert_int_eq(res, SPOOL_ACK_NOT_SENT);     /* mf is still queued */
    ack.target = "soap";
    ck_assert_int_eq(spool_ack_apply(s, NULL, NULL, &ack, 1, &res, NULL, NULL,
                                     NULL, &e), 0);
    ck_assert_int_eq(res, SPOOL_ACK_APPLIED);
    struct spool_list dl = { 0 };
    ck_assert_int_eq(spool_deliveries(s, r.ref, 0, &dl, &e), 0);
    ck_assert_int_eq(dl.v[0]->state, SPOOL_QUEUED);
    ck_assert_int_eq(dl.v[1]->state, SPOOL_CONFIRMED);
    ck_assert_str_eq(dl.v[1]->receipt, "R1");
    enum spool_state st[2] = { dl.v[0]->state, dl.v[1]->state };
    ck_assert_int_eq(spool_overall_of(st, 2), SPOOL_ALL_IN_PROGRESS);
    spool_list_free(&dl);
    struct spool_timeline t = { 0 };
    ck_assert_int_eq(spool_timeline(s, r.ref, &t, &e), 0);
    bool ack_soap = false;
    for (size_t i = 0; i < t.n; i++)
        if (t.v[i].kind == SPOOL_EV_ACK)
            ack_soap = t.v[i].target && strcmp(t.v[i].target, "soap") == 0;
    ck_assert(ack_soap);
    ck_assert_str_eq(t.v[0].target, "mf, soap");
    spool_timeline_free(&t);
    /* the batch delivery fails on its own; the record is then failed */
    ck_assert_int_eq(spool_record_fail(s, r.ref, "mf", "cannot encode", &e),
                     0);
    ck_assert_int_eq(spool_deliveries(s, r.ref, 0, &dl, &e), 0);
    enum spool_state st2[2] = { dl.v[0]->state, dl.v[1]->state };
    ck_assert_int_eq(spool_overall_of(st2, 2), SPOOL_ALL_FAILED);
    spool_list_free(&dl);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* the overall state of a record from its deliveries' states */
START_TEST(test_overall_state_rules)
{
    enum spool_state a[] = { SPOOL_CONFIRMED, SPOOL_CONFIRMED };
    ck_assert_int_eq(spool_overall_of(a, 2), SPOOL_ALL_CONFIRMED);
    enum spool_state b[] = { SPOOL_CONFIRMED, SPOOL_SENT };
    ck_assert_int_eq(spool_overall_of(b, 2), SPOOL_ALL_AWAITING);
    enum spool_state c[] = { SPOOL_DELIVERED, SPOOL_BATCHED };
    ck_assert_int_eq(spool_overall_of(c, 2), SPOOL_ALL_IN_PROGRESS);
    enum spool_state d[] = { SPOOL_CONFIRMED, SPOOL_INDOUBT };
    ck_assert_int_eq(spool_overall_of(d, 2), SPOOL_ALL_INDOUBT);
    enum spool_state f[] = { SPOOL_HELD, SPOOL_REJECTED };
    ck_assert_int_eq(spool_overall_of(f, 2), SPOOL_ALL_REJECTED);
    enum spool_state g[] = { SPOOL_DISCARDED, SPOOL_DISCARDED };
    ck_assert_int_eq(spool_overall_of(g, 2), SPOOL_ALL_DISCARDED);
    enum spool_state h[] = { SPOOL_DISCARDED, SPOOL_CONFIRMED };
    ck_assert_int_eq(spool_overall_of(h, 2), SPOOL_ALL_CONFIRMED);
    ck_assert_str_eq(spool_overall_name(SPOOL_ALL_AWAITING),
                     "awaiting confirmation");
}
END_TEST

START_TEST(test_batch_bind_max_keeps_received_order)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r[6];
    for (int i = 0; i < 6; i++)
        enq1(s, item("claims", "mf", NULL, "x"), &r[i]);
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 4, &b, &e), 0);
    ck_assert_int_eq(b->record_count, 4);
    ck_assert_int_eq(state_of(s, r[3].ref), SPOOL_BATCHED);
    ck_assert_int_eq(state_of(s, r[4].ref), SPOOL_QUEUED);
    /* the oldest four, and nothing written per member beside them */
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM records WHERE "
                                "batch_id IS NOT NULL AND id <= (SELECT "
                                "MIN(id) + 3 FROM records)"), 4);
    ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM batch_members"), 0);
    spool_batch_free(b);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* batched, rejected by an ack, edited, re-batched, sent: the timeline has
 * all of it in order and the record no stale error */
START_TEST(test_timeline_whole_story_and_no_stale_error)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r;
    enq1(s, item("claims", "mf", NULL, "x"), &r);
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 0, &b, &e), 0);
    ck_assert_int_eq(spool_batch_written(s, b->id, "F1", 1, NULL, "00", &e), 0);
    ck_assert_int_eq(spool_batch_sent(s, b->id, &e), 0);
    int64_t b1 = b->id;
    spool_batch_free(b);
    struct spool_ack ack = { .key = r.ref, .accepted = false,
                             .reason = "E01 bad NINO", .record_no = 2 };
    ck_assert_int_eq(spool_ack_apply(s, "ACK1", "aa", &ack, 1, NULL, NULL,
                                     NULL, NULL, &e), 0);
    ck_assert_int_eq(spool_edit(s, r.ref, "fixed", 5, "{\"n\":1}", "erin",
                                "NINO corrected", "nino (personal, changed)",
                                &e), 0);
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-28", 0, &b, &e), 0);
    ck_assert_int_eq(spool_batch_written(s, b->id, "F2", 1, NULL, "01", &e), 0);
    ck_assert_int_eq(spool_batch_sent(s, b->id, &e), 0);
    int64_t b2 = b->id;
    spool_batch_free(b);
    struct spool_record *rec = NULL;
    ck_assert_int_eq(spool_get(s, r.ref, 0, &rec, &e), 0);
    ck_assert_int_eq(rec->state, SPOOL_SENT);
    ck_assert_ptr_null(rec->last_error);          /* not the stale E01 */
    spool_record_free(rec);
    struct spool_timeline t;
    ck_assert_int_eq(spool_timeline(s, r.ref, &t, &e), 0);
    static const char *want[] = { "received", "batched", "written", "sent",
                                  "ack", "edit", "batched", "written",
                                  "sent" };
    ck_assert_uint_eq(t.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < t.n; i++)
        ck_assert_str_eq(t.v[i].what, want[i]);
    ck_assert_int_eq(t.v[1].batch_id, b1);
    ck_assert_str_eq(t.v[3].file, "F1");
    ck_assert_str_eq(t.v[4].file, "ACK1");
    ck_assert_int_eq(t.v[4].record_no, 2);
    ck_assert_str_eq(t.v[4].outcome, "rejected");
    ck_assert_str_eq(t.v[4].message, "E01 bad NINO");
    ck_assert_str_eq(t.v[5].actor, "erin");
    ck_assert_str_eq(t.v[5].message, "NINO corrected");
    ck_assert_str_eq(t.v[5].before, "rejected");
    ck_assert_int_eq(t.v[6].batch_id, b2);
    ck_assert_str_eq(t.v[8].file, "F2");
    spool_timeline_free(&t);
    /* the confirming ack clears nothing it should keep, and joins the story */
    ack.accepted = true;
    ack.record_no = 1;
    ck_assert_int_eq(spool_ack_apply(s, "ACK2", "bb", &ack, 1, NULL, NULL,
                                     NULL, NULL, &e), 0);
    ck_assert_int_eq(spool_timeline(s, r.ref, &t, &e), 0);
    ck_assert_uint_eq(t.n, 10);
    ck_assert_str_eq(t.v[9].outcome, "confirmed");
    ck_assert_str_eq(t.v[9].file, "ACK2");
    ck_assert_ptr_null(t.v[9].message);
    spool_timeline_free(&t);
    ck_assert_int_eq(spool_timeline(s, "FRY-20000101-000001", &t, &e), 1);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* sent_batch - every queued record of target bound to one batch, written
 * as F1 and sent; the caller frees the batch */
static struct spool_batch *sent_batch(struct spool *s, const char *target,
                                      struct errs *e)
{
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(s, target, "2026-11-27", 0, &b, e), 0);
    ck_assert_int_eq(spool_batch_written(s, b->id, "F1", b->record_count,
                                         NULL, "00", e), 0);
    ck_assert_int_eq(spool_batch_sent(s, b->id, e), 0);
    return b;
}

/* A big file goes ACK_CHUNK acknowledgements to a statement: the
 * outcome, and every column an acknowledgement writes, must be exactly
 * those of applying the same acknowledgements one at a time.  Set A goes
 * in one call (chunk 0 in key order, chunk 1 with two keys out of order
 * matched by record number, chunk 2 with a key twice, which goes one by
 * one); set B, alike record for record, in calls of fewer than a chunk
 * (one at a time).  Both have an orphan, records held (not sent), a later
 * repeat of a confirmed record (already) and of a rejected one that now
 * says accepted (not sent). */
#define CHUNK_N 800
#define CHUNK_ACKS (CHUNK_N + 4)
#define CHUNK_KEY (SPOOL_REF_MAX + 8)
static size_t chunk_acks(const struct spool_result *r, char keys[][CHUNK_KEY],
                         struct spool_ack *a)
{
    size_t n = 0;
    for (int i = 0; i < CHUNK_N; i++) {
        if (i == 11) {
            snprintf(keys[n], sizeof keys[n], "%sX", r[10].ref);  /* orphan */
            a[n] = (struct spool_ack){ .key = keys[n], .accepted = true };
            n++;
        }
        if (i == 511) {
            for (int d = 3; d <= 5; d += 2) {      /* repeats of r[3], r[5] */
                snprintf(keys[n], sizeof keys[n], "%s", r[d].ref);
                a[n] = (struct spool_ack){ .key = keys[n], .accepted = true };
                n++;
            }
        }
        if (i == 701) {             /* r[700] again, in the same chunk */
            snprintf(keys[n], sizeof keys[n], "%s", r[700].ref);
            a[n] = (struct spool_ack){ .key = keys[n], .accepted = true };
            n++;
        }
        snprintf(keys[n], sizeof keys[n], "%s", r[i].ref);
        a[n] = (struct spool_ack){ .key = keys[n], .accepted = i % 7 != 3,
                                   .reason = i % 7 == 3 ? "R07 bad NINO"
                                                        : NULL,
                                   .receipt = i % 5 == 0 ? "RC-OK" : NULL,
                                   .receipt_data = i % 5 == 0
                                       ? "{\"n\":\"1\"}" : NULL };
        n++;
    }
    struct spool_ack t = a[300];               /* chunk 2 out of order */
    a[300] = a[301];
    a[301] = t;
    for (size_t i = 0; i < n; i++)
        a[i].record_no = (long)i + 1;
    return n;
}

START_TEST(test_acks_chunked_same_as_one_by_one)
{
    struct spool *s = open_sp(NULL);
    static struct spool_result ra[CHUNK_N], rb[CHUNK_N];
    for (int set = 0; set < 2; set++)
        for (int i = 0; i < CHUNK_N; i++) {
            struct spool_item it = item("claims", "mf", NULL, "x");
            it.hold = i % 50 == 49;
            enq1(s, it, set ? &rb[i] : &ra[i]);
        }
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = sent_batch(s, "mf", &e);
    static char ka[CHUNK_ACKS][CHUNK_KEY], kb[CHUNK_ACKS][CHUNK_KEY];
    static struct spool_ack aa[CHUNK_ACKS], ab[CHUNK_ACKS];
    static enum spool_ack_result resa[CHUNK_ACKS], resb[CHUNK_ACKS];
    static char refa[CHUNK_ACKS][SPOOL_REF_MAX];
    static char refb[CHUNK_ACKS][SPOOL_REF_MAX];
    size_t n = chunk_acks(ra, ka, aa);
    ck_assert_uint_eq(chunk_acks(rb, kb, ab), n);
    ck_assert_uint_eq(n, CHUNK_ACKS);
    ck_assert_int_eq(spool_ack_apply(s, "ACK1", "a0", aa, n, resa, refa,
                                     NULL, NULL, &e), 0);
    for (size_t i = 0, k = 0; i < n; i += 200, k++) {
        char sha[32];
        snprintf(sha, sizeof sha, "b%zu", k);
        size_t m = n - i < 200 ? n - i : 200;
        ck_assert_int_eq(spool_ack_apply(s, "ACK1", sha, ab + i, m, resb + i,
                                         refb + i, NULL, NULL, &e), 0);
    }
    size_t applied = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(resa[i] == resb[i], "ack %zu: %d one by one, %d "
                      "chunked", i, resb[i], resa[i]);
        applied += resa[i] == SPOOL_ACK_APPLIED;
        if (resa[i] == SPOOL_ACK_APPLIED)
            ck_assert_str_eq(refa[i], aa[i].key);
    }
    ck_assert_int_eq(resa[11], SPOOL_ACK_ORPHAN);
    ck_assert_int_eq(resa[512], SPOOL_ACK_NOT_SENT);      /* r[3] again */
    ck_assert_int_eq(resa[513], SPOOL_ACK_ALREADY);       /* r[5] again */
    ck_assert_int_eq(resa[50], SPOOL_ACK_NOT_SENT);       /* r[49] held */
    ck_assert_int_eq(resa[703], SPOOL_ACK_APPLIED);       /* r[700] */
    ck_assert_int_eq(resa[704], SPOOL_ACK_ALREADY);       /* r[700] again */
    ck_assert_uint_eq(applied, CHUNK_N - CHUNK_N / 50);
    /* set B's records are set A's, CHUNK_N ids on (IS DISTINCT FROM:
     * NULL-safe on both engines) */
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records a JOIN records "
        "b ON b.id = a.id + 800 WHERE a.id <= 800 AND (a.state IS DISTINCT "
        "FROM b.state OR a.last_error IS DISTINCT FROM b.last_error OR "
        "a.receipt IS DISTINCT FROM b.receipt OR a.ack_record IS DISTINCT "
        "FROM b.ack_record OR a.ack_file IS DISTINCT FROM b.ack_file OR "
        "a.in_doubt IS DISTINCT FROM b.in_doubt OR a.receipt_data IS "
        "DISTINCT FROM b.receipt_data OR (a.confirmed_at = 0) IS DISTINCT "
        "FROM (b.confirmed_at = 0))"), 0);
    /* every confirmation, chunked or not, counted in the final totals */
    ck_assert_int_eq(count_rows("SELECT COALESCE(SUM(n), 0) FROM "
                                "state_totals WHERE state = 'confirmed'"),
                     count_rows("SELECT count(*) FROM records WHERE "
                                "state = 'confirmed'"));
    /* 2 sets x (800 - 16 held - 112 rejected) */
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE "
                                "state = 'confirmed'"), 2 * 672);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE "
                                "state = 'confirmed' AND ack_record IS NULL"),
                     0);
    spool_batch_free(b);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* An ack file belongs to one target: an acknowledgement naming another
 * target moves nothing (an orphan there), in a chunk or one by one, and
 * the same acknowledgements for the record's own target move it. */
#define SCOPE_N 300
START_TEST(test_acks_scoped_to_target)
{
    struct spool *s = open_sp(NULL);
    static struct spool_result r[SCOPE_N];
    for (int i = 0; i < SCOPE_N; i++)
        enq1(s, item("claims", "mf", NULL, "x"), &r[i]);
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = sent_batch(s, "mf", &e);
    static struct spool_ack a[SCOPE_N];
    static enum spool_ack_result res[SCOPE_N];
    for (int i = 0; i < SCOPE_N; i++)
        a[i] = (struct spool_ack){ .key = r[i].ref, .target = "other-mf",
                                   .accepted = true, .record_no = i + 1 };
    ck_assert_int_eq(spool_ack_apply(s, "ACK1", "a1", a, SCOPE_N, res, NULL,
                                     NULL, NULL, &e), 0);
    for (int i = 0; i < SCOPE_N; i++)
        ck_assert_msg(res[i] == SPOOL_ACK_ORPHAN, "ack %d: %d", i, res[i]);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE "
                                "state = 'sent'"), SCOPE_N);
    for (int i = 0; i < SCOPE_N; i++)
        a[i].target = "mf";
    ck_assert_int_eq(spool_ack_apply(s, "ACK2", "a2", a, SCOPE_N, res, NULL,
                                     NULL, NULL, &e), 0);
    for (int i = 0; i < SCOPE_N; i++)
        ck_assert_msg(res[i] == SPOOL_ACK_APPLIED, "ack %d: %d", i, res[i]);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE "
                                "state = 'confirmed'"), SCOPE_N);
    spool_batch_free(b);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* two nodes (two spools on one ledger) apply the same file at once */
#define TWO_NODE_ACKS 600
struct ack_node {
    struct spool *s;
    const struct spool_ack *acks;
    int rc;
    char msg[256];
};

static void *ack_node_run(void *arg)
{
    struct ack_node *a = arg;
    struct errs e;
    errs_init(&e);
    a->rc = spool_ack_apply(a->s, "ACK1", "aa", a->acks, TWO_NODE_ACKS, NULL,
                            NULL, NULL, NULL, &e);
    snprintf(a->msg, sizeof a->msg, "%s", a->rc ? errs_first_msg(&e) : "");
    errs_free(&e);
    return NULL;
}

/* One acknowledgement file applied by two nodes at the same moment is
 * applied once: one applies it, the other waits for it and is told it
 * was already applied; every record confirmed once, counted once. */
START_TEST(test_acks_one_file_two_nodes_applied_once)
{
    struct spool *s = open_sp(NULL);
    static struct spool_result r[TWO_NODE_ACKS];
    static struct spool_ack acks[TWO_NODE_ACKS];
    for (int i = 0; i < TWO_NODE_ACKS; i++) {
        enq1(s, item("claims", "mf", NULL, "x"), &r[i]);
        acks[i] = (struct spool_ack){ .key = r[i].ref, .target = "mf",
                                      .accepted = true,
                                      .record_no = i + 1 };
    }
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = sent_batch(s, "mf", &e);
    struct ack_node node[2] = { { .s = s, .acks = acks },
                                { .s = open_sp(NULL), .acks = acks } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, ack_node_run, &node[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_msg((node[0].rc == 0) != (node[1].rc == 0), "rc %d and %d: "
                  "%s / %s", node[0].rc, node[1].rc, node[0].msg,
                  node[1].msg);
    const char *why = node[0].rc ? node[0].msg : node[1].msg;
    ck_assert_msg(strstr(why, "already applied") != NULL, "%s", why);
    spool_close(node[1].s);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM ack_files"), 1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records WHERE "
                                "state = 'confirmed' AND ack_file = 'ACK1'"),
                     TWO_NODE_ACKS);
    ck_assert_int_eq(count_rows("SELECT COALESCE(SUM(n), 0) FROM "
                                "state_totals WHERE state = 'confirmed'"),
                     TWO_NODE_ACKS);
    spool_batch_free(b);
    errs_free(&e);
    spool_close(s);
}
END_TEST

START_TEST(test_acks_apply_once)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r[3];
    for (int i = 0; i < 3; i++) {
        struct spool_item it = item("claims", "mf", NULL, "x");
        it.fe_ref = i == 2 ? "FE-3" : NULL;
        enq1(s, it, &r[i]);
    }
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 0, &b, &e), 0);
    ck_assert_int_eq(spool_batch_written(s, b->id, "F1", 3, NULL, "00", &e),
                     0);
    ck_assert_int_eq(spool_batch_sent(s, b->id, &e), 0);
    struct spool_ack acks[4] = {
        { .key = r[0].ref, .accepted = true },
        { .key = r[1].ref, .accepted = false, .reason = "R07 bad NINO" },
        { .key = "FE-3", .service = "claims", .accepted = true },
        { .key = "FRY-20000101-000001", .accepted = true },
    };
    enum spool_ack_result res[4];
    char refs[4][SPOOL_REF_MAX];
    ck_assert_int_eq(spool_ack_file_seen(s, "ACK1", "aa", &e), 0);
    ck_assert_int_eq(spool_ack_apply(s, "ACK1", "aa", acks, 4, res, refs,
                                     NULL, NULL, &e), 0);
    ck_assert_int_eq(res[0], SPOOL_ACK_APPLIED);
    ck_assert_int_eq(res[1], SPOOL_ACK_APPLIED);
    ck_assert_int_eq(res[2], SPOOL_ACK_APPLIED);
    ck_assert_str_eq(refs[2], r[2].ref);
    ck_assert_int_eq(res[3], SPOOL_ACK_ORPHAN);
    ck_assert_int_eq(state_of(s, r[0].ref), SPOOL_CONFIRMED);
    ck_assert_int_eq(state_of(s, r[1].ref), SPOOL_REJECTED);
    ck_assert_int_eq(spool_ack_file_seen(s, "ACK1", "aa", &e), 1);
    ck_assert_int_eq(spool_ack_apply(s, "ACK1", "aa", acks, 4, res, NULL,
                                     NULL, NULL, &e), -1);
    errs_clear(&e);
    ck_assert_int_eq(spool_ack_apply(s, "ACK2", "bb", acks, 1, res, NULL,
                                     "dave", "accept-mismatch", &e), 0);
    ck_assert_int_eq(res[0], SPOOL_ACK_ALREADY);
    struct spool_record *rec = NULL;
    ck_assert_int_eq(spool_get(s, r[1].ref, 0, &rec, &e), 0);
    ck_assert_str_eq(rec->last_error, "R07 bad NINO");
    spool_record_free(rec);
    /* fix and requeue the rejected one; the original payload is kept */
    ck_assert_int_eq(spool_edit(s, r[1].ref, "fixed", 5, "{\"n\":1}", "erin",
                                "NINO corrected", "nino: AB -> AC", &e), 0);
    ck_assert_int_eq(spool_get(s, r[1].ref, SPOOL_WITH_PAYLOAD |
                               SPOOL_WITH_HISTORY, &rec, &e), 0);
    ck_assert_int_eq(rec->state, SPOOL_QUEUED);
    ck_assert(memcmp(rec->payload, "fixed", 5) == 0);
    ck_assert_uint_eq(rec->original_len, 1);
    ck_assert(memcmp(rec->original, "x", 1) == 0);
    ck_assert_str_eq(rec->record_json, "{\"n\":1}");
    ck_assert_uint_eq(rec->naud, 1);
    ck_assert_str_eq(rec->aud[0].detail, "nino: AB -> AC");
    spool_record_free(rec);
    spool_batch_free(b);
    errs_free(&e);
    spool_close(s);
}
END_TEST

START_TEST(test_audit_chain_and_tamper)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r;
    enq1(s, item("claims", "mf", NULL, "x"), &r);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_hold(s, r.ref, NULL, "alice", "check", &e), 0);
    ck_assert_int_eq(spool_release(s, r.ref, NULL, "alice", "checked", &e), 0);
    ck_assert_int_eq(spool_audit_add(s, "bob", "resend", NULL, "lost file",
                                     "batch 1", &e), 0);
    ck_assert_int_eq(spool_hold(s, r.ref, NULL, "alice", "again", &e), 0);
    struct spool_audit_proof p;
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 0);
    ck_assert_uint_eq(p.checked, 4);
    ck_assert_int_eq(p.bad_id, 0);
    ck_assert_uint_eq(p.unkeyed, 4);          /* no audit key: SHA-256 */
    ck_assert_int_eq(p.head_file_id, 4);      /* anchored outside */
    struct spool_audit_list al;
    ck_assert_int_eq(spool_audit_list(s, NULL, &al, &e), 0);
    ck_assert_uint_eq(al.n, 4);
    ck_assert_str_eq(al.v[1].prev_hash, al.v[0].hash);
    spool_audit_list_free(&al);
    ck_assert_int_eq(spool_audit_list(s, r.ref, &al, &e), 0);
    ck_assert_uint_eq(al.n, 3);
    spool_audit_list_free(&al);

    raw_exec("UPDATE audit SET reason = 'nothing to see' WHERE id = 2");
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 1);
    ck_assert_int_eq(p.bad_id, 2);
    ck_assert_str_eq(e.v[0].where, "audit 2");
    errs_clear(&e);
    spool_close(s);
    s = open_sp(NULL);
    /* repairing the hash alone breaks the next link instead */
    raw_exec("UPDATE audit SET hash = 'ff' WHERE id = 2");
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 1);
    ck_assert_int_eq(p.bad_id, 2);
    errs_clear(&e);
    spool_close(s);
    errs_free(&e);
}
END_TEST

START_TEST(test_audit_truncation_detected)
{
    struct spool *s = open_sp(NULL);
    struct errs e;
    errs_init(&e);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(spool_audit_add(s, "x", "note", NULL, "r", NULL, &e),
                         0);
    raw_exec("DELETE FROM audit WHERE id = 3");
    struct spool_audit_proof p;
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 1);
    ck_assert_int_eq(p.bad_id, 3);
    errs_free(&e);
    spool_close(s);
}
END_TEST

START_TEST(test_audit_keyed_chain_migrates_and_catches_rewrite)
{
    struct spool_opts ko;
    memset(&ko, 0, sizeof ko);
    ko.audit_keyed = true;
    memset(ko.audit_key, 0x5a, sizeof ko.audit_key);
    struct errs e;
    errs_init(&e);
    struct spool *s = open_sp(NULL);               /* before the key */
    ck_assert_int_eq(spool_audit_add(s, "x", "note", NULL, "a", NULL, &e), 0);
    ck_assert_int_eq(spool_audit_add(s, "x", "note", NULL, "b", NULL, &e), 0);
    spool_close(s);
    s = open_sp(&ko);                              /* the key arrives */
    ck_assert_int_eq(spool_audit_add(s, "x", "note", NULL, "c", NULL, &e), 0);
    ck_assert_int_eq(spool_audit_reveal(s, "y", "FRY-1", "asked", "show",
                                        &e), 0);
    struct spool_audit_proof p;
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 0);
    ck_assert_uint_eq(p.unkeyed, 2);
    ck_assert_uint_eq(p.keyed, 2);
    ck_assert(p.key_given);
    ck_assert_int_eq(p.head_file_id, 4);
    char head[96];
    ck_assert_int_eq(spool_audit_head(s, head, sizeof head, &e), 0);
    ck_assert_int_eq(spool_audit_verify(s, head, &p, &e), 0);
    ck_assert(p.expected_checked);
    ck_assert_int_eq(spool_audit_verify(s, "4:00000000000000000000000000000000"
                                        "00000000000000000000000000000000",
                                        &p, &e), 1);
    errs_clear(&e);
    spool_close(s);

    s = open_sp(NULL);                             /* no key: read, not add */
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 0);
    ck_assert(!p.key_given);
    ck_assert_uint_eq(p.keyed, 2);
    ck_assert_int_eq(spool_audit_add(s, "x", "note", NULL, "d", NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "audit key"));
    errs_clear(&e);
    spool_close(s);

    s = open_sp(&ko);
    raw_exec("UPDATE audit SET reason = 'z' WHERE id = 3");
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 1);
    ck_assert_int_eq(p.bad_id, 3);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "HMAC"));
    errs_clear(&e);
    raw_exec("UPDATE audit SET reason = 'c' WHERE id = 3");
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 0);
    /* a wrong key proves nothing */
    spool_close(s);
    memset(ko.audit_key, 0x5b, sizeof ko.audit_key);
    s = open_sp(&ko);
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 1);
    ck_assert_int_eq(p.bad_id, 3);
    errs_clear(&e);
    spool_close(s);
    memset(ko.audit_key, 0x5a, sizeof ko.audit_key);
    s = open_sp(&ko);
    /* truncation with the stored head fixed: the head file still names 4 */
    raw_exec("DELETE FROM audit WHERE id = 4");
    raw_exec("UPDATE meta SET value = (SELECT id || ':' || hash FROM audit "
             "WHERE id = 3) WHERE name = 'audit_head'");
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 1);
    ck_assert_int_eq(p.bad_id, 4);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "head file"));
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* enc_seen - what spool_batch_foreach_mapped handed over for one record */
struct enc_seen {
    int calls;
    char enc[32];
    size_t enc_len;
    bool json;
    bool ask_json;                 /* answer SPOOL_CB_NEED_JSON */
};

static int enc_cb(void *ctx, const struct spool_record *r)
{
    struct enc_seen *x = ctx;
    x->calls++;
    if (r->encoded) {
        ck_assert_ptr_null(r->record_json);
        x->enc_len = r->encoded_len < sizeof x->enc ? r->encoded_len : 0;
        memcpy(x->enc, r->encoded, x->enc_len);
        return x->ask_json ? SPOOL_CB_NEED_JSON : 0;
    }
    x->json = r->record_json != NULL;
    return 0;
}

/* sealed_len - the length of the one blob sql selects from the ledger,
 * which must not hold clear (read through the layer: either engine) */
static size_t sealed_len(const char *sql, const char *clear)
{
    struct sql_conn *c = test_ledger_open(spdir);
    struct sql_stmt *q = sql_prepare(c, sql);
    ck_assert_msg(q != NULL, "%s: %s", sql, sql_errmsg(c));
    ck_assert_int_eq(sql_step(q), SQL_STEP_ROW);
    size_t n = 0;
    const void *p = sql_col_blob(q, 0, &n);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(memmem(p, n, clear, strlen(clear)));
    ck_assert_int_eq(sql_step(q), SQL_STEP_DONE);
    sql_close(c);
    return n;
}

/* the stored encoding is sealed at rest like the payload, opened for the
 * batch without the JSON, the JSON given when the batch asks, and gone
 * after an edit (the JSON is then the only form) */
START_TEST(test_stored_encoding_sealed_read_and_cleared_by_edit)
{
    struct spool_opts o = { .encrypt = true };
    for (int i = 0; i < SPOOL_KEY_LEN; i++)
        o.key[i] = (unsigned char)(i * 5 + 3);
    struct spool *s = open_sp(&o);
    struct spool_result r;
    struct spool_item it = item("claims", "mf", NULL, "{\"a\":1}");
    it.encoded = "FWE1-secret-bytes";
    it.encoded_len = 17;
    enq1(s, it, &r);
    spool_close(s);
    /* sealed: the clear bytes are nowhere in the column */
    ck_assert_uint_eq(sealed_len("SELECT encoded FROM record_data WHERE "
                                 "encoded IS NOT NULL", "secret"), 45);
    s = open_sp(&o);
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 0, &b, &e), 0);
    struct enc_seen x = { 0 };
    ck_assert_int_eq(spool_batch_foreach_mapped(s, b->id, enc_cb, &x, &e), 0);
    ck_assert_int_eq(x.calls, 1);
    ck_assert_uint_eq(x.enc_len, 17);
    ck_assert(memcmp(x.enc, "FWE1-secret-bytes", 17) == 0);
    ck_assert(!x.json);
    struct enc_seen y = { .ask_json = true };
    ck_assert_int_eq(spool_batch_foreach_mapped(s, b->id, enc_cb, &y, &e), 0);
    ck_assert_int_eq(y.calls, 2);
    ck_assert(y.json);
    spool_batch_free(b);
    spool_close(s);
    /* an edit: the stored encoding goes with the old JSON */
    raw_exec("UPDATE records SET state = 'held', batch_id = NULL;");
    s = open_sp(&o);
    ck_assert_int_eq(spool_edit(s, r.ref, "fixed", 5, "{\"n\":1}", "erin",
                                "corrected", "n (changed)", &e), 0);
    spool_close(s);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM record_data WHERE "
                                "encoded IS NULL"), 1);
    errs_free(&e);
}
END_TEST

START_TEST(test_encryption_round_trip_and_wrong_key)
{
    struct spool_opts o = { .encrypt = true };
    for (int i = 0; i < SPOOL_KEY_LEN; i++)
        o.key[i] = (unsigned char)(i * 7 + 1);
    struct spool *s = open_sp(&o);
    struct spool_result r;
    const char *secret = "{\"nino\":\"QQ123456C\"}";
    enq1(s, item("claims", "soap", NULL, secret), &r);
    struct errs e;
    errs_init(&e);
    struct spool_record *rec = NULL;
    ck_assert_int_eq(spool_get(s, r.ref, SPOOL_WITH_PAYLOAD, &rec, &e), 0);
    ck_assert(rec->encrypted);
    ck_assert_uint_eq(rec->payload_len, strlen(secret));
    ck_assert(memcmp(rec->payload, secret, strlen(secret)) == 0);
    ck_assert_str_eq(rec->record_json, "{\"x\":{\"t\":\"string\"}}");
    spool_record_free(rec);
    spool_close(s);
    ck_assert_uint_eq(sealed_len("SELECT payload FROM record_data",
                                 "QQ123456C"), strlen(secret) + 28);

    o.key[0] ^= 1;
    s = open_sp(&o);
    ck_assert_int_eq(spool_get(s, r.ref, SPOOL_WITH_PAYLOAD, &rec, &e), -1);
    ck_assert_str_eq(e.v[0].where, r.ref);
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "cannot be decrypted"));
    errs_clear(&e);
    /* without payload, the record is still listed */
    ck_assert_int_eq(spool_get(s, r.ref, 0, &rec, &e), 0);
    spool_record_free(rec);
    struct spool_list l;
    ck_assert_int_eq(spool_claim(s, "soap", "W", 1000, 10, false, 0, &l, &e),
                     0);
    ck_assert_uint_eq(l.n, 0);
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, r.ref);
    spool_list_free(&l);
    errs_clear(&e);
    spool_close(s);
    s = open_sp(NULL);
    ck_assert_int_eq(spool_get(s, r.ref, SPOOL_WITH_PAYLOAD, &rec, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "no key"));
    errs_free(&e);
    spool_close(s);
}
END_TEST

START_TEST(test_key_file_formats)
{
    char p[700];
    unsigned char k[SPOOL_KEY_LEN];
    struct errs e;
    errs_init(&e);
    snprintf(p, sizeof p, "%s/key", tmpdir);
    FILE *f = fopen(p, "w");
    fputs("000102030405060708090a0b0c0d0e0f"
          "101112131415161718191A1B1C1D1E1F\n", f);
    fclose(f);
    chmod(p, 0600);
    ck_assert_int_eq(spool_key_load(p, k, &e), 0);
    ck_assert_int_eq(k[0], 0);
    ck_assert_int_eq(k[31], 0x1f);
    chmod(p, 0644);
    ck_assert_int_eq(spool_key_load(p, k, &e), -1);
    errs_clear(&e);
    f = fopen(p, "w");
    fputs("short", f);
    fclose(f);
    chmod(p, 0600);
    ck_assert_int_eq(spool_key_load(p, k, &e), -1);
    errs_free(&e);
}
END_TEST

START_TEST(test_purge_archives_final_records_keeps_audit)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r[2];
    enq1(s, item("claims", "mf", "fe-1", "personal"), &r[0]);
    enq1(s, item("claims", "mf", NULL, "personal"), &r[1]);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_discard(s, r[0].ref, NULL, "ops", "test data", &e), 0);
    size_t n = 99;
    ck_assert_int_eq(spool_purge(s, spool_state_final(SPOOL_DISCARDED)
                                 ? 4102444800000LL : 0, "ops", &n, &e), 0);
    ck_assert_uint_eq(n, 1);
    /* out of the working tables, into the archive, children gone */
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records"), 1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM records_archive "
                                "WHERE state = 'discarded'"), 1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM record_data"), 1);
    /* still counted, conservation still holds, the totals match rows */
    int64_t acc = 0, ins = 0;
    ck_assert_int_eq(spool_conservation(s, &acc, &ins, &e), 0);
    ck_assert_int_eq(acc, 2);
    ck_assert_int_eq(ins, 2);
    struct spool_totals_proof tp;
    ck_assert_int_eq(spool_totals_check(s, &tp, &e), 0);
    ck_assert_int_eq(tp.rows + tp.archived, 2);
    ck_assert_int_eq(tp.totals_off, 0);
    /* the submission is still known: the same one again is a duplicate */
    struct spool_result again;
    enq1(s, item("claims", "mf", "fe-1", "personal"), &again);
    ck_assert(again.duplicate);
    ck_assert_str_eq(again.ref, r[0].ref);
    struct spool_record *rec = NULL;
    ck_assert_int_eq(spool_get(s, r[0].ref, SPOOL_WITH_PAYLOAD |
                               SPOOL_WITH_HISTORY, &rec, &e), 0);
    ck_assert(rec->payload_purged);
    ck_assert_ptr_null(rec->payload);
    ck_assert_ptr_null(rec->record_json);
    ck_assert_uint_eq(rec->naud, 1);
    spool_record_free(rec);
    ck_assert_int_eq(spool_get(s, r[1].ref, SPOOL_WITH_PAYLOAD, &rec, &e), 0);
    ck_assert_ptr_nonnull(rec->payload);
    spool_record_free(rec);
    struct spool_audit_proof p;
    ck_assert_int_eq(spool_audit_verify(s, NULL, &p, &e), 0);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* the final-state totals move with the records, in the same
 * transaction: an acknowledgement and a discard count, a rolled-back
 * acknowledgement file counts nothing, and the cheap count agrees with
 * the full one */
START_TEST(test_final_totals_follow_moves_and_rollbacks)
{
    struct spool *s = open_sp(NULL);
    struct spool_result r[4];
    for (int i = 0; i < 4; i++)
        enq1(s, item("claims", "mf", NULL, "{}"), &r[i]);
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(s, "mf", "2026-11-27", 3, &b, &e), 0);
    ck_assert_int_eq(spool_batch_written(s, b->id, "F1", 3, NULL, "00", &e),
                     0);
    ck_assert_int_eq(spool_batch_sent(s, b->id, &e), 0);
    spool_batch_free(b);
    /* a file whose second line has no key: the whole file rolls back */
    struct spool_ack bad[2] = { { .key = r[0].ref, .accepted = true },
                                { .key = NULL, .accepted = true } };
    ck_assert_int_eq(spool_ack_apply(s, NULL, NULL, bad, 2, NULL, NULL, NULL,
                                     NULL, &e), -1);
    ck_assert_int_eq(count_rows("SELECT count(*) FROM state_totals"), 0);
    errs_clear(&e);
    struct spool_ack acks[2] = { { .key = r[0].ref, .accepted = true },
                                 { .key = r[1].ref, .accepted = true } };
    ck_assert_int_eq(spool_ack_apply(s, "A1", "aa", acks, 2, NULL, NULL,
                                     NULL, NULL, &e), 0);
    ck_assert_int_eq(spool_discard(s, r[3].ref, NULL, "ops", "test", &e), 0);
    ck_assert_int_eq(count_rows("SELECT n FROM state_totals WHERE state = "
                                "'confirmed' AND service = 'claims' AND "
                                "target = 'mf'"), 2);
    ck_assert_int_eq(count_rows("SELECT n FROM state_totals WHERE state = "
                                "'discarded'"), 1);
    struct spool_counts c;
    ck_assert_int_eq(spool_counts(s, &c, &e), 0);
    int64_t by[SPOOL_NSTATES] = { 0 };
    for (size_t i = 0; i < c.n; i++)
        by[c.v[i].state] += c.v[i].n;
    spool_counts_free(&c);
    ck_assert_int_eq(by[SPOOL_CONFIRMED], 2);
    ck_assert_int_eq(by[SPOOL_DISCARDED], 1);
    ck_assert_int_eq(by[SPOOL_SENT], 1);
    struct spool_totals_proof tp;
    ck_assert_int_eq(spool_totals_check(s, &tp, &e), 0);
    ck_assert_int_eq(tp.totals_off, 0);
    ck_assert_int_eq(tp.accepted, tp.rows);
    /* a total that drifted from its rows is found by the full check */
    raw_exec("UPDATE state_totals SET n = n + 1 WHERE state = 'confirmed'");
    ck_assert_int_eq(spool_totals_check(s, &tp, &e), 0);
    ck_assert_int_eq(tp.totals_off, 1);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* a schema-12 ledger with final records gets its totals counted from the
 * rows by the migration (one transaction), and they then agree */
START_TEST(test_v12_ledger_gets_final_totals)
{
    TEST_SQLITE_ONLY();
    struct spool *s = open_sp(NULL);
    struct spool_result r[3];
    for (int i = 0; i < 3; i++)
        enq1(s, item("claims", "mf", NULL, "{}"), &r[i]);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_discard(s, r[1].ref, NULL, "ops", "test", &e), 0);
    spool_close(s);
    raw_exec("BEGIN;" UNDO_V16 UNDO_V15 UNDO_V14 UNDO_V13 "PRAGMA user_version = 12; COMMIT;");
    s = open_sp(NULL);
    ck_assert_int_eq(count_rows("PRAGMA user_version"), SPOOL_SCHEMA_VERSION);
    ck_assert_int_eq(count_rows("SELECT n FROM state_totals WHERE state = "
                                "'discarded'"), 1);
    int64_t acc = 0, ins = 0;
    ck_assert_int_eq(spool_conservation(s, &acc, &ins, &e), 0);
    ck_assert_int_eq(acc, 3);
    ck_assert_int_eq(ins, 3);
    errs_free(&e);
    spool_close(s);
}
END_TEST

/* file_has - whether the bytes of needle appear anywhere in the file */
static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static char data[1 << 20];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    return memmem(data, n, needle, strlen(needle)) != NULL;
}

/* a purged payload must not stay readable in the ledger file's free
 * space (secure_delete); the other record's payload is still there */
START_TEST(test_purge_leaves_no_bytes_on_disk)
{
    TEST_SQLITE_ONLY();
    struct spool *s = open_sp(NULL);
    struct spool_result r[2];
    enq1(s, item("claims", "mf", NULL, "{\"nino\":\"QQ123456C-PURGEME\"}"),
         &r[0]);
    enq1(s, item("claims", "mf", NULL, "{\"nino\":\"QQ654321A-KEEPME\"}"),
         &r[1]);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_discard(s, r[0].ref, NULL, "ops", "test data", &e), 0);
    size_t n = 0;
    ck_assert_int_eq(spool_purge(s, 4102444800000LL, "ops", &n, &e), 0);
    ck_assert_uint_eq(n, 1);
    errs_free(&e);
    spool_close(s);     /* last connection: the WAL is checkpointed */
    char p[700];
    snprintf(p, sizeof p, "%s/ledger.db", spdir);
    ck_assert(file_has(p, "QQ654321A-KEEPME"));
    ck_assert(!file_has(p, "QQ123456C-PURGEME"));
    snprintf(p, sizeof p, "%s/ledger.db-wal", spdir);
    ck_assert(!file_has(p, "QQ123456C-PURGEME"));
}
END_TEST

static off_t file_size(const char *suffix)
{
    char p[700];
    struct stat sb;
    snprintf(p, sizeof p, "%s/ledger.db%s", spdir, suffix);
    return stat(p, &sb) == 0 ? sb.st_size : 0;
}

/* the daemon's checkpointer copies the WAL back into ledger.db while
 * commits go on (a connection that had never read the ledger made every
 * checkpoint a no-op), and rewinds it: under a steady stream of commits
 * the WAL stays a fraction of what was written instead of growing by
 * every commit */
START_TEST(test_checkpointer_copies_back_and_rewinds_wal)
{
    TEST_SQLITE_ONLY();
    struct spool *s = open_sp(NULL);
    struct errs e;
    errs_init(&e);
    struct spool_checkpointer *c = spool_checkpointer_start(s, 10, &e);
    ck_assert_msg(c != NULL, "checkpointer: %s", errs_first_msg(&e));
    static char pay[4001];
    memset(pay, 'p', sizeof pay - 1);
    struct spool_item it[20];
    struct spool_result r[20];
    char keys[20][32];
    int64_t written = 0, t0 = clock_mono_ms();
    for (int k = 0; clock_mono_ms() - t0 < 1500 && k < 100000; k++) {
        for (int i = 0; i < 20; i++) {
            snprintf(keys[i], sizeof keys[i], "k%d-%d", k, i);
            it[i] = item("claims", "mf", keys[i], pay);
        }
        ck_assert_msg(spool_enqueue(s, it, 20, r, &e) == 0, "enqueue: %s",
                      errs_first_msg(&e));
        written += 20 * (int64_t)sizeof pay;
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);           /* the committer's gap */
    }
    off_t db = file_size(""), wal = file_size("-wal");
    spool_checkpointer_stop(c);
    errs_free(&e);
    spool_close(s);
    ck_assert_msg(db > written / 2, "ledger.db %lld bytes of %lld written",
                  (long long)db, (long long)written);
    ck_assert_msg(wal < written / 3, "WAL %lld bytes of %lld written",
                  (long long)wal, (long long)written);
}
END_TEST

START_TEST(test_job_runs)
{
    struct spool *s = open_sp(NULL);
    struct errs e;
    errs_init(&e);
    int64_t id1, id2;
    ck_assert_int_eq(spool_job_start(s, "night", &id1, &e), 0);
    ck_assert_int_eq(spool_job_end(s, id1, "ok", "records=3", NULL, &e), 0);
    ck_assert_int_eq(spool_job_start(s, "night", &id2, &e), 0);
    struct spool_job_run *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(spool_job_list(s, "night", 0, &v, &n, &e), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(v[0].id, id2);
    ck_assert_ptr_null(v[0].outcome);
    ck_assert_str_eq(v[1].outcome, "ok");
    ck_assert_str_eq(v[1].counts, "records=3");
    spool_job_runs_free(v, n);
    ck_assert_int_eq(spool_job_end(s, 999, "ok", NULL, NULL, &e), -1);
    errs_free(&e);
    spool_close(s);
}
END_TEST

static Suite *spool_suite(void)
{
    Suite *su = suite_create("spool");
    TCase *tc = tcase_create("ledger");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_open_creates_private_folder_and_schema);
    tcase_add_test(tc, test_open_tightens_loose_existing_folder);
    tcase_add_test(tc, test_open_refuses_folder_owned_by_another_user);
    tcase_add_test(tc, test_enqueue_get_list);
    tcase_add_test(tc, test_reads_of_a_ledger_seeded_by_sql_on_either_engine);
    tcase_add_test(tc, test_idempotency_same_call_and_across_calls);
    tcase_add_test(tc, test_idempotency_concurrent_threads);
    tcase_add_test(tc, test_idempotency_two_nodes_at_once);
    tcase_add_test(tc, test_group_commit_coalesces);
    tcase_add_test(tc, test_references_sort_as_text);
    tcase_add_test(tc, test_transition_table);
    tcase_add_test(tc, test_claim_lease_expiry);
    tcase_add_test(tc, test_outcomes_move_states);
    tcase_add_test(tc, test_claims_and_outcomes_across_chunks);
    tcase_add_test(tc, test_claim_dead_node_lease_returns_on_ledger_clock);
    tcase_add_test(tc, test_claims_two_nodes_concurrently_never_twice);
    tcase_add_test(tc, test_target_state_shared_through_the_ledger);
    tcase_add_test(tc, test_batch_bind_order_and_restart);
    tcase_add_test(tc, test_batch_bind_max_keeps_received_order);
    tcase_add_test(tc, test_batch_generation_per_target_never_reused);
    tcase_add_test(tc, test_migrate_v14_numbers_existing_batches);
    tcase_add_test(tc, test_migrate_v15_keeps_every_row);
    tcase_add_test(tc, test_fanout_one_record_two_deliveries);
    tcase_add_test(tc, test_fanout_actions_need_the_target);
    tcase_add_test(tc, test_overall_state_rules);
    tcase_add_test(tc, test_acks_apply_once);
    tcase_add_test(tc, test_acks_one_file_two_nodes_applied_once);
    tcase_add_test(tc, test_acks_chunked_same_as_one_by_one);
    tcase_add_test(tc, test_acks_scoped_to_target);
    tcase_add_test(tc, test_audit_chain_and_tamper);
    tcase_add_test(tc, test_audit_truncation_detected);
    tcase_add_test(tc, test_timeline_whole_story_and_no_stale_error);
    tcase_add_test(tc, test_audit_keyed_chain_migrates_and_catches_rewrite);
    tcase_add_test(tc, test_encryption_round_trip_and_wrong_key);
    tcase_add_test(tc, test_stored_encoding_sealed_read_and_cleared_by_edit);
    tcase_add_test(tc, test_key_file_formats);
    tcase_add_test(tc, test_purge_archives_final_records_keeps_audit);
    tcase_add_test(tc, test_final_totals_follow_moves_and_rollbacks);
    tcase_add_test(tc, test_v12_ledger_gets_final_totals);
    tcase_add_test(tc, test_purge_leaves_no_bytes_on_disk);
    tcase_add_test(tc, test_job_runs);
    tcase_add_test(tc, test_v1_ledger_migrates_in_place);
    tcase_add_test(tc, test_channel_and_confirmed_at_kept);
    tcase_add_test(tc, test_v6_ledger_gets_channel_and_confirmed_at);
    tcase_add_test(tc, test_delivery_identity_unique_across_spools);
    tcase_add_test(tc, test_v3_ledger_gets_identities);
    tcase_add_test(tc, test_conservation_counts_one_snapshot);
    tcase_add_test(tc, test_checkpointer_copies_back_and_rewinds_wal);
    tcase_add_test(tc, test_lost_connection_made_again_by_next_transaction);
    tcase_add_test(tc, test_read_only_open_reads_and_never_writes);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(spool_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
