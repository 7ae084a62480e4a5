/*
 * doc/doc.c - parses a job document (docs/contract/job-v1.md) with jansson,
 * validates every field and compiles it into the slot model of doc/doc.h.
 *
 * Invariants this file establishes are listed in doc.h; on top of them:
 *  - every byte of a kn_doc lives in one arena (doc->arena_) whose total size
 *    is capped by kn_doc_limits.max_bytes; jansson's own tree is temporary and
 *    freed before kn_doc_parse returns. Temporary indexes (id and var maps,
 *    per-slot kinds) are malloc'ed and freed on every path (goto out).
 *  - every error names the field at fault as an RFC 6901 JSON pointer (keys
 *    escaped: "~" -> "~0", "/" -> "~1"); pointers longer than the kn_err
 *    buffer are truncated, never overflowed.
 *  - an element or var is parsed once; timeline and frame entries only refer
 *    to slots, so parsing order is fixed (top level, output, vars, elements,
 *    timeline, frames) whatever the key order of the document.
 *
 * Version-1 decisions (issue 2) beyond the spec text:
 *  - width and height are integers 16..7680 x 16..4320, both even for mp4
 *    and webm (yuv420p); gif and a composition's document take any size. An
 *    integer field also accepts an integral JSON real such as 640.0.
 *  - fps in (0, 240]. 23.976, 29.97, 59.94 and 119.88 (or their exact values
 *    k*1000/1001) become 24000/1001, 30000/1001, 60000/1001, 120000/1001;
 *    integers n/1; any other rate the closest fraction with a denominator up
 *    to 10^6, so it must be >= 0.000001. doc->fps is fps_num / fps_den.
 *  - N = round(duration * fps); without duration round(L * fps) for a
 *    timeline of length L > 0, else the largest frame index + 1. N >= 1,
 *    N <= max_frames and width*height*N <= max_pixels_frames are KN_EINVAL
 *    (the client can shorten the job) pointing at the field the length came
 *    from ("/duration", "/timeline" or "/frames"); doc->duration = N / fps.
 *    Running past max_bytes or the element / array caps below is KN_ETOOBIG.
 *  - a missing required field is reported at its own pointer
 *    ("/elements/0/width"), as that is where the fix goes.
 *  - vars: a string value that parses as a colour is a COLOR var, any other
 *    string a STR var; strings starting with "=" are expressions (a later
 *    version) and rejected. Var names are identifiers and may not shadow the
 *    names expressions will use (spec 2), so adding expressions later breaks
 *    no valid document.
 *  - element defaults: opacity 1, visible true, rotation 0, scale [1, 1],
 *    origin NONE (shape centre), fill "none" (text "#ffffff"), stroke "none",
 *    stroke_width 1, dash [], line_cap butt, line_join miter, geometry 0,
 *    points [], text "", font "DejaVu Sans", size 32, align left, baseline
 *    alphabetic. rect and image width/height, circle r and ellipse rx/ry are
 *    required.
 *    Default and enumeration strings point to static storage (never freed),
 *    empty arrays to a static buffer with n = 0 (arr is never NULL).
 *  - a slot whose init is NONE (origin not given) cannot be targeted: its
 *    type would change, breaking the "one type per slot" invariant.
 *  - gradients: an element's own fill or stroke may be {"linear": [x0, y0,
 *    x1, y1] | "radial": [cx, cy, r], "stops": [[offset, colour], ...]}
 *    (exactly one of linear/radial; coordinates within +-1e9, r > 0; 1..256
 *    stops, offsets in [0, 1] and non-decreasing). It is static, kept in
 *    el->grad, and its slot holds "none"; targeting that slot, or giving a
 *    gradient in a tween, set or frame entry, is a 400 (gradients cannot be
 *    animated). Gradient coordinates are in the element's own user space.
 *  - image: x, y, width, height are NUM slots (width and height required);
 *    src is a data: URI (base64 PNG or JPEG, media/image.h) decoded once
 *    while parsing; a bad one is a 400 at ".../src". An image takes no paint
 *    fields (fill, stroke, dash...). Its pixels are owned by the doc and
 *    count against max_bytes (over it: KN_ETOOBIG); the encoded file is
 *    capped at 32 MiB and each side at 8192 px (400s).
 *  - the same range checks apply to element fields, tween/set values and
 *    frame values (opacity 2 is an error wherever it appears). Overshooting
 *    easings may still move values out of range between keys; drawing clamps.
 *  - tween value: a value valid for the target is the `to`; otherwise a
 *    two-element array of valid values is [from, to]. An array slot keeps
 *    the length of its init value in every tween, and in every timeline set
 *    when the slot is also tweened somewhere; frame entries may change it
 *    (nothing interpolates after them).
 *  - scenes: "duration" is a tween's own length (required, >= 0) and a
 *    stretch on sequence/parallel (> 0; not with speed; not on a scene of
 *    length 0); set and wait do not take it. crop needs a scene of length
 *    > 0 and 0 <= a < b <= D, where b may exceed D by a relative 1e-9
 *    (sums of floating-point lengths) and is then clamped to D. Every scene
 *    length must stay <= 1e9 s.
 *  - frames: each entry is {"set": {...}} with an optional integer "index";
 *    "set" is required. Errors about an entry's frame point at its "index",
 *    or at the entry when the index came from its position.
 *  - output: mp4 (h264, hevc) and webm (vp9), checked by the encoder module
 *    and gif (vp9 with encoder gpu is a 400); bitrate
 *    is an integer 1..1000000 kbit/s (the encoder's cap) and excludes quality; keyframe_interval
 *    is > 0 and <= 3600 s; an empty preset means the encoder's default.
 *  - caps: 100000 elements, 4000000 numbers in one array value, 1000000
 *    scenes, groups and scenes nested at most 32 deep.
 *  - plot: x, y, width, height (both required), title/xlabel/ylabel (text,
 *    templates allowed), xlim/ylim (ARRAY of 2, or empty for "auto", so an
 *    auto limit cannot be tweened), xscale/yscale, grid, legend, style,
 *    font, size (default 12) are slots of the element; "ticks" (at most 32
 *    per axis) and "series" (at most 256) are static in el->plot. Each
 *    series gets SERIES_SLOTS slots named "<series id>.x|y|color|width"
 *    (heatmap: "<id>.data", its shape fixed by the first data); series ids
 *    share p->ids with element ids, stored as -1 - (element << 16 | series)
 *    so resolve_target can tell them apart. A "=expr" y is a
 *    KN_CALC_SERIES_Y over its x slot (x must then be numbers); without x,
 *    x is 0..n-1. Heatmap cmap names are checked against lang/cmap.h.
 */
#include "doc/doc.h"
#include "doc/jsonmem.h"
#include "doc/jsonread.h"
#include "lang/expr.h"
#include "lang/path.h"
#include "media/image.h"
#include "lang/cmap.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/color.h"
#include "encode/encoder.h"
#include "lang/easing.h"

#define MAX_DEPTH     32
#define MAX_ELEMENTS  100000
#define MAX_ARRAY     4000000
#define MAX_SCENES    1000000
#define MAX_SECONDS   1e9
#define MAX_BITRATE   1000000L
#define MAX_KEYINT    3600.0
#define PATH_CAP      1024
#define MAX_SERIES    256     /* per plot */
#define MAX_TICKS     32      /* explicit ticks per axis (KN_TICKS_MAX) */
#define SERIES_SLOTS  4       /* x, y (or data), color, width */

/* ---- arena ------------------------------------------------------------ */

/* Chunks of zeroed memory, bumped 16 bytes at a time. Allocations bigger
 * than a quarter chunk get a chunk of their own so the current bump chunk
 * is not abandoned half full. */
typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    max_align_t data[];
} chunk;

/* Objects of other modules a doc owns (parsed paths), freed with it. */
typedef struct owned {
    struct owned *next;
    kn_path *path;
    kn_expr *expr;
    kn_template *tmpl;
    kn_doc *doc;      /* a composition's document */
    kn_image *image;  /* an image element's pixels, counted in arena.total */
} owned;

typedef struct arena {
    chunk *head;
    owned *owned;     /* nodes live in the arena itself */
    size_t total;     /* bytes obtained from malloc, headers included */
    size_t cap;       /* limit on total */
    int fail;         /* KN_ETOOBIG or KN_ENOMEM after a failed alloc */
} arena;

#define ARENA_ALIGN 16
#define ARENA_CHUNK ((size_t)64 * 1024)

static void arena_free(arena *a)
{
    if (!a) return;
    for (owned *o = a->owned; o; o = o->next) {
        kn_path_destroy(o->path);
        kn_expr_destroy(o->expr);
        kn_template_destroy(o->tmpl);
        kn_doc_destroy(o->doc);
        kn_image_destroy(o->image);
    }
    chunk *c = a->head;
    while (c) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

static chunk *arena_chunk_new(arena *a, size_t size)
{
    if (size > a->cap) {
        a->fail = KN_ETOOBIG;
        return NULL;
    }
    size_t need = sizeof(chunk) + size;
    if (need > a->cap - a->total) {
        a->fail = KN_ETOOBIG;
        return NULL;
    }
    chunk *c = calloc(1, need);
    if (!c) {
        a->fail = KN_ENOMEM;
        return NULL;
    }
    a->total += need;
    c->cap = size;
    return c;
}

static void *arena_alloc(arena *a, size_t n)
{
    if (n == 0) n = 1;
    if (n > SIZE_MAX / 4) {
        a->fail = KN_ETOOBIG;
        return NULL;
    }
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n > ARENA_CHUNK / 4) {
        chunk *c = arena_chunk_new(a, n);
        if (!c) return NULL;
        if (a->head) {           /* keep the bump chunk at the head */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            a->head = c;
        }
        c->used = n;
        return c->data;
    }
    if (!a->head || a->head->cap - a->head->used < n) {
        /* Near the cap, a smaller last chunk still fits. */
        size_t room = a->cap - a->total > sizeof(chunk) ? a->cap - a->total - sizeof(chunk) : 0;
        size_t size = ARENA_CHUNK < room ? ARENA_CHUNK : room;
        chunk *c = arena_chunk_new(a, size > n ? size : n);
        if (!c) return NULL;
        c->next = a->head;
        a->head = c;
    }
    void *m = (unsigned char *)a->head->data + a->head->used;
    a->head->used += n;
    return m;
}

/* ---- parser state and errors ----------------------------------------- */

typedef struct set_check {      /* a timeline set that changes an array length */
    int slot;
    size_t n;
    char *path;
} set_check;

typedef struct parser {
    arena *A;
    kn_err *err;
    kn_doc_limits lim;
    kn_doc *doc;

    char path[PATH_CAP];        /* JSON pointer of the value being parsed */
    size_t plen;

    size_t nslots_max;          /* from the pre-pass */
    int next_slot;
    unsigned char *skind;       /* per slot: index into g_desc */
    unsigned char *tweened;     /* per slot: some tween targets it */

    json_t *ids;                /* element id -> index into elems */
    json_t *vars;               /* var name -> slot */
    kn_elem **elems;            /* every element, document order */
    size_t nelems, nelems_max;

    size_t nscenes;
    set_check *checks;
    size_t nchecks, cap_checks;

    kn_expr_var *names;         /* what expressions may use (KN_XV_*, vars) */
    size_t nnames;
    kn_calc *calcs;             /* malloc'ed while parsing; copied to the doc */
    size_t ncalcs, cap_calcs;
    unsigned char *ecalc;       /* per slot: an element calc writes it */
    int calc_slot;              /* slot of the element property being parsed,
                                   -1 where expressions are not allowed */
    const kn_gradient *grad;    /* parse_value found an element's own fill or
                                   stroke to be this gradient; parse_elem takes it */
    int depth;                  /* 0 for a job, n for a composition's document
                                   nested n deep */
    size_t base_len;            /* length of the pointer of this document's root */
} parser;

static int fail(parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(parser *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kn_err_setv(p->err, code, p->path, fmt, ap);
    va_end(ap);
    return code;
}

/* Appends "/" + the escaped key; returns the length to restore. */
static size_t push_key(parser *p, const char *key)
{
    size_t old = p->plen, n = p->plen;
    const char *s = key;
    if (n + 1 < PATH_CAP) p->path[n++] = '/';
    for (; *s && n + 1 < PATH_CAP; s++) {
        if (*s == '~' || *s == '/') {
            if (n + 2 >= PATH_CAP) break;
            p->path[n++] = '~';
            p->path[n++] = *s == '~' ? '0' : '1';
        } else {
            p->path[n++] = *s;
        }
    }
    p->path[n] = '\0';
    p->plen = n;
    return old;
}

/* Called for every array element of a document (millions for per-frame
 * data), so it formats the index by hand instead of through snprintf. */
static size_t push_idx(parser *p, size_t i)
{
    size_t old = p->plen;
    char digits[24];
    size_t k = 0;
    do {
        digits[k++] = (char)('0' + i % 10);
        i /= 10;
    } while (i && k < sizeof digits);
    if (p->plen + k + 2 > PATH_CAP) return old;   /* path already truncated */
    p->path[p->plen++] = '/';
    while (k) p->path[p->plen++] = digits[--k];
    p->path[p->plen] = '\0';
    return old;
}

static void pop(parser *p, size_t old)
{
    p->plen = old;
    p->path[old] = '\0';
}

static void *palloc(parser *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / 4 / size) {
        fail(p, KN_ETOOBIG, "the document needs more memory than the limit of %zu bytes",
             p->lim.max_bytes);
        return NULL;
    }
    void *m = arena_alloc(p->A, count * size);
    if (!m) {
        if (p->A->fail == KN_ENOMEM)
            fail(p, KN_ENOMEM, "out of memory while reading the document");
        else
            fail(p, KN_ETOOBIG, "the document needs more memory than the limit of %zu bytes",
                 p->lim.max_bytes);
    }
    return m;
}

/* A zeroed node on the arena's owned list, for an object the parser made
 * outside the arena (compiled expression, path, image, nested doc):
 * kn_doc_destroy frees whatever the caller stores in it. NULL (error set)
 * when out of memory. */
static owned *own(parser *p)
{
    owned *o = palloc(p, 1, sizeof *o);
    if (!o) return NULL;
    memset(o, 0, sizeof *o);
    o->next = p->A->owned;
    p->A->owned = o;
    return o;
}

static char *pstrdup(parser *p, const char *s)
{
    size_t n = strlen(s);
    char *d = palloc(p, n + 1, 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

static char *pprintf(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *pprintf(parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fail(p, KN_EINTERNAL, "cannot format a name");
        return NULL;
    }
    char *d = palloc(p, (size_t)n + 1, 1);
    if (!d) return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

static const char *jdesc(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER:
    case JSON_REAL:    return "a number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    default:           return "null";
    }
}

/* Checks that every key of obj is in allowed (NULL-terminated). */
static int check_keys(parser *p, const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) { ok = 1; break; }
        if (ok) continue;
        char list[384];
        size_t n = 0;
        list[0] = '\0';
        for (const char *const *a = allowed; *a && n < sizeof list; a++) {
            int w = snprintf(list + n, sizeof list - n, "%s%s", a == allowed ? "" : ", ", *a);
            if (w < 0) break;
            n += (size_t)w;
        }
        size_t old = push_key(p, key);
        int rc = fail(p, KN_EINVAL, "unknown field \"%.64s\" (allowed: %s)", key, list);
        pop(p, old);
        return rc;
    }
    return KN_OK;
}

/* ---- numbers ---------------------------------------------------------- */

enum { R_LO = 1, R_HI = 2, R_LO_OPEN = 4, R_INT = 8 };

typedef struct nrange {
    double lo, hi;
    unsigned flags;
} nrange;

/* v in the fewest digits that read back as v: "%g" would print 240.0001 as
 * 240 and 1000001 as 1e+06, an error quoting a value that looks in range. */
static const char *num_text(double v, char buf[32])
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

static void range_text(const nrange *r, char *buf, size_t n)
{
    const char *what = (r->flags & R_INT) ? "an integer" : "a number";
    char lo[32], hi[32];
    num_text(r->lo, lo);
    num_text(r->hi, hi);
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

static int get_num(parser *p, const json_t *j, const nrange *r, double *out)
{
    char want[96];
    if (!json_is_number(j)) {
        range_text(r, want, sizeof want);
        if (json_is_string(j) && json_string_value(j)[0] == '=')
            return fail(p, KN_EINVAL, "an expression is not allowed here: this field must be "
                        "a constant (%s); expressions go in an element's own number fields and "
                        "in vars", want);
        return fail(p, KN_EINVAL, "expected %s, got %s", want, jdesc(j));
    }
    double v = json_number_value(j);
    if (!in_range(r, v)) {
        char got[32];
        range_text(r, want, sizeof want);
        return fail(p, KN_EINVAL, "expected %s, got %s", want, num_text(v, got));
    }
    *out = v;
    return KN_OK;
}

/* get_num for element i of array a. Per-frame data holds millions of array
 * numbers, so the element's JSON pointer is formatted only when it fails. */
static int get_num_at(parser *p, const json_t *a, size_t i, const nrange *r, double *out)
{
    const json_t *j = json_array_get(a, i);
    if (json_is_number(j) && in_range(r, json_number_value(j))) {
        *out = json_number_value(j);
        return KN_OK;
    }
    size_t old = push_idx(p, i);
    int rc = get_num(p, j, r, out);
    pop(p, old);
    return rc;
}

static const nrange R_ANY = { 0, 0, 0 };
static const nrange R_NONNEG = { 0, 0, R_LO };
static const nrange R_POS = { 0, 0, R_LO | R_LO_OPEN };

/* ---- property and value kinds ---------------------------------------- */

typedef enum vkind {
    K_NUM, K_BOOL, K_COLOR, K_ENUM, K_TEXT, K_FONT, K_SCALE, K_ORIGIN, K_DASH,
    K_POINTS, K_VSTR, K_VARR, K_LIM, K_GRID
} vkind;

typedef struct pdesc {
    const char *name;
    vkind kind;
    nrange range;                /* K_NUM */
    const char *const *enums;    /* K_ENUM, NULL-terminated */
} pdesc;

static const char *const CAPS[] = { "butt", "round", "square", NULL };
static const char *const JOINS[] = { "miter", "round", "bevel", NULL };
static const char *const ALIGNS[] = { "left", "center", "right", NULL };
static const char *const BASELINES[] = { "top", "middle", "alphabetic", "bottom", NULL };
static const char *const SCALES[] = { "linear", "log", NULL };
static const char *const LEGENDS[] = { "none", "upper right", "upper left", "lower left",
                                       "lower right", NULL };
static const char *const STYLES[] = { "light", "dark", NULL };

/* g_desc[0..KN_P_COUNT-1]: element properties; then the var kinds. */
enum { D_VNUM = KN_P_COUNT, D_VBOOL, D_VCOLOR, D_VSTR, D_VARR, D_SARR, D_SCOLOR, D_SWIDTH,
       D_SGRID, D_COUNT };

static const pdesc g_desc[D_COUNT] = {
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

#define PB(p) ((uint64_t)1 << (p))
#define PAINT (PB(KN_P_FILL) | PB(KN_P_STROKE) | PB(KN_P_STROKE_WIDTH) | PB(KN_P_DASH) | \
               PB(KN_P_LINE_CAP) | PB(KN_P_LINE_JOIN))
#define COMMON (PB(KN_P_OPACITY) | PB(KN_P_VISIBLE) | PB(KN_P_ROTATION) | PB(KN_P_SCALE) | \
                PB(KN_P_ORIGIN) | PAINT)

static const char *const g_type_name[KN_E_COUNT] = {
    "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "group", "path",
    "composition", "image", "plot"
};

/* "a rect", "an image": for messages that name an element type. */
static const char *type_article(int t)
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

#define TYPE_LIST "rect, circle, ellipse, line, polyline, polygon, text, group, path, composition, " \
                  "image, plot"

static double g_empty[1];

static int popcount64(uint64_t m)
{
    int n = 0;
    for (; m; m &= m - 1) n++;
    return n;
}

static int type_of_name(const char *s)
{
    for (int t = 0; t < KN_E_COUNT; t++)
        if (strcmp(g_type_name[t], s) == 0) return t;
    return -1;
}

static int is_linspace(const json_t *j)
{
    return json_is_object(j) && json_object_get(j, "linspace") != NULL;
}

static int fail_linspace(parser *p)
{
    return fail(p, KN_EINVAL, "{\"linspace\": ...} makes an array of numbers; this field "
                "takes a pair [x, y]");
}

/* {"linspace": [start, stop, count]}: count numbers from start to stop,
 * both included (numpy's default), checked against r at both ends (the
 * values are monotonic, so the ends bound them). */
static int parse_linspace(parser *p, const json_t *j, const nrange *r, kn_value *out)
{
    static const char *const KEYS[] = { "linspace", NULL };
    static const nrange RCOUNT = { 1, MAX_ARRAY, R_LO | R_HI | R_INT };
    int rc;
    if ((rc = check_keys(p, j, KEYS))) return rc;
    const json_t *a = json_object_get(j, "linspace");
    size_t old = push_key(p, "linspace");
    if (!json_is_array(a) || json_array_size(a) != 3) {
        rc = fail(p, KN_EINVAL, "expected [start, stop, count], got %s", jdesc(a));
        pop(p, old);
        return rc;
    }
    double v[3];
    for (size_t i = 0; i < 3 && !rc; i++) {
        size_t o2 = push_idx(p, i);
        rc = get_num(p, json_array_get(a, i), i == 2 ? &RCOUNT : r, &v[i]);
        pop(p, o2);
    }
    pop(p, old);
    if (rc) return rc;
    size_t n = (size_t)v[2];
    double *arr = palloc(p, n, sizeof *arr);
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

static int parse_num_array(parser *p, const json_t *j, const nrange *r, kn_value *out)
{
    if (is_linspace(j)) return parse_linspace(p, j, r, out);
    if (!json_is_array(j)) return fail(p, KN_EINVAL, "expected an array of numbers, got %s", jdesc(j));
    size_t n = json_array_size(j);
    if (n > MAX_ARRAY)
        return fail(p, KN_ETOOBIG, "the array has %zu numbers, more than the %d allowed", n,
                    MAX_ARRAY);
    double *a = n ? palloc(p, n, sizeof *a) : g_empty;
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

static int parse_xy(parser *p, const json_t *j, const char *what, double *xy)
{
    if (is_linspace(j)) return fail_linspace(p);
    if (!json_is_array(j) || json_array_size(j) != 2)
        return fail(p, KN_EINVAL, "expected %s, got %s%s", what, jdesc(j),
                    json_is_array(j) ? " of another length" : "");
    for (size_t i = 0; i < 2; i++) {
        int rc = get_num_at(p, j, i, &R_ANY, &xy[i]);
        if (rc) return rc;
    }
    return KN_OK;
}

/* ---- computed values --------------------------------------------------- */

static const char *const XV_NAMES[KN_XV_VARS] = {
    "t", "frame", "n_frames", "duration", "fps", "width", "height", "x", "i"
};

/* Compiles src (after its '=') as an expression into *e, or as a text
 * template into *t when is_text, and hands it to the arena's owned list so
 * kn_doc_destroy frees it. A compile error fails the parse at the current
 * pointer, with the column counted in the field's string. */
static int compile_owned(parser *p, const char *src, int is_text, kn_expr **e, kn_template **t)
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
            return fail(p, rc, "text template: %s", cerr.msg);
        /* The expression's columns count from after '='; the field's
         * string starts one earlier. */
        char ex[64];
        return fail(p, rc, "expression \"=%s\": %s (column %d of the string)",
                    kn_err_excerpt(src, ex, sizeof ex), cerr.msg, col + 1);
    }
    owned *o = own(p);
    if (!o) {
        if (is_text) kn_template_destroy(*t), *t = NULL;
        else kn_expr_destroy(*e), *e = NULL;
        return p->err->code;
    }
    o->expr = is_text ? NULL : *e;
    o->tmpl = is_text ? *t : NULL;
    return KN_OK;
}

/* Compiles "=expr" (src without the '=') or a text template for slot and
 * records it as a calc. The doc owns the compiled object. Errors point at
 * the field being parsed and give the column within its string. */
static int add_calc(parser *p, kn_calc_kind kind, int slot, int is_var, const char *src)
{
    kn_expr *e = NULL;
    kn_template *t = NULL;
    int rc = compile_owned(p, src, kind == KN_CALC_TEXT, &e, &t);
    if (rc != KN_OK) return rc;
    if (p->ncalcs == p->cap_calcs) {
        size_t ncap = p->cap_calcs ? 2 * p->cap_calcs : 16;
        kn_calc *nc = realloc(p->calcs, ncap * sizeof *nc);
        if (!nc) return fail(p, KN_ENOMEM, "out of memory");
        p->calcs = nc;
        p->cap_calcs = ncap;
    }
    p->calcs[p->ncalcs++] = (kn_calc){ .kind = kind, .slot = slot, .src = -1, .expr = e,
                                       .tmpl = t, .is_var = is_var };
    if (!is_var) p->ecalc[slot] = 1;
    return KN_OK;
}

static int is_expr_string(const json_t *j)
{
    return json_is_string(j) && json_string_value(j)[0] == '=';
}

static int parse_points(parser *p, const json_t *j, kn_value *out)
{
    static const char *const XY[] = { "x", "y", NULL };
    double *a;
    size_t n;
    int rc;

    if (is_linspace(j)) return fail_linspace(p);
    if (json_is_array(j)) {
        n = json_array_size(j);
        if (n > MAX_ARRAY / 2)
            return fail(p, KN_ETOOBIG, "%zu points are more than the %d allowed", n,
                        MAX_ARRAY / 2);
        a = n ? palloc(p, n, 2 * sizeof *a) : g_empty;
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
            size_t old = push_idx(p, i);
            rc = parse_xy(p, pt, "a point [x, y]", &a[2 * i]);
            pop(p, old);
            if (rc) return rc;
        }
    } else if (json_is_object(j)) {
        if ((rc = check_keys(p, j, XY))) return rc;
        const json_t *c[2] = { json_object_get(j, "x"), json_object_get(j, "y") };
        kn_value col[2];
        memset(col, 0, sizeof col);
        int ex[2] = { 0, 0 };
        for (int k = 0; k < 2; k++) {
            size_t old = push_key(p, XY[k]);
            if (!c[k])
                rc = fail(p, KN_EINVAL, "missing field \"%s\": points given as {\"x\": [...], "
                          "\"y\": [...]} need both", XY[k]);
            else if (is_expr_string(c[k]) && p->calc_slot < 0)
                rc = fail(p, KN_EINVAL, "expressions are computed per frame for an element's "
                          "own fields; here give the numbers (animate a var the element's "
                          "expression uses instead)");
            else if (is_expr_string(c[k]))
                ex[k] = 1;
            else
                rc = parse_num_array(p, c[k], &R_ANY, &col[k]);
            pop(p, old);
            if (rc) return rc;
        }
        if (ex[0] && ex[1]) {
            size_t old = push_key(p, "x");
            rc = fail(p, KN_EINVAL, "\"x\" and \"y\" cannot both be expressions: give \"x\" as "
                      "an array or {\"linspace\": [start, stop, count]} so the number of points "
                      "is known");
            pop(p, old);
            return rc;
        }
        n = ex[0] ? col[1].n : col[0].n;
        if (!ex[0] && !ex[1] && col[1].n != n) {
            size_t old = push_key(p, "y");
            rc = fail(p, KN_EINVAL, "\"x\" has %zu numbers and \"y\" has %zu: they must have "
                      "the same length", n, col[1].n);
            pop(p, old);
            return rc;
        }
        if (n > MAX_ARRAY / 2)
            return fail(p, KN_ETOOBIG, "%zu points are more than the %d allowed", n,
                        MAX_ARRAY / 2);
        a = n ? palloc(p, n, 2 * sizeof *a) : g_empty;
        if (!a) return p->err->code;
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < n; i++) a[2 * i + (size_t)k] = ex[k] ? 0 : col[k].arr[i];
        for (int k = 0; k < 2; k++) {
            if (!ex[k]) continue;
            size_t old = push_key(p, XY[k]);
            rc = add_calc(p, k ? KN_CALC_POINTS_Y : KN_CALC_POINTS_X, p->calc_slot, 0,
                          json_string_value(c[k]) + 1);
            pop(p, old);
            if (rc) return rc;
        }
    } else {
        return fail(p, KN_EINVAL, "expected points: [[x, y], ...] or {\"x\": [...], \"y\": "
                    "[...]}, got %s", jdesc(j));
    }
    out->type = KN_VT_ARRAY;
    out->arr = a;
    out->n = 2 * n;
    return KN_OK;
}

#define MAX_STOPS      256
#define GRAD_COORD_MAX 1e9

static const char COLOR_FORMS[] = "\"#rrggbb\", \"#rgb\", \"#rrggbbaa\", \"rgb(r,g,b)\", "
                                  "\"rgba(r,g,b,a)\", a CSS name or \"none\"";

/* {"linear": [x0, y0, x1, y1] | "radial": [cx, cy, r], "stops": [[offset,
 * colour], ...]}: an element's own fill or stroke, into the arena. */
static int parse_gradient(parser *p, const json_t *j, const kn_gradient **out)
{
    static const char *const KEYS[] = { "linear", "radial", "stops", NULL };
    static const nrange RC = { -GRAD_COORD_MAX, GRAD_COORD_MAX, R_LO | R_HI };
    static const nrange RR = { 0, GRAD_COORD_MAX, R_LO | R_LO_OPEN | R_HI };
    static const nrange ROFF = { 0, 1, R_LO | R_HI };
    int rc;
    size_t old;
    if ((rc = check_keys(p, j, KEYS))) return rc;
    const json_t *jl = json_object_get(j, "linear"), *jr = json_object_get(j, "radial");
    if (jl && jr) {
        old = push_key(p, "radial");
        rc = fail(p, KN_EINVAL, "a gradient is either \"linear\" or \"radial\", not both");
        pop(p, old);
        return rc;
    }
    if (!jl && !jr)
        return fail(p, KN_EINVAL, "a gradient needs \"linear\": [x0, y0, x1, y1] or \"radial\": "
                    "[cx, cy, r] besides its \"stops\"");
    kn_gradient *g = palloc(p, 1, sizeof *g);
    if (!g) return p->err->code;
    g->type = jl ? KN_GRAD_LINEAR : KN_GRAD_RADIAL;
    const json_t *jc = jl ? jl : jr;
    size_t nc = jl ? 4 : 3;
    old = push_key(p, jl ? "linear" : "radial");
    if (!json_is_array(jc) || json_array_size(jc) != nc)
        rc = fail(p, KN_EINVAL, "expected %s, got %s%s",
                  jl ? "[x0, y0, x1, y1]" : "[cx, cy, r] with r > 0", jdesc(jc),
                  json_is_array(jc) ? " of another length" : "");
    for (size_t i = 0; i < nc && !rc; i++) {
        size_t o2 = push_idx(p, i);
        rc = get_num(p, json_array_get(jc, i), jr && i == 2 ? &RR : &RC, &g->coord[i]);
        pop(p, o2);
    }
    pop(p, old);
    if (rc) return rc;

    const json_t *js = json_object_get(j, "stops");
    size_t n = json_is_array(js) ? json_array_size(js) : 0;
    old = push_key(p, "stops");
    if (!js)
        rc = fail(p, KN_EINVAL, "missing field \"stops\": a gradient needs [[offset, colour], "
                  "...], e.g. [[0, \"#f00\"], [1, \"#00f\"]]");
    else if (!n)
        rc = fail(p, KN_EINVAL, "expected an array of at least one stop [offset, colour], got "
                  "%s", json_is_array(js) ? "an empty array" : jdesc(js));
    else if (n > MAX_STOPS)
        rc = fail(p, KN_EINVAL, "%zu stops are more than the %d allowed", n, MAX_STOPS);
    kn_grad_stop *st = rc ? NULL : palloc(p, n, sizeof *st);
    if (!rc && !st) rc = p->err->code;
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *e = json_array_get(js, i);
        size_t o2 = push_idx(p, i);
        if (!json_is_array(e) || json_array_size(e) != 2) {
            rc = fail(p, KN_EINVAL, "expected a stop [offset, colour] with offset from 0 to 1, "
                      "got %s%s", jdesc(e), json_is_array(e) ? " of another length" : "");
        } else {
            size_t o3 = push_idx(p, 0);
            rc = get_num(p, json_array_get(e, 0), &ROFF, &st[i].offset);
            if (!rc && i && st[i].offset < st[i - 1].offset)
                rc = fail(p, KN_EINVAL, "stop offsets must not decrease: %g comes after %g",
                          st[i].offset, st[i - 1].offset);
            pop(p, o3);
            const json_t *jcol = json_array_get(e, 1);
            o3 = push_idx(p, 1);
            if (!rc && !json_is_string(jcol))
                rc = fail(p, KN_EINVAL, "expected a colour (%s), got %s", COLOR_FORMS,
                          jdesc(jcol));
            else if (!rc)
                rc = kn_color_parse(json_string_value(jcol), &st[i].color, p->path, p->err);
            pop(p, o3);
        }
        pop(p, o2);
    }
    pop(p, old);
    if (rc) return rc;
    g->stops = st;
    g->nstops = n;
    *out = g;
    return KN_OK;
}

/* Heatmap data: a 2-D array of numbers [[row0...], [row1...]] with rows of
 * one length, flattened row by row; a flat array is taken as it is (per-frame
 * data, whose shape the series fixed). */
static int parse_grid(parser *p, const json_t *j, kn_value *out, size_t *rows, size_t *cols)
{
    if (!json_is_array(j) || !json_array_size(j) || !json_is_array(json_array_get(j, 0))) {
        if (rows) return fail(p, KN_EINVAL, "expected a 2-D array of numbers [[...], [...]], "
                              "got %s", jdesc(j));
        return parse_num_array(p, j, &R_ANY, out);
    }
    size_t nr = json_array_size(j), nc = json_array_size(json_array_get(j, 0));
    if (!nc) {
        size_t old = push_idx(p, 0);
        int rc = fail(p, KN_EINVAL, "a heatmap row needs at least one number");
        pop(p, old);
        return rc;
    }
    if (nr > MAX_ARRAY / nc)
        return fail(p, KN_ETOOBIG, "%zu x %zu numbers are more than the %d allowed", nr, nc,
                    MAX_ARRAY);
    double *a = palloc(p, nr * nc, sizeof *a);
    if (!a) return p->err->code;
    for (size_t r = 0; r < nr; r++) {
        const json_t *row = json_array_get(j, r);
        size_t old = push_idx(p, r);
        int rc = KN_OK;
        if (!json_is_array(row) || json_array_size(row) != nc)
            rc = fail(p, KN_EINVAL, "expected a row of %zu numbers like row 0, got %s%s", nc,
                      jdesc(row), json_is_array(row) ? " of another length" : "");
        for (size_t c = 0; c < nc && !rc; c++) {
            size_t o2 = push_idx(p, c);
            rc = get_num(p, json_array_get(row, c), &R_ANY, &a[r * nc + c]);
            pop(p, o2);
        }
        pop(p, old);
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
    for (size_t i = 0; i < n; i++) any |= is_expr_string(json_array_get(j, i));
    if (!any || (want && n != want)) return 0;
    double *a = palloc(p, n, sizeof *a);
    if (!a) {
        *rc = p->err->code;
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(j, i);
        size_t old = push_idx(p, i);
        a[i] = 0;
        if (is_expr_string(e)) {
            *rc = add_calc(p, KN_CALC_ELEM, p->calc_slot, 0, json_string_value(e) + 1);
            if (!*rc) p->calcs[p->ncalcs - 1].index = i;
        } else {
            *rc = get_num(p, e, r, &a[i]);
        }
        pop(p, old);
        if (*rc) return 1;
    }
    *out = (kn_value){ .type = KN_VT_ARRAY, .arr = a, .n = n };
    *rc = KN_OK;
    return 1;
}

/* *v becomes the 2-number array {xy[0], xy[1]}, allocated in the doc. */
static int pair_value(parser *p, const double xy[2], kn_value *v)
{
    double *a = palloc(p, 2, sizeof *a);
    if (!a) return p->err->code;
    a[0] = xy[0];
    a[1] = xy[1];
    v->type = KN_VT_ARRAY;
    v->arr = a;
    v->n = 2;
    return KN_OK;
}

/* Parses j as a value of kind d into *out (strings and arrays in the arena). */
static int parse_value(parser *p, const json_t *j, const pdesc *d, kn_value *out)
{
    kn_value v;
    int rc;
    memset(&v, 0, sizeof v);

    switch (d->kind) {
    case K_NUM:
        if (is_expr_string(j) && p->calc_slot >= 0) {
            if ((rc = add_calc(p, KN_CALC_NUM, p->calc_slot, 0, json_string_value(j) + 1))) return rc;
            v.num = 0;   /* computed every frame */
        } else if ((rc = get_num(p, j, &d->range, &v.num))) {
            return rc;
        }
        v.type = KN_VT_NUM;
        break;
    case K_BOOL:
        if (!json_is_boolean(j))
            return fail(p, KN_EINVAL, "expected true or false, got %s", jdesc(j));
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
            return fail(p, KN_EINVAL, "gradients cannot be animated; animate the element's "
                        "opacity or use colours");
        if (!json_is_string(j))
            return fail(p, KN_EINVAL, "expected a colour (\"#rrggbb\", \"#rgb\", \"#rrggbbaa\", "
                        "\"rgb(r,g,b)\", \"rgba(r,g,b,a)\", a CSS name or \"none\"), got %s",
                        jdesc(j));
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
            return fail(p, KN_EINVAL, "expected one of %s, got \"%.64s\"", list,
                        json_string_value(j));
        return fail(p, KN_EINVAL, "expected one of %s, got %s", list, jdesc(j));
    }
    case K_TEXT:
    case K_FONT:
    case K_VSTR: {
        if (!json_is_string(j)) return fail(p, KN_EINVAL, "expected a string, got %s", jdesc(j));
        const char *s = json_string_value(j);
        if (d->kind == K_TEXT && (strchr(s, '{') || strchr(s, '}'))) {
            if (p->calc_slot < 0)
                return fail(p, KN_EINVAL, "text templates are computed per frame for an "
                            "element's own text; here give plain text (\"{{\" and \"}}\" "
                            "are not needed outside templates)");
            if ((rc = add_calc(p, KN_CALC_TEXT, p->calc_slot, 0, s))) return rc;
            v.type = KN_VT_STR;
            v.str = "";
            break;
        }
        if (d->kind == K_FONT && !*s)
            return fail(p, KN_EINVAL, "expected a font name such as \"DejaVu Sans Bold\", got "
                        "an empty string");
        if (d->kind == K_VSTR && s[0] == '=')
            return fail(p, KN_EINVAL, "expressions (strings starting with \"=\") are not "
                        "supported yet");
        if (!(v.str = pstrdup(p, s))) return p->err->code;
        v.type = KN_VT_STR;
        break;
    }
    case K_SCALE: {
        double s[2];
        if (json_is_number(j)) {
            if ((rc = get_num(p, j, &R_ANY, &s[0]))) return rc;
            s[1] = s[0];
        } else if (parse_expr_array(p, j, 2, &R_ANY, &v, &rc)) {
            if (rc) return rc;
            break;
        } else if (json_is_array(j) && json_array_size(j) == 2) {
            if ((rc = parse_xy(p, j, "[sx, sy]", s))) return rc;
        } else if (is_expr_string(j) && p->calc_slot >= 0) {
            /* A uniform scale computed every frame. */
            if ((rc = add_calc(p, KN_CALC_SCALE, p->calc_slot, 0, json_string_value(j) + 1))) return rc;
            s[0] = s[1] = 1;
        } else if (json_is_string(j) && json_string_value(j)[0] == '=') {
            return get_num(p, j, &R_ANY, &s[0]);
        } else {
            return fail(p, KN_EINVAL, "expected a number or [sx, sy], got %s", jdesc(j));
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
        if ((rc = parse_xy(p, j, "[x, y]", xy))) return rc;
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
        if ((rc = parse_num_array(p, j, &R_NONNEG, &v))) return rc;
        int any = 0;
        for (size_t i = 0; i < v.n; i++) any |= v.arr[i] > 0;
        if (v.n && !any)
            return fail(p, KN_EINVAL, "dash lengths are all 0: give at least one length > 0, "
                        "or [] for a solid line");
        break;
    }
    case K_POINTS:
        if ((rc = parse_points(p, j, &v))) return rc;
        break;
    case K_VARR:
        if ((rc = parse_num_array(p, j, &R_ANY, &v))) return rc;
        break;
    case K_LIM:
        if (json_is_string(j) && !strcmp(json_string_value(j), "auto")) {
            v.type = KN_VT_ARRAY;
            v.arr = g_empty;
            break;
        }
        if (!json_is_array(j) || json_array_size(j) != 2)
            return fail(p, KN_EINVAL, "expected [lo, hi] or \"auto\", got %s%s", jdesc(j),
                        json_is_array(j) ? " of another length" : "");
        if ((rc = parse_num_array(p, j, &R_ANY, &v))) return rc;
        break;
    case K_GRID:
        if ((rc = parse_grid(p, j, &v, NULL, NULL))) return rc;
        break;
    }
    *out = v;
    return KN_OK;
}

/* ---- slots ------------------------------------------------------------ */

static const pdesc *slot_desc(const parser *p, int slot)
{
    return &g_desc[p->skind[slot]];
}

static int new_slot(parser *p, unsigned char kind, const char *name)
{
    if ((size_t)p->next_slot >= p->nslots_max)
        return -1;
    int s = p->next_slot++;
    p->skind[s] = kind;
    p->doc->slot_name[s] = name;
    return s;
}

/* ---- top-level scalars ------------------------------------------------ */

static int get_int_field(parser *p, const json_t *obj, const char *key, int required,
                         const nrange *r, long *out, int *given)
{
    const json_t *j = json_object_get(obj, key);
    if (given) *given = j != NULL;
    if (!j) {
        if (!required) return KN_OK;
        char want[96];
        range_text(r, want, sizeof want);
        size_t old = push_key(p, key);
        int rc = fail(p, KN_EINVAL, "missing field \"%s\" (%s)", key, want);
        pop(p, old);
        return rc;
    }
    size_t old = push_key(p, key);
    double v = 0;
    int rc = get_num(p, j, r, &v);
    pop(p, old);
    if (rc) return rc;
    *out = (long)v;
    return KN_OK;
}

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
        return fail(p, KN_EINVAL, "fps %s is too small: the slowest rate is 0.000001 (one frame "
                    "in about 11.6 days)", num_text(fps, got));
    }
    *num = (int)h1;
    *den = (int)k1;
    return KN_OK;
}

/* ---- output ------------------------------------------------------------ */

static int get_str_field(parser *p, const json_t *obj, const char *key, const char **out)
{
    const json_t *j = json_object_get(obj, key);
    if (!j) return KN_OK;
    if (!json_is_string(j)) {
        size_t old = push_key(p, key);
        int rc = fail(p, KN_EINVAL, "expected a string, got %s", jdesc(j));
        pop(p, old);
        return rc;
    }
    *out = json_string_value(j);
    return KN_OK;
}

static int parse_output(parser *p, const json_t *j)
{
    static const char *const KEYS[] = { "format", "codec", "encoder", "quality", "preset",
                                        "bitrate", "keyframe_interval", NULL };
    kn_output *o = &p->doc->output;
    const char *format = "mp4", *codec = NULL, *encoder = "auto", *preset = "";
    size_t old = push_key(p, "output");
    int rc;

    snprintf(o->format, sizeof o->format, "mp4");
    snprintf(o->codec, sizeof o->codec, "h264");
    snprintf(o->encoder, sizeof o->encoder, "auto");
    o->quality = 20;
    o->preset[0] = '\0';
    o->bitrate_kbps = 0;
    o->keyframe_interval = 2;
    if (!j) goto out_ok;

    if (!json_is_object(j)) {
        rc = fail(p, KN_EINVAL, "expected an object, got %s", jdesc(j));
        goto out;
    }
    if ((rc = check_keys(p, j, KEYS))) goto out;
    if ((rc = get_str_field(p, j, "format", &format)) ||
        (rc = get_str_field(p, j, "codec", &codec)) ||
        (rc = get_str_field(p, j, "encoder", &encoder)) ||
        (rc = get_str_field(p, j, "preset", &preset)))
        goto out;

    size_t o2 = push_key(p, "format");
    if (!kn_encoder_extension(format))
        rc = fail(p, KN_EINVAL, "unknown format \"%.32s\" (allowed: mp4, webm, gif)", format);
    pop(p, o2);
    if (rc) goto out;
    /* gif times frames in whole centiseconds (encode/encoder.h): above 100
     * fps two frames would start at the same tick. The rate is at fault as
     * much as the format; the error points at /fps. */
    if (!strcmp(format, "gif") && p->doc->fps_num > 100L * p->doc->fps_den) {
        pop(p, old);
        o2 = push_key(p, "fps");
        rc = fail(p, KN_EINVAL, "fps %g is too high for format \"gif\", which times frames in "
                  "whole centiseconds: use fps <= 100 (<= 50 plays at the right speed in "
                  "browsers) or format \"mp4\"", p->doc->fps);
        pop(p, o2);
        goto out;
    }
    if (!codec) codec = kn_encoder_default_codec(format);
    o2 = push_key(p, "encoder");
    if (strcmp(encoder, "auto") && strcmp(encoder, "gpu") && strcmp(encoder, "cpu"))
        rc = fail(p, KN_EINVAL, "unknown encoder \"%.32s\" (allowed: auto, gpu, cpu)", encoder);
    pop(p, o2);
    if (rc) goto out;
    snprintf(o->encoder, sizeof o->encoder, "%s", encoder);

    long q = 20, br = 0;
    int has_q = 0, has_br = 0;
    static const nrange RQ = { 0, 51, R_LO | R_HI | R_INT };
    static const nrange RB = { 1, (double)MAX_BITRATE, R_LO | R_HI | R_INT };
    if ((rc = get_int_field(p, j, "quality", 0, &RQ, &q, &has_q)) ||
        (rc = get_int_field(p, j, "bitrate", 0, &RB, &br, &has_br)))
        goto out;
    if (has_q && has_br) {
        o2 = push_key(p, "bitrate");
        rc = fail(p, KN_EINVAL, "give either \"quality\" or \"bitrate\", not both");
        pop(p, o2);
        goto out;
    }
    o->quality = (int)q;
    o->bitrate_kbps = br;

    const json_t *jk = json_object_get(j, "keyframe_interval");
    if (jk) {
        static const nrange RK = { 0, MAX_KEYINT, R_LO | R_LO_OPEN | R_HI };
        o2 = push_key(p, "keyframe_interval");
        rc = get_num(p, jk, &RK, &o->keyframe_interval);
        pop(p, o2);
        if (rc) goto out;
    }

    /* The encoder module owns which format, codec, encoder and preset go
     * together; its errors already point at the /output field at fault. */
    if ((rc = kn_encoder_check_output(format, codec, encoder, preset, p->err))) goto out;
    if (!strcmp(codec, "vp9") && !strcmp(encoder, "gpu")) {
        o2 = push_key(p, "encoder");
        rc = fail(p, KN_EINVAL, "encoder \"gpu\" means NVENC, which has no VP9 encoder: use "
                  "\"auto\" or \"cpu\" with webm");
        pop(p, o2);
        goto out;
    }
    if (strlen(preset) >= sizeof o->preset) {
        o2 = push_key(p, "preset");
        rc = fail(p, KN_EINVAL, "unknown preset \"%.32s\"", preset);
        pop(p, o2);
        goto out;
    }
    snprintf(o->format, sizeof o->format, "%s", format);
    snprintf(o->codec, sizeof o->codec, "%s", codec);
    snprintf(o->preset, sizeof o->preset, "%s", preset);
out_ok:
    rc = KN_OK;
out:
    pop(p, old);
    return rc;
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

static int parse_vars(parser *p, const json_t *j)
{
    const char *key;
    json_t *v;
    int rc = KN_OK;
    size_t old = push_key(p, "vars");

    if (!json_is_object(j)) {
        rc = fail(p, KN_EINVAL, "expected an object of name: value, got %s", jdesc(j));
        goto out;
    }
    json_object_foreach((json_t *)j, key, v) {
        size_t o2 = push_key(p, key);
        kn_easing dummy;
        int reserved = 0;
        for (const char *const *r = RESERVED; *r; r++)
            if (strcmp(*r, key) == 0) reserved = 1;
        if (!is_ident(key))
            rc = fail(p, KN_EINVAL, "var name \"%.64s\" is not an identifier (a letter or '_' "
                      "followed by letters, digits or '_')", key);
        else if (reserved || kn_easing_by_name(key, &dummy))
            rc = fail(p, KN_EINVAL, "var name \"%.64s\" is reserved for expressions (t, frame, "
                      "n_frames, duration, fps, width, height, pi, e, x, i, the functions and "
                      "the easing names)", key);
        if (rc) {
            pop(p, o2);
            goto out;
        }

        unsigned char kind;
        kn_value val;
        memset(&val, 0, sizeof val);
        if (is_expr_string(v)) {
            /* A computed var: a number, evaluated each frame before the
             * timeline; it may use the vars defined before it. */
            const char *name = pstrdup(p, key);
            int slot = name ? new_slot(p, D_VNUM, name) : -1;
            if (!name) rc = p->err->code;
            else if (slot < 0) rc = fail(p, KN_EINTERNAL, "slot count mismatch");
            else rc = add_calc(p, KN_CALC_NUM, slot, 1, json_string_value(v) + 1);
            if (!rc) {
                p->doc->init[slot] = (kn_value){ .type = KN_VT_NUM };
                p->names[p->nnames++] = (kn_expr_var){ name, KN_XV_VARS + slot };
                if (json_object_set_new(p->vars, key, json_integer(slot)))
                    rc = fail(p, KN_ENOMEM, "out of memory");
            }
            pop(p, o2);
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
        } else if (json_is_array(v) || is_linspace(v)) {
            kind = D_VARR;
        } else {
            rc = fail(p, KN_EINVAL, "a var is a number, a colour, a string, a boolean or an "
                      "array of numbers; got %s", jdesc(v));
            pop(p, o2);
            goto out;
        }
        rc = parse_value(p, v, &g_desc[kind], &val);
        if (!rc) {
            const char *name = pstrdup(p, key);
            int slot = name ? new_slot(p, kind, name) : -1;
            if (!name)
                rc = p->err->code;
            else if (slot < 0)
                rc = fail(p, KN_EINTERNAL, "slot count mismatch");
            else if (json_object_set_new(p->vars, key, json_integer(slot)))
                rc = fail(p, KN_ENOMEM, "out of memory");
            else
                p->doc->init[slot] = val;
            /* Number and boolean vars can be used in expressions. */
            if (!rc && (kind == D_VNUM || kind == D_VBOOL))
                p->names[p->nnames++] = (kn_expr_var){ name, KN_XV_VARS + slot };
        }
        pop(p, o2);
        if (rc) goto out;
    }
out:
    pop(p, old);
    return rc;
}

/* ---- elements --------------------------------------------------------- */

/* The element type a pre-pass would count, or -1 (the real pass errors). */
static int elem_type_of(const json_t *e)
{
    if (!json_is_object(e)) return -1;
    const json_t *t = json_object_get(e, "type");
    if (!json_is_string(t)) return -1;
    return type_of_name(json_string_value(t));
}

static void count_elems(const json_t *arr, int depth, size_t *nel, size_t *nslots)
{
    size_t i;
    json_t *e;
    if (!json_is_array(arr) || depth > MAX_DEPTH) return;
    json_array_foreach((json_t *)arr, i, e) {
        int t = elem_type_of(e);
        if (t < 0) continue;
        (*nel)++;
        *nslots += (size_t)popcount64(g_type_props[t]);
        if (t == KN_E_PLOT) {
            const json_t *ser = json_object_get(e, "series");
            if (json_is_array(ser)) *nslots += SERIES_SLOTS * json_array_size(ser);
        }
        if (*nel > MAX_ELEMENTS) return;
        if (t == KN_E_GROUP) count_elems(json_object_get(e, "children"), depth + 1, nel, nslots);
    }
}

static int set_default(parser *p, kn_etype t, int prop, kn_value *v)
{
    memset(v, 0, sizeof *v);
    v->type = KN_VT_NUM;
    switch (prop) {
    case KN_P_OPACITY: v->num = 1; break;
    case KN_P_VISIBLE: v->type = KN_VT_BOOL; v->num = 1; break;
    case KN_P_SCALE:
        if (!(v->arr = palloc(p, 2, sizeof *v->arr))) return p->err->code;
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
    case KN_P_POINTS: v->type = KN_VT_ARRAY; v->arr = g_empty; v->n = 0; break;
    case KN_P_LINE_CAP: v->type = KN_VT_STR; v->str = CAPS[0]; break;
    case KN_P_LINE_JOIN: v->type = KN_VT_STR; v->str = JOINS[0]; break;
    case KN_P_TEXT: v->type = KN_VT_STR; v->str = ""; break;
    case KN_P_FONT: v->type = KN_VT_STR; v->str = "DejaVu Sans"; break;
    case KN_P_SIZE: v->num = t == KN_E_PLOT ? 12 : 32; break;
    case KN_P_TITLE: case KN_P_XLABEL: case KN_P_YLABEL: v->type = KN_VT_STR; v->str = ""; break;
    case KN_P_XLIM: case KN_P_YLIM: v->type = KN_VT_ARRAY; v->arr = g_empty; v->n = 0; break;
    case KN_P_XSCALE: case KN_P_YSCALE: v->type = KN_VT_STR; v->str = SCALES[0]; break;
    case KN_P_GRID: v->type = KN_VT_BOOL; v->num = 0; break;
    case KN_P_LEGEND: v->type = KN_VT_STR; v->str = LEGENDS[0]; break;
    case KN_P_STYLE: v->type = KN_VT_STR; v->str = STYLES[0]; break;
    case KN_P_ALIGN: v->type = KN_VT_STR; v->str = ALIGNS[0]; break;
    case KN_P_BASELINE: v->type = KN_VT_STR; v->str = BASELINES[2]; break;
    default: break;
    }
    return KN_OK;
}

static void allowed_elem_fields(kn_etype t, char *buf, size_t n)
{
    size_t len = 0;
    int w = snprintf(buf, n, "id, type");
    if (w > 0) len = (size_t)w;
    for (int k = 0; k < KN_P_COUNT && len < n; k++) {
        if (!(g_type_props[t] & PB(k))) continue;
        w = snprintf(buf + len, n - len, ", %s", g_desc[k].name);
        if (w > 0) len += (size_t)w;
    }
    if (t == KN_E_GROUP && len < n) snprintf(buf + len, n - len, ", children");
    if (t == KN_E_PATH && len < n) snprintf(buf + len, n - len, ", d");
    if (t == KN_E_COMPOSITION && len < n) snprintf(buf + len, n - len, ", document, start, speed");
    if (t == KN_E_IMAGE && len < n) snprintf(buf + len, n - len, ", src");
    if (t == KN_E_PLOT && len < n) snprintf(buf + len, n - len, ", ticks, series");
}

static int parse_elems(parser *p, const json_t *arr, int depth, kn_elem **out, size_t *nout);

/* `d` of a path: SVG path data, parsed once here (so a bad path is a 400
 * pointing at the column) and owned by the doc. It is not a slot: a path's
 * shape is fixed; move, turn and scale it with the transform properties. */
static int parse_path_data(parser *p, kn_elem *el, const json_t *jd)
{
    size_t old = push_key(p, "d");
    int rc = KN_OK, col = 0;
    kn_path *path = NULL;
    if (!jd) {
        rc = fail(p, KN_EINVAL, "missing field \"d\": a path needs its SVG path data, e.g. "
                  "\"M 0 0 L 100 50 Z\"");
    } else if (!json_is_string(jd)) {
        rc = fail(p, KN_EINVAL, "expected SVG path data (a string), got %s", jdesc(jd));
    } else if (kn_path_parse(json_string_value(jd), &path, &col, p->err) != KN_OK) {
        char msg[sizeof p->err->msg];
        snprintf(msg, sizeof msg, "%s", p->err->msg);
        rc = fail(p, p->err->code, "%s", msg);
    } else {
        owned *o = own(p);
        if (!o) {
            kn_path_destroy(path);
            rc = p->err->code;
        } else {
            o->path = path;
            el->path = path;
        }
    }
    pop(p, old);
    return rc;
}

/* `src` of an image: a data: URI decoded here, once, into pixels the doc
 * owns, so a bad image is a 400 before any frame is drawn. Like `d` it is
 * not a slot. The pixels count against the document's memory cap: the
 * decoder gets what is left of it and their size is added to the arena's
 * total. */
static int parse_image_src(parser *p, kn_elem *el, const json_t *js)
{
    size_t old = push_key(p, "src");
    int rc = KN_OK, col = 0;
    kn_image *img = NULL;
    owned *o = NULL;
    if (!js) {
        rc = fail(p, KN_EINVAL, "missing field \"src\": an image needs its pixels as a data: "
                  "URI, \"data:image/png;base64,...\" or \"data:image/jpeg;base64,...\"");
    } else if (!json_is_string(js)) {
        rc = fail(p, KN_EINVAL, "expected a data: URI (a string), got %s", jdesc(js));
    } else if (!(o = own(p))) {   /* before decoding: nothing to leak after */
        rc = p->err->code;
    } else {
        size_t room = p->A->cap > p->A->total ? p->A->cap - p->A->total : 0;
        rc = kn_image_decode_uri(json_string_value(js), json_string_length(js), room, &img, &col,
                                 p->err);
        if (rc) {
            char msg[sizeof p->err->msg];
            snprintf(msg, sizeof msg, "%s", p->err->msg);
            rc = fail(p, rc, "%s", msg);
        } else {
            o->image = img;
            p->A->total += kn_image_bytes(img);
            el->image = img;
        }
    }
    pop(p, old);
    return rc;
}

#define MAX_COMP_DEPTH 4

static int parse_doc_json(const json_t *root, const kn_doc_limits *lim, size_t budget,
                          const char *base_path, int depth, kn_doc **out, kn_err *err);

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
        old = push_key(p, "start");
        rc = get_num(p, js, &RSTART, &el->comp_start);
        pop(p, old);
        if (rc) return rc;
    }
    if (jp) {
        old = push_key(p, "speed");
        rc = get_num(p, jp, &RSPEED, &el->comp_speed);
        pop(p, old);
        if (rc) return rc;
    }
    const json_t *jd = json_object_get(j, "document");
    old = push_key(p, "document");
    if (!jd) {
        rc = fail(p, KN_EINVAL, "missing field \"document\": a composition plays a nested job "
                  "document (without output)");
    } else if (!json_is_object(jd)) {
        rc = fail(p, KN_EINVAL, "expected a job document (an object), got %s", jdesc(jd));
    } else if (p->depth + 1 > MAX_COMP_DEPTH) {
        rc = fail(p, KN_EINVAL, "compositions nest at most %d deep", MAX_COMP_DEPTH);
    } else {
        kn_doc *sub = NULL;
        char base[PATH_CAP];
        snprintf(base, sizeof base, "%s", p->path);
        /* One memory limit for the whole job: a nested document gets what
         * its parent has left and is charged to it, and so is the canvas a
         * render worker keeps for it (width x height x 4 bytes), so many
         * compositions cannot each take the full limit. */
        size_t room = p->A->cap > p->A->total ? p->A->cap - p->A->total : 0;
        rc = parse_doc_json(jd, &p->lim, room, base, p->depth + 1, &sub, p->err);
        if (!rc) {
            size_t used = ((const arena *)sub->arena_)->total;
            size_t canvas = (size_t)sub->width * (size_t)sub->height * 4;
            if (used + canvas > room) {
                rc = fail(p, KN_ETOOBIG, "this composition's document and its %dx%d frames need "
                          "more memory than is left of the job's limit of %zu bytes",
                          sub->width, sub->height, p->lim.max_bytes);
                kn_doc_destroy(sub);
            } else {
                p->A->total += used + canvas;
            }
        }
        if (!rc) {
            owned *o = own(p);
            if (!o) {
                kn_doc_destroy(sub);
                rc = p->err->code;
            } else {
                o->doc = sub;
                el->comp = sub;
                /* The box defaults to the document's own size. */
                if (!json_object_get(j, "width")) p->doc->init[el->slot[KN_P_WIDTH]].num = sub->width;
                if (!json_object_get(j, "height")) p->doc->init[el->slot[KN_P_HEIGHT]].num = sub->height;
            }
        }
    }
    pop(p, old);
    return rc;
}

/* ---- plot ------------------------------------------------------------- */

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
    const char *full = s->id ? pprintf(p, "%s.%s", s->id, name)
                             : pprintf(p, "#%zu.series.%zu.%s", flat, k, name);
    if (!full) return p->err->code;
    *out = new_slot(p, (unsigned char)kind, full);
    if (*out < 0) return fail(p, KN_EINTERNAL, "slot count mismatch");
    return KN_OK;
}

static int parse_series_id(parser *p, const json_t *jid, size_t flat, size_t k, kn_series *s)
{
    size_t old = push_key(p, "id");
    const char *id = json_is_string(jid) ? json_string_value(jid) : NULL;
    int rc = KN_OK;
    if (!id)
        rc = fail(p, KN_EINVAL, "expected a string id, got %s", jdesc(jid));
    else if (!*id)
        rc = fail(p, KN_EINVAL, "an id may not be empty");
    else if (strchr(id, '.'))
        rc = fail(p, KN_EINVAL, "id \"%.64s\" contains '.', which separates id and property "
                  "in targets (\"id.property\")", id);
    else if (json_object_get(p->ids, id))
        rc = fail(p, KN_EINVAL, "duplicate id \"%.64s\": element and series ids must be unique "
                  "within the document", id);
    /* Negative values mark series: -1 - (element << 16 | series). */
    else if (json_object_set_new(p->ids, id, json_integer(-1 - (json_int_t)((flat << 16) | k))))
        rc = fail(p, KN_ENOMEM, "out of memory");
    else if (!(s->id = pstrdup(p, id)))
        rc = p->err->code;
    pop(p, old);
    return rc;
}

/* One field of a series, parsed at its own pointer into slot (if >= 0). */
static int series_field(parser *p, const json_t *j, const char *key, int kind, int slot)
{
    const json_t *v = json_object_get(j, key);
    if (!v) return KN_OK;
    size_t old = push_key(p, key);
    p->calc_slot = kind == D_SWIDTH ? slot : -1;
    int rc = parse_value(p, v, &g_desc[kind], &p->doc->init[slot]);
    p->calc_slot = -1;
    pop(p, old);
    return rc;
}

static int parse_heatmap(parser *p, const json_t *j, size_t flat, size_t k, kn_series *s)
{
    static const char *const KEYS[] = { "id", "type", "data", "cmap", "vmin", "vmax",
                                        "colorbar", "label", NULL };
    int rc;
    size_t old;
    if ((rc = check_keys(p, j, KEYS))) return rc;
    if ((rc = series_slot(p, s, flat, k, D_SGRID, "data", &s->slot_y))) return rc;
    const json_t *jd = json_object_get(j, "data");
    old = push_key(p, "data");
    if (!jd)
        rc = fail(p, KN_EINVAL, "missing field \"data\": a heatmap needs a 2-D array of "
                  "numbers [[...], [...]]");
    else
        rc = parse_grid(p, jd, &p->doc->init[s->slot_y], &s->rows, &s->cols);
    if (!rc && (s->rows > KN_HEATMAP_MAX_SIDE || s->cols > KN_HEATMAP_MAX_SIDE))
        rc = fail(p, KN_ETOOBIG, "a heatmap of %zu x %zu cells: at most %d on a side (the "
                  "cells become one image, and no screen shows more)", s->rows, s->cols,
                  KN_HEATMAP_MAX_SIDE);
    pop(p, old);
    if (rc) return rc;
    s->cmap = "viridis";
    const json_t *jc = json_object_get(j, "cmap");
    if (jc) {
        old = push_key(p, "cmap");
        if (!json_is_string(jc) || !kn_cmap_lookup(json_string_value(jc)))
            rc = fail(p, KN_EINVAL, "expected a colormap name (one of %s), got %s%.64s%s",
                      kn_cmap_names(), json_is_string(jc) ? "\"" : "",
                      json_is_string(jc) ? json_string_value(jc) : jdesc(jc),
                      json_is_string(jc) ? "\"" : "");
        else
            s->cmap = kn_cmap_name(kn_cmap_lookup(json_string_value(jc)));
        pop(p, old);
        if (rc) return rc;
    }
    const char *nk[2] = { "vmin", "vmax" };
    for (int q = 0; q < 2; q++) {
        const json_t *jv = json_object_get(j, nk[q]);
        if (!jv) continue;
        old = push_key(p, nk[q]);
        rc = get_num(p, jv, &R_ANY, q ? &s->vmax : &s->vmin);
        pop(p, old);
        if (rc) return rc;
        if (q) s->has_vmax = 1; else s->has_vmin = 1;
    }
    if (s->has_vmin && s->has_vmax && !(s->vmin < s->vmax)) {
        old = push_key(p, "vmax");
        rc = fail(p, KN_EINVAL, "vmax (%g) must be greater than vmin (%g)", s->vmax, s->vmin);
        pop(p, old);
        return rc;
    }
    const json_t *jb = json_object_get(j, "colorbar");
    if (jb) {
        old = push_key(p, "colorbar");
        if (!json_is_boolean(jb))
            rc = fail(p, KN_EINVAL, "expected true or false, got %s", jdesc(jb));
        s->colorbar = json_is_true(jb);
        pop(p, old);
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
        return fail(p, KN_EINVAL, "a series is an object with a \"type\" (line, scatter, bar, "
                    "area, step, heatmap), got %s", jdesc(j));
    const json_t *jt = json_object_get(j, "type");
    old = push_key(p, "type");
    int t = -1;
    if (!jt) {
        rc = fail(p, KN_EINVAL, "missing field \"type\" (one of line, scatter, bar, area, step, "
                  "heatmap)");
    } else if (!json_is_string(jt)) {
        rc = fail(p, KN_EINVAL, "expected a series type (line, scatter, bar, area, step, "
                  "heatmap), got %s", jdesc(jt));
    } else {
        for (int q = 0; SERIES_TYPES[q]; q++)
            if (!strcmp(SERIES_TYPES[q], json_string_value(jt))) t = q;
        rc = t < 0 ? fail(p, KN_EINVAL, "unknown series type \"%.64s\" (allowed: line, scatter, "
                          "bar, area, step, heatmap)", json_string_value(jt)) : KN_OK;
    }
    pop(p, old);
    if (rc) return rc;
    s->type = (kn_series_type)t;
    const json_t *jid = json_object_get(j, "id");
    if (jid && (rc = parse_series_id(p, jid, flat, k, s))) return rc;
    const json_t *jl = json_object_get(j, "label");
    if (jl) {
        old = push_key(p, "label");
        if (!json_is_string(jl))
            rc = fail(p, KN_EINVAL, "expected a string, got %s", jdesc(jl));
        else if (!(s->label = pstrdup(p, json_string_value(jl))))
            rc = p->err->code;
        pop(p, old);
        if (rc) return rc;
    }
    if (s->type == KN_SER_HEATMAP) return parse_heatmap(p, j, flat, k, s);
    if ((rc = check_keys(p, j, KEYS))) return rc;

    if ((rc = series_slot(p, s, flat, k, D_SARR, "x", &s->slot_x)) ||
        (rc = series_slot(p, s, flat, k, D_SARR, "y", &s->slot_y)) ||
        (rc = series_slot(p, s, flat, k, D_SCOLOR, "color", &s->slot_color)) ||
        (rc = series_slot(p, s, flat, k, D_SWIDTH, "width", &s->slot_width)))
        return rc;
    kn_value *vx = &p->doc->init[s->slot_x], *vy = &p->doc->init[s->slot_y];
    const json_t *jx = json_object_get(j, "x"), *jy = json_object_get(j, "y");
    if (jx && is_expr_string(jx)) {
        old = push_key(p, "x");
        rc = fail(p, KN_EINVAL, "\"x\" must be numbers (an array or {\"linspace\": [start, "
                  "stop, count]}) so the number of points is known; \"y\" may be an "
                  "expression of x");
        pop(p, old);
        return rc;
    }
    if (jx) {
        old = push_key(p, "x");
        rc = parse_num_array(p, jx, &R_ANY, vx);
        pop(p, old);
        if (rc) return rc;
    }
    old = push_key(p, "y");
    if (!jy) {
        rc = fail(p, KN_EINVAL, "missing field \"y\": a series needs its y values (an array, "
                  "{\"linspace\": ...} or \"=expr\" of x and i)");
    } else if (is_expr_string(jy)) {
        if (!jx) {
            pop(p, old);
            old = push_key(p, "x");
            rc = fail(p, KN_EINVAL, "missing field \"x\": \"y\" is an expression, so \"x\" must "
                      "give the points (an array or {\"linspace\": [start, stop, count]})");
        } else if (!(rc = add_calc(p, KN_CALC_SERIES_Y, s->slot_y, 0,
                                   json_string_value(jy) + 1))) {
            p->calcs[p->ncalcs - 1].src = s->slot_x;
            vy->type = KN_VT_ARRAY;
            vy->n = vx->n;
            vy->arr = vx->n ? palloc(p, vx->n, sizeof *vy->arr) : g_empty;
            if (!vy->arr) rc = p->err->code;
        }
    } else if (!(rc = parse_num_array(p, jy, &R_ANY, vy)) && jx && vx->n != vy->n) {
        rc = fail(p, KN_EINVAL, "\"x\" has %zu numbers and \"y\" has %zu: they must have the "
                  "same length", vx->n, vy->n);
    }
    pop(p, old);
    if (rc) return rc;
    if (!jx) {
        vx->type = KN_VT_ARRAY;
        vx->n = vy->n;
        vx->arr = vy->n ? palloc(p, vy->n, sizeof *vx->arr) : g_empty;
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
        old = push_key(p, "marker");
        rc = parse_value(p, jm, &DM, &mv);
        pop(p, old);
        if (rc) return rc;
        s->marker = strcmp(mv.str, "none") ? mv.str[0] : 0;
    }
    const json_t *jms = json_object_get(j, "marker_size");
    if (jms) {
        static const nrange RMS = { 0, 1000, R_LO | R_HI };
        old = push_key(p, "marker_size");
        rc = get_num(p, jms, &RMS, &s->marker_size);
        pop(p, old);
    }
    return rc;
}

/* ticks: {"x": [...], "y": [...]} explicit tick values for either axis. */
static int parse_ticks(parser *p, const json_t *j, kn_plot *pl)
{
    static const char *const XY[] = { "x", "y", NULL };
    int rc;
    if (!json_is_object(j))
        return fail(p, KN_EINVAL, "expected {\"x\": [...], \"y\": [...]} (explicit tick values; "
                    "leave \"ticks\" out for automatic ticks), got %s", jdesc(j));
    if ((rc = check_keys(p, j, XY))) return rc;
    for (int a = 0; a < 2; a++) {
        const json_t *ja = json_object_get(j, XY[a]);
        if (!ja) continue;
        size_t old = push_key(p, XY[a]);
        kn_value v;
        memset(&v, 0, sizeof v);
        if (json_is_array(ja) && json_array_size(ja) > MAX_TICKS)
            rc = fail(p, KN_EINVAL, "%zu ticks are more than the %d allowed",
                      json_array_size(ja), MAX_TICKS);
        else
            rc = parse_num_array(p, ja, &R_ANY, &v);
        pop(p, old);
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
        int sslot = el->slot[a ? KN_P_YSCALE : KN_P_XSCALE], lslot = el->slot[a ? KN_P_YLIM : KN_P_XLIM];
        const kn_value *sv = sslot >= 0 ? &p->doc->init[sslot] : NULL;
        if (!sv || sv->type != KN_VT_STR || !sv->str || strcmp(sv->str, "log") != 0) continue;
        const kn_value *lv = lslot >= 0 ? &p->doc->init[lslot] : NULL;
        if (lv && lv->type == KN_VT_ARRAY && lv->n == 2 && !p->ecalc[lslot] &&
            json_object_get(j, LIM[a]) && !(lv->arr[0] > 0 && lv->arr[1] > 0)) {
            size_t old = push_key(p, LIM[a]);
            int rc = fail(p, KN_EINVAL, "%s is \"log\", so %s must be positive, got [%g, %g]",
                          SC[a], LIM[a], lv->arr[0], lv->arr[1]);
            pop(p, old);
            return rc;
        }
        for (size_t t = 0; pl->has_ticks[a] && t < pl->nticks[a]; t++) {
            if (pl->ticks[a][t] > 0) continue;
            size_t o1 = push_key(p, "ticks"), o2 = push_key(p, a ? "y" : "x"), o3 = push_idx(p, t);
            int rc = fail(p, KN_EINVAL, "%s is \"log\", so ticks must be positive, got %g",
                          SC[a], pl->ticks[a][t]);
            pop(p, o3);
            pop(p, o2);
            pop(p, o1);
            return rc;
        }
        for (size_t k = 0; k < pl->nseries; k++) {
            if (pl->series[k].type != KN_SER_HEATMAP) continue;
            size_t o1 = push_key(p, "series"), o2 = push_idx(p, k);
            int rc = fail(p, KN_EINVAL, "a heatmap needs linear axes, but %s is \"log\"", SC[a]);
            pop(p, o2);
            pop(p, o1);
            return rc;
        }
    }
    return KN_OK;
}

static int parse_plot(parser *p, kn_elem *el, size_t flat, const json_t *j)
{
    int rc = KN_OK;
    kn_plot *pl = palloc(p, 1, sizeof *pl);
    if (!pl) return p->err->code;
    el->plot = pl;
    const json_t *jt = json_object_get(j, "ticks");
    if (jt) {
        size_t old = push_key(p, "ticks");
        rc = parse_ticks(p, jt, pl);
        pop(p, old);
        if (rc) return rc;
    }
    const json_t *js = json_object_get(j, "series");
    if (!js) return check_log_axes(p, el, j);
    size_t old = push_key(p, "series");
    size_t n = json_is_array(js) ? json_array_size(js) : 0;
    if (!json_is_array(js))
        rc = fail(p, KN_EINVAL, "expected an array of series, got %s", jdesc(js));
    else if (n > MAX_SERIES)
        rc = fail(p, KN_EINVAL, "%zu series are more than the %d a plot may have", n, MAX_SERIES);
    kn_series *ser = rc || !n ? NULL : palloc(p, n, sizeof *ser);
    if (!rc && n && !ser) rc = p->err->code;
    for (size_t k = 0; k < n && !rc; k++) {
        size_t o2 = push_idx(p, k);
        rc = parse_series(p, json_array_get(js, k), flat, k, &ser[k]);
        pop(p, o2);
        pl->series = ser;
        pl->nseries = k + 1;   /* targets resolve against parsed series only */
    }
    pop(p, old);
    return rc ? rc : check_log_axes(p, el, j);
}

static int parse_elem(parser *p, const json_t *j, kn_elem *el, int depth)
{
    int rc;
    if (!json_is_object(j))
        return fail(p, KN_EINVAL, "an element is an object with a \"type\" (%s), got %s",
                    TYPE_LIST, jdesc(j));
    if (depth > MAX_DEPTH)
        return fail(p, KN_EINVAL, "groups nest at most %d deep", MAX_DEPTH);

    const json_t *jt = json_object_get(j, "type");
    size_t old = push_key(p, "type");
    int t = -1;
    if (!jt) {
        rc = fail(p, KN_EINVAL, "missing field \"type\" (one of %s)", TYPE_LIST);
    } else if (!json_is_string(jt)) {
        rc = fail(p, KN_EINVAL, "expected an element type (%s), got %s", TYPE_LIST, jdesc(jt));
    } else {
        const char *ts = json_string_value(jt);
        t = type_of_name(ts);
        if (t >= 0)
            rc = KN_OK;
        else
            rc = fail(p, KN_EINVAL, "unknown element type \"%.64s\" (allowed: %s)", ts, TYPE_LIST);
    }
    pop(p, old);
    if (rc) return rc;
    el->type = (kn_etype)t;

    if (p->nelems >= p->nelems_max)
        return fail(p, KN_EINTERNAL, "element count mismatch");
    size_t flat = p->nelems++;
    p->elems[flat] = el;

    const json_t *jid = json_object_get(j, "id");
    if (jid) {
        old = push_key(p, "id");
        const char *id = json_is_string(jid) ? json_string_value(jid) : NULL;
        if (!id)
            rc = fail(p, KN_EINVAL, "expected a string id, got %s", jdesc(jid));
        else if (!*id)
            rc = fail(p, KN_EINVAL, "an id may not be empty");
        else if (strchr(id, '.'))
            rc = fail(p, KN_EINVAL, "id \"%.64s\" contains '.', which separates id and property "
                      "in targets (\"id.property\")", id);
        else if (json_object_get(p->ids, id))
            rc = fail(p, KN_EINVAL, "duplicate id \"%.64s\": ids must be unique within the "
                      "document", id);
        else if (json_object_set_new(p->ids, id, json_integer((json_int_t)flat)))
            rc = fail(p, KN_ENOMEM, "out of memory");
        else if (!(el->id = pstrdup(p, id)))
            rc = p->err->code;
        pop(p, old);
        if (rc) return rc;
    }

    for (int k = 0; k < KN_P_COUNT; k++) {
        el->slot[k] = -1;
        if (!(g_type_props[t] & PB(k))) continue;
        const char *name = el->id ? pprintf(p, "%s.%s", el->id, g_desc[k].name)
                                  : pprintf(p, "#%zu.%s", flat, g_desc[k].name);
        if (!name) return p->err->code;
        int s = new_slot(p, (unsigned char)k, name);
        if (s < 0) return fail(p, KN_EINTERNAL, "slot count mismatch");
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
            if ((g_type_props[t] & PB(k)) && !strcmp(g_desc[k].name, key)) prop = k;
        old = push_key(p, key);
        if (prop < 0) {
            char list[384];
            allowed_elem_fields(el->type, list, sizeof list);
            int paint = 0;
            for (int k = 0; k < KN_P_COUNT; k++)
                if ((PAINT & PB(k)) && !strcmp(g_desc[k].name, key)) paint = 1;
            if (paint && t == KN_E_PLOT)
                rc = fail(p, KN_EINVAL, "a plot has no \"%.32s\": its colours come from its style "
                          "and series (allowed: %s)", key, list);
            else if (paint)
                rc = fail(p, KN_EINVAL, "%s %s has no paint of its own, so no \"%.32s\": give it "
                          "to the shapes %s, or put a rect behind it (allowed: %s)",
                          type_article(t), g_type_name[t], key,
                          t == KN_E_GROUP ? "among its children" :
                          t == KN_E_COMPOSITION ? "of its document" : "around it", list);
            else
                rc = fail(p, KN_EINVAL, "unknown field \"%.64s\" for %s %s (allowed: %s)", key,
                          type_article(t), g_type_name[t], list);
        } else {
            p->calc_slot = el->slot[prop];
            rc = parse_value(p, v, &g_desc[prop], &p->doc->init[el->slot[prop]]);
            p->calc_slot = -1;
            if (p->grad) el->grad[prop == KN_P_STROKE] = p->grad;
            p->grad = NULL;
        }
        pop(p, old);
        if (rc) return rc;
    }

    uint64_t req = g_type_required[t];
    for (int k = 0; k < KN_P_COUNT; k++) {
        if (!(req & PB(k)) || json_object_get(j, g_desc[k].name)) continue;
        char want[96];
        range_text(&g_desc[k].range, want, sizeof want);
        old = push_key(p, g_desc[k].name);
        rc = fail(p, KN_EINVAL, "missing field \"%s\": %s %s needs it (%s)", g_desc[k].name,
                  type_article(t), g_type_name[t], want);
        pop(p, old);
        return rc;
    }

    if (t == KN_E_PATH && (rc = parse_path_data(p, el, json_object_get(j, "d")))) return rc;
    if (t == KN_E_COMPOSITION && (rc = parse_composition(p, el, j))) return rc;
    if (t == KN_E_IMAGE && (rc = parse_image_src(p, el, json_object_get(j, "src")))) return rc;
    if (t == KN_E_PLOT && (rc = parse_plot(p, el, flat, j))) return rc;

    if (t == KN_E_GROUP) {
        const json_t *ch = json_object_get(j, "children");
        if (ch) {
            old = push_key(p, "children");
            rc = parse_elems(p, ch, depth + 1, &el->children, &el->nchildren);
            pop(p, old);
            if (rc) return rc;
        }
    }
    return KN_OK;
}

static int parse_elems(parser *p, const json_t *arr, int depth, kn_elem **out, size_t *nout)
{
    if (!json_is_array(arr))
        return fail(p, KN_EINVAL, "expected an array of elements, got %s", jdesc(arr));
    size_t n = json_array_size(arr);
    *out = NULL;
    *nout = 0;
    if (!n) return KN_OK;
    kn_elem *els = palloc(p, n, sizeof *els);
    if (!els) return p->err->code;
    for (size_t i = 0; i < n; i++) {
        size_t old = push_idx(p, i);
        int rc = parse_elem(p, json_array_get(arr, i), &els[i], depth);
        pop(p, old);
        if (rc) return rc;
    }
    *out = els;
    *nout = n;
    return KN_OK;
}

/* ---- targets ---------------------------------------------------------- */

/* "<series id>.<prop>": code is the negative value p->ids holds for a
 * series (see parse_series). */
static int resolve_series_target(parser *p, const char *key, const char *prop, json_int_t code,
                                 int *slot)
{
    json_int_t c = -1 - code;
    const kn_elem *el = p->elems[c >> 16];
    const kn_series *s = &el->plot->series[c & 0xffff];
    int heat = s->type == KN_SER_HEATMAP;
    if (!heat && !strcmp(prop, "x")) *slot = s->slot_x;
    else if (!heat && !strcmp(prop, "y")) *slot = s->slot_y;
    else if (!heat && !strcmp(prop, "color")) *slot = s->slot_color;
    else if (!heat && !strcmp(prop, "width")) *slot = s->slot_width;
    else if (heat && !strcmp(prop, "data")) *slot = s->slot_y;
    else
        return fail(p, KN_EINVAL, "unknown target \"%.64s\": a %s series has no property "
                    "\"%.32s\" (it has: %s)", key, heat ? "heatmap" : "plot", prop,
                    heat ? "data" : "x, y, color, width");
    return KN_OK;
}

/* Resolves a target key at the current path (the key's own pointer). */
static int resolve_target(parser *p, const char *key, int *slot)
{
    const char *dot = strchr(key, '.');
    if (!dot) {
        const json_t *v = json_object_get(p->vars, key);
        if (!v)
            return fail(p, KN_EINVAL, "unknown target \"%.64s\": no var has that name (a target "
                        "is \"<element id>.<property>\" or a var name)", key);
        *slot = (int)json_integer_value(v);
    } else {
        const json_t *e = json_object_getn(p->ids, key, (size_t)(dot - key));
        if (!e)
            return fail(p, KN_EINVAL, "unknown target \"%.64s\": no element has id \"%.*s\"",
                        key, (int)(dot - key > 64 ? 64 : dot - key), key);
        if (json_integer_value(e) < 0) {
            int rc = resolve_series_target(p, key, dot + 1, json_integer_value(e), slot);
            if (rc) return rc;
            goto checks;
        }
        const kn_elem *el = p->elems[json_integer_value(e)];
        const char *prop = dot + 1;
        int k;
        for (k = 0; k < KN_P_COUNT; k++)
            if (el->slot[k] >= 0 && !strcmp(g_desc[k].name, prop)) break;
        if (k == KN_P_COUNT) {
            char list[384];
            size_t len = 0;
            list[0] = '\0';
            for (int q = 0; q < KN_P_COUNT && len < sizeof list; q++) {
                if (el->slot[q] < 0) continue;
                int w = snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "",
                                 g_desc[q].name);
                if (w > 0) len += (size_t)w;
            }
            return fail(p, KN_EINVAL, "unknown target \"%.64s\": %s %s has no property \"%.32s\" "
                        "(it has: %s)", key, type_article(el->type), g_type_name[el->type], prop,
                        list);
        }
        if ((k == KN_P_FILL || k == KN_P_STROKE) && el->grad[k == KN_P_STROKE])
            return fail(p, KN_EINVAL, "target \"%.64s\" cannot be set or tweened: %s is a "
                        "gradient, and gradients cannot be animated; animate the element's "
                        "opacity or use colours", key, g_desc[k].name);
        *slot = el->slot[k];
    }
checks:
    if (p->ecalc[*slot])
        return fail(p, KN_EINVAL, "target \"%.64s\" is computed by an expression every frame, "
                    "so it cannot also be set or tweened: animate a var the expression uses "
                    "instead", key);
    return KN_OK;
}

/* Checks that an array value keeps the length of its slot's init value. */
static int check_len(parser *p, int slot, const kn_value *v, const char *what)
{
    const kn_value *init = &p->doc->init[slot];
    if (init->type != KN_VT_ARRAY || v->n == init->n) return KN_OK;
    return fail(p, KN_EINVAL, "%s has %zu numbers but \"%.64s\" starts with %zu: tweened arrays "
                "must keep their length", what, v->n, p->doc->slot_name[slot], init->n);
}

/* Tween value: a valid value is the `to`; else [from, to] of valid values. */
static int parse_tween_value(parser *p, const json_t *j, int slot, kn_target *t)
{
    const pdesc *d = slot_desc(p, slot);
    kn_err *saved = p->err, e1, ef, et;
    int rc, rf, rt;

    kn_err_clear(&e1);
    p->err = &e1;
    rc = parse_value(p, j, d, &t->to);
    p->err = saved;
    /* A slot without a value of its own (an origin left to default to the
     * shape's centre) can be set, and tweened from an explicit value, but a
     * from-less tween has nothing to start from. */
    if (rc == KN_OK && p->doc->init[slot].type == KN_VT_NONE)
        return fail(p, KN_EINVAL, "tweening \"%.64s\" needs a start value: the element gives "
                    "none (write [from, to], or give the element an \"%s\")",
                    p->doc->slot_name[slot], d->name);
    if (rc == KN_OK) return check_len(p, slot, &t->to, "the tween's value");
    if (rc != KN_EINVAL || !json_is_array(j) || json_array_size(j) != 2) {
        *saved = e1;
        return rc;
    }

    size_t old = push_idx(p, 0);
    kn_err_clear(&ef);
    p->err = &ef;
    rf = parse_value(p, json_array_get(j, 0), d, &t->from);
    pop(p, old);
    old = push_idx(p, 1);
    kn_err_clear(&et);
    p->err = &et;
    rt = parse_value(p, json_array_get(j, 1), d, &t->to);
    pop(p, old);
    p->err = saved;

    if (rf != KN_OK && rf != KN_EINVAL) { *saved = ef; return rf; }
    if (rt != KN_OK && rt != KN_EINVAL) { *saved = et; return rt; }
    if (rf == KN_OK && rt == KN_OK) {
        t->has_from = 1;
        old = push_idx(p, 0);
        rc = check_len(p, slot, &t->from, "\"from\"");
        pop(p, old);
        if (rc) return rc;
        old = push_idx(p, 1);
        rc = check_len(p, slot, &t->to, "\"to\"");
        pop(p, old);
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
        if (!c) return fail(p, KN_ENOMEM, "out of memory");
        p->checks = c;
        p->cap_checks = nc;
    }
    char *path = strdup(p->path);
    if (!path) return fail(p, KN_ENOMEM, "out of memory");
    p->checks[p->nchecks++] = (set_check){ slot, n, path };
    return KN_OK;
}

/* A {TARGET: value} object of a tween (tween != 0), a timeline set
 * (timeline != 0) or a frame entry. */
/* Compiles "=expr" (src without the '=') into an expression the doc owns.
 * Errors point at the field being parsed and give the column. */
static int compile_owned_expr(parser *p, const char *src, const kn_expr **out)
{
    kn_expr *e = NULL;
    int rc = compile_owned(p, src, 0, &e, NULL);
    if (rc == KN_OK) *out = e;
    return rc;
}

/* A number target's value written as "=expr" (a tween's `to`, `set`, a
 * frame entry) or a tween's [from, to] with an expression on either side.
 * Returns 1 when v had that form and was handled (rc in *rc), else 0. */
static int parse_expr_target(parser *p, const json_t *v, int tween, kn_target *t, int *rc)
{
    if (p->doc->init[t->slot].type != KN_VT_NUM) return 0;
    const nrange *r = &slot_desc(p, t->slot)->range;
    if (is_expr_string(v)) {
        t->to = (kn_value){ .type = KN_VT_NUM };
        *rc = compile_owned_expr(p, json_string_value(v) + 1, &t->to_expr);
        return 1;
    }
    if (!tween || !json_is_array(v) || json_array_size(v) != 2) return 0;
    const json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
    if (!is_expr_string(a) && !is_expr_string(b)) return 0;
    t->has_from = 1;
    t->from = t->to = (kn_value){ .type = KN_VT_NUM };
    const json_t *side[2] = { a, b };
    kn_value *val[2] = { &t->from, &t->to };
    const kn_expr **ex[2] = { &t->from_expr, &t->to_expr };
    for (size_t k = 0; k < 2; k++) {
        size_t old = push_idx(p, k);
        *rc = is_expr_string(side[k]) ? compile_owned_expr(p, json_string_value(side[k]) + 1, ex[k])
                                      : get_num(p, side[k], r, &val[k]->num);
        pop(p, old);
        if (*rc) return 1;
    }
    return 1;
}

static int parse_targets(parser *p, const json_t *obj, int tween, int timeline,
                         kn_target **out, size_t *nout)
{
    const char *key;
    json_t *v;
    int rc = KN_OK;

    *out = NULL;
    *nout = 0;
    if (!json_is_object(obj))
        return fail(p, KN_EINVAL, "expected an object of \"<id>.<property>\" or var name: value, "
                    "got %s", jdesc(obj));
    size_t n = json_object_size(obj), i = 0;
    if (!n) return KN_OK;
    kn_target *ts = palloc(p, n, sizeof *ts);
    if (!ts) return p->err->code;
    json_object_foreach((json_t *)obj, key, v) {
        kn_target *t = &ts[i++];
        size_t old = push_key(p, key);
        rc = resolve_target(p, key, &t->slot);
        if (!rc && parse_expr_target(p, v, tween, t, &rc)) {
            if (!rc && tween) p->tweened[t->slot] = 1;
        } else if (!rc && tween) {
            rc = parse_tween_value(p, v, t->slot, t);
            if (!rc) p->tweened[t->slot] = 1;
        } else if (!rc) {
            rc = parse_value(p, v, slot_desc(p, t->slot), &t->to);
            if (!rc && slot_desc(p, t->slot) == &g_desc[D_SGRID] &&
                t->to.n != p->doc->init[t->slot].n)
                rc = fail(p, KN_EINVAL, "heatmap data of %zu cells, but \"%.64s\" has %zu: a "
                          "heatmap keeps its shape (give all its cells, row by row)", t->to.n,
                          p->doc->slot_name[t->slot], p->doc->init[t->slot].n);
            if (!rc && timeline && t->to.type == KN_VT_ARRAY &&
                t->to.n != p->doc->init[t->slot].n)
                rc = add_check(p, t->slot, t->to.n);
        }
        pop(p, old);
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

static int parse_easing(parser *p, const json_t *j, kn_easing *e)
{
    if (json_is_string(j)) return kn_easing_lookup(json_string_value(j), e, p->path, p->err);
    if (!json_is_object(j))
        return fail(p, KN_EINVAL, "expected an easing name or {\"name\": ..., parameters}, got %s",
                    jdesc(j));
    const json_t *jn = json_object_get(j, "name");
    size_t old = push_key(p, "name");
    int rc;
    if (!jn)
        rc = fail(p, KN_EINVAL, "missing field \"name\": the easing's name, e.g. "
                  "\"easeOutElastic\"");
    else if (!json_is_string(jn))
        rc = fail(p, KN_EINVAL, "expected an easing name, got %s", jdesc(jn));
    else
        rc = kn_easing_lookup(json_string_value(jn), e, p->path, p->err);
    pop(p, old);
    if (rc) return rc;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v) {
        if (!strcmp(key, "name")) continue;
        double x = 0;
        old = push_key(p, key);
        rc = get_num(p, v, &R_ANY, &x);
        if (!rc) rc = kn_easing_set_param(e, key, x, p->path, p->err);
        pop(p, old);
        if (rc) return rc;
    }
    return KN_OK;
}

static int parse_scene(parser *p, const json_t *j, kn_scene *sc, int depth);

static int parse_scene_list(parser *p, const json_t *arr, kn_scene *sc, int depth)
{
    if (!json_is_array(arr))
        return fail(p, KN_EINVAL, "expected an array of scenes, got %s", jdesc(arr));
    size_t n = json_array_size(arr);
    sc->base = 0;
    if (!n) return KN_OK;
    sc->children = palloc(p, n, sizeof *sc->children);
    if (!sc->children) return p->err->code;
    if (sc->type == KN_S_SEQUENCE) {
        sc->child_start = palloc(p, n, sizeof *sc->child_start);
        if (!sc->child_start) return p->err->code;
    }
    for (size_t i = 0; i < n; i++) {
        size_t old = push_idx(p, i);
        int rc = parse_scene(p, json_array_get(arr, i), &sc->children[i], depth + 1);
        pop(p, old);
        if (rc) return rc;
        double len = sc->children[i].length;
        if (sc->type == KN_S_SEQUENCE) {
            sc->child_start[i] = sc->base;
            sc->base += len;
        } else if (len > sc->base) {
            sc->base = len;
        }
        sc->nchildren = i + 1;
        if (sc->base > MAX_SECONDS)
            return fail(p, KN_EINVAL, "the scene lasts %g s, more than the %g s allowed",
                        sc->base, MAX_SECONDS);
    }
    return KN_OK;
}

static int parse_scene(parser *p, const json_t *j, kn_scene *sc, int depth)
{
    const char *key, *kind = NULL;
    json_t *v, *body = NULL;
    size_t old;
    int rc;

    memset(sc, 0, sizeof *sc);
    sc->speed = 1;
    sc->repeat = 1;
    if (!json_is_object(j))
        return fail(p, KN_EINVAL, "expected a scene object (tween, set, wait, sequence or "
                    "parallel), got %s", jdesc(j));
    if (depth > MAX_DEPTH) return fail(p, KN_EINVAL, "scenes nest at most %d deep", MAX_DEPTH);
    if (++p->nscenes > MAX_SCENES)
        return fail(p, KN_ETOOBIG, "the timeline has more than %d scenes", MAX_SCENES);
    if ((rc = check_keys(p, j, SCENE_KEYS))) return rc;

    json_object_foreach((json_t *)j, key, v) {
        int is_kind = 0;
        for (const char *const *k = SCENE_KINDS; *k; k++)
            if (!strcmp(*k, key)) is_kind = 1;
        if (!is_kind) continue;
        if (kind) {
            old = push_key(p, key);
            rc = fail(p, KN_EINVAL, "a scene has exactly one of tween, set, wait, sequence, "
                      "parallel; this one has both \"%s\" and \"%s\"", kind, key);
            pop(p, old);
            return rc;
        }
        kind = key;
        body = v;
    }
    if (!kind)
        return fail(p, KN_EINVAL, "a scene needs one of tween, set, wait, sequence, parallel");

    const json_t *jdur = json_object_get(j, "duration");
    old = push_key(p, kind);
    if (!strcmp(kind, "tween")) {
        sc->type = KN_S_TWEEN;
        rc = parse_targets(p, body, 1, 1, &sc->targets, &sc->ntargets);
    } else if (!strcmp(kind, "set")) {
        sc->type = KN_S_SET;
        rc = parse_targets(p, body, 0, 1, &sc->targets, &sc->ntargets);
    } else if (!strcmp(kind, "wait")) {
        static const nrange RW = { 0, MAX_SECONDS, R_LO | R_HI };
        sc->type = KN_S_WAIT;
        rc = get_num(p, body, &RW, &sc->base);
    } else {
        sc->type = !strcmp(kind, "sequence") ? KN_S_SEQUENCE : KN_S_PARALLEL;
        rc = parse_scene_list(p, body, sc, depth);
    }
    pop(p, old);
    if (rc) return rc;

    static const nrange RD = { 0, MAX_SECONDS, R_LO | R_HI };
    if (sc->type == KN_S_TWEEN) {
        old = push_key(p, "duration");
        if (!jdur)
            rc = fail(p, KN_EINVAL, "missing field \"duration\": a tween needs its length in "
                      "seconds (a number >= 0)");
        else
            rc = get_num(p, jdur, &RD, &sc->base);
        pop(p, old);
        if (rc) return rc;
    } else if (jdur && (sc->type == KN_S_SET || sc->type == KN_S_WAIT)) {
        old = push_key(p, "duration");
        rc = fail(p, KN_EINVAL, "a %s takes no \"duration\" (%s)", kind,
                  sc->type == KN_S_SET ? "it applies at once" : "its length is the \"wait\" value");
        pop(p, old);
        return rc;
    }
    double D = sc->base;

    const json_t *jc = json_object_get(j, "crop");
    if (jc) {
        old = push_key(p, "crop");
        double ab[2] = { 0, 0 };
        if (D <= 0)
            rc = fail(p, KN_EINVAL, "cannot crop a scene of length 0");
        else
            rc = parse_xy(p, jc, "[a, b] with 0 <= a < b <= the scene's length", ab);
        if (!rc && !(ab[0] >= 0 && ab[0] < ab[1] && ab[1] <= D * (1 + 1e-9)))
            rc = fail(p, KN_EINVAL, "crop [%g, %g] is out of range: need 0 <= a < b <= %g (the "
                      "scene's length)", ab[0], ab[1], D);
        pop(p, old);
        if (rc) return rc;
        sc->has_crop = 1;
        sc->crop_a = ab[0];
        sc->crop_b = ab[1] > D ? D : ab[1];
        D = sc->crop_b - sc->crop_a;
    }

    const json_t *jr = json_object_get(j, "reverse");
    if (jr) {
        old = push_key(p, "reverse");
        if (!json_is_boolean(jr)) rc = fail(p, KN_EINVAL, "expected true or false, got %s", jdesc(jr));
        pop(p, old);
        if (rc) return rc;
        sc->reverse = json_is_true(jr);
    }

    const json_t *je = json_object_get(j, "easing");
    if (je) {
        old = push_key(p, "easing");
        rc = parse_easing(p, je, &sc->easing);
        pop(p, old);
        if (rc) return rc;
        sc->has_easing = 1;
    }

    const json_t *js = json_object_get(j, "speed");
    if (js) {
        old = push_key(p, "speed");
        rc = get_num(p, js, &R_POS, &sc->speed);
        pop(p, old);
        if (rc) return rc;
        D /= sc->speed;
    }

    if (jdur && (sc->type == KN_S_SEQUENCE || sc->type == KN_S_PARALLEL)) {
        static const nrange RT = { 0, MAX_SECONDS, R_LO | R_LO_OPEN | R_HI };
        old = push_key(p, "duration");
        if (js)
            rc = fail(p, KN_EINVAL, "give \"speed\" or \"duration\", not both");
        else if (D <= 0)
            rc = fail(p, KN_EINVAL, "cannot stretch a %s of length 0 to a duration", kind);
        else
            rc = get_num(p, jdur, &RT, &sc->duration);
        pop(p, old);
        if (rc) return rc;
        sc->has_duration = 1;
        D = sc->duration;
    }

    const json_t *jrep = json_object_get(j, "repeat");
    if (jrep) {
        static const nrange RR = { 1, INT_MAX, R_LO | R_HI | R_INT };
        double r = 1;
        old = push_key(p, "repeat");
        rc = get_num(p, jrep, &RR, &r);
        pop(p, old);
        if (rc) return rc;
        sc->repeat = (int)r;
        D *= sc->repeat;
    }

    if (!isfinite(D) || D > MAX_SECONDS)
        return fail(p, KN_EINVAL, "the scene lasts %g s after its modifiers, more than the %g s "
                    "allowed", D, MAX_SECONDS);
    sc->length = D;
    return KN_OK;
}

static int check_set_lengths(parser *p)
{
    for (size_t i = 0; i < p->nchecks; i++) {
        const set_check *c = &p->checks[i];
        if (!p->tweened[c->slot]) continue;
        snprintf(p->path, sizeof p->path, "%s", c->path);
        p->plen = strlen(p->path);
        int rc = fail(p, KN_EINVAL, "the set gives %zu numbers but \"%.64s\" starts with %zu and "
                      "is tweened: tweened arrays must keep their length", c->n,
                      p->doc->slot_name[c->slot], p->doc->init[c->slot].n);
        pop(p, p->base_len);
        return rc;
    }
    return KN_OK;
}

/* ---- frames ----------------------------------------------------------- */

typedef struct frame_tmp {
    double index;
    size_t pos;
    int explicit_index;
    kn_target *sets;
    size_t nsets;
} frame_tmp;

static int cmp_frame(const void *a, const void *b)
{
    const frame_tmp *x = a, *y = b;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void frame_path(parser *p, const frame_tmp *f)
{
    pop(p, p->base_len);
    push_key(p, "frames");
    push_idx(p, f->pos);
    if (f->explicit_index) push_key(p, "index");
}

static int parse_frames(parser *p, const json_t *j, frame_tmp **out, size_t *nout)
{
    static const char *const KEYS[] = { "set", "index", NULL };
    static const nrange RI = { 0, 0, R_INT };
    size_t old = push_key(p, "frames");
    int rc = KN_OK;
    frame_tmp *fs = NULL;
    size_t n = 0;

    if (!json_is_array(j)) {
        rc = fail(p, KN_EINVAL, "expected an array of {\"set\": {...}, \"index\": k}, got %s",
                  jdesc(j));
        goto out;
    }
    n = json_array_size(j);
    if (n > (size_t)p->lim.max_frames) {
        rc = fail(p, KN_EINVAL, "%zu frame entries are more than the limit of %ld frames", n,
                  p->lim.max_frames);
        goto out;
    }
    fs = calloc(n ? n : 1, sizeof *fs);
    if (!fs) {
        rc = fail(p, KN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(j, i);
        size_t o2 = push_idx(p, i);
        frame_tmp *f = &fs[i];
        f->pos = i;
        f->index = (double)i;
        if (!json_is_object(e)) {
            rc = fail(p, KN_EINVAL, "expected {\"set\": {...}} with an optional \"index\", got %s",
                      jdesc(e));
        } else if (!(rc = check_keys(p, e, KEYS))) {
            const json_t *ji = json_object_get(e, "index");
            if (ji) {
                size_t o3 = push_key(p, "index");
                rc = get_num(p, ji, &RI, &f->index);
                if (!rc && f->index < 0)
                    rc = fail(p, KN_EINVAL, "frame index %g is negative: frames count from 0",
                              f->index);
                pop(p, o3);
                f->explicit_index = 1;
            }
            const json_t *js = json_object_get(e, "set");
            size_t o3 = push_key(p, "set");
            if (!rc && !js)
                rc = fail(p, KN_EINVAL, "missing field \"set\": an entry is {\"set\": {TARGET: "
                          "value, ...}}");
            else if (!rc)
                rc = parse_targets(p, js, 0, 0, &f->sets, &f->nsets);
            pop(p, o3);
        }
        pop(p, o2);
        if (rc) goto out;
    }
    qsort(fs, n, sizeof *fs, cmp_frame);

    /* Of several entries for one frame, blame the one that comes latest in
     * a pair, choosing the earliest such in the document. */
    const frame_tmp *dup = NULL;
    for (size_t i = 1; i < n; i++)
        if (fs[i].index == fs[i - 1].index && (!dup || fs[i].pos < dup->pos)) dup = &fs[i];
    if (dup) {
        frame_path(p, dup);
        rc = fail(p, KN_EINVAL, "frame %.0f has two entries: each frame may have at most one",
                  dup->index);
        pop(p, p->base_len);
        goto out;
    }
out:
    pop(p, old);
    if (rc) {
        free(fs);
        fs = NULL;
        n = 0;
    }
    *out = fs;
    *nout = n;
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
    doc->animated = palloc(p, doc->nslots ? doc->nslots : 1, 1);
    if (!doc->animated) return p->err->code;
    unsigned char *anim = doc->animated;
    if (doc->timeline) mark_targets(doc->timeline, anim);
    for (size_t f = 0; f < doc->nframes_entries; f++)
        for (size_t i = 0; i < doc->frames[f].nsets; i++) anim[doc->frames[f].sets[i].slot] = 1;
    if (!p->ncalcs) return KN_OK;
    doc->calcs = palloc(p, p->ncalcs, sizeof *doc->calcs);
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

static int parse_root(parser *p, const json_t *root)
{
    static const char *const KEYS[] = { "width", "height", "fps", "duration", "background",
                                        "vars", "elements", "timeline", "frames", "output",
                                        "metadata", NULL };
    static const nrange RW = { 16, 7680, R_LO | R_HI | R_INT };
    static const nrange RH = { 16, 4320, R_LO | R_HI | R_INT };
    static const nrange RF = { 0, 240, R_LO | R_LO_OPEN | R_HI };
    kn_doc *doc = p->doc;
    frame_tmp *fr = NULL;
    size_t nfr = 0;
    size_t old;
    int rc;
    long w = 0, h = 0;

    if (!json_is_object(root))
        return fail(p, KN_EINVAL, "a job document is a JSON object, got %s", jdesc(root));
    if ((rc = check_keys(p, root, KEYS))) return rc;

    if ((rc = get_int_field(p, root, "width", 1, &RW, &w, NULL)) ||
        (rc = get_int_field(p, root, "height", 1, &RH, &h, NULL)))
        return rc;
    doc->width = (int)w;
    doc->height = (int)h;

    const json_t *jf = json_object_get(root, "fps");
    old = push_key(p, "fps");
    if (!jf)
        rc = fail(p, KN_EINVAL, "missing field \"fps\" (a number > 0 and <= 240)");
    else if (!(rc = get_num(p, jf, &RF, &doc->fps)))
        rc = fps_rational(p, doc->fps, &doc->fps_num, &doc->fps_den);
    pop(p, old);
    if (rc) return rc;
    doc->fps = (double)doc->fps_num / doc->fps_den;

    const json_t *jd = json_object_get(root, "duration");
    double duration = 0;
    if (jd) {
        old = push_key(p, "duration");
        rc = get_num(p, jd, &R_POS, &duration);
        pop(p, old);
        if (rc) return rc;
    }

    doc->background = (kn_color){ 0, 0, 0, 1 };
    const json_t *jb = json_object_get(root, "background");
    if (jb) {
        kn_value v;
        static const pdesc BG = { "background", K_COLOR, { 0, 0, 0 }, NULL };
        old = push_key(p, "background");
        if (json_is_object(jb))
            rc = fail(p, KN_EINVAL, "expected a colour, got an object");
        else
            rc = parse_value(p, jb, &BG, &v);
        pop(p, old);
        if (rc) return rc;
        doc->background = v.color;
    }

    if (p->depth > 0 && json_object_get(root, "output")) {
        old = push_key(p, "output");
        rc = fail(p, KN_EINVAL, "a composition's document has no output: the job's output "
                  "encodes the whole video");
        pop(p, old);
        return rc;
    }
    if ((rc = parse_output(p, json_object_get(root, "output")))) return rc;

    /* mp4 and webm are 4:2:0: chroma is subsampled 2x2, so both sizes are
     * even. A GIF's frames are palette images of any size, and a
     * composition's document is only ever drawn into its parent. */
    if ((doc->width % 2 || doc->height % 2) && p->depth == 0 &&
        strcmp(doc->output.format, "gif") != 0) {
        int wodd = doc->width % 2;
        old = push_key(p, wodd ? "width" : "height");
        rc = fail(p, KN_EINVAL, "%s %d is odd: %s (yuv420p) needs even sizes; gif takes any size",
                  wodd ? "width" : "height", wodd ? doc->width : doc->height, doc->output.format);
        pop(p, old);
        return rc;
    }

    const json_t *jm = json_object_get(root, "metadata");
    if (jm && !json_is_object(jm)) {
        old = push_key(p, "metadata");
        rc = fail(p, KN_EINVAL, "expected an object, got %s", jdesc(jm));
        pop(p, old);
        return rc;
    }
    if (jm) {
        /* Kept as text so the server stores it without parsing the whole
         * document a second time; kn_doc_parse replaces it with the text as
         * sent (a nested document's metadata keeps this copy). */
        char *md = json_dumps(jm, JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (!md) return fail(p, KN_ENOMEM, "out of memory copying metadata");
        doc->metadata_json = pstrdup(p, md);
        free(md);
        if (!doc->metadata_json) return p->err->code;
    }

    /* Slots: vars first, then each element's properties in document order.
     * The pre-pass sizes init/slot_name exactly, so they never move. */
    const json_t *jv = json_object_get(root, "vars");
    const json_t *je = json_object_get(root, "elements");
    size_t nel = 0, nslots = json_is_object(jv) ? json_object_size(jv) : 0;
    count_elems(je, 1, &nel, &nslots);
    if (nel > MAX_ELEMENTS) {
        old = push_key(p, "elements");
        rc = fail(p, KN_ETOOBIG, "the document has more than %d elements", MAX_ELEMENTS);
        pop(p, old);
        return rc;
    }
    p->nslots_max = nslots;
    p->nelems_max = nel;
    doc->init = palloc(p, nslots ? nslots : 1, sizeof *doc->init);
    doc->slot_name = palloc(p, nslots ? nslots : 1, sizeof *doc->slot_name);
    if (!doc->init || !doc->slot_name) return p->err->code;
    p->skind = calloc(nslots ? nslots : 1, 1);
    p->tweened = calloc(nslots ? nslots : 1, 1);
    p->ecalc = calloc(nslots ? nslots : 1, 1);
    p->elems = calloc(nel ? nel : 1, sizeof *p->elems);
    if (!p->skind || !p->tweened || !p->ecalc || !p->elems)
        return fail(p, KN_ENOMEM, "out of memory");
    p->names = palloc(p, KN_XV_VARS + nslots, sizeof *p->names);
    if (!p->names) return p->err->code;
    for (int k = 0; k < KN_XV_VARS; k++) p->names[p->nnames++] = (kn_expr_var){ XV_NAMES[k], k };

    if (jv && (rc = parse_vars(p, jv))) return rc;
    doc->nvars = (size_t)p->next_slot;
    if (je) {
        old = push_key(p, "elements");
        rc = parse_elems(p, je, 1, &doc->elements, &doc->nelements);
        pop(p, old);
        if (rc) return rc;
    }
    doc->nslots = (size_t)p->next_slot;

    const json_t *jt = json_object_get(root, "timeline");
    if (jt) {
        doc->timeline = palloc(p, 1, sizeof *doc->timeline);
        if (!doc->timeline) return p->err->code;
        old = push_key(p, "timeline");
        rc = parse_scene(p, jt, doc->timeline, 1);
        pop(p, old);
        if (rc) return rc;
        if ((rc = check_set_lengths(p))) return rc;
    }

    const json_t *jfr = json_object_get(root, "frames");
    if (jfr && (rc = parse_frames(p, jfr, &fr, &nfr))) return rc;

    /* The video's length. */
    const char *from;
    double nd;
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
        rc = fail(p, KN_EINVAL, "cannot tell the video's length: give duration, a timeline or "
                  "frames");
        goto out;
    }
    nd = floor(nd + 0.5);
    old = push_key(p, from);
    if (nd < 1)
        rc = fail(p, KN_EINVAL, "%s %g s is less than one frame at %g fps%s",
                  jd ? "duration" : "the timeline lasts", jd ? duration : doc->timeline->length,
                  doc->fps, jd ? "" : "; give a duration");
    else if (nd > (double)p->lim.max_frames)
        rc = fail(p, KN_EINVAL, "the video would have %.0f frames, more than the limit of %ld",
                  nd, p->lim.max_frames);
    else if (nd * doc->width * doc->height > p->lim.max_pixels_frames)
        rc = fail(p, KN_EINVAL, "%dx%d x %.0f frames is more than the limit of %.0f pixels "
                  "(width x height x frames)", doc->width, doc->height, nd,
                  p->lim.max_pixels_frames);
    pop(p, old);
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
                frame_path(p, bad);
                rc = fail(p, KN_EINVAL, "frame %.0f is past the end: the video has %ld frames "
                          "(0..%ld)", bad->index, doc->n_frames, doc->n_frames - 1);
                pop(p, p->base_len);
                goto out;
            }
        } else {
            for (size_t i = 0; i < nfr; i++) {
                if (fr[i].index != (double)i) {
                    old = push_key(p, "frames");
                    rc = fail(p, KN_EINVAL, "frame %zu has no entry: when the length comes from "
                              "frames alone, every frame 0..%ld needs one", i,
                              doc->n_frames - 1);
                    pop(p, old);
                    goto out;
                }
            }
        }
        doc->frames = palloc(p, nfr, sizeof *doc->frames);
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

/* Parses the document held in root (a whole job, or a composition's nested
 * document: then base_path is its JSON pointer, depth its nesting level and
 * "output" is refused), allocating at most budget bytes (messages quote
 * lim->max_bytes, the limit of the whole job). On success *out is a new doc. */
static int parse_doc_json(const json_t *root, const kn_doc_limits *lim, size_t budget,
                          const char *base_path, int depth, kn_doc **out, kn_err *err)
{
    parser p;
    arena *A = NULL;
    int rc;

    memset(&p, 0, sizeof p);
    p.err = err;
    p.calc_slot = -1;
    p.depth = depth;
    p.lim = *lim;
    snprintf(p.path, sizeof p.path, "%s", base_path);
    p.plen = p.base_len = strlen(p.path);

    A = calloc(1, sizeof *A);
    p.ids = json_object();
    p.vars = json_object();
    if (!A || !p.ids || !p.vars) {
        rc = kn_err_set(err, KN_ENOMEM, "", "out of memory");
        goto out;
    }
    A->cap = budget;
    p.A = A;
    p.doc = palloc(&p, 1, sizeof *p.doc);
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
    free(p.calcs);
    free(p.elems);
    for (size_t i = 0; i < p.nchecks; i++) free(p.checks[i].path);
    free(p.checks);
    if (rc) {
        arena_free(A);
        return rc;
    }
    *out = p.doc;
    return KN_OK;
}

/* ---- metadata as sent ---------------------------------------------------- */

/* Scanning helpers over JSON text that jansson has already accepted, so it
 * is well-formed and has no NUL: each returns the index just past what it
 * skips. */
static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

static size_t skip_string(const char *s, size_t n, size_t i)   /* s[i] is '"' */
{
    for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
    return i < n ? i + 1 : n;
}

static size_t skip_value(const char *s, size_t n, size_t i)
{
    if (i < n && s[i] == '"') return skip_string(s, n, i);
    if (i < n && (s[i] == '{' || s[i] == '[')) {
        size_t depth = 0;
        while (i < n) {
            if (s[i] == '"') {
                i = skip_string(s, n, i);
                continue;
            }
            if (s[i] == '{' || s[i] == '[') depth++;
            else if ((s[i] == '}' || s[i] == ']') && --depth == 0) return i + 1;
            i++;
        }
        return n;
    }
    while (i < n && !strchr(",}] \t\r\n", s[i])) i++;   /* number or literal */
    return i;
}

/* The text of the top-level member "metadata" of the document, exactly as
 * sent, in *off and *len; 0 when there is none. The API promises metadata
 * back untouched, and numbers re-encoded by jansson would not be (a 19-digit
 * id or 1732250000123.456 lose digits). */
static int raw_metadata(const char *s, size_t n, size_t *off, size_t *len)
{
    size_t i = skip_ws(s, n, 0);
    if (i >= n || s[i] != '{') return 0;
    i = skip_ws(s, n, i + 1);
    while (i < n && s[i] == '"') {
        size_t k0 = i;
        i = skip_string(s, n, i);
        size_t klen = i - k0;
        int is_md = klen == 10 && !memcmp(s + k0, "\"metadata\"", 10);
        if (!is_md && memchr(s + k0, '\\', klen)) {   /* an escaped key: decode it */
            json_t *k = json_loadb(s + k0, klen, JSON_DECODE_ANY, NULL);
            is_md = json_is_string(k) && !strcmp(json_string_value(k), "metadata");
            json_decref(k);
        }
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':') return 0;
        i = skip_ws(s, n, i + 1);
        size_t v0 = i;
        i = skip_value(s, n, i);
        if (is_md) {
            *off = v0;
            *len = i - v0;
            return 1;
        }
        i = skip_ws(s, n, i);
        if (i < n && s[i] == ',') i = skip_ws(s, n, i + 1);
    }
    return 0;
}

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
    kn_jsonmem_begin();
    /* Every number is read as a real: integers past 64 bits are valid JSON
     * (metadata may hold them), and fields range-check what they read. */
    root = kn_jsonread(json, len, &je);
    kn_jsonmem_end();
    if (!root) {
        rc = kn_err_set(err, KN_EJSON, "", "invalid JSON: %s (line %d, column %d)", je.text,
                        je.line, je.column);
    } else {
        rc = parse_doc_json(root, &L, L.max_bytes, "", 0, out, err);
    }
    size_t moff, mlen;
    if (rc == KN_OK && (*out)->metadata_json && raw_metadata(json, len, &moff, &mlen)) {
        char *raw = arena_alloc((*out)->arena_, mlen + 1);
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
    if (doc) arena_free(doc->arena_);
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
