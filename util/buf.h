/* buf.h - growable byte buffer with a hard cap (curl's dynbuf "toobig").
 *
 * Every buffer fed by outside input has a cap: buf_append() refuses to grow
 * past it and returns BUF_TOOBIG, so a caller can answer 413 or name the
 * file that was too large.  The data is always NUL-terminated. */
#ifndef FERRY_UTIL_BUF_H
#define FERRY_UTIL_BUF_H
#include <stdarg.h>
#include <stddef.h>

enum { BUF_OK = 0, BUF_NOMEM = -1, BUF_TOOBIG = -2 };

struct buf {
    char  *data;   /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;    /* 0 = no cap */
};

void  buf_init(struct buf *b, size_t max);
int   buf_append(struct buf *b, const void *p, size_t n);
int   buf_puts(struct buf *b, const char *s);
/* buf_html - s (NULL: nothing) with & < > " ' escaped for HTML text and
 * attribute values: the one escape of the console, the HTML report and
 * the intake's page */
int   buf_html(struct buf *b, const char *s);
int   buf_putc(struct buf *b, char c);
int   buf_printf(struct buf *b, const char *fmt, ...)
          __attribute__((format(printf, 2, 3)));
int   buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void  buf_reset(struct buf *b);              /* len = 0, keeps memory */
char *buf_take(struct buf *b);               /* caller owns; b is reset */
const char *buf_str(const struct buf *b);    /* "" when empty */
void  buf_free(struct buf *b);

#endif
