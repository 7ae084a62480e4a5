/*
 * tests/test_calc.c - computed values end to end through the parser and the
 * frame evaluator: "=expr" numbers on elements and vars, "{expr:fmt}" text
 * templates, points with x from linspace and y from an expression, and which
 * slots count as animated. Expected values are computed here independently
 * (closed forms, snprintf), not through the expression engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "doc/doc.h"
#include "render/timeline.h"

static kn_doc *parse(const char *src)
{
    kn_doc *d = NULL;
    kn_err err;
    if (kn_doc_parse(src, strlen(src), NULL, &d, &err) != KN_OK) fail_msg("%s: %s", err.path, err.msg);
    return d;
}

static int slot_of(const kn_doc *d, const char *name)
{
    for (size_t i = 0; i < d->nslots; i++)
        if (!strcmp(d->slot_name[i], name)) return (int)i;
    fail_msg("no slot %s", name);
    return -1;
}

static const char *DOC =
    "{\"width\": 640, \"height\": 360, \"fps\": 30, \"duration\": 2,"
    " \"vars\": {\"f\": 1, \"amp\": \"=100 + 20*sin(2*pi*t)\", \"half\": \"=width/2\"},"
    " \"elements\": ["
    "  {\"id\": \"wave\", \"type\": \"polyline\","
    "   \"points\": {\"x\": {\"linspace\": [0, 10, 11]}, \"y\": \"=amp*cos(f*x) + i\"}},"
    "  {\"id\": \"sq\", \"type\": \"rect\", \"x\": \"=544*smootheststep(t/2)\", \"y\": \"=half\","
    "   \"width\": 96, \"height\": 40},"
    "  {\"id\": \"label\", \"type\": \"text\", \"text\": \"Frequency={f:.3f} #{frame:04d} {{x}}\"}"
    " ],"
    " \"timeline\": {\"tween\": {\"f\": [1, 10], \"amp\": 0}, \"duration\": 2}}";

static double smootheststep(double x)
{
    return -20 * pow(x, 7) + 70 * pow(x, 6) - 84 * pow(x, 5) + 35 * pow(x, 4);
}

static void test_values_per_frame(void **state)
{
    (void)state;
    kn_doc *d = parse(DOC);
    kn_state *st = kn_state_create(d);
    assert_non_null(st);
    int s_x = slot_of(d, "sq.x"), s_y = slot_of(d, "sq.y"), s_pts = slot_of(d, "wave.points");
    int s_text = slot_of(d, "label.text"), s_amp = slot_of(d, "amp");
    const long frames[] = {0, 15, 30, 59, 7};
    for (size_t k = 0; k < sizeof frames / sizeof frames[0]; k++) {
        long fr = frames[k];
        double t = fr / 30.0;
        kn_state_eval_frame(st, fr);
        /* amp is computed (100 + 20 sin 2 pi t), then tweened from that
         * value to 0 over the whole clip (linear). */
        double amp0 = 100 + 20 * sin(2 * M_PI * t);
        double amp = amp0 + (0 - amp0) * (t / 2);
        double f = 1 + 9 * (t / 2);
        assert_true(fabs(kn_state_get(st, s_amp)->num - amp) < 1e-9);
        assert_true(fabs(kn_state_get(st, s_x)->num - 544 * smootheststep(t / 2)) < 1e-9);
        assert_true(kn_state_get(st, s_y)->num == 320);
        const kn_value *pts = kn_state_get(st, s_pts);
        assert_int_equal(pts->n, 22);
        for (int i = 0; i < 11; i++) {
            assert_true(pts->arr[2 * i] == i);
            assert_true(fabs(pts->arr[2 * i + 1] - (amp * cos(f * i) + i)) < 1e-9);
        }
        char want[128];
        snprintf(want, sizeof want, "Frequency=%.3f #%04ld {x}", f, fr);
        assert_string_equal(kn_state_get(st, s_text)->str, want);
    }
    kn_state_destroy(st);
    kn_doc_destroy(d);
}

static void test_animated_flags(void **state)
{
    (void)state;
    kn_doc *d = parse(DOC);
    assert_true(d->animated[slot_of(d, "sq.x")]);        /* uses t */
    assert_false(d->animated[slot_of(d, "sq.y")]);       /* width/2 only */
    assert_false(d->animated[slot_of(d, "half")]);
    assert_true(d->animated[slot_of(d, "wave.points")]); /* uses tweened f */
    assert_true(d->animated[slot_of(d, "label.text")]);  /* uses frame */
    assert_false(d->animated[slot_of(d, "sq.width")]);
    /* Calcs: the three vars' first (document order), then elements. */
    assert_true(d->ncalcs == 6);
    assert_true(d->calcs[0].is_var && d->calcs[1].is_var);
    assert_false(d->calcs[2].is_var);
    kn_doc_destroy(d);
}

static void test_nonfinite_is_kept(void **state)
{
    (void)state;
    kn_doc *d = parse("{\"width\": 64, \"height\": 64, \"fps\": 1, \"duration\": 1,"
                      " \"elements\": [{\"id\": \"c\", \"type\": \"circle\", \"cx\": \"=1/0\", \"cy\": 1, \"r\": \"=sqrt(-1)\"}]}");
    kn_state *st = kn_state_create(d);
    kn_state_eval_frame(st, 0);
    assert_true(isinf(kn_state_get(st, slot_of(d, "c.cx"))->num));
    assert_true(isnan(kn_state_get(st, slot_of(d, "c.r"))->num));
    kn_state_destroy(st);
    kn_doc_destroy(d);
}

static void test_scale_expression(void **state)
{
    (void)state;
    kn_doc *d = parse("{\"width\": 64, \"height\": 64, \"fps\": 10, \"duration\": 1,"
                      " \"elements\": [{\"id\": \"s\", \"type\": \"rect\", \"width\": 4, \"height\": 4,"
                      " \"scale\": \"=1 + t\"}]}");
    kn_state *st = kn_state_create(d);
    kn_state_eval_frame(st, 5);
    const kn_value *v = kn_state_get(st, slot_of(d, "s.scale"));
    assert_int_equal(v->n, 2);
    assert_true(fabs(v->arr[0] - 1.5) < 1e-12 && fabs(v->arr[1] - 1.5) < 1e-12);
    assert_true(d->animated[slot_of(d, "s.scale")]);
    kn_state_destroy(st);
    kn_doc_destroy(d);
}

/* Expressions as timeline and per-frame values: a tween between two
 * computed ends, a set computed when it applies, and a frame entry. */
static void test_timeline_value_expressions(void **state)
{
    (void)state;
    kn_doc *d = parse("{\"width\": 640, \"height\": 64, \"fps\": 10, \"duration\": 2,"
                      " \"vars\": {\"k\": 3},"
                      " \"elements\": [{\"id\": \"sq\", \"type\": \"rect\", \"width\": 4, \"height\": 4}],"
                      " \"timeline\": {\"sequence\": ["
                      "   {\"tween\": {\"sq.x\": [\"=width/4\", \"=width - 96\"]}, \"duration\": 1},"
                      "   {\"set\": {\"sq.y\": \"=t*10 + k\"}}]},"
                      " \"frames\": [{\"index\": 15, \"set\": {\"sq.width\": \"=frame*2\"}}]}");
    kn_state *st = kn_state_create(d);
    int sx = slot_of(d, "sq.x"), sy = slot_of(d, "sq.y"), sw = slot_of(d, "sq.width");
    kn_state_eval_frame(st, 5);                 /* t 0.5: halfway 160 -> 544 */
    assert_true(fabs(kn_state_get(st, sx)->num - 352) < 1e-9);
    assert_true(kn_state_get(st, sy)->num == 0);
    kn_state_eval_frame(st, 15);                /* t 1.5: set applied, evaluated now */
    assert_true(fabs(kn_state_get(st, sx)->num - 544) < 1e-9);
    assert_true(fabs(kn_state_get(st, sy)->num - 18) < 1e-9);
    assert_true(kn_state_get(st, sw)->num == 30);
    kn_state_eval_frame(st, 16);
    assert_true(kn_state_get(st, sw)->num == 4);
    kn_state_destroy(st);
    kn_doc_destroy(d);
}

/* Entries of an element's own arrays may be expressions. */
static void test_array_entry_expressions(void **state)
{
    (void)state;
    kn_doc *d = parse("{\"width\": 64, \"height\": 64, \"fps\": 10, \"duration\": 1,"
                      " \"elements\": [{\"id\": \"s\", \"type\": \"rect\", \"width\": 4, \"height\": 4,"
                      " \"stroke\": \"red\", \"origin\": [\"=width/2\", 7], \"scale\": [1, \"=1 + t\"],"
                      " \"dash\": [\"=2 + frame\", 3]}]}");
    kn_state *st = kn_state_create(d);
    kn_state_eval_frame(st, 4);
    const kn_value *o = kn_state_get(st, slot_of(d, "s.origin"));
    const kn_value *sc = kn_state_get(st, slot_of(d, "s.scale"));
    const kn_value *da = kn_state_get(st, slot_of(d, "s.dash"));
    assert_true(o->arr[0] == 32 && o->arr[1] == 7);
    assert_true(sc->arr[0] == 1 && fabs(sc->arr[1] - 1.4) < 1e-12);
    assert_true(da->arr[0] == 6 && da->arr[1] == 3);
    assert_true(d->animated[slot_of(d, "s.dash")]);
    assert_false(d->animated[slot_of(d, "s.origin")]);
    kn_state_destroy(st);
    kn_doc_destroy(d);
}

/* Scene lengths written in decimal add up with binary rounding (0.1 + 0.2
 * is just above 0.3); a scene still starts on the frame at its decimal start
 * time, and a repeat iteration starts on its boundary. */
static void test_decimal_boundaries(void **state)
{
    (void)state;
    kn_doc *d = parse(
        "{\"width\": 32, \"height\": 32, \"fps\": 10, \"duration\": 1,"
        " \"vars\": {\"c\": 0, \"px\": 0, \"r\": 0},"
        " \"timeline\": {\"parallel\": ["
        "  {\"sequence\": [{\"wait\": 0.1}, {\"wait\": 0.2}, {\"set\": {\"c\": 1}}]},"
        "  {\"sequence\": [{\"tween\": {\"px\": [0, 4]}, \"duration\": 0.1},"
        "                  {\"tween\": {\"px\": [4, 8]}, \"duration\": 0.2},"
        "                  {\"tween\": {\"px\": [16, 24]}, \"duration\": 0.5}]},"
        "  {\"tween\": {\"r\": [0, 10]}, \"duration\": 0.1, \"repeat\": 3}"
        " ]}}");
    kn_state *st = kn_state_create(d);
    assert_non_null(st);
    int c = slot_of(d, "c"), x = slot_of(d, "px"), r = slot_of(d, "r");
    kn_state_eval_frame(st, 2);                 /* t = 0.2: before the set */
    assert_true(kn_state_get(st, c)->num == 0);
    assert_true(fabs(kn_state_get(st, x)->num - 6) < 1e-9);
    kn_state_eval_frame(st, 3);                 /* t = 0.3: the set and the third tween begin */
    assert_true(kn_state_get(st, c)->num == 1);
    assert_true(kn_state_get(st, x)->num == 16);
    /* r repeats a 0.1 s tween: frames 1 and 2 start an iteration (0), and
     * frame 3 is the end of the last one (10). */
    kn_state_eval_frame(st, 1);
    assert_true(kn_state_get(st, r)->num == 0);
    kn_state_eval_frame(st, 2);
    assert_true(kn_state_get(st, r)->num == 0);
    kn_state_eval_frame(st, 3);
    assert_true(kn_state_get(st, r)->num == 10);
    kn_state_destroy(st);
    kn_doc_destroy(d);
}

/* An origin the element leaves to its default (the shape's centre) can
 * still be set per frame, by a set scene and by a tween with an explicit
 * start; a tween without one is refused, pointing at the target. */
static void test_default_origin_targets(void **state)
{
    (void)state;
    kn_doc *d = parse(
        "{\"width\": 32, \"height\": 32, \"fps\": 10, \"duration\": 1,"
        " \"elements\": [{\"id\": \"r\", \"type\": \"rect\", \"width\": 8, \"height\": 8,"
        "   \"rotation\": 90, \"fill\": \"red\"}],"
        " \"timeline\": {\"sequence\": [{\"wait\": 0.5}, {\"tween\": {\"r.origin\": [[0, 0], [10, 20]]},"
        "   \"duration\": 0.2}]},"
        " \"frames\": [{\"index\": 2, \"set\": {\"r.origin\": [4, 4]}}]}");
    kn_state *st = kn_state_create(d);
    assert_non_null(st);
    int o = slot_of(d, "r.origin");
    kn_state_eval_frame(st, 0);
    assert_int_equal(kn_state_get(st, o)->type, KN_VT_NONE);   /* drawn about the centre */
    kn_state_eval_frame(st, 2);
    const kn_value *v = kn_state_get(st, o);
    assert_int_equal(v->type, KN_VT_ARRAY);
    assert_true(v->n == 2 && v->arr[0] == 4 && v->arr[1] == 4);
    kn_state_eval_frame(st, 6);                 /* halfway through the tween */
    v = kn_state_get(st, o);
    assert_true(v->n == 2 && fabs(v->arr[0] - 5) < 1e-9 && fabs(v->arr[1] - 10) < 1e-9);
    kn_state_destroy(st);
    kn_doc_destroy(d);

    const char *bad =
        "{\"width\": 32, \"height\": 32, \"fps\": 10, \"duration\": 1,"
        " \"elements\": [{\"id\": \"r\", \"type\": \"rect\", \"width\": 8, \"height\": 8}],"
        " \"timeline\": {\"tween\": {\"r.origin\": [1, 2]}, \"duration\": 1}}";
    kn_doc *bd = NULL;
    kn_err err;
    assert_int_equal(kn_doc_parse(bad, strlen(bad), NULL, &bd, &err), KN_EINVAL);
    assert_string_equal(err.path, "/timeline/tween/r.origin");
    assert_non_null(strstr(err.msg, "needs a start value"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_per_frame),
        cmocka_unit_test(test_decimal_boundaries),
        cmocka_unit_test(test_default_origin_targets),
        cmocka_unit_test(test_animated_flags),
        cmocka_unit_test(test_nonfinite_is_kept),
        cmocka_unit_test(test_scale_expression),
        cmocka_unit_test(test_timeline_value_expressions),
        cmocka_unit_test(test_array_entry_expressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
