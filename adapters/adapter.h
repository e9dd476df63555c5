/* adapter.h - the one interface every delivery adapter implements.
 *
 * An adapter is a const descriptor (Fluent Bit output plugins, curl
 * protocol handlers): a name, its config keys, and callbacks.  Unused
 * callbacks are NULL.  Three kinds:
 *   STREAM     records delivered one by one as they arrive (soap, odbc);
 *   BATCH      file formats the night batch writes records into
 *              (fixed-width): open a file, write a record, close it with
 *              its totals, read it back;
 *   TRANSPORT  moves batch files and acknowledgements (sftp, local).
 *
 * Outcomes: every callback reports OK, RETRY (transient), FAIL (permanent
 * for this record), INDOUBT (the request may have reached the back end but
 * no answer came: a timeout after sending) or STOP (the target is unusable
 * for every record; nothing was sent).  Each adapter maps its library's errors to
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
    /* the target itself is unusable, whatever the record: login or
     * WS-Security refused, certificate, host key, a marker table that is
     * missing or unreadable.  Nothing was sent; the engine stops the
     * target with this message and the record waits, uncounted. */
    ADAPTER_STOP,
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
    char receipt_data[1024]; /* OK, optional: the receipt's named parts
                            as a JSON object {"number": "...", "status":
                            "..."}; "" none */
    bool already;        /* TRANSPORT, OK: the identical file was already
                            there under its final name: nothing uploaded */
};

/* An adapter's options are a typed table (Fluent Bit's config maps): one
 * entry per key with its type, its default and, where the adapter wants
 * the value stored for it, the offset of a field in its own struct.
 * adapter_opts_read (adapter_opts.c) reads a <target>/<transport>/mapping
 * <target> option list against a table once, for `ferry check` and for the
 * daemon alike: unknown keys, missing required ones, values of the wrong
 * type are problems with file:line. */
enum adapter_opt_type {
    ADAPTER_OPT_STR = 0,    /* const char *, borrowed from the option list */
    ADAPTER_OPT_SECRET,     /* const char *: a file (0600) or env:NAME */
    ADAPTER_OPT_BOOL,       /* bool: true/false/yes/no */
    ADAPTER_OPT_INT,        /* long, within [min, max] */
    ADAPTER_OPT_DURATION,   /* int64_t ms (util/duration.h), within [min, max] */
    ADAPTER_OPT_SIZE,       /* size_t bytes, "1MiB", "512k" */
};

#define ADAPTER_OPT_UNSTORED ((size_t)-1)

struct adapter_key {
    const char *name;       /* NULL ends a table; "ns-*" names a family */
    enum adapter_opt_type type;
    const char *def;        /* default, written as in ferry.xml; NULL none */
    size_t offset;          /* field it is stored in, or ADAPTER_OPT_UNSTORED */
    long long min, max;     /* INT / DURATION range; both 0: any */
    bool required;
    const char *help;
};

/* ADAPTER_KEY - a key the table checks but the adapter reads itself */
#define ADAPTER_KEY(name, type, req, help) \
    { (name), (type), NULL, ADAPTER_OPT_UNSTORED, 0, 0, (req), (help) }
/* ADAPTER_KEY_IN - the same, with a range [min, max] */
#define ADAPTER_KEY_IN(name, type, min, max, help) \
    { (name), (type), NULL, ADAPTER_OPT_UNSTORED, (min), (max), false, \
      (help) }
/* ADAPTER_OPT - a key stored at offsetof(st, field), default def */
#define ADAPTER_OPT(name, type, def, st, field, min, max, help) \
    { (name), (type), (def), offsetof(st, field), (min), (max), false, \
      (help) }
#define ADAPTER_KEY_END { NULL, ADAPTER_OPT_STR, NULL, 0, 0, 0, false, NULL }

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
    const char *mapping_file;   /* the mapping map came from (batch
                                   formats find copybooks beside it) */
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
    int marker_gen;             /* > 0: reconcile found the record missing
                                   at the target and an operator requeued
                                   it (that many times): a marker an
                                   earlier send left is void, and this
                                   send writes it anew (generation N) */
    const struct record *rec;
    struct adapter_result res;  /* filled by deliver/probe */
};

/* A batch file hand-over. */
struct transfer_req {
    const char *local_path;     /* the finished local file */
    const char *remote_name;    /* final name on the far side */
    const char *sha256_hex;     /* from the ledger, for crash recovery */
    uint64_t size;
    bool companion;             /* a file that goes beside a batch file
                                   (its checksum): no trigger file */
};

/* BATCH: where a file's bytes go.  The night batch owns it, so every
 * format is written the same safe way (temporary name, SHA-256, fsync,
 * rename).  put: 0, or -1 when the bytes could not be written (the sink
 * knows why; the format answers RETRY and stops). */
struct batch_sink {
    int (*put)(void *sctx, const void *p, size_t n);
    void *sctx;
};

/* BATCH: a written file read back.  get: 0 with exactly n bytes, 1 when
 * the file ends first, -1 on a read error (the source knows why).
 * progress (may be NULL): records checked so far of total. */
struct batch_source {
    int (*get)(void *sctx, void *p, size_t n);
    void (*progress)(void *sctx, int64_t done, int64_t total);
    void *sctx;
};

/* BATCH: the figures a finished file carries (and the ledger keeps). */
struct batch_totals {
    int64_t count;               /* detail records */
    char text[512];              /* hash totals: "NAME=1234.50 N2=42", or "" */
};

/* BATCH: what the night batch asks of a format before writing. */
struct batch_format_info {
    const char *file_pattern;    /* file-name; NULL = the default */
    bool empty_file;             /* write a file when nothing is queued */
    bool header_totals;          /* the header carries the file's totals:
                                    the builder writes the file again, the
                                    first pass's close_file figures ($count,
                                    $sum:...) in the specials */
};

struct adapter {
    const char *name;
    const char *description;
    enum adapter_kind kind;
    const struct adapter_key *keys;      /* target/transport options */
    const struct adapter_key *map_keys;  /* options on the mapping <target> */

    /* validate, optional - check an instance's options and mapping the way
     * init would, without making one: 0 ok, -1 with e filled.  NULL: the
     * check makes an instance with init and closes it again, so what
     * `ferry check` passes, the daemon can start (init never connects). */
    int  (*validate)(const struct adapter_env *env, struct errs *e);
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

    /* BATCH: one instance per service feeding the target (env->map is
     * that service's mapping section).  The first instance writes the
     * file's header and trailer; every record is written by the instance
     * of its own service into the same file.  Formats never touch the
     * ledger: the night batch binds records, records dead letters and
     * keeps the file safe (struct batch_sink).
     * info: the file name pattern and the empty-file choice. */
    void (*file_info)(void *ctx, struct batch_format_info *out);
    /* BATCH, optional: can instance b write into a file a opened?  0, or
     * -1 with why (different record layouts in one file). */
    int  (*same_file)(const void *a, const void *b, char *why, size_t whysz);
    /* BATCH: start a file into sink (its header, from the specials sp:
     * "$file-date", "$sequence"...).  *file is the format's state for
     * this file.  FAIL: the header cannot be written (configuration),
     * RETRY: the sink refused bytes. */
    void (*open_file)(void *ctx, const struct batch_sink *sink,
                      const struct record *sp, void **file,
                      struct adapter_result *res);
    /* BATCH: one record, written by the instance of its service.  FAIL:
     * this record cannot go into the file (res.msg, without its values,
     * is its dead letter reason) and nothing of it was written; RETRY:
     * the sink refused bytes. */
    void (*write_record)(void *ctx, void *file, const struct record *rec,
                         const struct record *sp,
                         struct adapter_result *res);
    /* BATCH: finish the file: the trailer (the format sets "$count" and
     * "$sum:FIELD" in sp first), then *totals, and free file.  totals
     * NULL: abandon the file (nothing written, file freed).  FAIL: the
     * trailer cannot be written; RETRY: the sink refused bytes. */
    void (*close_file)(void *file, struct record *sp,
                       struct batch_totals *totals,
                       struct adapter_result *res);
    /* BATCH: read a written file of size bytes back with the decoders:
     * every record decodes, the trailer agrees with the details and the
     * details with want.  OK; FAIL with why (a mismatch); RETRY when the
     * source could not read. */
    void (*check_file)(void *ctx, const struct batch_source *src,
                       uint64_t size, const struct batch_totals *want,
                       struct adapter_result *res);

    /* STREAM and BATCH, optional: the intake's check that a record can be
     * encoded for this target at all (code page, control characters,
     * lengths, ranges), with no I/O, so nothing accepted fails to encode
     * later because of its own content.  admit_new prepares it from env
     * (0, or -1 with e filled: a configuration problem), admit checks one
     * record (0, or -1 with every problem in e, never quoting a value),
     * admit_free frees it.  NULL: the target can take any valid record. */
    int  (*admit_new)(void **actx, const struct adapter_env *env,
                      struct errs *e);
    int  (*admit)(const void *actx, const struct record *rec,
                  struct errs *e);
    /* BATCH, optional: admit, also giving the record's stored encoding
     * (docs/spool.md, record_data.encoded): bytes the night batch can
     * write later without reading the record's JSON again.  *out is
     * malloc'd (caller frees), or NULL when this layout keeps none.
     * 0, or -1 exactly as admit. */
    int  (*admit_stored)(const void *actx, const struct record *rec,
                         unsigned char **out, size_t *outn,
                         struct errs *e);
    void (*admit_free)(void *actx);
    /* BATCH, optional: write_record from a stored encoding (admit_stored's
     * bytes, per-record specials in sp written afresh): 0 with res as
     * write_record's, the same bytes it writes; 1 when the bytes are not
     * this layout's (the mapping or copybook changed since intake):
     * nothing written, the caller writes the record from its JSON. */
    int  (*write_stored)(void *ctx, void *file, const unsigned char *p,
                         size_t n, const struct record *sp,
                         struct adapter_result *res);

    /* TRANSPORT: send a file under a temporary name, check size, rename
     * to the final name; after a crash find out what the far side has and
     * never send the file twice under its final name. */
    void (*transfer)(void *ctx, const struct transfer_req *req,
                     struct adapter_result *res);
    /* TRANSPORT, optional: connect and log in (host key, credentials),
     * send nothing: OK, RETRY (cannot be reached now) or STOP (refused
     * for good: host key unknown or changed, login refused).  The night
     * batch asks before it binds records, so the records of a target
     * that refuses wait queued.  NULL: nothing to ask (a local folder). */
    void (*reach)(void *ctx, struct adapter_result *res);
    /* TRANSPORT: list remote names matching a glob in the ack folder;
     * caller frees each name and the array. */
    void (*list)(void *ctx, const char *glob, char ***names, size_t *n,
                 struct adapter_result *res);
    /* TRANSPORT: fetch a remote file to a local path (tmp+fsync+rename) */
    void (*fetch)(void *ctx, const char *remote_name, const char *local_path,
                  struct adapter_result *res);
    /* TRANSPORT: where files go, for people: "sftp user@host:22/in",
     * "local /srv/drop" (no secrets). */
    void (*describe)(void *ctx, char *out, size_t outsz);
};

/* adapter_opts_read - read opts against keys (adapter_opts.c): every key
 * present must be in the table and parse as its type, every required key
 * must be present; values (or defaults) of stored keys go to dst + offset
 * (dst NULL: check only).  owner names the options in messages ("target
 * 'claims'"); file and line say where they were written (a key's own line
 * when the option list has one); file NULL: no place (an adapter's init,
 * whose caller places its problems).  skip: keys the caller owns (NULL-ended,
 * may be NULL).  Returns 0, or -1 with one problem per fault in e. */
int adapter_opts_read(const struct adapter *a, const struct adapter_key *keys,
                      const struct kvlist *opts, const char *const *skip,
                      void *dst, const char *owner, const char *file,
                      long line, struct errs *e);
/* adapter_engine_keys - options of a stream <target> that the delivery
 * engine reads itself (resend-in-doubt, batch-size); every stream adapter
 * takes them, so its table need not list them.  NULL-ended: pass as skip */
extern const char *const adapter_engine_keys[];
/* adapter_key_find - the table entry for name ("ns-*" takes "ns-r"), or NULL */
const struct adapter_key *adapter_key_find(const struct adapter_key *keys,
                                           const char *name);
/* adapter_validate - a->validate, else init + close; 0 ok, -1 with e */
int adapter_validate(const struct adapter *a, const struct adapter_env *env,
                     struct errs *e);

/* adapter_find - by name (registry.c); NULL if none */
const struct adapter *adapter_find(const char *name);
/* adapter_all - NULL-terminated list of every registered adapter */
const struct adapter *const *adapter_all(void);
const char *adapter_outcome_name(enum adapter_outcome o);
/* adapter_result_set - fill res with outcome and a formatted message */
void adapter_result_set(struct adapter_result *res, enum adapter_outcome o,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* adapter_result_problems - FAIL with every problem of pe as one line
 * (a dead letter reason), "cannot be encoded" when pe holds none */
void adapter_result_problems(struct adapter_result *res,
                             const struct errs *pe);

#endif
