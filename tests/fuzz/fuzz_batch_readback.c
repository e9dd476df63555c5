// fuzz-sources: adapters/*.c spool/*.c config/*.c mappings/*.c util/*.c gen:schemas
// fuzz-corpus: tests/fuzz/seeds/batch
/* fuzz_batch_readback - libFuzzer target for batch read-back: the
 * fixed-width format's check_file (adapters/fixed_width.c), which the
 * night batch runs on every file it wrote before the file leaves
 * (scheduler/batch_verify.c), decoding every record with the copybook
 * decoders and checking the trailer's count and hash totals.  The first
 * byte chooses the layout: the example's claims-mainframe (IBM-285,
 * RECFM=FB, header, COMP-3 and zoned fields, trailer with $count and
 * $sum) or tests/data/reconcile/refund-ascii.xml's (ASCII, no header);
 * the rest is the file, read through a batch_source as batch_verify
 * reads it.  The answer is OK or FAIL with a reason (never RETRY: the
 * source never fails), the same twice, and nothing leaks. */
#include "adapters/adapter.h"
#include "mappings/mapping.h"
#include "util/errs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_ROOT
#define FUZZ_ROOT "."
#endif

extern const struct adapter adapter_fixed_width;

static struct mapping *maps[2];
static void *fmts[2];

static void *format(int i, const char *path, const char *tgt)
{
    struct errs e;
    errs_init(&e);
    if (mapping_load(path, &maps[i], &e) != 0) {
        fprintf(stderr, "fuzz_batch_readback: %s: %s\n", path,
                errs_first_msg(&e));
        abort();
    }
    struct adapter_env env;
    memset(&env, 0, sizeof env);
    env.map = mapping_target(maps[i], tgt);
    env.mapping_file = maps[i]->file;
    env.service = "refund-claim";
    void *ctx = NULL;
    if (!env.map || adapter_fixed_width.init(&ctx, &env, &e) != 0) {
        fprintf(stderr, "fuzz_batch_readback: %s %s: %s\n", path, tgt,
                errs_first_msg(&e));
        abort();
    }
    errs_free(&e);
    return ctx;
}

struct mem {
    const uint8_t *p;
    size_t n, off;
};

/* m_get - exactly n bytes: 0, or 1 at the end of the data */
static int m_get(void *ctx, void *p, size_t n)
{
    struct mem *m = ctx;
    if (m->n - m->off < n)
        return 1;
    memcpy(p, m->p + m->off, n);
    m->off += n;
    return 0;
}

static void check(void *fmt, const uint8_t *d, size_t n,
                  struct adapter_result *ar)
{
    struct mem m = { .p = d, .n = n };
    struct batch_source src = { .get = m_get, .sctx = &m };
    struct batch_totals want;
    memset(&want, 0, sizeof want);
    memset(ar, 0, sizeof *ar);
    adapter_fixed_width.check_file(fmt, &src, n, &want, ar);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fmts[0]) {
        fmts[0] = format(0, FUZZ_ROOT "/examples/mappings/refund-claim.xml",
                         "claims-mainframe");
        fmts[1] = format(1, FUZZ_ROOT "/tests/data/reconcile/refund-ascii.xml",
                         "claims-mainframe");
    }
    if (size < 1)
        return 0;
    void *fmt = fmts[data[0] % 2];
    struct adapter_result a, b;
    check(fmt, data + 1, size - 1, &a);
    if (a.outcome != ADAPTER_OK && a.outcome != ADAPTER_FAIL)
        abort();                       /* the source never fails */
    if (!a.msg[0] || !memchr(a.msg, '\0', sizeof a.msg))
        abort();                       /* a reason, terminated */
    if (getenv("FUZZ_VERBOSE"))           /* what a seed reaches */
        fprintf(stderr, "outcome %d: %s\n", (int)a.outcome, a.msg);
    check(fmt, data + 1, size - 1, &b);
    if (a.outcome != b.outcome || strcmp(a.msg, b.msg) != 0)
        abort();                       /* no state between files */
    return 0;
}
