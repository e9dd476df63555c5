/* handover.c - the hand-over conventions of handover.h: which a transport
 * has, and the OpenPGP work (GPGME) behind pgp-* and ack-pgp.  GPGME's
 * errors become one message each in gpg_msg, so a caller only ever sees
 * "what failed: why". */
#include "adapters/handover.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpgme.h>

const char *const adapter_handover_keys[] = {
    "checksum-file", "pgp-home", "pgp-recipient", "pgp-signer", "ack-pgp",
    "ack-signer", NULL,
};

struct adapter_handover {
    char *checksum;                /* suffix, or NULL */
    char *home;                    /* NULL: no OpenPGP */
    char *recipient, *signer, *ack_signer;
    bool ack_pgp;
};

static pthread_once_t gpg_once = PTHREAD_ONCE_INIT;
static const char *gpg_version;

static void gpg_init(void)
{
    gpg_version = gpgme_check_version(NULL);
    if (gpg_version &&
        gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) != 0)
        gpg_version = NULL;
}

/* gpg_msg - "what: GPGME's words" */
static int gpg_msg(char *msg, size_t msgsz, const char *what, gpgme_error_t err)
{
    snprintf(msg, msgsz, "%s: %s", what, gpgme_strerror(err));
    return -1;
}

void adapter_handover_free(struct adapter_handover *h)
{
    if (!h)
        return;
    free(h->checksum);
    free(h->home);
    free(h->recipient);
    free(h->signer);
    free(h->ack_signer);
    free(h);
}

const char *adapter_handover_checksum(const struct adapter_handover *h)
{
    return h ? h->checksum : NULL;
}

bool adapter_handover_encrypts(const struct adapter_handover *h)
{
    return h && h->recipient;
}

bool adapter_handover_ack_pgp(const struct adapter_handover *h)
{
    return h && h->ack_pgp;
}

/* new_ctx - a GPGME context on h's home, binary, no pinentry */
static int new_ctx(const struct adapter_handover *h, gpgme_ctx_t *ctx,
                   char *msg, size_t msgsz)
{
    pthread_once(&gpg_once, gpg_init);
    if (!gpg_version) {
        snprintf(msg, msgsz, "GPGME cannot find a usable gpg engine");
        return -1;
    }
    gpgme_error_t err = gpgme_new(ctx);
    if (err)
        return gpg_msg(msg, msgsz, "GPGME", err);
    if ((err = gpgme_set_protocol(*ctx, GPGME_PROTOCOL_OpenPGP)) ||
        (err = gpgme_ctx_set_engine_info(*ctx, GPGME_PROTOCOL_OpenPGP, NULL,
                                         h->home)) ||
        (err = gpgme_set_pinentry_mode(*ctx, GPGME_PINENTRY_MODE_LOOPBACK))) {
        gpgme_release(*ctx);
        *ctx = NULL;
        return gpg_msg(msg, msgsz, h->home, err);
    }
    gpgme_set_armor(*ctx, 0);
    return 0;
}

/* find_key - the one key matching pattern (secret: with its secret
 * part); NULL with why (none, or more than one) */
static gpgme_key_t find_key(gpgme_ctx_t ctx, const char *pattern,
                            bool secret, char *msg, size_t msgsz)
{
    gpgme_key_t k = NULL, more = NULL;
    gpgme_error_t err = gpgme_op_keylist_start(ctx, pattern, secret);
    if (!err)
        err = gpgme_op_keylist_next(ctx, &k);
    if (!err && gpgme_op_keylist_next(ctx, &more) == 0) {
        snprintf(msg, msgsz, "key '%s' matches more than one key in the "
                 "GnuPG home: name it by its fingerprint", pattern);
        gpgme_key_unref(more);
        gpgme_key_unref(k);
        k = NULL;
    } else if (err) {
        snprintf(msg, msgsz, "the GnuPG home has no %skey '%s'",
                 secret ? "secret " : "", pattern);
        k = NULL;
    }
    gpgme_op_keylist_end(ctx);
    return k;
}

/* problem - one problem of h's options into e; returns 1 */
static int problem(struct errs *e, const char *owner, const char *key,
                   const char *why)
{
    errs_add(e, key, "%s: %s", owner, why);
    return 1;
}

/* dup_opt - *dst = strdup(v) (NULL stays NULL); -1 on nomem */
static int dup_opt(char **dst, const char *v)
{
    *dst = NULL;
    return v && !(*dst = strdup(v)) ? -1 : 0;
}

/* keys_ok - every named key is in the home, once */
static int keys_ok(struct adapter_handover *h, const char *owner,
                   struct errs *e)
{
    char msg[400];
    gpgme_ctx_t ctx = NULL;
    if (new_ctx(h, &ctx, msg, sizeof msg) != 0)
        return problem(e, owner, "pgp-home", msg);
    int bad = 0;
    const struct { const char *key, *v; bool secret; } want[] = {
        { "pgp-recipient", h->recipient, false },
        { "pgp-signer", h->signer, true },
        { "ack-signer", h->ack_signer, false },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!want[i].v)
            continue;
        gpgme_key_t k = find_key(ctx, want[i].v, want[i].secret, msg,
                                 sizeof msg);
        if (!k)
            bad |= problem(e, owner, want[i].key, msg);
        gpgme_key_unref(k);
    }
    if (h->ack_pgp) {
        /* acks are encrypted for ferry: the home must hold a secret key */
        gpgme_key_t k = NULL;
        if (gpgme_op_keylist_start(ctx, NULL, 1) != 0 ||
            gpgme_op_keylist_next(ctx, &k) != 0)
            bad |= problem(e, owner, "ack-pgp", "the GnuPG home holds no "
                           "secret key to decrypt acknowledgement files");
        gpgme_key_unref(k);
        gpgme_op_keylist_end(ctx);
    }
    gpgme_release(ctx);
    return bad;
}

struct adapter_handover *adapter_handover_new(const struct adapter *tr,
                                              const struct kvlist *opts,
                                              const char *base_dir,
                                              const char *owner,
                                              struct errs *e)
{
    (void)tr;
    struct adapter_handover *h = calloc(1, sizeof *h);
    if (!h) {
        errs_add(e, owner, "out of memory");
        return NULL;
    }
    int bad = 0;
    const char *v = kv_get(opts, "checksum-file");
    if (v && (strcmp(v, "false") == 0 || strcmp(v, "no") == 0))
        v = NULL;
    else if (v && (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0))
        v = ".sha256";
    if (v && (v[0] != '.' || strlen(v) > 16 || strchr(v, '/')))
        bad |= problem(e, owner, "checksum-file", "checksum-file must be "
                       "true, false or a suffix such as .sha256");
    else if (dup_opt(&h->checksum, v) != 0)
        goto nomem;
    v = kv_get(opts, "ack-pgp");
    h->ack_pgp = v && (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
    if (v && !h->ack_pgp && strcmp(v, "false") != 0 && strcmp(v, "no") != 0)
        bad |= problem(e, owner, "ack-pgp", "ack-pgp must be true or false");
    if (dup_opt(&h->recipient, kv_get(opts, "pgp-recipient")) != 0 ||
        dup_opt(&h->signer, kv_get(opts, "pgp-signer")) != 0 ||
        dup_opt(&h->ack_signer, kv_get(opts, "ack-signer")) != 0)
        goto nomem;
    if (!h->ack_signer && h->ack_pgp && h->recipient &&
        !(h->ack_signer = strdup(h->recipient)))
        goto nomem;
    const char *home = kv_get(opts, "pgp-home");
    bool pgp = h->recipient || h->signer || h->ack_pgp || h->ack_signer;
    if (h->signer && !h->recipient)
        bad |= problem(e, owner, "pgp-signer", "pgp-signer needs "
                       "pgp-recipient (the file is signed and encrypted)");
    if (h->ack_pgp && !h->ack_signer)
        bad |= problem(e, owner, "ack-pgp", "ack-pgp needs ack-signer or "
                       "pgp-recipient: the key acks must be signed by");
    if (pgp && !home)
        bad |= problem(e, owner, "pgp-home", "the pgp-* and ack-* options "
                       "need pgp-home, the GnuPG home with the keys");
    if (home && !(h->home = config_path(base_dir ? base_dir : ".", home)))
        goto nomem;
    if (h->home) {
        struct stat st;
        if (stat(h->home, &st) != 0 || !S_ISDIR(st.st_mode))
            bad |= problem(e, owner, "pgp-home", "pgp-home is not a folder");
        else if (st.st_mode & 077)
            bad |= problem(e, owner, "pgp-home", "pgp-home must be mode 0700 "
                           "(it holds secret keys)");
        else if (!bad)
            bad |= keys_ok(h, owner, e);
    }
    if (bad) {
        adapter_handover_free(h);
        return NULL;
    }
    return h;
nomem:
    errs_add(e, owner, "out of memory");
    adapter_handover_free(h);
    return NULL;
}

/* out_open - a temporary file beside out for GPGME to write; -1 errno */
static int out_open(const char *out, char *tmp, size_t tmpsz)
{
    if (snprintf(tmp, tmpsz, "%s.tmp.%ld", out, (long)getpid()) >=
        (int)tmpsz) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(tmp);
    return open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* out_finish - fsync, close and rename tmp to out; -1 with msg */
static int out_finish(int fd, const char *tmp, const char *out, bool ok,
                      char *msg, size_t msgsz)
{
    if (ok && fsync(fd) != 0) {
        snprintf(msg, msgsz, "%s: %s", tmp, strerror(errno));
        ok = false;
    }
    close(fd);
    if (ok && rename(tmp, out) != 0) {
        snprintf(msg, msgsz, "%s: %s", out, strerror(errno));
        ok = false;
    }
    if (!ok) {
        unlink(tmp);
        return -1;
    }
    fs_fsync_parent(out);
    return 0;
}

/* data_pair - GPGME data on in (read) and on a temporary beside out */
static int data_pair(const char *in, const char *out, int *ifd, int *ofd,
                     char *tmp, size_t tmpsz, gpgme_data_t *din,
                     gpgme_data_t *dout, char *msg, size_t msgsz)
{
    *din = *dout = NULL;
    *ofd = -1;
    if ((*ifd = open(in, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(msg, msgsz, "%s: %s", in, strerror(errno));
        return -1;
    }
    if ((*ofd = out_open(out, tmp, tmpsz)) < 0) {
        snprintf(msg, msgsz, "%s: %s", out, strerror(errno));
        close(*ifd);
        return -1;
    }
    gpgme_error_t err;
    if ((err = gpgme_data_new_from_fd(din, *ifd)) ||
        (err = gpgme_data_new_from_fd(dout, *ofd))) {
        gpgme_data_release(*din);
        close(*ifd);
        out_finish(*ofd, tmp, out, false, msg, msgsz);
        return gpg_msg(msg, msgsz, "GPGME", err);
    }
    return 0;
}

int adapter_handover_encrypt(const struct adapter_handover *h,
                             const char *in, const char *out, char *msg,
                             size_t msgsz)
{
    gpgme_ctx_t ctx = NULL;
    gpgme_key_t keys[2] = { NULL, NULL }, sk = NULL;
    gpgme_data_t din = NULL, dout = NULL;
    int ifd = -1, ofd = -1, rc = -1;
    char tmp[4200];
    if (new_ctx(h, &ctx, msg, msgsz) != 0)
        return -1;
    if (!(keys[0] = find_key(ctx, h->recipient, false, msg, msgsz)))
        goto out;
    if (h->signer) {
        if (!(sk = find_key(ctx, h->signer, true, msg, msgsz)))
            goto out;
        gpgme_error_t err = gpgme_signers_add(ctx, sk);
        if (err) {
            gpg_msg(msg, msgsz, "pgp-signer", err);
            goto out;
        }
    }
    if (data_pair(in, out, &ifd, &ofd, tmp, sizeof tmp, &din, &dout, msg,
                  msgsz) != 0)
        goto out;
    gpgme_error_t err = h->signer
        ? gpgme_op_encrypt_sign(ctx, keys, GPGME_ENCRYPT_ALWAYS_TRUST, din,
                                dout)
        : gpgme_op_encrypt(ctx, keys, GPGME_ENCRYPT_ALWAYS_TRUST, din, dout);
    gpgme_encrypt_result_t er = err ? NULL : gpgme_op_encrypt_result(ctx);
    gpgme_sign_result_t sr = err || !h->signer ? NULL
                                               : gpgme_op_sign_result(ctx);
    bool ok = !err && er && !er->invalid_recipients &&
              (!h->signer || (sr && sr->signatures && !sr->invalid_signers));
    if (err)
        gpg_msg(msg, msgsz, "encrypting", err);
    else if (!ok)
        snprintf(msg, msgsz, "encrypting: the recipient or signer key was "
                 "refused (expired, revoked or not for this use)");
    gpgme_data_release(din);
    gpgme_data_release(dout);
    close(ifd);
    rc = out_finish(ofd, tmp, out, ok, msg, msgsz);
out:
    gpgme_key_unref(keys[0]);
    gpgme_key_unref(sk);
    gpgme_release(ctx);
    return rc;
}

/* signed_by - is fpr (a fingerprint or key id) one of k's (sub)keys */
static bool signed_by(gpgme_key_t k, const char *fpr)
{
    size_t fl = fpr ? strlen(fpr) : 0;
    for (gpgme_subkey_t s = k ? k->subkeys : NULL; s && fl; s = s->next) {
        size_t sl = s->fpr ? strlen(s->fpr) : 0;
        if (sl >= fl && strcasecmp(s->fpr + sl - fl, fpr) == 0)
            return true;
    }
    return false;
}

int adapter_handover_open_ack(const struct adapter_handover *h,
                              const char *in, const char *out, char *msg,
                              size_t msgsz)
{
    gpgme_ctx_t ctx = NULL;
    gpgme_key_t want = NULL;
    gpgme_data_t din = NULL, dout = NULL;
    int ifd = -1, ofd = -1, rc = -1;
    char tmp[4200];
    if (new_ctx(h, &ctx, msg, msgsz) != 0)
        return -1;
    if (!(want = find_key(ctx, h->ack_signer, false, msg, msgsz)))
        goto out;
    if (data_pair(in, out, &ifd, &ofd, tmp, sizeof tmp, &din, &dout, msg,
                  msgsz) != 0)
        goto out;
    gpgme_error_t err = gpgme_op_decrypt_verify(ctx, din, dout);
    gpgme_verify_result_t vr = err ? NULL : gpgme_op_verify_result(ctx);
    bool ok = false;
    if (err) {
        gpg_msg(msg, msgsz, "cannot be decrypted (tampered with, or not "
                "encrypted for ferry's key)", err);
    } else if (!vr || !vr->signatures) {
        snprintf(msg, msgsz, "is not signed: refused (ack-pgp wants a "
                 "signature by %s)", h->ack_signer);
    } else {
        for (gpgme_signature_t s = vr->signatures; s; s = s->next) {
            if (gpgme_err_code(s->status) != GPG_ERR_NO_ERROR) {
                gpg_msg(msg, msgsz, "signature does not verify", s->status);
                ok = false;
                break;
            }
            if (!signed_by(want, s->fpr)) {
                snprintf(msg, msgsz, "is signed by key %s, not by the ack "
                         "signer %s: refused", s->fpr ? s->fpr : "?",
                         h->ack_signer);
                ok = false;
                break;
            }
            ok = true;
        }
    }
    gpgme_data_release(din);
    gpgme_data_release(dout);
    close(ifd);
    rc = out_finish(ofd, tmp, out, ok, msg, msgsz);
out:
    gpgme_key_unref(want);
    gpgme_release(ctx);
    return rc;
}
