/* odbc_drive.c - drive the ODBC adapter directly, for the integration tests.
 *
 * Builds one adapter instance by filling struct adapter_env by hand (no
 * config_load), reads records from a file and delivers them, printing one
 * line per record: "<call> <ref> <outcome> <message>".
 *
 *   odbc_drive [-o key=value]... [-m key=value]... [-a SPEC]...
 *              -r RECORDS [--calls K] [--attempt N] [--in-doubt]
 *              [--probe] [--sync DIR] [--redeliver]
 *
 *   -o  target option (connection-file=env:FERRY_ODBC_CONN, batch-size...)
 *   -m  mapping <target> option (table=..., statement=..., key-columns=...)
 *   -a  one <map>: to=COL,from=FIELD | value=TEXT [,format=F]
 *       [,local-time] [,truncate] [,size=N] [,scale=N]
 *   RECORDS: one record a line, "REF|name=type:value|..." with type
 *       s (string), i (integer), dN (decimal, N places), date, dt, b, null
 *   --calls K     deliver in calls of K records (default: one call)
 *   --sync DIR    before call i >= 2 write DIR/ready<i>, wait for DIR/go<i>
 *   --redeliver   then deliver again every RETRY/INDOUBT record (attempt+1,
 *                 in-doubt ones flagged), after ready-redeliver/go-redeliver
 *   --probe       probe each record instead of delivering it
 *   --spool S     the records' delivery identities are those of spool S
 *                 (default "a"): a UUID-shaped digest of S and the ref, so
 *                 reruns agree and two "spools" with the same refs differ
 * Exit 0 unless the instance could not be made (2) or usage (64). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "mappings/mapping.h"
#include "mappings/record.h"
#include "util/errs.h"

/* through the registry: nothing but adapters/registry.c names an adapter */
#define adapter_odbc (*adapter_find("odbc"))

static int kv_push(struct kvlist *l, const char *k, size_t klen,
                   const char *v)
{
    struct kv *nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    l->v = nv;
    nv[l->n].key = strndup(k, klen);
    nv[l->n].value = strdup(v);
    nv[l->n].line = 0;
    l->n++;
    return 0;
}

static int kv_arg(struct kvlist *l, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return -1;
    return kv_push(l, arg, (size_t)(eq - arg), eq + 1);
}

static void kv_free(struct kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].value);
    }
    free(l->v);
}

/* parse_assign - "to=X,from=Y,truncate" into a map_assign */
static int parse_assign(struct map_assign *a, const char *spec, int line)
{
    char *s = strdup(spec);
    memset(a, 0, sizeof *a);
    a->line = line;
    for (char *p = s; p && *p;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *eq = strchr(p, '=');
        const char *val = eq ? eq + 1 : "true";
        size_t klen = eq ? (size_t)(eq - p) : strlen(p);
        if (!strncmp(p, "to", klen) && klen == 2)
            a->to = strdup(val);
        else if (!strncmp(p, "from", klen) && klen == 4)
            a->from = strdup(val);
        else if (!strncmp(p, "value", klen) && klen == 5)
            a->value = strdup(val);
        else if (!strncmp(p, "format", klen) && klen == 6)
            a->format = strdup(val);
        else if (!strncmp(p, "local-time", klen) && klen == 10)
            a->local_time = true;
        else if (!strncmp(p, "truncate", klen) && klen == 8)
            a->truncate = true;
        else
            kv_push(&a->opts, p, klen, val);
        p = comma ? comma + 1 : NULL;
    }
    free(s);
    return a->to ? 0 : -1;
}

static void assign_free(struct map_assign *a)
{
    free(a->to);
    free(a->from);
    free(a->value);
    free(a->format);
    kv_free(&a->opts);
}

/* set_field - "name=type:value" onto r */
static int set_field(struct record *r, char *spec)
{
    char *eq = strchr(spec, '=');
    if (!eq)
        return -1;
    *eq = '\0';
    char *type = eq + 1, *val = strchr(type, ':');
    if (val)
        *val++ = '\0';
    struct record_field *f = record_add(r, spec);
    if (!f)
        return -1;
    if (!strcmp(type, "null"))
        return 0;
    if (!val)
        return -1;
    int64_t n;
    if (!strcmp(type, "s"))
        return fvalue_set_text(&f->v, FT_STRING, val);
    if (!strcmp(type, "i")) {
        char *end;
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (*end || errno)
            return -1;
        return fvalue_set_int(&f->v, v);
    }
    if (type[0] == 'd' && type[1] >= '0' && type[1] <= '9') {
        int scale = type[1] - '0';
        if (record_dec_parse(val, scale, &n) < 0)
            return -1;
        return fvalue_set_decimal(&f->v, n, scale);
    }
    if (!strcmp(type, "date"))
        return record_date_parse(val, &n) < 0 ? -1 : fvalue_set_date(&f->v, n);
    if (!strcmp(type, "dt"))
        return record_datetime_parse(val, &n) < 0 ? -1
               : fvalue_set_datetime(&f->v, n);
    if (!strcmp(type, "b"))
        return fvalue_set_bool(&f->v, !strcmp(val, "true"));
    return -1;
}

struct rec {
    char *ref;
    struct record *r;
};

static int load_records(const char *path, struct rec **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    if (!f)
        return -1;
    *out = NULL;
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        struct rec *nv = realloc(*out, (*n + 1) * sizeof *nv);
        if (!nv)
            break;
        *out = nv;
        char *save = NULL, *tok = strtok_r(line, "|", &save);
        nv[*n].ref = strdup(tok);
        nv[*n].r = record_new();
        while ((tok = strtok_r(NULL, "|", &save)))
            if (set_field(nv[*n].r, tok) < 0) {
                fprintf(stderr, "bad field %s in %s\n", tok, nv[*n].ref);
                fclose(f);
                (*n)++;
                return -1;
            }
        (*n)++;
    }
    fclose(f);
    return 0;
}

static void wait_for(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/ready%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f)
        fclose(f);
    snprintf(p, sizeof p, "%s/go%s", dir, name);
    for (int i = 0; i < 1200 && access(p, F_OK) != 0; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* test_delivery_id - a stable stand-in for the spool's random identity:
 * two FNV-1a passes over spool and ref, in the UUID form */
static void test_delivery_id(const char *spool, const char *ref,
                             char out[37])
{
    uint64_t h[2] = { 1469598103934665603ULL, 1099511628211ULL * 31 };
    for (int k = 0; k < 2; k++) {
        for (const char *p = spool; *p; p++)
            h[k] = (h[k] ^ (unsigned char)*p) * 1099511628211ULL;
        h[k] = (h[k] ^ '|') * 1099511628211ULL;
        for (const char *p = ref; *p; p++)
            h[k] = (h[k] ^ (unsigned char)*p) * 1099511628211ULL;
    }
    char hex[33];
    snprintf(hex, sizeof hex, "%016llx%016llx", (unsigned long long)h[0],
             (unsigned long long)h[1]);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
             hex + 16, hex + 20);
}

static void print_items(const char *call, struct delivery_item *it, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%s %s %s %s\n", call, it[i].ref,
               adapter_outcome_name(it[i].res.outcome), it[i].res.msg);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct kvlist opts = {0};
    struct map_target mt;
    struct map_section sec;
    const char *recfile = NULL, *sync = NULL, *spool = "a";
    size_t calls = 0;
    int attempt = 1, rc = 0;
    bool in_doubt = false, probe = false, redeliver = false;
    memset(&mt, 0, sizeof mt);
    memset(&sec, 0, sizeof sec);
    sec.name = "record";
    mt.name = "db";
    mt.sec = &sec;
    mt.nsec = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-o") && v) {
            kv_arg(&opts, v);
            i++;
        } else if (!strcmp(a, "-m") && v) {
            kv_arg(&mt.opts, v);
            i++;
        } else if (!strcmp(a, "-a") && v) {
            sec.a = realloc(sec.a, (sec.na + 1) * sizeof *sec.a);
            if (parse_assign(&sec.a[sec.na], v, (int)sec.na + 1) < 0) {
                fprintf(stderr, "bad -a %s\n", v);
                return 64;
            }
            sec.na++;
            i++;
        } else if (!strcmp(a, "-r") && v) {
            recfile = v;
            i++;
        } else if (!strcmp(a, "--calls") && v) {
            calls = (size_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--attempt") && v) {
            attempt = (int)strtol(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--spool") && v) {
            spool = v;
            i++;
        } else if (!strcmp(a, "--sync") && v) {
            sync = v;
            i++;
        } else if (!strcmp(a, "--in-doubt")) {
            in_doubt = true;
        } else if (!strcmp(a, "--probe")) {
            probe = true;
        } else if (!strcmp(a, "--redeliver")) {
            redeliver = true;
        } else {
            fprintf(stderr, "usage: see the header of odbc_drive.c\n");
            return 64;
        }
    }
    struct rec *recs = NULL;
    size_t nrec = 0;
    if (!recfile || load_records(recfile, &recs, &nrec) < 0) {
        fprintf(stderr, "cannot read records\n");
        rc = 64;
        goto out;
    }
    struct target_config *tc = NULL;
    struct adapter_env env = { .target = tc, .opts = &opts, .map = &mt,
                               .base_dir = ".", .service = "svc" };
    struct errs e;
    errs_init(&e);
    void *ctx = NULL;
    if (adapter_odbc.init(&ctx, &env, &e) < 0) {
        for (size_t i = 0; i < e.n; i++)
            fprintf(stderr, "init: %s: %s\n", e.v[i].where, e.v[i].msg);
        errs_free(&e);
        rc = 2;
        goto out;
    }
    errs_free(&e);
    struct delivery_item *items = calloc(nrec ? nrec : 1, sizeof *items);
    char (*dids)[37] = calloc(nrec ? nrec : 1, sizeof *dids);
    for (size_t i = 0; i < nrec; i++) {
        test_delivery_id(spool, recs[i].ref, dids[i]);
        items[i].ref = recs[i].ref;
        items[i].delivery_id = dids[i];
        items[i].service = "svc";
        items[i].attempt = attempt;
        items[i].was_in_doubt = in_doubt;
        items[i].rec = recs[i].r;
    }
    if (probe) {
        for (size_t i = 0; i < nrec; i++)
            adapter_odbc.probe(ctx, &items[i]);
        print_items("probe", items, nrec);
    } else {
        size_t k = calls ? calls : (nrec ? nrec : 1);
        for (size_t off = 0, call = 1; off < nrec; off += k, call++) {
            char name[32];
            snprintf(name, sizeof name, "%zu", call);
            if (call > 1 && sync)
                wait_for(sync, name);
            size_t m = nrec - off < k ? nrec - off : k;
            adapter_odbc.deliver(ctx, items + off, m);
            snprintf(name, sizeof name, "call%zu", call);
            print_items(name, items + off, m);
        }
        if (redeliver) {
            if (sync)
                wait_for(sync, "-redeliver");
            for (size_t i = 0; i < nrec; i++) {
                enum adapter_outcome o = items[i].res.outcome;
                if (o != ADAPTER_RETRY && o != ADAPTER_INDOUBT)
                    continue;
                items[i].attempt++;
                items[i].was_in_doubt = o == ADAPTER_INDOUBT;
                memset(&items[i].res, 0, sizeof items[i].res);
                adapter_odbc.deliver(ctx, &items[i], 1);
                print_items("again", &items[i], 1);
            }
        }
    }
    adapter_odbc.close(ctx);
    free(items);
    free(dids);
out:
    for (size_t i = 0; i < nrec; i++) {
        free(recs[i].ref);
        record_free(recs[i].r);
    }
    free(recs);
    for (size_t i = 0; i < sec.na; i++)
        assign_free(&sec.a[i]);
    free(sec.a);
    kv_free(&opts);
    kv_free(&mt.opts);
    return rc;
}
