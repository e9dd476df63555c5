/* delimited.c - cells of a delimited file, written and read back under a
 * dialect.  See delimited.h. */
#include "mappings/delimited.h"
#include "util/errs.h"
#include "util/tz.h"
#include "util/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DL_MAX_CELLS 4096

static int fail(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t msgsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
    return -1;
}

/* the same characters the copybook encoders refuse (cobol_codec.c) */
static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
           cp == 0x2029;
}

/* byte_of - cp as one byte of the page; -1 when it has none */
static int byte_of(const struct cob_codec *cc, uint32_t cp)
{
    if (!cc)
        return cp < 0x80 ? (int)cp : -1;
    return cob_codec_byte(cc, cp);
}

/* char_name - "','" or "tab" for messages */
static void char_name(uint32_t cp, char *out, size_t outsz)
{
    if (cp == '\t')
        snprintf(out, outsz, "tab");
    else
        snprintf(out, outsz, "'%c'", (char)cp);
}

int dl_dialect_init(struct dl_dialect *d, const struct cob_codec *cc,
                    uint32_t delim, uint32_t quote, enum dl_quoting quoting,
                    enum dl_escape escape, bool crlf, char *msg,
                    size_t msgsz)
{
    memset(d, 0, sizeof *d);
    uint32_t cs[2] = { delim, quote };
    for (int i = 0; i < 2; i++) {
        uint32_t c = cs[i];
        bool tab_ok = i == 0 && c == '\t';
        if (!tab_ok && (c <= ' ' || c >= 0x7F || (c >= '0' && c <= '9') ||
                        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return fail(msg, msgsz, "the %s must be one punctuation "
                        "character%s", i ? "quote" : "delimiter",
                        i ? "" : " or tab");
    }
    if (delim == quote)
        return fail(msg, msgsz, "the delimiter and the quote are the same "
                    "character");
    if (escape == DL_ESC_BACKSLASH && (delim == '\\' || quote == '\\'))
        return fail(msg, msgsz, "a backslash cannot be the delimiter or the "
                    "quote when it escapes");
    int db = byte_of(cc, delim), qb = byte_of(cc, quote),
        bb = byte_of(cc, '\\'), lf = byte_of(cc, '\n'),
        cr = byte_of(cc, '\r');
    char nm[16];
    if (db < 0 || qb < 0 || lf < 0 || cr < 0 ||
        (escape == DL_ESC_BACKSLASH && bb < 0)) {
        char_name(db < 0 ? delim : qb < 0 ? quote : '\\', nm, sizeof nm);
        return fail(msg, msgsz, "%s cannot be written in %s", nm,
                    cc ? cob_codepage_name(cob_codec_page(cc)) : "UTF-8");
    }
    d->cc = cc;
    d->delim_cp = delim;
    d->quote_cp = quote;
    d->delim = (unsigned char)db;
    d->quote = (unsigned char)qb;
    d->bslash = (unsigned char)(bb < 0 ? 0 : bb);
    d->quoting = quoting;
    d->escape = escape;
    if (crlf) {
        d->eol[0] = (unsigned char)cr;
        d->eol[1] = (unsigned char)lf;
        d->eollen = 2;
    } else {
        d->eol[0] = (unsigned char)lf;
        d->eollen = 1;
    }
    return 0;
}

/* one_char - "," / "tab" / "\"" as one character; -1 if not one */
static int one_char(const char *s, uint32_t *out)
{
    if (strcmp(s, "tab") == 0 || strcmp(s, "\t") == 0) {
        *out = '\t';
        return 0;
    }
    if (strlen(s) != 1)
        return -1;
    *out = (unsigned char)s[0];
    return 0;
}

/* opt - opts' value for key, or def */
static const char *opt(const struct kvlist *opts, const char *key,
                       const char *def)
{
    const char *v = opts ? kv_get(opts, key) : NULL;
    return v ? v : def;
}

int dl_dialect_read(const struct kvlist *opts, const char *owner,
                    struct dl_dialect *d, struct cob_codec **cc,
                    struct errs *e)
{
    const char *quoting = opt(opts, "quoting", DL_DEF_QUOTING),
               *escape = opt(opts, "escape", DL_DEF_ESCAPE),
               *line_end = opt(opts, "line-end", DL_DEF_LINE_END),
               *delimiter = opt(opts, "delimiter", DL_DEF_DELIMITER),
               *quote = opt(opts, "quote", DL_DEF_QUOTE),
               *encoding = opt(opts, "encoding", DL_DEF_ENCODING);
    size_t e0 = e->n;
    *cc = NULL;
    memset(d, 0, sizeof *d);
    enum dl_quoting q = DL_QUOTE_NEEDED;
    enum dl_escape es = DL_ESC_DOUBLE;
    if (strcmp(quoting, "always") == 0)
        q = DL_QUOTE_ALWAYS;
    else if (strcmp(quoting, "none") == 0)
        q = DL_QUOTE_NONE;
    else if (strcmp(quoting, "needed") != 0)
        errs_add(e, owner, "quoting=\"%s\": use needed, always or none",
                 quoting);
    if (strcmp(escape, "backslash") == 0)
        es = DL_ESC_BACKSLASH;
    else if (strcmp(escape, "double") != 0)
        errs_add(e, owner, "escape=\"%s\": use double or backslash", escape);
    bool crlf = strcmp(line_end, "CRLF") == 0;
    if (!crlf && strcmp(line_end, "LF") != 0)
        errs_add(e, owner, "line-end=\"%s\": use CRLF or LF", line_end);
    uint32_t dch = 0, qch = 0;
    if (one_char(delimiter, &dch) != 0)
        errs_add(e, owner, "delimiter=\"%s\": one character, or tab",
                 delimiter);
    if (one_char(quote, &qch) != 0)
        errs_add(e, owner, "quote=\"%s\": one character", quote);
    char msg[200];
    if (strcasecmp(encoding, "UTF-8") != 0 && strcasecmp(encoding, "utf8") != 0) {
        enum cob_codepage cp;
        if (cob_codepage_parse(encoding, &cp) != 0)
            errs_add(e, owner, "encoding=\"%s\": use ascii, UTF-8, IBM-285, "
                     "IBM-037, IBM-1146 or IBM-1140", encoding);
        else if (!(*cc = cob_codec_new(cp, COB_OP_IBM, msg, sizeof msg)))
            errs_add(e, owner, "encoding %s: %s", encoding, msg);
    }
    if (e->n == e0 && dl_dialect_init(d, *cc, dch, qch, q, es, crlf, msg,
                                      sizeof msg) != 0)
        errs_add(e, owner, "%s", msg);
    if (e->n == e0)
        return 0;
    cob_codec_free(*cc);
    *cc = NULL;
    return -1;
}

/* to_page - utf8 as bytes of the page into tmp (n*4+8 bytes); *tn */
static int to_page(const struct dl_dialect *d, const char *utf8, size_t n,
                   unsigned flags, unsigned char *tmp, size_t tmpsz,
                   size_t *tn, char *msg, size_t msgsz)
{
    if (d->cc)
        return cob_text_encode_var(d->cc, utf8, n, flags, tmp, tmpsz, tn,
                                   NULL, msg, msgsz);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_next(utf8 + i, n - i, &cp);
        if (k == 0)
            return fail(msg, msgsz, "invalid UTF-8 at byte %zu of the value",
                        i);
        if (is_control(cp))
            return fail(msg, msgsz, "control character U+%04X not allowed",
                        (unsigned)cp);
        i += k;
    }
    if (n > tmpsz)
        return fail(msg, msgsz, "value too long");
    memcpy(tmp, utf8, n);
    *tn = n;
    return 0;
}

int dl_cell_put(const struct dl_dialect *d, const char *utf8, size_t n,
                unsigned flags, struct buf *out, char *msg, size_t msgsz)
{
    unsigned char small[256];
    size_t cap = n * 4 + 8, tn = 0;
    unsigned char *tmp = cap <= sizeof small ? small : malloc(cap);
    if (!tmp)
        return fail(msg, msgsz, "out of memory");
    int rc = -1;
    if (to_page(d, utf8, n, flags, tmp, cap, &tn, msg, msgsz) != 0)
        goto out;
    bool special = false, has_delim = false;
    for (size_t i = 0; i < tn; i++) {
        unsigned char b = tmp[i];
        if (b == d->delim)
            has_delim = true;
        if (b == d->delim || b == d->quote ||
            (d->escape == DL_ESC_BACKSLASH && b == d->bslash))
            special = true;
    }
    if (d->quoting == DL_QUOTE_NONE) {
        if (has_delim) {
            char nm[16];
            char_name(d->delim_cp, nm, sizeof nm);
            fail(msg, msgsz, "the value holds the delimiter %s and the "
                 "target quotes nothing (quoting=\"none\")", nm);
            goto out;
        }
        if (buf_append(out, tmp, tn) != 0)
            goto nomem;
        rc = 0;
        goto out;
    }
    bool q = d->quoting == DL_QUOTE_ALWAYS || special;
    if (q && buf_append(out, &d->quote, 1) != 0)
        goto nomem;
    size_t from = 0;
    for (size_t i = 0; q && i < tn; i++) {
        unsigned char b = tmp[i];
        bool esc = b == d->quote ||
                   (d->escape == DL_ESC_BACKSLASH && b == d->bslash);
        if (!esc)
            continue;
        unsigned char e = d->escape == DL_ESC_DOUBLE ? d->quote : d->bslash;
        if (buf_append(out, tmp + from, i - from) != 0 ||
            buf_append(out, &e, 1) != 0)
            goto nomem;
        from = i;
    }
    if (buf_append(out, tmp + from, tn - from) != 0 ||
        (q && buf_append(out, &d->quote, 1) != 0))
        goto nomem;
    rc = 0;
    goto out;
nomem:
    fail(msg, msgsz, "out of memory or the line is too long");
out:
    if (tmp != small)
        free(tmp);
    return rc;
}

void dl_cells_init(struct dl_cells *c)
{
    memset(c, 0, sizeof *c);
    buf_init(&c->text, 0);
}

void dl_cells_free(struct dl_cells *c)
{
    if (!c)
        return;
    free(c->v);
    free(c->off);
    buf_free(&c->text);
    memset(c, 0, sizeof *c);
}

/* end_cell - decode raw bytes of cell number k into c's text */
static int end_cell(const struct dl_dialect *d, struct dl_cells *c,
                    const unsigned char *raw, size_t rn, char *msg,
                    size_t msgsz)
{
    if (c->n == c->cap) {
        if (c->cap >= DL_MAX_CELLS)
            return fail(msg, msgsz, "more than %d cells", DL_MAX_CELLS);
        size_t nc = c->cap ? c->cap * 2 : 32;
        size_t *no = realloc(c->off, nc * sizeof *no);
        if (!no)
            return fail(msg, msgsz, "out of memory");
        c->off = no;
        char **nv = realloc(c->v, nc * sizeof *nv);
        if (!nv)
            return fail(msg, msgsz, "out of memory");
        c->v = nv;
        c->cap = nc;
    }
    c->off[c->n] = c->text.len;
    char why[160];
    if (d->cc) {
        size_t need = rn * 4 + 1;
        char small[512];
        char *o = need <= sizeof small ? small : malloc(need);
        if (!o)
            return fail(msg, msgsz, "out of memory");
        int r = cob_text_decode_var(d->cc, raw, rn, o, need, why, sizeof why);
        if (r == 0 && buf_append(&c->text, o, strlen(o) + 1) != 0)
            r = fail(why, sizeof why, "out of memory");
        if (o != small)
            free(o);
        if (r != 0)
            return fail(msg, msgsz, "cell %zu: %s", c->n + 1, why);
    } else {
        long bad = utf8_invalid_at((const char *)raw, rn);
        if (bad >= 0)
            return fail(msg, msgsz, "cell %zu: invalid UTF-8 at byte %ld",
                        c->n + 1, bad);
        for (size_t i = 0; i < rn;) {
            uint32_t cp;
            size_t k = utf8_next((const char *)raw + i, rn - i, &cp);
            if (k == 0 || is_control(cp))
                return fail(msg, msgsz, "cell %zu: control character at "
                            "byte %zu", c->n + 1, i);
            i += k;
        }
        if (buf_append(&c->text, raw, rn) != 0 ||
            buf_append(&c->text, "", 1) != 0)
            return fail(msg, msgsz, "out of memory");
    }
    c->n++;
    return 0;
}

int dl_line_split(const struct dl_dialect *d, const unsigned char *p,
                  size_t n, struct dl_cells *out, char *msg, size_t msgsz)
{
    out->n = 0;
    buf_reset(&out->text);
    unsigned char small[512];
    unsigned char *raw = n <= sizeof small ? small : malloc(n ? n : 1);
    if (!raw)
        return fail(msg, msgsz, "out of memory");
    int rc = -1;
    size_t i = 0;
    for (;;) {
        size_t rn = 0;
        size_t cell = out->n + 1;
        if (d->quoting != DL_QUOTE_NONE && i < n && p[i] == d->quote) {
            i++;
            bool closed = false;
            while (i < n && !closed) {
                unsigned char b = p[i];
                if (d->escape == DL_ESC_DOUBLE && b == d->quote) {
                    if (i + 1 < n && p[i + 1] == d->quote) {
                        raw[rn++] = b;
                        i += 2;
                    } else {
                        closed = true;
                        i++;
                    }
                } else if (d->escape == DL_ESC_BACKSLASH && b == d->bslash) {
                    if (i + 1 >= n || (p[i + 1] != d->quote &&
                                       p[i + 1] != d->bslash)) {
                        fail(msg, msgsz, "cell %zu: a backslash that escapes "
                             "nothing", cell);
                        goto out;
                    }
                    raw[rn++] = p[i + 1];
                    i += 2;
                } else if (b == d->quote) {
                    closed = true;
                    i++;
                } else {
                    raw[rn++] = b;
                    i++;
                }
            }
            if (!closed) {
                fail(msg, msgsz, "cell %zu: the quote is not closed", cell);
                goto out;
            }
            if (i < n && p[i] != d->delim) {
                fail(msg, msgsz, "cell %zu: text after the closing quote",
                     cell);
                goto out;
            }
        } else {
            while (i < n && p[i] != d->delim) {
                if (d->quoting != DL_QUOTE_NONE && p[i] == d->quote) {
                    fail(msg, msgsz, "cell %zu: a quote inside an unquoted "
                         "cell", cell);
                    goto out;
                }
                raw[rn++] = p[i++];
            }
        }
        if (end_cell(d, out, raw, rn, msg, msgsz) != 0)
            goto out;
        if (i >= n)
            break;
        i++;                      /* the delimiter */
    }
    for (size_t k = 0; k < out->n; k++)
        out->v[k] = out->text.data + out->off[k];
    rc = 0;
out:
    if (raw != small)
        free(raw);
    return rc;
}

#define DL_READ_BUF (64u << 10)

int dl_reader_init(struct dl_reader *r, const struct dl_dialect *d,
                   int (*get)(void *ctx, void *p, size_t n), void *ctx,
                   uint64_t size)
{
    memset(r, 0, sizeof *r);
    r->d = d;
    r->get = get;
    r->ctx = ctx;
    r->left = size;
    buf_init(&r->line, DL_LINE_MAX);
    r->buf = malloc(DL_READ_BUF);
    return r->buf ? 0 : -1;
}

void dl_reader_free(struct dl_reader *r)
{
    free(r->buf);
    buf_free(&r->line);
    r->buf = NULL;
}

bool dl_reader_at_end(const struct dl_reader *r)
{
    return r->left == 0 && r->pos == r->len;
}

int dl_reader_next(struct dl_reader *r, char *why, size_t whysz)
{
    buf_reset(&r->line);
    r->read_error = false;
    if (dl_reader_at_end(r))
        return 0;
    r->lineno++;
    const unsigned char lf = r->d->eol[r->d->eollen - 1];
    /* bounded: each pass consumes a chunk of the known size */
    for (;;) {
        if (r->pos == r->len) {
            if (r->left == 0)
                return fail(why, whysz, "line %lld has no line end",
                            (long long)r->lineno);
            size_t n = r->left < DL_READ_BUF ? (size_t)r->left : DL_READ_BUF;
            int g = r->get(r->ctx, r->buf, n);
            if (g != 0) {
                r->read_error = g < 0;
                return fail(why, whysz, g < 0 ? "the file cannot be read"
                                              : "the file ends early");
            }
            r->left -= n;
            r->len = n;
            r->pos = 0;
        }
        unsigned char *nl = memchr(r->buf + r->pos, lf, r->len - r->pos);
        size_t take = nl ? (size_t)(nl - (r->buf + r->pos)) : r->len - r->pos;
        if (buf_append(&r->line, r->buf + r->pos, take) != 0)
            return fail(why, whysz, "line %lld is longer than %u bytes",
                        (long long)r->lineno, DL_LINE_MAX);
        r->pos += take;
        if (!nl)
            continue;
        r->pos++;
        if (r->d->eollen == 2) {
            if (!r->line.len ||
                (unsigned char)r->line.data[r->line.len - 1] != r->d->eol[0])
                return fail(why, whysz, "line %lld ends in LF, not CRLF",
                            (long long)r->lineno);
            r->line.len--;
            r->line.data[r->line.len] = '\0';
        }
        return 1;
    }
}

/* legacy_fmt - the copybook spellings of date formats, else strftime */
static const char *legacy_fmt(const char *f)
{
    static const struct { const char *name, *tm; } names[] = {
        { "CCYYMMDD", "%Y%m%d" }, { "YYYYMMDD", "%Y%m%d" },
        { "YYMMDD", "%y%m%d" }, { "DDMMCCYY", "%d%m%Y" },
        { "DD/MM/CCYY", "%d/%m/%Y" }, { "HHMMSS", "%H%M%S" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(f, names[i].name) == 0)
            return names[i].tm;
    return strchr(f, '%') ? f : NULL;
}

/* dl_value_text - see delimited.h */
const char *dl_value_text(const struct tz *london, const struct map_assign *a,
                          const struct fvalue *v, char *tmp, size_t tmpsz,
                          char *why, size_t whysz)
{
    if (v->type == FT_LIST) {
        snprintf(why, whysz, "a list cannot fill one column");
        return NULL;
    }
    bool dated = v->type == FT_DATE || v->type == FT_DATETIME;
    if (!dated || (!a->format && !a->local_time))
        return v->text ? v->text : "";
    const char *fmt = a->format ? legacy_fmt(a->format) : NULL;
    if (a->format && !fmt) {
        snprintf(why, whysz, "format \"%s\" is not a date format", a->format);
        return NULL;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (v->type == FT_DATE) {
        time_t t = (time_t)(v->num * 86400);     /* that day's midnight UTC */
        gmtime_r(&t, &tm);
    } else {
        int64_t s = v->num / 1000 - (v->num % 1000 < 0 ? 1 : 0);
        if (a->local_time && london) {
            tz_localtime(london, s, &tm);
        } else {
            time_t t = (time_t)s;
            gmtime_r(&t, &tm);
        }
    }
    if (!fmt)
        fmt = v->type == FT_DATE ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%S";
    if (strftime(tmp, tmpsz, fmt, &tm) == 0) {
        snprintf(why, whysz, "format \"%s\" gives no text", a->format);
        return NULL;
    }
    return tmp;
}

