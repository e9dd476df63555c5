// fuzz-sources: scheduler/cron.c scheduler/window.c util/tz.c util/errs.c util/buf.c util/fsutil.c
/* fuzz_cron.c - libFuzzer target for the schedule parsers.
 *
 * The input's first line is a cron expression, the rest a delivery window
 * spec (the whole input is also tried as each).  Whatever parses is then
 * evaluated around the 2026 Europe/London clock changes, so next-run and
 * window searches run on fuzzer-made schedules too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/cron.h"
#include "util/tz.h"
#include "scheduler/window.h"
#include "util/errs.h"

static void try_cron(const char *s, const struct tz *z)
{
    struct errs e;
    errs_init(&e);
    struct cron c;
    if (cron_parse(s, &c, &e) == 0) {
        int64_t t = 1774746000 - 86400, nx;     /* 2026-03-28 01:00Z */
        for (int i = 0; i < 4 && cron_next(&c, z, t, &nx) == 0; i++) {
            if (nx <= t)
                abort();                /* must be strictly after */
            t = nx;
        }
    }
    errs_free(&e);
}

static void try_window(const char *s)
{
    static const char *const hol[] = {"2026-03-29", "2026-12-25"};
    struct errs e;
    errs_init(&e);
    struct window *w = window_parse(s, hol, 2, &e);
    if (w) {
        int64_t t = 1792890000;                  /* 2026-10-25 00:20Z */
        int64_t n = window_next_open(w, t);
        if (n != WINDOW_NEVER && (n < t || !window_open(w, n)))
            abort();
        window_free(w);
    }
    errs_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tz *london;
    if (!london) {
        struct errs e;
        errs_init(&e);
        london = tz_load("Europe/London", &e);
        errs_free(&e);
        if (!london)
            return 0;
    }
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    try_cron(s, london);
    try_window(s);
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        try_cron(s, london);
        try_window(nl + 1);
    }
    free(s);
    return 0;
}
