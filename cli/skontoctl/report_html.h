/* report_html — `skontoctl report policy --html FILE`: the policy report as
 * one self-contained HTML file (no network, no JavaScript): its tables with
 * zh-CN or en labels and its charts as inline SVG, all written through
 * libxml2's xmlTextWriter (which escapes every text and attribute).
 *
 * Takes the rows report_policy.c loaded and the figures report_figures.c computes
 * (report_policy.h); it formats, never computes a figure of its own. Numbers
 * are formatted as in --json, whatever the locale. Every figure a test reads
 * carries a data-k attribute (its --json key) and its cell a data-v (the
 * --json value as text). */
#ifndef SK_REPORT_HTML_H
#define SK_REPORT_HTML_H

#include "report_policy.h"

/* Writes the report to the file path; locale "en" or "zh-CN".
 * Returns SK_EXIT_OK, or SK_EXIT_FAIL with a message on stderr. */
int sk_report_html_write(const char *verb, const sk_pol_rep_t *r, const char *locale,
                         const char *path);

#endif
