/* sql_open.c - sql_open (sql.h): the one place that names the statement
 * layer's engines and picks one from a connection description.  Apart
 * from sql.c so that the engines, which use sql.c's helpers, are never
 * called from it. */
#include "spool/sql_impl.h"
#include "util/errs.h"

#include <stddef.h>

struct sql_conn *sql_open(const struct sql_desc *d, struct errs *e)
{
    switch (d ? d->backend : 0) {
    case SQL_SQLITE:
        return sql_sqlite_open(d, e);
    case SQL_POSTGRESQL:
        return sql_pg_open(d, e);
    }
    errs_add(e, "ledger", "no such ledger backend");
    return NULL;
}
