/* cmd_reconcile.c - `ferry reconcile TARGET [FILE...]`: fetch and apply a
 * fixed-width target's acknowledgement files (or the FILEs given), or
 * probe a stream target, and print what happened.  The work is
 * scheduler/reconcile.c's; this file parses options and formats. */
#include "cli/cli.h"
#include "config/config.h"
#include "scheduler/reconcile.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/errs_json.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry reconcile TARGET [FILE...] [--accept-mismatch --reason TEXT]\n"
        "                       [--overdue-hours N] [--json]\n\n"
        "Fixed-width target: fetch the acknowledgement files from the\n"
        "transport's ack folder (or read the FILEs given), check each whole\n"
        "file and its control totals, then apply it in one transaction:\n"
        "accepted -> confirmed, rejected -> rejected with the reason in words.\n"
        "A file already applied (same name and SHA-256) is skipped.  Records\n"
        "sent more than --overdue-hours (default 24) ago without an answer\n"
        "are reported.  Stream target: ask the target about delivered and\n"
        "in-doubt records.\n\n"
        "Exit: 0 clean, 65 orphans, totals mismatch, bad file or missing\n"
        "records, 66 a FILE given is missing, 74 a file could not be read,\n"
        "75 transport unavailable, or another run (here or on a node\n"
        "sharing the spool) is reconciling TARGET: nothing done, "
        "78 configuration.\n");
}

static json_t *file_json(const struct recon_file *f)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}",
        "name", f->name ? f->name : "", "sha256", f->sha256,
        "status", recon_file_status_name(f->status),
        "format", f->fb ? "FB" : "lines",
        "records", (json_int_t)f->details,
        "accepted", (json_int_t)f->accepted,
        "rejected", (json_int_t)f->rejected,
        "confirmed", (json_int_t)f->confirmed,
        "rejected_applied", (json_int_t)f->rejected_applied,
        "orphans", (json_int_t)f->orphans,
        "not_sent", (json_int_t)f->not_sent,
        "mismatch", f->mismatch);
    if (!o)
        return NULL;
    if (f->trailer_count >= 0)
        json_object_set_new(o, "trailer_count", json_integer(f->trailer_count));
    if (f->trailer_accepted >= 0)
        json_object_set_new(o, "trailer_accepted",
                            json_integer(f->trailer_accepted));
    if (f->trailer_rejected >= 0)
        json_object_set_new(o, "trailer_rejected",
                            json_integer(f->trailer_rejected));
    if (f->archived)
        json_object_set_new(o, "archived", json_string(f->archived));
    if (f->problem)
        json_object_set_new(o, "problem", json_string(f->problem));
    return o;
}

static void print_json(const struct recon_summary *s, const struct errs *e)
{
    /* 2 strings, 12 counts, 1 flag: keep the format in step with the keys */
    json_t *root = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
                             "s:I,s:I,s:I,s:b}",
        "target", s->target ? s->target : "",
        "kind", s->stream ? "stream" : "ack-files",
        "files", (json_int_t)s->files, "applied", (json_int_t)s->applied,
        "already_applied", (json_int_t)s->seen, "bad", (json_int_t)s->bad,
        "mismatch", (json_int_t)s->mismatches,
        "confirmed", (json_int_t)s->confirmed,
        "rejected", (json_int_t)s->rejected,
        "orphans", (json_int_t)s->orphans, "overdue", (json_int_t)s->overdue,
        "not_sent", (json_int_t)s->not_sent,
        "missing", (json_int_t)s->missing,
        "requeued", (json_int_t)s->requeued,
        "transport_unavailable", s->transport_unavailable);
    if (!root)
        return;
    json_t *fa = json_array(), *ia = json_array(), *pa = errs_json(e);
    for (size_t i = 0; i < s->nf; i++)
        json_array_append_new(fa, file_json(&s->f[i]));
    for (size_t i = 0; i < s->nitems; i++) {
        const struct recon_item *it = &s->items[i];
        json_t *o = json_pack("{s:s,s:s}", "kind", it->kind, "ref", it->ref);
        if (it->file)
            json_object_set_new(o, "file", json_string(it->file));
        if (it->record)
            json_object_set_new(o, "record", json_integer(it->record));
        if (it->detail)
            json_object_set_new(o, "detail", json_string(it->detail));
        json_array_append_new(ia, o);
    }
    json_object_set_new(root, "files_detail", fa);
    json_object_set_new(root, "items", ia);
    json_object_set_new(root, "problems", pa);
    if (s->items_dropped)
        json_object_set_new(root, "items_not_listed",
                            json_integer((json_int_t)s->items_dropped));
    if (s->uncheckable)
        json_object_set_new(root, "uncheckable",
                            json_string(s->uncheckable_msg));
    if (s->transport_unavailable)
        json_object_set_new(root, "transport_message",
                            json_string(s->transport_msg));
    char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (txt)
        printf("%s\n", txt);
    free(txt);
    json_decref(root);
}

static void print_text(const struct recon_summary *s, const struct errs *e)
{
    for (size_t i = 0; i < s->nf; i++) {
        const struct recon_file *f = &s->f[i];
        switch (f->status) {
        case RECON_FILE_APPLIED:
            printf("%s: applied (%zu records, %s): %zu confirmed, %zu "
                   "rejected, %zu orphans, %zu not sent, %zu already done%s\n",
                   f->name, f->details, f->fb ? "FB" : "one per line",
                   f->confirmed, f->rejected_applied, f->orphans, f->not_sent,
                   f->already, f->mismatch_accepted
                   ? " [TOTALS MISMATCH ACCEPTED, audited]" : "");
            break;
        case RECON_FILE_SEEN:
            printf("%s: already applied (same name and SHA-256), skipped\n",
                   f->name);
            break;
        case RECON_FILE_MISMATCH:
            printf("%s: *** CONTROL TOTALS MISMATCH: NOT APPLIED ***\n"
                   "  %s\n  apply anyway only with --accept-mismatch "
                   "--reason TEXT (audited)\n", f->name,
                   f->problem ? f->problem : "");
            break;
        case RECON_FILE_BAD:
            printf("%s: *** BAD FILE: NOTHING CHANGED ***\n", f->name);
            break;
        case RECON_FILE_ERROR:
            printf("%s: error: %s\n", f->name, f->problem ? f->problem : "");
            break;
        }
        if (f->mismatch && f->status == RECON_FILE_APPLIED && f->problem)
            printf("  %s\n", f->problem);
    }
    if (e->n) {
        fflush(stdout);
        cli_print_errs(stderr, e);
    }
    for (size_t i = 0; i < s->nitems; i++) {
        const struct recon_item *it = &s->items[i];
        printf("%-9s %s", it->kind, it->ref);
        if (it->file && it->record)
            printf(" (%s record %ld)", it->file, it->record);
        if (it->detail)
            printf(": %s", it->detail);
        printf("\n");
    }
    if (s->items_dropped)
        printf("(%zu more not listed)\n", s->items_dropped);
    if (s->uncheckable)
        printf("cannot be checked: %s\n", s->uncheckable_msg);
    if (s->transport_unavailable)
        printf("transport unavailable: %s\n", s->transport_msg);
    char counts[512];
    recon_counts_text(s, counts, sizeof counts);
    printf("%s: %s\n", s->target ? s->target : "", counts);
    if (s->orphans)
        printf("*** %zu ORPHAN acknowledgement(s): keys ferry never sent ***\n",
               s->orphans);
    if (s->overdue)
        printf("*** %zu record(s) OVERDUE: sent but not acknowledged ***\n",
               s->overdue);
}

int cmd_reconcile(int argc, char **argv)
{
    struct cli_common c = { 0 };
    struct recon_opts ro;
    memset(&ro, 0, sizeof ro);
    static const struct option opts[] = {
        { "accept-mismatch", no_argument,       NULL, 'm' },
        { "reason",          required_argument, NULL, 'r' },
        { "overdue-hours",   required_argument, NULL, 'o' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        switch (opt) {
        case 'm': ro.accept_mismatch = true; break;
        case 'r': ro.reason = optarg; break;
        case 'o':
            if (config_parse_int(optarg, 1, 24L * 366, &ro.overdue_hours) != 0) {
                fprintf(stderr, "ferry reconcile: --overdue-hours wants whole "
                                "hours, not '%s'\n", optarg);
                return EX_USAGE;
            }
            break;
        case 'h':
        case CLI_OPT_HELP: usage(stdout); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind >= argc) {
        cli_args_msg(0, 1, 2, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    if (ro.accept_mismatch && (!ro.reason || !*ro.reason)) {
        fprintf(stderr, "ferry reconcile: --accept-mismatch needs --reason "
                        "TEXT: say why the totals can be trusted\n");
        return EX_USAGE;
    }
    const char *target = argv[optind];
    ro.files = (const char *const *)&argv[optind + 1];
    ro.nfiles = (size_t)(argc - optind - 1);
    ro.actor = cli_actor(&c);
    for (size_t i = 0; i < ro.nfiles; i++) {
        if (access(ro.files[i], R_OK) != 0) {
            fprintf(stderr, "ferry reconcile: cannot read %s: %s; give the "
                            "path of an acknowledgement file, or no FILE to "
                            "fetch them from the target's ack folder\n",
                    ro.files[i], strerror(errno));
            return EX_NOINPUT;
        }
    }

    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = cli_load_config(&c, &cfg);
    if (rc != 0)
        return rc;
    if ((rc = cli_check_name("reconcile", CLI_TARGET, target, cfg, NULL)))
        goto out;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    struct errs e;
    errs_init(&e);
    struct recon_summary sum;
    int r = recon_run(cfg, sp, target, &ro, &sum, &e);
    if (r == 0 && sum.busy) {
        /* another run (here, or a node sharing the spool) has the
         * target: nothing was fetched or applied */
        if (c.json) {
            json_t *o = json_pack("{s:s,s:b,s:s}", "target", target,
                                  "busy", 1, "message", sum.busy_msg);
            char *txt = o ? json_dumps(o, JSON_INDENT(2) |
                                       JSON_PRESERVE_ORDER) : NULL;
            if (txt)
                printf("%s\n", txt);
            free(txt);
            json_decref(o);
        }
        fprintf(stderr, "ferry reconcile: %s; nothing done, try later\n",
                sum.busy_msg);
        rc = recon_exit_code(&sum);
    } else if (c.json)
        print_json(&sum, &e);
    else
        print_text(&sum, &e);
    if (r != 0) {
        if (!c.json && !e.n)
            fprintf(stderr, "ferry reconcile: failed\n");
        bool config_problem = sum.files == 0 && !sum.stream;
        rc = config_problem ? EX_CONFIG : EX_IOERR;
    } else {
        rc = recon_exit_code(&sum);
    }
    recon_summary_free(&sum);
    errs_free(&e);
out:
    spool_close(sp);
    config_free(cfg);
    return rc;
}
