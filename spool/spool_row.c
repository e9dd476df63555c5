/* spool_row.c - the ledger's rows as structs: a record row read into a
 * struct spool_record (payload columns decrypted), the delivery of a
 * reference an action works on, and the matching clear/free.  A leaf:
 * every other spool file may use it, it uses none of them but the
 * connection helpers and the crypt box.  On the statement layer
 * (sql.h), so it runs on SQLite and PostgreSQL alike. */
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

/* read_blob - a payload column, decrypted when the row is encrypted */
static int read_blob(struct spool *s, struct sql_stmt *st, int col,
                     bool enc, const char *ref, const char *name,
                     unsigned char **out, size_t *outn,
                     struct spool_record *r)
{
    size_t n = 0;
    if (sql_col_null(st, col))
        return 0;
    const void *p = sql_col_blob(st, col, &n);
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

int spool_row_fill_sql(struct spool *s, struct sql_stmt *st,
                       int with_payload, struct spool_record *r)
{
    memset(r, 0, sizeof *r);
    r->id = sql_col_int64(st, 0);
    r->ref = sql_col_strdup(st, 1);
    r->service = sql_col_strdup(st, 2);
    r->target = sql_col_strdup(st, 3);
    r->client = sql_col_strdup(st, 4);
    r->fe_ref = sql_col_strdup(st, 5);
    r->idem_key = sql_col_strdup(st, 6);
    r->received_at = sql_col_int64(st, 7);
    r->updated_at = sql_col_int64(st, 8);
    if (spool_state_parse(sql_col_text(st, 9), &r->state) != 0)
        r->state = SPOOL_RECEIVED;
    r->attempts = (int)sql_col_int64(st, 10);
    r->next_attempt_at = sql_col_int64(st, 11);
    r->lease_owner = sql_col_strdup(st, 12);
    r->lease_until = sql_col_int64(st, 13);
    r->last_error = sql_col_strdup(st, 14);
    r->batch_id = sql_col_int64(st, 15);
    r->receipt = sql_col_strdup(st, 16);
    r->in_doubt = sql_col_int64(st, 17) != 0;
    r->closed_reason = sql_col_strdup(st, 18);
    r->payload_purged = sql_col_int64(st, 19) != 0;
    r->encrypted = sql_col_int64(st, 20) != 0;
    r->delivery_id = sql_col_strdup(st, 24);
    if (spool_channel_parse(sql_col_text(st, 25), &r->channel) != 0)
        r->channel = SPOOL_CH_UNKNOWN;
    r->confirmed_at = sql_col_int64(st, 26);
    r->missing_at = sql_col_int64(st, 27);
    r->marker_gen = (int)sql_col_int64(st, 28);
    r->receipt_data = sql_col_strdup(st, 29);
    if (!r->ref || !r->service || !r->target || !r->delivery_id)
        return -1;
    if (with_payload) {
        size_t jn = 0;
        unsigned char *j = NULL;
        if (read_blob(s, st, 21, r->encrypted, r->ref, "payload",
                      &r->payload, &r->payload_len, r) != 0
            || read_blob(s, st, 22, r->encrypted, r->ref, "original",
                         &r->original, &r->original_len, r) != 0
            || read_blob(s, st, 23, r->encrypted, r->ref, "record", &j, &jn,
                         r) != 0)
            return -1;
        r->record_json = (char *)j;
    }
    return 0;
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
