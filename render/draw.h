/*
 * render/draw.h - drawing one evaluated frame with Cairo and Pango.
 *
 * A kn_canvas is a width x height Cairo image surface (CAIRO_FORMAT_ARGB32,
 * i.e. BGRA bytes in memory on little-endian) plus the Pango context and
 * caches a worker keeps across frames. Drawing paints the background, then
 * every visible element in document order.
 *
 * Ownership: a canvas belongs to one thread. kn_canvas_data points into the
 * canvas and stays valid until the canvas is destroyed.
 */
#ifndef KN_RENDER_DRAW_H
#define KN_RENDER_DRAW_H

#include <stdint.h>

#include "doc/doc.h"
#include "render/timeline.h"

typedef struct kn_canvas kn_canvas;

int kn_canvas_create(int width, int height, kn_canvas **out, kn_err *err);
void kn_canvas_destroy(kn_canvas *c);   /* accepts NULL */

/* Draws the state st of doc (st evaluated for the frame wanted). The canvas
 * must have the doc's size. KN_ERENDER when Cairo reports an error.
 * The first call for a doc draws the doc's static prefix (background and the
 * leading elements no scene or per-frame entry targets) once and keeps its
 * pixels for later frames, so a canvas must be used with one doc only, and
 * that doc must not change while the canvas lives (kn_renderer pairs them). */
int kn_draw_frame(kn_canvas *c, const kn_doc *doc, const kn_state *st, kn_err *err);

/* The pixels: premultiplied BGRA, stride bytes per row. */
const uint8_t *kn_canvas_data(kn_canvas *c);
int kn_canvas_stride(const kn_canvas *c);

/* Writes the canvas as PNG to path, or to a malloc'ed buffer (*buf, *len;
 * the caller frees *buf). */
int kn_canvas_write_png(kn_canvas *c, const char *path, kn_err *err);
int kn_canvas_png_buffer(kn_canvas *c, uint8_t **buf, size_t *len, kn_err *err);

#endif
