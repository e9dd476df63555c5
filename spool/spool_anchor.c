/* spool_anchor.c - the audit head written outside the ledger after each
 * commit that appended to the chain (spool_int.h: spool_audit_anchor).
 * A leaf: spool_commit calls it, it calls nothing of the spool.  The file
 * holds one line "ID HASH KEYED", replaced whole (temp name, fsync,
 * rename); the same head goes to the log (event audit-head), so a journal
 * keeps every head.  spool_audit.c reads the file back when verifying. */
#include "spool/spool_int.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void spool_audit_anchor(struct spool *s)
{
    char tmp[4096], line[128];
    int n = snprintf(line, sizeof line, "%s\n", s->audit_pending);
    bool ok = false;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", s->audit_head_path)
        < (int)sizeof tmp) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
            ok = close(fd) == 0 && ok;
            ok = ok && rename(tmp, s->audit_head_path) == 0;
            if (!ok)
                unlink(tmp);
        }
    }
    char id[32];
    snprintf(id, sizeof id, "%.*s", (int)strcspn(s->audit_pending, " "),
             s->audit_pending);
    const char *hash = strchr(s->audit_pending, ' ');
    char h[65];
    snprintf(h, sizeof h, "%.64s", hash ? hash + 1 : "");
    if (ok)
        log_event(LOG_INFO, "audit-head", "id", id, "hash", h, NULL);
    else
        log_event(LOG_WARN, "audit-head", "id", id, "hash", h, "file",
                  s->audit_head_path, "error", strerror(errno), NULL);
    s->audit_pending[0] = '\0';
}
