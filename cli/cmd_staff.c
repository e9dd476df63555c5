/* cmd_staff.c - `ferry staff add|passwd|disable|enable|list`: the support
 * console's accounts (<console staff-file>, console/console_staff.c).
 *
 * Passwords are read from the terminal without echo (twice), or as the
 * first line of standard input when it is not a terminal (scripts,
 * tests).  Every change is an audit entry naming the OS user who made it
 * and the account; the password itself goes nowhere but the hash. */
#include "cli/cli.h"
#include "config/config.h"
#include "console/console.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PW_MAX 1024

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry staff add NAME --role viewer|support|supervisor\n"
        "       ferry staff passwd NAME\n"
        "       ferry staff role NAME viewer|support|supervisor\n"
        "       ferry staff disable NAME | enable NAME\n"
        "       ferry staff list [--json]\n"
        "       (each with [--config FILE] [--actor NAME])\n"
        "\n"
        "Manage the support console's staff accounts, kept in the file\n"
        "<console staff-file> names (0600).  add and passwd read the password\n"
        "from the terminal (twice, not echoed), or the first line of stdin.\n"
        "At least %d characters.  Every change is audited.\n",
        CONSOLE_PASSWORD_MIN);
}

/* read_line - one line from fd 0 without its newline; echo off when
 * it is a terminal.  0 ok, -1 nothing read. */
static int read_line(const char *prompt, char *out, size_t outsz)
{
    bool tty = isatty(0) == 1;
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        if (tcgetattr(0, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            tcsetattr(0, TCSAFLUSH, &quiet);
        } else {
            tty = false;
        }
    }
    size_t n = 0;
    int rc = -1;
    char ch;
    while (n + 1 < outsz && read(0, &ch, 1) == 1) {
        rc = 0;
        if (ch == '\n')
            break;
        out[n++] = ch;
    }
    out[n] = '\0';
    if (n && out[n - 1] == '\r')
        out[--n] = '\0';
    if (tty) {
        tcsetattr(0, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    return rc;
}

static int ask_password(char **hash)
{
    char a[PW_MAX], b[PW_MAX];
    int rc = EX_DATAERR;
    if (read_line("New password: ", a, sizeof a) != 0) {
        fprintf(stderr, "ferry staff: no password given\n");
        goto out;
    }
    if (isatty(0) == 1) {
        if (read_line("Again: ", b, sizeof b) != 0 || strcmp(a, b) != 0) {
            fprintf(stderr, "ferry staff: the passwords differ\n");
            goto out;
        }
    }
    struct errs e;
    errs_init(&e);
    if (console_password_hash(a, hash, &e) != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        goto out;
    }
    errs_free(&e);
    rc = EX_OK;
out:
    explicit_bzero(a, sizeof a);
    explicit_bzero(b, sizeof b);
    return rc;
}

static void list(const struct console_staff_list *l, bool json)
{
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "name",
                                  l->v[i].name, "role",
                                  console_role_name(l->v[i].role),
                                  "disabled", l->v[i].disabled));
        json_t *o = json_pack("{s:o}", "staff", a);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
        return;
    }
    printf("%-24s %-11s %s\n", "NAME", "ROLE", "STATE");
    for (size_t i = 0; i < l->n; i++)
        printf("%-24s %-11s %s\n", l->v[i].name,
               console_role_name(l->v[i].role),
               l->v[i].disabled ? "disabled" : "active");
}

int cmd_staff(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "role", required_argument, NULL, 'r' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 }
    };
    struct cli_common c = { 0 };
    const char *role_s = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "r:", longopts, NULL)) != -1) {
        if (cli_common_opt(&c, opt, optarg))
            continue;
        switch (opt) {
        case 'r': role_s = optarg; break;
        case CLI_OPT_HELP: usage(stdout); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    int nargs = argc - optind;
    const char *verb = nargs > 0 ? argv[optind] : NULL;
    const char *name = nargs > 1 ? argv[optind + 1] : NULL;
    bool is_list = verb && strcmp(verb, "list") == 0;
    bool is_role = verb && strcmp(verb, "role") == 0;
    if (!verb || (is_list ? nargs != 1 : nargs != (is_role ? 3 : 2))) {
        if (!verb)
            cli_msg("give an action: add, passwd, role, disable, enable or "
                    "list");
        else
            cli_msg("'%s' with %d argument%s: see the usage", verb,
                    nargs - 1, nargs == 2 ? "" : "s");
        usage(stderr);
        return EX_USAGE;
    }
    if (is_role)
        role_s = argv[optind + 2];
    if (name && !console_staff_name_ok(name)) {
        fprintf(stderr, "ferry staff: a name is 1-64 of A-Z a-z 0-9 . _ -\n");
        return EX_USAGE;
    }
    enum console_role role = CONSOLE_VIEWER;
    if ((strcmp(verb, "add") == 0 || is_role)
        && (!role_s || console_role_parse(role_s, &role) != 0)) {
        fprintf(stderr, "ferry staff: --role viewer, support or supervisor\n");
        return EX_USAGE;
    }

    struct ferry_config *cfg = NULL;
    struct spool *sp = NULL;
    struct console_staff_list l = { 0 };
    char *hash = NULL;
    struct errs e;
    errs_init(&e);
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        goto out;
    if (!cfg->console.enabled || !cfg->console.staff_file) {
        fprintf(stderr, "ferry staff: %s has no <console> element\n",
                cfg->path);
        rc = EX_CONFIG;
        goto out;
    }
    const char *path = cfg->console.staff_file;
    if (console_staff_load(path, &l, &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_CONFIG;
        goto out;
    }
    if (is_list) {
        list(&l, c.json);
        rc = EX_OK;
        goto out;
    }
    struct console_staff *s = console_staff_find(&l, name);
    char detail[160];
    const char *action;
    if (strcmp(verb, "add") == 0) {
        if (s) {
            fprintf(stderr, "ferry staff: %s exists (use passwd or role)\n",
                    name);
            rc = EX_DATAERR;
            goto out;
        }
        if ((rc = ask_password(&hash)) != EX_OK)
            goto out;
        if (console_staff_set(&l, name, role, hash) != 0) {
            rc = EX_OSERR;
            goto out;
        }
        action = "staff-add";
        snprintf(detail, sizeof detail, "account=%s role=%s", name,
                 console_role_name(role));
    } else if (!s) {
        fprintf(stderr, "ferry staff: no account %s\n", name);
        rc = EX_NOUSER;
        goto out;
    } else if (strcmp(verb, "passwd") == 0) {
        if ((rc = ask_password(&hash)) != EX_OK)
            goto out;
        if (console_staff_set(&l, name, s->role, hash) != 0) {
            rc = EX_OSERR;
            goto out;
        }
        action = "staff-passwd";
        snprintf(detail, sizeof detail, "account=%s", name);
    } else if (is_role) {
        s->role = role;
        action = "staff-role";
        snprintf(detail, sizeof detail, "account=%s role=%s", name,
                 console_role_name(role));
    } else if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) {
        s->disabled = verb[0] == 'd';
        action = s->disabled ? "staff-disable" : "staff-enable";
        snprintf(detail, sizeof detail, "account=%s", name);
    } else {
        usage(stderr);
        rc = EX_USAGE;
        goto out;
    }
    if (console_staff_save(path, &l, &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_CANTCREAT;
        goto out;
    }
    if ((rc = cli_open_spool(&c, cfg, &sp)) != 0)
        goto out;
    if (spool_audit_add(sp, cli_actor(&c), action, NULL, NULL, detail,
                        &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_IOERR;
        goto out;
    }
    if (!c.quiet)
        printf("%s: %s\n", action, detail);
    rc = EX_OK;
out:
    if (hash)
        explicit_bzero(hash, strlen(hash));
    free(hash);
    console_staff_list_free(&l);
    spool_close(sp);
    config_free(cfg);
    errs_free(&e);
    return rc;
}
