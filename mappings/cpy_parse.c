/* cpy_parse.c - copybook tokens to record layouts.
 *
 * One pass builds the field tree of each 01 (or 77) record from the data
 * description entries (clauses, PIC strings, 88 and 66 levels); each
 * finished record goes to cpy_layout.c for offsets and lengths.  Every
 * problem is reported as FILE:LINE:COL, and parsing goes on to find the
 * rest. */
#include "mappings/copybook.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mappings/cpy_lex.h"
#include "util/errs.h"
#include "util/fsutil.h"

#define MAX_OCCURS 1000000
#define MAX_TEXT 1000000

struct parser {
    const char *name;
    struct cpy_toks *t;
    size_t i;
    struct errs *e;
    int errors;
    struct copybook *cb;
    struct cpy_record *cur;
    struct cpy_field *stack[64];
    int depth;
    struct cpy_field *last;   /* where an 88 attaches */
};

/* the file a token or field came from: a COPY member, or the copybook */
#define TK_NAME(P, x) ((x)->src ? (x)->src : (P)->name)

static void perr(struct parser *P, const struct cpy_tok *tk,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void perr(struct parser *P, const struct cpy_tok *tk,
                 const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col, "%s", msg);
    P->errors++;
}

static const struct cpy_tok *peek(struct parser *P)
{
    return &P->t->v[P->i];
}

static const struct cpy_tok *next(struct parser *P)
{
    const struct cpy_tok *tk = &P->t->v[P->i];
    if (tk->k != TK_EOF)
        P->i++;
    return tk;
}

static bool is_w(const struct cpy_tok *tk, const char *w)
{
    return tk->k == TK_WORD && !strcmp(tk->s, w);
}

static bool accept(struct parser *P, const char *w)
{
    if (is_w(peek(P), w)) {
        next(P);
        return true;
    }
    return false;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static const char *const keywords[] = {
    "PIC", "PICTURE", "USAGE", "DISPLAY", "COMP", "COMPUTATIONAL", "COMP-1",
    "COMP-2", "COMP-3", "COMP-4", "COMP-5", "COMPUTATIONAL-1",
    "COMPUTATIONAL-2", "COMPUTATIONAL-3", "COMPUTATIONAL-4",
    "COMPUTATIONAL-5", "BINARY", "PACKED-DECIMAL", "REDEFINES", "OCCURS",
    "VALUE", "VALUES", "SIGN", "LEADING", "TRAILING", "JUST", "JUSTIFIED",
    "SYNC", "SYNCHRONIZED", "BLANK", "EXTERNAL", "GLOBAL", "RENAMES",
    "INDEX", "POINTER", "NATIONAL", "IS", NULL
};

static bool is_keyword(const char *s)
{
    for (size_t i = 0; keywords[i]; i++)
        if (!strcmp(s, keywords[i]))
            return true;
    return false;
}

/* skip_entry - error recovery: to just after the next period */
static void skip_entry(struct parser *P)
{
    for (;;) {
        const struct cpy_tok *tk = next(P);
        if (tk->k == TK_PERIOD || tk->k == TK_EOF)
            return;
    }
}

static char *xstrdup(struct parser *P, const char *s)
{
    char *d = strdup(s);
    if (!d)
        P->errors++;
    return d;
}

/* ---- PIC ---------------------------------------------------------------- */

/* edit_symbol - the mask character of a numeric-edited symbol at s (CR,
 * DB and the UTF-8 pound sign take more than one byte: *used), or 0 */
static char edit_symbol(const char *s, size_t *used)
{
    *used = 1;
    switch (s[0]) {
    case 'Z': case '*': case 'B': case '0': case '/': case ',': case '.':
    case '+': case '-': case '$':
        return s[0];
    case 'C':
        if (s[1] == 'R') {
            *used = 2;
            return 'c';
        }
        return 0;
    case 'D':
        if (s[1] == 'B') {
            *used = 2;
            return 'd';
        }
        return 0;
    case '\xC2':
        if (s[1] == '\xA3') {          /* U+00A3 POUND SIGN */
            *used = 2;
            return 'L';
        }
        return 0;
    default:
        return 0;
    }
}

/* parse_edited - a numeric-edited PIC: the expanded mask, then its shape
 * from cob_edit_analyze (the one reading of a mask) */
static int parse_edited(struct parser *P, const struct cpy_tok *tk,
                        struct cpy_field *f)
{
    const char *s = tk->s;
    char mask[COB_MAX_DIGITS * 8 + 64];
    size_t n = 0, i = 0;
    while (s[i]) {
        int col = tk->col + (int)i;
        size_t used = 1;
        char m = s[i] == '9' || s[i] == 'V' ? s[i] : edit_symbol(s + i, &used);
        if (!m) {
            cpy_err(P->e, TK_NAME(P, tk), tk->line, col, "PIC %s '%c' cannot be "
                    "in a numeric-edited picture", s, s[i]);
            P->errors++;
            return -1;
        }
        i += used;
        long rep = 1;
        if (s[i] == '(') {
            size_t j = i + 1;
            rep = 0;
            while (isdigit((unsigned char)s[j]) && rep <= 1000)
                rep = rep * 10 + (s[j++] - '0');
            if (j == i + 1 || s[j] != ')' || rep < 1) {
                cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col + (int)j,
                        "PIC %s bad repeat count", s);
                P->errors++;
                return -1;
            }
            i = j + 1;
        }
        for (long r = 0; r < rep; r++) {
            if (n + 3 >= sizeof mask) {
                cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col, "PIC %s too long",
                        s);
                P->errors++;
                return -1;
            }
            mask[n++] = m;
            if (m == 'c' || m == 'd')
                mask[n++] = m == 'c' ? 'r' : 'b';
        }
    }
    mask[n] = '\0';
    char msg[160];
    struct cob_pic *p = &f->pic;
    if (cob_edit_analyze(mask, &p->digits, &p->scale, &p->is_signed,
                         &p->length, msg, sizeof msg) < 0) {
        cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col, "PIC %s: %s", s, msg);
        P->errors++;
        return -1;
    }
    free(f->edit_mask);
    f->edit_mask = xstrdup(P, mask);
    if (!f->edit_mask)
        return -1;
    p->cls = COB_NUMERIC;
    p->edit = f->edit_mask;
    free(f->pic_text);
    f->pic_text = xstrdup(P, s);
    return 0;
}

/* is_edited - a PIC with an editing symbol and no X, A, S or P */
static bool is_edited(const char *s)
{
    bool edit = false;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '(') {
            while (s[i] && s[i] != ')')
                i++;
            if (!s[i])
                break;
            continue;
        }
        size_t used;
        if (strchr("XASPNGU", s[i]))
            return false;
        if (edit_symbol(s + i, &used))
            edit = true;
        i += used - 1;
    }
    return edit;
}

/* parse_pic - X(n) A(n) 9(n) S V P and repeated symbols; numeric-edited
 * pictures go to parse_edited */
static int parse_pic(struct parser *P, const struct cpy_tok *tk,
                     struct cpy_field *f)
{
    const char *s = tk->s;
    if (is_edited(s))
        return parse_edited(P, tk, f);
    struct cob_pic *p = &f->pic;
    long nx = 0, na = 0, n9 = 0, after_v = 0, lead_p = 0, trail_p = 0;
    bool seen_s = false, seen_v = false;
    size_t i = 0;
    while (s[i]) {
        char c = s[i];
        int col = tk->col + (int)i;
        long rep = 1;
        size_t sym = i++;
        if (s[i] == '(') {
            size_t j = i + 1;
            rep = 0;
            while (isdigit((unsigned char)s[j]) && rep <= MAX_TEXT)
                rep = rep * 10 + (s[j++] - '0');
            if (j == i + 1) {
                cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col + (int)j,
                        "PIC %s expected a number", s);
                P->errors++;
                return -1;
            }
            if (s[j] != ')') {
                cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col + (int)j,
                        "PIC %s expected ')'", s);
                P->errors++;
                return -1;
            }
            if (rep < 1 || rep > MAX_TEXT) {
                cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col + (int)i + 1,
                        "PIC %s repeat count out of range", s);
                P->errors++;
                return -1;
            }
            i = j + 1;
        }
        switch (c) {
        case 'X': nx += rep; break;
        case 'A': na += rep; break;
        case '9':
            n9 += rep;
            if (seen_v)
                after_v += rep;
            break;
        case 'S':
            if (sym != 0 || rep != 1) {
                cpy_err(P->e, TK_NAME(P, tk), tk->line, col,
                        "PIC %s 'S' must come first, once", s);
                P->errors++;
                return -1;
            }
            seen_s = true;
            break;
        case 'V':
            if (seen_v || rep != 1) {
                cpy_err(P->e, TK_NAME(P, tk), tk->line, col,
                        "PIC %s has more than one 'V'", s);
                P->errors++;
                return -1;
            }
            seen_v = true;
            break;
        case 'P':
            if (n9 == 0 || seen_v)
                lead_p += rep;
            else
                trail_p += rep;
            break;
        case 'N': case 'G': case 'U':
            cpy_err(P->e, TK_NAME(P, tk), tk->line, col,
                    "PIC %s national/DBCS pictures are not supported", s);
            P->errors++;
            return -1;
        default:
            cpy_err(P->e, TK_NAME(P, tk), tk->line, col,
                    "PIC %s '%c' (alphanumeric-edited) is not supported",
                    s, c);
            P->errors++;
            return -1;
        }
    }
    bool numeric = nx == 0 && na == 0;
    if (numeric) {
        if (lead_p && trail_p) {
            cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col,
                    "PIC %s has 'P' on both sides", s);
            P->errors++;
            return -1;
        }
        if (n9 == 0 || n9 > COB_MAX_DIGITS) {
            cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col,
                    "PIC %s has %ld digits; ferry supports 1 to %d", s, n9,
                    COB_MAX_DIGITS);
            P->errors++;
            return -1;
        }
        if (seen_v && trail_p) {
            cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col,
                    "PIC %s 'V' with trailing 'P'", s);
            P->errors++;
            return -1;
        }
        p->cls = COB_NUMERIC;
        p->digits = (int)n9;
        p->scale = (int)(after_v + lead_p - trail_p);
        p->is_signed = seen_s;
        if (p->scale > COB_MAX_DIGITS || p->scale < -COB_MAX_DIGITS) {
            cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col,
                    "PIC %s scale out of range", s);
            P->errors++;
            return -1;
        }
    } else {
        if (seen_s || seen_v || lead_p || trail_p) {
            cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col,
                    "PIC %s mixes text with S, V or P", s);
            P->errors++;
            return -1;
        }
        p->cls = nx == 0 && n9 == 0 ? COB_ALPHA : COB_ALNUM;
        long n = nx + na + n9;
        if (n > MAX_TEXT) {
            cpy_err(P->e, TK_NAME(P, tk), tk->line, tk->col, "PIC %s too long", s);
            P->errors++;
            return -1;
        }
        p->digits = (int)n;
    }
    free(f->pic_text);
    f->pic_text = xstrdup(P, s);
    return 0;
}

/* ---- clauses ------------------------------------------------------------ */

static int parse_value(struct parser *P, struct cpy_value *v)
{
    memset(v, 0, sizeof *v);
    if (accept(P, "ALL"))
        v->all = true;
    const struct cpy_tok *tk = next(P);
    if (tk->k == TK_LIT || tk->k == TK_HEX) {
        v->kind = CPY_VAL_TEXT;
        v->text = malloc(tk->n + 1);
        if (!v->text) {
            P->errors++;
            return -1;
        }
        memcpy(v->text, tk->s, tk->n + 1);
        v->len = tk->n;
        v->hex = tk->k == TK_HEX;
        return 0;
    }
    if (tk->k == TK_WORD) {
        static const struct { const char *w; enum cpy_valkind k; } fig[] = {
            { "ZERO", CPY_VAL_ZEROS }, { "ZEROS", CPY_VAL_ZEROS },
            { "ZEROES", CPY_VAL_ZEROS }, { "SPACE", CPY_VAL_SPACES },
            { "SPACES", CPY_VAL_SPACES }, { "HIGH-VALUE", CPY_VAL_HIGH },
            { "HIGH-VALUES", CPY_VAL_HIGH }, { "LOW-VALUE", CPY_VAL_LOW },
            { "LOW-VALUES", CPY_VAL_LOW }, { "NULL", CPY_VAL_LOW },
            { "NULLS", CPY_VAL_LOW }, { "QUOTE", CPY_VAL_QUOTES },
            { "QUOTES", CPY_VAL_QUOTES },
        };
        for (size_t i = 0; i < sizeof fig / sizeof fig[0]; i++)
            if (!strcmp(tk->s, fig[i].w)) {
                v->kind = fig[i].k;
                return 0;
            }
        const char *s = tk->s;
        size_t k = (*s == '+' || *s == '-') ? 1 : 0;
        bool digit = false, dot = false, ok = true;
        for (; s[k]; k++) {
            if (isdigit((unsigned char)s[k]))
                digit = true;
            else if (s[k] == '.' && !dot)
                dot = true;
            else
                ok = false;
        }
        if (ok && digit && !v->all) {
            v->kind = CPY_VAL_NUMBER;
            v->text = xstrdup(P, tk->s);
            v->len = strlen(tk->s);
            return 0;
        }
    }
    perr(P, tk, "expected a literal after VALUE, found '%s'",
         tk->k == TK_EOF ? "end of file" : tk->s);
    return -1;
}

static int parse_usage(struct parser *P, struct cpy_field *f,
                       const struct cpy_tok *tk)
{
    const char *w = tk->s;
    if (!strcmp(w, "DISPLAY"))
        f->pic.usage = COB_DISPLAY;
    else if (!strcmp(w, "COMP") || !strcmp(w, "COMPUTATIONAL") ||
             !strcmp(w, "COMP-4") || !strcmp(w, "COMPUTATIONAL-4") ||
             !strcmp(w, "BINARY"))
        f->pic.usage = COB_BINARY;
    else if (!strcmp(w, "COMP-3") || !strcmp(w, "COMPUTATIONAL-3") ||
             !strcmp(w, "PACKED-DECIMAL"))
        f->pic.usage = COB_COMP3;
    else if (!strcmp(w, "COMP-5") || !strcmp(w, "COMPUTATIONAL-5"))
        f->pic.usage = COB_COMP5;
    else if (!strcmp(w, "COMP-1") || !strcmp(w, "COMP-2") ||
             !strcmp(w, "COMPUTATIONAL-1") || !strcmp(w, "COMPUTATIONAL-2")) {
        perr(P, tk, "USAGE %s (floating point) is not supported", w);
        return -1;
    } else {
        perr(P, tk, "USAGE %s is not supported", w);
        return -1;
    }
    f->usage_set = true;
    return 0;
}

static bool is_usage_word(const char *w)
{
    return !strcmp(w, "DISPLAY") || !strncmp(w, "COMP", 4) ||
           !strcmp(w, "BINARY") || !strcmp(w, "PACKED-DECIMAL") ||
           !strcmp(w, "INDEX") || !strcmp(w, "POINTER") ||
           !strcmp(w, "NATIONAL");
}

static int parse_int(struct parser *P, size_t *out, const char *what)
{
    const struct cpy_tok *tk = next(P);
    if (tk->k != TK_WORD || !all_digits(tk->s) || strlen(tk->s) > 9) {
        perr(P, tk, "%s expected a whole number, found '%s'", what,
             tk->k == TK_EOF ? "end of file" : tk->s);
        return -1;
    }
    *out = (size_t)strtoul(tk->s, NULL, 10);
    return 0;
}

/* parse_name_list - data names after KEY IS / INDEXED BY */
static void parse_name_list(struct parser *P)
{
    while (peek(P)->k == TK_WORD && !is_keyword(peek(P)->s) &&
           !all_digits(peek(P)->s) && !is_w(peek(P), "ASCENDING") &&
           !is_w(peek(P), "DESCENDING") && !is_w(peek(P), "INDEXED"))
        next(P);
}

static int parse_occurs(struct parser *P, struct cpy_field *f,
                        const struct cpy_tok *kw)
{
    size_t a, b;
    if (parse_int(P, &a, "OCCURS") < 0)
        return -1;
    b = a;
    if (accept(P, "TO") && parse_int(P, &b, "OCCURS ... TO") < 0)
        return -1;
    accept(P, "TIMES");
    if (accept(P, "DEPENDING")) {
        accept(P, "ON");
        const struct cpy_tok *tk = next(P);
        if (tk->k != TK_WORD || is_keyword(tk->s)) {
            perr(P, tk, "DEPENDING ON expected a data name");
            return -1;
        }
        size_t len = strlen(tk->s);
        char *q = malloc(len + 1);
        if (!q) {
            P->errors++;
            return -1;
        }
        memcpy(q, tk->s, len + 1);
        /* qualified: COUNT OF GROUP -> "GROUP.COUNT" for cpy_field_find */
        while (is_w(peek(P), "OF") || is_w(peek(P), "IN")) {
            next(P);
            const struct cpy_tok *g = next(P);
            size_t gl = strlen(g->s), ql = strlen(q);
            char *nq = malloc(gl + 1 + ql + 1);
            if (!nq) {
                free(q);
                P->errors++;
                return -1;
            }
            memcpy(nq, g->s, gl);
            nq[gl] = '.';
            memcpy(nq + gl + 1, q, ql + 1);
            free(q);
            q = nq;
        }
        free(f->depending_on);
        f->depending_on = q;
    }
    for (;;) {
        if (accept(P, "ASCENDING") || accept(P, "DESCENDING")) {
            accept(P, "KEY");
            accept(P, "IS");
            parse_name_list(P);
        } else if (accept(P, "INDEXED")) {
            accept(P, "BY");
            parse_name_list(P);
        } else {
            break;
        }
    }
    if (b < 1 || b > MAX_OCCURS || a > b) {
        perr(P, kw, "OCCURS %zu TO %zu is out of range", a, b);
        return -1;
    }
    if (a != b && !f->depending_on) {
        perr(P, kw, "OCCURS %zu TO %zu needs DEPENDING ON", a, b);
        return -1;
    }
    f->occurs_min = f->depending_on ? a : b;
    f->occurs_max = b;
    return 0;
}

static int add_cond_values(struct parser *P, struct cpy_cond *c)
{
    do {
        struct cpy_range r;
        memset(&r, 0, sizeof r);
        if (parse_value(P, &r.lo) < 0)
            return -1;
        if (accept(P, "THRU") || accept(P, "THROUGH")) {
            if (parse_value(P, &r.hi) < 0) {
                free(r.lo.text);
                return -1;
            }
        }
        struct cpy_range *v = realloc(c->v, (c->n + 1) * sizeof *v);
        if (!v) {
            free(r.lo.text);
            free(r.hi.text);
            P->errors++;
            return -1;
        }
        c->v = v;
        c->v[c->n++] = r;
    } while (peek(P)->k == TK_LIT || peek(P)->k == TK_HEX ||
             (peek(P)->k == TK_WORD && !is_w(peek(P), "FALSE") &&
              (isdigit((unsigned char)peek(P)->s[0]) ||
               peek(P)->s[0] == '+' || peek(P)->s[0] == '-' ||
               is_w(peek(P), "ALL") || is_w(peek(P), "SPACE") ||
               is_w(peek(P), "SPACES") || is_w(peek(P), "ZERO") ||
               is_w(peek(P), "ZEROS") || is_w(peek(P), "ZEROES") ||
               is_w(peek(P), "HIGH-VALUE") || is_w(peek(P), "HIGH-VALUES") ||
               is_w(peek(P), "LOW-VALUE") || is_w(peek(P), "LOW-VALUES"))));
    if (accept(P, "FALSE")) {
        accept(P, "IS");
        struct cpy_value junk;
        if (parse_value(P, &junk) == 0)
            free(junk.text);
    }
    return 0;
}

/* parse_88 - "88 NAME VALUE[S] [IS|ARE] lit [THRU lit] ..." */
static void parse_88(struct parser *P, const struct cpy_tok *lvl)
{
    const struct cpy_tok *nm = next(P);
    if (nm->k != TK_WORD || is_keyword(nm->s)) {
        perr(P, nm, "88 level needs a condition name");
        skip_entry(P);
        return;
    }
    if (!P->last) {
        perr(P, lvl, "88 level %s has no data item to belong to", nm->s);
        skip_entry(P);
        return;
    }
    if (!accept(P, "VALUE") && !accept(P, "VALUES")) {
        perr(P, peek(P), "88 level %s expected VALUE", nm->s);
        skip_entry(P);
        return;
    }
    accept(P, "IS");
    accept(P, "ARE");
    struct cpy_field *f = P->last;
    struct cpy_cond *c = realloc(f->conds, (f->nconds + 1) * sizeof *c);
    if (!c) {
        P->errors++;
        skip_entry(P);
        return;
    }
    f->conds = c;
    c = &f->conds[f->nconds++];
    memset(c, 0, sizeof *c);
    c->name = xstrdup(P, nm->s);
    c->line = lvl->line;
    if (add_cond_values(P, c) < 0) {
        skip_entry(P);
        return;
    }
    if (peek(P)->k != TK_PERIOD) {
        perr(P, peek(P), "88 level %s expected '.'", nm->s);
        skip_entry(P);
        return;
    }
    next(P);
}

/* parse_clauses - everything after the name up to the period */
static int parse_clauses(struct parser *P, struct cpy_field *f)
{
    for (;;) {
        const struct cpy_tok *tk = peek(P);
        if (tk->k == TK_PERIOD) {
            next(P);
            return 0;
        }
        if (tk->k == TK_EOF) {
            perr(P, tk, "expected '.' at the end of %s", f->name);
            return 0;
        }
        if (tk->k != TK_WORD) {
            perr(P, tk, "unexpected literal");
            return -1;
        }
        if (all_digits(tk->s)) {
            perr(P, tk, "expected '.' before level number %s", tk->s);
            return 0;          /* the next entry starts here */
        }
        next(P);
        const char *w = tk->s;
        if (!strcmp(w, "PIC") || !strcmp(w, "PICTURE")) {
            accept(P, "IS");
            const struct cpy_tok *ps = next(P);
            if (ps->k != TK_WORD) {
                perr(P, ps, "PIC expected a picture string");
                return -1;
            }
            if (parse_pic(P, ps, f) < 0) {
                free(f->pic_text);          /* no "needs a PIC" cascade */
                f->pic_text = xstrdup(P, ps->s);
                f->pic.cls = COB_ALNUM;
                f->pic.digits = 1;
                return -1;
            }
        } else if (!strcmp(w, "USAGE")) {
            accept(P, "IS");
            const struct cpy_tok *u = next(P);
            if (u->k != TK_WORD) {
                perr(P, u, "USAGE expected a usage");
                return -1;
            }
            if (parse_usage(P, f, u) < 0)
                return -1;
        } else if (is_usage_word(w)) {
            if (parse_usage(P, f, tk) < 0)
                return -1;
        } else if (!strcmp(w, "REDEFINES")) {
            const struct cpy_tok *r = next(P);
            if (r->k != TK_WORD || is_keyword(r->s)) {
                perr(P, r, "REDEFINES expected a data name");
                return -1;
            }
            free(f->redefines);
            f->redefines = xstrdup(P, r->s);
        } else if (!strcmp(w, "OCCURS")) {
            if (parse_occurs(P, f, tk) < 0)
                return -1;
        } else if (!strcmp(w, "VALUE") || !strcmp(w, "VALUES")) {
            accept(P, "IS");
            accept(P, "ARE");
            free(f->value.text);
            if (parse_value(P, &f->value) < 0)
                return -1;
        } else if (!strcmp(w, "SIGN") || !strcmp(w, "LEADING") ||
                   !strcmp(w, "TRAILING")) {
            const struct cpy_tok *s = tk;
            if (!strcmp(w, "SIGN")) {
                accept(P, "IS");
                s = next(P);
            }
            bool lead;
            if (is_w(s, "LEADING"))
                lead = true;
            else if (is_w(s, "TRAILING"))
                lead = false;
            else {
                perr(P, s, "SIGN expected LEADING or TRAILING");
                return -1;
            }
            bool sep = accept(P, "SEPARATE");
            if (sep)
                accept(P, "CHARACTER");
            f->pic.sign = lead ? (sep ? COB_SIGN_LEADING_SEP : COB_SIGN_LEADING)
                               : (sep ? COB_SIGN_TRAILING_SEP
                                      : COB_SIGN_TRAILING);
            f->sign_set = true;
        } else if (!strcmp(w, "JUST") || !strcmp(w, "JUSTIFIED")) {
            accept(P, "RIGHT");
            f->pic.justified = true;
        } else if (!strcmp(w, "SYNC") || !strcmp(w, "SYNCHRONIZED")) {
            if (!accept(P, "LEFT"))
                accept(P, "RIGHT");
            f->sync = true;
        } else if (!strcmp(w, "BLANK")) {
            accept(P, "WHEN");
            if (!accept(P, "ZERO") && !accept(P, "ZEROS") &&
                !accept(P, "ZEROES")) {
                perr(P, peek(P), "BLANK WHEN expected ZERO");
                return -1;
            }
            f->pic.blank_zero = true;
        } else if (!strcmp(w, "EXTERNAL") || !strcmp(w, "GLOBAL")) {
            /* storage attributes: no effect on the layout */
        } else if (!strcmp(w, "RENAMES")) {
            const struct cpy_tok *a = next(P);
            if (f->level != 66 || a->k != TK_WORD) {
                perr(P, tk, "RENAMES belongs on a level 66 entry");
                return -1;
            }
            free(f->renames);
            free(f->renames_thru);
            f->renames_thru = NULL;
            f->renames = xstrdup(P, a->s);
            if (accept(P, "THRU") || accept(P, "THROUGH")) {
                const struct cpy_tok *b = next(P);
                if (b->k != TK_WORD) {
                    perr(P, b, "RENAMES ... THRU expected a data name");
                    return -1;
                }
                f->renames_thru = xstrdup(P, b->s);
            }
        } else if (!strcmp(w, "COPY")) {
            perr(P, tk, "COPY inside a copybook is not supported");
            return -1;
        } else {
            perr(P, tk, "unexpected '%s'", w);
            return -1;
        }
    }
}

/* ---- tree building ------------------------------------------------------ */

static int flat_push(struct parser *P, struct cpy_record *r,
                     struct cpy_field *f)
{
    size_t n = r->nflat;
    if (n == 0 || (n & (n - 1)) == 0) {
        size_t cap = n ? n * 2 : 16;
        struct cpy_field **v = realloc(r->flat, cap * sizeof *v);
        if (!v) {
            P->errors++;
            return -1;
        }
        r->flat = v;
    }
    r->flat[r->nflat++] = f;
    return 0;
}

static int kid_push(struct parser *P, struct cpy_field *parent,
                    struct cpy_field *f)
{
    size_t n = parent->nkids;
    if (n == 0 || (n & (n - 1)) == 0) {
        size_t cap = n ? n * 2 : 4;
        struct cpy_field **v = realloc(parent->kids, cap * sizeof *v);
        if (!v) {
            P->errors++;
            return -1;
        }
        parent->kids = v;
    }
    parent->kids[parent->nkids++] = f;
    f->parent = parent;
    return 0;
}

static struct cpy_record *new_record(struct parser *P, struct cpy_field *root)
{
    struct copybook *cb = P->cb;
    struct cpy_record *v = realloc(cb->rec, (cb->nrec + 1) * sizeof *v);
    if (!v) {
        P->errors++;
        return NULL;
    }
    cb->rec = v;
    struct cpy_record *r = &cb->rec[cb->nrec++];
    memset(r, 0, sizeof *r);
    r->root = root;
    r->name = xstrdup(P, root->name);
    if (flat_push(P, r, root) < 0)
        return NULL;
    P->cur = r;
    P->stack[0] = root;
    P->depth = 1;
    return r;
}

/* implicit_root - a copybook that starts below 01 gets a record named
 * after the file (FOO.cpy -> FOO), as if "01 FOO." were written. */
static struct cpy_field *implicit_root(struct parser *P, int line)
{
    struct cpy_field *f = calloc(1, sizeof *f);
    if (!f) {
        P->errors++;
        return NULL;
    }
    const char *base = strrchr(P->name, '/');
    base = base ? base + 1 : P->name;
    size_t n = strcspn(base, ".");
    if (n == 0 || n > 30) {
        base = "RECORD";
        n = 6;
    }
    f->name = strndup(base, n);
    if (!f->name) {
        free(f);
        P->errors++;
        return NULL;
    }
    for (char *c = f->name; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    f->level = 1;
    f->line = line;
    f->col = 1;
    return f;
}

/* place - put a parsed entry into the current record's tree */
static void place(struct parser *P, struct cpy_field *f,
                  const struct cpy_tok *lvl)
{
    if (f->level == 1 || f->level == 77) {
        if (!new_record(P, f))
            cpy_field_destroy(f);
        else
            P->last = f;
        return;
    }
    if (!P->cur) {
        struct cpy_field *root = implicit_root(P, f->line);
        if (!root || !new_record(P, root)) {
            cpy_field_destroy(root);
            cpy_field_destroy(f);
            return;
        }
    }
    if (flat_push(P, P->cur, f) < 0) {
        cpy_field_destroy(f);
        return;
    }
    P->last = f;
    if (f->level == 66)
        return;                         /* resolved in finish_record */
    while (P->depth > 1 && P->stack[P->depth - 1]->level >= f->level)
        P->depth--;
    struct cpy_field *parent = P->stack[P->depth - 1];
    if (parent->level == 77) {
        perr(P, lvl, "level 77 item %s cannot have subordinate items",
             parent->name);
        return;
    }
    if (parent->pic_text) {
        perr(P, lvl, "%s has a PIC, so it cannot have subordinate items",
             parent->name);
        return;
    }
    kid_push(P, parent, f);
    if (P->depth < (int)(sizeof P->stack / sizeof P->stack[0]))
        P->stack[P->depth++] = f;
}

/* ---- finishing a record ------------------------------------------------- */

static void root_err(struct parser *P, const struct cpy_field *f,
                     const char *msg)
{
    cpy_err(P->e, TK_NAME(P, f), f->line, f->col, "%s %s", f->name, msg);
    P->errors++;
}

static void finish_record(struct parser *P)
{
    struct cpy_record *r = P->cur;
    if (!r)
        return;
    P->cur = NULL;
    P->last = NULL;
    struct cpy_field *root = r->root;
    if (root->occurs_max)
        root_err(P, root, root->level == 1 ? "OCCURS is not allowed on "
                 "level 01" : "OCCURS is not allowed on level 77");
    if (root->redefines) {
        free(root->redefines);     /* 01 REDEFINES: separate layouts */
        root->redefines = NULL;
    }
    P->errors += cpy_layout_record(r, P->name, P->e);
}

/* parse_entry - one data description entry */
static void parse_entry(struct parser *P)
{
    const struct cpy_tok *lvl = next(P);
    if (lvl->k != TK_WORD || !all_digits(lvl->s) || strlen(lvl->s) > 2) {
        perr(P, lvl, "expected a level number, found '%s'", lvl->s);
        skip_entry(P);
        return;
    }
    int level = (int)strtol(lvl->s, NULL, 10);
    if (!((level >= 1 && level <= 49) || level == 66 || level == 77 ||
          level == 88)) {
        perr(P, lvl, "level number %s is not 01-49, 66, 77 or 88", lvl->s);
        skip_entry(P);
        return;
    }
    if (level == 88) {
        parse_88(P, lvl);
        return;
    }
    if ((level == 1 || level == 77) && P->cur)
        finish_record(P);
    struct cpy_field *f = calloc(1, sizeof *f);
    if (!f) {
        P->errors++;
        skip_entry(P);
        return;
    }
    f->level = level;
    f->line = lvl->line;
    f->col = lvl->col;
    f->src = lvl->src;
    const struct cpy_tok *nm = peek(P);
    if (nm->k == TK_WORD && !is_keyword(nm->s) && !all_digits(nm->s)) {
        next(P);
        f->name = xstrdup(P, nm->s);
        f->filler = !strcmp(nm->s, "FILLER");
        f->line = nm->line;
        f->col = nm->col;
    } else {
        f->name = xstrdup(P, "FILLER");
        f->filler = true;
    }
    if (!f->name) {
        cpy_field_destroy(f);
        skip_entry(P);
        return;
    }
    if ((level == 1 || level == 66 || level == 77) && f->filler)
        perr(P, lvl, "level %02d needs a name", level);
    if (parse_clauses(P, f) < 0)
        skip_entry(P);
    place(P, f, lvl);
}

/* where_pos - line and column from "name:line:col" */
static void where_pos(const char *w, long *line, long *col)
{
    const char *c2 = strrchr(w, ':');
    *line = *col = 0;
    if (!c2)
        return;
    const char *c1 = c2;
    while (c1 > w && c1[-1] != ':')
        c1--;
    if (c1 > w) {
        *line = strtol(c1, NULL, 10);
        *col = strtol(c2 + 1, NULL, 10);
    }
}

static int by_position(const void *a, const void *b)
{
    long la, ca, lb, cb;
    where_pos(((const struct err_item *)a)->where, &la, &ca);
    where_pos(((const struct err_item *)b)->where, &lb, &cb);
    if (la != lb)
        return la < lb ? -1 : 1;
    return ca < cb ? -1 : ca > cb;
}

/* cpy_parse - see copybook.h */
/* parse - the one parse; path (the copybook's file) lets COPY find its
 * members, NULL refuses COPY */
static struct copybook *parse(const char *text, size_t len, const char *name,
                              const char *path, enum cpy_format fmt,
                              struct errs *e)
{
    struct cpy_toks toks;
    memset(&toks, 0, sizeof toks);
    struct copybook *cb = calloc(1, sizeof *cb);
    if (!cb) {
        errs_add(e, name, "out of memory");
        return NULL;
    }
    cb->name = strdup(name ? name : "");
    struct parser P = { .name = name ? name : "", .t = &toks, .e = e,
                        .cb = cb };
    size_t first_err = e->n;
    if (!cb->name)
        P.errors++;
    if (cpy_lex(text, len, P.name, fmt, &toks, e) < 0)
        P.errors++;
    cb->free_format = toks.free_format;
    P.errors += cpy_copy_expand(&toks, path, P.name, fmt, cb, e);
    while (toks.n && peek(&P)->k != TK_EOF) {
        size_t before = P.i;
        parse_entry(&P);
        if (P.i == before)
            next(&P);
    }
    finish_record(&P);
    if (!P.errors && cb->nrec == 0) {
        cpy_err(e, P.name, 1, 1, "no data description entries found");
        P.errors++;
    }
    cpy_toks_free(&toks);
    if (P.errors) {
        /* in source order, as a compiler lists them (qsort is not
         * stable, but two problems never share a line and column) */
        if (e->n > first_err + 1)
            qsort(e->v + first_err, e->n - first_err, sizeof *e->v,
                  by_position);
        if (e->n == 0)
            errs_add(e, P.name, "out of memory");
        cpy_free(cb);
        return NULL;
    }
    return cb;
}

/* cpy_load - see copybook.h */
struct copybook *cpy_load(const char *path, enum cpy_format fmt,
                          struct errs *e)
{
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, 4u * 1024 * 1024, &text, &len, e) < 0)
        return NULL;
    struct copybook *cb = parse(text, len, path, path, fmt, e);
    free(text);
    return cb;
}

/* cpy_parse - see copybook.h */
struct copybook *cpy_parse(const char *text, size_t len, const char *name,
                           enum cpy_format fmt, struct errs *e)
{
    return parse(text, len, name, NULL, fmt, e);
}
