/*
 * tests/support/fakerun.h - a stand-in for pipeline/run.h behind
 * kn_sched_start_with, so scheduler and HTTP tests drive jobs through the
 * real scheduler and store without a pool or an encoder.
 *
 * What a job's run does is read from its document's metadata:
 *   no "fake", or "fake":"ok"  reports progress total/total/total, writes
 *                     TU_FAKE_VIDEO_BYTES bytes (tu_fake_video_byte) to the
 *                     output path and succeeds;
 *   "fake":"block"    waits until canceled, then fails with KN_ECANCELED;
 *   "fake":"steps"    makes one progress report per frame, each after one
 *                     tu_fakerun_step() call, then succeeds like "ok";
 *   "fake":"fail", "code":N   exec fails with code N (a KN_E* value) and
 *                     the message TU_FAKE_FAIL_MSG;
 *   "fake":"nocreate" creating the run fails with KN_ENOMEM;
 *   "fake":"poollost", "times":N   the job's first N runs fail with
 *                     KN_ECRASH, TU_FAKE_POOL_MSG and res->pool_lost set
 *                     (the render pool died under them), later ones
 *                     succeed like "ok".
 * A cancel before exec makes exec return KN_ECANCELED at once, as a real
 * run does. The fake keeps a log of what the scheduler asked of it.
 *
 * Thread safety: everything may be called from any thread.
 */
#ifndef KN_TESTS_SUPPORT_FAKERUN_H
#define KN_TESTS_SUPPORT_FAKERUN_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/sched.h"
#include "store/store.h"

#define TU_FAKE_VIDEO_BYTES 1000
#define TU_FAKE_FAIL_MSG "fake: failed on purpose"
#define TU_FAKE_POOL_MSG "fake: the render pool died"
#define TU_FAKE_LOG 32

extern const kn_sched_run_ops tu_fakerun_ops;

typedef struct tu_fakerun_log {
    int creates, execs, cancels;
    char exec_id[TU_FAKE_LOG][KN_JOB_ID_MAX];   /* jobs in the order they ran */
    long frames[TU_FAKE_LOG];                   /* n_frames of the document each run got */
    int canceled_before_exec;                   /* runs canceled before exec began */
} tu_fakerun_log;

/* Clears the log and the step count. */
void tu_fakerun_reset(void);

/* A copy of the log. */
void tu_fakerun_get_log(tu_fakerun_log *out);

/* Called with the job id when a run is created, before the scheduler
 * checks the job's status (for the race with a DELETE); NULL to remove. */
void tu_fakerun_on_create(void (*fn)(const char *id, void *ctx), void *ctx);

/* Blocks until the run of job id is executing or has executed; 0, or -1
 * after timeout_ms (a hang guard). */
int tu_fakerun_wait_running(const char *id, int timeout_ms);

/* Lets a "steps" run make its next progress report. */
void tu_fakerun_step(void);

/* A 32 x 32 job document of `frames` frames at 10 fps whose metadata
 * holds the JSON members `meta` ("" for none): malloc'ed, NULL when out of
 * memory. */
char *tu_fake_job(long frames, const char *meta);

/* Byte i of the video an "ok" run writes. */
uint8_t tu_fake_video_byte(size_t i);

/* Blocks until job id has status `status`, on the scheduler's event
 * generation (no polling); 0, or -1 when it ended in another final status,
 * vanished, or timeout_ms passed (a hang guard). */
int tu_sched_wait_status(kn_sched *s, kn_store *st, const char *id, const char *status, int timeout_ms);

#endif
