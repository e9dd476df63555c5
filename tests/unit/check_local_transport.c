/* check_local_transport.c - the "local" transport: temp name + rename,
 * never overwriting, crash recovery by size + SHA-256, list and fetch. */
#include "adapters/adapter.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* through the registry: nothing but adapters/registry.c names an adapter */
#define adapter_local (*adapter_find("local"))

static char root[256], drop[300], src[300];

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/ferry-local.XXXXXX", t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(drop, sizeof drop, "%s/drop", root);
    snprintf(src, sizeof src, "%s/src.dat", root);
    ck_assert_int_eq(mkdir(drop, 0755), 0);
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

static void put_file(const char *path, const char *text)
{
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(fs_write_atomic(path, text, strlen(text), 0644, &e), 0);
    errs_free(&e);
}

static char *slurp(const char *path)
{
    struct errs e;
    errs_init(&e);
    char *out = NULL;
    size_t len;
    if (fs_read_file(path, 0, &out, &len, &e) != 0)
        out = NULL;
    errs_free(&e);
    return out;
}

/* open_local - an instance with dir=drop plus optional extra key/value */
static void *open_local(const char *k, const char *v)
{
    struct kv kvs[2] = { { "dir", drop, 0 }, { (char *)k, (char *)v, 0 } };
    struct kvlist opts = { kvs, k ? 2 : 1 };
    struct adapter_env env = { .opts = &opts, .base_dir = root };
    struct errs e;
    errs_init(&e);
    void *ctx = NULL;
    ck_assert_int_eq(adapter_local.init(&ctx, &env, &e), 0);
    errs_free(&e);
    return ctx;
}

static enum adapter_outcome do_send(void *ctx, const char *name, const char *sha,
                                 struct adapter_result *res)
{
    struct transfer_req req = { .local_path = src, .remote_name = name,
                                .sha256_hex = sha };
    adapter_local.transfer(ctx, &req, res);
    return res->outcome;
}

/* sha256("hello\n") */
#define HELLO_SHA "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

START_TEST(test_local_copy_arrives_without_temp)
{
    struct adapter_result res;
    put_file(src, "hello\n");
    void *ctx = open_local(NULL, NULL);
    ck_assert_int_eq(do_send(ctx, "CLM.D261127.S001", HELLO_SHA, &res), ADAPTER_OK);
    char p[400];
    snprintf(p, sizeof p, "%s/CLM.D261127.S001", drop);
    char *got = slurp(p);
    ck_assert_str_eq(got, "hello\n");
    free(got);
    snprintf(p, sizeof p, "%s/.CLM.D261127.S001.part", drop);
    ck_assert_int_ne(access(p, F_OK), 0);
    adapter_local.close(ctx);
}
END_TEST

START_TEST(test_local_same_content_is_already_sent)
{
    struct adapter_result res;
    char p[400], tmp[400];
    put_file(src, "hello\n");
    snprintf(p, sizeof p, "%s/F1", drop);
    put_file(p, "hello\n");
    snprintf(tmp, sizeof tmp, "%s/.F1.part", drop);
    put_file(tmp, "hel");                       /* a crash's leftover */
    struct stat before, after;
    ck_assert_int_eq(stat(p, &before), 0);
    void *ctx = open_local("done-file", "true");
    ck_assert_int_eq(do_send(ctx, "F1", HELLO_SHA, &res), ADAPTER_OK);
    ck_assert_ptr_nonnull(strstr(res.msg, "already present"));
    ck_assert_int_eq(stat(p, &after), 0);
    ck_assert_uint_eq(before.st_ino, after.st_ino);   /* not re-sent */
    ck_assert_int_ne(access(tmp, F_OK), 0);
    snprintf(p, sizeof p, "%s/F1.done", drop);
    ck_assert_int_eq(access(p, F_OK), 0);
    adapter_local.close(ctx);
}
END_TEST

START_TEST(test_local_different_content_fails_unless_overwrite)
{
    struct adapter_result res;
    char p[400];
    put_file(src, "hello\n");
    snprintf(p, sizeof p, "%s/F2", drop);
    put_file(p, "HELLO\n");                     /* same size, other bytes */
    void *ctx = open_local(NULL, NULL);
    ck_assert_int_eq(do_send(ctx, "F2", HELLO_SHA, &res), ADAPTER_FAIL);
    ck_assert_ptr_nonnull(strstr(res.msg, "different content"));
    char *got = slurp(p);
    ck_assert_str_eq(got, "HELLO\n");
    free(got);
    adapter_local.close(ctx);

    ctx = open_local("allow-overwrite", "true");
    ck_assert_int_eq(do_send(ctx, "F2", HELLO_SHA, &res), ADAPTER_OK);
    got = slurp(p);
    ck_assert_str_eq(got, "hello\n");
    free(got);
    adapter_local.close(ctx);
}
END_TEST

START_TEST(test_local_missing_folder_fails_and_bad_name_fails)
{
    struct adapter_result res;
    put_file(src, "hello\n");
    char gone[400];
    snprintf(gone, sizeof gone, "%s/nope", root);
    struct kv kvs[1] = { { "dir", gone, 0 } };
    struct kvlist opts = { kvs, 1 };
    struct adapter_env env = { .opts = &opts, .base_dir = root };
    struct errs e;
    errs_init(&e);
    void *ctx = NULL;
    ck_assert_int_eq(adapter_local.init(&ctx, &env, &e), 0);
    errs_free(&e);
    ck_assert_int_eq(do_send(ctx, "F3", NULL, &res), ADAPTER_FAIL);
    ck_assert_int_eq(do_send(ctx, "../F3", NULL, &res), ADAPTER_FAIL);
    adapter_local.close(ctx);
}
END_TEST

START_TEST(test_local_list_and_fetch)
{
    struct adapter_result res;
    char p[400];
    snprintf(p, sizeof p, "%s/ACK.2", drop);
    put_file(p, "two\n");
    snprintf(p, sizeof p, "%s/ACK.1", drop);
    put_file(p, "one\n");
    snprintf(p, sizeof p, "%s/.ACK.3.part", drop);
    put_file(p, "x");
    void *ctx = open_local(NULL, NULL);
    char **names = NULL;
    size_t n = 0;
    adapter_local.list(ctx, "ACK*", &names, &n, &res);
    ck_assert_int_eq(res.outcome, ADAPTER_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(names[0], "ACK.1");
    ck_assert_str_eq(names[1], "ACK.2");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    snprintf(p, sizeof p, "%s/fetched", root);
    adapter_local.fetch(ctx, "ACK.2", p, &res);
    ck_assert_int_eq(res.outcome, ADAPTER_OK);
    char *got = slurp(p);
    ck_assert_str_eq(got, "two\n");
    free(got);
    adapter_local.fetch(ctx, "ACK.9", p, &res);
    ck_assert_int_eq(res.outcome, ADAPTER_FAIL);
    adapter_local.close(ctx);
}
END_TEST

START_TEST(test_local_init_requires_dir)
{
    struct kvlist opts = { NULL, 0 };
    struct adapter_env env = { .opts = &opts, .base_dir = root };
    struct errs e;
    errs_init(&e);
    void *ctx = NULL;
    ck_assert_int_eq(adapter_local.init(&ctx, &env, &e), -1);
    ck_assert_uint_ge(e.n, 1);
    errs_free(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("local_transport");
    TCase *tc = tcase_create("transfer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_local_copy_arrives_without_temp);
    tcase_add_test(tc, test_local_same_content_is_already_sent);
    tcase_add_test(tc, test_local_different_content_fails_unless_overwrite);
    tcase_add_test(tc, test_local_missing_folder_fails_and_bad_name_fails);
    tcase_add_test(tc, test_local_list_and_fetch);
    tcase_add_test(tc, test_local_init_requires_dir);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
