/*
 * render/ticks.c - matplotlib 3.6's tick placement, tick labels and margins,
 * transcribed operation by operation so the doubles come out the same
 * (tests/test_ticks.c holds values read off matplotlib itself).
 *
 * Sources (lib/matplotlib/): ticker.py scale_range, _Edge_integer,
 * MaxNLocator._raw_ticks/tick_values/view_limits, LogLocator.tick_values/
 * nonsingular, ScalarFormatter._set_order_of_magnitude/_set_format/__call__,
 * LogFormatterSciNotation; transforms.py nonsingular and
 * _interval_contains_close; axis.py Axis._update_ticks; axes/_base.py
 * autoscale_view and _set_lim.
 *
 * Why it is written the way it is:
 *   - Python's float floor division / divmod and numpy's floor_divide share
 *     one algorithm (fmod, then a correction) that can differ from floor(a/b)
 *     by one; py_divmod reproduces it, and with it matplotlib's tick indices.
 *   - Every product and sum is its own rounded operation, as in numpy. The
 *     x86-64 build has no fma to contract a*b+c into; a target that has one
 *     would need -ffp-contract=off for this file to stay bit-exact.
 *   - 10 ** k is pow(10, k) and log10/log are libm's, the same calls Python
 *     and numpy make, so the same doubles come out.
 */
#include "render/ticks.h"

#include <math.h>
#include <float.h>
#include <stdio.h>
#include <string.h>

#define MAX_NBINS 100
/* The locator's raw list holds the visible ticks plus a few beyond each
 * edge: at most about nbins + 4, so this stack buffer always suffices and
 * bounds the work for absurd input. */
#define RAW_MAX 256
/* Limits whose span overflows are scaled down by this before locating
 * ticks: |limit| <= DBL_MAX then gives a span <= 2 * DBL_MAX / 1e4. */
#define OVERFLOW_SCALE 1e4

/* ---- Python / numpy arithmetic --------------------------------------- */

/* Python's float divmod(vx, wx) (Objects/floatobject.c float_divmod), which
 * numpy's npy_divmod copies. wx != 0. */
static double py_divmod(double vx, double wx, double *mod_out)
{
    double mod = fmod(vx, wx);
    double div = (vx - mod) / wx;
    if (mod != 0.0) {
        if ((wx < 0) != (mod < 0)) {
            mod += wx;
            div -= 1.0;
        }
    } else {
        mod = copysign(0.0, wx);
    }
    double floordiv;
    if (div != 0.0) {
        floordiv = floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, vx / wx);
    }
    if (mod_out) *mod_out = mod;
    return floordiv;
}

static double py_floordiv(double a, double b) { return py_divmod(a, b, NULL); }

/* numpy's power_of_ten (umath round): exact table, then repeated * 10. */
static double np_power_of_ten(int n)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    if (n < 9) return p10[n];
    double r = 1e9;
    while (n-- > 9) r *= 10.;
    return r;
}

/* np.round(x, decimals) for decimals >= 0: multiply, rint, divide. */
static double np_round(double x, int decimals)
{
    double f = np_power_of_ten(decimals);
    return rint(x * f) / f;
}

/* math.isclose(a, b) with the default rel_tol 1e-9, abs_tol 0. */
static int py_isclose(double a, double b)
{
    if (a == b) return 1;
    if (isinf(a) || isinf(b)) return 0;
    double diff = fabs(b - a);
    return diff <= fabs(1e-9 * b) || diff <= fabs(1e-9 * a);
}

/* ---- transforms.py ---------------------------------------------------- */

/* mtransforms.nonsingular with increasing=True. */
static void nonsingular(double *vmin, double *vmax, double expander, double tiny)
{
    double a = *vmin, b = *vmax;
    if (!isfinite(a) || !isfinite(b)) {
        *vmin = -expander;
        *vmax = expander;
        return;
    }
    if (b < a) {
        double t = a;
        a = b;
        b = t;
    }
    double maxabs = fmax(fabs(a), fabs(b));
    if (maxabs < (1e6 / tiny) * DBL_MIN) {
        a = -expander;
        b = expander;
    } else if (b - a <= maxabs * tiny) {
        if (b == 0 && a == 0) {
            a = -expander;
            b = expander;
        } else {
            a -= expander * fabs(a);
            b += expander * fabs(b);
        }
    }
    /* Widening a limit next to DBL_MAX would give inf (matplotlib's too);
     * the largest finite double keeps the view usable. */
    *vmin = fmax(a, -DBL_MAX);
    *vmax = fmin(b, DBL_MAX);
}

/* _interval_contains_close(interval, val, rtol=1e-10). */
static int interval_contains_close(double a, double b, double val)
{
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    /* on halves: a span near DBL_MAX must not overflow into an infinite
     * tolerance that lets every tick in */
    double rtol = (b / 2 - a / 2) * 2e-10;
    return a - rtol <= val && val <= b + rtol;
}

/* ---- MaxNLocator ------------------------------------------------------ */

/* _Edge_integer.closeto */
static int edge_closeto(double step, double offset, double ms, double edge)
{
    double tol;
    if (offset > 0) {
        double digits = log10(offset / step);
        tol = fmax(1e-10, pow(10.0, digits - 12));
        tol = fmin(0.4999, tol);
    } else {
        tol = 1e-10;
    }
    return fabs(ms - edge) < tol;
}

static double edge_le(double step, double offset, double x)
{
    double m;
    double d = py_divmod(x, step, &m);
    return edge_closeto(step, offset, m / step, 1) ? d + 1 : d;
}

static double edge_ge(double step, double offset, double x)
{
    double m;
    double d = py_divmod(x, step, &m);
    return edge_closeto(step, offset, m / step, 0) ? d : d + 1;
}

/* MaxNLocator._raw_ticks for steps [1, 2, 2.5, 5, 10], min_n_ticks 2,
 * integer False, autolimit_mode 'data'. Writes raw[0..*nraw). */
static int raw_ticks(double vmin, double vmax, int nbins, double *raw,
                     size_t *nraw, kn_err *err)
{
    static const double base_steps[] = {1, 2, 2.5, 5, 10};
    enum { NB = sizeof base_steps / sizeof base_steps[0] };
    double ext[NB - 1 + NB + 1];
    size_t next = 0;

    /* scale_range(vmin, vmax, nbins) */
    double dv = fabs(vmax - vmin);
    double meanv = (vmax + vmin) / 2;
    double offset = 0;
    if (!(fabs(meanv) / dv < 100))
        offset = copysign(pow(10.0, py_floordiv(log10(fabs(meanv)), 1)), meanv);
    double scale = pow(10.0, py_floordiv(log10(dv / nbins), 1));

    /* _staircase: 0.1 * steps[:-1], steps, 10 * steps[1]; then * scale */
    for (size_t i = 0; i + 1 < NB; i++) ext[next++] = 0.1 * base_steps[i];
    for (size_t i = 0; i < NB; i++) ext[next++] = base_steps[i];
    ext[next++] = 10 * base_steps[1];
    for (size_t i = 0; i < next; i++) ext[i] = ext[i] * scale;

    double _vmin = vmin - offset;
    double _vmax = vmax - offset;
    double raw_step = (_vmax - _vmin) / nbins;
    size_t istep = next - 1;
    for (size_t i = 0; i < next; i++) {
        if (ext[i] >= raw_step) {
            istep = i;
            break;
        }
    }

    for (size_t k = istep + 1; k-- > 0;) {
        double step = ext[k];
        double best_vmin = py_floordiv(_vmin, step) * step;
        /* _Edge_integer keeps abs(offset): a negative offset loosens the
         * tolerance exactly as a positive one does */
        double low = edge_le(step, fabs(offset), _vmin - best_vmin);
        double high = edge_ge(step, fabs(offset), _vmax - best_vmin);
        double count = high + 1 - low;
        if (!(count >= 0 && count <= RAW_MAX))
            return kn_err_set(err, KN_EINVAL, NULL,
                              "axis range [%g, %g] cannot be divided into ticks",
                              vmin, vmax);
        size_t cnt = (size_t)count, visible = 0;
        for (size_t i = 0; i < cnt; i++) {
            double t = (low + (double)i) * step + best_vmin;
            raw[i] = t;
            if (t <= _vmax && t >= _vmin) visible++;
        }
        *nraw = cnt;
        if (visible >= 2 || k == 0) break;
    }
    for (size_t i = 0; i < *nraw; i++) raw[i] = raw[i] + offset;
    return KN_OK;
}

/* MaxNLocator.tick_values after nonsingular: raw_ticks, except where
 * the span (or the mean) of the limits overflows, which matplotlib itself
 * fails on (limits near DBL_MAX). The same locator on the limits divided
 * by a power of ten then gives the same nice steps; ticks that overflow on
 * the way back lie beyond the view and are dropped. */
static int locate(double vmin, double vmax, int nbins, double *raw, size_t *nraw, kn_err *err)
{
    if (isfinite(vmax - vmin) && isfinite(vmax + vmin))
        return raw_ticks(vmin, vmax, nbins, raw, nraw, err);
    int rc = raw_ticks(vmin / OVERFLOW_SCALE, vmax / OVERFLOW_SCALE, nbins, raw, nraw, err);
    size_t k = 0;
    for (size_t i = 0; rc == KN_OK && i < *nraw; i++) {
        double t = raw[i] * OVERFLOW_SCALE;
        if (isfinite(t)) raw[k++] = t;
    }
    *nraw = k;
    return rc;
}

static int emit(double v, double *out, size_t cap, size_t *n, kn_err *err)
{
    if (*n >= cap)
        return kn_err_set(err, KN_ENOMEM, NULL,
                          "more than %zu ticks on one axis", cap);
    out[(*n)++] = v;
    return KN_OK;
}

int kn_ticks_linear(double lo, double hi, int nbins, double *out, size_t cap,
                    size_t *n, kn_tick_fmt *fmt, kn_err *err)
{
    double raw[RAW_MAX];
    size_t nraw = 0;
    int rc = KN_OK;
    *n = 0;
    if (fmt) *fmt = (kn_tick_fmt){0, 0};
    if (!isfinite(lo) || !isfinite(hi)) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "axis limits must be finite numbers");
        goto out;
    }
    if (nbins < 1 || nbins > MAX_NBINS) {
        rc = kn_err_set(err, KN_EINVAL, NULL,
                        "tick count must be 1..%d, got %d", MAX_NBINS, nbins);
        goto out;
    }
    double vmin = lo, vmax = hi;
    nonsingular(&vmin, &vmax, 1e-13, 1e-14);
    rc = locate(vmin, vmax, nbins, raw, &nraw, err);
    if (rc != KN_OK) goto out;
    /* A proper view is filtered as the axis does; a degenerate one (lo ==
     * hi) against the widened range the locator worked on. */
    double a = lo, b = hi;
    if (a == b) {
        a = vmin;
        b = vmax;
    }
    for (size_t i = 0; i < nraw && rc == KN_OK; i++)
        if (interval_contains_close(a, b, raw[i]))
            rc = emit(raw[i], out, cap, n, err);
    /* matplotlib's formatter sees the whole locator output, edge ticks
     * included; on ranges 1e-12 wide that can move the decimals by one */
    if (rc == KN_OK && fmt) kn_ticks_format_plan(raw, nraw, a, b, fmt);
out:
    if (rc != KN_OK) *n = 0;
    return rc;
}

/* ---- LogLocator ------------------------------------------------------- */

int kn_ticks_log(double lo, double hi, int numticks, double *out, size_t cap,
                 size_t *n, kn_err *err)
{
    int rc = KN_OK;
    *n = 0;
    if (!isfinite(lo) || !isfinite(hi) || lo <= 0 || hi <= 0) {
        rc = kn_err_set(err, KN_EINVAL, NULL,
                        "log axis limits must be finite numbers > 0");
        goto out;
    }
    if (numticks < 2 || numticks > MAX_NBINS) {
        rc = kn_err_set(err, KN_EINVAL, NULL,
                        "tick count must be 2..%d, got %d", MAX_NBINS, numticks);
        goto out;
    }
    double vmin = lo, vmax = hi;
    if (vmax < vmin) {
        vmin = hi;
        vmax = lo;
    }
    double log_vmin = log(vmin) / log(10.0);
    double log_vmax = log(vmax) / log(10.0);
    long long fmin_ = (long long)floor(log_vmin), cmin = (long long)ceil(log_vmin);
    long long fmax_ = (long long)floor(log_vmax), cmax = (long long)ceil(log_vmax);
    long long numdec = fmax_ - cmin;
    /* (numdec + 1) // numticks + 1 with Python's floor division */
    long long q = numdec + 1;
    long long stride = (q >= 0 ? q / numticks : -((-q + numticks - 1) / numticks)) + 1;
    if (stride >= numdec) stride = numdec - 1 > 1 ? numdec - 1 : 1;

    double ia = log10(lo), ib = log10(hi);
    for (long long d = fmin_ - stride; d < cmax + 2 * stride && rc == KN_OK; d += stride) {
        double t = pow(10.0, (double)d);
        if (interval_contains_close(ia, ib, log10(t)))
            rc = emit(t, out, cap, n, err);
    }
out:
    if (rc != KN_OK) *n = 0;
    return rc;
}

/* LogLocator(10, subs='auto', numticks).tick_values(lo, hi), the minor
 * locator of a log axis, then Axis.get_minorticklocs (drops those within
 * 1e-5 of the view of a major tick, in log space) and Axis._update_ticks
 * (keeps those in the view, in log space). */
int kn_ticks_log_minor(double lo, double hi, int numticks, double *out, size_t cap,
                       size_t *n, kn_err *err)
{
    int rc = KN_OK;
    *n = 0;
    if (!isfinite(lo) || !isfinite(hi) || lo <= 0 || hi <= 0)
        return kn_err_set(err, KN_EINVAL, NULL, "log axis limits must be finite numbers > 0");
    if (numticks < 2 || numticks > MAX_NBINS)
        return kn_err_set(err, KN_EINVAL, NULL, "tick count must be 2..%d, got %d", MAX_NBINS,
                          numticks);
    double vmin = fmin(lo, hi), vmax = fmax(lo, hi);
    double log_vmin = log(vmin) / log(10.0), log_vmax = log(vmax) / log(10.0);
    long long numdec = (long long)floor(log_vmax) - (long long)ceil(log_vmin);
    if (numdec > 10) return KN_OK;              /* "no minor or major ticks" */
    long long q = numdec + 1;
    long long stride = (q >= 0 ? q / numticks : -((-q + numticks - 1) / numticks)) + 1;
    if (stride >= numdec) stride = numdec - 1 > 1 ? numdec - 1 : 1;
    /* The major ticks this view gets, the locator's whole output (the
     * overlap test below looks at all of it). */
    double major[RAW_MAX], raw[RAW_MAX];
    size_t nmaj = 0, nraw = 0;
    long long d0 = (long long)floor(log_vmin), d1 = (long long)ceil(log_vmax);
    for (long long d = d0 - stride; d < d1 + 2 * stride && nmaj < RAW_MAX; d += stride)
        major[nmaj++] = pow(10.0, (double)d);
    if (stride != 1) return KN_OK;              /* subs only between adjacent decades */
    size_t in_view = 0;
    for (long long d = d0 - 1; d < d1 + 2; d++) {
        double dec = pow(10.0, (double)d);
        for (int sub = 2; sub < 10 && nraw < RAW_MAX; sub++) {
            double t = (double)sub * dec;
            raw[nraw++] = t;
            if (vmin <= t && t <= vmax) in_view++;
        }
    }
    if (in_view <= 1) {
        /* "a minor locator that expects at least two ticks per decade"
         * with at most one in view: AutoLocator().tick_values, nbins 9. */
        double a = vmin, b = vmax;
        nonsingular(&a, &b, 1e-13, 1e-14);
        rc = locate(a, b, 9, raw, &nraw, err);
        if (rc != KN_OK) return rc;
    }
    double ia = log10(lo), ib = log10(hi);
    double tol = fabs(ib - ia) * 1e-5;
    for (size_t i = 0; i < nraw && rc == KN_OK; i++) {
        if (!(raw[i] > 0)) continue;            /* log10 of it is not a number */
        double lt = log10(raw[i]);
        int overlap = 0;
        for (size_t k = 0; k < nmaj && !overlap; k++) overlap = fabs(lt - log10(major[k])) <= tol;
        if (!overlap && interval_contains_close(ia, ib, lt)) rc = emit(raw[i], out, cap, n, err);
    }
    if (rc != KN_OK) *n = 0;
    return rc;
}

int kn_ticks_log_minor_labelled(double lo, double hi, double v)
{
    if (!(lo > 0) || !(hi > 0) || !(v > 0) || !isfinite(v)) return 0;
    /* LogFormatter.set_locs with minor_thresholds (1, 0.4) */
    double numdec = fabs(log(hi) / log(10.0) - log(lo) / log(10.0));
    if (numdec > 1) return 0;                   /* only decades, never minor */
    /* LogFormatter.__call__: the coefficient rounded half to even, as
     * Python's round() does (rint in the default rounding mode) */
    double fx = log(v) / log(10.0);
    double exponent = py_isclose(fx, rint(fx)) ? rint(fx) : floor(fx);
    double coeff = rint(pow(10.0, fx - exponent));
    if (numdec > 0.4)   /* np.round(np.geomspace(1, 10, 6)) */
        return coeff == 1 || coeff == 2 || coeff == 3 || coeff == 4 || coeff == 6 || coeff == 10;
    return coeff >= 1 && coeff <= 10;
}

void kn_ticks_colorbar_limits(double vmin, double vmax, double *lo, double *hi)
{
    double a = vmin, b = vmax;
    if (!isfinite(a) || !isfinite(b)) {
        a = 0;
        b = 1;
    }
    nonsingular(&a, &b, 0.1, 1e-15);
    *lo = a;
    *hi = b;
}

int kn_ticks_auto_count(double axis_len, double label_size, int vertical, int log)
{
    double lim_lo = log ? 2 : 1, lim_hi = 9;
    double size = label_size * (vertical ? 2 : 3);
    double space = size > 0 && isfinite(axis_len) ? floor(axis_len / size) : lim_hi;
    if (!(space >= lim_lo)) space = lim_lo;
    if (space > lim_hi) space = lim_hi;
    return (int)space;
}

/* ---- limits ----------------------------------------------------------- */

int kn_ticks_fix_limits(double lo, double hi, double *out_lo, double *out_hi,
                        kn_err *err)
{
    if (!isfinite(lo) || !isfinite(hi))
        return kn_err_set(err, KN_EINVAL, NULL, "axis limits must be finite numbers");
    int reverse = lo > hi;
    double a = lo, b = hi;
    nonsingular(&a, &b, 0.05, 1e-15);
    *out_lo = reverse ? b : a;
    *out_hi = reverse ? a : b;
    return KN_OK;
}

/* _decade_less / _decade_greater for x > 0, base 10 */
static double decade_less(double x)
{
    double less = pow(10.0, floor(log(x) / log(10.0)));
    if (less == x) less /= 10;
    return less;
}

static double decade_greater(double x)
{
    double greater = pow(10.0, ceil(log(x) / log(10.0)));
    if (greater == x) greater *= 10;
    return greater;
}

int kn_ticks_fix_limits_log(double lo, double hi, double *out_lo, double *out_hi,
                            kn_err *err)
{
    if (!isfinite(lo) || !isfinite(hi) || lo <= 0 || hi <= 0)
        return kn_err_set(err, KN_EINVAL, NULL,
                          "log axis limits must be finite numbers > 0");
    if (lo == hi) {
        *out_lo = decade_less(lo);
        *out_hi = decade_greater(hi);
    } else {
        *out_lo = lo;
        *out_hi = hi;
    }
    return KN_OK;
}

void kn_ticks_auto_limits_sticky(double data_min, double data_max, const double *sticky,
                                 size_t nsticky, double *lo, double *hi)
{
    if (!isfinite(data_min) || !isfinite(data_max)) {
        *lo = 0;
        *hi = 1;
        return;
    }
    double x0 = fmin(data_min, data_max), x1 = fmax(data_min, data_max);
    nonsingular(&x0, &x1, 0.05, 1e-15);           /* Locator.nonsingular */
    /* autoscale_view: a sticky edge stops the margin only where it lies at
     * or beyond the (widened) data, so bars of zeros, widened to
     * [-0.05, 0.05] above, keep their margins. */
    double span = x1 - x0;
    double tol = 1e-5 * fmax(fmax(fabs(x0), fabs(x1)), isfinite(span) ? span : DBL_MAX);
    double b0 = -INFINITY, b1 = INFINITY;
    for (size_t i = 0; i < nsticky; i++) {
        double v = sticky[i];
        if (!isfinite(v)) continue;
        if (v < x0 + tol && v > b0) b0 = v;
        if (v >= x1 - tol && v < b1) b1 = v;
    }
    double delta;
    if (isfinite(span)) {
        delta = span * 0.05;
    } else {
        /* matplotlib drops the margin when the span overflows (and then
         * fails to locate ticks); scaled arithmetic keeps both. */
        delta = x1 * 0.05 - x0 * 0.05;
    }
    x0 = fmax(x0 - delta, -DBL_MAX);
    x1 = fmin(x1 + delta, DBL_MAX);
    x0 = fmax(x0, b0);
    x1 = fmin(x1, b1);
    nonsingular(&x0, &x1, 1e-12, 1e-13);          /* MaxNLocator.view_limits */
    *lo = x0;
    *hi = x1;
}

void kn_ticks_auto_limits(double data_min, double data_max, double *lo, double *hi)
{
    kn_ticks_auto_limits_sticky(data_min, data_max, NULL, 0, lo, hi);
}

void kn_ticks_auto_limits_log(double data_min, double data_max, double *lo, double *hi)
{
    double x0 = fmin(data_min, data_max), x1 = fmax(data_min, data_max);
    if (!isfinite(data_min) || !isfinite(data_max) || data_max <= 0) {
        /* No positive data: LogLocator.nonsingular's (1, 10), which
         * autoscale_view then gives its margins like data. */
        x0 = 1;
        x1 = 10;
    }
    if (x0 <= 0) x0 = x1;   /* data_min should be the smallest positive datum */
    if (x0 == x1) {
        x0 = decade_less(x0);
        x1 = decade_greater(x1);
    }
    double t0 = log10(x0), t1 = log10(x1);
    double delta = (t1 - t0) * 0.05;
    if (!isfinite(delta)) delta = 0;
    x0 = pow(10.0, t0 - delta);
    x1 = pow(10.0, t1 + delta);
    /* Margins past the double range (data near DBL_MAX or subnormal) stop
     * at its ends rather than giving up on the data. */
    if (x1 == INFINITY) x1 = DBL_MAX;
    if (x0 == 0) x0 = DBL_TRUE_MIN;
    if (!isfinite(x0) || !isfinite(x1) || !(x0 > 0)) {   /* LogLocator.nonsingular */
        x0 = 1;
        x1 = 10;
    }
    *lo = x0;
    *hi = x1;
}

/* ---- labels ----------------------------------------------------------- */

void kn_ticks_format_plan(const double *ticks, size_t n, double lo, double hi,
                          kn_tick_fmt *fmt)
{
    fmt->decimals = 0;
    fmt->exp10 = 0;
    if (n == 0) return;

    double vmin = fmin(lo, hi), vmax = fmax(lo, hi);

    /* _set_order_of_magnitude: the largest visible |tick| */
    double big = -1;
    for (size_t i = 0; i < n; i++)
        if (vmin <= ticks[i] && ticks[i] <= vmax) big = fmax(big, fabs(ticks[i]));
    int oom = 0;
    if (big > 0 && isfinite(big)) {
        double o = floor(log10(big));
        if (o <= -5 || o >= 6) oom = (int)o;
    }
    fmt->exp10 = oom;

    /* _set_format: decimals that keep the ticks apart */
    double div = pow(10.0, (double)oom);
    double mn = INFINITY, mx = -INFINITY, amax = 0;
    for (size_t i = 0; i < n + (n < 2 ? 2 : 0); i++) {
        double v = i < n ? ticks[i] : (i == n ? lo : hi);
        v = v / div;
        mn = fmin(mn, v);
        mx = fmax(mx, v);
        amax = fmax(amax, fabs(v));
    }
    double range = mx - mn;
    if (range == 0) range = amax;
    if (range == 0) range = 1;
    if (!isfinite(range)) return;
    int range_oom = (int)floor(log10(range));
    int sig = 3 - range_oom > 0 ? 3 - range_oom : 0;
    double thresh = 1e-3 * pow(10.0, (double)range_oom);
    for (; sig >= 0; sig--) {
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double v = ticks[i] / div;
            double e = fabs(v - np_round(v, sig));
            if (!(e <= worst)) worst = e;    /* NaN/inf poison like numpy's max */
        }
        if (!(worst < thresh)) break;
    }
    sig += 1;
    fmt->decimals = sig > KN_TICKS_MAX_DECIMALS ? KN_TICKS_MAX_DECIMALS : sig;
}

/* Appends the UTF-8 superscript form of k ("⁻¹²") at buf[*len]. */
static int put_superscript(long k, char *buf, size_t cap, size_t *len)
{
    static const char *const sup[10] = {
        "\u2070", "\u00b9", "\u00b2", "\u00b3", "\u2074",
        "\u2075", "\u2076", "\u2077", "\u2078", "\u2079"};
    char digits[24];
    int nd = snprintf(digits, sizeof digits, "%ld", k);
    if (nd < 0 || (size_t)nd >= sizeof digits) return -1;
    for (int i = 0; i < nd; i++) {
        const char *s = digits[i] == '-' ? "\u207b" : sup[digits[i] - '0'];
        size_t sl = strlen(s);
        if (*len + sl >= cap) return -1;
        memcpy(buf + *len, s, sl);
        *len += sl;
        buf[*len] = '\0';
    }
    return 0;
}

static int put_str(const char *s, char *buf, size_t cap, size_t *len)
{
    size_t sl = strlen(s);
    if (*len + sl >= cap) return -1;
    memcpy(buf + *len, s, sl + 1);
    *len += sl;
    return 0;
}

static int too_small(char *buf, size_t cap, kn_err *err)
{
    if (buf && cap) buf[0] = '\0';
    return kn_err_set(err, KN_ENOMEM, NULL, "tick label longer than its buffer");
}

/* "%.*f" of x without a sign on a result that is all zeros. */
static int put_fixed(double x, int decimals, char *buf, size_t cap, size_t *len)
{
    char tmp[KN_TICKS_LABEL_MAX + 320];
    int w = snprintf(tmp, sizeof tmp, "%.*f", decimals, x);
    if (w < 0 || (size_t)w >= sizeof tmp) return -1;
    const char *s = tmp;
    if (s[0] == '-' && strspn(s + 1, "0.") == strlen(s + 1)) s++;
    return put_str(s, buf, cap, len);
}

static int is_zero_text(const char *s)
{
    return strspn(s, "0.") == strlen(s);
}

int kn_ticks_label(const kn_tick_fmt *fmt, double v, int inline_exp,
                   char *buf, size_t cap, kn_err *err)
{
    size_t len = 0;
    if (!buf || cap == 0) return too_small(buf, cap, err);
    buf[0] = '\0';
    if (!isfinite(v)) return kn_err_set(err, KN_EINVAL, NULL, "tick value is not a number");
    double xp = v / pow(10.0, (double)fmt->exp10);
    if (fabs(xp) < 1e-8) xp = 0;
    int dec = fmt->decimals < 0 ? 0
            : fmt->decimals > KN_TICKS_MAX_DECIMALS ? KN_TICKS_MAX_DECIMALS
            : fmt->decimals;
    if (put_fixed(xp, dec, buf, cap, &len) != 0) return too_small(buf, cap, err);
    if (inline_exp && fmt->exp10 != 0) {
        if (is_zero_text(buf)) {
            /* buf already held at least "0", so it has room for it */
            buf[0] = '0';
            buf[1] = '\0';
            return KN_OK;
        }
        if (put_str("\u00d710", buf, cap, &len) != 0 ||
            put_superscript(fmt->exp10, buf, cap, &len) != 0)
            return too_small(buf, cap, err);
    }
    return KN_OK;
}

int kn_ticks_offset(const kn_tick_fmt *fmt, char *buf, size_t cap, kn_err *err)
{
    size_t len = 0;
    if (!buf || cap == 0) return too_small(buf, cap, err);
    buf[0] = '\0';
    if (fmt->exp10 == 0) return KN_OK;
    if (put_str("\u00d710", buf, cap, &len) != 0 ||
        put_superscript(fmt->exp10, buf, cap, &len) != 0)
        return too_small(buf, cap, err);
    return KN_OK;
}

int kn_ticks_format(double value, const double *ticks, size_t n,
                    char *buf, size_t cap, kn_err *err)
{
    kn_tick_fmt fmt;
    if (n == 0) {
        ticks = &value;
        n = 1;
    }
    double lo = value, hi = value;
    for (size_t i = 0; i < n; i++) {
        lo = fmin(lo, ticks[i]);
        hi = fmax(hi, ticks[i]);
    }
    kn_ticks_format_plan(ticks, n, lo, hi, &fmt);
    return kn_ticks_label(&fmt, value, 1, buf, cap, err);
}

int kn_ticks_format_log(double v, char *buf, size_t cap, kn_err *err)
{
    size_t len = 0;
    if (!buf || cap == 0) return too_small(buf, cap, err);
    buf[0] = '\0';
    if (!isfinite(v)) return kn_err_set(err, KN_EINVAL, NULL, "tick value is not a number");
    if (v == 0) return put_str("0", buf, cap, &len) == 0 ? KN_OK : too_small(buf, cap, err);
    if (v < 0 && put_str("-", buf, cap, &len) != 0) return too_small(buf, cap, err);
    double x = fabs(v);
    double fx = log(x) / log(10.0);
    if (py_isclose(fx, rint(fx))) {
        if (put_str("10", buf, cap, &len) != 0 ||
            put_superscript((long)rint(fx), buf, cap, &len) != 0)
            return too_small(buf, cap, err);
        return KN_OK;
    }
    /* LogFormatterSciNotation._non_decade_format */
    double exponent = floor(fx);
    double coeff = pow(10.0, fx - exponent);
    if (py_isclose(coeff, rint(coeff))) coeff = rint(coeff);
    char c[32];
    int w = snprintf(c, sizeof c, "%g", coeff);
    if (w < 0 || (size_t)w >= sizeof c) return too_small(buf, cap, err);
    if (put_str(c, buf, cap, &len) != 0 || put_str("\u00d710", buf, cap, &len) != 0 ||
        put_superscript((long)exponent, buf, cap, &len) != 0)
        return too_small(buf, cap, err);
    return KN_OK;
}
