/* mapping_load.c - read a service's mapping XML into struct mapping.
 *
 * The file is parsed by libxml2 with the network off and no entity
 * substitution or DTD loading; a DOCTYPE is refused outright, so neither
 * XXE nor entity expansion can happen.  It is validated against the
 * embedded config/mapping.xsd, then built, with the checks a schema cannot
 * express (patterns compile, min/max read as the field's type, paths
 * parse, enums have codes).  Every problem is reported as "file:line" and
 * loading goes on to find the rest.  Owns everything under struct mapping;
 * mapping_free releases it. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "util/schemas.h"
#include "util/xmlerr.h"
#include "mappings/map_rx.h"
#include "mappings/mapping.h"
#include "util/errs.h"
#include "util/fsutil.h"

#define MAPPING_MAX_FILE ((size_t)4 << 20)

const char *kv_get(const struct kvlist *l, const char *key)
{
    if (!l || !key)
        return NULL;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].key, key) == 0)
            return l->v[i].value;
    return NULL;
}

/* ---- freeing ------------------------------------------------------------ */

static void kv_free(struct kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].value);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void field_free(struct map_field *f)
{
    free(f->name);
    free(f->path);
    jpath_free(f->jp);
    free(f->pattern);
    if (f->has_re)
        regfree(&f->re);
    map_rx_free(f->rx);
    free(f->min);
    free(f->max);
    free(f->format);
    for (size_t i = 0; i < f->ntrue; i++)
        free(f->true_words[i]);
    free(f->true_words);
    for (size_t i = 0; i < f->nfalse; i++)
        free(f->false_words[i]);
    free(f->false_words);
    for (size_t i = 0; i < f->ncodes; i++) {
        free(f->codes[i].value);
        free(f->codes[i].code);
    }
    free(f->codes);
    for (size_t i = 0; i < f->ntr; i++) {
        free(f->tr[i].value);
        free(f->tr[i].from);
        free(f->tr[i].to);
        free(f->tr[i].pattern);
        free(f->tr[i].with);
        if (f->tr[i].has_re)
            regfree(&f->tr[i].re);
    }
    free(f->tr);
    for (size_t i = 0; i < f->nchecks; i++) {
        struct map_check *k = &f->checks[i];
        free(k->pattern);
        if (k->has_re)
            regfree(&k->re);
        map_rx_free(k->rx);
        for (size_t v = 0; v < k->nvalues; v++)
            free(k->values[v]);
        free(k->values);
        free(k->message);
    }
    free(f->checks);
    free(f->message);
    free(f->required_message);
    for (size_t i = 0; i < f->nparts; i++) {
        free(f->parts[i].path);
        jpath_free(f->parts[i].jp);
        free(f->parts[i].value);
    }
    free(f->parts);
    for (size_t i = 0; i < f->nsub; i++)
        field_free(&f->sub[i]);
    free(f->sub);
    for (size_t i = 0; i < f->nsearch; i++)
        free(f->search[i]);
    free(f->search);
}

static void target_free(struct map_target *t)
{
    free(t->name);
    kv_free(&t->opts);
    for (size_t s = 0; s < t->nsec; s++) {
        struct map_section *sec = &t->sec[s];
        free(sec->name);
        kv_free(&sec->opts);
        for (size_t i = 0; i < sec->na; i++) {
            struct map_assign *a = &sec->a[i];
            free(a->to);
            free(a->from);
            free(a->value);
            free(a->format);
            kv_free(&a->opts);
        }
        free(sec->a);
    }
    free(t->sec);
    for (size_t c = 0; c < t->ncodes; c++) {
        for (size_t i = 0; i < t->codes[c].n; i++) {
            free(t->codes[c].c[i].value);
            free(t->codes[c].c[i].code);
        }
        free(t->codes[c].c);
        free(t->codes[c].name);
    }
    free(t->codes);
}

void mapping_free(struct mapping *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfields; i++)
        field_free(&m->fields[i]);
    free(m->fields);
    for (size_t i = 0; i < m->ntargets; i++)
        target_free(&m->targets[i]);
    free(m->targets);
    for (size_t i = 0; i < m->nsearch; i++) {
        free(m->search[i].name);
        free(m->search[i].fields);
    }
    free(m->search);
    jpath_set_free(m->paths);
    free(m->file);
    free(m->service);
    free(m->idempotency_field);
    free(m);
}

const struct map_target *mapping_target(const struct mapping *m,
                                        const char *name)
{
    if (!m || !name)
        return NULL;
    for (size_t i = 0; i < m->ntargets; i++)
        if (strcmp(m->targets[i].name, name) == 0)
            return &m->targets[i];
    return NULL;
}

const struct map_field *mapping_field(const struct mapping *m,
                                      const char *name)
{
    if (!m || !name)
        return NULL;
    for (size_t i = 0; i < m->nfields; i++)
        if (strcmp(m->fields[i].name, name) == 0)
            return &m->fields[i];
    return NULL;
}

/* ---- libxml2 problems into errs ----------------------------------------- */

struct lctx {
    struct errs *e;
    const char *file;
    size_t problems;
    bool nomem;
};

__attribute__((format(printf, 3, 4)))
static void bad(struct lctx *c, xmlNodePtr n, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    errs_add_at(c->e, c->file, n ? xmlGetLineNo(n) : 0, "%s", msg);
    c->problems++;
}

/* xml_error - libxml2 structured error handler: one problem each */
static void xml_problem(void *ud, int level, int line, const char *msg)
{
    struct lctx *c = ud;
    if (level == XML_ERR_WARNING)
        return;
    errs_add_at(c->e, c->file, line, "%s", msg);
    c->problems++;
}

static const struct embedded_file *find_schema(const char *name)
{
    for (const struct embedded_file *f = schema_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* xml_error - libxml2's message without namespace noise, with a near
 * name for an unknown attribute or element ("did you mean") */
static void xml_error(void *ud, xmlErrorPtr err)
{
    if (!err)
        return;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", err->message ? err->message : "error");
    size_t l = strlen(msg);
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
        msg[--l] = '\0';
    xmlerr_strip_ns(msg);
    const struct embedded_file *xsd = find_schema("mapping.xsd");
    if (xsd)
        xmlerr_did_you_mean(msg, sizeof msg, (const char *)xsd->data,
                            xsd->len);
    xml_problem(ud, (int)err->level, err->line, msg);
}

/* validate - against the embedded mapping.xsd; 0 valid */
static int validate(struct lctx *c, xmlDocPtr doc)
{
    const struct embedded_file *xsd = find_schema("mapping.xsd");
    int rc = -1;
    if (!xsd) {
        errs_add_at(c->e, c->file, 0, "mapping.xsd is not built in");
        c->problems++;
        return -1;
    }
    xmlSchemaParserCtxtPtr pc =
        xmlSchemaNewMemParserCtxt((const char *)xsd->data, (int)xsd->len);
    xmlSchemaPtr schema = NULL;
    xmlSchemaValidCtxtPtr vc = NULL;
    if (!pc)
        goto fail;
    struct lctx sc = {.e = c->e, .file = "mapping.xsd"};
    xmlSchemaSetParserStructuredErrors(pc, xml_error, &sc);
    schema = xmlSchemaParse(pc);
    if (!schema) {
        c->problems += sc.problems ? sc.problems : 1;
        goto fail;
    }
    vc = xmlSchemaNewValidCtxt(schema);
    if (!vc)
        goto fail;
    xmlSchemaSetValidStructuredErrors(vc, xml_error, c);
    size_t before = c->problems;
    int v = xmlSchemaValidateDoc(vc, doc);
    if (v != 0 && c->problems == before) {
        errs_add_at(c->e, c->file, 0, "does not match mapping.xsd");
        c->problems++;
    }
    rc = v == 0 ? 0 : -1;
fail:
    if (rc < 0 && !c->problems) {
        errs_add_at(c->e, c->file, 0, "could not validate (out of memory)");
        c->problems++;
    }
    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pc);
    return rc;
}

/* ---- building ------------------------------------------------------------ */

static bool is_el(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE &&
           strcmp((const char *)n->name, name) == 0;
}

/* attr - a copy of the attribute, or NULL when absent (or nomem) */
static char *attr(struct lctx *c, xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *s = strdup((const char *)v);
    xmlFree(v);
    if (!s)
        c->nomem = true;
    return s;
}

static bool attr_bool(xmlNodePtr n, const char *name, bool def)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return def;
    bool b = strcmp((const char *)v, "true") == 0 ||
             strcmp((const char *)v, "1") == 0;
    xmlFree(v);
    return b;
}

/* attr_long - schema-checked non-negative integer, def when absent */
static long attr_long(struct lctx *c, xmlNodePtr n, const char *name,
                      long def)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return def;
    char *end;
    errno = 0;
    long x = strtol((const char *)v, &end, 10);
    if (errno || *end || x < 0 || x > 1000000000L) {
        bad(c, n, "%s=\"%s\" is out of range", name, (const char *)v);
        x = def;
    }
    xmlFree(v);
    return x;
}

/* all_attrs - every attribute of n except skip[] into l */
static void all_attrs(struct lctx *c, xmlNodePtr n, const char *const *skip,
                      struct kvlist *l)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        const char *k = (const char *)a->name;
        bool skipped = false;
        for (size_t i = 0; skip && skip[i]; i++)
            skipped |= strcmp(skip[i], k) == 0;
        if (skipped)
            continue;
        struct kv *v = realloc(l->v, (l->n + 1) * sizeof *v);
        if (!v) {
            c->nomem = true;
            return;
        }
        l->v = v;
        xmlChar *val = xmlGetProp(n, a->name);
        v[l->n].key = strdup(k);
        v[l->n].value = strdup(val ? (const char *)val : "");
        v[l->n].line = (int)xmlGetLineNo(n);
        xmlFree(val);
        if (!v[l->n].key || !v[l->n].value) {
            free(v[l->n].key);
            free(v[l->n].value);
            c->nomem = true;
            return;
        }
        l->n++;
    }
}

static size_t count_el(xmlNodePtr parent, const char *name)
{
    size_t n = 0;
    for (xmlNodePtr k = parent->children; k; k = k->next)
        n += is_el(k, name);
    return n;
}

/* words - split "Y yes 1" (spaces or commas) into a new array */
static char **words(struct lctx *c, const char *s, size_t *n)
{
    *n = 0;
    size_t cap = strlen(s) / 2 + 2;
    char **w = calloc(cap, sizeof *w);
    if (!w) {
        c->nomem = true;
        return NULL;
    }
    while (*s) {
        size_t skip = strspn(s, " ,\t");
        s += skip;
        size_t l = strcspn(s, " ,\t");
        if (!l)
            break;
        w[*n] = strndup(s, l);
        if (!w[*n])
            c->nomem = true;
        else
            (*n)++;
        s += l;
    }
    return w;
}

static const struct { const char *name; enum ftype t; } type_table[] = {
    {"string", FT_STRING},   {"integer", FT_INTEGER}, {"decimal", FT_DECIMAL},
    {"date", FT_DATE},       {"datetime", FT_DATETIME},
    {"boolean", FT_BOOLEAN}, {"enum", FT_ENUM},       {"list", FT_LIST},
};

static const struct { const char *name; enum map_op op; } op_table[] = {
    {"trim", MOP_TRIM},           {"upper", MOP_UPPER},
    {"lower", MOP_LOWER},         {"strip-spaces", MOP_STRIP_SPACES},
    {"default", MOP_DEFAULT},     {"substring", MOP_SUBSTRING},
    {"date", MOP_DATE},           {"fold", MOP_FOLD},
    {"rescale", MOP_RESCALE},     {"replace", MOP_REPLACE},
    {"collapse-spaces", MOP_COLLAPSE_SPACES},
    {"control-to-space", MOP_CONTROL_TO_SPACE},
    {"postcode", MOP_POSTCODE},
};

static const struct { const char *name; enum map_round r; } round_table[] = {
    {"none", MROUND_NONE},           {"half-up", MROUND_HALF_UP},
    {"half-even", MROUND_HALF_EVEN}, {"down", MROUND_DOWN},
};

/* compile_ere - regcomp or a problem at n naming what it is for */
static bool compile_ere(struct lctx *c, xmlNodePtr n, const char *field,
                        const char *what, const char *pattern, regex_t *re,
                        int flags)
{
    int rc = regcomp(re, pattern, REG_EXTENDED | flags);
    if (rc == 0)
        return true;
    char err[256];
    regerror(rc, re, err, sizeof err);
    regfree(re);
    bad(c, n, "field \"%s\": %s \"%s\" is not a valid POSIX extended "
              "regular expression: %s", field, what, pattern, err);
    return false;
}

/* compile_path - jpath or a problem at n */
static struct jpath *compile_path(struct lctx *c, xmlNodePtr n,
                                  const char *p)
{
    char err[256];
    struct jpath *jp = jpath_parse(p, err, sizeof err);
    if (!jp)
        bad(c, n, "bad path \"%s\": %s", p, err);
    return jp;
}

/* typed_bound - min/max read as the field's type */
static void typed_bound(struct lctx *c, xmlNodePtr n, struct map_field *f,
                        const char *which, const char *s, int64_t *out)
{
    int rc;
    switch (f->type) {
    case FT_INTEGER:
        rc = record_dec_parse(s, 0, out);
        break;
    case FT_DECIMAL:
        rc = record_dec_parse(s, f->scale, out);
        break;
    case FT_DATE:
        rc = record_date_parse(s, out);
        break;
    case FT_DATETIME:
        rc = record_datetime_parse(s, out);
        break;
    default:
        bad(c, n, "field \"%s\": %s applies only to integer, decimal, date "
                  "and datetime fields (use %s-length for text)",
            f->name, which, which);
        return;
    }
    if (rc < 0)
        bad(c, n, "field \"%s\": %s=\"%s\" is not a valid %s%s", f->name,
            which, s, type_table[f->type].name,
            f->type == FT_DECIMAL ? " at its scale" : "");
}

static void build_field(struct lctx *c, xmlNodePtr n, struct map_field *f);

static void build_transforms(struct lctx *c, xmlNodePtr n,
                             struct map_field *f)
{
    size_t nt = count_el(n, "transform");
    if (!nt)
        return;
    f->tr = calloc(nt, sizeof *f->tr);
    if (!f->tr) {
        c->nomem = true;
        return;
    }
    for (xmlNodePtr k = n->children; k; k = k->next) {
        if (!is_el(k, "transform"))
            continue;
        struct map_transform *t = &f->tr[f->ntr++];
        char *op = attr(c, k, "op");
        t->line = (int)xmlGetLineNo(k);
        for (size_t i = 0; op && i < sizeof op_table / sizeof op_table[0];
             i++)
            if (strcmp(op, op_table[i].name) == 0)
                t->op = op_table[i].op;
        free(op);
        t->value = attr(c, k, "value");
        t->start = attr_long(c, k, "start", 0);
        t->length = attr_long(c, k, "length", -1);
        t->from = attr(c, k, "from");
        t->to = attr(c, k, "to");
        t->pattern = attr(c, k, "pattern");
        t->with = attr(c, k, "with");
        char *by = attr(c, k, "by"), *rnd = attr(c, k, "round");
        if (by) {
            char *end;
            long v = strtol(by, &end, 10);
            if (*end || end == by || v < -18 || v > 18)
                bad(c, k, "field \"%s\": transform rescale by=\"%s\" must be "
                          "a whole number from -18 to 18", f->name, by);
            else
                t->by = (int)v;
        }
        for (size_t i = 0; rnd && i < sizeof round_table / sizeof round_table[0];
             i++)
            if (strcmp(rnd, round_table[i].name) == 0)
                t->round = round_table[i].r;
        if ((by || rnd) && t->op != MOP_RESCALE)
            bad(c, k, "field \"%s\": by= and round= belong to transform "
                      "rescale", f->name);
        if (t->op == MOP_RESCALE && !by)
            bad(c, k, "field \"%s\": transform rescale needs by= (2 turns "
                      "pounds into pence)", f->name);
        free(by);
        free(rnd);
        if ((t->pattern || t->with) && t->op != MOP_REPLACE)
            bad(c, k, "field \"%s\": pattern= and with= belong to transform "
                      "replace", f->name);
        if (t->op == MOP_REPLACE) {
            if (!t->pattern || !t->with)
                bad(c, k, "field \"%s\": transform replace needs pattern= "
                          "and with=", f->name);
            else
                t->has_re = compile_ere(c, k, f->name, "replace pattern",
                                        t->pattern, &t->re, 0);
            for (const char *w = t->with; w && *w; w++)
                if (*w == '\\' && w[1] >= '1' && w[1] <= '9' && t->has_re &&
                    (size_t)(w[1] - '0') > t->re.re_nsub)
                    bad(c, k, "field \"%s\": with= names group \\%c but the "
                              "pattern has %zu", f->name, w[1],
                        (size_t)t->re.re_nsub);
        }
        if (t->op == MOP_DEFAULT && !t->value)
            bad(c, k, "field \"%s\": transform default needs value=",
                f->name);
        if (t->op == MOP_DATE && !t->from)
            bad(c, k, "field \"%s\": transform date needs from= (e.g. "
                      "DD/MM/YYYY)", f->name);
        if (t->op == MOP_SUBSTRING && !xmlHasProp(k, (const xmlChar *)"start")
            && !xmlHasProp(k, (const xmlChar *)"length"))
            bad(c, k, "field \"%s\": transform substring needs start= or "
                      "length=", f->name);
    }
}

/* build_checks - the <check> elements of field n */
static void build_checks(struct lctx *c, xmlNodePtr n, struct map_field *f)
{
    size_t nk = count_el(n, "check");
    if (!nk)
        return;
    f->checks = calloc(nk, sizeof *f->checks);
    if (!f->checks) {
        c->nomem = true;
        return;
    }
    for (xmlNodePtr x = n->children; x; x = x->next) {
        if (!is_el(x, "check"))
            continue;
        struct map_check *k = &f->checks[f->nchecks++];
        k->line = (int)xmlGetLineNo(x);
        k->pattern = attr(c, x, "pattern");
        char *one = attr(c, x, "one-of"), *none = attr(c, x, "not-one-of");
        k->start = attr_long(c, x, "start", 0);
        k->length = attr_long(c, x, "length", -1);
        k->message = attr(c, x, "message");
        int kinds = !!k->pattern + !!one + !!none;
        if (kinds != 1)
            bad(c, x, "field \"%s\": a check has exactly one of pattern=, "
                      "one-of= and not-one-of=", f->name);
        if (k->pattern) {
            k->kind = MCHK_PATTERN;
            k->has_re = compile_ere(c, x, f->name, "check pattern",
                                    k->pattern, &k->re, REG_NOSUB);
            if (k->has_re)
                k->rx = map_rx_compile(k->pattern);
        } else if (one || none) {
            k->kind = one ? MCHK_ONE_OF : MCHK_NOT_ONE_OF;
            k->values = words(c, one ? one : none, &k->nvalues);
            if (k->values && !k->nvalues)
                bad(c, x, "field \"%s\": %s lists no value", f->name,
                    one ? "one-of=" : "not-one-of=");
        }
        if (f->type == FT_LIST)
            bad(c, x, "field \"%s\": a list takes no <check> (put it on "
                      "the list's fields)", f->name);
        free(one);
        free(none);
    }
}

static void build_parts(struct lctx *c, xmlNodePtr concat,
                        struct map_field *f)
{
    size_t np = count_el(concat, "part");
    f->parts = calloc(np ? np : 1, sizeof *f->parts);
    if (!f->parts) {
        c->nomem = true;
        return;
    }
    for (xmlNodePtr k = concat->children; k; k = k->next) {
        if (!is_el(k, "part"))
            continue;
        struct map_part *p = &f->parts[f->nparts++];
        p->path = attr(c, k, "path");
        p->value = attr(c, k, "value");
        if (!p->path == !p->value)
            bad(c, k, "field \"%s\": a part has either path= or value=",
                f->name);
        if (p->path)
            p->jp = compile_path(c, k, p->path);
    }
}

static void build_codes(struct lctx *c, xmlNodePtr n, struct map_code **out,
                        size_t *nout)
{
    size_t nc = count_el(n, "code");
    if (!nc)
        return;
    *out = calloc(nc, sizeof **out);
    if (!*out) {
        c->nomem = true;
        return;
    }
    for (xmlNodePtr k = n->children; k; k = k->next) {
        if (!is_el(k, "code"))
            continue;
        struct map_code *cd = &(*out)[(*nout)++];
        cd->value = attr(c, k, "value");
        cd->code = attr(c, k, "as");
        if (!cd->value || !cd->code)
            c->nomem = true;
        for (size_t i = 0; cd->value && i + 1 < *nout; i++)
            if ((*out)[i].value && strcmp((*out)[i].value, cd->value) == 0)
                bad(c, k, "code value \"%s\" appears twice", cd->value);
    }
}

static void build_subfields(struct lctx *c, xmlNodePtr n, struct map_field *f)
{
    size_t ns = count_el(n, "field");
    if (!ns)
        return;
    f->sub = calloc(ns, sizeof *f->sub);
    if (!f->sub) {
        c->nomem = true;
        return;
    }
    for (xmlNodePtr k = n->children; k; k = k->next) {
        if (!is_el(k, "field"))
            continue;
        struct map_field *s = &f->sub[f->nsub++];
        build_field(c, k, s);
        for (size_t i = 0; s->name && i + 1 < f->nsub; i++)
            if (f->sub[i].name && strcmp(f->sub[i].name, s->name) == 0)
                bad(c, k, "field \"%s\" appears twice in list \"%s\"",
                    s->name, f->name);
    }
}

/* build_field - one <field> and what it holds, with the semantic checks */
static void build_field(struct lctx *c, xmlNodePtr n, struct map_field *f)
{
    f->line = (int)xmlGetLineNo(n);
    f->name = attr(c, n, "name");
    if (!f->name) {
        f->name = strdup("?");
        if (!f->name) {
            c->nomem = true;
            return;
        }
    }
    char *type = attr(c, n, "type");
    f->type = FT_STRING;
    for (size_t i = 0; type && i < sizeof type_table / sizeof type_table[0];
         i++)
        if (strcmp(type, type_table[i].name) == 0)
            f->type = type_table[i].t;
    free(type);
    f->path = attr(c, n, "path");
    if (f->path)
        f->jp = compile_path(c, n, f->path);
    f->required = attr_bool(n, "required", false);
    f->personal = attr_bool(n, "personal", false);
    f->thousands = attr_bool(n, "thousands", false);
    f->scale = (int)attr_long(c, n, "scale", -1);
    f->min_len = attr_long(c, n, "min-length", -1);
    f->max_len = attr_long(c, n, "max-length", -1);
    f->format = attr(c, n, "format");
    f->pattern = attr(c, n, "pattern");
    f->min = attr(c, n, "min");
    f->max = attr(c, n, "max");
    f->message = attr(c, n, "message");
    f->required_message = attr(c, n, "required-message");
    char *tw = attr(c, n, "true"), *fw = attr(c, n, "false");
    if (tw)
        f->true_words = words(c, tw, &f->ntrue);
    if (fw)
        f->false_words = words(c, fw, &f->nfalse);
    free(tw);
    free(fw);
    char *sw = attr(c, n, "searchable");
    if (sw && strcmp(sw, "false") != 0) {
        f->search = words(c, strcmp(sw, "true") == 0 ? f->name : sw,
                          &f->nsearch);
        if (f->type == FT_LIST)
            bad(c, n, "field \"%s\": a list cannot be searchable (mark "
                      "a top-level field)", f->name);
    }
    free(sw);

    for (xmlNodePtr k = n->children; k; k = k->next)
        if (is_el(k, "concat"))
            build_parts(c, k, f);
    build_codes(c, n, &f->codes, &f->ncodes);
    build_transforms(c, n, f);
    build_checks(c, n, f);
    build_subfields(c, n, f);

    if (f->pattern)
        f->has_re = compile_ere(c, n, f->name, "pattern", f->pattern, &f->re,
                                REG_NOSUB);
    if (f->has_re)
        f->rx = map_rx_compile(f->pattern);   /* NULL: regexec judges */
    if (f->type == FT_DECIMAL && f->scale < 0)
        bad(c, n, "field \"%s\": a decimal needs scale= (its number of "
                  "decimal places)", f->name);
    if (f->type != FT_DECIMAL && f->scale >= 0)
        bad(c, n, "field \"%s\": scale= applies only to decimal fields",
            f->name);
    if (f->scale < 0)
        f->scale = 0;
    for (size_t i = 0; i < f->ntr; i++) {
        if (f->tr[i].op != MOP_RESCALE)
            continue;
        f->tr[i].scale_to = f->scale;
        if (f->type != FT_INTEGER && f->type != FT_DECIMAL)
            bad(c, n, "field \"%s\": transform rescale needs an integer or "
                      "decimal field (it keeps the field's scale)", f->name);
    }
    if (f->thousands && f->type != FT_DECIMAL)
        bad(c, n, "field \"%s\": thousands= applies only to decimal fields",
            f->name);
    if (f->format && f->type != FT_DATE)
        bad(c, n, "field \"%s\": format= applies only to date fields "
                  "(use a date transform to reformat text)", f->name);
    if ((f->true_words || f->false_words) && f->type != FT_BOOLEAN)
        bad(c, n, "field \"%s\": true=/false= apply only to boolean fields",
            f->name);
    if ((f->true_words && !f->false_words) ||
        (!f->true_words && f->false_words))
        bad(c, n, "field \"%s\": give both true= and false=", f->name);
    if (f->type == FT_ENUM && !f->ncodes)
        bad(c, n, "field \"%s\": an enum needs <code value=... as=.../> "
                  "entries", f->name);
    if (f->type != FT_ENUM && f->ncodes)
        bad(c, n, "field \"%s\": <code> applies only to enum fields",
            f->name);
    if (f->type == FT_LIST) {
        if (!f->path)
            bad(c, n, "field \"%s\": a list needs path=", f->name);
        if (!f->nsub)
            bad(c, n, "field \"%s\": a list needs <field> children",
                f->name);
        if (f->nparts || f->ntr || f->pattern || f->min || f->max ||
            f->message)
            bad(c, n, "field \"%s\": a list takes only path=, required= "
                      "and <field> children", f->name);
    } else {
        if (f->nsub)
            bad(c, n, "field \"%s\": only a list field has <field> "
                      "children", f->name);
        if (!f->path && !f->nparts)
            bad(c, n, "field \"%s\": needs path= or <concat>", f->name);
        if (f->path && f->nparts)
            bad(c, n, "field \"%s\": give path= or <concat>, not both",
                f->name);
    }
    if (f->min)
        typed_bound(c, n, f, "min", f->min, &f->min_v);
    if (f->max)
        typed_bound(c, n, f, "max", f->max, &f->max_v);
    if (f->min && f->max && f->min_v > f->max_v &&
        (f->type == FT_INTEGER || f->type == FT_DECIMAL ||
         f->type == FT_DATE || f->type == FT_DATETIME))
        bad(c, n, "field \"%s\": min is greater than max", f->name);
    if (f->min_len >= 0 && f->max_len >= 0 && f->min_len > f->max_len)
        bad(c, n, "field \"%s\": min-length is greater than max-length",
            f->name);
}

/* build_search - gather the searchable= names of the top-level fields
 * into indexes (fields in document order); a sub-field of a list cannot
 * take part, its values being many */
static void build_search(struct lctx *c, xmlNodePtr acc, struct mapping *m)
{
    size_t cap = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        cap += m->fields[i].nsearch;
        for (size_t j = 0; j < m->fields[i].nsub; j++)
            if (m->fields[i].sub[j].nsearch)
                bad(c, acc, "field \"%s.%s\": a list's sub-field cannot "
                    "be searchable", m->fields[i].name,
                    m->fields[i].sub[j].name);
    }
    if (!cap)
        return;
    m->search = calloc(cap, sizeof *m->search);
    if (!m->search) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i < m->nfields; i++) {
        const struct map_field *f = &m->fields[i];
        for (size_t k = 0; k < f->nsearch; k++) {
            struct map_search_index *ix = NULL;
            for (size_t j = 0; j < m->nsearch && !ix; j++)
                if (strcmp(m->search[j].name, f->search[k]) == 0)
                    ix = &m->search[j];
            if (!ix) {
                ix = &m->search[m->nsearch];
                ix->name = strdup(f->search[k]);
                ix->fields = calloc(cap, sizeof *ix->fields);
                if (!ix->name || !ix->fields) {
                    free(ix->name);
                    free(ix->fields);
                    ix->name = NULL;
                    c->nomem = true;
                    return;
                }
                m->nsearch++;
            }
            if (ix->nfields && ix->fields[ix->nfields - 1] == i)
                continue;              /* the same name twice on a field */
            ix->fields[ix->nfields++] = i;
        }
    }
}

static void build_accept(struct lctx *c, xmlNodePtr acc, struct mapping *m)
{
    m->idempotency_field = attr(c, acc, "idempotency-field");
    m->limits.max_body = (size_t)attr_long(c, acc, "max-body", 0);
    m->limits.max_depth = (int)attr_long(c, acc, "max-depth", 0);
    m->limits.max_fields = (size_t)attr_long(c, acc, "max-fields", 0);
    size_t nf = count_el(acc, "field");
    m->fields = calloc(nf ? nf : 1, sizeof *m->fields);
    if (!m->fields) {
        c->nomem = true;
        return;
    }
    for (xmlNodePtr k = acc->children; k; k = k->next) {
        if (is_el(k, "field"))
            build_field(c, k, &m->fields[m->nfields++]);
    }
    build_search(c, acc, m);
    if (m->idempotency_field) {
        const struct map_field *f = mapping_field(m, m->idempotency_field);
        if (!f)
            bad(c, acc, "idempotency-field \"%s\" names no field",
                m->idempotency_field);
        else if (f->type == FT_LIST)
            bad(c, acc, "idempotency-field \"%s\" is a list",
                m->idempotency_field);
    }
}

static const char *const map_known[] = {
    "to", "from", "value", "format", "local-time", "truncate", "fold", NULL,
};

static void build_assign(struct lctx *c, xmlNodePtr k, struct map_assign *a)
{
    a->line = (int)xmlGetLineNo(k);
    a->to = attr(c, k, "to");
    a->from = attr(c, k, "from");
    a->value = attr(c, k, "value");
    a->format = attr(c, k, "format");
    a->local_time = attr_bool(k, "local-time", false);
    a->truncate = attr_bool(k, "truncate", false);
    a->fold = attr_bool(k, "fold", false);
    all_attrs(c, k, map_known, &a->opts);
    if (!a->from == !a->value)
        bad(c, k, "map to=\"%s\": give either from= or value=",
            a->to ? a->to : "?");
}

/* build_section - the maps of one section (or of the target itself) */
static void build_section(struct lctx *c, xmlNodePtr n,
                          struct map_section *s, const char *name,
                          const char *const *skip)
{
    s->line = (int)xmlGetLineNo(n);
    s->name = strdup(name);
    if (!s->name)
        c->nomem = true;
    all_attrs(c, n, skip, &s->opts);
    size_t na = count_el(n, "map");
    if (!na)
        return;
    s->a = calloc(na, sizeof *s->a);
    if (!s->a) {
        c->nomem = true;
        return;
    }
    for (xmlNodePtr k = n->children; k; k = k->next)
        if (is_el(k, "map"))
            build_assign(c, k, &s->a[s->na++]);
}

static void build_target(struct lctx *c, xmlNodePtr n, struct map_target *t)
{
    static const char *const skip_name[] = {"name", NULL};
    t->line = (int)xmlGetLineNo(n);
    t->name = attr(c, n, "name");
    if (!t->name) {
        t->name = strdup("?");
        if (!t->name) {
            c->nomem = true;
            return;
        }
    }
    all_attrs(c, n, skip_name, &t->opts);
    size_t ns = 1 + count_el(n, "section");
    t->sec = calloc(ns, sizeof *t->sec);
    size_t nc = count_el(n, "codes");
    t->codes = nc ? calloc(nc, sizeof *t->codes) : NULL;
    if (!t->sec || (nc && !t->codes)) {
        c->nomem = true;
        return;
    }
    build_section(c, n, &t->sec[0], "record", skip_name);
    t->nsec = 1;
    for (xmlNodePtr k = n->children; k; k = k->next) {
        if (is_el(k, "section")) {
            char *sn = attr(c, k, "name");
            for (size_t i = 0; sn && i < t->nsec; i++)
                if (strcmp(t->sec[i].name ? t->sec[i].name : "", sn) == 0)
                    bad(c, k, "target \"%s\": section \"%s\" appears twice "
                              "(\"record\" is the target's own maps)",
                        t->name, sn);
            build_section(c, k, &t->sec[t->nsec++], sn ? sn : "?",
                          skip_name);
            free(sn);
        } else if (is_el(k, "codes")) {
            struct map_codetable *ct = &t->codes[t->ncodes++];
            ct->name = attr(c, k, "name");
            build_codes(c, k, &ct->c, &ct->n);
        }
    }
}

static void build(struct lctx *c, xmlNodePtr root, struct mapping *m)
{
    m->service = attr(c, root, "service");
    size_t nt = count_el(root, "target");
    if (nt) {
        m->targets = calloc(nt, sizeof *m->targets);
        if (!m->targets) {
            c->nomem = true;
            return;
        }
    }
    for (xmlNodePtr k = root->children; k; k = k->next) {
        if (is_el(k, "accept"))
            build_accept(c, k, m);
        else if (is_el(k, "target"))
            build_target(c, k, &m->targets[m->ntargets++]);
    }
    for (size_t i = 0; i < m->ntargets; i++)
        m->targets[i].owner = m;
}

/* under - path (resolved) lies below root (resolved) */
static bool under(const char *path, const char *root)
{
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n == 1 && root[0] == '/')
        return path[0] == '/';
    return strncmp(path, root, n) == 0 && path[n] == '/';
}

char *mapping_copybook_path(const struct map_target *mt, const char *ref,
                            bool *outside, char *why, size_t whysz)
{
    *outside = false;
    const char *mfile = mt->owner && mt->owner->file ? mt->owner->file : "";
    const char *slash = strrchr(mfile, '/');
    char *joined = NULL;
    int r = ref[0] == '/' || !slash
                ? asprintf(&joined, "%s", ref)
                : asprintf(&joined, "%.*s/%s", (int)(slash - mfile), mfile,
                           ref);
    if (r < 0) {
        snprintf(why, whysz, "out of memory");
        return NULL;
    }
    char *real = realpath(joined, NULL);
    if (!real) {
        snprintf(why, whysz, "%s", strerror(errno));
        free(joined);
        return NULL;
    }
    free(joined);
    const struct mapping *m = mt->owner;
    if (!m || m->ncb_roots == 0)
        return real;
    for (size_t i = 0; i < m->ncb_roots; i++)
        if (under(real, m->cb_roots[i]))
            return real;
    *outside = true;
    snprintf(why, whysz, "it is outside the configuration folder %s/%s",
             strcmp(m->cb_roots[0], "/") ? m->cb_roots[0] : "",
             m->ncb_roots > 1 ? " and every folder of copybook-path" : "");
    free(real);
    return NULL;
}

/* doctype_line - line of a "<!DOCTYPE" in the text, or 0 */
static long doctype_line(const char *xml, size_t len)
{
    static const char pat[] = "<!DOCTYPE";
    for (size_t i = 0; i + sizeof pat - 1 <= len; i++) {
        if (xml[i] == '<' && memcmp(xml + i, pat, sizeof pat - 1) == 0) {
            long line = 1;
            for (size_t k = 0; k < i; k++)
                line += xml[k] == '\n';
            return line;
        }
    }
    return 0;
}

int mapping_load_memory(const char *xml, size_t len, const char *name,
                        struct mapping **out, struct errs *e)
{
    struct lctx c = {.e = e, .file = name ? name : "mapping"};
    struct mapping *m = NULL;
    xmlDocPtr doc = NULL;
    *out = NULL;
    if (len > MAPPING_MAX_FILE || len > (size_t)INT32_MAX) {
        errs_add_at(e, c.file, 0, "mapping file is larger than %zu bytes",
                    MAPPING_MAX_FILE);
        return -1;
    }
    long dl = doctype_line(xml, len);
    if (dl) {
        errs_add_at(e, c.file, dl, "DOCTYPE is not allowed in a mapping "
                                   "(no DTDs or entities)");
        return -1;
    }
    struct xmlerr_catcher cat = { xml_problem, &c };
    xmlerr_begin(&cat);
    doc = xmlReadMemory(xml, (int)len, c.file, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOWARNING);
    xmlerr_end();
    if (!doc) {
        if (!c.problems)
            errs_add_at(e, c.file, 0, "not well-formed XML");
        return -1;
    }
    if (doc->intSubset || doc->extSubset) {
        errs_add_at(e, c.file, 1, "DOCTYPE is not allowed in a mapping");
        goto fail;
    }
    if (c.problems)
        goto fail;
    if (validate(&c, doc) < 0)
        goto fail;
    m = calloc(1, sizeof *m);
    if (!m || !(m->file = strdup(c.file)))
        goto nomem;
    build(&c, xmlDocGetRootElement(doc), m);
    if (c.nomem)
        goto nomem;
    if (c.problems)
        goto fail;
    if (map_accept_prepare(m) < 0)
        goto nomem;
    xmlFreeDoc(doc);
    *out = m;
    return 0;
nomem:
    errs_add_at(e, c.file, 0, "out of memory");
fail:
    mapping_free(m);
    xmlFreeDoc(doc);
    return -1;
}

int mapping_load(const char *path, struct mapping **out, struct errs *e)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    if (fs_read_file(path, MAPPING_MAX_FILE, &text, &len, e) < 0)
        return -1;
    int rc = mapping_load_memory(text, len, path, out, e);
    free(text);
    return rc;
}
