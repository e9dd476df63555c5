/* soap.c - the SOAP stream adapter: records to a legacy web service.
 *
 * One instance per (target, service mapping).  deliver() builds one
 * envelope per record (soap_envelope.c), sends up to `concurrency` of them
 * at once on a libcurl multi handle that keeps its connections between
 * calls, and classifies each exchange in soap_classify() - the one place
 * where libcurl codes, HTTP statuses and SOAP faults become OK / RETRY /
 * FAIL / INDOUBT.  Responses are parsed by soap_reply_parse() with
 * network, entities and DTDs off and a size cap enforced while receiving.
 *
 * The adapter never sleeps or retries: the spool decides what to do with
 * each outcome.  TLS peer and host verification are always on.
 *
 * Ownership: the instance borrows env->map (its sections) - the loaded
 * config must outlive it; everything else is copied.  deliver/probe on one
 * instance are serialised by a mutex (one multi handle). */
#include "adapters/soap.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>

#include "config/config.h"
#include "mappings/mask.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/log.h"
#include "util/scrub.h"

#define DEF_CONCURRENCY  8
#define MAX_CONCURRENCY  256

struct slot {
    CURL *easy;
    struct curl_slist *hdrs;     /* this call's list (shared + per item) */
    struct buf resp;
    xmlChar *req;
    int reqlen;
    struct delivery_item *item;
    bool probe;
    bool too_big;
    char errbuf[CURL_ERROR_SIZE];
};

struct soap_ctx {
    char *endpoint;
    enum soap_version version;
    char *action, *status_action;
    char *username;
    char *password;              /* wiped on close */
    size_t password_len;
    bool digest;
    char *cert, *key, *ca, *key_password;
    int64_t connect_ms, timeout_ms;   /* read by the key table */
    size_t max_response;
    int concurrency;
    char *idem_header;
    bool idem_by_ref;            /* idempotency-value="$reference": the
                                    old, per-spool key (default: the
                                    delivery identity) */
    char *operation, *ns, *prefix;
    bool qualified;
    char *receipt_xpath;
    struct { char *name, *xpath; } rf[SOAP_MAX_RECEIPT];
    size_t nrf;                  /* receipt-field-NAME="XPath" */
    char *idem_element;
    struct soap_nsmap *nsmap;
    size_t nns;
    struct soap_override *ov;
    size_t nov;
    char *status_op, *status_xpath, *status_found, *status_receipt_xpath,
         *status_ref_element;
    const struct map_section *sec;
    char *service;
    CURLM *multi;
    struct slot *slots;
    pthread_mutex_t lock;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static bool global_ok;

static void global_init(void)
{
    xmlInitParser();
    global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* ---- classification -------------------------------------------------- */

/* fault_default - the SOAP rule: sender's fault FAIL, receiver's RETRY */
static enum adapter_outcome fault_default(const char *code)
{
    size_t n;
    if (strncmp(code, "Server", n = 6) == 0 ||
        strncmp(code, "Receiver", n = 8) == 0)
        return code[n] == '\0' || code[n] == '.' ? ADAPTER_RETRY
                                                 : ADAPTER_FAIL;
    /* Client, Sender, VersionMismatch, MustUnderstand,
     * DataEncodingUnknown and anything unknown: the back end refused the
     * message as it is; sending it again will not change that */
    return ADAPTER_FAIL;
}

/* security_refused - a fault that says the credentials themselves were
 * refused (WS-Security 1.1 fault codes, or the words a service uses for
 * them): no record can fix it, the target stops */
static bool security_refused(const struct soap_reply *r)
{
    static const char *const codes[] = {
        "FailedAuthentication", "InvalidSecurity", "InvalidSecurityToken",
        "FailedCheck", "SecurityTokenUnavailable",
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(r->code, codes[i]) == 0 || strcmp(r->subcode, codes[i]) == 0)
            return true;
    return strcasestr(r->reason, "authentication failed") != NULL;
}

/* override_for - first override matching the fault; NULL if none */
static const struct soap_override *override_for(const struct soap_reply *r,
                                                const struct soap_override *ov,
                                                size_t nov)
{
    for (size_t i = 0; i < nov; i++) {
        if (ov[i].code) {
            if (strcmp(ov[i].code, r->code) == 0 ||
                (r->subcode[0] && strcmp(ov[i].code, r->subcode) == 0))
                return &ov[i];
        } else if (ov[i].string && *ov[i].string &&
                   strcasestr(r->reason, ov[i].string)) {
            return &ov[i];
        }
    }
    return NULL;
}

enum adapter_outcome soap_classify(const struct soap_exchange *x,
                                   const struct soap_override *ov, size_t nov,
                                   char *msg, size_t msgsz)
{
    const char *cerr = x->curl_error && *x->curl_error
                           ? x->curl_error
                           : curl_easy_strerror((CURLcode)x->curl_code);

    if (x->too_big) {
        snprintf(msg, msgsz, "response larger than max-response (%zu bytes)"
                 "; the request was sent, its outcome is unknown",
                 x->max_response);
        return ADAPTER_INDOUBT;
    }
    if (x->curl_code != CURLE_OK) {
        switch ((CURLcode)x->curl_code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
            snprintf(msg, msgsz, "cannot connect: %s", cerr);
            return ADAPTER_RETRY;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
            /* nothing was sent and no record can fix a certificate that
             * does not verify or cannot be read: the target stops */
            snprintf(msg, msgsz, "TLS certificate: %s", cerr);
            return ADAPTER_STOP;
        case CURLE_SSL_CONNECT_ERROR:
            /* a handshake that failed may be passing trouble */
            snprintf(msg, msgsz, "TLS: %s", cerr);
            return ADAPTER_RETRY;
        default:
            break;
        }
        if (x->request_sent) {
            snprintf(msg, msgsz, "%s after the request was sent; outcome "
                     "unknown", cerr);
            return ADAPTER_INDOUBT;
        }
        snprintf(msg, msgsz, "%s (request not sent)", cerr);
        return ADAPTER_RETRY;
    }
    if (x->parse == SOAP_PARSE_DOCTYPE) {
        snprintf(msg, msgsz, "response contains a DOCTYPE; refused");
        return ADAPTER_FAIL;
    }
    if (x->parse == SOAP_PARSE_OK && x->reply && x->reply->fault) {
        const struct soap_reply *r = x->reply;
        const struct soap_override *o = override_for(r, ov, nov);
        enum adapter_outcome out = o ? o->outcome
                                     : security_refused(r) ? ADAPTER_STOP
                                     : fault_default(r->code);
        snprintf(msg, msgsz, "SOAP fault %s%s%s: %s%s%s%s%s",
                 r->code[0] ? r->code : "(no code)",
                 r->subcode[0] ? "/" : "", r->subcode,
                 r->reason[0] ? r->reason : "(no reason given)",
                 r->detail_text[0] ? " (detail: " : "", r->detail_text,
                 r->detail_text[0] ? ")" : "",
                 o ? " (mapping override)" : "");
        return out;
    }
    long s = x->http_status;
    if (s >= 200 && s < 300) {
        if (x->parse == SOAP_PARSE_OK) {
            if (x->reply && x->reply->receipt_truncated)
                snprintf(msg, msgsz, "delivered; receipt truncated to %zu "
                         "bytes", sizeof x->reply->receipt - 1);
            else
                snprintf(msg, msgsz, "delivered (HTTP %ld)", s);
            return ADAPTER_OK;
        }
        /* the back end answered success in words we cannot read: it may
         * well have taken the record */
        snprintf(msg, msgsz, "HTTP %ld but %s; outcome unknown", s,
                 x->parse_error && *x->parse_error ? x->parse_error
                                                   : "no SOAP response");
        return ADAPTER_INDOUBT;
    }
    if (s >= 500) {
        snprintf(msg, msgsz, "HTTP %ld without a SOAP fault", s);
        return ADAPTER_RETRY;
    }
    if (s == 401 || s == 403) {
        snprintf(msg, msgsz, "HTTP %ld: credentials refused", s);
        return ADAPTER_STOP;
    }
    if (s == 408 || s == 429) {
        snprintf(msg, msgsz, "HTTP %ld (try later)", s);
        return ADAPTER_RETRY;
    }
    snprintf(msg, msgsz, "HTTP %ld without a SOAP fault", s);
    return ADAPTER_FAIL;
}

/* ---- option reading --------------------------------------------------- */

/* dup_opt - strdup of an option (or def); -1 nomem */
static int dup_opt(char **dst, const char *v, const char *def)
{
    const char *s = v ? v : def;
    *dst = NULL;
    if (!s)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : -1;
}

/* header_safe - no CR, LF or NUL-ish control and no '"' (quoted values) */
static bool header_safe(const char *s, bool allow_quote)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (!allow_quote && *p == '"'))
            return false;
    return true;
}

/* token_ok - an HTTP header name */
static bool token_ok(const char *s)
{
    if (!*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!isalnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return false;
    return true;
}

static void ctx_free(struct soap_ctx *c)
{
    if (!c)
        return;
    if (c->slots) {
        for (int i = 0; i < c->concurrency; i++) {
            if (c->slots[i].easy)
                curl_easy_cleanup(c->slots[i].easy);
            curl_slist_free_all(c->slots[i].hdrs);
            buf_free(&c->slots[i].resp);
            xmlFree(c->slots[i].req);
        }
        free(c->slots);
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->password) {
        OPENSSL_cleanse(c->password, c->password_len);
        free(c->password);
    }
    if (c->key_password) {
        OPENSSL_cleanse(c->key_password, strlen(c->key_password));
        free(c->key_password);
    }
    for (size_t i = 0; i < c->nns; i++) {
        free((char *)c->nsmap[i].prefix);
        free((char *)c->nsmap[i].uri);
    }
    free(c->nsmap);
    for (size_t i = 0; i < c->nov; i++) {
        free((char *)c->ov[i].code);
        free((char *)c->ov[i].string);
    }
    free(c->ov);
    free(c->endpoint);
    free(c->action);
    free(c->status_action);
    free(c->username);
    free(c->cert);
    free(c->key);
    free(c->ca);
    free(c->idem_header);
    free(c->operation);
    free(c->ns);
    free(c->prefix);
    free(c->receipt_xpath);
    for (size_t i = 0; i < c->nrf; i++) {
        free(c->rf[i].name);
        free(c->rf[i].xpath);
    }
    free(c->idem_element);
    free(c->status_op);
    free(c->status_xpath);
    free(c->status_found);
    free(c->status_receipt_xpath);
    free(c->status_ref_element);
    free(c->service);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ns_add - bind prefix to uri for XPath (a later binding wins) */
static int ns_add(struct soap_ctx *c, const char *prefix, const char *uri)
{
    for (size_t i = 0; i < c->nns; i++)
        if (strcmp(c->nsmap[i].prefix, prefix) == 0) {
            char *u = strdup(uri);
            if (!u)
                return -1;
            free((char *)c->nsmap[i].uri);
            c->nsmap[i].uri = u;
            return 0;
        }
    struct soap_nsmap *v = realloc(c->nsmap, (c->nns + 1) * sizeof *v);
    if (!v)
        return -1;
    c->nsmap = v;
    v[c->nns].prefix = strdup(prefix);
    v[c->nns].uri = strdup(uri);
    if (!v[c->nns].prefix || !v[c->nns].uri) {
        free((char *)v[c->nns].prefix);
        free((char *)v[c->nns].uri);
        return -1;
    }
    c->nns++;
    return 0;
}

/* check_xpath - evaluate expr once against a small envelope so a syntax
 * error or an unbound prefix is a config problem, not a delivery one */
static int check_xpath(struct soap_ctx *c, const char *what, const char *expr,
                       struct errs *e)
{
    static const char probe11[] =
        "<e:Envelope xmlns:e='" SOAP_NS_11 "'><e:Body><x/></e:Body>"
        "</e:Envelope>";
    struct soap_reply r;
    char err[512];
    if (soap_reply_parse(probe11, sizeof probe11 - 1, expr, c->nsmap, c->nns,
                         &r, err, sizeof err) != SOAP_PARSE_OK) {
        errs_add(e, "soap", "%s: %s", what, err);
        return -1;
    }
    return 0;
}

/* read_faults - <section name="faults"><map to="retry|fail" code=|string=> */
static int read_faults(struct soap_ctx *c, const struct map_section *s,
                       struct errs *e)
{
    int bad = 0;
    c->ov = calloc(s->na ? s->na : 1, sizeof *c->ov);
    if (!c->ov) {
        errs_add(e, "soap", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->na; i++) {
        const struct map_assign *a = &s->a[i];
        const char *out = kv_get(&a->opts, "outcome");
        const char *code = kv_get(&a->opts, "code");
        const char *str = kv_get(&a->opts, "string");
        char where[64];
        snprintf(where, sizeof where, "soap faults line %d", a->line);
        if (!out)
            out = a->to;
        enum adapter_outcome o;
        if (out && strcmp(out, "retry") == 0)
            o = ADAPTER_RETRY;
        else if (out && strcmp(out, "fail") == 0)
            o = ADAPTER_FAIL;
        else {
            errs_add(e, where, "fault outcome must be retry or fail, not "
                     "\"%s\"", out ? out : "");
            bad++;
            continue;
        }
        if ((code != NULL) == (str != NULL) || (code && !*code) ||
            (str && !*str)) {
            errs_add(e, where, "a fault override needs exactly one of code= "
                     "or string=");
            bad++;
            continue;
        }
        struct soap_override *v = &c->ov[c->nov];
        v->outcome = o;
        if (code) {
            const char *colon = strrchr(code, ':');
            v->code = strdup(colon ? colon + 1 : code);
            if (!v->code)
                goto nomem;
        } else if (!(v->string = strdup(str))) {
            goto nomem;
        }
        c->nov++;
    }
    return bad ? -1 : 0;
nomem:
    errs_add(e, "soap", "out of memory");
    return -1;
}

extern const struct adapter adapter_soap;

static const struct adapter_key soap_keys[] = {
    ADAPTER_KEY("endpoint", ADAPTER_OPT_STR, true,
                "service URL (http:// or https://)"),
    ADAPTER_KEY("version", ADAPTER_OPT_STR, false,
                "SOAP version: 1.1 (default) or 1.2"),
    ADAPTER_KEY("action", ADAPTER_OPT_STR, false,
                "SOAPAction / action= value"),
    ADAPTER_KEY("username", ADAPTER_OPT_STR, false,
                "WS-Security UsernameToken user"),
    ADAPTER_KEY("password-file", ADAPTER_OPT_SECRET, false,
                "its password: file (0600) or env:NAME"),
    ADAPTER_KEY("password-type", ADAPTER_OPT_STR, false,
                "text (default) or digest"),
    ADAPTER_KEY("cert-file", ADAPTER_OPT_STR, false,
                "client certificate (PEM)"),
    ADAPTER_KEY("key-file", ADAPTER_OPT_STR, false,
                "client key (PEM)"),
    ADAPTER_KEY("key-password-file", ADAPTER_OPT_SECRET, false,
                "client key passphrase: file or env:NAME"),
    ADAPTER_KEY("ca-file", ADAPTER_OPT_STR, false,
                "CA bundle to verify the server (PEM)"),
    ADAPTER_OPT("connect-timeout", ADAPTER_OPT_DURATION, "10s",
                struct soap_ctx, connect_ms, 1, 24LL * 3600 * 1000,
                "e.g. 10s (default)"),
    ADAPTER_OPT("timeout", ADAPTER_OPT_DURATION, "30s", struct soap_ctx,
                timeout_ms, 1, 24LL * 3600 * 1000,
                "whole call, e.g. 30s (default)"),
    ADAPTER_OPT("max-response", ADAPTER_OPT_SIZE, "1MiB", struct soap_ctx,
                max_response, 256, 0, "response size cap, e.g. 1MiB (default)"),
    ADAPTER_KEY("idempotency-header", ADAPTER_OPT_STR, false,
                "HTTP header carrying the record's idempotency value"),
    ADAPTER_KEY("idempotency-value", ADAPTER_OPT_STR, false,
                "$delivery-id (default: unique across spools) or $reference"),
    ADAPTER_KEY_IN("concurrency", ADAPTER_OPT_INT, 1, MAX_CONCURRENCY,
                   "calls in flight (default 8)"),
    ADAPTER_KEY_END,
};

/* read_target - the <target type="soap"> options */
static int read_target(struct soap_ctx *c, const struct adapter_env *env,
                       struct errs *e)
{
    const struct kvlist *o = env->opts;
    const char *v;
    /* typed keys (timeouts, max-response) and required ones: the table */
    int bad = adapter_opts_read(&adapter_soap, soap_keys, o,
                                adapter_engine_keys, c, "soap", NULL, 0,
                                e) != 0;

    v = kv_get(o, "endpoint");
    if (v && ((strncmp(v, "http://", 7) != 0 &&
               strncmp(v, "https://", 8) != 0) || !header_safe(v, false))) {
        errs_add(e, "soap", "endpoint must be an http:// or https:// URL");
        bad++;
    } else if (dup_opt(&c->endpoint, v, NULL) != 0) {
        goto nomem;
    }
    v = kv_get(o, "version");
    if (!v || strcmp(v, "1.1") == 0)
        c->version = SOAP_11;
    else if (strcmp(v, "1.2") == 0)
        c->version = SOAP_12;
    else {
        errs_add(e, "soap", "version must be 1.1 or 1.2, not \"%s\"", v);
        bad++;
    }
    v = kv_get(env->map ? &env->map->opts : NULL, "action");
    if (!v)
        v = kv_get(o, "action");
    if (v && !header_safe(v, false)) {
        errs_add(e, "soap", "action holds a quote or control character");
        bad++;
    } else if (dup_opt(&c->action, v, "") != 0) {
        goto nomem;
    }
    if (dup_opt(&c->username, kv_get(o, "username"), NULL) != 0)
        goto nomem;
    v = kv_get(o, "password-file");
    if (v && !c->username) {
        errs_add(e, "soap", "password-file needs username");
        bad++;
    }
    if (c->username && !v) {
        errs_add(e, "soap", "username needs password-file");
        bad++;
    }
    if (v && c->username &&
        config_read_secret(env->base_dir, v, &c->password, &c->password_len,
                           e) != 0)
        bad++;
    v = kv_get(o, "password-type");
    if (!v || strcmp(v, "text") == 0)
        c->digest = false;
    else if (strcmp(v, "digest") == 0)
        c->digest = true;
    else {
        errs_add(e, "soap", "password-type must be text or digest");
        bad++;
    }
    if (c->username && !c->digest && strncmp(c->endpoint ? c->endpoint : "",
                                              "http://", 7) == 0)
        log_event(LOG_WARN, "soap-cleartext-password", "service",
                  env->service ? env->service : "", "why",
                  "password-type text over http:// sends the password "
                  "readable on the wire", NULL);
    static const struct { const char *key; size_t off; } files[] = {
        { "cert-file", offsetof(struct soap_ctx, cert) },
        { "key-file", offsetof(struct soap_ctx, key) },
        { "ca-file", offsetof(struct soap_ctx, ca) },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        v = kv_get(o, files[i].key);
        if (!v)
            continue;
        char *p = config_path(env->base_dir, v);
        if (!p)
            goto nomem;
        *(char **)((char *)c + files[i].off) = p;
    }
    if (c->key && !c->cert) {
        errs_add(e, "soap", "key-file needs cert-file");
        bad++;
    }
    v = kv_get(o, "key-password-file");
    if (v) {
        size_t kl;
        if (config_read_secret(env->base_dir, v, &c->key_password, &kl, e)
            != 0)
            bad++;
    }
    c->concurrency = env->target ? env->target->concurrency : 0;
    if ((v = kv_get(o, "concurrency"))) {
        long n;
        if (config_parse_int(v, 1, MAX_CONCURRENCY, &n) != 0) {
            errs_add(e, "soap", "concurrency must be 1..%d", MAX_CONCURRENCY);
            bad++;
        } else {
            c->concurrency = (int)n;
        }
    }
    if (c->concurrency <= 0)
        c->concurrency = DEF_CONCURRENCY;
    if (c->concurrency > MAX_CONCURRENCY)
        c->concurrency = MAX_CONCURRENCY;
    v = kv_get(o, "idempotency-header");
    if (v && !token_ok(v)) {
        errs_add(e, "soap", "idempotency-header \"%s\" is not a header name",
                 v);
        bad++;
    } else if (dup_opt(&c->idem_header, v, NULL) != 0) {
        goto nomem;
    }
    v = kv_get(o, "idempotency-value");
    if (v && strcmp(v, "$reference") == 0) {
        c->idem_by_ref = true;
    } else if (v && strcmp(v, "$delivery-id") != 0) {
        errs_add(e, "soap", "idempotency-value \"%s\": use $delivery-id "
                 "(the default) or $reference", v);
        bad++;
    }
    return bad ? -1 : 0;
nomem:
    errs_add(e, "soap", "out of memory");
    return -1;
}

/* read_mapping - the mapping's <target> attributes and sections */
static int read_mapping(struct soap_ctx *c, const struct adapter_env *env,
                        struct errs *e)
{
    const struct map_target *m = env->map;
    const struct kvlist *o = m ? &m->opts : NULL;
    const char *v;
    int bad = 0;

    if (!m) {
        errs_add(e, "soap", "no mapping target for service %s",
                 env->service ? env->service : "?");
        return -1;
    }
    if (dup_opt(&c->operation, kv_get(o, "operation"), NULL) != 0 ||
        dup_opt(&c->ns, kv_get(o, "namespace"), "") != 0 ||
        dup_opt(&c->prefix, kv_get(o, "prefix"), "tns") != 0 ||
        dup_opt(&c->receipt_xpath, kv_get(o, "receipt-xpath"), NULL) != 0 ||
        dup_opt(&c->idem_element, kv_get(o, "idempotency-element"), NULL) != 0 ||
        dup_opt(&c->status_op, kv_get(o, "status-operation"), NULL) != 0 ||
        dup_opt(&c->status_action, kv_get(o, "status-action"), "") != 0 ||
        dup_opt(&c->status_xpath, kv_get(o, "status-xpath"), NULL) != 0 ||
        dup_opt(&c->status_found, kv_get(o, "status-found-value"), NULL) != 0 ||
        dup_opt(&c->status_receipt_xpath, kv_get(o, "status-receipt-xpath"),
                NULL) != 0 ||
        dup_opt(&c->status_ref_element, kv_get(o, "status-reference-element"),
                "Reference") != 0 ||
        dup_opt(&c->service, env->service, "") != 0)
        goto nomem;
    if (!c->operation || xmlValidateNCName(BAD_CAST c->operation, 0) != 0) {
        errs_add(e, "soap", "mapping needs operation= (an element name)");
        bad++;
    }
    if (*c->prefix && xmlValidateNCName(BAD_CAST c->prefix, 0) != 0) {
        errs_add(e, "soap", "prefix \"%s\" is not a valid prefix", c->prefix);
        bad++;
    }
    v = kv_get(o, "element-form");
    if (!v || strcmp(v, "qualified") == 0)
        c->qualified = true;
    else if (strcmp(v, "unqualified") == 0)
        c->qualified = false;
    else {
        errs_add(e, "soap", "element-form must be qualified or unqualified");
        bad++;
    }
    if (!header_safe(c->status_action, false)) {
        errs_add(e, "soap", "status-action holds a quote or control char");
        bad++;
    }
    /* XPath prefixes: soap = this version's envelope, the operation's own
     * prefix, then every ns-PREFIX="uri" attribute */
    if (ns_add(c, "soap", c->version == SOAP_12 ? SOAP_NS_12 : SOAP_NS_11))
        goto nomem;
    if (*c->ns && *c->prefix && ns_add(c, c->prefix, c->ns) != 0)
        goto nomem;
    for (size_t i = 0; i < o->n; i++)
        if (strncmp(o->v[i].key, "ns-", 3) == 0) {
            const char *p = o->v[i].key + 3;
            if (xmlValidateNCName(BAD_CAST p, 0) != 0) {
                errs_add(e, "soap", "\"%s\": bad namespace prefix",
                         o->v[i].key);
                bad++;
            } else if (ns_add(c, p, o->v[i].value) != 0) {
                goto nomem;
            }
        }
    if (c->receipt_xpath &&
        check_xpath(c, "receipt-xpath", c->receipt_xpath, e) != 0)
        bad++;
    /* named receipt fields, in the order written */
    for (size_t i = 0; i < o->n; i++) {
        if (strncmp(o->v[i].key, "receipt-field-", 14) != 0)
            continue;
        const char *name = o->v[i].key + 14;
        size_t nl = strlen(name), ok = nl > 0 && nl < 64;
        for (size_t k = 0; ok && k < nl; k++)
            ok = isalnum((unsigned char)name[k]) || name[k] == '_' ||
                 name[k] == '-';
        if (!ok) {
            errs_add(e, "soap", "\"%s\": a receipt field is named with "
                     "letters, digits, '_' and '-' (at most 63)",
                     o->v[i].key);
            bad++;
            continue;
        }
        if (c->nrf == SOAP_MAX_RECEIPT) {
            errs_add(e, "soap", "at most %d receipt-field-* attributes",
                     SOAP_MAX_RECEIPT);
            bad++;
            break;
        }
        if (!(c->rf[c->nrf].name = strdup(name)) ||
            !(c->rf[c->nrf].xpath = strdup(o->v[i].value))) {
            free(c->rf[c->nrf].name);
            goto nomem;
        }
        c->nrf++;
        if (check_xpath(c, o->v[i].key, o->v[i].value, e) != 0)
            bad++;
    }
    if (c->status_op) {
        if (xmlValidateNCName(BAD_CAST c->status_op, 0) != 0 ||
            !c->status_xpath || !c->status_found) {
            errs_add(e, "soap", "status-operation needs an element name, "
                     "status-xpath and status-found-value");
            bad++;
        } else if (check_xpath(c, "status-xpath", c->status_xpath, e) != 0) {
            bad++;
        }
        if (c->status_receipt_xpath &&
            check_xpath(c, "status-receipt-xpath", c->status_receipt_xpath,
                        e) != 0)
            bad++;
    }
    if (c->idem_element) {
        struct map_section s;
        struct map_assign a;
        memset(&s, 0, sizeof s);
        memset(&a, 0, sizeof a);
        a.to = c->idem_element;
        a.from = (char *)(c->idem_by_ref ? "$reference" : "$delivery-id");
        s.a = &a;
        s.na = 1;
        if (soap_envelope_check(&s, e) != 0)
            bad++;
    }
    for (size_t i = 0; i < m->nsec; i++) {
        const struct map_section *s = &m->sec[i];
        if (i == 0) {
            c->sec = s;
            if (soap_envelope_check(s, e) != 0)
                bad++;
        } else if (s->name && strcmp(s->name, "faults") == 0) {
            if (read_faults(c, s, e) != 0)
                bad++;
        } else {
            errs_add(e, "soap", "section \"%s\" means nothing to soap (known: "
                     "faults)", s->name ? s->name : "");
            bad++;
        }
    }
    return bad ? -1 : 0;
nomem:
    errs_add(e, "soap", "out of memory");
    return -1;
}

/* ---- transfers -------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct slot *s = ud;
    if (buf_append(&s->resp, p, size * n) != BUF_OK) {
        s->too_big = true;
        return 0;                    /* libcurl stops the transfer */
    }
    return size * n;
}

/* slot_setup - the options that never change for this instance */
static int slot_setup(struct soap_ctx *c, struct slot *s)
{
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    s->easy = h;
    buf_init(&s->resp, c->max_response);
    int bad = 0;
    bad |= curl_easy_setopt(h, CURLOPT_URL, c->endpoint);
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_POST, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_ms);
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    bad |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "ferry-soap/1");
    bad |= curl_easy_setopt(h, CURLOPT_PRIVATE, s);
    if (c->ca)
        bad |= curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
    if (c->cert)
        bad |= curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
    if (c->key)
        bad |= curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
    if (c->key_password)
        bad |= curl_easy_setopt(h, CURLOPT_KEYPASSWD, c->key_password);
    return bad ? -1 : 0;
}

/* idem_value - what the idempotency header and element carry: the
 * delivery identity, unique across spools (a reference is unique only
 * within one), unless the target says $reference */
static const char *idem_value(const struct soap_ctx *c,
                              const struct delivery_item *it)
{
    const char *v = c->idem_by_ref || !it->delivery_id || !*it->delivery_id
                        ? it->ref : it->delivery_id;
    return v ? v : "";
}

/* make_headers - Content-Type, SOAPAction, Expect, idempotency header */
static struct curl_slist *make_headers(const struct soap_ctx *c,
                                       const char *action, const char *ref)
{
    struct curl_slist *l = NULL, *t;
    struct buf b;
    buf_init(&b, 4096);
    if (c->version == SOAP_11) {
        if (buf_puts(&b, "Content-Type: text/xml; charset=utf-8") != BUF_OK)
            goto fail;
        if (!(t = curl_slist_append(l, b.data)))
            goto fail;
        l = t;
        buf_reset(&b);
        if (buf_printf(&b, "SOAPAction: \"%s\"", action) != BUF_OK)
            goto fail;
    } else if (*action) {
        if (buf_printf(&b, "Content-Type: application/soap+xml; "
                       "charset=utf-8; action=\"%s\"", action) != BUF_OK)
            goto fail;
    } else if (buf_puts(&b, "Content-Type: application/soap+xml; "
                        "charset=utf-8") != BUF_OK) {
        goto fail;
    }
    if (!(t = curl_slist_append(l, b.data)))
        goto fail;
    l = t;
    if (!(t = curl_slist_append(l, "Expect:")))
        goto fail;
    l = t;
    if (c->idem_header && ref) {
        buf_reset(&b);
        if (buf_printf(&b, "%s: %s", c->idem_header, ref) != BUF_OK ||
            !(t = curl_slist_append(l, b.data)))
            goto fail;
        l = t;
    }
    buf_free(&b);
    return l;
fail:
    buf_free(&b);
    curl_slist_free_all(l);
    return NULL;
}

/* slot_start - build the request for it and add the slot to the multi;
 * on a problem fills it->res (FAIL) and returns -1 */
static int slot_start(struct soap_ctx *c, struct slot *s,
                      struct delivery_item *it, bool probe)
{
    struct errs e;
    struct soap_wsse w;
    struct soap_extra extra[1];
    struct soap_call call;

    errs_init(&e);
    memset(&call, 0, sizeof call);
    s->item = it;
    s->probe = probe;
    s->too_big = false;
    s->errbuf[0] = '\0';
    buf_reset(&s->resp);
    if (it->ref && !header_safe(it->ref, false)) {
        adapter_result_set(&it->res, ADAPTER_FAIL,
                           "reference holds a control character");
        return -1;
    }
    call.version = c->version;
    call.ns = c->ns;
    call.prefix = c->prefix;
    call.qualified = c->qualified;
    call.ref = it->ref;
    call.delivery_id = it->delivery_id;
    call.service = it->service ? it->service : c->service;
    call.attempt = it->attempt;
    if (c->username) {
        memset(&w, 0, sizeof w);
        w.username = c->username;
        w.password = c->password;
        w.password_len = c->password_len;
        w.digest = c->digest;
        call.wsse = &w;
    }
    if (probe) {
        call.operation = c->status_op;
        extra[0].path = c->status_ref_element;
        extra[0].text = it->ref ? it->ref : "";
        call.extra = extra;
        call.nextra = 1;
    } else {
        call.operation = c->operation;
        call.sec = c->sec;
        if (c->idem_element) {
            extra[0].path = c->idem_element;
            extra[0].text = idem_value(c, it);
            call.extra = extra;
            call.nextra = 1;
        }
    }
    xmlFree(s->req);
    s->req = NULL;
    if (soap_envelope_build(&call, it->rec, &s->req, &s->reqlen, &e) != 0) {
        adapter_result_set(&it->res, ADAPTER_FAIL, "cannot build the "
                           "envelope: %s%s%s", e.n ? e.v[0].where : "",
                           e.n ? ": " : "", errs_first_msg(&e));
        errs_free(&e);
        return -1;
    }
    errs_free(&e);
    curl_slist_free_all(s->hdrs);
    s->hdrs = make_headers(c, probe ? c->status_action : c->action,
                           probe ? NULL : idem_value(c, it));
    if (!s->hdrs ||
        curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)s->reqlen)
            != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, (char *)s->req)
            != CURLE_OK ||
        curl_multi_add_handle(c->multi, s->easy) != CURLM_OK) {
        adapter_result_set(&it->res, ADAPTER_RETRY, "out of memory "
                           "starting the call");
        return -1;
    }
    return 0;
}

/* fault_detail - r's fault detail fields as "Name=value, ..." into
 * r->detail_text, each value scrubbed of echoed values and shown as
 * MASK_TEXT when it holds a personal value of the record (mask_echoes):
 * support sees the back end's codes, never the citizen's data */
static void fault_detail(const struct delivery_item *it, struct soap_reply *r)
{
    size_t o = 0;
    r->detail_text[0] = '\0';
    for (size_t i = 0; i < r->ndet; i++) {
        char v[sizeof r->det[i].value];
        snprintf(v, sizeof v, "%s", r->det[i].value);
        scrub_echoed_values(v, sizeof v);
        const char *shown = mask_text(v, mask_echoes(it->rec,
                                                     r->det[i].value), false);
        int w = snprintf(r->detail_text + o, sizeof r->detail_text - o,
                         "%s%s=%s", o ? ", " : "", r->det[i].name, shown);
        if (w < 0 || (size_t)w >= sizeof r->detail_text - o) {
            r->detail_text[o] = '\0';      /* whole fields only */
            break;
        }
        o += (size_t)w;
    }
}

/* receipt_fields - the receipt-field-* XPaths on the response body, as a
 * JSON object {"name": "value"} into out ("" when none matched or it does
 * not fit); a value holding a personal value of the record is MASK_TEXT */
static void receipt_fields(const struct soap_ctx *c, const struct slot *s,
                           const struct delivery_item *it, char *out,
                           size_t outsz)
{
    out[0] = '\0';
    if (!c->nrf)
        return;
    json_t *o = json_object();
    for (size_t i = 0; o && i < c->nrf; i++) {
        struct soap_reply rr;
        char perr[256];
        if (soap_reply_parse(s->resp.data, s->resp.len, c->rf[i].xpath,
                             c->nsmap, c->nns, &rr, perr, sizeof perr)
                != SOAP_PARSE_OK || rr.fault || !rr.has_receipt)
            continue;
        json_t *v = json_string(mask_text(rr.receipt,
                                          mask_echoes(it->rec, rr.receipt),
                                          false));
        if (v)
            json_object_set_new(o, c->rf[i].name, v);
    }
    if (o && json_object_size(o) > 0) {
        char *d = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (d && strlen(d) < outsz)
            snprintf(out, outsz, "%s", d);
        free(d);
    }
    json_decref(o);
}

/* slot_finish - turn a finished transfer into the item's result */
static void slot_finish(struct soap_ctx *c, struct slot *s, CURLcode code)
{
    struct delivery_item *it = s->item;
    struct soap_exchange x;
    struct soap_reply r;
    char perr[512] = "";
    long status = 0;
    curl_off_t up = 0;

    memset(&x, 0, sizeof x);
    memset(&r, 0, sizeof r);
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(s->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    x.curl_code = code;
    x.curl_error = s->errbuf;
    x.http_status = status;
    /* the whole body went out: the back end may have acted on it */
    x.request_sent = up >= (curl_off_t)s->reqlen || status != 0;
    x.too_big = s->too_big;
    x.max_response = c->max_response;
    x.parse = SOAP_PARSE_BAD;
    if (code == CURLE_OK) {
        const char *xp = s->probe ? c->status_xpath : c->receipt_xpath;
        x.parse = s->resp.len
                      ? soap_reply_parse(s->resp.data, s->resp.len, xp,
                                         c->nsmap, c->nns, &r, perr,
                                         sizeof perr)
                      : SOAP_PARSE_BAD;
        if (!s->resp.len)
            snprintf(perr, sizeof perr, "empty response");
        x.parse_error = perr;
        x.reply = &r;
        if (r.fault && r.ndet)
            fault_detail(it, &r);
    }
    enum adapter_outcome o = soap_classify(&x, c->ov, c->nov, it->res.msg,
                                           sizeof it->res.msg);
    scrub_echoed_values(it->res.msg, sizeof it->res.msg);
    it->res.outcome = o;
    it->res.receipt[0] = '\0';
    if (s->probe) {
        /* found: OK with receipt; a clean answer without it: FAIL (safe to
         * send again); anything else: RETRY (cannot tell now) */
        if (o == ADAPTER_STOP) {
            /* credentials or certificate refused: as on delivery */
        } else if (o != ADAPTER_OK) {
            it->res.outcome = ADAPTER_RETRY;
        } else if (r.has_receipt && strcmp(r.receipt, c->status_found) == 0) {
            it->res.outcome = ADAPTER_OK;
            snprintf(it->res.msg, sizeof it->res.msg, "found by %s",
                     c->status_op);
            receipt_fields(c, s, it, it->res.receipt_data,
                           sizeof it->res.receipt_data);
            if (c->status_receipt_xpath) {
                struct soap_reply r2;
                if (soap_reply_parse(s->resp.data, s->resp.len,
                                     c->status_receipt_xpath, c->nsmap,
                                     c->nns, &r2, perr, sizeof perr)
                        == SOAP_PARSE_OK && r2.has_receipt)
                    snprintf(it->res.receipt, sizeof it->res.receipt, "%s",
                             r2.receipt);
            }
        } else {
            it->res.outcome = ADAPTER_FAIL;
            snprintf(it->res.msg, sizeof it->res.msg, "not found by %s "
                     "(status \"%s\")", c->status_op,
                     r.has_receipt ? r.receipt : "");
        }
    } else if (o == ADAPTER_OK && r.has_receipt) {
        memcpy(it->res.receipt, r.receipt, sizeof it->res.receipt);
    } else if (o == ADAPTER_OK && c->receipt_xpath) {
        snprintf(it->res.msg, sizeof it->res.msg, "delivered; receipt-xpath "
                 "matched nothing");
    }
    if (!s->probe && o == ADAPTER_OK)
        receipt_fields(c, s, it, it->res.receipt_data,
                       sizeof it->res.receipt_data);
    curl_multi_remove_handle(c->multi, s->easy);
    curl_slist_free_all(s->hdrs);
    s->hdrs = NULL;
    xmlFree(s->req);
    s->req = NULL;
    buf_reset(&s->resp);
    s->item = NULL;
}

/* run - every item to an outcome, up to concurrency in flight */
static void run(struct soap_ctx *c, struct delivery_item *items, size_t n,
                bool probe)
{
    size_t next = 0;
    int active = 0;

    pthread_mutex_lock(&c->lock);
    while (next < n || active > 0) {
        for (int i = 0; i < c->concurrency && next < n; i++) {
            if (c->slots[i].item)
                continue;
            struct delivery_item *it = &items[next++];
            memset(&it->res, 0, sizeof it->res);
            if (slot_start(c, &c->slots[i], it, probe) == 0)
                active++;
            else
                c->slots[i].item = NULL;
        }
        if (active == 0)
            continue;
        int running = 0;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct slot *s = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &s);
            CURLcode rc = m->data.result;
            slot_finish(c, s, rc);      /* invalidates m */
            active--;
        }
        if (mc != CURLM_OK) {
            /* the multi handle itself failed: nothing more will finish */
            for (int i = 0; i < c->concurrency; i++) {
                struct slot *s = &c->slots[i];
                if (!s->item)
                    continue;
                adapter_result_set(&s->item->res, ADAPTER_INDOUBT,
                                   "libcurl: %s", curl_multi_strerror(mc));
                curl_multi_remove_handle(c->multi, s->easy);
                s->item = NULL;
                active--;
            }
            continue;
        }
        if (active > 0 && running > 0)
            curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- the descriptor's callbacks ------------------------------------- */

static int soap_init(void **ctxp, const struct adapter_env *env,
                     struct errs *e)
{
    *ctxp = NULL;
    pthread_once(&global_once, global_init);
    if (!global_ok) {
        errs_add(e, "soap", "libcurl did not initialise");
        return -1;
    }
    struct soap_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        errs_add(e, "soap", "out of memory");
        return -1;
    }
    pthread_mutex_init(&c->lock, NULL);
    int bad = read_target(c, env, e) != 0;
    bad |= read_mapping(c, env, e) != 0;
    if (bad)
        goto fail;
    c->multi = curl_multi_init();
    c->slots = calloc((size_t)c->concurrency, sizeof *c->slots);
    if (!c->multi || !c->slots)
        goto nomem;
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)c->concurrency);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)c->concurrency);
    for (int i = 0; i < c->concurrency; i++)
        if (slot_setup(c, &c->slots[i]) != 0)
            goto nomem;
    *ctxp = c;
    return 0;
nomem:
    errs_add(e, "soap", "out of memory");
fail:
    ctx_free(c);
    return -1;
}

static void soap_close(void *ctx)
{
    ctx_free(ctx);
}

static void soap_deliver(void *ctx, struct delivery_item *items, size_t n)
{
    run(ctx, items, n, false);
}

static void soap_probe(void *ctx, struct delivery_item *item)
{
    struct soap_ctx *c = ctx;
    if (!c->status_op) {
        adapter_result_set(&item->res, ADAPTER_STOP, "cannot be checked: "
                           "no status-operation in the mapping");
        return;
    }
    run(c, item, 1, true);
}


static const struct adapter_key soap_map_keys[] = {
    ADAPTER_KEY("operation", ADAPTER_OPT_STR, true,
                "operation (Body child) element name"),
    ADAPTER_KEY("namespace", ADAPTER_OPT_STR, false,
                "operation namespace URI"),
    ADAPTER_KEY("prefix", ADAPTER_OPT_STR, false,
                "its prefix (default tns)"),
    ADAPTER_KEY("element-form", ADAPTER_OPT_STR, false,
                "qualified (default) or unqualified"),
    ADAPTER_KEY("action", ADAPTER_OPT_STR, false,
                "SOAPAction, overrides the target's"),
    ADAPTER_KEY("receipt-xpath", ADAPTER_OPT_STR, false,
                "XPath to the receipt in the response"),
    ADAPTER_KEY("ns-*", ADAPTER_OPT_STR, false,
                "ns-PREFIX=\"URI\": namespace for XPath"),
    ADAPTER_KEY("receipt-field-*", ADAPTER_OPT_STR, false,
                "receipt-field-NAME=\"XPath\": a named part of the receipt"),
    ADAPTER_KEY("idempotency-element", ADAPTER_OPT_STR, false,
                "element path carrying the idempotency value"),
    ADAPTER_KEY("status-operation", ADAPTER_OPT_STR, false,
                "status operation for in-doubt records"),
    ADAPTER_KEY("status-action", ADAPTER_OPT_STR, false,
                "its SOAPAction"),
    ADAPTER_KEY("status-reference-element", ADAPTER_OPT_STR, false,
                "element carrying the reference " "(default Reference)"),
    ADAPTER_KEY("status-xpath", ADAPTER_OPT_STR, false,
                "XPath to the status value"),
    ADAPTER_KEY("status-found-value", ADAPTER_OPT_STR, false,
                "status value meaning: it arrived"),
    ADAPTER_KEY("status-receipt-xpath", ADAPTER_OPT_STR, false,
                "XPath to the receipt in the status answer"),
    ADAPTER_KEY_END,
};

const struct adapter adapter_soap = {
    .name = "soap",
    .description = "SOAP 1.1/1.2 web service calls (libcurl + libxml2)",
    .kind = ADAPTER_STREAM,
    .keys = soap_keys,
    .map_keys = soap_map_keys,
    .init = soap_init,
    .close = soap_close,
    .deliver = soap_deliver,
    .probe = soap_probe,
    .admit_new = soap_admit_new,
    .admit = soap_admit,
    .admit_free = soap_admit_free,
};
