// fuzz-sources: adapters/sftp_conn.c util/*.c
// fuzz-corpus: tests/fuzz/seeds/known_hosts
// fuzz-lsan: leak:CRYPTO_zalloc
/* fuzz_known_hosts - libFuzzer target for SFTP known_hosts files as ferry
 * reads them (sftp_known_load_text: line by line, blank and '#' lines
 * skipped, each line to libssh2_knownhost_readline) and checks a server
 * against them (libssh2_knownhost_checkp with the flags conn_check_host
 * uses), for sftp.example on port 22 and on 2222 with the ed25519 key of
 * the seeds (tests/fuzz/seeds/known_hosts: plain, [host]:port, hashed,
 * @cert-authority and @revoked markers, wildcards and negation, an sk-
 * key, CRLF).  No more entries load than the text has lines, the check
 * answers one of libssh2's four results, nothing of ferry's leaks.
 *
 * Found here: libssh2 1.10 (Debian 12) leaks an HMAC_CTX (128 bytes plus
 * 216 indirect per hashed entry) in libssh2_knownhost_checkp when a
 * hashed "|1|salt|hash" line's salt or hash is not valid base64; once per
 * connection attempt in ferry, bounded, not ferry's to free.  OpenSSL's
 * allocations are suppressed for this target only (fuzz-lsan above: the
 * fast unwinder stops inside libcrypto, so the pattern cannot name
 * libssh2); the code fuzzed here allocates nothing through OpenSSL, so
 * ferry's own allocations are still checked. */
#include "adapters/sftp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char KEY[] = {
    0x00, 0x00, 0x00, 0x0b, 0x73, 0x73, 0x68, 0x2d, 0x65, 0x64, 0x32,
    0x35, 0x35, 0x31, 0x39, 0x00, 0x00, 0x00, 0x20, 0x1c, 0x6c, 0xd2,
    0x41, 0xba, 0xff, 0x42, 0x6c, 0x14, 0x47, 0x86, 0xfa, 0xee, 0x88,
    0x10, 0xc3, 0x1d, 0x60, 0xf1, 0x0b, 0xee, 0x4a, 0x55, 0x91, 0x66,
    0xf2, 0xda, 0x52, 0xfe, 0xd7, 0xe1, 0xf0
};

static LIBSSH2_SESSION *session;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!session) {
        if (libssh2_init(0) != 0 || !(session = libssh2_session_init()))
            abort();
    }
    LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(session);
    if (!kh)
        abort();
    int loaded = sftp_known_load_text(kh, (const char *)data, size);
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (loaded < 0 || (size_t)loaded > lines + 1)
        abort();
    static const int ports[] = { 22, 2222 };
    for (int i = 0; i < 2; i++) {
        int chk = libssh2_knownhost_checkp(kh, "sftp.example", ports[i],
                                           (const char *)KEY, sizeof KEY,
                                           LIBSSH2_KNOWNHOST_TYPE_PLAIN |
                                           LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                           LIBSSH2_KNOWNHOST_KEY_ED25519,
                                           NULL);
        if (chk != LIBSSH2_KNOWNHOST_CHECK_MATCH &&
            chk != LIBSSH2_KNOWNHOST_CHECK_MISMATCH &&
            chk != LIBSSH2_KNOWNHOST_CHECK_NOTFOUND &&
            chk != LIBSSH2_KNOWNHOST_CHECK_FAILURE)
            abort();
    }
    libssh2_knownhost_free(kh);
    return 0;
}
