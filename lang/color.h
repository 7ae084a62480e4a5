/*
 * lang/color.h - CSS colour parsing: "#rgb", "#rrggbb", "#rrggbbaa",
 * "rgb(r,g,b)", "rgba(r,g,b,a)" (r,g,b 0..255 integers or percentages, a
 * 0..1), the 148 CSS named colours (case-insensitive) and "none" (all 0).
 */
#ifndef KN_LANG_COLOR_H
#define KN_LANG_COLOR_H

#include "common/err.h"

/* Straight (not premultiplied) RGBA, each channel 0..1. "none" is all 0. */
typedef struct kn_color {
    double r, g, b, a;
} kn_color;

/* Parses s into *out. Returns KN_OK, or KN_EINVAL with a message naming what
 * was expected; path (may be NULL) is copied into err->path. */
int kn_color_parse(const char *s, kn_color *out, const char *path, kn_err *err);

#endif
