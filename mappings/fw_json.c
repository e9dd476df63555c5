/* fw_json.c - the field by field listing of a fixed-width record as JSON
 * (fw_fields_json; see fixedwidth.h): what `ferry map --json` shows for a
 * fixed-width target.  The same walk as fw_listing (fw_decode.c): every
 * elementary field and occurrence of the base view (REDEFINES skipped),
 * tables at their ODO count; values decoded by the codec, never guessed.
 * Unlike the text listing the bytes are given in full, not cut at 32. */
#include "mappings/fixedwidth.h"
#include "mappings/mask.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* field_value - one elementary field's bytes as text (new, caller frees);
 * NULL with msg when they do not decode */
static char *field_value(const struct cob_codec *cc,
                         const struct cpy_field *f, const unsigned char *in,
                         char *msg, size_t msgsz)
{
    struct fvalue v;
    memset(&v, 0, sizeof v);
    if (fw_field_value(cc, f, in, &v, msg, msgsz) < 0)
        return NULL;
    char *s = strdup(v.text ? v.text : "");
    fvalue_clear(&v);
    if (!s)
        snprintf(msg, msgsz, "out of memory");
    return s;
}

/* field_json - {"name","start","offset","length","value","hex","note"?}
 * for one occurrence at off; -1 out of memory */
static int field_json(const struct cob_codec *cc, const unsigned char *data,
                      const struct fw_notes *notes,
                      const struct cpy_field *f, size_t off,
                      const char *name, bool hide, json_t *arr)
{
    char msg[256] = "";
    json_t *o = json_object();
    char *val = NULL, *hex = NULL, *note = NULL;
    int rc = -1;
    if (!o)
        return -1;
    if (json_object_set_new(o, "name", json_string(name)) ||
        json_object_set_new(o, "start", json_integer((json_int_t)off + 1)) ||
        json_object_set_new(o, "offset", json_integer((json_int_t)off)) ||
        json_object_set_new(o, "length", json_integer((json_int_t)f->length)))
        goto out;
    if (hide) {
        if (json_object_set_new(o, "value", json_string(MASK_TEXT)) ||
            json_object_set_new(o, "hex", json_string(MASK_TEXT)) ||
            json_object_set_new(o, "personal", json_true()))
            goto out;
    } else {
        val = field_value(cc, f, data + off, msg, sizeof msg);
        if (!(hex = malloc(f->length * 2 + 1)))
            goto out;
        for (size_t i = 0; i < f->length; i++)
            snprintf(hex + 2 * i, 3, "%02X", data[off + i]);
        hex[f->length * 2] = '\0';
        if (json_object_set_new(o, "value", val ? json_string(val)
                                                : json_null()) ||
            json_object_set_new(o, "hex", json_string(hex)))
            goto out;
        if (!val && json_object_set_new(o, "error", json_string(msg)))
            goto out;
    }
    for (size_t i = 0; notes && i < notes->n; i++) {
        const char *nf = notes->v[i].field;
        size_t fl = strlen(f->name);
        if (strncmp(nf, f->name, fl) != 0 ||
            (nf[fl] != '\0' && nf[fl] != '('))
            continue;
        const char *w = notes->v[i].what;
        size_t have = note ? strlen(note) : 0;
        char *nn = realloc(note, have + strlen(w) + 3);
        if (!nn)
            goto out;
        note = nn;
        snprintf(note + have, strlen(w) + 3, "%s%s", have ? "; " : "", w);
    }
    if (note && json_object_set_new(o, "note", json_string(note)))
        goto out;
    if (json_array_append(arr, o))
        goto out;
    rc = 0;
out:
    json_decref(o);
    free(val);
    free(hex);
    free(note);
    return rc;
}

struct jctx {
    const struct cob_codec *cc;
    const unsigned char *data;
    const struct fw_notes *notes;
    const char *const *mask;
    size_t nmask;
    json_t *arr;
};

static int json_one(void *ctx, const struct cpy_field *f, size_t off,
                    const char *name)
{
    struct jctx *J = ctx;
    return field_json(J->cc, J->data, J->notes, f, off, name,
                      fw_field_masked(f, J->mask, J->nmask), J->arr);
}

/* fw_fields_json - see fixedwidth.h */
struct json_t *fw_fields_json(const struct cpy_record *rec,
                              const struct cob_codec *cc,
                              const unsigned char *data, size_t len,
                              const struct fw_notes *notes,
                              const char *const *mask, size_t nmask)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    struct jctx J = { cc, data, notes, mask, nmask, arr };
    if (fw_each_field(rec, cc, data, len, json_one, &J) != 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}
