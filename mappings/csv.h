/* csv.h - RFC 4180 CSV reader for assisted-digital imports.
 *
 * Reads a CSV document held in memory, one record at a time.  The first
 * record is the header: it names the columns (the mapping's field names).
 * Understood: quoted fields, doubled quotes ("" inside quotes), CRLF or LF
 * line ends (a lone CR ends a line too), line ends inside quoted fields,
 * a UTF-8 byte order mark at the start (skipped).  Blank lines are
 * skipped.  Refused: NUL bytes, invalid UTF-8, a quote inside an unquoted
 * field or text after a closing quote, a quoted field left open at the end
 * of the file, a record whose column count differs from the header's, and
 * fields, records or column counts over their caps.
 *
 * Every problem names the physical line where the record starts, and the
 * column (1-based, with its header name when known), e.g.
 *     where "claims.csv", message "line 12: 5 columns, header has 6"
 *     where "claims.csv", message "unterminated quoted field starting at
 *                                  line 7"
 * A bad record is skipped and reading goes on with the next, so a caller
 * can list every problem; NUL bytes, an unterminated quote and header
 * problems end the reading (csv_next returns 0 afterwards).
 *
 * Ownership: the reader borrows data (keep it alive until csv_free); a
 * struct csv_row's strings belong to the reader and last until the next
 * csv_next or csv_free. */
#ifndef FERRY_MAPPINGS_CSV_H
#define FERRY_MAPPINGS_CSV_H
#include <stdbool.h>
#include <stddef.h>

struct errs;
struct csv_reader;

#define CSV_DEFAULT_MAX_FIELD   ((size_t)64 << 10)   /* bytes per field */
#define CSV_DEFAULT_MAX_ROW     ((size_t)1 << 20)    /* bytes per record */
#define CSV_DEFAULT_MAX_COLUMNS ((size_t)1000)

struct csv_row {
    long line;                  /* physical line where the record starts */
    size_t n;                   /* number of fields (= csv_ncolumns) */
    const char *const *fields;  /* NUL-terminated UTF-8, borrowed */
    const size_t *lens;         /* byte length of each field */
};

/* csv_open_mem - a reader over data[0..len); name is used in messages
 * (e.g. the file name).  NULL on out of memory.  Free with csv_free. */
struct csv_reader *csv_open_mem(const char *data, size_t len,
                                const char *name);
void csv_free(struct csv_reader *r);

/* csv_set_limits - caps; 0 keeps the default for that cap */
void csv_set_limits(struct csv_reader *r, size_t max_field, size_t max_row,
                    size_t max_columns);

/* csv_read_header - read the header record (csv_next does it on its first
 * call when the caller has not).  0 ok, -1 with the problem in e (an
 * empty file, an empty or duplicate column name, bad bytes). */
int csv_read_header(struct csv_reader *r, struct errs *e);
/* csv_ncolumns / csv_header - the column names; 0 / NULL before the
 * header is read.  Borrowed from the reader. */
size_t csv_ncolumns(const struct csv_reader *r);
const char *const *csv_header(const struct csv_reader *r);
/* csv_header_line - physical line of the header record (1 unless blank
 * lines come first) */
long csv_header_line(const struct csv_reader *r);

/* csv_next - the next data record.  1: *row filled; 0: end of data (or
 * reading stopped after a fatal problem); -1: this record was bad, its
 * problem is in e, and the next call goes on after it. */
int csv_next(struct csv_reader *r, struct csv_row *row, struct errs *e);

/* csv_each - call cb for every good record, collecting every bad
 * record's problem in e.  cb returns 0 to go on, non-zero to stop (that
 * value is returned).  Returns 0 when all were read, the callback's
 * non-zero value, or -1 when any record was bad or reading stopped on a
 * fatal problem. */
int csv_each(struct csv_reader *r,
             int (*cb)(void *ctx, const struct csv_row *row), void *ctx,
             struct errs *e);

/* csv_failed - reading stopped on a fatal problem */
bool csv_failed(const struct csv_reader *r);

#endif
