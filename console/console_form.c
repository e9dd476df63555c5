/* console_form.c - assisted digital: a service's form built from its
 * mapping, keyed in by staff for a citizen on the phone or at a counter.
 *
 * One input per accepted top-level field (a list field is not offered:
 * its rows need the API or `ferry import`), labelled with the field name,
 * a hint from its type, format, length and pattern, a select for an enum
 * (its code table's values).  The answers go through map_apply_named, the
 * same checks as `ferry import` and the HTTP intake; problems come back
 * as a GOV.UK error summary linked to the inputs.  An accepted record is
 * stored with client "assisted" and its search entries, and an audit
 * entry names the staff member; the confirmation page gives the
 * reference to read back to the citizen. */
#include "console/console_int.h"
#include "adapters/admit.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_MAX_FIELDS 128

static bool offered(const struct map_field *f)
{
    return f->type != FT_LIST;
}

static const char *type_hint(const struct map_field *f, char *out,
                             size_t outsz)
{
    switch (f->type) {
    case FT_DATE:
        snprintf(out, outsz, "A date, as %s", f->format ? f->format
                                                       : "YYYY-MM-DD");
        break;
    case FT_DATETIME:
        snprintf(out, outsz, "A date and time, for example "
                 "2026-11-27T09:00:00Z");
        break;
    case FT_DECIMAL:
        snprintf(out, outsz, "A number with up to %d decimal places%s%s%s%s",
                 f->scale, f->min ? ", from " : "", f->min ? f->min : "",
                 f->max ? " to " : "", f->max ? f->max : "");
        break;
    case FT_INTEGER:
        snprintf(out, outsz, "A whole number");
        break;
    case FT_BOOLEAN:
        snprintf(out, outsz, "yes or no");
        break;
    default:
        if (f->max_len > 0)
            snprintf(out, outsz, "Up to %ld characters", f->max_len);
        else
            out[0] = '\0';
    }
    return out[0] ? out : NULL;
}

static const struct service_config *pick(struct creq *r)
{
    const char *s = con_arg(r, "service");
    const struct ferry_config *cfg = r->con->cfg;
    if (s)
        return config_service(cfg, s);
    return NULL;
}

/* form - the service's form with the values given and e's problems */
static void form(struct creq *r, const struct service_config *sv,
                 const struct errs *e)
{
    struct buf *b = &r->out;
    const struct mapping *m = sv->mapping;
    con_begin(r, sv->name);
    con_error_summary(r, e);
    buf_puts(b, "<span class=\"govuk-hint\">Assisted digital</span><h1 "
                "class=\"govuk-heading-l\">");
    con_esc(b, sv->name);
    buf_puts(b, "</h1><p class=\"govuk-body\">Key in the citizen's answers "
                "as they give them. Fields marked (optional) can be left "
                "blank.</p><form method=\"post\" action=\"/assisted\" "
                "novalidate>");
    con_csrf(r);
    buf_puts(b, "<input type=\"hidden\" name=\"service\" value=\"");
    con_esc(b, sv->name);
    buf_puts(b, "\">");
    for (size_t i = 0; i < m->nfields; i++) {
        const struct map_field *f = &m->fields[i];
        if (!offered(f))
            continue;
        const char *err = NULL;
        for (size_t k = 0; e && k < e->n && !err; k++)
            if (strcmp(e->v[k].where, f->name) == 0)
                err = e->v[k].plain ? e->v[k].plain : e->v[k].msg;
        char hint[200];
        const char *h = type_hint(f, hint, sizeof hint);
        const char *val = con_arg(r, f->name);
        buf_printf(b, "<div class=\"govuk-form-group%s\"><label class=\""
                   "govuk-label\" for=\"f-%s\">%s%s</label>",
                   err ? " govuk-form-group--error" : "", f->name, f->name,
                   f->required ? "" : " (optional)");
        if (h) {
            buf_printf(b, "<div class=\"govuk-hint\" id=\"f-%s-hint\">",
                       f->name);
            con_esc(b, h);
            buf_puts(b, "</div>");
        }
        if (err) {
            buf_puts(b, "<p class=\"govuk-error-message\"><span class=\""
                        "govuk-visually-hidden\">Error:</span> ");
            con_esc(b, err);
            buf_puts(b, "</p>");
        }
        if (f->type == FT_ENUM) {
            buf_printf(b, "<select class=\"govuk-select\" id=\"f-%s\" name="
                       "\"%s\"><option value=\"\">Choose</option>", f->name,
                       f->name);
            for (size_t k = 0; k < f->ncodes; k++) {
                buf_puts(b, "<option value=\"");
                con_esc(b, f->codes[k].value);
                buf_printf(b, "\"%s>", val && strcmp(val, f->codes[k].value)
                                       == 0 ? " selected" : "");
                con_esc(b, f->codes[k].value);
                buf_puts(b, "</option>");
            }
            buf_puts(b, "</select></div>");
            continue;
        }
        buf_printf(b, "<input class=\"govuk-input%s\" type=\"text\" id=\"f-%s"
                   "\" name=\"%s\" autocomplete=\"off\"", err
                   ? " govuk-input--error" : "", f->name, f->name);
        if (h)
            buf_printf(b, " aria-describedby=\"f-%s-hint\"", f->name);
        buf_puts(b, " value=\"");
        con_esc(b, val);
        buf_puts(b, "\"></div>");
    }
    buf_puts(b, "<button type=\"submit\" class=\"govuk-button\">Submit for "
                "the citizen</button></form>");
    con_end(r);
}

void con_page_assisted(struct creq *r)
{
    if (!con_role_at_least(r, CONSOLE_SUPPORT, "Keying in a form"))
        return;
    const struct service_config *sv = pick(r);
    if (sv && sv->mapping) {
        form(r, sv, NULL);
        return;
    }
    struct buf *b = &r->out;
    con_begin(r, "Assisted digital");
    buf_puts(b, "<h1 class=\"govuk-heading-l\">Key in a form for a citizen"
                "</h1><p class=\"govuk-body\">Choose the service.</p><ul>");
    const struct ferry_config *cfg = r->con->cfg;
    for (size_t i = 0; i < cfg->nservices; i++) {
        if (!cfg->services[i].mapping)
            continue;
        buf_puts(b, "<li><a class=\"govuk-link\" href=\"/assisted?service=");
        con_esc(b, cfg->services[i].name);
        buf_puts(b, "\">");
        con_esc(b, cfg->services[i].name);
        buf_puts(b, "</a></li>");
    }
    buf_puts(b, "</ul>");
    con_end(r);
}

void con_do_assisted(struct creq *r)
{
    if (!con_role_at_least(r, CONSOLE_SUPPORT, "Keying in a form"))
        return;
    const struct service_config *sv = pick(r);
    if (!sv || !sv->mapping) {
        con_page_not_found(r);
        return;
    }
    const struct mapping *m = sv->mapping;
    const char *names[FORM_MAX_FIELDS], *vals[FORM_MAX_FIELDS];
    size_t n = 0;
    json_t *row = json_object();
    for (size_t i = 0; i < m->nfields && n < FORM_MAX_FIELDS; i++) {
        const struct map_field *f = &m->fields[i];
        if (!offered(f))
            continue;
        const char *v = con_arg(r, f->name);
        names[n] = f->name;
        vals[n++] = v && *v ? v : NULL;
        json_object_set_new(row, f->name, json_string(v ? v : ""));
    }
    struct errs e;
    errs_init(&e);
    struct record *rec = NULL;
    char *payload = NULL, *rj = NULL, **pairs = NULL;
    size_t np = 0;
    if (map_apply_named(m, names, vals, n, &rec, &e) != 0) {
        r->status = 400;
        struct errs door;
        errs_init(&door);
        if (spool_count_rejected_at_door(r->con->sp, sv->name, 1, &door) != 0)
            con_log_errs("console-count", &door);
        errs_free(&door);
        form(r, sv, &e);
        goto out;
    }
    /* as at every door: nothing accepted that one of the service's
     * targets could not encode (adapters/admit.h) */
    struct adapter_admit *adm = adapter_admit_new(r->con->cfg, sv, &e);
    bool made = adm != NULL;
    bool bad = !made || adapter_admit_check(adm, rec, &e) != 0;
    adapter_admit_free(adm);
    if (bad) {
        r->status = made ? 400 : 500;
        struct errs door;
        errs_init(&door);
        if (made && spool_count_rejected_at_door(r->con->sp, sv->name, 1,
                                                &door) != 0)
            con_log_errs("console-count", &door);
        errs_free(&door);
        form(r, sv, &e);
        goto out;
    }
    payload = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
    rj = record_to_json(rec);
    if (!payload || !rj || map_search_values(m, rec, &pairs, &np) != 0) {
        errs_add(&e, "form", "out of memory");
        r->status = 500;
        form(r, sv, &e);
        goto out;
    }
    const char *fe = NULL;
    if (m->idempotency_field) {
        const struct fvalue *v = record_get(rec, m->idempotency_field);
        if (v && v->present)
            fe = v->text;
    }
    struct spool_item it = {
        .service = sv->name, .target = config_service_target(sv),
        /* one delivery per target of the service */
        .targets = sv->targets, .ntargets = sv->ntargets,
        .client = "assisted", .channel = SPOOL_CH_ASSISTED,
        .fe_ref = fe, .idem_key = fe,
        .payload = payload, .payload_len = strlen(payload),
        .record_json = rj, .search = pairs, .nsearch = np };
    struct spool_result res;
    if (spool_enqueue(r->con->sp, &it, 1, &res, &e) != 0) {
        r->status = 503;
        con_log_errs("console-enqueue", &e);
        errs_clear(&e);
        errs_add(&e, "form", "The record could not be stored. Nothing was "
                 "kept: try again, or tell the operator");
        form(r, sv, &e);
        goto out;
    }
    char detail[160];
    snprintf(detail, sizeof detail, "service=%s channel=assisted%s",
             sv->name, res.duplicate ? " duplicate" : "");
    struct errs ae;
    errs_init(&ae);
    if (spool_audit_add(r->con->sp, con_actor(r), "assisted-intake", res.ref,
                        NULL, detail, &ae) != 0)
        con_log_errs("console-audit", &ae);
    errs_free(&ae);
    struct buf *b = &r->out;
    con_begin(r, "Form submitted");
    buf_puts(b, "<div class=\"govuk-panel govuk-panel--confirmation\"><h1 "
                "class=\"govuk-panel__title\">");
    buf_puts(b, res.duplicate ? "Already received" : "Form submitted");
    buf_puts(b, "</h1><div class=\"govuk-panel__body\">Reference<br><strong "
                "id=\"reference\">");
    con_esc(b, res.ref);
    buf_puts(b, "</strong></div></div><p class=\"govuk-body\">Read the "
                "reference back to the citizen.");
    if (res.duplicate)
        buf_puts(b, " This submission was received before: the reference "
                    "is the one it was given then.");
    buf_puts(b, "</p><p class=\"govuk-body\"><a href=\"/assisted?service=");
    con_esc(b, sv->name);
    buf_puts(b, "\">Key in another form</a> or <a href=\"/record?ref=");
    con_esc(b, res.ref);
    buf_puts(b, "\">see the record</a>.</p>");
    con_end(r);
out:
    map_search_values_free(pairs, np);
    record_free(rec);
    if (payload)
        explicit_bzero(payload, strlen(payload));
    free(payload);
    free(rj);
    json_decref(row);
    errs_free(&e);
}
