/* console_http.c - the console's listener: libmicrohttpd, sessions, sign
 * in and out, CSRF, login throttling, routing to the pages.
 *
 * Contract:
 *  - a session is 32 random bytes (hex) in the cookie ferry_console,
 *    HttpOnly, Secure, SameSite=Strict, Path=/; it ends after the idle
 *    timeout (<console idle-timeout>, default 15 minutes) or at sign-out.
 *    Signing in makes a new session id (no fixation).
 *  - every POST must carry the session's CSRF token (a second 32 random
 *    bytes, compared in constant time); one without it is refused 403
 *    before any handler runs.  The sign-in form has one too, from the
 *    session the sign-in page starts.
 *  - failed sign-ins are counted per account and per address: after 5
 *    in 15 minutes, that account (or address) waits 1 minute, doubling to
 *    at most 15, before a password is checked again.  A flood against one
 *    account from many addresses never locks a different account out.
 *  - the staff file is read at each sign-in and each request re-checks
 *    that the account still exists, is enabled and has the same role, so
 *    `ferry staff disable` takes effect at once.
 *  - responses are no-store, frame-denied, with a CSP that allows only
 *    ferry's own stylesheet and same-origin forms.
 * Owns: the daemon, the session table, the limiter table. */
#include "console/console_int.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/clock.h"
#include "util/errs.h"
#include "util/fsutil.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY_MAX (256u * 1024u)
#define OUT_MAX (8u * 1024u * 1024u)
#define COOKIE "ferry_console"
#define LIMIT_SLOTS 1024
#define LIMIT_FREE 5                   /* failures before waiting */
#define LIMIT_WINDOW_MS (15 * 60 * 1000)
#define LIMIT_MAX_WAIT_MS (15 * 60 * 1000)

struct con_limit {
    char key[160];                     /* "acct:NAME" / "addr:IP" */
    int failures;
    int64_t first_ms, until_ms;
};

struct conn_ctx {
    struct buf body;
    bool too_big;
};

/* ---- small helpers ---------------------------------------------------- */

static void random_hex(char out[CON_TOKEN_HEX + 1])
{
    unsigned char raw[CON_TOKEN_HEX / 2];
    if (RAND_bytes(raw, sizeof raw) != 1)
        abort();                       /* no randomness: nothing is safe */
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = d[raw[i] >> 4];
        out[2 * i + 1] = d[raw[i] & 15];
    }
    out[CON_TOKEN_HEX] = '\0';
}

static bool token_eq(const char *a, const char *b)
{
    if (!a || !b || strlen(a) != CON_TOKEN_HEX || strlen(b) != CON_TOKEN_HEX)
        return false;
    return CRYPTO_memcmp(a, b, CON_TOKEN_HEX) == 0;
}

static int hexv(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* url_decode - application/x-www-form-urlencoded text (n bytes) */
static char *url_decode(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            o[k++] = ' ';
        } else if (s[i] == '%' && i + 2 < n
                   && hexv((unsigned char)s[i + 1]) >= 0
                   && hexv((unsigned char)s[i + 2]) >= 0) {
            o[k++] = (char)(hexv((unsigned char)s[i + 1]) << 4
                            | hexv((unsigned char)s[i + 2]));
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = '\0';
    return o;
}

static void add_arg(struct creq *r, char *name, char *value)
{
    if (!name || !value || r->nargs >= CON_MAX_ARGS
        || strlen(name) != strcspn(name, "\x01\x02")) {
        free(name);
        free(value);
        return;
    }
    r->args[r->nargs].name = name;
    r->args[r->nargs].value = value;
    r->nargs++;
}

static void parse_form(struct creq *r, const char *body, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && body[eq] != '=')
            eq++;
        if (eq > i) {
            char *name = url_decode(body + i, eq - i);
            char *value = url_decode(eq < end ? body + eq + 1 : "",
                                     eq < end ? end - eq - 1 : 0);
            add_arg(r, name, value);
        }
        i = end + 1;
    }
}

static enum MHD_Result take_get_arg(void *cls, enum MHD_ValueKind kind,
                                    const char *key, const char *value)
{
    (void)kind;
    struct creq *r = cls;
    if (key)
        add_arg(r, strdup(key), strdup(value ? value : ""));
    return MHD_YES;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t outsz)
{
    snprintf(out, outsz, "?");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)
                  ->sin_addr, out, (socklen_t)outsz);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)
                  ->sin6_addr, out, (socklen_t)outsz);
}

/* ---- sessions (under con->mu) ---------------------------------------- */

static struct con_session *sess_find(struct console *con, const char *id,
                                     int64_t now)
{
    for (size_t i = 0; id && i < con->nsess; i++) {
        struct con_session *s = &con->sess[i];
        if (!s->used || !token_eq(s->id, id))
            continue;
        if (now - s->last_ms > con->idle_ms) {
            memset(s, 0, sizeof *s);   /* idle too long: gone */
            return NULL;
        }
        return s;
    }
    return NULL;
}

/* sess_new - a fresh session; the oldest is dropped when all are used */
static struct con_session *sess_new(struct console *con, int64_t now)
{
    struct con_session *slot = NULL;
    for (size_t i = 0; i < con->nsess && !slot; i++)
        if (!con->sess[i].used || now - con->sess[i].last_ms > con->idle_ms)
            slot = &con->sess[i];
    for (size_t i = 0; i < con->nsess && !slot; i++)
        if (!slot || con->sess[i].last_ms < slot->last_ms)
            slot = &con->sess[i];
    if (!slot)
        slot = &con->sess[0];
    /* prefer a never-signed-in one when evicting */
    memset(slot, 0, sizeof *slot);
    random_hex(slot->id);
    random_hex(slot->csrf);
    slot->used = true;
    slot->last_ms = now;
    return slot;
}

static void set_cookie(struct creq *r, const char *id)
{
    snprintf(r->set_cookie, sizeof r->set_cookie,
             COOKIE "=%s; Path=/; HttpOnly; Secure; SameSite=Strict", id);
}

/* ---- the login limiter (under con->mu) -------------------------------- */

static struct con_limit *lim_get(struct console *con, const char *key,
                                 int64_t now, bool create)
{
    struct con_limit *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < con->nlim; i++) {
        struct con_limit *l = &con->lim[i];
        if (l->key[0] && strcmp(l->key, key) == 0) {
            if (now - l->first_ms > LIMIT_WINDOW_MS && now >= l->until_ms) {
                l->failures = 0;       /* window passed: start again */
                l->first_ms = now;
            }
            return l;
        }
        if (!l->key[0] && !free_slot)
            free_slot = l;
        if (!oldest || l->first_ms < oldest->first_ms)
            oldest = l;
    }
    if (!create)
        return NULL;
    struct con_limit *l = free_slot ? free_slot : oldest;
    if (!l)
        return NULL;
    memset(l, 0, sizeof *l);
    snprintf(l->key, sizeof l->key, "%s", key);
    l->first_ms = now;
    return l;
}

static int64_t lim_wait(struct console *con, const char *key, int64_t now)
{
    struct con_limit *l = lim_get(con, key, now, false);
    return l && l->until_ms > now ? l->until_ms - now : 0;
}

static void lim_fail(struct console *con, const char *key, int64_t now)
{
    struct con_limit *l = lim_get(con, key, now, true);
    if (!l)
        return;
    l->failures++;
    if (l->failures >= LIMIT_FREE) {
        int shift = l->failures - LIMIT_FREE;
        int64_t wait = 60000LL << (shift > 4 ? 4 : shift);
        l->until_ms = now + (wait > LIMIT_MAX_WAIT_MS ? LIMIT_MAX_WAIT_MS
                                                      : wait);
    }
}

static void lim_clear(struct console *con, const char *key, int64_t now)
{
    struct con_limit *l = lim_get(con, key, now, false);
    if (l)
        memset(l, 0, sizeof *l);
}

/* ---- sign in and out --------------------------------------------------- */

static void do_login(struct creq *r)
{
    struct console *con = r->con;
    const char *name = con_arg(r, "name"), *pw = con_arg(r, "password");
    int64_t now = clock_wall_ms();
    char ka[160], kd[160];
    snprintf(ka, sizeof ka, "acct:%.100s", name ? name : "");
    snprintf(kd, sizeof kd, "addr:%s", r->addr);
    pthread_mutex_lock(&con->mu);
    int64_t wait = lim_wait(con, ka, now);
    int64_t wait2 = lim_wait(con, kd, now);
    pthread_mutex_unlock(&con->mu);
    if (wait2 > wait)
        wait = wait2;
    if (wait > 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "Too many failed sign-ins. Try again in "
                 "%lld minute%s.", (long long)((wait + 59999) / 60000),
                 (wait + 59999) / 60000 == 1 ? "" : "s");
        log_event(LOG_WARN, "console-login-throttled", "addr", r->addr, NULL);
        r->status = 429;
        con_page_login(r, msg, name);
        return;
    }
    struct console_staff_list l = { 0 };
    struct errs e;
    errs_init(&e);
    bool ok = false;
    enum console_role role = CONSOLE_VIEWER;
    if (console_staff_load(con->cfg->console.staff_file, &l, &e) != 0)
        con_log_errs("console-staff-file", &e);
    struct console_staff *s = console_staff_find(&l, name);
    /* always run scrypt, so an unknown name takes as long as a known one */
    ok = console_password_verify(pw ? pw : "", s ? s->hash
        : "scrypt$15$8$1$00000000000000000000000000000000$"
          "0000000000000000000000000000000000000000000000000000000000000000");
    ok = ok && s && !s->disabled;
    if (s)
        role = s->role;
    console_staff_list_free(&l);
    errs_free(&e);
    pthread_mutex_lock(&con->mu);
    if (!ok) {
        lim_fail(con, ka, now);
        lim_fail(con, kd, now);
        pthread_mutex_unlock(&con->mu);
        log_event(LOG_WARN, "console-login-failed", "addr", r->addr, NULL);
        r->status = 401;
        con_page_login(r, "The name or password is not right, or the "
                          "account is disabled.", name);
        return;
    }
    lim_clear(con, ka, now);
    lim_clear(con, kd, now);
    /* a new session id on sign-in: the pre-login one is dropped */
    struct con_session *old = sess_find(con, r->sess.id, now);
    if (old)
        memset(old, 0, sizeof *old);
    struct con_session *ns = sess_new(con, now);
    snprintf(ns->user, sizeof ns->user, "%s", name);
    ns->role = role;
    r->sess = *ns;
    pthread_mutex_unlock(&con->mu);
    r->signed_in = true;
    set_cookie(r, r->sess.id);
    errs_init(&e);
    if (spool_audit_add(con->sp, name, "console-login", NULL, NULL,
                        console_role_name(role), &e) != 0)
        con_log_errs("console-audit", &e);
    errs_free(&e);
    r->status = 303;
    snprintf(r->location, sizeof r->location, "/search");
}

static void do_logout(struct creq *r)
{
    struct console *con = r->con;
    pthread_mutex_lock(&con->mu);
    struct con_session *s = sess_find(con, r->sess.id, clock_wall_ms());
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&con->mu);
    struct errs e;
    errs_init(&e);
    if (r->signed_in
        && spool_audit_add(con->sp, r->sess.user, "console-logout", NULL,
                           NULL, NULL, &e) != 0)
        con_log_errs("console-audit", &e);
    errs_free(&e);
    snprintf(r->set_cookie, sizeof r->set_cookie, COOKIE "=; Path=/; "
             "HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    r->signed_in = false;
    r->status = 303;
    snprintf(r->location, sizeof r->location, "/login?out=1");
}

/* still_valid - the account is there, enabled, same role (staff file) */
static bool still_valid(struct console *con, struct creq *r)
{
    struct console_staff_list l = { 0 };
    struct errs e;
    errs_init(&e);
    bool ok = false;
    if (console_staff_load(con->cfg->console.staff_file, &l, &e) == 0) {
        struct console_staff *s = console_staff_find(&l, r->sess.user);
        ok = s && !s->disabled;
        if (ok)
            r->sess.role = s->role;
    }
    console_staff_list_free(&l);
    errs_free(&e);
    return ok;
}

/* ---- routing ------------------------------------------------------------ */

static void route(struct creq *r)
{
    bool post = strcmp(r->method, "POST") == 0;
    const char *p = r->path;
    if (strcmp(p, "/login") == 0) {
        if (post)
            do_login(r);
        else if (r->signed_in) {
            r->status = 303;
            snprintf(r->location, sizeof r->location, "/search");
        } else
            con_page_login(r, NULL, NULL);
        return;
    }
    if (!r->signed_in) {
        r->status = 303;
        snprintf(r->location, sizeof r->location, "/login");
        return;
    }
    if (post && strcmp(p, "/logout") == 0)
        do_logout(r);
    else if (strcmp(p, "/") == 0) {
        r->status = 303;
        snprintf(r->location, sizeof r->location, "/search");
    } else if (!post && strcmp(p, "/search") == 0)
        con_page_search(r);
    else if (!post && strcmp(p, "/record") == 0)
        con_page_record(r, con_arg(r, "ref"), false, NULL);
    else if (post && strcmp(p, "/record/action") == 0)
        con_do_record_action(r);
    else if (post && strcmp(p, "/record/reveal") == 0)
        con_do_reveal(r);
    else if (strcmp(p, "/edit") == 0)
        con_page_edit(r);
    else if (!post && strcmp(p, "/queue") == 0)
        con_page_queue(r);
    else if (post && strcmp(p, "/queue/action") == 0)
        con_do_queue_action(r);
    else if (!post && strcmp(p, "/audit") == 0)
        con_page_audit(r, false);
    else if (post && strcmp(p, "/audit/verify") == 0)
        con_page_audit(r, true);
    else if (!post && strcmp(p, "/report") == 0)
        con_page_report(r);
    else if (!post && strcmp(p, "/assisted") == 0)
        con_page_assisted(r);
    else if (post && strcmp(p, "/assisted") == 0)
        con_do_assisted(r);
    else
        con_page_not_found(r);
}

static enum MHD_Result answer(struct MHD_Connection *c, struct creq *r)
{
    size_t len = r->out.len;
    char *body = buf_take(&r->out);
    struct MHD_Response *res = MHD_create_response_from_buffer(
        len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE
                                            : MHD_RESPMEM_PERSISTENT);
    if (!res) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(res, "Content-Type", r->content_type
                            ? r->content_type : "text/html; charset=utf-8");
    MHD_add_response_header(res, "Cache-Control", "no-store");
    MHD_add_response_header(res, "X-Frame-Options", "DENY");
    MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(res, "Content-Security-Policy", r->inline_style
        ? "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        : "default-src 'none'; style-src 'self'; form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'");
    if (r->location[0])
        MHD_add_response_header(res, "Location", r->location);
    if (r->set_cookie[0])
        MHD_add_response_header(res, "Set-Cookie", r->set_cookie);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)r->status, res);
    MHD_destroy_response(res);
    return rc;
}

static void creq_free(struct creq *r)
{
    for (size_t i = 0; i < r->nargs; i++) {
        free(r->args[i].name);
        if (r->args[i].value)
            explicit_bzero(r->args[i].value, strlen(r->args[i].value));
        free(r->args[i].value);
    }
    buf_free(&r->out);
    free(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct console *con = cls;
    struct conn_ctx *cc = *con_cls;
    bool post = strcmp(method, "POST") == 0;
    if (!cc) {
        cc = calloc(1, sizeof *cc);
        if (!cc)
            return MHD_NO;
        buf_init(&cc->body, BODY_MAX);
        *con_cls = cc;
        return MHD_YES;
    }
    if (post && *upload_size) {
        if (buf_append(&cc->body, upload, *upload_size) != BUF_OK)
            cc->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    struct creq *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    r->con = con;
    r->method = method;
    r->path = url;
    r->status = 200;
    buf_init(&r->out, OUT_MAX);
    char addr[INET6_ADDRSTRLEN + 1];
    client_addr(c, addr, sizeof addr);
    r->addr = addr;

    if (strcmp(url, "/assets/console.css") == 0 && !post) {
        buf_puts(&r->out, con_css);
        r->content_type = "text/css; charset=utf-8";
        enum MHD_Result rc = answer(c, r);
        creq_free(r);
        return rc;
    }
    if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        r->status = 405;
        buf_puts(&r->out, "method not allowed\n");
        r->content_type = "text/plain";
        enum MHD_Result rc = answer(c, r);
        creq_free(r);
        return rc;
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, take_get_arg, r);
    if (post) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     "Content-Type");
        if (cc->too_big) {
            r->status = 413;
            buf_puts(&r->out, "form too large\n");
            r->content_type = "text/plain";
            enum MHD_Result rc = answer(c, r);
            creq_free(r);
            return rc;
        }
        if (ct && strncmp(ct, "application/x-www-form-urlencoded", 33) == 0)
            parse_form(r, buf_str(&cc->body), cc->body.len);
    }

    /* the session, or a new anonymous one (the sign-in form's token) */
    const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
    int64_t now = clock_wall_ms();
    pthread_mutex_lock(&con->mu);
    struct con_session *s = sess_find(con, sid, now);
    if (s) {
        s->last_ms = now;
        r->sess = *s;
    } else {
        s = sess_new(con, now);
        r->sess = *s;
        set_cookie(r, s->id);
    }
    pthread_mutex_unlock(&con->mu);
    r->signed_in = r->sess.user[0] != 0;
    if (r->signed_in && !still_valid(con, r)) {
        pthread_mutex_lock(&con->mu);
        struct con_session *gone = sess_find(con, r->sess.id, now);
        if (gone)
            memset(gone, 0, sizeof *gone);
        pthread_mutex_unlock(&con->mu);
        r->signed_in = false;
        r->sess.user[0] = '\0';
    }
    if (post) {
        r->csrf_ok = token_eq(con_arg(r, "csrf"), r->sess.csrf);
        if (!r->csrf_ok) {
            log_event(LOG_WARN, "console-csrf-refused", "addr", addr, "path",
                      url, NULL);
            r->status = 403;
            con_begin(r, "Form expired");
            buf_puts(&r->out, "<h1 class=\"govuk-heading-l\">This form has "
                              "expired</h1><p class=\"govuk-body\">Nothing "
                              "was changed. Go back, reload the page and try "
                              "again.</p>");
            con_end(r);
            enum MHD_Result rc = answer(c, r);
            creq_free(r);
            return rc;
        }
    }
    route(r);
    if (r->out.len == 0 && !r->location[0] && r->status == 200) {
        r->status = 500;
        buf_puts(&r->out, "internal error\n");
    }
    enum MHD_Result rc = answer(c, r);
    creq_free(r);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)c; (void)toe;
    struct conn_ctx *cc = *con_cls;
    if (!cc)
        return;
    if (cc->body.data)
        explicit_bzero(cc->body.data, cc->body.len);
    buf_free(&cc->body);
    free(cc);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_event(LOG_WARN, "console-http", "problem", msg, NULL);
}

/* parse_addr - "127.0.0.1:8490" or "[::1]:8490" */
static int parse_addr(const char *s, struct sockaddr_storage *ss,
                      bool *v6, struct errs *e)
{
    memset(ss, 0, sizeof *ss);
    const char *colon = s ? strrchr(s, ':') : NULL;
    char host[64];
    long port;
    if (!colon || (size_t)(colon - s) >= sizeof host
        || config_parse_int(colon + 1, 0, 65535, &port) != 0)
        goto bad;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)ss;
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            goto bad;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *v6 = true;
        return 0;
    }
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        goto bad;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *v6 = false;
    return 0;
bad:
    errs_add(e, "console", "listen address '%s' is not ADDR:PORT with a "
             "numeric address", s ? s : "");
    return -1;
}

static char *read_pem(const struct ferry_config *cfg, const char *p,
                      struct errs *e)
{
    char *text = NULL, *path = NULL;
    size_t len = 0;
    if (strncmp(p, "env:", 4) == 0) {
        if (config_read_secret(cfg->base_dir, p, &text, &len, e) != 0)
            return NULL;
        return text;
    }
    path = access(p, F_OK) == 0 ? strdup(p) : config_path(cfg->base_dir, p);
    if (!path || fs_read_file(path, 1u << 20, &text, &len, e) != 0)
        text = NULL;
    free(path);
    return text;
}

struct console *console_new(const struct ferry_config *cfg, struct spool *sp,
                            const char *listen, struct errs *e)
{
    const struct console_config *cc = &cfg->console;
    struct console *con = calloc(1, sizeof *con);
    if (!con) {
        errs_add(e, "console", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&con->mu, NULL);
    con->cfg = cfg;
    con->sp = sp;
    con->idle_ms = cc->idle_timeout_ms > 0 ? cc->idle_timeout_ms
                                           : 15 * 60 * 1000;
    con->nsess = cc->max_sessions > 0 ? (size_t)cc->max_sessions : 256;
    con->sess = calloc(con->nsess, sizeof *con->sess);
    con->nlim = LIMIT_SLOTS;
    con->lim = calloc(con->nlim, sizeof *con->lim);
    if (!con->sess || !con->lim) {
        errs_add(e, "console", "out of memory");
        goto fail;
    }
    struct sockaddr_storage ss;
    bool v6 = false;
    if (parse_addr(listen ? listen : cc->listen, &ss, &v6, e) != 0)
        goto fail;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem ops[12];
    size_t n = 0;
    /* the logger first, so MHD prints nothing of its own */
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER,
                                        (intptr_t)mhd_log, NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, 64,
                                        NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                        16, NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, 30,
                                        NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, 2,
                                        NULL };
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
                                        (intptr_t)on_completed, NULL };
    if (cc->cert_file && cc->key_file) {
        flags |= MHD_USE_TLS;
        con->tls_cert = read_pem(cfg, cc->cert_file, e);
        con->tls_key = con->tls_cert ? read_pem(cfg, cc->key_file, e) : NULL;
        if (!con->tls_key)
            goto fail;
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
                                            con->tls_key };
        ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
                                            con->tls_cert };
    }
    ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    con->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, con,
                              MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    if (!con->d) {
        errs_add(e, "console", "cannot listen on %s (in use, or not "
                 "allowed)", listen ? listen : cc->listen);
        goto fail;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(con->d, MHD_DAEMON_INFO_BIND_PORT);
    con->port = di ? (int)di->port : 0;
    char where[96];
    const char *hostpart = listen ? listen : cc->listen;
    const char *colon = strrchr(hostpart, ':');
    snprintf(where, sizeof where, "%.*s:%d", (int)(colon - hostpart),
             hostpart, con->port);
    snprintf(con->url, sizeof con->url, "%s://%s/",
             con->tls_cert ? "https" : "http", where);
    log_event(LOG_INFO, "console-listening", "addr", where, "tls",
              con->tls_cert ? "on" : "off", NULL);
    return con;
fail:
    console_free(con);
    return NULL;
}

const char *console_url(const struct console *c)
{
    return c ? c->url : "";
}

void console_free(struct console *con)
{
    if (!con)
        return;
    if (con->d)
        MHD_stop_daemon(con->d);
    if (con->tls_key)
        explicit_bzero(con->tls_key, strlen(con->tls_key));
    free(con->tls_key);
    free(con->tls_cert);
    if (con->sess)
        explicit_bzero(con->sess, con->nsess * sizeof *con->sess);
    free(con->sess);
    free(con->lim);
    pthread_mutex_destroy(&con->mu);
    free(con);
}
