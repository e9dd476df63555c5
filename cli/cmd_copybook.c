/* cmd_copybook.c - `ferry copybook FILE.cpy [--json] [--record NAME]`:
 * print each record's layout (level, name, offsets 1- and 0-based, length,
 * type, PIC, usage, digits, scale) so a mainframe programmer can hold it
 * against the compiler listing.  Exit codes (sysexits): 0 ok, 64 usage,
 * 65 the copybook has errors (each printed FILE:LINE:COL: message),
 * 66 the file cannot be read. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "mappings/copybook.h"
#include "util/buf.h"
#include "util/errs.h"

int cmd_copybook(int argc, char **argv);

static void usage(FILE *o)
{
    fputs("usage: ferry copybook FILE.cpy [--json] [--record NAME] "
          "[--format fixed|free]\n"
          "\n"
          "Show the layout of every 01 record in a COBOL copybook: level,\n"
          "name, START (1-based) and OFFSET (0-based) byte positions,\n"
          "LENGTH in bytes (one occurrence), type, PIC, USAGE, digits and\n"
          "scale, and the record length.\n"
          "\n"
          "  --json          machine-readable listing\n"
          "  --record NAME   only this 01 record\n"
          "  --format F      source format; default: detected\n"
          "  --config, --spool, --actor, --quiet are accepted and ignored\n"
          "\n"
          "Exit status: 0 ok, 64 usage, 65 copybook errors, 66 no such "
          "file.\n", o);
}

/* cmd_copybook - entry point; argv[0] is "copybook" */
int cmd_copybook(int argc, char **argv)
{
    const char *file = NULL, *record = NULL;
    bool json = false;
    enum cpy_format fmt = CPY_FMT_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--record") || !strcmp(a, "--format")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ferry copybook: %s needs a value\n", a);
                usage(stderr);
                return 64;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--record")) {
                record = v;
            } else if (!strcmp(v, "fixed")) {
                fmt = CPY_FMT_FIXED;
            } else if (!strcmp(v, "free")) {
                fmt = CPY_FMT_FREE;
            } else {
                fprintf(stderr, "ferry copybook: --format is fixed or free, "
                                "not '%s'\n", v);
                return 64;
            }
        } else if (!strncmp(a, "--record=", 9)) {
            record = a + 9;
        } else if (!strcmp(a, "--config") || !strcmp(a, "--spool") ||
                   !strcmp(a, "--actor")) {
            /* shared options copybook has no use for: accepted so every
             * command takes them, as cli.h promises */
            if (i + 1 >= argc) {
                fprintf(stderr, "ferry copybook: %s needs a value\n", a);
                usage(stderr);
                return 64;
            }
            i++;
        } else if (!strncmp(a, "--config=", 9) || !strncmp(a, "--spool=", 8) ||
                   !strncmp(a, "--actor=", 8) || !strcmp(a, "--quiet")) {
            continue;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ferry copybook: unknown option %s\n", a);
            usage(stderr);
            return 64;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "ferry copybook: one file at a time\n");
            usage(stderr);
            return 64;
        }
    }
    if (!file) {
        cli_msg("give a copybook FILE");
        usage(stderr);
        return 64;
    }
    struct stat st;
    if (stat(file, &st) != 0) {
        fprintf(stderr, "ferry copybook: cannot read %s: %s; give the path "
                        "of a .cpy file\n", file, strerror(errno));
        return 66;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "ferry copybook: %s is not a regular file; give the "
                        "path of a .cpy file\n", file);
        return 66;
    }
    struct errs e;
    errs_init(&e);
    struct copybook *cb = cpy_load(file, fmt, &e);
    if (!cb) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        return 65;
    }
    errs_free(&e);
    struct buf out;
    buf_init(&out, 0);
    int rc = 0;
    if (cpy_listing(cb, record, json, &out) < 0) {
        if (record && !cpy_record_find(cb, record)) {
            fprintf(stderr, "ferry copybook: %s has no record %s; it has:",
                    file, record);
            for (size_t i = 0; i < cb->nrec; i++)
                fprintf(stderr, " %s", cb->rec[i].name);
            fputc('\n', stderr);
            rc = 64;
        } else {
            fprintf(stderr, "ferry copybook: out of memory\n");
            rc = 70;
        }
    } else {
        fwrite(buf_str(&out), 1, out.len, stdout);
        if (fflush(stdout) != 0)
            rc = 74;
    }
    buf_free(&out);
    cpy_free(cb);
    return rc;
}
