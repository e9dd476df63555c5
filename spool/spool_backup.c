/* spool_backup.c - a consistent copy of a spool while the daemon runs, and
 * the check of a spool or a backup.  See spool.h (spool_backup,
 * spool_verify).
 *
 * The ledger is copied with SQLite's online backup API in one step on this
 * process's own connection: one read transaction, so the copy is the
 * ledger as it was at one instant, and the daemon's writers (WAL) are not
 * held up.  The staging folders (outbound/, inbound/, archive/) are copied
 * after it, so a file may be newer than the ledger copy (never older).
 * MANIFEST (JSON) describes the copy as read back from it: when it was
 * taken, the schema version, records per state, the audit head, and the
 * size and SHA-256 of every file.  Every file is written under a temporary
 * name, fsynced and renamed, then the folder fsynced.
 *
 * SQLite only, by nature: a PostgreSQL ledger is not a file of ours.
 * spool_backup refuses it, naming the ways that are (pg_dump or the
 * server's own base backups, or `ferry spool copy` into an SQLite
 * ledger, which can then be backed up here). */
#include "spool/spool_int.h"
#include "spool/sql.h"
#include "util/clock.h"
#include "util/errs.h"
#include "util/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES 100000               /* staging files listed in a manifest */
#define MAX_DEPTH 4                    /* folders below a staging folder */

static const char *const staging[] = { "outbound", "inbound", "archive" };

/* file_sha256 - SHA-256 hex and size of a file; 0 ok, -1 errno */
static int file_sha256(const char *path, char hex[65], long long *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 ? 0 : -1;
    unsigned char buf[65536];
    long long total = 0;
    ssize_t n;
    while (rc == 0 && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        total += n;
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
            rc = -1;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        rc = -1;
    EVP_MD_CTX_free(ctx);
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc == 0) {
        for (unsigned i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        *size = total;
    }
    return rc;
}

/* copy_file - src to dst (via dst.tmp, fsynced, renamed), mode 0600 */
static int copy_file(const char *src, const char *dst, struct errs *e)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dst, (long)getpid()) >=
        (int)sizeof tmp) {
        errs_add(e, dst, "path too long");
        return -1;
    }
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        errs_add(e, src, "cannot read: %s", strerror(errno));
        return -1;
    }
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        errs_add(e, tmp, "cannot create: %s", strerror(errno));
        close(in);
        return -1;
    }
    unsigned char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            errs_add(e, src, "read: %s", strerror(errno));
            rc = -1;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                errs_add(e, tmp, "write: %s", strerror(errno));
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    close(in);
    if (rc == 0 && fsync(out) != 0) {
        errs_add(e, tmp, "fsync: %s", strerror(errno));
        rc = -1;
    }
    close(out);
    if (rc == 0 && rename(tmp, dst) != 0) {
        errs_add(e, dst, "rename: %s", strerror(errno));
        rc = -1;
    }
    if (rc)
        unlink(tmp);
    return rc;
}

/* walk - every regular file below dir/rel (rel "" for dir itself), as
 * paths relative to the spool, appended to names; copied to dest when
 * dest is not NULL.  Temporary files ("*.tmp.*") are skipped. */
static int walk(const char *root, const char *rel, int depth,
                const char *dest, json_t *names, struct errs *e)
{
    char path[PATH_MAX];
    if (fs_join(path, sizeof path, root, rel) != 0) {
        errs_add(e, rel, "path too long");
        return -1;
    }
    DIR *d = opendir(path);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        errs_add(e, path, "cannot list: %s", strerror(errno));
        return -1;
    }
    if (dest) {
        char dp[PATH_MAX];
        if (fs_join(dp, sizeof dp, dest, rel) != 0 ||
            (mkdir(dp, 0700) != 0 && errno != EEXIST)) {
            errs_add(e, dp, "cannot create folder: %s", strerror(errno));
            closedir(d);
            return -1;
        }
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
            continue;
        char r2[PATH_MAX], full[PATH_MAX];
        if (fs_join(r2, sizeof r2, rel, de->d_name) != 0 ||
            fs_join(full, sizeof full, root, r2) != 0) {
            errs_add(e, de->d_name, "path too long");
            rc = -1;
            break;
        }
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;                  /* removed while we looked */
        if (S_ISDIR(st.st_mode)) {
            if (depth >= MAX_DEPTH) {
                errs_add(e, full, "folders nested deeper than %d", MAX_DEPTH);
                rc = -1;
            } else {
                rc = walk(root, r2, depth + 1, dest, names, e);
            }
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        if (json_array_size(names) >= MAX_FILES) {
            errs_add(e, root, "more than %d staging files", MAX_FILES);
            rc = -1;
            break;
        }
        if (dest) {
            char dp[PATH_MAX];
            if (fs_join(dp, sizeof dp, dest, r2) != 0) {
                errs_add(e, r2, "path too long");
                rc = -1;
                break;
            }
            if (copy_file(full, dp, e) != 0) {
                if (access(full, F_OK) != 0) {   /* moved on meanwhile */
                    errs_clear(e);
                    continue;
                }
                rc = -1;
                break;
            }
        }
        json_array_append_new(names, json_string(r2));
    }
    closedir(d);
    if (rc == 0 && dest) {
        char dp[PATH_MAX];
        if (fs_join(dp, sizeof dp, dest, rel) == 0)
            fs_fsync_dir(dp);
    }
    return rc;
}

/* describe - what a manifest says about the spool folder dir (a ledger and
 * its staging files): schema, records per state, audit head, files with
 * size and SHA-256.  New reference in *out. */
static int describe(const char *dir, json_t **out, struct errs *e)
{
    *out = NULL;
    struct spool_opts o = { .read_only = true };
    struct spool *s = spool_open(dir, &o, e);
    if (!s)
        return -1;
    int rc = -1;
    json_t *m = json_object(), *states = json_object(), *files = json_array();
    json_t *names = json_array();
    struct spool_counts cs = { 0 };
    if (!m || !states || !files || !names) {
        errs_add(e, dir, "out of memory");
        goto out;
    }
    if (spool_counts(s, &cs, e) != 0)
        goto out;
    json_int_t total = 0;
    for (size_t i = 0; i < cs.n; i++) {
        const char *k = spool_state_name(cs.v[i].state);
        json_t *v = json_object_get(states, k);
        json_int_t n = (v ? json_integer_value(v) : 0) + (json_int_t)cs.v[i].n;
        json_object_set_new(states, k, json_integer(n));
        total += (json_int_t)cs.v[i].n;
    }
    spool_lock(s);
    const char *head = NULL;
    char headbuf[128] = "";
    int version = 0;
    sqlite3_stmt *st = spool_stmt(s, "SELECT value FROM meta WHERE name = "
                                  "'audit_head'", e);
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(headbuf, sizeof headbuf, "%s",
                 (const char *)sqlite3_column_text(st, 0));
        head = headbuf;
    }
    if (st)
        sqlite3_reset(st);
    st = spool_stmt(s, "PRAGMA user_version", e);
    if (st && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    if (st)
        sqlite3_reset(st);
    spool_unlock(s);
    for (size_t i = 0; i < sizeof staging / sizeof staging[0]; i++)
        if (walk(dir, staging[i], 0, NULL, names, e) != 0)
            goto out;
    size_t i;
    json_t *nm;
    json_array_foreach(names, i, nm) {
        char path[PATH_MAX], hex[65];
        long long size = 0;
        if (fs_join(path, sizeof path, dir, json_string_value(nm)) != 0 ||
            file_sha256(path, hex, &size) != 0) {
            errs_add(e, json_string_value(nm), "cannot read: %s",
                     strerror(errno));
            goto out;
        }
        json_array_append_new(files, json_pack("{s:s,s:I,s:s}", "path",
                              json_string_value(nm), "size", (json_int_t)size,
                              "sha256", hex));
    }
    json_object_set_new(m, "schema_version", json_integer(version));
    json_object_set_new(m, "records", json_integer(total));
    json_object_set(m, "states", states);
    json_object_set_new(m, "audit_head", head ? json_string(head) : json_null());
    json_object_set(m, "files", files);
    *out = m;
    m = NULL;
    rc = 0;
out:
    spool_counts_free(&cs);
    json_decref(m);
    json_decref(states);
    json_decref(files);
    json_decref(names);
    spool_close(s);
    return rc;
}

int spool_backup(struct spool *s, const char *dest,
                 struct spool_backup_info *info, struct errs *e)
{
    memset(info, 0, sizeof *info);
    if (sql_backend(s->sql) != SQL_SQLITE) {
        errs_add(e, s->dir, "the ledger is a PostgreSQL database: back it "
                 "up with PostgreSQL's own tools (pg_dump, or base backups "
                 "with WAL archiving), or copy it into an SQLite spool with "
                 "`ferry spool copy` and back that up");
        return -1;
    }
    struct stat st;
    if (stat(dest, &st) == 0) {
        DIR *d = opendir(dest);
        struct dirent *de;
        bool empty = d != NULL;
        while (d && (de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                empty = false;
        if (d)
            closedir(d);
        if (!empty) {
            errs_add(e, dest, "exists and is not an empty folder: give a "
                     "new folder for each backup");
            return -1;
        }
    } else if (fs_mkdirs(dest, 0700) != 0) {
        errs_add(e, dest, "cannot create: %s", strerror(errno));
        return -1;
    }
    chmod(dest, 0700);
    char ledger[PATH_MAX], tmp[PATH_MAX];
    if (fs_join(ledger, sizeof ledger, dest, "ledger.db") != 0 ||
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", ledger, (long)getpid()) >=
        (int)sizeof tmp) {
        errs_add(e, dest, "path too long");
        return -1;
    }
    int64_t started = clock_wall_ms();
    sqlite3 *to = NULL;
    mode_t old = umask(077);
    int rc = sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE |
                             SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    umask(old);
    if (rc != SQLITE_OK) {
        errs_add(e, tmp, "cannot create: %s", to ? sqlite3_errmsg(to) : "?");
        sqlite3_close(to);
        return -1;
    }
    spool_lock(s);
    sqlite3_backup *b = sqlite3_backup_init(to, "main", s->db, "main");
    if (b) {
        rc = sqlite3_backup_step(b, -1);   /* all pages, one snapshot */
        sqlite3_backup_finish(b);
    }
    spool_unlock(s);
    if (!b || rc != SQLITE_DONE) {
        errs_add(e, ledger, "online backup failed: %s", sqlite3_errmsg(to));
        sqlite3_close(to);
        unlink(tmp);
        return -1;
    }
    /* a self-contained file: no -wal beside it */
    char *err = NULL;
    if (sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, &err) !=
        SQLITE_OK) {
        errs_add(e, ledger, "%s", err ? err : "journal mode");
        sqlite3_free(err);
        sqlite3_close(to);
        unlink(tmp);
        return -1;
    }
    sqlite3_close(to);
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0 || rename(tmp, ledger) != 0) {
        errs_add(e, ledger, "cannot finish: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    fs_fsync_dir(dest);
    json_t *names = json_array();
    for (size_t i = 0; names && i < sizeof staging / sizeof staging[0]; i++)
        if (walk(s->dir, staging[i], 0, dest, names, e) != 0) {
            json_decref(names);
            return -1;
        }
    json_decref(names);
    json_t *m = NULL;
    if (describe(dest, &m, e) != 0)
        return -1;
    char at[40];
    clock_fmt_rfc3339(started, at, sizeof at);
    json_object_set_new(m, "format", json_string("ferry-spool-backup-1"));
    json_object_set_new(m, "taken_at", json_string(at));
    json_object_set_new(m, "source", json_string(s->dir));
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
    info->records = json_integer_value(json_object_get(m, "records"));
    info->files = json_array_size(json_object_get(m, "files"));
    json_decref(m);
    char mpath[PATH_MAX];
    rc = -1;
    if (text && fs_join(mpath, sizeof mpath, dest, "MANIFEST") == 0) {
        rc = fs_write_atomic(mpath, text, strlen(text), 0600, e);
    } else {
        errs_add(e, dest, "out of memory");
    }
    free(text);
    return rc;
}

/* verify_manifest - a backup's files and counts against its MANIFEST */
static void verify_manifest(const char *dir, json_t *want, json_t *got,
                            struct spool_verify_info *info, struct errs *e)
{
    info->backup = true;
    json_t *wf = json_object_get(want, "files");
    size_t i;
    json_t *f;
    json_array_foreach(wf, i, f) {
        const char *p = json_string_value(json_object_get(f, "path"));
        const char *h = json_string_value(json_object_get(f, "sha256"));
        char path[PATH_MAX], hex[65];
        long long size;
        if (!p || !h || fs_join(path, sizeof path, dir, p) != 0) {
            errs_add(e, "MANIFEST", "file entry %zu is malformed", i);
            continue;
        }
        if (file_sha256(path, hex, &size) != 0) {
            errs_add(e, p, "listed in MANIFEST but missing: %s",
                     strerror(errno));
            continue;
        }
        if (strcmp(hex, h) != 0)
            errs_add(e, p, "SHA-256 %s differs from MANIFEST's %s", hex, h);
        else
            info->files_checked++;
    }
    if (json_array_size(json_object_get(got, "files")) != json_array_size(wf))
        errs_add(e, "MANIFEST", "lists %zu files; the backup has %zu",
                 json_array_size(wf),
                 json_array_size(json_object_get(got, "files")));
    if (!json_equal(json_object_get(want, "states"),
                    json_object_get(got, "states")))
        errs_add(e, "MANIFEST", "records per state differ from the ledger's");
    if (!json_equal(json_object_get(want, "audit_head"),
                    json_object_get(got, "audit_head")))
        errs_add(e, "MANIFEST", "audit head differs from the ledger's");
}

int spool_verify(const char *dir, struct spool_verify_info *info,
                 struct errs *e)
{
    memset(info, 0, sizeof *info);
    char ledger[PATH_MAX];
    if (fs_join(ledger, sizeof ledger, dir, "ledger.db") != 0 ||
        access(ledger, R_OK) != 0) {
        errs_add(e, dir, "no readable ledger.db here");
        return -1;
    }
    struct spool_opts o = { .read_only = true };
    struct spool *s = spool_open(dir, &o, e);
    if (!s)
        return -1;
    size_t before = e->n;
    /* 1. the file itself */
    spool_lock(s);
    sqlite3_stmt *st = spool_stmt(s, "PRAGMA integrity_check", e);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        if (r && strcmp(r, "ok") != 0)
            errs_add(e, "integrity", "%s", r);
    }
    if (st)
        sqlite3_reset(st);
    spool_unlock(s);
    info->integrity_ok = e->n == before;
    /* 2. conservation: every record accepted is in exactly one state */
    struct spool_counts cs = { 0 };
    struct spool_day_list dl = { 0 };
    if (spool_counts(s, &cs, e) == 0 &&
        spool_day_counts(s, NULL, NULL, NULL, &dl, e) == 0) {
        for (size_t i = 0; i < cs.n; i++)
            info->in_states += cs.v[i].n;
        for (size_t i = 0; i < dl.n; i++)
            info->accepted += dl.v[i].accepted + dl.v[i].fanout;
        info->conservation_ok = info->accepted == info->in_states;
        if (!info->conservation_ok)
            errs_add(e, "conservation", "%lld accepted, %lld in states",
                     (long long)info->accepted, (long long)info->in_states);
    }
    spool_counts_free(&cs);
    spool_day_list_free(&dl);
    /* 2b. the full count behind the kept totals: every row, working and
     * archived, and each final-state total against its rows */
    struct spool_totals_proof tp;
    if (spool_totals_check(s, &tp, e) == 0) {
        if (tp.rows + tp.archived != tp.accepted) {
            info->conservation_ok = false;
            errs_add(e, "conservation", "%lld accepted, %lld rows (%lld "
                     "working, %lld archived)", (long long)tp.accepted,
                     (long long)(tp.rows + tp.archived), (long long)tp.rows,
                     (long long)tp.archived);
        }
        if (tp.totals_off != 0) {
            info->conservation_ok = false;
            errs_add(e, "conservation", "the final-state totals differ from "
                     "the rows for %lld service, target and state%s",
                     (long long)tp.totals_off, tp.totals_off == 1 ? "" : "s");
        }
    }
    /* 3. the audit chain and its head */
    struct spool_audit_proof proof;
    int ar = spool_audit_verify(s, NULL, &proof, e);
    info->audit_entries = proof.checked;
    info->audit_ok = ar == 0;
    spool_close(s);
    /* 4. a backup: its files and counts against the manifest */
    char mpath[PATH_MAX];
    if (fs_join(mpath, sizeof mpath, dir, "MANIFEST") == 0 &&
        access(mpath, F_OK) == 0) {
        json_error_t je;
        json_t *want = json_load_file(mpath, 0, &je);
        json_t *got = NULL;
        if (!want) {
            errs_add(e, "MANIFEST", "line %d: %s", je.line, je.text);
        } else if (describe(dir, &got, e) == 0) {
            verify_manifest(dir, want, got, info, e);
        }
        json_decref(want);
        json_decref(got);
    }
    return e->n > before ? 1 : 0;
}
