/* fixed_width.c - the fixed-width batch target: records laid out by the
 * department's COBOL copybook, gathered into one file per night batch.
 *
 * The descriptor names the keys the mapping's <target> takes, so
 * `ferry check` can refuse unknown ones.  Its callbacks stay NULL on
 * purpose: the file is built by the night batch runner (scheduler/batch.c)
 * through mappings/fw_target.h (the compiled layout), because building it
 * needs the ledger (records bound before writing, dead letters, the
 * batch's creation time for a deterministic header), which adapters never
 * touch.  The finished file is handed over by the target's transport
 * (sftp or local).  See docs/batch.md. */
#include "adapters/adapter.h"
#include "mappings/fw_target.h"
#include "util/errs.h"

#include <stddef.h>

/* fw_admit_new - the compiled layout the intake checks records against
 * (the same fw_target the night batch encodes with) */
static int fw_admit_new(void **actx, const struct adapter_env *env,
                        struct errs *e)
{
    *actx = NULL;
    if (!env->map || !env->mapping_file) {
        errs_add(e, env->service ? env->service : "", "no mapping section "
                 "for the fixed-width target");
        return -1;
    }
    *actx = fw_target_new(env->map, env->mapping_file, e);
    return *actx ? 0 : -1;
}

static int fw_admit(const void *actx, const struct record *rec,
                    struct errs *e)
{
    return fw_target_admit(actx, rec, e);
}

static void fw_admit_free(void *actx)
{
    fw_target_free(actx);
}

static const struct adapter_key fw_keys[] = {
    { NULL, NULL, false, false },
};

static const struct adapter_key fw_map_keys[] = {
    { "copybook",      "the detail copybook, relative to the mapping", true, false },
    { "record",        "the 01 record for details (default: the first)", false, false },
    { "encoding",      "ascii, IBM-285, IBM-037, IBM-1146 or IBM-1140", false, false },
    { "overpunch",     "ibm ({ABCDEFGHI}JKLMNOPQR, default) or gnu", false, false },
    { "recfm",         "FB (default), LF or CRLF", false, false },
    { "file-name",     "name pattern: {yyyymmdd} {ccyymmdd} {yymmdd} {seq} {seq:N} {target}, e.g. CLM.D{yymmdd}.S{seq:3}", false, false },
    { "trailer-count", "details (default) or all", false, false },
    { "empty-file",    "true: write header and trailer when nothing is queued", false, false },
    { NULL, NULL, false, false },
};

const struct adapter adapter_fixed_width = {
    .name = "fixed-width",
    .description = "fixed-width files laid out by a COBOL copybook (night batch)",
    .kind = ADAPTER_BATCH,
    .keys = fw_keys,
    .map_keys = fw_map_keys,
    .admit_new = fw_admit_new,
    .admit = fw_admit,
    .admit_free = fw_admit_free,
};
