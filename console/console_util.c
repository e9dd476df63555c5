/* console_util.c - the small pieces every console page shares: form
 * arguments, logging a problem list, a record state's tag, the required
 * reason input, a service's mapping, and one action on one record with the
 * role it needs.  A leaf of console/: the router (console_http.c) and the
 * pages (console_pages.c, console_record.c, console_form.c) stand on it,
 * so they never call each other in a circle. */
#include "console/console_int.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/log.h"

#include <stdbool.h>
#include <string.h>

void con_log_errs(const char *event, const struct errs *e)
{
    for (size_t i = 0; e && i < e->n; i++)
        log_event(LOG_ERROR, event, "where", e->v[i].where, "problem",
                  e->v[i].msg, NULL);
}

const char *con_arg(const struct creq *r, const char *name)
{
    return con_arg_nth(r, name, 0);
}

const char *con_arg_nth(const struct creq *r, const char *name, size_t i)
{
    for (size_t k = 0; k < r->nargs; k++)
        if (strcmp(r->args[k].name, name) == 0 && i-- == 0)
            return r->args[k].value;
    return NULL;
}

const struct mapping *con_mapping_of(const struct creq *r,
                                        const char *service)
{
    const struct service_config *sv = config_service(r->con->cfg, service);
    return sv ? sv->mapping : NULL;
}

static const char *tag_class(enum spool_state st)
{
    switch (st) {
    case SPOOL_FAILED: case SPOOL_REJECTED: case SPOOL_DISCARDED:
        return "govuk-tag govuk-tag--red";
    case SPOOL_HELD: case SPOOL_INDOUBT: case SPOOL_DEFERRED:
        return "govuk-tag govuk-tag--yellow";
    case SPOOL_CONFIRMED: case SPOOL_DELIVERED: case SPOOL_SENT:
        return "govuk-tag";
    default:
        return "govuk-tag govuk-tag--grey";
    }
}

void con_state_tag(struct buf *b, int state)
{
    enum spool_state st = (enum spool_state)state;
    buf_printf(b, "<strong class=\"%s\">%s</strong>", tag_class(st),
               spool_state_name(st));
}

/* reason_input - the required reason of an action */
void con_reason_input(struct buf *b, const char *id, const char *label)
{
    buf_printf(b, "<div class=\"govuk-form-group\"><label class=\"govuk-label"
               "\" for=\"%s\">%s</label><input class=\"govuk-input\" "
               "type=\"text\" id=\"%s\" name=\"reason\" autocomplete=\"off\">"
               "</div>", id, label, id);
}

/* apply_action - one action on one record; 0 ok, -1 with e filled */
int con_apply_action(struct creq *r, const char *ref, const char *target,
                     const char *action, const char *reason, struct errs *e)
{
    if (target && !*target)
        target = NULL;
    struct spool *sp = r->con->sp;
    const char *who = con_actor(r);
    if (strcmp(action, "retry") == 0)
        return spool_retry(sp, ref, target, who, reason, e);
    if (strcmp(action, "hold") == 0)
        return spool_hold(sp, ref, target, who, reason, e);
    if (strcmp(action, "release") == 0)
        return spool_release(sp, ref, target, who, reason, e);
    if (strcmp(action, "discard") == 0)
        return spool_discard(sp, ref, target, who, reason, e);
    if (strcmp(action, "settle-resend") == 0)
        return spool_retry(sp, ref, target, who, reason, e);
    if (strcmp(action, "settle-delivered") == 0) {
        /* an ack would also confirm a sent or delivered record: settle
         * is for records in doubt only */
        struct spool_record *cur = NULL;
        int g = spool_get_delivery(sp, ref, target, 0, &cur, e);
        bool indoubt = g == 0 && cur->state == SPOOL_INDOUBT;
        char cur_target[128] = "";
        if (g == 0)
            snprintf(cur_target, sizeof cur_target, "%s", cur->target);
        spool_record_free(cur);
        if (g != 0 || !indoubt) {
            if (g != -1)
                errs_add(e, ref, "only a record in doubt can be settled");
            return -1;
        }
        struct spool_ack ack = { .key = ref, .accepted = true,
                                 .reason = reason,
                                 .target = cur_target[0] ? cur_target : NULL };
        enum spool_ack_result res = SPOOL_ACK_APPLIED;
        if (spool_ack_apply(sp, NULL, NULL, &ack, 1, &res, NULL, who,
                            reason, e) != 0)
            return -1;
        if (res != SPOOL_ACK_APPLIED) {
            errs_add(e, ref, "only a record in doubt can be settled");
            return -1;
        }
        /* the ack's own entry names no record: say which one, and why */
        return spool_audit_add(sp, who, "settle", ref, reason,
                               "delivered (confirmed)", e);
    }
    errs_add(e, "action", "unknown action");
    return -1;
}

/* needed_role - the role an action needs */
enum console_role con_needed_role(const char *action)
{
    if (strcmp(action, "discard") == 0 || strncmp(action, "settle", 6) == 0)
        return CONSOLE_SUPERVISOR;
    return CONSOLE_SUPPORT;
}

