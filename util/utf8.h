/* utf8.h - the one UTF-8 decoder, encoder and counter.
 *
 * Valid means RFC 3629: no overlong forms, no surrogates (U+D800..DFFF),
 * nothing past U+10FFFF, no sequence cut short.  Every reader of UTF-8 in
 * ferry (request bodies, CSV rows, JSON values, code-page encoders, case
 * mapping and folding, column lengths) uses these, so a byte sequence is
 * valid or invalid the same way everywhere. */
#ifndef FERRY_UTIL_UTF8_H
#define FERRY_UTIL_UTF8_H
#include <stddef.h>
#include <stdint.h>

/* utf8_next - decode the sequence at s (n bytes left) into *cp; returns
 * its length (1..4), or 0 when it is invalid or n is 0 (*cp untouched) */
size_t utf8_next(const char *s, size_t n, uint32_t *cp);
/* utf8_invalid_at - byte offset of the first invalid sequence in
 * s[0..n), or -1 when all of it is valid */
long utf8_invalid_at(const char *s, size_t n);
/* utf8_put - encode cp (<= U+10FFFF) at o, which has room for 4 bytes;
 * returns the bytes written */
size_t utf8_put(uint32_t cp, char *o);
/* utf8_chars - code points in s[0..n): bytes that are not continuation
 * bytes (exact for valid UTF-8) */
size_t utf8_chars(const char *s, size_t n);

#endif
