/*
 * render/stroke.h - cairo_stroke with a bound on the work a dash pattern
 * can cause.
 *
 * Cairo 1.16 steps through every dash of a dashed path, on the surface or
 * not: a circle of radius 1e9 with dash [1, 1] took 9 s to stroke onto a
 * 32x32 frame, and radius 1e12 hours, from a 150-byte document. kn_stroke
 * strokes such a path as the runs of it that come near the clip area, each
 * with the dash offset the pattern has where the run starts, so the work
 * follows what can be seen rather than the length of the path.
 *
 * What changes: nothing for a solid stroke, a path with fewer dashes than
 * the threshold, or a path that stays near the clip area (those take plain
 * cairo_stroke). A culled path's visible dashes are where Cairo would put
 * them to within a fraction of a pixel (the lengths of the curves skipped
 * are integrated, where Cairo sums the chords it flattens them into), and
 * runs that cross each other are stroked one after the other, so a
 * translucent stroke shows their crossing twice.
 */
#ifndef KN_RENDER_STROKE_H
#define KN_RENDER_STROKE_H

#include <cairo.h>

/* Paths with fewer dashes than this are left to cairo_stroke. */
#define KN_STROKE_CULL_DASHES 20000.0

/* Strokes and clears cr's current path with cr's stroke settings, like
 * cairo_stroke. */
void kn_stroke(cairo_t *cr);

/* kn_stroke with another threshold (tests use small ones to compare the
 * culled stroke with Cairo's own). Returns 1 when it culled, else 0. */
int kn_stroke_threshold(cairo_t *cr, double min_dashes);

#endif
