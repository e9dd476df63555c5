/* adapter_check.h - the configuration held up against the adapters it
 * names (adapter_check.c).  Each adds its problems to e with file:line and
 * returns how many it added. */
#ifndef FERRY_ADAPTERS_ADAPTER_CHECK_H
#define FERRY_ADAPTERS_ADAPTER_CHECK_H

struct errs;
struct ferry_config;
struct service_config;

/* adapter_check_types - every target names a known adapter of a kind that
 * fits (a batch format with a transport, a stream target without) */
int adapter_check_types(const struct ferry_config *c, struct errs *e);
/* adapter_check_targets - target and transport options against the key
 * tables, their secrets; then each transport's own validation */
int adapter_check_targets(const struct ferry_config *c, struct errs *e);
/* adapter_check_service_keys - the mapping <target> options of service s
 * against its targets' mapping key tables */
int adapter_check_service_keys(const struct ferry_config *c,
                               const struct service_config *s,
                               struct errs *e);
/* adapter_check_service - each target of s whose options read cleanly is
 * validated by its adapter with s's mapping, as the daemon starts it */
int adapter_check_service(const struct ferry_config *c,
                          const struct service_config *s, struct errs *e);

#endif
