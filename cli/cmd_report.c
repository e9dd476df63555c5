/* cmd_report.c - `ferry report`: the management information of
 * scheduler/report.c as text, CSV, JSON or one self-contained HTML page,
 * to stdout or a file (written atomically). */
#include "cli/cli.h"
#include "config/config.h"
#include "mappings/record.h"
#include "scheduler/report.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry report [--date D | --from D --to D] [--service S]\n"
        "                    [--format text|csv|json|html] [--output FILE]\n\n"
        "Management information per service and day, each figure with its\n"
        "definition: volumes by channel and digital take-up; every record\n"
        "in exactly one outcome (confirmed, awaiting confirmation, in\n"
        "progress, rejected, failed, discarded); completion rate and the\n"
        "share that needed a person; time to complete (median, 95th\n"
        "percentile); cost per transaction from the configured <cost> per\n"
        "channel; open records by age; failure reasons.  Days are UTC;\n"
        "without dates the report covers the whole ledger.  CSV and JSON\n"
        "follow the schema in docs/mi.md (\"ferry-mi/1\").\n\n"
        "Exit: 0 ok, 65 the conservation check failed, 64 bad options.\n");
}

int cmd_report(int argc, char **argv)
{
    struct cli_common c = { 0 };
    struct report_opts ro;
    memset(&ro, 0, sizeof ro);
    enum report_format fmt = REPORT_TEXT;
    const char *output = NULL, *date = NULL;
    static const struct option opts[] = {
        { "date",    required_argument, NULL, 'd' },
        { "from",    required_argument, NULL, 'f' },
        { "to",      required_argument, NULL, 't' },
        { "service", required_argument, NULL, 's' },
        { "format",  required_argument, NULL, 'F' },
        { "output",  required_argument, NULL, 'o' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        switch (opt) {
        case 'd': date = optarg; break;
        case 'f': ro.from = optarg; break;
        case 't': ro.to = optarg; break;
        case 's': ro.service = optarg; break;
        case 'o': output = optarg; break;
        case 'F':
            if (report_format_parse(optarg, &fmt) != 0) {
                fprintf(stderr, "ferry report: --format text, csv, json or "
                                "html, not '%s'\n", optarg);
                return EX_USAGE;
            }
            break;
        case 'h':
        case CLI_OPT_HELP: usage(stdout); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind < argc || (date && (ro.from || ro.to))) {
        if (optind < argc)
            cli_args_msg(argc - optind, 0, 0, argv + optind);
        else
            cli_msg("--date or --from/--to, not both");
        usage(stderr);
        return EX_USAGE;
    }
    const char *dnames[] = { "--date", "--from", "--to" };
    const char *dvals[] = { date, ro.from, ro.to };
    for (int i = 0; i < 3; i++) {
        int64_t day;
        if (dvals[i] && record_date_parse(dvals[i], &day) != 0) {
            fprintf(stderr, "ferry report: %s: '%s' is not a date; give "
                            "YYYY-MM-DD, e.g. 2026-11-26 (days are UTC)\n",
                    dnames[i], dvals[i]);
            return EX_USAGE;
        }
    }
    if (c.json)
        fmt = REPORT_JSON;
    if (date)
        ro.from = ro.to = date;
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = 0;
    /* the config gives the costs per channel; a bare --spool has none */
    if ((!c.spool || c.config) && (rc = cli_load_config(&c, &cfg)) != 0)
        return rc;
    ro.cfg = cfg;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    if ((rc = cli_check_name("report", CLI_SERVICE, ro.service, cfg, sp)))
        goto out;
    struct errs e;
    errs_init(&e);
    struct report *r = NULL;
    struct buf b;
    buf_init(&b, 0);
    if (report_build(sp, &ro, &r, &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = e.n && (strcmp(e.v[0].where, "--from") == 0 ||
                     strcmp(e.v[0].where, "--to") == 0) ? EX_USAGE : EX_IOERR;
    } else if (report_render(r, fmt, &b) != 0) {
        fprintf(stderr, "ferry report: out of memory\n");
        rc = EX_SOFTWARE;
    } else if (output) {
        if (fs_write_atomic(output, b.data, b.len, 0644, &e) != 0) {
            cli_print_errs(stderr, &e);
            rc = EX_CANTCREAT;
        } else if (!c.quiet) {
            cli_msg("report written to %s", output);
        }
    } else if (fwrite(b.data, 1, b.len, stdout) != b.len) {
        rc = EX_IOERR;
    }
    if (rc == 0 && r && !r->conserved) {
        fprintf(stderr, "ferry report: CONSERVATION CHECK FAILED: states "
                        "differ from received by %lld\n",
                (long long)r->conservation_diff);
        rc = EX_DATAERR;
    }
    buf_free(&b);
    report_free(r);
    errs_free(&e);
out:
    spool_close(sp);
    config_free(cfg);
    return rc;
}
