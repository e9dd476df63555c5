/* spool_search.c - the search index behind `ferry find`: keyed hashes of
 * searchable values, written at intake in the record's own transaction,
 * looked up by one primary-key probe, rebuilt by a reindex.
 *
 * Contract: a value never reaches the ledger, only
 * HMAC-SHA-256(search key, service NUL index NUL value).  The key lives
 * in a 0600 file outside the ledger (spool_search_key_ensure), so a copy
 * of ledger.db alone cannot confirm a guessed NINO.  The values
 * themselves (normalised) come from mappings/map_search.c.  On the
 * statement layer (sql.h): the same SQL on SQLite and PostgreSQL. */
#include "spool/spool_int.h"
#include "spool/spool_row.h"
#include "spool/sql.h"
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
        "INSERT INTO search(hash, record_id) VALUES(?, ?)"
        " ON CONFLICT DO NOTHING";
    for (size_t i = 0; i < n; i++) {
        unsigned char h[HASH_LEN];
        if (!pairs[2 * i] || !pairs[2 * i + 1])
            continue;
        if (search_hash(s, service, pairs[2 * i], pairs[2 * i + 1], h) != 0) {
            errs_add(e, service, "cannot hash a search value");
            return -1;
        }
        struct sql_stmt *st = spool_sql(s, sql, e);
        if (!st)
            return -1;
        sql_bind_blob(st, 1, h, HASH_LEN);
        sql_bind_int64(st, 2, id);
        enum sql_step r = sql_step(st);
        sql_reset(st);
        if (r != SQL_STEP_DONE) {
            spool_sqlerr(s, e, service, "storing a search entry");
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

/* collect - run st (bound, its LIMIT at most limit - out->n) and
 * append every row not there yet, without payloads */
static int collect(struct spool *s, struct sql_stmt *st,
                   struct spool_list *out, size_t *cap, size_t limit,
                   struct errs *e)
{
    enum sql_step r = SQL_STEP_DONE;
    while (out->n < limit && (r = sql_step(st)) == SQL_STEP_ROW) {
        int64_t id = sql_col_int64(st, 0);
        bool seen = false;
        for (size_t i = 0; i < out->n && !seen; i++)
            seen = out->v[i]->id == id;
        if (seen)
            continue;
        struct spool_record *rec = calloc(1, sizeof *rec);
        if (!rec || spool_row_fill_sql(s, st, 0, rec) != 0
            || list_push(out, cap, rec) != 0) {
            spool_record_free(rec);
            errs_add(e, "", "out of memory");
            return -1;
        }
    }
    if (out->n < limit && r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "searching");
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
         * for the whole service (a million rows) and tests each id.
         * The join's condition is in WHERE: PostgreSQL takes no ON after
         * CROSS JOIN (and plans the join its own way). */
        "SELECT " SPOOL_REC_COLS " FROM search s CROSS JOIN records_full r"
        " WHERE r.id = s.record_id AND s.hash = ?1 AND r.service = ?2"
        " ORDER BY r.id LIMIT ?3";
    out->v = NULL;
    out->n = 0;
    if (!s->opts.search) {
        errs_add(e, s->dir, "the spool was opened without its search key");
        return -1;
    }
    unsigned char h[HASH_LEN];
    size_t cap = 0;
    int rc = -1;
    if (!limit)
        limit = FIND_DEFAULT_LIMIT;
    spool_lock(s);
    if (search_hash(s, service, index, value, h) != 0) {
        spool_unlock(s);
        errs_add(e, service, "cannot hash the search value");
        return -1;
    }
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (st) {
        sql_bind_blob(st, 1, h, HASH_LEN);
        sql_bind_text(st, 2, service);
        sql_bind_int64(st, 3, (int64_t)limit);
        rc = collect(s, st, out, &cap, limit, e);
        sql_reset(st);
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
        " o.ref = r.ref AND o.id < r.id) ORDER BY id LIMIT ?3";
    out->v = NULL;
    out->n = 0;
    size_t cap = 0;
    int rc = 0;
    spool_lock(s);
    struct sql_stmt *st = spool_sql(s, by_ref, e);
    if (!st) {
        rc = -1;
    } else {
        sql_bind_text(st, 1, text);
        rc = collect(s, st, out, &cap, FIND_DEFAULT_LIMIT, e);
        sql_reset(st);
    }
    for (size_t i = 0; rc == 0 && i < nservices; i++) {
        /* (service, fe_ref) is records_feref: one probe per service */
        st = spool_sql(s, by_fe, e);
        if (!st) {
            rc = -1;
            break;
        }
        sql_bind_text(st, 1, services[i]);
        sql_bind_text(st, 2, text);
        sql_bind_int64(st, 3, (int64_t)(FIND_DEFAULT_LIMIT - out->n));
        rc = collect(s, st, out, &cap, FIND_DEFAULT_LIMIT, e);
        sql_reset(st);
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
    int rc = -1;
    char *service = NULL;
    struct sql_stmt *st = spool_sql(s, sel, e);
    if (!st)
        goto done;
    sql_bind_text(st, 1, ref);
    enum sql_step r = sql_step(st);
    int64_t id = r == SQL_STEP_ROW ? sql_col_int64(st, 0) : 0;
    service = r == SQL_STEP_ROW ? sql_col_strdup(st, 1) : NULL;
    sql_reset(st);
    if (r == SQL_STEP_DONE) {
        errs_add(e, ref, "no such record");
        goto done;
    }
    struct sql_stmt *d = service ? spool_sql(s, del, e) : NULL;
    if (d) {
        sql_bind_int64(d, 1, id);
        r = sql_step(d);
        sql_reset(d);
    }
    if (!d || r != SQL_STEP_DONE) {
        if (d || !service)
            spool_sqlerr(s, e, ref, "replacing search entries");
        goto done;
    }
    rc = spool_search_add(s, id, service, pairs, n, e);
done:
    free(service);
    return spool_end(s, rc, e);
}

/* reindex_one - index one row of the reindex read (id, ref, payload_enc,
 * record_json) inside the caller's transaction */
static int reindex_one(struct spool *s, struct sql_stmt *q,
                       const char *service,
                       int (*values)(void *ctx, const char *record_json,
                                     char ***pairs, size_t *n),
                       void (*values_free)(char **pairs, size_t n),
                       void *ctx, struct errs *e)
{
    int64_t id = sql_col_int64(q, 0);
    const char *ref = sql_col_text(q, 1);
    bool enc = sql_col_int64(q, 2) != 0;
    size_t bn = 0;
    const void *blob = sql_col_blob(q, 3, &bn);
    if (!blob)
        return 0;
    unsigned char *plain = NULL;
    size_t pn = 0;
    if (enc) {
        const char *why = NULL;
        if (spool_open_sealed(s, ref, "record", blob, bn, &plain, &pn,
                              &why) != 0) {
            errs_add(e, ref, "%s", why ? why : "cannot decrypt");
            return -1;
        }
    } else {
        plain = malloc(bn + 1);
        if (!plain) {
            errs_add(e, ref, "out of memory");
            return -1;
        }
        memcpy(plain, blob, bn);
        pn = bn;
    }
    char *json = realloc(plain, pn + 1);
    if (!json) {
        free(plain);
        errs_add(e, ref, "out of memory");
        return -1;
    }
    json[pn] = '\0';
    char **pairs = NULL;
    size_t np = 0;
    int vr = values(ctx, json, &pairs, &np);
    explicit_bzero(json, pn);
    free(json);
    if (vr != 0) {
        errs_add(e, ref, "cannot read the stored record");
        return -1;
    }
    int ar = spool_search_add(s, id, service, pairs, np, e);
    values_free(pairs, np);
    return ar;
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
    /* the service's records in keyset pages (spool_page_rows) */
    static const char sel[] =
        "SELECT r.id, r.ref, r.payload_enc, d.record_json FROM records r"
        " JOIN record_data d ON d.id = r.id WHERE r.service = ?1"
        " AND r.id > ?2 AND r.payload_purged = 0 AND NOT EXISTS (SELECT 1"
        " FROM records o WHERE o.ref = r.ref AND o.id < r.id)"
        " ORDER BY r.id LIMIT ?3";
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
    int rc = -1;
    struct sql_stmt *d = spool_sql(s, del, e);
    if (!d)
        goto end;
    sql_bind_text(d, 1, service);
    enum sql_step r = sql_step(d);
    sql_reset(d);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, service, "clearing search entries");
        goto end;
    }
    /* the inserts use statements of their own (cached by their text)
     * while this one is still stepping */
    struct sql_stmt *q = spool_sql(s, sel, e);
    if (!q)
        goto end;
    size_t page = spool_page_rows(s), got;
    int64_t after = 0;
    sql_bind_text(q, 1, service);
    sql_bind_int64(q, 3, (int64_t)page);
    do {
        got = 0;
        sql_bind_int64(q, 2, after);
        while ((r = sql_step(q)) == SQL_STEP_ROW) {
            got++;
            after = sql_col_int64(q, 0);
            if (reindex_one(s, q, service, values, values_free, ctx,
                            e) != 0) {
                sql_reset(q);
                goto end;
            }
            done++;
        }
        sql_reset(q);
        if (r != SQL_STEP_DONE) {
            spool_sqlerr(s, e, service, "reading records to index");
            goto end;
        }
    } while (got == page);
    char detail[64];
    snprintf(detail, sizeof detail, "records=%zu", done);
    rc = spool_audit_append(s, clock_wall_ms(), actor ? actor : "ferry",
                            "reindex", NULL, service, "", "", detail, e);
end:
    rc = spool_end(s, rc, e);
    if (rc == 0 && records)
        *records = done;
    return rc;
}
