// fuzz-sources: util/*.c
// fuzz-corpus: tests/fuzz/seeds/tzif
/* fuzz_tzif.c - libFuzzer target for the TZif loader (util/tz.c).
 *
 * Each input is a zone file: it is written to a private TZDIR and loaded
 * by name, as the scheduler loads Europe/London.  A zone that loads must
 * answer every question about its times in bounded time and range:
 * offsets within a day, local times that resolve, a next change that lies
 * after the time asked about. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/errs.h"
#include "util/tz.h"

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/ferry-fuzz-tz-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        setenv("TZDIR", dir, 1);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/Fuzz", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    struct errs e;
    errs_init(&e);
    struct tz *z = tz_load("Fuzz", &e);
    if (!z) {
        if (e.n == 0)
            abort();
        errs_free(&e);
        return 0;
    }
    static const int64_t at[] = { -2208988800LL, 0, 1711846800LL,
                                  1729990800LL, 4102444800LL };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        int off = tz_offset_at(z, at[i]);
        if (off < -26 * 3600 || off > 26 * 3600)
            abort();
        struct tm tm;
        tz_localtime(z, at[i], &tm);
        int64_t next = 0;
        if (tz_next_change(z, at[i], &next) == 1 && next <= at[i])
            abort();
    }
    tz_free(z);
    errs_free(&e);
    return 0;
}
