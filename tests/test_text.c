/*
 * tests/test_text.c - text shaping and font coverage (job-v1 section 3:
 * "kerning, ligatures, right-to-left, CJK and colour emoji where fonts
 * exist"). Documents go through the parser and renderer (render/render.h)
 * and the canvas is checked; Pango is also asked directly, with the
 * renderer's font options, whether any glyph is missing (a .notdef / hex
 * box), which is Pango's own signal for "no font covers this character".
 *
 * The fonts are part of the build: scripts/install-deps.sh installs them
 * (CI runs it), so a missing font fails here with a message saying so
 * rather than skipping.
 *
 * Backgrounds are opaque black, so premultiplied pixels equal straight ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <hb-ot.h>
#include <pango/pangocairo.h>

#include "render/render.h"

#define W 320
#define H 120
#define INSTALL_HINT "run scripts/install-deps.sh (it installs the fonts Kinora needs)"

static const char *LATIN = "Kinora office";
static const char *ARABIC = "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 "   /* مرحبا */
                            "\xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84\xd9\x85"; /* بالعالم */
static const char *ARABIC_WORD1 = "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7";
static const char *CHINESE = "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c";   /* 你好世界 */
static const char *JAPANESE = "\xe3\x81\xb2\xe3\x82\x89\xe3\x81\x8c\xe3\x81\xaa"
                              "\xe3\x82\xab\xe3\x82\xbf\xe3\x82\xab\xe3\x83\x8a"; /* ひらがなカタカナ */
static const char *KOREAN = "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4";   /* 한국어 */
static const char *EMOJI = "\xf0\x9f\x98\x80\xf0\x9f\x8e\x89\xf0\x9f\x91\x8d";  /* 😀🎉👍 */
static const char *GRIN = "\xf0\x9f\x98\x80";   /* 😀: mostly yellow */

/* ---- Pango, set up as render/draw.c sets it up -------------------------- */

typedef struct probe {
    cairo_surface_t *surf;
    cairo_t *cr;
    PangoLayout *layout;
} probe;

static void probe_open(probe *p, const char *font, double px, const char *text)
{
    p->surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 8, 8);
    p->cr = cairo_create(p->surf);
    p->layout = pango_cairo_create_layout(p->cr);
    assert_non_null(p->layout);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    PangoContext *pc = pango_layout_get_context(p->layout);
    pango_cairo_context_set_font_options(pc, fo);
    pango_context_set_round_glyph_positions(pc, FALSE);
    pango_layout_context_changed(p->layout);
    cairo_font_options_destroy(fo);
    PangoFontDescription *fd = pango_font_description_from_string(font);
    pango_font_description_set_absolute_size(fd, px * PANGO_SCALE);
    pango_layout_set_font_description(p->layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_text(p->layout, text, -1);
}

static void probe_close(probe *p)
{
    g_object_unref(p->layout);
    cairo_destroy(p->cr);
    cairo_surface_destroy(p->surf);
}

static int glyph_count(PangoLayout *layout)
{
    int n = 0;
    PangoLayoutIter *it = pango_layout_get_iter(layout);
    do {
        PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);
        if (run) n += run->glyphs->num_glyphs;
    } while (pango_layout_iter_next_run(it));
    pango_layout_iter_free(it);
    return n;
}

/* Runs whose font has colour bitmap glyphs (CBDT/sbix). */
static int colour_runs(PangoLayout *layout)
{
    int n = 0;
    PangoLayoutIter *it = pango_layout_get_iter(layout);
    do {
        PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);
        if (run && hb_ot_color_has_png(hb_font_get_face(
                       pango_font_get_hb_font(run->item->analysis.font))))
            n++;
    } while (pango_layout_iter_next_run(it));
    pango_layout_iter_free(it);
    return n;
}

/* Fails, naming the script and the fix, when some character of text has no
 * glyph in any installed font. */
static void require_covered(const char *what, const char *font, const char *text)
{
    probe p;
    probe_open(&p, font, 32, text);
    int unknown = pango_layout_get_unknown_glyphs_count(p.layout);
    probe_close(&p);
    if (unknown != 0)
        fail_msg("%s: %d character(s) of \"%s\" have no glyph in any installed font "
                 "(they would draw as boxes); %s", what, unknown, text, INSTALL_HINT);
}

static int text_width(const char *font, const char *text)
{
    probe p;
    probe_open(&p, font, 48, text);
    PangoRectangle lg;
    pango_layout_get_extents(p.layout, NULL, &lg);
    probe_close(&p);
    return lg.width;
}

/* ---- rendering through the job document --------------------------------- */

typedef struct img {
    uint8_t px[H][W][4];   /* B G R A */
} img;

/* Renders one text element (extra: more JSON members for it, may be "")
 * on a black W x H canvas into *out. */
static void render_text(img *out, const char *text, const char *extra)
{
    char doc[2048];
    int n = snprintf(doc, sizeof doc,
                     "{\"width\":%d,\"height\":%d,\"fps\":1,\"duration\":1,"
                     "\"background\":\"#000000\",\"elements\":[{\"type\":\"text\","
                     "\"text\":\"%s\"%s%s}]}",
                     W, H, text, extra[0] ? "," : "", extra);
    assert_true(n > 0 && (size_t)n < sizeof doc);
    kn_renderer *r = NULL;
    kn_err err;
    int rc = kn_renderer_create(doc, (size_t)n, &r, &err);
    if (rc != KN_OK) fail_msg("document rejected: %s\n%s", err.msg, doc);
    assert_int_equal(kn_renderer_draw(r, 0, &err), KN_OK);
    kn_canvas *c = kn_renderer_canvas(r);
    const uint8_t *d = kn_canvas_data(c);
    int stride = kn_canvas_stride(c);
    for (int y = 0; y < H; y++) memcpy(out->px[y], d + (size_t)y * stride, W * 4);
    kn_renderer_destroy(r);
}

static int maxc(const uint8_t *p)
{
    int m = p[0];
    if (p[1] > m) m = p[1];
    if (p[2] > m) m = p[2];
    return m;
}

static int is_ink(const uint8_t *p) { return maxc(p) > 64; }

/* A pixel whose channels clearly differ: colour, not grey text. */
static int is_colour(const uint8_t *p)
{
    int mn = p[0];
    if (p[1] < mn) mn = p[1];
    if (p[2] < mn) mn = p[2];
    return maxc(p) - mn > 60;
}

typedef struct ink {
    long n, colour;
    double cx;                  /* centroid x */
    int x0, y0, x1, y1;         /* bounding box, inclusive */
} ink;

static ink measure(const img *im)
{
    ink k = { 0, 0, 0, W, H, -1, -1 };
    double sx = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t *p = im->px[y][x];
            if (!is_ink(p)) continue;
            k.n++;
            if (is_colour(p)) k.colour++;
            sx += x;
            if (x < k.x0) k.x0 = x;
            if (x > k.x1) k.x1 = x;
            if (y < k.y0) k.y0 = y;
            if (y > k.y1) k.y1 = y;
        }
    k.cx = k.n ? sx / (double)k.n : -1;
    return k;
}

/* Fraction of a's ink pixels that are also ink in b. */
static double overlap(const img *a, const img *b)
{
    long na = 0, both = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (!is_ink(a->px[y][x])) continue;
            na++;
            if (is_ink(b->px[y][x])) both++;
        }
    return na ? (double)both / (double)na : 0;
}

static img *img_new(void)
{
    img *im = calloc(1, sizeof *im);
    assert_non_null(im);
    return im;
}

/* Ink present, and all of it where the element was placed: "x":10, "y":20,
 * "baseline":"top", sizes up to 48 px (a line is under 60 px tall). */
static void assert_ink_in_box(const char *what, const img *im, long min_ink)
{
    ink k = measure(im);
    if (k.n < min_ink) fail_msg("%s: only %ld ink pixels (want >= %ld)", what, k.n, min_ink);
    if (k.x0 < 8 || k.y0 < 15 || k.y1 > 20 + 60 || k.x1 >= W - 2)
        fail_msg("%s: ink at x %d..%d, y %d..%d, outside the text's box", what, k.x0, k.x1,
                 k.y0, k.y1);
}

/* ---- tests -------------------------------------------------------------- */

/* Every script the spec names has a glyph for every character in the
 * default font (with fontconfig fallback) and in a bold variant. */
static void test_fonts_cover_scripts(void **state)
{
    (void)state;
    const char *fonts[] = { "DejaVu Sans", "DejaVu Sans Bold", "DejaVu Serif" };
    for (size_t i = 0; i < sizeof fonts / sizeof fonts[0]; i++) {
        require_covered("Latin", fonts[i], LATIN);
        require_covered("Arabic", fonts[i], ARABIC);
        require_covered("Chinese", fonts[i], CHINESE);
        require_covered("Japanese kana", fonts[i], JAPANESE);
        require_covered("Korean Hangul", fonts[i], KOREAN);
        require_covered("emoji", fonts[i], EMOJI);
    }
    /* The emoji come from a colour font, not a monochrome fallback. */
    probe p;
    probe_open(&p, "DejaVu Sans", 32, EMOJI);
    int n = colour_runs(p.layout);
    probe_close(&p);
    if (n < 1)
        fail_msg("emoji are not drawn from a colour font (Noto Color Emoji); %s", INSTALL_HINT);
}

/* The missing-glyph signal works: a character no font has (plane 16
 * private use) counts as unknown and draws a box. Without this the
 * coverage test above could not fail. */
static void test_missing_glyph_is_detected(void **state)
{
    (void)state;
    const char *pua = "\xf4\x8f\xbf\xbd";   /* U+10FFFD */
    probe p;
    probe_open(&p, "DejaVu Sans", 32, pua);
    assert_int_equal(pango_layout_get_unknown_glyphs_count(p.layout), 1);
    probe_close(&p);
    img *im = img_new();
    render_text(im, pua, "\"x\":10,\"y\":20,\"size\":40,\"baseline\":\"top\"");
    assert_true(measure(im).n > 50);   /* the hex box */
    free(im);
}

/* Ligatures: "ffi" in DejaVu Sans is one glyph. Kerning: "AV" is narrower
 * than "A" and "V" side by side. */
static void test_ligature_and_kerning(void **state)
{
    (void)state;
    probe p;
    probe_open(&p, "DejaVu Sans", 48, "office");
    int g = glyph_count(p.layout);
    probe_close(&p);
    assert_true(g > 0 && g < 6);
    int av = text_width("DejaVu Sans", "AV");
    int a = text_width("DejaVu Sans", "A"), v = text_width("DejaVu Sans", "V");
    assert_true(av < a + v - PANGO_SCALE);   /* kerned by over a pixel at 48 px */

    img *im = img_new();
    render_text(im, "office", "\"x\":10,\"y\":20,\"size\":40,\"baseline\":\"top\"");
    assert_ink_in_box("Latin", im, 300);
    assert_int_equal(measure(im).colour, 0);   /* white text stays grey-scale */
    free(im);
}

/* Right-to-left: the first logical word of an Arabic string is drawn at
 * the right end. Right-aligned at the same x, the first word alone lands
 * on the full string's ink; left-aligned it does not. Latin is the
 * opposite, which shows the check can tell the two apart. */
static void test_arabic_right_to_left(void **state)
{
    (void)state;
    probe p;
    probe_open(&p, "DejaVu Sans", 40, ARABIC);
    PangoRectangle first, lg;
    pango_layout_index_to_pos(p.layout, 0, &first);
    pango_layout_get_extents(p.layout, NULL, &lg);
    assert_int_equal(pango_layout_get_unknown_glyphs_count(p.layout), 0);
    probe_close(&p);
    /* Index 0's cursor is on the right half of the line. */
    assert_true(first.x > lg.x + lg.width / 2);

    img *full = img_new(), *word = img_new();
    const char *right = "\"x\":300,\"y\":20,\"size\":40,\"baseline\":\"top\",\"align\":\"right\"";
    const char *left = "\"x\":10,\"y\":20,\"size\":40,\"baseline\":\"top\"";

    render_text(full, ARABIC, right);
    assert_true(measure(full).n > 300);
    assert_int_equal(measure(full).colour, 0);
    render_text(word, ARABIC_WORD1, right);
    ink kf = measure(full), kw = measure(word);
    assert_true(kw.cx > kf.cx);
    assert_true(overlap(word, full) > 0.9);

    render_text(full, ARABIC, left);
    render_text(word, ARABIC_WORD1, left);
    assert_true(overlap(word, full) < 0.6);

    /* Latin control: the first word is on the left. */
    render_text(full, "Hello world", left);
    render_text(word, "Hello", left);
    assert_true(overlap(word, full) > 0.9);
    render_text(full, "Hello world", right);
    render_text(word, "Hello", right);
    assert_true(overlap(word, full) < 0.6);
    free(full);
    free(word);
}

/* CJK draws real glyphs (not boxes) in the text's box; the ideographs are
 * dense, so they have far more ink than a row of hex boxes would. */
static void test_cjk_renders(void **state)
{
    (void)state;
    const char *tests[] = { CHINESE, JAPANESE, KOREAN };
    img *im = img_new();
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        require_covered("CJK", "DejaVu Sans", tests[i]);
        render_text(im, tests[i], "\"x\":10,\"y\":20,\"size\":32,\"baseline\":\"top\"");
        assert_ink_in_box(tests[i], im, 400);
        assert_int_equal(measure(im).colour, 0);
    }
    free(im);
}

/* Colour emoji: drawn in colour whatever the fill (Cairo paints colour
 * bitmaps untinted), and faded by the element's opacity like any text. */
static void test_emoji_colour_and_opacity(void **state)
{
    (void)state;
    const char *pos = "\"x\":10,\"y\":20,\"size\":48,\"baseline\":\"top\"";
    char extra[256];
    img *white = img_new(), *im = img_new();

    render_text(white, GRIN, pos);
    ink kw = measure(white);
    if (kw.colour < kw.n / 2)
        fail_msg("emoji drew %ld colour pixels of %ld ink: not a colour font; %s", kw.colour,
                 kw.n, INSTALL_HINT);
    assert_ink_in_box("emoji", white, 800);
    /* Mostly yellow: red and green well above blue. */
    long yellow = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t *p = white->px[y][x];
            if (p[2] > 180 && p[1] > 120 && p[0] < 100) yellow++;
        }
    assert_true(yellow > kw.n / 3);

    /* Not tinted by the fill. */
    snprintf(extra, sizeof extra, "%s,\"fill\":\"#0000ff\"", pos);
    render_text(im, GRIN, extra);
    assert_memory_equal(im, white, sizeof *im);

    /* Opacity and a translucent fill fade the emoji. */
    const char *fades[] = { "\"opacity\":0.5", "\"fill\":\"rgba(255,255,255,0.5)\"" };
    for (size_t f = 0; f < 2; f++) {
        snprintf(extra, sizeof extra, "%s,%s", pos, fades[f]);
        render_text(im, GRIN, extra);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int ch = 0; ch < 3; ch++) {
                    int want = white->px[y][x][ch] / 2;
                    int got = im->px[y][x][ch];
                    if (got < want - 2 || got > want + 2)
                        fail_msg("%s: pixel (%d,%d) channel %d is %d, want %d +- 2", fades[f],
                                 x, y, ch, got, want);
                }
    }
    free(white);
    free(im);
}

/* Mixed scripts in one string, with the transforms, stroke and bold that
 * text can have: every part draws, emoji keep their colour, nothing puts
 * the renderer into an error state. */
static void test_mixed_scripts(void **state)
{
    (void)state;
    char text[256];
    snprintf(text, sizeof text, "Hi %s %s %s", CHINESE, ARABIC_WORD1, GRIN);
    require_covered("mixed", "DejaVu Sans Bold", text);
    const char *variants[] = {
        "\"font\":\"DejaVu Sans Bold\"",
        "\"rotation\":20",
        "\"scale\":[1.5,0.75]",
        "\"stroke\":\"#ff0000\",\"stroke_width\":1",
        "\"stroke\":\"#ff0000\",\"stroke_width\":1,\"opacity\":0.5",
    };
    img *im = img_new();
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char extra[256];
        snprintf(extra, sizeof extra,
                 "\"x\":160,\"y\":60,\"size\":28,\"align\":\"center\",\"baseline\":\"middle\",%s",
                 variants[i]);
        render_text(im, text, extra);
        ink k = measure(im);
        if (k.n < 600) fail_msg("%s: only %ld ink pixels", variants[i], k.n);
        long colour = 0;   /* the emoji's yellow, not the red stroke */
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                const uint8_t *p = im->px[y][x];
                if (p[2] > 90 && p[1] > 60 && p[0] < p[1] / 2) colour++;
            }
        if (colour < 100) fail_msg("%s: emoji lost its colour (%ld pixels); %s", variants[i], colour, INSTALL_HINT);
    }
    free(im);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fonts_cover_scripts),
        cmocka_unit_test(test_missing_glyph_is_detected),
        cmocka_unit_test(test_ligature_and_kerning),
        cmocka_unit_test(test_arabic_right_to_left),
        cmocka_unit_test(test_cjk_renders),
        cmocka_unit_test(test_emoji_colour_and_opacity),
        cmocka_unit_test(test_mixed_scripts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
