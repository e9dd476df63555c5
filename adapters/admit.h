/* admit.h - the door's check that a record can be encoded for every
 * target of its service (see admit.c).
 *
 * Ownership: adapter_admit_new's result is the caller's, freed with
 * adapter_admit_free; it borrows the configuration, which must outlive it. */
#ifndef FERRY_ADAPTERS_ADMIT_H
#define FERRY_ADAPTERS_ADMIT_H
#include <stddef.h>

struct errs;
struct ferry_config;
struct record;
struct service_config;
struct adapter_admit;

/* adapter_admit_new - the checks of svc's targets; NULL with e filled (a
 * layout that does not compile: a configuration problem) */
struct adapter_admit *adapter_admit_new(const struct ferry_config *cfg,
                                        const struct service_config *svc,
                                        struct errs *e);
/* adapter_admit_check - 0: every target can take rec; -1: every problem
 * in e, each "cannot be encoded for target T: ..." by field, no values */
int adapter_admit_check(const struct adapter_admit *a,
                        const struct record *rec, struct errs *e);
/* adapter_admit_stored - adapter_admit_check, and (out not NULL) target's
 * stored encoding of rec, when its format keeps one (adapter.h
 * admit_stored): *out malloc'd for the caller, NULL when none or when
 * the check fails */
int adapter_admit_stored(const struct adapter_admit *a,
                         const struct record *rec, const char *target,
                         unsigned char **out, size_t *outn, struct errs *e);
void adapter_admit_free(struct adapter_admit *a);

#endif
