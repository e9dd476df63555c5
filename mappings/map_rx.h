/* map_rx.h - a field's pattern checked without regexec where that is safe.
 *
 * Mapping patterns are nearly always a run of bracket expressions and
 * literals with counts, anchored at both ends ("^[0-9]{6}$", the National
 * Insurance and postcode patterns).  glibc's regexec takes about a
 * microsecond for each; a pattern compiled once by map_rx_compile (at
 * mapping load) answers in tens of nanoseconds.  It knows a subset of POSIX ERE (literals, \ before
 * punctuation, ".", bracket expressions with ranges, "^" first, "$" last,
 * "*", "+", "?", "{n}", "{n,}", "{n,m}") and says "cannot tell" for
 * anything else (groups, "|", character classes, back references, GNU
 * escapes, non-ASCII bytes or text over 255 bytes), so the caller's
 * regexec stays the one judge of those.  check_rx.c holds its answers
 * equal to regexec's. */
#ifndef FERRY_MAPPINGS_MAP_RX_H
#define FERRY_MAPPINGS_MAP_RX_H
#include <regex.h>
#include <stdbool.h>

struct map_rx;

/* map_rx_compile - pattern read once into its atoms; NULL when it is not
 * in the subset (or out of memory): then regexec is the only judge.
 * Free with map_rx_free. */
struct map_rx *map_rx_compile(const char *pattern);
void map_rx_free(struct map_rx *rx);

/* map_rx_run - does text match, as regcomp(REG_EXTENDED | REG_NOSUB) and
 * regexec in the C locale would say?  1 yes, 0 no, -1 text it does not
 * judge (non-ASCII, over 255 bytes) */
int map_rx_run(const struct map_rx *rx, const char *text);

/* map_rx_match - compile, run and free in one (tests, one-off checks);
 * -1 also for a pattern outside the subset */
int map_rx_match(const char *pattern, const char *text);

/* map_rx_matches - the pattern matches text: rx (may be NULL) when it can
 * tell, else regexec of re */
bool map_rx_matches(const struct map_rx *rx, const regex_t *re,
                    const char *text);

#endif
