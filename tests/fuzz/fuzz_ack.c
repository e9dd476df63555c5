// fuzz-sources: scheduler/*.c adapters/*.c spool/*.c config/*.c mappings/*.c util/*.c gen:schemas
// fuzz-corpus: tests/fuzz/seeds/ack
/* fuzz_ack.c - libFuzzer target for acknowledgement files
 * (recon_ack_decode: the decoder and checks recon_apply_file runs before
 * it touches the ledger).  The first byte chooses the layout: the
 * example's claims-mainframe ack (IBM-285, FB, detail and trailer told
 * by size), or one of tests/data/reconcile/refund-ascii.xml's (ASCII FB
 * with a typed trailer, COMP-3 packed, line-ended with recfm="FB"); the
 * rest is the file.  A file is applied, bad (with a problem named) or a
 * mismatch (with the trailer's words); counts add up; nothing leaks. */
#include "scheduler/recon_int.h"
#include "mappings/mapping.h"
#include "util/errs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_ROOT
#define FUZZ_ROOT "."
#endif

static struct mapping *maps[2];
static struct recon_layout *lays[4];

static struct recon_layout *layout(int m, const char *path, const char *tgt)
{
    struct errs e;
    errs_init(&e);
    if (!maps[m] && mapping_load(path, &maps[m], &e) != 0) {
        fprintf(stderr, "fuzz_ack: %s: %s\n", path, errs_first_msg(&e));
        abort();
    }
    const struct map_target *mt = mapping_target(maps[m], tgt);
    struct recon_layout *l = mt ? recon_layout_new(mt, maps[m]->file,
                                                   "refund-claim", &e) : NULL;
    if (!l) {
        fprintf(stderr, "fuzz_ack: %s %s: %s\n", path, tgt,
                errs_first_msg(&e));
        abort();
    }
    errs_free(&e);
    return l;
}

static void setup(void)
{
    lays[0] = layout(0, FUZZ_ROOT "/examples/mappings/refund-claim.xml",
                     "claims-mainframe");
    lays[1] = layout(1, FUZZ_ROOT "/tests/data/reconcile/refund-ascii.xml",
                     "claims-mainframe");
    lays[2] = layout(1, FUZZ_ROOT "/tests/data/reconcile/refund-ascii.xml",
                     "packed-acks");
    lays[3] = layout(1, FUZZ_ROOT "/tests/data/reconcile/refund-ascii.xml",
                     "eol-acks");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!lays[0])
        setup();
    if (size < 1)
        return 0;
    const struct recon_layout *l = lays[data[0] % 4];
    struct errs e;
    errs_init(&e);
    struct recon_file f;
    if (recon_ack_decode(l, data + 1, size - 1, "CLMACK.D261203", &f,
                         &e) != 0)
        abort();                          /* only out of memory */
    if (getenv("FUZZ_VERBOSE"))           /* what a seed reaches */
        fprintf(stderr, "status %d: %zu details, %zu accepted, %zu "
                "rejected, trailer %lld; %s\n", (int)f.status, f.details,
                f.accepted, f.rejected, (long long)f.trailer_count,
                e.n ? e.v[0].msg : f.problem ? f.problem : "");
    switch (f.status) {
    case RECON_FILE_BAD:
        if (e.n == 0 || !e.v[0].msg[0])
            abort();                      /* a bad file says why */
        break;
    case RECON_FILE_MISMATCH:
        if (!f.problem || !strstr(f.problem, "the trailer says") || e.n)
            abort();
        break;
    case RECON_FILE_APPLIED:
        if (e.n || f.mismatch)
            abort();
        break;
    default:
        abort();
    }
    if (f.status != RECON_FILE_BAD && f.accepted + f.rejected > f.details)
        abort();                          /* a detail is one or the other */
    free(f.problem);
    errs_free(&e);
    return 0;
}
