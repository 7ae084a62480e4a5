/*
 * encode/palette.h - one 8-bit palette for a whole clip, and error-diffusion
 * dithering of frames onto it (for GIF output, which has one colour table).
 *
 * Three steps, in this order:
 *   1. kn_palette_hist: every frame of the clip is added to a colour
 *      histogram (I420 frames are converted to RGB with libyuv's
 *      I420ToARGB, BT.601 limited range, the inverse of the ARGBToI420 the
 *      renderer uses). Colours are binned 5-5-5 bits per channel; each bin
 *      keeps the sum of the exact colours that fell in it, so its colour is
 *      their mean, not the bin's centre. While the clip has few distinct
 *      colours (<= KN_PALETTE_MAX), they are also counted exactly.
 *   2. kn_palette_build: a clip with at most max_colors distinct colours
 *      gets exactly those colours. Otherwise median cut over the bins (each
 *      split cuts the box with the largest squared error along its widest
 *      axis, at the cut that minimises the two halves' squared error),
 *      then k-means (Lloyd) refinement, which only lowers the error.
 *   3. kn_palette_mapper: maps RGB rows to palette indexes with serpentine
 *      Floyd-Steinberg error diffusion. The nearest palette entry of every
 *      24-bit colour is found exactly (once, then cached), so a colour that
 *      is in the palette always maps to itself (zero error: flat areas stay
 *      flat).
 *
 * Distances are plain squared RGB differences in sRGB values, the same in
 * every step, so the palette is optimal for the metric the mapper uses.
 *
 * Pixels are libyuv "ARGB": bytes B, G, R, A in memory, i.e. a
 * little-endian uint32 0xAARRGGBB, which is also FFmpeg's palette layout.
 * Alpha is ignored (frames are opaque).
 *
 * Ownership: create/destroy pairs; destroy accepts NULL. Nothing returned
 * points into a handle.
 */
#ifndef KN_ENCODE_PALETTE_H
#define KN_ENCODE_PALETTE_H

#include <stdint.h>

#include "common/err.h"

#define KN_PALETTE_MAX 256

/* GIF output uses 255 colours so index 255 is never drawn: libavcodec's gif
 * encoder can then always find a free index for "unchanged since the last
 * frame" transparency, which keeps animations with still parts small. */
#define KN_PALETTE_GIF_COLORS 255

typedef struct kn_palette {
    uint32_t argb[KN_PALETTE_MAX];   /* 0xFFRRGGBB; entries >= n are opaque black */
    int n;                           /* colours in use, 1..KN_PALETTE_MAX */
} kn_palette;

typedef struct kn_palette_hist kn_palette_hist;
typedef struct kn_palette_mapper kn_palette_mapper;

int kn_palette_hist_create(kn_palette_hist **out, kn_err *err);
void kn_palette_hist_destroy(kn_palette_hist *h);

/* Adds w x h pixels of ARGB (stride in bytes). */
void kn_palette_hist_add_argb(kn_palette_hist *h, const uint8_t *argb, int stride, int w,
                              int height);

/* Adds an I420 frame (planes Y, U, V; chroma is w/2 x h/2 rounded up). */
int kn_palette_hist_add_i420(kn_palette_hist *h, const uint8_t *const data[3],
                             const int stride[3], int w, int height, kn_err *err);

/* Pixels added so far. */
uint64_t kn_palette_hist_pixels(const kn_palette_hist *h);

/* Builds a palette of at most max_colors (1..KN_PALETTE_MAX) colours from
 * everything added. KN_EINVAL if nothing was added or max_colors is out of
 * range. */
int kn_palette_build(const kn_palette_hist *h, int max_colors, kn_palette *out, kn_err *err);

/* A mapper for rows of up to max_width pixels onto pal (copied). Holds a
 * lazily filled nearest-colour table for all 2^24 colours (16 MiB of
 * address space, filled 64 neighbouring colours at a time; only the pages
 * of the colours met are touched). */
int kn_palette_mapper_create(const kn_palette *pal, int max_width, kn_palette_mapper **out,
                             kn_err *err);
void kn_palette_mapper_destroy(kn_palette_mapper *m);

/* The index of the palette colour nearest to 0xRRGGBB (alpha ignored). */
uint8_t kn_palette_nearest(kn_palette_mapper *m, uint32_t rgb);

/* Starts an image w (1..max_width) pixels wide: no error carried in. */
void kn_palette_mapper_start(kn_palette_mapper *m, int w);

/* Maps the image's next row (w ARGB pixels) to w indexes, diffusing the
 * error into the rest of this row and the next. Rows alternate direction
 * (serpentine), counting from the last start. */
void kn_palette_mapper_row(kn_palette_mapper *m, const uint8_t *argb, uint8_t *idx);

/* start + row for each of h rows. */
void kn_palette_mapper_image(kn_palette_mapper *m, const uint8_t *argb, int stride, int w,
                             int h, uint8_t *idx, int idx_stride);

#endif
