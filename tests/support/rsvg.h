/*
 * tests/support/rsvg.h - librsvg's rsvg-convert as an independent oracle
 * for drawing tests: the same scene written as SVG is rendered by it and
 * compared with ours. The program is optional (librsvg2-bin); tests skip
 * the comparison when it is not installed.
 */
#ifndef KN_TESTS_SUPPORT_RSVG_H
#define KN_TESTS_SUPPORT_RSVG_H

/* 1 when rsvg-convert is an executable on $PATH. */
int tu_rsvg_available(void);

/* Renders the SVG file at svg into the PNG file at png. Returns 0 on
 * success, else the wait status of rsvg-convert (or -1 when it could not be
 * started or waited for). */
int tu_rsvg_convert(const char *svg, const char *png);

#endif
