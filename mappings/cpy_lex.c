/* cpy_lex.c - copybook source to tokens.  See cpy_lex.h.
 *
 * Fixed format: columns 1-6 (sequence) and 73-80 (identification) are
 * ignored; column 7 holds the indicator: '*' or '/' comment, 'D' debug
 * line (skipped), '-' continuation.  A literal left open at column 72
 * continues on the next '-' line after its opening quote.  Free format:
 * the whole line is text.  In both, "*>" starts a comment and a ">>SOURCE
 * FORMAT FREE|FIXED" directive switches format.  Tabs expand to 8. */
#include "mappings/cpy_lex.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/errs.h"

#define MAX_LINE 1024       /* columns kept per line after tab expansion */
#define MAX_TOKENS 2000000  /* a copybook is never this large */

void cpy_err(struct errs *e, const char *name, int line, int col,
             const char *fmt, ...)
{
    char where[512];
    snprintf(where, sizeof where, "%s:%d:%d", name ? name : "", line, col);
    va_list ap;
    va_start(ap, fmt);
    errs_vadd(e, where, fmt, ap);
    va_end(ap);
}

void cpy_toks_free(struct cpy_toks *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].s);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* cpy_tok_push - see cpy_lex.h */
struct cpy_tok *cpy_tok_push(struct cpy_toks *t, enum cpy_tk k, const char *s,
                             size_t n, int line, int col)
{
    if (t->n >= MAX_TOKENS)
        return NULL;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct cpy_tok *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return NULL;
        t->v = v;
        t->cap = cap;
    }
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    if (n)
        memcpy(c, s, n);
    c[n] = '\0';
    struct cpy_tok *tk = &t->v[t->n++];
    tk->k = k;
    tk->s = c;
    tk->n = n;
    tk->line = line;
    tk->col = col;
    tk->src = NULL;
    return tk;
}

/* tok_append - grow the text of a token (literal or word continuation) */
static int tok_append(struct cpy_tok *tk, const char *s, size_t n)
{
    char *c = realloc(tk->s, tk->n + n + 1);
    if (!c)
        return -1;
    memcpy(c + tk->n, s, n);
    tk->n += n;
    c[tk->n] = '\0';
    tk->s = c;
    return 0;
}

static bool sep_at(const char *t, size_t i, size_t n)
{
    return i + 1 >= n || t[i + 1] == ' ';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = toupper(c);
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

struct lexer {
    const char *name;
    struct cpy_toks *out;
    struct errs *e;
    int errors;
    bool fixed;
    int open_lit;       /* index of a literal open at end of line, or -1 */
    char open_q;
};

static void lerr(struct lexer *L, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lerr(struct lexer *L, int line, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cpy_err(L->e, L->name, line, col, "%s", msg);
    L->errors++;
}

/* read_lit - literal body from t[i] (after the opening quote); returns
 * the index after the closing quote, or n when left open. */
static size_t read_lit(struct lexer *L, struct cpy_tok *tk, const char *t,
                       size_t i, size_t n, char q, bool *closed)
{
    *closed = false;
    while (i < n) {
        if (t[i] == q) {
            if (i + 1 < n && t[i + 1] == q) {
                if (tok_append(tk, &q, 1) < 0)
                    L->errors++;
                i += 2;
                continue;
            }
            *closed = true;
            return i + 1;
        }
        size_t j = i;
        while (j < n && t[j] != q)
            j++;
        if (tok_append(tk, t + i, j - i) < 0)
            L->errors++;
        i = j;
    }
    return n;
}

/* lex_text - tokens of one line's program text t[0..n), whose first
 * character is in column col0 */
static void lex_text(struct lexer *L, const char *t, size_t n, int line,
                     int col0, bool cont)
{
    size_t i = 0;
    while (i < n && t[i] == ' ')
        i++;
    if (L->open_lit >= 0) {
        struct cpy_tok *tk = &L->out->v[L->open_lit];
        if (!cont || i >= n || t[i] != L->open_q) {
            lerr(L, tk->line, tk->col, "literal not closed");
            L->open_lit = -1;
        } else {
            bool closed;
            i = read_lit(L, tk, t, i + 1, n, L->open_q, &closed);
            if (!closed) {
                size_t pad = (size_t)(72 - (col0 + (int)n - 1));
                for (size_t k = 0; k < pad && k < 72; k++)
                    tok_append(tk, " ", 1);
                return;
            }
            L->open_lit = -1;
        }
    } else if (cont && i < n && L->out->n > 0 &&
               L->out->v[L->out->n - 1].k == TK_WORD) {
        /* a word split at column 72 goes on at the first non-blank */
        struct cpy_tok *tk = &L->out->v[L->out->n - 1];
        size_t j = i;
        while (j < n && t[j] != ' ' && !(t[j] == '.' && sep_at(t, j, n)))
            j++;
        for (size_t k = i; k < j; k++) {
            char c = (char)toupper((unsigned char)t[k]);
            tok_append(tk, &c, 1);
        }
        i = j;
    }
    while (i < n) {
        char c = t[i];
        int col = col0 + (int)i;
        if (c == ' ' || ((c == ',' || c == ';') && sep_at(t, i, n))) {
            i++;
            continue;
        }
        if (c == '*' && i + 1 < n && t[i + 1] == '>')
            return;
        if (c == '\'' || c == '"' ||
            ((c == 'X' || c == 'x') && i + 1 < n &&
             (t[i + 1] == '\'' || t[i + 1] == '"'))) {
            bool hex = c == 'X' || c == 'x';
            char q = hex ? t[i + 1] : c;
            struct cpy_tok *tk = cpy_tok_push(L->out, hex ? TK_HEX : TK_LIT,
                                          "", 0, line, col);
            if (!tk) {
                lerr(L, line, col, "too many tokens or out of memory");
                return;
            }
            bool closed;
            i = read_lit(L, tk, t, i + (hex ? 2 : 1), n, q, &closed);
            if (!closed) {
                if (hex || !L->fixed) {
                    lerr(L, line, col, "literal not closed");
                } else {
                    L->open_lit = (int)(L->out->n - 1);
                    L->open_q = q;
                    size_t pad = (size_t)(72 - (col0 + (int)n - 1));
                    for (size_t k = 0; k < pad && k < 72; k++)
                        tok_append(tk, " ", 1);
                }
                return;
            }
            if (hex) {
                if (tk->n % 2) {
                    lerr(L, line, col, "hex literal needs an even number of "
                         "digits");
                    continue;
                }
                size_t o = 0;
                for (size_t k = 0; k < tk->n; k += 2) {
                    int h = hexval((unsigned char)tk->s[k]);
                    int l = hexval((unsigned char)tk->s[k + 1]);
                    if (h < 0 || l < 0) {
                        lerr(L, line, col, "bad hex digit in literal");
                        break;
                    }
                    tk->s[o++] = (char)(h << 4 | l);
                }
                tk->n = o;
                tk->s[o] = '\0';
            }
            continue;
        }
        if (c == '.' && sep_at(t, i, n)) {
            if (!cpy_tok_push(L->out, TK_PERIOD, ".", 1, line, col))
                lerr(L, line, col, "too many tokens or out of memory");
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && t[j] != ' ' && t[j] != '\'' && t[j] != '"' &&
               !(t[j] == '.' && sep_at(t, j, n)) &&
               !((t[j] == ',' || t[j] == ';') && sep_at(t, j, n)))
            j++;
        struct cpy_tok *tk = cpy_tok_push(L->out, TK_WORD, t + i, j - i, line,
                                      col);
        if (!tk) {
            lerr(L, line, col, "too many tokens or out of memory");
            return;
        }
        for (size_t k = 0; k < tk->n; k++)
            tk->s[k] = (char)toupper((unsigned char)tk->s[k]);
        i = j;
    }
}

/* directive - ">>SOURCE [FORMAT] [IS] FREE|FIXED"; true if it was one */
static bool directive(struct lexer *L, const char *t, size_t n)
{
    size_t i = 0;
    while (i < n && t[i] == ' ')
        i++;
    if (i + 1 >= n || t[i] != '>' || t[i + 1] != '>')
        return false;
    char up[128];
    size_t k = 0;
    for (size_t j = i; j < n && k + 1 < sizeof up; j++)
        up[k++] = (char)toupper((unsigned char)t[j]);
    up[k] = '\0';
    if (strstr(up, "SOURCE")) {
        if (strstr(up, "FREE"))
            L->fixed = false;
        else if (strstr(up, "FIXED"))
            L->fixed = true;
    }
    return true;
}

/* looks_free - guess the format: fixed unless some line cannot be */
static bool looks_free(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        size_t n = j - i;
        const char *l = text + i;
        if (n && l[n - 1] == '\r')
            n--;
        size_t k = 0;
        while (k < n && l[k] == ' ')
            k++;
        bool blank = k == n;
        bool comment = k + 1 < n && l[k] == '*' && l[k + 1] == '>';
        bool dir = k + 1 < n && l[k] == '>' && l[k + 1] == '>';
        if (!blank && !comment && !dir && memchr(l, '\t', n) == NULL) {
            if (n >= 7 && !strchr(" *-/dD$", l[6]))
                return true;
            if (n < 7)
                for (size_t m = 0; m < n; m++)
                    if (l[m] == '.')
                        return true;
        }
        i = j + 1;
    }
    return false;
}

/* cpy_lex - see cpy_lex.h */
int cpy_lex(const char *text, size_t len, const char *name,
            enum cpy_format fmt, struct cpy_toks *out, struct errs *e)
{
    struct lexer L = { .name = name, .out = out, .e = e, .open_lit = -1 };
    L.fixed = fmt == CPY_FMT_FIXED ||
              (fmt == CPY_FMT_AUTO && !looks_free(text, len));
    out->free_format = !L.fixed;
    char buf[MAX_LINE + 8];
    int lineno = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        lineno++;
        /* expand tabs; keep the first MAX_LINE columns */
        size_t n = 0;
        for (size_t k = i; k < j && n < MAX_LINE; k++) {
            char c = text[k];
            if (c == '\r' && k + 1 == j)
                break;
            if (c == '\t') {
                do
                    buf[n++] = ' ';
                while (n % 8 && n < MAX_LINE);
            } else {
                buf[n++] = (c == '\0' || c == '\r' || c == '\f') ? ' ' : c;
            }
        }
        buf[n] = '\0';
        i = j + 1;
        if (directive(&L, L.fixed && n >= 7 ? buf + 7 : buf,
                      L.fixed && n >= 7 ? n - 7 : n)) {
            out->free_format = out->free_format || !L.fixed;
            continue;
        }
        if (L.fixed) {
            if (n < 7)
                continue;                 /* sequence area only */
            char ind = buf[6];
            if (ind == '*' || ind == '/' || ind == 'D' || ind == 'd' ||
                ind == '$')
                continue;
            if (ind != ' ' && ind != '-') {
                lerr(&L, lineno, 7, "unexpected '%c' in the indicator "
                     "column (7)", ind);
                continue;
            }
            size_t end = n > 72 ? 72 : n;
            lex_text(&L, buf + 7, end - 7, lineno, 8, ind == '-');
        } else {
            lex_text(&L, buf, n, lineno, 1, false);
        }
    }
    if (L.open_lit >= 0) {
        struct cpy_tok *tk = &out->v[L.open_lit];
        lerr(&L, tk->line, tk->col, "literal not closed");
    }
    if (!cpy_tok_push(out, TK_EOF, "", 0, lineno + 1, 1))
        L.errors++;
    return L.errors ? -1 : 0;
}
