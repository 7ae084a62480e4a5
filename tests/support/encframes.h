/*
 * tests/support/encframes.h - what the encoder tests (tests/test_encoder*.c)
 * share: one output directory per test program, TU_ENC_W x TU_ENC_H test
 * frames whose index is written in flat plane levels (so a decoded frame
 * tells which frame it is and whether its planes or strides were mixed up),
 * pushing them zero-copy with a release count per frame, and reading a file
 * back (libav, and ffprobe as an independent reader) to check container,
 * codec, size, pixel format, frame count, pixels, timing and colour tags.
 *
 * The helpers fail the running cmocka test themselves (assert_*, fail_msg).
 */
#ifndef KN_TESTS_SUPPORT_ENCFRAMES_H
#define KN_TESTS_SUPPORT_ENCFRAMES_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavutil/rational.h>

#include "common/vocab.h"
#include "encode/encoder.h"

#define TU_ENC_W 64
#define TU_ENC_H 48
#define TU_ENC_PAD 16          /* stride = width + PAD: strides are honoured */

/* cmocka group setup and teardown: a fresh output directory (kept when
 * KINORA_KEEP_TEST_FILES is set), log tag "test" at WARN, av_log routed to
 * kn_log. */
int tu_enc_setup(void **state);
int tu_enc_teardown(void **state);

/* buf = the output directory / name. */
void tu_out_path(char *buf, size_t n, const char *name);

/* TU_ENC_W x TU_ENC_H mp4 at 24 fps, quality 20, preset ultrafast. */
kn_encoder_opts tu_enc_opts(kn_encoder_pref encoder, kn_codec codec);
/* The same as webm / vp9. */
kn_encoder_opts tu_webm_opts(kn_encoder_pref encoder);

/* ---- frames ---------------------------------------------------------- */

/* The flat Y, U and V levels of frame i; U and V move in opposite
 * directions so a swapped chroma order shows up. */
int tu_y_level(long i);
int tu_u_level(long i);
int tu_v_level(long i);

typedef struct tu_frame {
    uint8_t *mem;
    uint8_t *data[3];
    int stride[3];
    long index;
    int *release_count;        /* per-frame counters owned by the test, or NULL */
} tu_frame;

/* Frame i at w x h in one allocation, planes laid out V, U, Y (not
 * Y-first) to exercise the encoder's span computation; the padding bytes
 * are 255, so reading them shows in the pixels. counts may be NULL. */
tu_frame *tu_frame_new(long i, int w, int h, int *counts);
void tu_frame_free(tu_frame *f);

/* A kn_encoder release callback for a tu_frame: counts the release, then
 * scribbles over the planes before freeing them, so any read after release
 * corrupts the decoded pixels. */
void tu_frame_release(void *opaque);

/* Pushes frames 0..n-1 zero-copy; counts[] (n entries) gets one increment
 * per release. */
void tu_push_frames(kn_encoder *e, long n, int w, int h, int *counts);

/* Pushes frames 0..n-1 through the copy path (no release callback): each
 * frame's planes are overwritten and freed right after its push, so the
 * file holds the pushed pixels only if the encoder copied them. */
void tu_push_frames_copied(kn_encoder *e, long n);

/* Encodes frames 0..n-1 to path with o and finishes; checks that every
 * frame was released exactly once. */
void tu_encode_file(const char *path, kn_encoder_opts o, long n);

/* Quality and bitrate must move the file size the right way for format's
 * default codec: 24 frames of luma noise (something for rate control to
 * trade) at quality 10 against 45, and at 50 against 2000 kbit/s, which
 * also keeps the 1 s file near 6 kB. */
void tu_check_quality_and_bitrate(kn_format format);

/* Creating an encoder with o must fail with code (no encoder, no file),
 * err.path == field (unless field is NULL), err.msg containing msg_part. */
void tu_expect_refused(kn_encoder_opts o, int code, const char *field, const char *msg_part);

/* ---- reading back ------------------------------------------------------ */

typedef struct tu_enc_probe {
    char container[64];        /* demuxer name: "mov,mp4,..." or "matroska,webm" */
    double format_duration;    /* container duration, seconds */
    enum AVCodecID codec_id;
    uint32_t codec_tag;
    int width, height, format;
    enum AVColorSpace space;
    enum AVColorRange range;
    enum AVColorPrimaries prim;
    enum AVColorTransferCharacteristic trc;
    double duration;           /* stream duration, seconds; -1 if none (webm) */
    long packets, frames, keyframes_at[64], nkey;
    long pts_in_order;         /* decoded frames whose pts is k/fps in order */
    long pixels_ok;            /* decoded frames whose Y/U/V match frame k */
    int64_t bytes;
} tu_enc_probe;

/* Reads a file of tu_frame frames (one video stream) and decodes it all. */
void tu_enc_probe_file(const char *path, AVRational fps, tu_enc_probe *p);

/* ffprobe's "key=value" lines for the first video stream and the format
 * (malloc'ed), and a check that one such line is there. */
char *tu_ffprobe(const char *path);
void tu_assert_has_line(const char *text, const char *line);

/* Container, codec (h264 for mp4, vp9 for webm), size, frames, pixels,
 * timing and colour tags of a file made by tu_encode_file from n test
 * frames at fps, through libav and through ffprobe; moov before mdat for
 * mp4, DocType "webm" for webm. */
void tu_check_file(const char *path, kn_format format, AVRational fps, long n);

#endif
