/* http_mi.c - GET /v1/mi?from=&to=&service= : the management information
 * of `ferry report --format json`, for a dashboard that polls.
 *
 * Who may ask: an intake client, authenticated as for a submission (the
 * bearer token), for the services it may post to, and only those: a
 * client names one of its services in service=, or has just one.
 *
 * Layering: the report is built in scheduler/ (report.c), a floor above
 * intake/, and intake never includes it.  The daemon (cli/cmd_serve.c)
 * hands the server a hook (struct http_hooks.mi: function and context)
 * that builds and renders the report, the way it already hands in the
 * delivery counters for /metrics.  A hook rather than moving the
 * computation down a floor because the report belongs with the other
 * reading of outcomes (reconciliation) in scheduler/, uses the
 * configuration's costs, and `ferry report` and the console call it
 * there; intake only checks the caller and the query's shape here, so
 * the JSON is byte for byte the command's. */
#include "intake/http_int.h"
#include "config/config.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

#define MI_MAX_BODY (64u << 20)   /* ten years of days for one service */

/* day_shaped - "YYYY-MM-DD" digits and dashes (the hook checks the date) */
static bool day_shaped(const char *s)
{
    if (strlen(s) != 10)
        return false;
    for (int i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? s[i] != '-' : s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool client_has(const struct client_config *cl, const char *svc)
{
    for (size_t i = 0; i < cl->nservices; i++)
        if (strcmp(cl->services[i], svc) == 0)
            return true;
    return false;
}

enum MHD_Result http_mi_reply(struct MHD_Connection *c, struct req *r)
{
    struct http_server *h = r->h;
    if (!h->hooks.mi)
        return http_reply_status(c, r, 404, "not-found", "no such endpoint",
                                 NULL);
    const char *from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                   "from");
    const char *to = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                 "to");
    const char *svc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                  "service");
    if (from && !*from)
        from = NULL;
    if (to && !*to)
        to = NULL;
    if ((from && !day_shaped(from)) || (to && !day_shaped(to)))
        return http_reply_status(c, r, 400, "bad-query", "from= and to= are "
                                 "days: YYYY-MM-DD (UTC)", NULL);
    const struct client_config *cl = r->client;
    if (!svc || !*svc) {
        if (cl->nservices != 1)
            return http_reply_status(c, r, 400, "bad-query", "service= names "
                                     "one of this client's services", NULL);
        svc = cl->services[0];
    }
    /* another client's service looks exactly like no service */
    if (!client_has(cl, svc))
        return http_reply_status(c, r, 404, "not-found", "no such service "
                                 "for this client", NULL);
    struct http_mi_query q = { .from = from, .to = to, .service = svc,
                               .cfg = r->g->cfg };
    struct buf out;
    buf_init(&out, MI_MAX_BODY);
    struct errs e;
    errs_init(&e);
    enum MHD_Result mr;
    switch (h->hooks.mi(h->hooks.ctx, &q, &out, &e)) {
    case HTTP_MI_OK:
        mr = http_reply(c, r, 200, "application/json", buf_take(&out), NULL);
        break;
    case HTTP_MI_BAD_QUERY:
        mr = http_reply_status(c, r, 400, "bad-query", errs_first_msg(&e),
                               NULL);
        break;
    case HTTP_MI_BUSY:
        mr = http_reply_status(c, r, 429, "too-many-requests", "a report is "
                               "being built; ask again shortly", "1");
        break;
    case HTTP_MI_FAILED:
    default:
        log_event(LOG_ERROR, "mi-failed", "client", cl->id, "error",
                  errs_first_msg(&e), NULL);
        mr = http_reply_status(c, r, 503, "unavailable", "ledger unavailable",
                               "5");
        break;
    }
    buf_free(&out);
    errs_free(&e);
    return mr;
}
