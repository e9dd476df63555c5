/* errs_json.c - problems as JSON.  See errs_json.h. */
#include "util/errs_json.h"

json_t *errs_json_one(const char *where, const char *reason,
                      const char *plain)
{
    json_t *p = json_pack("{s:s,s:s}", "where", where ? where : "",
                          "reason", reason ? reason : "");
    if (p && plain &&
        json_object_set_new(p, "message", json_string(plain)) != 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

json_t *errs_json(const struct errs *e)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < e->n; i++) {
        json_t *p = errs_json_one(e->v[i].where, e->v[i].msg, e->v[i].plain);
        if (!p || json_array_append_new(a, p) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}
