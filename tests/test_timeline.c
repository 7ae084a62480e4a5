/*
 * tests/test_timeline.c - timeline evaluation (spec sections 5, 6) on
 * hand-built documents: the model structs are public, so these tests do not
 * depend on the JSON parser. The helpers below compute scene lengths and
 * child starts the way the parser does (cumulative sums, modifiers in spec
 * order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doc/doc.h"
#include "lang/easing.h"
#include "render/timeline.h"

/* ---- allocation: everything a test builds is freed at its end ----------- */

static void *g_allocs[4096];
static size_t g_nallocs;

static void *ta(size_t n)
{
    assert_true(g_nallocs < sizeof g_allocs / sizeof g_allocs[0]);
    void *p = calloc(1, n ? n : 1);
    assert_non_null(p);
    g_allocs[g_nallocs++] = p;
    return p;
}

static void *tdup(const void *src, size_t n)
{
    void *p = ta(n);
    if (n) memcpy(p, src, n);
    return p;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_nallocs; i++) free(g_allocs[i]);
    g_nallocs = 0;
    return 0;
}

/* ---- values ------------------------------------------------------------ */

static kn_value N(double x) { return (kn_value){ .type = KN_VT_NUM, .num = x }; }
static kn_value B(int b) { return (kn_value){ .type = KN_VT_BOOL, .num = b ? 1 : 0 }; }
static kn_value S(const char *s) { return (kn_value){ .type = KN_VT_STR, .str = s }; }
static kn_value C(double r, double g, double b, double a)
{
    return (kn_value){ .type = KN_VT_COLOR, .color = { r, g, b, a } };
}
static kn_value A(size_t n, const double *xs)
{
    return (kn_value){ .type = KN_VT_ARRAY, .arr = tdup(xs, n * sizeof *xs), .n = n };
}
#define ARR(...) A(sizeof((double[]){__VA_ARGS__}) / sizeof(double), (double[]){__VA_ARGS__})

static kn_target T(int slot, kn_value to) { return (kn_target){ .slot = slot, .to = to }; }
static kn_target TF(int slot, kn_value from, kn_value to)
{
    return (kn_target){ .slot = slot, .has_from = 1, .from = from, .to = to };
}

/* ---- scenes ------------------------------------------------------------ */

/* Recomputes sc->length from base and modifiers, as the parser does. */
static void fin(kn_scene *sc)
{
    double d = sc->has_crop ? sc->crop_b - sc->crop_a : sc->base;
    double p = sc->has_duration ? sc->duration : d / sc->speed;
    sc->length = p * sc->repeat;
}

static kn_scene mk(kn_stype type, double base)
{
    kn_scene sc = { .type = type, .base = base, .speed = 1, .repeat = 1 };
    fin(&sc);
    return sc;
}

static kn_scene sc_tween(double dur, size_t n, const kn_target *t)
{
    kn_scene sc = mk(KN_S_TWEEN, dur);
    sc.targets = tdup(t, n * sizeof *t);
    sc.ntargets = n;
    return sc;
}

static kn_scene sc_set(size_t n, const kn_target *t)
{
    kn_scene sc = sc_tween(0, n, t);
    sc.type = KN_S_SET;
    return sc;
}

static kn_scene sc_wait(double d) { return mk(KN_S_WAIT, d); }

static kn_scene sc_group(kn_stype type, size_t n, const kn_scene *ch)
{
    kn_scene sc = mk(type, 0);
    sc.children = tdup(ch, n * sizeof *ch);
    sc.nchildren = n;
    if (type == KN_S_SEQUENCE) {
        sc.child_start = ta(n * sizeof(double));
        double s = 0;
        for (size_t k = 0; k < n; k++) {
            sc.child_start[k] = s;
            s += ch[k].length;
        }
        sc.base = s;
    } else {
        for (size_t k = 0; k < n; k++)
            if (ch[k].length > sc.base) sc.base = ch[k].length;
    }
    fin(&sc);
    return sc;
}

#define NT(...) (sizeof((kn_target[]){__VA_ARGS__}) / sizeof(kn_target))
#define NS(...) (sizeof((kn_scene[]){__VA_ARGS__}) / sizeof(kn_scene))
#define TWEEN(d, ...) sc_tween((d), NT(__VA_ARGS__), (kn_target[]){__VA_ARGS__})
#define SET(...) sc_set(NT(__VA_ARGS__), (kn_target[]){__VA_ARGS__})
#define SEQ(...) sc_group(KN_S_SEQUENCE, NS(__VA_ARGS__), (kn_scene[]){__VA_ARGS__})
#define PAR(...) sc_group(KN_S_PARALLEL, NS(__VA_ARGS__), (kn_scene[]){__VA_ARGS__})

static kn_scene crop(kn_scene s, double a, double b)
{
    s.has_crop = 1; s.crop_a = a; s.crop_b = b; fin(&s); return s;
}
static kn_scene rev(kn_scene s) { s.reverse = 1; fin(&s); return s; }
static kn_scene speed(kn_scene s, double r) { s.speed = r; fin(&s); return s; }
static kn_scene stretch(kn_scene s, double d) { s.has_duration = 1; s.duration = d; fin(&s); return s; }
static kn_scene rep(kn_scene s, int n) { s.repeat = n; fin(&s); return s; }
static kn_scene ease(kn_scene s, const char *name)
{
    kn_err err;
    assert_int_equal(kn_easing_lookup(name, &s.easing, NULL, &err), KN_OK);
    s.has_easing = 1;
    return s;
}

/* ---- documents --------------------------------------------------------- */

static kn_doc *mk_doc(size_t nslots, const kn_value *init, const kn_scene *tl)
{
    kn_doc *d = ta(sizeof *d);
    d->width = 64; d->height = 64;
    d->fps_num = 10; d->fps_den = 1; d->fps = 10;
    d->nslots = nslots;
    d->init = tdup(init, nslots * sizeof *init);
    d->slot_name = ta(nslots * sizeof(char *));
    if (tl) {
        d->timeline = tdup(tl, sizeof *tl);
        d->duration = tl->length > 0 ? tl->length : 1;
    } else {
        d->duration = 1;
    }
    d->n_frames = lround(d->duration * d->fps);
    if (d->n_frames < 1) d->n_frames = 1;
    return d;
}
#define DOC(tl, ...) mk_doc(sizeof((kn_value[]){__VA_ARGS__}) / sizeof(kn_value), \
                            (kn_value[]){__VA_ARGS__}, (tl))

/* Evaluates doc's timeline alone at t on a reset state. */
static void at(kn_state *st, const kn_doc *d, double t)
{
    kn_state_reset(st);
    kn_timeline_apply(st, d->timeline, t);
}

static double num(const kn_state *st, int slot)
{
    const kn_value *v = kn_state_get(st, slot);
    assert_true(v->type == KN_VT_NUM || v->type == KN_VT_BOOL);
    return v->num;
}

#define EQ(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)
/* exact: the end of a scene is the `to` value bit for bit */
#define EXACT(a, b) assert_true((double)(a) == (double)(b))

/* ---- tests ------------------------------------------------------------- */

static void test_tween_start_mid_end(void **state)
{
    (void)state;
    kn_scene tw = TWEEN(2, T(0, N(10)), TF(1, N(2), N(12)));
    kn_doc *d = DOC(&tw, N(0), N(-5));
    kn_state *st = kn_state_create(d);
    assert_non_null(st);

    at(st, d, 0);   EQ(num(st, 0), 0); EQ(num(st, 1), 2);
    at(st, d, 0.5); EQ(num(st, 0), 2.5); EQ(num(st, 1), 4.5);
    at(st, d, 1);   EQ(num(st, 0), 5); EQ(num(st, 1), 7);
    at(st, d, 2);   EXACT(num(st, 0), 10); EXACT(num(st, 1), 12);
    at(st, d, 7);   EXACT(num(st, 0), 10);          /* past the end: clamped */
    at(st, d, -1);  EQ(num(st, 0), 0); EQ(num(st, 1), 2);

    /* a value that 0.1-steps cannot hit exactly still ends exactly */
    kn_scene tw3 = TWEEN(0.3, T(0, N(0.7)));
    kn_doc *d3 = DOC(&tw3, N(0.1));
    kn_state *st3 = kn_state_create(d3);
    at(st3, d3, 0.1 + 0.2);   /* 0.30000000000000004 >= 0.3 */
    EXACT(num(st3, 0), 0.7);
    at(st3, d3, tw3.length);
    EXACT(num(st3, 0), 0.7);
    kn_state_destroy(st3);
    kn_state_destroy(st);
}

static void test_sequence_boundaries(void **state)
{
    (void)state;
    /* slot 0 tweened twice, slot 1 set between them, slot 2 set at the end */
    kn_scene sq = SEQ(TWEEN(1, T(0, N(10))),
                      SET(T(1, N(1))),
                      TWEEN(1, T(0, N(20))),
                      SET(T(2, N(7))));
    assert_true(sq.length == 2);
    kn_doc *d = DOC(&sq, N(0), N(0), N(0));
    kn_state *st = kn_state_create(d);

    at(st, d, 0);    EQ(num(st, 0), 0); EQ(num(st, 1), 0); EQ(num(st, 2), 0);
    at(st, d, 0.5);  EQ(num(st, 0), 5); EQ(num(st, 1), 0);
    /* at the first tween's end: it is at its end, the set applies, the next
     * tween starts at 0 (from the value just before it: 10) */
    at(st, d, 1);    EXACT(num(st, 0), 10); EQ(num(st, 1), 1); EQ(num(st, 2), 0);
    at(st, d, 1.5);  EQ(num(st, 0), 15); EQ(num(st, 1), 1); EQ(num(st, 2), 0);
    /* the last instant is the last child's END, and the trailing set applies */
    at(st, d, 2);    EXACT(num(st, 0), 20); EQ(num(st, 1), 1); EQ(num(st, 2), 7);

    /* durations that are not binary fractions: boundaries from child_start */
    kn_scene s3 = SEQ(TWEEN(0.1, T(0, N(1))), TWEEN(0.1, T(0, N(2))),
                      TWEEN(0.1, T(0, N(3))), SET(T(1, N(9))));
    kn_doc *d3 = DOC(&s3, N(0), N(0), N(0));
    kn_state *st3 = kn_state_create(d3);
    at(st3, d3, s3.child_start[1]);  EXACT(num(st3, 0), 1);
    at(st3, d3, s3.child_start[2]);  EXACT(num(st3, 0), 2);
    at(st3, d3, s3.length);          EXACT(num(st3, 0), 3); EQ(num(st3, 1), 9);
    at(st3, d3, s3.length * 0.999);  assert_true(num(st3, 0) < 3); EQ(num(st3, 1), 0);

    /* a set at t = 0 applies at t = 0 */
    kn_scene s0 = SEQ(SET(T(0, N(4))), sc_wait(1));
    kn_doc *d0 = DOC(&s0, N(0));
    kn_state *st0 = kn_state_create(d0);
    at(st0, d0, 0); EQ(num(st0, 0), 4);

    kn_state_destroy(st0);
    kn_state_destroy(st3);
    kn_state_destroy(st);
}

static void test_reverse(void **state)
{
    (void)state;
    kn_scene r = rev(TWEEN(2, T(0, N(10))));
    kn_doc *d = DOC(&r, N(0));
    kn_state *st = kn_state_create(d);
    at(st, d, 0);   EXACT(num(st, 0), 10);   /* reversed at t = 0: its end */
    at(st, d, 0.5); EQ(num(st, 0), 7.5);
    at(st, d, 2);   EQ(num(st, 0), 0);       /* at t = D: its start */

    /* a reversed sequence: zero-length set at its start applies at both ends */
    kn_scene rs = rev(SEQ(SET(T(1, N(1))), TWEEN(1, T(0, N(10))), SET(T(2, N(3)))));
    kn_doc *d2 = DOC(&rs, N(0), N(0), N(0));
    kn_state *st2 = kn_state_create(d2);
    at(st2, d2, 0);    EXACT(num(st2, 0), 10); EQ(num(st2, 1), 1); EQ(num(st2, 2), 3);
    at(st2, d2, 0.25); EQ(num(st2, 0), 7.5);  EQ(num(st2, 1), 1); EQ(num(st2, 2), 0);
    at(st2, d2, 1);    EQ(num(st2, 0), 0);    EQ(num(st2, 1), 1); EQ(num(st2, 2), 0);

    kn_state_destroy(st2);
    kn_state_destroy(st);
}

static void test_crop(void **state)
{
    (void)state;
    kn_scene c = crop(TWEEN(10, T(0, N(10))), 2, 6);
    assert_true(c.length == 4);
    kn_doc *d = DOC(&c, N(0));
    kn_state *st = kn_state_create(d);
    at(st, d, 0); EQ(num(st, 0), 2);
    at(st, d, 2); EQ(num(st, 0), 4);
    at(st, d, 4); EQ(num(st, 0), 6);
    at(st, d, 9); EQ(num(st, 0), 6);

    /* cropping to the very end keeps the exact end (0.2 + (0.9 - 0.2) is
     * 0.8999999999999999 in doubles) */
    kn_scene ce = crop(TWEEN(0.9, T(0, N(0.3))), 0.2, 0.9);
    kn_doc *de = DOC(&ce, N(0));
    kn_state *se = kn_state_create(de);
    at(se, de, ce.length); EXACT(num(se, 0), 0.3);

    /* crop of a sequence: earlier children are at their ends */
    kn_scene cs = crop(SEQ(TWEEN(1, T(0, N(10))), TWEEN(1, T(1, N(10)))), 0.5, 1.5);
    kn_doc *d2 = DOC(&cs, N(0), N(0));
    kn_state *st2 = kn_state_create(d2);
    at(st2, d2, 0); EQ(num(st2, 0), 5);  EQ(num(st2, 1), 0);
    at(st2, d2, 1); EQ(num(st2, 0), 10); EQ(num(st2, 1), 5);

    /* crop then reverse (crop is innermost) */
    kn_scene cr = rev(crop(TWEEN(10, T(0, N(10))), 2, 6));
    kn_doc *d3 = DOC(&cr, N(0));
    kn_state *st3 = kn_state_create(d3);
    at(st3, d3, 0); EQ(num(st3, 0), 6);
    at(st3, d3, 4); EQ(num(st3, 0), 2);

    kn_state_destroy(st3);
    kn_state_destroy(st2);
    kn_state_destroy(se);
    kn_state_destroy(st);
}

static void test_speed(void **state)
{
    (void)state;
    kn_scene s = speed(TWEEN(2, T(0, N(10))), 4);
    assert_true(s.length == 0.5);
    kn_doc *d = DOC(&s, N(0));
    kn_state *st = kn_state_create(d);
    at(st, d, 0.25); EQ(num(st, 0), 5);
    at(st, d, 0.5);  EXACT(num(st, 0), 10);

    /* speed 3: length 1/3 is not exact, the end still is */
    kn_scene s3 = speed(TWEEN(1, T(0, N(0.7))), 3);
    kn_doc *d3 = DOC(&s3, N(0));
    kn_state *st3 = kn_state_create(d3);
    at(st3, d3, s3.length); EXACT(num(st3, 0), 0.7);
    at(st3, d3, 1.0 / 6);   EQ(num(st3, 0), 0.35);

    kn_state_destroy(st3);
    kn_state_destroy(st);
}

static void test_duration_stretch(void **state)
{
    (void)state;
    kn_scene s = stretch(SEQ(TWEEN(1, T(0, N(10))), TWEEN(1, T(1, N(10)))), 4);
    assert_true(s.length == 4);
    kn_doc *d = DOC(&s, N(0), N(0));
    kn_state *st = kn_state_create(d);
    at(st, d, 1); EQ(num(st, 0), 5);  EQ(num(st, 1), 0);
    at(st, d, 2); EXACT(num(st, 0), 10); EQ(num(st, 1), 0);
    at(st, d, 3); EQ(num(st, 0), 10); EQ(num(st, 1), 5);
    at(st, d, 4); EXACT(num(st, 0), 10); EXACT(num(st, 1), 10);

    /* squeeze a parallel to 0.3 s */
    kn_scene p = stretch(PAR(TWEEN(1, T(0, N(10))), TWEEN(0.5, T(1, N(10)))), 0.3);
    kn_doc *dp = DOC(&p, N(0), N(0));
    kn_state *sp = kn_state_create(dp);
    at(sp, dp, 0.15); EQ(num(sp, 0), 5); EQ(num(sp, 1), 10);
    at(sp, dp, 0.3);  EXACT(num(sp, 0), 10);

    kn_state_destroy(sp);
    kn_state_destroy(st);
}

static void test_repeat(void **state)
{
    (void)state;
    kn_scene r = rep(TWEEN(1, T(0, N(10))), 3);
    assert_true(r.length == 3);
    kn_doc *d = DOC(&r, N(0));
    kn_state *st = kn_state_create(d);
    at(st, d, 0);   EQ(num(st, 0), 0);
    at(st, d, 0.5); EQ(num(st, 0), 5);
    at(st, d, 1);   EQ(num(st, 0), 0);       /* start of the 2nd repetition */
    at(st, d, 2);   EQ(num(st, 0), 0);       /* start of the 3rd */
    at(st, d, 2.5); EQ(num(st, 0), 5);
    at(st, d, 3);   EXACT(num(st, 0), 10);   /* the end holds */
    at(st, d, 4);   EXACT(num(st, 0), 10);

    /* repeat outside speed */
    kn_scene rs = rep(speed(TWEEN(1, T(0, N(10))), 2), 2);
    assert_true(rs.length == 1);
    kn_doc *d2 = DOC(&rs, N(0));
    kn_state *st2 = kn_state_create(d2);
    at(st2, d2, 0.25); EQ(num(st2, 0), 5);
    at(st2, d2, 0.5);  EQ(num(st2, 0), 0);
    at(st2, d2, 0.75); EQ(num(st2, 0), 5);
    at(st2, d2, 1);    EXACT(num(st2, 0), 10);

    kn_state_destroy(st2);
    kn_state_destroy(st);
}

static void test_parallel_nested(void **state)
{
    (void)state;
    kn_scene p = PAR(SEQ(TWEEN(1, T(0, N(10))), TWEEN(1, T(0, N(20)))),
                     TWEEN(0.5, T(1, N(5))));
    assert_true(p.length == 2);
    kn_doc *d = DOC(&p, N(0), N(0));
    kn_state *st = kn_state_create(d);
    at(st, d, 0.25); EQ(num(st, 0), 2.5); EQ(num(st, 1), 2.5);
    at(st, d, 0.5);  EQ(num(st, 0), 5);   EXACT(num(st, 1), 5);
    at(st, d, 1.5);  EQ(num(st, 0), 15);  EXACT(num(st, 1), 5);   /* held */
    at(st, d, 2);    EXACT(num(st, 0), 20); EXACT(num(st, 1), 5);
    kn_state_destroy(st);
}

static void test_fromless_reads_value_before(void **state)
{
    (void)state;
    kn_scene s = SEQ(TWEEN(1, TF(0, N(0), N(10))), sc_wait(1), TWEEN(1, T(0, N(30))));
    kn_doc *d = DOC(&s, N(100));
    kn_state *st = kn_state_create(d);
    at(st, d, 0);   EQ(num(st, 0), 0);
    at(st, d, 1.5); EQ(num(st, 0), 10);
    at(st, d, 2.5); EQ(num(st, 0), 20);    /* from 10 (not init 100) to 30 */

    /* in a parallel, a later child's from-less tween starts from what the
     * earlier children wrote in this evaluation */
    kn_scene p = PAR(SET(T(0, N(50))), TWEEN(1, T(0, N(60))));
    kn_doc *dp = DOC(&p, N(0));
    kn_state *sp = kn_state_create(dp);
    at(sp, dp, 0.5); EQ(num(sp, 0), 55);

    kn_state_destroy(sp);
    kn_state_destroy(st);
}

static void test_easing_overshoot(void **state)
{
    (void)state;
    kn_scene s = ease(TWEEN(1, T(0, N(10)), T(1, C(1, 1, 1, 1))), "easeOutBack");
    kn_doc *d = DOC(&s, N(0), C(0, 0, 0, 1));
    kn_state *st = kn_state_create(d);
    double e = kn_easing_apply(&s.easing, 0.5);
    assert_true(e > 1);                      /* easeOutBack overshoots at 0.5 */
    at(st, d, 0.5);
    EQ(num(st, 0), 10 * e);
    assert_true(num(st, 0) > 10);
    EXACT(kn_state_get(st, 1)->color.r, 1);  /* colours clamp to [0, 1] */
    at(st, d, 1);
    EXACT(num(st, 0), 10);

    kn_scene si = ease(TWEEN(1, T(0, N(10))), "easeInBack");
    kn_doc *di = DOC(&si, N(0));
    kn_state *sti = kn_state_create(di);
    at(sti, di, 0.2);
    assert_true(num(sti, 0) < 0);           /* undershoot extrapolates too */
    EQ(num(sti, 0), 10 * kn_easing_apply(&si.easing, 0.2));

    kn_state_destroy(sti);
    kn_state_destroy(st);
}

static void test_end_exact_with_freeze(void **state)
{
    (void)state;
    kn_scene s = ease(TWEEN(1, TF(0, N(3), N(10))), "freeze");
    double e1 = kn_easing_apply(&s.easing, 1.0);
    assert_true(e1 != 1.0);                  /* the easing does not reach 1 */
    kn_doc *d = DOC(&s, N(0));
    kn_state *st = kn_state_create(d);
    at(st, d, 0.5);
    EQ(num(st, 0), 3 + 7 * kn_easing_apply(&s.easing, 0.5));
    at(st, d, 1);
    EXACT(num(st, 0), 10);                   /* the end holds `to` anyway */

    /* an easing on a sequence dilates its time; its end is exact too */
    kn_scene q = ease(SEQ(TWEEN(1, T(0, N(10))), SET(T(1, N(1)))), "freeze");
    kn_doc *dq = DOC(&q, N(0), N(0));
    kn_state *sq = kn_state_create(dq);
    at(sq, dq, 0.5); EQ(num(sq, 0), 10 * kn_easing_apply(&q.easing, 0.5)); EQ(num(sq, 1), 0);
    at(sq, dq, 1);   EXACT(num(sq, 0), 10); EQ(num(sq, 1), 1);

    kn_state_destroy(sq);
    kn_state_destroy(st);
}

static void test_color_per_channel(void **state)
{
    (void)state;
    kn_scene s = TWEEN(1, T(0, C(1, 0.5, 0, 0)));
    kn_doc *d = DOC(&s, C(0, 0, 1, 1));
    kn_state *st = kn_state_create(d);
    at(st, d, 0.5);
    const kn_value *v = kn_state_get(st, 0);
    assert_int_equal(v->type, KN_VT_COLOR);
    EQ(v->color.r, 0.5); EQ(v->color.g, 0.25); EQ(v->color.b, 0.5); EQ(v->color.a, 0.5);
    at(st, d, 1);
    v = kn_state_get(st, 0);
    EXACT(v->color.r, 1); EXACT(v->color.g, 0.5); EXACT(v->color.b, 0); EXACT(v->color.a, 0);
    kn_state_destroy(st);
}

static void test_arrays(void **state)
{
    (void)state;
    kn_scene s = PAR(TWEEN(1, T(0, ARR(10, 30))),
                     TWEEN(1, TF(1, ARR(0, 0, 0, 0), ARR(4, 8, 12, 16))),
                     TWEEN(1, T(2, ARR(5, 5))));
    kn_doc *d = DOC(&s, ARR(0, 10), ARR(1), ARR(1, 2, 3));
    kn_state *st = kn_state_create(d);
    at(st, d, 0.5);
    const kn_value *v = kn_state_get(st, 0);
    assert_int_equal(v->type, KN_VT_ARRAY);
    assert_int_equal(v->n, 2);
    EQ(v->arr[0], 5); EQ(v->arr[1], 20);
    v = kn_state_get(st, 1);                  /* grew from 1 to 4 elements */
    assert_int_equal(v->n, 4);
    EQ(v->arr[0], 2); EQ(v->arr[3], 8);
    v = kn_state_get(st, 2);                  /* lengths differ: use `to` */
    assert_int_equal(v->n, 2);
    EQ(v->arr[0], 5); EQ(v->arr[1], 5);

    /* reset restores init, buffers and all */
    kn_state_reset(st);
    v = kn_state_get(st, 1);
    assert_int_equal(v->n, 1); EQ(v->arr[0], 1);
    v = kn_state_get(st, 2);
    assert_int_equal(v->n, 3); EQ(v->arr[2], 3);
    kn_state_destroy(st);
}

static void test_strings_bools_switch(void **state)
{
    (void)state;
    kn_scene s = PAR(TWEEN(1, T(0, S("b"))), TWEEN(1, T(1, B(1))),
                     TWEEN(1, TF(2, S("x"), S("y"))));
    kn_doc *d = DOC(&s, S("a"), B(0), S("init"));
    kn_state *st = kn_state_create(d);
    at(st, d, 0.49);
    assert_string_equal(kn_state_get(st, 0)->str, "a");
    EQ(num(st, 1), 0);
    assert_string_equal(kn_state_get(st, 2)->str, "x");
    at(st, d, 0.5);
    assert_string_equal(kn_state_get(st, 0)->str, "b");
    EQ(num(st, 1), 1);
    assert_int_equal(kn_state_get(st, 1)->type, KN_VT_BOOL);
    assert_string_equal(kn_state_get(st, 2)->str, "y");
    kn_state_destroy(st);
}

static void test_frame_entries_after_timeline(void **state)
{
    (void)state;
    kn_scene s = TWEEN(1, T(0, N(10)), T(1, ARR(1, 1)));
    kn_doc *d = DOC(&s, N(0), ARR(0, 0));
    kn_frame_entry *fe = ta(2 * sizeof *fe);
    fe[0].index = 3;
    fe[0].sets = tdup((kn_target[]){ T(0, N(99)), T(1, ARR(7, 8, 9, 10, 11)) }, 2 * sizeof(kn_target));
    fe[0].nsets = 2;
    fe[1].index = 6;
    fe[1].sets = tdup((kn_target[]){ T(0, N(-1)) }, sizeof(kn_target));
    fe[1].nsets = 1;
    d->frames = fe;
    d->nframes_entries = 2;
    kn_state *st = kn_state_create(d);   /* sizes slot 1 for the 5 numbers */

    kn_state_eval_frame(st, 2); EQ(num(st, 0), 2);
    kn_state_eval_frame(st, 3); EQ(num(st, 0), 99);
    const kn_value *v = kn_state_get(st, 1);
    assert_int_equal(v->n, 5); EQ(v->arr[4], 11);
    kn_state_eval_frame(st, 4); EQ(num(st, 0), 4);
    assert_int_equal(kn_state_get(st, 1)->n, 2);
    kn_state_eval_frame(st, 6); EQ(num(st, 0), -1);
    kn_state_eval_frame(st, 9); EQ(num(st, 0), 9);

    /* NTSC rate: frame 30 of 30000/1001 is at 1.001 s, past a 1 s tween */
    d->fps_num = 30000; d->fps_den = 1001; d->fps = 30000.0 / 1001;
    d->n_frames = 60;
    d->frames = NULL; d->nframes_entries = 0;
    kn_state_eval_frame(st, 30); EXACT(num(st, 0), 10);
    kn_state_eval_frame(st, 15); EQ(num(st, 0), 10 * 15 * 1001 / 30000.0);
    kn_state_destroy(st);
}

static void test_order_independence(void **state)
{
    (void)state;
    kn_scene s = PAR(rep(SEQ(TWEEN(0.3, T(0, N(10))), SET(T(2, S("on"))),
                             ease(TWEEN(0.2, T(1, ARR(3, 4, 5))), "easeOutBack")), 2),
                     rev(TWEEN(1, T(3, C(1, 0, 0, 1)))));
    kn_doc *d = DOC(&s, N(0), ARR(0, 0, 0), S("off"), C(0, 0, 1, 1));
    kn_frame_entry *fe = ta(sizeof *fe);
    fe[0].index = 2;
    fe[0].sets = tdup((kn_target[]){ T(1, ARR(9)) }, sizeof(kn_target));
    fe[0].nsets = 1;
    d->frames = fe;
    d->nframes_entries = 1;

    kn_state *reused = kn_state_create(d);
    const long order[] = { 5, 2, 9, 2, 0, 7, 9 };
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        kn_state *fresh = kn_state_create(d);
        kn_state_eval_frame(reused, order[k]);
        kn_state_eval_frame(fresh, order[k]);
        for (int slot = 0; slot < (int)d->nslots; slot++) {
            const kn_value *a = kn_state_get(reused, slot), *b = kn_state_get(fresh, slot);
            assert_int_equal(a->type, b->type);
            assert_true(a->num == b->num);
            assert_memory_equal(&a->color, &b->color, sizeof a->color);
            assert_ptr_equal(a->str, b->str);
            assert_int_equal(a->n, b->n);
            if (a->n) assert_memory_equal(a->arr, b->arr, a->n * sizeof(double));
        }
        kn_state_destroy(fresh);
    }
    /* frame 2 carries the per-frame array, frame 5 does not */
    kn_state_eval_frame(reused, 2);
    assert_int_equal(kn_state_get(reused, 1)->n, 1);
    kn_state_eval_frame(reused, 5);
    assert_int_equal(kn_state_get(reused, 1)->n, 3);
    kn_state_destroy(reused);
}

static void test_deep_nesting_and_wait(void **state)
{
    (void)state;
    kn_scene s = TWEEN(1, T(0, N(10)));
    for (int i = 0; i < 32; i++)
        s = SEQ(sc_wait(0.5), s);
    assert_true(s.length == 17);
    kn_doc *d = DOC(&s, N(0));
    kn_state *st = kn_state_create(d);
    at(st, d, 16);   EQ(num(st, 0), 0);
    at(st, d, 16.5); EQ(num(st, 0), 5);
    at(st, d, 17);   EXACT(num(st, 0), 10);
    kn_state_destroy(st);

    /* a document without timeline or slots */
    kn_doc *e = mk_doc(0, NULL, NULL);
    kn_state *se = kn_state_create(e);
    assert_non_null(se);
    kn_state_eval_frame(se, 0);
    kn_state_destroy(se);
    kn_state_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tween_start_mid_end, teardown),
        cmocka_unit_test_teardown(test_sequence_boundaries, teardown),
        cmocka_unit_test_teardown(test_reverse, teardown),
        cmocka_unit_test_teardown(test_crop, teardown),
        cmocka_unit_test_teardown(test_speed, teardown),
        cmocka_unit_test_teardown(test_duration_stretch, teardown),
        cmocka_unit_test_teardown(test_repeat, teardown),
        cmocka_unit_test_teardown(test_parallel_nested, teardown),
        cmocka_unit_test_teardown(test_fromless_reads_value_before, teardown),
        cmocka_unit_test_teardown(test_easing_overshoot, teardown),
        cmocka_unit_test_teardown(test_end_exact_with_freeze, teardown),
        cmocka_unit_test_teardown(test_color_per_channel, teardown),
        cmocka_unit_test_teardown(test_arrays, teardown),
        cmocka_unit_test_teardown(test_strings_bools_switch, teardown),
        cmocka_unit_test_teardown(test_frame_entries_after_timeline, teardown),
        cmocka_unit_test_teardown(test_order_independence, teardown),
        cmocka_unit_test_teardown(test_deep_nesting_and_wait, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
