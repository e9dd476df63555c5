/* intake_spool.c - from mapped record to spool item, for every intake.
 * See intake_spool.h for the identity rule this file holds.
 *
 * Owns: nothing beyond the strings of an intake_doc. */
#include "intake/intake_spool.h"
#include "adapters/admit.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

int intake_doc_take(struct intake_doc *d, const struct service_config *svc,
                    struct record *rec, struct errs *e)
{
    char *json = record_to_json(rec), *ref = NULL;
    const char *idf = svc->mapping ? svc->mapping->idempotency_field : NULL;
    bool nomem = !json;
    if (idf) {
        const struct fvalue *v = record_get(rec, idf);
        if (v && v->present && v->text && !(ref = strdup(v->text)))
            nomem = true;
    }
    /* the searchable values go with it: spool_enqueue stores their keyed
     * hashes in the record's transaction (spool_search.c) */
    char **search = NULL;
    size_t nsearch = 0;
    if (map_search_values(svc->mapping, rec, &search, &nsearch) != 0)
        nomem = true;
    record_free(rec);
    if (nomem) {
        free(json);
        free(ref);
        map_search_values_free(search, nsearch);
        errs_add(e, "", "out of memory");
        return -1;
    }
    d->record_json = json;
    d->fe_ref = ref;
    d->search = search;
    d->nsearch = nsearch;
    return 0;
}

int intake_doc_admit(struct intake_doc *d, const struct service_config *svc,
                     const struct adapter_admit *adm, struct record *rec,
                     struct errs *e)
{
    unsigned char *enc = NULL;
    size_t encn = 0;
    if (adm && adapter_admit_stored(adm, rec, config_service_target(svc),
                                    &enc, &encn, e) != 0) {
        record_free(rec);
        return -1;
    }
    if (intake_doc_take(d, svc, rec, e) != 0) {
        free(enc);
        return -1;
    }
    d->encoded = enc;
    d->encoded_len = encn;
    return 0;
}

int intake_doc_map(struct intake_doc *d, const struct service_config *svc,
                   const struct adapter_admit *adm, const json_t *doc,
                   struct errs *e)
{
    struct record *rec = NULL;
    if (!svc->mapping) {
        errs_add(e, "", "service %s has no mapping", svc->name);
        return -1;
    }
    if (map_apply(svc->mapping, doc, &rec, e) != 0)
        return -1;
    return intake_doc_admit(d, svc, adm, rec, e);
}

int intake_doc_map_jt(struct intake_doc *d, const struct service_config *svc,
                      const struct adapter_admit *adm,
                      const struct jt_doc *doc, struct errs *e)
{
    struct record *rec = NULL;
    if (!svc->mapping) {
        errs_add(e, "", "service %s has no mapping", svc->name);
        return -1;
    }
    if (map_apply_jt(svc->mapping, doc, &rec, e) != 0)
        return -1;
    return intake_doc_admit(d, svc, adm, rec, e);
}

void intake_doc_clear(struct intake_doc *d)
{
    free(d->record_json);
    free(d->fe_ref);
    map_search_values_free(d->search, d->nsearch);
    if (d->encoded)
        explicit_bzero(d->encoded, d->encoded_len);
    free(d->encoded);
    d->record_json = d->fe_ref = NULL;
    d->search = NULL;
    d->nsearch = 0;
    d->encoded = NULL;
    d->encoded_len = 0;
}

void intake_item(struct spool_item *it, const struct service_config *svc,
                 const char *client, const struct intake_doc *d,
                 const char *client_key)
{
    memset(it, 0, sizeof *it);
    it->service = svc->name;
    it->target = config_service_target(svc);
    it->targets = svc->targets;        /* one delivery per target */
    it->ntargets = svc->ntargets;
    it->client = client;
    it->fe_ref = d->fe_ref;
    it->idem_key = d->fe_ref;          /* the submission's identity */
    it->client_key = client_key && *client_key ? client_key : NULL;
    it->payload = d->raw;
    it->payload_len = d->rawlen;
    it->record_json = d->record_json;
    it->encoded = d->encoded;
    it->encoded_len = d->encoded_len;
    it->search = d->search;
    it->nsearch = d->nsearch;
}

bool intake_disk_ok(const struct spool *sp, size_t min_free_mb)
{
    struct statvfs sv;
    if (statvfs(spool_dir(sp), &sv) != 0)
        return false;
    unsigned long long free_b =
        (unsigned long long)sv.f_bavail * (unsigned long long)sv.f_frsize;
    return free_b >= (unsigned long long)min_free_mb << 20;
}
