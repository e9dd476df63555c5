/* cli_exit.c - ferry's exit codes, the one table.
 *
 * They follow sysexits.h so cron and enterprise schedulers can act on
 * them.  `ferry help exit-codes` prints this table; the operator guide's
 * table and ferry(1)'s EXIT STATUS are generated from it
 * (tools/gen-exit-codes.sh) and tests/integration/72_cli_conventions.sh
 * fails when either has drifted or a command's --help names a code that
 * is not here. */
#include "cli/cli.h"

#include <string.h>

const struct cli_exit cli_exits[] = {
    { EX_OK, "EX_OK", "done" },
    { EX_USAGE, "EX_USAGE",
      "wrong command line: an unknown option (the usage is printed), a bad "
      "value, an unknown service, target or job (with a \"did you mean\" "
      "when one is close)" },
    { EX_DATAERR, "EX_DATAERR",
      "some input was refused (the valid rest was kept); records moved to "
      "the dead-letter state; ferry deliver left records in doubt (their "
      "count is printed: ferry settle); a support action was refused for some "
      "records; an acknowledgement file was bad, did not balance or named "
      "orphans; the audit chain is broken; the report's conservation check "
      "failed; a spool or backup failed verification" },
    { EX_NOINPUT, "EX_NOINPUT",
      "an input file (or the configuration) is missing" },
    { EX_NOUSER, "EX_NOUSER",
      "no such record reference (show, audit REF, edit, retry, hold, "
      "release, discard, settle)" },
    { EX_UNAVAILABLE, "EX_UNAVAILABLE",
      "ferry serve cannot listen on its address (another process holds "
      "it), or another ferry serve holds the spool (its PID is named)" },
    { EX_SOFTWARE, "EX_SOFTWARE",
      "an internal error (a bug: please report it), or ferry batch's "
      "read-back check of the file it built failed (nothing was sent)" },
    { EX_OSERR, "EX_OSERR",
      "out of memory, or the operating system refused a resource (a "
      "thread, a signal descriptor)" },
    { EX_CANTCREAT, "EX_CANTCREAT",
      "the spool folder cannot be created or opened" },
    { EX_IOERR, "EX_IOERR",
      "the ledger or a local file could not be read or written" },
    { EX_TEMPFAIL, "EX_TEMPFAIL",
      "a target is unavailable, a job is already running, or ferry serve "
      "passed its shutdown deadline: retry later" },
    { EX_CONFIG, "EX_CONFIG",
      "the configuration or a mapping has problems (ferry check lists "
      "them); a target refused for good (host key, login, WS-Security, "
      "certificate, an unusable marker table): ferry deliver or ferry "
      "batch stopped that target (ferry targets says why), its records "
      "wait and the others were served; ferry reconcile on a target that "
      "has no way to be checked, or whose transport refuses the login" },
};
const size_t cli_nexits = sizeof cli_exits / sizeof cli_exits[0];

int cli_exit_print(FILE *f, const char *format)
{
    if (strcmp(format, "text") == 0) {
        for (size_t i = 0; i < cli_nexits; i++)
            fprintf(f, "%3d  %-15s %s\n", cli_exits[i].code, cli_exits[i].name,
                    cli_exits[i].meaning);
    } else if (strcmp(format, "markdown") == 0) {
        fprintf(f, "| code | name | meaning |\n|---:|---|---|\n");
        for (size_t i = 0; i < cli_nexits; i++)
            fprintf(f, "| %d | %s | %s |\n", cli_exits[i].code,
                    cli_exits[i].name, cli_exits[i].meaning);
    } else if (strcmp(format, "man") == 0) {
        for (size_t i = 0; i < cli_nexits; i++)
            fprintf(f, ".TP\n.B %d\n%s: %s.\n", cli_exits[i].code,
                    cli_exits[i].name, cli_exits[i].meaning);
    } else {
        return -1;
    }
    return 0;
}
