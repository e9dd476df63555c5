/* batch_int.h - what the night batch files share and nobody else sees:
 * the target's format instances, the result of building a file and the
 * steps of one batch.  batch.c sets the target up and runs batches,
 * batch_build.c writes a file from the ledger through the format's
 * callbacks, batch_verify.c has the format read it back, batch_send.c
 * hands it to the transport, batch_sum.c holds the arithmetic. */
#ifndef FERRY_SCHEDULER_BATCH_INT_H
#define FERRY_SCHEDULER_BATCH_INT_H
#include "scheduler/batch.h"
#include "adapters/adapter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct errs;
struct spool;
struct spool_batch;
struct ferry_config;
struct target_config;

#define BATCH_IOBUF      (1u << 20)   /* write and read-back buffer */
#define BATCH_FAIL_CAP   10000        /* dead letters applied per pass */
#define BATCH_MAX_PASSES 1000

/* One service feeding the target: its instance of the target's format. */
struct bsvc {
    const char *service;
    void *fmt;
};

struct bctx {
    const struct ferry_config *cfg;
    struct spool *sp;
    const struct target_config *tc;
    const struct batch_opts *o;
    const struct adapter *format;  /* the target's batch format */
    struct bsvc *svc;
    size_t nsvc;                   /* svc[0] writes header and trailer */
    struct batch_format_info info; /* svc[0]'s file name and empty-file */
    bool was_stopped;              /* the ledger says the target stopped:
                                      a run that reaches it clears that */
};

enum build_mode {
    BUILD_BOUND = 0,   /* an unfinished batch: its records still batched */
    BUILD_RESEND,      /* a sent batch: its records sent, confirmed... */
    BUILD_PREVIEW,     /* dry run of a new batch: the queued records */
};

struct built {
    int64_t count;
    uint64_t bytes;
    char sha256[65];
    char totals[512];
    int64_t failed;                /* records left out */
};

/* How building a file went.  BUILT_REDO is internal to one build (dead
 * letters were recorded mid-pass: write the file again) and never leaves
 * batch_build_file. */
enum build_result {
    BUILT_OK = 0,
    BUILT_CONFIG,      /* the mapping or the ledger's records say no */
    BUILT_IO,          /* local file or ledger failure: e says which */
    BUILT_REDO,
};

/* batch_hex_digest - lower-case hex of the first 32 bytes of d */
void batch_hex_digest(const unsigned char *d, unsigned n, char out[65]);
/* batch_build_file - write batch b's file as dir/name through the
 * target's format; BUILT_OK, BUILT_CONFIG or BUILT_IO (e filled) */
enum build_result batch_build_file(struct bctx *c, const struct spool_batch *b,
                                   enum build_mode mode, bool dry,
                                   const char *dir, const char *name,
                                   int64_t total, struct built *res,
                                   struct errs *e);
/* batch_verify_file - read path back through the format's check and
 * compare with want; 0 ok, -1 with why (a mismatch) or e (I/O) */
int batch_verify_file(struct bctx *c, const char *path,
                      const struct built *want, char *why, size_t whysz,
                      struct errs *e);

/* A written batch file read back as its plain bytes (batch_file.c):
 * sealed at rest when the spool has a key, plain otherwise. */
struct bfile_in {
    FILE *f;
    struct spool_fcrypt *fc;       /* NULL: a plain file */
    uint64_t size;                 /* plain bytes */
    uint64_t done;                 /* read so far */
};
/* batch_file_aad - "<target>/<name>": what a sealed file is bound to */
void batch_file_aad(const struct bctx *c, const char *name, char *out,
                    size_t outsz);
/* batch_is_sealed - does the file at path begin as a sealed file */
bool batch_is_sealed(const char *path);
/* batch_file_open - open path (batch file name) for reading; -1 with e */
int batch_file_open(struct bctx *c, const char *path, const char *name,
                    struct bfile_in *in, struct errs *e);
/* batch_file_read - exactly n plain bytes: 0, 1 the file ends first,
 * -1 a read error */
int batch_file_read(struct bfile_in *in, void *p, size_t n);
/* batch_file_finish - everything was read and (sealed) the tag checks:
 * 0, else -1 */
int batch_file_finish(struct bfile_in *in);
void batch_file_close(struct bfile_in *in);
/* batch_file_plain - a plain copy of the file in out (0600, fsynced),
 * for a transport; -1 with e (out removed) */
int batch_file_plain(struct bctx *c, const char *path, const char *name,
                     const char *out, struct errs *e);
/* batch_file_sha256 - SHA-256 of the plain bytes; 0, or -1 */
int batch_file_sha256(struct bctx *c, const char *path, const char *name,
                      char hex[65]);

/* The target's transport, open for one hand-over, with the hand-over
 * conventions its <transport> asks for (adapters/handover.h). */
struct btransport {
    const struct adapter *ad;
    void *ctx;
    struct adapter_handover *h;
};
/* batch_transport_open - the target's transport instance; 0, or -1 with
 * msg (no transport, or its options refused) */
int batch_transport_open(struct bctx *c, struct btransport *t, char *msg,
                         size_t msgsz);
void batch_transport_close(struct btransport *t);
/* batch_transport_describe - "sftp user@host:22/dir", from the adapter */
void batch_transport_describe(const struct btransport *t, char *out,
                              size_t outsz);
/* batch_was_stopped - does the ledger say c's target stopped (its row
 * in target_state)?  A read failure reads as no (batch_state.c). */
bool batch_was_stopped(struct bctx *c);
/* batch_state_put - record c's target stopped with why, or running again
 * (why NULL), and set c->was_stopped; a failure is logged, never fatal */
void batch_state_put(struct bctx *c, const char *why);
/* batch_transport_reach - ask the open transport to connect and log in,
 * sending nothing (its reach callback): OK, RETRY or STOP with msg.  A
 * transport without one (a local folder) answers OK. */
enum adapter_outcome batch_transport_reach(struct btransport *t, char *msg,
                                           size_t msgsz);
/* batch_send_file - through the open transport, with its hand-over
 * conventions: the file encrypted (and signed) as NAME.pgp, its checksum
 * file first, then the file itself (the transport's trigger after it);
 * the adapter's outcome (INDOUBT reads as RETRY: the transfer resumes
 * safely).  *already: the identical file was already there, nothing was
 * uploaded.  The encrypted copy stays in outbound/ (.NAME.pgp) until
 * batch_handover_tidy, so a re-run after a crash sends the same bytes. */
enum adapter_outcome batch_send_file(struct bctx *c, struct btransport *t,
                                     const char *path, const char *name,
                                     const char *sha, uint64_t size,
                                     bool *already, char *msg, size_t msgsz);

/* batch_handover_tidy - remove the hand-over's local copies of a sent
 * file (outbound/<target>/.NAME.pgp, .NAME.sha256) */
void batch_handover_tidy(const char *local_path, const char *name);

#endif
