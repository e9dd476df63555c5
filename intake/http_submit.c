/* http_submit.c - submissions at the HTTP front door: the request head
 * checked (service, Content-Type, Content-Length, Idempotency-Key), the
 * body parsed (one JSON document or NDJSON lines) and mapped on the pool
 * thread, the connection queued for the committer (http_commit.c), and
 * the answer once committed.  See http_request.c for the order of checks.
 *
 * Owns: the mapped entries of a request (r->p, freed by
 * http_pending_free). */
#include "intake/http_int.h"
#include "intake/intake_spool.h"
#include "config/config.h"
#include "mappings/jtree.h"
#include "mappings/mapping.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/errs_json.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- submissions ------------------------------------------------------- */

/* map_one - doc -> pending (record JSON, front-end reference) or problems:
 * the mapping's, and those of any target of the service that could not
 * encode it */
/* admit_of - the checks of every target of svc (NULL = none) */
static const struct adapter_admit *admit_of(const struct gen *g,
                                            const struct service_config *svc)
{
    size_t i = (size_t)(svc - g->cfg->services);
    return g->admit && i < g->cfg->nservices ? g->admit[i] : NULL;
}

static void map_one(const struct gen *g, const struct service_config *svc,
                    json_t *doc, struct http_pending *p)
{
    struct errs e;
    errs_init(&e);
    if (intake_doc_map(&p->d, svc, admit_of(g, svc), doc, &e) != 0)
        p->problems = errs_json(&e);
    errs_free(&e);
}

/* set_key - the client key of p: the request's Idempotency-Key; for an
 * NDJSON line the key and its line, so each line is its own submission */
static void set_key(const struct req *r, struct http_pending *p)
{
    if (!r->idem[0])
        return;
    if (r->ndjson)
        snprintf(p->key, sizeof p->key, "%s#%ld", r->idem, p->d.line);
    else
        snprintf(p->key, sizeof p->key, "%s", r->idem);
}

void http_pending_free(struct http_pending *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        intake_doc_clear(&p[i].d);
        json_decref(p[i].problems);
    }
    free(p);
}

/* log_outcome - one line per stored record.  At debug level: the ledger
 * row (and its audit trail) is the record of truth for every accepted
 * submission, and a line per record on the hot path cost ~10% of the
 * intake rate; refusals and failures stay at info and above. */
static void log_outcome(const struct req *r, const char *outcome,
                        const char *ref, const char *fe_ref)
{
    log_event(LOG_DEBUG, outcome, "ref", ref ? ref : "", "service",
              r->svc->name, "client", r->client->id, "fe_ref",
              fe_ref ? fe_ref : "", NULL);
}

static enum MHD_Result spool_refused(struct MHD_Connection *c, struct req *r)
{
    pthread_mutex_lock(&r->h->mu);
    r->h->unavailable++;
    pthread_mutex_unlock(&r->h->mu);
    log_event(LOG_ERROR, "enqueue-failed", "service", r->svc->name, "client",
              r->client->id, "error", r->commit_err, NULL);
    return http_reply_status(c, r, 503, "unavailable",
                             "the spool cannot take submissions now", "30");
}

/* Each pool thread keeps one fast parser for bodies up to
 * THREAD_PARSER_MAX (its buffers, sized to the largest such body, are
 * reused instead of allocated per request); a larger body gets a parser
 * of its own, freed with it, so no thread holds buffers sized to
 * max-body.  The pool's threads still share nothing.  The thread's
 * parser is freed when the thread ends (pthread key destructor). */
#define THREAD_PARSER_MAX ((size_t)64 << 10)
static pthread_key_t parser_key;
static pthread_once_t parser_once = PTHREAD_ONCE_INIT;
static bool parser_key_ok;

static void parser_drop(void *p)
{
    jt_parser_free(p);
}

static void parser_key_make(void)
{
    parser_key_ok = pthread_key_create(&parser_key, parser_drop) == 0;
}

/* parser_get - the parser for a body of len bytes; *own: the caller
 * frees it (jt_parser_free) */
static struct jt_parser *parser_get(size_t len, bool *own)
{
    *own = true;
    pthread_once(&parser_once, parser_key_make);
    if (len > THREAD_PARSER_MAX || !parser_key_ok)
        return jt_parser_new();
    struct jt_parser *jp = pthread_getspecific(parser_key);
    if (!jp && (jp = jt_parser_new()) != NULL
        && pthread_setspecific(parser_key, jp) != 0)
        return jp;                        /* not kept: caller frees */
    *own = false;
    return jp;
}

/* parse_fast - the body through the fast parse (jtree.h) and the mapping
 * into r->p: 0 when taken there (mapped, or refused by the mapping or a
 * target), -1 when the front door must judge it (nothing done).  The
 * tree is the parser's and lives until its next parse: it is mapped
 * here, before anything else can use the thread's parser. */
static int parse_fast(struct req *r, const struct map_limits *lim,
                      struct errs *e)
{
    struct map_limits el;
    map_limits_effective(lim, &el);
    const char *text = buf_str(&r->body);
    size_t len = r->body.len;
    size_t b = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    bool own = true;
    struct jt_parser *jp = parser_get(len - b, &own);
    const struct jt_doc *d = NULL;
    int rc = -1;
    if (jp && jt_parse(jp, text + b, len - b, el.max_body, el.max_depth,
                       el.max_fields, &d) == 0) {
        if (intake_doc_map_jt(&r->p->d, r->svc, admit_of(r->g, r->svc), d,
                              e) != 0)
            r->p->problems = errs_json(e);
        rc = 0;
    }
    if (own)
        jt_parser_free(jp);
    return rc;
}

/* parse_one - the body as one document into r->p (1 entry) */
static int parse_one(struct req *r, const struct map_limits *lim)
{
    struct errs e;
    errs_init(&e);
    json_t *doc = NULL;
    r->p = calloc(1, sizeof *r->p);
    if (!r->p)
        return -1;
    r->np = 1;
    r->p->d.line = 1;
    r->p->d.raw = buf_str(&r->body);
    r->p->d.rawlen = r->body.len;
    set_key(r, r->p);
    if (parse_fast(r, lim, &e) == 0)
        ;
    else if (map_parse_json(buf_str(&r->body), r->body.len, lim, &doc, &e) != 0)
        r->p->problems = errs_json(&e);
    else
        map_one(r->g, r->svc, doc, r->p);
    json_decref(doc);
    errs_free(&e);
    return 0;
}

/* parse_ndjson - every line of the body into r->p */
static int parse_ndjson(struct req *r, const struct map_limits *lim)
{
    struct errs e;
    errs_init(&e);
    size_t cap = 64, n = 0;
    struct http_pending *p = calloc(cap, sizeof *p);
    if (!p)
        goto nomem;
    struct map_ndjson it;
    const char *text = buf_str(&r->body);
    map_ndjson_init(&it, text, r->body.len);
    for (;;) {
        json_t *doc = NULL;
        size_t start = it.pos;
        errs_clear(&e);
        int more = map_ndjson_next(&it, lim, &doc, &e);
        if (more <= 0)
            break;
        if (n == cap) {
            struct http_pending *np = realloc(p, 2 * cap * sizeof *p);
            if (!np) {
                json_decref(doc);
                goto nomem;
            }
            memset(np + cap, 0, cap * sizeof *p);
            p = np;
            cap *= 2;
        }
        struct http_pending *q = &p[n++];
        struct intake_doc *d = &q->d;
        d->line = it.line;
        d->raw = text + start;
        d->rawlen = it.pos - start;
        while (d->rawlen && (d->raw[d->rawlen - 1] == '\n' ||
                             d->raw[d->rawlen - 1] == '\r'))
            d->rawlen--;
        while (d->rawlen && (*d->raw == '\n' || *d->raw == '\r' ||
                             *d->raw == ' ')) {
            d->raw++;
            d->rawlen--;
        }
        set_key(r, q);
        if (doc)
            map_one(r->g, r->svc, doc, q);
        else
            q->problems = errs_json(&e);
        json_decref(doc);
    }
    errs_free(&e);
    r->p = p;
    r->np = n;
    return 0;
nomem:
    http_pending_free(p, n);
    errs_free(&e);
    return -1;
}

/* conflict_problems - the one problem of a key reused with another
 * body (new reference) */
static json_t *conflict_problems(const struct req *r,
                                 const struct spool_result *res)
{
    char why[160 + IDEM_MAX];
    snprintf(why, sizeof why, "Idempotency-Key '%s' was already used with "
             "a different body (for %s): use a new key for a new "
             "submission", r->idem, res->ref);
    return json_pack("[o]", errs_json_one("header:Idempotency-Key", why,
                                           NULL));
}

/* answer_one - the reply to a single submission once committed.  A
 * replayed key gets its first answer (202 accepted, or 200 duplicate);
 * a key reused for another body 422 conflict. */
static enum MHD_Result answer_one(struct MHD_Connection *c, struct req *r)
{
    if (r->commit_rc != 0)
        return spool_refused(c, r);
    const struct spool_result *res = &r->res[0];
    if (res->conflict) {
        http_count_result(r->h, r->svc->name, 2, 1);
        log_event(LOG_INFO, "key-conflict", "service", r->svc->name,
                  "client", r->client->id, "ref", res->ref, NULL);
        return http_reply_obj(c, r, 422, json_pack("{s:s,s:o}", "status",
                              "conflict", "problems",
                              conflict_problems(r, res)));
    }
    bool fresh = !res->duplicate && !res->replay;
    http_count_result(r->h, r->svc->name, fresh ? 0 : 1, 1);
    log_outcome(r, fresh ? "accepted" : res->replay ? "replay" : "duplicate",
                res->ref, r->p->d.fe_ref);
    json_t *o = json_pack("{s:s,s:s}", "reference", res->ref, "status",
                          res->duplicate ? "duplicate" : "accepted");
    enum MHD_Result mr = http_reply_obj(c, r, res->duplicate ? 200 : 202, o);
    if (fresh && r->h->hooks.accepted)
        r->h->hooks.accepted(r->h->hooks.ctx);
    return mr;
}

/* answer_ndjson - each line's result.  202 when any line was accepted
 * (a replayed line answers as it first did), 200 when none was but some
 * were duplicates, 422 when every line was refused. */
static enum MHD_Result answer_ndjson(struct MHD_Connection *c, struct req *r)
{
    if (r->commit_rc != 0)
        return spool_refused(c, r);
    size_t acc = 0, dup = 0, rej = 0;     /* as answered (a replay as first) */
    size_t fresh_n = 0;                   /* new records of this request */
    json_t *list = json_array();
    for (size_t i = 0; i < r->np; i++) {
        const struct http_pending *p = &r->p[i];
        json_t *o;
        const struct spool_result *res = &r->res[i];
        if (p->problems) {
            rej++;
            o = json_pack("{s:I,s:s,s:O}", "line", (json_int_t)p->d.line,
                          "status", "rejected", "problems", p->problems);
        } else if (res->conflict) {
            rej++;
            o = json_pack("{s:I,s:s,s:o}", "line", (json_int_t)p->d.line,
                          "status", "conflict", "problems",
                          conflict_problems(r, res));
        } else {
            bool fresh = !res->duplicate && !res->replay;
            fresh_n += fresh;
            if (res->duplicate)
                dup++;
            else
                acc++;
            log_outcome(r, fresh ? "accepted" : res->replay ? "replay"
                                                           : "duplicate",
                        res->ref, p->d.fe_ref);
            o = json_pack("{s:I,s:s,s:s}", "line", (json_int_t)p->d.line,
                          "reference", res->ref, "status",
                          res->duplicate ? "duplicate" : "accepted");
        }
        json_array_append_new(list, o);
    }
    if (fresh_n)
        http_count_result(r->h, r->svc->name, 0, fresh_n);
    if (acc + dup > fresh_n)
        http_count_result(r->h, r->svc->name, 1, acc + dup - fresh_n);
    if (rej)
        http_count_result(r->h, r->svc->name, 2, rej);
    json_t *o = json_pack("{s:o,s:I,s:I,s:I}", "results", list, "accepted",
                          (json_int_t)acc, "duplicates", (json_int_t)dup,
                          "rejected", (json_int_t)rej);
    enum MHD_Result mr = http_reply_obj(c, r, acc ? 202 : dup ? 200 : 422, o);
    if (fresh_n && r->h->hooks.accepted)
        r->h->hooks.accepted(r->h->hooks.ctx);
    return mr;
}

enum MHD_Result http_answer(struct MHD_Connection *c, struct req *r)
{
    return r->ndjson ? answer_ndjson(c, r) : answer_one(c, r);
}

/* http_do_submit - the body is in: map it here (on the pool thread), then
 * suspend the connection and hand it to the committer, which resumes it
 * once the records are committed (http_commit.c). */
enum MHD_Result http_do_submit(struct MHD_Connection *c, struct req *r)
{
    const struct ferry_config *cfg = r->g->cfg;
    if (r->too_big) {
        http_count_result(r->h, r->svc->name, 2, 1);
        return http_reply_status(c, r, 413, "too-large",
                                 "body larger than the listener's max-body",
                                 NULL);
    }
    if (!http_disk_ok(r->h, cfg)) {
        pthread_mutex_lock(&r->h->mu);
        r->h->unavailable++;
        pthread_mutex_unlock(&r->h->mu);
        return http_reply_status(c, r, 503, "unavailable",
                                 "spool disk space below min-free", "60");
    }
    struct map_limits lim = {
        .max_body = cfg->intake.max_body,
        .max_depth = cfg->intake.max_depth,
        .max_fields = cfg->intake.max_fields > 0
                          ? (size_t)cfg->intake.max_fields : 0,
    };
    if ((r->ndjson ? parse_ndjson(r, &lim) : parse_one(r, &lim)) != 0)
        return http_reply_status(c, r, 500, "error", "out of memory", NULL);
    size_t storable = 0;
    for (size_t i = 0; i < r->np; i++)
        if (!r->p[i].problems)
            storable++;
    if (!r->ndjson && storable == 0) {
        http_count_result(r->h, r->svc->name, 2, 1);
        log_event(LOG_INFO, "rejected", "service", r->svc->name, "client",
                  r->client->id, NULL);
        json_t *o = json_pack("{s:s,s:O}", "status", "rejected", "problems",
                              r->p->problems);
        return http_reply_obj(c, r, 422, o);
    }
    r->res = calloc(r->np ? r->np : 1, sizeof *r->res);
    if (!r->res)
        return http_reply_status(c, r, 500, "error", "out of memory", NULL);
    if (storable == 0) {                  /* NDJSON, every line refused */
        r->commit_rc = 0;
        return http_answer(c, r);
    }
    r->conn = c;
    r->phase = RP_QUEUED;
    MHD_suspend_connection(c);            /* before the committer sees r */
    http_commit_queue(r->h->com, r);
    return MHD_YES;
}

/* http_submit_head - everything decidable from the request head;
 * returns true to go on reading the body, false when a reply was queued */
bool http_submit_head(struct MHD_Connection *c, struct req *r,
                      enum MHD_Result *rc)
{
    const struct ferry_config *cfg = r->g->cfg;
    if (!http_client_may(r->client, r->service)) {
        *rc = http_reply_status(c, r, 403, "forbidden",
                                "this client may not post to this service",
                                NULL);
        return false;
    }
    r->svc = config_service(cfg, r->service);
    if (!r->svc || !r->svc->mapping) {
        *rc = http_reply_status(c, r, 404, "not-found", "no such service",
                                NULL);
        return false;
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 "Content-Type");
    size_t tl = 0;
    if (ct) {
        while (*ct == ' ')
            ct++;
        tl = strcspn(ct, "; \t");
    }
    if (ct && tl == 16 && strncasecmp(ct, "application/json", 16) == 0)
        r->ndjson = false;
    else if (ct && tl == 20 && strncasecmp(ct, "application/x-ndjson", 20) == 0)
        r->ndjson = true;
    else {
        http_count_result(r->h, r->svc->name, 2, 1);
        *rc = http_reply_status(c, r, 415, "unsupported-media-type",
                                "use application/json or application/x-ndjson",
                                NULL);
        return false;
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 "Content-Length");
    if (cl) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno || end == cl || *end || v > cfg->intake.max_body) {
            http_count_result(r->h, r->svc->name, 2, 1);
            *rc = http_reply_status(c, r, 413, "too-large",
                                    "body larger than the listener's max-body",
                                    NULL);
            return false;
        }
    }
    const char *ik = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 "Idempotency-Key");
    if (ik) {
        size_t n = strlen(ik);
        bool okk = n > 0 && n <= IDEM_MAX;
        for (size_t i = 0; okk && i < n; i++)
            okk = ik[i] > 0x20 && ik[i] < 0x7f;
        if (!okk) {
            json_t *pr = json_pack("[o]", errs_json_one(
                "header:Idempotency-Key", "1-200 printable ASCII characters",
                NULL));
            *rc = http_reply_obj(c, r, 422, json_pack("{s:s,s:o}", "status",
                                                 "rejected", "problems", pr));
            return false;
        }
        memcpy(r->idem, ik, n + 1);
    }
    /* one byte over the cap tells "too big" from "exactly max" */
    buf_init(&r->body, cfg->intake.max_body + 1);
    return true;
}
