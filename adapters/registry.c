/* registry.c - the one place that names every adapter.
 *
 * Adding an adapter: write adapters/<name>.c exporting one const struct
 * adapter, declare it here and add it to the table. */
#include "adapters/adapter.h"
#include "util/errs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct adapter adapter_fixed_width;
extern const struct adapter adapter_delimited;
extern const struct adapter adapter_soap;
extern const struct adapter adapter_odbc;
extern const struct adapter adapter_sftp;
extern const struct adapter adapter_local;

static const struct adapter *const registry[] = {
    &adapter_fixed_width,   /* batch: COBOL copybook files */
    &adapter_delimited,     /* batch: CSV-style files */
    &adapter_soap,          /* stream: SOAP 1.1/1.2 calls */
    &adapter_odbc,          /* stream: ODBC writes */
    &adapter_sftp,          /* transport: SFTP (libssh2) */
    &adapter_local,         /* transport: a local folder */
    NULL,
};

const struct adapter *adapter_find(const char *name)
{
    for (size_t i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

const struct adapter *const *adapter_all(void)
{
    return registry;
}

const char *adapter_outcome_name(enum adapter_outcome o)
{
    switch (o) {
    case ADAPTER_OK:      return "ok";
    case ADAPTER_RETRY:   return "retry";
    case ADAPTER_FAIL:    return "fail";
    case ADAPTER_INDOUBT: return "in-doubt";
    case ADAPTER_STOP:    return "stop";
    }
    return "unknown";
}

void adapter_result_set(struct adapter_result *res, enum adapter_outcome o,
                        const char *fmt, ...)
{
    res->outcome = o;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof res->msg, fmt, ap);
    va_end(ap);
}

/* adapter_result_problems - see adapter.h */
void adapter_result_problems(struct adapter_result *res,
                             const struct errs *pe)
{
    char *msg = errs_join(pe, "cannot be encoded");
    adapter_result_set(res, ADAPTER_FAIL, "%s", msg ? msg : "cannot be encoded");
    free(msg);
}
