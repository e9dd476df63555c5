/* delimited.h - the cells of a delimited (CSV-style) file, written and
 * read back under the legacy system's own rules: the delimiter, the
 * quote character, when a cell is quoted (always, when needed, never),
 * how a quote inside a quoted cell is escaped (doubled, or a backslash),
 * the line end and the code page.
 *
 * Bytes are in the target's code page through the same tables as the
 * fixed-width encoders (mappings/cobol.h), or UTF-8 as it is.  A cell can
 * never break a line: control characters (CR and LF among them) are
 * refused, as they are for a copybook field, and a cell that holds the
 * delimiter is quoted or, with quoting off, refused.  Used by the
 * delimited batch format (adapters/delimited.c) to write, to check at the
 * door and to read a written file back; see docs/batch.md. */
#ifndef FERRY_MAPPINGS_DELIMITED_H
#define FERRY_MAPPINGS_DELIMITED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mappings/cobol.h"
#include "mappings/mapping.h"
#include "util/buf.h"

enum dl_quoting {
    DL_QUOTE_NEEDED = 0,  /* only cells holding the delimiter or quote */
    DL_QUOTE_ALWAYS,      /* every cell */
    DL_QUOTE_NONE,        /* never: a cell holding the delimiter is refused */
};

enum dl_escape {
    DL_ESC_DOUBLE = 0,    /* "" inside a quoted cell (RFC 4180) */
    DL_ESC_BACKSLASH,     /* \" and \\ inside a quoted cell */
};

struct dl_dialect {
    const struct cob_codec *cc;   /* borrowed; NULL: UTF-8 */
    uint32_t delim_cp, quote_cp;  /* as characters, for messages */
    unsigned char delim, quote, bslash;   /* as bytes of the page */
    enum dl_quoting quoting;
    enum dl_escape escape;
    unsigned char eol[2];
    size_t eollen;
};

/* dl_dialect_init - the bytes of a dialect in cc's page (cc NULL: UTF-8).
 * delim and quote are single ASCII characters (delim may be a tab);
 * 0, or -1 with why in msg (a letter, digit or space as either, the two
 * the same, a character the page cannot hold). */
int dl_dialect_init(struct dl_dialect *d, const struct cob_codec *cc,
                    uint32_t delim, uint32_t quote, enum dl_quoting quoting,
                    enum dl_escape escape, bool crlf, char *msg,
                    size_t msgsz);

/* The dialect's defaults: the adapter's option table (adapters/
 * delimited.c) and dl_dialect_read both take them from here. */
#define DL_DEF_DELIMITER ","
#define DL_DEF_QUOTE     "\""
#define DL_DEF_QUOTING   "needed"
#define DL_DEF_ESCAPE    "double"
#define DL_DEF_LINE_END  "CRLF"
#define DL_DEF_ENCODING  "ascii"

struct errs;

/* dl_dialect_read - the dialect a <target type="delimited"> in ferry.xml
 * sets (delimiter, quote, quoting, escape, line-end, encoding: opts, the
 * defaults above for what it leaves out) into d; *cc gets the code page
 * (NULL for UTF-8; the caller cob_codec_free's it, d borrows it).  0, or
 * -1 with every problem in e under owner (the target's name). */
int dl_dialect_read(const struct kvlist *opts, const char *owner,
                    struct dl_dialect *d, struct cob_codec **cc,
                    struct errs *e);

/* dl_cell_put - one cell (UTF-8 text, n bytes) onto out, in the page and
 * quoted as the dialect says (no delimiter: the caller puts those).
 * flags: COB_TX_FOLD to fold accents the page cannot hold.  0, or -1
 * with why in msg, never quoting the value (a control character, a
 * character the page cannot hold, the delimiter with quoting off, out of
 * memory). */
int dl_cell_put(const struct dl_dialect *d, const char *utf8, size_t n,
                unsigned flags, struct buf *out, char *msg, size_t msgsz);

/* One line read back: its cells as UTF-8, NUL-terminated. */
struct dl_cells {
    char **v;
    size_t n, cap;
    struct buf text;              /* the cells' bytes */
    size_t *off;                  /* v[i] = text.data + off[i] */
};

void dl_cells_init(struct dl_cells *c);
void dl_cells_free(struct dl_cells *c);

/* dl_line_split - the cells of one line (p, n: without its line end),
 * unquoted, unescaped and decoded from the page.  Strict: what
 * dl_cell_put would not write (a quote inside an unquoted cell, text
 * after a closing quote, an unclosed quote, a byte that is not text) is
 * an error.  0, or -1 with why (naming the cell's number) in msg. */
int dl_line_split(const struct dl_dialect *d, const unsigned char *p,
                  size_t n, struct dl_cells *out, char *msg, size_t msgsz);

struct tz;

/* dl_value_text - the text of v for the cell a fills: the canonical text
 * (12.50, 2026-11-27, true), or a date / datetime in a's format
 * (CCYYMMDD, YYMMDD, DDMMCCYY, DD/MM/CCYY, HHMMSS, or strftime with %;
 * local-time: in london).  A list is refused.  Returns v's text or tmp;
 * NULL with why. */
const char *dl_value_text(const struct tz *london, const struct map_assign *a,
                          const struct fvalue *v, char *tmp, size_t tmpsz,
                          char *why, size_t whysz);

/* A written file read back line by line, from an input that gives
 * exactly n bytes (0), or says the file ends first (1) or failed (-1),
 * of a known size.  Every line must end with the dialect's line end. */
#define DL_LINE_MAX (1u << 20)

struct dl_reader {
    const struct dl_dialect *d;
    int (*get)(void *ctx, void *p, size_t n);
    void *ctx;
    uint64_t left;                /* bytes not yet fetched */
    unsigned char *buf;
    size_t len, pos;
    struct buf line;              /* the line last read, without its end */
    int64_t lineno;
    bool read_error;              /* the last -1 was the input's */
};

/* dl_reader_init - 0, or -1 out of memory; free with dl_reader_free */
int dl_reader_init(struct dl_reader *r, const struct dl_dialect *d,
                   int (*get)(void *ctx, void *p, size_t n), void *ctx,
                   uint64_t size);
void dl_reader_free(struct dl_reader *r);
/* dl_reader_next - the next line into r->line: 1, 0 at the end, -1 with
 * why (read_error set when the input failed; otherwise a line without
 * its line end, LF where CRLF belongs, a line over DL_LINE_MAX) */
int dl_reader_next(struct dl_reader *r, char *why, size_t whysz);
/* dl_reader_at_end - has every byte been read */
bool dl_reader_at_end(const struct dl_reader *r);

#endif
