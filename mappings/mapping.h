/* mapping.h - a service's mapping: what it accepts, and how each target
 * is filled from the typed record.
 *
 * Loaded from the service's mapping XML (validated against
 * config/mapping.xsd).  The accept part turns a JSON submission into a
 * struct record (map_apply), listing every problem by JSON path.  The
 * target part is a generic list of assignments that each adapter
 * interprets: "to" is a COBOL field name for fixed-width targets, a column
 * for ODBC, an element path for SOAP.
 *
 * Ownership: everything hangs off struct mapping; mapping_free frees it. */
#ifndef FERRY_MAPPINGS_MAPPING_H
#define FERRY_MAPPINGS_MAPPING_H
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mappings/record.h"

struct errs;
struct map_rx;

/* A key/value option, e.g. an attribute of a target element. */
struct kv {
    char *key;
    char *value;
    int line;
};

struct kvlist {
    struct kv *v;
    size_t n;
};

/* kv_get - value for key, or NULL */
const char *kv_get(const struct kvlist *l, const char *key);

/* ---- target part ------------------------------------------------------ */

/* One assignment: fill target slot "to" from a record field, a constant,
 * or a special source ("$file-date", "$sequence", "$count", "$sum:FIELD",
 * "$reference", "$received-at", ...: each adapter documents the ones it
 * knows). */
struct map_assign {
    char *to;         /* COBOL name / column / element path */
    char *from;       /* record field name or "$special"; NULL if value */
    char *value;      /* constant; NULL if from */
    char *format;     /* date format: CCYYMMDD, YYMMDD, CYYDDD, JULIAN,
                         or strftime-like for text targets; NULL = default */
    bool local_time;  /* datetime shown in Europe/London (or tz) */
    bool truncate;    /* text only: allow truncation (reported) */
    bool fold;        /* fold accents to plain letters before encoding */
    struct kvlist opts; /* any other attributes (adapter-specific) */
    int line;
};

/* A code table, e.g. an ack reason code -> words. */
struct map_code {
    char *value;      /* what arrives (JSON value or back-end code) */
    char *code;       /* what it becomes (legacy code or text) */
};

struct map_codetable {
    char *name;
    struct map_code *c;
    size_t n;
};

/* A section of a target: the main one (name "record"), or "header",
 * "trailer", "ack", "ack-trailer", ... with its own options (e.g. the 01
 * record it uses) and assignments. */
struct map_section {
    char *name;
    struct kvlist opts;
    struct map_assign *a;
    size_t na;
    int line;
};

struct map_target {
    char *name;               /* matches a <target name> in ferry.xml */
    struct kvlist opts;       /* attributes of the mapping's <target> */
    struct map_section *sec;  /* sec[0] is always the main "record" */
    size_t nsec;
    struct map_codetable *codes;
    size_t ncodes;
    int line;
    const struct mapping *owner;  /* the mapping this target is part of */
};

/* ---- accept part: see the rest of this header ------------------------- */
/*
 * The accept part turns a JSON submission (or a CSV row by field name)
 * into a struct record.  For each <field>, in document order:
 *
 *   1. the raw value: the JSON value at its path, or its <concat> parts;
 *   2. its transforms, in document order (trim, upper, default, ...);
 *   3. absent (missing, null or "") -> "required field missing" when
 *      required, else the field is present=false and nothing else runs;
 *   4. text checks on the transformed text: pattern, min/max length
 *      (in characters), then each <check> (pattern, one-of, not-one-of);
 *   5. the type reads the text (decimal exactly, dates, enum code table);
 *   6. range checks (min/max) on the typed value.
 *
 * Every problem is listed, each with the JSON path (or field name for
 * named input) as "where", the technical reason as msg and, when the
 * mapping gives one, a plain message for the citizen as plain (the
 * check's message=, else the field's message= or required-message=).
 * docs/mapping-reference.md is the full guide.
 */
#include <jansson.h>

/* -- the small JSON path subset (jsonpath.c) --------------------------- */

enum jpath_kind {
    JP_KEY = 0,      /* .name or "quoted name" */
    JP_INDEX,        /* [2] */
    JP_SELECT,       /* [key=value]: first array element whose member key
                        equals value (as string or number) */
};

struct jpath_step {
    enum jpath_kind kind;
    char *key;       /* KEY, SELECT */
    char *value;     /* SELECT */
    size_t index;    /* INDEX */
    /* read once by jpath_parse for the fast tree's walk (jtree.h) */
    size_t klen;     /* strlen(key) */
    size_t vlen;     /* strlen(value) */
    bool vint;       /* value is an integer's own text ("4", not "04") */
    int64_t vnum;    /* that integer */
};

struct jpath {
    char *text;      /* as written */
    struct jpath_step *s;
    size_t n;
};

/* jpath_parse - compile "a.b", "a[2].b", "answers[question_id=4].x",
 * "\"odd.key\".x", "a[name=\"x y\"]".  Returns NULL with a reason in err
 * when the syntax is wrong (or out of memory).  Caller frees. */
struct jpath *jpath_parse(const char *text, char *err, size_t errsz);
void jpath_free(struct jpath *p);
/* jpath_get - the value at p under root, or NULL when absent; borrowed */
const json_t *jpath_get(const struct jpath *p, const json_t *root);
/* jpath_set - put val (reference stolen, also on failure) at p under
 * root, making objects for missing keys; array steps must match an
 * element.  0 ok, -1 with a reason in why. */
int jpath_set(const struct jpath *p, json_t *root, json_t *val, char *why,
              size_t whysz);
/* jpath_scalar_text - text of a JSON scalar: string as is, integer in
 * decimal, real in its shortest exact form, true/false.  NULL for null,
 * objects and arrays.  *why explains a refusal (a real with more than 15
 * significant digits cannot be known exactly).  Caller frees. */
char *jpath_scalar_text(const json_t *v, const char **why);

/* The same two over a flat tree of the fast intake path (jtree.h), with
 * the same results as over jansson's tree of the same document. */
struct jt_doc;
struct jt_node;
const struct jt_node *jpath_get_jt(const struct jpath *p,
                                   const struct jt_doc *d,
                                   const struct jt_node *root);
char *jpath_scalar_text_jt(const struct jt_node *v, const char **why);
/* jpath_get_jt_memo - jpath_get_jt, remembering what it found in memo
 * (jtree.h; NULL: no memo) for the next paths into the same document */
struct jt_memo;
const struct jt_node *jpath_get_jt_memo(const struct jpath *p,
                                        const struct jt_doc *d,
                                        const struct jt_node *root,
                                        struct jt_memo *memo);

/* A set of paths into one document walked together (jsonpath.c): their
 * shared prefixes looked up once, the selectors on one array by one
 * member judged in one pass over it.  What the accept part does for its
 * top-level fields (struct mapping's paths). */
#define JPATH_SET_MAX 256      /* nodes (distinct prefixes) */
struct jpath_set;
struct jpath_set *jpath_set_new(void);
void jpath_set_free(struct jpath_set *s);
/* jpath_set_add - p's steps merged in (p is borrowed: it must outlive
 * the set); the node where p ends, or -1 (no steps, more than
 * JPATH_SET_MAX nodes, out of memory: look p up on its own) */
int jpath_set_add(struct jpath_set *s, const struct jpath *p);
size_t jpath_set_size(const struct jpath_set *s);
/* jpath_set_get_jt - res[i] (jpath_set_size entries) for every node i:
 * what jpath_get_jt of a path ending at node i gives under root */
void jpath_set_get_jt(const struct jpath_set *s, const struct jt_doc *d,
                      const struct jt_node *root, const struct jt_node **res);

/* -- safe JSON front door (map_parse.c) -------------------------------- */

struct map_limits {
    size_t max_body;     /* bytes; 0 = 1 MiB */
    int max_depth;       /* nesting; 0 = 32 */
    size_t max_fields;   /* members + elements in total; 0 = 10000 */
};

#define MAP_DEFAULT_MAX_BODY   ((size_t)1 << 20)
#define MAP_DEFAULT_MAX_DEPTH  32
#define MAP_DEFAULT_MAX_FIELDS ((size_t)10000)

/* map_limits_effective - in's limits with the defaults filled in (what
 * the front door applies; in may be NULL) */
void map_limits_effective(const struct map_limits *in, struct map_limits *out);
/* map_parse_json - refuse NUL bytes, invalid UTF-8 (by byte offset), a
 * body over max_body, nesting over max_depth, too many members, malformed
 * JSON (line and column), duplicate keys.  lim may be NULL (defaults).
 * 0 and *out (caller json_decref's) or -1 with problems in e. */
int map_parse_json(const char *text, size_t len, const struct map_limits *lim,
                   json_t **out, struct errs *e);
/* map_parse_submissions - the same checks, but a JSON array of objects
 * (several submissions, its limits counted over the whole) is accepted
 * too: *out is then the array.  line 0: a whole document; line > 0: one
 * NDJSON line, its problems naming that line.  A leading UTF-8
 * byte-order mark (of a document or of line 1) is skipped. */
int map_parse_submissions(const char *text, size_t len,
                          const struct map_limits *lim, long line,
                          json_t **out, struct errs *e);

/* NDJSON: one document per line; blank lines skipped.  Problems name the
 * line: where is "line N" or "line N, column C". */
struct map_ndjson {
    const char *text;
    size_t len, pos;
    long line;           /* line of the document last returned */
};
void map_ndjson_init(struct map_ndjson *it, const char *text, size_t len);
/* map_ndjson_next - 1: a line was read; *doc is the document, or NULL
 * when it was refused (problems added to e).  0: no more lines. */
int map_ndjson_next(struct map_ndjson *it, const struct map_limits *lim,
                    json_t **doc, struct errs *e);

/* -- the accept part's definitions ------------------------------------- */

enum map_op {
    MOP_TRIM = 0, MOP_UPPER, MOP_LOWER, MOP_STRIP_SPACES, MOP_DEFAULT,
    MOP_SUBSTRING, MOP_DATE, MOP_FOLD,
    MOP_RESCALE,         /* decimal text times 10^by, exact (map_text.c) */
    MOP_REPLACE,         /* POSIX ERE replace with groups \0..\9 */
    MOP_COLLAPSE_SPACES, /* trim, and every inner run of white space -> " " */
    MOP_CONTROL_TO_SPACE,/* C0/C1 controls, DEL, U+2028/9 -> " " */
    MOP_POSTCODE,        /* UK postcode: upper case, one space before the
                            inward code ("s14gf" -> "S1 4GF") */
};

/* How rescale treats digits beyond the field's scale. */
enum map_round {
    MROUND_NONE = 0,     /* refuse: never round unless the mapping says */
    MROUND_HALF_UP,      /* 0.5 away from zero */
    MROUND_HALF_EVEN,    /* banker's rounding */
    MROUND_DOWN,         /* toward zero (truncate) */
};

struct map_transform {
    enum map_op op;
    char *value;         /* default: the value used when absent/empty */
    long start, length;  /* substring, in characters; length -1 = rest */
    char *from, *to;     /* date: input and output formats */
    char *pattern;       /* replace: POSIX ERE as written */
    regex_t re;          /* replace: compiled when has_re */
    bool has_re;
    char *with;          /* replace: replacement, \N = group N */
    int by;              /* rescale: power of ten (-18..18) */
    int scale_to;        /* rescale: decimal places the field keeps (0 for
                            an integer field), set from the field */
    enum map_round round;/* rescale */
    int line;
};

/* One extra check on a field's transformed text, with its own plain
 * message.  start/length look at part of the text (characters), e.g. the
 * two-letter prefix of a National Insurance number. */
enum map_check_kind {
    MCHK_PATTERN = 0,    /* the text matches a POSIX ERE */
    MCHK_ONE_OF,         /* the text is one of values */
    MCHK_NOT_ONE_OF,     /* the text is none of values */
};

struct map_check {
    enum map_check_kind kind;
    char *pattern;
    regex_t re;
    bool has_re;
    struct map_rx *rx;   /* pattern without regexec (map_rx.h), or NULL */
    char **values;       /* one-of / not-one-of, as listed */
    size_t nvalues;
    long start, length;  /* characters looked at; length -1 = the rest */
    char *message;       /* plain message, or NULL (the field's message) */
    int line;
};

struct map_part {        /* one piece of a <concat> */
    char *path;          /* JSON path (named input: a field name) or NULL */
    struct jpath *jp;
    char *value;         /* literal text, or NULL */
};

struct map_field {
    char *name;
    char *path;          /* NULL for a concat-only field */
    struct jpath *jp;
    enum ftype type;     /* FT_LIST for type="list" */
    bool required;
    bool personal;
    char *pattern;       /* POSIX ERE, or NULL */
    regex_t re;          /* compiled when pattern != NULL */
    bool has_re;
    struct map_rx *rx;   /* pattern without regexec (map_rx.h), or NULL */
    long min_len, max_len;   /* characters; -1 = no check */
    char *min, *max;         /* as written; NULL = no check */
    int64_t min_v, max_v;    /* typed (integer, decimal scaled, date
                                days, datetime ms) */
    int scale;               /* decimal places (decimal) */
    bool thousands;          /* decimal: allow "1,234.56" */
    char *format;            /* date input format, default YYYY-MM-DD */
    char **true_words, **false_words;  /* boolean; NULL = defaults */
    size_t ntrue, nfalse;
    struct map_code *codes;  /* enum: JSON value -> legacy code */
    size_t ncodes;
    struct map_transform *tr;
    size_t ntr;
    struct map_check *checks;/* <check> elements, in document order */
    size_t nchecks;
    char *message;           /* plain message for any refusal of this
                                field (GOV.UK style), or NULL */
    char *required_message;  /* plain message when it is missing, or NULL
                                (then message) */
    struct map_part *parts;  /* concat */
    size_t nparts;
    struct map_field *sub;   /* list: fields of each element */
    size_t nsub;
    char **search;           /* search indexes this field is part of
                                (searchable=); top-level fields only */
    size_t nsearch;
    int pnode;               /* top-level: jp's node in the mapping's
                                paths, or -1 (looked up on its own) */
    size_t item_bytes;       /* list: an item record's block (names and
                                texts), set by map_accept_prepare; 0:
                                worked out when needed */
    int line;
};

/* A search index (searchable="NAME ..." on its fields): the fields that
 * together identify a person, e.g. "nino", or "surname-dob" made of
 * surname and dob.  Fields in document order. */
struct map_search_index {
    char *name;
    size_t *fields;          /* indexes into mapping->fields */
    size_t nfields;
};

struct mapping {
    char *file;              /* the file it was loaded from */
    char *service;
    char *idempotency_field; /* record field holding the front-end's own
                                reference, or NULL */
    struct map_limits limits;
    struct map_field *fields;
    size_t nfields;
    struct map_target *targets;
    size_t ntargets;
    struct map_search_index *search;
    size_t nsearch;
    /* the top-level fields' paths walked together (each field's pnode);
     * NULL: each looked up on its own */
    struct jpath_set *paths;
    size_t rec_bytes;        /* a record's block, as item_bytes */
    /* folders its copybooks must lie under (resolved, no symlinks),
     * borrowed from the configuration that loaded it; none = no rule */
    const char *const *cb_roots;
    size_t ncb_roots;
};

/* mapping_load - parse (no DOCTYPE, no entities, no network), validate
 * against the embedded config/mapping.xsd, and build.  Every problem is
 * added to e as "file:line".  0 and *out, or -1 (*out NULL). */
int mapping_load(const char *path, struct mapping **out, struct errs *e);
/* mapping_load_memory - the same from a buffer; name is used in "where" */
int mapping_load_memory(const char *xml, size_t len, const char *name,
                        struct mapping **out, struct errs *e);
void mapping_free(struct mapping *m);
/* mapping_copybook_path - a copybook attribute of mt (ref) resolved
 * against its mapping file's folder, symlinks followed.  A new string, or
 * NULL with why filled: *outside true when it lies under none of the
 * mapping's cb_roots (nothing of the file has been read), false when it
 * cannot be resolved (why is the system's reason; no such file, ...). */
char *mapping_copybook_path(const struct map_target *mt, const char *ref,
                            bool *outside, char *why, size_t whysz);
const struct map_target *mapping_target(const struct mapping *m,
                                        const char *name);
const struct map_field *mapping_field(const struct mapping *m,
                                      const char *name);

/* -- applying it (map_accept.c) ---------------------------------------- */

/* map_accept_prepare - what map_apply can work out once, at load: the
 * top-level paths merged (paths, each field's pnode) and the size of
 * each record's block.  0, or -1 out of memory.  A mapping made without
 * it is applied the same way, only slower. */
int map_accept_prepare(struct mapping *m);
/* map_apply - doc -> record.  0 and *out (caller record_free's), or -1
 * with every problem in e and no record. */
int map_apply(const struct mapping *m, const json_t *doc, struct record **out,
              struct errs *e);
/* map_apply_jt - the same over the fast path's tree d (jtree.h): the
 * same record, or the same problems, as map_apply of jansson's tree of
 * the same document */
int map_apply_jt(const struct mapping *m, const struct jt_doc *d,
                 struct record **out, struct errs *e);
/* map_apply_named - values by field name (CSV import); names not in the
 * mapping and missing required names are problems. */
int map_apply_named(const struct mapping *m, const char *const *names,
                    const char *const *values, size_t n, struct record **out,
                    struct errs *e);

/* -- search keys (map_search.c) ----------------------------------------- */
/*
 * What `ferry find` looks records up by.  At intake, each search index
 * whose fields are all present in the record gives one value: the fields'
 * canonical texts (as map_apply made them, so the mapping's own trim,
 * upper and strip-spaces apply), each folded by map_search_canon and
 * joined with U+001F.  A query runs the staff member's text through the
 * same field's transforms and type first, so "ab 12 34 56 c" finds
 * AB123456C and "12/03/1980" a date of birth given as DD/MM/YYYY.  The
 * spool stores only keyed hashes of these values (spool_search.c).
 */

/* map_search_canon - trim, collapse white space to one space, upper case.
 * Caller frees; NULL on nomem. */
char *map_search_canon(const char *text);
/* map_search_values - every index's value for r, as a flat array of
 * pairs {index name, value, index name, value, ...} (*n pairs; names are
 * borrowed from m, values owned: free with map_search_values_free).
 * 0 ok, -1 nomem. */
int map_search_values(const struct mapping *m, const struct record *r,
                      char ***pairs, size_t *n);
void map_search_values_free(char **pairs, size_t n);
/* map_search_values_json - map_search_values of a stored record (its
 * canonical JSON, record_to_json), for a reindex; ctx is the mapping, so
 * it fits spool_search_reindex's callback.  0 ok, -1 unreadable/nomem. */
int map_search_values_json(void *mapping, const char *record_json,
                           char ***pairs, size_t *n);
/* map_search_index_for - the index whose fields are exactly names[0..n)
 * (any order), or NULL */
const struct map_search_index *map_search_index_for(
    const struct mapping *m, const char *const *names, size_t n);
/* map_search_query - the value to look up in index ix for the texts
 * given by field name (names/texts, n of them, covering ix's fields).
 * Each text goes through its field's transforms and type as at intake.
 * 0 and *out (caller frees), -1 with the problem in e (where = field). */
int map_search_query(const struct mapping *m,
                     const struct map_search_index *ix,
                     const char *const *names, const char *const *texts,
                     size_t n, char **out, struct errs *e);

/* map_apply_payload - a stored payload through the mapping: a JSON
 * document by paths, or (named) a row of columns by field name (CSV
 * import keeps its rows as a JSON object of columns). */
int map_apply_payload(const struct mapping *m, const json_t *doc, bool named,
                      struct record **out, struct errs *e);
/* map_stored_record - the record a stored submission stands for: its
 * canonical record JSON when readable, else the payload mapped again
 * (named as for map_apply_payload), else an empty record.  The CLI gets
 * it as data and never re-reads strings.  NULL only on out of memory. */
struct record *map_stored_record(const struct mapping *m,
                                 const char *record_json, const void *payload,
                                 size_t payload_len, bool named);

/* -- types and transforms (map_types.c, map_transform.c) --------------- */

/* map_type_read - read text (already transformed) as f's type into v.
 * 0 ok; -1 with a reason in why (static or in reason buffer). */
int map_type_read(const struct map_field *f, const char *text,
                  struct fvalue *v, char *why, size_t whysz);
/* map_type_read_in - the same with v's text kept in home's blocks
 * (record.h's *_in setters; home NULL: the heap) */
int map_type_read_in(const struct map_field *f, const char *text,
                     struct record *home, struct fvalue *v, char *why,
                     size_t whysz);
/* map_date_read - text in format (tokens YYYY, MM, DD; other characters
 * literal) -> days.  0 ok, -1 bad. */
int map_date_read(const char *text, const char *format, int64_t *days);
/* map_date_write - days -> text in format; out holds at least 32 bytes */
int map_date_write(int64_t days, const char *format, char *out, size_t outsz);
/* map_transform_apply - run one transform; *text may be NULL (absent) on
 * entry and exit.  0 ok, -1 with why filled (e.g. a date that does not
 * match the from format). */
int map_transform_apply(const struct map_transform *t, char **text,
                        char *why, size_t whysz);
/* map_transform_in_place - map_transform_apply of t to s (not NULL) only
 * rewrites s's bytes where they are, never longer: s need not be on the
 * heap.  false: it may swap or grow the text (give it a heap copy). */
bool map_transform_in_place(const struct map_transform *t, const char *s);
/* map_text_apply - the transforms of map_text.c (rescale, replace,
 * collapse-spaces, control-to-space, postcode); *text is not NULL.
 * 0 ok, -1 with why filled. */
int map_text_apply(const struct map_transform *t, char **text, char *why,
                   size_t whysz);
/* map_text_in_place - map_transform_in_place for map_text.c's transforms */
bool map_text_in_place(const struct map_transform *t, const char *s);
/* map_substring - characters [start, start+length) of UTF-8 s (length -1:
 * the rest).  Caller frees; NULL on nomem. */
char *map_substring(const char *s, long start, long length);
/* map_check_fails - the text fails check k: 0 passes, 1 fails with the
 * technical reason in why (never quoting the text: it may be personal) */
int map_check_fails(const struct map_check *k, const char *text, char *why,
                    size_t whysz);
/* map_fold_ascii - accented Latin letters to plain ASCII (é->e, ŵ->w,
 * ß->ss, Æ->AE); other characters are kept.  0 and *out (caller frees),
 * -1 when in is not valid UTF-8 or out of memory. */
int map_fold_ascii(const char *in, char **out);
/* map_case - upper (1) or lower (0) case of ASCII, Latin-1 and Latin
 * Extended-A letters and Welsh ẁẃẅỳ.  Caller frees; NULL on nomem. */
char *map_case(const char *in, int upper);

#endif
