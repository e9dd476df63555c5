/* cpy_lex.h - private to the copybook parser: source lines to tokens.
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

/* cpy_err - add "name:line:col" + message to e */
void cpy_err(struct errs *e, const char *name, int line, int col,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
