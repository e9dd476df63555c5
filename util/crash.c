/* crash.c - crash points (crash.h).  The hit counter is the one piece of
 * process-wide state, and it exists only in test builds. */
#include "util/crash.h"

#ifdef FERRY_TEST_BUILD
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t crash_mu = PTHREAD_MUTEX_INITIALIZER;
static long crash_hits;

void crash_point(const char *name)
{
    const char *want = getenv("FERRY_CRASH_AT");
    if (!want || !*want || !name)
        return;
    size_t nl = strlen(name);
    if (strncmp(want, name, nl) != 0)
        return;
    long nth = 1;
    if (want[nl] == '@') {
        char *end = NULL;
        errno = 0;
        nth = strtol(want + nl + 1, &end, 10);
        if (errno || !end || *end || nth < 1)
            return;
    } else if (want[nl] != '\0') {
        return;
    }
    pthread_mutex_lock(&crash_mu);
    long hit = ++crash_hits;
    pthread_mutex_unlock(&crash_mu);
    if (hit >= nth) {
        static const char msg[] = "ferry: crash point reached\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        raise(SIGKILL);
    }
}
#endif
