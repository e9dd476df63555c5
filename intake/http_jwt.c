/* http_jwt.c - HS256 bearer tokens for the HTTP intake.  See
 * http_jwt.h (http_jwt_verify, http_jwt_verify_span, http_jwt_reason).
 *
 * Pure functions: no server state, no clock of their own (the caller
 * passes now), so the unit test drives them with fixed vectors.  Only
 * {"alg":"HS256","typ":"JWT"} is accepted; the signature is compared in
 * constant time; iat must fall within the window both ways, exp and nbf
 * are honoured when present. */
#include "intake/http_jwt.h"

#include <jansson.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <string.h>

/* ---- base64url and the JWT verifier ----------------------------------- */

static int b64url_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* b64url_decode - unpadded base64url into out (room for len*3/4+1);
 * -1 on a bad character or an impossible length */
static int b64url_decode(const char *in, size_t len, unsigned char *out,
                         size_t *outlen)
{
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* the unused low bits must be zero (canonical encoding) */
    if (bits && (acc & ((1u << bits) - 1)))
        return -1;
    *outlen = o;
    return 0;
}

/* decode_json_object - one base64url part as a JSON object (new ref) */
static json_t *decode_json_object(const char *p, size_t len)
{
    unsigned char tmp[HTTP_TOKEN_MAX];
    size_t n = 0;
    if (len > sizeof tmp || b64url_decode(p, len, tmp, &n) != 0)
        return NULL;
    json_error_t err;
    json_t *o = json_loadb((const char *)tmp, n, JSON_REJECT_DUPLICATES, &err);
    if (o && !json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* claim_int - an integer claim; 1 present, 0 absent, -1 not an integer */
static int claim_int(const json_t *payload, const char *name, int64_t *out)
{
    json_t *v = json_object_get(payload, name);
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 1;
}

const char *http_jwt_reason(enum http_jwt_result r)
{
    switch (r) {
    case HTTP_JWT_OK:             return "ok";
    case HTTP_JWT_MALFORMED:      return "malformed-token";
    case HTTP_JWT_BAD_ALG:        return "bad-algorithm";
    case HTTP_JWT_UNKNOWN_ISSUER: return "unknown-issuer";
    case HTTP_JWT_BAD_SIGNATURE:  return "bad-signature";
    case HTTP_JWT_EXPIRED:        return "expired";
    case HTTP_JWT_FUTURE:         return "future-dated";
    }
    return "?";
}

/* http_jwt_verify - see header.  Header must be exactly alg HS256 (typ
 * JWT optional); anything else (alg none, RS256, kid, crit) is refused. */
enum http_jwt_result http_jwt_verify(const char *token, size_t len,
                                     const struct http_key *keys,
                                     size_t nkeys, int window_s,
                                     int64_t now_s, char *iss, size_t isssz)
{
    int64_t from, to;
    return http_jwt_verify_span(token, len, keys, nkeys, window_s, now_s,
                                iss, isssz, &from, &to);
}

enum http_jwt_result http_jwt_verify_span(const char *token, size_t len,
                                          const struct http_key *keys,
                                          size_t nkeys, int window_s,
                                          int64_t now_s, char *iss,
                                          size_t isssz, int64_t *from_s,
                                          int64_t *to_s)
{
    enum http_jwt_result rc = HTTP_JWT_MALFORMED;
    json_t *hdr = NULL, *pl = NULL;
    if (iss && isssz)
        iss[0] = '\0';
    if (!token || len == 0 || len > HTTP_TOKEN_MAX)
        return HTTP_JWT_MALFORMED;
    const char *d1 = memchr(token, '.', len);
    if (!d1)
        return HTTP_JWT_MALFORMED;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return HTTP_JWT_MALFORMED;
    size_t hlen = (size_t)(d1 - token), plen = (size_t)(d2 - d1 - 1);
    size_t slen = len - (size_t)(d2 + 1 - token);
    if (!hlen || !plen)
        return HTTP_JWT_MALFORMED;

    hdr = decode_json_object(token, hlen);
    pl = decode_json_object(d1 + 1, plen);
    if (!hdr || !pl)
        goto out;
    const char *k;
    json_t *v;
    bool alg_ok = false;
    json_object_foreach(hdr, k, v) {
        if (strcmp(k, "alg") == 0 && json_is_string(v) &&
            strcmp(json_string_value(v), "HS256") == 0)
            alg_ok = true;
        else if (strcmp(k, "typ") == 0 && json_is_string(v) &&
                 strcmp(json_string_value(v), "JWT") == 0)
            continue;
        else {
            rc = HTTP_JWT_BAD_ALG;
            goto out;
        }
    }
    if (!alg_ok) {
        rc = HTTP_JWT_BAD_ALG;
        goto out;
    }
    if (!slen)
        goto out;                    /* unsigned: malformed */
    json_t *jiss = json_object_get(pl, "iss");
    if (!json_is_string(jiss)) {
        rc = HTTP_JWT_UNKNOWN_ISSUER;
        goto out;
    }
    const char *issuer = json_string_value(jiss);
    if (iss && isssz)
        snprintf(iss, isssz, "%s", issuer);
    const struct http_key *key = NULL;
    for (size_t i = 0; i < nkeys; i++)
        if (keys[i].id && strcmp(keys[i].id, issuer) == 0) {
            key = &keys[i];
            break;
        }
    if (!key || !key->secret) {
        rc = HTTP_JWT_UNKNOWN_ISSUER;
        goto out;
    }

    unsigned char sig[HTTP_TOKEN_MAX];
    size_t siglen = 0;
    if (slen > sizeof sig || b64url_decode(d2 + 1, slen, sig, &siglen) != 0) {
        rc = HTTP_JWT_MALFORMED;
        goto out;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), key->secret, (int)key->len,
              (const unsigned char *)token, hlen + 1 + plen, mac, &maclen)) {
        rc = HTTP_JWT_BAD_SIGNATURE;
        goto out;
    }
    if (siglen != maclen || CRYPTO_memcmp(sig, mac, maclen) != 0) {
        rc = HTTP_JWT_BAD_SIGNATURE;
        goto out;
    }

    int64_t iat = 0, exp = 0, nbf = 0;
    if (claim_int(pl, "iat", &iat) != 1) {
        rc = HTTP_JWT_MALFORMED;
        goto out;
    }
    int has_exp = claim_int(pl, "exp", &exp);
    int has_nbf = claim_int(pl, "nbf", &nbf);
    if (has_exp < 0 || has_nbf < 0) {
        rc = HTTP_JWT_MALFORMED;
        goto out;
    }
    if (iat > now_s + window_s || (has_nbf && nbf > now_s + window_s)) {
        rc = HTTP_JWT_FUTURE;
        goto out;
    }
    if (iat < now_s - window_s || (has_exp && now_s >= exp)) {
        rc = HTTP_JWT_EXPIRED;
        goto out;
    }
    /* accepted exactly while none of the four tests above fails (they
     * passed, so iat is within the window of now and exp after it: no
     * sum below can overflow, and nbf is used only when after iat) */
    *from_s = iat - window_s;
    if (has_nbf && nbf > iat)
        *from_s = nbf - window_s;
    *to_s = iat + window_s;
    if (has_exp && exp - 1 < *to_s)
        *to_s = exp - 1;
    rc = HTTP_JWT_OK;
out:
    json_decref(hdr);
    json_decref(pl);
    return rc;
}