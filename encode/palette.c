/*
 * encode/palette.c - clip palettes and Floyd-Steinberg dithering. See
 * palette.h.
 *
 * Invariants:
 *  - Histogram bin k = (r>>3)<<10 | (g>>3)<<5 | b>>3 holds the count and the
 *    per-channel sums of the exact colours that fell in it (64-bit: an 8K
 *    clip of 100000 frames is 3.3e12 pixels, times 255 fits easily).
 *  - The exact-colour table holds every distinct colour seen until the
 *    (KN_PALETTE_MAX + 1)th appears; from then on it is "overflowed" and no
 *    longer updated (the palette then comes from the bins).
 *  - kn_palette_build is deterministic: the same histogram always gives the
 *    same palette (ties are broken by position, never by address or time).
 *  - The mapper's colour cube is cut into 4x4x4 blocks of colours. Block
 *    B = (r>>2)<<12 | (g>>2)<<6 | b>>2 is filled all at once, and its bit in
 *    `filled` is set only once cache[B * 64 + ((r&3)<<4 | (g&3)<<2 | (b&3))]
 *    holds, for each of its 64 colours, the index of a palette entry at
 *    minimal distance (the lowest such index on ties, as a full search
 *    would give). Dithered colours wander a few levels around the source,
 *    so neighbouring pixels mostly hit the same block: one 64-byte cache
 *    line, and a 32 KiB bitmap instead of a lookup per colour scattered
 *    over 16 MiB.
 *  - Error buffers are in 1/16 units and carry one pixel of padding on each
 *    side, so the diffusion writes past the row ends without tests.
 */
#include "encode/palette.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libyuv.h>

#define BINS (1 << 15)
#define EXACT_SLOTS 1024            /* open addressing, at most 1/4 full */
#define KMEANS_ROUNDS 16
#define MAX_WIDTH 65535

typedef struct bin {
    uint64_t n, r, g, b;
} bin;

struct kn_palette_hist {
    bin bins[BINS];
    uint32_t exact_key[EXACT_SLOTS];   /* 0 = empty, else 0x01RRGGBB */
    uint64_t exact_n[EXACT_SLOTS];
    int nexact;
    int overflow;
    uint64_t pixels;
    uint8_t *rows;                     /* two ARGB rows for I420 conversion */
    size_t rows_cap;
};

/* ---- histogram -------------------------------------------------------- */

int kn_palette_hist_create(kn_palette_hist **out, kn_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory for a colour histogram");
    return KN_OK;
}

void kn_palette_hist_destroy(kn_palette_hist *h)
{
    if (!h) return;
    free(h->rows);
    free(h);
}

uint64_t kn_palette_hist_pixels(const kn_palette_hist *h)
{
    return h ? h->pixels : 0;
}

static void exact_add(kn_palette_hist *h, uint32_t rgb, uint64_t n)
{
    uint32_t key = rgb | 0x01000000u;
    unsigned i = (unsigned)((rgb * 2654435761u) >> 22) & (EXACT_SLOTS - 1);
    while (h->exact_key[i]) {
        if (h->exact_key[i] == key) {
            h->exact_n[i] += n;
            return;
        }
        i = (i + 1) & (EXACT_SLOTS - 1);
    }
    if (h->nexact == KN_PALETTE_MAX) {
        h->overflow = 1;
        return;
    }
    h->exact_key[i] = key;
    h->exact_n[i] = n;
    h->nexact++;
}

static void add_run(kn_palette_hist *h, uint32_t rgb, uint64_t n)
{
    uint64_t r = rgb >> 16 & 255, g = rgb >> 8 & 255, b = rgb & 255;
    bin *bn = &h->bins[(r >> 3) << 10 | (g >> 3) << 5 | b >> 3];
    bn->n += n;
    bn->r += r * n;
    bn->g += g * n;
    bn->b += b * n;
    h->pixels += n;
    if (!h->overflow) exact_add(h, rgb, n);
}

static inline uint32_t px_rgb(const uint8_t *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

void kn_palette_hist_add_argb(kn_palette_hist *h, const uint8_t *argb, int stride, int w,
                              int height)
{
    if (!h || !argb || w <= 0 || height <= 0) return;
    /* Rendered frames are mostly runs of one colour: count a run once. */
    for (int y = 0; y < height; y++) {
        const uint8_t *p = argb + (size_t)y * (size_t)stride;
        uint32_t cur = px_rgb(p);
        uint64_t run = 1;
        for (int x = 1; x < w; x++) {
            uint32_t c = px_rgb(p + 4 * x);
            if (c == cur) {
                run++;
            } else {
                add_run(h, cur, run);
                cur = c;
                run = 1;
            }
        }
        add_run(h, cur, run);
    }
}

int kn_palette_hist_add_i420(kn_palette_hist *h, const uint8_t *const data[3],
                             const int stride[3], int w, int height, kn_err *err)
{
    if (!h || !data || !stride || w <= 0 || height <= 0 || w > MAX_WIDTH)
        return kn_err_set(err, KN_EINVAL, NULL, "kn_palette_hist_add_i420: bad arguments");
    size_t need = (size_t)w * 4 * 2;
    if (h->rows_cap < need) {
        uint8_t *n = realloc(h->rows, need);
        if (!n) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory converting a frame");
        h->rows = n;
        h->rows_cap = need;
    }
    /* Two rows share a chroma row; converting two at a time keeps the
     * scratch small whatever the frame size. */
    for (int y = 0; y < height; y += 2) {
        int rows = height - y < 2 ? height - y : 2;
        int r = I420ToARGB(data[0] + (size_t)y * stride[0], stride[0],
                           data[1] + (size_t)(y / 2) * stride[1], stride[1],
                           data[2] + (size_t)(y / 2) * stride[2], stride[2],
                           h->rows, w * 4, w, rows);
        if (r != 0)
            return kn_err_set(err, KN_EINTERNAL, NULL, "colour conversion failed (libyuv "
                              "I420ToARGB returned %d)", r);
        kn_palette_hist_add_argb(h, h->rows, w * 4, w, rows);
    }
    return KN_OK;
}

/* ---- palette: exact ----------------------------------------------------- */

typedef struct exact_entry {
    uint32_t rgb;
    uint64_t n;
} exact_entry;

static int cmp_exact(const void *a, const void *b)
{
    const exact_entry *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;   /* most used first */
    return x->rgb < y->rgb ? -1 : x->rgb > y->rgb;
}

static void exact_palette(const kn_palette_hist *h, kn_palette *out)
{
    exact_entry e[KN_PALETTE_MAX];
    int n = 0;
    for (int i = 0; i < EXACT_SLOTS; i++)
        if (h->exact_key[i]) e[n++] = (exact_entry){h->exact_key[i] & 0xFFFFFFu, h->exact_n[i]};
    qsort(e, (size_t)n, sizeof e[0], cmp_exact);
    for (int i = 0; i < n; i++) out->argb[i] = 0xFF000000u | e[i].rgb;
    out->n = n;
}

/* ---- palette: median cut + k-means ------------------------------------- */

typedef struct point {
    double c[3];   /* mean colour of a bin */
    double w;      /* its pixel count */
} point;

typedef struct box {
    int lo, hi;    /* points[lo, hi) */
    double w, mean[3], sse;
} box;

static void box_stats(const point *pts, box *b)
{
    double w = 0, s[3] = {0, 0, 0};
    for (int i = b->lo; i < b->hi; i++) {
        w += pts[i].w;
        for (int a = 0; a < 3; a++) s[a] += pts[i].w * pts[i].c[a];
    }
    b->w = w;
    for (int a = 0; a < 3; a++) b->mean[a] = w > 0 ? s[a] / w : 0;
    /* Two passes (deviations from the mean), not sum-of-squares minus
     * square-of-sums: counts reach 1e12 and that difference would cancel. */
    double sse = 0;
    for (int i = b->lo; i < b->hi; i++)
        for (int a = 0; a < 3; a++) {
            double d = pts[i].c[a] - b->mean[a];
            sse += pts[i].w * d * d;
        }
    b->sse = sse;
}

/* Orders along one axis, ties by the other two: bins are distinct colours,
 * so the order (and so the palette) never depends on qsort's instability. */
static int cmp3(const point *x, const point *y, int a0, int a1, int a2)
{
    int ax[3] = {a0, a1, a2};
    for (int i = 0; i < 3; i++) {
        double u = x->c[ax[i]], v = y->c[ax[i]];
        if (u != v) return u < v ? -1 : 1;
    }
    return 0;
}
static int cmp_r(const void *a, const void *b) { return cmp3(a, b, 0, 1, 2); }
static int cmp_g(const void *a, const void *b) { return cmp3(a, b, 1, 0, 2); }
static int cmp_b(const void *a, const void *b) { return cmp3(a, b, 2, 0, 1); }

/* Splits b (>= 2 points) into b and *nb along its axis of largest spread,
 * at the cut that minimises the sum of the halves' squared errors. */
static void split_box(point *pts, box *b, box *nb)
{
    double var[3] = {0, 0, 0};
    for (int i = b->lo; i < b->hi; i++)
        for (int a = 0; a < 3; a++) {
            double d = pts[i].c[a] - b->mean[a];
            var[a] += pts[i].w * d * d;
        }
    int axis = var[1] > var[0] ? 1 : 0;
    if (var[2] > var[axis]) axis = 2;
    static int (*const cmp[3])(const void *, const void *) = {cmp_r, cmp_g, cmp_b};
    qsort(pts + b->lo, (size_t)(b->hi - b->lo), sizeof *pts, cmp[axis]);
    /* Deviations from the box mean keep the running sums well conditioned. */
    double tw = b->w, ts[3] = {0, 0, 0}, tq = 0;
    for (int i = b->lo; i < b->hi; i++)
        for (int a = 0; a < 3; a++) {
            double d = pts[i].c[a] - b->mean[a];
            ts[a] += pts[i].w * d;
            tq += pts[i].w * d * d;
        }
    double lw = 0, ls[3] = {0, 0, 0}, lq = 0, best = DBL_MAX;
    int cut = b->lo + 1;
    for (int s = b->lo + 1; s < b->hi; s++) {
        const point *p = &pts[s - 1];
        lw += p->w;
        for (int a = 0; a < 3; a++) {
            double d = p->c[a] - b->mean[a];
            ls[a] += p->w * d;
            lq += p->w * d * d;
        }
        double rw = tw - lw, e = 0;
        double l2 = ls[0] * ls[0] + ls[1] * ls[1] + ls[2] * ls[2];
        double rs[3] = {ts[0] - ls[0], ts[1] - ls[1], ts[2] - ls[2]};
        double r2 = rs[0] * rs[0] + rs[1] * rs[1] + rs[2] * rs[2];
        e = (lq - (lw > 0 ? l2 / lw : 0)) + ((tq - lq) - (rw > 0 ? r2 / rw : 0));
        if (e < best) {
            best = e;
            cut = s;
        }
    }
    nb->lo = cut;
    nb->hi = b->hi;
    b->hi = cut;
    box_stats(pts, b);
    box_stats(pts, nb);
}

static uint32_t to_argb(const double c[3])
{
    int v[3];
    for (int a = 0; a < 3; a++) {
        double x = c[a] + 0.5;
        v[a] = x < 0 ? 0 : x > 255 ? 255 : (int)x;
    }
    return 0xFF000000u | (uint32_t)v[0] << 16 | (uint32_t)v[1] << 8 | (uint32_t)v[2];
}

static int quantise(const kn_palette_hist *h, int max_colors, kn_palette *out, kn_err *err)
{
    int rc = KN_OK, np = 0, nbox = 1;
    point *pts = malloc(sizeof *pts * BINS);
    int *assign = malloc(sizeof *assign * BINS);
    box *boxes = calloc((size_t)max_colors, sizeof *boxes);
    double (*cen)[3] = calloc((size_t)max_colors, sizeof *cen);
    double (*acc)[4] = calloc((size_t)max_colors, sizeof *acc);
    if (!pts || !assign || !boxes || !cen || !acc) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory building a palette");
        goto out;
    }
    for (int k = 0; k < BINS; k++) {
        const bin *b = &h->bins[k];
        if (!b->n) continue;
        double n = (double)b->n;
        pts[np++] = (point){{(double)b->r / n, (double)b->g / n, (double)b->b / n}, n};
    }
    boxes[0] = (box){.lo = 0, .hi = np};
    box_stats(pts, &boxes[0]);

    /* Median cut, greedy on squared error: always split the worst box. */
    while (nbox < max_colors) {
        int worst = -1;
        for (int i = 0; i < nbox; i++)
            if (boxes[i].hi - boxes[i].lo >= 2 && boxes[i].sse > 0 &&
                (worst < 0 || boxes[i].sse > boxes[worst].sse))
                worst = i;
        if (worst < 0) break;   /* every box is one bin: nothing left to split */
        split_box(pts, &boxes[worst], &boxes[nbox]);
        nbox++;
    }

    /* k-means from the boxes' means. Each round cannot raise the total
     * squared error; most clips settle in a few rounds. */
    for (int i = 0; i < nbox; i++) {
        memcpy(cen[i], boxes[i].mean, sizeof cen[i]);
        for (int k = boxes[i].lo; k < boxes[i].hi; k++) assign[k] = i;
    }
    for (int round = 0; round < KMEANS_ROUNDS; round++) {
        long changed = 0;
        for (int k = 0; k < np; k++) {
            const double *c = pts[k].c;
            int bi = assign[k];
            double bd = 0;
            for (int a = 0; a < 3; a++) bd += (c[a] - cen[bi][a]) * (c[a] - cen[bi][a]);
            for (int i = 0; i < nbox; i++) {
                double d0 = c[0] - cen[i][0], d = d0 * d0;
                if (d >= bd) continue;
                double d1 = c[1] - cen[i][1];
                d += d1 * d1;
                if (d >= bd) continue;
                double d2 = c[2] - cen[i][2];
                d += d2 * d2;
                if (d < bd) {
                    bd = d;
                    bi = i;
                }
            }
            if (bi != assign[k]) {
                assign[k] = bi;
                changed++;
            }
        }
        if (!changed && round > 0) break;
        memset(acc, 0, sizeof *acc * (size_t)nbox);
        for (int k = 0; k < np; k++) {
            double *s = acc[assign[k]];
            for (int a = 0; a < 3; a++) s[a] += pts[k].w * pts[k].c[a];
            s[3] += pts[k].w;
        }
        for (int i = 0; i < nbox; i++)
            if (acc[i][3] > 0)   /* an emptied centre keeps its place */
                for (int a = 0; a < 3; a++) cen[i][a] = acc[i][a] / acc[i][3];
        if (!changed) break;
    }

    /* Heaviest first; two centres can round to one colour: keep it once. */
    for (int i = 0; i < nbox; i++) acc[i][3] = 0;
    for (int k = 0; k < np; k++) acc[assign[k]][3] += pts[k].w;
    int order[KN_PALETTE_MAX];
    for (int i = 0; i < nbox; i++) order[i] = i;
    for (int i = 1; i < nbox; i++) {
        int t = order[i], j = i - 1;
        while (j >= 0 && acc[order[j]][3] < acc[t][3]) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = t;
    }
    out->n = 0;
    for (int i = 0; i < nbox; i++) {
        uint32_t c = to_argb(cen[order[i]]);
        int dup = 0;
        for (int j = 0; j < out->n && !dup; j++) dup = out->argb[j] == c;
        if (!dup) out->argb[out->n++] = c;
    }
out:
    free(pts);
    free(assign);
    free(boxes);
    free(cen);
    free(acc);
    return rc;
}

int kn_palette_build(const kn_palette_hist *h, int max_colors, kn_palette *out, kn_err *err)
{
    if (!h || !out) return kn_err_set(err, KN_EINVAL, NULL, "kn_palette_build: missing argument");
    if (max_colors < 1 || max_colors > KN_PALETTE_MAX)
        return kn_err_set(err, KN_EINVAL, NULL, "a palette has 1..%d colours, not %d",
                          KN_PALETTE_MAX, max_colors);
    if (!h->pixels)
        return kn_err_set(err, KN_EINVAL, NULL, "no pixels were added: nothing to build a palette from");
    kn_palette p;
    memset(&p, 0, sizeof p);
    int rc = KN_OK;
    if (!h->overflow && h->nexact <= max_colors)
        exact_palette(h, &p);
    else if ((rc = quantise(h, max_colors, &p, err)) != KN_OK)
        return rc;
    for (int i = p.n; i < KN_PALETTE_MAX; i++) p.argb[i] = 0xFF000000u;
    *out = p;
    return KN_OK;
}

/* ---- mapping and dithering ---------------------------------------------- */

#define BLOCKS (1 << 18)

struct kn_palette_mapper {
    int n;
    int pc[KN_PALETTE_MAX][3];      /* R, G, B of each entry */
    uint8_t *cache;                 /* 1 << 24, block-major (see top) */
    uint64_t filled[BLOCKS / 64];   /* one bit per block */
    int max_w, w, row;
    int *err_cur, *err_next;        /* (max_w + 2) * 3 each, 1/16 units */
};

int kn_palette_mapper_create(const kn_palette *pal, int max_width, kn_palette_mapper **out,
                             kn_err *err)
{
    int rc = KN_OK;
    *out = NULL;
    if (!pal || pal->n < 1 || pal->n > KN_PALETTE_MAX || max_width < 1 || max_width > MAX_WIDTH)
        return kn_err_set(err, KN_EINVAL, NULL, "kn_palette_mapper_create: bad palette or width");
    kn_palette_mapper *m = calloc(1, sizeof *m);
    if (!m) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory for a palette mapper");
    m->n = pal->n;
    for (int i = 0; i < pal->n; i++) {
        m->pc[i][0] = (int)(pal->argb[i] >> 16 & 255);
        m->pc[i][1] = (int)(pal->argb[i] >> 8 & 255);
        m->pc[i][2] = (int)(pal->argb[i] & 255);
    }
    m->max_w = max_width;
    /* malloc of this size maps pages lazily: a clip touches only the
     * pages of the colour blocks it meets (never read before filled). */
    m->cache = malloc((size_t)1 << 24);
    m->err_cur = calloc((size_t)(max_width + 2) * 3, sizeof *m->err_cur);
    m->err_next = calloc((size_t)(max_width + 2) * 3, sizeof *m->err_next);
    if (!m->cache || !m->err_cur || !m->err_next) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory for a palette mapper");
        goto out;
    }
out:
    if (rc) kn_palette_mapper_destroy(m);
    else *out = m;
    return rc;
}

void kn_palette_mapper_destroy(kn_palette_mapper *m)
{
    if (!m) return;
    free(m->cache);
    free(m->err_cur);
    free(m->err_next);
    free(m);
}

/* Fills block `blk`: the nearest entry of each of its 64 colours. Only
 * entries that can be nearest to some colour of the block are searched:
 * with c the block's centre, R its half-diagonal and p0 the entry nearest
 * to c, any colour x of the block has its nearest entry p within
 * |x - p0| <= R + |c - p0|, so |c - p| <= 2R + |c - p0|. Candidates stay
 * in index order, so ties go to the lowest index as in a full search. */
static void fill_block(kn_palette_mapper *m, unsigned blk)
{
    int br = (int)(blk >> 12) * 4, bg = (int)(blk >> 6 & 63) * 4, bb = (int)(blk & 63) * 4;
    /* Doubled coordinates keep the centre (br + 1.5, ...) integral. */
    int cr = 2 * br + 3, cg = 2 * bg + 3, cb = 2 * bb + 3;
    int d2[KN_PALETTE_MAX], dmin = 1 << 30;
    for (int i = 0; i < m->n; i++) {
        int dr = cr - 2 * m->pc[i][0], dg = cg - 2 * m->pc[i][1], db = cb - 2 * m->pc[i][2];
        d2[i] = dr * dr + dg * dg + db * db;
        if (d2[i] < dmin) dmin = d2[i];
    }
    /* In doubled units R = 2 * sqrt(3) * 1.5 = sqrt(27); a little slack
     * covers the float rounding of the bound. */
    double lim = sqrt((double)dmin) + 2 * sqrt(27.0) + 1e-6;
    double lim2 = lim * lim;
    uint8_t cand[KN_PALETTE_MAX];
    int nc = 0;
    for (int i = 0; i < m->n; i++)
        if (d2[i] <= lim2) cand[nc++] = (uint8_t)i;
    uint8_t *out = m->cache + (size_t)blk * 64;
    for (int o = 0; o < 64; o++) {
        int r = br + (o >> 4), g = bg + (o >> 2 & 3), b = bb + (o & 3);
        int best = cand[0], bd = 1 << 30;
        for (int k = 0; k < nc; k++) {
            int i = cand[k];
            int dr = r - m->pc[i][0], dg = g - m->pc[i][1], db = b - m->pc[i][2];
            int d = dr * dr + dg * dg + db * db;
            if (d < bd) {
                bd = d;
                best = i;
            }
        }
        out[o] = (uint8_t)best;
    }
    m->filled[blk >> 6] |= (uint64_t)1 << (blk & 63);
}

static inline uint8_t nearest(kn_palette_mapper *m, int r, int g, int b)
{
    unsigned blk = (unsigned)(r >> 2) << 12 | (unsigned)(g >> 2) << 6 | (unsigned)(b >> 2);
    if (!(m->filled[blk >> 6] & (uint64_t)1 << (blk & 63))) fill_block(m, blk);
    return m->cache[(size_t)blk * 64 + (unsigned)((r & 3) << 4 | (g & 3) << 2 | (b & 3))];
}

uint8_t kn_palette_nearest(kn_palette_mapper *m, uint32_t rgb)
{
    return nearest(m, (int)(rgb >> 16 & 255), (int)(rgb >> 8 & 255), (int)(rgb & 255));
}

void kn_palette_mapper_start(kn_palette_mapper *m, int w)
{
    m->w = w < 1 ? 1 : w > m->max_w ? m->max_w : w;
    m->row = 0;
    memset(m->err_cur, 0, sizeof *m->err_cur * (size_t)(m->w + 2) * 3);
}

/* Rounds an error in 1/16 units to whole levels, symmetric around 0. */
static inline int div16(int e)
{
    return e >= 0 ? (e + 8) >> 4 : -((8 - e) >> 4);
}

static inline int clamp255(int v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

void kn_palette_mapper_row(kn_palette_mapper *m, const uint8_t *argb, uint8_t *idx)
{
    int w = m->w;
    int *ec = m->err_cur + 3, *en = m->err_next + 3;   /* index -1 is padding */
    memset(m->err_next, 0, sizeof *m->err_next * (size_t)(w + 2) * 3);
    int dir = m->row & 1 ? -1 : 1;
    int x = dir > 0 ? 0 : w - 1, end = dir > 0 ? w : -1;
    for (; x != end; x += dir) {
        const uint8_t *p = argb + 4 * x;
        int *e0 = ec + 3 * x;
        int v[3] = {clamp255(p[2] + div16(e0[0])), clamp255(p[1] + div16(e0[1])),
                    clamp255(p[0] + div16(e0[2]))};
        uint8_t k = nearest(m, v[0], v[1], v[2]);
        idx[x] = k;
        /* Floyd-Steinberg weights, mirrored on right-to-left rows:
         *        *  7
         *    3   5  1   (/16) */
        int *ahead = ec + 3 * (x + dir), *nb = en + 3 * (x - dir), *nx = en + 3 * x,
            *na = en + 3 * (x + dir);
        for (int a = 0; a < 3; a++) {
            int e = v[a] - m->pc[k][a];
            ahead[a] += e * 7;
            nb[a] += e * 3;
            nx[a] += e * 5;
            na[a] += e;
        }
    }
    int *t = m->err_cur;
    m->err_cur = m->err_next;
    m->err_next = t;
    m->row++;
}

void kn_palette_mapper_image(kn_palette_mapper *m, const uint8_t *argb, int stride, int w,
                             int h, uint8_t *idx, int idx_stride)
{
    kn_palette_mapper_start(m, w);
    for (int y = 0; y < h; y++)
        kn_palette_mapper_row(m, argb + (size_t)y * (size_t)stride,
                              idx + (size_t)y * (size_t)idx_stride);
}
