/* duration.h - the one grammar for a length of time, for every key of
 * ferry.xml, every mapping option and every command-line flag.
 *
 *   "500ms", "30s", "5m", "2h", "7d", and sums such as "1h30m";
 *   a bare whole number is seconds: timeout="45" is 45 s everywhere.
 *
 * No sign, no spaces, no fractions.  Values above DURATION_MAX_MS (about
 * 31,000 years) are refused, so any sum of two durations fits in int64_t.
 * A key may narrow the range (a SOAP timeout of 0 is refused by the
 * adapter); the grammar does not change. */
#ifndef FERRY_UTIL_DURATION_H
#define FERRY_UTIL_DURATION_H
#include <stdint.h>

#define DURATION_MAX_MS 1000000000000000LL

/* duration_parse - 0 and *ms set, or -1 with *ms left alone */
int duration_parse(const char *s, int64_t *ms);

#endif
