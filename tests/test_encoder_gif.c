/*
 * tests/test_encoder_gif.c - encode/encoder for GIF: the file is walked
 * block by block (independently of libavformat) for its size, frame
 * delays, loop count and palette, and read back with libavformat (packet
 * timestamps) and ffprobe; decoded colours are compared with the frames'
 * own RGB (libyuv I420ToARGB): exact for few colours, close on average
 * and in every 4x4 block when dithered, with unchanged regions left
 * unchanged from frame to frame. Covers NTSC and other rates' centisecond
 * delays, the palette contract, odd frame sizes (partial 2x2 chroma blocks
 * on the last column and row) and GIF's option rules.
 *
 * Frames and read-back checks shared with the other encoder tests:
 * tests/support/encframes.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libyuv.h>

#include "common/err.h"
#include "encode/encoder.h"
#include "tests/support/decode.h"
#include "tests/support/encframes.h"
#include "tests/support/testutil.h"

#define W TU_ENC_W
#define H TU_ENC_H

/* ---- gif ---------------------------------------------------------------- */

static kn_encoder_opts gif_opts(int fps_num, int fps_den)
{
    kn_encoder_opts o = {
        .width = W, .height = H, .fps_num = fps_num, .fps_den = fps_den,
        .format = KN_FORMAT_GIF, .codec = KN_CODEC_GIF, .encoder = KN_ENCODER_AUTO, .quality = 20,
    };
    return o;
}

/* What the spec of the GIF path promises: frame i starts at
 * round(i * 100 * den / num) centiseconds, halves up. */
static long cs_at(long i, long num, long den)
{
    return (i * 100 * den * 2 + num) / (2 * num);
}

typedef struct gif_walk {
    int width, height;
    int global_colors;         /* entries in the global colour table, 0 if none */
    long images;
    long delays[512];          /* GCE delay of each image, centiseconds */
    long ndelays;
    int loop;                  /* NETSCAPE2.0 repeat count, -1 if absent */
    int trailer;               /* ends with 0x3B */
} gif_walk;

static size_t skip_sub_blocks(const unsigned char *b, size_t len, size_t off)
{
    while (off < len && b[off]) off += 1 + b[off];
    assert_true(off < len);
    return off + 1;
}

/* Walks a GIF89a file's blocks (spec-gif89a.txt) without libav. */
static void walk_gif(const char *path, gif_walk *g)
{
    memset(g, 0, sizeof *g);
    g->loop = -1;
    size_t len = 0;
    unsigned char *b = (unsigned char *)tu_read_file(path, &len);
    assert_non_null(b);
    assert_true(len > 13);
    assert_memory_equal(b, "GIF89a", 6);
    g->width = b[6] | b[7] << 8;
    g->height = b[8] | b[9] << 8;
    size_t off = 13;
    if (b[10] & 0x80) {
        g->global_colors = 1 << ((b[10] & 7) + 1);
        off += 3 * (size_t)g->global_colors;
    }
    while (off < len) {
        unsigned char t = b[off];
        if (t == 0x3B) {
            g->trailer = off == len - 1;
            break;
        }
        if (t == 0x21) {
            assert_true(off + 2 < len);
            unsigned char label = b[off + 1];
            if (label == 0xF9) {
                assert_int_equal(b[off + 2], 4);
                if (g->ndelays < 512) g->delays[g->ndelays] = b[off + 4] | b[off + 5] << 8;
                g->ndelays++;
                off = skip_sub_blocks(b, len, off + 2);
            } else if (label == 0xFF && off + 14 < len && !memcmp(b + off + 3, "NETSCAPE2.0", 11)) {
                assert_int_equal(b[off + 14], 3);
                g->loop = b[off + 16] | b[off + 17] << 8;
                off = skip_sub_blocks(b, len, off + 14);
            } else {
                off = skip_sub_blocks(b, len, off + 2);
            }
        } else if (t == 0x2C) {
            assert_true(off + 10 < len);
            unsigned char flags = b[off + 9];
            off += 10;
            if (flags & 0x80) off += 3 * ((size_t)1 << ((flags & 7) + 1));
            off = skip_sub_blocks(b, len, off + 1);   /* LZW minimum code size, data */
            g->images++;
        } else {
            fail_msg("unexpected GIF block 0x%02x at byte %zu", t, off);
        }
    }
    free(b);
}

/* RGB of decoded pixel (x, y): the gif decoder gives BGRA (RGB32) in
 * FFmpeg 5.1; PAL8 is accepted too. */
static void px_rgb(const AVFrame *f, int x, int y, int rgb[3])
{
    const uint8_t *row = f->data[0] + (size_t)y * f->linesize[0];
    if (f->format == AV_PIX_FMT_BGRA) {
        rgb[0] = row[4 * x + 2];
        rgb[1] = row[4 * x + 1];
        rgb[2] = row[4 * x];
    } else if (f->format == AV_PIX_FMT_PAL8) {
        uint32_t c = ((const uint32_t *)f->data[1])[row[x]];
        rgb[0] = c >> 16 & 255;
        rgb[1] = c >> 8 & 255;
        rgb[2] = c & 255;
    } else {
        rgb[0] = rgb[1] = rgb[2] = -1;   /* fail_msg is not marked noreturn */
        fail_msg("unexpected decoded pixel format %s", av_get_pix_fmt_name(f->format));
    }
}

typedef void (*frame_fn)(void *ctx, long k, const AVFrame *f);

/* Decodes every frame of path, each of which must be w x h; returns how
 * many there were. The packets' pts (stream time base) go to pts[] when
 * given. */
static void pts_packet(void *ctx, long index, const AVPacket *pkt)
{
    int64_t *pts = ctx;
    if (index < 512) pts[index] = pkt->pts;
}

static long decode_all_wh(const char *path, int w, int h, frame_fn fn, void *ctx, int64_t *pts,
                          AVRational *tb)
{
    tu_video v;
    assert_int_equal(tu_video_open(&v, path, 1), 0);
    assert_int_equal(v.fc->nb_streams, 1);
    assert_string_equal(v.fc->iformat->name, "gif");
    assert_int_equal(v.st->codecpar->codec_id, AV_CODEC_ID_GIF);
    if (tb) *tb = v.st->time_base;
    if (pts) {
        v.on_packet = pts_packet;
        v.ctx = pts;
    }
    for (const AVFrame *fr; (fr = tu_video_next(&v));) {
        assert_int_equal(fr->width, w);
        assert_int_equal(fr->height, h);
        if (fn) fn(ctx, v.frames - 1, fr);
    }
    assert_int_equal(v.err, 0);
    assert_int_equal(v.packets, v.frames);
    long frames = v.frames;
    tu_video_close(&v);
    return frames;
}

static long decode_all(const char *path, frame_fn fn, void *ctx, int64_t *pts, AVRational *tb)
{
    return decode_all_wh(path, W, H, fn, ctx, pts, tb);
}

/* The RGB libyuv makes of one 2x2 block with these levels. */
static void levels_rgb(int y, int u, int v, int rgb[3])
{
    uint8_t yy[4] = {(uint8_t)y, (uint8_t)y, (uint8_t)y, (uint8_t)y}, uu = (uint8_t)u, vv = (uint8_t)v;
    uint8_t argb[16];
    assert_int_equal(I420ToARGB(yy, 2, &uu, 1, &vv, 1, argb, 8, 2, 2), 0);
    rgb[0] = argb[2];
    rgb[1] = argb[1];
    rgb[2] = argb[0];
}

/* The palette of n frames made by tu_frame_new. */
static kn_palette frames_palette(long n)
{
    kn_palette_hist *h = NULL;
    kn_err err;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    for (long i = 0; i < n; i++) {
        tu_frame *f = tu_frame_new(i, W, H, NULL);
        assert_int_equal(kn_palette_hist_add_i420(h, (const uint8_t *const *)f->data, f->stride, W, H,
                                                  &err), KN_OK);
        tu_frame_free(f);
    }
    kn_palette pal;
    assert_int_equal(kn_palette_build(h, KN_PALETTE_GIF_COLORS, &pal, &err), KN_OK);
    kn_palette_hist_destroy(h);
    return pal;
}

typedef struct flat_check {
    long bad;        /* frames with a pixel off by more than 1 */
} flat_check;

static void check_flat(void *ctx, long k, const AVFrame *f)
{
    flat_check *c = ctx;
    int want[3], got[3] = {0, 0, 0}, worst = 0;
    levels_rgb(tu_y_level(k), tu_u_level(k), tu_v_level(k), want);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            px_rgb(f, x, y, got);
            for (int a = 0; a < 3; a++)
                if (abs(got[a] - want[a]) > worst) worst = abs(got[a] - want[a]);
        }
    if (worst > 1) {
        print_message("gif frame %ld: off by %d from %d,%d,%d\n", k, worst, want[0], want[1], want[2]);
        c->bad++;
    }
}

/* Encodes tu_frame_new frames 0..n-1 as a gif at num/den; checks release. */
static void encode_gif(const char *path, kn_encoder_opts o, long n)
{
    kn_encoder *e = NULL;
    kn_err err;
    kn_err_clear(&err);
    if (kn_encoder_create(path, &o, &e, &err)) fail_msg("create: %s", err.msg);
    assert_string_equal(kn_encoder_name(e), "gif");
    kn_palette pal = frames_palette(n);
    assert_true(pal.n >= 1 && pal.n <= n);   /* flat frames: one colour each at most */
    assert_int_equal(kn_encoder_set_palette(e, &pal, &err), KN_OK);
    int *counts = calloc((size_t)n, sizeof *counts);
    for (long i = 0; i < n; i++) {
        tu_frame *f = tu_frame_new(i, W, H, counts);
        if (kn_encoder_push(e, i, f->data, f->stride, tu_frame_release, f, &err))
            fail_msg("push %ld: %s", i, err.msg);
        assert_int_equal(counts[i], 1);   /* gif copies: released before push returns */
    }
    assert_int_equal(kn_encoder_set_palette(e, &pal, &err), KN_EINVAL);   /* too late */
    if (kn_encoder_finish(e, &err)) fail_msg("finish: %s", err.msg);
    kn_encoder_destroy(e);
    for (long i = 0; i < n; i++) assert_int_equal(counts[i], 1);
    free(counts);
}

static void check_gif_timing(const char *path, long n, long num, long den)
{
    gif_walk g;
    walk_gif(path, &g);
    assert_int_equal(g.width, W);
    assert_int_equal(g.height, H);
    assert_int_equal(g.global_colors, 256);
    assert_int_equal(g.loop, 0);           /* forever */
    assert_true(g.trailer);
    assert_int_equal(g.images, n);
    assert_int_equal(g.ndelays, n);
    long total = 0;
    for (long i = 0; i < n && i < 512; i++) {
        long want = cs_at(i + 1, num, den) - cs_at(i, num, den);
        if (g.delays[i] != want) fail_msg("frame %ld: delay %ld cs, want %ld", i, g.delays[i], want);
        /* each within half a centisecond of 1/fps */
        assert_true(fabs((double)g.delays[i] - 100.0 * den / num) <= 1.0);
        total += g.delays[i];
    }
    assert_int_equal(total, cs_at(n, num, den));
    assert_true(fabs(total / 100.0 - (double)n * den / num) <= 0.005 + 1e-9);

    /* libavformat agrees: n packets starting where the delays say. */
    int64_t pts[512];
    AVRational tb;
    flat_check fc = {0};
    assert_int_equal(decode_all(path, check_flat, &fc, pts, &tb), n);
    assert_int_equal(fc.bad, 0);
    assert_int_equal(tb.num, 1);
    assert_int_equal(tb.den, 100);
    for (long i = 0; i < n && i < 512; i++) assert_int_equal(pts[i], cs_at(i, num, den));

    char *fp = tu_ffprobe(path);
    char line[64];
    tu_assert_has_line(fp, "codec_name=gif");
    tu_assert_has_line(fp, "format_name=gif");
    snprintf(line, sizeof line, "nb_read_packets=%ld", n);
    tu_assert_has_line(fp, line);
    free(fp);
}

/* 24 fps: delays 4,4,5,4,4,4 (4.1667 cs on average), 30 frames in 125 cs. */
static void test_gif_24fps(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "clip24.gif");
    encode_gif(path, gif_opts(24, 1), 30);
    check_gif_timing(path, 30, 24, 1);
}

/* NTSC 29.97: 3.3367 cs a frame; 31 frames end at round(103.43) = 103 cs.
 * The last frame's delay comes from final_delay, not from the one before. */
static void test_gif_ntsc(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "clip2997.gif");
    encode_gif(path, gif_opts(30000, 1001), 31);
    check_gif_timing(path, 31, 30000, 1001);
    /* 100 fps: every delay is 1 cs; 7 fps (14.29 cs): 14, 14, 15, ... */
    tu_out_path(path, sizeof path, "clip100.gif");
    encode_gif(path, gif_opts(100, 1), 5);
    check_gif_timing(path, 5, 100, 1);
    tu_out_path(path, sizeof path, "clip7.gif");
    encode_gif(path, gif_opts(7, 1), 9);
    check_gif_timing(path, 9, 7, 1);
    /* One frame: its delay is 1/fps too. */
    tu_out_path(path, sizeof path, "clip1.gif");
    encode_gif(path, gif_opts(24, 1), 1);
    check_gif_timing(path, 1, 24, 1);
}

/* A frame with many colours (a luma ramp across, chroma ramps down and
 * across) and a white 8x8 block moving right along rows 8..15: more than
 * 255 colours, so the palette is quantised and the frames dithered. */
static void grad_frame(long k, uint8_t *y, uint8_t *u, uint8_t *v)
{
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            int blk = r >= 8 && r < 16 && c >= 4 * k && c < 4 * k + 8;
            y[r * W + c] = blk ? 235 : (uint8_t)(16 + c * 219 / (W - 1));
        }
    for (int r = 0; r < H / 2; r++)
        for (int c = 0; c < W / 2; c++) {
            int blk = r >= 4 && r < 8 && c >= 2 * k && c < 2 * k + 4;
            u[r * (W / 2) + c] = blk ? 128 : (uint8_t)(40 + r * 176 / (H / 2 - 1));
            v[r * (W / 2) + c] = blk ? 128 : (uint8_t)(216 - c * 176 / (W / 2 - 1));
        }
}

typedef struct grad_check {
    uint8_t *rgb;            /* expected RGB of every frame, n x W x H x 3 */
    long n;
    double abs_err;          /* sum of |decoded - expected| over channels */
    long samples;
    double worst_block;      /* worst |mean error| of a 4x4 block, one channel */
    int prev[H][W][3];       /* the previous decoded frame */
    long still_changed;      /* pixels of rows 24.. (never drawn on) that changed */
} grad_check;

static void check_grad(void *ctx, long k, const AVFrame *f)
{
    grad_check *c = ctx;
    assert_true(k < c->n);
    const uint8_t *want = c->rgb + (size_t)k * W * H * 3;
    int cur[H][W][3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            px_rgb(f, x, y, cur[y][x]);
            for (int a = 0; a < 3; a++) c->abs_err += abs(cur[y][x][a] - want[(y * W + x) * 3 + a]);
            c->samples += 3;
            if (k > 0 && y >= 24)
                for (int a = 0; a < 3; a++) c->still_changed += cur[y][x][a] != c->prev[y][x][a];
        }
    /* Dithering keeps local averages: each 4x4 block's mean is close. */
    for (int by = 0; by < H; by += 4)
        for (int bx = 0; bx < W; bx += 4)
            for (int a = 0; a < 3; a++) {
                double s = 0;
                for (int y = by; y < by + 4; y++)
                    for (int x = bx; x < bx + 4; x++) s += cur[y][x][a] - want[(y * W + x) * 3 + a];
                s = fabs(s / 16);
                if (s > c->worst_block) c->worst_block = s;
            }
    memcpy(c->prev, cur, sizeof cur);
}

static void test_gif_dithered(void **state)
{
    (void)state;
    enum { N = 12 };
    char path[600];
    tu_out_path(path, sizeof path, "grad.gif");
    uint8_t *y = malloc(W * H), *u = malloc(W * H / 4), *v = malloc(W * H / 4);
    grad_check *gc = calloc(1, sizeof *gc);
    gc->n = N;
    gc->rgb = malloc((size_t)N * W * H * 3);
    uint8_t argb[W * H * 4];
    kn_palette_hist *h = NULL;
    kn_err err;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    for (long k = 0; k < N; k++) {
        grad_frame(k, y, u, v);
        const uint8_t *pl[3] = {y, u, v};
        int st[3] = {W, W / 2, W / 2};
        assert_int_equal(kn_palette_hist_add_i420(h, pl, st, W, H, &err), KN_OK);
        assert_int_equal(I420ToARGB(y, W, u, W / 2, v, W / 2, argb, W * 4, W, H), 0);
        for (int i = 0; i < W * H; i++)
            for (int a = 0; a < 3; a++) gc->rgb[((size_t)k * W * H + i) * 3 + a] = argb[i * 4 + 2 - a];
    }
    assert_int_equal(kn_palette_hist_pixels(h), (uint64_t)N * W * H);
    kn_palette pal;
    assert_int_equal(kn_palette_build(h, KN_PALETTE_GIF_COLORS, &pal, &err), KN_OK);
    kn_palette_hist_destroy(h);
    assert_true(pal.n > 200 && pal.n <= 255);

    kn_encoder_opts o = gif_opts(25, 1);
    kn_encoder *e = NULL;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    /* No palette yet: refused, and the encoder is still usable. */
    grad_frame(0, y, u, v);
    uint8_t *pl[3] = {y, u, v};
    int st[3] = {W, W / 2, W / 2};
    assert_int_equal(kn_encoder_push(e, 0, pl, st, NULL, NULL, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "palette"));
    assert_int_equal(kn_encoder_set_palette(e, &pal, &err), KN_OK);
    for (long k = 0; k < N; k++) {
        grad_frame(k, y, u, v);
        if (kn_encoder_push(e, k, pl, st, NULL, NULL, &err)) fail_msg("push %ld: %s", k, err.msg);
    }
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);

    /* Abandoned after two frames (a canceled job): destroy alone frees
     * everything, the muxer's held packet included (LeakSanitizer builds
     * would report it). */
    char gone[600];
    tu_out_path(gone, sizeof gone, "abandoned.gif");
    assert_int_equal(kn_encoder_create(gone, &o, &e, &err), KN_OK);
    assert_int_equal(kn_encoder_set_palette(e, &pal, &err), KN_OK);
    for (long k = 0; k < 2; k++) {
        grad_frame(k, y, u, v);
        assert_int_equal(kn_encoder_push(e, k, pl, st, NULL, NULL, &err), KN_OK);
    }
    kn_encoder_destroy(e);

    assert_int_equal(decode_all(path, check_grad, gc, NULL, NULL), N);
    double mean = gc->abs_err / gc->samples;
    print_message("gif dithered: %d colours, mean |error| %.2f levels, worst 4x4 block mean %.2f, "
                  "%ld still samples changed\n", pal.n, mean, gc->worst_block, gc->still_changed);
    assert_true(mean < 4.0);
    assert_true(gc->worst_block < 6.0);
    /* Rows 24.. never change: re-dithering only the changed rectangle
     * keeps them identical from frame to frame. */
    assert_int_equal(gc->still_changed, 0);
    gif_walk g;
    walk_gif(path, &g);
    assert_int_equal(g.images, N);
    for (long i = 0; i < N; i++) assert_int_equal(g.delays[i], 4);
    free(gc->rgb);
    free(gc);
    free(y);
    free(u);
    free(v);
}

static void test_gif_bad_options(void **state)
{
    (void)state;
    kn_encoder_opts o;
    o = gif_opts(24, 1); o.codec = KN_CODEC_H264;
    tu_expect_refused(o, KN_EINVAL, "/output/codec", "gif");
    o = gif_opts(24, 1); o.codec = KN_CODEC_GIF;   /* its own codec is fine */
    kn_encoder *e = NULL;
    kn_err err;
    char path[600];
    tu_out_path(path, sizeof path, "named.gif");
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    kn_encoder_destroy(e);
    o = gif_opts(24, 1); o.encoder = KN_ENCODER_GPU;
    tu_expect_refused(o, KN_EINVAL, "/output/encoder", "NVENC");
    o = gif_opts(24, 1); o.preset = "fast";
    tu_expect_refused(o, KN_EINVAL, "/output/preset", "no preset");
    o = gif_opts(120, 1);
    tu_expect_refused(o, KN_EINVAL, "/fps", "centiseconds");
    o = gif_opts(30001, 300);   /* just above 100 */
    tu_expect_refused(o, KN_EINVAL, "/fps", "<= 100");
    kn_codec c;
    assert_int_equal(kn_encoder_codec_parse(KN_FORMAT_GIF, NULL, &c, &err), KN_OK);
    assert_int_equal(c, KN_CODEC_GIF);
    assert_int_equal(kn_encoder_check(KN_FORMAT_GIF, c, KN_ENCODER_AUTO, "", &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_GIF, KN_CODEC_GIF, KN_ENCODER_CPU, NULL, &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_GIF, KN_CODEC_VP9, KN_ENCODER_CPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/codec");
    assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_GIF, KN_ENCODER_CPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/codec");
    assert_int_equal(kn_encoder_check(KN_FORMAT_GIF, KN_CODEC_GIF, KN_ENCODER_GPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/encoder");

    /* A palette is for gif only. */
    kn_encoder_opts m = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    tu_out_path(path, sizeof path, "nopal.mp4");
    assert_int_equal(kn_encoder_create(path, &m, &e, &err), KN_OK);
    kn_palette pal = {.argb = {0xFF000000u}, .n = 1};
    assert_int_equal(kn_encoder_set_palette(e, &pal, &err), KN_EINVAL);
    kn_encoder_destroy(e);
}

/* ---- gif, odd sizes -------------------------------------------------- */

/* 33 x 17: the last column and the last row are partial 2x2 blocks, each
 * with a chroma column / row of its own (17 x 9 chroma samples). */
#define OW 33

#define OH 17

#define OCW ((OW + 1) / 2)

#define OCH ((OH + 1) / 2)

/* Each plane is its own allocation of exactly stride x rows bytes (odd
 * strides, padding 255), so a read or write past the last chroma row or
 * column either shows in the pixels or trips ASan. */
typedef struct odd_frame {
    uint8_t *data[3];
    int stride[3];
} odd_frame;

static void odd_alloc(odd_frame *f)
{
    static const int pad[3] = {3, 5, 7};
    for (int p = 0; p < 3; p++) {
        int pw = p ? OCW : OW, ph = p ? OCH : OH;
        f->stride[p] = pw + pad[p];
        f->data[p] = malloc((size_t)f->stride[p] * ph);
        assert_non_null(f->data[p]);
        memset(f->data[p], 255, (size_t)f->stride[p] * ph);
    }
}

static void odd_free(odd_frame *f)
{
    for (int p = 0; p < 3; p++) free(f->data[p]);
}

static void odd_set(odd_frame *f, int p, int x, int y, int v)
{
    f->data[p][(size_t)y * f->stride[p] + x] = (uint8_t)v;
}

/* Frame k of a clip whose changes sit on the odd edges: a flat background
 * (Y 60, U 100, V 160) and
 *   1: the last luma column and the last chroma column changed, 2: back;
 *   3: the last luma row and the last chroma row changed, 4: back;
 *   5, 6: the bottom-right pixel (its own luma and chroma sample) changed,
 *      then nothing changed;
 *   7: a block in the middle changed too, the corner kept;
 *   8: back;
 *   9: only the last chroma column changed (luma the same), 10: back.
 * Changing an edge and changing it back catches a previous-frame copy that
 * misses the edge's chroma: the frame after would keep the edge colour. */
#define ODD_N 11

static void odd_scene(long k, odd_frame *f)
{
    static const int bg[3] = {60, 100, 160};
    for (int p = 0; p < 3; p++) {
        int pw = p ? OCW : OW, ph = p ? OCH : OH;
        for (int y = 0; y < ph; y++) memset(f->data[p] + (size_t)y * f->stride[p], bg[p], (size_t)pw);
    }
    if (k == 1) {
        for (int y = 0; y < OH; y++) odd_set(f, 0, OW - 1, y, 200);
        for (int y = 0; y < OCH; y++) {
            odd_set(f, 1, OCW - 1, y, 60);
            odd_set(f, 2, OCW - 1, y, 200);
        }
    } else if (k == 3) {
        for (int x = 0; x < OW; x++) odd_set(f, 0, x, OH - 1, 30);
        for (int x = 0; x < OCW; x++) {
            odd_set(f, 1, x, OCH - 1, 180);
            odd_set(f, 2, x, OCH - 1, 90);
        }
    } else if (k >= 5 && k <= 7) {
        odd_set(f, 0, OW - 1, OH - 1, 235);
        odd_set(f, 1, OCW - 1, OCH - 1, 200);
        odd_set(f, 2, OCW - 1, OCH - 1, 50);
        if (k == 7) {
            for (int y = 4; y < 8; y++)
                for (int x = 8; x < 12; x++) odd_set(f, 0, x, y, 150);
            for (int y = 2; y < 4; y++)
                for (int x = 4; x < 6; x++) {
                    odd_set(f, 1, x, y, 140);
                    odd_set(f, 2, x, y, 110);
                }
        }
    } else if (k == 9) {
        for (int y = 0; y < OCH; y++) {
            odd_set(f, 1, OCW - 1, y, 30);
            odd_set(f, 2, OCW - 1, y, 230);
        }
    }
}

typedef struct odd_check {
    const uint8_t *rgb;      /* expected RGB, n x OW x OH x 3 */
    long n;
    long bad;                /* frames with a pixel off by more than `tol` */
    int tol;
    double edge_err, edge_samples;   /* |error| over the last column and row */
    double all_err, all_samples;
    int prev[OH][OW][3];     /* the previous decoded frame */
    long still_changed;      /* odd_grad: samples outside the moving block's
                              * path that differ from the previous frame */
} odd_check;

static void check_odd(void *ctx, long k, const AVFrame *f)
{
    odd_check *c = ctx;
    assert_true(k < c->n);
    const uint8_t *want = c->rgb + (size_t)k * OW * OH * 3;
    int worst = 0, wx = 0, wy = 0, got[3];
    for (int y = 0; y < OH; y++)
        for (int x = 0; x < OW; x++) {
            px_rgb(f, x, y, got);
            for (int a = 0; a < 3; a++) {
                int d = abs(got[a] - want[(y * OW + x) * 3 + a]);
                c->all_err += d;
                c->all_samples++;
                if (x == OW - 1 || y == OH - 1) {
                    c->edge_err += d;
                    c->edge_samples++;
                }
                if (d > worst) { worst = d; wx = x; wy = y; }
            }
        }
    if (worst > c->tol) {
        const uint8_t *w = want + (wy * OW + wx) * 3;
        px_rgb(f, wx, wy, got);
        print_message("odd gif frame %ld: pixel (%d, %d) is %d,%d,%d, want %d,%d,%d\n", k, wx, wy,
                      got[0], got[1], got[2], w[0], w[1], w[2]);
        c->bad++;
    }
}

/* check_odd, and for odd_grad frames: the block of frame k covers x
 * 4k..4k+5 of rows 10..16, so frame k differs from frame k-1 only in x
 * 4(k-1)..4k+5 there (a 2x2-aligned span). Everything else was not
 * re-dithered and must decode exactly as before. */
static void check_odd_grad(void *ctx, long k, const AVFrame *f)
{
    odd_check *c = ctx;
    check_odd(ctx, k, f);
    int cur[OH][OW][3];
    for (int y = 0; y < OH; y++)
        for (int x = 0; x < OW; x++) {
            px_rgb(f, x, y, cur[y][x]);
            int moved = y >= 10 && x >= 4 * ((int)k - 1) && x < 4 * (int)k + 6;
            if (k > 0 && !moved)
                for (int a = 0; a < 3; a++) c->still_changed += cur[y][x][a] != c->prev[y][x][a];
        }
    memcpy(c->prev, cur, sizeof cur);
}

/* The RGB libyuv makes of a whole odd frame: the reference the decoded GIF
 * is held to, computed without the encoder's changed-rectangle logic. */
static void odd_rgb(uint8_t *const data[3], const int stride[3], uint8_t *rgb)
{
    uint8_t argb[OW * OH * 4];
    assert_int_equal(I420ToARGB(data[0], stride[0], data[1], stride[1], data[2], stride[2], argb,
                                OW * 4, OW, OH), 0);
    for (int i = 0; i < OW * OH; i++)
        for (int a = 0; a < 3; a++) rgb[i * 3 + a] = argb[i * 4 + 2 - a];
}

/* Draws frames 0..n-1 of an odd-size clip with scene into fr: returns the
 * palette histogram of them all, and puts their RGB (the reference) in rgb,
 * n x OW x OH x 3. */
static kn_palette_hist *odd_clip(void (*scene)(long k, odd_frame *f), long n, odd_frame *fr, uint8_t *rgb)
{
    kn_err err;
    kn_palette_hist *h = NULL;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    for (long k = 0; k < n; k++) {
        scene(k, fr);
        assert_int_equal(kn_palette_hist_add_i420(h, (const uint8_t *const *)fr->data, fr->stride, OW, OH,
                                                  &err), KN_OK);
        odd_rgb(fr->data, fr->stride, rgb + (size_t)k * OW * OH * 3);
    }
    return h;
}

/* An odd-size GIF with few colours: the palette is exact and nothing is
 * dithered, so every decoded pixel, the last column and row included, is
 * the frame's own colour. */
static void test_gif_odd_size(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "odd.gif");
    kn_err err;
    odd_frame fr;
    odd_alloc(&fr);
    uint8_t *rgb = malloc((size_t)ODD_N * OW * OH * 3);
    assert_non_null(rgb);
    kn_palette_hist *h = odd_clip(odd_scene, ODD_N, &fr, rgb);
    assert_int_equal(kn_palette_hist_pixels(h), (uint64_t)ODD_N * OW * OH);
    kn_palette pal;
    assert_int_equal(kn_palette_build(h, KN_PALETTE_GIF_COLORS, &pal, &err), KN_OK);
    kn_palette_hist_destroy(h);
    /* Exact, one entry per colour: the background, the last column of
     * frame 1, the last row of frame 3, the corner, the middle block and
     * the chroma-only column of frame 9. */
    assert_int_equal(pal.n, 6);

    kn_encoder_opts o = gif_opts(20, 1);
    o.width = OW;
    o.height = OH;
    kn_encoder *e = NULL;
    if (kn_encoder_create(path, &o, &e, &err)) fail_msg("create %dx%d gif: %s", OW, OH, err.msg);
    assert_int_equal(kn_encoder_set_palette(e, &pal, &err), KN_OK);
    /* A chroma stride below ceil(33 / 2) = 17 cannot hold a row. */
    odd_scene(0, &fr);
    int short_stride[3] = {fr.stride[0], OCW - 1, fr.stride[2]};
    assert_int_equal(kn_encoder_push(e, 0, fr.data, short_stride, NULL, NULL, &err), KN_EINVAL);
    for (long k = 0; k < ODD_N; k++) {
        odd_scene(k, &fr);
        if (kn_encoder_push(e, k, fr.data, fr.stride, NULL, NULL, &err)) fail_msg("push %ld: %s", k, err.msg);
    }
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);

    gif_walk g;
    walk_gif(path, &g);
    assert_int_equal(g.width, OW);
    assert_int_equal(g.height, OH);
    assert_int_equal(g.images, ODD_N);
    for (long i = 0; i < ODD_N; i++) assert_int_equal(g.delays[i], 5);
    odd_check oc = {.rgb = rgb, .n = ODD_N, .tol = 2};
    assert_int_equal(decode_all_wh(path, OW, OH, check_odd, &oc, NULL, NULL), ODD_N);
    assert_int_equal(oc.bad, 0);

    /* mp4 and webm stay even-only. */
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    o.width = OW;
    tu_expect_refused(o, KN_EINVAL, "/width", "even");
    o = tu_webm_opts(KN_ENCODER_CPU);
    o.height = OH;
    tu_expect_refused(o, KN_EINVAL, "/height", "even");
    free(rgb);
    odd_free(&fr);
}

/* Many colours at an odd size: a diagonal ramp and a white block that
 * moves right along the bottom rows until it covers the last column and
 * row, so the palette is quantised and the changed rectangle ends on the
 * odd edges. Dithering keeps the error small there as everywhere. */
static void odd_grad(long k, odd_frame *f)
{
    for (int y = 0; y < OH; y++)
        for (int x = 0; x < OW; x++) {
            int blk = y >= 10 && x >= 4 * (int)k && x < 4 * (int)k + 6;
            odd_set(f, 0, x, y, blk ? 235 : 16 + (x * 7 + y * 5) % 220);
        }
    for (int y = 0; y < OCH; y++)
        for (int x = 0; x < OCW; x++) {
            int blk = y >= 5 && x >= 2 * (int)k && x < 2 * (int)k + 3;
            odd_set(f, 1, x, y, blk ? 128 : 40 + y * 176 / (OCH - 1));
            odd_set(f, 2, x, y, blk ? 128 : 216 - x * 176 / (OCW - 1));
        }
}

static void test_gif_odd_dithered(void **state)
{
    (void)state;
    enum { N = 8 };   /* frame 7's block is at x 28..33: it reaches the last column */
    char path[600];
    tu_out_path(path, sizeof path, "odd_grad.gif");
    kn_err err;
    odd_frame fr;
    odd_alloc(&fr);
    uint8_t *rgb = malloc((size_t)N * OW * OH * 3);
    assert_non_null(rgb);
    kn_palette_hist *h = odd_clip(odd_grad, N, &fr, rgb);
    kn_palette pal;
    assert_int_equal(kn_palette_build(h, 64, &pal, &err), KN_OK);   /* few colours: real dithering */
    kn_palette_hist_destroy(h);
    assert_int_equal(pal.n, 64);

    kn_encoder_opts o = gif_opts(25, 1);
    o.width = OW;
    o.height = OH;
    kn_encoder *e = NULL;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_int_equal(kn_encoder_set_palette(e, &pal, &err), KN_OK);
    for (long k = 0; k < N; k++) {
        odd_grad(k, &fr);
        if (kn_encoder_push(e, k, fr.data, fr.stride, NULL, NULL, &err)) fail_msg("push %ld: %s", k, err.msg);
    }
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);

    odd_check *oc = calloc(1, sizeof *oc);
    assert_non_null(oc);
    oc->rgb = rgb;
    oc->n = N;
    oc->tol = 255;   /* dithered: judged by the mean errors below */
    assert_int_equal(decode_all_wh(path, OW, OH, check_odd_grad, oc, NULL, NULL), N);
    double mean = oc->all_err / oc->all_samples, edge = oc->edge_err / oc->edge_samples;
    print_message("odd gif dithered: %d colours, mean |error| %.2f, last column and row %.2f, "
                  "%ld still samples changed\n", pal.n, mean, edge, oc->still_changed);
    assert_true(mean < 12.0);
    assert_true(edge < 16.0);
    /* Only the changed rectangle is re-dithered, up to the odd edges and
     * no further: an edge chroma sample the encoder failed to remember
     * would make every frame "changed" there and re-dither it all. */
    assert_int_equal(oc->still_changed, 0);
    free(oc);
    free(rgb);
    odd_free(&fr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gif_bad_options),
        cmocka_unit_test(test_gif_24fps),
        cmocka_unit_test(test_gif_ntsc),
        cmocka_unit_test(test_gif_dithered),
        cmocka_unit_test(test_gif_odd_size),
        cmocka_unit_test(test_gif_odd_dithered),
    };
    return cmocka_run_group_tests(tests, tu_enc_setup, tu_enc_teardown);
}
