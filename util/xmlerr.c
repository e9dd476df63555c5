/* xmlerr.c - libxml2's messages to a catcher, never stderr.  See xmlerr.h.
 * Owns nothing: libxml2 holds the catcher's pointer until xmlerr_end. */
#include "util/xmlerr.h"
#include "util/suggest.h"

#include <libxml/xmlerror.h>
#include <stdio.h>
#include <string.h>

static void to_catcher(void *ud, xmlErrorPtr err)
{
    struct xmlerr_catcher *c = ud;
    if (!c || !c->fn || !err)
        return;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", err->message ? err->message
                                                 : "unknown XML error");
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    c->fn(c->ud, (int)err->level, err->line, msg);
}

static void drop(void *ud, xmlErrorPtr err)
{
    (void)ud;
    (void)err;
}

static void drop_generic(void *ud, const char *fmt, ...)
{
    (void)ud;
    (void)fmt;
}

void xmlerr_begin(struct xmlerr_catcher *c)
{
    xmlSetGenericErrorFunc(NULL, drop_generic);
    xmlSetStructuredErrorFunc(c, to_catcher);
}

void xmlerr_end(void)
{
    xmlSetStructuredErrorFunc(NULL, drop);
    xmlSetGenericErrorFunc(NULL, drop_generic);
}

void xmlerr_strip_ns(char *msg)
{
    char *o = msg;
    for (const char *p = msg; *p;) {
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        if (end && end - p > 1 && memchr(p, ':', (size_t)(end - p))) {
            p = end + 1;
            continue;
        }
        *o++ = *p++;
    }
    *o = '\0';
}

#define NAMES_MAX 400
#define NAME_LEN 64

struct names {
    char v[NAMES_MAX][NAME_LEN + 1];
    const char *p[NAMES_MAX];
    size_t n;
};

/* add_name - s[0..len) (a "{ns}" prefix dropped) once onto ns */
static void add_name(struct names *ns, const char *s, size_t len)
{
    const char *br = memchr(s, '}', len);
    if (br) {
        len -= (size_t)(br + 1 - s);
        s = br + 1;
    }
    if (len == 0 || len > NAME_LEN || ns->n == NAMES_MAX)
        return;
    for (size_t i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == len && memcmp(ns->v[i], s, len) == 0)
            return;
    memcpy(ns->v[ns->n], s, len);
    ns->v[ns->n][len] = '\0';
    ns->p[ns->n] = ns->v[ns->n];
    ns->n++;
}

/* declared - every NAME of <xs:KIND name="NAME" in the schema text */
static void declared(struct names *ns, const char *xsd, size_t xsdlen,
                     const char *kind)
{
    char tag[40];
    int tl = snprintf(tag, sizeof tag, "<xs:%s name=\"", kind);
    if (tl <= 0 || (size_t)tl >= sizeof tag)
        return;
    const char *end = xsd + xsdlen;
    for (const char *p = xsd; p && p < end;) {
        p = memmem(p, (size_t)(end - p), tag, (size_t)tl);
        if (!p)
            break;
        p += tl;
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            break;
        add_name(ns, p, (size_t)(q - p));
        p = q;
    }
}

/* quoted - the name in 'NAME' right after key in msg, {ns} dropped, into
 * out; 0 found */
static int quoted(const char *msg, const char *key, char *out, size_t outsz)
{
    const char *p = strstr(msg, key);
    if (!p)
        return -1;
    p += strlen(key);
    const char *q = strchr(p, '\'');
    if (!q)
        return -1;
    const char *br = memchr(p, '}', (size_t)(q - p));
    if (br)
        p = br + 1;
    size_t n = (size_t)(q - p);
    if (n == 0 || n >= outsz)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

void xmlerr_did_you_mean(char *msg, size_t msgsz, const char *xsd,
                         size_t xsdlen)
{
    static _Thread_local struct names ns;   /* 26 KB: not on the stack */
    char name[NAME_LEN + 1];
    ns.n = 0;
    if (strstr(msg, "is not allowed") &&
        quoted(msg, "The attribute '", name, sizeof name) == 0) {
        declared(&ns, xsd, xsdlen, "attribute");
    } else if (strstr(msg, "This element is not expected") &&
               quoted(msg, "Element '", name, sizeof name) == 0) {
        const char *ex = strstr(msg, "Expected is ");
        if (ex) {
            ex += strlen("Expected is ");
            if (strncmp(ex, "one of ", 7) == 0)
                ex += 7;
            if (*ex == '(')
                ex++;
            const char *close = strchr(ex, ')');
            while (close && ex < close) {
                while (*ex == ' ' || *ex == ',')
                    ex++;
                size_t n = strcspn(ex, ", )");
                if (ex + n > close)
                    n = (size_t)(close - ex);
                add_name(&ns, ex, n);
                ex += n ? n : 1;
            }
        }
        if (!ns.n)
            declared(&ns, xsd, xsdlen, "element");
    } else {
        return;
    }
    const char *near = suggest_near(name, ns.p, ns.n);
    if (!near || strcmp(near, name) == 0)
        return;
    size_t l = strlen(msg);
    while (l && msg[l - 1] == '.')      /* "... is not allowed." */
        l--;
    snprintf(msg + l, msgsz - l, "; did you mean '%s'?", near);
}
