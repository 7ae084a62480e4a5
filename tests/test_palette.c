/*
 * tests/test_palette.c - encode/palette: clip palettes (exact for few
 * colours, median cut + k-means otherwise) and Floyd-Steinberg dithering,
 * checked on synthetic images whose right answer is known: exact colours
 * come back exactly, clusters give their centres, and a dithered gradient
 * keeps its local averages far better than plain nearest-colour mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libyuv.h>

#include "common/err.h"
#include "encode/palette.h"

static void put(uint8_t *argb, int i, uint32_t rgb)
{
    argb[4 * i] = rgb & 255;
    argb[4 * i + 1] = rgb >> 8 & 255;
    argb[4 * i + 2] = rgb >> 16 & 255;
    argb[4 * i + 3] = 255;
}

static uint32_t get(const uint8_t *argb, int i)
{
    return (uint32_t)argb[4 * i + 2] << 16 | (uint32_t)argb[4 * i + 1] << 8 | argb[4 * i];
}

static int chan(uint32_t c, int a)
{
    return (int)(c >> (16 - 8 * a) & 255);
}

static kn_palette build(kn_palette_hist *h, int max)
{
    kn_palette p;
    kn_err err;
    kn_err_clear(&err);
    if (kn_palette_build(h, max, &p, &err)) fail_msg("build: %s", err.msg);
    assert_true(p.n >= 1 && p.n <= max);
    for (int i = 0; i < KN_PALETTE_MAX; i++) assert_int_equal(p.argb[i] >> 24, 0xFF);
    for (int i = p.n; i < KN_PALETTE_MAX; i++) assert_int_equal(p.argb[i], 0xFF000000u);
    return p;
}

static int find(const kn_palette *p, uint32_t rgb)
{
    for (int i = 0; i < p->n; i++)
        if ((p->argb[i] & 0xFFFFFFu) == rgb) return i;
    return -1;
}

/* Seven colours in stripes of different widths: the palette is exactly
 * those seven, most used first, and mapping (dithered or not) is exact. */
static void test_few_colours_exact(void **state)
{
    (void)state;
    enum { W = 70, H = 20 };
    static const uint32_t cols[7] = {0xFF0000, 0x00FF00, 0x0000FF, 0x123456,
                                     0xFEFEFE, 0x000000, 0x808081};
    uint8_t *img = malloc(W * H * 4);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int k = x < 28 ? x / 7 : 4 + (x - 28) / 14;   /* 7,7,7,7,14,14,14 columns */
            put(img, y * W + x, cols[k]);
        }
    kn_palette_hist *h = NULL;
    kn_err err;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    kn_palette_hist_add_argb(h, img, W * 4, W, H);
    assert_int_equal(kn_palette_hist_pixels(h), (uint64_t)W * H);
    kn_palette p = build(h, 255);
    assert_int_equal(p.n, 7);
    for (int k = 0; k < 7; k++) assert_true(find(&p, cols[k]) >= 0);
    /* Most used first: the 14-wide stripes (ties by colour value). */
    assert_int_equal(p.argb[0] & 0xFFFFFF, 0x000000);
    assert_int_equal(p.argb[1] & 0xFFFFFF, 0x808081);
    assert_int_equal(p.argb[2] & 0xFFFFFF, 0xFEFEFE);
    /* The same histogram builds the same palette. */
    kn_palette q = build(h, 255);
    assert_memory_equal(&p, &q, sizeof p);
    /* Exactly max_colors distinct colours is still exact. */
    q = build(h, 7);
    assert_int_equal(q.n, 7);

    kn_palette_mapper *m = NULL;
    assert_int_equal(kn_palette_mapper_create(&p, W, &m, &err), KN_OK);
    uint8_t idx[W * H];
    kn_palette_mapper_image(m, img, W * 4, W, H, idx, W);
    for (int i = 0; i < W * H; i++) assert_int_equal(p.argb[idx[i]] & 0xFFFFFF, get(img, i));
    for (int k = 0; k < 7; k++) assert_int_equal(kn_palette_nearest(m, cols[k]), find(&p, cols[k]));
    /* Nearest of a colour not in the palette: 0xFD0102 is nearest red. */
    assert_int_equal(kn_palette_nearest(m, 0xFD0102), find(&p, 0xFF0000));
    assert_int_equal(kn_palette_nearest(m, 0x7A7A7A), find(&p, 0x808081));
    kn_palette_mapper_destroy(m);
    kn_palette_hist_destroy(h);
    free(img);
}

/* Four well separated colours with +-2 noise on every channel: 500 distinct
 * colours, so the histogram path runs; four entries land on the centres. */
static void test_clusters(void **state)
{
    (void)state;
    enum { W = 200, H = 100 };
    static const int ctr[4][3] = {{30, 60, 200}, {220, 40, 40}, {100, 200, 90}, {240, 240, 20}};
    uint8_t *img = malloc(W * H * 4);
    unsigned seed = 12345;
    for (int i = 0; i < W * H; i++) {
        int k = (i % W) / 50;
        int c[3];
        for (int a = 0; a < 3; a++) {
            seed = seed * 1103515245u + 12345u;
            c[a] = ctr[k][a] + (int)((seed >> 16) % 5) - 2;
        }
        put(img, i, (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | (uint32_t)c[2]);
    }
    kn_palette_hist *h = NULL;
    kn_err err;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    kn_palette_hist_add_argb(h, img, W * 4, W, H);
    kn_palette p = build(h, 4);
    assert_int_equal(p.n, 4);
    for (int k = 0; k < 4; k++) {
        int best = 1 << 30;
        for (int i = 0; i < p.n; i++) {
            int d = 0;
            for (int a = 0; a < 3; a++) {
                int e = chan(p.argb[i], a) - ctr[k][a];
                d = abs(e) > d ? abs(e) : d;
            }
            if (d < best) best = d;
        }
        if (best > 1) fail_msg("cluster %d: nearest palette entry is %d levels away", k, best);
    }
    /* With room for more, the error only drops: a 16-colour palette maps
     * every pixel within the noise. */
    p = build(h, 16);
    kn_palette_mapper *m = NULL;
    assert_int_equal(kn_palette_mapper_create(&p, W, &m, &err), KN_OK);
    int worst = 0;
    for (int i = 0; i < W * H; i++) {
        uint32_t c = p.argb[kn_palette_nearest(m, get(img, i))];
        for (int a = 0; a < 3; a++) {
            int e = abs(chan(c, a) - chan(get(img, i), a));
            if (e > worst) worst = e;
        }
    }
    assert_true(worst <= 4);
    kn_palette_mapper_destroy(m);
    kn_palette_hist_destroy(h);
    free(img);
}

/* Mean |error| of b x b block averages (all channels), and mean per-pixel
 * |error|, of indexes idx against img (w pixels wide), over the blocks in
 * [x0, x1) x [y0, y1). */
static void errors(const kn_palette *p, const uint8_t *img, const uint8_t *idx, int w, int x0,
                   int x1, int y0, int y1, int b, double *block, double *pixel)
{
    double bs = 0, ps = 0;
    long nb = 0;
    for (int by = y0; by + b <= y1; by += b)
        for (int bx = x0; bx + b <= x1; bx += b)
            for (int a = 0; a < 3; a++) {
                double s = 0;
                for (int y = by; y < by + b; y++)
                    for (int x = bx; x < bx + b; x++) {
                        double e = chan(p->argb[idx[y * w + x]], a) - chan(get(img, y * w + x), a);
                        s += e;
                        ps += fabs(e);
                    }
                bs += fabs(s / (b * b));
                nb++;
            }
    *block = bs / nb;
    *pixel = ps / (nb * b * b);
}

/* A smooth gradient (16384 colours) on 16 colours: plain nearest mapping
 * bands, dithering keeps local averages; on 255 colours the dithered error
 * is small everywhere. With 16 colours, the palette's means sit ~30 levels
 * inside the gradient's edges, which no mix of them can reach: the local
 * average is checked in the interior there. */
static void test_dithered_gradient(void **state)
{
    (void)state;
    enum { W = 256, H = 64 };
    uint8_t *img = malloc(W * H * 4);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            put(img, y * W + x, (uint32_t)x << 16 | (uint32_t)(255 - x) << 8 | (uint32_t)(y * 4));
    kn_palette_hist *h = NULL;
    kn_err err;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    kn_palette_hist_add_argb(h, img, W * 4, W, H);
    uint8_t *idx = malloc(W * H), *plain = malloc(W * H);

    kn_palette p = build(h, 16);
    assert_int_equal(p.n, 16);
    kn_palette_mapper *m = NULL;
    assert_int_equal(kn_palette_mapper_create(&p, W, &m, &err), KN_OK);
    kn_palette_mapper_image(m, img, W * 4, W, H, idx, W);
    for (int i = 0; i < W * H; i++) plain[i] = kn_palette_nearest(m, get(img, i));
    double db, dp, nbk, npx;
    errors(&p, img, idx, W, 64, 192, 16, 48, 8, &db, &dp);
    errors(&p, img, plain, W, 64, 192, 16, 48, 8, &nbk, &npx);
    print_message("16 colours: 8x8 block error dithered %.2f, nearest %.2f; pixel error %.2f, %.2f\n",
                  db, nbk, dp, npx);
    assert_true(db < 1.5);
    assert_true(db * 4 < nbk);
    kn_palette_mapper_destroy(m);

    p = build(h, 255);
    assert_true(p.n > 200);
    assert_int_equal(kn_palette_mapper_create(&p, W, &m, &err), KN_OK);
    kn_palette_mapper_image(m, img, W * 4, W, H, idx, W);
    errors(&p, img, idx, W, 0, W, 0, H, 8, &db, &dp);
    print_message("255 colours: 8x8 block error %.2f, pixel error %.2f\n", db, dp);
    assert_true(db < 1.0);
    assert_true(dp < 6.0);   /* cells of ~19 levels on a 362 x 252 plane */
    /* Rows may be mapped one at a time into a narrower image (the encoder
     * re-dithers a changed rectangle): the same rows give the same
     * indexes whether mapped alone or through _image. */
    uint8_t row[W];
    kn_palette_mapper_start(m, W);
    kn_palette_mapper_row(m, img, row);
    assert_memory_equal(row, idx, W);
    kn_palette_mapper_row(m, img + W * 4, row);
    assert_memory_equal(row, idx + W, W);
    kn_palette_mapper_start(m, 10);   /* narrower than max: fine */
    kn_palette_mapper_row(m, img, row);
    kn_palette_mapper_destroy(m);
    kn_palette_hist_destroy(h);
    free(img);
    free(idx);
    free(plain);
}

/* An I420 frame goes in through libyuv's inverse conversion: a flat red
 * frame is one colour, red as BT.601 limited range gives it back. */
static void test_i420(void **state)
{
    (void)state;
    enum { W = 32, H = 16 };
    uint8_t argb[W * H * 4], y[W * H], u[W * H / 4], v[W * H / 4];
    for (int i = 0; i < W * H; i++) put(argb, i, 0xFF0000);
    assert_int_equal(ARGBToI420(argb, W * 4, y, W, u, W / 2, v, W / 2, W, H), 0);
    kn_palette_hist *h = NULL;
    kn_err err;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    const uint8_t *pl[3] = {y, u, v};
    int st[3] = {W, W / 2, W / 2};
    assert_int_equal(kn_palette_hist_add_i420(h, pl, st, W, H, &err), KN_OK);
    assert_int_equal(kn_palette_hist_add_i420(h, pl, st, W, H - 1, &err), KN_OK);   /* odd height */
    assert_int_equal(kn_palette_hist_pixels(h), (uint64_t)W * (2 * H - 1));
    kn_palette p = build(h, 255);
    assert_int_equal(p.n, 1);
    uint8_t back[16];
    assert_int_equal(I420ToARGB(y, W, u, W / 2, v, W / 2, back, 8, 2, 2), 0);
    assert_int_equal(p.argb[0] & 0xFFFFFF, get(back, 0));
    assert_true(chan(p.argb[0], 0) >= 250 && chan(p.argb[0], 1) <= 4 && chan(p.argb[0], 2) <= 4);
    kn_palette_hist_destroy(h);
}

static void test_errors(void **state)
{
    (void)state;
    kn_palette_hist *h = NULL;
    kn_err err;
    kn_palette p;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    assert_int_equal(kn_palette_build(h, 255, &p, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "no pixels"));
    uint8_t px[4] = {1, 2, 3, 255};
    kn_palette_hist_add_argb(h, px, 4, 1, 1);
    assert_int_equal(kn_palette_build(h, 0, &p, &err), KN_EINVAL);
    assert_int_equal(kn_palette_build(h, 257, &p, &err), KN_EINVAL);
    assert_int_equal(kn_palette_build(h, 1, &p, &err), KN_OK);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.argb[0], 0xFF030201u);
    assert_int_equal(kn_palette_hist_add_i420(h, NULL, NULL, 2, 2, &err), KN_EINVAL);
    kn_palette_mapper *m = (kn_palette_mapper *)&p;
    kn_palette bad = {.n = 0};
    assert_int_equal(kn_palette_mapper_create(&bad, 16, &m, &err), KN_EINVAL);
    assert_null(m);
    assert_int_equal(kn_palette_mapper_create(&p, 0, &m, &err), KN_EINVAL);
    kn_palette_hist_destroy(h);
    kn_palette_hist_destroy(NULL);
    kn_palette_mapper_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_few_colours_exact),
        cmocka_unit_test(test_clusters),
        cmocka_unit_test(test_dithered_gradient),
        cmocka_unit_test(test_i420),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
