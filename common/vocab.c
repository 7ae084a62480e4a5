/*
 * common/vocab.c - see vocab.h. One table per type, indexed by the enum, so
 * a spelling and its facts (extension, MIME type, default codec) are written
 * once. The tables are in enum order: tests/test_vocab.c checks that every
 * value has a spelling and that parse inverts name.
 */
#include "common/vocab.h"

#include <stddef.h>
#include <string.h>

#include "common/require.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Index of s in names[0..n-1], or -1. */
static int lookup(const char *const *names, size_t n, const char *s)
{
    if (!s) return -1;
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0) return (int)i;
    return -1;
}

/* ---- job status ---------------------------------------------------------- */

static const char *const status_names[KN_STATUS_COUNT] = {
    [KN_STATUS_QUEUED] = "queued",
    [KN_STATUS_RENDERING] = "rendering",
    [KN_STATUS_SUCCEEDED] = "succeeded",
    [KN_STATUS_FAILED] = "failed",
    [KN_STATUS_CANCELED] = "canceled",
};

const char *kn_job_status_name(kn_job_status s)
{
    KN_REQUIRE((unsigned)s < KN_STATUS_COUNT);
    return status_names[s];
}

bool kn_job_status_parse(const char *s, kn_job_status *out)
{
    int i = lookup(status_names, COUNT(status_names), s);
    if (i < 0) return false;
    *out = (kn_job_status)i;
    return true;
}

const char *kn_job_status_choices(void)
{
    return "queued, rendering, succeeded, failed or canceled";
}

bool kn_job_status_is_final(kn_job_status s)
{
    KN_REQUIRE((unsigned)s < KN_STATUS_COUNT);
    return s == KN_STATUS_SUCCEEDED || s == KN_STATUS_FAILED || s == KN_STATUS_CANCELED;
}

/* ---- formats --------------------------------------------------------------- */

static const struct format_row {
    const char *name;          /* also the libavformat muxer's name */
    const char *extension;
    const char *mime;
    kn_codec default_codec;
} formats[KN_FORMAT_COUNT] = {
    [KN_FORMAT_MP4] = {"mp4", "mp4", "video/mp4", KN_CODEC_H264},
    [KN_FORMAT_WEBM] = {"webm", "webm", "video/webm", KN_CODEC_VP9},
    [KN_FORMAT_GIF] = {"gif", "gif", "image/gif", KN_CODEC_GIF},
};

static const struct format_row *format_row(kn_format f)
{
    KN_REQUIRE((unsigned)f < KN_FORMAT_COUNT);
    return &formats[f];
}

const char *kn_format_name(kn_format f) { return format_row(f)->name; }
const char *kn_format_extension(kn_format f) { return format_row(f)->extension; }
const char *kn_format_mime(kn_format f) { return format_row(f)->mime; }
kn_codec kn_format_default_codec(kn_format f) { return format_row(f)->default_codec; }
const char *kn_format_choices(void) { return "mp4, webm or gif"; }

bool kn_format_parse(const char *s, kn_format *out)
{
    if (!s) return false;
    for (size_t i = 0; i < COUNT(formats); i++) {
        if (strcmp(formats[i].name, s) == 0) {
            *out = (kn_format)i;
            return true;
        }
    }
    return false;
}

/* ---- codecs ---------------------------------------------------------------- */

static const char *const codec_names[KN_CODEC_COUNT] = {
    [KN_CODEC_H264] = "h264", [KN_CODEC_HEVC] = "hevc", [KN_CODEC_VP9] = "vp9",
    [KN_CODEC_GIF] = "gif",
};

const char *kn_codec_name(kn_codec c)
{
    KN_REQUIRE((unsigned)c < KN_CODEC_COUNT);
    return codec_names[c];
}

bool kn_codec_parse(const char *s, kn_codec *out)
{
    int i = lookup(codec_names, COUNT(codec_names), s);
    if (i < 0) return false;
    *out = (kn_codec)i;
    return true;
}

/* ---- encoder preference ------------------------------------------------------ */

static const char *const pref_names[KN_ENCODER_PREF_COUNT] = {
    [KN_ENCODER_AUTO] = "auto", [KN_ENCODER_GPU] = "gpu", [KN_ENCODER_CPU] = "cpu",
};

const char *kn_encoder_pref_name(kn_encoder_pref e)
{
    KN_REQUIRE((unsigned)e < KN_ENCODER_PREF_COUNT);
    return pref_names[e];
}

bool kn_encoder_pref_parse(const char *s, kn_encoder_pref *out)
{
    int i = lookup(pref_names, COUNT(pref_names), s);
    if (i < 0) return false;
    *out = (kn_encoder_pref)i;
    return true;
}

const char *kn_encoder_pref_choices(void) { return "auto, gpu or cpu"; }
