/* cmd_show.c - `ferry show REF`: a record's whole story for support
 * staff: where it is now, the submission as received (fields the mapping
 * marks personal, and every value it does not read, masked unless
 * --reveal: mappings/mask.c decides), what it was mapped to, every
 * delivery attempt and every audited action. */
#include "cli/cli.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/mask.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry show [--config FILE] [--spool DIR] [--json]\n"
        "                  [--reveal --reason TEXT] [--actor NAME] REF\n"
        "\n"
        "Show a record: state, attempts, receipt, the payload, the mapped\n"
        "fields, every delivery attempt and every audit entry.  A record of a\n"
        "service with several targets shows its overall state and each\n"
        "delivery (target, state, attempts, receipt, delivery id).  Unless\n"
        "--reveal, personal fields (list sub-fields too) and every payload\n"
        "value the mapping does not read show as ***.  --reveal needs\n"
        "--reason: each reveal is an audit entry (who, which record, when,\n"
        "why) written before anything is shown.  Exit 64 --reveal without\n"
        "--reason, 67 when there is no such record, 74 when the reveal\n"
        "cannot be audited (nothing is shown).\n");
}

/* payload_json - the submission as received, for display: only the values
 * mapped non-personal fields read, unless reveal (mask_payload) */
static json_t *payload_json(const struct spool_record *r,
                            const struct mapping *m, bool reveal)
{
    if (!r->payload)
        return NULL;
    json_error_t err;
    json_t *doc = json_loadb((const char *)r->payload, r->payload_len, 0, &err);
    if (!doc && !reveal)    /* cannot be masked field by field */
        return json_string("(hidden: the payload is not JSON, so personal "
                           "fields cannot be masked; use --reveal)");
    if (!doc)
        return json_stringn((const char *)r->payload, r->payload_len);
    bool named = r->client && strcmp(r->client, "csv") == 0;
    json_t *shown = mask_payload(doc, m, named, reveal);
    json_decref(doc);
    return shown;
}

/* mapped_json - the typed record, personal fields masked unless reveal */
static json_t *mapped_json(const struct spool_record *r, bool reveal)
{
    if (!r->record_json)
        return NULL;
    struct errs e;
    errs_init(&e);
    struct record *rec = record_from_json(r->record_json, &e);
    errs_free(&e);
    json_t *o = rec ? mask_record(rec, reveal) : NULL;
    record_free(rec);
    return o;
}

/* event_text - one timeline event in words (after its time and name) */
static void event_text(const struct spool_event *ev, bool multi, char *out,
                       size_t n)
{
    const char *msg = ev->message ? ev->message : "";
    switch (ev->kind) {
    case SPOOL_EV_RECEIVED:
        snprintf(out, n, "from client %s, channel %s, for %s",
                 ev->client ? ev->client : "-",
                 ev->channel ? ev->channel : "-",
                 ev->target && *ev->target ? ev->target : "-");
        break;
    case SPOOL_EV_ATTEMPT:
        snprintf(out, n, "%s: %s%s%s", ev->target ? ev->target : "-",
                 ev->outcome ? ev->outcome : "-", *msg ? ": " : "", msg);
        break;
    case SPOOL_EV_BATCHED:
        snprintf(out, n, "into batch %lld of %s", (long long)ev->batch_id,
                 ev->target ? ev->target : "-");
        break;
    case SPOOL_EV_FILE_WRITTEN:
    case SPOOL_EV_SENT:
        snprintf(out, n, "batch %lld, file %s", (long long)ev->batch_id,
                 ev->file ? ev->file : "-");
        break;
    case SPOOL_EV_ACK:
        /* which target's delivery it moved, when there are several */
        if (multi && ev->target && *ev->target) {
            size_t l = strlen(ev->target);
            snprintf(out, n, "%s: ", ev->target);
            if (l + 2 < n) {
                out += l + 2;
                n -= l + 2;
            }
        }
        if (ev->record_no)
            snprintf(out, n, "%s by %s, record %ld%s%s",
                     ev->outcome ? ev->outcome : "-",
                     ev->file ? ev->file : "a query of the target",
                     ev->record_no, *msg ? ": " : "", msg);
        else
            snprintf(out, n, "%s by %s%s%s", ev->outcome ? ev->outcome : "-",
                     ev->file ? ev->file : "a query of the target",
                     *msg ? ": " : "", msg);
        break;
    case SPOOL_EV_ACTION:
        if (ev->target && *ev->target) {
            size_t l = strlen(ev->target);
            snprintf(out, n, "%s: ", ev->target);
            if (l + 2 < n) {
                out += l + 2;
                n -= l + 2;
            }
        }
        snprintf(out, n, "by %s%s%s%s%s%s%s", ev->actor ? ev->actor : "-",
                 *msg ? ": " : "", msg,
                 ev->before && *ev->before ? " (" : "",
                 ev->before && *ev->before ? ev->before : "",
                 ev->before && *ev->before ? " -> " : "",
                 ev->before && *ev->before ? ev->after : "");
        if (ev->before && *ev->before) {
            size_t l = strlen(out);
            if (l + 1 < n)
                snprintf(out + l, n - l, ")");
        }
        break;
    }
}

/* overall - the record's overall state from its deliveries */
static const char *overall(const struct spool_list *dl)
{
    enum spool_state st[64];
    size_t n = 0;
    for (size_t i = 0; i < dl->n && n < 64; i++)
        st[n++] = dl->v[i]->state;
    return spool_overall_name(spool_overall_of(st, n));
}

/* print_deliveries - one block per delivery of a record with several */
static void print_deliveries(const struct spool_list *dl)
{
    printf("state:         %s (overall, from %zu deliveries)\n",
           overall(dl), dl->n);
    printf("deliveries:\n");
    for (size_t i = 0; i < dl->n; i++) {
        const struct spool_record *d = dl->v[i];
        printf("  %-12s %-10s attempts %d%s%s%s\n", d->target,
               spool_state_name(d->state), d->attempts,
               d->in_doubt ? " (last delivery in doubt)" : "",
               d->receipt ? ", receipt " : "", d->receipt ? d->receipt : "");
        printf("  %-12s delivery id %s", "", d->delivery_id ? d->delivery_id
                                                            : "-");
        if (d->batch_id)
            printf(", batch %lld", (long long)d->batch_id);
        printf("\n");
        if (d->last_error)
            printf("  %-12s last error: %s\n", "", d->last_error);
        if (d->closed_reason)
            printf("  %-12s closed: %s\n", "", d->closed_reason);
    }
}

static void print_text(const struct spool_record *r,
                       const struct spool_list *dl, json_t *payload,
                       json_t *mapped, const struct spool_timeline *tl)
{
    char t1[32], t2[32], t3[32];
    cli_fmt_time(r->received_at, t1, sizeof t1);
    cli_fmt_time(r->updated_at, t2, sizeof t2);
    cli_fmt_time(r->next_attempt_at, t3, sizeof t3);
    printf("reference:     %s\n", r->ref);
    if (dl->n > 1) {
        printf("service:       %s\n", r->service);
        printf("client:        %s\n", r->client ? r->client : "-");
        printf("channel:       %s\n", spool_channel_name(r->channel));
        printf("front-end ref: %s\n", r->fe_ref ? r->fe_ref : "-");
        printf("received:      %s UTC\n", t1);
        print_deliveries(dl);
        goto rest;
    }
    printf("delivery id:   %s\n", r->delivery_id ? r->delivery_id : "-");
    printf("state:         %s%s\n", spool_state_name(r->state),
           r->in_doubt ? " (last delivery in doubt)" : "");
    printf("service:       %s\n", r->service);
    printf("target:        %s\n", r->target ? r->target : "-");
    printf("client:        %s\n", r->client ? r->client : "-");
    printf("channel:       %s\n", spool_channel_name(r->channel));
    printf("front-end ref: %s\n", r->fe_ref ? r->fe_ref : "-");
    printf("received:      %s UTC\n", t1);
    printf("last change:   %s UTC\n", t2);
    if (r->confirmed_at) {
        cli_fmt_time(r->confirmed_at, t3, sizeof t3);
        printf("confirmed:     %s UTC\n", t3);
    }
    printf("attempts:      %d\n", r->attempts);
    if (r->next_attempt_at)
        printf("next attempt:  %s UTC\n", t3);
    if (r->last_error)
        printf("last error:    %s\n", r->last_error);
    if (r->batch_id)
        printf("batch:         %lld\n", (long long)r->batch_id);
    if (r->receipt)
        printf("receipt:       %s\n", r->receipt);
    if (r->receipt_data) {
        json_t *rd = json_loads(r->receipt_data, 0, NULL);
        if (json_is_object(rd)) {
            const char *k;
            json_t *v;
            printf("receipt data: ");
            json_object_foreach(rd, k, v)
                printf(" %s=%s", k, json_is_string(v) ? json_string_value(v)
                                                       : "?");
            printf("\n");
        }
        json_decref(rd);
    }
    if (r->missing_at) {
        char tm[32];
        cli_fmt_time(r->missing_at, tm, sizeof tm);
        printf("missing:       reconcile found it missing at the target, "
               "%s UTC (a requeue writes it anew)\n", tm);
    }
    if (r->marker_gen > 0)
        printf("written anew:  %d time(s) after being found missing (marker "
               "generation %d)\n", r->marker_gen, r->marker_gen);
    if (r->closed_reason)
        printf("closed:        %s\n", r->closed_reason);
rest:
    if (r->crypt_error)
        printf("PAYLOAD UNREADABLE: %s\n", r->crypt_error);
    if (r->payload_purged)
        printf("payload:       purged under the retention rule\n");
    if (payload) {
        char *s = json_dumps(payload, JSON_INDENT(2));
        printf("\npayload (as received%s):\n%s\n",
               r->original ? ", after edit" : "", s ? s : "");
        free(s);
    }
    if (mapped) {
        char *s = json_dumps(mapped, JSON_INDENT(2));
        printf("\nmapped fields:\n%s\n", s ? s : "");
        free(s);
    }
    printf("\ntimeline (UTC):\n");
    if (!tl->n)
        printf("  (nothing yet)\n");
    for (size_t i = 0; i < tl->n; i++) {
        char line[1024];
        event_text(&tl->v[i], dl->n > 1, line, sizeof line);
        cli_fmt_time(tl->v[i].at, t1, sizeof t1);
        printf("  %s  %-9s %s\n", t1, tl->v[i].what, line);
    }
}

static const char *const event_kinds[] = {
    [SPOOL_EV_RECEIVED] = "received", [SPOOL_EV_ATTEMPT] = "attempt",
    [SPOOL_EV_BATCHED] = "batched", [SPOOL_EV_FILE_WRITTEN] = "written",
    [SPOOL_EV_SENT] = "sent", [SPOOL_EV_ACK] = "ack",
    [SPOOL_EV_ACTION] = "action",
};

/* timeline_json - the events as [{"at","kind","what",...}] */
static json_t *timeline_json(const struct spool_timeline *tl)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < tl->n; i++) {
        const struct spool_event *ev = &tl->v[i];
        char t[32];
        cli_json_time(ev->at, t, sizeof t);
        json_t *o = json_pack("{s:s?,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,"
                              "s:s?,s:s?,s:s?}",
            "at", t, "kind", event_kinds[ev->kind], "what", ev->what,
            "actor", ev->actor, "client", ev->client, "channel", ev->channel,
            "target", ev->target, "outcome", ev->outcome, "message",
            ev->message, "file", ev->file, "before", ev->before, "after",
            ev->after);
        if (o && ev->batch_id)
            json_object_set_new(o, "batch", json_integer(ev->batch_id));
        if (o && ev->record_no)
            json_object_set_new(o, "record_in_file",
                                json_integer(ev->record_no));
        json_array_append_new(a, o);
    }
    return a;
}

/* deliveries_json - [{"target","state","attempts",...}] */
static json_t *deliveries_json(const struct spool_list *dl)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < dl->n; i++) {
        const struct spool_record *d = dl->v[i];
        char t[32];
        cli_json_time(d->updated_at, t, sizeof t);
        json_t *o = json_pack("{s:s,s:s,s:i,s:b,s:s?,s:s?,s:s?,s:s?,s:s}",
            "target", d->target, "state", spool_state_name(d->state),
            "attempts", d->attempts, "in_doubt", d->in_doubt,
            "receipt", d->receipt, "delivery_id", d->delivery_id,
            "last_error", d->last_error, "closed_reason", d->closed_reason,
            "updated_at", t);
        if (o && d->batch_id)
            json_object_set_new(o, "batch", json_integer(d->batch_id));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *as_json(const struct spool_record *r,
                       const struct spool_list *dl, json_t *payload,
                       json_t *mapped, const struct spool_timeline *tl)
{
    char t1[32], t2[32];
    cli_json_time(r->received_at, t1, sizeof t1);
    cli_json_time(r->updated_at, t2, sizeof t2);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s,s:s,s:i,s:b,"
                          "s:s?,s:s?,s:s?,s:s?}",
        "reference", r->ref, "state", spool_state_name(r->state),
        "service", r->service, "target", r->target, "client", r->client,
        "frontend_reference", r->fe_ref, "received_at", t1, "updated_at", t2,
        "attempts", r->attempts, "in_doubt", r->in_doubt,
        "last_error", r->last_error, "receipt", r->receipt,
        "closed_reason", r->closed_reason, "payload_error", r->crypt_error);
    json_object_set_new(o, "channel",
                        json_string(spool_channel_name(r->channel)));
    if (r->confirmed_at) {
        cli_fmt_time(r->confirmed_at, t1, sizeof t1);
        json_object_set_new(o, "confirmed_at", json_string(t1));
    }
    if (r->delivery_id)
        json_object_set_new(o, "delivery_id", json_string(r->delivery_id));
    if (r->missing_at) {
        cli_json_time(r->missing_at, t1, sizeof t1);
        json_object_set_new(o, "missing_at", json_string(t1));
    }
    json_object_set_new(o, "marker_generation",
                        json_integer(r->marker_gen));
    if (r->receipt_data) {
        json_t *rd = json_loads(r->receipt_data, 0, NULL);
        if (json_is_object(rd))
            json_object_set_new(o, "receipt_data", rd);
        else
            json_decref(rd);
    }
    if (r->batch_id)
        json_object_set_new(o, "batch", json_integer(r->batch_id));
    if (payload)
        json_object_set(o, "payload", payload);
    if (mapped)
        json_object_set(o, "mapped", mapped);
    json_t *att = json_array();
    for (size_t i = 0; i < r->natt; i++) {
        cli_json_time(r->att[i].started_at, t1, sizeof t1);
        json_array_append_new(att, json_pack("{s:s,s:s?,s:s?,s:s?}",
            "at", t1, "target", r->att[i].target, "outcome", r->att[i].outcome,
            "message", r->att[i].message));
    }
    json_object_set_new(o, "attempts_log", att);
    json_t *aud = json_array();
    for (size_t i = 0; i < r->naud; i++) {
        cli_json_time(r->aud[i].at, t1, sizeof t1);
        json_array_append_new(aud, json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:s?}",
            "at", t1, "actor", r->aud[i].actor, "action", r->aud[i].action,
            "before", r->aud[i].before, "after", r->aud[i].after,
            "reason", r->aud[i].reason));
    }
    json_object_set_new(o, "audit", aud);
    json_object_set_new(o, "timeline", timeline_json(tl));
    /* every delivery (one per target); with several, "state" is the
     * record's overall state and the per-delivery fields above are the
     * first delivery's */
    json_object_set_new(o, "deliveries", deliveries_json(dl));
    if (dl->n > 1) {
        json_object_set_new(o, "state", json_string(overall(dl)));
        json_object_set_new(o, "first_delivery_state",
                            json_string(spool_state_name(r->state)));
    }
    return o;
}

int cmd_show(int argc, char **argv)
{
    struct cli_common c = { 0 };
    bool reveal = false;
    const char *reason = NULL;
    static const struct option opts[] = {
        { "reveal", no_argument, NULL, 'r' },
        { "reason", required_argument, NULL, 'R' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        if (o == 'r') {
            reveal = true;
        } else if (o == 'R') {
            reason = optarg;
        } else if (o == 'h' || o == CLI_OPT_HELP) {
            usage(stdout);
            return EX_OK;
        } else {
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (argc - optind != 1) {
        cli_args_msg(argc - optind, 1, 1, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    if (reveal && (!reason || !*reason)) {
        fprintf(stderr, "ferry show: --reveal needs --reason TEXT (why you "
                        "look at this person's data; it is audited)\n");
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    struct spool_record *r = NULL;
    int rc = cli_load_config(&c, &cfg);
    if (rc && !c.spool)
        return rc;
    rc = cli_open_spool(&c, cfg, &sp);
    if (rc)
        goto out;
    struct errs e;
    errs_init(&e);
    int g = spool_get(sp, argv[optind], SPOOL_WITH_PAYLOAD | SPOOL_WITH_HISTORY,
                      &r, &e);
    if (g != 0) {
        if (g == 1)
            fprintf(stderr, "ferry show: %s: no such record in this spool; "
                    "references look like FRY-20261127-000123 (find it with "
                    "'ferry queue --service S --since 24h')\n", argv[optind]);
        else
            cli_print_errs(stderr, &e);
        errs_free(&e);
        rc = g == 1 ? EX_NOUSER : EX_IOERR;
        goto out;
    }
    if (reveal && spool_audit_reveal(sp, cli_actor(&c), r->ref, reason,
                                     "show", &e) != 0) {
        cli_print_errs(stderr, &e);
        fprintf(stderr, "ferry show: %s: the reveal cannot be audited, so "
                        "nothing is shown\n", r->ref);
        errs_free(&e);
        rc = EX_IOERR;
        goto out;
    }
    errs_free(&e);
    const struct service_config *svc = cfg ? config_service(cfg, r->service) : NULL;
    struct spool_timeline tl = { NULL, 0 };
    if (spool_timeline(sp, r->ref, &tl, &e) != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        rc = EX_IOERR;
        goto out;
    }
    errs_free(&e);
    struct spool_list dl = { 0 };
    if (spool_deliveries(sp, r->ref, 0, &dl, &e) < 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        spool_timeline_free(&tl);
        rc = EX_IOERR;
        goto out;
    }
    errs_free(&e);
    json_t *payload = payload_json(r, svc ? svc->mapping : NULL, reveal);
    json_t *mapped = mapped_json(r, reveal);
    if (c.json) {
        json_t *doc = as_json(r, &dl, payload, mapped, &tl);
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(doc);
    } else {
        print_text(r, &dl, payload, mapped, &tl);
    }
    spool_list_free(&dl);
    spool_timeline_free(&tl);
    json_decref(payload);
    json_decref(mapped);
out:
    spool_record_free(r);
    spool_close(sp);
    config_free(cfg);
    return rc;
}
