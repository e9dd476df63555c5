/* bench_sftp.c - time one upload through the sftp transport adapter.
 *
 *   bench_sftp -o key=value ... LOCAL NAME
 *
 * Builds the adapter instance from the -o options (the <transport>
 * attributes), calls transfer once and prints "seconds <wall>" on stdout;
 * exits 1 if the transfer did not end OK.  bench/run.d/sftp.sh compares it
 * with OpenSSH's own sftp client in the same run. */
#include "adapters/adapter.h"
#include "util/errs.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    struct kv kvs[32];
    struct kvlist opts = { kvs, 0 };
    int i = 1;
    if (argc == 1) {       /* bench/run.sh runs every bench_* bare */
        printf("# bench_sftp runs from bench/run.d/sftp.sh, which starts "
               "sshd beside OpenSSH's sftp client\n");
        return 0;
    }
    const struct adapter *sftp = adapter_find("sftp");
    if (!sftp) {
        fprintf(stderr, "bench_sftp: no sftp adapter in this build\n");
        return 1;
    }
    log_setup(LOG_LOGFMT, LOG_DEBUG);   /* sftp-connected names the cipher */
    for (; i + 1 < argc && strcmp(argv[i], "-o") == 0; i += 2) {
        char *eq = strchr(argv[i + 1], '=');
        if (!eq || opts.n == 32)
            break;
        *eq = '\0';
        kvs[opts.n++] = (struct kv){ argv[i + 1], eq + 1, 0 };
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: bench_sftp [-o key=value]... LOCAL NAME\n");
        return 2;
    }
    struct adapter_env env = { .opts = &opts, .base_dir = "." };
    struct errs e;
    errs_init(&e);
    void *ctx = NULL;
    if (sftp->init(&ctx, &env, &e) != 0) {
        fprintf(stderr, "bench_sftp: %s\n", errs_first_msg(&e));
        errs_free(&e);
        return 2;
    }
    errs_free(&e);
    struct transfer_req req = { .local_path = argv[i], .remote_name = argv[i + 1] };
    struct adapter_result res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sftp->transfer(ctx, &req, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sftp->close(ctx);
    if (res.outcome != ADAPTER_OK) {
        fprintf(stderr, "bench_sftp: %s: %s\n", adapter_outcome_name(res.outcome),
                res.msg);
        return 1;
    }
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
                   (t1.tv_nsec - t0.tv_nsec);
    printf("seconds %lld.%09lld\n", ns / 1000000000LL, ns % 1000000000LL);
    return 0;
}
