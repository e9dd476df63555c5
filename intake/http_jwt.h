/* http_jwt.h - HS256 bearer tokens of the HTTP intake's clients: pure
 * functions, no server state (unit-tested and fuzzed on their own). */
#ifndef FERRY_INTAKE_HTTP_JWT_H
#define FERRY_INTAKE_HTTP_JWT_H
#include <stddef.h>
#include <stdint.h>

enum http_jwt_result {
    HTTP_JWT_OK = 0,
    HTTP_JWT_MALFORMED,      /* not three base64url parts of JSON objects */
    HTTP_JWT_BAD_ALG,        /* header other than {"alg":"HS256","typ":"JWT"} */
    HTTP_JWT_UNKNOWN_ISSUER, /* iss missing or not a configured client */
    HTTP_JWT_BAD_SIGNATURE,
    HTTP_JWT_EXPIRED,        /* iat older than the window, or exp passed */
    HTTP_JWT_FUTURE,         /* iat (or nbf) ahead of the window */
};

/* One client's verification key (borrowed by the verifier). */
struct http_key {
    const char *id;
    const unsigned char *secret;
    size_t len;
};

#define HTTP_TOKEN_MAX 4096

/* http_jwt_verify - check token against keys at now_s with a freshness
 * window of window_s seconds either side of iat.  The signature is
 * checked (in constant time) before any claim is trusted.  iss (may be
 * NULL) receives the issuer when the token named one, even on failure,
 * so the caller can log who tried. */
enum http_jwt_result http_jwt_verify(const char *token, size_t len,
                                     const struct http_key *keys,
                                     size_t nkeys, int window_s,
                                     int64_t now_s, char *iss, size_t isssz);
/* http_jwt_verify_span - http_jwt_verify, and on HTTP_JWT_OK the span
 * [*from_s, *to_s] of clock seconds in which the same token would be
 * accepted again (the window around iat, nbf and exp): what a cache of
 * verified tokens may keep it for */
enum http_jwt_result http_jwt_verify_span(const char *token, size_t len,
                                          const struct http_key *keys,
                                          size_t nkeys, int window_s,
                                          int64_t now_s, char *iss,
                                          size_t isssz, int64_t *from_s,
                                          int64_t *to_s);
/* http_jwt_reason - "expired", "bad-signature", ... for logs and replies */
const char *http_jwt_reason(enum http_jwt_result r);

#endif
