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
#include <stdint.h>

/* ---- frame size --------------------------------------------------------- */

/* A job's frame: width 16..7680, height 16..4320 (docs/job-format.md). The
 * frame ring and the encoder take exactly this range, so a size the
 * document accepted is never refused further down the pipeline. Larger
 * sides elsewhere are other things with their own names: an embedded
 * picture (KN_IMAGE_MAX_SIDE, media/image.h) or a heatmap's data grid. */
#define KN_FRAME_MIN_W 16
#define KN_FRAME_MIN_H 16
#define KN_FRAME_MAX_W 7680
#define KN_FRAME_MAX_H 4320

/* ---- store ---------------------------------------------------------------- */

/* Bytes of a job id with its NUL ("j_" + 22 base62 characters fit with
 * room for other id schemes). */
#define KN_JOB_ID_MAX 40
/* Jobs on one page of GET /v1/jobs: the default and the most ?limit= may ask. */
#define KN_STORE_LIST_DEFAULT 50
#define KN_STORE_LIST_MAX 1000
/* How long an Idempotency-Key keeps returning the job it created. */
#define KN_STORE_IDEM_WINDOW_S (24.0 * 3600.0)

/* ---- encode --------------------------------------------------------------- */

/* "bitrate" in kbit/s: 1 Gbit/s is beyond any delivery format. */
#define KN_ENCODE_MAX_BITRATE_KBPS 1000000L
/* Frames between keyframes, whatever keyframe_interval x fps comes to. */
#define KN_ENCODE_MAX_GOP 100000

/* ---- ring and pool -------------------------------------------------------- */

/* Render worker processes (--workers); also the frame ring's per-worker
 * tables, so raising it changes the ring's shared layout. */
#define KN_RING_MAX_WORKERS 64
/* Frame slots in one ring (--ring-slots). */
#define KN_RING_MAX_SLOTS 256
/* Frames in one job's ring: far above what any document's duration x fps
 * reaches, low enough that frame numbers never overflow a slot word. */
#define KN_RING_MAX_FRAMES 1000000000L
/* Shared memory one ring may map: 43 slots of 7680x4320, 170 of 3840x2160. */
#define KN_RING_MAX_BYTES ((uint64_t)2 << 30)
/* A dead pool supervisor is replaced after KN_POOL_HEAL_MIN_MS, doubling
 * up to KN_POOL_HEAL_MAX_MS while replacements keep dying; one that ran
 * KN_POOL_HEAL_STABLE_S seconds resets the delay (pipeline/pool.h). */
#define KN_POOL_HEAL_MIN_MS 100
#define KN_POOL_HEAL_MAX_MS 5000
#define KN_POOL_HEAL_STABLE_S 30.0

/* ---- scheduling ------------------------------------------------------------- */

/* Times a job may start rendering: a job interrupted by a server stop or
 * crash, or by the death of the render pool, runs again until it has been
 * started this often, then fails. */
#define KN_JOB_MAX_ATTEMPTS 3

/* ---- http ----------------------------------------------------------------- */

/* Request body (--max-body): the default, and the range the flag accepts. */
#define KN_HTTP_MAX_BODY_DEFAULT ((size_t)64 << 20)
#define KN_HTTP_MAX_BODY_MIN ((size_t)1024)
#define KN_HTTP_MAX_BODY_MAX ((size_t)1 << 30)
/* Queued jobs before POST answers 429 (--max-queued): default and range. */
#define KN_HTTP_MAX_QUEUED_DEFAULT 1000L
#define KN_HTTP_MAX_QUEUED_MAX 1000000L
/* Characters of an Idempotency-Key. */
#define KN_HTTP_IDEM_KEY_MAX 255
/* Bytes of the bearer token (--token, --token-file, KINORA_TOKEN): any
 * length 1..this is compared whole; a longer one is a startup error. */
#define KN_HTTP_TOKEN_MAX 4096
/* Open connections (--max-connections): default and range. Each one is a
 * thread while it is open (api/http.c says why; about 20 KB of memory for
 * a connection waiting for its request), so this bounds the server's
 * threads and file descriptors too; the server checks it against
 * RLIMIT_NOFILE at startup. */
#define KN_HTTP_MAX_CONNECTIONS_DEFAULT 2048U
#define KN_HTTP_MAX_CONNECTIONS_MAX 65536U
/* Open connections from one client address (--max-connections-per-ip):
 * default; at most --max-connections. Room for a client following a
 * hundred jobs' event streams at once; sixteen addresses are needed to
 * fill --max-connections. Behind a reverse proxy every client has the
 * proxy's address: raise it there. */
#define KN_HTTP_MAX_CONNECTIONS_PER_IP_DEFAULT 128U
/* Seconds a connection may take to deliver a complete request head (the
 * request line and headers), counted from its accept or from the end of
 * its previous request, however the bytes trickle in (--head-timeout):
 * default and range. */
#define KN_HTTP_HEAD_TIMEOUT_DEFAULT_S 30U
#define KN_HTTP_HEAD_TIMEOUT_MAX_S 3600U
/* Seconds without a byte received or sent before a connection is closed
 * (--idle-timeout): default and range. The floor keeps it above the event
 * stream's keep-alive interval, so a quiet stream is never idle. */
#define KN_HTTP_IDLE_TIMEOUT_DEFAULT_S 60U
#define KN_HTTP_IDLE_TIMEOUT_MIN_S (KN_HTTP_SSE_KEEPALIVE_S + 5U)
#define KN_HTTP_IDLE_TIMEOUT_MAX_S 86400U
/* Seconds between `: keep-alive` comments on an event stream with nothing
 * to say. */
#define KN_HTTP_SSE_KEEPALIVE_S 15U
/* Bytes of one connection's request line and headers (libmicrohttpd's
 * per-connection memory; it answers 414 or 431 itself past it). */
#define KN_HTTP_HEAD_MAX_BYTES ((size_t)32 << 10)
/* Bytes of a GET /v1/jobs answer: jobs are added while the answer stays
 * within it (at least one job per page, whatever its size), and `next`
 * carries the cursor on. A full page of 1000 jobs without large metadata
 * (about 500 bytes each) fits. */
#define KN_HTTP_LIST_MAX_BYTES ((size_t)1 << 20)
/* Bytes of one job resource apart from its metadata: ids, times, progress,
 * output facts and an error message (at most kn_err's 512 bytes, 6 bytes
 * each when escaped). Metadata is at most a request body, so the largest
 * resource the server can build, and so one event of an event stream, is
 * KN_HTTP_MAX_BODY_MAX + this. */
#define KN_HTTP_RESOURCE_FIXED_MAX ((size_t)8 << 10)
#define KN_HTTP_EVENT_MAX_BYTES (KN_HTTP_MAX_BODY_MAX + KN_HTTP_RESOURCE_FIXED_MAX)

/* ---- command line --------------------------------------------------------- */

/* A job file `kinora render` / `validate` / `frame` reads (stdin included). */
#define KN_CLI_MAX_DOC_BYTES ((size_t)256 << 20)

/* ---- preview ------------------------------------------------------------ */

/* Longest a preview child may take to draw its frame. */
#define KN_PREVIEW_TIMEOUT_MS 60000
/* Largest PNG a preview child may write. */
#define KN_PREVIEW_MAX_PNG ((size_t)512 << 20)
/* Preview children running at once, server-wide (--max-previews): the
 * default is half the online CPUs within DEFAULT_MIN..DEFAULT_MAX (drawing a
 * frame is single-threaded, so more than the CPUs only slows them all);
 * the flag takes 1..MAX. One more is a 429. */
#define KN_PREVIEW_CONCURRENT_DEFAULT_MIN 2
#define KN_PREVIEW_CONCURRENT_DEFAULT_MAX 8
#define KN_PREVIEW_CONCURRENT_MAX 256
/* Memory one preview child may allocate beyond its own program image (its
 * code and libraries: about 200 MB of address space, mostly shared): an 8K
 * frame needs about 300 MB; a document needing more is a 413. */
#define KN_PREVIEW_MAX_MEMORY ((size_t)1 << 30)

/* ---- expressions, templates, path data (lang/) ---------------------------- */

/* One expression: its source, its nesting (the compiler recurses once per
 * level) and its evaluation stack (fixed size, so evaluation never
 * allocates). */
#define KN_EXPR_MAX_LEN      4096   /* bytes of src */
#define KN_EXPR_MAX_DEPTH    64     /* nested (), calls, prefix ops, ^, ?: */
#define KN_EXPR_MAX_STACK    512    /* eval stack slots; bigger is an error */
/* One text template: its text, its {expr} placeholders, and the width and
 * precision a {expr:fmt} may ask for (they size a stack buffer). */
#define KN_TEMPLATE_MAX_LEN  16384  /* bytes of template text */
#define KN_TEMPLATE_MAX_EXPRS 64    /* placeholders per template */
#define KN_TEMPLATE_MAX_WIDTH 64    /* field width in a {expr:fmt} */
#define KN_TEMPLATE_MAX_PREC  32    /* precision in a {expr:fmt} */
/* Bytes of the text a template renders for one frame, its NUL included:
 * longer is cut (at a UTF-8 boundary). The renderer keeps one such buffer
 * per template, and the document charges this much text per template
 * (KN_DOC_TEXT_COST) when the template could render more. */
#define KN_TEMPLATE_MAX_OUT  4096
/* SVG path data: its text, the segments it becomes (arcs count every cubic
 * they become; over is KN_ETOOBIG), and the magnitude of any number or
 * coordinate (Cairo's fixed point is narrower; the bound keeps every arc
 * computation finite). */
#define KN_PATH_MAX_BYTES    ((size_t)1 << 20)
#define KN_PATH_MAX_SEGMENTS ((size_t)1000000)
#define KN_PATH_COORD_MAX    1e9

/* ---- embedded images (media/) -------------------------------------------- */

/* An image's encoded file (after base64), and each side in pixels, checked
 * from its header before anything is decoded. */
#define KN_IMAGE_MAX_ENCODED ((size_t)32 << 20)
#define KN_IMAGE_MAX_SIDE    8192

/* ---- job document --------------------------------------------------------- */

/* Frame size: KN_FRAME_MIN_W/H..KN_FRAME_MAX_W/H above, the one range the
 * document, the frame ring and the encoders share. */
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
/* Bytes of one text (a text element's "text", a plot's "title", "xlabel"
 * or "ylabel"), wherever it is given: the element, a timeline set, a frame
 * entry. 64 KiB is some twenty pages of prose, far beyond a title, caption,
 * paragraph or credits roll; laying out a text takes time that grows
 * faster than its length once it has many lines (in lines of 75 bytes:
 * 64 KiB took 0.7 s per frame, 1.2 s at 200 px, 256 KiB 5.7 s, 1 MiB 58 s;
 * one line of 1 MiB 1.2 s), so a text at the limit costs about a second a
 * frame at worst. */
#define KN_DOC_MAX_TEXT ((size_t)64 << 10)
/* Bytes of memory charged to the job's limit per byte of text, for the
 * Pango layout a worker builds to draw it (glyphs, clusters, line and
 * attribute arrays): measured at 84-98 bytes per byte for 256 KiB to 4 MiB
 * of text (fill or outline, any size), rounded up for other scripts and
 * Pango versions. A text slot is charged once, for the longest value it
 * takes (its own, any timeline or frame set, or the longest its template
 * can render), since a worker lays out each text once per frame. */
#define KN_DOC_TEXT_COST 128
/* Bytes of a font description ("DejaVu Sans Bold", or a list of families
 * "Noto Sans, Noto Color Emoji"): Pango parses it whenever a frame uses
 * a font not seen yet, and real ones are a few dozen bytes. */
#define KN_DOC_MAX_FONT 1024
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
