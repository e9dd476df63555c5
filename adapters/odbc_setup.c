/* odbc_setup.c - the ODBC adapter's setup at init: options, the mapping's
 * table or statement into SQL (identifiers checked and quoted), key and
 * reconcile lists, and the connection string (a secret: odbc_close wipes it).
 *
 * Contract: only the ODBC environment is allocated here, no connection is
 * made; everything is checked before the daemon starts.  Used by odbc.c's
 * odbc_init only. */
#include "adapters/odbc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "util/tz.h"
#include "util/buf.h"
#include "util/errs.h"

#define MAX_BATCH 10000
#define MAX_POOL 64

/* ---- small helpers ---------------------------------------------------- */

/* parse_long - "123" or "123s" within [min, max]; 0 ok */
static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno || v < min || v > max)
        return -1;
    if (*end == 's' && end[1] == '\0')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}
/* quote_ident - a new quoted (or checked plain) identifier; NULL if bad */
static char *quote_ident(const struct odbc *o, const char *s)
{
    char b[300];
    if (!odbc_ident_valid(s))
        return NULL;
    if (!o->quote)
        return strdup(s);
    if (odbc_ident_quote(s, b, sizeof b) < 0)
        return NULL;
    return strdup(b);
}

/* connstr_build - the connection string from the options (a secret).
 * A connection-file must be KEY=VALUE attributes (odbc_connstr_each:
 * a stray brace or a line break inside would reach the driver as some
 * other attribute, or cut the string); the problem is named by
 * attribute and byte, never by quoting the file. */
static int connstr_build(struct odbc *o, const struct adapter_env *env,
                         const char *where, struct errs *e)
{
    const char *cf = kv_get(env->opts, "connection-file");
    const char *dsn = kv_get(env->opts, "dsn");
    char why[256];
    if (cf && dsn) {
        errs_add(e, where, "odbc: give connection-file or dsn, not both");
        return -1;
    }
    if (cf) {
        if (config_read_secret(env->base_dir, cf, &o->connstr, &o->connlen,
                               e) < 0)
            return -1;
        o->connlen = strlen(o->connstr);
        if (o->connlen > ODBC_CONNSTR_MAX) {
            errs_add(e, where, "odbc: connection-file holds more than %d "
                     "bytes", ODBC_CONNSTR_MAX);
            return -1;
        }
        if (odbc_connstr_each(o->connstr, o->connlen, NULL, NULL, why,
                              sizeof why) != 0) {
            errs_add(e, where, "odbc: connection-file %s is not an ODBC "
                     "connection string: %s", cf, why);
            return -1;
        }
        return 0;
    }
    if (!dsn) {
        errs_add(e, where, "odbc: connection-file or dsn is required");
        return -1;
    }
    const char *user = kv_get(env->opts, "user");
    const char *pf = kv_get(env->opts, "password-file");
    char *pw = NULL;
    size_t pwlen = 0;
    if (pf && config_read_secret(env->base_dir, pf, &pw, &pwlen, e) < 0)
        return -1;
    char *cs = malloc(ODBC_CONNSTR_MAX + 1);
    int bad = !cs || odbc_connstr_make(dsn, user, pw, cs, ODBC_CONNSTR_MAX + 1,
                                       why, sizeof why) != 0;
    if (pw) {
        explicit_bzero(pw, strlen(pw));
        free(pw);
    }
    if (bad) {
        /* a cut connection string would fail later with a confusing
         * message (or connect as someone else); say so now */
        errs_add(e, where, "odbc: %s", cs ? why : "out of memory");
        free(cs);
        return -1;
    }
    o->connlen = strlen(cs);
    o->connstr = cs;
    return 0;
}

/* split_list - "a, b,c" into trimmed new strings */
static int split_list(const char *s, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *q = p;
        while (*q && *q != ',')
            q++;
        const char *e = q;
        while (e > p && e[-1] == ' ')
            e--;
        char **nv = realloc(*out, (*n + 1) * sizeof *nv);
        if (!nv)
            return -1;
        *out = nv;
        if (!(nv[*n] = strndup(p, (size_t)(e - p))))
            return -1;
        (*n)++;
        p = q;
    }
    return 0;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}
/* odbc_setup - check options and mapping, build the SQL and the
 * connection string into a new instance *out; no connection is made here
 * (a database down at start is not a config error).  -1 with e: *out is
 * what was built so far (may be NULL), for the caller to close. */
/* read_engine_opts - the target's own numeric and boolean options into o
 * (and *pool); returns how many were refused, each one in e */
static int read_engine_opts(struct odbc *o, const struct kvlist *opts,
                            const char *where, long *pool, struct errs *e)
{
    const char *v;
    int bad = 0;
    if ((v = kv_get(opts, "batch-size")) &&
        parse_long(v, 1, MAX_BATCH, &o->batch) < 0)
        errs_add(e, where, "odbc: batch-size must be 1..%d", MAX_BATCH), bad++;
    long rows = 100;
    if ((v = kv_get(opts, "rows-per-insert")) &&
        parse_long(v, 1, MAX_BATCH, &rows) < 0)
        errs_add(e, where, "odbc: rows-per-insert must be 1..%d", MAX_BATCH),
            bad++;
    o->multi_rows = (size_t)rows;
    if ((v = kv_get(opts, "pool-size")) &&
        parse_long(v, 1, MAX_POOL, pool) < 0)
        errs_add(e, where, "odbc: pool-size must be 1..%d", MAX_POOL), bad++;
    if ((v = kv_get(opts, "login-timeout")) &&
        parse_long(v, 0, 3600, &o->login_to) < 0)
        errs_add(e, where, "odbc: login-timeout must be 0..3600 seconds"),
            bad++;
    if ((v = kv_get(opts, "query-timeout")) &&
        parse_long(v, 0, 86400, &o->query_to) < 0)
        errs_add(e, where, "odbc: query-timeout must be 0..86400 seconds"),
            bad++;
    if ((v = kv_get(opts, "create-marker")) &&
        parse_bool(v, &o->create_marker) < 0)
        errs_add(e, where, "odbc: create-marker must be true or false"), bad++;
    return bad;
}

/* build_multi - the many-row INSERT of table mode: multi_rows rows of
 * VALUES (?, ...), at most batch-size rows and 32766 markers (SQLite's
 * limit; PostgreSQL's is 65535).  One statement parsed once per
 * connection instead of one execution per row: PostgreSQL runs its
 * executor once per statement, so per row it costs a fraction.  0, -1 */
static int build_multi(struct odbc *o, struct errs *e, const char *where)
{
    size_t rows = o->multi_rows;
    if (rows > (size_t)o->batch)
        rows = (size_t)o->batch;
    if (o->np && rows * o->np > 32766)
        rows = 32766 / o->np;
    o->multi_rows = rows;
    if (rows < 2 || o->np == 0) {
        o->multi_rows = 0;
        return 0;
    }
    struct buf sql;
    buf_init(&sql, 16 * 1024 * 1024);
    buf_printf(&sql, "INSERT INTO %s (", o->table_q);
    for (size_t j = 0; j < o->np; j++)
        buf_printf(&sql, "%s%s", j ? ", " : "", o->colq[j]);
    buf_puts(&sql, ") VALUES ");
    for (size_t r = 0; r < rows; r++) {
        buf_puts(&sql, r ? ", (" : "(");
        for (size_t j = 0; j < o->np; j++)
            buf_puts(&sql, j ? ", ?" : "?");
        buf_puts(&sql, ")");
    }
    if (!(o->multi_sql = buf_take(&sql))) {
        errs_add(e, where, "odbc: out of memory");
        return -1;
    }
    return 0;
}

/* build_statements - the INSERT (table mode) or the given statement, the
 * key columns, the reconcile query and the marker statements.  0, -1 with
 * e filled */
static int build_statements(struct odbc *o, const struct map_target *mt,
                            const char *table, const char *stmt,
                            const char *where, struct errs *e)
{
    char **keys = NULL;
    size_t nkeys = 0;
    const char *v;
    struct buf sql;
    buf_init(&sql, 1024 * 1024);
    if (table) {
        if (!(o->table_q = quote_ident(o, table))) {
            errs_add(e, where, "odbc: table \"%s\" is not a valid "
                     "identifier", table);
            goto fail;
        }
        o->table_raw = strdup(table);
        buf_printf(&sql, "INSERT INTO %s (", o->table_q);
        for (size_t j = 0; j < o->np; j++)
            buf_printf(&sql, "%s%s", j ? ", " : "", o->colq[j]);
        buf_puts(&sql, ") VALUES (");
        for (size_t j = 0; j < o->np; j++)
            buf_puts(&sql, j ? ", ?" : "?");
        if (buf_puts(&sql, ")") != BUF_OK)
            goto nomem;
        o->insert_sql = buf_take(&sql);
        if (build_multi(o, e, where) != 0)
            goto fail;
    } else {
        o->insert_sql = strdup(stmt);
        o->multi_rows = 0;            /* a given statement is one row */
    }
    if ((v = kv_get(&mt->opts, "key-columns"))) {
        if (!table) {
            errs_add(e, where, "odbc: key-columns needs table mode");
            goto fail;
        }
        if (split_list(v, &keys, &nkeys) < 0)
            goto nomem;
        for (size_t k = 0; k < nkeys; k++) {
            size_t j;
            for (j = 0; j < o->np; j++)
                if (strcmp(o->p[j].a->to, keys[k]) == 0)
                    break;
            if (j == o->np) {
                errs_add(e, where, "odbc: key column \"%s\" is not mapped",
                         keys[k]);
                goto fail;
            }
            o->is_key[j] = true;
        }
        o->nkeys = nkeys;
    }
    if ((v = kv_get(&mt->opts, "reconcile-query"))) {
        o->reconcile_sql = strdup(v);
        const char *rp = kv_get(&mt->opts, "reconcile-params");
        if (split_list(rp ? rp : "$reference", &o->rec_src, &o->nrec_src) < 0)
            goto nomem;
        if (o->nrec_src > 16) {
            errs_add(e, where, "odbc: at most 16 reconcile-params");
            goto fail;
        }
    }
    if (o->marker_q) {
        buf_reset(&sql);
        /* keyed by the delivery identity, which is unique across spools
         * (a reference is not); the reference rides along for people.
         * Column names are never quoted, so one DDL (docs) matches with
         * either quote-identifiers setting. */
        buf_printf(&sql, "INSERT INTO %s (delivery_id, ref, written_at) "
                   "VALUES (?, ?, CURRENT_TIMESTAMP)", o->marker_q);
        o->marker_sql = buf_take(&sql);
        if (o->multi_rows > 1) {
            buf_printf(&sql, "INSERT INTO %s (delivery_id, ref, written_at) "
                       "VALUES ", o->marker_q);
            for (size_t r = 0; r < o->multi_rows; r++)
                buf_puts(&sql, r ? ", (?, ?, CURRENT_TIMESTAMP)"
                                 : "(?, ?, CURRENT_TIMESTAMP)");
            if (!(o->mmulti_sql = buf_take(&sql)))
                goto nomem;
        }
        buf_printf(&sql, "SELECT 1 FROM %s WHERE delivery_id = ?",
                   o->marker_q);
        o->marker_probe_sql = buf_take(&sql);
        /* a record reconcile found missing and an operator requeued: the
         * marker of an earlier send (its ref without this generation) is
         * void; removed in the same transaction as the new row */
        buf_printf(&sql, "DELETE FROM %s WHERE delivery_id = ? AND ref <> ?",
                   o->marker_q);
        o->marker_void_sql = buf_take(&sql);
        if (!o->marker_sql || !o->marker_probe_sql || !o->marker_void_sql)
            goto nomem;
    }
    free_list(keys, nkeys);
    buf_free(&sql);
    return 0;
nomem:
    errs_add(e, where, "odbc: out of memory");
fail:
    free_list(keys, nkeys);
    buf_free(&sql);
    return -1;
}

int odbc_setup(struct odbc **out, const struct adapter_env *env,
               struct errs *e)
{
    char where[160];
    const struct map_target *mt = env->map;
    struct odbc *o = calloc(1, sizeof *o);
    snprintf(where, sizeof where, "target %s",
             env->target && env->target->name ? env->target->name
             : mt && mt->name ? mt->name : "odbc");
    *out = NULL;
    if (!o) {
        errs_add(e, where, "odbc: out of memory");
        return -1;
    }
    pthread_mutex_init(&o->mu, NULL);
    pthread_mutex_init(&o->meta, NULL);
    pthread_cond_init(&o->cv, NULL);
    o->array_ok = -1;
    o->batch = 100;
    o->login_to = 10;
    o->quote = true;
    long pool = 1;
    const char *v;
    int bad = 0;
    bad += read_engine_opts(o, env->opts, where, &pool, e);
    if (!mt || mt->nsec == 0) {
        errs_add(e, where, "odbc: the mapping has no <target> section for "
                 "this target");
        goto fail;
    }
    if ((v = kv_get(&mt->opts, "quote-identifiers")) &&
        parse_bool(v, &o->quote) < 0)
        errs_add(e, where, "odbc: quote-identifiers must be true or false"),
            bad++;
    if ((v = kv_get(env->opts, "marker-table"))) {
        if (!(o->marker_raw = strdup(v)))
            goto nomem;
        if (!(o->marker_q = quote_ident(o, v)))
            errs_add(e, where, "odbc: marker-table \"%s\" is not a valid "
                     "identifier", v), bad++;
    } else if (o->create_marker) {
        errs_add(e, where, "odbc: create-marker needs marker-table"), bad++;
    }
    const struct map_section *sec = &mt->sec[0];
    const char *table = kv_get(&mt->opts, "table");
    const char *stmt = kv_get(&mt->opts, "statement");
    if ((table != NULL) == (stmt != NULL)) {
        errs_add(e, where, "odbc: the mapping needs table or statement "
                 "(one of them)");
        goto fail;
    }
    if (sec->na == 0) {
        errs_add(e, where, "odbc: the mapping assigns no column");
        goto fail;
    }
    o->np = sec->na;
    o->p = calloc(o->np, sizeof *o->p);
    o->colq = calloc(o->np, sizeof *o->colq);
    o->is_key = calloc(o->np, sizeof *o->is_key);
    if (!o->p || !o->colq || !o->is_key)
        goto nomem;
    bool need_london = false;
    for (size_t j = 0; j < sec->na; j++) {
        const struct map_assign *a = &sec->a[j];
        char aw[200];
        snprintf(aw, sizeof aw, "%s: map line %d", where, a->line);
        if (!a->from && !a->value)
            errs_add(e, aw, "odbc: <map to=\"%s\"> needs from or value",
                     a->to), bad++;
        if (a->local_time)
            need_london = true;
        if (table) {
            o->p[j].a = a;
            if (!(o->colq[j] = quote_ident(o, a->to)))
                errs_add(e, aw, "odbc: column \"%s\" is not a valid "
                         "identifier", a->to), bad++;
        } else {
            long pos;
            if (parse_long(a->to, 1, (long)sec->na, &pos) < 0 ||
                o->p[pos - 1].a) {
                errs_add(e, aw, "odbc: with statement, to must be a "
                         "parameter position 1..%zu, each once", sec->na);
                bad++;
                continue;
            }
            o->p[pos - 1].a = a;
        }
    }
    if (bad)
        goto fail;
    if (need_london && !(o->london = tz_load("Europe/London", e)))
        goto fail;
    if (build_statements(o, mt, table, stmt, where, e) != 0)
        goto fail;
    if (connstr_build(o, env, where, e) < 0)
        goto fail;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE,
                                      &o->env)) ||
        !SQL_SUCCEEDED(SQLSetEnvAttr(o->env, SQL_ATTR_ODBC_VERSION,
                                     (SQLPOINTER)SQL_OV_ODBC3, 0))) {
        errs_add(e, where, "odbc: cannot set up the ODBC environment");
        goto fail;
    }
    o->nc = (size_t)pool;
    if (!(o->c = calloc(o->nc, sizeof *o->c)))
        goto nomem;
    *out = o;
    return 0;
nomem:
    errs_add(e, where, "odbc: out of memory");
fail:
    *out = o;
    return -1;
}
