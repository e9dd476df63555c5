/* cpy_copy.c - COPY and REPLACE statements inside a copybook: the member
 * is found in the copybook's own folder (or a library, a subfolder of
 * it), lexed, changed by REPLACING, and its tokens take the place of the
 * statement; then each REPLACE statement changes the text after it, as
 * GnuCOBOL does; all before the parser sees any of them.
 *
 *   COPY member [OF|IN library] [REPLACING {==text== | word | literal}
 *                BY {==text== | word | literal} ... |
 *                LEADING|TRAILING ==x== BY ==y==].
 *   REPLACE ==text== BY ==text== ... .   ...   REPLACE OFF.
 *
 * Contract: a member name is a COBOL word or a literal naming a file in
 * the folder (tried as given, then with .cpy .CPY .cbl .CBL .cob .COB);
 * a word is also tried in lower case.  It may not hold a '/', start with
 * '.', or resolve (symbolic links followed) outside the folder; a
 * library is a folder name under the same rules (tried as given, then in
 * lower case), its members confined to the copybook folder too.  At most
 * CPY_COPY_DEPTH files are open at once (the copybook included); a
 * member that copies itself, directly or further down, is an error, as
 * is COPY with no folder (text parsed from memory).  Every problem names
 * the file, line and column of the COPY statement. */
#include "mappings/cpy_lex.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/errs.h"
#include "util/fsutil.h"

#define CPY_COPY_DEPTH 8
#define MAX_MEMBER (4u * 1024 * 1024)
#define MAX_REPL 64

enum repl_kind { R_FULL = 0, R_LEADING, R_TRAILING, R_PARTIAL };

/* One REPLACING pair; each side a sequence of tokens (pseudo-text may be
 * empty). */
struct repl {
    enum repl_kind kind;   /* R_PARTIAL: ==:TAG:== inside words */
    struct cpy_toks from, to;
};

struct ctx {
    const char *dir;       /* the folder, resolved */
    enum cpy_format fmt;
    struct copybook *cb;   /* owns the member names (cb->sources) */
    struct errs *e;
    int errors;
    const char *stack[CPY_COPY_DEPTH + 1];   /* members being copied */
    int depth;
};

static const char *tk_src(const struct cpy_tok *tk, const char *top)
{
    return tk->src ? tk->src : top;
}

/* out_push - tk (its kind, place and file) with text s[0..n) at the end
 * of o; -1 when o is full or out of memory */
static int out_push(struct cpy_toks *o, const struct cpy_tok *tk,
                    const char *s, size_t n)
{
    struct cpy_tok *c = cpy_tok_push(o, tk->k, s, n, tk->line, tk->col);
    if (!c)
        return -1;
    c->src = tk->src;
    return 0;
}

static bool starts(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && !memcmp(s, p, k);
}

static bool ends(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && !memcmp(s + n - k, p, k);
}

/* operand - ==pseudo-text==, a word or a literal at t->v[*i]; -1 when
 * the statement ends first */
static int operand(const struct cpy_toks *t, size_t *i, struct cpy_toks *out)
{
    const struct cpy_tok *tk = &t->v[*i];
    if (tk->k == TK_EOF || tk->k == TK_PERIOD)
        return -1;
    if (tk->k != TK_WORD || !starts(tk->s, tk->n, "==")) {
        (*i)++;
        return out_push(out, tk, tk->s, tk->n);
    }
    /* pseudo-text: from after the opening == to before the closing one */
    const char *s = tk->s + 2;
    size_t n = tk->n - 2;
    for (;;) {
        bool closing = tk->k == TK_WORD && ends(s, n, "==");
        size_t keep = closing ? n - 2 : n;
        if (keep && out_push(out, tk, s, keep) < 0)
            return -1;
        (*i)++;
        if (closing)
            return 0;
        tk = &t->v[*i];
        if (tk->k == TK_EOF || tk->k == TK_PERIOD)
            return -1;
        s = tk->s;
        n = tk->n;
    }
}

static bool tok_eq(const struct cpy_tok *a, const struct cpy_tok *b)
{
    return a->k == b->k && a->n == b->n && !memcmp(a->s, b->s, a->n);
}

/* plain_name - a member or library name may be looked up: not empty, no
 * '/', not starting with '.', at most 200 bytes */
static bool plain_name(const char *s)
{
    return *s && s[0] != '.' && !strchr(s, '/') && strlen(s) <= 200;
}

/* member_path - resolve name (in the library lib, a subfolder, when lib
 * is not NULL) in the folder; 0 and out, or -1 with why */
static int member_path(const struct ctx *C, const char *name, const char *lib,
                       char *out, size_t outsz, const char **why)
{
    static const char *const ext[] = { "", ".cpy", ".CPY", ".cbl", ".CBL",
                                       ".cob", ".COB" };
    if (!plain_name(name) || (lib && !plain_name(lib))) {
        *why = lib && plain_name(name)
            ? "the library is not a folder name in the copybook folder"
            : "is not a file name in the copybook folder";
        return -1;
    }
    /* a word was upper-cased by the lexer: try it in lower case too */
    char lower[201], llower[201];
    size_t ln = strlen(name), lln = lib ? strlen(lib) : 0;
    for (size_t k = 0; k <= ln; k++)
        lower[k] = (char)tolower((unsigned char)name[k]);
    for (size_t k = 0; lib && k <= lln; k++)
        llower[k] = (char)tolower((unsigned char)lib[k]);
    for (size_t l = 0; l < (lib ? 2u : 1u); l++) {
        const char *ld = !lib ? "" : l ? llower : lib;
        if (l && !strcmp(llower, lib))
            continue;
        for (size_t k = 0; k < 2 * (sizeof ext / sizeof ext[0]); k++) {
            char cand[PATH_MAX], real[PATH_MAX];
            const char *nm = k % 2 ? lower : name;
            if ((k % 2 && !strcmp(lower, name)) ||
                snprintf(cand, sizeof cand, "%s/%s%s%s%s", C->dir, ld,
                         lib ? "/" : "", nm, ext[k / 2]) >= (int)sizeof cand)
                continue;
            if (!realpath(cand, real))
                continue;
            size_t dl = strlen(C->dir);
            if (strncmp(real, C->dir, dl) != 0 || real[dl] != '/') {
                *why = "resolves outside the copybook folder";
                return -1;
            }
            if (strlen(real) >= outsz)
                continue;
            memcpy(out, real, strlen(real) + 1);
            return 0;
        }
    }
    *why = lib ? "not found in that library (a folder of the copybook "
                 "folder)" : "not found in the copybook folder";
    return -1;
}

/* add_source - a member's display name, owned by the copybook */
static const char *add_source(struct ctx *C, const char *name)
{
    struct copybook *cb = C->cb;
    char **v = realloc(cb->sources, (cb->nsources + 1) * sizeof *v);
    if (!v)
        return NULL;
    cb->sources = v;
    char *s = strdup(name);
    if (!s)
        return NULL;
    cb->sources[cb->nsources++] = s;
    return s;
}

static void cerr(struct ctx *C, const struct cpy_tok *at, const char *top,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void cerr(struct ctx *C, const struct cpy_tok *at, const char *top,
                 const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cpy_err(C->e, tk_src(at, top), at->line, at->col, "%s", msg);
    C->errors++;
}

/* word_replace - LEADING, TRAILING or :TAG: replacing inside one word */
static int word_replace(const struct repl *r, const struct cpy_tok *tk,
                        struct cpy_toks *o, bool *done)
{
    *done = false;
    if (tk->k != TK_WORD || r->from.n != 1)
        return 0;
    const char *f = r->from.v[0].s, *to = r->to.n ? r->to.v[0].s : "";
    size_t fl = r->from.v[0].n, tl = strlen(to);
    if (r->kind == R_LEADING && starts(tk->s, tk->n, f) && tk->n > fl) {
        char b[512];
        if (tl + tk->n - fl >= sizeof b)
            return -1;
        memcpy(b, to, tl);
        memcpy(b + tl, tk->s + fl, tk->n - fl);
        *done = true;
        return out_push(o, tk, b, tl + tk->n - fl);
    }
    if (r->kind == R_TRAILING && ends(tk->s, tk->n, f) && tk->n > fl) {
        char b[512];
        if (tk->n - fl + tl >= sizeof b)
            return -1;
        memcpy(b, tk->s, tk->n - fl);
        memcpy(b + tk->n - fl, to, tl);
        *done = true;
        return out_push(o, tk, b, tk->n - fl + tl);
    }
    if (r->kind == R_PARTIAL && strstr(tk->s, f)) {
        char b[512];
        size_t n = 0;
        for (const char *p = tk->s; *p;) {
            const char *q = strstr(p, f);
            size_t lit = q ? (size_t)(q - p) : strlen(p);
            if (n + lit + tl >= sizeof b)
                return -1;
            memcpy(b + n, p, lit);
            n += lit;
            if (!q)
                break;
            memcpy(b + n, to, tl);
            n += tl;
            p = q + fl;
        }
        *done = true;
        return n ? out_push(o, tk, b, n) : 0;
    }
    return 0;
}

/* apply - member tokens (EOF dropped) through the REPLACING list into o */
static int apply(const struct cpy_toks *m, const struct repl *r, size_t nr,
                 struct cpy_toks *o)
{
    size_t end = m->n && m->v[m->n - 1].k == TK_EOF ? m->n - 1 : m->n;
    for (size_t i = 0; i < end;) {
        bool hit = false;
        for (size_t k = 0; k < nr && !hit; k++) {
            if (r[k].kind != R_FULL) {
                if (word_replace(&r[k], &m->v[i], o, &hit) < 0)
                    return -1;
                if (hit)
                    i++;
                continue;
            }
            size_t fl = r[k].from.n;
            if (!fl || i + fl > end)
                continue;
            size_t j = 0;
            while (j < fl && tok_eq(&m->v[i + j], &r[k].from.v[j]))
                j++;
            if (j < fl)
                continue;
            for (size_t t = 0; t < r[k].to.n; t++) {
                struct cpy_tok at = r[k].to.v[t];
                at.line = m->v[i].line;
                at.col = m->v[i].col;
                at.src = m->v[i].src;
                if (out_push(o, &at, at.s, at.n) < 0)
                    return -1;
            }
            i += fl;
            hit = true;
        }
        if (!hit) {
            if (out_push(o, &m->v[i], m->v[i].s, m->v[i].n) < 0)
                return -1;
            i++;
        }
    }
    return 0;
}

/* free_repls - the operands of r[0..n) */
static void free_repls(struct repl *r, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        cpy_toks_free(&r[k].from);
        cpy_toks_free(&r[k].to);
    }
    memset(r, 0, n * sizeof *r);
}

/* repl_list - "operand BY operand ..." up to the statement's period into
 * r[*nr..] (what: REPLACING or REPLACE, for messages); false with the
 * problem said */
static bool repl_list(struct ctx *C, const struct cpy_toks *t, size_t *i,
                      const struct cpy_tok *at, const char *top,
                      const char *what, struct repl *r, size_t *nr)
{
    while (t->v[*i].k != TK_PERIOD && t->v[*i].k != TK_EOF) {
        if (*nr == MAX_REPL) {
            cerr(C, at, top, "more than %d %s operands", MAX_REPL, what);
            return false;
        }
        struct repl *x = &r[(*nr)++];
        const struct cpy_tok *w = &t->v[*i];
        if (w->k == TK_WORD && (!strcmp(w->s, "LEADING") ||
                                !strcmp(w->s, "TRAILING"))) {
            x->kind = w->s[0] == 'L' ? R_LEADING : R_TRAILING;
            (*i)++;
        }
        if (operand(t, i, &x->from) < 0 ||
            !(t->v[*i].k == TK_WORD && !strcmp(t->v[*i].s, "BY"))) {
            cerr(C, at, top, "%s expects 'operand BY operand'", what);
            return false;
        }
        (*i)++;
        if (operand(t, i, &x->to) < 0) {
            cerr(C, at, top, "%s: nothing after BY", what);
            return false;
        }
        if (x->kind == R_FULL && x->from.n == 1 &&
            x->from.v[0].k == TK_WORD && x->from.v[0].n > 2 &&
            x->from.v[0].s[0] == ':' &&
            x->from.v[0].s[x->from.v[0].n - 1] == ':')
            x->kind = R_PARTIAL;          /* ==:TAG:== inside words */
        if (x->kind != R_FULL && (x->from.n != 1 || x->to.n > 1)) {
            cerr(C, at, top, "LEADING/TRAILING and :TAG: replacing take "
                 "one word each side");
            return false;
        }
        if (x->from.n == 0) {
            cerr(C, at, top, "%s: empty text before BY", what);
            return false;
        }
    }
    return true;
}

static int expand(struct ctx *C, struct cpy_toks *t, const char *top);

/* copy_stmt - one COPY statement at t->v[*i] into o */
static void copy_stmt(struct ctx *C, const struct cpy_toks *t, size_t *i,
                      const char *top, struct cpy_toks *o)
{
    const struct cpy_tok *at = &t->v[*i];
    (*i)++;
    const struct cpy_tok *nm = &t->v[*i];
    struct repl r[MAX_REPL];
    size_t nr = 0;
    memset(r, 0, sizeof r);
    bool bad = false;
    if (nm->k != TK_WORD && nm->k != TK_LIT) {
        cerr(C, at, top, "COPY needs a member name");
        bad = true;
    } else {
        (*i)++;
    }
    const struct cpy_tok *lib = NULL;
    if (!bad && (t->v[*i].k == TK_WORD && (!strcmp(t->v[*i].s, "OF") ||
                                           !strcmp(t->v[*i].s, "IN")))) {
        (*i)++;
        lib = &t->v[*i];
        if (lib->k != TK_WORD && lib->k != TK_LIT) {
            cerr(C, at, top, "COPY %s OF/IN needs a library name", nm->s);
            bad = true;
            lib = NULL;
        } else {
            (*i)++;
        }
    }
    if (!bad && t->v[*i].k == TK_WORD && !strcmp(t->v[*i].s, "REPLACING")) {
        (*i)++;
        bad = !repl_list(C, t, i, at, top, "REPLACING", r, &nr);
    }
    /* to the end of the statement */
    while (t->v[*i].k != TK_PERIOD && t->v[*i].k != TK_EOF) {
        if (!bad)
            cerr(C, &t->v[*i], top, "unexpected '%s' in COPY", t->v[*i].s);
        bad = true;
        (*i)++;
    }
    if (t->v[*i].k == TK_PERIOD)
        (*i)++;
    else if (!bad)
        cerr(C, at, top, "COPY statement needs its closing period");
    char path[PATH_MAX];
    const char *why = NULL;
    struct cpy_toks m;
    memset(&m, 0, sizeof m);
    if (bad)
        goto out;
    if (!C->dir) {
        cerr(C, at, top, "COPY %s: no copybook folder to find it in (the "
             "copybook was not read from a file)", nm->s);
        goto out;
    }
    if (member_path(C, nm->s, lib ? lib->s : NULL, path, sizeof path,
                    &why) < 0) {
        cerr(C, at, top, "COPY %s%s%s: %s", nm->s, lib ? " OF " : "",
             lib ? lib->s : "", why);
        goto out;
    }
    for (int d = 0; d < C->depth; d++) {
        if (!strcmp(C->stack[d], path)) {
            cerr(C, at, top, "COPY %s: copies itself (a cycle)", nm->s);
            goto out;
        }
    }
    if (C->depth >= CPY_COPY_DEPTH) {
        cerr(C, at, top, "COPY %s: nested deeper than %d", nm->s,
             CPY_COPY_DEPTH);
        goto out;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *src = add_source(C, base);
    char *text = NULL;
    size_t len = 0;
    if (!src || fs_read_file(path, MAX_MEMBER, &text, &len, C->e) < 0) {
        cerr(C, at, top, "COPY %s: cannot be read", nm->s);
        goto out;
    }
    if (cpy_lex(text, len, src, C->fmt, &m, C->e) < 0)
        C->errors++;
    free(text);
    for (size_t k = 0; k < m.n; k++)
        m.v[k].src = src;
    C->stack[C->depth++] = path;
    int rc = expand(C, &m, src);
    C->depth--;
    if (rc < 0 || apply(&m, r, nr, o) < 0)
        cerr(C, at, top, "COPY %s: too large or out of memory", nm->s);
out:
    cpy_toks_free(&m);
    free_repls(r, nr);
}

/* expand - replace every COPY statement in t; -1 only for memory */
static int expand(struct ctx *C, struct cpy_toks *t, const char *top)
{
    bool any = false;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].k == TK_WORD && !strcmp(t->v[i].s, "COPY"))
            any = true;
    if (!any)
        return 0;
    struct cpy_toks o;
    memset(&o, 0, sizeof o);
    o.free_format = t->free_format;
    for (size_t i = 0; i < t->n;) {
        if (t->v[i].k == TK_WORD && !strcmp(t->v[i].s, "COPY")) {
            copy_stmt(C, t, &i, top, &o);
            continue;
        }
        if (out_push(&o, &t->v[i], t->v[i].s, t->v[i].n) < 0) {
            cpy_toks_free(&o);
            return -1;
        }
        i++;
    }
    cpy_toks_free(t);
    *t = o;
    return 0;
}

/* replace_stmts - the REPLACE statements of the expanded text t (after
 * every COPY, as GnuCOBOL does them): "REPLACE operand BY operand ... ."
 * changes the text after it until the next REPLACE, which takes its
 * place, or "REPLACE OFF."; the statements themselves are dropped.  -1
 * only for memory. */
static int replace_stmts(struct ctx *C, struct cpy_toks *t, const char *top)
{
    bool any = false;
    for (size_t i = 0; i < t->n && !any; i++)
        any = t->v[i].k == TK_WORD && !strcmp(t->v[i].s, "REPLACE");
    if (!any)
        return 0;
    struct cpy_toks o;
    memset(&o, 0, sizeof o);
    o.free_format = t->free_format;
    struct repl r[MAX_REPL];
    size_t nr = 0;
    memset(r, 0, sizeof r);
    int rc = 0;
    for (size_t i = 0, seg = 0; rc == 0;) {
        bool end = i == t->n || t->v[i].k == TK_EOF;
        if (!end && !(t->v[i].k == TK_WORD && !strcmp(t->v[i].s, "REPLACE"))) {
            i++;
            continue;
        }
        /* the text since the last statement, under the REPLACE in force */
        struct cpy_toks seg_view = *t;
        seg_view.v = t->v + seg;
        seg_view.n = i - seg;
        if (apply(&seg_view, r, nr, &o) < 0) {
            rc = -1;
            break;
        }
        if (end) {
            for (; i < t->n && rc == 0; i++)
                rc = out_push(&o, &t->v[i], t->v[i].s, t->v[i].n);
            break;
        }
        const struct cpy_tok *at = &t->v[i++];
        free_repls(r, nr);
        nr = 0;
        bool bad = false;
        if (t->v[i].k == TK_WORD && !strcmp(t->v[i].s, "OFF")) {
            i++;
        } else if (!repl_list(C, t, &i, at, top, "REPLACE", r, &nr)) {
            bad = true;
        } else if (!nr) {
            cerr(C, at, top, "REPLACE needs '==text== BY ==text==' (or OFF)");
            bad = true;
        }
        if (bad) {
            free_repls(r, nr);
            nr = 0;
        }
        while (t->v[i].k != TK_PERIOD && t->v[i].k != TK_EOF) {
            if (!bad)
                cerr(C, &t->v[i], top, "unexpected '%s' in REPLACE",
                     t->v[i].s);
            bad = true;
            i++;
        }
        if (t->v[i].k == TK_PERIOD)
            i++;
        else if (!bad)
            cerr(C, at, top, "REPLACE statement needs its closing period");
        seg = i;
    }
    free_repls(r, nr);
    if (rc < 0) {
        cpy_toks_free(&o);
        return -1;
    }
    cpy_toks_free(t);
    *t = o;
    return 0;
}

/* cpy_copy_expand - see cpy_lex.h */
int cpy_copy_expand(struct cpy_toks *t, const char *path, const char *name,
                    enum cpy_format fmt, struct copybook *cb, struct errs *e)
{
    char real[PATH_MAX], dir[PATH_MAX];
    struct ctx C = { .fmt = fmt, .cb = cb, .e = e };
    if (path && realpath(path, real)) {
        memcpy(dir, real, strlen(real) + 1);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir)
            *slash = '\0';
        else if (slash)
            slash[1] = '\0';
        C.dir = dir;
        C.stack[C.depth++] = real;      /* the copybook itself */
    }
    if (expand(&C, t, name) < 0 || replace_stmts(&C, t, name) < 0) {
        errs_add(e, name, "out of memory expanding COPY");
        C.errors++;
    }
    return C.errors;
}
