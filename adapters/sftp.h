/* sftp.h - the SFTP transport's private pieces, shared by adapters/sftp*.c.
 *
 * sftp_conn.c owns the SSH session: TCP connect with a deadline, the
 * handshake, the host key check against known_hosts and authentication.
 * sftp.c owns the adapter (transfer, list, fetch) and the ONE function
 * that turns a recorded failure into OK/RETRY/FAIL/STOP.  Nothing here is part
 * of the adapter interface; only adapters/sftp*.c include this header. */
#ifndef FERRY_ADAPTERS_SFTP_H
#define FERRY_ADAPTERS_SFTP_H
#include <stdbool.h>
#include <stddef.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

/* What kind of thing went wrong; sftp.c maps this to an outcome. */
enum sftp_fault {
    SFTP_FAULT_NONE = 0,
    SFTP_FAULT_RESOLVE,     /* getaddrinfo: code = EAI_* */
    SFTP_FAULT_CONNECT,     /* TCP connect: code = errno (ETIMEDOUT on deadline) */
    SFTP_FAULT_SSH,         /* libssh2 call: code = LIBSSH2_ERROR_* */
    SFTP_FAULT_HOSTKEY,     /* host key missing/changed/unreadable list */
    SFTP_FAULT_AUTH,        /* authentication refused or key unusable */
    SFTP_FAULT_FX,          /* SFTP status: fx = LIBSSH2_FX_* */
    SFTP_FAULT_LOCAL,       /* local file: code = errno */
    SFTP_FAULT_CONTENT,     /* final name holds different content */
    SFTP_FAULT_VERIFY,      /* remote size after upload differs */
    SFTP_FAULT_CONFIG,      /* bad option or unreadable secret */
};

/* What we were doing: the same SFTP status means different things on a
 * write (FAILURE there is how OpenSSH reports ENOSPC) and on a rename
 * (FAILURE there means the final name exists). */
enum sftp_step {
    SFTP_STEP_SESSION = 0,
    SFTP_STEP_STAT,
    SFTP_STEP_OPEN,
    SFTP_STEP_WRITE,
    SFTP_STEP_READ,
    SFTP_STEP_RENAME,
    SFTP_STEP_REMOVE,
    SFTP_STEP_SETSTAT,
    SFTP_STEP_LIST,
};

struct sftp_error {
    enum sftp_fault fault;
    enum sftp_step step;
    int code;
    unsigned long fx;
    char msg[768];
};

/* Connection settings, read from the transport options by sftp.c. */
struct sftp_settings {
    char *host;
    int port;
    char *user;
    char *key_file;          /* resolved path, or NULL */
    char *passphrase;        /* secret, wiped on free; may be NULL */
    char *password;          /* secret, wiped on free; may be NULL */
    char *known_hosts;       /* resolved path, or NULL */
    bool accept_any_host_key;
    int64_t connect_timeout_ms;
    int64_t timeout_ms;
};

struct sftp_conn {
    int fd;
    LIBSSH2_SESSION *session;
    LIBSSH2_SFTP *sftp;
    char fingerprint[64];    /* "SHA256:..." of the server's host key */
};

/* sftp_conn_open - connect, verify the host key, authenticate, start the
 * SFTP subsystem.  Returns a connection the caller closes with
 * sftp_conn_close, or NULL with err filled. */
struct sftp_conn *sftp_conn_open(const struct sftp_settings *s,
                                 struct sftp_error *err);
void sftp_conn_close(struct sftp_conn *c);

/* sftp_record_ssh - fill err from the session's last error (or from the
 * SFTP status when rc is LIBSSH2_ERROR_SFTP_PROTOCOL). */
void sftp_record_ssh(struct sftp_conn *c, struct sftp_error *err,
                     enum sftp_step step, int rc, const char *what);
/* sftp_record - fill err with a fault, codes and a formatted message */
void sftp_record(struct sftp_error *err, enum sftp_fault fault,
                 enum sftp_step step, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* known_hosts files larger than this are refused (EFBIG) */
#define SFTP_KNOWN_HOSTS_MAX (4 << 20)

/* sftp_known_load_text - known_hosts text (len bytes, OpenSSH format)
 * into kh, line by line so that one line libssh2 cannot parse (a
 * @cert-authority marker, an sk- key) does not hide the others; blank
 * and '#' lines are skipped.  Returns the number of entries loaded.
 * tests/fuzz/fuzz_known_hosts.c drives it as conn_check_host does. */
int sftp_known_load_text(LIBSSH2_KNOWNHOSTS *kh, const char *text,
                         size_t len);

/* sftp_fingerprint - OpenSSH's "SHA256:<base64 without padding>" of a
 * raw 32-byte SHA-256 into out (at least 64 bytes). */
void sftp_fingerprint(const unsigned char *sha256, char *out, size_t outsz);

#endif
