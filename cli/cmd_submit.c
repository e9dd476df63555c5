/* cmd_submit.c - `ferry submit SERVICE FILE|-`: one JSON document or
 * NDJSON (one document per line) through the service's mapping into the
 * spool.  Every refused document is listed with its line, JSON path and
 * reason; the accepted ones are kept.  Exit 0 when all were accepted, 65
 * when any was refused. */
#include "cli/cli.h"
#include "cli/cli_intake.h"
#include "config/config.h"
#include "mappings/jtree.h"
#include "mappings/mapping.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
        "'ferry submit: line N: JSON.PATH: reason'.  A JSON array is taken element by element\n"
        "(problems name [i].PATH); a UTF-8 byte-order mark is skipped.  Each\n"
        "document or line is read only up to the mapping's max-body.\n"
        "\n"
        "Exit: 0 all accepted, 65 some refused (the others are kept),\n"
        "     66 FILE missing, 78 configuration problem, 73 spool cannot be\n"
        "     opened, 74 ledger error.\n");
}

/* ---- reading under the cap ---------------------------------------------
 *
 * The input is read through a 64 KiB window; a line is kept only up to
 * the mapping's max-body, so a 200 MB line costs 64 KiB plus the cap, and
 * is refused as soon as the cap is passed (the rest of it is skipped, not
 * stored). */

struct reader {
    int fd;
    char win[64 * 1024];
    size_t wpos, wlen;
    bool eof;
    long line;                   /* of the line last returned */
    struct buf cur;              /* the line, capped */
};

enum rd { RD_EOF = 0, RD_LINE, RD_TOOBIG, RD_ERROR };

/* next_line - the next line into r->cur (no newline).  RD_TOOBIG: the
 * line passed the cap; *seen says how much of it was read. */
static enum rd next_line(struct reader *r, size_t *seen)
{
    buf_reset(&r->cur);
    *seen = 0;
    bool toobig = false, any = false;
    for (;;) {
        if (r->wpos == r->wlen) {
            if (r->eof)
                break;
            ssize_t n = read(r->fd, r->win, sizeof r->win);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return RD_ERROR;
            }
            if (n == 0) {
                r->eof = true;
                break;
            }
            r->wpos = 0;
            r->wlen = (size_t)n;
        }
        any = true;
        const char *p = r->win + r->wpos;
        const char *nl = memchr(p, '\n', r->wlen - r->wpos);
        size_t n = nl ? (size_t)(nl - p) : r->wlen - r->wpos;
        r->wpos += n + (nl ? 1 : 0);
        *seen += n;
        if (!toobig && buf_append(&r->cur, p, n) != BUF_OK) {
            toobig = true;
            buf_reset(&r->cur);
        }
        if (nl)
            break;
    }
    if (!any)
        return RD_EOF;
    r->line++;
    if (r->cur.len && buf_str(&r->cur)[r->cur.len - 1] == '\r')
        r->cur.len--;
    return toobig ? RD_TOOBIG : RD_LINE;
}

/* first_char - first byte of s[0..n) that is not blank (after a BOM) */
static char first_char(const char *s, size_t n)
{
    size_t i = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
                     s[i] == '\n'))
        i++;
    return i < n ? s[i] : '\0';
}

static bool blank(const char *s, size_t n)
{
    return first_char(s, n) == '\0';
}

/* reject_in - the problems of e as those of element prefix ("[2]") of
 * the document at line, or as they are when prefix is NULL */
static void reject_in(struct cli_intake *in, long line, const char *prefix,
                      const struct errs *e)
{
    if (!prefix) {
        cli_intake_reject(in, line, e);
        return;
    }
    struct errs pe;
    errs_init(&pe);
    for (size_t k = 0; k < e->n; k++) {
        char w[512];
        snprintf(w, sizeof w, "%s%s%s", prefix, e->v[k].where[0] ? "." : "",
                 e->v[k].where);
        errs_add(&pe, w, "%s", e->v[k].msg);
    }
    cli_intake_reject(in, line, &pe);
    errs_free(&pe);
}

/* take_doc - one parsed document through the mapping (doc borrowed) */
static void take_doc(struct cli_intake *in, const struct mapping *m,
                     long line, const char *prefix, const char *raw,
                     size_t rawlen, const json_t *doc)
{
    struct errs e;
    errs_init(&e);
    struct record *rec = NULL;
    if (map_apply(m, doc, &rec, &e) == 0)
        cli_intake_add(in, line, raw, rawlen, rec);
    else
        reject_in(in, line, prefix, &e);
    errs_free(&e);
}

/* take_fast - text as one submission through the fast parse (jtree.h):
 * true when it was taken there (accepted or refused by the mapping),
 * false when the front door must judge it (then nothing was done) */
static bool take_fast(struct cli_intake *in, const struct mapping *m,
                      long line, const char *text, size_t len)
{
    if (!in->jt)
        return false;
    struct map_limits lim;
    map_limits_effective(&m->limits, &lim);
    size_t b = line <= 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0
             ? 3 : 0;
    const struct jt_doc *d = NULL;
    if (jt_parse(in->jt, text + b, len - b, lim.max_body, lim.max_depth,
                 lim.max_fields, &d) != 0)
        return false;
    struct errs e;
    errs_init(&e);
    struct record *rec = NULL;
    long at = line ? line : 1;
    if (map_apply_jt(m, d, &rec, &e) == 0)
        cli_intake_add(in, at, text + b, len - b, rec);
    else
        cli_intake_reject(in, at, &e);
    errs_free(&e);
    return true;
}

/* take_text - text (a whole document, line 0, or one NDJSON line) as
 * one submission, or, when it is a JSON array, each element as one:
 * their problems are named [i].PATH */
static void take_text(struct cli_intake *in, const struct mapping *m,
                      long line, const char *text, size_t len)
{
    if (take_fast(in, m, line, text, len))
        return;
    struct errs e;
    errs_init(&e);
    json_t *doc = NULL;
    long at = line ? line : 1;
    if (map_parse_submissions(text, len, &m->limits, line, &doc, &e) != 0) {
        cli_intake_reject(in, at, &e);
    } else if (json_is_array(doc)) {
        size_t i;
        json_t *el;
        json_array_foreach(doc, i, el) {
            char name[32];
            snprintf(name, sizeof name, "[%zu]", i);
            char *raw = json_dumps(el, JSON_COMPACT);
            if (raw) {
                take_doc(in, m, at, name, raw, strlen(raw), el);
            } else {
                errs_clear(&e);
                errs_add(&e, "", "out of memory");
                reject_in(in, at, name, &e);
            }
            free(raw);
        }
    } else {
        size_t b = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        take_doc(in, m, at, NULL, text + b, len - b, doc);
    }
    json_decref(doc);
    errs_free(&e);
}

/* one_line_doc - the line is one whole JSON document (NDJSON) */
static bool one_line_doc(const char *s, size_t n)
{
    json_error_t je;
    size_t b = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    json_t *d = json_loadb(s + b, n - b, 0, &je);
    json_decref(d);
    return d != NULL;
}

/* show_progress - how far into the input (bytes of a file; lines of a
 * pipe, whose length is unknown) */
static void show_progress(const struct reader *r, struct cli_intake *in)
{
    struct stat st;
    off_t pos = lseek(r->fd, 0, SEEK_CUR);
    if (pos >= 0 && fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode))
        cli_progress_update(in->progress, "input-bytes",
                            (int64_t)pos - (int64_t)(r->wlen - r->wpos),
                            (int64_t)st.st_size);
    else
        cli_progress_update(in->progress, "input-lines", r->line, 0);
}

/* read_all - submissions of r: one document spread over lines (a
 * pretty-printed JSON object or array, up to max-body), else NDJSON line
 * by line.  Input that yields only refusals stops after MAX_REFUSED_RUN
 * lines, saying how many were not read. */
#define MAX_REFUSED_RUN 100
static int read_all(struct reader *r, struct cli_intake *in,
                    const struct mapping *m, const char *path)
{
    size_t cap = m->limits.max_body ? m->limits.max_body : ((size_t)1 << 20);
    size_t seen;
    enum rd k;
    bool decided = false, whole = false;
    struct buf doc;
    buf_init(&doc, cap + 1);
    size_t run = 0;
    while ((k = next_line(r, &seen)) != RD_EOF) {
        if (k == RD_ERROR) {
            fprintf(stderr, "ferry submit: %s: read error: %s\n", path,
                    strerror(errno));
            buf_free(&doc);
            return EX_IOERR;
        }
        const char *s = buf_str(&r->cur);
        size_t n = r->cur.len;
        if (!decided && k == RD_LINE && blank(s, n))
            continue;
        if (!decided) {
            decided = true;
            char c0 = k == RD_LINE ? first_char(s, n) : '\0';
            whole = (c0 == '{' || c0 == '[') && !one_line_doc(s, n);
        }
        if (whole) {
            if (k == RD_TOOBIG || buf_append(&doc, s, n) != BUF_OK
                || buf_append(&doc, "\n", 1) != BUF_OK) {
                struct errs e;
                errs_init(&e);
                errs_add(&e, "body", "larger than the limit of %zu bytes "
                         "(refused at line %ld; the rest was not read)", cap,
                         r->line);
                cli_intake_reject(in, 1, &e);
                errs_free(&e);
                buf_free(&doc);
                return 0;
            }
            continue;
        }
        if (k == RD_LINE && blank(s, n))
            continue;
        size_t before = in->rejected;
        if (k == RD_TOOBIG) {
            struct errs e;
            errs_init(&e);
            char w[32];
            snprintf(w, sizeof w, "line %ld", r->line);
            errs_add(&e, w, "larger than the limit of %zu bytes (%zu bytes; "
                     "none kept past the limit)", cap, seen);
            cli_intake_reject(in, r->line, &e);
            errs_free(&e);
        } else {
            take_text(in, m, r->line, s, n);
        }
        if ((r->line & 255) == 0)
            show_progress(r, in);
        run = in->rejected > before ? run + 1 : 0;
        if (run >= MAX_REFUSED_RUN && in->accepted + in->duplicates == 0
            && in->rejected == run) {
            long stop = r->line, more = 0;
            while ((k = next_line(r, &seen)) != RD_EOF && k != RD_ERROR)
                more++;
            fprintf(stderr, "ferry submit: %s: stopped after %zu refused "
                    "lines in a row and none accepted (line %ld): this does "
                    "not look like JSON or NDJSON; %ld more line%s not read\n",
                    path, run, stop, more, more == 1 ? "" : "s");
            break;
        }
    }
    if (whole)
        take_text(in, m, 0, buf_str(&doc), doc.len);
    buf_free(&doc);
    return 0;
}

int cmd_submit(int argc, char **argv)
{
    struct cli_common c = { 0 };
    long batch = CLI_INTAKE_BATCH;
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
        cli_args_msg(argc - optind, 2, 2, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    const char *service = argv[optind], *path = argv[optind + 1];

    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    struct reader *rd = NULL;
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
    rd = calloc(1, sizeof *rd);
    if (!rd) {
        rc = EX_OSERR;
        goto out;
    }
    buf_init(&rd->cur, (svc->mapping->limits.max_body
                        ? svc->mapping->limits.max_body : ((size_t)1 << 20)));
    rd->fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (rd->fd < 0) {
        fprintf(stderr, "ferry submit: %s: %s\n", path, strerror(errno));
        rc = EX_NOINPUT;
        goto out;
    }
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;

    struct cli_intake in = { .spool = sp, .cfg = cfg, .svc = svc,
                             .client = "cli", .channel = SPOOL_CH_CLI,
                             .json = c.json, .quiet = c.quiet,
                             .batch = (size_t)batch,
                             .min_free_mb = cfg->spool_min_free_mb,
                             .progress = cli_progress_new("submit", c.quiet,
                                                          true) };
    if ((rc = cli_intake_init(&in)) != 0) {
        cli_progress_end(in.progress, false);
        goto out;
    }
    rc = read_all(rd, &in, svc->mapping, path);
    cli_progress_end(in.progress, !in.failed && !rc);
    in.progress = NULL;
    int frc = cli_intake_finish(&in);
    if (!rc)
        rc = frc;
    goto out;
out:
    if (rd) {
        if (rd->fd > 0)
            close(rd->fd);
        buf_free(&rd->cur);
        free(rd);
    }
    spool_close(sp);
    config_free(cfg);
    return rc;
}
