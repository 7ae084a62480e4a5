/*
 * lang/path.c - SVG path data parsed into absolute Cairo segments (the
 * contract is in path.h).
 *
 * The parser is a single left-to-right pass over the bytes with no
 * backtracking beyond one separator: every argument group is converted and
 * appended as soon as it is read, so memory is the segment list and nothing
 * else. Numbers are validated against the SVG grammar here and only then
 * converted, by strtod on a copy of exactly the token, which it must read to
 * the end (strtod alone would also take "inf", "nan", hex and leading
 * spaces, and read on past the token).
 *
 * Invariants:
 *  - ops[] and pts[] always describe whole segments: a segment is appended
 *    only after its points are computed and checked (finite, within
 *    KN_PATH_COORD_MAX), so a failed parse never leaves half a segment and a
 *    successful one never holds a value Cairo cannot take.
 *  - The parser's current point, subpath start and reflection points are
 *    always the values of segments already appended, so they are bounded by
 *    KN_PATH_COORD_MAX too and no later arithmetic on them overflows.
 *  - Elliptical arcs are computed in the ellipse's unit space with hypot and
 *    ratios that are at most 1, never with rx*rx*ry*ry, so tiny or huge radii
 *    cannot overflow or underflow into a division by zero.
 */
#include "lang/path.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Points a segment of each kn_path_op carries. */
static const int op_npts[4] = { 1, 1, 3, 0 };

/* Maximum radial error of the cubic 4/3 tan(h/4) approximation of a unit
 * circle arc of h = 90 degrees. The error grows like h^6 and error / h^6 is
 * increasing in h, so err(h) <= ARC_ERR90 * (h / 90deg)^6 for h <= 90deg.
 * (Measured: 2.7253e-4.) */
#define ARC_ERR90 2.7254e-4
#define ARC_MAX_PIECES 1024

struct kn_path {
    uint8_t *ops;       /* n kn_path_op values */
    size_t n, ncap;
    double *pts;        /* x, y pairs of every segment's points, in order */
    size_t npts, pcap;  /* counted in doubles */
};

/* ---- the segment list ---------------------------------------------------- */

size_t kn_path_bytes(const kn_path *p)
{
    return p ? sizeof *p + p->ncap + p->pcap * sizeof *p->pts : 0;
}

void kn_path_destroy(kn_path *p)
{
    if (!p) return;
    free(p->ops);
    free(p->pts);
    free(p);
}

size_t kn_path_count(const kn_path *p)
{
    return p ? p->n : 0;
}

size_t kn_path_segments(const kn_path *p, kn_path_seg *out, size_t cap)
{
    if (!p) return 0;
    const double *q = p->pts;
    for (size_t i = 0; i < p->n && i < cap; i++) {
        kn_path_seg *s = &out[i];
        memset(s, 0, sizeof *s);
        s->op = (kn_path_op)p->ops[i];
        for (int k = 0; k < op_npts[p->ops[i]]; k++) {
            s->pt[k][0] = *q++;
            s->pt[k][1] = *q++;
        }
    }
    return p->n;
}

void kn_path_append(const kn_path *p, cairo_t *cr)
{
    if (!p) return;
    const double *q = p->pts;
    for (size_t i = 0; i < p->n; i++) {
        switch ((kn_path_op)p->ops[i]) {
        case KN_PATH_MOVE_TO: cairo_move_to(cr, q[0], q[1]); q += 2; break;
        case KN_PATH_LINE_TO: cairo_line_to(cr, q[0], q[1]); q += 2; break;
        case KN_PATH_CURVE_TO:
            cairo_curve_to(cr, q[0], q[1], q[2], q[3], q[4], q[5]);
            q += 6;
            break;
        case KN_PATH_CLOSE: cairo_close_path(cr); break;
        }
    }
}

static void box_add(double box[4], double x, double y)
{
    if (x < box[0]) box[0] = x;
    if (x > box[2]) box[2] = x;
    if (y < box[1]) box[1] = y;
    if (y > box[3]) box[3] = y;
}

static double cubic_at(double p0, double p1, double p2, double p3, double t)
{
    double u = 1 - t;
    return u * u * u * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t * t * t * p3;
}

/* Parameters in (0, 1) where one coordinate of a cubic has a zero
 * derivative; returns how many (0..2) are stored in t. */
static int cubic_extrema(double p0, double p1, double p2, double p3, double t[2])
{
    /* B'(t)/3 = A t^2 + B t + C */
    double a = p1 - p0, b = p2 - p1, c = p3 - p2;
    double A = a - 2 * b + c, B = 2 * (b - a), C = a;
    double r[2];
    int nr = 0, n = 0;
    double scale = fabs(a) + fabs(b) + fabs(c);
    if (scale == 0) return 0;
    if (fabs(A) <= 1e-12 * scale) {
        if (B != 0) r[nr++] = -C / B;
    } else {
        double disc = B * B - 4 * A * C;
        if (disc < 0) return 0;
        /* The stable form: no cancellation between B and the root. */
        double q = -0.5 * (B + copysign(sqrt(disc), B));
        r[nr++] = q / A;
        if (q != 0) r[nr++] = C / q;
    }
    for (int i = 0; i < nr; i++)
        if (r[i] > 0 && r[i] < 1) t[n++] = r[i];
    return n;
}

int kn_path_extents(const kn_path *p, double box[4])
{
    box[0] = box[1] = box[2] = box[3] = 0;
    if (!p || p->n == 0) return 0;
    box[0] = box[2] = p->pts[0];
    box[1] = box[3] = p->pts[1];
    const double *q = p->pts;
    double cx = 0, cy = 0;   /* current point: the previous segment's end */
    for (size_t i = 0; i < p->n; i++) {
        switch ((kn_path_op)p->ops[i]) {
        case KN_PATH_MOVE_TO:
        case KN_PATH_LINE_TO:
            cx = q[0];
            cy = q[1];
            box_add(box, cx, cy);
            q += 2;
            break;
        case KN_PATH_CURVE_TO: {
            double t[2];
            int n = cubic_extrema(cx, q[0], q[2], q[4], t);
            for (int k = 0; k < n; k++)
                box_add(box, cubic_at(cx, q[0], q[2], q[4], t[k]),
                        cubic_at(cy, q[1], q[3], q[5], t[k]));
            n = cubic_extrema(cy, q[1], q[3], q[5], t);
            for (int k = 0; k < n; k++)
                box_add(box, cubic_at(cx, q[0], q[2], q[4], t[k]),
                        cubic_at(cy, q[1], q[3], q[5], t[k]));
            cx = q[4];
            cy = q[5];
            box_add(box, cx, cy);
            q += 6;
            break;
        }
        case KN_PATH_CLOSE:
            /* The current point moves back to the subpath start, which is
             * already in the box; the next segment is a MOVE_TO. */
            break;
        }
    }
    return 1;
}

/* ---- the parser ---------------------------------------------------------- */

typedef struct parser {
    const char *s;           /* the data, NUL-terminated */
    size_t i;                /* next byte */
    size_t group;            /* index of the argument group being applied */
    kn_path *p;
    kn_err *err;
    int *col;
    double cx, cy;           /* current point */
    double sx, sy;           /* start of the current subpath */
    double rcx, rcy;         /* second control point of the last C/S */
    double rqx, rqy;         /* control point of the last Q/T */
    char prev;               /* previous command, upper case; 0 at the start */
    int need_move;           /* after Z: a drawing segment needs a MOVE_TO */
} parser;

__attribute__((format(printf, 4, 5)))
static int fail(parser *P, size_t at, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (P->col) *P->col = at < (size_t)INT32_MAX ? (int)at + 1 : INT32_MAX;
    return kn_err_set(P->err, code, NULL, "path data, column %zu: %s", at + 1, msg);
}

/* What is at s[at], for messages that end up in JSON: printable ASCII is
 * quoted, anything else is described. */
static const char *found(const parser *P, size_t at, char buf[32])
{
    unsigned char c = (unsigned char)P->s[at];
    if (c == 0) return "the end of the data";
    if (c >= 0x80) return "a non-ASCII character";
    if (c == '"' || c == '\\') return c == '"' ? "a double quote" : "a backslash";
    if (c < 0x20 || c == 0x7f) {
        snprintf(buf, 32, "control character 0x%02X", c);
        return buf;
    }
    snprintf(buf, 32, "'%c'", c);
    return buf;
}

static int is_wsp(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int num_start(char c)
{
    return is_digit(c) || c == '.' || c == '-' || c == '+';
}

static void skip_wsp(parser *P)
{
    while (is_wsp(P->s[P->i])) P->i++;
}

/* comma-wsp? between two arguments of one command. */
static void skip_sep(parser *P)
{
    skip_wsp(P);
    if (P->s[P->i] == ',') {
        P->i++;
        skip_wsp(P);
    }
}

/* number: sign? (digits ("." digits?)? | "." digits) (("e"|"E") sign? digits)? */
static int read_number(parser *P, double *out)
{
    const char *s = P->s;
    size_t st = P->i, i = st;
    char b[32];

    if (s[i] == '+' || s[i] == '-') i++;
    size_t nint = 0, nfrac = 0;
    while (is_digit(s[i])) { i++; nint++; }
    if (s[i] == '.') {
        i++;
        while (is_digit(s[i])) { i++; nfrac++; }
    }
    if (nint == 0 && nfrac == 0) {
        if (i == st) return fail(P, i, KN_EINVAL, "expected a number, found %s", found(P, i, b));
        return fail(P, i, KN_EINVAL, "expected a digit, found %s", found(P, i, b));
    }
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '+' || s[i] == '-') i++;
        if (!is_digit(s[i]))
            return fail(P, i, KN_EINVAL, "expected the digits of an exponent, found %s",
                        found(P, i, b));
        while (is_digit(s[i])) i++;
    }
    /* strtod gets exactly the token: on the data itself it would read on
     * past the grammar ("0x10" as hex). It must read all of it (it would
     * not in a comma-decimal locale: an error then, never a wrong value). */
    size_t n = i - st;
    char small[64], *tok = small, *end = NULL;
    if (n >= sizeof small && !(tok = malloc(n + 1))) {
        if (P->col) *P->col = 0;
        return kn_err_set(P->err, KN_ENOMEM, NULL, "out of memory for a number in path data");
    }
    memcpy(tok, s + st, n);
    tok[n] = '\0';
    double v = strtod(tok, &end);
    int whole = end == tok + n;
    if (tok != small) free(tok);
    if (!whole) return fail(P, st, KN_EINVAL, "cannot read the number here");
    if (!isfinite(v) || fabs(v) > KN_PATH_COORD_MAX)
        return fail(P, st, KN_EINVAL, "number out of range (the limit is +-%g)",
                    KN_PATH_COORD_MAX);
    P->i = i;
    *out = v;
    return KN_OK;
}

/* flag: "0" | "1" (one character: "00" is two flags) */
static int read_flag(parser *P, double *out)
{
    char b[32];
    char c = P->s[P->i];
    if (c != '0' && c != '1')
        return fail(P, P->i, KN_EINVAL, "expected an arc flag (0 or 1), found %s",
                    found(P, P->i, b));
    *out = c - '0';
    P->i++;
    return KN_OK;
}

/* ---- appending segments ---------------------------------------------------- */

static int reserve(parser *P, size_t npts)
{
    kn_path *p = P->p;
    if (p->n >= KN_PATH_MAX_SEGMENTS)
        return fail(P, P->group, KN_ETOOBIG, "the path has more than %zu segments",
                    KN_PATH_MAX_SEGMENTS);
    if (p->n == p->ncap) {
        size_t nc = p->ncap ? p->ncap * 2 : 64;
        if (nc > KN_PATH_MAX_SEGMENTS) nc = KN_PATH_MAX_SEGMENTS;
        uint8_t *no = realloc(p->ops, nc);
        if (!no) goto oom;
        p->ops = no;
        p->ncap = nc;
    }
    if (p->pcap - p->npts < npts) {
        size_t nc = p->pcap ? p->pcap * 2 : 256;
        while (nc - p->npts < npts) nc *= 2;
        double *np = realloc(p->pts, nc * sizeof *np);
        if (!np) goto oom;
        p->pts = np;
        p->pcap = nc;
    }
    return KN_OK;
oom:
    if (P->col) *P->col = 0;
    return kn_err_set(P->err, KN_ENOMEM, NULL, "out of memory for the path's segments");
}

/* Appends one segment with k points (xy: 2k values) after checking them. */
static int emit(parser *P, kn_path_op op, const double *xy, int k)
{
    for (int j = 0; j < 2 * k; j++)
        if (!(fabs(xy[j]) <= KN_PATH_COORD_MAX))
            return fail(P, P->group, KN_EINVAL,
                        "the path goes out of range, to (%g, %g); coordinates are "
                        "limited to +-%g", xy[j & ~1], xy[j | 1], KN_PATH_COORD_MAX);
    int rc = reserve(P, (size_t)(2 * k));
    if (rc) return rc;
    kn_path *p = P->p;
    p->ops[p->n++] = (uint8_t)op;
    if (k > 0) memcpy(p->pts + p->npts, xy, (size_t)(2 * k) * sizeof *xy);
    p->npts += (size_t)(2 * k);
    return KN_OK;
}

/* After Z the next drawing segment starts a new subpath at the old start:
 * make that explicit (see the invariants in path.h). */
static int begin_draw(parser *P)
{
    if (!P->need_move) return KN_OK;
    double xy[2] = { P->cx, P->cy };
    int rc = emit(P, KN_PATH_MOVE_TO, xy, 1);
    if (rc == KN_OK) P->need_move = 0;
    return rc;
}

static int move_to(parser *P, double x, double y)
{
    double xy[2] = { x, y };
    int rc = emit(P, KN_PATH_MOVE_TO, xy, 1);
    if (rc) return rc;
    P->cx = P->sx = x;
    P->cy = P->sy = y;
    P->need_move = 0;
    return KN_OK;
}

static int line_to(parser *P, double x, double y)
{
    double xy[2] = { x, y };
    int rc = begin_draw(P);
    if (rc == KN_OK) rc = emit(P, KN_PATH_LINE_TO, xy, 1);
    if (rc) return rc;
    P->cx = x;
    P->cy = y;
    return KN_OK;
}

static int curve_to(parser *P, double x1, double y1, double x2, double y2, double x, double y)
{
    double xy[6] = { x1, y1, x2, y2, x, y };
    int rc = begin_draw(P);
    if (rc == KN_OK) rc = emit(P, KN_PATH_CURVE_TO, xy, 3);
    if (rc) return rc;
    P->cx = x;
    P->cy = y;
    return KN_OK;
}

static int close_path(parser *P)
{
    int rc = emit(P, KN_PATH_CLOSE, NULL, 0);
    if (rc) return rc;
    P->cx = P->sx;
    P->cy = P->sy;
    P->need_move = 1;
    return KN_OK;
}

/* ---- elliptical arcs (SVG 1.1 F.6) --------------------------------------- */

/* cos and sin of an angle in degrees, exact at multiples of 90 degrees so
 * that axis-aligned arcs keep exact coordinates. */
static void cos_sin_deg(double deg, double *c, double *s)
{
    double d = fmod(deg, 360.0);
    if (d < 0) d += 360.0;
    if (d == 0) { *c = 1; *s = 0; return; }
    if (d == 90) { *c = 0; *s = 1; return; }
    if (d == 180) { *c = -1; *s = 0; return; }
    if (d == 270) { *c = 0; *s = -1; return; }
    double r = d * (M_PI / 180);
    *c = cos(r);
    *s = sin(r);
}

static int arc_to(parser *P, double rx, double ry, double phi, int large, int sweep,
                  double x2, double y2)
{
    double x1 = P->cx, y1 = P->cy;

    /* F.6.2: identical endpoints omit the arc; a zero radius is a line. */
    if (x1 == x2 && y1 == y2) return KN_OK;
    rx = fabs(rx);
    ry = fabs(ry);
    if (rx == 0 || ry == 0) return line_to(P, x2, y2);

    double cp, sp;
    cos_sin_deg(phi, &cp, &sp);

    /* F.6.5.1: the half chord in the ellipse's axes. */
    double dx = (x1 - x2) / 2, dy = (y1 - y2) / 2;
    double x1p = cp * dx + sp * dy, y1p = -sp * dx + cp * dy;

    /* In unit-circle space the half chord is (a, b), of length r: r >= 1
     * means the radii are too small (F.6.6, lambda = r^2). */
    double a = x1p / rx, b = y1p / ry;
    double r = hypot(a, b);
    if (!(r > 0)) return line_to(P, x2, y2);   /* chord underflows next to the radii */

    double cxp, cyp, th1, dth;
    if (r >= 1) {
        /* Scale the radii by r, written so that neither a nor b (which may
         * be infinite for tiny radii) is needed: rx' = hypot(x1p, y1p rx/ry),
         * ry' = hypot(x1p ry/rx, y1p), using whichever ratio is <= 1. */
        if (rx >= ry) {
            double k = ry / rx;
            ry = hypot(x1p * k, y1p);
            rx = k > 0 ? ry / k : INFINITY;
        } else {
            double k = rx / ry;
            rx = hypot(x1p, y1p * k);
            ry = k > 0 ? rx / k : INFINITY;
        }
        if (rx == 0 || ry == 0) return line_to(P, x2, y2);   /* flat ellipse */
        /* A half ellipse reaches both semi-axes' tips, so a radius beyond
         * twice the coordinate limit cannot stay in range. */
        if (!(rx <= 2 * KN_PATH_COORD_MAX && ry <= 2 * KN_PATH_COORD_MAX))
            return fail(P, P->group, KN_EINVAL,
                        "the arc is too large: its radii are too small for the distance "
                        "between its endpoints and scaling them up (SVG F.6.6) puts it "
                        "beyond +-%g", KN_PATH_COORD_MAX);
        cxp = cyp = 0;
        th1 = atan2(y1p / ry, x1p / rx);
        dth = sweep ? M_PI : -M_PI;
    } else {
        /* F.6.5.2 divided through by rx^2 ry^2: the center is
         * +-sqrt(1 - r^2) / r * (rx b, -ry a). */
        double s = sqrt((1 - r) * (1 + r));
        double sign = large != sweep ? 1 : -1;
        cxp = sign * s * rx * (b / r);
        cyp = -sign * s * ry * (a / r);
        /* F.6.5.5-6 */
        th1 = atan2((y1p - cyp) / ry, (x1p - cxp) / rx);
        double th2 = atan2((-y1p - cyp) / ry, (-x1p - cxp) / rx);
        dth = th2 - th1;
        if (sweep && dth < 0) dth += 2 * M_PI;
        else if (!sweep && dth > 0) dth -= 2 * M_PI;
        /* When the chord is tiny next to the radii, rounding can put the
         * angle on the wrong side of 0 (or 2 pi); the large-arc flag says
         * which side is meant. */
        if ((large && fabs(dth) < M_PI) || (!large && fabs(dth) > M_PI))
            dth = (sweep ? 1 : -1) * (2 * M_PI - fabs(dth));
    }
    double cx = cp * cxp - sp * cyp + (x1 + x2) / 2;
    double cy = sp * cxp + cp * cyp + (y1 + y2) / 2;

    /* Pieces of at most 90 degrees, smaller when the larger radius would
     * make a 90 degree piece's error exceed KN_PATH_ARC_TOL. */
    double rmax = rx > ry ? rx : ry;
    double hmax = M_PI / 2;
    if (ARC_ERR90 * rmax > KN_PATH_ARC_TOL)
        hmax *= pow(KN_PATH_ARC_TOL / (ARC_ERR90 * rmax), 1.0 / 6.0);
    /* The small allowance keeps a quarter arc one piece despite rounding. */
    double pieces = ceil(fabs(dth) / hmax - 1e-6);
    int n = pieces < 1 ? 1 : pieces > ARC_MAX_PIECES ? ARC_MAX_PIECES : (int)pieces;
    double h = dth / n;
    double k = 4.0 / 3.0 * tan(h / 4);

    double ax = x1, ay = y1;                       /* piece start */
    double ct = cos(th1), st = sin(th1);
    double dax = -rx * st * cp - ry * ct * sp;     /* dP/dtheta at the start */
    double day = -rx * st * sp + ry * ct * cp;
    for (int j = 1; j <= n; j++) {
        double t = th1 + h * j;
        ct = cos(t);
        st = sin(t);
        double bx, by;
        if (j == n) {
            bx = x2;
            by = y2;
        } else {
            bx = cx + rx * ct * cp - ry * st * sp;
            by = cy + rx * ct * sp + ry * st * cp;
        }
        double dbx = -rx * st * cp - ry * ct * sp;
        double dby = -rx * st * sp + ry * ct * cp;
        int rc = curve_to(P, ax + k * dax, ay + k * day, bx - k * dbx, by - k * dby, bx, by);
        if (rc) return rc;
        ax = bx;
        ay = by;
        dax = dbx;
        day = dby;
    }
    return KN_OK;
}

/* ---- commands ------------------------------------------------------------ */

/* Arguments per command letter (upper case); 0 for Z, -1 for no command. */
static int cmd_nargs(char c)
{
    switch (c) {
    case 'M': case 'L': case 'T': return 2;
    case 'H': case 'V': return 1;
    case 'C': return 6;
    case 'S': case 'Q': return 4;
    case 'A': return 7;
    case 'Z': return 0;
    default: return -1;
    }
}

/* Applies one argument group v of command c (upper case; rel: relative).
 * first: the first group after the letter (M's later groups are L). */
static int apply(parser *P, char c, int rel, int first, const double *v)
{
    double ox = rel ? P->cx : 0, oy = rel ? P->cy : 0;
    int rc;
    switch (c) {
    case 'M':
        if (first) {
            rc = move_to(P, ox + v[0], oy + v[1]);
            P->prev = 'M';
            return rc;
        }
        rc = line_to(P, ox + v[0], oy + v[1]);
        P->prev = 'L';
        return rc;
    case 'L':
        rc = line_to(P, ox + v[0], oy + v[1]);
        break;
    case 'H':
        rc = line_to(P, ox + v[0], P->cy);
        break;
    case 'V':
        rc = line_to(P, P->cx, oy + v[0]);
        break;
    case 'C':
    case 'S': {
        double x1, y1;
        const double *w = v;
        if (c == 'C') {
            x1 = ox + v[0];
            y1 = oy + v[1];
            w = v + 2;
        } else if (P->prev == 'C' || P->prev == 'S') {
            x1 = 2 * P->cx - P->rcx;
            y1 = 2 * P->cy - P->rcy;
        } else {
            x1 = P->cx;
            y1 = P->cy;
        }
        double x2 = ox + w[0], y2 = oy + w[1];
        rc = curve_to(P, x1, y1, x2, y2, ox + w[2], oy + w[3]);
        P->rcx = x2;
        P->rcy = y2;
        break;
    }
    case 'Q':
    case 'T': {
        double qx, qy;
        const double *w = v;
        if (c == 'Q') {
            qx = ox + v[0];
            qy = oy + v[1];
            w = v + 2;
        } else if (P->prev == 'Q' || P->prev == 'T') {
            qx = 2 * P->cx - P->rqx;
            qy = 2 * P->cy - P->rqy;
        } else {
            qx = P->cx;
            qy = P->cy;
        }
        double x0 = P->cx, y0 = P->cy, x = ox + w[0], y = oy + w[1];
        /* The exact cubic: control points 2/3 of the way to q. */
        rc = curve_to(P, (x0 + 2 * qx) / 3, (y0 + 2 * qy) / 3, (x + 2 * qx) / 3,
                      (y + 2 * qy) / 3, x, y);
        P->rqx = qx;
        P->rqy = qy;
        break;
    }
    case 'A':
        rc = arc_to(P, v[0], v[1], v[2], v[3] != 0, v[4] != 0, ox + v[5], oy + v[6]);
        break;
    default:
        rc = kn_err_set(P->err, KN_EINTERNAL, NULL, "path: unknown command");
        break;
    }
    P->prev = c;
    return rc;
}

/* Reads one argument group of n arguments of command c at P->i. */
static int read_group(parser *P, char c, int n, double *v)
{
    int rc;
    for (int k = 0; k < n; k++) {
        if (k > 0) skip_sep(P);
        if (c == 'A' && (k == 3 || k == 4))
            rc = read_flag(P, &v[k]);
        else
            rc = read_number(P, &v[k]);
        if (rc) return rc;
    }
    return KN_OK;
}

static int parse(parser *P)
{
    char b[32];
    int rc;

    skip_wsp(P);
    if (P->s[P->i] == '\0') return KN_OK;   /* empty data: an empty path */
    if (P->s[P->i] != 'M' && P->s[P->i] != 'm')
        return fail(P, P->i, KN_EINVAL, "path data must start with M or m, found %s",
                    found(P, P->i, b));
    for (;;) {
        skip_wsp(P);
        char l = P->s[P->i];
        if (l == '\0') return KN_OK;
        int rel = l >= 'a' && l <= 'z';
        char c = rel ? (char)(l - 'a' + 'A') : l;
        int n = cmd_nargs(c);
        if (n < 0)
            return fail(P, P->i, KN_EINVAL,
                        "expected a command (one of M L H V C S Q T A Z, or lower case), "
                        "found %s", found(P, P->i, b));
        P->group = P->i;
        P->i++;
        if (n == 0) {
            if ((rc = close_path(P))) return rc;
            P->prev = 'Z';
            continue;
        }
        for (int first = 1;; first = 0) {
            skip_wsp(P);
            if (!first) {
                /* Another group of the same command follows a comma or
                 * starts like a number; anything else ends the command. */
                if (P->s[P->i] == ',') {
                    P->i++;
                    skip_wsp(P);
                    if (!num_start(P->s[P->i]))
                        return fail(P, P->i, KN_EINVAL, "expected a number after ',', found %s",
                                    found(P, P->i, b));
                } else if (!num_start(P->s[P->i])) {
                    break;
                }
            }
            double v[7];
            P->group = P->i;
            if ((rc = read_group(P, c, n, v))) return rc;
            if ((rc = apply(P, c, rel, first, v))) return rc;
        }
    }
}

int kn_path_parse(const char *d, kn_path **out, int *err_col, kn_err *err)
{
    parser P;
    int rc;

    *out = NULL;
    if (err_col) *err_col = 0;
    if (!d) return kn_err_set(err, KN_EINVAL, NULL, "path data is missing");
    size_t len = strnlen(d, KN_PATH_MAX_BYTES + 1);
    if (len > KN_PATH_MAX_BYTES)
        return kn_err_set(err, KN_ETOOBIG, NULL, "path data is longer than %zu bytes",
                          KN_PATH_MAX_BYTES);
    memset(&P, 0, sizeof P);
    P.s = d;
    P.err = err;
    P.col = err_col;
    P.p = calloc(1, sizeof *P.p);
    if (!P.p) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory for a path");

    rc = parse(&P);
    if (rc != KN_OK) goto out;
    /* Give back the growth slack: paths live as long as their document. */
    if (P.p->n < P.p->ncap && P.p->n > 0) {
        uint8_t *o = realloc(P.p->ops, P.p->n);
        if (o) { P.p->ops = o; P.p->ncap = P.p->n; }
    }
    if (P.p->npts < P.p->pcap && P.p->npts > 0) {
        double *q = realloc(P.p->pts, P.p->npts * sizeof *q);
        if (q) { P.p->pts = q; P.p->pcap = P.p->npts; }
    }
    *out = P.p;
    P.p = NULL;

out:
    kn_path_destroy(P.p);
    return rc;
}
