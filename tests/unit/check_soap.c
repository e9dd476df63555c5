/* check_soap.c - the SOAP adapter's building blocks: envelopes (1.1, 1.2,
 * escaping, nesting, lists, formats), the WS-Security digest vector,
 * fault and transport classification, DOCTYPE/XXE refusal and the XPath
 * receipt.  Everything here runs on canned XML; tests/integration/30_soap.sh
 * drives the adapter against a real SOAP server. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "adapters/soap.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/errs.h"

#define NASTY "Smith & Sons <\"quoted\"> 'it's'"

/* ---- helpers --------------------------------------------------------- */

static struct record *claim_record(void)
{
    struct record *r = record_new();
    ck_assert_ptr_nonnull(r);
    struct record_field *f = record_add(r, "name");
    ck_assert_int_eq(fvalue_set_text(&f->v, FT_STRING, NASTY), 0);
    f = record_add(r, "amount");
    ck_assert_int_eq(fvalue_set_decimal(&f->v, 1250, 2), 0);
    f = record_add(r, "claim_date");
    int64_t days;
    ck_assert_int_eq(record_date_parse("2026-11-27", &days), 0);
    ck_assert_int_eq(fvalue_set_date(&f->v, days), 0);
    f = record_add(r, "postcode");
    f->v.type = FT_STRING;                   /* absent: no element */
    f = record_add(r, "items");
    f->v.type = FT_LIST;
    f->v.present = true;
    f->v.nitems = 2;
    f->v.items = calloc(2, sizeof *f->v.items);
    ck_assert_ptr_nonnull(f->v.items);
    const char *texts[2] = { "first", "sec<ond>" };
    for (int i = 0; i < 2; i++) {
        struct record *it = record_new();
        struct record_field *g = record_add(it, "text");
        ck_assert_int_eq(fvalue_set_text(&g->v, FT_STRING, texts[i]), 0);
        f->v.items[i] = it;
    }
    return r;
}

static struct map_assign assign(const char *to, const char *from,
                                const char *value, const char *format)
{
    struct map_assign a;
    memset(&a, 0, sizeof a);
    a.to = (char *)to;
    a.from = (char *)from;
    a.value = (char *)value;
    a.format = (char *)format;
    return a;
}

/* xpath_text - string value of expr in the document (caller frees) */
static char *xpath_text(const xmlChar *xml, int len, const char *expr,
                        const char *envns)
{
    xmlDocPtr doc = xmlReadMemory((const char *)xml, len, NULL, NULL,
                                  XML_PARSE_NONET);
    ck_assert_ptr_nonnull(doc);
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(xc, BAD_CAST "s", BAD_CAST envns);
    xmlXPathRegisterNs(xc, BAD_CAST "c", BAD_CAST "urn:ferry:test:claims");
    xmlXPathRegisterNs(xc, BAD_CAST "wsse", BAD_CAST SOAP_NS_WSSE);
    xmlXPathRegisterNs(xc, BAD_CAST "wsu", BAD_CAST SOAP_NS_WSU);
    xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST expr, xc);
    ck_assert_ptr_nonnull(o);
    xmlChar *s = xmlXPathCastToString(o);
    char *out = strdup((const char *)s);
    xmlFree(s);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(xc);
    xmlFreeDoc(doc);
    return out;
}

static void assert_xpath(const xmlChar *xml, int len, const char *envns,
                         const char *expr, const char *want)
{
    char *got = xpath_text(xml, len, expr, envns);
    ck_assert_msg(strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"",
                  expr, got, want);
    free(got);
}

/* ---- WS-Security ----------------------------------------------------- */

/* a reply whose bytes do not convert from its declared encoding is a
 * problem of the reply, with libxml2's reason; nothing reaches stderr */
START_TEST(test_bad_encoding_reply_never_writes_stderr)
{
    static const char body[] =
        "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?>"
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<s:Body>\x1b$B\xff\xfe\x1b(B</s:Body></s:Envelope>";
    char path[] = "/tmp/ferry-stderr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    struct soap_reply r;
    char err[256];
    enum soap_parse_status st = soap_reply_parse(body, sizeof body - 1, NULL,
                                                 NULL, 0, &r, err, sizeof err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t written = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    ck_assert_int_eq(st, SOAP_PARSE_BAD);
    ck_assert_msg(strstr(err, "input conversion failed"), "err: %s", err);
    ck_assert_int_eq(written, 0);
}
END_TEST

START_TEST(test_wsse_digest_vector)
{
    unsigned char nonce[16];
    int n = EVP_DecodeBlock(nonce, (const unsigned char *)
                            "LKqI6G/AikKCQrN0zqZFlg==", 24);
    ck_assert_int_eq(n, 18);                 /* 16 bytes + 2 pad */
    char out[32];
    ck_assert_int_eq(soap_wsse_digest(nonce, 16, "2010-09-16T07:50:45Z",
                                      "userpassword", 12, out, sizeof out),
                     0);
    ck_assert_str_eq(out, "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
    /* a different password gives a different digest */
    ck_assert_int_eq(soap_wsse_digest(nonce, 16, "2010-09-16T07:50:45Z",
                                      "userpassworD", 12, out, sizeof out),
                     0);
    ck_assert_str_ne(out, "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
    ck_assert_int_eq(soap_wsse_digest(nonce, 16, "x", "y", 1, out, 28), -1);
}
END_TEST

START_TEST(test_envelope_wsse_digest_in_header)
{
    unsigned char nonce[18];
    EVP_DecodeBlock(nonce, (const unsigned char *)"LKqI6G/AikKCQrN0zqZFlg==",
                    24);
    struct soap_wsse w = {
        .username = "claims-user", .password = "userpassword",
        .password_len = 12, .digest = true, .nonce = nonce, .nonce_len = 16,
        .created = "2010-09-16T07:50:45Z",
    };
    struct soap_call c = {
        .version = SOAP_12, .ns = "urn:ferry:test:claims", .prefix = "c",
        .operation = "SubmitClaim", .qualified = true, .wsse = &w,
        .ref = "FR-1",
    };
    struct errs e;
    errs_init(&e);
    xmlChar *xml;
    int len;
    ck_assert_int_eq(soap_envelope_build(&c, NULL, &xml, &len, &e), 0);
    const char *u = "/s:Envelope/s:Header/wsse:Security/wsse:UsernameToken";
    char expr[256];
    snprintf(expr, sizeof expr, "%s/wsse:Password", u);
    assert_xpath(xml, len, SOAP_NS_12, expr, "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
    snprintf(expr, sizeof expr, "%s/wsse:Password/@Type", u);
    assert_xpath(xml, len, SOAP_NS_12, expr, SOAP_PW_DIGEST);
    snprintf(expr, sizeof expr, "%s/wsse:Nonce", u);
    assert_xpath(xml, len, SOAP_NS_12, expr, "LKqI6G/AikKCQrN0zqZFlg==");
    snprintf(expr, sizeof expr, "%s/wsu:Created", u);
    assert_xpath(xml, len, SOAP_NS_12, expr, "2010-09-16T07:50:45Z");
    assert_xpath(xml, len, SOAP_NS_12,
                 "/s:Envelope/s:Header/wsse:Security/@s:mustUnderstand",
                 "true");
    ck_assert_ptr_null(strstr((const char *)xml, "userpassword"));
    xmlFree(xml);

    /* PasswordText carries the password itself, escaped */
    w.digest = false;
    w.password = "p<&>w";
    w.password_len = 5;
    w.nonce = NULL;
    w.created = NULL;
    c.version = SOAP_11;
    ck_assert_int_eq(soap_envelope_build(&c, NULL, &xml, &len, &e), 0);
    snprintf(expr, sizeof expr, "%s/wsse:Password", u);
    assert_xpath(xml, len, SOAP_NS_11, expr, "p<&>w");
    snprintf(expr, sizeof expr, "%s/wsse:Password/@Type", u);
    assert_xpath(xml, len, SOAP_NS_11, expr, SOAP_PW_TEXT);
    assert_xpath(xml, len, SOAP_NS_11,
                 "/s:Envelope/s:Header/wsse:Security/@s:mustUnderstand", "1");
    snprintf(expr, sizeof expr, "string-length(%s/wsse:Nonce)", u);
    assert_xpath(xml, len, SOAP_NS_11, expr, "24");    /* 16 random bytes */
    xmlFree(xml);
    ck_assert_uint_eq(e.n, 0);
    errs_free(&e);
}
END_TEST

/* ---- envelopes ------------------------------------------------------- */

static void check_claim_envelope(enum soap_version v, const char *envns)
{
    struct map_assign a[] = {
        assign("Reference", "$reference", NULL, NULL),
        assign("Amount", "amount", NULL, NULL),
        assign("ClaimDate", "claim_date", NULL, "%d/%m/%Y"),
        assign("Claimant/Name", "name", NULL, NULL),
        assign("Claimant/Postcode", "postcode", NULL, NULL),
        assign("Item", "items", NULL, NULL),
        assign("Note", NULL, "fixed <note> & \"more\"", NULL),
    };
    struct map_section sec = { .name = (char *)"record", .a = a,
                               .na = sizeof a / sizeof a[0] };
    struct soap_extra idem = { "Meta/RequestId", "FR-000042" };
    struct soap_call c = {
        .version = v, .ns = "urn:ferry:test:claims", .prefix = "c",
        .operation = "SubmitClaim", .qualified = true, .sec = &sec,
        .extra = &idem, .nextra = 1, .ref = "FR-000042", .service = "claims",
        .attempt = 1,
    };
    struct record *r = claim_record();
    struct errs e;
    errs_init(&e);
    xmlChar *xml;
    int len;
    ck_assert_int_eq(soap_envelope_build(&c, r, &xml, &len, &e), 0);
    ck_assert_uint_eq(e.n, 0);
    const char *s = (const char *)xml;
    /* the library escaped the text: no raw markup from the data */
    ck_assert_ptr_nonnull(strstr(s, "Smith &amp; Sons &lt;"));
    ck_assert_ptr_null(strstr(s, "<\"quoted\">"));
    ck_assert_ptr_nonnull(strstr(s, "sec&lt;ond&gt;"));
    ck_assert_ptr_null(strstr(s, "Header"));            /* no wsse */
    const char *op = "/s:Envelope/s:Body/c:SubmitClaim";
    char expr[256];
#define X(path, want) do { \
        snprintf(expr, sizeof expr, "%s%s", op, path); \
        assert_xpath(xml, len, envns, expr, want); } while (0)
    X("/c:Reference", "FR-000042");
    X("/c:Amount", "12.50");
    X("/c:ClaimDate", "27/11/2026");
    X("/c:Claimant/c:Name", NASTY);
    X("/c:Meta/c:RequestId", "FR-000042");
    X("/c:Note", "fixed <note> & \"more\"");
    snprintf(expr, sizeof expr, "count(%s/c:Claimant)", op);
    assert_xpath(xml, len, envns, expr, "1");           /* shared parent */
    snprintf(expr, sizeof expr, "count(%s/c:Claimant/c:Postcode)", op);
    assert_xpath(xml, len, envns, expr, "0");           /* absent field */
    snprintf(expr, sizeof expr, "count(%s/c:Item)", op);
    assert_xpath(xml, len, envns, expr, "2");
    X("/c:Item[1]", "first");
    X("/c:Item[2]", "sec<ond>");
    /* document order follows the assignments */
    X("/*[1]/self::c:Reference", "FR-000042");
#undef X
    xmlFree(xml);
    record_free(r);
    errs_free(&e);
}

START_TEST(test_envelope_soap11_escaping_nesting_lists)
{
    check_claim_envelope(SOAP_11, SOAP_NS_11);
}
END_TEST

START_TEST(test_envelope_soap12_escaping_nesting_lists)
{
    check_claim_envelope(SOAP_12, SOAP_NS_12);
}
END_TEST

START_TEST(test_envelope_unqualified_children)
{
    struct map_assign a[] = { assign("Reference", "$reference", NULL, NULL) };
    struct map_section sec = { .a = a, .na = 1 };
    struct soap_call c = {
        .version = SOAP_11, .ns = "urn:x", .prefix = "x", .operation = "Op",
        .qualified = false, .sec = &sec, .ref = "R",
    };
    struct errs e;
    errs_init(&e);
    xmlChar *xml;
    int len;
    ck_assert_int_eq(soap_envelope_build(&c, NULL, &xml, &len, &e), 0);
    ck_assert_ptr_nonnull(strstr((const char *)xml, "<x:Op xmlns:x=\"urn:x\">"
                                 "<Reference>R</Reference></x:Op>"));
    xmlFree(xml);
    /* no namespace at all: the operation is not in the envelope's */
    c.ns = "";
    ck_assert_int_eq(soap_envelope_build(&c, NULL, &xml, &len, &e), 0);
    ck_assert_ptr_nonnull(strstr((const char *)xml, "<soapenv:Body><Op>"
                                 "<Reference>R</Reference></Op>"));
    xmlFree(xml);
    c.ns = "urn:x";
    /* a default namespace would swallow unqualified children: refused */
    c.prefix = "";
    ck_assert_int_eq(soap_envelope_build(&c, NULL, &xml, &len, &e), -1);
    ck_assert_ptr_null(xml);
    errs_free(&e);
}
END_TEST

START_TEST(test_envelope_problems_listed)
{
    struct map_assign a[] = {
        assign("Name", "no_such_field", NULL, NULL),
        assign("Bad Name", NULL, "x", NULL),
        assign("Amount", "amount", NULL, "%Y"),      /* format on decimal */
        assign("Ctl", NULL, "bell\a", NULL),
        assign("Who", "$nobody", NULL, NULL),
    };
    struct map_section sec = { .a = a, .na = sizeof a / sizeof a[0] };
    struct soap_call c = {
        .version = SOAP_11, .ns = "urn:x", .prefix = "x", .operation = "Op",
        .qualified = true, .sec = &sec, .ref = "R",
    };
    struct record *r = claim_record();
    struct errs e;
    errs_init(&e);
    xmlChar *xml;
    int len;
    ck_assert_int_eq(soap_envelope_build(&c, r, &xml, &len, &e), -1);
    ck_assert_ptr_null(xml);
    ck_assert_uint_eq(e.n, 5);
    ck_assert_ptr_nonnull(strstr(e.v[0].msg, "no_such_field"));
    ck_assert_ptr_nonnull(strstr(e.v[1].msg, "not an XML element name"));
    ck_assert_ptr_nonnull(strstr(e.v[2].msg, "format"));
    ck_assert_ptr_nonnull(strstr(e.v[3].msg, "control character"));
    ck_assert_ptr_nonnull(strstr(e.v[4].msg, "$nobody"));
    errs_clear(&e);
    /* the static check finds the path and the special without a record */
    ck_assert_int_eq(soap_envelope_check(&sec, &e), 2);
    record_free(r);
    errs_free(&e);
}
END_TEST

/* ---- responses and classification ----------------------------------- */

static const char FAULT11[] =
    "<?xml version='1.0'?><soap:Envelope xmlns:soap='" SOAP_NS_11 "'>"
    "<soap:Body><soap:Fault><faultcode>soap:%s</faultcode>"
    "<faultstring>%s</faultstring></soap:Fault></soap:Body></soap:Envelope>";
static const char FAULT12[] =
    "<env:Envelope xmlns:env='" SOAP_NS_12 "' xmlns:app='urn:app'>"
    "<env:Body><env:Fault><env:Code><env:Value>env:%s</env:Value>"
    "<env:Subcode><env:Value>app:%s</env:Value></env:Subcode></env:Code>"
    "<env:Reason><env:Text xml:lang='en'>%s</env:Text></env:Reason>"
    "</env:Fault></env:Body></env:Envelope>";
static const char OK11[] =
    "<soap:Envelope xmlns:soap='" SOAP_NS_11 "'><soap:Body>"
    "<SubmitClaimResponse xmlns='urn:ferry:test:claims'>"
    "<Receipt> RCPT-77 </Receipt></SubmitClaimResponse>"
    "</soap:Body></soap:Envelope>";

static const struct soap_nsmap NS[] = {
    { "soap", SOAP_NS_11 }, { "c", "urn:ferry:test:claims" },
};
static const char *RECEIPT = "/soap:Envelope/soap:Body/c:SubmitClaimResponse"
                             "/c:Receipt";

/* classify_body - parse body as an HTTP answer with status; outcome */
static enum adapter_outcome classify_body(const char *body, long status,
                                          const struct soap_override *ov,
                                          size_t nov, char *msg, size_t msgsz,
                                          struct soap_reply *r)
{
    char perr[512];
    struct soap_exchange x;
    memset(&x, 0, sizeof x);
    x.http_status = status;
    x.request_sent = true;
    x.parse = soap_reply_parse(body, strlen(body), RECEIPT, NS, 2, r, perr,
                               sizeof perr);
    x.parse_error = perr;
    x.reply = r;
    return soap_classify(&x, ov, nov, msg, msgsz);
}

START_TEST(test_fault_classification_defaults)
{
    char body[2048], msg[1024];
    struct soap_reply r;

    snprintf(body, sizeof body, FAULT11, "Client", "Amount must be &gt; 0");
    ck_assert_int_eq(classify_body(body, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_FAIL);
    ck_assert_str_eq(r.code, "Client");
    ck_assert_ptr_nonnull(strstr(msg, "Client"));
    ck_assert_ptr_nonnull(strstr(msg, "Amount must be > 0"));

    snprintf(body, sizeof body, FAULT11, "Server", "database unavailable");
    ck_assert_int_eq(classify_body(body, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_RETRY);
    ck_assert_ptr_nonnull(strstr(msg, "database unavailable"));

    snprintf(body, sizeof body, FAULT11, "Client.Authentication", "who?");
    ck_assert_int_eq(classify_body(body, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_FAIL);
    snprintf(body, sizeof body, FAULT11, "Server.Busy", "later");
    ck_assert_int_eq(classify_body(body, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_RETRY);
    snprintf(body, sizeof body, FAULT11, "ServerSide", "not a Server code");
    ck_assert_int_eq(classify_body(body, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_FAIL);

    snprintf(body, sizeof body, FAULT12, "Sender", "BadAmount", "no claim");
    ck_assert_int_eq(classify_body(body, 400, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_FAIL);
    ck_assert_str_eq(r.code, "Sender");
    ck_assert_str_eq(r.subcode, "BadAmount");
    ck_assert_ptr_nonnull(strstr(msg, "no claim"));

    snprintf(body, sizeof body, FAULT12, "Receiver", "Db", "down");
    ck_assert_int_eq(classify_body(body, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_RETRY);
    /* a 1.1-style fault body inside a 1.2 envelope is still read */
    const char *mixed = "<e:Envelope xmlns:e='" SOAP_NS_12 "'><e:Body>"
        "<e:Fault><faultcode>e:Client</faultcode><faultstring>nope"
        "</faultstring></e:Fault></e:Body></e:Envelope>";
    ck_assert_int_eq(classify_body(mixed, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_FAIL);
    ck_assert_str_eq(r.code, "Client");
    ck_assert_str_eq(r.reason, "nope");
    /* a fault with HTTP 200 is still a fault */
    snprintf(body, sizeof body, FAULT12, "Sender", "X", "refused");
    ck_assert_int_eq(classify_body(body, 200, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_FAIL);
    /* WS-Security refused the credentials: no record can fix that, the
     * target stops (code as a 1.2 subcode, or the service's words) */
    snprintf(body, sizeof body, FAULT12, "Sender", "FailedAuthentication",
             "The security token could not be authenticated");
    ck_assert_int_eq(classify_body(body, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_STOP);
    snprintf(body, sizeof body, FAULT12, "Sender", "X",
             "authentication failed: bad password");
    ck_assert_int_eq(classify_body(body, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_STOP);
}
END_TEST

START_TEST(test_fault_classification_overrides)
{
    char body[2048], msg[1024];
    struct soap_reply r;
    const struct soap_override ov[] = {
        { NULL, "busy", ADAPTER_RETRY },
        { "Maintenance", NULL, ADAPTER_RETRY },
        { "Server.Duplicate", NULL, ADAPTER_FAIL },
    };

    snprintf(body, sizeof body, FAULT11, "Client", "System BUSY, try later");
    ck_assert_int_eq(classify_body(body, 500, ov, 3, msg, sizeof msg, &r),
                     ADAPTER_RETRY);
    ck_assert_ptr_nonnull(strstr(msg, "override"));
    ck_assert_ptr_nonnull(strstr(msg, "System BUSY, try later"));
    /* without the override the same fault fails */
    ck_assert_int_eq(classify_body(body, 500, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_FAIL);
    /* by SOAP 1.2 subcode */
    snprintf(body, sizeof body, FAULT12, "Sender", "Maintenance", "closed");
    ck_assert_int_eq(classify_body(body, 400, ov, 3, msg, sizeof msg, &r),
                     ADAPTER_RETRY);
    /* by full 1.1 code: Server made permanent */
    snprintf(body, sizeof body, FAULT11, "Server.Duplicate", "seen it");
    ck_assert_int_eq(classify_body(body, 500, ov, 3, msg, sizeof msg, &r),
                     ADAPTER_FAIL);
    /* a code override does not match a prefix */
    snprintf(body, sizeof body, FAULT11, "Server.DuplicateX", "seen it");
    ck_assert_int_eq(classify_body(body, 500, ov, 3, msg, sizeof msg, &r),
                     ADAPTER_RETRY);
}
END_TEST

START_TEST(test_transport_classification)
{
    char msg[1024];
    struct soap_exchange x;
    struct soap_reply r;

    memset(&x, 0, sizeof x);
    x.curl_code = CURLE_COULDNT_CONNECT;
    x.curl_error = "Failed to connect to 127.0.0.1 port 9: Connection refused";
    ck_assert_int_eq(soap_classify(&x, NULL, 0, msg, sizeof msg),
                     ADAPTER_RETRY);
    ck_assert_ptr_nonnull(strstr(msg, "Connection refused"));
    x.curl_code = CURLE_COULDNT_RESOLVE_HOST;
    ck_assert_int_eq(soap_classify(&x, NULL, 0, msg, sizeof msg),
                     ADAPTER_RETRY);
    /* timeout: before the body went out RETRY, after it INDOUBT */
    x.curl_code = CURLE_OPERATION_TIMEDOUT;
    x.curl_error = "";
    x.request_sent = false;
    ck_assert_int_eq(soap_classify(&x, NULL, 0, msg, sizeof msg),
                     ADAPTER_RETRY);
    x.request_sent = true;
    ck_assert_int_eq(soap_classify(&x, NULL, 0, msg, sizeof msg),
                     ADAPTER_INDOUBT);
    ck_assert_ptr_nonnull(strstr(msg, "unknown"));
    x.curl_code = CURLE_GOT_NOTHING;
    ck_assert_int_eq(soap_classify(&x, NULL, 0, msg, sizeof msg),
                     ADAPTER_INDOUBT);
    /* a certificate that does not verify stops the target: no record
     * can fix it */
    x.curl_code = CURLE_PEER_FAILED_VERIFICATION;
    ck_assert_int_eq(soap_classify(&x, NULL, 0, msg, sizeof msg),
                     ADAPTER_STOP);
    ck_assert_ptr_nonnull(strstr(msg, "TLS"));
    x.curl_code = CURLE_SSL_CONNECT_ERROR;
    ck_assert_int_eq(soap_classify(&x, NULL, 0, msg, sizeof msg),
                     ADAPTER_RETRY);
    x.curl_code = CURLE_WRITE_ERROR;
    x.too_big = true;
    x.max_response = 4096;
    ck_assert_int_eq(soap_classify(&x, NULL, 0, msg, sizeof msg),
                     ADAPTER_INDOUBT);
    ck_assert_ptr_nonnull(strstr(msg, "4096"));

    /* HTTP without a SOAP fault */
    const char *html = "<html><body>Service Unavailable</body></html>";
    ck_assert_int_eq(classify_body(html, 503, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_RETRY);
    ck_assert_ptr_nonnull(strstr(msg, "503"));
    ck_assert_int_eq(classify_body("not found", 404, NULL, 0, msg,
                                   sizeof msg, &r), ADAPTER_FAIL);
    ck_assert_int_eq(classify_body("", 429, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_RETRY);
    /* credentials refused: the target stops */
    ck_assert_int_eq(classify_body("", 401, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_STOP);
    ck_assert_int_eq(classify_body("", 403, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_STOP);
    ck_assert_int_eq(classify_body("", 301, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_FAIL);
    /* 200 that is not SOAP: it may have been taken */
    ck_assert_int_eq(classify_body("<ok/>", 200, NULL, 0, msg, sizeof msg,
                                   &r), ADAPTER_INDOUBT);
    ck_assert_int_eq(classify_body("<<<", 200, NULL, 0, msg, sizeof msg,
                                   &r), ADAPTER_INDOUBT);
}
END_TEST

START_TEST(test_receipt_by_xpath)
{
    char msg[1024], err[512];
    struct soap_reply r;

    ck_assert_int_eq(classify_body(OK11, 200, NULL, 0, msg, sizeof msg, &r),
                     ADAPTER_OK);
    ck_assert(r.has_receipt);
    ck_assert_str_eq(r.receipt, " RCPT-77 ");
    /* an XPath function trims it */
    ck_assert_int_eq(soap_reply_parse(OK11, strlen(OK11),
                                      "normalize-space(//c:Receipt)", NS, 2,
                                      &r, err, sizeof err), SOAP_PARSE_OK);
    ck_assert_str_eq(r.receipt, "RCPT-77");
    /* no match: parsed, no receipt */
    ck_assert_int_eq(soap_reply_parse(OK11, strlen(OK11), "//c:Nothing", NS,
                                      2, &r, err, sizeof err), SOAP_PARSE_OK);
    ck_assert(!r.has_receipt);
    /* an unbound prefix is an error with libxml2's words, never printed */
    ck_assert_int_eq(soap_reply_parse(OK11, strlen(OK11), "//zz:Receipt", NS,
                                      2, &r, err, sizeof err), SOAP_PARSE_BAD);
    ck_assert_ptr_nonnull(strstr(err, "zz:Receipt"));
    /* not an envelope */
    ck_assert_int_eq(soap_reply_parse("<a/>", 4, NULL, NULL, 0, &r, err,
                                      sizeof err), SOAP_PARSE_BAD);
    ck_assert_ptr_nonnull(strstr(err, "not a SOAP envelope"));
}
END_TEST

/* ---- XXE ------------------------------------------------------------- */

#define MARKER "FERRY-SECRET-MARKER-7f3a"

static char secret_path[256];

static void make_secret(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(secret_path, sizeof secret_path, "%s/ferry-xxe-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(secret_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, MARKER, strlen(MARKER)), (ssize_t)strlen(MARKER));
    close(fd);
}

static void check_refused(const char *body, size_t len)
{
    char msg[1024], err[512];
    struct soap_reply r;
    struct soap_exchange x;

    ck_assert_int_eq(soap_reply_parse(body, len, RECEIPT, NS, 2, &r, err,
                                      sizeof err), SOAP_PARSE_DOCTYPE);
    ck_assert_str_eq(err, "response contains a DOCTYPE; refused");
    memset(&x, 0, sizeof x);
    x.http_status = 200;
    x.parse = SOAP_PARSE_DOCTYPE;
    x.parse_error = err;
    x.reply = &r;
    ck_assert_int_eq(soap_classify(&x, NULL, 0, msg, sizeof msg),
                     ADAPTER_FAIL);
    ck_assert_str_eq(msg, "response contains a DOCTYPE; refused");
    ck_assert(!r.has_receipt);
    ck_assert_ptr_null(strstr(r.receipt, MARKER));
    ck_assert_ptr_null(strstr(r.reason, MARKER));
    ck_assert_ptr_null(strstr(msg, MARKER));
    ck_assert_ptr_null(strstr(err, MARKER));
}

START_TEST(test_xxe_refused)
{
    char body[2048];
    make_secret();
    snprintf(body, sizeof body,
             "<?xml version='1.0'?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "
             "\"file://%s\">]>\n<soap:Envelope xmlns:soap='" SOAP_NS_11 "'>"
             "<soap:Body><SubmitClaimResponse xmlns='urn:ferry:test:claims'>"
             "<Receipt>&xxe;</Receipt></SubmitClaimResponse></soap:Body>"
             "</soap:Envelope>", secret_path);
    check_refused(body, strlen(body));

    /* the same in UTF-16LE: the byte scan cannot see it, the parser's
     * DOCTYPE hook must */
    size_t n = strlen(body);
    char *u16 = calloc(2 * n + 2, 1);
    ck_assert_ptr_nonnull(u16);
    u16[0] = (char)0xff;
    u16[1] = (char)0xfe;
    for (size_t i = 0; i < n; i++)
        u16[2 + 2 * i] = body[i];
    /* drop the XML declaration's encoding confusion: keep it, it is ASCII */
    ck_assert_ptr_null(memmem(u16, 2 * n + 2, "<!DOCTYPE", 9));
    check_refused(u16, 2 * n + 2);
    free(u16);

    /* a billion-laughs style internal subset is refused the same way */
    const char *lol =
        "<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 "
        "'&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]>"
        "<soap:Envelope xmlns:soap='" SOAP_NS_11 "'><soap:Body><r>&lol2;</r>"
        "</soap:Body></soap:Envelope>";
    check_refused(lol, strlen(lol));
    unlink(secret_path);
}
END_TEST

/* ---- the descriptor -------------------------------------------------- */

static struct kv KV(const char *k, const char *v)
{
    struct kv x = { (char *)k, (char *)v, 0 };
    return x;
}

START_TEST(test_init_reports_config_problems)
{
    struct kv topts[] = {
        KV("endpoint", "ftp://x"), KV("version", "1.3"),
        KV("timeout", "soon"), KV("idempotency-header", "Bad Header"),
    };
    struct kv mopts[] = { KV("receipt-xpath", "//zz:R"), KV("prefix", "1x") };
    struct kvlist to = { topts, 4 }, mo = { mopts, 2 };
    struct map_assign fa[] = { assign("sometimes", NULL, NULL, NULL) };
    struct map_section secs[2] = {
        { .name = (char *)"record" },
        { .name = (char *)"faults", .a = fa, .na = 1 },
    };
    struct map_target mt = { .name = (char *)"svc", .opts = mo, .sec = secs,
                             .nsec = 2 };
    struct adapter_env env = { .opts = &to, .map = &mt, .base_dir = ".",
                               .service = "claims" };
    struct errs e;
    errs_init(&e);
    void *ctx = (void *)1;
    ck_assert_int_eq(adapter_soap.init(&ctx, &env, &e), -1);
    ck_assert_ptr_null(ctx);
    /* endpoint, version, timeout, header, operation, prefix, xpath, fault */
    ck_assert_uint_eq(e.n, 8);
    errs_free(&e);

    /* a good one opens and closes cleanly */
    struct kv t2[] = { KV("endpoint", "http://127.0.0.1:9/x"),
                       KV("concurrency", "4") };
    struct kv m2[] = { KV("operation", "SubmitClaim"),
                       KV("namespace", "urn:ferry:test:claims"),
                       KV("prefix", "c"),
                       KV("receipt-xpath", "//c:Receipt"),
                       KV("ns-d", "urn:other") };
    struct kv fo[] = { KV("string", "busy") };
    fa[0] = assign("retry", NULL, NULL, NULL);
    fa[0].opts.v = fo;
    fa[0].opts.n = 1;
    to.v = t2;
    to.n = 2;
    mt.opts.v = m2;
    mt.opts.n = 5;
    errs_init(&e);
    ck_assert_int_eq(adapter_soap.init(&ctx, &env, &e), 0);
    ck_assert_uint_eq(e.n, 0);
    ck_assert_int_eq(adapter_soap.kind, ADAPTER_STREAM);
    ck_assert_str_eq(adapter_soap.name, "soap");

    /* nothing listens on port 9: RETRY, connection refused */
    struct delivery_item it;
    memset(&it, 0, sizeof it);
    it.ref = "FR-1";
    it.attempt = 1;
    adapter_soap.deliver(ctx, &it, 1);
    ck_assert_int_eq(it.res.outcome, ADAPTER_RETRY);
    adapter_soap.close(ctx);
    errs_free(&e);
}
END_TEST

static Suite *soap_suite(void)
{
    Suite *s = suite_create("soap");
    TCase *t = tcase_create("core");
    tcase_add_test(t, test_wsse_digest_vector);
    tcase_add_test(t, test_envelope_wsse_digest_in_header);
    tcase_add_test(t, test_envelope_soap11_escaping_nesting_lists);
    tcase_add_test(t, test_envelope_soap12_escaping_nesting_lists);
    tcase_add_test(t, test_envelope_unqualified_children);
    tcase_add_test(t, test_envelope_problems_listed);
    tcase_add_test(t, test_fault_classification_defaults);
    tcase_add_test(t, test_fault_classification_overrides);
    tcase_add_test(t, test_transport_classification);
    tcase_add_test(t, test_receipt_by_xpath);
    tcase_add_test(t, test_xxe_refused);
    tcase_add_test(t, test_bad_encoding_reply_never_writes_stderr);
    tcase_add_test(t, test_init_reports_config_problems);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(soap_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
