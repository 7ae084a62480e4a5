/*
 * render/plot.c - the plot element (spec 8), drawn the way matplotlib 3.6
 * draws the same chart with its default style, in pixels: tick marks 3.5
 * px outward and 0.8 px wide, tick labels 3.5 px beyond them, spines 0.8
 * px, grid #b0b0b0 0.8 px, lines 1.5 px, default colours tab10.
 *
 * Invariants:
 *  - nothing a document can animate into (empty or inverted limits, log of
 *    non-positive values, NaN data, data near DBL_MAX, zero box) reaches
 *    Cairo in a form that would put cr into an error state: limits are
 *    fixed with kn_ticks_fix_limits* and auto limits are never empty
 *    (axis_sane is the last word), data maps to pixels without overflow and
 *    clamped to +-1e6, a non-finite point breaks a line into a new subpath
 *    instead of being drawn, and text is never placed at a non-finite
 *    point (cairo_translate would make the matrix invalid).
 *  - every series is clipped to the axes rectangle; cr's state is balanced.
 */
#include "render/plot.h"
#include "lang/cmap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TICK_LEN 3.5
#define TICK_PAD 3.5
/* matplotlib's minor ticks: size 2, width 0.6, pad 3.4 */
#define MINOR_LEN 2.0
#define MINOR_WIDTH 0.6
#define MINOR_PAD 3.4
#define LABEL_PAD 4.0
#define TITLE_PAD 6.0

typedef struct axis {
    double lo, hi;      /* view, lo at p0 */
    int log;
    double p0, p1;      /* pixels of lo and hi */
    double t[KN_TICKS_MAX];
    size_t nt;
    kn_tick_fmt fmt;
    double tm[KN_TICKS_MINOR_MAX];   /* minor ticks (log axes only) */
    size_t ntm;
} axis;

typedef struct theme {
    kn_color fig, face, fg, grid, legend_edge;
} theme;

static const kn_value *sval(const kn_state *st, int slot)
{
    return slot >= 0 ? kn_state_get(st, slot) : NULL;
}

static const kn_value *prop(const kn_state *st, const kn_elem *el, kn_prop p)
{
    return sval(st, el->slot[p]);
}

static double pnum(const kn_state *st, const kn_elem *el, kn_prop p, double def)
{
    const kn_value *v = prop(st, el, p);
    return v && (v->type == KN_VT_NUM || v->type == KN_VT_BOOL) && isfinite(v->num) ? v->num
                                                                                    : def;
}

static const char *pstr(const kn_state *st, const kn_elem *el, kn_prop p, const char *def)
{
    const kn_value *v = prop(st, el, p);
    return v && v->type == KN_VT_STR && v->str ? v->str : def;
}

/* x and y arrays of a series and how many points they share. */
/* Always sets *x and *y (NULL when the series has no data), so callers
 * never read an unset pointer even where n == 0 guards every use. */
static size_t series_xy(const kn_state *st, const kn_series *s, const double **x,
                        const double **y)
{
    *x = *y = NULL;
    const kn_value *vx = sval(st, s->slot_x), *vy = sval(st, s->slot_y);
    if (!vx || !vy || vx->type != KN_VT_ARRAY || vy->type != KN_VT_ARRAY) return 0;
    *x = vx->arr;
    *y = vy->arr;
    return vx->n < vy->n ? vx->n : vy->n;
}

/* The cells a heatmap draws with this frame's data, or NULL: data of any
 * other length than rows * cols (a per-frame value can bring one) draws
 * nothing rather than being cut or reshaped. */
static const double *heat_data(const kn_state *st, const kn_series *s)
{
    const kn_value *v = sval(st, s->slot_y);
    if (!v || v->type != KN_VT_ARRAY || !v->arr || !s->rows || !s->cols ||
        s->cols > SIZE_MAX / s->rows || v->n != s->rows * s->cols)
        return NULL;
    return v->arr;
}

static double bar_width(const double *x, size_t n)
{
    double w = INFINITY;
    /* Monotonic x (the usual case): the smallest positive gap is between
     * neighbours, found in one pass. */
    int up = 1, down = 1;
    for (size_t i = 1; i < n && (up || down); i++) {
        up &= x[i] >= x[i - 1];
        down &= x[i] <= x[i - 1];
    }
    if (n > 1 && (up || down)) {
        for (size_t i = 1; i < n; i++) {
            double d = fabs(x[i] - x[i - 1]);
            if (d > 0 && d < w) w = d;
        }
        return isfinite(w) ? 0.8 * w : 0.8;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n && j < i + 64; j++) {
            double d = fabs(x[j] - x[i]);
            if (d > 0 && d < w) w = d;
        }
    /* Sorted x (the usual case) have their minimum spacing among
     * neighbours; the window above bounds the work on unsorted data. */
    return isfinite(w) ? 0.8 * w : 0.8;
}

static void extent_add(double v, double *mn, double *mx, double *minpos)
{
    if (!isfinite(v)) return;
    if (v < *mn) *mn = v;
    if (v > *mx) *mx = v;
    if (v > 0 && v < *minpos) *minpos = v;
}

/* Data extent along axis a (0 x, 1 y) over every series. *heat: a heatmap
 * has data this frame; *lines: some other series exists (drawable data or
 * not, as matplotlib counts an artist with no finite data). */
static void data_extent(const kn_elem *el, const kn_state *st, int a, int log, double *mn,
                        double *mx, double *minpos, int *heat, int *lines)
{
    *mn = INFINITY;
    *mx = -INFINITY;
    *minpos = INFINITY;
    *heat = 0;
    *lines = 0;
#define ADD(v) extent_add((v), mn, mx, minpos)
    for (size_t k = 0; k < el->plot->nseries; k++) {
        const kn_series *s = &el->plot->series[k];
        if (s->type == KN_SER_HEATMAP) {
            if (!heat_data(st, s)) continue;
            *heat = 1;
            ADD(-0.5);
            ADD((a ? (double)s->rows : (double)s->cols) - 0.5);
            continue;
        }
        const double *x, *y;
        size_t n = series_xy(st, s, &x, &y);
        *lines = 1;
        const double *v = a ? y : x;
        double hw = s->type == KN_SER_BAR && !a ? bar_width(x, n) / 2 : 0;
        int any = 0;
        for (size_t i = 0; i < n; i++) {
            if (log && !(v[i] > 0)) continue;
            if (!isfinite(x[i]) || !isfinite(y[i])) continue;
            ADD(v[i] - hw);
            ADD(v[i] + hw);
            any = 1;
        }
        /* A bar or area reaches down to 0, but one with no finite point
         * has no extent at all (matplotlib: NaN bars add nothing). */
        if (any && a && (s->type == KN_SER_BAR || s->type == KN_SER_AREA) && !log) ADD(0);
    }
#undef ADD
}

/* The last guard against a view Cairo cannot map to: empty, non-finite,
 * or (log) not positive or too narrow for log10 to tell its ends apart. */
static void axis_sane(axis *ax)
{
    if (ax->log) {
        if (!(ax->lo > 0 && ax->hi > 0 && isfinite(ax->lo) && isfinite(ax->hi))) {
            ax->lo = 1;
            ax->hi = 10;
        } else if (log10(ax->lo) == log10(ax->hi)) {
            double lo = 0, hi = 0;
            if (kn_ticks_fix_limits_log(ax->lo, ax->lo, &lo, &hi, NULL) == KN_OK &&
                log10(lo) != log10(hi)) {
                int rev = ax->lo > ax->hi;
                ax->lo = rev ? hi : lo;
                ax->hi = rev ? lo : hi;
            } else {
                ax->lo = 1;
                ax->hi = 10;
            }
        }
    } else if (!(isfinite(ax->lo) && isfinite(ax->hi) && ax->lo != ax->hi)) {
        ax->lo = 0;
        ax->hi = 1;
    }
}

static void axis_setup(const kn_elem *el, const kn_state *st, int a, double p0, double p1,
                       double size, axis *ax)
{
    const kn_value *lim = prop(st, el, a ? KN_P_YLIM : KN_P_XLIM);
    ax->log = !strcmp(pstr(st, el, a ? KN_P_YSCALE : KN_P_XSCALE, "linear"), "log");
    ax->p0 = p0;
    ax->p1 = p1;
    ax->nt = 0;
    memset(&ax->fmt, 0, sizeof ax->fmt);
    int ok = 0;
    if (lim && lim->type == KN_VT_ARRAY && lim->n == 2)
        ok = (ax->log ? kn_ticks_fix_limits_log(lim->arr[0], lim->arr[1], &ax->lo, &ax->hi, NULL)
                      : kn_ticks_fix_limits(lim->arr[0], lim->arr[1], &ax->lo, &ax->hi, NULL))
             == KN_OK;
    if (ok) axis_sane(ax);
    if (!ok) {
        double mn, mx, minpos;
        int heat, lines;
        data_extent(el, st, a, ax->log, &mn, &mx, &minpos, &heat, &lines);
        /* Series without a finite point: matplotlib's locator makes
         * [-0.05, 0.05] of "no data" (and (1, 10) on a log axis) and then
         * adds margins, which is what data at 0 (or [1, 10]) gives. Only a
         * plot with no series at all shows the empty axes' [0, 1]. */
        if (lines && !heat && !isfinite(mn)) mn = mx = 0;
        if (ax->log)
            kn_ticks_auto_limits_log(minpos, mx, &ax->lo, &ax->hi);
        else if (heat && isfinite(mn))
            ax->lo = mn, ax->hi = mx;   /* images are sticky: no margins */
        else {
            /* Bars and areas stand on 0, as matplotlib's sticky edges keep
             * them, unless the data has to be widened past 0 (all zero). */
            int bar = 0;
            for (size_t k = 0; k < el->plot->nseries && a; k++)
                bar |= el->plot->series[k].type == KN_SER_BAR ||
                       el->plot->series[k].type == KN_SER_AREA;
            static const double zero = 0;
            kn_ticks_auto_limits_sticky(mn, mx, &zero, bar ? 1 : 0, &ax->lo, &ax->hi);
        }
        /* An image shows row 0 at the top (imshow's origin 'upper'). */
        if (a && heat) { double t = ax->lo; ax->lo = ax->hi; ax->hi = t; }
    }
    axis_sane(ax);
    double len = fabs(p1 - p0);
    ax->ntm = 0;
    if (el->plot->has_ticks[a]) {
        double vmin = fmin(ax->lo, ax->hi), vmax = fmax(ax->lo, ax->hi);
        for (size_t i = 0; i < el->plot->nticks[a] && ax->nt < KN_TICKS_MAX; i++) {
            double v = el->plot->ticks[a][i];
            if (v >= vmin && v <= vmax && (!ax->log || v > 0)) ax->t[ax->nt++] = v;
        }
        if (!ax->log) kn_ticks_format_plan(ax->t, ax->nt, ax->lo, ax->hi, &ax->fmt);
    } else {
        int nb = kn_ticks_auto_count(len, size, a, ax->log);
        if (ax->log) {
            if (kn_ticks_log(ax->lo, ax->hi, nb, ax->t, KN_TICKS_MAX, &ax->nt, NULL)) ax->nt = 0;
            /* matplotlib's log axes carry minor ticks too, and label them
             * when the view spans at most a decade (where there may be no
             * major tick at all). */
            if (kn_ticks_log_minor(ax->lo, ax->hi, nb, ax->tm, KN_TICKS_MINOR_MAX, &ax->ntm,
                                   NULL))
                ax->ntm = 0;
        } else if (kn_ticks_linear(ax->lo, ax->hi, nb, ax->t, KN_TICKS_MAX, &ax->nt, &ax->fmt,
                                   NULL)) {
            ax->nt = 0;
        }
    }
}

/* (v - lo) / (hi - lo), also where the differences overflow (values near
 * DBL_MAX): halving is exact, so the ratio of halves is the same number. */
static double unit(double v, double lo, double hi)
{
    if (isfinite(hi - lo) && isfinite(v - lo)) return (v - lo) / (hi - lo);
    return (v / 2 - lo / 2) / (hi / 2 - lo / 2);
}

static double amap(const axis *ax, double v)
{
    double u;
    if (ax->log) {
        if (!(v > 0)) return NAN;
        u = (log10(v) - log10(ax->lo)) / (log10(ax->hi) - log10(ax->lo));
    } else {
        u = unit(v, ax->lo, ax->hi);
    }
    double p = ax->p0 + u * (ax->p1 - ax->p0);
    /* Far outside the view only the direction matters; keep Cairo's fixed
     * point range. */
    if (p > 1e6) p = 1e6;
    if (p < -1e6) p = -1e6;
    return p;
}

/* Tick marks of length len pointing out of the axes box b (x below it, y to
 * its left), stroked with the current line width. */
static void tick_marks(cairo_t *cr, const axis *X, const double *xt, size_t nx, const axis *Y,
                       const double *yt, size_t ny, const double b[4], double len)
{
    for (size_t i = 0; i < nx; i++) {
        double p = amap(X, xt[i]);
        cairo_move_to(cr, p, b[3]);
        cairo_line_to(cr, p, b[3] + len);
    }
    for (size_t i = 0; i < ny; i++) {
        double p = amap(Y, yt[i]);
        cairo_move_to(cr, b[0], p);
        cairo_line_to(cr, b[0] - len, p);
    }
    cairo_stroke(cr);
}

/* Minor tick i's label, "" when matplotlib leaves it blank. */
static void minor_label(const axis *ax, size_t i, char *buf)
{
    buf[0] = '\0';
    if (kn_ticks_log_minor_labelled(ax->lo, ax->hi, ax->tm[i]) &&
        kn_ticks_format_log(ax->tm[i], buf, KN_TICKS_LABEL_MAX, NULL))
        buf[0] = '\0';
}

static void tick_label(const axis *ax, double v, char *buf)
{
    int rc = ax->log ? kn_ticks_format_log(v, buf, KN_TICKS_LABEL_MAX, NULL)
                     : kn_ticks_label(&ax->fmt, v, 0, buf, KN_TICKS_LABEL_MAX, NULL);
    if (rc) buf[0] = '\0';
}

/* The box of the axes area inside the plot box; a colour bar takes a strip
 * off the right. */
static void axes_box(const kn_elem *el, const kn_state *st, double b[4], int *cbar)
{
    double bx = pnum(st, el, KN_P_X, 0), by = pnum(st, el, KN_P_Y, 0);
    double bw = pnum(st, el, KN_P_WIDTH, 0), bh = pnum(st, el, KN_P_HEIGHT, 0);
    *cbar = 0;
    for (size_t k = 0; k < el->plot->nseries; k++)
        if (el->plot->series[k].type == KN_SER_HEATMAP && el->plot->series[k].colorbar) *cbar = 1;
    b[0] = bx + 0.125 * bw;
    b[1] = by + (1 - 0.88) * bh;
    b[2] = bx + (*cbar ? 0.75 : 0.9) * bw;
    b[3] = by + (1 - 0.11) * bh;
}

size_t kn_plot_axis(const kn_elem *el, const kn_state *st, int a, double view[2],
                    double ticks[KN_TICKS_MAX], char labels[][KN_TICKS_LABEL_MAX])
{
    double b[4];
    int cbar;
    axes_box(el, st, b, &cbar);
    axis ax;
    axis_setup(el, st, a, a ? b[3] : b[0], a ? b[1] : b[2], pnum(st, el, KN_P_SIZE, 12), &ax);
    view[0] = ax.lo;
    view[1] = ax.hi;
    for (size_t i = 0; i < ax.nt; i++) {
        ticks[i] = ax.t[i];
        if (labels) tick_label(&ax, ax.t[i], labels[i]);
    }
    return ax.nt;
}

size_t kn_plot_axis_minor(const kn_elem *el, const kn_state *st, int a,
                          double ticks[KN_TICKS_MINOR_MAX],
                          char labels[][KN_TICKS_LABEL_MAX])
{
    double b[4];
    int cbar;
    axes_box(el, st, b, &cbar);
    axis ax;
    axis_setup(el, st, a, a ? b[3] : b[0], a ? b[1] : b[2], pnum(st, el, KN_P_SIZE, 12), &ax);
    for (size_t i = 0; i < ax.ntm; i++) {
        ticks[i] = ax.tm[i];
        if (labels) minor_label(&ax, i, labels[i]);
    }
    return ax.ntm;
}

/* ---- text --------------------------------------------------------------- */

/* Shows s with the point (fx, fy) of its logical box (fractions of width
 * and height) at (x, y); vertical turns it 90 degrees anticlockwise. Sets
 * *w, *h to the box size (unrotated) when not NULL. measure_only draws
 * nothing. */
static void text_at(cairo_t *cr, PangoLayout *ly, PangoFontDescription *fd, double size,
                    const char *s, double x, double y, double fx, double fy, int vertical,
                    kn_color c, int measure_only, double *w, double *h)
{
    if (w) *w = 0;
    if (h) *h = 0;
    /* A non-finite position would make cairo_translate's matrix invalid
     * and put cr (and so the frame) into an error state. */
    if (!s || !*s || !fd || !(size > 0) || !isfinite(x) || !isfinite(y)) return;
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (vertical) cairo_rotate(cr, -M_PI / 2);
    pango_cairo_update_layout(cr, ly);
    pango_layout_set_font_description(ly, fd);
    pango_layout_set_alignment(ly, PANGO_ALIGN_LEFT);
    pango_layout_set_text(ly, s, -1);
    PangoRectangle lg;
    pango_layout_get_extents(ly, NULL, &lg);
    double lw = (double)lg.width / PANGO_SCALE, lh = (double)lg.height / PANGO_SCALE;
    if (w) *w = lw;
    if (h) *h = lh;
    if (!measure_only) {
        cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a);
        cairo_move_to(cr, -(double)lg.x / PANGO_SCALE - fx * lw,
                      -(double)lg.y / PANGO_SCALE - fy * lh);
        pango_cairo_show_layout(cr, ly);
    }
    cairo_restore(cr);
}

/* ---- series ------------------------------------------------------------- */

static void set_color(cairo_t *cr, kn_color c, double alpha)
{
    cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a * alpha);
}

static void marker(cairo_t *cr, char m, double x, double y, double d, kn_color c)
{
    double r = d / 2;
    if (!(r > 0) || !isfinite(x) || !isfinite(y)) return;
    cairo_new_path(cr);
    set_color(cr, c, 1);
    switch (m) {
    case 'o':
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
        cairo_fill(cr);
        break;
    case 's':
        cairo_rectangle(cr, x - r, y - r, d, d);
        cairo_fill(cr);
        break;
    case '^':
        cairo_move_to(cr, x, y - r);
        cairo_line_to(cr, x + r, y + r);
        cairo_line_to(cr, x - r, y + r);
        cairo_close_path(cr);
        cairo_fill(cr);
        break;
    case 'x':
        cairo_move_to(cr, x - r, y - r);
        cairo_line_to(cr, x + r, y + r);
        cairo_move_to(cr, x + r, y - r);
        cairo_line_to(cr, x - r, y + r);
        cairo_set_line_width(cr, fmax(1, d / 6));
        cairo_stroke(cr);
        break;
    default:
        break;
    }
}

/* Markers of one series, many of them, without a Cairo fill each.
 *
 * Cairo costs 3-5 us per filled marker, so a 1e6-point scatter took seconds
 * per frame. Filling one colour OVER the same pixel again and again has a
 * closed form that does not depend on the order: after markers of coverage
 * c_1..c_k at a pixel, with colour alpha a, the pixel is
 * colour * (1 - T) + old * T where T = prod(1 - a c_i). So each marker's
 * coverage is rendered once per subpixel position (STAMP_SP x STAMP_SP
 * stamps, by Cairo, with the same marker() path), T is multiplied up per
 * pixel from the stamps, and the colour is painted once through the mask
 * 1 - T. That holds where the clip covers whole pixels; a marker that
 * reaches a pixel the axes box covers in part (Cairo clips each fill's
 * geometry there) is filled by Cairo afterwards, which the closed form
 * allows. What differs from a fill per marker: a stamped marker sits on the
 * 1/16-pixel grid (at most 1/32 px off, edge pixels change by up to about
 * 15/255) and T is rounded to 8 bits once instead of after every marker.
 * tests/test_plot.c holds the two together.
 *
 * Only for a device-aligned, unscaled user space (a plot nobody rotated or
 * scaled) whose clip is the axes box (plus whole-pixel bounds); returns 0
 * without drawing otherwise, or when memory is short. */
#define STAMP_SP 16
#define STAMP_MIN 1024      /* fewer visible markers: one fill each */

static int stamp_markers(cairo_t *cr, const double box[4], char m, double d, kn_color c,
                         const double *qx, const double *qy, size_t n)
{
    cairo_matrix_t mt;
    cairo_get_matrix(cr, &mt);
    if (mt.xx != 1 || mt.yy != 1 || mt.xy != 0 || mt.yx != 0 || !(d > 0) || d > 64) return 0;
    /* Whole device pixels inside both the clip (Cairo reports its extents
     * rounded out to pixels) and the axes box (kept in 24.8 fixed point). */
    double cx0, cy0, cx1, cy1;
    cairo_clip_extents(cr, &cx0, &cy0, &cx1, &cy1);
    double bx0 = round((box[0] + mt.x0) * 256) / 256, by0 = round((box[1] + mt.y0) * 256) / 256;
    double bx1 = round((box[2] + mt.x0) * 256) / 256, by1 = round((box[3] + mt.y0) * 256) / 256;
    if (floor(cx0 + mt.x0) < floor(bx0) || floor(cy0 + mt.y0) < floor(by0) ||
        ceil(cx1 + mt.x0) > ceil(bx1) || ceil(cy1 + mt.y0) > ceil(by1))
        return 0;   /* a clip wider than the box: not the one this expects */
    int rx0 = (int)fmax(ceil(bx0), floor(cx0 + mt.x0)), ry0 = (int)fmax(ceil(by0), floor(cy0 + mt.y0));
    int rx1 = (int)fmin(floor(bx1), ceil(cx1 + mt.x0)), ry1 = (int)fmin(floor(by1), ceil(cy1 + mt.y0));
    if (rx1 <= rx0 || ry1 <= ry0 || (long)(rx1 - rx0) * (ry1 - ry0) > 64L << 20) return 0;
    int rw = rx1 - rx0, rh = ry1 - ry0;
    /* A cell holds a marker, an x's stroke (d / 6 wide), antialiasing and
     * the subpixel phase with room to spare. */
    int S = (int)ceil(d + d / 3 + 6);
    int ok = 0, ink0 = S, ink1 = 0;
    size_t *edge = NULL, nedge = 0;
    cairo_surface_t *st = cairo_image_surface_create(CAIRO_FORMAT_A8, S * STAMP_SP, S * STAMP_SP);
    cairo_surface_t *mask = cairo_image_surface_create(CAIRO_FORMAT_A8, rw, rh);
    float *T = malloc((size_t)rw * rh * sizeof *T);
    edge = malloc(n * sizeof *edge);
    if (cairo_surface_status(st) || cairo_surface_status(mask) || !T || !edge) goto out;
    cairo_t *sc = cairo_create(st);
    /* marker() draws with what cr has set (an x is a stroke) */
    cairo_set_line_cap(sc, cairo_get_line_cap(cr));
    cairo_set_line_join(sc, cairo_get_line_join(cr));
    cairo_set_miter_limit(sc, cairo_get_miter_limit(cr));
    cairo_set_fill_rule(sc, cairo_get_fill_rule(cr));
    cairo_set_tolerance(sc, cairo_get_tolerance(cr));
    cairo_set_antialias(sc, cairo_get_antialias(cr));
    kn_color white = { 1, 1, 1, 1 };
    for (int fy = 0; fy < STAMP_SP; fy++)
        for (int fx = 0; fx < STAMP_SP; fx++)
            marker(sc, m, fx * S + S / 2.0 + (double)fx / STAMP_SP,
                   fy * S + S / 2.0 + (double)fy / STAMP_SP, d, white);
    cairo_status_t sst = cairo_status(sc);
    cairo_destroy(sc);
    if (sst) goto out;
    cairo_surface_flush(st);
    const uint8_t *sd = cairo_image_surface_get_data(st);
    int ss = cairo_image_surface_get_stride(st);
    /* The rows and columns of a cell any stamp inks (the same both ways:
     * the shapes are symmetric enough, and this takes the union). */
    for (int y = 0; y < S * STAMP_SP; y++)
        for (int x = 0; x < S * STAMP_SP; x++)
            if (sd[(size_t)y * ss + x]) {
                int u = x % S, v = y % S;
                if (u < ink0) ink0 = u;
                if (v < ink0) ink0 = v;
                if (u + 1 > ink1) ink1 = u + 1;
                if (v + 1 > ink1) ink1 = v + 1;
            }
    for (size_t i = 0; i < (size_t)rw * rh; i++) T[i] = 1;
    float a = (float)c.a;
    for (size_t i = 0; i < n; i++) {
        /* The stamp's centre S/2 + phase lands on the marker's centre. */
        double X = qx[i] + mt.x0 - S / 2.0, Y = qy[i] + mt.y0 - S / 2.0;
        double fX = floor(X), fY = floor(Y);
        if (!(fX > -1e6 && fX < 1e6 && fY > -1e6 && fY < 1e6)) continue;   /* far outside */
        int ix = (int)fX, iy = (int)fY;
        int fx = (int)lround((X - fX) * STAMP_SP), fy = (int)lround((Y - fY) * STAMP_SP);
        if (fx == STAMP_SP) fx = 0, ix++;
        if (fy == STAMP_SP) fy = 0, iy++;
        if (ix + ink1 <= (int)floor(bx0) || iy + ink1 <= (int)floor(by0) ||
            ix + ink0 >= (int)ceil(bx1) || iy + ink0 >= (int)ceil(by1))
            continue;   /* inks no pixel of the box: clipped away */
        if (ix + ink0 < rx0 || iy + ink0 < ry0 || ix + ink1 > rx1 || iy + ink1 > ry1) {
            edge[nedge++] = i;   /* reaches a pixel the clip covers in part */
            continue;
        }
        for (int y = iy + ink0; y < iy + ink1; y++) {
            const uint8_t *srow = sd + (size_t)(fy * S + (y - iy)) * ss + (size_t)fx * S;
            float *trow = T + (size_t)(y - ry0) * rw;
            for (int x = ix + ink0; x < ix + ink1; x++) {
                unsigned v = srow[x - ix];
                if (v) trow[x - rx0] *= 1 - a * (float)v * (1.0f / 255);
            }
        }
    }
    cairo_surface_flush(mask);
    uint8_t *md = cairo_image_surface_get_data(mask);
    int ms = cairo_image_surface_get_stride(mask);
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++)
            md[(size_t)y * ms + x] = (uint8_t)lrintf((1 - T[(size_t)y * rw + x]) * 255);
    cairo_surface_mark_dirty(mask);
    cairo_save(cr);
    cairo_identity_matrix(cr);
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_mask_surface(cr, mask, rx0, ry0);
    cairo_restore(cr);
    for (size_t k = 0; k < nedge; k++) marker(cr, m, qx[edge[k]], qy[edge[k]], d, c);
    ok = 1;
out:
    free(edge);
    free(T);
    cairo_surface_destroy(mask);
    cairo_surface_destroy(st);
    return ok;
}

typedef struct pt {
    double x, y;
    size_t i;
} pt;

/* Consecutive points of a line that land in the same pixel column draw as
 * one vertical run, so of each such run only the first, the lowest, the
 * highest and the last point are drawn (in their original order). A series
 * of a million points then costs a few thousand segments, and no extremum
 * is ever dropped: the picture is the one all points would give. */
typedef struct run {
    int has;
    double col;
    pt first, lo, hi, last;
} run;

static void emit(cairo_t *cr, int *open, const pt *p)
{
    if (!*open) {
        cairo_move_to(cr, p->x, p->y);
        *open = 1;
    } else {
        cairo_line_to(cr, p->x, p->y);
    }
}

static void run_flush(cairo_t *cr, int *open, run *r)
{
    if (!r->has) return;
    emit(cr, open, &r->first);
    const pt *a = r->lo.i < r->hi.i ? &r->lo : &r->hi, *b = a == &r->lo ? &r->hi : &r->lo;
    if (a->i != r->first.i && a->i != r->last.i) emit(cr, open, a);
    if (b->i != r->first.i && b->i != r->last.i && b->i != a->i) emit(cr, open, b);
    if (r->last.i != r->first.i) emit(cr, open, &r->last);
    r->has = 0;
}

/* Appends the series' polyline (steps for a step series); a non-finite
 * point ends one subpath. */
static void line_path(cairo_t *cr, const kn_series *s, const axis *X, const axis *Y,
                      const double *x, const double *y, size_t n)
{
    int open = 0;
    double px = 0;
    run r = { 0 };
    for (size_t i = 0; i < n; i++) {
        double qx = amap(X, x[i]), qy = amap(Y, y[i]);
        if (!isfinite(qx) || !isfinite(qy) || !isfinite(x[i]) || !isfinite(y[i])) {
            run_flush(cr, &open, &r);
            open = 0;
            continue;
        }
        if (s->type == KN_SER_STEP) {
            if (!open) {
                cairo_move_to(cr, qx, qy);
                open = 1;
            } else {
                /* steps-pre: y[i] holds over (x[i-1], x[i]]. */
                cairo_line_to(cr, px, qy);
                cairo_line_to(cr, qx, qy);
            }
            px = qx;
            continue;
        }
        pt q = { qx, qy, i };
        double col = floor(qx);
        if (r.has && col == r.col) {
            if (qy < r.lo.y) r.lo = q;
            if (qy > r.hi.y) r.hi = q;
            r.last = q;
            continue;
        }
        run_flush(cr, &open, &r);
        r = (run){ 1, col, q, q, q, q };
    }
    run_flush(cr, &open, &r);
}

static kn_color series_color(const kn_state *st, const kn_series *s)
{
    const kn_value *v = sval(st, s->slot_color);
    kn_color none = { 0, 0, 0, 0 };
    return v && v->type == KN_VT_COLOR ? v->color : none;
}

static double series_width(const kn_state *st, const kn_series *s)
{
    const kn_value *v = sval(st, s->slot_width);
    return v && v->type == KN_VT_NUM && isfinite(v->num) && v->num >= 0 && v->num < 1e4
           ? v->num : 1.5;
}

/* Draws heatmap s; returns 0 when it has no data to draw this frame (then
 * it gets no colour bar either), else sets its colour limits. */
static int draw_heatmap(cairo_t *cr, const kn_series *s, const kn_state *st, const axis *X,
                        const axis *Y, double *vmin, double *vmax)
{
    const double *d = heat_data(st, s);
    const kn_cmap *cm = kn_cmap_lookup(s->cmap);
    if (!d || !cm) return 0;
    size_t n = s->rows * s->cols;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(d[i])) { lo = fmin(lo, d[i]); hi = fmax(hi, d[i]); }
    if (s->has_vmin) lo = s->vmin;
    if (s->has_vmax) hi = s->vmax;
    if (!isfinite(lo)) lo = 0, hi = 1;
    *vmin = lo;
    *vmax = hi;
    if (s->rows > KN_HEATMAP_MAX_SIDE || s->cols > KN_HEATMAP_MAX_SIDE) return 1;
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)s->cols,
                                                      (int)s->rows);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return 1;
    }
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (size_t r = 0; r < s->rows; r++)
        for (size_t c = 0; c < s->cols; c++) {
            double v = d[r * s->cols + c], rgb[3];
            double u = hi > lo ? unit(v, lo, hi) : 0;   /* matplotlib: 0 when flat */
            uint32_t pix = 0;
            if (isfinite(v) && kn_cmap_sample(cm, u, rgb))
                pix = 0xff000000u | (uint32_t)lround(rgb[0] * 255) << 16 |
                      (uint32_t)lround(rgb[1] * 255) << 8 | (uint32_t)lround(rgb[2] * 255);
            memcpy(px + r * (size_t)stride + c * 4, &pix, 4);
        }
    cairo_surface_mark_dirty(img);
    double x0 = amap(X, -0.5), x1 = amap(X, (double)s->cols - 0.5);
    double y0 = amap(Y, -0.5), y1 = amap(Y, (double)s->rows - 0.5);
    double sx = (x1 - x0) / (double)s->cols, sy = (y1 - y0) / (double)s->rows;
    if (isfinite(sx) && isfinite(sy) && fabs(sx) > 1e-9 && fabs(sy) > 1e-9) {
        cairo_save(cr);
        cairo_translate(cr, x0, y0);
        cairo_scale(cr, sx, sy);
        cairo_set_source_surface(cr, img, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
        cairo_rectangle(cr, 0, 0, (double)s->cols, (double)s->rows);
        cairo_fill(cr);
        cairo_restore(cr);
    }
    cairo_surface_destroy(img);
    return 1;
}

/* Bars narrower than a pixel are merged per pixel column (of their
 * centre): one rectangle from the leftmost to the rightmost edge and from
 * the lowest to the highest extent of the column's bars. Every bar spans
 * the baseline, so the union of a column's bars is exactly that tall; only
 * the sub-pixel gaps between them get filled, as they would be by
 * antialiasing anyway. Tens of thousands of overlapping rectangles in one
 * path are what made Cairo's tessellation take minutes; this leaves a few
 * per column. Bars a pixel or wider, and columns holding one bar, are
 * drawn as they are. */
typedef struct bar_col {
    double x0, x1, y0, y1;
    size_t count;
} bar_col;

static void draw_bars(cairo_t *cr, const axis *X, const axis *Y, const double *x,
                      const double *y, size_t n, kn_color c)
{
    double hw = bar_width(x, n) / 2;
    double z = amap(Y, Y->log ? fmin(Y->lo, Y->hi) : 0);
    if (!isfinite(z)) return;
    /* Only the columns of the axes (and one either side) can show a bar. */
    double left = fmin(X->p0, X->p1) - 1, right = fmax(X->p0, X->p1) + 1;
    long c0 = (long)floor(left);
    size_t ncol = (size_t)(floor(right) - floor(left)) + 1;
    bar_col *col = calloc(ncol, sizeof *col);
    set_color(cr, c, 1);
    cairo_new_path(cr);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        double a = amap(X, x[i] - hw), b = amap(X, x[i] + hw), t = amap(Y, y[i]);
        if (!isfinite(a) || !isfinite(b) || !isfinite(t)) continue;
        double x0 = fmin(a, b), x1 = fmax(a, b);
        if (x1 < left || x0 > right) continue;   /* clipped away entirely */
        double y0 = fmin(t, z), y1 = fmax(t, z);
        double cx = floor((x0 + x1) / 2);
        if (!col || x1 - x0 >= 1 || cx < left || cx > right) {
            cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
            continue;
        }
        bar_col *k = &col[(size_t)((long)cx - c0)];
        if (!k->count++) {
            *k = (bar_col){ x0, x1, y0, y1, 1 };
        } else {
            k->x0 = fmin(k->x0, x0);
            k->x1 = fmax(k->x1, x1);
            k->y0 = fmin(k->y0, y0);
            k->y1 = fmax(k->y1, y1);
        }
    }
    for (size_t i = 0; col && i < ncol; i++)
        if (col[i].count)
            cairo_rectangle(cr, col[i].x0, col[i].y0, col[i].x1 - col[i].x0,
                            col[i].y1 - col[i].y0);
    cairo_fill(cr);
    free(col);
}

static void draw_series(cairo_t *cr, const kn_series *s, const kn_state *st, const axis *X,
                        const axis *Y, const double box[4])
{
    const double *x, *y;
    size_t n = series_xy(st, s, &x, &y);
    if (!n) return;
    kn_color c = series_color(st, s);
    double w = series_width(st, s);
    cairo_new_path(cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);
    switch (s->type) {
    case KN_SER_BAR:
        draw_bars(cr, X, Y, x, y, n, c);
        return;
    case KN_SER_AREA: {
        /* Each finite run fills down to 0 on its own. */
        double z = amap(Y, Y->log ? fmin(Y->lo, Y->hi) : 0);
        size_t i = 0;
        while (i < n) {
            while (i < n && !(isfinite(amap(X, x[i])) && isfinite(amap(Y, y[i])) &&
                              isfinite(x[i]) && isfinite(y[i])))
                i++;
            size_t a = i;
            while (i < n && isfinite(amap(X, x[i])) && isfinite(amap(Y, y[i])) &&
                   isfinite(x[i]) && isfinite(y[i]))
                i++;
            if (i == a || !isfinite(z)) continue;
            cairo_move_to(cr, amap(X, x[a]), z);
            for (size_t k = a; k < i; k++) cairo_line_to(cr, amap(X, x[k]), amap(Y, y[k]));
            cairo_line_to(cr, amap(X, x[i - 1]), z);
            cairo_close_path(cr);
        }
        set_color(cr, c, 0.3);
        cairo_fill(cr);
        break;
    }
    default:
        break;
    }
    if (s->type != KN_SER_SCATTER && w > 0) {
        line_path(cr, s, X, Y, x, y, n);
        set_color(cr, c, 1);
        cairo_set_line_width(cr, w);
        cairo_stroke(cr);
    }
    if (s->marker) {
        /* A marker wholly outside the axes is clipped away: skipping it
         * changes no pixel and saves its fill. */
        double m = s->marker_size + 2;
        double l = fmin(X->p0, X->p1) - m, r = fmax(X->p0, X->p1) + m;
        double t = fmin(Y->p0, Y->p1) - m, b = fmax(Y->p0, Y->p1) + m;
        double *vx = NULL, *vy = NULL;
        size_t nv = 0;
        if (n >= STAMP_MIN && (vx = malloc(n * sizeof *vx)) && (vy = malloc(n * sizeof *vy))) {
            for (size_t i = 0; i < n; i++) {
                if (!isfinite(x[i]) || !isfinite(y[i])) continue;
                double qx = amap(X, x[i]), qy = amap(Y, y[i]);
                if (qx < l || qx > r || qy < t || qy > b) continue;
                vx[nv] = qx;
                vy[nv++] = qy;
            }
        }
        int stamped = nv >= STAMP_MIN && stamp_markers(cr, box, s->marker, s->marker_size, c, vx, vy, nv);
        free(vx);
        free(vy);
        for (size_t i = 0; i < n && !stamped; i++) {
            if (!isfinite(x[i]) || !isfinite(y[i])) continue;
            double qx = amap(X, x[i]), qy = amap(Y, y[i]);
            if (qx < l || qx > r || qy < t || qy > b) continue;
            marker(cr, s->marker, qx, qy, s->marker_size, c);
        }
    }
    cairo_new_path(cr);
}

/* ---- legend ------------------------------------------------------------- */

static void draw_legend(cairo_t *cr, PangoLayout *ly, PangoFontDescription *fd, double size,
                        const kn_elem *el, const kn_state *st, const double b[4],
                        const char *where, const theme *th)
{
    size_t n = 0;
    double tw = 0, th_ = 0;
    for (size_t k = 0; k < el->plot->nseries; k++) {
        const kn_series *s = &el->plot->series[k];
        if (s->type == KN_SER_HEATMAP || !s->label || !*s->label) continue;
        double w, h;
        text_at(cr, ly, fd, size, s->label, 0, 0, 0, 0, 0, th->fg, 1, &w, &h);
        tw = fmax(tw, w);
        th_ = fmax(th_, h);
        n++;
    }
    if (!n) return;
    double pad = 0.4 * size, handle = 2 * size, gap = 0.8 * size, row = fmax(th_, size) * 1.2;
    double bw = pad + handle + gap + tw + pad, bh = 2 * pad + row * (double)n;
    double margin = 0.5 * size;
    double lx = strstr(where, "right") ? b[2] - margin - bw : b[0] + margin;
    double ty = strstr(where, "upper") ? b[1] + margin : b[3] - margin - bh;
    cairo_new_path(cr);
    cairo_rectangle(cr, lx, ty, bw, bh);
    set_color(cr, th->face, 0.8);
    cairo_fill_preserve(cr);
    set_color(cr, th->legend_edge, 0.8);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    size_t i = 0;
    for (size_t k = 0; k < el->plot->nseries; k++) {
        const kn_series *s = &el->plot->series[k];
        if (s->type == KN_SER_HEATMAP || !s->label || !*s->label) continue;
        double cy = ty + pad + row * ((double)i + 0.5), hx = lx + pad;
        kn_color c = series_color(st, s);
        cairo_new_path(cr);
        if (s->type == KN_SER_BAR || s->type == KN_SER_AREA) {
            cairo_rectangle(cr, hx, cy - 0.35 * size, handle, 0.7 * size);
            set_color(cr, c, s->type == KN_SER_AREA ? 0.3 : 1);
            cairo_fill(cr);
        }
        if (s->type != KN_SER_SCATTER && s->type != KN_SER_BAR) {
            cairo_move_to(cr, hx, cy);
            cairo_line_to(cr, hx + handle, cy);
            set_color(cr, c, 1);
            cairo_set_line_width(cr, series_width(st, s));
            cairo_stroke(cr);
        }
        if (s->marker) marker(cr, s->marker, hx + handle / 2, cy, s->marker_size, c);
        text_at(cr, ly, fd, size, s->label, hx + handle + gap, cy, 0, 0.5, 0, th->fg, 0, NULL,
                NULL);
        i++;
    }
}

/* ---- the plot ----------------------------------------------------------- */

static kn_color rgb(unsigned v)
{
    return (kn_color){ ((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0, 1 };
}

void kn_plot_draw(cairo_t *cr, PangoLayout *ly, const kn_elem *el, const kn_state *st)
{
    double bx = pnum(st, el, KN_P_X, 0), by = pnum(st, el, KN_P_Y, 0);
    double bw = pnum(st, el, KN_P_WIDTH, 0), bh = pnum(st, el, KN_P_HEIGHT, 0);
    if (!(bw > 0 && bh > 0) || bw > 1e6 || bh > 1e6) return;
    double size = pnum(st, el, KN_P_SIZE, 12);
    if (!(size > 0) || size > 1e4) return;
    int dark = !strcmp(pstr(st, el, KN_P_STYLE, "light"), "dark");
    theme th = dark ? (theme){ rgb(0x1e1e1e), rgb(0x1e1e1e), rgb(0xd0d0d0), rgb(0x505050),
                               rgb(0x606060) }
                    : (theme){ rgb(0xffffff), rgb(0xffffff), rgb(0x000000), rgb(0xb0b0b0),
                               rgb(0xcccccc) };
    double b[4];
    int cbar;
    axes_box(el, st, b, &cbar);
    axis X, Y;
    axis_setup(el, st, 0, b[0], b[2], size, &X);
    axis_setup(el, st, 1, b[3], b[1], size, &Y);
    PangoFontDescription *fd =
        pango_font_description_from_string(pstr(st, el, KN_P_FONT, "DejaVu Sans"));

    cairo_save(cr);
    cairo_new_path(cr);
    cairo_rectangle(cr, bx, by, bw, bh);
    set_color(cr, th.fig, 1);
    cairo_fill(cr);
    cairo_rectangle(cr, b[0], b[1], b[2] - b[0], b[3] - b[1]);
    set_color(cr, th.face, 1);
    cairo_fill(cr);

    /* Data, under the grid for images only (matplotlib: grid above
     * images, below lines when axisbelow='line'). */
    double vmin = 0, vmax = 1;
    const kn_series *heat = NULL;
    cairo_save(cr);
    cairo_rectangle(cr, b[0], b[1], b[2] - b[0], b[3] - b[1]);
    cairo_clip(cr);
    for (size_t k = 0; k < el->plot->nseries; k++)
        if (el->plot->series[k].type == KN_SER_HEATMAP &&
            draw_heatmap(cr, &el->plot->series[k], st, &X, &Y, &vmin, &vmax))
            heat = &el->plot->series[k];
    if (pnum(st, el, KN_P_GRID, 0) != 0) {
        cairo_set_line_width(cr, 0.8);
        set_color(cr, th.grid, 1);
        for (size_t i = 0; i < X.nt; i++) {
            double p = amap(&X, X.t[i]);
            cairo_move_to(cr, p, b[1]);
            cairo_line_to(cr, p, b[3]);
        }
        for (size_t i = 0; i < Y.nt; i++) {
            double p = amap(&Y, Y.t[i]);
            cairo_move_to(cr, b[0], p);
            cairo_line_to(cr, b[2], p);
        }
        cairo_stroke(cr);
    }
    for (size_t k = 0; k < el->plot->nseries; k++)
        if (el->plot->series[k].type != KN_SER_HEATMAP)
            draw_series(cr, &el->plot->series[k], st, &X, &Y, b);
    cairo_restore(cr);

    /* Spines and ticks. */
    cairo_new_path(cr);
    set_color(cr, th.fg, 1);
    cairo_set_line_width(cr, 0.8);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);
    cairo_rectangle(cr, b[0], b[1], b[2] - b[0], b[3] - b[1]);
    cairo_stroke(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    tick_marks(cr, &X, X.t, X.nt, &Y, Y.t, Y.nt, b, TICK_LEN);
    cairo_set_line_width(cr, MINOR_WIDTH);
    tick_marks(cr, &X, X.tm, X.ntm, &Y, Y.tm, Y.ntm, b, MINOR_LEN);

    char lab[KN_TICKS_LABEL_MAX];
    double xh = 0, yw = 0, w, h;
    for (size_t i = 0; i < X.nt; i++) {
        tick_label(&X, X.t[i], lab);
        text_at(cr, ly, fd, size, lab, amap(&X, X.t[i]), b[3] + TICK_LEN + TICK_PAD, 0.5, 0, 0,
                th.fg, 0, &w, &h);
        xh = fmax(xh, h);
    }
    for (size_t i = 0; i < Y.nt; i++) {
        tick_label(&Y, Y.t[i], lab);
        text_at(cr, ly, fd, size, lab, b[0] - TICK_LEN - TICK_PAD, amap(&Y, Y.t[i]), 1, 0.5, 0,
                th.fg, 0, &w, &h);
        yw = fmax(yw, w);
    }
    for (size_t i = 0; i < X.ntm; i++) {
        minor_label(&X, i, lab);
        text_at(cr, ly, fd, size, lab, amap(&X, X.tm[i]), b[3] + MINOR_LEN + MINOR_PAD, 0.5, 0,
                0, th.fg, 0, &w, &h);
        xh = fmax(xh, h);
    }
    for (size_t i = 0; i < Y.ntm; i++) {
        minor_label(&Y, i, lab);
        text_at(cr, ly, fd, size, lab, b[0] - MINOR_LEN - MINOR_PAD, amap(&Y, Y.tm[i]), 1, 0.5,
                0, th.fg, 0, &w, &h);
        yw = fmax(yw, w);
    }
    if (!X.log && X.fmt.exp10 && !kn_ticks_offset(&X.fmt, lab, sizeof lab, NULL))
        text_at(cr, ly, fd, size, lab, b[2], b[3] + TICK_LEN + TICK_PAD + xh, 1, 0, 0, th.fg, 0,
                NULL, NULL);
    if (!Y.log && Y.fmt.exp10 && !kn_ticks_offset(&Y.fmt, lab, sizeof lab, NULL))
        text_at(cr, ly, fd, size, lab, b[0], b[1] - 2, 0, 1, 0, th.fg, 0, NULL, NULL);

    text_at(cr, ly, fd, size, pstr(st, el, KN_P_XLABEL, ""), (b[0] + b[2]) / 2,
            b[3] + TICK_LEN + TICK_PAD + xh + LABEL_PAD, 0.5, 0, 0, th.fg, 0, NULL, NULL);
    text_at(cr, ly, fd, size, pstr(st, el, KN_P_YLABEL, ""),
            b[0] - TICK_LEN - TICK_PAD - yw - LABEL_PAD, (b[1] + b[3]) / 2, 0.5, 1, 1, th.fg, 0,
            NULL, NULL);
    text_at(cr, ly, fd, 1.2 * size, pstr(st, el, KN_P_TITLE, ""), (b[0] + b[2]) / 2,
            b[1] - TITLE_PAD, 0.5, 1, 0, th.fg, 0, NULL, NULL);

    const char *legend = pstr(st, el, KN_P_LEGEND, "none");
    if (strcmp(legend, "none")) draw_legend(cr, ly, fd, size, el, st, b, legend, &th);

    if (cbar && heat) {
        const kn_cmap *cm = kn_cmap_lookup(heat->cmap);
        double cx0 = bx + 0.775 * bw, cx1 = bx + 0.8 * bw;
        if (cm && cx1 > cx0) {
            cairo_pattern_t *g = cairo_pattern_create_linear(0, b[3], 0, b[1]);
            for (int i = 0; i < KN_CMAP_N; i++) {
                double c3[3];
                kn_cmap_entry(cm, (size_t)i, c3);
                cairo_pattern_add_color_stop_rgb(g, (double)i / KN_CMAP_N, c3[0], c3[1], c3[2]);
                cairo_pattern_add_color_stop_rgb(g, (double)(i + 1) / KN_CMAP_N, c3[0], c3[1],
                                                 c3[2]);
            }
            cairo_rectangle(cr, cx0, b[1], cx1 - cx0, b[3] - b[1]);
            cairo_set_source(cr, g);
            cairo_fill(cr);
            cairo_pattern_destroy(g);
            axis C = { .p0 = b[3], .p1 = b[1] };
            kn_ticks_colorbar_limits(vmin, vmax, &C.lo, &C.hi);
            axis_sane(&C);
            int nb = kn_ticks_auto_count(b[3] - b[1], size, 1, 0);
            if (kn_ticks_linear(C.lo, C.hi, nb, C.t, KN_TICKS_MAX, &C.nt, &C.fmt, NULL)) C.nt = 0;
            set_color(cr, th.fg, 1);
            cairo_set_line_width(cr, 0.8);
            cairo_rectangle(cr, cx0, b[1], cx1 - cx0, b[3] - b[1]);
            for (size_t i = 0; i < C.nt; i++) {
                cairo_move_to(cr, cx1, amap(&C, C.t[i]));
                cairo_line_to(cr, cx1 + TICK_LEN, amap(&C, C.t[i]));
            }
            cairo_stroke(cr);
            for (size_t i = 0; i < C.nt; i++) {
                tick_label(&C, C.t[i], lab);
                text_at(cr, ly, fd, size, lab, cx1 + TICK_LEN + TICK_PAD, amap(&C, C.t[i]), 0,
                        0.5, 0, th.fg, 0, NULL, NULL);
            }
            /* The labels are mantissas when the format factors out a power
             * of ten; matplotlib's colour bar puts that power above its top
             * end, right-aligned with the bar (offset position 'right'). */
            if (C.fmt.exp10 && !kn_ticks_offset(&C.fmt, lab, sizeof lab, NULL))
                text_at(cr, ly, fd, size, lab, cx1, b[1] - 2, 1, 1, 0, th.fg, 0, NULL, NULL);
        }
    }
    cairo_new_path(cr);
    cairo_restore(cr);
    if (fd) pango_font_description_free(fd);
}
