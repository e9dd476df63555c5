/* spool_crash.c - drives the spool for the crash tests
 * (tests/integration/10_spool_crash.sh).  Run under FERRY_CRASH_AT in a
 * test build it dies by SIGKILL at the named point; whatever it printed
 * before was acknowledged and must survive.
 *
 *   spool_crash DIR enqueue N PER   enqueue keys k0..k(N-1), PER per call;
 *                                   print "<ref> <key>" once durable
 *   spool_crash DIR deliver         claim target soap, record OK outcomes in
 *                                   groups of 5; print "delivered <ref>"
 *   spool_crash DIR bind            bind target mf; print "batch <id> <n>"
 *   spool_crash DIR verify N        stdin: lines printed before the crash;
 *                                   check every acknowledged record, no
 *                                   key twice, at most N records, the
 *                                   ledger's integrity; print a summary */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/spool.h"
#include "util/errs.h"

static int num(const char *s, long *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end || v < 0 || v > 100000000)
        return -1;
    *out = v;
    return 0;
}

static int do_enqueue(struct spool *s, long n, long per, struct errs *e)
{
    struct spool_item *it = calloc((size_t)per, sizeof *it);
    struct spool_result *res = calloc((size_t)per, sizeof *res);
    char (*keys)[32] = calloc((size_t)per, sizeof *keys);
    int rc = 1;
    if (!it || !res || !keys)
        goto done;
    for (long base = 0; base < n; base += per) {
        long m = n - base < per ? n - base : per;
        for (long i = 0; i < m; i++) {
            snprintf(keys[i], sizeof keys[i], "k%ld", base + i);
            it[i] = (struct spool_item){ .service = "claims",
                .target = (base + i) % 2 ? "mf" : "soap",
                .idem_key = keys[i], .payload = keys[i],
                .payload_len = strlen(keys[i]), .record_json = "{}" };
        }
        if (spool_enqueue(s, it, (size_t)m, res, e) != 0)
            goto done;
        for (long i = 0; i < m; i++)
            printf("%s %s\n", res[i].ref, keys[i]);
        fflush(stdout);
    }
    rc = 0;
done:
    free(it);
    free(res);
    free(keys);
    return rc;
}

static int do_deliver(struct spool *s, struct errs *e)
{
    for (;;) {
        struct spool_list l;
        if (spool_claim(s, "soap", "crash-test", 60000, 5, false, 0, &l, e)
            != 0)
            return 1;
        if (l.n == 0) {
            spool_list_free(&l);
            return 0;
        }
        struct spool_outcome o[5];
        for (size_t i = 0; i < l.n; i++)
            o[i] = (struct spool_outcome){ .ref = l.v[i]->ref,
                                           .kind = SPOOL_OUT_OK,
                                           .receipt = "R" };
        int rc = spool_outcomes(s, "crash-test", o, l.n, e);
        if (rc == 0)
            for (size_t i = 0; i < l.n; i++)
                printf("delivered %s\n", l.v[i]->ref);
        fflush(stdout);
        spool_list_free(&l);
        if (rc != 0)
            return 1;
    }
}

static int do_bind(struct spool *s, struct errs *e)
{
    struct spool_batch *b = NULL;
    if (spool_batch_bind(s, "mf", "2026-11-27", 0, &b, e) != 0)
        return 1;
    printf("batch %lld %lld\n", (long long)b->id, (long long)b->record_count);
    spool_batch_free(b);
    return 0;
}

static long scalar(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK
        && sqlite3_step(st) == SQLITE_ROW)
        v = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int do_verify(struct spool *s, const char *dir, long n, struct errs *e)
{
    char line[256], path[4096];
    long acked = 0, delivered = 0, bad = 0;
    while (fgets(line, sizeof line, stdin)) {
        char a[128], b[128];
        if (sscanf(line, "%127s %127s", a, b) != 2)
            continue;
        const char *ref = strcmp(a, "delivered") == 0 ? b
                        : strcmp(a, "batch") == 0 ? NULL : a;
        if (!ref)
            continue;
        struct spool_record *r = NULL;
        int g = spool_get(s, ref, SPOOL_WITH_PAYLOAD, &r, e);
        if (g != 0) {
            fprintf(stderr, "LOST: %s acknowledged but not in the ledger\n",
                    ref);
            bad++;
        } else if (ref == b && r->state != SPOOL_DELIVERED) {
            fprintf(stderr, "LOST: %s reported delivered but is %s\n", ref,
                    spool_state_name(r->state));
            bad++;
        } else if (ref == a && (!r->payload || strcmp((char *)r->payload, b)
                                != 0)) {
            fprintf(stderr, "DAMAGED: %s payload\n", ref);
            bad++;
        }
        if (ref == b)
            delivered++;
        else
            acked++;
        spool_record_free(r);
    }
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    sqlite3_stmt *st = NULL;
    const char *ic = "?";
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL)
        == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        ic = (const char *)sqlite3_column_text(st, 0);
    if (!ic || strcmp(ic, "ok") != 0) {
        fprintf(stderr, "integrity_check: %s\n", ic ? ic : "?");
        bad++;
    }
    sqlite3_finalize(st);
    long total = scalar(h, "SELECT COUNT(*) FROM records");
    long keys = scalar(h, "SELECT COUNT(DISTINCT idem_key) FROM records");
    long refs = scalar(h, "SELECT COUNT(DISTINCT ref) FROM records");
    /* a batch's members are the records carrying its batch_id: a bind
     * is whole when the batches' counts, made in its transaction, add up
     * to the records bound */
    long members = scalar(h, "SELECT COALESCE(SUM(record_count), 0) FROM "
                          "batches");
    long bound = scalar(h, "SELECT COUNT(*) FROM records WHERE batch_id "
                        "IS NOT NULL");
    long batched = scalar(h, "SELECT COUNT(*) FROM records WHERE state = "
                          "'batched'");
    sqlite3_close(h);
    if (total != keys || total != refs) {
        fprintf(stderr, "DOUBLED: %ld records, %ld keys, %ld refs\n", total,
                keys, refs);
        bad++;
    }
    if (total > n) {
        fprintf(stderr, "TOO MANY: %ld records for %ld keys\n", total, n);
        bad++;
    }
    if (total < acked) {
        fprintf(stderr, "LOST: %ld records, %ld acknowledged\n", total,
                acked);
        bad++;
    }
    if (members != bound || batched != bound) {
        fprintf(stderr, "HALF-BOUND: members %ld, bound %ld, batched %ld\n",
                members, bound, batched);
        bad++;
    }
    printf("records=%ld acknowledged=%ld delivered=%ld bound=%ld %s\n",
           total, acked, delivered, bound, bad ? "BAD" : "ok");
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct errs e;
    long a = 0, b = 0;
    int rc = 2;
    errs_init(&e);
    if (argc < 3) {
        fprintf(stderr, "usage: spool_crash DIR enqueue N PER | deliver | "
                "bind | verify N\n");
        return 2;
    }
    struct spool *s = spool_open(argv[1], NULL, &e);
    if (!s)
        goto out;
    if (strcmp(argv[2], "enqueue") == 0 && argc == 5 && num(argv[3], &a) == 0
        && num(argv[4], &b) == 0 && b > 0)
        rc = do_enqueue(s, a, b, &e);
    else if (strcmp(argv[2], "deliver") == 0)
        rc = do_deliver(s, &e);
    else if (strcmp(argv[2], "bind") == 0)
        rc = do_bind(s, &e);
    else if (strcmp(argv[2], "verify") == 0 && argc == 4
             && num(argv[3], &a) == 0)
        rc = do_verify(s, argv[1], a, &e);
    else
        fprintf(stderr, "spool_crash: bad arguments\n");
    spool_close(s);
out:
    for (size_t i = 0; i < e.n; i++)
        fprintf(stderr, "%s: %s\n", e.v[i].where, e.v[i].msg);
    errs_free(&e);
    return rc;
}
