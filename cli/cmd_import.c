/* cmd_import.c - `ferry import SERVICE FILE.csv`: the assisted-digital
 * path.  Staff key paper forms into a spreadsheet; its CSV header names
 * the mapping's fields.  Each row goes through the same mapping as an
 * online submission (by field name instead of JSON path), and is kept as
 * a JSON object of its columns.  Errors and exit codes are submit's. */
#include "cli/cli.h"
#include "cli/cli_intake.h"
#include "config/config.h"
#include "mappings/csv.h"
#include "mappings/mapping.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_MAX_INPUT ((size_t)1 << 30)

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry import [--config FILE] [--spool DIR] [--json] [--quiet]\n"
        "                    SERVICE FILE.csv\n"
        "\n"
        "Accept an RFC 4180 CSV file (header row naming the mapping's fields;\n"
        "quoted fields, doubled quotes, CRLF or LF).  Prints one line per\n"
        "accepted record; refused rows are listed on stderr as\n"
        "'ferry import: line N: FIELD: reason'.\n"
        "\n"
        "Exit: 0 all accepted, 65 some refused (the others are kept),\n"
        "     66 FILE missing, 78 configuration problem, 73 spool cannot be\n"
        "     opened, 74 ledger error.\n");
}

struct import_ctx {
    struct cli_intake *in;
    const struct mapping *m;
    const char *const *names;
    size_t ncols;
};

/* row_payload - the row as a JSON object of its columns, for the ledger */
static char *row_payload(const struct import_ctx *ic, const struct csv_row *row)
{
    json_t *o = json_object();
    for (size_t i = 0; i < row->n && i < ic->ncols; i++)
        json_object_set_new(o, ic->names[i],
                            json_stringn(row->fields[i], row->lens[i]));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static int take_row(void *ctx, const struct csv_row *row)
{
    struct import_ctx *ic = ctx;
    struct errs e;
    errs_init(&e);
    struct record *rec = NULL;
    /* empty cells are absent values, as a blank on a paper form is */
    const char **vals = calloc(row->n ? row->n : 1, sizeof *vals);
    if (!vals)
        return 1;
    for (size_t i = 0; i < row->n; i++)
        vals[i] = row->lens[i] ? row->fields[i] : NULL;
    if (map_apply_named(ic->m, ic->names, vals, row->n, &rec, &e) == 0) {
        char *payload = row_payload(ic, row);
        if (payload)
            cli_intake_add(ic->in, row->line, payload, strlen(payload), rec);
        else
            record_free(rec);
        free(payload);
    } else {
        cli_intake_reject(ic->in, row->line, &e);
    }
    free(vals);
    errs_free(&e);
    return 0;
}

int cmd_import(int argc, char **argv)
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
    if (argc - optind != 2) {
        cli_args_msg(argc - optind, 2, 2, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    const char *service = argv[optind], *path = argv[optind + 1];
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    struct csv_reader *csv = NULL;
    char *text = NULL;
    size_t len = 0;
    struct errs e;
    errs_init(&e);
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        return rc;
    const struct service_config *svc = config_service(cfg, service);
    if (!svc || !svc->mapping) {
        rc = cli_check_name("import", CLI_SERVICE, service, cfg, NULL);
        if (rc == 0) {
            fprintf(stderr, "ferry import: service '%s' has no mapping\n", service);
            rc = EX_CONFIG;
        }
        goto out;
    }
    if (fs_read_file(path, IMPORT_MAX_INPUT, &text, &len, &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_NOINPUT;
        goto out;
    }
    csv = csv_open_mem(text, len, path);
    if (!csv) {
        rc = EX_OSERR;
        goto out;
    }
    if (csv_read_header(csv, &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_DATAERR;
        goto out;
    }
    /* every column must name a field: a typo in the header would
     * otherwise refuse every row with the same message */
    const char *const *names = csv_header(csv);
    size_t ncols = csv_ncolumns(csv);
    for (size_t i = 0; i < ncols; i++)
        if (!mapping_field(svc->mapping, names[i]))
            errs_add(&e, path, "line %ld: column %zu '%s' is not a field of "
                     "service %s", csv_header_line(csv), i + 1, names[i],
                     service);
    /* and a required field without a column is one problem here, not
     * the same refusal on every row */
    for (size_t f = 0; f < svc->mapping->nfields; f++) {
        const struct map_field *mf = &svc->mapping->fields[f];
        bool found = false;
        for (size_t i = 0; i < ncols && !found; i++)
            found = strcmp(names[i], mf->name) == 0;
        if (mf->required && !found)
            errs_add(&e, path, "line %ld: no column for the required field "
                     "'%s' of service %s", csv_header_line(csv), mf->name,
                     service);
    }
    if (e.n) {
        cli_print_errs(stderr, &e);
        rc = EX_DATAERR;
        goto out;
    }
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    /* lines in the file: the progress total (rows, unless a quoted
     * field spans lines) */
    int64_t lines = 0;
    for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text)));
         p++)
        lines++;
    struct cli_intake in = { .spool = sp, .cfg = cfg, .svc = svc,
                             .client = "csv", .channel = SPOOL_CH_CSV,
                             .json = c.json, .quiet = c.quiet,
                             .min_free_mb = cfg->spool_min_free_mb,
                             .progress = cli_progress_new("import", c.quiet,
                                                          true) };
    if ((rc = cli_intake_init(&in)) != 0) {
        cli_progress_end(in.progress, false);
        goto out;
    }
    struct import_ctx ic = { &in, svc->mapping, names, ncols };
    for (;;) {
        struct csv_row row;
        struct errs re;
        errs_init(&re);
        int r = csv_next(csv, &row, &re);
        if (r == 1) {
            take_row(&ic, &row);
        } else if (r == -1 || re.n) {
            /* a broken row: its own line is in the message */
            in.rejected++;
            cli_progress_clear(in.progress);
            cli_print_errs(stderr, &re);
        }
        errs_free(&re);
        if (r == 0)
            break;
        if (r == 1)
            cli_progress_update(in.progress, "input-lines", row.line, lines);
    }
    cli_progress_end(in.progress, !in.failed);
    in.progress = NULL;
    rc = cli_intake_finish(&in);
out:
    errs_free(&e);
    csv_free(csv);
    free(text);
    spool_close(sp);
    config_free(cfg);
    return rc;
}
