/* http_auth.c - who may submit to the HTTP front door: the bearer token
 * (checked by http_jwt.c against the current generation's secrets), the
 * failed-login limiter that answers 429 to an (address, claimed client)
 * pair after too many failures, the client's list of services and its
 * in-flight limit.
 *
 * Owns: the failed-login limiter table and the per-client in-flight
 * counts in struct http_server (both under h->mu). */
#include "intake/http_int.h"
#include "util/clock.h"
#include "config/config.h"
#include "util/log.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- failed-login limiter ---------------------------------------------- */

/* limiter_row - row for (addr, client) (h->mu held), reusing the stalest */
static struct limiter *limiter_row(struct http_server *h, const char *addr,
                                   const char *client, int64_t now)
{
    struct limiter *stale = &h->lim[0];
    for (size_t i = 0; i < LIMITER_SLOTS; i++) {
        struct limiter *l = &h->lim[i];
        if (l->addr[0] && strcmp(l->addr, addr) == 0
            && strcmp(l->client, client) == 0)
            return l;
        if (!l->addr[0] || l->last_ms < stale->last_ms)
            stale = l;
        if (!l->addr[0])
            break;
    }
    memset(stale, 0, sizeof *stale);
    snprintf(stale->addr, sizeof stale->addr, "%s", addr);
    snprintf(stale->client, sizeof stale->client, "%s", client);
    stale->tokens = FAIL_BURST * 1000;
    stale->last_ms = now;
    return stale;
}

/* limiter_fail - one failed login from (addr, claimed client): a token
 * bucket of FAIL_BURST refilled over FAIL_WINDOW_MS; empty -> blocked.
 * Returns true when that pair is cooling down (answer 429). */
static bool limiter_fail(struct http_server *h, const char *addr,
                         const char *client)
{
    int64_t now = clock_mono_ms();
    pthread_mutex_lock(&h->mu);
    h->auth_failures++;
    struct limiter *l = limiter_row(h, addr, client, now);
    bool blocked = l->blocked_until > now;
    if (!blocked) {
        int64_t refill = (now - l->last_ms) * FAIL_BURST * 1000
                         / FAIL_WINDOW_MS;
        l->tokens += refill;
        if (l->tokens > FAIL_BURST * 1000)
            l->tokens = FAIL_BURST * 1000;
        l->last_ms = now;
        l->tokens -= 1000;
        if (l->tokens < 1000) {
            l->blocked_until = now + FAIL_COOLDOWN_MS;
            log_event(LOG_WARN, "auth-rate-limited", "remote", addr,
                      "client", client, "cooldown_s", "60", NULL);
        }
    } else {
        l->last_ms = now;
        h->rate_limited++;
    }
    pthread_mutex_unlock(&h->mu);
    return blocked;
}

bool http_client_may(const struct client_config *cl, const char *service)
{
    for (size_t i = 0; i < cl->nservices; i++)
        if (strcmp(cl->services[i], service) == 0)
            return true;
    return false;
}

/* http_inflight_take - count a request against its client's limit; false
 * when the client already has its maximum in flight */
bool http_inflight_take(struct http_server *h, const struct req *r)
{
    int max = r->client->max_connections ? r->client->max_connections
                                         : r->g->cfg->intake.max_connections;
    bool ok = false;
    pthread_mutex_lock(&h->mu);
    struct client_slot *free_slot = NULL, *s = NULL;
    for (size_t i = 0; i < MAX_CLIENT_SLOTS; i++) {
        if (h->slots[i].id[0] && strcmp(h->slots[i].id, r->client->id) == 0) {
            s = &h->slots[i];
            break;
        }
        if (!h->slots[i].id[0] && !free_slot)
            free_slot = &h->slots[i];
    }
    if (!s && free_slot) {
        s = free_slot;
        snprintf(s->id, sizeof s->id, "%s", r->client->id);
        s->inflight = 0;
    }
    if (s && (max <= 0 || s->inflight < max)) {
        s->inflight++;
        ok = true;
    } else {
        h->too_busy++;
    }
    pthread_mutex_unlock(&h->mu);
    return ok;
}

void http_inflight_drop(struct http_server *h, const char *id)
{
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < MAX_CLIENT_SLOTS; i++)
        if (h->slots[i].id[0] && strcmp(h->slots[i].id, id) == 0) {
            if (h->slots[i].inflight > 0)
                h->slots[i].inflight--;
            break;
        }
    pthread_mutex_unlock(&h->mu);
}

/* ---- authentication ----------------------------------------------------- */

/* http_authenticate - the bearer token of c; sets r->client.  On failure
 * a reply has been queued and *rc holds what to return to MHD: 401, or
 * 429 while the (address, claimed client) pair is cooling down after too
 * many failures.  A good token is always checked and always let in, so
 * a flood of bad tokens naming a client (through the same NAT or proxy)
 * cannot lock out that client presenting good ones. */
bool http_authenticate(struct MHD_Connection *c, struct req *r,
                       enum MHD_Result *rc)
{
    struct http_server *h = r->h;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   "Authorization");
    enum http_jwt_result jr = HTTP_JWT_MALFORMED;
    char iss[128] = "";
    const char *reason;
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        reason = "missing-token";
    } else {
        const char *tok = auth + 7;
        while (*tok == ' ')
            tok++;
        size_t tl = strlen(tok);
        int64_t now_s = clock_wall_ms() / 1000, from = 0, to = 0;
        /* a token accepted before, still inside its span, under this
         * generation's keys (http_tokens.c) */
        if (http_tokens_find(r->g->tokens, tok, tl, now_s, iss, sizeof iss)) {
            jr = HTTP_JWT_OK;
        } else {
            jr = http_jwt_verify_span(tok, tl, r->g->keys, r->g->nkeys,
                                      r->g->cfg->intake.token_window_s,
                                      now_s, iss, sizeof iss, &from, &to);
            if (jr == HTTP_JWT_OK)
                http_tokens_keep(r->g->tokens, tok, tl, iss, from, to);
        }
        reason = http_jwt_reason(jr);
        if (jr == HTTP_JWT_OK) {
            r->client = config_client(r->g->cfg, iss);
            if (r->client)
                return true;
            reason = "unknown-issuer";
        }
    }
    /* the token itself is never logged; the issuer only if it is one of
     * ours (an arbitrary iss from a stranger is not worth echoing, nor
     * worth a limiter row of its own) */
    const struct client_config *known = iss[0] ? config_client(r->g->cfg, iss)
                                               : NULL;
    if (limiter_fail(h, r->remote, known ? known->id : "")) {
        *rc = http_reply_status(c, r, 429, "rate-limited",
                                "too many failed authentications", "60");
        return false;
    }
    log_event(LOG_WARN, "auth-failed", "client", known ? known->id : "",
              "reason", reason, "remote", r->remote, NULL);
    *rc = http_reply_status(c, r, 401, "unauthorized", reason, NULL);
    return false;
}
