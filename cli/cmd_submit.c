/* cmd_submit.c - `ferry submit SERVICE FILE|-`: one JSON document or
 * NDJSON (one document per line) through the service's mapping into the
 * spool.  Every refused document is listed with its line, JSON path and
 * reason; the accepted ones are kept.  Exit 0 when all were accepted, 65
 * when any was refused. */
#include "cli/cli.h"
#include "cli/cli_intake.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUBMIT_MAX_INPUT ((size_t)4 << 30)   /* a day's NDJSON, not more */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry submit [--config FILE] [--spool DIR] [--json] [--quiet]\n"
        "                    [--batch N] SERVICE FILE|-\n"
        "\n"
        "Validate and map each submission of FILE (one JSON document, or NDJSON:\n"
        "one document per line; '-' reads stdin) through SERVICE's mapping and\n"
        "spool the valid ones durably.  Prints one line per accepted record:\n"
        "REFERENCE, accepted|duplicate, the source line and the front-end's own\n"
        "reference.  Refused submissions are listed on stderr as\n"
        "'line N: JSON.PATH: reason'.\n"
        "\n"
        "Exit: 0 all accepted, 65 some refused (the others are kept),\n"
        "     66 FILE missing, 78 configuration problem, 73 spool cannot be\n"
        "     opened, 74 ledger error.\n");
}

/* read_input - the whole file or stdin, capped */
static int read_input(const char *path, char **text, size_t *len)
{
    struct errs e;
    errs_init(&e);
    int rc;
    if (strcmp(path, "-") == 0)
        rc = fs_read_file("/dev/stdin", SUBMIT_MAX_INPUT, text, len, &e);
    else
        rc = fs_read_file(path, SUBMIT_MAX_INPUT, text, len, &e);
    if (rc != 0)
        cli_print_errs(stderr, &e);
    errs_free(&e);
    return rc;
}

/* one_document - true when text holds exactly one JSON value spread over
 * several lines (a pretty-printed submission) rather than NDJSON */
static bool one_document(const char *text, size_t len)
{
    size_t lines = 0;
    bool content = false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            if (content)
                lines++;
            content = false;
        } else if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r') {
            content = true;
        }
    }
    if (content)
        lines++;
    if (lines <= 1)
        return false;               /* NDJSON path handles a single line */
    json_error_t err;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!doc)
        return false;
    json_decref(doc);
    return true;
}

static void take_doc(struct cli_intake *in, const struct mapping *m,
                     long line, const char *raw, size_t rawlen, json_t *doc)
{
    struct errs e;
    errs_init(&e);
    struct record *rec = NULL;
    if (map_apply(m, doc, &rec, &e) == 0)
        cli_intake_add(in, line, raw, rawlen, rec);
    else
        cli_intake_reject(in, line, &e);
    errs_free(&e);
}

int cmd_submit(int argc, char **argv)
{
    struct cli_common c = { 0 };
    long batch = 1000;
    static const struct option opts[] = {
        { "batch", required_argument, NULL, 'b' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        if (o == 'b') {
            if (config_parse_int(optarg, 1, 100000, &batch) != 0) {
                fprintf(stderr, "ferry submit: --batch: '%s' is not a whole "
                                "number from 1 to 100000\n", optarg);
                return EX_USAGE;
            }
        } else if (o == 'h' || o == CLI_OPT_HELP) {
            usage(stdout);
            return EX_OK;
        } else {
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return EX_USAGE;
    }
    const char *service = argv[optind], *path = argv[optind + 1];

    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        return rc;
    const struct service_config *svc = config_service(cfg, service);
    if (!svc || !svc->mapping) {
        rc = cli_check_name("submit", CLI_SERVICE, service, cfg, NULL);
        if (rc == 0) {
            fprintf(stderr, "ferry submit: service '%s' has no mapping\n", service);
            rc = EX_CONFIG;
        }
        goto out;
    }
    if (read_input(path, &text, &len) != 0) {
        rc = EX_NOINPUT;
        goto out;
    }
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;

    struct cli_intake in = { .spool = sp, .svc = svc, .client = "cli",
                             .json = c.json, .quiet = c.quiet,
                             .batch = (size_t)batch };
    if (cli_intake_init(&in) != 0) {
        rc = EX_OSERR;
        goto out;
    }
    const struct mapping *m = svc->mapping;
    if (one_document(text, len)) {
        struct errs e;
        errs_init(&e);
        json_t *doc = NULL;
        if (map_parse_json(text, len, &m->limits, &doc, &e) == 0) {
            take_doc(&in, m, 1, text, len, doc);
            json_decref(doc);
        } else {
            cli_intake_reject(&in, 1, &e);
        }
        errs_free(&e);
    } else {
        struct map_ndjson it;
        map_ndjson_init(&it, text, len);
        for (;;) {
            struct errs e;
            errs_init(&e);
            json_t *doc = NULL;
            size_t start = it.pos;
            int more = map_ndjson_next(&it, &m->limits, &doc, &e);
            if (more <= 0) {
                errs_free(&e);
                break;
            }
            /* the raw line, for the payload column */
            const char *raw = text + start;
            size_t rawlen = it.pos - start;
            while (rawlen && (raw[rawlen - 1] == '\n' || raw[rawlen - 1] == '\r'))
                rawlen--;
            while (rawlen && (*raw == '\n' || *raw == '\r' || *raw == ' ')) {
                raw++;
                rawlen--;
            }
            if (doc) {
                take_doc(&in, m, it.line, raw, rawlen, doc);
                json_decref(doc);
            } else {
                cli_intake_reject(&in, it.line, &e);
            }
            errs_free(&e);
        }
    }
    rc = cli_intake_finish(&in);
out:
    free(text);
    spool_close(sp);
    config_free(cfg);
    return rc;
}
