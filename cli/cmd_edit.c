/* cmd_edit.c - `ferry edit REF`: fix a record's submission and requeue it.
 *
 * The stored payload (the original JSON, or the CSV row as a JSON object
 * of its columns) is changed with --set path=value (repeatable; the path
 * is the mapping's JSON path subset, set by jpath_set; path:=JSON sets a
 * JSON value) or in $EDITOR as pretty JSON.  A record edit cannot requeue
 * is refused first, before anything is shown.  The result goes through
 * the service's mapping again (map_apply_payload): if anything is wrong
 * every problem is listed and nothing changes.  Otherwise the difference
 * of the mapped records (record_diff, masked by mask_text unless
 * --reveal) is shown and spool_edit replaces the payload (the first
 * original is kept), requeues the record and audits the change with a
 * summary naming the values changed; personal values never go into the
 * audit.  A reveal (--reveal, or the editor, which shows everything) is
 * audited before anything is shown.  --json prints the outcome as one
 * JSON document instead of the difference.
 *
 * This file formats and orchestrates; mappings/ decides what a record, a
 * difference and a masked value are. */
#include "cli/cli.h"
#include "adapters/admit.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/mask.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/errs_json.h"
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
        "Without --set the submission opens in $EDITOR (default vi) as JSON:\n"
        "that shows the whole submission, so it needs --reason and is\n"
        "audited as a reveal, as --reveal is.\n"
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
        "A record that edit cannot requeue (confirmed, discarded, batched,\n"
        "sent, delivering...) is refused before anything is shown.\n"
        "Exit: 0 done or nothing changed, 64 usage (--reveal or the editor\n"
        "without --reason), 65 invalid or refused (every problem listed,\n"
        "nothing changed), 67 no such record, 74 the reveal cannot be audited.\n");
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

/* problems_add - e's problems (errs_json's shape) onto a */
static void problems_add(json_t *a, const struct errs *e)
{
    json_t *p = a ? errs_json(e) : NULL;
    json_array_extend(a, p);
    json_decref(p);
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

struct edit_args {
    struct cli_common c;
    const char *ref, *reason;
    const char *sets[EDIT_MAX_SETS];
    size_t nsets;
    bool reveal, dry;
};

/* parse_args - options into a; EX_OK to go on, else the exit code (help
 * printed: *done set) */
static int parse_args(int argc, char **argv, struct edit_args *a, bool *done)
{
    static const struct option opts[] = {
        { "set",     required_argument, NULL, 's' },
        { "reason",  required_argument, NULL, 'r' },
        { "reveal",  no_argument,       NULL, 'R' },
        { "dry-run", no_argument,       NULL, 'n' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int opt;
    *done = false;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&a->c, opt, optarg))
            continue;
        switch (opt) {
        case 's':
            if (a->nsets == EDIT_MAX_SETS || !assign_eq(optarg)) {
                fprintf(stderr, "ferry edit: --set '%s': %s\n", optarg,
                        a->nsets == EDIT_MAX_SETS
                            ? "too many --set options (at most 64)"
                            : "give PATH=VALUE, e.g. "
                              "'answers[question_id=2].answer_text=QQ123456C'");
                return EX_USAGE;
            }
            a->sets[a->nsets++] = optarg;
            break;
        case 'r': a->reason = optarg; break;
        case 'R': a->reveal = true; break;
        case 'n': a->dry = true; break;
        case 'h':
        case CLI_OPT_HELP: usage(stdout); *done = true; return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_args_msg(argc - optind, 1, 1, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    a->ref = argv[optind];
    if ((a->reveal || !a->nsets) && (!a->reason || !*a->reason)) {
        fprintf(stderr, "ferry edit: %s needs --reason TEXT (it shows the "
                "whole submission, and that is audited)\n",
                a->reveal ? "--reveal" : "editing in $EDITOR");
        return EX_USAGE;
    }
    return EX_OK;
}

/* One edit in progress: what was loaded, what it became, what to say. */
struct edit_run {
    struct ferry_config *cfg;
    struct spool *sp;
    struct spool_record *r;
    const struct service_config *svc;
    const struct mapping *m;
    bool named;                        /* a CSV row, by column name */
    json_t *doc;                       /* the payload being edited */
    struct record *oldrec, *newrec;
    const char *result;                /* --json: the outcome to print */
    json_t *changes, *problems;
    struct buf out, detail;
    struct errs e;
};

/* load - config, spool, the record (refused when edit cannot requeue it),
 * its mapping and payload; the reveal audited before anything is shown */
static int load(const struct edit_args *a, struct edit_run *x)
{
    int rc;
    if ((rc = cli_load_config(&a->c, &x->cfg)) != 0 ||
        (rc = cli_open_spool(&a->c, x->cfg, &x->sp)) != 0)
        return rc;
    /* a record with several deliveries: the edit goes to every one that
     * can take it (spool_edit); show the first of those */
    int g = spool_get_editable(x->sp, a->ref, SPOOL_WITH_PAYLOAD, &x->r,
                               &x->e);
    if (g == 1) {
        cli_msg("%s: no such record", a->ref);
        return EX_NOUSER;
    }
    if (g != 0) {
        cli_print_errs(stderr, &x->e);
        return EX_IOERR;
    }
    if (!spool_edit_allowed(x->r->state)) {
        errs_add(&x->e, a->ref, "cannot edit a %s record: edit requeues "
                 "failed, rejected, held, in-doubt, deferred and queued "
                 "records; nothing changed", spool_state_name(x->r->state));
        cli_print_errs(stderr, &x->e);
        x->result = "refused";
        return EX_DATAERR;
    }
    if (!x->r->payload || x->r->payload_purged) {
        cli_msg("%s: the payload is gone (purged); nothing to edit",
                a->ref);
        return EX_DATAERR;
    }
    const struct service_config *svc = config_service(x->cfg, x->r->service);
    x->svc = svc;
    x->m = svc ? svc->mapping : NULL;
    if (!x->m) {
        cli_msg("%s: service %s has no mapping in %s", a->ref,
                x->r->service, x->cfg->path);
        return EX_CONFIG;
    }
    x->named = x->r->client && (strcmp(x->r->client, "csv") == 0
                             || strcmp(x->r->client, "assisted") == 0);
    if (map_parse_json((const char *)x->r->payload, x->r->payload_len,
                       &x->m->limits, &x->doc, &x->e) != 0) {
        cli_msg("%s: the stored payload is not JSON:", a->ref);
        cli_print_errs(stderr, &x->e);
        return EX_DATAERR;
    }
    if ((a->reveal || !a->nsets) &&
        spool_audit_reveal(x->sp, cli_actor(&a->c), a->ref, a->reason,
                           a->nsets ? "edit" : "edit (editor)", &x->e) != 0) {
        cli_print_errs(stderr, &x->e);
        cli_msg("%s: the reveal cannot be audited, so nothing is "
                        "shown", a->ref);
        return EX_IOERR;
    }
    return EX_OK;
}

/* apply_sets - each --set PATH=VALUE (PATH:=JSON) onto x->doc */
static int apply_sets(const struct edit_args *a, struct edit_run *x)
{
    for (size_t i = 0; i < a->nsets; i++) {
        const char *set = a->sets[i], *eq = assign_eq(set);
        bool raw = eq > set && eq[-1] == ':';
        char *path = strndup(set, (size_t)(eq - set) - (raw ? 1 : 0));
        json_t *val = raw ? json_loads(eq + 1, JSON_DECODE_ANY, NULL)
                          : json_string(eq + 1);
        char why[256] = "", perr[200] = "out of memory";
        struct jpath *p = path ? jpath_parse(path, perr, sizeof perr) : NULL;
        free(path);
        if (!val) {
            cli_msg("--set %s: %s", set,
                    raw ? "not a JSON value" : "not valid UTF-8 text");
            jpath_free(p);
            return EX_USAGE;
        }
        int rc = p ? jpath_set(p, x->doc, val, why, sizeof why) : -1;
        if (!p) {
            json_decref(val);
            snprintf(why, sizeof why, "bad path: %s", perr);
        }
        jpath_free(p);
        if (rc != 0) {
            cli_msg("--set %s: %s; nothing changed", set, why);
            char w[300];
            snprintf(w, sizeof w, "--set %s", set);
            errs_add(&x->e, w, "%s", why);
            x->result = "refused";
            return EX_DATAERR;
        }
    }
    return EX_OK;
}

/* apply_editor - x->doc through $EDITOR; *same when nothing was changed */
static int apply_editor(const struct edit_args *a, struct edit_run *x,
                        bool *same)
{
    char *pretty = json_dumps(x->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *edited = NULL;
    size_t elen = 0;
    int rc = EX_DATAERR;               /* nothing changed */
    *same = false;
    if (!pretty || run_editor(pretty, &edited, &elen) != 0)
        goto out;
    if (strcmp(edited, pretty) == 0) {
        *same = true;
        rc = EX_OK;
        goto out;
    }
    json_decref(x->doc);
    x->doc = NULL;
    if (map_parse_json(edited, elen, &x->m->limits, &x->doc, &x->e) != 0) {
        cli_msg("%s: the edited text is not acceptable JSON; "
                        "nothing changed:", a->ref);
        cli_print_errs(stderr, &x->e);
        x->result = "refused";
        goto out;
    }
    rc = EX_OK;
out:
    free(pretty);
    free(edited);
    return rc;
}

/* admitted - every target of the service can encode the edited record,
 * as the door requires of a new one (adapters/admit.h); problems in x->e */
static bool admitted(struct edit_run *x)
{
    struct adapter_admit *adm = adapter_admit_new(x->cfg, x->svc, &x->e);
    bool ok = adm && adapter_admit_check(adm, x->newrec, &x->e) == 0;
    adapter_admit_free(adm);
    return ok;
}

/* revalidate - the edited payload through the mapping, and the difference
 * to the stored record; *changed = values changed */
static int revalidate(const struct edit_args *a, struct edit_run *x,
                      long *changed)
{
    if (map_apply_payload(x->m, x->doc, x->named, &x->newrec, &x->e) != 0 ||
        !admitted(x)) {
        cli_msg("%s: the edited submission is invalid; nothing "
                        "changed:", a->ref);
        cli_print_errs(stderr, &x->e);
        x->result = "refused";
        return EX_DATAERR;
    }
    errs_clear(&x->e);
    x->oldrec = map_stored_record(x->m, x->r->record_json, x->r->payload,
                                  x->r->payload_len, x->named);
    *changed = x->oldrec ? diff(a->ref, x->oldrec, x->newrec, a->reveal,
                                &x->out, &x->detail, x->changes) : -1;
    if (*changed < 0) {
        fprintf(stderr, "ferry edit: out of memory\n");
        return EX_OSERR;
    }
    if (!a->c.json)
        fputs(buf_str(&x->out), stdout);
    return EX_OK;
}

/* store - the new payload and record, requeued and audited */
static int store(const struct edit_args *a, struct edit_run *x, long changed)
{
    char *payload = json_dumps(x->doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *rjson = record_to_json(x->newrec);
    int rc = EX_OK;
    if (!payload || !rjson) {
        fprintf(stderr, "ferry edit: out of memory\n");
        rc = EX_SOFTWARE;
    } else if (spool_edit(x->sp, a->ref, payload, strlen(payload), rjson,
                          cli_actor(&a->c), a->reason ? a->reason : "edited",
                          buf_str(&x->detail), &x->e) != 0) {
        cli_print_errs(stderr, &x->e);
        cli_msg("%s: not changed", a->ref);
        x->result = "refused";
        rc = EX_DATAERR;
    } else {
        /* the search index follows the edited record */
        char **pairs = NULL;
        size_t np = 0;
        struct errs se;
        errs_init(&se);
        if (map_search_values(x->m, x->newrec, &pairs, &np) != 0
            || spool_search_set(x->sp, a->ref, pairs, np, &se) != 0) {
            cli_print_errs(stderr, &se);
            cli_msg("%s: the search index was not updated (run "
                            "'ferry find --reindex')", a->ref);
        }
        map_search_values_free(pairs, np);
        errs_free(&se);
        if (!a->c.json)
            printf("%s: edited and requeued (%ld field%s changed; the "
                   "original is kept)\n", a->ref, changed,
                   changed == 1 ? "" : "s");
        x->result = "requeued";
    }
    free(payload);
    free(rjson);
    return rc;
}

/* edit - the steps in order; the exit code */
static int edit(const struct edit_args *a, struct edit_run *x)
{
    int rc = load(a, x);
    bool same = false;
    long changed = 0;
    if (rc == EX_OK)
        rc = a->nsets ? apply_sets(a, x) : apply_editor(a, x, &same);
    if (rc != EX_OK)
        return rc;
    if (same) {
        if (!a->c.json)
            printf("%s: no change\n", a->ref);
        x->result = "unchanged";
        return EX_OK;
    }
    if ((rc = revalidate(a, x, &changed)) != EX_OK)
        return rc;
    if (!changed || a->dry) {
        if (!a->c.json)
            printf(!changed ? "%s: the mapped record is unchanged (the "
                              "mapping reads none of the values changed); "
                              "nothing done\n"
                            : "%s: dry run; nothing changed\n", a->ref);
        x->result = "unchanged";
        return EX_OK;
    }
    return store(a, x, changed);
}

int cmd_edit(int argc, char **argv)
{
    struct edit_args a;
    struct edit_run x;
    bool done;
    memset(&a, 0, sizeof a);
    memset(&x, 0, sizeof x);
    int rc = parse_args(argc, argv, &a, &done);
    if (rc != EX_OK || done)
        return rc;
    buf_init(&x.out, 0);
    buf_init(&x.detail, 0);
    errs_init(&x.e);
    x.changes = a.c.json ? json_array() : NULL;
    x.problems = a.c.json ? json_array() : NULL;
    if (a.c.json && (!x.changes || !x.problems)) {
        fprintf(stderr, "ferry edit: out of memory\n");
        rc = EX_OSERR;
    } else {
        rc = edit(&a, &x);
    }
    if (a.c.json && x.result) {
        bool refused = strcmp(x.result, "refused") == 0;
        if (refused)
            problems_add(x.problems, &x.e);
        int prc = print_outcome(a.ref, x.result, x.oldrec, x.newrec,
                                a.reveal, a.dry && !refused, x.changes,
                                x.problems);
        if (prc != EX_OK)
            rc = prc;
    }
    json_decref(x.changes);
    json_decref(x.problems);
    json_decref(x.doc);
    record_free(x.oldrec);
    record_free(x.newrec);
    spool_record_free(x.r);
    buf_free(&x.out);
    buf_free(&x.detail);
    errs_free(&x.e);
    spool_close(x.sp);
    config_free(x.cfg);
    return rc;
}
