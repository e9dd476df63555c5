/* console_find.c - finding records by searchable fields across services:
 * the one lookup behind `ferry find` and the console's search.
 *
 * For each service whose mapping has an index of exactly the fields
 * given, the texts are normalised by that mapping (map_search_query) and
 * looked up in the spool's keyed-hash index (spool_find). */
#include "console/console.h"
#include "config/config.h"
#include "mappings/mapping.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <stdlib.h>
#include <string.h>

/* list_take - move every record of from onto the end of to */
static int list_take(struct spool_list *to, struct spool_list *from)
{
    if (!from->n)
        return 0;
    struct spool_record **v = realloc(to->v, (to->n + from->n) * sizeof *v);
    if (!v)
        return -1;
    memcpy(v + to->n, from->v, from->n * sizeof *v);
    to->v = v;
    to->n += from->n;
    free(from->v);
    from->v = NULL;
    from->n = 0;
    return 0;
}

int console_find_fields(const struct ferry_config *cfg, struct spool *sp,
                        const char *only, const char *const *names,
                        const char *const *texts, size_t n, size_t limit,
                        struct spool_list *out, size_t *tried,
                        struct errs *e)
{
    *tried = 0;
    for (size_t i = 0; i < cfg->nservices; i++) {
        const struct service_config *sv = &cfg->services[i];
        if ((only && *only && strcmp(only, sv->name) != 0) || !sv->mapping)
            continue;
        const struct map_search_index *ix =
            map_search_index_for(sv->mapping, names, n);
        if (!ix)
            continue;
        (*tried)++;
        char *val = NULL;
        if (map_search_query(sv->mapping, ix, names, texts, n, &val, e) != 0)
            return -1;
        struct spool_list l = { 0 };
        int rc = spool_find(sp, sv->name, ix->name, val, limit, &l, e);
        explicit_bzero(val, strlen(val));
        free(val);
        if (rc != 0)
            return -1;
        if (list_take(out, &l) != 0) {
            spool_list_free(&l);
            errs_add(e, "", "out of memory");
            return -1;
        }
    }
    return 0;
}
