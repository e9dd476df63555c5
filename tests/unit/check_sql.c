/* check_sql.c - the statement layer's rules that need no server: the
 * ?N -> $N rewrite (literals, quoted names, comments and dollar quotes
 * left alone); SQLite errors classed (a busy ledger is retryable, a
 * constraint permanent); the statement cache; the advisory lock key; and
 * the PostgreSQL connection file (0600 or refused, never quoted in a
 * message, its password never in a description).  The same layer
 * against a real PostgreSQL is check_sql_pg.c. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/sql.h"
#include "util/errs.h"

static char dir[256];

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/check_sql.XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void rewrites(const char *in, const char *want, int want_n)
{
    int n = -1;
    char *out = sql_pg_placeholders(in, &n);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(n, want_n);
    free(out);
}

START_TEST(test_placeholders_numbered_like_sqlite)
{
    rewrites("SELECT 1", "SELECT 1", 0);
    rewrites("VALUES(?, ?, ?)", "VALUES($1, $2, $3)", 3);
    rewrites("a = ?1 AND b = ?1 AND c = ?2", "a = $1 AND b = $1 AND c = $2",
             2);
    /* a bare ? takes the number after the highest so far */
    rewrites("?3, ?, ?1, ?", "$3, $4, $1, $5", 5);
    rewrites("x=?12", "x=$12", 12);
}
END_TEST

START_TEST(test_placeholders_not_in_literals_names_or_comments)
{
    rewrites("SELECT '?', 'it''s ?', ?", "SELECT '?', 'it''s ?', $1", 1);
    rewrites("SELECT E'\\'?', ?", "SELECT E'\\'?', $1", 1);
    rewrites("SELECT \"odd?name\" FROM t WHERE a = ?",
             "SELECT \"odd?name\" FROM t WHERE a = $1", 1);
    rewrites("SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2", 2);
    rewrites("SELECT /* a ? /* nested ? */ still ? */ ?",
             "SELECT /* a ? /* nested ? */ still ? */ $1", 1);
    rewrites("DO $$ BEGIN PERFORM '?'; END $$; SELECT ?",
             "DO $$ BEGIN PERFORM '?'; END $$; SELECT $1", 1);
    rewrites("SELECT $tag$ ? $tag$, ?", "SELECT $tag$ ? $tag$, $1", 1);
    /* $N written by hand stays */
    rewrites("SELECT $1", "SELECT $1", 0);
    /* an unterminated literal is left to the server to refuse */
    rewrites("SELECT 'open ?", "SELECT 'open ?", 0);
}
END_TEST

static struct sql_conn *lite(const char *name, int busy_ms)
{
    char path[400];
    struct errs e;
    errs_init(&e);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct sql_desc d = { .backend = SQL_SQLITE, .path = path,
                          .busy_timeout_ms = busy_ms };
    struct sql_conn *c = sql_open(&d, &e);
    ck_assert_msg(c != NULL, "%s", errs_first_msg(&e));
    errs_free(&e);
    return c;
}

START_TEST(test_sqlite_errors_classed_busy_retryable_constraint_permanent)
{
    struct sql_conn *a = lite("l.db", 50), *b = lite("l.db", 50);
    ck_assert_int_eq(sql_exec(a, "CREATE TABLE u(k TEXT PRIMARY KEY)"), 0);
    ck_assert_int_eq(sql_exec(a, "INSERT INTO u VALUES('one')"), 0);
    struct sql_stmt *st = sql_prepare(a, "INSERT INTO u(k) VALUES(?)");
    ck_assert_ptr_nonnull(st);
    sql_bind_text(st, 1, "one");
    ck_assert_int_eq(sql_step(st), SQL_STEP_ERROR);
    ck_assert_int_eq(sql_error(a)->cls, SQL_PERMANENT);
    ck_assert_ptr_nonnull(strstr(sql_errmsg(a), "UNIQUE"));
    ck_assert_str_eq(sql_error(a)->state, "");
    /* another writer holds the ledger past the busy wait */
    ck_assert_int_eq(sql_begin(a), 0);
    ck_assert_int_eq(sql_begin(b), -1);
    ck_assert_int_eq(sql_error(b)->cls, SQL_RETRYABLE);
    ck_assert(!sql_in_txn(b));
    sql_rollback(a);
    ck_assert_int_eq(sql_begin(b), 0);
    sql_rollback(b);
    /* a statement that cannot be prepared fails at prepare */
    ck_assert_ptr_null(sql_prepare(a, "SELEC 1"));
    ck_assert_int_eq(sql_error(a)->cls, SQL_PERMANENT);
    /* the layer's frame for groups and locks is a no-op here */
    ck_assert_int_eq(sql_pipeline_begin(a), 0);
    ck_assert_int_eq(sql_lock_xact(a, "audit"), 0);
    ck_assert_int_eq(sql_pipeline_end(a), 0);
    ck_assert_int_eq(sql_reconnect(a), 0);
    sql_close(a);
    sql_close(b);
}
END_TEST

START_TEST(test_sqlite_statement_cache_by_text)
{
    struct sql_conn *c = lite("c.db", 0);
    ck_assert_int_eq(sql_exec(c, "CREATE TABLE t(n INTEGER)"), 0);
    char a[64], b[64];
    snprintf(a, sizeof a, "SELECT count(*) FROM t WHERE n > ?");
    snprintf(b, sizeof b, "SELECT count(*) FROM t WHERE n > ?");
    struct sql_stmt *s1 = sql_prepare(c, a);
    ck_assert_ptr_nonnull(s1);
    sql_bind_int64(s1, 1, 5);
    ck_assert_int_eq(sql_step(s1), SQL_STEP_ROW);
    /* the same text at another address: the same statement, unbound */
    ck_assert_ptr_eq(sql_prepare(c, b), s1);
    ck_assert_int_eq(sql_step(s1), SQL_STEP_ROW);
    ck_assert_int_eq(sql_col_int64(s1, 0), 0);
    sql_close(c);
}
END_TEST

START_TEST(test_lock_key_depends_on_the_name_only)
{
    int64_t k = sql_lock_key("job:night");
    ck_assert(k == sql_lock_key("job:night"));
    ck_assert(k != sql_lock_key("job:nighT"));
    ck_assert(k != sql_lock_key("audit"));
    ck_assert(k != 0);
}
END_TEST

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_connection_file_must_be_private)
{
    char path[400];
    struct errs e;
    errs_init(&e);
    char *ci = NULL;
    snprintf(path, sizeof path, "%s/ledger.conn", dir);
    write_file(path, "host=db1 port=5433 dbname=ferry user=ferry "
               "password=Hunter2pw\n", 0644);
    ck_assert_int_eq(sql_conninfo_load(path, &ci, &e), -1);
    ck_assert_ptr_null(ci);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "chmod 600"));
    ck_assert_ptr_null(strstr(errs_first_msg(&e), "Hunter2pw"));
    errs_clear(&e);
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(sql_conninfo_load(path, &ci, &e), -1);
    errs_clear(&e);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(sql_conninfo_load(path, &ci, &e), 0);
    ck_assert_str_eq(ci, "host=db1 port=5433 dbname=ferry user=ferry "
                     "password=Hunter2pw");
    sql_conninfo_free(ci);
    /* not a connection string: refused without quoting it (libpq's own
     * reason would quote the text, which may be the password) */
    write_file(path, "host=db1 Hunter2pw\n", 0600);
    ck_assert_int_eq(sql_conninfo_load(path, &ci, &e), -1);
    char *all = errs_join(&e, "");
    ck_assert_ptr_null(strstr(all, "Hunter2pw"));
    ck_assert_ptr_nonnull(strstr(all, "not a libpq connection string"));
    free(all);
    errs_clear(&e);
    write_file(path, "\n", 0600);
    ck_assert_int_eq(sql_conninfo_load(path, &ci, &e), -1);
    errs_clear(&e);
    snprintf(path, sizeof path, "%s/none.conn", dir);
    ck_assert_int_eq(sql_conninfo_load(path, &ci, &e), -1);
    errs_free(&e);
}
END_TEST

START_TEST(test_connection_described_without_password)
{
    char out[256];
    sql_conninfo_describe("host=db1 port=5433 dbname=ferry user=ferry "
                          "password=Hunter2pw sslmode=require", out,
                          sizeof out);
    /* in libpq's order of options, the password last and hidden */
    ck_assert_str_eq(out, "user=ferry dbname=ferry host=db1 port=5433 "
                     "sslmode=require password=***");
    sql_conninfo_describe("postgresql://ferry:Hunter2pw@db1:5433/ferry",
                          out, sizeof out);
    ck_assert_ptr_null(strstr(out, "Hunter2pw"));
    ck_assert_ptr_nonnull(strstr(out, "host=db1"));
    ck_assert_ptr_nonnull(strstr(out, "password=***"));
    sql_conninfo_describe("host=db1 Hunter2pw", out, sizeof out);
    ck_assert_ptr_null(strstr(out, "Hunter2pw"));
    char small[12];
    sql_conninfo_describe("host=averyveryverylonghost password=x", small,
                          sizeof small);
    ck_assert_uint_lt(strlen(small), sizeof small);
}
END_TEST

static Suite *sql_suite(void)
{
    Suite *s = suite_create("sql");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_placeholders_numbered_like_sqlite);
    tcase_add_test(tc, test_placeholders_not_in_literals_names_or_comments);
    tcase_add_test(tc, test_sqlite_errors_classed_busy_retryable_constraint_permanent);
    tcase_add_test(tc, test_sqlite_statement_cache_by_text);
    tcase_add_test(tc, test_lock_key_depends_on_the_name_only);
    tcase_add_test(tc, test_connection_file_must_be_private);
    tcase_add_test(tc, test_connection_described_without_password);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sql_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
