/* cmd_edit.c - `ferry edit REF`: fix a record's submission and requeue it.
 *
 * The stored payload (the original JSON, or the CSV row as a JSON object
 * of its columns) is changed with --set path=value (repeatable; the path
 * is the mapping's JSON path subset; path:=JSON sets a JSON value) or in
 * $EDITOR as pretty JSON.  The result goes through the service's mapping
 * again: if anything is wrong every problem is listed and nothing
 * changes.  Otherwise the difference of the mapped records is shown
 * (personal fields masked unless --reveal) and spool_edit replaces the
 * payload (the first original is kept), requeues the record and audits
 * the change with a summary naming the fields changed; personal values
 * never go into the audit.  --json prints the outcome as one JSON
 * document (built with jansson) instead of the difference. */
#include "cli/cli.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/mask.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EDIT_MAX_SETS 64
#define EDIT_DETAIL_MAX 2000

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry edit REF [--set PATH=VALUE ...] [--reason TEXT]\n"
        "                      [--reveal] [--dry-run] [--json]\n\n"
        "Without --set the submission opens in $EDITOR (default vi) as JSON.\n"
        "PATH is a JSON path as in the mapping, e.g.\n"
        "  --set 'answers[question_id=2].answer_text=QQ123456C'\n"
        "VALUE is always text; PATH:=JSON sets a JSON value (a number, true).\n"
        "The result is validated through the service's mapping again; if it\n"
        "passes, the difference is shown (personal fields masked unless\n"
        "--reveal), the record is requeued and the change audited.\n"
        "--json prints the outcome instead: {\"reference\", \"result\":\n"
        "\"requeued\"|\"unchanged\"|\"refused\", \"before\", \"after\", \"changes\":\n"
        "[{\"path\", \"old\", \"new\"}], \"problems\": [{\"where\", \"message\"}]}\n"
        "(personal values \"***\" unless --reveal; --dry-run adds \"dry_run\").\n\n"
        "Common: --config FILE, --spool DIR, --actor NAME (default: OS user).\n"
        "Exit: 0 done or nothing changed, 64 usage, 65 invalid or refused\n"
        "(every problem listed, nothing changed), 67 no such record.\n");
}

/* assign_eq - the '=' separating PATH from VALUE: the first one outside
 * [selectors] and "quotes"; NULL when there is none */
static const char *assign_eq(const char *s)
{
    int depth = 0;
    bool q = false;
    for (; *s; s++) {
        if (*s == '"')
            q = !q;
        else if (!q && *s == '[')
            depth++;
        else if (!q && *s == ']' && depth)
            depth--;
        else if (!q && !depth && *s == '=')
            return s;
    }
    return NULL;
}

/* map_payload - the mapping applied to a payload: JSON documents through
 * map_apply, rows by field name (CSV import, the console's assisted
 * digital form) through map_apply_object */
static int map_payload(const struct mapping *m, const char *client,
                       const json_t *doc, struct record **out, struct errs *e)
{
    if (client && (strcmp(client, "csv") == 0
                   || strcmp(client, "assisted") == 0))
        return map_apply_object(m, doc, out, e);
    return map_apply(m, doc, out, e);
}

/* diff - the changed values of a and b (record_diff): unified-style lines
 * to out, masked unless reveal; a summary to detail for the audit, which
 * names a personal field but never holds its values; and (changes not
 * NULL) {"path","old","new"} objects to changes.  Returns values changed,
 * or -1 out of memory. */
static long diff(const char *ref, const struct record *a,
                 const struct record *b, bool reveal, struct buf *out,
                 struct buf *detail, json_t *changes)
{
    struct record_diff d;
    if (record_diff(a, b, &d) != 0)
        return -1;
    buf_printf(out, "--- %s (stored)\n+++ %s (edited)\n@@ %zu field%s "
               "changed @@\n", ref, ref, d.n, d.n == 1 ? "" : "s");
    for (size_t i = 0; i < d.n; i++) {
        const struct record_change *c = &d.v[i];
        const char *at = c->old_text ? c->old_text : "(absent)";
        const char *bt = c->new_text ? c->new_text : "(absent)";
        const char *ma = mask_text(at, c->personal, reveal);
        const char *mb = mask_text(bt, c->personal, reveal);
        buf_printf(out, "-%s: %s\n+%s: %s%s\n", c->path, ma, c->path, mb,
                   mb != bt ? " (changed)" : "");
        if (changes)
            json_array_append_new(changes, json_pack("{s:s,s:s,s:s}",
                                  "path", c->path, "old", ma, "new", mb));
        if (detail->len < EDIT_DETAIL_MAX) {
            if (detail->len)
                buf_puts(detail, "; ");
            if (c->personal)
                buf_printf(detail, "%s (personal, changed)", c->path);
            else
                buf_printf(detail, "%s: '%.80s' -> '%.80s'", c->path, at, bt);
        }
    }
    long n = (long)d.n;
    record_diff_free(&d);
    return n;
}

/* problems_add - e's problems as {"where","message"} onto a */
static void problems_add(json_t *a, const struct errs *e)
{
    for (size_t i = 0; a && i < e->n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s}", "where",
                                           e->v[i].where, "message",
                                           e->v[i].msg));
}

/* plain_json - a record as display JSON, personal values masked unless
 * reveal (new reference; JSON null when there is none) */
static json_t *plain_json(const struct record *r, bool reveal)
{
    json_t *j = r ? mask_record(r, reveal) : NULL;
    return j ? j : json_null();
}

/* print_outcome - the --json document; EX_OSERR when it cannot be built */
static int print_outcome(const char *ref, const char *result,
                         const struct record *before,
                         const struct record *after, bool reveal, bool dry,
                         json_t *changes, json_t *problems)
{
    json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:O,s:O}", "reference", ref,
                          "result", result, "before",
                          plain_json(before, reveal), "after",
                          plain_json(after, reveal), "changes", changes,
                          "problems", problems);
    if (o && dry)
        json_object_set_new(o, "dry_run", json_true());
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s) {
        fprintf(stderr, "ferry edit: out of memory\n");
        return EX_OSERR;
    }
    puts(s);
    free(s);
    return EX_OK;
}

/* run_editor - text in $EDITOR; *out the edited bytes (caller frees).
 * 0 ok, -1 with the reason printed. */
static int run_editor(const char *text, char **out, size_t *outlen)
{
    const char *tmpd = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/ferry-edit.XXXXXX.json",
             tmpd && *tmpd ? tmpd : "/tmp");
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        fprintf(stderr, "ferry edit: cannot create %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    size_t len = strlen(text);
    int rc = -1;
    if (write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
        fprintf(stderr, "ferry edit: cannot write %s\n", path);
        goto out;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "ferry edit: fork: %s\n", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        const char *ed = getenv("EDITOR");
        if (!ed || !*ed)
            setenv("EDITOR", "vi", 1);
        execl("/bin/sh", "sh", "-c", "$EDITOR \"$1\"", "ferry-edit", path,
              (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "ferry edit: the editor failed (status %d); nothing "
                        "changed\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        goto out;
    }
    struct errs e;
    errs_init(&e);
    if (fs_read_file(path, MAP_DEFAULT_MAX_BODY * 4, out, outlen, &e) != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        goto out;
    }
    errs_free(&e);
    rc = 0;
out:
    unlink(path);
    return rc;
}

int cmd_edit(int argc, char **argv)
{
    struct cli_common c = { 0 };
    const char *reason = NULL;
    const char *sets[EDIT_MAX_SETS];
    size_t nsets = 0;
    bool reveal = false, dry = false;
    static const struct option opts[] = {
        { "set",     required_argument, NULL, 's' },
        { "reason",  required_argument, NULL, 'r' },
        { "reveal",  no_argument,       NULL, 'R' },
        { "dry-run", no_argument,       NULL, 'n' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        switch (opt) {
        case 's':
            if (nsets == EDIT_MAX_SETS || !assign_eq(optarg)) {
                fprintf(stderr, "ferry edit: --set '%s': %s\n", optarg,
                        nsets == EDIT_MAX_SETS
                            ? "too many --set options (at most 64)"
                            : "give PATH=VALUE, e.g. "
                              "'answers[question_id=2].answer_text=QQ123456C'");
                return EX_USAGE;
            }
            sets[nsets++] = optarg;
            break;
        case 'r': reason = optarg; break;
        case 'R': reveal = true; break;
        case 'n': dry = true; break;
        case 'h':
        case CLI_OPT_HELP: usage(stdout); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return EX_USAGE;
    }
    const char *ref = argv[optind];
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    struct spool_record *r = NULL;
    struct record *oldrec = NULL, *newrec = NULL;
    json_t *doc = NULL;
    char *edited = NULL, *newpayload = NULL, *newjson = NULL, *pretty = NULL;
    const char *result = NULL;           /* --json: the outcome to print */
    json_t *changes = c.json ? json_array() : NULL;
    json_t *problems = c.json ? json_array() : NULL;
    struct buf out, detail;
    buf_init(&out, 0);
    buf_init(&detail, 0);
    struct errs e;
    errs_init(&e);
    int rc = EX_OSERR;
    if (c.json && (!changes || !problems)) {
        fprintf(stderr, "ferry edit: out of memory\n");
        goto out;
    }
    if ((rc = cli_load_config(&c, &cfg)) != 0)
        goto out;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    int g = spool_get(sp, ref, SPOOL_WITH_PAYLOAD, &r, &e);
    if (g == 1) {
        fprintf(stderr, "%s: no such record\n", ref);
        rc = EX_NOUSER;
        goto out;
    }
    if (g != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_IOERR;
        goto out;
    }
    if (!r->payload || r->payload_purged) {
        fprintf(stderr, "%s: the payload is gone (purged); nothing to edit\n",
                ref);
        rc = EX_DATAERR;
        goto out;
    }
    const struct service_config *svc = config_service(cfg, r->service);
    const struct mapping *m = svc ? svc->mapping : NULL;
    if (!m) {
        fprintf(stderr, "%s: service %s has no mapping in %s\n", ref,
                r->service, cfg->path);
        rc = EX_CONFIG;
        goto out;
    }
    if (map_parse_json((const char *)r->payload, r->payload_len, &m->limits,
                       &doc, &e) != 0) {
        fprintf(stderr, "%s: the stored payload is not JSON:\n", ref);
        cli_print_errs(stderr, &e);
        rc = EX_DATAERR;
        goto out;
    }
    if (nsets) {
        for (size_t i = 0; i < nsets; i++) {
            const char *eq = assign_eq(sets[i]);
            bool raw = eq > sets[i] && eq[-1] == ':';
            char *path = strndup(sets[i], (size_t)(eq - sets[i]) - (raw ? 1 : 0));
            json_t *val = raw ? json_loads(eq + 1, JSON_DECODE_ANY, NULL)
                              : json_string(eq + 1);
            char why[256] = "";
            if (!path || !val) {
                fprintf(stderr, "--set %s: %s\n", sets[i],
                        raw ? "not a JSON value" : "not valid UTF-8 text");
                free(path);
                json_decref(val);
                rc = EX_USAGE;
                goto out;
            }
            if (jpath_set(doc, path, val, why, sizeof why) != 0) {
                fprintf(stderr, "--set %s: %s; nothing changed\n", sets[i], why);
                char w[300];
                snprintf(w, sizeof w, "--set %s", sets[i]);
                errs_add(&e, w, "%s", why);
                result = "refused";
                free(path);
                rc = EX_DATAERR;
                goto out;
            }
            free(path);
        }
    } else {
        pretty = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        size_t elen = 0;
        if (!pretty || run_editor(pretty, &edited, &elen) != 0) {
            rc = EX_DATAERR;           /* nothing changed */
            goto out;
        }
        if (strcmp(edited, pretty) == 0) {
            if (!c.json)
                printf("%s: no change\n", ref);
            result = "unchanged";
            rc = EX_OK;
            goto out;
        }
        json_decref(doc);
        doc = NULL;
        if (map_parse_json(edited, elen, &m->limits, &doc, &e) != 0) {
            fprintf(stderr, "%s: the edited text is not acceptable JSON; "
                            "nothing changed:\n", ref);
            cli_print_errs(stderr, &e);
            result = "refused";
            rc = EX_DATAERR;
            goto out;
        }
    }
    /* validate through the mapping, as at the door */
    if (map_payload(m, r->client, doc, &newrec, &e) != 0) {
        fprintf(stderr, "%s: the edited submission is invalid; nothing "
                        "changed:\n", ref);
        cli_print_errs(stderr, &e);
        result = "refused";
        rc = EX_DATAERR;
        goto out;
    }
    errs_clear(&e);
    oldrec = r->record_json ? record_from_json(r->record_json, &e) : NULL;
    if (!oldrec) {
        errs_clear(&e);
        json_t *od = NULL;
        if (map_parse_json((const char *)r->payload, r->payload_len,
                           &m->limits, &od, &e) == 0)
            map_payload(m, r->client, od, &oldrec, &e);
        json_decref(od);
        errs_clear(&e);
    }
    if (!oldrec)
        oldrec = record_new();
    long changed = diff(ref, oldrec, newrec, reveal, &out, &detail, changes);
    if (changed < 0) {
        fprintf(stderr, "ferry edit: out of memory\n");
        rc = EX_OSERR;
        goto out;
    }
    if (!c.json)
        fputs(buf_str(&out), stdout);
    if (!changed) {
        if (!c.json)
            printf("%s: the mapped record is unchanged (the mapping reads "
                   "none of the values changed); nothing done\n", ref);
        result = "unchanged";
        rc = EX_OK;
        goto out;
    }
    if (dry) {
        if (!c.json)
            printf("%s: dry run; nothing changed\n", ref);
        result = "unchanged";
        rc = EX_OK;
        goto out;
    }
    newpayload = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    newjson = record_to_json(newrec);
    if (!newpayload || !newjson) {
        fprintf(stderr, "ferry edit: out of memory\n");
        rc = EX_SOFTWARE;
        goto out;
    }
    if (spool_edit(sp, ref, newpayload, strlen(newpayload), newjson,
                   cli_actor(&c), reason ? reason : "edited", buf_str(&detail),
                   &e) != 0) {
        cli_print_errs(stderr, &e);
        fprintf(stderr, "%s: not changed\n", ref);
        result = "refused";
        rc = EX_DATAERR;
        goto out;
    }
    /* the search index follows the edited record */
    char **pairs = NULL;
    size_t np = 0;
    if (map_search_values(m, newrec, &pairs, &np) != 0
        || spool_search_set(sp, ref, pairs, np, &e) != 0) {
        cli_print_errs(stderr, &e);
        fprintf(stderr, "%s: the search index was not updated (run "
                        "'ferry find --reindex')\n", ref);
    }
    map_search_values_free(pairs, np);
    if (!c.json)
        printf("%s: edited and requeued (%ld field%s changed; the original "
               "is kept)\n", ref, changed, changed == 1 ? "" : "s");
    result = "requeued";
    rc = EX_OK;
out:
    if (c.json && result) {
        if (strcmp(result, "refused") == 0)
            problems_add(problems, &e);
        int prc = print_outcome(ref, result, oldrec, newrec, reveal,
                                dry && strcmp(result, "refused") != 0,
                                changes, problems);
        if (prc != EX_OK)
            rc = prc;
    }
    json_decref(changes);
    json_decref(problems);
    json_decref(doc);
    free(edited);
    free(pretty);
    free(newpayload);
    free(newjson);
    record_free(oldrec);
    record_free(newrec);
    spool_record_free(r);
    buf_free(&out);
    buf_free(&detail);
    errs_free(&e);
    spool_close(sp);
    config_free(cfg);
    return rc;
}
