/*
 * tests/test_vocab.c - the shared vocabulary: every enum value has its
 * spelling, parse inverts name and refuses anything else (case, blanks,
 * NULL), the format facts (extension, MIME type, default codec) are the
 * documented ones, and an out-of-range value is a broken contract.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/log.h"
#include "common/vocab.h"
#include "tests/support/death.h"

static void test_job_status(void **state)
{
    (void)state;
    static const char *const want[] = {"queued", "rendering", "succeeded", "failed", "canceled"};
    assert_int_equal(KN_STATUS_COUNT, 5);
    for (int i = 0; i < KN_STATUS_COUNT; i++) {
        assert_string_equal(kn_job_status_name((kn_job_status)i), want[i]);
        kn_job_status st = KN_STATUS_COUNT;
        assert_true(kn_job_status_parse(want[i], &st));
        assert_int_equal(st, i);
        assert_non_null(strstr(kn_job_status_choices(), want[i]));
    }
    static const char *const bad[] = {"", "Queued", "queued ", "done", "succeeded\n", "q"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kn_job_status st = KN_STATUS_FAILED;
        assert_false(kn_job_status_parse(bad[i], &st));
        assert_int_equal(st, KN_STATUS_FAILED);   /* untouched */
    }
    kn_job_status st = KN_STATUS_FAILED;
    assert_false(kn_job_status_parse(NULL, &st));

    assert_false(kn_job_status_is_final(KN_STATUS_QUEUED));
    assert_false(kn_job_status_is_final(KN_STATUS_RENDERING));
    assert_true(kn_job_status_is_final(KN_STATUS_SUCCEEDED));
    assert_true(kn_job_status_is_final(KN_STATUS_FAILED));
    assert_true(kn_job_status_is_final(KN_STATUS_CANCELED));
}

static void test_formats(void **state)
{
    (void)state;
    static const struct {
        const char *name, *ext, *mime;
        kn_codec codec;
    } want[] = {
        {"mp4", "mp4", "video/mp4", KN_CODEC_H264},
        {"webm", "webm", "video/webm", KN_CODEC_VP9},
        {"gif", "gif", "image/gif", KN_CODEC_GIF},
    };
    assert_int_equal(KN_FORMAT_COUNT, 3);
    for (int i = 0; i < KN_FORMAT_COUNT; i++) {
        kn_format f = (kn_format)i;
        assert_string_equal(kn_format_name(f), want[i].name);
        assert_string_equal(kn_format_extension(f), want[i].ext);
        assert_string_equal(kn_format_mime(f), want[i].mime);
        assert_int_equal(kn_format_default_codec(f), want[i].codec);
        kn_format back = KN_FORMAT_COUNT;
        assert_true(kn_format_parse(want[i].name, &back));
        assert_int_equal(back, f);
        assert_non_null(strstr(kn_format_choices(), want[i].name));
    }
    kn_format f = KN_FORMAT_GIF;
    assert_false(kn_format_parse("MP4", &f));
    assert_false(kn_format_parse("mkv", &f));
    assert_false(kn_format_parse("", &f));
    assert_false(kn_format_parse(NULL, &f));
    assert_int_equal(f, KN_FORMAT_GIF);
    /* the zero value is the default the API documents */
    assert_int_equal(KN_FORMAT_MP4, 0);
}

static void test_codecs_and_encoders(void **state)
{
    (void)state;
    static const char *const codecs[] = {"h264", "hevc", "vp9", "gif"};
    assert_int_equal(KN_CODEC_COUNT, 4);
    for (int i = 0; i < KN_CODEC_COUNT; i++) {
        assert_string_equal(kn_codec_name((kn_codec)i), codecs[i]);
        kn_codec c = KN_CODEC_COUNT;
        assert_true(kn_codec_parse(codecs[i], &c));
        assert_int_equal(c, i);
    }
    kn_codec c = KN_CODEC_VP9;
    assert_false(kn_codec_parse("av1", &c));
    assert_false(kn_codec_parse("H264", &c));
    assert_int_equal(c, KN_CODEC_VP9);

    static const char *const prefs[] = {"auto", "gpu", "cpu"};
    assert_int_equal(KN_ENCODER_PREF_COUNT, 3);
    for (int i = 0; i < KN_ENCODER_PREF_COUNT; i++) {
        assert_string_equal(kn_encoder_pref_name((kn_encoder_pref)i), prefs[i]);
        kn_encoder_pref e = KN_ENCODER_PREF_COUNT;
        assert_true(kn_encoder_pref_parse(prefs[i], &e));
        assert_int_equal(e, i);
        assert_non_null(strstr(kn_encoder_pref_choices(), prefs[i]));
    }
    kn_encoder_pref e = KN_ENCODER_CPU;
    assert_false(kn_encoder_pref_parse("tpu", &e));
    assert_int_equal(e, KN_ENCODER_CPU);
    assert_int_equal(KN_ENCODER_AUTO, 0);
}

static void status_name_out_of_range(void *arg)
{
    (void)arg;
    kn_job_status_name(KN_STATUS_COUNT);
}
static void format_mime_negative(void *arg)
{
    (void)arg;
    kn_format_mime((kn_format)-1);
}
static void codec_name_out_of_range(void *arg)
{
    (void)arg;
    kn_codec_name(KN_CODEC_COUNT);
}
static void final_out_of_range(void *arg)
{
    (void)arg;
    kn_job_status_is_final((kn_job_status)42);
}

static void test_out_of_range(void **state)
{
    (void)state;
    assert_true(tu_dies(status_name_out_of_range, NULL));
    assert_true(tu_dies(format_mime_negative, NULL));
    assert_true(tu_dies(codec_name_out_of_range, NULL));
    assert_true(tu_dies(final_out_of_range, NULL));
}

int main(void)
{
    kn_log_set_level(KN_LOG_QUIET);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_status),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_codecs_and_encoders),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
