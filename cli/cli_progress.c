/* cli_progress.c - progress of long CLI work (batch build/verify/send,
 * submit and import of large files), one implementation for every command.
 *
 * On a terminal (stderr a tty, unless stdout prints a line per record to
 * the same screen):
 * one bar line, "build   [#####....]  61%  61440/100000  52k/s  0:01 left",
 * redrawn in place.  Before any log line the bar's line is cleared (a
 * util/log.h hook), so "ts=..." never runs into the bar; a finished phase
 * is drawn once more at 100% and its line ended.  Without a terminal:
 * logfmt (or JSON) progress events through the log sink at each 10% or
 * every 5 s, "event=progress command=batch phase=build done=61440
 * total=100000 percent=61 rate_per_s=52000 eta_s=1", but nothing at all
 * for the first 2 s, so short runs in scripts print what they always
 * printed. */
#include "cli/cli.h"
#include "util/clock.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUIET_FIRST_MS 2000            /* say nothing for short runs */
#define LINE_EVERY_MS 5000             /* non-tty: at least this often */
#define DRAW_EVERY_MS 100              /* tty: redraw at most this often */

struct cli_progress {
    const char *cmd;
    bool tty, quiet;
    const char *phase;
    int64_t started, phase_started, last_draw, last_line;
    int64_t done, total;
    int last_decile;
    bool drawn;                        /* the bar holds the line */
    bool shown_full;                   /* non-tty: the 100% line is out */
};

/* clear_line - the log hook: give the line back before a log line */
static void clear_line(void *ctx)
{
    struct cli_progress *p = ctx;
    if (p->drawn) {
        ssize_t w = write(STDERR_FILENO, "\r\033[K", 4);
        (void)w;
        p->drawn = false;
    }
}

struct cli_progress *cli_progress_new(const char *cmd, bool quiet,
                                      bool stdout_lines)
{
    struct cli_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cmd = cmd;
    p->quiet = quiet;
    /* a bar only where it does not interleave with stdout's lines */
    p->tty = cli_is_tty(2) && (!stdout_lines || !cli_is_tty(1));
    p->started = clock_mono_ms();
    p->last_decile = -1;
    if (p->tty)
        log_set_before_line(clear_line, p);
    return p;
}

/* rate - items per second in the current phase */
static int64_t rate(const struct cli_progress *p, int64_t now)
{
    int64_t ms = now - p->phase_started;
    return ms > 0 ? p->done * 1000 / ms : 0;
}

static void draw(struct cli_progress *p, int64_t now, bool final)
{
    int pct = p->total > 0 ? (int)(p->done * 100 / p->total) : -1;
    if (pct > 100)
        pct = 100;
    int64_t r = rate(p, now);
    int64_t eta = r > 0 && p->total > p->done ? (p->total - p->done) / r : 0;
    char line[160];
    int n;
    if (pct >= 0) {
        char bar[31];
        int fill = pct * 30 / 100;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        n = snprintf(line, sizeof line, "\r\033[K%-7s [%s] %3d%%  %lld/%lld  "
                     "%lld/s  %lld:%02lld %s", p->phase, bar, pct,
                     (long long)p->done, (long long)p->total, (long long)r,
                     (long long)(eta / 60), (long long)(eta % 60),
                     final ? "done" : "left");
    } else {
        n = snprintf(line, sizeof line, "\r\033[K%-7s %lld  %lld/s", p->phase,
                     (long long)p->done, (long long)r);
    }
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line,
                          (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)w;
    }
    p->drawn = true;
    if (final) {
        ssize_t w = write(STDERR_FILENO, "\n", 1);
        (void)w;
        p->drawn = false;
    }
    p->last_draw = now;
}

static void line(struct cli_progress *p, int64_t now)
{
    char d[24], t[24], pc[16], r[24], eta[24];
    int pct = p->total > 0 ? (int)(p->done * 100 / p->total) : -1;
    int64_t rt = rate(p, now);
    snprintf(d, sizeof d, "%lld", (long long)p->done);
    snprintf(t, sizeof t, "%lld", (long long)p->total);
    snprintf(pc, sizeof pc, "%d", pct > 100 ? 100 : pct);
    snprintf(r, sizeof r, "%lld", (long long)rt);
    snprintf(eta, sizeof eta, "%lld", rt > 0 && p->total > p->done
             ? (long long)((p->total - p->done) / rt) : 0LL);
    log_event(LOG_INFO, "progress", "command", p->cmd, "phase", p->phase,
              "done", d, "total", p->total > 0 ? t : "unknown",
              "percent", pct >= 0 ? pc : "unknown", "rate_per_s", r,
              "eta_s", eta, NULL);
    p->last_line = now;
    p->last_decile = pct / 10;
    p->shown_full = pct >= 100;
}

/* finish_phase - the phase ended: show it complete once, if shown at all */
static void finish_phase(struct cli_progress *p, int64_t now)
{
    if (!p->phase || (!p->tty && now - p->started < QUIET_FIRST_MS))
        return;
    if (p->total > 0 && p->done < p->total)
        p->done = p->total;
    if (p->tty)
        draw(p, now, true);
    else if (!p->shown_full)
        line(p, now);
}

void cli_progress_update(struct cli_progress *p, const char *phase,
                         int64_t done, int64_t total)
{
    if (!p || p->quiet)
        return;
    int64_t now = clock_mono_ms();
    if (!p->phase || strcmp(p->phase, phase) != 0) {
        finish_phase(p, now);
        p->phase = phase;
        p->phase_started = now;
        p->last_decile = -1;
        p->last_line = 0;
        p->shown_full = false;
        p->last_draw = 0;
    }
    p->done = done;
    p->total = total;
    if (!p->tty && now - p->started < QUIET_FIRST_MS)
        return;
    if (p->tty) {
        if (now - p->last_draw >= DRAW_EVERY_MS)
            draw(p, now, false);
        return;
    }
    int decile = total > 0 ? (int)(done * 100 / total) / 10 : -1;
    if (decile != p->last_decile || now - p->last_line >= LINE_EVERY_MS)
        line(p, now);
}

void cli_progress_clear(struct cli_progress *p)
{
    if (p && p->tty)
        clear_line(p);
}

void cli_progress_end(struct cli_progress *p, bool ok)
{
    if (!p)
        return;
    if (!p->quiet && ok)
        finish_phase(p, clock_mono_ms());
    else if (p->tty)
        clear_line(p);
    if (p->tty)
        log_set_before_line(NULL, NULL);
    free(p);
}
