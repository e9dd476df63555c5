/* http_listen.c - starting and stopping the HTTP front door: the
 * libmicrohttpd daemon and its options (address, TLS, limits, pool) and
 * configuration generations.  Open connections and their header deadline
 * are http_conns.c.
 *
 * Configuration generations: each http_reload adds a generation (the
 * config pointer, borrowed, and the clients' secrets, owned).  A request
 * keeps the generation current when it started; generations are freed
 * at http_free, when no request can hold one.
 *
 * Owns: the MHD daemon, the secrets (wiped on free) and the PEM text held
 * for TLS. */
#include "intake/http_int.h"
#include "adapters/admit.h"
#include "util/clock.h"
#include "config/config.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* gen_free - wipe and free the secrets of one generation */
static void gen_free(struct gen *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nkeys; i++) {
        if (g->keys[i].secret) {
            OPENSSL_cleanse((void *)g->keys[i].secret, g->keys[i].len);
            free((void *)g->keys[i].secret);
        }
    }
    free(g->keys);
    http_tokens_free(g->tokens);
    for (size_t i = 0; g->admit && i < g->cfg->nservices; i++)
        adapter_admit_free(g->admit[i]);
    free(g->admit);
    free(g);
}

/* gen_new - read every client's secret of cfg (owned by the result) */
static struct gen *gen_new(const struct ferry_config *cfg, struct errs *e)
{
    struct gen *g = calloc(1, sizeof *g);
    if (!g)
        goto nomem;
    g->cfg = cfg;
    if (!(g->tokens = http_tokens_new()))
        goto nomem;
    if (cfg->nclients) {
        g->keys = calloc(cfg->nclients, sizeof *g->keys);
        if (!g->keys)
            goto nomem;
    }
    for (size_t i = 0; i < cfg->nclients; i++) {
        const struct client_config *cl = &cfg->clients[i];
        char *sec = NULL;
        size_t len = 0;
        g->keys[i].id = cl->id;
        if (!cl->secret_file) {
            errs_add(e, cl->id ? cl->id : "client", "client has no secret-file");
            goto fail;
        }
        if (config_read_secret(cfg->base_dir, cl->secret_file, &sec, &len, e)
            != 0)
            goto fail;
        if (len < 16) {
            OPENSSL_cleanse(sec, len);
            free(sec);
            errs_add(e, cl->id, "client secret shorter than 16 bytes");
            goto fail;
        }
        g->keys[i].secret = (unsigned char *)sec;
        g->keys[i].len = len;
        g->nkeys = i + 1;
    }
    g->nkeys = cfg->nclients;
    /* every service's target checks, built once per configuration */
    if (cfg->nservices &&
        !(g->admit = calloc(cfg->nservices, sizeof *g->admit)))
        goto nomem;
    for (size_t i = 0; i < cfg->nservices; i++)
        if (cfg->services[i].mapping &&
            !(g->admit[i] = adapter_admit_new(cfg, &cfg->services[i], e)))
            goto fail;
    return g;
nomem:
    errs_add(e, "http", "out of memory");
fail:
    gen_free(g);
    return NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_event(LOG_DEBUG, "http-library", "msg", msg, NULL);
}

/* ---- starting and stopping ------------------------------------------- */

/* parse_listen - "ADDR:PORT" or "[V6]:PORT" */
static int parse_listen(const char *s, struct sockaddr_storage *ss,
                        socklen_t *sl, bool *v6, struct errs *e)
{
    char host[128];
    const char *colon;
    memset(ss, 0, sizeof *ss);
    if (!s || !*s) {
        errs_add(e, "intake", "no listen address");
        return -1;
    }
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host)
            goto bad;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host)
            goto bad;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    long port;
    if (config_parse_int(colon + 1, 0, 65535, &port) != 0)
        goto bad;
    struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *sl = sizeof *a4;
        *v6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *sl = sizeof *a6;
        *v6 = true;
        return 0;
    }
bad:
    errs_add(e, "intake", "listen address '%s' is not ADDR:PORT with a "
                          "numeric address", s);
    return -1;
}

/* read_pem - a PEM file.  config_load resolves cert-file and
 * client-ca-file against the config's folder but (today) not key-file,
 * so a path that does not exist as given is tried relative to it. */
static char *read_pem(const struct ferry_config *cfg, const char *p,
                      struct errs *e)
{
    char *path = access(p, F_OK) == 0 ? strdup(p)
                                      : config_path(cfg->base_dir, p);
    char *text = NULL;
    size_t len = 0;
    if (!path) {
        errs_add(e, "intake", "out of memory");
        return NULL;
    }
    if (fs_read_file(path, 1u << 20, &text, &len, e) != 0)
        text = NULL;
    free(path);
    return text;
}

/* bind_listener - the listening socket, bound here so a busy address is
 * refused with its reason.  SO_REUSEADDR only (restart over TIME_WAIT);
 * never SO_REUSEPORT: a second daemon on the same port must fail, not
 * share the kernel's split of the submissions. */
static int bind_listener(const struct sockaddr_storage *ss, socklen_t sl,
                         bool v6, const char *name, struct errs *e)
{
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        errs_add(e, name, "cannot listen: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, sl) != 0
        || listen(fd, 1024) != 0) {
        int err = errno;
        errs_add(e, name, "cannot listen: %s%s", strerror(err),
                 err == EADDRINUSE ? " (another process holds this port)"
                                   : "");
        close(fd);
        return -1;
    }
    return fd;
}

/* pool_size - MHD worker threads: one per core, 2..8 (FERRY_HTTP_THREADS
 * overrides, for measurements) */
static unsigned pool_size(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("FERRY_HTTP_THREADS");
    long v;
    if (env && config_parse_int(env, 1, 64, &v) == 0)
        return (unsigned)v;
    if (n < 2)
        n = 2;
    if (n > 8)
        n = 8;
    return (unsigned)n;
}

/* conn_table_size - libmicrohttpd's connection limit: room for eight
 * times max-connections when the descriptor limit allows (keeping
 * FD_RESERVE for the ledger, logs and adapters), never less than twice
 * it.  http_conns.c keeps the count under half of this. */
#define FD_RESERVE 256
/* each connection's memory pool (a request head with the largest token
 * we take, 4 KiB, fits three times over; the body is read in pieces and
 * never held in the pool).  libmicrohttpd zeroes the pool between two
 * requests of a keep-alive connection: at 64 KiB that memset was the
 * largest single cost of a GET /healthz and 4% of the daemon's samples
 * under the serve bench; at 16 KiB the healthz ceiling rose from
 * 11,600-17,400/s to 21,500-25,500/s and durable submissions by a few
 * per cent, peak RSS 25.5 -> 23 MiB. */
#define CONN_POOL_BYTES (16 * 1024)
static int conn_table_size(int maxconn)
{
    long want = 8L * maxconn, floor2 = 2L * maxconn;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && (long)rl.rlim_cur - FD_RESERVE < want)
        want = (long)rl.rlim_cur - FD_RESERVE;
    if (want < floor2)
        want = floor2;
    if (want > 65536)
        want = 65536;
    return (int)want;
}

struct http_server *http_new(const struct ferry_config *cfg, struct spool *sp,
                             const char *listen, const struct http_hooks *hooks,
                             struct errs *e)
{
    struct http_server *h = calloc(1, sizeof *h);
    if (!h) {
        errs_add(e, "http", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->idle, NULL);
    pthread_mutex_init(&h->cmu, NULL);
    pthread_cond_init(&h->ccv, NULL);
    h->idle_timeout_ms = cfg->intake.request_timeout_ms > 0
                             ? cfg->intake.request_timeout_ms : 10000;
    h->head_timeout_ms = cfg->intake.header_timeout_ms > 0
                             ? cfg->intake.header_timeout_ms : 2000;
    if (h->head_timeout_ms > h->idle_timeout_ms)
        h->head_timeout_ms = h->idle_timeout_ms;
    int maxconn = cfg->intake.max_connections > 0
                      ? cfg->intake.max_connections : 256;
    h->untrusted_max = maxconn / 2;
    h->conns_cap = conn_table_size(maxconn);
    h->conns_press = h->conns_cap / 2;
    h->sp = sp;
    h->disk_ok = true;
    if (hooks)
        h->hooks = *hooks;
    h->cur = gen_new(cfg, e);
    if (!h->cur)
        goto fail;
    h->com = http_commit_new(h, e);
    if (!h->com)
        goto fail;

    const struct intake_config *in = &cfg->intake;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    bool v6 = false;
    const char *lname = listen ? listen : in->listen;
    if (parse_listen(lname, &ss, &sl, &v6, e) != 0)
        goto fail;
    int lfd = bind_listener(&ss, sl, v6, lname, e);
    if (lfd < 0)
        goto fail;
    /* a few epoll threads; a submission waits for its commit suspended,
     * not in a thread (http_commit.c) */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem ops[16];
    size_t n = 0;
    unsigned timeout_s = (unsigned)((in->request_timeout_ms + 999) / 1000);
    if (timeout_s == 0)
        timeout_s = 10;
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET,
                                        (intptr_t)lfd, NULL };
    /* the library's own limit sits well above ours: past it, new
     * connections wait unseen in the kernel's backlog, where a client
     * with a good token would queue behind every idle socket (and, once
     * the backlog is full, have its SYN dropped); below it, http_conns.c
     * sees each one and closes the idle unauthenticated ones first */
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
                                        (intptr_t)h->conns_cap, NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (intptr_t)(in->max_per_address > 0 ? in->max_per_address : 32),
        NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
                                        (intptr_t)timeout_s, NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                        (intptr_t)CONN_POOL_BYTES, NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
                                        (intptr_t)http_on_completed, h };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER,
                                        (intptr_t)on_mhd_log, h };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
                                        (intptr_t)http_conn_notify, h };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE,
                                        (intptr_t)pool_size(), NULL };
    if (in->cert_file && in->key_file) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            errs_add(e, "intake", "TLS asked for but libmicrohttpd was built "
                                  "without it");
            close(lfd);
            goto fail;
        }
        h->tls_cert = read_pem(cfg, in->cert_file, e);
        h->tls_key = h->tls_cert ? read_pem(cfg, in->key_file, e) : NULL;
        if (!h->tls_key) {
            close(lfd);
            goto fail;
        }
        flags |= MHD_USE_TLS;
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
                                            h->tls_key };
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
                                            h->tls_cert };
        if (in->client_ca_file) {
            h->tls_ca = read_pem(cfg, in->client_ca_file, e);
            if (!h->tls_ca) {
                close(lfd);
                goto fail;
            }
            ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                                h->tls_ca };
        }
        h->tls = true;
    }
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, http_on_request, h,
                            MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    if (!h->d) {
        close(lfd);
        errs_add(e, lname, "cannot listen: the HTTP library refused to start");
        goto fail;
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (getsockname(lfd, (struct sockaddr *)&bound, &bl) == 0)
        h->port = ntohs(v6 ? ((struct sockaddr_in6 *)(void *)&bound)->sin6_port
                           : ((struct sockaddr_in *)(void *)&bound)->sin_port);
    if (http_conns_start(h, e) != 0)
        goto fail;
    char host[INET6_ADDRSTRLEN] = "?", addr[INET6_ADDRSTRLEN + 16];
    if (v6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&ss)->sin6_addr,
                  host, sizeof host);
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&ss)->sin_addr,
                  host, sizeof host);
    snprintf(addr, sizeof addr, v6 ? "[%s]:%d" : "%s:%d", host, h->port);
    log_event(LOG_INFO, "listening", "addr", addr, "tls",
              h->tls ? (in->client_ca_file ? "on+client-certs" : "on") : "off",
              NULL);
    return h;
fail:
    http_free(h);
    return NULL;
}

int http_port(const struct http_server *h)
{
    return h ? h->port : 0;
}

int http_reload(struct http_server *h, const struct ferry_config *cfg,
                struct errs *e)
{
    struct gen *g = gen_new(cfg, e);
    if (!g)
        return -1;
    pthread_mutex_lock(&h->mu);
    const struct intake_config *o = &h->cur->cfg->intake, *in = &cfg->intake;
    bool same = ((!o->listen && !in->listen) ||
                 (o->listen && in->listen && !strcmp(o->listen, in->listen))) &&
                !o->cert_file == !in->cert_file &&
                o->max_connections == in->max_connections &&
                o->max_per_address == in->max_per_address &&
                o->request_timeout_ms == in->request_timeout_ms &&
                o->header_timeout_ms == in->header_timeout_ms;
    g->next = h->cur;
    h->cur = g;
    pthread_mutex_unlock(&h->mu);
    if (!same)
        log_event(LOG_WARN, "listener-unchanged",
                  "why", "listen address, TLS, connection limit and timeout "
                         "apply after a restart", NULL);
    return 0;
}

int http_stop(struct http_server *h, int64_t deadline_ms)
{
    if (!h || !h->d)
        return 0;
    pthread_mutex_lock(&h->mu);
    bool first = !h->stopping;
    h->stopping = true;
    pthread_mutex_unlock(&h->mu);
    if (first) {
        MHD_socket fd = MHD_quiesce_daemon(h->d);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    int rc = 0;
    pthread_mutex_lock(&h->mu);
    while (h->active > 0) {
        if (clock_cond_wait_until(&h->idle, &h->mu, deadline_ms) < 0) {
            rc = -1;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void http_free(struct http_server *h)
{
    if (!h)
        return;
    http_conns_stop(h);
    if (h->d) {
        http_stop(h, clock_mono_ms() + 5000);
        MHD_stop_daemon(h->d);
        h->d = NULL;
    }
    http_commit_free(h->com);           /* after the daemon: none queued */
    http_flush_door_counts(h);
    for (struct gen *g = h->cur, *nx; g; g = nx) {
        nx = g->next;
        gen_free(g);
    }
    if (h->tls_key) {
        OPENSSL_cleanse(h->tls_key, strlen(h->tls_key));
        free(h->tls_key);
    }
    free(h->tls_cert);
    free(h->tls_ca);
    pthread_cond_destroy(&h->idle);
    pthread_cond_destroy(&h->ccv);
    pthread_mutex_destroy(&h->cmu);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
