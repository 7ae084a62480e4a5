/*
 * tests/test_encoder.c - encode/encoder for MP4 (h264, hevc), and what holds
 * for any format: files are read back with libavformat/libavcodec (and
 * ffprobe as an independent reader) and checked for container, codec, size,
 * pixel format, colour tags, frame count, durations, faststart layout and
 * decoded pixels; the release-callback contract (zero-copy and copy paths,
 * abandoned encoders, refused pushes); finish rules; quality, bitrate and
 * keyframe interval; option validation; caller contracts (KN_REQUIRE); an
 * unwritable path; and av_log lines landing in kn_log.
 *
 * WebM/VP9 is tested in test_encoder_webm.c and GIF in test_encoder_gif.c;
 * the test frames and read-back checks the three share are in
 * tests/support/encframes.h. Sizes are tiny (64x48) and presets fast so each
 * program runs in a few seconds on a shared 2-core machine.
 *
 * NVENC: the expectation follows what the machine does. If "gpu" opens, the
 * test checks that it really produced h264_nvenc and that "auto" picks it;
 * if not, the failure must be KN_EENCODER naming nvenc and "auto" must fall
 * back to libx264. KINORA_EXPECT_NVENC=0/1 pins the expectation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/log.h>

#include "common/err.h"
#include "common/log.h"
#include "encode/encoder.h"
#include "tests/support/death.h"
#include "tests/support/decode.h"
#include "tests/support/encframes.h"
#include "tests/support/testutil.h"

#define W TU_ENC_W
#define H TU_ENC_H

static void check_h264_file(const char *path, AVRational fps, long n)
{
    tu_check_file(path, KN_FORMAT_MP4, fps, n);
}

static void test_cpu_h264_24fps(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "h264_24.mp4");
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    tu_encode_file(path, o, 30);
    check_h264_file(path, (AVRational){24, 1}, 30);
}

/* NTSC rate and the default preset (medium: B-frames, so pts != dts). */
static void test_cpu_h264_ntsc_bframes(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "h264_ntsc.mp4");
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, kn_format_default_codec(KN_FORMAT_MP4));
    o.fps_num = 30000;
    o.fps_den = 1001;
    o.preset = NULL;
    tu_encode_file(path, o, 31);
    check_h264_file(path, (AVRational){30000, 1001}, 31);
}

/* release == NULL copies: the caller's buffer is overwritten right after
 * each push and the file must still hold the pushed pixels. */
static void test_copy_path(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "copy.mp4");
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    const long n = 20;
    tu_push_frames_copied(e, n);
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
    tu_out_path(path, sizeof path, "abandoned.mp4");
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    o.preset = "medium";       /* lookahead + B-frames: frames are held longer */
    enum { N = 16 };
    int counts[N + 2] = {0};
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    tu_push_frames(e, N, W, H, counts);
    for (int i = 0; i < N; i++) assert_true(counts[i] <= 1);

    /* Out of order: KN_EINVAL, the planes are still released once. */
    tu_frame *f = tu_frame_new(N + 1, W, H, counts);
    assert_int_equal(kn_encoder_push(e, N + 1, f->data, f->stride, tu_frame_release, f, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "out of order"));
    assert_int_equal(counts[N + 1], 1);

    /* The encoder is still usable after that refusal. */
    f = tu_frame_new(N, W, H, counts);
    assert_int_equal(kn_encoder_push(e, N, f->data, f->stride, tu_frame_release, f, &err), KN_OK);

    kn_encoder_destroy(e);     /* no finish */
    for (int i = 0; i < N + 2; i++) assert_int_equal(counts[i], 1);
}

/* Finish-time contract: release count is complete after finish, push after
 * finish and a second finish are refused. */
static void test_finish_rules(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "finish.mp4");
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    enum { N = 8 };
    int counts[N + 1] = {0};
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_string_equal(kn_encoder_name(e), "libx264");
    assert_int_equal(kn_encoder_finish(e, &err), KN_EINVAL);   /* nothing pushed yet */
    assert_non_null(strstr(err.msg, "no frames"));
    tu_push_frames(e, N, W, H, counts);
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    for (int i = 0; i < N; i++) assert_int_equal(counts[i], 1);

    tu_frame *f = tu_frame_new(N, W, H, counts);
    assert_int_equal(kn_encoder_push(e, N, f->data, f->stride, tu_frame_release, f, &err), KN_EINVAL);
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
    tu_out_path(path, sizeof path, "gpu.mp4");
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_GPU, KN_CODEC_H264);
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
        tu_push_frames(e, 10, W, H, counts);
        assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
        kn_encoder_destroy(e);
        for (int i = 0; i < 10; i++) assert_int_equal(counts[i], 1);
        tu_enc_probe p;
        tu_enc_probe_file(path, (AVRational){24, 1}, &p);
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
    tu_out_path(path, sizeof path, "auto.mp4");
    o = tu_enc_opts(KN_ENCODER_AUTO, KN_CODEC_H264);
    o.preset = "p4";
    e = NULL;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_string_equal(kn_encoder_name(e), have_nvenc ? "h264_nvenc" : "libx264");
    int counts[12] = {0};
    tu_push_frames(e, 12, W, H, counts);
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);
    for (int i = 0; i < 12; i++) assert_int_equal(counts[i], 1);
    tu_enc_probe p;
    tu_enc_probe_file(path, (AVRational){24, 1}, &p);
    assert_int_equal(p.codec_id, AV_CODEC_ID_H264);
    assert_int_equal(p.packets, 12);
    assert_int_equal(p.pixels_ok, 12);
}

static void test_cpu_hevc(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "hevc.mp4");
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_HEVC);
    kn_encoder *e = NULL;
    kn_err err;
    assert_int_equal(kn_encoder_create(path, &o, &e, &err), KN_OK);
    assert_string_equal(kn_encoder_name(e), "libx265");
    enum { N = 12 };
    int counts[N] = {0};
    tu_push_frames(e, N, W, H, counts);
    assert_int_equal(kn_encoder_finish(e, &err), KN_OK);
    kn_encoder_destroy(e);
    for (int i = 0; i < N; i++) assert_int_equal(counts[i], 1);

    tu_enc_probe p;
    tu_enc_probe_file(path, (AVRational){24, 1}, &p);
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
    assert_int_equal(tu_moov_before_mdat(path), 1);
}

static void test_quality_and_bitrate(void **state)
{
    (void)state;
    tu_check_quality_and_bitrate(KN_FORMAT_MP4);
}

static void test_keyframe_interval(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "gop.mp4");
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    o.keyframe_interval = 0.25;   /* 6 frames at 24 fps */
    tu_encode_file(path, o, 24);
    tu_enc_probe p;
    tu_enc_probe_file(path, (AVRational){24, 1}, &p);
    assert_int_equal(p.packets, 24);
    /* Keyframes at least at 0, 6, 12, 18 (x264 may add scene cuts). */
    for (long want = 0; want < 24; want += 6) {
        int found = 0;
        for (long k = 0; k < p.nkey; k++) found |= p.keyframes_at[k] == want;
        if (!found) fail_msg("no keyframe at packet %ld", want);
    }
}

static void test_bad_options(void **state)
{
    (void)state;
    kn_encoder_opts o;
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.width = 63;
    tu_expect_refused(o, KN_EINVAL, "/width", "even");
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.height = 47;
    tu_expect_refused(o, KN_EINVAL, "/height", "even");
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.quality = 60;
    tu_expect_refused(o, KN_EINVAL, "/output/quality", "0..51");
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.quality = -1;
    tu_expect_refused(o, KN_EINVAL, "/output/quality", "0..51");
    o = tu_enc_opts(KN_ENCODER_AUTO, KN_CODEC_H264); o.preset = "p9";
    tu_expect_refused(o, KN_EINVAL, "/output/preset", "p1..p7");
    o = tu_enc_opts(KN_ENCODER_GPU, KN_CODEC_H264); o.preset = "fast";
    tu_expect_refused(o, KN_EINVAL, "/output/preset", "p1..p7");
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.preset = "p5";
    tu_expect_refused(o, KN_EINVAL, "/output/preset", "ultrafast");
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_VP9);
    tu_expect_refused(o, KN_EINVAL, "/output/codec", "h264");
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.fps_den = 0;
    tu_expect_refused(o, KN_EINVAL, "/fps", "positive");
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264); o.bitrate_kbps = -5;
    tu_expect_refused(o, KN_EINVAL, "/output/bitrate", "bitrate");

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
    tu_out_path(path, sizeof path, "contract.mp4");
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
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    o.format = KN_FORMAT_COUNT;
    assert_true(tu_dies(create_with, &o));
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_COUNT);
    assert_true(tu_dies(create_with, &o));
    o = tu_enc_opts((kn_encoder_pref)-1, KN_CODEC_H264);
    assert_true(tu_dies(create_with, &o));
    o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
    assert_true(tu_dies(create_without_path, &o));
    assert_true(tu_dies(finish_null, NULL));
    /* and a valid call in the same harness lives */
    assert_false(tu_dies(create_with, &o));
}

static void test_unwritable_path(void **state)
{
    (void)state;
    char path[600];
    tu_out_path(path, sizeof path, "no/such/dir/out.mp4");
    kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_H264);
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
    tu_out_path(path, sizeof path, "log.txt");
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

/* libx265 takes the x265 preset names (the same ten as x264's) through the
 * one "preset" field: each opens. */
static void test_hevc_presets(void **state)
{
    (void)state;
    static const char *const names[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                        "medium", "slow", "slower", "veryslow", "placebo"};
    char path[600];
    tu_out_path(path, sizeof path, "hevc_preset.mp4");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        kn_err err;
        kn_err_clear(&err);
        assert_int_equal(kn_encoder_check_preset(KN_ENCODER_CPU, names[i], &err), KN_OK);
        assert_int_equal(kn_encoder_check(KN_FORMAT_MP4, KN_CODEC_HEVC, KN_ENCODER_CPU, names[i], &err), KN_OK);
        kn_encoder_opts o = tu_enc_opts(KN_ENCODER_CPU, KN_CODEC_HEVC);
        o.preset = names[i];
        kn_encoder *e = NULL;
        int rc = kn_encoder_create(path, &o, &e, &err);
        if (rc) fail_msg("hevc preset %s: %s", names[i], err.msg);
        assert_string_equal(kn_encoder_name(e), "libx265");
        kn_encoder_destroy(e);
    }
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
    };
    return cmocka_run_group_tests(tests, tu_enc_setup, tu_enc_teardown);
}
