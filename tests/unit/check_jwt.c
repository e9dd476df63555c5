/* check_jwt.c - the intake's HS256 token verifier: a good token, tampered
 * payload and signature, alg none and other headers, expired and
 * future-dated tokens, exp, a wrong issuer, a token signed with another
 * client's secret; the span a verified token stays acceptable for, and
 * the cache of verified tokens that keeps them only that long (every
 * second of the span agrees with a fresh verification).  Tokens are minted here with OpenSSL's HMAC directly,
 * not with the code under test. */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake/http_int.h"
#include "intake/http_jwt.h"

#define NOW 1795773862LL
#define WINDOW 30

static const unsigned char secret_a[] = "0123456789abcdef0123456789abcdef";
static const unsigned char secret_b[] = "fedcba9876543210fedcba9876543210";

static const struct http_key keys[] = {
    { "forms-frontend", secret_a, sizeof secret_a - 1 },
    { "other-frontend", secret_b, sizeof secret_b - 1 },
};

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        if (i + 1 < n) out[o++] = tab[(v >> 6) & 63];
        if (i + 2 < n) out[o++] = tab[v & 63];
    }
    out[o] = '\0';
}

/* mint - header.payload.signature with key (NULL key: no signature) */
static void mint(char *out, size_t outsz, const char *header,
                 const char *payload, const unsigned char *key, size_t klen)
{
    char h[512], p[512], s[128] = "";
    b64url((const unsigned char *)header, strlen(header), h);
    b64url((const unsigned char *)payload, strlen(payload), p);
    char signing[1100];
    snprintf(signing, sizeof signing, "%s.%s", h, p);
    if (key) {
        unsigned char mac[32];
        unsigned int ml = 0;
        HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)signing,
             strlen(signing), mac, &ml);
        b64url(mac, ml, s);
    }
    snprintf(out, outsz, "%s.%s", signing, s);
}

static const char *HS = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static enum http_jwt_result verify(const char *tok, char *iss, size_t isssz)
{
    return http_jwt_verify(tok, strlen(tok), keys, 2, WINDOW, NOW, iss, isssz);
}

static void payload(char *out, size_t n, const char *iss, long long iat)
{
    snprintf(out, n, "{\"iss\":\"%s\",\"iat\":%lld}", iss, iat);
}

START_TEST(test_good_token_names_its_issuer)
{
    char tok[1200], pl[256], iss[64];
    payload(pl, sizeof pl, "forms-frontend", NOW - 3);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, iss, sizeof iss), HTTP_JWT_OK);
    ck_assert_str_eq(iss, "forms-frontend");
    /* typ is optional */
    mint(tok, sizeof tok, "{\"alg\":\"HS256\"}", pl, secret_a,
         sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_OK);
}
END_TEST

START_TEST(test_tampered_payload_fails_signature)
{
    char tok[1200], pl[256], evil[1200];
    payload(pl, sizeof pl, "forms-frontend", NOW);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    /* same signature over a payload naming the other client */
    char other[256], forged[1200];
    payload(other, sizeof other, "other-frontend", NOW);
    mint(forged, sizeof forged, HS, other, NULL, 0);   /* "h.p." */
    const char *sig = strrchr(tok, '.');
    snprintf(evil, sizeof evil, "%.*s%s", (int)(strrchr(forged, '.') - forged),
             forged, sig);
    ck_assert_int_eq(verify(evil, NULL, 0), HTTP_JWT_BAD_SIGNATURE);
    /* iat moved forward by one second */
    payload(other, sizeof other, "forms-frontend", NOW + 1);
    mint(forged, sizeof forged, HS, other, NULL, 0);
    snprintf(evil, sizeof evil, "%.*s%s", (int)(strrchr(forged, '.') - forged),
             forged, sig);
    ck_assert_int_eq(verify(evil, NULL, 0), HTTP_JWT_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_tampered_signature_fails)
{
    char tok[1200], pl[256];
    payload(pl, sizeof pl, "forms-frontend", NOW);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    char *last = tok + strlen(tok) - 2;       /* keep canonical last char */
    *last = *last == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_BAD_SIGNATURE);
    /* truncated signature */
    tok[strlen(tok) - 4] = '\0';
    ck_assert_int_ne(verify(tok, NULL, 0), HTTP_JWT_OK);
    /* signed with the other client's secret */
    mint(tok, sizeof tok, HS, pl, secret_b, sizeof secret_b - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_alg_none_and_other_headers_refused)
{
    char tok[1200], pl[256];
    payload(pl, sizeof pl, "forms-frontend", NOW);
    mint(tok, sizeof tok, "{\"alg\":\"none\",\"typ\":\"JWT\"}", pl, NULL, 0);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_BAD_ALG);
    /* alg none even with a valid HS256 signature attached */
    mint(tok, sizeof tok, "{\"alg\":\"none\"}", pl, secret_a,
         sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_BAD_ALG);
    mint(tok, sizeof tok, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", pl, secret_a,
         sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_BAD_ALG);
    mint(tok, sizeof tok, "{\"alg\":\"HS256\",\"kid\":\"x\"}", pl, secret_a,
         sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_BAD_ALG);
    mint(tok, sizeof tok, "{\"typ\":\"JWT\"}", pl, secret_a,
         sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_BAD_ALG);
    /* an HS256 header but no signature */
    mint(tok, sizeof tok, HS, pl, NULL, 0);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_MALFORMED);
}
END_TEST

START_TEST(test_expired_and_future_tokens_refused)
{
    char tok[1200], pl[256];
    payload(pl, sizeof pl, "forms-frontend", NOW - WINDOW);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_OK);   /* edge: in */
    payload(pl, sizeof pl, "forms-frontend", NOW - WINDOW - 1);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_EXPIRED);
    payload(pl, sizeof pl, "forms-frontend", NOW + WINDOW);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_OK);
    payload(pl, sizeof pl, "forms-frontend", NOW + WINDOW + 1);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_FUTURE);
    payload(pl, sizeof pl, "forms-frontend", NOW + 3600);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_FUTURE);
    /* exp honoured inside the window */
    snprintf(pl, sizeof pl, "{\"iss\":\"forms-frontend\",\"iat\":%lld,"
             "\"exp\":%lld}", NOW - 5, NOW);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_EXPIRED);
    /* iat missing or not an integer */
    mint(tok, sizeof tok, HS, "{\"iss\":\"forms-frontend\"}", secret_a,
         sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_MALFORMED);
    snprintf(pl, sizeof pl, "{\"iss\":\"forms-frontend\",\"iat\":\"%lld\"}",
             NOW);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_MALFORMED);
}
END_TEST

START_TEST(test_wrong_issuer_refused)
{
    char tok[1200], pl[256], iss[64];
    payload(pl, sizeof pl, "stranger", NOW);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, iss, sizeof iss), HTTP_JWT_UNKNOWN_ISSUER);
    ck_assert_str_eq(iss, "stranger");
    mint(tok, sizeof tok, HS, "{\"iat\":1795773862}", secret_a,
         sizeof secret_a - 1);
    ck_assert_int_eq(verify(tok, NULL, 0), HTTP_JWT_UNKNOWN_ISSUER);
}
END_TEST

/* the span is exactly the seconds in which verification says OK */
START_TEST(test_span_is_exactly_when_accepted)
{
    char tok[1200], pl[256], iss[64];
    const char *cases[] = {
        "{\"iss\":\"forms-frontend\",\"iat\":%lld}",
        "{\"iss\":\"forms-frontend\",\"iat\":%lld,\"exp\":1795773872}",
        "{\"iss\":\"forms-frontend\",\"iat\":%lld,\"nbf\":1795773880}",
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(pl, sizeof pl, cases[c], NOW - 3);
        mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
        int64_t from = 0, to = 0;
        ck_assert_int_eq(http_jwt_verify_span(tok, strlen(tok), keys, 2,
                         WINDOW, NOW, iss, sizeof iss, &from, &to),
                         HTTP_JWT_OK);
        ck_assert(from <= NOW && NOW <= to);
        for (int64_t t = NOW - 100; t <= NOW + 100; t++) {
            enum http_jwt_result r = http_jwt_verify(tok, strlen(tok), keys,
                                                     2, WINDOW, t, iss,
                                                     sizeof iss);
            ck_assert_msg((r == HTTP_JWT_OK) == (t >= from && t <= to),
                          "case %zu at %lld: %s, span [%lld, %lld]", c,
                          (long long)(t - NOW), http_jwt_reason(r),
                          (long long)(from - NOW), (long long)(to - NOW));
        }
    }
}
END_TEST

/* the cache answers only for the exact bytes and inside the span */
START_TEST(test_token_cache_exact_bytes_and_span)
{
    struct http_tokens *t = http_tokens_new();
    ck_assert_ptr_nonnull(t);
    char tok[1200], pl[256], iss[64];
    payload(pl, sizeof pl, "forms-frontend", NOW - 3);
    mint(tok, sizeof tok, HS, pl, secret_a, sizeof secret_a - 1);
    size_t n = strlen(tok);
    ck_assert(!http_tokens_find(t, tok, n, NOW, iss, sizeof iss));
    http_tokens_keep(t, tok, n, "forms-frontend", NOW - 33, NOW + 27);
    iss[0] = '\0';
    ck_assert(http_tokens_find(t, tok, n, NOW, iss, sizeof iss));
    ck_assert_str_eq(iss, "forms-frontend");
    ck_assert(http_tokens_find(t, tok, n, NOW + 27, iss, sizeof iss));
    ck_assert(!http_tokens_find(t, tok, n, NOW - 34, iss, sizeof iss));
    /* one byte different, or a prefix: a miss */
    tok[n - 1] = tok[n - 1] == 'A' ? 'B' : 'A';
    ck_assert(!http_tokens_find(t, tok, n, NOW, iss, sizeof iss));
    tok[n - 1] = tok[n - 1] == 'A' ? 'B' : 'A';
    ck_assert(!http_tokens_find(t, tok, n - 1, NOW, iss, sizeof iss));
    /* past its span it is gone for good, even if the clock goes back */
    ck_assert(!http_tokens_find(t, tok, n, NOW + 28, iss, sizeof iss));
    ck_assert(!http_tokens_find(t, tok, n, NOW, iss, sizeof iss));
    http_tokens_free(t);
    http_tokens_free(NULL);
}
END_TEST

START_TEST(test_garbage_is_malformed)
{
    const char *bad[] = { "", "abc", "a.b", "a.b.c.d", "!!.??.**",
                          "e30.e30.", "W10.e30.abc" /* header is [] */ };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(verify(bad[i], NULL, 0) != HTTP_JWT_OK, "%s", bad[i]);
    ck_assert_int_eq(verify("a.b", NULL, 0), HTTP_JWT_MALFORMED);
    char big[HTTP_TOKEN_MAX + 10];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(verify(big, NULL, 0), HTTP_JWT_MALFORMED);
    ck_assert_str_eq(http_jwt_reason(HTTP_JWT_EXPIRED), "expired");
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("verify");
    tcase_add_test(tc, test_good_token_names_its_issuer);
    tcase_add_test(tc, test_tampered_payload_fails_signature);
    tcase_add_test(tc, test_tampered_signature_fails);
    tcase_add_test(tc, test_alg_none_and_other_headers_refused);
    tcase_add_test(tc, test_expired_and_future_tokens_refused);
    tcase_add_test(tc, test_wrong_issuer_refused);
    tcase_add_test(tc, test_garbage_is_malformed);
    tcase_add_test(tc, test_span_is_exactly_when_accepted);
    tcase_add_test(tc, test_token_cache_exact_bytes_and_span);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jwt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
