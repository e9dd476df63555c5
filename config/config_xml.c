/* config_xml.c - ferry.xml as XML: parsed by libxml2 with the network
 * off, no entity substitution and no DTD loading (a DOCTYPE is refused
 * outright, so no entity, internal or external, is ever expanded), then
 * validated against the embedded config/ferry.xsd.  Every problem is
 * reported as "file:line: message", with libxml2's messages cleaned of
 * namespace noise and the schema's types named in plain words.
 *
 * Owns: nothing beyond one call; the document returned is the caller's
 * (xmlFreeDoc). */
#include "util/xmlerr.h"
#include "config/config_int.h"
#include "config/config.h"
#include "util/schemas.h"
#include "util/errs.h"

#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

/* ---- parsing and validation ------------------------------------------- */

/* Plain words for the schema's own types, in place of libxml2's
 * "is not accepted by the pattern '...'" and "atomic type 'x'". */
static const struct {
    const char *type;      /* simple type name in ferry.xsd */
    const char *words;
} type_words[] = {
    { "name", "a name (letters, digits, '_', '.', '-'; up to 64)" },
    { "duration", "a duration such as 30s, 5m, 1h30m or 3d" },
    { "size", "a size such as 64MiB, 512k or 4096" },
    { "percent", "a percentage from 0% to 100%" },
    { "count", "a whole number of 1 or more" },
    { "listen", "host:port, such as 127.0.0.1:8080" },
    { "factor", "a factor such as 2 or 1.5" },
    { "day", "a date YYYY-MM-DD" },
    { "nonEmpty", "a non-empty text" },
    { "secret", "a file path or env:NAME" },
    { "path", "a path" },
};

/* pattern_type - which ferry.xsd type a pattern belongs to: the pattern
 * text is looked up in the embedded schema itself, so the two never
 * drift apart.  NULL when not found. */
static const char *pattern_type(const char *pat, size_t patlen)
{
    const struct embedded_file *f = NULL;
    for (size_t i = 0; schema_files[i].name; i++)
        if (strcmp(schema_files[i].name, "ferry.xsd") == 0)
            f = &schema_files[i];
    if (!f || patlen == 0)
        return NULL;
    const char *xsd = (const char *)f->data;
    const char *hit = NULL;
    for (const char *p = xsd; (p = strstr(p, "<xs:pattern value=\"")); p++) {
        const char *v = p + 19;
        if (strncmp(v, pat, patlen) == 0 && v[patlen] == '"') {
            hit = p;
            break;
        }
    }
    if (!hit)
        return NULL;
    /* the nearest <xs:simpleType name="..."> before it */
    const char *best = NULL;
    for (const char *p = xsd; (p = strstr(p, "<xs:simpleType name=\"")) &&
                              p < hit; p++)
        best = p;
    if (!best)
        return NULL;
    best += 21;
    for (size_t i = 0; i < sizeof type_words / sizeof type_words[0]; i++) {
        size_t n = strlen(type_words[i].type);
        if (strncmp(best, type_words[i].type, n) == 0 && best[n] == '"')
            return type_words[i].words;
    }
    return NULL;
}

static const char *type_name_words(const char *t, size_t n)
{
    for (size_t i = 0; i < sizeof type_words / sizeof type_words[0]; i++)
        if (strlen(type_words[i].type) == n &&
            strncmp(type_words[i].type, t, n) == 0)
            return type_words[i].words;
    return NULL;
}

/* clean_msg - libxml2's message without the namespace noise, facet tags
 * and newline, with the schema's types named in plain words */
static void clean_msg(const char *in, char *out, size_t outsz)
{
    static const char ns[] = "{" CONFIG_NS "}";
    static const char facet[] = "[facet '";
    static const char by_pat[] = " is not accepted by the pattern '";
    static const char atomic[] = " is not a valid value of the atomic type '";
    size_t o = 0;
    if (!in)
        in = "unknown error";
    while (*in && o + 1 < outsz) {
        if (strncmp(in, ns, sizeof ns - 1) == 0) {
            in += sizeof ns - 1;
            continue;
        }
        if (strncmp(in, facet, sizeof facet - 1) == 0) {
            const char *end = strstr(in, "'] ");
            if (end) {
                in = end + 3;
                continue;
            }
        }
        const char *words = NULL;
        const char *rest = NULL;
        if (strncmp(in, by_pat, sizeof by_pat - 1) == 0) {
            const char *pat = in + sizeof by_pat - 1;
            const char *end = strstr(pat, "'.");
            while (end && end[2] && end[2] != '\n')
                end = strstr(end + 1, "'.");
            if (end) {
                words = pattern_type(pat, (size_t)(end - pat));
                rest = end + 2;
            }
        } else if (strncmp(in, atomic, sizeof atomic - 1) == 0) {
            const char *t = in + sizeof atomic - 1;
            if (strncmp(t, ns, sizeof ns - 1) == 0)
                t += sizeof ns - 1;
            const char *end = strchr(t, '\'');
            if (end) {
                words = type_name_words(t, (size_t)(end - t));
                rest = end + 1;
                if (*rest == '.')
                    rest++;
            }
        }
        if (words) {
            int n = snprintf(out + o, outsz - o, ": not %s", words);
            if (n < 0 || (size_t)n >= outsz - o) {
                o = outsz - 1;
                break;
            }
            o += (size_t)n;
            in = rest;
            continue;
        }
        out[o++] = *in++;
    }
    while (o && (out[o - 1] == '\n' || out[o - 1] == ' '))
        o--;
    out[o] = '\0';
}

static void schema_error(void *ctx, xmlErrorPtr err)
{
    struct loader *L = ctx;
    char msg[1024];
    clean_msg(err->message, msg, sizeof msg);
    for (size_t i = 0; schema_files[i].name; i++)   /* a near name */
        if (strcmp(schema_files[i].name, "ferry.xsd") == 0)
            xmlerr_did_you_mean(msg, sizeof msg,
                                (const char *)schema_files[i].data,
                                schema_files[i].len);
    L->schema_ok = false;
    errs_add_at(L->e, L->file, err->line, "%s", msg);
}

/* quiet - swallow libxml2's messages about the schema itself */
static void quiet(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

/* parse_error - every well-formedness problem, in document order */
static void parse_error(void *ctx, xmlErrorPtr err)
{
    xmlParserCtxtPtr p = ctx;
    struct loader *L = p ? p->_private : NULL;
    if (!L || !err || err->level < XML_ERR_ERROR || L->doctype_line > 0)
        return;
    char msg[1024];
    clean_msg(err->message, msg, sizeof msg);
    L->parse_errors++;
    errs_add_at(L->e, L->file, err->line, "%s", msg);
}

/* stray_error - libxml2 errors raised outside the parser context (an
 * input that does not convert from its declared encoding), caught
 * through util/xmlerr.c so libxml2 never prints them on stderr */
static void stray_error(void *ud, int level, int line, const char *m)
{
    struct loader *L = ud;
    if (!L || level < XML_ERR_ERROR || L->doctype_line > 0)
        return;
    char msg[1024];
    clean_msg(m, msg, sizeof msg);
    L->parse_errors++;
    errs_add_at(L->e, L->file, line, "%s", msg);
}

/* refuse_doctype - SAX internalSubset hook: stop at any DOCTYPE, so no
 * entity, internal or external, is ever declared, let alone expanded. */
static void refuse_doctype(void *ctx, const xmlChar *name,
                           const xmlChar *ext_id, const xmlChar *sys_id)
{
    (void)name;
    (void)ext_id;
    (void)sys_id;
    xmlParserCtxtPtr p = ctx;
    struct loader *L = p->_private;
    L->doctype_line = xmlSAX2GetLineNumber(ctx);
    if (L->doctype_line <= 0)
        L->doctype_line = 1;
    xmlStopParser(p);
}

xmlDocPtr config_xml_parse(struct loader *L, const char *data, size_t len)
{
    xmlParserCtxtPtr p = xmlNewParserCtxt();
    if (!p) {
        errs_add(L->e, L->file, "out of memory");
        return NULL;
    }
    p->_private = L;
    p->sax->internalSubset = refuse_doctype;
    p->sax->serror = parse_error;
    p->sax->initialized = XML_SAX2_MAGIC;
    struct xmlerr_catcher cat = { stray_error, L };
    xmlerr_begin(&cat);
    xmlDocPtr doc = xmlCtxtReadMemory(p, data, (int)len, L->file, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR |
                                      XML_PARSE_NOWARNING |
                                      XML_PARSE_BIG_LINES);
    xmlerr_end();
    if (L->doctype_line > 0) {
        errs_add_at(L->e, L->file, L->doctype_line,
                    "DOCTYPE is not allowed: ferry.xml takes no DTD and no "
                    "entities");
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (!doc || !p->wellFormed) {
        if (L->parse_errors == 0) {
            const xmlError *err = xmlCtxtGetLastError(p);
            char msg[1024];
            clean_msg(err ? err->message : "not well-formed XML", msg,
                      sizeof msg);
            errs_add_at(L->e, L->file, err ? err->line : 0, "%s", msg);
        }
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(p);
    return doc;
}

void config_xml_validate(struct loader *L, xmlDocPtr doc)
{
    const struct embedded_file *f = NULL;
    for (size_t i = 0; schema_files[i].name; i++)
        if (strcmp(schema_files[i].name, "ferry.xsd") == 0)
            f = &schema_files[i];
    if (!f) {
        errs_add(L->e, L->file, "internal: ferry.xsd is not embedded");
        L->schema_ok = false;
        return;
    }
    xmlSchemaParserCtxtPtr pc =
        xmlSchemaNewMemParserCtxt((const char *)f->data, (int)f->len);
    xmlSchemaPtr schema = NULL;
    xmlSchemaValidCtxtPtr vc = NULL;
    if (!pc)
        goto fail;
    xmlSchemaSetParserStructuredErrors(pc, quiet, NULL);
    schema = xmlSchemaParse(pc);
    if (!schema)
        goto fail;
    vc = xmlSchemaNewValidCtxt(schema);
    if (!vc)
        goto fail;
    xmlSchemaSetValidStructuredErrors(vc, schema_error, L);
    int rc = xmlSchemaValidateDoc(vc, doc);
    if (rc != 0 && L->schema_ok) {
        L->schema_ok = false;
        errs_add(L->e, L->file, "does not match ferry.xsd");
    }
    goto done;
fail:
    errs_add(L->e, L->file, "internal: embedded ferry.xsd does not load");
    L->schema_ok = false;
done:
    xmlSchemaFreeValidCtxt(vc);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pc);
}
