/* http_reply.c - the HTTP front door's replies: status, body, the
 * headers every answer carries (no-store, Retry-After, Connection: close
 * while stopping, WWW-Authenticate on 401).  A leaf: every part of the
 * door answers through it, and it calls none of them.
 *
 * Owns: nothing (a body passed in is handed to libmicrohttpd). */
#include "intake/http_int.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* http_reply - queue status with body (owned, freed by MHD; NULL = empty) */
enum MHD_Result http_reply(struct MHD_Connection *c, struct req *r,
                             unsigned status, const char *ctype, char *body,
                             const char *retry_after)
{
    size_t len = body ? strlen(body) : 0;
    struct MHD_Response *res = MHD_create_response_from_buffer(
        len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE
                                           : MHD_RESPMEM_PERSISTENT);
    if (!res) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(res, "Content-Type", ctype);
    MHD_add_response_header(res, "Cache-Control", "no-store");
    if (retry_after)
        MHD_add_response_header(res, "Retry-After", retry_after);
    if (r && r->h->stopping)
        MHD_add_response_header(res, "Connection", "close");
    if (status == 401)
        MHD_add_response_header(res, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = MHD_queue_response(c, status, res);
    MHD_destroy_response(res);
    if (r)
        r->replied = true;
    return rc;
}

/* http_reply_status - status with {"status":word[, "error":msg]} */
enum MHD_Result http_reply_status(struct MHD_Connection *c, struct req *r,
                                  unsigned status, const char *word,
                                  const char *msg, const char *retry_after)
{
    json_t *o = json_pack("{s:s}", "status", word);
    if (o && msg)
        json_object_set_new(o, "error", json_string(msg));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return http_reply(c, r, status, "application/json", s, retry_after);
}

/* http_reply_obj - o (a reference taken) as the JSON body */
enum MHD_Result http_reply_obj(struct MHD_Connection *c, struct req *r,
                               unsigned status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return http_reply_status(c, r, 500, "error", "out of memory", NULL);
    return http_reply(c, r, status, "application/json", s, NULL);
}

