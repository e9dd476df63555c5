/* bench_intake.c - durable intake through the spool API.
 *
 * Figures (one "name value unit" line each):
 *   intake_batched_rate  100,000 records of 1 KB, 1000 per spool_enqueue
 *                        (as `ferry submit` of NDJSON does them)
 *   intake_single_rate   baseline: one record per transaction (2,000)
 *   intake_ratio         batched / single
 *   intake_group_rate    32 threads each enqueuing single records
 *   intake_group_commits transactions the group commit spent on them
 * The spool lives in a temporary folder, removed at the end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "spool/spool.h"
#include "util/errs.h"

#define PAYLOAD 1024

static char payload[PAYLOAD + 1];

static struct spool *open_at(const char *base, const char *name)
{
    char dir[1024];
    struct errs e;
    errs_init(&e);
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    struct spool *s = spool_open(dir, NULL, &e);
    if (!s)
        fprintf(stderr, "bench_intake: %s\n", errs_first_msg(&e));
    errs_free(&e);
    return s;
}

struct thr {
    struct spool *s;
    int id;
    long per;
    int fails;
};

static void *thr_main(void *arg)
{
    struct thr *t = arg;
    for (long i = 0; i < t->per; i++) {
        char key[48];
        struct spool_result r;
        struct errs e;
        errs_init(&e);
        snprintf(key, sizeof key, "g%d-%ld", t->id, i);
        struct spool_item it = { .service = "claims", .target = "mf",
            .idem_key = key, .payload = payload, .payload_len = PAYLOAD,
            .record_json = "{\"a\":1}" };
        if (spool_enqueue(t->s, &it, 1, &r, &e) != 0)
            t->fails++;
        errs_free(&e);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    long single = 2000, threads = 32, per_thread = 200;
    char base[512];
    const char *t = getenv("TMPDIR");
    int rc = 1;
    if (n <= 0)
        n = 100000;
    for (int i = 0; i < PAYLOAD; i++)
        payload[i] = (char)('a' + i % 26);
    snprintf(base, sizeof base, "%s/bench_intake.XXXXXX", t ? t : "/tmp");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    struct spool *a = open_at(base, "batched");
    struct spool *b = open_at(base, "single");
    struct spool *c = open_at(base, "group");
    if (!a || !b || !c)
        goto done;
    double batched = bench_enqueue(a, n, 1000, "b", payload, PAYLOAD,
                                   "bench_intake");
    double one = bench_enqueue(b, single, 1, "s", payload, PAYLOAD,
                               "bench_intake");
    if (batched < 0 || one < 0)
        goto done;
    pthread_t th[64];
    struct thr tt[64];
    double t0 = bench_now_s();
    for (long i = 0; i < threads; i++) {
        tt[i] = (struct thr){ .s = c, .id = (int)i, .per = per_thread };
        pthread_create(&th[i], NULL, thr_main, &tt[i]);
    }
    int fails = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        fails += tt[i].fails;
    }
    double group = (double)(threads * per_thread) / (bench_now_s() - t0);
    struct spool_stats st;
    spool_stats_get(c, &st);
    if (fails)
        goto done;
    printf("intake_fsync_mode WAL+synchronous=FULL mode\n");
    printf("intake_records %ld records\n", n);
    printf("intake_batched_rate %.0f records/s\n", batched);
    printf("intake_single_rate %.0f records/s\n", one);
    printf("intake_ratio %.1f x\n", batched / one);
    printf("intake_group_rate %.0f records/s\n", group);
    printf("intake_group_threads %ld threads\n", threads);
    printf("intake_group_commits %llu transactions\n",
           (unsigned long long)st.enqueue_commits);
    printf("intake_group_calls %llu calls\n",
           (unsigned long long)st.enqueue_calls);
    printf("intake_batched_target_met %d bool\n", batched >= 50000.0);
    rc = 0;
done:
    spool_close(a);
    spool_close(b);
    spool_close(c);
    bench_rm_tree(base);
    return rc;
}
