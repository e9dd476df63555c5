/* dec128.c - 128-bit exact decimals: text in and out (see dec128.h). */
#include "util/dec128.h"

#include <string.h>

static const udec128 pow10[DEC128_MAX_DIGITS + 1] = {
    (udec128)0x0ULL << 64 | 0x1ULL,
    (udec128)0x0ULL << 64 | 0xaULL,
    (udec128)0x0ULL << 64 | 0x64ULL,
    (udec128)0x0ULL << 64 | 0x3e8ULL,
    (udec128)0x0ULL << 64 | 0x2710ULL,
    (udec128)0x0ULL << 64 | 0x186a0ULL,
    (udec128)0x0ULL << 64 | 0xf4240ULL,
    (udec128)0x0ULL << 64 | 0x989680ULL,
    (udec128)0x0ULL << 64 | 0x5f5e100ULL,
    (udec128)0x0ULL << 64 | 0x3b9aca00ULL,
    (udec128)0x0ULL << 64 | 0x2540be400ULL,
    (udec128)0x0ULL << 64 | 0x174876e800ULL,
    (udec128)0x0ULL << 64 | 0xe8d4a51000ULL,
    (udec128)0x0ULL << 64 | 0x9184e72a000ULL,
    (udec128)0x0ULL << 64 | 0x5af3107a4000ULL,
    (udec128)0x0ULL << 64 | 0x38d7ea4c68000ULL,
    (udec128)0x0ULL << 64 | 0x2386f26fc10000ULL,
    (udec128)0x0ULL << 64 | 0x16345785d8a0000ULL,
    (udec128)0x0ULL << 64 | 0xde0b6b3a7640000ULL,
    (udec128)0x0ULL << 64 | 0x8ac7230489e80000ULL,
    (udec128)0x5ULL << 64 | 0x6bc75e2d63100000ULL,
    (udec128)0x36ULL << 64 | 0x35c9adc5dea00000ULL,
    (udec128)0x21eULL << 64 | 0x19e0c9bab2400000ULL,
    (udec128)0x152dULL << 64 | 0x2c7e14af6800000ULL,
    (udec128)0xd3c2ULL << 64 | 0x1bcecceda1000000ULL,
    (udec128)0x84595ULL << 64 | 0x161401484a000000ULL,
    (udec128)0x52b7d2ULL << 64 | 0xdcc80cd2e4000000ULL,
    (udec128)0x33b2e3cULL << 64 | 0x9fd0803ce8000000ULL,
    (udec128)0x204fce5eULL << 64 | 0x3e25026110000000ULL,
    (udec128)0x1431e0faeULL << 64 | 0x6d7217caa0000000ULL,
    (udec128)0xc9f2c9cd0ULL << 64 | 0x4674edea40000000ULL,
    (udec128)0x7e37be2022ULL << 64 | 0xc0914b2680000000ULL,
    (udec128)0x4ee2d6d415bULL << 64 | 0x85acef8100000000ULL,
    (udec128)0x314dc6448d93ULL << 64 | 0x38c15b0a00000000ULL,
    (udec128)0x1ed09bead87c0ULL << 64 | 0x378d8e6400000000ULL,
    (udec128)0x13426172c74d82ULL << 64 | 0x2b878fe800000000ULL,
    (udec128)0xc097ce7bc90715ULL << 64 | 0xb34b9f1000000000ULL,
    (udec128)0x785ee10d5da46d9ULL << 64 | 0xf436a000000000ULL,
    (udec128)0x4b3b4ca85a86c47aULL << 64 | 0x98a224000000000ULL,
};

udec128 dec128_pow10(int k)
{
    return k < 0 ? 1 : pow10[k > DEC128_MAX_DIGITS ? DEC128_MAX_DIGITS : k];
}

bool dec128_fits64(dec128 v)
{
    return v >= (dec128)INT64_MIN && v <= (dec128)INT64_MAX;
}

/* dec128_parse - see dec128.h */
int dec128_parse(const char *s, size_t n, int scale, dec128 *out)
{
    if (!s || scale < 0 || scale > DEC128_MAX_DIGITS)
        return -1;
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    udec128 mag = 0;
    int digits = 0, places = 0, sig = 0;
    bool dot = false;
    for (; i < n; i++) {
        if (s[i] == '.') {
            if (dot)
                return -1;
            dot = true;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (dot && ++places > scale)
            return -1;
        digits++;
        if (sig || s[i] != '0')
            sig++;
        if (sig > DEC128_MAX_DIGITS)
            return -1;
        mag = mag * 10 + (unsigned)(s[i] - '0');
    }
    if (!digits)
        return -1;
    for (; places < scale; places++) {
        if (mag && ++sig > DEC128_MAX_DIGITS)
            return -1;
        mag *= 10;
    }
    *out = neg ? -(dec128)mag : (dec128)mag;
    return 0;
}

/* dec128_format - see dec128.h */
void dec128_format(dec128 v, int scale, char *out, size_t outsz)
{
    if (!outsz)
        return;
    if (scale < 0)
        scale = 0;
    if (scale > DEC128_MAX_DIGITS)
        scale = DEC128_MAX_DIGITS;
    udec128 mag = v < 0 ? (udec128)0 - (udec128)v : (udec128)v;
    char d[64];
    int nd = 0;
    do {
        d[nd++] = (char)('0' + (int)(mag % 10));
        mag /= 10;
    } while (mag && nd < 60);
    while (nd <= scale)
        d[nd++] = '0';
    char b[72];
    size_t k = 0;
    if (v < 0)
        b[k++] = '-';
    for (int i = nd - 1; i >= 0; i--) {
        b[k++] = d[i];
        if (i == scale && scale)
            b[k++] = '.';
    }
    if (k >= outsz)
        k = outsz - 1;
    memcpy(out, b, k);
    out[k] = '\0';
}
