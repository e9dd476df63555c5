/* duration.c - the duration grammar of duration.h.  Pure; no state. */
#include "util/duration.h"

#include <stddef.h>

/* unit_ms - milliseconds per unit at s, setting *len; 0 if not a unit */
static int64_t unit_ms(const char *s, size_t *len)
{
    if (s[0] == 'm' && s[1] == 's') {
        *len = 2;
        return 1;
    }
    *len = 1;
    switch (s[0]) {
    case 's': return 1000;
    case 'm': return 60LL * 1000;
    case 'h': return 60LL * 60 * 1000;
    case 'd': return 24LL * 60 * 60 * 1000;
    default:  return 0;
    }
}

int duration_parse(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return -1;
    int64_t total = 0;
    size_t terms = 0;
    while (*s) {
        if (*s < '0' || *s > '9')
            return -1;
        int64_t n = 0;
        while (*s >= '0' && *s <= '9') {
            if (n > (DURATION_MAX_MS - (*s - '0')) / 10)
                return -1;
            n = n * 10 + (*s - '0');
            s++;
        }
        size_t ulen = 0;
        int64_t u;
        if (*s == '\0' && terms == 0)
            u = 1000;           /* the whole string is a number: seconds */
        else if ((u = unit_ms(s, &ulen)) == 0)
            return -1;
        if (n > (DURATION_MAX_MS - total) / u)
            return -1;
        total += n * u;
        s += ulen;
        terms++;
    }
    *ms = total;
    return 0;
}
