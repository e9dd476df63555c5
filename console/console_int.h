/* console_int.h - what the console's own files share; never included
 * outside console/.
 *
 * A request is parsed into struct creq (method, path, query and form
 * values, the session) by console_http.c, handed to one page handler in
 * console_pages.c or console_form.c, which appends HTML to creq.out and
 * sets creq.status.  Handlers never touch libmicrohttpd. */
#ifndef FERRY_CONSOLE_CONSOLE_INT_H
#define FERRY_CONSOLE_CONSOLE_INT_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "console/console.h"
#include "util/buf.h"

struct errs;
struct mapping;
struct spool_list;

#define CON_MAX_ARGS 512
#define CON_TOKEN_HEX 64           /* 32 random bytes */

struct con_arg {
    char *name;
    char *value;
};

/* one staff member's session (or a not-yet-signed-in one, user[0] == 0) */
struct con_session {
    char id[CON_TOKEN_HEX + 1];
    char csrf[CON_TOKEN_HEX + 1];
    char user[65];
    enum console_role role;
    int64_t last_ms;
    bool used;
};

struct creq {
    struct console *con;
    const char *method;            /* "GET" | "POST" */
    const char *path;
    const char *addr;              /* client address, for rate limits */
    struct con_arg args[CON_MAX_ARGS];   /* query then form values */
    size_t nargs;
    struct con_session sess;       /* a copy; changes go via con_session_* */
    bool signed_in;
    bool csrf_ok;                  /* POST carried the session's token */
    /* the answer */
    int status;
    struct buf out;
    const char *content_type;      /* NULL = text/html */
    char location[512];            /* redirect when set */
    char set_cookie[256];          /* Set-Cookie when set */
    bool inline_style;             /* the report page: allow its <style> */
};

struct console {
    const struct ferry_config *cfg;
    struct spool *sp;
    void *d;                       /* struct MHD_Daemon */
    char *tls_cert, *tls_key;
    pthread_mutex_t mu;            /* sessions and limits */
    struct con_session *sess;
    size_t nsess;
    struct con_limit *lim;
    size_t nlim;
    int64_t idle_ms;
    int port;
    char url[128];                 /* "http(s)://HOST:PORT/" it listens on */
};

/* con_log_errs - each problem of e as a log line (no personal values:
 * callers pass only spool and config problems) */
void con_log_errs(const char *event, const struct errs *e);
/* arg - the first value named name, or NULL (borrowed) */
const char *con_arg(const struct creq *r, const char *name);
/* con_arg_nth - the i-th value named name (for checkboxes), or NULL */
const char *con_arg_nth(const struct creq *r, const char *name, size_t i);

/* ---- pages: console_pages.c, console_form.c ------------------------- */
void con_page_login(struct creq *r, const char *error, const char *name);
void con_page_search(struct creq *r);
void con_page_record(struct creq *r, const char *ref, bool reveal,
                     const char *banner);
void con_do_record_action(struct creq *r);
void con_do_reveal(struct creq *r);
void con_page_edit(struct creq *r);
void con_page_queue(struct creq *r);
void con_do_queue_action(struct creq *r);
void con_page_audit(struct creq *r, bool verify);
void con_page_report(struct creq *r);
void con_page_assisted(struct creq *r);
void con_do_assisted(struct creq *r);
void con_page_forbidden(struct creq *r, const char *what);
void con_page_not_found(struct creq *r);

/* shared pieces (console_pages.c, console_record.c) */
const struct mapping *con_mapping_of(const struct creq *r,
                                     const char *service);
void con_state_tag(struct buf *b, int state);
void con_reason_input(struct buf *b, const char *id, const char *label);
/* con_apply_action - retry | hold | release | discard | settle-delivered
 * | settle-resend on one record, audited as the staff member */
int con_apply_action(struct creq *r, const char *ref, const char *target,
                     const char *action,
                     const char *reason, struct errs *e);
/* con_needed_role - the role an action needs */
enum console_role con_needed_role(const char *action);

/* ---- HTML: console_html.c ------------------------------------------- */
extern const char con_css[];
/* con_esc - s HTML-escaped onto b ("" for NULL) */
void con_esc(struct buf *b, const char *s);
/* con_begin - the layout up to <main>: title, the header with the
 * navigation and the sign-out form (when signed in) */
void con_begin(struct creq *r, const char *title);
void con_end(struct creq *r);
struct spool_audit_entry;
/* con_audit_text - an audit entry's reason and detail, escaped */
void con_audit_text(struct buf *b, const struct spool_audit_entry *a);
/* con_csrf - the hidden CSRF field for a form */
void con_csrf(struct creq *r);
/* con_error_summary - the GOV.UK error summary for e's problems; each
 * links to "#f-<where>" */
void con_error_summary(struct creq *r, const struct errs *e);
/* con_fmt_time - ms to "2026-11-27 09:15:02 UTC" */
void con_fmt_time(int64_t ms, char *out, size_t outsz);
/* con_role_at_least - the signed-in role is at least min; else renders
 * the forbidden page and returns false */
bool con_role_at_least(struct creq *r, enum console_role min,
                       const char *what);
/* con_actor - the staff name for audit entries */
const char *con_actor(const struct creq *r);

#endif
