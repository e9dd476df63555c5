// fuzz-sources: mappings/csv.c util/errs.c util/buf.c util/utf8.c
/* fuzz_csv.c - libFuzzer target for the CSV reader.
 *
 * Reads every record of arbitrary bytes with small caps (so the cap paths
 * are reached too) and checks the reader's promises: each good row has
 * exactly the header's column count, every field is NUL-terminated at its
 * stated length, line numbers never go backwards, and the reader always
 * reaches the end. */
#include "mappings/csv.h"
#include "util/errs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_reader *r = csv_open_mem((const char *)data, size, "fuzz.csv");
    if (!r)
        return 0;
    if (size && (data[0] & 1))
        csv_set_limits(r, 16, 64, 8);
    struct errs e;
    errs_init(&e);
    struct csv_row row;
    long last = 0;
    size_t rounds = 0;
    int rc;
    while ((rc = csv_next(r, &row, &e)) != 0) {
        if (++rounds > size + 2)
            abort();   /* no progress: the reader must always advance */
        if (rc < 0)
            continue;
        if (row.n != csv_ncolumns(r) || row.line <= last)
            abort();
        last = row.line;
        for (size_t i = 0; i < row.n; i++)
            if (strlen(row.fields[i]) != row.lens[i])
                abort();
    }
    errs_free(&e);
    csv_free(r);
    return 0;
}
