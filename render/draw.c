/*
 * render/draw.c - drawing one evaluated frame with Cairo and Pango.
 *
 * Coordinates are Cairo user space as is: origin top-left, y down, one unit
 * per pixel, so a shape at integer coordinates covers whole pixels and a
 * positive cairo_rotate angle turns clockwise on screen. Fills get no
 * half-pixel offsets and Cairo's default antialiasing is kept.
 *
 * Invariants:
 *  - cr's state is balanced after every element (cairo_save/restore around
 *    each one), so transforms, dashes and groups never leak between elements
 *    or frames.
 *  - Nothing that a document can animate into (zero scale, zero radii, all-
 *    zero or negative dashes, zero font size) is handed to Cairo in a form
 *    that would put cr into its sticky error state; such elements draw
 *    nothing. Should cr still end a frame in error, the frame fails with
 *    KN_ERENDER and the canvas rebuilds its cairo_t so the next frame starts
 *    clean.
 *  - Text is laid out with hint metrics off, no hinting and unrounded glyph
 *    positions, so text geometry does not depend on the transform or the
 *    resolution and is the same on every worker.
 */
#include "render/draw.h"
#include "lang/path.h"
#include "media/image.h"
#include "render/plot.h"
#include "render/stroke.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <hb-ot.h>
#include <pango/pangocairo.h>

#define FONT_CACHE 16
#define PNG_CAP ((size_t)256 << 20)
/* A canvas is a frame or a composition's frame, both within KN_FRAME_MAX_W x
 * KN_FRAME_MAX_H once the parser has checked the document. This bound is
 * not that limit but a guard on the Cairo surface for callers that skip the
 * parser (tests, fuzzers): square, and half Cairo's own 32767, so a bad
 * size fails here with a message instead of as a Cairo error status. */
#define CANVAS_MAX_SIDE 16384

typedef struct font_entry {
    char *key;                      /* the element's font string */
    PangoFontDescription *desc;     /* size set per use */
} font_entry;

/* What a canvas keeps to draw one composition element: the nested
 * document's state and a canvas of its size. Created on first use. */
typedef struct comp_cache {
    const struct kn_elem *el;
    kn_state *st;
    struct kn_canvas *cv;
} comp_cache;

struct kn_canvas {
    int width, height;
    cairo_surface_t *surf;
    cairo_t *cr;
    PangoLayout *layout;
    font_entry fonts[FONT_CACHE];
    unsigned font_next;             /* round-robin victim when full */

    /* The static prefix: background plus the leading elements that nothing
     * animates, drawn once and copied under every frame (see base_build). */
    struct comp_cache *comps;       /* one per composition element drawn */
    size_t ncomps;

    const kn_doc *base_doc;         /* doc the base was built for, or NULL */
    size_t base_count;              /* leading elements inside the base */
    uint8_t *base;                  /* height * stride bytes, or NULL */
};

/* ---- canvas ------------------------------------------------------------ */

static void context_free(kn_canvas *c)
{
    if (c->layout) g_object_unref(c->layout);
    c->layout = NULL;
    if (c->cr) cairo_destroy(c->cr);
    c->cr = NULL;
}

static int context_make(kn_canvas *c, kn_err *err)
{
    cairo_font_options_t *fo = NULL;
    int rc = KN_OK;

    c->cr = cairo_create(c->surf);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "cannot create a drawing context: %s",
                        cairo_status_to_string(cairo_status(c->cr)));
        goto out;
    }
    c->layout = pango_cairo_create_layout(c->cr);
    if (!c->layout) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "cannot create a text layout");
        goto out;
    }
    fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    if (cairo_font_options_status(fo) != CAIRO_STATUS_SUCCESS) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "cannot create font options");
        goto out;
    }
    PangoContext *pc = pango_layout_get_context(c->layout);
    pango_cairo_context_set_font_options(pc, fo);
    pango_context_set_round_glyph_positions(pc, FALSE);
    pango_layout_context_changed(c->layout);

out:
    if (fo) cairo_font_options_destroy(fo);
    if (rc != KN_OK) context_free(c);
    return rc;
}

int kn_canvas_create(int width, int height, kn_canvas **out, kn_err *err)
{
    kn_canvas *c = NULL;
    int rc = KN_OK;

    *out = NULL;
    if (width < 1 || height < 1 || width > CANVAS_MAX_SIDE || height > CANVAS_MAX_SIDE)
        return kn_err_set(err, KN_EINVAL, NULL,
                          "canvas size %dx%d is outside 1..%d", width, height, CANVAS_MAX_SIDE);
    c = calloc(1, sizeof *c);
    if (!c) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory for a canvas");
    c->width = width;
    c->height = height;
    c->surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    if (cairo_surface_status(c->surf) != CAIRO_STATUS_SUCCESS) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "cannot create a %dx%d image: %s",
                        width, height,
                        cairo_status_to_string(cairo_surface_status(c->surf)));
        goto out;
    }
    rc = context_make(c, err);

out:
    if (rc != KN_OK) {
        kn_canvas_destroy(c);
        return rc;
    }
    *out = c;
    return KN_OK;
}

void kn_canvas_destroy(kn_canvas *c)
{
    if (!c) return;
    context_free(c);
    for (int i = 0; i < FONT_CACHE; i++) {
        free(c->fonts[i].key);
        if (c->fonts[i].desc) pango_font_description_free(c->fonts[i].desc);
    }
    for (size_t i = 0; i < c->ncomps; i++) {
        kn_state_destroy(c->comps[i].st);
        kn_canvas_destroy(c->comps[i].cv);
    }
    free(c->comps);
    if (c->surf) cairo_surface_destroy(c->surf);
    free(c->base);
    free(c);
}

const uint8_t *kn_canvas_data(kn_canvas *c)
{
    cairo_surface_flush(c->surf);
    return cairo_image_surface_get_data(c->surf);
}

int kn_canvas_stride(const kn_canvas *c)
{
    return cairo_image_surface_get_stride(c->surf);
}

/* The cached description for a font string (size unset), or NULL when out
 * of memory. */
static PangoFontDescription *font_get(kn_canvas *c, const char *font)
{
    if (!font) font = "";
    for (int i = 0; i < FONT_CACHE; i++)
        if (c->fonts[i].key && strcmp(c->fonts[i].key, font) == 0) return c->fonts[i].desc;

    char *key = strdup(font);
    PangoFontDescription *d = pango_font_description_from_string(font);
    if (!key || !d) {
        free(key);
        if (d) pango_font_description_free(d);
        return NULL;
    }
    font_entry *e = &c->fonts[c->font_next];
    c->font_next = (c->font_next + 1) % FONT_CACHE;
    free(e->key);
    if (e->desc) pango_font_description_free(e->desc);
    e->key = key;
    e->desc = d;
    return d;
}

/* ---- reading an element's slots --------------------------------------- */

typedef struct ectx {
    kn_canvas *c;
    const kn_state *st;
    const kn_doc *doc;
} ectx;

static const kn_value *val(const ectx *x, const kn_elem *el, kn_prop p)
{
    int s = el->slot[p];
    return s >= 0 ? kn_state_get(x->st, s) : NULL;
}

static double num(const ectx *x, const kn_elem *el, kn_prop p, double def)
{
    const kn_value *v = val(x, el, p);
    return (v && (v->type == KN_VT_NUM || v->type == KN_VT_BOOL) && isfinite(v->num))
           ? v->num : def;
}

static kn_color color(const ectx *x, const kn_elem *el, kn_prop p)
{
    const kn_value *v = val(x, el, p);
    kn_color none = { 0, 0, 0, 0 };
    return (v && v->type == KN_VT_COLOR) ? v->color : none;
}

static const char *str(const ectx *x, const kn_elem *el, kn_prop p, const char *def)
{
    const kn_value *v = val(x, el, p);
    return (v && v->type == KN_VT_STR && v->str) ? v->str : def;
}

/* An array value of at least min numbers, or NULL. */
static const kn_value *arr(const ectx *x, const kn_elem *el, kn_prop p, size_t min)
{
    const kn_value *v = val(x, el, p);
    return (v && v->type == KN_VT_ARRAY && v->n >= min && (v->n == 0 || v->arr)) ? v : NULL;
}

static double clamp01(double v)
{
    return v > 0 ? (v < 1 ? v : 1) : 0;   /* NaN -> 0 */
}

/* ---- text --------------------------------------------------------------- */

/* Lays out a text element and returns where to move to before showing the
 * layout (top-left of the layout) and its logical box in user space.
 * Returns 0 when there is nothing to draw. */
static int text_layout(const ectx *x, const kn_elem *el, double *px, double *py,
                       double box[4])
{
    kn_canvas *c = x->c;
    const char *text = str(x, el, KN_P_TEXT, "");
    double size = num(x, el, KN_P_SIZE, 32);
    if (!text[0] || !(size > 0) || size > 1e5) return 0;

    PangoFontDescription *fd = font_get(c, str(x, el, KN_P_FONT, "DejaVu Sans"));
    if (!fd) return 0;
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);

    const char *align = str(x, el, KN_P_ALIGN, "left");
    const char *base = str(x, el, KN_P_BASELINE, "alphabetic");
    PangoAlignment pa = PANGO_ALIGN_LEFT;
    double fx = 0;                     /* fraction of the box width left of x */
    if (strcmp(align, "center") == 0) { pa = PANGO_ALIGN_CENTER; fx = 0.5; }
    else if (strcmp(align, "right") == 0) { pa = PANGO_ALIGN_RIGHT; fx = 1; }

    pango_cairo_update_layout(c->cr, c->layout);
    pango_layout_set_font_description(c->layout, fd);
    pango_layout_set_alignment(c->layout, pa);
    pango_layout_set_text(c->layout, text, -1);

    PangoRectangle lg;
    pango_layout_get_extents(c->layout, NULL, &lg);
    double lx = (double)lg.x / PANGO_SCALE, ly = (double)lg.y / PANGO_SCALE;
    double lw = (double)lg.width / PANGO_SCALE, lh = (double)lg.height / PANGO_SCALE;

    double ax = num(x, el, KN_P_X, 0), ay = num(x, el, KN_P_Y, 0);
    *px = ax - (lx + fx * lw);
    if (strcmp(base, "top") == 0)
        *py = ay - ly;
    else if (strcmp(base, "middle") == 0)
        *py = ay - (ly + lh / 2);
    else if (strcmp(base, "bottom") == 0)
        *py = ay - (ly + lh);
    else
        *py = ay - (double)pango_layout_get_baseline(c->layout) / PANGO_SCALE;
    box[0] = *px + lx;
    box[1] = *py + ly;
    box[2] = lw;
    box[3] = lh;
    return 1;
}

/* Whether any run of the layout uses a font with colour bitmap glyphs
 * (CBDT/sbix, e.g. Noto Color Emoji). */
static int layout_has_colour_bitmaps(PangoLayout *layout)
{
    int found = 0;
    PangoLayoutIter *it = pango_layout_get_iter(layout);
    if (!it) return 0;
    do {
        PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);
        if (!run || !run->item->analysis.font) continue;
        hb_font_t *hb = pango_font_get_hb_font(run->item->analysis.font);
        if (hb && hb_ot_color_has_png(hb_font_get_face(hb))) found = 1;
    } while (!found && pango_layout_iter_next_run(it));
    pango_layout_iter_free(it);
    return found;
}

/* Shows the layout with its top-left at (tx, ty) in cr's current source.
 * Cairo 1.16 paints colour bitmap glyphs (emoji) as they are, ignoring the
 * source's colour (wanted: emoji are not tinted) and also its alpha (not
 * wanted: opacity would not fade them). So a translucent solid fill over
 * such a layout is drawn opaque into a group clipped to the ink, and the
 * group painted with the alpha. Outline glyphs come out the same either
 * way (up to rounding). */
static void text_show(cairo_t *cr, PangoLayout *layout, double tx, double ty)
{
    double r, g, b, a;
    cairo_pattern_t *src = cairo_get_source(cr);
    if (cairo_pattern_get_type(src) != CAIRO_PATTERN_TYPE_SOLID ||
        cairo_pattern_get_rgba(src, &r, &g, &b, &a) != CAIRO_STATUS_SUCCESS || a >= 1 ||
        !layout_has_colour_bitmaps(layout)) {
        cairo_move_to(cr, tx, ty);
        pango_cairo_show_layout(cr, layout);
        return;
    }
    PangoRectangle ink;
    pango_layout_get_pixel_extents(layout, &ink, NULL);
    /* The caller may hold the text's outline for a stroke after this:
     * keep it across the clip rectangle. */
    cairo_path_t *outline = cairo_copy_path(cr);
    cairo_save(cr);
    cairo_new_path(cr);
    cairo_rectangle(cr, tx + ink.x - 2, ty + ink.y - 2, ink.width + 4, ink.height + 4);
    cairo_clip(cr);
    cairo_push_group(cr);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_move_to(cr, tx, ty);
    pango_cairo_show_layout(cr, layout);
    cairo_pop_group_to_source(cr);
    cairo_paint_with_alpha(cr, a);
    cairo_restore(cr);
    cairo_new_path(cr);
    if (outline->status == CAIRO_STATUS_SUCCESS) cairo_append_path(cr, outline);
    cairo_path_destroy(outline);
}

/* ---- shapes ------------------------------------------------------------- */


/* Whether cr's matrix composed with t is one Cairo can use. A scale of
 * 1e-200 (given, computed or nested) underflows the determinant to 0, one of
 * 1e200 overflows it, and either puts cr into its sticky error state, which
 * would fail the frame of a document that validated. Such an element is
 * scaled to nothing visible (or past anything drawable): it draws nothing,
 * like a scale of 0. */
static int transform_usable(cairo_t *cr, const cairo_matrix_t *t)
{
    cairo_matrix_t cur, m;
    cairo_get_matrix(cr, &cur);
    cairo_matrix_multiply(&m, t, &cur);
    double det = m.xx * m.yy - m.xy * m.yx;
    return isfinite(det) && fabs(det) > 1e-100 && fabs(det) < 1e100 &&
           isfinite(m.x0) && isfinite(m.y0);
}

/* cairo_translate(tx, ty) then cairo_scale(kx, ky), when the result is
 * usable; returns 0 and leaves cr alone otherwise. */
static int translate_scale(cairo_t *cr, double tx, double ty, double kx, double ky)
{
    cairo_matrix_t t;
    cairo_matrix_init_translate(&t, tx, ty);
    cairo_matrix_scale(&t, kx, ky);
    if (!transform_usable(cr, &t)) return 0;
    cairo_transform(cr, &t);
    return 1;
}

/* Appends the element's outline to cr's path. Returns 0 when the shape is
 * degenerate and draws nothing. */
static int shape_path(const ectx *x, const kn_elem *el, cairo_t *cr)
{
    switch (el->type) {
    case KN_E_RECT: {
        double rx = num(x, el, KN_P_X, 0), ry = num(x, el, KN_P_Y, 0);
        double w = num(x, el, KN_P_WIDTH, 0), h = num(x, el, KN_P_HEIGHT, 0);
        double r = num(x, el, KN_P_RADIUS, 0);
        if (w < 0) { rx += w; w = -w; }
        if (h < 0) { ry += h; h = -h; }
        double rmax = (w < h ? w : h) / 2;
        if (r > rmax) r = rmax;
        if (r > 0) {
            cairo_new_sub_path(cr);
            cairo_arc(cr, rx + w - r, ry + r, r, -M_PI / 2, 0);
            cairo_arc(cr, rx + w - r, ry + h - r, r, 0, M_PI / 2);
            cairo_arc(cr, rx + r, ry + h - r, r, M_PI / 2, M_PI);
            cairo_arc(cr, rx + r, ry + r, r, M_PI, 3 * M_PI / 2);
            cairo_close_path(cr);
        } else {
            cairo_rectangle(cr, rx, ry, w, h);
        }
        return 1;
    }
    case KN_E_CIRCLE: {
        double r = num(x, el, KN_P_R, 0);
        if (!(r > 0)) return 0;
        cairo_new_sub_path(cr);
        cairo_arc(cr, num(x, el, KN_P_CX, 0), num(x, el, KN_P_CY, 0), r, 0, 2 * M_PI);
        cairo_close_path(cr);
        return 1;
    }
    case KN_E_ELLIPSE: {
        double erx = num(x, el, KN_P_RX, 0), ery = num(x, el, KN_P_RY, 0);
        if (!(erx > 0) || !(ery > 0)) return 0;
        /* Scale only while building the path: the stroke uses the matrix in
         * force when stroking, so its width stays unscaled. */
        cairo_matrix_t m;
        cairo_get_matrix(cr, &m);
        if (!translate_scale(cr, num(x, el, KN_P_CX, 0), num(x, el, KN_P_CY, 0), erx, ery)) return 0;
        cairo_new_sub_path(cr);
        cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
        cairo_close_path(cr);
        cairo_set_matrix(cr, &m);
        return 1;
    }
    case KN_E_LINE:
        cairo_move_to(cr, num(x, el, KN_P_X1, 0), num(x, el, KN_P_Y1, 0));
        cairo_line_to(cr, num(x, el, KN_P_X2, 0), num(x, el, KN_P_Y2, 0));
        return 1;
    case KN_E_POLYLINE:
    case KN_E_POLYGON: {
        const kn_value *pts = arr(x, el, KN_P_POINTS, 2);
        if (!pts) return 0;
        size_t np = pts->n / 2;
        for (size_t i = 0; i < 2 * np; i++)
            if (!isfinite(pts->arr[i])) return 0;
        cairo_move_to(cr, pts->arr[0], pts->arr[1]);
        for (size_t i = 1; i < np; i++)
            cairo_line_to(cr, pts->arr[2 * i], pts->arr[2 * i + 1]);
        if (el->type == KN_E_POLYGON) cairo_close_path(cr);
        return 1;
    }
    case KN_E_PATH:
        /* Coordinates are bounded by the path parser, so this cannot put
         * cr into an error state. */
        kn_path_append(el->path, cr);
        return el->path && kn_path_count(el->path) > 0;
    default:
        return 0;
    }
}

/* The default rotation/scale origin: the centre of the shape (spec 3). */
static void shape_center(const ectx *x, const kn_elem *el, const double tbox[4],
                         double *ox, double *oy)
{
    *ox = *oy = 0;
    switch (el->type) {
    case KN_E_RECT:
        *ox = num(x, el, KN_P_X, 0) + num(x, el, KN_P_WIDTH, 0) / 2;
        *oy = num(x, el, KN_P_Y, 0) + num(x, el, KN_P_HEIGHT, 0) / 2;
        return;
    case KN_E_CIRCLE:
    case KN_E_ELLIPSE:
        *ox = num(x, el, KN_P_CX, 0);
        *oy = num(x, el, KN_P_CY, 0);
        return;
    case KN_E_LINE:
        *ox = (num(x, el, KN_P_X1, 0) + num(x, el, KN_P_X2, 0)) / 2;
        *oy = (num(x, el, KN_P_Y1, 0) + num(x, el, KN_P_Y2, 0)) / 2;
        return;
    case KN_E_POLYLINE:
    case KN_E_POLYGON: {
        const kn_value *pts = arr(x, el, KN_P_POINTS, 2);
        if (!pts) return;
        double x0 = pts->arr[0], x1 = x0, y0 = pts->arr[1], y1 = y0;
        for (size_t i = 1; i < pts->n / 2; i++) {
            double px = pts->arr[2 * i], py = pts->arr[2 * i + 1];
            if (px < x0) x0 = px;
            if (px > x1) x1 = px;
            if (py < y0) y0 = py;
            if (py > y1) y1 = py;
        }
        *ox = (x0 + x1) / 2;
        *oy = (y0 + y1) / 2;
        return;
    }
    case KN_E_TEXT:
        *ox = tbox[0] + tbox[2] / 2;
        *oy = tbox[1] + tbox[3] / 2;
        return;
    case KN_E_GROUP:
        *ox = num(x, el, KN_P_X, 0);
        *oy = num(x, el, KN_P_Y, 0);
        return;
    case KN_E_COMPOSITION:
    case KN_E_IMAGE:
    case KN_E_PLOT:
        *ox = num(x, el, KN_P_X, 0) + num(x, el, KN_P_WIDTH, 0) / 2;
        *oy = num(x, el, KN_P_Y, 0) + num(x, el, KN_P_HEIGHT, 0) / 2;
        return;
    case KN_E_PATH: {
        double b[4];
        if (kn_path_extents(el->path, b)) {
            *ox = (b[0] + b[2]) / 2;
            *oy = (b[1] + b[3]) / 2;
        }
        return;
    }
    default:
        return;
    }
}

/* Sets stroke parameters from the element. Returns 0 when there is no
 * visible stroke. */
static int stroke_setup(const ectx *x, const kn_elem *el, cairo_t *cr, kn_color *col)
{
    *col = color(x, el, KN_P_STROKE);
    double w = num(x, el, KN_P_STROKE_WIDTH, 1);
    if (!(col->a > 0 || el->grad[1]) || !(w > 0)) return 0;
    cairo_set_line_width(cr, w);

    const char *cap = str(x, el, KN_P_LINE_CAP, "butt");
    cairo_set_line_cap(cr, strcmp(cap, "round") == 0 ? CAIRO_LINE_CAP_ROUND
                           : strcmp(cap, "square") == 0 ? CAIRO_LINE_CAP_SQUARE
                           : CAIRO_LINE_CAP_BUTT);
    const char *join = str(x, el, KN_P_LINE_JOIN, "miter");
    cairo_set_line_join(cr, strcmp(join, "round") == 0 ? CAIRO_LINE_JOIN_ROUND
                            : strcmp(join, "bevel") == 0 ? CAIRO_LINE_JOIN_BEVEL
                            : CAIRO_LINE_JOIN_MITER);

    /* Cairo errors (stickily) on a negative or all-zero dash: draw solid. */
    const kn_value *d = arr(x, el, KN_P_DASH, 1);
    if (d) {
        int ok = 0;
        for (size_t i = 0; i < d->n; i++) {
            if (!(d->arr[i] >= 0) || !isfinite(d->arr[i])) { ok = 0; break; }
            if (d->arr[i] > 0) ok = 1;
        }
        if (ok && d->n <= INT_MAX) cairo_set_dash(cr, d->arr, (int)d->n, 0);
    }
    return 1;
}

/* Clips to the device-space pixel box around the current path's paint, so a
 * pushed group allocates only what the shape covers. */
static void clip_to_path_box(cairo_t *cr, int stroked)
{
    double x0, y0, x1, y1;
    if (stroked)
        cairo_stroke_extents(cr, &x0, &y0, &x1, &y1);
    else
        cairo_fill_extents(cr, &x0, &y0, &x1, &y1);
    if (stroked) {
        double fx0, fy0, fx1, fy1;
        cairo_fill_extents(cr, &fx0, &fy0, &fx1, &fy1);
        if (fx0 < x0) x0 = fx0;
        if (fy0 < y0) y0 = fy0;
        if (fx1 > x1) x1 = fx1;
        if (fy1 > y1) y1 = fy1;
    }
    double xs[4] = { x0, x1, x1, x0 }, ys[4] = { y0, y0, y1, y1 };
    double dx0 = INFINITY, dy0 = INFINITY, dx1 = -INFINITY, dy1 = -INFINITY;
    for (int i = 0; i < 4; i++) {
        cairo_user_to_device(cr, &xs[i], &ys[i]);
        if (xs[i] < dx0) dx0 = xs[i];
        if (xs[i] > dx1) dx1 = xs[i];
        if (ys[i] < dy0) dy0 = ys[i];
        if (ys[i] > dy1) dy1 = ys[i];
    }
    cairo_path_t *path = cairo_copy_path(cr);
    cairo_matrix_t m;
    cairo_get_matrix(cr, &m);
    cairo_identity_matrix(cr);
    cairo_new_path(cr);
    cairo_rectangle(cr, floor(dx0) - 1, floor(dy0) - 1,
                    ceil(dx1) - floor(dx0) + 2, ceil(dy1) - floor(dy0) + 2);
    cairo_clip(cr);
    cairo_set_matrix(cr, &m);
    if (path->status == CAIRO_STATUS_SUCCESS) cairo_append_path(cr, path);
    cairo_path_destroy(path);
}

/* ---- gradients and images ------------------------------------------------ */

/* A pattern for gradient g with every stop's alpha times alpha, or NULL
 * when Cairo cannot make one (setting a pattern in error as the source
 * would put cr into its error state). Its coordinates are read in the user
 * space in force when it is set as the source: the element's own. */
static cairo_pattern_t *grad_pattern(const kn_gradient *g, double alpha)
{
    const double *c = g->coord;
    const kn_grad_stop *last = &g->stops[g->nstops - 1];
    cairo_pattern_t *pat;
    if (g->type == KN_GRAD_LINEAR && c[0] == c[2] && c[1] == c[3])
        /* SVG: a vector of length 0 paints the last stop's colour. */
        pat = cairo_pattern_create_rgba(last->color.r, last->color.g, last->color.b,
                                        last->color.a * alpha);
    else if (g->type == KN_GRAD_LINEAR)
        pat = cairo_pattern_create_linear(c[0], c[1], c[2], c[3]);
    else
        pat = cairo_pattern_create_radial(c[0], c[1], 0, c[0], c[1], c[2]);
    if (cairo_pattern_get_type(pat) != CAIRO_PATTERN_TYPE_SOLID) {
        for (size_t i = 0; i < g->nstops; i++) {
            const kn_grad_stop *s = &g->stops[i];
            cairo_pattern_add_color_stop_rgba(pat, s->offset, s->color.r, s->color.g,
                                              s->color.b, s->color.a * alpha);
        }
        cairo_pattern_set_extend(pat, CAIRO_EXTEND_PAD);
    }
    if (cairo_pattern_status(pat) != CAIRO_STATUS_SUCCESS) {
        cairo_pattern_destroy(pat);
        return NULL;
    }
    return pat;
}

/* Sets cr's source to paint k (0 fill, 1 stroke) of el: its gradient, or
 * else the colour col, with alpha times a. */
static void set_paint(cairo_t *cr, const kn_elem *el, int k, kn_color col, double a)
{
    if (el->grad[k]) {
        cairo_pattern_t *pat = grad_pattern(el->grad[k], a);
        if (pat) {
            cairo_set_source(cr, pat);
            cairo_pattern_destroy(pat);
        } else {
            cairo_set_source_rgba(cr, 0, 0, 0, 0);
        }
        return;
    }
    cairo_set_source_rgba(cr, col.r, col.g, col.b, col.a * a);
}


/* Draws an image element's pixels scaled into its box (x, y, width, height)
 * under the transform already on cr. The doc's pixels are wrapped, not
 * copied, in a surface of this call's own: the doc is shared by every
 * worker, a Cairo surface is not safe to share between threads, and the
 * wrapper costs one small allocation. Filter GOOD: bilinear when scaling
 * up, a box filter when scaling down (no aliasing). EXTEND_PAD with a clip
 * to the box keeps the edges sharp instead of fading them into
 * transparency over half a source pixel. */
static void draw_image(const ectx *x, const kn_elem *el, double op)
{
    cairo_t *cr = x->c->cr;
    const kn_image *img = el->image;
    if (!img) return;
    double bx = num(x, el, KN_P_X, 0), by = num(x, el, KN_P_Y, 0);
    double kx = num(x, el, KN_P_WIDTH, 0) / img->width, ky = num(x, el, KN_P_HEIGHT, 0) / img->height;
    if (!(kx > 0 && ky > 0)) return;
    cairo_surface_t *s = cairo_image_surface_create_for_data(img->data, CAIRO_FORMAT_ARGB32,
                                                             img->width, img->height, img->stride);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS && translate_scale(cr, bx, by, kx, ky)) {
        cairo_rectangle(cr, 0, 0, img->width, img->height);
        cairo_clip(cr);
        cairo_set_source_surface(cr, s, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
        cairo_paint_with_alpha(cr, op);
    }
    cairo_surface_destroy(s);
}

static void draw_elem(const ectx *x, const kn_elem *el);

static void draw_children(const ectx *x, const kn_elem *el)
{
    for (size_t i = 0; i < el->nchildren; i++) draw_elem(x, &el->children[i]);
}

/* ---- compositions ------------------------------------------------------ */

static comp_cache *comp_get(kn_canvas *c, const kn_elem *el)
{
    for (size_t i = 0; i < c->ncomps; i++)
        if (c->comps[i].el == el) return &c->comps[i];
    comp_cache *nc = realloc(c->comps, (c->ncomps + 1) * sizeof *nc);
    if (!nc) return NULL;
    c->comps = nc;
    comp_cache *e = &nc[c->ncomps];
    e->el = el;
    e->st = kn_state_create(el->comp);
    e->cv = NULL;
    if (!e->st || kn_canvas_create(el->comp->width, el->comp->height, &e->cv, NULL) != KN_OK) {
        kn_state_destroy(e->st);
        return NULL;
    }
    c->ncomps++;
    return e;
}

/* The nested document's frame at the parent's time t: it starts `start`
 * seconds in and plays at `speed`; before it starts and after it ends it
 * holds its first and last frame. */
static long comp_frame(const kn_elem *el, double t)
{
    const kn_doc *d = el->comp;
    double local = (t - el->comp_start) * el->comp_speed;
    double f = floor(local * d->fps_num / d->fps_den + 1e-9);
    if (!(f > 0)) return 0;
    if (f > (double)(d->n_frames - 1)) return d->n_frames - 1;
    return (long)f;
}

/* Draws the nested document's frame scaled to fit the element's box
 * (aspect ratio kept, centred), under the transform already on cr. */
static void draw_composition(const ectx *x, const kn_elem *el, double op)
{
    cairo_t *cr = x->c->cr;
    comp_cache *cc = comp_get(x->c, el);
    if (!cc) return;
    const kn_doc *d = el->comp;
    long f = comp_frame(el, kn_doc_frame_time(x->doc, kn_state_frame(x->st)));
    kn_state_eval_frame(cc->st, f);
    if (kn_draw_frame(cc->cv, d, cc->st, NULL) != KN_OK) return;
    double bx = num(x, el, KN_P_X, 0), by = num(x, el, KN_P_Y, 0);
    double bw = num(x, el, KN_P_WIDTH, d->width), bh = num(x, el, KN_P_HEIGHT, d->height);
    if (!(bw > 0 && bh > 0)) return;
    double s = fmin(bw / d->width, bh / d->height);
    if (!translate_scale(cr, bx + (bw - d->width * s) / 2, by + (bh - d->height * s) / 2, s, s))
        return;
    cairo_rectangle(cr, 0, 0, d->width, d->height);
    cairo_clip(cr);
    cairo_set_source_surface(cr, cc->cv->surf, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint_with_alpha(cr, op);
}

static void draw_elem(const ectx *x, const kn_elem *el)
{
    cairo_t *cr = x->c->cr;
    if (num(x, el, KN_P_VISIBLE, 1) == 0) return;
    double op = clamp01(num(x, el, KN_P_OPACITY, 1));
    if (op <= 0) return;

    double rot = num(x, el, KN_P_ROTATION, 0);
    double sx = 1, sy = 1;
    const kn_value *sc = arr(x, el, KN_P_SCALE, 2);
    if (sc) { sx = sc->arr[0]; sy = sc->arr[1]; }
    if (!(sx != 0 && sy != 0 && isfinite(sx) && isfinite(sy))) return;   /* flat */

    double tx = 0, ty = 0, tbox[4] = { 0, 0, 0, 0 };
    if (el->type == KN_E_TEXT && !text_layout(x, el, &tx, &ty, tbox)) return;

    cairo_save(cr);
    if (rot != 0 || sx != 1 || sy != 1) {
        double ox, oy;
        const kn_value *o = arr(x, el, KN_P_ORIGIN, 2);
        if (o) { ox = o->arr[0]; oy = o->arr[1]; }
        else shape_center(x, el, tbox, &ox, &oy);
        if (!isfinite(ox) || !isfinite(oy) || !isfinite(rot)) goto done;   /* Cairo would fail */
        cairo_matrix_t t;
        cairo_matrix_init_translate(&t, ox, oy);
        cairo_matrix_rotate(&t, rot * (M_PI / 180));
        cairo_matrix_scale(&t, sx, sy);
        cairo_matrix_translate(&t, -ox, -oy);
        if (!transform_usable(cr, &t)) goto done;
        cairo_transform(cr, &t);
    }

    if (el->type == KN_E_COMPOSITION) {
        draw_composition(x, el, op);
        cairo_restore(cr);
        return;
    }

    if (el->type == KN_E_PLOT) {
        if (op < 1) cairo_push_group(cr);
        kn_plot_draw(cr, x->c->layout, el, x->st);
        if (op < 1) {
            cairo_pop_group_to_source(cr);
            cairo_paint_with_alpha(cr, op);
        }
        cairo_restore(cr);
        return;
    }

    if (el->type == KN_E_IMAGE) {
        draw_image(x, el, op);
        cairo_restore(cr);
        return;
    }

    if (el->type == KN_E_GROUP) {
        cairo_translate(cr, num(x, el, KN_P_X, 0), num(x, el, KN_P_Y, 0));
        if (op < 1) {
            cairo_push_group(cr);
            draw_children(x, el);
            cairo_pop_group_to_source(cr);
            cairo_paint_with_alpha(cr, op);
        } else {
            draw_children(x, el);
        }
        cairo_restore(cr);
        return;
    }

    kn_color fill = color(x, el, KN_P_FILL), stroke;
    if (el->type == KN_E_LINE) fill.a = 0;   /* a line has no inside */
    int do_fill = fill.a > 0 || (el->grad[0] && el->type != KN_E_LINE);
    int do_stroke = stroke_setup(x, el, cr, &stroke);
    if (!do_fill && !do_stroke) goto done;

    if (el->type == KN_E_TEXT) {
        cairo_move_to(cr, tx, ty);
        pango_cairo_update_layout(cr, x->c->layout);
        if (do_stroke) pango_cairo_layout_path(cr, x->c->layout);
    } else if (!shape_path(x, el, cr)) {
        goto done;
    }

    /* Both paints with partial opacity: composite them once as a unit so
     * the stroke does not show the fill through it. */
    int grouped = do_fill && do_stroke && op < 1;
    double a = grouped ? 1 : op;
    if (grouped) {
        clip_to_path_box(cr, 1);
        cairo_push_group(cr);
    }
    if (do_fill) {
        set_paint(cr, el, 0, fill, a);
        if (el->type == KN_E_TEXT && el->grad[0] && a < 1 &&
            layout_has_colour_bitmaps(x->c->layout)) {
            /* Colour glyphs ignore the source's alpha (see text_show), so
             * fade gradient-filled text as one group, keeping the outline
             * path the stroke still needs. */
            cairo_path_t *keep = cairo_copy_path(cr);
            PangoRectangle ink;
            pango_layout_get_pixel_extents(x->c->layout, &ink, NULL);
            cairo_save(cr);
            cairo_new_path(cr);
            cairo_rectangle(cr, tx + ink.x - 2, ty + ink.y - 2, ink.width + 4, ink.height + 4);
            cairo_clip(cr);
            cairo_push_group(cr);
            set_paint(cr, el, 0, fill, 1);
            text_show(cr, x->c->layout, tx, ty);
            cairo_pop_group_to_source(cr);
            cairo_paint_with_alpha(cr, a);
            cairo_restore(cr);
            cairo_new_path(cr);
            if (keep->status == CAIRO_STATUS_SUCCESS) cairo_append_path(cr, keep);
            cairo_path_destroy(keep);
        } else if (el->type == KN_E_TEXT) {
            text_show(cr, x->c->layout, tx, ty);
        } else if (do_stroke) {
            cairo_fill_preserve(cr);
        } else {
            cairo_fill(cr);
        }
    }
    if (do_stroke) {
        set_paint(cr, el, 1, stroke, a);
        kn_stroke(cr);
    }
    if (grouped) {
        cairo_pop_group_to_source(cr);
        cairo_paint_with_alpha(cr, op);
    }
done:
    cairo_new_path(cr);
    cairo_restore(cr);
}

/* ---- frames ------------------------------------------------------------ */

/* ---- the static prefix ------------------------------------------------ */

static void mark_scene(const kn_scene *sc, unsigned char *anim)
{
    for (size_t i = 0; i < sc->ntargets; i++) anim[sc->targets[i].slot] = 1;
    for (size_t i = 0; i < sc->nchildren; i++) mark_scene(&sc->children[i], anim);
}

static int elem_static(const kn_elem *el, const unsigned char *anim)
{
    if (el->type == KN_E_COMPOSITION) return 0;   /* plays its own timeline */
    for (int p = 0; p < KN_P_COUNT; p++)
        if (el->slot[p] >= 0 && anim[el->slot[p]]) return 0;
    for (size_t i = 0; i < el->nchildren; i++)
        if (!elem_static(&el->children[i], anim)) return 0;
    for (size_t i = 0; el->plot && i < el->plot->nseries; i++) {
        const kn_series *s = &el->plot->series[i];
        int sl[4] = { s->slot_x, s->slot_y, s->slot_color, s->slot_width };
        for (int k = 0; k < 4; k++)
            if (sl[k] >= 0 && anim[sl[k]]) return 0;
    }
    return 1;
}

static void paint_background(cairo_t *cr, const kn_doc *doc)
{
    cairo_save(cr);
    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    cairo_set_source_rgba(cr, clamp01(doc->background.r), clamp01(doc->background.g),
                          clamp01(doc->background.b), clamp01(doc->background.a));
    cairo_paint(cr);
    cairo_restore(cr);
}

/* Plot-like documents put axes, ticks and labels (never animated) before
 * the data (animated every frame). A slot that no scene and no per-frame
 * entry targets keeps its initial value in every frame, so the leading run
 * of elements made only of such slots looks the same in every frame: draw it
 * once, keep the pixels, and start each frame from a copy of them. */
static void base_build(kn_canvas *c, const kn_doc *doc, const ectx *x)
{
    c->base_doc = doc;
    c->base_count = 0;
    free(c->base);
    c->base = NULL;
    unsigned char *anim = calloc(doc->nslots ? doc->nslots : 1, 1);
    if (!anim) return;   /* no cache: every frame draws everything */
    if (doc->animated) {
        /* The parser's verdict also covers values computed from t. */
        memcpy(anim, doc->animated, doc->nslots);
    } else {
        /* A hand-built doc (tests): what the timeline and frames target. */
        if (doc->timeline) mark_scene(doc->timeline, anim);
        for (size_t f = 0; f < doc->nframes_entries; f++)
            for (size_t i = 0; i < doc->frames[f].nsets; i++) anim[doc->frames[f].sets[i].slot] = 1;
    }
    size_t n = 0;
    while (n < doc->nelements && elem_static(&doc->elements[n], anim)) n++;
    free(anim);
    if (n == 0) return;
    size_t bytes = (size_t)cairo_image_surface_get_stride(c->surf) * (size_t)c->height;
    c->base = malloc(bytes);
    if (!c->base) return;
    paint_background(c->cr, doc);
    for (size_t i = 0; i < n; i++) draw_elem(x, &doc->elements[i]);
    cairo_surface_flush(c->surf);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        free(c->base);
        c->base = NULL;
        return;
    }
    memcpy(c->base, cairo_image_surface_get_data(c->surf), bytes);
    c->base_count = n;
}

int kn_draw_frame(kn_canvas *c, const kn_doc *doc, const kn_state *st, kn_err *err)
{
    if (doc->width != c->width || doc->height != c->height)
        return kn_err_set(err, KN_EINVAL, NULL, "canvas is %dx%d but the document is %dx%d",
                          c->width, c->height, doc->width, doc->height);
    cairo_t *cr = c->cr;
    ectx x = { c, st, doc };

    if (c->base_doc != doc) base_build(c, doc, &x);
    size_t first = 0;
    if (c->base) {
        cairo_surface_flush(c->surf);
        memcpy(cairo_image_surface_get_data(c->surf), c->base,
               (size_t)cairo_image_surface_get_stride(c->surf) * (size_t)c->height);
        cairo_surface_mark_dirty(c->surf);
        first = c->base_count;
    } else {
        paint_background(cr, doc);
    }

    for (size_t i = first; i < doc->nelements; i++) draw_elem(&x, &doc->elements[i]);

    cairo_surface_flush(c->surf);
    cairo_status_t s = cairo_status(cr);
    if (s == CAIRO_STATUS_SUCCESS) s = cairo_surface_status(c->surf);
    if (s != CAIRO_STATUS_SUCCESS) {
        int rc = kn_err_set(err, KN_ERENDER, NULL, "drawing the frame failed: %s",
                            cairo_status_to_string(s));
        /* cr's error is sticky: start the next frame on a fresh context. */
        context_free(c);
        if (context_make(c, NULL) != KN_OK) context_free(c);
        return rc;
    }
    return KN_OK;
}

/* ---- PNG --------------------------------------------------------------- */

int kn_canvas_write_png(kn_canvas *c, const char *path, kn_err *err)
{
    cairo_surface_flush(c->surf);
    cairo_status_t s = cairo_surface_write_to_png(c->surf, path);
    if (s != CAIRO_STATUS_SUCCESS)
        return kn_err_set(err, s == CAIRO_STATUS_NO_MEMORY ? KN_ENOMEM : KN_EIO, NULL,
                          "cannot write PNG %s: %s", path, cairo_status_to_string(s));
    return KN_OK;
}

typedef struct png_buf {
    uint8_t *data;
    size_t len, cap;
    int over;            /* the cap was hit */
} png_buf;

static cairo_status_t png_write(void *closure, const unsigned char *data, unsigned int len)
{
    png_buf *b = closure;
    if (len > PNG_CAP - b->len) {
        b->over = 1;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    if (b->len + len > b->cap) {
        size_t ncap = b->cap ? b->cap : 65536;
        while (ncap < b->len + len) ncap *= 2;
        if (ncap > PNG_CAP) ncap = PNG_CAP;
        uint8_t *nd = realloc(b->data, ncap);
        if (!nd) return CAIRO_STATUS_NO_MEMORY;
        b->data = nd;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return CAIRO_STATUS_SUCCESS;
}

int kn_canvas_png_buffer(kn_canvas *c, uint8_t **buf, size_t *len, kn_err *err)
{
    png_buf b = { 0 };
    int rc = KN_OK;

    *buf = NULL;
    *len = 0;
    cairo_surface_flush(c->surf);
    cairo_status_t s = cairo_surface_write_to_png_stream(c->surf, png_write, &b);
    if (b.over) {
        rc = kn_err_set(err, KN_ETOOBIG, NULL, "PNG is larger than %zu MiB", PNG_CAP >> 20);
        goto out;
    }
    if (s != CAIRO_STATUS_SUCCESS) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "cannot encode PNG: %s",
                        cairo_status_to_string(s));
        goto out;
    }
    *buf = b.data;
    *len = b.len;
    b.data = NULL;

out:
    free(b.data);
    return rc;
}
