/* http_intake.h - the daemon's HTTP front door (libmicrohttpd).
 *
 * An intake, not a delivery adapter: it is not in adapters/registry.c.
 *
 *   POST /v1/services/{service}/submissions   JSON, or NDJSON for a batch
 *   GET  /v1/submissions/{reference}          state of one's own record
 *   GET  /v1/mi?from=&to=&service=            management information
 *   GET  /healthz  /readyz  /metrics
 *
 * Callers authenticate with an HS256 JWT (issuer = client id, issued-at
 * within the listener's token window) signed with the client's secret
 * (http_jwt.h).
 * A record is committed durably (spool_enqueue, group-committed with the
 * other requests in flight) before any 202 is sent.  docs/serve.md is the
 * full contract.
 *
 * Threads: a small epoll pool inside libmicrohttpd; the server itself is
 * driven from one thread (new / reload / stop / free).
 *
 * The face of intake/'s HTTP door, defined by its rooms: the server's
 * life in http_listen.c, requests in http_request.c, the conservation
 * check in http_metrics.c (see http_request.c for the map). */
#ifndef FERRY_INTAKE_HTTP_INTAKE_H
#define FERRY_INTAKE_HTTP_INTAKE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct errs;
struct ferry_config;
struct spool;
struct http_server;

/* ---- the server -------------------------------------------------------- */

/* GET /v1/mi: what the caller asked for, checked for shape only (the
 * hook checks the dates as dates). */
struct http_mi_query {
    const char *from, *to;             /* YYYY-MM-DD, or NULL = open */
    const char *service;               /* one of the client's services */
    const struct ferry_config *cfg;    /* the request's configuration */
};

/* How a /v1/mi hook went; every value is answered differently. */
enum http_mi_result {
    HTTP_MI_OK = 0,                    /* out holds the JSON: 200 */
    HTTP_MI_BAD_QUERY,                 /* e says which parameter: 400 */
    HTTP_MI_BUSY,                      /* one report at a time: 429 */
    HTTP_MI_FAILED,                    /* ledger unreadable: 503 */
};

/* Hooks into the rest of the daemon; every member may be NULL. */
struct http_hooks {
    /* GET /v1/mi: the management information of q as `ferry report
     * --format json` prints it (the report lives above intake, in
     * scheduler/: the daemon hands it in here).  Runs on a request
     * thread; NULL answers 404. */
    enum http_mi_result (*mi)(void *ctx, const struct http_mi_query *q,
                              struct buf *out, struct errs *e);
    /* append more Prometheus text to /metrics (delivery, jobs) */
    void (*metrics)(void *ctx, struct buf *out);
    /* a submission was accepted: wake the delivery loop */
    void (*accepted)(void *ctx);
    void *ctx;
    /* the support console's address for the page at / ("" when there is
     * none); a copy, so it outlives nothing */
    char console_url[160];
};

/* http_new - start listening on listen ("ADDR:PORT", "[v6]:PORT"; NULL =
 * the config's intake listen).  Port 0 picks a free port (http_port).
 * Loads every client's secret now.  cfg and sp are borrowed and must
 * outlive the server (or the next http_reload).  Logs "listening".
 * NULL with e filled on failure. */
struct http_server *http_new(const struct ferry_config *cfg, struct spool *sp,
                             const char *listen, const struct http_hooks *hooks,
                             struct errs *e);
/* http_port - the port actually bound */
int http_port(const struct http_server *h);
/* http_reload - use cfg (already loaded and checked) for requests that
 * start from now on: clients, secrets, services, limits.  The listener
 * itself (address, TLS, connection limit) is kept: changing those needs a
 * restart (a warning is logged).  Returns -1 with e filled, keeping the
 * old configuration, when a secret cannot be read.  The old cfg must stay
 * alive until http_free (requests in flight may still use it). */
int http_reload(struct http_server *h, const struct ferry_config *cfg,
                struct errs *e);
/* http_stop - stop taking connections and requests (new requests get 503
 * and the connection is closed), wait until requests in flight have their
 * replies or deadline_ms (CLOCK_MONOTONIC ms) passes.  Returns 0 when
 * drained, -1 when the deadline passed first. */
int http_stop(struct http_server *h, int64_t deadline_ms);
/* http_free - stop (if not yet) and free; NULL does nothing */
void http_free(struct http_server *h);

/* http_conservation - received (the ledger's intake counters) against
 * the records present in all states.  *diff = received - in states; a
 * non-zero value is logged loudly (event conservation-mismatch).
 * 0 ok, -1 with e filled when the ledger could not be read. */
int http_conservation(struct spool *sp, int64_t *received, int64_t *in_states,
                      int64_t *diff, struct errs *e);


#endif
