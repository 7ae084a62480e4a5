/*
 * doc/elements.c - the "elements" array of a job document: each element's
 * type, id and fields, and what is parsed once for good (a path's data, an
 * image's pixels, a composition's document; plots are in plot.c).
 *
 * Every property an element type takes is a slot, named "<id>.<property>"
 * (or "#<flat index>.<property>" without an id) and numbered in document
 * order right after the vars; the pre-pass doc_count_elems counts them so
 * the slot arrays are sized once and never move. Invariants: el->slot[k] is
 * -1 exactly for the properties type t lacks (g_type_props); ids are unique
 * across elements and plot series (p->ids); an element's own fill or stroke
 * gradient sits in el->grad and its slot holds "none"; memory held outside
 * the arena (pixels, nested documents and their canvases) is charged to the
 * job's one memory limit.
 */
#include "doc/parser.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lang/path.h"
#include "media/image.h"

#define PB(p) ((uint64_t)1 << (p))
#define PAINT (PB(KN_P_FILL) | PB(KN_P_STROKE) | PB(KN_P_STROKE_WIDTH) | PB(KN_P_DASH) | \
               PB(KN_P_LINE_CAP) | PB(KN_P_LINE_JOIN))
#define COMMON (PB(KN_P_OPACITY) | PB(KN_P_VISIBLE) | PB(KN_P_ROTATION) | PB(KN_P_SCALE) | \
                PB(KN_P_ORIGIN) | PAINT)

const char *const doc_type_names[KN_E_COUNT] = {
    "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "group", "path",
    "composition", "image", "plot"
};

const char *doc_type_article(int t)
{
    return t == KN_E_IMAGE || t == KN_E_ELLIPSE ? "an" : "a";
}

static const uint64_t g_type_props[KN_E_COUNT] = {
    [KN_E_RECT]     = COMMON | PB(KN_P_X) | PB(KN_P_Y) | PB(KN_P_WIDTH) | PB(KN_P_HEIGHT) |
                      PB(KN_P_RADIUS),
    [KN_E_CIRCLE]   = COMMON | PB(KN_P_CX) | PB(KN_P_CY) | PB(KN_P_R),
    [KN_E_ELLIPSE]  = COMMON | PB(KN_P_CX) | PB(KN_P_CY) | PB(KN_P_RX) | PB(KN_P_RY),
    [KN_E_LINE]     = COMMON | PB(KN_P_X1) | PB(KN_P_Y1) | PB(KN_P_X2) | PB(KN_P_Y2),
    [KN_E_POLYLINE] = COMMON | PB(KN_P_POINTS),
    [KN_E_POLYGON]  = COMMON | PB(KN_P_POINTS),
    [KN_E_TEXT]     = COMMON | PB(KN_P_X) | PB(KN_P_Y) | PB(KN_P_TEXT) | PB(KN_P_FONT) |
                      PB(KN_P_SIZE) | PB(KN_P_ALIGN) | PB(KN_P_BASELINE),
    /* Groups and compositions draw their children and documents only: paint
     * given to them was accepted and silently ignored, so it is refused. */
    [KN_E_GROUP]    = (COMMON & ~PAINT) | PB(KN_P_X) | PB(KN_P_Y),
    [KN_E_PATH]     = COMMON,   /* plus "d", parsed once into el->path */
    [KN_E_COMPOSITION] = (COMMON & ~PAINT) | PB(KN_P_X) | PB(KN_P_Y) | PB(KN_P_WIDTH) |
                         PB(KN_P_HEIGHT),   /* plus "document", "start", "speed" */
    /* No paint: an image has no fill or stroke of its own. */
    [KN_E_IMAGE]    = PB(KN_P_OPACITY) | PB(KN_P_VISIBLE) | PB(KN_P_ROTATION) | PB(KN_P_SCALE) |
                      PB(KN_P_ORIGIN) | PB(KN_P_X) | PB(KN_P_Y) | PB(KN_P_WIDTH) |
                      PB(KN_P_HEIGHT),   /* plus "src", decoded once into el->image */
    /* Its colours come from its style and series, not from paint fields. */
    [KN_E_PLOT]     = PB(KN_P_OPACITY) | PB(KN_P_VISIBLE) | PB(KN_P_ROTATION) | PB(KN_P_SCALE) |
                      PB(KN_P_ORIGIN) | PB(KN_P_X) | PB(KN_P_Y) | PB(KN_P_WIDTH) |
                      PB(KN_P_HEIGHT) | PB(KN_P_FONT) | PB(KN_P_SIZE) | PB(KN_P_TITLE) |
                      PB(KN_P_XLABEL) | PB(KN_P_YLABEL) | PB(KN_P_XLIM) | PB(KN_P_YLIM) |
                      PB(KN_P_XSCALE) | PB(KN_P_YSCALE) | PB(KN_P_GRID) | PB(KN_P_LEGEND) |
                      PB(KN_P_STYLE),   /* plus "ticks" and "series" (el->plot) */
};

static const uint64_t g_type_required[KN_E_COUNT] = {
    [KN_E_RECT]    = PB(KN_P_WIDTH) | PB(KN_P_HEIGHT),
    [KN_E_CIRCLE]  = PB(KN_P_R),
    [KN_E_ELLIPSE] = PB(KN_P_RX) | PB(KN_P_RY),
    [KN_E_IMAGE]   = PB(KN_P_WIDTH) | PB(KN_P_HEIGHT),
    [KN_E_PLOT]    = PB(KN_P_WIDTH) | PB(KN_P_HEIGHT),
};

/* The value of property prop for an element of type t that does not give
 * it. Default and enumeration strings point to static storage, never freed
 * (the enumerations are the first of doc_desc[prop].enums unless noted),
 * and empty arrays to doc_empty. */
static int set_default(parser *p, kn_etype t, int prop, kn_value *v)
{
    memset(v, 0, sizeof *v);
    v->type = KN_VT_NUM;
    switch (prop) {
    case KN_P_OPACITY: v->num = 1; break;
    case KN_P_VISIBLE: v->type = KN_VT_BOOL; v->num = 1; break;
    case KN_P_SCALE:
        if (!(v->arr = doc_palloc(p, 2, sizeof *v->arr))) return p->err->code;
        v->type = KN_VT_ARRAY;
        v->arr[0] = v->arr[1] = 1;
        v->n = 2;
        break;
    case KN_P_ORIGIN: v->type = KN_VT_NONE; break;
    case KN_P_FILL:
        v->type = KN_VT_COLOR;
        if (t == KN_E_TEXT) v->color = (kn_color){ 1, 1, 1, 1 };
        break;
    case KN_P_STROKE: v->type = KN_VT_COLOR; break;
    case KN_P_STROKE_WIDTH: v->num = 1; break;
    case KN_P_DASH:
    case KN_P_POINTS: v->type = KN_VT_ARRAY; v->arr = doc_empty; v->n = 0; break;
    case KN_P_LINE_CAP: v->type = KN_VT_STR; v->str = doc_desc[KN_P_LINE_CAP].enums[0]; break;
    case KN_P_LINE_JOIN: v->type = KN_VT_STR; v->str = doc_desc[KN_P_LINE_JOIN].enums[0]; break;
    case KN_P_TEXT: v->type = KN_VT_STR; v->str = ""; break;
    case KN_P_FONT: v->type = KN_VT_STR; v->str = "DejaVu Sans"; break;
    case KN_P_SIZE: v->num = t == KN_E_PLOT ? 12 : 32; break;
    case KN_P_TITLE: case KN_P_XLABEL: case KN_P_YLABEL: v->type = KN_VT_STR; v->str = ""; break;
    case KN_P_XLIM: case KN_P_YLIM: v->type = KN_VT_ARRAY; v->arr = doc_empty; v->n = 0; break;
    case KN_P_XSCALE:
    case KN_P_YSCALE: v->type = KN_VT_STR; v->str = doc_desc[prop].enums[0]; break;
    case KN_P_GRID: v->type = KN_VT_BOOL; v->num = 0; break;
    case KN_P_LEGEND: v->type = KN_VT_STR; v->str = doc_desc[KN_P_LEGEND].enums[0]; break;
    case KN_P_STYLE: v->type = KN_VT_STR; v->str = doc_desc[KN_P_STYLE].enums[0]; break;
    case KN_P_ALIGN: v->type = KN_VT_STR; v->str = doc_desc[KN_P_ALIGN].enums[0]; break;
    case KN_P_BASELINE:   /* alphabetic */
        v->type = KN_VT_STR;
        v->str = doc_desc[KN_P_BASELINE].enums[2];
        break;
    default: break;
    }
    return KN_OK;
}

/* What elem_fields can list: id, type, the properties and at most three
 * fields of the type's own. */
#define ELEM_FIELDS_MAX (KN_P_COUNT + 5)

#define TYPE_LIST "rect, circle, ellipse, line, polyline, polygon, text, group, path, " \
                  "composition, image, plot"

static int popcount64(uint64_t m)
{
    int n = 0;
    for (; m; m &= m - 1) n++;
    return n;
}

static int type_of_name(const char *s)
{
    for (int t = 0; t < KN_E_COUNT; t++)
        if (strcmp(doc_type_names[t], s) == 0) return t;
    return -1;
}

/* The element type a pre-pass would count, or -1 (the real pass errors). */
static int elem_type_of(const json_t *e)
{
    if (!json_is_object(e)) return -1;
    const json_t *t = json_object_get(e, "type");
    if (!json_is_string(t)) return -1;
    return type_of_name(json_string_value(t));
}

void doc_count_elems(const json_t *arr, int depth, size_t *nel, size_t *nslots)
{
    size_t i;
    json_t *e;
    if (!json_is_array(arr) || depth > KN_DOC_MAX_DEPTH) return;
    json_array_foreach((json_t *)arr, i, e) {
        int t = elem_type_of(e);
        if (t < 0) continue;
        (*nel)++;
        *nslots += (size_t)popcount64(g_type_props[t]);
        if (t == KN_E_PLOT) {
            const json_t *ser = json_object_get(e, "series");
            if (json_is_array(ser)) *nslots += SERIES_SLOTS * json_array_size(ser);
        }
        if (*nel > KN_DOC_MAX_ELEMENTS) return;
        if (t == KN_E_GROUP)
            doc_count_elems(json_object_get(e, "children"), depth + 1, nel, nslots);
    }
}

/* The fields an element of type t takes, in the order messages list them,
 * into names (NULL-terminated); returns how many. */
static size_t elem_fields(kn_etype t, const char *names[ELEM_FIELDS_MAX + 1])
{
    size_t n = 0;
    names[n++] = "id";
    names[n++] = "type";
    for (int k = 0; k < KN_P_COUNT; k++)
        if (g_type_props[t] & PB(k)) names[n++] = doc_desc[k].name;
    if (t == KN_E_GROUP) names[n++] = "children";
    if (t == KN_E_PATH) names[n++] = "d";
    if (t == KN_E_COMPOSITION) {
        names[n++] = "document";
        names[n++] = "start";
        names[n++] = "speed";
    }
    if (t == KN_E_IMAGE) names[n++] = "src";
    if (t == KN_E_PLOT) {
        names[n++] = "ticks";
        names[n++] = "series";
    }
    names[n] = NULL;
    return n;
}

/* names joined by ", " into buf, cut to its size. */
static void join_names(const char *const *names, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (const char *const *a = names; *a && len < n; a++) {
        int w = snprintf(buf + len, n - len, "%s%s", a == names ? "" : ", ", *a);
        if (w > 0) len += (size_t)w;
    }
}

/* `d` of a path: SVG path data, parsed once here (so a bad path is a 400
 * pointing at the column) and owned by the doc. It is not a slot: a path's
 * shape is fixed; move, turn and scale it with the transform properties. */
static void destroy_path(void *o) { kn_path_destroy(o); }
static void destroy_image(void *o) { kn_image_destroy(o); }
static void destroy_doc(void *o) { kn_doc_destroy(o); }

static int parse_path_data(parser *p, kn_elem *el, const json_t *jd)
{
    size_t old = doc_push_key(p, "d");
    int rc = KN_OK, col = 0;
    kn_path *path = NULL;
    if (!jd) {
        rc = doc_fail(p, KN_EINVAL, "missing field \"d\": a path needs its SVG path data, e.g. "
                      "\"M 0 0 L 100 50 Z\"");
    } else if (!json_is_string(jd)) {
        rc = doc_fail(p, KN_EINVAL, "expected SVG path data (a string), got %s", doc_jdesc(jd));
    } else if (kn_path_parse(json_string_value(jd), &path, &col, p->err) != KN_OK) {
        char msg[sizeof p->err->msg];
        snprintf(msg, sizeof msg, "%s", p->err->msg);
        rc = doc_fail(p, p->err->code, "%s", msg);
    } else {
        void **slot = doc_defer(p, destroy_path);
        if (!slot) {
            kn_path_destroy(path);
            rc = p->err->code;
        } else {
            *slot = path;
            el->path = path;
            /* Its segments live outside the arena (about 50 MB at
             * KN_PATH_MAX_SEGMENTS), so they count like decoded pixels. */
            rc = doc_charge(p, kn_path_bytes(path));
        }
    }
    doc_pop(p, old);
    return rc;
}

/* `src` of an image: a data: URI decoded here, once, into pixels the doc
 * owns, so a bad image is a 400 before any frame is drawn. Like `d` it is
 * not a slot. The pixels count against the document's memory cap: the
 * decoder gets what is left of it and their size is added to the arena's
 * total. */
static int parse_image_src(parser *p, kn_elem *el, const json_t *js)
{
    size_t old = doc_push_key(p, "src");
    int rc = KN_OK, col = 0;
    kn_image *img = NULL;
    void **slot = NULL;
    if (!js) {
        rc = doc_fail(p, KN_EINVAL, "missing field \"src\": an image needs its pixels as a data: "
                      "URI, \"data:image/png;base64,...\" or \"data:image/jpeg;base64,...\"");
    } else if (!json_is_string(js)) {
        rc = doc_fail(p, KN_EINVAL, "expected a data: URI (a string), got %s", doc_jdesc(js));
    } else if (!(slot = doc_defer(p, destroy_image))) {   /* before decoding: no leak after */
        rc = p->err->code;
    } else {
        rc = kn_image_decode_uri(json_string_value(js), json_string_length(js),
                                 kn_arena_room(p->A), &img, &col, p->err);
        if (rc) {
            char msg[sizeof p->err->msg];
            snprintf(msg, sizeof msg, "%s", p->err->msg);
            rc = doc_fail(p, rc, "%s", msg);
        } else {
            *slot = img;
            el->image = img;
            /* Cannot fail: the decoder kept within the room it was given. */
            rc = doc_charge(p, kn_image_bytes(img));
        }
    }
    doc_pop(p, old);
    return rc;
}

/* A composition: a document of its own (own ids, vars and timeline, no
 * output), parsed here into a doc the parent owns, placed into the box x,
 * y, width, height (which default to the document's size), starting `start`
 * seconds into the parent and playing at `speed`. */
static int parse_composition(parser *p, kn_elem *el, const json_t *j)
{
    static const nrange RSTART = { 0, 0, 0 }, RSPEED = { 0, 0, R_LO | R_LO_OPEN };
    int rc = KN_OK;
    size_t old;
    el->comp_start = 0;
    el->comp_speed = 1;
    const json_t *js = json_object_get(j, "start"), *jp = json_object_get(j, "speed");
    if (js) {
        old = doc_push_key(p, "start");
        rc = doc_get_num(p, js, &RSTART, &el->comp_start);
        doc_pop(p, old);
        if (rc) return rc;
    }
    if (jp) {
        old = doc_push_key(p, "speed");
        rc = doc_get_num(p, jp, &RSPEED, &el->comp_speed);
        doc_pop(p, old);
        if (rc) return rc;
    }
    const json_t *jd = json_object_get(j, "document");
    old = doc_push_key(p, "document");
    if (!jd) {
        rc = doc_fail(p, KN_EINVAL, "missing field \"document\": a composition plays a nested job "
                      "document (without output)");
    } else if (!json_is_object(jd)) {
        rc = doc_fail(p, KN_EINVAL, "expected a job document (an object), got %s", doc_jdesc(jd));
    } else if (p->depth + 1 > KN_DOC_MAX_COMP_DEPTH) {
        rc = doc_fail(p, KN_EINVAL, "compositions nest at most %d deep", KN_DOC_MAX_COMP_DEPTH);
    } else {
        kn_doc *sub = NULL;
        char base[PATH_CAP];
        snprintf(base, sizeof base, "%s", p->path);
        /* One memory limit for the whole job: a nested document gets what
         * its parent has left and is charged to it, and so is the canvas a
         * render worker keeps for it (width x height x 4 bytes), so many
         * compositions cannot each take the full limit. */
        size_t room = kn_arena_room(p->A);
        rc = doc_parse_json(jd, &p->lim, room, base, p->depth + 1, &sub, p->err);
        if (!rc) {
            size_t used = kn_arena_total(sub->arena_);
            size_t canvas = (size_t)sub->width * (size_t)sub->height * 4;
            if (used + canvas > room) {
                rc = doc_fail(p, KN_ETOOBIG, "this composition's document and its %dx%d frames "
                              "need more memory than is left of the job's limit of %zu bytes",
                              sub->width, sub->height, p->lim.max_bytes);
                kn_doc_destroy(sub);
            } else if ((rc = doc_charge(p, used + canvas))) {
                kn_doc_destroy(sub);
            }
        }
        if (!rc) {
            void **slot = doc_defer(p, destroy_doc);
            if (!slot) {
                kn_doc_destroy(sub);
                rc = p->err->code;
            } else {
                *slot = sub;
                el->comp = sub;
                /* The box defaults to the document's own size. */
                kn_value *init = p->doc->init;
                if (!json_object_get(j, "width")) init[el->slot[KN_P_WIDTH]].num = sub->width;
                if (!json_object_get(j, "height")) init[el->slot[KN_P_HEIGHT]].num = sub->height;
            }
        }
    }
    doc_pop(p, old);
    return rc;
}

static int parse_elem(parser *p, const json_t *j, kn_elem *el, int depth)
{
    int rc;
    if (!json_is_object(j))
        return doc_fail(p, KN_EINVAL, "an element is an object with a \"type\" (%s), got %s",
                        TYPE_LIST, doc_jdesc(j));
    if (depth > KN_DOC_MAX_DEPTH)
        return doc_fail(p, KN_EINVAL, "groups nest at most %d deep", KN_DOC_MAX_DEPTH);

    const json_t *jt = json_object_get(j, "type");
    size_t old = doc_push_key(p, "type");
    int t = -1;
    if (!jt) {
        rc = doc_fail(p, KN_EINVAL, "missing field \"type\" (one of %s)", TYPE_LIST);
    } else if (!json_is_string(jt)) {
        rc = doc_fail(p, KN_EINVAL, "expected an element type (%s), got %s", TYPE_LIST,
                      doc_jdesc(jt));
    } else {
        const char *ts = json_string_value(jt);
        const char *names[KN_E_COUNT + 1], *hint;
        memcpy(names, doc_type_names, sizeof doc_type_names);
        names[KN_E_COUNT] = NULL;
        t = type_of_name(ts);
        if (t >= 0)
            rc = KN_OK;
        else if ((hint = doc_suggest(ts, names)))
            rc = doc_fail(p, KN_EINVAL, "unknown element type \"%.64s\": did you mean \"%s\"? "
                          "(allowed: %s)", ts, hint, TYPE_LIST);
        else
            rc = doc_fail(p, KN_EINVAL, "unknown element type \"%.64s\" (allowed: %s)", ts,
                          TYPE_LIST);
    }
    doc_pop(p, old);
    if (rc) return rc;
    el->type = (kn_etype)t;

    if (p->nelems >= p->nelems_max)
        return doc_fail(p, KN_EINTERNAL, "element count mismatch");
    size_t flat = p->nelems++;
    p->elems[flat] = el;

    const json_t *jid = json_object_get(j, "id");
    if (jid) {
        old = doc_push_key(p, "id");
        const char *id = json_is_string(jid) ? json_string_value(jid) : NULL;
        if (!id)
            rc = doc_fail(p, KN_EINVAL, "expected a string id, got %s", doc_jdesc(jid));
        else if (!*id)
            rc = doc_fail(p, KN_EINVAL, "an id may not be empty");
        else if (strchr(id, '.'))
            rc = doc_fail(p, KN_EINVAL, "id \"%.64s\" contains '.', which separates id and "
                          "property in targets (\"id.property\")", id);
        else if (json_object_get(p->ids, id))
            rc = doc_fail(p, KN_EINVAL, "duplicate id \"%.64s\": ids must be unique within the "
                          "document", id);
        else if (json_object_set_new(p->ids, id, json_integer((json_int_t)flat)))
            rc = doc_fail(p, KN_ENOMEM, "out of memory");
        else if (!(el->id = doc_pstrdup(p, id)))
            rc = p->err->code;
        doc_pop(p, old);
        if (rc) return rc;
    }

    for (int k = 0; k < KN_P_COUNT; k++) {
        el->slot[k] = -1;
        if (!(g_type_props[t] & PB(k))) continue;
        const char *name = el->id ? doc_pprintf(p, "%s.%s", el->id, doc_desc[k].name)
                                  : doc_pprintf(p, "#%zu.%s", flat, doc_desc[k].name);
        if (!name) return p->err->code;
        int s = doc_new_slot(p, (unsigned char)k, name);
        if (s < 0) return doc_fail(p, KN_EINTERNAL, "slot count mismatch");
        el->slot[k] = s;
        if ((rc = set_default(p, el->type, k, &p->doc->init[s]))) return rc;
    }

    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) {
        if (!strcmp(key, "type") || !strcmp(key, "id")) continue;
        if (t == KN_E_GROUP && !strcmp(key, "children")) continue;
        if (t == KN_E_PATH && !strcmp(key, "d")) continue;
        if (t == KN_E_IMAGE && !strcmp(key, "src")) continue;
        if (t == KN_E_PLOT && (!strcmp(key, "ticks") || !strcmp(key, "series"))) continue;
        if (t == KN_E_COMPOSITION &&
            (!strcmp(key, "document") || !strcmp(key, "start") || !strcmp(key, "speed")))
            continue;
        int prop = -1;
        for (int k = 0; k < KN_P_COUNT; k++)
            if ((g_type_props[t] & PB(k)) && !strcmp(doc_desc[k].name, key)) prop = k;
        old = doc_push_key(p, key);
        if (prop < 0) {
            const char *names[ELEM_FIELDS_MAX + 1], *hint;
            char list[384];
            elem_fields(el->type, names);
            join_names(names, list, sizeof list);
            int paint = 0;
            for (int k = 0; k < KN_P_COUNT; k++)
                if ((PAINT & PB(k)) && !strcmp(doc_desc[k].name, key)) paint = 1;
            if (paint && t == KN_E_PLOT)
                rc = doc_fail(p, KN_EINVAL, "a plot has no \"%.32s\": its colours come from its "
                              "style and series (allowed: %s)", key, list);
            else if (paint)
                rc = doc_fail(p, KN_EINVAL, "%s %s has no paint of its own, so no \"%.32s\": give "
                              "it to the shapes %s, or put a rect behind it (allowed: %s)",
                              doc_type_article(t), doc_type_names[t], key,
                              t == KN_E_GROUP ? "among its children" :
                              t == KN_E_COMPOSITION ? "of its document" : "around it", list);
            else if ((hint = doc_suggest(key, names)))
                rc = doc_fail(p, KN_EINVAL, "unknown field \"%.64s\" for %s %s: did you mean "
                              "\"%s\"? (allowed: %s)", key, doc_type_article(t),
                              doc_type_names[t], hint, list);
            else
                rc = doc_fail(p, KN_EINVAL, "unknown field \"%.64s\" for %s %s (allowed: %s)",
                              key, doc_type_article(t), doc_type_names[t], list);
        } else {
            p->calc_slot = el->slot[prop];
            rc = doc_parse_value(p, v, &doc_desc[prop], &p->doc->init[el->slot[prop]]);
            p->calc_slot = -1;
            if (p->grad) el->grad[prop == KN_P_STROKE] = p->grad;
            p->grad = NULL;
        }
        doc_pop(p, old);
        if (rc) return rc;
    }

    uint64_t req = g_type_required[t];
    for (int k = 0; k < KN_P_COUNT; k++) {
        if (!(req & PB(k)) || json_object_get(j, doc_desc[k].name)) continue;
        char want[96];
        doc_range_text(&doc_desc[k].range, want, sizeof want);
        old = doc_push_key(p, doc_desc[k].name);
        rc = doc_fail(p, KN_EINVAL, "missing field \"%s\": %s %s needs it (%s)", doc_desc[k].name,
                      doc_type_article(t), doc_type_names[t], want);
        doc_pop(p, old);
        return rc;
    }

    if (t == KN_E_PATH && (rc = parse_path_data(p, el, json_object_get(j, "d")))) return rc;
    if (t == KN_E_COMPOSITION && (rc = parse_composition(p, el, j))) return rc;
    if (t == KN_E_IMAGE && (rc = parse_image_src(p, el, json_object_get(j, "src")))) return rc;
    if (t == KN_E_PLOT && (rc = doc_parse_plot(p, el, flat, j))) return rc;

    if (t == KN_E_GROUP) {
        const json_t *ch = json_object_get(j, "children");
        if (ch) {
            old = doc_push_key(p, "children");
            rc = doc_parse_elems(p, ch, depth + 1, &el->children, &el->nchildren);
            doc_pop(p, old);
            if (rc) return rc;
        }
    }
    return KN_OK;
}

int doc_parse_elems(parser *p, const json_t *arr, int depth, kn_elem **out, size_t *nout)
{
    if (!json_is_array(arr))
        return doc_fail(p, KN_EINVAL, "expected an array of elements, got %s", doc_jdesc(arr));
    size_t n = json_array_size(arr);
    *out = NULL;
    *nout = 0;
    if (!n) return KN_OK;
    kn_elem *els = doc_palloc(p, n, sizeof *els);
    if (!els) return p->err->code;
    for (size_t i = 0; i < n; i++) {
        size_t old = doc_push_idx(p, i);
        int rc = parse_elem(p, json_array_get(arr, i), &els[i], depth);
        doc_pop(p, old);
        if (rc) return rc;
    }
    *out = els;
    *nout = n;
    return KN_OK;
}

