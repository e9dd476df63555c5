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

/* load_cb - the copybook named by attr (relative to dir), or reuse base */
static struct copybook *load_cb(const char *dir, const char *file, int line,
                                const char *mapfile, struct errs *e)
{
    char path[PATH_MAX];
    if (file[0] == '/')
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%s/%s", dir, file);
    struct errs ce;
    errs_init(&ce);
    struct copybook *cb = cpy_load(path, CPY_FMT_AUTO, &ce);
    if (!cb) {
        char where[PATH_MAX + 16];
        snprintf(where, sizeof where, "%s:%d", mapfile, line);
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
        l->cb = load_cb(t->dir, cbfile, sec ? sec->line : t->mt->line,
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
    else {
        errs_add(e, where, "recfm '%s': use FB, LF or CRLF", recfm);
        goto fail;
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
    t->detail.cb = load_cb(t->dir, cbfile, mt->line, mapping_file, e);
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
