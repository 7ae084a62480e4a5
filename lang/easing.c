/*
 * lang/easing.c - the easings of spec section 4 (see easing.h).
 *
 * The pytweening names follow pytweening 1.2.0's formulas term by term,
 * quirks included, because the contract promises its values to 1e-9 for u in
 * [0, 1): easeInElastic(0) is -2^-10/2, not 0; easeInExpo jumps from 0 to
 * 2^-10 just after 0; easeOutExpo(1) is exactly 1; an Elastic amplitude
 * below 1 behaves as 1; easeInOutElastic defaults to period 0.5; the Poly
 * "out" halves take |(u-1)^degree| (Python's abs of a complex power for a
 * fractional degree). smoothstep, smootheststep, squeeze, doublespeed and
 * freeze follow pympanim's easing.py.
 *
 * Invariants: a kn_easing returned by kn_easing_lookup or kn_easing_by_name
 * and only changed by kn_easing_set_param has parameters in range, so
 * kn_easing_apply never divides by zero and, because it clamps u to [0, 1]
 * first (NaN counts as 0), always returns a finite number.
 */
#include "lang/easing.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Named parameters, by the slot of kn_easing.p they occupy. */
typedef struct ease_info {
    const char *name;       /* spec spelling; NULL for the string forms */
    unsigned char np;       /* number of named parameters */
    const char *pn[2];      /* their names, p[0] and p[1] */
    double def[2];          /* their defaults */
} ease_info;

#define NOP   0, { NULL, NULL }, { 0, 0 }
#define ELASTIC(p) 2, { "amplitude", "period" }, { 1.0, p }
#define BACK  1, { "s", NULL }, { 1.70158, 0 }
#define POLY  1, { "degree", NULL }, { 2.0, 0 }

/* Indexed by kn_ease_kind. */
static const ease_info INFO[KN_EASE_COUNT] = {
    [KN_EASE_LINEAR]         = { "linear", NOP },
    [KN_EASE_IN_QUAD]        = { "easeInQuad", NOP },
    [KN_EASE_OUT_QUAD]       = { "easeOutQuad", NOP },
    [KN_EASE_IN_OUT_QUAD]    = { "easeInOutQuad", NOP },
    [KN_EASE_IN_CUBIC]       = { "easeInCubic", NOP },
    [KN_EASE_OUT_CUBIC]      = { "easeOutCubic", NOP },
    [KN_EASE_IN_OUT_CUBIC]   = { "easeInOutCubic", NOP },
    [KN_EASE_IN_QUART]       = { "easeInQuart", NOP },
    [KN_EASE_OUT_QUART]      = { "easeOutQuart", NOP },
    [KN_EASE_IN_OUT_QUART]   = { "easeInOutQuart", NOP },
    [KN_EASE_IN_QUINT]       = { "easeInQuint", NOP },
    [KN_EASE_OUT_QUINT]      = { "easeOutQuint", NOP },
    [KN_EASE_IN_OUT_QUINT]   = { "easeInOutQuint", NOP },
    [KN_EASE_IN_SINE]        = { "easeInSine", NOP },
    [KN_EASE_OUT_SINE]       = { "easeOutSine", NOP },
    [KN_EASE_IN_OUT_SINE]    = { "easeInOutSine", NOP },
    [KN_EASE_IN_EXPO]        = { "easeInExpo", NOP },
    [KN_EASE_OUT_EXPO]       = { "easeOutExpo", NOP },
    [KN_EASE_IN_OUT_EXPO]    = { "easeInOutExpo", NOP },
    [KN_EASE_IN_CIRC]        = { "easeInCirc", NOP },
    [KN_EASE_OUT_CIRC]       = { "easeOutCirc", NOP },
    [KN_EASE_IN_OUT_CIRC]    = { "easeInOutCirc", NOP },
    [KN_EASE_IN_ELASTIC]     = { "easeInElastic", ELASTIC(0.3) },
    [KN_EASE_OUT_ELASTIC]    = { "easeOutElastic", ELASTIC(0.3) },
    [KN_EASE_IN_OUT_ELASTIC] = { "easeInOutElastic", ELASTIC(0.5) },
    [KN_EASE_IN_BACK]        = { "easeInBack", BACK },
    [KN_EASE_OUT_BACK]       = { "easeOutBack", BACK },
    [KN_EASE_IN_OUT_BACK]    = { "easeInOutBack", BACK },
    [KN_EASE_IN_BOUNCE]      = { "easeInBounce", NOP },
    [KN_EASE_OUT_BOUNCE]     = { "easeOutBounce", NOP },
    [KN_EASE_IN_OUT_BOUNCE]  = { "easeInOutBounce", NOP },
    [KN_EASE_IN_POLY]        = { "easeInPoly", POLY },
    [KN_EASE_OUT_POLY]       = { "easeOutPoly", POLY },
    [KN_EASE_IN_OUT_POLY]    = { "easeInOutPoly", POLY },
    [KN_EASE_SMOOTHSTEP]     = { "smoothstep", NOP },
    [KN_EASE_SMOOTHESTSTEP]  = { "smootheststep", NOP },
    [KN_EASE_SQUEEZE]        = { "squeeze", 1, { "amt", NULL }, { 0.2, 0 } },
    [KN_EASE_DOUBLESPEED]    = { "doublespeed", NOP },
    [KN_EASE_FREEZE]         = { "freeze", 1, { "at", NULL }, { 0.0, 0 } },
    [KN_EASE_CUBIC_BEZIER]   = { NULL, NOP },
    [KN_EASE_STEPS]          = { NULL, NOP },
};

#define ACCEPTED "linear; easeIn, easeOut or easeInOut followed by Quad, Cubic, " \
    "Quart, Quint, Sine, Expo, Circ, Elastic, Back, Bounce or Poly " \
    "(e.g. easeInOutCubic); smoothstep, smootheststep, squeeze, doublespeed, " \
    "freeze; \"cubic-bezier(x1,y1,x2,y2)\"; \"steps(n)\""

/* ---- formulas --------------------------------------------------------- */

static double out_bounce(double n)
{
    if (n < (1 / 2.75)) {
        return 7.5625 * n * n;
    } else if (n < (2 / 2.75)) {
        n -= 1.5 / 2.75;
        return 7.5625 * n * n + 0.75;
    } else if (n < (2.5 / 2.75)) {
        n -= 2.25 / 2.75;
        return 7.5625 * n * n + 0.9375;
    } else {
        n -= 2.65 / 2.75;
        return 7.5625 * n * n + 0.984375;
    }
}

static double in_bounce(double n) { return 1 - out_bounce(1 - n); }

static double out_elastic(double n, double amplitude, double period)
{
    double s;
    if (amplitude < 1) {
        amplitude = 1;
        s = period / 4;
    } else {
        s = period / (2 * M_PI) * asin(1 / amplitude);
    }
    return amplitude * pow(2, -10 * n) * sin((n - s) * (2 * M_PI / period)) + 1;
}

static double in_elastic(double n, double amplitude, double period)
{
    return 1 - out_elastic(1 - n, amplitude, period);
}

/* CSS cubic-bezier: y(t) with P0 = 0, P3 = 1, in power form. */
static double bz(double p1, double p2, double t)
{
    double c = 3 * p1, b = 3 * (p2 - p1) - c, a = 1 - c - b;
    return ((a * t + b) * t + c) * t;
}

static double bz_d(double p1, double p2, double t)
{
    double c = 3 * p1, b = 3 * (p2 - p1) - c, a = 1 - c - b;
    return (3 * a * t + 2 * b) * t + c;
}

/* Double-double arithmetic (value = hi + lo, about 106 bits) for x(t) - u.
 * Where x'(t) vanishes - at an end when x1 = 0 or x2 = 1, inside for curves
 * like cubic-bezier(1,0,0,1) - plain doubles put the root anywhere in a
 * window of width 1e-8 (ends) or 1e-6 (inside) and y(t) off by as much;
 * with 106 bits the window shrinks below 1e-10. */
typedef struct dd { double hi, lo; } dd;

static dd dd_norm(double s, double e)
{
    double hi = s + e;
    return (dd){ hi, e - (hi - s) };
}

static dd dd_add(dd a, dd b)
{
    double s = a.hi + b.hi, bb = s - a.hi;
    double e = (a.hi - (s - bb)) + (b.hi - bb);
    return dd_norm(s, e + a.lo + b.lo);
}

static dd dd_mul(dd a, dd b)
{
    double p = a.hi * b.hi;
    double e = fma(a.hi, b.hi, -p) + (a.hi * b.lo + a.lo * b.hi);
    return dd_norm(p, e);
}

/* x(t) - u in Bernstein form: 3 x1 t m^2 + 3 x2 t^2 m + t^3 - u, m = 1 - t. */
static double bz_x_minus(double x1, double x2, double t, double u)
{
    dd T = { t, 0 }, M = dd_add((dd){ 1, 0 }, (dd){ -t, 0 });
    dd t2 = dd_mul(T, T), m2 = dd_mul(M, M);
    dd a = dd_mul(dd_mul((dd){ 3 * x1, fma(3, x1, -3 * x1) }, T), m2);
    dd b = dd_mul(dd_mul((dd){ 3 * x2, fma(3, x2, -3 * x2) }, t2), M);
    dd f = dd_add(dd_add(a, b), dd_add(dd_mul(t2, T), (dd){ -u, 0 }));
    return f.hi + f.lo;
}

/* Solves x(t) = u for t in [0, 1]. x is non-decreasing there because x1 and
 * x2 are in [0, 1], so [lo, hi] always brackets the root: Newton steps are
 * taken while they stay inside the bracket, bisection otherwise (flat spots
 * where x' is 0). Stops when t no longer moves. */
static double bz_solve(double x1, double x2, double u)
{
    double lo = 0, hi = 1, t = u;
    for (int i = 0; i < 300; i++) {
        double f = bz_x_minus(x1, x2, t, u);
        if (f == 0) return t;
        if (f < 0) lo = t; else hi = t;
        double d = bz_d(x1, x2, t), tn;
        if (d > 1e-12) {
            tn = t - f / d;
            if (!(tn > lo && tn < hi)) tn = 0.5 * (lo + hi);
        } else {
            tn = 0.5 * (lo + hi);
        }
        /* A midpoint equal to an end means lo and hi are adjacent doubles. */
        if (tn == t || tn <= lo || tn >= hi) return tn;
        t = tn;
    }
    return t;
}

double kn_easing_apply(const kn_easing *e, double u)
{
    double n = u;
    const double *p = e->p;

    if (!(n > 0)) n = 0;            /* also NaN */
    else if (n > 1) n = 1;

    switch (e->kind) {
    case KN_EASE_LINEAR: return n;

    case KN_EASE_IN_QUAD: return pow(n, 2);
    case KN_EASE_OUT_QUAD: return -n * (n - 2);
    case KN_EASE_IN_OUT_QUAD:
        if (n < 0.5) return 2 * pow(n, 2);
        n = n * 2 - 1;
        return -0.5 * (n * (n - 2) - 1);

    case KN_EASE_IN_CUBIC: return pow(n, 3);
    case KN_EASE_OUT_CUBIC: n -= 1; return pow(n, 3) + 1;
    case KN_EASE_IN_OUT_CUBIC:
        n *= 2;
        if (n < 1) return 0.5 * pow(n, 3);
        n -= 2;
        return 0.5 * (pow(n, 3) + 2);

    case KN_EASE_IN_QUART: return pow(n, 4);
    case KN_EASE_OUT_QUART: n -= 1; return -(pow(n, 4) - 1);
    case KN_EASE_IN_OUT_QUART:
        n *= 2;
        if (n < 1) return 0.5 * pow(n, 4);
        n -= 2;
        return -0.5 * (pow(n, 4) - 2);

    case KN_EASE_IN_QUINT: return pow(n, 5);
    case KN_EASE_OUT_QUINT: n -= 1; return pow(n, 5) + 1;
    case KN_EASE_IN_OUT_QUINT:
        n *= 2;
        if (n < 1) return 0.5 * pow(n, 5);
        n -= 2;
        return 0.5 * (pow(n, 5) + 2);

    case KN_EASE_IN_SINE: return -1 * cos(n * M_PI / 2) + 1;
    case KN_EASE_OUT_SINE: return sin(n * M_PI / 2);
    case KN_EASE_IN_OUT_SINE: return -0.5 * (cos(M_PI * n) - 1);

    case KN_EASE_IN_EXPO:
        if (n == 0) return 0;
        return pow(2, 10 * (n - 1));
    case KN_EASE_OUT_EXPO:
        if (n == 1) return 1;
        return -pow(2, -10 * n) + 1;
    case KN_EASE_IN_OUT_EXPO:
        if (n == 0) return 0;
        if (n == 1) return 1;
        n *= 2;
        if (n < 1) return 0.5 * pow(2, 10 * (n - 1));
        n -= 1;
        return 0.5 * (-1 * pow(2, -10 * n) + 2);

    case KN_EASE_IN_CIRC: return -1 * (sqrt(1 - n * n) - 1);
    case KN_EASE_OUT_CIRC: n -= 1; return sqrt(1 - n * n);
    case KN_EASE_IN_OUT_CIRC:
        n *= 2;
        if (n < 1) return -0.5 * (sqrt(1 - pow(n, 2)) - 1);
        n -= 2;
        return 0.5 * (sqrt(1 - pow(n, 2)) + 1);

    case KN_EASE_IN_ELASTIC: return in_elastic(n, p[0], p[1]);
    case KN_EASE_OUT_ELASTIC: return out_elastic(n, p[0], p[1]);
    case KN_EASE_IN_OUT_ELASTIC:
        n *= 2;
        if (n < 1) return in_elastic(n, p[0], p[1]) / 2;
        return out_elastic(n - 1, p[0], p[1]) / 2 + 0.5;

    case KN_EASE_IN_BACK: return n * n * ((p[0] + 1) * n - p[0]);
    case KN_EASE_OUT_BACK: n -= 1; return n * n * ((p[0] + 1) * n + p[0]) + 1;
    case KN_EASE_IN_OUT_BACK: {
        double s = p[0] * 1.525;
        n *= 2;
        if (n < 1) return 0.5 * (n * n * ((s + 1) * n - s));
        n -= 2;
        return 0.5 * (n * n * ((s + 1) * n + s) + 2);
    }

    case KN_EASE_IN_BOUNCE: return in_bounce(n);
    case KN_EASE_OUT_BOUNCE: return out_bounce(n);
    case KN_EASE_IN_OUT_BOUNCE:
        if (n < 0.5) return in_bounce(n * 2) * 0.5;
        return out_bounce(n * 2 - 1) * 0.5 + 0.5;

    /* n <= 1 here, so |n - 1|^d is what pytweening's abs((n - 1) ** d)
     * gives, also for a fractional d where Python's power is complex. */
    case KN_EASE_IN_POLY: return pow(n, p[0]);
    case KN_EASE_OUT_POLY: return 1 - pow(fabs(n - 1), p[0]);
    case KN_EASE_IN_OUT_POLY:
        n *= 2;
        if (n < 1) return 0.5 * pow(n, p[0]);
        n -= 2;
        return 1 - 0.5 * pow(fabs(n), p[0]);

    case KN_EASE_SMOOTHSTEP: return n * n * (3.0 - 2.0 * n);
    case KN_EASE_SMOOTHESTSTEP:
        return n * n * n * n * (35 + n * (-84 + n * (70 + n * -20)));
    case KN_EASE_SQUEEZE:
        if (n < p[0]) return 0;
        if (n >= 1 - p[0]) return 1;
        return (n - p[0]) / (1 - (p[0] * 2));
    case KN_EASE_DOUBLESPEED: return n < 0.5 ? n * 2 : 1;
    case KN_EASE_FREEZE: return p[0];

    case KN_EASE_CUBIC_BEZIER:
        if (n == 0 || n == 1) return n;
        return bz(p[1], p[3], bz_solve(p[0], p[2], n));
    case KN_EASE_STEPS:
        return floor(p[0] * n) / p[0];

    case KN_EASE_COUNT: break;
    }
    return n;
}

/* ---- names ------------------------------------------------------------ */

static void set_defaults(kn_easing *out, kn_ease_kind kind)
{
    out->kind = kind;
    out->p[0] = INFO[kind].def[0];
    out->p[1] = INFO[kind].def[1];
    out->p[2] = 0;
    out->p[3] = 0;
}

int kn_easing_by_name(const char *name, kn_easing *out)
{
    if (!name || !out) return 0;
    for (int k = 0; k < KN_EASE_COUNT; k++) {
        if (INFO[k].name && strcmp(INFO[k].name, name) == 0) {
            set_defaults(out, (kn_ease_kind)k);
            return 1;
        }
    }
    return 0;
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    return s;
}

/* A plain decimal number ([+-]digits[.digits][e[+-]digits]) at *s; strtod
 * alone would also take "inf", "nan", hex and leading spaces. */
static int scan_number(const char **s, double *v)
{
    const char *p = *s, *q = p;
    int digits = 0;
    if (*q == '+' || *q == '-') q++;
    while (isdigit((unsigned char)*q)) { q++; digits++; }
    if (*q == '.') {
        q++;
        while (isdigit((unsigned char)*q)) { q++; digits++; }
    }
    if (!digits) return -1;
    if (*q == 'e' || *q == 'E') {
        const char *r = q + 1;
        if (*r == '+' || *r == '-') r++;
        if (!isdigit((unsigned char)*r)) return -1;
        while (isdigit((unsigned char)*r)) r++;
        q = r;
    }
    char *end;
    errno = 0;
    double x = strtod(p, &end);
    if (end != q || errno == ERANGE || !isfinite(x)) return -1;
    *v = x;
    *s = q;
    return 0;
}

static int parse_bezier(const char *name, kn_easing *out, const char *path, kn_err *err)
{
    static const char *const what[4] = { "x1", "y1", "x2", "y2" };
    const char *s = name + strlen("cubic-bezier(");
    double v[4];
    char b[64];

    for (int i = 0; i < 4; i++) {
        s = skip_ws(s);
        if (scan_number(&s, &v[i]) != 0)
            goto bad;
        s = skip_ws(s);
        if (*s != (i < 3 ? ',' : ')'))
            goto bad;
        s++;
    }
    if (*s != '\0')
        goto bad;
    for (int i = 0; i < 4; i += 2) {
        if (v[i] < 0 || v[i] > 1)
            return kn_err_set(err, KN_EINVAL, path,
                              "easing \"%s\": %s is %g but must be within 0..1 "
                              "(x values are time and must not go backwards)",
                              kn_err_excerpt(name, b, sizeof b), what[i], v[i]);
    }
    out->kind = KN_EASE_CUBIC_BEZIER;
    for (int i = 0; i < 4; i++) out->p[i] = v[i];
    return KN_OK;
bad:
    return kn_err_set(err, KN_EINVAL, path,
                      "malformed easing \"%s\": expected \"cubic-bezier(x1,y1,x2,y2)\" "
                      "with four numbers, e.g. \"cubic-bezier(0.25,0.1,0.25,1)\"",
                      kn_err_excerpt(name, b, sizeof b));
}

static int parse_steps(const char *name, kn_easing *out, const char *path, kn_err *err)
{
    const char *s = skip_ws(name + strlen("steps("));
    const char *d = s;
    char b[64];
    while (isdigit((unsigned char)*d)) d++;
    if (d == s)
        goto bad;
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (end != d)
        goto bad;
    s = skip_ws(d);
    if (*s != ')' || s[1] != '\0')
        goto bad;
    if (errno == ERANGE || n < 1 || n > INT_MAX)
        return kn_err_set(err, KN_EINVAL, path,
                          "easing \"%s\": the number of steps must be an integer "
                          "from 1 to %d", kn_err_excerpt(name, b, sizeof b), INT_MAX);
    out->kind = KN_EASE_STEPS;
    out->p[0] = (double)n;
    out->p[1] = out->p[2] = out->p[3] = 0;
    return KN_OK;
bad:
    return kn_err_set(err, KN_EINVAL, path,
                      "malformed easing \"%s\": expected \"steps(n)\" with a whole "
                      "number n >= 1, e.g. \"steps(4)\"", kn_err_excerpt(name, b, sizeof b));
}

int kn_easing_lookup(const char *name, kn_easing *out, const char *path, kn_err *err)
{
    char b[64];
    if (!name)
        return kn_err_set(err, KN_EINVAL, path, "missing easing name (use " ACCEPTED ")");
    if (kn_easing_by_name(name, out))
        return KN_OK;
    if (strncmp(name, "cubic-bezier(", strlen("cubic-bezier(")) == 0)
        return parse_bezier(name, out, path, err);
    if (strncmp(name, "steps(", strlen("steps(")) == 0)
        return parse_steps(name, out, path, err);
    if (strcmp(name, "cubic-bezier") == 0 || strcmp(name, "steps") == 0)
        return kn_err_set(err, KN_EINVAL, path,
                          "easing \"%s\" needs its values in the name, e.g. "
                          "\"cubic-bezier(0.25,0.1,0.25,1)\" or \"steps(4)\"", name);
    /* Names are case-sensitive; point out the near miss. */
    for (int k = 0; k < KN_EASE_COUNT; k++) {
        if (INFO[k].name && strcasecmp(INFO[k].name, name) == 0)
            return kn_err_set(err, KN_EINVAL, path,
                              "unknown easing \"%s\": did you mean \"%s\"? "
                              "(names are case-sensitive)", kn_err_excerpt(name, b, sizeof b),
                              INFO[k].name);
    }
    return kn_err_set(err, KN_EINVAL, path,
                      "unknown easing \"%s\" (use " ACCEPTED ")", kn_err_excerpt(name, b, sizeof b));
}

/* ---- parameters ------------------------------------------------------- */

static const char *kind_name(kn_ease_kind k)
{
    if (k == KN_EASE_CUBIC_BEZIER) return "cubic-bezier";
    if (k == KN_EASE_STEPS) return "steps";
    return INFO[k].name;
}

/* Checks value for param; NULL if fine, else what the range is. */
static const char *param_range(const char *param, double v)
{
    if (strcmp(param, "amplitude") == 0 || strcmp(param, "period") == 0 ||
        strcmp(param, "degree") == 0)
        return v > 0 ? NULL : "a number > 0";
    if (strcmp(param, "amt") == 0)
        return (v >= 0 && v < 0.5) ? NULL : "a number from 0 up to (not including) 0.5";
    return NULL;  /* "s", "at": any finite number */
}

int kn_easing_set_param(kn_easing *e, const char *param, double value,
                        const char *path, kn_err *err)
{
    if (!e || (unsigned)e->kind >= KN_EASE_COUNT)
        return kn_err_set(err, KN_EINVAL, path, "no easing to set a parameter on");
    const ease_info *in = &INFO[e->kind];
    const char *ename = kind_name(e->kind);
    char b[64];
    const char *pname = param ? kn_err_excerpt(param, b, sizeof b) : "(null)";

    for (int i = 0; i < in->np; i++) {
        if (param && strcmp(in->pn[i], param) == 0) {
            const char *range = isfinite(value) ? param_range(param, value) : "a finite number";
            if (range)
                return kn_err_set(err, KN_EINVAL, path,
                                  "%s parameter \"%s\" is %g but must be %s",
                                  ename, param, value, range);
            e->p[i] = value;
            return KN_OK;
        }
    }

    switch (in->np) {
    case 0:
        if (e->kind == KN_EASE_CUBIC_BEZIER || e->kind == KN_EASE_STEPS)
            return kn_err_set(err, KN_EINVAL, path,
                              "%s takes no parameter \"%s\": its values go in the name, "
                              "e.g. %s", ename, pname,
                              e->kind == KN_EASE_STEPS ? "\"steps(4)\""
                                                       : "\"cubic-bezier(0.25,0.1,0.25,1)\"");
        return kn_err_set(err, KN_EINVAL, path,
                          "%s takes no parameters (got \"%s\")", ename, pname);
    case 1:
        return kn_err_set(err, KN_EINVAL, path,
                          "%s has no parameter \"%s\"; it takes only \"%s\"",
                          ename, pname, in->pn[0]);
    default:
        return kn_err_set(err, KN_EINVAL, path,
                          "%s has no parameter \"%s\"; it takes \"%s\" and \"%s\"",
                          ename, pname, in->pn[0], in->pn[1]);
    }
}
