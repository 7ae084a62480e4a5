/*
 * tests/fuzz/fuzz_render.c - libFuzzer target for everything after the
 * parser: any document that parses must draw its first, middle and last
 * frames and convert them to I420 without crashing, reading outside a
 * buffer or failing (a frame failure is a job failure a user cannot fix,
 * so kn_draw_frame must cope with whatever the parser lets through).
 *
 * To stay fast enough to explore, it skips documents larger than 256x256 or
 * longer than 600 frames and parses with a 4 MiB memory limit (so arrays and
 * linspaces stay small). Seeds: tests/fuzz/corpus_render (small versions of
 * the job corpus, plots and compositions included).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <libyuv.h>

#include "doc/doc.h"
#include "render/draw.h"
#include "render/render.h"
#include "render/timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kn_doc *doc = NULL;
    kn_state *st = NULL;
    kn_canvas *cv = NULL;
    uint8_t *planes = NULL;
    kn_err err;
    kn_doc_limits lim;
    kn_doc_limits_default(&lim);
    lim.max_bytes = 4u << 20;
    if (kn_doc_parse((const char *)data, size, &lim, &doc, &err) != KN_OK) goto out;
    if ((long)doc->width * doc->height > 256 * 256 || doc->n_frames > 600) goto out;
    st = kn_state_create(doc);
    if (!st || kn_canvas_create(doc->width, doc->height, &cv, &err) != KN_OK) abort();
    long frames[3] = { 0, doc->n_frames / 2, doc->n_frames - 1 };
    int w = doc->width, h = doc->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    planes = malloc((size_t)w * h + 2 * (size_t)cw * ch);
    if (!planes) abort();
    uint8_t *p[3] = { planes, planes + (size_t)w * h, planes + (size_t)w * h + (size_t)cw * ch };
    int stride[3] = { w, cw, cw };
    for (int k = 0; k < 3; k++) {
        kn_state_eval_frame(st, frames[k]);
        if (kn_draw_frame(cv, doc, st, &err) != KN_OK) {
            fprintf(stderr, "frame %ld failed: %s\n", frames[k], err.msg);
            abort();
        }
    }
    /* the conversion reads every canvas pixel and writes every plane byte */
    if (ARGBToI420(kn_canvas_data(cv), kn_canvas_stride(cv), p[0], stride[0], p[1], stride[1], p[2],
                   stride[2], w, h) != 0)
        abort();
out:
    free(planes);
    kn_canvas_destroy(cv);
    kn_state_destroy(st);
    kn_doc_destroy(doc);
    return 0;
}
