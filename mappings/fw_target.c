/* fw_target.c - compile a fixed-width target's mapping.  See fw_target.h. */
#include "mappings/fw_target.h"
#include "util/errs.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const struct map_section *fw_section(const struct map_target *mt,
                                     const char *name)
{
    for (size_t i = 0; i < mt->nsec; i++)
        if (mt->sec[i].name && strcmp(mt->sec[i].name, name) == 0)
            return &mt->sec[i];
    return NULL;
}

const char *fw_record_sep(const struct fw_target *t)
{
    return t->recfm == FW_RECFM_LF ? "\n" : t->recfm == FW_RECFM_CRLF ? "\r\n" : "";
}

/* load_cb - the copybook named by attr (relative to dir), or reuse base.
 * One outside the configuration's folders is refused unread. */
static struct copybook *load_cb(const struct map_target *mt, const char *dir,
                                const char *file, int line,
                                const char *mapfile, struct errs *e)
{
    char path[PATH_MAX];
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "%s:%d", mapfile, line);
    bool outside;
    char why[PATH_MAX + 128];
    char *real = mapping_copybook_path(mt, file, &outside, why, sizeof why);
    if (!real && outside) {
        errs_add(e, where, "copybook %s cannot be used: %s", file, why);
        return NULL;
    }
    if (real)
        snprintf(path, sizeof path, "%s", real);
    else if (file[0] == '/')
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%s/%s", dir, file);
    free(real);
    struct errs ce;
    errs_init(&ce);
    struct copybook *cb = cpy_load(path, CPY_FMT_AUTO, &ce);
    if (!cb) {
        errs_add(e, where, "copybook %s cannot be used", file);
        errs_move(e, &ce);
    }
    errs_free(&ce);
    return cb;
}

/* layout_setup - the 01 record of a section, from its own copybook or the
 * target's; plan bound when want_plan */
static int layout_setup(struct fw_target *t, struct fw_layout *l,
                        const struct map_section *sec, const char *recname,
                        const char *cbfile, bool want_plan,
                        const char *mapfile, struct errs *e)
{
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "%s:%d", mapfile, sec ? sec->line : t->mt->line);
    l->sec = sec;
    if (cbfile) {
        l->cb = load_cb(t->mt, t->dir, cbfile, sec ? sec->line : t->mt->line,
                        mapfile, e);
        if (!l->cb)
            return -1;
    }
    const struct copybook *cb = l->cb ? l->cb : t->detail.cb;
    l->rec = cpy_record_find(cb, recname);
    if (!l->rec) {
        errs_add(e, where, "copybook %s has no record %s", cb->name,
                 recname ? recname : "(first)");
        return -1;
    }
    if (want_plan && sec) {
        struct errs pe;
        errs_init(&pe);
        l->plan = fw_plan_new(l->rec, sec, &pe);
        if (!l->plan) {
            for (size_t i = 0; i < pe.n; i++)
                errs_add(e, where, "%s%s%s", pe.v[i].where,
                         pe.v[i].where[0] ? ": " : "", pe.v[i].msg);
            errs_free(&pe);
            return -1;
        }
        errs_free(&pe);
    }
    return 0;
}

/* reads_total - does section sec take "$count" or a "$sum:" anywhere */
static const struct map_assign *reads_total(const struct map_section *sec)
{
    for (size_t i = 0; sec && i < sec->na; i++) {
        const char *fr = sec->a[i].from;
        if (fr && (strcmp(fr, "$count") == 0 || strncmp(fr, "$sum:", 5) == 0))
            return &sec->a[i];
    }
    return NULL;
}

/* add_sum - one "$sum:FIELD" source (a of section sec) into t->sums: 0,
 * 1 when it is refused, -1 when there are too many */
static int add_sum(struct fw_target *t, const struct map_section *sec,
                   const struct map_assign *a, const char *mapfile,
                   struct errs *e)
{
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "%s:%d", mapfile,
             a->line ? a->line : sec->line);
    const char *fr = a->from, *nm = fr + 5;
    for (size_t k = 0; k < t->nsums; k++)
        if (strcmp(t->sums[k].name, nm) == 0)
            return 0;
    if (t->nsums == FW_MAX_SUMS) {
        errs_add(e, where, "at most %d hash totals", FW_MAX_SUMS);
        return -1;
    }
    bool amb = false;
    const struct cpy_field *f = cpy_field_find(t->detail.rec, nm, &amb);
    if (!f || amb || f->pic.cls != COB_NUMERIC) {
        errs_add(e, where, "%s: the detail record has %s", fr,
                 !f ? "no such field" : amb ? "more than one field of that"
                 " name" : "it as text: a hash total needs a number");
        return 1;
    }
    for (const struct cpy_field *g = f; g; g = g->parent) {
        if (g->occurs_max) {
            errs_add(e, where, "%s: a field inside OCCURS cannot be "
                     "totalled", fr);
            return 1;
        }
    }
    t->sums[t->nsums].name = nm;
    t->sums[t->nsums].f = f;
    t->sums[t->nsums].scale = f->pic.scale > 0 ? f->pic.scale : 0;
    t->nsums++;
    return 0;
}

/* totals_setup - where $count and $sum: may stand (header and trailer;
 * a header with totals makes the night batch write the file twice, the
 * second time with the first pass's figures), and each $sum:'s field */
static int totals_setup(struct fw_target *t, const char *mapfile,
                        struct errs *e)
{
    const struct map_section *hs = t->header.rec ? t->header.sec : NULL;
    const struct map_section *ds = &t->mt->sec[0];
    int bad = 0;
    const struct map_assign *a = reads_total(ds);
    if (a) {
        char where[PATH_MAX + 16];
        snprintf(where, sizeof where, "%s:%d", mapfile,
                 a->line ? a->line : ds->line);
        errs_add(e, where, "%s=\"%s\": a detail record cannot carry the "
                 "file's totals: $count and $sum: belong in the header or "
                 "the trailer", a->to ? a->to : "from", a->from);
        bad = 1;
    }
    t->header_totals = reads_total(hs) != NULL;
    const struct map_section *both[2] = {
        hs, t->trailer.rec ? t->trailer.sec : NULL
    };
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; both[k] && i < both[k]->na; i++) {
            const char *fr = both[k]->a[i].from;
            if (!fr || strncmp(fr, "$sum:", 5) != 0)
                continue;
            int rc = add_sum(t, both[k], &both[k]->a[i], mapfile, e);
            if (rc < 0)
                return -1;
            bad |= rc;
        }
    }
    return bad ? -1 : 0;
}

/* vrec_setup - RECFM=V and VB: every record fits its RDW (and a block) */
static int vrec_setup(const struct fw_target *t, const char *where,
                      struct errs *e)
{
    if (t->recfm != FW_RECFM_V && t->recfm != FW_RECFM_VB)
        return 0;
    const struct fw_layout *ls[3] = { &t->detail, &t->header, &t->trailer };
    for (int k = 0; k < 3; k++) {
        const struct cpy_record *r = ls[k]->rec;
        if (!r)
            continue;
        size_t most = t->recfm == FW_RECFM_VB ? t->block_size - 4 : FW_V_MAX;
        if (r->length + 4 > most) {
            errs_add(e, where, "record %s is %zu bytes: with its RDW it does "
                     "not fit %s", r->name, r->length,
                     t->recfm == FW_RECFM_VB ? "the block-size"
                                             : "RECFM=V (32,756 at most)");
            return -1;
        }
    }
    return 0;
}

/* constants_setup - every text constant (value=) of the file's sections
 * must be writable in the target's code page: a constant in the details
 * would otherwise dead-letter every record on the first night */
static int constants_setup(struct fw_target *t, const char *mapfile,
                           struct errs *e)
{
    const struct fw_layout *ls[3] = { &t->detail, &t->header, &t->trailer };
    int bad = 0;
    for (int k = 0; k < 3; k++) {
        const struct fw_layout *l = ls[k];
        for (size_t i = 0; l->rec && l->sec && i < l->sec->na; i++) {
            const struct map_assign *a = &l->sec->a[i];
            bool amb = false;
            const struct cpy_field *f = a->value && a->to
                ? cpy_field_find(l->rec, a->to, &amb) : NULL;
            if (!f || f->nkids || f->pic.cls == COB_NUMERIC)
                continue;
            unsigned char *tmp = malloc(f->length ? f->length : 1);
            char msg[256];
            if (!tmp) {
                errs_add(e, mapfile, "out of memory");
                return -1;
            }
            if (cob_text_encode(t->cc, &f->pic, a->value, strlen(a->value),
                                a->fold ? COB_TX_FOLD : 0, tmp, NULL, msg,
                                sizeof msg) != 0 &&
                (!a->truncate ||
                 cob_text_encode(t->cc, &f->pic, a->value, strlen(a->value),
                                 COB_TX_TRUNCATE | (a->fold ? COB_TX_FOLD : 0),
                                 tmp, NULL, msg, sizeof msg) != 0)) {
                char where[PATH_MAX + 16];
                snprintf(where, sizeof where, "%s:%d", mapfile,
                         a->line ? a->line : l->sec->line);
                errs_add(e, where, "to=%s: the constant cannot be written: %s",
                         a->to, msg);
                bad = 1;
            }
            free(tmp);
        }
    }
    return bad ? -1 : 0;
}

/* type_const - what record l writes in field f: the section's constant,
 * else the field's VALUE, else spaces (""); NULL when data fills it */
static const char *type_const(const struct fw_layout *l,
                              const struct cpy_field *f)
{
    for (size_t i = 0; l->sec && i < l->sec->na; i++) {
        const struct map_assign *a = &l->sec->a[i];
        bool amb = false;
        if (!a->to || cpy_field_find(l->rec, a->to, &amb) != f)
            continue;
        return a->value ? a->value : NULL;
    }
    if (f->value.kind == CPY_VAL_TEXT && f->value.text && !f->value.hex)
        return f->value.text;
    return "";
}

/* first_field - the elementary field at offset 0 when it is short text:
 * the record-type field of a file with several kinds of record */
static const struct cpy_field *first_field(const struct cpy_record *rec)
{
    for (size_t i = 0; i < rec->nflat; i++) {
        const struct cpy_field *f = rec->flat[i];
        if (f->nkids || f->level == 66 || f->level == 88)
            continue;
        return f->offset == 0 && f->pic.cls != COB_NUMERIC &&
               f->length <= 4 && !f->occurs_max ? f : NULL;
    }
    return NULL;
}

/* record_types_setup - a file with a header or trailer whose records
 * share one layout (one 01 whose views REDEFINE one another, or 01s of
 * the same length that begin with the same type field) must give each
 * kind of record its own record-type constant, or the receiving program
 * cannot tell a header from a detail */
static int record_types_setup(struct fw_target *t, const char *mapfile,
                              struct errs *e)
{
    const struct fw_layout *ls[3] = { &t->detail, &t->header, &t->trailer };
    static const char *const what[3] = { "detail", "header", "trailer" };
    const struct cpy_field *tf[3] = { NULL, NULL, NULL };
    const char *tv[3] = { NULL, NULL, NULL };
    for (int k = 0; k < 3; k++) {
        if (!ls[k]->rec)
            continue;
        tf[k] = first_field(ls[k]->rec);
        if (!tf[k])
            return 0;            /* no type field to compare */
        tv[k] = type_const(ls[k], tf[k]);
    }
    int bad = 0;
    bool told[3] = { false, false, false };
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            if (a == b || !tf[a] || !tf[b] || !tv[a] || !tv[b])
                continue;
            bool shared = ls[a]->rec == ls[b]->rec ||
                          (tf[a]->length == tf[b]->length &&
                           strcmp(tf[a]->name, tf[b]->name) == 0);
            if (!shared || told[b] || (b < a && tv[b][0]))
                continue;
            bool left_out = !tv[b][0];
            if (!left_out && strcmp(tv[a], tv[b]) != 0)
                continue;
            const struct fw_layout *l = ls[b];
            char where[PATH_MAX + 16];
            snprintf(where, sizeof where, "%s:%d", mapfile,
                     l->sec ? l->sec->line : t->mt->line);
            if (left_out)
                errs_add(e, where, "the %s record leaves its record type %s "
                         "out (it would be spaces) while it shares its layout "
                         "with the %s record: give it <map to=\"%s\" "
                         "value=\"...\"/>", what[b], tf[b]->name, what[a],
                         tf[b]->name);
            else
                errs_add(e, where, "the %s and %s records both begin "
                         "%s=\"%s\": give each kind of record its own "
                         "record-type constant (<map to=\"%s\" "
                         "value=\"...\"/>)", what[a], what[b], tf[b]->name,
                         tv[b], tf[b]->name);
            told[b] = true;
            bad = 1;
        }
    return bad ? -1 : 0;
}

struct fw_target *fw_target_new(const struct map_target *mt,
                                const char *mapping_file, struct errs *e)
{
    struct fw_target *t = calloc(1, sizeof *t);
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "%s:%d", mapping_file, mt->line);
    if (!t) {
        errs_add(e, where, "out of memory");
        return NULL;
    }
    t->mt = mt;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", mapping_file);
    t->dir = strdup(dirname(tmp));
    if (!t->dir)
        goto fail;

    const char *enc = kv_get(&mt->opts, "encoding");
    enum cob_codepage cp = COB_CP_ASCII;
    if (enc && cob_codepage_parse(enc, &cp) != 0) {
        errs_add(e, where, "unknown encoding '%s' (ascii, IBM-285, IBM-037, "
                 "IBM-1146, IBM-1140)", enc);
        goto fail;
    }
    const char *op = kv_get(&mt->opts, "overpunch");
    enum cob_overpunch ovp = COB_OP_IBM;
    if (op && cob_overpunch_parse(op, &ovp) != 0) {
        errs_add(e, where, "unknown overpunch '%s' (ibm, gnu)", op);
        goto fail;
    }
    char msg[256];
    t->cc = cob_codec_new(cp, ovp, msg, sizeof msg);
    if (!t->cc) {
        errs_add(e, where, "%s", msg);
        goto fail;
    }
    const char *recfm = kv_get(&mt->opts, "recfm");
    if (!recfm || strcasecmp(recfm, "FB") == 0)
        t->recfm = FW_RECFM_FB;
    else if (strcasecmp(recfm, "LF") == 0)
        t->recfm = FW_RECFM_LF;
    else if (strcasecmp(recfm, "CRLF") == 0)
        t->recfm = FW_RECFM_CRLF;
    else if (strcasecmp(recfm, "V") == 0)
        t->recfm = FW_RECFM_V;
    else if (strcasecmp(recfm, "VB") == 0)
        t->recfm = FW_RECFM_VB;
    else {
        errs_add(e, where, "recfm '%s': use FB, LF, CRLF, V or VB", recfm);
        goto fail;
    }
    const char *bs = kv_get(&mt->opts, "block-size");
    t->block_size = 27998;               /* half a 3390 track, IBM's usual */
    if (bs) {
        char *end;
        unsigned long v = strtoul(bs, &end, 10);
        if (t->recfm != FW_RECFM_VB || *end || v < 8 || v > FW_V_MAX) {
            errs_add(e, where, "block-size '%s': a number of bytes, 8 to %d, "
                     "for recfm=\"VB\" only", bs, FW_V_MAX);
            goto fail;
        }
        t->block_size = (size_t)v;
    }
    const char *tc = kv_get(&mt->opts, "trailer-count");
    if (tc && strcmp(tc, "all") != 0 && strcmp(tc, "details") != 0) {
        errs_add(e, where, "trailer-count '%s': use details or all", tc);
        goto fail;
    }
    t->trailer_all = tc && strcmp(tc, "all") == 0;
    const char *ef = kv_get(&mt->opts, "empty-file");
    t->empty_file = ef && (strcmp(ef, "true") == 0 || strcmp(ef, "yes") == 0);
    t->file_pattern = kv_get(&mt->opts, "file-name");

    const char *cbfile = kv_get(&mt->opts, "copybook");
    if (!cbfile) {
        errs_add(e, where, "a fixed-width target needs copybook=\"FILE.cpy\"");
        goto fail;
    }
    t->detail.cb = load_cb(mt, t->dir, cbfile, mt->line, mapping_file, e);
    if (!t->detail.cb)
        goto fail;
    int bad = 0;
    if (layout_setup(t, &t->detail, &mt->sec[0], kv_get(&mt->opts, "record"),
                     NULL, true, mapping_file, e) != 0)
        bad = 1;
    const struct map_section *h = fw_section(mt, "header");
    if (h && layout_setup(t, &t->header, h, kv_get(&h->opts, "record"),
                          kv_get(&h->opts, "copybook"), true, mapping_file,
                          e) != 0)
        bad = 1;
    const struct map_section *tr = fw_section(mt, "trailer");
    if (tr && layout_setup(t, &t->trailer, tr, kv_get(&tr->opts, "record"),
                           kv_get(&tr->opts, "copybook"), true, mapping_file,
                           e) != 0)
        bad = 1;
    const struct map_section *ack = fw_section(mt, "ack");
    t->ack_sec = ack;
    if (ack) {
        if (layout_setup(t, &t->ack, ack, kv_get(&ack->opts, "record"),
                         kv_get(&ack->opts, "copybook"), false, mapping_file,
                         e) != 0)
            bad = 1;
        const char *atr = kv_get(&ack->opts, "trailer");
        if (!bad && atr) {
            t->ack_trailer.cb = NULL;
            t->ack_trailer.sec = ack;
            const struct copybook *acb = t->ack.cb ? t->ack.cb : t->detail.cb;
            t->ack_trailer.rec = cpy_record_find(acb, atr);
            if (!t->ack_trailer.rec) {
                errs_add(e, where, "copybook %s has no record %s", acb->name, atr);
                bad = 1;
            }
        }
    }
    if (!bad) {
        bad |= totals_setup(t, mapping_file, e) != 0;
        bad |= constants_setup(t, mapping_file, e) != 0;
        bad |= record_types_setup(t, mapping_file, e) != 0;
        bad |= vrec_setup(t, where, e) != 0;
    }
    if (bad)
        goto fail;
    return t;
fail:
    fw_target_free(t);
    return NULL;
}

static void layout_free(struct fw_layout *l)
{
    fw_plan_free(l->plan);
    cpy_free(l->cb);
}

void fw_target_free(struct fw_target *t)
{
    if (!t)
        return;
    layout_free(&t->header);
    layout_free(&t->trailer);
    layout_free(&t->ack);
    layout_free(&t->ack_trailer);
    layout_free(&t->detail);
    cob_codec_free(t->cc);
    free(t->dir);
    free(t);
}

struct record *fw_preview_specials(int64_t now_ms)
{
    struct record *s = record_new();
    if (!s)
        return NULL;
    time_t now = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ref[40];
    strftime(ref, sizeof ref, "FRY-%Y%m%d-000000", &tm);
    struct record_field *f;
    bool ok = (f = record_add(s, "$reference")) &&
              fvalue_set_text(&f->v, FT_STRING, ref) == 0 &&
              (f = record_add(s, "$delivery-id")) &&
              fvalue_set_text(&f->v, FT_STRING,
                              "00000000-0000-0000-0000-000000000000") == 0 &&
              (f = record_add(s, "$received-at"));
    if (ok) {
        fvalue_set_datetime(&f->v, now_ms);
        ok = (f = record_add(s, "$file-date"));
    }
    if (ok) {
        fvalue_set_date(&f->v, now_ms / 86400000);
        ok = (f = record_add(s, "$created-time"));
    }
    if (ok) {
        fvalue_set_datetime(&f->v, now_ms);
        ok = (f = record_add(s, "$sequence"));
    }
    if (ok) {
        fvalue_set_int(&f->v, 1);
        ok = (f = record_add(s, "$count"));
    }
    if (!ok) {
        record_free(s);
        return NULL;
    }
    fvalue_set_int(&f->v, 1);
    return s;
}

int fw_target_admit(const struct fw_target *t, const struct record *rec,
                    struct errs *e)
{
    size_t len = t->detail.rec->length;
    unsigned char stack[4096];
    unsigned char *bytes = len <= sizeof stack ? stack : malloc(len);
    struct record *specials = fw_preview_specials((int64_t)time(NULL) * 1000);
    struct fw_notes notes = { 0 };
    size_t used = 0;
    int rc = -1;
    if (!bytes || !specials) {
        errs_add(e, t->mt->name, "out of memory");
        goto out;
    }
    rc = fw_encode(t->detail.plan, t->cc, rec, specials, bytes, len, &used,
                   &notes, e) == 0 ? 0 : -1;
out:
    fw_notes_free(&notes);
    record_free(specials);
    if (bytes != stack)
        free(bytes);
    return rc;
}
