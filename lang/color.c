/*
 * lang/color.c - CSS colour strings to straight-alpha kn_color (see color.h).
 *
 * Accepted: "#rgb", "#rrggbb", "#rrggbbaa"; "rgb(r,g,b)" and "rgba(r,g,b,a)"
 * with r,g,b numbers 0..255 or percentages 0%..100% and a a number 0..1 (or
 * 0%..100%); the 148 CSS Color 4 named colours plus "transparent", any case;
 * "none". Whitespace around the whole string and around the values inside
 * the parentheses is ignored. Nothing is clamped: a value out of range is an
 * error, because a silently clipped colour is a bug the user never sees.
 *
 * Invariant: *out is written only on success, and then every channel is in
 * [0, 1].
 */
#include "lang/color.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HINT "use #rrggbb, rgb(), rgba() or a CSS name"

/* Sorted by name for bsearch; names are lower case and at most 20 chars. */
typedef struct named_color {
    char name[21];
    unsigned char r, g, b;
} named_color;

static const named_color NAMED[] = {
    { "aliceblue", 240, 248, 255 },
    { "antiquewhite", 250, 235, 215 },
    { "aqua", 0, 255, 255 },
    { "aquamarine", 127, 255, 212 },
    { "azure", 240, 255, 255 },
    { "beige", 245, 245, 220 },
    { "bisque", 255, 228, 196 },
    { "black", 0, 0, 0 },
    { "blanchedalmond", 255, 235, 205 },
    { "blue", 0, 0, 255 },
    { "blueviolet", 138, 43, 226 },
    { "brown", 165, 42, 42 },
    { "burlywood", 222, 184, 135 },
    { "cadetblue", 95, 158, 160 },
    { "chartreuse", 127, 255, 0 },
    { "chocolate", 210, 105, 30 },
    { "coral", 255, 127, 80 },
    { "cornflowerblue", 100, 149, 237 },
    { "cornsilk", 255, 248, 220 },
    { "crimson", 220, 20, 60 },
    { "cyan", 0, 255, 255 },
    { "darkblue", 0, 0, 139 },
    { "darkcyan", 0, 139, 139 },
    { "darkgoldenrod", 184, 134, 11 },
    { "darkgray", 169, 169, 169 },
    { "darkgreen", 0, 100, 0 },
    { "darkgrey", 169, 169, 169 },
    { "darkkhaki", 189, 183, 107 },
    { "darkmagenta", 139, 0, 139 },
    { "darkolivegreen", 85, 107, 47 },
    { "darkorange", 255, 140, 0 },
    { "darkorchid", 153, 50, 204 },
    { "darkred", 139, 0, 0 },
    { "darksalmon", 233, 150, 122 },
    { "darkseagreen", 143, 188, 143 },
    { "darkslateblue", 72, 61, 139 },
    { "darkslategray", 47, 79, 79 },
    { "darkslategrey", 47, 79, 79 },
    { "darkturquoise", 0, 206, 209 },
    { "darkviolet", 148, 0, 211 },
    { "deeppink", 255, 20, 147 },
    { "deepskyblue", 0, 191, 255 },
    { "dimgray", 105, 105, 105 },
    { "dimgrey", 105, 105, 105 },
    { "dodgerblue", 30, 144, 255 },
    { "firebrick", 178, 34, 34 },
    { "floralwhite", 255, 250, 240 },
    { "forestgreen", 34, 139, 34 },
    { "fuchsia", 255, 0, 255 },
    { "gainsboro", 220, 220, 220 },
    { "ghostwhite", 248, 248, 255 },
    { "gold", 255, 215, 0 },
    { "goldenrod", 218, 165, 32 },
    { "gray", 128, 128, 128 },
    { "green", 0, 128, 0 },
    { "greenyellow", 173, 255, 47 },
    { "grey", 128, 128, 128 },
    { "honeydew", 240, 255, 240 },
    { "hotpink", 255, 105, 180 },
    { "indianred", 205, 92, 92 },
    { "indigo", 75, 0, 130 },
    { "ivory", 255, 255, 240 },
    { "khaki", 240, 230, 140 },
    { "lavender", 230, 230, 250 },
    { "lavenderblush", 255, 240, 245 },
    { "lawngreen", 124, 252, 0 },
    { "lemonchiffon", 255, 250, 205 },
    { "lightblue", 173, 216, 230 },
    { "lightcoral", 240, 128, 128 },
    { "lightcyan", 224, 255, 255 },
    { "lightgoldenrodyellow", 250, 250, 210 },
    { "lightgray", 211, 211, 211 },
    { "lightgreen", 144, 238, 144 },
    { "lightgrey", 211, 211, 211 },
    { "lightpink", 255, 182, 193 },
    { "lightsalmon", 255, 160, 122 },
    { "lightseagreen", 32, 178, 170 },
    { "lightskyblue", 135, 206, 250 },
    { "lightslategray", 119, 136, 153 },
    { "lightslategrey", 119, 136, 153 },
    { "lightsteelblue", 176, 196, 222 },
    { "lightyellow", 255, 255, 224 },
    { "lime", 0, 255, 0 },
    { "limegreen", 50, 205, 50 },
    { "linen", 250, 240, 230 },
    { "magenta", 255, 0, 255 },
    { "maroon", 128, 0, 0 },
    { "mediumaquamarine", 102, 205, 170 },
    { "mediumblue", 0, 0, 205 },
    { "mediumorchid", 186, 85, 211 },
    { "mediumpurple", 147, 112, 219 },
    { "mediumseagreen", 60, 179, 113 },
    { "mediumslateblue", 123, 104, 238 },
    { "mediumspringgreen", 0, 250, 154 },
    { "mediumturquoise", 72, 209, 204 },
    { "mediumvioletred", 199, 21, 133 },
    { "midnightblue", 25, 25, 112 },
    { "mintcream", 245, 255, 250 },
    { "mistyrose", 255, 228, 225 },
    { "moccasin", 255, 228, 181 },
    { "navajowhite", 255, 222, 173 },
    { "navy", 0, 0, 128 },
    { "oldlace", 253, 245, 230 },
    { "olive", 128, 128, 0 },
    { "olivedrab", 107, 142, 35 },
    { "orange", 255, 165, 0 },
    { "orangered", 255, 69, 0 },
    { "orchid", 218, 112, 214 },
    { "palegoldenrod", 238, 232, 170 },
    { "palegreen", 152, 251, 152 },
    { "paleturquoise", 175, 238, 238 },
    { "palevioletred", 219, 112, 147 },
    { "papayawhip", 255, 239, 213 },
    { "peachpuff", 255, 218, 185 },
    { "peru", 205, 133, 63 },
    { "pink", 255, 192, 203 },
    { "plum", 221, 160, 221 },
    { "powderblue", 176, 224, 230 },
    { "purple", 128, 0, 128 },
    { "rebeccapurple", 102, 51, 153 },
    { "red", 255, 0, 0 },
    { "rosybrown", 188, 143, 143 },
    { "royalblue", 65, 105, 225 },
    { "saddlebrown", 139, 69, 19 },
    { "salmon", 250, 128, 114 },
    { "sandybrown", 244, 164, 96 },
    { "seagreen", 46, 139, 87 },
    { "seashell", 255, 245, 238 },
    { "sienna", 160, 82, 45 },
    { "silver", 192, 192, 192 },
    { "skyblue", 135, 206, 235 },
    { "slateblue", 106, 90, 205 },
    { "slategray", 112, 128, 144 },
    { "slategrey", 112, 128, 144 },
    { "snow", 255, 250, 250 },
    { "springgreen", 0, 255, 127 },
    { "steelblue", 70, 130, 180 },
    { "tan", 210, 180, 140 },
    { "teal", 0, 128, 128 },
    { "thistle", 216, 191, 216 },
    { "tomato", 255, 99, 71 },
    { "turquoise", 64, 224, 208 },
    { "violet", 238, 130, 238 },
    { "wheat", 245, 222, 179 },
    { "white", 255, 255, 255 },
    { "whitesmoke", 245, 245, 245 },
    { "yellow", 255, 255, 0 },
    { "yellowgreen", 154, 205, 50 },
};

_Static_assert(sizeof NAMED / sizeof NAMED[0] == 148, "CSS Color 4 has 148 named colours");

static int fail(kn_err *err, const char *path, const char *s, const char *why)
{
    char b[64];
    return kn_err_set(err, KN_EINVAL, path, "not a colour: \"%s\"%s%s",
                      kn_err_excerpt(s, b, sizeof b), why ? ": " : " (" HINT ")", why ? why : "");
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_hex(const char *s, const char *h, size_t len, kn_color *out,
                     const char *path, kn_err *err)
{
    for (size_t i = 0; i < len; i++)
        if (hexval(h[i]) < 0)
            return fail(err, path, s, "a hex colour takes only the digits 0-9 and a-f "
                                      "(#rgb, #rrggbb or #rrggbbaa)");
    if (len != 3 && len != 6 && len != 8)
        return fail(err, path, s, "a hex colour takes 3, 6 or 8 digits "
                                  "(#rgb, #rrggbb or #rrggbbaa)");
    double ch[4] = { 0, 0, 0, 1 };
    if (len == 3) {
        for (int i = 0; i < 3; i++) ch[i] = hexval(h[i]) * 17 / 255.0;
    } else {
        for (size_t i = 0; i < len / 2; i++)
            ch[i] = (hexval(h[2 * i]) * 16 + hexval(h[2 * i + 1])) / 255.0;
    }
    *out = (kn_color){ ch[0], ch[1], ch[2], ch[3] };
    return KN_OK;
}

/* One value of rgb()/rgba(): a plain decimal number, optionally followed by
 * '%'. strtod alone would also take "inf", "nan", hex and leading spaces. */
static int scan_value(const char **p, const char *end, double *v, int *pct)
{
    const char *q = *p;
    int digits = 0;
    if (q < end && (*q == '+' || *q == '-')) q++;
    while (q < end && isdigit((unsigned char)*q)) { q++; digits++; }
    if (q < end && *q == '.') {
        q++;
        while (q < end && isdigit((unsigned char)*q)) { q++; digits++; }
    }
    if (!digits) return -1;
    if (q < end && (*q == 'e' || *q == 'E')) {
        const char *r = q + 1;
        if (r < end && (*r == '+' || *r == '-')) r++;
        if (!(r < end && isdigit((unsigned char)*r))) return -1;
        while (r < end && isdigit((unsigned char)*r)) r++;
        q = r;
    }
    char num[64];
    size_t n = (size_t)(q - *p);
    if (n >= sizeof num) return -1;
    memcpy(num, *p, n);
    num[n] = '\0';
    char *e;
    errno = 0;
    double x = strtod(num, &e);
    if (*e != '\0' || errno == ERANGE || !isfinite(x)) return -1;
    *pct = 0;
    if (q < end && *q == '%') { *pct = 1; q++; }
    *v = x;
    *p = q;
    return 0;
}

static int parse_func(const char *s, const char *b, const char *end, int nvals,
                      kn_color *out, const char *path, kn_err *err)
{
    static const char *const what[4] = { "red", "green", "blue", "alpha" };
    const char *fn = nvals == 3 ? "rgb()" : "rgba()";
    const char *usage = nvals == 3 ? "r,g,b" : "r,g,b,a";
    const char *p = b;
    double ch[4] = { 0, 0, 0, 1 };
    char why[160];

    for (int i = 0; i < nvals; i++) {
        double v;
        int pct;
        while (p < end && is_ws(*p)) p++;
        if (scan_value(&p, end, &v, &pct) != 0) {
            if (p < end && *p == ')' && i > 0)
                snprintf(why, sizeof why, "%s takes %d values (%s), got %d", fn, nvals, usage, i);
            else
                snprintf(why, sizeof why, "%s must be a number", what[i]);
            return fail(err, path, s, why);
        }
        if (i < 3 && (pct ? (v < 0 || v > 100) : (v < 0 || v > 255))) {
            snprintf(why, sizeof why, "%s is %g%s but must be 0..255 or 0%%..100%%",
                     what[i], v, pct ? "%" : "");
            return fail(err, path, s, why);
        }
        if (i == 3 && (pct ? (v < 0 || v > 100) : (v < 0 || v > 1))) {
            snprintf(why, sizeof why, "alpha is %g%s but must be 0..1", v, pct ? "%" : "");
            return fail(err, path, s, why);
        }
        ch[i] = pct ? v / 100 : (i < 3 ? v / 255 : v);
        while (p < end && is_ws(*p)) p++;
        if (i + 1 < nvals) {
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            if (p < end && *p == ')')
                snprintf(why, sizeof why, "%s takes %d values (%s), got %d", fn, nvals, usage, i + 1);
            else
                snprintf(why, sizeof why, "expected \",\" after %s", what[i]);
            return fail(err, path, s, why);
        }
    }
    if (p < end && *p == ',') {
        snprintf(why, sizeof why, "%s takes %d values (%s)%s", fn, nvals, usage,
                 nvals == 3 ? "; use rgba(r,g,b,a) for transparency" : "");
        return fail(err, path, s, why);
    }
    if (p >= end || *p != ')')
        return fail(err, path, s, "expected \")\" after the last value");
    if (p + 1 != end)
        return fail(err, path, s, "unexpected text after \")\"");
    *out = (kn_color){ ch[0], ch[1], ch[2], ch[3] };
    return KN_OK;
}

static int cmp_named(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const named_color *)elem)->name);
}

int kn_color_parse(const char *s, kn_color *out, const char *path, kn_err *err)
{
    if (!s)
        return kn_err_set(err, KN_EINVAL, path, "missing colour (" HINT ")");

    const char *b = s, *end = s + strlen(s);
    while (b < end && is_ws(*b)) b++;
    while (end > b && is_ws(end[-1])) end--;
    size_t len = (size_t)(end - b);

    if (len == 0)
        return kn_err_set(err, KN_EINVAL, path, "empty colour (" HINT ")");
    if (*b == '#')
        return parse_hex(s, b + 1, len - 1, out, path, err);
    if (len >= 5 && strncasecmp(b, "rgba(", 5) == 0)
        return parse_func(s, b + 5, end, 4, out, path, err);
    if (len >= 4 && strncasecmp(b, "rgb(", 4) == 0)
        return parse_func(s, b + 4, end, 3, out, path, err);

    char key[24];
    if (len < sizeof key) {
        for (size_t i = 0; i < len; i++) key[i] = (char)tolower((unsigned char)b[i]);
        key[len] = '\0';
        if (strcmp(key, "none") == 0 || strcmp(key, "transparent") == 0) {
            *out = (kn_color){ 0, 0, 0, 0 };
            return KN_OK;
        }
        const named_color *nc = bsearch(key, NAMED, sizeof NAMED / sizeof NAMED[0],
                                        sizeof NAMED[0], cmp_named);
        if (nc) {
            *out = (kn_color){ nc->r / 255.0, nc->g / 255.0, nc->b / 255.0, 1 };
            return KN_OK;
        }
    }
    return fail(err, path, s, NULL);
}
