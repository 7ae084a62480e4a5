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
 */
#ifndef KN_PIPELINE_PREVIEW_H
#define KN_PIPELINE_PREVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* The caller must ignore SIGPIPE (the server does): a child that dies
 * before reading the whole document makes the write fail with EPIPE.
 *
 * Renders frame `frame` of the document text (len bytes) with the program at
 * self_exe, waiting at most timeout_ms. On KN_OK *png (malloc'ed, the caller
 * frees it) holds a PNG of *png_len bytes. On failure (KN_EIO: the pipes or
 * the child could not be set up; KN_EINTERNAL: the child failed, timed out or
 * wrote no PNG) *png is NULL and err says which. */
int kn_preview_render(const char *self_exe, const char *doc, size_t len, long frame, int timeout_ms,
                      uint8_t **png, size_t *png_len, kn_err *err);

/* 1 when the n bytes at p are one whole PNG: the signature, then chunks
 * whose lengths add up exactly to an IEND chunk that ends the buffer. CRCs
 * are not checked (the writer is our own child; this catches truncation). */
int kn_preview_png_complete(const uint8_t *p, size_t n);

#endif
