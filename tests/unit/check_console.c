/* check_console.c - the support console's accounts: scrypt hashes that
 * verify only the right password, the staff file's round trip, its
 * refusals (mode, malformed lines, duplicates), roles. */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console/console.h"
#include "util/errs.h"

static char tmpdir[512];
static char path[600];

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/check_console.XXXXXX", t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(path, sizeof path, "%s/staff", tmpdir);
}

static void teardown(void)
{
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

START_TEST(test_scrypt_verifies_only_the_password)
{
    struct errs e;
    errs_init(&e);
    char *h1 = NULL, *h2 = NULL;
    ck_assert_int_eq(console_password_hash("correct horse battery", &h1, &e), 0);
    ck_assert_int_eq(console_password_hash("correct horse battery", &h2, &e), 0);
    ck_assert_ptr_nonnull(strstr(h1, "scrypt$15$8$1$"));
    ck_assert_str_ne(h1, h2);                 /* a fresh salt each time */
    ck_assert(console_password_verify("correct horse battery", h1));
    ck_assert(console_password_verify("correct horse battery", h2));
    ck_assert(!console_password_verify("correct horse batterY", h1));
    ck_assert(!console_password_verify("", h1));
    /* a tampered hash or salt never verifies */
    char *t = strdup(h1);
    t[strlen(t) - 1] = t[strlen(t) - 1] == '0' ? '1' : '0';
    ck_assert(!console_password_verify("correct horse battery", t));
    t[20] = t[20] == 'a' ? 'b' : 'a';
    ck_assert(!console_password_verify("correct horse battery", t));
    ck_assert(!console_password_verify("correct horse battery", "scrypt$99$8$1$00$00"));
    ck_assert(!console_password_verify("x", "plain"));
    free(t);
    free(h1);
    free(h2);
    errs_free(&e);
}
END_TEST

START_TEST(test_short_password_refused)
{
    struct errs e;
    errs_init(&e);
    char *h = NULL;
    ck_assert_int_eq(console_password_hash("123456789", &h, &e), -1);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "at least 10"));
    errs_free(&e);
}
END_TEST

START_TEST(test_staff_file_round_trip_0600)
{
    struct errs e;
    errs_init(&e);
    struct console_staff_list l = { 0 };
    ck_assert_int_eq(console_staff_load(path, &l, &e), 0);   /* missing */
    ck_assert_uint_eq(l.n, 0);
    char *h = NULL;
    ck_assert_int_eq(console_password_hash("a long password", &h, &e), 0);
    ck_assert_int_eq(console_staff_set(&l, "alice", CONSOLE_SUPPORT, h), 0);
    ck_assert_int_eq(console_staff_set(&l, "bob.smith", CONSOLE_VIEWER, h), 0);
    console_staff_find(&l, "bob.smith")->disabled = true;
    ck_assert_int_eq(console_staff_save(path, &l, &e), 0);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    console_staff_list_free(&l);
    ck_assert_int_eq(console_staff_load(path, &l, &e), 0);
    ck_assert_uint_eq(l.n, 2);
    struct console_staff *a = console_staff_find(&l, "alice");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->role, CONSOLE_SUPPORT);
    ck_assert(!a->disabled);
    ck_assert(console_password_verify("a long password", a->hash));
    ck_assert(console_staff_find(&l, "bob.smith")->disabled);
    ck_assert_ptr_null(console_staff_find(&l, "carol"));
    console_staff_list_free(&l);
    free(h);
    errs_free(&e);
}
END_TEST

START_TEST(test_staff_file_refusals)
{
    struct errs e;
    errs_init(&e);
    struct console_staff_list l = { 0 };
    write_file("alice support active scrypt$15$8$1$aa$bb\n", 0644);
    ck_assert_int_eq(console_staff_load(path, &l, &e), -1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "chmod 600"));
    errs_clear(&e);
    write_file("# comment\nalice root active scrypt$15$8$1$aa$bb\n", 0600);
    ck_assert_int_eq(console_staff_load(path, &l, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.v[0].where, ":2"));
    errs_clear(&e);
    write_file("alice support active scrypt$1\nalice viewer active scrypt$2\n",
               0600);
    ck_assert_int_eq(console_staff_load(path, &l, &e), -1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "twice"));
    errs_clear(&e);
    write_file("al ice support active scrypt$1\n", 0600);
    ck_assert_int_eq(console_staff_load(path, &l, &e), -1);
    ck_assert_uint_eq(l.n, 0);
    errs_free(&e);
}
END_TEST

START_TEST(test_roles_and_names)
{
    enum console_role r;
    ck_assert_int_eq(console_role_parse("supervisor", &r), 0);
    ck_assert_int_eq(r, CONSOLE_SUPERVISOR);
    ck_assert_int_eq(console_role_parse("admin", &r), -1);
    ck_assert(CONSOLE_VIEWER < CONSOLE_SUPPORT && CONSOLE_SUPPORT < CONSOLE_SUPERVISOR);
    ck_assert_str_eq(console_role_name(CONSOLE_VIEWER), "viewer");
    ck_assert(console_staff_name_ok("a.b-c_9"));
    ck_assert(!console_staff_name_ok("a b"));
    ck_assert(!console_staff_name_ok(""));
    ck_assert(!console_staff_name_ok("x\n"));
}
END_TEST

static Suite *console_suite(void)
{
    Suite *su = suite_create("console");
    TCase *tc = tcase_create("staff");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_scrypt_verifies_only_the_password);
    tcase_add_test(tc, test_short_password_refused);
    tcase_add_test(tc, test_staff_file_round_trip_0600);
    tcase_add_test(tc, test_staff_file_refusals);
    tcase_add_test(tc, test_roles_and_names);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(console_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
