/*
 * encode/encoder.c - YUV 4:2:0 frames in, an MP4 (H.264/HEVC), WebM (VP9) or
 * animated GIF file out. See encoder.h.
 *
 * Follows FFmpeg's doc/examples/encode_video.c (send_frame / receive_packet
 * loop) and mux.c (output context, stream, header, interleaved writes,
 * trailer), written against FFmpeg 5.1 (no AVFrame.duration: every packet
 * gets its duration from the encoder time base, 1 tick = 1 frame).
 *
 * Invariants:
 *  - The codec time base is fps_den/fps_num and frame i has pts i, so every
 *    packet lasts exactly one tick before it is rescaled to the stream's
 *    time base; frames are pushed with consecutive indexes from 0.
 *  - release(opaque) passed to kn_encoder_push is called exactly once per
 *    push call that passed one: when libavcodec drops its last reference to
 *    the wrapping AVFrame (usually during that push, at the latest during
 *    finish or destroy), or before push returns when push fails before the
 *    frame reached libavcodec. The caller never has to guess.
 *  - After any mid-stream failure the encoder is "failed": push and finish
 *    refuse to run; only destroy is valid.
 *  - A kn_encoder owns its AVCodecContext, AVFormatContext (and its AVIO
 *    file handle) and a reusable AVPacket.
 *  - Format and codec are checked together before anything is opened: mp4
 *    holds h264/hevc, webm holds vp9 (the webm muxer would refuse the
 *    others anyway, and VP9-in-MP4 plays in too few places to offer), gif
 *    holds libavcodec's "gif" encoder only.
 *  - GIF is the exception to "1 tick = 1 frame" and to zero-copy: its time
 *    base is 1/100 s (GIF delays are whole centiseconds) and frame i has
 *    pts gif_pts(i) = round(i * 100 * fps_den / fps_num), halves rounded up;
 *    packet k lasts gif_pts(k + 1) - gif_pts(k). Each push converts the
 *    caller's planes (I420ToARGB, then dithering onto the clip palette) into
 *    a PAL8 frame of our own and releases the planes before returning.
 *  - GIF frames are dithered only inside the rectangle (2x2-aligned) where
 *    the I420 input differs from the previous frame; outside it the previous
 *    frame's indexes are copied. Still areas therefore keep the same pixels
 *    frame after frame (no dither shimmer), and the gif encoder's inter-frame
 *    cropping and transparency can skip them.
 *  - Chroma planes are chroma_dim(w) x chroma_dim(h) = ceil(w / 2) x
 *    ceil(h / 2). mp4 and webm take even sizes only (yuv420p encoders want
 *    whole 2x2 blocks), so there it is w / 2 x h / 2; GIF takes any size,
 *    and an odd last column or row is a partial 2x2 block with a chroma
 *    sample of its own (what libyuv's ARGBToI420 writes and I420ToARGB
 *    reads). The GIF path clips the 2x2-aligned rectangle to the frame.
 */
#include "encode/encoder.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/cpu.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libyuv.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/require.h"
#include "encode/palette.h"

#define GIF_TICKS 100          /* GIF delays are in 1/100 s */

/* Samples across (or down) a 4:2:0 chroma plane for n luma samples: one per
 * 2x2 block, a partial block at an odd edge included. */
static int chroma_dim(int n) { return (n + 1) / 2; }

enum family { FAM_CPU, FAM_GPU };

struct kn_encoder {
    AVCodecContext *cctx;
    AVFormatContext *fmt;
    AVStream *st;
    AVPacket *pkt;
    const char *name;          /* static string owned by libavcodec */
    kn_format format;
    long next_index;           /* the index the next push must carry */
    bool header_written;
    bool finished;
    bool failed;
    int fail_code;             /* once failed: KN_EENCODE, or KN_EIO for a write */
    bool trailer_tried;        /* av_write_trailer was called */
    /* GIF only */
    bool gif;
    int64_t fps_num, fps_den;
    long packets;              /* packets written so far (their durations) */
    kn_palette palette;
    kn_palette_mapper *mapper; /* NULL until kn_encoder_set_palette */
    uint8_t *prev[3];          /* the previous frame's planes, tightly packed
                                * (chroma stride chroma_dim(width)) */
    AVFrame *prev_pal;         /* the previous PAL8 frame (read-only: the gif
                                * encoder may hold a reference to it) */
    uint8_t *argb;             /* two ARGB rows of conversion scratch */
};

/* ---- logging -------------------------------------------------------- */

/* av_log may be called from encoder threads (x264 lookahead, frame threads)
 * and a message may arrive in pieces without a newline, so each thread keeps
 * its own partial line and prefix state. */
static __thread char tl_line[1024];
static __thread size_t tl_len;
static __thread int tl_prefix = 1;

/* While an NVENC candidate is being opened, its error lines ("Cannot load
 * libcuda.so.1", "No capable devices found") are collected here for the
 * KN_EENCODER message / fallback warning instead of being logged as errors:
 * on a machine without a GPU under "auto" they are expected. */
static __thread bool tl_capturing;
static __thread char tl_capture[256];

static int map_level(int av_level)
{
    if (av_level <= AV_LOG_ERROR) return KN_LOG_ERROR;   /* panic, fatal, error */
    if (av_level <= AV_LOG_WARNING) return KN_LOG_WARN;
    /* INFO is chatter (x264's "profile High, level 1.1" and stats): debug. */
    return KN_LOG_DEBUG;
}

static void emit_line(int level, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    if (n == 0) return;
    kn_log(level, "libav: %.*s", (int)n, s);
}

static void av_log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > av_log_get_level() || level > AV_LOG_VERBOSE) return;
    char buf[1024];
    int kl = map_level(level);
    if (tl_capturing && level <= AV_LOG_ERROR) {
        va_list cp;
        va_copy(cp, vl);
        size_t used = strnlen(tl_capture, sizeof tl_capture);
        if (used > 0 && used < sizeof tl_capture - 3) {
            memcpy(tl_capture + used, "; ", 3);
            used += 2;
        }
        if (used < sizeof tl_capture - 1)
            vsnprintf(tl_capture + used, sizeof tl_capture - used, fmt, cp);
        va_end(cp);
        used = strnlen(tl_capture, sizeof tl_capture);
        while (used > 0 && (tl_capture[used - 1] == '\n' || tl_capture[used - 1] == '\r'))
            tl_capture[--used] = '\0';
        kl = KN_LOG_DEBUG;
    }
    int n = av_log_format_line2(avcl, level, fmt, vl, buf, (int)sizeof buf, &tl_prefix);
    if (n < 0) return;
    size_t len = strnlen(buf, sizeof buf);
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t seg = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t room = sizeof tl_line - 1 - tl_len;
        size_t take = seg < room ? seg : room;   /* over-long lines are cut */
        memcpy(tl_line + tl_len, p, take);
        tl_len += take;
        if (!nl) break;
        emit_line(kl, tl_line, tl_len);
        tl_len = 0;
        p = nl + 1;
    }
}

static void install_log_cb(void) { av_log_set_callback(av_log_cb); }

void kn_encoder_init_logging(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_log_cb);
}

/* ---- options -------------------------------------------------------- */

static const char *const cpu_presets[] = {
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo", NULL
};
static const char *const gpu_presets[] = {
    "p1", "p2", "p3", "p4", "p5", "p6", "p7", NULL
};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s)) return true;
    return false;
}

static bool empty(const char *s) { return !s || !*s; }

#define CPU_LIST "ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo"
#define GPU_LIST "p1..p7"

static bool in_range(const kn_encoder_opts *o)
{
    return (unsigned)o->format < KN_FORMAT_COUNT && (unsigned)o->codec < KN_CODEC_COUNT &&
           (unsigned)o->encoder < KN_ENCODER_PREF_COUNT;
}

/* The x265 preset names are x264's (x265_preset_names), so one list serves
 * both libx264 and libx265. */
int kn_encoder_check_preset(kn_encoder_pref encoder, const char *preset, kn_err *err)
{
    KN_REQUIRE((unsigned)encoder < KN_ENCODER_PREF_COUNT);
    if (empty(preset)) return KN_OK;
    bool cpu = in_list(cpu_presets, preset), gpu = in_list(gpu_presets, preset);
    if (encoder == KN_ENCODER_CPU && !cpu)
        return kn_err_set(err, KN_EINVAL, "/output/preset",
                          "preset \"%.32s\" does not fit encoder \"cpu\" (libx264/libx265): use one of "
                          CPU_LIST, preset);
    if (encoder == KN_ENCODER_GPU && !gpu)
        return kn_err_set(err, KN_EINVAL, "/output/preset",
                          "preset \"%.32s\" does not fit encoder \"gpu\" (NVENC): use one of " GPU_LIST,
                          preset);
    if (!cpu && !gpu)
        return kn_err_set(err, KN_EINVAL, "/output/preset",
                          "unknown preset \"%.32s\": use one of " CPU_LIST " (CPU) or " GPU_LIST
                          " (NVENC)", preset);
    return KN_OK;
}

/* ---- formats and codecs ------------------------------------------------- */

/* Which codecs each container holds. */
static bool codec_fits(kn_format f, kn_codec c)
{
    switch (f) {
    case KN_FORMAT_MP4: return c == KN_CODEC_H264 || c == KN_CODEC_HEVC;
    case KN_FORMAT_WEBM: return c == KN_CODEC_VP9;
    case KN_FORMAT_GIF: return c == KN_CODEC_GIF;
    default: return false;
    }
}

/* KN_EINVAL at /output/codec for a codec that format f does not hold,
 * saying what to do instead. codec is its spelling as given; c is the codec
 * it names, NULL for one the vocabulary does not know. */
static int codec_misfit(kn_format f, const char *codec, const kn_codec *c, kn_err *err)
{
    bool h26x = c && (*c == KN_CODEC_H264 || *c == KN_CODEC_HEVC);
    /* GIF has one codec (LZW over palette indexes): no choice to make, so
     * "gif" or nothing. */
    if (f == KN_FORMAT_GIF)
        return kn_err_set(err, KN_EINVAL, "/output/codec",
                          "codec \"%.32s\" does not go in gif: leave \"codec\" out for gif (or use "
                          "format \"mp4\" or \"webm\" for it)", codec);
    if (f == KN_FORMAT_WEBM && h26x)
        return kn_err_set(err, KN_EINVAL, "/output/codec",
                          "codec \"%s\" does not go in webm: webm takes \"vp9\" (or use format "
                          "\"mp4\" for %s)", codec, codec);
    if (f == KN_FORMAT_MP4 && c && *c == KN_CODEC_VP9)
        return kn_err_set(err, KN_EINVAL, "/output/codec",
                          "codec \"vp9\" goes with format \"webm\": mp4 takes \"h264\" or \"hevc\"");
    return kn_err_set(err, KN_EINVAL, "/output/codec", "codec \"%.32s\" is not supported in %s: use %s",
                      codec, kn_format_name(f), f == KN_FORMAT_WEBM ? "\"vp9\"" : "\"h264\" or \"hevc\"");
}

int kn_encoder_check(kn_format format, kn_codec codec, kn_encoder_pref encoder, const char *preset,
                     kn_err *err)
{
    KN_REQUIRE((unsigned)format < KN_FORMAT_COUNT && (unsigned)codec < KN_CODEC_COUNT &&
               (unsigned)encoder < KN_ENCODER_PREF_COUNT);
    if (!codec_fits(format, codec)) return codec_misfit(format, kn_codec_name(codec), &codec, err);
    if (codec == KN_CODEC_GIF) {
        /* Only libavcodec's own gif encoder writes GIF: there is no GPU one
         * and it has no speed settings. */
        if (encoder == KN_ENCODER_GPU)
            return kn_err_set(err, KN_EINVAL, "/output/encoder",
                              "encoder \"gpu\" means NVENC, which cannot write gif: use \"auto\" or "
                              "\"cpu\" (or leave \"encoder\" out)");
        if (!empty(preset))
            return kn_err_set(err, KN_EINVAL, "/output/preset",
                              "format \"gif\" takes no preset (\"%.32s\"): leave \"preset\" out", preset);
        return KN_OK;
    }
    if (codec != KN_CODEC_VP9) return kn_encoder_check_preset(encoder, preset, err);
    /* "gpu" itself is refused when the encoder opens (KN_EENCODER, like a
     * missing NVENC). */
    if (empty(preset) || in_list(cpu_presets, preset)) return KN_OK;
    if (in_list(gpu_presets, preset))
        return kn_err_set(err, KN_EINVAL, "/output/preset",
                          "preset \"%s\" is an NVENC preset and VP9 has no NVENC encoder: use one of "
                          CPU_LIST " (libvpx-vp9)", preset);
    return kn_err_set(err, KN_EINVAL, "/output/preset",
                      "unknown preset \"%.32s\" for vp9: use one of " CPU_LIST, preset);
}

/* ---- the codec a document names ------------------------------------------- */

int kn_encoder_codec_parse(kn_format format, const char *codec, kn_codec *out, kn_err *err)
{
    KN_REQUIRE((unsigned)format < KN_FORMAT_COUNT && out);
    if (empty(codec)) {
        *out = kn_format_default_codec(format);
        return KN_OK;
    }
    if (!kn_codec_parse(codec, out)) return codec_misfit(format, codec, NULL, err);
    return KN_OK;
}

/* ---- validation ----------------------------------------------------------- */

static int validate(const kn_encoder_opts *o, kn_err *err)
{
    if (o->width <= 0 || o->height <= 0 || o->width > KN_FRAME_MAX_W || o->height > KN_FRAME_MAX_H)
        return kn_err_set(err, KN_EINVAL, "/width", "frame size %dx%d is out of range (1x1..%dx%d)",
                          o->width, o->height, KN_FRAME_MAX_W, KN_FRAME_MAX_H);
    if (o->fps_num <= 0 || o->fps_den <= 0)
        return kn_err_set(err, KN_EINVAL, "/fps", "frame rate %d/%d must be positive",
                          o->fps_num, o->fps_den);
    if (!codec_fits(o->format, o->codec))
        return codec_misfit(o->format, kn_codec_name(o->codec), &o->codec, err);
    /* yuv420p encoders (x264, x265, NVENC, libvpx) code whole 2x2 chroma
     * blocks; a GIF's frames are palette images of any size. */
    if (o->codec != KN_CODEC_GIF && (o->width % 2 || o->height % 2))
        return kn_err_set(err, KN_EINVAL, o->width % 2 ? "/width" : "/height",
                          "frame size %dx%d: width and height must be even for yuv420p output",
                          o->width, o->height);
    /* Frame i starts at round(i * 100 / fps) centiseconds: above 100 fps two
     * frames would start at the same tick. */
    if (o->codec == KN_CODEC_GIF && (int64_t)o->fps_num > (int64_t)GIF_TICKS * o->fps_den)
        return kn_err_set(err, KN_EINVAL, "/fps",
                          "frame rate %d/%d is too high for gif: gif times frames in whole "
                          "centiseconds, so fps must be <= 100 (<= 50 plays at the right speed "
                          "in browsers)", o->fps_num, o->fps_den);
    if (o->bitrate_kbps < 0 || o->bitrate_kbps > KN_ENCODE_MAX_BITRATE_KBPS)
        return kn_err_set(err, KN_EINVAL, "/output/bitrate",
                          "bitrate %ld kbit/s is out of range (1..%ld)", o->bitrate_kbps,
                          KN_ENCODE_MAX_BITRATE_KBPS);
    if (o->quality < 0 || o->quality > 51)
        return kn_err_set(err, KN_EINVAL, "/output/quality",
                          "quality %d is out of range: use 0..51 (lower is better)", o->quality);
    return kn_encoder_check(o->format, o->codec, o->encoder, o->preset, err);
}

/* ---- create --------------------------------------------------------- */

static int set_opt(AVCodecContext *c, const char *key, const char *val, kn_err *err)
{
    int r = av_opt_set(c->priv_data, key, val, 0);
    if (r < 0)
        return kn_err_set(err, KN_EINTERNAL, NULL, "%s: cannot set option %s=%s: %s",
                          c->codec->name, key, val, av_err2str(r));
    return KN_OK;
}

/* libvpx-vp9 has no named presets; its speed is a deadline mode and
 * cpu-used (0 slowest .. 8 fastest here; FFmpeg 5.1 accepts up to 8). The
 * x264 names map onto that scale so one "preset" field means "how much time
 * to spend" for every CPU encoder:
 *   ultrafast, superfast, veryfast  realtime, cpu-used 8, 7, 6
 *   faster, fast, medium            good, cpu-used 4, 3, 2
 *   slow, slower, veryslow, placebo good, cpu-used 1, 0, 0, 0
 * ("best" is not used: since libvpx 1.6 VP9 treats it as "good"). No preset
 * means medium, as it does for x264/x265, rather than libvpx's own default
 * (good, cpu-used 1), which is about twice as slow for little gain. */
static const struct vp9_speed {
    const char *preset, *deadline, *cpu_used;
} vp9_speeds[] = {
    {"ultrafast", "realtime", "8"}, {"superfast", "realtime", "7"},
    {"veryfast", "realtime", "6"},  {"faster", "good", "4"},
    {"fast", "good", "3"},          {"medium", "good", "2"},
    {"slow", "good", "1"},          {"slower", "good", "0"},
    {"veryslow", "good", "0"},      {"placebo", "good", "0"},
};

static const struct vp9_speed *vp9_speed(const char *preset)
{
    if (empty(preset)) preset = "medium";
    for (size_t i = 0; i < sizeof vp9_speeds / sizeof vp9_speeds[0]; i++)
        if (!strcmp(vp9_speeds[i].preset, preset)) return &vp9_speeds[i];
    return NULL;
}

/* quality 0..51 (the x264 CRF scale the job uses) onto libvpx's 0..63 crf,
 * linearly and rounded: 0 -> 0, 20 (the default) -> 25, 51 -> 63. crf 0 is
 * the best quantiser, not lossless (that would be libvpx's "lossless"). */
static int vp9_crf(int quality) { return (quality * 63 + 25) / 51; }

static int configure_vp9(AVCodecContext *c, const kn_encoder_opts *o, kn_err *err)
{
    int rc;
    char buf[32];
    if (o->bitrate_kbps > 0) {
        /* Without crf libvpx runs VBR on the target. */
        c->bit_rate = (int64_t)o->bitrate_kbps * 1000;
    } else {
        /* crf with b=0 is constant quality (VPX_Q); crf with a bitrate
         * would be constrained quality. */
        c->bit_rate = 0;
        snprintf(buf, sizeof buf, "%d", vp9_crf(o->quality));
        if ((rc = set_opt(c, "crf", buf, err))) return rc;
    }
    const struct vp9_speed *sp = vp9_speed(o->preset);
    if (!sp)   /* validate() already refused it */
        return kn_err_set(err, KN_EINTERNAL, "/output/preset", "no vp9 speed for preset \"%.32s\"",
                          o->preset);
    if ((rc = set_opt(c, "deadline", sp->deadline, err))) return rc;
    if ((rc = set_opt(c, "cpu-used", sp->cpu_used, err))) return rc;
    /* Row multithreading lets libvpx use more threads than tile columns
     * (a 1080p frame has at most 4), so all cores help at every size. */
    if ((rc = set_opt(c, "row-mt", "1", err))) return rc;
    int cpus = av_cpu_count();
    c->thread_count = cpus < 1 ? 1 : cpus > 16 ? 16 : cpus;   /* libvpx's own cap is 64 */
    return KN_OK;
}

/* Allocates and configures a context for codec; opening is left to the
 * caller so it can tell "could not open" apart from setup bugs. */
static int configure(const AVCodec *codec, enum family fam, kn_codec vc,
                     const kn_encoder_opts *o, bool global_header, AVCodecContext **out,
                     kn_err *err)
{
    int rc = KN_OK;
    char buf[32];
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (!c) { rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory allocating %s", codec->name); goto out; }

    c->width = o->width;
    c->height = o->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){o->fps_den, o->fps_num};
    c->framerate = (AVRational){o->fps_num, o->fps_den};
    c->sample_aspect_ratio = (AVRational){1, 1};
    double fps = (double)o->fps_num / o->fps_den;
    double kfi = o->keyframe_interval > 0 ? o->keyframe_interval : 2.0;
    double gop = round(kfi * fps);
    c->gop_size = gop < 1 ? 1 : gop > KN_ENCODE_MAX_GOP ? KN_ENCODE_MAX_GOP : (int)gop;
    /* max_b_frames: left at the encoder's default (x264/x265 preset, NVENC). */

    /* Colour tags. The frames come from libyuv's ARGBToI420: BT.601 matrix
     * (smpte170m), limited ("tv"/MPEG) range. The source pixels are sRGB, so
     * the primaries are BT.709's (sRGB shares them) and the transfer is the
     * sRGB curve (iec61966-2-1). Tagging the matrix as BT.709 instead would
     * shift colours in every player, because the conversion used BT.601. */
    c->colorspace = AVCOL_SPC_SMPTE170M;
    c->color_range = AVCOL_RANGE_MPEG;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_IEC61966_2_1;
    /* ARGBToI420 averages each 2x2 block: chroma sits at the block centre. */
    c->chroma_sample_location = AVCHROMA_LOC_CENTER;

    if (global_header) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

    if (vc == KN_CODEC_VP9) {
        rc = configure_vp9(c, o, err);
        goto out;
    }

    if (o->bitrate_kbps > 0) {
        c->bit_rate = (int64_t)o->bitrate_kbps * 1000;
        if (fam == FAM_GPU && (rc = set_opt(c, "rc", "vbr", err))) goto out;
    } else {
        snprintf(buf, sizeof buf, "%d", o->quality);
        if (fam == FAM_GPU) {
            if ((rc = set_opt(c, "rc", "constqp", err))) goto out;
            if ((rc = set_opt(c, "qp", buf, err))) goto out;
        } else if ((rc = set_opt(c, "crf", buf, err))) {
            goto out;
        }
    }

    /* Under "auto" the preset may belong to the other family: ignore it. */
    if (!empty(o->preset) &&
        in_list(fam == FAM_GPU ? gpu_presets : cpu_presets, o->preset) &&
        (rc = set_opt(c, "preset", o->preset, err)))
        goto out;

    /* x265 prints its banner and statistics straight to stderr, bypassing
     * av_log; keep it to errors. */
    if (!strcmp(codec->name, "libx265") &&
        (rc = set_opt(c, "x265-params", "log-level=error", err)))
        goto out;

out:
    if (rc) avcodec_free_context(&c);
    *out = c;
    return rc;
}

/* A machine without a GPU falls back on every job; saying so each time would
 * bury the log, so the first fallback of the process is a warning and the
 * rest are debug lines. */
static void fallback_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fallback_log(const char *fmt, ...)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!atomic_flag_test_and_set(&warned))
        kn_warn("%s (said once; later jobs fall back without a warning)", msg);
    else
        kn_debug("%s", msg);
}

/* libavcodec's gif encoder on PAL8 frames: "auto" and "cpu" both mean it
 * (kn_encoder_check_output refused "gpu"). Quality, bitrate, preset and
 * keyframe interval do not apply: GIF is lossless over its palette and has
 * no rate control or keyframes. */
static int open_gif(const kn_encoder_opts *o, kn_encoder *e, kn_err *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("gif");
    if (!codec)
        return kn_err_set(err, KN_EENCODER, "/output/format",
                          "this FFmpeg build has no gif encoder: use format \"mp4\" or \"webm\"");
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (!c) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory allocating the gif encoder");
    c->width = o->width;
    c->height = o->height;
    c->pix_fmt = AV_PIX_FMT_PAL8;
    c->time_base = (AVRational){1, GIF_TICKS};
    c->framerate = (AVRational){o->fps_num, o->fps_den};
    /* sample_aspect_ratio stays 0/1: the header's aspect byte is then 0,
     * "no information", which every reader takes as square pixels. */
    int r = avcodec_open2(c, codec, NULL);
    if (r < 0) {
        avcodec_free_context(&c);
        return kn_err_set(err, KN_EENCODER, "/output/format", "the gif encoder could not be opened: %s",
                          av_err2str(r));
    }
    e->cctx = c;
    e->name = codec->name;
    return KN_OK;
}

static int open_codec(const kn_encoder_opts *o, bool global_header, kn_encoder *e, kn_err *err)
{
    kn_codec vc = o->codec;
    if (vc == KN_CODEC_GIF) return open_gif(o, e, err);
    const char *enc = kn_encoder_pref_name(o->encoder);
    static const char *const gpu_names[KN_CODEC_COUNT] = {
        [KN_CODEC_H264] = "h264_nvenc", [KN_CODEC_HEVC] = "hevc_nvenc"};
    static const char *const cpu_names[KN_CODEC_COUNT] = {
        [KN_CODEC_H264] = "libx264", [KN_CODEC_HEVC] = "libx265", [KN_CODEC_VP9] = "libvpx-vp9"};
    const char *gpu_name = gpu_names[vc], *cpu_name = cpu_names[vc];
    /* NVENC encodes H.264/HEVC/AV1 but not VP9: refuse "gpu" up front
     * rather than probing for an encoder that cannot exist. */
    if (!gpu_name && o->encoder == KN_ENCODER_GPU)
        return kn_err_set(err, KN_EENCODER, "/output/encoder",
                          "encoder \"gpu\" requested but there is no NVENC VP9 encoder: use encoder "
                          "\"cpu\" or \"auto\" (libvpx-vp9) for webm, or h264/hevc in mp4 for NVENC");
    struct candidate { const char *name; enum family fam; } cand[2];
    int n = 0;
    if (o->encoder != KN_ENCODER_CPU && gpu_name) cand[n++] = (struct candidate){gpu_name, FAM_GPU};
    if (o->encoder != KN_ENCODER_GPU) cand[n++] = (struct candidate){cpu_name, FAM_CPU};
    bool fallback_ok = o->encoder == KN_ENCODER_AUTO;

    for (int i = 0; i < n; i++) {
        bool last = i == n - 1;
        const AVCodec *codec = avcodec_find_encoder_by_name(cand[i].name);
        if (!codec) {
            if (!last && fallback_ok) {
                fallback_log("encoder %s is not in this libavcodec; trying %s", cand[i].name, cand[i + 1].name);
                continue;
            }
            return kn_err_set(err, KN_EENCODER, "/output/encoder",
                              "encoder \"%s\" requested but %s is not available in this FFmpeg build",
                              enc, cand[i].name);
        }
        AVCodecContext *c = NULL;
        int rc = configure(codec, cand[i].fam, vc, o, global_header, &c, err);
        if (rc) return rc;
        bool probe = cand[i].fam == FAM_GPU;
        if (probe) {
            tl_capture[0] = '\0';
            tl_capturing = true;
        }
        int r = avcodec_open2(c, codec, NULL);
        tl_capturing = false;
        if (r >= 0) {
            e->cctx = c;
            e->name = codec->name;
            return KN_OK;
        }
        avcodec_free_context(&c);
        /* Why, in libav's words when it said so: "Cannot load libcuda.so.1
         * (Operation not permitted)". */
        char why[384];
        if (probe && tl_capture[0])
            snprintf(why, sizeof why, "%s (%s)", tl_capture, av_err2str(r));
        else
            snprintf(why, sizeof why, "%s", av_err2str(r));
        if (!last && fallback_ok) {
            fallback_log("encoder %s could not be opened: %s; falling back to %s", cand[i].name, why,
                         cand[i + 1].name);
            continue;
        }
        if (cand[i].fam == FAM_GPU)
            return kn_err_set(err, KN_EENCODER, "/output/encoder",
                              "encoder \"%s\" requested but %s could not be opened: %s "
                              "(no NVIDIA GPU or driver?)", enc, cand[i].name, why);
        return kn_err_set(err, KN_EENCODER, "/output/encoder",
                          "encoder \"%s\" requested but %s could not be opened: %s", enc,
                          cand[i].name, why);
    }
    return kn_err_set(err, KN_EINTERNAL, NULL, "no encoder candidate for \"%s\"", enc);
}

int kn_encoder_create(const char *path, const kn_encoder_opts *opts, kn_encoder **out,
                      kn_err *err)
{
    int rc, r;
    kn_encoder *e = NULL;
    AVDictionary *mux_opts = NULL;
    KN_REQUIRE(path && *path && opts && out);
    KN_REQUIRE(in_range(opts));
    *out = NULL;
    const char *muxer = kn_format_name(opts->format);   /* the formats' names are the muxers' */
    bool mp4 = opts->format == KN_FORMAT_MP4;
    if ((rc = validate(opts, err))) goto out;

    e = calloc(1, sizeof *e);
    if (!e) { rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory"); goto out; }
    e->format = opts->format;
    if (opts->codec == KN_CODEC_GIF) {
        size_t ysz = (size_t)opts->width * opts->height;
        size_t csz = (size_t)chroma_dim(opts->width) * chroma_dim(opts->height);
        e->gif = true;
        e->fps_num = opts->fps_num;
        e->fps_den = opts->fps_den;
        e->prev[0] = malloc(ysz);
        e->prev[1] = malloc(csz);
        e->prev[2] = malloc(csz);
        e->argb = malloc((size_t)opts->width * 4 * 2);
        if (!e->prev[0] || !e->prev[1] || !e->prev[2] || !e->argb) {
            rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory for gif frame buffers");
            goto out;
        }
    }

    r = avformat_alloc_output_context2(&e->fmt, NULL, muxer, path);
    if (r < 0 || !e->fmt) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "cannot create a %s muxer: %s", muxer,
                        av_err2str(r));
        goto out;
    }
    if ((rc = open_codec(opts, e->fmt->oformat->flags & AVFMT_GLOBALHEADER, e, err))) goto out;

    e->st = avformat_new_stream(e->fmt, NULL);
    if (!e->st) { rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory adding a stream"); goto out; }
    e->st->id = 0;
    e->st->time_base = e->cctx->time_base;   /* a hint; the muxer picks its own */
    e->st->avg_frame_rate = e->cctx->framerate;
    r = avcodec_parameters_from_context(e->st->codecpar, e->cctx);
    if (r < 0) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "cannot copy codec parameters: %s", av_err2str(r));
        goto out;
    }
    /* 'hvc1' (parameter sets only in the sample entry, which GLOBAL_HEADER
     * gives us) is what Apple players require; the mp4 default is 'hev1'. */
    if (e->cctx->codec_id == AV_CODEC_ID_HEVC)
        e->st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');

    e->pkt = av_packet_alloc();
    if (!e->pkt) { rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory"); goto out; }

    r = avio_open(&e->fmt->pb, path, AVIO_FLAG_WRITE);
    if (r < 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot open output file %s: %s", path, av_err2str(r));
        goto out;
    }
    /* webm: Cues and Duration go at the end, reached through the SeekHead
     * at the start, which players handle with a range request. */
    if (mp4 && (r = av_dict_set(&mux_opts, "movflags", "+faststart", 0)) < 0) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory");
        goto out;
    }
    /* loop=0 is the NETSCAPE2.0 "repeat forever" (the muxer's default too;
     * said here so a changed default cannot stop our animations). */
    if (e->gif && (r = av_dict_set(&mux_opts, "loop", "0", 0)) < 0) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory");
        goto out;
    }
    r = avformat_write_header(e->fmt, &mux_opts);
    if (r < 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot write the %s header to %s: %s", muxer, path,
                        av_err2str(r));
        goto out;
    }
    e->header_written = true;
    if (av_dict_count(mux_opts) > 0) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "the %s muxer did not accept its options (%s)",
                        muxer, mp4 ? "movflags=+faststart" : "loop=0");
        goto out;
    }
    kn_debug("encoder: %s %dx%d @ %d/%d -> %s (%s)", e->name, opts->width, opts->height,
             opts->fps_num, opts->fps_den, path, muxer);

out:
    av_dict_free(&mux_opts);
    if (rc) kn_encoder_destroy(e);
    else *out = e;
    return rc;
}

const char *kn_encoder_name(const kn_encoder *e)
{
    KN_REQUIRE(e);
    return e->name ? e->name : "";
}

int kn_encoder_set_palette(kn_encoder *e, const kn_palette *pal, kn_err *err)
{
    KN_REQUIRE(e && pal);
    if (!e->gif)
        return kn_err_set(err, KN_EINVAL, NULL, "only gif output takes a palette, not %s",
                          kn_format_name(e->format));
    if (e->next_index > 0)
        return kn_err_set(err, KN_EINVAL, NULL, "the gif palette must be set before the first frame");
    kn_palette_mapper *m = NULL;
    int rc = kn_palette_mapper_create(pal, e->cctx->width, &m, err);
    if (rc) return rc;
    kn_palette_mapper_destroy(e->mapper);
    e->mapper = m;
    e->palette = *pal;
    return KN_OK;
}

/* Where frame i starts, in centiseconds: round(i * 100 * den / num) with
 * halves rounded up, exactly (integers; i * 100 * den stays far below
 * 2^63 for any frame count the job limits allow). Every frame's delay is
 * then within half a centisecond of 1/fps and the clip's length is N/fps
 * to within half a centisecond: the rounding never accumulates. */
static int64_t gif_pts(const kn_encoder *e, long i)
{
    return ((int64_t)i * GIF_TICKS * e->fps_den * 2 + e->fps_num) / (2 * e->fps_num);
}

/* ---- push / drain --------------------------------------------------- */

static int fail(kn_encoder *e, int code, kn_err *err, const char *what, int averr)
{
    e->failed = true;
    e->fail_code = code;
    return kn_err_set(err, code, NULL, "%s (%s): %s", what, e->name, av_err2str(averr));
}

/* What a failed muxer write (a packet, the trailer) is: KN_EIO, the job's
 * storage_failed, when the file could not be written: the disk or the
 * quota is full, the file is over the size limit, the device failed. avio
 * buffers writes, so the failing write(2) may be one of an earlier call's
 * bytes: its error is kept in the AVIOContext and returned from then on,
 * which is why pb->error counts as well as the code returned. Anything
 * else is the muxer's own failure, KN_EENCODE. */
static int write_code(const kn_encoder *e, int averr)
{
    int pb = e->fmt && e->fmt->pb ? e->fmt->pb->error : 0;
    if (pb < 0) return KN_EIO;
    return averr == AVERROR(ENOSPC) || averr == AVERROR(EDQUOT) || averr == AVERROR(EFBIG) ||
           averr == AVERROR(EIO) || averr == AVERROR(EROFS) ? KN_EIO : KN_EENCODE;
}

/* Moves every packet the encoder has ready into the file. */
static int drain(kn_encoder *e, kn_err *err)
{
    for (;;) {
        int r = avcodec_receive_packet(e->cctx, e->pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return KN_OK;
        if (r < 0) return fail(e, KN_EENCODE, err, "encoding failed", r);
        if (e->gif) {
            /* The gif encoder has no delay: packet k is frame k. The muxer
             * writes each frame's delay from the next packet's pts; the
             * last one's comes from final_delay (see finish). */
            long k = e->packets++;
            e->pkt->duration = gif_pts(e, k + 1) - gif_pts(e, k);
        } else {
            e->pkt->duration = 1;    /* one frame in the codec time base */
        }
        av_packet_rescale_ts(e->pkt, e->cctx->time_base, e->st->time_base);
        e->pkt->stream_index = e->st->index;
        r = av_interleaved_write_frame(e->fmt, e->pkt);   /* takes the packet's reference */
        if (r < 0) {
            char what[64];
            snprintf(what, sizeof what, "writing the %s failed", kn_format_name(e->format));
            return fail(e, write_code(e, r), err, what, r);
        }
    }
}

typedef struct release_ctx {
    kn_encoder_release_fn fn;
    void *opaque;
} release_ctx;

static void buffer_free(void *opaque, uint8_t *data)
{
    (void)data;
    release_ctx *rc = opaque;
    rc->fn(rc->opaque);
    free(rc);
}

/* Wraps the caller's planes without copying. The one AVBufferRef spans the
 * lowest to the highest plane byte, so whichever order the planes are in
 * (one slot, three mallocs) a single refcount governs their lifetime. It is
 * read-only: libavcodec must copy before writing. */
static AVFrame *wrap_frame(uint8_t *const data[3], const int stride[3], int w, int h,
                           release_ctx *rel)
{
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < 3; i++) {
        int pw = i ? chroma_dim(w) : w, ph = i ? chroma_dim(h) : h;
        uintptr_t s = (uintptr_t)data[i];
        uintptr_t end = s + (uintptr_t)stride[i] * (uintptr_t)(ph - 1) + (uintptr_t)pw;
        if (s < lo) lo = s;
        if (end > hi) hi = end;
    }
    AVFrame *f = av_frame_alloc();
    if (!f) return NULL;
    f->buf[0] = av_buffer_create((uint8_t *)lo, hi - lo, buffer_free, rel, AV_BUFFER_FLAG_READONLY);
    if (!f->buf[0]) { av_frame_free(&f); return NULL; }
    for (int i = 0; i < 3; i++) {
        f->data[i] = data[i];
        f->linesize[i] = stride[i];
    }
    return f;
}

static AVFrame *copy_frame(uint8_t *const data[3], const int stride[3], int w, int h)
{
    AVFrame *f = av_frame_alloc();
    if (!f) return NULL;
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    if (av_frame_get_buffer(f, 0) < 0) { av_frame_free(&f); return NULL; }
    for (int i = 0; i < 3; i++) {
        int pw = i ? chroma_dim(w) : w, ph = i ? chroma_dim(h) : h;
        for (int y = 0; y < ph; y++)
            memcpy(f->data[i] + (size_t)y * f->linesize[i], data[i] + (size_t)y * stride[i], (size_t)pw);
    }
    return f;
}

/* ---- gif ------------------------------------------------------------ */

/* Widens [*lo, *hi] to the differing span of a and b (n bytes), if any. */
static bool row_diff(const uint8_t *a, const uint8_t *b, int n, int *lo, int *hi)
{
    if (!memcmp(a, b, (size_t)n)) return false;
    int l = 0, r = n - 1;
    while (a[l] == b[l]) l++;
    while (a[r] == b[r]) r--;
    if (l < *lo) *lo = l;
    if (r > *hi) *hi = r;
    return true;
}

/* The smallest rectangle of whole 2x2 blocks outside which frame `data`
 * equals the previous frame in all three planes, clipped to the frame (an
 * odd size's last column or row is a partial block); empty (x0 == x1) when
 * nothing changed. I420ToARGB takes one chroma sample per 2x2 block, so
 * outside the rectangle the RGB is the same too. x0 and y0 are even. */
static void changed_rect(const kn_encoder *e, uint8_t *const data[3], const int stride[3],
                         int *x0, int *y0, int *x1, int *y1)
{
    int w = e->cctx->width, h = e->cctx->height, cw = chroma_dim(w), ch = chroma_dim(h);
    int bx0 = cw, bx1 = -1, by0 = ch, by1 = -1;   /* in blocks, inclusive */
    for (int y = 0; y < h; y++) {
        int lo = w, hi = -1;
        if (row_diff(data[0] + (size_t)y * stride[0], e->prev[0] + (size_t)y * w, w, &lo, &hi)) {
            if (lo / 2 < bx0) bx0 = lo / 2;
            if (hi / 2 > bx1) bx1 = hi / 2;
            if (y / 2 < by0) by0 = y / 2;
            by1 = y / 2;
        }
    }
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < ch; y++) {
            int lo = cw, hi = -1;
            if (row_diff(data[p] + (size_t)y * stride[p], e->prev[p] + (size_t)y * cw, cw, &lo, &hi)) {
                if (lo < bx0) bx0 = lo;
                if (hi > bx1) bx1 = hi;
                if (y < by0) by0 = y;
                if (y > by1) by1 = y;
            }
        }
    if (bx1 < 0) {
        *x0 = *x1 = *y0 = *y1 = 0;
        return;
    }
    *x0 = 2 * bx0;
    *x1 = 2 * (bx1 + 1) < w ? 2 * (bx1 + 1) : w;
    *y0 = 2 * by0;
    *y1 = 2 * (by1 + 1) < h ? 2 * (by1 + 1) : h;
}

/* Dithers frame `index` onto the palette into a new PAL8 frame and sends
 * it. The caller's planes are only read here (copied into e->prev). */
static int push_gif(kn_encoder *e, long index, uint8_t *const data[3], const int stride[3],
                    kn_err *err)
{
    int rc = KN_OK, r;
    int w = e->cctx->width, h = e->cctx->height, cw = chroma_dim(w);
    AVFrame *f = NULL;
    if (!e->mapper)
        return kn_err_set(err, KN_EINVAL, NULL, "gif output needs its palette before the first "
                          "frame (kn_encoder_set_palette)");
    int x0 = 0, y0 = 0, x1 = w, y1 = h;
    if (e->prev_pal) changed_rect(e, data, stride, &x0, &y0, &x1, &y1);

    f = av_frame_alloc();
    if (!f) { rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory for gif frame %ld", index); goto out; }
    f->format = AV_PIX_FMT_PAL8;
    f->width = w;
    f->height = h;
    /* A new buffer every frame: the gif encoder keeps a reference to the
     * last frame it was given (to diff against), so that one is read-only. */
    if (av_frame_get_buffer(f, 0) < 0) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory for gif frame %ld", index);
        goto out;
    }
    if (e->prev_pal)
        for (int y = 0; y < h; y++)
            memcpy(f->data[0] + (size_t)y * f->linesize[0],
                   e->prev_pal->data[0] + (size_t)y * e->prev_pal->linesize[0], (size_t)w);
    memcpy(f->data[1], e->palette.argb, AVPALETTE_SIZE);

    if (x1 > x0) {
        /* x0 and y0 are even, so the rectangle starts on a chroma sample;
         * x1 or y1 may be an odd frame edge, where the last 2x2 block is
         * partial: one luma row (column) with a chroma row (column) of its
         * own, ceil(rw / 2) and ceil(y1 / 2) below. */
        int rw = x1 - x0, crw = chroma_dim(rw);
        kn_palette_mapper_start(e->mapper, rw);
        for (int y = y0; y < y1; y += 2) {
            int rows = y1 - y < 2 ? y1 - y : 2;
            r = I420ToARGB(data[0] + (size_t)y * stride[0] + x0, stride[0],
                           data[1] + (size_t)(y / 2) * stride[1] + x0 / 2, stride[1],
                           data[2] + (size_t)(y / 2) * stride[2] + x0 / 2, stride[2],
                           e->argb, rw * 4, rw, rows);
            if (r != 0) {
                rc = kn_err_set(err, KN_EINTERNAL, NULL, "colour conversion of frame %ld failed "
                                "(libyuv I420ToARGB returned %d)", index, r);
                goto out;
            }
            for (int k = 0; k < rows; k++)
                kn_palette_mapper_row(e->mapper, e->argb + (size_t)k * rw * 4,
                                      f->data[0] + (size_t)(y + k) * f->linesize[0] + x0);
        }
        /* Outside the rectangle e->prev already equals this frame. */
        for (int y = y0; y < y1; y++)
            memcpy(e->prev[0] + (size_t)y * w + x0, data[0] + (size_t)y * stride[0] + x0, (size_t)rw);
        for (int p = 1; p < 3; p++)
            for (int y = y0 / 2; y < chroma_dim(y1); y++)
                memcpy(e->prev[p] + (size_t)y * cw + x0 / 2, data[p] + (size_t)y * stride[p] + x0 / 2,
                       (size_t)crw);
    }

    f->pts = gif_pts(e, index);
    r = avcodec_send_frame(e->cctx, f);
    if (r == AVERROR(EAGAIN)) {
        if ((rc = drain(e, err))) goto out;
        r = avcodec_send_frame(e->cctx, f);
    }
    if (r < 0) { rc = fail(e, KN_EENCODE, err, "sending a frame to the encoder failed", r); goto out; }
    e->next_index++;
    av_frame_free(&e->prev_pal);
    e->prev_pal = f;   /* our reference; the encoder holds its own */
    f = NULL;
    rc = drain(e, err);
out:
    av_frame_free(&f);
    return rc;
}

int kn_encoder_push(kn_encoder *e, long index, uint8_t *const data[3], const int stride[3],
                    kn_encoder_release_fn release, void *opaque, kn_err *err)
{
    int rc = KN_OK, r;
    AVFrame *f = NULL;
    /* Until the frame holds it, the release context is ours to fire. */
    release_ctx *rel = NULL;

    KN_REQUIRE(e && data && stride);
    if (release) {
        rel = malloc(sizeof *rel);
        if (!rel) {
            release(opaque);
            return kn_err_set(err, KN_ENOMEM, NULL, "out of memory");
        }
        rel->fn = release;
        rel->opaque = opaque;
    }
    if (e->failed) { rc = kn_err_set(err, e->fail_code, NULL, "the encoder already failed"); goto out; }
    if (e->finished) { rc = kn_err_set(err, KN_EINVAL, NULL, "push after finish"); goto out; }
    if (index != e->next_index) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "frame %ld pushed out of order: expected frame %ld",
                        index, e->next_index);
        goto out;
    }
    int w = e->cctx->width, h = e->cctx->height;
    for (int i = 0; i < 3; i++) {
        if (!data[i] || stride[i] < (i ? chroma_dim(w) : w)) {
            rc = kn_err_set(err, KN_EINVAL, NULL, "plane %d of frame %ld is missing or its stride %d is "
                            "too small", i, index, stride[i]);
            goto out;
        }
    }
    if (e->gif) {
        /* GIF copies (it dithers into frames of its own): the planes are
         * released on the way out, before push returns. */
        rc = push_gif(e, index, data, stride, err);
        goto out;
    }

    if (rel) {
        f = wrap_frame(data, stride, w, h, rel);
        if (f) rel = NULL;   /* the buffer fires it now */
    } else {
        f = copy_frame(data, stride, w, h);
    }
    if (!f) { rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory wrapping frame %ld", index); goto out; }
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    f->pts = index;
    f->color_range = e->cctx->color_range;
    f->colorspace = e->cctx->colorspace;
    f->color_primaries = e->cctx->color_primaries;
    f->color_trc = e->cctx->color_trc;
    f->sample_aspect_ratio = e->cctx->sample_aspect_ratio;

    r = avcodec_send_frame(e->cctx, f);
    if (r == AVERROR(EAGAIN)) {
        /* Not expected (we drain after every send), but legal per the API. */
        if ((rc = drain(e, err))) goto out;
        r = avcodec_send_frame(e->cctx, f);
    }
    if (r < 0) { rc = fail(e, KN_EENCODE, err, "sending a frame to the encoder failed", r); goto out; }
    e->next_index++;
    rc = drain(e, err);

out:
    av_frame_free(&f);   /* drops our reference; libavcodec keeps its own */
    if (rel) {
        rel->fn(rel->opaque);
        free(rel);
    }
    return rc;
}

int kn_encoder_finish(kn_encoder *e, kn_err *err)
{
    int rc, r;
    KN_REQUIRE(e);
    if (e->failed) return kn_err_set(err, e->fail_code, NULL, "the encoder already failed");
    if (e->finished) return kn_err_set(err, KN_EINVAL, NULL, "finish called twice");
    if (e->next_index == 0)
        return kn_err_set(err, KN_EINVAL, NULL, "no frames were pushed: a %s needs at least one",
                          kn_format_name(e->format));
    e->finished = true;

    r = avcodec_send_frame(e->cctx, NULL);
    if (r < 0) return fail(e, KN_EENCODE, err, "flushing the encoder failed", r);
    if ((rc = drain(e, err))) return rc;
    if (e->gif) {
        /* The muxer times each frame by the next one's pts; the last has
         * none. Newer muxers take the last packet's duration, FFmpeg 5.1's
         * would repeat the previous delay: final_delay says it for both. */
        long n = e->next_index;
        r = av_opt_set_int(e->fmt->priv_data, "final_delay", gif_pts(e, n) - gif_pts(e, n - 1), 0);
        if (r < 0)
            kn_warn("gif muxer: cannot set final_delay (%s): the last frame may get the delay "
                    "of the one before it", av_err2str(r));
    }
    e->trailer_tried = true;
    r = av_write_trailer(e->fmt);   /* mp4: also the faststart moov move */
    if (r < 0) {
        char what[64];
        snprintf(what, sizeof what, "writing the %s trailer failed", kn_format_name(e->format));
        return fail(e, write_code(e, r), err, what, r);
    }
    r = avio_closep(&e->fmt->pb);
    if (r < 0) {
        e->failed = true;
        e->fail_code = KN_EIO;
        return kn_err_set(err, KN_EIO, NULL, "closing the output file failed: %s", av_err2str(r));
    }
    return KN_OK;
}

void kn_encoder_destroy(kn_encoder *e)
{
    if (!e) return;
    /* FFmpeg 5.1's gif muxer holds the last packet until its trailer and
     * has no deinit: an abandoned gif (cancel, failure) would leak that
     * packet. Writing the trailer into the file (which the caller removes)
     * frees it. */
    if (e->gif && e->header_written && !e->trailer_tried && e->fmt && e->fmt->pb)
        av_write_trailer(e->fmt);
    /* Frees any frames libavcodec still buffers: their buffer_free fires
     * the callers' release callbacks. */
    avcodec_free_context(&e->cctx);
    av_packet_free(&e->pkt);
    av_frame_free(&e->prev_pal);
    kn_palette_mapper_destroy(e->mapper);
    for (int i = 0; i < 3; i++) free(e->prev[i]);
    free(e->argb);
    if (e->fmt) {
        if (e->fmt->pb) avio_closep(&e->fmt->pb);
        avformat_free_context(e->fmt);
    }
    free(e);
}
