/* find_fill.c - a big ledger for the find bench, and the in-process
 * lookup timings.
 *
 *   find_fill fill CONFIG SPOOL SERVICE TEMPLATE.json N
 *       N submissions made from TEMPLATE (one refund-claim JSON) with
 *       distinct references, NINOs, surnames and dates of birth, mapped
 *       and indexed through the real path (map_apply, map_search_values,
 *       spool_enqueue in 10,000-record transactions); the search key is
 *       SPOOL/search.key, where the CLI looks for it when the config has
 *       no spool key.
 *   find_fill time CONFIG SPOOL SERVICE N LOOKUPS
 *       LOOKUPS random lookups by NINO (spool_find) and, as the baseline,
 *       by ferry reference (spool_get); prints "name value unit" lines.
 *
 * record i has reference B<i:08>X, NINO AB<i mod 10^6:06><A+i/10^6>. */
#include "config/config.h"
#include "mappings/mapping.h"
#include "spool/spool.h"
#include "util/clock.h"
#include "util/errs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 10000

static void die(const char *what, struct errs *e)
{
    fprintf(stderr, "find_fill: %s: %s\n", what, e ? errs_first_msg(e) : "");
    exit(1);
}

static void nino_of(long i, char out[16])
{
    snprintf(out, 16, "AB%06ld%c", i % 1000000, (char)('A' + (i / 1000000) % 4));
}

/* answer - the answers[] element with question_id q */
static json_t *answer(json_t *doc, int q)
{
    json_t *a = json_object_get(doc, "answers"), *v;
    size_t i;
    json_array_foreach(a, i, v)
        if (json_integer_value(json_object_get(v, "question_id")) == q)
            return v;
    return NULL;
}

static struct spool *open_spool(const char *dir)
{
    struct spool_opts o;
    memset(&o, 0, sizeof o);
    struct errs e;
    errs_init(&e);
    char kp[4096];
    snprintf(kp, sizeof kp, "%s/search.key", dir);
    struct spool *s = spool_open(dir, &o, &e);   /* makes the folder */
    if (!s)
        die("spool_open", &e);
    spool_close(s);
    if (spool_search_key_ensure(kp, o.search_key, NULL, &e) != 0)
        die("search key", &e);
    o.search = true;
    s = spool_open(dir, &o, &e);
    if (!s)
        die("spool_open", &e);
    errs_free(&e);
    return s;
}

static int fill(const struct mapping *m, struct spool *sp, const char *svc,
                const char *tpl, long n)
{
    json_error_t je;
    json_t *doc = json_load_file(tpl, 0, &je);
    if (!doc)
        die("template", NULL);
    json_t *a1 = answer(doc, 1), *a2 = answer(doc, 2), *a3 = answer(doc, 3);
    if (!a1 || !a2 || !a3)
        die("template has no answers 1-3", NULL);
    struct spool_item *it = calloc(CHUNK, sizeof *it);
    struct spool_result *res = calloc(CHUNK, sizeof *res);
    char **payload = calloc(CHUNK, sizeof *payload);
    char **rj = calloc(CHUNK, sizeof *rj);
    char ***pairs = calloc(CHUNK, sizeof *pairs);
    size_t *np = calloc(CHUNK, sizeof *np);
    if (!it || !res || !payload || !rj || !pairs || !np)
        die("out of memory", NULL);
    struct errs e;
    errs_init(&e);
    int64_t t0 = clock_mono_ms();
    for (long base = 0; base < n; base += CHUNK) {
        long k = n - base < CHUNK ? n - base : CHUNK;
        for (long j = 0; j < k; j++) {
            long i = base + j;
            char ref[32], nino[16], sur[24], dob[32];
            snprintf(ref, sizeof ref, "B%08ldX", i);
            nino_of(i, nino);
            snprintf(sur, sizeof sur, "SMITH%c%c%c", (char)('A' + i % 26),
                     (char)('A' + (i / 26) % 26), (char)('A' + (i / 676) % 26));
            snprintf(dob, sizeof dob, "%02ld/%02ld/%04ld", 1 + i % 28,
                     1 + (i / 28) % 12, 1930 + (i / 336) % 70);
            json_object_set_new(doc, "submission_reference", json_string(ref));
            json_object_set_new(a1, "last_name", json_string(sur));
            json_object_set_new(a2, "answer_text", json_string(nino));
            json_object_set_new(a3, "answer_text", json_string(dob));
            struct record *r = NULL;
            if (map_apply(m, doc, &r, &e) != 0)
                die("map_apply", &e);
            payload[j] = json_dumps(doc, JSON_COMPACT);
            rj[j] = record_to_json(r);
            if (map_search_values(m, r, &pairs[j], &np[j]) != 0)
                die("search values", NULL);
            record_free(r);
            it[j] = (struct spool_item){ .service = svc,
                .target = "claims-mainframe", .client = "bench",
                .payload = payload[j], .payload_len = strlen(payload[j]),
                .record_json = rj[j], .search = pairs[j], .nsearch = np[j] };
            it[j].fe_ref = strdup(ref);
            it[j].idem_key = it[j].fe_ref;
        }
        if (spool_enqueue(sp, it, (size_t)k, res, &e) != 0)
            die("enqueue", &e);
        for (long j = 0; j < k; j++) {
            free(payload[j]);
            free(rj[j]);
            map_search_values_free(pairs[j], np[j]);
            free((char *)it[j].fe_ref);
        }
        if ((base / CHUNK) % 10 == 9)
            fprintf(stderr, "find_fill: %ld records\n", base + k);
    }
    printf("find_fill_records %ld records\n", n);
    printf("find_fill_rate %.0f records/s\n",
           (double)n * 1000.0 / (double)(clock_mono_ms() - t0 + 1));
    json_decref(doc);
    free(it); free(res); free(payload); free(rj); free(pairs); free(np);
    errs_free(&e);
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    printf("%s_median %.3f ms\n", name, v[n / 2]);
    printf("%s_p99 %.3f ms\n", name, v[(n * 99) / 100]);
}

static int timing(const struct mapping *m, struct spool *sp, const char *svc,
                  long n, long lookups)
{
    const char *names[1] = { "nino" };
    const struct map_search_index *ix = map_search_index_for(m, names, 1);
    if (!ix)
        die("the mapping has no nino index", NULL);
    double *tf = calloc((size_t)lookups, sizeof *tf);
    double *tg = calloc((size_t)lookups, sizeof *tg);
    struct errs e;
    errs_init(&e);
    srand(42);
    for (long q = 0; q < lookups; q++) {
        long i = (long)(((unsigned long)rand() << 16 ^ (unsigned long)rand())
                        % (unsigned long)n);
        char nino[16];
        nino_of(i, nino);
        const char *texts[1] = { nino };
        char *val = NULL;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (map_search_query(m, ix, names, texts, 1, &val, &e) != 0)
            die("query", &e);
        struct spool_list l = { 0 };
        if (spool_find(sp, svc, ix->name, val, 0, &l, &e) != 0 || l.n != 1)
            die("find did not find exactly one", &e);
        clock_gettime(CLOCK_MONOTONIC, &b);
        tf[q] = (double)(b.tv_sec - a.tv_sec) * 1e3
              + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        char ref[SPOOL_REF_MAX];
        snprintf(ref, sizeof ref, "%s", l.v[0]->ref);
        spool_list_free(&l);
        free(val);
        struct spool_record *r = NULL;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (spool_get(sp, ref, 0, &r, &e) != 0)
            die("get", &e);
        clock_gettime(CLOCK_MONOTONIC, &b);
        spool_record_free(r);
        tg[q] = (double)(b.tv_sec - a.tv_sec) * 1e3
              + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    report("find_nino_inproc", tf, lookups);
    report("get_by_ref_inproc", tg, lookups);
    free(tf);
    free(tg);
    errs_free(&e);
    return 0;
}

static long count_arg(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end || v < 1 || v > 100000000)
        die("a count wants 1..100000000", NULL);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: find_fill fill CONFIG SPOOL SERVICE TEMPLATE N\n"
                        "       find_fill time CONFIG SPOOL SERVICE N LOOKUPS\n");
        return 2;
    }
    struct errs e;
    errs_init(&e);
    struct ferry_config *cfg = NULL;
    if (config_load(argv[2], &cfg, &e) != 0)
        die("config", &e);
    const struct service_config *sv = config_service(cfg, argv[4]);
    if (!sv || !sv->mapping)
        die("no such service", NULL);
    struct spool *sp = open_spool(argv[3]);
    int rc;
    if (strcmp(argv[1], "fill") == 0 && argc == 7)
        rc = fill(sv->mapping, sp, sv->name, argv[5], count_arg(argv[6]));
    else if (strcmp(argv[1], "time") == 0 && argc == 7)
        rc = timing(sv->mapping, sp, sv->name, count_arg(argv[5]),
                    count_arg(argv[6]));
    else
        rc = 2;
    spool_close(sp);
    config_free(cfg);
    errs_free(&e);
    return rc;
}
