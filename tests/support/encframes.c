/* tests/support/encframes.c - see encframes.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/support/encframes.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "tests/support/decode.h"
#include "tests/support/testutil.h"

#define W TU_ENC_W
#define H TU_ENC_H

/* LeakSanitizer (KINORA_SANITIZE builds): libx265 3.5 leaks a few
 * allocations from FrameFilter::init on every encoder it opens; that is
 * Debian's library, not us. Ignored without a sanitizer. Every encoder test
 * links this object (it calls tu_enc_setup), so each gets the suppression. */
const char *__lsan_default_suppressions(void);
__attribute__((used)) const char *__lsan_default_suppressions(void)
{
    return "leak:libx265.so\n";
}

static char g_dir[512];

int tu_enc_setup(void **state)
{
    (void)state;
    tu_tmpdir(g_dir, sizeof g_dir);
    if (!g_dir[0]) return -1;
    kn_log_set_tag("test");
    kn_log_set_level(KN_LOG_WARN);
    kn_encoder_init_logging();
    return 0;
}

int tu_enc_teardown(void **state)
{
    (void)state;
    if (!getenv("KINORA_KEEP_TEST_FILES")) tu_rmtree(g_dir);
    return 0;
}

void tu_out_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

kn_encoder_opts tu_enc_opts(kn_encoder_pref encoder, kn_codec codec)
{
    kn_encoder_opts o = {
        .width = W, .height = H, .fps_num = 24, .fps_den = 1,
        .format = KN_FORMAT_MP4, .codec = codec, .encoder = encoder, .quality = 20,
        .preset = "ultrafast", .bitrate_kbps = 0, .keyframe_interval = 0,
    };
    return o;
}

kn_encoder_opts tu_webm_opts(kn_encoder_pref encoder)
{
    kn_encoder_opts o = tu_enc_opts(encoder, KN_CODEC_VP9);
    o.format = KN_FORMAT_WEBM;
    return o;
}

/* ---- frames ---------------------------------------------------------- */

int tu_y_level(long i) { return 20 + (int)((i * 7) % 200); }
int tu_u_level(long i) { return 90 + (int)((i * 3) % 60); }
int tu_v_level(long i) { return 170 - (int)((i * 3) % 60); }

tu_frame *tu_frame_new(long i, int w, int h, int *counts)
{
    tu_frame *f = calloc(1, sizeof *f);
    assert_non_null(f);
    int ys = w + TU_ENC_PAD, cs = w / 2 + TU_ENC_PAD;
    size_t ysz = (size_t)ys * h, csz = (size_t)cs * (h / 2);
    f->mem = malloc(ysz + 2 * csz);
    assert_non_null(f->mem);
    f->data[2] = f->mem;
    f->data[1] = f->mem + csz;
    f->data[0] = f->mem + 2 * csz;
    f->stride[0] = ys;
    f->stride[1] = f->stride[2] = cs;
    memset(f->mem, 255, ysz + 2 * csz);
    for (int y = 0; y < h; y++) memset(f->data[0] + (size_t)y * ys, tu_y_level(i), (size_t)w);
    for (int y = 0; y < h / 2; y++) {
        memset(f->data[1] + (size_t)y * cs, tu_u_level(i), (size_t)w / 2);
        memset(f->data[2] + (size_t)y * cs, tu_v_level(i), (size_t)w / 2);
    }
    f->index = i;
    f->release_count = counts;
    return f;
}

void tu_frame_free(tu_frame *f)
{
    if (!f) return;
    free(f->mem);
    free(f);
}

void tu_frame_release(void *opaque)
{
    tu_frame *f = opaque;
    if (f->release_count) f->release_count[f->index]++;
    memset(f->mem, 0, (size_t)f->stride[0] * H + (size_t)f->stride[1] * H);
    tu_frame_free(f);
}

/* Pushes frames 0..n-1, zero-copy with tu_frame_release or, with copy,
 * without a release callback and then released (scribbled over) here. */
static void push_frames(kn_encoder *e, long n, int w, int h, int *counts, bool copy)
{
    for (long i = 0; i < n; i++) {
        tu_frame *f = tu_frame_new(i, w, h, counts);
        kn_err err;
        kn_err_clear(&err);
        int rc = kn_encoder_push(e, i, f->data, f->stride, copy ? NULL : tu_frame_release, copy ? NULL : f, &err);
        if (rc) fail_msg("push %ld: %s", i, err.msg);
        if (copy) tu_frame_release(f);
    }
}

void tu_push_frames(kn_encoder *e, long n, int w, int h, int *counts)
{
    push_frames(e, n, w, h, counts, false);
}

void tu_push_frames_copied(kn_encoder *e, long n)
{
    push_frames(e, n, W, H, NULL, true);
}

void tu_encode_file(const char *path, kn_encoder_opts o, long n)
{
    kn_encoder *e = NULL;
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_encoder_create(path, &o, &e, &err);
    if (rc) fail_msg("create: %s", err.msg);
    int *counts = calloc((size_t)n, sizeof *counts);
    tu_push_frames(e, n, o.width, o.height, counts);
    rc = kn_encoder_finish(e, &err);
    if (rc) fail_msg("finish: %s", err.msg);
    kn_encoder_destroy(e);
    for (long i = 0; i < n; i++) assert_int_equal(counts[i], 1);
    free(counts);
}

/* Encodes 24 noise frames at the given quality / bitrate; returns the
 * file's size. */
static int64_t encode_noise(kn_format format, const char *name, int quality, long kbps)
{
    char path[600], file[64];
    snprintf(file, sizeof file, "%s.%s", name, kn_format_extension(format));
    tu_out_path(path, sizeof path, file);
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, kn_format_default_codec(format));
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

void tu_check_quality_and_bitrate(kn_format format)
{
    int64_t q10 = encode_noise(format, "q10", 10, 0);
    int64_t q45 = encode_noise(format, "q45", 45, 0);
    int64_t b50 = encode_noise(format, "b50", 20, 50);
    int64_t b2000 = encode_noise(format, "b2000", 20, 2000);
    print_message("%s noise sizes: q10 %lld q45 %lld 50k %lld 2000k %lld\n",
                  kn_codec_name(kn_format_default_codec(format)), (long long)q10, (long long)q45,
                  (long long)b50, (long long)b2000);
    assert_true(q45 * 2 < q10);
    assert_true(b50 * 2 < b2000);
    /* 50 kbit/s for 1 s of video: the file is near 6 kB, not the CRF size. */
    assert_true(b50 < 20000);
}

void tu_expect_refused(kn_encoder_opts o, int code, const char *field, const char *msg_part)
{
    char path[600], name[32];
    snprintf(name, sizeof name, "bad.%s", kn_format_extension(o.format));
    tu_out_path(path, sizeof path, name);
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

/* ---- reading back ------------------------------------------------------ */

static void probe_packet(void *ctx, long index, const AVPacket *pkt)
{
    tu_enc_probe *p = ctx;
    if (pkt->flags & AV_PKT_FLAG_KEY && p->nkey < 64) p->keyframes_at[p->nkey++] = index;
}

void tu_enc_probe_file(const char *path, AVRational fps, tu_enc_probe *p)
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
        int want[3] = {tu_y_level(k), tu_u_level(k), tu_v_level(k)}, worst[3] = {0, 0, 0};
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

char *tu_ffprobe(const char *path)
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

void tu_assert_has_line(const char *text, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "%s\n", line);
    if (!strstr(text, want)) fail_msg("ffprobe output lacks \"%s\":\n%s", line, text);
}

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

void tu_check_file(const char *path, kn_format format, AVRational fps, long n)
{
    bool webm = format == KN_FORMAT_WEBM;
    tu_enc_probe p;
    tu_enc_probe_file(path, fps, &p);
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
        assert_int_equal(tu_moov_before_mdat(path), 1);
    }
    assert_int_equal(p.space, AVCOL_SPC_SMPTE170M);
    assert_int_equal(p.range, AVCOL_RANGE_MPEG);
    assert_int_equal(p.prim, AVCOL_PRI_BT709);
    assert_int_equal(p.trc, AVCOL_TRC_IEC61966_2_1);

    char *fp = tu_ffprobe(path);
    char line[64];
    tu_assert_has_line(fp, webm ? "codec_name=vp9" : "codec_name=h264");
    tu_assert_has_line(fp, webm ? "format_name=matroska,webm" : "format_name=mov,mp4,m4a,3gp,3g2,mj2");
    tu_assert_has_line(fp, "pix_fmt=yuv420p");
    snprintf(line, sizeof line, "width=%d", W);
    tu_assert_has_line(fp, line);
    snprintf(line, sizeof line, "height=%d", H);
    tu_assert_has_line(fp, line);
    snprintf(line, sizeof line, "nb_read_packets=%ld", n);
    tu_assert_has_line(fp, line);
    tu_assert_has_line(fp, "color_space=smpte170m");
    tu_assert_has_line(fp, "color_range=tv");
    tu_assert_has_line(fp, "color_primaries=bt709");
    tu_assert_has_line(fp, "color_transfer=iec61966-2-1");
    tu_assert_has_line(fp, "chroma_location=center");
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
