/*
 * pipeline/preview.h - renders one frame of a job document to PNG in a child
 * process, so that nothing is drawn inside the server process.
 *
 * The child is this program itself (`kinora frame - --frame N -o -`), started
 * with posix_spawn: it reads the document on stdin and writes the PNG on
 * stdout. A child that crashes, hangs past the deadline or writes more than
 * KN_PREVIEW_MAX_PNG bytes is killed, and the caller gets an error; the
 * server is never at risk. A PNG counts only when the child exited 0 and the
 * PNG is whole (kn_preview_png_complete).
 *
 * Bounds: at most kn_preview_limit() children run at once, server-wide (a
 * counting semaphore in this module; one more render is refused at once
 * with KN_EFULL, a 429, rather than queued, so a client never waits behind
 * a flood), and each child may allocate at most max_memory bytes beyond its
 * own program image: it gets `--max-memory BYTES` and sets RLIMIT_AS on
 * itself before reading the document (cli/main.c). So previews use at most
 * limit x (max_memory + the program image) of memory together.
 */
#ifndef KN_PIPELINE_PREVIEW_H
#define KN_PIPELINE_PREVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Sets the bounds (any thread, any time; renders under way keep theirs):
 * max_concurrent 1..KN_PREVIEW_CONCURRENT_MAX children at once, 0 for the
 * default (kn_preview_default_limit); max_memory bytes per child, 0 for
 * none. Before any call: the default limit and KN_PREVIEW_MAX_MEMORY. */
void kn_preview_configure(int max_concurrent, size_t max_memory);

/* The limit in force, and the default: half the online CPUs, within
 * KN_PREVIEW_CONCURRENT_DEFAULT_MIN..MAX (common/limits.h). */
int kn_preview_limit(void);
int kn_preview_default_limit(void);

/* Exit status of `kinora frame` when it ran out of memory (under its
 * --max-memory): the preview fails with KN_ETOOBIG. */
#define KN_PREVIEW_EXIT_NOMEM 12   /* ENOMEM's number, for a reader of logs */

/* The caller must ignore SIGPIPE (the server does): a child that dies
 * before reading the whole document makes the write fail with EPIPE.
 *
 * Renders frame `frame` of the document text (len bytes) with the program at
 * self_exe, waiting at most timeout_ms. On KN_OK *png (malloc'ed, the caller
 * frees it) holds a PNG of *png_len bytes. On failure (KN_EFULL:
 * kn_preview_limit() renders are running already; KN_EIO: the pipes or the
 * child could not be set up; KN_ETOOBIG: the child ran out of its memory
 * limit; KN_EINTERNAL: the child failed otherwise, timed out or wrote no
 * whole PNG) *png is NULL and err says which. */
int kn_preview_render(const char *self_exe, const char *doc, size_t len, long frame, int timeout_ms,
                      uint8_t **png, size_t *png_len, kn_err *err);

/* 1 when the n bytes at p are one whole PNG: the signature, then chunks
 * whose lengths add up exactly to an IEND chunk that ends the buffer. CRCs
 * are not checked (the writer is our own child; this catches truncation). */
int kn_preview_png_complete(const uint8_t *p, size_t n);

#endif
