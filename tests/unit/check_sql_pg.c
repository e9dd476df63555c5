/* check_sql_pg.c - the statement layer and the cluster primitives
 * against a real PostgreSQL 15, started here on a free loopback port in a
 * temp folder (tests/peers/pg_unit.sh) and stopped at the end:
 * - the same round trip (text, int64, blobs with NUL bytes, NULL,
 *   RETURNING) on SQLite and PostgreSQL;
 * - errors classed (constraint: permanent; lock timeout: retryable; a
 *   killed session: connection lost, then a reconnect that works);
 * - a lost session made again by the layer only where that is safe:
 *   outside a transaction for a prepare, a SELECT or a BEGIN; never a
 *   write in autocommit, never anything inside a transaction;
 * - group commit in one pipeline, and a group with a bad row that leaves
 *   nothing behind;
 * - the PostgreSQL schema built once, at the SQLite ledger's version,
 *   with every table's columns, indexes and triggers the same;
 * - claims: two connections claiming at once never take one record
 *   twice; a lease on the database clock runs out and the record
 *   returns; job locks held by one session only, freed when it dies;
 * - the audit chain (spool_audit.c) appended, listed and verified on
 *   PostgreSQL, a rewrite caught, concurrent appenders kept in one chain.
 * Skipped (exit 77) only when the PostgreSQL server is not installed. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spool/audit_chain.h"
#include "spool/pg_spool.h"
#include "spool/spool.h"
#include "spool/sql.h"
#include "util/buf.h"
#include "util/errs.h"

static char pg_port[16], pg_dir[512], pg_own[512], tmp[512];

/* ---- helpers ----------------------------------------------------------- */

static void conninfo_of(const char *db, char *out, size_t n)
{
    snprintf(out, n, "host=127.0.0.1 port=%s user=ferry dbname=%s "
             "connect_timeout=10", pg_port, db);
}

static struct sql_conn *connect_db(const char *db, int lock_ms)
{
    char ci[256];
    struct errs e;
    errs_init(&e);
    conninfo_of(db, ci, sizeof ci);
    struct sql_desc d = { .backend = SQL_POSTGRESQL, .conninfo = ci,
                          .busy_timeout_ms = lock_ms };
    struct sql_conn *c = sql_open(&d, &e);
    if (!c)
        fprintf(stderr, "connect %s: %s\n", db, errs_first_msg(&e));
    errs_free(&e);
    return c;
}

/* fresh - a new empty database named db, connected */
static struct sql_conn *fresh(const char *db)
{
    struct sql_conn *adm = connect_db("postgres", 0);
    ck_assert_ptr_nonnull(adm);
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    ck_assert_msg(sql_exec(adm, sql) == 0, "%s", sql_errmsg(adm));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    ck_assert_msg(sql_exec(adm, sql) == 0, "%s", sql_errmsg(adm));
    sql_close(adm);
    struct sql_conn *c = connect_db(db, 0);
    ck_assert_ptr_nonnull(c);
    return c;
}

static void exec_ok(struct sql_conn *c, const char *sql)
{
    ck_assert_msg(sql_exec(c, sql) == 0, "%s: %s", sql, sql_errmsg(c));
}

static int64_t count_of(struct sql_conn *c, const char *sql)
{
    struct sql_stmt *st = sql_prepare(c, sql);
    ck_assert_msg(st != NULL, "%s", sql_errmsg(c));
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    int64_t n = sql_col_int64(st, 0);
    sql_reset(st);
    return n;
}

static void schema_ok(struct sql_conn *c)
{
    struct errs e;
    errs_init(&e);
    ck_assert_msg(spool_pg_schema(c, &e) == 0, "%s", errs_first_msg(&e));
    errs_free(&e);
}

/* ---- the same round trip on both engines ------------------------------- */

static void roundtrip(struct sql_conn *c, const char *create)
{
    static const unsigned char blob[] = { 'a', 0, 0xff, '\\', 'x', 0 };
    exec_ok(c, create);
    struct sql_stmt *ins = sql_prepare(c, "INSERT INTO t(s, n, b) "
                                       "VALUES(?1, ?2, ?3) RETURNING id");
    ck_assert_msg(ins != NULL, "%s", sql_errmsg(c));
    int64_t ids[4];
    const char *texts[] = { "it's ? $1 'quoted'", NULL, "", "Zoë" };
    const int64_t nums[] = { INT64_MIN, INT64_MAX, 0, -1 };
    for (int i = 0; i < 4; i++) {
        ins = sql_prepare(c, "INSERT INTO t(s, n, b) VALUES(?1, ?2, ?3) "
                          "RETURNING id");
        ck_assert_int_eq(sql_bind_text(ins, 1, texts[i]), 0);
        ck_assert_int_eq(sql_bind_int64(ins, 2, nums[i]), 0);
        if (i == 0)
            sql_bind_blob(ins, 3, blob, sizeof blob);
        else if (i == 2)
            sql_bind_blob(ins, 3, "", 0);     /* empty, not NULL */
        ck_assert_int_eq(sql_step(ins), SQL_STEP_ROW);
        ids[i] = sql_col_int64(ins, 0);
        ck_assert_int_gt(ids[i], 0);
        ck_assert_int_eq(sql_step(ins), SQL_STEP_DONE);
    }
    ck_assert_int_ne(ids[0], ids[1]);
    struct sql_stmt *sel = sql_prepare(c, "SELECT s, n, b, '?' FROM t "
                                       "WHERE id = ? ORDER BY id");
    ck_assert_msg(sel != NULL, "%s", sql_errmsg(c));
    for (int i = 0; i < 4; i++) {
        sel = sql_prepare(c, "SELECT s, n, b, '?' FROM t WHERE id = ? "
                          "ORDER BY id");
        sql_bind_int64(sel, 1, ids[i]);
        ck_assert_int_eq(sql_step(sel), SQL_STEP_ROW);
        if (texts[i])
            ck_assert_str_eq(sql_col_text(sel, 0), texts[i]);
        else
            ck_assert(sql_col_null(sel, 0) && !sql_col_text(sel, 0));
        ck_assert(sql_col_int64(sel, 1) == nums[i]);
        size_t n = 99;
        const void *b = sql_col_blob(sel, 2, &n);
        if (i == 0) {
            ck_assert_uint_eq(n, sizeof blob);
            ck_assert(memcmp(b, blob, sizeof blob) == 0);
        } else if (i == 2) {
            ck_assert_ptr_nonnull(b);
            ck_assert_uint_eq(n, 0);
        } else {
            ck_assert_ptr_null(b);
            ck_assert(sql_col_null(sel, 2));
        }
        ck_assert_str_eq(sql_col_text(sel, 3), "?");
        ck_assert_int_eq(sql_step(sel), SQL_STEP_DONE);
    }
    /* changes: an UPDATE says how many rows it touched */
    struct sql_stmt *up = sql_prepare(c, "UPDATE t SET n = n WHERE n >= ?");
    sql_bind_int64(up, 1, -1);
    ck_assert_int_eq(sql_step(up), SQL_STEP_DONE);
    ck_assert_int_eq(sql_changes(up), 3);
    /* one statement per text, whatever the address */
    char copy[64];
    snprintf(copy, sizeof copy, "%s", "UPDATE t SET n = n WHERE n >= ?");
    ck_assert_ptr_eq(sql_prepare(c, copy), up);
    /* a statement of the caller's own: not the cached one, same rows, and
     * two of the same text side by side keep their own rows */
    struct sql_stmt *o1 = sql_prepare_own(c, "SELECT n FROM t WHERE n >= ? "
                                          "ORDER BY n");
    struct sql_stmt *o2 = sql_prepare_own(c, "SELECT n FROM t WHERE n >= ? "
                                          "ORDER BY n");
    ck_assert_msg(o1 && o2, "%s", sql_errmsg(c));
    ck_assert_ptr_ne(o1, o2);
    ck_assert_ptr_ne(o1, sql_prepare(c, "SELECT n FROM t WHERE n >= ? "
                                     "ORDER BY n"));
    sql_bind_int64(o1, 1, 0);
    sql_bind_int64(o2, 1, INT64_MAX);
    ck_assert_int_eq(sql_step(o1), SQL_STEP_ROW);
    ck_assert_int_eq(sql_step(o2), SQL_STEP_ROW);
    ck_assert(sql_col_int64(o1, 0) == 0);
    ck_assert(sql_col_int64(o2, 0) == INT64_MAX);
    ck_assert_int_eq(sql_step(o2), SQL_STEP_DONE);
    ck_assert_int_eq(sql_step(o1), SQL_STEP_ROW);
    ck_assert(sql_col_int64(o1, 0) == INT64_MAX);
    ck_assert_int_eq(sql_step(o1), SQL_STEP_DONE);
    sql_reset(o1);                  /* again, the same binding */
    ck_assert_int_eq(sql_step(o1), SQL_STEP_ROW);
    ck_assert(sql_col_int64(o1, 0) == 0);
    sql_finalize(o1);
    sql_finalize(o2);
    sql_finalize(NULL);
    /* a bad text fails at the prepare (SQLite) or at its first step
     * (PostgreSQL, which sees it only then) */
    struct sql_stmt *bad = sql_prepare_own(c, "SELECT nope FROM t");
    ck_assert(!bad || sql_step(bad) == SQL_STEP_ERROR);
    ck_assert(sql_errmsg(c)[0] != '\0');
    sql_finalize(bad);
    /* transactions */
    ck_assert(!sql_in_txn(c));
    ck_assert_int_eq(sql_begin(c), 0);
    ck_assert(sql_in_txn(c));
    exec_ok(c, "DELETE FROM t");
    sql_rollback(c);
    ck_assert(!sql_in_txn(c));
    ck_assert_int_eq(count_of(c, "SELECT count(*) FROM t"), 4);
    ck_assert_int_eq(sql_begin(c), 0);
    exec_ok(c, "DELETE FROM t WHERE s IS NULL");
    ck_assert_int_eq(sql_commit(c), 0);
    ck_assert_int_eq(count_of(c, "SELECT count(*) FROM t"), 3);
}

START_TEST(test_same_roundtrip_sqlite_and_postgresql)
{
    char path[600];
    struct errs e;
    errs_init(&e);
    snprintf(path, sizeof path, "%s/rt.db", tmp);
    unlink(path);
    struct sql_desc d = { .backend = SQL_SQLITE, .path = path };
    struct sql_conn *lite = sql_open(&d, &e);
    ck_assert_msg(lite != NULL, "%s", errs_first_msg(&e));
    ck_assert_int_eq(sql_backend(lite), SQL_SQLITE);
    roundtrip(lite, "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, "
              "n INTEGER, b BLOB)");
    sql_close(lite);
    struct sql_conn *pg = fresh("rt");
    ck_assert_int_eq(sql_backend(pg), SQL_POSTGRESQL);
    roundtrip(pg, "CREATE TABLE t(id BIGINT GENERATED ALWAYS AS IDENTITY "
              "PRIMARY KEY, s TEXT, n BIGINT, b BYTEA)");
    sql_close(pg);
    errs_free(&e);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(test_pg_errors_are_classed)
{
    struct sql_conn *a = fresh("errs");
    exec_ok(a, "CREATE TABLE u(k TEXT PRIMARY KEY, v BIGINT)");
    exec_ok(a, "INSERT INTO u VALUES('one', 1)");
    /* a constraint: permanent, SQLSTATE and PostgreSQL's own words */
    struct sql_stmt *st = sql_prepare(a, "INSERT INTO u(k, v) VALUES(?, ?)");
    sql_bind_text(st, 1, "one");
    sql_bind_int64(st, 2, 2);
    ck_assert_int_eq(sql_step(st), SQL_STEP_ERROR);
    ck_assert_int_eq(sql_error(a)->cls, SQL_PERMANENT);
    ck_assert_str_eq(sql_error(a)->state, "23505");
    ck_assert_ptr_nonnull(strstr(sql_errmsg(a), "duplicate key"));
    ck_assert_ptr_null(strchr(sql_errmsg(a), '\n'));
    /* a syntax error at prepare: permanent */
    ck_assert_ptr_null(sql_prepare(a, "SELEC 1"));
    ck_assert_ptr_null(sql_prepare(a, "SELECT nope FROM u"));
    ck_assert_int_eq(sql_error(a)->cls, SQL_PERMANENT);
    /* a lock another session holds past lock_timeout: retryable */
    struct sql_conn *b = connect_db("errs", 200);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(sql_begin(a), 0);
    exec_ok(a, "UPDATE u SET v = 5 WHERE k = 'one'");
    st = sql_prepare(b, "UPDATE u SET v = ? WHERE k = 'one'");
    sql_bind_int64(st, 1, 6);
    ck_assert_int_eq(sql_step(st), SQL_STEP_ERROR);
    ck_assert_int_eq(sql_error(b)->cls, SQL_RETRYABLE);
    ck_assert_str_eq(sql_error(b)->state, "55P03");
    sql_rollback(a);
    /* the session killed under it: connection lost, then a reconnect
     * and the cached statement works again */
    st = sql_prepare(a, "SELECT pg_backend_pid()");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    int64_t pid = sql_col_int64(st, 0);
    sql_reset(st);
    struct sql_stmt *kill = sql_prepare(b, "SELECT pg_terminate_backend(?)");
    sql_bind_int64(kill, 1, pid);
    ck_assert_int_eq(sql_step(kill), SQL_STEP_ROW);
    ck_assert_int_eq(sql_col_int64(kill, 0), 1);
    sql_reset(kill);
    usleep(100000);
    /* outside a transaction the layer makes the session again (once):
     * preparing and reading are safe to redo */
    st = sql_prepare(a, "SELECT v FROM u WHERE k = ?");
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(sql_reconnect(a), 0);
    st = sql_prepare(a, "SELECT v FROM u WHERE k = ?");
    sql_bind_text(st, 1, "one");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    ck_assert_int_eq(sql_col_int64(st, 0), 1);
    sql_reset(st);
    /* the new session has the ledger's settings again */
    st = sql_prepare(a, "SELECT current_setting('lock_timeout'), "
                     "current_setting('TimeZone')");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    ck_assert_str_eq(sql_col_text(st, 0), "10s");
    ck_assert_str_eq(sql_col_text(st, 1), "UTC");
    sql_reset(st);
    sql_close(a);
    sql_close(b);
}
END_TEST

/* kill_session - a's session terminated from b (a restart, a failover) */
static void kill_session(struct sql_conn *a, struct sql_conn *b)
{
    struct sql_stmt *st = sql_prepare(a, "SELECT pg_backend_pid()");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    int64_t pid = sql_col_int64(st, 0);
    sql_reset(st);
    struct sql_stmt *kill = sql_prepare(b, "SELECT pg_terminate_backend(?)");
    sql_bind_int64(kill, 1, pid);
    ck_assert_int_eq(sql_step(kill), SQL_STEP_ROW);
    ck_assert_int_eq(sql_col_int64(kill, 0), 1);
    sql_reset(kill);
    usleep(100000);
}

static int64_t count_u(struct sql_conn *b)
{
    struct sql_stmt *st = sql_prepare(b, "SELECT count(*) FROM u");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    int64_t n = sql_col_int64(st, 0);
    sql_reset(st);
    return n;
}

START_TEST(test_pg_lost_session_redone_only_where_safe)
{
    struct sql_conn *a = fresh("lost");
    struct sql_conn *b = connect_db("lost", 0);
    ck_assert_ptr_nonnull(b);
    exec_ok(a, "CREATE TABLE u(k TEXT PRIMARY KEY, v BIGINT)");
    exec_ok(a, "INSERT INTO u VALUES('one', 1)");
    static const char rd[] = "SELECT v FROM u WHERE k = ?";
    /* a reader outside a transaction, prepared on the old session: it is
     * run again on a new one, and answers */
    struct sql_stmt *st = sql_prepare(a, rd);
    kill_session(a, b);
    st = sql_prepare(a, rd);
    ck_assert_ptr_nonnull(st);
    sql_bind_text(st, 1, "one");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    ck_assert_int_eq(sql_col_int64(st, 0), 1);
    sql_reset(st);
    /* a write outside a transaction is never redone (did it commit?):
     * it fails once, the next one goes on a new session */
    static const char wr[] = "INSERT INTO u(k, v) VALUES(?, ?)";
    st = sql_prepare(a, wr);
    kill_session(a, b);
    int64_t before = count_u(b);
    sql_bind_text(st, 1, "two");
    sql_bind_int64(st, 2, 2);
    ck_assert_int_eq(sql_step(st), SQL_STEP_ERROR);
    ck_assert_int_eq(sql_error(a)->cls, SQL_CONN_LOST);
    ck_assert_int_eq(count_u(b), before);
    st = sql_prepare(a, wr);
    ck_assert_ptr_nonnull(st);
    sql_bind_text(st, 1, "three");
    sql_bind_int64(st, 2, 3);
    ck_assert_int_eq(sql_step(st), SQL_STEP_DONE);
    ck_assert_int_eq(count_u(b), before + 1);
    /* inside a transaction nothing is redone, read or write: every call
     * fails until the caller rolls back; then readers work again */
    ck_assert_int_eq(sql_begin(a), 0);
    st = sql_prepare(a, rd);
    sql_bind_text(st, 1, "one");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    sql_reset(st);
    kill_session(a, b);
    st = sql_prepare(a, rd);
    ck_assert(st == NULL || sql_step(st) == SQL_STEP_ERROR);
    ck_assert_int_eq(sql_error(a)->cls, SQL_CONN_LOST);
    ck_assert_ptr_null(sql_prepare(a, "SELECT k FROM u ORDER BY k"));
    ck_assert(sql_in_txn(a));      /* still the caller's to end */
    sql_rollback(a);
    ck_assert(!sql_in_txn(a));
    st = sql_prepare(a, rd);
    ck_assert_ptr_nonnull(st);
    sql_bind_text(st, 1, "one");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    sql_reset(st);
    /* a BEGIN on a session lost while idle is sent again */
    kill_session(a, b);
    ck_assert_int_eq(sql_begin(a), 0);
    sql_rollback(a);
    sql_close(a);
    sql_close(b);
}
END_TEST

START_TEST(test_pg_connect_failure_names_no_password)
{
    char ci[256];
    struct errs e;
    errs_init(&e);
    /* trust authentication accepts any password: a user that does not
     * exist is refused, with the password in the string */
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=nosuchuser "
             "password=S3cretPw dbname=postgres", pg_port);
    struct sql_desc d = { .backend = SQL_POSTGRESQL, .conninfo = ci };
    ck_assert_ptr_null(sql_open(&d, &e));
    char *all = errs_join(&e, "");
    ck_assert_ptr_nonnull(strstr(all, "nosuchuser"));
    ck_assert_ptr_nonnull(strstr(all, "password=***"));
    ck_assert_ptr_null(strstr(all, "S3cretPw"));
    free(all);
    errs_free(&e);
}
END_TEST

/* ---- group commit -------------------------------------------------------- */

START_TEST(test_pg_pipeline_commits_a_group_in_one_sync)
{
    struct sql_conn *c = fresh("pipe");
    exec_ok(c, "CREATE TABLE g(id BIGINT GENERATED ALWAYS AS IDENTITY "
            "PRIMARY KEY, ref TEXT NOT NULL UNIQUE, body BYTEA)");
    char ref[32];
    ck_assert_int_eq(sql_pipeline_begin(c), 0);
    ck_assert_int_eq(sql_begin(c), 0);
    for (int i = 0; i < 1000; i++) {
        struct sql_stmt *st = sql_prepare(c, "INSERT INTO g(ref, body) "
                                          "VALUES(?, ?)");
        snprintf(ref, sizeof ref, "R%05d", i);   /* copied when sent */
        sql_bind_text(st, 1, ref);
        sql_bind_blob(st, 2, ref, 3);
        ck_assert_int_eq(sql_step(st), SQL_STEP_DONE);
    }
    ck_assert_int_eq(sql_commit(c), 0);
    ck_assert_msg(sql_pipeline_end(c) == 0, "%s", sql_errmsg(c));
    ck_assert_int_eq(count_of(c, "SELECT count(*) FROM g"), 1000);
    /* a group with one bad row: nothing of it stays */
    ck_assert_int_eq(sql_pipeline_begin(c), 0);
    ck_assert_int_eq(sql_begin(c), 0);
    for (int i = 0; i < 10; i++) {
        struct sql_stmt *st = sql_prepare(c, "INSERT INTO g(ref, body) "
                                          "VALUES(?, ?)");
        snprintf(ref, sizeof ref, "S%05d", i == 5 ? 4 : i);
        sql_bind_text(st, 1, ref);
        ck_assert_int_eq(sql_step(st), SQL_STEP_DONE);
    }
    sql_commit(c);
    ck_assert_int_eq(sql_pipeline_end(c), -1);
    ck_assert_str_eq(sql_error(c)->state, "23505");
    sql_rollback(c);
    ck_assert(!sql_in_txn(c));
    ck_assert_int_eq(count_of(c, "SELECT count(*) FROM g"), 1000);
    ck_assert_int_eq(count_of(c, "SELECT count(*) FROM g WHERE ref LIKE "
                              "'S%'"), 0);
    /* a group larger than any socket buffer (2,000 rows of 8 KiB): sent
     * as the server reads it, never stuck */
    static unsigned char big[8192];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(sql_pipeline_begin(c), 0);
    ck_assert_int_eq(sql_begin(c), 0);
    for (int i = 0; i < 2000; i++) {
        struct sql_stmt *st = sql_prepare(c, "INSERT INTO g(ref, body) "
                                          "VALUES(?, ?)");
        snprintf(ref, sizeof ref, "B%05d", i);
        sql_bind_text(st, 1, ref);
        sql_bind_blob(st, 2, big, sizeof big);
        ck_assert_int_eq(sql_step(st), SQL_STEP_DONE);
    }
    ck_assert_int_eq(sql_commit(c), 0);
    ck_assert_msg(sql_pipeline_end(c) == 0, "%s", sql_errmsg(c));
    ck_assert_int_eq(count_of(c, "SELECT count(*) FROM g WHERE "
                              "length(body) = 8192"), 2000);
    /* the application name ferry sets unless the string says otherwise */
    struct sql_stmt *an = sql_prepare(c, "SELECT current_setting("
                                      "'application_name')");
    ck_assert_int_eq(sql_step(an), SQL_STEP_ROW);
    ck_assert_str_eq(sql_col_text(an, 0), "ferry");
    sql_reset(an);
    sql_close(c);
}
END_TEST

struct rows {
    char ref[2400][16];
};

static int bind_ref(void *arg, struct sql_stmt *st, int param, size_t row)
{
    struct rows *r = arg;
    if (sql_bind_text(st, param, r->ref[row]) != 0)
        return -1;
    return sql_bind_blob(st, param + 1, r->ref[row], 2);
}

/* insert_rows_on - 2,345 rows (2 x 1000 + 3 x 100 + 4 x 10 + 5 x 1) in
 * one group; then a group with a duplicate that leaves nothing */
static void insert_rows_on(struct sql_conn *c)
{
    static struct rows r;
    for (int i = 0; i < 2345; i++)
        snprintf(r.ref[i], sizeof r.ref[i], "M%05d", i);
    ck_assert_int_eq(sql_pipeline_begin(c), 0);
    ck_assert_int_eq(sql_begin(c), 0);
    ck_assert_int_eq(sql_insert_rows(c, "INSERT INTO g(ref, body)", 2, 2345,
                                     bind_ref, &r), 0);
    ck_assert_int_eq(sql_commit(c), 0);
    ck_assert_msg(sql_pipeline_end(c) == 0, "%s", sql_errmsg(c));
    ck_assert_int_eq(count_of(c, "SELECT count(*) FROM g"), 2345);
    ck_assert_int_eq(count_of(c, "SELECT count(DISTINCT ref) FROM g WHERE "
                              "length(body) = 2"), 2345);
    struct sql_stmt *st = sql_prepare(c, "SELECT body FROM g WHERE ref = ?");
    sql_bind_text(st, 1, "M02344");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    size_t n = 0;
    const void *b = sql_col_blob(st, 0, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(b, "M0", 2) == 0);
    sql_reset(st);
    for (int i = 0; i < 150; i++)
        snprintf(r.ref[i], sizeof r.ref[i], "N%05d", i == 120 ? 7 : i);
    ck_assert_int_eq(sql_pipeline_begin(c), 0);
    ck_assert_int_eq(sql_begin(c), 0);
    int rc = sql_insert_rows(c, "INSERT INTO g(ref, body)", 2, 150,
                             bind_ref, &r);
    if (rc == 0)
        rc = sql_commit(c);
    int end = sql_pipeline_end(c);
    /* refused: at once on SQLite, at the sync on PostgreSQL */
    ck_assert(rc != 0 || end != 0);
    sql_rollback(c);
    ck_assert_int_eq(count_of(c, "SELECT count(*) FROM g"), 2345);
    ck_assert_int_eq(sql_insert_rows(c, "INSERT INTO g(ref, body)", 33, 1,
                                     bind_ref, &r), -1);
}

START_TEST(test_insert_rows_many_at_a_time_on_both)
{
    char path[600];
    struct errs e;
    errs_init(&e);
    snprintf(path, sizeof path, "%s/rows.db", tmp);
    unlink(path);
    struct sql_desc d = { .backend = SQL_SQLITE, .path = path };
    struct sql_conn *lite = sql_open(&d, &e);
    ck_assert_ptr_nonnull(lite);
    exec_ok(lite, "CREATE TABLE g(id INTEGER PRIMARY KEY, ref TEXT NOT NULL "
            "UNIQUE, body BLOB)");
    insert_rows_on(lite);
    sql_close(lite);
    struct sql_conn *pg = fresh("rows");
    exec_ok(pg, "CREATE TABLE g(id BIGINT GENERATED ALWAYS AS IDENTITY "
            "PRIMARY KEY, ref TEXT NOT NULL UNIQUE, body BYTEA)");
    insert_rows_on(pg);
    sql_close(pg);
    errs_free(&e);
}
END_TEST

/* ---- schema -------------------------------------------------------------- */

START_TEST(test_pg_schema_built_once_with_version_and_identity)
{
    struct sql_conn *c = fresh("sch");
    schema_ok(c);
    schema_ok(c);                          /* a second node: left alone */
    struct sql_stmt *st = sql_prepare(c, "SELECT value FROM meta WHERE "
                                      "name = 'schema_version'");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    char want[8];
    snprintf(want, sizeof want, "%d", SPOOL_SCHEMA_VERSION);
    ck_assert_str_eq(sql_col_text(st, 0), want);
    sql_reset(st);
    st = sql_prepare(c, "SELECT value FROM meta WHERE name = 'spool_id'");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    ck_assert_uint_eq(strlen(sql_col_text(st, 0)), SPOOL_ID_LEN - 1);
    sql_reset(st);
    /* the counter_totals triggers, as plpgsql */
    exec_ok(c, "INSERT INTO counters VALUES('svc','2026-01-01','n',2)");
    exec_ok(c, "INSERT INTO counters VALUES('svc','2026-01-02','n',3)");
    exec_ok(c, "UPDATE counters SET value = 10 WHERE day = '2026-01-02'");
    ck_assert_int_eq(count_of(c, "SELECT value FROM counter_totals WHERE "
                              "service = 'svc' AND name = 'n'"), 12);
    exec_ok(c, "DELETE FROM counters WHERE day = '2026-01-01'");
    ck_assert_int_eq(count_of(c, "SELECT value FROM counter_totals WHERE "
                              "service = 'svc' AND name = 'n'"), 10);
    /* a newer ledger is refused */
    exec_ok(c, "UPDATE meta SET value = '999' WHERE name = "
            "'schema_version'");
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_pg_schema(c, &e), -1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "newer"));
    errs_free(&e);
    sql_close(c);
}
END_TEST

/* lite_shape - the SQLite ledger's tables (columns: name, type, NOT
 * NULL), views (column names), indexes and triggers, one line each */
static void lite_shape(sqlite3 *db, struct buf *b)
{
    sqlite3_stmt *o = NULL, *c = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT type, name FROM "
        "sqlite_master WHERE type IN ('table','view') AND name NOT LIKE "
        "'sqlite_%' ORDER BY name", -1, &o, NULL), SQLITE_OK);
    while (sqlite3_step(o) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(o, 0);
        const char *name = (const char *)sqlite3_column_text(o, 1);
        bool view = strcmp(type, "view") == 0;
        char sql[200];
        snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", name);
        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &c, NULL),
                         SQLITE_OK);
        while (sqlite3_step(c) == SQLITE_ROW) {
            const char *col = (const char *)sqlite3_column_text(c, 1);
            const char *t = (const char *)sqlite3_column_text(c, 2);
            bool nn = sqlite3_column_int(c, 3) || sqlite3_column_int(c, 5);
            const char *pt = strcmp(t, "INTEGER") == 0 ? "bigint"
                           : strcmp(t, "TEXT") == 0 ? "text"
                           : strcmp(t, "BLOB") == 0 ? "bytea" : t;
            if (view)
                buf_printf(b, "view %s: %s\n", name, col);
            else
                buf_printf(b, "table %s: %s %s%s\n", name, col, pt,
                           nn ? " not null" : "");
        }
        sqlite3_finalize(c);
    }
    sqlite3_finalize(o);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT type, name FROM "
        "sqlite_master WHERE type IN ('index','trigger') AND sql IS NOT "
        "NULL ORDER BY type, name", -1, &o, NULL), SQLITE_OK);
    while (sqlite3_step(o) == SQLITE_ROW)
        buf_printf(b, "%s %s\n", sqlite3_column_text(o, 0),
                   sqlite3_column_text(o, 1));
    sqlite3_finalize(o);
}

/* pg_only_indexes - the indexes PostgreSQL has and SQLite has not, on
 * purpose (spool/pg_schema.c says why): batch_members_rec, for the
 * foreign key checks of a purge's deletes, which SQLite's purge turns
 * off.  Any other difference is drift.  (Index columns are not
 * compared: records_batch is (batch_id, id) on PostgreSQL.) */
static const char *const pg_only_indexes[] = { "batch_members_rec", NULL };

static bool pg_only_index(const char *name)
{
    for (const char *const *p = pg_only_indexes; *p; p++)
        if (strcmp(*p, name) == 0)
            return true;
    return false;
}

static void pg_shape(struct sql_conn *c, struct buf *b)
{
    struct sql_stmt *st = sql_prepare(c,
        "SELECT t.table_type, c.table_name, c.column_name, c.data_type,"
        " c.is_nullable FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_schema ="
        " c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = 'public'"
        " ORDER BY c.table_name, c.ordinal_position");
    ck_assert_msg(st != NULL, "%s", sql_errmsg(c));
    while (sql_step(st) == SQL_STEP_ROW) {
        if (strcmp(sql_col_text(st, 0), "VIEW") == 0)
            buf_printf(b, "view %s: %s\n", sql_col_text(st, 1),
                       sql_col_text(st, 2));
        else
            buf_printf(b, "table %s: %s %s%s\n", sql_col_text(st, 1),
                       sql_col_text(st, 2), sql_col_text(st, 3),
                       strcmp(sql_col_text(st, 4), "NO") == 0
                       ? " not null" : "");
    }
    st = sql_prepare(c,
        "SELECT 'index', i.relname FROM pg_class i"
        " JOIN pg_index x ON x.indexrelid = i.oid"
        " JOIN pg_namespace n ON n.oid = i.relnamespace"
        " WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM"
        " pg_constraint k WHERE k.conindid = i.oid)"
        " UNION ALL SELECT 'trigger', tgname FROM pg_trigger"
        " WHERE NOT tgisinternal ORDER BY 1, 2");
    ck_assert_msg(st != NULL, "%s", sql_errmsg(c));
    size_t pg_only = 0;
    while (sql_step(st) == SQL_STEP_ROW) {
        if (strcmp(sql_col_text(st, 0), "index") == 0 &&
            pg_only_index(sql_col_text(st, 1))) {
            pg_only++;
            continue;
        }
        buf_printf(b, "%s %s\n", sql_col_text(st, 0), sql_col_text(st, 1));
    }
    /* the list names what is there: an entry PostgreSQL lost is drift */
    ck_assert_uint_eq(pg_only, sizeof pg_only_indexes / sizeof
                      pg_only_indexes[0] - 1);
}

START_TEST(test_pg_schema_matches_sqlite_table_by_table)
{
    char dir[600], path[700];
    struct errs e;
    errs_init(&e);
    snprintf(dir, sizeof dir, "%s/shape", tmp);
    struct spool *s = spool_open(dir, NULL, &e);
    ck_assert_msg(s != NULL, "%s", errs_first_msg(&e));
    spool_close(s);
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    struct buf lite, pg;
    buf_init(&lite, 0);
    buf_init(&pg, 0);
    lite_shape(db, &lite);
    sqlite3_close(db);
    struct sql_conn *c = fresh("shape");
    schema_ok(c);
    pg_shape(c, &pg);
    /* the indexes that differ on purpose are the ones meant */
    struct sql_stmt *ix = sql_prepare(c, "SELECT indexname, indexdef FROM "
        "pg_indexes WHERE indexname IN ('records_batch', "
        "'batch_members_rec') ORDER BY indexname");
    ck_assert_msg(ix != NULL, "%s", sql_errmsg(c));
    ck_assert_int_eq(sql_step(ix), SQL_STEP_ROW);
    ck_assert_ptr_nonnull(strstr(sql_col_text(ix, 1),
                                 "batch_members USING btree (record_id)"));
    ck_assert_int_eq(sql_step(ix), SQL_STEP_ROW);
    ck_assert_ptr_nonnull(strstr(sql_col_text(ix, 1), "(batch_id, id) WHERE "
                                 "(batch_id IS NOT NULL)"));
    sql_reset(ix);
    sql_close(c);
    ck_assert_msg(SPOOL_PG_SCHEMA_VERSION == SPOOL_SCHEMA_VERSION,
                  "the SQLite ledger is at schema v%d, the PostgreSQL "
                  "one at v%d: add the step to spool/pg_schema.c",
                  SPOOL_SCHEMA_VERSION, SPOOL_PG_SCHEMA_VERSION);
    ck_assert_ptr_nonnull(lite.data);
    ck_assert_ptr_nonnull(pg.data);
    ck_assert_ptr_nonnull(strstr(lite.data, "table records: id bigint "
                                 "not null\n"));
    /* the first line that differs, from each side */
    const char *a = lite.data, *b = pg.data;
    while (*a && *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        ck_assert_msg(la == lb && memcmp(a, b, la) == 0,
                      "schemas differ: SQLite has \"%.*s\", PostgreSQL "
                      "\"%.*s\"", (int)la, a, (int)lb, b);
        a += la + (a[la] ? 1 : 0);
        b += lb + (b[lb] ? 1 : 0);
    }
    ck_assert_msg(!*a && !*b, "schemas differ: only one side has \"%.60s\"",
                  *a ? a : b);
    buf_free(&lite);
    buf_free(&pg);
    errs_free(&e);
}
END_TEST

/* ---- claims ---------------------------------------------------------------- */

static void add_records(struct sql_conn *c, const char *target, int n,
                        int64_t due_in_ms)
{
    char ref[32], did[40];
    int64_t now = 0;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_pg_now_ms(c, &now, &e), 0);
    ck_assert_int_eq(sql_begin(c), 0);
    for (int i = 0; i < n; i++) {
        struct sql_stmt *st = sql_prepare(c, "INSERT INTO records(ref, "
            "service, target, received_at, state, next_attempt_at, "
            "updated_at, delivery_id) VALUES(?1, 'svc', ?2, ?3, 'queued', "
            "?4, ?3, ?5)");
        snprintf(ref, sizeof ref, "FRY-%s-%06d", target, i);
        snprintf(did, sizeof did, "%s-%06d", target, i);
        sql_bind_text(st, 1, ref);
        sql_bind_text(st, 2, target);
        sql_bind_int64(st, 3, now);
        sql_bind_int64(st, 4, now + due_in_ms);
        sql_bind_text(st, 5, did);
        ck_assert_msg(sql_step(st) == SQL_STEP_DONE, "%s", sql_errmsg(c));
    }
    ck_assert_int_eq(sql_commit(c), 0);
    errs_free(&e);
}

#define NREC 3000

struct claimer {
    const char *owner;
    int64_t ids[NREC];
    size_t n;
    int failed;
};

static void *claim_all(void *arg)
{
    struct claimer *cl = arg;
    struct sql_conn *c = connect_db("claims", 0);
    struct spool_pg_claimed got[50];
    struct errs e;
    errs_init(&e);
    if (!c) {
        cl->failed = 1;
        return NULL;
    }
    for (int round = 0; round < NREC; round++) {     /* bounded */
        int k = spool_pg_claim(c, "soap", cl->owner, 60000, 50, got, &e);
        if (k < 0) {
            fprintf(stderr, "claim: %s\n", errs_first_msg(&e));
            cl->failed = 1;
            break;
        }
        if (k == 0)
            break;
        for (int i = 0; i < k && cl->n < NREC; i++)
            cl->ids[cl->n++] = got[i].id;
    }
    errs_free(&e);
    sql_close(c);
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_pg_two_claimers_never_take_one_record)
{
    struct sql_conn *c = fresh("claims");
    schema_ok(c);
    add_records(c, "soap", NREC, 0);
    static struct claimer a = { .owner = "node-a" }, b = { .owner = "node-b" };
    pthread_t ta, tb;
    pthread_create(&ta, NULL, claim_all, &a);
    pthread_create(&tb, NULL, claim_all, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ck_assert(!a.failed && !b.failed);
    static int64_t all[2 * NREC];
    memcpy(all, a.ids, a.n * sizeof *all);
    memcpy(all + a.n, b.ids, b.n * sizeof *all);
    size_t n = a.n + b.n;
    ck_assert_uint_eq(n, NREC);
    qsort(all, n, sizeof *all, cmp64);
    for (size_t i = 1; i < n; i++)
        ck_assert_msg(all[i] != all[i - 1], "record %lld claimed twice",
                      (long long)all[i]);
    /* both did work (else this proves nothing about concurrency) */
    ck_assert_uint_gt(a.n, 0);
    ck_assert_uint_gt(b.n, 0);
    ck_assert_int_eq(count_of(c, "SELECT count(*) FROM records WHERE state "
                              "= 'delivering' AND attempts = 1"), NREC);
    ck_assert_int_eq(count_of(c, "SELECT count(DISTINCT lease_owner) FROM "
                              "records"), 2);
    sql_close(c);
}
END_TEST

START_TEST(test_pg_lease_on_database_clock_returns_when_it_runs_out)
{
    struct sql_conn *a = fresh("lease");
    schema_ok(a);
    add_records(a, "soap", 1, 0);
    add_records(a, "later", 1, 60000);   /* due in a minute */
    struct sql_conn *b = connect_db("lease", 0);
    ck_assert_ptr_nonnull(b);
    struct spool_pg_claimed got[4];
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_pg_claim(a, "later", "node-a", 500, 4, got, &e),
                     0);
    ck_assert_int_eq(spool_pg_claim(a, "soap", "node-a", 500, 4, got, &e),
                     1);
    ck_assert(!got[0].expired);
    int64_t id = got[0].id;
    /* the lease is the database's now + 500 ms */
    int64_t now = 0;
    ck_assert_int_eq(spool_pg_now_ms(b, &now, &e), 0);
    int64_t until = count_of(b, "SELECT lease_until FROM records WHERE "
                             "target = 'soap'");
    ck_assert_int_le(until, now + 500);
    ck_assert_int_gt(until, now + 200);
    /* held: another node gets nothing */
    ck_assert_int_eq(spool_pg_claim(b, "soap", "node-b", 500, 4, got, &e),
                     0);
    /* run out: it returns, marked as an expired claim */
    int k = 0;
    for (int i = 0; i < 50 && k == 0; i++) {        /* up to 5 s */
        usleep(100000);
        k = spool_pg_claim(b, "soap", "node-b", 60000, 4, got, &e);
        ck_assert_int_ge(k, 0);
    }
    ck_assert_int_eq(k, 1);
    ck_assert(got[0].id == id);
    ck_assert(got[0].expired);
    ck_assert_int_eq(count_of(b, "SELECT attempts FROM records WHERE "
                              "target = 'soap'"), 2);
    struct sql_stmt *st = sql_prepare(b, "SELECT lease_owner FROM records "
                                      "WHERE target = 'soap'");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    ck_assert_str_eq(sql_col_text(st, 0), "node-b");
    sql_reset(st);
    ck_assert_int_eq(spool_pg_claim(a, "soap", "", 500, 4, got, &e), -1);
    errs_free(&e);
    sql_close(a);
    sql_close(b);
}
END_TEST

/* ---- job locks ------------------------------------------------------------- */

START_TEST(test_pg_job_lock_one_session_and_released_by_its_death)
{
    struct sql_conn *a = fresh("jobs");
    struct sql_conn *b = connect_db("jobs", 0);
    ck_assert_ptr_nonnull(b);
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_pg_joblock_try(a, "night", &e), 1);
    ck_assert_int_eq(spool_pg_joblock_try(b, "night", &e), 0);
    ck_assert_int_eq(spool_pg_joblock_try(b, "reconcile", &e), 1);
    ck_assert_int_eq(spool_pg_joblock_release(b, "night", &e), -1);
    ck_assert_int_eq(spool_pg_joblock_release(a, "night", &e), 0);
    ck_assert_int_eq(spool_pg_joblock_try(b, "night", &e), 1);
    ck_assert_int_eq(spool_pg_joblock_release(b, "night", &e), 0);
    ck_assert_int_eq(spool_pg_joblock_release(b, "reconcile", &e), 0);
    /* a node that takes the lock and is killed lets it go */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct sql_conn *k = connect_db("jobs", 0);
        struct errs ke;
        errs_init(&ke);
        char r = k && spool_pg_joblock_try(k, "night", &ke) == 1 ? 'y' : 'n';
        if (write(p[1], &r, 1) != 1)
            _exit(2);
        pause();
        _exit(0);
    }
    char r = 0;
    ck_assert_int_eq(read(p[0], &r, 1), 1);
    ck_assert_int_eq(r, 'y');
    ck_assert_int_eq(spool_pg_joblock_try(b, "night", &e), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    int got = 0;
    for (int i = 0; i < 100 && got == 0; i++) {     /* up to 10 s */
        got = spool_pg_joblock_try(b, "night", &e);
        if (got == 0)
            usleep(100000);
    }
    ck_assert_int_eq(got, 1);
    close(p[0]);
    close(p[1]);
    errs_free(&e);
    sql_close(a);
    sql_close(b);
}
END_TEST

/* ---- the audit chain on PostgreSQL ----------------------------------------- */

static unsigned char audit_key[SPOOL_KEY_LEN];

static struct spool_audit_chain chain_on(struct sql_conn *c, bool keyed,
                                         char *pending, size_t n)
{
    static char head[600];
    snprintf(head, sizeof head, "%s/audit.head", tmp);
    memset(audit_key, 0x5a, sizeof audit_key);
    return (struct spool_audit_chain){ .c = c, .keyed = keyed,
        .key = audit_key, .head_path = head, .pending = pending,
        .pendingsz = n, .where = "pg" };
}

static void append_ok(struct spool_audit_chain *ac, const char *ref,
                      const char *detail)
{
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(sql_begin(ac->c), 0);
    ck_assert_msg(spool_audit_chain_append(ac, 1700000000000, "alice",
                  "retry", ref, "fixed", "failed", "queued", detail, &e)
                  == 0, "%s", errs_first_msg(&e));
    ck_assert_msg(sql_commit(ac->c) == 0, "%s", sql_errmsg(ac->c));
    errs_free(&e);
}

START_TEST(test_pg_audit_chain_appends_verifies_and_catches_a_rewrite)
{
    struct sql_conn *c = fresh("aud");
    schema_ok(c);
    char pending[100] = "";
    struct spool_audit_chain ac = chain_on(c, true, pending, sizeof pending);
    append_ok(&ac, "FRY-1", "first");
    append_ok(&ac, "FRY-2", "second");
    append_ok(&ac, "FRY-1", "third");
    ck_assert_ptr_nonnull(strstr(pending, "3 "));
    struct errs e;
    errs_init(&e);
    struct spool_audit_proof p;
    ck_assert_msg(spool_audit_chain_verify(&ac, NULL, &p, &e) == 0, "%s",
                  errs_first_msg(&e));
    ck_assert_uint_eq(p.checked, 3);
    ck_assert_uint_eq(p.keyed, 3);
    ck_assert_int_eq(p.last_id, 3);
    char head[96];
    ck_assert_int_eq(spool_audit_chain_head(&ac, head, sizeof head, &e), 0);
    ck_assert_ptr_nonnull(strstr(head, p.last_hash));
    ck_assert_int_eq(spool_audit_chain_verify(&ac, head, &p, &e), 0);
    ck_assert(p.expected_checked);
    struct spool_audit_list l = { 0 };
    ck_assert_int_eq(spool_audit_chain_list(&ac, "FRY-1", &l, &e), 0);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_str_eq(l.v[1].detail, "third");
    ck_assert_str_eq(l.v[0].actor, "alice");
    ck_assert(l.v[0].keyed);
    spool_audit_list_free(&l);
    /* a writer without the key is refused once the chain is keyed */
    struct spool_audit_chain plain = chain_on(c, false, pending,
                                              sizeof pending);
    ck_assert_int_eq(sql_begin(c), 0);
    ck_assert_int_eq(spool_audit_chain_append(&plain, 1, "mallory", "x",
                     NULL, NULL, "", "", NULL, &e), -1);
    sql_rollback(c);
    /* a rewrite of the middle entry is named */
    exec_ok(c, "UPDATE audit SET detail = 'forged' WHERE id = 2");
    errs_clear(&e);
    ck_assert_int_eq(spool_audit_chain_verify(&ac, NULL, &p, &e), 1);
    ck_assert_int_eq(p.bad_id, 2);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "HMAC"));
    /* and removing the newest is caught by the head kept in meta */
    exec_ok(c, "UPDATE audit SET detail = 'second' WHERE id = 2");
    exec_ok(c, "DELETE FROM audit WHERE id = 3");
    errs_clear(&e);
    ck_assert_int_eq(spool_audit_chain_verify(&ac, NULL, &p, &e), 1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "removed"));
    errs_free(&e);
    sql_close(c);
}
END_TEST

#define NAPPEND 40

static void *append_many(void *arg)
{
    const char *who = arg;
    struct sql_conn *c = connect_db("audmany", 0);
    char pending[100];
    struct errs e;
    errs_init(&e);
    if (!c)
        return (void *)1;
    struct spool_audit_chain ac = chain_on(c, true, pending, sizeof pending);
    intptr_t bad = 0;
    for (int i = 0; i < NAPPEND && !bad; i++) {
        if (sql_begin(c) != 0
            || spool_audit_chain_append(&ac, i, who, "hold", "FRY-9", "r",
                                        "queued", "held", NULL, &e) != 0
            || sql_commit(c) != 0) {
            fprintf(stderr, "append: %s %s\n", errs_first_msg(&e),
                    sql_errmsg(c));
            bad = 1;
        }
    }
    errs_free(&e);
    sql_close(c);
    return (void *)bad;
}

START_TEST(test_pg_audit_concurrent_appenders_keep_one_chain)
{
    struct sql_conn *c = fresh("audmany");
    schema_ok(c);
    pthread_t ta, tb;
    void *ra, *rb;
    pthread_create(&ta, NULL, append_many, "node-a");
    pthread_create(&tb, NULL, append_many, "node-b");
    pthread_join(ta, &ra);
    pthread_join(tb, &rb);
    ck_assert_ptr_null(ra);
    ck_assert_ptr_null(rb);
    char pending[100];
    struct spool_audit_chain ac = chain_on(c, true, pending, sizeof pending);
    struct spool_audit_proof p;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(spool_audit_chain_verify(&ac, NULL, &p, &e) == 0, "%s",
                  errs_first_msg(&e));
    ck_assert_uint_eq(p.checked, 2 * NAPPEND);
    errs_free(&e);
    sql_close(c);
}
END_TEST

/* ---- the server ------------------------------------------------------------ */

static int pg_up(void)
{
    const char *root = getenv("FERRY_ROOT");
    const char *t = getenv("TMPDIR");
    char cmd[1200], line[1200] = "";
    snprintf(tmp, sizeof tmp, "%s/check_sql_pg.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp))
        return -1;
    chmod(tmp, 0755);
    snprintf(cmd, sizeof cmd, "bash '%s/tests/peers/pg_unit.sh' start '%s'",
             root && *root ? root : ".", tmp);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    bool got = fgets(line, sizeof line, f) != NULL;
    int rc = pclose(f);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
        printf("skip: %s", got ? line : "PostgreSQL not installed\n");
        return 77;
    }
    if (!got || rc != 0 || sscanf(line, "%15s %511s %511s", pg_port, pg_dir,
                                  pg_own) != 3) {
        fprintf(stderr, "PostgreSQL did not start: %s\n", line);
        return -1;
    }
    return 0;
}

static void pg_down(void)
{
    const char *root = getenv("FERRY_ROOT");
    char cmd[1700];
    snprintf(cmd, sizeof cmd, "bash '%s/tests/peers/pg_unit.sh' stop '%s' "
             "'%s'; rm -rf '%s'", root && *root ? root : ".", pg_dir,
             pg_own, tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "stopping PostgreSQL failed\n");
}

static Suite *sql_pg_suite(void)
{
    Suite *s = suite_create("sql_pg");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_same_roundtrip_sqlite_and_postgresql);
    tcase_add_test(tc, test_pg_errors_are_classed);
    tcase_add_test(tc, test_pg_lost_session_redone_only_where_safe);
    tcase_add_test(tc, test_pg_connect_failure_names_no_password);
    tcase_add_test(tc, test_pg_pipeline_commits_a_group_in_one_sync);
    tcase_add_test(tc, test_insert_rows_many_at_a_time_on_both);
    tcase_add_test(tc, test_pg_schema_built_once_with_version_and_identity);
    tcase_add_test(tc, test_pg_schema_matches_sqlite_table_by_table);
    tcase_add_test(tc, test_pg_two_claimers_never_take_one_record);
    tcase_add_test(tc, test_pg_lease_on_database_clock_returns_when_it_runs_out);
    tcase_add_test(tc, test_pg_job_lock_one_session_and_released_by_its_death);
    tcase_add_test(tc, test_pg_audit_chain_appends_verifies_and_catches_a_rewrite);
    tcase_add_test(tc, test_pg_audit_concurrent_appenders_keep_one_chain);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int up = pg_up();
    if (up == 77)
        return 77;
    if (up != 0)
        return 1;
    SRunner *sr = srunner_create(sql_pg_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    pg_down();
    return failed ? 1 : 0;
}
