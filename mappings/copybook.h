/* copybook.h - COBOL copybooks: the parser and the record layouts.
 *
 * cpy_parse reads a copybook in fixed reference format (sequence area in
 * columns 1-6, indicator in 7, text in 8-72, 73-80 ignored) or free
 * format, and returns every 01 record (and 77 item) as its own layout,
 * with each field's offset and length computed as an IBM compiler does
 * (SYNC binary items start on a multiple of their size, after slack).
 * Problems are reported as "FILE:LINE:COL" + message, all of them, not
 * just the first.
 *
 * Ownership: everything hangs off struct copybook; cpy_free frees it. */
#ifndef FERRY_MAPPINGS_COPYBOOK_H
#define FERRY_MAPPINGS_COPYBOOK_H
#include <stdbool.h>
#include <stddef.h>

#include "mappings/cobol.h"

struct errs;
struct buf;

enum cpy_valkind {
    CPY_VAL_NONE = 0, CPY_VAL_TEXT, CPY_VAL_NUMBER, CPY_VAL_SPACES,
    CPY_VAL_ZEROS, CPY_VAL_HIGH, CPY_VAL_LOW, CPY_VAL_QUOTES
};

/* A literal from VALUE: text for CPY_VAL_TEXT ("ALL" repeats it),
 * the number as written for CPY_VAL_NUMBER, NULL for figuratives. */
struct cpy_value {
    enum cpy_valkind kind;
    char *text;
    size_t len;       /* bytes in text (a hex literal may hold NUL) */
    bool all;
    bool hex;         /* X'..': raw bytes, never converted */
};

/* One range of an 88-level: lo alone, or lo THRU hi. */
struct cpy_range {
    struct cpy_value lo, hi;     /* hi.kind NONE when single */
};

struct cpy_cond {
    char *name;
    struct cpy_range *v;
    size_t n;
    int line;
};

struct cpy_field {
    int level;                 /* 1-49, 66 or 77 */
    char *name;                /* upper case; "FILLER" when unnamed */
    bool filler;
    int line, col;
    const char *src;           /* COPY member it came from; NULL: the
                                  copybook itself (names in messages) */
    struct cob_pic pic;        /* pic.cls COB_GROUP for a group */
    char *pic_text;            /* PIC as written; NULL for groups */
    char *edit_mask;           /* numeric-edited: pic.edit points here */
    bool sync;                 /* SYNC: binary items aligned (slack) */
    size_t offset;             /* 0-based from record start (first
                                  occurrence of every enclosing table) */
    size_t length;             /* bytes of one occurrence */
    size_t occurs_min, occurs_max;   /* occurs_max 0: not a table */
    char *depending_on;        /* ODO count field name */
    struct cpy_field *odo;     /* resolved count field */
    char *redefines;
    struct cpy_field *redef;   /* resolved */
    struct cpy_field *parent;
    struct cpy_field **kids;
    size_t nkids;
    struct cpy_value value;    /* VALUE clause */
    struct cpy_cond *conds;    /* 88 levels under this field */
    size_t nconds;
    char *renames, *renames_thru;   /* 66 */
    bool usage_set, sign_set;  /* parse bookkeeping: clause written here */
};

struct cpy_record {
    char *name;
    struct cpy_field *root;    /* the 01 (or 77) */
    struct cpy_field **flat;   /* every field in source order, root first,
                                  66-levels last */
    size_t nflat;
    size_t length;             /* bytes, every table at its maximum */
    bool has_odo;
};

struct copybook {
    char *name;                /* file name used in messages */
    bool free_format;
    struct cpy_record *rec;
    size_t nrec;
    char **sources;            /* COPY members' file names */
    size_t nsources;
};

enum cpy_format { CPY_FMT_AUTO = 0, CPY_FMT_FIXED, CPY_FMT_FREE };

/* cpy_parse - parse copybook text; name is used in messages.  Returns the
 * copybook, or NULL with every problem in e. */
struct copybook *cpy_parse(const char *text, size_t len, const char *name,
                           enum cpy_format fmt, struct errs *e);
/* cpy_load - read and parse a file (capped at 4 MiB); COPY statements
 * in it are resolved from its folder (see cpy_copy.c) */
struct copybook *cpy_load(const char *path, enum cpy_format fmt,
                          struct errs *e);
void cpy_free(struct copybook *cb);

/* cpy_record_find - by 01 name (case-insensitive); NULL name = first */
const struct cpy_record *cpy_record_find(const struct copybook *cb,
                                         const char *name);
/* cpy_field_find - "NAME", "NAME OF GROUP" or "GROUP.NAME" (any
 * ancestors, outermost first).  NULL when absent; *ambiguous set when the
 * name matches more than one field. */
const struct cpy_field *cpy_field_find(const struct cpy_record *r,
                                       const char *qname, bool *ambiguous);
/* cpy_field_type - "group", "alphanumeric", "alphabetic", "zoned",
 * "packed", "binary", "comp-5", "edited" */
const char *cpy_field_type(const struct cpy_field *f);
const char *cpy_usage_name(enum cob_usage u);
/* cpy_total_length - bytes of a field including its own OCCURS */
size_t cpy_total_length(const struct cpy_field *f);

/* cpy_listing - the `ferry copybook` listing of one record (or all when
 * record is NULL), text or JSON, appended to out.  0 ok, -1 nomem or
 * unknown record. */
int cpy_listing(const struct copybook *cb, const char *record, bool json,
                struct buf *out);

#endif
