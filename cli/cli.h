/* cli.h - what the `ferry` sub-commands share.
 *
 * Each command group lives in its own cli/cmd_<group>.c and exports one
 * `int cmd_<name>(int argc, char **argv)` returning a sysexits.h code.
 * argv[0] is the command name.  Every command takes --config FILE and
 * --spool DIR (cli_common_opt handles them), --help, and --json where it
 * lists things.  The CLI calls subsystem APIs and formats output; it never
 * writes SQL or touches a socket itself. */
#ifndef FERRY_CLI_CLI_H
#define FERRY_CLI_CLI_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

/* the one version: the Makefile, debian/changelog and the man pages
 * follow it (tests/integration/71_deb.sh checks) */
#define FERRY_VERSION "0.1.0"

struct ferry_config;
struct spool;
struct errs;

/* Options every command shares, filled by cli_common_opt. */
struct cli_common {
    const char *config;   /* --config FILE (NULL: ./ferry.xml, /etc/ferry) */
    const char *spool;    /* --spool DIR overrides the config's spool dir */
    const char *actor;    /* --actor NAME for audited actions (default: OS user) */
    bool json;            /* --json */
    bool quiet;           /* --quiet */
};

/* Long options shared by every command; append to a command's own table.
 * Values are >= 1000 so they never clash with short options. */
enum {
    CLI_OPT_CONFIG = 1000,
    CLI_OPT_SPOOL,
    CLI_OPT_ACTOR,
    CLI_OPT_JSON,
    CLI_OPT_QUIET,
    CLI_OPT_HELP,
};

#define CLI_COMMON_LONGOPTS                                   \
    { "config", required_argument, NULL, CLI_OPT_CONFIG },    \
    { "spool",  required_argument, NULL, CLI_OPT_SPOOL },     \
    { "actor",  required_argument, NULL, CLI_OPT_ACTOR },     \
    { "json",   no_argument,       NULL, CLI_OPT_JSON },      \
    { "quiet",  no_argument,       NULL, CLI_OPT_QUIET },     \
    { "help",   no_argument,       NULL, CLI_OPT_HELP }

/* cli_common_opt - handle one shared option; 1 if it was one, 0 if not.
 * CLI_OPT_HELP is left to the caller (it prints its own usage). */
int cli_common_opt(struct cli_common *c, int opt, const char *arg);

/* cli_set_command / cli_command - the running sub-command's name, set by
 * main; shared messages start "ferry COMMAND:" with it */
void cli_set_command(const char *name);
const char *cli_command(void);

/* cli_parse_common - for a command whose only options are the shared
 * ones: parse them into c; --help prints usage to stdout (EX_OK), a bad
 * option to stderr (EX_USAGE); -1 means go on with argv[optind..]. */
int cli_parse_common(int argc, char **argv, struct cli_common *c,
                     void (*usage)(FILE *f));

/* cli_load_config - load and validate the config; on problems print them
 * all as "where: message" and return EX_CONFIG (or EX_NOINPUT).  0 ok. */
int cli_load_config(const struct cli_common *c, struct ferry_config **out);

/* cli_open_spool - open the spool named by --spool or the config (with
 * its payload key if configured).  Prints the problem; returns 0 or an
 * EX_ code. */
int cli_open_spool(const struct cli_common *c, const struct ferry_config *cfg,
                   struct spool **out);

/* cli_search_key - load (or make, 0600) the search index key: search.key
 * in the folder of <spool key-file> when one is set, else in the spool
 * folder dir.  0 ok, -1 with e filled. */
int cli_search_key(const struct ferry_config *cfg, const char *dir,
                   unsigned char key[32], struct errs *e);

/* cli_print_errs - every problem, "ferry COMMAND: where: msg", to f */
void cli_print_errs(FILE *f, const struct errs *e);
/* cli_msg / cli_vmsg - one message line on stderr, "ferry COMMAND: "
 * first (fmt without the newline): every message a command prints on
 * stderr starts so, whoever prints it */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_vmsg(const char *fmt, va_list ap);
/* cli_args_msg - the message before the usage when a command got nargs
 * arguments (args, after the options) but takes min..max */
void cli_args_msg(int nargs, int min, int max, char *const *args);
/* cli_actor - --actor or the OS user name */
const char *cli_actor(const struct cli_common *c);
/* cli_is_tty - stdout/stderr is a terminal (progress bars) */
bool cli_is_tty(int fd);
/* cli_fmt_time - ms since epoch to "2026-11-27 09:15:02" UTC; out >= 32 */
void cli_fmt_time(long long ms, char *out, size_t outsz);
/* cli_json_time - ms since epoch as a JSON time: RFC 3339 UTC with
 * milliseconds (clock_fmt_rfc3339), the one form in every --json output;
 * NULL for 0 (never happened).  out >= 32 */
const char *cli_json_time(long long ms, char *out, size_t outsz);
/* cli_parse_since - "2026-11-27", "2026-11-27T10:00:00Z", "24h", "7d"
 * (relative to now) into ms since epoch.  0 ok, -1 bad. */
int cli_parse_since(const char *s, long long *ms);


enum cli_name_kind { CLI_SERVICE, CLI_TARGET };
/* cli_check_name - 0 when NAME (NULL: nothing asked) is a service or a
 * target of CFG or of a record in SP (either may be NULL).  Otherwise
 * prints "ferry CMD: unknown service 'X'; did you mean 'Y'? (services:
 * ...)" and returns EX_USAGE: the one answer every command gives. */
int cli_check_name(const char *cmd, enum cli_name_kind kind, const char *name,
                   const struct ferry_config *cfg, struct spool *sp);

/* The exit codes, one table (cli_exit.c): what --help, ferry(1) and the
 * operator guide say is generated from or checked against it. */
struct cli_exit {
    int code;
    const char *name;       /* sysexits.h name */
    const char *meaning;
};
extern const struct cli_exit cli_exits[];
extern const size_t cli_nexits;
/* cli_exit_print - the table: "text" (aligned), "markdown" (the operator
 * guide's table) or "man" (ferry(1)'s EXIT STATUS body); -1 unknown */
int cli_exit_print(FILE *f, const char *format);

/* Progress of long work (cli_progress.c): a bar on a terminal, cleared
 * before every log line and completed at 100%; progress events through
 * the log (logfmt) otherwise; silent for runs shorter than 2 s. */
struct cli_progress;
/* cli_progress_new - for command CMD; STDOUT_LINES: stdout prints as the
 * work goes (then no bar while stdout is the same terminal) */
struct cli_progress *cli_progress_new(const char *cmd, bool quiet,
                                      bool stdout_lines);
/* cli_progress_clear - give the line back before printing to stderr */
void cli_progress_clear(struct cli_progress *p);
/* cli_progress_update - DONE of TOTAL (0: unknown) in PHASE, a string
 * that lives as long as the progress; a new phase completes the last */
void cli_progress_update(struct cli_progress *p, const char *phase,
                         int64_t done, int64_t total);
/* cli_progress_end - complete the last phase when OK; frees p */
void cli_progress_end(struct cli_progress *p, bool ok);

int cmd_submit(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_copybook(int argc, char **argv);
int cmd_check(int argc, char **argv, const char *config_path);
int cmd_retry(int argc, char **argv);
int cmd_settle(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_discard(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_deliver(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);
int cmd_edit(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_batches(int argc, char **argv);
int cmd_targets(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_staff(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_spool(int argc, char **argv);
int cmd_config(int argc, char **argv);

#endif
