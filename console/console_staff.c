/* console_staff.c - staff accounts for the support console: the file and
 * the password hashes.
 *
 * The file is text, one account a line: "NAME ROLE STATE HASH", STATE
 * "active" or "disabled", HASH "scrypt$15$8$1$<salt hex>$<key hex>".
 * Lines starting with '#' are comments.  It is written whole (temp name,
 * fsync, rename) with mode 0600 and refused when group or others can
 * read it.  scrypt is memory-hard (32 MiB per hash at N=2^15, r=8), so a
 * stolen file costs an attacker that much per guess. */
#include "console/console.h"
#include "util/buf.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SCRYPT_LOG_N 15
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16
#define KEY_LEN 32
#define STAFF_MAX_FILE (1u << 20)
#define STAFF_MAX 10000

static const char *const role_names[] = { "viewer", "support", "supervisor" };

const char *console_role_name(enum console_role r)
{
    return (unsigned)r < 3 ? role_names[r] : "?";
}

int console_role_parse(const char *s, enum console_role *out)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, role_names[i]) == 0) {
            *out = (enum console_role)i;
            return 0;
        }
    return -1;
}

bool console_staff_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-") == n;
}

void console_staff_list_free(struct console_staff_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        if (l->v[i].hash)
            explicit_bzero(l->v[i].hash, strlen(l->v[i].hash));
        free(l->v[i].hash);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

struct console_staff *console_staff_find(const struct console_staff_list *l,
                                         const char *name)
{
    for (size_t i = 0; name && i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

int console_staff_set(struct console_staff_list *l, const char *name,
                      enum console_role role, const char *hash)
{
    struct console_staff *s = console_staff_find(l, name);
    if (!s) {
        struct console_staff *v = realloc(l->v, (l->n + 1) * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        s = &v[l->n];
        memset(s, 0, sizeof *s);
        s->name = strdup(name);
        if (!s->name)
            return -1;
        l->n++;
    }
    s->role = role;
    if (hash) {
        char *h = strdup(hash);
        if (!h)
            return -1;
        free(s->hash);
        s->hash = h;
    }
    return 0;
}

/* parse_line - one account; 0 ok, -1 malformed */
static int parse_line(char *line, struct console_staff *s)
{
    char *f[4];
    size_t n = 0;
    char *p = line;
    while (n < 4) {
        p += strspn(p, " \t");
        if (!*p)
            break;
        f[n++] = p;
        p += strcspn(p, " \t");
        if (*p)
            *p++ = '\0';
    }
    p += strspn(p, " \t");
    if (n != 4 || *p || !console_staff_name_ok(f[0])
        || console_role_parse(f[1], &s->role) != 0
        || (strcmp(f[2], "active") != 0 && strcmp(f[2], "disabled") != 0)
        || strncmp(f[3], "scrypt$", 7) != 0)
        return -1;
    s->disabled = strcmp(f[2], "disabled") == 0;
    s->name = strdup(f[0]);
    s->hash = strdup(f[3]);
    return s->name && s->hash ? 0 : -1;
}

int console_staff_load(const char *path, struct console_staff_list *out,
                       struct errs *e)
{
    out->v = NULL;
    out->n = 0;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return 0;
        errs_add(e, path, "staff file: %s", strerror(errno));
        return -1;
    }
    if (!fs_secret_mode_ok(path)) {
        errs_add(e, path, "staff file is readable by group or others "
                 "(chmod 600)");
        return -1;
    }
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file(path, STAFF_MAX_FILE, &data, &len, e) != 0)
        return -1;
    long lineno = 0;
    int rc = 0;
    for (char *line = data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r')
            line[l - 1] = '\0';
        if (!line[strspn(line, " \t")] || line[0] == '#')
            continue;
        if (out->n >= STAFF_MAX) {
            errs_add_at(e, path, lineno, "more than %d accounts", STAFF_MAX);
            rc = -1;
            break;
        }
        struct console_staff s;
        memset(&s, 0, sizeof s);
        if (parse_line(line, &s) != 0) {
            free(s.name);
            free(s.hash);
            errs_add_at(e, path, lineno, "not \"NAME ROLE active|disabled "
                        "scrypt$...\"");
            rc = -1;
            continue;
        }
        if (console_staff_find(out, s.name)) {
            errs_add_at(e, path, lineno, "account \"%s\" given twice", s.name);
            free(s.name);
            free(s.hash);
            rc = -1;
            continue;
        }
        struct console_staff *v = realloc(out->v, (out->n + 1) * sizeof *v);
        if (!v) {
            free(s.name);
            free(s.hash);
            errs_add(e, path, "out of memory");
            rc = -1;
            break;
        }
        out->v = v;
        v[out->n++] = s;
    }
    explicit_bzero(data, len);
    free(data);
    if (rc != 0)
        console_staff_list_free(out);
    return rc;
}

int console_staff_save(const char *path, const struct console_staff_list *l,
                       struct errs *e)
{
    struct buf b;
    buf_init(&b, STAFF_MAX_FILE);
    bool bad = buf_puts(&b, "# ferry support console staff: NAME ROLE "
                        "active|disabled HASH\n# written by `ferry staff`; "
                        "keep it 0600\n") != BUF_OK;
    for (size_t i = 0; i < l->n && !bad; i++)
        bad = buf_printf(&b, "%s %s %s %s\n", l->v[i].name,
                         console_role_name(l->v[i].role),
                         l->v[i].disabled ? "disabled" : "active",
                         l->v[i].hash) != BUF_OK;
    int rc = -1;
    if (bad)
        errs_add(e, path, "staff file too large");
    else
        rc = fs_write_atomic(path, buf_str(&b), b.len, 0600, e);
    if (b.data)
        explicit_bzero(b.data, b.len);
    buf_free(&b);
    return rc;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex(const char *in, size_t n, unsigned char *out)
{
    if (strlen(in) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = in[2 * i + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

static int derive(const char *pw, const unsigned char *salt, int log_n,
                  int r, int p, unsigned char key[KEY_LEN])
{
    uint64_t N = (uint64_t)1 << log_n;
    uint64_t maxmem = 128u * (uint64_t)r * (N + (uint64_t)p) + (1u << 20);
    return EVP_PBE_scrypt(pw, strlen(pw), salt, SALT_LEN, N, (uint64_t)r,
                          (uint64_t)p, maxmem, key, KEY_LEN) == 1 ? 0 : -1;
}

int console_password_hash(const char *password, char **out, struct errs *e)
{
    *out = NULL;
    if (!password || strlen(password) < CONSOLE_PASSWORD_MIN) {
        errs_add(e, "password", "a password needs at least %d characters",
                 CONSOLE_PASSWORD_MIN);
        return -1;
    }
    unsigned char salt[SALT_LEN], key[KEY_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1
        || derive(password, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, key)
           != 0) {
        errs_add(e, "password", "scrypt failed");
        return -1;
    }
    char sh[2 * SALT_LEN + 1], kh[2 * KEY_LEN + 1];
    hex(salt, sizeof salt, sh);
    hex(key, sizeof key, kh);
    explicit_bzero(key, sizeof key);
    if (asprintf(out, "scrypt$%d$%d$%d$%s$%s", SCRYPT_LOG_N, SCRYPT_R,
                 SCRYPT_P, sh, kh) < 0) {
        *out = NULL;
        errs_add(e, "password", "out of memory");
        return -1;
    }
    return 0;
}

bool console_password_verify(const char *password, const char *hash)
{
    if (!password || !hash || strncmp(hash, "scrypt$", 7) != 0)
        return false;
    char copy[256];
    if (snprintf(copy, sizeof copy, "%s", hash + 7) >= (int)sizeof copy)
        return false;
    char *parts[5];
    char *p = copy;
    for (int i = 0; i < 5; i++) {
        parts[i] = p;
        p = strchr(p, '$');
        if (i < 4) {
            if (!p)
                return false;
            *p++ = '\0';
        }
    }
    if (p)
        return false;
    long v[3];
    for (int i = 0; i < 3; i++) {
        char *end = NULL;
        v[i] = strtol(parts[i], &end, 10);
        if (!end || *end || v[i] < 1)
            return false;
    }
    if (v[0] > 20 || v[1] > 32 || v[2] > 16)
        return false;
    unsigned char salt[SALT_LEN], want[KEY_LEN], got[KEY_LEN];
    if (unhex(parts[3], SALT_LEN, salt) != 0
        || unhex(parts[4], KEY_LEN, want) != 0)
        return false;
    if (derive(password, salt, (int)v[0], (int)v[1], (int)v[2], got) != 0)
        return false;
    bool ok = CRYPTO_memcmp(got, want, KEY_LEN) == 0;
    explicit_bzero(got, sizeof got);
    explicit_bzero(want, sizeof want);
    return ok;
}
