/*
 * tests/test_encoder_webm.c - encode/encoder for WebM (VP9 through
 * libvpx-vp9): files are read back with libavformat/libavcodec and ffprobe
 * and checked for container and EBML DocType, codec, size, pixel format,
 * colour tags, frame count, duration and decoded pixels; the zero-copy
 * release contract with frames held in libvpx's lookahead; every preset
 * name; quality and bitrate; keyframe interval. Also the format / codec /
 * encoder / preset rules across all formats (kn_encoder_create,
 * kn_encoder_check, kn_encoder_codec_parse and the vocabulary's spellings).
 *
 * Frames and read-back checks: tests/support/encframes.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "encode/encoder.h"
#include "tests/support/encframes.h"

#define W TU_ENC_W
#define H TU_ENC_H

/* realtime speed (ultrafast), explicit codec, 24 fps. */
static void test_webm_vp9_24fps(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "vp9_24.webm");
    kn_encoder_opts o = tu_webm_opts(KN_ENCODER_CPU);
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_string_equal(kn_encoder_name(e), "libvpx-vp9");
    kn_encoder_destroy(e);
    tu_encode_file(path, o, 30);
    tu_check_file(path, KN_FORMAT_WEBM, (AVRational){24, 1}, 30);
}

/* NTSC rate, the default codec for webm (vp9), "auto" (no NVENC for VP9:
 * libvpx-vp9 without trying NVENC), the default preset (good deadline:
 * lag-in-frames and hidden alt-ref frames, so frames are held and packets
 * come late), and the copy path. */
static void test_webm_vp9_ntsc_default(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "vp9_ntsc.webm");
    kn_encoder_opts o = tu_webm_opts(KN_ENCODER_AUTO);
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
    tu_push_frames_copied(e, n);
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);
    tu_check_file(path, KN_FORMAT_WEBM, (AVRational){30000, 1001}, n);
}

/* Zero-copy contract with libvpx: each release fires once, also when the
 * encoder is destroyed unfinished with frames in its lookahead. */
static void test_webm_release_once(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "vp9_abandoned.webm");
    kn_encoder_opts o = tu_webm_opts(KN_ENCODER_CPU);
    o.preset = "medium";
    enum { N = 12 };
    int counts[N] = {0};
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    tu_push_frames(e, N, W, H, counts);
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
        tu_out_path(path, sizeof path, name);
        kn_encoder_opts o = tu_webm_opts(i % 2 ? KN_ENCODER_AUTO : KN_ENCODER_CPU);
        o.preset = names[i];
        tu_encode_file(path, o, 4);
        tu_enc_probe p;
        tu_enc_probe_file(path, (AVRational){24, 1}, &p);
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
    tu_check_quality_and_bitrate(KN_FORMAT_WEBM);
}

/* Keyframe packet indexes of a 24-frame file at 24 fps, 0.25 s interval. */
static void keyframes_every_6(kn_format format, kn_codec codec, const char *name)
{
    char path[600];
    tu_out_path(path, sizeof path, name);
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, codec);
    o.format = format;
    o.keyframe_interval = 0.25;   /* 6 frames at 24 fps */
    tu_encode_file(path, o, 24);
    tu_enc_probe p;
    tu_enc_probe_file(path, (AVRational){24, 1}, &p);
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

static void test_webm_keyframe_interval(void **state)
{
    (void)state;
    keyframes_every_6(KN_FORMAT_WEBM, KN_CODEC_VP9, "vp9_gop.webm");
}

static void test_webm_bad_options(void **state)
{
    (void)state;
    kn_encoder_opts o;
    /* Format / codec pairs. */
    o = tu_webm_opts(KN_ENCODER_CPU); o.codec = KN_CODEC_H264;
    tu_expect_refused(o, KN_EINVAL, "/output/codec", "\"vp9\"");
    o = tu_webm_opts(KN_ENCODER_AUTO); o.codec = KN_CODEC_HEVC;
    tu_expect_refused(o, KN_EINVAL, "/output/codec", "webm");
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_VP9); o.format = KN_FORMAT_MP4;
    tu_expect_refused(o, KN_EINVAL, "/output/codec", "webm");
    o = tu_webm_opts(KN_ENCODER_CPU); o.codec = KN_CODEC_GIF;
    tu_expect_refused(o, KN_EINVAL, "/output/codec", "vp9");
    o = tu_webm_opts(KN_ENCODER_CPU); o.format = KN_FORMAT_GIF;   /* vp9 does not go in gif */
    tu_expect_refused(o, KN_EINVAL, "/output/codec", "gif");
    /* Presets: NVENC names never fit VP9, whatever the encoder. */
    o = tu_webm_opts(KN_ENCODER_AUTO); o.preset = "p4";
    tu_expect_refused(o, KN_EINVAL, "/output/preset", "NVENC");
    o = tu_webm_opts(KN_ENCODER_CPU); o.preset = "p1";
    tu_expect_refused(o, KN_EINVAL, "/output/preset", "ultrafast");
    o = tu_webm_opts(KN_ENCODER_GPU); o.preset = "p7";
    tu_expect_refused(o, KN_EINVAL, "/output/preset", "NVENC");
    o = tu_webm_opts(KN_ENCODER_AUTO); o.preset = "Fast";
    tu_expect_refused(o, KN_EINVAL, "/output/preset", "vp9");
    o = tu_webm_opts(KN_ENCODER_CPU); o.quality = 52;
    tu_expect_refused(o, KN_EINVAL, "/output/quality", "0..51");
    o = tu_webm_opts(KN_ENCODER_CPU); o.width = 62; o.height = 45;
    tu_expect_refused(o, KN_EINVAL, "/height", "even");
    /* "gpu": there is no NVENC VP9 encoder, on any machine. */
    o = tu_webm_opts(KN_ENCODER_GPU);
    tu_expect_refused(o, KN_EENCODER, "/output/encoder", "no NVENC VP9 encoder");
    o = tu_webm_opts(KN_ENCODER_GPU); o.codec = kn_format_default_codec(KN_FORMAT_WEBM); o.preset = "slow";
    tu_expect_refused(o, KN_EENCODER, "/output/encoder", "no NVENC VP9 encoder");

    /* kn_encoder_check: the same rules without opening anything. */
    kn_err err;
    kn_codec c;
    assert_int_equal(kn_encoder_codec_parse(KN_FORMAT_MP4, NULL, &c, &err), KN_OK);   /* the defaults */
    assert_int_equal(c, KN_CODEC_H264);
    assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, c, KN_ENCODER_AUTO, NULL, &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_HEVC, KN_ENCODER_CPU, "veryslow", &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_HEVC, KN_ENCODER_GPU, "p2", &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_H264, KN_ENCODER_AUTO, "p2", &err), KN_OK);
    assert_int_equal(kn_encoder_codec_parse(KN_FORMAT_WEBM, NULL, &c, &err), KN_OK);
    assert_int_equal(c, KN_CODEC_VP9);
    assert_int_equal(kn_encoder_check(KN_FORMAT_WEBM, c, KN_ENCODER_AUTO, "placebo", &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_WEBM, KN_CODEC_VP9, KN_ENCODER_CPU, "", &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_WEBM, KN_CODEC_VP9, KN_ENCODER_GPU, NULL, &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_WEBM, KN_CODEC_VP9, KN_ENCODER_AUTO, "p3", &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/preset");
    assert_int_equal(kn_encoder_check(KN_FORMAT_WEBM, KN_CODEC_H264, KN_ENCODER_CPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/codec");
    assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_HEVC, KN_ENCODER_CPU, "p3", &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/preset");

    /* The codec a job document names: "" or NULL is the format's default,
     * an unknown one says what the format takes. Format and encoder
     * spellings are the vocabulary's (common/vocab.h); the document parser
     * (doc/output.c) words those errors. */
    assert_int_equal(kn_encoder_codec_parse(KN_FORMAT_WEBM, "", &c, &err), KN_OK);
    assert_int_equal(c, KN_CODEC_VP9);
    assert_int_equal(kn_encoder_codec_parse(KN_FORMAT_GIF, NULL, &c, &err), KN_OK);
    assert_string_equal(kn_codec_name(c), "gif");
    assert_int_equal(kn_encoder_codec_parse(KN_FORMAT_WEBM, "av1", &c, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/codec");
    assert_non_null(strstr(err.msg, "\"vp9\""));
    kn_format f;
    kn_encoder_pref pref;
    assert_true(kn_format_parse("gif", &f));
    assert_string_equal(kn_format_extension(f), "gif");
    assert_false(kn_format_parse("GIF", &f));
    assert_true(kn_format_parse("webm", &f));
    assert_string_equal(kn_format_extension(f), "webm");
    assert_false(kn_format_parse("WEBM", &f));
    assert_false(kn_format_parse("avi", &f));
    assert_false(kn_format_parse("mov", &f));
    assert_false(kn_format_parse("mkv", &f));
    assert_false(kn_encoder_pref_parse("tpu", &pref));
    assert_false(kn_encoder_pref_parse("fpga", &pref));

    /* The enum check: the same rules, parsed. */
    assert_int_equal(kn_encoder_check(KN_FORMAT_WEBM, KN_CODEC_VP9, KN_ENCODER_GPU, "fast", &err), KN_OK);
    assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_VP9, KN_ENCODER_CPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/codec");
    assert_int_equal(kn_encoder_check(KN_FORMAT_GIF, KN_CODEC_GIF, KN_ENCODER_GPU, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "/output/encoder");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webm_bad_options),
        cmocka_unit_test(test_webm_vp9_24fps),
        cmocka_unit_test(test_webm_vp9_ntsc_default),
        cmocka_unit_test(test_webm_release_once),
        cmocka_unit_test(test_webm_presets),
        cmocka_unit_test(test_webm_quality_and_bitrate),
        cmocka_unit_test(test_webm_keyframe_interval),
    };
    return cmocka_run_group_tests(tests, tu_enc_setup, tu_enc_teardown);
}
