/* csv.c - RFC 4180 CSV reader.  See csv.h for the accepted dialect.
 *
 * A small state machine over an in-memory document: one record per
 * csv_next, its fields stored NUL-separated in one capped buffer.  The
 * line counter follows physical lines, including line ends inside quoted
 * fields, so every problem names the line where its record starts.  A bad
 * record is read to its end (quote-aware) and dropped, so the next record
 * starts in the right place. */
#include "mappings/csv.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct csv_reader {
    const char *data;
    size_t len, pos;
    char *name;
    long line;                 /* physical line at pos */
    size_t max_field, max_row, max_columns;
    bool header_read, failed;
    char **header;
    size_t ncols;
    long header_line;

    /* the current record */
    struct buf row;            /* fields, each NUL-terminated */
    size_t *offs, *lens;
    const char **ptrs;
    size_t nfields, capfields;
};

/* One record's parse state. */
struct rec {
    long line;                 /* where it starts */
    size_t col;                /* 1-based column being read */
    bool bad;                  /* a problem was reported; drop it */
    bool discard;              /* over a cap: stop storing bytes */
    size_t field_start;        /* offset of the current field in row */
};

enum { REC_OK = 1, REC_EOF = 0, REC_BAD = -1, REC_FATAL = -2 };

struct csv_reader *csv_open_mem(const char *data, size_t len,
                                const char *name)
{
    struct csv_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->data = data ? data : "";
    r->len = data ? len : 0;
    r->name = strdup(name ? name : "csv");
    if (!r->name) {
        free(r);
        return NULL;
    }
    r->line = 1;
    r->max_field = CSV_DEFAULT_MAX_FIELD;
    r->max_row = CSV_DEFAULT_MAX_ROW;
    r->max_columns = CSV_DEFAULT_MAX_COLUMNS;
    buf_init(&r->row, 0);
    if (r->len >= 3 && memcmp(r->data, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
    return r;
}

void csv_free(struct csv_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ncols; i++)
        free(r->header[i]);
    free(r->header);
    buf_free(&r->row);
    free(r->offs);
    free(r->lens);
    free(r->ptrs);
    free(r->name);
    free(r);
}

void csv_set_limits(struct csv_reader *r, size_t max_field, size_t max_row,
                    size_t max_columns)
{
    if (max_field)
        r->max_field = max_field;
    if (max_row)
        r->max_row = max_row;
    if (max_columns)
        r->max_columns = max_columns;
}

size_t csv_ncolumns(const struct csv_reader *r)
{
    return r->header_read ? r->ncols : 0;
}

const char *const *csv_header(const struct csv_reader *r)
{
    return r->header_read ? (const char *const *)r->header : NULL;
}

long csv_header_line(const struct csv_reader *r)
{
    return r->header_line;
}

bool csv_failed(const struct csv_reader *r)
{
    return r->failed;
}

/* col_label - "column 3 (postcode)" or "column 3" */
static void col_label(const struct csv_reader *r, size_t col, char *out,
                      size_t outsz)
{
    if (r->header_read && col >= 1 && col <= r->ncols)
        snprintf(out, outsz, "column %zu (%s)", col, r->header[col - 1]);
    else
        snprintf(out, outsz, "column %zu", col);
}

/* rec_problem - report the record's first problem only; one bad byte
 * should not bury the next records' problems */
static void rec_problem(struct csv_reader *r, struct rec *c, struct errs *e,
                        const char *what)
{
    if (c->bad)
        return;
    c->bad = true;
    c->discard = true;
    char label[160];
    col_label(r, c->col, label, sizeof label);
    errs_add(e, r->name, "line %ld, %s: %s", c->line, label, what);
}

/* store - append bytes of the current field, honouring the caps */
static int store(struct csv_reader *r, struct rec *c, struct errs *e,
                 const char *p, size_t n)
{
    if (c->discard || n == 0)
        return 0;
    size_t flen = r->row.len - c->field_start;
    if (flen + n > r->max_field) {
        char what[96];
        snprintf(what, sizeof what, "field longer than %zu bytes",
                 r->max_field);
        rec_problem(r, c, e, what);
        return 0;
    }
    if (r->row.len + n > r->max_row) {
        char what[96];
        snprintf(what, sizeof what, "record longer than %zu bytes",
                 r->max_row);
        rec_problem(r, c, e, what);
        return 0;
    }
    if (buf_append(&r->row, p, n) != BUF_OK) {
        errs_add(e, r->name, "line %ld: out of memory", c->line);
        return -1;
    }
    return 0;
}

/* end_field - terminate the current field and record where it is */
static int end_field(struct csv_reader *r, struct rec *c, struct errs *e)
{
    if (r->nfields >= r->max_columns) {
        char what[96];
        snprintf(what, sizeof what, "more than %zu columns", r->max_columns);
        rec_problem(r, c, e, what);
    }
    if (c->discard)
        return 0;
    size_t flen = r->row.len - c->field_start;
    /* an empty field may come before the buffer holds anything */
    long bad = flen ? utf8_invalid_at(r->row.data + c->field_start, flen)
                    : -1;
    if (bad >= 0) {
        char what[96];
        snprintf(what, sizeof what, "invalid UTF-8 at byte %ld of the field",
                 bad + 1);
        rec_problem(r, c, e, what);
        return 0;
    }
    if (r->nfields == r->capfields) {
        size_t cap = r->capfields ? r->capfields * 2 : 16;
        size_t *o = realloc(r->offs, cap * sizeof *o);
        if (o)
            r->offs = o;
        size_t *l = realloc(r->lens, cap * sizeof *l);
        if (l)
            r->lens = l;
        const char **p = realloc(r->ptrs, cap * sizeof *p);
        if (p)
            r->ptrs = p;
        if (!o || !l || !p) {
            errs_add(e, r->name, "line %ld: out of memory", c->line);
            return -1;
        }
        r->capfields = cap;
    }
    r->offs[r->nfields] = c->field_start;
    r->lens[r->nfields] = flen;
    r->nfields++;
    if (buf_putc(&r->row, '\0') != BUF_OK) {
        errs_add(e, r->name, "line %ld: out of memory", c->line);
        return -1;
    }
    return 0;
}

/* line_end - consume CRLF, LF or CR at pos; 1 if one was there */
static int line_end(struct csv_reader *r)
{
    if (r->pos >= r->len)
        return 0;
    if (r->data[r->pos] == '\r') {
        r->pos++;
        if (r->pos < r->len && r->data[r->pos] == '\n')
            r->pos++;
        r->line++;
        return 1;
    }
    if (r->data[r->pos] == '\n') {
        r->pos++;
        r->line++;
        return 1;
    }
    return 0;
}

/* quoted - read a quoted field from just after its opening quote */
static int quoted(struct csv_reader *r, struct rec *c, struct errs *e)
{
    long qline = r->line;
    for (;;) {
        size_t start = r->pos;
        while (r->pos < r->len && r->data[r->pos] != '"' &&
               r->data[r->pos] != '\0' && r->data[r->pos] != '\n' &&
               r->data[r->pos] != '\r')
            r->pos++;
        if (store(r, c, e, r->data + start, r->pos - start) != 0)
            return REC_FATAL;
        if (r->pos >= r->len) {
            errs_add(e, r->name, "unterminated quoted field starting at "
                     "line %ld", qline);
            return REC_FATAL;
        }
        char ch = r->data[r->pos];
        if (ch == '\0') {
            char label[160];
            col_label(r, c->col, label, sizeof label);
            errs_add(e, r->name, "line %ld, %s: NUL byte", r->line, label);
            return REC_FATAL;
        }
        if (ch == '\n' || ch == '\r') {
            /* a line end inside quotes is part of the value */
            size_t s = r->pos;
            line_end(r);
            if (store(r, c, e, r->data + s, r->pos - s) != 0)
                return REC_FATAL;
            continue;
        }
        /* a quote: doubled means one quote, else the field ends */
        if (r->pos + 1 < r->len && r->data[r->pos + 1] == '"') {
            if (store(r, c, e, "\"", 1) != 0)
                return REC_FATAL;
            r->pos += 2;
            continue;
        }
        r->pos++;
        return REC_OK;
    }
}

/* unquoted - read up to the next comma or line end */
static int unquoted(struct csv_reader *r, struct rec *c, struct errs *e)
{
    for (;;) {
        size_t start = r->pos;
        while (r->pos < r->len && r->data[r->pos] != ',' &&
               r->data[r->pos] != '\n' && r->data[r->pos] != '\r' &&
               r->data[r->pos] != '"' && r->data[r->pos] != '\0')
            r->pos++;
        if (store(r, c, e, r->data + start, r->pos - start) != 0)
            return REC_FATAL;
        if (r->pos >= r->len)
            return REC_OK;
        char ch = r->data[r->pos];
        if (ch == '\0') {
            char label[160];
            col_label(r, c->col, label, sizeof label);
            errs_add(e, r->name, "line %ld, %s: NUL byte", r->line, label);
            return REC_FATAL;
        }
        if (ch != '"')
            return REC_OK;
        rec_problem(r, c, e, "quote inside an unquoted field (quote the "
                    "whole field and double the quote)");
        r->pos++;
    }
}

/* read_record - one record into r->row / offs / lens */
static int read_record(struct csv_reader *r, struct errs *e, long *line)
{
    if (r->failed)
        return REC_EOF;
    while (line_end(r))
        ;   /* blank lines */
    if (r->pos >= r->len)
        return REC_EOF;
    struct rec c = { .line = r->line, .col = 1 };
    *line = r->line;
    buf_reset(&r->row);
    r->nfields = 0;
    for (;;) {
        c.field_start = r->row.len;
        int rc;
        if (r->data[r->pos] == '"') {
            r->pos++;
            rc = quoted(r, &c, e);
            if (rc == REC_OK && r->pos < r->len &&
                r->data[r->pos] != ',' && r->data[r->pos] != '\n' &&
                r->data[r->pos] != '\r') {
                rec_problem(r, &c, e, "text after the closing quote");
                rc = unquoted(r, &c, e);
            }
        } else {
            rc = unquoted(r, &c, e);
        }
        if (rc == REC_FATAL) {
            r->failed = true;
            return REC_FATAL;
        }
        if (end_field(r, &c, e) != 0) {
            r->failed = true;
            return REC_FATAL;
        }
        if (r->pos < r->len && r->data[r->pos] == ',') {
            r->pos++;
            c.col++;
            if (r->pos >= r->len) {   /* "a,b," at the very end */
                c.field_start = r->row.len;
                if (end_field(r, &c, e) != 0) {
                    r->failed = true;
                    return REC_FATAL;
                }
                break;
            }
            continue;
        }
        line_end(r);
        break;
    }
    if (c.bad)
        return REC_BAD;
    for (size_t i = 0; i < r->nfields; i++)
        r->ptrs[i] = r->row.data + r->offs[i];
    return REC_OK;
}

int csv_read_header(struct csv_reader *r, struct errs *e)
{
    if (r->header_read)
        return 0;
    if (r->failed) {
        errs_add(e, r->name, "the file could not be read: see its first "
                 "problem");
        return -1;
    }
    long line = 0;
    int rc = read_record(r, e, &line);
    if (rc == REC_EOF) {
        errs_add(e, r->name, "empty file: no header row");
        r->failed = true;
        return -1;
    }
    if (rc != REC_OK) {
        r->failed = true;
        return -1;
    }
    r->header_line = line;
    r->header = calloc(r->nfields, sizeof *r->header);
    if (!r->header) {
        errs_add(e, r->name, "out of memory");
        r->failed = true;
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < r->nfields; i++) {
        const char *s = r->ptrs[i];
        size_t n = r->lens[i];
        while (n && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        r->header[i] = strndup(s, n);
        r->ncols = i + 1;
        if (!r->header[i]) {
            errs_add(e, r->name, "out of memory");
            bad = 1;
            break;
        }
        if (n == 0) {
            errs_add(e, r->name, "line %ld, column %zu: empty column name "
                     "in the header", line, i + 1);
            bad = 1;
        }
        for (size_t k = 0; n && k < i; k++)
            if (strcmp(r->header[k], r->header[i]) == 0) {
                errs_add(e, r->name, "line %ld, column %zu: column '%s' "
                         "appears twice in the header (first in column %zu)",
                         line, i + 1, r->header[i], k + 1);
                bad = 1;
                break;
            }
    }
    if (bad) {
        r->failed = true;
        return -1;
    }
    r->header_read = true;
    return 0;
}

int csv_next(struct csv_reader *r, struct csv_row *row, struct errs *e)
{
    memset(row, 0, sizeof *row);
    if (r->failed)
        return 0;
    if (!r->header_read && csv_read_header(r, e) != 0)
        return -1;
    long line = 0;
    int rc = read_record(r, e, &line);
    if (rc == REC_EOF)
        return 0;
    if (rc == REC_FATAL || rc == REC_BAD)
        return -1;
    if (r->nfields != r->ncols) {
        errs_add(e, r->name, "line %ld: %zu column%s, header has %zu", line,
                 r->nfields, r->nfields == 1 ? "" : "s", r->ncols);
        return -1;
    }
    row->line = line;
    row->n = r->nfields;
    row->fields = (const char *const *)r->ptrs;
    row->lens = r->lens;
    return 1;
}

int csv_each(struct csv_reader *r,
             int (*cb)(void *ctx, const struct csv_row *row), void *ctx,
             struct errs *e)
{
    int bad = 0;
    for (;;) {
        struct csv_row row;
        int rc = csv_next(r, &row, e);
        if (rc == 0)
            break;
        if (rc < 0) {
            bad = 1;
            if (r->failed)
                break;
            continue;
        }
        int stop = cb(ctx, &row);
        if (stop)
            return stop;
    }
    return bad || r->failed ? -1 : 0;
}
