/*
 * tests/test_gradient.c - gradient fills and strokes end to end: documents
 * go through the parser and kn_renderer, and the pixels are checked
 * against values computed here (linear interpolation along the vector,
 * distance from the radial centre), against rsvg-convert (librsvg, an
 * independent SVG renderer, skipped when not installed) with a control
 * that must fail the same comparison, and every validation error is
 * checked for its exact JSON pointer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doc/doc.h"
#include "render/render.h"
#include "tests/support/rsvg.h"
#include "tests/support/testutil.h"

/* Documents are written with ' for " to keep them readable. */
static char *dq(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    for (char *c = d; *c; c++)
        if (*c == '\'') *c = '"';
    return d;
}

static kn_renderer *render(const char *doc, long frame)
{
    char *j = dq(doc);
    kn_renderer *r = NULL;
    kn_err err;
    if (kn_renderer_create(j, strlen(j), &r, &err) != KN_OK)
        fail_msg("%s: %s", err.path, err.msg);
    free(j);
    assert_int_equal(kn_renderer_draw(r, frame, &err), KN_OK);
    return r;
}

/* R, G, B, A of pixel (x, y) (premultiplied; backgrounds here are opaque). */
static void px(kn_renderer *r, int x, int y, int out[4])
{
    kn_canvas *c = kn_renderer_canvas(r);
    const uint8_t *p = kn_canvas_data(c) + (size_t)y * (size_t)kn_canvas_stride(c) + 4 * (size_t)x;
    out[0] = p[2];
    out[1] = p[1];
    out[2] = p[0];
    out[3] = p[3];
}

static void expect_rgb(kn_renderer *r, int x, int y, double er, double eg, double eb, int tol)
{
    int p[4];
    px(r, x, y, p);
    double e[3] = { er, eg, eb };
    for (int k = 0; k < 3; k++)
        if (fabs(p[k] - e[k]) > tol)
            fail_msg("pixel (%d, %d) is %d,%d,%d; expected %.1f,%.1f,%.1f (+-%d)", x, y, p[0], p[1],
                     p[2], er, eg, eb, tol);
}

#define HEAD "{'width': 64, 'height': 16, 'fps': 1, 'duration': 1, 'background': '#000000', "

/* Red at x = 0 to blue at x = 64 across a rect covering the canvas: pixel i
 * (centre i + 0.5) is at t = (i + 0.5) / 64. */
static void test_linear_interpolation(void **state)
{
    (void)state;
    kn_renderer *r = render(HEAD "'elements': [{'type': 'rect', 'width': 64, 'height': 16, "
                            "'fill': {'linear': [0, 0, 64, 0], 'stops': [[0, '#f00'], [1, '#00f']]}}]}",
                            0);
    const int cols[] = { 0, 1, 16, 31, 32, 47, 62, 63 };
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
        double t = (cols[k] + 0.5) / 64;
        expect_rgb(r, cols[k], 8, 255 * (1 - t), 0, 255 * t, 2);
        expect_rgb(r, cols[k], 0, 255 * (1 - t), 0, 255 * t, 2);   /* vertical: constant */
    }
    kn_renderer_destroy(r);

    /* Three stops, the vector inside the shape: pad outside [20, 44]. */
    r = render(HEAD "'elements': [{'type': 'rect', 'width': 64, 'height': 16, 'fill': "
               "{'linear': [20, 0, 44, 0], 'stops': [[0, '#ff0000'], [0.5, '#00ff00'], "
               "[1, '#0000ff']]}}]}", 0);
    expect_rgb(r, 2, 8, 255, 0, 0, 1);
    expect_rgb(r, 61, 8, 0, 0, 255, 1);
    for (int x = 20; x < 44; x++) {
        double t = (x + 0.5 - 20) / 24;
        double u = t < 0.5 ? t / 0.5 : (t - 0.5) / 0.5;
        if (t < 0.5) expect_rgb(r, x, 8, 255 * (1 - u), 255 * u, 0, 2);
        else expect_rgb(r, x, 8, 0, 255 * (1 - u), 255 * u, 2);
    }
    kn_renderer_destroy(r);

    /* A vertical vector, and a zero-length one (SVG: the last stop). */
    r = render(HEAD "'elements': [{'type': 'rect', 'width': 32, 'height': 16, 'fill': "
               "{'linear': [0, 0, 0, 16], 'stops': [[0, '#000'], [1, '#fff']]}}, "
               "{'type': 'rect', 'x': 32, 'width': 32, 'height': 16, 'fill': "
               "{'linear': [5, 5, 5, 5], 'stops': [[0, '#f00'], [1, '#0f0']]}}]}", 0);
    for (int y = 0; y < 16; y++) {
        double v = 255 * (y + 0.5) / 16;
        expect_rgb(r, 10, y, v, v, v, 2);
    }
    expect_rgb(r, 40, 8, 0, 255, 0, 0);
    kn_renderer_destroy(r);
}

/* Gradient coordinates are in the element's own space: turning the element
 * turns its gradient, and opacity scales every stop. */
static void test_moves_with_element(void **state)
{
    (void)state;
    kn_renderer *r = render(HEAD "'elements': [{'type': 'rect', 'width': 64, 'height': 16, "
                            "'rotation': 180, 'fill': {'linear': [0, 0, 64, 0], 'stops': "
                            "[[0, '#f00'], [1, '#00f']]}}]}", 0);
    for (int x = 0; x < 64; x += 9) {
        double t = 1 - (x + 0.5) / 64;
        expect_rgb(r, x, 8, 255 * (1 - t), 0, 255 * t, 2);
    }
    kn_renderer_destroy(r);

    /* A group's translation moves the gradient with its child. */
    r = render(HEAD "'elements': [{'type': 'group', 'x': 32, 'children': [{'type': 'rect', "
               "'width': 32, 'height': 16, 'fill': {'linear': [0, 0, 32, 0], 'stops': "
               "[[0, '#f00'], [1, '#00f']]}}]}]}", 0);
    expect_rgb(r, 10, 8, 0, 0, 0, 0);
    for (int x = 32; x < 64; x += 5) {
        double t = (x - 32 + 0.5) / 32;
        expect_rgb(r, x, 8, 255 * (1 - t), 0, 255 * t, 2);
    }
    kn_renderer_destroy(r);

    r = render(HEAD "'elements': [{'type': 'rect', 'width': 64, 'height': 16, 'opacity': 0.5, "
               "'fill': {'linear': [0, 0, 64, 0], 'stops': [[0, '#f00'], [1, '#00f']]}}]}", 0);
    for (int x = 0; x < 64; x += 7) {
        double t = (x + 0.5) / 64;
        expect_rgb(r, x, 8, 127.5 * (1 - t), 0, 127.5 * t, 2);
    }
    kn_renderer_destroy(r);
}

/* Radial: colour by distance from the centre, padded past r. */
static void test_radial(void **state)
{
    (void)state;
    kn_renderer *r = render("{'width': 64, 'height': 64, 'fps': 1, 'duration': 1, "
                            "'background': '#000000', 'elements': [{'type': 'rect', "
                            "'width': 64, 'height': 64, 'fill': {'radial': [32, 32, 24], "
                            "'stops': [[0, '#ffffff'], [1, '#0000ff']]}}]}", 0);
    const int pts[][2] = { { 32, 32 }, { 31, 31 }, { 40, 32 }, { 32, 44 }, { 45, 45 },
                           { 50, 32 }, { 20, 20 }, { 0, 0 }, { 63, 10 } };
    for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
        double dx = pts[k][0] + 0.5 - 32, dy = pts[k][1] + 0.5 - 32;
        double t = sqrt(dx * dx + dy * dy) / 24;
        if (t > 1) t = 1;
        expect_rgb(r, pts[k][0], pts[k][1], 255 * (1 - t), 255 * (1 - t), 255, 2);
    }
    /* The centre is (almost) the first stop, the edge region the last. */
    int c[4], e[4];
    px(r, 32, 32, c);
    px(r, 2, 2, e);
    assert_true(c[0] >= 245 && e[0] == 0 && e[2] == 255);
    kn_renderer_destroy(r);
}

/* Strokes, a circle and text take gradients too. */
static void test_stroke_and_text(void **state)
{
    (void)state;
    kn_renderer *r = render("{'width': 200, 'height': 80, 'fps': 1, 'duration': 1, "
                            "'background': '#000000', 'elements': ["
                            "{'type': 'line', 'x1': 0, 'y1': 10, 'x2': 200, 'y2': 10, "
                            "'stroke_width': 8, 'stroke': {'linear': [0, 0, 200, 0], 'stops': "
                            "[[0, '#f00'], [1, '#00f']]}, 'fill': {'linear': [0, 0, 1, 0], "
                            "'stops': [[0, '#0f0']]}},"
                            "{'type': 'text', 'x': 0, 'y': 70, 'size': 48, 'text': 'MMMMMMMM', "
                            "'font': 'DejaVu Sans Bold', "
                            "'fill': {'linear': [0, 0, 200, 0], 'stops': [[0, '#f00'], [1, '#00f']]}}]}",
                            0);
    for (int x = 0; x < 200; x += 13) {
        double t = (x + 0.5) / 200;
        expect_rgb(r, x, 10, 255 * (1 - t), 0, 255 * t, 2);   /* no green: a line has no fill */
    }
    /* Text ink: red on the left, blue on the right, never green. */
    long red_left = 0, blue_left = 0, red_right = 0, blue_right = 0;
    for (int y = 25; y < 80; y++)
        for (int x = 0; x < 200; x++) {
            int p[4];
            px(r, x, y, p);
            assert_true(p[1] == 0);
            if (x < 60) { red_left += p[0]; blue_left += p[2]; }
            if (x >= 140 && x < 200) { red_right += p[0]; blue_right += p[2]; }
        }
    assert_true(red_left > 1000 && red_left > 2 * blue_left);
    assert_true(blue_right > 1000 && blue_right > 2 * red_right);
    kn_renderer_destroy(r);
}

/* ---- validation ---------------------------------------------------------- */

#define DOC(el, rest) "{'width': 64, 'height': 64, 'fps': 1, 'duration': 1, 'elements': [" \
    el "]" rest "}"
#define G(x) "{'id': 'r', 'type': 'rect', 'width': 10, 'height': 10, 'fill': " x "}"
#define OK_G "{'linear': [0, 0, 10, 0], 'stops': [[0, '#f00'], [1, '#00f']]}"

static const struct {
    const char *doc, *path, *msg;
} g_bad[] = {
    { DOC(G("{'linear': [0, 0, 1, 1], 'stops': [[0, 'red']], 'spread': 'pad'}"), ""),
      "/elements/0/fill/spread", "unknown field \"spread\"" },
    { DOC(G("{'linear': [0, 0, 1, 1], 'radial': [0, 0, 1], 'stops': [[0, 'red']]}"), ""),
      "/elements/0/fill/radial", "either \"linear\" or \"radial\"" },
    { DOC(G("{'stops': [[0, 'red']]}"), ""), "/elements/0/fill", "needs \"linear\"" },
    { DOC(G("{'linear': [0, 0, 1], 'stops': [[0, 'red']]}"), ""), "/elements/0/fill/linear",
      "[x0, y0, x1, y1]" },
    { DOC(G("{'linear': {'linspace': [0, 1, 4]}, 'stops': [[0, 'red']]}"), ""),
      "/elements/0/fill/linear", "[x0, y0, x1, y1]" },
    { DOC(G("{'linear': [0, 0, '=t', 1], 'stops': [[0, 'red']]}"), ""),
      "/elements/0/fill/linear/2", "expression is not allowed" },
    { DOC(G("{'linear': [0, 0, 1e10, 1], 'stops': [[0, 'red']]}"), ""),
      "/elements/0/fill/linear/2", "from -1000000000 to 1000000000" },
    { DOC(G("{'radial': [5, 5, 0], 'stops': [[0, 'red']]}"), ""), "/elements/0/fill/radial/2",
      "> 0" },
    { DOC(G("{'radial': [5, 5], 'stops': [[0, 'red']]}"), ""), "/elements/0/fill/radial",
      "[cx, cy, r]" },
    { DOC(G("{'radial': [5, 5, 3]}"), ""), "/elements/0/fill/stops", "missing field \"stops\"" },
    { DOC(G("{'radial': [5, 5, 3], 'stops': []}"), ""), "/elements/0/fill/stops",
      "at least one stop" },
    { DOC(G("{'radial': [5, 5, 3], 'stops': 'red'}"), ""), "/elements/0/fill/stops",
      "got a string" },
    { DOC(G("{'radial': [5, 5, 3], 'stops': [[0, 'red'], 'blue']}"), ""),
      "/elements/0/fill/stops/1", "[offset, colour]" },
    { DOC(G("{'radial': [5, 5, 3], 'stops': [[0, 'red', 1]]}"), ""), "/elements/0/fill/stops/0",
      "of another length" },
    { DOC(G("{'radial': [5, 5, 3], 'stops': [[1.5, 'red']]}"), ""),
      "/elements/0/fill/stops/0/0", "from 0 to 1, got 1.5" },
    { DOC(G("{'radial': [5, 5, 3], 'stops': [[0, 'red'], [0.6, 'lime'], [0.4, 'blue']]}"), ""),
      "/elements/0/fill/stops/2/0", "must not decrease: 0.4 comes after 0.6" },
    { DOC(G("{'radial': [5, 5, 3], 'stops': [[0, 'red'], [1, '#12']]}"), ""),
      "/elements/0/fill/stops/1/1", NULL },
    { DOC(G("{'radial': [5, 5, 3], 'stops': [[0, 'red'], [1, 7]]}"), ""),
      "/elements/0/fill/stops/1/1", "expected a colour" },
    { DOC(G("{'radial': [5, 5, 3], 'stops': [[0, {'linear': [0, 0, 1, 1]}]]}"), ""),
      "/elements/0/fill/stops/0/1", "expected a colour" },
    { DOC("{'type': 'circle', 'r': 3, 'stroke': {'linear': [0, 0, 1, 1], 'stops': [[0, 'red']], "
          "'x': 1}}", ""), "/elements/0/stroke/x", "unknown field" },
    { DOC("{'type': 'text', 'text': 'a', 'fill': {'radial': [0, 0, -1], 'stops': [[0, 'red']]}}",
          ""), "/elements/0/fill/radial/2", "> 0" },
    /* gradients are not animated */
    { DOC(G(OK_G), ", 'timeline': {'tween': {'r.fill': '#fff'}, 'duration': 1}"),
      "/timeline/tween/r.fill", "fill is a gradient" },
    { DOC("{'id': 'c', 'type': 'circle', 'r': 3, 'stroke': " OK_G "}",
          ", 'frames': [{'set': {'c.stroke': 'red'}}]"), "/frames/0/set/c.stroke",
      "stroke is a gradient" },
    { DOC(G("'red'"), ", 'timeline': {'tween': {'r.fill': " OK_G "}, 'duration': 1}"),
      "/timeline/tween/r.fill", "gradients cannot be animated" },
    { DOC(G("'red'"), ", 'timeline': {'set': {'r.stroke': " OK_G "}}"),
      "/timeline/set/r.stroke", "gradients cannot be animated" },
    { DOC(G("'red'"), ", 'frames': [{'set': {'r.fill': " OK_G "}}]"), "/frames/0/set/r.fill",
      "gradients cannot be animated" },
    { "{'width': 64, 'height': 64, 'fps': 1, 'duration': 1, 'background': " OK_G "}",
      "/background", "expected a colour" },
    { "{'width': 64, 'height': 64, 'fps': 1, 'duration': 1, 'vars': {'g': " OK_G "}}", "/vars/g",
      NULL },
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof g_bad / sizeof g_bad[0]; i++) {
        char *j = dq(g_bad[i].doc);
        kn_doc *d = NULL;
        kn_err err;
        int rc = kn_doc_parse(j, strlen(j), NULL, &d, &err);
        if (rc != KN_EINVAL || strcmp(err.path, g_bad[i].path) ||
            (g_bad[i].msg && !strstr(err.msg, g_bad[i].msg)))
            fail_msg("case %zu: %s\n  gave %d at \"%s\": %s\n  expected \"%s\" with \"%s\"", i, j, rc,
                     err.path, err.msg, g_bad[i].path, g_bad[i].msg ? g_bad[i].msg : "");
        assert_null(d);
        free(j);
    }

    /* Too many stops. */
    size_t cap = 64 + 300 * 16;
    char *big = malloc(cap);
    assert_non_null(big);
    size_t n = (size_t)snprintf(big, cap, "{\"width\": 64, \"height\": 64, \"fps\": 1, \"duration\": 1, "
                                "\"elements\": [{\"type\": \"circle\", \"r\": 3, \"fill\": {\"radial\": "
                                "[0, 0, 1], \"stops\": [");
    for (int k = 0; k < 257; k++) n += (size_t)snprintf(big + n, cap - n, "%s[1, \"red\"]", k ? "," : "");
    n += (size_t)snprintf(big + n, cap - n, "]}}]}");
    assert_true(n < cap);
    kn_doc *d = NULL;
    kn_err err;
    assert_int_equal(kn_doc_parse(big, n, NULL, &d, &err), KN_EINVAL);
    assert_string_equal(err.path, "/elements/0/fill/stops");
    assert_non_null(strstr(err.msg, "257 stops are more than the 256 allowed"));
    free(big);
}

/* The model: the gradient is on the element, its slot holds "none" (the
 * text default white is replaced), the other paint keeps its colour. */
static void test_model(void **state)
{
    (void)state;
    char *j = dq("{'width': 64, 'height': 64, 'fps': 1, 'duration': 1, 'elements': ["
                 "{'id': 't', 'type': 'text', 'text': 'a', 'stroke': 'red', 'fill': {'radial': "
                 "[1, 2, 3], 'stops': [[0, '#ff000080'], [0.5, 'lime'], [0.5, 'blue']]}}], "
                 "'timeline': {'tween': {'t.stroke': 'blue'}, 'duration': 1}}");
    kn_doc *d = NULL;
    kn_err err;
    if (kn_doc_parse(j, strlen(j), NULL, &d, &err)) fail_msg("%s: %s", err.path, err.msg);
    const kn_elem *el = &d->elements[0];
    assert_non_null(el->grad[0]);
    assert_null(el->grad[1]);
    const kn_gradient *g = el->grad[0];
    assert_int_equal(g->type, KN_GRAD_RADIAL);
    assert_true(g->coord[0] == 1 && g->coord[1] == 2 && g->coord[2] == 3);
    assert_int_equal(g->nstops, 3);
    assert_true(g->stops[0].offset == 0 && g->stops[0].color.r == 1 &&
                fabs(g->stops[0].color.a - 128 / 255.0) < 1e-9);
    assert_true(g->stops[1].offset == 0.5 && g->stops[2].offset == 0.5 && g->stops[2].color.b == 1);
    const kn_value *fill = &d->init[el->slot[KN_P_FILL]];
    assert_int_equal(fill->type, KN_VT_COLOR);
    assert_true(fill->color.a == 0 && fill->color.r == 0);
    assert_true(d->init[el->slot[KN_P_STROKE]].color.r == 1);
    kn_doc_destroy(d);
    free(j);
}

/* ---- against rsvg-convert -------------------------------------------------- */

#define RW 200
#define RH 200

/* The same scene as SVG (gradientUnits userSpaceOnUse: the user space of the
 * element that references the gradient, its transform included - exactly
 * our "element's own space") and as a job document. */
static const char SVG[] =
    "<svg xmlns='http://www.w3.org/2000/svg' width='200' height='200' viewBox='0 0 200 200'>"
    "<defs>"
    "<linearGradient id='a' gradientUnits='userSpaceOnUse' x1='20' y1='0' x2='180' y2='0'>"
    "<stop offset='0' stop-color='#ff0000'/><stop offset='0.5' stop-color='#00ff00'/>"
    "<stop offset='1' stop-color='#0000ff'/></linearGradient>"
    "<radialGradient id='b' gradientUnits='userSpaceOnUse' cx='100' cy='140' r='50' "
    "fx='100' fy='140'>"
    "<stop offset='0' stop-color='#ffff00'/><stop offset='1' stop-color='#0000ff'/>"
    "</radialGradient>"
    "<linearGradient id='c' gradientUnits='userSpaceOnUse' x1='0' y1='0' x2='0' y2='60'>"
    "<stop offset='0' stop-color='#ffffff'/><stop offset='1' stop-color='#ff00ff'/>"
    "</linearGradient>"
    "</defs>"
    "<rect width='200' height='200' fill='#000000'/>"
    "<rect x='20' y='10' width='160' height='60' fill='url(#a)'/>"
    "<rect x='0' y='90' width='200' height='110' fill='url(#b)'/>"
    "<rect x='140' y='0' width='40' height='60' fill='url(#c)' "
    "transform='rotate(30 160 30)'/>"
    "</svg>\n";

static const char *const DOC_SVG =
    "{'width': 200, 'height': 200, 'fps': 1, 'duration': 1, 'background': '#000000', "
    "'elements': ["
    "{'type': 'rect', 'x': 20, 'y': 10, 'width': 160, 'height': 60, 'fill': {'linear': "
    "[20, 0, 180, 0], 'stops': [[0, '#ff0000'], [0.5, '#00ff00'], [1, '#0000ff']]}},"
    "{'type': 'rect', 'x': 0, 'y': 90, 'width': 200, 'height': 110, 'fill': {'radial': "
    "[100, 140, 50], 'stops': [[0, '#ffff00'], [1, '#0000ff']]}},"
    "{'type': 'rect', 'x': 140, 'y': 0, 'width': 40, 'height': 60, 'rotation': 30, "
    "'fill': {'linear': [0, 0, 0, 60], 'stops': [[0, '#ffffff'], [1, '#ff00ff']]}}]}";

/* The control: the radial gradient's stops swapped. */
static const char *const DOC_WRONG =
    "{'width': 200, 'height': 200, 'fps': 1, 'duration': 1, 'background': '#000000', "
    "'elements': ["
    "{'type': 'rect', 'x': 20, 'y': 10, 'width': 160, 'height': 60, 'fill': {'linear': "
    "[20, 0, 180, 0], 'stops': [[0, '#ff0000'], [0.5, '#00ff00'], [1, '#0000ff']]}},"
    "{'type': 'rect', 'x': 0, 'y': 90, 'width': 200, 'height': 110, 'fill': {'radial': "
    "[100, 140, 50], 'stops': [[0, '#0000ff'], [1, '#ffff00']]}},"
    "{'type': 'rect', 'x': 140, 'y': 0, 'width': 40, 'height': 60, 'rotation': 30, "
    "'fill': {'linear': [0, 0, 0, 60], 'stops': [[0, '#ffffff'], [1, '#ff00ff']]}}]}";

/* Thresholds: both renderers rasterise through Cairo/pixman, so gradient
 * interiors agree to rounding; edge pixels of the rotated rect may differ
 * in coverage. Mean < 0.5/255 and at most 0.5% of pixels off by more than
 * 3/255. */
typedef struct diff {
    double mean;
    int max;
    double bad_frac;
} diff;

static diff compare(kn_renderer *r, cairo_surface_t *ref)
{
    diff d = { 0, 0, 0 };
    cairo_surface_flush(ref);
    assert_int_equal(cairo_image_surface_get_width(ref), RW);
    assert_int_equal(cairo_image_surface_get_height(ref), RH);
    const uint8_t *a = cairo_image_surface_get_data(ref);
    int sa = cairo_image_surface_get_stride(ref);
    kn_canvas *c = kn_renderer_canvas(r);
    const uint8_t *b = kn_canvas_data(c);
    int sb = kn_canvas_stride(c);
    double sum = 0;
    long bad = 0;
    for (int y = 0; y < RH; y++)
        for (int x = 0; x < RW; x++) {
            int m = 0;
            for (int k = 0; k < 4; k++) {
                int dd = abs(a[(size_t)y * sa + 4 * x + k] - b[(size_t)y * sb + 4 * x + k]);
                sum += dd;
                if (dd > m) m = dd;
            }
            if (m > d.max) d.max = m;
            if (m > 3) bad++;
        }
    d.mean = sum / (4.0 * RW * RH * 255);
    d.bad_frac = (double)bad / (RW * RH);
    return d;
}

static void test_vs_rsvg(void **state)
{
    (void)state;
    if (!tu_rsvg_available()) {
        print_message("rsvg-convert is not installed (librsvg2-bin): skipped\n");
        skip();
    }
    char dir[512], svg[600], png[600];
    tu_tmpdir(dir, sizeof dir);
    assert_true(dir[0] != '\0');
    snprintf(svg, sizeof svg, "%s/g.svg", dir);
    snprintf(png, sizeof png, "%s/g.png", dir);
    char *s = dq(SVG);
    assert_int_equal(tu_write_file(svg, s, strlen(s)), 0);
    free(s);
    int rst = tu_rsvg_convert(svg, png);
    if (rst != 0) fail_msg("rsvg-convert %s failed (status %d)", svg, rst);
    cairo_surface_t *ref = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(ref), CAIRO_STATUS_SUCCESS);

    kn_renderer *r = render(DOC_SVG, 0);
    diff d = compare(r, ref);
    print_message("vs rsvg: mean %.4f/255, max %d/255, >3: %.3f%%\n", d.mean * 255, d.max,
                  d.bad_frac * 100);
    assert_true(d.mean < 0.5 / 255);
    assert_true(d.bad_frac <= 0.005);
    kn_renderer_destroy(r);

    r = render(DOC_WRONG, 0);
    d = compare(r, ref);
    print_message("control (radial stops swapped): mean %.4f/255, >3: %.3f%%\n", d.mean * 255,
                  d.bad_frac * 100);
    assert_false(d.mean < 0.5 / 255 && d.bad_frac <= 0.005);
    kn_renderer_destroy(r);

    cairo_surface_destroy(ref);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_interpolation),
        cmocka_unit_test(test_moves_with_element),
        cmocka_unit_test(test_radial),
        cmocka_unit_test(test_stroke_and_text),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_vs_rsvg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
