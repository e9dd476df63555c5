/* errs.h - a list of problems, each with where it is and why.
 *
 * ferry never stops at the first problem: a config check, a submission's
 * validation and an ack file's parse all collect every problem here, then
 * the caller prints them all.  "where" is "file:line[:col]" for files and a
 * JSON path such as "answers[question_id=4].postcode" for submissions. */
#ifndef FERRY_UTIL_ERRS_H
#define FERRY_UTIL_ERRS_H
#include <stdarg.h>
#include <stddef.h>

struct err_item {
    char *where;   /* may be "" but never NULL */
    char *msg;     /* the technical reason, for logs and operators */
    char *plain;   /* the mapping's plain message for the citizen-facing
                      front end ("Enter a National Insurance number in the
                      correct format"), or NULL when it gives none */
};

struct errs {
    struct err_item *v;
    size_t n, cap;
    size_t max;    /* stop recording after this many (0 = 1000) */
    size_t dropped;
};

void errs_init(struct errs *e);
void errs_add(struct errs *e, const char *where, const char *fmt, ...)
         __attribute__((format(printf, 3, 4)));
void errs_vadd(struct errs *e, const char *where, const char *fmt, va_list ap);
/* errs_addf_at - where built from "file:line" */
void errs_add_at(struct errs *e, const char *file, long line,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* errs_set_plain - give the newest problem a plain message (copied);
 * does nothing when plain is NULL or no problem was recorded */
void errs_set_plain(struct errs *e, const char *plain);
void errs_move(struct errs *dst, struct errs *src); /* appends, empties src */
void errs_clear(struct errs *e);                    /* keep memory */
void errs_free(struct errs *e);
/* errs_first_msg - message of the first problem, or "" */
const char *errs_first_msg(const struct errs *e);
/* errs_join - every problem as one line ("where: msg; where: msg"), or a
 * copy of fallback when there is none; malloc'd, NULL when out of memory */
char *errs_join(const struct errs *e, const char *fallback);

#endif
