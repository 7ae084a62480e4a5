/*
 * pipeline/pool.h - the render pool: a single-threaded supervisor process
 * ("kinora-pool") that forks render worker processes ("kinora-render"),
 * hands them jobs and respawns any that die; and the pool heals itself when
 * the supervisor dies.
 *
 * Process tree: server -> supervisor -> N workers, and server -> launcher
 * ("kinora-launcher") -> replacement supervisor -> N workers. kn_pool_start
 * forks the first supervisor and the launcher and must be called before the
 * caller creates any thread (fork of a threaded process would copy locks
 * held by other threads). Every child sets PR_SET_PDEATHSIG=SIGKILL, so
 * killing the server (even with SIGKILL) takes the whole pool with it.
 *
 * Healing. When the supervisor dies (kill -9, the OOM killer, a bug), a new
 * one must start, but by then the server has threads, so it may not fork
 * one itself. The launcher, forked while the caller was single-threaded,
 * stays single-threaded and does nothing but fork a new supervisor when
 * asked over a socket, handing back its control socket with SCM_RIGHTS.
 * A fork, not fork+exec of /proc/self/exe with a hidden subcommand: a
 * replacement is then the same image as the first supervisor, running the
 * same worker ops (kn_pool_start_with's seam keeps working for the tests)
 * over the same shared mappings made before kn_pool_start, and it needs no
 * binary on disk, no argument protocol and no second entry point. A
 * watchdog thread started by kn_pool_start (after the forks) waits in
 * poll(2) on the supervisor's control socket, which hangs up when the
 * supervisor exits; it then reaps it, waits KN_POOL_HEAL_MIN_MS (doubling
 * up to KN_POOL_HEAL_MAX_MS while replacements keep dying within
 * KN_POOL_HEAL_STABLE_S; the wait is a poll timeout that kn_pool_stop cuts
 * short) and asks the launcher for a new supervisor. If the launcher itself
 * is gone the pool stays down (kn_pool_alive 0) until the server restarts.
 * The job a dead supervisor held is lost with it: kn_pool_job_lost tells
 * its consumer, which fails the run so the scheduler can queue it again.
 *
 * A job is handed over as two file descriptors passed with SCM_RIGHTS: the
 * frame ring (pipeline/ring.h) and a sealed memfd holding the document text.
 * The supervisor keeps both while the job is active so a respawned worker
 * joins it. Workers parse the document once per job, then claim frames from
 * the ring until none are left. When a worker dies the supervisor tells the
 * ring (kn_ring_worker_lost), which queues its frame again or, after a second
 * death on the same frame, fails the job with worker_crashed.
 *
 * Thread safety: every function but kn_pool_start/stop may be called from
 * any thread (serialised internally). Every kn_pool argument but
 * kn_pool_stop's is a handle from kn_pool_start (KN_REQUIRE).
 */
#ifndef KN_PIPELINE_POOL_H
#define KN_PIPELINE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"
#include "render/render.h"

typedef struct kn_pool kn_pool;

/* Forks the supervisor with nworkers workers (1..KN_RING_MAX_WORKERS). */
int kn_pool_start(int nworkers, kn_pool **out, kn_err *err);

/* What a worker calls to turn a job document into frames; kn_pool_start
 * uses the kn_renderer functions (render/render.h). The calls run in the
 * worker processes: a replacement sees the caller's memory as it was when
 * kn_pool_start_with forked, and talks back only through shared mappings
 * made before that (workers close every inherited fd but stdio). */
typedef struct kn_pool_worker_ops {
    int (*create)(const char *json, size_t len, kn_renderer **out, kn_err *err);
    int (*draw)(kn_renderer *r, long frame, kn_err *err);
    int (*to_i420)(kn_renderer *r, uint8_t *const data[3], const int stride[3], kn_err *err);
    void (*destroy)(kn_renderer *r);   /* accepts NULL */
} kn_pool_worker_ops;

/* kn_pool_start with the workers' renderer replaced (ops is copied): lets
 * tests run the pool's process and crash handling without drawing. */
int kn_pool_start_with(int nworkers, const kn_pool_worker_ops *ops, kn_pool **out, kn_err *err);

/* Stops the watchdog, asks the supervisor and the launcher to exit, waits
 * for them (and only them) and frees the handle. NULL ok. */
void kn_pool_stop(kn_pool *p);

/* 1 while a supervisor runs and has at least one live worker. */
int kn_pool_alive(kn_pool *p);

/* 1 while a supervisor runs: a job submitted now reaches it (its workers may
 * still be starting). 0 between a supervisor's death and its replacement. */
int kn_pool_ready(kn_pool *p);

/* 1 when the supervisor that took the last kn_pool_submit has died since
 * (or the submit found none): that job will get no more frames. */
int kn_pool_job_lost(kn_pool *p);

/* 1 while the pool can still start a supervisor: its launcher is there.
 * A pool that is down (kn_pool_alive 0) but can heal is only between two
 * supervisors, and a job queued meanwhile runs on the next; one that
 * cannot stays down until the server restarts. */
int kn_pool_can_heal(kn_pool *p);

/* Supervisors started to replace a dead one. */
long kn_pool_heals(kn_pool *p);

/* fn(ctx) is called, on the watchdog thread, each time a replacement
 * supervisor is up (kn_pool_ready turned 1): the scheduler's wake-up. One
 * listener; NULL removes it, and once that call returns fn is not running
 * and will not be called. fn may call kn_pool functions. */
void kn_pool_set_listener(kn_pool *p, void (*fn)(void *ctx), void *ctx);

int kn_pool_workers(const kn_pool *p);

/* Worker processes respawned since start. */
long kn_pool_restarts(kn_pool *p);

/* Starts rendering a job: doc is the document text (len bytes), ring_fd the
 * ring's fd (not consumed). Only one job is active at a time; submitting a
 * new one replaces the previous. KN_EINTERNAL while no supervisor runs. */
int kn_pool_submit(kn_pool *p, const char *doc, size_t len, int ring_fd, kn_err *err);

/* The active job is over: the supervisor drops its fds. */
int kn_pool_end(kn_pool *p, kn_err *err);

/* PIDs for tests: the supervisor and worker i (0 if none right now), the
 * launcher. */
int kn_pool_supervisor_pid(const kn_pool *p);
int kn_pool_worker_pid(kn_pool *p, int i);
int kn_pool_launcher_pid(const kn_pool *p);

#endif
