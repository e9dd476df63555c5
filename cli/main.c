/* main.c - the `ferry` command: find the sub-command and run it.
 *
 * The top level owns the process-wide state: the log sink (util/log.h),
 * the umask (spool files are 0600), and SIGPIPE.  Everything else belongs
 * to the sub-command. */
#include "cli/cli.h"
#include "util/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FERRY_VERSION
#define FERRY_VERSION "0.1.0"
#endif

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
    { "hold",     cmd_hold,     "hold records: nothing is delivered, nothing expires" },
    { "release",  cmd_release,  "put held records back in the queue" },
    { "discard",  cmd_discard,  "close records for good, with a reason" },
    { "audit",    cmd_audit,    "show the audit log, or 'audit verify' its hash chain" },
    { "staff",    cmd_staff,    "support console accounts: add, passwd, role, disable, list" },
    { "purge",    cmd_purge,    "remove old payloads of closed records (retention)" },
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
        "usage: ferry COMMAND [OPTIONS]\n"
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
        "Exit codes follow sysexits.h: see ferry(1).\n");
}

int main(int argc, char **argv)
{
    umask(077);
    signal(SIGPIPE, SIG_IGN);
    log_setup(LOG_LOGFMT, LOG_INFO);

    if (argc < 2) {
        usage(stderr);
        return EX_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        strcmp(name, "help") == 0) {
        usage(stdout);
        return EX_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("ferry %s\n", FERRY_VERSION);
        return EX_OK;
    }
    for (const struct command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "ferry: unknown command '%s' (try 'ferry --help')\n", name);
    return EX_USAGE;
}
