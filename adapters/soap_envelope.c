/* soap_envelope.c - SOAP envelopes in and out, with libxml2 only.
 *
 * Out: soap_envelope_build turns a typed record and the mapping's
 * <map to="Elem/Sub" from=... | value=...> assignments into a SOAP 1.1 or
 * 1.2 document.  Every node and text is made by libxml2, which escapes
 * text; no string is ever pasted into XML.
 *
 * In: soap_reply_parse reads a response with network access, entity
 * substitution and DTD loading off.  A DOCTYPE is refused before any of
 * it is looked at (the SAX internalSubset hook stops the parser), so an
 * XXE or entity-expansion payload never gets a chance.  It finds a SOAP
 * 1.1 or 1.2 Fault, or evaluates the receipt XPath. */
#include "util/xmlerr.h"
#include "adapters/soap.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlstring.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/errs.h"

#define MAX_PATH_DEPTH 16

/* ---- building -------------------------------------------------------- */

/* valid_text - UTF-8 and no control characters XML 1.0 cannot carry */
static bool valid_text(const char *s)
{
    if (!xmlCheckUTF8(BAD_CAST s))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return false;
    return true;
}

/* check_path - "A/B/C" of valid XML names; 0 ok */
static int check_path(const char *path, const char *where, struct errs *e)
{
    char seg[256];
    const char *p = path;
    int depth = 0;

    if (!path || !*path) {
        errs_add(e, where, "empty element path");
        return -1;
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= sizeof seg) {
            errs_add(e, where, "bad element path \"%s\"", path);
            return -1;
        }
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (xmlValidateNCName(BAD_CAST seg, 0) != 0) {
            errs_add(e, where, "\"%s\" in \"%s\" is not an XML element name",
                     seg, path);
            return -1;
        }
        if (++depth > MAX_PATH_DEPTH) {
            errs_add(e, where, "element path \"%s\" deeper than %d", path,
                     MAX_PATH_DEPTH);
            return -1;
        }
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

/* new_child - element in exactly ns (xmlNewChild would make a NULL ns
 * inherit the parent's, silently qualifying unqualified elements) */
static xmlNodePtr new_child(xmlNodePtr parent, xmlNsPtr ns, const char *name)
{
    xmlNodePtr n = xmlNewDocNode(parent->doc, ns, BAD_CAST name, NULL);
    if (n && !xmlAddChild(parent, n)) {
        xmlFreeNode(n);
        return NULL;
    }
    return n;
}

/* find_child - last element child of parent named name in ns */
static xmlNodePtr find_child(xmlNodePtr parent, xmlNsPtr ns, const char *name)
{
    xmlNodePtr found = NULL;
    for (xmlNodePtr c = parent->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name)
            && c->ns == ns)
            found = c;
    return found;
}

/* place - create the element at path under op (intermediate elements are
 * shared, the last is always new) with text (NULL: empty); NULL nomem */
static xmlNodePtr place(xmlNodePtr op, xmlNsPtr ns, const char *path,
                        const char *text)
{
    char seg[256];
    xmlNodePtr cur = op;
    const char *p = path;

    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (!slash) {
            xmlNodePtr el = new_child(cur, ns, seg);
            if (el && text) {
                xmlNodePtr t = xmlNewText(BAD_CAST text);
                if (!t || !xmlAddChild(el, t)) {
                    xmlFreeNode(t);
                    return NULL;
                }
            }
            return el;
        }
        xmlNodePtr next = find_child(cur, ns, seg);
        if (!next)
            next = new_child(cur, ns, seg);
        if (!next)
            return NULL;
        cur = next;
        p = slash + 1;
    }
}

/* format_value - text of v for an element: canonical text, or a date /
 * datetime through strftime(fmt) in UTC.  0 ok, -1 bad format. */
static int format_value(const struct fvalue *v, const char *fmt, char *out,
                        size_t outsz, const char **text)
{
    struct tm tm;

    if (!fmt) {
        *text = v->text;
        return 0;
    }
    memset(&tm, 0, sizeof tm);
    if (v->type == FT_DATE) {
        int y, m, d;
        record_date_from_days(v->num, &y, &m, &d);
        tm.tm_year = y - 1900;
        tm.tm_mon = m - 1;
        tm.tm_mday = d;
        tm.tm_wday = (int)(((v->num % 7) + 7 + 4) % 7);   /* 1970-01-01: Thu */
    } else if (v->type == FT_DATETIME) {
        int64_t s = v->num / 1000 - (v->num % 1000 < 0 ? 1 : 0);
        time_t t = (time_t)s;
        if (!gmtime_r(&t, &tm))
            return -1;
    } else {
        return -1;
    }
    size_t n = strftime(out, outsz, fmt, &tm);
    if (n == 0)
        return -1;
    *text = out;
    return 0;
}

/* add_list - one element per item of a list value at path: a one-field
 * item gives its text, a wider item gives one child per present field. */
static int add_list(xmlNodePtr op, xmlNsPtr ns, const char *path,
                    const struct fvalue *v, const char *where, struct errs *e)
{
    for (size_t i = 0; i < v->nitems; i++) {
        const struct record *it = v->items[i];
        if (!it)
            continue;
        if (it->n == 1) {
            const struct fvalue *iv = &it->f[0].v;
            if (!iv->present)
                continue;
            if (iv->type == FT_LIST || !valid_text(iv->text)) {
                errs_add(e, where, "list item %zu cannot be element text", i);
                return -1;
            }
            if (!place(op, ns, path, iv->text))
                goto nomem;
            continue;
        }
        xmlNodePtr el = place(op, ns, path, NULL);
        if (!el)
            goto nomem;
        for (size_t j = 0; j < it->n; j++) {
            const struct record_field *f = &it->f[j];
            if (!f->v.present)
                continue;
            if (f->v.type == FT_LIST ||
                xmlValidateNCName(BAD_CAST f->name, 0) != 0 ||
                !valid_text(f->v.text)) {
                errs_add(e, where, "list item %zu field \"%s\" cannot be an "
                         "element", i, f->name);
                return -1;
            }
            if (!place(el, ns, f->name, f->v.text))
                goto nomem;
        }
    }
    return 0;
nomem:
    errs_add(e, where, "out of memory");
    return -1;
}

/* special - text of a "$name" source; NULL if unknown */
static const char *special(const struct soap_call *c, const char *name,
                           char *num, size_t numsz)
{
    if (strcmp(name, "$reference") == 0)
        return c->ref ? c->ref : "";
    if (strcmp(name, "$delivery-id") == 0)
        return c->delivery_id ? c->delivery_id : "";
    if (strcmp(name, "$service") == 0)
        return c->service ? c->service : "";
    if (strcmp(name, "$attempt") == 0) {
        snprintf(num, numsz, "%d", c->attempt);
        return num;
    }
    return NULL;
}

/* add_assign - one <map> assignment; 0 ok (or skipped), -1 e filled */
static int add_assign(const struct soap_call *c, const struct record *rec,
                      xmlNodePtr op, xmlNsPtr ns, const struct map_assign *a,
                      struct errs *e)
{
    char where[96], num[32], fbuf[128];
    const char *text;

    snprintf(where, sizeof where, "soap:%s", a->to ? a->to : "?");
    if (check_path(a->to, where, e) != 0)
        return -1;
    if (!a->from) {
        text = a->value ? a->value : "";
    } else if (a->from[0] == '$') {
        text = special(c, a->from, num, sizeof num);
        if (!text) {
            errs_add(e, where, "unknown source \"%s\"", a->from);
            return -1;
        }
    } else {
        const struct fvalue *v = rec ? record_get(rec, a->from) : NULL;
        if (!v) {
            errs_add(e, where, "record has no field \"%s\"", a->from);
            return -1;
        }
        if (!v->present)
            return 0;                        /* absent: no element */
        if (v->type == FT_LIST)
            return add_list(op, ns, a->to, v, where, e);
        if (format_value(v, a->format, fbuf, sizeof fbuf, &text) != 0) {
            errs_add(e, where, "format \"%s\" does not apply to field \"%s\"",
                     a->format, a->from);
            return -1;
        }
    }
    if (!valid_text(text)) {
        errs_add(e, where, "value is not valid UTF-8 or holds a control "
                 "character");
        return -1;
    }
    if (!place(op, ns, a->to, text)) {
        errs_add(e, where, "out of memory");
        return -1;
    }
    return 0;
}

int soap_envelope_check(const struct map_section *sec, struct errs *e)
{
    int bad = 0;
    char where[96];

    if (!sec)
        return 0;
    for (size_t i = 0; i < sec->na; i++) {
        const struct map_assign *a = &sec->a[i];
        snprintf(where, sizeof where, "soap:%s", a->to ? a->to : "?");
        if (check_path(a->to, where, e) != 0)
            bad++;
        else if (a->from && a->from[0] == '$' &&
                 strcmp(a->from, "$reference") != 0 &&
                 strcmp(a->from, "$delivery-id") != 0 &&
                 strcmp(a->from, "$service") != 0 &&
                 strcmp(a->from, "$attempt") != 0) {
            errs_add(e, where, "unknown source \"%s\" (known: $reference, "
                     "$delivery-id, $service, $attempt)", a->from);
            bad++;
        }
    }
    return bad;
}

int soap_envelope_build(const struct soap_call *c, const struct record *rec,
                        xmlChar **out, int *len, struct errs *e)
{
    int problems = 0;
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr env = NULL;
    xmlNsPtr envns, opns = NULL;

    *out = NULL;
    *len = 0;
    if (!doc)
        goto nomem;
    env = xmlNewNode(NULL, BAD_CAST "Envelope");
    if (!env)
        goto nomem;
    xmlDocSetRootElement(doc, env);
    envns = xmlNewNs(env, BAD_CAST (c->version == SOAP_12 ? SOAP_NS_12
                                                          : SOAP_NS_11),
                     BAD_CAST "soapenv");
    if (!envns)
        goto nomem;
    xmlSetNs(env, envns);
    if (c->wsse) {
        xmlNodePtr hdr = xmlNewChild(env, envns, BAD_CAST "Header", NULL);
        if (!hdr)
            goto nomem;
        if (soap_wsse_add(hdr, envns, c->version, c->wsse, e) != 0)
            goto fail;
    }
    xmlNodePtr body = xmlNewChild(env, envns, BAD_CAST "Body", NULL);
    if (!body)
        goto nomem;
    if (!c->operation || xmlValidateNCName(BAD_CAST c->operation, 0) != 0) {
        errs_add(e, "soap", "operation \"%s\" is not an XML element name",
                 c->operation ? c->operation : "");
        goto fail;
    }
    xmlNodePtr op = new_child(body, NULL, c->operation);
    if (!op)
        goto nomem;
    if (c->ns && *c->ns) {
        const char *pfx = c->prefix && *c->prefix ? c->prefix : NULL;
        opns = xmlNewNs(op, BAD_CAST c->ns, BAD_CAST pfx);
        if (!opns)
            goto nomem;
        xmlSetNs(op, opns);
        /* unqualified children under a default namespace would silently
         * land in it: an unqualified form needs a prefix */
        if (!c->qualified && !pfx) {
            errs_add(e, "soap", "element-form unqualified needs a prefix");
            goto fail;
        }
    }
    xmlNsPtr childns = c->qualified ? opns : NULL;
    if (c->sec)
        for (size_t i = 0; i < c->sec->na; i++)
            if (add_assign(c, rec, op, childns, &c->sec->a[i], e) != 0)
                problems++;
    for (size_t i = 0; i < c->nextra; i++) {
        struct map_assign a;
        memset(&a, 0, sizeof a);
        a.to = (char *)c->extra[i].path;
        a.value = (char *)c->extra[i].text;
        if (add_assign(c, rec, op, childns, &a, e) != 0)
            problems++;
    }
    if (problems)
        goto fail;
    xmlDocDumpMemoryEnc(doc, out, len, "UTF-8");
    if (!*out)
        goto nomem;
    xmlFreeDoc(doc);
    return 0;
nomem:
    errs_add(e, "soap", "out of memory building the envelope");
fail:
    xmlFreeDoc(doc);
    return -1;
}

/* ---- parsing --------------------------------------------------------- */

/* first_stray - keep libxml2's first message raised outside the parser
 * context (an encoding error) for the reply's problem */
static void first_stray(void *ud, int level, int line, const char *msg)
{
    char *out = ud;
    (void)line;
    if (level >= 2 && !out[0])
        snprintf(out, 200, "%s", msg);
}

/* refuse_subset - SAX hook: a DOCTYPE was seen; stop before reading it */
static void refuse_subset(void *ctx, const xmlChar *name,
                          const xmlChar *ext_id, const xmlChar *sys_id)
{
    xmlParserCtxtPtr ctxt = ctx;
    (void)name;
    (void)ext_id;
    (void)sys_id;
    *(bool *)ctxt->_private = true;
    xmlStopParser(ctxt);
}

/* copy_trim - content of n (or "") with outer whitespace trimmed */
static void copy_trim(xmlNodePtr n, char *out, size_t outsz)
{
    out[0] = '\0';
    if (!n)
        return;
    xmlChar *s = xmlNodeGetContent(n);
    if (!s)
        return;
    const char *p = (const char *)s;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    size_t len = strlen(p);
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' ||
                   p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    if (len >= outsz)
        len = outsz - 1;
    memcpy(out, p, len);
    out[len] = '\0';
    xmlFree(s);
}

/* local_part - "soap:Client.Busy" -> "Client.Busy" in place */
static void local_part(char *q)
{
    char *colon = strrchr(q, ':');
    if (colon)
        memmove(q, colon + 1, strlen(colon + 1) + 1);
}

/* child - first element child of n with local name (any namespace) */
static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    if (!n)
        return NULL;
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name))
            return c;
    return NULL;
}

/* read_detail - the leaf elements of a fault's detail (one level of
 * nesting is followed: <detail><Error><Code>..</Code></Error></detail>),
 * at most SOAP_MAX_DETAIL, each name's local part and its trimmed text */
static void read_detail(xmlNodePtr d, struct soap_reply *r)
{
    if (!d)
        return;
    for (xmlNodePtr c = d->children; c && r->ndet < SOAP_MAX_DETAIL;
         c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        bool leaf = true;
        for (xmlNodePtr g = c->children; g; g = g->next)
            if (g->type == XML_ELEMENT_NODE)
                leaf = false;
        for (xmlNodePtr g = leaf ? c : c->children;
             g && r->ndet < SOAP_MAX_DETAIL; g = leaf ? NULL : g->next) {
            if (g->type != XML_ELEMENT_NODE)
                continue;
            snprintf(r->det[r->ndet].name, sizeof r->det[r->ndet].name,
                     "%s", (const char *)g->name);
            copy_trim(g, r->det[r->ndet].value,
                      sizeof r->det[r->ndet].value);
            r->ndet++;
        }
    }
}

/* read_fault - code, subcode and reason of a 1.1 or 1.2 Fault element */
static void read_fault(xmlNodePtr f, enum soap_version v, struct soap_reply *r)
{
    xmlNodePtr code = child(f, "Code");
    r->fault = true;
    /* read what is there: some services put a 1.1 body in a 1.2 envelope */
    if (v == SOAP_11 || !code) {
        copy_trim(child(f, "faultcode"), r->code, sizeof r->code);
        copy_trim(child(f, "faultstring"), r->reason, sizeof r->reason);
    }
    if (code) {
        copy_trim(child(code, "Value"), r->code, sizeof r->code);
        copy_trim(child(child(code, "Subcode"), "Value"), r->subcode,
                  sizeof r->subcode);
        copy_trim(child(child(f, "Reason"), "Text"), r->reason,
                  sizeof r->reason);
    }
    local_part(r->code);
    local_part(r->subcode);
    read_detail(child(f, v == SOAP_12 && code ? "Detail" : "detail"), r);
    if (!r->ndet)
        read_detail(child(f, v == SOAP_12 && code ? "detail" : "Detail"), r);
}

/* quiet - structured error sink: library code never prints */
static void quiet(void *data, xmlErrorPtr err)
{
    (void)data;
    (void)err;
}

/* eval_xpath - string value of expr in doc; -1 on an evaluation error
 * (err filled), 0 otherwise (r->has_receipt says whether it matched) */
static int eval_xpath(xmlDocPtr doc, const char *expr,
                      const struct soap_nsmap *ns, size_t nns,
                      struct soap_reply *r, char *err, size_t errsz)
{
    int rc = -1;
    xmlXPathObjectPtr obj = NULL;
    xmlChar *s = NULL;
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);

    if (!xc) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    xc->error = quiet;
    for (size_t i = 0; i < nns; i++)
        if (xmlXPathRegisterNs(xc, BAD_CAST ns[i].prefix,
                               BAD_CAST ns[i].uri) != 0) {
            snprintf(err, errsz, "cannot bind XPath prefix \"%s\"",
                     ns[i].prefix);
            goto done;
        }
    obj = xmlXPathEvalExpression(BAD_CAST expr, xc);
    if (!obj) {
        const xmlError *xe = xmlGetLastError();
        snprintf(err, errsz, "XPath \"%s\": %s", expr,
                 xe && xe->message ? xe->message : "cannot evaluate");
        /* strip libxml2's trailing newline */
        size_t n = strlen(err);
        if (n && err[n - 1] == '\n')
            err[n - 1] = '\0';
        goto done;
    }
    s = xmlXPathCastToString(obj);
    if (s && *s && !(obj->type == XPATH_BOOLEAN && !obj->boolval)) {
        size_t n = strlen((const char *)s);
        r->has_receipt = true;
        if (n >= sizeof r->receipt) {
            n = sizeof r->receipt - 1;
            r->receipt_truncated = true;
        }
        memcpy(r->receipt, s, n);
        r->receipt[n] = '\0';
    }
    rc = 0;
done:
    xmlFree(s);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(xc);
    return rc;
}

enum soap_parse_status soap_reply_parse(const char *body, size_t len,
                                        const char *xpath,
                                        const struct soap_nsmap *ns,
                                        size_t nns, struct soap_reply *r,
                                        char *err, size_t errsz)
{
    enum soap_parse_status st = SOAP_PARSE_BAD;
    bool doctype = false;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;

    memset(r, 0, sizeof *r);
    err[0] = '\0';
    if (len > (size_t)1 << 30) {
        snprintf(err, errsz, "response too large to parse");
        return SOAP_PARSE_BAD;
    }
    /* belt and braces: the keyword is case-sensitive in XML */
    if (memmem(body, len, "<!DOCTYPE", 9)) {
        snprintf(err, errsz, "response contains a DOCTYPE; refused");
        return SOAP_PARSE_DOCTYPE;
    }
    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        snprintf(err, errsz, "out of memory");
        return SOAP_PARSE_BAD;
    }
    ctxt->sax->internalSubset = refuse_subset;
    ctxt->sax->externalSubset = refuse_subset;
    ctxt->_private = &doctype;
    /* no NOENT, no DTDLOAD, no DTDATTR, no HUGE: entities stay unexpanded,
     * nothing is fetched, libxml2's default limits apply; what libxml2
     * says outside the context (bytes that do not convert from the
     * declared encoding) is caught, not printed */
    char stray[200] = "";
    struct xmlerr_catcher cat = { first_stray, stray };
    xmlerr_begin(&cat);
    doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
    xmlerr_end();
    if (doctype) {
        snprintf(err, errsz, "response contains a DOCTYPE; refused");
        st = SOAP_PARSE_DOCTYPE;
        goto done;
    }
    if (!doc || !ctxt->wellFormed) {
        const xmlError *xe = xmlCtxtGetLastError(ctxt);
        char first[200] = "";
        if (xe && xe->message)
            snprintf(first, sizeof first, "%s", xe->message);
        size_t n = strlen(first);
        while (n && (first[n - 1] == '\n' || first[n - 1] == ' '))
            first[--n] = '\0';
        bool both = stray[0] && strcmp(stray, first) != 0;
        snprintf(err, errsz, "response is not well-formed XML%s%s%s%s",
                 first[0] ? ": " : "", first, both ? "; " : "",
                 both ? stray : "");
        goto done;
    }
    if (doc->intSubset || doc->extSubset) {
        snprintf(err, errsz, "response contains a DOCTYPE; refused");
        st = SOAP_PARSE_DOCTYPE;
        goto done;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root || !root->ns || !xmlStrEqual(root->name, BAD_CAST "Envelope")) {
        snprintf(err, errsz, "response is not a SOAP envelope");
        goto done;
    }
    if (xmlStrEqual(root->ns->href, BAD_CAST SOAP_NS_11))
        r->version = SOAP_11;
    else if (xmlStrEqual(root->ns->href, BAD_CAST SOAP_NS_12))
        r->version = SOAP_12;
    else {
        snprintf(err, errsz, "response envelope namespace \"%s\" is not SOAP",
                 (const char *)root->ns->href);
        goto done;
    }
    xmlNodePtr bodyel = NULL;
    for (xmlNodePtr c = root->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->ns == root->ns &&
            xmlStrEqual(c->name, BAD_CAST "Body"))
            bodyel = c;
    if (!bodyel) {
        snprintf(err, errsz, "response envelope has no Body");
        goto done;
    }
    for (xmlNodePtr c = bodyel->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->ns &&
            xmlStrEqual(c->ns->href, root->ns->href) &&
            xmlStrEqual(c->name, BAD_CAST "Fault")) {
            read_fault(c, r->version, r);
            break;
        }
    st = SOAP_PARSE_OK;
    if (!r->fault && xpath && *xpath &&
        eval_xpath(doc, xpath, ns, nns, r, err, errsz) != 0)
        st = SOAP_PARSE_BAD;
done:
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return st;
}
