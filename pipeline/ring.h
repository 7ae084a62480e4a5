/*
 * pipeline/ring.h - the frame ring: K frame slots in POSIX shared memory that
 * render workers (producers, in other processes) fill and the encoder thread
 * (the consumer, in the server) drains strictly in frame order.
 *
 * Slots hold frames in the encoder's input format, YUV 4:2:0 planar (I420,
 * BT.601 limited range as libyuv's ARGBToI420 writes it), so the encoder can
 * wrap a slot's planes in an AVFrame without copying. Any size in
 * KN_FRAME_MIN_W..KN_FRAME_MAX_W x KN_FRAME_MIN_H..KN_FRAME_MAX_H (the job's
 * frame limits, common/limits.h) is accepted, odd ones too (gif output): Y
 * is width x height, U and V are ceil(width / 2) x ceil(height / 2).
 *
 * Protocol (frame f always lives in slot f % K):
 *   producer: kn_ring_claim -> render privately -> kn_ring_acquire (blocks
 *             until slot f%K has been released for frame f) -> write planes
 *             -> kn_ring_publish.
 *   consumer: for f = 0..N-1: kn_ring_wait (blocks until f is published) ->
 *             encode -> kn_ring_release (the slot becomes free for f + K).
 *   supervisor: kn_ring_worker_lost when a worker process dies, which puts
 *             the frame it held back in the queue (or fails the ring when the
 *             same frame killed two workers).
 * A full ring blocks producers (backpressure). All waits are on futex
 * counters in the shared header, not pthread condition variables: glibc's
 * process-shared condvars hang a later broadcast when a waiter is SIGKILLed.
 * The mutex is robust and priority-inheriting, so a process that dies holding
 * it cannot wedge the others; the next locker repairs a half-done transition
 * (see ring.c).
 *
 * Ownership: kn_ring_create returns a mapping and a file descriptor for it;
 * the shm name is unlinked before create returns, so the memory lives exactly
 * as long as some process maps it or holds the fd. Pass the fd to workers
 * (SCM_RIGHTS); each process calls kn_ring_destroy on its own handle.
 *
 * Contract (KN_REQUIRE, checked before the ring's lock is taken): ring
 * handles and out-pointers are not NULL, worker indexes are in
 * 0..KN_RING_MAX_WORKERS-1 and frame indexes in 0..n_frames-1. What the
 * ring reads back from shared memory is never trusted that way: a damaged
 * header fails the ring instead.
 */
#ifndef KN_PIPELINE_RING_H
#define KN_PIPELINE_RING_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

typedef struct kn_ring kn_ring;

typedef struct kn_ring_planes {
    uint8_t *data[3];   /* Y, U, V */
    int stride[3];
} kn_ring_planes;

/* Results of the blocking calls. */
enum {
    KN_RING_FRAME = 0,   /* a frame was claimed / is ready */
    KN_RING_DONE,        /* claim: every frame has been claimed */
    KN_RING_STOPPED      /* canceled or failed: stop working on this ring */
};

/* Creates a ring of at most `slots` slots for width x height frames and
 * n_frames frames. The ring takes fewer slots when /dev/shm has too little
 * free space for them (kn_ring_slots says how many it got), and anonymous
 * memory when it cannot fit KN_RING_SHM_MIN_SLOTS. *fd_out receives the fd
 * (caller closes it after handing it on; the ring keeps its own mapping). */
int kn_ring_create(int width, int height, int slots, long n_frames,
                   kn_ring **out, int *fd_out, kn_err *err);

/* Maps an existing ring from fd (fd is not consumed: caller closes it). */
int kn_ring_attach(int fd, kn_ring **out, kn_err *err);

/* Unmaps. Accepts NULL. */
void kn_ring_destroy(kn_ring *r);

int kn_ring_width(const kn_ring *r);
int kn_ring_height(const kn_ring *r);
long kn_ring_frames(const kn_ring *r);
int kn_ring_slots(const kn_ring *r);

/* Fewest slots /dev/shm must hold before a ring prefers it to anonymous
 * memory: below two, workers and the encoder could never overlap. */
#define KN_RING_SHM_MIN_SLOTS 2

/* The most slots, at most `want`, of a width x height ring that fit in
 * `avail` bytes; 0 when not even one does (or the geometry is invalid). */
int kn_ring_slots_that_fit(int width, int height, int want, int64_t avail);

/* Producer: claims the next frame to render for worker `worker`
 * (0..KN_RING_MAX_WORKERS-1; the supervisor's index for the process). Frames
 * given back by kn_ring_worker_lost are handed out first. */
int kn_ring_claim(kn_ring *r, int worker, long *frame);

/* Producer: blocks until frame's slot is free, then returns its planes.
 * KN_RING_STOPPED if the ring is canceled or failed meanwhile. */
int kn_ring_acquire(kn_ring *r, int worker, long frame, kn_ring_planes *p);

/* Producer: marks frame as ready for the consumer. */
void kn_ring_publish(kn_ring *r, int worker, long frame);

/* Consumer: blocks until `frame` is published (KN_RING_FRAME, planes in *p),
 * or the ring is canceled or failed (KN_RING_STOPPED), or timeout_ms elapses
 * (returns -1; lets the caller check that the pool is still alive). */
int kn_ring_wait(kn_ring *r, long frame, kn_ring_planes *p, int timeout_ms);

/* Consumer: frame's slot may be reused (for frame + K). Thread-safe, may be
 * called from an encoder's buffer-free callback. */
void kn_ring_release(kn_ring *r, long frame);

/* Any process: stop every producer and the consumer. */
void kn_ring_cancel(kn_ring *r);

/* Any process: fail the ring with a job error (code is a KN_E* code). The
 * first failure wins. */
void kn_ring_fail(kn_ring *r, int code, const char *msg);

/* The failure recorded by kn_ring_fail (or worker_lost), KN_OK if none. */
int kn_ring_error(kn_ring *r, kn_err *err);
int kn_ring_canceled(kn_ring *r);

/* Supervisor: worker `worker` died. If it held a frame, that frame is queued
 * again; if that frame had already killed a worker, the ring fails with
 * KN_ECRASH naming the frame. Returns the frame it held or -1. */
long kn_ring_worker_lost(kn_ring *r, int worker);

/* Counters for progress: frames published so far, frames released. */
void kn_ring_progress(kn_ring *r, long *rendered, long *released);

/* Bytes of shared memory a ring of this geometry maps. */
size_t kn_ring_bytes(int width, int height, int slots);

#endif
