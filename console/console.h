/* console.h - the support console: a web front end for support staff on
 * its own listener inside `ferry serve` (<console listen=...>).
 *
 * Staff accounts live in a file (console_staff.c) with scrypt password
 * hashes; the server (console_http.c) keeps sessions in memory
 * (console_session.c) and renders server-side HTML pages in the GOV.UK
 * Design System's patterns (console_pages.c, console_form.c), calling
 * the spool, mapping and scheduler APIs.  Every action and every reveal
 * is an audit entry with the staff member's name as actor.
 *
 * Floors: console/ stands above scheduler/ and below cli/.
 * Ownership: console_new's result is freed by console_free. */
#ifndef FERRY_CONSOLE_CONSOLE_H
#define FERRY_CONSOLE_CONSOLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errs;
struct ferry_config;
struct spool;
struct spool_list;

/* ---- roles and staff accounts (console_staff.c) ----------------------- */

enum console_role {
    CONSOLE_VIEWER = 0,            /* search, read, report, audit */
    CONSOLE_SUPPORT,               /* + retry, hold, release, edit, reveal,
                                      assisted-digital form */
    CONSOLE_SUPERVISOR,            /* + discard, settle, audit verify */
};

/* console_role_name - "viewer" | "support" | "supervisor" */
const char *console_role_name(enum console_role r);
/* console_role_parse - 0 ok, -1 unknown */
int console_role_parse(const char *s, enum console_role *out);

struct console_staff {
    char *name;                    /* [A-Za-z0-9._-]{1,64} */
    enum console_role role;
    bool disabled;
    char *hash;                    /* "scrypt$N$r$p$salt$hash" (hex) */
};

struct console_staff_list {
    struct console_staff *v;
    size_t n;
};

#define CONSOLE_PASSWORD_MIN 10    /* characters */

/* console_staff_load - the staff file (a missing file is an empty list;
 * a file group or others can read is refused).  Free with
 * console_staff_list_free. */
int console_staff_load(const char *path, struct console_staff_list *out,
                       struct errs *e);
/* console_staff_save - write the list (temp name, fsync, rename, 0600) */
int console_staff_save(const char *path, const struct console_staff_list *l,
                       struct errs *e);
void console_staff_list_free(struct console_staff_list *l);
/* console_staff_find - by name, or NULL */
struct console_staff *console_staff_find(const struct console_staff_list *l,
                                         const char *name);
/* console_staff_name_ok - a name the file can hold */
bool console_staff_name_ok(const char *name);
/* console_staff_set - add name (or replace its role and password when
 * hash is not NULL); the list owns copies. 0 ok, -1 nomem */
int console_staff_set(struct console_staff_list *l, const char *name,
                      enum console_role role, const char *hash);

/* console_password_hash - scrypt (OpenSSL EVP_PBE_scrypt, N=2^15, r=8,
 * p=1, 16-byte random salt) as "scrypt$15$8$1$salt$hash".  Refuses a
 * password shorter than CONSOLE_PASSWORD_MIN.  Caller frees. */
int console_password_hash(const char *password, char **out, struct errs *e);
/* console_password_verify - constant-time check of password against a
 * stored hash; false for a malformed hash */
bool console_password_verify(const char *password, const char *hash);

/* ---- finding records: console_find.c -------------------------------- */
/* console_find_fields - the records of every service (or only) whose
 * mapping indexes exactly the fields names[0..n) together, looked up by
 * the values texts[] normalised as at intake.  *tried = services that
 * have such an index.  Appends to out. */
int console_find_fields(const struct ferry_config *cfg, struct spool *sp,
                        const char *only, const char *const *names,
                        const char *const *texts, size_t n, size_t limit,
                        struct spool_list *out, size_t *tried,
                        struct errs *e);

/* ---- the server (console_http.c) ---------------------------------------- */

struct console;

/* console_new - start the console's listener (cfg->console) over spool
 * sp: TLS when cert-file and key-file are set.  listen (may be NULL)
 * overrides the configured address, "127.0.0.1:0" picks a free port.
 * Logs event=console-listening addr=... .  NULL with e filled when it
 * cannot start.  cfg and sp are borrowed and must outlive the console. */
struct console *console_new(const struct ferry_config *cfg, struct spool *sp,
                            const char *listen, struct errs *e);
void console_free(struct console *c);
/* console_url - "http(s)://HOST:PORT/" the console listens on (the port
 * actually bound), for the intake's page of links; "" for NULL */
const char *console_url(const struct console *c);

#endif
