/* mask.h - hiding personal data: the one place that decides.
 *
 * Everything ferry shows, logs, reports or audits about a submission goes
 * through these functions; nothing else decides what is personal.  The rule:
 *
 *  - a record field marked personal shows as MASK_TEXT, at any depth: a
 *    sub-field of a list (items.code) and every value inside a list that
 *    is itself marked personal;
 *  - the original payload shows only the values that a mapped,
 *    non-personal field reads.  Every other value -- personal fields, and
 *    fields the mapping never reads (an unmapped email, phone number or
 *    free text can be personal too) -- shows as MASK_TEXT.  Keys, nesting,
 *    the selector members of mapped paths ([question_id=4])
 *    and nulls stay, so the shape of the submission can still be read;
 *  - reveal shows everything.  A caller that reveals for a person audits
 *    it (docs/security.md).
 *
 * Ownership: json_t results are new references; arrays of names borrow
 * their strings from the mapping. */
#ifndef FERRY_MAPPINGS_MASK_H
#define FERRY_MAPPINGS_MASK_H
#include <stdbool.h>
#include <stddef.h>

#include "mappings/mapping.h"
#include "mappings/record.h"

#define MASK_TEXT "***"

/* mask_text - the rule for one value: text when it may be shown, else
 * MASK_TEXT (NULL text stays NULL: absence is not personal) */
const char *mask_text(const char *text, bool personal, bool reveal);

/* mask_record - r for display: {"name": "text" | null | [{...}, ...]}
 * with personal values MASK_TEXT unless reveal.  NULL on out of memory. */
json_t *mask_record(const struct record *r, bool reveal);

/* mask_echoes - does text (a back end's words about r) hold the value of
 * a personal field of r, at any depth (every value of a list marked
 * personal counts)?  Then it must be shown as MASK_TEXT: a fault detail
 * that echoes a National Insurance number is that number.  Values of one
 * character are not looked for (they would match anything). */
bool mask_echoes(const struct record *r, const char *text);

/* mask_payload - a display copy of the submission doc under mapping m
 * (NULL: no value is known to be safe, so every value is masked).  named:
 * the payload is a row by field name (CSV import), not a JSON document
 * read by paths.  NULL on out of memory. */
json_t *mask_payload(const json_t *doc, const struct mapping *m, bool named,
                     bool reveal);

/* mask_path_personal - the record field at path ("nino", "items.code",
 * "items[2].code") is personal under m: the field itself, or a list it
 * lies in, is marked personal.  A path m does not know is personal. */
bool mask_path_personal(const struct mapping *m, const char *path);

/* mask_target_slots - the slots of mt's main section ("to" names, last
 * component) filled from personal fields, for listings of encoded bytes.
 * *n is their number; NULL on out of memory.  Caller frees the array. */
const char **mask_target_slots(const struct mapping *m,
                               const struct map_target *mt, size_t *n);

#endif
