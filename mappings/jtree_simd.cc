// jtree_simd.cc - the fast JSON parse of the intake path: simdjson 3's DOM
// parser (libsimdjson-dev) into a struct jt_doc (jtree.h), behind a C API.
//
// Why: jansson took about 17 us for a 1 KB GOV.UK-style submission, half
// of `ferry submit`'s CPU; simdjson parses it in under half a microsecond
// and this walk, which holds the front door's rules, brings it to about
// 1.5 us (bench/run.d/json.sh).  The one C++ file in ferry; it owns the
// parser and the tree it fills, nothing else.
//
// Contract (jtree.h): a tree is made only when jansson, as map_parse.c
// calls it, would take the document and the front door would pass it:
// otherwise -1 and the caller parses with jansson, whose answer (and
// messages) stay the only ones.  No exception leaves this file.
#include "mappings/jtree.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

extern "C" {
#include "util/utf8.h"
}

struct jt_parser {
    simdjson::dom::parser dom;
    jt_doc doc{};
    std::vector<std::string_view> keys;    // duplicate check scratch
    int max_depth = 0;
    size_t max_fields = 0, count = 0;
};

namespace {

// jansson's own parser stops at this depth
constexpr int JANSSON_MAX_DEPTH = 2048;

// text_ok - no NUL and valid UTF-8 (a lone surrogate escape decodes to
// bytes utf8.c refuses, as jansson refuses the escape)
bool text_ok(std::string_view s)
{
    // eight bytes at a time: (v - 0x01..) | v has a top bit set exactly
    // when some byte is 0 or >= 0x80; only then look closer
    const char *b = s.data();
    size_t n = s.size(), i = 0;
    constexpr uint64_t ones = 0x0101010101010101ULL;
    constexpr uint64_t tops = 0x8080808080808080ULL;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        std::memcpy(&v, b + i, 8);
        if (((v - ones) | v) & tops)
            break;
    }
    bool ascii = true;
    for (; i < n; i++) {
        unsigned char c = static_cast<unsigned char>(b[i]);
        if (c == 0)
            return false;
        if (c >= 0x80)
            ascii = false;
    }
    return ascii || utf8_invalid_at(b, n) < 0;
}

// reserve - k more nodes at the end; their first index, or -1
long reserve(jt_parser *p, size_t k)
{
    jt_doc &d = p->doc;
    if (d.n + k > UINT32_MAX)
        return -1;
    if (d.n + k > d.cap) {
        size_t cap = d.cap ? d.cap : 64;
        while (cap < d.n + k)
            cap *= 2;
        void *v = realloc(d.v, cap * sizeof *d.v);
        if (!v)
            return -1;
        d.v = static_cast<jt_node *>(v);
        d.cap = cap;
    }
    long at = (long)d.n;
    d.n += k;
    return at;
}

bool no_duplicates(jt_parser *p, simdjson::dom::object o)
{
    std::vector<std::string_view> &k = p->keys;
    k.clear();
    for (auto kv : o)
        k.push_back(kv.key);
    if (k.size() <= 16) {
        for (size_t i = 1; i < k.size(); i++)
            for (size_t j = 0; j < i; j++)
                if (k[i] == k[j])
                    return false;
        return true;
    }
    std::sort(k.begin(), k.end());
    return std::adjacent_find(k.begin(), k.end()) == k.end();
}

bool fill(jt_parser *p, size_t at, simdjson::dom::element el, int depth);

// children - the members or elements of the container at index at, in a
// block of their own
template <class C, class F>
bool children(jt_parser *p, size_t at, C c, size_t k, int depth, F each)
{
    p->count += k;
    if (p->count > p->max_fields)
        return false;
    long first = reserve(p, k);
    if (first < 0)
        return false;
    p->doc.v[at].n = (uint32_t)k;
    p->doc.v[at].u.first = (uint32_t)first;
    size_t i = 0;
    for (auto x : c) {
        if (i == k || !each(p, (size_t)first + i, x, depth + 1))
            return false;
        i++;
    }
    return i == k;
}

bool fill(jt_parser *p, size_t at, simdjson::dom::element el, int depth)
{
    using simdjson::dom::element_type;
    jt_node *n = &p->doc.v[at];
    switch (el.type()) {
    case element_type::OBJECT: {
        simdjson::dom::object o;
        if (depth > p->max_depth || el.get(o) != simdjson::SUCCESS)
            return false;
        n->type = JT_OBJECT;
        size_t k = o.size();
        if (k >= 0xFFFFFF || !no_duplicates(p, o))
            return false;
        return children(p, at, o, k, depth,
            [](jt_parser *q, size_t i, simdjson::dom::key_value_pair kv,
               int d) {
                if (!text_ok(kv.key))
                    return false;
                q->doc.v[i].key = kv.key.data();
                q->doc.v[i].klen = (uint32_t)kv.key.size();
                return fill(q, i, kv.value, d);
            });
    }
    case element_type::ARRAY: {
        simdjson::dom::array a;
        if (depth > p->max_depth || el.get(a) != simdjson::SUCCESS)
            return false;
        n->type = JT_ARRAY;
        size_t k = a.size();
        if (k >= 0xFFFFFF)
            return false;
        return children(p, at, a, k, depth,
            [](jt_parser *q, size_t i, simdjson::dom::element v, int d) {
                q->doc.v[i].key = nullptr;
                q->doc.v[i].klen = 0;
                return fill(q, i, v, d);
            });
    }
    case element_type::STRING: {
        std::string_view s;
        if (el.get(s) != simdjson::SUCCESS || !text_ok(s) || s.size() > UINT32_MAX)
            return false;
        n->type = JT_STRING;
        n->n = (uint32_t)s.size();
        n->u.s = s.data();
        return true;
    }
    case element_type::INT64: {
        int64_t x;
        if (el.get(x) != simdjson::SUCCESS)
            return false;
        n->type = JT_INT;
        n->u.i = x;
        return true;
    }
    case element_type::DOUBLE: {
        double x;
        if (el.get(x) != simdjson::SUCCESS || !std::isfinite(x))
            return false;
        n->type = JT_REAL;
        n->u.d = x;
        return true;
    }
    case element_type::BOOL: {
        bool b;
        if (el.get(b) != simdjson::SUCCESS)
            return false;
        n->type = b ? JT_TRUE : JT_FALSE;
        return true;
    }
    case element_type::NULL_VALUE:
        n->type = JT_NULL;
        return true;
    default:                            // UINT64: past jansson's integers
        return false;
    }
}

} // namespace

extern "C" {

struct jt_parser *jt_parser_new(void)
{
    return new (std::nothrow) jt_parser();
}

void jt_parser_free(struct jt_parser *p)
{
    if (!p)
        return;
    free(p->doc.v);
    delete p;
}

int jt_parse(struct jt_parser *p, const char *text, size_t len,
             size_t max_body, int max_depth, size_t max_fields,
             const struct jt_doc **out)
{
    *out = nullptr;
    if (len > max_body)
        return -1;
    try {
        simdjson::dom::element root;
        if (p->dom.parse(text, len, true).get(root) != simdjson::SUCCESS
            || root.type() != simdjson::dom::element_type::OBJECT)
            return -1;
        p->doc.n = 0;
        p->count = 0;
        p->max_depth = std::min(max_depth, JANSSON_MAX_DEPTH);
        p->max_fields = max_fields;
        if (reserve(p, 1) != 0)
            return -1;
        p->doc.v[0].key = nullptr;
        p->doc.v[0].klen = 0;
        if (!fill(p, 0, root, 1))
            return -1;
    } catch (...) {
        return -1;
    }
    *out = &p->doc;
    return 0;
}

} // extern "C"
