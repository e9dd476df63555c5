/* cobol_msg.c - cob_fail, the one way the COBOL codec, the edited
 * pictures and the RDW reader write a message: a leaf, so that those
 * files depend on it and never on one another for it. */
#include "mappings/cobol.h"

#include <stdarg.h>
#include <stdio.h>

/* cob_fail - see cobol.h */
int cob_fail(char *msg, size_t msgsz, const char *fmt, ...)
{
    if (msg && msgsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msgsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}
