// fuzz-sources: mappings/record.c mappings/mask.c mappings/jsonpath.c util/*.c
// fuzz-corpus: tests/data/record_json
/* fuzz_record_json.c - libFuzzer target for record_from_json.
 *
 * The spool stores each record's canonical JSON and trusts it when a
 * record is delivered, shown or edited, but a damaged or hand-edited
 * ledger must still never crash ferry.  Each input is read as that JSON.
 * Whatever is accepted must serialise again, and the serialised form must
 * be a fixed point (read back, it gives the same text).  The plain forms
 * (masked and revealed) must serialise too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/mask.h"
#include "mappings/record.h"
#include "util/errs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct errs e;
    errs_init(&e);
    struct record *r = record_from_json(s, &e);
    if (r) {
        char *j = record_to_json(r);
        if (!j)
            abort();
        struct record *back = record_from_json(j, &e);
        char *j2 = back ? record_to_json(back) : NULL;
        if (!j2 || strcmp(j, j2) != 0)
            abort();
        json_t *m1 = mask_record(r, false), *m2 = mask_record(r, true);
        char *p1 = m1 ? json_dumps(m1, JSON_COMPACT) : NULL;
        char *p2 = m2 ? json_dumps(m2, JSON_COMPACT) : NULL;
        json_decref(m1);
        json_decref(m2);
        if (!p1 || !p2)
            abort();
        free(p1);
        free(p2);
        free(j);
        free(j2);
        record_free(back);
        record_free(r);
    } else if (e.n == 0) {
        abort();        /* a refusal always says why */
    }
    for (size_t i = 0; i < e.n; i++)
        if (!e.v[i].where || !e.v[i].msg || !e.v[i].msg[0])
            abort();
    errs_free(&e);
    free(s);
    return 0;
}
