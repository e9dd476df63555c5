/* retry.h - retry policy arithmetic for stream delivery.
 *
 * It lives in util/ because config/ fills a struct retry_policy per target
 * and the scheduler reads it: the lowest floor both stand on.
 *
 * Pure integer maths, no floating point, no clock and no randomness of its
 * own: the caller passes the attempt number and random bits, so a test can
 * pin every delay.  The spool and the delivery loop decide when to call;
 * adapters never retry.
 *
 * Delay for retry n (n = 1 is the first retry, after the first failed
 * attempt):   base(n) = min(initial * factor^(n-1), max_delay)
 * then jitter spreads it uniformly over [base - j, base + j] with
 * j = base * jitter_pct / 100.  The maximum applies before jitter on purpose:
 * clamping after jitter would pile every long-outage retry onto exactly
 * max_delay, the burst that jitter exists to prevent. */
#ifndef FERRY_UTIL_RETRY_H
#define FERRY_UTIL_RETRY_H
#include <stdbool.h>
#include <stdint.h>

struct retry_policy {
    int64_t initial_ms;     /* delay before the first retry; default 30 s */
    int64_t max_delay_ms;   /* cap on the base delay; 0 = none; default 1 h */
    int factor_milli;       /* growth per retry, 2000 = x2; <1000 acts as 1000 */
    int jitter_pct;         /* 0-100, +/- spread; default 20 */
    int max_attempts;       /* attempts in all before failed; 0 = no limit;
                               default 10 */
    int64_t max_age_ms;     /* record age before failed; 0 = no limit;
                               default 3 days */
};

/* Defaults, also documented in docs/scheduling.md. */
#define RETRY_DEFAULT_INITIAL_MS    (30LL * 1000)
#define RETRY_DEFAULT_MAX_DELAY_MS  (60LL * 60 * 1000)
#define RETRY_DEFAULT_FACTOR_MILLI  2000
#define RETRY_DEFAULT_JITTER_PCT    20
#define RETRY_DEFAULT_MAX_ATTEMPTS  10
#define RETRY_DEFAULT_MAX_AGE_MS    (3LL * 24 * 60 * 60 * 1000)

/* retry_policy_default - fill p with the defaults above */
void retry_policy_default(struct retry_policy *p);

/* retry_delay_ms - delay before retry number `attempt` (1 = first retry;
 * values below 1 act as 1).  rand_bits: any uniformly random 64 bits from
 * the caller.  Never negative. */
int64_t retry_delay_ms(const struct retry_policy *p, int attempt,
                       uint64_t rand_bits);

/* retry_exhausted - true when a record that has had `attempts` delivery
 * attempts (counting the one that just failed) and is age_ms old must go to
 * failed instead of being retried: attempts >= max_attempts or
 * age_ms >= max_age_ms (each only when its limit is non-zero). */
bool retry_exhausted(const struct retry_policy *p, int attempts,
                     int64_t age_ms);

#endif
