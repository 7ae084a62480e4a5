/*
 * media/image.c - data: URI -> base64 -> PNG/JPEG -> premultiplied ARGB32
 * (see image.h).
 *
 * Untrusted input is handled in this order, each step bounded before the
 * next runs: the URI header (type, ";base64"), the base64 length against
 * KN_IMAGE_MAX_ENCODED, a strict base64 decode, the file signature against
 * the named type, the size from the file's own header (PNG IHDR, JPEG SOFn)
 * against KN_IMAGE_MAX_SIDE and the caller's byte budget, and only then
 * libavcodec, with its own pixel cap, one thread and errors made fatal
 * (AV_EF_EXPLODE; PNG chunk CRCs checked), so a corrupt file is a 400 and
 * never a half-decoded picture. The decoded frame is converted here: libyuv
 * for the common JPEG layouts, plain loops for the rest.
 */
#include "media/image.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cairo.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libyuv.h>

#define FMT_PNG  0
#define FMT_JPEG 1

static const char *const FMT_NAME[2] = { "png", "jpeg" };
static const char *const FMT_UPPER[2] = { "PNG", "JPEG" };

static int fail_at(kn_err *err, int *err_col, int col, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_at(kn_err *err, int *err_col, int col, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kn_err_setv(err, code, NULL, fmt, ap);
    va_end(ap);
    if (err_col) *err_col = col;
    return code;
}

/* ---- the URI ---------------------------------------------------------- */

/* Splits "data:<type>[;param]*;base64,<payload>". On success *fmt is FMT_*
 * and *payload the offset of the base64 text. */
static int parse_header(const char *uri, size_t len, int *fmt, size_t *payload, kn_err *err,
                        int *err_col)
{
    if (len < 5 || strncasecmp(uri, "data:", 5) != 0)
        return fail_at(err, err_col, 1, KN_EINVAL,
                       "src must be a data: URI such as \"data:image/png;base64,iVBOR...\" "
                       "(URLs and file paths are not fetched)");
    const char *comma = memchr(uri, ',', len);
    if (!comma)
        return fail_at(err, err_col, 0, KN_EINVAL,
                       "the data: URI has no ',' before its data (expected "
                       "\"data:image/png;base64,...\")");
    const char *type = uri + 5, *hend = comma;
    const char *semi = memchr(type, ';', (size_t)(hend - type));
    const char *tend = semi ? semi : hend;
    size_t tlen = (size_t)(tend - type);
    char tbuf[64];
    snprintf(tbuf, sizeof tbuf, "%.*s", (int)(tlen < 48 ? tlen : 48), type);
    for (char *c = tbuf; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\' || (unsigned char)*c >= 0x7f)
            *c = '?';
    if (tlen == 9 && strncasecmp(type, "image/png", 9) == 0)
        *fmt = FMT_PNG;
    else if (tlen == 10 && strncasecmp(type, "image/jpeg", 10) == 0)
        *fmt = FMT_JPEG;
    else
        return fail_at(err, err_col, 6, KN_EINVAL,
                       "unsupported image type \"%s\": src must be "
                       "\"data:image/png;base64,...\" or \"data:image/jpeg;base64,...\"",
                       tlen ? tbuf : "(none)");
    /* The last parameter must be base64; others (name=...) are ignored. */
    const char *last = NULL;
    for (const char *s = tend; s < hend; s++)
        if (*s == ';') last = s + 1;
    if (!last || (size_t)(hend - last) != 6 || strncasecmp(last, "base64", 6) != 0)
        return fail_at(err, err_col, (int)(hend - uri) + 1, KN_EINVAL,
                       "the image data must be base64: write \"data:%s;base64,...\"",
                       *fmt == FMT_PNG ? "image/png" : "image/jpeg");
    *payload = (size_t)(comma + 1 - uri);
    return KN_OK;
}

/* ---- base64 ------------------------------------------------------------ */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int b64_bad_char(unsigned char c, int col, kn_err *err, int *err_col)
{
    if (c > 0x20 && c < 0x7f)
        return fail_at(err, err_col, col, KN_EINVAL, "invalid base64 at column %d: '%c' is not "
                       "a base64 character (A-Z a-z 0-9 + /)", col, c);
    return fail_at(err, err_col, col, KN_EINVAL, "invalid base64 at column %d: byte 0x%02x is "
                   "not a base64 character (A-Z a-z 0-9 + /; no spaces or line breaks)", col, c);
}

/* Strict RFC 4648 base64 of s[0..n) into out (room for n / 4 * 3 bytes).
 * col0 is the column of s[0] in the URI, for messages. */
static int b64_decode(const char *s, size_t n, uint8_t *out, size_t *outlen, int col0,
                      kn_err *err, int *err_col)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + (size_t)k];
            int col = col0 + (int)(i + (size_t)k);
            if (c == '=' && i + 4 == n && k >= 2 && (k == 3 || s[i + 3] == '=')) {
                v[k] = 0;
                pad++;
                continue;
            }
            v[k] = b64_value(c);
            if (v[k] < 0 && c == '=')
                return fail_at(err, err_col, col, KN_EINVAL, "invalid base64 at column %d: '=' "
                               "padding may only end the data", col);
            if (v[k] < 0) return b64_bad_char(c, col, err, err_col);
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2) out[o++] = (uint8_t)(w >> 8);
        if (pad < 1) out[o++] = (uint8_t)w;
    }
    *outlen = o;
    return KN_OK;
}

/* ---- the file's own header --------------------------------------------- */

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static unsigned be16(const uint8_t *b)
{
    return (unsigned)b[0] << 8 | b[1];
}

static const uint8_t PNG_SIG[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static int sniff(const uint8_t *b, size_t n)
{
    if (n >= 8 && memcmp(b, PNG_SIG, 8) == 0) return FMT_PNG;
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return FMT_JPEG;
    return -1;
}

/* Width and height from the PNG IHDR or the JPEG frame header (SOFn). */
static int header_size(int fmt, const uint8_t *b, size_t n, long *w, long *h, kn_err *err)
{
    if (fmt == FMT_PNG) {
        if (n < 8 + 8 + 13 || be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
            return kn_err_set(err, KN_EINVAL, NULL, "corrupt PNG: no IHDR header after the "
                              "signature");
        *w = (long)be32(b + 16);
        *h = (long)be32(b + 20);
        return KN_OK;
    }
    size_t i = 2;
    while (i + 4 <= n) {
        if (b[i] != 0xff) break;
        unsigned m = b[i + 1];
        if (m == 0xff) { i++; continue; }                      /* fill byte */
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd8)) { i += 2; continue; }
        if (m == 0xd9 || m == 0xda) break;                     /* EOI, SOS before a frame */
        size_t L = be16(b + i + 2);
        if (L < 2) break;
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            if (L < 8 || i + 2 + 7 > n) break;
            *h = (long)be16(b + i + 5);
            *w = (long)be16(b + i + 7);
            if (*h == 0)
                return kn_err_set(err, KN_EINVAL, NULL, "unsupported JPEG: its height is "
                                  "given after the image data (DNL marker)");
            return KN_OK;
        }
        i += 2 + L;
    }
    return kn_err_set(err, KN_EINVAL, NULL, "corrupt JPEG: no frame header (SOF) before the "
                      "image data");
}

/* ---- pixel conversion --------------------------------------------------- */

static uint32_t pm(unsigned r, unsigned g, unsigned b, unsigned a)
{
    if (a != 255) {
        r = (r * a + 127) / 255;
        g = (g * a + 127) / 255;
        b = (b * a + 127) / 255;
    }
    return (uint32_t)a << 24 | (uint32_t)r << 16 | (uint32_t)g << 8 | b;
}

static uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Any 8-bit planar YUV layout, BT.601, full or limited range. 16.16 fixed. */
static void yuv_generic(const AVFrame *f, const AVPixFmtDescriptor *d, int full, kn_image *img)
{
    int cw = d->log2_chroma_w, ch = d->log2_chroma_h;
    for (int y = 0; y < img->height; y++) {
        const uint8_t *py = f->data[0] + (ptrdiff_t)y * f->linesize[0];
        const uint8_t *pu = f->data[1] + (ptrdiff_t)(y >> ch) * f->linesize[1];
        const uint8_t *pv = f->data[2] + (ptrdiff_t)(y >> ch) * f->linesize[2];
        uint32_t *o = (uint32_t *)(img->data + (size_t)y * (size_t)img->stride);
        for (int x = 0; x < img->width; x++) {
            int Y = py[x], U = pu[x >> cw] - 128, V = pv[x >> cw] - 128;
            int yy = full ? Y << 16 : (Y - 16) * 76309;            /* 255/219 */
            int ku = full ? 65536 : 74606, kv = ku;                /* 255/224 */
            U = (int)(((long long)U * ku) >> 16);
            V = (int)(((long long)V * kv) >> 16);
            int r = (yy + 91881 * V + 32768) >> 16;                /* 1.402 */
            int g = (yy - 22554 * U - 46802 * V + 32768) >> 16;    /* 0.344136, 0.714136 */
            int b = (yy + 116130 * U + 32768) >> 16;               /* 1.772 */
            o[x] = pm(clamp8(r), clamp8(g), clamp8(b), 255);
        }
    }
}

static int convert(const AVFrame *f, int fmt, kn_image *img, kn_err *err)
{
    enum AVPixelFormat pf = (enum AVPixelFormat)f->format;
    int w = img->width, h = img->height, rc = 0;
    uint8_t *dst = img->data;
    int ds = img->stride;
    int full = f->color_range != AVCOL_RANGE_MPEG;   /* JPEG's default is full */

    switch (pf) {
    case AV_PIX_FMT_YUVJ420P:
        rc = J420ToARGB(f->data[0], f->linesize[0], f->data[1], f->linesize[1], f->data[2],
                        f->linesize[2], dst, ds, w, h);
        break;
    case AV_PIX_FMT_YUVJ422P:
        rc = J422ToARGB(f->data[0], f->linesize[0], f->data[1], f->linesize[1], f->data[2],
                        f->linesize[2], dst, ds, w, h);
        break;
    case AV_PIX_FMT_YUVJ444P:
        rc = J444ToARGB(f->data[0], f->linesize[0], f->data[1], f->linesize[1], f->data[2],
                        f->linesize[2], dst, ds, w, h);
        break;
    case AV_PIX_FMT_YUV420P: case AV_PIX_FMT_YUV422P: case AV_PIX_FMT_YUV444P:
    case AV_PIX_FMT_YUV440P: case AV_PIX_FMT_YUV411P: case AV_PIX_FMT_YUVJ440P:
    case AV_PIX_FMT_YUVJ411P:
        yuv_generic(f, av_pix_fmt_desc_get(pf),
                    full || pf == AV_PIX_FMT_YUVJ440P || pf == AV_PIX_FMT_YUVJ411P, img);
        break;
    default:
        for (int y = 0; y < h; y++) {
            const uint8_t *s = f->data[0] + (ptrdiff_t)y * f->linesize[0];
            uint32_t *o = (uint32_t *)(dst + (size_t)y * (size_t)ds);
            switch (pf) {
            case AV_PIX_FMT_RGB24:
                for (int x = 0; x < w; x++) o[x] = pm(s[3 * x], s[3 * x + 1], s[3 * x + 2], 255);
                break;
            case AV_PIX_FMT_RGBA:
                for (int x = 0; x < w; x++)
                    o[x] = pm(s[4 * x], s[4 * x + 1], s[4 * x + 2], s[4 * x + 3]);
                break;
            case AV_PIX_FMT_GRAY8:
                for (int x = 0; x < w; x++) o[x] = pm(s[x], s[x], s[x], 255);
                break;
            case AV_PIX_FMT_YA8:
                for (int x = 0; x < w; x++) o[x] = pm(s[2 * x], s[2 * x], s[2 * x], s[2 * x + 1]);
                break;
            case AV_PIX_FMT_MONOBLACK:
                for (int x = 0; x < w; x++) {
                    unsigned v = (s[x >> 3] >> (7 - (x & 7))) & 1 ? 255 : 0;
                    o[x] = pm(v, v, v, 255);
                }
                break;
            case AV_PIX_FMT_PAL8: {
                const uint32_t *pal = (const uint32_t *)f->data[1];   /* native 0xAARRGGBB */
                for (int x = 0; x < w; x++) {
                    uint32_t c = pal[s[x]];
                    o[x] = pm(c >> 16 & 255, c >> 8 & 255, c & 255, c >> 24);
                }
                break;
            }
            /* 16-bit channels, big-endian: keep the high byte. */
            case AV_PIX_FMT_RGB48BE:
                for (int x = 0; x < w; x++) o[x] = pm(s[6 * x], s[6 * x + 2], s[6 * x + 4], 255);
                break;
            case AV_PIX_FMT_RGBA64BE:
                for (int x = 0; x < w; x++)
                    o[x] = pm(s[8 * x], s[8 * x + 2], s[8 * x + 4], s[8 * x + 6]);
                break;
            case AV_PIX_FMT_GRAY16BE:
                for (int x = 0; x < w; x++) o[x] = pm(s[2 * x], s[2 * x], s[2 * x], 255);
                break;
            case AV_PIX_FMT_YA16BE:
                for (int x = 0; x < w; x++) o[x] = pm(s[4 * x], s[4 * x], s[4 * x], s[4 * x + 2]);
                break;
            case AV_PIX_FMT_GBRP: {
                const uint8_t *b = f->data[1] + (ptrdiff_t)y * f->linesize[1];
                const uint8_t *r = f->data[2] + (ptrdiff_t)y * f->linesize[2];
                for (int x = 0; x < w; x++) o[x] = pm(r[x], s[x], b[x], 255);
                break;
            }
            default: {
                const char *name = av_get_pix_fmt_name(pf);
                return kn_err_set(err, KN_EINVAL, NULL, "unsupported %s pixel layout \"%s\" "
                                  "(supported: 8- and 16-bit RGB, RGBA, grey, palette; "
                                  "8-bit YCbCr JPEG)", FMT_UPPER[fmt], name ? name : "?");
            }
            }
        }
        break;
    }
    if (rc != 0)
        return kn_err_set(err, KN_EINTERNAL, NULL, "colour conversion of the %s failed "
                          "(libyuv returned %d)", FMT_UPPER[fmt], rc);
    return KN_OK;
}

/* ---- decoding ----------------------------------------------------------- */

/* buf: n bytes followed by AV_INPUT_BUFFER_PADDING_SIZE zeros, av_malloc'ed;
 * ownership passes to the packet. */
static int decode(int fmt, uint8_t *buf, size_t n, long w, long h, kn_image *img, kn_err *err)
{
    AVCodecContext *ctx = NULL;
    AVPacket *pkt = NULL;
    AVFrame *frame = NULL;
    int rc = KN_OK, ret;
    /* By name: the software decoder, never a hardware wrapper (mjpeg_cuvid). */
    const AVCodec *codec = avcodec_find_decoder_by_name(fmt == FMT_PNG ? "png" : "mjpeg");
    if (!codec) {
        av_free(buf);
        return kn_err_set(err, KN_EINTERNAL, NULL, "this build of libavcodec has no %s decoder",
                          FMT_UPPER[fmt]);
    }
    ctx = avcodec_alloc_context3(codec);
    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    if (!ctx || !pkt || !frame) {
        av_free(buf);
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory decoding the image");
        goto out;
    }
    if ((ret = av_packet_from_data(pkt, buf, (int)n)) < 0) {
        av_free(buf);
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory decoding the image");
        goto out;
    }
    ctx->thread_count = 1;      /* parsing runs on a server thread: no pools */
    ctx->max_pixels = (int64_t)KN_IMAGE_MAX_SIDE * KN_IMAGE_MAX_SIDE;
    ctx->err_recognition = AV_EF_EXPLODE | AV_EF_CRCCHECK;
    if ((ret = avcodec_open2(ctx, codec, NULL)) < 0) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "cannot open the %s decoder", FMT_UPPER[fmt]);
        goto out;
    }
    ret = avcodec_send_packet(ctx, pkt);
    if (ret >= 0) ret = avcodec_send_packet(ctx, NULL);
    if (ret >= 0 || ret == AVERROR_EOF) ret = avcodec_receive_frame(ctx, frame);
    if (ret < 0 || frame->width != w || frame->height != h ||
        (frame->flags & AV_FRAME_FLAG_CORRUPT) || frame->decode_error_flags) {
        char why[AV_ERROR_MAX_STRING_SIZE] = "";
        if (ret < 0 && ret != AVERROR_EOF && ret != AVERROR(EAGAIN))
            av_strerror(ret, why, sizeof why);
        else if (ret < 0)
            snprintf(why, sizeof why, "no picture in the data");
        else
            snprintf(why, sizeof why, "the picture does not match its header");
        rc = kn_err_set(err, ret == AVERROR(ENOMEM) ? KN_ENOMEM : KN_EINVAL, NULL,
                        "corrupt or unsupported %s: decoding failed (%s)", FMT_UPPER[fmt], why);
        goto out;
    }
    rc = convert(frame, fmt, img, err);
out:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
    return rc;
}

int kn_image_decode_uri(const char *uri, size_t len, size_t max_bytes, kn_image **out,
                        int *err_col, kn_err *err)
{
    int fmt = 0, rc;
    size_t off = 0, bytes = 0;
    uint8_t *buf = NULL;
    kn_image *img = NULL;
    long w = 0, h = 0;

    *out = NULL;
    if (err_col) *err_col = 0;
    if ((rc = parse_header(uri, len, &fmt, &off, err, err_col))) return rc;
    size_t n = len - off;
    const size_t b64_max = (KN_IMAGE_MAX_ENCODED + 2) / 3 * 4;
    if (n == 0)
        return fail_at(err, err_col, (int)off + 1, KN_EINVAL, "the image data is empty");
    if (n > b64_max)
        return fail_at(err, err_col, 0, KN_EINVAL, "the image is %zu characters of base64, "
                       "more than the %zu allowed (a %zu MiB file)", n, b64_max,
                       KN_IMAGE_MAX_ENCODED >> 20);
    /* A stray character is the likelier fault than the length: name it. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)uri[off + i];
        if (c != '=' && b64_value(c) < 0) return b64_bad_char(c, (int)(off + i) + 1, err, err_col);
    }
    if (n % 4)
        return fail_at(err, err_col, (int)len, KN_EINVAL,
                       "invalid base64: %zu characters is not a multiple of 4 (the data is cut "
                       "short or its '=' padding is missing)", n);
    buf = av_malloc(n / 4 * 3 + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!buf) return fail_at(err, err_col, 0, KN_ENOMEM, "out of memory decoding base64");
    if ((rc = b64_decode(uri + off, n, buf, &bytes, (int)off + 1, err, err_col))) goto fail;
    memset(buf + bytes, 0, AV_INPUT_BUFFER_PADDING_SIZE);

    int got = sniff(buf, bytes);
    if (got != fmt) {
        if (got >= 0)
            rc = kn_err_set(err, KN_EINVAL, NULL, "the data is a %s image but the URI says "
                            "image/%s", FMT_UPPER[got], FMT_NAME[fmt]);
        else
            rc = kn_err_set(err, KN_EINVAL, NULL, "the data is not a %s image (it does not "
                            "start with the %s signature)", FMT_UPPER[fmt], FMT_UPPER[fmt]);
        goto fail;
    }
    if ((rc = header_size(fmt, buf, bytes, &w, &h, err))) goto fail;
    if (w < 1 || h < 1) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "corrupt %s: its header gives a size of %ldx%ld",
                        FMT_UPPER[fmt], w, h);
        goto fail;
    }
    if (w > KN_IMAGE_MAX_SIDE || h > KN_IMAGE_MAX_SIDE) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "image %ldx%ld is over the %dx%d limit: scale it "
                        "down before embedding it", w, h, KN_IMAGE_MAX_SIDE, KN_IMAGE_MAX_SIDE);
        goto fail;
    }
    int stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, (int)w);
    size_t need = (size_t)stride * (size_t)h + sizeof *img;
    if (stride <= 0 || need > max_bytes) {
        rc = kn_err_set(err, KN_ETOOBIG, NULL, "the %ldx%ld image needs %zu bytes decoded, more "
                        "than the %zu left under the document's memory limit", w, h, need,
                        max_bytes);
        goto fail;
    }
    img = calloc(1, sizeof *img);
    if (img) img->data = malloc(need - sizeof *img);
    if (!img || !img->data) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory for a %ldx%ld image", w, h);
        goto fail;
    }
    img->width = (int)w;
    img->height = (int)h;
    img->stride = stride;
    img->format = FMT_NAME[fmt];
    rc = decode(fmt, buf, bytes, w, h, img, err);
    buf = NULL;   /* the decoder took it */
    if (rc) goto fail;
    *out = img;
    return KN_OK;

fail:
    av_free(buf);
    kn_image_destroy(img);
    return rc;
}

size_t kn_image_bytes(const kn_image *img)
{
    return img ? (size_t)img->stride * (size_t)img->height + sizeof *img : 0;
}

void kn_image_destroy(kn_image *img)
{
    if (!img) return;
    free(img->data);
    free(img);
}
