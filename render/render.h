/*
 * render/render.h - one frame of a document, start to finish: evaluate the
 * state (render/timeline.h), draw it (render/draw.h), and convert the BGRA
 * canvas to I420 planes (libyuv ARGBToI420, BT.601 limited range) for the
 * frame ring. This is what a render worker runs per frame, and what
 * `kinora frame` and the preview endpoint run once.
 *
 * Ownership: a kn_renderer owns its doc (parsed from the text given to
 * create), state and canvas; it belongs to one thread.
 */
#ifndef KN_RENDER_RENDER_H
#define KN_RENDER_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "doc/doc.h"
#include "render/draw.h"

typedef struct kn_renderer kn_renderer;

/* Parses and compiles the document text once. */
int kn_renderer_create(const char *json, size_t len, kn_renderer **out, kn_err *err);
void kn_renderer_destroy(kn_renderer *r);   /* accepts NULL */

const kn_doc *kn_renderer_doc(const kn_renderer *r);
kn_canvas *kn_renderer_canvas(kn_renderer *r);

/* Evaluates and draws frame i (0 <= i < n_frames) into the canvas. */
int kn_renderer_draw(kn_renderer *r, long frame, kn_err *err);

/* Converts the canvas to I420 planes of the doc's size: Y is w x h, U and V
 * ceil(w / 2) x ceil(h / 2) (odd sizes are gif documents'). */
int kn_renderer_to_i420(kn_renderer *r, uint8_t *const data[3], const int stride[3],
                        kn_err *err);

#endif
