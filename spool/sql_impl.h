/* sql_impl.h - what the statement layer's two engines (sql_sqlite.c,
 * sql_pg.c) share with its front (sql.c) and sql_open.c; included by
 * nothing else.  Each connection starts with struct sql_conn and its
 * engine's table of operations; each engine keeps its own statement
 * cache. */
#ifndef FERRY_SPOOL_SQL_IMPL_H
#define FERRY_SPOOL_SQL_IMPL_H
#include "spool/sql.h"

#define SQL_NSTMT 128              /* statements cached per connection */

struct sql_ops {
    void (*close)(struct sql_conn *c);
    struct sql_stmt *(*prepare)(struct sql_conn *c, const char *sql);
    struct sql_stmt *(*prepare_own)(struct sql_conn *c, const char *sql);
    void (*finalize)(struct sql_stmt *st);
    int (*bind_text)(struct sql_stmt *st, int i, const char *v);
    int (*bind_int64)(struct sql_stmt *st, int i, int64_t v);
    int (*bind_blob)(struct sql_stmt *st, int i, const void *p, size_t n);
    int (*bind_null)(struct sql_stmt *st, int i);
    enum sql_step (*step)(struct sql_stmt *st);
    int64_t (*col_int64)(struct sql_stmt *st, int col);
    const char *(*col_text)(struct sql_stmt *st, int col);
    const void *(*col_blob)(struct sql_stmt *st, int col, size_t *n);
    bool (*col_null)(struct sql_stmt *st, int col);
    void (*reset)(struct sql_stmt *st);
    int64_t (*changes)(struct sql_stmt *st);
    int (*exec)(struct sql_conn *c, const char *sql);
    int (*begin)(struct sql_conn *c);
    bool (*in_txn)(const struct sql_conn *c);
    int (*lock_xact)(struct sql_conn *c, const char *name);
    int (*pipeline_begin)(struct sql_conn *c);
    int (*pipeline_end)(struct sql_conn *c);
    int (*reconnect)(struct sql_conn *c);
};

struct sql_conn {
    const struct sql_ops *ops;
    enum sql_backend backend;
    struct sql_error err;
};

/* sql_set_error - the connection's last error (msg printf-style, kept to
 * one line) */
void sql_set_error(struct sql_conn *c, enum sql_class cls,
                   const char *state, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sql_clear_error(struct sql_conn *c);

/* the engines' constructors (sql_open.c chooses) */
struct sql_conn *sql_sqlite_open(const struct sql_desc *d, struct errs *e);
struct sql_conn *sql_pg_open(const struct sql_desc *d, struct errs *e);

#endif
