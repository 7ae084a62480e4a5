/*
 * doc/plot.c - the static parts of a plot element (spec 8): its series
 * (line, scatter, bar, area, step, heatmap), explicit ticks, and the checks
 * a log axis needs. The plot's own fields (limits, scales, labels, ...) are
 * ordinary element slots, parsed by elements.c.
 *
 * Each series gets SERIES_SLOTS slots, named "<series id>.x|y|color|width"
 * (a heatmap: "<id>.data", its shape fixed by the first data). Series ids
 * share p->ids with element ids, stored there as -1 - (element << 16 |
 * series) so that timeline.c can tell a series target from an element's.
 * Invariants: x and y of a series have equal lengths when both are given;
 * a "=expr" y is a KN_CALC_SERIES_Y over its x slot, so x must then be
 * numbers; without x, x is 0..n-1; heatmap colormap names are checked
 * against lang/cmap.h; el->plot is never NULL for a plot.
 */
#include "doc/parser.h"

#include <stdio.h>
#include <string.h>

#include "lang/cmap.h"
#include "lang/color.h"

static const char *const SERIES_TYPES[] = { "line", "scatter", "bar", "area", "step",
                                            "heatmap", NULL };
static const char *const MARKERS[] = { "none", "o", "s", "^", "x", NULL };
/* matplotlib's default colour cycle (tab10). */
static const char *const TAB10[] = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                     "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };

/* A new slot for series data, named "<series id>.<name>" (or by position
 * when the series has no id). */
static int series_slot(parser *p, const kn_series *s, size_t flat, size_t k, int kind,
                       const char *name, int *out)
{
    const char *full = s->id ? doc_pprintf(p, "%s.%s", s->id, name)
                             : doc_pprintf(p, "#%zu.series.%zu.%s", flat, k, name);
    if (!full) return p->err->code;
    *out = doc_new_slot(p, (unsigned char)kind, full);
    if (*out < 0) return doc_fail(p, KN_EINTERNAL, "slot count mismatch");
    return KN_OK;
}

static int parse_series_id(parser *p, const json_t *jid, size_t flat, size_t k, kn_series *s)
{
    size_t old = doc_push_key(p, "id");
    const char *id = json_is_string(jid) ? json_string_value(jid) : NULL;
    int rc = KN_OK;
    if (!id)
        rc = doc_fail(p, KN_EINVAL, "expected a string id, got %s", doc_jdesc(jid));
    else if (!*id)
        rc = doc_fail(p, KN_EINVAL, "an id may not be empty");
    else if (strchr(id, '.'))
        rc = doc_fail(p, KN_EINVAL, "id \"%.64s\" contains '.', which separates id and property "
                      "in targets (\"id.property\")", id);
    else if (json_object_get(p->ids, id))
        rc = doc_fail(p, KN_EINVAL, "duplicate id \"%.64s\": element and series ids must be unique "
                      "within the document", id);
    /* Negative values mark series: -1 - (element << 16 | series). */
    else if (json_object_set_new(p->ids, id, json_integer(-1 - (json_int_t)((flat << 16) | k))))
        rc = doc_fail(p, KN_ENOMEM, "out of memory");
    else if (!(s->id = doc_pstrdup(p, id)))
        rc = p->err->code;
    doc_pop(p, old);
    return rc;
}

/* One field of a series, parsed at its own pointer into slot (if >= 0). */
static int series_field(parser *p, const json_t *j, const char *key, int kind, int slot)
{
    const json_t *v = json_object_get(j, key);
    if (!v) return KN_OK;
    size_t old = doc_push_key(p, key);
    p->calc_slot = kind == D_SWIDTH ? slot : -1;
    int rc = doc_parse_value(p, v, &doc_desc[kind], &p->doc->init[slot]);
    p->calc_slot = -1;
    doc_pop(p, old);
    return rc;
}

static int parse_heatmap(parser *p, const json_t *j, size_t flat, size_t k, kn_series *s)
{
    static const char *const KEYS[] = { "id", "type", "data", "cmap", "vmin", "vmax",
                                        "colorbar", "label", NULL };
    int rc;
    size_t old;
    if ((rc = doc_check_keys(p, j, KEYS))) return rc;
    if ((rc = series_slot(p, s, flat, k, D_SGRID, "data", &s->slot_y))) return rc;
    const json_t *jd = json_object_get(j, "data");
    old = doc_push_key(p, "data");
    if (!jd)
        rc = doc_fail(p, KN_EINVAL, "missing field \"data\": a heatmap needs a 2-D array of "
                      "numbers [[...], [...]]");
    else
        rc = doc_parse_grid(p, jd, &p->doc->init[s->slot_y], &s->rows, &s->cols);
    if (!rc && (s->rows > KN_HEATMAP_MAX_SIDE || s->cols > KN_HEATMAP_MAX_SIDE))
        rc = doc_fail(p, KN_ETOOBIG, "a heatmap of %zu x %zu cells: at most %d on a side (the "
                      "cells become one image, and no screen shows more)", s->rows, s->cols,
                      KN_HEATMAP_MAX_SIDE);
    doc_pop(p, old);
    if (rc) return rc;
    s->cmap = "viridis";
    const json_t *jc = json_object_get(j, "cmap");
    if (jc) {
        old = doc_push_key(p, "cmap");
        if (!json_is_string(jc) || !kn_cmap_lookup(json_string_value(jc)))
            rc = doc_fail(p, KN_EINVAL, "expected a colormap name (one of %s), got %s%.64s%s",
                          kn_cmap_names(), json_is_string(jc) ? "\"" : "",
                          json_is_string(jc) ? json_string_value(jc) : doc_jdesc(jc),
                          json_is_string(jc) ? "\"" : "");
        else
            s->cmap = kn_cmap_name(kn_cmap_lookup(json_string_value(jc)));
        doc_pop(p, old);
        if (rc) return rc;
    }
    const char *nk[2] = { "vmin", "vmax" };
    for (int q = 0; q < 2; q++) {
        const json_t *jv = json_object_get(j, nk[q]);
        if (!jv) continue;
        old = doc_push_key(p, nk[q]);
        rc = doc_get_num(p, jv, &R_ANY, q ? &s->vmax : &s->vmin);
        doc_pop(p, old);
        if (rc) return rc;
        if (q) s->has_vmax = 1; else s->has_vmin = 1;
    }
    if (s->has_vmin && s->has_vmax && !(s->vmin < s->vmax)) {
        old = doc_push_key(p, "vmax");
        rc = doc_fail(p, KN_EINVAL, "vmax (%g) must be greater than vmin (%g)", s->vmax, s->vmin);
        doc_pop(p, old);
        return rc;
    }
    const json_t *jb = json_object_get(j, "colorbar");
    if (jb) {
        old = doc_push_key(p, "colorbar");
        if (!json_is_boolean(jb))
            rc = doc_fail(p, KN_EINVAL, "expected true or false, got %s", doc_jdesc(jb));
        s->colorbar = json_is_true(jb);
        doc_pop(p, old);
    }
    return rc;
}

/* A series of a plot (spec 8). x and y are ARRAY slots of equal length; y
 * may be "=expr" of x and i (x must then be numbers, so the count is known);
 * without x, x is 0..n-1 as in matplotlib's plot(y). */
static int parse_series(parser *p, const json_t *j, size_t flat, size_t k, kn_series *s)
{
    static const char *const KEYS[] = { "id", "type", "x", "y", "color", "width", "marker",
                                        "marker_size", "label", NULL };
    int rc;
    size_t old;
    s->slot_x = s->slot_y = s->slot_color = s->slot_width = -1;
    s->marker_size = 6;
    if (!json_is_object(j))
        return doc_fail(p, KN_EINVAL, "a series is an object with a \"type\" (line, scatter, bar, "
                        "area, step, heatmap), got %s", doc_jdesc(j));
    const json_t *jt = json_object_get(j, "type");
    old = doc_push_key(p, "type");
    int t = -1;
    if (!jt) {
        rc = doc_fail(p, KN_EINVAL, "missing field \"type\" (one of line, scatter, bar, area, "
                      "step, heatmap)");
    } else if (!json_is_string(jt)) {
        rc = doc_fail(p, KN_EINVAL, "expected a series type (line, scatter, bar, area, step, "
                      "heatmap), got %s", doc_jdesc(jt));
    } else {
        const char *ts = json_string_value(jt), *hint;
        for (int q = 0; SERIES_TYPES[q]; q++)
            if (!strcmp(SERIES_TYPES[q], ts)) t = q;
        if (t >= 0)
            rc = KN_OK;
        else if ((hint = doc_suggest(ts, SERIES_TYPES)))
            rc = doc_fail(p, KN_EINVAL, "unknown series type \"%.64s\": did you mean \"%s\"? "
                          "(allowed: line, scatter, bar, area, step, heatmap)", ts, hint);
        else
            rc = doc_fail(p, KN_EINVAL, "unknown series type \"%.64s\" (allowed: line, scatter, "
                          "bar, area, step, heatmap)", ts);
    }
    doc_pop(p, old);
    if (rc) return rc;
    s->type = (kn_series_type)t;
    const json_t *jid = json_object_get(j, "id");
    if (jid && (rc = parse_series_id(p, jid, flat, k, s))) return rc;
    const json_t *jl = json_object_get(j, "label");
    if (jl) {
        old = doc_push_key(p, "label");
        /* The legend lays it out like a text element's text. */
        size_t len = json_is_string(jl) ? json_string_length(jl) : 0;
        if (!json_is_string(jl))
            rc = doc_fail(p, KN_EINVAL, "expected a string, got %s", doc_jdesc(jl));
        else if (len > KN_DOC_MAX_TEXT)
            rc = doc_fail(p, KN_ETOOBIG, "a label of %zu bytes is longer than the limit of %zu "
                          "bytes", len, KN_DOC_MAX_TEXT);
        else if ((rc = doc_charge_text(p, -1, len)) == KN_OK &&
                 !(s->label = doc_pstrdup(p, json_string_value(jl))))
            rc = p->err->code;
        doc_pop(p, old);
        if (rc) return rc;
    }
    if (s->type == KN_SER_HEATMAP) return parse_heatmap(p, j, flat, k, s);
    if ((rc = doc_check_keys(p, j, KEYS))) return rc;

    if ((rc = series_slot(p, s, flat, k, D_SARR, "x", &s->slot_x)) ||
        (rc = series_slot(p, s, flat, k, D_SARR, "y", &s->slot_y)) ||
        (rc = series_slot(p, s, flat, k, D_SCOLOR, "color", &s->slot_color)) ||
        (rc = series_slot(p, s, flat, k, D_SWIDTH, "width", &s->slot_width)))
        return rc;
    kn_value *vx = &p->doc->init[s->slot_x], *vy = &p->doc->init[s->slot_y];
    const json_t *jx = json_object_get(j, "x"), *jy = json_object_get(j, "y");
    if (jx && doc_is_expr_string(jx)) {
        old = doc_push_key(p, "x");
        rc = doc_fail(p, KN_EINVAL, "\"x\" must be numbers (an array or {\"linspace\": [start, "
                      "stop, count]}) so the number of points is known; \"y\" may be an "
                      "expression of x");
        doc_pop(p, old);
        return rc;
    }
    if (jx) {
        old = doc_push_key(p, "x");
        rc = doc_parse_num_array(p, jx, &R_ANY, vx);
        doc_pop(p, old);
        if (rc) return rc;
    }
    old = doc_push_key(p, "y");
    if (!jy) {
        rc = doc_fail(p, KN_EINVAL, "missing field \"y\": a series needs its y values (an array, "
                      "{\"linspace\": ...} or \"=expr\" of x and i)");
    } else if (doc_is_expr_string(jy)) {
        if (!jx) {
            doc_pop(p, old);
            old = doc_push_key(p, "x");
            rc = doc_fail(p, KN_EINVAL, "missing field \"x\": \"y\" is an expression, so \"x\" "
                          "must give the points (an array or {\"linspace\": [start, stop, "
                          "count]})");
        } else if (!(rc = doc_add_calc(p, KN_CALC_SERIES_Y, s->slot_y, 0,
                                       json_string_value(jy) + 1))) {
            p->calcs[p->ncalcs - 1].src = s->slot_x;
            vy->type = KN_VT_ARRAY;
            vy->n = vx->n;
            vy->arr = vx->n ? doc_palloc(p, vx->n, sizeof *vy->arr) : doc_empty;
            if (!vy->arr) rc = p->err->code;
        }
    } else if (!(rc = doc_parse_num_array(p, jy, &R_ANY, vy)) && jx && vx->n != vy->n) {
        rc = doc_fail(p, KN_EINVAL, "\"x\" has %zu numbers and \"y\" has %zu: they must have the "
                      "same length", vx->n, vy->n);
    }
    doc_pop(p, old);
    if (rc) return rc;
    if (!jx) {
        vx->type = KN_VT_ARRAY;
        vx->n = vy->n;
        vx->arr = vy->n ? doc_palloc(p, vy->n, sizeof *vx->arr) : doc_empty;
        if (!vx->arr) return p->err->code;
        for (size_t i = 0; i < vy->n; i++) vx->arr[i] = (double)i;
    }

    kn_value *vc = &p->doc->init[s->slot_color], *vw = &p->doc->init[s->slot_width];
    memset(vc, 0, sizeof *vc);
    vc->type = KN_VT_COLOR;
    if ((rc = kn_color_parse(TAB10[k % 10], &vc->color, p->path, p->err))) return rc;
    memset(vw, 0, sizeof *vw);
    vw->type = KN_VT_NUM;
    vw->num = 1.5;
    if ((rc = series_field(p, j, "color", D_SCOLOR, s->slot_color)) ||
        (rc = series_field(p, j, "width", D_SWIDTH, s->slot_width)))
        return rc;

    if (s->type == KN_SER_SCATTER) s->marker = 'o';
    const json_t *jm = json_object_get(j, "marker");
    if (jm) {
        static const pdesc DM = { "marker", K_ENUM, { 0, 0, 0 }, MARKERS };
        kn_value mv;
        old = doc_push_key(p, "marker");
        rc = doc_parse_value(p, jm, &DM, &mv);
        doc_pop(p, old);
        if (rc) return rc;
        s->marker = strcmp(mv.str, "none") ? mv.str[0] : 0;
    }
    const json_t *jms = json_object_get(j, "marker_size");
    if (jms) {
        static const nrange RMS = { 0, 1000, R_LO | R_HI };
        old = doc_push_key(p, "marker_size");
        rc = doc_get_num(p, jms, &RMS, &s->marker_size);
        doc_pop(p, old);
    }
    return rc;
}

/* ticks: {"x": [...], "y": [...]} explicit tick values for either axis. */
static int parse_ticks(parser *p, const json_t *j, kn_plot *pl)
{
    static const char *const XY[] = { "x", "y", NULL };
    int rc;
    if (!json_is_object(j))
        return doc_fail(p, KN_EINVAL, "expected {\"x\": [...], \"y\": [...]} (explicit tick "
                        "values; leave \"ticks\" out for automatic ticks), got %s", doc_jdesc(j));
    if ((rc = doc_check_keys(p, j, XY))) return rc;
    for (int a = 0; a < 2; a++) {
        const json_t *ja = json_object_get(j, XY[a]);
        if (!ja) continue;
        size_t old = doc_push_key(p, XY[a]);
        kn_value v;
        memset(&v, 0, sizeof v);
        if (json_is_array(ja) && json_array_size(ja) > KN_DOC_MAX_TICKS)
            rc = doc_fail(p, KN_EINVAL, "%zu ticks are more than the %d allowed",
                          json_array_size(ja), KN_DOC_MAX_TICKS);
        else
            rc = doc_parse_num_array(p, ja, &R_ANY, &v);
        doc_pop(p, old);
        if (rc) return rc;
        pl->has_ticks[a] = 1;
        pl->ticks[a] = v.arr;
        pl->nticks[a] = v.n;
    }
    return KN_OK;
}

/* A log axis can only show positive values: limits and explicit ticks at
 * or below 0 would be dropped from the drawing without a word, and a
 * heatmap's cells (edges at -0.5) need linear axes. Checked for the values
 * written in the document; animated limits that leave the positive range
 * fall back to automatic limits when drawn. */
static int check_log_axes(parser *p, const kn_elem *el, const json_t *j)
{
    static const char *const LIM[2] = { "xlim", "ylim" }, *const SC[2] = { "xscale", "yscale" };
    const kn_plot *pl = el->plot;
    for (int a = 0; a < 2; a++) {
        int sslot = el->slot[a ? KN_P_YSCALE : KN_P_XSCALE];
        int lslot = el->slot[a ? KN_P_YLIM : KN_P_XLIM];
        const kn_value *sv = sslot >= 0 ? &p->doc->init[sslot] : NULL;
        if (!sv || sv->type != KN_VT_STR || !sv->str || strcmp(sv->str, "log") != 0) continue;
        const kn_value *lv = lslot >= 0 ? &p->doc->init[lslot] : NULL;
        if (lv && lv->type == KN_VT_ARRAY && lv->n == 2 && !p->ecalc[lslot] &&
            json_object_get(j, LIM[a]) && !(lv->arr[0] > 0 && lv->arr[1] > 0)) {
            size_t old = doc_push_key(p, LIM[a]);
            int rc = doc_fail(p, KN_EINVAL, "%s is \"log\", so %s must be positive, got [%g, %g]",
                              SC[a], LIM[a], lv->arr[0], lv->arr[1]);
            doc_pop(p, old);
            return rc;
        }
        for (size_t t = 0; pl->has_ticks[a] && t < pl->nticks[a]; t++) {
            if (pl->ticks[a][t] > 0) continue;
            size_t o1 = doc_push_key(p, "ticks"), o2 = doc_push_key(p, a ? "y" : "x");
            size_t o3 = doc_push_idx(p, t);
            int rc = doc_fail(p, KN_EINVAL, "%s is \"log\", so ticks must be positive, got %g",
                              SC[a], pl->ticks[a][t]);
            doc_pop(p, o3);
            doc_pop(p, o2);
            doc_pop(p, o1);
            return rc;
        }
        for (size_t k = 0; k < pl->nseries; k++) {
            if (pl->series[k].type != KN_SER_HEATMAP) continue;
            size_t o1 = doc_push_key(p, "series"), o2 = doc_push_idx(p, k);
            int rc = doc_fail(p, KN_EINVAL, "a heatmap needs linear axes, but %s is \"log\"",
                              SC[a]);
            doc_pop(p, o2);
            doc_pop(p, o1);
            return rc;
        }
    }
    return KN_OK;
}

int doc_parse_plot(parser *p, kn_elem *el, size_t flat, const json_t *j)
{
    int rc = KN_OK;
    kn_plot *pl = doc_palloc(p, 1, sizeof *pl);
    if (!pl) return p->err->code;
    el->plot = pl;
    const json_t *jt = json_object_get(j, "ticks");
    if (jt) {
        size_t old = doc_push_key(p, "ticks");
        rc = parse_ticks(p, jt, pl);
        doc_pop(p, old);
        if (rc) return rc;
    }
    const json_t *js = json_object_get(j, "series");
    if (!js) return check_log_axes(p, el, j);
    size_t old = doc_push_key(p, "series");
    size_t n = json_is_array(js) ? json_array_size(js) : 0;
    if (!json_is_array(js))
        rc = doc_fail(p, KN_EINVAL, "expected an array of series, got %s", doc_jdesc(js));
    else if (n > KN_DOC_MAX_SERIES)
        rc = doc_fail(p, KN_EINVAL, "%zu series are more than the %d a plot may have", n,
                      KN_DOC_MAX_SERIES);
    kn_series *ser = rc || !n ? NULL : doc_palloc(p, n, sizeof *ser);
    if (!rc && n && !ser) rc = p->err->code;
    for (size_t k = 0; k < n && !rc; k++) {
        size_t o2 = doc_push_idx(p, k);
        rc = parse_series(p, json_array_get(js, k), flat, k, &ser[k]);
        doc_pop(p, o2);
        pl->series = ser;
        pl->nseries = k + 1;   /* targets resolve against parsed series only */
    }
    doc_pop(p, old);
    return rc ? rc : check_log_axes(p, el, j);
}

