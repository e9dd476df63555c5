/* cmd_jobs.c - `ferry jobs [--json]`: each configured job with its
 * schedule, zone, next run (local and UTC) and its last recorded run
 * (start, end, outcome, counts).  Reads the ledger only. */
#include "cli/cli.h"
#include "config/config.h"
#include "scheduler/sched.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry jobs [--config FILE] [--spool DIR] [--json]\n"
        "\n"
        "List the configured jobs: schedule, time zone, action, next run in\n"
        "the job's zone and in UTC, and the last recorded run with its\n"
        "outcome and counts.\n"
        "\n"
        "Exit: 0, 78 configuration problem, 73 spool cannot be opened,\n"
        "74 ledger error.\n");
}

static json_t *info_json(const struct sched_job_info *x)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", x->name,
                          "schedule", x->schedule ? x->schedule : "",
                          "tz", x->tz, "action", x->action ? x->action : "",
                          "catch_up", x->catch_up);
    if (!o)
        return NULL;
    json_object_set_new(o, "target", x->target ? json_string(x->target)
                                               : json_null());
    /* JSON times are UTC (the job's own zone is "tz"); the text listing
     * shows the local time beside */
    if (x->next_s) {
        char nx[32];
        json_object_set_new(o, "next_run_utc", json_string(
            cli_json_time((long long)x->next_s * 1000, nx, sizeof nx)));
    } else {
        json_object_set_new(o, "next_run_utc", json_null());
        json_object_set_new(o, "problem", json_string(x->problem));
    }
    if (x->has_last) {
        char s[32], en[32];
        json_t *l = json_pack("{s:s?}", "started",
                              cli_json_time(x->last_started_ms, s, sizeof s));
        if (x->last_ended_ms) {
            cli_json_time(x->last_ended_ms, en, sizeof en);
            json_object_set_new(l, "ended", json_string(en));
        } else {
            json_object_set_new(l, "ended", json_null());
        }
        json_object_set_new(l, "outcome", x->last_outcome[0]
                                              ? json_string(x->last_outcome)
                                              : json_null());
        json_object_set_new(l, "counts", json_string(x->last_counts));
        json_object_set_new(l, "message", json_string(x->last_message));
        json_object_set_new(o, "last_run", l);
    } else {
        json_object_set_new(o, "last_run", json_null());
    }
    return o;
}

int cmd_jobs(int argc, char **argv)
{
    struct cli_common c = { 0 };
    static const struct option opts[] = {
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        if (o == 'h' || o == CLI_OPT_HELP) {
            usage(stdout);
            return EX_OK;
        }
        usage(stderr);
        return EX_USAGE;
    }
    if (optind != argc) {
        cli_args_msg(argc - optind, 0, 0, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    struct sched_job_info *v = NULL;
    size_t n = 0;
    struct errs e;
    errs_init(&e);
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        return rc;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    if (sched_list(cfg, sp, (int64_t)time(NULL), &v, &n, &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_IOERR;
        goto out;
    }
    if (c.json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, info_json(&v[i]));
        json_t *root = json_pack("{s:o}", "jobs", a);
        char *s = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(root);
    } else {
        printf("%-16s %-14s %-15s %-9s %-25s %-20s %s\n", "JOB", "SCHEDULE",
               "ZONE", "ACTION", "NEXT (LOCAL)", "NEXT (UTC)", "LAST RUN");
        for (size_t i = 0; i < n; i++) {
            const struct sched_job_info *x = &v[i];
            char last[400] = "never";
            if (x->has_last) {
                char s[32];
                cli_fmt_time(x->last_started_ms, s, sizeof s);
                snprintf(last, sizeof last, "%s %s%s%s", s,
                         x->last_outcome[0] ? x->last_outcome
                         : x->last_ended_ms ? "?" : "running-or-crashed",
                         x->last_counts[0] ? " " : "", x->last_counts);
            }
            printf("%-16s %-14s %-15s %-9s %-25s %-20s %s\n", x->name,
                   x->schedule ? x->schedule : "", x->tz,
                   x->action ? x->action : "",
                   x->next_s ? x->next_local : x->problem,
                   x->next_s ? x->next_utc : "-", last);
        }
    }
    rc = EX_OK;
out:
    free(v);
    errs_free(&e);
    spool_close(sp);
    config_free(cfg);
    return rc;
}
