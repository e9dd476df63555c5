/* record.h - the typed record: what a submission becomes after mapping.
 *
 * A record is an ordered list of named, typed field values.  Numbers are
 * exact: an integer is int64; a decimal is a scaled int64 ("1234.56" is
 * 123456 at scale 2) and never a double.  A date is days since 1970-01-01;
 * a datetime is a UTC instant in milliseconds.  Every value also keeps its
 * canonical text, so targets that want strings never re-format numbers.
 * A list value (a JSON array mapped for an OCCURS group or repeated element)
 * holds sub-records.
 *
 * Records serialise to a canonical JSON form (record_to_json) that the
 * spool stores beside the original payload; record_from_json reads it back
 * exactly. */
#ifndef FERRY_MAPPINGS_RECORD_H
#define FERRY_MAPPINGS_RECORD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/dec128.h"

struct errs;

enum ftype {
    FT_STRING = 0,
    FT_INTEGER,
    FT_DECIMAL,
    FT_DATE,
    FT_DATETIME,
    FT_BOOLEAN,
    FT_ENUM,     /* text holds the legacy code after the code table */
    FT_LIST,     /* items[] of sub-records */
};

struct record;

/* Digits an integer or decimal may have: 18 fit num, up to 31 (COBOL's
 * ARITH(EXTEND)) are kept wide. */
#define RECORD_MAX_DIGITS 31

struct fvalue {
    enum ftype type;
    bool present;        /* false: absent or null (text is NULL) */
    char *text;          /* canonical text, UTF-8, NUL-terminated:
                            string/enum: the value; integer "-12";
                            decimal "-12.50" (exactly scale places);
                            date "2026-11-27";
                            datetime "2026-11-27T09:00:00.000Z" (UTC);
                            boolean "true"/"false" */
    int64_t num;         /* integer; decimal scaled; date: days since epoch;
                            datetime: ms since epoch (UTC); boolean 0/1 */
    int scale;           /* decimal places (decimal only) */
    bool wide;           /* integer/decimal past int64 (COBOL's 31 digits,
                            up to 38): text is the value and num saturates
                            at INT64_MIN/MAX; read it with fvalue_wide */
    size_t nitems;       /* FT_LIST */
    struct record **items;
    bool lent;           /* text (or items, and the item records) lie in
                            the blocks of a record (the *_in setters,
                            record_new_in: map_apply's records) and go
                            with it: never free them, set them only
                            through the setters */
};

struct record_field {
    char *name;
    bool personal;       /* never logged; shown only through mask.h */
    struct fvalue v;
};

struct record_mem;

struct record {
    struct record_field *f;
    size_t n, cap;
    /* record.c's own: the field names live in blocks the record owns
     * (never free a name), and the first block and the first fields come
     * in the record's own allocation */
    struct record_mem *mem;
    struct record_field *f0;
    bool inner;          /* made in another record's blocks
                            (record_new_in): freed with that one */
    bool unique;         /* no two fields share a name (map_apply's
                            records, once made; record_add clears it) */
};

struct record *record_new(void);
/* record_new_sized - the same, with room for nfields fields and
 * name_bytes for their names (NULs included) and lent texts in one
 * allocation: what the mapping engine asks for, knowing its fields.
 * More may still be added. */
struct record *record_new_sized(size_t nfields, size_t name_bytes);
/* record_new_in - the same, made in home's blocks (a list item of
 * home's): it lives as long as home does; record_free of it frees only
 * what it holds outside them.  NULL on nomem. */
struct record *record_new_in(struct record *home, size_t nfields,
                             size_t bytes);
/* record_size_in - the bytes record_new_in takes from home */
size_t record_size_in(size_t nfields, size_t bytes);
void record_free(struct record *r);
/* record_add - append a field (name copied); returns it zeroed, type STRING,
 * not present; NULL on out of memory. */
struct record_field *record_add(struct record *r, const char *name);
/* record_get - by name; NULL if no such field */
const struct fvalue *record_get(const struct record *r, const char *name);
struct record_field *record_field(struct record *r, const char *name);
/* record_get_at - record_get, looking at field *at first when r's names
 * are unique (*at is then set to where name was found): one comparison
 * for a record laid out as the last one asked was, as the encoders see
 * map_apply's records */
const struct fvalue *record_get_at(const struct record *r, const char *name,
                                   size_t *at);

/* Setters replace the value (text is rebuilt canonically). 0 ok, -1 nomem. */
int fvalue_set_text(struct fvalue *v, enum ftype t, const char *s);
int fvalue_set_int(struct fvalue *v, int64_t n);
int fvalue_set_decimal(struct fvalue *v, int64_t scaled, int scale);
/* fvalue_set_wide - an integer (t FT_INTEGER) or decimal at any width; a
 * value that fits int64 is stored as fvalue_set_int/_decimal would */
int fvalue_set_wide(struct fvalue *v, enum ftype t, dec128 x, int scale);
/* fvalue_wide - an integer, decimal or boolean as dec128 and its scale,
 * wide or not.  0 ok, -1 not a number. */
int fvalue_wide(const struct fvalue *v, dec128 *x, int *scale);
int fvalue_set_date(struct fvalue *v, int64_t days);
int fvalue_set_datetime(struct fvalue *v, int64_t ms_utc);
int fvalue_set_bool(struct fvalue *v, bool b);
void fvalue_clear(struct fvalue *v);   /* frees, leaves not present */
/* The same setters with the text kept in home's blocks (v lent, freed
 * with home): for a value set once, as map_apply sets its record's.
 * home NULL: on the heap, as the setters above. */
int fvalue_set_text_n_in(struct record *home, struct fvalue *v,
                         enum ftype t, const char *s, size_t n);
int fvalue_set_int_in(struct record *home, struct fvalue *v, int64_t n);
int fvalue_set_decimal_in(struct record *home, struct fvalue *v,
                          int64_t scaled, int scale);
int fvalue_set_date_in(struct record *home, struct fvalue *v, int64_t days);
int fvalue_set_datetime_in(struct record *home, struct fvalue *v,
                           int64_t ms);
int fvalue_set_bool_in(struct record *home, struct fvalue *v, bool b);
/* fvalue_set_list_in - v a present list with room for n items (nitems
 * 0) in home's blocks; 0 ok, -1 nomem */
int fvalue_set_list_in(struct record *home, struct fvalue *v, size_t n);

/* Exact parsers shared by mapping, ack decoding and the CLI. 0 ok, -1 bad.
 * record_dec_parse: "-1234.5" at scale 2 -> -123450; more places than scale is an
 * error (never rounded); overflow of int64 is an error. */
int record_dec_parse(const char *s, int scale, int64_t *out);
/* record_dec_format - "-1234.50"; out must hold 32 bytes */
void record_dec_format(int64_t scaled, int scale, char *out, size_t outsz);
/* record_date_parse - "YYYY-MM-DD" -> days since 1970-01-01 (proleptic Gregorian) */
int record_date_parse(const char *s, int64_t *days);
void record_date_from_days(int64_t days, int *y, int *m, int *d);
int64_t record_days_from_civil(int y, int m, int d);
/* record_datetime_parse - RFC 3339 with Z or +hh:mm (fraction optional) -> ms UTC */
int record_datetime_parse(const char *s, int64_t *ms);

/* Canonical JSON: {"name":{"t":"decimal","v":"12.50","s":2},...}
 * Caller frees the string. */
char *record_to_json(const struct record *r);
/* record_to_json_tree - the same bytes made through a jansson tree, the
 * form the ledger has always held: the reference record_to_json (which
 * writes them directly) is tested against.  Not for the hot path. */
char *record_to_json_tree(const struct record *r);
struct record *record_from_json(const char *json, struct errs *e);
/* For display, see mask_record (mappings/mask.h): the one masking rule. */

/* ---- differences (record_diff.c) -------------------------------------- */

/* One changed value.  path names it by record field names, lists by
 * index: "amount", "items[1].code".  old_text / new_text are the canonical
 * texts, NULL when absent.  personal: the field, or a list it lies in, is
 * marked personal in either record (pass the texts through mask_text). */
struct record_change {
    char *path;
    bool personal;
    char *old_text, *new_text;
};

struct record_diff {
    struct record_change *v;
    size_t n;
};

/* record_diff - every value that differs between a and b, a's fields in
 * order then the ones only b has; lists compared element by element.
 * 0 and *out (free with record_diff_free), -1 out of memory. */
int record_diff(const struct record *a, const struct record *b,
                struct record_diff *out);
void record_diff_free(struct record_diff *d);

#endif
