// fuzz-sources: adapters/odbc_util.c util/utf8.c
// fuzz-corpus: tests/fuzz/seeds/odbc_connstr
/* fuzz_odbc_connstr - libFuzzer target for ODBC connection strings: a
 * connection-file's text as odbc_connstr_each checks it before it
 * reaches the driver, and the string odbc_connstr_make builds from a
 * target's dsn, user and password.
 * - Any bytes: the walk stops inside them, hands out keys without
 *   = ; { } and values no longer than the input, and a refusal never
 *   quotes a value (checked with a marker byte run).
 * - The input split at its first two NUL bytes into dsn, user and
 *   password: a string that is made walks back to exactly DSN, UID and
 *   PWD with those values, so no password can add or change an
 *   attribute (the injection a '}' or ';' in a password would be). */
#include "adapters/odbc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    const char *want[3][2];
    int n, nwant;
    size_t inlen;
    int bad;
};

static int any(void *ctx, const char *key, const char *val, size_t vlen)
{
    struct seen *s = ctx;
    if (!*key || strpbrk(key, "=;{}") || vlen > s->inlen ||
        strlen(val) != vlen)
        abort();
    s->n++;
    return 0;
}

static int exact(void *ctx, const char *key, const char *val, size_t vlen)
{
    struct seen *s = ctx;
    (void)vlen;
    if (s->n >= s->nwant || strcmp(key, s->want[s->n][0]) != 0 ||
        strcmp(val, s->want[s->n][1]) != 0)
        s->bad = 1;
    s->n++;
    return 0;
}

/* plain_ok - a plain value the walk gives back as is (no blanks to trim) */
static int plain_ok(const char *v)
{
    size_t n = strlen(v);
    return n && v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' &&
           v[n - 1] != '\t';
}

/* value_marker - the marker occurs, and only right after '=' or '{' */
static int value_marker(const uint8_t *d, size_t n)
{
    int found = 0;
    for (size_t i = 0; i + 10 <= n; i++)
        if (memcmp(d + i, "ZZSECRETZZ", 10) == 0) {
            if (i == 0 || (d[i - 1] != '=' && d[i - 1] != '{'))
                return 0;
            found = 1;
        }
    return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    struct seen s = { .inlen = size };
    if (odbc_connstr_each((const char *)data, size, any, &s, why,
                          sizeof why) != 0) {
        if (!why[0] || !memchr(why, '\0', sizeof why))
            abort();
        /* a value starting with the marker is never echoed (a key can
         * be: so only when every marker follows '=' or '{', where no key
         * can begin) */
        if (value_marker(data, size) && strstr(why, "ZZSECRETZZ"))
            abort();
    }
    /* dsn \0 user \0 password */
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *dsn = buf, *user = NULL, *pw = NULL;
    size_t l0 = strlen(buf);
    if (l0 < size) {
        user = buf + l0 + 1;
        size_t l1 = strlen(user);
        if (l0 + 1 + l1 < size)
            pw = user + l1 + 1;
    }
    static char out[ODBC_CONNSTR_MAX + 1];
    if (odbc_connstr_make(dsn, user, pw, out, sizeof out, why,
                          sizeof why) == 0) {
        struct seen x = { .nwant = 0 };
        x.want[x.nwant][0] = "DSN";
        x.want[x.nwant++][1] = dsn;
        if (user) {
            x.want[x.nwant][0] = "UID";
            x.want[x.nwant++][1] = user;
        }
        if (pw) {
            x.want[x.nwant][0] = "PWD";
            x.want[x.nwant++][1] = pw;
        }
        int rc = odbc_connstr_each(out, strlen(out), exact, &x, why,
                                   sizeof why);
        /* dsn and user are plain values: blanks around them are trimmed
         * by the walk, as by drivers; the password is braced, exact */
        if (plain_ok(dsn) && (!user || plain_ok(user)) &&
            (rc != 0 || x.bad || x.n != x.nwant))
            abort();
        if (pw && rc != 0)
            abort();
    } else if (!why[0]) {
        abort();
    }
    free(buf);
    return 0;
}
