/* pg_spool.h - what only the PostgreSQL ledger has: its schema, and the
 * primitives several nodes on one ledger need (claims under leases on
 * the database's clock, job locks as advisory locks).  Never included
 * outside spool/ (and its tests).  Everything here works on a
 * statement-layer connection (sql.h) of backend SQL_POSTGRESQL. */
#ifndef FERRY_SPOOL_PG_SPOOL_H
#define FERRY_SPOOL_PG_SPOOL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool/sql.h"

struct errs;

/* The schema version pg_schema.c builds: the SQLite ledger's
 * (SPOOL_SCHEMA_VERSION) when the two agree.  check_sql_pg compares
 * every table's columns between the two, so a step added on one side
 * only fails there. */
#define SPOOL_PG_SCHEMA_VERSION 16

/* spool_pg_schema - bring the PostgreSQL ledger to
 * SPOOL_PG_SCHEMA_VERSION: an empty database gets every table, index,
 * view and trigger, the version (meta schema_version) and a spool
 * identity (meta spool_id), all in one transaction under an advisory
 * lock, so two nodes starting at once build it once.  A ledger at this
 * version is left alone; a newer one is refused. */
int spool_pg_schema(struct sql_conn *c, struct errs *e);

/* spool_pg_now_ms - the database's clock (clock_timestamp(), ms since
 * the epoch): the one clock every node's leases are measured by */
int spool_pg_now_ms(struct sql_conn *c, int64_t *ms, struct errs *e);

/* One claimed record. */
struct spool_pg_claimed {
    int64_t id;
    bool expired;          /* it was another claim whose lease ran out:
                              the caller treats it as SQLite's spool does
                              (in doubt, or resent where the target
                              allows) */
};

/* spool_pg_lock_due - inside the caller's transaction, lock up to max
 * of target's records a claim may take, their ids into ids (oldest
 * first): queued or deferred with next_attempt_at <= due_by, delivering
 * with lease_until <= lease_now (the database's clock, spool_pg_now_ms),
 * and in doubt and due when with_indoubt.  Rows another transaction
 * holds are skipped (FOR UPDATE SKIP LOCKED), never waited for, so
 * concurrent claims never take one record twice; the locks last until
 * the caller's transaction ends.  Returns how many, -1 with e filled.
 * spool_claim's PostgreSQL way (spool_deliver.c). */
int spool_pg_lock_due(struct sql_conn *c, const char *target, int64_t due_by,
                      int64_t lease_now, bool with_indoubt, size_t max,
                      int64_t *ids, struct errs *e);

/* spool_pg_claim - claim up to max (<= 1000) records of target that are
 * due by the database's clock (queued or deferred, next_attempt_at
 * passed) or whose lease ran out, for owner, until the database's clock
 * + lease_ms: spool_pg_lock_due's rows moved to delivering in the same
 * statement, with no record read (the primitive, for its tests; the
 * spool claims through spool_claim).  Two statements (the clock, the
 * claim), each its own transaction unless the caller holds one.
 * Returns how many went into out, -1 with e filled. */
int spool_pg_claim(struct sql_conn *c, const char *target, const char *owner,
                   int64_t lease_ms, size_t max,
                   struct spool_pg_claimed *out, struct errs *e);

/* Job locks: a session-level advisory lock on sql_lock_key("job:" job).
 * Held until released or until the session ends, so a node that dies
 * lets its job go with its connection.  try: 1 taken, 0 held by another
 * session, -1 error.  release: 0, or -1 when this session did not hold
 * it (e says so). */
int spool_pg_joblock_try(struct sql_conn *c, const char *job,
                         struct errs *e);
int spool_pg_joblock_release(struct sql_conn *c, const char *job,
                             struct errs *e);

#endif
