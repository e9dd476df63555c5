/* report_out.c - report_render: hand a built report to its format
 * (report_text.c, report_data.c for CSV and JSON, report_html.c).  Kept
 * apart from the shared measures and number formats (report_render.c) so
 * the formats stand on those and nothing stands on the formats but this. */
#include "scheduler/report.h"
#include "scheduler/report_int.h"
#include "util/buf.h"

int report_render(const struct report *r, enum report_format f,
                  struct buf *out)
{
    switch (f) {
    case REPORT_TEXT: return report_render_text(r, out);
    case REPORT_CSV:  return report_render_csv(r, out);
    case REPORT_JSON: return report_render_json(r, out);
    case REPORT_HTML: return report_render_html(r, out);
    }
    return -1;
}
