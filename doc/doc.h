/*
 * doc/doc.h - the job document (docs/contract/job-v1.md, docs/job-format.md)
 * parsed, validated and compiled into a read-only model.
 *
 * The model separates what never changes from what animates. Everything that
 * can be animated - every element property, every var - is a numbered *slot*;
 * doc->init[slot] holds its value before the timeline runs. Timeline scenes
 * and per-frame entries name slots, never strings, so evaluating a frame
 * (render/timeline.h) is a copy of init followed by slot assignments, and
 * drawing (render/draw.h) reads the slots of each element.
 *
 * Ownership: a kn_doc owns every byte reachable from it (one arena); nothing
 * in it may be freed or modified by callers. kn_value strings inside a doc
 * are owned by the doc. The doc is immutable after kn_doc_parse returns, so
 * one doc may be read by several threads.
 *
 * Invariants established by the parser (render code asserts, never checks):
 *  - width, height within 16..7680 x 16..4320, even unless the output is gif
 *    or the doc is a composition's; fps in (0, 240];
 *  - n_frames >= 1 and <= the caller's limit; fps == fps_num / fps_den;
 *  - every slot index in elements, scenes and frame entries is < nslots and
 *    every value assigned to a slot has the slot's type (kn_doc_slot_type),
 *    arrays tweened against each other have equal lengths;
 *  - scene lengths are finite and >= 0; repeat >= 1; speed > 0.
 */
#ifndef KN_DOC_DOC_H
#define KN_DOC_DOC_H

#include <stddef.h>

#include "common/err.h"
#include "common/vocab.h"
#include "common/limits.h"   /* KN_HEATMAP_MAX_SIDE and the other document limits */
#include "lang/color.h"
#include "lang/easing.h"

/* ---- values --------------------------------------------------------- */

typedef enum kn_vtype {
    KN_VT_NONE = 0,   /* absent (e.g. origin not given: use the shape center) */
    KN_VT_NUM,
    KN_VT_COLOR,
    KN_VT_STR,        /* also enumerations: align, line_cap, ... */
    KN_VT_BOOL,
    KN_VT_ARRAY       /* numbers; points are flattened x0,y0,x1,y1,... */
} kn_vtype;

typedef struct kn_value {
    kn_vtype type;
    double num;          /* KN_VT_NUM; KN_VT_BOOL as 0 or 1 */
    kn_color color;      /* KN_VT_COLOR */
    const char *str;     /* KN_VT_STR: borrowed, owned by the doc */
    double *arr;         /* KN_VT_ARRAY: n numbers */
    size_t n;
    size_t cap;          /* capacity of arr when owned by a kn_state */
} kn_value;

/* ---- elements ------------------------------------------------------- */

typedef enum kn_etype {
    KN_E_RECT, KN_E_CIRCLE, KN_E_ELLIPSE, KN_E_LINE, KN_E_POLYLINE,
    KN_E_POLYGON, KN_E_TEXT, KN_E_GROUP, KN_E_PATH, KN_E_COMPOSITION, KN_E_IMAGE, KN_E_PLOT,
    KN_E_COUNT
} kn_etype;

struct kn_path;   /* lang/path.h */
struct kn_image;  /* media/image.h */

/* A gradient paint for fill or stroke (spec 3). It is static: gradients are
 * not slots, so they cannot be animated. Coordinates are in the element's
 * own user space (that of its geometry, under its rotation/scale), so the
 * gradient moves with the element. Stops: nstops >= 1, offsets in [0, 1]
 * and non-decreasing (equal offsets make a hard edge); outside the first
 * and last offsets the end colours extend (SVG spreadMethod pad). */
typedef enum kn_grad_type { KN_GRAD_LINEAR, KN_GRAD_RADIAL } kn_grad_type;

typedef struct kn_grad_stop {
    double offset;
    kn_color color;
} kn_grad_stop;

typedef struct kn_gradient {
    kn_grad_type type;
    double coord[4];             /* linear: x0, y0, x1, y1; radial: cx, cy, r (> 0), 0 */
    const kn_grad_stop *stops;
    size_t nstops;
} kn_gradient;

/* Every property an element may have. Slot types: OPACITY, ROTATION,
 * STROKE_WIDTH and all geometry numbers are NUM; VISIBLE is BOOL; SCALE is an
 * ARRAY of 2 (a number s is stored as [s, s]); ORIGIN is an ARRAY of 2 or
 * NONE; FILL and STROKE are COLOR; DASH is an ARRAY (possibly empty);
 * LINE_CAP, LINE_JOIN, TEXT, FONT, ALIGN, BASELINE are STR; POINTS is an
 * ARRAY of 2k numbers. */
typedef enum kn_prop {
    KN_P_OPACITY, KN_P_VISIBLE, KN_P_ROTATION, KN_P_SCALE, KN_P_ORIGIN,
    KN_P_FILL, KN_P_STROKE, KN_P_STROKE_WIDTH, KN_P_DASH, KN_P_LINE_CAP,
    KN_P_LINE_JOIN,
    KN_P_X, KN_P_Y, KN_P_WIDTH, KN_P_HEIGHT, KN_P_RADIUS,
    KN_P_CX, KN_P_CY, KN_P_R, KN_P_RX, KN_P_RY,
    KN_P_X1, KN_P_Y1, KN_P_X2, KN_P_Y2,
    KN_P_POINTS,
    KN_P_TEXT, KN_P_FONT, KN_P_SIZE, KN_P_ALIGN, KN_P_BASELINE,
    /* plot (spec 8): TITLE, XLABEL, YLABEL are STR (templates allowed);
     * XLIM, YLIM an ARRAY of 2, or of 0 for "auto"; XSCALE, YSCALE, LEGEND,
     * STYLE are STR enumerations; GRID is BOOL. */
    KN_P_TITLE, KN_P_XLABEL, KN_P_YLABEL, KN_P_XLIM, KN_P_YLIM, KN_P_XSCALE, KN_P_YSCALE,
    KN_P_GRID, KN_P_LEGEND, KN_P_STYLE,
    KN_P_COUNT
} kn_prop;

/* A plot's data series (spec 8). Its animatable data are slots named
 * "<series id>.<name>" (series ids share the document's id space):
 *   x      ARRAY: the x values (line..step); default 0..n-1
 *   y      ARRAY: the y values, same length as x (extra values of either
 *          are ignored); "=expr" computes y[i] from x = x[i] and i
 *          (KN_CALC_SERIES_Y); heatmap: "data", rows*cols numbers row by row
 *   color  COLOR (default: matplotlib's tab10 cycle by series index)
 *   width  NUM, line width in px (default 1.5)
 * A slot a series lacks is -1. */
typedef enum kn_series_type {
    KN_SER_LINE, KN_SER_SCATTER, KN_SER_BAR, KN_SER_AREA, KN_SER_STEP, KN_SER_HEATMAP
} kn_series_type;

typedef struct kn_series {
    kn_series_type type;
    const char *id;                 /* NULL when the series has none */
    int slot_x, slot_y, slot_color, slot_width;
    const char *label;              /* legend text, or NULL */
    char marker;                    /* 0 (none), 'o', 's', '^', 'x' */
    double marker_size;             /* px, default 6 */
    size_t rows, cols;              /* heatmap: the data's shape */
    const char *cmap;               /* heatmap: a lang/cmap.h name */
    int has_vmin, has_vmax;         /* heatmap: else the data's range */
    double vmin, vmax;
    int colorbar;                   /* heatmap: draw a colour bar */
} kn_series;

/* A plot's static parts. Explicit ticks (has_ticks[axis], axis 0 = x) replace
 * the automatic ones. */
typedef struct kn_plot {
    const kn_series *series;
    size_t nseries;
    int has_ticks[2];
    const double *ticks[2];
    size_t nticks[2];
} kn_plot;

typedef struct kn_elem {
    kn_etype type;
    const char *id;                 /* NULL when the element has none */
    int slot[KN_P_COUNT];           /* slot of each property, -1 if the type lacks it */
    struct kn_elem *children;       /* KN_E_GROUP: nchildren elements */
    size_t nchildren;
    const struct kn_path *path;     /* KN_E_PATH: its parsed `d` (static) */
    const struct kn_doc *comp;      /* KN_E_COMPOSITION: its document */
    double comp_start, comp_speed;  /* when it begins (s) and how fast it plays */
    const kn_gradient *grad[2];     /* fill, stroke: a gradient paint, or NULL to paint
                                       with the FILL / STROKE colour slot. When set,
                                       that slot holds "none" and is never a target. */
    const struct kn_image *image;   /* KN_E_IMAGE: its decoded `src`, never NULL
                                       (static; media/image.h) */
    const kn_plot *plot;            /* KN_E_PLOT: its series and ticks, never NULL */
} kn_elem;

/* ---- timeline ------------------------------------------------------- */

typedef enum kn_stype {
    KN_S_TWEEN, KN_S_SET, KN_S_WAIT, KN_S_SEQUENCE, KN_S_PARALLEL
} kn_stype;

/* One assignment of a tween or set. For a set only `to` is used. */
struct kn_expr;

typedef struct kn_target {
    int slot;
    int has_from;        /* tween: from given; else from = value just before */
    kn_value from, to;
    /* Number targets may give from/to as "=expr": evaluated each frame when
     * the scene or entry applies (then the matching value above is unused). */
    const struct kn_expr *from_expr, *to_expr;
} kn_target;

typedef struct kn_scene {
    kn_stype type;
    double base;               /* length before modifiers: tween/wait duration,
                                  sum (sequence) or max (parallel) of children */
    kn_target *targets;        /* tween, set */
    size_t ntargets;
    struct kn_scene *children; /* sequence, parallel */
    size_t nchildren;
    double *child_start;       /* sequence: start of child k in base time */

    /* modifiers, applied innermost first in this order (spec 5) */
    int has_crop;
    double crop_a, crop_b;
    int reverse;
    int has_easing;            /* on a tween: its easing */
    kn_easing easing;
    double speed;              /* 1 unless given */
    int has_duration;          /* sequence/parallel: stretch to `duration` */
    double duration;
    int repeat;                /* >= 1 */

    double length;             /* total length after every modifier */
} kn_scene;

/* ---- per-frame values ----------------------------------------------- */

typedef struct kn_frame_entry {
    long index;
    kn_target *sets;           /* only slot and to are used */
    size_t nsets;
} kn_frame_entry;

/* ---- computed values ------------------------------------------------ */

struct kn_expr;       /* lang/expr.h */
struct kn_template;

/* Indices of the names an expression may use in the values array it is
 * evaluated with (lang/expr.h): the frame's context first, then every
 * number or boolean var at KN_XV_VARS + its slot (vars are slots 0..). */
enum {
    KN_XV_T = 0, KN_XV_FRAME, KN_XV_N_FRAMES, KN_XV_DURATION, KN_XV_FPS,
    KN_XV_WIDTH, KN_XV_HEIGHT, KN_XV_X, KN_XV_I, KN_XV_VARS
};

typedef enum kn_calc_kind {
    KN_CALC_NUM,        /* slot (NUM) = expr */
    KN_CALC_POINTS_X,   /* slot (points): x of point i = expr with i */
    KN_CALC_POINTS_Y,   /* slot (points): y of point i = expr with x, i */
    KN_CALC_TEXT,       /* slot (STR) = template rendered */
    KN_CALC_SCALE,      /* slot (ARRAY of 2) = [expr, expr] */
    KN_CALC_ELEM,       /* slot (ARRAY): element `index` = expr */
    KN_CALC_SERIES_Y,   /* slot (ARRAY): y[i] = expr with x = src[i], i */
} kn_calc_kind;

/* A value computed every frame (spec 2: "=expr" numbers, "{expr:fmt}"
 * text). Var calcs come first in doc->calcs and run before the timeline (a
 * tween of that var starts from the computed value); element calcs run after
 * the timeline and per-frame entries, so they see animated vars. A slot an
 * element calc writes is never a timeline or frame target (the parser
 * refuses that). */
typedef struct kn_calc {
    kn_calc_kind kind;
    int slot;
    int src;                         /* SERIES_Y: the x slot (ARRAY); else -1 */
    const struct kn_expr *expr;      /* NUM, POINTS_X, POINTS_Y, SCALE, SERIES_Y */
    const struct kn_template *tmpl;  /* TEXT */
    size_t index;                    /* KN_CALC_ELEM: which element */
    int is_var;                      /* runs before the timeline */
    int dynamic;                     /* may differ between frames */
} kn_calc;

/* ---- output --------------------------------------------------------- */

typedef struct kn_output {
    kn_format format;          /* parsed at the JSON edge (doc/output.c) */
    kn_codec codec;            /* one the format carries */
    kn_encoder_pref encoder;
    int quality;               /* 0..51; ignored when bitrate_kbps > 0 */
    char preset[16];           /* "" = the encoder's default */
    long bitrate_kbps;         /* 0 = use quality */
    double keyframe_interval;  /* seconds, > 0 */
} kn_output;

/* ---- the document --------------------------------------------------- */

typedef struct kn_doc {
    int width, height;
    double fps;
    int fps_num, fps_den;      /* exact rate: 30000/1001 for 29.97 */
    double duration;           /* seconds shown: n_frames / fps */
    long n_frames;
    kn_color background;

    size_t nslots;
    kn_value *init;            /* nslots initial values */
    const char **slot_name;    /* "id.prop" or the var name, for messages */

    kn_elem *elements;         /* drawn first to last */
    size_t nelements;

    kn_scene *timeline;        /* NULL when the document has none */

    kn_frame_entry *frames;    /* sorted by index, no duplicates */
    size_t nframes_entries;

    kn_output output;

    kn_calc *calcs;            /* var calcs first, each group in document order */
    size_t ncalcs;
    size_t nvars;              /* vars are slots 0..nvars-1 */
    unsigned char *animated;   /* nslots flags: targeted by the timeline or a
                                  frame entry, or written by a dynamic calc */

    const char *metadata_json; /* "metadata" as compact JSON text, or NULL */

    struct kn_arena *arena_;   /* private (common/arena.h): owns all of the above */
} kn_doc;

/* Limits a caller puts on a document (the server's configuration). */
typedef struct kn_doc_limits {
    long max_frames;              /* default 100000 */
    double max_pixels_frames;     /* width*height*frames, default 1920*1080*36000 */
    size_t max_bytes;             /* arena cap, default 256 MiB */
} kn_doc_limits;

/* Fills l with the defaults above. */
void kn_doc_limits_default(kn_doc_limits *l);

/*
 * Parses and validates a job document from UTF-8 JSON text of len bytes.
 * On success stores a new doc in *out (caller destroys it) and returns KN_OK.
 * On failure returns KN_EINVAL (err->path holds the JSON pointer of the
 * offending field, err->msg says what is wrong and what is allowed),
 * KN_EJSON when the text is not JSON at all, or KN_ETOOBIG when a limit is
 * exceeded. lim may be NULL for the defaults.
 * Unknown fields are errors. Nothing is stored in *out on failure.
 */
int kn_doc_parse(const char *json, size_t len, const kn_doc_limits *lim,
                 kn_doc **out, kn_err *err);

/* Frees everything the doc owns. Accepts NULL. */
void kn_doc_destroy(kn_doc *doc);

/* The type every value of this slot has (the type of doc->init[slot]). */
kn_vtype kn_doc_slot_type(const kn_doc *doc, int slot);

/* Time in seconds that frame i shows: i * fps_den / fps_num. */
double kn_doc_frame_time(const kn_doc *doc, long frame);

/* The entry for frame i, or NULL (binary search). */
const kn_frame_entry *kn_doc_frame_entry(const kn_doc *doc, long frame);

#endif
