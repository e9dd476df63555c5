/* batch_int.h - what the night batch files share and nobody else sees:
 * the compiled target, the result of building a file and the steps of
 * one batch.  batch.c compiles the target and runs batches,
 * batch_build.c writes a file from the ledger, batch_verify.c reads it
 * back with the decoders, batch_send.c hands it to the transport. */
#ifndef FERRY_SCHEDULER_BATCH_INT_H
#define FERRY_SCHEDULER_BATCH_INT_H
#include "scheduler/batch.h"
#include "adapters/adapter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errs;
struct spool;
struct spool_batch;
struct ferry_config;
struct target_config;
struct fw_target;
struct cpy_field;

#define BATCH_IOBUF      (1u << 20)   /* write and read-back buffer */
#define BATCH_FAIL_CAP   10000        /* dead letters applied per pass */
#define BATCH_MAX_SUMS   8
#define BATCH_MAX_PASSES 1000

struct bsvc {
    const char *service;
    struct fw_target *ft;
};

struct bsum {
    const char *name;              /* detail COBOL field (borrowed) */
    const struct cpy_field *f;     /* in the detail record */
    int scale;
    int64_t total;
};

struct bctx {
    const struct ferry_config *cfg;
    struct spool *sp;
    const struct target_config *tc;
    const struct batch_opts *o;
    struct bsvc *svc;
    size_t nsvc;
    struct fw_target *ft;          /* svc[0]: header, trailer, names */
    size_t dlen, hlen, tlen;       /* record lengths; 0 = no such record */
    const char *sep;
    size_t seplen;
    struct bsum sums[BATCH_MAX_SUMS];
    size_t nsums;
};

enum build_mode {
    BUILD_BOUND = 0,   /* an unfinished batch: its records still batched */
    BUILD_RESEND,      /* a sent batch: its records sent, confirmed... */
    BUILD_PREVIEW,     /* dry run of a new batch: the queued records */
};

struct built {
    int64_t count;
    int64_t sums[BATCH_MAX_SUMS];
    uint64_t bytes;
    char sha256[65];
    char totals[512];
    int64_t failed;                /* records left out */
};

enum { BUILT_OK = 0, BUILT_CONFIG, BUILT_IO };

/* batch_rescale - v at scale from -> scale to (to >= from); -1 on overflow */
int batch_rescale(int64_t v, int from, int to, int64_t *out);
/* batch_hex_digest - lower-case hex of the first 32 bytes of d */
void batch_hex_digest(const unsigned char *d, unsigned n, char out[65]);
/* batch_totals_text - "NAME=1234.50 NAME2=42" from the running sums */
void batch_totals_text(const struct bctx *c, const int64_t *v, char *out,
                       size_t outsz);
/* batch_build_file - write batch b's file as dir/name; BUILT_* */
int batch_build_file(struct bctx *c, const struct spool_batch *b,
                     enum build_mode mode, bool dry, const char *dir,
                     const char *name, int64_t total, struct built *res,
                     struct errs *e);
/* batch_verify_file - read path back and compare with want; 0 ok, -1 with
 * why (a mismatch) or e (I/O) */
int batch_verify_file(struct bctx *c, const char *path,
                      const struct built *want, char *why, size_t whysz,
                      struct errs *e);
/* batch_describe_dest - "sftp user@host:22/dir" for the summary */
void batch_describe_dest(const struct target_config *tc, char *out,
                         size_t outsz);
/* batch_send_file - through the target's transport; the adapter's outcome */
enum adapter_outcome batch_send_file(struct bctx *c, const char *path,
                                     const char *name, const char *sha,
                                     uint64_t size, char *msg, size_t msgsz);

#endif
