/* map_parse.c - the safe front door for every JSON body.
 *
 * Before jansson sees a byte, the body is checked for size, NUL bytes,
 * UTF-8 and nesting depth (a bounded scan, so a hostile body cannot make
 * any parser recurse deeply).  jansson then parses with duplicate keys
 * refused; its line and column name a syntax error.  Finally the total
 * count of members and elements is bounded.  The top level must be an
 * object.  NDJSON is the same per line, with the file's line numbers. */
#include <stdio.h>
#include <string.h>

#include "mappings/mapping.h"
#include "util/errs.h"

static void limits_fill(const struct map_limits *in, struct map_limits *out)
{
    out->max_body = in && in->max_body ? in->max_body : MAP_DEFAULT_MAX_BODY;
    out->max_depth = in && in->max_depth > 0 ? in->max_depth
                                             : MAP_DEFAULT_MAX_DEPTH;
    out->max_fields = in && in->max_fields ? in->max_fields
                                           : MAP_DEFAULT_MAX_FIELDS;
}

/* where_at - "line L, column C" or "line L, byte B" */
static void where_at(char *w, size_t wsz, long line, long col, bool bytes)
{
    snprintf(w, wsz, "line %ld, %s %ld", line, bytes ? "byte" : "column", col);
}

/* depth_scan - deepest nesting outside strings; reports where the limit
 * is first passed.  -1 when too deep. */
static int depth_scan(const char *t, size_t len, int max, long line0,
                      struct errs *e)
{
    int depth = 0;
    bool in_str = false, esc = false;
    long line = line0, col = 0;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        col++;
        if (c == '\n') {
            line++;
            col = 0;
            continue;
        }
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                char w[64];
                where_at(w, sizeof w, line, col, false);
                errs_add(e, w, "nested deeper than %d levels", max);
                return -1;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 0;
}

/* count_members - members and elements in total (depth already bounded) */
static size_t count_members(const json_t *v)
{
    size_t n = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
            n += 1 + count_members(m);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
            n += 1 + count_members(m);
    }
    return n;
}

/* parse_at - the checks and the parse; line0 is the line number of the
 * first line of text (NDJSON); in a single body byte offsets are plain. */
static int parse_at(const char *text, size_t len, const struct map_limits *in,
                    long line0, bool ndjson, json_t **out, struct errs *e)
{
    struct map_limits lim;
    char w[96];
    *out = NULL;
    limits_fill(in, &lim);
    if (len > lim.max_body) {
        if (ndjson)
            snprintf(w, sizeof w, "line %ld", line0);
        errs_add(e, ndjson ? w : "body",
                 "larger than the limit of %zu bytes (%zu bytes)",
                 lim.max_body, len);
        return -1;
    }
    const char *nul = memchr(text, '\0', len);
    int bad = 0;
    if (nul) {
        long off = (long)(nul - text);
        if (ndjson)
            where_at(w, sizeof w, line0, off, true);
        else
            snprintf(w, sizeof w, "byte %ld", off);
        errs_add(e, w, "NUL byte in JSON");
        bad = 1;
    }
    long u = map_utf8_valid(text, len);
    if (u >= 0) {
        if (ndjson)
            where_at(w, sizeof w, line0, u, true);
        else
            snprintf(w, sizeof w, "byte %ld", u);
        errs_add(e, w, "invalid UTF-8");
        bad = 1;
    }
    if (bad)
        return -1;
    if (depth_scan(text, len, lim.max_depth, line0, e) < 0)
        return -1;
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        /* jansson ends many messages with " near '<input text>'": that
         * text may be a personal value, and line and column already say
         * where, so it is cut off */
        char *near = strstr(je.text, " near '");
        if (near)
            *near = '\0';
        where_at(w, sizeof w, je.line + line0 - 1, je.column, false);
        errs_add(e, w, "malformed JSON: %s", je.text);
        return -1;
    }
    if (!json_is_object(doc)) {
        if (ndjson)
            snprintf(w, sizeof w, "line %ld", line0);
        errs_add(e, ndjson ? w : "body", "expected a JSON object");
        json_decref(doc);
        return -1;
    }
    size_t n = count_members(doc);
    if (n > lim.max_fields) {
        if (ndjson)
            snprintf(w, sizeof w, "line %ld", line0);
        errs_add(e, ndjson ? w : "body",
                 "more than %zu members and elements (%zu)", lim.max_fields,
                 n);
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

int map_parse_json(const char *text, size_t len, const struct map_limits *lim,
                   json_t **out, struct errs *e)
{
    return parse_at(text, len, lim, 1, false, out, e);
}

void map_ndjson_init(struct map_ndjson *it, const char *text, size_t len)
{
    memset(it, 0, sizeof *it);
    it->text = text;
    it->len = len;
}

/* map_ndjson_next - next non-blank line; its problems name its line */
int map_ndjson_next(struct map_ndjson *it, const struct map_limits *lim,
                    json_t **doc, struct errs *e)
{
    *doc = NULL;
    long line = it->line;
    while (it->pos < it->len) {
        const char *s = it->text + it->pos;
        const char *nl = memchr(s, '\n', it->len - it->pos);
        size_t n = nl ? (size_t)(nl - s) : it->len - it->pos;
        it->pos += n + (nl ? 1 : 0);
        line++;
        size_t m = n;
        if (m && s[m - 1] == '\r')
            m--;
        bool blank = true;
        for (size_t i = 0; i < m && blank; i++)
            blank = s[i] == ' ' || s[i] == '\t';
        if (blank)
            continue;
        it->line = line;
        parse_at(s, m, lim, line, true, doc, e);
        return 1;
    }
    it->line = line;
    return 0;
}
