/* breaker.c - per-target circuit breaker state machine.  See breaker.h.
 * Holds no global state and takes no locks; the caller serialises calls
 * on one struct breaker. */
#include "scheduler/breaker.h"

#include <string.h>

void breaker_init(struct breaker *b, int threshold, int64_t cooldown_ms)
{
    b->state = BREAKER_CLOSED;
    b->threshold = threshold;
    b->cooldown_ms = cooldown_ms > 0 ? cooldown_ms : 0;
    b->consecutive = 0;
    b->opened_at_ms = 0;
    b->probe_out = false;
    b->opens = 0;
}

static void trip(struct breaker *b, int64_t now_ms)
{
    b->state = BREAKER_OPEN;
    b->opened_at_ms = now_ms;
    b->probe_out = false;
    b->consecutive = 0;
    b->opens++;
}

bool breaker_allow(struct breaker *b, int64_t now_ms)
{
    switch (b->state) {
    case BREAKER_CLOSED:
        return true;
    case BREAKER_OPEN:
        if (now_ms - b->opened_at_ms < b->cooldown_ms)
            return false;
        b->state = BREAKER_HALF_OPEN;
        b->probe_out = true;
        return true;
    case BREAKER_HALF_OPEN:
        if (b->probe_out)
            return false;
        b->probe_out = true;
        return true;
    }
    return false;
}

void breaker_record(struct breaker *b, enum breaker_outcome o, int64_t now_ms)
{
    switch (b->state) {
    case BREAKER_CLOSED:
        if (o != BREAKER_RETRY) {
            b->consecutive = 0;
            return;
        }
        b->consecutive++;
        if (b->threshold > 0 && b->consecutive >= b->threshold)
            trip(b, now_ms);
        return;
    case BREAKER_HALF_OPEN:
        if (o == BREAKER_RETRY) {
            trip(b, now_ms);
            return;
        }
        b->state = BREAKER_CLOSED;
        b->probe_out = false;
        b->consecutive = 0;
        return;
    case BREAKER_OPEN:
        return;     /* a late answer to a call made before it opened */
    }
}

void breaker_abandon_probe(struct breaker *b)
{
    if (b->state == BREAKER_HALF_OPEN)
        b->probe_out = false;
}

int64_t breaker_retry_at_ms(const struct breaker *b, int64_t now_ms)
{
    if (b->state != BREAKER_OPEN)
        return now_ms;
    int64_t at = b->opened_at_ms + b->cooldown_ms;
    return at > now_ms ? at : now_ms;
}

bool breaker_adopt(struct breaker *b, enum breaker_state shared,
                   int64_t since_ms)
{
    if (shared == BREAKER_CLOSED) {
        if (b->state == BREAKER_CLOSED)
            return false;           /* keep this node's own count */
        b->state = BREAKER_CLOSED;
        b->probe_out = false;
        b->consecutive = 0;
        return true;
    }
    if (b->state == BREAKER_OPEN && b->opened_at_ms == since_ms)
        return false;
    b->state = BREAKER_OPEN;
    b->opened_at_ms = since_ms;
    b->probe_out = false;
    b->consecutive = 0;
    return true;
}

int breaker_state_parse(const char *name, enum breaker_state *out)
{
    static const enum breaker_state all[] = {
        BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN,
    };
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, breaker_state_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

const char *breaker_state_name(enum breaker_state s)
{
    switch (s) {
    case BREAKER_CLOSED:    return "closed";
    case BREAKER_OPEN:      return "open";
    case BREAKER_HALF_OPEN: return "half-open";
    }
    return "unknown";
}
