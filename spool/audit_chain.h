/* audit_chain.h - the audit chain (spool_audit.c) on any statement-layer
 * connection: what struct spool's audit functions run on, and what a
 * PostgreSQL ledger runs the same way.  Never included outside spool/
 * (and its tests). */
#ifndef FERRY_SPOOL_AUDIT_CHAIN_H
#define FERRY_SPOOL_AUDIT_CHAIN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool/spool.h"
#include "spool/sql.h"

/* Everything the chain needs from its spool, borrowed for one call. */
struct spool_audit_chain {
    struct sql_conn *c;
    bool keyed;                    /* the audit key is given */
    const unsigned char *key;      /* SPOOL_KEY_LEN bytes, when keyed */
    const char *head_path;         /* the head file outside the ledger */
    char *pending;                 /* "ID HASH KEYED" appended in the open
                                      transaction, for the anchor */
    size_t pendingsz;
    const char *where;             /* where errors are, by default */
};

/* spool_audit_chain_append - one entry inside the caller's transaction
 * (on PostgreSQL under the advisory lock "audit", so two nodes never
 * append the same id) */
int spool_audit_chain_append(struct spool_audit_chain *ac, int64_t at,
                             const char *actor, const char *action,
                             const char *ref, const char *reason,
                             const char *before, const char *after,
                             const char *detail, struct errs *e);
/* spool_audit_chain_list - as spool_audit_list (no lock taken) */
int spool_audit_chain_list(struct spool_audit_chain *ac, const char *ref,
                           struct spool_audit_list *out, struct errs *e);
/* spool_audit_chain_verify - as spool_audit_verify (no lock taken) */
int spool_audit_chain_verify(struct spool_audit_chain *ac,
                             const char *expect,
                             struct spool_audit_proof *p, struct errs *e);
/* spool_audit_chain_head - "ID:HASH" of the newest entry; out holds 96 */
int spool_audit_chain_head(struct spool_audit_chain *ac, char *out,
                           size_t outsz, struct errs *e);

#endif
