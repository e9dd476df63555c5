/* http_tokens.c - verified bearer tokens, remembered by their exact
 * bytes for as long as they stay acceptable, so a front end that signs
 * one token and sends it with every request of its 30-second window pays
 * for one verification (two base64url decodes, two jansson parses and an
 * HMAC), not one per request.
 *
 * Contract: a hit says only what http_jwt_verify_span said about the
 * same bytes under the same generation's keys (the cache belongs to one
 * struct gen, so a reload that changes a secret or drops a client starts
 * empty), and only inside the span of clock seconds it returned: a token
 * past its window or exp, or a clock set back before its iat, misses and
 * is verified afresh.  Only accepted tokens are kept; refusals are never
 * remembered, so the failed-login limiter sees every one.  Bytes are
 * compared in constant time (CRYPTO_memcmp) after a hash picks the slot.
 * Bounded: HTTP_TOKENS_SLOTS direct-mapped slots of tokens up to
 * HTTP_TOKENS_MAX_LEN bytes; a longer token is simply not cached.
 *
 * Owns: the slots (wiped when freed: they are bearer credentials). */
#include "intake/http_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_TOKENS_SLOTS   128
#define HTTP_TOKENS_MAX_LEN 1024

struct slot {
    size_t len;                           /* 0: empty */
    uint64_t hash;
    int64_t from_s, to_s;                 /* accepted in [from, to] */
    char iss[128];
    char tok[HTTP_TOKENS_MAX_LEN];
};

struct http_tokens {
    pthread_mutex_t mu;
    struct slot slot[HTTP_TOKENS_SLOTS];
};

/* fnv1a - the slot's hash (not a secret: the compare decides) */
static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct http_tokens *http_tokens_new(void)
{
    struct http_tokens *t = calloc(1, sizeof *t);
    if (t)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

void http_tokens_free(struct http_tokens *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    OPENSSL_cleanse(t, sizeof *t);
    free(t);
}

bool http_tokens_find(struct http_tokens *t, const char *tok, size_t len,
                      int64_t now_s, char *iss, size_t isssz)
{
    if (!t || len == 0 || len > HTTP_TOKENS_MAX_LEN)
        return false;
    uint64_t h = fnv1a(tok, len);
    struct slot *s = &t->slot[h % HTTP_TOKENS_SLOTS];
    bool hit = false;
    pthread_mutex_lock(&t->mu);
    if (s->len == len && s->hash == h
        && CRYPTO_memcmp(s->tok, tok, len) == 0) {
        if (now_s >= s->from_s && now_s <= s->to_s) {
            snprintf(iss, isssz, "%s", s->iss);
            hit = true;
        } else if (now_s > s->to_s) {
            s->len = 0;                   /* past its time: never again */
        }
    }
    pthread_mutex_unlock(&t->mu);
    return hit;
}

void http_tokens_keep(struct http_tokens *t, const char *tok, size_t len,
                      const char *iss, int64_t from_s, int64_t to_s)
{
    if (!t || len == 0 || len > HTTP_TOKENS_MAX_LEN || from_s > to_s
        || strlen(iss) >= sizeof t->slot[0].iss)
        return;
    uint64_t h = fnv1a(tok, len);
    struct slot *s = &t->slot[h % HTTP_TOKENS_SLOTS];
    pthread_mutex_lock(&t->mu);
    memcpy(s->tok, tok, len);
    s->len = len;
    s->hash = h;
    s->from_s = from_s;
    s->to_s = to_s;
    snprintf(s->iss, sizeof s->iss, "%s", iss);
    pthread_mutex_unlock(&t->mu);
}
