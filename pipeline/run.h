/*
 * pipeline/run.h - running one job through the pipeline: create the frame
 * ring, hand the job to the render pool, and encode frames from the ring in
 * order on the calling thread until the video is complete, the job is
 * canceled, or something fails. Used by the scheduler (one job at a time)
 * and by `kinora render`.
 *
 * GIF output needs one palette from every frame before the first is
 * written, so a GIF job makes two passes, each on a fresh ring: the first
 * only gathers colours, the second encodes (progress: see report in run.c).
 *
 * The output is written to "<out_path>.part" and renamed to out_path only on
 * success; on any failure or cancel the partial file is removed.
 *
 * Ownership: a kn_run borrows pool and doc (they outlive it) and copies
 * nothing else it needs after kn_run_exec returns. kn_run_cancel may be
 * called from another thread at any time before kn_run_destroy.
 */
#ifndef KN_PIPELINE_RUN_H
#define KN_PIPELINE_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "common/vocab.h"
#include "doc/doc.h"
#include "encode/encoder.h"
#include "pipeline/pool.h"

typedef struct kn_run kn_run;

typedef struct kn_run_progress {
    long total, rendered, encoded;
    double fps;          /* frames encoded per second so far */
    double eta;          /* seconds left, < 0 unknown */
} kn_run_progress;

/* Called on the running thread a few times a second, and once at the end. */
typedef void (*kn_run_progress_fn)(void *ctx, const kn_run_progress *p);

typedef struct kn_run_result {
    char encoder[32];    /* libavcodec name of the encoder that ran */
    long frames;
    long long bytes;
    double encode_seconds;   /* time spent inside the encoder (push, finish) */
    int pool_lost;           /* on failure: the render pool's supervisor died
                                under the job (or none ran), so the job itself
                                may well be fine: the scheduler queues it again */
} kn_run_result;

/* ring_slots <= 0 means 8; more than KN_RING_MAX_SLOTS or than the
 * document has frames is cut to that. pool, doc, doc_text, out_path and out
 * are required (KN_REQUIRE). */
int kn_run_create(kn_pool *pool, const kn_doc *doc, const char *doc_text, size_t len,
                  const char *out_path, int ring_slots, kn_run **out, kn_err *err);

void kn_run_set_progress(kn_run *r, kn_run_progress_fn fn, void *ctx);

/* The run's calls into the encoder; a run starts with the encode/encoder.h
 * functions. Tests replace them to see exactly which frames and pixels
 * reach the encoder, and to make it fail. */
typedef struct kn_run_encoder_ops {
    int (*create)(const char *path, const kn_encoder_opts *opts, kn_encoder **out, kn_err *err);
    const char *(*name)(const kn_encoder *e);
    int (*set_palette)(kn_encoder *e, const kn_palette *pal, kn_err *err);
    int (*push)(kn_encoder *e, long index, uint8_t *const data[3], const int stride[3],
                kn_encoder_release_fn release, void *opaque, kn_err *err);
    int (*finish)(kn_encoder *e, kn_err *err);
    void (*destroy)(kn_encoder *e);   /* accepts NULL; releases frames still held */
} kn_run_encoder_ops;

/* Replaces the encoder calls (ops is copied); before kn_run_exec. */
void kn_run_set_encoder_ops(kn_run *r, const kn_run_encoder_ops *ops);

/* Runs the job to the end. KN_ECANCELED after kn_run_cancel; KN_ECRASH,
 * KN_ERENDER, KN_EENCODER, KN_EENCODE, KN_EIO on failure with err filled
 * (KN_EIO: the output could not be written, the disk being full included;
 * res->pool_lost: see kn_run_result). */
int kn_run_exec(kn_run *r, kn_run_result *res, kn_err *err);

/* Stops a running job: workers stop at their next frame, exec returns. */
void kn_run_cancel(kn_run *r);

void kn_run_destroy(kn_run *r);   /* accepts NULL */

#endif
