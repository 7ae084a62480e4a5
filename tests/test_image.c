/*
 * tests/test_image.c - the image element end to end: PNGs made here (by
 * Cairo, and by a minimal PNG writer below for the grey, palette, 1-bit and
 * 16-bit layouts Cairo never writes) and JPEGs made by libavcodec's mjpeg
 * encoder are base64'd into data: URIs, parsed and drawn by kn_renderer,
 * and the pixels checked: exactly at 1:1 and 2:1 scale, within JPEG's
 * tolerance otherwise. Every bad src is a 400 at /elements/N/src, an image
 * over the document's memory limit a 413, and randomly damaged files never
 * crash (run under ASan by the sanitizer build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/doc.h"
#include "media/image.h"
#include "render/render.h"

/* ---- building inputs ------------------------------------------------------ */

typedef struct buf {
    uint8_t *d;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
        assert_non_null(b->d);
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static char *base64(const uint8_t *d, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc(4 * ((n + 2) / 3) + 1), *w = o;
    assert_non_null(o);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        *w++ = A[v >> 18 & 63];
        *w++ = A[v >> 12 & 63];
        *w++ = i + 1 < n ? A[v >> 6 & 63] : '=';
        *w++ = i + 2 < n ? A[v & 63] : '=';
    }
    *w = '\0';
    return o;
}

static char *data_uri(const char *type, const uint8_t *d, size_t n)
{
    char *b = base64(d, n);
    size_t len = strlen(b) + 64;
    char *u = malloc(len);
    assert_non_null(u);
    snprintf(u, len, "data:%s;base64,%s", type, b);
    free(b);
    return u;
}

static cairo_status_t png_sink(void *closure, const unsigned char *data, unsigned int len)
{
    put(closure, data, len);
    return CAIRO_STATUS_SUCCESS;
}

/* w x h quadrants: red, green / blue, yellow at alpha 0.5 (Cairo writes the
 * un-premultiplied (255, 255, 0, 128)). */
static buf quadrant_png(int w, int h)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    double q[4][4] = { { 1, 0, 0, 1 }, { 0, 1, 0, 1 }, { 0, 0, 1, 1 }, { 1, 1, 0, 128 / 255.0 } };
    for (int k = 0; k < 4; k++) {
        cairo_set_source_rgba(cr, q[k][0], q[k][1], q[k][2], q[k][3]);
        cairo_rectangle(cr, (k & 1) * w / 2, (k >> 1) * h / 2, w / 2, h / 2);
        cairo_fill(cr);
    }
    cairo_destroy(cr);
    buf b = { 0 };
    assert_int_equal(cairo_surface_write_to_png_stream(s, png_sink, &b), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(s);
    return b;
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static void be32put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void chunk(buf *b, const char *type, const uint8_t *d, size_t n)
{
    uint8_t hdr[8];
    be32put(hdr, (uint32_t)n);
    memcpy(hdr + 4, type, 4);
    put(b, hdr, 8);
    if (n) put(b, d, n);
    uint8_t *t = malloc(n + 4);
    assert_non_null(t);
    memcpy(t, type, 4);
    if (n) memcpy(t + 4, d, n);
    uint8_t crc[4];
    be32put(crc, crc32_png(t, n + 4));
    free(t);
    put(b, crc, 4);
}

/* A PNG of h rows of rowbytes each (filter 0), deflated as stored blocks. */
static buf make_png(int w, int h, int depth, int ctype, const uint8_t *rows, size_t rowbytes,
                    const uint8_t *plte, size_t nplte, const uint8_t *trns, size_t ntrns)
{
    buf b = { 0 };
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    put(&b, sig, 8);
    uint8_t ihdr[13] = { 0 };
    be32put(ihdr, (uint32_t)w);
    be32put(ihdr + 4, (uint32_t)h);
    ihdr[8] = (uint8_t)depth;
    ihdr[9] = (uint8_t)ctype;
    chunk(&b, "IHDR", ihdr, 13);
    if (plte) chunk(&b, "PLTE", plte, nplte);
    if (trns) chunk(&b, "tRNS", trns, ntrns);
    buf raw = { 0 };
    for (int y = 0; y < h; y++) {
        uint8_t f = 0;
        put(&raw, &f, 1);
        put(&raw, rows + (size_t)y * rowbytes, rowbytes);
    }
    assert_true(raw.n < 65535);
    buf z = { 0 };
    uint8_t zh[2] = { 0x78, 0x01 }, blk[5] = { 1, (uint8_t)raw.n, (uint8_t)(raw.n >> 8),
                                               (uint8_t)~raw.n, (uint8_t)(~raw.n >> 8) };
    put(&z, zh, 2);
    put(&z, blk, 5);
    put(&z, raw.d, raw.n);
    uint32_t a = 1, s = 0;
    for (size_t i = 0; i < raw.n; i++) {
        a = (a + raw.d[i]) % 65521;
        s = (s + a) % 65521;
    }
    uint8_t ad[4];
    be32put(ad, s << 16 | a);
    put(&z, ad, 4);
    chunk(&b, "IDAT", z.d, z.n);
    chunk(&b, "IEND", NULL, 0);
    free(raw.d);
    free(z.d);
    return b;
}

/* Rewrites every chunk's CRC (so damage gets past the CRC check into the
 * decoder proper). */
static void fix_crcs(uint8_t *d, size_t n)
{
    size_t i = 8;
    while (i + 12 <= n) {
        uint32_t len = (uint32_t)d[i] << 24 | (uint32_t)d[i + 1] << 16 | (uint32_t)d[i + 2] << 8 | d[i + 3];
        if (len > n - i - 12) return;
        be32put(d + i + 8 + len, crc32_png(d + i + 4, len + 4));
        i += 12 + len;
    }
}

/* A w x h JPEG of four solid quadrants (rgb[4][3]) in pixel format pf. */
static buf make_jpeg(int w, int h, enum AVPixelFormat pf, const int rgb[4][3])
{
    const AVCodec *c = avcodec_find_encoder_by_name("mjpeg");
    assert_non_null(c);
    AVCodecContext *ctx = avcodec_alloc_context3(c);
    assert_non_null(ctx);
    ctx->width = w;
    ctx->height = h;
    ctx->pix_fmt = pf;
    ctx->time_base = (AVRational){ 1, 25 };
    ctx->color_range = AVCOL_RANGE_JPEG;
    ctx->flags |= AV_CODEC_FLAG_QSCALE;
    ctx->global_quality = FF_QP2LAMBDA * 1;
    assert_int_equal(avcodec_open2(ctx, c, NULL), 0);
    AVFrame *f = av_frame_alloc();
    f->format = pf;
    f->width = w;
    f->height = h;
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    int cw = pf == AV_PIX_FMT_YUVJ444P ? 0 : 1, ch = pf == AV_PIX_FMT_YUVJ420P ? 1 : 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int *q = rgb[(y >= h / 2) * 2 + (x >= w / 2)];
            double Y = 0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2];
            double U = 128 - 0.168736 * q[0] - 0.331264 * q[1] + 0.5 * q[2];
            double V = 128 + 0.5 * q[0] - 0.418688 * q[1] - 0.081312 * q[2];
            f->data[0][y * f->linesize[0] + x] = (uint8_t)(Y + 0.5);
            if (!(x & ((1 << cw) - 1)) && !(y & ((1 << ch) - 1))) {
                f->data[1][(y >> ch) * f->linesize[1] + (x >> cw)] = (uint8_t)(U + 0.5 > 255 ? 255 : U + 0.5);
                f->data[2][(y >> ch) * f->linesize[2] + (x >> cw)] = (uint8_t)(V + 0.5 > 255 ? 255 : V + 0.5);
            }
        }
    f->quality = ctx->global_quality;
    f->pts = 0;
    assert_int_equal(avcodec_send_frame(ctx, f), 0);
    assert_int_equal(avcodec_send_frame(ctx, NULL), 0);
    AVPacket *pkt = av_packet_alloc();
    assert_int_equal(avcodec_receive_packet(ctx, pkt), 0);
    buf b = { 0 };
    put(&b, pkt->data, (size_t)pkt->size);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&ctx);
    return b;
}

/* ---- documents --------------------------------------------------------------- */

/* printf into a malloc'ed string, ' becoming ". */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    for (char *c = s; *c; c++)
        if (*c == '\'') *c = '"';
    return s;
}

static kn_renderer *render(const char *doc, long frame)
{
    kn_renderer *r = NULL;
    kn_err err;
    if (kn_renderer_create(doc, strlen(doc), &r, &err) != KN_OK) fail_msg("%s: %s", err.path, err.msg);
    assert_int_equal(kn_renderer_draw(r, frame, &err), KN_OK);
    return r;
}

static void px(kn_renderer *r, int x, int y, int out[3])
{
    kn_canvas *c = kn_renderer_canvas(r);
    const uint8_t *p = kn_canvas_data(c) + (size_t)y * (size_t)kn_canvas_stride(c) + 4 * (size_t)x;
    out[0] = p[2];
    out[1] = p[1];
    out[2] = p[0];
}

static void expect(kn_renderer *r, int x, int y, int er, int eg, int eb, int tol)
{
    int p[3];
    px(r, x, y, p);
    if (abs(p[0] - er) > tol || abs(p[1] - eg) > tol || abs(p[2] - eb) > tol)
        fail_msg("pixel (%d, %d) is %d,%d,%d; expected %d,%d,%d (+-%d)", x, y, p[0], p[1], p[2], er,
                 eg, eb, tol);
}

#define HEAD "{'width': 32, 'height': 32, 'fps': 1, 'duration': 1, 'background': '#000000', "

/* ---- pixels ------------------------------------------------------------------ */

static void test_png_scaled(void **state)
{
    (void)state;
    buf png = quadrant_png(8, 8);
    char *u = data_uri("image/png", png.d, png.n);
    char *doc = fmt(HEAD "'elements': ["
                    "{'type': 'image', 'x': 0, 'y': 0, 'width': 8, 'height': 8, 'src': '%s'},"
                    "{'type': 'image', 'x': 16, 'y': 0, 'width': 16, 'height': 16, 'src': '%s'},"
                    "{'type': 'image', 'x': 0, 'y': 16, 'width': 8, 'height': 8, 'opacity': 0.5, "
                    "'src': '%s'},"
                    "{'type': 'image', 'x': 16, 'y': 16, 'width': 16, 'height': 16, 'rotation': 90, "
                    "'src': '%s'}]}", u, u, u, u);
    kn_renderer *r = render(doc, 0);
    /* 1:1, exact, edges included */
    expect(r, 2, 2, 255, 0, 0, 0);
    expect(r, 6, 2, 0, 255, 0, 0);
    expect(r, 2, 6, 0, 0, 255, 0);
    expect(r, 6, 6, 128, 128, 0, 0);
    expect(r, 0, 0, 255, 0, 0, 0);
    expect(r, 7, 7, 128, 128, 0, 0);
    expect(r, 8, 0, 0, 0, 0, 0);
    expect(r, 0, 8, 0, 0, 0, 0);
    /* 2:1, exact at the quadrant centres */
    expect(r, 20, 4, 255, 0, 0, 0);
    expect(r, 28, 4, 0, 255, 0, 0);
    expect(r, 20, 12, 0, 0, 255, 0);
    expect(r, 28, 12, 128, 128, 0, 0);
    expect(r, 15, 4, 0, 0, 0, 0);
    /* opacity */
    expect(r, 2, 18, 128, 0, 0, 1);
    expect(r, 6, 22, 64, 64, 0, 1);
    /* turned 90 degrees clockwise about the box centre: red at top right */
    expect(r, 28, 20, 255, 0, 0, 0);
    expect(r, 28, 28, 0, 255, 0, 0);
    expect(r, 20, 20, 0, 0, 255, 0);
    expect(r, 20, 28, 128, 128, 0, 0);
    kn_renderer_destroy(r);

    const kn_doc *d = NULL;
    kn_doc *pd = NULL;
    kn_err err;
    assert_int_equal(kn_doc_parse(doc, strlen(doc), NULL, &pd, &err), KN_OK);
    d = pd;
    const kn_image *img = d->elements[0].image;
    assert_non_null(img);
    assert_int_equal(img->width, 8);
    assert_int_equal(img->height, 8);
    assert_string_equal(img->format, "png");
    assert_ptr_equal(d->elements[0].grad[0], NULL);
    kn_doc_destroy(pd);
    free(doc);
    free(u);
    free(png.d);
}

/* x, y, width and height are slots: they animate. */
static void test_animated_box(void **state)
{
    (void)state;
    buf png = quadrant_png(8, 8);
    char *u = data_uri("image/png", png.d, png.n);
    char *doc = fmt("{'width': 32, 'height': 16, 'fps': 1, 'duration': 2, 'background': '#000', "
                    "'elements': [{'id': 'im', 'type': 'image', 'width': 8, 'height': 8, 'src': '%s'}], "
                    "'timeline': {'tween': {'im.x': 16, 'im.width': 16, 'im.height': 16}, "
                    "'duration': 1}}", u);
    kn_renderer *r = render(doc, 0);
    expect(r, 2, 2, 255, 0, 0, 0);
    expect(r, 18, 2, 0, 0, 0, 0);
    assert_int_equal(kn_renderer_draw(r, 1, NULL), KN_OK);
    expect(r, 2, 2, 0, 0, 0, 0);
    expect(r, 20, 4, 255, 0, 0, 0);
    expect(r, 28, 12, 128, 128, 0, 0);
    kn_renderer_destroy(r);
    free(doc);
    free(u);
    free(png.d);
}

/* The PNG layouts Cairo does not write, each 4 x 1, drawn 1:1 over black:
 * the canvas holds the premultiplied colour. */
static void test_png_layouts(void **state)
{
    (void)state;
    static const uint8_t gray8[] = { 0, 100, 200, 255 };
    static const uint8_t graya8[] = { 255, 255, 200, 128, 100, 0, 50, 255 };
    static const uint8_t pal[] = { 2, 1, 0, 3 };
    static const uint8_t plte[] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30 };
    static const uint8_t trns[] = { 255, 128, 0 };   /* entry 3 has none: opaque */
    static const uint8_t rgb16[] = { 0xff, 0x01, 0, 0, 0, 0,  0, 0, 0x80, 0xff, 0, 0,
                                     0, 0, 0, 0, 0x12, 0x34,  0xab, 0xcd, 0xab, 0xcd, 0xab, 0xcd };
    static const uint8_t rgba16[] = { 0xff, 0, 0, 0, 0, 0, 0xff, 0xff,  0, 0, 0xff, 0xff, 0, 0, 0x80, 0,
                                      0, 0, 0, 0, 0xff, 0xff, 0, 0,  0x40, 0, 0x40, 0, 0x40, 0, 0xff, 0xff };
    static const uint8_t gray1[] = { 0xa0 };          /* 1 0 1 0 */
    static const uint8_t gray16[] = { 0, 0, 0x7f, 0xff, 0xc8, 0x00, 0xff, 0xff };
    static const struct {
        const char *name;
        int depth, ctype;
        const uint8_t *rows;
        size_t rowbytes;
        const uint8_t *plte, *trns;
        size_t nplte, ntrns;
        int want[4][3];
    } cases[] = {
        { "gray8", 8, 0, gray8, 4, NULL, NULL, 0, 0,
          { { 0, 0, 0 }, { 100, 100, 100 }, { 200, 200, 200 }, { 255, 255, 255 } } },
        { "gray+alpha", 8, 4, graya8, 8, NULL, NULL, 0, 0,
          { { 255, 255, 255 }, { 100, 100, 100 }, { 0, 0, 0 }, { 50, 50, 50 } } },
        { "palette+tRNS", 8, 3, pal, 4, plte, trns, sizeof plte, sizeof trns,
          { { 0, 0, 0 }, { 0, 128, 0 }, { 255, 0, 0 }, { 10, 20, 30 } } },
        { "rgb16", 16, 2, rgb16, 24, NULL, NULL, 0, 0,
          { { 255, 0, 0 }, { 0, 128, 0 }, { 0, 0, 0x12 }, { 0xab, 0xab, 0xab } } },
        { "rgba16", 16, 6, rgba16, 32, NULL, NULL, 0, 0,
          { { 255, 0, 0 }, { 0, 128, 0 }, { 0, 0, 0 }, { 0x40, 0x40, 0x40 } } },
        { "gray1", 1, 0, gray1, 1, NULL, NULL, 0, 0,
          { { 255, 255, 255 }, { 0, 0, 0 }, { 255, 255, 255 }, { 0, 0, 0 } } },
        { "gray16", 16, 0, gray16, 8, NULL, NULL, 0, 0,
          { { 0, 0, 0 }, { 0x7f, 0x7f, 0x7f }, { 0xc8, 0xc8, 0xc8 }, { 255, 255, 255 } } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf png = make_png(4, 1, cases[i].depth, cases[i].ctype, cases[i].rows, cases[i].rowbytes,
                           cases[i].plte, cases[i].nplte, cases[i].trns, cases[i].ntrns);
        char *u = data_uri("image/png", png.d, png.n);
        char *doc = fmt(HEAD "'elements': [{'type': 'image', 'width': 4, 'height': 1, 'src': '%s'}]}", u);
        kn_renderer *r = NULL;
        kn_err err;
        if (kn_renderer_create(doc, strlen(doc), &r, &err) != KN_OK)
            fail_msg("%s: %s: %s", cases[i].name, err.path, err.msg);
        assert_int_equal(kn_renderer_draw(r, 0, &err), KN_OK);
        for (int x = 0; x < 4; x++) {
            int p[3];
            px(r, x, 0, p);
            const int *w = cases[i].want[x];
            if (abs(p[0] - w[0]) > 1 || abs(p[1] - w[1]) > 1 || abs(p[2] - w[2]) > 1)
                fail_msg("%s pixel %d: %d,%d,%d, expected %d,%d,%d", cases[i].name, x, p[0], p[1],
                         p[2], w[0], w[1], w[2]);
        }
        kn_renderer_destroy(r);
        free(doc);
        free(u);
        free(png.d);
    }
}

static void test_jpeg(void **state)
{
    (void)state;
    static const int q[4][3] = { { 255, 0, 0 }, { 0, 200, 0 }, { 0, 0, 255 }, { 128, 128, 128 } };
    static const enum AVPixelFormat fmts[] = { AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P,
                                               AV_PIX_FMT_YUVJ444P };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        buf jpg = make_jpeg(32, 32, fmts[i], q);
        char *u = data_uri("image/jpeg", jpg.d, jpg.n);
        char *doc = fmt(HEAD "'elements': [{'type': 'image', 'width': 32, 'height': 32, "
                        "'src': '%s'}]}", u);
        kn_renderer *r = render(doc, 0);
        for (int k = 0; k < 4; k++)
            expect(r, 4 + (k & 1) * 16 + 4, 4 + (k >> 1) * 16 + 4, q[k][0], q[k][1], q[k][2], 8);
        kn_renderer_destroy(r);

        kn_doc *d = NULL;
        kn_err err;
        assert_int_equal(kn_doc_parse(doc, strlen(doc), NULL, &d, &err), KN_OK);
        assert_string_equal(d->elements[0].image->format, "jpeg");
        kn_doc_destroy(d);
        free(doc);
        free(u);
        free(jpg.d);
    }
}

/* ---- errors ------------------------------------------------------------------- */

static void expect_error(const char *src_json, int code, const char *path, const char *msg)
{
    char *doc = fmt(HEAD "'elements': [{'type': 'rect', 'width': 1, 'height': 1}, "
                    "{'type': 'image', 'width': 4, 'height': 4, 'src': %s}]}", src_json);
    kn_doc *d = NULL;
    kn_err err;
    int rc = kn_doc_parse(doc, strlen(doc), NULL, &d, &err);
    if (rc != code || strcmp(err.path, path) || (msg && !strstr(err.msg, msg)))
        fail_msg("src %.80s\n  gave %d at \"%s\": %s\n  expected %d at \"%s\" with \"%s\"", src_json,
                 rc, err.path, err.msg, code, path, msg ? msg : "");
    assert_null(d);
    free(doc);
}

static void expect_bad_bytes(const char *type, const uint8_t *d, size_t n, const char *msg)
{
    char *u = data_uri(type, d, n);
    char *q = fmt("'%s'", u);
    expect_error(q, KN_EINVAL, "/elements/1/src", msg);
    free(q);
    free(u);
}

static void test_errors(void **state)
{
    (void)state;
    const char *P = "/elements/1/src";
    /* the URI and the base64 */
    expect_error("'data:image/png;base64,iVBO*w=='", KN_EINVAL, P,
                 "invalid base64 at column 27: '*' is not a base64 character");
    expect_error("'data:image/png;base64,iVBORw0'", KN_EINVAL, P, "not a multiple of 4");
    expect_error("'data:image/png;base64,iVBO Rw0K'", KN_EINVAL, P, "column 27: byte 0x20");
    expect_error("'data:image/png;base64,iV=ORw0K'", KN_EINVAL, P, "'=' padding may only end");
    expect_error("'data:text/plain;base64,aGVsbG8='", KN_EINVAL, P,
                 "unsupported image type \"text/plain\"");
    expect_error("'data:image/gif;base64,R0lGODlh'", KN_EINVAL, P, "\"image/gif\"");
    expect_error("'data:;base64,R0lGODlh'", KN_EINVAL, P, "\"(none)\"");
    expect_error("'data:image/png,abcd'", KN_EINVAL, P, "must be base64");
    expect_error("'data:image/png;base64'", KN_EINVAL, P, "no ','");
    expect_error("'data:image/png;base64,'", KN_EINVAL, P, "empty");
    expect_error("'http://example.com/a.png'", KN_EINVAL, P, "data: URI");
    expect_error("'iVBORw0KGgo='", KN_EINVAL, P, "data: URI");
    expect_error("5", KN_EINVAL, P, "expected a data: URI (a string), got a number");
    expect_error("'data:image/png;base64,aGVsbG8gd29ybGQh'", KN_EINVAL, P, "not a PNG image");
    expect_error("'data:image/jpeg;base64,aGVsbG8gd29ybGQh'", KN_EINVAL, P, "not a JPEG image");

    /* the bytes */
    buf png = quadrant_png(8, 8);
    expect_bad_bytes("image/jpeg", png.d, png.n, "is a PNG image but the URI says image/jpeg");
    expect_bad_bytes("image/png", png.d, png.n / 2, "corrupt or unsupported PNG");
    uint8_t *bad = malloc(png.n);
    memcpy(bad, png.d, png.n);
    bad[png.n - 20] ^= 0x55;                    /* inside IDAT: the CRC no longer matches */
    expect_bad_bytes("image/png", bad, png.n, "corrupt or unsupported PNG");
    memcpy(bad, png.d, png.n);
    memset(bad + 8, 0, 8);                      /* no IHDR */
    expect_bad_bytes("image/png", bad, png.n, "no IHDR");
    free(bad);

    /* a header that claims 10000 x 10000 is refused before any decoding */
    static const uint8_t hdr10k[1] = { 0 };
    buf big = make_png(1, 1, 8, 0, hdr10k, 1, NULL, 0, NULL, 0);
    be32put(big.d + 16, 10000);
    be32put(big.d + 20, 10000);
    fix_crcs(big.d, big.n);
    expect_bad_bytes("image/png", big.d, big.n, "image 10000x10000 is over the 8192x8192 limit");
    be32put(big.d + 16, 0);
    fix_crcs(big.d, big.n);
    expect_bad_bytes("image/png", big.d, big.n, "size of 0x10000");
    free(big.d);

    static const int q[4][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 9, 9, 9 } };
    buf jpg = make_jpeg(32, 32, AV_PIX_FMT_YUVJ420P, q);
    expect_bad_bytes("image/jpeg", jpg.d, jpg.n - 30, "corrupt or unsupported JPEG");
    expect_bad_bytes("image/jpeg", jpg.d, 100, "corrupt JPEG: no frame header");
    expect_bad_bytes("image/png", jpg.d, jpg.n, "is a JPEG image but the URI says image/png");
    static const uint8_t junk[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0x12, 0x34 };
    expect_bad_bytes("image/jpeg", junk, sizeof junk, "no frame header");
    /* SOF with a 9000 px width */
    uint8_t *j2 = malloc(jpg.n);
    memcpy(j2, jpg.d, jpg.n);
    for (size_t i = 2; i + 9 < jpg.n; i++)
        if (j2[i] == 0xff && j2[i + 1] == 0xc0) {
            j2[i + 7] = 9000 >> 8;
            j2[i + 8] = 9000 & 255;
            break;
        }
    expect_bad_bytes("image/jpeg", j2, jpg.n, "image 9000x32 is over the 8192x8192 limit");
    free(j2);
    free(jpg.d);

    /* the element */
    char *u = data_uri("image/png", png.d, png.n);
    struct { const char *el, *path, *msg; } els[] = {
        { "{'type': 'image', 'width': 4, 'height': 4}", "/elements/0/src",
          "missing field \"src\": an image needs" },
        { "{'type': 'image', 'height': 4, 'src': '%s'}", "/elements/0/width",
          "missing field \"width\": an image needs it" },
        { "{'type': 'image', 'width': 4, 'height': 4, 'fill': 'red', 'src': '%s'}",
          "/elements/0/fill", "an image has no paint of its own, so no \"fill\"" },
        { "{'type': 'image', 'width': -4, 'height': 4, 'src': '%s'}", "/elements/0/width", ">= 0" },
    };
    for (size_t i = 0; i < sizeof els / sizeof els[0]; i++) {
        char *el = fmt(els[i].el, u);
        char *doc = fmt(HEAD "'elements': [%s]}", el);
        kn_doc *d = NULL;
        kn_err err;
        int rc = kn_doc_parse(doc, strlen(doc), NULL, &d, &err);
        if (rc != KN_EINVAL || strcmp(err.path, els[i].path) || !strstr(err.msg, els[i].msg))
            fail_msg("case %zu gave %d at \"%s\": %s", i, rc, err.path, err.msg);
        free(el);
        free(doc);
    }
    free(u);
    free(png.d);
}

/* Decoded pixels count against the document's memory limit (413), and the
 * limit is checked from the header, before decoding. */
static void test_memory_limit(void **state)
{
    (void)state;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1000, 1000);
    buf png = { 0 };
    assert_int_equal(cairo_surface_write_to_png_stream(s, png_sink, &png), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(s);
    char *u = data_uri("image/png", png.d, png.n);
    char *doc = fmt(HEAD "'elements': [{'type': 'image', 'width': 4, 'height': 4, 'src': '%s'}, "
                    "{'type': 'image', 'width': 4, 'height': 4, 'src': '%s'}]}", u, u);
    kn_doc_limits lim;
    kn_doc_limits_default(&lim);
    lim.max_bytes = 6u << 20;      /* room for one 4 MB image, not two */
    kn_doc *d = NULL;
    kn_err err;
    assert_int_equal(kn_doc_parse(doc, strlen(doc), &lim, &d, &err), KN_ETOOBIG);
    assert_string_equal(err.path, "/elements/1/src");
    assert_non_null(strstr(err.msg, "the 1000x1000 image needs 4000"));
    assert_non_null(strstr(err.msg, "memory limit"));
    lim.max_bytes = 12u << 20;
    assert_int_equal(kn_doc_parse(doc, strlen(doc), &lim, &d, &err), KN_OK);
    assert_int_equal(d->elements[1].image->width, 1000);
    kn_doc_destroy(d);
    free(doc);
    free(u);
    free(png.d);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Damaged files: every outcome is a clean parse or a 400, never a crash,
 * a leak or a read out of bounds (ASan in the sanitizer build). */
static void test_damaged_files(void **state)
{
    (void)state;
    static const int q[4][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 9, 9, 9 } };
    buf src[2] = { quadrant_png(16, 16), make_jpeg(32, 32, AV_PIX_FMT_YUVJ420P, q) };
    const char *type[2] = { "image/png", "image/jpeg" };
    uint32_t rnd = 12345;
#define RND() lcg(&rnd)
    int ok = 0, bad = 0;
    for (int it = 0; it < 400; it++) {
        int k = it & 1;
        size_t n = src[k].n;
        uint8_t *d = malloc(n);
        memcpy(d, src[k].d, n);
        int mode = (int)(RND() % 3);
        if (mode == 0) {
            n = 1 + RND() % n;                               /* truncated */
        } else {
            int m = 1 + (int)(RND() % 6);
            for (int i = 0; i < m; i++) {
                size_t at = 8 + RND() % (n - 8);
                d[at] = (uint8_t)RND();
            }
        }
        if (k == 0 && mode == 2) fix_crcs(d, n);
        char *u = data_uri(type[k], d, n);
        char *doc = fmt(HEAD "'elements': [{'type': 'image', 'width': 32, 'height': 32, "
                        "'src': '%s'}]}", u);
        kn_renderer *r = NULL;
        kn_err err;
        int rc = kn_renderer_create(doc, strlen(doc), &r, &err);
        if (rc == KN_OK) {
            assert_int_equal(kn_renderer_draw(r, 0, &err), KN_OK);
            kn_renderer_destroy(r);
            ok++;
        } else {
            if (rc != KN_EINVAL || strcmp(err.path, "/elements/0/src"))
                fail_msg("iteration %d: %d at %s: %s", it, rc, err.path, err.msg);
            bad++;
        }
        free(doc);
        free(u);
        free(d);
    }
    print_message("damaged files: %d decoded, %d refused\n", ok, bad);
    assert_true(bad > 100);
    free(src[0].d);
    free(src[1].d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_scaled),
        cmocka_unit_test(test_animated_box),
        cmocka_unit_test(test_png_layouts),
        cmocka_unit_test(test_jpeg),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_damaged_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
