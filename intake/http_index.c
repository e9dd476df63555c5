/* http_index.c - GET / on the daemon's listener: a small HTML page that
 * links the endpoints (/healthz, /readyz, /metrics, /v1/mi, each
 * service's submission path, the support console when one is
 * configured), so an operator who opens the address in a browser sees
 * what is there.
 *
 * Policy: the same as /metrics and /healthz, no authentication; so it
 * says nothing /metrics does not already say (service names, which
 * endpoints exist) and nothing about any record or person.  No script,
 * no style, no outside resource.
 *
 * Owns: nothing beyond one reply. */
#include "intake/http_int.h"
#include "config/config.h"
#include "util/buf.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* row - one <li>: a link to href (escaped) and what it is */
static void row(struct buf *b, const char *method, const char *href,
                bool link, const char *what)
{
    buf_printf(b, "<li><code>%s ", method);
    if (link) {
        buf_printf(b, "<a href=\"");
        buf_html(b, href);
        buf_printf(b, "\">");
    }
    buf_html(b, href);
    buf_printf(b, "%s</code> &mdash; ", link ? "</a>" : "");
    buf_html(b, what);
    buf_printf(b, "</li>\n");
}

enum MHD_Result http_index_reply(struct MHD_Connection *c, struct req *r)
{
    const struct ferry_config *cfg = r->g ? r->g->cfg : NULL;
    struct buf b;
    buf_init(&b, 256 * 1024);
    buf_printf(&b,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>ferry</title>\n</head>\n<body>\n<h1>ferry</h1>\n"
        "<p>The intake listener of a ferry daemon.  See "
        "<code>docs/serve.md</code> (installed under "
        "<code>/usr/share/doc/ferry/</code>).</p>\n<h2>Endpoints</h2>\n<ul>\n");
    row(&b, "GET", "/healthz", true, "liveness (no authentication)");
    row(&b, "GET", "/readyz", true, "readiness: configuration, ledger, disk "
        "(no authentication)");
    row(&b, "GET", "/metrics", true, "Prometheus metrics (no authentication)");
    row(&b, "GET", "/v1/mi", false, "management information (bearer token)");
    row(&b, "GET", "/v1/submissions/{reference}", false,
        "a submission's state (bearer token)");
    buf_printf(&b, "</ul>\n<h2>Submissions</h2>\n<ul>\n");
    for (size_t i = 0; cfg && i < cfg->nservices; i++) {
        char path[300];
        snprintf(path, sizeof path, "/v1/services/%s/submissions",
                 cfg->services[i].name ? cfg->services[i].name : "");
        row(&b, "POST", path, false, "JSON or NDJSON (bearer token)");
    }
    if (!cfg || cfg->nservices == 0)
        buf_printf(&b, "<li>no service is configured</li>\n");
    buf_printf(&b, "</ul>\n");
    const char *url = r->h->hooks.console_url;   /* where it is bound */
    if (url[0]) {
        buf_printf(&b, "<h2>Support console</h2>\n<p>On its own listener: "
                   "<a href=\"");
        buf_html(&b, url);
        buf_printf(&b, "\">");
        buf_html(&b, url);
        buf_printf(&b, "</a> (staff sign in)</p>\n");
    }
    buf_printf(&b, "</body>\n</html>\n");
    char *s = buf_take(&b);
    buf_free(&b);
    if (!s)
        return http_reply_status(c, r, 500, "error", "out of memory", NULL);
    return http_reply(c, r, 200, "text/html; charset=utf-8", s, NULL);
}
