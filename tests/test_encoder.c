/*
 * tests/test_encoder.c - encode/encoder: files are read back with
 * libavformat/libavcodec (and ffprobe as an independent reader) and checked
 * for container, codec, size, pixel format, colour tags, frame count,
 * durations, faststart layout (mp4), decoded pixels, and the
 * release-callback contract. MP4 (h264, hevc) and WebM (vp9).
 *
 * Sizes are tiny (64x48) and presets fast so the whole program runs in a few
 * seconds on a shared 2-core machine.
 *
 * GIF: the file is walked block by block (independently of libavformat) for
 * its frame delays, loop count and palette; decoded colours are compared
 * with the frames' own RGB (libyuv I420ToARGB).
 *
 * NVENC: the expectation follows what the machine does. If "gpu" opens, the
 * test checks that it really produced h264_nvenc and that "auto" picks it;
 * if not, the failure must be KN_EENCODER naming nvenc and "auto" must fall
 * back to libx264. KINORA_EXPECT_NVENC=0/1 pins the expectation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libyuv.h>

#include "common/err.h"
#include "common/log.h"
#include "encode/encoder.h"
#include "tests/support/death.h"
#include "tests/support/decode.h"
#include "tests/support/testutil.h"

#define W 64
#define H 48
#define PAD 16                 /* stride = width + PAD: strides are honoured */

static char g_dir[512];

/* LeakSanitizer (KINORA_SANITIZE builds): libx265 3.5 leaks a few
 * allocations from FrameFilter::init on every encoder it opens; that is
 * Debian's library, not us. Ignored without a sanitizer. */
const char *__lsan_default_suppressions(void);
__attribute__((used)) const char *__lsan_default_suppressions(void)
{
    return "leak:libx265.so\n";
}

static void out_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

static kn_encoder_opts base_opts(kn_encoder_pref encoder, kn_codec codec)
{
    kn_encoder_opts o = {
        .width = W, .height = H, .fps_num = 24, .fps_den = 1,
        .format = KN_FORMAT_MP4, .codec = codec, .encoder = encoder, .quality = 20,
        .preset = "ultrafast", .bitrate_kbps = 0, .keyframe_interval = 0,
    };
    return o;
}

/* ---- frames ---------------------------------------------------------- */

/* The frame index is encoded in flat plane levels; U and V move in opposite
 * directions so a swapped chroma order shows up. */
static int y_level(long i) { return 20 + (int)((i * 7) % 200); }
static int u_level(long i) { return 90 + (int)((i * 3) % 60); }
static int v_level(long i) { return 170 - (int)((i * 3) % 60); }

typedef struct test_frame {
    uint8_t *mem;
    uint8_t *data[3];
    int stride[3];
    long index;
    int *release_count;        /* per-frame counters owned by the test */
} test_frame;

/* One allocation, planes laid out V, U, Y (not Y-first) to exercise the
 * wrapper's span computation. */
static test_frame *frame_new(long i, int w, int h, int *counts)
{
    test_frame *f = calloc(1, sizeof *f);
    assert_non_null(f);
    int ys = w + PAD, cs = w / 2 + PAD;
    size_t ysz = (size_t)ys * h, csz = (size_t)cs * (h / 2);
    f->mem = malloc(ysz + 2 * csz);
    assert_non_null(f->mem);
    f->data[2] = f->mem;
    f->data[1] = f->mem + csz;
    f->data[0] = f->mem + 2 * csz;
    f->stride[0] = ys;
    f->stride[1] = f->stride[2] = cs;
    /* Padding bytes get a wild value: reading them would show in pixels. */
    memset(f->mem, 255, ysz + 2 * csz);
    for (int y = 0; y < h; y++) memset(f->data[0] + (size_t)y * ys, y_level(i), (size_t)w);
    for (int y = 0; y < h / 2; y++) {
        memset(f->data[1] + (size_t)y * cs, u_level(i), (size_t)w / 2);
        memset(f->data[2] + (size_t)y * cs, v_level(i), (size_t)w / 2);
    }
    f->index = i;
    f->release_count = counts;
    return f;
}

static void frame_free(test_frame *f)
{
    if (!f) return;
    free(f->mem);
    free(f);
}

/* The encoder's release: the planes are scribbled over before being freed,
 * so any read after release would corrupt the decoded pixels. */
static void on_release(void *opaque)
{
    test_frame *f = opaque;
    if (f->release_count) f->release_count[f->index]++;
    memset(f->mem, 0, (size_t)f->stride[0] * H + (size_t)f->stride[1] * H);
    frame_free(f);
}

/* Pushes frames 0..n-1 zero-copy; counts[] (n entries) get one increment
 * per release. */
static void push_frames(kn_encoder *e, long n, int w, int h, int *counts)
{
    for (long i = 0; i < n; i++) {
        test_frame *f = frame_new(i, w, h, counts);
        kn_err err;
        kn_err_clear(&err);
        int rc = kn_encoder_push(e, i, f->data, f->stride, on_release, f, &err);
        if (rc) fail_msg("push %ld: %s", i, err.msg);
    }
}

/* Encodes n frames at (num/den) with opts and finishes; returns the path. */
static void encode_file(const char *path, kn_encoder_opts o, long n)
{
    kn_encoder *e = NULL;
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_encoder_create(path, &o, &e, &err);
    if (rc) fail_msg("create: %s", err.msg);
    int *counts = calloc((size_t)n, sizeof *counts);
    push_frames(e, n, o.width, o.height, counts);
    rc = kn_encoder_finish(e, &err);
    if (rc) fail_msg("finish: %s", err.msg);
    kn_encoder_destroy(e);
    for (long i = 0; i < n; i++) assert_int_equal(counts[i], 1);
    free(counts);
}

/* ---- reading back ------------------------------------------------------ */

typedef struct probe {
    char container[64];        /* demuxer name: "mov,mp4,..." or "matroska,webm" */
    double format_duration;    /* container duration, seconds */
    enum AVCodecID codec_id;
    uint32_t codec_tag;
    int width, height, format;
    enum AVColorSpace space;
    enum AVColorRange range;
    enum AVColorPrimaries prim;
    enum AVColorTransferCharacteristic trc;
    double duration;           /* stream duration, seconds */
    long packets, frames, keyframes_at[64], nkey;
    long pts_in_order;         /* decoded frames whose pts is k/fps in order */
    long pixels_ok;            /* decoded frames whose Y/U/V match frame k */
    int64_t bytes;
} probe;

static void probe_packet(void *ctx, long index, const AVPacket *pkt)
{
    probe *p = ctx;
    if (pkt->flags & AV_PKT_FLAG_KEY && p->nkey < 64) p->keyframes_at[p->nkey++] = index;
}

static void probe_file(const char *path, AVRational fps, probe *p)
{
    memset(p, 0, sizeof *p);
    tu_video v;
    assert_int_equal(tu_video_open(&v, path, 0), 0);
    AVFormatContext *ic = v.fc;
    assert_int_equal(ic->nb_streams, 1);
    AVStream *st = v.st;
    AVCodecParameters *par = st->codecpar;
    p->codec_id = par->codec_id;
    p->codec_tag = par->codec_tag;
    p->width = par->width;
    p->height = par->height;
    p->format = par->format;
    p->space = par->color_space;
    p->range = par->color_range;
    p->prim = par->color_primaries;
    p->trc = par->color_trc;
    /* Matroska has no per-stream duration (AV_NOPTS_VALUE): the segment's
     * Duration is the container's. */
    p->duration = st->duration == AV_NOPTS_VALUE ? -1 : st->duration * av_q2d(st->time_base);
    snprintf(p->container, sizeof p->container, "%s", ic->iformat->name);
    p->format_duration = ic->duration == AV_NOPTS_VALUE ? -1 : (double)ic->duration / AV_TIME_BASE;

    v.on_packet = probe_packet;
    v.ctx = p;
    for (const AVFrame *fr; (fr = tu_video_next(&v));) {
        long k = p->frames++;
        int64_t ts = fr->best_effort_timestamp;
        if (ts != AV_NOPTS_VALUE &&
            av_rescale_q(ts, st->time_base, av_inv_q(fps)) == k)
            p->pts_in_order++;
        /* Every pixel of every plane must be near the frame's level:
         * wrong strides, swapped planes or reordered frames all show. */
        int want[3] = {y_level(k), u_level(k), v_level(k)}, worst[3] = {0, 0, 0};
        for (int pl = 0; pl < 3; pl++) {
            int pw = pl ? fr->width / 2 : fr->width, ph = pl ? fr->height / 2 : fr->height;
            for (int y = 0; y < ph; y++)
                for (int x = 0; x < pw; x++) {
                    int d = abs(fr->data[pl][y * fr->linesize[pl] + x] - want[pl]);
                    if (d > worst[pl]) worst[pl] = d;
                }
        }
        if (worst[0] <= 3 && worst[1] <= 3 && worst[2] <= 3)
            p->pixels_ok++;
        else
            print_message("frame %ld: Y/U/V off by up to %d/%d/%d from %d/%d/%d\n", k, worst[0],
                          worst[1], worst[2], want[0], want[1], want[2]);
    }
    assert_int_equal(v.err, 0);
    p->packets = v.packets;
    tu_video_close(&v);

    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    p->bytes = sb.st_size;
}

/* Walks the top-level ISO-BMFF boxes; returns the order moov/mdat appear in
 * (1 when moov comes first) after checking the boxes tile the file. */
static int moov_before_mdat(const char *path)
{
    size_t len = 0;
    unsigned char *b = (unsigned char *)tu_read_file(path, &len);
    assert_non_null(b);
    size_t off = 0;
    long moov = -1, mdat = -1, n = 0;
    while (off + 8 <= len) {
        uint64_t size = ((uint64_t)b[off] << 24) | ((uint64_t)b[off + 1] << 16) |
                        ((uint64_t)b[off + 2] << 8) | b[off + 3];
        size_t hdr = 8;
        if (size == 1) {
            assert_true(off + 16 <= len);
            size = 0;
            for (int i = 0; i < 8; i++) size = (size << 8) | b[off + 8 + i];
            hdr = 16;
        } else if (size == 0) {
            size = len - off;
        }
        assert_true(size >= hdr && size <= len - off);
        if (!memcmp(b + off + 4, "moov", 4)) moov = n;
        if (!memcmp(b + off + 4, "mdat", 4)) mdat = n;
        off += size;
        n++;
    }
    assert_int_equal(off, len);   /* boxes tile the file exactly */
    free(b);
    assert_true(moov >= 0);
    assert_true(mdat >= 0);
    return moov < mdat;
}

/* ffprobe as an independent reader: returns its "key=value" lines. */
static char *ffprobe(const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v:0 -count_packets -show_entries "
             "stream=codec_name,pix_fmt,width,height,nb_read_packets,color_space,color_range,"
             "color_primaries,color_transfer,chroma_location,duration:format=format_name,duration "
             "-of default=nw=1 '%s' 2>/dev/null", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *out = calloc(1, 4096);
    assert_non_null(out);
    size_t n = fread(out, 1, 4095, f);
    out[n] = '\0';
    assert_int_equal(pclose(f), 0);
    return out;
}

static void assert_has_line(const char *text, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "%s\n", line);
    if (!strstr(text, want)) fail_msg("ffprobe output lacks \"%s\":\n%s", line, text);
}

/* ---- tests ------------------------------------------------------------- */

static void assert_near(const char *what, double got, double want)
{
    if (got < want - 1e-3 || got > want + 1e-3) fail_msg("%s %.6f s, want %.6f s", what, got, want);
}

/* The EBML header's DocType must say "webm" (not "matroska"): browsers
 * check it. It sits in the first few dozen bytes. */
static void assert_webm_doctype(const char *path)
{
    size_t len = 0;
    unsigned char *b = (unsigned char *)tu_read_file(path, &len);
    assert_non_null(b);
    assert_true(len > 64);
    assert_memory_equal(b, "\x1a\x45\xdf\xa3", 4);   /* EBML magic */
    /* DocType element: ID 0x4282, size 0x84 (1-byte vint, 4), "webm". */
    assert_non_null(memmem(b, 64, "\x42\x82\x84webm", 7));
    assert_null(memmem(b, 64, "matroska", 8));
    free(b);
}

/* Container, codec, size, frames, pixels, timing and colour tags of a file
 * made by encode_file from W x H test frames. */
static void check_file(const char *path, kn_format format, AVRational fps, long n)
{
    bool webm = format == KN_FORMAT_WEBM;
    probe p;
    probe_file(path, fps, &p);
    assert_string_equal(p.container, webm ? "matroska,webm" : "mov,mp4,m4a,3gp,3g2,mj2");
    assert_int_equal(p.codec_id, webm ? AV_CODEC_ID_VP9 : AV_CODEC_ID_H264);
    assert_int_equal(p.width, W);
    assert_int_equal(p.height, H);
    assert_int_equal(p.format, AV_PIX_FMT_YUV420P);
    assert_int_equal(p.packets, n);
    assert_int_equal(p.frames, n);
    assert_int_equal(p.pts_in_order, n);
    assert_int_equal(p.pixels_ok, n);
    double want = (double)n * fps.den / fps.num;
    if (webm) {
        assert_near("webm duration", p.format_duration, want);   /* ms ticks: within 0.5 ms */
        assert_webm_doctype(path);
    } else {
        assert_near("stream duration", p.duration, want);
        assert_true(moov_before_mdat(path));
    }
    assert_int_equal(p.space, AVCOL_SPC_SMPTE170M);
    assert_int_equal(p.range, AVCOL_RANGE_MPEG);
    assert_int_equal(p.prim, AVCOL_PRI_BT709);
    assert_int_equal(p.trc, AVCOL_TRC_IEC61966_2_1);

    char *fp = ffprobe(path);
    char line[64];
    assert_has_line(fp, webm ? "codec_name=vp9" : "codec_name=h264");
    assert_has_line(fp, webm ? "format_name=matroska,webm" : "format_name=mov,mp4,m4a,3gp,3g2,mj2");
    assert_has_line(fp, "pix_fmt=yuv420p");
    snprintf(line, sizeof line, "width=%d", W);
    assert_has_line(fp, line);
    snprintf(line, sizeof line, "height=%d", H);
    assert_has_line(fp, line);
    snprintf(line, sizeof line, "nb_read_packets=%ld", n);
    assert_has_line(fp, line);
    assert_has_line(fp, "color_space=smpte170m");
    assert_has_line(fp, "color_range=tv");
    assert_has_line(fp, "color_primaries=bt709");
    assert_has_line(fp, "color_transfer=iec61966-2-1");
    assert_has_line(fp, "chroma_location=center");
    /* The stream's duration for mp4; webm streams have none ("N/A"), so
     * the format section's, which follows format_name. */
    const char *d = webm ? strstr(fp, "format_name=") : fp;
    assert_non_null(d);
    d = strstr(d, "duration=");
    assert_non_null(d);
    char *end = NULL;
    double dur = strtod(d + 9, &end);
    assert_true(end != d + 9);
    assert_near("ffprobe duration", dur, want);
    free(fp);
}

static void check_h264_file(const char *path, AVRational fps, long n)
{
    check_file(path, KN_FORMAT_MP4, fps, n);
}

static void test_cpu_h264_24fps(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "h264_24.mp4");
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    encode_file(path, o, 30);
    check_h264_file(path, (AVRational){24, 1}, 30);
}

/* NTSC rate and the default preset (medium: B-frames, so pts != dts). */
static void test_cpu_h264_ntsc_bframes(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "h264_ntsc.mp4");
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, kn_format_default_codec(KN_FORMAT_MP4));
    o.fps_num = 30000;
    o.fps_den = 1001;
    o.preset = NULL;
    encode_file(path, o, 31);
    check_h264_file(path, (AVRational){30000, 1001}, 31);
}

/* release == NULL copies: the caller's buffer is overwritten right after
 * each push and the file must still hold the pushed pixels. */
static void test_copy_path(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "copy.mp4");
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    const long n = 20;
    for (long i = 0; i < n; i++) {
        test_frame *f = frame_new(i, W, H, NULL);
        int rc = kn_encoder_push(e, i, f->data, f->stride, NULL, NULL, &err);
        if (rc) fail_msg("push: %s", err.msg);
        memset(f->mem, 0, (size_t)f->stride[0] * H + (size_t)f->stride[1] * H);
        frame_free(f);
    }
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);
    check_h264_file(path, (AVRational){24, 1}, n);
}

/* Every release fires exactly once, also when the encoder is destroyed
 * without finish, after a failed push, and after pushes out of order. */
static void test_release_once(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "abandoned.mp4");
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    o.preset = "medium";       /* lookahead + B-frames: frames are held longer */
    enum { N = 16 };
    int counts[N + 2] = {0};
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    push_frames(e, N, W, H, counts);
    for (int i = 0; i < N; i++) assert_true(counts[i] <= 1);

    /* Out of order: KN_EINVAL, the planes are still released once. */
    test_frame *f = frame_new(N + 1, W, H, counts);
    assert_int_equal(kn_encoder_push(e, N + 1, f->data, f->stride, on_release, f, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "out of order"));
    assert_int_equal(counts[N + 1], 1);

    /* The encoder is still usable after that refusal. */
    f = frame_new(N, W, H, counts);
    assert_int_equal(kn_encoder_push(e, N, f->data, f->stride, on_release, f, &err), KN_OK);

    kn_encoder_destroy(e);     /* no finish */
    for (int i = 0; i < N + 2; i++) assert_int_equal(counts[i], 1);
}

/* Finish-time contract: release count is complete after finish, push after
 * finish and a second finish are refused. */
static void test_finish_rules(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "finish.mp4");
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    enum { N = 8 };
    int counts[N + 1] = {0};
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_string_equal(kn_encoder_name(e), "libx264");
    assert_int_equal(kn_encoder_finish(e, &err), KN_EINVAL);   /* nothing pushed yet */
    assert_non_null(strstr(err.msg, "no frames"));
    push_frames(e, N, W, H, counts);
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    for (int i = 0; i < N; i++) assert_int_equal(counts[i], 1);

    test_frame *f = frame_new(N, W, H, counts);
    assert_int_equal(kn_encoder_push(e, N, f->data, f->stride, on_release, f, &err), KN_EINVAL);
    assert_int_equal(counts[N], 1);
    assert_int_equal(kn_encoder_finish(e, &err), KN_EINVAL);
    kn_encoder_destroy(e);
    kn_encoder_destroy(NULL);
}

static int expect_nvenc(void)
{
    const char *s = getenv("KINORA_EXPECT_NVENC");
    return s && *s ? (*s == '1') : -1;   /* -1: whatever the machine does */
}

static void test_gpu_and_auto(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "gpu.mp4");
    kn_encoder_opts o = base_opts(KN_ENCODER_GPU, KN_CODEC_H264);
    o.preset = "p1";
    kn_encoder *e = NULL;
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_encoder_create(path, &o, &e, &err);
    int want = expect_nvenc();
    if (want >= 0) assert_int_equal(rc == KN_OK, want);
    int have_nvenc = rc == KN_OK;
    if (have_nvenc) {
        assert_string_equal(kn_encoder_name(e), "h264_nvenc");
        int counts[10] = {0};
        push_frames(e, 10, W, H, counts);
        assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
        kn_encoder_destroy(e);
        for (int i = 0; i < 10; i++) assert_int_equal(counts[i], 1);
        probe p;
        probe_file(path, (AVRational){24, 1}, &p);
        assert_int_equal(p.packets, 10);
        assert_int_equal(p.pixels_ok, 10);
    } else {
        assert_int_equal(rc, KN_EENCODER);
        assert_null(e);
        assert_non_null(strstr(err.msg, "h264_nvenc"));
        print_message("gpu: %s\n", err.msg);
        assert_non_null(strstr(err.msg, "could not be opened"));
        assert_non_null(strstr(err.msg, "NVIDIA"));
        assert_string_equal(err.path, "/output/encoder");
        assert_string_equal(kn_err_name(rc), kn_err_name(KN_EENCODER));
        /* No encoder, no file. */
        assert_int_not_equal(access(path, F_OK), 0);

        o.codec = KN_CODEC_HEVC;
        kn_err_clear(&err);
        assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_EENCODER);
        assert_non_null(strstr(err.msg, "hevc_nvenc"));
    }

    /* auto: NVENC when it opens, else libx264; an NVENC preset is ignored
     * by libx264 rather than failing. */
    out_path(path, sizeof path, "auto.mp4");
    o = base_opts(KN_ENCODER_AUTO, KN_CODEC_H264);
    o.preset = "p4";
    e = NULL;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_string_equal(kn_encoder_name(e), have_nvenc ? "h264_nvenc" : "libx264");
    int counts[12] = {0};
    push_frames(e, 12, W, H, counts);
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);
    for (int i = 0; i < 12; i++) assert_int_equal(counts[i], 1);
    probe p;
    probe_file(path, (AVRational){24, 1}, &p);
    assert_int_equal(p.codec_id, AV_CODEC_ID_H264);
    assert_int_equal(p.packets, 12);
    assert_int_equal(p.pixels_ok, 12);
}

static void test_cpu_hevc(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "hevc.mp4");
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, KN_CODEC_HEVC);
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_string_equal(kn_encoder_name(e), "libx265");
    enum { N = 12 };
    int counts[N] = {0};
    push_frames(e, N, W, H, counts);
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);
    for (int i = 0; i < N; i++) assert_int_equal(counts[i], 1);

    probe p;
    probe_file(path, (AVRational){24, 1}, &p);
    assert_int_equal(p.codec_id, AV_CODEC_ID_HEVC);
    assert_int_equal(p.codec_tag, MKTAG('h', 'v', 'c', '1'));
    assert_int_equal(p.width, W);
    assert_int_equal(p.height, H);
    assert_int_equal(p.format, AV_PIX_FMT_YUV420P);
    assert_int_equal(p.packets, N);
    assert_int_equal(p.frames, N);
    assert_int_equal(p.pixels_ok, N);
    assert_int_equal(p.space, AVCOL_SPC_SMPTE170M);
    assert_int_equal(p.range, AVCOL_RANGE_MPEG);
    assert_true(p.duration > 0.5 - 1e-3 && p.duration < 0.5 + 1e-3);
    assert_true(moov_before_mdat(path));
}

/* Noise frames so that rate control has something to trade. */
static int64_t encode_noise_as(kn_format format, const char *name, int quality, long kbps)
{
    char path[600];
    out_path(path, sizeof path, name);
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, kn_format_default_codec(format));
    o.format = format;
    o.quality = quality;
    o.bitrate_kbps = kbps;
    kn_encoder *e = NULL;
    kn_err err;
    if (kn_encoder_create(path, &o, &e, &err)) fail_msg("create: %s", err.msg);
    uint32_t seed = 12345;
    static uint8_t y[W * H], u[W * H / 4], v[W * H / 4];
    uint8_t *data[3] = {y, u, v};
    int stride[3] = {W, W / 2, W / 2};
    for (long i = 0; i < 24; i++) {
        for (size_t k = 0; k < sizeof y; k++) { seed = seed * 1664525u + 1013904223u; y[k] = (uint8_t)(16 + (seed >> 24) % 220); }
        memset(u, 128, sizeof u);
        memset(v, 128, sizeof v);
        if (kn_encoder_push(e, i, data, stride, NULL, NULL, &err)) fail_msg("push: %s", err.msg);
    }
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

static int64_t encode_noise(const char *name, int quality, long kbps)
{
    return encode_noise_as(KN_FORMAT_MP4, name, quality, kbps);
}

static void test_quality_and_bitrate(void **state)
{
    (void)state;
    int64_t q10 = encode_noise("q10.mp4", 10, 0);
    int64_t q45 = encode_noise("q45.mp4", 45, 0);
    int64_t b50 = encode_noise("b50.mp4", 20, 50);
    int64_t b2000 = encode_noise("b2000.mp4", 20, 2000);
    print_message("noise sizes: q10 %lld q45 %lld 50k %lld 2000k %lld\n", (long long)q10,
                  (long long)q45, (long long)b50, (long long)b2000);
    assert_true(q45 * 2 < q10);
    assert_true(b50 * 2 < b2000);
    /* 50 kbit/s for 1 s of video: the file is near 6 kB, not the CRF size. */
    assert_true(b50 < 20000);
}

/* Keyframe packet indexes of a 24-frame file at 24 fps, 0.25 s interval. */
static void keyframes_every_6(kn_format format, kn_codec codec, const char *name)
{
    char path[600];
    out_path(path, sizeof path, name);
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, codec);
    o.format = format;
    o.keyframe_interval = 0.25;   /* 6 frames at 24 fps */
    encode_file(path, o, 24);
    probe p;
    probe_file(path, (AVRational){24, 1}, &p);
    assert_int_equal(p.packets, 24);
    /* Keyframes at 0 and never more than 6 apart (an encoder may add
     * scene cuts, which restart the count). */
    assert_true(p.nkey >= 4);
    assert_int_equal(p.keyframes_at[0], 0);
    for (long k = 1; k <= p.nkey; k++) {
        long next = k < p.nkey ? p.keyframes_at[k] : 24;
        if (next - p.keyframes_at[k - 1] > 6)
            fail_msg("%s: keyframes at packets %ld and %ld are more than 6 apart", name,
                     p.keyframes_at[k - 1], next);
    }
}

static void test_keyframe_interval(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "gop.mp4");
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    o.keyframe_interval = 0.25;   /* 6 frames at 24 fps */
    encode_file(path, o, 24);
    probe p;
    probe_file(path, (AVRational){24, 1}, &p);
    assert_int_equal(p.packets, 24);
    /* Keyframes at least at 0, 6, 12, 18 (x264 may add scene cuts). */
    for (long want = 0; want < 24; want += 6) {
        int found = 0;
        for (long k = 0; k < p.nkey; k++) found |= p.keyframes_at[k] == want;
        if (!found) fail_msg("no keyframe at packet %ld", want);
    }
}

static void expect_einval(kn_encoder_opts o, const char *field, const char *msg_part)
{
    char path[600];
    out_path(path, sizeof path, "bad.mp4");
    kn_encoder *e = (kn_encoder *)&o;   /* must be reset to NULL */
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_EINVAL);
    assert_null(e);
    assert_int_equal(err.code, KN_EINVAL);
    if (field) assert_string_equal(err.path, field);
    if (!strstr(err.msg, msg_part)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
    assert_int_not_equal(access(path, F_OK), 0);
}

static void test_bad_options(void **state)
{
    (void)state;
    kn_encoder_opts o;
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.width = 63;
    expect_einval(o, "/width", "even");
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.height = 47;
    expect_einval(o, "/height", "even");
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.quality = 60;
    expect_einval(o, "/output/quality", "0..51");
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.quality = -1;
    expect_einval(o, "/output/quality", "0..51");
    o = base_opts(KN_ENCODER_AUTO, KN_CODEC_H264); o.preset = "p9";
    expect_einval(o, "/output/preset", "p1..p7");
    o = base_opts(KN_ENCODER_GPU, KN_CODEC_H264); o.preset = "fast";
    expect_einval(o, "/output/preset", "p1..p7");
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.preset = "p5";
    expect_einval(o, "/output/preset", "ultrafast");
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_VP9);
    expect_einval(o, "/output/codec", "h264");
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.fps_den = 0;
    expect_einval(o, "/fps", "positive");
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.bitrate_kbps = -5;
    expect_einval(o, "/output/bitrate", "bitrate");

    kn_err err;
    assert_int_equal(kn_encoder_check_preset(KN_ENCODER_AUTO, "slow", &err), KN_OK);
    assert_int_equal(kn_encoder_check_preset(KN_ENCODER_AUTO, "p7", &err), KN_OK);
    assert_int_equal(kn_encoder_check_preset(KN_ENCODER_AUTO, NULL, &err), KN_OK);
    assert_int_equal(kn_encoder_check_preset(KN_ENCODER_GPU, "", &err), KN_OK);
    assert_int_equal(kn_encoder_check_preset(KN_ENCODER_GPU, "p3", &err), KN_OK);
    assert_int_equal(kn_encoder_check_preset(KN_ENCODER_CPU, "placebo", &err), KN_OK);
    assert_int_equal(kn_encoder_check_preset(KN_ENCODER_CPU, "p3", &err), KN_EINVAL);
    assert_int_equal(kn_encoder_check_preset(KN_ENCODER_CPU, "Fast", &err), KN_EINVAL);
}

/* Caller contracts abort (KN_REQUIRE) instead of returning an error. */
static void create_with(void *arg)
{
    kn_encoder_opts *o = arg;
    char path[600];
    out_path(path, sizeof path, "contract.mp4");
    kn_encoder *e = NULL;
    kn_encoder_create(path, o, &e, NULL);
    kn_encoder_destroy(e);
}

static void create_without_path(void *arg)
{
    kn_encoder *e = NULL;
    kn_encoder_create("", arg, &e, NULL);
}

static void finish_null(void *arg)
{
    (void)arg;
    kn_encoder_finish(NULL, NULL);
}

static void test_contracts(void **state)
{
    (void)state;
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    o.format = KN_FORMAT_COUNT;
    assert_true(tu_dies(create_with, &o));
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_COUNT);
    assert_true(tu_dies(create_with, &o));
    o = base_opts((kn_encoder_pref)-1, KN_CODEC_H264);
    assert_true(tu_dies(create_with, &o));
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    assert_true(tu_dies(create_without_path, &o));
    assert_true(tu_dies(finish_null, NULL));
    /* and a valid call in the same harness lives */
    assert_false(tu_dies(create_with, &o));
}

static void test_unwritable_path(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "no/such/dir/out.mp4");
    kn_encoder_opts o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_EIO);
    assert_null(e);
    assert_non_null(strstr(err.msg, "no/such/dir/out.mp4"));
}

/* av_log lines land in kn_log: error level shown, INFO demoted to debug,
 * pieces of a line joined, no empty lines from trailing newlines. */
static void test_logging(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "log.txt");
    kn_encoder_init_logging();
    kn_encoder_init_logging();   /* idempotent */
    kn_log_set_level(KN_LOG_INFO);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    av_log(NULL, AV_LOG_ERROR, "boom %d\n", 42);
    av_log(NULL, AV_LOG_INFO, "chatter\n");
    av_log(NULL, AV_LOG_WARNING, "part one, ");
    av_log(NULL, AV_LOG_WARNING, "part two\n");
    av_log(NULL, AV_LOG_DEBUG, "noise\n");
    dup2(saved, STDERR_FILENO);
    close(saved);
    kn_log_set_level(KN_LOG_WARN);

    size_t len = 0;
    char *text = tu_read_file(path, &len);
    assert_non_null(text);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    if (lines != 2) fail_msg("want 2 log lines, got:\n%s", text);
    char *l1 = text, *l2 = strchr(text, '\n') + 1;
    assert_non_null(strstr(l1, "ERROR"));
    assert_true(strstr(l1, "boom 42") && strstr(l1, "boom 42") < l2);
    assert_non_null(strstr(l2, "WARN"));
    assert_non_null(strstr(l2, "part one, part two"));
    assert_null(strstr(text, "chatter"));
    assert_null(strstr(text, "noise"));
    free(text);
}

/* ---- webm / vp9 ------------------------------------------------------- */

static kn_encoder_opts webm_opts(kn_encoder_pref encoder)
{
    kn_encoder_opts o = base_opts(encoder, KN_CODEC_VP9);
    o.format = KN_FORMAT_WEBM;
    return o;
}

/* realtime speed (ultrafast), explicit codec, 24 fps. */
static void test_webm_vp9_24fps(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "vp9_24.webm");
    kn_encoder_opts o = webm_opts(KN_ENCODER_CPU);
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_string_equal(kn_encoder_name(e), "libvpx-vp9");
    kn_encoder_destroy(e);
    encode_file(path, o, 30);
    check_file(path, KN_FORMAT_WEBM, (AVRational){24, 1}, 30);
}

/* NTSC rate, the default codec for webm (vp9), "auto" (no NVENC for VP9:
 * libvpx-vp9 without trying NVENC), the default preset (good deadline:
 * lag-in-frames and hidden alt-ref frames, so frames are held and packets
 * come late), and the copy path. */
static void test_webm_vp9_ntsc_default(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "vp9_ntsc.webm");
    kn_encoder_opts o = webm_opts(KN_ENCODER_AUTO);
    o.codec = kn_format_default_codec(KN_FORMAT_WEBM);
    o.preset = NULL;
    o.fps_num = 30000;
    o.fps_den = 1001;
    kn_encoder *e = NULL;
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_string_equal(kn_encoder_name(e), "libvpx-vp9");
    const long n = 31;
    for (long i = 0; i < n; i++) {
        test_frame *f = frame_new(i, W, H, NULL);
        int rc = kn_encoder_push(e, i, f->data, f->stride, NULL, NULL, &err);
        if (rc) fail_msg("push: %s", err.msg);
        memset(f->mem, 0, (size_t)f->stride[0] * H + (size_t)f->stride[1] * H);
        frame_free(f);
    }
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);
    check_file(path, KN_FORMAT_WEBM, (AVRational){30000, 1001}, n);
}

/* Zero-copy contract with libvpx: each release fires once, also when the
 * encoder is destroyed unfinished with frames in its lookahead. */
static void test_webm_release_once(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "vp9_abandoned.webm");
    kn_encoder_opts o = webm_opts(KN_ENCODER_CPU);
    o.preset = "medium";
    enum { N = 12 };
    int counts[N] = {0};
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    push_frames(e, N, W, H, counts);
    for (int i = 0; i < N; i++) assert_true(counts[i] <= 1);
    kn_encoder_destroy(e);
    for (int i = 0; i < N; i++) assert_int_equal(counts[i], 1);

    /* finish on a webm with nothing pushed names the format. */
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_int_equal(kn_encoder_finish(e, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "webm"));
    kn_encoder_destroy(e);
}

/* Every x264/x265 preset name opens libvpx-vp9 (each maps to a deadline and
 * cpu-used that libvpx accepts) and encodes; ultrafast (realtime, cpu-used 8)
 * and placebo (good, cpu-used 0) must give different files, which a preset
 * silently ignored would not. */
static void test_webm_presets(void **state)
{
    (void)state;
    static const char *const names[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                        "medium", "slow", "slower", "veryslow", "placebo"};
    int64_t size_first = 0, size_last = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[600], name[64];
        snprintf(name, sizeof name, "vp9_%s.webm", names[i]);
        out_path(path, sizeof path, name);
        kn_encoder_opts o = webm_opts(i % 2 ? KN_ENCODER_AUTO : KN_ENCODER_CPU);
        o.preset = names[i];
        encode_file(path, o, 4);
        probe p;
        probe_file(path, (AVRational){24, 1}, &p);
        assert_int_equal(p.codec_id, AV_CODEC_ID_VP9);
        assert_int_equal(p.frames, 4);
        assert_int_equal(p.pixels_ok, 4);
        if (i == 0) size_first = p.bytes;
        size_last = p.bytes;
    }
    print_message("vp9 4 flat frames: ultrafast %lld bytes, placebo %lld bytes\n",
                  (long long)size_first, (long long)size_last);
    assert_true(size_first != size_last);
}

/* quality maps onto crf (constant quality, b=0) and bitrate onto a VBR
 * target: both must move the file size the right way. */
static void test_webm_quality_and_bitrate(void **state)
{
    (void)state;
    int64_t q10 = encode_noise_as(KN_FORMAT_WEBM, "vq10.webm", 10, 0);
    int64_t q45 = encode_noise_as(KN_FORMAT_WEBM, "vq45.webm", 45, 0);
    int64_t b50 = encode_noise_as(KN_FORMAT_WEBM, "vb50.webm", 20, 50);
    int64_t b2000 = encode_noise_as(KN_FORMAT_WEBM, "vb2000.webm", 20, 2000);
    print_message("vp9 noise sizes: q10 %lld q45 %lld 50k %lld 2000k %lld\n", (long long)q10,
                  (long long)q45, (long long)b50, (long long)b2000);
    assert_true(q45 * 2 < q10);
    assert_true(b50 * 2 < b2000);
    assert_true(b50 < 20000);
}

static void test_webm_keyframe_interval(void **state)
{
    (void)state;
    keyframes_every_6(KN_FORMAT_WEBM, KN_CODEC_VP9, "vp9_gop.webm");
}

static void expect_code(kn_encoder_opts o, int code, const char *field, const char *msg_part)
{
    char path[600];
    out_path(path, sizeof path, "bad.webm");
    kn_encoder *e = (kn_encoder *)&o;   /* must be reset to NULL */
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), code);
    assert_null(e);
    assert_int_equal(err.code, code);
    if (field) assert_string_equal(err.path, field);
    if (!strstr(err.msg, msg_part)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
    assert_int_not_equal(access(path, F_OK), 0);
}

static void test_webm_bad_options(void **state)
{
    (void)state;
    kn_encoder_opts o;
    /* Format / codec pairs. */
    o = webm_opts(KN_ENCODER_CPU); o.codec = KN_CODEC_H264;
    expect_code(o, KN_EINVAL, "/output/codec", "\"vp9\"");
    o = webm_opts(KN_ENCODER_AUTO); o.codec = KN_CODEC_HEVC;
    expect_code(o, KN_EINVAL, "/output/codec", "webm");
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_VP9); o.format = KN_FORMAT_MP4;
    expect_code(o, KN_EINVAL, "/output/codec", "webm");
    o = webm_opts(KN_ENCODER_CPU); o.codec = KN_CODEC_GIF;
    expect_code(o, KN_EINVAL, "/output/codec", "vp9");
    o = webm_opts(KN_ENCODER_CPU); o.format = KN_FORMAT_GIF;   /* vp9 does not go in gif */
    expect_code(o, KN_EINVAL, "/output/codec", "gif");
    /* Presets: NVENC names never fit VP9, whatever the encoder. */
    o = webm_opts(KN_ENCODER_AUTO); o.preset = "p4";
    expect_code(o, KN_EINVAL, "/output/preset", "NVENC");
    o = webm_opts(KN_ENCODER_CPU); o.preset = "p1";
    expect_code(o, KN_EINVAL, "/output/preset", "ultrafast");
    o = webm_opts(KN_ENCODER_GPU); o.preset = "p7";
    expect_code(o, KN_EINVAL, "/output/preset", "NVENC");
    o = webm_opts(KN_ENCODER_AUTO); o.preset = "Fast";
    expect_code(o, KN_EINVAL, "/output/preset", "vp9");
    o = webm_opts(KN_ENCODER_CPU); o.quality = 52;
    expect_code(o, KN_EINVAL, "/output/quality", "0..51");
    o = webm_opts(KN_ENCODER_CPU); o.width = 62; o.height = 45;
    expect_code(o, KN_EINVAL, "/height", "even");
    /* "gpu": there is no NVENC VP9 encoder, on any machine. */
    o = webm_opts(KN_ENCODER_GPU);
    expect_code(o, KN_EENCODER, "/output/encoder", "no NVENC VP9 encoder");
    o = webm_opts(KN_ENCODER_GPU); o.codec = kn_format_default_codec(KN_FORMAT_WEBM); o.preset = "slow";
    expect_code(o, KN_EENCODER, "/output/encoder", "no NVENC VP9 encoder");

    kn_err err;

    /* The enum check: the same rules, parsed. */
    assert_int_equal(kn_encoder_check(KN_FORMAT_WEBM, KN_CODEC_VP9, KN_ENCODER_GPU, "fast", &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_VP9, KN_ENCODER_CPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/codec");
    assert_int_equal(kn_encoder_check(KN_FORMAT_GIF, KN_CODEC_GIF, KN_ENCODER_GPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/encoder");
}

/* libx265 takes the x265 preset names (the same ten as x264's) through the
 * one "preset" field: each opens. */
static void test_hevc_presets(void **state)
{
    (void)state;
    static const char *const names[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                        "medium", "slow", "slower", "veryslow", "placebo"};
    char path[600];
    out_path(path, sizeof path, "hevc_preset.mp4");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        kn_err err;
        kn_err_clear(&err);
        assert_int_equal(kn_encoder_check_preset(KN_ENCODER_CPU, names[i], &err), KN_OK);
        assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_HEVC, KN_ENCODER_CPU, names[i], &err), KN_OK);
        kn_encoder_opts o = base_opts(KN_ENCODER_CPU, KN_CODEC_HEVC);
        o.preset = names[i];
        kn_encoder *e = NULL;
        int rc = kn_encoder_create(path, &o, &e, &err);
        if (rc) fail_msg("hevc preset %s: %s", names[i], err.msg);
        assert_string_equal(kn_encoder_name(e), "libx265");
        kn_encoder_destroy(e);
    }
}

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

/* The palette of n frames made by frame_new. */
static kn_palette frames_palette(long n)
{
    kn_palette_hist *h = NULL;
    kn_err err;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    for (long i = 0; i < n; i++) {
        test_frame *f = frame_new(i, W, H, NULL);
        assert_int_equal(kn_palette_hist_add_i420(h, (const uint8_t *const *)f->data, f->stride, W, H,
                                                  &err), KN_OK);
        frame_free(f);
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
    levels_rgb(y_level(k), u_level(k), v_level(k), want);
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

/* Encodes frame_new frames 0..n-1 as a gif at num/den; checks release. */
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
        test_frame *f = frame_new(i, W, H, counts);
        if (kn_encoder_push(e, i, f->data, f->stride, on_release, f, &err))
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

    char *fp = ffprobe(path);
    char line[64];
    assert_has_line(fp, "codec_name=gif");
    assert_has_line(fp, "format_name=gif");
    snprintf(line, sizeof line, "nb_read_packets=%ld", n);
    assert_has_line(fp, line);
    free(fp);
}

/* 24 fps: delays 4,4,5,4,4,4 (4.1667 cs on average), 30 frames in 125 cs. */
static void test_gif_24fps(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "clip24.gif");
    encode_gif(path, gif_opts(24, 1), 30);
    check_gif_timing(path, 30, 24, 1);
}

/* NTSC 29.97: 3.3367 cs a frame; 31 frames end at round(103.43) = 103 cs.
 * The last frame's delay comes from final_delay, not from the one before. */
static void test_gif_ntsc(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "clip2997.gif");
    encode_gif(path, gif_opts(30000, 1001), 31);
    check_gif_timing(path, 31, 30000, 1001);
    /* 100 fps: every delay is 1 cs; 7 fps (14.29 cs): 14, 14, 15, ... */
    out_path(path, sizeof path, "clip100.gif");
    encode_gif(path, gif_opts(100, 1), 5);
    check_gif_timing(path, 5, 100, 1);
    out_path(path, sizeof path, "clip7.gif");
    encode_gif(path, gif_opts(7, 1), 9);
    check_gif_timing(path, 9, 7, 1);
    /* One frame: its delay is 1/fps too. */
    out_path(path, sizeof path, "clip1.gif");
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
    out_path(path, sizeof path, "grad.gif");
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
    out_path(gone, sizeof gone, "abandoned.gif");
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
    expect_code(o, KN_EINVAL, "/output/codec", "gif");
    o = gif_opts(24, 1); o.codec = KN_CODEC_GIF;   /* its own codec is fine */
    kn_encoder *e = NULL;
    kn_err err;
    char path[600];
    out_path(path, sizeof path, "named.gif");
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    kn_encoder_destroy(e);
    o = gif_opts(24, 1); o.encoder = KN_ENCODER_GPU;
    expect_code(o, KN_EINVAL, "/output/encoder", "NVENC");
    o = gif_opts(24, 1); o.preset = "fast";
    expect_code(o, KN_EINVAL, "/output/preset", "no preset");
    o = gif_opts(120, 1);
    expect_code(o, KN_EINVAL, "/fps", "centiseconds");
    o = gif_opts(30001, 300);   /* just above 100 */
    expect_code(o, KN_EINVAL, "/fps", "<= 100");
    assert_int_equal(kn_encoder_check(KN_FORMAT_GIF, KN_CODEC_GIF, KN_ENCODER_AUTO, "", &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_GIF, KN_CODEC_GIF, KN_ENCODER_CPU, NULL, &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_GIF, KN_CODEC_VP9, KN_ENCODER_CPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/codec");
    assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_GIF, KN_ENCODER_CPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/codec");

    /* A palette is for gif only. */
    kn_encoder_opts m = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    out_path(path, sizeof path, "nopal.mp4");
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

/* An odd-size GIF with few colours: the palette is exact and nothing is
 * dithered, so every decoded pixel, the last column and row included, is
 * the frame's own colour. */
static void test_gif_odd_size(void **state)
{
    (void)state;
    char path[600];
    out_path(path, sizeof path, "odd.gif");
    kn_err err;
    odd_frame fr;
    odd_alloc(&fr);
    uint8_t *rgb = malloc((size_t)ODD_N * OW * OH * 3);
    assert_non_null(rgb);
    kn_palette_hist *h = NULL;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    for (long k = 0; k < ODD_N; k++) {
        odd_scene(k, &fr);
        assert_int_equal(kn_palette_hist_add_i420(h, (const uint8_t *const *)fr.data, fr.stride, OW, OH,
                                                  &err), KN_OK);
        odd_rgb(fr.data, fr.stride, rgb + (size_t)k * OW * OH * 3);
    }
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
    o = base_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    o.width = OW;
    expect_einval(o, "/width", "even");
    o = webm_opts(KN_ENCODER_CPU);
    o.height = OH;
    expect_code(o, KN_EINVAL, "/height", "even");
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
    out_path(path, sizeof path, "odd_grad.gif");
    kn_err err;
    odd_frame fr;
    odd_alloc(&fr);
    uint8_t *rgb = malloc((size_t)N * OW * OH * 3);
    assert_non_null(rgb);
    kn_palette_hist *h = NULL;
    assert_int_equal(kn_palette_hist_create(&h, &err), KN_OK);
    for (long k = 0; k < N; k++) {
        odd_grad(k, &fr);
        assert_int_equal(kn_palette_hist_add_i420(h, (const uint8_t *const *)fr.data, fr.stride, OW, OH,
                                                  &err), KN_OK);
        odd_rgb(fr.data, fr.stride, rgb + (size_t)k * OW * OH * 3);
    }
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

static int setup(void **state)
{
    (void)state;
    tu_tmpdir(g_dir, sizeof g_dir);
    if (!g_dir[0]) return -1;
    kn_log_set_tag("test");
    kn_log_set_level(KN_LOG_WARN);
    kn_encoder_init_logging();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!getenv("KINORA_KEEP_TEST_FILES")) tu_rmtree(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logging),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_contracts),
        cmocka_unit_test(test_unwritable_path),
        cmocka_unit_test(test_cpu_h264_24fps),
        cmocka_unit_test(test_cpu_h264_ntsc_bframes),
        cmocka_unit_test(test_copy_path),
        cmocka_unit_test(test_release_once),
        cmocka_unit_test(test_finish_rules),
        cmocka_unit_test(test_gpu_and_auto),
        cmocka_unit_test(test_cpu_hevc),
        cmocka_unit_test(test_quality_and_bitrate),
        cmocka_unit_test(test_keyframe_interval),
        cmocka_unit_test(test_hevc_presets),
        cmocka_unit_test(test_webm_bad_options),
        cmocka_unit_test(test_webm_vp9_24fps),
        cmocka_unit_test(test_webm_vp9_ntsc_default),
        cmocka_unit_test(test_webm_release_once),
        cmocka_unit_test(test_webm_presets),
        cmocka_unit_test(test_webm_quality_and_bitrate),
        cmocka_unit_test(test_webm_keyframe_interval),
        cmocka_unit_test(test_gif_bad_options),
        cmocka_unit_test(test_gif_24fps),
        cmocka_unit_test(test_gif_ntsc),
        cmocka_unit_test(test_gif_dithered),
        cmocka_unit_test(test_gif_odd_size),
        cmocka_unit_test(test_gif_odd_dithered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
