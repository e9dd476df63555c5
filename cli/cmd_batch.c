/* cmd_batch.c - `ferry batch JOB|--target T` (the night batch by hand or
 * from cron) and `ferry batches` (recent batch files).
 *
 * The run itself is scheduler/batch.c; this file parses options, shows
 * progress (a bar on a terminal, plain log lines otherwise), records the
 * run in the ledger's job runs when started by job name, and prints the
 * summary operators read at 2am.  Exit codes: see docs/batch.md. */
#include "cli/cli.h"
#include "util/suggest.h"
#include "util/clock.h"
#include "config/config.h"
#include "scheduler/batch.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void batch_usage(FILE *f)
{
    fprintf(f,
        "usage: ferry batch [--config FILE] [--spool DIR] JOB | --target T\n"
        "                   [--date YYYY-MM-DD] [--dry-run] [--max N]\n"
        "                   [--resend BATCH --reason TEXT] [--json] [--quiet]\n"
        "\n"
        "Run the night batch of a fixed-width target: finish any batch a\n"
        "crashed run left, then gather the queued records into one file laid\n"
        "out by the copybook, check it, and hand it to the target's transport.\n"
        "Safe to re-run at any time: a batch is sent once.\n"
        "\n"
        "  --date D       business date (default: today in the job's zone)\n"
        "  --dry-run      say what a run would do: build and check the file\n"
        "                 in a scratch folder, report it, remove it; nothing\n"
        "                 in the spool changes, nothing is sent\n"
        "  --resend B     send batch B (id or file name) again, on purpose;\n"
        "                 needs --reason, written to the audit log\n"
        "  --max N        at most N records in a new batch\n"
        "\n"
        "Exit: 0 done (or nothing to send), 65 some records could not be\n"
        "     encoded and went to the dead letter state, the rest were sent,\n"
        "     70 the read-back check failed (nothing sent), 74 ledger or disk\n"
        "     error, 75 target unavailable or another run holds the lock (its\n"
        "     PID is named): try later, 78 configuration problem, the target\n"
        "     refused the file (a different file under that name), or the\n"
        "     target stopped (host key or login refused: its records wait\n"
        "     queued, ferry targets says why; the run after the fix clears it).\n");
}

/* show_progress - the scheduler's progress, to the CLI's bar or lines */
static void show_progress(void *ctx, const char *phase, int64_t done,
                          int64_t total)
{
    cli_progress_update(ctx, phase, done, total);
}

static void print_summary(const struct batch_summary *s, const char *target)
{
    if (s->nothing)
        printf("batch %s: nothing queued, no file written\n", target);
    for (size_t i = 0; i < s->nfiles; i++) {
        const struct batch_file *f = &s->files[i];
        if (!f->file_name[0])
            continue;
        printf("file      %s%s%s%s\n", f->file_name,
               f->finished_earlier ? "  (finishing a batch an earlier run "
               "left)" : "", f->resent ? "  (resent on purpose)" : "",
               s->dry_run ? "  (dry run)" : "");
        printf("batch     %lld, business date %s, sequence %d\n",
               (long long)f->batch_id, f->business_date, f->seq);
        if (s->dry_run) {
            printf("records   %lld would be written", (long long)f->records);
            if (f->failed)
                printf(", %lld could not be encoded and would go to the "
                       "dead letter state", (long long)f->failed);
        } else {
            printf("records   %lld written", (long long)f->records);
            if (f->failed)
                printf(", %lld dead-lettered (see ferry queue --state failed)",
                       (long long)f->failed);
        }
        printf("\n");
        printf("totals    %s\n", f->totals[0] ? f->totals : "(none)");
        printf("size      %llu bytes\n", (unsigned long long)f->bytes);
        printf("sha256    %s\n", f->sha256[0] ? f->sha256 : "-");
        printf("local     %s\n", s->dry_run ? "(dry run: built in a scratch "
               "folder, checked, removed)" : f->local_path);
        if (f->sent && f->already_present)
            printf("sent to   %s (not uploaded: already present)\n",
                   f->sent_to);
        else
            printf("sent to   %s\n", f->sent ? f->sent_to : s->dry_run ?
                   "(not sent: dry run)" : "(not sent)");
    }
    printf("took      %lld.%03lld s\n", (long long)(s->elapsed_ms / 1000),
           (long long)(s->elapsed_ms % 1000));
    printf("outcome   %s (exit %d)%s%s\n", batch_outcome_name(s->outcome),
           batch_exit_code(s->outcome), s->message[0] ? ": " : "",
           s->message);
}

static void print_json(const struct batch_summary *s, const char *target)
{
    json_t *files = json_array();
    for (size_t i = 0; i < s->nfiles; i++) {
        const struct batch_file *f = &s->files[i];
        json_array_append_new(files, json_pack(
            "{s:I,s:s,s:i,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:b,s:b,s:b,s:b,s:s}",
            "batch", (json_int_t)f->batch_id, "business_date",
            f->business_date, "seq", f->seq, "file", f->file_name,
            "local_path", f->local_path, "records", (json_int_t)f->records,
            "failed", (json_int_t)f->failed, "bytes", (json_int_t)f->bytes,
            "totals", f->totals, "sha256", f->sha256, "finished_earlier",
            f->finished_earlier, "resent", f->resent, "sent", f->sent,
            "already_present", f->already_present, "sent_to", f->sent_to));
    }
    json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:b,s:b,s:I,s:I,s:o}",
        "target", target, "outcome", batch_outcome_name(s->outcome),
        "exit", batch_exit_code(s->outcome), "message", s->message,
        "dry_run", s->dry_run, "nothing", s->nothing,
        "holder_pid", (json_int_t)s->holder,
        "elapsed_ms", (json_int_t)s->elapsed_ms, "files", files);
    char *txt = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (txt)
        printf("%s\n", txt);
    free(txt);
    json_decref(o);
}

/* find_batch - a batch by id or file name among target's */
static int find_batch(struct spool *sp, const char *target, const char *arg,
                      int64_t *id)
{
    char *end = NULL;
    long long v = strtoll(arg, &end, 10);
    if (end && *end == '\0' && end != arg && v > 0) {
        *id = v;
        return 0;
    }
    struct spool_batch **v2 = NULL;
    size_t n = 0;
    struct errs e;
    errs_init(&e);
    int rc = -1;
    if (spool_batch_list(sp, target, 0, &v2, &n, &e) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (rc != 0 && v2[i]->file_name &&
                strcmp(v2[i]->file_name, arg) == 0) {
                *id = v2[i]->id;
                rc = 0;
            }
            spool_batch_free(v2[i]);
        }
        free(v2);
    }
    errs_free(&e);
    return rc;
}

int cmd_batch(int argc, char **argv)
{
    struct cli_common c = { 0 };
    const char *target = NULL, *date = NULL, *resend = NULL, *reason = NULL;
    bool dry = false;
    long max = 0;
    static const struct option opts[] = {
        { "target",  required_argument, NULL, 't' },
        { "date",    required_argument, NULL, 'd' },
        { "dry-run", no_argument,       NULL, 'n' },
        { "resend",  required_argument, NULL, 'r' },
        { "reason",  required_argument, NULL, 'R' },
        { "max",     required_argument, NULL, 'm' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        switch (o) {
        case 't': target = optarg; break;
        case 'd': date = optarg; break;
        case 'n': dry = true; break;
        case 'r': resend = optarg; break;
        case 'R': reason = optarg; break;
        case 'm':
            if (config_parse_int(optarg, 1, 100000000, &max) != 0) {
                fprintf(stderr, "ferry batch: --max wants a number\n");
                return EX_USAGE;
            }
            break;
        case 'h':
        case CLI_OPT_HELP: batch_usage(stdout); return EX_OK;
        default: batch_usage(stderr); return EX_USAGE;
        }
    }
    const char *jobname = optind < argc ? argv[optind] : NULL;
    if ((jobname && target) || (!jobname && !target) || argc - optind > 1) {
        if (argc - optind > 1)
            cli_args_msg(argc - optind, 1, 1, argv + optind);
        else
            cli_msg("give a batch JOB or --target TARGET (one of the two)");
        batch_usage(stderr);
        return EX_USAGE;
    }
    if (resend && (!reason || !*reason)) {
        fprintf(stderr, "ferry batch: --resend needs --reason TEXT (it is "
                        "written to the audit log)\n");
        return EX_USAGE;
    }
    if (resend && dry) {
        fprintf(stderr, "ferry batch: --resend and --dry-run do not go "
                        "together\n");
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        return rc;
    const char *tz = NULL;
    if (jobname) {
        const struct job_config *job = config_job(cfg, jobname);
        if (!job || strcmp(job->action, "batch") != 0 || !job->target) {
            const char *v[256];
            size_t n = 0;
            for (size_t k = 0; k < cfg->njobs && n < 256; k++)
                if (strcmp(cfg->jobs[k].action, "batch") == 0)
                    v[n++] = cfg->jobs[k].name;
            const char *near = suggest_near(jobname, v, n);
            fprintf(stderr, "ferry batch: %s is not a batch job in %s",
                    jobname, cfg->path);
            if (near)
                fprintf(stderr, "; did you mean '%s'?", near);
            fputc('\n', stderr);
            rc = EX_USAGE;
            goto out;
        }
        target = job->target;
        tz = job->tz;
    }
    if ((rc = cli_check_name("batch", CLI_TARGET, target, cfg, NULL)))
        goto out;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    struct cli_progress *pr = cli_progress_new("batch", c.quiet || c.json,
                                               false);
    struct batch_opts bo = {
        .business_date = date, .tz = tz, .dry_run = dry,
        .reason = reason, .actor = cli_actor(&c), .max_records = (size_t)max,
        .progress = show_progress, .progress_ctx = pr,
    };
    struct errs e;
    errs_init(&e);
    if (resend && find_batch(sp, target, resend, &bo.resend_id) != 0) {
        fprintf(stderr, "ferry batch: no batch '%s' of target %s (ferry "
                        "batches --target %s lists them)\n", resend, target,
                target);
        rc = EX_USAGE;
        errs_free(&e);
        cli_progress_end(pr, false);
        goto out;
    }
    int64_t run_id = 0;
    bool record_run = jobname && !dry;
    if (record_run && spool_job_start(sp, jobname, &run_id, &e) != 0)
        record_run = false;
    struct batch_summary sum;
    batch_run(cfg, sp, target, &bo, &sum, &e);
    cli_progress_end(pr, batch_exit_code(sum.outcome) == EX_OK ||
                         batch_exit_code(sum.outcome) == EX_DATAERR);
    if (record_run) {
        char counts[256];
        const struct batch_file *f = sum.nfiles ? &sum.files[sum.nfiles - 1]
                                                : NULL;
        snprintf(counts, sizeof counts, "files=%zu records=%lld failed=%lld "
                 "file=%s", sum.nfiles, f ? (long long)f->records : 0LL,
                 f ? (long long)f->failed : 0LL, f ? f->file_name : "");
        struct errs je;
        errs_init(&je);
        spool_job_end(sp, run_id, batch_outcome_name(sum.outcome), counts,
                      sum.message, &je);
        errs_free(&je);
    }
    if (c.json)
        print_json(&sum, target);
    else if (!c.quiet || sum.outcome != BATCH_DONE)
        print_summary(&sum, target);
    if (sum.outcome != BATCH_DONE && sum.outcome != BATCH_BUSY && e.n)
        cli_print_errs(stderr, &e);
    if (sum.outcome == BATCH_BUSY)
        fprintf(stderr, "ferry batch: %s\n", sum.message);
    rc = batch_exit_code(sum.outcome);
    errs_free(&e);
out:
    spool_close(sp);
    config_free(cfg);
    return rc;
}

static void batches_usage(FILE *f)
{
    fprintf(f,
        "usage: ferry batches [--config FILE] [--spool DIR] [--target T]\n"
        "                     [--limit N] [--json]\n"
        "\n"
        "List recent batch files, newest first: id, target, business date,\n"
        "sequence, state (built, written, sent, confirmed), file name, record\n"
        "count, hash totals and SHA-256.\n"
        "\n"
        "Exit: 0 ok, 74 ledger error, 78 configuration problem.\n");
}

int cmd_batches(int argc, char **argv)
{
    struct cli_common c = { 0 };
    const char *target = NULL;
    long limit = 20;
    static const struct option opts[] = {
        { "target", required_argument, NULL, 't' },
        { "limit",  required_argument, NULL, 'l' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        if (o == 't')
            target = optarg;
        else if (o == 'l') {
            if (config_parse_int(optarg, 0, 1000000, &limit) != 0) {
                fprintf(stderr, "ferry batches: --limit: '%s' is not a "
                                "whole number from 0 to 1000000\n", optarg);
                return EX_USAGE;
            }
        } else if (o == 'h' || o == CLI_OPT_HELP) {
            batches_usage(stdout);
            return EX_OK;
        } else {
            batches_usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc) {
        cli_args_msg(argc - optind, 0, 0, argv + optind);
        batches_usage(stderr);
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        return rc;
    if ((rc = cli_check_name("batches", CLI_TARGET, target, cfg, NULL)))
        goto out;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    struct spool_batch **v = NULL;
    size_t n = 0;
    struct errs e;
    errs_init(&e);
    /* one more than asked: whether --limit cut the list */
    if (spool_batch_list(sp, target, limit ? (size_t)limit + 1 : 0, &v, &n,
                         &e) != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        rc = EX_IOERR;
        goto out;
    }
    errs_free(&e);
    bool cut = limit && n > (size_t)limit;
    if (cut) {
        spool_batch_free(v[n - 1]);
        n--;
    }
    json_t *arr = c.json ? json_array() : NULL;
    if (!c.json)
        printf("%-5s %-18s %-10s %4s %-9s %-22s %9s  %s\n", "ID", "TARGET",
               "DATE", "SEQ", "STATE", "FILE", "RECORDS", "TOTALS / SHA-256");
    for (size_t i = 0; i < n; i++) {
        const struct spool_batch *b = v[i];
        char made[32], wrote[32], sent[32];
        if (!arr)
            cli_fmt_time(b->created_at, made, sizeof made);
        if (arr) {
            json_array_append_new(arr, json_pack(
                "{s:I,s:s,s:s,s:i,s:s,s:s?,s:I,s:s?,s:s?,s:s?,s:s?,s:s?}",
                "id", (json_int_t)b->id, "target", b->target,
                "business_date", b->business_date, "seq", b->seq,
                "state", spool_batch_state_name(b->state),
                "file", b->file_name, "records", (json_int_t)b->record_count,
                "totals", b->totals, "sha256", b->sha256,
                "created_at", cli_json_time(b->created_at, made, sizeof made),
                "written_at", cli_json_time(b->written_at, wrote, sizeof wrote),
                "sent_at", cli_json_time(b->sent_at, sent, sizeof sent)));
        } else {
            printf("%-5lld %-18s %-10s %4d %-9s %-22s %9lld  %s\n",
                   (long long)b->id, b->target, b->business_date, b->seq,
                   spool_batch_state_name(b->state),
                   b->file_name ? b->file_name : "-",
                   (long long)b->record_count, b->totals ? b->totals : "");
            if (b->sha256)
                printf("%*s%s\n", 86, "", b->sha256);
        }
        spool_batch_free(v[i]);
    }
    free(v);
    if (arr) {
        json_t *top = json_pack("{s:o,s:b}", "batches", arr, "truncated", cut);
        char *txt = top ? json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
                        : NULL;
        if (txt)
            printf("%s\n", txt);
        free(txt);
        json_decref(top);
    } else if (!n) {
        printf("-- no batches\n");
    } else if (!c.quiet) {
        printf("-- %zu batch%s%s\n", n, n == 1 ? "" : "es",
               cut ? " (--limit cut the list: older ones not shown)" : "");
    }
out:
    spool_close(sp);
    config_free(cfg);
    return rc;
}
