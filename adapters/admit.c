/* admit.c - "can this record be encoded for every target of its
 * service?", asked at the door.  A service's targets each check the record
 * their own way through the adapter's optional admit callbacks (the
 * copybook encoder for a fixed-width target, XML characters for SOAP), so
 * a submission that one of them could not take is refused with the
 * others' problems, before it is spooled, instead of dead-lettered in the
 * night batch.
 *
 * Built once per configuration (the intake keeps it beside the config);
 * adapter_admit_check is read-only and safe from several threads. */
#include "adapters/admit.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "util/errs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct admit_one {
    const char *target;             /* borrowed from the config */
    const struct adapter *ad;
    void *actx;
};

struct adapter_admit {
    struct admit_one *t;
    size_t n;
};

void adapter_admit_free(struct adapter_admit *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        if (a->t[i].actx)
            a->t[i].ad->admit_free(a->t[i].actx);
    free(a->t);
    free(a);
}

struct adapter_admit *adapter_admit_new(const struct ferry_config *cfg,
                                        const struct service_config *svc,
                                        struct errs *e)
{
    struct adapter_admit *a = calloc(1, sizeof *a);
    if (!a || (svc->ntargets && !(a->t = calloc(svc->ntargets,
                                                  sizeof *a->t)))) {
        free(a);
        errs_add(e, svc->name, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < svc->ntargets; i++) {
        const struct target_config *tc = config_target(cfg, svc->targets[i]);
        const struct adapter *ad = tc ? adapter_find(tc->type) : NULL;
        if (!ad || !ad->admit_new || !svc->mapping)
            continue;   /* unknown ones are ferry check's to report */
        struct adapter_env env = {
            .target = tc, .opts = &tc->opts,
            .map = mapping_target(svc->mapping, tc->name),
            .base_dir = cfg->base_dir, .service = svc->name,
            .mapping_file = svc->mapping->file,
        };
        struct admit_one *o = &a->t[a->n];
        o->target = tc->name;
        o->ad = ad;
        if (ad->admit_new(&o->actx, &env, e) != 0) {
            adapter_admit_free(a);
            return NULL;
        }
        a->n++;
    }
    return a;
}

int adapter_admit_check(const struct adapter_admit *a,
                        const struct record *rec, struct errs *e)
{
    return adapter_admit_stored(a, rec, NULL, NULL, NULL, e);
}

int adapter_admit_stored(const struct adapter_admit *a,
                         const struct record *rec, const char *target,
                         unsigned char **out, size_t *outn, struct errs *e)
{
    int rc = 0;
    if (out) {
        *out = NULL;
        *outn = 0;
    }
    for (size_t i = 0; a && i < a->n; i++) {
        struct errs te;
        errs_init(&te);
        const struct admit_one *o = &a->t[i];
        bool want = out && !*out && target && o->ad->admit_stored &&
                    strcmp(o->target, target) == 0;
        int r = want ? o->ad->admit_stored(o->actx, rec, out, outn, &te)
                     : o->ad->admit(o->actx, rec, &te);
        if (r != 0) {
            rc = -1;
            if (!te.n)
                errs_add(e, a->t[i].target, "cannot be encoded for target "
                         "%s", a->t[i].target);
            for (size_t k = 0; k < te.n; k++)
                errs_add(e, te.v[k].where, "cannot be encoded for target "
                         "%s: %s", a->t[i].target, te.v[k].msg);
        }
        errs_free(&te);
    }
    if (rc != 0 && out) {
        free(*out);
        *out = NULL;
        *outn = 0;
    }
    return rc;
}
