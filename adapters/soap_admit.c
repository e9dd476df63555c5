/* soap_admit.c - the intake's check that a record can travel in a SOAP
 * envelope: every text value a <map from=...> of the target uses must be
 * made of characters XML 1.0 can carry.  U+0001-U+0008, U+000B, U+000C,
 * U+000E-U+001F, U+FFFE and U+FFFF cannot appear in an XML document even
 * as character references, so a record holding one would be refused by
 * the far side (or by libxml2) at 01:30 instead of at the door.  Tab, LF
 * and CR are allowed.  No I/O; the set of field names is built once from
 * the mapping's target sections.
 *
 * Owns: the name set (struct soap_admit), freed by soap_admit_free. */
#include "adapters/soap.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct soap_admit {
    char **names;       /* "field" or "list.field", as the maps name them */
    size_t n;
};

void soap_admit_free(void *actx)
{
    struct soap_admit *a = actx;
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->names[i]);
    free(a->names);
    free(a);
}

int soap_admit_new(void **actx, const struct adapter_env *env,
                   struct errs *e)
{
    struct soap_admit *a = calloc(1, sizeof *a);
    size_t cap = 0;
    *actx = NULL;
    if (!a)
        goto nomem;
    for (size_t s = 0; env->map && s < env->map->nsec; s++) {
        const struct map_section *sec = &env->map->sec[s];
        for (size_t i = 0; i < sec->na; i++) {
            const char *from = sec->a[i].from;
            if (!from || from[0] == '$')
                continue;
            if (a->n == cap) {
                cap = cap ? cap * 2 : 16;
                char **nn = realloc(a->names, cap * sizeof *nn);
                if (!nn)
                    goto nomem;
                a->names = nn;
            }
            if (!(a->names[a->n] = strdup(from)))
                goto nomem;
            a->n++;
        }
    }
    *actx = a;
    return 0;
nomem:
    soap_admit_free(a);
    errs_add(e, env->target ? "soap" : "", "out of memory");
    return -1;
}

/* xml_bad - the first code point of s that XML 1.0 cannot carry, or 0 */
static unsigned xml_bad(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return *p;
        /* U+FFFE, U+FFFF: EF BF BE / EF BF BF */
        if (p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
            return 0xFFFEu + (p[2] == 0xBF);
    }
    return 0;
}

static bool wanted(const struct soap_admit *a, const char *list,
                   const char *name)
{
    size_t ll = list ? strlen(list) : 0;
    for (size_t i = 0; i < a->n; i++) {
        const char *n = a->names[i];
        if (!list && strcmp(n, name) == 0)
            return true;
        if (list && strncmp(n, list, ll) == 0 && n[ll] == '.' &&
            strcmp(n + ll + 1, name) == 0)
            return true;
    }
    return false;
}

static void check_text(const char *where, const struct fvalue *v,
                       int *bad, struct errs *e)
{
    if (!v->present || !v->text ||
        (v->type != FT_STRING && v->type != FT_ENUM))
        return;
    unsigned cp = xml_bad(v->text);
    if (cp) {
        errs_add(e, where, "control character U+%04X cannot be carried in "
                 "a SOAP (XML 1.0) message", cp);
        *bad = 1;
    }
}

int soap_admit(const void *actx, const struct record *rec, struct errs *e)
{
    const struct soap_admit *a = actx;
    int bad = 0;
    for (size_t i = 0; i < rec->n; i++) {
        const struct record_field *f = &rec->f[i];
        if (f->v.type != FT_LIST) {
            if (wanted(a, NULL, f->name))
                check_text(f->name, &f->v, &bad, e);
            continue;
        }
        for (size_t k = 0; k < f->v.nitems; k++) {
            const struct record *it = f->v.items[k];
            for (size_t j = 0; it && j < it->n; j++) {
                if (!wanted(a, f->name, it->f[j].name))
                    continue;
                char where[300];
                snprintf(where, sizeof where, "%s[%zu].%s", f->name, k,
                         it->f[j].name);
                check_text(where, &it->f[j].v, &bad, e);
            }
        }
    }
    return bad ? -1 : 0;
}
