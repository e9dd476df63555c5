/* cmd_map.c - `ferry map SERVICE FILE.json`: what a submission becomes,
 * for mapping authors.  It validates and maps the submission exactly as
 * intake does, then shows the typed record and, for the service's target:
 *   fixed-width  every field with start, offset, length, value and bytes
 *                in hex, flagging anything truncated or folded;
 *   others       each target slot and the value it gets.
 * `--decode FILE` reads a fixed-width file instead (FB, lines, or RECFM=V
 * and VB through their descriptors) and lists each record by the
 * copybook (what the mainframe would see).  Nothing is spooled.
 * --json gives the same for a submission as one JSON document (built with
 * jansson; personal values masked unless --reveal). */
#include "adapters/adapter.h"
#include "cli/cli.h"
#include "config/config.h"
#include "mappings/fw_target.h"
#include "mappings/mapping.h"
#include "mappings/mask.h"
#include "mappings/record.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/errs_json.h"
#include "util/fsutil.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry map [--config FILE] [--reveal] [--json] SERVICE FILE.json\n"
        "       ferry map [--config FILE] --decode [--section NAME] SERVICE FILE\n"
        "\n"
        "Show what one submission becomes: the typed record, then each target\n"
        "field with its offset, value and bytes in hex (fixed-width), flagging\n"
        "truncated or folded text.  Nothing is spooled.  Personal fields are\n"
        "shown as *** in the record unless --reveal (the bytes are the real\n"
        "ones: run it on test data).  --decode lists the records of a\n"
        "fixed-width FILE by the copybook (section record, header, trailer, ack):\n"
        "FB, LF or CRLF, or RECFM=V and VB through their descriptors, each record\n"
        "as long as its RDW says and its OCCURS DEPENDING ON count uses.\n"
        "--json prints {\"service\", \"record\", \"target\": {\"name\", \"type\",\n"
        "...}} instead (fixed-width: \"fields\" with start, offset, length, value,\n"
        "hex; personal fields' value and hex \"***\" unless --reveal; other\n"
        "targets: \"slots\"), or {\"problems\": [{\"where\", \"message\"}]} when\n"
        "refused.  Not with --decode.\n"
        "\n"
        "Exit: 0 ok, 64 usage or no such service, 65 the submission is refused\n"
        "     (every problem listed), cannot be encoded or FILE does not decode,\n"
        "     66 FILE missing, 78 configuration problem (including a target\n"
        "     <map from=...> naming no field of the mapping).\n");
}

/* print_json - o to stdout, indented (o is released); EX_OSERR when it
 * cannot be serialised */
static int print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s) {
        fprintf(stderr, "ferry map: out of memory\n");
        return EX_OSERR;
    }
    puts(s);
    free(s);
    return EX_OK;
}

/* copybook_target - tc is a batch format whose mapping target lays its
 * records out by a copybook (the adapter says which kind tc is; no
 * adapter is named here) */
static bool copybook_target(const struct target_config *tc,
                            const struct map_target *mt)
{
    const struct adapter *a = tc && tc->type ? adapter_find(tc->type) : NULL;
    return a && a->kind == ADAPTER_BATCH && mt &&
           kv_get(&mt->opts, "copybook") != NULL;
}

/* fixed_width_json - what show_fixed_width prints, as "target" (and
 * "problems" when the record cannot be encoded) of root */
static int fixed_width_json(const struct service_config *svc,
                            const struct target_config *tc,
                            const struct map_target *mt,
                            const struct record *rec, bool reveal,
                            json_t *root)
{
    struct errs e;
    errs_init(&e);
    int rc = EX_OK;
    struct fw_target *ft = fw_target_new(mt, svc->mapping->file, &e);
    if (!ft) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        return EX_CONFIG;
    }
    size_t len = ft->detail.rec->length;
    unsigned char *bytes = calloc(1, len ? len : 1);
    struct record *specials = fw_preview_specials((int64_t)time(NULL) * 1000);
    struct fw_notes notes = { 0 };
    size_t used = 0, nmask = 0;
    const char **mask = NULL;
    json_t *t = json_pack("{s:s,s:s}", "name", mt->name, "type", tc->type);
    if (!bytes || !specials || !t ||
        json_object_set(root, "target", t) != 0) {
        rc = EX_OSERR;
        goto out;
    }
    if (fw_encode(ft->detail.plan, ft->cc, rec, specials, bytes, len, &used,
                  &notes, &e) != 0) {
        json_object_set_new(root, "problems", errs_json(&e));
        rc = EX_DATAERR;
        goto out;
    }
    if (!reveal &&
        !(mask = mask_target_slots(svc->mapping, mt, &nmask))) {
        rc = EX_OSERR;
        goto out;
    }
    json_t *fields = fw_fields_json(ft->detail.rec, ft->cc, bytes,
                                    used ? used : len, &notes, mask, nmask);
    if (!fields ||
        json_object_set_new(t, "record",
                            json_string(ft->detail.rec->name)) ||
        json_object_set_new(t, "length",
                            json_integer((json_int_t)(used ? used : len))) ||
        json_object_set_new(t, "encoding", json_string(cob_codepage_name(
                                cob_codec_page(ft->cc)))) ||
        json_object_set_new(t, "fields", fields))
        rc = EX_OSERR;
out:
    if (rc == EX_OSERR)
        fprintf(stderr, "ferry map: out of memory\n");
    free(mask);
    json_decref(t);
    fw_notes_free(&notes);
    record_free(specials);
    free(bytes);
    fw_target_free(ft);
    errs_free(&e);
    return rc;
}

static int show_fixed_width(const struct service_config *svc,
                            const struct map_target *mt,
                            const struct record *rec, bool reveal)
{
    struct errs e;
    errs_init(&e);
    int rc = EX_OK;
    struct fw_target *ft = fw_target_new(mt, svc->mapping->file, &e);
    if (!ft) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        return EX_CONFIG;
    }
    size_t len = ft->detail.rec->length;
    unsigned char *bytes = calloc(1, len ? len : 1);
    struct record *specials = fw_preview_specials((int64_t)time(NULL) * 1000);
    struct fw_notes notes = { 0 };
    struct buf out;
    buf_init(&out, 0);
    size_t used = 0;
    if (!bytes || !specials) {
        rc = EX_OSERR;
        goto out;
    }
    if (fw_encode(ft->detail.plan, ft->cc, rec, specials, bytes, len, &used,
                  &notes, &e) != 0) {
        printf("\ntarget %s: the record CANNOT be encoded:\n", mt->name);
        cli_print_errs(stdout, &e);
        rc = EX_DATAERR;
        goto out;
    }
    printf("\ntarget %s: record %s, %zu bytes, %s, %s\n", mt->name,
           ft->detail.rec->name, used ? used : len,
           cob_codepage_name(cob_codec_page(ft->cc)),
           ft->recfm == FW_RECFM_FB ? "RECFM=FB" :
           ft->recfm == FW_RECFM_LF ? "LF line ends" :
           ft->recfm == FW_RECFM_CRLF ? "CRLF line ends" :
           ft->recfm == FW_RECFM_V ? "RECFM=V" : "RECFM=VB");
    size_t nmask = 0;
    const char **mask = reveal ? NULL : mask_target_slots(svc->mapping, mt, &nmask);
    fw_listing_masked(ft->detail.rec, ft->cc, bytes, used ? used : len, &notes,
                      mask, nmask, &out);
    free(mask);
    fputs(buf_str(&out), stdout);
    if (notes.n) {
        printf("\n%zu field%s changed on purpose:\n", notes.n,
               notes.n == 1 ? "" : "s");
        for (size_t i = 0; i < notes.n; i++)
            printf("  %s: %s\n", notes.v[i].field, notes.v[i].what);
    }
    printf("\n($reference and other $ sources hold preview values)\n");
out:
    buf_free(&out);
    fw_notes_free(&notes);
    record_free(specials);
    free(bytes);
    fw_target_free(ft);
    errs_free(&e);
    return rc;
}

/* mapping_has_field - the record field NAME is declared in the mapping
 * (a top-level field, or LIST.FIELD of a list's items) */
static bool mapping_has_field(const struct mapping *m, const char *name)
{
    const char *dot = strchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    for (size_t i = 0; i < m->nfields; i++) {
        const struct map_field *f = &m->fields[i];
        if (strlen(f->name) != len || strncmp(f->name, name, len) != 0)
            continue;
        if (!dot || strcmp(dot + 1, "#") == 0)
            return true;
        for (size_t k = 0; k < f->nsub; k++)
            if (strcmp(f->sub[k].name, dot + 1) == 0)
                return true;
    }
    return false;
}

/* show_generic - SOAP elements or ODBC columns: each slot and its value.
 * Returns EX_CONFIG when a from= names no field of the mapping (the slot
 * would be sent empty), else EX_OK. */
static int show_generic(const struct mapping *m, const struct map_target *mt,
                        const char *type, const struct record *rec,
                        bool reveal, json_t *root)
{
    int rc = EX_OK;
    json_t *slots = NULL;
    if (root) {
        slots = json_array();
        json_object_set_new(root, "target", json_pack("{s:s,s:s,s:o}",
                            "name", mt->name, "type", type ? type : "",
                            "slots", slots));
    } else {
        printf("\ntarget %s:\n", mt->name);
    }
    const struct map_section *s = &mt->sec[0];
    for (size_t i = 0; i < s->na; i++) {
        const struct map_assign *a = &s->a[i];
        const char *val = a->value;
        const char *note = "";
        if (a->from && a->from[0] != '$' && !mapping_has_field(m, a->from)) {
            char why[300];
            snprintf(why, sizeof why, "no field '%s' in the mapping", a->from);
            if (slots)
                json_array_append_new(slots, json_pack("{s:s,s:s,s:s}", "to",
                                      a->to, "from", a->from, "problem",
                                      why));
            else
                printf("  %-30s <- %-20s !! %s\n", a->to, a->from, why);
            cli_msg("%s: target %s: <map to=\"%s\" from=\"%s\">: no "
                    "field '%s' in <accept>; fix the name or declare the "
                    "field", m->file, mt->name, a->to, a->from, a->from);
            rc = EX_CONFIG;
            continue;
        }
        if (a->from) {
            const struct fvalue *v = a->from[0] == '$' ? NULL
                                                       : record_get(rec, a->from);
            val = mask_text(v && v->present ? v->text : NULL,
                            mask_path_personal(m, a->from), reveal);
            if (a->from[0] == '$') {
                val = "-";
                note = " (filled at delivery)";
            }
        }
        if (slots) {
            json_t *o = json_pack("{s:s,s:s*,s:s*}", "to", a->to, "from",
                                  a->from, "value",
                                  a->from && a->from[0] == '$' ? NULL : val);
            if (o && *note)
                json_object_set_new(o, "note", json_string("filled at "
                                                           "delivery"));
            json_array_append_new(slots, o);
            continue;
        }
        printf("  %-30s <- %-20s %s%s\n", a->to, a->from ? a->from : "(constant)",
               val ? val : "(empty: not in this submission)", note);
    }
    return rc;
}

/* show_record - one record's fields by the layout use: decoded (every
 * bad field listed), then the listing; EX_DATAERR when it does not decode */
static int show_record(const struct fw_target *ft, const struct fw_layout *use,
                       const unsigned char *p, size_t n, const char **mask,
                       size_t nmask, struct buf *out)
{
    int rc = EX_OK;
    struct errs de;
    errs_init(&de);
    struct record *r = fw_decode(use->rec, ft->cc, p, n, &de);
    if (!r) {
        cli_print_errs(stdout, &de);
        rc = EX_DATAERR;
    }
    record_free(r);
    errs_free(&de);
    buf_reset(out);
    fw_listing_masked(use->rec, ft->cc, p, n, NULL,
                      use == &ft->detail ? mask : NULL,
                      use == &ft->detail ? nmask : 0, out);
    fputs(buf_str(out), stdout);
    return rc;
}

/* decode_vfile - --decode of a RECFM=V or VB file: each record after its
 * RDW (in BDW blocks for VB), as long as the descriptor says, which must
 * be what its layout uses (the OCCURS DEPENDING ON count sizes a record
 * ending in such a table); a bad descriptor stops the listing, naming its
 * byte offset and the record */
static int decode_vfile(const struct fw_target *ft, const struct fw_layout *l,
                        bool whole, const char *path,
                        const unsigned char *data, size_t len,
                        const char **mask, size_t nmask)
{
    bool vb = ft->recfm == FW_RECFM_VB;
    struct fw_vread r = { .data = data, .len = len, .blocked = vb };
    const unsigned char *p;
    size_t n, total = 0;
    char msg[256];
    int g;
    while (total < 100000 && (g = fw_v_next(&r, &p, &n, msg, sizeof msg)) == 1)
        total++;
    memset(&r, 0, sizeof r);
    r.data = data;
    r.len = len;
    r.blocked = vb;
    int rc = EX_OK;
    struct buf out;
    buf_init(&out, 0);
    size_t nrec = 0;
    while (nrec < 100000) {
        g = fw_v_next(&r, &p, &n, msg, sizeof msg);
        if (g < 0) {
            cli_msg("%s: record %zu: %s", path, nrec + 1, msg);
            rc = EX_DATAERR;
            break;
        }
        if (g == 0)
            break;
        nrec++;
        size_t off = (size_t)(p - data) - 4;
        const struct fw_layout *use = l;
        if (whole && nrec == 1 && ft->header.rec)
            use = &ft->header;
        else if (whole && nrec == total && ft->trailer.rec)
            use = &ft->trailer;
        size_t want = 0;
        printf("\nrecord %zu at byte %zu, RDW %zu (%s):\n", nrec, off, n + 4,
               use->rec->name);
        if (fw_used_length(use->rec, ft->cc, p, n, &want, msg,
                           sizeof msg) != 0) {
            cli_msg("%s: record %zu at byte offset %zu: %s", path, nrec, off,
                    msg);
            rc = EX_DATAERR;
            continue;
        }
        if (n != want) {
            cli_msg("%s: record %zu at byte offset %zu: the RDW says %zu "
                    "bytes of data, layout %s uses %zu%s", path, nrec, off, n,
                    use->rec->name, want, use->rec->has_odo
                    ? " (by its OCCURS DEPENDING ON count)" : "");
            rc = EX_DATAERR;
            continue;
        }
        if (show_record(ft, use, p, n, mask, nmask, &out) != EX_OK)
            rc = EX_DATAERR;
    }
    buf_free(&out);
    return rc;
}

static int decode_file(const struct service_config *svc,
                       const struct map_target *mt, const char *path,
                       const char *section, bool reveal)
{
    size_t nmask = 0;
    const char **mask = reveal ? NULL : mask_target_slots(svc->mapping, mt, &nmask);
    struct errs e;
    errs_init(&e);
    struct fw_target *ft = fw_target_new(mt, svc->mapping->file, &e);
    char *data = NULL;
    size_t len = 0;
    int rc = EX_OK;
    if (!ft) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        free(mask);
        return EX_CONFIG;
    }
    const struct fw_layout *l = &ft->detail;
    bool whole = section == NULL;      /* header first, trailer last */
    if (section && strcmp(section, "header") == 0)
        l = &ft->header;
    else if (section && strcmp(section, "trailer") == 0)
        l = &ft->trailer;
    else if (section && strcmp(section, "ack") == 0)
        l = &ft->ack;
    else if (section && strcmp(section, "record") != 0) {
        fprintf(stderr, "ferry map: --section is record, header, trailer or ack\n");
        rc = EX_USAGE;
        goto out;
    }
    if (!l->rec) {
        fprintf(stderr, "ferry map: target %s has no %s section\n", mt->name,
                section);
        rc = EX_CONFIG;
        goto out;
    }
    if (fs_read_file(path, 0, &data, &len, &e) != 0) {
        cli_print_errs(stderr, &e);
        rc = EX_NOINPUT;
        goto out;
    }
    if (ft->recfm == FW_RECFM_V || ft->recfm == FW_RECFM_VB) {
        rc = decode_vfile(ft, l, whole, path, (const unsigned char *)data,
                          len, mask, nmask);
        goto out;
    }
    size_t reclen = l->rec->length, sep = strlen(fw_record_sep(ft));
    size_t step = reclen + sep, nrec = 0, total = step ? len / step : 0;
    struct buf out;
    buf_init(&out, 0);
    for (size_t off = 0; off + reclen <= len && nrec < 100000; off += step) {
        nrec++;
        const struct fw_layout *use = l;
        if (whole && nrec == 1 && ft->header.rec)
            use = &ft->header;
        else if (whole && nrec == total && ft->trailer.rec)
            use = &ft->trailer;
        if (use->rec->length != reclen) {
            printf("\nrecord %zu: layout %s is %zu bytes, not %zu: skipped\n",
                   nrec, use->rec->name, use->rec->length, reclen);
            rc = EX_DATAERR;
            continue;
        }
        printf("\nrecord %zu at byte %zu (%s):\n", nrec, off, use->rec->name);
        if (show_record(ft, use, (const unsigned char *)data + off, reclen,
                        mask, nmask, &out) != EX_OK)
            rc = EX_DATAERR;
    }
    buf_free(&out);
    if (len % step != 0) {
        cli_msg("%s: %zu bytes is not a whole number of %zu-byte "
                "records (%zu left over)", path, len, step, len % step);
        rc = EX_DATAERR;
    }
out:
    free(mask);
    free(data);
    fw_target_free(ft);
    errs_free(&e);
    return rc;
}

/* map_json - the submission text mapped, as one JSON document on stdout:
 * {"service","record","target"} or {"problems"} (EX_DATAERR) */
static int map_json(const struct service_config *svc,
                    const struct map_target *mt,
                    const struct target_config *tc, const char *text,
                    size_t len, bool reveal)
{
    struct errs e;
    errs_init(&e);
    json_t *doc = NULL;
    struct record *rec = NULL;
    json_t *root = json_object();
    int rc = EX_OK;
    if (!root) {
        rc = EX_OSERR;
        goto out;
    }
    if (map_parse_json(text, len, &svc->mapping->limits, &doc, &e) != 0 ||
        map_apply(svc->mapping, doc, &rec, &e) != 0) {
        json_object_set_new(root, "problems", errs_json(&e));
        rc = print_json(root);
        root = NULL;
        if (rc == EX_OK)
            rc = EX_DATAERR;
        goto out;
    }
    json_t *pj = mask_record(rec, reveal);
    if (!pj || json_object_set_new(root, "service", json_string(svc->name)) ||
        json_object_set_new(root, "record", pj)) {
        rc = EX_OSERR;
        goto out;
    }
    if (copybook_target(tc, mt))
        rc = fixed_width_json(svc, tc, mt, rec, reveal, root);
    else if (mt)
        rc = show_generic(svc->mapping, mt, tc ? tc->type : NULL, rec, reveal,
                          root);
    if (rc == EX_OK || rc == EX_DATAERR || rc == EX_CONFIG) {
        int prc = print_json(root);
        root = NULL;
        if (prc != EX_OK)
            rc = prc;
    }
out:
    if (rc == EX_OSERR && root)
        fprintf(stderr, "ferry map: out of memory\n");
    json_decref(root);
    record_free(rec);
    json_decref(doc);
    errs_free(&e);
    return rc;
}

int cmd_map(int argc, char **argv)
{
    struct cli_common c = { 0 };
    bool reveal = false, decode = false;
    const char *section = NULL;
    static const struct option opts[] = {
        { "reveal",  no_argument,       NULL, 'r' },
        { "decode",  no_argument,       NULL, 'd' },
        { "section", required_argument, NULL, 's' },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (cli_common_opt(&c, o, optarg))
            continue;
        switch (o) {
        case 'r': reveal = true; break;
        case 'd': decode = true; break;
        case 's': section = optarg; break;
        case 'h':
        case CLI_OPT_HELP: usage(stdout); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (c.json && decode) {
        fprintf(stderr, "ferry map: --json is not available with --decode; "
                        "use 'ferry copybook --json' for a layout\n");
        return EX_USAGE;
    }
    if (argc - optind != 2) {
        cli_args_msg(argc - optind, 2, 2, argv + optind);
        usage(stderr);
        return EX_USAGE;
    }
    struct ferry_config *cfg = NULL;
    int rc = cli_load_config(&c, &cfg);
    if (rc)
        return rc;
    const struct service_config *svc = config_service(cfg, argv[optind]);
    const struct map_target *mt = NULL;
    const struct target_config *tc = NULL;
    if (!svc || !svc->mapping) {
        rc = cli_check_name("map", CLI_SERVICE, argv[optind], cfg, NULL);
        if (rc == 0) {
            fprintf(stderr, "ferry map: service '%s' has no mapping\n", argv[optind]);
            rc = EX_CONFIG;
        }
        goto out;
    }
    /* the service's first target, or for --decode its first whose
     * records a copybook lays out */
    const struct target_config *ts[CONFIG_MAX_SERVICE_TARGETS];
    size_t nt = config_service_targets(cfg, svc, ts,
                                       CONFIG_MAX_SERVICE_TARGETS);
    for (size_t k = 0; k < nt; k++) {
        tc = ts[k];
        mt = mapping_target(svc->mapping, tc->name);
        if (!decode || copybook_target(tc, mt))
            break;
    }
    bool fixed = copybook_target(tc, mt);
    if (decode) {
        if (!mt || !fixed) {
            fprintf(stderr, "ferry map: --decode: service %s has no fixed-width "
                            "target\n", svc->name);
            rc = EX_USAGE;
        } else {
            rc = decode_file(svc, mt, argv[optind + 1], section, reveal);
        }
        goto out;
    }
    struct errs e;
    errs_init(&e);
    char *text = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    struct record *rec = NULL;
    if (fs_read_file(argv[optind + 1], 0, &text, &len, &e) != 0) {
        cli_print_errs(stderr, &e);
        errs_free(&e);
        rc = EX_NOINPUT;
        goto out;
    }
    if (c.json) {
        rc = map_json(svc, mt, tc, text, len, reveal);
    } else if (map_parse_json(text, len, &svc->mapping->limits, &doc,
                              &e) != 0 ||
               map_apply(svc->mapping, doc, &rec, &e) != 0) {
        printf("the submission is REFUSED:\n");
        cli_print_errs(stdout, &e);
        rc = EX_DATAERR;
    } else {
        json_t *pj = mask_record(rec, reveal);
        char *pretty = pj ? json_dumps(pj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        printf("typed record (service %s):\n%s\n", svc->name,
               pretty ? pretty : "(out of memory)");
        free(pretty);
        json_decref(pj);
        if (mt && fixed)
            rc = show_fixed_width(svc, mt, rec, reveal);
        else if (mt)
            rc = show_generic(svc->mapping, mt, tc->type, rec, reveal, NULL);
    }
    record_free(rec);
    json_decref(doc);
    free(text);
    errs_free(&e);
out:
    config_free(cfg);
    return rc;
}
