/* check_joblock.c - job locks: a second taker (another process, or another
 * open in this one) gets the holder's PID; a killed holder releases the
 * lock; release clears the PID; bad job names are refused.  Through a
 * spool (joblock_take): the lock file and, on a PostgreSQL spool
 * (FERRY_TEST_PG), the advisory lock that keeps nodes apart, which a
 * node killed mid-job lets go. */
#include <check.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scheduler/joblock.h"
#include "spool/spool.h"
#include "tests/unit/spool_test.h"
#include "util/errs.h"

static char dir[256];

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/check_joblock.XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *lockdir(void)
{
    static char p[300];
    snprintf(p, sizeof p, "%s/locks", dir);
    return p;
}

static void read_lockfile(const char *job, char *out, size_t n)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s.lock", lockdir(), job);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t r = fread(out, 1, n - 1, f);
    out[r] = '\0';
    fclose(f);
}

START_TEST(test_acquire_creates_folder_and_writes_pid)
{
    struct errs e;
    errs_init(&e);
    struct joblock *l = NULL;
    pid_t holder = -1;
    ck_assert_int_eq(joblock_acquire(lockdir(), "nightly", &l, &holder, &e), 0);
    ck_assert_ptr_nonnull(l);
    struct stat st;
    ck_assert_int_eq(stat(lockdir(), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    char buf[64], want[64];
    read_lockfile("nightly", buf, sizeof buf);
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    ck_assert_str_eq(buf, want);
    joblock_release(l);
    read_lockfile("nightly", buf, sizeof buf);
    ck_assert_str_eq(buf, "");                 /* no stale PID */
    errs_free(&e);
}
END_TEST

START_TEST(test_second_open_in_same_process_is_refused_with_our_pid)
{
    struct errs e;
    errs_init(&e);
    struct joblock *a = NULL, *b = NULL;
    pid_t holder = 0;
    ck_assert_int_eq(joblock_acquire(lockdir(), "nightly", &a, NULL, &e), 0);
    ck_assert_int_eq(joblock_acquire(lockdir(), "nightly", &b, &holder, &e), 1);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(holder, getpid());
    /* another job is independent */
    ck_assert_int_eq(joblock_acquire(lockdir(), "purge", &b, NULL, &e), 0);
    joblock_release(b);
    joblock_release(a);
    ck_assert_int_eq(joblock_acquire(lockdir(), "nightly", &b, NULL, &e), 0);
    joblock_release(b);
    ck_assert_int_eq(e.n, 0);
    errs_free(&e);
}
END_TEST

START_TEST(test_other_process_holds_then_its_death_releases)
{
    int ready[2], go[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct errs e;
        errs_init(&e);
        struct joblock *l = NULL;
        char c = joblock_acquire(lockdir(), "nightly", &l, NULL, &e) == 0
                     ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(2);
        char x;
        (void)!read(go[0], &x, 1);        /* wait to be killed */
        _exit(0);
    }
    char c = 0;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');

    struct errs e;
    errs_init(&e);
    struct joblock *l = NULL;
    pid_t holder = 0;
    ck_assert_int_eq(joblock_acquire(lockdir(), "nightly", &l, &holder, &e), 1);
    ck_assert_int_eq(holder, child);

    ck_assert_int_eq(kill(child, SIGKILL), 0);     /* a crashed holder */
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFSIGNALED(status));

    ck_assert_int_eq(joblock_acquire(lockdir(), "nightly", &l, &holder, &e), 0);
    char buf[64], want[64];
    read_lockfile("nightly", buf, sizeof buf);
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    ck_assert_str_eq(buf, want);
    joblock_release(l);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    errs_free(&e);
}
END_TEST

START_TEST(test_bad_job_names_are_refused)
{
    const char *bad[] = {"", "../x", "a/b", ".hidden", "sp ace", "x\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct errs e;
        errs_init(&e);
        struct joblock *l = (struct joblock *)1;
        ck_assert_int_eq(joblock_acquire(lockdir(), bad[i], &l, NULL, &e), -1);
        ck_assert_ptr_null(l);
        ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "bad job name"));
        errs_free(&e);
    }
}
END_TEST

START_TEST(test_unusable_folder_is_an_error)
{
    char file[400];
    snprintf(file, sizeof file, "%s/plainfile", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    struct errs e;
    errs_init(&e);
    struct joblock *l = NULL;
    ck_assert_int_eq(joblock_acquire(file, "nightly", &l, NULL, &e), -1);
    ck_assert_int_eq(e.n, 1);
    errs_free(&e);
    joblock_release(NULL);
}
END_TEST

/* sp_open - the spool in dir/spool (a second open is a second node's
 * connection to the same ledger) */
static struct spool *sp_open(void)
{
    char p[300];
    struct errs e;
    errs_init(&e);
    snprintf(p, sizeof p, "%s/spool", dir);
    struct spool *s = test_spool_open(p, NULL, &e);
    ck_assert_msg(s != NULL, "open: %s", errs_first_msg(&e));
    errs_free(&e);
    return s;
}

/* on_pg - the spools of this run are PostgreSQL ones */
static bool on_pg(void)
{
    return test_spool_pg() != NULL;
}

START_TEST(test_take_through_a_spool_file_then_nodes)
{
    struct spool *a = sp_open(), *b = sp_open();
    struct errs e;
    errs_init(&e);
    struct joblock *l = NULL, *m = NULL;
    pid_t holder = -1;
    ck_assert_int_eq(joblock_take(a, "nightly", &l, &holder, &e), 0);
    /* this host: the lock file says who */
    ck_assert_int_eq(joblock_take(b, "nightly", &m, &holder, &e), 1);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(holder, getpid());
    /* another node (its own connection, no lock file of ours): only a
     * PostgreSQL spool has one, and there it is kept out */
    ck_assert_int_eq(spool_joblock_take(b, "nightly", &e), on_pg() ? 1 : 0);
    if (!on_pg())
        spool_joblock_release(b, "nightly");
    ck_assert_int_eq(spool_joblock_take(b, "purge", &e), 0);
    spool_joblock_release(b, "purge");
    joblock_release(l);
    ck_assert_int_eq(spool_joblock_take(b, "nightly", &e), 0);
    /* now the other node holds it: joblock_take here says so */
    ck_assert_int_eq(joblock_take(a, "nightly", &l, &holder, &e),
                     on_pg() ? 2 : 0);
    joblock_release(l);
    spool_joblock_release(b, "nightly");
    ck_assert_int_eq(e.n, 0);
    errs_free(&e);
    spool_close(b);
    spool_close(a);
}
END_TEST

START_TEST(test_node_killed_mid_job_lets_it_go)
{
    int ready[2], go[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    struct spool *a = sp_open();
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* another node: its own connection, holding the job */
        char p[300];
        struct errs e;
        errs_init(&e);
        snprintf(p, sizeof p, "%s/spool", dir);
        struct spool *k = test_spool_open(p, NULL, &e);
        char c = k && spool_joblock_take(k, "nightly", &e) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(2);
        char x;
        (void)!read(go[0], &x, 1);        /* wait to be killed */
        _exit(0);
    }
    char c = 0;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_joblock_take(a, "nightly", &e), on_pg() ? 1 : 0);
    if (!on_pg())
        spool_joblock_release(a, "nightly");
    ck_assert_int_eq(kill(child, SIGKILL), 0);     /* the node dies */
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    /* its session ends as the server notices the closed socket */
    int r = 1;
    for (int i = 0; i < 100 && r == 1; i++) {
        r = spool_joblock_take(a, "nightly", &e);
        if (r == 1)
            usleep(50 * 1000);
    }
    ck_assert_int_eq(r, 0);
    struct joblock *l = NULL;
    spool_joblock_release(a, "nightly");
    ck_assert_int_eq(joblock_take(a, "nightly", &l, NULL, &e), 0);
    joblock_release(l);
    ck_assert_int_eq(e.n, 0);
    errs_free(&e);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    spool_close(a);
}
END_TEST

static Suite *joblock_suite(void)
{
    Suite *s = suite_create("joblock");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_acquire_creates_folder_and_writes_pid);
    tcase_add_test(tc, test_second_open_in_same_process_is_refused_with_our_pid);
    tcase_add_test(tc, test_other_process_holds_then_its_death_releases);
    tcase_add_test(tc, test_bad_job_names_are_refused);
    tcase_add_test(tc, test_unusable_folder_is_an_error);
    tcase_add_test(tc, test_take_through_a_spool_file_then_nodes);
    tcase_add_test(tc, test_node_killed_mid_job_lets_it_go);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(joblock_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
