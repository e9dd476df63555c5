/* spool_copy.h - moving a whole ledger between the two engines (`ferry
 * spool copy`): a spool folder's SQLite ledger into an empty PostgreSQL
 * one, and a PostgreSQL ledger into a new SQLite spool folder.  Every
 * table row for row, ids kept, blobs byte for byte, the spool identity
 * kept; verified before the one commit on the destination (row counts
 * per table, the audit chain and its head), the source opened read-only
 * and never changed.  The staging folders (outbound/, inbound/,
 * archive/) and key files are not the ledger: they stay where they are
 * (docs/spool.md, "Moving a ledger between engines"). */
#ifndef FERRY_SPOOL_SPOOL_COPY_H
#define FERRY_SPOOL_SPOOL_COPY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool/spool.h"

struct errs;

/* How a copy went; every value but OK left the destination without a
 * row of the source (an empty ledger may have been made: a second copy
 * accepts it). */
enum spool_copy_outcome {
    SPOOL_COPY_OK = 0,             /* copied, verified, committed */
    SPOOL_COPY_CONN_FILE,          /* the connection file was refused (its
                                      mode, or not a connection string) */
    SPOOL_COPY_CANNOT_OPEN,        /* a ledger could not be opened or
                                      reached, or holds no ferry ledger */
    SPOOL_COPY_REFUSED,            /* the destination holds a ledger, or
                                      the schema versions differ (e says
                                      which side is at which) */
    SPOOL_COPY_SCHEMA_DRIFT,       /* the two engines' tables or columns
                                      differ at one version: a ferry bug
                                      (pg_schema.c behind spool_db.c) */
    SPOOL_COPY_UNVERIFIED,         /* the source's audit chain does not
                                      verify, or the copy did not (counts,
                                      chain, head, identity): rolled back */
    SPOOL_COPY_FAILED,             /* reading or writing failed midway:
                                      rolled back */
};

/* progress - DONE of TOTAL rows copied so far, in PHASE (a literal) */
typedef void (*spool_copy_progress)(void *arg, const char *phase,
                                    int64_t done, int64_t total);

struct spool_copy_opts {
    /* the audit key, to check keyed entries' HMACs; without it their
     * links are checked (spool_audit_verify's rule) */
    bool audit_keyed;
    unsigned char audit_key[SPOOL_KEY_LEN];
    /* the source's audit head file outside the ledger (borrowed).  To
     * PostgreSQL: NULL = DIR/audit.head, and the destination is checked
     * against the same file (the folder keeps it).  From PostgreSQL: NULL
     * = none known (only the chain and the ledger's own head are
     * checked); the new folder gets its own audit.head. */
    const char *audit_head_file;
    spool_copy_progress progress;  /* NULL: none */
    void *progress_arg;
};

#define SPOOL_COPY_TABLES_MAX 64

struct spool_copy_info {
    int schema_version;
    char spool_id[SPOOL_ID_LEN];   /* the same on both sides */
    char audit_head[96];           /* "ID:HASH", the same on both sides */
    size_t audit_entries;
    size_t audit_keyed;            /* entries keyed (HMAC) */
    bool audit_key_given;          /* their HMACs were checked */
    bool audit_head_file_checked;  /* a head file outside the ledger too */
    size_t ntables;
    struct { char name[64]; int64_t rows; } table[SPOOL_COPY_TABLES_MAX];
    int64_t rows;                  /* over every table */
    char connection[256];          /* the PostgreSQL side, described
                                      without its password */
};

/* spool_copy_to_pg - the SQLite ledger of the spool folder dir into the
 * PostgreSQL database named by the connection file conn_file (mode 0600,
 * sql_conninfo_load): its schema is built when it has none; a ledger
 * already there must be at the same schema version and empty. */
enum spool_copy_outcome spool_copy_to_pg(const char *dir,
                                         const char *conn_file,
                                         const struct spool_copy_opts *o,
                                         struct spool_copy_info *info,
                                         struct errs *e);

/* spool_copy_from_pg - the PostgreSQL ledger named by conn_file into the
 * spool folder dest, made as spool_open makes one (a folder that already
 * has a ledger must have an empty one); its audit.head is written after
 * the commit. */
enum spool_copy_outcome spool_copy_from_pg(const char *conn_file,
                                           const char *dest,
                                           const struct spool_copy_opts *o,
                                           struct spool_copy_info *info,
                                           struct errs *e);

#endif
