/* http_request.c - the daemon's HTTP front door: the request path.  See
 * http_intake.h.
 *
 * libmicrohttpd runs a small epoll thread pool.  A submission is read and
 * mapped on a pool thread, then its connection is suspended and handed to
 * the committer (http_commit.c), which stores every queued submission in
 * one transaction and resumes them; nothing is answered 202 before its
 * record is committed (durable).  The rooms of the door, each its own
 * file below this one: submissions (body -> mapped records -> queued for
 * commit, NDJSON, the answers) http_submit.c; tokens, the failed-login
 * limiter and per-client limits http_auth.c (tokens themselves
 * http_jwt.c); /metrics and the conservation check http_metrics.c; the
 * page at / http_index.c;
 * counters and the free-space check http_door.c; open connections and
 * the header deadline http_conns.c; replies http_reply.c.  The listener
 * and configuration generations (http_listen.c) stand above this file;
 * shared state is http_int.h.
 *
 * Order of checks on a submission, cheapest and least revealing first:
 * route (404/405) -> stopping (503) -> token (401, or 429 while the
 * address and claimed client are cooling down after failed logins) ->
 * client's in-flight limit (429) ->
 * service allowed (403) / known (404) -> Content-Type (415) ->
 * Content-Length (413) -> body counted while read (413) -> free disk
 * (503) -> JSON limits and mapping (422) -> spool (202, 200 duplicate,
 * 503 when the ledger refuses).
 *
 * Owns: the requests' state. */
#include "intake/http_int.h"
#include "util/clock.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------ */

static void remote_addr(struct MHD_Connection *c, char *out, size_t outsz)
{
    snprintf(out, outsz, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  out, (socklen_t)outsz);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  out, (socklen_t)outsz);
}

/* ---- routes ------------------------------------------------------------ */

static bool valid_name(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
            return false;
    }
    return true;
}

/* route_of - which endpoint url/method names; fills r->service, r->ref */
static enum route route_of(struct req *r, const char *url, const char *method)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    static const char pre[] = "/v1/services/", suf[] = "/submissions";
    static const char st[] = "/v1/submissions/";
    size_t ul = strlen(url);
    if (strcmp(url, "/") == 0)
        return get ? R_INDEX : R_METHOD;
    if (strcmp(url, "/healthz") == 0)
        return get ? R_HEALTH : R_METHOD;
    if (strcmp(url, "/readyz") == 0)
        return get ? R_READY : R_METHOD;
    if (strcmp(url, "/metrics") == 0)
        return get ? R_METRICS : R_METHOD;
    if (strcmp(url, "/v1/mi") == 0)
        return get ? R_MI : R_METHOD;
    if (ul > sizeof pre - 1 + sizeof suf - 1 &&
        strncmp(url, pre, sizeof pre - 1) == 0 &&
        strcmp(url + ul - (sizeof suf - 1), suf) == 0) {
        const char *s = url + sizeof pre - 1;
        size_t n = ul - (sizeof pre - 1) - (sizeof suf - 1);
        if (!valid_name(s, n, sizeof r->service - 1))
            return R_NOTFOUND;
        memcpy(r->service, s, n);
        r->service[n] = '\0';
        return post ? R_SUBMIT : R_METHOD;
    }
    if (ul > sizeof st - 1 && strncmp(url, st, sizeof st - 1) == 0) {
        const char *s = url + sizeof st - 1;
        size_t n = ul - (sizeof st - 1);
        if (!valid_name(s, n, sizeof r->ref - 1))
            return R_NOTFOUND;
        memcpy(r->ref, s, n);
        r->ref[n] = '\0';
        return get ? R_STATUS : R_METHOD;
    }
    return R_NOTFOUND;
}

/* ready - ledger writable and config loaded: reason NULL when ready */
static const char *ready(struct http_server *h, const struct ferry_config *cfg)
{
    if (!cfg)
        return "no configuration loaded";
    char p[4096];
    if (fs_join(p, sizeof p, spool_dir(h->sp), "ledger.db") != 0 ||
        access(p, W_OK) != 0 || access(spool_dir(h->sp), W_OK) != 0)
        return "ledger not writable";
    if (!http_disk_ok(h, cfg))
        return "spool below its min-free space";
    struct errs e;
    errs_init(&e);
    int64_t at = 0;
    int rc = spool_oldest(h->sp, SPOOL_QUEUED, NULL, &at, &e);
    errs_free(&e);
    return rc == 0 ? NULL : "ledger not readable";
}

static enum MHD_Result do_status(struct MHD_Connection *c, struct req *r)
{
    struct spool_record *rec = NULL;
    struct errs e;
    errs_init(&e);
    int rc = spool_get(r->h->sp, r->ref, 0, &rec, &e);
    enum MHD_Result mr;
    if (rc < 0) {
        log_event(LOG_ERROR, "status-failed", "ref", r->ref, "error",
                  errs_first_msg(&e), NULL);
        mr = http_reply_status(c, r, 503, "unavailable", "ledger unavailable",
                               "5");
    } else if (rc == 1 || !rec->client || strcmp(rec->client, r->client->id)) {
        /* another client's record looks exactly like no record */
        mr = http_reply_status(c, r, 404, "not-found", "no such reference",
                               NULL);
    } else {
        char rcv[40], upd[40];
        clock_fmt_rfc3339(rec->received_at, rcv, sizeof rcv);
        clock_fmt_rfc3339(rec->updated_at, upd, sizeof upd);
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "reference", rec->ref,
                              "service", rec->service, "state",
                              spool_state_name(rec->state), "received_at", rcv,
                              "updated_at", upd);
        if (o && rec->receipt)
            json_object_set_new(o, "receipt", json_string(rec->receipt));
        if (o && rec->last_error)
            json_object_set_new(o, "last_error", json_string(rec->last_error));
        mr = http_reply_obj(c, r, 200, o);
    }
    spool_record_free(rec);
    errs_free(&e);
    return mr;
}

/* ---- the MHD callbacks --------------------------------------------------- */

static struct req *req_new(struct http_server *h, struct MHD_Connection *c)
{
    struct req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->h = h;
    r->start_ms = clock_mono_ms();
    remote_addr(c, r->remote, sizeof r->remote);
    buf_init(&r->body, 1);
    pthread_mutex_lock(&h->mu);
    r->g = h->cur;
    h->active++;
    pthread_mutex_unlock(&h->mu);
    return r;
}

/* first_call - the head of the request is in: route, refuse early */
static enum MHD_Result first_call(struct MHD_Connection *c, struct req *r,
                                  const char *url, const char *method)
{
    struct http_server *h = r->h;
    enum MHD_Result rc = MHD_YES;
    r->route = route_of(r, url, method);
    if (h->stopping)
        return http_reply_status(c, r, 503, "stopping",
                                 "ferry is shutting down", "5");
    switch (r->route) {
    case R_NOTFOUND:
        return http_reply_status(c, r, 404, "not-found", "no such endpoint",
                                 NULL);
    case R_METHOD:
        return http_reply_status(c, r, 405, "method-not-allowed", NULL, NULL);
    case R_HEALTH:
        return http_reply(c, r, 200, "application/json",
                     strdup("{\"status\":\"alive\"}"), NULL);
    case R_READY: {
        const char *why = ready(h, r->g ? r->g->cfg : NULL);
        if (why)
            return http_reply_status(c, r, 503, "not-ready", why, "5");
        return http_reply(c, r, 200, "application/json",
                     strdup("{\"status\":\"ready\"}"), NULL);
    }
    case R_METRICS:
        return http_metrics_reply(c, r);
    case R_INDEX:                          /* /metrics' policy: no token */
        return http_index_reply(c, r);
    case R_STATUS:
    case R_SUBMIT:
    case R_MI:
        break;
    }
    if (!http_authenticate(c, r, &rc))
        return rc;
    http_conn_trust(h, c);
    if (!http_inflight_take(h, r))
        return http_reply_status(c, r, 429, "too-many-requests",
                                 "client connection limit reached", "1");
    r->inflight = true;
    if (r->route == R_STATUS)
        return do_status(c, r);
    if (r->route == R_MI)
        return http_mi_reply(c, r);
    if (!http_submit_head(c, r, &rc))
        return rc;
    return MHD_YES;
}

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *c,
                                const char *url, const char *method,
                                const char *version, const char *up,
                                size_t *upsz, void **ctx)
{
    (void)version;
    struct http_server *h = cls;
    struct req *r = *ctx;
    if (!r) {
        r = req_new(h, c);
        if (!r)
            return MHD_NO;
        *ctx = r;
        http_conn_busy(h, c, true);
        return first_call(c, r, url, method);
    }
    if (__atomic_load_n(&r->phase, __ATOMIC_ACQUIRE) == RP_COMMITTED)
        return http_answer(c, r);    /* resumed by the committer */
    if (r->phase == RP_QUEUED)
        return MHD_YES;         /* not ours to answer yet */
    if (r->replied) {
        *upsz = 0;              /* body after an early reply: dropped */
        return MHD_YES;
    }
    int64_t limit = r->g->cfg->intake.request_timeout_ms;
    if (limit > 0 && clock_mono_ms() - r->start_ms > limit) {
        log_event(LOG_WARN, "request-timeout", "remote", r->remote,
                  "client", r->client ? r->client->id : "", NULL);
        return MHD_NO;          /* a slow sender: close */
    }
    if (*upsz) {
        if (!r->too_big) {
            int br = buf_append(&r->body, up, *upsz);
            if (br == BUF_TOOBIG) {
                r->too_big = true;
                buf_free(&r->body);
            } else if (br != BUF_OK) {
                return MHD_NO;
            }
        } else {
            /* libmicrohttpd cannot answer in the middle of a body: read
             * and drop the rest to answer 413, but only so much */
            r->dropped += *upsz;
            if (r->dropped > DROP_MAX)
                return MHD_NO;
        }
        *upsz = 0;
        return MHD_YES;
    }
    return http_do_submit(c, r);
}

void http_on_completed(void *cls, struct MHD_Connection *c, void **ctx,
                       enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct http_server *h = cls;
    struct req *r = *ctx;
    http_conn_busy(h, c, false);
    if (!r)
        return;
    if (r->inflight)
        http_inflight_drop(h, r->client->id);
    http_pending_free(r->p, r->np);
    free(r->res);
    buf_free(&r->body);
    pthread_mutex_lock(&h->mu);
    if (--h->active == 0)
        pthread_cond_broadcast(&h->idle);
    pthread_mutex_unlock(&h->mu);
    free(r);
    *ctx = NULL;
}
