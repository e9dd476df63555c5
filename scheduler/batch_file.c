/* batch_file.c - reading a written batch file back as the bytes it holds
 * for the far side, whether it is plain or sealed at rest (the spool has
 * a key: spool/spool_fcrypt.c).  The read-back check, the hand-over (a
 * plain copy made only for the transfer and removed after it) and the
 * tidying of outbound/ all read through here; memory stays bounded. */
#include "scheduler/batch_int.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

/* batch_file_aad - what a sealed file is bound to: "<target>/<name>" */
void batch_file_aad(const struct bctx *c, const char *name, char *out,
                    size_t outsz)
{
    snprintf(out, outsz, "%s/%s", c->tc->name, name);
}

/* batch_is_sealed - does the file at path begin as a sealed file */
bool batch_is_sealed(const char *path)
{
    unsigned char head[SPOOL_FCRYPT_HEAD];
    FILE *f = fopen(path, "rbe");
    size_t k = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    return spool_fcrypt_is_sealed(head, k);
}

int batch_file_open(struct bctx *c, const char *path, const char *name,
                    struct bfile_in *in, struct errs *e)
{
    memset(in, 0, sizeof *in);
    struct stat st;
    in->f = fopen(path, "rbe");
    if (!in->f || fstat(fileno(in->f), &st) != 0) {
        errs_add(e, path, "cannot read: %s", strerror(errno));
        goto fail;
    }
    setvbuf(in->f, NULL, _IOFBF, BATCH_IOBUF);
    unsigned char head[SPOOL_FCRYPT_HEAD];
    size_t k = fread(head, 1, sizeof head, in->f);
    in->size = (uint64_t)st.st_size;
    if (k == sizeof head && spool_fcrypt_is_sealed(head, k)) {
        char aad[PATH_MAX];
        batch_file_aad(c, name, aad, sizeof aad);
        if ((uint64_t)st.st_size < SPOOL_FCRYPT_HEAD + SPOOL_FCRYPT_TAG) {
            errs_add(e, path, "sealed file is truncated");
            goto fail;
        }
        in->fc = spool_fcrypt_open(c->sp, aad, head, e);
        if (!in->fc)
            goto fail;
        in->size = (uint64_t)st.st_size - SPOOL_FCRYPT_HEAD - SPOOL_FCRYPT_TAG;
    } else if (fseek(in->f, 0, SEEK_SET) != 0) {
        errs_add(e, path, "cannot read: %s", strerror(errno));
        goto fail;
    }
    return 0;
fail:
    batch_file_close(in);
    return -1;
}

int batch_file_read(struct bfile_in *in, void *p, size_t n)
{
    if (!n)
        return 0;
    if (in->done + n > in->size)
        return 1;
    size_t k = fread(p, 1, n, in->f);
    if (k != n)
        return ferror(in->f) ? -1 : 1;
    if (in->fc && spool_fcrypt_update(in->fc, p, n, p) != 0)
        return -1;
    in->done += n;
    return 0;
}

int batch_file_finish(struct bfile_in *in)
{
    if (in->done != in->size)
        return -1;
    if (!in->fc)
        return fgetc(in->f) == EOF ? 0 : -1;
    unsigned char tag[SPOOL_FCRYPT_TAG];
    if (fread(tag, 1, sizeof tag, in->f) != sizeof tag ||
        fgetc(in->f) != EOF)
        return -1;
    return spool_fcrypt_final(in->fc, tag);
}

void batch_file_close(struct bfile_in *in)
{
    if (in->f)
        fclose(in->f);
    spool_fcrypt_free(in->fc);
    memset(in, 0, sizeof *in);
}

/* batch_file_plain - the file's plain bytes, streamed into a new 0600
 * file out (removed again unless it is whole and the seal checks) */
int batch_file_plain(struct bctx *c, const char *path, const char *name,
                     const char *out, struct errs *e)
{
    struct bfile_in in;
    if (batch_file_open(c, path, name, &in, e) != 0)
        return -1;
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    unsigned char *buf = malloc(1u << 16);
    int rc = -1;
    if (fd < 0 || !buf) {
        errs_add(e, out, "cannot create: %s", strerror(errno));
        goto out;
    }
    while (in.done < in.size) {
        uint64_t left = in.size - in.done;
        size_t n = left < (1u << 16) ? (size_t)left : 1u << 16;
        if (batch_file_read(&in, buf, n) != 0) {
            errs_add(e, path, "cannot read: %s", strerror(errno ? errno : EIO));
            goto out;
        }
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                errs_add(e, out, "writing: %s", strerror(errno));
                goto out;
            }
            off += (size_t)w;
        }
    }
    if (batch_file_finish(&in) != 0) {
        errs_add(e, path, "the sealed file does not open: wrong key, renamed "
                 "or damaged");
        goto out;
    }
    if (fsync(fd) != 0) {
        errs_add(e, out, "fsync: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(out);
    free(buf);
    batch_file_close(&in);
    return rc;
}

/* batch_file_sha256 - hex SHA-256 of the file's plain bytes; 0, or -1 */
int batch_file_sha256(struct bctx *c, const char *path, const char *name,
                      char hex[65])
{
    struct errs e;
    errs_init(&e);
    struct bfile_in in;
    int rc = -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *buf = malloc(1u << 16);
    if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        batch_file_open(c, path, name, &in, &e) != 0)
        goto out;
    while (in.done < in.size) {
        uint64_t left = in.size - in.done;
        size_t n = left < (1u << 16) ? (size_t)left : 1u << 16;
        if (batch_file_read(&in, buf, n) != 0 ||
            EVP_DigestUpdate(md, buf, n) != 1)
            goto close;
    }
    if (batch_file_finish(&in) == 0) {
        unsigned char dg[EVP_MAX_MD_SIZE];
        unsigned dn = 0;
        EVP_DigestFinal_ex(md, dg, &dn);
        batch_hex_digest(dg, dn, hex);
        rc = 0;
    }
close:
    batch_file_close(&in);
out:
    free(buf);
    EVP_MD_CTX_free(md);
    errs_free(&e);
    return rc;
}
