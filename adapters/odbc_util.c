/* odbc_util.c - pure helpers of the ODBC adapter: SQLSTATE classification,
 * identifiers, exact decimal text, CHAR padding.
 *
 * Contract: no ODBC handles, no allocation, no global state; every output
 * goes to a caller-supplied buffer.  See adapters/odbc.h. */
#include "adapters/odbc.h"
#include "util/utf8.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* has_word - case-insensitive substring test */
static bool has_word(const char *msg, const char *w)
{
    return msg && strcasestr(msg, w) != NULL;
}

/* odbc_classify - SQLSTATE class -> outcome; the one table of the adapter.
 *
 *   08xxx connection exception ............ RETRY, connection lost
 *   57P01/57P02/57P03 admin shutdown ....... RETRY, connection lost
 *   40001 serialization, 40P01 deadlock .... RETRY
 *   40003 statement completion unknown ..... INDOUBT
 *   HYT00/HYT01 timeouts ................... RETRY
 *   53xxx resources, 55P03 lock, 57014 ..... RETRY
 *   21/22/23/42/44/0A/07/28/3D/3F/2B ..... FAIL (data, constraint, config)
 *   40002 integrity violation at commit .... FAIL
 *   HY000 (SQLite): "constraint"/"UNIQUE"/"NOT NULL" FAIL, "locked"/"busy"
 *   RETRY; anything else unknown ........... RETRY (policy caps attempts)
 * A lost connection during commit is INDOUBT whatever the state. */
enum adapter_outcome odbc_classify(const char *state, const char *msg,
                                   bool in_commit, bool *conn_lost)
{
    bool lost = false;
    enum adapter_outcome o = ADAPTER_RETRY;
    char s[6] = "";

    if (state)
        snprintf(s, sizeof s, "%s", state);
    if (strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 ||
        strcmp(s, "57P02") == 0 || strcmp(s, "57P03") == 0) {
        lost = true;
        o = ADAPTER_RETRY;
    } else if (strcmp(s, "40003") == 0) {
        o = ADAPTER_INDOUBT;
    } else if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
               strcmp(s, "HYT00") == 0 || strcmp(s, "HYT01") == 0 ||
               strncmp(s, "53", 2) == 0 || strcmp(s, "55P03") == 0 ||
               strcmp(s, "57014") == 0) {
        o = ADAPTER_RETRY;
    } else if (strcmp(s, "40002") == 0 ||
               strncmp(s, "21", 2) == 0 || strncmp(s, "22", 2) == 0 ||
               strncmp(s, "23", 2) == 0 || strncmp(s, "42", 2) == 0 ||
               strncmp(s, "44", 2) == 0 || strncmp(s, "0A", 2) == 0 ||
               strncmp(s, "07", 2) == 0 || strncmp(s, "28", 2) == 0 ||
               strncmp(s, "3D", 2) == 0 || strncmp(s, "3F", 2) == 0 ||
               strncmp(s, "2B", 2) == 0) {
        o = ADAPTER_FAIL;
    } else if (s[0] == '\0' || strcmp(s, "HY000") == 0) {
        /* drivers that say HY000 for everything: read the words */
        if (has_word(msg, "constraint") || has_word(msg, "not unique") ||
            has_word(msg, "datatype mismatch") || has_word(msg, "no such table") ||
            has_word(msg, "no such column") || has_word(msg, "syntax error"))
            o = ADAPTER_FAIL;
        else if (has_word(msg, "locked") || has_word(msg, "busy"))
            o = ADAPTER_RETRY;
        else if (has_word(msg, "connection") && has_word(msg, "lost"))
            lost = true;
    }
    if (in_commit && lost)
        o = ADAPTER_INDOUBT;
    if (conn_lost)
        *conn_lost = lost;
    return o;
}

bool odbc_login_refused(const char *state, const char *msg)
{
    if (state && strncmp(state, "28", 2) == 0)
        return true;
    if (state && *state && strncmp(state, "08", 2) != 0 &&
        strcmp(state, "HY000") != 0)
        return false;
    return has_word(msg, "authentication failed") ||
           has_word(msg, "password") || has_word(msg, "pg_hba.conf") ||
           has_word(msg, "login failed") ||
           (has_word(msg, "role") && has_word(msg, "does not exist")) ||
           (has_word(msg, "database") && has_word(msg, "does not exist"));
}

bool odbc_object_unusable(const char *state, const char *msg)
{
    if (state && (strcmp(state, "42P01") == 0 || strcmp(state, "42S02") == 0 ||
                  strcmp(state, "42703") == 0 || strcmp(state, "42S22") == 0 ||
                  strcmp(state, "42501") == 0))
        return true;
    if (state && *state && strcmp(state, "HY000") != 0)
        return false;
    return has_word(msg, "no such table") || has_word(msg, "no such column") ||
           has_word(msg, "has no column named") ||
           has_word(msg, "permission denied") ||
           has_word(msg, "readonly database");
}

bool odbc_is_duplicate(const char *state, const char *msg)
{
    if (state && (strcmp(state, "23505") == 0 || strcmp(state, "23000") == 0 ||
                  strcmp(state, "23P01") == 0)) {
        /* 23000 is generic integrity: only a key clash counts */
        if (strcmp(state, "23505") == 0)
            return true;
        return has_word(msg, "unique") || has_word(msg, "duplicate") ||
               has_word(msg, "primary key");
    }
    if (!state || !*state || strcmp(state, "HY000") == 0)
        return has_word(msg, "UNIQUE constraint") ||
               has_word(msg, "PRIMARY KEY") || has_word(msg, "not unique");
    return false;
}

static bool ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool ident_char(char c)
{
    return ident_start(c) || (c >= '0' && c <= '9') || c == '$' || c == '#';
}

bool odbc_ident_valid(const char *s)
{
    if (!s || !*s || strlen(s) > 128)
        return false;
    bool part_start = true;
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (part_start)
                return false;       /* empty part: "a..b" or ".a" */
            part_start = true;
            continue;
        }
        if (part_start ? !ident_start(*p) : !ident_char(*p))
            return false;
        part_start = false;
    }
    return !part_start;             /* no trailing dot */
}

int odbc_ident_quote(const char *s, char *out, size_t outsz)
{
    if (!odbc_ident_valid(s) || outsz == 0)
        return -1;
    size_t o = 0;
    /* worst case: every part adds two quotes */
    for (const char *p = s;; p++) {
        if (p == s || p[-1] == '.') {
            if (o + 1 >= outsz)
                return -1;
            out[o++] = '"';
        }
        if (*p == '.' || *p == '\0') {
            if (o + 1 >= outsz)
                return -1;
            out[o++] = '"';
        }
        if (*p == '\0')
            break;
        if (o + 1 >= outsz)
            return -1;
        out[o++] = *p;
    }
    out[o] = '\0';
    return 0;
}

int odbc_decimal_text(int64_t value, int scale, int precision, int col_scale,
                      char *out, size_t outsz)
{
    if (scale < 0 || scale > 18)
        return -1;
    if (col_scale < 0)
        col_scale = scale;
    if (col_scale > 38)
        return -1;
    bool neg = value < 0;
    uint64_t mag = neg ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    int places = scale;
    /* drop extra places only when they are zero: never round */
    while (places > col_scale) {
        if (mag % 10 != 0)
            return -1;
        mag /= 10;
        places--;
    }
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)mag);
    if (nd <= 0)
        return -1;
    int int_digits = nd > places ? nd - places : 0;
    if (int_digits == 1 && digits[0] == '0')
        int_digits = 0;
    if (precision > 0 && int_digits > precision - col_scale)
        return -1;
    char tmp[96];
    size_t t = 0;
    if (neg && mag != 0)
        tmp[t++] = '-';
    if (nd <= places) {
        tmp[t++] = '0';
    } else {
        memcpy(tmp + t, digits, (size_t)(nd - places));
        t += (size_t)(nd - places);
    }
    if (col_scale > 0) {
        tmp[t++] = '.';
        for (int i = places; i > nd; i--)
            tmp[t++] = '0';                 /* leading zeros of fraction */
        int from = nd > places ? nd - places : 0;
        for (int i = from; i < nd; i++)
            tmp[t++] = digits[i];
        for (int i = places; i < col_scale; i++)
            tmp[t++] = '0';                 /* pad to the column scale */
    }
    if (t + 1 > outsz)
        return -1;
    memcpy(out, tmp, t);
    out[t] = '\0';
    return 0;
}

/* byte offset of the code point after the first nchars ones */
static size_t utf8_prefix(const char *s, size_t len, size_t nchars)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == nchars)
                return i;
            n++;
        }
    }
    return len;
}

int odbc_char_fit(const char *s, size_t col_chars, bool fixed, bool truncate,
                  char *out, size_t outsz, bool *truncated)
{
    size_t len = strlen(s);
    if (truncated)
        *truncated = false;
    if (col_chars > 0) {
        size_t nch = utf8_chars(s, len);
        if (nch > col_chars) {
            size_t keep = utf8_prefix(s, len, col_chars);
            bool only_spaces = true;
            for (size_t i = keep; i < len; i++)
                if (s[i] != ' ')
                    only_spaces = false;
            if (!only_spaces) {
                if (!truncate)
                    return -1;
                if (truncated)
                    *truncated = true;
            }
            len = keep;
        }
    }
    size_t pad = 0;
    if (fixed && col_chars > 0) {
        size_t nch = utf8_chars(s, len);
        pad = col_chars > nch ? col_chars - nch : 0;
    }
    if (len + pad + 1 > outsz)
        return -2;
    memcpy(out, s, len);
    memset(out + len, ' ', pad);
    out[len + pad] = '\0';
    return 0;
}

/* ---- connection strings ------------------------------------------------ */

/* Attributes are KEY=VALUE separated by ';' (SQLDriverConnect).  A value
 * in braces may hold ';', '=' and spaces, a '}' inside doubled.  A
 * connection string holds a password: no message here quotes a value. */

static bool key_char(char c)
{
    return c != '=' && c != ';' && c != '{' && c != '}' && c != '\0' &&
           c != '\n' && c != '\r';
}

int odbc_connstr_each(const char *s, size_t n,
                      int (*fn)(void *ctx, const char *key,
                                const char *val, size_t vlen),
                      void *ctx, char *why, size_t whysz)
{
    char key[ODBC_CONNSTR_MAX + 1], val[ODBC_CONNSTR_MAX + 1];
    int rc = 0;
    size_t i = 0, attr = 0;
    if (n > ODBC_CONNSTR_MAX) {
        snprintf(why, whysz, "longer than %d bytes", ODBC_CONNSTR_MAX);
        return -1;
    }
    while (i < n && rc == 0) {
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i < n && s[i] == ';') {         /* an empty attribute */
            i++;
            continue;
        }
        if (i == n)
            break;
        attr++;
        size_t k0 = i;
        while (i < n && key_char(s[i]))
            i++;
        size_t kn = i - k0;
        while (kn && (s[k0 + kn - 1] == ' ' || s[k0 + kn - 1] == '\t'))
            kn--;
        if (i == n || s[i] != '=' || kn == 0) {
            snprintf(why, whysz, "attribute %zu (byte %zu) is not KEY=VALUE",
                     attr, k0 + 1);
            rc = -1;
            break;
        }
        memcpy(key, s + k0, kn);
        key[kn] = '\0';
        i++;                                 /* '=' */
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t vn = 0;
        if (i < n && s[i] == '{') {
            size_t open = i++;
            for (;;) {
                if (i == n) {
                    snprintf(why, whysz, "attribute %zu (%s): the brace at "
                             "byte %zu is never closed", attr, key, open + 1);
                    rc = -1;
                    break;
                }
                if (s[i] == '}') {
                    if (i + 1 < n && s[i + 1] == '}') {
                        val[vn++] = '}';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (s[i] == '\0') {
                    snprintf(why, whysz, "attribute %zu (%s) holds a NUL "
                             "byte", attr, key);
                    rc = -1;
                    break;
                }
                val[vn++] = s[i++];
            }
            if (rc)
                break;
            while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
            if (i < n && s[i] != ';') {
                snprintf(why, whysz, "attribute %zu (%s): text after the "
                         "closing brace at byte %zu", attr, key, i + 1);
                rc = -1;
                break;
            }
        } else {
            while (i < n && s[i] != ';') {
                if (s[i] == '\0' || s[i] == '\n' || s[i] == '\r' ||
                    s[i] == '{' || s[i] == '}') {
                    snprintf(why, whysz, "attribute %zu (%s): byte %zu is %s "
                             "(put the value in braces)", attr, key, i + 1,
                             s[i] == '\0' ? "a NUL" : s[i] == '{' ||
                             s[i] == '}' ? "a brace" : "a line break");
                    rc = -1;
                    break;
                }
                val[vn++] = s[i++];
            }
            if (rc)
                break;
            while (vn && (val[vn - 1] == ' ' || val[vn - 1] == '\t'))
                vn--;
        }
        val[vn] = '\0';
        if (i < n)
            i++;                             /* ';' */
        if (fn)
            rc = fn(ctx, key, val, vn);
    }
    explicit_bzero(val, sizeof val);
    if (rc == 0 && attr == 0) {
        snprintf(why, whysz, "no KEY=VALUE attribute");
        rc = -1;
    }
    return rc;
}

/* put - append s (len n) to out at *at; false when it does not fit */
static bool put(char *out, size_t outsz, size_t *at, const char *s, size_t n)
{
    if (*at + n >= outsz)
        return false;
    memcpy(out + *at, s, n);
    *at += n;
    out[*at] = '\0';
    return true;
}

int odbc_connstr_make(const char *dsn, const char *user, const char *pw,
                      char *out, size_t outsz, char *why, size_t whysz)
{
    size_t at = 0;
    if (outsz)
        out[0] = '\0';
    if (!dsn || !*dsn || strpbrk(dsn, ";{}=\r\n")) {
        snprintf(why, whysz, "dsn may not be empty nor contain ; { } = or a "
                 "line break");
        return -1;
    }
    if (user && (strpbrk(user, ";{}=\r\n") || !*user)) {
        snprintf(why, whysz, "user may not be empty nor contain ; { } = or "
                 "a line break");
        return -1;
    }
    bool ok = put(out, outsz, &at, "DSN=", 4) &&
              put(out, outsz, &at, dsn, strlen(dsn)) &&
              put(out, outsz, &at, ";", 1);
    if (ok && user)
        ok = put(out, outsz, &at, "UID=", 4) &&
             put(out, outsz, &at, user, strlen(user)) &&
             put(out, outsz, &at, ";", 1);
    if (ok && pw) {
        /* ODBC braces: a '}' inside is doubled */
        ok = put(out, outsz, &at, "PWD={", 5);
        for (const char *p = pw; ok && *p; p++)
            ok = put(out, outsz, &at, p, 1) &&
                 (*p != '}' || put(out, outsz, &at, "}", 1));
        ok = ok && put(out, outsz, &at, "};", 2);
    }
    if (!ok || at > ODBC_CONNSTR_MAX) {
        explicit_bzero(out, outsz);
        snprintf(why, whysz, "connection string (dsn, user, password) is "
                 "longer than %d bytes", ODBC_CONNSTR_MAX);
        return -1;
    }
    return 0;
}
