/* batch_send.c - hands a verified batch file to the target's transport
 * adapter and says where it went.  Policy (retry, refuse) stays with
 * the caller: this returns the adapter's outcome. */
#include "scheduler/batch_int.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "util/errs.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- handing it over -------------------------------------------------- */

void batch_describe_dest(const struct target_config *tc, char *out,
                         size_t outsz)
{
    const struct kvlist *o = &tc->transport_opts;
    const char *host = kv_get(o, "host"), *dir = kv_get(o, "remote-dir");
    if (!dir)
        dir = kv_get(o, "dir");
    if (host) {
        const char *user = kv_get(o, "user"), *port = kv_get(o, "port");
        snprintf(out, outsz, "%s %s%s%s:%s%s%s", tc->transport_type,
                 user ? user : "", user ? "@" : "", host, port ? port : "22",
                 dir && dir[0] != '/' ? "/" : "", dir ? dir : "");
    } else {
        snprintf(out, outsz, "%s %s", tc->transport_type, dir ? dir : "");
    }
}

/* batch_send_file - through the target's transport; the adapter's outcome */
enum adapter_outcome batch_send_file(struct bctx *c, const char *path,
                                     const char *name, const char *sha,
                                     uint64_t size, char *msg, size_t msgsz)
{
    const struct adapter *t = c->tc->transport_type ?
        adapter_find(c->tc->transport_type) : NULL;
    if (!t || t->kind != ADAPTER_TRANSPORT || !t->transfer) {
        snprintf(msg, msgsz, "target %s has no usable transport (%s)",
                 c->tc->name, c->tc->transport_type ? c->tc->transport_type
                                                    : "none");
        return ADAPTER_FAIL;
    }
    struct adapter_env env = {
        .target = c->tc, .opts = &c->tc->transport_opts, .map = NULL,
        .base_dir = c->cfg->base_dir, .service = NULL,
    };
    struct errs ie;
    errs_init(&ie);
    void *ctx = NULL;
    if (t->init && t->init(&ctx, &env, &ie) != 0) {
        snprintf(msg, msgsz, "transport %s: %s%s%s", t->name,
                 ie.n ? ie.v[0].where : "", ie.n && ie.v[0].where[0] ? ": " : "",
                 errs_first_msg(&ie));
        errs_free(&ie);
        return ADAPTER_FAIL;
    }
    errs_free(&ie);
    bool ow = false;
    const char *v = kv_get(&c->tc->transport_opts, "allow-overwrite");
    if (v)
        config_parse_bool(v, &ow);
    struct transfer_req req = {
        .local_path = path, .remote_name = name, .sha256_hex = sha,
        .size = size, .allow_overwrite = ow,
    };
    struct adapter_result res;
    memset(&res, 0, sizeof res);
    if (c->o->progress)
        c->o->progress(c->o->progress_ctx, "send", 0, (int64_t)size);
    t->transfer(ctx, &req, &res);
    if (t->close)
        t->close(ctx);
    if (res.outcome == ADAPTER_OK && c->o->progress)
        c->o->progress(c->o->progress_ctx, "send", (int64_t)size,
                       (int64_t)size);
    snprintf(msg, msgsz, "%s", res.msg);
    return res.outcome == ADAPTER_INDOUBT ? ADAPTER_RETRY : res.outcome;
}
