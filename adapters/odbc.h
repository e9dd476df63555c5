/* odbc.h - helpers of the ODBC adapter (adapters/odbc.c).
 *
 * odbc_util.c: no ODBC handles: SQLSTATE classification, identifier
 * checks and quoting, exact decimal text and CHAR padding rules, exported
 * so the unit tests can pin them down.  odbc_bind.c: record values into
 * typed, column-wise parameter arrays.  odbc_pool.c: the adapter's
 * instance state, its connections and transactions.  odbc_setup.c: the
 * instance built from options and mapping at init. */
#ifndef FERRY_ADAPTERS_ODBC_H
#define FERRY_ADAPTERS_ODBC_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sql.h>
#include <sqlext.h>

#include "adapters/adapter.h"

/* odbc_classify - THE mapping of a driver error to a ferry outcome.
 * state is the 5-character SQLSTATE (may be NULL or ""), msg the driver's
 * text (used only for drivers that report everything as HY000, such as
 * SQLite's).  in_commit: the error came from SQLEndTran(SQL_COMMIT), so a
 * lost connection means the outcome is unknown (INDOUBT).  *conn_lost (may
 * be NULL) is set when the connection must be closed and reopened. */
enum adapter_outcome odbc_classify(const char *state, const char *msg,
                                   bool in_commit, bool *conn_lost);

/* odbc_login_refused - the database refused the login itself (28xxx, or
 * the words psqlODBC and others report under 08001: password or
 * authentication failed, no pg_hba.conf entry, role or database does not
 * exist).  No record can fix it: the target stops (ADAPTER_STOP). */
bool odbc_login_refused(const char *state, const char *msg);

/* odbc_object_unusable - a table or column the target needs is missing
 * or not ours to use: undefined table (42P01, 42S02) or column (42703,
 * 42S22), no privilege (42501), or SQLite's HY000 words for the same.
 * For the marker table, and for anything at connection set-up, no record
 * can fix it: the target stops.  The one test for lookup and insert. */
bool odbc_object_unusable(const char *state, const char *msg);

/* odbc_is_duplicate - the error is a unique/primary-key violation */
bool odbc_is_duplicate(const char *state, const char *msg);

/* odbc_ident_valid - [A-Za-z_][A-Za-z0-9_$#.]*, no empty dotted part,
 * at most 128 bytes */
bool odbc_ident_valid(const char *s);

/* odbc_ident_quote - "a.b" -> "\"a\".\"b\"" into out; 0 ok, -1 invalid
 * identifier or out too small */
int odbc_ident_quote(const char *s, char *out, size_t outsz);

/* SQLDriverConnect takes the string's length as a SMALLINT */
#define ODBC_CONNSTR_MAX 8192

/* odbc_connstr_each - walk the connection string s (n bytes): attributes
 * KEY=VALUE separated by ';' (empty ones skipped), a value in braces
 * ({...}, '}}' for a '}') may hold ';', '=' and spaces; a plain value
 * may not hold a brace, a NUL or a line break.  fn (may be NULL) gets
 * each key and value (braces removed, '}}' made '}', surrounding blanks
 * trimmed); a non-zero return stops the walk and is returned.  0, or -1
 * with why, which names the attribute's number, key and byte offset but
 * never a value (a connection string holds a password). */
int odbc_connstr_each(const char *s, size_t n,
                      int (*fn)(void *ctx, const char *key,
                                const char *val, size_t vlen),
                      void *ctx, char *why, size_t whysz);

/* odbc_connstr_make - "DSN=dsn;UID=user;PWD={pw};" into out (user and pw
 * may be NULL); the password braced, a '}' in it doubled, so no value
 * can add an attribute.  0, or -1 with why (dsn or user holding ; { } =
 * or a line break, or longer than ODBC_CONNSTR_MAX; out is wiped). */
int odbc_connstr_make(const char *dsn, const char *user, const char *pw,
                      char *out, size_t outsz, char *why, size_t whysz);

/* odbc_decimal_text - scaled decimal (value at scale) as text at col_scale
 * places ("123.40" for 12340 at 2 -> col_scale 2).  More places in the
 * value than the column has is an error unless the extra digits are zero
 * (never rounded).  More integer digits than precision - col_scale allow
 * is an error (precision <= 0: unchecked).  0 ok, -1 does not fit. */
int odbc_decimal_text(int64_t value, int scale, int precision, int col_scale,
                      char *out, size_t outsz);


/* odbc_char_fit - fit text s to a column of col_chars characters.
 * fixed (CHAR): pad with spaces to exactly col_chars.  A value longer
 * than the column is accepted when only trailing spaces overflow (they are
 * trimmed); otherwise it is an error unless truncate (then cut at a code
 * point boundary, *truncated set).  col_chars 0 = unknown size (no check).
 * Writes NUL-terminated text to out; 0 ok, -1 too long, -2 out too small. */
int odbc_char_fit(const char *s, size_t col_chars, bool fixed, bool truncate,
                  char *out, size_t outsz, bool *truncated);

/* ---- parameter binding (odbc_bind.c) ----------------------------------
 * Used by odbc.c; exported only so the adapter can live in two files. */

#define ODBC_TEXT_CAP (1024 * 1024)   /* one text value, bytes */

struct tz;

enum odbc_pkind {
    ODBC_PK_TEXT, ODBC_PK_DEC, ODBC_PK_INT, ODBC_PK_DATE, ODBC_PK_TS,
    ODBC_PK_BIT,
};

/* one statement parameter and where its value comes from */
struct odbc_param {
    const struct map_assign *a;
    enum odbc_pkind kind;
    bool fixed;               /* CHAR: pad to size */
    SQLSMALLINT sqltype;
    SQLULEN size;             /* chars (text) or precision (dec); 0 unknown */
    SQLSMALLINT scale;        /* dec; -1 unknown */
};

/* one converted value of one row */
struct odbc_cell {
    bool null;
    char *text;               /* ODBC_PK_TEXT, ODBC_PK_DEC (owned) */
    int64_t i;                /* ODBC_PK_INT, ODBC_PK_BIT */
    SQL_DATE_STRUCT d;
    SQL_TIMESTAMP_STRUCT ts;
};

/* column-wise parameter array: m elements of elem bytes */
struct odbc_pbuf {
    void *data;
    SQLLEN *ind;
    SQLLEN elem;
};

/* odbc_source - the value an assignment source names for an item: a
 * record field, "$reference"/"$ref", "$delivery-id", "$service", or the
 * constant value;
 * tmp holds specials (borrowed pointers, nothing to free) */
const struct fvalue *odbc_source(const char *from, const char *value,
                                 const struct delivery_item *it,
                                 struct fvalue *tmp);
/* odbc_convert - one value into one cell for parameter pc; 0 ok, -1 with
 * err (the record FAILs).  london: zone for local-time, may be NULL.
 * The cell's text is owned by the caller (free it). */
int odbc_convert(const struct tz *london, const struct odbc_param *pc,
                 const struct delivery_item *it, struct odbc_cell *c,
                 char *err, size_t esz);
/* odbc_bufs_build - column arrays pb[0..np) for rows idx[0..m) of the
 * row-major cells; 0 ok, -1 nomem.  Free with odbc_bufs_free. */
int odbc_bufs_build(const struct odbc_param *p, size_t np,
                    struct odbc_cell *cells, const size_t *idx, size_t m,
                    struct odbc_pbuf *pb);
void odbc_bufs_free(struct odbc_pbuf *pb, size_t np);
/* odbc_bind_params - bind rows [row, row+m) of pb to st, paramset m */
SQLRETURN odbc_bind_params(const struct odbc_param *p, size_t np,
                           SQLHSTMT st, struct odbc_pbuf *pb, size_t row,
                           size_t m);
/* odbc_bind_rows - bind rows [row, row+m) of pb to the m * np markers of
 * one many-row statement (marker r * np + j + 1 = column j of row r),
 * paramset 1 */
SQLRETURN odbc_bind_rows(const struct odbc_param *p, size_t np,
                         SQLHSTMT st, struct odbc_pbuf *pb, size_t row,
                         size_t m);
/* odbc_kind_from_sql - parameter kind from an ODBC SQL type, its size and
 * scale, and the declared type name (may be NULL) */
void odbc_kind_from_sql(struct odbc_param *pc, SQLSMALLINT t, SQLULEN size,
                        SQLSMALLINT scale, const char *tname);
/* odbc_assign_overrides - size=, scale=, char=fixed on the <map> */
void odbc_assign_overrides(struct odbc_param *pc);

/* ---- instance, connections and transactions (odbc_pool.c) -------------
 * Used by odbc.c only; the descriptor adapter_odbc stays its one export. */

struct conn {
    SQLHDBC dbc;
    SQLHSTMT ins;             /* prepared insert / statement */
    SQLHSTMT mark;            /* prepared marker insert, or NULL */
    SQLHSTMT multi;           /* prepared rows-per-insert INSERT, or NULL */
    SQLHSTMT mmulti;          /* the same for the marker, or NULL */
    bool open, busy;
};

struct odbc {
    SQLHENV env;
    char *connstr;            /* secret */
    size_t connlen;
    long batch, login_to, query_to;
    bool create_marker, quote;
    char *table_raw;          /* as configured, for SQLColumns */
    char *table_q;            /* quoted */
    char *marker_q;           /* quoted marker table or NULL */
    char *marker_raw;         /* as configured, for messages */
    char *insert_sql, *marker_sql, *marker_probe_sql;
    char *marker_void_sql;    /* delete an earlier send's void marker */
    /* many rows per statement (table mode): INSERT ... VALUES (?,..),
     * (?,..)... with multi_rows rows, and the marker's likewise; 0 or 1
     * rows = off (array binding or row by row only) */
    char *multi_sql, *mmulti_sql;
    size_t multi_rows;
    char *reconcile_sql;
    char **rec_src;           /* sources for reconcile-query parameters */
    size_t nrec_src;
    char **colq;              /* quoted column per param (table mode) */
    bool *is_key;             /* per param: named in key-columns */
    size_t nkeys;
    struct odbc_param *p;
    size_t np;
    struct tz *london;
    pthread_mutex_t mu;       /* pool slots */
    pthread_cond_t cv;
    pthread_mutex_t meta;     /* describe / marker creation, once */
    bool described, marker_made, marker_seen;
    int array_ok;             /* -1 unknown, 0 no, 1 yes */
    struct conn *c;
    size_t nc;
};

/* the diagnostics of one failed call */
struct diag {
    char state[6];
    char msg[700];
    bool marker;              /* set up of the marker table failed */
};


/* odbc_get_diag - first diagnostic record of a handle */
void odbc_get_diag(SQLSMALLINT type, SQLHANDLE h, struct diag *d);
/* odbc_conn_close - roll back, free c's statements and disconnect; c
 * stays a (closed) slot */
void odbc_conn_close(struct conn *c);
/* odbc_pool_get - a free connection slot, opened (waits while every slot
 * is busy); NULL with dg when it cannot connect (the slot is released
 * again) */
struct conn *odbc_pool_get(struct odbc *o, struct diag *dg);
/* odbc_pool_put - give c back to the pool, closed first when broken */
void odbc_pool_put(struct odbc *o, struct conn *c, bool broken);
/* odbc_commit - 0 committed; -1 with dg (outcome decided by the caller) */
int odbc_commit(struct conn *c, struct diag *dg);
/* odbc_rollback - false when the connection is gone */
bool odbc_rollback(struct conn *c);

/* ---- setup at init (odbc_setup.c) -------------------------------------
 * Used by odbc.c's odbc_init only. */

/* odbc_setup - check options (env->opts) and mapping (env->map), build
 * the SQL and the connection string into a new instance *out; connects to
 * nothing.  0 ok; -1 with e, and *out is the half-built instance (may be
 * NULL) for the caller to close. */
int odbc_setup(struct odbc **out, const struct adapter_env *env,
               struct errs *e);

#endif
