/*
 * doc/timeline.c - what animates a document: targets ("<id>.<property>",
 * "<series id>.<property>" or a var name) and the values given to them, the
 * timeline's scenes (tween, set, wait, sequence, parallel) with their
 * modifiers and easing, and the per-frame entries of "frames".
 *
 * Everything here refers to slots that root.c, elements.c and plot.c have
 * already made, so the timeline and frames are parsed after the elements
 * whatever the key order. Invariants: every target value is of its slot's
 * kind (doc_desc); a slot an element expression computes and a gradient
 * fill or stroke are never targets, and a slot with no initial value (an
 * origin left to default) is only tweened from an explicit value; an array
 * slot keeps its length in every tween, and in every set when it is also
 * tweened somewhere (doc_check_set_lengths, once every scene is read);
 * scene lengths are finite, >= 0 and <= KN_DOC_MAX_SECONDS after every
 * modifier.
 */
#include "doc/parser.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/easing.h"

/* ---- targets ---------------------------------------------------------- */

/* The key of obj (ids or vars) that got is most likely a typo of, or NULL
 * (doc_suggest). Only called on the way to an error. */
static const char *suggest_key(const json_t *obj, const char *got)
{
    size_t n = json_object_size(obj), i = 0;
    const char **names = malloc((n + 1) * sizeof *names);
    if (!names) return NULL;   /* no suggestion; the error stands */
    const char *key, *hint;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) names[i++] = key;
    names[i] = NULL;
    hint = doc_suggest(got, names);
    free(names);
    return hint;
}

/* "<series id>.<prop>": code is the negative value p->ids holds for a
 * series (see plot.c). */
static int resolve_series_target(parser *p, const char *key, const char *prop, json_int_t code,
                                 int *slot)
{
    static const char *const LINE_PROPS[] = { "x", "y", "color", "width", NULL };
    static const char *const HEAT_PROPS[] = { "data", NULL };
    json_int_t c = -1 - code;
    const kn_elem *el = p->elems[c >> 16];
    const kn_series *s = &el->plot->series[c & 0xffff];
    int heat = s->type == KN_SER_HEATMAP;
    if (!heat && !strcmp(prop, "x")) *slot = s->slot_x;
    else if (!heat && !strcmp(prop, "y")) *slot = s->slot_y;
    else if (!heat && !strcmp(prop, "color")) *slot = s->slot_color;
    else if (!heat && !strcmp(prop, "width")) *slot = s->slot_width;
    else if (heat && !strcmp(prop, "data")) *slot = s->slot_y;
    else {
        const char *hint = doc_suggest(prop, heat ? HEAT_PROPS : LINE_PROPS);
        if (hint)
            return doc_fail(p, KN_EINVAL, "unknown target \"%.64s\": a %s series has no "
                            "property \"%.32s\"; did you mean \"%s.%s\"? (it has: %s)", key,
                            heat ? "heatmap" : "plot", prop, s->id, hint,
                            heat ? "data" : "x, y, color, width");
        return doc_fail(p, KN_EINVAL, "unknown target \"%.64s\": a %s series has no property "
                        "\"%.32s\" (it has: %s)", key, heat ? "heatmap" : "plot", prop,
                        heat ? "data" : "x, y, color, width");
    }
    return KN_OK;
}

/* An element's property prop, named by target key. */
static int resolve_elem_target(parser *p, const char *key, const kn_elem *el, const char *prop,
                               int *slot)
{
    int k;
    for (k = 0; k < KN_P_COUNT; k++)
        if (el->slot[k] >= 0 && !strcmp(doc_desc[k].name, prop)) break;
    if (k == KN_P_COUNT) {
        const char *names[KN_P_COUNT + 1], *hint;
        char list[384];
        size_t len = 0, n = 0;
        list[0] = '\0';
        for (int q = 0; q < KN_P_COUNT; q++) {
            if (el->slot[q] < 0) continue;
            names[n++] = doc_desc[q].name;
            if (len >= sizeof list) continue;
            int w = snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "",
                             doc_desc[q].name);
            if (w > 0) len += (size_t)w;
        }
        names[n] = NULL;
        if ((hint = doc_suggest(prop, names)))
            return doc_fail(p, KN_EINVAL, "unknown target \"%.64s\": %s %s has no property "
                            "\"%.32s\"; did you mean \"%.*s%s\"? (it has: %s)", key,
                            doc_type_article(el->type), doc_type_names[el->type], prop,
                            (int)(prop - key > 64 ? 64 : prop - key), key, hint, list);
        return doc_fail(p, KN_EINVAL, "unknown target \"%.64s\": %s %s has no property "
                        "\"%.32s\" (it has: %s)", key, doc_type_article(el->type),
                        doc_type_names[el->type], prop, list);
    }
    if ((k == KN_P_FILL || k == KN_P_STROKE) && el->grad[k == KN_P_STROKE])
        return doc_fail(p, KN_EINVAL, "target \"%.64s\" cannot be set or tweened: %s is a "
                        "gradient, and gradients cannot be animated; animate the element's "
                        "opacity or use colours", key, doc_desc[k].name);
    *slot = el->slot[k];
    return KN_OK;
}

/* Resolves a target key at the current path (the key's own pointer). */
static int resolve_target(parser *p, const char *key, int *slot)
{
    const char *dot = strchr(key, '.');
    int rc;
    if (!dot) {
        const json_t *v = json_object_get(p->vars, key);
        const char *hint;
        if (!v && (hint = suggest_key(p->vars, key)))
            return doc_fail(p, KN_EINVAL, "unknown target \"%.64s\": no var has that name; did "
                            "you mean \"%s\"? (a target is \"<element id>.<property>\" or a var "
                            "name)", key, hint);
        if (!v)
            return doc_fail(p, KN_EINVAL, "unknown target \"%.64s\": no var has that name (a "
                            "target is \"<element id>.<property>\" or a var name)", key);
        *slot = (int)json_integer_value(v);
    } else {
        size_t nid = (size_t)(dot - key);
        const json_t *e = json_object_getn(p->ids, key, nid);
        if (!e) {
            char id[72];
            const char *hint = NULL;
            if (nid < sizeof id) {
                memcpy(id, key, nid);
                id[nid] = '\0';
                hint = suggest_key(p->ids, id);
            }
            if (hint)
                return doc_fail(p, KN_EINVAL, "unknown target \"%.64s\": no element has id "
                                "\"%s\"; did you mean \"%s%.64s\"?", key, id, hint, dot);
            return doc_fail(p, KN_EINVAL, "unknown target \"%.64s\": no element has id \"%.*s\"",
                            key, (int)(nid > 64 ? 64 : nid), key);
        }
        if (json_integer_value(e) < 0)
            rc = resolve_series_target(p, key, dot + 1, json_integer_value(e), slot);
        else
            rc = resolve_elem_target(p, key, p->elems[json_integer_value(e)], dot + 1, slot);
        if (rc) return rc;
    }
    if (p->ecalc[*slot])
        return doc_fail(p, KN_EINVAL, "target \"%.64s\" is computed by an expression every frame, "
                        "so it cannot also be set or tweened: animate a var the expression uses "
                        "instead", key);
    return KN_OK;
}

/* Checks that an array value keeps the length of its slot's init value. */
static int check_len(parser *p, int slot, const kn_value *v, const char *what)
{
    const kn_value *init = &p->doc->init[slot];
    if (init->type != KN_VT_ARRAY || v->n == init->n) return KN_OK;
    return doc_fail(p, KN_EINVAL, "%s has %zu numbers but \"%.64s\" starts with %zu: tweened "
                    "arrays must keep their length", what, v->n, p->doc->slot_name[slot], init->n);
}

/* Tween value: a valid value is the `to`; else [from, to] of valid values. */
static int parse_tween_value(parser *p, const json_t *j, int slot, kn_target *t)
{
    const pdesc *d = doc_slot_desc(p, slot);
    kn_err *saved = p->err, e1, ef, et;
    int rc, rf, rt;

    kn_err_clear(&e1);
    p->err = &e1;
    rc = doc_parse_value(p, j, d, &t->to);
    p->err = saved;
    /* A slot without a value of its own (an origin left to default to the
     * shape's centre) can be set, and tweened from an explicit value, but a
     * from-less tween has nothing to start from. */
    if (rc == KN_OK && p->doc->init[slot].type == KN_VT_NONE)
        return doc_fail(p, KN_EINVAL, "tweening \"%.64s\" needs a start value: the element gives "
                        "none (write [from, to], or give the element an \"%s\")",
                        p->doc->slot_name[slot], d->name);
    if (rc == KN_OK) return check_len(p, slot, &t->to, "the tween's value");
    if (rc != KN_EINVAL || !json_is_array(j) || json_array_size(j) != 2) {
        *saved = e1;
        return rc;
    }

    size_t old = doc_push_idx(p, 0);
    kn_err_clear(&ef);
    p->err = &ef;
    rf = doc_parse_value(p, json_array_get(j, 0), d, &t->from);
    doc_pop(p, old);
    old = doc_push_idx(p, 1);
    kn_err_clear(&et);
    p->err = &et;
    rt = doc_parse_value(p, json_array_get(j, 1), d, &t->to);
    doc_pop(p, old);
    p->err = saved;

    if (rf != KN_OK && rf != KN_EINVAL) { *saved = ef; return rf; }
    if (rt != KN_OK && rt != KN_EINVAL) { *saved = et; return rt; }
    if (rf == KN_OK && rt == KN_OK) {
        t->has_from = 1;
        old = doc_push_idx(p, 0);
        rc = check_len(p, slot, &t->from, "\"from\"");
        doc_pop(p, old);
        if (rc) return rc;
        old = doc_push_idx(p, 1);
        rc = check_len(p, slot, &t->to, "\"to\"");
        doc_pop(p, old);
        return rc;
    }
    if (rf == KN_OK) { *saved = et; return rt; }  /* looks like [from, to]: blame the bad one */
    if (rt == KN_OK) { *saved = ef; return rf; }
    *saved = e1;
    return rc;
}

static int add_check(parser *p, int slot, size_t n)
{
    if (p->nchecks == p->cap_checks) {
        size_t nc = p->cap_checks ? p->cap_checks * 2 : 16;
        set_check *c = realloc(p->checks, nc * sizeof *c);
        if (!c) return doc_fail(p, KN_ENOMEM, "out of memory");
        p->checks = c;
        p->cap_checks = nc;
    }
    char *path = strdup(p->path);
    if (!path) return doc_fail(p, KN_ENOMEM, "out of memory");
    p->checks[p->nchecks++] = (set_check){ slot, n, path };
    return KN_OK;
}

/* Compiles "=expr" (src without the '=') into an expression the doc owns.
 * Errors point at the field being parsed and give the column. */
static int compile_owned_expr(parser *p, const char *src, const kn_expr **out)
{
    kn_expr *e = NULL;
    int rc = doc_compile_owned(p, src, 0, &e, NULL);
    if (rc == KN_OK) *out = e;
    return rc;
}

/* A number target's value written as "=expr" (a tween's `to`, `set`, a
 * frame entry) or a tween's [from, to] with an expression on either side.
 * Returns 1 when v had that form and was handled (rc in *rc), else 0. */
static int parse_expr_target(parser *p, const json_t *v, int tween, kn_target *t, int *rc)
{
    if (p->doc->init[t->slot].type != KN_VT_NUM) return 0;
    const nrange *r = &doc_slot_desc(p, t->slot)->range;
    if (doc_is_expr_string(v)) {
        t->to = (kn_value){ .type = KN_VT_NUM };
        *rc = compile_owned_expr(p, json_string_value(v) + 1, &t->to_expr);
        return 1;
    }
    if (!tween || !json_is_array(v) || json_array_size(v) != 2) return 0;
    const json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
    if (!doc_is_expr_string(a) && !doc_is_expr_string(b)) return 0;
    t->has_from = 1;
    t->from = t->to = (kn_value){ .type = KN_VT_NUM };
    const json_t *side[2] = { a, b };
    kn_value *val[2] = { &t->from, &t->to };
    const kn_expr **ex[2] = { &t->from_expr, &t->to_expr };
    for (size_t k = 0; k < 2; k++) {
        size_t old = doc_push_idx(p, k);
        *rc = doc_is_expr_string(side[k])
                  ? compile_owned_expr(p, json_string_value(side[k]) + 1, ex[k])
                  : doc_get_num(p, side[k], r, &val[k]->num);
        doc_pop(p, old);
        if (*rc) return 1;
    }
    return 1;
}

/* Charges the texts a target gives its slot (doc_charge_text), at the
 * target's pointer. */
static int charge_target_text(parser *p, const kn_target *t)
{
    if (doc_slot_desc(p, t->slot)->kind != K_TEXT) return KN_OK;
    const kn_value *v[2] = { &t->from, &t->to };
    for (int k = 0; k < 2; k++) {
        if (v[k]->type != KN_VT_STR || !v[k]->str) continue;
        int rc = doc_charge_text(p, t->slot, strlen(v[k]->str));
        if (rc) return rc;
    }
    return KN_OK;
}

/* A {TARGET: value} object of a tween (tween != 0), a timeline set
 * (timeline != 0) or a frame entry. */
static int parse_targets(parser *p, const json_t *obj, int tween, int timeline,
                         kn_target **out, size_t *nout)
{
    const char *key;
    json_t *v;
    int rc = KN_OK;

    *out = NULL;
    *nout = 0;
    if (!json_is_object(obj))
        return doc_fail(p, KN_EINVAL, "expected an object of \"<id>.<property>\" or var name: "
                        "value, got %s", doc_jdesc(obj));
    size_t n = json_object_size(obj), i = 0;
    if (!n) return KN_OK;
    kn_target *ts = doc_palloc(p, n, sizeof *ts);
    if (!ts) return p->err->code;
    json_object_foreach((json_t *)obj, key, v) {
        kn_target *t = &ts[i++];
        size_t old = doc_push_key(p, key);
        rc = resolve_target(p, key, &t->slot);
        if (!rc && parse_expr_target(p, v, tween, t, &rc)) {
            if (!rc && tween) p->tweened[t->slot] = 1;
        } else if (!rc && tween) {
            rc = parse_tween_value(p, v, t->slot, t);
            if (!rc) p->tweened[t->slot] = 1;
        } else if (!rc) {
            rc = doc_parse_value(p, v, doc_slot_desc(p, t->slot), &t->to);
            if (!rc && doc_slot_desc(p, t->slot) == &doc_desc[D_SGRID] &&
                t->to.n != p->doc->init[t->slot].n)
                rc = doc_fail(p, KN_EINVAL, "heatmap data of %zu cells, but \"%.64s\" has %zu: a "
                              "heatmap keeps its shape (give all its cells, row by row)", t->to.n,
                              p->doc->slot_name[t->slot], p->doc->init[t->slot].n);
            if (!rc && timeline && t->to.type == KN_VT_ARRAY &&
                t->to.n != p->doc->init[t->slot].n)
                rc = add_check(p, t->slot, t->to.n);
        }
        if (!rc) rc = charge_target_text(p, t);
        doc_pop(p, old);
        if (rc) return rc;
    }
    *out = ts;
    *nout = n;
    return KN_OK;
}

/* ---- scenes ----------------------------------------------------------- */

static const char *const SCENE_KINDS[] = { "tween", "set", "wait", "sequence", "parallel", NULL };
static const char *const SCENE_KEYS[] = { "tween", "set", "wait", "sequence", "parallel", "crop",
                                          "reverse", "easing", "speed", "duration", "repeat",
                                          NULL };

/* Remembers the longest scene length that looks like milliseconds and
 * p->path, where it is, for the hint root.c adds if the timeline turns out
 * too long: the longest is the likeliest culprit. */
static void note_ms(parser *p, double v)
{
    if (!doc_ms_like(v) || (p->ms_path[0] && v <= p->ms_value)) return;
    p->ms_value = v;
    snprintf(p->ms_path, sizeof p->ms_path, "%s", p->path);
}

static int parse_easing(parser *p, const json_t *j, kn_easing *e)
{
    if (json_is_string(j)) return kn_easing_lookup(json_string_value(j), e, p->path, p->err);
    if (!json_is_object(j))
        return doc_fail(p, KN_EINVAL, "expected an easing name or {\"name\": ..., parameters}, "
                        "got %s", doc_jdesc(j));
    const json_t *jn = json_object_get(j, "name");
    size_t old = doc_push_key(p, "name");
    int rc;
    if (!jn)
        rc = doc_fail(p, KN_EINVAL, "missing field \"name\": the easing's name, e.g. "
                      "\"easeOutElastic\"");
    else if (!json_is_string(jn))
        rc = doc_fail(p, KN_EINVAL, "expected an easing name, got %s", doc_jdesc(jn));
    else
        rc = kn_easing_lookup(json_string_value(jn), e, p->path, p->err);
    doc_pop(p, old);
    if (rc) return rc;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) {
        if (!strcmp(key, "name")) continue;
        double x = 0;
        old = doc_push_key(p, key);
        rc = doc_get_num(p, v, &R_ANY, &x);
        if (!rc) rc = kn_easing_set_param(e, key, x, p->path, p->err);
        doc_pop(p, old);
        if (rc) return rc;
    }
    return KN_OK;
}

static int parse_scene_list(parser *p, const json_t *arr, kn_scene *sc, int depth)
{
    if (!json_is_array(arr))
        return doc_fail(p, KN_EINVAL, "expected an array of scenes, got %s", doc_jdesc(arr));
    size_t n = json_array_size(arr);
    sc->base = 0;
    if (!n) return KN_OK;
    sc->children = doc_palloc(p, n, sizeof *sc->children);
    if (!sc->children) return p->err->code;
    if (sc->type == KN_S_SEQUENCE) {
        sc->child_start = doc_palloc(p, n, sizeof *sc->child_start);
        if (!sc->child_start) return p->err->code;
    }
    for (size_t i = 0; i < n; i++) {
        size_t old = doc_push_idx(p, i);
        int rc = doc_parse_scene(p, json_array_get(arr, i), &sc->children[i], depth + 1);
        doc_pop(p, old);
        if (rc) return rc;
        double len = sc->children[i].length;
        if (sc->type == KN_S_SEQUENCE) {
            sc->child_start[i] = sc->base;
            sc->base += len;
        } else if (len > sc->base) {
            sc->base = len;
        }
        sc->nchildren = i + 1;
        if (sc->base > KN_DOC_MAX_SECONDS)
            return doc_fail(p, KN_EINVAL, "the scene lasts %g s, more than the %g s allowed",
                            sc->base, KN_DOC_MAX_SECONDS);
    }
    return KN_OK;
}

int doc_parse_scene(parser *p, const json_t *j, kn_scene *sc, int depth)
{
    const char *key, *kind = NULL;
    json_t *v, *body = NULL;
    size_t old;
    int rc;

    memset(sc, 0, sizeof *sc);
    sc->speed = 1;
    sc->repeat = 1;
    if (!json_is_object(j))
        return doc_fail(p, KN_EINVAL, "expected a scene object (tween, set, wait, sequence or "
                        "parallel), got %s", doc_jdesc(j));
    if (depth > KN_DOC_MAX_DEPTH)
        return doc_fail(p, KN_EINVAL, "scenes nest at most %d deep", KN_DOC_MAX_DEPTH);
    if (++p->nscenes > KN_DOC_MAX_SCENES)
        return doc_fail(p, KN_ETOOBIG, "the timeline has more than %d scenes", KN_DOC_MAX_SCENES);
    if ((rc = doc_check_keys(p, j, SCENE_KEYS))) return rc;

    json_object_foreach((json_t *)j, key, v) {
        int is_kind = 0;
        for (const char *const *k = SCENE_KINDS; *k; k++)
            if (!strcmp(*k, key)) is_kind = 1;
        if (!is_kind) continue;
        if (kind) {
            old = doc_push_key(p, key);
            rc = doc_fail(p, KN_EINVAL, "a scene has exactly one of tween, set, wait, sequence, "
                          "parallel; this one has both \"%s\" and \"%s\"", kind, key);
            doc_pop(p, old);
            return rc;
        }
        kind = key;
        body = v;
    }
    if (!kind)
        return doc_fail(p, KN_EINVAL, "a scene needs one of tween, set, wait, sequence, parallel");

    const json_t *jdur = json_object_get(j, "duration");
    old = doc_push_key(p, kind);
    if (!strcmp(kind, "tween")) {
        sc->type = KN_S_TWEEN;
        rc = parse_targets(p, body, 1, 1, &sc->targets, &sc->ntargets);
    } else if (!strcmp(kind, "set")) {
        sc->type = KN_S_SET;
        rc = parse_targets(p, body, 0, 1, &sc->targets, &sc->ntargets);
    } else if (!strcmp(kind, "wait")) {
        static const nrange RW = { 0, KN_DOC_MAX_SECONDS, R_LO | R_HI };
        sc->type = KN_S_WAIT;
        rc = doc_get_num(p, body, &RW, &sc->base);
        if (!rc) note_ms(p, sc->base);
    } else {
        sc->type = !strcmp(kind, "sequence") ? KN_S_SEQUENCE : KN_S_PARALLEL;
        rc = parse_scene_list(p, body, sc, depth);
    }
    doc_pop(p, old);
    if (rc) return rc;

    static const nrange RD = { 0, KN_DOC_MAX_SECONDS, R_LO | R_HI };
    if (sc->type == KN_S_TWEEN) {
        old = doc_push_key(p, "duration");
        if (!jdur)
            rc = doc_fail(p, KN_EINVAL, "missing field \"duration\": a tween needs its length in "
                          "seconds (a number >= 0)");
        else
            rc = doc_get_num(p, jdur, &RD, &sc->base);
        if (!rc) note_ms(p, sc->base);
        doc_pop(p, old);
        if (rc) return rc;
    } else if (jdur && (sc->type == KN_S_SET || sc->type == KN_S_WAIT)) {
        old = doc_push_key(p, "duration");
        rc = doc_fail(p, KN_EINVAL, "a %s takes no \"duration\" (%s)", kind,
                      sc->type == KN_S_SET ? "it applies at once"
                                           : "its length is the \"wait\" value");
        doc_pop(p, old);
        return rc;
    }
    double D = sc->base;

    const json_t *jc = json_object_get(j, "crop");
    if (jc) {
        old = doc_push_key(p, "crop");
        double ab[2] = { 0, 0 };
        if (D <= 0)
            rc = doc_fail(p, KN_EINVAL, "cannot crop a scene of length 0");
        else
            rc = doc_parse_xy(p, jc, "[a, b] with 0 <= a < b <= the scene's length", ab);
        if (!rc && !(ab[0] >= 0 && ab[0] < ab[1] && ab[1] <= D * (1 + 1e-9)))
            rc = doc_fail(p, KN_EINVAL, "crop [%g, %g] is out of range: need 0 <= a < b <= %g (the "
                          "scene's length)", ab[0], ab[1], D);
        doc_pop(p, old);
        if (rc) return rc;
        sc->has_crop = 1;
        sc->crop_a = ab[0];
        sc->crop_b = ab[1] > D ? D : ab[1];
        D = sc->crop_b - sc->crop_a;
    }

    const json_t *jr = json_object_get(j, "reverse");
    if (jr) {
        old = doc_push_key(p, "reverse");
        if (!json_is_boolean(jr))
            rc = doc_fail(p, KN_EINVAL, "expected true or false, got %s", doc_jdesc(jr));
        doc_pop(p, old);
        if (rc) return rc;
        sc->reverse = json_is_true(jr);
    }

    const json_t *je = json_object_get(j, "easing");
    if (je) {
        old = doc_push_key(p, "easing");
        rc = parse_easing(p, je, &sc->easing);
        doc_pop(p, old);
        if (rc) return rc;
        sc->has_easing = 1;
    }

    const json_t *js = json_object_get(j, "speed");
    if (js) {
        old = doc_push_key(p, "speed");
        rc = doc_get_num(p, js, &R_POS, &sc->speed);
        doc_pop(p, old);
        if (rc) return rc;
        D /= sc->speed;
    }

    if (jdur && (sc->type == KN_S_SEQUENCE || sc->type == KN_S_PARALLEL)) {
        static const nrange RT = { 0, KN_DOC_MAX_SECONDS, R_LO | R_LO_OPEN | R_HI };
        old = doc_push_key(p, "duration");
        if (js)
            rc = doc_fail(p, KN_EINVAL, "give \"speed\" or \"duration\", not both");
        else if (D <= 0)
            rc = doc_fail(p, KN_EINVAL, "cannot stretch a %s of length 0 to a duration", kind);
        else
            rc = doc_get_num(p, jdur, &RT, &sc->duration);
        if (!rc) note_ms(p, sc->duration);
        doc_pop(p, old);
        if (rc) return rc;
        sc->has_duration = 1;
        D = sc->duration;
    }

    const json_t *jrep = json_object_get(j, "repeat");
    if (jrep) {
        static const nrange RR = { 1, INT_MAX, R_LO | R_HI | R_INT };
        double r = 1;
        old = doc_push_key(p, "repeat");
        rc = doc_get_num(p, jrep, &RR, &r);
        doc_pop(p, old);
        if (rc) return rc;
        sc->repeat = (int)r;
        D *= sc->repeat;
    }

    if (!isfinite(D) || D > KN_DOC_MAX_SECONDS)
        return doc_fail(p, KN_EINVAL, "the scene lasts %g s after its modifiers, more than the %g "
                        "s allowed", D, KN_DOC_MAX_SECONDS);
    sc->length = D;
    return KN_OK;
}

int doc_check_set_lengths(parser *p)
{
    for (size_t i = 0; i < p->nchecks; i++) {
        const set_check *c = &p->checks[i];
        if (!p->tweened[c->slot]) continue;
        snprintf(p->path, sizeof p->path, "%s", c->path);
        p->plen = strlen(p->path);
        int rc = doc_fail(p, KN_EINVAL, "the set gives %zu numbers but \"%.64s\" starts with %zu "
                          "and is tweened: tweened arrays must keep their length", c->n,
                          p->doc->slot_name[c->slot], p->doc->init[c->slot].n);
        doc_pop(p, p->base_len);
        return rc;
    }
    return KN_OK;
}

/* ---- frames ----------------------------------------------------------- */

static int cmp_frame(const void *a, const void *b)
{
    const frame_tmp *x = a, *y = b;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void doc_frame_path(parser *p, const frame_tmp *f)
{
    doc_pop(p, p->base_len);
    doc_push_key(p, "frames");
    doc_push_idx(p, f->pos);
    if (f->explicit_index) doc_push_key(p, "index");
}

int doc_parse_frames(parser *p, const json_t *j, frame_tmp **out, size_t *nout)
{
    static const char *const KEYS[] = { "set", "index", NULL };
    static const nrange RI = { 0, 0, R_INT };
    size_t old = doc_push_key(p, "frames");
    int rc = KN_OK;
    frame_tmp *fs = NULL;
    size_t n = 0;

    if (!json_is_array(j)) {
        rc = doc_fail(p, KN_EINVAL, "expected an array of {\"set\": {...}, \"index\": k}, got %s",
                      doc_jdesc(j));
        goto out;
    }
    n = json_array_size(j);
    if (n > (size_t)p->lim.max_frames) {
        rc = doc_fail(p, KN_EINVAL, "%zu frame entries are more than the limit of %ld frames", n,
                      p->lim.max_frames);
        goto out;
    }
    fs = calloc(n ? n : 1, sizeof *fs);
    if (!fs) {
        rc = doc_fail(p, KN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(j, i);
        size_t o2 = doc_push_idx(p, i);
        frame_tmp *f = &fs[i];
        f->pos = i;
        f->index = (double)i;
        if (!json_is_object(e)) {
            rc = doc_fail(p, KN_EINVAL, "expected {\"set\": {...}} with an optional \"index\", "
                          "got %s", doc_jdesc(e));
        } else if (!(rc = doc_check_keys(p, e, KEYS))) {
            const json_t *ji = json_object_get(e, "index");
            if (ji) {
                size_t o3 = doc_push_key(p, "index");
                rc = doc_get_num(p, ji, &RI, &f->index);
                if (!rc && f->index < 0)
                    rc = doc_fail(p, KN_EINVAL, "frame index %g is negative: frames count from 0",
                                  f->index);
                doc_pop(p, o3);
                f->explicit_index = 1;
            }
            const json_t *js = json_object_get(e, "set");
            size_t o3 = doc_push_key(p, "set");
            if (!rc && !js)
                rc = doc_fail(p, KN_EINVAL, "missing field \"set\": an entry is {\"set\": {TARGET: "
                              "value, ...}}");
            else if (!rc)
                rc = parse_targets(p, js, 0, 0, &f->sets, &f->nsets);
            doc_pop(p, o3);
        }
        doc_pop(p, o2);
        if (rc) goto out;
    }
    qsort(fs, n, sizeof *fs, cmp_frame);

    /* Of several entries for one frame, blame the one that comes latest in
     * a pair, choosing the earliest such in the document. */
    const frame_tmp *dup = NULL;
    for (size_t i = 1; i < n; i++)
        if (fs[i].index == fs[i - 1].index && (!dup || fs[i].pos < dup->pos)) dup = &fs[i];
    if (dup) {
        doc_frame_path(p, dup);
        rc = doc_fail(p, KN_EINVAL, "frame %.0f has two entries: each frame may have at most one",
                      dup->index);
        doc_pop(p, p->base_len);
        goto out;
    }
out:
    doc_pop(p, old);
    if (rc) {
        free(fs);
        fs = NULL;
        n = 0;
    }
    *out = fs;
    *nout = n;
    return rc;
}

