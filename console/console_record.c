/* console_record.c - one record in the console: its timeline (the same
 * spool_timeline `ferry show` prints: received, attempts, batches, the
 * acknowledgement, every audited action and reveal), the actions its state and
 * the staff member's role allow (retry, hold, release, settle, discard,
 * each with a required reason), reveal (audited first, with the reason),
 * and fix-and-requeue: the changed fields set in the stored submission,
 * the whole of it validated again through the mapping, a masked
 * difference to check, then spool_edit (audited with the fields' names,
 * never personal values) and the search index brought up to date. */
#include "console/console_int.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/mask.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DETAIL_MAX 1500

/* ---- a record ------------------------------------------------------- */

/* cell - one escaped table cell's text, "" for NULL */
static void cell(struct buf *b, const char *s)
{
    con_esc(b, s ? s : "");
}

/* timeline_table - spool_timeline of ref, the one story `ferry show`
 * tells too: received, attempts, batches (bound, written, sent), the
 * acknowledgement that confirmed or rejected it, every audited action and
 * reveal.  Messages are what the ledger keeps (scrubbed of values). */
static void timeline_table(struct creq *r, const char *ref, struct errs *e)
{
    struct buf *b = &r->out;
    struct spool_timeline tl = { 0 };
    char t[64];
    if (spool_timeline(r->con->sp, ref, &tl, e) != 0) {
        con_log_errs("console-timeline", e);
        return;
    }
    buf_puts(b, "<table class=\"govuk-table\"><caption>Timeline</caption>"
                "<thead><tr><th scope=\"col\">When</th><th scope=\"col\">"
                "What</th><th scope=\"col\">Who</th><th scope=\"col\">"
                "Details</th></tr></thead><tbody>");
    for (size_t i = 0; i < tl.n; i++) {
        const struct spool_event *v = &tl.v[i];
        con_fmt_time(v->at, t, sizeof t);
        buf_printf(b, "<tr><td>%s</td><td>", t);
        cell(b, v->what);
        if (v->outcome && *v->outcome) {
            buf_puts(b, ": ");
            cell(b, v->outcome);
        }
        if (v->before && *v->before) {
            buf_puts(b, " (");
            cell(b, v->before);
            buf_puts(b, " &rarr; ");
            cell(b, v->after);
            buf_puts(b, ")");
        }
        buf_puts(b, "</td><td>");
        cell(b, v->actor ? v->actor : v->client ? v->client : "ferry");
        buf_puts(b, "</td><td>");
        const char *sep = "";
        if (v->channel && *v->channel) {
            buf_puts(b, "channel ");
            cell(b, v->channel);
            sep = "; ";
        }
        if (v->target && *v->target) {
            buf_puts(b, sep);
            cell(b, v->target);
            sep = "; ";
        }
        if (v->file && *v->file) {
            buf_puts(b, sep);
            buf_puts(b, "file ");
            cell(b, v->file);
            if (v->record_no > 0)
                buf_printf(b, ", record %ld", v->record_no);
            sep = "; ";
        }
        if (v->message && *v->message) {
            buf_puts(b, sep);
            cell(b, v->message);
        }
        buf_puts(b, "</td></tr>");
    }
    buf_puts(b, "</tbody></table>");
    spool_timeline_free(&tl);
}

static void summary_row(struct buf *b, const char *key, const char *value)
{
    buf_puts(b, "<div class=\"govuk-summary-list__row\"><dt class=\""
                "govuk-summary-list__key\">");
    con_esc(b, key);
    buf_puts(b, "</dt><dd class=\"govuk-summary-list__value\">");
    con_esc(b, value ? value : "-");
    buf_puts(b, "</dd></div>");
}

/* action_form - one POST /record/action form with a reason */
static void action_form(struct creq *r, const char *ref, const char *target,
                        const char *action, const char *label,
                        const char *button, bool warning)
{
    struct buf *b = &r->out;
    buf_puts(b, "<form method=\"post\" action=\"/record/action\">");
    con_csrf(r);
    buf_puts(b, "<input type=\"hidden\" name=\"ref\" value=\"");
    con_esc(b, ref);
    buf_printf(b, "\"><input type=\"hidden\" name=\"action\" value=\"%s\">",
               action);
    /* one delivery of several: the action names its target */
    if (target) {
        buf_puts(b, "<input type=\"hidden\" name=\"target\" value=\"");
        con_esc(b, target);
        buf_puts(b, "\">");
    }
    char id[160];
    snprintf(id, sizeof id, "reason-%s%s%.100s", action, target ? "-" : "",
             target ? target : "");
    con_reason_input(b, id, label);
    buf_printf(b, "<button type=\"submit\" class=\"govuk-button%s\">%s"
               "</button></form>", warning ? " govuk-button--warning"
                                           : " govuk-button--secondary",
               button);
}

/* record_fields - the mapped record, masked unless reveal */
static void record_fields(struct buf *b, const struct spool_record *x,
                          bool reveal)
{
    struct errs e;
    errs_init(&e);
    struct record *rec = x->record_json ? record_from_json(x->record_json, &e)
                                        : NULL;
    errs_free(&e);
    if (!rec) {
        buf_puts(b, "<p class=\"govuk-body\">The mapped record is not "
                    "available (purged, or it could not be read).</p>");
        return;
    }
    json_t *shown = mask_record(rec, reveal);
    buf_puts(b, "<table class=\"govuk-table\"><caption>What the submission "
                "was mapped to</caption><thead><tr><th scope=\"col\">Field"
                "</th><th scope=\"col\">Value</th></tr></thead><tbody>");
    const char *k;
    json_t *v;
    json_object_foreach(shown, k, v) {
        buf_puts(b, "<tr><th scope=\"row\">");
        con_esc(b, k);
        buf_puts(b, "</th><td>");
        if (json_is_string(v))
            con_esc(b, json_string_value(v));
        else if (json_is_null(v))
            buf_puts(b, "<span class=\"govuk-hint\">(absent)</span>");
        else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
            con_esc(b, s);
            free(s);
        }
        buf_puts(b, "</td></tr>");
    }
    buf_puts(b, "</tbody></table>");
    json_decref(shown);
    record_free(rec);
}

/* delivery_actions - the actions a delivery in state st takes, by role;
 * target names it when the record has several (edit, which goes to every
 * delivery that can take it, is offered once) */
static void delivery_actions(struct creq *r, const char *ref,
                             const char *target, enum spool_state state,
                             bool edit_link)
{
    struct buf *b = &r->out;
    enum spool_state st = state;
    bool can_retry = st == SPOOL_FAILED || st == SPOOL_REJECTED
                     || st == SPOOL_INDOUBT || st == SPOOL_DEFERRED;
    bool can_hold = st == SPOOL_QUEUED || st == SPOOL_DEFERRED
                    || st == SPOOL_FAILED || st == SPOOL_REJECTED
                    || st == SPOOL_INDOUBT;
    bool can_edit = can_hold || st == SPOOL_HELD;
    if (!spool_state_final(st) && r->sess.role >= CONSOLE_SUPPORT) {
        buf_puts(b, "<h2 class=\"govuk-heading-m\">Actions");
        if (target) {
            buf_puts(b, ": ");
            con_esc(b, target);
        }
        buf_puts(b, "</h2><div class=\"ferry-actions\">");
        if (can_edit && edit_link) {
            buf_puts(b, "<p class=\"govuk-body\"><a class=\"govuk-button\" "
                        "href=\"/edit?ref=");
            con_esc(b, ref);
            buf_puts(b, "\">Fix and requeue</a></p>");
        }
        if (can_retry && st != SPOOL_INDOUBT)
            action_form(r, ref, target, "retry", "Reason for retrying", "Retry",
                        false);
        if (can_hold)
            action_form(r, ref, target, "hold", "Reason for holding", "Hold",
                        false);
        if (st == SPOOL_HELD)
            action_form(r, ref, target, "release", "Reason for releasing",
                        "Release", false);
        if (st == SPOOL_INDOUBT && r->sess.role >= CONSOLE_SUPERVISOR) {
            action_form(r, ref, target, "settle-delivered", "What the target "
                        "said (it has the record)", "Settle: delivered",
                        false);
            action_form(r, ref, target, "settle-resend", "Why it must be sent "
                        "again (the target does not have it)",
                        "Settle: send again", false);
        }
        if (r->sess.role >= CONSOLE_SUPERVISOR)
            action_form(r, ref, target, "discard", "Reason for discarding "
                        "(required)", "Discard", true);
        buf_puts(b, "</div>");
    }

}

/* deliveries_table - a record with several targets: each delivery */
static void deliveries_table(struct creq *r, const struct spool_list *dl)
{
    struct buf *b = &r->out;
    enum spool_state st[64];
    size_t n = 0;
    for (size_t i = 0; i < dl->n && n < 64; i++)
        st[n++] = dl->v[i]->state;
    buf_puts(b, "<h2 class=\"govuk-heading-m\">Deliveries</h2><p class=\""
                "govuk-body\">Overall: ");
    con_esc(b, spool_overall_name(spool_overall_of(st, n)));
    buf_puts(b, "</p><table class=\"govuk-table\"><thead class=\""
                "govuk-table__head\"><tr class=\"govuk-table__row\">"
                "<th class=\"govuk-table__header\">Target</th>"
                "<th class=\"govuk-table__header\">State</th>"
                "<th class=\"govuk-table__header\">Attempts</th>"
                "<th class=\"govuk-table__header\">Receipt</th>"
                "<th class=\"govuk-table__header\">Last error</th>"
                "<th class=\"govuk-table__header\">Delivery id</th></tr>"
                "</thead><tbody class=\"govuk-table__body\">");
    for (size_t i = 0; i < dl->n; i++) {
        const struct spool_record *d = dl->v[i];
        buf_puts(b, "<tr class=\"govuk-table__row\"><td class=\""
                    "govuk-table__cell\">");
        con_esc(b, d->target);
        buf_puts(b, "</td><td class=\"govuk-table__cell\">");
        con_state_tag(b, d->state);
        buf_printf(b, "</td><td class=\"govuk-table__cell\">%d</td>"
                   "<td class=\"govuk-table__cell\">", d->attempts);
        con_esc(b, d->receipt ? d->receipt : "");
        buf_puts(b, "</td><td class=\"govuk-table__cell\">");
        con_esc(b, d->last_error ? d->last_error : "");
        buf_puts(b, "</td><td class=\"govuk-table__cell\">");
        con_esc(b, d->delivery_id ? d->delivery_id : "");
        buf_puts(b, "</td></tr>");
    }
    buf_puts(b, "</tbody></table>");
}

void con_page_record(struct creq *r, const char *ref, bool reveal,
                     const char *banner)
{
    struct buf *b = &r->out;
    struct spool_record *x = NULL;
    struct errs e;
    errs_init(&e);
    int rc = ref ? spool_get(r->con->sp, ref, SPOOL_WITH_PAYLOAD |
                             SPOOL_WITH_HISTORY, &x, &e) : 1;
    buf_reset(b);
    if (rc != 0) {
        r->status = rc == 1 ? 404 : 500;
        con_begin(r, "No such record");
        con_error_summary(r, &e);
        buf_puts(b, "<h1 class=\"govuk-heading-l\">No such record</h1>"
                    "<p class=\"govuk-body\"><a href=\"/search\">Search again"
                    "</a></p>");
        con_end(r);
        errs_free(&e);
        return;
    }
    /* a record with several targets: one delivery each (the table and
     * the actions below), the heading shows the overall state */
    struct spool_list dl = { 0 };
    struct errs de;
    errs_init(&de);
    if (spool_deliveries(r->con->sp, x->ref, 0, &dl, &de) < 0)
        dl.n = 0;
    errs_free(&de);
    enum spool_state head_state = x->state;
    if (dl.n > 1) {
        enum spool_state sts[64];
        size_t ns = 0;
        for (size_t i = 0; i < dl.n && ns < 64; i++)
            sts[ns++] = dl.v[i]->state;
        head_state = spool_overall_state(sts, ns);
    }
    con_begin(r, x->ref);
    if (banner) {
        buf_puts(b, "<div class=\"govuk-notification-banner "
                    "govuk-notification-banner--success\" role=\"alert\">"
                    "<div class=\"govuk-notification-banner__header\"><h2>"
                    "Success</h2></div><div class=\""
                    "govuk-notification-banner__content\"><p>");
        con_esc(b, banner);
        buf_puts(b, "</p></div></div>");
    }
    buf_puts(b, "<span class=\"govuk-hint\">Record</span><h1 class=\""
                "govuk-heading-l\">");
    con_esc(b, x->ref);
    buf_puts(b, " ");
    con_state_tag(b, head_state);
    buf_puts(b, "</h1><dl class=\"govuk-summary-list\">");
    char t[40], n[32];
    summary_row(b, "Service", x->service);
    if (dl.n <= 1)
        summary_row(b, "Target", x->target);
    con_fmt_time(x->received_at, t, sizeof t);
    summary_row(b, "Received", t);
    summary_row(b, "Channel / client", x->client);
    summary_row(b, "Front-end reference", x->fe_ref);
    snprintf(n, sizeof n, "%d", x->attempts);
    if (dl.n <= 1) {               /* with several: per delivery, below */
        summary_row(b, "Delivery attempts", n);
        summary_row(b, "Last error", x->last_error);
        summary_row(b, "Target's receipt", x->receipt);
    }
    if (x->closed_reason)
        summary_row(b, "Closed because", x->closed_reason);
    buf_puts(b, "</dl>");

    if (dl.n > 1) {
        deliveries_table(r, &dl);
        bool edit_shown = false;
        for (size_t i = 0; i < dl.n; i++) {
            bool edit = !edit_shown && spool_edit_allowed(dl.v[i]->state);
            edit_shown = edit_shown || edit;
            delivery_actions(r, x->ref, dl.v[i]->target, dl.v[i]->state,
                             edit);
        }
    } else {
        delivery_actions(r, x->ref, NULL, x->state, true);
    }
    spool_list_free(&dl);

    record_fields(b, x, reveal);
    if (!reveal && r->sess.role >= CONSOLE_SUPPORT) {
        buf_puts(b, "<details class=\"govuk-details\"><summary>Show personal "
                    "data</summary><form method=\"post\" action=\""
                    "/record/reveal\">");
        con_csrf(r);
        buf_puts(b, "<input type=\"hidden\" name=\"ref\" value=\"");
        con_esc(b, x->ref);
        buf_puts(b, "\">");
        con_reason_input(b, "reason-reveal", "Why you need to see it (recorded "
                     "in the audit log)");
        buf_puts(b, "<button type=\"submit\" class=\"govuk-button "
                    "govuk-button--secondary\">Show personal data</button>"
                    "</form></details>");
    } else if (reveal) {
        buf_puts(b, "<div class=\"govuk-inset-text\">Personal data is shown "
                    "because you asked; this was recorded in the audit log."
                    "</div>");
        if (x->payload) {
            buf_puts(b, "<h2 class=\"govuk-heading-m\">The submission as "
                        "received</h2><pre class=\"govuk-body\">");
            con_esc(b, (const char *)x->payload);
            buf_puts(b, "</pre>");
        }
    }

    timeline_table(r, x->ref, &e);
    con_end(r);
    spool_record_free(x);
    errs_free(&e);
}

void con_do_record_action(struct creq *r)
{
    const char *ref = con_arg(r, "ref"), *action = con_arg(r, "action");
    const char *reason = con_arg(r, "reason");
    if (!ref || !action) {
        con_page_not_found(r);
        return;
    }
    if (!con_role_at_least(r, con_needed_role(action), "This action"))
        return;
    struct errs e;
    errs_init(&e);
    if (!reason || !reason[strspn(reason, " ")]) {
        errs_add(&e, "reason", "Enter a reason: it goes in the audit log");
    } else if (con_apply_action(r, ref, con_arg(r, "target"), action, reason,
                                &e) == 0) {
        char banner[160];
        snprintf(banner, sizeof banner, "Done: %s. The audit log names you "
                 "and your reason.", action);
        con_page_record(r, ref, false, banner);
        errs_free(&e);
        return;
    }
    con_page_record(r, ref, false, NULL);
    /* put the problem at the top of the page just built */
    struct buf top;
    buf_init(&top, 0);
    struct creq tmp = *r;
    tmp.out = top;
    con_error_summary(&tmp, &e);
    const char *main_at = strstr(buf_str(&r->out), "role=\"main\">");
    if (main_at && tmp.out.len) {
        size_t at = (size_t)(main_at - buf_str(&r->out)) + 12;
        struct buf nb;
        buf_init(&nb, 0);
        buf_append(&nb, r->out.data, at);
        buf_append(&nb, tmp.out.data, tmp.out.len);
        buf_append(&nb, r->out.data + at, r->out.len - at);
        buf_free(&r->out);
        r->out = nb;
    }
    buf_free(&tmp.out);
    r->status = 400;
    errs_free(&e);
}

void con_do_reveal(struct creq *r)
{
    const char *ref = con_arg(r, "ref"), *reason = con_arg(r, "reason");
    if (!con_role_at_least(r, CONSOLE_SUPPORT, "Showing personal data"))
        return;
    if (!ref) {
        con_page_not_found(r);
        return;
    }
    if (!reason || !reason[strspn(reason, " ")]) {
        r->status = 400;
        con_page_record(r, ref, false, NULL);
        return;
    }
    struct errs e;
    errs_init(&e);
    /* audited first: no reveal without its entry */
    if (spool_audit_reveal(r->con->sp, con_actor(r), ref, reason, "console",
                           &e) != 0) {
        con_log_errs("console-audit", &e);
        errs_free(&e);
        r->status = 500;
        con_page_record(r, ref, false, NULL);
        return;
    }
    errs_free(&e);
    con_page_record(r, ref, true, NULL);
}

/* ---- edit and requeue ---------------------------------------------- */

/* editable - a field the edit form offers: top level, read by a path */
static bool editable(const struct map_field *f)
{
    return f->type != FT_LIST && f->path && !f->nparts;
}

void con_page_edit(struct creq *r)
{
    struct buf *b = &r->out;
    const char *ref = con_arg(r, "ref");
    if (!con_role_at_least(r, CONSOLE_SUPPORT, "Fixing a record"))
        return;
    struct spool_record *x = NULL;
    struct errs e;
    errs_init(&e);
    /* several deliveries: the edit goes to each that can take it */
    if (!ref || spool_get_editable(r->con->sp, ref, SPOOL_WITH_PAYLOAD, &x,
                                   &e) != 0) {
        errs_free(&e);
        con_page_not_found(r);
        return;
    }
    const struct mapping *m = con_mapping_of(r, x->service);
    bool named = x->client && (strcmp(x->client, "csv") == 0
                               || strcmp(x->client, "assisted") == 0);
    json_t *doc = NULL;
    struct record *oldrec = NULL, *newrec = NULL;
    char *newpayload = NULL, *newjson = NULL;
    struct buf diff, detail;
    buf_init(&diff, 0);
    buf_init(&detail, DETAIL_MAX);
    bool post = strcmp(r->method, "POST") == 0;
    bool confirm = post && con_arg(r, "confirm");
    const char *reason = con_arg(r, "reason");
    if (!m || !x->payload)
        goto not_editable;
    if (map_parse_json((const char *)x->payload, x->payload_len, &m->limits,
                       &doc, &e) != 0)
        goto not_editable;
    oldrec = x->record_json ? record_from_json(x->record_json, &e) : NULL;
    errs_clear(&e);
    size_t changed_inputs = 0;
    if (post) {
        for (size_t i = 0; i < m->nfields; i++) {
            const struct map_field *f = &m->fields[i];
            char key[80];
            snprintf(key, sizeof key, "v.%s", f->name);
            const char *v = con_arg(r, key);
            if (!editable(f) || !v || !*v)
                continue;              /* blank: keep what is stored */
            char why[256] = "";
            json_t *val = json_string(v);
            if (!val || (named ? json_object_set_new(doc, f->name, val)
                         : jpath_set(f->jp, doc, val, why, sizeof why)) != 0)
                errs_add(&e, f->name, "%s", why[0] ? why : "cannot set");
            changed_inputs++;
        }
        if (!e.n) {
            int mr = map_apply_payload(m, doc, named, &newrec, &e);
            if (mr != 0) {
                /* name problems by field, so the summary links to inputs */
                for (size_t i = 0; i < e.n; i++)
                    for (size_t k = 0; k < m->nfields; k++)
                        if (m->fields[k].path && strcmp(e.v[i].where,
                            m->fields[k].path) == 0) {
                            free(e.v[i].where);
                            e.v[i].where = strdup(m->fields[k].name);
                            if (!e.v[i].where)
                                e.v[i].where = strdup("");
                            break;
                        }
            }
        }
        if (!e.n && newrec) {
            struct record_diff d;
            if (record_diff(oldrec ? oldrec : newrec, newrec, &d) == 0) {
                for (size_t i = 0; i < d.n; i++) {
                    const struct record_change *c = &d.v[i];
                    const char *ot = c->old_text ? c->old_text : "(absent)";
                    const char *nt = c->new_text ? c->new_text : "(absent)";
                    buf_puts(&diff, "<tr><th scope=\"row\">");
                    con_esc(&diff, c->path);
                    buf_puts(&diff, "</th><td><del>");
                    con_esc(&diff, mask_text(ot, c->personal, false));
                    buf_puts(&diff, "</del></td><td><ins>");
                    con_esc(&diff, mask_text(nt, c->personal, false));
                    buf_puts(&diff, "</ins></td></tr>");
                    if (detail.len)
                        buf_puts(&detail, "; ");
                    if (c->personal)
                        buf_printf(&detail, "%s (personal, changed)", c->path);
                    else
                        buf_printf(&detail, "%s: '%.80s' -> '%.80s'", c->path,
                                   ot, nt);
                }
                if (!d.n)
                    errs_add(&e, "form", "Nothing changed in the mapped "
                             "record: change a value, or go back");
                record_diff_free(&d);
            }
        }
        if (!e.n && confirm && (!reason || !reason[strspn(reason, " ")]))
            errs_add(&e, "reason", "Enter a reason: it goes in the audit log");
        if (!e.n && confirm) {
            newpayload = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
            newjson = record_to_json(newrec);
            if (newpayload && newjson
                && spool_edit(r->con->sp, x->ref, newpayload,
                              strlen(newpayload), newjson, con_actor(r),
                              reason, buf_str(&detail), &e) == 0) {
                char **pairs = NULL;
                size_t np = 0;
                struct errs se;
                errs_init(&se);
                if (map_search_values(m, newrec, &pairs, &np) != 0
                    || spool_search_set(r->con->sp, x->ref, pairs, np,
                                        &se) != 0)
                    con_log_errs("console-search-index", &se);
                map_search_values_free(pairs, np);
                errs_free(&se);
                char banner[200];
                snprintf(banner, sizeof banner, "Fixed and requeued. What "
                         "changed: %.150s", buf_str(&detail));
                char refc[SPOOL_REF_MAX];
                snprintf(refc, sizeof refc, "%s", x->ref);
                json_decref(doc);
                record_free(oldrec);
                record_free(newrec);
                free(newpayload);
                free(newjson);
                buf_free(&diff);
                buf_free(&detail);
                spool_record_free(x);
                errs_free(&e);
                con_page_record(r, refc, false, banner);
                return;
            }
            if (!e.n)
                errs_add(&e, "form", "out of memory");
        }
    }
    con_begin(r, "Fix a record");
    if (post && e.n)
        r->status = 400;
    con_error_summary(r, &e);
    buf_puts(b, "<span class=\"govuk-hint\">");
    con_esc(b, x->ref);
    buf_puts(b, "</span><h1 class=\"govuk-heading-l\">Fix and requeue</h1>");
    if (x->last_error) {
        buf_puts(b, "<div class=\"govuk-inset-text\">Why it stopped: ");
        con_esc(b, x->last_error);
        buf_puts(b, "</div>");
    }
    if (post && !e.n && diff.len) {
        buf_puts(b, "<table class=\"govuk-table ferry-diff\"><caption>Check "
                    "the change</caption><thead><tr><th scope=\"col\">Field"
                    "</th><th scope=\"col\">Now</th><th scope=\"col\">After"
                    "</th></tr></thead><tbody>");
        buf_append(b, diff.data, diff.len);
        buf_puts(b, "</tbody></table><p class=\"govuk-body\">Personal values "
                    "show as ***. The submission was checked again against "
                    "the service's mapping: it is valid.</p>");
    }
    buf_puts(b, "<form method=\"post\" action=\"/edit\" novalidate>");
    con_csrf(r);
    buf_puts(b, "<input type=\"hidden\" name=\"ref\" value=\"");
    con_esc(b, x->ref);
    buf_puts(b, "\">");
    for (size_t i = 0; i < m->nfields; i++) {
        const struct map_field *f = &m->fields[i];
        if (!editable(f))
            continue;
        char key[80], hint[200];
        snprintf(key, sizeof key, "v.%s", f->name);
        const char *err = NULL;
        for (size_t k = 0; k < e.n && !err; k++)
            if (strcmp(e.v[k].where, f->name) == 0)
                err = e.v[k].plain ? e.v[k].plain : e.v[k].msg;
        const struct fvalue *cur = oldrec ? record_get(oldrec, f->name)
                                          : NULL;
        const char *curtext = cur && cur->present ? cur->text : NULL;
        if (f->personal)
            snprintf(hint, sizeof hint, "Personal: now %s. Leave blank to "
                     "keep it.", curtext ? "***" : "absent");
        else
            snprintf(hint, sizeof hint, "Now: %.150s. Leave blank to keep it.",
                     curtext ? curtext : "(absent)");
        /* the id is f-NAME so the error summary's links land here */
        struct buf *ob = b;
        buf_printf(ob, "<div class=\"govuk-form-group%s\"><label class=\""
                   "govuk-label\" for=\"f-%s\">%s</label><div class=\""
                   "govuk-hint\" id=\"f-%s-hint\">", err ? " "
                   "govuk-form-group--error" : "", f->name, f->name, f->name);
        con_esc(ob, hint);
        buf_puts(ob, "</div>");
        if (err) {
            buf_puts(ob, "<p class=\"govuk-error-message\">");
            con_esc(ob, err);
            buf_puts(ob, "</p>");
        }
        buf_printf(ob, "<input class=\"govuk-input\" type=\"text\" id=\"f-%s\""
                   " name=\"%s\" aria-describedby=\"f-%s-hint\" "
                   "autocomplete=\"off\" value=\"", f->name, key, f->name);
        con_esc(ob, post ? con_arg(r, key) : NULL);
        buf_puts(ob, "\"></div>");
    }
    if (post && !e.n && diff.len) {
        con_reason_input(b, "f-reason", "Reason for the change (recorded in the "
                     "audit log)");
        buf_puts(b, "<input type=\"hidden\" name=\"confirm\" value=\"1\">"
                    "<button type=\"submit\" class=\"govuk-button\">Confirm "
                    "and requeue</button>");
    } else {
        buf_puts(b, "<button type=\"submit\" class=\"govuk-button\">Check the "
                    "change</button>");
    }
    buf_puts(b, "</form>");
    (void)changed_inputs;
    goto done;
not_editable:
    con_begin(r, "Fix a record");
    buf_puts(b, "<h1 class=\"govuk-heading-l\">This record cannot be fixed "
                "here</h1><p class=\"govuk-body\">Its submission or mapping "
                "is not available. Use <code>ferry edit</code>.</p>");
done:
    con_end(r);
    json_decref(doc);
    record_free(oldrec);
    record_free(newrec);
    free(newpayload);
    free(newjson);
    buf_free(&diff);
    buf_free(&detail);
    spool_record_free(x);
    errs_free(&e);
}

