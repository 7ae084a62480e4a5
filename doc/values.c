/*
 * doc/values.c - the values of a job document: numbers and their ranges,
 * the table of element properties (name, kind, range), and every kind of
 * value a property, var or series field takes (colours, gradients, enums,
 * strings, arrays, {"linspace": ...}, points, heatmap grids), including
 * "=expr" values and text templates, compiled into calcs of the slot being
 * parsed. Also the slots themselves and the element defaults.
 *
 * Invariants: a value parsed into a kn_value has the type of its kind (the
 * slot's type), its arrays and strings live in the doc's arena or in static
 * storage (enumerations, defaults, doc_empty), and an array is never NULL.
 * Numbers are checked by in_range for every element of an array without
 * formatting anything; the JSON pointer and the message are only built on
 * the way to an error, since per-frame data holds millions of numbers.
 */
#include "doc/parser.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/color.h"
#include "lang/expr.h"
#include "lang/template.h"

/* ---- numbers ---------------------------------------------------------- */

/* v in the fewest digits that read back as v: "%g" would print 240.0001 as
 * 240 and 1000001 as 1e+06, an error quoting a value that looks in range. */
const char *doc_num_text(double v, char buf[32])
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, 32, "%.0f", v);
        return buf;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

void doc_range_text(const nrange *r, char *buf, size_t n)
{
    const char *what = (r->flags & R_INT) ? "an integer" : "a number";
    char lo[32], hi[32];
    doc_num_text(r->lo, lo);
    doc_num_text(r->hi, hi);
    if ((r->flags & R_LO) && (r->flags & R_HI)) {
        if (r->flags & R_LO_OPEN)
            snprintf(buf, n, "%s > %s and <= %s", what, lo, hi);
        else
            snprintf(buf, n, "%s from %s to %s", what, lo, hi);
    } else if (r->flags & R_LO) {
        snprintf(buf, n, "%s %s %s", what, (r->flags & R_LO_OPEN) ? ">" : ">=", lo);
    } else {
        snprintf(buf, n, "%s", what);
    }
}

/* Reads a JSON number within r; "=expr" is refused here (fields that take
 * expressions check for them before calling this). Runs once per number of
 * a document (millions with per-frame data): the range description is only
 * formatted on the way to an error. */
static int in_range(const nrange *r, double v)
{
    int bad = !isfinite(v);
    if ((r->flags & R_INT) && v != floor(v)) bad = 1;
    if (r->flags & R_LO) bad |= (r->flags & R_LO_OPEN) ? !(v > r->lo) : !(v >= r->lo);
    if (r->flags & R_HI) bad |= !(v <= r->hi);
    return !bad;
}

int doc_get_num(parser *p, const json_t *j, const nrange *r, double *out)
{
    char want[96];
    if (!json_is_number(j)) {
        doc_range_text(r, want, sizeof want);
        if (json_is_string(j) && json_string_value(j)[0] == '=')
            return doc_fail(p, KN_EINVAL, "an expression is not allowed here: this field must be "
                            "a constant (%s); expressions go in an element's own number fields and "
                            "in vars", want);
        return doc_fail(p, KN_EINVAL, "expected %s, got %s", want, doc_jdesc(j));
    }
    double v = json_number_value(j);
    if (!in_range(r, v)) {
        char got[32];
        doc_range_text(r, want, sizeof want);
        return doc_fail(p, KN_EINVAL, "expected %s, got %s", want, doc_num_text(v, got));
    }
    *out = v;
    return KN_OK;
}

/* doc_get_num for element i of array a. Per-frame data holds millions of array
 * numbers, so the element's JSON pointer is formatted only when it fails. */
static int get_num_at(parser *p, const json_t *a, size_t i, const nrange *r, double *out)
{
    const json_t *j = json_array_get(a, i);
    if (json_is_number(j) && in_range(r, json_number_value(j))) {
        *out = json_number_value(j);
        return KN_OK;
    }
    size_t old = doc_push_idx(p, i);
    int rc = doc_get_num(p, j, r, out);
    doc_pop(p, old);
    return rc;
}

int doc_ms_like(double v)
{
    return v >= 1000 && v <= 1e15 && fmod(v, 100) == 0;
}

const char *doc_ms_hint(double v, char buf[96])
{
    char s[32];
    if (!doc_ms_like(v)) return "";
    snprintf(buf, 96, " (durations are in seconds: did you mean %s?)", doc_num_text(v / 1000, s));
    return buf;
}

/* ---- property and value kinds ---------------------------------------- */

static const char *const CAPS[] = { "butt", "round", "square", NULL };
static const char *const JOINS[] = { "miter", "round", "bevel", NULL };
static const char *const ALIGNS[] = { "left", "center", "right", NULL };
static const char *const BASELINES[] = { "top", "middle", "alphabetic", "bottom", NULL };
static const char *const SCALES[] = { "linear", "log", NULL };
static const char *const LEGENDS[] = { "none", "upper right", "upper left", "lower left",
                                       "lower right", NULL };
static const char *const STYLES[] = { "light", "dark", NULL };

const pdesc doc_desc[D_COUNT] = {
    [KN_P_OPACITY]      = { "opacity", K_NUM, { 0, 1, R_LO | R_HI }, NULL },
    [KN_P_VISIBLE]      = { "visible", K_BOOL, { 0, 0, 0 }, NULL },
    [KN_P_ROTATION]     = { "rotation", K_NUM, { 0, 0, 0 }, NULL },
    [KN_P_SCALE]        = { "scale", K_SCALE, { 0, 0, 0 }, NULL },
    [KN_P_ORIGIN]       = { "origin", K_ORIGIN, { 0, 0, 0 }, NULL },
    [KN_P_FILL]         = { "fill", K_COLOR, { 0, 0, 0 }, NULL },
    [KN_P_STROKE]       = { "stroke", K_COLOR, { 0, 0, 0 }, NULL },
    [KN_P_STROKE_WIDTH] = { "stroke_width", K_NUM, { 0, 0, R_LO }, NULL },
    [KN_P_DASH]         = { "dash", K_DASH, { 0, 0, 0 }, NULL },
    [KN_P_LINE_CAP]     = { "line_cap", K_ENUM, { 0, 0, 0 }, CAPS },
    [KN_P_LINE_JOIN]    = { "line_join", K_ENUM, { 0, 0, 0 }, JOINS },
    [KN_P_X]            = { "x", K_NUM, { 0, 0, 0 }, NULL },
    [KN_P_Y]            = { "y", K_NUM, { 0, 0, 0 }, NULL },
    [KN_P_WIDTH]        = { "width", K_NUM, { 0, 0, R_LO }, NULL },
    [KN_P_HEIGHT]       = { "height", K_NUM, { 0, 0, R_LO }, NULL },
    [KN_P_RADIUS]       = { "radius", K_NUM, { 0, 0, R_LO }, NULL },
    [KN_P_CX]           = { "cx", K_NUM, { 0, 0, 0 }, NULL },
    [KN_P_CY]           = { "cy", K_NUM, { 0, 0, 0 }, NULL },
    [KN_P_R]            = { "r", K_NUM, { 0, 0, R_LO }, NULL },
    [KN_P_RX]           = { "rx", K_NUM, { 0, 0, R_LO }, NULL },
    [KN_P_RY]           = { "ry", K_NUM, { 0, 0, R_LO }, NULL },
    [KN_P_X1]           = { "x1", K_NUM, { 0, 0, 0 }, NULL },
    [KN_P_Y1]           = { "y1", K_NUM, { 0, 0, 0 }, NULL },
    [KN_P_X2]           = { "x2", K_NUM, { 0, 0, 0 }, NULL },
    [KN_P_Y2]           = { "y2", K_NUM, { 0, 0, 0 }, NULL },
    [KN_P_POINTS]       = { "points", K_POINTS, { 0, 0, 0 }, NULL },
    [KN_P_TEXT]         = { "text", K_TEXT, { 0, 0, 0 }, NULL },
    [KN_P_FONT]         = { "font", K_FONT, { 0, 0, 0 }, NULL },
    [KN_P_SIZE]         = { "size", K_NUM, { 0, 0, R_LO | R_LO_OPEN }, NULL },
    [KN_P_ALIGN]        = { "align", K_ENUM, { 0, 0, 0 }, ALIGNS },
    [KN_P_BASELINE]     = { "baseline", K_ENUM, { 0, 0, 0 }, BASELINES },
    [KN_P_TITLE]        = { "title", K_TEXT, { 0, 0, 0 }, NULL },
    [KN_P_XLABEL]       = { "xlabel", K_TEXT, { 0, 0, 0 }, NULL },
    [KN_P_YLABEL]       = { "ylabel", K_TEXT, { 0, 0, 0 }, NULL },
    [KN_P_XLIM]         = { "xlim", K_LIM, { 0, 0, 0 }, NULL },
    [KN_P_YLIM]         = { "ylim", K_LIM, { 0, 0, 0 }, NULL },
    [KN_P_XSCALE]       = { "xscale", K_ENUM, { 0, 0, 0 }, SCALES },
    [KN_P_YSCALE]       = { "yscale", K_ENUM, { 0, 0, 0 }, SCALES },
    [KN_P_GRID]         = { "grid", K_BOOL, { 0, 0, 0 }, NULL },
    [KN_P_LEGEND]       = { "legend", K_ENUM, { 0, 0, 0 }, LEGENDS },
    [KN_P_STYLE]        = { "style", K_ENUM, { 0, 0, 0 }, STYLES },
    [D_VNUM]            = { "number var", K_NUM, { 0, 0, 0 }, NULL },
    [D_VBOOL]           = { "boolean var", K_BOOL, { 0, 0, 0 }, NULL },
    [D_VCOLOR]          = { "colour var", K_COLOR, { 0, 0, 0 }, NULL },
    [D_VSTR]            = { "string var", K_VSTR, { 0, 0, 0 }, NULL },
    [D_VARR]            = { "array var", K_VARR, { 0, 0, 0 }, NULL },
    [D_SARR]            = { "series data", K_VARR, { 0, 0, 0 }, NULL },
    [D_SCOLOR]          = { "series colour", K_COLOR, { 0, 0, 0 }, NULL },
    [D_SWIDTH]          = { "series width", K_NUM, { 0, 0, R_LO }, NULL },
    [D_SGRID]           = { "heatmap data", K_GRID, { 0, 0, 0 }, NULL },
};

double doc_empty[1];

int doc_is_linspace(const json_t *j)
{
    return json_is_object(j) && json_object_get(j, "linspace") != NULL;
}

static int fail_linspace(parser *p)
{
    return doc_fail(p, KN_EINVAL, "{\"linspace\": ...} makes an array of numbers; this field "
                    "takes a pair [x, y]");
}

/* {"linspace": [start, stop, count]}: count numbers from start to stop,
 * both included (numpy's default), checked against r at both ends (the
 * values are monotonic, so the ends bound them). */
static int parse_linspace(parser *p, const json_t *j, const nrange *r, kn_value *out)
{
    static const char *const KEYS[] = { "linspace", NULL };
    static const nrange RCOUNT = { 1, KN_DOC_MAX_ARRAY, R_LO | R_HI | R_INT };
    int rc;
    if ((rc = doc_check_keys(p, j, KEYS))) return rc;
    const json_t *a = json_object_get(j, "linspace");
    size_t old = doc_push_key(p, "linspace");
    if (!json_is_array(a) || json_array_size(a) != 3) {
        rc = doc_fail(p, KN_EINVAL, "expected [start, stop, count], got %s", doc_jdesc(a));
        doc_pop(p, old);
        return rc;
    }
    double v[3];
    for (size_t i = 0; i < 3 && !rc; i++) {
        size_t o2 = doc_push_idx(p, i);
        rc = doc_get_num(p, json_array_get(a, i), i == 2 ? &RCOUNT : r, &v[i]);
        doc_pop(p, o2);
    }
    doc_pop(p, old);
    if (rc) return rc;
    size_t n = (size_t)v[2];
    double *arr = doc_palloc(p, n, sizeof *arr);
    if (!arr) return p->err->code;
    for (size_t i = 0; i < n; i++)
        arr[i] = n == 1 ? v[0] : v[0] + (v[1] - v[0]) * (double)i / (double)(n - 1);
    if (n > 1) arr[n - 1] = v[1];
    out->type = KN_VT_ARRAY;
    out->arr = arr;
    out->n = n;
    return KN_OK;
}

/* ---- values ----------------------------------------------------------- */

int doc_parse_num_array(parser *p, const json_t *j, const nrange *r, kn_value *out)
{
    if (doc_is_linspace(j)) return parse_linspace(p, j, r, out);
    if (!json_is_array(j))
        return doc_fail(p, KN_EINVAL, "expected an array of numbers, got %s", doc_jdesc(j));
    size_t n = json_array_size(j);
    if (n > KN_DOC_MAX_ARRAY)
        return doc_fail(p, KN_ETOOBIG, "the array has %zu numbers, more than the %d allowed", n,
                        KN_DOC_MAX_ARRAY);
    double *a = n ? doc_palloc(p, n, sizeof *a) : doc_empty;
    if (!a) return p->err->code;
    for (size_t i = 0; i < n; i++) {
        int rc = get_num_at(p, j, i, r, &a[i]);
        if (rc) return rc;
    }
    out->type = KN_VT_ARRAY;
    out->arr = a;
    out->n = n;
    return KN_OK;
}

int doc_parse_xy(parser *p, const json_t *j, const char *what, double *xy)
{
    if (doc_is_linspace(j)) return fail_linspace(p);
    if (!json_is_array(j) || json_array_size(j) != 2)
        return doc_fail(p, KN_EINVAL, "expected %s, got %s%s", what, doc_jdesc(j),
                        json_is_array(j) ? " of another length" : "");
    for (size_t i = 0; i < 2; i++) {
        int rc = get_num_at(p, j, i, &R_ANY, &xy[i]);
        if (rc) return rc;
    }
    return KN_OK;
}

/* ---- computed values --------------------------------------------------- */

static void destroy_expr(void *e) { kn_expr_destroy(e); }
static void destroy_template(void *t) { kn_template_destroy(t); }

/* A compile error fails the parse at the current pointer, with the column
 * counted in the field's string. */
int doc_compile_owned(parser *p, const char *src, int is_text, kn_expr **e, kn_template **t)
{
    int col = 0, rc;
    kn_err cerr;
    kn_expr_names names = { p->names, p->nnames };
    kn_err_clear(&cerr);
    if (is_text)
        rc = kn_template_compile(src, &names, t, &col, &cerr);
    else
        rc = kn_expr_compile(src, &names, e, &col, &cerr);
    if (rc != KN_OK) {
        if (is_text)
            return doc_fail(p, rc, "text template: %s", cerr.msg);
        /* The expression's columns count from after '='; the field's
         * string starts one earlier. */
        char ex[64];
        return doc_fail(p, rc, "expression \"=%s\": %s (column %d of the string)",
                        kn_err_excerpt(src, ex, sizeof ex), cerr.msg, col + 1);
    }
    void **slot = doc_defer(p, is_text ? destroy_template : destroy_expr);
    if (!slot) {
        if (is_text) kn_template_destroy(*t), *t = NULL;
        else kn_expr_destroy(*e), *e = NULL;
        return p->err->code;
    }
    *slot = is_text ? (void *)*t : (void *)*e;
    /* The doc owns it now; what it holds lives outside the arena, so it is
     * charged like decoded pixels (a short template holds a few KiB). */
    return doc_charge(p, is_text ? kn_template_bytes(*t) : kn_expr_bytes(*e));
}

/* Compiles "=expr" (src without the '=') or a text template for slot and
 * records it as a calc. The doc owns the compiled object. Errors point at
 * the field being parsed and give the column within its string. */
int doc_add_calc(parser *p, kn_calc_kind kind, int slot, int is_var, const char *src)
{
    kn_expr *e = NULL;
    kn_template *t = NULL;
    int rc = doc_compile_owned(p, src, kind == KN_CALC_TEXT, &e, &t);
    if (rc != KN_OK) return rc;
    if (t) {
        /* Rendered per frame into KN_TEMPLATE_MAX_OUT bytes, so the longest
         * text it can lay out is the shorter of the two. */
        size_t most = kn_template_max_len(t);
        if (most > KN_TEMPLATE_MAX_OUT - 1) most = KN_TEMPLATE_MAX_OUT - 1;
        if ((rc = doc_charge_text(p, slot, most))) return rc;
    }
    if (p->ncalcs == p->cap_calcs) {
        size_t ncap = p->cap_calcs ? 2 * p->cap_calcs : 16;
        kn_calc *nc = realloc(p->calcs, ncap * sizeof *nc);
        if (!nc) return doc_fail(p, KN_ENOMEM, "out of memory");
        p->calcs = nc;
        p->cap_calcs = ncap;
    }
    p->calcs[p->ncalcs++] = (kn_calc){ .kind = kind, .slot = slot, .src = -1, .expr = e,
                                       .tmpl = t, .is_var = is_var };
    if (!is_var) p->ecalc[slot] = 1;
    return KN_OK;
}

int doc_is_expr_string(const json_t *j)
{
    return json_is_string(j) && json_string_value(j)[0] == '=';
}

static int parse_points(parser *p, const json_t *j, kn_value *out)
{
    static const char *const XY[] = { "x", "y", NULL };
    double *a;
    size_t n;
    int rc;

    if (doc_is_linspace(j)) return fail_linspace(p);
    if (json_is_array(j)) {
        n = json_array_size(j);
        if (n > KN_DOC_MAX_ARRAY / 2)
            return doc_fail(p, KN_ETOOBIG, "%zu points are more than the %d allowed", n,
                            KN_DOC_MAX_ARRAY / 2);
        a = n ? doc_palloc(p, n, 2 * sizeof *a) : doc_empty;
        if (!a) return p->err->code;
        for (size_t i = 0; i < n; i++) {
            const json_t *pt = json_array_get(j, i);
            const json_t *px = json_array_get(pt, 0), *py = json_array_get(pt, 1);
            if (json_array_size(pt) == 2 && json_is_number(px) && json_is_number(py) &&
                isfinite(json_number_value(px)) && isfinite(json_number_value(py))) {
                a[2 * i] = json_number_value(px);   /* the common case, no pointer */
                a[2 * i + 1] = json_number_value(py);
                continue;
            }
            size_t old = doc_push_idx(p, i);
            rc = doc_parse_xy(p, pt, "a point [x, y]", &a[2 * i]);
            doc_pop(p, old);
            if (rc) return rc;
        }
    } else if (json_is_object(j)) {
        if ((rc = doc_check_keys(p, j, XY))) return rc;
        const json_t *c[2] = { json_object_get(j, "x"), json_object_get(j, "y") };
        kn_value col[2];
        memset(col, 0, sizeof col);
        int ex[2] = { 0, 0 };
        for (int k = 0; k < 2; k++) {
            size_t old = doc_push_key(p, XY[k]);
            if (!c[k])
                rc = doc_fail(p, KN_EINVAL, "missing field \"%s\": points given as {\"x\": [...], "
                              "\"y\": [...]} need both", XY[k]);
            else if (doc_is_expr_string(c[k]) && p->calc_slot < 0)
                rc = doc_fail(p, KN_EINVAL, "expressions are computed per frame for an element's "
                              "own fields; here give the numbers (animate a var the element's "
                              "expression uses instead)");
            else if (doc_is_expr_string(c[k]))
                ex[k] = 1;
            else
                rc = doc_parse_num_array(p, c[k], &R_ANY, &col[k]);
            doc_pop(p, old);
            if (rc) return rc;
        }
        if (ex[0] && ex[1]) {
            size_t old = doc_push_key(p, "x");
            rc = doc_fail(p, KN_EINVAL, "\"x\" and \"y\" cannot both be expressions: give \"x\" as "
                          "an array or {\"linspace\": [start, stop, count]} so the number of "
                          "points is known");
            doc_pop(p, old);
            return rc;
        }
        n = ex[0] ? col[1].n : col[0].n;
        if (!ex[0] && !ex[1] && col[1].n != n) {
            size_t old = doc_push_key(p, "y");
            rc = doc_fail(p, KN_EINVAL, "\"x\" has %zu numbers and \"y\" has %zu: they must have "
                          "the same length", n, col[1].n);
            doc_pop(p, old);
            return rc;
        }
        if (n > KN_DOC_MAX_ARRAY / 2)
            return doc_fail(p, KN_ETOOBIG, "%zu points are more than the %d allowed", n,
                            KN_DOC_MAX_ARRAY / 2);
        a = n ? doc_palloc(p, n, 2 * sizeof *a) : doc_empty;
        if (!a) return p->err->code;
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < n; i++) a[2 * i + (size_t)k] = ex[k] ? 0 : col[k].arr[i];
        for (int k = 0; k < 2; k++) {
            if (!ex[k]) continue;
            size_t old = doc_push_key(p, XY[k]);
            rc = doc_add_calc(p, k ? KN_CALC_POINTS_Y : KN_CALC_POINTS_X, p->calc_slot, 0,
                              json_string_value(c[k]) + 1);
            doc_pop(p, old);
            if (rc) return rc;
        }
    } else {
        return doc_fail(p, KN_EINVAL, "expected points: [[x, y], ...] or {\"x\": [...], \"y\": "
                        "[...]}, got %s", doc_jdesc(j));
    }
    out->type = KN_VT_ARRAY;
    out->arr = a;
    out->n = 2 * n;
    return KN_OK;
}

static const char COLOR_FORMS[] = "\"#rrggbb\", \"#rgb\", \"#rrggbbaa\", \"rgb(r,g,b)\", "
                                  "\"rgba(r,g,b,a)\", a CSS name or \"none\"";

/* {"linear": [x0, y0, x1, y1] | "radial": [cx, cy, r], "stops": [[offset,
 * colour], ...]}: an element's own fill or stroke, into the arena. */
static int parse_gradient(parser *p, const json_t *j, const kn_gradient **out)
{
    static const char *const KEYS[] = { "linear", "radial", "stops", NULL };
    static const nrange RC = { -KN_DOC_GRAD_COORD_MAX, KN_DOC_GRAD_COORD_MAX, R_LO | R_HI };
    static const nrange RR = { 0, KN_DOC_GRAD_COORD_MAX, R_LO | R_LO_OPEN | R_HI };
    static const nrange ROFF = { 0, 1, R_LO | R_HI };
    int rc;
    size_t old;
    if ((rc = doc_check_keys(p, j, KEYS))) return rc;
    const json_t *jl = json_object_get(j, "linear"), *jr = json_object_get(j, "radial");
    if (jl && jr) {
        old = doc_push_key(p, "radial");
        rc = doc_fail(p, KN_EINVAL, "a gradient is either \"linear\" or \"radial\", not both");
        doc_pop(p, old);
        return rc;
    }
    if (!jl && !jr)
        return doc_fail(p, KN_EINVAL, "a gradient needs \"linear\": [x0, y0, x1, y1] or "
                        "\"radial\": [cx, cy, r] besides its \"stops\"");
    kn_gradient *g = doc_palloc(p, 1, sizeof *g);
    if (!g) return p->err->code;
    g->type = jl ? KN_GRAD_LINEAR : KN_GRAD_RADIAL;
    const json_t *jc = jl ? jl : jr;
    size_t nc = jl ? 4 : 3;
    old = doc_push_key(p, jl ? "linear" : "radial");
    if (!json_is_array(jc) || json_array_size(jc) != nc)
        rc = doc_fail(p, KN_EINVAL, "expected %s, got %s%s",
                      jl ? "[x0, y0, x1, y1]" : "[cx, cy, r] with r > 0", doc_jdesc(jc),
                      json_is_array(jc) ? " of another length" : "");
    for (size_t i = 0; i < nc && !rc; i++) {
        size_t o2 = doc_push_idx(p, i);
        rc = doc_get_num(p, json_array_get(jc, i), jr && i == 2 ? &RR : &RC, &g->coord[i]);
        doc_pop(p, o2);
    }
    doc_pop(p, old);
    if (rc) return rc;

    const json_t *js = json_object_get(j, "stops");
    size_t n = json_is_array(js) ? json_array_size(js) : 0;
    old = doc_push_key(p, "stops");
    if (!js)
        rc = doc_fail(p, KN_EINVAL, "missing field \"stops\": a gradient needs [[offset, colour], "
                      "...], e.g. [[0, \"#f00\"], [1, \"#00f\"]]");
    else if (!n)
        rc = doc_fail(p, KN_EINVAL, "expected an array of at least one stop [offset, colour], got "
                      "%s", json_is_array(js) ? "an empty array" : doc_jdesc(js));
    else if (n > KN_DOC_MAX_STOPS)
        rc = doc_fail(p, KN_EINVAL, "%zu stops are more than the %d allowed", n, KN_DOC_MAX_STOPS);
    kn_grad_stop *st = rc ? NULL : doc_palloc(p, n, sizeof *st);
    if (!rc && !st) rc = p->err->code;
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *e = json_array_get(js, i);
        size_t o2 = doc_push_idx(p, i);
        if (!json_is_array(e) || json_array_size(e) != 2) {
            rc = doc_fail(p, KN_EINVAL, "expected a stop [offset, colour] with offset from 0 to 1, "
                          "got %s%s", doc_jdesc(e), json_is_array(e) ? " of another length" : "");
        } else {
            size_t o3 = doc_push_idx(p, 0);
            rc = doc_get_num(p, json_array_get(e, 0), &ROFF, &st[i].offset);
            if (!rc && i && st[i].offset < st[i - 1].offset)
                rc = doc_fail(p, KN_EINVAL, "stop offsets must not decrease: %g comes after %g",
                              st[i].offset, st[i - 1].offset);
            doc_pop(p, o3);
            const json_t *jcol = json_array_get(e, 1);
            o3 = doc_push_idx(p, 1);
            if (!rc && !json_is_string(jcol))
                rc = doc_fail(p, KN_EINVAL, "expected a colour (%s), got %s", COLOR_FORMS,
                              doc_jdesc(jcol));
            else if (!rc)
                rc = kn_color_parse(json_string_value(jcol), &st[i].color, p->path, p->err);
            doc_pop(p, o3);
        }
        doc_pop(p, o2);
    }
    doc_pop(p, old);
    if (rc) return rc;
    g->stops = st;
    g->nstops = n;
    *out = g;
    return KN_OK;
}

/* Heatmap data: a 2-D array of numbers [[row0...], [row1...]] with rows of
 * one length, flattened row by row; a flat array is taken as it is (per-frame
 * data, whose shape the series fixed). */
int doc_parse_grid(parser *p, const json_t *j, kn_value *out, size_t *rows, size_t *cols)
{
    if (!json_is_array(j) || !json_array_size(j) || !json_is_array(json_array_get(j, 0))) {
        if (rows) return doc_fail(p, KN_EINVAL, "expected a 2-D array of numbers [[...], [...]], "
                                  "got %s", doc_jdesc(j));
        return doc_parse_num_array(p, j, &R_ANY, out);
    }
    size_t nr = json_array_size(j), nc = json_array_size(json_array_get(j, 0));
    if (!nc) {
        size_t old = doc_push_idx(p, 0);
        int rc = doc_fail(p, KN_EINVAL, "a heatmap row needs at least one number");
        doc_pop(p, old);
        return rc;
    }
    if (nr > KN_DOC_MAX_ARRAY / nc)
        return doc_fail(p, KN_ETOOBIG, "%zu x %zu numbers are more than the %d allowed", nr, nc,
                        KN_DOC_MAX_ARRAY);
    double *a = doc_palloc(p, nr * nc, sizeof *a);
    if (!a) return p->err->code;
    for (size_t r = 0; r < nr; r++) {
        const json_t *row = json_array_get(j, r);
        size_t old = doc_push_idx(p, r);
        int rc = KN_OK;
        if (!json_is_array(row) || json_array_size(row) != nc)
            rc = doc_fail(p, KN_EINVAL, "expected a row of %zu numbers like row 0, got %s%s", nc,
                          doc_jdesc(row), json_is_array(row) ? " of another length" : "");
        for (size_t c = 0; c < nc && !rc; c++) {
            size_t o2 = doc_push_idx(p, c);
            rc = doc_get_num(p, json_array_get(row, c), &R_ANY, &a[r * nc + c]);
            doc_pop(p, o2);
        }
        doc_pop(p, old);
        if (rc) return rc;
    }
    out->type = KN_VT_ARRAY;
    out->arr = a;
    out->n = nr * nc;
    if (rows) *rows = nr;
    if (cols) *cols = nc;
    return KN_OK;
}

/* An element's own array field (origin, a scale pair, dash) whose entries
 * may mix numbers and "=expr" strings: each expression becomes a calc for
 * its entry. want is the required length (0 = any). Returns 1 when j had
 * an expression entry and was handled (rc in *rc), else 0 (parse it the
 * ordinary way). */
static int parse_expr_array(parser *p, const json_t *j, size_t want, const nrange *r,
                            kn_value *out, int *rc)
{
    if (p->calc_slot < 0 || !json_is_array(j)) return 0;
    size_t n = json_array_size(j);
    int any = 0;
    for (size_t i = 0; i < n; i++) any |= doc_is_expr_string(json_array_get(j, i));
    if (!any || (want && n != want)) return 0;
    double *a = doc_palloc(p, n, sizeof *a);
    if (!a) {
        *rc = p->err->code;
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(j, i);
        size_t old = doc_push_idx(p, i);
        a[i] = 0;
        if (doc_is_expr_string(e)) {
            *rc = doc_add_calc(p, KN_CALC_ELEM, p->calc_slot, 0, json_string_value(e) + 1);
            if (!*rc) p->calcs[p->ncalcs - 1].index = i;
        } else {
            *rc = doc_get_num(p, e, r, &a[i]);
        }
        doc_pop(p, old);
        if (*rc) return 1;
    }
    *out = (kn_value){ .type = KN_VT_ARRAY, .arr = a, .n = n };
    *rc = KN_OK;
    return 1;
}

/* *v becomes the 2-number array {xy[0], xy[1]}, allocated in the doc. */
static int pair_value(parser *p, const double xy[2], kn_value *v)
{
    double *a = doc_palloc(p, 2, sizeof *a);
    if (!a) return p->err->code;
    a[0] = xy[0];
    a[1] = xy[1];
    v->type = KN_VT_ARRAY;
    v->arr = a;
    v->n = 2;
    return KN_OK;
}

/* Parses j as a value of kind d into *out (strings and arrays in the arena). */
int doc_parse_value(parser *p, const json_t *j, const pdesc *d, kn_value *out)
{
    kn_value v;
    int rc;
    memset(&v, 0, sizeof v);

    switch (d->kind) {
    case K_NUM:
        if (doc_is_expr_string(j) && p->calc_slot >= 0) {
            rc = doc_add_calc(p, KN_CALC_NUM, p->calc_slot, 0, json_string_value(j) + 1);
            if (rc) return rc;
            v.num = 0;   /* computed every frame */
        } else if ((rc = doc_get_num(p, j, &d->range, &v.num))) {
            return rc;
        }
        v.type = KN_VT_NUM;
        break;
    case K_BOOL:
        if (!json_is_boolean(j))
            return doc_fail(p, KN_EINVAL, "expected true or false, got %s", doc_jdesc(j));
        v.type = KN_VT_BOOL;
        v.num = json_is_true(j) ? 1 : 0;
        break;
    case K_COLOR:
        /* An element's own fill or stroke (the only colours parsed with a
         * calc_slot) may be a gradient; the slot then holds "none". */
        if (json_is_object(j) && p->calc_slot >= 0) {
            if ((rc = parse_gradient(p, j, &p->grad))) return rc;
            v.type = KN_VT_COLOR;
            break;
        }
        if (json_is_object(j) && (json_object_get(j, "linear") || json_object_get(j, "radial") ||
                                  json_object_get(j, "stops")))
            return doc_fail(p, KN_EINVAL, "gradients cannot be animated; animate the element's "
                            "opacity or use colours");
        if (!json_is_string(j))
            return doc_fail(p, KN_EINVAL, "expected a colour (\"#rrggbb\", \"#rgb\", "
                            "\"#rrggbbaa\", \"rgb(r,g,b)\", \"rgba(r,g,b,a)\", a CSS name or "
                            "\"none\"), got %s", doc_jdesc(j));
        if ((rc = kn_color_parse(json_string_value(j), &v.color, p->path, p->err))) return rc;
        v.type = KN_VT_COLOR;
        break;
    case K_ENUM: {
        char list[96];
        size_t n = 0;
        list[0] = '\0';
        for (const char *const *e = d->enums; *e; e++) {
            if (json_is_string(j) && strcmp(*e, json_string_value(j)) == 0) {
                v.type = KN_VT_STR;
                v.str = *e;    /* static storage */
                break;
            }
            int w = snprintf(list + n, sizeof list - n, "%s%s", e == d->enums ? "" : ", ", *e);
            if (w > 0 && (size_t)w < sizeof list - n) n += (size_t)w;
        }
        if (v.type == KN_VT_STR) break;
        if (json_is_string(j))
            return doc_fail(p, KN_EINVAL, "expected one of %s, got \"%.64s\"", list,
                            json_string_value(j));
        return doc_fail(p, KN_EINVAL, "expected one of %s, got %s", list, doc_jdesc(j));
    }
    case K_TEXT:
    case K_FONT:
    case K_VSTR: {
        if (!json_is_string(j))
            return doc_fail(p, KN_EINVAL, "expected a string, got %s", doc_jdesc(j));
        const char *s = json_string_value(j);
        size_t len = json_string_length(j);
        if (d->kind == K_TEXT && len > KN_DOC_MAX_TEXT)
            return doc_fail(p, KN_ETOOBIG, "a text of %zu bytes is longer than the limit of %zu "
                            "bytes: split it over several text elements or frames", len,
                            KN_DOC_MAX_TEXT);
        if (d->kind == K_FONT && len > KN_DOC_MAX_FONT)
            return doc_fail(p, KN_ETOOBIG, "a font description of %zu bytes is longer than the "
                            "limit of %d bytes", len, KN_DOC_MAX_FONT);
        if (d->kind == K_TEXT && (strchr(s, '{') || strchr(s, '}'))) {
            if (p->calc_slot < 0)
                return doc_fail(p, KN_EINVAL, "text templates are computed per frame for an "
                                "element's own text; here give plain text (\"{{\" and \"}}\" "
                                "are not needed outside templates)");
            if ((rc = doc_add_calc(p, KN_CALC_TEXT, p->calc_slot, 0, s))) return rc;
            v.type = KN_VT_STR;
            v.str = "";
            break;
        }
        if (d->kind == K_FONT && !*s)
            return doc_fail(p, KN_EINVAL, "expected a font name such as \"DejaVu Sans Bold\", got "
                            "an empty string");
        if (d->kind == K_VSTR && s[0] == '=')
            return doc_fail(p, KN_EINVAL, "expressions (strings starting with \"=\") are not "
                            "supported yet");
        /* An element's own text; timeline and frame values are charged
         * by their targets (doc/timeline.c), which know the slot. */
        if (d->kind == K_TEXT && p->calc_slot >= 0 && (rc = doc_charge_text(p, p->calc_slot, len)))
            return rc;
        if (!(v.str = doc_pstrdup(p, s))) return p->err->code;
        v.type = KN_VT_STR;
        break;
    }
    case K_SCALE: {
        double s[2];
        if (json_is_number(j)) {
            if ((rc = doc_get_num(p, j, &R_ANY, &s[0]))) return rc;
            s[1] = s[0];
        } else if (parse_expr_array(p, j, 2, &R_ANY, &v, &rc)) {
            if (rc) return rc;
            break;
        } else if (json_is_array(j) && json_array_size(j) == 2) {
            if ((rc = doc_parse_xy(p, j, "[sx, sy]", s))) return rc;
        } else if (doc_is_expr_string(j) && p->calc_slot >= 0) {
            /* A uniform scale computed every frame. */
            rc = doc_add_calc(p, KN_CALC_SCALE, p->calc_slot, 0, json_string_value(j) + 1);
            if (rc) return rc;
            s[0] = s[1] = 1;
        } else if (json_is_string(j) && json_string_value(j)[0] == '=') {
            return doc_get_num(p, j, &R_ANY, &s[0]);
        } else {
            return doc_fail(p, KN_EINVAL, "expected a number or [sx, sy], got %s", doc_jdesc(j));
        }
        if ((rc = pair_value(p, s, &v))) return rc;
        break;
    }
    case K_ORIGIN: {
        double xy[2];
        if (parse_expr_array(p, j, 2, &R_ANY, &v, &rc)) {
            if (rc) return rc;
            break;
        }
        if ((rc = doc_parse_xy(p, j, "[x, y]", xy))) return rc;
        if ((rc = pair_value(p, xy, &v))) return rc;
        break;
    }
    case K_DASH: {
        /* Computed dash lengths are not checked here; the drawing code
         * draws a solid line for a dash it cannot use. */
        if (parse_expr_array(p, j, 0, &R_NONNEG, &v, &rc)) {
            if (rc) return rc;
            break;
        }
        if ((rc = doc_parse_num_array(p, j, &R_NONNEG, &v))) return rc;
        int any = 0;
        for (size_t i = 0; i < v.n; i++) any |= v.arr[i] > 0;
        if (v.n && !any)
            return doc_fail(p, KN_EINVAL, "dash lengths are all 0: give at least one length > 0, "
                            "or [] for a solid line");
        break;
    }
    case K_POINTS:
        if ((rc = parse_points(p, j, &v))) return rc;
        break;
    case K_VARR:
        if ((rc = doc_parse_num_array(p, j, &R_ANY, &v))) return rc;
        break;
    case K_LIM:
        if (json_is_string(j) && !strcmp(json_string_value(j), "auto")) {
            v.type = KN_VT_ARRAY;
            v.arr = doc_empty;
            break;
        }
        if (!json_is_array(j) || json_array_size(j) != 2)
            return doc_fail(p, KN_EINVAL, "expected [lo, hi] or \"auto\", got %s%s", doc_jdesc(j),
                            json_is_array(j) ? " of another length" : "");
        if ((rc = doc_parse_num_array(p, j, &R_ANY, &v))) return rc;
        break;
    case K_GRID:
        if ((rc = doc_parse_grid(p, j, &v, NULL, NULL))) return rc;
        break;
    }
    *out = v;
    return KN_OK;
}

/* ---- integer fields --------------------------------------------------- */

int doc_get_int_field(parser *p, const json_t *obj, const char *key, int required,
                      const nrange *r, long *out, int *given)
{
    const json_t *j = json_object_get(obj, key);
    if (given) *given = j != NULL;
    if (!j) {
        if (!required) return KN_OK;
        char want[96];
        doc_range_text(r, want, sizeof want);
        size_t old = doc_push_key(p, key);
        int rc = doc_fail(p, KN_EINVAL, "missing field \"%s\" (%s)", key, want);
        doc_pop(p, old);
        return rc;
    }
    size_t old = doc_push_key(p, key);
    double v = 0;
    int rc = doc_get_num(p, j, r, &v);
    doc_pop(p, old);
    if (rc) return rc;
    *out = (long)v;
    return KN_OK;
}
