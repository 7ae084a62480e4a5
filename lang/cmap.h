/*
 * lang/cmap.h - colormaps for heatmaps and colorbars (spec section 8),
 * giving the colours matplotlib 3.6 gives for the same names:
 *
 *   viridis plasma inferno magma cividis   ListedColormap, matplotlib's
 *                                          256-entry tables verbatim
 *   gray coolwarm RdBu                     LinearSegmentedColormap with
 *                                          N = 256, the LUT built as
 *                                          colors._create_lookup_table does
 *
 * and each name + "_r", reversed as matplotlib reverses it (listed: the
 * table backwards; segmented: the segment data mirrored, then the LUT
 * rebuilt). Names are case-sensitive, as in matplotlib ("RdBu").
 *
 * Sampling is matplotlib's Colormap.__call__ for a float: u in [0, 1] picks
 * LUT entry floor(u * 256), u == 1 the last; u < 0 gives the first entry
 * and u > 1 the last (the default under/over colours); NaN is "bad", which
 * matplotlib paints fully transparent.
 *
 * Colormaps are static constants: nothing to create or free, safe to share
 * between threads; a sample computes its LUT entry on the spot.
 */
#ifndef KN_LANG_CMAP_H
#define KN_LANG_CMAP_H

#include <stdbool.h>
#include <stddef.h>

/* Entries in every colormap's lookup table (matplotlib's image.lut). */
#define KN_CMAP_N 256

typedef struct kn_cmap kn_cmap;

/* The colormap called name, or NULL for an unknown (or NULL) name. The
 * result points at static storage. */
const kn_cmap *kn_cmap_lookup(const char *name);

/* The name it was looked up by ("magma_r"); static storage. */
const char *kn_cmap_name(const kn_cmap *cmap);

/* Every name kn_cmap_lookup knows, comma-separated, for error messages
 * ("viridis, viridis_r, plasma, ..."); static storage. */
const char *kn_cmap_names(void);

/* The colour for u (see above) as r, g, b in [0, 1]. Returns false, with
 * rgb set to 0, when u is NaN (matplotlib's transparent "bad" colour). */
bool kn_cmap_sample(const kn_cmap *cmap, double u, double rgb[3]);

/* LUT entry i (0..KN_CMAP_N-1; larger i are clamped to the last). */
void kn_cmap_entry(const kn_cmap *cmap, size_t i, double rgb[3]);

#endif
