/* recon_layout.c - compiling a batch target's <section name="ack">
 * into a recon_layout: for a fixed-width target the ack copybook's
 * detail and trailer records and the key, status, reason and receipt
 * fields; for a delimited target the columns of the same names
 * (recon_delim.c keeps its dialect); for both the status code lists and
 * the reasons code table turned into words.  See docs/reconcile.md for
 * the attributes; every problem is reported, none stops the others. */
#include "scheduler/recon_int.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "mappings/fw_target.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>


/* ---- the layout ------------------------------------------------------ */

/* split_codes - "A" or "A,B" into v (copies) */
static int split_codes(const char *s, char **v, size_t *n)
{
    *n = 0;
    while (s && *s) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (len && *n < RECON_MAX_CODES && !(v[(*n)++] = strndup(s, len)))
            return -1;
        s = c ? c + 1 : NULL;
    }
    return 0;
}

void recon_layout_free(struct recon_layout *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nacc; i++)
        free(l->acc[i]);
    for (size_t i = 0; i < l->nrej; i++)
        free(l->rej[i]);
    if (l->words && l->reasons)
        for (size_t i = 0; i < l->reasons->n; i++)
            free(l->words[i]);
    free(l->words);
    recon_delim_free(l->dl);
    cob_codec_free(l->cc_own);
    fw_target_free(l->fw);
    free(l);
}

const char *recon_layout_pattern(const struct recon_layout *l)
{
    return l->pattern;
}

/* need_field - name must be an elementary field of rec */
static void need_field(const struct cpy_record *rec, const char *attr,
                       const char *name, const char *where, struct errs *e)
{
    bool amb = false;
    const struct cpy_field *f = name ? cpy_field_find(rec, name, &amb) : NULL;
    if (!name)
        errs_add(e, where, "the ack section needs %s=\"FIELD\"", attr);
    else if (!f || f->nkids)
        errs_add(e, where, "%s=\"%s\": record %s has no such elementary "
                 "field", attr, name, rec->name);
    else if (amb)
        errs_add(e, where, "%s=\"%s\" is ambiguous in %s: qualify it "
                 "(GROUP.NAME)", attr, name, rec->name);
}

/* rtype_setup - the record type of rec: attr, else the single value of
 * the first field's one 88-level, else its VALUE; encoded in the ack's
 * code page.  Unknown (n 0) when none is given. */
static void rtype_setup(const struct recon_layout *l,
                        const struct cpy_record *rec, const char *attrname,
                        const char *attr, struct recon_rtype *t,
                        const char *where, struct errs *e)
{
    memset(t, 0, sizeof *t);
    if (!rec)
        return;
    const struct cpy_field *f = NULL;
    for (size_t i = 0; i < rec->nflat && !f; i++)
        if (!rec->flat[i]->nkids && rec->flat[i]->level < 50)
            f = rec->flat[i];
    bool usable = f && f->offset == 0 && f->pic.cls != COB_NUMERIC &&
                  f->length <= sizeof t->b && !f->occurs_max;
    const char *v = attr;
    if (!v && usable && f->nconds == 1 && f->conds[0].n == 1 &&
        f->conds[0].v[0].hi.kind == CPY_VAL_NONE &&
        f->conds[0].v[0].lo.kind == CPY_VAL_TEXT && !f->conds[0].v[0].lo.hex)
        v = f->conds[0].v[0].lo.text;
    if (!v && usable && f->value.kind == CPY_VAL_TEXT && !f->value.hex)
        v = f->value.text;
    if (!v)
        return;
    if (!usable) {
        errs_add(e, where, "%s=\"%s\": record %s does not begin with a text "
                 "field of at most %zu bytes to hold it", attrname, v,
                 rec->name, sizeof t->b);
        return;
    }
    char msg[256];
    if (strlen(v) >= sizeof t->text ||
        cob_text_encode(l->cc, &f->pic, v, strlen(v), 0, t->b, NULL, msg,
                        sizeof msg) != 0) {
        errs_add(e, where, "%s=\"%s\": does not fit %s", attrname, v,
                 f->name);
        return;
    }
    t->f = f;
    t->n = f->length;
    snprintf(t->text, sizeof t->text, "%s", v);
}

/* layout_common - what an ack section says whatever the file's format:
 * the key, status, reason and receipt names, key-kind, the status code
 * lists, name-pattern, overdue-hours and the reasons table in words.
 * Problems to e; -1 only out of memory. */
static int layout_common(struct recon_layout *l, const struct map_target *mt,
                         const struct map_section *s, const char *where,
                         struct errs *e)
{
    const struct kvlist *o = &s->opts;
    l->mt = mt;
    l->key = kv_get(o, "key");
    l->status = kv_get(o, "status");
    l->reason = kv_get(o, "reason");
    l->reason_text = kv_get(o, "reason-text");
    l->receipt = kv_get(o, "receipt");
    l->pattern = kv_get(o, "name-pattern");
    const char *kk = kv_get(o, "key-kind");
    if (kk && strcmp(kk, "front-end") == 0)
        l->key_fe = true;
    else if (kk && strcmp(kk, "reference") != 0)
        errs_add(e, where, "key-kind=\"%s\": use reference or front-end", kk);
    if (split_codes(kv_get(o, "accepted"), l->acc, &l->nacc) != 0 ||
        split_codes(kv_get(o, "rejected"), l->rej, &l->nrej) != 0) {
        errs_add(e, where, "out of memory");
        return -1;
    }
    if (!l->nacc || !l->nrej)
        errs_add(e, where, "the ack section needs accepted=\"CODE\" and "
                 "rejected=\"CODE\" (comma-separated lists allowed)");
    const char *oh = kv_get(o, "overdue-hours");
    if (oh && config_parse_int(oh, 1, 24L * 366, &l->overdue_hours) != 0)
        errs_add(e, where, "overdue-hours=\"%s\": a whole number of hours", oh);
    for (size_t i = 0; i < mt->ncodes; i++)
        if (mt->codes[i].name && strcmp(mt->codes[i].name, "reasons") == 0)
            l->reasons = &mt->codes[i];
    if (l->reasons && l->reasons->n) {
        l->words = calloc(l->reasons->n, sizeof *l->words);
        if (!l->words) {
            errs_add(e, where, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < l->reasons->n; i++) {
            const struct map_code *c = &l->reasons->c[i];
            if (asprintf(&l->words[i], "%s: %s", c->value, c->code) < 0) {
                l->words[i] = NULL;
                errs_add(e, where, "out of memory");
                return -1;
            }
        }
    }
    return 0;
}

struct recon_layout *recon_layout_new(const struct map_target *mt,
                                      const char *mapping_file,
                                      const char *service, struct errs *e)
{
    char where[PATH_MAX + 16];
    struct recon_layout *l = calloc(1, sizeof *l);
    if (!l) {
        errs_add(e, mapping_file, "out of memory");
        return NULL;
    }
    l->service = service;
    l->target = mt->name;
    size_t before = e->n;
    l->fw = fw_target_new(mt, mapping_file, e);
    if (!l->fw)
        goto fail;
    const struct map_section *s = l->fw->ack_sec;
    snprintf(where, sizeof where, "%s:%d", mapping_file, s ? s->line : mt->line);
    if (!s || !l->fw->ack.rec) {
        errs_add(e, where, "target %s has no <section name=\"ack\"> "
                 "describing its acknowledgement file", mt->name);
        goto fail;
    }
    const struct kvlist *o = &s->opts;
    l->det = l->fw->ack.rec;
    l->trl = l->fw->ack_trailer.rec;
    l->cc = l->fw->cc;
    const char *enc = kv_get(o, "encoding"), *ovp = kv_get(o, "overpunch");
    if (enc || ovp) {
        enum cob_codepage cp = cob_codec_page(l->fw->cc);
        enum cob_overpunch op = COB_OP_IBM;
        const char *top = kv_get(&mt->opts, "overpunch");
        if (top)
            cob_overpunch_parse(top, &op);
        char msg[256];
        if ((enc && cob_codepage_parse(enc, &cp) != 0) ||
            (ovp && cob_overpunch_parse(ovp, &op) != 0)) {
            errs_add(e, where, "ack encoding/overpunch not understood");
            goto fail;
        }
        if (!(l->cc_own = cob_codec_new(cp, op, msg, sizeof msg))) {
            errs_add(e, where, "%s", msg);
            goto fail;
        }
        l->cc = l->cc_own;
    }
    if (layout_common(l, mt, s, where, e) != 0)
        goto fail;
    l->tcount = kv_get(o, "trailer-count");
    l->tacc = kv_get(o, "trailer-accepted");
    l->trej = kv_get(o, "trailer-rejected");
    need_field(l->det, "key", l->key, where, e);
    need_field(l->det, "status", l->status, where, e);
    if (l->reason)
        need_field(l->det, "reason", l->reason, where, e);
    if (l->reason_text)
        need_field(l->det, "reason-text", l->reason_text, where, e);
    if (l->receipt)
        need_field(l->det, "receipt", l->receipt, where, e);
    if (l->trl) {
        if (l->tcount)
            need_field(l->trl, "trailer-count", l->tcount, where, e);
        if (l->tacc)
            need_field(l->trl, "trailer-accepted", l->tacc, where, e);
        if (l->trej)
            need_field(l->trl, "trailer-rejected", l->trej, where, e);
    } else if (l->tcount || l->tacc || l->trej) {
        errs_add(e, where, "trailer counts named but no trailer=\"RECORD\"");
    }
    if (e->n == before) {
        const char *dn[RK_N] = { l->key, l->status, l->reason,
                                 l->reason_text, l->receipt };
        const char *tn[RT_N] = { l->tcount, l->tacc, l->trej };
        struct errs pe;
        errs_init(&pe);
        if (fw_pick_init(&l->dpick, l->det, dn, RK_N, &pe) != 0 ||
            (l->trl && fw_pick_init(&l->tpick, l->trl, tn, RT_N, &pe) != 0))
            for (size_t i = 0; i < pe.n; i++)
                errs_add(e, where, "%s: %s", pe.v[i].where, pe.v[i].msg);
        errs_free(&pe);
    }
    const char *rf = kv_get(o, "recfm");
    if (!rf)
        l->recfm = RECON_RECFM_AUTO;
    else if (strcasecmp(rf, "FB") == 0)
        l->recfm = RECON_RECFM_FB;
    else if (strcasecmp(rf, "LF") == 0 || strcasecmp(rf, "CRLF") == 0)
        l->recfm = RECON_RECFM_LINES;
    else if (strcasecmp(rf, "V") == 0)
        l->recfm = RECON_RECFM_V;
    else if (strcasecmp(rf, "VB") == 0)
        l->recfm = RECON_RECFM_VB;
    else
        errs_add(e, where, "recfm=\"%s\": use FB, LF, CRLF, V or VB", rf);
    if (l->recfm == RECON_RECFM_LINES && cob_codec_ebcdic(l->cc))
        errs_add(e, where, "recfm=\"%s\": an EBCDIC ack file has no line "
                 "ends: use FB", rf);
    rtype_setup(l, l->det, "detail-type", kv_get(o, "detail-type"),
                &l->dtype, where, e);
    rtype_setup(l, l->trl, "trailer-type", kv_get(o, "trailer-type"),
                &l->ttype, where, e);
    if (l->dtype.n && l->ttype.n && l->dtype.n == l->ttype.n &&
        memcmp(l->dtype.b, l->ttype.b, l->dtype.n) == 0)
        errs_add(e, where, "the detail and the trailer have the same record "
                 "type '%s'", l->dtype.text);
    for (size_t i = 0; i < l->det->nflat; i++) {
        const struct cpy_field *f = l->det->flat[i];
        if (!f->nkids && f->pic.cls == COB_NUMERIC && f->pic.usage != COB_DISPLAY)
            l->binary = true;
    }
    if (e->n > before)
        goto fail;
    return l;
fail:
    recon_layout_free(l);
    return NULL;
}


/* recon_layout_for - see reconcile.h.  The one place the ack reader
 * tells the formats apart: by the target's adapter type. */
struct recon_layout *recon_layout_for(const struct target_config *tc,
                                      const struct map_target *mt,
                                      const char *mapping_file,
                                      const char *service, struct errs *e)
{
    if (!tc || !tc->type || strcmp(tc->type, "delimited") != 0)
        return recon_layout_new(mt, mapping_file, service, e);
    char where[PATH_MAX + 16];
    const struct map_section *s = fw_section(mt, "ack");
    snprintf(where, sizeof where, "%s:%d", mapping_file, s ? s->line : mt->line);
    if (!s) {
        errs_add(e, where, "target %s has no <section name=\"ack\"> "
                 "describing its acknowledgement file", mt->name);
        return NULL;
    }
    struct recon_layout *l = calloc(1, sizeof *l);
    if (!l) {
        errs_add(e, where, "out of memory");
        return NULL;
    }
    l->service = service;
    size_t before = e->n;
    l->dl = recon_delim_new(tc, s, where, e);
    if (layout_common(l, mt, s, where, e) != 0)
        goto fail;
    if (!l->key)
        errs_add(e, where, "the ack section needs key=\"COLUMN\"");
    if (!l->status)
        errs_add(e, where, "the ack section needs status=\"COLUMN\"");
    if (e->n > before || !l->dl)
        goto fail;
    return l;
fail:
    recon_layout_free(l);
    return NULL;
}
