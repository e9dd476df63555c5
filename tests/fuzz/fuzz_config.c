// fuzz-sources: config/*.c adapters/*.c mappings/*.c scheduler/*.c spool/*.c util/*.c gen:schemas
// fuzz-corpus: tests/data/config examples/mappings examples/ferry.xml
/* fuzz_config.c - libFuzzer target for the two XML loaders.
 *
 * Each input is tried as a mapping (mapping_load_memory) and as ferry.xml
 * (config_load, from a file in a private temporary folder, so relative
 * mapping, copybook and secret paths resolve inside it).  A config that
 * loads is also checked (config_check).  Every refusal must name where and
 * why; nothing may crash or leak.  The first line above lists what to link
 * (config_load reaches the adapter registry, so most of libferry). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "scheduler/sched_check.h"
#include "mappings/mapping.h"
#include "util/errs.h"

static char dir[64];
static char path[96];

static void check_errs(const struct errs *e)
{
    for (size_t i = 0; i < e->n; i++)
        if (!e->v[i].where || !e->v[i].msg || !e->v[i].msg[0])
            abort();
}

/* cleanup - leave no temporary folder behind when the fuzzer exits */
static void cleanup(void)
{
    if (dir[0]) {
        unlink(path);
        rmdir(dir);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct errs e;
    errs_init(&e);
    struct mapping *m = NULL;
    if (mapping_load_memory((const char *)data, size, "fuzz-mapping.xml",
                            &m, &e) == 0) {
        if (!m)
            abort();
        mapping_free(m);
    } else if (e.n == 0) {
        abort();
    }
    check_errs(&e);
    errs_free(&e);

    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_config.XXXXXX");
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/ferry.xml", dir);
        atexit(cleanup);
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    errs_init(&e);
    struct ferry_config *c = NULL;
    if (config_load(path, &c, &e) == 0) {
        struct errs e2;
        errs_init(&e2);
        (void)sched_check_config(c, &e2);
        check_errs(&e2);
        errs_free(&e2);
    } else if (e.n == 0) {
        abort();
    }
    config_free(c);     /* set even on failure when the XML parsed */
    check_errs(&e);
    errs_free(&e);
    return 0;
}
