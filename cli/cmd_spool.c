/* cmd_spool.c - `ferry spool backup DEST`, `ferry spool verify [DIR]` and
 * `ferry spool copy --to CONN | --from CONN DEST`: the operator's copy of
 * a spool while the daemon runs, the check of a spool or a backup before
 * it is trusted (spool/spool_backup.c does the work; docs/operator-guide.md
 * says how to restore), and a ledger moved between SQLite and PostgreSQL
 * (spool/spool_copy.c; docs/spool.md, "Moving a ledger between engines"). */
#include "cli/cli.h"
#include "config/config.h"
#include "spool/spool.h"
#include "spool/spool_copy.h"
#include "util/errs.h"
#include "util/errs_json.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry spool backup [--config FILE] [--spool DIR] [--json] DEST\n"
        "       ferry spool verify [--config FILE] [--spool DIR] [--json] [DIR]\n"
        "       ferry spool copy [--config FILE] [--spool DIR] [--json] --to CONN\n"
        "       ferry spool copy [--config FILE] [--spool DIR] [--json] --from CONN DEST\n"
        "\n"
        "backup: a consistent copy of the spool in the new (or empty) folder\n"
        "DEST while the daemon runs: the ledger by SQLite's online backup,\n"
        "outbound/, inbound/, archive/, and a MANIFEST with the records per\n"
        "state, the audit head and each file's SHA-256.\n"
        "verify: check the spool (or the backup folder DIR) without changing\n"
        "it: SQLite's integrity check, conservation (every accepted record in\n"
        "exactly one state), the audit chain and head, and for a backup each\n"
        "file and count against its MANIFEST.\n"
        "copy --to: the spool's SQLite ledger into the empty PostgreSQL\n"
        "ledger named by the connection file CONN (mode 0600; its schema is\n"
        "made when the database has none). copy --from: that PostgreSQL\n"
        "ledger into a new spool folder DEST (--spool DIR, or the configured\n"
        "PostgreSQL spool: the folder it serves, whose audit.head is checked).\n"
        "Every table row for row, ids, blobs and the spool identity kept, in\n"
        "one transaction, verified before it commits (rows per table, the\n"
        "audit chain and its head); the source is read-only. Stop the daemon\n"
        "first.\n"
        "\n"
        "Exit: 0 ok, 64 usage, 65 verify found problems (each named), or a\n"
        "     copy did not verify or its source's audit chain is broken,\n"
        "     70 the engines' schemas differ (a bug), 73 the spool cannot be\n"
        "     opened, or a copy's destination holds a ledger or another\n"
        "     schema version, 74 the copy failed (nothing committed),\n"
        "     78 the connection file is refused (mode, syntax).\n");
}

static int backup(const struct cli_common *c, const char *dest)
{
    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    int rc = 0;
    if ((!c->spool || c->config) && (rc = cli_load_config(c, &cfg)) != 0)
        return rc;
    if ((rc = cli_open_spool(c, cfg, &sp)) != 0)
        goto out;
    struct errs e;
    errs_init(&e);
    struct spool_backup_info bi;
    if (spool_backup(sp, dest, &bi, &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_IOERR;
    } else if (c->json) {
        json_t *o = json_pack("{s:s,s:I,s:I}", "backup", dest, "records",
                              (json_int_t)bi.records, "files",
                              (json_int_t)bi.files);
        json_dumpf(o, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(o);
    } else if (!c->quiet) {
        printf("backup %s: %lld records, %zu staging files; check it with "
               "'ferry spool verify %s'\n", dest, (long long)bi.records,
               bi.files, dest);
    }
    errs_free(&e);
out:
    spool_close(sp);
    config_free(cfg);
    return rc;
}

static int verify(const struct cli_common *c, const char *dir)
{
    struct ferry_config *cfg = NULL;
    int rc = 0;
    if (!dir && !c->spool && (rc = cli_load_config(c, &cfg)) != 0)
        return rc;
    if (!dir)
        dir = c->spool ? c->spool : cfg->spool_dir;
    struct errs e;
    errs_init(&e);
    struct spool_verify_info vi;
    int r = spool_verify(dir, &vi, &e);
    if (c->json) {
        json_t *probs = errs_json(&e);
        json_t *o = json_pack("{s:s,s:b,s:b,s:I,s:I,s:b,s:I,s:b,s:I,s:o}",
            "spool", dir, "ok", r == 0, "integrity_ok", vi.integrity_ok,
            "accepted", (json_int_t)vi.accepted,
            "in_states", (json_int_t)vi.in_states, "audit_ok", vi.audit_ok,
            "audit_entries", (json_int_t)vi.audit_entries,
            "backup", vi.backup, "files_checked", (json_int_t)vi.files_checked,
            "problems", probs);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else if (r < 0) {
        fprintf(stderr, "ferry spool verify: %s cannot be checked:\n", dir);
        cli_print_errs(stderr, &e);
    } else {
        printf("spool %s%s\n", dir, vi.backup ? " (a backup)" : "");
        printf("  integrity     %s\n", vi.integrity_ok ? "ok" : "FAILED");
        printf("  conservation  %s: %lld accepted, %lld in states\n",
               vi.conservation_ok ? "ok" : "FAILED", (long long)vi.accepted,
               (long long)vi.in_states);
        printf("  audit chain   %s: %zu entries\n",
               vi.audit_ok ? "ok" : "FAILED", vi.audit_entries);
        if (vi.backup)
            printf("  manifest      %s: %zu files match\n",
                   r == 0 ? "ok" : "see problems", vi.files_checked);
        if (e.n) {
            fprintf(stderr, "ferry spool verify: %zu problem%s:\n", e.n,
                    e.n == 1 ? "" : "s");
            cli_print_errs(stderr, &e);
        }
    }
    rc = r == 0 ? EX_OK : r > 0 ? EX_DATAERR : EX_CANTCREAT;
    errs_free(&e);
    config_free(cfg);
    return rc;
}

/* copy_progress - spool_copy's progress into the CLI's bar or events */
static void copy_progress(void *arg, const char *phase, int64_t done,
                          int64_t total)
{
    cli_progress_update(arg, phase, done, total);
}

static int copy_exit(enum spool_copy_outcome o)
{
    switch (o) {
    case SPOOL_COPY_OK: return EX_OK;
    case SPOOL_COPY_CONN_FILE: return EX_CONFIG;
    case SPOOL_COPY_CANNOT_OPEN: return EX_CANTCREAT;
    case SPOOL_COPY_REFUSED: return EX_CANTCREAT;
    case SPOOL_COPY_SCHEMA_DRIFT: return EX_SOFTWARE;
    case SPOOL_COPY_UNVERIFIED: return EX_DATAERR;
    case SPOOL_COPY_FAILED: return EX_IOERR;
    }
    return EX_SOFTWARE;
}

static void copy_print(const struct cli_common *c, const char *from,
                       const char *to, const struct spool_copy_info *ci)
{
    if (c->json) {
        json_t *tables = json_object();
        for (size_t i = 0; i < ci->ntables; i++)
            json_object_set_new(tables, ci->table[i].name,
                                json_integer((json_int_t)ci->table[i].rows));
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:I,s:o,s:s,s:I,s:I,"
                              "s:b,s:b}",
            "from", from, "to", to, "connection", ci->connection,
            "spool_id", ci->spool_id, "schema_version", ci->schema_version,
            "rows", (json_int_t)ci->rows, "tables", tables,
            "audit_head", ci->audit_head,
            "audit_entries", (json_int_t)ci->audit_entries,
            "audit_keyed", (json_int_t)ci->audit_keyed,
            "audit_key_given", ci->audit_key_given,
            "audit_head_file_checked", ci->audit_head_file_checked);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
        return;
    }
    if (c->quiet)
        return;
    printf("copied spool %s (schema %d) from %s to %s\n", ci->spool_id,
           ci->schema_version, from, to);
    printf("  PostgreSQL    %s\n", ci->connection);
    printf("  rows          %lld in %zu tables, counted on both sides\n",
           (long long)ci->rows, ci->ntables);
    printf("  audit chain   ok: %zu entries (%zu keyed%s), head %s on both "
           "sides%s\n", ci->audit_entries, ci->audit_keyed,
           ci->audit_keyed && !ci->audit_key_given
           ? ", links only: no audit key given" : "", ci->audit_head,
           ci->audit_head_file_checked ? ", and in the head file" : "");
    for (size_t i = 0; i < ci->ntables; i++)
        printf("  %-22s %lld\n", ci->table[i].name,
               (long long)ci->table[i].rows);
}

/* copy_key - the configured audit key, if any, into o */
static int copy_key(const struct ferry_config *cfg,
                    struct spool_copy_opts *o)
{
    if (!cfg || !cfg->spool_audit_key_file)
        return 0;
    struct errs e;
    errs_init(&e);
    char *kpath = config_path(cfg->base_dir, cfg->spool_audit_key_file);
    int rc = kpath ? spool_key_load(kpath, o->audit_key, &e) : -1;
    free(kpath);
    if (rc != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        return EX_CONFIG;
    }
    o->audit_keyed = true;
    return 0;
}

static int copy(const struct cli_common *c, const char *to, const char *from,
                const char *dest)
{
    struct ferry_config *cfg = NULL;
    int rc = 0;
    /* --to copies the spool's ledger: the configured one unless --spool;
     * --from needs no configuration (its audit key, if one is kept) */
    if ((to ? !c->spool || c->config : c->config != NULL)
        && (rc = cli_load_config(c, &cfg)) != 0)
        return rc;
    const char *dir = c->spool ? c->spool : cfg ? cfg->spool_dir : NULL;
    if (to && !dir) {
        cli_msg("no spool folder: give --spool DIR or set <spool dir=...> "
                "in ferry.xml");
        config_free(cfg);
        return EX_CONFIG;
    }
    if (to && cfg && cfg->spool_pg && !c->spool) {
        cli_msg("the configured spool's ledger is PostgreSQL already: copy "
                "it into a new folder with --from");
        config_free(cfg);
        return EX_USAGE;
    }
    char head[PATH_MAX];
    struct spool_copy_opts o = { .progress = copy_progress };
    if ((rc = copy_key(cfg, &o)) != 0) {
        config_free(cfg);
        return rc;
    }
    /* the head file outside the ledger: the configured one, else (to
     * PostgreSQL) the folder's, as spool_open finds it; from PostgreSQL,
     * the audit.head of the folder the ledger serves (--spool, or the
     * configured PostgreSQL spool's), when one is named */
    o.audit_head_file = cfg ? cfg->spool_audit_head_file : NULL;
    const char *served = c->spool ? c->spool
                         : cfg && cfg->spool_pg ? cfg->spool_dir : NULL;
    if (from && !o.audit_head_file && served
        && snprintf(head, sizeof head, "%s/audit.head", served)
           < (int)sizeof head)
        o.audit_head_file = head;
    struct cli_progress *pr = cli_progress_new("spool copy",
                                               c->quiet || c->json, false);
    o.progress_arg = pr;
    struct errs e;
    errs_init(&e);
    struct spool_copy_info ci;
    enum spool_copy_outcome out = to
        ? spool_copy_to_pg(dir, to, &o, &ci, &e)
        : spool_copy_from_pg(from, dest, &o, &ci, &e);
    explicit_bzero(o.audit_key, sizeof o.audit_key);
    cli_progress_end(pr, out == SPOOL_COPY_OK);
    if (out == SPOOL_COPY_OK)
        copy_print(c, to ? dir : from, to ? to : dest, &ci);
    else
        cli_print_errs(stderr, &e);
    errs_free(&e);
    config_free(cfg);
    return copy_exit(out);
}

enum { OPT_TO = 1100, OPT_FROM };

int cmd_spool(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_LONGOPTS,
        { "to", required_argument, NULL, OPT_TO },
        { "from", required_argument, NULL, OPT_FROM },
        { NULL, 0, NULL, 0 },
    };
    struct cli_common c = { 0 };
    const char *to = NULL, *from = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        if (o == OPT_TO)
            to = optarg;
        else if (o == OPT_FROM)
            from = optarg;
        else {
            bool help = o == 'h' || o == CLI_OPT_HELP;
            usage(help ? stdout : stderr);
            return help ? EX_OK : EX_USAGE;
        }
    }
    const char *sub = optind < argc ? argv[optind] : NULL;
    int rest = argc - optind - 1;
    if (sub && strcmp(sub, "copy") == 0) {
        cli_set_command("spool copy");
        if (!to == !from) {
            cli_msg("give --to CONN (SQLite into PostgreSQL) or --from CONN "
                    "DEST (PostgreSQL into a new spool folder), one of the "
                    "two");
        } else if (rest != (from ? 1 : 0)) {
            cli_args_msg(rest, from ? 1 : 0, from ? 1 : 0,
                         argv + optind + 1);
        } else {
            return copy(&c, to, from, from ? argv[optind + 1] : NULL);
        }
        usage(stderr);
        return EX_USAGE;
    }
    if (to || from) {
        cli_msg("--to and --from are for 'ferry spool copy'");
        usage(stderr);
        return EX_USAGE;
    }
    /* messages say which of the two: "ferry spool verify: ..." */
    if (sub && strcmp(sub, "backup") == 0 && rest == 1) {
        cli_set_command("spool backup");
        return backup(&c, argv[optind + 1]);
    }
    if (sub && strcmp(sub, "verify") == 0 && rest <= 1) {
        cli_set_command("spool verify");
        return verify(&c, rest ? argv[optind + 1] : NULL);
    }
    if (sub)
        cli_msg("'%s' with %d argument%s: see the usage", sub, rest,
                rest == 1 ? "" : "s");
    usage(stderr);
    return EX_USAGE;
}
