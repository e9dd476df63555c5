/* check_batch.c - the night batch runner: file-name patterns, exact hash
 * total arithmetic, and determinism (a batch rebuilt from the ledger is
 * the same bytes, with the same header creation time, however much later
 * it is rebuilt).  Uses the example mapping and copybook, a scratch spool
 * and a local transport whose folder is missing (so the file stays
 * written, unsent, and can be rebuilt). */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/admit.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "scheduler/batch.h"
#include "spool/spool.h"
#include "tests/unit/spool_test.h"
#include "util/errs.h"
#include "util/fsutil.h"

static char dir[256];

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/check_batch.XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void name_ok(const char *pat, const char *date, int seq,
                    const char *want)
{
    char out[256], why[256] = "";
    int rc = batch_file_name(pat, date, seq, 1, "claims", out, sizeof out,
                             why, sizeof why);
    ck_assert_msg(rc == 0, "%s: %s", pat ? pat : "(default)", why);
    ck_assert_str_eq(out, want);
}

static void name_bad(const char *pat, int seq, const char *why_has)
{
    char out[256], why[256] = "";
    ck_assert_int_eq(batch_file_name(pat, "2026-11-27", seq, 1, "claims",
                                     out, sizeof out, why, sizeof why), -1);
    ck_assert_msg(strstr(why, why_has) != NULL, "%s: %s", pat, why);
}

/* gen_name - pattern with generation gen; NULL when refused (why) */
static const char *gen_name(const char *pat, int seq, int64_t gen,
                            char *out, size_t outsz, char *why, size_t whysz)
{
    return batch_file_name(pat, "2026-11-27", seq, gen, "claims", out, outsz,
                           why, whysz) == 0 ? out : NULL;
}

START_TEST(test_file_name_generation)
{
    char out[256], why[256];
    ck_assert_str_eq(gen_name("CLM.{gen}", 1, 1, out, sizeof out, why,
                              sizeof why), "CLM.G0001V00");
    /* the generation, not the day's sequence: the 1000th file of a day
     * is G1000V00, where {seq:3} would refuse it */
    ck_assert_str_eq(gen_name("CLM.D{yymmdd}.{gen}", 1000, 1000, out,
                              sizeof out, why, sizeof why),
                     "CLM.D261127.G1000V00");
    ck_assert_str_eq(gen_name("CLM.{gen}", 1, 9999, out, sizeof out, why,
                              sizeof why), "CLM.G9999V00");
    ck_assert_ptr_null(gen_name("CLM.{gen}", 1, 10000, out, sizeof out, why,
                                sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "generation 10000 does not fit {gen}"));
    ck_assert_ptr_null(gen_name("CLM.{gen}", 1, 0, out, sizeof out, why,
                                sizeof why));
}
END_TEST

START_TEST(test_file_name_patterns)
{
    name_ok("CLM.D{yymmdd}.S{seq:3}", "2026-11-27", 1, "CLM.D261127.S001");
    name_ok("CLM.D{yyyymmdd}.S{seq:3}", "2026-11-27", 42, "CLM.D20261127.S042");
    name_ok("X{ccyymmdd}_{seq}", "1999-01-02", 7, "X19990102_7");
    name_ok("{target}-{yymmdd}-{seq:1}", "2026-11-27", 9, "claims-261127-9");
    name_ok(NULL, "2026-11-27", 3, "claims.D261127.S003");
}
END_TEST

START_TEST(test_file_name_refusals)
{
    name_bad("CLM.S{seq:3}", 1000, "does not fit");      /* never wraps */
    name_bad("CLM.{hhmm}", 1, "unknown {hhmm}");
    name_bad("CLM.{seq", 1, "unclosed");
    name_bad("../CLM.{seq}", 1, "not a usable file name");
    name_bad("A/../CLM.{seq}", 1, "only A-Z");
    name_bad("CLM {seq}", 1, "only A-Z");
    name_bad(".{seq}", 1, "not a usable file name");
    name_bad("S{seq:0}", 1, "N from 1 to 9");
}
END_TEST

START_TEST(test_sum_exact_and_overflow)
{
    int64_t acc = 0;
    /* 0.10 + 0.20 at scale 2 is exactly 0.30: no floating point */
    ck_assert_int_eq(batch_sum_add(&acc, 10), 0);
    ck_assert_int_eq(batch_sum_add(&acc, 20), 0);
    ck_assert_int_eq(acc, 30);
    ck_assert_int_eq(batch_sum_add(&acc, -45), 0);
    ck_assert_int_eq(acc, -15);
    acc = INT64_MAX - 1;
    ck_assert_int_eq(batch_sum_add(&acc, 1), 0);
    ck_assert_int_eq(batch_sum_add(&acc, 1), -1);    /* refused, not wrapped */
    ck_assert_int_eq(acc, INT64_MAX);
    acc = INT64_MIN;
    ck_assert_int_eq(batch_sum_add(&acc, -1), -1);
}
END_TEST

START_TEST(test_exit_codes)
{
    ck_assert_int_eq(batch_exit_code(BATCH_DONE), 0);
    ck_assert_int_eq(batch_exit_code(BATCH_DATA), 65);
    ck_assert_int_eq(batch_exit_code(BATCH_TEMPFAIL), 75);
    ck_assert_int_eq(batch_exit_code(BATCH_BUSY), 75);
    ck_assert_int_eq(batch_exit_code(BATCH_CONFIG), 78);
    ck_assert_int_eq(batch_exit_code(BATCH_REFUSED), 78);
    ck_assert_int_eq(batch_exit_code(BATCH_STOPPED), 78);
    ck_assert_str_eq(batch_outcome_name(BATCH_STOPPED), "stopped");
    ck_assert_int_eq(batch_exit_code(BATCH_VERIFY), 70);
    ck_assert_int_eq(batch_exit_code(BATCH_ERROR), 74);
}
END_TEST

/* The night batch reads every record's canonical JSON with
 * record_from_json, which reads the exact form record_to_json writes
 * without jansson and hands anything else to jansson: both readings must
 * agree, and what jansson refuses must still be refused. */
static char *reread(const char *json, char *why, size_t whysz)
{
    struct errs e;
    errs_init(&e);
    struct record *r = record_from_json(json, &e);
    char *out = r ? record_to_json(r) : NULL;
    snprintf(why, whysz, "%s", r ? "" : errs_first_msg(&e));
    record_free(r);
    errs_free(&e);
    return out;
}

START_TEST(test_record_json_fast_and_slow_agree)
{
    static const char canon[] =
        "{\"a\":{\"t\":\"string\",\"v\":\"x y\"},"
        "\"b\":{\"t\":\"decimal\",\"v\":\"-1.50\",\"s\":2,\"p\":true},"
        "\"c\":{\"t\":\"list\",\"items\":[{\"d\":{\"t\":\"date\","
        "\"v\":\"2020-02-29\"}},{}]},"
        "\"e\":{\"t\":\"integer\",\"v\":\"-12\"},"
        "\"f\":{\"t\":\"boolean\",\"v\":\"true\"},"
        "\"g\":{\"t\":\"datetime\",\"v\":\"2026-11-26T08:15:00.000Z\"},"
        "\"h\":{\"t\":\"enum\",\"v\":null}}";
    char why[512];
    char *out = reread(canon, why, sizeof why);
    ck_assert_msg(out != NULL, "%s", why);
    ck_assert_str_eq(out, canon);          /* round trip, order kept */
    free(out);
    /* outside the canonical form: read by jansson, same result */
    out = reread("{ \"a\" : {\"v\":\"caf\\u00e9\", \"t\":\"string\"} }",
                 why, sizeof why);
    ck_assert_msg(out != NULL, "%s", why);
    ck_assert_str_eq(out, "{\"a\":{\"t\":\"string\",\"v\":\"caf\\u00E9\"}}");
    free(out);
    out = reread("{\"a\":{\"t\":\"string\",\"v\":\"x\",\"zz\":1}}", why,
                 sizeof why);
    ck_assert_msg(out != NULL, "%s", why);
    ck_assert_str_eq(out, "{\"a\":{\"t\":\"string\",\"v\":\"x\"}}");
    free(out);
    /* refusals stay refusals */
    static const char *const bad[] = {
        "{\"a\":{\"t\":\"string\",\"v\":\"x\"},\"a\":{\"t\":\"string\"}}",
        "{\"a\":{\"t\":\"decimal\",\"v\":\"1.234\",\"s\":2}}",
        "{\"a\":{\"t\":\"date\",\"v\":\"2021-02-29\"}}",
        "{\"a\":{\"t\":\"nope\",\"v\":\"x\"}}",
        "{\"a\":{\"t\":\"list\",\"items\":[1]}}",
        "{\"a\":{\"t\":\"string\",\"v\":\"x\"}} trailing",
        "{\"a\":{\"t\":\"string\",\"v\":\"x\",\"items\":[}}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = reread(bad[i], why, sizeof why);
        ck_assert_msg(out == NULL, "accepted %s as %s", bad[i], out);
        ck_assert_msg(why[0] != '\0', "%s: no reason", bad[i]);
    }
}
END_TEST

/* example_spool - config + spool with the example submissions queued,
 * each with its stored encoding as the intake keeps it */
static void example_spool(struct ferry_config **cfg, struct spool **sp)
{
    char root[PATH_MAX], path[PATH_MAX + 64];
    ck_assert_ptr_nonnull(getcwd(root, sizeof root));
    const char *r = getenv("FERRY_ROOT");
    if (r)
        snprintf(root, sizeof root, "%s", r);
    snprintf(path, sizeof path, "%s/ferry.xml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
        "<?xml version=\"1.0\"?>\n<ferry xmlns=\"urn:ferry:config:1\""
        " copybook-path=\"%s/examples/copybooks\">\n"
        "  <spool dir=\"%s/spool\"/>\n"
        "  <target name=\"claims-mainframe\" type=\"fixed-width\">\n"
        "    <transport type=\"local\" dir=\"%s/no-such-drop\"/>\n"
        "  </target>\n"
        "  <service name=\"refund-claim\" mapping=\"%s/examples/mappings/"
        "refund-claim.xml\" target=\"claims-mainframe\"/>\n</ferry>\n",
        root, dir, dir, root);
    fclose(f);
    struct errs e;
    errs_init(&e);
    int rc = config_load(path, cfg, &e);
    ck_assert_msg(rc == 0, "config: %s: %s", e.n ? e.v[0].where : "",
                  errs_first_msg(&e));
    char sd[PATH_MAX];
    snprintf(sd, sizeof sd, "%s/spool", dir);
    *sp = test_spool_open(sd, NULL, &e);
    ck_assert_ptr_nonnull(*sp);
    snprintf(path, sizeof path, "%s/examples/submissions.ndjson", root);
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(fs_read_file(path, 0, &text, &len, &e), 0);
    const struct service_config *svc = config_service(*cfg, "refund-claim");
    struct map_ndjson it;
    map_ndjson_init(&it, text, len);
    json_t *doc;
    int n = 0;
    struct adapter_admit *adm = adapter_admit_new(*cfg, svc, &e);
    ck_assert_ptr_nonnull(adm);
    while (map_ndjson_next(&it, NULL, &doc, &e) == 1) {
        struct record *rec = NULL;
        if (doc && map_apply(svc->mapping, doc, &rec, &e) == 0) {
            char *js = record_to_json(rec);
            unsigned char *enc = NULL;
            size_t encn = 0;
            ck_assert_int_eq(adapter_admit_stored(adm, rec, "claims-mainframe",
                                                  &enc, &encn, &e), 0);
            ck_assert_ptr_nonnull(enc);
            const char *key = json_string_value(
                json_object_get(doc, "submission_reference"));
            struct spool_item item = {
                .service = "refund-claim", .target = "claims-mainframe",
                .idem_key = key, .payload = "{}", .payload_len = 2,
                .record_json = js, .encoded = enc, .encoded_len = encn,
            };
            struct spool_result res;
            ck_assert_int_eq(spool_enqueue(*sp, &item, 1, &res, &e), 0);
            free(enc);
            free(js);
            n += !res.duplicate;
        }
        record_free(rec);
        json_decref(doc);
    }
    ck_assert_int_eq(n, 8);
    adapter_admit_free(adm);
    free(text);
    errs_free(&e);
}

/* ledger_exec - run sql on the scratch spool's ledger (the spool
 * closed), on whichever engine the test runs (spool_test.h): a SELECT or
 * PRAGMA gives its one number, anything else 0 */
static int ledger_exec(const char *sql)
{
    char sd[PATH_MAX];
    snprintf(sd, sizeof sd, "%s/spool", dir);
    if (strncmp(sql, "SELECT", 6) == 0 || strncmp(sql, "PRAGMA", 6) == 0)
        return (int)test_ledger_count(sd, sql);
    test_ledger_exec(sd, sql);
    return 0;
}

static char *slurp(const char *p, size_t *len)
{
    struct errs e;
    errs_init(&e);
    char *d = NULL;
    ck_assert_int_eq(fs_read_file(p, 0, &d, len, &e), 0);
    errs_free(&e);
    return d;
}

START_TEST(test_rebuild_same_bytes)
{
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    example_spool(&cfg, &sp);
    struct batch_opts o = { .business_date = "2026-11-27" };
    struct batch_summary s1, s2;
    struct errs e;
    errs_init(&e);
    /* the transport's folder is missing: built, written, not sent */
    ck_assert_int_eq(batch_run(cfg, sp, "claims-mainframe", &o, &s1, &e), 0);
    ck_assert_msg(s1.outcome == BATCH_REFUSED, "%s", s1.message);
    ck_assert_int_eq(s1.nfiles, 1);
    ck_assert_int_eq(s1.files[0].records, 8);
    ck_assert_str_eq(s1.files[0].file_name, "CLM.D261127.S001");
    ck_assert_str_eq(s1.files[0].totals,
                     "CLM-AMOUNT=961.17 CLM-ACCOUNT-NO=352954540");
    ck_assert_uint_eq(s1.files[0].bytes, 1500);
    size_t l1, l2;
    char *b1 = slurp(s1.files[0].local_path, &l1);
    unlink(s1.files[0].local_path);
    sleep(1);    /* the clock moves on; the header time must not */
    ck_assert_int_eq(batch_run(cfg, sp, "claims-mainframe", &o, &s2, &e), 0);
    ck_assert_msg(s2.outcome == BATCH_REFUSED, "%s", s2.message);
    ck_assert(s2.files[0].finished_earlier);
    ck_assert_int_eq(s2.files[0].batch_id, s1.files[0].batch_id);
    ck_assert_str_eq(s2.files[0].sha256, s1.files[0].sha256);
    char *b2 = slurp(s2.files[0].local_path, &l2);
    ck_assert_uint_eq(l1, l2);
    ck_assert(memcmp(b1, b2, l1) == 0);
    /* trailer: 'T', count 0000008 in ASCII digits of IBM-285 (F0..F8) */
    ck_assert_uint_eq((unsigned char)b2[1350], 0xE3);
    ck_assert_uint_eq((unsigned char)b2[1357], 0xF8);
    free(b1);
    free(b2);
    errs_free(&e);
    spool_close(sp);
    config_free(cfg);
}
END_TEST

/* drop_files - the files in the transport's drop folder */
static int drop_files(void)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/no-such-drop", dir);
    DIR *d = opendir(p);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A node that dies after binding leaves its batch built, and everything
 * the file is made of in the ledger: another node (on PostgreSQL a
 * spool folder of its own, with its own outbound/, on the same ledger;
 * on SQLite the ledger is the folder's, so the same folder) finishes it:
 * the same records into the same file, sent once.  The dead node, back
 * later, finds nothing left to send. */
START_TEST(test_batch_left_by_a_dead_node_is_finished_by_another)
{
    struct ferry_config *cfg = NULL;
    struct spool *a = NULL;
    example_spool(&cfg, &a);
    char drop[PATH_MAX + 16], sa[PATH_MAX], sb[PATH_MAX];
    snprintf(drop, sizeof drop, "%s/no-such-drop", dir);
    ck_assert_int_eq(mkdir(drop, 0700), 0);
    struct errs e;
    errs_init(&e);
    struct spool_batch *b = NULL;
    ck_assert_int_eq(spool_batch_bind(a, "claims-mainframe", "2026-11-27", 0,
                                      &b, &e), 0);
    ck_assert_int_eq(b->record_count, 8);
    spool_close(a);                         /* node A dies: built */
    snprintf(sa, sizeof sa, "%s/spool", dir);
    struct spool *nb;
    if (test_spool_pg()) {
        char db[32], ci[1024];
        test_db_name(sa, db);
        snprintf(ci, sizeof ci, "%s dbname=%s", test_spool_pg(), db);
        snprintf(sb, sizeof sb, "%s/node-b", dir);
        struct spool_opts o = { .pg_conninfo = ci };
        nb = spool_open(sb, &o, &e);
    } else {
        snprintf(sb, sizeof sb, "%s", sa);
        nb = test_spool_open(sb, NULL, &e);
    }
    ck_assert_msg(nb != NULL, "%s", errs_first_msg(&e));
    struct batch_opts o = { .business_date = "2026-11-27" };
    struct batch_summary s1, s2;
    ck_assert_int_eq(batch_run(cfg, nb, "claims-mainframe", &o, &s1, &e), 0);
    ck_assert_msg(s1.outcome == BATCH_DONE, "%s", s1.message);
    ck_assert_int_eq(s1.nfiles, 1);
    ck_assert(s1.files[0].finished_earlier);
    ck_assert(s1.files[0].sent);
    ck_assert_int_eq(s1.files[0].batch_id, b->id);
    ck_assert_int_eq(s1.files[0].records, 8);
    ck_assert_str_eq(s1.files[0].file_name, "CLM.D261127.S001");
    ck_assert_int_eq(drop_files(), 1);
    struct spool_batch *g = NULL;
    ck_assert_int_eq(spool_batch_get(nb, b->id, &g, &e), 0);
    ck_assert_int_eq(g->state, SPOOL_BATCH_SENT);
    ck_assert_str_eq(g->sha256, s1.files[0].sha256);
    spool_batch_free(g);
    spool_close(nb);
    /* node A back: nothing to finish, nothing sent twice */
    a = test_spool_open(sa, NULL, &e);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(batch_run(cfg, a, "claims-mainframe", &o, &s2, &e), 0);
    ck_assert_msg(s2.outcome == BATCH_DONE, "%s", s2.message);
    ck_assert_int_eq(s2.nfiles, 0);
    ck_assert_int_eq(spool_batch_sent(a, b->id, &e), -1);
    ck_assert_int_eq(drop_files(), 1);
    spool_batch_free(b);
    errs_free(&e);
    spool_close(a);
    config_free(cfg);
}
END_TEST

/* stored_then_json - build the example batch from the stored encodings,
 * then change the ledger with sql (spool closed) and rebuild the same
 * batch: the rebuild must give the very same bytes (batch_run refuses a
 * rebuilt file whose SHA-256 differs from the recorded one, and the bytes
 * are compared here too) */
static void stored_then_json(const char *sql, bool reopen_migrates)
{
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    example_spool(&cfg, &sp);
    struct batch_opts o = { .business_date = "2026-11-27" };
    struct batch_summary s1, s2;
    struct errs e;
    errs_init(&e);
    spool_close(sp);
    ck_assert_int_eq(ledger_exec("SELECT count(*) FROM record_data WHERE "
                                 "encoded IS NOT NULL"), 8);
    char sd[PATH_MAX];
    snprintf(sd, sizeof sd, "%s/spool", dir);
    sp = test_spool_open(sd, NULL, &e);
    ck_assert_ptr_nonnull(sp);
    ck_assert_int_eq(batch_run(cfg, sp, "claims-mainframe", &o, &s1, &e), 0);
    ck_assert_msg(s1.outcome == BATCH_REFUSED, "%s", s1.message);
    ck_assert_int_eq(s1.files[0].records, 8);
    ck_assert_str_eq(s1.files[0].totals,
                     "CLM-AMOUNT=961.17 CLM-ACCOUNT-NO=352954540");
    ck_assert_uint_eq(s1.files[0].bytes, 1500);
    size_t l1, l2;
    char *b1 = slurp(s1.files[0].local_path, &l1);
    unlink(s1.files[0].local_path);
    spool_close(sp);
    ledger_exec(sql);
    sp = test_spool_open(sd, NULL, &e);
    ck_assert_msg(sp != NULL, "%s", errs_first_msg(&e));
    if (reopen_migrates) {
        spool_close(sp);
        ck_assert_int_eq(ledger_exec("PRAGMA user_version"),
                         SPOOL_SCHEMA_VERSION);
        ck_assert_int_eq(ledger_exec("SELECT count(*) FROM record_data "
                                     "WHERE encoded IS NULL"), 8);
        sp = test_spool_open(sd, NULL, &e);
        ck_assert_ptr_nonnull(sp);
    }
    ck_assert_int_eq(batch_run(cfg, sp, "claims-mainframe", &o, &s2, &e), 0);
    ck_assert_msg(s2.outcome == BATCH_REFUSED, "%s", s2.message);
    ck_assert(s2.files[0].finished_earlier);
    ck_assert_str_eq(s2.files[0].sha256, s1.files[0].sha256);
    char *b2 = slurp(s2.files[0].local_path, &l2);
    ck_assert_uint_eq(l1, l2);
    ck_assert(memcmp(b1, b2, l1) == 0);
    free(b1);
    free(b2);
    errs_free(&e);
    spool_close(sp);
    config_free(cfg);
}

/* rows without a stored encoding (stored before v15, or edited since)
 * are written from their JSON: the same bytes */
START_TEST(test_stored_and_json_same_bytes)
{
    stored_then_json("UPDATE record_data SET encoded = NULL WHERE id % 2 = 0",
                     false);
}
END_TEST

/* a stored encoding of another layout (its digest differs: the mapping
 * or copybook changed since intake), or not this format's at all, is
 * passed over for the JSON */
START_TEST(test_stale_stored_encoding_falls_back)
{
    /* the engines spell a byte string differently */
    stored_then_json(test_spool_pg()
                     ? "UPDATE record_data SET encoded = substr(encoded, 1, "
                       "4) || '\\x00'::bytea || substr(encoded, 6) WHERE "
                       "id % 3 = 0; UPDATE record_data SET encoded = "
                       "'\\x46574531'::bytea WHERE id % 3 = 1"
                     : "UPDATE record_data SET encoded = substr(encoded, 1, 4)"
                       " || X'00' || substr(encoded, 6) WHERE id % 3 = 0;"
                       "UPDATE record_data SET encoded = X'46574531'"
                       " WHERE id % 3 = 1", false);
}
END_TEST

/* a ledger from before schema 15 gains the column, empty: its queued
 * records are written from their JSON */
START_TEST(test_v14_ledger_batches_from_json)
{
    TEST_SQLITE_ONLY();
    stored_then_json("BEGIN; ALTER TABLE record_data DROP COLUMN encoded;"
                     " PRAGMA user_version = 15; COMMIT;", true);
}
END_TEST

static Suite *batch_suite(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, test_file_name_patterns);
    tcase_add_test(tc, test_file_name_generation);
    tcase_add_test(tc, test_file_name_refusals);
    tcase_add_test(tc, test_sum_exact_and_overflow);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_record_json_fast_and_slow_agree);
    suite_add_tcase(s, tc);
    tc = tcase_create("rebuild");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rebuild_same_bytes);
    tcase_add_test(tc, test_batch_left_by_a_dead_node_is_finished_by_another);
    tcase_add_test(tc, test_stored_and_json_same_bytes);
    tcase_add_test(tc, test_stale_stored_encoding_falls_back);
    tcase_add_test(tc, test_v14_ledger_batches_from_json);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(batch_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
