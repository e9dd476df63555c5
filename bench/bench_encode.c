/* bench_encode.c - map and encode a GOV.UK Forms-style submission (about
 * 1 KB of JSON) into the 150-byte CLAIM-DETAIL record of the example
 * refund-claim service (IBM-285 text, COMP-3 amounts, zoned dates and
 * numbers, an OCCURS table with its item count, a local-time date), on
 * one core, through exactly the path ferry takes for a real submission:
 *
 *   jt_parse (simdjson, as `ferry submit` parses) -> map_apply_jt (the
 *   mapping's accept part) -> fw_encode (the target's compiled plan)
 *
 * beside the jansson path every other caller takes (map_parse_json ->
 * map_apply), measured the same way.
 *
 * Usage: bench_encode [MAPPING.xml [SUBMISSION.json [SECONDS [profile]]]]
 * ("profile": only the fast end-to-end path, in a loop for SECONDS and
 * printing nothing but its rate, for `perf record -g`; "count-fast",
 * "count-parse", "count-map", "count-encode": that stage exactly SECONDS times, for
 * `perf stat -e instructions`, which a busy machine does not disturb)
 * Prints "name value unit" lines: the end-to-end rate, the time of each
 * stage alone, jansson's parse alone on the same document (the floor
 * under the whole path), and "# record HEX" so bench/run.d/encode.sh can
 * check that the Python baseline produced the same bytes.  encode.sh runs
 * it pinned to one core and prints the baseline and the ratio; run
 * directly (no arguments, as bench/run.sh does) it only says so, so the
 * figures come from one pinned run. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mappings/fixedwidth.h"
#include "mappings/fw_target.h"
#include "mappings/jtree.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/errs.h"
#include "util/fsutil.h"

#define REFERENCE "FRY-20260728-000042"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct job {
    const struct mapping *m;
    const struct fw_target *ft;
    struct record *sp;            /* "$" sources, as the batch sets them */
    struct fvalue *ref;
    const char *json;
    size_t jlen;
    struct jt_parser *jp;
    struct map_limits lim;
    unsigned char out[512];
    struct errs e;
};

/* one_fast - the whole path for one submission, parsed as `ferry
 * submit` parses it; 0 ok */
static int one_fast(struct job *j)
{
    const struct jt_doc *d = NULL;
    struct record *r = NULL;
    int rc = -1;
    if (jt_parse(j->jp, j->json, j->jlen, j->lim.max_body, j->lim.max_depth,
                 j->lim.max_fields, &d) != 0) {
        errs_add(&j->e, "", "the fast parse left it to jansson");
        goto out;
    }
    if (map_apply_jt(j->m, d, &r, &j->e) != 0)
        goto out;
    if (fvalue_set_text(j->ref, FT_STRING, REFERENCE) != 0)
        goto out;
    rc = fw_encode(j->ft->detail.plan, j->ft->cc, r, j->sp, j->out,
                   sizeof j->out, NULL, NULL, &j->e);
out:
    record_free(r);
    return rc;
}

/* one_record - the whole path for one submission through jansson; 0 ok */
static int one_record(struct job *j)
{
    json_t *doc = NULL;
    struct record *r = NULL;
    int rc = -1;
    if (map_parse_json(j->json, j->jlen, &j->m->limits, &doc, &j->e) != 0 ||
        map_apply(j->m, doc, &r, &j->e) != 0)
        goto out;
    if (fvalue_set_text(j->ref, FT_STRING, REFERENCE) != 0)
        goto out;
    rc = fw_encode(j->ft->detail.plan, j->ft->cc, r, j->sp, j->out,
                   sizeof j->out, NULL, NULL, &j->e);
out:
    record_free(r);
    json_decref(doc);
    return rc;
}

/* timed - run step until secs have passed; the rate per second */
#define TIMED(secs, rate, step)                                       \
    do {                                                              \
        unsigned long n_ = 0;                                         \
        double t0_ = now(), t_;                                       \
        do {                                                          \
            for (int k_ = 0; k_ < 1000; k_++, n_++) {                 \
                step;                                                 \
            }                                                         \
            t_ = now() - t0_;                                         \
        } while (t_ < (secs));                                        \
        (rate) = (double)n_ / t_;                                     \
    } while (0)

static int fail(struct job *j, const char *what)
{
    fprintf(stderr, "bench_encode: %s: %s%s%s\n", what,
            errs_first_msg(&j->e) ? errs_first_msg(&j->e) : "",
            j->e.n && j->e.v[0].where[0] ? " at " : "",
            j->e.n ? j->e.v[0].where : "");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("# bench_encode runs from bench/run.d/encode.sh, pinned to "
               "one core, beside its Python baseline\n");
        return 0;
    }
    const char *mpath = argv[1];
    const char *path = argc > 2 ? argv[2] : "bench/data/refund-claim.json";
    double secs = argc > 3 ? strtod(argv[3], NULL) : 2.0;
    if (!(secs > 0.0))
        secs = 2.0;
    struct job j;
    memset(&j, 0, sizeof j);
    errs_init(&j.e);
    struct mapping *m = NULL;
    struct fw_target *ft = NULL;
    char *json = NULL;
    if (fs_read_file(path, 0, &json, &j.jlen, &j.e) < 0)
        return fail(&j, path);
    if (mapping_load(mpath, &m, &j.e) != 0)
        return fail(&j, mpath);
    if (m->ntargets < 1 || !(ft = fw_target_new(&m->targets[0], m->file, &j.e)))
        return fail(&j, "target");
    j.m = m;
    j.ft = ft;
    j.json = json;
    j.jp = jt_parser_new();
    map_limits_effective(&m->limits, &j.lim);
    if (!j.jp)
        return fail(&j, "out of memory");
    j.sp = record_new();
    struct record_field *rf = j.sp ? record_add(j.sp, "$reference") : NULL;
    if (!rf)
        return fail(&j, "out of memory");
    j.ref = &rf->v;

    /* warm up and check the job is done right before timing it */
    if (one_record(&j) != 0 || one_fast(&j) != 0)
        return fail(&j, "the submission");
    size_t len = fw_plan_length(ft->detail.plan);

    if (argc > 4 && strcmp(argv[4], "profile") == 0) {
        double rate;
        TIMED(secs, rate, if (one_fast(&j) != 0) return fail(&j, "run"));
        printf("encode_ferry_rate %.0f records/s (profile run)\n", rate);
        return 0;
    }
    if (argc > 4 && strncmp(argv[4], "count-", 6) == 0) {
        const char *what = argv[4] + 6;
        unsigned long n = (unsigned long)secs;
        const struct jt_doc *cd = NULL;
        struct record *cr = NULL;
        if (jt_parse(j.jp, json, j.jlen, j.lim.max_body, j.lim.max_depth,
                     j.lim.max_fields, &cd) != 0 ||
            map_apply_jt(m, cd, &cr, &j.e) != 0)
            return fail(&j, "the submission");
        for (unsigned long i = 0; i < n; i++) {
            if (strcmp(what, "fast") == 0) {
                if (one_fast(&j) != 0)
                    return fail(&j, "run");
            } else if (strcmp(what, "parse") == 0) {
                if (jt_parse(j.jp, json, j.jlen, j.lim.max_body,
                             j.lim.max_depth, j.lim.max_fields, &cd) != 0)
                    return fail(&j, "fast parse");
            } else if (strcmp(what, "map") == 0) {
                struct record *y = NULL;
                if (map_apply_jt(m, cd, &y, &j.e) != 0)
                    return fail(&j, "map");
                record_free(y);
            } else if (fw_encode(ft->detail.plan, ft->cc, cr, j.sp, j.out,
                                 sizeof j.out, NULL, NULL, &j.e) != 0) {
                return fail(&j, "encode");
            }
        }
        record_free(cr);
        printf("# %lu x %s\n", n, what);
        return 0;
    }

    /* The machine may be shared: every measurement is taken in ROUNDS
     * short slices, interleaved, and the best slice of each is kept, so
     * the stages and jansson's floor are compared under the same load. */
    enum { ROUNDS = 5 };
    double slice = secs / ROUNDS;
    double e2e = 0, parse = 0, map = 0, enc = 0, jansson = 0, x;
    double fast = 0, fparse = 0, fmap = 0;
    const struct jt_doc *fd = NULL;
    json_t *doc = NULL;
    struct record *r = NULL;
    if (map_parse_json(json, j.jlen, &m->limits, &doc, &j.e) != 0 ||
        map_apply(m, doc, &r, &j.e) != 0)
        return fail(&j, "the submission");
    for (int round = 0; round < ROUNDS; round++) {
        TIMED(slice, x, if (one_fast(&j) != 0) return fail(&j, "run"));
        fast = x > fast ? x : fast;
        TIMED(slice / 4, x, {
            if (jt_parse(j.jp, json, j.jlen, j.lim.max_body, j.lim.max_depth,
                         j.lim.max_fields, &fd) != 0)
                return fail(&j, "fast parse");
        });
        fparse = x > fparse ? x : fparse;
        TIMED(slice / 4, x, {
            struct record *y = NULL;
            if (map_apply_jt(m, fd, &y, &j.e) != 0)
                return fail(&j, "map");
            record_free(y);
        });
        fmap = x > fmap ? x : fmap;
        TIMED(slice, x, if (one_record(&j) != 0) return fail(&j, "run"));
        e2e = x > e2e ? x : e2e;
        TIMED(slice / 4, x, {
            json_t *d = NULL;
            if (map_parse_json(json, j.jlen, &m->limits, &d, &j.e) != 0)
                return fail(&j, "parse");
            json_decref(d);
        });
        parse = x > parse ? x : parse;
        TIMED(slice / 4, x, {
            struct record *y = NULL;
            if (map_apply(m, doc, &y, &j.e) != 0)
                return fail(&j, "map");
            record_free(y);
        });
        map = x > map ? x : map;
        TIMED(slice / 4, x, {
            if (fw_encode(ft->detail.plan, ft->cc, r, j.sp, j.out,
                          sizeof j.out, NULL, NULL, &j.e) != 0)
                return fail(&j, "encode");
        });
        enc = x > enc ? x : enc;
        /* jansson alone, as ferry calls it (duplicate keys refused) */
        TIMED(slice / 4, x, {
            json_t *d = json_loadb(json, j.jlen, JSON_REJECT_DUPLICATES,
                                   NULL);
            if (!d)
                return fail(&j, "json_loadb");
            json_decref(d);
        });
        jansson = x > jansson ? x : jansson;
    }
    /* the record printed is the end-to-end one, the fast path's; the
     * jansson path's must be the same bytes */
    unsigned char slow[sizeof j.out];
    if (one_record(&j) != 0)
        return fail(&j, "run");
    memcpy(slow, j.out, sizeof slow);
    if (one_fast(&j) != 0)
        return fail(&j, "run");
    if (memcmp(slow, j.out, fw_plan_length(ft->detail.plan)) != 0)
        return fail(&j, "the two paths made different records");

    printf("# %zu bytes of JSON -> %zu-byte %s record (%s), mapping %s\n",
           j.jlen, len, ft->detail.rec->name,
           kv_get(&ft->mt->opts, "encoding") ? kv_get(&ft->mt->opts, "encoding")
                                              : "ascii", mpath);
    printf("# record ");
    for (size_t i = 0; i < len; i++)
        printf("%02X", j.out[i]);
    printf("\n");
    printf("# best of %d interleaved slices per figure\n", ROUNDS);
    printf("encode_ferry_rate %.0f records/s\n", fast);
    printf("encode_ferry_us_per_record %.2f us\n", 1e6 / fast);
    printf("encode_stage_parse %.2f us (simdjson, jt_parse)\n", 1e6 / fparse);
    printf("encode_stage_map %.2f us\n", 1e6 / fmap);
    printf("encode_jansson_path_rate %.0f records/s (map_parse_json, map_apply)\n", e2e);
    printf("encode_jansson_path_stage_parse %.2f us\n", 1e6 / parse);
    printf("encode_jansson_path_stage_map %.2f us\n", 1e6 / map);
    printf("encode_stage_encode %.2f us\n", 1e6 / enc);
    printf("encode_encoder_only_rate %.0f records/s\n", enc);
    /* map + encode of a document already parsed (what the mapping engine
     * and the encoder cost; the parse is jansson's, measured just below) */
    printf("encode_map_and_encode_rate %.0f records/s\n",
           1e6 / (1e6 / fmap + 1e6 / enc));
    printf("encode_fast_parse_vs_jansson %.1f x\n", fparse / jansson);
    printf("encode_jansson_alone %.2f us\n", 1e6 / jansson);
    printf("encode_jansson_alone_rate %.0f documents/s\n", jansson);

    record_free(r);
    json_decref(doc);
    jt_parser_free(j.jp);
    record_free(j.sp);
    fw_target_free(ft);
    mapping_free(m);
    free(json);
    errs_free(&j.e);
    return 0;
}
