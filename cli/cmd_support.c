/* cmd_support.c - the support tools, Postfix's postsuper for records:
 * `ferry retry`, `hold`, `release`, `discard`, `settle`, `audit`, `purge`.
 *
 * Every action goes through one spool call that changes the state and
 * writes the audit entry (who, when, why, before, after) in the same
 * transaction.  References come from the command line, or from stdin with
 * "-" (one per line, blank lines and # comments skipped, so
 * `ferry queue --json | jq ... | ferry retry -` works), or, for
 * retry/hold/discard, from a --state selection. */
#include "cli/cli.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/errs_json.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum action { ACT_RETRY, ACT_HOLD, ACT_RELEASE, ACT_DISCARD, ACT_SETTLE };

static const char *action_names[] = { "retry", "hold", "release", "discard",
                                      "settle" };

/* What each action applies to, said once after a refusal so support staff
 * know what to do next (spool/spool_audit.c holds the real rules). */
static const char *action_hints[] = {
    "retry takes failed, rejected, indoubt, deferred, delivered or sent "
    "records; a queued one is already waiting, a held one needs 'ferry release'",
    "hold takes queued, deferred, failed, rejected, indoubt or received "
    "records (see 'ferry show REF')",
    "release takes held records only (see 'ferry queue --state held')",
    "a closed record cannot be discarded again (see 'ferry show REF')",
    "settle takes in-doubt records only (see 'ferry queue --state indoubt')",
};

static void usage(FILE *f, enum action a)
{
    switch (a) {
    case ACT_RETRY:
        fprintf(f, "usage: ferry retry [--reason TEXT] REF...|-\n"
                   "       ferry retry --state failed|rejected|indoubt|deferred "
                   "[--service S] [--since WHEN]\n\n"
                   "Requeue records for delivery now (attempts are kept).\n");
        break;
    case ACT_HOLD:
        fprintf(f, "usage: ferry hold [--reason TEXT] REF...|-\n\n"
                   "Hold records: nothing is delivered and a held record never "
                   "expires.\n");
        break;
    case ACT_RELEASE:
        fprintf(f, "usage: ferry release [--reason TEXT] REF...|-\n\n"
                   "Put held records back in the queue.\n");
        break;
    case ACT_SETTLE:
        fprintf(f, "usage: ferry settle --delivered [--receipt R] --reason TEXT "
                   "REF...|-\n"
                   "       ferry settle --not-delivered --reason TEXT REF...|-\n\n"
                   "For in-doubt records you have checked with the back end: "
                   "--delivered\nrecords them delivered (with its receipt); "
                   "--not-delivered requeues\nthem to be sent again.  The "
                   "reason (what the back end said) is audited.\n");
        break;
    case ACT_DISCARD:
        fprintf(f, "usage: ferry discard --reason TEXT REF...|-\n"
                   "       ferry discard --reason TEXT --state S [--service S] "
                   "[--since WHEN]\n\n"
                   "Close records for good, with the reason (required).\n");
        break;
    }
    fprintf(f, "\n--target T: the delivery to target T (a record of a service "
               "with several\ntargets has one delivery per target; with "
               "several the action could apply to,\nit is refused without "
               "--target).  With --state, only deliveries to T.\n");
    fprintf(f, "\nCommon: --config FILE, --spool DIR, --actor NAME (default: "
               "OS user), --json.\nExit: 0 all done, 65 some refused (each "
               "named), 67 unknown reference.\n");
}

struct refs {
    char **v;
    char **tg;                     /* per reference: the delivery's target
                                      (a --state selection), or NULL */
    size_t n, cap;
};

static int refs_add_target(struct refs *r, const char *s, size_t len,
                           const char *target);

static int refs_add(struct refs *r, const char *s, size_t len)
{
    return refs_add_target(r, s, len, NULL);
}

static int refs_add_target(struct refs *r, const char *s, size_t len,
                           const char *target)
{
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    if (!len)
        return 0;
    if (len >= SPOOL_REF_MAX) {
        fprintf(stderr, "ferry %s: '%.24s...' is too long for a reference "
                        "(FRY-YYYYMMDD-NNNNNN)\n", cli_command(), s);
        return -1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        char **v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return -1;
        r->v = v;
        char **t = realloc(r->tg, cap * sizeof *t);
        if (!t)
            return -1;
        r->tg = t;
        r->cap = cap;
    }
    r->v[r->n] = strndup(s, len);
    r->tg[r->n] = target ? strdup(target) : NULL;
    if (!r->v[r->n] || (target && !r->tg[r->n])) {
        free(r->v[r->n]);
        free(r->tg[r->n]);
        return -1;
    }
    r->n++;
    return 0;
}

static void refs_free(struct refs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i]);
        free(r->tg[i]);
    }
    free(r->v);
    free(r->tg);
}

/* refs_from_stdin - one reference per line, bounded; blank lines and
 * lines starting with '#' are skipped (a list kept in a file may say why) */
static int refs_from_stdin(struct refs *r)
{
    char line[256];
    size_t count = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (++count > 10000000)
            return -1;
        const char *p = line + strspn(line, " \t");
        if (*p == '#')
            continue;
        if (refs_add(r, line, strlen(line)) != 0) {
            fprintf(stderr, "ferry %s: stdin line %zu: not a reference; give one "
                            "reference per line\n", cli_command(), count);
            return -1;
        }
    }
    return 0;
}

struct collect {
    struct refs *r;
    int err;
};

static int collect_one(void *ctx, const struct spool_record *rec)
{
    struct collect *c = ctx;
    /* a selection by state lists deliveries: each acts on its own */
    if (refs_add_target(c->r, rec->ref, strlen(rec->ref), rec->target) != 0) {
        c->err = 1;
        return 1;
    }
    return 0;
}

struct settle_how {
    bool delivered;
    const char *receipt;
};

static int do_action(struct spool *sp, enum action a, const char *ref,
                     const char *tg, const char *actor, const char *reason,
                     const struct settle_how *sh, struct errs *e)
{
    switch (a) {
    case ACT_SETTLE:  return spool_settle(sp, ref, tg, sh->delivered,
                                          sh->receipt, actor, reason, e);
    case ACT_RETRY:   return spool_retry(sp, ref, tg, actor, reason, e);
    case ACT_HOLD:    return spool_hold(sp, ref, tg, actor, reason, e);
    case ACT_RELEASE: return spool_release(sp, ref, tg, actor, reason, e);
    case ACT_DISCARD: return spool_discard(sp, ref, tg, actor, reason, e);
    }
    return -1;
}

/* moved - the delivery an action moved: the one whose state differs
 * between the listings before and after (the named one when tg is
 * given); its target and states into the buffers */
static void moved(const struct spool_list *b, const struct spool_list *a,
                  const char *tg, char *target, size_t tn, char *from,
                  char *to, size_t sn)
{
    for (size_t i = 0; i < b->n && i < a->n; i++) {
        bool named = tg && strcmp(b->v[i]->target, tg) == 0;
        if (named || (!tg && (b->v[i]->state != a->v[i]->state
                              || b->v[i]->updated_at != a->v[i]->updated_at))) {
            snprintf(target, tn, "%s", b->v[i]->target);
            snprintf(from, sn, "%s", spool_state_name(b->v[i]->state));
            snprintf(to, sn, "%s", spool_state_name(a->v[i]->state));
            return;
        }
    }
}

static int run_action(int argc, char **argv, enum action a)
{
    struct cli_common c = { 0 };
    struct spool_filter f;
    memset(&f, 0, sizeof f);
    const char *reason = NULL, *receipt = NULL;
    int settle_how = 0;                     /* 1 delivered, 2 not */
    bool by_state = false;
    static const struct option opts[] = {
        { "reason",  required_argument, NULL, 'r' },
        { "delivered", no_argument,     NULL, 'D' },
        { "not-delivered", no_argument, NULL, 'N' },
        { "receipt", required_argument, NULL, 'R' },
        { "state",   required_argument, NULL, 's' },
        { "service", required_argument, NULL, 'S' },
        { "since",   required_argument, NULL, 'f' },
        { "target",  required_argument, NULL, 'T' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        long long ms;
        enum spool_state st;
        if (a != ACT_SETTLE && (o == 'D' || o == 'N' || o == 'R')) {
            usage(stderr, a);
            return EX_USAGE;
        }
        switch (o) {
        case 'r': reason = optarg; break;
        case 'D': settle_how = settle_how == 2 ? -1 : 1; break;
        case 'N': settle_how = settle_how == 1 ? -1 : 2; break;
        case 'R': receipt = optarg; break;
        case 's':
            if (spool_state_parse(optarg, &st) != 0) {
                fprintf(stderr, "ferry %s: --state: unknown state '%s'; "
                        "see 'ferry queue --help' for the states\n",
                        action_names[a], optarg);
                return EX_USAGE;
            }
            f.states[f.nstates++ % SPOOL_NSTATES] = st;
            by_state = true;
            break;
        case 'S': f.service = optarg; break;
        case 'T': f.target = optarg; break;
        case 'f':
            if (cli_parse_since(optarg, &ms) != 0) {
                fprintf(stderr, "ferry %s: --since: cannot read time '%s': "
                        "give a date (2026-11-27), an instant "
                        "(2026-11-27T09:00:00Z) or an age (24h, 7d)\n",
                        action_names[a], optarg);
                return EX_USAGE;
            }
            f.since = ms;
            break;
        case 'h':
        case CLI_OPT_HELP: usage(stdout, a); return EX_OK;
        default: usage(stderr, a); return EX_USAGE;
        }
    }
    if (a == ACT_DISCARD && (!reason || !*reason)) {
        fprintf(stderr, "ferry discard: --reason is required: say why the "
                        "record is closed\n");
        return EX_USAGE;
    }
    if (a == ACT_SETTLE && settle_how < 0) {
        fprintf(stderr, "ferry settle: --delivered or --not-delivered, not "
                        "both\n");
        return EX_USAGE;
    }
    if (by_state == (optind < argc) ||
        (by_state && (a == ACT_RELEASE || a == ACT_SETTLE))) {
        usage(stderr, a);
        return EX_USAGE;
    }
    if (a == ACT_SETTLE && (settle_how == 0 || !reason || !*reason ||
                            (receipt && settle_how != 1))) {
        fprintf(stderr, "ferry settle: give --delivered (with --receipt R if "
                        "the back end gave one) or --not-delivered, and "
                        "--reason TEXT saying what the back end answered\n");
        return EX_USAGE;
    }
    struct refs refs = { 0 };
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = 0;
    if ((!c.spool || c.config) && (rc = cli_load_config(&c, &cfg)) != 0)
        return rc;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    if ((rc = cli_check_name(action_names[a], CLI_SERVICE, f.service, cfg, sp))
        || (rc = cli_check_name(action_names[a], CLI_TARGET, f.target, cfg, sp)))
        goto out;
    for (int i = optind; i < argc; i++) {
        int bad = strcmp(argv[i], "-") == 0 ? refs_from_stdin(&refs)
                                            : refs_add(&refs, argv[i], strlen(argv[i]));
        if (bad) {
            rc = EX_USAGE;
            goto out;
        }
    }
    if (by_state) {
        struct errs e;
        errs_init(&e);
        struct collect col = { &refs, 0 };
        if (spool_foreach(sp, &f, 0, collect_one, &col, &e) < 0 || col.err) {
            cli_print_errs(stderr, &e);
            errs_free(&e);
            rc = EX_IOERR;
            goto out;
        }
        errs_free(&e);
    }
    const char *actor = cli_actor(&c);
    struct settle_how sh = { settle_how == 1, receipt };
    size_t done = 0, refused = 0, unknown = 0;
    json_t *results = c.json ? json_array() : NULL;
    for (size_t i = 0; i < refs.n; i++) {
        struct errs e;
        errs_init(&e);
        const char *tg = refs.tg[i] ? refs.tg[i] : f.target;
        struct spool_list bl = { 0 };
        int g = spool_deliveries(sp, refs.v[i], 0, &bl, &e);
        char target[128] = "", before_buf[32] = "", now[32] = "?";
        if (g == 1) {
            unknown++;
            cli_msg("%s: no such record in this spool; check the "
                            "reference with 'ferry queue'", refs.v[i]);
            if (results)
                json_array_append_new(results, json_pack("{s:s,s:s}",
                    "reference", refs.v[i], "result", "unknown"));
        } else if (g == 0 && do_action(sp, a, refs.v[i], tg, actor, reason,
                                       &sh, &e) == 0) {
            done++;
            struct spool_list al = { 0 };
            struct errs e2;
            errs_init(&e2);
            spool_deliveries(sp, refs.v[i], 0, &al, &e2);
            errs_free(&e2);
            moved(&bl, &al, tg, target, sizeof target, before_buf, now,
                  sizeof now);
            spool_list_free(&al);
            if (results)
                json_array_append_new(results, json_pack("{s:s,s:s,s:s,s:s,s:s}",
                    "reference", refs.v[i], "target", target,
                    "result", "done", "before", before_buf, "after", now));
            else if (!c.quiet && bl.n > 1)
                printf("%s\t%s\t%s -> %s\n", refs.v[i], target, before_buf,
                       now);
            else if (!c.quiet)
                printf("%s\t%s -> %s\n", refs.v[i], before_buf, now);
        } else {
            refused++;
            cli_print_errs(stderr, &e);
            if (bl.n > 1 && !tg)
                fprintf(stderr, "ferry %s: %s has %zu deliveries: give "
                        "--target T to say which\n", action_names[a],
                        refs.v[i], bl.n);
            if (results)
                json_array_append_new(results, json_pack("{s:s,s:s,s:o}",
                    "reference", refs.v[i], "result", "refused",
                    "problems", errs_json(&e)));
        }
        spool_list_free(&bl);
        errs_free(&e);
    }
    if (results) {
        json_t *doc = json_pack("{s:s,s:o,s:I,s:I,s:I}", "action",
            action_names[a], "results", results, "done", (json_int_t)done,
            "refused", (json_int_t)refused, "unknown", (json_int_t)unknown);
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(doc);
    }
    if (refused)
        fprintf(stderr, "ferry %s: %s\n", action_names[a], action_hints[a]);
    if (!c.quiet)
        cli_msg("%zu done, %zu refused, %zu unknown", done, refused,
                unknown);
    rc = refused ? EX_DATAERR : unknown ? EX_NOUSER : EX_OK;
out:
    refs_free(&refs);
    spool_close(sp);
    config_free(cfg);
    return rc;
}

int cmd_retry(int argc, char **argv)   { return run_action(argc, argv, ACT_RETRY); }
int cmd_hold(int argc, char **argv)    { return run_action(argc, argv, ACT_HOLD); }
int cmd_release(int argc, char **argv) { return run_action(argc, argv, ACT_RELEASE); }
int cmd_discard(int argc, char **argv) { return run_action(argc, argv, ACT_DISCARD); }
int cmd_settle(int argc, char **argv)  { return run_action(argc, argv, ACT_SETTLE); }

/* ---- ferry audit [REF] | ferry audit verify ---------------------------- */

static void audit_usage(FILE *f)
{
    fprintf(f, "usage: ferry audit [--config FILE] [--spool DIR] [--json] [REF]\n"
               "       ferry audit [--config FILE] [--spool DIR] [--json] verify "
               "[--head ID:HASH]\n"
               "       ferry audit [--config FILE] [--spool DIR] head\n"
               "\n"
               "Without REF: every audit entry, oldest first; with REF: the "
               "entries of that\nrecord.  'verify' walks the chain (HMAC-"
               "SHA-256 under <spool audit-key-file>,\nSHA-256 for entries "
               "written before the key), compares its newest entry with\n"
               "the head kept in the ledger, the head file outside it and "
               "--head, names the\nfirst broken entry, and says what it "
               "could not prove (without the key, keyed\nentries are not "
               "proven).  'head' prints ID:HASH of the newest entry, to "
               "record\nsomewhere the ledger's holders cannot write.\n"
               "\n"
               "Exit: 0 ok, 65 the chain is broken, 67 no such record, "
               "74 ledger error.\n");
}

/* print_proof - what verify proved and what it could not, as text or
 * JSON (ok tells which) */
static void print_proof(const struct cli_common *c,
                        const struct spool_audit_proof *p, bool ok,
                        const char *why, const char *head_path,
                        const char *expect)
{
    long long k = (long long)p->unkeyed, last = (long long)p->last_id;
    char unproven[3][200];
    size_t nu = 0;
    if (p->unkeyed)
        snprintf(unproven[nu++], sizeof unproven[0], "entries 1-%lld were "
                 "written before the audit key: proven against damage, not "
                 "against a rewrite by someone who holds the ledger", k);
    if (p->keyed && !p->key_given)
        snprintf(unproven[nu++], sizeof unproven[0], "entries %lld-%lld are "
                 "keyed but no audit key was given: their links hold, their "
                 "content is not proven", k + 1, last);
    if (!expect)
        snprintf(unproven[nu++], sizeof unproven[0], "the newest entry was "
                 "not compared with a head recorded elsewhere (give --head "
                 "ID:HASH from 'ferry audit head')");
    if (c->json) {
        json_t *np = json_array();
        for (size_t i = 0; i < nu; i++)
            json_array_append_new(np, json_string(unproven[i]));
        json_t *doc = json_pack("{s:b,s:I,s:I,s:s,s:I,s:I,s:b,s:b,s:o}",
            "ok", ok, "checked", (json_int_t)p->checked, "last_id",
            (json_int_t)p->last_id, "last_hash", p->last_hash,
            "unkeyed", (json_int_t)p->unkeyed, "keyed", (json_int_t)p->keyed,
            "keyed_proven", p->keyed && p->key_given, "expected_head_checked",
            p->expected_checked, "not_proven", np);
        if (doc && p->head_file_id)
            json_object_set_new(doc, "head_file", json_pack("{s:s,s:I,s:b}",
                                "path", head_path, "id",
                                (json_int_t)p->head_file_id, "behind",
                                p->head_file_behind));
        if (doc && !ok) {
            json_object_set_new(doc, "first_broken",
                                json_integer((json_int_t)p->bad_id));
            json_object_set_new(doc, "why", json_string(why));
        }
        json_dumpf(doc, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(doc);
        return;
    }
    if (!ok) {
        printf("AUDIT CHAIN BROKEN at entry %lld: %s\n", (long long)p->bad_id,
               why);
        return;
    }
    printf("audit chain intact: %zu entries checked\n", p->checked);
    if (p->keyed && p->key_given)
        printf("  proven: entries %lld-%lld, keyed (HMAC-SHA-256 under the "
               "audit key)\n", k + 1, last);
    if (p->head_file_id)
        printf("  head file %s: entry %lld%s\n", head_path,
               (long long)p->head_file_id, p->head_file_behind
               ? " (behind the chain: later entries are not anchored)"
               : ", the newest: matches");
    else if (p->checked)
        printf("  no head file outside the ledger (%s)\n", head_path);
    if (p->expected_checked)
        printf("  matches the expected head %s\n", expect);
    for (size_t i = 0; i < nu; i++)
        printf("  not proven: %s\n", unproven[i]);
}

/* audit_verify - `ferry audit verify [--head ID:HASH]` */
static int audit_verify(struct spool *sp, const struct cli_common *c,
                        const char *expect)
{
    struct spool_audit_proof p;
    struct errs e;
    errs_init(&e);
    int v = spool_audit_verify(sp, expect, &p, &e);
    int rc = EX_OK;
    if (v == 0 || v == 1) {
        print_proof(c, &p, v == 0, errs_first_msg(&e),
                    spool_audit_head_file(sp), expect);
        rc = v == 0 ? EX_OK : EX_DATAERR;
    } else {
        cli_print_errs(stderr, &e);
        rc = EX_IOERR;
    }
    errs_free(&e);
    return rc;
}

int cmd_audit(int argc, char **argv)
{
    struct cli_common c = { 0 };
    const char *expect = NULL;
    static const struct option opts[] = {
        { "head", required_argument, NULL, 'H' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        if (o == 'H') {
            expect = optarg;
            continue;
        }
        if (o == 'h' || o == CLI_OPT_HELP) {
            audit_usage(stdout);
            return EX_OK;
        }
        audit_usage(stderr);
        return EX_USAGE;
    }
    if (argc - optind > 1) {
        cli_args_msg(argc - optind, 0, 1, argv + optind);
        audit_usage(stderr);
        return EX_USAGE;
    }
    bool verify = argc - optind == 1 && strcmp(argv[optind], "verify") == 0;
    bool head = argc - optind == 1 && strcmp(argv[optind], "head") == 0;
    const char *ref = (!verify && !head && argc - optind == 1)
        ? argv[optind] : NULL;
    if (expect && !verify) {
        fprintf(stderr, "ferry audit: --head goes with verify\n");
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = 0;
    /* the config names the audit key and head file: read it when given */
    if ((c.config || !c.spool) && (rc = cli_load_config(&c, &cfg)) != 0)
        return rc;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    struct errs e;
    errs_init(&e);
    if (head) {
        char h[96];
        if (spool_audit_head(sp, h, sizeof h, &e) != 0) {
            cli_print_errs(stderr, &e);
            rc = EX_IOERR;
        } else {
            puts(h);
        }
        errs_free(&e);
        goto out;
    }
    if (verify) {
        rc = audit_verify(sp, &c, expect);
        errs_free(&e);
        goto out;
    }
    if (ref) {
        struct spool_record *r = NULL;
        int g = spool_get(sp, ref, 0, &r, &e);
        spool_record_free(r);
        if (g == 1) {
            fprintf(stderr, "ferry audit: %s: no such record in this spool; "
                            "check the reference with 'ferry queue'\n", ref);
            errs_free(&e);
            rc = EX_NOUSER;
            goto out;
        }
        if (g != 0) {
            cli_print_errs(stderr, &e);
            errs_free(&e);
            rc = EX_IOERR;
            goto out;
        }
    }
    struct spool_audit_list l;
    if (spool_audit_list(sp, ref, &l, &e) != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        rc = EX_IOERR;
        goto out;
    }
    errs_free(&e);
    json_t *arr = c.json ? json_array() : NULL;
    int aw = 10;                       /* the longest actor, at least */
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].actor && (int)strlen(l.v[i].actor) > aw)
            aw = (int)strlen(l.v[i].actor);
    if (!arr)
        printf("%-6s %-19s %-*s %-14s %-22s %-10s %-10s %s\n", "ID", "AT (UTC)",
               aw, "ACTOR", "ACTION", "REFERENCE", "BEFORE", "AFTER", "REASON");
    for (size_t i = 0; i < l.n; i++) {
        const struct spool_audit_entry *a = &l.v[i];
        char t[32];
        if (arr)
            cli_json_time(a->at, t, sizeof t);
        else
            cli_fmt_time(a->at, t, sizeof t);
        if (arr)
            json_array_append_new(arr, json_pack(
                "{s:I,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?}",
                "id", (json_int_t)a->id, "at", t, "actor", a->actor,
                "action", a->action, "reference", a->ref, "before", a->before,
                "after", a->after, "reason", a->reason, "detail", a->detail,
                "hash", a->hash));
        else
            printf("%-6lld %-19s %-*s %-14s %-22s %-10s %-10s %s\n",
                   (long long)a->id, t, aw, a->actor ? a->actor : "",
                   a->action ? a->action : "", a->ref ? a->ref : "-",
                   a->before && a->before[0] ? a->before : "-",
                   a->after && a->after[0] ? a->after : "-",
                   a->reason ? a->reason : "");
    }
    if (arr) {
        json_t *doc = json_pack("{s:o,s:I}", "audit", arr, "count",
                                (json_int_t)l.n);
        json_dumpf(doc, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(doc);
    } else if (!c.quiet) {
        printf("-- %zu entr%s\n", l.n, l.n == 1 ? "y" : "ies");
    }
    spool_audit_list_free(&l);
out:
    spool_close(sp);
    config_free(cfg);
    return rc;
}

/* ---- ferry purge --older-than 90d -------------------------------------- */

static void purge_usage(FILE *f)
{
    fprintf(f, "usage: ferry purge [--config FILE] [--spool DIR] [--json] "
               "[--actor NAME]\n"
               "                   --older-than AGE (e.g. 90d)\n\n"
               "Move confirmed and discarded records last changed before AGE "
               "ago out of the\nworking tables into the ledger's archive: "
               "their payloads, attempts and history\nare deleted; a slim "
               "row stays for the report, ferry show and the idempotency\n"
               "check.  Also removes archive/ files past AGE.  The audit "
               "stays; the purge is\naudited.\n\n"
               "Exit: 0 ok, 64 usage, 74 ledger error, 78 configuration "
               "problem.\n");
}

int cmd_purge(int argc, char **argv)
{
    struct cli_common c = { 0 };
    const char *older = NULL;
    static const struct option opts[] = {
        { "older-than", required_argument, NULL, 'o' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        if (o == 'o') {
            older = optarg;
        } else if (o == 'h' || o == CLI_OPT_HELP) {
            purge_usage(stdout);
            return EX_OK;
        } else {
            purge_usage(stderr);
            return EX_USAGE;
        }
    }
    long long before;
    if (!older || optind != argc) {
        if (!older)
            cli_msg("--older-than AGE is required (records final for longer "
                    "are purged)");
        else
            cli_args_msg(argc - optind, 0, 0, argv + optind);
        purge_usage(stderr);
        return EX_USAGE;
    }
    if (older[0] < '0' || older[0] > '9' || cli_parse_since(older, &before) != 0) {
        fprintf(stderr, "ferry purge: --older-than: '%s' is not an age; give "
                        "a number and a unit (s, m, h, d), e.g. 90d\n", older);
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = 0;
    if (!c.spool && (rc = cli_load_config(&c, &cfg)) != 0)
        return rc;
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    struct errs e;
    errs_init(&e);
    size_t purged = 0;
    struct spool_archive_purged ap = { 0, 0 };
    if (spool_purge(sp, before, cli_actor(&c), &purged, &e) != 0 ||
        spool_archive_purge(sp, before, &ap, &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_IOERR;
    } else if (c.json) {
        printf("{\"purged\":%zu,\"archived_records\":%zu,"
               "\"archived_files_removed\":%zu,"
               "\"archived_bytes_removed\":%llu}\n", purged, purged,
               ap.files, (unsigned long long)ap.bytes);
    } else {
        printf("moved %zu final record%s to the archive (payload, attempts "
               "and history deleted)\n", purged, purged == 1 ? "" : "s");
        printf("removed %zu archived file%s (%llu bytes) from archive/\n",
               ap.files, ap.files == 1 ? "" : "s",
               (unsigned long long)ap.bytes);
    }
    errs_free(&e);
out:
    spool_close(sp);
    config_free(cfg);
    return rc;
}
