/* batch_state.c - a batch target's stop, kept in the ledger's target
 * state (spool_target_state_put) where `ferry targets` reads it, as the
 * delivery engine keeps a stream target's: the night batch stops a target
 * whose transport refuses the host key or the login, and the first run
 * that gets through clears it.  Nothing here decides when: batch.c does. */
#include "scheduler/batch_int.h"
#include "util/clock.h"
#include "config/config.h"
#include "spool/spool.h"
#include "util/errs.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* state_owner - who writes the target's state: "host:pid:batch" */
static void state_owner(char *out, size_t outsz)
{
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(out, outsz, "%s:%ld:batch", host, (long)getpid());
}

/* batch_was_stopped - see batch_int.h */
bool batch_was_stopped(struct bctx *c)
{
    struct spool_target_states ts = { 0 };
    struct errs e;
    errs_init(&e);
    bool stopped = false;
    if (spool_target_state_list(c->sp, &ts, &e) == 0)
        for (size_t i = 0; i < ts.n; i++)
            if (strcmp(ts.v[i].target, c->tc->name) == 0 && ts.v[i].stopped)
                stopped = true;
    spool_target_states_free(&ts);
    errs_free(&e);
    return stopped;
}

/* batch_state_put - see batch_int.h */
void batch_state_put(struct bctx *c, const char *why)
{
    char owner[96];
    struct errs e;
    errs_init(&e);
    state_owner(owner, sizeof owner);
    if (spool_target_state_put(c->sp, c->tc->name, "closed", clock_wall_ms(),
                               why, owner, &e) != 0)
        log_event(LOG_WARN, "target-state-not-saved", "target", c->tc->name,
                  "error", errs_first_msg(&e), NULL);
    else if (!why)
        log_event(LOG_INFO, "target-running", "target", c->tc->name,
                  "was", "stopped", NULL);
    c->was_stopped = why != NULL;
    errs_free(&e);
}
