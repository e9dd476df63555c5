/* odbc_bind.c - record values into typed ODBC parameters for the ODBC
 * adapter (adapters/odbc.c).
 *
 * Contract: a parameter's kind comes from the target's metadata
 * (odbc_kind_from_sql), never from the record; odbc_convert turns one
 * value into a cell by that kind (CHAR padded, NUMERIC as exact text,
 * integers as SQLBIGINT, DATE/TIMESTAMP as ODBC structs in UTC or London,
 * absent as NULL); odbc_bufs_build lays cells out as column-wise arrays
 * and odbc_bind_params binds a slice of them.  No connection is used. */
#include "adapters/odbc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/tz.h"

/* parse_num - decimal integer in [min, max]; 0 ok */
static int parse_num(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* source - the value an assignment takes for an item; tmp holds specials */
const struct fvalue *odbc_source(const char *from, const char *value,
                                   const struct delivery_item *it,
                                   struct fvalue *tmp)
{
    memset(tmp, 0, sizeof *tmp);
    tmp->type = FT_STRING;
    if (value) {
        tmp->present = true;
        tmp->text = (char *)value;
        return tmp;
    }
    if (!from)
        return tmp;
    if (strcmp(from, "$reference") == 0 || strcmp(from, "$ref") == 0) {
        tmp->present = it->ref != NULL;
        tmp->text = (char *)it->ref;
        return tmp;
    }
    if (strcmp(from, "$delivery-id") == 0) {
        tmp->present = it->delivery_id != NULL;
        tmp->text = (char *)it->delivery_id;
        return tmp;
    }
    if (strcmp(from, "$service") == 0) {
        tmp->present = it->service != NULL;
        tmp->text = (char *)it->service;
        return tmp;
    }
    const struct fvalue *v = it->rec ? record_get(it->rec, from) : NULL;
    return v ? v : tmp;
}

/* split_ms - ms since epoch into wall-clock fields, UTC or London */
static void split_ms(const struct tz *london, int64_t ms, bool local,
                     struct tm *tm, int *msec)
{
    int64_t s = ms / 1000;
    int r = (int)(ms % 1000);
    if (r < 0) {
        r += 1000;
        s--;
    }
    *msec = r;
    if (local && london) {
        tz_localtime(london, s, tm);
    } else {
        time_t t = (time_t)s;
        gmtime_r(&t, tm);
    }
}

/* date_fmt - the legacy names for date formats, else strftime text */
static const char *date_fmt(const char *f)
{
    if (!f)
        return NULL;
    if (!strcmp(f, "CCYYMMDD"))
        return "%Y%m%d";
    if (!strcmp(f, "YYMMDD"))
        return "%y%m%d";
    if (!strcmp(f, "DDMMCCYY"))
        return "%d%m%Y";
    return f;
}

/* to_text - a value as text for a text column */
static int to_text(const struct tz *london, const struct map_assign *a,
                   const struct fvalue *v, char **out, char *err, size_t esz)
{
    const char *fmt = date_fmt(a ? a->format : NULL);
    bool local = a && a->local_time;
    if ((v->type == FT_DATE || v->type == FT_DATETIME) && (fmt || local)) {
        struct tm tm;
        int msec = 0;
        memset(&tm, 0, sizeof tm);
        if (v->type == FT_DATE) {
            int y, m, d;
            record_date_from_days(v->num, &y, &m, &d);
            tm.tm_year = y - 1900;
            tm.tm_mon = m - 1;
            tm.tm_mday = d;
        } else {
            split_ms(london, v->num, local, &tm, &msec);
        }
        char b[128];
        size_t n = strftime(b, sizeof b,
                            fmt ? fmt : (v->type == FT_DATE
                                         ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S"),
                            &tm);
        if (n == 0) {
            snprintf(err, esz, "date format gives no text");
            return -1;
        }
        *out = strdup(b);
    } else {
        *out = strdup(v->text ? v->text : "");
    }
    return *out ? 0 : -1;
}

/* convert - one value into one cell for parameter pc; 0 ok, -1 err */
int odbc_convert(const struct tz *london, const struct odbc_param *pc,
                   const struct delivery_item *it, struct odbc_cell *c, char *err,
                   size_t esz)
{
    struct fvalue tmp;
    const struct map_assign *a = pc->a;
    const struct fvalue *v = odbc_source(a->from, a->value, it, &tmp);
    memset(c, 0, sizeof *c);
    if (!v->present || (v->type != FT_LIST && !v->text)) {
        c->null = true;
        return 0;
    }
    if (v->type == FT_LIST) {
        snprintf(err, esz, "a list cannot fill a column");
        return -1;
    }
    switch (pc->kind) {
    case ODBC_PK_TEXT: {
        char *t = NULL;
        if (to_text(london, a, v, &t, err, esz) < 0)
            return -1;
        size_t cap = strlen(t) + (pc->fixed ? pc->size * 4 : 0) + 1;
        if (cap > ODBC_TEXT_CAP) {
            free(t);
            snprintf(err, esz, "value longer than %d bytes", ODBC_TEXT_CAP);
            return -1;
        }
        c->text = malloc(cap);
        bool cut = false;
        int r = c->text ? odbc_char_fit(t, pc->size, pc->fixed, a->truncate,
                                        c->text, cap, &cut) : -2;
        free(t);
        if (r == -1) {
            snprintf(err, esz, "value is longer than the column's %lu "
                     "characters (truncate not allowed)",
                     (unsigned long)pc->size);
            return -1;
        }
        if (r < 0) {
            snprintf(err, esz, "out of memory");
            return -1;
        }
        return 0;
    }
    case ODBC_PK_DEC: {
        int64_t num;
        int scale;
        if (v->wide) {
            snprintf(err, esz, "more than 18 digits");
            return -1;
        }
        if (v->type == FT_DECIMAL) {
            num = v->num;
            scale = v->scale;
        } else if (v->type == FT_INTEGER || v->type == FT_BOOLEAN) {
            num = v->num;
            scale = 0;
        } else {
            /* text: read exactly at the column's scale (or as written) */
            const char *dot = strchr(v->text, '.');
            scale = dot ? (int)strlen(dot + 1) : 0;
            if (scale > 18 || record_dec_parse(v->text, scale, &num) < 0) {
                snprintf(err, esz, "not a decimal number");
                return -1;
            }
        }
        char b[64];
        if (odbc_decimal_text(num, scale, (int)pc->size, pc->scale, b,
                              sizeof b) < 0) {
            snprintf(err, esz, "decimal does not fit NUMERIC(%lu,%d) "
                     "(never rounded)", (unsigned long)pc->size, pc->scale);
            return -1;
        }
        c->text = strdup(b);
        return c->text ? 0 : -1;
    }
    case ODBC_PK_INT:
    case ODBC_PK_BIT:
        if (v->wide) {
            snprintf(err, esz, "more than 18 digits");
            return -1;
        }
        if (v->type == FT_INTEGER || v->type == FT_BOOLEAN) {
            c->i = v->num;
        } else if (v->type == FT_DECIMAL) {
            int64_t n = v->num;
            for (int k = 0; k < v->scale; k++) {
                if (n % 10) {
                    snprintf(err, esz, "decimal with a fraction for an "
                             "integer column");
                    return -1;
                }
                n /= 10;
            }
            c->i = n;
        } else {
            char *end;
            errno = 0;
            long long n = strtoll(v->text, &end, 10);
            if (end == v->text || *end || errno) {
                snprintf(err, esz, "not an integer");
                return -1;
            }
            c->i = n;
        }
        if (pc->kind == ODBC_PK_BIT && c->i != 0 && c->i != 1) {
            snprintf(err, esz, "not a bit (0/1)");
            return -1;
        }
        return 0;
    case ODBC_PK_DATE:
    case ODBC_PK_TS: {
        int y = 1970, mo = 1, d = 1, h = 0, mi = 0, s = 0, msec = 0;
        int64_t n;
        if (v->type == FT_DATE || (v->type != FT_DATETIME &&
                                   strlen(v->text) == 10 &&
                                   record_date_parse(v->text, &n) == 0)) {
            record_date_from_days(v->type == FT_DATE ? v->num : n, &y, &mo, &d);
        } else {
            int64_t ms = v->num;
            if (v->type != FT_DATETIME && record_datetime_parse(v->text, &ms) < 0) {
                snprintf(err, esz, "not a date or datetime");
                return -1;
            }
            struct tm tm;
            split_ms(london, ms, a->local_time, &tm, &msec);
            y = tm.tm_year + 1900;
            mo = tm.tm_mon + 1;
            d = tm.tm_mday;
            h = tm.tm_hour;
            mi = tm.tm_min;
            s = tm.tm_sec;
        }
        if (y < 1 || y > 9999) {
            snprintf(err, esz, "year %d out of range", y);
            return -1;
        }
        if (pc->kind == ODBC_PK_DATE) {
            c->d.year = (SQLSMALLINT)y;
            c->d.month = (SQLUSMALLINT)mo;
            c->d.day = (SQLUSMALLINT)d;
        } else {
            c->ts.year = (SQLSMALLINT)y;
            c->ts.month = (SQLUSMALLINT)mo;
            c->ts.day = (SQLUSMALLINT)d;
            c->ts.hour = (SQLUSMALLINT)h;
            c->ts.minute = (SQLUSMALLINT)mi;
            c->ts.second = (SQLUSMALLINT)s;
            c->ts.fraction = (SQLUINTEGER)msec * 1000000u;
        }
        return 0;
    }
    }
    return -1;
}

/* ---- parameter buffers (column-wise arrays) --------------------------- */


/* bufs_build - column arrays for the rows idx[0..m) of cells */
int odbc_bufs_build(const struct odbc_param *p, size_t np,
                    struct odbc_cell *cells,
                      const size_t *idx, size_t m, struct odbc_pbuf *pb)
{
    for (size_t j = 0; j < np; j++) {
        const struct odbc_param *pc = &p[j];
        SQLLEN elem;
        switch (pc->kind) {
        case ODBC_PK_TEXT:
        case ODBC_PK_DEC: {
            size_t mx = 1;
            for (size_t r = 0; r < m; r++) {
                const struct odbc_cell *c = &cells[idx[r] * np + j];
                if (!c->null && strlen(c->text) + 1 > mx)
                    mx = strlen(c->text) + 1;
            }
            elem = (SQLLEN)mx;
            break;
        }
        case ODBC_PK_INT:  elem = sizeof(SQLBIGINT); break;
        case ODBC_PK_BIT:  elem = sizeof(SQLCHAR); break;
        case ODBC_PK_DATE: elem = sizeof(SQL_DATE_STRUCT); break;
        default:      elem = sizeof(SQL_TIMESTAMP_STRUCT); break;
        }
        pb[j].elem = elem;
        pb[j].data = calloc(m ? m : 1, (size_t)elem);
        pb[j].ind = calloc(m ? m : 1, sizeof(SQLLEN));
        if (!pb[j].data || !pb[j].ind)
            return -1;
        for (size_t r = 0; r < m; r++) {
            const struct odbc_cell *c = &cells[idx[r] * np + j];
            char *dst = (char *)pb[j].data + r * (size_t)elem;
            if (c->null) {
                pb[j].ind[r] = SQL_NULL_DATA;
                continue;
            }
            switch (pc->kind) {
            case ODBC_PK_TEXT:
            case ODBC_PK_DEC:
                memcpy(dst, c->text, strlen(c->text) + 1);
                pb[j].ind[r] = SQL_NTS;
                break;
            case ODBC_PK_INT: {
                SQLBIGINT bi = c->i;
                memcpy(dst, &bi, sizeof bi);
                pb[j].ind[r] = 0;
                break;
            }
            case ODBC_PK_BIT:
                *dst = (char)(c->i ? 1 : 0);
                pb[j].ind[r] = 0;
                break;
            case ODBC_PK_DATE:
                memcpy(dst, &c->d, sizeof c->d);
                pb[j].ind[r] = 0;
                break;
            case ODBC_PK_TS:
                memcpy(dst, &c->ts, sizeof c->ts);
                pb[j].ind[r] = 0;
                break;
            }
        }
    }
    return 0;
}

void odbc_bufs_free(struct odbc_pbuf *pb, size_t np)
{
    for (size_t j = 0; pb && j < np; j++) {
        free(pb[j].data);
        free(pb[j].ind);
    }
}

/* bind_one - parameter number num to element row of column array pb */
static SQLRETURN bind_one(const struct odbc_param *pc, SQLUSMALLINT num,
                          SQLHSTMT st, struct odbc_pbuf *pb, size_t row)
{
    char *data = (char *)pb->data + row * (size_t)pb->elem;
    SQLLEN *ind = pb->ind + row;
    SQLSMALLINT ct, sqlt = pc->sqltype;
    SQLULEN size = pc->size;
    SQLSMALLINT dig = 0;
    switch (pc->kind) {
    case ODBC_PK_TEXT:
        ct = SQL_C_CHAR;
        if (!size)
            size = (SQLULEN)pb->elem;
        break;
    case ODBC_PK_DEC:
        ct = SQL_C_CHAR;
        if (!size)
            size = 38;
        dig = pc->scale >= 0 ? pc->scale : 0;
        break;
    case ODBC_PK_INT:  ct = SQL_C_SBIGINT; size = 0; break;
    case ODBC_PK_BIT:  ct = SQL_C_BIT; size = 1; break;
    case ODBC_PK_DATE: ct = SQL_C_TYPE_DATE; size = 10; break;
    default:      ct = SQL_C_TYPE_TIMESTAMP; size = 23; dig = 3; break;
    }
    return SQLBindParameter(st, num, SQL_PARAM_INPUT, ct, sqlt, size, dig,
                            data, pb->elem, ind);
}

/* bind_params - bind params to rows [row, row+m) of the arrays */
SQLRETURN odbc_bind_params(const struct odbc_param *p, size_t np,
                           SQLHSTMT st,
                             struct odbc_pbuf *pb, size_t row, size_t m)
{
    SQLRETURN rc = SQLSetStmtAttr(st, SQL_ATTR_PARAMSET_SIZE,
                                  (SQLPOINTER)(uintptr_t)m, 0);
    if (!SQL_SUCCEEDED(rc))
        return rc;
    for (size_t j = 0; j < np; j++) {
        rc = bind_one(&p[j], (SQLUSMALLINT)(j + 1), st, &pb[j], row);
        if (!SQL_SUCCEEDED(rc))
            return rc;
    }
    return SQL_SUCCESS;
}

SQLRETURN odbc_bind_rows(const struct odbc_param *p, size_t np,
                         SQLHSTMT st, struct odbc_pbuf *pb, size_t row,
                         size_t m)
{
    SQLRETURN rc = SQLSetStmtAttr(st, SQL_ATTR_PARAMSET_SIZE,
                                  (SQLPOINTER)(uintptr_t)1, 0);
    if (!SQL_SUCCEEDED(rc))
        return rc;
    if (m * np > 65535)
        return SQL_ERROR;
    for (size_t r = 0; r < m; r++)
        for (size_t j = 0; j < np; j++) {
            rc = bind_one(&p[j], (SQLUSMALLINT)(r * np + j + 1), st, &pb[j],
                          row + r);
            if (!SQL_SUCCEEDED(rc))
                return rc;
        }
    return SQL_SUCCESS;
}

/* kind_from_sql - parameter kind from an ODBC SQL type and declared name */
void odbc_kind_from_sql(struct odbc_param *pc, SQLSMALLINT t, SQLULEN size,
                          SQLSMALLINT scale, const char *tname)
{
    pc->sqltype = t;
    pc->size = size;
    pc->scale = scale;
    pc->fixed = false;
    switch (t) {
    case SQL_CHAR:
    case SQL_WCHAR:
        pc->kind = ODBC_PK_TEXT;
        pc->fixed = true;
        break;
    case SQL_DECIMAL:
    case SQL_NUMERIC:
        pc->kind = ODBC_PK_DEC;
        break;
    case SQL_INTEGER:
    case SQL_SMALLINT:
    case SQL_TINYINT:
    case SQL_BIGINT:
        pc->kind = ODBC_PK_INT;
        break;
    case SQL_TYPE_DATE:
    case SQL_DATE:
        pc->kind = ODBC_PK_DATE;
        pc->sqltype = SQL_TYPE_DATE;
        break;
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
        pc->kind = ODBC_PK_TS;
        pc->sqltype = SQL_TYPE_TIMESTAMP;
        break;
    case SQL_BIT:
        pc->kind = ODBC_PK_BIT;
        break;
    case SQL_VARCHAR:
    case SQL_LONGVARCHAR:
    case SQL_WVARCHAR:
    case SQL_WLONGVARCHAR:
        pc->kind = ODBC_PK_TEXT;
        if (t == SQL_LONGVARCHAR || t == SQL_WLONGVARCHAR)
            pc->size = 0;
        break;
    default:
        pc->kind = ODBC_PK_TEXT;
        pc->sqltype = t ? t : SQL_VARCHAR;
        pc->size = 0;
        break;
    }
    /* drivers that type by affinity (SQLite) still report the declared
     * name: CHAR(n), NUMERIC(p,s), DECIMAL(p,s) are what the legacy DDL
     * says and what we honour */
    if (tname) {
        unsigned long a = 0, b = 0;
        int got;
        if ((!strncasecmp(tname, "NUMERIC", 7) || !strncasecmp(tname,
             "DECIMAL", 7)) && (got = sscanf(tname + 7, " (%lu , %lu)", &a,
             &b)) >= 1) {
            pc->kind = ODBC_PK_DEC;
            pc->sqltype = SQL_NUMERIC;
            pc->size = a;
            pc->scale = got == 2 ? (SQLSMALLINT)b : 0;
            pc->fixed = false;
        } else if (!strncasecmp(tname, "CHAR", 4) &&
                   sscanf(tname + 4, " (%lu)", &a) == 1) {
            pc->kind = ODBC_PK_TEXT;
            pc->sqltype = SQL_CHAR;
            pc->fixed = true;
            pc->size = a;
        }
    }
    if (pc->kind == ODBC_PK_TEXT && pc->size > ODBC_TEXT_CAP / 4)
        pc->size = 0;
}

/* assign_overrides - size= / scale= on a <map> beat the driver's answer */
void odbc_assign_overrides(struct odbc_param *pc)
{
    const char *s;
    long v;
    if ((s = kv_get(&pc->a->opts, "size")) && parse_num(s, 1, 100000, &v) == 0)
        pc->size = (SQLULEN)v;
    if ((s = kv_get(&pc->a->opts, "scale")) && parse_num(s, 0, 18, &v) == 0)
        pc->scale = (SQLSMALLINT)v;
    if ((s = kv_get(&pc->a->opts, "char")) && strcmp(s, "fixed") == 0)
        pc->fixed = true;
}
