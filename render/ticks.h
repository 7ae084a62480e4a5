/*
 * render/ticks.h - axis ticks, tick labels and automatic axis limits for the
 * plot element (spec section 8), reproducing matplotlib 3.6's defaults so a
 * Kinora chart puts its ticks where matplotlib would for the same limits:
 *
 *   linear ticks  MaxNLocator(nbins, steps=[1, 2, 2.5, 5, 10]), i.e.
 *                 AutoLocator with nbins='auto' resolved by the caller
 *                 (kn_ticks_auto_count gives matplotlib's resolution);
 *   log ticks     LogLocator(base=10, subs=(1.0,), numticks);
 *   labels        ScalarFormatter(useOffset=False), powerlimits (-5, 6);
 *                 LogFormatterSciNotation for log axes;
 *   limits        axes.xmargin / ymargin 0.05, autolimit_mode 'data'.
 *
 * Only the ticks inside the view interval come back (matplotlib's axis drops
 * the locator's extra edge ticks before drawing, keeping those within 1e-10
 * of the span outside it), ascending whatever the order of lo and hi.
 *
 * Label text, decided here once for every caller:
 *   - ASCII '-' for minus (matplotlib writes U+2212); never "-0": a value
 *     that prints as zero prints without a sign ("0", "0.00").
 *   - Every label of an axis has the same number of decimals: the fewest
 *     that tell the ticks apart (matplotlib's rule), so 0.1 + 0.2 prints
 *     "0.3", and 0, 0.25, 0.5 print "0.00", "0.25", "0.50".
 *   - Scientific notation when the largest visible |tick| is < 1e-4 or
 *     >= 1e6 (powerlimits (-5, 6)): matplotlib prints mantissas on the ticks
 *     and the power once in the axis corner; kn_tick_fmt carries both
 *     (kn_ticks_label(..., 0) + kn_ticks_offset) and kn_ticks_label(..., 1)
 *     writes the power on each label: "2.5×10⁶", "-1.0×10⁻⁵" (UTF-8 '×',
 *     superscript digits and U+207B superscript minus); zero is then "0".
 *   - Log labels are "10" + superscript exponent: "10³", "10⁰", "10⁻²"
 *     (matplotlib's mathtext $10^{3}$); a non-decade value (an explicit tick)
 *     is "2×10³" (mantissa as %g), zero "0", negatives lead with '-'.
 *   - At most KN_TICKS_MAX_DECIMALS decimals. Ticks one ulp apart near
 *     1e-4 (the smallest magnitude before scientific notation) need about
 *     24, so the cap only bites for ticks that are all outside the view.
 *
 * No allocation, no global state: every function is reentrant.
 */
#ifndef KN_RENDER_TICKS_H
#define KN_RENDER_TICKS_H

#include <stddef.h>

#include "common/err.h"

/* A buffer of this many bytes holds any label kn_ticks_* writes. */
#define KN_TICKS_LABEL_MAX 64
/* A tick array of this many entries is enough for any nbins <= 9 (linear)
 * or numticks <= 9 (log) request. */
#define KN_TICKS_MAX 32
#define KN_TICKS_MAX_DECIMALS 30

/* The shared format of one axis's labels (a plain value). */
typedef struct kn_tick_fmt {
    int decimals;     /* digits after the point, 0..KN_TICKS_MAX_DECIMALS */
    int exp10;        /* 0, or the power of ten factored out (scientific) */
} kn_tick_fmt;

/* Linear ticks for the view [lo, hi] (either order): matplotlib's
 * MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi),
 * restricted to the view. nbins is the most intervals (so at most nbins + 1
 * ticks; up to 5 when the step that many bins ask for would leave fewer than
 * two in view); matplotlib's AutoLocator uses 1..9 (kn_ticks_auto_count).
 * lo == hi is widened by 1e-13 relative as matplotlib's locator does; use
 * kn_ticks_fix_limits first for the view a chart should show. Writes *n
 * ticks into out[0..cap) and, when fmt is not NULL, the labels' format
 * exactly as matplotlib derives it (from the locator's full output, edge
 * ticks included: kn_ticks_format_plan on the visible ticks alone agrees
 * except on views narrower than ~1e-12 of their magnitude). KN_EINVAL: lo or
 * hi not finite, nbins outside 1..100; KN_ENOMEM: more than cap ticks. On
 * failure *n is 0 and *fmt {0, 0}. */
int kn_ticks_linear(double lo, double hi, int nbins, double *out, size_t cap,
                    size_t *n, kn_tick_fmt *fmt, kn_err *err);

/* Decade ticks 10^k for a log axis viewing [lo, hi] (either order, both
 * > 0): matplotlib's LogLocator(10, subs=(1.0,), numticks).tick_values,
 * restricted to the view (compared in log space, as matplotlib does). When
 * the view spans many decades only every stride-th decade gets a tick
 * (stride = (decades + 1) / numticks + 1). A view inside one decade gets no
 * tick (*n == 0), as in matplotlib, where minor ticks then carry the labels
 * (kn_ticks_log_minor).
 * numticks 2..100 (AutoLocator-style resolution: kn_ticks_auto_count).
 * KN_EINVAL: lo or hi not finite or <= 0, numticks out of range;
 * KN_ENOMEM: more than cap ticks. */
int kn_ticks_log(double lo, double hi, int numticks, double *out, size_t cap,
                 size_t *n, kn_err *err);

/* A minor tick array of this many entries is enough for any numticks:
 * minor ticks exist only while the major stride is 1, i.e. over at most 8
 * decades, 8 per decade (or at most 10 from the linear fallback). */
#define KN_TICKS_MINOR_MAX 96

/* The minor ticks of a log axis viewing [lo, hi] (either order, both > 0),
 * ascending and inside the view: matplotlib's minor LogLocator(10,
 * subs='auto', numticks).tick_values - 2..9 times each decade, none when
 * the major stride is not 1 or the view spans more than 10 decades, and
 * AutoLocator's ticks (nbins 9) when at most one would be in view - less
 * those on a major tick (Axis.get_minorticklocs). numticks as for
 * kn_ticks_log (the same for both locators). Errors as kn_ticks_log. */
int kn_ticks_log_minor(double lo, double hi, int numticks, double *out, size_t cap,
                       size_t *n, kn_err *err);

/* Whether matplotlib labels minor tick v of a log axis viewing [lo, hi]
 * (LogFormatterSciNotation with minor_thresholds (1, 0.4)): only views of
 * at most one decade get minor labels; up to 0.4 decades every tick, else
 * those whose leading digit rounds to 1, 2, 3, 4 or 6 (a view of [2, 8]
 * labels 2, 3, 4 and 6). The label text is kn_ticks_format_log's. */
int kn_ticks_log_minor_labelled(double lo, double hi, double v);

/* The range a colour bar shows for colour limits [vmin, vmax]: matplotlib's
 * Colorbar, nonsingular(vmin, vmax, expander=0.1): ascending, a flat range
 * widened by 10% of its magnitude ([5, 5] -> [4.5, 5.5], [0, 0] ->
 * [-0.1, 0.1]), never past DBL_MAX; non-finite input gives [0, 1]. */
void kn_ticks_colorbar_limits(double vmin, double vmax, double *lo, double *hi);

/* matplotlib's nbins='auto' / numticks='auto': how many ticks fit along an
 * axis of axis_len with tick labels of font size label_size (same unit, e.g.
 * both px): floor(axis_len / (label_size * 3)) for a horizontal axis, * 2
 * for a vertical one, clipped to 1..9 (linear) or 2..9 (log). */
int kn_ticks_auto_count(double axis_len, double label_size, int vertical, int log);

/* View limits a chart shows for user-given limits [lo, hi] on a linear axis:
 * matplotlib's set_xlim, which keeps the order (an inverted axis stays
 * inverted) and widens an empty or nearly empty range by 5% of its magnitude
 * each way ([3.7, 3.7] -> [3.515, 3.885]; [0, 0] -> [-0.05, 0.05]).
 * KN_EINVAL when lo or hi is not finite. */
int kn_ticks_fix_limits(double lo, double hi, double *out_lo, double *out_hi,
                        kn_err *err);

/* The same for a log axis: both must be > 0 (KN_EINVAL otherwise); lo == hi
 * widens to the decades either side ([10, 10] -> [1, 100]). */
int kn_ticks_fix_limits_log(double lo, double hi, double *out_lo, double *out_hi,
                            kn_err *err);

/* 'auto' limits for data spanning [data_min, data_max] on a linear axis:
 * 5% margins each side (axes.xmargin 0.05), an empty range first widened by
 * 5% of its magnitude ([5, 5] -> [4.725, 5.275], [0, 0] -> [-0.055,
 * 0.055]), exactly as matplotlib's autoscale_view; the result is never
 * empty. Non-finite input (no data) gives [0, 1], matplotlib's empty axes.
 * Data near DBL_MAX, where matplotlib's margin arithmetic overflows, gets
 * its margins computed on halves and clamped to +-DBL_MAX. */
void kn_ticks_auto_limits(double data_min, double data_max, double *lo, double *hi);

/* The same with sticky edges (matplotlib's Artist.sticky_edges: bars' and
 * areas' 0): a margin stops at a sticky value that lies at or beyond the
 * data range after its widening, so bars of [0, 5] give [0, 5.25] while
 * bars of zeros keep [-0.055, 0.055]. Non-finite values in sticky are
 * ignored; sticky may be NULL when nsticky is 0. */
void kn_ticks_auto_limits_sticky(double data_min, double data_max, const double *sticky,
                                 size_t nsticky, double *lo, double *hi);

/* 'auto' limits on a log axis: the margins are 5% of the span in log space.
 * data_min is the smallest positive datum (matplotlib's minpos); data that
 * has none (data_max <= 0, or non-finite input) is treated as [1, 10] as
 * matplotlib does, giving [10^-0.05, 10^1.05]. An empty range widens to the
 * neighbouring decades first; margins beyond the double range stop at
 * DBL_TRUE_MIN / DBL_MAX. */
void kn_ticks_auto_limits_log(double data_min, double data_max, double *lo, double *hi);

/* Chooses the format of the labels for ticks[0..n) on a linear axis viewing
 * [lo, hi] (either order): ScalarFormatter.set_locs with useOffset=False.
 * The exponent comes from the ticks inside the view, the decimals from all
 * of ticks (with lo and hi added when n < 2). n == 0 gives {0, 0}. */
void kn_ticks_format_plan(const double *ticks, size_t n, double lo, double hi,
                          kn_tick_fmt *fmt);

/* Writes the label of v under fmt into buf (cap bytes, NUL-terminated).
 * inline_exp: 0 writes matplotlib's tick text (the mantissa "2.5" when
 * fmt->exp10 != 0, the power then goes in the corner: kn_ticks_offset);
 * 1 writes the power on the label ("2.5×10⁶"). KN_ENOMEM if it does not
 * fit (buf then holds ""); KN_EINVAL for a non-finite v. */
int kn_ticks_label(const kn_tick_fmt *fmt, double v, int inline_exp,
                   char *buf, size_t cap, kn_err *err);

/* The corner text for fmt: "×10⁶" when fmt->exp10 != 0, else "". Errors as
 * kn_ticks_label. */
int kn_ticks_offset(const kn_tick_fmt *fmt, char *buf, size_t cap, kn_err *err);

/* One label without a plan at hand: plans over ticks[0..n) with the view
 * spanning them and value, then kn_ticks_label(..., inline_exp = 1). */
int kn_ticks_format(double value, const double *ticks, size_t n,
                    char *buf, size_t cap, kn_err *err);

/* A log-axis label for v: "10³", "10⁻²", "2×10³", "0". Errors as
 * kn_ticks_label. */
int kn_ticks_format_log(double v, char *buf, size_t cap, kn_err *err);

#endif
