/* spool_purge.c - retention: the payloads of final records past the
 * window are dropped; rows, history and audit stay. */
#include "spool/spool_int.h"
#include "util/clock.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int spool_purge(struct spool *s, int64_t before_ms, const char *actor,
                size_t *purged, struct errs *e)
{
    int rc = -1;
    size_t n = 0;
    if (purged)
        *purged = 0;
    spool_lock(s);
    if (spool_begin(s, e) != 0)
        goto end;
    sqlite3_stmt *st = spool_stmt(s, "UPDATE record_data SET payload = NULL, "
                                  "original = NULL, record_json = NULL "
                                  "WHERE id IN (SELECT id FROM records WHERE "
                                  "state IN ('confirmed','discarded') AND "
                                  "updated_at < ? AND payload_purged = 0)", e);
    if (!st)
        goto end;
    sqlite3_bind_int64(st, 1, before_ms);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "purging payloads");
        goto end;
    }
    st = spool_stmt(s, "UPDATE records SET payload_purged = 1 WHERE state IN "
                    "('confirmed','discarded') AND updated_at < ? AND "
                    "payload_purged = 0", e);
    if (!st)
        goto end;
    sqlite3_bind_int64(st, 1, before_ms);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        spool_dberr(s, e, NULL, "purging payloads");
        goto end;
    }
    n = (size_t)sqlite3_changes(s->db);
    char detail[128];
    snprintf(detail, sizeof detail, "records=%zu before=%lld", n,
             (long long)before_ms);
    if (spool_audit_append(s, clock_wall_ms(), actor, "purge", NULL,
                           "retention", "", "", detail, e) != 0)
        goto end;
    rc = 0;
end:
    rc = spool_end(s, rc, e);
    if (rc == 0 && purged)
        *purged = n;
    return rc;
}
