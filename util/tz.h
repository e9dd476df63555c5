/* tz.h - named time zones from TZif files, without touching the process TZ.
 *
 * tz_load reads /usr/share/zoneinfo/<name> (or $TZDIR/<name>), TZif
 * versions 1, 2 and 3, including the POSIX TZ footer (e.g.
 * "GMT0BST,M3.5.0/1,M10.5.0") that governs times after the last listed
 * transition.  "UTC" always works, even without tzdata.  Leap-second data
 * ("right/" zones) is ignored: ferry counts POSIX seconds.
 *
 * A struct tz is immutable once loaded: every function below takes it
 * const, keeps no global state and never calls setenv/tzset, so one zone
 * may be shared by any number of threads.
 *
 * Local times are wall-clock fields in a struct tm (tm_year from 1900,
 * tm_mon 0-11, tm_mday, tm_hour, tm_min, tm_sec); out-of-range fields are
 * normalised arithmetically (tm_mday 32 is the 1st of the next month). */
#ifndef FERRY_UTIL_TZ_H
#define FERRY_UTIL_TZ_H
#include <stdint.h>
#include <time.h>

struct errs;
struct tz;

/* tz_load - load the zone called name ("Europe/London", "UTC").  Names
 * are checked (no "..", no leading "/").  Returns NULL with e filled when
 * the zone is unknown or its file is damaged.  Free with tz_free. */
struct tz *tz_load(const char *name, struct errs *e);
void tz_free(struct tz *z);

/* tz_name - the name it was loaded under (owned by z) */
const char *tz_name(const struct tz *z);

/* tz_offset_at - seconds east of UTC in force at the instant utc_s */
int tz_offset_at(const struct tz *z, int64_t utc_s);

/* tz_localtime - wall-clock fields at utc_s, with tm_wday, tm_yday,
 * tm_isdst, tm_gmtoff; tm_zone points at an abbreviation owned by z. */
void tz_localtime(const struct tz *z, int64_t utc_s, struct tm *out);

/* tz_resolve_local - the instants at which the wall clock shows `local`.
 *   returns 1: unique; *first = *second = that instant.
 *   returns 2: ambiguous (autumn fold); *first is the earlier instant
 *              (summer time), *second the later one.
 *   returns 0: nonexistent (spring gap); *first = *second = the first
 *              valid instant after the gap, i.e. the transition itself
 *              (Europe/London 2026-03-29 01:30 -> 2026-03-29T01:00:00Z,
 *              which the clock shows as 02:00). */
int tz_resolve_local(const struct tz *z, const struct tm *local,
                     int64_t *first, int64_t *second);

/* tz_next_change - the first instant after after_utc_s at which the
 * offset changes.  Returns 1 and sets *when, or 0 when it never changes
 * again (fixed zones; rules are looked at about ten years ahead). */
int tz_next_change(const struct tz *z, int64_t after_utc_s, int64_t *when);

/* Calendar helpers (proleptic Gregorian, any year), shared by cron and
 * windows.  Days are counted from 1970-01-01 (day 0, a Thursday). */
int64_t tz_days_from_civil(int64_t y, int m /* 1-12 */, int d);
void tz_civil_from_days(int64_t days, int64_t *y, int *m /* 1-12 */, int *d);
int tz_days_in_month(int64_t y, int m /* 1-12 */);
int tz_weekday(int64_t days);   /* 0 = Sunday */

#endif
