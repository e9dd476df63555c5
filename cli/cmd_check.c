/* cmd_check.c - `ferry check [--config FILE] [--json]`.
 *
 * Loads ferry.xml and every mapping (config_load), runs the deeper checks
 * (sched_check_config: the same the daemon runs at start and on SIGHUP,
 * every adapter's own validation included) and reports every problem, never just the first: as
 * "FILE:LINE: message" lines on stderr with a summary of what was found on
 * stdout, or all of it as one JSON document with --json.  Exit status:
 * 0 no problem, 78 (EX_CONFIG) any problem, 66 (EX_NOINPUT) no config
 * file, 64 (EX_USAGE) bad arguments. */
#include "cli/cli.h"
#include "adapters/adapter.h"
#include "config/config.h"
#include "scheduler/sched_check.h"
#include "util/errs.h"
#include "util/errs_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ferry check [--config FILE] [--json]\n"
        "\n"
        "Check ferry.xml and every service's mapping: the schema, names,\n"
        "secrets, adapter keys, copybooks, schedules and windows.  Every\n"
        "problem is listed as FILE:LINE: message.\n"
        "\n"
        "  --config FILE  the configuration (default ./ferry.xml, then\n"
        "                 /etc/ferry/ferry.xml)\n"
        "  --json         print the result as JSON on stdout\n"
        "  --help         this text\n"
        "\n"
        "Exit status: 0 no problem, 78 problems found, 66 no config file,\n"
        "64 bad arguments.\n");
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* print_text - the summary of what was found, on stdout */
static void print_text(const char *path, const struct ferry_config *c,
                       size_t nproblems)
{
    printf("config %s\n", path);
    if (c) {
        for (size_t i = 0; i < c->nservices; i++) {
            const struct service_config *s = &c->services[i];
            printf("  service %-20s mapping %s -> target ", nz(s->name),
                   nz(s->mapping_file));
            for (size_t k = 0; k < s->ntargets; k++)
                printf("%s%s", k ? "," : "", s->targets[k]);
            putchar('\n');
        }
        for (size_t i = 0; i < c->ntargets; i++) {
            const struct target_config *t = &c->targets[i];
            printf("  target  %-20s %s%s%s\n", nz(t->name), nz(t->type),
                   t->transport_type ? " via " : "", nz(t->transport_type));
        }
        for (size_t i = 0; i < c->nclients; i++) {
            const struct client_config *cl = &c->clients[i];
            printf("  client  %-20s", nz(cl->id));
            for (size_t k = 0; k < cl->nservices; k++)
                printf("%s%s", k ? ", " : " services ", cl->services[k]);
            printf("\n");
        }
        for (size_t i = 0; i < c->njobs; i++) {
            const struct job_config *j = &c->jobs[i];
            printf("  job     %-20s %s%s%s \"%s\" %s\n", nz(j->name),
                   nz(j->action), j->target ? " " : "", nz(j->target),
                   nz(j->schedule), nz(j->tz));
        }
        printf("%zu service%s, %zu target%s, %zu client%s, %zu job%s: ",
               c->nservices, c->nservices == 1 ? "" : "s",
               c->ntargets, c->ntargets == 1 ? "" : "s",
               c->nclients, c->nclients == 1 ? "" : "s",
               c->njobs, c->njobs == 1 ? "" : "s");
    }
    if (nproblems)
        printf("%zu problem%s\n", nproblems, nproblems == 1 ? "" : "s");
    else
        printf("ok\n");
}

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* build_json - the whole result; NULL on out of memory */
static json_t *build_json(const char *path, const struct ferry_config *c,
                          const struct errs *e)
{
    json_t *root = json_object();
    json_t *problems = errs_json(e), *services = json_array();
    json_t *targets = json_array(), *clients = json_array();
    json_t *jobs = json_array();
    if (!root || !problems || !services || !targets || !clients || !jobs)
        goto fail;
    json_object_set_new(root, "ok", json_boolean(e->n == 0 &&
                                                 e->dropped == 0));
    json_object_set_new(root, "config", json_string(path));
    if (e->dropped)
        json_object_set_new(root, "problems_dropped",
                            json_integer((json_int_t)e->dropped));
    for (size_t i = 0; c && i < c->nservices; i++) {
        const struct service_config *s = &c->services[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", jstr(s->name));
        json_object_set_new(o, "mapping", jstr(s->mapping_file));
        json_object_set_new(o, "target",
                            jstr(config_service_target(s)));
        json_t *ts = json_array();
        for (size_t k = 0; ts && k < s->ntargets; k++)
            json_array_append_new(ts, jstr(s->targets[k]));
        json_object_set_new(o, "targets", ts);
        json_object_set_new(o, "line", json_integer(s->line));
        json_array_append_new(services, o);
    }
    for (size_t i = 0; c && i < c->ntargets; i++) {
        const struct target_config *t = &c->targets[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", jstr(t->name));
        json_object_set_new(o, "type", jstr(t->type));
        json_object_set_new(o, "transport", jstr(t->transport_type));
        json_object_set_new(o, "line", json_integer(t->line));
        json_array_append_new(targets, o);
    }
    for (size_t i = 0; c && i < c->nclients; i++)
        json_array_append_new(clients, jstr(c->clients[i].id));
    for (size_t i = 0; c && i < c->njobs; i++) {
        const struct job_config *j = &c->jobs[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", jstr(j->name));
        json_object_set_new(o, "schedule", jstr(j->schedule));
        json_object_set_new(o, "tz", jstr(j->tz));
        json_object_set_new(o, "action", jstr(j->action));
        json_object_set_new(o, "target", jstr(j->target));
        json_object_set_new(o, "line", json_integer(j->line));
        json_array_append_new(jobs, o);
    }
    json_object_set_new(root, "problems", problems);
    json_object_set_new(root, "services", services);
    json_object_set_new(root, "targets", targets);
    json_object_set_new(root, "clients", clients);
    json_object_set_new(root, "jobs", jobs);
    return root;
fail:
    json_decref(root);
    json_decref(problems);
    json_decref(services);
    json_decref(targets);
    json_decref(clients);
    json_decref(jobs);
    return NULL;
}

/* at_rest_warning - once, when batch files would lie in clear: a batch
 * target and no spool key (docs/security.md, files at rest) */
static const char *at_rest_warning(const struct ferry_config *c)
{
    if (!c || c->spool_key_file)
        return NULL;
    for (size_t i = 0; i < c->ntargets; i++) {
        const struct adapter *a = c->targets[i].type
            ? adapter_find(c->targets[i].type) : NULL;
        if (a && a->kind == ADAPTER_BATCH)
            return "no <spool key-file>: batch files waiting in outbound/ "
                   "and kept in archive/ are plain text with personal data "
                   "(set a spool key to seal them: docs/security.md)";
    }
    return NULL;
}

int cmd_check(int argc, char **argv, const char *config_path)
{
    const char *given = config_path;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            given = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            given = a + 9;
        } else if ((strcmp(a, "--spool") == 0 || strcmp(a, "--actor") == 0)
                   && i + 1 < argc) {
            i++;   /* shared options that check has no use for */
        } else if (strncmp(a, "--spool=", 8) == 0 ||
                   strncmp(a, "--actor=", 8) == 0 ||
                   strcmp(a, "--quiet") == 0) {
            continue;
        } else {
            fprintf(stderr, "ferry check: unexpected argument '%s'\n", a);
            usage(stderr);
            return EX_USAGE;
        }
    }

    const char *path = config_find_default(given);
    if (!path) {
        fprintf(stderr, "ferry check: no configuration: neither ./ferry.xml "
                "nor /etc/ferry/ferry.xml exists (use --config FILE)\n");
        return EX_NOINPUT;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "ferry check: cannot read %s: %s; give the "
                        "configuration with --config FILE\n", path,
                strerror(errno));
        return EX_NOINPUT;
    }

    struct errs e;
    errs_init(&e);
    struct ferry_config *c = NULL;
    config_load(path, &c, &e);
    const char *warn = at_rest_warning(c);
    if (c)
        sched_check_config(c, &e);
    bool bad = e.n > 0 || e.dropped > 0;
    int rc = bad ? EX_CONFIG : 0;

    if (json) {
        json_t *doc = build_json(path, c, &e);
        if (doc && warn)
            json_object_set_new(doc, "warnings",
                                json_pack("[s]", warn));
        if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2)) != 0) {
            fprintf(stderr, "ferry check: out of memory\n");
            rc = EX_SOFTWARE;
        } else {
            fputc('\n', stdout);
        }
        json_decref(doc);
    } else {
        cli_print_errs(stderr, &e);
        if (warn)
            cli_msg("warning: %s", warn);
        print_text(path, c, e.n + e.dropped);
    }
    config_free(c);
    errs_free(&e);
    return rc;
}
