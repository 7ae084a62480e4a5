/*
 * render/stroke.c - see stroke.h.
 *
 * The walk keeps, for the current sub-path, the distance s from its start
 * (Cairo restarts the dash pattern at every sub-path) and whether the last
 * piece it kept ended where the next one starts (then the run goes on).
 * Invariants:
 *  - Every piece left out lies wholly outside the box: the clip extents
 *    grown by how far a join or cap can reach past the path, so leaving it
 *    out, and the caps where a run is cut, change no pixel inside the clip.
 *  - Line pieces are cut exactly at the box; a curve near the box is split
 *    in halves (de Casteljau, exact) until its pieces are either outside
 *    the box or short next to it, so the pieces kept are bounded by what
 *    the box can show plus one short piece at each end.
 *  - The collected runs stay under RUNS_MAX path entries; past that the
 *    stroke falls back to cairo_stroke, slow but correct.
 */
#include "render/stroke.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RUNS_MAX ((size_t)1 << 20)   /* cairo_path_data_t entries */
#define SPLIT_DEPTH_MAX 60

typedef struct run {
    size_t first, n;      /* entries in walk.d */
    double offset;        /* dash offset where the run starts */
} run;

typedef struct walk {
    double bx0, by0, bx1, by1;   /* the box, user space */
    double short_len;            /* a curve piece this short is kept whole */
    double offset, period;       /* the dash pattern's offset and length */
    double s;                    /* distance along the current sub-path */
    double cx, cy;               /* current point */
    int in_run;                  /* the open run ends at the current point */
    int cut;                     /* something was left out */
    int overflow;
    cairo_path_data_t *d;
    size_t nd, cap;
    run *runs;
    size_t nruns, runs_cap;
} walk;

static cairo_path_data_t *grow(walk *w, size_t k)
{
    if (w->overflow) return NULL;
    if (w->nd + k > RUNS_MAX) {
        w->overflow = 1;
        return NULL;
    }
    if (w->nd + k > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        while (cap < w->nd + k) cap *= 2;
        cairo_path_data_t *nd = realloc(w->d, cap * sizeof *nd);
        if (!nd) {
            w->overflow = 1;
            return NULL;
        }
        w->d = nd;
        w->cap = cap;
    }
    cairo_path_data_t *p = w->d + w->nd;
    w->nd += k;
    return p;
}

static void begin_run(walk *w, double x, double y, double s)
{
    if (w->overflow) return;
    if (w->nruns == w->runs_cap) {
        size_t cap = w->runs_cap ? w->runs_cap * 2 : 16;
        run *nr = realloc(w->runs, cap * sizeof *nr);
        if (!nr) {
            w->overflow = 1;
            return;
        }
        w->runs = nr;
        w->runs_cap = cap;
    }
    cairo_path_data_t *p = grow(w, 2);
    if (!p) return;
    p[0].header.type = CAIRO_PATH_MOVE_TO;
    p[0].header.length = 2;
    p[1].point.x = x;
    p[1].point.y = y;
    double off = fmod(w->offset + s, w->period);
    w->runs[w->nruns++] = (run){ w->nd - 2, 2, off < 0 ? off + w->period : off };
    w->in_run = 1;
}

static void add_points(walk *w, cairo_path_data_type_t type, const double *xy, int npts)
{
    cairo_path_data_t *p = grow(w, (size_t)npts + 1);
    if (!p) return;
    p[0].header.type = type;
    p[0].header.length = npts + 1;
    for (int i = 0; i < npts; i++) {
        p[1 + i].point.x = xy[2 * i];
        p[1 + i].point.y = xy[2 * i + 1];
    }
    w->runs[w->nruns - 1].n += (size_t)npts + 1;
}

/* Liang-Barsky: the parameter range [*t0, *t1] of a->b inside the box. */
static int clip_line(const walk *w, double ax, double ay, double bx, double by, double *t0,
                     double *t1)
{
    double dx = bx - ax, dy = by - ay;
    double p[4] = { -dx, dx, -dy, dy };
    double q[4] = { ax - w->bx0, w->bx1 - ax, ay - w->by0, w->by1 - ay };
    double lo = 0, hi = 1;
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0) return 0;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0) {
            if (t > hi) return 0;
            if (t > lo) lo = t;
        } else {
            if (t < lo) return 0;
            if (t < hi) hi = t;
        }
    }
    *t0 = lo;
    *t1 = hi;
    return 1;
}

static void line(walk *w, double bx, double by)
{
    double ax = w->cx, ay = w->cy;
    double len = hypot(bx - ax, by - ay), t0, t1;
    if (!clip_line(w, ax, ay, bx, by, &t0, &t1)) {
        w->in_run = 0;
        w->cut = 1;
    } else {
        if (!w->in_run || t0 > 0) begin_run(w, ax + t0 * (bx - ax), ay + t0 * (by - ay), w->s + t0 * len);
        double e[2] = { ax + t1 * (bx - ax), ay + t1 * (by - ay) };
        if (t1 == 1) {
            e[0] = bx;
            e[1] = by;
        }
        if (w->in_run) add_points(w, CAIRO_PATH_LINE_TO, e, 1);
        if (t0 > 0 || t1 < 1) w->cut = 1;
        w->in_run = t1 == 1;
    }
    w->s += len;
    w->cx = bx;
    w->cy = by;
}

/* |B'(t)| of the cubic c. */
static double speed(const double *c, double t)
{
    double u = 1 - t, d[2];
    for (int k = 0; k < 2; k++)
        d[k] = 3 * (u * u * (c[2 + k] - c[k]) + 2 * u * t * (c[4 + k] - c[2 + k]) +
                    t * t * (c[6 + k] - c[4 + k]));
    return hypot(d[0], d[1]);
}

/* 8-point Gauss-Legendre over [a, b] of the speed. */
static double gauss(const double *c, double a, double b)
{
    static const double X[4] = { 0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                                 0.9602898564975363 };
    static const double W8[4] = { 0.3626837833783620, 0.3137066458778873, 0.2223810344533745,
                                  0.1012285362903763 };
    double m = (a + b) / 2, h = (b - a) / 2, sum = 0;
    for (int i = 0; i < 4; i++) sum += W8[i] * (speed(c, m - h * X[i]) + speed(c, m + h * X[i]));
    return sum * h;
}

static double arc_len(const double *c, double a, double b, double whole, int depth)
{
    double m = (a + b) / 2, l = gauss(c, a, m), r = gauss(c, m, b);
    if (depth >= 12 || fabs(l + r - whole) <= 1e-9 * fabs(whole) + 1e-12) return l + r;
    return arc_len(c, a, m, l, depth + 1) + arc_len(c, m, b, r, depth + 1);
}

/* The length of a cubic (control points x0 y0 ... x3 y3), to about 1e-9
 * of itself: the dash phase past a skipped curve depends on it. */
static double curve_len(const double *c)
{
    return arc_len(c, 0, 1, gauss(c, 0, 1), 0);
}

static void curve(walk *w, const double *c, int depth)
{
    double x0 = c[0], x1 = c[0], y0 = c[1], y1 = c[1];
    for (int i = 1; i < 4; i++) {
        x0 = fmin(x0, c[2 * i]);
        x1 = fmax(x1, c[2 * i]);
        y0 = fmin(y0, c[2 * i + 1]);
        y1 = fmax(y1, c[2 * i + 1]);
    }
    double len = curve_len(c);
    if (x1 < w->bx0 || x0 > w->bx1 || y1 < w->by0 || y0 > w->by1) {
        w->in_run = 0;
        w->cut = 1;
    } else if (len > w->short_len && depth < SPLIT_DEPTH_MAX) {
        double l[8], r[8], m[6];
        for (int k = 0; k < 2; k++) {   /* de Casteljau at t = 1/2 */
            double p01 = (c[k] + c[2 + k]) / 2, p12 = (c[2 + k] + c[4 + k]) / 2;
            double p23 = (c[4 + k] + c[6 + k]) / 2;
            double p012 = (p01 + p12) / 2, p123 = (p12 + p23) / 2;
            m[k] = (p012 + p123) / 2;
            l[k] = c[k], l[2 + k] = p01, l[4 + k] = p012, l[6 + k] = m[k];
            r[k] = m[k], r[2 + k] = p123, r[4 + k] = p23, r[6 + k] = c[6 + k];
        }
        curve(w, l, depth + 1);
        curve(w, r, depth + 1);
        return;
    } else {
        if (!w->in_run) begin_run(w, c[0], c[1], w->s);
        if (w->in_run) add_points(w, CAIRO_PATH_CURVE_TO, c + 2, 3);
    }
    w->s += len;
    w->cx = c[6];
    w->cy = c[7];
}

/* The dash pattern's length, or 0 when the stroke is solid. */
static double dash_period(cairo_t *cr, double **dashes, int *n, double *offset)
{
    *n = cairo_get_dash_count(cr);
    *dashes = NULL;
    if (*n <= 0) return 0;
    *dashes = malloc((size_t)*n * sizeof **dashes);
    if (!*dashes) return 0;
    cairo_get_dash(cr, *dashes, offset);
    double p = 0;
    for (int i = 0; i < *n; i++) p += (*dashes)[i];
    if (*n % 2) p *= 2;   /* an odd pattern repeats with on and off swapped */
    return p > 0 && isfinite(p) ? p : 0;
}

/* The path's length by the same estimates the walk uses. */
static double path_len(const cairo_path_t *p)
{
    double len = 0, cx = 0, cy = 0, sx = 0, sy = 0;
    for (int i = 0; i < p->num_data; i += p->data[i].header.length) {
        const cairo_path_data_t *d = &p->data[i];
        switch (d->header.type) {
        case CAIRO_PATH_MOVE_TO:
            cx = sx = d[1].point.x;
            cy = sy = d[1].point.y;
            break;
        case CAIRO_PATH_LINE_TO:
            len += hypot(d[1].point.x - cx, d[1].point.y - cy);
            cx = d[1].point.x;
            cy = d[1].point.y;
            break;
        case CAIRO_PATH_CURVE_TO: {
            double c[8] = { cx, cy, d[1].point.x, d[1].point.y, d[2].point.x, d[2].point.y,
                            d[3].point.x, d[3].point.y };
            len += curve_len(c);
            cx = c[6];
            cy = c[7];
            break;
        }
        case CAIRO_PATH_CLOSE_PATH:
            len += hypot(sx - cx, sy - cy);
            cx = sx;
            cy = sy;
            break;
        }
    }
    return len;
}

static void walk_path(walk *w, const cairo_path_t *p)
{
    double sx = 0, sy = 0;
    for (int i = 0; i < p->num_data && !w->overflow; i += p->data[i].header.length) {
        const cairo_path_data_t *d = &p->data[i];
        switch (d->header.type) {
        case CAIRO_PATH_MOVE_TO:
            w->cx = sx = d[1].point.x;
            w->cy = sy = d[1].point.y;
            w->s = 0;
            w->in_run = 0;
            break;
        case CAIRO_PATH_LINE_TO:
            line(w, d[1].point.x, d[1].point.y);
            break;
        case CAIRO_PATH_CURVE_TO: {
            double c[8] = { w->cx, w->cy, d[1].point.x, d[1].point.y, d[2].point.x,
                            d[2].point.y, d[3].point.x, d[3].point.y };
            curve(w, c, 0);
            break;
        }
        case CAIRO_PATH_CLOSE_PATH:
            /* The closing side, as a line: where the outline closes inside
             * the box its two ends meet with caps instead of a join. */
            line(w, sx, sy);
            w->in_run = 0;
            w->s = 0;
            break;
        }
    }
}

int kn_stroke_threshold(cairo_t *cr, double min_dashes)
{
    double *dashes, offset = 0;
    int n, culled = 0;
    double period = dash_period(cr, &dashes, &n, &offset);
    cairo_path_t *p = NULL;
    walk w;
    memset(&w, 0, sizeof w);
    if (!(period > 0)) goto plain;
    p = cairo_copy_path(cr);
    if (!p || p->status != CAIRO_STATUS_SUCCESS) goto plain;
    if (!(path_len(p) / period >= min_dashes)) goto plain;

    /* How far the paint can reach past the path: half the width times the
     * miter limit (or a square cap's diagonal), plus a device pixel. */
    double lw = cairo_get_line_width(cr), ml = cairo_get_miter_limit(cr);
    double px = 1, py = 1;
    cairo_device_to_user_distance(cr, &px, &py);
    double margin = lw / 2 * fmax(ml, 1.5) + hypot(px, py);
    cairo_clip_extents(cr, &w.bx0, &w.by0, &w.bx1, &w.by1);
    w.bx0 -= margin;
    w.by0 -= margin;
    w.bx1 += margin;
    w.by1 += margin;
    if (!(w.bx1 > w.bx0 && w.by1 > w.by0) || !isfinite(w.bx1 - w.bx0) || !isfinite(w.by1 - w.by0))
        goto plain;
    w.short_len = 2 * hypot(w.bx1 - w.bx0, w.by1 - w.by0);
    w.offset = offset;
    w.period = period;
    walk_path(&w, p);
    if (w.overflow || !w.cut) goto plain;

    cairo_new_path(cr);
    for (size_t r = 0; r < w.nruns; r++) {
        cairo_path_t view = { CAIRO_STATUS_SUCCESS, w.d + w.runs[r].first, (int)w.runs[r].n };
        if (w.runs[r].n <= 2) continue;   /* a move alone paints nothing */
        cairo_append_path(cr, &view);
        cairo_set_dash(cr, dashes, n, w.runs[r].offset);
        cairo_stroke(cr);
    }
    cairo_set_dash(cr, dashes, n, offset);
    culled = 1;
    goto out;
plain:
    cairo_stroke(cr);
out:
    cairo_path_destroy(p);
    free(w.d);
    free(w.runs);
    free(dashes);
    return culled;
}

void kn_stroke(cairo_t *cr)
{
    kn_stroke_threshold(cr, KN_STROKE_CULL_DASHES);
}
