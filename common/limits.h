/*
 * common/limits.h - every limit Kinora enforces, in one place.
 *
 * A limit protects the service: exceeding one is a clear error for the one
 * job or client concerned (a 400/413 or a failed job), never a crash or a
 * stall for anyone else. docs/job-format.md and docs/api.md quote these
 * numbers; change both together.
 *
 * Limits that belong to one module's data structure and are never seen by a
 * client (a scratch buffer, a recursion guard) stay in that module's .c file
 * with a comment saying why.
 */
#ifndef KN_COMMON_LIMITS_H
#define KN_COMMON_LIMITS_H

#include <stddef.h>

/* ---- preview ------------------------------------------------------------ */

/* Longest a preview child may take to draw its frame. */
#define KN_PREVIEW_TIMEOUT_MS 60000
/* Largest PNG a preview child may write. */
#define KN_PREVIEW_MAX_PNG ((size_t)512 << 20)

/* ---- job document --------------------------------------------------------- */

/* Frame size: what the job spec allows, 16x16 up to 8K UHD. The frame ring
 * (pipeline/ring.c) and the encoders accept the same range, so a parsed
 * document always fits them. */
#define KN_DOC_MIN_SIDE 16
#define KN_DOC_MAX_WIDTH 7680
#define KN_DOC_MAX_HEIGHT 4320
/* Groups in groups, and scenes in scenes: parsing, evaluating and drawing
 * recurse once per level, so the depth bounds their stack. */
#define KN_DOC_MAX_DEPTH 32
/* Compositions in compositions: each level is a document with a canvas of
 * its own, drawn by recursion. */
#define KN_DOC_MAX_COMP_DEPTH 4
/* Elements in one document, groups' children included: every one is
 * visited for every frame. */
#define KN_DOC_MAX_ELEMENTS 100000
/* Numbers in one array value (2 000 000 points): 32 MB of doubles, which
 * evaluating a frame copies into the frame's state. */
#define KN_DOC_MAX_ARRAY 4000000
/* Scenes in the timeline: evaluating a frame may visit every one. */
#define KN_DOC_MAX_SCENES 1000000
/* The longest a scene may last, in seconds, so that lengths and their sums
 * and products under modifiers stay finite. */
#define KN_DOC_MAX_SECONDS 1e9
/* output.bitrate, kbit/s: the encoder's own cap (encode/encoder.c). */
#define KN_DOC_MAX_BITRATE 1000000L
/* output.keyframe_interval, seconds: an hour, longer than the frame limit
 * lasts at usual rates (100 000 frames are 56 minutes at 30 fps). */
#define KN_DOC_MAX_KEYINT 3600.0
/* Series in one plot: each is four slots and a drawing pass every frame. */
#define KN_DOC_MAX_SERIES 256
/* Explicit ticks per plot axis: the renderer's tick buffers hold this many
 * (render/ticks.h KN_TICKS_MAX, which must stay equal). */
#define KN_DOC_MAX_TICKS 32
/* Stops in one gradient: bounds the pattern built for every paint; real
 * gradients use a handful. */
#define KN_DOC_MAX_STOPS 256
/* Gradient coordinates and radius, in magnitude, as for path data
 * (lang/path.h): room for any drawing, finite under any transform. */
#define KN_DOC_GRAD_COORD_MAX 1e9
/* Cells on a side of a heatmap: its cells are drawn as one image (Cairo's
 * images stop at 32767) and no screen shows more. */
#define KN_HEATMAP_MAX_SIDE 16384
/* Memory for jansson's temporary tree of one document while it is read
 * (doc/jsonmem.c), apart from the parsed document's own limit: the densest
 * numbers ("0,0,...") take 27 bytes of jansson values per byte of text, so
 * a 64 MiB body (the default limit) needs 1.7 GiB; past this the document
 * is refused (413) instead of exhausting the memory of the process. */
#define KN_DOC_JSON_MAX_BYTES ((size_t)2 << 30)

#endif
