/* odbc.h - pure helpers of the ODBC adapter (adapters/odbc.c).
 *
 * Nothing here touches an ODBC handle: SQLSTATE classification, identifier
 * checks and quoting, exact decimal text and CHAR padding rules.  They are
 * exported (prefix odbc_) so the unit tests can pin them down. */
#ifndef FERRY_ADAPTERS_ODBC_H
#define FERRY_ADAPTERS_ODBC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/adapter.h"

/* odbc_classify - THE mapping of a driver error to a ferry outcome.
 * state is the 5-character SQLSTATE (may be NULL or ""), msg the driver's
 * text (used only for drivers that report everything as HY000, such as
 * SQLite's).  in_commit: the error came from SQLEndTran(SQL_COMMIT), so a
 * lost connection means the outcome is unknown (INDOUBT).  *conn_lost (may
 * be NULL) is set when the connection must be closed and reopened. */
enum adapter_outcome odbc_classify(const char *state, const char *msg,
                                   bool in_commit, bool *conn_lost);

/* odbc_is_duplicate - the error is a unique/primary-key violation */
bool odbc_is_duplicate(const char *state, const char *msg);

/* odbc_ident_valid - [A-Za-z_][A-Za-z0-9_$#.]*, no empty dotted part,
 * at most 128 bytes */
bool odbc_ident_valid(const char *s);

/* odbc_ident_quote - "a.b" -> "\"a\".\"b\"" into out; 0 ok, -1 invalid
 * identifier or out too small */
int odbc_ident_quote(const char *s, char *out, size_t outsz);

/* odbc_decimal_text - scaled decimal (value at scale) as text at col_scale
 * places ("123.40" for 12340 at 2 -> col_scale 2).  More places in the
 * value than the column has is an error unless the extra digits are zero
 * (never rounded).  More integer digits than precision - col_scale allow
 * is an error (precision <= 0: unchecked).  0 ok, -1 does not fit. */
int odbc_decimal_text(int64_t value, int scale, int precision, int col_scale,
                      char *out, size_t outsz);

/* odbc_utf8_chars - number of UTF-8 code points in s[0..len) */
size_t odbc_utf8_chars(const char *s, size_t len);

/* odbc_char_fit - fit text s to a column of col_chars characters.
 * fixed (CHAR): pad with spaces to exactly col_chars.  A value longer
 * than the column is accepted when only trailing spaces overflow (they are
 * trimmed); otherwise it is an error unless truncate (then cut at a code
 * point boundary, *truncated set).  col_chars 0 = unknown size (no check).
 * Writes NUL-terminated text to out; 0 ok, -1 too long, -2 out too small. */
int odbc_char_fit(const char *s, size_t col_chars, bool fixed, bool truncate,
                  char *out, size_t outsz, bool *truncated);

#endif
