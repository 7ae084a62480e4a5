/*
 * media/image.h - the pixels of an image element (spec 3): a data: URI
 * holding a base64 PNG or JPEG, decoded once (at parse time) into
 * premultiplied ARGB32, the layout of a Cairo CAIRO_FORMAT_ARGB32 image
 * (native-endian 0xAARRGGBB words, B, G, R, A bytes on little-endian), so
 * drawing wraps the pixels in a Cairo surface without converting them.
 *
 * Accepted: "data:image/png;base64,..." and "data:image/jpeg;base64,..."
 * (scheme and type case-insensitive; parameters such as ";name=x" before
 * ";base64" are ignored). The base64 is strict: the RFC 4648 alphabet,
 * padded to a multiple of 4, no whitespace. The bytes must be the type the
 * URI names (checked by signature). PNG: every colour type and bit depth
 * (16-bit channels keep their high byte); gamma, ICC profiles and APNG
 * frames after the first are ignored. JPEG: baseline and progressive, grey
 * and YCbCr (full range, BT.601), or RGB; EXIF orientation is ignored.
 *
 * Ownership: a kn_image owns its pixels; it is immutable once returned, so
 * threads may read it at once.
 */
#ifndef KN_MEDIA_IMAGE_H
#define KN_MEDIA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

/* KN_IMAGE_MAX_ENCODED and KN_IMAGE_MAX_SIDE: common/limits.h */

typedef struct kn_image {
    int width, height;         /* 1..KN_IMAGE_MAX_SIDE */
    int stride;                /* bytes per row, cairo_format_stride_for_width */
    uint8_t *data;             /* height * stride bytes, premultiplied ARGB32 */
    const char *format;        /* "png" or "jpeg" (static) */
} kn_image;

/*
 * Decodes the data: URI uri (len bytes; it may contain NULs, which are not
 * base64) into *out (NULL on failure). max_bytes bounds the decoded pixels
 * (height * stride), checked from the file's header before anything is
 * decoded. Errors, with err->path left empty (the caller knows the field)
 * and *err_col (may be NULL) the 1-based byte column in uri of the
 * offending character, or 0 when the fault has no position:
 *  - KN_EINVAL: not a data: URI, not base64, a type other than PNG/JPEG,
 *    bad base64 (with its column), bytes not of the named type, a corrupt
 *    or truncated file, a side over KN_IMAGE_MAX_SIDE, the encoded file over
 *    KN_IMAGE_MAX_ENCODED;
 *  - KN_ETOOBIG: the pixels need more than max_bytes;
 *  - KN_ENOMEM.
 */
int kn_image_decode_uri(const char *uri, size_t len, size_t max_bytes, kn_image **out,
                        int *err_col, kn_err *err);

/* Bytes the image holds (its pixels plus the struct). 0 for NULL. */
size_t kn_image_bytes(const kn_image *img);

void kn_image_destroy(kn_image *img);   /* accepts NULL */

#endif
