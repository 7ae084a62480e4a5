/*
 * tests/test_path.c - lang/path: SVG path data parsed into Cairo segments.
 *
 *  - exact segments for every command, absolute and relative, implicit
 *    repeats, compact numbers, S/T reflection rules and closepath;
 *  - arcs checked against an independent textbook implementation of SVG
 *    F.6.5 (center, radii, swept angle), sampled along every cubic for the
 *    approximation error, plus the F.6.2 / F.6.6 edge cases;
 *  - error codes, columns and messages for malformed data, and the caps;
 *  - pixels: each of a set of tricky paths is written as an SVG file, drawn
 *    by rsvg-convert (librsvg, an independent SVG implementation that does
 *    its own path parsing and arc conversion) and drawn by Cairo from
 *    kn_path_append, and the two images are compared. Deliberately wrong
 *    paths (a flipped arc flag, a shifted subpath) must fail that same
 *    comparison, so it is known to be able to fail. Skipped only when
 *    rsvg-convert is not installed.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cairo.h>

#include "lang/path.h"
#include "tests/support/rsvg.h"
#include "tests/support/testutil.h"

#define EXACT 0.0
#define ARC_EPS 1e-9

#define assert_near(a, b, tol) near_((a), (b), (tol), #a, __FILE__, __LINE__)

static void near_(double a, double b, double tol, const char *what, const char *file,
                  int line)
{
    if (!(fabs(a - b) <= tol))
        fail_msg("%s:%d: %s = %.17g, expected %.17g (tolerance %g)", file, line, what, a, b,
                 tol);
}

/* ---- helpers -------------------------------------------------------------- */

#define MAXSEG 4096
static kn_path_seg g_seg[MAXSEG];

/* Parses d, which must succeed, into g_seg; returns the segment count. */
static size_t parse_ok(const char *d, kn_path **out)
{
    kn_path *p = NULL;
    kn_err err;
    int col = -1;
    kn_err_clear(&err);
    int rc = kn_path_parse(d, &p, &col, &err);
    if (rc != KN_OK) fail_msg("\"%s\" failed: %s", d, err.msg);
    assert_non_null(p);
    assert_int_equal(col, 0);
    assert_int_equal(err.code, KN_OK);
    size_t n = kn_path_segments(p, g_seg, MAXSEG);
    assert_int_equal(n, kn_path_count(p));
    assert_true(n <= MAXSEG);
    if (out) *out = p;
    else kn_path_destroy(p);
    return n;
}

/* Checks segment i: op and its points (pts: 2 per point) to within tol. */
static void seg_is(size_t i, kn_path_op op, const double *pts, double tol)
{
    static const int np[4] = { 1, 1, 3, 0 };
    if (g_seg[i].op != op) fail_msg("segment %zu is op %d, expected %d", i, g_seg[i].op, op);
    for (int k = 0; k < np[op]; k++) {
        if (!(fabs(g_seg[i].pt[k][0] - pts[2 * k]) <= tol) ||
            !(fabs(g_seg[i].pt[k][1] - pts[2 * k + 1]) <= tol))
            fail_msg("segment %zu point %d is (%.17g, %.17g), expected (%.17g, %.17g)", i, k,
                     g_seg[i].pt[k][0], g_seg[i].pt[k][1], pts[2 * k], pts[2 * k + 1]);
    }
}

#define MOVE(i, x, y) seg_is((i), KN_PATH_MOVE_TO, (const double[]){ (x), (y) }, EXACT)
#define LINE(i, x, y) seg_is((i), KN_PATH_LINE_TO, (const double[]){ (x), (y) }, EXACT)
#define CURVE(i, a, b, c, d, e, f) \
    seg_is((i), KN_PATH_CURVE_TO, (const double[]){ (a), (b), (c), (d), (e), (f) }, EXACT)
#define CLOSE(i) seg_is((i), KN_PATH_CLOSE, (const double[]){ 0 }, EXACT)

/* Both data strings give the same segments, bit for bit. */
static void same_segments(const char *a, const char *b)
{
    static kn_path_seg first[MAXSEG];
    size_t na = parse_ok(a, NULL);
    memcpy(first, g_seg, na * sizeof *first);
    size_t nb = parse_ok(b, NULL);
    if (na != nb) fail_msg("\"%s\": %zu segments, \"%s\": %zu", a, na, b, nb);
    if (memcmp(first, g_seg, na * sizeof *first) != 0)
        fail_msg("\"%s\" and \"%s\" differ", a, b);
}

/* Parses d, which must fail with code at column col, message containing
 * want (may be NULL). */
static void parse_fails(const char *d, int code, int col, const char *want)
{
    kn_path *p = (kn_path *)&p;   /* must be reset to NULL */
    kn_err err;
    int c = -1;
    kn_err_clear(&err);
    int rc = kn_path_parse(d, &p, &c, &err);
    if (rc != code) fail_msg("\"%.60s\": rc %d (%s), expected %d", d, rc, err.msg, code);
    assert_null(p);
    assert_int_equal(err.code, code);
    assert_string_equal(err.path, "");
    if (c != col) fail_msg("\"%.60s\": column %d (%s), expected %d", d, c, err.msg, col);
    if (want && !strstr(err.msg, want))
        fail_msg("\"%.60s\": message \"%s\" lacks \"%s\"", d, err.msg, want);
    if (col > 0) {
        char at[32];
        snprintf(at, sizeof at, "column %d:", col);
        if (!strstr(err.msg, at)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, at);
    }
}

/* ---- commands --------------------------------------------------------------- */

static void test_empty(void **state)
{
    (void)state;
    kn_path *p = NULL;
    double box[4] = { 1, 2, 3, 4 };
    assert_int_equal(parse_ok("", &p), 0);
    assert_int_equal(kn_path_extents(p, box), 0);
    assert_true(box[0] == 0 && box[1] == 0 && box[2] == 0 && box[3] == 0);
    kn_path_destroy(p);
    assert_int_equal(parse_ok(" \t\r\n\f", NULL), 0);
    /* NULL-safe accessors */
    kn_path_destroy(NULL);
    assert_int_equal(kn_path_count(NULL), 0);
    assert_int_equal(kn_path_segments(NULL, g_seg, MAXSEG), 0);
    assert_int_equal(kn_path_extents(NULL, box), 0);
    kn_path_append(NULL, NULL);
}

static void test_absolute(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("M10 20 L30 40 H50 V60 Z", NULL), 5);
    MOVE(0, 10, 20);
    LINE(1, 30, 40);
    LINE(2, 50, 40);
    LINE(3, 50, 60);
    CLOSE(4);
    assert_int_equal(parse_ok("M0 0 C1 2 3 4 5 6", NULL), 2);
    CURVE(1, 1, 2, 3, 4, 5, 6);
}

static void test_relative(void **state)
{
    (void)state;
    /* The first m is absolute; after z, m is relative to the subpath start. */
    assert_int_equal(parse_ok("m10 20 l5 5 h10 v-5 z m5 5 l1 1", NULL), 7);
    MOVE(0, 10, 20);
    LINE(1, 15, 25);
    LINE(2, 25, 25);
    LINE(3, 25, 20);
    CLOSE(4);
    MOVE(5, 15, 25);
    LINE(6, 16, 26);
    assert_int_equal(parse_ok("M1 1 c1 2 3 4 5 6 c1 1 2 2 3 3", NULL), 3);
    CURVE(1, 2, 3, 4, 5, 6, 7);
    CURVE(2, 7, 8, 8, 9, 9, 10);
    /* Relative forms equal the absolute ones for every command. */
    same_segments("M10 10 l10 0 h5 v5 c1 1 2 2 3 3 s4 4 5 5 q1 1 2 2 t3 3 a5 5 0 0 1 5 5 z",
                  "M10 10 L20 10 H25 V15 C26 16 27 17 28 18 S32 22 33 23 Q34 24 35 25 "
                  "T38 28 A5 5 0 0 1 43 33 Z");
}

static void test_close_moves_current_point(void **state)
{
    (void)state;
    /* A drawing command right after Z starts at the subpath start, with an
     * explicit MOVE_TO; relative coordinates count from there. */
    assert_int_equal(parse_ok("M10 10 h10 v10 z l5 0 Z h-3", NULL), 9);
    MOVE(0, 10, 10);
    LINE(1, 20, 10);
    LINE(2, 20, 20);
    CLOSE(3);
    MOVE(4, 10, 10);
    LINE(5, 15, 10);
    CLOSE(6);
    MOVE(7, 10, 10);
    LINE(8, 7, 10);
    /* Z Z and Z M do not invent segments. */
    assert_int_equal(parse_ok("M1 1 L2 2 Z Z M5 5 L6 6", NULL), 6);
    CLOSE(2);
    CLOSE(3);
    MOVE(4, 5, 5);
    /* M after M: both kept (Cairo drops the lone one itself). */
    assert_int_equal(parse_ok("M1 1 M2 2 L3 3", NULL), 3);
    MOVE(0, 1, 1);
    MOVE(1, 2, 2);
}

static void test_implicit_repeats(void **state)
{
    (void)state;
    /* Pairs after M are L, after m are l. */
    assert_int_equal(parse_ok("M0 0 10 0 10 10", NULL), 3);
    MOVE(0, 0, 0);
    LINE(1, 10, 0);
    LINE(2, 10, 10);
    assert_int_equal(parse_ok("m1 1 2 2 3 3", NULL), 3);
    MOVE(0, 1, 1);
    LINE(1, 3, 3);
    LINE(2, 6, 6);
    same_segments("M0,0L10,10,20,20 30 30", "M0 0 L10 10 L20 20 L30 30");
    same_segments("M0 0h1 2 3v4 5", "M0 0 H1 H3 H6 V4 V9");
    same_segments("M0 0C1 1 2 2 3 3 4 4 5 5 6 6", "M0 0 C1 1 2 2 3 3 C4 4 5 5 6 6");
    same_segments("M0 0a1 1 0 0 1 1 1 1 1 0 0 1 1 1", "M0 0 a1 1 0 0 1 1 1 a1 1 0 0 1 1 1");
    same_segments("M0 0q1 1 2 0 1 -1 2 0 t2 0 2 0", "M0 0 q1 1 2 0 q1 -1 2 0 t2 0 t2 0");
}

static void test_number_syntax(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("M.5.5-1-2e1", NULL), 2);
    MOVE(0, 0.5, 0.5);
    LINE(1, -1, -20);
    assert_int_equal(parse_ok("M1e-3,2E+2 L+1-.5 1.e1 .1e1 -0 5.", NULL), 4);
    MOVE(0, 0.001, 200);
    LINE(1, 1, -0.5);
    LINE(2, 10, 1);
    LINE(3, 0, 5);
    /* Numbers right after a command letter and before the next one. */
    same_segments("M1,2L3,4", "M 1 2 L 3 4");
    same_segments("M1-2l-3-4z", "M1 -2 l -3 -4 z");
    same_segments("M0 0\tL\n1\r2\f3,\t4", "M0 0 L1 2 3 4");
    /* Leading zeros and a long mantissa are plain decimals. */
    assert_int_equal(parse_ok("M007 0.1000000000000000000000000000001", NULL), 1);
    MOVE(0, 7, 0.1);
    /* Extreme but legal magnitudes. */
    assert_int_equal(parse_ok("M1e9 -1e9 L1e-300 0", NULL), 2);
    MOVE(0, 1e9, -1e9);
    LINE(1, 1e-300, 0);
}

static void test_arc_flag_syntax(void **state)
{
    (void)state;
    same_segments("M0 0a1 1 0 00 1 1", "M0 0 a1,1,0,0,0,1,1");
    same_segments("M0 0a1 1 0 111 1", "M0 0 a1 1 0 1 1 1 1");
    same_segments("M0 0A1,1,0,1,0,1,1", "M0 0 A1 1 0 1 0 1 1");
    same_segments("M0 0a1 1 0 0,1.5.5", "M0 0 a1 1 0 0 1 .5 .5");
}

static void test_quadratic_exact(void **state)
{
    (void)state;
    /* Q to C: control points at (p0 + 2q) / 3 and (p + 2q) / 3. */
    assert_int_equal(parse_ok("M0 0 Q3 6 6 0", NULL), 2);
    CURVE(1, 2, 4, 4, 4, 6, 0);
    /* T reflects the last quadratic control point (3,6) about (6,0). */
    assert_int_equal(parse_ok("M0 0 Q3 6 6 0 T12 0 T18 0", NULL), 4);
    CURVE(2, 8, -4, 10, -4, 12, 0);
    CURVE(3, 14, 4, 16, 4, 18, 0);  /* q = 2*(12,0) - (9,-6) = (15,6) */
    same_segments("M0 0 q3 6 6 0 t6 0 t6 0", "M0 0 Q3 6 6 0 T12 0 T18 0");
    /* T after anything but Q/T: the control point is the current point,
     * and a cubic's control point is never reflected into a T. */
    assert_int_equal(parse_ok("M0 0 L3 0 T6 3", NULL), 3);
    CURVE(2, 3, 0, 4, 1, 6, 3);
    assert_int_equal(parse_ok("M0 0 C0 3 3 6 3 0 T9 3", NULL), 3);
    CURVE(2, 3, 0, 5, 1, 9, 3);
    assert_int_equal(parse_ok("M3 0 T9 3", NULL), 2);
    CURVE(1, 3, 0, 5, 1, 9, 3);
    /* Z breaks the chain too. */
    assert_int_equal(parse_ok("M0 0 Q3 6 6 0 Z T6 3", NULL), 5);
    CURVE(4, 0, 0, 2, 1, 6, 3);
}

static void test_smooth_cubic(void **state)
{
    (void)state;
    /* S after C reflects the second control point (3,6) about (6,6). */
    assert_int_equal(parse_ok("M0 0 C0 3 3 6 6 6 S12 3 12 0 S15 -3 18 0", NULL), 4);
    CURVE(2, 9, 6, 12, 3, 12, 0);
    CURVE(3, 12, -3, 15, -3, 18, 0);
    same_segments("M0 0 c0 3 3 6 6 6 s6 -3 6 -6 s3 -3 6 0",
                  "M0 0 C0 3 3 6 6 6 S12 3 12 0 S15 -3 18 0");
    /* S after L, Q, T, A, M or Z: first control point = current point. */
    assert_int_equal(parse_ok("M0 0 L6 6 S12 3 12 0", NULL), 3);
    CURVE(2, 6, 6, 12, 3, 12, 0);
    assert_int_equal(parse_ok("M0 0 Q3 6 6 0 S12 3 12 0", NULL), 3);
    CURVE(2, 6, 0, 12, 3, 12, 0);
    assert_int_equal(parse_ok("M1 1 S12 3 12 0", NULL), 2);
    CURVE(1, 1, 1, 12, 3, 12, 0);
    assert_int_equal(parse_ok("M0 0 C0 3 3 6 6 6 Z S1 1 2 2", NULL), 5);
    CURVE(4, 0, 0, 1, 1, 2, 2);
    size_t n = parse_ok("M0 0 C0 3 3 6 6 6 A1 1 0 0 1 8 6 S9 9 10 10", NULL);
    assert_true(n >= 4);
    CURVE(n - 1, 8, 6, 9, 9, 10, 10);
}

/* ---- arcs ------------------------------------------------------------------- */

/* The textbook F.6.5 conversion with F.6.6 scaling, written independently of
 * lang/path.c (plain formulas, no care for overflow): center, radii and
 * the swept angle. */
typedef struct ref_arc {
    double cx, cy, rx, ry, phi, th1, dth;
} ref_arc;

static ref_arc ref_arc_of(double x1, double y1, double rx, double ry, double phi_deg,
                          int fa, int fs, double x2, double y2)
{
    ref_arc a;
    double phi = phi_deg * M_PI / 180;
    double c = cos(phi), s = sin(phi);
    double xp = c * (x1 - x2) / 2 + s * (y1 - y2) / 2;
    double yp = -s * (x1 - x2) / 2 + c * (y1 - y2) / 2;
    rx = fabs(rx);
    ry = fabs(ry);
    double lambda = xp * xp / (rx * rx) + yp * yp / (ry * ry);
    if (lambda > 1) {
        rx *= sqrt(lambda);
        ry *= sqrt(lambda);
    }
    double num = rx * rx * ry * ry - rx * rx * yp * yp - ry * ry * xp * xp;
    double den = rx * rx * yp * yp + ry * ry * xp * xp;
    double f = num > 0 ? sqrt(num / den) : 0;
    if (fa == fs) f = -f;
    double cxp = f * rx * yp / ry, cyp = -f * ry * xp / rx;
    a.cx = c * cxp - s * cyp + (x1 + x2) / 2;
    a.cy = s * cxp + c * cyp + (y1 + y2) / 2;
    a.rx = rx;
    a.ry = ry;
    a.phi = phi;
    a.th1 = atan2((yp - cyp) / ry, (xp - cxp) / rx);
    double th2 = atan2((-yp - cyp) / ry, (-xp - cxp) / rx);
    a.dth = th2 - a.th1;
    if (!fs && a.dth > 0) a.dth -= 2 * M_PI;
    if (fs && a.dth < 0) a.dth += 2 * M_PI;
    return a;
}

/* Where (x, y) is in the arc's unit-circle space: radius and angle. */
static void unit_of(const ref_arc *a, double x, double y, double *r, double *th)
{
    double c = cos(a->phi), s = sin(a->phi);
    double u = (c * (x - a->cx) + s * (y - a->cy)) / a->rx;
    double v = (-s * (x - a->cx) + c * (y - a->cy)) / a->ry;
    *r = hypot(u, v);
    *th = atan2(v, u);
}

static double bez(double p0, double p1, double p2, double p3, double t)
{
    double u = 1 - t;
    return u * u * u * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t * t * t * p3;
}

/* Parses "M x1 y1 A ..." and checks the curves against the reference arc:
 * every sampled point within tol user units of the ellipse, the angle
 * moving monotonically in the sweep direction and adding up to the
 * reference's swept angle, the end exactly (x2, y2). Returns the number of
 * cubic pieces. */
static size_t check_arc(double x1, double y1, double rx, double ry, double phi, int fa, int fs,
                        double x2, double y2, double tol)
{
    char d[256];
    snprintf(d, sizeof d, "M%.17g %.17g A%.17g %.17g %.17g %d %d %.17g %.17g", x1, y1, rx, ry,
             phi, fa, fs, x2, y2);
    size_t n = parse_ok(d, NULL);
    ref_arc a = ref_arc_of(x1, y1, rx, ry, phi, fa, fs, x2, y2);
    assert_true(n >= 2);
    double minr = a.rx < a.ry ? a.rx : a.ry;
    double px = x1, py = y1, r, th, prev_th, total = 0;
    unit_of(&a, x1, y1, &r, &prev_th);
    assert_near(prev_th, a.th1, 1e-9);
    for (size_t i = 1; i < n; i++) {
        if (g_seg[i].op != KN_PATH_CURVE_TO) fail_msg("%s: segment %zu is not a curve", d, i);
        const double(*q)[2] = (const double(*)[2])g_seg[i].pt;
        /* Each piece spans at most 90 degrees. */
        double r0, th0, r1, th1;
        unit_of(&a, px, py, &r0, &th0);
        unit_of(&a, q[2][0], q[2][1], &r1, &th1);
        double span = remainder(th1 - th0, 2 * M_PI);
        if (fabs(span) > M_PI / 2 + 1e-9) fail_msg("%s: piece %zu spans %g rad", d, i, span);
        for (int k = 1; k <= 32; k++) {
            double t = k / 32.0;
            double x = bez(px, q[0][0], q[1][0], q[2][0], t);
            double y = bez(py, q[0][1], q[1][1], q[2][1], t);
            unit_of(&a, x, y, &r, &th);
            /* radial error in unit space times the smaller radius bounds
             * the distance from the ellipse from below; use the larger
             * radius to bound it from above */
            double rmax = a.rx > a.ry ? a.rx : a.ry;
            if (!(fabs(r - 1) * rmax <= tol + 1e-9 * rmax))
                fail_msg("%s: piece %zu t=%g is %g off the ellipse (min radius %g)", d, i, t,
                         fabs(r - 1) * rmax, minr);
            double step = remainder(th - prev_th, 2 * M_PI);
            if (step != 0 && (step > 0) != (a.dth > 0))
                fail_msg("%s: piece %zu t=%g runs against the sweep", d, i, t);
            total += step;
            prev_th = th;
        }
        px = q[2][0];
        py = q[2][1];
    }
    assert_near(total, a.dth, 1e-6);
    assert_true(px == x2 && py == y2);
    return n - 1;
}

static void test_arc_flags(void **state)
{
    (void)state;
    /* All four flag combinations between (0,0) and (10,0), r = 10: centers
     * (5, +-8.66); where each arc reaches tells which one was drawn. */
    const struct { int fa, fs; double ymin, ymax; } want[4] = {
        { 0, 0, 0, 10 - 5 * sqrt(3) },      /* small, counter-clockwise: dips */
        { 0, 1, 5 * sqrt(3) - 10, 0 },      /* small, clockwise: bulges up */
        { 1, 0, 0, 10 + 5 * sqrt(3) },      /* large, around the lower center */
        { 1, 1, -10 - 5 * sqrt(3), 0 },
    };
    for (int i = 0; i < 4; i++) {
        check_arc(0, 0, 10, 10, 0, want[i].fa, want[i].fs, 10, 0, KN_PATH_ARC_TOL);
        char d[64];
        kn_path *p;
        double box[4];
        snprintf(d, sizeof d, "M0 0 A10 10 0 %d %d 10 0", want[i].fa, want[i].fs);
        parse_ok(d, &p);
        assert_int_equal(kn_path_extents(p, box), 1);
        assert_near(box[1], want[i].ymin, 2e-3);
        assert_near(box[3], want[i].ymax, 2e-3);
        if (want[i].fa) {
            assert_near(box[0], -5, 2e-3);
            assert_near(box[2], 15, 2e-3);
        } else {
            assert_near(box[0], 0, 1e-12);
            assert_near(box[2], 10, 1e-12);
        }
        kn_path_destroy(p);
    }
}

static void test_arc_quarter_exact(void **state)
{
    (void)state;
    /* A small quarter circle is one cubic with the classic kappa. */
    const double k = 4.0 / 3.0 * tan(M_PI / 8);   /* 0.5522847... */
    assert_int_equal(parse_ok("M0 0 A2 2 0 0 1 2 2", NULL), 2);
    seg_is(1, KN_PATH_CURVE_TO, (const double[]){ 2 * k, 0, 2, 2 - 2 * k, 2, 2 }, 1e-12);
    /* rx, ry swapped by a 90 degree rotation: the same curve. */
    assert_int_equal(parse_ok("M0 0 A2 2 90 0 1 2 2", NULL), 2);
    seg_is(1, KN_PATH_CURVE_TO, (const double[]){ 2 * k, 0, 2, 2 - 2 * k, 2, 2 }, 1e-12);
    /* Larger radii get more pieces to stay within KN_PATH_ARC_TOL. */
    assert_int_equal(check_arc(0, 0, 2, 2, 0, 0, 1, 2, 2, KN_PATH_ARC_TOL), 1);
    assert_int_equal(check_arc(0, 0, 100, 100, 0, 0, 1, 100, 100, KN_PATH_ARC_TOL), 2);
    size_t big = check_arc(0, 0, 1e6, 1e6, 0, 0, 1, 1e6, 1e6, KN_PATH_ARC_TOL);
    assert_true(big > 4 && big < 64);
}

static void test_arc_rotated(void **state)
{
    (void)state;
    static const double phis[] = { 0, 30, -45, 90, 120, 200, 359, 720 + 15 };
    for (size_t i = 0; i < sizeof phis / sizeof phis[0]; i++)
        for (int f = 0; f < 4; f++) {
            check_arc(10, 20, 60, 25, phis[i], f >> 1, f & 1, 70, 50, KN_PATH_ARC_TOL);
            check_arc(-3, 7, 300, 40, phis[i], f >> 1, f & 1, 150, -90, KN_PATH_ARC_TOL);
        }
    /* Angles are taken mod 360, negative ones too. */
    same_segments("M0 0 A20 10 -330 0 1 15 12", "M0 0 A20 10 30 0 1 15 12");
}

static void test_arc_radii_too_small(void **state)
{
    (void)state;
    kn_path *p;
    double box[4];
    /* F.6.6: scaled up until the endpoints fit: a half circle of radius 5. */
    check_arc(0, 0, 1, 1, 0, 0, 1, 10, 0, KN_PATH_ARC_TOL);
    parse_ok("M0 0 A1 1 0 0 1 10 0", &p);
    kn_path_extents(p, box);
    assert_near(box[1], -5, 1e-3);
    assert_near(box[3], 0, 1e-12);
    kn_path_destroy(p);
    /* The ratio is kept: 2:1 becomes 5 x 2.5; the large flag is moot. */
    same_segments("M0 0 A2 1 0 0 0 10 0", "M0 0 A2 1 0 1 0 10 0");
    parse_ok("M0 0 A2 1 0 0 0 10 0", &p);
    kn_path_extents(p, box);
    assert_near(box[3], 2.5, 1e-3);
    assert_near(box[1], 0, 1e-12);
    kn_path_destroy(p);
    /* rotated and scaled */
    for (int f = 0; f < 4; f++) check_arc(5, 5, 3, 1, 35, f >> 1, f & 1, 90, 60, KN_PATH_ARC_TOL);
    /* radii just below the fit, exactly at it, and tiny: all one half circle */
    check_arc(0, 0, 5 - 1e-12, 5 - 1e-12, 0, 0, 1, 10, 0, KN_PATH_ARC_TOL);
    check_arc(0, 0, 5, 5, 0, 1, 0, 10, 0, KN_PATH_ARC_TOL);
    parse_ok("M0 0 A1e-300 1e-300 0 0 1 10 0", &p);
    kn_path_extents(p, box);
    assert_near(box[1], -5, 1e-3);
    kn_path_destroy(p);
}

static void test_arc_degenerate(void **state)
{
    (void)state;
    /* zero radius: a straight line (either radius) */
    assert_int_equal(parse_ok("M0 0 A0 5 0 0 1 10 10", NULL), 2);
    LINE(1, 10, 10);
    assert_int_equal(parse_ok("M0 0 a5 0 0 1 1 10 10", NULL), 2);
    LINE(1, 10, 10);
    /* identical endpoints: the arc is omitted, the next command goes on */
    assert_int_equal(parse_ok("M5 5 A10 10 0 1 1 5 5", NULL), 1);
    assert_int_equal(parse_ok("M5 5 a10 10 0 1 1 0 0 l1 1", NULL), 2);
    LINE(1, 6, 6);
    /* negative radii count as positive */
    same_segments("M0 0 A-20 -10 30 1 0 15 12", "M0 0 A20 10 30 1 0 15 12");
    /* a chord tiny next to the radius: the large arc is nearly the whole
     * circle, the small one nearly nothing */
    check_arc(0, 0, 10, 10, 0, 1, 1, 1e-3, 0, KN_PATH_ARC_TOL);
    check_arc(0, 0, 10, 10, 0, 0, 1, 1e-3, 0, KN_PATH_ARC_TOL);
    check_arc(0, 0, 1e6, 1e6, 0, 1, 0, 1e-6, 0, KN_PATH_ARC_TOL);
    kn_path *p;
    double box[4];
    parse_ok("M0 0 A10 10 0 1 1 1e-9 0", &p);
    kn_path_extents(p, box);
    /* the cubics stay within KN_PATH_ARC_TOL outside the circle, each side */
    assert_near(box[2] - box[0], 20, 2 * KN_PATH_ARC_TOL);
    assert_near(box[3] - box[1], 20, 2 * KN_PATH_ARC_TOL);
    kn_path_destroy(p);
    /* Chords so small next to the radii that rounding puts the raw angle on
     * the wrong side of 0: the large-arc flag still gets the near-full
     * ellipse (found by a random search; both sweeps). */
    static const char *const near_full[] = {
        "M-347.69254212625907 0 A10000000 7000000 182 1 0 -347.69254212561799 "
        "1.9232417889513271e-10",
        "M-50.730977639430655 0 A100000000 70000000 206 1 1 -50.730977639426648 "
        "1.2029560544541833e-12",
    };
    for (int i = 0; i < 2; i++) {
        parse_ok(near_full[i], &p);
        kn_path_extents(p, box);
        double r = i ? 1e8 : 1e7;
        if (!(box[2] - box[0] > 1.3 * r && box[3] - box[1] > 1.3 * r))
            fail_msg("%s: box %g x %g, not the near-full ellipse", near_full[i],
                     box[2] - box[0], box[3] - box[1]);
        kn_path_destroy(p);
    }
    /* a chord that underflows next to the radii: a line, never NaN */
    assert_int_equal(parse_ok("M0 0 A1e9 1e9 0 1 1 1e-320 0", NULL), 2);
    LINE(1, 1e-320, 0);
    /* extreme radius ratios that stay in range */
    /* a chord along the long axis: scaled to 5e-300 x 5, a flat half ellipse */
    parse_ok("M0 0 A1e-300 1 0 0 1 0 10", &p);
    kn_path_extents(p, box);
    assert_true(isfinite(box[0]) && isfinite(box[2]));
    assert_near(box[1], 0, 1e-9);
    assert_near(box[3], 10, 1e-9);
    kn_path_destroy(p);
}

/* ---- extents and Cairo -------------------------------------------------------- */

static void test_extents(void **state)
{
    (void)state;
    kn_path *p;
    double box[4];
    /* exact curve bounds, not the control polygon (which reaches -10) */
    parse_ok("M0 0 C0 -10 10 -10 10 0", &p);
    assert_int_equal(kn_path_extents(p, box), 1);
    assert_near(box[0], 0, EXACT);
    assert_near(box[1], -7.5, 1e-12);
    assert_near(box[2], 10, EXACT);
    assert_near(box[3], 0, EXACT);
    kn_path_destroy(p);
    /* an S-shaped cubic has two extremes per axis */
    parse_ok("M0 0 C10 -10 -10 -10 0 10 C 0 0 0 0 0 0", &p);
    kn_path_extents(p, box);
    double lo = 0, hi = 0;
    for (int i = 0; i <= 100000; i++) {
        double x = bez(0, 10, -10, 0, i / 100000.0);
        if (x < lo) lo = x;
        if (x > hi) hi = x;
    }
    assert_near(box[0], lo, 1e-6);
    assert_near(box[2], hi, 1e-6);
    kn_path_destroy(p);
    /* lone move points count, a CLOSE adds nothing */
    parse_ok("M-5 3 M10 10 L20 30 Z", &p);
    kn_path_extents(p, box);
    assert_true(box[0] == -5 && box[1] == 3 && box[2] == 20 && box[3] == 30);
    kn_path_destroy(p);
    /* a quadratic's bounds */
    parse_ok("M0 0 Q5 10 10 0", &p);
    kn_path_extents(p, box);
    assert_near(box[3], 5, 1e-12);
    kn_path_destroy(p);
}

static void test_append_to_cairo(void **state)
{
    (void)state;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 8, 8);
    cairo_t *cr = cairo_create(s);
    kn_path *p;
    size_t n = parse_ok("M1 2 L3 4 C5 6 7 8 9 10 Z l1 1 Q1 1 2 2", &p);
    cairo_move_to(cr, 100, 100);   /* appending keeps what is there */
    kn_path_append(p, cr);
    assert_int_equal(cairo_status(cr), CAIRO_STATUS_SUCCESS);
    cairo_path_t *cp = cairo_copy_path(cr);
    assert_int_equal(cp->status, CAIRO_STATUS_SUCCESS);
    /* Cairo replaces the lone move_to; a close_path is followed by Cairo's
     * own MOVE_TO, which here matches ours. Walk both lists. */
    size_t i = 0;
    for (int k = 0; k < cp->num_data; k += cp->data[k].header.length) {
        cairo_path_data_t *h = &cp->data[k];
        if (i >= n) fail_msg("Cairo has more segments than the path (%zu)", n);
        static const cairo_path_data_type_t map[4] = {
            CAIRO_PATH_MOVE_TO, CAIRO_PATH_LINE_TO, CAIRO_PATH_CURVE_TO, CAIRO_PATH_CLOSE_PATH
        };
        assert_int_equal(h->header.type, map[g_seg[i].op]);
        for (int j = 1; j < h->header.length; j++) {
            assert_near(h[j].point.x, g_seg[i].pt[j - 1][0], 1.0 / 256);
            assert_near(h[j].point.y, g_seg[i].pt[j - 1][1], 1.0 / 256);
        }
        i++;
    }
    assert_int_equal(i, n);
    cairo_path_destroy(cp);

    /* Coordinates at the limits leave cr usable. */
    kn_path_destroy(p);
    parse_ok("M-1e9 -1e9 L1e9 1e9 L1e9 0 A5e8 5e8 0 0 1 0 0 Z", &p);
    cairo_new_path(cr);
    kn_path_append(p, cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill_preserve(cr);
    cairo_stroke(cr);
    assert_int_equal(cairo_status(cr), CAIRO_STATUS_SUCCESS);
    kn_path_destroy(p);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}

/* ---- errors ----------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    parse_fails("L10 10", KN_EINVAL, 1, "must start with M or m, found 'L'");
    parse_fails("  z", KN_EINVAL, 3, "must start with M");
    parse_fails("M10", KN_EINVAL, 4, "expected a number, found the end of the data");
    parse_fails("M10 10 X5", KN_EINVAL, 8, "expected a command");
    parse_fails("M10,,10", KN_EINVAL, 5, "expected a number, found ','");
    parse_fails("M,1 2", KN_EINVAL, 2, "expected a number, found ','");
    parse_fails("M1 2 L3 4,", KN_EINVAL, 11, "expected a number after ','");
    parse_fails("M1 2 L3 4, L5 6", KN_EINVAL, 12, "expected a number after ','");
    parse_fails("M1 2 L3", KN_EINVAL, 8, "expected a number");
    parse_fails("M1 2 3", KN_EINVAL, 7, "expected a number");
    parse_fails("M0 0 A1 1 0 2 1 5 5", KN_EINVAL, 13, "expected an arc flag (0 or 1), found '2'");
    parse_fails("M0 0 A1 1 0 0 -1 5 5", KN_EINVAL, 15, "arc flag");
    parse_fails("M0 0 A1 1 0 0", KN_EINVAL, 14, "arc flag");
    parse_fails("M1e", KN_EINVAL, 4, "exponent");
    parse_fails("M1e+ 2", KN_EINVAL, 5, "exponent");
    parse_fails("M1 2 Z 3", KN_EINVAL, 8, "expected a command");
    parse_fails("M1 2 Z,M3 4", KN_EINVAL, 7, "found ','");
    parse_fails("M 1 2 L -", KN_EINVAL, 10, "expected a digit");
    parse_fails("M 1 2 L +-1 0", KN_EINVAL, 10, "expected a digit, found '-'");
    parse_fails("M 1 2 L . 0", KN_EINVAL, 10, "expected a digit");
    parse_fails("M 1 2 L 0x10 0", KN_EINVAL, 10, "expected a number, found 'x'");
    parse_fails("M inf 0", KN_EINVAL, 3, "expected a number, found 'i'");
    parse_fails("M 1 2 L \xc3\xa9", KN_EINVAL, 9, "non-ASCII");
    parse_fails("M 1 2\"", KN_EINVAL, 6, "double quote");
    parse_fails("M 1 2\x01", KN_EINVAL, 6, "control character 0x01");
    parse_fails("M 1e999 0", KN_EINVAL, 3, "out of range");
    parse_fails("M 0 0 L 1000000001 0", KN_EINVAL, 9, "out of range");
    parse_fails("M 0 0 L 1e-400 2e9", KN_EINVAL, 16, "out of range");
    /* relative coordinates running past the limit: the group's column */
    parse_fails("M1 1 L 1e9 0 l 1e9 0", KN_EINVAL, 16, "out of range");
    parse_fails("M0 0 h1e9 1", KN_EINVAL, 11, "out of range");
    /* an arc whose F.6.6 scaling puts it out of range */
    parse_fails("M0 0 A1e-300 10 0 0 1 10 10", KN_EINVAL, 7, "arc is too large");
    parse_fails("M0 0 a1 1 0 0 0 1e9 1e9 a1 1 0 0 0 1e9 1e9", KN_EINVAL, 7, "out of range");
    /* a NULL err and err_col are fine */
    kn_path *p = NULL;
    assert_int_equal(kn_path_parse("M", &p, NULL, NULL), KN_EINVAL);
    assert_null(p);
    assert_int_equal(kn_path_parse(NULL, &p, NULL, NULL), KN_EINVAL);
}

static void test_caps(void **state)
{
    (void)state;
    /* KN_PATH_MAX_BYTES of data is fine, one more byte is not */
    size_t cap = KN_PATH_MAX_BYTES;
    char *d = malloc(cap + 2);
    assert_non_null(d);
    memset(d, ' ', cap + 1);
    memcpy(d, "M1 2", 4);
    d[cap] = '\0';
    assert_int_equal(parse_ok(d, NULL), 1);
    d[cap] = ' ';
    d[cap + 1] = '\0';
    parse_fails(d, KN_ETOOBIG, 0, "longer than");

    /* one huge number: about 1 MB of digits */
    memset(d, '0', cap + 1);
    memcpy(d, "M0 0.5", 6);
    d[cap - 1] = '1';
    d[cap] = '\0';
    assert_int_equal(parse_ok(d, NULL), 1);
    assert_true(g_seg[0].pt[0][1] == 0.5);
    /* and one that underflows: 0 (or a subnormal), not an error */
    memcpy(d, "M0 0.0", 6);
    assert_int_equal(parse_ok(d, NULL), 1);
    assert_true(g_seg[0].pt[0][1] >= 0 && g_seg[0].pt[0][1] < 1e-300);

    /* segments: big full circles become ~69 cubics each; the one that
     * crosses KN_PATH_MAX_SEGMENTS is reported at its column */
    const char *arc = " a1e8,1e8,0,1,1,1,0";
    size_t al = strlen(arc), n = 0;
    memcpy(d, "M0,0", 4);
    size_t len = 4;
    while (len + al < cap) {
        memcpy(d + len, arc, al);
        len += al;
        n++;
    }
    d[len] = '\0';
    kn_path *p = NULL;
    kn_err err;
    int col = 0;
    int rc = kn_path_parse(d, &p, &col, &err);
    assert_int_equal(rc, KN_ETOOBIG);
    assert_null(p);
    assert_true(strstr(err.msg, "more than 1000000 segments") != NULL);
    assert_true(col > 4 && (size_t)col < len);
    assert_int_equal((size_t)(col - 1 - 4 - 2) % al, 0);   /* at an arc's first number */
    print_message("segment cap hit at column %d of %zu (%zu arcs)\n", col, len, n);
    free(d);
}

/* ---- pixels: against rsvg-convert ------------------------------------------------ */

#define W 200
#define H 200

/* The comparison. Both renderers are Cairo-based (librsvg 2.54 draws through
 * Cairo too, with the same default antialiasing and flattening tolerance),
 * so once the data is parsed alike, the only difference left is how arcs
 * become cubics: librsvg uses one cubic per 90 degrees (error up to
 * 2.7e-4 r, 0.016 px at r = 60), we use finer pieces (<= KN_PATH_ARC_TOL).
 * Different cubics flatten to different polygons (Cairo's 0.1 px
 * tolerance), which moves edge coverage on some edge pixels. Measured with
 * librsvg 2.54.7 / Cairo 1.16 over the 16 cases below: paths without arcs
 * are bit-identical; with arcs, mean <= 0.035/255, worst pixel 24/255, no
 * pixel off by more than 32/255. (Forcing our arcs to 90 degree pieces
 * makes all 16 bit-identical, so nothing else differs.) Thresholds:
 *  - mean absolute difference over all channels of all pixels < 0.5/255;
 *  - pixels differing by more than 32/255 in some channel: at most 0.05% of
 *    the image (20 pixels).
 * The wrong-data controls of test_render_negative land at mean >= 0.69/255
 * and >= 1.2% bad pixels (a square shifted by 1 px) and far above for a
 * flipped arc flag, so they fail both criteria. */
#define MEAN_MAX (0.5 / 255)
#define BAD_LEVEL 32
#define BAD_FRAC 0.0005

typedef struct diff {
    double mean;         /* in 0..1 units */
    int max;             /* 0..255 */
    double bad_frac;     /* share of pixels with a channel off by > BAD_LEVEL */
} diff;

static const char *FILL = "#3366cc", *STROKE = "#cc3300";
#define STROKE_W 3.0


static void paint_ours(cairo_t *cr, const kn_path *p)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_new_path(cr);
    kn_path_append(p, cr);
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
    cairo_set_source_rgb(cr, 0x33 / 255.0, 0x66 / 255.0, 0xcc / 255.0);
    cairo_fill_preserve(cr);
    /* SVG's stroke defaults: butt caps, miter joins, miter limit 4 */
    cairo_set_line_width(cr, STROKE_W);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_set_miter_limit(cr, 4);
    cairo_set_source_rgb(cr, 0xcc / 255.0, 0x33 / 255.0, 0);
    cairo_stroke(cr);
}

static diff compare(cairo_surface_t *a, cairo_surface_t *b)
{
    diff r = { 0, 0, 0 };
    cairo_surface_flush(a);
    cairo_surface_flush(b);
    assert_int_equal(cairo_image_surface_get_width(a), W);
    assert_int_equal(cairo_image_surface_get_height(a), H);
    assert_int_equal(cairo_image_surface_get_width(b), W);
    assert_int_equal(cairo_image_surface_get_height(b), H);
    const uint8_t *pa = cairo_image_surface_get_data(a), *pb = cairo_image_surface_get_data(b);
    int sa = cairo_image_surface_get_stride(a), sb = cairo_image_surface_get_stride(b);
    double sum = 0;
    long bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t *qa = pa + (size_t)y * sa + 4 * x, *qb = pb + (size_t)y * sb + 4 * x;
            int m = 0;
            for (int c = 0; c < 4; c++) {
                int dd = abs(qa[c] - qb[c]);
                sum += dd;
                if (dd > m) m = dd;
            }
            if (m > r.max) r.max = m;
            if (m > BAD_LEVEL) bad++;
        }
    r.mean = sum / (4.0 * W * H * 255);
    r.bad_frac = (double)bad / (W * H);
    return r;
}

static char g_dir[512];

/* Draws d with rsvg-convert and with kn_path_append (ours, or ours_d when
 * not NULL: the negative controls draw different data than the reference),
 * and returns the difference. The SVG file is the reference's. */
static diff render_pair(const char *name, const char *d, const char *ours_d)
{
    char svg[1024], png[1024], body[8192];
    snprintf(svg, sizeof svg, "%s/%s.svg", g_dir, name);
    snprintf(png, sizeof png, "%s/%s.png", g_dir, name);
    int n = snprintf(body, sizeof body,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                     "viewBox=\"0 0 %d %d\">\n"
                     "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
                     "<path d=\"%s\" fill=\"%s\" fill-rule=\"nonzero\" stroke=\"%s\" "
                     "stroke-width=\"%g\" stroke-miterlimit=\"4\"/>\n</svg>\n",
                     W, H, W, H, W, H, d, FILL, STROKE, STROKE_W);
    assert_true(n > 0 && (size_t)n < sizeof body);
    assert_int_equal(tu_write_file(svg, body, (size_t)n), 0);
    int rst = tu_rsvg_convert(svg, png);
    if (rst != 0) fail_msg("rsvg-convert %s failed (status %d)", svg, rst);

    cairo_surface_t *ref = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(ref), CAIRO_STATUS_SUCCESS);
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(img);
    kn_path *p = NULL;
    parse_ok(ours_d ? ours_d : d, &p);
    paint_ours(cr, p);
    assert_int_equal(cairo_status(cr), CAIRO_STATUS_SUCCESS);
    diff r = compare(ref, img);
    if (getenv("KN_PATH_KEEP")) {
        snprintf(png, sizeof png, "%s/%s.ours.png", g_dir, name);
        cairo_surface_write_to_png(img, png);
    }
    kn_path_destroy(p);
    cairo_destroy(cr);
    cairo_surface_destroy(img);
    cairo_surface_destroy(ref);
    return r;
}

static const struct { const char *name, *d; } g_cases[] = {
    /* the four flag combinations, each closed to show its fill */
    { "arc_00", "M50 100 A60 60 0 0 0 150 100 Z" },
    { "arc_01", "M50 100 A60 60 0 0 1 150 100 Z" },
    { "arc_10", "M60 70 A50 50 0 1 0 140 70 Z" },
    { "arc_11", "M60 130 A50 50 0 1 1 140 130 Z" },
    /* rotated ellipses, absolute and relative, both sweeps */
    { "arc_rotated", "M30 120 A80 35 30 0 1 170 110 A60 25 -60 1 1 60 50 z" },
    { "arc_rot_rel", "M40 60 a70 30 120 1 0 110 80 a40 80 -15 0 1 -40 40 z" },
    /* radii too small (F.6.6), a tiny radius, negative radii, angle > 360.
     * (librsvg 2.54 draws an arc of radius 1e-9 as a line where SVG and we
     * scale it up like any other: 1e-5 here, where both agree.) */
    { "arc_small", "M30 100 A10 5 20 0 1 170 100 a1e-5 1e-5 0 0 1 -70 40 Z" },
    { "arc_neg_wrap", "M40 100 A-60 -30 390 0 1 160 100 A60 30 -330 1 1 40 100" },
    /* nearly full circle from a tiny chord, zero radius, identical ends */
    { "arc_degenerate",
      "M100 30 A60 60 0 1 1 100.5 30 M20 20 A0 10 0 0 1 60 60 A30 30 0 1 1 60 60 L20 60 Z" },
    /* pie wedges with arcs in both directions, compact flags */
    { "pie", "M100 100 L180 100 A80 80 0 0 0 100 20 Z M100 100 l-80 0a80 80 0 0180 80z" },
    /* S chains, S after a line (no reflection), S after Q (none either) */
    { "smooth_s",
      "M20 100 C40 20 80 20 100 100 S160 180 180 100 S120 40 100 40 L60 160 S20 180 20 100 "
      "Q40 60 60 80 S90 90 100 60" },
    /* T chains, T after a line and after a cubic */
    { "smooth_t",
      "M20 100 Q60 20 100 100 T180 100 T140 180 L100 180 T20 140 T20 100 C30 60 40 60 50 60 "
      "T90 40" },
    /* every command relative */
    { "relative",
      "m20 20 l40 0 h40 v40 c0 20 -20 40 -40 40 s-40 -20 -40 -40 q0 -20 20 -30 t20 -30 z "
      "m100 100 l40 0 v40 h-40 z" },
    /* implicit repeats */
    { "repeats",
      "M20 20 60 20 60 60 20 60z m80 0 40 0 0 40 -40 0z M20 120 L60 120 70 150 40 180 "
      "C50 160 30 160 20 150 40 140 30 130 20 120 M120 120 h20 10 v20 10 h-30z" },
    /* compact number syntax */
    { "numbers",
      "M20,20h16e1v.8e2H2e1z M40.5 150.25l30-30 30 30-30 30-.5-.5z M110 130a20 20 0 1120 20"
      "l1e1-1E1.5.5+5+5-.5-.5" },
    /* subpaths: Z then relative m, drawing after Z without m, a hole */
    { "subpaths",
      "M20 20 h60 v60 h-60 z m100 0 h60 v60 h-60 z m-100 100 h60 v60 h-60 z l30 -20 h30 "
      "M120 120 h60 v60 h-60 z M135 135 v30 h30 v-30 z" },
};

static int setup_render(void **state)
{
    (void)state;
    tu_tmpdir(g_dir, sizeof g_dir);
    return g_dir[0] ? 0 : -1;
}

static int teardown_render(void **state)
{
    (void)state;
    if (getenv("KN_PATH_KEEP"))
        print_message("images kept in %s\n", g_dir);
    else
        tu_rmtree(g_dir);
    return 0;
}

static void test_render_vs_rsvg(void **state)
{
    (void)state;
    if (!tu_rsvg_available()) {
        print_message("rsvg-convert is not installed (librsvg2-bin): skipped\n");
        skip();
    }
    double worst_mean = 0, worst_bad = 0;
    int worst_max = 0, failed = 0;
    for (size_t i = 0; i < sizeof g_cases / sizeof g_cases[0]; i++) {
        diff r = render_pair(g_cases[i].name, g_cases[i].d, NULL);
        int ok = r.mean < MEAN_MAX && r.bad_frac <= BAD_FRAC;
        print_message("%-15s mean %.4f/255  max %3d/255  >%d: %.4f%%%s\n", g_cases[i].name,
                      r.mean * 255, r.max, BAD_LEVEL, r.bad_frac * 100, ok ? "" : "  FAIL");
        if (!ok) failed++;
        if (r.mean > worst_mean) worst_mean = r.mean;
        if (r.max > worst_max) worst_max = r.max;
        if (r.bad_frac > worst_bad) worst_bad = r.bad_frac;
    }
    print_message("worst: mean %.4f/255, max %d/255, >%d: %.4f%%\n", worst_mean * 255, worst_max,
                  BAD_LEVEL, worst_bad * 100);
    assert_int_equal(failed, 0);
}

/* The comparison above must be able to fail: wrong data must not pass. */
static void test_render_negative(void **state)
{
    (void)state;
    if (!tu_rsvg_available()) skip();
    static const struct { const char *name, *ref, *wrong; } neg[] = {
        { "neg_sweep", "M50 100 A60 60 0 0 0 150 100 Z", "M50 100 A60 60 0 0 1 150 100 Z" },
        { "neg_large", "M100 30 A60 60 0 1 1 100.5 30", "M100 30 A60 60 0 0 1 100.5 30" },
        { "neg_rot", "M30 120 A80 35 30 0 1 170 110 z", "M30 120 A80 35 -30 0 1 170 110 z" },
        /* S reflecting after a line would be a (common) bug */
        { "neg_s", "M20 100 L60 40 S120 180 180 100", "M20 100 L60 40 C100 -20 120 180 180 100" },
        /* relative m after z from the wrong point (the last point drawn) */
        { "neg_m", "M20 20 h60 v60 h-60 z m100 0 h60 v60 h-60 z",
          "M20 20 h60 v60 h-60 z M120 80 h60 v60 h-60 z" },
        /* one subpath off by a single pixel */
        { "neg_shift", "M20 20 h60 v60 h-60 z M120 120 h60 v60 h-60 z",
          "M20 20 h60 v60 h-60 z M121 120 h60 v60 h-60 z" },
    };
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
        diff r = render_pair(neg[i].name, neg[i].ref, neg[i].wrong);
        print_message("%-15s mean %.4f/255  max %3d/255  >%d: %.4f%%\n", neg[i].name,
                      r.mean * 255, r.max, BAD_LEVEL, r.bad_frac * 100);
        if (r.mean < MEAN_MAX && r.bad_frac <= BAD_FRAC)
            fail_msg("%s: wrong data passed the comparison", neg[i].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_absolute),
        cmocka_unit_test(test_relative),
        cmocka_unit_test(test_close_moves_current_point),
        cmocka_unit_test(test_implicit_repeats),
        cmocka_unit_test(test_number_syntax),
        cmocka_unit_test(test_arc_flag_syntax),
        cmocka_unit_test(test_quadratic_exact),
        cmocka_unit_test(test_smooth_cubic),
        cmocka_unit_test(test_arc_flags),
        cmocka_unit_test(test_arc_quarter_exact),
        cmocka_unit_test(test_arc_rotated),
        cmocka_unit_test(test_arc_radii_too_small),
        cmocka_unit_test(test_arc_degenerate),
        cmocka_unit_test(test_extents),
        cmocka_unit_test(test_append_to_cairo),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_caps),
        cmocka_unit_test_setup_teardown(test_render_vs_rsvg, setup_render, teardown_render),
        cmocka_unit_test_setup_teardown(test_render_negative, setup_render, teardown_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
