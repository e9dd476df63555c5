/* main.c - the `ferry` command: find the sub-command and run it.
 *
 * The top level owns the process-wide state: the log sink (util/log.h),
 * the umask (spool files are 0600), and SIGPIPE.  Everything else belongs
 * to the sub-command.
 *
 * Global options (--config, --spool, --actor, --json, --quiet) may come
 * before the command: `ferry --config X queue` runs `queue --config X`.
 * `ferry help CMD` is `ferry CMD --help`; `ferry help exit-codes` prints
 * the exit-code table. */
#include "cli/cli.h"
#include "util/suggest.h"
#include "util/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int run_check(int argc, char **argv);

static const struct command commands[] = {
    { "serve",    cmd_serve,    "the daemon: HTTP intake, stream delivery, scheduled jobs" },
    { "jobs",     cmd_jobs,     "scheduled jobs: next run and last outcome" },
    { "check",    run_check,    "check the configuration and every mapping" },
    { "submit",   cmd_submit,   "accept JSON or NDJSON submissions from a file or stdin" },
    { "import",   cmd_import,   "accept an assisted-digital CSV file" },
    { "queue",    cmd_queue,    "list records by state, service and date" },
    { "show",     cmd_show,     "a record's whole history" },
    { "find",     cmd_find,     "find records by reference or a searchable field (NINO...)" },
    { "map",      cmd_map,      "show what a submission becomes for each target" },
    { "copybook", cmd_copybook, "show a copybook's layout: offsets, lengths, types" },
    { "batch",    cmd_batch,    "run the night batch of a fixed-width target" },
    { "batches",  cmd_batches,  "list recent batch files" },
    { "deliver",  cmd_deliver,  "one delivery pass to the stream targets (SOAP, ODBC)" },
    { "targets",  cmd_targets,  "each target's window and queued, due, failed counts" },
    { "reconcile", cmd_reconcile, "apply acknowledgement files / query stream targets" },
    { "edit",     cmd_edit,     "fix a record's payload, revalidate and requeue it" },
    { "report",   cmd_report,   "volumes, outcomes, ages and timings (text, csv, json, html)" },
    { "retry",    cmd_retry,    "requeue failed, rejected or in-doubt records" },
    { "settle",   cmd_settle,   "in-doubt records checked with the back end: delivered or not" },
    { "hold",     cmd_hold,     "hold records: nothing is delivered, nothing expires" },
    { "release",  cmd_release,  "put held records back in the queue" },
    { "discard",  cmd_discard,  "close records for good, with a reason" },
    { "audit",    cmd_audit,    "show the audit log, or 'audit verify' its hash chain" },
    { "staff",    cmd_staff,    "support console accounts: add, passwd, role, disable, list" },
    { "purge",    cmd_purge,    "remove old payloads of closed records (retention)" },
    { "config",   cmd_config,   "the effective configuration, every default filled in" },
    { "spool",    cmd_spool,    "back up the spool while the daemon runs; verify a spool or backup" },
    { "version",  cmd_version,  "ferry's version and its libraries' versions" },
    { NULL, NULL, NULL },
};

/* run_check - cmd_check wants the --config value before it loads */
static int run_check(int argc, char **argv)
{
    const char *cfg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            cfg = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            cfg = argv[i] + 9;
    }
    return cmd_check(argc, argv, cfg);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry [--config FILE] [--spool DIR] [--actor NAME] [--json] "
        "[--quiet]\n"
        "             COMMAND [OPTIONS]\n"
        "       ferry help [COMMAND | exit-codes]\n"
        "\n"
        "ferry takes submissions from digital services, spools them durably and\n"
        "delivers them to legacy systems (fixed-width files by SFTP, SOAP, ODBC).\n"
        "\n"
        "Commands:\n");
    for (const struct command *c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f,
        "\n"
        "Every command takes --config FILE (default ./ferry.xml, then\n"
        "/etc/ferry/ferry.xml), --spool DIR and --help; listings take --json.\n"
        "These global options may also come before the command.\n"
        "Exit codes follow sysexits.h ('ferry help exit-codes', ferry(1)).\n");
}

static const struct command *find(const char *name)
{
    for (const struct command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static int unknown(const char *name)
{
    const char *v[sizeof commands / sizeof commands[0]];
    size_t n = 0;
    for (const struct command *c = commands; c->name; c++)
        v[n++] = c->name;
    const char *near = suggest_near(name, v, n);
    fprintf(stderr, "ferry: unknown command '%s'", name);
    if (near)
        fprintf(stderr, "; did you mean '%s'?", near);
    fprintf(stderr, " (try 'ferry help')\n");
    return EX_USAGE;
}

/* global_opt - how many argv slots a global option at argv[i] takes (1 or
 * 2), 0 when argv[i] is not one */
static int global_opt(int argc, char **argv, int i)
{
    static const char *with_value[] = { "--config", "--spool", "--actor" };
    static const char *flags[] = { "--json", "--quiet" };
    for (size_t k = 0; k < 3; k++) {
        size_t l = strlen(with_value[k]);
        if (strcmp(argv[i], with_value[k]) == 0)
            return i + 1 < argc ? 2 : 0;
        if (strncmp(argv[i], with_value[k], l) == 0 && argv[i][l] == '=')
            return 1;
    }
    for (size_t k = 0; k < 2; k++)
        if (strcmp(argv[i], flags[k]) == 0)
            return 1;
    return 0;
}

static int help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return EX_OK;
    }
    if (strcmp(argv[1], "exit-codes") == 0)
        return cli_exit_print(stdout, "text") == 0 ? EX_OK : EX_SOFTWARE;
    if (strcmp(argv[1], "exit-codes-markdown") == 0)
        return cli_exit_print(stdout, "markdown") == 0 ? EX_OK : EX_SOFTWARE;
    if (strcmp(argv[1], "exit-codes-man") == 0)
        return cli_exit_print(stdout, "man") == 0 ? EX_OK : EX_SOFTWARE;
    const struct command *c = find(argv[1]);
    if (!c)
        return unknown(argv[1]);
    cli_set_command(c->name);
    char *hargv[] = { argv[1], "--help", NULL };
    return c->run(2, hargv);
}

int main(int argc, char **argv)
{
    umask(077);
    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LOGFMT, LOG_INFO);

    /* global options before the command move to just after it */
    int first = 1;
    while (first < argc) {
        int k = global_opt(argc, argv, first);
        if (!k)
            break;
        first += k;
    }
    if (first >= argc) {
        usage(stderr);
        return EX_USAGE;
    }
    const char *name = argv[first];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return help(1, argv);
    if (strcmp(name, "help") == 0)
        return help(argc - first, argv + first);
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        name = "version";
    const struct command *c = find(name);
    if (!c)
        return unknown(name);
    cli_set_command(c->name);
    /* getopt names argv[0] in its own messages ("unrecognized option"),
     * so it is "ferry COMMAND", like every other message */
    char prog[64];
    snprintf(prog, sizeof prog, "ferry %s", c->name);
    char **v = calloc((size_t)argc + 1, sizeof *v);
    if (!v)
        return EX_OSERR;
    int n = 0;
    v[n++] = prog;
    for (int i = 1; i < first; i++)
        v[n++] = argv[i];
    for (int i = first + 1; i < argc; i++)
        v[n++] = argv[i];
    int rc = c->run(n, v);
    free(v);
    return rc;
}
