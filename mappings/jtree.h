/* jtree.h - a parsed JSON document as a flat, read-only tree: the form
 * the fast intake path (jtree_simd.cc, simdjson) hands the mapping
 * engine instead of a jansson tree.
 *
 * Nodes live in one array; a container's children are contiguous
 * (first, n), so an element is found by index and a member by a scan of
 * a small object.  Strings and keys point into the parser's own buffer:
 * a tree is valid until its parser parses again or is freed.
 *
 * A tree is made only for a document jansson would take exactly as
 * ferry's front door takes it (map_parse.c): an object at the top, no
 * duplicate keys, no NUL and only valid UTF-8 in strings and keys,
 * integers within int64, within the mapping's depth and size limits.
 * Anything else is left to jansson, so every refusal reads as before.
 * Reading a tree gives what reading jansson's tree of the same document
 * gives (jsonpath.c, map_accept.c; check_jtree.c holds them equal). */
#ifndef FERRY_MAPPINGS_JTREE_H
#define FERRY_MAPPINGS_JTREE_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum jt_type { JT_NULL, JT_TRUE, JT_FALSE, JT_INT, JT_REAL, JT_STRING,
               JT_ARRAY, JT_OBJECT };

struct jt_node {
    const char *key;           /* member name (in an object), else NULL */
    uint32_t klen;
    uint8_t type;              /* enum jt_type */
    uint32_t n;                /* string bytes; children of a container */
    union {
        int64_t i;             /* JT_INT */
        double d;              /* JT_REAL */
        const char *s;         /* JT_STRING, NUL-free, not terminated */
        uint32_t first;        /* JT_ARRAY, JT_OBJECT: first child */
    } u;
};

struct jt_doc {
    struct jt_node *v;         /* v[0] is the root object */
    size_t n, cap;
};

struct jt_parser;

/* jt_parser_new / jt_parser_free - a reusable parser (simdjson's, with its
 * buffers kept between documents); NULL out of memory */
struct jt_parser *jt_parser_new(void);
void jt_parser_free(struct jt_parser *p);

/* jt_parse - text[0..len) into p's tree *out (borrowed from p).  0: the
 * tree; -1: not taken here (invalid, or anything jansson must judge):
 * parse it with map_parse.c instead.  max_body, max_depth and max_fields
 * are the mapping's effective limits (map_limits_effective); text is
 * past any byte-order mark the front door would skip. */
int jt_parse(struct jt_parser *p, const char *text, size_t len,
             size_t max_body, int max_depth, size_t max_fields,
             const struct jt_doc **out);

/* jt_member - member key of object o, or NULL */
const struct jt_node *jt_member(const struct jt_doc *d,
                                const struct jt_node *o, const char *key);
/* jt_member_n - the same with the key's length given */
const struct jt_node *jt_member_n(const struct jt_doc *d,
                                  const struct jt_node *o, const char *key,
                                  size_t klen);
/* jt_elem - element i of array a, or NULL */
const struct jt_node *jt_elem(const struct jt_doc *d,
                              const struct jt_node *a, size_t i);

/* A memo of one document's walks (jpath_get_jt_memo): the members a
 * selector looks at in one array, and the last few member look-ups, so
 * the fields of a mapping that all start "answers[question_id=N]" do not
 * each search the same objects again.  Zero it for each document. */
#define JT_MEMO_ELEMS 64
#define JT_MEMO_KEYS 4
struct jt_memo {
    const struct jt_node *arr;           /* the array indexed, or NULL */
    const char *akey;                    /* by this member */
    size_t aklen;
    const struct jt_node *m[JT_MEMO_ELEMS];  /* element i's member akey */
    struct {
        const struct jt_node *o;         /* object looked in, or NULL */
        const char *key;
        size_t klen;
        const struct jt_node *found;
    } k[JT_MEMO_KEYS];
    unsigned next;                       /* the k[] entry to reuse */
};

#ifdef __cplusplus
}
#endif
#endif
