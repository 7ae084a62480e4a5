/*
 * common/vocab.h - the words every layer shares: a job's status, an output
 * format, a video codec and an encoder preference, each an enum. Their
 * spellings in JSON, SQL, URLs and file names live only in the tables of
 * vocab.c.
 *
 * Strings are parsed at the edges alone (the job document's "output" block,
 * the HTTP ?status= filter, the store's text columns); everything between
 * passes the enum. Each type's functions are prefixed with the type's own
 * name (kn_job_status_name, kn_format_parse) rather than kn_vocab_: the
 * module is a set of types, and the calls read as the words they handle.
 *
 * Every enum starts at 0 with its default (queued, mp4, h264, auto), so a
 * zeroed struct holds defaults, and ends with a _COUNT for range checks.
 * Passing a value outside 0.._COUNT-1 is a caller bug (KN_REQUIRE aborts).
 *
 * *_parse(s, &out) returns true and sets out when s is exactly one of the
 * spellings (case-sensitive, as docs/api.md and docs/job-format.md write
 * them), false otherwise (s may be NULL), leaving out untouched: each edge
 * writes the error message that fits it. *_choices() is the list of
 * spellings for such messages ("mp4, webm or gif").
 *
 * Every const char * returned is a static string.
 */
#ifndef KN_COMMON_VOCAB_H
#define KN_COMMON_VOCAB_H

#include <stdbool.h>

/* ---- job status ---------------------------------------------------------- */

/* A job moves queued -> rendering -> succeeded | failed | canceled (and back
 * to queued only in crash recovery); see docs/architecture.md#the-job-store. */
typedef enum kn_job_status {
    KN_STATUS_QUEUED = 0,
    KN_STATUS_RENDERING,
    KN_STATUS_SUCCEEDED,
    KN_STATUS_FAILED,
    KN_STATUS_CANCELED,
    KN_STATUS_COUNT
} kn_job_status;

const char *kn_job_status_name(kn_job_status s);
bool kn_job_status_parse(const char *s, kn_job_status *out);
const char *kn_job_status_choices(void);
/* Succeeded, failed or canceled: nothing will change the job any more. */
bool kn_job_status_is_final(kn_job_status s);

/* ---- output format, codec, encoder preference ------------------------------- */

typedef enum kn_codec {
    KN_CODEC_H264 = 0,
    KN_CODEC_HEVC,
    KN_CODEC_VP9,
    KN_CODEC_GIF,          /* GIF's LZW over palette indexes, gif's only one */
    KN_CODEC_COUNT
} kn_codec;

typedef enum kn_format {
    KN_FORMAT_MP4 = 0,
    KN_FORMAT_WEBM,
    KN_FORMAT_GIF,
    KN_FORMAT_COUNT
} kn_format;

/* "encoder" in the job document: what kind of encoder to open. */
typedef enum kn_encoder_pref {
    KN_ENCODER_AUTO = 0,   /* NVENC when it opens, else the CPU encoder */
    KN_ENCODER_GPU,        /* NVENC or fail */
    KN_ENCODER_CPU,        /* libx264, libx265, libvpx-vp9, gif */
    KN_ENCODER_PREF_COUNT
} kn_encoder_pref;

const char *kn_format_name(kn_format f);            /* "mp4" */
bool kn_format_parse(const char *s, kn_format *out);
const char *kn_format_choices(void);
const char *kn_format_extension(kn_format f);       /* "mp4", without the dot */
const char *kn_format_mime(kn_format f);            /* "video/mp4" */
kn_codec kn_format_default_codec(kn_format f);      /* mp4: h264, webm: vp9, gif: gif */

const char *kn_codec_name(kn_codec c);              /* "h264" */
bool kn_codec_parse(const char *s, kn_codec *out);

const char *kn_encoder_pref_name(kn_encoder_pref e);   /* "auto" */
bool kn_encoder_pref_parse(const char *s, kn_encoder_pref *out);
const char *kn_encoder_pref_choices(void);

#endif
