/* map_parse.c - the safe front door for every JSON body.
 *
 * The body's size is checked first.  jansson then parses it with
 * duplicate keys refused; it validates UTF-8, refuses NUL bytes and stops
 * at 2048 levels of nesting by itself, so a valid body is read only once.
 * One walk of the parsed tree then bounds the nesting depth and the count
 * of members and elements.  A refused (or too deep) body is scanned once
 * more, without recursion, so the problem is ours and exact: the byte
 * offset of a NUL or of invalid UTF-8, the line and column where the
 * depth limit is passed; otherwise jansson's own line and column name
 * the syntax error.  The top level must be an
 * object.  NDJSON is the same per line, with the file's line numbers. */
#include <stdio.h>
#include <string.h>

#include "mappings/mapping.h"
#include "util/errs.h"
#include "util/utf8.h"

static void limits_fill(const struct map_limits *in, struct map_limits *out)
{
    out->max_body = in && in->max_body ? in->max_body : MAP_DEFAULT_MAX_BODY;
    out->max_depth = in && in->max_depth > 0 ? in->max_depth
                                             : MAP_DEFAULT_MAX_DEPTH;
    out->max_fields = in && in->max_fields ? in->max_fields
                                           : MAP_DEFAULT_MAX_FIELDS;
}

void map_limits_effective(const struct map_limits *in, struct map_limits *out)
{
    limits_fill(in, out);
}

/* where_at - "line L, column C" or "line L, byte B" */
static void where_at(char *w, size_t wsz, long line, long col, bool bytes)
{
    snprintf(w, wsz, "line %ld, %s %ld", line, bytes ? "byte" : "column", col);
}

/* What one pass over a refused body found. */
struct scan {
    long nul;            /* offset of the first NUL byte, or -1 */
    long bad;            /* offset of the first invalid UTF-8 byte, or -1 */
    long deep_line, deep_col;  /* where nesting first passed max; line 0 =
                                  never */
};

/* scan_body - NUL bytes, UTF-8 and nesting depth in one bounded pass with
 * no recursion.  Columns count bytes from 1; line numbers start at
 * line0. */
static void scan_body(const char *text, size_t len, int max, long line0,
                      struct scan *o)
{
    const unsigned char *s = (const unsigned char *)text;
    int depth = 0;
    bool in_str = false, esc = false;
    long line = line0, last_nl = -1;
    size_t i = 0;
    o->nul = o->bad = -1;
    o->deep_line = o->deep_col = 0;
    while (i < len) {
        unsigned c = s[i];
        if (in_str && !esc) {
            /* the bulk of a body: plain string bytes */
            while (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                if (++i == len)
                    return;
                c = s[i];
            }
        }
        if (c >= 0x80) {
            uint32_t cp;
            size_t k = utf8_next(text + i, len - i, &cp);
            if (!k) {
                o->bad = (long)i;
                if (o->nul < 0) {
                    const unsigned char *z = memchr(s + i, 0, len - i);
                    o->nul = z ? (long)(z - s) : -1;
                }
                return;
            }
            esc = false;
            i += k;
            continue;
        }
        if (c == '\n') {
            line++;
            last_nl = (long)i++;
            continue;
        }
        if (c == 0 && o->nul < 0)
            o->nul = (long)i;
        i++;
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
            if (++depth > max && !o->deep_line) {
                o->deep_line = line;
                o->deep_col = (long)(i - 1) - last_nl;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
}

/* scan_problems - why a body is refused, when the reason is one of ours
 * (NUL, UTF-8, depth): added to e with the byte offset or line and
 * column.  0 when the scan finds none of them. */
static int scan_problems(const char *text, size_t len, int max, long line0,
                         bool ndjson, struct errs *e)
{
    struct scan sc;
    char w[96];
    int bad = 0;
    scan_body(text, len, max, line0, &sc);
    if (sc.nul >= 0) {
        if (ndjson)
            where_at(w, sizeof w, line0, sc.nul, true);
        else
            snprintf(w, sizeof w, "byte %ld", sc.nul);
        errs_add(e, w, "NUL byte in JSON");
        bad = 1;
    }
    if (sc.bad >= 0) {
        if (ndjson)
            where_at(w, sizeof w, line0, sc.bad, true);
        else
            snprintf(w, sizeof w, "byte %ld", sc.bad);
        errs_add(e, w, "invalid UTF-8");
        bad = 1;
    }
    if (!bad && sc.deep_line) {
        where_at(w, sizeof w, sc.deep_line, sc.deep_col, false);
        errs_add(e, w, "nested deeper than %d levels", max);
        bad = 1;
    }
    return bad;
}

/* measure - members and elements under v, and whether anything is nested
 * deeper than max (v itself at depth); stops descending past max, so the
 * recursion is bounded by the limit, not by the body */
static void measure(const json_t *v, int depth, int max, size_t *n,
                    bool *deep)
{
    if (!json_is_object(v) && !json_is_array(v))
        return;
    if (depth > max) {
        *deep = true;
        return;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m) {
            (*n)++;
            measure(m, depth + 1, max, n, deep);
        }
    } else {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) {
            (*n)++;
            measure(m, depth + 1, max, n, deep);
        }
    }
}

/* parse_at - the checks and the parse; line0 is the line number of the
 * first line of text (NDJSON); in a single body byte offsets are plain. */
static int parse_at(const char *text, size_t len, const struct map_limits *in,
                    long line0, bool ndjson, bool list, json_t **out,
                    struct errs *e)
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
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        if (scan_problems(text, len, lim.max_depth, line0, ndjson, e))
            return -1;
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
    size_t n = 0;
    bool deep = false;
    measure(doc, 1, lim.max_depth, &n, &deep);
    if (deep) {
        json_decref(doc);
        if (!scan_problems(text, len, lim.max_depth, line0, ndjson, e))
            errs_add(e, ndjson ? "line" : "body",
                     "nested deeper than %d levels", lim.max_depth);
        return -1;
    }
    bool objects = json_is_object(doc);
    if (list && json_is_array(doc)) {
        objects = true;
        for (size_t i = 0; objects && i < json_array_size(doc); i++)
            objects = json_is_object(json_array_get(doc, i));
    }
    if (!objects) {
        if (ndjson)
            snprintf(w, sizeof w, "line %ld", line0);
        errs_add(e, ndjson ? w : "body", list ? "expected a JSON object, or "
                 "an array of JSON objects"
                 : json_is_array(doc) ? "expected a JSON object, not an "
                   "array: send one submission per document, or several as "
                   "NDJSON (one object per line)"
                 : "expected a JSON object");
        json_decref(doc);
        return -1;
    }
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

/* skip_bom - past a UTF-8 byte-order mark at the start of the input */
static size_t skip_bom(const char *text, size_t len)
{
    return len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

int map_parse_json(const char *text, size_t len, const struct map_limits *lim,
                   json_t **out, struct errs *e)
{
    size_t b = skip_bom(text, len);
    return parse_at(text + b, len - b, lim, 1, false, false, out, e);
}

int map_parse_submissions(const char *text, size_t len,
                          const struct map_limits *lim, long line,
                          json_t **out, struct errs *e)
{
    size_t b = line <= 1 ? skip_bom(text, len) : 0;
    return parse_at(text + b, len - b, lim, line > 0 ? line : 1, line > 0,
                    true, out, e);
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
        if (line == 1) {                  /* a file's byte-order mark */
            size_t b = skip_bom(s, n);
            s += b;
            n -= b;
        }
        size_t m = n;
        if (m && s[m - 1] == '\r')
            m--;
        bool blank = true;
        for (size_t i = 0; i < m && blank; i++)
            blank = s[i] == ' ' || s[i] == '\t';
        if (blank)
            continue;
        it->line = line;
        parse_at(s, m, lim, line, true, false, doc, e);
        return 1;
    }
    it->line = line;
    return 0;
}
