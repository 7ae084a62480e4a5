/*
 * render/render.c - see render.h. The conversion to YUV happens here, in the
 * worker, so the encoder (one thread in the server) only encodes.
 */
#include "render/render.h"

#include <libyuv.h>
#include <stdlib.h>

#include "render/timeline.h"

struct kn_renderer {
    kn_doc *doc;
    kn_state *state;
    kn_canvas *canvas;
};

int kn_renderer_create(const char *json, size_t len, kn_renderer **out, kn_err *err)
{
    int rc;
    kn_renderer *r = calloc(1, sizeof *r);
    if (!r) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory creating a renderer");
    if ((rc = kn_doc_parse(json, len, NULL, &r->doc, err)) != KN_OK) goto fail;
    r->state = kn_state_create(r->doc);
    if (!r->state) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory creating the frame state");
        goto fail;
    }
    if ((rc = kn_canvas_create(r->doc->width, r->doc->height, &r->canvas, err)) != KN_OK)
        goto fail;
    *out = r;
    return KN_OK;
fail:
    kn_renderer_destroy(r);
    return rc;
}

void kn_renderer_destroy(kn_renderer *r)
{
    if (!r) return;
    kn_canvas_destroy(r->canvas);
    kn_state_destroy(r->state);
    kn_doc_destroy(r->doc);
    free(r);
}

const kn_doc *kn_renderer_doc(const kn_renderer *r) { return r->doc; }
kn_canvas *kn_renderer_canvas(kn_renderer *r) { return r->canvas; }

int kn_renderer_draw(kn_renderer *r, long frame, kn_err *err)
{
    if (frame < 0 || frame >= r->doc->n_frames)
        return kn_err_set(err, KN_EINVAL, NULL, "frame %ld is out of range: the video has %ld frames (0..%ld)",
                          frame, r->doc->n_frames, r->doc->n_frames - 1);
    kn_state_eval_frame(r->state, frame);
    return kn_draw_frame(r->canvas, r->doc, r->state, err);
}

int kn_renderer_to_i420(kn_renderer *r, uint8_t *const data[3], const int stride[3], kn_err *err)
{
    /* Cairo's ARGB32 is libyuv's "ARGB" (B,G,R,A bytes in memory). Alpha is
     * premultiplied, so ignoring it composites over black. For an odd size
     * (gif) libyuv writes ceil(w / 2) x ceil(h / 2) chroma samples, the edge
     * ones averaged over the pixels the partial 2x2 block has: the planes
     * (a ring slot, pipeline/ring.h) are laid out for exactly that. */
    int rc = ARGBToI420(kn_canvas_data(r->canvas), kn_canvas_stride(r->canvas),
                        data[0], stride[0], data[1], stride[1], data[2], stride[2],
                        r->doc->width, r->doc->height);
    if (rc != 0) return kn_err_set(err, KN_ERENDER, NULL, "colour conversion failed (libyuv ARGBToI420 returned %d)", rc);
    return KN_OK;
}
