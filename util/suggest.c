/* suggest.c - near names for unknown ones.  See suggest.h. */
#include "util/suggest.h"

#include <string.h>

int suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (up + 1 < best)
                best = up + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *suggest_near(const char *name, const char *const *cands,
                         size_t n)
{
    const char *best = NULL;
    int bestd = 99;
    size_t len = strlen(name);
    /* close: a typo or two, never more than a third of the name */
    int limit = len < 4 ? 1 : len < 9 ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        int d = suggest_distance(name, cands[i]);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    return bestd <= limit ? best : NULL;
}
