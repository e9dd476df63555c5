/* adapter.h - the one interface every delivery adapter implements.
 *
 * An adapter is a const descriptor (Fluent Bit output plugins, curl
 * protocol handlers): a name, its config keys, and callbacks.  Unused
 * callbacks are NULL.  Three kinds:
 *   STREAM     records delivered one by one as they arrive (soap, odbc);
 *   BATCH      records written into a file by the night batch (fixed-width);
 *   TRANSPORT  moves batch files and acknowledgements (sftp, local).
 *
 * Outcomes: every callback reports OK, RETRY (transient), FAIL (permanent)
 * or INDOUBT (the request may have reached the back end but no answer came:
 * a timeout after sending).  Each adapter maps its library's errors to
 * these in ONE function.  Adapters never sleep, never loop on retries and
 * never touch the ledger: the spool and scheduler own retry policy,
 * windows and the breaker.  All adapters are listed in adapters/registry.c;
 * nothing else names a concrete adapter. */
#ifndef FERRY_ADAPTERS_ADAPTER_H
#define FERRY_ADAPTERS_ADAPTER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mappings/mapping.h"
#include "mappings/record.h"

struct errs;
struct target_config;

enum adapter_outcome {
    ADAPTER_OK = 0,
    ADAPTER_RETRY,
    ADAPTER_FAIL,
    ADAPTER_INDOUBT,
};

enum adapter_kind {
    ADAPTER_STREAM = 0,
    ADAPTER_BATCH,
    ADAPTER_TRANSPORT,
};

struct adapter_result {
    enum adapter_outcome outcome;
    char msg[1024];      /* back end's own words: fault string, SQLSTATE... */
    char receipt[256];   /* target's receipt (OK), if any */
};

struct adapter_key {
    const char *name;    /* NULL terminates a table */
    const char *help;
    bool required;
    bool secret;         /* value names a secret file/env; never logged */
};

/* What an adapter instance is given.  opts are the options of this
 * instance: the <target> attributes for stream/batch adapters, the
 * <transport> attributes for transports.  map is the service mapping's
 * <target> section of the same name (NULL for transports). */
struct adapter_env {
    const struct target_config *target;
    const struct kvlist *opts;
    const struct map_target *map;
    const char *base_dir;       /* resolve relative paths and secrets */
    const char *service;        /* service name, NULL for transports */
};

/* One record handed to a stream adapter. */
struct delivery_item {
    const char *ref;            /* ferry reference: for people, unique
                                   within one spool only */
    const char *delivery_id;    /* delivery identity (UUID form), unique
                                   across spools: what a target keeps to
                                   recognise the record ($delivery-id) */
    const char *service;
    int attempt;                /* 1 for the first try */
    bool was_in_doubt;          /* previous attempt ended INDOUBT */
    const struct record *rec;
    struct adapter_result res;  /* filled by deliver/probe */
};

/* A batch file hand-over. */
struct transfer_req {
    const char *local_path;     /* the finished local file */
    const char *remote_name;    /* final name on the far side */
    const char *sha256_hex;     /* from the ledger, for crash recovery */
    uint64_t size;
    bool allow_overwrite;       /* target setting; default false */
};

struct adapter {
    const char *name;
    const char *description;
    enum adapter_kind kind;
    const struct adapter_key *keys;      /* target/transport options */
    const struct adapter_key *map_keys;  /* options on the mapping <target> */

    /* init - make an instance; 0 ok, -1 with e filled (config problem). */
    int  (*init)(void **ctx, const struct adapter_env *env, struct errs *e);
    void (*close)(void *ctx);

    /* STREAM: deliver n items (concurrently inside if it can), filling
     * each item's res.  Must return only when every item has an outcome. */
    void (*deliver)(void *ctx, struct delivery_item *items, size_t n);
    /* STREAM, optional: after INDOUBT or for reconciliation, ask the back
     * end whether ref arrived: OK (yes; receipt filled), FAIL (no: safe to
     * send again), RETRY (cannot tell now). */
    void (*probe)(void *ctx, struct delivery_item *item);

    /* TRANSPORT: send a file under a temporary name, check size, rename
     * to the final name; after a crash find out what the far side has and
     * never send the file twice under its final name. */
    void (*transfer)(void *ctx, const struct transfer_req *req,
                     struct adapter_result *res);
    /* TRANSPORT: list remote names matching a glob in the ack folder;
     * caller frees each name and the array. */
    void (*list)(void *ctx, const char *glob, char ***names, size_t *n,
                 struct adapter_result *res);
    /* TRANSPORT: fetch a remote file to a local path (tmp+fsync+rename) */
    void (*fetch)(void *ctx, const char *remote_name, const char *local_path,
                  struct adapter_result *res);
};

/* adapter_find - by name (registry.c); NULL if none */
const struct adapter *adapter_find(const char *name);
/* adapter_all - NULL-terminated list of every registered adapter */
const struct adapter *const *adapter_all(void);
const char *adapter_outcome_name(enum adapter_outcome o);
/* adapter_result_set - fill res with outcome and a formatted message */
void adapter_result_set(struct adapter_result *res, enum adapter_outcome o,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
