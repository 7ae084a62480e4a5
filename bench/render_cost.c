/*
 * bench/render_cost.c - what one render worker spends per frame: parse
 * (once), evaluate+draw, and BGRA->I420 conversion, single-threaded, on the
 * frames of a job document. Reports medians of per-frame times.
 *
 * usage: render_cost JOB.json [max_frames]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "render/render.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: render_cost JOB.json [max_frames]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) return 1;
    fclose(f);
    text[n] = '\0';

    kn_err err;
    kn_renderer *r = NULL;
    double t0 = kn_mono();
    if (kn_renderer_create(text, (size_t)n, &r, &err) != KN_OK) {
        fprintf(stderr, "%s: %s %s\n", argv[1], err.path, err.msg);
        return 1;
    }
    double parse = kn_mono() - t0;
    const kn_doc *d = kn_renderer_doc(r);
    long frames = d->n_frames;
    if (argc > 2) {
        long m = strtol(argv[2], NULL, 10);
        if (m > 0 && m < frames) frames = m;
    }
    int w = d->width, h = d->height;
    /* I420 with chroma rounded up, as the ring lays it out for odd sizes. */
    size_t cw = (size_t)(w + 1) / 2, ch = (size_t)(h + 1) / 2;
    uint8_t *buf = malloc((size_t)w * h + 2 * cw * ch);
    uint8_t *planes[3] = {buf, buf + (size_t)w * h, buf + (size_t)w * h + cw * ch};
    int strides[3] = {w, (int)cw, (int)cw};
    double *draw = malloc(sizeof(double) * (size_t)frames), *conv = malloc(sizeof(double) * (size_t)frames);
    for (long i = 0; i < frames; i++) {
        double a = kn_mono();
        if (kn_renderer_draw(r, i, &err) != KN_OK) return 1;
        double b = kn_mono();
        if (kn_renderer_to_i420(r, planes, strides, &err) != KN_OK) return 1;
        double c = kn_mono();
        draw[i] = (b - a) * 1e3;
        conv[i] = (c - b) * 1e3;
    }
    qsort(draw, (size_t)frames, sizeof *draw, cmp);
    qsort(conv, (size_t)frames, sizeof *conv, cmp);
    printf("%s: %dx%d, %ld frames: parse %.1f ms once; per frame median draw %.3f ms, convert %.3f ms "
           "(p90 draw %.3f ms)\n", argv[1], w, h, frames, parse * 1e3, draw[frames / 2], conv[frames / 2],
           draw[frames * 9 / 10]);
    kn_renderer_destroy(r);
    free(draw);
    free(conv);
    free(buf);
    free(text);
    return 0;
}
