// fuzz-sources: mappings/*.c util/*.c gen:schemas
// fuzz-corpus: tests/fuzz/seeds/http_body
/* fuzz_http_body.c - libFuzzer target for an HTTP submission's body as
 * the intake reads it (intake/http_submit.c): the first byte picks the
 * Content-Type's path, one document (map_parse_json) or NDJSON
 * (map_ndjson_next, the body splitter), or the CLI's reading of a file
 * (map_parse_submissions: a document or an array of them); each document
 * then goes through a small mapping with an idempotency field.  Every
 * refusal must name at least one problem, and the splitter must move
 * forward on every call and never run past the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/errs.h"

static const char mapping_xml[] =
    "<mapping xmlns=\"urn:ferry:mapping:1\" service=\"fuzz\">"
    "<accept idempotency-field=\"ref\" max-depth=\"8\" max-fields=\"200\" max-body=\"16384\">"
    "<field name=\"ref\" path=\"submission_reference\" required=\"true\" pattern=\"^[A-Z0-9]{8,12}$\"/>"
    "<field name=\"at\" path=\"submitted_at\" type=\"datetime\"/>"
    "<field name=\"amount\" path=\"answers[question_id=6].answer_text\" type=\"decimal\" scale=\"2\"/>"
    "<field name=\"name\" path=\"answers[question_id=1].first_name\" personal=\"true\" max-length=\"15\">"
    "<transform op=\"trim\"/><transform op=\"upper\"/></field>"
    "</accept></mapping>";

static struct mapping *m;

static void apply(const json_t *doc)
{
    struct errs e;
    errs_init(&e);
    struct record *rec = NULL;
    if (map_apply(m, doc, &rec, &e) == 0) {
        char *j = record_to_json(rec);
        if (!j)
            abort();
        free(j);
        record_free(rec);
    } else if (e.n == 0) {
        abort();
    }
    errs_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!m) {
        struct errs e;
        errs_init(&e);
        if (mapping_load_memory(mapping_xml, sizeof mapping_xml - 1,
                                "fuzz.xml", &m, &e) < 0)
            abort();
        errs_free(&e);
    }
    if (size < 1)
        return 0;
    int mode = data[0] % 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct errs e;
    errs_init(&e);
    json_t *doc = NULL;
    if (mode == 0) {
        if (map_parse_json(text, len, &m->limits, &doc, &e) == 0)
            apply(doc);
        else if (e.n == 0)
            abort();
    } else if (mode == 1) {
        struct map_ndjson it;
        map_ndjson_init(&it, text, len);
        for (int guard = 0; guard < 100000; guard++) {
            size_t before = it.pos;
            errs_clear(&e);
            int more = map_ndjson_next(&it, &m->limits, &doc, &e);
            if (more <= 0)
                break;
            if (it.pos <= before || it.pos > len)
                abort();
            if (doc)
                apply(doc);
            else if (e.n == 0)
                abort();
            json_decref(doc);
            doc = NULL;
        }
    } else {
        if (map_parse_submissions(text, len, &m->limits, 0, &doc, &e) == 0) {
            if (json_is_array(doc)) {
                size_t i;
                json_t *el;
                json_array_foreach(doc, i, el) apply(el);
            } else {
                apply(doc);
            }
        } else if (e.n == 0) {
            abort();
        }
    }
    json_decref(doc);
    errs_free(&e);
    return 0;
}
