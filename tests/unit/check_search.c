/* check_search.c - `ferry find`'s two halves: the searchable values a
 * mapping makes (normalised as at intake, composite indexes, queries read
 * through the field's own transforms and type) and the spool's keyed-hash
 * index (nothing in clear, the key matters, reindex, v3 ledgers migrate). */
#include <check.h>
#include <ftw.h>
#include <openssl/hmac.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/spool_undo.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "tests/unit/spool_test.h"
#include "util/errs.h"

static const char mapping_xml[] =
    "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"claims\">"
    "<accept idempotency-field=\"ref\">"
    "<field name=\"ref\" path=\"ref\" required=\"true\"/>"
    "<field name=\"surname\" path=\"surname\" personal=\"true\""
    " searchable=\"surname-dob\"><transform op=\"trim\"/></field>"
    "<field name=\"nino\" path=\"nino\" personal=\"true\" searchable=\"true\">"
    "<transform op=\"strip-spaces\"/><transform op=\"upper\"/></field>"
    "<field name=\"dob\" path=\"dob\" type=\"date\" format=\"DD/MM/YYYY\""
    " searchable=\"surname-dob\"/>"
    "<field name=\"postcode\" path=\"postcode\" searchable=\"true\"/>"
    "</accept><target name=\"t\"/></mapping>";

static struct mapping *load(const char *xml)
{
    struct errs e;
    errs_init(&e);
    struct mapping *m = NULL;
    int rc = mapping_load_memory(xml, strlen(xml), "test.xml", &m, &e);
    ck_assert_msg(rc == 0, "load: %s", errs_first_msg(&e));
    errs_free(&e);
    return m;
}

static struct record *apply(const struct mapping *m, const char *json)
{
    json_error_t je;
    json_t *doc = json_loads(json, 0, &je);
    ck_assert_ptr_nonnull(doc);
    struct errs e;
    errs_init(&e);
    struct record *r = NULL;
    ck_assert_msg(map_apply(m, doc, &r, &e) == 0, "apply: %s",
                  errs_first_msg(&e));
    errs_free(&e);
    json_decref(doc);
    return r;
}

/* value_of - the value map_search_values gave index name, or NULL */
static const char *value_of(char **p, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[2 * i], name) == 0)
            return p[2 * i + 1];
    return NULL;
}

static char *query(const struct mapping *m, const char *n1, const char *v1,
                   const char *n2, const char *v2)
{
    const char *names[2] = { n1, n2 }, *texts[2] = { v1, v2 };
    size_t n = n2 ? 2 : 1;
    const struct map_search_index *ix = map_search_index_for(m, names, n);
    ck_assert_ptr_nonnull(ix);
    struct errs e;
    errs_init(&e);
    char *out = NULL;
    ck_assert_msg(map_search_query(m, ix, names, texts, n, &out, &e) == 0,
                  "query: %s", errs_first_msg(&e));
    errs_free(&e);
    return out;
}

START_TEST(test_indexes_group_fields_by_name_in_document_order)
{
    struct mapping *m = load(mapping_xml);
    ck_assert_uint_eq(m->nsearch, 3);
    ck_assert_str_eq(m->search[0].name, "surname-dob");
    ck_assert_uint_eq(m->search[0].nfields, 2);
    ck_assert_str_eq(m->fields[m->search[0].fields[0]].name, "surname");
    ck_assert_str_eq(m->fields[m->search[0].fields[1]].name, "dob");
    ck_assert_str_eq(m->search[1].name, "nino");
    ck_assert_str_eq(m->search[2].name, "postcode");
    const char *both[2] = { "dob", "surname" }, *one[1] = { "surname" };
    ck_assert_ptr_eq(map_search_index_for(m, both, 2), &m->search[0]);
    ck_assert_ptr_null(map_search_index_for(m, one, 1));
    mapping_free(m);
}
END_TEST

START_TEST(test_list_field_cannot_be_searchable)
{
    static const char xml[] =
        "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\"><accept>"
        "<field name=\"items\" path=\"items\" type=\"list\" searchable=\"true\">"
        "<field name=\"code\" path=\"code\"/></field>"
        "</accept><target name=\"t\"/></mapping>";
    struct errs e;
    errs_init(&e);
    struct mapping *m = NULL;
    ck_assert_int_eq(mapping_load_memory(xml, strlen(xml), "x.xml", &m, &e),
                     -1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "searchable"));
    errs_free(&e);
    mapping_free(m);
}
END_TEST

START_TEST(test_query_normalised_like_intake)
{
    struct mapping *m = load(mapping_xml);
    struct record *r = apply(m, "{\"ref\":\"R1\",\"surname\":\"  de la  Cruz \","
                             "\"nino\":\"ab 12 34 56 c\",\"dob\":\"14/03/1956\","
                             "\"postcode\":\"CF10 1AA\"}");
    char **p = NULL;
    size_t n = 0;
    ck_assert_int_eq(map_search_values(m, r, &p, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(value_of(p, n, "nino"), "AB123456C");
    ck_assert_str_eq(value_of(p, n, "surname-dob"), "DE LA CRUZ\x1f" "1956-03-14");
    ck_assert_str_eq(value_of(p, n, "postcode"), "CF10 1AA");

    /* staff type it however they like: same value */
    char *q = query(m, "nino", " Ab123456c ", NULL, NULL);
    ck_assert_str_eq(q, value_of(p, n, "nino"));
    free(q);
    q = query(m, "dob", "14/03/1956", "surname", "De La Cruz");
    ck_assert_str_eq(q, value_of(p, n, "surname-dob"));
    free(q);
    q = query(m, "surname", "de la cruz", "dob", "1956-03-14");
    ck_assert_str_eq(q, value_of(p, n, "surname-dob"));
    free(q);
    q = query(m, "postcode", "cf10   1aa", NULL, NULL);
    ck_assert_str_eq(q, value_of(p, n, "postcode"));
    free(q);
    map_search_values_free(p, n);
    record_free(r);
    mapping_free(m);
}
END_TEST

START_TEST(test_absent_field_gives_no_index_value)
{
    struct mapping *m = load(mapping_xml);
    struct record *r = apply(m, "{\"ref\":\"R1\",\"surname\":\"Jones\"}");
    char **p = NULL;
    size_t n = 0;
    ck_assert_int_eq(map_search_values(m, r, &p, &n), 0);
    ck_assert_uint_eq(n, 0);             /* no dob: no surname-dob entry */
    map_search_values_free(p, n);
    record_free(r);
    mapping_free(m);
}
END_TEST

START_TEST(test_bad_query_value_named_by_field)
{
    struct mapping *m = load(mapping_xml);
    const char *names[2] = { "surname", "dob" }, *texts[2] = { "X", "31/02/1990" };
    const struct map_search_index *ix = map_search_index_for(m, names, 2);
    struct errs e;
    errs_init(&e);
    char *out = NULL;
    ck_assert_int_eq(map_search_query(m, ix, names, texts, 2, &out, &e), -1);
    ck_assert_str_eq(e.v[0].where, "dob");
    errs_free(&e);
    mapping_free(m);
}
END_TEST

/* ---- the spool's index ------------------------------------------------ */

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
    snprintf(tmpdir, sizeof tmpdir, "%s/check_search.XXXXXX", t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(spdir, sizeof spdir, "%s/spool", tmpdir);
}

static void teardown(void)
{
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct spool *open_key(unsigned char fill)
{
    struct spool_opts o;
    memset(&o, 0, sizeof o);
    o.search = true;
    memset(o.search_key, fill, sizeof o.search_key);
    struct errs e;
    errs_init(&e);
    struct spool *s = test_spool_open(spdir, &o, &e);
    ck_assert_msg(s != NULL, "open: %s", errs_first_msg(&e));
    errs_free(&e);
    return s;
}

/* enqueue_claim - map json with the test mapping and spool it with its
 * search values, as the intake does */
static void enqueue_claim(struct spool *s, const struct mapping *m,
                          const char *json, char ref[SPOOL_REF_MAX])
{
    struct record *r = apply(m, json);
    char *rj = record_to_json(r);
    char **p = NULL;
    size_t n = 0;
    ck_assert_int_eq(map_search_values(m, r, &p, &n), 0);
    struct spool_item it = { .service = "claims", .target = "t",
                             .payload = json, .payload_len = strlen(json),
                             .record_json = rj, .search = p, .nsearch = n };
    struct spool_result res;
    struct errs e;
    errs_init(&e);
    ck_assert_msg(spool_enqueue(s, &it, 1, &res, &e) == 0, "enqueue: %s",
                  errs_first_msg(&e));
    errs_free(&e);
    snprintf(ref, SPOOL_REF_MAX, "%s", res.ref);
    map_search_values_free(p, n);
    free(rj);
    record_free(r);
}

static size_t find(struct spool *s, const char *index, const char *value,
                   char first[SPOOL_REF_MAX])
{
    struct spool_list l = { 0 };
    struct errs e;
    errs_init(&e);
    ck_assert_msg(spool_find(s, "claims", index, value, 0, &l, &e) == 0,
                  "find: %s", errs_first_msg(&e));
    errs_free(&e);
    size_t n = l.n;
    if (first)
        snprintf(first, SPOOL_REF_MAX, "%s", n ? l.v[0]->ref : "");
    spool_list_free(&l);
    return n;
}

static const char claim1[] = "{\"ref\":\"HCR1\",\"surname\":\"Jones\","
    "\"nino\":\"AB123456C\",\"dob\":\"14/03/1956\",\"postcode\":\"CF10 1AA\"}";
static const char claim2[] = "{\"ref\":\"HCR2\",\"surname\":\"Evans\","
    "\"nino\":\"CE654321A\",\"dob\":\"01/01/1970\",\"postcode\":\"CF10 1AA\"}";

/* file_has - the bytes of needle appear in the ledger's files */
static int file_has(const char *suffix, const char *needle)
{
    char p[700];
    snprintf(p, sizeof p, "%s/ledger.db%s", spdir, suffix);
    FILE *f = fopen(p, "rb");
    if (!f)
        return 0;
    size_t cap = 1 << 20, n = 0, nl = strlen(needle);
    char *buf = malloc(cap);
    int found = 0;
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            ck_assert_ptr_nonnull(nb);
            buf = nb;
        }
    }
    fclose(f);
    for (size_t i = 0; i + nl <= n && !found; i++)
        found = memcmp(buf + i, needle, nl) == 0;
    free(buf);
    return found;
}

START_TEST(test_find_by_hash_and_nothing_in_clear)
{
    struct mapping *m = load(mapping_xml);
    struct spool *s = open_key(7);
    char r1[SPOOL_REF_MAX], r2[SPOOL_REF_MAX], got[SPOOL_REF_MAX];
    enqueue_claim(s, m, claim1, r1);
    enqueue_claim(s, m, claim2, r2);
    ck_assert_uint_eq(find(s, "nino", "AB123456C", got), 1);
    ck_assert_str_eq(got, r1);
    ck_assert_uint_eq(find(s, "nino", "CE654321A", got), 1);
    ck_assert_str_eq(got, r2);
    ck_assert_uint_eq(find(s, "postcode", "CF10 1AA", NULL), 2);
    ck_assert_uint_eq(find(s, "surname-dob", "JONES\x1f" "1956-03-14", got), 1);
    ck_assert_str_eq(got, r1);
    ck_assert_uint_eq(find(s, "nino", "AB123456D", NULL), 0);
    /* the same value under another index is another hash */
    ck_assert_uint_eq(find(s, "postcode", "AB123456C", NULL), 0);
    spool_close(s);
    /* the payload is stored in clear (no payload key here), so look at
     * the search table itself: 32-byte hashes, never the text */
    struct sql_conn *db = test_ledger_open(spdir);
    struct sql_stmt *st = sql_prepare(db, "SELECT hash FROM search");
    ck_assert_ptr_nonnull(st);
    int rows = 0;
    while (sql_step(st) == SQL_STEP_ROW) {
        size_t hn = 0;
        const void *h = sql_col_blob(st, 0, &hn);
        rows++;
        ck_assert_uint_eq(hn, 32);
        ck_assert_ptr_null(memmem(h, 32, "AB12", 4));
    }
    sql_close(db);
    ck_assert_int_eq(rows, 6);
    mapping_free(m);
}
END_TEST

/* The index is HMAC-SHA-256(key, service NUL index NUL value) exactly,
 * as OpenSSL's one-shot HMAC makes it: ledgers indexed by earlier
 * versions are still found after the hash was made faster. */
START_TEST(test_hash_is_hmac_sha256_of_service_index_value)
{
    struct mapping *m = load(mapping_xml);
    struct spool *s = open_key(9);
    char r1[SPOOL_REF_MAX];
    enqueue_claim(s, m, claim1, r1);
    spool_close(s);
    unsigned char key[SPOOL_SEARCH_KEY_LEN], want[32];
    memset(key, 9, sizeof key);
    static const char msg[] = "claims\0nino\0AB123456C";
    unsigned int wl = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, sizeof key,
                               (const unsigned char *)msg, sizeof msg - 1,
                               want, &wl));
    struct sql_conn *db = test_ledger_open(spdir);
    struct sql_stmt *st = sql_prepare(db, "SELECT count(*) FROM search "
                                      "WHERE hash = ?");
    ck_assert_ptr_nonnull(st);
    sql_bind_blob(st, 1, want, wl);
    ck_assert_int_eq(sql_step(st), SQL_STEP_ROW);
    ck_assert_int_eq(sql_col_int64(st, 0), 1);
    sql_close(db);
    /* and a reopened spool (fresh pads) finds it */
    s = open_key(9);
    char got[SPOOL_REF_MAX];
    ck_assert_uint_eq(find(s, "nino", "AB123456C", got), 1);
    ck_assert_str_eq(got, r1);
    spool_close(s);
    mapping_free(m);
}
END_TEST

START_TEST(test_encrypted_spool_has_no_nino_on_disk)
{
    TEST_SQLITE_ONLY();
    struct mapping *m = load(mapping_xml);
    struct spool_opts o;
    memset(&o, 0, sizeof o);
    o.search = true;
    o.encrypt = true;
    memset(o.key, 3, sizeof o.key);
    memset(o.search_key, 7, sizeof o.search_key);
    struct errs e;
    errs_init(&e);
    struct spool *s = test_spool_open(spdir, &o, &e);
    ck_assert_ptr_nonnull(s);
    char r1[SPOOL_REF_MAX];
    enqueue_claim(s, m, claim1, r1);
    ck_assert_uint_eq(find(s, "nino", "AB123456C", NULL), 1);
    spool_close(s);
    ck_assert_int_eq(file_has("", "AB123456C") + file_has("-wal", "AB123456C"),
                     0);
    ck_assert_int_eq(file_has("", "JONES") + file_has("-wal", "JONES"), 0);
    errs_free(&e);
    mapping_free(m);
}
END_TEST

START_TEST(test_another_key_finds_nothing)
{
    struct mapping *m = load(mapping_xml);
    struct spool *s = open_key(7);
    char r1[SPOOL_REF_MAX];
    enqueue_claim(s, m, claim1, r1);
    spool_close(s);
    s = open_key(8);
    ck_assert_uint_eq(find(s, "nino", "AB123456C", NULL), 0);
    spool_close(s);
    mapping_free(m);
}
END_TEST

START_TEST(test_reindex_rebuilds_after_key_change)
{
    struct mapping *m = load(mapping_xml);
    struct spool *s = open_key(7);
    char r1[SPOOL_REF_MAX], r2[SPOOL_REF_MAX], got[SPOOL_REF_MAX];
    enqueue_claim(s, m, claim1, r1);
    enqueue_claim(s, m, claim2, r2);
    spool_close(s);
    s = open_key(9);                     /* key lost and made again */
    ck_assert_uint_eq(find(s, "nino", "CE654321A", NULL), 0);
    struct errs e;
    errs_init(&e);
    size_t n = 0;
    ck_assert_int_eq(spool_search_reindex(s, "claims", map_search_values_json,
                                          map_search_values_free, m, "tester",
                                          &n, &e), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(find(s, "nino", "CE654321A", got), 1);
    ck_assert_str_eq(got, r2);
    ck_assert_uint_eq(find(s, "postcode", "CF10 1AA", NULL), 2);
    struct spool_audit_list al = { 0 };
    ck_assert_int_eq(spool_audit_list(s, NULL, &al, &e), 0);
    ck_assert_uint_eq(al.n, 1);
    ck_assert_str_eq(al.v[0].action, "reindex");
    ck_assert_str_eq(al.v[0].actor, "tester");
    spool_audit_list_free(&al);
    errs_free(&e);
    spool_close(s);
    mapping_free(m);
}
END_TEST

START_TEST(test_find_ref_by_ferry_and_frontend_reference)
{
    struct mapping *m = load(mapping_xml);
    struct spool *s = open_key(7);
    char r1[SPOOL_REF_MAX], r2[SPOOL_REF_MAX];
    enqueue_claim(s, m, claim1, r1);
    enqueue_claim(s, m, claim2, r2);
    const char *svcs[] = { "other", "claims" };
    struct spool_list l = { 0 };
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_find_ref(s, r2, svcs, 2, &l, &e), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.v[0]->ref, r2);
    spool_list_free(&l);
    /* fe_ref is set only when the intake passes it: enqueue_claim does
     * not, so HCR1 is found by nothing */
    ck_assert_int_eq(spool_find_ref(s, "HCR1", svcs, 2, &l, &e), 0);
    ck_assert_uint_eq(l.n, 0);
    spool_list_free(&l);
    errs_free(&e);
    spool_close(s);
    mapping_free(m);
}
END_TEST

START_TEST(test_no_key_refuses_find)
{
    struct spool_opts o;
    memset(&o, 0, sizeof o);
    struct errs e;
    errs_init(&e);
    struct spool *s = test_spool_open(spdir, &o, &e);
    struct spool_list l = { 0 };
    ck_assert_int_eq(spool_find(s, "claims", "nino", "X", 0, &l, &e), -1);
    ck_assert_ptr_nonnull(strstr(errs_first_msg(&e), "search key"));
    errs_free(&e);
    spool_close(s);
}
END_TEST

START_TEST(test_search_key_made_0600_then_read_back)
{
    char p[700];
    snprintf(p, sizeof p, "%s/search.key", tmpdir);
    unsigned char k1[SPOOL_SEARCH_KEY_LEN], k2[SPOOL_SEARCH_KEY_LEN];
    bool made = false;
    struct errs e;
    errs_init(&e);
    ck_assert_int_eq(spool_search_key_ensure(p, k1, &made, &e), 0);
    ck_assert(made);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(spool_search_key_ensure(p, k2, &made, &e), 0);
    ck_assert(!made);
    ck_assert_int_eq(memcmp(k1, k2, sizeof k1), 0);
    chmod(p, 0644);
    ck_assert_int_eq(spool_search_key_ensure(p, k2, &made, &e), -1);
    errs_free(&e);
}
END_TEST

START_TEST(test_v7_ledger_gains_search_table)
{
    TEST_SQLITE_ONLY();
    /* a v7 ledger: open once, then drop what v4 adds and wind back */
    struct spool *s = open_key(7);
    spool_close(s);
    char p[700];
    snprintf(p, sizeof p, "%s/ledger.db", spdir);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(p, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, UNDO_V16 UNDO_V15
                                  "ALTER TABLE batches DROP COLUMN "
                                  "generation; "
                                  "DELETE FROM sequences WHERE name LIKE "
                                  "'gen:%'; "
                                  "DROP VIEW records_archive_full; "
                                  "DROP TABLE records_archive; "
                                  "DROP TABLE state_totals; "
                                  "DROP INDEX records_work; "
                                  "DROP INDEX records_final; "
                                  "DROP INDEX records_received; "
                                  "DROP INDEX audit_at; "
                                  "DROP INDEX counters_day; "
                                  "DROP TRIGGER counters_total_ins; "
                                  "DROP TRIGGER counters_total_upd; "
                                  "DROP TRIGGER counters_total_del; "
                                  "DROP TABLE counter_totals; "
                                  "CREATE INDEX records_svc ON "
                                  "records(service, state); "
                                  "DROP TABLE search; "
                                  "DROP TABLE target_state; "
                                  "DROP TABLE record_history; "
                                  "ALTER TABLE records DROP COLUMN missing_at; "
                                  "ALTER TABLE records DROP COLUMN receipt_data; "
                                  "ALTER TABLE records DROP COLUMN marker_gen; "
                                  "ALTER TABLE records DROP COLUMN ack_file; "
                                  "ALTER TABLE records DROP COLUMN ack_record; "
                                  "ALTER TABLE records DROP COLUMN ack_at; "
                                  "PRAGMA user_version = 7;", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    struct mapping *m = load(mapping_xml);
    s = open_key(7);
    char r1[SPOOL_REF_MAX];
    enqueue_claim(s, m, claim1, r1);
    ck_assert_uint_eq(find(s, "nino", "AB123456C", NULL), 1);
    spool_close(s);
    mapping_free(m);
}
END_TEST

static Suite *search_suite(void)
{
    Suite *su = suite_create("search");
    TCase *tm = tcase_create("mapping");
    tcase_add_test(tm, test_indexes_group_fields_by_name_in_document_order);
    tcase_add_test(tm, test_list_field_cannot_be_searchable);
    tcase_add_test(tm, test_query_normalised_like_intake);
    tcase_add_test(tm, test_absent_field_gives_no_index_value);
    tcase_add_test(tm, test_bad_query_value_named_by_field);
    suite_add_tcase(su, tm);
    TCase *ts = tcase_create("spool");
    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_add_test(ts, test_find_by_hash_and_nothing_in_clear);
    tcase_add_test(ts, test_hash_is_hmac_sha256_of_service_index_value);
    tcase_add_test(ts, test_encrypted_spool_has_no_nino_on_disk);
    tcase_add_test(ts, test_another_key_finds_nothing);
    tcase_add_test(ts, test_reindex_rebuilds_after_key_change);
    tcase_add_test(ts, test_find_ref_by_ferry_and_frontend_reference);
    tcase_add_test(ts, test_no_key_refuses_find);
    tcase_add_test(ts, test_search_key_made_0600_then_read_back);
    tcase_add_test(ts, test_v7_ledger_gains_search_table);
    suite_add_tcase(su, ts);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(search_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
