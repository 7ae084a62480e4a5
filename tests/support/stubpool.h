/*
 * tests/support/stubpool.h - a stand-in renderer for the render pool
 * (kn_pool_start_with), so pool and run tests exercise processes, the ring
 * and crash handling without Cairo: a worker "draws" frame f as a fixed
 * pattern of f (tu_stub_pattern), and the test can make a frame block its
 * worker, kill it, or fail.
 *
 * The test and the workers share one page (MAP_SHARED, mapped by
 * tu_stub_setup before the pool forks): the test sets the *_frame fields,
 * which workers read at every frame; workers record what they did. A worker
 * that blocks posts `blocked`, so the test waits on a semaphore rather than
 * on time.
 */
#ifndef KN_TESTS_SUPPORT_STUBPOOL_H
#define KN_TESTS_SUPPORT_STUBPOOL_H

#include <semaphore.h>
#include <stdint.h>

#include "pipeline/pool.h"

#define TU_STUB_FRAMES 256   /* frames a stub job may have */

typedef struct tu_stub {
    /* Set by the test (-1: none). */
    long block_frame;   /* the first attempt at it blocks until the worker is killed */
    long kill_frame;    /* every attempt at it SIGKILLs its worker */
    long fail_frame;    /* drawing it fails with KN_ERENDER */
    int fail_create;    /* compiling the document fails */
    /* Written by the workers. */
    long attempts[TU_STUB_FRAMES];   /* draw calls per frame */
    int drawn_by[TU_STUB_FRAMES];    /* pid of the worker that wrote it into the ring */
    int blocked_pid;                 /* the worker blocked on block_frame */
    sem_t blocked;                   /* posted when a worker blocks */
} tu_stub;

/* Maps the shared page (once per process; call before kn_pool_start_with)
 * and resets it. */
tu_stub *tu_stub_setup(void);

/* Clears the counters and sets every *_frame to -1. Not while a job runs. */
void tu_stub_reset(tu_stub *s);

/* The workers' calls: pass to kn_pool_start_with. */
extern const kn_pool_worker_ops tu_stub_ops;

/* Pid of the worker that blocked on block_frame, waiting up to timeout_ms
 * (a hang guard); -1 if none did. */
int tu_stub_wait_blocked(tu_stub *s, int timeout_ms);

/* Runs a w x h job of `frames` frames through pool p (started with
 * tu_stub_ops, nothing injected) and checks every frame's pixels: KN_OK, or
 * the failure (err says which frame). After KN_OK the supervisor has
 * handled everything that happened before the call (its restart count
 * included) and its workers are alive. */
int tu_stub_round_trip(kn_pool *p, int w, int h, long frames, kn_err *err);

/* Frame f's pattern into I420 planes of a w x h frame, and the number of
 * bytes of such planes that differ from it. */
void tu_stub_pattern(uint8_t *const data[3], const int stride[3], int w, int h, long f);
long tu_stub_check(uint8_t *const data[3], const int stride[3], int w, int h, long f);

/* FNV-1a over the visible bytes of I420 planes of a w x h frame. */
uint64_t tu_i420_hash(uint8_t *const data[3], const int stride[3], int w, int h);

#endif
