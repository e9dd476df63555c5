/* retry.c - retry policy arithmetic: exponential backoff with a cap and
 * caller-seeded jitter, and exhaustion.  See retry.h.
 * Owns no state; every function is pure and thread-safe. */
#include "util/retry.h"

#include <stddef.h>

/* Internal ceiling on any delay (about 31,000 years), so that base + jitter
 * can never overflow int64_t whatever the configuration says. */
#define RETRY_CEILING_MS 1000000000000000LL

void retry_policy_default(struct retry_policy *p)
{
    p->initial_ms = RETRY_DEFAULT_INITIAL_MS;
    p->max_delay_ms = RETRY_DEFAULT_MAX_DELAY_MS;
    p->factor_milli = RETRY_DEFAULT_FACTOR_MILLI;
    p->jitter_pct = RETRY_DEFAULT_JITTER_PCT;
    p->max_attempts = RETRY_DEFAULT_MAX_ATTEMPTS;
    p->max_age_ms = RETRY_DEFAULT_MAX_AGE_MS;
}

/* base_delay - min(initial * factor^(attempt-1), cap), overflow-safe and
 * bounded: stops as soon as the cap is reached or the value stops growing */
static int64_t base_delay(const struct retry_policy *p, int attempt)
{
    int64_t cap = p->max_delay_ms > 0 ? p->max_delay_ms : RETRY_CEILING_MS;
    if (cap > RETRY_CEILING_MS)
        cap = RETRY_CEILING_MS;
    int64_t d = p->initial_ms > 0 ? p->initial_ms : 0;
    if (d >= cap)
        return cap;
    int64_t f = p->factor_milli > 1000 ? p->factor_milli : 1000;
    for (int i = 1; i < attempt && f > 1000; i++) {
        /* d < cap <= 1e15 and f < 2^31, so d * f fits in int64_t */
        int64_t next = d * f / 1000;
        if (next >= cap)
            return cap;
        if (next == d)
            break;              /* truncation: it will never grow */
        d = next;
    }
    return d;
}

int64_t retry_delay_ms(const struct retry_policy *p, int attempt,
                       uint64_t rand_bits)
{
    if (attempt < 1)
        attempt = 1;
    int64_t base = base_delay(p, attempt);
    int pct = p->jitter_pct;
    if (pct <= 0 || base == 0)
        return base;
    if (pct > 100)
        pct = 100;
    int64_t j = base / 100 * pct + base % 100 * pct / 100;
    uint64_t span = (uint64_t)j * 2 + 1;
    int64_t d = base - j + (int64_t)(rand_bits % span);
    return d < 0 ? 0 : d;
}

bool retry_exhausted(const struct retry_policy *p, int attempts,
                     int64_t age_ms)
{
    if (p->max_attempts > 0 && attempts >= p->max_attempts)
        return true;
    if (p->max_age_ms > 0 && age_ms >= p->max_age_ms)
        return true;
    return false;
}
