/*
 * tests/test_ring.c - pipeline/ring: frames cross process boundaries in order
 * with their pixels intact, several producers under backpressure, workers
 * killed while holding a frame / writing a slot / holding the ring lock,
 * workers killed at random moments, the crash-twice failure, cancel waking
 * blocked processes, wait timeouts, and create/attach validation.
 *
 * Every test forks its own producer (and sometimes consumer) processes and
 * reaps them; children never call cmocka (its longjmp would resume the test
 * runner in the child) but report through their exit status and pipes. A
 * SIGALRM guard turns a hang into a failure, children die with the test
 * program (PR_SET_PDEATHSIG) and the teardown kills and reaps any child a
 * failed assertion left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "pipeline/ring.h"
#include "tests/support/death.h"

#define W 48            /* not a multiple of 64: strides get padding */
#define H 20
#define GUARD_S 30      /* per test; a hang fails instead of blocking ctest */

/* Exit codes of child processes. */
enum { CH_OK = 0, CH_STOPPED = 2, CH_ATTACH = 3, CH_PROTO = 4, CH_SETUP = 5 };

/* ---- children bookkeeping ---------------------------------------------- */

#define MAX_KIDS 32
static pid_t kids[MAX_KIDS];

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "test_ring: a test hung (SIGALRM guard)\n";
    if (write(2, m, sizeof m - 1) < 0) {}
    _exit(99);
}

static void kid_add(pid_t p)
{
    for (int i = 0; i < MAX_KIDS; i++)
        if (kids[i] == 0) { kids[i] = p; return; }
    fail_msg("too many children");
}

static void kid_forget(pid_t p)
{
    for (int i = 0; i < MAX_KIDS; i++)
        if (kids[i] == p) kids[i] = 0;
}

static int setup(void **state)
{
    (void)state;
    signal(SIGALRM, on_alarm);
    alarm(GUARD_S);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_KIDS; i++) {
        if (kids[i] > 0) {
            kill(kids[i], SIGKILL);
            waitpid(kids[i], NULL, 0);
            kids[i] = 0;
        }
    }
    alarm(0);
    return 0;
}

typedef int (*child_fn)(void *arg);

static pid_t spawn(child_fn fn, void *arg)
{
    pid_t parent = getpid();
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(CH_SETUP);
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
        /* cmocka's crash handlers would resume the test runner in here. */
        static const int sigs[] = {SIGALRM, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
        alarm(GUARD_S);
        _exit(fn(arg));
    }
    kid_add(p);
    return p;
}

/* Reaps p; returns its raw wait status. */
static int reap(pid_t p)
{
    int st;
    pid_t r;
    while ((r = waitpid(p, &st, 0)) < 0 && errno == EINTR) {}
    assert_int_equal(r, p);
    kid_forget(p);
    return st;
}

static void expect_exit(pid_t p, int code)
{
    int st = reap(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
        fail_msg("child %d: expected exit %d, got status 0x%x%s", (int)p, code, st,
                 WIFSIGNALED(st) ? " (signal)" : "");
}

static void expect_signal(pid_t p, int sig)
{
    int st = reap(p);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != sig)
        fail_msg("child %d: expected signal %d, got status 0x%x", (int)p, sig, st);
}

/* Waits until thread/process `tid` sleeps in the kernel (state S): a child
 * that reported it is about to block is then really blocked. Polling /proc
 * is test scaffolding, not a wait the ring itself could use. */
static void wait_sleeping(pid_t pid, pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    for (int i = 0; i < 5000; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = '\0';
            char *rp = strrchr(buf, ')');
            if (rp && rp[1] == ' ' && rp[2] == 'S') return;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("task %d never blocked", (int)tid);
}

/* ---- pixels -------------------------------------------------------------- */

static uint8_t pat(int plane, long f, int x, int y)
{
    return (uint8_t)(f * (7 + 4 * plane) + x * (1 + plane) + y * (3 + 2 * plane) + 50 * plane);
}

static void plane_dims(int plane, int *w, int *h)
{
    *w = plane ? W / 2 : W;
    *h = plane ? H / 2 : H;
}

static void write_frame(const kn_ring_planes *p, long f)
{
    for (int i = 0; i < 3; i++) {
        int pw, ph;
        plane_dims(i, &pw, &ph);
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) p->data[i][(size_t)y * p->stride[i] + x] = pat(i, f, x, y);
    }
}

/* 0 when every pixel of every plane carries frame f's pattern. */
static int frame_ok(const kn_ring_planes *p, long f)
{
    for (int i = 0; i < 3; i++) {
        int pw, ph;
        plane_dims(i, &pw, &ph);
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++)
                if (p->data[i][(size_t)y * p->stride[i] + x] != pat(i, f, x, y)) return -1;
    }
    return 0;
}

static void expect_frame(const kn_ring_planes *p, long f)
{
    if (frame_ok(p, f) != 0) fail_msg("frame %ld: pixels differ from what its producer wrote", f);
}

/* ---- producers ------------------------------------------------------------ */

enum {
    DIE_NONE = 0,
    DIE_CLAIMED,         /* raise SIGKILL right after claiming a frame >= die_frame */
    DIE_WRITING,         /* acquire a frame >= die_frame, write half of Y, SIGKILL */
    DIE_IN_LOCK,         /* claim, then die inside kn_ring_fail (holding the lock) */
    HOLD_AFTER_ACQUIRE   /* acquire, write, wait for a byte on go_fd, publish */
};

typedef struct prod {
    kn_ring *inherited;  /* use the parent's mapping; else attach fd */
    int fd;
    int worker;
    int max_delay_us;    /* random "render time" before acquire */
    int log_fd;          /* gets a claim_rec per claimed frame, -1 for none */
    int mode;
    long die_frame;      /* the DIE_* modes act on the first frame >= this */
    int go_fd;
    unsigned seed;
} prod;

typedef struct claim_rec {
    int32_t worker;
    int32_t pad;
    int64_t frame;
} claim_rec;

static void log_claim(const prod *a, long f)
{
    if (a->log_fd < 0) return;
    claim_rec c = {.worker = a->worker, .frame = f};
    if (write(a->log_fd, &c, sizeof c) != (ssize_t)sizeof c) _exit(CH_SETUP);
}

/* A memory page followed by an inaccessible one: a "string" that runs into
 * the second page faults whoever reads it. */
static const char *faulting_string(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    memset(m, 'x', (size_t)pg);
    if (mprotect(m + pg, (size_t)pg, PROT_NONE) != 0) return NULL;
    return m + pg - 8;
}

static int producer(void *arg)
{
    prod *a = arg;
    kn_ring *r = a->inherited;
    kn_err err;
    if (!r && kn_ring_attach(a->fd, &r, &err) != KN_OK) return CH_ATTACH;
    unsigned seed = a->seed;
    int code = CH_OK;
    for (;;) {
        long f;
        int rc = kn_ring_claim(r, a->worker, &f);
        if (rc == KN_RING_DONE) break;
        if (rc != KN_RING_FRAME) { code = CH_STOPPED; break; }
        log_claim(a, f);
        int target = f >= a->die_frame;   /* die_frame -1: the first frame */
        if (a->mode == DIE_CLAIMED && target) raise(SIGKILL);
        if (a->mode == DIE_IN_LOCK && target) {
            const char *bad = faulting_string();
            if (!bad) return CH_SETUP;
            kn_ring_fail(r, KN_ERENDER, bad);   /* SIGSEGV while holding the lock */
            return CH_PROTO;                    /* not reached */
        }
        if (a->max_delay_us > 0) usleep((useconds_t)(rand_r(&seed) % a->max_delay_us));
        kn_ring_planes p;
        if (kn_ring_acquire(r, a->worker, f, &p) != KN_RING_FRAME) { code = CH_STOPPED; break; }
        if (a->mode == DIE_WRITING && target) {
            memset(p.data[0], 0xee, (size_t)p.stride[0] * (H / 2));
            raise(SIGKILL);
        }
        write_frame(&p, f);
        if (a->mode == HOLD_AFTER_ACQUIRE) {
            char c;
            if (read(a->go_fd, &c, 1) != 1) return CH_SETUP;
        }
        kn_ring_publish(r, a->worker, f);
    }
    if (r != a->inherited) kn_ring_destroy(r);
    return code;
}

static prod prod_args(kn_ring *inherited, int fd, int worker, int log_fd)
{
    prod a = {.inherited = inherited, .fd = fd, .worker = worker, .log_fd = log_fd,
              .die_frame = -1, .go_fd = -1, .seed = 1234u + (unsigned)worker * 7919u};
    return a;
}

static kn_ring *make_ring(int slots, long n, int *fd)
{
    kn_ring *r = NULL;
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_ring_create(W, H, slots, n, &r, fd, &err);
    if (rc != KN_OK) fail_msg("kn_ring_create: %s", err.msg);
    return r;
}

static claim_rec read_claim(int fd)
{
    claim_rec c;
    ssize_t n;
    while ((n = read(fd, &c, sizeof c)) < 0 && errno == EINTR) {}
    if (n != (ssize_t)sizeof c) fail_msg("claim log: short read %zd", n);
    return c;
}

/* Reads every pending record from a non-blocking log pipe into counts[]. */
static int drain_claims(int fd, int *counts, long n, int *by_worker)
{
    int total = 0;
    claim_rec c;
    while (read(fd, &c, sizeof c) == (ssize_t)sizeof c) {
        assert_true(c.frame >= 0 && c.frame < n);
        counts[c.frame]++;
        if (by_worker && c.worker >= 0 && c.worker < KN_RING_MAX_WORKERS) by_worker[c.worker]++;
        total++;
    }
    return total;
}

static void make_pipe(int p[2], int nonblock_read)
{
    assert_int_equal(pipe(p), 0);
    if (nonblock_read) fcntl(p[0], F_SETFL, O_NONBLOCK);
}

/* Consumes every frame from `from` on, in order, checking pixels; while a
 * frame is late it plays supervisor: a dead worker from `watch` is handed
 * to kn_ring_worker_lost and replaced by `replacement`. */
static void consume_all(kn_ring *r, long from, long n, pid_t *watch, int worker, prod *replacement,
                        long *lost_frame)
{
    for (long f = from; f < n; f++) {
        kn_ring_planes p;
        int rc;
        double give_up = kn_mono() + 10;
        while ((rc = kn_ring_wait(r, f, &p, 50)) == -1) {
            if (kn_mono() > give_up) fail_msg("frame %ld never arrived", f);
            int st;
            if (watch && *watch > 0 && waitpid(*watch, &st, WNOHANG) == *watch) {
                kid_forget(*watch);
                assert_true(WIFSIGNALED(st));
                *lost_frame = kn_ring_worker_lost(r, worker);
                *watch = spawn(producer, replacement);
            }
        }
        assert_int_equal(rc, KN_RING_FRAME);
        expect_frame(&p, f);
        kn_ring_release(r, f);
    }
}

/* ---- tests ---------------------------------------------------------------- */

/* A small /dev/shm (Docker's 64 MB) gets a ring of fewer slots, not a
 * failed job: the arithmetic that decides how many. */
static void test_slots_that_fit(void **state)
{
    (void)state;
    size_t one = kn_ring_bytes(1920, 1080, 1), two = kn_ring_bytes(1920, 1080, 2);
    assert_true(one > 0 && two > one);
    size_t slot = two - one, hdr = one - slot;
    /* Room for everything asked: all of it. */
    assert_int_equal(kn_ring_slots_that_fit(1920, 1080, 10, (int64_t)kn_ring_bytes(1920, 1080, 10)), 10);
    assert_int_equal(kn_ring_slots_that_fit(1920, 1080, 10, (int64_t)1 << 40), 10);
    /* One byte short of 10 slots: 9. */
    assert_int_equal(kn_ring_slots_that_fit(1920, 1080, 10, (int64_t)kn_ring_bytes(1920, 1080, 10) - 1), 9);
    /* Half of Docker's 64 MB: I420 1080p slots are about 3.1 MB each. */
    int n = kn_ring_slots_that_fit(1920, 1080, 34, (int64_t)32 << 20);
    assert_int_equal(n, (int)((((size_t)32 << 20) - hdr) / slot));
    assert_true(n >= KN_RING_SHM_MIN_SLOTS && n < 34);
    assert_true(kn_ring_bytes(1920, 1080, n) <= ((size_t)32 << 20));
    /* Not even one slot, no space, nonsense asks. */
    assert_int_equal(kn_ring_slots_that_fit(1920, 1080, 4, (int64_t)hdr), 0);
    assert_int_equal(kn_ring_slots_that_fit(1920, 1080, 4, 0), 0);
    assert_int_equal(kn_ring_slots_that_fit(1920, 1080, 0, (int64_t)1 << 30), 0);
    assert_int_equal(kn_ring_slots_that_fit(1, 1, 4, (int64_t)1 << 30), 0);
}

static void test_single_producer(void **state)
{
    (void)state;
    int fd;
    const long n = 40;
    kn_ring *r = make_ring(3, n, &fd);
    assert_int_equal(kn_ring_width(r), W);
    assert_int_equal(kn_ring_height(r), H);
    assert_int_equal(kn_ring_frames(r), n);

    prod a = prod_args(r, fd, 0, -1);   /* uses the mapping inherited over fork */
    pid_t p = spawn(producer, &a);
    for (long f = 0; f < n; f++) {
        kn_ring_planes pl;
        assert_int_equal(kn_ring_wait(r, f, &pl, 5000), KN_RING_FRAME);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(pl.stride[i], 64);
            assert_int_equal((uintptr_t)pl.data[i] % 64, 0);
        }
        assert_true(pl.data[1] >= pl.data[0] + 64 * H);
        assert_true(pl.data[2] >= pl.data[1] + 64 * (H / 2));
        expect_frame(&pl, f);
        kn_ring_release(r, f);
    }
    expect_exit(p, CH_OK);

    long rendered, released;
    kn_ring_progress(r, &rendered, &released);
    assert_int_equal(rendered, n);
    assert_int_equal(released, n);
    long f;
    assert_int_equal(kn_ring_claim(r, 5, &f), KN_RING_DONE);
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_ring_error(r, &err), KN_OK);
    assert_int_equal(kn_ring_canceled(r), 0);
    kn_ring_destroy(r);
    close(fd);
}

/* A releaser thread stands in for the encoder's buffer-free callback: it
 * holds each frame a moment, checks it was not overwritten meanwhile (a
 * producer writing a slot still in use would show here), then releases. */
typedef struct held_frame {
    long f;
    kn_ring_planes p;
} held_frame;

typedef struct releaser {
    kn_ring *r;
    int rd;
    int bad;
    long count;
} releaser;

static void *releaser_main(void *arg)
{
    releaser *rl = arg;
    held_frame h;
    while (read(rl->rd, &h, sizeof h) == (ssize_t)sizeof h) {
        usleep(200);
        if (frame_ok(&h.p, h.f) != 0) rl->bad++;
        kn_ring_release(rl->r, h.f);
        rl->count++;
    }
    return NULL;
}

static void test_many_producers_backpressure(void **state)
{
    (void)state;
    int fd, logp[2], relp[2];
    const long n = 150;
    const int np = 6;
    kn_ring *r = make_ring(2, n, &fd);   /* fewer slots than producers */
    make_pipe(logp, 1);
    make_pipe(relp, 0);

    prod a[6];
    pid_t pid[6];
    for (int i = 0; i < np; i++) {
        a[i] = prod_args(NULL, fd, i, logp[1]);   /* each attaches the fd */
        a[i].max_delay_us = 1500;
        pid[i] = spawn(producer, &a[i]);
    }
    releaser rl = {.r = r, .rd = relp[0]};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, releaser_main, &rl), 0);
    for (long f = 0; f < n; f++) {
        held_frame h = {.f = f};
        assert_int_equal(kn_ring_wait(r, f, &h.p, 5000), KN_RING_FRAME);
        expect_frame(&h.p, f);
        assert_int_equal(write(relp[1], &h, sizeof h), (ssize_t)sizeof h);
    }
    close(relp[1]);
    pthread_join(th, NULL);
    close(relp[0]);
    assert_int_equal(rl.bad, 0);
    assert_int_equal(rl.count, n);
    for (int i = 0; i < np; i++) expect_exit(pid[i], CH_OK);

    int counts[150] = {0}, by_worker[KN_RING_MAX_WORKERS] = {0};
    assert_int_equal(drain_claims(logp[0], counts, n, by_worker), n);
    for (long f = 0; f < n; f++)
        if (counts[f] != 1) fail_msg("frame %ld claimed %d times", f, counts[f]);
    int busy = 0;
    for (int i = 0; i < np; i++) busy += by_worker[i] > 0;
    assert_true(busy >= 3);
    long rendered, released;
    kn_ring_progress(r, &rendered, &released);
    assert_int_equal(rendered, n);
    assert_int_equal(released, n);
    close(logp[0]);
    close(logp[1]);
    kn_ring_destroy(r);
    close(fd);
}

/* The victim is SIGKILLed while blocked in kn_ring_acquire on a full ring,
 * next to another blocked producer: the requeued frame is rendered by the
 * replacement and the wake-ups that follow still reach everyone. */
static void test_kill_blocked_producer(void **state)
{
    (void)state;
    int fd, logp[2];
    const long n = 20;
    kn_ring *r = make_ring(2, n, &fd);
    make_pipe(logp, 0);

    prod v = prod_args(NULL, fd, 0, logp[1]);
    pid_t victim = spawn(producer, &v);
    claim_rec c;
    do c = read_claim(logp[0]); while (c.frame < 2);
    assert_int_equal(c.frame, 2);                  /* slot 0 still holds frame 0 */
    wait_sleeping(victim, victim);

    prod o = prod_args(NULL, fd, 1, logp[1]);
    pid_t other = spawn(producer, &o);
    c = read_claim(logp[0]);
    assert_int_equal(c.worker, 1);
    assert_int_equal(c.frame, 3);
    wait_sleeping(other, other);

    kill(victim, SIGKILL);
    expect_signal(victim, SIGKILL);
    assert_int_equal(kn_ring_worker_lost(r, 0), 2);
    assert_int_equal(kn_ring_worker_lost(r, 0), -1);    /* holds nothing any more */

    prod rep = prod_args(NULL, fd, 0, logp[1]);
    pid_t repl = spawn(producer, &rep);
    consume_all(r, 0, n, NULL, 0, NULL, NULL);
    expect_exit(repl, CH_OK);
    expect_exit(other, CH_OK);

    fcntl(logp[0], F_SETFL, O_NONBLOCK);
    int counts[20] = {0};
    counts[0] = counts[1] = counts[3] = 1;   /* read above; 2 was lost once */
    drain_claims(logp[0], counts, n, NULL);
    for (long f = 0; f < n; f++)
        if (counts[f] != 1) fail_msg("frame %ld claimed %d times after the loss", f, counts[f]);
    kn_err err;
    assert_int_equal(kn_ring_error(r, &err), KN_OK);
    close(logp[0]);
    close(logp[1]);
    kn_ring_destroy(r);
    close(fd);
}

/* The victim dies between acquire and publish with half a frame written:
 * the slot goes back to free-for-that-frame and the replacement rewrites it
 * completely. The consumer plays supervisor through its wait timeouts. */
static void test_die_while_writing(void **state)
{
    (void)state;
    int fd;
    const long n = 15;
    kn_ring *r = make_ring(3, n, &fd);
    prod v = prod_args(NULL, fd, 0, -1);
    v.mode = DIE_WRITING;
    v.die_frame = 4;
    prod o = prod_args(NULL, fd, 1, -1);
    o.max_delay_us = 2000;
    prod rep = prod_args(NULL, fd, 0, -1);
    rep.max_delay_us = 500;

    pid_t victim = spawn(producer, &v);
    pid_t other = spawn(producer, &o);
    long lost = -2;
    consume_all(r, 0, n, &victim, 0, &rep, &lost);
    assert_true(lost >= 4);
    expect_exit(victim, CH_OK);   /* the replacement */
    expect_exit(other, CH_OK);
    long rendered, released;
    kn_ring_progress(r, &rendered, &released);
    assert_int_equal(rendered, n);
    assert_int_equal(released, n);
    kn_err err;
    assert_int_equal(kn_ring_error(r, &err), KN_OK);
    kn_ring_destroy(r);
    close(fd);
}

/* The victim faults inside kn_ring_fail, i.e. while it holds the ring's
 * mutex. The robust mutex lets everyone go on: the failure it never
 * finished is not recorded, its claimed frame is requeued, all frames
 * arrive, and a later failure is recorded whole. */
static void test_die_holding_lock(void **state)
{
    (void)state;
    int fd, logp[2];
    const long n = 12;
    kn_ring *r = make_ring(2, n, &fd);
    make_pipe(logp, 0);

    prod v = prod_args(NULL, fd, 2, logp[1]);
    v.mode = DIE_IN_LOCK;
    pid_t victim = spawn(producer, &v);
    claim_rec c = read_claim(logp[0]);
    assert_int_equal(c.frame, 0);
    expect_signal(victim, SIGSEGV);

    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_ring_error(r, &err), KN_OK);     /* takes the dead owner's lock */
    assert_int_equal(kn_ring_worker_lost(r, 2), 0);

    prod a0 = prod_args(NULL, fd, 0, -1), a1 = prod_args(NULL, fd, 1, -1);
    a1.max_delay_us = 1000;
    pid_t p0 = spawn(producer, &a0), p1 = spawn(producer, &a1);
    consume_all(r, 0, n, NULL, 0, NULL, NULL);
    expect_exit(p0, CH_OK);
    expect_exit(p1, CH_OK);

    kn_ring_fail(r, KN_ERENDER, "late failure");
    assert_int_equal(kn_ring_error(r, &err), KN_ERENDER);
    assert_string_equal(err.msg, "late failure");
    close(logp[0]);
    close(logp[1]);
    kn_ring_destroy(r);
    close(fd);
}

typedef struct waiter {
    kn_ring *r;
    long frame;
    int result;
    pid_t tid;
} waiter;

static void *waiter_main(void *arg)
{
    waiter *w = arg;
    kn_ring_planes p;
    __atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
    w->result = kn_ring_wait(w->r, w->frame, &p, -1);
    return NULL;
}

static void test_same_frame_crashes_twice(void **state)
{
    (void)state;
    int fd, logp[2];
    const long n = 10;
    kn_ring *r = make_ring(4, n, &fd);
    make_pipe(logp, 0);

    waiter w = {.r = r, .frame = 2, .result = -7};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);

    prod v1 = prod_args(NULL, fd, 0, logp[1]);
    v1.mode = DIE_WRITING;
    v1.die_frame = 2;
    pid_t p = spawn(producer, &v1);
    claim_rec c;
    do c = read_claim(logp[0]); while (c.frame < 2);
    expect_signal(p, SIGKILL);
    assert_int_equal(kn_ring_worker_lost(r, 0), 2);
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_ring_error(r, &err), KN_OK);     /* once is forgiven */

    prod v2 = prod_args(NULL, fd, 0, logp[1]);
    v2.mode = DIE_CLAIMED;   /* dies on whatever it gets first */
    p = spawn(producer, &v2);
    c = read_claim(logp[0]);
    assert_int_equal(c.frame, 2);                        /* requeued frames go first */
    expect_signal(p, SIGKILL);

    pid_t tid;
    while ((tid = __atomic_load_n(&w.tid, __ATOMIC_ACQUIRE)) == 0) sched_yield();
    wait_sleeping(getpid(), tid);                        /* consumer blocked on frame 2 */
    assert_int_equal(kn_ring_worker_lost(r, 0), 2);
    pthread_join(th, NULL);
    assert_int_equal(w.result, KN_RING_STOPPED);

    assert_int_equal(kn_ring_error(r, &err), KN_ECRASH);
    assert_int_equal(err.code, KN_ECRASH);
    assert_non_null(strstr(err.msg, "frame 2 crashed a render worker twice"));
    assert_int_equal(kn_ring_canceled(r), 0);
    kn_ring_planes pl;
    assert_int_equal(kn_ring_wait(r, 0, &pl, 100), KN_RING_STOPPED);   /* even a ready frame */
    long f;
    assert_int_equal(kn_ring_claim(r, 1, &f), KN_RING_STOPPED);
    kn_ring_fail(r, KN_ERENDER, "second failure");       /* the first failure wins */
    assert_int_equal(kn_ring_error(r, &err), KN_ECRASH);
    close(logp[0]);
    close(logp[1]);
    kn_ring_destroy(r);
    close(fd);
}

typedef struct cons_arg {
    int fd;
    long frame;
    int ready_fd;
} cons_arg;

static int consumer_child(void *arg)
{
    cons_arg *a = arg;
    kn_ring *r;
    kn_err err;
    if (kn_ring_attach(a->fd, &r, &err) != KN_OK) return CH_ATTACH;
    char c = 'r';
    if (write(a->ready_fd, &c, 1) != 1) return CH_SETUP;
    kn_ring_planes p;
    int rc = kn_ring_wait(r, a->frame, &p, -1);
    kn_ring_destroy(r);
    return rc == KN_RING_STOPPED ? CH_STOPPED : CH_PROTO;
}

static void test_cancel_wakes_everyone(void **state)
{
    (void)state;
    int fd, logp[2], gop[2], readyp[2];
    const long n = 10;
    kn_ring *r = make_ring(1, n, &fd);
    make_pipe(logp, 0);
    make_pipe(gop, 0);
    make_pipe(readyp, 0);

    /* Holder: writes frame 0 and keeps the only slot until told to go. */
    prod h = prod_args(NULL, fd, 0, logp[1]);
    h.mode = HOLD_AFTER_ACQUIRE;
    h.go_fd = gop[0];
    pid_t holder = spawn(producer, &h);
    close(gop[0]);
    assert_int_equal(read_claim(logp[0]).frame, 0);

    prod b = prod_args(NULL, fd, 1, logp[1]);           /* blocks in acquire(1) */
    pid_t blocked = spawn(producer, &b);
    assert_int_equal(read_claim(logp[0]).frame, 1);
    wait_sleeping(blocked, blocked);

    cons_arg ca = {.fd = fd, .frame = 0, .ready_fd = readyp[1]};
    pid_t cons = spawn(consumer_child, &ca);              /* blocks in wait(0) */
    char ch;
    assert_int_equal(read(readyp[0], &ch, 1), 1);
    wait_sleeping(cons, cons);

    kn_ring_cancel(r);
    expect_exit(blocked, CH_STOPPED);
    expect_exit(cons, CH_STOPPED);
    assert_int_equal(write(gop[1], "g", 1), 1);           /* holder publishes, then sees the stop */
    expect_exit(holder, CH_STOPPED);

    assert_int_equal(kn_ring_canceled(r), 1);
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_ring_error(r, &err), KN_OK);
    kn_ring_planes pl;
    assert_int_equal(kn_ring_wait(r, 0, &pl, 100), KN_RING_STOPPED);
    long f;
    assert_int_equal(kn_ring_claim(r, 3, &f), KN_RING_STOPPED);
    close(gop[1]);
    close(logp[0]);
    close(logp[1]);
    close(readyp[0]);
    close(readyp[1]);
    kn_ring_destroy(r);
    close(fd);
}

static void test_wait_timeout(void **state)
{
    (void)state;
    int fd;
    kn_ring *r = make_ring(2, 5, &fd);
    kn_ring_planes p;
    double t0 = kn_mono();
    assert_int_equal(kn_ring_wait(r, 0, &p, 80), -1);
    /* It waited its timeout (a wait that returned early would spin its
     * caller). No upper bound: a loaded machine may wake it late, and a
     * hang is the test timeout's business. */
    assert_true(kn_mono() - t0 >= 0.075);
    assert_int_equal(kn_ring_wait(r, 0, &p, 0), -1);

    /* The test is its own producer: a published frame ends the wait. */
    long f;
    kn_ring_planes w;
    assert_int_equal(kn_ring_claim(r, 0, &f), KN_RING_FRAME);
    assert_int_equal(f, 0);
    assert_int_equal(kn_ring_acquire(r, 0, f, &w), KN_RING_FRAME);
    write_frame(&w, f);
    kn_ring_publish(r, 0, f);
    assert_int_equal(kn_ring_wait(r, 0, &p, 0), KN_RING_FRAME);
    expect_frame(&p, 0);
    assert_int_equal(kn_ring_wait(r, 1, &p, 30), -1);
    kn_ring_release(r, 0);
    kn_ring_destroy(r);
    close(fd);
}

/* Workers SIGKILLed at random moments, so some deaths land inside the
 * ring's critical sections (the lock is then recovered as EOWNERDEAD and
 * the half transition repaired). Each round must either deliver every frame
 * intact with exact counters, or stop with the crash-twice failure when a
 * requeued frame's second holder happened to be killed too; it must never
 * hang, duplicate a frame or report an internal error. */
static void test_random_kills(void **state)
{
    (void)state;
    enum { NP = 4, ROUNDS = 30 };
    const long n = 200;
    unsigned seed = 99;
    int completed = 0, crashed = 0, kills = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int fd;
        kn_ring *r = make_ring(3, n, &fd);
        prod a[NP];
        pid_t pid[NP];
        for (int i = 0; i < NP; i++) {
            a[i] = prod_args(NULL, fd, i, -1);
            pid[i] = spawn(producer, &a[i]);
        }
        int stopped = 0;
        for (long f = 0; f < n && !stopped; f++) {
            kn_ring_planes p;
            int rc;
            double give_up = kn_mono() + 10;
            while ((rc = kn_ring_wait(r, f, &p, 50)) == -1)
                if (kn_mono() > give_up) fail_msg("round %d: frame %ld never arrived", round, f);
            if (rc == KN_RING_STOPPED) {
                stopped = 1;
                break;
            }
            expect_frame(&p, f);
            kn_ring_release(r, f);
            if (rand_r(&seed) % 6 == 0) {
                for (volatile unsigned spin = rand_r(&seed) % 20000; spin > 0; spin--) {}
                int v = (int)(rand_r(&seed) % NP);
                kill(pid[v], SIGKILL);
                reap(pid[v]);   /* killed, or already finished */
                kn_ring_worker_lost(r, v);
                pid[v] = spawn(producer, &a[v]);
                kills++;
            }
        }
        kn_ring_cancel(r);
        for (int i = 0; i < NP; i++) {
            int st = reap(pid[i]);
            if (!WIFEXITED(st) || (WEXITSTATUS(st) != CH_OK && WEXITSTATUS(st) != CH_STOPPED))
                fail_msg("round %d: worker %d ended with status 0x%x", round, i, st);
        }
        kn_err err;
        kn_err_clear(&err);
        int code = kn_ring_error(r, &err);
        long rendered, released;
        kn_ring_progress(r, &rendered, &released);
        if (stopped) {
            if (code != KN_ECRASH || !strstr(err.msg, "crashed a render worker twice"))
                fail_msg("round %d stopped with code %d: %s", round, code, err.msg);
            crashed++;
        } else {
            if (code != KN_OK) fail_msg("round %d: unexpected failure %s", round, err.msg);
            assert_int_equal(rendered, n);
            assert_int_equal(released, n);
            completed++;
        }
        kn_ring_destroy(r);
        close(fd);
    }
    assert_true(kills > ROUNDS);
    assert_true(completed > 0);
    print_message("random kills: %d rounds delivered every frame, %d stopped on a twice-crashed frame, %d kills\n",
                  completed, crashed, kills);
}

static void expect_create_fail(int w, int h, int slots, long n, int code, const char *needle)
{
    kn_ring *r = (kn_ring *)&r;
    int fd = 77;
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_ring_create(w, h, slots, n, &r, &fd, &err);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_null(r);
    assert_int_equal(fd, -1);
    if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

/* Caller contracts abort (KN_REQUIRE) before the ring's lock is taken. */
static void create_without_out(void *arg)
{
    (void)arg;
    int fd;
    kn_ring_create(W, H, 2, 10, NULL, &fd, NULL);
}
static void wait_past_end(void *r) { kn_ring_planes p; kn_ring_wait(r, 10, &p, 0); }
static void release_negative(void *r) { kn_ring_release(r, -1); }
static void claim_bad_worker(void *r) { long f; kn_ring_claim(r, KN_RING_MAX_WORKERS, &f); }
static void publish_bad_frame(void *r) { kn_ring_publish(r, 0, 99); }
static void cancel_null(void *r) { (void)r; kn_ring_cancel(NULL); }

static void test_contracts(void **state)
{
    (void)state;
    kn_ring *r = NULL;
    int fd = -1;
    kn_err err;
    assert_int_equal(kn_ring_create(W, H, 2, 10, &r, &fd, &err), KN_OK);
    assert_true(tu_dies(create_without_out, NULL));
    assert_true(tu_dies(wait_past_end, r));
    assert_true(tu_dies(release_negative, r));
    assert_true(tu_dies(claim_bad_worker, r));
    assert_true(tu_dies(publish_bad_frame, r));
    assert_true(tu_dies(cancel_null, NULL));
    /* the ring is untouched: nothing failed, the lock is free */
    assert_int_equal(kn_ring_error(r, &err), KN_OK);
    assert_false(kn_ring_canceled(r));
    long f;
    assert_int_equal(kn_ring_claim(r, 0, &f), KN_RING_FRAME);
    assert_int_equal(f, 0);
    kn_ring_destroy(r);
    close(fd);
}

static void test_create_validation(void **state)
{
    (void)state;
    expect_create_fail(W, H, 0, 10, KN_EINVAL, "slots must be 1..256, got 0");
    expect_create_fail(W, H, 257, 10, KN_EINVAL, "slots must be 1..256");
    expect_create_fail(14, H, 2, 10, KN_EINVAL, "14x20 is outside");
    expect_create_fail(7682, H, 2, 10, KN_EINVAL, "outside 16x16..7680x4320");
    expect_create_fail(W, 4322, 2, 10, KN_EINVAL, "outside");
    expect_create_fail(W, H, 2, 0, KN_EINVAL, "frame count");
    expect_create_fail(W, H, 2, -5, KN_EINVAL, "frame count");
    expect_create_fail(7680, 4320, 256, 10, KN_ENOMEM, "fewer slots");

    /* Y 64x20, U and V 64x10 each: 2560 bytes a slot. */
    assert_int_equal(kn_ring_bytes(W, H, 3) - kn_ring_bytes(W, H, 2), 2560);
    assert_true(kn_ring_bytes(W, H, 1) >= 2560);
    assert_int_equal(kn_ring_bytes(15, H, 1), 0);
    assert_int_equal(kn_ring_bytes(W, H, 0), 0);
    assert_true(kn_ring_bytes(7680, 4320, 256) > (size_t)7680 * 4320 * 3 / 2 * 256);
    kn_ring_destroy(NULL);
}

/* ---- odd sizes (gif) ------------------------------------------------------ */

/* 33 x 17: chroma is ceil(33 / 2) x ceil(17 / 2) = 17 x 9. */
#define OW 33
#define OH 17

static void odd_dims(int plane, int *w, int *h)
{
    *w = plane ? (OW + 1) / 2 : OW;
    *h = plane ? (OH + 1) / 2 : OH;
}

/* Fills every sample of every plane, the last chroma column and row
 * included, with frame f's pattern. */
static void odd_write(const kn_ring_planes *p, long f)
{
    for (int i = 0; i < 3; i++) {
        int pw, ph;
        odd_dims(i, &pw, &ph);
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) p->data[i][(size_t)y * p->stride[i] + x] = pat(i, f, x, y);
    }
}

/* The sample that differs from frame f's pattern, or -1 for none, as
 * plane * 1e6 + y * 1000 + x. */
static long odd_mismatch(const kn_ring_planes *p, long f)
{
    for (int i = 0; i < 3; i++) {
        int pw, ph;
        odd_dims(i, &pw, &ph);
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++)
                if (p->data[i][(size_t)y * p->stride[i] + x] != pat(i, f, x, y))
                    return i * 1000000L + y * 1000L + x;
    }
    return -1;
}

/* A producer process that attaches the ring and writes whole odd frames. */
static int odd_producer(void *arg)
{
    int fd = *(int *)arg;
    kn_ring *r = NULL;
    kn_err err;
    if (kn_ring_attach(fd, &r, &err) != KN_OK) return CH_ATTACH;
    if (kn_ring_width(r) != OW || kn_ring_height(r) != OH) return CH_PROTO;
    int code = CH_OK;
    for (;;) {
        long f;
        int rc = kn_ring_claim(r, 0, &f);
        if (rc == KN_RING_DONE) break;
        kn_ring_planes p;
        if (rc != KN_RING_FRAME || kn_ring_acquire(r, 0, f, &p) != KN_RING_FRAME) {
            code = CH_STOPPED;
            break;
        }
        odd_write(&p, f);
        kn_ring_publish(r, 0, f);
    }
    kn_ring_destroy(r);
    return code;
}

/* Odd sizes are accepted and their chroma planes hold ceil(w / 2) x
 * ceil(h / 2) samples: with two slots the producer fills frame f + 1
 * (in the other slot, right after this one's V plane) before the consumer
 * reads frame f, so a V plane one row short would have its last row
 * overwritten by the next slot's Y. */
static void test_odd_size(void **state)
{
    (void)state;
    /* Y 64 x 17 = 1088, U and V 64 x 9 = 576 each: 2240 bytes a slot. */
    assert_int_equal(kn_ring_bytes(OW, OH, 3) - kn_ring_bytes(OW, OH, 2), 2240);
    assert_int_equal(kn_ring_bytes(OW, H, 3) - kn_ring_bytes(OW, H, 2), 64 * H + 2 * 64 * (H / 2));
    assert_int_equal(kn_ring_bytes(W, OH, 3) - kn_ring_bytes(W, OH, 2), 1088 + 2 * 576);
    /* 7679 x 4319: the largest odd size still maps (chroma 3840 x 2160). */
    assert_true(kn_ring_bytes(7679, 4319, 1) >= (size_t)7679 * 4319 + 2 * (size_t)3840 * 2160);

    const long n = 12;
    kn_ring *r = NULL;
    int fd = -1;
    kn_err err;
    kn_err_clear(&err);
    if (kn_ring_create(OW, OH, 2, n, &r, &fd, &err) != KN_OK) fail_msg("kn_ring_create 33x17: %s", err.msg);
    assert_int_equal(kn_ring_width(r), OW);
    assert_int_equal(kn_ring_height(r), OH);
    pid_t p = spawn(odd_producer, &fd);
    for (long f = 0; f < n; f++) {
        kn_ring_planes pl;
        assert_int_equal(kn_ring_wait(r, f, &pl, 5000), KN_RING_FRAME);
        for (int i = 0; i < 3; i++) {
            int pw, ph;
            odd_dims(i, &pw, &ph);
            assert_true(pl.stride[i] >= pw);
            assert_int_equal((uintptr_t)pl.data[i] % 64, 0);
            if (i) {   /* planes do not overlap */
                int qw, qh;
                odd_dims(i - 1, &qw, &qh);
                assert_true(pl.data[i] >= pl.data[i - 1] + (size_t)pl.stride[i - 1] * qh);
            }
        }
        /* Frame f + 1 (the other slot) is written, unless f is the last:
         * writing it must not have touched frame f's planes. */
        if (f + 1 < n) {
            kn_ring_planes next;
            assert_int_equal(kn_ring_wait(r, f + 1, &next, 5000), KN_RING_FRAME);
        }
        long bad = odd_mismatch(&pl, f);
        if (bad >= 0)
            fail_msg("frame %ld: plane %ld sample (%ld, %ld) differs from what its producer wrote", f,
                     bad / 1000000, bad % 1000, bad / 1000 % 1000);
        kn_ring_release(r, f);
    }
    expect_exit(p, CH_OK);
    kn_ring_destroy(r);
    close(fd);
}

static void expect_attach_fail(int fd, int code, const char *needle)
{
    kn_ring *r = (kn_ring *)&r;
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_ring_attach(fd, &r, &err), code);
    assert_null(r);
    if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_attach_validation(void **state)
{
    (void)state;
    expect_attach_fail(-1, KN_EIO, "cannot inspect");

    int small = memfd_create("not-a-ring", 0);
    assert_true(small >= 0);
    assert_int_equal(ftruncate(small, 100), 0);
    expect_attach_fail(small, KN_EINVAL, "is not a frame ring");
    close(small);

    int zeros = memfd_create("zeros", 0);
    assert_true(zeros >= 0);
    assert_int_equal(ftruncate(zeros, (off_t)kn_ring_bytes(W, H, 2)), 0);
    expect_attach_fail(zeros, KN_EINVAL, "bad magic");
    close(zeros);

    int fd;
    kn_ring *r = make_ring(2, 7, &fd);
    kn_ring *a = NULL;
    kn_err err;
    assert_int_equal(kn_ring_attach(fd, &a, &err), KN_OK);
    assert_int_equal(kn_ring_width(a), W);
    assert_int_equal(kn_ring_height(a), H);
    assert_int_equal(kn_ring_frames(a), 7);
    kn_ring_destroy(a);

    assert_int_equal(ftruncate(fd, (off_t)kn_ring_bytes(W, H, 2) + 4096), 0);
    expect_attach_fail(fd, KN_EINVAL, "does not match its geometry");
    kn_ring_destroy(r);
    close(fd);
}

int main(void)
{
    kn_log_set_level(KN_LOG_ERROR);   /* the lock-recovery warning is expected */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_that_fit),
        cmocka_unit_test_setup_teardown(test_single_producer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_producers_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_blocked_producer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_die_while_writing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_die_holding_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_frame_crashes_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_wakes_everyone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contracts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_validation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
