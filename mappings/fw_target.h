/* fw_target.h - a fixed-width target's mapping, compiled: its copybook,
 * code page, record format and the bound plans of its detail, header and
 * trailer sections (and, when it has one, its acknowledgement layout).
 *
 * Built once from the mapping's <target> element; used by `ferry map`,
 * `ferry check`, the night batch and reconciliation, so all of them read
 * the same attributes the same way:
 *   copybook   the detail copybook, relative to the mapping file
 *   record     its 01 record for details (default: the first)
 *   encoding   ascii | IBM-285 | IBM-037 | IBM-1146 | IBM-1140
 *   overpunch  ibm ({ABCDEFGHI}JKLMNOPQR, default) | gnu (ASCII only)
 *   recfm      FB (no separator, default) | LF | CRLF
 *   file-name  name pattern: {yyyymmdd} {yymmdd} {seq:N} {target}
 *   trailer-count  details (default) | all (header and trailer counted)
 *   empty-file true: write header and trailer when no record is queued
 * Sections "header" and "trailer" name their own 01 record (record=) and
 * may name another copybook (copybook=).  Section "ack" describes the
 * acknowledgement file (see docs/reconcile.md). */
#ifndef FERRY_MAPPINGS_FW_TARGET_H
#define FERRY_MAPPINGS_FW_TARGET_H
#include <stdbool.h>
#include <stddef.h>

#include "mappings/cobol.h"
#include "mappings/copybook.h"
#include "mappings/fixedwidth.h"
#include "mappings/mapping.h"

struct errs;

/* FB: fixed records back to back; LF/CRLF: each ends with a line end;
 * V: each after its RDW, as long as it is used (OCCURS DEPENDING ON);
 * VB: V records in blocks of at most block_size bytes (fw_rdw.c) */
enum fw_recfm {
    FW_RECFM_FB = 0, FW_RECFM_LF, FW_RECFM_CRLF, FW_RECFM_V, FW_RECFM_VB
};

#define FW_MAX_SUMS 8

/* A hash total the trailer carries ("$sum:FIELD"): a numeric detail
 * field outside OCCURS, summed exactly at its own scale. */
struct fw_sum {
    const char *name;              /* as the mapping names it (borrowed) */
    const struct cpy_field *f;     /* in the detail record */
    int scale;
};

struct fw_layout {
    struct copybook *cb;           /* owned; may be shared below */
    const struct cpy_record *rec;
    struct fw_plan *plan;          /* NULL for the ack layouts */
    const struct map_section *sec;
};

struct fw_target {
    const struct map_target *mt;   /* borrowed from the mapping */
    struct cob_codec *cc;
    enum fw_recfm recfm;
    size_t block_size;             /* VB: bytes a block holds, BDW included */
    bool trailer_all;
    bool empty_file;
    bool header_totals;            /* the header takes $count or $sum: */
    const char *file_pattern;
    struct fw_layout detail;
    struct fw_layout header;       /* rec NULL when there is none */
    struct fw_layout trailer;
    struct fw_layout ack;          /* ack detail; rec NULL when none */
    struct fw_layout ack_trailer;
    const struct map_section *ack_sec;
    struct fw_sum sums[FW_MAX_SUMS];   /* the header's and trailer's $sum:
                                          fields */
    size_t nsums;
    char *dir;                     /* the mapping file's folder */
};

/* fw_target_new - compile mt (mapping_file locates relative copybooks).
 * NULL with every problem in e, each naming the mapping file and line.
 * The totals are checked here too, so `ferry check` refuses what the
 * first night would: $count or $sum: outside the trailer (the header and
 * the details are written before any total is known), $sum: of a field
 * the detail record does not hold as a number outside OCCURS. */
struct fw_target *fw_target_new(const struct map_target *mt,
                                const char *mapping_file, struct errs *e);
void fw_target_free(struct fw_target *t);

/* fw_preview_specials - the "$" sources ferry makes itself ($reference,
 * $delivery-id, $received-at, $file-date, $created-time, $sequence,
 * $count) with typical values at now_ms, for a preview or an intake check
 * of a record not yet spooled.  Caller record_free's; NULL on nomem. */
struct record *fw_preview_specials(int64_t now_ms);

/* fw_target_admit - rec can be encoded as a detail record of t (code
 * page, control characters, lengths, ranges), as the night batch will
 * encode it: the check the intake runs for each batch target, so nothing
 * accepted fails to encode later because of its own content.  0, or -1
 * with every problem in e. */
int fw_target_admit(const struct fw_target *t, const struct record *rec,
                    struct errs *e);

/* fw_section - a section of mt by name, or NULL */
const struct map_section *fw_section(const struct map_target *mt,
                                     const char *name);
/* fw_record_sep - the separator written after each record ("" for FB) */
const char *fw_record_sep(const struct fw_target *t);

#endif
