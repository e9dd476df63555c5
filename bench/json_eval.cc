// json_eval.cc - the packaged JSON parsers measured on the benchmark's
// documents, for the choice issue 17 asks for (bench/run.d/json.sh builds
// and runs it; it is not part of ferry).
//
// Each figure is the best of ROUNDS interleaved slices, documents/s, on
// one core:
//   json_jansson_parse      json_loadb(JSON_REJECT_DUPLICATES) + decref:
//                           what ferry's intake does today
//   json_simdjson_dom       simdjson 3 DOM parse into a reused parser
//   json_simdjson_dom_walk  the DOM parse plus a full walk that does what
//                           ferry's front door adds (nesting depth, member
//                           count, duplicate keys refused, NUL in strings
//                           refused)
//   json_simdjson_ondemand  On-Demand: the fields the refund-claim mapping
//                           reads, taken by question_id as the mapping's
//                           selectors do, without a tree
// Usage: json_eval FILE [SECONDS]   (FILE: one document, or NDJSON whose
// lines are taken in turn)
#include <jansson.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

using namespace simdjson;

static double now()
{
    return std::chrono::duration<double>(
        std::chrono::steady_clock::now().time_since_epoch()).count();
}

static size_t sink;

// walk - depth, members, duplicate keys (pairwise: objects are small),
// NUL bytes; false when the document would be refused
static bool walk(dom::element el, int depth, size_t &members)
{
    if (depth > 64)
        return false;
    switch (el.type()) {
    case dom::element_type::OBJECT: {
        dom::object o;
        if (el.get_object().get(o))
            return false;
        std::vector<std::string_view> keys;
        for (auto kv : o) {
            for (auto &k : keys)
                if (k == kv.key)
                    return false;
            keys.push_back(kv.key);
            if (kv.key.find('\0') != std::string_view::npos)
                return false;
            if (++members > 100000 || !walk(kv.value, depth + 1, members))
                return false;
        }
        return true;
    }
    case dom::element_type::ARRAY: {
        dom::array a;
        if (el.get_array().get(a))
            return false;
        for (auto v : a)
            if (++members > 100000 || !walk(v, depth + 1, members))
                return false;
        return true;
    }
    case dom::element_type::STRING: {
        std::string_view s;
        if (el.get_string().get(s))
            return false;
        sink += s.size();
        return s.find('\0') == std::string_view::npos;
    }
    default:
        return true;
    }
}

static const char *const wanted[][2] = {
    { "1", "first_name" }, { "1", "last_name" }, { "2", "answer_text" },
    { "3", "answer_text" }, { "4", "postcode" }, { "5", "answer_text" },
    { "6", "answer_text" }, { "8", "sort_code" }, { "8", "account_number" },
};

static bool ondemand_fields(ondemand::parser &p, const padded_string &doc)
{
    ondemand::document d;
    if (p.iterate(doc).get(d))
        return false;
    std::string_view ref, at;
    if (d["submission_reference"].get_string().get(ref))
        return false;
    sink += ref.size();
    if (d["submitted_at"].get_string().get(at))
        return false;
    sink += at.size();
    ondemand::array answers;
    if (d["answers"].get_array().get(answers))
        return false;
    for (auto a : answers) {
        ondemand::object o;
        if (a.get_object().get(o))
            return false;
        int64_t q = 0;
        for (auto f : o) {
            std::string_view k;
            if (f.unescaped_key().get(k))
                return false;
            if (k == "question_id") {
                if (f.value().get_int64().get(q))
                    return false;
            } else if (k == "items") {
                ondemand::array items;
                if (f.value().get_array().get(items))
                    return false;
                for (auto it : items) {
                    std::string_view c, m;
                    ondemand::object io;
                    if (it.get_object().get(io) || io["code"].get_string().get(c)
                        || io["amount"].get_string().get(m))
                        return false;
                    sink += c.size() + m.size();
                }
            } else {
                for (auto &w : wanted)
                    if (q == atoi(w[0]) && k == w[1]) {
                        std::string_view v;
                        if (f.value().get_string().get(v))
                            return false;
                        sink += v.size();
                    }
            }
        }
    }
    return true;
}

#define TIMED(secs, rate, step)                                         \
    do {                                                                \
        unsigned long n_ = 0;                                           \
        double t0_ = now(), t_;                                         \
        do {                                                            \
            for (int k_ = 0; k_ < 200; k_++, n_++) {                    \
                step;                                                   \
            }                                                           \
            t_ = now() - t0_;                                           \
        } while (t_ < (secs));                                          \
        (rate) = (double)n_ / t_;                                       \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: json_eval FILE [SECONDS]\n");
        return 2;
    }
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    std::ifstream f(argv[1], std::ios::binary);
    std::vector<std::string> docs;
    std::string line;
    while (std::getline(f, line) && docs.size() < 1000)
        if (!line.empty())
            docs.push_back(line);
    if (docs.empty())
        return 2;
    std::vector<padded_string> pdocs;
    size_t bytes = 0;
    for (auto &d : docs) {
        pdocs.emplace_back(d);
        bytes += d.size();
    }
    dom::parser dp;
    ondemand::parser op;
    // every document must be taken the same way by all of them
    for (size_t i = 0; i < docs.size(); i++) {
        json_t *j = json_loadb(docs[i].data(), docs[i].size(),
                               JSON_REJECT_DUPLICATES, NULL);
        dom::element el;
        size_t m = 0;
        if (!j || dp.parse(pdocs[i]).get(el) || !walk(el, 0, m)
            || !ondemand_fields(op, pdocs[i])) {
            fprintf(stderr, "json_eval: document %zu refused by one of them\n", i);
            return 1;
        }
        json_decref(j);
    }
    enum { ROUNDS = 5 };
    double slice = secs / ROUNDS / 4, jr = 0, dr = 0, wr = 0, orr = 0, x;
    size_t k = 0, n = docs.size();
    for (int r = 0; r < ROUNDS; r++) {
        TIMED(slice, x, {
            const std::string &d = docs[k++ % n];
            json_t *j = json_loadb(d.data(), d.size(), JSON_REJECT_DUPLICATES, NULL);
            sink += j != NULL;
            json_decref(j);
        });
        jr = x > jr ? x : jr;
        TIMED(slice, x, {
            dom::element el;
            sink += dp.parse(pdocs[k++ % n]).get(el) == SUCCESS;
        });
        dr = x > dr ? x : dr;
        TIMED(slice, x, {
            dom::element el;
            size_t m = 0;
            sink += dp.parse(pdocs[k++ % n]).get(el) == SUCCESS && walk(el, 0, m);
        });
        wr = x > wr ? x : wr;
        TIMED(slice, x, { sink += ondemand_fields(op, pdocs[k++ % n]); });
        orr = x > orr ? x : orr;
    }
    printf("# %zu documents, %.0f bytes each on average; simdjson %s, "
           "implementation %s\n", n, (double)bytes / n, STRINGIFY(SIMDJSON_VERSION),
           get_active_implementation()->name().c_str());
    printf("json_jansson_parse %.0f documents/s (%.2f us)\n", jr, 1e6 / jr);
    printf("json_simdjson_dom %.0f documents/s (%.2f us)\n", dr, 1e6 / dr);
    printf("json_simdjson_dom_walk %.0f documents/s (%.2f us)\n", wr, 1e6 / wr);
    printf("json_simdjson_ondemand %.0f documents/s (%.2f us)\n", orr, 1e6 / orr);
    printf("json_ratio_dom_walk_vs_jansson %.1f x\n", wr / jr);
    printf("json_ratio_ondemand_vs_jansson %.1f x\n", orr / jr);
    return sink == 0;
}
