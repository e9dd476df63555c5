/* check_config.c - ferry.xml loading and `ferry check`'s problems.
 *
 * Data-driven: every folder tests/data/config/<case>/ holds a ferry.xml
 * (plus mappings, copybooks, secrets) and "expected", the problems
 * config_load + config_check must report, one per line, as
 * "file-basename:line: message", in the order produced.  Paths inside
 * messages are shown relative to the case folder.  Each case is copied to
 * a temporary folder first; there every file under secrets/ is made 0600
 * (git does not keep modes), then the optional "modes" file ("path 0644"
 * per line) sets modes on purpose.  An optional "env" file sets
 * NAME=VALUE variables (each case runs in its own forked process).
 * Adding a case needs no C.
 *
 * The rest are unit tests of the typed readers, paths and secrets. */
#include "config/config.h"
#include "spool/spool.h"
#include "scheduler/sched_check.h"
#include "util/buf.h"
#include "util/errs.h"

#include <check.h>
#include <stdarg.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CASES 128

static char *cases[MAX_CASES];
static int ncases;
static char data_dir[4096];

/* fmt - a formatted, malloc'ed string (tests: abort on no memory) */
__attribute__((format(printf, 1, 2)))
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    if (n < 0)
        abort();
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_cases(void)
{
    const char *root = getenv("FERRY_ROOT");
    snprintf(data_dir, sizeof data_dir, "%s/tests/data/config",
             root ? root : ".");
    DIR *d = opendir(data_dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) && ncases < MAX_CASES) {
        if (de->d_name[0] == '.')
            continue;
        char *p = fmt("%s/%s/ferry.xml", data_dir, de->d_name);
        if (access(p, F_OK) == 0)
            cases[ncases++] = strdup(de->d_name);
        free(p);
    }
    closedir(d);
    qsort(cases, (size_t)ncases, sizeof cases[0], cmp_str);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    buf_putc(&b, '\0');
    b.len--;
    return buf_take(&b);
}

/* replace_all - s with every "from" removed (paths made case-relative) */
static void strip_prefix(struct buf *out, const char *s, const char *from)
{
    size_t fl = strlen(from);
    while (*s) {
        if (fl && strncmp(s, from, fl) == 0) {
            s += fl;
            /* the case folder itself, "DIR/;": shown as "./" */
            if (!*s || *s == ';' || *s == ' ' || *s == ')' || *s == ',')
                buf_puts(out, "./");
            continue;
        }
        buf_putc(out, *s++);
    }
}

/* setup_case - copy the case to a temp folder and set modes/env there */
static void setup_case(const char *name, char *dir, size_t dirsz)
{
    const char *tmp = getenv("TMPDIR");
    char base[4096];
    snprintf(base, sizeof base, "%s/ferry-config-XXXXXX", tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(base));
    char *cmd = fmt("cp -R '%s/%s' '%s/' && "
                    "if [ -d '%s/%s/secrets' ]; then "
                    "find '%s/%s/secrets' -type f -exec chmod 600 {} +; fi",
                    data_dir, name, base, base, name, base, name);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    ck_assert_int_lt(snprintf(dir, dirsz, "%s/%s", base, name), (int)dirsz);

    char *p = fmt("%s/modes", dir);
    FILE *f = fopen(p, "r");
    free(p);
    if (f) {
        char rel[1024];
        unsigned mode;
        while (fscanf(f, "%1023s %o", rel, &mode) == 2) {
            char *fp = fmt("%s/%s", dir, rel);
            ck_assert_int_eq(chmod(fp, (mode_t)mode), 0);
            free(fp);
        }
        fclose(f);
    }
    p = fmt("%s/env", dir);
    f = fopen(p, "r");
    free(p);
    if (f) {
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = '\0';
            char *eq = strchr(line, '=');
            if (!eq)
                continue;
            *eq = '\0';
            setenv(line, eq + 1, 1);
        }
        fclose(f);
    }
}

static void remove_case(const char *dir)
{
    /* dir is <base>/<case>: remove <base> */
    const char *slash = strrchr(dir, '/');
    char *cmd = fmt("rm -rf '%.*s'", (int)(slash ? slash - dir
                                                 : (long)strlen(dir)), dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not run %s\n", cmd);
    free(cmd);
}

START_TEST(test_config_case)
{
    const char *name = cases[_i];
    char dir[4200];
    setup_case(name, dir, sizeof dir);
    char *path = fmt("%s/ferry.xml", dir);
    char *prefix = fmt("%s/", dir);

    struct errs e;
    errs_init(&e);
    struct ferry_config *c = NULL;
    int rc = config_load(path, &c, &e);
    size_t loaded = e.n;
    if (c)
        sched_check_config(c, &e);

    struct buf got;
    buf_init(&got, 0);
    for (size_t i = 0; i < e.n; i++) {
        const char *w = e.v[i].where;
        const char *slash = strrchr(w, '/');
        buf_printf(&got, "%s: ", slash ? slash + 1 : w);
        strip_prefix(&got, e.v[i].msg, prefix);
        buf_putc(&got, '\n');
    }
    char *ep = fmt("%s/expected", dir);
    char *want = read_all(ep);
    free(ep);
    ck_assert_msg(want != NULL, "%s: no expected file", name);
    if (strcmp(buf_str(&got), want) != 0)
        ck_abort_msg("case %s:\n--- expected\n%s--- got\n%s", name, want,
                     buf_str(&got));
    /* config_load says whether it found problems of its own */
    ck_assert_int_eq(rc, loaded ? -1 : 0);
    free(want);
    free(path);
    free(prefix);
    buf_free(&got);
    config_free(c);
    errs_free(&e);
    remove_case(dir);
}
END_TEST

START_TEST(test_config_good_values_read)
{
    char dir[4200];
    setup_case("good", dir, sizeof dir);
    char *path = fmt("%s/ferry.xml", dir);
    struct errs e;
    errs_init(&e);
    struct ferry_config *c = NULL;
    ck_assert_int_eq(config_load(path, &c, &e), 0);
    free(path);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->base_dir, dir);
    char *want = fmt("%s/var/ferry", dir);
    ck_assert_str_eq(c->spool_dir, want);
    free(want);
    ck_assert_str_eq(c->spool_key_file, "secrets/spool.key");
    ck_assert_uint_eq(c->spool_min_free_mb, 32);
    ck_assert_int_eq(c->log_format, LOG_JSON);
    ck_assert_int_eq(c->log_level, LOG_WARN);
    ck_assert_int_eq(c->shutdown_deadline_ms, 20000);
    ck_assert(c->intake.enabled);
    ck_assert_str_eq(c->intake.listen, "127.0.0.1:8080");
    ck_assert_int_eq(c->intake.token_window_s, 45);
    ck_assert_uint_eq(c->intake.max_body, 512 * 1024);
    ck_assert_int_eq(c->intake.max_depth, 16);
    ck_assert_int_eq(c->intake.max_fields, 500);
    ck_assert_int_eq(c->intake.max_connections, 100);
    ck_assert_int_eq(c->intake.request_timeout_ms, 5000);

    ck_assert_uint_eq(c->nclients, 1);
    const struct client_config *cl = config_client(c, "forms-frontend");
    ck_assert_ptr_nonnull(cl);
    ck_assert_str_eq(cl->secret_file, "secrets/forms.key");
    ck_assert_int_eq(cl->max_connections, 64);
    ck_assert_uint_eq(cl->nservices, 1);
    ck_assert_str_eq(cl->services[0], "claim");

    const struct target_config *t = config_target(c, "mainframe");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->type, "fixed-width");
    ck_assert_uint_eq(t->opts.n, 0);        /* name/type/concurrency/lease */
    ck_assert_int_eq(t->concurrency, 2);
    ck_assert_int_eq(t->lease_ms, 120000);
    ck_assert_str_eq(t->transport_type, "local");
    ck_assert_uint_eq(t->transport_opts.n, 1);
    ck_assert_str_eq(kv_get(&t->transport_opts, "dir"), "var/drop");
    ck_assert_int_eq(t->retry.initial_ms, 60000);
    ck_assert_int_eq(t->retry.factor_milli, 1500);
    ck_assert_int_eq(t->retry.max_delay_ms, 2LL * 3600 * 1000);
    ck_assert_int_eq(t->retry.jitter_pct, 10);
    ck_assert_int_eq(t->retry.max_attempts, 5);
    ck_assert_int_eq(t->retry.max_age_ms, 86400000);
    ck_assert_int_eq(t->breaker_threshold, 3);
    ck_assert_int_eq(t->breaker_cooldown_ms, 90000);
    ck_assert_str_eq(t->window, "Mon-Fri 07:00-20:00 Europe/London");
    ck_assert_uint_eq(t->nholidays, 2);
    ck_assert_str_eq(t->holidays[1], "2026-12-28");
    ck_assert_int_eq(t->line, 13);

    const struct service_config *s = config_service(c, "claim");
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->ntargets, 1);
    ck_assert_str_eq(s->targets[0], "mainframe");
    ck_assert_ptr_nonnull(s->mapping);
    want = fmt("%s/mappings/claim.xml", dir);
    ck_assert_str_eq(s->mapping_file, want);
    free(want);

    const struct job_config *j = config_job(c, "nightly");
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(j->schedule, "30 1 * * *");
    ck_assert_str_eq(j->action, "batch");
    ck_assert_str_eq(j->catch_up, "run");
    j = config_job(c, "retention");
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(j->tz, "Europe/London");        /* default */
    ck_assert_ptr_null(j->target);
    ck_assert_str_eq(j->catch_up, "skip");
    ck_assert_str_eq(kv_get(&j->opts, "older-than"), "90d");
    ck_assert_ptr_null(config_job(c, "nope"));
    ck_assert_ptr_null(config_target(c, "nope"));
    /* costs per channel, in pence, only where configured */
    ck_assert_int_eq(c->services[0].cost_pence[SPOOL_CH_HTTP], 35);
    ck_assert_int_eq(c->services[0].cost_pence[SPOOL_CH_CSV], 450);
    ck_assert_uint_eq(c->services[0].cost_set,
                      (1u << SPOOL_CH_HTTP) | (1u << SPOOL_CH_CSV));
    config_free(c);
    errs_free(&e);
    remove_case(dir);
}
END_TEST

START_TEST(test_config_defaults_minimal)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ferry-cfg-XXXXXX", tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[4200];
    snprintf(path, sizeof path, "%s/ferry.xml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<ferry xmlns=\"urn:ferry:config:1\">\n"
          "  <target name=\"t\" type=\"soap\"><retry/></target>\n"
          "</ferry>\n", f);
    fclose(f);
    struct errs e;
    errs_init(&e);
    struct ferry_config *c = NULL;
    config_load(path, &c, &e);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->spool_dir, "/var/spool/ferry");
    ck_assert_uint_eq(c->spool_min_free_mb, 64);
    ck_assert(!c->intake.enabled);
    ck_assert_int_eq(c->intake.token_window_s, 30);
    ck_assert_uint_eq(c->intake.max_body, 1u << 20);
    ck_assert_int_eq(c->intake.max_depth, 32);
    ck_assert_int_eq(c->intake.max_fields, 1000);
    ck_assert_int_eq(c->intake.max_connections, 256);
    ck_assert_int_eq(c->intake.request_timeout_ms, 10000);
    ck_assert_int_eq(c->shutdown_deadline_ms, 30000);
    ck_assert_int_eq(c->log_level, LOG_INFO);
    const struct target_config *t = &c->targets[0];
    ck_assert_int_eq(t->retry.initial_ms, 30000);
    ck_assert_int_eq(t->retry.factor_milli, 2000);
    ck_assert_int_eq(t->retry.max_delay_ms, 3600000);
    ck_assert_int_eq(t->retry.jitter_pct, 20);
    ck_assert_int_eq(t->retry.max_attempts, 10);
    ck_assert_int_eq(t->retry.max_age_ms, 3LL * 86400000);
    ck_assert_int_eq(t->concurrency, 8);
    ck_assert_int_eq(t->breaker_threshold, 5);
    ck_assert_int_eq(t->breaker_cooldown_ms, 60000);
    ck_assert_int_eq(t->lease_ms, 300000);
    ck_assert_ptr_null(t->window);
    config_free(c);
    errs_free(&e);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_config_missing_file)
{
    struct errs e;
    errs_init(&e);
    struct ferry_config *c = (struct ferry_config *)1;
    ck_assert_int_eq(config_load("/nonexistent/ferry.xml", &c, &e), -1);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(e.n, 1);
    ck_assert_str_eq(e.v[0].where, "/nonexistent/ferry.xml");
    errs_free(&e);
    config_free(NULL);
}
END_TEST

START_TEST(test_config_parse_size)
{
    size_t v;
    ck_assert_int_eq(config_parse_size("1MiB", &v), 0);
    ck_assert_uint_eq(v, 1048576);
    ck_assert_int_eq(config_parse_size("512k", &v), 0);
    ck_assert_uint_eq(v, 524288);
    ck_assert_int_eq(config_parse_size("2G", &v), 0);
    ck_assert_uint_eq(v, 2147483648u);
    ck_assert_int_eq(config_parse_size("4096", &v), 0);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(config_parse_size("10B", &v), 0);
    ck_assert_uint_eq(v, 10);
    ck_assert_int_eq(config_parse_size("1 MiB", &v), -1);
    ck_assert_int_eq(config_parse_size("1MB", &v), -1);
    ck_assert_int_eq(config_parse_size("-1", &v), -1);
    ck_assert_int_eq(config_parse_size("", &v), -1);
    ck_assert_int_eq(config_parse_size("99999999999999999999", &v), -1);
    ck_assert_int_eq(config_parse_size("99999999999999GiB", &v), -1);
}
END_TEST

START_TEST(test_config_parse_bool_int)
{
    bool b = false;
    ck_assert_int_eq(config_parse_bool("yes", &b), 0);
    ck_assert(b);
    ck_assert_int_eq(config_parse_bool("False", &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(config_parse_bool("NO", &b), 0);
    ck_assert_int_eq(config_parse_bool("maybe", &b), -1);
    long v;
    ck_assert_int_eq(config_parse_int("42", 0, 100, &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(config_parse_int("-3", -5, 5, &v), 0);
    ck_assert_int_eq(v, -3);
    ck_assert_int_eq(config_parse_int("101", 0, 100, &v), -1);
    ck_assert_int_eq(config_parse_int("4x", 0, 100, &v), -1);
    ck_assert_int_eq(config_parse_int("", 0, 100, &v), -1);
    ck_assert_int_eq(config_parse_int(" 4", 0, 100, &v), -1);
    ck_assert_int_eq(config_parse_int("99999999999999999999", 0, 100, &v), -1);
}
END_TEST

START_TEST(test_config_path_resolution)
{
    char *p = config_path("/etc/ferry", "mappings/a.xml");
    ck_assert_str_eq(p, "/etc/ferry/mappings/a.xml");
    free(p);
    p = config_path("/etc/ferry", "/abs/a.xml");
    ck_assert_str_eq(p, "/abs/a.xml");
    free(p);
    p = config_path(".", "a.xml");
    ck_assert_str_eq(p, "a.xml");
    free(p);
    ck_assert_ptr_null(config_path("x", NULL));
    ck_assert_str_eq(config_find_default("given.xml"), "given.xml");
}
END_TEST

START_TEST(test_config_read_secret)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ferry-sec-XXXXXX", tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[4200];
    snprintf(path, sizeof path, "%s/k", dir);
    FILE *f = fopen(path, "w");
    fputs("s3cret\r\n", f);
    fclose(f);
    struct errs e;
    errs_init(&e);
    char *s = NULL;
    size_t n = 0;
    chmod(path, 0644);
    ck_assert_int_eq(config_read_secret(dir, "k", &s, &n, &e), -1);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(e.v[0].msg, "readable by others (mode 0644)"),
                  "%s", e.v[0].msg);
    chmod(path, 0600);
    ck_assert_int_eq(config_read_secret(dir, "k", &s, &n, &e), 0);
    ck_assert_str_eq(s, "s3cret");
    ck_assert_uint_eq(n, 6);
    free(s);
    ck_assert_int_eq(config_read_secret(dir, "missing", &s, &n, &e), -1);
    setenv("FERRY_TEST_SECRET", "from-env", 1);
    ck_assert_int_eq(config_read_secret(dir, "env:FERRY_TEST_SECRET", &s,
                                        &n, &e), 0);
    ck_assert_str_eq(s, "from-env");
    free(s);
    unsetenv("FERRY_TEST_SECRET");
    size_t before = e.n;
    ck_assert_int_eq(config_read_secret(dir, "env:FERRY_TEST_SECRET", &s,
                                        &n, &e), -1);
    ck_assert_uint_eq(e.n, before + 1);
    ck_assert_str_eq(e.v[before].msg,
                     "environment variable FERRY_TEST_SECRET is not set");
    errs_free(&e);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("cases");
    tcase_add_loop_test(tc, test_config_case, 0, ncases);
    suite_add_tcase(s, tc);
    TCase *tu = tcase_create("unit");
    tcase_add_test(tu, test_config_good_values_read);
    tcase_add_test(tu, test_config_defaults_minimal);
    tcase_add_test(tu, test_config_missing_file);
    tcase_add_test(tu, test_config_parse_size);
    tcase_add_test(tu, test_config_parse_bool_int);
    tcase_add_test(tu, test_config_path_resolution);
    tcase_add_test(tu, test_config_read_secret);
    suite_add_tcase(s, tu);
    return s;
}

int main(void)
{
    find_cases();
    if (ncases < 10) {
        fprintf(stderr, "check_config: only %d cases found under %s\n",
                ncases, data_dir);
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (int i = 0; i < ncases; i++)
        free(cases[i]);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
