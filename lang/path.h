/*
 * lang/path.h - SVG path data (the `d` of a `path` element) parsed into a
 * compact list of absolute Cairo segments.
 *
 * kn_path_parse accepts the SVG 1.1 / SVG 2 path grammar: the commands
 * M L H V C S Q T A Z in absolute (upper case) and relative (lower case)
 * form, implicit repetition of a command's arguments (extra pairs after M/m
 * are L/l), compact numbers ("1e-3", ".5.5" is two numbers, "-1-2" too),
 * arc flags written without separators ("a1 1 0 00 1 1"), whitespace and
 * commas between arguments. Empty or all-whitespace data is a valid, empty
 * path (it draws nothing). Anything else is rejected with the column where
 * the grammar breaks; there is no "render up to the first error".
 *
 * The parsed form has four kinds of segments, all in absolute user-space
 * coordinates: MOVE_TO, LINE_TO, CURVE_TO (cubic Bézier) and CLOSE.
 *  - Q/T become the exactly equivalent cubics (control points at 2/3).
 *  - S reflects the previous segment's second control point only when the
 *    previous command was C/c/S/s, T reflects the previous quadratic control
 *    point only after Q/q/T/t; otherwise the missing control point is the
 *    current point (SVG 1.1 section 8.3.6 and 8.3.7).
 *  - A is converted per SVG 1.1 implementation notes F.6: an arc between
 *    identical endpoints is omitted, a zero radius makes it a straight line,
 *    radii too small to span the endpoints are scaled up (F.6.6), and the
 *    arc is approximated by cubics of at most 90 degrees each, more when the
 *    radius is large, so that the approximation is within KN_PATH_ARC_TOL
 *    user units of the true ellipse; the last segment ends exactly on the
 *    arc's endpoint.
 *  - After Z the current point is the closed subpath's start, and relative
 *    coordinates are taken from there.
 *
 * Invariants of a parsed path (what consumers may rely on):
 *  - it is empty or starts with MOVE_TO;
 *  - a LINE_TO or CURVE_TO always follows MOVE_TO, LINE_TO or CURVE_TO:
 *    after a CLOSE, a drawing command gets an explicit MOVE_TO to the
 *    subpath start (Cairo would do the same implicitly);
 *  - every coordinate is finite with magnitude <= KN_PATH_COORD_MAX, so no
 *    path can put a cairo_t into its error state;
 *  - at most KN_PATH_MAX_SEGMENTS segments.
 *
 * Ownership: kn_path_parse returns a new path owned by the caller, freed
 * with kn_path_destroy. A path is immutable once parsed, so any number of
 * threads may use one path at the same time through the const functions.
 * Nothing keeps a pointer to the `d` string.
 */
#ifndef KN_LANG_PATH_H
#define KN_LANG_PATH_H

#include <stddef.h>

#include <cairo.h>

#include "common/err.h"
#include "common/limits.h"

/* Caps. Data longer than KN_PATH_MAX_BYTES or producing more segments than
 * KN_PATH_MAX_SEGMENTS (arcs count every cubic they become) is
 * KN_ETOOBIG. A number or a resulting coordinate beyond KN_PATH_COORD_MAX in
 * magnitude is KN_EINVAL: Cairo's fixed-point rasteriser is far narrower
 * anyway, and the bound keeps every arc computation finite. */
/* KN_PATH_MAX_BYTES, KN_PATH_MAX_SEGMENTS, KN_PATH_COORD_MAX: common/limits.h */
/* Largest distance, in user units, between an arc's cubic approximation and
 * the true ellipse. */
#define KN_PATH_ARC_TOL      1e-3

typedef struct kn_path kn_path;

typedef enum kn_path_op {
    KN_PATH_MOVE_TO = 0,   /* pt[0] */
    KN_PATH_LINE_TO,       /* pt[0] */
    KN_PATH_CURVE_TO,      /* pt[0], pt[1] control points, pt[2] end */
    KN_PATH_CLOSE          /* no points */
} kn_path_op;

typedef struct kn_path_seg {
    kn_path_op op;
    double pt[3][2];       /* [i][0] = x, [i][1] = y; unused entries are 0 */
} kn_path_seg;

/* Parses the NUL-terminated SVG path data d into *out (set to NULL on
 * failure). On failure returns KN_EINVAL (syntax, a number or coordinate out
 * of range), KN_ETOOBIG (a cap) or KN_ENOMEM, fills err (may be NULL) with a
 * message that names the column and what was expected there, and stores the
 * 1-based column of the offending character in *err_col (may be NULL; 0 on
 * success and for errors that have no position: data too long, out of
 * memory). Columns count bytes, which equals characters up to any error
 * since valid path data is ASCII. err->path is left empty: the caller knows
 * which field d came from. */
int kn_path_parse(const char *d, kn_path **out, int *err_col, kn_err *err);

/* Bytes of memory p holds (0 for NULL), for a caller that charges what it
 * keeps to a memory limit. */
size_t kn_path_bytes(const kn_path *p);

void kn_path_destroy(kn_path *p);   /* accepts NULL */

/* Appends p's segments to cr's current path (cairo_move_to, cairo_line_to,
 * cairo_curve_to, cairo_close_path, in user space under cr's current
 * transform). Does not begin a new path: call cairo_new_path first if cr
 * may hold one. p may be NULL (appends nothing). */
void kn_path_append(const kn_path *p, cairo_t *cr);

/* The exact bounding box of the path's geometry as drawn (the cubics, not
 * their control polygons, each curve's extremes solved for), including
 * lone MOVE_TO points, as box = {x0, y0, x1, y1} (min and max corners,
 * like cairo_path_extents). Returns 1, or 0 with box all zero when p is
 * NULL or empty. */
int kn_path_extents(const kn_path *p, double box[4]);

/* Number of segments in p (0 for NULL). */
size_t kn_path_count(const kn_path *p);

/* Copies up to cap segments, in order, into out (may be NULL when cap is
 * 0) and returns the total number of segments in p. For tests and for
 * consumers other than Cairo. */
size_t kn_path_segments(const kn_path *p, kn_path_seg *out, size_t cap);

#endif
