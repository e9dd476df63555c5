/* log.c - structured event lines on stderr.  See log.h.
 *
 * Each line is formatted into a local buffer and written with one write(2)
 * so lines from concurrent threads never interleave.
 *
 * Under systemd, when stderr is the journal's stream (JOURNAL_STREAM names
 * stderr's device and inode, systemd.exec(5)), each line starts with the
 * sd-daemon(3) priority prefix "<N>" so journalctl -p filters by level. */
#include "util/log.h"
#include "util/buf.h"
#include "util/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_format sink_format = LOG_LOGFMT;
static enum log_level sink_min = LOG_INFO;
static int sink_journal;               /* stderr is the journal's stream */
static void (*before_line)(void *);    /* e.g. clear a progress bar */
static void *before_ctx;

static const char *level_names[] = { "debug", "info", "warn", "error", "off" };
/* syslog priorities (sd-daemon.h SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR) */
static const char level_prio[] = { '7', '6', '4', '3' };

/* journal_stream - JOURNAL_STREAM is "DEV:INODE" of the stream systemd
 * connected; it counts only while stderr is still that stream */
static int journal_stream(void)
{
    const char *v = getenv("JOURNAL_STREAM");
    if (!v || !*v)
        return 0;
    char *end = NULL;
    unsigned long long dev = strtoull(v, &end, 10);
    if (end == v || *end != ':')
        return 0;
    const char *p = end + 1;
    unsigned long long ino = strtoull(p, &end, 10);
    if (end == p || *end)
        return 0;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

void log_set_before_line(void (*fn)(void *ctx), void *ctx)
{
    before_line = fn;
    before_ctx = ctx;
}

void log_setup(enum log_format fmt, enum log_level min)
{
    sink_format = fmt;
    sink_min = min;
    sink_journal = journal_stream();
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    return -1;
}

int log_format_parse(const char *s, enum log_format *out)
{
    if (strcmp(s, "logfmt") == 0)
        *out = LOG_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = LOG_JSON;
    else
        return -1;
    return 0;
}

/* put_value - quote for logfmt when needed, always for JSON */
static void put_value(struct buf *b, const char *v, int json)
{
    int quote = json || *v == '\0' || strpbrk(v, " \"=\\\t\n\r") != NULL;
    if (quote)
        buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)*p);
        } else if (*p == '\n') {
            buf_puts(b, "\\n");
        } else if (*p == '\r') {
            buf_puts(b, "\\r");
        } else if (*p == '\t') {
            buf_puts(b, "\\t");
        } else if (*p < 0x20) {
            buf_printf(b, "\\u%04x", *p);
        } else {
            buf_putc(b, (char)*p);
        }
    }
    if (quote)
        buf_putc(b, '"');
}

void log_event(enum log_level lvl, const char *event, ...)
{
    if (lvl < sink_min || lvl >= LOG_OFF)
        return;
    char ts[40];
    clock_fmt_rfc3339(clock_wall_ms(), ts, sizeof ts);

    int json = sink_format == LOG_JSON;
    struct buf b;
    buf_init(&b, 64 * 1024);
    if (sink_journal) {
        buf_putc(&b, '<');
        buf_putc(&b, level_prio[lvl]);
        buf_putc(&b, '>');
    }
    if (json) {
        buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts,
                   level_names[lvl]);
        put_value(&b, event, 1);
    } else {
        buf_printf(&b, "ts=%s level=%s event=", ts, level_names[lvl]);
        put_value(&b, event, 0);
    }
    va_list ap;
    va_start(ap, event);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        if (json) {
            buf_putc(&b, ',');
            put_value(&b, k, 1);
            buf_putc(&b, ':');
        } else {
            buf_printf(&b, " %s=", k);
        }
        put_value(&b, v ? v : "", json);
    }
    va_end(ap);
    buf_puts(&b, json ? "}\n" : "\n");
    if (before_line)
        before_line(before_ctx);
    if (b.data) {
        ssize_t w = write(STDERR_FILENO, b.data, b.len);
        (void)w;
    }
    buf_free(&b);
}
