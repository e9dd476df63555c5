// fuzz-sources: adapters/soap_envelope.c adapters/soap_wsse.c mappings/*.c util/*.c gen:schemas
// fuzz-corpus: tests/fuzz/seeds/soap_reply
/* fuzz_soap_reply.c - libFuzzer target for SOAP responses
 * (soap_reply_parse): the body of a target's answer, parsed with a receipt
 * XPath and namespaces as a SOAP target configures them.  A status is one
 * of the named ones, a refusal says why, the texts it fills stay
 * terminated inside their buffers, and nothing is written to stderr by
 * libxml2 (util/xmlerr.c) - run with -close_fd_mask=2 off to see. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/soap.h"

static const struct soap_nsmap ns[] = {
    { "c", "urn:example:claims" },
    { "s", "http://schemas.xmlsoap.org/soap/envelope/" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct soap_reply r;
    char err[256];
    memset(err, 'x', sizeof err);
    enum soap_parse_status st = soap_reply_parse((const char *)data, size,
                                                 "//c:ReceiptNumber", ns, 2,
                                                 &r, err, sizeof err);
    if (!memchr(err, '\0', sizeof err))
        abort();
    if (st != SOAP_PARSE_OK && st != SOAP_PARSE_BAD &&
        st != SOAP_PARSE_DOCTYPE)
        abort();
    if (st != SOAP_PARSE_OK && !err[0])
        abort();
    if (!memchr(r.reason, '\0', sizeof r.reason) ||
        !memchr(r.receipt, '\0', sizeof r.receipt) ||
        !memchr(r.code, '\0', sizeof r.code))
        abort();
    return 0;
}
