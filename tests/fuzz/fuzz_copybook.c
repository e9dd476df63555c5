// fuzz-sources: mappings/cpy_lex.c mappings/cpy_layout.c mappings/cpy_parse.c mappings/copybook.c mappings/cobol_codec.c mappings/cobol_msg.c mappings/cobol_edit.c mappings/cpy_copy.c mappings/fw_rdw.c mappings/fixedwidth.c mappings/fw_decode.c mappings/record.c util/*.c
// fuzz-corpus: tests/data/copybooks tests/data/copybook_layout
/* fuzz_copybook.c - libFuzzer target for the copybook parser.
 *
 * Parses arbitrary text in each source format; on success checks the
 * layout's promises (every field inside its record, groups hold their
 * children), prints both listings, looks every name up, and encodes the
 * all-defaults record and decodes it again, so the layout code behind
 * the parser is exercised too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/copybook.h"
#include "mappings/fixedwidth.h"
#include "util/buf.h"
#include "util/errs.h"

static struct cob_codec *codec(void)
{
    static struct cob_codec *c;
    if (!c)
        c = cob_codec_new(COB_CP_IBM285, COB_OP_IBM, NULL, 0);
    return c;
}

static void check_record(const struct cpy_record *r)
{
    for (size_t i = 0; i < r->nflat; i++) {
        const struct cpy_field *f = r->flat[i];
        if (f->level == 66)
            continue;
        if (f->offset + cpy_total_length(f) > r->length)
            abort();                              /* outside its record */
        if (f->parent && (f->offset < f->parent->offset ||
                          f->offset + cpy_total_length(f) >
                          f->parent->offset + f->parent->length))
            abort();                              /* outside its group */
        bool amb;
        cpy_field_find(r, f->name, &amb);
    }
    if (r->length > 64 * 1024)
        return;
    struct map_section sec;
    memset(&sec, 0, sizeof sec);
    struct errs e;
    errs_init(&e);
    struct fw_plan *p = fw_plan_new(r, &sec, &e);
    unsigned char *buf = malloc(r->length ? r->length : 1);
    struct record *rec = record_new();
    if (p && buf && rec &&
        fw_encode(p, codec(), rec, NULL, buf, r->length, NULL, NULL, &e) == 0) {
        struct record *d = fw_decode(r, codec(), buf, r->length, &e);
        record_free(d);
        struct buf b;
        buf_init(&b, 0);
        fw_listing(r, codec(), buf, r->length, NULL, &b);
        buf_free(&b);
    }
    record_free(rec);
    free(buf);
    fw_plan_free(p);
    errs_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum cpy_format fmts[] = {
        CPY_FMT_AUTO, CPY_FMT_FIXED, CPY_FMT_FREE
    };
    enum cpy_format fmt = fmts[size ? data[0] % 3 : 0];
    struct errs e;
    errs_init(&e);
    struct copybook *cb = cpy_parse((const char *)data, size, "fuzz.cpy",
                                    fmt, &e);
    if (!cb && e.n == 0)
        abort();                 /* failure always says why */
    if (cb) {
        struct buf b;
        buf_init(&b, 0);
        cpy_listing(cb, NULL, false, &b);
        cpy_listing(cb, NULL, true, &b);
        buf_free(&b);
        for (size_t i = 0; i < cb->nrec; i++)
            check_record(&cb->rec[i]);
    }
    cpy_free(cb);
    errs_free(&e);
    return 0;
}
