/* map_types.c - reading a field's text as its type, exactly.
 *
 * Values stay strings until here: a string field keeps "007" or "NO" as
 * written.  Decimals become scaled int64 with no rounding (more places
 * than the scale is a problem), dates and datetimes are validated to the
 * day, and enums go through their code table.  Also the UTF-8 helpers
 * (validation, length in code points) and date formats with the tokens
 * YYYY, MM, DD (and M, D for one or two digits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mappings/mapping.h"

/* num_at - 1..maxd digits (exactly maxd when fixed) */
static int num_at(const char **sp, int mind, int maxd, int *out)
{
    const char *s = *sp;
    int v = 0, n = 0;
    while (n < maxd && *s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        n++;
    }
    if (n < mind)
        return -1;
    *sp = s;
    *out = v;
    return 0;
}

int map_date_read(const char *text, const char *format, int64_t *days)
{
    int y = -1, m = -1, d = -1;
    const char *s = text, *f = format ? format : "YYYY-MM-DD";
    while (*f) {
        int rc = 0;
        if (strncmp(f, "YYYY", 4) == 0 || strncmp(f, "CCYY", 4) == 0) {
            rc = num_at(&s, 4, 4, &y);
            f += 4;
        } else if (strncmp(f, "MM", 2) == 0) {
            rc = num_at(&s, 2, 2, &m);
            f += 2;
        } else if (strncmp(f, "DD", 2) == 0) {
            rc = num_at(&s, 2, 2, &d);
            f += 2;
        } else if (*f == 'M') {
            rc = num_at(&s, 1, 2, &m);
            f++;
        } else if (*f == 'D') {
            rc = num_at(&s, 1, 2, &d);
            f++;
        } else {
            rc = *s == *f ? 0 : -1;
            s++;
            f++;
        }
        if (rc < 0)
            return -1;
    }
    if (*s || y < 1 || m < 1 || m > 12 || d < 1)
        return -1;
    /* "YYYY-MM-DD" by hand (y has 4 digits, m and d at most 2: num_at),
     * for record_date_parse's one calendar check; snprintf here cost more
     * than the rest of the field */
    char iso[11];
    const int part[3] = { y, m, d }, width[3] = { 4, 2, 2 };
    size_t k = 0;
    for (int i = 0; i < 3; i++) {
        if (i)
            iso[k++] = '-';
        for (int w = width[i], v = part[i]; w-- > 0; v /= 10)
            iso[k + (size_t)w] = (char)('0' + v % 10);
        k += (size_t)width[i];
    }
    iso[k] = '\0';
    return record_date_parse(iso, days);
}

int map_date_write(int64_t days, const char *format, char *out, size_t outsz)
{
    int y, m, d;
    size_t n = 0;
    record_date_from_days(days, &y, &m, &d);
    const char *f = format ? format : "YYYY-MM-DD";
    while (*f) {
        char piece[16];
        if (strncmp(f, "YYYY", 4) == 0 || strncmp(f, "CCYY", 4) == 0) {
            snprintf(piece, sizeof piece, "%04d", y);
            f += 4;
        } else if (strncmp(f, "CC", 2) == 0) {
            snprintf(piece, sizeof piece, "%02d", y / 100);
            f += 2;
        } else if (strncmp(f, "YY", 2) == 0) {
            snprintf(piece, sizeof piece, "%02d", y % 100);
            f += 2;
        } else if (strncmp(f, "MM", 2) == 0) {
            snprintf(piece, sizeof piece, "%02d", m);
            f += 2;
        } else if (strncmp(f, "DD", 2) == 0) {
            snprintf(piece, sizeof piece, "%02d", d);
            f += 2;
        } else if (*f == 'M') {
            snprintf(piece, sizeof piece, "%d", m);
            f++;
        } else if (*f == 'D') {
            snprintf(piece, sizeof piece, "%d", d);
            f++;
        } else {
            piece[0] = *f++;
            piece[1] = '\0';
        }
        size_t pl = strlen(piece);
        if (n + pl >= outsz)
            return -1;
        memcpy(out + n, piece, pl);
        n += pl;
    }
    out[n] = '\0';
    return 0;
}

/* read_integer - [+-]digits, int64 */
static int read_integer(const char *t, struct record *home, struct fvalue *v,
                        char *why, size_t whysz)
{
    const char *s = t;
    if (*s == '+' || *s == '-')
        s++;
    if (!*s || strspn(s, "0123456789") != strlen(s)) {
        snprintf(why, whysz, "not a whole number");
        return -1;
    }
    int64_t n;
    if (record_dec_parse(t, 0, &n) < 0) {
        snprintf(why, whysz, "out of range");
        return -1;
    }
    return fvalue_set_int_in(home, v, n);
}

/* thousands_ok - "1,234,567" style grouping of s[0..n) */
static bool thousands_ok(const char *s, size_t n)
{
    size_t first = strcspn(s, ",");
    if (first > n || first == 0 || first > 3)
        return first >= n && first > 0;
    for (size_t i = first; i < n; i += 4) {
        if (s[i] != ',' || i + 4 > n)
            return false;
        for (size_t k = 1; k <= 3; k++)
            if (s[i + k] < '0' || s[i + k] > '9')
                return false;
    }
    return true;
}

/* read_decimal - exact, with a reason naming what is wrong */
static int read_decimal(const struct map_field *f, const char *t,
                        struct record *home, struct fvalue *v, char *why,
                        size_t whysz)
{
    char clean[64];
    const char *s = t;
    size_t n = 0;
    if (*s == '+' || *s == '-')
        clean[n++] = *s++;
    size_t intlen = strcspn(s, ".");
    const char *frac = s[intlen] == '.' ? s + intlen + 1 : NULL;
    bool comma = memchr(s, ',', intlen) != NULL;
    if (comma && !f->thousands) {
        snprintf(why, whysz, "thousands separators are not allowed");
        return -1;
    }
    if ((comma && !thousands_ok(s, intlen)) ||
        strspn(s, "0123456789,") < intlen ||
        (frac && strspn(frac, "0123456789") != strlen(frac)) ||
        (intlen == 0 && (!frac || !*frac))) {
        snprintf(why, whysz, "not a decimal number");
        return -1;
    }
    size_t places = frac ? strlen(frac) : 0;
    if (places > (size_t)f->scale) {
        if (f->scale == 0)
            snprintf(why, whysz, "decimal places are not allowed");
        else
            snprintf(why, whysz, "more than %d decimal place%s", f->scale,
                     f->scale == 1 ? "" : "s");
        return -1;
    }
    for (size_t i = 0; i < intlen; i++) {
        if (s[i] == ',')
            continue;
        if (n + 2 >= sizeof clean)
            goto range;
        clean[n++] = s[i];
    }
    if (frac) {
        if (n + places + 2 >= sizeof clean)
            goto range;
        clean[n++] = '.';
        memcpy(clean + n, frac, places);
        n += places;
    }
    clean[n] = '\0';
    int64_t x;
    if (record_dec_parse(clean, f->scale, &x) < 0)
        goto range;
    return fvalue_set_decimal_in(home, v, x, f->scale);
range:
    snprintf(why, whysz, "out of range");
    return -1;
}

static const char *const def_true[] = {"true", "yes"};
static const char *const def_false[] = {"false", "no"};

static bool word_in(const char *t, const char *const *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(t, w[i]) == 0)
            return true;
    return false;
}

static int read_boolean(const struct map_field *f, const char *t,
                        struct record *home, struct fvalue *v, char *why,
                        size_t whysz)
{
    const char *const *tw = f->true_words ? (const char *const *)f->true_words
                                          : def_true;
    const char *const *fw = f->false_words
                                ? (const char *const *)f->false_words
                                : def_false;
    size_t nt = f->true_words ? f->ntrue : 2, nf = f->false_words ? f->nfalse
                                                                  : 2;
    if (word_in(t, tw, nt))
        return fvalue_set_bool_in(home, v, true);
    if (word_in(t, fw, nf))
        return fvalue_set_bool_in(home, v, false);
    size_t n = (size_t)snprintf(why, whysz, "not one of:");
    for (size_t i = 0; i < nt + nf && n < whysz; i++)
        n += (size_t)snprintf(why + n, whysz - n, "%s %s", i ? "," : "",
                              i < nt ? tw[i] : fw[i - nt]);
    return -1;
}

static int read_enum(const struct map_field *f, const char *t,
                     struct record *home, struct fvalue *v, char *why,
                     size_t whysz)
{
    for (size_t i = 0; i < f->ncodes; i++)
        if (strcmp(t, f->codes[i].value) == 0)
            return fvalue_set_text_n_in(home, v, FT_ENUM, f->codes[i].code,
                                        strlen(f->codes[i].code));
    size_t n = (size_t)snprintf(why, whysz, "not one of:");
    for (size_t i = 0; i < f->ncodes && n < whysz; i++)
        n += (size_t)snprintf(why + n, whysz - n, "%s %s", i ? "," : "",
                              f->codes[i].value);
    return -1;
}

int map_type_read(const struct map_field *f, const char *text,
                  struct fvalue *v, char *why, size_t whysz)
{
    return map_type_read_in(f, text, NULL, v, why, whysz);
}

int map_type_read_in(const struct map_field *f, const char *text,
                     struct record *home, struct fvalue *v, char *why,
                     size_t whysz)
{
    int64_t n;
    switch (f->type) {
    case FT_STRING:
        if (fvalue_set_text_n_in(home, v, FT_STRING, text, strlen(text)) < 0)
            goto nomem;
        return 0;
    case FT_INTEGER:
        return read_integer(text, home, v, why, whysz);
    case FT_DECIMAL:
        return read_decimal(f, text, home, v, why, whysz);
    case FT_DATE:
        if (map_date_read(text, f->format, &n) < 0) {
            snprintf(why, whysz, "not a valid date (expected %s)",
                     f->format ? f->format : "YYYY-MM-DD");
            return -1;
        }
        return fvalue_set_date_in(home, v, n);
    case FT_DATETIME:
        if (record_datetime_parse(text, &n) < 0) {
            size_t l = strlen(text);
            bool no_zone = l >= 19 && (text[10] == 'T' || text[10] == 't') &&
                           text[l - 1] != 'Z' && text[l - 1] != 'z' &&
                           !strchr(text + 19, '+') && !strchr(text + 19, '-');
            size_t fd = l > 20 && text[19] == '.'
                            ? strspn(text + 20, "0123456789") : 0;
            snprintf(why, whysz, "%s",
                     no_zone ? "datetime has no time zone (add Z or +hh:mm)"
                     : fd > 3 ? "more precise than milliseconds"
                              : "not a valid date and time (RFC 3339, e.g. "
                                "2022-09-14T07:00:00.000Z)");
            return -1;
        }
        return fvalue_set_datetime_in(home, v, n);
    case FT_BOOLEAN:
        return read_boolean(f, text, home, v, why, whysz);
    case FT_ENUM:
        return read_enum(f, text, home, v, why, whysz);
    case FT_LIST:
        snprintf(why, whysz, "expected a list");
        return -1;
    }
    snprintf(why, whysz, "unknown type");
    return -1;
nomem:
    snprintf(why, whysz, "out of memory");
    return -1;
}
