/* bench_encode.c - map and encode a GOV.UK Forms-style submission (about
 * 1 KB of JSON) into a 150-byte COBOL record with COMP-3, zoned and
 * IBM-285 text, on one core.  Prints "name value unit" lines.
 *
 * The JSON -> record step is done here with jansson and the record API
 * (as the mapping engine will do it); the record -> bytes step is
 * ferry's fixed-width encoder.  bench/run.d/encode.sh runs the Python
 * baseline (bench/encode_baseline.py) on the same job and prints the
 * ratio. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mappings/cobol.h"
#include "mappings/copybook.h"
#include "mappings/fixedwidth.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/errs.h"
#include "util/fsutil.h"

static const char COPYBOOK[] =
    "       01  APPLICATION-REC.\n"
    "           05  APP-REC-TYPE       PIC X VALUE 'A'.\n"
    "           05  APP-REFERENCE      PIC X(12).\n"
    "           05  APP-SUBMITTED      PIC 9(8).\n"
    "           05  APP-SURNAME        PIC X(30).\n"
    "           05  APP-FORENAME       PIC X(20).\n"
    "           05  APP-POSTCODE       PIC X(8).\n"
    "           05  APP-DOB            PIC 9(8).\n"
    "           05  APP-INCOME         PIC S9(9)V99 COMP-3.\n"
    "           05  APP-CLAIM-AMT      PIC S9(7)V99 COMP-3.\n"
    "           05  APP-DEPENDANTS     PIC 9(2).\n"
    "           05  APP-HOURS          PIC S9(3)V9.\n"
    "           05  APP-COUNCIL        PIC X(9).\n"
    "           05  APP-EMAIL          PIC X(35).\n"
    "           05  FILLER             PIC X(2) VALUE SPACES.\n";

static const char *const ASSIGN[][2] = {
    { "APP-REFERENCE", "reference" }, { "APP-SUBMITTED", "submitted" },
    { "APP-SURNAME", "surname" }, { "APP-FORENAME", "forename" },
    { "APP-POSTCODE", "postcode" }, { "APP-DOB", "dob" },
    { "APP-INCOME", "income" }, { "APP-CLAIM-AMT", "claim" },
    { "APP-DEPENDANTS", "dependants" }, { "APP-HOURS", "hours" },
    { "APP-COUNCIL", "council" }, { "APP-EMAIL", "email" },
};

/* map_submission - JSON text to the typed record; NULL if invalid */
static struct record *map_submission(const char *json)
{
    json_t *root = json_loads(json, 0, NULL);
    if (!root)
        return NULL;
    struct record *r = record_new();
    int64_t ms, days, x;
    const char *s;
    s = json_string_value(json_object_get(root, "submission_reference"));
    fvalue_set_text(&record_add(r, "reference")->v, FT_STRING, s ? s : "");
    s = json_string_value(json_object_get(root, "submitted_at"));
    if (!s || datetime_parse(s, &ms) < 0)
        goto bad;
    fvalue_set_datetime(&record_add(r, "submitted")->v, ms);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(root, "answers"), i, a) {
        json_int_t q = json_integer_value(json_object_get(a, "question_id"));
        s = json_string_value(json_object_get(a, "answer_text"));
        if (!s)
            goto bad;
        struct fvalue *v;
        switch (q) {
        case 1: v = &record_add(r, "surname")->v;
            fvalue_set_text(v, FT_STRING, s); break;
        case 2: v = &record_add(r, "forename")->v;
            fvalue_set_text(v, FT_STRING, s); break;
        case 3: if (date_parse(s, &days) < 0) goto bad;
            fvalue_set_date(&record_add(r, "dob")->v, days); break;
        case 4: fvalue_set_text(&record_add(r, "postcode")->v, FT_STRING, s);
            break;
        case 5: if (dec_parse(s, 2, &x) < 0) goto bad;
            fvalue_set_decimal(&record_add(r, "income")->v, x, 2); break;
        case 6: if (dec_parse(s, 2, &x) < 0) goto bad;
            fvalue_set_decimal(&record_add(r, "claim")->v, x, 2); break;
        case 7: if (dec_parse(s, 0, &x) < 0) goto bad;
            fvalue_set_int(&record_add(r, "dependants")->v, x); break;
        case 8: if (dec_parse(s, 1, &x) < 0) goto bad;
            fvalue_set_decimal(&record_add(r, "hours")->v, x, 1); break;
        case 9: fvalue_set_text(&record_add(r, "council")->v, FT_STRING, s);
            break;
        case 10: fvalue_set_text(&record_add(r, "email")->v, FT_STRING, s);
            break;
        default: break;
        }
    }
    json_decref(root);
    return r;
bad:
    json_decref(root);
    record_free(r);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "bench/data/submission.json";
    double secs = argc > 2 ? strtod(argv[2], NULL) : 2.0;
    struct errs e;
    errs_init(&e);
    char *json = NULL;
    size_t jlen = 0;
    if (fs_read_file(path, 0, &json, &jlen, &e) < 0) {
        fprintf(stderr, "bench_encode: %s: %s\n", path, errs_first_msg(&e));
        return 1;
    }
    struct copybook *cb = cpy_parse(COPYBOOK, strlen(COPYBOOK), "bench.cpy",
                                    CPY_FMT_AUTO, &e);
    struct map_section sec;
    memset(&sec, 0, sizeof sec);
    struct map_assign as[sizeof ASSIGN / sizeof ASSIGN[0]];
    memset(as, 0, sizeof as);
    for (size_t i = 0; i < sizeof ASSIGN / sizeof ASSIGN[0]; i++) {
        as[i].to = (char *)ASSIGN[i][0];
        as[i].from = (char *)ASSIGN[i][1];
        as[i].fold = true;
    }
    sec.a = as;
    sec.na = sizeof ASSIGN / sizeof ASSIGN[0];
    struct fw_plan *plan = cb ? fw_plan_new(&cb->rec[0], &sec, &e) : NULL;
    struct cob_codec *cc = cob_codec_new(COB_CP_IBM285, COB_OP_IBM, NULL, 0);
    if (!plan || !cc) {
        fprintf(stderr, "bench_encode: setup: %s\n", errs_first_msg(&e));
        return 1;
    }
    unsigned char out[256];
    unsigned long n = 0, bytes = 0;
    double t0 = now(), t;
    do {
        for (int k = 0; k < 1000; k++) {
            struct record *r = map_submission(json);
            if (!r || fw_encode(plan, cc, r, NULL, out, sizeof out, NULL,
                                NULL, &e) < 0) {
                fprintf(stderr, "bench_encode: %s\n", errs_first_msg(&e));
                return 1;
            }
            record_free(r);
            n++;
        }
        t = now() - t0;
    } while (t < secs);
    bytes = cb->rec[0].length;
    /* the encoder alone, on one mapped record */
    struct record *r = map_submission(json);
    unsigned long m = 0;
    double u0 = now(), u;
    do {
        for (int k = 0; k < 10000; k++, m++)
            fw_encode(plan, cc, r, NULL, out, sizeof out, NULL, NULL, &e);
        u = now() - u0;
    } while (u < secs / 2);
    record_free(r);
    printf("# json %zu bytes -> record %lu bytes (IBM-285, COMP-3, zoned); "
           "JSON -> record done in this bench with jansson + the record API\n",
           jlen, bytes);
    printf("encode_ferry_rate %.0f records/s\n", (double)n / t);
    printf("encode_ferry_encoder_only_rate %.0f records/s\n", (double)m / u);
    fw_plan_free(plan);
    cob_codec_free(cc);
    cpy_free(cb);
    free(json);
    errs_free(&e);
    return 0;
}
