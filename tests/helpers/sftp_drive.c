/* sftp_drive.c - drive one transport adapter call from a test script.
 *
 * Builds the adapter instance by direct struct setup (no config file), so
 * tests/integration/40_sftp.sh can exercise the sftp and local transports
 * against a real sshd and a real folder:
 *
 *   sftp_drive [-t sftp|local] [-b BASE] [-o key=value]... transfer LOCAL NAME
 *              [--sha HEX | --no-sha]
 *   sftp_drive ... list GLOB
 *   sftp_drive ... fetch NAME LOCAL
 *   sftp_drive ... reach           connect and log in, send nothing
 *   sftp_drive crash-points        prints "yes" in FERRY_TEST_BUILD builds
 *
 * Prints "<outcome>\t<message>" (and list names, one a line) on stdout;
 * adapter log lines go to stderr.  Exit 0 ok, 1 retry, 2 fail, 3 in-doubt,
 * 4 usage or init error, 5 stop (host key, login). */
#include "adapters/adapter.h"
#include "util/errs.h"
#include "util/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

/* through the registry: nothing but adapters/registry.c names an adapter */
#define adapter_sftp (*adapter_find("sftp"))
/* through the registry: nothing but adapters/registry.c names an adapter */
#define adapter_local (*adapter_find("local"))

#define MAXOPT 32

static int usage(void)
{
    fprintf(stderr, "usage: sftp_drive [-t sftp|local] [-b BASE] [-o k=v]... "
            "transfer LOCAL NAME [--sha HEX|--no-sha] | list "
            "GLOB | fetch NAME LOCAL | reach | crash-points\n");
    return 4;
}

/* file_sha256 - hex digest of path into hex; 0 ok */
static int file_sha256(const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    static char buf[1 << 16];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        EVP_DigestUpdate(md, buf, (size_t)r);
    close(fd);
    unsigned char d[32];
    unsigned int dl;
    EVP_DigestFinal_ex(md, d, &dl);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return r < 0 ? -1 : 0;
}

static int exit_for(enum adapter_outcome o)
{
    switch (o) {
    case ADAPTER_OK:      return 0;
    case ADAPTER_RETRY:   return 1;
    case ADAPTER_FAIL:    return 2;
    case ADAPTER_INDOUBT: return 3;
    case ADAPTER_STOP:    return 5;
    }
    return 4;
}

int main(int argc, char **argv)
{
    const struct adapter *ad = &adapter_sftp;
    const char *base = ".";
    struct kv kvs[MAXOPT];
    struct kvlist opts = { kvs, 0 };
    int i = 1;
    log_setup(LOG_LOGFMT, LOG_DEBUG);
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "-t") == 0) {
            const char *t = argv[++i];
            ad = strcmp(t, "local") == 0 ? &adapter_local :
                 strcmp(t, "sftp") == 0 ? &adapter_sftp : NULL;
            if (!ad)
                return usage();
        } else if (strcmp(argv[i], "-b") == 0) {
            base = argv[++i];
        } else if (strcmp(argv[i], "-o") == 0) {
            char *eq = strchr(argv[++i], '=');
            if (!eq || opts.n == MAXOPT)
                return usage();
            *eq = '\0';
            kvs[opts.n++] = (struct kv){ argv[i], eq + 1, 0 };
        } else {
            return usage();
        }
    }
    if (i >= argc)
        return usage();
    const char *op = argv[i++];
    if (strcmp(op, "crash-points") == 0) {
#ifdef FERRY_TEST_BUILD
        puts("yes");
#else
        puts("no");
#endif
        return 0;
    }

    struct adapter_env env = { .opts = &opts, .base_dir = base };
    struct errs e;
    errs_init(&e);
    void *ctx = NULL;
    if (ad->init(&ctx, &env, &e) != 0) {
        for (size_t k = 0; k < e.n; k++)
            printf("init\t%s: %s\n", e.v[k].where, e.v[k].msg);
        errs_free(&e);
        return 4;
    }
    errs_free(&e);

    struct adapter_result res = { 0 };
    int rc = 4;
    if (strcmp(op, "transfer") == 0 && argc - i >= 2) {
        char hex[65] = "";
        struct transfer_req req = { .local_path = argv[i],
                                    .remote_name = argv[i + 1] };
        bool want_sha = true;
        for (int k = i + 2; k < argc; k++) {
            if (strcmp(argv[k], "--no-sha") == 0)
                want_sha = false;
            else if (strcmp(argv[k], "--sha") == 0 && k + 1 < argc)
                snprintf(hex, sizeof hex, "%s", argv[++k]);
        }
        if (want_sha && !hex[0] && file_sha256(req.local_path, hex) != 0)
            hex[0] = '\0';
        req.sha256_hex = want_sha ? hex : NULL;
        ad->transfer(ctx, &req, &res);
        printf("%s\t%s\n", adapter_outcome_name(res.outcome), res.msg);
        if (res.outcome == ADAPTER_OK)
            printf("receipt\t%s\n", res.receipt);
        rc = exit_for(res.outcome);
    } else if (strcmp(op, "list") == 0 && argc - i >= 1) {
        char **names = NULL;
        size_t n = 0;
        ad->list(ctx, argv[i], &names, &n, &res);
        printf("%s\t%s\n", adapter_outcome_name(res.outcome), res.msg);
        for (size_t k = 0; k < n; k++) {
            printf("name\t%s\n", names[k]);
            free(names[k]);
        }
        free(names);
        rc = exit_for(res.outcome);
    } else if (strcmp(op, "fetch") == 0 && argc - i >= 2) {
        ad->fetch(ctx, argv[i], argv[i + 1], &res);
        printf("%s\t%s\n", adapter_outcome_name(res.outcome), res.msg);
        rc = exit_for(res.outcome);
    } else if (strcmp(op, "reach") == 0 && ad->reach) {
        ad->reach(ctx, &res);
        printf("%s\t%s\n", adapter_outcome_name(res.outcome), res.msg);
        rc = exit_for(res.outcome);
    } else {
        rc = usage();
    }
    fflush(stdout);
    ad->close(ctx);
    return rc;
}
