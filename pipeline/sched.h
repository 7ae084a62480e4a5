/*
 * pipeline/sched.h - the job scheduler: one thread that takes queued jobs from
 * the store in FIFO order and runs them one at a time (pipeline/run.h),
 * recording progress a few times a second and the outcome when they end.
 *
 * Ownership: borrows the store and the pool (they outlive the scheduler).
 * All functions are thread-safe. Every kn_sched argument is a handle from
 * kn_sched_start, and ids are shorter than KN_JOB_ID_MAX (KN_REQUIRE).
 */
#ifndef KN_PIPELINE_SCHED_H
#define KN_PIPELINE_SCHED_H

#include "common/vocab.h"
#include "doc/doc.h"
#include "pipeline/pool.h"
#include "pipeline/run.h"
#include "store/store.h"

typedef struct kn_sched kn_sched;

typedef struct kn_sched_stats {
    long frames_rendered, frames_encoded;   /* totals since start */
    double render_seconds;   /* wall time jobs spent in the pipeline */
    double encode_seconds;   /* of which inside the encoder */
} kn_sched_stats;

/* Starts the scheduler thread. video_dir holds finished videos as
 * "<id>.<extension of the format>"; stale partial files left there by a
 * crash are removed. */
int kn_sched_start(kn_store *store, kn_pool *pool, const char *video_dir,
                   int ring_slots, kn_sched **out, kn_err *err);

/* The scheduler's calls into pipeline/run.h; kn_sched_start uses the
 * kn_run functions. A replacement runs on the scheduler thread, except
 * cancel, which any thread may call while exec runs. */
typedef struct kn_sched_run_ops {
    int (*create)(kn_pool *pool, const kn_doc *doc, const char *doc_text, size_t len,
                  const char *out_path, int ring_slots, kn_run **out, kn_err *err);
    void (*set_progress)(kn_run *r, kn_run_progress_fn fn, void *ctx);
    int (*exec)(kn_run *r, kn_run_result *res, kn_err *err);
    void (*cancel)(kn_run *r);
    void (*destroy)(kn_run *r);   /* accepts NULL */
} kn_sched_run_ops;

/* kn_sched_start with the job runs replaced (ops is copied): lets tests
 * drive the queue, cancel and progress without a pool or an encoder. */
int kn_sched_start_with(kn_store *store, kn_pool *pool, const char *video_dir, int ring_slots,
                        const kn_sched_run_ops *ops, kn_sched **out, kn_err *err);

/* Hands over the parsed document of a job just queued (the scheduler takes
 * ownership and destroys it), so running it soon does not parse it again.
 * A few are kept; older ones are dropped and parsed again when their turn
 * comes. */
void kn_sched_offer(kn_sched *s, const char *id, kn_doc *doc);

/* A job was queued: look at the queue again. */
void kn_sched_wake(kn_sched *s);

/* If job id is the one running, stops it (its record must already be marked
 * canceled). Returns 1 if it was running. */
int kn_sched_cancel(kn_sched *s, const char *id);

/* Path of a job's video in format into buf ("<video_dir>/<id>.<ext>"). */
void kn_sched_video_path(const kn_sched *s, const char *id, kn_format format, char *buf, size_t n);

void kn_sched_get_stats(kn_sched *s, kn_sched_stats *out);

/* Job events. A generation number goes up whenever a job's status or
 * progress is written (by the scheduler, or by others through
 * kn_sched_notify). kn_sched_wait blocks until the generation differs from
 * `seen` or timeout_ms passes, and returns the current generation; it is
 * how /events streams changes without polling the store. */
unsigned long kn_sched_generation(kn_sched *s);
unsigned long kn_sched_wait(kn_sched *s, unsigned long seen, int timeout_ms);
void kn_sched_notify(kn_sched *s);

/* Stops the thread, canceling the running job (its record goes back to
 * queued at the next start, like after a crash). Accepts NULL. */
void kn_sched_stop(kn_sched *s);

#endif
