/* batch_sum.c - the exact arithmetic a batch file's totals need, shared
 * by building a file (batch_build.c) and reading it back
 * (batch_verify.c): overflow-checked sums, rescaling, the totals' text
 * and the SHA-256 in hex.  A leaf: it calls nothing of the batch. */
#include "scheduler/batch_int.h"
#include "mappings/record.h"

#include <stdio.h>

int batch_sum_add(int64_t *acc, int64_t v)
{
    int64_t r;
    if (__builtin_add_overflow(*acc, v, &r))
        return -1;
    *acc = r;
    return 0;
}

/* batch_rescale - v at scale from -> scale to (to >= from); -1 on overflow */
int batch_rescale(int64_t v, int from, int to, int64_t *out)
{
    while (from < to) {
        if (__builtin_mul_overflow(v, 10, &v))
            return -1;
        from++;
    }
    *out = v;
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

/* batch_totals_text - "NAME=1234.50 NAME2=42" from the running sums */
void batch_totals_text(const struct bctx *c, const int64_t *v, char *out,
                       size_t outsz)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->nsums && n < outsz; i++) {
        char num[48];
        dec_format(v[i], c->sums[i].scale, num, sizeof num);
        int w = snprintf(out + n, outsz - n, "%s%s=%s", i ? " " : "",
                         c->sums[i].name, num);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}
