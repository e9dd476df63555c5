/* fw_decode.c - COBOL record bytes back to a typed record, and the field
 * by field listing `ferry map` shows (fw_decode, fw_listing; see
 * fixedwidth.h).  Decoding reads acknowledgement files and
 * `ferry map --decode`; every bad byte is reported with its field and
 * offset, and nothing is ever guessed as 0.  The encoding half is
 * fixedwidth.c. */
#include "mappings/fixedwidth.h"
#include "mappings/mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/errs.h"

/* text_pic - a group read as text is PIC X(length) */
static struct cob_pic text_pic(const struct cpy_field *f)
{
    struct cob_pic p = f->pic;
    if (p.cls == COB_GROUP) {
        p.cls = COB_ALNUM;
        p.usage = COB_DISPLAY;
        p.digits = (int)f->length;
        p.length = f->length;
    }
    return p;
}

/* ---- decoding ----------------------------------------------------------- */

struct dec {
    const struct cpy_record *rec;
    const struct cob_codec *cc;
    const unsigned char *data;
    size_t len;
    struct errs *e;
    int bad;
};

static void dec_err(struct dec *D, const char *name, long idx, size_t off,
                    const char *msg)
{
    char w[160];
    if (idx >= 0)
        snprintf(w, sizeof w, "%s(%ld)", name, idx + 1);
    else
        snprintf(w, sizeof w, "%s", name);
    errs_add(D->e, w, "offset %zu: %s", off, msg);
    D->bad++;
}

/* out_name - the COBOL name, qualified by its parent when not unique */
static void out_name(const struct cpy_record *rec, const struct cpy_field *f,
                     char *out, size_t outsz)
{
    bool amb = false;
    cpy_field_find(rec, f->name, &amb);
    if (amb && f->parent)
        snprintf(out, outsz, "%s.%s", f->parent->name, f->name);
    else
        snprintf(out, outsz, "%s", f->name);
}

/* dec_field - decode one elementary field's bytes into a value */
static int dec_value(const struct cob_codec *cc, const struct cpy_field *f,
                     const unsigned char *in, struct fvalue *v, char *msg,
                     size_t msgsz)
{
    if (f->pic.cls == COB_NUMERIC) {
        dec128 x;
        int sc;
        if (cob_num_decode_wide(cc, &f->pic, in, &x, &sc, msg, msgsz) < 0)
            return -1;
        int rc = fvalue_set_wide(v, sc > 0 ? FT_DECIMAL : FT_INTEGER, x, sc);
        if (rc < 0)
            return snprintf(msg, msgsz, "out of memory"), -1;
        return 0;
    }
    size_t cap = f->length * 4 + 1;
    char *s = malloc(cap);
    if (!s)
        return snprintf(msg, msgsz, "out of memory"), -1;
    struct cob_pic p = text_pic(f);
    int rc = cob_text_decode(cc, &p, in, s, cap, msg, msgsz);
    if (rc == 0 && fvalue_set_text(v, FT_STRING, s) < 0)
        rc = (snprintf(msg, msgsz, "out of memory"), -1);
    free(s);
    return rc;
}

static int decode_group(struct dec *D, const struct cpy_field *g, size_t adj,
                        long idx, struct record *out);

/* decode_field - f (all its occurrences) into out */
static int decode_field(struct dec *D, const struct cpy_field *f, size_t adj,
                        long idx, struct record *out)
{
    char name[160], msg[256];
    if (f->filler && !f->nkids)
        return 0;
    if (f->occurs_max) {
        size_t count = f->occurs_max;
        if (f->odo) {
            int64_t x;
            int sc;
            if (f->odo->offset + f->odo->length > D->len) {
                dec_err(D, f->odo->name, -1, f->odo->offset,
                        "record ends inside this field");
                return -1;
            }
            if (cob_num_decode(D->cc, &f->odo->pic, D->data + f->odo->offset,
                               &x, &sc, msg, sizeof msg) < 0)
                return 0;            /* the count field reports itself */
            if (x < (int64_t)f->occurs_min || x > (int64_t)f->occurs_max) {
                snprintf(msg, sizeof msg, "count %s = %lld is outside %zu to "
                         "%zu", f->odo->name, (long long)x, f->occurs_min,
                         f->occurs_max);
                dec_err(D, f->name, idx, f->offset + adj, msg);
                return -1;
            }
            count = (size_t)x;
        }
        out_name(D->rec, f, name, sizeof name);
        struct record_field *rf = record_add(out, name);
        if (!rf)
            return -1;
        rf->v.type = FT_LIST;
        rf->v.present = true;
        rf->v.items = calloc(count ? count : 1, sizeof *rf->v.items);
        if (!rf->v.items)
            return -1;
        for (size_t k = 0; k < count; k++) {
            struct record *item = record_new();
            if (!item)
                return -1;
            rf->v.items[rf->v.nitems++] = item;
            size_t a2 = adj + k * f->length;
            if (f->offset + a2 + f->length > D->len) {
                dec_err(D, f->name, (long)k, f->offset + a2,
                        "record ends inside this occurrence");
                return -1;
            }
            if (f->nkids) {
                decode_group(D, f, a2, (long)k, item);
            } else {
                struct record_field *x = record_add(item, f->name);
                if (!x || dec_value(D->cc, f, D->data + f->offset + a2, &x->v,
                                    msg, sizeof msg) < 0)
                    dec_err(D, f->name, (long)k, f->offset + a2, msg);
            }
        }
        return 0;
    }
    if (f->nkids)
        return decode_group(D, f, adj, idx, out);
    size_t off = f->offset + adj;
    if (off + f->length > D->len) {
        dec_err(D, f->name, idx, off, "record ends inside this field");
        return -1;
    }
    out_name(D->rec, f, name, sizeof name);
    struct record_field *rf = record_add(out, name);
    if (!rf)
        return -1;
    if (dec_value(D->cc, f, D->data + off, &rf->v, msg, sizeof msg) < 0) {
        dec_err(D, name, idx, off, msg);
        return -1;
    }
    return 0;
}

static int decode_group(struct dec *D, const struct cpy_field *g, size_t adj,
                        long idx, struct record *out)
{
    int rc = 0;
    for (size_t i = 0; i < g->nkids; i++) {
        const struct cpy_field *k = g->kids[i];
        if (k->redefines) {
            /* a view: kept only when its bytes decode cleanly */
            struct errs tmp;
            errs_init(&tmp);
            struct record *view = record_new();
            struct dec V = *D;
            V.e = &tmp;
            V.bad = 0;
            if (view && decode_field(&V, k, adj, idx, view) == 0 && !V.bad) {
                for (size_t j = 0; j < view->n; j++) {
                    struct record_field *rf = record_add(out, view->f[j].name);
                    if (!rf)
                        break;
                    rf->personal = view->f[j].personal;
                    rf->v = view->f[j].v;     /* moved */
                    memset(&view->f[j].v, 0, sizeof view->f[j].v);
                }
            }
            record_free(view);
            errs_free(&tmp);
            continue;
        }
        if (decode_field(D, k, adj, idx, out) < 0)
            rc = -1;
    }
    return rc;
}

/* fw_decode - see fixedwidth.h */
struct record *fw_decode(const struct cpy_record *rec,
                         const struct cob_codec *cc,
                         const unsigned char *data, size_t len,
                         struct errs *e)
{
    struct dec D = { .rec = rec, .cc = cc, .data = data, .len = len,
                     .e = e };
    if (len < rec->length && !rec->has_odo) {
        errs_add(e, rec->name, "record is %zu bytes; the layout needs %zu",
                 len, rec->length);
        return NULL;
    }
    struct record *r = record_new();
    if (!r) {
        errs_add(e, rec->name, "out of memory");
        return NULL;
    }
    decode_field(&D, rec->root, 0, -1, r);
    if (D.bad) {
        record_free(r);
        return NULL;
    }
    return r;
}

/* in_table - is f, or a group above it, a table */
static bool in_table(const struct cpy_field *f)
{
    for (; f; f = f->parent)
        if (f->occurs_max)
            return true;
    return false;
}

/* fw_used_length - see fixedwidth.h; the rule fw_encode sizes by: a
 * table ending the record, in no other table */
int fw_used_length(const struct cpy_record *rec, const struct cob_codec *cc,
                   const unsigned char *data, size_t len, size_t *used,
                   char *msg, size_t msgsz)
{
    *used = rec->length;
    for (size_t i = 0; i < rec->nflat; i++) {
        const struct cpy_field *t = rec->flat[i];
        if (!t->odo || t->offset + cpy_total_length(t) != rec->length ||
            in_table(t->parent))
            continue;
        const struct cpy_field *c = t->odo;
        if (c->offset + c->length > len)
            return cob_fail(msg, msgsz, "%zu bytes end before the count %s "
                            "(offset %zu)", len, c->name, c->offset);
        int64_t x;
        int sc;
        char why[160];
        if (cob_num_decode(cc, &c->pic, data + c->offset, &x, &sc, why,
                           sizeof why) != 0)
            return cob_fail(msg, msgsz, "the count %s (offset %zu) does not "
                            "decode: %s", c->name, c->offset, why);
        if (x < (int64_t)t->occurs_min || x > (int64_t)t->occurs_max)
            return cob_fail(msg, msgsz, "the count %s is %lld, outside %s's "
                            "OCCURS %zu TO %zu", c->name, (long long)x,
                            t->name, t->occurs_min, t->occurs_max);
        *used = t->offset + (size_t)x * t->length;
    }
    return 0;
}

/* ---- checking without keeping ------------------------------------------ */

/* check_value - do f's bytes decode?  What dec_value decides, with nothing
 * kept: no value is built, text goes to a scratch buffer. */
static bool check_value(const struct cob_codec *cc, const struct cpy_field *f,
                        const unsigned char *in)
{
    char msg[256];
    if (f->pic.cls == COB_NUMERIC) {
        int64_t x;
        int sc;
        return cob_num_decode(cc, &f->pic, in, &x, &sc, msg, sizeof msg) == 0;
    }
    char small[1024];
    size_t cap = f->length * 4 + 1;
    char *s = cap <= sizeof small ? small : malloc(cap);
    if (!s)
        return false;
    struct cob_pic p = text_pic(f);
    bool ok = cob_text_decode(cc, &p, in, s, cap, msg, sizeof msg) == 0;
    if (s != small)
        free(s);
    return ok;
}

static bool check_group(const struct dec *D, const struct cpy_field *g,
                        size_t adj);

/* check_field - would decode_field report nothing for f?  The same walk
 * (occurrences, depending counts, groups; REDEFINES views never report),
 * decided without building the record. */
static bool check_field(const struct dec *D, const struct cpy_field *f,
                        size_t adj)
{
    if (f->filler && !f->nkids)
        return true;
    if (f->occurs_max) {
        size_t count = f->occurs_max;
        if (f->odo) {
            int64_t x;
            int sc;
            char msg[256];
            if (f->odo->offset + f->odo->length > D->len)
                return false;
            if (cob_num_decode(D->cc, &f->odo->pic, D->data + f->odo->offset,
                               &x, &sc, msg, sizeof msg) < 0)
                return true;         /* the count field reports itself */
            if (x < (int64_t)f->occurs_min || x > (int64_t)f->occurs_max)
                return false;
            count = (size_t)x;
        }
        for (size_t k = 0; k < count; k++) {
            size_t a2 = adj + k * f->length;
            if (f->offset + a2 + f->length > D->len)
                return false;
            if (f->nkids ? !check_group(D, f, a2)
                         : !check_value(D->cc, f, D->data + f->offset + a2))
                return false;
        }
        return true;
    }
    if (f->nkids)
        return check_group(D, f, adj);
    size_t off = f->offset + adj;
    return off + f->length <= D->len &&
           check_value(D->cc, f, D->data + off);
}

static bool check_group(const struct dec *D, const struct cpy_field *g,
                        size_t adj)
{
    for (size_t i = 0; i < g->nkids; i++)
        if (!g->kids[i]->redefines && !check_field(D, g->kids[i], adj))
            return false;
    return true;
}

/* ---- picked fields ------------------------------------------------------ */

/* fw_pick_init - see fixedwidth.h */
int fw_pick_init(struct fw_pick *p, const struct cpy_record *rec,
                 const char *const *names, size_t n, struct errs *e)
{
    memset(p, 0, sizeof *p);
    p->rec = rec;
    if (n > FW_PICK_MAX) {
        errs_add(e, rec->name, "at most %d fields", FW_PICK_MAX);
        return -1;
    }
    p->n = n;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        p->name[i] = names[i];
        if (!names[i])
            continue;
        bool amb = false;
        const struct cpy_field *f = cpy_field_find(rec, names[i], &amb);
        bool in_table = false;
        for (const struct cpy_field *g = f; g; g = g->parent)
            in_table |= g->occurs_max != 0;
        if (!f || f->nkids || amb || in_table) {
            errs_add(e, names[i], "%s in record %s", !f || f->nkids
                     ? "no such elementary field" : amb ? "ambiguous: "
                     "qualify it (GROUP.NAME)" : "inside OCCURS", rec->name);
            rc = -1;
            continue;
        }
        p->f[i] = f;
    }
    return rc;
}

/* fw_pick_decode - see fixedwidth.h */
struct record *fw_pick_decode(const struct fw_pick *p,
                              const struct cob_codec *cc,
                              const unsigned char *data, size_t len,
                              struct errs *e)
{
    /* every field is checked; only a record that fails is decoded whole,
     * for its problems as fw_decode words them */
    struct dec D = { .rec = p->rec, .cc = cc, .data = data, .len = len };
    if ((len < p->rec->length && !p->rec->has_odo) ||
        !check_field(&D, p->rec->root, 0)) {
        struct record *all = fw_decode(p->rec, cc, data, len, e);
        if (!all)
            return NULL;
        record_free(all);
    }
    struct record *r = record_new();
    if (!r) {
        errs_add(e, p->rec->name, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        struct record_field *rf = record_add(r, p->name[i] ? p->name[i]
                                                           : "");
        char msg[256];
        if (!rf) {
            errs_add(e, p->rec->name, "out of memory");
            record_free(r);
            return NULL;
        }
        if (p->f[i] && p->f[i]->offset + p->f[i]->length <= len &&
            dec_value(cc, p->f[i], data + p->f[i]->offset, &rf->v, msg,
                      sizeof msg) < 0) {
            errs_add(e, p->name[i], "offset %zu: %s", p->f[i]->offset, msg);
            record_free(r);
            return NULL;
        }
    }
    return r;
}

/* ---- listing ------------------------------------------------------------ */

/* fw_field_masked - f is one of the fields whose value must not be shown */
bool fw_field_masked(const struct cpy_field *f, const char *const *mask,
                     size_t nmask)
{
    for (size_t i = 0; i < nmask; i++)
        if (strcasecmp(mask[i], f->name) == 0)
            return true;
    return false;
}

/* fw_field_value - one elementary field's bytes decoded into v (caller
 * clears it); -1 with msg when they do not decode */
int fw_field_value(const struct cob_codec *cc, const struct cpy_field *f,
                   const unsigned char *in, struct fvalue *v, char *msg,
                   size_t msgsz)
{
    return dec_value(cc, f, in, v, msg, msgsz);
}

/* walk - every occurrence of f, then its children; the base view only */
static int walk(const struct cob_codec *cc, const unsigned char *data,
                size_t len, const struct cpy_field *f, size_t adj,
                const char *prefix, fw_field_fn fn, void *ctx)
{
    size_t occ = f->occurs_max ? f->occurs_max : 1;
    if (f->odo) {
        int64_t x;
        int sc;
        occ = 0;
        if (f->odo->offset + f->odo->length <= len &&
            cob_num_decode(cc, &f->odo->pic, data + f->odo->offset, &x, &sc,
                           NULL, 0) == 0 && x >= 0 &&
            (size_t)x <= f->occurs_max)
            occ = (size_t)x;
    }
    for (size_t k = 0; k < occ; k++) {
        size_t a2 = adj + k * f->length;
        char name[200];
        if (f->occurs_max)
            snprintf(name, sizeof name, "%s%s(%zu)", prefix, f->name, k + 1);
        else
            snprintf(name, sizeof name, "%s%s", prefix, f->name);
        if (f->nkids) {
            char pre[201];
            snprintf(pre, sizeof pre, "%s%s", f->occurs_max ? name : prefix,
                     f->occurs_max ? "." : "");
            for (size_t i = 0; i < f->nkids; i++) {
                if (f->kids[i]->redefines)
                    continue;      /* the base view is what was written */
                int rc = walk(cc, data, len, f->kids[i], a2, pre, fn, ctx);
                if (rc)
                    return rc;
            }
            continue;
        }
        size_t off = f->offset + a2;
        if (off + f->length > len)
            return 0;
        int rc = fn(ctx, f, off, name);
        if (rc)
            return rc;
    }
    return 0;
}

/* fw_each_field - see fixedwidth.h */
int fw_each_field(const struct cpy_record *rec, const struct cob_codec *cc,
                  const unsigned char *data, size_t len, fw_field_fn fn,
                  void *ctx)
{
    return walk(cc, data, len, rec->root, 0, "", fn, ctx);
}

struct lister {
    const struct cob_codec *cc;
    const unsigned char *data;
    const struct fw_notes *notes;
    const char *const *mask;
    size_t nmask;
    struct buf *out;
};

/* list_one - one line of the text listing */
static int list_one(void *ctx, const struct cpy_field *f, size_t off,
                    const char *name)
{
    struct lister *L = ctx;
    char val[512], msg[256];
    struct fvalue v;
    memset(&v, 0, sizeof v);
    if (dec_value(L->cc, f, L->data + off, &v, msg, sizeof msg) == 0)
        snprintf(val, sizeof val, "%s%s%s",
                 f->pic.cls == COB_NUMERIC ? "" : "\"", v.text ? v.text : "",
                 f->pic.cls == COB_NUMERIC ? "" : "\"");
    else
        snprintf(val, sizeof val, "?? %s", msg);
    fvalue_clear(&v);
    bool hide = fw_field_masked(f, L->mask, L->nmask);
    buf_printf(L->out, "%6zu %6zu %5zu  %-30s %-24s ", off + 1, off,
               f->length, name, hide ? MASK_TEXT " (personal)" : val);
    for (size_t i = 0; i < f->length && i < 32; i++) {
        if (hide)
            buf_puts(L->out, "**");
        else
            buf_printf(L->out, "%02X", L->data[off + i]);
    }
    if (f->length > 32)
        buf_puts(L->out, "...");
    for (size_t i = 0; L->notes && i < L->notes->n; i++) {
        const char *nf = L->notes->v[i].field;
        size_t fl = strlen(f->name);
        if (!strncmp(nf, f->name, fl) && (nf[fl] == '\0' || nf[fl] == '('))
            buf_printf(L->out, "  ! %s", L->notes->v[i].what);
    }
    buf_putc(L->out, '\n');
    return 0;
}

/* fw_listing - see fixedwidth.h */
int fw_listing(const struct cpy_record *rec, const struct cob_codec *cc,
               const unsigned char *data, size_t len,
               const struct fw_notes *notes, struct buf *out)
{
    return fw_listing_masked(rec, cc, data, len, notes, NULL, 0, out);
}

/* fw_listing_masked - see fixedwidth.h */
int fw_listing_masked(const struct cpy_record *rec, const struct cob_codec *cc,
                      const unsigned char *data, size_t len,
                      const struct fw_notes *notes, const char *const *mask,
                      size_t nmask, struct buf *out)
{
    struct lister L = { cc, data, notes, mask, nmask, out };
    buf_printf(out, "%6s %6s %5s  %-30s %-24s %s\n", "START", "OFFSET",
               "LEN", "FIELD", "VALUE", "BYTES");
    fw_each_field(rec, cc, data, len, list_one, &L);
    return 0;
}
