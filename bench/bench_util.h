/* bench_util.h - what the bench programs share: the clocks they time by,
 * removing their temporary folder, and the batched enqueue loop the intake
 * benches measure.
 *
 * A header of static functions, not a .c file: each bench/NAME.c is a
 * program of its own (the Makefile links each against libferry.a alone),
 * and these few lines are the benches', not ferry's, so they stay out of
 * the library. */
#ifndef FERRY_BENCH_UTIL_H
#define FERRY_BENCH_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "spool/spool.h"
#include "util/errs.h"

/* bench_now_s - monotonic seconds */
static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int bench_rm_one(const char *p, const struct stat *sb,
                               int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

/* bench_rm_tree - dir and everything in it, links not followed */
static inline void bench_rm_tree(const char *dir)
{
    nftw(dir, bench_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* bench_enqueue - n records of the given payload into s, per a
 * spool_enqueue call (each a group committed as one transaction), keys
 * "tag-N" so every round's records are new; service "claims", target "mf".
 * Returns records/s, or -1 with the spool's error on stderr after who. */
static inline double bench_enqueue(struct spool *s, long n, long per,
                                   const char *tag, const char *payload,
                                   size_t payload_len, const char *who)
{
    struct spool_item *it = calloc((size_t)per, sizeof *it);
    struct spool_result *res = calloc((size_t)per, sizeof *res);
    char (*keys)[40] = calloc((size_t)per, sizeof *keys);
    struct errs e;
    double rate = -1;
    errs_init(&e);
    if (!it || !res || !keys) {
        fprintf(stderr, "%s: out of memory\n", who);
        goto done;
    }
    double t0 = bench_now_s();
    for (long base = 0; base < n; base += per) {
        long m = n - base < per ? n - base : per;
        for (long i = 0; i < m; i++) {
            snprintf(keys[i], sizeof keys[i], "%s-%ld", tag, base + i);
            it[i] = (struct spool_item){ .service = "claims", .target = "mf",
                .idem_key = keys[i], .payload = payload,
                .payload_len = payload_len, .record_json = "{\"a\":1}" };
        }
        if (spool_enqueue(s, it, (size_t)m, res, &e) != 0) {
            fprintf(stderr, "%s: %s\n", who, errs_first_msg(&e));
            goto done;
        }
    }
    rate = (double)n / (bench_now_s() - t0);
done:
    errs_free(&e);
    free(it);
    free(res);
    free(keys);
    return rate;
}

#endif
