/* cmd_spool.c - `ferry spool backup DEST` and `ferry spool verify [DIR]`:
 * the operator's copy of a spool while the daemon runs, and the check of
 * a spool or a backup before it is trusted (spool/spool_backup.c does the
 * work; docs/operator-guide.md says how to restore). */
#include "cli/cli.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/errs_json.h"

#include <getopt.h>                    /* optind */
#include <jansson.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry spool backup [--config FILE] [--spool DIR] [--json] DEST\n"
        "       ferry spool verify [--config FILE] [--spool DIR] [--json] [DIR]\n"
        "\n"
        "backup: a consistent copy of the spool in the new (or empty) folder\n"
        "DEST while the daemon runs: the ledger by SQLite's online backup,\n"
        "outbound/, inbound/, archive/, and a MANIFEST with the records per\n"
        "state, the audit head and each file's SHA-256.\n"
        "verify: check the spool (or the backup folder DIR) without changing\n"
        "it: SQLite's integrity check, conservation (every accepted record in\n"
        "exactly one state), the audit chain and head, and for a backup each\n"
        "file and count against its MANIFEST.\n"
        "\n"
        "Exit: 0 ok, 64 usage, 65 verify found problems (each named),\n"
        "     73 the spool cannot be opened, 74 the copy failed.\n");
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

int cmd_spool(int argc, char **argv)
{
    struct cli_common c = { 0 };
    int prc = cli_parse_common(argc, argv, &c, usage);
    if (prc >= 0)
        return prc;
    const char *sub = optind < argc ? argv[optind] : NULL;
    int rest = argc - optind - 1;
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
