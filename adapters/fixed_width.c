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

#include <stddef.h>

static const struct adapter_key fw_keys[] = {
    ADAPTER_KEY_END,
};

static const struct adapter_key fw_map_keys[] = {
    ADAPTER_KEY("copybook", ADAPTER_OPT_STR, true,
                "the detail copybook, relative to the mapping"),
    ADAPTER_KEY("record", ADAPTER_OPT_STR, false,
                "the 01 record for details (default: the first)"),
    ADAPTER_KEY("encoding", ADAPTER_OPT_STR, false,
                "ascii, IBM-285, IBM-037, IBM-1146 or IBM-1140"),
    ADAPTER_KEY("overpunch", ADAPTER_OPT_STR, false,
                "ibm ({ABCDEFGHI}JKLMNOPQR, default) or gnu"),
    ADAPTER_KEY("recfm", ADAPTER_OPT_STR, false,
                "FB (default), LF or CRLF"),
    ADAPTER_KEY("file-name", ADAPTER_OPT_STR, false,
                "name pattern: {yyyymmdd} {ccyymmdd} {yymmdd} {seq} {seq:N} {target}, e.g. CLM.D{yymmdd}.S{seq:3}"),
    ADAPTER_KEY("trailer-count", ADAPTER_OPT_STR, false,
                "details (default) or all"),
    ADAPTER_KEY("empty-file", ADAPTER_OPT_STR, false,
                "true: write header and trailer when nothing is queued"),
    ADAPTER_KEY_END,
};

/* fw_validate - the whole layout as the night batch will bind it: date
 * formats, LIST.FIELD into tables, nested tables */
static int fw_validate(const struct adapter_env *env, struct errs *e)
{
    if (!env->map || !kv_get(&env->map->opts, "copybook"))
        return 0;
    struct fw_target *t = fw_target_new(env->map, env->map_file, e);
    int rc = t ? 0 : -1;
    fw_target_free(t);
    return rc;
}

const struct adapter adapter_fixed_width = {
    .name = "fixed-width",
    .description = "fixed-width files laid out by a COBOL copybook (night batch)",
    .kind = ADAPTER_BATCH,
    .keys = fw_keys,
    .map_keys = fw_map_keys,
    .validate = fw_validate,
};
