/* http_int.h - private to intake/http_*.c: the server's state shared
 * by the request path (http_request.c, submissions in http_submit.c),
 * authentication (http_auth.c), the listener (http_listen.c), open
 * connections (http_conns.c), the committer (http_commit.c), counters
 * (http_door.c), replies (http_reply.c) and the metrics page
 * (http_metrics.c).  Not for other modules. */
#ifndef FERRY_INTAKE_HTTP_INT_H
#define FERRY_INTAKE_HTTP_INT_H
#include "intake/http_intake.h"
#include "intake/http_jwt.h"
#include "intake/intake_spool.h"
#include "spool/spool.h"
#include "util/buf.h"

#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_SERVICES     256          /* intake counter rows */
#define MAX_CLIENT_SLOTS 256          /* in-flight rows */
#define LIMITER_SLOTS    1024         /* failed-login rows (address, client) */
#define FAIL_BURST       10           /* failures allowed per minute */
#define FAIL_WINDOW_MS   60000
#define FAIL_COOLDOWN_MS 60000        /* 429 for this long once spent */
#define DISK_CACHE_MS    250
#define IDEM_MAX         200
#define DROP_MAX         ((size_t)16 << 20)  /* read past max-body, then close */

struct http_committer;

enum req_phase {
    RP_READING = 0,                       /* head or body being read */
    RP_QUEUED,                            /* with the committer, suspended */
    RP_COMMITTED,                         /* resumed: answer from res */
};

/* one document of a request: mapped and waiting for the spool, or
 * refused with its problems */
struct http_pending {
    struct intake_doc d;                  /* d.raw points into the body */
    json_t *problems;                     /* refused: its problems */
    char key[IDEM_MAX + 24];              /* client key of this line; "" */
};

struct http_tokens;

struct gen {
    const struct ferry_config *cfg;       /* borrowed */
    struct http_key *keys;                /* one per client; secrets owned */
    size_t nkeys;
    struct http_tokens *tokens;           /* verified under keys; owned */
    struct adapter_admit **admit;         /* per cfg->services[i]; owned */
    struct gen *next;                     /* older generations */
};

struct svc_count {
    char name[128];
    uint64_t accepted, rejected, duplicates;
    int64_t door_pending;                 /* rejected, not yet in ledger */
};

struct client_slot {
    char id[128];
    int inflight;
};

/* failed logins of one (address, claimed client): a flood of bad tokens
 * naming a client never blocks a good token for it (http_auth.c) */
struct limiter {
    char addr[INET6_ADDRSTRLEN];
    char client[128];                     /* claimed issuer; "" none */
    int64_t tokens;                       /* thousandths of a failure */
    int64_t last_ms;
    int64_t blocked_until;
};

struct http_server {
    struct MHD_Daemon *d;
    struct spool *sp;
    struct http_hooks hooks;
    int port;
    bool tls;
    pthread_mutex_t mu;                   /* everything below */
    pthread_cond_t idle;                  /* active reached 0 */
    struct gen *cur;                      /* newest; ->next are older */
    int active;                           /* requests in flight */
    bool stopping;
    struct svc_count svc[MAX_SERVICES];
    size_t nsvc;
    struct client_slot slots[MAX_CLIENT_SLOTS];
    struct limiter lim[LIMITER_SLOTS];
    uint64_t auth_failures, rate_limited, too_busy, unavailable;
    int64_t door_flushed_ms;
    int64_t disk_checked_ms;
    bool disk_ok;
    char *tls_key, *tls_cert, *tls_ca;    /* PEM held for MHD */
    struct http_committer *com;           /* http_commit.c */
    /* open connections and their watchdog (http_conns.c) */
    pthread_mutex_t cmu;                  /* all of these */
    pthread_cond_t ccv;
    struct http_conn *conns, *conns_tail; /* oldest first */
    int nuntrusted;                       /* idle, not authenticated */
    int untrusted_max;                    /* their share of the limit */
    int nconns;                           /* tracked, until MHD closes */
    int nshut;                            /* of those, shut, not closed */
    int conns_cap;                        /* libmicrohttpd's own limit */
    int conns_press;                      /* past this, no grace */
    uint64_t conns_shut;                  /* closed by the watchdog */
    bool reaper_on, reaper_stop;
    pthread_t reaper;
    int64_t head_timeout_ms;              /* until a request head */
    int64_t idle_timeout_ms;              /* authenticated, between */
};

/* one open connection (MHD_OPTION_NOTIFY_CONNECTION) */
struct http_conn {
    int fd;
    int64_t opened;
    int64_t since;                        /* opened, or last request done */
    bool busy;                            /* a request head is in */
    bool trusted;                         /* carried a good token */
    struct http_conn *prev, *next;
};

enum route {
    R_NOTFOUND = 0, R_SUBMIT, R_STATUS, R_HEALTH, R_READY, R_METRICS,
    R_MI, R_INDEX,
    R_METHOD,                             /* known path, wrong method */
};

struct req {
    struct http_server *h;
    struct gen *g;
    enum route route;
    bool replied;                         /* early reply queued */
    bool too_big;
    size_t dropped;                       /* body bytes past max-body */
    bool ndjson;
    bool inflight;                        /* counted against client */
    int64_t start_ms;
    const struct client_config *client;
    const struct service_config *svc;
    char service[128];
    char ref[SPOOL_REF_MAX];
    char idem[IDEM_MAX + 1];              /* Idempotency-Key; "" none */
    char remote[INET6_ADDRSTRLEN];
    struct buf body;
    /* a submission handed to the committer (http_commit.c) */
    enum req_phase phase;
    struct MHD_Connection *conn;          /* suspended while queued */
    struct http_pending *p;               /* mapped documents, np of them */
    size_t np;
    struct spool_result *res;             /* np results once committed */
    int commit_rc;                        /* 0 stored, -1 spool refused */
    char commit_err[256];                 /* first problem when refused */
    struct req *qnext;                    /* committer queue */
};

/* http_reply - queue status with body (owned, freed by MHD; NULL = empty) */
enum MHD_Result http_reply(struct MHD_Connection *c, struct req *r,
                           unsigned status, const char *ctype, char *body,
                           const char *retry_after);
/* http_reply_status - status with {"status":word[, "error":msg]} */
enum MHD_Result http_reply_status(struct MHD_Connection *c, struct req *r,
                                  unsigned status, const char *word,
                                  const char *msg, const char *retry_after);
/* http_mi_reply - answer GET /v1/mi for the authenticated r->client */
enum MHD_Result http_mi_reply(struct MHD_Connection *c, struct req *r);
/* http_index_reply - answer GET /: the page linking the endpoints */
enum MHD_Result http_index_reply(struct MHD_Connection *c, struct req *r);
/* http_metrics_reply - answer GET /metrics */
enum MHD_Result http_metrics_reply(struct MHD_Connection *c, struct req *r);

/* http_on_request - MHD access handler (http_request.c) */
enum MHD_Result http_on_request(void *cls, struct MHD_Connection *c,
                                const char *url, const char *method,
                                const char *version, const char *up,
                                size_t *upsz, void **ctx);
/* http_on_completed - MHD request-completed handler (http_request.c) */
void http_on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                       enum MHD_RequestTerminationCode toe);
/* http_flush_door_counts - write every pending rejected-at-door count */
void http_flush_door_counts(struct http_server *h);
/* http_count_result - bump a service counter: 0 accepted, 1 duplicate,
 * 2 rejected at the door (http_door.c) */
void http_count_result(struct http_server *h, const char *service,
                       int kind, uint64_t n);
/* http_reply_obj - o (a reference taken) as the JSON body */
enum MHD_Result http_reply_obj(struct MHD_Connection *c, struct req *r,
                               unsigned status, json_t *o);
/* http_disk_ok - free space of the spool's file system above min-free */
bool http_disk_ok(struct http_server *h, const struct ferry_config *cfg);

/* http_submit_head - a submission's head checked; true to go on reading
 * the body, false when a reply was queued (*rc for MHD) (http_submit.c) */
bool http_submit_head(struct MHD_Connection *c, struct req *r,
                      enum MHD_Result *rc);
/* http_do_submit - the body is in: map it, queue it for the committer */
enum MHD_Result http_do_submit(struct MHD_Connection *c, struct req *r);
/* http_answer - the reply once the committer has resumed r */
enum MHD_Result http_answer(struct MHD_Connection *c, struct req *r);
/* http_pending_free - the mapped entries p[0..n); NULL does nothing */
void http_pending_free(struct http_pending *p, size_t n);

/* http_authenticate - the bearer token of c; sets r->client.  On failure
 * a reply (401, or 429 for an address cooling down) has been queued and
 * *rc holds what to return to MHD (http_auth.c) */
bool http_authenticate(struct MHD_Connection *c, struct req *r,
                       enum MHD_Result *rc);
/* http_client_may - is cl allowed to submit to service */
bool http_client_may(const struct client_config *cl, const char *service);
/* http_inflight_take - count a request against its client's limit; false
 * when the client already has its maximum in flight */
bool http_inflight_take(struct http_server *h, const struct req *r);
/* http_inflight_drop - the request of client id has ended */
void http_inflight_drop(struct http_server *h, const char *id);

/* http_conn_busy - a request head arrived (true) or a request ended
 * (false): the watchdog leaves busy connections alone (http_conns.c) */
void http_conn_busy(struct http_server *h, struct MHD_Connection *c,
                    bool busy);
/* http_conn_trust - c carried an authenticated request */
void http_conn_trust(struct http_server *h, struct MHD_Connection *c);
/* http_conn_notify - MHD_OPTION_NOTIFY_CONNECTION handler */
void http_conn_notify(void *cls, struct MHD_Connection *c, void **sctx,
                      enum MHD_ConnectionNotificationCode code);
/* http_conns_start - start the watchdog; -1 with e */
int http_conns_start(struct http_server *h, struct errs *e);
/* http_conns_stop - stop the watchdog (not started: nothing) */
void http_conns_stop(struct http_server *h);

/* http_tokens_new - an empty cache of verified tokens; NULL out of
 * memory.  http_tokens_free wipes it; NULL does nothing (http_tokens.c) */
struct http_tokens *http_tokens_new(void);
void http_tokens_free(struct http_tokens *t);
/* http_tokens_find - tok[0..len) was accepted under this cache's keys
 * and now_s is inside its span: true, with its issuer in iss */
bool http_tokens_find(struct http_tokens *t, const char *tok, size_t len,
                      int64_t now_s, char *iss, size_t isssz);
/* http_tokens_keep - remember an accepted token for [from_s, to_s] (the
 * span http_jwt_verify_span gave) */
void http_tokens_keep(struct http_tokens *t, const char *tok, size_t len,
                      const char *iss, int64_t from_s, int64_t to_s);

/* http_commit_new - start the committer thread for h->sp; NULL on error */
struct http_committer *http_commit_new(struct http_server *h, struct errs *e);
/* http_commit_queue - hand r (mapped, r->conn suspended by the caller)
 * to the committer; it resumes r->conn once r->res/commit_rc are set */
void http_commit_queue(struct http_committer *k, struct req *r);
/* http_commit_free - drain the queue, stop the thread; NULL does nothing */
void http_commit_free(struct http_committer *k);

#endif
