/*
 * tests/test_draw.c - drawing: decoded pixels of canvases drawn from
 * hand-built documents (the model structs are public, so these tests do not
 * depend on the JSON parser). Backgrounds are opaque black, so premultiplied
 * pixels equal straight ones.
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

#include <cairo.h>
#include <pango/pangocairo.h>

#include "doc/doc.h"
#include "render/draw.h"
#include "render/timeline.h"
#include "tests/support/testutil.h"

/* ---- allocation: everything a test builds is freed at its end ----------- */

static void *g_allocs[1024];
static size_t g_nallocs;

static void *ta(size_t n)
{
    assert_true(g_nallocs < sizeof g_allocs / sizeof g_allocs[0]);
    void *p = calloc(1, n ? n : 1);
    assert_non_null(p);
    g_allocs[g_nallocs++] = p;
    return p;
}

/* ---- document builder -------------------------------------------------- */

#define MAXSLOTS 4096
static kn_value g_init[MAXSLOTS];
static size_t g_nslots;
static kn_canvas *g_canvas;
static kn_state *g_state;

static int teardown(void **state)
{
    (void)state;
    kn_state_destroy(g_state);
    g_state = NULL;
    kn_canvas_destroy(g_canvas);
    g_canvas = NULL;
    for (size_t i = 0; i < g_nallocs; i++) free(g_allocs[i]);
    g_nallocs = 0;
    g_nslots = 0;
    return 0;
}

static kn_value N(double x) { return (kn_value){ .type = KN_VT_NUM, .num = x }; }
static kn_value B(int b) { return (kn_value){ .type = KN_VT_BOOL, .num = b ? 1 : 0 }; }
static kn_value S(const char *s) { return (kn_value){ .type = KN_VT_STR, .str = s }; }
static kn_value C(double r, double g, double b, double a)
{
    return (kn_value){ .type = KN_VT_COLOR, .color = { r, g, b, a } };
}
static kn_value A(size_t n, const double *xs)
{
    double *p = ta(n * sizeof *p);
    if (n) memcpy(p, xs, n * sizeof *p);
    return (kn_value){ .type = KN_VT_ARRAY, .arr = p, .n = n };
}
#define ARR(...) A(sizeof((double[]){__VA_ARGS__}) / sizeof(double), (double[]){__VA_ARGS__})
#define WHITE C(1, 1, 1, 1)

static int slot(kn_value v)
{
    assert_true(g_nslots < MAXSLOTS);
    g_init[g_nslots] = v;
    return (int)g_nslots++;
}

/* An element with a slot for every property, holding the defaults of spec
 * section 3 (the parser would give it only the ones its type has). */
static kn_elem E(kn_etype type)
{
    kn_elem e = { .type = type };
    for (int p = 0; p < KN_P_COUNT; p++) {
        kn_value v = N(0);
        switch ((kn_prop)p) {
        case KN_P_OPACITY: v = N(1); break;
        case KN_P_VISIBLE: v = B(1); break;
        case KN_P_SCALE: v = ARR(1, 1); break;
        case KN_P_ORIGIN: v = (kn_value){ .type = KN_VT_NONE }; break;
        case KN_P_FILL: v = type == KN_E_TEXT ? WHITE : C(0, 0, 0, 0); break;
        case KN_P_STROKE: v = C(0, 0, 0, 0); break;
        case KN_P_STROKE_WIDTH: v = N(1); break;
        case KN_P_DASH: v = A(0, NULL); break;
        case KN_P_POINTS: v = A(0, NULL); break;
        case KN_P_LINE_CAP: v = S("butt"); break;
        case KN_P_LINE_JOIN: v = S("miter"); break;
        case KN_P_TEXT: v = S(""); break;
        case KN_P_FONT: v = S("DejaVu Sans"); break;
        case KN_P_SIZE: v = N(32); break;
        case KN_P_ALIGN: v = S("left"); break;
        case KN_P_BASELINE: v = S("alphabetic"); break;
        default: break;
        }
        e.slot[p] = slot(v);
    }
    return e;
}

static void set(kn_elem *e, kn_prop p, kn_value v) { g_init[e->slot[p]] = v; }

static kn_elem rect(double x, double y, double w, double h, kn_value fill)
{
    kn_elem e = E(KN_E_RECT);
    set(&e, KN_P_X, N(x)); set(&e, KN_P_Y, N(y));
    set(&e, KN_P_WIDTH, N(w)); set(&e, KN_P_HEIGHT, N(h));
    set(&e, KN_P_FILL, fill);
    return e;
}

static kn_elem line(double x1, double y1, double x2, double y2, double w)
{
    kn_elem e = E(KN_E_LINE);
    set(&e, KN_P_X1, N(x1)); set(&e, KN_P_Y1, N(y1));
    set(&e, KN_P_X2, N(x2)); set(&e, KN_P_Y2, N(y2));
    set(&e, KN_P_STROKE, WHITE); set(&e, KN_P_STROKE_WIDTH, N(w));
    return e;
}

static kn_elem text(const char *s, double x, double y, const char *align, const char *base)
{
    kn_elem e = E(KN_E_TEXT);
    set(&e, KN_P_TEXT, S(s));
    set(&e, KN_P_X, N(x)); set(&e, KN_P_Y, N(y));
    set(&e, KN_P_ALIGN, S(align)); set(&e, KN_P_BASELINE, S(base));
    return e;
}

static kn_elem group(double x, double y, size_t n, const kn_elem *ch)
{
    kn_elem e = E(KN_E_GROUP);
    set(&e, KN_P_X, N(x)); set(&e, KN_P_Y, N(y));
    e.children = ta(n * sizeof *ch);
    memcpy(e.children, ch, n * sizeof *ch);
    e.nchildren = n;
    return e;
}

static kn_doc *doc(int w, int h, size_t n, const kn_elem *els)
{
    kn_doc *d = ta(sizeof *d);
    d->width = w; d->height = h;
    d->fps = 10; d->fps_num = 10; d->fps_den = 1;
    d->duration = 1; d->n_frames = 10;
    d->background = (kn_color){ 0, 0, 0, 1 };
    d->nslots = g_nslots;
    d->init = ta(g_nslots * sizeof *d->init);
    memcpy(d->init, g_init, g_nslots * sizeof *d->init);
    d->elements = ta(n * sizeof *els);
    memcpy(d->elements, els, n * sizeof *els);
    d->nelements = n;
    return d;
}
#define NE(...) (sizeof((kn_elem[]){__VA_ARGS__}) / sizeof(kn_elem))
#define DOC(w, h, ...) doc((w), (h), NE(__VA_ARGS__), (kn_elem[]){__VA_ARGS__})

/* Draws d (its initial state) onto a fresh canvas kept in g_canvas. */
static void draw(const kn_doc *d)
{
    kn_err err;
    kn_err_clear(&err);
    kn_state_destroy(g_state);
    kn_canvas_destroy(g_canvas);
    g_state = kn_state_create(d);
    assert_non_null(g_state);
    assert_int_equal(kn_canvas_create(d->width, d->height, &g_canvas, &err), KN_OK);
    assert_int_equal(kn_draw_frame(g_canvas, d, g_state, &err), KN_OK);
}

/* 0xAARRGGBB, premultiplied */
static uint32_t px(int x, int y)
{
    const uint8_t *p = kn_canvas_data(g_canvas) + (size_t)y * kn_canvas_stride(g_canvas) + 4 * (size_t)x;
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static int R(int x, int y) { return (px(x, y) >> 16) & 255; }
static int G(int x, int y) { return (px(x, y) >> 8) & 255; }
static int Bl(int x, int y) { return px(x, y) & 255; }
#define BLACK 0xff000000u
#define IS_WHITE(x, y) assert_int_equal(px((x), (y)), 0xffffffffu)
#define IS_BLACK(x, y) assert_int_equal(px((x), (y)), BLACK)

typedef struct box { int x0, y0, x1, y1, n; } box;   /* inclusive; n = 0: no ink */

static box ink(int w, int h)
{
    box b = { w, h, -1, -1, 0 };
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (px(x, y) != BLACK) {
                if (x < b.x0) b.x0 = x;
                if (y < b.y0) b.y0 = y;
                if (x > b.x1) b.x1 = x;
                if (y > b.y1) b.y1 = y;
                b.n++;
            }
    return b;
}

/* ---- tests ------------------------------------------------------------- */

static void test_rect_covers_whole_pixels(void **state)
{
    (void)state;
    kn_doc *d = DOC(64, 80, rect(10, 20, 30, 40, C(1, 0, 0, 1)));
    draw(d);
    for (int y = 0; y < 80; y++)
        for (int x = 0; x < 64; x++) {
            int in = x >= 10 && x < 40 && y >= 20 && y < 60;
            assert_int_equal(px(x, y), in ? 0xffff0000u : BLACK);
        }
}

static void test_background_and_rounded_rect(void **state)
{
    (void)state;
    kn_elem r = rect(10, 10, 40, 40, WHITE);
    set(&r, KN_P_RADIUS, N(8));
    kn_elem s = rect(10, 60, 40, 20, WHITE);
    set(&s, KN_P_RADIUS, N(100));              /* clamped to 10: a stadium */
    kn_doc *d = DOC(64, 100, r, s);
    d->background = (kn_color){ 0, 0, 1, 1 };
    draw(d);
    const uint32_t blue = 0xff0000ffu;
    assert_int_equal(px(0, 0), blue);
    IS_WHITE(30, 30);
    IS_WHITE(30, 10); IS_WHITE(10, 30);        /* edges are straight between corners */
    IS_WHITE(18, 10); IS_WHITE(49, 41);
    assert_int_equal(px(10, 10), blue);        /* corners are cut */
    assert_int_equal(px(11, 11), blue);
    assert_int_equal(px(49, 49), blue);
    IS_WHITE(30, 60); IS_WHITE(30, 79);        /* straight top and bottom */
    IS_WHITE(11, 70); IS_WHITE(48, 70);        /* round ends of radius 10 */
    assert_int_equal(px(12, 61), blue);
    assert_int_equal(px(47, 78), blue);
}

static void test_circle_ellipse(void **state)
{
    (void)state;
    kn_elem c = E(KN_E_CIRCLE);
    set(&c, KN_P_CX, N(30)); set(&c, KN_P_CY, N(30)); set(&c, KN_P_R, N(20));
    set(&c, KN_P_FILL, C(0, 1, 0, 1));
    kn_elem e = E(KN_E_ELLIPSE);
    set(&e, KN_P_CX, N(60)); set(&e, KN_P_CY, N(80)); set(&e, KN_P_RX, N(30));
    set(&e, KN_P_RY, N(10));
    set(&e, KN_P_STROKE, WHITE); set(&e, KN_P_STROKE_WIDTH, N(2));
    kn_doc *d = DOC(100, 100, c, e);
    draw(d);
    assert_int_equal(px(30, 30), 0xff00ff00u);
    assert_int_equal(px(44, 30), 0xff00ff00u);
    assert_int_equal(px(30, 16), 0xff00ff00u);
    IS_BLACK(30, 55);
    IS_BLACK(8, 30);
    IS_BLACK(45, 45);                          /* outside the circle, inside its box */
    /* ellipse outline: a 2 px ring around (60,80) 30 x 10, stroke unscaled */
    assert_true(R(60, 70) > 100);              /* top of the ring: rows 69..70 */
    assert_true(R(89, 80) > 100);              /* right of the ring */
    IS_BLACK(60, 73);                          /* a scaled stroke would be 20 px thick */
    IS_BLACK(60, 80);                          /* no fill */
    IS_BLACK(60, 66);
}

static void test_rotation_clockwise(void **state)
{
    (void)state;
    /* 40 x 10 rect centred on (40,45), rotated 90 about its centre */
    kn_elem r = rect(20, 40, 40, 10, WHITE);
    set(&r, KN_P_ROTATION, N(90));
    kn_doc *d = DOC(100, 100, r);
    draw(d);
    IS_WHITE(40, 27); IS_WHITE(40, 62); IS_WHITE(36, 45); IS_WHITE(43, 45);
    IS_BLACK(25, 45); IS_BLACK(55, 45); IS_BLACK(40, 22); IS_BLACK(40, 67);

    /* about its left end (20,45): the right end swings down, not up */
    teardown(NULL);
    kn_elem r2 = rect(20, 40, 40, 10, WHITE);
    set(&r2, KN_P_ROTATION, N(90));
    set(&r2, KN_P_ORIGIN, ARR(20, 45));
    d = DOC(100, 100, r2);
    draw(d);
    IS_WHITE(20, 80); IS_WHITE(20, 50);
    IS_BLACK(20, 10); IS_BLACK(20, 40); IS_BLACK(50, 45);

    /* a line turned +30 degrees about its midpoint: right half goes down */
    teardown(NULL);
    kn_elem l = line(20, 50, 80, 50, 4);
    set(&l, KN_P_ROTATION, N(30));
    d = DOC(100, 100, l);
    draw(d);
    assert_true(R(67, 60) > 200);              /* (50 + 20 cos 30, 50 + 20 sin 30) */
    assert_true(R(32, 40) > 200);
    IS_BLACK(67, 40);
    IS_BLACK(32, 60);
    IS_BLACK(75, 50);
}

static void test_scale_about_origin(void **state)
{
    (void)state;
    kn_elem r = rect(40, 40, 20, 20, WHITE);
    set(&r, KN_P_SCALE, ARR(2, 0.5));          /* about the centre (50,50) */
    kn_elem r2 = rect(10, 70, 10, 10, WHITE);
    set(&r2, KN_P_SCALE, ARR(2, 2));
    set(&r2, KN_P_ORIGIN, ARR(10, 70));        /* grows right and down */
    kn_doc *d = DOC(100, 100, r, r2);
    draw(d);
    IS_WHITE(30, 50); IS_WHITE(69, 50); IS_WHITE(50, 45); IS_WHITE(50, 54);
    IS_BLACK(29, 50); IS_BLACK(70, 50); IS_BLACK(50, 44); IS_BLACK(50, 55);
    IS_WHITE(10, 70); IS_WHITE(29, 89);
    IS_BLACK(9, 70);  IS_BLACK(30, 89); IS_BLACK(29, 90); IS_BLACK(10, 69);
}

static void test_opacity(void **state)
{
    (void)state;
    /* single-paint shapes: alpha multiplied, overlaps blend twice */
    kn_elem a = rect(0, 0, 30, 20, WHITE), b = rect(20, 0, 30, 20, WHITE);
    set(&a, KN_P_OPACITY, N(0.5)); set(&b, KN_P_OPACITY, N(0.5));
    /* a group at 0.5: its two overlapping rects composite once */
    kn_elem g = group(0, 40, 2, (kn_elem[]){ rect(0, 0, 30, 20, WHITE),
                                             rect(20, 0, 30, 20, WHITE) });
    set(&g, KN_P_OPACITY, N(0.5));
    /* fill and stroke at 0.5: the red fill does not show under the stroke */
    kn_elem fs = rect(60, 10, 30, 30, C(1, 0, 0, 1));
    set(&fs, KN_P_STROKE, C(0, 0, 1, 1)); set(&fs, KN_P_STROKE_WIDTH, N(10));
    set(&fs, KN_P_OPACITY, N(0.5));
    kn_doc *d = DOC(100, 100, a, b, g, fs);
    draw(d);
    assert_in_range(R(10, 10), 126, 130);      /* half of white over black */
    assert_in_range(R(25, 10), 189, 193);      /* 1 - 0.5 * 0.5 */
    assert_in_range(R(10, 50), 126, 130);
    assert_in_range(R(25, 50), 126, 130);      /* not doubled */
    assert_in_range(R(45, 50), 126, 130);
    IS_BLACK(55, 50);
    assert_in_range(R(75, 25), 126, 130);      /* fill inside */
    assert_int_equal(Bl(75, 25), 0);
    assert_in_range(Bl(62, 25), 126, 130);     /* inner half of the stroke */
    assert_int_equal(R(62, 25), 0);
    assert_in_range(Bl(57, 25), 126, 130);     /* outer half */
    IS_BLACK(54, 25);
}

static void test_stroke_width_and_dash(void **state)
{
    (void)state;
    kn_elem solid = line(10, 20, 90, 20, 4);
    kn_elem dashed = line(10, 50, 90, 50, 4);
    set(&dashed, KN_P_DASH, ARR(10, 10));
    kn_elem zero = line(10, 80, 90, 80, 2);
    set(&zero, KN_P_DASH, ARR(0, 0));          /* invalid for Cairo: drawn solid */
    kn_doc *d = DOC(100, 100, solid, dashed, zero);
    draw(d);
    for (int y = 18; y < 22; y++) IS_WHITE(50, y);
    IS_BLACK(50, 17); IS_BLACK(50, 22);
    IS_WHITE(10, 20); IS_WHITE(89, 20);        /* butt caps: exactly to the ends */
    IS_BLACK(9, 20);  IS_BLACK(90, 20);
    IS_WHITE(15, 50); IS_BLACK(25, 50); IS_WHITE(35, 50); IS_BLACK(45, 50);
    IS_WHITE(19, 50); IS_BLACK(20, 50);
    IS_WHITE(25, 80); IS_WHITE(45, 80);
}

static void test_text_box_and_align(void **state)
{
    (void)state;
    kn_doc *d = DOC(200, 100, text("Hello", 20, 60, "left", "alphabetic"));
    draw(d);
    box b = ink(200, 100);
    assert_true(b.n > 100);
    assert_in_range(b.x0, 20, 26);             /* 'H' starts at its side bearing */
    assert_in_range(b.x1, 80, 130);            /* "Hello" at 32 px is ~80 px wide */
    assert_in_range(b.y1, 57, 60);             /* sits on the baseline at 60 */
    assert_in_range(b.y0, 32, 40);             /* cap height ~23 px */
    int width = b.x1 - b.x0;

    teardown(NULL);
    d = DOC(200, 100, text("Hello", 100, 60, "center", "alphabetic"));
    draw(d);
    box c = ink(200, 100);
    assert_in_range(c.x1 - c.x0, width - 1, width + 1);
    assert_in_range((c.x0 + c.x1) / 2, 96, 104);
    assert_int_equal(c.y1, b.y1);

    teardown(NULL);
    d = DOC(200, 100, text("Hello", 180, 60, "right", "alphabetic"));
    draw(d);
    box r = ink(200, 100);
    assert_in_range(r.x1, 172, 180);
    assert_in_range(r.x1 - r.x0, width - 1, width + 1);

    /* baseline top: the logical box top at y = 10 */
    teardown(NULL);
    d = DOC(200, 100, text("Hello", 20, 10, "left", "top"));
    draw(d);
    box t = ink(200, 100);
    assert_in_range(t.y0, 11, 22);
    assert_true(t.y1 < 45);

    /* bottom: the logical box bottom at y = 90; ink above the descent */
    teardown(NULL);
    d = DOC(200, 100, text("Hello", 20, 90, "left", "bottom"));
    draw(d);
    box bt = ink(200, 100);
    assert_in_range(bt.y1, 75, 89);

    /* middle: centred on y = 50 (ink of caps sits a bit above the centre) */
    teardown(NULL);
    d = DOC(200, 100, text("Hello", 20, 50, "left", "middle"));
    draw(d);
    box m = ink(200, 100);
    assert_in_range((m.y0 + m.y1) / 2, 40, 56);

    /* two lines, centred: each line centred on x = 100 */
    teardown(NULL);
    d = DOC(200, 100, text("ii\nWWWW", 100, 5, "center", "top"));
    draw(d);
    box top = { 200, 100, -1, -1, 0 };
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 200; x++)
            if (px(x, y) != BLACK) {
                if (x < top.x0) top.x0 = x;
                if (x > top.x1) top.x1 = x;
            }
    assert_in_range((top.x0 + top.x1) / 2, 96, 104);
    assert_true(top.x1 - top.x0 < 30);         /* "ii" is narrow */
}

static void test_text_stroke_and_rotation(void **state)
{
    (void)state;
    kn_elem t = text("Hello", 100, 50, "center", "middle");
    set(&t, KN_P_FILL, C(0, 0, 0, 0));
    set(&t, KN_P_STROKE, C(1, 0, 0, 1));
    set(&t, KN_P_STROKE_WIDTH, N(1));
    kn_doc *d = DOC(200, 100, t);
    draw(d);
    box b = ink(200, 100);
    assert_true(b.n > 50);
    for (int y = b.y0; y <= b.y1; y++)             /* red outline only */
        for (int x = b.x0; x <= b.x1; x++) {
            assert_int_equal(G(x, y), 0);
            assert_int_equal(Bl(x, y), 0);
        }
    assert_in_range((b.x0 + b.x1) / 2, 95, 105);

    /* rotated 90 about its own centre: tall instead of wide, same centre */
    teardown(NULL);
    kn_elem tr = text("Hello", 100, 50, "center", "middle");
    set(&tr, KN_P_ROTATION, N(90));
    d = DOC(200, 100, tr);
    draw(d);
    box r = ink(200, 100);
    assert_true(r.y1 - r.y0 > 2 * (r.x1 - r.x0));
    assert_in_range((r.x0 + r.x1) / 2, 90, 110);
    assert_in_range((r.y0 + r.y1) / 2, 45, 55);
}

static void test_polygon_vs_polyline(void **state)
{
    (void)state;
    kn_elem pg = E(KN_E_POLYGON);
    set(&pg, KN_P_POINTS, ARR(10, 10, 40, 10, 40, 40));
    set(&pg, KN_P_STROKE, WHITE); set(&pg, KN_P_STROKE_WIDTH, N(2));
    kn_elem pl = E(KN_E_POLYLINE);
    set(&pl, KN_P_POINTS, ARR(60, 10, 90, 10, 90, 40));
    set(&pl, KN_P_STROKE, WHITE); set(&pl, KN_P_STROKE_WIDTH, N(2));
    kn_elem pf = E(KN_E_POLYLINE);                 /* an open polyline still fills */
    set(&pf, KN_P_POINTS, ARR(60, 60, 90, 60, 90, 90));
    set(&pf, KN_P_FILL, WHITE);
    kn_doc *d = DOC(100, 100, pg, pl, pf);
    draw(d);
    assert_true(R(25, 25) > 100);              /* polygon: closing diagonal drawn */
    IS_BLACK(75, 25);                          /* polyline: no closing edge */
    assert_true(R(75, 10) > 100); assert_true(R(90, 25) > 100);
    IS_BLACK(30, 20);                          /* no fill */
    IS_WHITE(85, 70);                          /* filled triangle interior */
    IS_BLACK(65, 85);
}

static void test_group_translate(void **state)
{
    (void)state;
    kn_elem g = group(10, 20, 1, (kn_elem[]){ rect(0, 0, 10, 10, WHITE) });
    kn_elem gr = group(60, 60, 1, (kn_elem[]){ rect(0, 0, 20, 10, WHITE) });
    set(&gr, KN_P_ROTATION, N(90));            /* about the group's (x, y) */
    kn_doc *d = DOC(100, 100, g, gr);
    draw(d);
    IS_WHITE(10, 20); IS_WHITE(19, 29);
    IS_BLACK(9, 20); IS_BLACK(20, 29); IS_BLACK(5, 5);
    /* (0..20, 0..10) turned clockwise about (60,60): x 50..60, y 60..80 */
    IS_WHITE(55, 75); IS_BLACK(65, 65); IS_BLACK(55, 55);
}

static void test_invisible_and_degenerate(void **state)
{
    (void)state;
    kn_elem hid = rect(0, 0, 50, 50, WHITE);
    set(&hid, KN_P_VISIBLE, B(0));
    kn_elem clear = rect(0, 0, 50, 50, WHITE);
    set(&clear, KN_P_OPACITY, N(0));
    kn_elem flat = rect(0, 0, 50, 50, WHITE);
    set(&flat, KN_P_SCALE, ARR(0, 1));         /* would make Cairo's matrix singular */
    kn_elem el = E(KN_E_ELLIPSE);
    set(&el, KN_P_RX, N(0)); set(&el, KN_P_RY, N(5)); set(&el, KN_P_FILL, WHITE);
    kn_elem notext = text("", 10, 10, "left", "top");
    kn_elem tiny = text("x", 10, 10, "left", "top");
    set(&tiny, KN_P_SIZE, N(0));
    kn_elem hg = group(0, 0, 1, (kn_elem[]){ rect(0, 0, 10, 10, WHITE) });
    set(&hg, KN_P_VISIBLE, B(0));
    /* values a document cannot hold but an overflowing tween could reach */
    kn_elem inf = rect(0, 0, 50, 50, WHITE);
    set(&inf, KN_P_ROTATION, N(10));
    set(&inf, KN_P_ORIGIN, ARR(INFINITY, 0));
    kn_elem nan = E(KN_E_POLYLINE);
    set(&nan, KN_P_POINTS, ARR(0, 0, NAN, 10, 30, 30));
    set(&nan, KN_P_STROKE, WHITE);
    kn_doc *d = DOC(64, 64, hid, clear, flat, el, notext, tiny, hg, inf, nan);
    draw(d);
    box b = ink(64, 64);
    assert_int_equal(b.n, 0);

    /* the canvas still draws afterwards */
    kn_err err;
    kn_doc *d2 = DOC(64, 64, rect(0, 0, 8, 8, WHITE));
    kn_state *st = kn_state_create(d2);
    assert_int_equal(kn_draw_frame(g_canvas, d2, st, &err), KN_OK);
    IS_WHITE(7, 7);
    IS_BLACK(8, 8);
    kn_state_destroy(st);
}

static void test_errors(void **state)
{
    (void)state;
    kn_err err;
    kn_canvas *c = (kn_canvas *)&err;
    assert_int_equal(kn_canvas_create(0, 10, &c, &err), KN_EINVAL);
    assert_null(c);
    kn_canvas_destroy(NULL);

    kn_doc *d = DOC(64, 64, rect(0, 0, 8, 8, WHITE));
    g_state = kn_state_create(d);
    assert_int_equal(kn_canvas_create(32, 32, &g_canvas, &err), KN_OK);
    assert_int_equal(kn_draw_frame(g_canvas, d, g_state, &err), KN_EINVAL);
    assert_true(strstr(err.msg, "32x32") != NULL);
}

static void test_png(void **state)
{
    (void)state;
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    kn_doc *d = DOC(64, 48, rect(0, 0, 8, 8, WHITE));
    draw(d);
    kn_err err;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(kn_canvas_png_buffer(g_canvas, &buf, &len, &err), KN_OK);
    assert_non_null(buf);
    assert_true(len > 8 + 25);
    assert_memory_equal(buf, sig, 8);
    /* IHDR: width and height big-endian at offsets 16 and 20 */
    assert_int_equal((buf[16] << 24) | (buf[17] << 16) | (buf[18] << 8) | buf[19], 64);
    assert_int_equal((buf[20] << 24) | (buf[21] << 16) | (buf[22] << 8) | buf[23], 48);

    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    assert_true(dir[0] != '\0');
    snprintf(path, sizeof path, "%s/f.png", dir);
    assert_int_equal(kn_canvas_write_png(g_canvas, path, &err), KN_OK);
    size_t flen = 0;
    char *file = tu_read_file(path, &flen);
    assert_non_null(file);
    assert_int_equal(flen, len);
    assert_memory_equal(file, buf, len);
    free(file);
    free(buf);

    snprintf(path, sizeof path, "%s/no/such/dir/f.png", dir);
    assert_int_not_equal(kn_canvas_write_png(g_canvas, path, &err), KN_OK);
    assert_true(err.msg[0] != '\0');
    tu_rmtree(dir);
}

/* fontconfig keeps its parsed configuration for the life of the process
 * (only FcFini frees it, and fontconfig is not linked directly). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_rect_covers_whole_pixels, teardown),
        cmocka_unit_test_teardown(test_background_and_rounded_rect, teardown),
        cmocka_unit_test_teardown(test_circle_ellipse, teardown),
        cmocka_unit_test_teardown(test_rotation_clockwise, teardown),
        cmocka_unit_test_teardown(test_scale_about_origin, teardown),
        cmocka_unit_test_teardown(test_opacity, teardown),
        cmocka_unit_test_teardown(test_stroke_width_and_dash, teardown),
        cmocka_unit_test_teardown(test_text_box_and_align, teardown),
        cmocka_unit_test_teardown(test_text_stroke_and_rotation, teardown),
        cmocka_unit_test_teardown(test_polygon_vs_polyline, teardown),
        cmocka_unit_test_teardown(test_group_translate, teardown),
        cmocka_unit_test_teardown(test_invisible_and_degenerate, teardown),
        cmocka_unit_test_teardown(test_errors, teardown),
        cmocka_unit_test_teardown(test_png, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* Drop the process-wide font caches so LeakSanitizer sees only leaks. */
    pango_cairo_font_map_set_default(NULL);
    cairo_debug_reset_static_data();
    return failed;
}
