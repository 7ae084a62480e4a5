/*
 * doc/parser.h - private to doc/: what the parts of the job document
 * compiler share. Nothing outside doc/ includes it; the public interface is
 * doc/doc.h.
 *
 * The compiler is one pass over a jansson tree (doc/jsonread.c reads the
 * text), split by the part of the document it handles:
 *   parser.c    failing at the current JSON pointer, arena failures,
 *               unknown-field checks and their "did you mean" suggestions
 *               (the pointer and allocation helpers are inline, below)
 *   values.c    numbers and ranges, the property table, every value kind
 *               (colours, gradients, arrays, linspace, points, grids),
 *               "=expr" values and the slots they live in
 *   root.c      kn_doc_parse and the rest of doc.h, the root object, fps,
 *               vars, the video's length, which slots animate
 *   output.c    the "output" object
 *   elements.c  elements and their fields, path data, images, compositions
 *   plot.c      plots: series, heatmaps, ticks, log axes
 *   timeline.c  targets, tween values, scenes and easing, frame entries
 *
 * Naming: every function or object one part defines for another is declared
 * here and named doc_<name>, where name is what it was called while doc.c
 * was one file (fail became doc_fail, g_desc doc_desc); everything else
 * stays static in its file. The few helpers that run for every field of a
 * document are static inline here. Types and constants declared here keep
 * their short names (parser, nrange, R_ANY): this header is never included
 * outside doc/, so they cannot clash.
 *
 * Invariants every part keeps:
 *  - p->path is the RFC 6901 pointer of the value being parsed: a function
 *    that descends pushes a key or index and pops it on every path out, so
 *    doc_fail can always blame p->path. Keys are escaped ("~" -> "~0", "/" ->
 *    "~1"); p->path[p->plen] == '\0' always, and a pointer longer than
 *    PATH_CAP is cut, never overflowed.
 *  - every byte of the kn_doc comes from p->A (doc_palloc and friends) and
 *    counts against the job's memory limit; objects of other modules the
 *    doc keeps (compiled expressions, paths, images, nested documents) are
 *    registered with doc_defer so that kn_doc_destroy frees them. Scratch
 *    data of the parse itself (id and var indexes, per-slot flags, calcs
 *    before they are ordered, frame entries before they are sorted) is
 *    malloc'ed and freed on every path before the parse returns.
 *  - a function that fails has set p->err (through doc_fail, or a module
 *    that takes p->err) and returns its code.
 */
#ifndef KN_DOC_PARSER_H
#define KN_DOC_PARSER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/limits.h"
#include "doc/doc.h"
#include "lang/expr.h"
#include "lang/template.h"

#define PATH_CAP      1024    /* a JSON pointer; kn_err keeps 256 bytes of it */
#define SERIES_SLOTS  4       /* slots per plot series: x, y (or data), color, width */

/* ---- parser state ------------------------------------------------------ */

typedef struct set_check {      /* a timeline set that changes an array length */
    int slot;
    size_t n;
    char *path;
} set_check;

typedef struct parser {
    kn_arena *A;                /* the doc's arena, capped at its budget */
    kn_err *err;
    kn_doc_limits lim;
    kn_doc *doc;

    char path[PATH_CAP];        /* JSON pointer of the value being parsed */
    size_t plen;

    size_t nslots_max;          /* from the pre-pass */
    int next_slot;
    unsigned char *skind;       /* per slot: index into doc_desc */
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
    uint32_t *text_len;         /* per slot: bytes of its longest text so far,
                                   charged at KN_DOC_TEXT_COST (doc_charge_text) */
    size_t text_total;          /* the sum of text_len, for messages */
    int calc_slot;              /* slot of the element property being parsed,
                                   -1 where expressions are not allowed */
    const kn_gradient *grad;    /* doc_parse_value found an element's own fill or
                                   stroke to be this gradient; parse_elem takes it */
    int depth;                  /* 0 for a job, n for a composition's document
                                   nested n deep */
    size_t base_len;            /* length of the pointer of this document's root */

    /* The longest scene duration that looks like milliseconds (see
     * doc_ms_like) and where it is, for the hint when the timeline is too
     * long. */
    double ms_value;
    char ms_path[PATH_CAP];     /* "" when none */
} parser;

/* ---- errors and the pointer (parser.c) ---------------------------------- */

/* Sets p->err to code and the formatted message at p->path; returns code. */
int doc_fail(parser *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Append "/" and the escaped key, or "/" and the index, to p->path; each
 * returns the length doc_pop restores. Inline, like doc_new_slot: they run
 * for every field and slot of a document. */
static inline size_t doc_push_key(parser *p, const char *key)
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
static inline size_t doc_push_idx(parser *p, size_t i)
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

static inline void doc_pop(parser *p, size_t old)
{
    p->plen = old;
    p->path[old] = '\0';
}

/* "an object", "a number", ...: what a JSON value is, for messages. */
const char *doc_jdesc(const json_t *j);

/* KN_OK when every key of obj is in allowed (NULL-terminated); else fails
 * at the first unknown key, listing the allowed ones and suggesting the
 * closest (doc_suggest). */
int doc_check_keys(parser *p, const json_t *obj, const char *const *allowed);

/* The name of names (NULL-terminated) that got is most likely a typo of, or
 * NULL: the first one at the smallest edit distance (optimal string
 * alignment: insertions, deletions, substitutions and swaps of neighbours
 * count 1 each), if that distance is at most 2 and less than half of got's
 * length. Names over 64 bytes are never suggested or matched. */
const char *doc_suggest(const char *got, const char *const *names);

/* ---- memory (parser.c) -------------------------------------------------- */

/* Fails for a request the arena refused, by its reason: KN_ETOOBIG past the
 * job's memory limit (the arena also refuses sizes that overflow), or
 * KN_ENOMEM. */
int doc_arena_fail(parser *p);

/* count * size zeroed bytes of the doc's arena; NULL with p->err set. */
static inline void *doc_palloc(parser *p, size_t count, size_t size)
{
    void *m = kn_arena_calloc(p->A, count, size);
    if (!m) doc_arena_fail(p);
    return m;
}

char *doc_pstrdup(parser *p, const char *s);
char *doc_pprintf(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A slot, NULL at first, for an object made outside the arena that the doc
 * keeps: kn_doc_destroy calls destroy on whatever the caller stores there.
 * NULL with p->err set when the arena is full; the object stays the
 * caller's. Take the slot before making the object, so no failure comes
 * between making it and handing it over. */
void **doc_defer(parser *p, void (*destroy)(void *));

/* Counts n bytes held outside the arena (decoded pixels, a nested document)
 * against the job's memory limit; KN_ETOOBIG with p->err set when over. */
int doc_charge(parser *p, size_t n);

/* Charges laying out a text of len bytes (at most KN_DOC_MAX_TEXT) in slot
 * to the job's memory limit (KN_DOC_TEXT_COST a byte). A slot is laid out
 * once per frame, whatever value it has then, so only its longest text
 * counts: a shorter one costs nothing more. slot -1: a text that is not a
 * slot (a series' legend label), charged in full. KN_ETOOBIG at p->path
 * (the text that tipped the document over) with the limit in the message. */
int doc_charge_text(parser *p, int slot, size_t len);

/* ---- numbers (values.c) ------------------------------------------------- */

enum { R_LO = 1, R_HI = 2, R_LO_OPEN = 4, R_INT = 8 };

typedef struct nrange {
    double lo, hi;
    unsigned flags;
} nrange;

static const nrange R_ANY = { 0, 0, 0 };
static const nrange R_NONNEG = { 0, 0, R_LO };
static const nrange R_POS = { 0, 0, R_LO | R_LO_OPEN };

/* v in the fewest digits that read back as v, in buf. */
const char *doc_num_text(double v, char buf[32]);
/* "an integer from 16 to 7680", "a number > 0": what r admits. */
void doc_range_text(const nrange *r, char *buf, size_t n);
/* A JSON number within r into *out; "=expr" strings are refused here. */
int doc_get_num(parser *p, const json_t *j, const nrange *r, double *out);
/* An integer field key of obj within r; *given (may be NULL) says whether
 * it was there. A missing required field fails at its own pointer. */
int doc_get_int_field(parser *p, const json_t *obj, const char *key, int required,
                      const nrange *r, long *out, int *given);

/* Whether v is a duration that may have been meant in milliseconds: a
 * whole multiple of 100 of at least 1000 ("duration": 5000), so that the
 * seconds suggested are at least 1. Used only to add a hint to an error
 * that refuses the document anyway, never to refuse one. */
int doc_ms_like(double v);
/* " (durations are in seconds: did you mean 5?)" in buf for a v that is
 * doc_ms_like, else "": the tail of a message. */
const char *doc_ms_hint(double v, char buf[96]);

/* ---- property and value kinds (values.c) -------------------------------- */

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

/* doc_desc[0..KN_P_COUNT-1]: element properties; then the var and series
 * kinds. A slot's kind (p->skind) indexes this table. */
enum { D_VNUM = KN_P_COUNT, D_VBOOL, D_VCOLOR, D_VSTR, D_VARR, D_SARR, D_SCOLOR, D_SWIDTH,
       D_SGRID, D_COUNT };

extern const pdesc doc_desc[D_COUNT];

/* The n = 0 array every empty array value points to (arr is never NULL). */
extern double doc_empty[1];

/* Parses j as a value of kind d into *out (strings and arrays in the
 * arena). With p->calc_slot >= 0 (an element's own field) "=expr" values
 * and text templates become calcs of that slot, and a fill or stroke may be
 * a gradient (left in p->grad). */
int doc_parse_value(parser *p, const json_t *j, const pdesc *d, kn_value *out);

/* An array of numbers within r, or {"linspace": [start, stop, count]}. */
int doc_parse_num_array(parser *p, const json_t *j, const nrange *r, kn_value *out);
/* A pair [x, y] of numbers into xy; what names the pair in messages. */
int doc_parse_xy(parser *p, const json_t *j, const char *what, double *xy);
/* Heatmap data, a 2-D array of rows of one length, flattened; with rows
 * NULL a flat array is taken as it is (per-frame data). */
int doc_parse_grid(parser *p, const json_t *j, kn_value *out, size_t *rows, size_t *cols);
int doc_is_linspace(const json_t *j);
int doc_is_expr_string(const json_t *j);

/* ---- computed values (values.c) and slots -------------------------------- */

/* Compiles src (after its '=') as an expression into *e, or as a text
 * template into *t when is_text; the doc owns the result. */
int doc_compile_owned(parser *p, const char *src, int is_text, kn_expr **e, kn_template **t);
/* Compiles src for slot and records it as a calc of kind. */
int doc_add_calc(parser *p, kn_calc_kind kind, int slot, int is_var, const char *src);

/* What a slot holds: its entry in doc_desc. */
static inline const pdesc *doc_slot_desc(const parser *p, int slot)
{
    return &doc_desc[p->skind[slot]];
}

/* The next slot, of kind (a doc_desc index) and named name; -1 when the
 * pre-pass counted fewer (a bug: callers fail with KN_EINTERNAL). */
static inline int doc_new_slot(parser *p, unsigned char kind, const char *name)
{
    if ((size_t)p->next_slot >= p->nslots_max)
        return -1;
    int s = p->next_slot++;
    p->skind[s] = kind;
    p->doc->slot_name[s] = name;
    return s;
}

/* ---- parts ------------------------------------------------------------- */

/* root.c: a whole document held in root (a job, or a composition's nested
 * document at base_path, depth deep, that may not have "output"), allocating
 * at most budget bytes. On success *out is a new doc. */
int doc_parse_json(const json_t *root, const kn_doc_limits *lim, size_t budget,
                   const char *base_path, int depth, kn_doc **out, kn_err *err);

/* output.c: "output" (j may be NULL: the defaults) into p->doc->output. */
int doc_parse_output(parser *p, const json_t *j);

/* elements.c */
extern const char *const doc_type_names[KN_E_COUNT];
const char *doc_type_article(int t);   /* "a" or "an" before a type name */
/* What the pre-pass counts: elements and their slots, groups included. */
void doc_count_elems(const json_t *arr, int depth, size_t *nel, size_t *nslots);
int doc_parse_elems(parser *p, const json_t *arr, int depth, kn_elem **out, size_t *nout);

/* plot.c: the static parts of plot el (its flat index flat) from j. */
int doc_parse_plot(parser *p, kn_elem *el, size_t flat, const json_t *j);

/* timeline.c */
typedef struct frame_tmp {      /* a frame entry before the length is known */
    double index;
    size_t pos;
    int explicit_index;
    kn_target *sets;
    size_t nsets;
} frame_tmp;

int doc_parse_scene(parser *p, const json_t *j, kn_scene *sc, int depth);
/* Refuses a timeline set that changes the length of an array that is also
 * tweened (recorded while parsing, known only once every scene is read). */
int doc_check_set_lengths(parser *p);
/* "frames" into a malloc'ed array sorted by index (*out, caller frees). */
int doc_parse_frames(parser *p, const json_t *j, frame_tmp **out, size_t *nout);
/* Points p->path at entry f: its "index" when it gave one, else itself. */
void doc_frame_path(parser *p, const frame_tmp *f);

#endif
