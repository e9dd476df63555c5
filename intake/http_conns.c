/* http_conns.c - the HTTP front door's open connections: who may keep a
 * socket, and for how long, before saying who they are.
 *
 * libmicrohttpd tells us of every connection (MHD_OPTION_NOTIFY_CONNECTION)
 * and refuses more than max-connections-per-address from one address by
 * itself.  Here:
 * - a connection that has not yet sent a complete request head gets
 *   header-timeout (short), then its socket is shut; one that carried an
 *   authenticated request may idle up to request-timeout between
 *   requests.  libmicrohttpd's own timeout is an idle timeout, which a
 *   sender of one byte a second never trips; a slow body is caught in
 *   http_on_request.
 * - capacity is kept for authenticated clients: connections that have not
 *   authenticated may hold at most half of max-connections; a
 *   new one past that closes the oldest idle unauthenticated connection,
 *   so 2,000 idle sockets cannot starve a client presenting a good token.
 * - libmicrohttpd's own table (conns_cap, http_listen.c) is never let
 *   fill: past half of it the oldest idle unauthenticated connections are
 *   shut without their grace, so the daemon always accepts and the
 *   kernel's accept queue never holds a good client's handshake behind
 *   an attacker's (nor drops its SYN).
 *
 * The watchdog thread sweeps every 50 ms.  MHD reports CLOSED before it
 * closes the socket, so a shut fd is never a reused one.
 *
 * Owns: the connection list, its counts and the watchdog thread (all
 * under h->cmu). */
#include "intake/http_int.h"
#include "util/clock.h"
#include "util/errs.h"
#include "util/log.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define EVICT_GRACE_MS 50

/* conn_of - the tracking entry of c (NULL when untracked) */
static struct http_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* idle_untrusted - k counts against the unauthenticated share */
static bool idle_untrusted(const struct http_conn *k)
{
    return !k->trusted && !k->busy && k->fd >= 0;
}

/* set_state - busy/trusted of k changed (h->cmu held) */
static void set_state(struct http_server *h, struct http_conn *k, bool busy,
                      bool trusted)
{
    bool was = idle_untrusted(k);
    k->busy = busy;
    k->trusted = trusted;
    bool now = idle_untrusted(k);
    h->nuntrusted += (int)now - (int)was;
}

/* shut - close k's socket (h->cmu held); MHD notices and closes */
static void shut(struct http_server *h, struct http_conn *k, const char *why)
{
    if (idle_untrusted(k))
        h->nuntrusted--;
    shutdown(k->fd, SHUT_RDWR);
    k->fd = -1;
    h->nshut++;
    h->conns_shut++;
    log_event(LOG_DEBUG, "connection-closed", "why", why, NULL);
}

/* http_conn_busy - a request head arrived (true) or a request ended (false) */
void http_conn_busy(struct http_server *h, struct MHD_Connection *c,
                    bool busy)
{
    struct http_conn *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&h->cmu);
    set_state(h, k, busy, k->trusted);
    k->since = clock_mono_ms();
    pthread_mutex_unlock(&h->cmu);
}

/* http_conn_trust - c carried an authenticated request: it may idle
 * between requests like a client's keep-alive connection */
void http_conn_trust(struct http_server *h, struct MHD_Connection *c)
{
    struct http_conn *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&h->cmu);
    set_state(h, k, k->busy, true);
    pthread_mutex_unlock(&h->cmu);
}

/* make_room - past the unauthenticated share, shut the oldest idle
 * unauthenticated connection that has had EVICT_GRACE_MS to send its
 * head (h->cmu held).  The grace matters under a reconnect storm: a
 * client with a good token sends its head within a few milliseconds of
 * connecting, so it is never the one shut, while sockets that only wait
 * are.  The list runs oldest first.
 *
 * libmicrohttpd must never reach its own limit (conns_cap): there it stops
 * accepting, the kernel's accept queue fills with the attacker's
 * handshakes and a good client's SYN is dropped (a 1 s, then 3 s,
 * retransmit: measured, issue 12 §6).  So past conns_press the grace is
 * dropped and the oldest idle unauthenticated connections are shut,
 * young or not, until the count is back under it. */
static void make_room(struct http_server *h, int64_t now)
{
    for (struct http_conn *k = h->conns; k; k = k->next) {
        bool press = h->nconns - h->nshut > h->conns_press;
        if (!press && h->nuntrusted <= h->untrusted_max)
            return;
        if (!press && now - k->opened < EVICT_GRACE_MS)
            return;                       /* the rest are younger still */
        if (idle_untrusted(k)) {
            shut(h, k, press ? "connection table nearly full"
                             : "capacity kept for authenticated clients");
        }
    }
}

void http_conn_notify(void *cls, struct MHD_Connection *c, void **sctx,
                      enum MHD_ConnectionNotificationCode code)
{
    struct http_server *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct http_conn *k = calloc(1, sizeof *k);
        if (!k || !ci) {
            free(k);
            return;
        }
        k->fd = ci->connect_fd;
        k->since = k->opened = clock_mono_ms();
        pthread_mutex_lock(&h->cmu);
        k->prev = h->conns_tail;
        if (h->conns_tail)
            h->conns_tail->next = k;
        else
            h->conns = k;
        h->conns_tail = k;
        h->nconns++;
        h->nuntrusted++;
        make_room(h, k->since);
        pthread_mutex_unlock(&h->cmu);
        *sctx = k;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *sctx) {
        struct http_conn *k = *sctx;
        pthread_mutex_lock(&h->cmu);
        if (idle_untrusted(k))
            h->nuntrusted--;
        if (k->fd < 0)
            h->nshut--;
        h->nconns--;
        if (k->prev)
            k->prev->next = k->next;
        else
            h->conns = k->next;
        if (k->next)
            k->next->prev = k->prev;
        else
            h->conns_tail = k->prev;
        pthread_mutex_unlock(&h->cmu);
        free(k);
        *sctx = NULL;
    }
}

/* watchdog - every 100 ms, shut every idle connection past its deadline:
 * header-timeout before a good token, request-timeout after one */
static void *watchdog(void *arg)
{
    struct http_server *h = arg;
    pthread_mutex_lock(&h->cmu);
    while (!h->reaper_stop) {
        int64_t now = clock_mono_ms();
        make_room(h, now);                /* also when MHD accepts none */
        for (struct http_conn *k = h->conns; k; k = k->next) {
            if (k->busy || k->fd < 0)
                continue;
            int64_t limit = k->trusted ? h->idle_timeout_ms
                                       : h->head_timeout_ms;
            if (now - k->since > limit)
                shut(h, k, k->trusted ? "idle past request-timeout"
                                      : "request head not complete in time");
        }
        struct timespec ts;
        clock_abs_in(&ts, 50);
        pthread_cond_timedwait(&h->ccv, &h->cmu, &ts);
    }
    pthread_mutex_unlock(&h->cmu);
    return NULL;
}

int http_conns_start(struct http_server *h, struct errs *e)
{
    if (pthread_create(&h->reaper, NULL, watchdog, h) != 0) {
        errs_add(e, "http", "cannot start the connection watchdog");
        return -1;
    }
    h->reaper_on = true;
    return 0;
}

void http_conns_stop(struct http_server *h)
{
    if (!h->reaper_on)
        return;
    pthread_mutex_lock(&h->cmu);
    h->reaper_stop = true;
    pthread_cond_signal(&h->ccv);
    pthread_mutex_unlock(&h->cmu);
    pthread_join(h->reaper, NULL);
    h->reaper_on = false;
}
