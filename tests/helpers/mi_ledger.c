/* mi_ledger.c - build a ledger for management information quickly:
 *
 *   mi_ledger SPOOL_DIR RECORDS DAYS [LAST_DAY]
 *
 * RECORDS records over DAYS UTC days ending LAST_DAY (YYYY-MM-DD, default
 * today), in three services, every channel and every outcome, with
 * confirmed-at times, failure reasons and operator interventions, in a
 * spool opened (and so created at the current schema) through the spool
 * API.  The bulk is written in one SQL statement (a recursive series), so
 * a million records take seconds; 1 in 499 records is then handled by a
 * person through the API (retry, hold, discard), so those are real,
 * HMAC-chained audit entries.  The spread is deterministic (record i's
 * service, channel, outcome and times follow from i alone), so two runs
 * build the same ledger.  Prints "records N" when done.
 *
 * For bench/run.d/report.sh (the 1,000,000-record report) and
 * tests/integration/62_report_html.sh (a page with a trend to look at).
 * The records have no payload: the report never reads one. */
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/clock.h"
#include "util/errs.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define MAX_RECORDS 20000000L

/* Record i (0-based): service by i % 10 (claims 6, grants 3, renewals 1);
 * channel by (i / 10) % 20 (http 11, cli 3, csv 4, assisted 2); outcome
 * by o, a multiplicative hash of i in 0-99 (confirmed 82, awaiting 6, in
 * progress 5, rejected 3, failed 2, discarded 2); received at day
 * (i % DAYS) plus a time of day from i; confirmed-at 2 minutes to 2 days
 * later. */
static const char bulk[] =
    "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "
    "WHERE i + 1 < ?1), "
    "t(i, o) AS (SELECT i, ((i * 2654435761) % 4294967296) / 42949673 "
    "FROM s) "
    "INSERT INTO records(ref, service, target, client, channel, "
    "received_at, state, updated_at, confirmed_at, last_error, "
    "closed_reason) "
    "SELECT printf('MI-%08d', i), "
    " CASE WHEN i % 10 < 6 THEN 'claims' WHEN i % 10 < 9 THEN 'grants' "
    "  ELSE 'renewals' END, 'mf', 'mi', "
    " CASE WHEN (i / 10) % 20 < 11 THEN 'http' WHEN (i / 10) % 20 < 14 "
    "  THEN 'cli' WHEN (i / 10) % 20 < 18 THEN 'csv' ELSE 'assisted' END, "
    " ?2 + (i % ?3) * 86400000 + (i * 7919) % 86000000, "
    " CASE WHEN o < 82 THEN 'confirmed' "
    "  WHEN o < 85 THEN 'sent' "
    "  WHEN o < 88 THEN 'delivered' "
    "  WHEN o < 91 THEN 'queued' "
    "  WHEN o < 93 THEN 'batched' "
    "  WHEN o < 96 THEN 'rejected' "
    "  WHEN o < 98 THEN 'failed' ELSE 'discarded' END, "
    " ?4, "
    " CASE WHEN o < 82 THEN ?2 + (i % ?3) * 86400000 "
    "  + (i * 7919) % 86000000 + 120000 + (i * 104729) % 172800000 "
    "  ELSE 0 END, "
    " CASE WHEN o BETWEEN 93 AND 97 THEN "
    "  CASE i % 5 WHEN 0 THEN 'E01: national insurance number not known' "
    "  WHEN 1 THEN 'E07: claim period overlaps an earlier claim' "
    "  WHEN 2 THEN 'E12: bank details failed validation' "
    "  WHEN 3 THEN 'timeout after 30s' ELSE 'SOAP Client fault: bad date' "
    "  END END, "
    " CASE WHEN o >= 98 THEN 'duplicate of an earlier claim' "
    "  END "
    "FROM t";

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "mi_ledger: %s: %s\n", what, why);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: mi_ledger SPOOL_DIR RECORDS DAYS "
                        "[LAST_DAY]\n");
        return 64;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(argv[2], &end, 10);
    if (errno || *end || n < 1 || n > MAX_RECORDS)
        return fail(argv[2], "RECORDS: 1 to 20000000");
    long days = strtol(argv[3], &end, 10);
    if (errno || *end || days < 1 || days > 3000)
        return fail(argv[3], "DAYS: 1 to 3000");
    int64_t last = clock_wall_ms() / DAY_MS;
    if (argc == 5 && record_date_parse(argv[4], &last) != 0)
        return fail(argv[4], "LAST_DAY: YYYY-MM-DD");
    int64_t day0_ms = (last - days + 1) * DAY_MS;

    struct errs e;
    errs_init(&e);
    struct spool *sp = spool_open(argv[1], NULL, &e);
    if (!sp)
        return fail(argv[1], errs_first_msg(&e));
    spool_close(sp);

    char db[4096];
    snprintf(db, sizeof db, "%s/ledger.db", argv[1]);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(db, &h) != SQLITE_OK)
        return fail(db, sqlite3_errmsg(h));
    sqlite3_exec(h, "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; "
                 "BEGIN", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(h, bulk, -1, &st, NULL) != SQLITE_OK)
        return fail("bulk insert", sqlite3_errmsg(h));
    sqlite3_bind_int64(st, 1, n);
    sqlite3_bind_int64(st, 2, day0_ms);
    sqlite3_bind_int64(st, 3, days);
    sqlite3_bind_int64(st, 4, clock_wall_ms());
    if (sqlite3_step(st) != SQLITE_DONE)
        return fail("bulk insert", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    /* the intake counters the report reads beside the records */
    if (sqlite3_exec(h, "INSERT INTO counters(service, day, name, value) "
                     "SELECT service, strftime('%Y-%m-%d', received_at / "
                     "1000, 'unixepoch'), 'accepted', count(*) FROM records "
                     "GROUP BY 1, 2; "
                     /* and the final-state totals ferry keeps at each
                      * move (schema 13), for the rows written here */
                     "INSERT INTO state_totals(service, target, state, n) "
                     "SELECT service, target, state, count(*) FROM records "
                     "WHERE state IN ('confirmed', 'discarded') GROUP BY "
                     "1, 2, 3; COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return fail("counters", sqlite3_errmsg(h));
    sqlite3_close(h);

    /* people: 1 in 499 records is retried, held or discarded for real */
    sp = spool_open(argv[1], NULL, &e);
    if (!sp)
        return fail(argv[1], errs_first_msg(&e));
    long acted = 0;
    for (long i = 0; i < n; i += 499) {
        char ref[32];
        snprintf(ref, sizeof ref, "MI-%08ld", i);
        struct spool_record *r = NULL;
        if (spool_get(sp, ref, 0, &r, &e) != 0)
            continue;
        int rc = 0;
        if (r->state == SPOOL_REJECTED || r->state == SPOOL_FAILED)
            rc = spool_retry(sp, ref, NULL, "mi-helper", "fixed by phone", &e);
        else if (r->state == SPOOL_QUEUED)
            rc = spool_hold(sp, ref, NULL, "mi-helper", "checking", &e);
        else if (r->state == SPOOL_SENT && i % 2 == 0)
            rc = spool_discard(sp, ref, NULL, "mi-helper", "withdrawn", &e);
        spool_record_free(r);
        if (rc == 0)
            acted++;
    }
    spool_close(sp);
    errs_free(&e);
    printf("records %ld\nhandled by a person %ld\n", n, acted);
    return 0;
}
