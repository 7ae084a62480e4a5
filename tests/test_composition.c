/*
 * tests/test_composition.c - compositions nested twice, each with its own
 * start and speed, show the inner frame the time mapping says; a scaled
 * composition fits its box; nested documents keep their own ids and report
 * errors with pointers into the nested document.
 *
 * The innermost clip draws a 2 px white bar at x = 2 * frame on black, so
 * the bar's position in the final picture reads back which inner frame was
 * shown. Expected frames are computed here from the spec's rule: local time
 * (t - start) * speed, that clip's frame floor(local * fps), held at the
 * first and last frame outside the clip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render/render.h"

#define INNER "{\"width\": 32, \"height\": 32, \"fps\": 10, \"duration\": 1," \
    " \"elements\": [{\"id\": \"bar\", \"type\": \"rect\", \"x\": \"=2*frame\", \"y\": 0," \
    " \"width\": 2, \"height\": 32, \"fill\": \"#ffffff\"}]}"

#define MIDDLE "{\"width\": 64, \"height\": 64, \"fps\": 10, \"duration\": 2," \
    " \"elements\": [{\"id\": \"bar\", \"type\": \"composition\", \"x\": 0, \"y\": 0," \
    " \"width\": 32, \"height\": 32, \"start\": 0.5, \"speed\": 2, \"document\": " INNER "}]}"

static const char *TOP =
    "{\"width\": 128, \"height\": 128, \"fps\": 10, \"duration\": 3,"
    " \"elements\": [{\"type\": \"composition\", \"x\": 0, \"y\": 0, \"width\": 64, \"height\": 64,"
    " \"start\": 1, \"speed\": 0.5, \"document\": " MIDDLE "}]}";

static long clip_frame(double t, double start, double speed, double fps, long n)
{
    double f = floor((t - start) * speed * fps + 1e-9);
    if (f < 0) return 0;
    if (f > n - 1) return n - 1;
    return (long)f;
}

/* First white column on row y, or -1. */
static int bar_x(kn_renderer *r, int y)
{
    const uint8_t *px = kn_canvas_data(kn_renderer_canvas(r));
    int stride = kn_canvas_stride(kn_renderer_canvas(r));
    for (int x = 0; x < kn_renderer_doc(r)->width; x++)
        if (px[y * stride + 4 * x + 1] > 200) return x;
    return -1;
}

static void test_nested_time_mapping(void **state)
{
    (void)state;
    kn_renderer *r = NULL;
    kn_err err;
    if (kn_renderer_create(TOP, strlen(TOP), &r, &err) != KN_OK) fail_msg("%s: %s", err.path, err.msg);
    for (long i = 0; i < 30; i++) {
        double t = i / 10.0;
        long fb = clip_frame(t, 1, 0.5, 10, 20);
        long fc = clip_frame(fb / 10.0, 0.5, 2, 10, 10);
        assert_int_equal(kn_renderer_draw(r, i, &err), KN_OK);
        int x = bar_x(r, 16);
        if (x != 2 * fc) fail_msg("frame %ld: bar at %d, expected inner frame %ld (x = %ld)", i, x, fc, 2 * fc);
    }
    /* Outside the inner clip's box nothing is drawn. */
    assert_int_equal(bar_x(r, 40), -1);
    kn_renderer_destroy(r);
}

static void test_scaled_to_fit(void **state)
{
    (void)state;
    /* A 32x32 clip in a 64x96 box: scale 2 (fits the width), centred
     * vertically (offset 16). Inner frame 3 puts the bar at x 6..7, so
     * 12..15 after scaling. */
    const char *doc =
        "{\"width\": 96, \"height\": 128, \"fps\": 10, \"duration\": 1,"
        " \"elements\": [{\"type\": \"composition\", \"x\": 0, \"y\": 0, \"width\": 64, \"height\": 96,"
        " \"start\": -0.3, \"document\": " INNER "}]}";
    kn_renderer *r = NULL;
    kn_err err;
    if (kn_renderer_create(doc, strlen(doc), &r, &err) != KN_OK) fail_msg("%s: %s", err.path, err.msg);
    assert_int_equal(kn_renderer_draw(r, 0, &err), KN_OK);
    /* Smooth scaling blends the bar's outer edge pixels. */
    assert_in_range(bar_x(r, 40), 12, 13);
    const uint8_t *px = kn_canvas_data(kn_renderer_canvas(r));
    int stride = kn_canvas_stride(kn_renderer_canvas(r));
    assert_true(px[40 * stride + 4 * 14 + 1] > 200);
    assert_true(px[40 * stride + 4 * 10 + 1] < 50);
    assert_true(px[40 * stride + 4 * 17 + 1] < 50);
    /* The clip covers rows 16..79 only. */
    assert_int_equal(bar_x(r, 10), -1);
    assert_int_equal(bar_x(r, 90), -1);
    kn_renderer_destroy(r);
}

static void test_nested_errors(void **state)
{
    (void)state;
    kn_renderer *r = NULL;
    kn_err err;
    /* An error inside the nested document points into it. */
    const char *bad =
        "{\"width\": 64, \"height\": 64, \"fps\": 10, \"duration\": 1,"
        " \"elements\": [{\"type\": \"rect\", \"width\": 1, \"height\": 1},"
        "  {\"type\": \"composition\", \"document\": {\"width\": 32, \"height\": 32, \"fps\": 10,"
        "   \"duration\": 1, \"elements\": [{\"type\": \"circle\", \"r\": 2, \"fill\": \"nope\"}]}}]}";
    assert_int_equal(kn_renderer_create(bad, strlen(bad), &r, &err), KN_EINVAL);
    assert_string_equal(err.path, "/elements/1/document/elements/0/fill");
    /* No output in a nested document. */
    const char *out =
        "{\"width\": 64, \"height\": 64, \"fps\": 10, \"duration\": 1,"
        " \"elements\": [{\"type\": \"composition\", \"document\": {\"width\": 32, \"height\": 32,"
        "  \"fps\": 10, \"duration\": 1, \"output\": {\"format\": \"mp4\"}}}]}";
    assert_int_equal(kn_renderer_create(out, strlen(out), &r, &err), KN_EINVAL);
    assert_string_equal(err.path, "/elements/0/document/output");
    /* Ids are per document: the same id inside and outside is fine, and a
     * parent's timeline cannot reach into the nested document. */
    const char *ids =
        "{\"width\": 64, \"height\": 64, \"fps\": 10, \"duration\": 1,"
        " \"elements\": [{\"id\": \"bar\", \"type\": \"composition\", \"document\": " INNER "}],"
        " \"timeline\": {\"set\": {\"bar.width\": 10}}}";
    assert_int_equal(kn_renderer_create(ids, strlen(ids), &r, &err), KN_OK);
    kn_renderer_destroy(r);
    const char *missing =
        "{\"width\": 64, \"height\": 64, \"fps\": 10, \"duration\": 1,"
        " \"elements\": [{\"type\": \"composition\", \"speed\": 0, \"document\": " INNER "}]}";
    assert_int_equal(kn_renderer_create(missing, strlen(missing), &r, &err), KN_EINVAL);
    assert_string_equal(err.path, "/elements/0/speed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_time_mapping),
        cmocka_unit_test(test_scaled_to_fit),
        cmocka_unit_test(test_nested_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
