/*
 * render/plot.h - drawing a plot element (spec section 8): a matplotlib-like
 * chart in the element's box, its axes area at matplotlib's subplot margins
 * (left 0.125, right 0.9, bottom 0.11, top 0.88 of the box), ticks and
 * labels from render/ticks.h, heatmap colours from lang/cmap.h.
 *
 * Ownership: nothing is kept between calls; the caller owns cr, layout, the
 * doc and the state. Reentrant.
 */
#ifndef KN_RENDER_PLOT_H
#define KN_RENDER_PLOT_H

#include <stddef.h>

#include <cairo.h>
#include <pango/pangocairo.h>

#include "doc/doc.h"
#include "render/ticks.h"
#include "render/timeline.h"

/* One axis as the plot draws it for state st: view limits (view[0] at the
 * left / bottom), the ticks inside the view ascending, and their labels.
 * axis 0 is x, 1 is y. Returns the tick count (<= KN_TICKS_MAX). labels may
 * be NULL. */
size_t kn_plot_axis(const kn_elem *el, const kn_state *st, int axis, double view[2],
                    double ticks[KN_TICKS_MAX], char labels[][KN_TICKS_LABEL_MAX]);

/* The minor ticks of axis a (log axes only; a linear axis has none), as
 * the plot draws them: ascending, inside the view, with their labels ("" for
 * the ones matplotlib leaves unlabelled). Returns the count
 * (<= KN_TICKS_MINOR_MAX). labels may be NULL. */
size_t kn_plot_axis_minor(const kn_elem *el, const kn_state *st, int a,
                          double ticks[KN_TICKS_MINOR_MAX],
                          char labels[][KN_TICKS_LABEL_MAX]);

/* Draws plot element el of state st with opacity already handled by the
 * caller (cr is in the element's user space). layout is a Pango layout for
 * cr's font map; its text and font are changed. */
void kn_plot_draw(cairo_t *cr, PangoLayout *layout, const kn_elem *el, const kn_state *st);

#endif
