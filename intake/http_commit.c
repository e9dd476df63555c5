/* http_commit.c - the HTTP intake's committer: one thread that stores
 * every queued submission of every suspended connection in one
 * spool_enqueue (one transaction, one fsync), then resumes them.
 *
 * Why: libmicrohttpd runs a small pool of epoll threads (about one per
 * core).  A pool thread reads and maps a submission, suspends its
 * connection (MHD_suspend_connection) and queues the request here; it is
 * at once free to read the next one.  While the committer waits for one
 * fsync, the pool keeps filling the next batch, so the batch grows with
 * the load and the fsync cost per record falls - the classic group
 * commit, without a thread per connection waiting in spool_enqueue.
 *
 * Contract: nothing is answered before its record is committed.  The
 * committer sets r->res / r->commit_rc, marks r RP_COMMITTED and only then
 * resumes the connection; the pool thread answers from those fields.
 * After a resume the committer never touches r again (the pool thread may
 * already have freed it).  When a shared commit fails, each request is
 * tried on its own, so one caller's problem is not everyone's.
 *
 * Owns: the thread, the queue (requests are borrowed until resumed). */
#include "intake/http_int.h"
#include "intake/intake_spool.h"
#include "config/config.h"
#include "util/crash.h"
#include "util/errs.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_committer {
    struct http_server *h;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;                   /* the queue and the flags */
    pthread_cond_t cv;
    struct req *head, *tail;
    bool stop;                            /* drain, then exit */
    bool gone;                            /* thread exited: commit inline */
};

/* count_items - the documents of r that go to the spool */
static size_t count_items(const struct req *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->np; i++)
        if (!r->p[i].problems)
            k++;
    return k;
}

/* fill_items - r's storable documents into items (k of them), each
 * through the one intake step (intake_item) */
static size_t fill_items(const struct req *r, struct spool_item *items)
{
    size_t k = 0;
    for (size_t i = 0; i < r->np; i++) {
        const struct http_pending *p = &r->p[i];
        if (p->problems)
            continue;
        struct spool_item *it = &items[k++];
        intake_item(it, r->svc, r->client->id, &p->d, p->key);
        it->channel = SPOOL_CH_HTTP;
    }
    return k;
}

/* hand_out - copy results of the storable documents back into r->res */
static void hand_out(struct req *r, const struct spool_result *res)
{
    size_t k = 0;
    for (size_t i = 0; i < r->np; i++)
        if (!r->p[i].problems)
            r->res[i] = res[k++];
}

static void refuse(struct req *r, struct errs *e)
{
    r->commit_rc = -1;
    snprintf(r->commit_err, sizeof r->commit_err, "%s", errs_first_msg(e));
}

/* commit_list - store every request of list; set each one's outcome */
static void commit_list(struct http_server *h, struct req *list)
{
    size_t n = 0, nreq = 0;
    for (struct req *r = list; r; r = r->qnext) {
        n += count_items(r);
        nreq++;
    }
    struct spool_item *items = calloc(n ? n : 1, sizeof *items);
    struct spool_result *res = calloc(n ? n : 1, sizeof *res);
    struct errs e;
    errs_init(&e);
    if (!items || !res) {
        errs_add(&e, "http", "out of memory");
        for (struct req *r = list; r; r = r->qnext)
            refuse(r, &e);
        goto out;
    }
    size_t k = 0;
    for (struct req *r = list; r; r = r->qnext)
        k += fill_items(r, items + k);
    crash_point("http-before-enqueue");
    if (spool_enqueue(h->sp, items, k, res, &e) == 0) {
        crash_point("http-after-enqueue");
        k = 0;
        for (struct req *r = list; r; r = r->qnext) {
            hand_out(r, res + k);
            k += count_items(r);
            r->commit_rc = 0;
        }
        goto out;
    }
    if (nreq == 1) {
        refuse(list, &e);
        goto out;
    }
    /* one at a time: only the request at fault is refused */
    for (struct req *r = list; r; r = r->qnext) {
        errs_clear(&e);
        size_t m = fill_items(r, items);
        if (spool_enqueue(h->sp, items, m, res, &e) == 0) {
            hand_out(r, res);
            r->commit_rc = 0;
        } else {
            refuse(r, &e);
        }
    }
out:
    errs_free(&e);
    free(items);
    free(res);
}

/* finish - mark committed and resume; r is not touched afterwards */
static void finish(struct req *list)
{
    for (struct req *r = list, *nx; r; r = nx) {
        nx = r->qnext;
        struct MHD_Connection *c = r->conn;
        r->qnext = NULL;
        __atomic_store_n(&r->phase, RP_COMMITTED, __ATOMIC_RELEASE);
        MHD_resume_connection(c);
    }
}

static void *run(void *arg)
{
    struct http_committer *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->head && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (!k->head && k->stop)
            break;
        struct req *list = k->head;
        k->head = k->tail = NULL;
        pthread_mutex_unlock(&k->mu);
        commit_list(k->h, list);
        finish(list);
        pthread_mutex_lock(&k->mu);
    }
    k->gone = true;
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

struct http_committer *http_commit_new(struct http_server *h, struct errs *e)
{
    struct http_committer *k = calloc(1, sizeof *k);
    if (!k) {
        errs_add(e, "http", "out of memory");
        return NULL;
    }
    k->h = h;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    if (pthread_create(&k->th, NULL, run, k) != 0) {
        errs_add(e, "http", "cannot start the committer thread");
        http_commit_free(k);
        return NULL;
    }
    k->started = true;
    return k;
}

void http_commit_queue(struct http_committer *k, struct req *r)
{
    r->qnext = NULL;
    pthread_mutex_lock(&k->mu);
    if (k->gone) {
        /* only after http_commit_free began: commit here, alone */
        pthread_mutex_unlock(&k->mu);
        commit_list(k->h, r);
        finish(r);
        return;
    }
    if (k->tail)
        k->tail->qnext = r;
    else
        k->head = r;
    k->tail = r;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

void http_commit_free(struct http_committer *k)
{
    if (!k)
        return;
    if (k->started) {
        pthread_mutex_lock(&k->mu);
        k->stop = true;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->th, NULL);
    }
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}
