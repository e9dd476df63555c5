/* log.h - one line per event on stderr, logfmt or JSON.
 *
 * An event is a name plus key/value pairs:
 *     log_event(LOG_INFO, "accepted", "ref", ref, "service", svc, NULL);
 * Values are quoted/escaped as the format needs.  Callers never pass secrets
 * or fields marked personal: the mapping's personal flag is honoured by the
 * callers that build values (see mappings/mask.h, the one masking rule).
 *
 * The sink settings (format, level) are process-wide, like openlog(3): they
 * are set once by the top level (cli/main.c or the daemon) before threads
 * start.  This is the one piece of state the top level owns on behalf of
 * every module.  Under systemd (JOURNAL_STREAM naming stderr) each line
 * starts with the journal's priority prefix: <7> debug, <6> info,
 * <4> warn, <3> error. */
#ifndef FERRY_UTIL_LOG_H
#define FERRY_UTIL_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
enum log_format { LOG_LOGFMT = 0, LOG_JSON };

void log_setup(enum log_format fmt, enum log_level min);
int  log_level_parse(const char *s, enum log_level *out);   /* 0 ok */
int  log_format_parse(const char *s, enum log_format *out); /* 0 ok */
/* log_event - key/value string pairs terminated by NULL; a NULL value
 * is written as an empty string. */
void log_event(enum log_level lvl, const char *event, ...);
/* log_set_before_line - FN(CTX) runs before each line is written (a
 * terminal progress bar clears its line); NULL removes it.  Set by the
 * top level only. */
void log_set_before_line(void (*fn)(void *ctx), void *ctx);

#endif
