/* config.h - ferry.xml: spool, intake, clients, targets, services, jobs.
 *
 * config_load parses ferry.xml with libxml2, validates it against the
 * embedded config/ferry.xsd, loads every service's mapping file (validated
 * against config/mapping.xsd) and cross-checks names.  Every problem found
 * is added to the errs list with "file:line"; loading goes on after a
 * problem so `ferry check` can show them all.  Values stay strings until a
 * typed reader (a duration, a size, an adapter key) reads them.
 *
 * Secrets are never inline: a "*-file" attribute names a file (mode 0600,
 * checked) or "env:NAME" names an environment variable.
 *
 * Ownership: config_free frees everything, including loaded mappings. */
#ifndef FERRY_CONFIG_CONFIG_H
#define FERRY_CONFIG_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mappings/mapping.h"   /* struct kvlist, struct mapping */
#include "util/retry.h"    /* struct retry_policy */
#include "util/log.h"

struct errs;

struct client_config {
    char *id;                 /* JWT issuer */
    char *secret_file;        /* file path or env:NAME */
    char **services;          /* services it may post to */
    size_t nservices;
    int max_connections;      /* 0 = listener default */
    int line;
};

struct intake_config {
    bool enabled;
    char *listen;             /* "127.0.0.1:8080" */
    char *cert_file, *key_file, *client_ca_file;   /* TLS when cert+key */
    int token_window_s;       /* default 30 */
    size_t max_body;          /* default 1 MiB */
    int max_depth;            /* default 32 */
    int max_fields;           /* default 1000 JSON members in a body */
    int max_connections;      /* default 256 */
    int max_per_address;      /* connections from one address; default 32 */
    int64_t request_timeout_ms;  /* default 10 s, defeats slow-loris */
    int64_t header_timeout_ms;   /* until the request head; default 2 s */
    int line;
};

struct console_config {
    bool enabled;
    char *listen;             /* "127.0.0.1:8490" */
    char *staff_file;         /* resolved; default "staff" beside ferry.xml */
    char *cert_file, *key_file;   /* TLS when both */
    int64_t idle_timeout_ms;  /* default 15 min */
    int max_sessions;         /* default 256 */
    int line;
};

struct target_config {
    char *name;
    char *type;               /* adapter name: fixed-width, soap, odbc */
    struct kvlist opts;       /* every other attribute of <target> */
    char *transport_type;     /* batch targets: "sftp" or "local" */
    struct kvlist transport_opts;
    struct retry_policy retry;
    int concurrency;          /* default 8 */
    int breaker_threshold;    /* consecutive RETRYs; default 5 */
    int64_t breaker_cooldown_ms;  /* default 60 s */
    int64_t lease_ms;         /* claim lease; default 5 min */
    char *window;             /* delivery window spec, NULL = always */
    char **holidays;          /* YYYY-MM-DD */
    size_t nholidays;
    int line;
};

/* Channels a cost can be set for: the order of enum spool_channel, so
 * cost_pence[SPOOL_CH_CSV] is the cost of one CSV-imported record. */
#define CONFIG_NCHANNELS 5

struct service_config {
    char *name;
    char *mapping_file;       /* resolved path */
    char **targets;           /* target names this service delivers to */
    size_t ntargets;
    /* <cost channel="csv" per-transaction="4.50"/>: pence per record
     * received by that channel (money never in floating point);
     * cost_set bit (1 << channel) says it was configured. */
    int64_t cost_pence[CONFIG_NCHANNELS];
    unsigned cost_set;
    struct mapping *mapping;  /* loaded; NULL when it failed to load */
    int line;
};

struct job_config {
    char *name;
    char *schedule;           /* 5-field cron */
    char *tz;                 /* default Europe/London */
    char *action;             /* batch | deliver | reconcile | purge */
    char *target;             /* for batch/deliver/reconcile; may be NULL */
    char *catch_up;           /* "run" (default) or "skip" */
    struct kvlist opts;       /* other attributes, e.g. older-than */
    int line;
};

struct ferry_config {
    char *path;               /* the file loaded */
    char *base_dir;           /* its folder; relative paths resolve here */
    char **copybook_roots;    /* resolved: base_dir, then each folder of
                                 <ferry copybook-path>; a mapping's
                                 copybooks must lie under one of them */
    size_t ncopybook_roots;
    char *spool_dir;
    char *spool_key_file;     /* AES-256-GCM payload key, NULL = off */
    char *spool_audit_key_file;  /* HMAC key of the audit chain, NULL = off */
    char *spool_audit_head_file; /* audit head outside the ledger (resolved
                                    path); NULL = <spool dir>/audit.head */
    size_t spool_min_free_mb; /* refuse intake below this; default 64 */
    bool spool_pg;            /* <spool backend="postgresql">: the ledger
                                 is the database spool_conn_file names */
    char *spool_conn_file;    /* its connection-file (a file, 0600) */
    char *spool_node;         /* <spool node="NAME">: this node in /metrics
                                 on a shared ledger; NULL: HOST:PID */
    enum log_format log_format;
    enum log_level log_level;
    int64_t shutdown_deadline_ms; /* SIGTERM deadline; default 30 s */
    struct intake_config intake;
    struct console_config console;
    struct client_config *clients;
    size_t nclients;
    struct target_config *targets;
    size_t ntargets;
    struct service_config *services;
    size_t nservices;
    struct job_config *jobs;
    size_t njobs;
    int spool_line;           /* line of <spool>; 0 when absent (added by
                                 the config helper for config_check) */
};

/* config_load - parse, validate, load mappings.  Returns 0 when no problem
 * was found, -1 otherwise; *out is set whenever the file could be parsed
 * at all (so `ferry check --json` can still list what it found). */
int config_load(const char *path, struct ferry_config **out, struct errs *e);
void config_free(struct ferry_config *c);

/* config_check - the deeper checks of config/'s own floor: secret files
 * readable by others, intake TLS files.  Adds to e; returns the number of
 * problems.  The whole check that `ferry check`, the daemon's start and a
 * SIGHUP run is sched_check_config (scheduler/sched_check.h). */
int config_check(const struct ferry_config *c, struct errs *e);
/* config_check_service - service s's mapping against the files it names:
 * every <map from> an accepted field, every copybook present and every
 * <map to> one of its fields.  Returns the number of problems added,
 * plus those config_load already reported for it (a copybook outside the
 * configuration's folders), so a caller can skip deeper checks that would
 * say them again. */
int config_check_service(const struct ferry_config *c,
                         const struct service_config *s, struct errs *e);
/* config_check_secret - ref ("env:NAME" or a file relative to base_dir)
 * is set, a file, and not readable by others; what names it in messages */
void config_check_secret(const struct ferry_config *c, long line,
                         const char *what, const char *ref, struct errs *e);

const struct target_config *config_target(const struct ferry_config *c,
                                          const char *name);
const struct service_config *config_service(const struct ferry_config *c,
                                            const char *name);
/* config_service_targets - "a service's targets", the one place: the
 * targets s delivers to, in the order written, as out[0..n) (n returned,
 * at most max); a name that is no target is left out (config_load reports
 * it).  Every target of the list gets every record of s. */
size_t config_service_targets(const struct ferry_config *c,
                              const struct service_config *s,
                              const struct target_config **out, size_t max);
/* config_service_target - s's first target (a record of s has one
 * delivery row per target; this is the one a single-target caller
 * means), or NULL when s names none */
const char *config_service_target(const struct service_config *s);
/* config_service_delivers_to - target is one of s's targets */
bool config_service_delivers_to(const struct service_config *s,
                                const char *target);
/* room for every target of one service (target="a b c") */
#define CONFIG_MAX_SERVICE_TARGETS 16
const struct client_config *config_client(const struct ferry_config *c,
                                          const char *id);
const struct job_config *config_job(const struct ferry_config *c,
                                    const char *name);

/* config_path - resolve p relative to base_dir into a new string */
char *config_path(const char *base_dir, const char *p);
/* config_spool_conninfo - <spool backend="postgresql">'s connection
 * string, read from its connection-file (relative to the config's
 * folder; mode 0600; never quoted in a message).  *out malloc'd: the
 * caller frees it with spool_conninfo_free (which wipes it).  0, or -1
 * with e filled. */
int config_spool_conninfo(const struct ferry_config *c, char **out,
                          struct errs *e);
/* config_read_secret - "env:NAME" or a file path (relative to base_dir);
 * refuses a file readable by group/other.  Trailing newline stripped.
 * Caller frees *out (and should wipe it). 0 ok, -1 with e filled. */
int config_read_secret(const char *base_dir, const char *ref, char **out,
                       size_t *len, struct errs *e);
/* config_find_default - --config value, else ./ferry.xml, else
 * /etc/ferry/ferry.xml; returns a static string or NULL */
const char *config_find_default(const char *given);

/* Typed readers for option strings.  0 ok, -1 bad. */
int config_parse_size(const char *s, size_t *out);     /* "1MiB", "512k" */
int config_parse_bool(const char *s, bool *out);       /* true/false/yes/no */
int config_parse_int(const char *s, long min, long max, long *out);

#endif
