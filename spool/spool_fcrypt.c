/* spool_fcrypt.c - batch files at rest: streamed AES-256-GCM with the
 * spool's key (the payload key, <spool key-file>), so the files waiting
 * in outbound/ and kept in archive/ hold no personal data in clear.
 *
 * Sealed file: "FRYFILE1" (8) | nonce (12) | ciphertext | tag (16).  The
 * additional data names the file ("<target>/<name>"), so a sealed file
 * renamed or copied under another batch's name no longer opens.  Streams
 * are fed in chunks of any size: memory stays bounded whatever the file.
 * Opening releases plaintext before the tag is checked; a caller acts on
 * the plaintext (sends it) only after spool_fcrypt_final said 0. */
#include "spool/spool_int.h"
#include "util/errs.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = { 'F', 'R', 'Y', 'F', 'I', 'L', 'E', '1' };

struct spool_fcrypt {
    EVP_CIPHER_CTX *c;
    bool seal;
};

bool spool_files_sealed(const struct spool *s)
{
    return s->opts.encrypt;
}

bool spool_fcrypt_is_sealed(const unsigned char *head, size_t n)
{
    return n >= sizeof magic && memcmp(head, magic, sizeof magic) == 0;
}

/* start - a context for aad, nonce from or into head+8 */
static struct spool_fcrypt *start(const struct spool *s, bool seal,
                                  const char *aad, unsigned char *head,
                                  struct errs *e)
{
    struct spool_fcrypt *f = calloc(1, sizeof *f);
    size_t an = strlen(aad);
    if (!f || !(f->c = EVP_CIPHER_CTX_new()) || an > INT_MAX) {
        errs_add(e, aad, "out of memory");
        goto fail;
    }
    f->seal = seal;
    if (seal) {
        memcpy(head, magic, sizeof magic);
        if (RAND_bytes(head + sizeof magic, SPOOL_FCRYPT_HEAD - 8) != 1) {
            errs_add(e, aad, "no random bytes for a nonce");
            goto fail;
        }
    } else if (!spool_fcrypt_is_sealed(head, SPOOL_FCRYPT_HEAD)) {
        errs_add(e, aad, "not a sealed spool file");
        goto fail;
    }
    int len = 0;
    int ok = seal
        ? EVP_EncryptInit_ex(f->c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
          EVP_CIPHER_CTX_ctrl(f->c, EVP_CTRL_GCM_SET_IVLEN,
                              SPOOL_FCRYPT_HEAD - 8, NULL) == 1 &&
          EVP_EncryptInit_ex(f->c, NULL, NULL, s->opts.key, head + 8) == 1 &&
          EVP_EncryptUpdate(f->c, NULL, &len, (const unsigned char *)aad,
                            (int)an) == 1
        : EVP_DecryptInit_ex(f->c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
          EVP_CIPHER_CTX_ctrl(f->c, EVP_CTRL_GCM_SET_IVLEN,
                              SPOOL_FCRYPT_HEAD - 8, NULL) == 1 &&
          EVP_DecryptInit_ex(f->c, NULL, NULL, s->opts.key, head + 8) == 1 &&
          EVP_DecryptUpdate(f->c, NULL, &len, (const unsigned char *)aad,
                            (int)an) == 1;
    if (!ok) {
        errs_add(e, aad, "AES-256-GCM unavailable");
        goto fail;
    }
    return f;
fail:
    spool_fcrypt_free(f);
    return NULL;
}

struct spool_fcrypt *spool_fcrypt_seal(const struct spool *s, const char *aad,
                                       unsigned char head[SPOOL_FCRYPT_HEAD],
                                       struct errs *e)
{
    if (!s->opts.encrypt) {
        errs_add(e, aad, "the spool has no key");
        return NULL;
    }
    return start(s, true, aad, head, e);
}

struct spool_fcrypt *spool_fcrypt_open(const struct spool *s, const char *aad,
                                       const unsigned char head[SPOOL_FCRYPT_HEAD],
                                       struct errs *e)
{
    if (!s->opts.encrypt) {
        errs_add(e, aad, "the file is encrypted and no spool key is "
                 "configured (<spool key-file>)");
        return NULL;
    }
    unsigned char h[SPOOL_FCRYPT_HEAD];
    memcpy(h, head, sizeof h);
    return start(s, false, aad, h, e);
}

int spool_fcrypt_update(struct spool_fcrypt *f, const void *in, size_t n,
                        void *out)
{
    const unsigned char *p = in;
    unsigned char *o = out;
    while (n) {
        int chunk = n > (1u << 30) ? 1 << 30 : (int)n, len = 0;
        int ok = f->seal ? EVP_EncryptUpdate(f->c, o, &len, p, chunk)
                         : EVP_DecryptUpdate(f->c, o, &len, p, chunk);
        if (ok != 1 || len != chunk)
            return -1;
        p += chunk;
        o += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

int spool_fcrypt_final(struct spool_fcrypt *f,
                       unsigned char tag[SPOOL_FCRYPT_TAG])
{
    unsigned char rest[16];
    int len = 0;
    if (f->seal)
        return EVP_EncryptFinal_ex(f->c, rest, &len) == 1 &&
               EVP_CIPHER_CTX_ctrl(f->c, EVP_CTRL_GCM_GET_TAG,
                                   SPOOL_FCRYPT_TAG, tag) == 1 ? 0 : -1;
    return EVP_CIPHER_CTX_ctrl(f->c, EVP_CTRL_GCM_SET_TAG, SPOOL_FCRYPT_TAG,
                               tag) == 1 &&
           EVP_DecryptFinal_ex(f->c, rest, &len) == 1 ? 0 : -1;
}

void spool_fcrypt_free(struct spool_fcrypt *f)
{
    if (!f)
        return;
    EVP_CIPHER_CTX_free(f->c);
    free(f);
}
