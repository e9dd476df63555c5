/* report_int.h - what the report's own files share (report_render.c and
 * the formats): the measure ids in table order, their groups, the number
 * formats and each format's renderer.  Never included outside
 * scheduler/report*.c. */
#ifndef FERRY_SCHEDULER_REPORT_INT_H
#define FERRY_SCHEDULER_REPORT_INT_H
#include "scheduler/report.h"

struct buf;

enum report_measure_id {
    RM_RECEIVED = 0,
    RM_CH_HTTP, RM_CH_CLI, RM_CH_CSV, RM_CH_ASSISTED, RM_CH_UNKNOWN,
    RM_DIGITAL, RM_ASSISTED, RM_TAKE_UP,
    RM_CONFIRMED, RM_AWAITING, RM_IN_PROGRESS, RM_REJECTED, RM_FAILED,
    RM_DISCARDED,
    RM_COMPLETION, RM_PERSON, RM_PERSON_RATE, RM_NO_PERSON,
    RM_TIMED, RM_MEDIAN, RM_P95,
    RM_COST, RM_COST_PER, RM_NOT_COSTED,
    RM_OPEN, RM_OPEN_LT1D, RM_OPEN_1_3D, RM_OPEN_3_7D, RM_OPEN_GT7D,
    RM_AT_DOOR, RM_DUPLICATES,
    RM_N
};

enum report_group {
    RG_VOLUME = 0, RG_OUTCOME, RG_COMPLETION, RG_TIME, RG_COST, RG_OPEN,
    RG_INTAKE, RG_N
};
extern const char *const report_group_titles[RG_N];
enum report_group report_group_of(enum report_measure_id m);

/* The by-day table's columns (text and HTML), with short headings. */
struct report_column {
    enum report_measure_id m;
    const char *head;
};
#define REPORT_NDAYCOLS 15
extern const struct report_column report_day_columns[REPORT_NDAYCOLS];

/* report_fmt_count - 1234567 as "1,234,567" */
void report_fmt_count(int64_t n, char *out, size_t outsz);
/* report_fmt_human - for people: "1,234", "93.3%", "2d 03:04:05",
 * "£1,234.50"; "-" when there is no value */
void report_fmt_human(enum report_unit u, struct report_value v, char *out,
                      size_t outsz);
/* report_fmt_machine - for CSV and JSON: "1234", "93.3", ms, pence; ""
 * when there is no value */
void report_fmt_machine(enum report_unit u, struct report_value v,
                        char *out, size_t outsz);
/* report_unit_name - "records", "percent", "milliseconds", "pence" */
const char *report_unit_name(enum report_unit u);
/* report_day_active - anything came in or was refused on the day */
bool report_day_active(const struct report_figures *f);
/* report_day_cells - one day's row of the day table, each of
 * report_day_columns formatted for people into out[c] */
#define REPORT_CELL_LEN 48
void report_day_cells(const struct report_figures *f,
                      char out[REPORT_NDAYCOLS][REPORT_CELL_LEN]);

int report_render_text(const struct report *r, struct buf *b);
int report_render_csv(const struct report *r, struct buf *b);
int report_render_json(const struct report *r, struct buf *b);
int report_render_html(const struct report *r, struct buf *b);

#endif
