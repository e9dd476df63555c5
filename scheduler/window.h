/* window.h - delivery windows: when a target may be called.
 *
 * A spec is one or more ranges, separated by ";" or ",", and an optional
 * time-zone name at the end (default Europe/London):
 *
 *     Mon-Fri 07:00-20:00 Europe/London
 *     Mon-Fri 07:00-20:00; Sat 09:00-12:00 Europe/London
 *     Mon,Wed,Fri 08:00-12:00 13:00-17:00 UTC
 *     Sun-Thu 22:00-02:00          (overnight: each night until 02:00)
 *     07:00-19:00                  (no days = every day)
 *
 * Days are Mon..Sun (three letters, any case; full names also accepted),
 * single or as a range (Fri-Mon wraps).  Times are HH:MM wall-clock in
 * the zone; the end is exclusive; 24:00 means midnight at the end of the
 * day; an end earlier than the start runs past midnight into the next day,
 * and that tail belongs to the day the range started on.
 *
 * Holidays (YYYY-MM-DD, local dates) close the window for the whole of
 * that date, and a range that starts on a holiday does not open at all
 * (its after-midnight tail stays closed too).
 *
 * Across clock changes the wall clock rules: a start inside the spring gap
 * opens at the end of the gap; in the autumn fold the repeated hour is open
 * (or closed) both times.
 *
 * A struct window is immutable after window_parse and may be shared by
 * threads.  A NULL window means "always open". */
#ifndef FERRY_SCHEDULER_WINDOW_H
#define FERRY_SCHEDULER_WINDOW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errs;
struct window;

/* window_next_open returns this when the window never opens again within
 * the search span (WINDOW_SEARCH_DAYS). */
#define WINDOW_NEVER INT64_MAX
#define WINDOW_SEARCH_DAYS (366 * 5)

/* window_parse - parse spec and the holiday list (holidays may be NULL
 * when nholidays is 0).  Returns NULL with every problem added to e,
 * each naming the column of the spec ("window column 9: ...") or the
 * holiday ("holiday 2: ...").  Free with window_free. */
struct window *window_parse(const char *spec, const char *const *holidays,
                            size_t nholidays, struct errs *e);
void window_free(struct window *w);

/* window_open - whether deliveries may be attempted at utc_s */
bool window_open(const struct window *w, int64_t utc_s);

/* window_next_open - utc_s itself when open, else the first instant after
 * it at which the window opens, or WINDOW_NEVER. */
int64_t window_next_open(const struct window *w, int64_t utc_s);

/* window_spec - the spec as given (owned by w), for `ferry targets` */
const char *window_spec(const struct window *w);
/* window_tz_name - the zone the window is read in (owned by w) */
const char *window_tz_name(const struct window *w);

#endif
