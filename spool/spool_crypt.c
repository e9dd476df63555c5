/* spool_crypt.c - payload encryption at rest (AES-256-GCM, OpenSSL EVP)
 * and SHA-256 for the spool.
 *
 * Stored form: nonce (12 random bytes) | tag (16) | ciphertext.  The
 * additional data is "<ref>/<column>", so a payload copied onto another
 * row or column no longer opens. */
#include "spool/spool_int.h"
#include "spool/sql.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE 12
#define TAG 16

static int aad(char *out, size_t outsz, const char *ref, const char *col)
{
    int n = snprintf(out, outsz, "%s/%s", ref, col);
    return (n < 0 || (size_t)n >= outsz) ? -1 : n;
}

int spool_seal(const struct spool *s, const char *ref, const char *col,
               const void *in, size_t n, unsigned char **out, size_t *outn)
{
    char ad[SPOOL_REF_MAX + 32];
    int adn = aad(ad, sizeof ad, ref, col);
    unsigned char *buf = malloc(NONCE + TAG + n + 1);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    if (adn < 0 || !buf || !c || n > (size_t)INT32_MAX)
        goto fail;
    if (RAND_bytes(buf, NONCE) != 1)
        goto fail;
    if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) != 1
        || EVP_EncryptInit_ex(c, NULL, NULL, s->opts.key, buf) != 1
        || EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)ad, adn)
           != 1)
        goto fail;
    if (n > 0 && EVP_EncryptUpdate(c, buf + NONCE + TAG, &len, in, (int)n)
                 != 1)
        goto fail;
    if (EVP_EncryptFinal_ex(c, buf + NONCE + TAG + len, &fin) != 1
        || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, buf + NONCE)
           != 1)
        goto fail;
    EVP_CIPHER_CTX_free(c);
    *out = buf;
    *outn = NONCE + TAG + n;
    return 0;
fail:
    EVP_CIPHER_CTX_free(c);
    free(buf);
    return -1;
}

int spool_open_sealed(const struct spool *s, const char *ref, const char *col,
                      const void *in, size_t n, unsigned char **out,
                      size_t *outn, const char **why)
{
    char ad[SPOOL_REF_MAX + 32];
    int adn = aad(ad, sizeof ad, ref, col);
    const unsigned char *p = in;
    unsigned char *buf = NULL;
    EVP_CIPHER_CTX *c = NULL;
    int len = 0, fin = 0;
    *why = "payload cannot be decrypted (wrong key or damaged)";
    if (!s->opts.encrypt) {
        *why = "payload is encrypted and no key is configured";
        return -1;
    }
    if (n < NONCE + TAG || adn < 0 || n - NONCE - TAG > (size_t)INT32_MAX) {
        *why = "encrypted payload is truncated";
        return -1;
    }
    size_t cn = n - NONCE - TAG;
    buf = malloc(cn + 1);
    c = EVP_CIPHER_CTX_new();
    if (!buf || !c) {
        *why = "out of memory";
        goto fail;
    }
    if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) != 1
        || EVP_DecryptInit_ex(c, NULL, NULL, s->opts.key, p) != 1
        || EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)ad, adn)
           != 1)
        goto fail;
    if (cn > 0 && EVP_DecryptUpdate(c, buf, &len, p + NONCE + TAG, (int)cn)
                  != 1)
        goto fail;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG,
                            (void *)(p + NONCE)) != 1
        || EVP_DecryptFinal_ex(c, buf + len, &fin) != 1)
        goto fail;
    EVP_CIPHER_CTX_free(c);
    buf[cn] = '\0';
    *out = buf;
    *outn = cn;
    return 0;
fail:
    EVP_CIPHER_CTX_free(c);
    free(buf);
    return -1;
}

void spool_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    static const char hex[] = "0123456789abcdef";
    if (EVP_Digest(data, n, md, &mdn, EVP_sha256(), NULL) != 1)
        mdn = 0;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = i < mdn ? hex[md[i] >> 4] : '0';
        out[2 * i + 1] = i < mdn ? hex[md[i] & 15] : '0';
    }
    out[64] = '\0';
}

int spool_bind_sealed(struct spool *s, struct sql_stmt *st, int col,
                      const char *ref, const char *name, const void *p,
                      size_t n, unsigned char **owned)
{
    if (!p)
        return sql_bind_null(st, col) == 0 ? 0 : -1;
    if (s->opts.encrypt) {
        size_t on = 0;
        if (spool_seal(s, ref, name, p, n, owned, &on) != 0)
            return -1;
        return sql_bind_blob(st, col, *owned, on) == 0 ? 0 : -1;
    }
    return sql_bind_blob(st, col, p, n) == 0 ? 0 : -1;
}

int spool_col_opened(struct spool *s, struct sql_stmt *st, int col, bool enc,
                     const char *ref, const char *name, unsigned char **out,
                     size_t *outn, const char **why)
{
    size_t n = 0;
    const void *p = sql_col_blob(st, col, &n);
    *out = NULL;
    *outn = 0;
    *why = NULL;
    if (sql_col_null(st, col))
        return 0;
    if (enc)
        return spool_open_sealed(s, ref, name, p, n, out, outn, why);
    *out = malloc(n + 1);
    if (!*out) {
        *why = "out of memory";
        return -1;
    }
    if (n)
        memcpy(*out, p, n);
    (*out)[n] = '\0';
    *outn = n;
    return 0;
}
