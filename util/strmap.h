/* strmap.h - a string -> count map (open addressing, FNV-1a), for the
 * tallies and sets a report pass keeps: failure reasons by text, the
 * references an operator touched.  Keys are copied; a map is freed with
 * strmap_free.  Bounded by the caller (max_keys). */
#ifndef FERRY_UTIL_STRMAP_H
#define FERRY_UTIL_STRMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap {
    char **k;                      /* slots; NULL = empty */
    int64_t *v;
    size_t n, cap;                 /* keys, slots (a power of two) */
};

/* strmap_add - add n to key's count (key added at 0 when new).  Returns
 * 0, 1 when key is new and the map already holds max_keys (nothing
 * added; 0 = no limit), -1 out of memory. */
int strmap_add(struct strmap *m, const char *key, int64_t n, size_t max_keys);
/* strmap_get - key's count slot, NULL when absent */
int64_t *strmap_get(const struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

#endif
