/* errs_json.h - the one shape of a problem in ferry's JSON output.
 *
 * Every command's --json output and every HTTP reply that lists problems
 * (submit, import, map, check, edit, reconcile, spool verify, the support
 * commands, POST /v1/services/.../submissions) writes each problem as
 *
 *   {"where": W, "reason": R}            or
 *   {"where": W, "reason": R, "message": M}
 *
 * where W says where it is ("file:line[:col]", a JSON path such as
 * "answers[question_id=4].postcode", "header:Idempotency-Key", or "" when
 * it is about the whole input), R is the technical reason for logs and
 * operators, and M, present only when a mapping gives one, is the plain
 * message for the citizen-facing front end.  Documented in
 * docs/operator-guide.md ("Problems in JSON output"); build problems only
 * here, so the shape cannot drift again. */
#ifndef FERRY_UTIL_ERRS_JSON_H
#define FERRY_UTIL_ERRS_JSON_H
#include "util/errs.h"

#include <jansson.h>

/* errs_json_one - one problem object (new reference; NULL on out of
 * memory); plain may be NULL */
json_t *errs_json_one(const char *where, const char *reason,
                      const char *plain);
/* errs_json - every problem of e as an array (new reference; NULL on out
 * of memory) */
json_t *errs_json(const struct errs *e);

#endif
