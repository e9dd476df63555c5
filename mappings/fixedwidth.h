/* fixedwidth.h - whole 01 records: a typed record to the bytes a COBOL
 * program reads, and back.
 *
 * A fixed-width target's section (struct map_section) lists assignments:
 *   to     COBOL field: "NAME", "NAME OF GROUP" or "GROUP.NAME"
 *   from   record field; "LIST.FIELD" for a field inside an OCCURS table
 *          (LIST is an FT_LIST field, FIELD a field of its items); or a
 *          "$special" looked up in the caller's specials record
 *   value  constant (parsed exactly for numerics)
 *   format date format for dates: CCYYMMDD (default), YYMMDD, CYYDDD,
 *          JULIAN (CCYYDDD), ISO (YYYY-MM-DD, text only); for datetimes
 *          also HHMMSS and CCYYMMDDHHMMSS (UTC)
 *   truncate, fold   text only, each use reported as a struct fw_note
 * "to" naming an OCCURS group with "from" naming a list fills each
 * occurrence from one item, matching the group's elementary COBOL names
 * to the item's field names (case-insensitive).  An OCCURS DEPENDING ON
 * count field is set to the number of items unless it is assigned.
 * Fields not assigned are filled the COBOL way: their VALUE if they have
 * one (FILLER included), else spaces for text and zero in the field's own
 * usage for numbers.
 *
 * fw_plan_new binds names once (so `ferry check` finds every unknown
 * name before go-live); fw_encode is then cheap and thread-safe. */
#ifndef FERRY_MAPPINGS_FIXEDWIDTH_H
#define FERRY_MAPPINGS_FIXEDWIDTH_H
#include <stdbool.h>
#include <stddef.h>

#include "mappings/cobol.h"
#include "mappings/copybook.h"
#include "mappings/mapping.h"
#include "mappings/record.h"

struct errs;
struct buf;

/* Something the encoder changed on purpose: "truncated from 40 to 30
 * characters", "folded 'é' to 'e'".  ferry map flags these. */
struct fw_note {
    char *field;
    char *what;
};

struct fw_notes {
    struct fw_note *v;
    size_t n, cap;
};

void fw_notes_free(struct fw_notes *n);   /* frees items; struct reusable */

struct fw_plan;

/* fw_plan_new - bind sec's assignments to rec's fields.  NULL with every
 * problem in e (where "line N: to=NAME").  rec must outlive the plan. */
struct fw_plan *fw_plan_new(const struct cpy_record *rec,
                            const struct map_section *sec, struct errs *e);
void fw_plan_free(struct fw_plan *p);
size_t fw_plan_length(const struct fw_plan *p);

/* fw_encode - encode r into out (outsz >= the record length; tables are
 * written at their maximum size).  *used (may be NULL) gets the length a
 * variable-length (OCCURS DEPENDING ON) record really needs.  notes (may
 * be NULL) gets truncations and folds.  specials (may be NULL) holds
 * "$name" sources.  0 ok; -1 with every problem in e (where is the COBOL
 * field, the message names the offset). */
int fw_encode(const struct fw_plan *p, const struct cob_codec *cc,
              const struct record *r, const struct record *specials,
              unsigned char *out, size_t outsz, size_t *used,
              struct fw_notes *notes, struct errs *e);

/* fw_decode - record bytes to a struct record named by COBOL names:
 * elementary fields only (FILLER skipped), tables as FT_LIST of
 * sub-records, numbers as FT_INTEGER or FT_DECIMAL (scale from the PIC),
 * text trimmed.  A name used twice in the layout is qualified
 * "GROUP.NAME".  REDEFINES views are included when their bytes decode
 * cleanly and left out otherwise.  NULL with every bad field in e.
 * Caller frees with record_free. */
struct record *fw_decode(const struct cpy_record *rec,
                         const struct cob_codec *cc,
                         const unsigned char *data, size_t len,
                         struct errs *e);

/* fw_used_length - the bytes a record of rec uses, by the OCCURS
 * DEPENDING ON count it holds (data, len bytes; rec->length when the
 * record ends in no such table): what its RECFM=V descriptor must count,
 * as fw_encode sizes it.  0, or -1 with why in msg (the record ends
 * before its count, the count does not decode or lies outside the
 * table's OCCURS range). */
int fw_used_length(const struct cpy_record *rec, const struct cob_codec *cc,
                   const unsigned char *data, size_t len, size_t *used,
                   char *msg, size_t msgsz);

/* A layout's named fields, found once (fw_pick_init), then read together
 * from each record in one call (fw_pick_decode): what reconciliation
 * takes from every acknowledgement record. */
#define FW_PICK_MAX 16
struct fw_pick {
    const struct cpy_record *rec;
    size_t n;
    const char *name[FW_PICK_MAX];         /* NULL: not named */
    const struct cpy_field *f[FW_PICK_MAX];
};

/* fw_pick_init - names[0..n) in rec (NULL entries stay unnamed); each
 * must be one elementary field outside OCCURS.  0, or -1 with every bad
 * name in e (where = the name). */
int fw_pick_init(struct fw_pick *p, const struct cpy_record *rec,
                 const char *const *names, size_t n, struct errs *e);
/* fw_pick_decode - one record: every field must decode (bad bytes anywhere
 * are problems, as fw_decode reports them), then the picked fields come
 * back in order, r->f[i] for names[i] (not present when unnamed).  NULL
 * with the problems in e.  Caller frees with record_free. */
struct record *fw_pick_decode(const struct fw_pick *p,
                              const struct cob_codec *cc,
                              const unsigned char *data, size_t len,
                              struct errs *e);

/* fw_listing - one line per elementary field (and occurrence): START,
 * OFFSET, LENGTH, NAME, decoded value, bytes in hex, and any note for
 * that field: what `ferry map` shows for a fixed-width target. */
int fw_listing(const struct cpy_record *rec, const struct cob_codec *cc,
               const unsigned char *data, size_t len,
               const struct fw_notes *notes, struct buf *out);

/* fw_each_field - call fn for every elementary field and occurrence of
 * the record's base view (REDEFINES views skipped, tables at their
 * DEPENDING ON count), in offset order: off is the 0-based offset of this
 * occurrence, name e.g. "CLM-ITEM(2).CLM-ITEM-AMT".  fn returns non-zero
 * to stop; that value is returned.  The one walk behind fw_listing and
 * fw_fields_json. */
typedef int (*fw_field_fn)(void *ctx, const struct cpy_field *f, size_t off,
                           const char *name);
int fw_each_field(const struct cpy_record *rec, const struct cob_codec *cc,
                  const unsigned char *data, size_t len, fw_field_fn fn,
                  void *ctx);
/* fw_field_value - one elementary field's bytes decoded into v (caller
 * clears it with fvalue_clear); -1 with msg naming the offset when they
 * do not decode */
int fw_field_value(const struct cob_codec *cc, const struct cpy_field *f,
                   const unsigned char *in, struct fvalue *v, char *msg,
                   size_t msgsz);
/* fw_field_masked - f's name is in mask (any case) */
bool fw_field_masked(const struct cpy_field *f, const char *const *mask,
                     size_t nmask);

/* fw_listing_masked - the same, with the VALUE and BYTES of the
 * elementary fields named in mask (COBOL names, any case) shown as
 * asterisks: fields filled from personal data, for `ferry map` without
 * --reveal. */
int fw_listing_masked(const struct cpy_record *rec, const struct cob_codec *cc,
                      const unsigned char *data, size_t len,
                      const struct fw_notes *notes, const char *const *mask,
                      size_t nmask, struct buf *out);

/* fw_date_digits - a date (days since 1970-01-01) or datetime (ms, UTC)
 * in a mainframe date format; out holds at least 16 bytes.  0 ok, -1
 * unknown format or year out of range. */
int fw_date_digits(const struct fvalue *v, const char *format, char *out,
                   size_t outsz);

/* fw_fields_json - the fields of fw_listing_masked as a JSON array
 * (fw_json.c), one object per elementary field and occurrence: {"name",
 * "start" (1-based), "offset", "length", "value" (text; numbers exact, as
 * text; null with "error" when the bytes do not decode), "hex" (every
 * byte), "note" (what the encoder changed on purpose, when it did)}.
 * Fields named in mask (COBOL names, any case) get "value" and "hex"
 * "***" and "personal": true.  New reference (json_decref); NULL when out
 * of memory. */
struct json_t;
struct json_t *fw_fields_json(const struct cpy_record *rec,
                              const struct cob_codec *cc,
                              const unsigned char *data, size_t len,
                              const struct fw_notes *notes,
                              const char *const *mask, size_t nmask);

/* ---- RECFM=V and VB framing (fw_rdw.c) ---------------------------------
 * Each record after a record descriptor word (2-byte big-endian length
 * including the 4-byte RDW, then 2 zero bytes); in VB, records gathered
 * into blocks after a block descriptor word of the same form. */
#define FW_V_MAX 32760

/* A writer into out[0..cap): blksize 0 for RECFM=V, else the VB block
 * size (at most FW_V_MAX).  Zero the rest. */
struct fw_vbuf {
    unsigned char *out;
    size_t cap, n;
    size_t blksize;
    size_t bdw, blk;     /* the open block's descriptor offset and bytes */
};
/* fw_v_frame - one record of n bytes (for OCCURS DEPENDING ON, the length
 * fw_encode used); 0, or -1 with msg (too long, output full) */
int fw_v_frame(struct fw_vbuf *w, const unsigned char *rec, size_t n,
               char *msg, size_t msgsz);
/* fw_v_end_block - close the open VB block (call before using out) */
void fw_v_end_block(struct fw_vbuf *w);

/* A reader of data[0..len); blocked for VB.  Zero the rest. */
struct fw_vread {
    const unsigned char *data;
    size_t len, pos, block_end;
    bool blocked;
};
/* fw_v_next - the next record (*rec points into data, *n bytes without
 * the RDW): 1, 0 at the end, -1 with msg naming the offset */
int fw_v_next(struct fw_vread *r, const unsigned char **rec, size_t *n,
              char *msg, size_t msgsz);

#endif
