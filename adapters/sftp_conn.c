/* sftp_conn.c - one SSH/SFTP session for the sftp transport.
 *
 * Contract: sftp_conn_open either returns a session whose host key was
 * checked against known_hosts (or explicitly not checked, with a warning
 * logged every time) and whose user is authenticated, or NULL with a
 * struct sftp_error saying what failed.  It never retries or sleeps: the
 * only waiting is for the TCP connect (connect-timeout) and for each
 * libssh2 call (timeout), both bounded.
 *
 * The socket stays non-blocking after connect; libssh2 in blocking mode
 * then waits with poll() and honours libssh2_session_set_timeout, so a
 * silent peer can never hang a batch run.  Writes go through our own send
 * callback with MSG_NOSIGNAL: a peer that vanishes mid-upload is an error
 * return, not a SIGPIPE. */
#include "adapters/sftp.h"
#include "util/clock.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void conn_global_init(void)
{
    init_rc = libssh2_init(0);
}

void sftp_record(struct sftp_error *err, enum sftp_fault fault,
                 enum sftp_step step, int code, const char *fmt, ...)
{
    err->fault = fault;
    err->step = step;
    err->code = code;
    err->fx = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

/* fx_name - SFTP status as words (libssh2 does not pass the server's own) */
static const char *fx_name(unsigned long fx)
{
    switch (fx) {
    case LIBSSH2_FX_EOF:                    return "end of file";
    case LIBSSH2_FX_NO_SUCH_FILE:           return "no such file";
    case LIBSSH2_FX_PERMISSION_DENIED:      return "permission denied";
    case LIBSSH2_FX_FAILURE:                return "failure";
    case LIBSSH2_FX_BAD_MESSAGE:            return "bad message";
    case LIBSSH2_FX_NO_CONNECTION:          return "no connection";
    case LIBSSH2_FX_CONNECTION_LOST:        return "connection lost";
    case LIBSSH2_FX_OP_UNSUPPORTED:         return "operation unsupported";
    case LIBSSH2_FX_NO_SUCH_PATH:           return "no such path";
    case LIBSSH2_FX_FILE_ALREADY_EXISTS:    return "file already exists";
    case LIBSSH2_FX_WRITE_PROTECT:          return "write protected";
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: return "no space on filesystem";
    case LIBSSH2_FX_QUOTA_EXCEEDED:         return "quota exceeded";
    case LIBSSH2_FX_NOT_A_DIRECTORY:        return "not a directory";
    case LIBSSH2_FX_INVALID_FILENAME:       return "invalid file name";
    default:                                return "SFTP error";
    }
}

void sftp_record_ssh(struct sftp_conn *c, struct sftp_error *err,
                     enum sftp_step step, int rc, const char *what)
{
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && c && c->sftp) {
        unsigned long fx = libssh2_sftp_last_error(c->sftp);
        sftp_record(err, SFTP_FAULT_FX, step, rc, "%s: %s (SFTP status %lu)",
                    what, fx_name(fx), fx);
        err->fx = fx;
        return;
    }
    char *m = NULL;
    if (c && c->session)
        libssh2_session_last_error(c->session, &m, NULL, 0);
    sftp_record(err, SFTP_FAULT_SSH, step, rc, "%s: %s (libssh2 %d)", what,
                m && *m ? m : "error", rc);
}

void sftp_fingerprint(const unsigned char *sha256, char *out, size_t outsz)
{
    unsigned char b64[64];
    int n = EVP_EncodeBlock(b64, sha256, 32);
    while (n > 0 && b64[n - 1] == '=')
        n--;
    snprintf(out, outsz, "SHA256:%.*s", n, (const char *)b64);
}

/* conn_tcp - non-blocking connect to every address in turn, all within
 * one deadline; returns a connected non-blocking socket or -1. */
static int conn_tcp(const struct sftp_settings *s, struct sftp_error *err)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(s->host, port, &hints, &ai);
    if (g != 0) {
        sftp_record(err, SFTP_FAULT_RESOLVE, SFTP_STEP_SESSION, g,
                    "cannot resolve %s: %s", s->host, gai_strerror(g));
        return -1;
    }
    long deadline = clock_mono_ms() + s->connect_timeout_ms;
    int last = ETIMEDOUT;
    int fd = -1;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    a->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        if (errno != EINPROGRESS) {
            last = errno;
            close(fd);
            fd = -1;
            continue;
        }
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int left, r;
        do {
            left = (int)(deadline - clock_mono_ms());
            r = left > 0 ? poll(&p, 1, left) : 0;
        } while (r < 0 && errno == EINTR);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
            soerr == 0)
            break;
        last = r > 0 ? soerr : ETIMEDOUT;
        close(fd);
        fd = -1;
        if (left <= 0)
            break;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        sftp_record(err, SFTP_FAULT_CONNECT, SFTP_STEP_SESSION, last,
                    "cannot connect to %s port %d: %s", s->host, s->port,
                    last == ETIMEDOUT ? "timed out" : strerror(last));
    return fd;
}

/* conn_send - libssh2 send callback: send(2) without SIGPIPE */
static LIBSSH2_SEND_FUNC(conn_send)
{
    (void)abstract;
    ssize_t r = send(socket, buffer, length, flags | MSG_NOSIGNAL);
    return r < 0 ? -errno : r;
}

static const char *key_type_name(int t)
{
    switch (t) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:       return "ssh-rsa";
    case LIBSSH2_HOSTKEY_TYPE_DSS:       return "ssh-dss";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ecdsa-sha2-nistp256";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ecdsa-sha2-nistp384";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa-sha2-nistp521";
    case LIBSSH2_HOSTKEY_TYPE_ED25519:   return "ssh-ed25519";
    default:                             return "unknown";
    }
}

static int known_key_mask(int t)
{
    switch (t) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:       return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_DSS:       return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519:   return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default:                             return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    }
}

/* sftp_known_load_text - see sftp.h */
int sftp_known_load_text(LIBSSH2_KNOWNHOSTS *kh, const char *text,
                         size_t len)
{
    int loaded = 0;
    char *line = NULL;
    size_t cap = 0;
    for (size_t off = 0; off < len;) {
        const char *p = text + off;
        const char *nl = memchr(p, '\n', len - off);
        size_t n = nl ? (size_t)(nl - p) + 1 : len - off;
        off += n;
        size_t k = 0;
        while (k < n && (p[k] == ' ' || p[k] == '\t'))
            k++;
        if (k == n || p[k] == '#' || p[k] == '\n' || p[k] == '\r')
            continue;
        if (n + 1 > cap) {                /* libssh2 gets its own copy, */
            char *nb = realloc(line, n + 1);   /* NUL-terminated */
            if (!nb)
                break;
            line = nb;
            cap = n + 1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        if (libssh2_knownhost_readline(kh, line, n,
                                       LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0)
            loaded++;
    }
    free(line);
    return loaded;
}

/* conn_load_known - the known_hosts file (at most SFTP_KNOWN_HOSTS_MAX
 * bytes, EFBIG past it) through sftp_known_load_text.  Returns the
 * number of entries loaded, -1 with errno if unreadable. */
static int conn_load_known(LIBSSH2_KNOWNHOSTS *kh, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) != 0)
        err = errno;
    else if (!S_ISREG(st.st_mode))
        err = EINVAL;
    else if (st.st_size > SFTP_KNOWN_HOSTS_MAX)
        err = EFBIG;
    if (err) {
        close(fd);
        errno = err;
        return -1;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *text = malloc(size + 1);
    if (!text) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    while (got < size) {
        ssize_t r = read(fd, text + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;                        /* shrank while read: take it */
        got += (size_t)r;
    }
    close(fd);
    int loaded = sftp_known_load_text(kh, text, got);
    free(text);
    return loaded;
}

/* conn_check_host - compare the server's key with known_hosts */
static int conn_check_host(struct sftp_conn *c, const struct sftp_settings *s,
                           struct sftp_error *err)
{
    size_t klen = 0;
    int ktype = 0;
    const char *key = libssh2_session_hostkey(c->session, &klen, &ktype);
    const char *hash = libssh2_hostkey_hash(c->session,
                                            LIBSSH2_HOSTKEY_HASH_SHA256);
    if (!key || !hash) {
        sftp_record(err, SFTP_FAULT_HOSTKEY, SFTP_STEP_SESSION, 0,
                    "%s port %d: server sent no usable host key", s->host,
                    s->port);
        return -1;
    }
    sftp_fingerprint((const unsigned char *)hash, c->fingerprint,
                     sizeof c->fingerprint);
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", s->port);
    if (s->accept_any_host_key) {
        log_event(LOG_WARN, "sftp-host-key-not-checked", "host", s->host,
                  "port", portbuf, "key-type", key_type_name(ktype),
                  "fingerprint", c->fingerprint, "reason",
                  "accept-any-host-key is set: this connection could be "
                  "intercepted", NULL);
        return 0;
    }
    if (!s->known_hosts) {
        sftp_record(err, SFTP_FAULT_HOSTKEY, SFTP_STEP_SESSION, 0,
                    "%s port %d: no known-hosts file is set, so the host key "
                    "(%s %s) cannot be checked; refusing to connect",
                    s->host, s->port, key_type_name(ktype), c->fingerprint);
        return -1;
    }
    LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(c->session);
    if (!kh) {
        sftp_record_ssh(c, err, SFTP_STEP_SESSION, LIBSSH2_ERROR_ALLOC,
                        "known_hosts");
        return -1;
    }
    int loaded = conn_load_known(kh, s->known_hosts);
    if (loaded < 0) {
        int e = errno;
        libssh2_knownhost_free(kh);
        sftp_record(err, SFTP_FAULT_HOSTKEY, SFTP_STEP_SESSION, e,
                    "cannot read known-hosts file %s: %s; the server %s "
                    "port %d offered %s %s", s->known_hosts, strerror(e),
                    s->host, s->port, key_type_name(ktype), c->fingerprint);
        return -1;
    }
    int chk = libssh2_knownhost_checkp(kh, s->host, s->port, key, klen,
                                       LIBSSH2_KNOWNHOST_TYPE_PLAIN |
                                       LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                       known_key_mask(ktype), NULL);
    libssh2_knownhost_free(kh);
    switch (chk) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
        return 0;
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
        sftp_record(err, SFTP_FAULT_HOSTKEY, SFTP_STEP_SESSION, chk,
                    "HOST KEY CHANGED for %s port %d: the server offered %s "
                    "%s, which is not the key recorded in %s; refusing to "
                    "connect (possible interception, or the server was "
                    "re-keyed: verify the new fingerprint out of band)",
                    s->host, s->port, key_type_name(ktype), c->fingerprint,
                    s->known_hosts);
        return -1;
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
        sftp_record(err, SFTP_FAULT_HOSTKEY, SFTP_STEP_SESSION, chk,
                    "host key for %s port %d is not in %s (%d entries "
                    "read); the server offered %s %s; verify it out of band "
                    "and add it (ssh-keyscan -p %d %s)", s->host, s->port,
                    s->known_hosts, loaded, key_type_name(ktype),
                    c->fingerprint, s->port, s->host);
        return -1;
    default:
        sftp_record(err, SFTP_FAULT_HOSTKEY, SFTP_STEP_SESSION, chk,
                    "cannot check host key for %s port %d against %s; the "
                    "server offered %s %s", s->host, s->port, s->known_hosts,
                    key_type_name(ktype), c->fingerprint);
        return -1;
    }
}

/* conn_auth - public key file (with optional passphrase) or password */
static int conn_auth(struct sftp_conn *c, const struct sftp_settings *s,
                     struct sftp_error *err)
{
    int rc;
    const char *how;
    if (s->key_file) {
        how = "public key";
        rc = libssh2_userauth_publickey_fromfile_ex(
            c->session, s->user, (unsigned)strlen(s->user), NULL, s->key_file,
            s->passphrase ? s->passphrase : NULL);
    } else if (s->password) {
        how = "password";
        rc = libssh2_userauth_password_ex(c->session, s->user,
                                          (unsigned)strlen(s->user),
                                          s->password,
                                          (unsigned)strlen(s->password), NULL);
    } else {
        sftp_record(err, SFTP_FAULT_CONFIG, SFTP_STEP_SESSION, 0,
                    "neither key-file nor password-file is set");
        return -1;
    }
    if (rc == 0)
        return 0;
    switch (rc) {
    case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
    case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
    case LIBSSH2_ERROR_FILE:
    case LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
    case LIBSSH2_ERROR_PASSWORD_EXPIRED:
    case LIBSSH2_ERROR_METHOD_NONE:
    case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED: {
        char *m = NULL;
        libssh2_session_last_error(c->session, &m, NULL, 0);
        sftp_record(err, SFTP_FAULT_AUTH, SFTP_STEP_SESSION, rc,
                    "%s authentication as %s on %s port %d refused: %s%s%s",
                    how, s->user, s->host, s->port, m && *m ? m : "refused",
                    s->key_file ? "; key file " : "",
                    s->key_file ? s->key_file : "");
        return -1;
    }
    default:
        sftp_record_ssh(c, err, SFTP_STEP_SESSION, rc, "authentication");
        return -1;
    }
}

struct sftp_conn *sftp_conn_open(const struct sftp_settings *s,
                                 struct sftp_error *err)
{
    pthread_once(&init_once, conn_global_init);
    if (init_rc != 0) {
        sftp_record(err, SFTP_FAULT_SSH, SFTP_STEP_SESSION, init_rc,
                    "libssh2_init failed (%d)", init_rc);
        return NULL;
    }
    struct sftp_conn *c = calloc(1, sizeof *c);
    if (!c) {
        sftp_record(err, SFTP_FAULT_SSH, SFTP_STEP_SESSION,
                    LIBSSH2_ERROR_ALLOC, "out of memory");
        return NULL;
    }
    c->fd = conn_tcp(s, err);
    if (c->fd < 0)
        goto fail;
    c->session = libssh2_session_init();
    if (!c->session) {
        sftp_record(err, SFTP_FAULT_SSH, SFTP_STEP_SESSION,
                    LIBSSH2_ERROR_ALLOC, "cannot create SSH session");
        goto fail;
    }
    libssh2_session_callback_set(c->session, LIBSSH2_CALLBACK_SEND,
                                 (void *)conn_send);
    libssh2_session_set_blocking(c->session, 1);
    libssh2_session_set_timeout(c->session, s->timeout_ms);
    int rc = libssh2_session_handshake(c->session, c->fd);
    if (rc != 0) {
        sftp_record_ssh(c, err, SFTP_STEP_SESSION, rc, "SSH handshake");
        goto fail;
    }
    if (conn_check_host(c, s, err) != 0 || conn_auth(c, s, err) != 0)
        goto fail;
    const char *cipher = libssh2_session_methods(c->session,
                                                 LIBSSH2_METHOD_CRYPT_CS);
    const char *mac = libssh2_session_methods(c->session,
                                              LIBSSH2_METHOD_MAC_CS);
    log_event(LOG_DEBUG, "sftp-connected", "host", s->host, "user", s->user,
              "cipher", cipher, "mac", mac, "fingerprint", c->fingerprint,
              NULL);
    c->sftp = libssh2_sftp_init(c->session);
    if (!c->sftp) {
        sftp_record_ssh(c, err, SFTP_STEP_SESSION,
                        libssh2_session_last_errno(c->session),
                        "starting the SFTP subsystem");
        goto fail;
    }
    return c;
fail:
    sftp_conn_close(c);
    return NULL;
}

void sftp_conn_close(struct sftp_conn *c)
{
    if (!c)
        return;
    if (c->sftp)
        libssh2_sftp_shutdown(c->sftp);
    if (c->session) {
        libssh2_session_disconnect(c->session, "ferry done");
        libssh2_session_free(c->session);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}
