/* cobol.h - field encoders and decoders for COBOL record layouts.
 *
 * Every conversion is exact: numbers travel as a scaled integer (value
 * 123456 at scale 2 is 1234.56), never a double: int64 for the usual 18
 * digits, dec128 (util/dec128.h) for the 31 of IBM's ARITH(EXTEND).  A field's shape is a
 * struct cob_pic (filled by the copybook parser, or by hand in tests).
 *
 * Text goes through a struct cob_codec, which holds the code page tables.
 * The tables are built once with iconv (glibc names "IBM285", "IBM037",
 * "IBM1146", "IBM1140"), so the hot path is a table look-up and never
 * calls iconv.  A character the code page cannot hold is an error unless
 * the caller asks for folding (é -> e, ŵ -> w).
 *
 * Functions return 0 on success or -1 with a message in msg (which names
 * the character, or the byte offset inside the field, never the field:
 * the caller knows the field's name and offset and prefixes them). */
#ifndef FERRY_MAPPINGS_COBOL_H
#define FERRY_MAPPINGS_COBOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/dec128.h"

enum cob_class { COB_GROUP = 0, COB_ALNUM, COB_ALPHA, COB_NUMERIC };
enum cob_usage { COB_DISPLAY = 0, COB_COMP3, COB_BINARY, COB_COMP5 };
/* Where the sign of a signed DISPLAY number lives.  TRAILING (overpunched
 * on the last digit) is COBOL's default. */
enum cob_sign {
    COB_SIGN_TRAILING = 0, COB_SIGN_LEADING,
    COB_SIGN_TRAILING_SEP, COB_SIGN_LEADING_SEP
};
/* How an overpunched sign looks in ASCII.  IBM: the EBCDIC zones read as
 * text, {ABCDEFGHI for +0..+9 and }JKLMNOPQR for -0..-9 (what GnuCOBOL
 * writes with -fsign=EBCDIC and what a mainframe file converted to ASCII
 * holds).  GNU: digits unchanged when positive, 0x70|digit ("pqrstuvwxy")
 * when negative (GnuCOBOL's and Micro Focus's default on ASCII machines).
 * In EBCDIC the zone is always C (+), D (-) or F (unsigned). */
enum cob_overpunch { COB_OP_IBM = 0, COB_OP_GNU };
enum cob_codepage {
    COB_CP_ASCII = 0, COB_CP_IBM285, COB_CP_IBM037, COB_CP_IBM1146,
    COB_CP_IBM1140
};

/* Digits of a DISPLAY, packed or numeric-edited number (ARITH(EXTEND));
 * binary items stop at 18, as on IBM Enterprise COBOL. */
#define COB_MAX_DIGITS 31
#define COB_MAX_BINARY_DIGITS 18

struct cob_pic {
    enum cob_class cls;
    enum cob_usage usage;
    int digits;        /* numeric: digit positions stored (the 9s) */
    int scale;         /* digits right of the point; < 0 for trailing P */
    bool is_signed;
    enum cob_sign sign;
    bool justified;    /* JUSTIFIED RIGHT (text only) */
    bool blank_zero;   /* BLANK WHEN ZERO (DISPLAY numerics only) */
    size_t length;     /* bytes of one occurrence */
    const char *edit;  /* numeric-edited: the mask (cob_edit_analyze), owned
                          by whoever filled the pic; NULL otherwise */
};

/* cob_pic_size - bytes a numeric or text pic occupies (length unset) */
size_t cob_pic_size(const struct cob_pic *p);

struct cob_codec;

/* cob_codec_new - tables for a code page; NULL with msg on failure */
struct cob_codec *cob_codec_new(enum cob_codepage cp, enum cob_overpunch op,
                                char *msg, size_t msgsz);
void cob_codec_free(struct cob_codec *c);
bool cob_codec_ebcdic(const struct cob_codec *c);
enum cob_codepage cob_codec_page(const struct cob_codec *c);
/* cob_codec_key - equal for two codecs exactly when they write the same
 * bytes (code page and overpunch): what a cache of encoded bytes is
 * keyed by */
int cob_codec_key(const struct cob_codec *c);
/* cob_codepage_parse - "ascii", "IBM-285", "ibm285", "cp037", "1140"... */
int cob_codepage_parse(const char *s, enum cob_codepage *out);
const char *cob_codepage_name(enum cob_codepage cp);   /* "IBM-285" */
int cob_overpunch_parse(const char *s, enum cob_overpunch *out);

/* Flags for cob_text_encode (in) and what happened (out). */
enum { COB_TX_TRUNCATE = 1, COB_TX_FOLD = 2 };
enum { COB_TX_TRUNCATED = 1, COB_TX_FOLDED = 2 };

/* cob_text_encode - UTF-8 text into a PIC X/A field of p->length bytes:
 * left-justified and space padded (right-justified when p->justified).
 * Control characters are refused.  *what (may be NULL) gets
 * COB_TX_TRUNCATED / COB_TX_FOLDED bits. */
int cob_text_encode(const struct cob_codec *c, const struct cob_pic *p,
                    const char *utf8, size_t n, unsigned flags,
                    unsigned char *out, unsigned *what,
                    char *msg, size_t msgsz);
/* cob_text_decode - field bytes to UTF-8 in out (outsz >= 4*length+1),
 * padding spaces removed.  Bytes that decode to control characters are
 * an error naming their offset. */
int cob_text_decode(const struct cob_codec *c, const struct cob_pic *p,
                    const unsigned char *in, char *out, size_t outsz,
                    char *msg, size_t msgsz);

/* cob_text_encode_var - UTF-8 text into as many code page bytes as it
 * takes (no padding, no justification: a delimited file's cell), at most
 * outsz; *outn bytes written.  The same refusals as cob_text_encode
 * (control characters, characters the page cannot hold unless folded). */
int cob_text_encode_var(const struct cob_codec *c, const char *utf8, size_t n,
                        unsigned flags, unsigned char *out, size_t outsz,
                        size_t *outn, unsigned *what, char *msg, size_t msgsz);
/* cob_text_decode_var - n code page bytes to UTF-8 in out (outsz >=
 * 4*n+1), nothing trimmed; a control character is an error */
int cob_text_decode_var(const struct cob_codec *c, const unsigned char *in,
                        size_t n, char *out, size_t outsz, char *msg,
                        size_t msgsz);
/* cob_codec_byte - the page's byte for code point cp (control characters
 * too: a line end, a tab), or -1 */
int cob_codec_byte(const struct cob_codec *c, uint32_t cp);

/* cob_num_encode - value (scaled by vscale places) into a numeric field.
 * A value with fewer places than the pic is scaled up exactly; more
 * places, too many digits, or a negative value for an unsigned pic is
 * an error: never rounded, never truncated.  A numeric-edited pic is
 * edited as a COBOL MOVE does (zero suppression, insertion, floating
 * and fixed signs and currency, BLANK WHEN ZERO). */
int cob_num_encode(const struct cob_codec *c, const struct cob_pic *p,
                   int64_t v, int vscale, unsigned char *out,
                   char *msg, size_t msgsz);
int cob_num_encode_wide(const struct cob_codec *c, const struct cob_pic *p,
                        dec128 v, int vscale, unsigned char *out,
                        char *msg, size_t msgsz);
/* cob_num_decode - field bytes to a value at *vscale = max(p->scale, 0).
 * A bad sign nibble, a non-digit, or a binary value wider than the pic
 * is an error naming the byte offset inside the field.  A numeric-edited
 * field is de-edited.  The int64 form refuses a value beyond int64 (more
 * than 18 digits); the wide form takes every pic. */
int cob_num_decode(const struct cob_codec *c, const struct cob_pic *p,
                   const unsigned char *in, int64_t *v, int *vscale,
                   char *msg, size_t msgsz);
int cob_num_decode_wide(const struct cob_codec *c, const struct cob_pic *p,
                        const unsigned char *in, dec128 *v, int *vscale,
                        char *msg, size_t msgsz);

/* ---- numeric-edited pictures (cobol_edit.c) ----------------------------
 * A mask is the picture with repeats expanded, one symbol a character:
 * 9 Z * B 0 / , . V + - $, 'L' for the pound sign, "cr" for CR and "db"
 * for DB. */

/* cob_edit_analyze - check a mask and say what it holds: digit positions,
 * places after the point, whether it has a sign symbol, bytes.  0, or -1
 * with msg. */
int cob_edit_analyze(const char *mask, int *digits, int *scale,
                     bool *is_signed, size_t *length, char *msg,
                     size_t msgsz);
/* cob_edit_format - digits d[0..ndig) (0..9, most significant first)
 * edited into out[] as code points, one per byte of the field */
void cob_edit_format(const char *mask, const unsigned char *d, int ndig,
                     bool neg, bool blank_zero, uint32_t *out);
/* cob_edit_parse - the field's code points back to digits and sign
 * (spaces or stars in suppressed positions read as zero).  0, or -1 with
 * msg naming the offset. */
int cob_edit_parse(const char *mask, const uint32_t *in, unsigned char *d,
                   int ndig, bool *neg, char *msg, size_t msgsz);

/* cob_fill_default - COBOL's "initialised" bytes: spaces for text, zero
 * in the field's own usage for numerics. */
void cob_fill_default(const struct cob_codec *c, const struct cob_pic *p,
                      unsigned char *out);
/* cob_fill_spaces - n spaces in the code page */
void cob_fill_spaces(const struct cob_codec *c, unsigned char *out, size_t n);

/* cob_fail - the message into msg (when msgsz); returns -1, so that an
 * error is one statement: return cob_fail(msg, msgsz, "...", ...) */
int cob_fail(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cob_fold_ascii - plain ASCII spelling of a code point ("e" for é,
 * "w" for ŵ, "ss" for ß), or NULL when there is none. */
const char *cob_fold_ascii(uint32_t cp);

#endif
