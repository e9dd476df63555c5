/* suggest.h - "did you mean": the one edit distance ferry uses to offer a
 * near name for an unknown one (a command, service, target, job, or an
 * attribute or element of ferry.xml or a mapping). */
#ifndef FERRY_UTIL_SUGGEST_H
#define FERRY_UTIL_SUGGEST_H
#include <stddef.h>

/* suggest_distance - Levenshtein distance of two short names (insert,
 * delete, substitute one character), 99 for names over 64 bytes */
int suggest_distance(const char *a, const char *b);
/* suggest_near - the candidate closest to NAME when it is close enough
 * to be a typo (one edit for names under 4 characters, two under 9,
 * three beyond), else NULL; NULL candidates are skipped, an exact match
 * is returned as itself.  The result is one of cands (borrowed). */
const char *suggest_near(const char *name, const char *const *cands,
                         size_t n);

#endif
