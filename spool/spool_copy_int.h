/* spool_copy_int.h - what spool_copy.c (the rows, the checks, the two
 * ways) and spool_copy_schema.c (the versions and the table list) share;
 * never included outside those two. */
#ifndef FERRY_SPOOL_SPOOL_COPY_INT_H
#define FERRY_SPOOL_SPOOL_COPY_INT_H
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "spool/audit_chain.h"
#include "spool/spool_copy.h"
#include "spool/sql.h"
#include "util/errs.h"

#define NAME_LEN 64
#define COLS_MAX 32                /* sql_insert_rows' limit */
#define PK_MAX 8
#define PARENTS_MAX 8
#define META_OWN "schema_version"  /* PostgreSQL's meta row of its own */

enum kind { K_INT, K_TEXT, K_BLOB };

struct col {
    char name[NAME_LEN];
    enum kind kind;
};

struct table {
    char name[NAME_LEN];
    struct col col[COLS_MAX];
    int ncol;
    int pk[PK_MAX];                /* columns of the primary key, in order */
    int npk;
    char parent[PARENTS_MAX][NAME_LEN];
    int nparent;
    char identity[NAME_LEN];       /* PostgreSQL's identity column, "" */
    bool has_blob;
    int64_t src_rows;
};

struct trig {
    char name[NAME_LEN];
    char *sql;                     /* SQLite: its CREATE TRIGGER text */
};

struct copy {
    struct sql_conn *src, *dst;
    struct sql_conn *lite;         /* the SQLite side: the table list */
    struct sql_conn *pg;           /* the PostgreSQL side */
    const char *src_where, *dst_where;
    struct spool_audit_chain src_chain, dst_chain;
    const struct spool_copy_opts *o;
    struct spool_copy_info *info;
    struct table *t;
    size_t nt;
    struct trig *trig;
    size_t ntrig;
    int64_t done, total;
    struct errs *e;
};

static inline const char *side(const struct copy *cp, struct sql_conn *c)
{
    return c == cp->src ? cp->src_where : cp->dst_where;
}

/* dberr - a ledger problem on side c with the layer's message */
static inline void dberr(struct copy *cp, struct sql_conn *c,
                         const char *what)
{
    errs_add(cp->e, side(cp, c), "%s: %s", what, sql_errmsg(c));
}

/* own - a statement of our own for text made here; NULL with e filled */
static inline struct sql_stmt *own(struct copy *cp, struct sql_conn *c,
                                   const char *sql)
{
    struct sql_stmt *st = sql ? sql_prepare_own(c, sql) : NULL;
    if (!st)
        dberr(cp, c, sql ? "ledger statement" : "out of memory");
    return st;
}

static inline bool is_meta(const struct table *t)
{
    return strcmp(t->name, "meta") == 0;
}

/* spool_copy_schema.c */
/* spool_copy_ident_ok - a name from a catalogue that may stand in SQL
 * text: the ledger's names are lower-case words */
bool spool_copy_ident_ok(const char *s);
/* spool_copy_version - the schema version the ledger on c says it is at
 * (SQLite: PRAGMA user_version; PostgreSQL: meta schema_version); 0 when
 * the database holds no ferry ledger.  0, or -1 with cp->e filled. */
int spool_copy_version(struct copy *cp, struct sql_conn *c, int *ver);
/* spool_copy_tables - cp->t from the SQLite side's catalogue, checked
 * against the PostgreSQL side's and put parents first: 0, -2 when the
 * two differ or a table cannot be copied (named in cp->e), -1 error */
int spool_copy_tables(struct copy *cp);

#endif
