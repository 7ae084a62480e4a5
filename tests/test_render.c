/*
 * tests/test_render.c - a document rendered frame by frame through one
 * long-lived kn_renderer (as a worker does, with its static-prefix cache)
 * must give exactly the pixels of a fresh renderer per frame, in any frame
 * order; and the I420 conversion must match BT.601 limited range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "render/render.h"

static const char *DOC =
    "{\"width\":96,\"height\":64,\"fps\":10,\"duration\":1,\"background\":\"#202020\","
    "\"elements\":["
    "  {\"type\":\"rect\",\"x\":4,\"y\":4,\"width\":40,\"height\":20,\"fill\":\"#3080ff\"},"
    "  {\"type\":\"text\",\"x\":48,\"y\":60,\"text\":\"axis\",\"size\":12,\"align\":\"center\"},"
    "  {\"id\":\"dot\",\"type\":\"circle\",\"cx\":10,\"cy\":32,\"r\":8,\"fill\":\"red\"},"
    "  {\"type\":\"rect\",\"x\":40,\"y\":20,\"width\":16,\"height\":24,\"fill\":\"rgba(0,255,0,0.5)\"}"
    "],"
    "\"timeline\":{\"tween\":{\"dot.cx\":[10,86]},\"duration\":1},"
    "\"frames\":[{\"index\":3,\"set\":{\"dot.fill\":\"#ffff00\"}}]}";

static size_t frame_bytes(kn_renderer *r)
{
    return (size_t)kn_canvas_stride(kn_renderer_canvas(r)) * (size_t)kn_renderer_doc(r)->height;
}

static void test_cached_prefix_matches_fresh(void **state)
{
    (void)state;
    kn_renderer *lived = NULL;
    kn_err err;
    assert_int_equal(kn_renderer_create(DOC, strlen(DOC), &lived, &err), KN_OK);
    const long order[] = {5, 0, 9, 3, 3, 7, 1};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        kn_renderer *fresh = NULL;
        assert_int_equal(kn_renderer_create(DOC, strlen(DOC), &fresh, &err), KN_OK);
        assert_int_equal(kn_renderer_draw(lived, order[k], &err), KN_OK);
        assert_int_equal(kn_renderer_draw(fresh, order[k], &err), KN_OK);
        assert_memory_equal(kn_canvas_data(kn_renderer_canvas(lived)),
                            kn_canvas_data(kn_renderer_canvas(fresh)), frame_bytes(lived));
        kn_renderer_destroy(fresh);
    }
    /* The static green rect is drawn over the animated dot (document
     * order): at frame 4 the dot (cx = 10 + 76*0.4 = 40.4) is under it. */
    assert_int_equal(kn_renderer_draw(lived, 4, &err), KN_OK);
    const uint8_t *px = kn_canvas_data(kn_renderer_canvas(lived));
    int stride = kn_canvas_stride(kn_renderer_canvas(lived));
    const uint8_t *p = px + 32 * stride + 42 * 4;   /* B G R A */
    assert_true(p[1] > 100 && p[2] > 100);           /* green over red */
    /* Frame 3 has the per-frame yellow dot. */
    assert_int_equal(kn_renderer_draw(lived, 3, &err), KN_OK);
    int cx = (int)(10 + 76 * 0.3);
    p = px + 32 * stride + cx * 4;
    assert_true(p[2] > 200 && p[1] > 200 && p[0] < 50);
    kn_renderer_destroy(lived);
}

static void test_i420_levels(void **state)
{
    (void)state;
    const char *doc = "{\"width\":16,\"height\":16,\"fps\":1,\"duration\":1,\"background\":\"#ffffff\","
                      "\"elements\":[{\"type\":\"rect\",\"x\":0,\"y\":0,\"width\":8,\"height\":16,\"fill\":\"#000000\"}]}";
    kn_renderer *r = NULL;
    kn_err err;
    assert_int_equal(kn_renderer_create(doc, strlen(doc), &r, &err), KN_OK);
    assert_int_equal(kn_renderer_draw(r, 0, &err), KN_OK);
    uint8_t y[16 * 16], u[8 * 8], v[8 * 8];
    uint8_t *planes[3] = {y, u, v};
    int strides[3] = {16, 8, 8};
    assert_int_equal(kn_renderer_to_i420(r, planes, strides, &err), KN_OK);
    /* BT.601 limited range: black Y=16, white Y=235, grey chroma 128. */
    assert_in_range(y[0], 15, 17);
    assert_in_range(y[15], 234, 236);
    assert_in_range(u[0], 127, 129);
    assert_in_range(v[7], 127, 129);
    assert_int_equal(kn_renderer_draw(r, 1, &err), KN_EINVAL);
    kn_renderer_destroy(r);
}

static void render_frame0(const char *doc, uint8_t *out, size_t cap)
{
    kn_renderer *r = NULL;
    kn_err err;
    if (kn_renderer_create(doc, strlen(doc), &r, &err) != KN_OK) fail_msg("%s: %s", err.path, err.msg);
    assert_int_equal(kn_renderer_draw(r, 0, &err), KN_OK);
    assert_true(frame_bytes(r) <= cap);
    memcpy(out, kn_canvas_data(kn_renderer_canvas(r)), frame_bytes(r));
    kn_renderer_destroy(r);
}

/* A path element draws exactly what the equivalent primitive draws, its
 * default origin is its bounding box centre, and bad data is a 400 that
 * points into "d". */
static void test_path_element(void **state)
{
    (void)state;
    static uint8_t a[64 * 4 * 48], b[64 * 4 * 48];
    render_frame0("{\"width\":64,\"height\":48,\"fps\":1,\"duration\":1,\"elements\":["
                  "{\"type\":\"path\",\"d\":\"M10 10 h40 v30 H10 z\",\"fill\":\"red\",\"rotation\":90}]}",
                  a, sizeof a);
    render_frame0("{\"width\":64,\"height\":48,\"fps\":1,\"duration\":1,\"elements\":["
                  "{\"type\":\"rect\",\"x\":10,\"y\":10,\"width\":40,\"height\":30,\"fill\":\"red\","
                  "\"rotation\":90}]}",
                  b, sizeof b);
    assert_memory_equal(a, b, sizeof a);

    kn_renderer *r = NULL;
    kn_err err;
    const char *bad = "{\"width\":64,\"height\":48,\"fps\":1,\"duration\":1,"
                      "\"elements\":[{\"type\":\"path\",\"d\":\"M 0 0 L 10 x\"}]}";
    assert_int_equal(kn_renderer_create(bad, strlen(bad), &r, &err), KN_EINVAL);
    assert_string_equal(err.path, "/elements/0/d");
    assert_non_null(strstr(err.msg, "column 12"));
    const char *missing = "{\"width\":64,\"height\":48,\"fps\":1,\"duration\":1,"
                          "\"elements\":[{\"type\":\"path\",\"fill\":\"red\"}]}";
    assert_int_equal(kn_renderer_create(missing, strlen(missing), &r, &err), KN_EINVAL);
    assert_string_equal(err.path, "/elements/0/d");
}

/* Transforms too extreme for Cairo (a determinant that underflows to 0 or
 * overflows), given, computed or built up by nesting, draw nothing instead
 * of failing the frame, and the elements after them still draw (a
 * non-finite rotation counts as 0, as every non-finite number does). */
static void test_extreme_transforms_draw_nothing(void **state)
{
    (void)state;
    static const char *const extreme[] = {
        "{\"type\":\"rect\",\"x\":8,\"y\":8,\"width\":16,\"height\":16,\"fill\":\"red\",\"scale\":1e-200}",
        "{\"type\":\"rect\",\"x\":8,\"y\":8,\"width\":16,\"height\":16,\"fill\":\"red\",\"scale\":1e200}",
        "{\"type\":\"rect\",\"x\":8,\"y\":8,\"width\":16,\"height\":16,\"fill\":\"red\",\"scale\":\"=1e-300\"}",
        "{\"type\":\"rect\",\"x\":8,\"y\":8,\"width\":16,\"height\":16,\"fill\":\"red\",\"rotation\":\"=1/0\"}",
        "{\"type\":\"group\",\"scale\":1e-60,\"children\":[{\"type\":\"group\",\"scale\":1e-60,\"children\":"
        "[{\"type\":\"rect\",\"x\":8,\"y\":8,\"width\":16,\"height\":16,\"fill\":\"red\"}]}]}",
        "{\"type\":\"text\",\"x\":8,\"y\":8,\"text\":\"A\",\"fill\":\"red\",\"scale\":1e-300}",
        "{\"type\":\"ellipse\",\"cx\":16,\"cy\":16,\"rx\":1e-300,\"ry\":1e-300,\"fill\":\"red\"}",
        "{\"type\":\"composition\",\"x\":8,\"y\":8,\"width\":1e-300,\"height\":1e-300,"
        "\"document\":{\"width\":16,\"height\":16,\"fps\":1,\"duration\":1,\"background\":\"red\"}}",
        "{\"type\":\"image\",\"x\":8,\"y\":8,\"width\":1e-300,\"height\":1e-300,\"src\":"
        "\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==\"}",
    };
    static uint8_t px[32 * 32 * 4];
    for (size_t k = 0; k < sizeof extreme / sizeof extreme[0]; k++) {
        char doc[1024];
        snprintf(doc, sizeof doc,
                 "{\"width\":32,\"height\":32,\"fps\":1,\"duration\":1,\"elements\":[%s,"
                 "{\"type\":\"rect\",\"x\":0,\"y\":0,\"width\":4,\"height\":4,\"fill\":\"#00ff00\"}]}",
                 extreme[k]);
        render_frame0(doc, px, sizeof px);
        const uint8_t *marker = px, *mid = px + (16 * 32 + 16) * 4;   /* BGRA */
        if (!(marker[1] == 255 && marker[2] == 0)) fail_msg("element %zu: the marker is missing", k);
        if (k != 1 && k != 3 && mid[2] != 0) fail_msg("element %zu: drew red at the centre", k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cached_prefix_matches_fresh),
        cmocka_unit_test(test_extreme_transforms_draw_nothing),
        cmocka_unit_test(test_i420_levels),
        cmocka_unit_test(test_path_element),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
