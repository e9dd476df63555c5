/* http_drive.c - test client for `ferry serve` (libcurl).
 *
 *   http_drive token SECRET_FILE ISSUER [IAT_OFFSET_S [ALG]]
 *       print an HS256 JWT (ALG "none" gives an unsigned alg-none token).
 *       The signer is written here from OpenSSL's HMAC, independently of
 *       the server's verifier, so the integration test is a cross-check.
 *   http_drive burst URL SECRET_FILE ISSUER TEMPLATE PREFIX COUNT PARALLEL OUT
 *       POST COUNT submissions, PARALLEL at a time (curl multi), each the
 *       TEMPLATE file with "@REF@" replaced by PREFIX and a zero-padded
 *       index (a fresh token per request).  Every answered 202/200 is
 *       appended to OUT as "REFERENCE<TAB>FRONTEND_REF<TAB>STATUS" and
 *       flushed at once, so the file survives the server being killed.
 *       Prints "sent=N s202=N s200=N other=N failed=N".  Exit 0 unless
 *       the arguments or files are wrong.
 *
 * Bounded: every transfer has a 30 s timeout; loopback only. */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char secret[4096];
static size_t secret_len;

static int load_secret(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    secret_len = fread(secret, 1, sizeof secret - 1, f);
    fclose(f);
    while (secret_len && (secret[secret_len - 1] == '\n' ||
                          secret[secret_len - 1] == '\r'))
        secret_len--;
    return 0;
}

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

static void mint(char *out, size_t outsz, const char *iss, long long off,
                 const char *alg)
{
    char hdr[128], pl[512], h64[256], p64[800], s64[64] = "";
    snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    snprintf(pl, sizeof pl, "{\"iss\":\"%s\",\"iat\":%lld}", iss,
             (long long)time(NULL) + off);
    b64url((const unsigned char *)hdr, strlen(hdr), h64);
    b64url((const unsigned char *)pl, strlen(pl), p64);
    char signing[1100];
    snprintf(signing, sizeof signing, "%s.%s", h64, p64);
    if (strcmp(alg, "none") != 0) {
        unsigned char mac[32];
        unsigned int ml = 0;
        HMAC(EVP_sha256(), secret, (int)secret_len,
             (const unsigned char *)signing, strlen(signing), mac, &ml);
        b64url(mac, ml, s64);
    }
    snprintf(out, outsz, "%s.%s", signing, s64);
}

struct xfer {
    CURL *h;
    struct curl_slist *hdrs;
    char *body;
    char fe[64];
    char resp[4096];
    size_t rlen;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = sz * n;
    size_t room = sizeof x->resp - 1 - x->rlen;
    size_t take = len < room ? len : room;
    memcpy(x->resp + x->rlen, p, take);
    x->rlen += take;
    x->resp[x->rlen] = '\0';
    return len;
}

/* subst - template with every "@REF@" replaced by ref (caller frees) */
static char *subst(const char *tpl, const char *ref)
{
    size_t cnt = 0;
    for (const char *p = tpl; (p = strstr(p, "@REF@")); p += 5)
        cnt++;
    size_t n = strlen(tpl) + cnt * strlen(ref) + 1;
    char *out = malloc(n), *o = out;
    if (!out)
        return NULL;
    for (const char *p = tpl;;) {
        const char *q = strstr(p, "@REF@");
        if (!q) {
            memcpy(o, p, strlen(p) + 1);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, ref, strlen(ref));
        o += strlen(ref);
        p = q + 5;
    }
    return out;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return buf;
}

static int burst(char **av)
{
    const char *url = av[0], *iss = av[2], *prefix = av[4];
    long count = strtol(av[5], NULL, 10), par = strtol(av[6], NULL, 10);
    if (load_secret(av[1]) != 0 || count <= 0 || par <= 0)
        return 2;
    char *tpl = read_all(av[3]);
    FILE *out = fopen(av[7], "a");
    if (!tpl || !out)
        return 2;
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, par);
    struct xfer *xs = calloc((size_t)count, sizeof *xs);
    long next = 0, running_n = 0, s202 = 0, s200 = 0, other = 0, failed = 0;
    while (next < count || running_n > 0) {
        while (next < count && running_n < par) {
            struct xfer *x = &xs[next];
            snprintf(x->fe, sizeof x->fe, "%s%08ld", prefix, next);
            x->body = subst(tpl, x->fe);
            char tok[2048], auth[2100];
            mint(tok, sizeof tok, iss, 0, "HS256");
            snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
            x->hdrs = curl_slist_append(NULL, auth);
            x->hdrs = curl_slist_append(x->hdrs,
                                        "Content-Type: application/json");
            x->hdrs = curl_slist_append(x->hdrs, "Expect:");
            x->h = curl_easy_init();
            curl_easy_setopt(x->h, CURLOPT_URL, url);
            curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
            curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body);
            curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_data);
            curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
            curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
            curl_easy_setopt(x->h, CURLOPT_TIMEOUT, 30L);
            curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
            curl_multi_add_handle(m, x->h);
            next++;
            running_n++;
        }
        int still = 0;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK) {
                failed++;
            } else if (code == 202 || code == 200) {
                json_error_t je;
                json_t *o = json_loads(x->resp, 0, &je);
                const char *ref = json_string_value(json_object_get(o, "reference"));
                fprintf(out, "%s\t%s\t%ld\n", ref ? ref : "?", x->fe, code);
                fflush(out);
                json_decref(o);
                if (code == 202)
                    s202++;
                else
                    s200++;
            } else {
                other++;
            }
            curl_multi_remove_handle(m, x->h);
            curl_easy_cleanup(x->h);
            curl_slist_free_all(x->hdrs);
            free(x->body);
            x->h = NULL;
            running_n--;
        }
        if (still)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    printf("sent=%ld s202=%ld s200=%ld other=%ld failed=%ld\n", count, s202,
           s200, other, failed);
    curl_multi_cleanup(m);
    free(xs);
    free(tpl);
    fclose(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "token") == 0) {
        if (load_secret(argv[2]) != 0)
            return 2;
        long long off = argc >= 5 ? strtoll(argv[4], NULL, 10) : 0;
        char tok[2048];
        mint(tok, sizeof tok, argv[3], off, argc >= 6 ? argv[5] : "HS256");
        printf("%s\n", tok);
        return 0;
    }
    if (argc == 10 && strcmp(argv[1], "burst") == 0) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int rc = burst(argv + 2);
        curl_global_cleanup();
        return rc;
    }
    fprintf(stderr, "usage: http_drive token SECRET_FILE ISSUER [IAT_OFFSET [ALG]]\n"
                    "       http_drive burst URL SECRET_FILE ISSUER TEMPLATE "
                    "PREFIX COUNT PARALLEL OUT\n");
    return 2;
}
