/*
 * doc/root.c - kn_doc_parse and the rest of doc/doc.h, and the root object
 * of a job document: its size, rate and length, background, metadata and
 * vars, and the order in which the parts are parsed (parser.h lists them).
 *
 * Invariants (on top of doc.h's):
 *  - parsing order is fixed whatever the key order of the document: top
 *    level, output, vars, elements, timeline, frames, then the video's
 *    length. Vars are slots 0..nvars-1, then each element's properties in
 *    document order; the pre-pass sizes init and slot_name exactly, so they
 *    never move.
 *  - N = round(duration * fps), else round(timeline length * fps) for a
 *    timeline of length > 0, else the largest frame index + 1; an N outside
 *    1..max_frames, or over max_pixels_frames with the frame size, is a
 *    KN_EINVAL at the field the length came from (/duration, /timeline or
 *    /frames), since the client can shorten the job. doc->duration = N / fps.
 *  - a failed kn_doc_parse stores nothing in *out and leaves err with valid
 *    UTF-8 (messages quote keys cut to a byte count).
 *  - jansson's tree of the text lives in a scratch arena (doc/jsonmem.c) and
 *    is released before kn_doc_parse returns, on every path.
 */
#include "doc/parser.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/jsonmem.h"
#include "doc/jsonread.h"
#include "lang/color.h"
#include "lang/easing.h"

/* A doc's arena grows 64 KiB at a time: a composition's small document
 * stays small, and per-chunk waste stays far below the memory limit. */
#define DOC_CHUNK ((size_t)64 * 1024)

/* The names every expression may use, in KN_XV_* order. */
static const char *const XV_NAMES[KN_XV_VARS] = {
    "t", "frame", "n_frames", "duration", "fps", "width", "height", "x", "i"
};

/* ---- fps ---------------------------------------------------------------- */

/* fps as an exact fraction: the NTSC rates (23.976 or 24000/1001.0, ...)
 * as k*1000/1001, integers as n/1, anything else as the closest fraction
 * with a denominator up to 10^6. */
static int fps_rational(parser *p, double fps, int *num, int *den)
{
    static const struct { double dec; int num; } ntsc[] = {
        { 23.976, 24000 }, { 29.97, 30000 }, { 59.94, 60000 }, { 119.88, 120000 },
    };
    for (size_t i = 0; i < sizeof ntsc / sizeof ntsc[0]; i++) {
        if (fabs(fps - ntsc[i].dec) < 1e-9 || fabs(fps - ntsc[i].num / 1001.0) < 1e-9) {
            *num = ntsc[i].num;
            *den = 1001;
            return KN_OK;
        }
    }
    if (fps == floor(fps)) {
        *num = (int)fps;
        *den = 1;
        return KN_OK;
    }
    /* The closest fraction with a denominator up to 10^6 (continued
     * fractions, then the best semiconvergent, as Python's
     * Fraction.limit_denominator), stopping early at one that equals fps to
     * 12 digits: 12.5 is 25/2, 0.333333 is 333333/1000000, 1/3 is 1/3. */
    const long maxden = 1000000;
    long h0 = 0, k0 = 1, h1 = 1, k1 = 0;
    double r = fps;
    int capped = 0;
    for (int it = 0; it < 64; it++) {
        double a = floor(r);
        if (a > (double)maxden || (long)a * k1 + k0 > maxden) {
            capped = 1;
            break;
        }
        long h2 = (long)a * h1 + h0, k2 = (long)a * k1 + k0;
        h0 = h1, k0 = k1, h1 = h2, k1 = k2;
        if (fabs(fps - (double)h1 / (double)k1) <= 1e-12 * fps || r == a) break;
        r = 1 / (r - a);
    }
    if (capped && k1 > 0) {
        long m = (maxden - k0) / k1;
        long hs = h0 + m * h1, ks = k0 + m * k1;
        if (fabs(fps - (double)hs / (double)ks) < fabs(fps - (double)h1 / (double)k1))
            h1 = hs, k1 = ks;
    }
    if (h1 < 1 || k1 < 1) {
        char got[32];
        return doc_fail(p, KN_EINVAL, "fps %s is too small: the slowest rate is 0.000001 (one "
                        "frame in about 11.6 days)", doc_num_text(fps, got));
    }
    *num = (int)h1;
    *den = (int)k1;
    return KN_OK;
}

/* ---- vars ------------------------------------------------------------- */

static const char *const RESERVED[] = {
    "t", "frame", "n_frames", "duration", "fps", "width", "height", "pi", "e", "x", "i",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sqrt", "exp", "log", "log10",
    "pow", "abs", "min", "max", "floor", "ceil", "round", "clamp", "lerp", "mod", NULL
};

static int is_ident(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return 0;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

/* Each var becomes a slot of the kind its value has (number, boolean,
 * colour, string, array), or, written "=expr", a number computed every
 * frame. Number and boolean vars become names expressions may use, each
 * visible to the expressions of the vars after it. */
static int parse_vars(parser *p, const json_t *j)
{
    const char *key;
    json_t *v;
    int rc = KN_OK;
    size_t old = doc_push_key(p, "vars");

    if (!json_is_object(j)) {
        rc = doc_fail(p, KN_EINVAL, "expected an object of name: value, got %s", doc_jdesc(j));
        goto out;
    }
    json_object_foreach((json_t *)j, key, v) {
        size_t o2 = doc_push_key(p, key);
        kn_easing dummy;
        int reserved = 0;
        for (const char *const *r = RESERVED; *r; r++)
            if (strcmp(*r, key) == 0) reserved = 1;
        if (!is_ident(key))
            rc = doc_fail(p, KN_EINVAL, "var name \"%.64s\" is not an identifier (a letter or '_' "
                          "followed by letters, digits or '_')", key);
        else if (reserved || kn_easing_by_name(key, &dummy))
            rc = doc_fail(p, KN_EINVAL, "var name \"%.64s\" is reserved for expressions (t, frame, "
                          "n_frames, duration, fps, width, height, pi, e, x, i, the functions and "
                          "the easing names)", key);
        if (rc) {
            doc_pop(p, o2);
            goto out;
        }

        unsigned char kind;
        kn_value val;
        memset(&val, 0, sizeof val);
        if (doc_is_expr_string(v)) {
            /* A computed var: a number, evaluated each frame before the
             * timeline; it may use the vars defined before it. */
            const char *name = doc_pstrdup(p, key);
            int slot = name ? doc_new_slot(p, D_VNUM, name) : -1;
            if (!name) rc = p->err->code;
            else if (slot < 0) rc = doc_fail(p, KN_EINTERNAL, "slot count mismatch");
            else rc = doc_add_calc(p, KN_CALC_NUM, slot, 1, json_string_value(v) + 1);
            if (!rc) {
                p->doc->init[slot] = (kn_value){ .type = KN_VT_NUM };
                p->names[p->nnames++] = (kn_expr_var){ name, KN_XV_VARS + slot };
                if (json_object_set_new(p->vars, key, json_integer(slot)))
                    rc = doc_fail(p, KN_ENOMEM, "out of memory");
            }
            doc_pop(p, o2);
            if (rc) goto out;
            continue;
        }
        if (json_is_number(v)) {
            kind = D_VNUM;
        } else if (json_is_boolean(v)) {
            kind = D_VBOOL;
        } else if (json_is_string(v)) {
            kn_err scratch;
            kn_color c;
            const char *s = json_string_value(v);
            kind = (s[0] != '=' && kn_color_parse(s, &c, NULL, &scratch) == KN_OK) ? D_VCOLOR
                                                                                   : D_VSTR;
        } else if (json_is_array(v) || doc_is_linspace(v)) {
            kind = D_VARR;
        } else {
            rc = doc_fail(p, KN_EINVAL, "a var is a number, a colour, a string, a boolean or an "
                          "array of numbers; got %s", doc_jdesc(v));
            doc_pop(p, o2);
            goto out;
        }
        rc = doc_parse_value(p, v, &doc_desc[kind], &val);
        if (!rc) {
            const char *name = doc_pstrdup(p, key);
            int slot = name ? doc_new_slot(p, kind, name) : -1;
            if (!name)
                rc = p->err->code;
            else if (slot < 0)
                rc = doc_fail(p, KN_EINTERNAL, "slot count mismatch");
            else if (json_object_set_new(p->vars, key, json_integer(slot)))
                rc = doc_fail(p, KN_ENOMEM, "out of memory");
            else
                p->doc->init[slot] = val;
            /* Number and boolean vars can be used in expressions. */
            if (!rc && (kind == D_VNUM || kind == D_VBOOL))
                p->names[p->nnames++] = (kn_expr_var){ name, KN_XV_VARS + slot };
        }
        doc_pop(p, o2);
        if (rc) goto out;
    }
out:
    doc_pop(p, old);
    return rc;
}

/* ---- the document ----------------------------------------------------- */

void kn_doc_limits_default(kn_doc_limits *l)
{
    if (!l) return;
    l->max_frames = 100000;
    l->max_pixels_frames = 1920.0 * 1080 * 36000;
    l->max_bytes = (size_t)256 * 1024 * 1024;
}

static void mark_targets(const kn_scene *sc, unsigned char *anim)
{
    for (size_t i = 0; i < sc->ntargets; i++) anim[sc->targets[i].slot] = 1;
    for (size_t i = 0; i < sc->nchildren; i++) mark_targets(&sc->children[i], anim);
}

static int calc_uses_animated(const kn_calc *c, const kn_doc *doc, const unsigned char *anim)
{
#define USES(i) (c->expr ? kn_expr_uses(c->expr, (i)) : kn_template_uses(c->tmpl, (i)))
    if (USES(KN_XV_T) || USES(KN_XV_FRAME)) return 1;
    if (c->kind == KN_CALC_SERIES_Y && anim[c->src]) return 1;
    for (size_t v = 0; v < doc->nvars; v++)
        if (anim[v] && USES(KN_XV_VARS + (int)v)) return 1;
#undef USES
    return 0;
}

/* Orders the calcs (vars first), decides which may change between frames,
 * and records which slots are animated: targeted by the timeline or a frame
 * entry, or written by a calc that depends on t, frame or an animated var.
 * Renderers use doc->animated to draw what never changes only once. */
static int finish_calcs(parser *p)
{
    kn_doc *doc = p->doc;
    doc->animated = doc_palloc(p, doc->nslots ? doc->nslots : 1, 1);
    if (!doc->animated) return p->err->code;
    unsigned char *anim = doc->animated;
    if (doc->timeline) mark_targets(doc->timeline, anim);
    for (size_t f = 0; f < doc->nframes_entries; f++)
        for (size_t i = 0; i < doc->frames[f].nsets; i++) anim[doc->frames[f].sets[i].slot] = 1;
    if (!p->ncalcs) return KN_OK;
    doc->calcs = doc_palloc(p, p->ncalcs, sizeof *doc->calcs);
    if (!doc->calcs) return p->err->code;
    size_t n = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < p->ncalcs; i++)
            if (p->calcs[i].is_var == pass) doc->calcs[n++] = p->calcs[i];
    doc->ncalcs = n;
    /* In evaluation order, so a var computed from an animated var is itself
     * animated before later calcs look at it. */
    for (size_t i = 0; i < n; i++) {
        kn_calc *c = &doc->calcs[i];
        c->dynamic = calc_uses_animated(c, doc, anim);
        if (c->dynamic) anim[c->slot] = 1;
    }
    return KN_OK;
}

/* The tail of the message refusing a video that is too long, when the
 * length it came from looks like milliseconds: the top-level duration if a
 * thousandth of it makes a video within the limits, or the longest such
 * scene length of the timeline (timeline.c notes it). "" otherwise. */
static const char *ms_hint(const parser *p, const char *from, double duration,
                           char buf[PATH_CAP + 96])
{
    const kn_doc *doc = p->doc;
    char s[32];
    if (!strcmp(from, "duration")) {
        double nd = floor(duration / 1000 * doc->fps_num / doc->fps_den + 0.5);
        if (nd < 1 || nd > (double)p->lim.max_frames ||
            nd * doc->width * doc->height > p->lim.max_pixels_frames)
            return "";
        return doc_ms_hint(duration, buf);
    }
    if (strcmp(from, "timeline") || !p->ms_path[0]) return "";
    snprintf(buf, PATH_CAP + 96, " (durations are in seconds: did you mean %s at %s?)",
             doc_num_text(p->ms_value / 1000, s), p->ms_path);
    return buf;
}

static int parse_root(parser *p, const json_t *root)
{
    static const char *const KEYS[] = { "width", "height", "fps", "duration", "background",
                                        "vars", "elements", "timeline", "frames", "output",
                                        "metadata", NULL };
    static const nrange RW = { KN_FRAME_MIN_W, KN_FRAME_MAX_W, R_LO | R_HI | R_INT };
    static const nrange RH = { KN_FRAME_MIN_H, KN_FRAME_MAX_H, R_LO | R_HI | R_INT };
    static const nrange RF = { 0, 240, R_LO | R_LO_OPEN | R_HI };
    kn_doc *doc = p->doc;
    frame_tmp *fr = NULL;
    size_t nfr = 0;
    size_t old;
    int rc;
    long w = 0, h = 0;

    if (!json_is_object(root))
        return doc_fail(p, KN_EINVAL, "a job document is a JSON object, got %s", doc_jdesc(root));
    if ((rc = doc_check_keys(p, root, KEYS))) return rc;

    if ((rc = doc_get_int_field(p, root, "width", 1, &RW, &w, NULL)) ||
        (rc = doc_get_int_field(p, root, "height", 1, &RH, &h, NULL)))
        return rc;
    doc->width = (int)w;
    doc->height = (int)h;

    const json_t *jf = json_object_get(root, "fps");
    old = doc_push_key(p, "fps");
    if (!jf)
        rc = doc_fail(p, KN_EINVAL, "missing field \"fps\" (a number > 0 and <= 240)");
    else if (!(rc = doc_get_num(p, jf, &RF, &doc->fps)))
        rc = fps_rational(p, doc->fps, &doc->fps_num, &doc->fps_den);
    doc_pop(p, old);
    if (rc) return rc;
    doc->fps = (double)doc->fps_num / doc->fps_den;

    const json_t *jd = json_object_get(root, "duration");
    double duration = 0;
    if (jd) {
        old = doc_push_key(p, "duration");
        rc = doc_get_num(p, jd, &R_POS, &duration);
        doc_pop(p, old);
        if (rc) return rc;
    }

    doc->background = (kn_color){ 0, 0, 0, 1 };
    const json_t *jb = json_object_get(root, "background");
    if (jb) {
        kn_value v;
        static const pdesc BG = { "background", K_COLOR, { 0, 0, 0 }, NULL };
        old = doc_push_key(p, "background");
        if (json_is_object(jb))
            rc = doc_fail(p, KN_EINVAL, "expected a colour, got an object");
        else
            rc = doc_parse_value(p, jb, &BG, &v);
        doc_pop(p, old);
        if (rc) return rc;
        doc->background = v.color;
    }

    if (p->depth > 0 && json_object_get(root, "output")) {
        old = doc_push_key(p, "output");
        rc = doc_fail(p, KN_EINVAL, "a composition's document has no output: the job's output "
                      "encodes the whole video");
        doc_pop(p, old);
        return rc;
    }
    if ((rc = doc_parse_output(p, json_object_get(root, "output")))) return rc;

    /* mp4 and webm are 4:2:0: chroma is subsampled 2x2, so both sizes are
     * even. A GIF's frames are palette images of any size, and a
     * composition's document is only ever drawn into its parent. */
    if ((doc->width % 2 || doc->height % 2) && p->depth == 0 &&
        doc->output.format != KN_FORMAT_GIF) {
        int wodd = doc->width % 2;
        old = doc_push_key(p, wodd ? "width" : "height");
        rc = doc_fail(p, KN_EINVAL, "%s %d is odd: %s (yuv420p) needs even sizes; gif takes any "
                      "size", wodd ? "width" : "height", wodd ? doc->width : doc->height,
                      kn_format_name(doc->output.format));
        doc_pop(p, old);
        return rc;
    }

    const json_t *jm = json_object_get(root, "metadata");
    if (jm && !json_is_object(jm)) {
        old = doc_push_key(p, "metadata");
        rc = doc_fail(p, KN_EINVAL, "expected an object, got %s", doc_jdesc(jm));
        doc_pop(p, old);
        return rc;
    }
    if (jm) {
        /* Kept as text so the server stores it without parsing the whole
         * document a second time; kn_doc_parse replaces it with the text as
         * sent (a nested document's metadata keeps this copy). */
        char *md = json_dumps(jm, JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (!md) return doc_fail(p, KN_ENOMEM, "out of memory copying metadata");
        doc->metadata_json = doc_pstrdup(p, md);
        free(md);
        if (!doc->metadata_json) return p->err->code;
    }

    /* Slots: vars first, then each element's properties in document order.
     * The pre-pass sizes init/slot_name exactly, so they never move. */
    const json_t *jv = json_object_get(root, "vars");
    const json_t *je = json_object_get(root, "elements");
    size_t nel = 0, nslots = json_is_object(jv) ? json_object_size(jv) : 0;
    doc_count_elems(je, 1, &nel, &nslots);
    if (nel > KN_DOC_MAX_ELEMENTS) {
        old = doc_push_key(p, "elements");
        rc = doc_fail(p, KN_ETOOBIG, "the document has more than %d elements", KN_DOC_MAX_ELEMENTS);
        doc_pop(p, old);
        return rc;
    }
    p->nslots_max = nslots;
    p->nelems_max = nel;
    doc->init = doc_palloc(p, nslots ? nslots : 1, sizeof *doc->init);
    doc->slot_name = doc_palloc(p, nslots ? nslots : 1, sizeof *doc->slot_name);
    if (!doc->init || !doc->slot_name) return p->err->code;
    p->skind = calloc(nslots ? nslots : 1, 1);
    p->tweened = calloc(nslots ? nslots : 1, 1);
    p->ecalc = calloc(nslots ? nslots : 1, 1);
    p->text_len = calloc(nslots ? nslots : 1, sizeof *p->text_len);
    p->elems = calloc(nel ? nel : 1, sizeof *p->elems);
    if (!p->skind || !p->tweened || !p->ecalc || !p->text_len || !p->elems)
        return doc_fail(p, KN_ENOMEM, "out of memory");
    p->names = doc_palloc(p, KN_XV_VARS + nslots, sizeof *p->names);
    if (!p->names) return p->err->code;
    for (int k = 0; k < KN_XV_VARS; k++) p->names[p->nnames++] = (kn_expr_var){ XV_NAMES[k], k };

    if (jv && (rc = parse_vars(p, jv))) return rc;
    doc->nvars = (size_t)p->next_slot;
    if (je) {
        old = doc_push_key(p, "elements");
        rc = doc_parse_elems(p, je, 1, &doc->elements, &doc->nelements);
        doc_pop(p, old);
        if (rc) return rc;
    }
    doc->nslots = (size_t)p->next_slot;

    const json_t *jt = json_object_get(root, "timeline");
    if (jt) {
        doc->timeline = doc_palloc(p, 1, sizeof *doc->timeline);
        if (!doc->timeline) return p->err->code;
        old = doc_push_key(p, "timeline");
        rc = doc_parse_scene(p, jt, doc->timeline, 1);
        doc_pop(p, old);
        if (rc) return rc;
        if ((rc = doc_check_set_lengths(p))) return rc;
    }

    const json_t *jfr = json_object_get(root, "frames");
    if (jfr && (rc = doc_parse_frames(p, jfr, &fr, &nfr))) return rc;

    /* The video's length. */
    const char *from;
    double nd;
    char hint[PATH_CAP + 96];
    if (jd) {
        from = "duration";
        nd = duration * doc->fps_num / doc->fps_den;
    } else if (doc->timeline && doc->timeline->length > 0) {
        from = "timeline";
        nd = doc->timeline->length * doc->fps_num / doc->fps_den;
    } else if (nfr) {
        from = "frames";
        nd = fr[nfr - 1].index + 1;
    } else {
        rc = doc_fail(p, KN_EINVAL, "cannot tell the video's length: give duration, a timeline or "
                      "frames");
        goto out;
    }
    nd = floor(nd + 0.5);
    old = doc_push_key(p, from);
    if (nd < 1)
        rc = doc_fail(p, KN_EINVAL, "%s %g s is less than one frame at %g fps%s",
                      jd ? "duration" : "the timeline lasts", jd ? duration : doc->timeline->length,
                      doc->fps, jd ? "" : "; give a duration");
    else if (nd > (double)p->lim.max_frames)
        rc = doc_fail(p, KN_EINVAL, "the video would have %.0f frames, more than the limit of "
                      "%ld%s", nd, p->lim.max_frames, ms_hint(p, from, duration, hint));
    else if (nd * doc->width * doc->height > p->lim.max_pixels_frames)
        rc = doc_fail(p, KN_EINVAL, "%dx%d x %.0f frames is more than the limit of %.0f pixels "
                      "(width x height x frames)%s", doc->width, doc->height, nd,
                      p->lim.max_pixels_frames, ms_hint(p, from, duration, hint));
    doc_pop(p, old);
    if (rc) goto out;
    doc->n_frames = (long)nd;
    doc->duration = (double)doc->n_frames * doc->fps_den / doc->fps_num;

    if (nfr) {
        if (strcmp(from, "frames")) {
            /* The first out-of-range entry in document order. */
            const frame_tmp *bad = NULL;
            for (size_t i = 0; i < nfr; i++)
                if (fr[i].index >= (double)doc->n_frames && (!bad || fr[i].pos < bad->pos))
                    bad = &fr[i];
            if (bad) {
                doc_frame_path(p, bad);
                rc = doc_fail(p, KN_EINVAL, "frame %.0f is past the end: the video has %ld frames "
                              "(0..%ld)", bad->index, doc->n_frames, doc->n_frames - 1);
                doc_pop(p, p->base_len);
                goto out;
            }
        } else {
            for (size_t i = 0; i < nfr; i++) {
                if (fr[i].index != (double)i) {
                    old = doc_push_key(p, "frames");
                    rc = doc_fail(p, KN_EINVAL, "frame %zu has no entry: when the length comes "
                                  "from frames alone, every frame 0..%ld needs one", i,
                                  doc->n_frames - 1);
                    doc_pop(p, old);
                    goto out;
                }
            }
        }
        doc->frames = doc_palloc(p, nfr, sizeof *doc->frames);
        if (!doc->frames) {
            rc = p->err->code;
            goto out;
        }
        for (size_t i = 0; i < nfr; i++)
            doc->frames[i] = (kn_frame_entry){ (long)fr[i].index, fr[i].sets, fr[i].nsets };
        doc->nframes_entries = nfr;
    }
    rc = finish_calcs(p);
out:
    free(fr);
    return rc;
}

/* Drops the bytes of incomplete UTF-8 sequences in place. Messages quote
 * keys and values cut to a byte count ("%.64s") and kn_err truncates long
 * pointers, which can split a character; the server puts both into a JSON
 * error body, which must be valid UTF-8. */
static void utf8_clean(char *s)
{
    unsigned char *r = (unsigned char *)s, *w = r;
    while (*r) {
        size_t n = *r < 0x80 ? 1 : (*r & 0xE0) == 0xC0 ? 2 : (*r & 0xF0) == 0xE0 ? 3
                 : (*r & 0xF8) == 0xF0 ? 4 : 0;
        size_t k = 1;
        while (n && k < n && (r[k] & 0xC0) == 0x80) k++;
        if (n && k == n) {
            memmove(w, r, n);
            w += n;
            r += n;
        } else {
            r += k;   /* a stray or cut sequence: drop it */
        }
    }
    *w = '\0';
}

/* Messages quote lim->max_bytes, the limit of the whole job, whatever the
 * budget of a nested document. */
int doc_parse_json(const json_t *root, const kn_doc_limits *lim, size_t budget,
                   const char *base_path, int depth, kn_doc **out, kn_err *err)
{
    parser p;
    kn_arena *A = NULL;
    int rc;

    memset(&p, 0, sizeof p);
    p.err = err;
    p.calc_slot = -1;
    p.depth = depth;
    p.lim = *lim;
    snprintf(p.path, sizeof p.path, "%s", base_path);
    p.plen = p.base_len = strlen(p.path);

    A = kn_arena_create(budget, DOC_CHUNK, DOC_CHUNK, KN_ARENA_ZEROED);
    p.ids = json_object();
    p.vars = json_object();
    if (!A || !p.ids || !p.vars) {
        rc = kn_err_set(err, KN_ENOMEM, "", "out of memory");
        goto out;
    }
    p.A = A;
    p.doc = doc_palloc(&p, 1, sizeof *p.doc);
    if (!p.doc) {
        rc = err->code;
        goto out;
    }
    p.doc->arena_ = A;

    rc = parse_root(&p, root);
out:
    json_decref(p.ids);
    json_decref(p.vars);
    free(p.skind);
    free(p.tweened);
    free(p.ecalc);
    free(p.text_len);
    free(p.calcs);
    free(p.elems);
    for (size_t i = 0; i < p.nchecks; i++) free(p.checks[i].path);
    free(p.checks);
    if (rc) {
        kn_arena_destroy(A);
        return rc;
    }
    *out = p.doc;
    return KN_OK;
}

/* ---- doc.h -------------------------------------------------------------- */

int kn_doc_parse(const char *json, size_t len, const kn_doc_limits *lim, kn_doc **out,
                 kn_err *err)
{
    kn_err scratch;
    kn_doc_limits L;
    json_t *root = NULL;
    int rc;

    if (!err) err = &scratch;
    kn_err_clear(err);
    if (lim) L = *lim;
    else kn_doc_limits_default(&L);
    if (!out || (!json && len))
        return kn_err_set(err, KN_EINVAL, NULL, "kn_doc_parse: no input or output");

    kn_jsonread_error je;
    if (kn_jsonmem_begin(KN_DOC_JSON_MAX_BYTES) != KN_OK)
        return kn_err_set(err, KN_ENOMEM, "", "out of memory reading the document");
    /* Every number is read as a real: integers past 64 bits are valid JSON
     * (metadata may hold them), and fields range-check what they read. */
    root = kn_jsonread(json, len, &je);
    kn_jsonmem_end();
    if (!root && kn_jsonmem_error() == KN_ETOOBIG) {
        rc = kn_err_set(err, KN_ETOOBIG, "", "reading the document's JSON needs more memory than "
                        "the limit of %zu bytes", (size_t)KN_DOC_JSON_MAX_BYTES);
    } else if (!root && kn_jsonmem_error() == KN_ENOMEM) {
        rc = kn_err_set(err, KN_ENOMEM, "", "out of memory reading the document");
    } else if (!root) {
        rc = kn_err_set(err, KN_EJSON, "", "invalid JSON: %s (line %d, column %d)", je.text,
                        je.line, je.column);
    } else {
        rc = doc_parse_json(root, &L, L.max_bytes, "", 0, out, err);
    }
    size_t moff, mlen;
    if (rc == KN_OK && (*out)->metadata_json &&
        kn_jsonread_member(json, len, "metadata", &moff, &mlen)) {
        char *raw = kn_arena_alloc((*out)->arena_, mlen + 1);
        if (raw) {
            memcpy(raw, json + moff, mlen);
            raw[mlen] = '\0';
            (*out)->metadata_json = raw;
        }   /* else keep jansson's copy: equal in value, if not in digits */
    }
    kn_jsonmem_release();   /* frees root and everything under it */
    if (rc) {
        utf8_clean(err->path);
        utf8_clean(err->msg);
        return rc;
    }
    kn_err_clear(err);
    return KN_OK;
}

void kn_doc_destroy(kn_doc *doc)
{
    if (doc) kn_arena_destroy(doc->arena_);
}

kn_vtype kn_doc_slot_type(const kn_doc *doc, int slot)
{
    if (!doc || slot < 0 || (size_t)slot >= doc->nslots) return KN_VT_NONE;
    return doc->init[slot].type;
}

double kn_doc_frame_time(const kn_doc *doc, long frame)
{
    return (double)frame * doc->fps_den / doc->fps_num;
}

const kn_frame_entry *kn_doc_frame_entry(const kn_doc *doc, long frame)
{
    size_t lo = 0, hi = doc ? doc->nframes_entries : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        long k = doc->frames[mid].index;
        if (k == frame) return &doc->frames[mid];
        if (k < frame) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

