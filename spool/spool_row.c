/* spool_row.c - the ledger's rows as structs: a record row read into a
 * struct spool_record (payload columns decrypted), the delivery of a
 * reference an action works on, and the matching clear/free.  A leaf:
 * every other spool file may use it, it uses none of them but the
 * connection helpers and the crypt box.  On the statement layer
 * (sql.h), so it runs on SQLite and PostgreSQL alike; spool_row_fill
 * still takes a bare sqlite3_stmt for the files not yet moved. */
#include "spool/spool_int.h"
#include "spool/spool_row.h"
#include "spool/sql.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void spool_audit_entry_clear(struct spool_audit_entry *a)
{
    free(a->actor); free(a->action); free(a->ref); free(a->reason);
    free(a->before); free(a->after); free(a->detail);
    free(a->prev_hash); free(a->hash);
}

void spool_record_clear(struct spool_record *r)
{
    free(r->ref);
    free(r->service);
    free(r->target);
    free(r->client);
    free(r->fe_ref);
    free(r->idem_key);
    free(r->delivery_id);
    free(r->lease_owner);
    free(r->last_error);
    free(r->receipt);
    free(r->receipt_data);
    free(r->closed_reason);
    if (r->payload)
        explicit_bzero(r->payload, r->payload_len);
    free(r->payload);
    if (r->original)
        explicit_bzero(r->original, r->original_len);
    free(r->original);
    free(r->record_json);
    free(r->crypt_error);
    for (size_t i = 0; i < r->natt; i++) {
        free(r->att[i].target);
        free(r->att[i].outcome);
        free(r->att[i].message);
    }
    free(r->att);
    for (size_t i = 0; i < r->naud; i++)
        spool_audit_entry_clear(&r->aud[i]);
    free(r->aud);
    memset(r, 0, sizeof *r);
}

void spool_record_free(struct spool_record *r)
{
    if (!r)
        return;
    spool_record_clear(r);
    free(r);
}

/* A row read through either interface: the statement layer (sql.h), or
 * a bare sqlite3_stmt for the files not yet moved onto it (issue 18).
 * The one mapping of SPOOL_REC_COLS to struct spool_record (row_fill)
 * reads through these, so the two entry points cannot drift. */
struct row_src {
    int64_t (*i64)(void *st, int col);
    char *(*dup)(void *st, int col);              /* NULL for NULL */
    const char *(*text)(void *st, int col);
    const void *(*blob)(void *st, int col, size_t *n, bool *null);
    void *st;
};

static int64_t sql_i64(void *st, int col) { return sql_col_int64(st, col); }
static char *sql_dup(void *st, int col) { return sql_col_strdup(st, col); }
static const char *sql_text(void *st, int col)
{
    return sql_col_text(st, col);
}
static const void *sql_blob(void *st, int col, size_t *n, bool *null)
{
    *null = sql_col_null(st, col);
    return sql_col_blob(st, col, n);
}

static int64_t lite_i64(void *st, int col)
{
    return sqlite3_column_int64(st, col);
}
static char *lite_dup(void *st, int col) { return spool_col_strdup(st, col); }
static const char *lite_text(void *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}
static const void *lite_blob(void *st, int col, size_t *n, bool *null)
{
    const void *p = sqlite3_column_blob(st, col);
    *n = (size_t)sqlite3_column_bytes(st, col);
    *null = sqlite3_column_type(st, col) == SQLITE_NULL;
    return p;
}

/* read_blob - a payload column, decrypted when the row is encrypted */
static int read_blob(struct spool *s, const struct row_src *src, int col,
                     bool enc, const char *ref, const char *name,
                     unsigned char **out, size_t *outn,
                     struct spool_record *r)
{
    size_t n = 0;
    bool null = false;
    const void *p = src->blob(src->st, col, &n, &null);
    if (null)
        return 0;
    if (enc) {
        const char *why = NULL;
        if (spool_open_sealed(s, ref, name, p, n, out, outn, &why) != 0) {
            if (!r->crypt_error)
                r->crypt_error = strdup(why);
            return 0;
        }
        return 0;
    }
    *out = malloc(n + 1);
    if (!*out)
        return -1;
    if (n)
        memcpy(*out, p, n);
    (*out)[n] = '\0';
    *outn = n;
    return 0;
}

/* row_fill - r from a SPOOL_REC_COLS row, whichever interface reads it */
static int row_fill(struct spool *s, const struct row_src *c,
                    int with_payload, struct spool_record *r)
{
    void *st = c->st;
    memset(r, 0, sizeof *r);
    r->id = c->i64(st, 0);
    r->ref = c->dup(st, 1);
    r->service = c->dup(st, 2);
    r->target = c->dup(st, 3);
    r->client = c->dup(st, 4);
    r->fe_ref = c->dup(st, 5);
    r->idem_key = c->dup(st, 6);
    r->received_at = c->i64(st, 7);
    r->updated_at = c->i64(st, 8);
    if (spool_state_parse(c->text(st, 9), &r->state) != 0)
        r->state = SPOOL_RECEIVED;
    r->attempts = (int)c->i64(st, 10);
    r->next_attempt_at = c->i64(st, 11);
    r->lease_owner = c->dup(st, 12);
    r->lease_until = c->i64(st, 13);
    r->last_error = c->dup(st, 14);
    r->batch_id = c->i64(st, 15);
    r->receipt = c->dup(st, 16);
    r->in_doubt = c->i64(st, 17) != 0;
    r->closed_reason = c->dup(st, 18);
    r->payload_purged = c->i64(st, 19) != 0;
    r->encrypted = c->i64(st, 20) != 0;
    r->delivery_id = c->dup(st, 24);
    if (spool_channel_parse(c->text(st, 25), &r->channel) != 0)
        r->channel = SPOOL_CH_UNKNOWN;
    r->confirmed_at = c->i64(st, 26);
    r->missing_at = c->i64(st, 27);
    r->marker_gen = (int)c->i64(st, 28);
    r->receipt_data = c->dup(st, 29);
    if (!r->ref || !r->service || !r->target || !r->delivery_id)
        return -1;
    if (with_payload) {
        size_t jn = 0;
        unsigned char *j = NULL;
        if (read_blob(s, c, 21, r->encrypted, r->ref, "payload",
                      &r->payload, &r->payload_len, r) != 0
            || read_blob(s, c, 22, r->encrypted, r->ref, "original",
                         &r->original, &r->original_len, r) != 0
            || read_blob(s, c, 23, r->encrypted, r->ref, "record", &j, &jn,
                         r) != 0)
            return -1;
        r->record_json = (char *)j;
    }
    return 0;
}

int spool_row_fill_sql(struct spool *s, struct sql_stmt *st,
                       int with_payload, struct spool_record *r)
{
    const struct row_src c = { sql_i64, sql_dup, sql_text, sql_blob, st };
    return row_fill(s, &c, with_payload, r);
}

int spool_row_fill(struct spool *s, sqlite3_stmt *st, int with_payload,
                   struct spool_record *r)
{
    const struct row_src c = { lite_i64, lite_dup, lite_text, lite_blob, st };
    return row_fill(s, &c, with_payload, r);
}

int spool_delivery_pick(struct spool *s, const char *ref, const char *target,
                        unsigned applies, const char *verb,
                        struct spool_pick *out, struct errs *e)
{
    struct sql_stmt *st = spool_sql(s, "SELECT id, state, target FROM records "
                                    "WHERE ref = ? ORDER BY id", e);
    if (!st)
        return -1;
    sql_bind_text(st, 1, ref);
    char all[256] = "", fit[256] = "";
    size_t nall = 0, nfit = 0;
    bool found = false;
    enum sql_step r;
    memset(out, 0, sizeof *out);
    /* one row per target of the service: a handful */
    while ((r = sql_step(st)) == SQL_STEP_ROW && nall < 1024) {
        const char *t = sql_col_text(st, 2);
        enum spool_state stt;
        if (!t || spool_state_parse(sql_col_text(st, 1), &stt) != 0) {
            errs_add(e, ref, "unknown state in ledger");
            sql_reset(st);
            return -1;
        }
        size_t l = strlen(all);
        snprintf(all + l, sizeof all - l, "%s%s", nall ? ", " : "", t);
        nall++;
        bool named = target && strcmp(t, target) == 0;
        bool fits = !target && (applies & (1u << stt));
        if (fits) {
            l = strlen(fit);
            snprintf(fit + l, sizeof fit - l, "%s%s", nfit ? ", " : "", t);
            nfit++;
        }
        if (named || (fits && nfit == 1) || (!target && nall == 1)) {
            out->id = sql_col_int64(st, 0);
            out->state = stt;
            snprintf(out->target, sizeof out->target, "%s", t);
            found = found || named;
        }
    }
    sql_reset(st);
    if (r == SQL_STEP_ERROR) {
        spool_sqlerr(s, e, ref, "reading record");
        return -1;
    }
    out->ndeliveries = nall;
    if (nall == 0)
        return 1;
    if (target && !found) {
        errs_add(e, ref, "no delivery to target %s (its targets: %s)",
                 target, all);
        return -1;
    }
    if (!target && nall > 1 && nfit > 1) {
        errs_add(e, ref, "%s: %zu deliveries it could apply to (targets %s): "
                 "name the target", verb ? verb : "action", nfit, fit);
        return -1;
    }
    /* several deliveries, none the action applies to: the first stands
     * for the record, and the action's own check refuses it by state */
    return 0;
}
