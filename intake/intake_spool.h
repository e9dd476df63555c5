/* intake_spool.h - the one step from a mapped record to a spool item,
 * shared by every intake: the HTTP front door (intake/http_*.c) and the
 * command line's `submit` and `import` (cli/cli_intake.c).
 *
 * The rule it holds, in one place: a submission is identified by its
 * service and the front-end's own reference (the mapping's idempotency
 * field).  A client's Idempotency-Key travels beside it as client_key:
 * it adds protection for services whose mapping names no reference, and
 * lets a client retry and get its first answer, but never stands in for
 * the reference, so the same reference never gets in twice whatever keys
 * a client's retries carry (spool_enqueue keeps both promises).
 *
 * Floor: above mappings/, spool/ and config/; below the scheduler and
 * the CLI, which call down into it. */
#ifndef FERRY_INTAKE_INTAKE_SPOOL_H
#define FERRY_INTAKE_INTAKE_SPOOL_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct adapter_admit;
struct jt_doc;
struct errs;
struct record;
struct service_config;
struct spool;
struct spool_item;

/* One mapped submission on its way to the spool. */
struct intake_doc {
    long line;                   /* source line (1 for one document) */
    const char *raw;             /* original bytes (borrowed) */
    size_t rawlen;
    char *record_json;           /* mapped record, canonical JSON (owned) */
    char *fe_ref;                /* front-end reference (owned); NULL none */
    char **search;               /* map_search_values pairs (owned) */
    size_t nsearch;
    unsigned char *encoded;      /* the record's stored encoding for the
                                    service's target (owned); NULL none */
    size_t encoded_len;
};

/* intake_doc_take - rec (taken: freed here) into d's record JSON and
 * front-end reference.  0, or -1 with e filled (out of memory). */
int intake_doc_take(struct intake_doc *d, const struct service_config *svc,
                    struct record *rec, struct errs *e);
/* intake_doc_map - doc through svc's mapping into d, and through adm (the
 * checks of every target of svc, adapters/admit.h; NULL = none): a
 * submission one of its targets could not encode is refused here, at the
 * door.  0, or -1 with every problem in e and d unchanged. */
/* intake_doc_admit - rec (taken) through adm, then into d with the
 * stored encoding its target's format keeps (adapters/admit.h).  0, or
 * -1 with every problem in e and d unchanged. */
int intake_doc_admit(struct intake_doc *d, const struct service_config *svc,
                     const struct adapter_admit *adm, struct record *rec,
                     struct errs *e);
int intake_doc_map(struct intake_doc *d, const struct service_config *svc,
                   const struct adapter_admit *adm, const json_t *doc,
                   struct errs *e);
/* intake_doc_map_jt - the same for the fast parse's tree (jtree.h) */
int intake_doc_map_jt(struct intake_doc *d, const struct service_config *svc,
                      const struct adapter_admit *adm,
                      const struct jt_doc *doc, struct errs *e);
/* intake_doc_clear - free what d owns; d may be reused */
void intake_doc_clear(struct intake_doc *d);

/* intake_item - d as the spool item of svc from client (the channel's or
 * authenticated client's id).  client_key (NULL = none) is the client's
 * Idempotency-Key.  Every pointer in *it is borrowed from the arguments. */
void intake_item(struct spool_item *it, const struct service_config *svc,
                 const char *client, const struct intake_doc *d,
                 const char *client_key);

/* intake_disk_ok - the spool's file system has at least min_free_mb MiB
 * free (statvfs; false when it cannot be read) */
bool intake_disk_ok(const struct spool *sp, size_t min_free_mb);

#endif
