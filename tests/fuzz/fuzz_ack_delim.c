// fuzz-sources: scheduler/*.c adapters/*.c spool/*.c config/*.c mappings/*.c util/*.c gen:schemas
// fuzz-corpus: tests/fuzz/seeds/ack_delim
/* fuzz_ack_delim.c - libFuzzer target for a delimited target's
 * acknowledgement files (recon_delim.c through recon_ack_decode: the
 * decoder and checks recon_apply_file runs before it touches the
 * ledger).  The first byte chooses the dialect: comma quoted when needed
 * with LF (ASCII), pipe with quoting off and CRLF (ASCII), comma quoted
 * always with backslash escapes (IBM-037), tab with LF (UTF-8, a
 * byte-order mark allowed); the rest is the file.  A file is applied or
 * bad (with a problem naming the file and a line); accepted and rejected
 * add up to the details; nothing leaks. */
#include "config/config.h"
#include "scheduler/recon_int.h"
#include "mappings/mapping.h"
#include "util/errs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mapping *map;
static struct recon_layout *lays[4];

static const char xml[] =
    "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"s\">"
    "<accept><field name=\"a\" path=\"a\" type=\"string\"/></accept>"
    "<target name=\"t\"><map to=\"reference\" from=\"$reference\"/>"
    "<section name=\"ack\" key=\"reference\" status=\"outcome\""
    " accepted=\"A,K\" rejected=\"R\" reason=\"code\" reason-text=\"why\""
    " receipt=\"case_no\"/>"
    "<codes name=\"reasons\"><code value=\"E01\" as=\"NINO not known\"/>"
    "</codes></target></mapping>";

static struct recon_layout *layout(struct kv *d, size_t nd)
{
    struct errs e;
    errs_init(&e);
    if (!map && mapping_load_memory(xml, sizeof xml - 1, "t.xml", &map,
                                    &e) != 0) {
        fprintf(stderr, "fuzz_ack_delim: %s\n", errs_first_msg(&e));
        abort();
    }
    struct target_config tc;
    memset(&tc, 0, sizeof tc);
    tc.name = "t";
    tc.type = "delimited";
    tc.opts.v = d;
    tc.opts.n = nd;
    struct recon_layout *l = recon_layout_for(&tc, mapping_target(map, "t"),
                                              "t.xml", "s", &e);
    if (!l) {
        fprintf(stderr, "fuzz_ack_delim: %s\n", errs_first_msg(&e));
        abort();
    }
    errs_free(&e);
    return l;
}

static void setup(void)
{
    static struct kv d0[] = { { "line-end", "LF", 0 } };
    static struct kv d1[] = { { "delimiter", "|", 0 },
                              { "quoting", "none", 0 } };
    static struct kv d2[] = { { "quoting", "always", 0 },
                              { "escape", "backslash", 0 },
                              { "encoding", "IBM-037", 0 },
                              { "line-end", "LF", 0 } };
    static struct kv d3[] = { { "delimiter", "tab", 0 },
                              { "encoding", "UTF-8", 0 },
                              { "line-end", "LF", 0 } };
    lays[0] = layout(d0, 1);
    lays[1] = layout(d1, 2);
    lays[2] = layout(d2, 4);
    lays[3] = layout(d3, 3);
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
    if (recon_ack_decode(l, data + 1, size - 1, "CLMACK.csv", &f, &e) != 0)
        abort();                          /* only out of memory */
    if (getenv("FUZZ_VERBOSE"))           /* what a seed reaches */
        fprintf(stderr, "status %d: %zu details, %zu accepted, %zu "
                "rejected; %s\n", (int)f.status, f.details, f.accepted,
                f.rejected, e.n ? e.v[0].msg : "");
    switch (f.status) {
    case RECON_FILE_BAD:
        if (e.n == 0 || strcmp(e.v[0].where, "CLMACK.csv") != 0 ||
            (strncmp(e.v[0].msg, "line ", 5) != 0 &&
             strncmp(e.v[0].msg, "empty file", 10) != 0))
            abort();                      /* a bad file says where */
        break;
    case RECON_FILE_APPLIED:
        if (e.n || f.mismatch)
            abort();
        break;
    default:
        abort();                          /* no trailer: no mismatch */
    }
    if (f.accepted + f.rejected != f.details)
        abort();                          /* a detail is one or the other */
    free(f.problem);
    errs_free(&e);
    return 0;
}
