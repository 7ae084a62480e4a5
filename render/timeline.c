/*
 * render/timeline.c - evaluating a document at one frame (spec sections 5, 6).
 *
 * A state is nslots values. Numbers, colours, booleans and strings are plain
 * copies (strings stay borrowed from the doc); every array value owns a
 * buffer that kn_state_create sizes once to the longest array any init
 * value, scene target or frame entry can put in that slot, so evaluating a
 * frame never allocates.
 *
 * A scene is evaluated from the outside in: the caller's time goes through
 * repeat, speed|duration, easing, reverse and crop (the modifiers in reverse
 * order of application) and the result is the time at which the scene's own
 * content (tween, set, wait, children) is evaluated. Boundaries are exact:
 * every stage that receives a time at or past its end hands the next stage
 * that stage's exact length instead of a product that might round just
 * short of it, so "at the end" survives any chain of modifiers and a tween
 * at its end holds exactly its `to` value.
 *
 * Invariants (established by doc/doc.c, asserted here): slot indices are in
 * range, values have their slot's type, scene lengths are finite and >= 0,
 * repeat >= 1, speed > 0, nesting depth <= 32 (so recursion is bounded).
 */
#include "render/timeline.h"

#include "lang/expr.h"
#include "lang/template.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct kn_state {
    const kn_doc *doc;
    size_t nslots;
    kn_value *v;          /* nslots values; v[i].arr owned, v[i].cap sized */
    double *xv;           /* KN_XV_VARS + nvars: what expressions read */
    long frame;           /* the frame last evaluated */
    char **text;          /* per calc: KN_TEMPLATE_MAX_OUT bytes for KN_CALC_TEXT, else NULL */
};

/* ---- values ---------------------------------------------------------- */

/* Copies src into the state value dst, keeping dst's own array buffer. The
 * buffer was sized at create for every array this slot can receive; should
 * that bound ever be wrong we grow it, and keep the old (shorter) contents
 * if even that fails rather than write past the end. */
static void value_assign(kn_value *dst, const kn_value *src)
{
    double *arr = dst->arr;
    size_t cap = dst->cap;
    *dst = *src;
    dst->arr = arr;
    dst->cap = cap;
    if (src->type != KN_VT_ARRAY) {
        dst->n = 0;
        return;
    }
    if (src->n > cap) {
        double *na = realloc(arr, src->n * sizeof *na);
        if (!na) {
            dst->n = cap;
            if (cap) memcpy(arr, src->arr, cap * sizeof *arr);
            return;
        }
        dst->arr = na;
        dst->cap = src->n;
    }
    if (src->n) memcpy(dst->arr, src->arr, src->n * sizeof *dst->arr);
}

static double clamp01(double x)
{
    return x < 0 ? 0 : (x > 1 ? 1 : x);
}

/* Writes the value at progress p between from and to into dst. from may be
 * dst itself (a from-less tween): each element is read before it is
 * written, so interpolating in place is safe. */
static void value_lerp(kn_value *dst, const kn_value *from, const kn_value *to, double p)
{
    switch (to->type) {
    case KN_VT_NUM:
        if (from->type != KN_VT_NUM) { value_assign(dst, to); return; }
        {
            double a = from->num;
            value_assign(dst, to);
            dst->num = a + (to->num - a) * p;
        }
        return;
    case KN_VT_COLOR:
        if (from->type != KN_VT_COLOR) { value_assign(dst, to); return; }
        {
            kn_color a = from->color, b = to->color, c;
            c.r = clamp01(a.r + (b.r - a.r) * p);
            c.g = clamp01(a.g + (b.g - a.g) * p);
            c.b = clamp01(a.b + (b.b - a.b) * p);
            c.a = clamp01(a.a + (b.a - a.a) * p);
            value_assign(dst, to);
            dst->color = c;
        }
        return;
    case KN_VT_ARRAY:
        if (from->type != KN_VT_ARRAY || from->n != to->n || dst->cap < to->n) {
            value_assign(dst, to);
            return;
        }
        {
            /* from->arr may alias dst->arr; elements are independent. */
            const double *fa = from->arr;
            for (size_t i = 0; i < to->n; i++)
                dst->arr[i] = fa[i] + (to->arr[i] - fa[i]) * p;
            dst->type = KN_VT_ARRAY;
            dst->n = to->n;
        }
        return;
    default:
        /* strings, booleans, NONE: a switch at eased progress 0.5 */
        if (p >= 0.5)
            value_assign(dst, to);
        else if (from != dst)
            value_assign(dst, from);
        return;
    }
}

/* ---- create / destroy ------------------------------------------------- */

static void need(size_t *cap, int slot, size_t nslots, const kn_value *v)
{
    if (slot < 0 || (size_t)slot >= nslots || v->type != KN_VT_ARRAY) return;
    if (v->n > cap[slot]) cap[slot] = v->n;
}

static void need_scene(size_t *cap, size_t nslots, const kn_scene *sc)
{
    for (size_t i = 0; i < sc->ntargets; i++) {
        const kn_target *tg = &sc->targets[i];
        need(cap, tg->slot, nslots, &tg->to);
        if (tg->has_from) need(cap, tg->slot, nslots, &tg->from);
    }
    for (size_t k = 0; k < sc->nchildren; k++)
        need_scene(cap, nslots, &sc->children[k]);
}

kn_state *kn_state_create(const kn_doc *doc)
{
    kn_state *st = calloc(1, sizeof *st);
    size_t *cap = NULL;
    if (!st) return NULL;
    st->doc = doc;
    st->nslots = doc->nslots;
    if (doc->nslots == 0) {
        st->xv = calloc(KN_XV_VARS, sizeof *st->xv);
        if (!st->xv) goto fail;
        return st;
    }

    st->v = calloc(doc->nslots, sizeof *st->v);
    cap = calloc(doc->nslots, sizeof *cap);
    if (!st->v || !cap) goto fail;

    for (size_t i = 0; i < doc->nslots; i++)
        need(cap, (int)i, doc->nslots, &doc->init[i]);
    if (doc->timeline) need_scene(cap, doc->nslots, doc->timeline);
    for (size_t f = 0; f < doc->nframes_entries; f++) {
        const kn_frame_entry *fe = &doc->frames[f];
        for (size_t i = 0; i < fe->nsets; i++)
            need(cap, fe->sets[i].slot, doc->nslots, &fe->sets[i].to);
    }
    /* A computed series y takes as many values as its x may have. */
    for (size_t k = 0; k < doc->ncalcs; k++)
        if (doc->calcs[k].kind == KN_CALC_SERIES_Y && cap[doc->calcs[k].src] > cap[doc->calcs[k].slot])
            cap[doc->calcs[k].slot] = cap[doc->calcs[k].src];
    for (size_t i = 0; i < doc->nslots; i++) {
        if (!cap[i]) continue;
        st->v[i].arr = malloc(cap[i] * sizeof *st->v[i].arr);
        if (!st->v[i].arr) goto fail;
        st->v[i].cap = cap[i];
    }
    free(cap);
    cap = NULL;
    st->xv = calloc(KN_XV_VARS + doc->nvars, sizeof *st->xv);
    if (!st->xv) goto fail;
    if (doc->ncalcs) {
        st->text = calloc(doc->ncalcs, sizeof *st->text);
        if (!st->text) goto fail;
        for (size_t k = 0; k < doc->ncalcs; k++)
            if (doc->calcs[k].kind == KN_CALC_TEXT && !(st->text[k] = malloc(KN_TEMPLATE_MAX_OUT))) goto fail;
    }
    kn_state_reset(st);
    return st;

fail:
    free(cap);
    kn_state_destroy(st);
    return NULL;
}

void kn_state_destroy(kn_state *st)
{
    if (!st) return;
    if (st->v)
        for (size_t i = 0; i < st->nslots; i++) free(st->v[i].arr);
    if (st->text)
        for (size_t k = 0; k < st->doc->ncalcs; k++) free(st->text[k]);
    free(st->text);
    free(st->xv);
    free(st->v);
    free(st);
}

void kn_state_reset(kn_state *st)
{
    for (size_t i = 0; i < st->nslots; i++)
        value_assign(&st->v[i], &st->doc->init[i]);
}

long kn_state_frame(const kn_state *st) { return st->frame; }

const kn_value *kn_state_get(const kn_state *st, int slot)
{
    assert(slot >= 0 && (size_t)slot < st->nslots);
    return &st->v[slot];
}

/* ---- scenes ------------------------------------------------------------ */

static void apply_targets(kn_state *st, const kn_scene *sc, double p, int at_end)
{
    for (size_t i = 0; i < sc->ntargets; i++) {
        const kn_target *tg = &sc->targets[i];
        assert(tg->slot >= 0 && (size_t)tg->slot < st->nslots);
        kn_value *dst = &st->v[tg->slot];
        const kn_value *from = &tg->from, *to = &tg->to;
        kn_value fx, tx;
        if (tg->to_expr || tg->from_expr) {
            /* Expression values: computed now, from this frame's context. */
            fx = tg->from;
            tx = tg->to;
            if (tg->from_expr) fx.num = kn_expr_eval(tg->from_expr, st->xv);
            if (tg->to_expr) tx.num = kn_expr_eval(tg->to_expr, st->xv);
            from = &fx;
            to = &tx;
        }
        if (at_end)
            value_assign(dst, to);
        else
            value_lerp(dst, tg->has_from ? from : dst, to, p);
    }
}

/* Whether time u has reached boundary b. Scene lengths written in decimal
 * are not exact in binary and add up with rounding (0.1 + 0.2 lands just
 * above 0.3, where frame 3 at 10 fps is), so a time within a nanosecond of a
 * boundary counts as on it: far below any frame interval (1/240 s), far
 * above the rounding of sums of a few thousand lengths. */
static int reached(double u, double b)
{
    return u >= b - 1e-9 * fmax(1.0, fabs(b));
}

/* The scene's content (no modifiers) at base time u. u may lie outside
 * [0, base] only when an easing overshoots; a tween extrapolates then, a
 * container clamps. */
static void apply_base(kn_state *st, const kn_scene *sc, double u)
{
    double D = sc->base;
    switch (sc->type) {
    case KN_S_TWEEN:
        /* u == D exactly is the end: the stages above deliver D itself.
         * u > D only comes from an overshooting easing: extrapolate. */
        if (D <= 0 || u == D)
            apply_targets(st, sc, 1.0, 1);
        else
            apply_targets(st, sc, u / D, 0);
        return;
    case KN_S_SET:
        apply_targets(st, sc, 1.0, 1);
        return;
    case KN_S_WAIT:
        return;
    case KN_S_SEQUENCE:
        if (u > D) u = D;
        if (u < 0) u = 0;
        for (size_t k = 0; k < sc->nchildren; k++) {
            const kn_scene *ch = &sc->children[k];
            double s = sc->child_start[k];
            /* The next child's start is the end of this one, taken from the
             * same numbers the parser computed, so u at a boundary ends this
             * child and starts the next with no rounding gap. */
            double end = (k + 1 < sc->nchildren) ? sc->child_start[k + 1] : s + ch->length;
            int last = (k + 1 == sc->nchildren);
            if (reached(u, end) || (last && reached(u, D))) {
                kn_timeline_apply(st, ch, ch->length);
            } else if (reached(u, s)) {
                kn_timeline_apply(st, ch, u > s ? u - s : 0);
                return;
            } else {
                return;
            }
        }
        return;
    case KN_S_PARALLEL:
        if (u > D) u = D;
        for (size_t k = 0; k < sc->nchildren; k++) {
            const kn_scene *ch = &sc->children[k];
            double L = ch->length;
            kn_timeline_apply(st, ch, (reached(u, D) || reached(u, L)) ? L : u);
        }
        return;
    }
}

void kn_timeline_apply(kn_state *st, const kn_scene *sc, double t)
{
    /* Lengths of each stage, innermost first. */
    double D0 = sc->base;
    double a = sc->has_crop ? sc->crop_a : 0.0;
    double D1 = sc->has_crop ? sc->crop_b - sc->crop_a : D0;   /* crop, reverse, easing */
    double P;                                                  /* after speed|duration */
    if (sc->has_duration)
        P = sc->duration;
    else
        P = D1 / sc->speed;
    int n = sc->repeat >= 1 ? sc->repeat : 1;

    if (!(t > 0)) t = 0;   /* also maps NaN to 0 */

    /* repeat */
    double x;
    int end = (P <= 0 || reached(t, sc->length) || reached(t, (double)n * P));
    if (end) {
        x = P;
    } else {
        x = fmod(t, P);
        /* On an iteration boundary the next iteration starts. */
        if (reached(x, P)) x = 0;
    }

    /* speed | duration: x in [0, P] -> [0, D1] */
    if (end) {
        x = D1;
        end = 1;
    } else if (sc->has_duration) {
        x = x * (D1 / P);
    } else {
        x = x * sc->speed;
    }
    if (reached(x, D1)) { x = D1; end = 1; }

    /* easing: the end stays exact whatever E(1) is; elsewhere an overshoot
     * may leave [0, D1]. */
    if (sc->has_easing && !end)
        x = D1 * kn_easing_apply(&sc->easing, x / D1);

    /* reverse */
    if (sc->reverse) {
        x = end ? 0.0 : D1 - x;
        end = reached(x, D1);
        if (end) x = D1;
    }

    /* crop */
    double u;
    if (sc->has_crop)
        u = end ? sc->crop_b : a + x;
    else
        u = end ? D0 : x;

    apply_base(st, sc, u);
}

/* ---- frames ------------------------------------------------------------ */

/* ---- computed values ---------------------------------------------------- */

/* Copies every number and boolean var into the values expressions read. */
static void sync_vars(kn_state *st)
{
    for (size_t v = 0; v < st->doc->nvars; v++)
        if (st->v[v].type == KN_VT_NUM || st->v[v].type == KN_VT_BOOL)
            st->xv[KN_XV_VARS + v] = st->v[v].num;
}

/* Runs calc k into its slot. A non-finite result is stored as is; the
 * drawing code uses the field's default instead of a non-finite number, and
 * skips a polyline or polygon with a non-finite point. */
static void run_calc(kn_state *st, size_t k)
{
    const kn_calc *c = &st->doc->calcs[k];
    kn_value *dst = &st->v[c->slot];
    double *xv = st->xv;
    switch (c->kind) {
    case KN_CALC_NUM:
        dst->num = kn_expr_eval(c->expr, xv);
        if (c->is_var) xv[KN_XV_VARS + c->slot] = dst->num;
        break;
    case KN_CALC_POINTS_X:
    case KN_CALC_POINTS_Y: {
        size_t n = dst->n / 2, off = c->kind == KN_CALC_POINTS_Y;
        for (size_t i = 0; i < n; i++) {
            xv[KN_XV_X] = dst->arr[2 * i];
            xv[KN_XV_I] = (double)i;
            dst->arr[2 * i + off] = kn_expr_eval(c->expr, xv);
        }
        xv[KN_XV_X] = xv[KN_XV_I] = 0;
        break;
    }
    case KN_CALC_SERIES_Y: {
        /* y follows x's length as far as the y array's capacity allows
         * (x may be replaced per frame). */
        const kn_value *xs = &st->v[c->src];
        size_t n = xs->n < dst->cap ? xs->n : dst->cap;
        dst->n = n;
        for (size_t i = 0; i < n; i++) {
            xv[KN_XV_X] = xs->arr[i];
            xv[KN_XV_I] = (double)i;
            dst->arr[i] = kn_expr_eval(c->expr, xv);
        }
        xv[KN_XV_X] = xv[KN_XV_I] = 0;
        break;
    }
    case KN_CALC_ELEM:
        if (c->index < dst->n) dst->arr[c->index] = kn_expr_eval(c->expr, xv);
        break;
    case KN_CALC_SCALE:
        if (dst->n >= 2) dst->arr[0] = dst->arr[1] = kn_expr_eval(c->expr, xv);
        break;
    case KN_CALC_TEXT:
        kn_template_render(c->tmpl, xv, st->text[k], KN_TEMPLATE_MAX_OUT);
        dst->type = KN_VT_STR;
        dst->str = st->text[k];
        break;
    }
}

void kn_state_eval_frame(kn_state *st, long frame)
{
    const kn_doc *doc = st->doc;
    double *xv = st->xv;
    kn_state_reset(st);
    st->frame = frame;

    xv[KN_XV_T] = kn_doc_frame_time(doc, frame);
    xv[KN_XV_FRAME] = (double)frame;
    xv[KN_XV_N_FRAMES] = (double)doc->n_frames;
    xv[KN_XV_DURATION] = doc->duration;
    xv[KN_XV_FPS] = doc->fps;
    xv[KN_XV_WIDTH] = doc->width;
    xv[KN_XV_HEIGHT] = doc->height;
    xv[KN_XV_X] = xv[KN_XV_I] = 0;

    /* Computed vars first (the timeline may tween them further), in
     * document order so each sees the ones before it. */
    size_t k = 0;
    sync_vars(st);
    for (; k < doc->ncalcs && doc->calcs[k].is_var; k++) run_calc(st, k);

    if (doc->timeline)
        kn_timeline_apply(st, doc->timeline, xv[KN_XV_T]);
    const kn_frame_entry *fe = kn_doc_frame_entry(doc, frame);
    for (size_t i = 0; fe && i < fe->nsets; i++) {
        assert(fe->sets[i].slot >= 0 && (size_t)fe->sets[i].slot < st->nslots);
        value_assign(&st->v[fe->sets[i].slot], &fe->sets[i].to);
        if (fe->sets[i].to_expr) st->v[fe->sets[i].slot].num = kn_expr_eval(fe->sets[i].to_expr, xv);
    }

    /* Element values last, from the vars as animated. */
    if (k < doc->ncalcs) {
        sync_vars(st);
        for (; k < doc->ncalcs; k++) run_calc(st, k);
    }
}
