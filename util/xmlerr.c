/* xmlerr.c - libxml2's messages to a catcher, never stderr.  See xmlerr.h.
 * Owns nothing: libxml2 holds the catcher's pointer until xmlerr_end. */
#include "util/xmlerr.h"

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
