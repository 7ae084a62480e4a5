/*
 * tests/test_stroke.c - render/stroke: a dashed path that runs mostly off
 * the surface, stroked as culled runs, paints what cairo_stroke paints (the
 * reference), and a path whose dashes Cairo would step through for hours
 * strokes in bounded work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/stroke.h"

enum { W = 160, H = 120 };

typedef void (*scene_fn)(cairo_t *cr);

/* Draws scene on a white W x H surface, stroking with cairo_stroke
 * (cull == 0) or kn_stroke_threshold(cr, 0) (cull == 1). */
static cairo_surface_t *draw(scene_fn scene, int cull, int *culled)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0.8, 0.1, 0.1);
    cairo_set_line_width(cr, 3);
    scene(cr);
    if (cull) {
        int c = kn_stroke_threshold(cr, 0);
        if (culled) *culled = c;
    } else {
        cairo_stroke(cr);
    }
    assert_int_equal(cairo_status(cr), CAIRO_STATUS_SUCCESS);
    assert_false(cairo_has_current_point(cr));   /* the path is consumed */
    cairo_destroy(cr);
    cairo_surface_flush(s);
    return s;
}

/* Pixels whose channels differ by more than 24 of 255 between the two
 * ways, and pixels the reference paints at all. */
static void compare(scene_fn scene, const char *name, int want_culled)
{
    int culled = -1;
    cairo_surface_t *ref = draw(scene, 0, NULL), *got = draw(scene, 1, &culled);
    const uint8_t *a = cairo_image_surface_get_data(ref), *b = cairo_image_surface_get_data(got);
    int stride = cairo_image_surface_get_stride(ref);
    long differ = 0, painted = 0;
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            const uint8_t *p = a + y * stride + 4 * x, *q = b + y * stride + 4 * x;
            int d = 0;
            for (int k = 0; k < 4; k++) d = abs(p[k] - q[k]) > d ? abs(p[k] - q[k]) : d;
            if (d > 24) differ++;
            if (p[0] != 255 || p[1] != 255 || p[2] != 255) painted++;
        }
    }
    print_message("%-28s culled %d, %ld of %ld painted pixels differ\n", name, culled, differ, painted);
    assert_int_equal(culled, want_culled);
    assert_true(painted > 50);   /* the scene shows something to compare */
    /* Only the dash phase can drift, by a fraction of a pixel from the
     * estimated lengths of the curves left out: a dash end's edge pixels. */
    assert_true(differ <= painted / 200);
    cairo_surface_destroy(ref);
    cairo_surface_destroy(got);
}

static void big_arc(cairo_t *cr)   /* the top of a circle 100x the frame */
{
    cairo_set_dash(cr, (double[]){ 6, 4 }, 2, 0);
    cairo_arc(cr, 80, 60 + 5000, 5000 - 10, 0, 2 * M_PI);
    cairo_new_sub_path(cr);
    cairo_arc(cr, 80, 60 + 700, 700 - 50, 0, 2 * M_PI);
}

static void round_caps_offset(cairo_t *cr)
{
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_dash(cr, (double[]){ 10, 5, 2, 5 }, 4, 7);
    cairo_arc(cr, -300, 60, 380, -1.4, 1.4);
}

static void long_line(cairo_t *cr)
{
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);
    cairo_set_dash(cr, (double[]){ 5, 3 }, 2, 0);
    cairo_move_to(cr, -10000, -2964);
    cairo_line_to(cr, 10000, 3036);
}

static void zigzag(cairo_t *cr)   /* in and out of the frame, miter joins */
{
    cairo_set_dash(cr, (double[]){ 8, 4 }, 2, 1.5);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_move_to(cr, -400, 30);
    for (int i = 0; i < 12; i++) cairo_line_to(cr, -300 + i * 70, i % 2 ? 200 : -60);
}

static void closed_triangle(cairo_t *cr)   /* starts off the frame */
{
    cairo_set_dash(cr, (double[]){ 9, 3 }, 2, 0);
    cairo_move_to(cr, -500, -400);
    cairo_line_to(cr, 120, 40);
    cairo_line_to(cr, 60, 900);
    cairo_close_path(cr);
}

static void rotated_ellipse(cairo_t *cr)
{
    cairo_set_dash(cr, (double[]){ 4, 2 }, 2, 0);
    cairo_translate(cr, 80, 60);
    cairo_rotate(cr, 0.4);
    cairo_scale(cr, 3, 1);
    cairo_arc(cr, 0, 300, 320, 0, 2 * M_PI);
    cairo_identity_matrix(cr);
}

static void odd_pattern(cairo_t *cr)
{
    cairo_set_dash(cr, (double[]){ 5 }, 1, 2);
    cairo_move_to(cr, 80, -2000);
    cairo_line_to(cr, 80, 2000);
    cairo_move_to(cr, -2000, 90);
    cairo_line_to(cr, 2000, 70);
}

static void beziers(cairo_t *cr)
{
    cairo_set_dash(cr, (double[]){ 7, 3 }, 2, 0);
    cairo_move_to(cr, -3000, 60);
    cairo_curve_to(cr, -1000, -400, 1000, 500, 3000, 60);   /* (0, 52) at t = 1/2 */
    cairo_curve_to(cr, 1000, 200, -800, -100, -2500, 90);   /* (137, 56) at t = 1/2 */
}

static void test_culled_matches_cairo(void **state)
{
    (void)state;
    compare(big_arc, "arcs of big circles", 1);
    compare(round_caps_offset, "round caps, offset 7", 1);
    compare(long_line, "line through the frame", 1);
    compare(zigzag, "zigzag in and out", 1);
    compare(closed_triangle, "closed triangle", 1);
    compare(rotated_ellipse, "rotated scaled ellipse", 1);
    compare(odd_pattern, "odd dash pattern", 1);
    compare(beziers, "long beziers", 1);
}

static void inside(cairo_t *cr)
{
    cairo_set_dash(cr, (double[]){ 3, 2 }, 2, 0);
    cairo_arc(cr, 80, 60, 40, 0, 2 * M_PI);
    cairo_close_path(cr);
}

static void solid_far(cairo_t *cr)
{
    cairo_arc(cr, 80, 60 + 5000, 5000 - 10, 0, 2 * M_PI);
}

/* What cannot gain is left to Cairo untouched: a path inside the frame,
 * a solid stroke. */
static void test_left_to_cairo(void **state)
{
    (void)state;
    int culled = -1;
    cairo_surface_t *s = draw(inside, 1, &culled);
    assert_int_equal(culled, 0);
    cairo_surface_destroy(s);
    s = draw(solid_far, 1, &culled);
    assert_int_equal(culled, 0);
    cairo_surface_destroy(s);
    /* and under the real threshold, a short dashed path off the frame */
    cairo_surface_t *t = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(t);
    cairo_set_dash(cr, (double[]){ 1, 1 }, 2, 0);
    cairo_move_to(cr, -100, 10);
    cairo_line_to(cr, 100, 10);
    assert_int_equal(kn_stroke_threshold(cr, KN_STROKE_CULL_DASHES), 0);
    cairo_destroy(cr);
    cairo_surface_destroy(t);
}

/* A circle of radius 1e6 whose top touches row 16 of a 32x32 frame, dash
 * [4, 4]: Cairo alone steps through 800k dashes (radius 1e12 took hours);
 * kn_stroke draws the dashes along row 16 and nothing else. */
static void test_huge_dashed_circle(void **state)
{
    (void)state;
    for (double r = 1e6; r <= 1e12; r *= 1e3) {
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 32, 32);
        cairo_t *cr = cairo_create(s);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 2);
        cairo_set_dash(cr, (double[]){ 4, 4 }, 2, 0);
        cairo_arc(cr, 16, 16 + r, r, 0, 2 * M_PI);
        kn_stroke(cr);
        assert_int_equal(cairo_status(cr), CAIRO_STATUS_SUCCESS);
        cairo_destroy(cr);
        cairo_surface_flush(s);
        if (r == 1e6) {
            const uint8_t *d = cairo_image_surface_get_data(s);
            int stride = cairo_image_surface_get_stride(s);
            int on = 0, switches = 0, prev = -1, stray = 0;
            for (int x = 0; x < 32; x++) {
                int a = d[16 * stride + 4 * x + 3] > 128;   /* alpha */
                on += a;
                if (prev >= 0 && a != prev) switches++;
                prev = a;
            }
            for (int y = 0; y < 32; y++)
                if (y < 14 || y > 17)
                    for (int x = 0; x < 32; x++) stray += d[y * stride + 4 * x + 3] != 0;
            assert_in_range(on, 12, 20);      /* about half of the row */
            assert_in_range(switches, 6, 9);  /* 4 on, 4 off across 32 px */
            assert_int_equal(stray, 0);
        }
        cairo_surface_destroy(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_culled_matches_cairo),
        cmocka_unit_test(test_left_to_cairo),
        cmocka_unit_test(test_huge_dashed_circle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
