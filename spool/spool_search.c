/* spool_search.c - the search index behind `ferry find`: keyed hashes of
 * searchable values, written at intake in the record's own transaction,
 * looked up by one primary-key probe, rebuilt by a reindex.
 *
 * Contract: a value never reaches the ledger, only
 * HMAC-SHA-256(search key, service NUL index NUL value).  The key lives
 * in a 0600 file outside the ledger (spool_search_key_ensure), so a copy
 * of ledger.db alone cannot confirm a guessed NINO.  The values
 * themselves (normalised) come from mappings/map_search.c. */
#include "spool/spool_int.h"
#include "util/clock.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HASH_LEN 32
#define FIND_DEFAULT_LIMIT 100

/* search_pads - the key's HMAC pads absorbed once into s->search_in and
 * s->search_out (RFC 2104 with SHA-256), so each value costs two digest
 * updates and no provider look-up: HMAC() fetched and set up a MAC for
 * every value, a tenth of an intake's time.  0, or -1 (out of memory). */
static int search_pads(struct spool *s)
{
    if (s->search_tmp)
        return 0;
    unsigned char ipad[64], opad[64];
    for (size_t i = 0; i < sizeof ipad; i++) {
        unsigned char k = i < SPOOL_SEARCH_KEY_LEN ? s->opts.search_key[i] : 0;
        ipad[i] = k ^ 0x36;
        opad[i] = k ^ 0x5c;
    }
    EVP_MD_CTX *in = EVP_MD_CTX_new(), *out = EVP_MD_CTX_new(),
               *tmp = EVP_MD_CTX_new();
    int ok = in && out && tmp
        && EVP_DigestInit_ex(in, EVP_sha256(), NULL) == 1
        && EVP_DigestUpdate(in, ipad, sizeof ipad) == 1
        && EVP_DigestInit_ex(out, EVP_sha256(), NULL) == 1
        && EVP_DigestUpdate(out, opad, sizeof opad) == 1;
    explicit_bzero(ipad, sizeof ipad);
    explicit_bzero(opad, sizeof opad);
    if (!ok) {
        EVP_MD_CTX_free(in);
        EVP_MD_CTX_free(out);
        EVP_MD_CTX_free(tmp);
        return -1;
    }
    s->search_in = in;
    s->search_out = out;
    s->search_tmp = tmp;
    return 0;
}

/* search_hash - the keyed hash of (service, index, value): HMAC-SHA-256
 * of service NUL index NUL value.  Expects db_mu held (the pads are the
 * spool's). */
static int search_hash(struct spool *s, const char *service,
                       const char *index, const char *value,
                       unsigned char out[HASH_LEN])
{
    if (search_pads(s) != 0)
        return -1;
    unsigned char inner[HASH_LEN];
    unsigned int il = 0, ol = 0;
    EVP_MD_CTX *t = s->search_tmp;
    int ok = EVP_MD_CTX_copy_ex(t, s->search_in) == 1
        && EVP_DigestUpdate(t, service, strlen(service) + 1) == 1
        && EVP_DigestUpdate(t, index, strlen(index) + 1) == 1
        && EVP_DigestUpdate(t, value, strlen(value)) == 1
        && EVP_DigestFinal_ex(t, inner, &il) == 1
        && EVP_MD_CTX_copy_ex(t, s->search_out) == 1
        && EVP_DigestUpdate(t, inner, il) == 1
        && EVP_DigestFinal_ex(t, out, &ol) == 1;
    explicit_bzero(inner, sizeof inner);
    return ok && il == HASH_LEN && ol == HASH_LEN ? 0 : -1;
}

int spool_search_add(struct spool *s, int64_t id, const char *service,
                     char *const *pairs, size_t n, struct errs *e)
{
    if (!s->opts.search || !pairs || !n)
        return 0;
    static const char sql[] =
        "INSERT OR IGNORE INTO search(hash, record_id) VALUES(?, ?)";
    for (size_t i = 0; i < n; i++) {
        unsigned char h[HASH_LEN];
        if (!pairs[2 * i] || !pairs[2 * i + 1])
            continue;
        if (search_hash(s, service, pairs[2 * i], pairs[2 * i + 1], h) != 0) {
            errs_add(e, service, "cannot hash a search value");
            return -1;
        }
        sqlite3_stmt *st = spool_stmt(s, sql, e);
        if (!st)
            return -1;
        sqlite3_bind_blob(st, 1, h, HASH_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, id);
        int r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r != SQLITE_DONE) {
            spool_dberr(s, e, service, "storing a search entry");
            return -1;
        }
    }
    return 0;
}

int spool_search_key_ensure(const char *path,
                            unsigned char key[SPOOL_SEARCH_KEY_LEN],
                            bool *created, struct errs *e)
{
    struct stat sb;
    if (created)
        *created = false;
    if (stat(path, &sb) == 0)
        return spool_key_load(path, key, e);
    if (errno != ENOENT) {
        errs_add(e, path, "search key: %s", strerror(errno));
        return -1;
    }
    unsigned char raw[SPOOL_SEARCH_KEY_LEN];
    char hex[2 * SPOOL_SEARCH_KEY_LEN + 2];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        errs_add(e, path, "search key: no random bytes");
        return -1;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[2 * SPOOL_SEARCH_KEY_LEN] = '\n';
    hex[2 * SPOOL_SEARCH_KEY_LEN + 1] = '\0';
    int rc = fs_write_atomic(path, hex, 2 * SPOOL_SEARCH_KEY_LEN + 1, 0600, e);
    if (rc == 0) {
        memcpy(key, raw, sizeof raw);
        if (created)
            *created = true;
    }
    explicit_bzero(raw, sizeof raw);
    explicit_bzero(hex, sizeof hex);
    return rc;
}

/* list_push - append a filled record to out (taken) */
static int list_push(struct spool_list *out, size_t *cap,
                     struct spool_record *r)
{
    if (out->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct spool_record **v = realloc(out->v, nc * sizeof *v);
        if (!v)
            return -1;
        out->v = v;
        *cap = nc;
    }
    out->v[out->n++] = r;
    return 0;
}

/* collect - run st (bound) and append every row, without payloads */
static int collect(struct spool *s, sqlite3_stmt *st, struct spool_list *out,
                   size_t *cap, size_t limit, struct errs *e)
{
    int r = SQLITE_DONE;
    while (out->n < limit && (r = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        bool seen = false;
        for (size_t i = 0; i < out->n && !seen; i++)
            seen = out->v[i]->id == id;
        if (seen)
            continue;
        struct spool_record *rec = calloc(1, sizeof *rec);
        if (!rec || spool_row_fill(s, st, 0, rec) != 0
            || list_push(out, cap, rec) != 0) {
            spool_record_free(rec);
            errs_add(e, "", "out of memory");
            return -1;
        }
    }
    if (out->n < limit && r != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "searching");
        return -1;
    }
    return 0;
}

int spool_find(struct spool *s, const char *service, const char *index,
               const char *value, size_t limit, struct spool_list *out,
               struct errs *e)
{
    static const char sql[] =
        /* CROSS JOIN fixes the order: the hash probe first, then each
         * record by rowid.  Left to itself SQLite walks records_feref
         * for the whole service (a million rows) and tests each id. */
        "SELECT " SPOOL_REC_COLS " FROM search s CROSS JOIN records_full r"
        " ON r.id = s.record_id WHERE s.hash = ? AND r.service = ?"
        " ORDER BY r.id";
    out->v = NULL;
    out->n = 0;
    if (!s->opts.search) {
        errs_add(e, s->dir, "the spool was opened without its search key");
        return -1;
    }
    unsigned char h[HASH_LEN];
    size_t cap = 0;
    int rc = -1;
    spool_lock(s);
    if (search_hash(s, service, index, value, h) != 0) {
        spool_unlock(s);
        errs_add(e, service, "cannot hash the search value");
        return -1;
    }
    sqlite3_stmt *st = spool_stmt(s, sql, e);
    if (st) {
        sqlite3_bind_blob(st, 1, h, HASH_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, service, -1, SQLITE_STATIC);
        rc = collect(s, st, out, &cap, limit ? limit : FIND_DEFAULT_LIMIT, e);
        sqlite3_reset(st);
    }
    spool_unlock(s);
    if (rc != 0)
        spool_list_free(out);
    return rc;
}

int spool_find_ref(struct spool *s, const char *text,
                   const char *const *services, size_t nservices,
                   struct spool_list *out, struct errs *e)
{
    /* one row per record: its first delivery (ferry show lists them all) */
    static const char by_ref[] =
        "SELECT " SPOOL_REC_COLS " FROM records_full WHERE ref = ?"
        " ORDER BY id LIMIT 1";
    static const char by_fe[] =
        "SELECT " SPOOL_REC_COLS " FROM records_full r WHERE service = ?1 AND"
        " fe_ref = ?2 AND NOT EXISTS (SELECT 1 FROM records o WHERE"
        " o.ref = r.ref AND o.id < r.id) ORDER BY id";
    out->v = NULL;
    out->n = 0;
    size_t cap = 0;
    int rc = 0;
    spool_lock(s);
    sqlite3_stmt *st = spool_stmt(s, by_ref, e);
    if (!st) {
        rc = -1;
    } else {
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        rc = collect(s, st, out, &cap, FIND_DEFAULT_LIMIT, e);
        sqlite3_reset(st);
    }
    for (size_t i = 0; rc == 0 && i < nservices; i++) {
        /* (service, fe_ref) is records_feref: one probe per service */
        st = spool_stmt(s, by_fe, e);
        if (!st) {
            rc = -1;
            break;
        }
        sqlite3_bind_text(st, 1, services[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        rc = collect(s, st, out, &cap, FIND_DEFAULT_LIMIT, e);
        sqlite3_reset(st);
    }
    spool_unlock(s);
    if (rc != 0)
        spool_list_free(out);
    return rc;
}

int spool_search_set(struct spool *s, const char *ref, char *const *pairs,
                     size_t n, struct errs *e)
{
    /* a record's entries point at its first delivery */
    static const char sel[] = "SELECT id, service FROM records WHERE ref = ?"
                              " ORDER BY id LIMIT 1";
    static const char del[] = "DELETE FROM search WHERE record_id = ?";
    if (!s->opts.search)
        return 0;
    spool_lock(s);
    if (spool_begin(s, e) != 0) {
        spool_unlock(s);
        return -1;
    }
    sqlite3_stmt *st = spool_stmt(s, sel, e);
    if (!st)
        goto fail;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        errs_add(e, ref, "no such record");
        goto fail;
    }
    int64_t id = sqlite3_column_int64(st, 0);
    char *service = spool_col_strdup(st, 1);
    sqlite3_reset(st);
    sqlite3_stmt *d = spool_stmt(s, del, e);
    int r = SQLITE_ERROR;
    if (d) {
        sqlite3_bind_int64(d, 1, id);
        r = sqlite3_step(d);
        sqlite3_reset(d);
    }
    if (!service || r != SQLITE_DONE
        || spool_search_add(s, id, service, pairs, n, e) != 0) {
        if (!service || r != SQLITE_DONE)
            spool_dberr(s, e, ref, "replacing search entries");
        free(service);
        goto fail;
    }
    free(service);
    if (spool_commit(s, e) != 0) {
        spool_unlock(s);
        return -1;
    }
    spool_unlock(s);
    return 0;
fail:
    spool_rollback(s);
    spool_unlock(s);
    return -1;
}

int spool_search_reindex(struct spool *s, const char *service,
                         int (*values)(void *ctx, const char *record_json,
                                       char ***pairs, size_t *n),
                         void (*values_free)(char **pairs, size_t n),
                         void *ctx, const char *actor, size_t *records,
                         struct errs *e)
{
    static const char del[] =
        "DELETE FROM search WHERE record_id IN"
        " (SELECT id FROM records WHERE service = ?)";
    static const char sel[] =
        "SELECT r.id, r.ref, r.payload_enc, d.record_json FROM records r"
        " JOIN record_data d ON d.id = r.id WHERE r.service = ?"
        " AND r.payload_purged = 0 AND NOT EXISTS (SELECT 1 FROM records o"
        " WHERE o.ref = r.ref AND o.id < r.id) ORDER BY r.id";
    size_t done = 0;
    if (!s->opts.search) {
        errs_add(e, s->dir, "the spool was opened without its search key");
        return -1;
    }
    spool_lock(s);
    if (spool_begin(s, e) != 0) {
        spool_unlock(s);
        return -1;
    }
    sqlite3_stmt *d = spool_stmt(s, del, e);
    if (!d)
        goto fail;
    sqlite3_bind_text(d, 1, service, -1, SQLITE_STATIC);
    int r = sqlite3_step(d);
    sqlite3_reset(d);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, service, "clearing search entries");
        goto fail;
    }
    /* a statement of its own: the cached ones are used for the inserts
     * while this one is still stepping */
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sel, -1, &q, NULL) != SQLITE_OK) {
        spool_dberr(s, e, service, "reading records to index");
        goto fail;
    }
    sqlite3_bind_text(q, 1, service, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        const char *ref = (const char *)sqlite3_column_text(q, 1);
        bool enc = sqlite3_column_int(q, 2) != 0;
        const void *blob = sqlite3_column_blob(q, 3);
        size_t bn = (size_t)sqlite3_column_bytes(q, 3);
        if (!blob)
            continue;
        unsigned char *plain = NULL;
        size_t pn = 0;
        if (enc) {
            const char *why = NULL;
            if (spool_open_sealed(s, ref, "record", blob, bn, &plain, &pn,
                                  &why) != 0) {
                errs_add(e, ref, "%s", why ? why : "cannot decrypt");
                sqlite3_finalize(q);
                goto fail;
            }
        } else {
            plain = malloc(bn + 1);
            if (!plain) {
                errs_add(e, ref, "out of memory");
                sqlite3_finalize(q);
                goto fail;
            }
            memcpy(plain, blob, bn);
            pn = bn;
        }
        char *json = realloc(plain, pn + 1);
        if (!json) {
            free(plain);
            errs_add(e, ref, "out of memory");
            sqlite3_finalize(q);
            goto fail;
        }
        json[pn] = '\0';
        char **pairs = NULL;
        size_t np = 0;
        int vr = values(ctx, json, &pairs, &np);
        explicit_bzero(json, pn);
        free(json);
        if (vr != 0) {
            errs_add(e, ref, "cannot read the stored record");
            sqlite3_finalize(q);
            goto fail;
        }
        int ar = spool_search_add(s, id, service, pairs, np, e);
        values_free(pairs, np);
        if (ar != 0) {
            sqlite3_finalize(q);
            goto fail;
        }
        done++;
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, service, "reading records to index");
        goto fail;
    }
    char detail[64];
    snprintf(detail, sizeof detail, "records=%zu", done);
    if (spool_audit_append(s, clock_wall_ms(), actor ? actor : "ferry",
                           "reindex", NULL, service, "", "", detail, e) != 0)
        goto fail;
    if (spool_commit(s, e) != 0) {
        spool_unlock(s);
        return -1;
    }
    spool_unlock(s);
    if (records)
        *records = done;
    return 0;
fail:
    spool_rollback(s);
    spool_unlock(s);
    return -1;
}
