/* breaker.h - circuit breaker for one delivery target.
 *
 *   closed --(threshold consecutive RETRY outcomes)--> open
 *   open --(cooldown elapsed; breaker_allow grants one probe)--> half-open
 *   half-open --(probe OK or FAIL)--> closed
 *   half-open --(probe RETRY)--> open (cool-down starts again)
 *
 * A FAIL outcome means the target answered (it refused one record), so it
 * resets the count like OK does.  Outcomes reported while open (calls that
 * started before it opened) are ignored.  A threshold <= 0 disables the
 * breaker: it stays closed.
 *
 * Several nodes on one PostgreSQL spool share one breaker per target
 * through the ledger (target_state, see docs/cluster.md): the delivery
 * engine writes each change there and takes on what another node wrote
 * with breaker_adopt; the half-open probe is claimed in the ledger, so
 * the cluster sends one probe, not one per node.
 *
 * Pure logic: no clock (every call takes now_ms, the same milliseconds
 * the caller uses throughout: wall-clock ms in the delivery engine, so
 * that times recorded by one node mean the same to another), no
 * locking.  Thread-safety is the caller's: the delivery
 * loop keeps one breaker per target and calls it under that target's lock. */
#ifndef FERRY_SCHEDULER_BREAKER_H
#define FERRY_SCHEDULER_BREAKER_H
#include <stdbool.h>
#include <stdint.h>

enum breaker_state { BREAKER_CLOSED = 0, BREAKER_OPEN, BREAKER_HALF_OPEN };

/* Mirrors the adapter outcomes (ADAPTER_OK / RETRY / FAIL). */
enum breaker_outcome { BREAKER_OK = 0, BREAKER_RETRY, BREAKER_FAIL };

#define BREAKER_DEFAULT_THRESHOLD 5
#define BREAKER_DEFAULT_COOLDOWN_MS (60LL * 1000)

struct breaker {
    enum breaker_state state;
    int threshold;              /* consecutive RETRYs that open it */
    int64_t cooldown_ms;
    int consecutive;            /* RETRYs in a row while closed */
    int64_t opened_at_ms;       /* when it last opened */
    bool probe_out;             /* half-open: the one probe is in flight */
    uint64_t opens;             /* times it has opened, for metrics */
};

/* breaker_init - closed, with the given threshold and cool-down */
void breaker_init(struct breaker *b, int threshold, int64_t cooldown_ms);

/* breaker_allow - may a call be made now?  Closed: yes.  Open: no until
 * the cool-down has passed, then it turns half-open and yes, once: that
 * caller holds the probe.  Half-open with the probe out: no. */
bool breaker_allow(struct breaker *b, int64_t now_ms);

/* breaker_record - the outcome of a call that breaker_allow let through */
void breaker_record(struct breaker *b, enum breaker_outcome o, int64_t now_ms);

/* breaker_abandon_probe - the probe holder made no call after all (window
 * closed, shutdown): the next breaker_allow may probe instead. */
void breaker_abandon_probe(struct breaker *b);

/* breaker_retry_at_ms - when an open breaker will allow a probe; now_ms
 * for closed or half-open */
int64_t breaker_retry_at_ms(const struct breaker *b, int64_t now_ms);

/* breaker_adopt - take on the state another node recorded: open since
 * since_ms (no calls until a cool-down from then), half-open (that node
 * holds the probe: here it reads as open since the probe began, so this
 * node tries the probe itself only if no answer came within a cool-down),
 * or closed (that node's probe succeeded: the count starts again).  The
 * other node counted the opening: opens is not incremented.  Returns
 * true if the local state changed. */
bool breaker_adopt(struct breaker *b, enum breaker_state shared,
                   int64_t since_ms);

/* breaker_state_parse - the inverse of breaker_state_name; -1 if unknown */
int breaker_state_parse(const char *name, enum breaker_state *out);

/* breaker_state_name - "closed", "open", "half-open" (static strings) */
const char *breaker_state_name(enum breaker_state s);

#endif
