/* batch_sum.c - the small arithmetic the night batch shares: the
 * overflow-checked running total (batch.h) and the SHA-256 in hex that
 * building a file and reading it back both print.  A leaf: it calls
 * nothing of the batch.  (The hash totals themselves belong to the file
 * format: adapters/fixed_width.c.) */
#include "scheduler/batch_int.h"

#include <stdio.h>

int batch_sum_add(int64_t *acc, int64_t v)
{
    int64_t r;
    if (__builtin_add_overflow(*acc, v, &r))
        return -1;
    *acc = r;
    return 0;
}


void batch_hex_digest(const unsigned char *d, unsigned n, char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (unsigned i = 0; i < n && i < 32; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[64] = '\0';
}

