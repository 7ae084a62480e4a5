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
