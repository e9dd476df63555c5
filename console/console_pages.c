/* console_pages.c - the console's pages: sign in, search, the queue with
 * bulk actions, the audit log and its verification, the day's report,
 * and the form pieces the other pages share.  A record, its actions and
 * its edit are in console_record.c.
 *
 * Rules every page keeps: personal values go through mask_text /
 * mask_record (mappings/mask.c) unless the staff member revealed the
 * record, which is itself an audit entry with their reason; every change
 * is a spool call that audits with the staff name; a search is audited
 * by which index and how many matched, never the value.  Pages are plain
 * HTML forms (no script) in the GOV.UK Design System's patterns. */
#include "console/console_int.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/mask.h"
#include "mappings/record.h"
#include "scheduler/report.h"
#include "spool/spool.h"
#include "util/clock.h"
#include "util/errs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_LIMIT 200
#define AUDIT_SHOWN 200

static void audit_quiet(struct creq *r, const char *action, const char *ref,
                        const char *reason, const char *detail)
{
    struct errs e;
    errs_init(&e);
    if (spool_audit_add(r->con->sp, con_actor(r), action, ref, reason, detail,
                        &e) != 0)
        con_log_errs("console-audit", &e);
    errs_free(&e);
}

/* text_input - a labelled GOV.UK text input, id f-NAME */
static void text_input(struct buf *b, const char *name, const char *label,
                       const char *hint, const char *value, const char *err,
                       const char *autocomplete)
{
    buf_printf(b, "<div class=\"govuk-form-group%s\">",
               err ? " govuk-form-group--error" : "");
    buf_puts(b, "<label class=\"govuk-label\" for=\"f-");
    con_esc(b, name);
    buf_puts(b, "\">");
    con_esc(b, label);
    buf_puts(b, "</label>");
    if (hint) {
        buf_puts(b, "<div class=\"govuk-hint\" id=\"f-");
        con_esc(b, name);
        buf_puts(b, "-hint\">");
        con_esc(b, hint);
        buf_puts(b, "</div>");
    }
    if (err) {
        buf_puts(b, "<p class=\"govuk-error-message\"><span class=\""
                    "govuk-visually-hidden\">Error:</span> ");
        con_esc(b, err);
        buf_puts(b, "</p>");
    }
    buf_printf(b, "<input class=\"govuk-input%s\" type=\"%s\" id=\"f-",
               err ? " govuk-input--error" : "",
               strcmp(name, "password") == 0 ? "password" : "text");
    con_esc(b, name);
    buf_puts(b, "\" name=\"");
    con_esc(b, name);
    buf_puts(b, "\" value=\"");
    con_esc(b, value ? value : "");
    buf_printf(b, "\" autocomplete=\"%s\"", autocomplete ? autocomplete
                                                         : "off");
    if (hint) {
        buf_puts(b, " aria-describedby=\"f-");
        con_esc(b, name);
        buf_puts(b, "-hint\"");
    }
    buf_puts(b, "></div>");
}

/* ---- sign in ------------------------------------------------------------ */

void con_page_login(struct creq *r, const char *error, const char *name)
{
    struct buf *b = &r->out;
    buf_reset(b);
    con_begin(r, "Sign in");
    if (con_arg(r, "out"))
        buf_puts(b, "<div class=\"govuk-notification-banner "
                    "govuk-notification-banner--success\" role=\"alert\">"
                    "<div class=\"govuk-notification-banner__header\">"
                    "<h2>Success</h2></div><div class=\""
                    "govuk-notification-banner__content\"><p>You have signed "
                    "out.</p></div></div>");
    if (error) {
        buf_puts(b, "<div class=\"govuk-error-summary\" role=\"alert\" "
                    "tabindex=\"-1\"><h2 class=\"govuk-error-summary__title\">"
                    "There is a problem</h2><ul><li><a href=\"#f-name\">");
        con_esc(b, error);
        buf_puts(b, "</a></li></ul></div>");
    }
    buf_puts(b, "<h1 class=\"govuk-heading-l\">Sign in to the support "
                "console</h1><form method=\"post\" action=\"/login\" "
                "novalidate>");
    con_csrf(r);
    text_input(b, "name", "Staff name", NULL, name, NULL, "username");
    text_input(b, "password", "Password", NULL, NULL, NULL,
               "current-password");
    buf_puts(b, "<button type=\"submit\" class=\"govuk-button\">Sign in"
                "</button></form>");
    con_end(r);
}

/* ---- search --------------------------------------------------------- */

/* results_table - records found: reference (linked), service, state,
 * received, front-end reference; nothing personal */
static void results_table(struct buf *b, const struct spool_list *l,
                          const char *caption, bool checkboxes)
{
    buf_puts(b, "<table class=\"govuk-table\"><caption>");
    con_esc(b, caption);
    buf_puts(b, "</caption><thead><tr>");
    if (checkboxes)
        buf_puts(b, "<th scope=\"col\"><span class=\"govuk-visually-hidden\">"
                    "Select</span></th>");
    buf_puts(b, "<th scope=\"col\">Reference</th><th scope=\"col\">Service"
                "</th><th scope=\"col\">Target</th><th scope=\"col\">State"
                "</th><th scope=\"col\">Received</th><th scope=\"col\">"
                "Front-end reference</th><th scope=\"col\">Last error</th>"
                "</tr></thead><tbody>");
    for (size_t i = 0; i < l->n; i++) {
        const struct spool_record *x = l->v[i];
        char t[40];
        con_fmt_time(x->received_at, t, sizeof t);
        buf_puts(b, "<tr>");
        if (checkboxes) {
            buf_puts(b, "<td><input type=\"checkbox\" name=\"ref\" value=\"");
            con_esc(b, x->ref);
            buf_puts(b, "\" id=\"sel-");
            con_esc(b, x->ref);
            buf_puts(b, "\" aria-label=\"Select ");
            con_esc(b, x->ref);
            buf_puts(b, "\"></td>");
        }
        buf_puts(b, "<th scope=\"row\"><a href=\"/record?ref=");
        con_esc(b, x->ref);
        buf_puts(b, "\">");
        con_esc(b, x->ref);
        buf_puts(b, "</a></th><td>");
        con_esc(b, x->service);
        buf_puts(b, "</td><td>");
        con_esc(b, x->target);
        buf_puts(b, "</td><td>");
        con_state_tag(b, x->state);
        buf_printf(b, "</td><td>%s</td><td>", t);
        con_esc(b, x->fe_ref ? x->fe_ref : "-");
        buf_puts(b, "</td><td>");
        con_esc(b, x->last_error ? x->last_error : "");
        buf_puts(b, "</td></tr>");
    }
    buf_puts(b, "</tbody></table>");
}

/* search_fields - every field some service's index uses, once, in order */
static size_t search_fields(const struct ferry_config *cfg,
                            const struct map_field **out, size_t max)
{
    size_t n = 0;
    for (size_t s = 0; s < cfg->nservices; s++) {
        const struct mapping *m = cfg->services[s].mapping;
        for (size_t i = 0; m && i < m->nsearch; i++)
            for (size_t j = 0; j < m->search[i].nfields; j++) {
                const struct map_field *f = &m->fields[m->search[i].fields[j]];
                bool seen = false;
                for (size_t k = 0; k < n && !seen; k++)
                    seen = strcmp(out[k]->name, f->name) == 0;
                if (!seen && n < max)
                    out[n++] = f;
            }
    }
    return n;
}

void con_page_search(struct creq *r)
{
    struct buf *b = &r->out;
    const struct map_field *fs[32];
    size_t nf = search_fields(r->con->cfg, fs, 32);
    const char *q = con_arg(r, "q");
    const char *names[32], *texts[32];
    size_t nt = 0;
    for (size_t i = 0; i < nf; i++) {
        const char *v = con_arg(r, fs[i]->name);
        if (v && v[strspn(v, " ")]) {
            names[nt] = fs[i]->name;
            texts[nt++] = v;
        }
    }
    bool asked = (q && q[strspn(q, " ")]) || nt;
    struct spool_list l = { 0 };
    struct errs e;
    errs_init(&e);
    char by[200] = "";
    if (asked) {
        if (q && q[strspn(q, " ")]) {
            const char *svcs[64];
            size_t ns = 0;
            for (size_t i = 0; i < r->con->cfg->nservices && ns < 64; i++)
                svcs[ns++] = r->con->cfg->services[i].name;
            char ref[128];
            snprintf(ref, sizeof ref, "%s", q + strspn(q, " "));
            ref[strcspn(ref, " ")] = '\0';
            spool_find_ref(r->con->sp, ref, svcs, ns, &l, &e);
            snprintf(by, sizeof by, "reference");
        } else {
            size_t tried = 0;
            if (console_find_fields(r->con->cfg, r->con->sp, NULL, names,
                                    texts, nt, 100, &l, &tried, &e) == 0
                && !tried)
                errs_add(&e, names[0], "no service can be searched by %s%s "
                         "alone: fill in the fields that go together (for "
                         "example surname and date of birth)", names[0],
                         nt > 1 ? " with these fields" : "");
            size_t o = 0;
            for (size_t i = 0; i < nt && o < sizeof by; i++) {
                int w = snprintf(by + o, sizeof by - o, "%s%s",
                                 i ? "+" : "", names[i]);
                if (w < 0)
                    break;
                o += (size_t)w;
            }
        }
        char detail[300];
        snprintf(detail, sizeof detail, "by=%s matches=%zu", by, l.n);
        audit_quiet(r, "console-find", NULL, NULL, detail);
    }
    con_begin(r, "Search");
    con_error_summary(r, &e);
    buf_puts(b, "<h1 class=\"govuk-heading-l\">Find a record</h1>"
                "<form method=\"get\" action=\"/search\" novalidate>");
    text_input(b, "q", "Reference", "The reference on the citizen's "
               "confirmation (for example HCR001002X) or a ferry reference "
               "(FRY-...)", q, NULL, NULL);
    if (nf) {
        buf_puts(b, "<fieldset class=\"govuk-fieldset\"><legend class=\""
                    "govuk-fieldset__legend\">Or the citizen's details</legend>"
                    "<div class=\"govuk-hint\">Type them as the citizen gives "
                    "them: spaces and capitals do not matter. Fill in the "
                    "fields that go together, for example surname and date "
                    "of birth.</div>");
        for (size_t i = 0; i < nf; i++) {
            char label[96];
            snprintf(label, sizeof label, "%s", fs[i]->name);
            const char *hint = fs[i]->type == FT_DATE
                ? (fs[i]->format ? fs[i]->format : "YYYY-MM-DD") : NULL;
            text_input(b, fs[i]->name, label, hint, con_arg(r, fs[i]->name),
                       NULL, NULL);
        }
        buf_puts(b, "</fieldset>");
    }
    buf_puts(b, "<button type=\"submit\" class=\"govuk-button\">Search"
                "</button></form>");
    if (asked && !e.n) {
        if (!l.n)
            buf_puts(b, "<h2 class=\"govuk-heading-m\">No record matches"
                        "</h2><p class=\"govuk-body\">Check what was typed. "
                        "A record keyed in before its service marked the "
                        "field searchable is found after `ferry find "
                        "--reindex`.</p>");
        else {
            char cap[64];
            snprintf(cap, sizeof cap, "%zu record%s found", l.n,
                     l.n == 1 ? "" : "s");
            results_table(b, &l, cap, false);
        }
    }
    con_end(r);
    spool_list_free(&l);
    errs_free(&e);
}

/* ---- the queue ---------------------------------------------------------- */

static void select_input(struct buf *b, const char *name, const char *label,
                         const char *const *opts, size_t n, const char *cur)
{
    buf_printf(b, "<div class=\"govuk-form-group ferry-inline\"><label class=\"govuk-label\" for=\""
               "f-%s\">%s</label><select class=\"govuk-select\" id=\"f-%s\" "
               "name=\"%s\"><option value=\"\">Any</option>", name, label,
               name, name);
    for (size_t i = 0; i < n; i++) {
        buf_puts(b, "<option value=\"");
        con_esc(b, opts[i]);
        buf_printf(b, "\"%s>", cur && strcmp(cur, opts[i]) == 0
                               ? " selected" : "");
        con_esc(b, opts[i]);
        buf_puts(b, "</option>");
    }
    buf_puts(b, "</select></div>");
}

static void queue_body(struct creq *r, const char *banner,
                       const struct errs *pe)
{
    struct buf *b = &r->out;
    const struct ferry_config *cfg = r->con->cfg;
    const char *state = con_arg(r, "state"), *service = con_arg(r, "service");
    const char *target = con_arg(r, "target");
    struct spool_filter f;
    memset(&f, 0, sizeof f);
    enum spool_state st;
    if (state && *state && spool_state_parse(state, &st) == 0) {
        f.nstates = 1;
        f.states[0] = st;
    } else if (!state) {
        static const enum spool_state open_states[] = {
            SPOOL_FAILED, SPOOL_REJECTED, SPOOL_INDOUBT, SPOOL_HELD };
        f.nstates = 4;
        memcpy(f.states, open_states, sizeof open_states);
    }
    f.service = service && *service ? service : NULL;
    f.target = target && *target ? target : NULL;
    f.limit = QUEUE_LIMIT;
    struct spool_list l = { 0 };
    struct errs e;
    errs_init(&e);
    spool_list(r->con->sp, &f, 0, &l, &e);
    con_begin(r, "Queue");
    if (pe)
        con_error_summary(r, pe);
    if (banner) {
        buf_puts(b, "<div class=\"govuk-notification-banner "
                    "govuk-notification-banner--success\" role=\"alert\"><div "
                    "class=\"govuk-notification-banner__header\"><h2>Success"
                    "</h2></div><div class=\"govuk-notification-banner__"
                    "content\"><p>");
        con_esc(b, banner);
        buf_puts(b, "</p></div></div>");
    }
    buf_puts(b, "<h1 class=\"govuk-heading-l\">Queue</h1><form method=\"get\""
                " action=\"/queue\">");
    const char *states[SPOOL_NSTATES];
    for (int i = 0; i < SPOOL_NSTATES; i++)
        states[i] = spool_state_name((enum spool_state)i);
    select_input(b, "state", "State", states, SPOOL_NSTATES, state);
    const char *svcs[64], *tgts[64];
    size_t ns = 0, nt = 0;
    for (size_t i = 0; i < cfg->nservices && ns < 64; i++)
        svcs[ns++] = cfg->services[i].name;
    for (size_t i = 0; i < cfg->ntargets && nt < 64; i++)
        tgts[nt++] = cfg->targets[i].name;
    select_input(b, "service", "Service", svcs, ns, service);
    select_input(b, "target", "Target", tgts, nt, target);
    buf_puts(b, "<button type=\"submit\" class=\"govuk-button "
                "govuk-button--secondary\">Show</button></form>");
    if (!state)
        buf_puts(b, "<p class=\"govuk-body\">Showing the records that need a "
                    "person: failed, rejected, in doubt and held.</p>");
    bool act = r->sess.role >= CONSOLE_SUPPORT && l.n;
    if (act) {
        buf_puts(b, "<form method=\"post\" action=\"/queue/action\">");
        con_csrf(r);
    }
    char cap[80];
    snprintf(cap, sizeof cap, "%zu record%s%s", l.n, l.n == 1 ? "" : "s",
             l.n == QUEUE_LIMIT ? " (the oldest shown)" : "");
    results_table(b, &l, cap, act);
    if (act) {
        buf_puts(b, "<fieldset class=\"govuk-fieldset\"><legend class=\""
                    "govuk-fieldset__legend\">With the selected records"
                    "</legend>");
        static const char *const acts[] = { "retry", "hold", "release",
                                            "discard" };
        buf_puts(b, "<div class=\"govuk-form-group\"><label class=\""
                    "govuk-label\" for=\"f-action\">Action</label><select "
                    "class=\"govuk-select\" id=\"f-action\" name=\"action\">");
        for (size_t i = 0; i < 4; i++)
            if (r->sess.role >= con_needed_role(acts[i]))
                buf_printf(b, "<option value=\"%s\">%s</option>", acts[i],
                           acts[i]);
        buf_puts(b, "</select></div>");
        con_reason_input(b, "f-reason", "Reason (required, recorded in the "
                     "audit log)");
        buf_puts(b, "<button type=\"submit\" class=\"govuk-button\">Apply to "
                    "selected</button></fieldset></form>");
    }
    con_end(r);
    spool_list_free(&l);
    errs_free(&e);
}

void con_page_queue(struct creq *r)
{
    queue_body(r, NULL, NULL);
}

void con_do_queue_action(struct creq *r)
{
    const char *action = con_arg(r, "action"), *reason = con_arg(r, "reason");
    if (!action) {
        con_page_not_found(r);
        return;
    }
    if (!con_role_at_least(r, con_needed_role(action), "This action"))
        return;
    struct errs e;
    errs_init(&e);
    size_t done = 0, asked = 0;
    if (!reason || !reason[strspn(reason, " ")])
        errs_add(&e, "reason", "Enter a reason: it goes in the audit log");
    else
        for (const char *ref; (ref = con_arg_nth(r, "ref", asked)); asked++)
            if (con_apply_action(r, ref, NULL, action, reason, &e) == 0)
                done++;
    if (!asked && !e.n)
        errs_add(&e, "action", "Select at least one record");
    char banner[120];
    snprintf(banner, sizeof banner, "%s: %zu of %zu record%s done.", action,
             done, asked, asked == 1 ? "" : "s");
    if (e.n)
        r->status = done ? 200 : 400;
    queue_body(r, done ? banner : NULL, &e);
    errs_free(&e);
}

/* ---- audit ------------------------------------------------------------ */

void con_page_audit(struct creq *r, bool verify)
{
    struct buf *b = &r->out;
    if (verify && !con_role_at_least(r, CONSOLE_SUPERVISOR,
                                     "Verifying the audit log"))
        return;
    struct errs e, ve;
    errs_init(&e);
    errs_init(&ve);
    int vr = 0;
    struct spool_audit_proof proof;
    memset(&proof, 0, sizeof proof);
    if (verify) {
        vr = spool_audit_verify(r->con->sp, NULL, &proof, &ve);
        size_t checked = proof.checked;
        char detail[80];
        snprintf(detail, sizeof detail, "result=%s checked=%zu",
                 vr == 0 ? "intact" : vr == 1 ? "broken" : "error", checked);
        audit_quiet(r, "console-audit-verify", NULL, NULL, detail);
    }
    struct spool_audit_list al = { 0 };
    spool_audit_list(r->con->sp, NULL, &al, &e);
    con_begin(r, "Audit log");
    buf_puts(b, "<h1 class=\"govuk-heading-l\">Audit log</h1>");
    if (verify) {
        if (vr == 0)
            buf_printf(b, "<div class=\"govuk-notification-banner "
                       "govuk-notification-banner--success\" role=\"alert\">"
                       "<div class=\"govuk-notification-banner__header\"><h2>"
                       "Verified</h2></div><div class=\"govuk-notification-"
                       "banner__content\"><p>The chain is intact: %zu entries "
                       "checked (%zu keyed, %zu written before the key)%s."
                       "</p></div></div>", proof.checked, proof.keyed,
                       proof.unkeyed, proof.key_given ? ""
                       : "; without the audit key only the links and "
                         "SHA-256 entries could be checked");
        else {
            buf_printf(b, "<div class=\"govuk-error-summary\" role=\"alert\">"
                       "<h2 class=\"govuk-error-summary__title\">The audit "
                       "log does not verify</h2><p>First bad entry: %lld. ",
                       (long long)proof.bad_id);
            con_esc(b, errs_first_msg(&ve));
            buf_puts(b, "</p></div>");
        }
    }
    if (r->sess.role >= CONSOLE_SUPERVISOR) {
        buf_puts(b, "<form method=\"post\" action=\"/audit/verify\">");
        con_csrf(r);
        buf_puts(b, "<button type=\"submit\" class=\"govuk-button "
                    "govuk-button--secondary\">Verify the chain</button>"
                    "</form>");
    }
    buf_printf(b, "<table class=\"govuk-table\"><caption>The newest %d "
               "entries</caption><thead><tr><th scope=\"col\">#</th><th "
               "scope=\"col\">When</th><th scope=\"col\">Who</th><th scope="
               "\"col\">Action</th><th scope=\"col\">Record</th><th scope="
               "\"col\">Change</th><th scope=\"col\">Reason and details</th>"
               "</tr></thead><tbody>", AUDIT_SHOWN);
    size_t from = al.n > AUDIT_SHOWN ? al.n - AUDIT_SHOWN : 0;
    for (size_t k = al.n; k > from; k--) {
        const struct spool_audit_entry *a = &al.v[k - 1];
        char t[40];
        con_fmt_time(a->at, t, sizeof t);
        buf_printf(b, "<tr><td>%lld</td><td>%s</td><td>", (long long)a->id, t);
        con_esc(b, a->actor);
        buf_puts(b, "</td><td>");
        con_esc(b, a->action);
        buf_puts(b, "</td><td>");
        if (a->ref && *a->ref) {
            buf_puts(b, "<a href=\"/record?ref=");
            con_esc(b, a->ref);
            buf_puts(b, "\">");
            con_esc(b, a->ref);
            buf_puts(b, "</a>");
        }
        buf_puts(b, "</td><td>");
        if (a->before && *a->before) {
            con_esc(b, a->before);
            buf_puts(b, " &rarr; ");
            con_esc(b, a->after);
        }
        buf_puts(b, "</td><td>");
        con_audit_text(b, a);
        buf_puts(b, "</td></tr>");
    }
    buf_puts(b, "</tbody></table>");
    con_end(r);
    spool_audit_list_free(&al);
    errs_free(&e);
    errs_free(&ve);
}

/* ---- the day's report ------------------------------------------------- */

void con_page_report(struct creq *r)
{
    char day[16];
    const char *d = con_arg(r, "date");
    int64_t now = clock_wall_ms();
    if (!d || strlen(d) != 10) {
        int64_t days = now / 86400000;
        map_date_write(days, "YYYY-MM-DD", day, sizeof day);
        d = day;
    }
    struct report_opts o = { .from = d, .to = d };
    struct report *rep = NULL;
    struct errs e;
    errs_init(&e);
    if (report_build(r->con->sp, &o, &rep, &e) != 0) {
        con_begin(r, "Report");
        con_error_summary(r, &e);
        con_end(r);
        r->status = 500;
        errs_free(&e);
        return;
    }
    /* the report is its own self-contained page (inline CSS, SVG) */
    if (report_render(rep, REPORT_HTML, &r->out) != 0)
        r->status = 500;
    r->inline_style = true;
    report_free(rep);
    errs_free(&e);
}
