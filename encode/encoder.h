/*
 * encode/encoder.h - YUV 4:2:0 frames in, an MP4, WebM or animated GIF file
 * out (libavcodec + libavformat, following FFmpeg's
 * doc/examples/encode_video.c and mux.c).
 *
 * Formats and codecs (common/vocab.h): mp4 carries h264 (its default) or
 * hevc; webm carries vp9; gif carries gif. Any other pairing is KN_EINVAL
 * at /output/codec.
 *
 * Encoder choice: KN_ENCODER_GPU opens h264_nvenc/hevc_nvenc or fails with
 * KN_EENCODER and a message saying why; KN_ENCODER_CPU opens
 * libx264/libx265; KN_ENCODER_AUTO tries NVENC and falls back to the CPU
 * encoder when it does not open (no GPU, no driver). VP9 has no NVENC
 * encoder: auto and cpu open libvpx-vp9, gpu is KN_EENCODER.
 *
 * The file has exactly the frames pushed, each lasting 1/fps (packet
 * durations are set: FFmpeg 5.1 has no AVFrame.duration), yuv420p and colour
 * tags for BT.601 limited range (what libyuv's ARGBToI420 produces). MP4s
 * are +faststart (moov before mdat); WebM has no such step (its Cues and
 * Duration are written at the end and found through the SeekHead).
 *
 * Frames are pushed zero-copy: the encoder wraps the caller's planes in a
 * reference-counted AVFrame and calls release(opaque) once libavcodec no
 * longer needs them (possibly later, from the same thread, during a later
 * push or finish). The caller must keep the planes intact until then.
 *
 * GIF: one 256-entry colour table serves the whole clip, so the caller
 * builds it first (encode/palette.h, from every frame) and hands it over
 * with kn_encoder_set_palette before the first push. Each pushed frame is
 * then converted to RGB (BT.601 limited, libyuv I420ToARGB), dithered onto
 * the palette (serpentine Floyd-Steinberg, only where the frame differs
 * from the one before) and encoded by libavcodec's "gif" encoder into the
 * "gif" muxer, looping forever. This path copies: release(opaque) is called
 * before push returns. Times are centiseconds: frame i starts at
 * round(i * 100 * fps_den / fps_num) (halves up), so each delay is within
 * half a centisecond of 1/fps and the total is N/fps to within half a
 * centisecond; fps above 100 is KN_EINVAL (two frames would share a tick).
 * quality, bitrate, preset and keyframe_interval do not apply to gif.
 * Frame sizes: mp4 and webm need an even width and height (KN_EINVAL at
 * /width or /height); gif takes any size, and for an odd one the U and V
 * planes pushed are ceil(width / 2) x ceil(height / 2), as libyuv's
 * ARGBToI420 writes them.
 *
 * av_log output is routed into common/log (kn_encoder_init_logging).
 *
 * Contract (KN_REQUIRE): encoder handles are not NULL, an opts' enums are in
 * range and its output path is not empty. Sizes, rates and options the job
 * document carries are checked and refused with KN_EINVAL and the JSON
 * pointer of the field.
 *
 * Ownership: the encoder owns its file until finish; the caller removes the
 * file after a failure or cancel. Every const char * returned here is a
 * static string.
 */
#ifndef KN_ENCODE_ENCODER_H
#define KN_ENCODE_ENCODER_H

#include <stdint.h>

#include "common/err.h"
#include "common/vocab.h"
#include "encode/palette.h"

typedef struct kn_encoder kn_encoder;

typedef struct kn_encoder_opts {
    int width, height;
    int fps_num, fps_den;
    kn_format format;           /* 0 = mp4 */
    kn_codec codec;             /* one the format carries (0 = h264; see
                                 * kn_format_default_codec) */
    kn_encoder_pref encoder;    /* 0 = auto */
    int quality;                /* 0..51: CRF on x264/x265, constant QP on
                                 * NVENC, crf round(q*63/51) on libvpx-vp9 */
    const char *preset;         /* NULL/"" = encoder default (medium for
                                 * libvpx-vp9, see encoder.c for the mapping) */
    long bitrate_kbps;          /* > 0: target bitrate instead of quality */
    double keyframe_interval;   /* seconds; <= 0 means 2 */
} kn_encoder_opts;

typedef void (*kn_encoder_release_fn)(void *opaque);

/* Routes av_log into kn_log (idempotent; call once at startup). */
void kn_encoder_init_logging(void);

/* Checks that a preset fits an encoder family: x264/x265 names on cpu,
 * p1..p7 on gpu, either for auto (the one that does not fit the opened
 * encoder is then ignored). NULL or "" fits all. KN_EINVAL at
 * /output/preset otherwise. */
int kn_encoder_check_preset(kn_encoder_pref encoder, const char *preset, kn_err *err);

/* Checks an output block the way kn_encoder_create will: the codec goes in
 * the format, gif takes neither gpu nor a preset, and the preset fits the
 * codec and encoder (VP9 takes the x264 names only: p1..p7 are KN_EINVAL).
 * KN_EINVAL with a JSON pointer under /output otherwise. It does not refuse
 * gpu with VP9: that is KN_EENCODER from kn_encoder_create. */
int kn_encoder_check(kn_format format, kn_codec codec, kn_encoder_pref encoder,
                     const char *preset, kn_err *err);

/* The codec a job document names for format: NULL or "" is the format's
 * default; a name the vocabulary does not know is KN_EINVAL at
 * /output/codec with a message saying what the format takes. (Whether a
 * known codec fits the format is kn_encoder_check's question.) */
int kn_encoder_codec_parse(kn_format format, const char *codec, kn_codec *out, kn_err *err);

/* Opens the encoder and the output file at path, written in opts->format
 * whatever path's extension is. The frame size is 1x1..KN_FRAME_MAX_W x
 * KN_FRAME_MAX_H (common/limits.h). */
int kn_encoder_create(const char *path, const kn_encoder_opts *opts,
                      kn_encoder **out, kn_err *err);

/* The libavcodec name of the encoder that opened ("libx264", "h264_nvenc",
 * "libvpx-vp9", "gif"). */
const char *kn_encoder_name(const kn_encoder *e);

/* GIF only: the clip's palette (copied; 1..256 colours), required before
 * the first push. KN_EINVAL for other formats or after a frame was pushed.
 * Entries at and above pal->n are never drawn: libavcodec's gif encoder
 * uses such a free index for "unchanged since the last frame". */
int kn_encoder_set_palette(kn_encoder *e, const kn_palette *pal, kn_err *err);

/* Encodes frame `index` (0, 1, 2... in order) from planes Y (width x
 * height), U and V (ceil(width / 2) x ceil(height / 2) each). release may be
 * NULL (then the planes are copied). */
int kn_encoder_push(kn_encoder *e, long index, uint8_t *const data[3],
                    const int stride[3], kn_encoder_release_fn release,
                    void *opaque, kn_err *err);

/* Flushes the encoder and writes the trailer (for mp4, the faststart move).
 *
 * push and finish fail with KN_EIO (storage_failed) when the file cannot be
 * written (disk or quota full, over the file size limit, a device error:
 * ENOSPC, EDQUOT, EFBIG, EIO, EROFS, or any error avio recorded for the
 * file), and with KN_EENCODE for a failure of the encoder or muxer itself.
 * After a failure every call fails with the same code. */
int kn_encoder_finish(kn_encoder *e, kn_err *err);

/* Frees everything; if finish was not called the file is left incomplete.
 * Accepts NULL. Any frames still held are released. */
void kn_encoder_destroy(kn_encoder *e);

#endif
