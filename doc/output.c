/*
 * doc/output.c - the "output" object of a job document into doc->output:
 * format, codec, encoder, quality or bitrate, preset, keyframe interval.
 *
 * This is the JSON edge of the output vocabulary: format, codec and encoder
 * strings become kn_format, kn_codec and kn_encoder_pref here and nowhere
 * else. Which format, codec, encoder and preset go together is the encoder
 * module's knowledge (encode/encoder.h); this file fills the defaults,
 * checks types and ranges, and two rules of its own: gif times frames in
 * centiseconds, so it refuses a rate over 100 fps (at /fps), and NVENC has
 * no VP9. Invariant: on KN_OK doc->output is a combination the encoder
 * accepts (kn_encoder_check has seen it whole); on a failure the doc is
 * thrown away, so what was filled in does not matter.
 */
#include "doc/parser.h"

#include <stdio.h>
#include <string.h>

#include "encode/encoder.h"

static int get_str_field(parser *p, const json_t *obj, const char *key, const char **out)
{
    const json_t *j = json_object_get(obj, key);
    if (!j) return KN_OK;
    if (!json_is_string(j)) {
        size_t old = doc_push_key(p, key);
        int rc = doc_fail(p, KN_EINVAL, "expected a string, got %s", doc_jdesc(j));
        doc_pop(p, old);
        return rc;
    }
    *out = json_string_value(j);
    return KN_OK;
}

int doc_parse_output(parser *p, const json_t *j)
{
    static const char *const KEYS[] = { "format", "codec", "encoder", "quality", "preset",
                                        "bitrate", "keyframe_interval", NULL };
    kn_output *o = &p->doc->output;
    const char *format = "mp4", *codec = NULL, *encoder = "auto", *preset = "";
    size_t old = doc_push_key(p, "output");
    int rc;

    o->format = KN_FORMAT_MP4;
    o->codec = KN_CODEC_H264;
    o->encoder = KN_ENCODER_AUTO;
    o->quality = 20;
    o->preset[0] = '\0';
    o->bitrate_kbps = 0;
    o->keyframe_interval = 2;
    if (!j) goto out_ok;

    if (!json_is_object(j)) {
        rc = doc_fail(p, KN_EINVAL, "expected an object, got %s", doc_jdesc(j));
        goto out;
    }
    if ((rc = doc_check_keys(p, j, KEYS))) goto out;
    if ((rc = get_str_field(p, j, "format", &format)) ||
        (rc = get_str_field(p, j, "codec", &codec)) ||
        (rc = get_str_field(p, j, "encoder", &encoder)) ||
        (rc = get_str_field(p, j, "preset", &preset)))
        goto out;

    size_t o2 = doc_push_key(p, "format");
    if (!kn_format_parse(format, &o->format))
        rc = doc_fail(p, KN_EINVAL, "unknown format \"%.32s\" (allowed: mp4, webm, gif)", format);
    doc_pop(p, o2);
    if (rc) goto out;
    /* gif times frames in whole centiseconds (encode/encoder.h): above 100
     * fps two frames would start at the same tick. The rate is at fault as
     * much as the format; the error points at /fps. */
    if (o->format == KN_FORMAT_GIF && p->doc->fps_num > 100L * p->doc->fps_den) {
        doc_pop(p, old);
        o2 = doc_push_key(p, "fps");
        rc = doc_fail(p, KN_EINVAL, "fps %g is too high for format \"gif\", which times frames in "
                      "whole centiseconds: use fps <= 100 (<= 50 plays at the right speed in "
                      "browsers) or format \"mp4\"", p->doc->fps);
        doc_pop(p, o2);
        goto out;
    }
    o2 = doc_push_key(p, "encoder");
    if (!kn_encoder_pref_parse(encoder, &o->encoder))
        rc = doc_fail(p, KN_EINVAL, "unknown encoder \"%.32s\" (allowed: auto, gpu, cpu)", encoder);
    doc_pop(p, o2);
    if (rc) goto out;

    long q = 20, br = 0;
    int has_q = 0, has_br = 0;
    static const nrange RQ = { 0, 51, R_LO | R_HI | R_INT };
    static const nrange RB = { 1, (double)KN_DOC_MAX_BITRATE, R_LO | R_HI | R_INT };
    if ((rc = doc_get_int_field(p, j, "quality", 0, &RQ, &q, &has_q)) ||
        (rc = doc_get_int_field(p, j, "bitrate", 0, &RB, &br, &has_br)))
        goto out;
    if (has_q && has_br) {
        o2 = doc_push_key(p, "bitrate");
        rc = doc_fail(p, KN_EINVAL, "give either \"quality\" or \"bitrate\", not both");
        doc_pop(p, o2);
        goto out;
    }
    o->quality = (int)q;
    o->bitrate_kbps = br;

    const json_t *jk = json_object_get(j, "keyframe_interval");
    if (jk) {
        static const nrange RK = { 0, KN_DOC_MAX_KEYINT, R_LO | R_LO_OPEN | R_HI };
        o2 = doc_push_key(p, "keyframe_interval");
        double v = json_is_number(jk) ? json_number_value(jk) : 0;
        if (v > KN_DOC_MAX_KEYINT && doc_ms_like(v)) {
            char want[96], got[32], hint[96];
            doc_range_text(&RK, want, sizeof want);
            rc = doc_fail(p, KN_EINVAL, "expected %s, got %s%s", want, doc_num_text(v, got),
                          doc_ms_hint(v, hint));
        } else {
            rc = doc_get_num(p, jk, &RK, &o->keyframe_interval);
        }
        doc_pop(p, o2);
        if (rc) goto out;
    }

    /* The encoder module owns which format, codec, encoder and preset go
     * together; its errors already point at the /output field at fault. */
    if ((rc = kn_encoder_codec_parse(o->format, codec, &o->codec, p->err)) ||
        (rc = kn_encoder_check(o->format, o->codec, o->encoder, preset, p->err)))
        goto out;
    if (o->codec == KN_CODEC_VP9 && o->encoder == KN_ENCODER_GPU) {
        o2 = doc_push_key(p, "encoder");
        rc = doc_fail(p, KN_EINVAL, "encoder \"gpu\" means NVENC, which has no VP9 encoder: use "
                      "\"auto\" or \"cpu\" with webm");
        doc_pop(p, o2);
        goto out;
    }
    if (strlen(preset) >= sizeof o->preset) {
        o2 = doc_push_key(p, "preset");
        rc = doc_fail(p, KN_EINVAL, "unknown preset \"%.32s\"", preset);
        doc_pop(p, o2);
        goto out;
    }
    snprintf(o->preset, sizeof o->preset, "%s", preset);
out_ok:
    rc = KN_OK;
out:
    doc_pop(p, old);
    return rc;
}

