/* spool_idem.c - clients' Idempotency-Keys in the ledger (client_keys).
 *
 * The submission's identity is records.idem_key (the front-end's
 * reference, spool_enqueue.c).  A client's key is remembered beside it,
 * per (service, client), with a digest of the payload it came with and
 * the answer it got: the same key with the same payload gets that answer
 * again (a replay), with another payload a conflict.  The digest is an
 * HMAC under the spool's key when payloads are encrypted, so the table
 * says nothing about a payload that the payload column does not.
 *
 * Called inside spool_enqueue's transaction (db_mu held). */
#include "spool/spool_int.h"
#include "util/errs.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

/* digest - of it's payload; 0 ok */
static int digest(const struct spool *s, const struct spool_item *it,
                  unsigned char out[SHA256_DIGEST_LENGTH])
{
    unsigned int n = 0;
    const unsigned char *p = it->payload ? it->payload
                                         : (const unsigned char *)"";
    if (s->opts.encrypt)
        return HMAC(EVP_sha256(), s->opts.key, SPOOL_KEY_LEN, p,
                    it->payload_len, out, &n) ? 0 : -1;
    return EVP_Digest(p, it->payload_len, out, &n, EVP_sha256(), NULL) == 1
               ? 0 : -1;
}

/* bind_key - (service, client, key) of it as parameters 1..3 */
static void bind_key(sqlite3_stmt *st, const struct spool_item *it)
{
    sqlite3_bind_text(st, 1, it->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, it->client ? it->client : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, it->client_key, -1, SQLITE_STATIC);
}

/* spool_key_find - the answer already given to it's client_key: 1 with
 * res filled (replay, or conflict), 0 unknown key, -1 with e */
int spool_key_find(struct spool *s, const struct spool_item *it,
                   struct spool_result *res, struct errs *e)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    if (digest(s, it, d) != 0) {
        errs_add(e, it->service, "cannot digest the payload");
        return -1;
    }
    sqlite3_stmt *st = spool_stmt(s, "SELECT digest, ref, duplicate FROM "
                                  "client_keys WHERE service = ? AND "
                                  "client = ? AND key = ?", e);
    if (!st)
        return -1;
    bind_key(st, it);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const void *was = sqlite3_column_blob(st, 0);
        bool same = was && sqlite3_column_bytes(st, 0) == (int)sizeof d
                    && memcmp(was, d, sizeof d) == 0;
        snprintf(res->ref, SPOOL_REF_MAX, "%s",
                 (const char *)sqlite3_column_text(st, 1));
        res->duplicate = same && sqlite3_column_int(st, 2) != 0;
        res->replay = same;
        res->conflict = !same;
        sqlite3_reset(st);
        return 1;
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, it->service, "checking idempotency key");
        return -1;
    }
    return 0;
}

/* spool_key_save - remember it's client_key with the answer in res */
int spool_key_save(struct spool *s, const struct spool_item *it,
                   const struct spool_result *res, int64_t now,
                   struct errs *e)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    if (digest(s, it, d) != 0) {
        errs_add(e, it->service, "cannot digest the payload");
        return -1;
    }
    sqlite3_stmt *st = spool_stmt(s, "INSERT INTO client_keys(service, "
                                  "client, key, digest, ref, duplicate, "
                                  "created_at) VALUES(?,?,?,?,?,?,?)", e);
    if (!st)
        return -1;
    bind_key(st, it);
    sqlite3_bind_blob(st, 4, d, (int)sizeof d, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, res->ref, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, res->duplicate ? 1 : 0);
    sqlite3_bind_int64(st, 7, now);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, it->service, "storing idempotency key");
        return -1;
    }
    return 0;
}
