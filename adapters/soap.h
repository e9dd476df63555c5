/* soap.h - the SOAP adapter's building blocks, shared by adapters/soap.c
 * and its tests: envelope building (soap_envelope.c), WS-Security
 * UsernameToken (soap_wsse.c), response parsing (soap_envelope.c) and the
 * one outcome classification (soap.c).
 *
 * Nothing here opens a socket except the adapter itself; these functions
 * take and return plain memory so they can be tested with canned XML. */
#ifndef FERRY_ADAPTERS_SOAP_H
#define FERRY_ADAPTERS_SOAP_H
#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "adapters/adapter.h"

struct errs;

#define SOAP_NS_11 "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP_NS_12 "http://www.w3.org/2003/05/soap-envelope"
#define SOAP_NS_WSSE \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define SOAP_NS_WSU \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define SOAP_PW_TEXT \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
#define SOAP_PW_DIGEST \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
#define SOAP_B64_BINARY \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

enum soap_version { SOAP_11 = 11, SOAP_12 = 12 };

#define SOAP_MAX_DETAIL 8        /* fault detail fields kept */
#define SOAP_MAX_RECEIPT 8       /* named receipt fields (receipt-field-*) */

/* ---- WS-Security (soap_wsse.c) ----------------------------------------- */

struct soap_wsse {
    const char *username;
    const char *password;        /* not NUL-safe: password_len bytes */
    size_t password_len;
    bool digest;                 /* PasswordDigest, else PasswordText */
    const unsigned char *nonce;  /* NULL: 16 fresh random bytes */
    size_t nonce_len;
    const char *created;         /* NULL: now, "YYYY-MM-DDTHH:MM:SSZ" UTC */
};

/* soap_wsse_digest - Base64(SHA-1(nonce + created + password)) into out
 * (at least 29 bytes).  0 ok, -1 out too small. */
int soap_wsse_digest(const unsigned char *nonce, size_t nonce_len,
                     const char *created, const char *password,
                     size_t password_len, char *out, size_t outsz);

/* soap_wsse_add - append <wsse:Security> with a UsernameToken to the SOAP
 * Header element hdr (envelope namespace envns).  0 ok, -1 e filled. */
int soap_wsse_add(xmlNodePtr hdr, xmlNsPtr envns, enum soap_version v,
                  const struct soap_wsse *w, struct errs *e);

/* ---- envelopes (soap_envelope.c) --------------------------------------- */

/* An element filled outside the mapping's assignments: the idempotency
 * element (ferry reference) or the probe's reference element. */
struct soap_extra {
    const char *path;            /* "Header/RequestId": slash path */
    const char *text;
};

/* What one call looks like.  Values for "$reference", "$delivery-id",
 * "$service" and "$attempt" in assignments come from ref, delivery_id,
 * service and attempt. */
struct soap_call {
    enum soap_version version;
    const char *ns;              /* operation namespace; "" = none */
    const char *prefix;          /* its prefix, e.g. "c" */
    const char *operation;       /* operation (body) element name */
    bool qualified;              /* children in ns (elementFormDefault) */
    const struct soap_wsse *wsse;    /* NULL: no Security header */
    const struct map_section *sec;   /* assignments; may be NULL */
    const struct soap_extra *extra;  /* appended after sec's */
    size_t nextra;
    const char *ref;
    const char *delivery_id;
    const char *service;
    int attempt;
};

/* soap_envelope_build - the request envelope for rec.  *out is the
 * serialised UTF-8 document (caller frees with xmlFree), *len its length.
 * 0 ok, -1 with every problem added to e (an unknown field, a bad path, a
 * bad format...). */
int soap_envelope_build(const struct soap_call *c, const struct record *rec,
                        xmlChar **out, int *len, struct errs *e);

/* soap_envelope_check - check a section's assignments without a record:
 * element paths are valid names, specials are known, formats are allowed.
 * Returns the number of problems added to e. */
int soap_envelope_check(const struct map_section *sec, struct errs *e);

/* A namespace binding for XPath expressions into a response. */
struct soap_nsmap {
    const char *prefix;
    const char *uri;
};

enum soap_parse_status {
    SOAP_PARSE_OK = 0,
    SOAP_PARSE_BAD = -1,         /* not XML, or not a SOAP envelope */
    SOAP_PARSE_DOCTYPE = -2,     /* has a DOCTYPE: refused unparsed */
};

struct soap_reply {
    bool fault;
    enum soap_version version;   /* of the envelope received */
    char code[128];              /* fault code, local part: "Client",
                                    "Server.Busy", "Sender", "Receiver" */
    char subcode[128];           /* SOAP 1.2 Subcode/Value, local part */
    char reason[600];            /* faultstring, or Reason/Text */
    bool has_receipt;            /* the XPath matched something */
    bool receipt_truncated;
    char receipt[256];
    /* a fault's detail (1.1 detail, 1.2 Detail): its leaf elements, in
     * document order, name and trimmed text as the back end wrote them.
     * Never shown as they are: the adapter masks and scrubs them into
     * detail_text (soap.c), which the classification puts beside the
     * fault string. */
    struct { char name[64]; char value[200]; } det[SOAP_MAX_DETAIL];
    size_t ndet;
    char detail_text[400];       /* "ErrorCode=E042, Field=Amount" */
};

/* soap_reply_parse - parse a response body (network, entities and DTDs
 * off; any DOCTYPE refused) into r: the fault, or the value of xpath
 * (may be NULL) evaluated with the namespaces ns[0..nns).  err gets the
 * reason for a non-OK status. */
enum soap_parse_status soap_reply_parse(const char *body, size_t len,
                                        const char *xpath,
                                        const struct soap_nsmap *ns,
                                        size_t nns, struct soap_reply *r,
                                        char *err, size_t errsz);

/* ---- classification (soap.c) ------------------------------------------- */

/* A mapping override: a fault whose code (local part, exact) or whose
 * string (case-insensitive substring) matches gets outcome. */
struct soap_override {
    const char *code;            /* NULL: match by string */
    const char *string;
    enum adapter_outcome outcome;
};

/* Everything known about one exchange, from libcurl and the parser. */
struct soap_exchange {
    int curl_code;               /* CURLcode; 0 = transfer completed */
    const char *curl_error;      /* libcurl's error buffer, may be "" */
    long http_status;            /* 0 if no response */
    bool request_sent;           /* connected and whole body uploaded */
    bool too_big;                /* response passed max-response */
    size_t max_response;
    enum soap_parse_status parse;    /* when a body arrived */
    const char *parse_error;
    const struct soap_reply *reply;  /* when parse == SOAP_PARSE_OK */
};

/* soap_classify - THE mapping from an exchange to ferry's outcome, with
 * the back end's own words in msg.  Overrides apply to faults only. */
enum adapter_outcome soap_classify(const struct soap_exchange *x,
                                   const struct soap_override *ov, size_t nov,
                                   char *msg, size_t msgsz);

extern const struct adapter adapter_soap;

/* soap_admit.c: the intake's check (adapter.h admit_new/admit/admit_free):
 * every text a map of the target sends is made of XML 1.0 characters */
int soap_admit_new(void **actx, const struct adapter_env *env,
                   struct errs *e);
int soap_admit(const void *actx, const struct record *rec, struct errs *e);
void soap_admit_free(void *actx);

#endif
