/* scrub.h - back-end messages without the values they echo.
 *
 * Database and web-service errors often repeat the data they refused:
 * PostgreSQL's "DETAIL: Failing row contains (AB123456C, Smith, ...)",
 * "Key (nino)=(AB123456C) already exists", "invalid input syntax for type
 * date: \"31/02/1980\"".  Those values are personal data and must never
 * reach last_error, a log line or a listing.  scrub_echoed_values keeps
 * what support needs (SQLSTATE, constraint, table and column names, the
 * fault code and string) and puts a placeholder where a value was.  It
 * is the one place for this rule: every adapter passes its back end's
 * words through it before they leave the adapter. */
#ifndef FERRY_UTIL_SCRUB_H
#define FERRY_UTIL_SCRUB_H
#include <stddef.h>

#define SCRUB_WITHHELD "(values withheld)"

/* scrub_echoed_values - rewrite msg (NUL-terminated, at most msgsz bytes
 * including the NUL) in place; returns how many values were withheld. */
int scrub_echoed_values(char *msg, size_t msgsz);

#endif
