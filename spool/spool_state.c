/* spool_state.c - record states: names, and the one transition table;
 * the names of intake channels.
 *
 * Every state change of a record, whatever the caller, is checked here
 * (spool_transition_ok / spool_set_state), so the diagram in DESIGN.md and
 * docs/spool.md is the code.  spool_set_state is on the statement layer
 * (sql.h): the same guarded UPDATE on SQLite and PostgreSQL.
 *
 * Also each target's breaker and stop state, a row per target in the
 * ledger so every node on one PostgreSQL spool reads it: writing and
 * reading the rows, and claiming the cluster's one half-open probe
 * (docs/cluster.md).  And each node's digest of the configuration the
 * nodes must share, in meta (spool_node_config). */
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/clock.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[SPOOL_NSTATES] = {
    [SPOOL_RECEIVED] = "received",   [SPOOL_QUEUED] = "queued",
    [SPOOL_DELIVERING] = "delivering", [SPOOL_DEFERRED] = "deferred",
    [SPOOL_DELIVERED] = "delivered", [SPOOL_CONFIRMED] = "confirmed",
    [SPOOL_REJECTED] = "rejected",   [SPOOL_BATCHED] = "batched",
    [SPOOL_SENT] = "sent",           [SPOOL_HELD] = "held",
    [SPOOL_FAILED] = "failed",       [SPOOL_DISCARDED] = "discarded",
    [SPOOL_INDOUBT] = "indoubt",
};

#define B(st) (1u << (st))

/* allowed[from] = set of states it may move to */
static const unsigned allowed[SPOOL_NSTATES] = {
    [SPOOL_RECEIVED] = B(SPOOL_QUEUED) | B(SPOOL_HELD) | B(SPOOL_FAILED)
                     | B(SPOOL_DISCARDED),
    [SPOOL_QUEUED] = B(SPOOL_DELIVERING) | B(SPOOL_BATCHED) | B(SPOOL_HELD)
                   | B(SPOOL_FAILED) | B(SPOOL_DISCARDED) | B(SPOOL_QUEUED),
    /* delivering -> delivering: a lease that expired is claimed again;
     * -> queued: claims released unattempted (SIGTERM). */
    [SPOOL_DELIVERING] = B(SPOOL_DELIVERED) | B(SPOOL_DEFERRED)
                       | B(SPOOL_FAILED) | B(SPOOL_INDOUBT)
                       | B(SPOOL_QUEUED) | B(SPOOL_DELIVERING),
    [SPOOL_DEFERRED] = B(SPOOL_DELIVERING) | B(SPOOL_QUEUED) | B(SPOOL_HELD)
                     | B(SPOOL_FAILED) | B(SPOOL_DISCARDED),
    /* delivered/sent -> queued: an operator resends a record the back end
     * says it never got (reconciliation reports it missing or overdue);
     * -> discarded: closed by an operator, with a reason */
    [SPOOL_DELIVERED] = B(SPOOL_CONFIRMED) | B(SPOOL_REJECTED)
                      | B(SPOOL_QUEUED) | B(SPOOL_DISCARDED),
    [SPOOL_CONFIRMED] = 0,
    [SPOOL_REJECTED] = B(SPOOL_QUEUED) | B(SPOOL_FAILED) | B(SPOOL_HELD)
                     | B(SPOOL_DISCARDED),
    [SPOOL_BATCHED] = B(SPOOL_SENT) | B(SPOOL_FAILED),
    [SPOOL_SENT] = B(SPOOL_CONFIRMED) | B(SPOOL_REJECTED) | B(SPOOL_QUEUED)
                 | B(SPOOL_DISCARDED),
    [SPOOL_HELD] = B(SPOOL_QUEUED) | B(SPOOL_DISCARDED),
    [SPOOL_FAILED] = B(SPOOL_QUEUED) | B(SPOOL_HELD) | B(SPOOL_DISCARDED),
    [SPOOL_DISCARDED] = 0,
    /* in doubt: claimed again only where the target allows it, settled by
     * reconciliation, or handled by an operator. */
    [SPOOL_INDOUBT] = B(SPOOL_DELIVERING) | B(SPOOL_DELIVERED)
                    | B(SPOOL_CONFIRMED) | B(SPOOL_REJECTED)
                    | B(SPOOL_QUEUED) | B(SPOOL_FAILED) | B(SPOOL_HELD)
                    | B(SPOOL_DISCARDED),
};

const char *spool_state_name(enum spool_state st)
{
    if ((unsigned)st >= SPOOL_NSTATES)
        return "?";
    return names[st];
}

int spool_state_parse(const char *name, enum spool_state *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < SPOOL_NSTATES; i++) {
        if (strcmp(names[i], name) == 0) {
            *out = (enum spool_state)i;
            return 0;
        }
    }
    if (strcmp(name, "in-doubt") == 0) {
        *out = SPOOL_INDOUBT;
        return 0;
    }
    return -1;
}

static const char *const channel_names[SPOOL_NCHANNELS] = {
    [SPOOL_CH_UNKNOWN] = "unknown", [SPOOL_CH_HTTP] = "http",
    [SPOOL_CH_CLI] = "cli",         [SPOOL_CH_CSV] = "csv",
    [SPOOL_CH_ASSISTED] = "assisted",
};

const char *spool_channel_name(enum spool_channel c)
{
    if ((unsigned)c >= SPOOL_NCHANNELS)
        return "?";
    return channel_names[c];
}

int spool_channel_parse(const char *name, enum spool_channel *out)
{
    if (!name)
        return -1;
    for (int i = 0; i < SPOOL_NCHANNELS; i++) {
        if (strcmp(channel_names[i], name) == 0) {
            *out = (enum spool_channel)i;
            return 0;
        }
    }
    return -1;
}

bool spool_transition_ok(enum spool_state from, enum spool_state to)
{
    if ((unsigned)from >= SPOOL_NSTATES || (unsigned)to >= SPOOL_NSTATES)
        return false;
    return (allowed[from] & B(to)) != 0;
}

int spool_transition_need(enum spool_state from, enum spool_state to,
                          const char *where, struct errs *e)
{
    if (spool_transition_ok(from, to))
        return 0;
    errs_add(e, where ? where : "", "a %s record cannot become %s",
             spool_state_name(from), spool_state_name(to));
    return -1;
}

bool spool_state_final(enum spool_state st)
{
    return st == SPOOL_CONFIRMED || st == SPOOL_DISCARDED;
}

/* spool_overall_state - see spool.h: the one rule of a record's overall
 * state, as the state of the delivery that decides it */
enum spool_state spool_overall_state(const enum spool_state *st, size_t n)
{
    /* first: what needs a person; then work in hand; then awaiting a
     * confirmation; then final */
    static const enum spool_state order[] = {
        SPOOL_FAILED, SPOOL_REJECTED, SPOOL_INDOUBT, SPOOL_HELD,
        SPOOL_RECEIVED, SPOOL_QUEUED, SPOOL_DELIVERING, SPOOL_DEFERRED,
        SPOOL_BATCHED, SPOOL_SENT, SPOOL_DELIVERED, SPOOL_CONFIRMED,
        SPOOL_DISCARDED,
    };
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned)st[i] < SPOOL_NSTATES)
            seen |= 1u << st[i];
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        if (seen & (1u << order[k]))
            return order[k];
    return SPOOL_RECEIVED;
}

enum spool_overall spool_overall_of(const enum spool_state *st, size_t n)
{
    switch (spool_overall_state(st, n)) {
    case SPOOL_FAILED:    return SPOOL_ALL_FAILED;
    case SPOOL_REJECTED:  return SPOOL_ALL_REJECTED;
    case SPOOL_INDOUBT:   return SPOOL_ALL_INDOUBT;
    case SPOOL_HELD:      return SPOOL_ALL_HELD;
    case SPOOL_SENT:
    case SPOOL_DELIVERED: return SPOOL_ALL_AWAITING;
    case SPOOL_CONFIRMED: return SPOOL_ALL_CONFIRMED;
    case SPOOL_DISCARDED: return SPOOL_ALL_DISCARDED;
    default:              return SPOOL_ALL_IN_PROGRESS;
    }
}

const char *spool_overall_name(enum spool_overall o)
{
    static const char *const overall[] = {
        "failed", "rejected", "indoubt", "held", "in progress",
        "awaiting confirmation", "confirmed", "discarded",
    };
    return (unsigned)o < sizeof overall / sizeof overall[0] ? overall[o]
                                                            : "?";
}

/* spool_set_state - the guarded UPDATE every single-record change uses:
 * refuses a transition the table forbids, and a record that is no longer
 * in `from` (changed by someone else since it was read).  Becoming
 * confirmed stamps confirmed_at, as every path to confirmed does. */
int spool_set_state(struct spool *s, int64_t id, const char *ref,
                    enum spool_state from, enum spool_state to,
                    struct errs *e)
{
    static const char sql[] =
        "UPDATE records SET state = ?1, updated_at = ?2, "
        "confirmed_at = CASE WHEN ?1 = 'confirmed' THEN ?2 "
        "ELSE confirmed_at END WHERE id = ?3 AND state = ?4 "
        "RETURNING service, target";
    if (!spool_transition_ok(from, to)) {
        errs_add(e, ref, "a %s record cannot become %s",
                 spool_state_name(from), spool_state_name(to));
        return -1;
    }
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st)
        return -1;
    int64_t now = clock_wall_ms();
    sql_bind_text(st, 1, spool_state_name(to));
    sql_bind_int64(st, 2, now);
    sql_bind_int64(st, 3, id);
    sql_bind_text(st, 4, spool_state_name(from));
    enum sql_step r = sql_step(st);
    if (r == SQL_STEP_DONE) {
        sql_reset(st);
        errs_add(e, ref, "record is no longer %s", spool_state_name(from));
        return -1;
    }
    /* a move to a final state is counted in the same transaction */
    int rc = r != SQL_STEP_ROW ? -1 : !spool_state_final(to) ? 0
        : spool_tally_final(s, sql_col_text(st, 0), sql_col_text(st, 1),
                            spool_state_name(to), e);
    if (rc == 0 && sql_step(st) != SQL_STEP_DONE)
        rc = -1, r = SQL_STEP_ERROR;
    if (r != SQL_STEP_ROW)
        spool_sqlerr(s, e, ref, "changing state");
    sql_reset(st);
    return rc;
}

bool spool_shared(const struct spool *s)
{
    return sql_backend(s->sql) == SQL_POSTGRESQL;
}

int spool_target_state_put(struct spool *s, const char *target,
                           const char *breaker, int64_t since,
                           const char *stopped, const char *owner,
                           struct errs *e)
{
    static const char sql[] = "INSERT INTO target_state(target, breaker, "
        "since, stopped, owner, updated_at) VALUES(?,?,?,?,?,?) "
        "ON CONFLICT(target) DO UPDATE SET breaker = excluded.breaker, "
        "since = excluded.since, stopped = excluded.stopped, "
        "owner = excluded.owner, updated_at = excluded.updated_at";
    int rc = -1;
    if (s->opts.read_only) {
        errs_add(e, s->dir, "spool opened read-only");
        return -1;
    }
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto done;
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (!st) {
        spool_rollback(s);
        goto done;
    }
    sql_bind_text(st, 1, target);
    sql_bind_text(st, 2, breaker);
    sql_bind_int64(st, 3, since);
    sql_bind_text(st, 4, stopped);
    sql_bind_text(st, 5, owner ? owner : "");
    sql_bind_int64(st, 6, clock_wall_ms());
    enum sql_step r = sql_step(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE) {
        spool_sqlerr(s, e, target, "recording target state");
        spool_rollback(s);
        goto done;
    }
    if (spool_commit(s, e) == 0)
        rc = 0;
done:
    spool_unlock(s);
    return rc;
}

int spool_target_state_list(struct spool *s, struct spool_target_states *out,
                            struct errs *e)
{
    int rc = -1;
    enum sql_step step;
    size_t cap = 0;
    out->v = NULL;
    out->n = 0;
    spool_lock(s);
    /* one row per configured target: a handful, read whole */
    struct sql_stmt *st = spool_sql(s, "SELECT target, breaker, since, "
                                    "stopped, owner, updated_at FROM "
                                    "target_state ORDER BY target", e);
    if (!st)
        goto done;
    while ((step = sql_step(st)) == SQL_STEP_ROW) {
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct spool_target_state *v = realloc(out->v, nc * sizeof *v);
            if (!v) {
                errs_add(e, s->dir, "out of memory");
                sql_reset(st);
                goto done;
            }
            out->v = v;
            cap = nc;
        }
        struct spool_target_state *t = &out->v[out->n++];
        t->target = sql_col_strdup(st, 0);
        t->breaker = sql_col_strdup(st, 1);
        t->since = sql_col_int64(st, 2);
        t->stopped = sql_col_strdup(st, 3);
        t->owner = sql_col_strdup(st, 4);
        t->updated_at = sql_col_int64(st, 5);
        if (!t->target || !t->breaker || !t->owner) {
            errs_add(e, s->dir, "out of memory");
            sql_reset(st);
            goto done;
        }
    }
    sql_reset(st);
    if (step != SQL_STEP_DONE) {
        spool_sqlerr(s, e, NULL, "reading target state");
        goto done;
    }
    rc = 0;
done:
    spool_unlock(s);
    if (rc != 0)
        spool_target_states_free(out);
    return rc;
}

void spool_target_states_free(struct spool_target_states *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].target);
        free(l->v[i].breaker);
        free(l->v[i].stopped);
        free(l->v[i].owner);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void spool_target_state_clear(struct spool_target_state *t)
{
    free(t->target);
    free(t->breaker);
    free(t->stopped);
    free(t->owner);
    memset(t, 0, sizeof *t);
}

int spool_target_state_get(struct spool *s, const char *target,
                           struct spool_target_state *out, struct errs *e)
{
    /* one row per configured target, a handful: the list, searched */
    memset(out, 0, sizeof *out);
    struct spool_target_states l;
    if (spool_target_state_list(s, &l, e) != 0)
        return -1;
    int rc = 1;
    for (size_t i = 0; i < l.n && rc == 1; i++)
        if (strcmp(l.v[i].target, target) == 0) {
            *out = l.v[i];
            memset(&l.v[i], 0, sizeof l.v[i]);
            rc = 0;
        }
    spool_target_states_free(&l);
    return rc;
}

int spool_target_probe_claim(struct spool *s, const char *target,
                             const char *owner, int64_t now,
                             int64_t not_after, struct errs *e)
{
    static const char sql[] =
        "UPDATE target_state SET breaker = 'half-open', since = ?3, "
        "owner = ?2, updated_at = ?3 WHERE target = ?1 "
        "AND breaker <> 'closed' AND since <= ?4";
    if (s->opts.read_only) {
        errs_add(e, s->dir, "spool opened read-only");
        return -1;
    }
    int rc = -1;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto done;
    struct sql_stmt *st = spool_sql(s, sql, e);
    if (st) {
        sql_bind_text(st, 1, target);
        sql_bind_text(st, 2, owner);
        sql_bind_int64(st, 3, now);
        sql_bind_int64(st, 4, not_after);
        if (sql_step(st) == SQL_STEP_DONE)
            rc = sql_changes(st) == 1 ? 1 : 0;
        else
            spool_sqlerr(s, e, target, "claiming the breaker's probe");
        sql_reset(st);
    }
    if (rc < 0)
        spool_rollback(s);
    else if (spool_commit(s, e) != 0)
        rc = -1;
done:
    spool_unlock(s);
    return rc;
}

#define NODE_CONFIG "node-config:"

int spool_node_config(struct spool *s, const char *node, const char *digest,
                      int64_t now, int64_t since, int64_t forget_before,
                      char *differ, size_t differ_sz, struct errs *e)
{
    char key[256], val[160];
    snprintf(key, sizeof key, NODE_CONFIG "%s", node);
    snprintf(val, sizeof val, "%s %lld", digest, (long long)now);
    size_t used = 0;
    int n = 0, rc = -1;
    enum sql_step r;
    if (differ_sz)
        differ[0] = '\0';
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto done;
    /* one node at a time (PostgreSQL; SQLite's BEGIN IMMEDIATE already
     * is): two nodes starting at once would each read the other's row
     * before it committed, and neither would warn */
    if (sql_lock_xact(s->sql, "node-config") != 0)
        goto sqlfail;
    struct sql_stmt *st = spool_sql(s, "INSERT INTO meta(name, value) "
                                    "VALUES(?1, ?2) ON CONFLICT(name) DO "
                                    "UPDATE SET value = excluded.value", e);
    if (!st)
        goto fail;
    sql_bind_text(st, 1, key);
    sql_bind_text(st, 2, val);
    r = sql_step(st);
    sql_reset(st);
    if (r != SQL_STEP_DONE)
        goto sqlfail;
    /* a node per host and process started: a few, read whole (LIMIT for
     * the engines' sake); the stale ones are forgotten below */
    char stale[16][256];
    size_t nstale = 0;
    st = spool_sql(s, "SELECT name, value FROM meta WHERE name LIKE "
                   "'" NODE_CONFIG "%' AND name <> ?1 ORDER BY name "
                   "LIMIT 1000", e);
    if (!st)
        goto fail;
    sql_bind_text(st, 1, key);
    while ((r = sql_step(st)) == SQL_STEP_ROW) {
        const char *name = sql_col_text(st, 0), *v = sql_col_text(st, 1);
        const char *sp = v ? strchr(v, ' ') : NULL;
        long long at = sp ? strtoll(sp + 1, NULL, 10) : 0;
        if (at < forget_before) {
            if (nstale < sizeof stale / sizeof stale[0])
                snprintf(stale[nstale++], sizeof stale[0], "%s", name);
            continue;
        }
        if (at < since || (sp && strlen(digest) == (size_t)(sp - v)
                           && strncmp(v, digest, (size_t)(sp - v)) == 0))
            continue;
        n++;
        const char *who = name + strlen(NODE_CONFIG);
        int w = snprintf(differ + used, differ_sz - used, "%s%s",
                         used ? "," : "", who);
        if (w > 0 && (size_t)w < differ_sz - used)
            used += (size_t)w;
    }
    sql_reset(st);
    if (r != SQL_STEP_DONE)
        goto sqlfail;
    for (size_t i = 0; i < nstale; i++) {
        st = spool_sql(s, "DELETE FROM meta WHERE name = ?1", e);
        if (!st)
            goto fail;
        sql_bind_text(st, 1, stale[i]);
        r = sql_step(st);
        sql_reset(st);
        if (r != SQL_STEP_DONE)
            goto sqlfail;
    }
    if (spool_commit(s, e) == 0)
        rc = n;
    goto done;
sqlfail:
    spool_sqlerr(s, e, node, "recording the node's configuration");
fail:
    spool_rollback(s);
done:
    spool_unlock(s);
    return rc;
}
