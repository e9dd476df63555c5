/* fw_tool.c - drive the fixed-width encoder and decoder from a shell test.
 *
 *   fw_tool encode COPYBOOK CODEPAGE OVERPUNCH VALUES.jsonl OUT.bin [RECFM]
 *   fw_tool decode COPYBOOK CODEPAGE OVERPUNCH VALUES.jsonl IN.bin [RECFM]
 *   fw_tool layout COPYBOOK           (the --json listing, for scripts)
 *
 * VALUES.jsonl has one record a line:
 *   {"record":"CLAIM-DETAIL","values":{"DTL-AMOUNT":"-12345.67",
 *    "DTL-ITEMS":[{"DTL-ITEM-CODE":"A1","DTL-ITEM-AMT":"-1.50"}]}}
 * Every key becomes an assignment to=KEY from=KEY; strings stay strings
 * (numeric fields parse them exactly), arrays become lists for OCCURS.
 * encode writes the records back to back (each at its layout's length);
 * with RECFM V, VB or VB:BLKSIZE each record is as long as it is used
 * (OCCURS DEPENDING ON) after its RDW, in blocks for VB.
 * decode reads them in the same order and prints "FIELD=value" lines
 * ("FIELD(01)=value" inside tables), one per elementary field.
 * Exit: 0 ok, 1 encode/decode errors (printed), 2 usage or input. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/cobol.h"
#include "mappings/copybook.h"
#include "mappings/fixedwidth.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/buf.h"
#include "util/errs.h"

static void print_errs(const struct errs *e)
{
    for (size_t i = 0; i < e->n; i++)
        fprintf(stderr, "%s: %s\n", e->v[i].where, e->v[i].msg);
}

/* to_record - JSON object of strings/arrays to a record */
static struct record *to_record(json_t *o)
{
    struct record *r = record_new();
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        struct record_field *f = record_add(r, k);
        if (json_is_string(v)) {
            fvalue_set_text(&f->v, FT_STRING, json_string_value(v));
        } else if (json_is_integer(v)) {
            fvalue_set_int(&f->v, (int64_t)json_integer_value(v));
        } else if (json_is_array(v)) {
            size_t n = json_array_size(v);
            f->v.type = FT_LIST;
            f->v.present = true;
            f->v.items = calloc(n ? n : 1, sizeof *f->v.items);
            for (size_t i = 0; i < n; i++)
                f->v.items[f->v.nitems++] = to_record(json_array_get(v, i));
        }
    }
    return r;
}

static void print_record(const struct record *r, const char *suffix)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct record_field *f = &r->f[i];
        if (f->v.type == FT_LIST) {
            for (size_t j = 0; j < f->v.nitems; j++) {
                char sfx[32];
                snprintf(sfx, sizeof sfx, "(%02zu)", j + 1);
                print_record(f->v.items[j], sfx);
            }
            continue;
        }
        printf("%s%s=%s\n", f->name, suffix, f->v.text ? f->v.text : "");
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "layout")) {
        struct errs le;
        errs_init(&le);
        struct copybook *lcb = cpy_load(argv[2], CPY_FMT_AUTO, &le);
        struct buf b;
        buf_init(&b, 0);
        int lrc = lcb && cpy_listing(lcb, NULL, true, &b) == 0 ? 0 : 1;
        print_errs(&le);
        fputs(buf_str(&b), stdout);
        buf_free(&b);
        cpy_free(lcb);
        errs_free(&le);
        return lrc;
    }
    if ((argc != 7 && argc != 8) ||
        (strcmp(argv[1], "encode") && strcmp(argv[1], "decode"))) {
        fprintf(stderr, "usage: fw_tool encode|decode COPYBOOK CODEPAGE "
                "OVERPUNCH VALUES.jsonl FILE [V|VB|VB:BLKSIZE]\n");
        return 2;
    }
    bool vrec = argc == 8;
    struct fw_vbuf vb;
    struct fw_vread vr;
    unsigned char *vdata = NULL;
    memset(&vb, 0, sizeof vb);
    memset(&vr, 0, sizeof vr);
    if (vrec) {
        const char *rf = argv[7];
        if (!strncmp(rf, "VB", 2)) {
            vb.blksize = rf[2] == ':' ? strtoul(rf + 3, NULL, 10) : FW_V_MAX;
            vr.blocked = true;
        } else if (strcmp(rf, "V")) {
            fprintf(stderr, "fw_tool: RECFM V, VB or VB:BLKSIZE\n");
            return 2;
        }
        vb.cap = 16u << 20;
        vb.out = malloc(vb.cap);
        if (!vb.out)
            return 2;
    }
    bool enc = !strcmp(argv[1], "encode");
    enum cob_codepage cp;
    enum cob_overpunch op;
    if (cob_codepage_parse(argv[3], &cp) < 0 ||
        cob_overpunch_parse(argv[4], &op) < 0) {
        fprintf(stderr, "fw_tool: bad code page or overpunch\n");
        return 2;
    }
    struct errs e;
    errs_init(&e);
    struct copybook *cb = cpy_load(argv[2], CPY_FMT_AUTO, &e);
    char msg[256];
    struct cob_codec *cc = cob_codec_new(cp, op, msg, sizeof msg);
    FILE *vf = fopen(argv[5], "r");
    FILE *df = fopen(argv[6], enc ? "wb" : "rb");
    int rc = 0;
    if (!cb || !cc || !vf || !df) {
        print_errs(&e);
        fprintf(stderr, "fw_tool: cannot open inputs\n");
        rc = 2;
        goto out;
    }
    char line[65536];
    int n = 0;
    if (vrec && !enc && cb && cc && vf && df) {
        vdata = malloc(vb.cap);
        vr.data = vdata;
        vr.len = vdata ? fread(vdata, 1, vb.cap, df) : 0;
    }
    while (fgets(line, sizeof line, vf)) {
        if (line[0] == '\n' || line[0] == '#')
            continue;
        n++;
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        const char *rname = json_string_value(json_object_get(j, "record"));
        json_t *vals = json_object_get(j, "values");
        const struct cpy_record *rec = cpy_record_find(cb, rname);
        if (!j || !rec || !json_is_object(vals)) {
            fprintf(stderr, "fw_tool: line %d: bad input\n", n);
            json_decref(j);
            rc = 2;
            break;
        }
        unsigned char *buf = calloc(1, rec->length);
        if (enc) {
            struct map_section sec;
            memset(&sec, 0, sizeof sec);
            sec.na = json_object_size(vals);
            sec.a = calloc(sec.na ? sec.na : 1, sizeof *sec.a);
            size_t k = 0;
            const char *key;
            json_t *v;
            json_object_foreach(vals, key, v) {
                sec.a[k].to = (char *)key;
                sec.a[k].from = (char *)key;
                sec.a[k].line = n;
                k++;
            }
            struct record *r = to_record(vals);
            struct fw_plan *p = fw_plan_new(rec, &sec, &e);
            struct fw_notes notes;
            memset(&notes, 0, sizeof notes);
            size_t used = rec->length;
            if (!p || fw_encode(p, cc, r, NULL, buf, rec->length, &used,
                                &notes, &e) < 0) {
                print_errs(&e);
                errs_clear(&e);
                rc = 1;
            } else if (vrec) {
                char vm[160];
                if (fw_v_frame(&vb, buf, used, vm, sizeof vm) < 0) {
                    fprintf(stderr, "fw_tool: record %d: %s\n", n, vm);
                    rc = 1;
                }
            } else {
                fwrite(buf, 1, rec->length, df);
            }
            for (size_t i = 0; i < notes.n; i++)
                fprintf(stderr, "note: %s: %s\n", notes.v[i].field,
                        notes.v[i].what);
            fw_notes_free(&notes);
            fw_plan_free(p);
            record_free(r);
            free(sec.a);
        } else {
            const unsigned char *vp = NULL;
            size_t vn = rec->length;
            char vm[160] = "short file";
            if (vrec ? fw_v_next(&vr, &vp, &vn, vm, sizeof vm) != 1 ||
                       vn > rec->length
                     : fread(buf, 1, rec->length, df) != rec->length) {
                fprintf(stderr, "fw_tool: record %d: %s\n", n, vm);
                rc = 1;
            } else {
                if (vrec)
                    memcpy(buf, vp, vn);
                struct record *r = fw_decode(rec, cc, buf, vn, &e);
                if (!r) {
                    print_errs(&e);
                    errs_clear(&e);
                    rc = 1;
                } else {
                    printf("# %s\n", rec->name);
                    print_record(r, "");
                    record_free(r);
                }
            }
        }
        free(buf);
        json_decref(j);
    }
    if (vrec && enc && rc == 0) {
        fw_v_end_block(&vb);
        fwrite(vb.out, 1, vb.n, df);
    }
out:
    free(vb.out);
    free(vdata);
    if (vf)
        fclose(vf);
    if (df && fclose(df) != 0)
        rc = 2;
    cob_codec_free(cc);
    cpy_free(cb);
    errs_free(&e);
    return rc;
}
