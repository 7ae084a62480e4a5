/*
 * tests/fuzz/fuzz_job.c - libFuzzer target for the job document parser:
 * any byte string must either parse into a doc that can be walked and
 * destroyed, or fail with an error code and a message, without crashing,
 * leaking or reading outside the input (ASan/UBSan catch the rest).
 *
 * Seeds: the .json files in tests/fuzz/corpus. Build with -DKINORA_FUZZ=ON (clang).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc/doc.h"
#include "media/image.h"

/* Gradients and image pixels hang off elements, not slots. */
static double walk_elems(const kn_elem *els, size_t n)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        const kn_elem *el = &els[i];
        for (int k = 0; k < 2; k++) {
            const kn_gradient *g = el->grad[k];
            if (!g) continue;
            if (g->nstops < 1) abort();
            for (size_t s = 0; s < g->nstops; s++) {
                if (g->stops[s].offset < 0 || g->stops[s].offset > 1 ||
                    (s && g->stops[s].offset < g->stops[s - 1].offset))
                    abort();
                acc += g->stops[s].color.a;
            }
        }
        if (el->type == KN_E_IMAGE) {
            const kn_image *im = el->image;
            if (!im || im->width < 1 || im->height < 1 || im->stride < 4 * im->width) abort();
            acc += im->data[0] + im->data[(size_t)im->stride * (size_t)im->height - 1];
        }
        acc += walk_elems(el->children, el->nchildren);
    }
    return acc;
}

/* Touches every slot value and frame entry so the sanitizers see any
 * dangling or short buffer in the model. */
static double walk(const kn_doc *d)
{
    double acc = d->fps + d->duration + (double)d->n_frames;
    for (size_t i = 0; i < d->nslots; i++) {
        const kn_value *v = &d->init[i];
        acc += v->num + v->color.a + (double)strlen(d->slot_name[i]);
        if (v->type == KN_VT_STR) acc += (double)strlen(v->str);
        if (v->type == KN_VT_ARRAY)
            for (size_t k = 0; k < v->n; k++) acc += v->arr[k];
    }
    for (size_t i = 0; i < d->nframes_entries; i++) {
        const kn_frame_entry *e = kn_doc_frame_entry(d, d->frames[i].index);
        if (e != &d->frames[i]) abort();
        for (size_t k = 0; k < e->nsets; k++)
            if (e->sets[k].slot < 0 || (size_t)e->sets[k].slot >= d->nslots) abort();
    }
    if (d->n_frames < 1 || (d->timeline && !(d->timeline->length >= 0))) abort();
    return acc + walk_elems(d->elements, d->nelements);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kn_doc *doc = NULL;
    kn_err err;
    kn_doc_limits lim;
    kn_doc_limits_default(&lim);
    lim.max_bytes = 64u << 20;   /* keep one input's arena small */
    int rc = kn_doc_parse((const char *)data, size, &lim, &doc, &err);
    if (rc == KN_OK) {
        volatile double sink = walk(doc);
        (void)sink;
    } else if (doc || err.code != rc || !err.msg[0]) {
        abort();
    }
    kn_doc_destroy(doc);
    return 0;
}
