/*
 * lang/easing.h - easing functions (spec section 4): map progress u in
 * [0, 1] to eased progress. Values match pytweening 1.2 for every name it has
 * and pympanim's formulas for smoothstep, smootheststep, squeeze, doublespeed
 * and freeze.
 *
 * A kn_easing is a small value (no pointers): copy it freely.
 */
#ifndef KN_LANG_EASING_H
#define KN_LANG_EASING_H

#include "common/err.h"

typedef enum kn_ease_kind {
    KN_EASE_LINEAR = 0,
    KN_EASE_IN_QUAD, KN_EASE_OUT_QUAD, KN_EASE_IN_OUT_QUAD,
    KN_EASE_IN_CUBIC, KN_EASE_OUT_CUBIC, KN_EASE_IN_OUT_CUBIC,
    KN_EASE_IN_QUART, KN_EASE_OUT_QUART, KN_EASE_IN_OUT_QUART,
    KN_EASE_IN_QUINT, KN_EASE_OUT_QUINT, KN_EASE_IN_OUT_QUINT,
    KN_EASE_IN_SINE, KN_EASE_OUT_SINE, KN_EASE_IN_OUT_SINE,
    KN_EASE_IN_EXPO, KN_EASE_OUT_EXPO, KN_EASE_IN_OUT_EXPO,
    KN_EASE_IN_CIRC, KN_EASE_OUT_CIRC, KN_EASE_IN_OUT_CIRC,
    KN_EASE_IN_ELASTIC, KN_EASE_OUT_ELASTIC, KN_EASE_IN_OUT_ELASTIC,
    KN_EASE_IN_BACK, KN_EASE_OUT_BACK, KN_EASE_IN_OUT_BACK,
    KN_EASE_IN_BOUNCE, KN_EASE_OUT_BOUNCE, KN_EASE_IN_OUT_BOUNCE,
    KN_EASE_IN_POLY, KN_EASE_OUT_POLY, KN_EASE_IN_OUT_POLY,
    KN_EASE_SMOOTHSTEP, KN_EASE_SMOOTHESTSTEP, KN_EASE_SQUEEZE,
    KN_EASE_DOUBLESPEED, KN_EASE_FREEZE,
    KN_EASE_CUBIC_BEZIER, KN_EASE_STEPS,
    KN_EASE_COUNT
} kn_ease_kind;

typedef struct kn_easing {
    kn_ease_kind kind;
    double p[4];   /* parameters: Elastic amplitude,period; Back s; Poly degree;
                      squeeze amt; freeze at; cubic-bezier x1,y1,x2,y2; steps n */
} kn_easing;

/* Looks up an easing by its spec name ("easeInOutCubic", "smoothstep",
 * "cubic-bezier(0.25,0.1,0.25,1)", "steps(4)") with default parameters.
 * Returns KN_OK, or KN_EINVAL with a message listing what is accepted. */
int kn_easing_lookup(const char *name, kn_easing *out, const char *path, kn_err *err);

/* Sets a named parameter ("amplitude", "period", "s", "degree", "amt", "at")
 * on an easing that takes it. KN_EINVAL when this easing has no such
 * parameter or the value is out of range (period > 0, degree > 0, ...). */
int kn_easing_set_param(kn_easing *e, const char *param, double value,
                        const char *path, kn_err *err);

/* Eased progress at u. Defined for any finite u; callers pass [0, 1]. */
double kn_easing_apply(const kn_easing *e, double u);

/* Looks up a name for use as a one-argument function in expressions; same
 * as kn_easing_lookup but without the parametrised-string forms. Returns 1 if
 * found. */
int kn_easing_by_name(const char *name, kn_easing *out);

#endif
