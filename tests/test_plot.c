/*
 * tests/test_plot.c - the plot element (spec 8) end to end through the
 * parser, the frame evaluator and the drawing code: where data lands in
 * pixels, which ticks the axes get (against render/ticks.h called
 * directly), per-frame titles and series data, non-finite data, the other
 * series types and the 400s for bad plot fields.
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

#include "lang/cmap.h"
#include "render/plot.h"
#include "common/log.h"
#include "render/render.h"

#define W 200
#define H 200
/* The axes area of a plot filling the 200x200 frame (matplotlib margins). */
#define AX_L (0.125 * W)
#define AX_R (0.9 * W)
#define AX_T ((1 - 0.88) * H)
#define AX_B ((1 - 0.11) * H)

static kn_renderer *make(const char *doc)
{
    kn_renderer *r = NULL;
    kn_err err;
    if (kn_renderer_create(doc, strlen(doc), &r, &err) != KN_OK)
        fail_msg("%s: %s", err.path, err.msg);
    return r;
}

static const uint8_t *draw(kn_renderer *r, long frame)
{
    kn_err err;
    if (kn_renderer_draw(r, frame, &err) != KN_OK) fail_msg("%s", err.msg);
    return kn_canvas_data(kn_renderer_canvas(r));
}

static const uint8_t *px(kn_renderer *r, int x, int y)
{
    return kn_canvas_data(kn_renderer_canvas(r)) + y * kn_canvas_stride(kn_renderer_canvas(r)) +
           x * 4;
}

static int reddish(const uint8_t *p)   /* B G R A */
{
    return p[2] > 150 && p[1] < 120 && p[0] < 120;
}

/* The row of column x whose pixel is most red, or -1. */
static int red_row(kn_renderer *r, int x)
{
    int best = -1, score = 0;
    for (int y = 0; y < H; y++) {
        const uint8_t *p = px(r, x, y);
        int s = p[2] - (p[1] + p[0]) / 2;
        if (s > score) { score = s; best = y; }
    }
    return score > 60 ? best : -1;
}

#define HEAD "{\"width\":200,\"height\":200,\"fps\":10,\"duration\":1,\"background\":\"#000000\","

static void test_diagonal(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,"
                          "\"height\":200,\"xlim\":[0,1],\"ylim\":[0,1],\"series\":[{\"id\":"
                          "\"line1\",\"type\":\"line\",\"x\":{\"linspace\":[0,1,101]},\"y\":\"=x\","
                          "\"color\":\"#ff0000\",\"width\":2}]}]}");
    draw(r, 0);
    /* White figure (light style) around the axes. */
    assert_true(px(r, 2, 2)[0] == 255 && px(r, 2, 2)[1] == 255 && px(r, 2, 2)[2] == 255);
    const double us[] = { 0.1, 0.3, 0.5, 0.7, 0.9 };
    for (size_t k = 0; k < sizeof us / sizeof us[0]; k++) {
        double fx = AX_L + us[k] * (AX_R - AX_L), fy = AX_B - us[k] * (AX_B - AX_T);
        int row = red_row(r, (int)fx);
        assert_true(row >= 0);
        /* Pixel row row covers [row, row + 1); the line's centre at fx. */
        double want = fy + (floor(fx) + 0.5 - fx) * -(AX_B - AX_T) / (AX_R - AX_L);
        if (fabs(row + 0.5 - want) > 1.0) fail_msg("x=%g: row %d, want %g", fx, row, want);
    }
    /* Clipped to the axes: nothing red left of the y axis or below the x axis. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < (int)AX_L - 1; x++) assert_false(reddish(px(r, x, y)));
    kn_renderer_destroy(r);
}

static void test_default_ticks_match_locator(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,"
                          "\"height\":200,\"series\":[{\"type\":\"line\",\"x\":[0,1,2,3],"
                          "\"y\":[3,-1,7.5,2]}]}]}");
    const kn_doc *d = kn_renderer_doc(r);
    kn_state *st = kn_state_create(d);
    assert_non_null(st);
    kn_state_eval_frame(st, 0);
    const kn_elem *el = &d->elements[0];
    for (int a = 0; a < 2; a++) {
        double view[2], t[KN_TICKS_MAX], want[KN_TICKS_MAX], lo, hi;
        char lab[KN_TICKS_MAX][KN_TICKS_LABEL_MAX];
        size_t n = kn_plot_axis(el, st, a, view, t, lab), nw = 0;
        if (a) kn_ticks_auto_limits(-1, 7.5, &lo, &hi);
        else kn_ticks_auto_limits(0, 3, &lo, &hi);
        assert_true(view[0] == lo && view[1] == hi);
        double len = a ? AX_B - AX_T : AX_R - AX_L;
        kn_tick_fmt fmt;
        assert_int_equal(kn_ticks_linear(lo, hi, kn_ticks_auto_count(len, 12, a, 0), want,
                                         KN_TICKS_MAX, &nw, &fmt, NULL), KN_OK);
        assert_true(nw >= 2);
        assert_int_equal(n, nw);
        for (size_t i = 0; i < n; i++) {
            char buf[KN_TICKS_LABEL_MAX];
            assert_true(t[i] == want[i]);
            assert_int_equal(kn_ticks_label(&fmt, want[i], 0, buf, sizeof buf, NULL), KN_OK);
            assert_string_equal(lab[i], buf);
        }
    }
    kn_state_destroy(st);
    kn_renderer_destroy(r);
}

static int region_differs(const uint8_t *a, const uint8_t *b, int stride, int x0, int y0, int x1,
                          int y1)
{
    for (int y = y0; y < y1; y++)
        if (memcmp(a + y * stride + x0 * 4, b + y * stride + x0 * 4, (size_t)(x1 - x0) * 4))
            return 1;
    return 0;
}

static void test_title_template_and_frame_data(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD "\"vars\":{\"f\":1},\"elements\":[{\"type\":\"plot\",\"x\":0,"
                          "\"y\":0,\"width\":200,\"height\":200,\"title\":\"F={f:.3f}\","
                          "\"xlim\":[0,1],\"ylim\":[0,1],\"series\":[{\"id\":\"line1\",\"type\":"
                          "\"line\",\"x\":[0,1],\"y\":[0,0.5],\"color\":\"red\"}]}],"
                          "\"timeline\":{\"tween\":{\"f\":[1,2]},\"duration\":1},"
                          "\"frames\":[{\"index\":5,\"set\":{\"line1.y\":[1,0]}}]}");
    int stride = kn_canvas_stride(kn_renderer_canvas(r));
    size_t bytes = (size_t)stride * H;
    uint8_t *f0 = malloc(bytes), *f1 = malloc(bytes);
    assert_non_null(f0);
    assert_non_null(f1);
    memcpy(f0, draw(r, 0), bytes);
    memcpy(f1, draw(r, 3), bytes);
    /* The title (above the axes) changes; the data does not. */
    assert_true(region_differs(f0, f1, stride, 0, 0, W, (int)AX_T - 1));
    assert_false(region_differs(f0, f1, stride, (int)AX_L + 2, (int)AX_T + 2, (int)AX_R - 2,
                                (int)AX_B - 2));
    /* Frame 5 replaces line1.y: the line now falls from top-left. */
    draw(r, 5);
    int x = (int)(AX_L + 0.25 * (AX_R - AX_L));
    int row = red_row(r, x);
    assert_true(row >= 0 && fabs(row + 0.5 - (AX_T + 0.25 * (AX_B - AX_T))) < 1.5);
    draw(r, 4);
    row = red_row(r, x);
    assert_true(row >= 0 && fabs(row + 0.5 - (AX_B - 0.125 * (AX_B - AX_T))) < 1.5);
    free(f0);
    free(f1);
    kn_renderer_destroy(r);
}

static void test_nonfinite_breaks_line(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,"
                          "\"height\":200,\"xlim\":[-1,1],\"ylim\":[0,1],\"series\":[{\"type\":"
                          "\"line\",\"x\":{\"linspace\":[-1,1,201]},\"y\":\"=sqrt(x)\",\"color\":"
                          "\"red\"}]}]}");
    draw(r, 0);
    int right = red_row(r, (int)(AX_L + 0.9 * (AX_R - AX_L)));
    assert_true(right >= 0);
    assert_int_equal(red_row(r, (int)(AX_L + 0.25 * (AX_R - AX_L))), -1);
    kn_renderer_destroy(r);
}

static void test_series_types(void **state)
{
    (void)state;
    /* Bars of width 0.8 centred on x = 0, 1, 2 from 0 up to 1 (ylim [0, 2]). */
    kn_renderer *r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,"
                          "\"height\":200,\"xlim\":[-0.5,2.5],\"ylim\":[0,2],\"series\":[{"
                          "\"type\":\"bar\",\"x\":[0,1,2],\"y\":[1,1,1],\"color\":\"red\"}]}]}");
    draw(r, 0);
    double sx = (AX_R - AX_L) / 3, ymid = AX_B - 0.25 * (AX_B - AX_T);
    assert_true(reddish(px(r, (int)(AX_L + 0.5 * sx), (int)ymid)));          /* x = 0 */
    assert_true(reddish(px(r, (int)(AX_L + 0.5 * sx + 0.35 * sx), (int)ymid)));
    assert_false(reddish(px(r, (int)(AX_L + 0.5 * sx + 0.45 * sx), (int)ymid)));   /* gap */
    assert_false(reddish(px(r, (int)(AX_L + 0.5 * sx), (int)(AX_B - 0.75 * (AX_B - AX_T)))));
    kn_renderer_destroy(r);

    /* Area: translucent fill under the line down to 0. */
    r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,\"height\":200,"
             "\"xlim\":[0,1],\"ylim\":[0,1],\"series\":[{\"type\":\"area\",\"x\":[0,1],"
             "\"y\":[0.5,0.5],\"color\":\"#ff0000\"}]}]}");
    draw(r, 0);
    const uint8_t *p = px(r, W / 2, (int)(AX_B - 0.25 * (AX_B - AX_T)));
    assert_in_range(p[2], 250, 255);               /* 0.3 red over white */
    assert_in_range(p[1], 170, 185);
    assert_true(px(r, W / 2, (int)(AX_B - 0.75 * (AX_B - AX_T)))[1] == 255);
    kn_renderer_destroy(r);

    /* Step (pre): y[1] = 1 already holds just right of x[0]. */
    r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,\"height\":200,"
             "\"xlim\":[0,2],\"ylim\":[0,2],\"series\":[{\"type\":\"step\",\"x\":[0,1,2],"
             "\"y\":[0,1,1],\"color\":\"red\"}]}]}");
    draw(r, 0);
    int row = red_row(r, (int)(AX_L + 0.25 * (AX_R - AX_L)));
    assert_true(row >= 0 && fabs(row + 0.5 - (AX_B - 0.5 * (AX_B - AX_T))) < 1.5);
    kn_renderer_destroy(r);

    /* Scatter: a filled disc of marker_size px, nothing between points. */
    r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,\"height\":200,"
             "\"xlim\":[0,1],\"ylim\":[0,1],\"series\":[{\"type\":\"scatter\",\"x\":[0.25,0.75],"
             "\"y\":[0.5,0.5],\"marker_size\":10,\"color\":\"red\"}]}]}");
    draw(r, 0);
    int cy = (int)(AX_B - 0.5 * (AX_B - AX_T));
    assert_true(reddish(px(r, (int)(AX_L + 0.25 * (AX_R - AX_L)), cy)));
    assert_false(reddish(px(r, W / 2, cy)));
    kn_renderer_destroy(r);
}

static void test_log_axis_and_legend(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,"
                          "\"height\":200,\"yscale\":\"log\",\"ylim\":[1,1000],\"legend\":"
                          "\"upper left\",\"series\":[{\"type\":\"line\",\"x\":[0,1],\"y\":[1,1000],"
                          "\"label\":\"data\",\"color\":\"red\"}]}]}");
    const kn_doc *d = kn_renderer_doc(r);
    kn_state *st = kn_state_create(d);
    kn_state_eval_frame(st, 0);
    double view[2], t[KN_TICKS_MAX];
    char lab[KN_TICKS_MAX][KN_TICKS_LABEL_MAX];
    size_t n = kn_plot_axis(&d->elements[0], st, 1, view, t, lab);
    assert_int_equal(n, 4);
    assert_true(t[0] == 1 && t[3] == 1000);
    assert_string_equal(lab[2], "10²");
    kn_state_destroy(st);
    draw(r, 0);
    /* On a log axis y = 10 is a third of the way up. */
    int row = red_row(r, (int)(AX_L + 0.9 * (AX_R - AX_L)));
    (void)row;
    double fx = AX_L + (1.0 / 3) * (AX_R - AX_L);
    row = red_row(r, (int)fx + 30);
    assert_true(row >= 0);
    /* The legend's red handle sits in the upper-left corner of the axes. */
    int found = 0;
    for (int y = (int)AX_T; y < (int)AX_T + 30; y++)
        for (int x = (int)AX_L; x < (int)AX_L + 40; x++) found |= reddish(px(r, x, y));
    assert_true(found);
    kn_renderer_destroy(r);
}

static void test_heatmap(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,"
                          "\"height\":200,\"series\":[{\"id\":\"hm\",\"type\":\"heatmap\","
                          "\"data\":[[0,1],[2,3]],\"cmap\":\"magma\",\"vmin\":0,\"vmax\":3,"
                          "\"colorbar\":true}]}],"
                          "\"frames\":[{\"index\":2,\"set\":{\"hm.data\":[[3,3],[3,3]]}}]}");
    draw(r, 0);
    /* With a colour bar the axes end at 0.75 of the width; row 0 on top. */
    double r1 = 0.75 * W;
    const double vals[2][2] = { { 0, 1 }, { 2, 3 } };
    for (int row = 0; row < 2; row++)
        for (int col = 0; col < 2; col++) {
            int x = (int)(AX_L + (col + 0.5) * (r1 - AX_L) / 2);
            int y = (int)(AX_T + (row + 0.5) * (AX_B - AX_T) / 2);
            double rgb[3];
            kn_cmap_sample(kn_cmap_lookup("magma"), vals[row][col] / 3, rgb);
            const uint8_t *p = px(r, x, y);
            assert_true(labs((long)p[2] - lround(rgb[0] * 255)) <= 1);
            assert_true(labs((long)p[1] - lround(rgb[1] * 255)) <= 1);
            assert_true(labs((long)p[0] - lround(rgb[2] * 255)) <= 1);
        }
    /* Per-frame data replaces the cells. */
    draw(r, 2);
    double rgb[3];
    kn_cmap_sample(kn_cmap_lookup("magma"), 1, rgb);
    const uint8_t *p = px(r, (int)(AX_L + 0.25 * (r1 - AX_L)), (int)(AX_T + 0.25 * (AX_B - AX_T)));
    assert_true(labs((long)p[2] - lround(rgb[0] * 255)) <= 1);
    kn_renderer_destroy(r);
}

static void expect_400(const char *elem_json, const char *path, const char *needle)
{
    char doc[2048];
    snprintf(doc, sizeof doc, HEAD "\"elements\":[%s]}", elem_json);
    kn_renderer *r = NULL;
    kn_err err;
    assert_int_equal(kn_renderer_create(doc, strlen(doc), &r, &err), KN_EINVAL);
    if (strcmp(err.path, path)) fail_msg("%s: path %s, want %s (%s)", elem_json, err.path, path, err.msg);
    if (needle && !strstr(err.msg, needle)) fail_msg("%s: message %s lacks %s", elem_json, err.msg, needle);
}

#define PLOT "{\"type\":\"plot\",\"width\":100,\"height\":100,"

static void test_errors(void **state)
{
    (void)state;
    expect_400(PLOT "\"series\":[{\"type\":\"pie\",\"y\":[1]}]}", "/elements/0/series/0/type",
               "unknown series type \"pie\"");
    expect_400(PLOT "\"series\":[{\"type\":\"line\"}]}", "/elements/0/series/0/y", "missing");
    expect_400(PLOT "\"series\":[{\"type\":\"line\",\"x\":[1,2],\"y\":[1]}]}",
               "/elements/0/series/0/y", "same length");
    expect_400(PLOT "\"series\":[{\"type\":\"line\",\"y\":\"=x\"}]}", "/elements/0/series/0/x",
               "missing");
    expect_400(PLOT "\"series\":[{\"type\":\"line\",\"y\":[1],\"colour\":\"red\"}]}",
               "/elements/0/series/0/colour", "unknown field");
    expect_400(PLOT "\"series\":[{\"type\":\"line\",\"y\":[1],\"color\":\"nope\"}]}",
               "/elements/0/series/0/color", NULL);
    expect_400(PLOT "\"series\":[{\"type\":\"line\",\"y\":[1, \"a\"]}]}",
               "/elements/0/series/0/y/1", NULL);
    expect_400(PLOT "\"series\":[{\"type\":\"scatter\",\"y\":[1],\"marker\":\"*\"}]}",
               "/elements/0/series/0/marker", NULL);
    expect_400(PLOT "\"xlim\":[1]}", "/elements/0/xlim", "[lo, hi]");
    expect_400(PLOT "\"ylim\":\"tight\"}", "/elements/0/ylim", NULL);
    expect_400(PLOT "\"xscale\":\"symlog\"}", "/elements/0/xscale", "linear, log");
    expect_400(PLOT "\"legend\":\"middle\"}", "/elements/0/legend", NULL);
    expect_400(PLOT "\"style\":\"neon\"}", "/elements/0/style", NULL);
    expect_400(PLOT "\"grid\":1}", "/elements/0/grid", NULL);
    expect_400(PLOT "\"ticks\":{\"z\":[1]}}", "/elements/0/ticks/z", NULL);
    expect_400(PLOT "\"fill\":\"red\"}", "/elements/0/fill", "colours come from its style and series");
    expect_400("{\"type\":\"group\",\"stroke\":\"red\",\"children\":[]}", "/elements/0/stroke", "no paint of its own");
    expect_400("{\"type\":\"composition\",\"fill\":\"red\",\"document\":{\"width\":16,\"height\":16,\"fps\":1,\"duration\":1}}", "/elements/0/fill", "no paint of its own");
    expect_400("{\"type\":\"plot\",\"width\":100}", "/elements/0/height", "missing");
    expect_400(PLOT "\"id\":\"a\",\"series\":[{\"id\":\"a\",\"type\":\"line\",\"y\":[1]}]}",
               "/elements/0/series/0/id", "duplicate");
    expect_400(PLOT "\"series\":[{\"type\":\"heatmap\",\"data\":[[1,2],[3]]}]}",
               "/elements/0/series/0/data/1", NULL);
    expect_400(PLOT "\"series\":[{\"type\":\"heatmap\",\"data\":[[1]],\"cmap\":\"jet\"}]}",
               "/elements/0/series/0/cmap", "viridis");
    /* A log axis shows positive values only, and no heatmap. */
    expect_400(PLOT "\"yscale\":\"log\",\"ylim\":[0,10]}", "/elements/0/ylim", "must be positive");
    expect_400(PLOT "\"xscale\":\"log\",\"xlim\":[-1,10]}", "/elements/0/xlim", "must be positive");
    expect_400(PLOT "\"yscale\":\"log\",\"ticks\":{\"y\":[1,0]}}", "/elements/0/ticks/y/1",
               "must be positive");
    expect_400(PLOT "\"xscale\":\"log\",\"series\":[{\"type\":\"heatmap\",\"data\":[[1]]}]}",
               "/elements/0/series/0", "linear axes");
    /* A heatmap's side is capped, and per-frame data keeps its cell count. */
    {
        char big[80000];
        int n = snprintf(big, sizeof big, PLOT "\"series\":[{\"type\":\"heatmap\",\"data\":[[");
        for (int i = 0; i < KN_HEATMAP_MAX_SIDE + 1; i++) n += snprintf(big + n, sizeof big - (size_t)n, "%s0", i ? "," : "");
        snprintf(big + n, sizeof big - (size_t)n, "]]}]}");
        char doc[90000];
        snprintf(doc, sizeof doc, HEAD "\"elements\":[%s]}", big);
        kn_renderer *r = NULL;
        kn_err err;
        assert_int_equal(kn_renderer_create(doc, strlen(doc), &r, &err), KN_ETOOBIG);
        assert_string_equal(err.path, "/elements/0/series/0/data");
    }

    /* Targets: series properties resolve; unknown ones are 400s; a computed
     * y cannot be a target. */
    const char *bad = HEAD "\"elements\":[" PLOT "\"series\":[{\"id\":\"s\",\"type\":\"line\","
                      "\"y\":[1,2]}]}],\"frames\":[{\"index\":0,\"set\":{\"s.z\":1}}]}";
    kn_renderer *r = NULL;
    kn_err err;
    assert_int_equal(kn_renderer_create(bad, strlen(bad), &r, &err), KN_EINVAL);
    assert_string_equal(err.path, "/frames/0/set/s.z");
    bad = HEAD "\"elements\":[" PLOT "\"series\":[{\"id\":\"s\",\"type\":\"line\",\"x\":[1,2],"
          "\"y\":\"=x\"}]}],\"frames\":[{\"index\":0,\"set\":{\"s.y\":[1,2]}}]}";
    assert_int_equal(kn_renderer_create(bad, strlen(bad), &r, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "computed by an expression"));
    bad = HEAD "\"elements\":[" PLOT "\"series\":[{\"id\":\"h\",\"type\":\"heatmap\","
          "\"data\":[[1,2],[3,4]]}]}],\"frames\":[{\"index\":0,\"set\":{\"h.data\":[1,2,3]}}]}";
    assert_int_equal(kn_renderer_create(bad, strlen(bad), &r, &err), KN_EINVAL);
    assert_string_equal(err.path, "/frames/0/set/h.data");
    assert_non_null(strstr(err.msg, "keeps its shape"));
}

/* Limits and series data animate like any property: at t = 0.5 of a
 * 1 s tween, xlim is [0, 1.5] and y is halfway between [0, 0] and [0, 1]. */
static void test_tweened_limits_and_data(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD "\"elements\":[{\"id\":\"chart\",\"type\":\"plot\",\"x\":0,\"y\":0,"
        "\"width\":200,\"height\":200,\"xlim\":[0,1],\"ylim\":[0,1],\"series\":[{\"id\":\"line1\","
        "\"type\":\"line\",\"color\":\"red\",\"width\":2,\"x\":[0,1],\"y\":[0,0]}]}],"
        "\"timeline\":{\"tween\":{\"chart.xlim\":[0,2],\"line1.y\":[0,1]},\"duration\":1}}");
    draw(r, 5);
    int top = 200 - (int)(0.88 * 200), bottom = 200 - (int)(0.11 * 200);
    /* data x = 0.75 is the middle of [0, 1.5]; y there is 0.75 * 0.5. */
    int col = (int)(25 + 155 * 0.5);
    double want = bottom - (bottom - top) * 0.375;
    int row = red_row(r, col);
    if (row < want - 2 || row > want + 2) fail_msg("line at row %d, expected about %.1f", row, want);
    /* Past data x = 1 (two thirds across) nothing is drawn. */
    assert_int_equal(red_row(r, (int)(25 + 155 * 0.8)), -1);
    kn_renderer_destroy(r);
}

/* A million points: every extremum survives the per-column decimation. One
 * point reaches the top and one the bottom among a million zeros; both
 * spikes must be drawn, and the frame must stay cheap to draw. */
static void test_million_points_keep_extrema(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":200,"
        "\"height\":200,\"xlim\":[0,1],\"ylim\":[-1,1],\"series\":[{\"type\":\"line\","
        "\"color\":\"red\",\"x\":{\"linspace\":[0,1,1000000]},"
        "\"y\":\"=i == 500000 ? 1 : (i == 700001 ? -1 : 0)\"}]}]}");
    double t0 = kn_mono();
    draw(r, 0);
    double dt = kn_mono() - t0;
    /* Axes box: 0.125..0.9 of 200 across, 0.12..0.89 of 200 down. */
    int top = 200 - (int)(0.88 * 200), bottom = 200 - (int)(0.11 * 200);
    int cx_max = (int)(25 + 155 * 0.5), cx_min = (int)(25 + 155 * 0.700001);
    int hit_top = 0, hit_bottom = 0;
    for (int x = cx_max - 1; x <= cx_max + 1; x++)
        for (int y = top; y < top + 4; y++) hit_top |= reddish(px(r, x, y));
    for (int x = cx_min - 1; x <= cx_min + 1; x++)
        for (int y = bottom - 4; y <= bottom; y++) hit_bottom |= reddish(px(r, x, y));
    assert_true(hit_top);
    assert_true(hit_bottom);
    /* Away from the spikes the line sits on y = 0 (the middle). */
    assert_int_equal(red_row(r, 50) >= 98 && red_row(r, 50) <= 102, 1);
    /* Evaluating a million expressions dominates; drawing is decimated. */
    /* Speed is the benchmark's business (bench/); a hang still hits the
     * test's timeout. */
    print_message("a million-point frame took %.2f s\n", dt);
    kn_renderer_destroy(r);
}

/* The y view and the outcome of drawing frame 0 of a one-plot document:
 * kn_renderer_draw fails when cr ends in an error state. */
static void y_view(const char *doc, double view[2])
{
    kn_renderer *r = make(doc);
    kn_err err;
    if (kn_renderer_draw(r, 0, &err) != KN_OK) fail_msg("%s\n  drawing failed: %s", doc, err.msg);
    const kn_doc *d = kn_renderer_doc(r);
    kn_state *st = kn_state_create(d);
    assert_non_null(st);
    kn_state_eval_frame(st, 0);
    double t[KN_TICKS_MAX];
    kn_plot_axis(&d->elements[0], st, 1, view, t, NULL);
    kn_state_destroy(st);
    kn_renderer_destroy(r);
}

#define PLOT200 "\"elements\":[{\"type\":\"plot\",\"id\":\"p\",\"x\":0,\"y\":0,\"width\":200," \
                "\"height\":200,"

/* Bars or areas of zeros, or of no finite value, used to give y limits
 * [0, 0] and a failed frame ("invalid matrix"). matplotlib 3.6.3 shows
 * (-0.055, 0.055) for ax.bar([0,1,2],[0,0,0]), fill_between of zeros and
 * all-NaN series alike, and (1.95, 3.05) for NaN bars next to a line from 2
 * to 3 (0 is no edge of that data, so it is not sticky). */
static void test_flat_and_empty_data_limits(void **state)
{
    (void)state;
    static const char *const series[] = {
        "{\"type\":\"bar\",\"x\":[1,2,3],\"y\":[0,0,0]}",
        "{\"type\":\"area\",\"x\":[0,1],\"y\":[0,0]}",
        "{\"type\":\"area\",\"x\":[0,1],\"y\":\"=sqrt(-1)\"}",
        "{\"type\":\"bar\",\"x\":[1,2,3],\"y\":\"=0/0\"}",
        "{\"type\":\"line\",\"x\":[0,1],\"y\":\"=1/0\"}",
        "{\"type\":\"scatter\",\"x\":[],\"y\":[]}",
    };
    char doc[1024];
    double v[2];
    for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
        snprintf(doc, sizeof doc, HEAD PLOT200 "\"series\":[%s]}]}", series[i]);
        y_view(doc, v);
        if (fabs(v[0] + 0.055) > 1e-15 || fabs(v[1] - 0.055) > 1e-15)
            fail_msg("%s: y view [%.17g, %.17g]", series[i], v[0], v[1]);
    }
    /* Only xlim given: the y axis is still auto. */
    y_view(HEAD PLOT200 "\"xlim\":[0,4],\"series\":[{\"type\":\"bar\",\"x\":[1,2,3],"
           "\"y\":\"=0/0\"}]}]}", v);
    assert_true(v[0] < 0 && v[1] > 0);
    y_view(HEAD PLOT200 "\"series\":[{\"type\":\"bar\",\"x\":[1,2,3],\"y\":\"=0/0\"},"
           "{\"type\":\"line\",\"x\":[0,1],\"y\":[2,3]}]}]}", v);
    assert_true(v[0] == 1.95 && v[1] == 3.05);
    /* Bars still stand on 0 when they have height. */
    y_view(HEAD PLOT200 "\"series\":[{\"type\":\"bar\",\"x\":[1,2,3],\"y\":[5,5,5]}]}]}", v);
    assert_true(v[0] == 0 && v[1] == 5.25);
    /* A plot with no series at all: matplotlib's empty axes, [0, 1]. */
    y_view(HEAD PLOT200 "\"title\":\"x\"}]}", v);
    assert_true(v[0] == 0 && v[1] == 1);

    /* The animation that hit it: bars tweened up from zeros render. */
    kn_renderer *r = make(HEAD PLOT200 "\"series\":[{\"id\":\"b\",\"type\":\"bar\",\"x\":[1,2,3],"
                          "\"y\":[0,0,0],\"color\":\"red\"}]}],"
                          "\"timeline\":{\"tween\":{\"b.y\":[3,5,4]},\"duration\":1}}");
    draw(r, 0);
    draw(r, 5);
    /* Halfway the middle bar is 2.5 of a 0..2.625 view: red at its foot. */
    assert_true(reddish(px(r, W / 2, (int)AX_B - 3)));
    kn_renderer_destroy(r);
}

/* Inputs at the edges of the double range: drawing must never leave cr in
 * an error state (the renderer then fails the frame). */
static void test_extreme_inputs_draw(void **state)
{
    (void)state;
    static const char *const plots[] = {
        "\"series\":[{\"type\":\"line\",\"x\":[0,1],\"y\":[-1.7e308,1.7e308]}]",
        "\"series\":[{\"type\":\"bar\",\"x\":[0,1],\"y\":[1e308,1.7e308]}]",
        "\"series\":[{\"type\":\"area\",\"x\":[-1.7e308,1.7e308],\"y\":[1.7e308,-1.7e308]}]",
        "\"series\":[{\"type\":\"scatter\",\"x\":[5e-324,1e-323],\"y\":[0,5e-324]}]",
        "\"series\":[{\"type\":\"heatmap\",\"data\":[[1.7e308,1.7e308]],\"colorbar\":true}]",
        "\"series\":[{\"type\":\"heatmap\",\"data\":[[1e308,-1e308],[0,1]],\"colorbar\":true}]",
        "\"series\":[{\"type\":\"heatmap\",\"data\":[[0,0]],\"colorbar\":true}]",
        "\"yscale\":\"log\",\"ylim\":[1e300,1.0000000000000002e300]",
        "\"yscale\":\"log\",\"series\":[{\"type\":\"line\",\"x\":[0,1],\"y\":[5e-324,1.7e308]}]",
        "\"ylim\":[1.7e308,1.7e308],\"xlim\":[-1.7e308,-1.7e308]",
        "\"ylim\":[5e-324,5e-324]",
    };
    char doc[1024];
    double v[2];
    for (size_t i = 0; i < sizeof plots / sizeof plots[0]; i++) {
        snprintf(doc, sizeof doc, HEAD PLOT200 "%s}]}", plots[i]);
        y_view(doc, v);
        assert_true(isfinite(v[0]) && isfinite(v[1]) && v[0] != v[1]);
    }
}

/* Data near +-DBL_MAX: the line reaches from the bottom to the top of the
 * axes, the y axis has ticks, and a heatmap still maps those values to the
 * ends of its colormap. */
static void test_huge_values(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD PLOT200 "\"series\":[{\"type\":\"line\",\"x\":[0,1],"
                          "\"y\":[-1.7e308,1.7e308],\"color\":\"red\"}]}]}");
    draw(r, 0);
    const kn_doc *d = kn_renderer_doc(r);
    kn_state *st = kn_state_create(d);
    kn_state_eval_frame(st, 0);
    double view[2], t[KN_TICKS_MAX];
    char lab[KN_TICKS_MAX][KN_TICKS_LABEL_MAX];
    size_t n = kn_plot_axis(&d->elements[0], st, 1, view, t, lab);
    assert_true(n >= 3);
    assert_true(view[0] < -1.7e308 && view[1] > 1.7e308);
    /* Mantissas, the power 10^308 in the corner. */
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(strtod(lab[i], NULL) * 1e306 - t[i] / 100) <= 1e-9 * 1e306);
    kn_state_destroy(st);
    /* At x = 1/2 the line crosses y = 0, the middle of the axes. */
    int row = red_row(r, (int)((AX_L + AX_R) / 2));
    assert_true(row >= 0 && fabs(row + 0.5 - (AX_T + AX_B) / 2) < 2);
    kn_renderer_destroy(r);

    r = make(HEAD PLOT200 "\"series\":[{\"type\":\"heatmap\",\"data\":[[1e308,-1e308],[0,1]],"
             "\"cmap\":\"viridis\"}]}]}");
    draw(r, 0);
    const double u[2][2] = { { 1, 0 }, { 0.5, 0.5 } };
    for (int rr = 0; rr < 2; rr++)
        for (int cc = 0; cc < 2; cc++) {
            double rgb[3];
            kn_cmap_sample(kn_cmap_lookup("viridis"), u[rr][cc], rgb);
            const uint8_t *p = px(r, (int)(AX_L + (cc + 0.5) * (AX_R - AX_L) / 2),
                                  (int)(AX_T + (rr + 0.5) * (AX_B - AX_T) / 2));
            if (labs((long)p[2] - lround(rgb[0] * 255)) > 1 ||
                labs((long)p[1] - lround(rgb[1] * 255)) > 1 ||
                labs((long)p[0] - lround(rgb[2] * 255)) > 1)
                fail_msg("cell %d,%d: %d %d %d, expected cmap(%g)", rr, cc, p[2], p[1], p[0],
                         u[rr][cc]);
        }
    kn_renderer_destroy(r);
}

/* A million bars (far narrower than a pixel) draw in well under a second
 * at 1080p, decimated per pixel column without losing an extremum: one bar
 * reaches the top and one the bottom among a million bars of 0.3 sin(100 x)
 * (bars on both sides of 0 are what made one path of overlapping
 * rectangles take Cairo minutes). */
static void test_million_bars(void **state)
{
    (void)state;
    kn_renderer *r = make("{\"width\":1920,\"height\":1080,\"fps\":10,\"duration\":1,"
        "\"background\":\"#000000\",\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,"
        "\"width\":1920,\"height\":1080,\"xlim\":[0,1],\"ylim\":[-1,1],\"series\":[{"
        "\"type\":\"bar\",\"color\":\"red\",\"x\":{\"linspace\":[0,1,1000000]},"
        "\"y\":\"=i == 500000 ? 1 : (i == 700001 ? -1 : 0.3 * sin(100 * x))\"}]}]}");
    kn_err err;
    double t0 = kn_mono();
    if (kn_renderer_draw(r, 0, &err) != KN_OK) fail_msg("%s", err.msg);
    double dt = kn_mono() - t0;
    const uint8_t *base = kn_canvas_data(kn_renderer_canvas(r));
    int stride = kn_canvas_stride(kn_renderer_canvas(r));
#define PX(x, y) (base + (y) * stride + (x) * 4)
    double l = 0.125 * 1920, rr = 0.9 * 1920, top = 0.12 * 1080, bot = 0.89 * 1080;
    double mid = (top + bot) / 2, scale = (bot - top) / 2;   /* y = v at mid - v * scale */
    int cmax = (int)(l + 0.5 * (rr - l)), cmin = (int)(l + 0.700001 * (rr - l));
    int hit_top = 0, hit_bottom = 0;
    for (int x = cmax - 1; x <= cmax + 1; x++) hit_top |= reddish(PX(x, (int)top + 2));
    for (int x = cmin - 1; x <= cmin + 1; x++) hit_bottom |= reddish(PX(x, (int)bot - 2));
    assert_true(hit_top);
    assert_true(hit_bottom);
    /* Elsewhere each column is filled between 0 and its bars' heights and
     * nowhere beyond them (give or take the column's neighbours). */
    for (int x = (int)l + 2; x < (int)rr - 2; x += 7) {
        if (abs(x - cmax) < 3 || abs(x - cmin) < 3) continue;
        double u0 = (x - 1 - l) / (rr - l), u1 = (x + 2 - l) / (rr - l);
        double hc = 0.3 * sin(100 * (x + 0.5 - l) / (rr - l)), hmin = 0, hmax = 0;
        for (double u = u0; u <= u1; u += (u1 - u0) / 16) {
            hmin = fmin(hmin, 0.3 * sin(100 * u));
            hmax = fmax(hmax, 0.3 * sin(100 * u));
        }
        if (fabs(hc) > 0.05 && !reddish(PX(x, (int)(mid - hc / 2 * scale))))
            fail_msg("column %d: no bar halfway to %g", x, hc);
        if (reddish(PX(x, (int)(mid - hmax * scale) - 3)) ||
            reddish(PX(x, (int)(mid - hmin * scale) + 3)))
            fail_msg("column %d: red beyond [%g, %g]", x, hmin, hmax);
    }
#undef PX
    /* Evaluating a million expressions is part of it; bars were minutes. */
    print_message("a million-bar frame took %.2f s (before decimation: minutes)\n", dt);
    kn_renderer_destroy(r);
}

/* A 320x240 plot document whose scatter series together hold the same
 * 6000 pseudo-random points, split into nseries consecutive series of one
 * marker and colour (malloc'ed JSON). */
static char *scatter_doc(int nseries, char marker, const char *color, double size, double opacity)
{
    enum { NPTS = 6000 };
    size_t cap = NPTS * 24 + 1024, n = 0;
    char *d = malloc(cap);
    assert_non_null(d);
    n += (size_t)snprintf(d + n, cap - n, "{\"width\":320,\"height\":240,\"fps\":10,\"duration\":0.1,"
                          "\"elements\":[{\"type\":\"plot\",\"x\":0,\"y\":0,\"width\":320,"
                          "\"height\":240,\"opacity\":%g,\"xlim\":[0,1],\"ylim\":[0,1],\"series\":[",
                          opacity);
    int per = NPTS / nseries;
    for (int k = 0; k < nseries; k++) {
        n += (size_t)snprintf(d + n, cap - n, "%s{\"type\":\"scatter\",\"marker\":\"%c\","
                              "\"marker_size\":%g,\"color\":\"%s\"", k ? "," : "", marker, size, color);
        for (int axis = 0; axis < 2; axis++) {
            /* the same sequence for every split: restart it at point k*per */
            unsigned long long z = 88172645463325252ull + (unsigned long long)axis * 7919;
            for (int i = 0; i < k * per; i++) z ^= z << 13, z ^= z >> 7, z ^= z << 17;
            n += (size_t)snprintf(d + n, cap - n, ",\"%c\":[", axis ? 'y' : 'x');
            for (int i = 0; i < per; i++) {
                z ^= z << 13, z ^= z >> 7, z ^= z << 17;
                n += (size_t)snprintf(d + n, cap - n, "%s%.6f", i ? "," : "",
                                      (double)(z % 1000003) / 1000003 * 1.1 - 0.05);
            }
            n += (size_t)snprintf(d + n, cap - n, "]");
        }
        n += (size_t)snprintf(d + n, cap - n, "}");
    }
    snprintf(d + n, cap - n, "]}]}");
    assert_true(n + 5 < cap);
    return d;
}

/* Many markers are drawn from stamps (render/plot.c stamp_markers); the
 * reference is the same markers drawn one Cairo fill each, which is what a
 * series of fewer than 1024 markers gets: 6 series of 1000 in the same
 * order and colour against one series of the same 6000. */
static void test_stamped_markers_match_fills(void **state)
{
    (void)state;
    static const struct { char m; const char *color; double size, opacity; } C[] = {
        { 'o', "#1f77b4", 6, 1 }, { 's', "rgba(214, 39, 40, 0.5)", 5, 1 },
        { '^', "#2ca02c", 9, 0.6 }, { 'x', "rgba(0, 0, 0, 0.3)", 7, 1 }, { 'o', "#ff7f0e", 2.5, 1 },
    };
    for (size_t k = 0; k < sizeof C / sizeof C[0]; k++) {
        char *one = scatter_doc(1, C[k].m, C[k].color, C[k].size, C[k].opacity);
        char *six = scatter_doc(6, C[k].m, C[k].color, C[k].size, C[k].opacity);
        kn_renderer *ra = make(one), *rb = make(six);
        double t0 = kn_mono();
        const uint8_t *a = draw(ra, 0);
        double ta = kn_mono() - t0;
        t0 = kn_mono();
        const uint8_t *b = draw(rb, 0);
        double tb = kn_mono() - t0;
        int stride = kn_canvas_stride(kn_renderer_canvas(ra));
        long differ = 0, inked = 0;
        int dmax = 0;
        for (int y = 0; y < 240; y++)
            for (int x = 0; x < 320; x++) {
                const uint8_t *p = a + y * stride + 4 * x, *q = b + y * stride + 4 * x;
                int dd = 0;
                for (int c = 0; c < 4; c++) dd = abs(p[c] - q[c]) > dd ? abs(p[c] - q[c]) : dd;
                if (dd > dmax) dmax = dd;
                if (dd > 12) differ++;
                if (q[0] < 250 || q[1] < 250 || q[2] < 250) inked++;
            }
        print_message("marker %c size %g: %ld of %ld inked pixels differ by more than 12 (max %d); "
                      "stamps %.1f ms, fills %.1f ms\n", C[k].m, C[k].size, differ, inked, dmax,
                      ta * 1e3, tb * 1e3);
        assert_true(inked > 5000);
        /* a stamped marker is at most 1/32 px off its place: its edge pixels
         * change by up to about 15/255 (measured on Cairo 1.16) */
        assert_true(differ <= inked / 500);
        assert_true(dmax <= 24);
        /* and the stamps did run: one fill per marker would match exactly */
        assert_true(dmax > 0);
        kn_renderer_destroy(ra);
        kn_renderer_destroy(rb);
        free(one);
        free(six);
    }
}

/* Dark pixels (text) in the box [x0, x1) x [y0, y1). */
static int ink(kn_renderer *r, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const uint8_t *p = px(r, x, y);
            n += p[0] < 128 && p[1] < 128 && p[2] < 128;
        }
    return n;
}

/* A colour bar whose ticks are mantissas shows the power of ten above its
 * top, right-aligned with the bar, as matplotlib's does ("1e6" there). */
static void test_colorbar_multiplier(void **state)
{
    (void)state;
    /* The bar spans x 155..160 of the 200 px plot; the corner text goes
     * above the axes' top (y 24), right of the main axes' own corner. */
    int x0 = 110, x1 = 161, y0 = 4, y1 = (int)AX_T - 1;
    kn_renderer *r = make(HEAD PLOT200 "\"series\":[{\"type\":\"heatmap\",\"data\":[[2e6,7e6]],"
                          "\"colorbar\":true}]}]}");
    draw(r, 0);
    int big = ink(r, x0, y0, x1, y1);
    kn_renderer_destroy(r);
    r = make(HEAD PLOT200 "\"series\":[{\"type\":\"heatmap\",\"data\":[[2,7]],"
             "\"colorbar\":true}]}]}");
    draw(r, 0);
    int plain = ink(r, x0, y0, x1, y1);
    kn_renderer_destroy(r);
    assert_int_equal(plain, 0);
    if (big < 10) fail_msg("no x10^6 above the colour bar (%d dark pixels)", big);
}

/* A log axis viewing [2, 8] has no decade tick; matplotlib labels its minor
 * ticks 2x10^0, 3x10^0, 4x10^0 and 6x10^0 (5, 7, 8 get a tick mark only). */
static void test_log_within_decade(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD PLOT200 "\"yscale\":\"log\",\"ylim\":[2,8]}]}");
    draw(r, 0);
    const kn_doc *d = kn_renderer_doc(r);
    kn_state *st = kn_state_create(d);
    kn_state_eval_frame(st, 0);
    double t[KN_TICKS_MINOR_MAX], view[2], tm[KN_TICKS_MAX];
    char lab[KN_TICKS_MINOR_MAX][KN_TICKS_LABEL_MAX];
    assert_int_equal(kn_plot_axis(&d->elements[0], st, 1, view, tm, NULL), 0);
    size_t n = kn_plot_axis_minor(&d->elements[0], st, 1, t, lab);
    kn_state_destroy(st);
    static const char *const want[] = { "2\u00d710\u2070", "3\u00d710\u2070", "4\u00d710\u2070",
                                        "", "6\u00d710\u2070", "", "" };
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        assert_true(t[i] == (double)(i + 2));
        assert_string_equal(lab[i], want[i]);
        /* The label sits at the tick's row, left of the axis; 5, 7 and 8
         * have none. */
        double y = AX_B - log10(t[i] / 2) / log10(4) * (AX_B - AX_T);
        int text = ink(r, 0, (int)y - 2, (int)AX_L - 6, (int)y + 3);
        if (want[i][0] ? text == 0 : text != 0)
            fail_msg("tick %g: %d dark pixels beside it", t[i], text);
        /* A minor tick mark (2 px) left of the spine. */
        assert_true(ink(r, (int)AX_L - 2, (int)floor(y) - 1, (int)AX_L, (int)floor(y) + 2) ||
                    px(r, (int)AX_L - 2, (int)y)[0] < 200);
    }
    kn_renderer_destroy(r);
}

/* Heatmap data whose length is not rows x cols (a per-frame value can
 * bring one) draws nothing: no cut, no reshape, no read past the end. The
 * state is edited directly: validation may reject such documents. */
static void test_heatmap_wrong_length_draws_nothing(void **state)
{
    (void)state;
    kn_renderer *r = make(HEAD PLOT200 "\"xlim\":[-0.5,1.5],\"ylim\":[-0.5,0.5],\"series\":["
                          "{\"id\":\"h\",\"type\":\"heatmap\",\"data\":[[1,2]],\"colorbar\":true"
                          "}]}]}");
    const kn_doc *d = kn_renderer_doc(r);
    const kn_elem *el = &d->elements[0];
    kn_state *st = kn_state_create(d);
    kn_state_eval_frame(st, 0);
    kn_value *v = (kn_value *)kn_state_get(st, el->plot->series[0].slot_y);
    assert_true(v && v->type == KN_VT_ARRAY && v->n == 2);
    double *own = v->arr, longer[3] = { 5, 6, 7 };
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    for (int k = 0; k < 3; k++) {
        /* k 0: the real data; 1: three numbers; 2: one number. */
        v->arr = k == 1 ? longer : own;
        v->n = k == 1 ? 3 : k == 2 ? 1 : 2;
        cairo_t *cr = cairo_create(s);
        PangoLayout *ly = pango_cairo_create_layout(cr);
        kn_plot_draw(cr, ly, el, st);
        assert_int_equal(cairo_status(cr), CAIRO_STATUS_SUCCESS);
        g_object_unref(ly);
        cairo_destroy(cr);
        cairo_surface_flush(s);
        const uint8_t *p = cairo_image_surface_get_data(s) +
                           (size_t)(H / 2) * (size_t)cairo_image_surface_get_stride(s) +
                           (size_t)(AX_L + 10) * 4;
        int white = p[0] == 255 && p[1] == 255 && p[2] == 255;
        if (k == 0 ? white : !white)
            fail_msg("data of %zu numbers for a 1x2 heatmap: pixel %d %d %d", v->n, p[2], p[1],
                     p[0]);
    }
    v->arr = own;
    v->n = 2;
    cairo_surface_destroy(s);
    kn_state_destroy(st);
    kn_renderer_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_points_keep_extrema),
        cmocka_unit_test(test_tweened_limits_and_data),
        cmocka_unit_test(test_diagonal),
        cmocka_unit_test(test_default_ticks_match_locator),
        cmocka_unit_test(test_title_template_and_frame_data),
        cmocka_unit_test(test_nonfinite_breaks_line),
        cmocka_unit_test(test_series_types),
        cmocka_unit_test(test_log_axis_and_legend),
        cmocka_unit_test(test_heatmap),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_flat_and_empty_data_limits),
        cmocka_unit_test(test_extreme_inputs_draw),
        cmocka_unit_test(test_huge_values),
        cmocka_unit_test(test_million_bars),
        cmocka_unit_test(test_colorbar_multiplier),
        cmocka_unit_test(test_log_within_decade),
        cmocka_unit_test(test_heatmap_wrong_length_draws_nothing),
        cmocka_unit_test(test_stamped_markers_match_fills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
