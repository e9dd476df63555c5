/* console_html.c - the console's page frame: escaping, the layout in the
 * GOV.UK Design System's patterns (header, phase-free service name,
 * skip link, width container, error summary), the CSRF field and the
 * stylesheet.  Everything is served by ferry itself: no font, script or
 * image from anywhere else.  The CSS follows govuk-frontend's class names
 * so the markup reads like the Design System's examples. */
#include "console/console_int.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char con_css[] =
    "*{box-sizing:border-box}"
    "html{background:#f3f2f1}"
    "body{margin:0;background:#fff;color:#0b0c0c;font-family:Arial,"
    "Helvetica,sans-serif;font-size:19px;line-height:1.32}"
    "a{color:#1d70b8}a:visited{color:#4c2c92}"
    "a:focus,input:focus,select:focus,textarea:focus,button:focus"
    "{outline:3px solid #fd0;outline-offset:0;box-shadow:inset 0 0 0 2px}"
    ".govuk-skip-link{position:absolute;left:-9999px}"
    ".govuk-skip-link:focus{position:static;display:block;padding:10px;"
    "background:#fd0;color:#0b0c0c}"
    ".govuk-header{background:#0b0c0c;color:#fff;border-bottom:10px solid "
    "#1d70b8;padding:10px 0}"
    ".govuk-header a{color:#fff;text-decoration:none;font-weight:700}"
    ".govuk-header__service{font-size:24px;margin-right:30px}"
    ".govuk-header__nav{display:inline}"
    ".govuk-header__nav a{font-size:16px;margin-right:15px;"
    "text-decoration:underline}"
    ".govuk-header__user{float:right;font-size:16px}"
    ".govuk-header__user form{display:inline}"
    ".govuk-header__user button{background:none;border:0;color:#fff;"
    "text-decoration:underline;font-size:16px;cursor:pointer;padding:0}"
    ".govuk-width-container{max-width:1100px;margin:0 auto;padding:0 15px}"
    ".govuk-main-wrapper{padding:30px 0 60px}"
    "h1,.govuk-heading-l{font-size:36px;margin:0 0 30px}"
    "h2,.govuk-heading-m{font-size:24px;margin:30px 0 15px}"
    ".govuk-body{margin:0 0 20px}"
    ".govuk-hint{color:#505a5f;margin:0 0 10px}"
    ".govuk-form-group{margin-bottom:25px}"
    ".govuk-form-group--error{border-left:5px solid #d4351c;"
    "padding-left:15px}"
    ".govuk-label,.govuk-fieldset__legend{display:block;font-weight:700;"
    "margin-bottom:5px}"
    ".govuk-input,.govuk-select,.govuk-textarea{font:inherit;"
    "border:2px solid #0b0c0c;padding:5px;min-height:40px;width:100%;"
    "max-width:30em}"
    ".govuk-input--error{border-color:#d4351c}"
    ".govuk-error-message{color:#d4351c;font-weight:700;margin:0 0 10px}"
    ".govuk-fieldset{border:0;margin:0 0 20px;padding:0}"
    ".govuk-button{font:inherit;background:#00703c;color:#fff;border:0;"
    "box-shadow:0 2px 0 #002d18;padding:8px 12px;margin:0 15px 20px 0;"
    "cursor:pointer}"
    "a.govuk-button,a.govuk-button:visited{color:#fff;"
    "text-decoration:none;display:inline-block}"
    ".govuk-button--secondary{background:#f3f2f1;color:#0b0c0c;"
    "box-shadow:0 2px 0 #929191}"
    ".govuk-button--warning{background:#d4351c;box-shadow:0 2px 0 #55150b}"
    ".govuk-error-summary{border:5px solid #d4351c;padding:20px;"
    "margin-bottom:30px}"
    ".govuk-error-summary__title{margin-top:0;font-size:24px}"
    ".govuk-error-summary a{color:#d4351c;font-weight:700}"
    ".govuk-notification-banner{border:5px solid #1d70b8;margin-bottom:30px}"
    ".govuk-notification-banner--success{border-color:#00703c}"
    ".govuk-notification-banner__header{background:#1d70b8;color:#fff;"
    "padding:2px 20px}"
    ".govuk-notification-banner--success .govuk-notification-banner__header"
    "{background:#00703c}"
    ".govuk-notification-banner__content{padding:15px 20px}"
    ".govuk-panel{background:#00703c;color:#fff;padding:35px;"
    "text-align:center;margin-bottom:30px}"
    ".govuk-panel__title{font-size:40px;margin:0 0 20px}"
    ".govuk-panel__body{font-size:30px;font-weight:700}"
    ".govuk-table{border-collapse:collapse;width:100%;margin-bottom:30px;"
    "font-size:16px}"
    ".govuk-table caption{text-align:left;font-weight:700;font-size:24px;"
    "margin-bottom:15px}"
    ".govuk-table th,.govuk-table td{border-bottom:1px solid #b1b4b6;"
    "padding:10px 20px 10px 0;text-align:left;vertical-align:top}"
    ".govuk-summary-list{margin:0 0 30px;font-size:16px}"
    ".govuk-summary-list__row{display:flex;border-bottom:1px solid #b1b4b6}"
    ".govuk-summary-list__key{width:30%;font-weight:700;padding:10px 20px "
    "10px 0;margin:0}"
    ".govuk-summary-list__value{padding:10px 0;margin:0;"
    "overflow-wrap:anywhere}"
    ".govuk-tag{display:inline-block;padding:2px 8px;font-weight:700;"
    "font-size:16px;background:#cce2d8;color:#005a30}"
    ".govuk-tag--red{background:#f4cdc6;color:#942514}"
    ".govuk-tag--yellow{background:#fff7bf;color:#594d00}"
    ".govuk-tag--grey{background:#e5e6e7;color:#383f43}"
    ".govuk-details{margin:0 0 30px}.govuk-details summary{color:#1d70b8;cursor:pointer;text-decoration:underline}"
    ".govuk-inset-text{border-left:10px solid #b1b4b6;padding:15px;"
    "margin:0 0 30px}"
    ".ferry-inline{display:inline-block;margin-right:20px;"
    "vertical-align:bottom}"
    ".ferry-diff del{background:#f4cdc6}.ferry-diff ins{background:#cce2d8}"
    ".ferry-actions form{display:inline-block;vertical-align:top;"
    "margin-right:20px}"
    ".govuk-visually-hidden{position:absolute;width:1px;height:1px;"
    "overflow:hidden;clip:rect(0 0 0 0)}";

void con_esc(struct buf *b, const char *s)
{
    buf_html(b, s);
}

void con_fmt_time(int64_t ms, char *out, size_t outsz)
{
    if (ms <= 0) {
        snprintf(out, outsz, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

const char *con_actor(const struct creq *r)
{
    return r->sess.user[0] ? r->sess.user : "console";
}

void con_audit_text(struct buf *b, const struct spool_audit_entry *a)
{
    con_esc(b, a->reason);
    if (a->detail && *a->detail) {
        buf_puts(b, a->reason && *a->reason ? "; " : "");
        con_esc(b, a->detail);
    }
}

void con_csrf(struct creq *r)
{
    buf_printf(&r->out, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
               r->sess.csrf);
}

void con_begin(struct creq *r, const char *title)
{
    struct buf *b = &r->out;
    buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, "
                "initial-scale=1\"><title>");
    con_esc(b, title);
    buf_puts(b, " - ferry support console</title>"
                "<link rel=\"stylesheet\" href=\"/assets/console.css\">"
                "</head><body>"
                "<a href=\"#main-content\" class=\"govuk-skip-link\">Skip to "
                "main content</a>"
                "<header class=\"govuk-header\" role=\"banner\">"
                "<div class=\"govuk-width-container\">"
                "<a href=\"/search\" class=\"govuk-header__service\">ferry "
                "support console</a>");
    if (r->signed_in) {
        buf_puts(b, "<nav class=\"govuk-header__nav\" aria-label=\"Menu\">"
                    "<a href=\"/search\">Search</a>"
                    "<a href=\"/queue\">Queue</a>"
                    "<a href=\"/assisted\">Assisted digital</a>"
                    "<a href=\"/audit\">Audit log</a>"
                    "<a href=\"/report\">Today&#39;s report</a></nav>"
                    "<span class=\"govuk-header__user\">");
        con_esc(b, r->sess.user);
        buf_printf(b, " (%s) <form method=\"post\" action=\"/logout\">",
                   console_role_name(r->sess.role));
        con_csrf(r);
        buf_puts(b, "<button type=\"submit\">Sign out</button></form></span>");
    }
    buf_puts(b, "</div></header><div class=\"govuk-width-container\">"
                "<main class=\"govuk-main-wrapper\" id=\"main-content\" "
                "role=\"main\">");
}

void con_end(struct creq *r)
{
    buf_puts(&r->out, "</main></div></body></html>\n");
}

void con_error_summary(struct creq *r, const struct errs *e)
{
    if (!e || !e->n)
        return;
    struct buf *b = &r->out;
    buf_puts(b, "<div class=\"govuk-error-summary\" data-module="
                "\"govuk-error-summary\" role=\"alert\" tabindex=\"-1\">"
                "<h2 class=\"govuk-error-summary__title\">There is a problem"
                "</h2><ul class=\"govuk-error-summary__list\">");
    for (size_t i = 0; i < e->n && i < 50; i++) {
        buf_puts(b, "<li><a href=\"#f-");
        con_esc(b, e->v[i].where[0] ? e->v[i].where : "form");
        buf_puts(b, "\">");
        if (e->v[i].plain) {
            /* the mapping's own words for the citizen-facing form */
            con_esc(b, e->v[i].plain);
        } else {
            if (e->v[i].where[0]) {
                con_esc(b, e->v[i].where);
                buf_puts(b, ": ");
            }
            con_esc(b, e->v[i].msg);
        }
        buf_puts(b, "</a></li>");
    }
    buf_puts(b, "</ul></div>");
}

bool con_role_at_least(struct creq *r, enum console_role min,
                       const char *what)
{
    if (r->sess.role >= min)
        return true;
    con_page_forbidden(r, what);
    return false;
}

void con_page_forbidden(struct creq *r, const char *what)
{
    r->status = 403;
    buf_reset(&r->out);
    con_begin(r, "Not allowed");
    buf_puts(&r->out, "<h1 class=\"govuk-heading-l\">You cannot do this</h1>"
                      "<p class=\"govuk-body\">");
    con_esc(&r->out, what);
    buf_printf(&r->out, " needs a higher role than yours (%s). Ask a "
                        "supervisor.</p>", console_role_name(r->sess.role));
    con_end(r);
}

void con_page_not_found(struct creq *r)
{
    r->status = 404;
    buf_reset(&r->out);
    con_begin(r, "Page not found");
    buf_puts(&r->out, "<h1 class=\"govuk-heading-l\">Page not found</h1>"
                      "<p class=\"govuk-body\"><a href=\"/search\">Search "
                      "for a record</a>.</p>");
    con_end(r);
}
