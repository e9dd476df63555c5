/* batch_send.c - hands a verified batch file to the target's transport
 * adapter and says where it went, in the adapter's own words (its
 * describe callback): nothing here knows a transport's options.  Policy
 * (retry, refuse) stays with the caller: this returns the adapter's
 * outcome. */
#include "scheduler/batch_int.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/errs.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* batch_transport_open - see batch_int.h */
int batch_transport_open(struct bctx *c, struct btransport *t, char *msg,
                         size_t msgsz)
{
    memset(t, 0, sizeof *t);
    const struct adapter *ad = c->tc->transport_type ?
        adapter_find(c->tc->transport_type) : NULL;
    if (!ad || ad->kind != ADAPTER_TRANSPORT || !ad->transfer) {
        snprintf(msg, msgsz, "target %s has no usable transport (%s)",
                 c->tc->name, c->tc->transport_type ? c->tc->transport_type
                                                    : "none");
        return -1;
    }
    struct adapter_env env = {
        .target = c->tc, .opts = &c->tc->transport_opts, .map = NULL,
        .base_dir = c->cfg->base_dir, .service = NULL,
    };
    struct errs ie;
    errs_init(&ie);
    void *ctx = NULL;
    if (ad->init && ad->init(&ctx, &env, &ie) != 0) {
        snprintf(msg, msgsz, "transport %s: %s%s%s", ad->name,
                 ie.n ? ie.v[0].where : "", ie.n && ie.v[0].where[0] ? ": " : "",
                 errs_first_msg(&ie));
        errs_free(&ie);
        return -1;
    }
    errs_free(&ie);
    t->ad = ad;
    t->ctx = ctx;
    return 0;
}

void batch_transport_close(struct btransport *t)
{
    if (t->ad && t->ad->close)
        t->ad->close(t->ctx);
    memset(t, 0, sizeof *t);
}

/* batch_transport_describe - see batch_int.h */
void batch_transport_describe(const struct btransport *t, char *out,
                              size_t outsz)
{
    if (t->ad && t->ad->describe)
        t->ad->describe(t->ctx, out, outsz);
    else
        snprintf(out, outsz, "%s", t->ad ? t->ad->name : "");
}

/* batch_transport_reach - see batch_int.h */
enum adapter_outcome batch_transport_reach(struct btransport *t, char *msg,
                                           size_t msgsz)
{
    msg[0] = '\0';
    if (!t->ad->reach)
        return ADAPTER_OK;
    struct adapter_result res;
    memset(&res, 0, sizeof res);
    t->ad->reach(t->ctx, &res);
    snprintf(msg, msgsz, "%s", res.msg);
    return res.outcome == ADAPTER_INDOUBT ? ADAPTER_RETRY : res.outcome;
}

/* batch_send_file - see batch_int.h */
enum adapter_outcome batch_send_file(struct bctx *c, struct btransport *t,
                                     const char *path, const char *name,
                                     const char *sha, uint64_t size,
                                     bool *already, char *msg, size_t msgsz)
{
    /* a file sealed at rest goes over as its plain bytes: a plain copy
     * beside it, made for this transfer and removed after it */
    char plain[PATH_MAX] = "";
    if (spool_files_sealed(c->sp) || batch_is_sealed(path)) {
        const char *slash = strrchr(path, '/');
        struct errs pe;
        errs_init(&pe);
        if (snprintf(plain, sizeof plain, "%.*s/.%s.send",
                     slash ? (int)(slash - path) : 1, slash ? path : ".",
                     name) >= (int)sizeof plain ||
            batch_file_plain(c, path, name, plain, &pe) != 0) {
            snprintf(msg, msgsz, "%s: %s", path, pe.n ? errs_first_msg(&pe)
                     : "path too long");
            errs_free(&pe);
            return ADAPTER_FAIL;
        }
        errs_free(&pe);
        path = plain;
    }
    struct transfer_req req = {
        .local_path = path, .remote_name = name, .sha256_hex = sha,
        .size = size,
    };
    struct adapter_result res;
    memset(&res, 0, sizeof res);
    if (c->o->progress)
        c->o->progress(c->o->progress_ctx, "send", 0, (int64_t)size);
    t->ad->transfer(t->ctx, &req, &res);
    if (plain[0])
        unlink(plain);
    if (res.outcome == ADAPTER_OK && c->o->progress)
        c->o->progress(c->o->progress_ctx, "send", (int64_t)size,
                       (int64_t)size);
    snprintf(msg, msgsz, "%s", res.msg);
    *already = res.outcome == ADAPTER_OK && res.already;
    return res.outcome == ADAPTER_INDOUBT ? ADAPTER_RETRY : res.outcome;
}
