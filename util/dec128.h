/* dec128.h - exact decimals wider than int64: 128-bit scaled integers.
 *
 * COBOL's ARITH(EXTEND) numbers run to 31 digits, past the 18 that a
 * scaled int64 holds.  A dec128 is such a number scaled by a count of
 * decimal places kept beside it (123456 at scale 2 is 1234.56), exactly
 * as the int64 ones are; nothing here ever uses floating point.  The
 * parser and the formatter are the one text form of a wide number. */
#ifndef FERRY_UTIL_DEC128_H
#define FERRY_UTIL_DEC128_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

__extension__ typedef __int128 dec128;
__extension__ typedef unsigned __int128 udec128;

/* The most digits a dec128 is used for (COBOL's 31, with room to scale
 * a value up by 7 places without overflow checks getting close). */
#define DEC128_MAX_DIGITS 38

/* dec128_parse - exact: [+-]digits[.digits], at least one digit, at
 * most DEC128_MAX_DIGITS of them once scaled to scale places.  More
 * places than scale is an error, never rounded.  0 ok, -1 bad. */
int dec128_parse(const char *s, size_t n, int scale, dec128 *out);
/* dec128_format - "-1234.50": scale places (0..38); out holds at least
 * DEC128_TEXT bytes. */
#define DEC128_TEXT 48
void dec128_format(dec128 v, int scale, char *out, size_t outsz);
/* dec128_pow10 - 10^k for k in 0..38 */
udec128 dec128_pow10(int k);
/* dec128_fits64 - v is within int64 */
bool dec128_fits64(dec128 v);

#endif
