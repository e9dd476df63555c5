/* spool_test.h - how the spool's unit tests open a spool, on SQLite or,
 * with FERRY_TEST_PG set, on PostgreSQL, so one test body checks both
 * ledgers (docs/spool.md, "Two backends, one set of promises").
 *
 * FERRY_TEST_PG is the libpq connection string of a maintenance
 * database (tests/integration/79_spool_pg.sh sets it to the postgres
 * database of a server it starts).  Each spool folder then gets a
 * database of its own, named from a hash of the folder's path
 * ("ferry_t_" and 16 hex digits: sql_lock_key of the path), created on
 * the first open and the same one on every reopen; the folder still
 * holds outbound/, inbound/, archive/, locks/ and audit.head.  The
 * databases this process made are dropped when it exits normally (a
 * Check child exits after each test that passes); a failed test's
 * stays, as its folder does, to be looked at.  FERRY_TEST_PG must be
 * key=value pairs (" dbname=..." is appended to it), not a URI.
 *
 * - test_spool_open(dir, opts, e): spool_open on the test's ledger;
 * - TEST_SQLITE_ONLY(): first line of a test that is SQLite's by nature
 *   (PRAGMA, WAL checkpoint, file backup, migrating old ledger.db files,
 *   poking ledger.db with sqlite3): it passes quietly on PostgreSQL;
 * - test_spool_sql(s): the open spool's statement-layer connection, to
 *   look at the ledger the same way on both (under no spool call);
 * - test_ledger_open(dir): a connection of its own to dir's ledger (no
 *   spool open), with test_ledger_count / test_ledger_exec for the
 *   common one-liners.
 * Header-only (static): each check_*.c is a binary of its own. */
#ifndef FERRY_TESTS_SPOOL_TEST_H
#define FERRY_TESTS_SPOOL_TEST_H
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/spool.h"
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/errs.h"

/* test_spool_pg - the maintenance database's conninfo, NULL on SQLite */
static inline const char *test_spool_pg(void)
{
    const char *v = getenv("FERRY_TEST_PG");
    return v && *v ? v : NULL;
}

#define TEST_SQLITE_ONLY()                                                \
    do {                                                                  \
        if (test_spool_pg())                                              \
            return;                                                       \
    } while (0)

/* test_db_name - the database of spool folder dir */
static inline void test_db_name(const char *dir, char out[32])
{
    snprintf(out, 32, "ferry_t_%016llx",
             (unsigned long long)(uint64_t)sql_lock_key(dir));
}

/* the databases made by this process, dropped at exit */
static char (*test_dbs_made)[32];
static size_t test_ndbs_made;

static inline struct sql_conn *test_pg_connect(const char *db,
                                               struct errs *e)
{
    char ci[1024];
    if (db)
        snprintf(ci, sizeof ci, "%s dbname=%s", test_spool_pg(), db);
    else
        snprintf(ci, sizeof ci, "%s", test_spool_pg());
    struct sql_desc d = { .backend = SQL_POSTGRESQL, .conninfo = ci };
    return sql_open(&d, e);
}

static inline void test_dbs_drop(void)
{
    struct errs e;
    errs_init(&e);
    struct sql_conn *adm = test_ndbs_made ? test_pg_connect(NULL, &e) : NULL;
    for (size_t i = 0; adm && i < test_ndbs_made; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
                 test_dbs_made[i]);
        if (sql_exec(adm, sql) != 0)
            fprintf(stderr, "spool_test: %s: %s\n", sql, sql_errmsg(adm));
    }
    sql_close(adm);
    errs_free(&e);
    free(test_dbs_made);
    test_dbs_made = NULL;
    test_ndbs_made = 0;
}

/* test_pg_ensure - dir's database exists (made now if not); its name in
 * db.  0, or -1 with e filled. */
static inline int test_pg_ensure(const char *dir, char db[32],
                                 struct errs *e)
{
    test_db_name(dir, db);
    struct sql_conn *adm = test_pg_connect(NULL, e);
    if (!adm)
        return -1;
    int rc = 0;
    struct sql_stmt *st = sql_prepare(adm, "SELECT count(*) FROM "
                                      "pg_database WHERE datname = ?1");
    if (!st || sql_bind_text(st, 1, db) != 0 || sql_step(st) != SQL_STEP_ROW) {
        errs_add(e, db, "looking for the test database: %s",
                 sql_errmsg(adm));
        rc = -1;
    } else if (sql_col_int64(st, 0) == 0) {
        sql_reset(st);
        char sql[64];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
        /* 42P04: another process made it in between */
        if (sql_exec(adm, sql) != 0
            && strcmp(sql_error(adm)->state, "42P04") != 0) {
            errs_add(e, db, "creating the test database: %s",
                     sql_errmsg(adm));
            rc = -1;
        } else {
            void *v = realloc(test_dbs_made,
                              (test_ndbs_made + 1) * sizeof *test_dbs_made);
            if (v) {
                test_dbs_made = v;
                snprintf(test_dbs_made[test_ndbs_made++], 32, "%s", db);
                if (test_ndbs_made == 1)
                    atexit(test_dbs_drop);
            }
        }
    }
    if (st)
        sql_reset(st);
    sql_close(adm);
    return rc;
}

/* test_spool_open - spool_open(dir, opts) on the test's ledger: SQLite,
 * or dir's own PostgreSQL database when FERRY_TEST_PG is set (opts'
 * pg_conninfo is then the test's) */
static inline struct spool *test_spool_open(const char *dir,
                                            const struct spool_opts *opts,
                                            struct errs *e)
{
    if (!test_spool_pg())
        return spool_open(dir, opts, e);
    char db[32], ci[1024];
    if (test_pg_ensure(dir, db, e) != 0)
        return NULL;
    snprintf(ci, sizeof ci, "%s dbname=%s", test_spool_pg(), db);
    struct spool_opts o;
    if (opts)
        o = *opts;
    else
        memset(&o, 0, sizeof o);
    o.pg_conninfo = ci;
    struct spool *s = spool_open(dir, &o, e);
    explicit_bzero(&o, sizeof o);
    return s;
}

/* test_spool_sql - the spool's own connection (sql.h): read the ledger
 * through it while no spool call runs */
static inline struct sql_conn *test_spool_sql(struct spool *s)
{
    return s->sql;
}

/* test_ledger_open - a connection of the test's own to dir's ledger:
 * ledger.db, or dir's PostgreSQL database; sql_close it */
static inline struct sql_conn *test_ledger_open(const char *dir)
{
    struct errs e;
    errs_init(&e);
    struct sql_conn *c = NULL;
    if (test_spool_pg()) {
        char db[32];
        if (test_pg_ensure(dir, db, &e) == 0)
            c = test_pg_connect(db, &e);
    } else {
        char p[4096];
        snprintf(p, sizeof p, "%s/ledger.db", dir);
        struct sql_desc d = { .backend = SQL_SQLITE, .path = p,
                              .busy_timeout_ms = 5000 };
        c = sql_open(&d, &e);
    }
    ck_assert_msg(c != NULL, "ledger of %s: %s", dir, errs_first_msg(&e));
    errs_free(&e);
    return c;
}

/* test_ledger_count - the first column of sql's one row in dir's ledger */
static inline int64_t test_ledger_count(const char *dir, const char *sql)
{
    struct sql_conn *c = test_ledger_open(dir);
    struct sql_stmt *st = sql_prepare(c, sql);
    ck_assert_msg(st != NULL, "%s: %s", sql, sql_errmsg(c));
    ck_assert_msg(sql_step(st) == SQL_STEP_ROW, "%s: %s", sql,
                  sql_errmsg(c));
    int64_t n = sql_col_int64(st, 0);
    sql_close(c);
    return n;
}

/* test_ledger_exec - run sql (no parameters) on dir's ledger */
static inline void test_ledger_exec(const char *dir, const char *sql)
{
    struct sql_conn *c = test_ledger_open(dir);
    ck_assert_msg(sql_exec(c, sql) == 0, "%s: %s", sql, sql_errmsg(c));
    sql_close(c);
}

#endif
