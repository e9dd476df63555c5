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
#include "spool/sql.h"
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
static int bind_key(struct sql_stmt *st, const struct spool_item *it)
{
    return sql_bind_text(st, 1, it->service) != 0
           || sql_bind_text(st, 2, it->client ? it->client : "") != 0
           || sql_bind_text(st, 3, it->client_key) != 0 ? -1 : 0;
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
    struct sql_stmt *st = spool_sql(s, "SELECT digest, ref, duplicate FROM "
                                    "client_keys WHERE service = ? AND "
                                    "client = ? AND key = ?", e);
    if (!st)
        return -1;
    enum sql_step r = bind_key(st, it) == 0 ? sql_step(st) : SQL_STEP_ERROR;
    if (r == SQL_STEP_ROW) {
        size_t n = 0;
        const void *was = sql_col_blob(st, 0, &n);
        bool same = was && n == sizeof d && memcmp(was, d, sizeof d) == 0;
        const char *ref = sql_col_text(st, 1);
        snprintf(res->ref, SPOOL_REF_MAX, "%s", ref ? ref : "");
        res->duplicate = same && sql_col_int64(st, 2) != 0;
        res->replay = same;
        res->conflict = !same;
        sql_reset(st);
        return 1;
    }
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, it->service, "checking idempotency key");
        return -1;
    }
    return 0;
}

/* spool_key_save - remember it's client_key with the answer in res.  The
 * key is the table's primary key: two nodes saving one key at once
 * cannot both succeed (the second's transaction fails on the constraint,
 * and its group is tried again, finding the first's answer). */
int spool_key_save(struct spool *s, const struct spool_item *it,
                   const struct spool_result *res, int64_t now,
                   struct errs *e)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    if (digest(s, it, d) != 0) {
        errs_add(e, it->service, "cannot digest the payload");
        return -1;
    }
    struct sql_stmt *st = spool_sql(s, "INSERT INTO client_keys(service, "
                                    "client, key, digest, ref, duplicate, "
                                    "created_at) VALUES(?,?,?,?,?,?,?)", e);
    if (!st)
        return -1;
    enum sql_step r = SQL_STEP_ERROR;
    if (bind_key(st, it) == 0 && sql_bind_blob(st, 4, d, sizeof d) == 0
        && sql_bind_text(st, 5, res->ref) == 0
        && sql_bind_int64(st, 6, res->duplicate ? 1 : 0) == 0
        && sql_bind_int64(st, 7, now) == 0)
        r = sql_step(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, it->service, "storing idempotency key");
        return -1;
    }
    return 0;
}

/* ---- many at once: PostgreSQL's group commit (spool_enqueue.c) ---------
 * One statement answers up to FIND_CHUNK lookups, so a group of a
 * thousand submissions costs a few round trips, not a thousand. */
#define FIND_CHUNK 100

/* in_sql - head, then nrows rows of ncols parameters "(?,?),(?,?)",
 * then tail; malloc'd (NULL when out of memory) */
static char *in_sql(const char *head, int ncols, size_t nrows,
                    const char *tail)
{
    size_t hn = strlen(head), tn = strlen(tail);
    size_t row = 2 * (size_t)ncols + 2;          /* "(?,?)," */
    char *q = malloc(hn + row * nrows + tn + 1);
    if (!q)
        return NULL;
    size_t k = hn;
    memcpy(q, head, hn);
    for (size_t r = 0; r < nrows; r++) {
        q[k++] = r ? ',' : ' ';
        q[k++] = '(';
        for (int c = 0; c < ncols; c++) {
            if (c)
                q[k++] = ',';
            q[k++] = '?';
        }
        q[k++] = ')';
    }
    memcpy(q + k, tail, tn + 1);
    return q;
}

/* chunk_of - how many of the left lookups one statement takes: 100, 10
 * or 1, so a lookup caches at most three statements */
static size_t chunk_of(size_t left)
{
    return left >= FIND_CHUNK ? FIND_CHUNK : left >= 10 ? 10 : 1;
}

/* many - run the lookup of n keys (ncols each) in chunks: texts[] caches
 * the three statement texts; bind binds key i at parameter p; row takes
 * each answer row of the chunk starting at i0.  0 or -1 with e. */
struct many {
    struct spool *s;
    const char *head, *tail;
    int ncols;
    const char *what;
    int (*bind)(struct many *m, struct sql_stmt *st, int p, size_t i);
    int (*row)(struct many *m, struct sql_stmt *st, size_t i0, size_t n);
    void *arg;
};

static int many_run(struct many *m, size_t n, struct errs *e)
{
    char *texts[3] = { NULL, NULL, NULL };
    int rc = -1;
    for (size_t i = 0; i < n;) {
        size_t c = chunk_of(n - i);
        int slot = c == FIND_CHUNK ? 0 : c == 10 ? 1 : 2;
        if (!texts[slot]
            && !(texts[slot] = in_sql(m->head, m->ncols, c, m->tail))) {
            errs_add(e, m->s->dir, "out of memory");
            goto done;
        }
        struct sql_stmt *st = spool_sql(m->s, texts[slot], e);
        if (!st)
            goto done;
        enum sql_step r = SQL_STEP_ROW;
        for (size_t k = 0; k < c && r == SQL_STEP_ROW; k++)
            if (m->bind(m, st, (int)k * m->ncols + 1, i + k) != 0)
                r = SQL_STEP_ERROR;
        while (r == SQL_STEP_ROW && (r = sql_step(st)) == SQL_STEP_ROW)
            m->row(m, st, i, c);
        sql_reset(st);
        if (r != SQL_STEP_DONE) {
            spool_sqlerr(m->s, e, NULL, m->what);
            goto done;
        }
        i += c;
    }
    rc = 0;
done:
    for (int k = 0; k < 3; k++)
        free(texts[k]);
    return rc;
}

/* digests - of n items' payloads (malloc'd), NULL with e */
static unsigned char (*digests(const struct spool *s,
                               const struct spool_item *const *its, size_t n,
                               struct errs *e))[SHA256_DIGEST_LENGTH]
{
    unsigned char (*dig)[SHA256_DIGEST_LENGTH] = malloc(n * sizeof *dig);
    if (!dig) {
        errs_add(e, s->dir, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (digest(s, its[i], dig[i]) != 0) {
            errs_add(e, its[i]->service, "cannot digest the payload");
            free(dig);
            return NULL;
        }
    return dig;
}

struct keys_arg {
    const struct spool_item *const *its;
    struct spool_result *const *res;
    bool *known;
    unsigned char (*dig)[SHA256_DIGEST_LENGTH];
};

static int keys_bind(struct many *m, struct sql_stmt *st, int p, size_t i)
{
    const struct keys_arg *a = m->arg;
    const struct spool_item *it = a->its[i];
    return sql_bind_text(st, p, it->service) != 0
        || sql_bind_text(st, p + 1, it->client ? it->client : "") != 0
        || sql_bind_text(st, p + 2, it->client_key) != 0 ? -1 : 0;
}

static int keys_row(struct many *m, struct sql_stmt *st, size_t i0, size_t n)
{
    struct keys_arg *a = m->arg;
    const char *svc = sql_col_text(st, 0), *cl = sql_col_text(st, 1),
               *key = sql_col_text(st, 2);
    for (size_t i = i0; svc && cl && key && i < i0 + n; i++) {
        const struct spool_item *it = a->its[i];
        if (strcmp(it->service, svc) != 0
            || strcmp(it->client ? it->client : "", cl) != 0
            || strcmp(it->client_key, key) != 0)
            continue;
        size_t dn = 0;
        const void *was = sql_col_blob(st, 3, &dn);
        bool same = was && dn == SHA256_DIGEST_LENGTH
                    && memcmp(was, a->dig[i], dn) == 0;
        const char *ref = sql_col_text(st, 4);
        struct spool_result *res = a->res[i];
        snprintf(res->ref, SPOOL_REF_MAX, "%s", ref ? ref : "");
        res->duplicate = same && sql_col_int64(st, 5) != 0;
        res->replay = same;
        res->conflict = !same;
        a->known[i] = true;
    }
    return 0;
}

int spool_keys_find_many(struct spool *s, const struct spool_item *const *its,
                         struct spool_result *const *res, bool *known,
                         size_t n, struct errs *e)
{
    for (size_t i = 0; i < n; i++)
        known[i] = false;
    if (n == 0)
        return 0;
    unsigned char (*dig)[SHA256_DIGEST_LENGTH] = digests(s, its, n, e);
    if (!dig)
        return -1;
    struct keys_arg a = { its, res, known, dig };
    struct many m = { s, "SELECT service, client, key, digest, ref, "
                      "duplicate FROM client_keys WHERE (service, client, "
                      "key) IN (VALUES", ")", 3, "checking idempotency keys",
                      keys_bind, keys_row, &a };
    int rc = many_run(&m, n, e);
    free(dig);
    return rc;
}

struct dups_arg {
    const struct spool_item *const *its;
    const char *const *targets;
    char (*refs)[SPOOL_REF_MAX];
};

static int dups_bind(struct many *m, struct sql_stmt *st, int p, size_t i)
{
    const struct dups_arg *a = m->arg;
    return sql_bind_text(st, p, a->its[i]->service) != 0
        || sql_bind_text(st, p + 1, a->targets[i]) != 0
        || sql_bind_text(st, p + 2, a->its[i]->idem_key) != 0 ? -1 : 0;
}

static int dups_row(struct many *m, struct sql_stmt *st, size_t i0, size_t n)
{
    struct dups_arg *a = m->arg;
    const char *svc = sql_col_text(st, 0), *tg = sql_col_text(st, 1),
               *key = sql_col_text(st, 2), *ref = sql_col_text(st, 3);
    for (size_t i = i0; svc && tg && key && ref && i < i0 + n; i++)
        if (!a->refs[i][0] && strcmp(a->its[i]->service, svc) == 0
            && strcmp(a->targets[i], tg) == 0
            && strcmp(a->its[i]->idem_key, key) == 0)
            snprintf(a->refs[i], SPOOL_REF_MAX, "%s", ref);
    return 0;
}

int spool_dups_find_many(struct spool *s, const struct spool_item *const *its,
                         const char *const *targets,
                         char (*refs)[SPOOL_REF_MAX], size_t n,
                         struct errs *e)
{
    for (size_t i = 0; i < n; i++)
        refs[i][0] = '\0';
    struct dups_arg a = { its, targets, refs };
    /* records retention moved to the archive are still known */
    /* a lookup per key, each by its own index (a join of the list with
     * the tables may be planned as a scan of them) */
    struct many m = { s, "SELECT k.service, k.target, k.idem_key, COALESCE("
                      "(SELECT r.ref FROM records r WHERE r.service = "
                      "k.service AND r.target = k.target AND r.idem_key = "
                      "k.idem_key LIMIT 1), (SELECT a.ref FROM "
                      "records_archive a WHERE a.service = k.service AND "
                      "a.target = k.target AND a.idem_key = k.idem_key AND "
                      "a.idem_key IS NOT NULL LIMIT 1)) FROM (VALUES",
                      ") AS k(service, target, idem_key)", 3,
                      "checking idempotency keys",
                      dups_bind, dups_row, &a };
    return many_run(&m, n, e);
}

struct save_arg {
    struct spool *s;
    const struct spool_item *const *its;
    const struct spool_result *const *res;
    unsigned char (*dig)[SHA256_DIGEST_LENGTH];
    int64_t now;
};

static int save_bind(void *arg, struct sql_stmt *st, int p, size_t i)
{
    const struct save_arg *a = arg;
    const struct spool_item *it = a->its[i];
    return sql_bind_text(st, p, it->service) != 0
        || sql_bind_text(st, p + 1, it->client ? it->client : "") != 0
        || sql_bind_text(st, p + 2, it->client_key) != 0
        || sql_bind_blob(st, p + 3, a->dig[i], SHA256_DIGEST_LENGTH) != 0
        || sql_bind_text(st, p + 4, a->res[i]->ref) != 0
        || sql_bind_int64(st, p + 5, a->res[i]->duplicate ? 1 : 0) != 0
        || sql_bind_int64(st, p + 6, a->now) != 0 ? -1 : 0;
}

int spool_keys_save_many(struct spool *s, const struct spool_item *const *its,
                         const struct spool_result *const *res, size_t n,
                         int64_t now, unsigned char **keep, struct errs *e)
{
    *keep = NULL;
    if (n == 0)
        return 0;
    unsigned char (*dig)[SHA256_DIGEST_LENGTH] = digests(s, its, n, e);
    if (!dig)
        return -1;
    *keep = (unsigned char *)dig;
    struct save_arg a = { s, its, res, dig, now };
    if (sql_insert_rows(s->sql, "INSERT INTO client_keys(service, client, "
                        "key, digest, ref, duplicate, created_at)", 7, n,
                        save_bind, &a) != 0) {
        spool_sqlerr(s, e, NULL, "storing idempotency keys");
        return -1;
    }
    return 0;
}
