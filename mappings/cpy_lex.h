/* cpy_lex.h - private to the copybook parser (cpy_lex.c, cpy_parse.c,
 * cpy_layout.c, copybook.c): source lines to tokens, and the glue.
 *
 * Knows the reference formats (fixed: sequence area, indicator column,
 * area A/B to column 72; free) and COBOL's lexical rules: words are
 * upper-cased, literals keep their text (continuation lines joined), a
 * period followed by a space or the end of a line is a separator. */
#ifndef FERRY_MAPPINGS_CPY_LEX_H
#define FERRY_MAPPINGS_CPY_LEX_H
#include <stdbool.h>
#include <stddef.h>

#include "mappings/copybook.h"

struct errs;

enum cpy_tk { TK_WORD = 0, TK_LIT, TK_HEX, TK_PERIOD, TK_EOF };

struct cpy_tok {
    enum cpy_tk k;
    char *s;          /* NUL-terminated; upper case for words */
    size_t n;         /* bytes in s (literals may hold NUL from hex) */
    int line, col;
    const char *src;  /* file of a COPY member (copybook-owned); NULL for
                         the copybook itself */
};

struct cpy_toks {
    struct cpy_tok *v;
    size_t n, cap;
    bool free_format;
};

/* cpy_lex - tokenise; always ends with TK_EOF.  0 ok, -1 on errors (all
 * in e, tokens still usable). */
int cpy_lex(const char *text, size_t len, const char *name,
            enum cpy_format fmt, struct cpy_toks *out, struct errs *e);
void cpy_toks_free(struct cpy_toks *t);
/* cpy_tok_push - append a token (text copied, src NULL); NULL when t is
 * full (a copybook is never 2,000,000 tokens) or out of memory */
struct cpy_tok *cpy_tok_push(struct cpy_toks *t, enum cpy_tk k, const char *s,
                             size_t n, int line, int col);

/* cpy_copy_expand - replace every COPY statement in t by its member's
 * tokens, REPLACING applied, then apply and drop every REPLACE statement
 * (cpy_copy.c).  path is the copybook's file (members come from its
 * folder, or a library: a subfolder of it), NULL when parsed from memory
 * (then COPY is an error).  Member names are kept in cb.  Returns the number
 * of problems added to e. */
int cpy_copy_expand(struct cpy_toks *t, const char *path, const char *name,
                    enum cpy_format fmt, struct copybook *cb,
                    struct errs *e);

/* cpy_layout_record - offsets, lengths and cross-references of one parsed
 * record (cpy_layout.c); returns the number of problems added to e. */
int cpy_layout_record(struct cpy_record *r, const char *name,
                      struct errs *e);
/* cpy_field_destroy - free one field (copybook.c) */
void cpy_field_destroy(struct cpy_field *f);

/* cpy_err - add "name:line:col" + message to e */
void cpy_err(struct errs *e, const char *name, int line, int col,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
