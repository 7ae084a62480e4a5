/*
 * pipeline/ring.c - the frame ring (protocol in ring.h).
 *
 * Shared memory layout: a struct ring_shm header, padded to a page, then K
 * slots of slot_bytes each. A slot holds the Y, U and V planes; each plane
 * starts 64-byte aligned and its stride is the plane width rounded up to 64.
 * Y is width x height; U and V are ceil(width / 2) x ceil(height / 2), so an
 * odd size (gif output) has room for the chroma of its last column and row,
 * which libyuv's ARGBToI420 writes from the half-filled 2x2 blocks there.
 *
 * Invariants (all state is read and written under the robust mutex):
 *  - Frame f lives in slot f % K. A slot's state is one 64-bit word:
 *    FREE(f) (may be written for frame f), WRITING(f, w) or READY(f). Slot i
 *    starts FREE(i); releasing READY(f) makes it FREE(f + K).
 *  - Every frame is in exactly one place: not handed out yet (>= next), in
 *    the requeue, held by one worker (held[w], claimed or writing), or
 *    published (its slot is READY(f) or has moved past f).
 *  - A process may die (SIGKILL) inside a critical section. Every field is
 *    assigned whole and the stores of a transition are kept in program
 *    order (ORDER()), so a dead owner leaves a prefix of one transition.
 *    The next process to lock sees EOWNERDEAD and repair_locked() finishes
 *    or undoes that transition before anyone acts on it: a half claim is
 *    undone (the frame is still queued or >= next), a half publish is
 *    finished (the slot is already READY). The failure message is written
 *    before the failure code, so a half kn_ring_fail leaves "not failed".
 *  - "Frames rendered" is released + slots READY, not a counter of its own,
 *    so it cannot drift when a publisher dies.
 *
 * The mutex is robust and priority-inheriting. PI is not about priorities:
 * with a PI futex the kernel hands the lock from the unlocker to a waiter
 * itself. A plain robust futex loses a wake-up when a waiter is SIGKILLed
 * after being woken but before taking the lock while a third thread grabbed
 * it meanwhile; the remaining waiters then sleep forever on a free lock
 * (seen in a kill-heavy stress run). Kernels without PI futexes fall back to
 * the plain robust mutex.
 *
 * Waiting uses two futex event counters in the header (one for producers,
 * one for the consumer): a waiter reads the counter under the mutex, unlocks
 * and sleeps in FUTEX_WAIT on that value; a waker bumps it under the mutex
 * and FUTEX_WAKEs everyone. This is the condition-variable pattern without
 * pthread_cond_t on purpose: glibc's process-shared condvars (2.36 here)
 * keep per-waiter references in the shared object, so a worker
 * SIGKILLed while blocked in pthread_cond_wait makes a later
 * pthread_cond_broadcast block forever, holding the mutex - exactly the
 * wedge the robust mutex exists to prevent. A futex word has no per-waiter
 * state: a dead waiter leaves nothing behind.
 *
 * Trust: geometry, plane offsets and slot counts come from the private
 * handle (validated at create/attach), never re-read from the shared header,
 * and indices read from shared memory are bounds-checked before use, so a
 * process that scribbles on the header cannot make another one write out of
 * bounds.
 */
#include "pipeline/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/require.h"

#define RING_MAGIC 0x474e4952584e4b31ull    /* "1KNXRING" little-endian */
#define RING_VERSION 1u

#define RING_MIN_SLOTS 1
#define RING_ALIGN 64u
#define RING_HDR_ALIGN 4096u
#define RING_CRASH_CAP 128
#define RING_MSG_CAP 512

/* Keeps the stores around it in program order, which is all a process
 * killed at an arbitrary instruction can observe of itself. */
#define ORDER() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Slot word: bits 0-1 state, bits 2-9 worker, bits 10.. frame. */
enum { SLOT_FREE = 0, SLOT_WRITING = 1, SLOT_READY = 2 };

static uint64_t slot_word(int state, int worker, long frame)
{
    return ((uint64_t)frame << 10) | ((uint64_t)(worker & 0xff) << 2) | (uint64_t)state;
}
static int slot_state(uint64_t w) { return (int)(w & 3u); }
static int slot_worker(uint64_t w) { return (int)((w >> 2) & 0xffu); }
static long slot_frame(uint64_t w) { return (long)(w >> 10); }

/* Requeue position, packed so that a pop or push is one store. */
static uint32_t rq_pack(uint32_t head, uint32_t len) { return head | (len << 16); }
static uint32_t rq_head(uint32_t q) { return q & 0xffffu; }
static uint32_t rq_len(uint32_t q) { return q >> 16; }

struct ring_shm {
    uint64_t magic;
    uint32_t version;
    int32_t width, height, slots;
    int64_t n_frames;
    uint64_t total_bytes;

    pthread_mutex_t mu;
    uint32_t ev_prod;            /* futex: bumped when a slot frees or on stop */
    uint32_t ev_cons;            /* futex: bumped when a frame is ready or on stop */

    int64_t next;                /* next never-claimed frame */
    uint32_t rq;                 /* rq_pack(head, len) */
    int64_t rq_frames[KN_RING_MAX_WORKERS];
    int64_t held[KN_RING_MAX_WORKERS];   /* frame claimed or being written, -1 */

    int32_t n_crash;
    int64_t crash_frame[RING_CRASH_CAP];
    int64_t crash_count[RING_CRASH_CAP];

    int32_t canceled;
    int32_t fail_code;
    char fail_msg[RING_MSG_CAP];

    int64_t released;
    uint64_t slot[KN_RING_MAX_SLOTS];
};

struct layout {
    size_t stride[3];
    size_t plane_off[3];
    size_t slot_bytes;
    size_t data_off;
    size_t total;
};

struct kn_ring {
    struct ring_shm *h;
    uint8_t *base;
    size_t bytes;
    int width, height, slots;
    long n_frames;
    struct layout L;
};

/* ---- geometry ---------------------------------------------------------- */

static size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static int check_geometry(int width, int height, int slots, kn_err *err)
{
    if (slots < RING_MIN_SLOTS || slots > KN_RING_MAX_SLOTS)
        return kn_err_set(err, KN_EINVAL, NULL,
                          "frame ring slots must be %d..%d, got %d", RING_MIN_SLOTS, KN_RING_MAX_SLOTS, slots);
    if (width < KN_FRAME_MIN_W || width > KN_FRAME_MAX_W || height < KN_FRAME_MIN_H || height > KN_FRAME_MAX_H)
        return kn_err_set(err, KN_EINVAL, NULL,
                          "frame size %dx%d is outside %dx%d..%dx%d", width, height,
                          KN_FRAME_MIN_W, KN_FRAME_MIN_H, KN_FRAME_MAX_W, KN_FRAME_MAX_H);
    /* Odd sizes are fine here (chroma is rounded up, see compute_layout);
     * whether the output format takes them is the document's and the
     * encoder's business. */
    return KN_OK;
}

/* Geometry must have passed check_geometry. With its bounds the total stays
 * far below 2^63; the multiplications are still checked so that a 32-bit
 * size_t reports overflow instead of wrapping. */
static int compute_layout(int width, int height, int slots, struct layout *L)
{
    size_t w = (size_t)width, h = (size_t)height;
    size_t plane[3];
    L->stride[0] = round_up(w, RING_ALIGN);
    /* One chroma sample per 2x2 block, a partial block at an odd edge
     * included: ceil, not w / 2, or the last chroma column and row of an
     * odd size would fall outside the plane. */
    L->stride[1] = L->stride[2] = round_up((w + 1) / 2, RING_ALIGN);
    if (__builtin_mul_overflow(L->stride[0], h, &plane[0])) return -1;
    if (__builtin_mul_overflow(L->stride[1], (h + 1) / 2, &plane[1])) return -1;
    plane[2] = plane[1];
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        L->plane_off[i] = off;
        if (__builtin_add_overflow(off, round_up(plane[i], RING_ALIGN), &off)) return -1;
    }
    L->slot_bytes = off;
    L->data_off = round_up(sizeof(struct ring_shm), RING_HDR_ALIGN);
    size_t data;
    if (__builtin_mul_overflow(L->slot_bytes, (size_t)slots, &data)) return -1;
    if (__builtin_add_overflow(L->data_off, data, &L->total)) return -1;
    return 0;
}

size_t kn_ring_bytes(int width, int height, int slots)
{
    struct layout L;
    if (check_geometry(width, height, slots, NULL) != KN_OK) return 0;
    if (compute_layout(width, height, slots, &L) != 0) return 0;
    return L.total;
}

int kn_ring_width(const kn_ring *r) { KN_REQUIRE(r); return r->width; }
int kn_ring_height(const kn_ring *r) { KN_REQUIRE(r); return r->height; }
long kn_ring_frames(const kn_ring *r) { KN_REQUIRE(r); return r->n_frames; }
int kn_ring_slots(const kn_ring *r) { KN_REQUIRE(r); return r->slots; }

/* ---- locking and waiting ------------------------------------------------ */

static void ev_wake(uint32_t *ev)
{
    __atomic_add_fetch(ev, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, ev, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void wake_all(kn_ring *r)
{
    ev_wake(&r->h->ev_prod);
    ev_wake(&r->h->ev_cons);
}

static void repair_locked(kn_ring *r);
static void fail_locked(kn_ring *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* 0 with the mutex held, -1 when it cannot be taken (only if the mutex was
 * made unrecoverable, i.e. the shared memory was scribbled on). */
static int ring_lock(kn_ring *r)
{
    int rc = pthread_mutex_lock(&r->h->mu);
    if (rc == EOWNERDEAD) {
        /* The dead owner may have left half a transition (see the file
         * comment) and changed state without waking anyone. */
        repair_locked(r);
        pthread_mutex_consistent(&r->h->mu);
        kn_warn("frame ring: a process died holding the ring lock; recovered");
        wake_all(r);
        return 0;
    }
    if (rc != 0) {
        kn_error("frame ring: cannot lock the ring: %s", strerror(rc));
        return -1;
    }
    return 0;
}

static void ring_unlock(kn_ring *r)
{
    pthread_mutex_unlock(&r->h->mu);
}

/* Called with the mutex held, after the caller found its condition false;
 * sleeps until the event is bumped (or a spurious wake-up) and returns with
 * the mutex held again: 0, ETIMEDOUT when deadline (CLOCK_MONOTONIC, NULL
 * for none) passed, -1 when the mutex could not be retaken (not held). */
static int ev_wait(kn_ring *r, uint32_t *ev, const struct timespec *deadline)
{
    uint32_t seen = __atomic_load_n(ev, __ATOMIC_SEQ_CST);
    ring_unlock(r);
    long rc = syscall(SYS_futex, ev, FUTEX_WAIT_BITSET, seen, deadline, NULL, FUTEX_BITSET_MATCH_ANY);
    int e = rc == -1 ? errno : 0;
    if (ring_lock(r) != 0) return -1;
    if (e != 0 && e != EAGAIN && e != EINTR && e != ETIMEDOUT) {
        /* Retrying would spin; stop the job with the reason instead. */
        fail_locked(r, KN_EINTERNAL, "frame ring: futex wait failed: %s", strerror(e));
        return 0;
    }
    return e == ETIMEDOUT ? ETIMEDOUT : 0;
}

static int stopped(const kn_ring *r)
{
    return r->h->canceled || r->h->fail_code != KN_OK;
}

/* With the mutex held. First failure wins. */
static void fail_locked(kn_ring *r, int code, const char *fmt, ...)
{
    struct ring_shm *h = r->h;
    if (h->fail_code != KN_OK) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->fail_msg, sizeof h->fail_msg, fmt, ap);
    va_end(ap);
    ORDER();
    h->fail_code = code != KN_OK ? code : KN_EINTERNAL;
    wake_all(r);
}

/* Caller contracts (ring.h): checked before the lock is taken, so a
 * broken one aborts without leaving the robust mutex to be repaired. */
static bool valid_worker(int worker) { return worker >= 0 && worker < KN_RING_MAX_WORKERS; }
static bool valid_frame(const kn_ring *r, long frame) { return frame >= 0 && frame < r->n_frames; }

/* The requeue position, or -1 (and the ring failed) if it is corrupt. */
static int rq_get(kn_ring *r, uint32_t *head, uint32_t *len)
{
    uint32_t q = r->h->rq;
    *head = rq_head(q);
    *len = rq_len(q);
    if (*head < KN_RING_MAX_WORKERS && *len <= KN_RING_MAX_WORKERS) return 0;
    fail_locked(r, KN_EINTERNAL, "frame ring: requeue state is corrupt");
    return -1;
}

static void fill_planes(const kn_ring *r, long frame, kn_ring_planes *p)
{
    uint8_t *slot = r->base + r->L.data_off + (size_t)(frame % r->slots) * r->L.slot_bytes;
    for (int i = 0; i < 3; i++) {
        p->data[i] = slot + r->L.plane_off[i];
        p->stride[i] = (int)r->L.stride[i];
    }
}

/* ---- create / attach ---------------------------------------------------- */

static int open_shm(int *fd_out, kn_err *err)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        uint64_t rnd = 0;
        if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            rnd = (uint64_t)time(NULL) * 6364136223846793005ull + (uint64_t)attempt;
        char name[64];
        snprintf(name, sizeof name, "/kinora-ring-%ld-%016llx", (long)getpid(), (unsigned long long)rnd);
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) {
            shm_unlink(name);   /* lives exactly as long as its mappings and fds */
            *fd_out = fd;
            return KN_OK;
        }
        if (errno != EEXIST)
            return kn_err_set(err, KN_EIO, NULL,
                              "cannot create shared memory for the frame ring: %s (is /dev/shm mounted and writable?)",
                              strerror(errno));
    }
    return kn_err_set(err, KN_EIO, NULL, "cannot create shared memory for the frame ring: name collisions");
}

/* Bytes /dev/shm (where shm_open puts the ring) can still take, or -1 when
 * that cannot be told. */
static int64_t shm_free_bytes(void)
{
    struct statvfs v;
    if (statvfs("/dev/shm", &v) != 0) return -1;
    return (int64_t)v.f_bavail * (int64_t)v.f_frsize;
}

int kn_ring_slots_that_fit(int width, int height, int want, int64_t avail)
{
    struct layout L;
    if (want < RING_MIN_SLOTS || avail <= 0) return 0;
    if (want > KN_RING_MAX_SLOTS) want = KN_RING_MAX_SLOTS;
    if (check_geometry(width, height, want, NULL) != KN_OK || compute_layout(width, height, 1, &L) != 0) return 0;
    if ((uint64_t)avail <= L.data_off) return 0;
    uint64_t n = ((uint64_t)avail - L.data_off) / L.slot_bytes;
    return n >= (uint64_t)want ? want : (int)n;
}

/* Where the ring's memory comes from and how many slots it gets. /dev/shm is
 * often small (Docker gives a container 64 MB), and a ring that does not fit
 * would fail the job, so the ring takes fewer slots when the requested ones
 * do not fit in half of what /dev/shm has free (half: leave room for other
 * rings and other programs). Fewer slots only cost overlap between workers
 * and the encoder; below KN_RING_SHM_MIN_SLOTS the ring uses an anonymous
 * memfd instead, which /dev/shm's size does not bound. */
static int open_backing(int width, int height, int *slots, int *fd_out, kn_err *err)
{
    int64_t avail = shm_free_bytes();
    int want = *slots, fit = avail < 0 ? want : kn_ring_slots_that_fit(width, height, want, avail / 2);
    int floor = want < KN_RING_SHM_MIN_SLOTS ? want : KN_RING_SHM_MIN_SLOTS;
    if (fit >= floor) {
        if (fit < want)
            kn_info("frame ring: /dev/shm has %lld MiB free, so a %dx%d ring gets %d slots instead of %d",
                    (long long)(avail >> 20), width, height, fit, want);
        *slots = fit;
        return open_shm(fd_out, err);
    }
    int fd = memfd_create("kinora-ring", MFD_CLOEXEC);
    if (fd < 0)
        return kn_err_set(err, KN_EIO, NULL, "cannot create memory for the frame ring: %s", strerror(errno));
    kn_info("frame ring: /dev/shm has %lld MiB free, too little for %d slots of %dx%d; using anonymous memory",
            (long long)(avail >> 20), floor, width, height);
    *fd_out = fd;
    return KN_OK;
}

static int init_mutex_with(pthread_mutex_t *mu, int protocol)
{
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc != 0) return rc;
    rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0) rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0) rc = pthread_mutexattr_setprotocol(&a, protocol);
    if (rc == 0) rc = pthread_mutex_init(mu, &a);
    pthread_mutexattr_destroy(&a);
    return rc;
}

static int init_mutex(pthread_mutex_t *mu, kn_err *err)
{
    int rc = init_mutex_with(mu, PTHREAD_PRIO_INHERIT);   /* see the file comment */
    if (rc == ENOTSUP || rc == ENOSYS) {
        kn_warn("frame ring: no priority-inheritance futexes (%s); a render worker killed while "
                "waiting for the ring lock can stall the job", strerror(rc));
        rc = init_mutex_with(mu, PTHREAD_PRIO_NONE);
    }
    if (rc != 0)
        return kn_err_set(err, KN_EINTERNAL, NULL, "cannot create the frame ring lock: %s", strerror(rc));
    return KN_OK;
}

int kn_ring_create(int width, int height, int slots, long n_frames,
                   kn_ring **out, int *fd_out, kn_err *err)
{
    int rc;
    int fd = -1;
    kn_ring *r = NULL;
    void *map = MAP_FAILED;
    struct layout L;

    KN_REQUIRE(out && fd_out);
    *out = NULL;
    *fd_out = -1;
    if ((rc = check_geometry(width, height, slots, err)) != KN_OK) goto out;
    if (n_frames < 1 || n_frames > KN_RING_MAX_FRAMES) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "frame count must be 1..%ld, got %ld", KN_RING_MAX_FRAMES, n_frames);
        goto out;
    }
    if (compute_layout(width, height, slots, &L) != 0 || (uint64_t)L.total > KN_RING_MAX_BYTES) {
        rc = kn_err_set(err, KN_ENOMEM, NULL,
                        "a frame ring of %d slots of %dx%d needs more than the %llu MiB cap; use fewer slots",
                        slots, width, height, (unsigned long long)(KN_RING_MAX_BYTES >> 20));
        goto out;
    }
    if ((rc = open_backing(width, height, &slots, &fd, err)) != KN_OK) goto out;
    if (compute_layout(width, height, slots, &L) != 0) {   /* fewer slots: smaller */
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "frame ring layout failed for %d slots", slots);
        goto out;
    }
    if (ftruncate(fd, (off_t)L.total) != 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot size the frame ring's shared memory to %zu bytes: %s",
                        L.total, strerror(errno));
        goto out;
    }
    /* Reserve the pages now: tmpfs is sparse, and a full /dev/shm would
     * otherwise surface later as SIGBUS in whichever worker touches a page. */
    int fe = posix_fallocate(fd, 0, (off_t)L.total);
    if (fe != 0) {
        rc = kn_err_set(err, KN_ENOMEM, NULL,
                        "cannot reserve %zu bytes of shared memory for the frame ring (%d slots of %dx%d): %s; "
                        "enlarge /dev/shm or use fewer slots", L.total, slots, width, height, strerror(fe));
        goto out;
    }
    map = mmap(NULL, L.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "cannot map %zu bytes for the frame ring: %s", L.total, strerror(errno));
        goto out;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory creating the frame ring");
        goto out;
    }
    r->h = map;
    r->base = map;
    r->bytes = L.total;
    r->width = width;
    r->height = height;
    r->slots = slots;
    r->n_frames = n_frames;
    r->L = L;

    struct ring_shm *h = r->h;   /* fresh pages are zero */
    if ((rc = init_mutex(&h->mu, err)) != KN_OK) goto out;
    h->version = RING_VERSION;
    h->width = width;
    h->height = height;
    h->slots = slots;
    h->n_frames = n_frames;
    h->total_bytes = L.total;
    h->next = 0;
    h->rq = rq_pack(0, 0);
    for (int i = 0; i < KN_RING_MAX_WORKERS; i++) h->held[i] = -1;
    for (int i = 0; i < slots; i++) h->slot[i] = slot_word(SLOT_FREE, 0, i);
    __atomic_store_n(&h->magic, RING_MAGIC, __ATOMIC_RELEASE);   /* last: the ring is complete */

    *out = r;
    *fd_out = fd;
    r = NULL;
    map = MAP_FAILED;
    fd = -1;
    rc = KN_OK;
out:
    free(r);
    if (map != MAP_FAILED) munmap(map, L.total);
    if (fd >= 0) close(fd);
    return rc;
}

int kn_ring_attach(int fd, kn_ring **out, kn_err *err)
{
    int rc;
    void *map = MAP_FAILED;
    size_t size = 0;
    kn_ring *r = NULL;
    struct stat st;
    struct layout L;

    KN_REQUIRE(out);
    *out = NULL;
    if (fstat(fd, &st) != 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot inspect the frame ring fd %d: %s", fd, strerror(errno));
        goto out;
    }
    if (st.st_size < (off_t)sizeof(struct ring_shm) || (uint64_t)st.st_size > KN_RING_MAX_BYTES) {
        rc = kn_err_set(err, KN_EINVAL, NULL,
                        "fd %d is not a frame ring: its size %lld bytes is outside %zu..%llu",
                        fd, (long long)st.st_size, sizeof(struct ring_shm), (unsigned long long)KN_RING_MAX_BYTES);
        goto out;
    }
    size = (size_t)st.st_size;
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot map the frame ring fd %d: %s", fd, strerror(errno));
        goto out;
    }
    const struct ring_shm *h = map;
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != RING_MAGIC) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "fd %d is not a frame ring (bad magic number)", fd);
        goto out;
    }
    if (h->version != RING_VERSION) {
        rc = kn_err_set(err, KN_EINVAL, NULL,
                        "frame ring version %u, this program expects %u: the server and the render "
                        "worker come from different builds; restart them from one build",
                        h->version, RING_VERSION);
        goto out;
    }
    int width = h->width, height = h->height, slots = h->slots;
    long n_frames = (long)h->n_frames;
    if ((rc = check_geometry(width, height, slots, err)) != KN_OK) goto out;
    if (n_frames < 1 || n_frames > KN_RING_MAX_FRAMES) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "frame ring header is corrupt: frame count %ld", n_frames);
        goto out;
    }
    if (compute_layout(width, height, slots, &L) != 0 || L.total != size || h->total_bytes != size) {
        rc = kn_err_set(err, KN_EINVAL, NULL,
                        "frame ring size %zu bytes does not match its geometry (%d slots of %dx%d need %zu): "
                        "the ring is corrupt or was resized", size, slots, width, height, L.total);
        goto out;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory attaching the frame ring");
        goto out;
    }
    r->h = map;
    r->base = map;
    r->bytes = size;
    r->width = width;
    r->height = height;
    r->slots = slots;
    r->n_frames = n_frames;
    r->L = L;
    *out = r;
    map = MAP_FAILED;
    rc = KN_OK;
out:
    if (map != MAP_FAILED) munmap(map, size);
    return rc;
}

void kn_ring_destroy(kn_ring *r)
{
    if (!r) return;
    /* The mutex is not destroyed: other processes may still use it; the
     * memory goes away with the last mapping. */
    munmap(r->base, r->bytes);
    free(r);
}

/* ---- producer ----------------------------------------------------------- */

int kn_ring_claim(kn_ring *r, int worker, long *frame)
{
    int res = KN_RING_STOPPED;
    KN_REQUIRE(r && frame && valid_worker(worker));
    *frame = -1;
    if (ring_lock(r) != 0) return KN_RING_STOPPED;
    struct ring_shm *h = r->h;
    uint32_t head, len;
    if (stopped(r) || rq_get(r, &head, &len) != 0) goto out;
    if (h->held[worker] >= 0) {
        fail_locked(r, KN_EINTERNAL, "frame ring: worker %d claimed a frame while still holding frame %lld",
                    worker, (long long)h->held[worker]);
        goto out;
    }
    /* held[] first: a worker killed before the second store holds a frame
     * that is still queued or >= next, which repair_locked undoes. */
    long f;
    if (len > 0) {
        f = (long)h->rq_frames[head];
        h->held[worker] = f;
        ORDER();
        h->rq = rq_pack((head + 1) % KN_RING_MAX_WORKERS, len - 1);
    } else if (h->next < r->n_frames) {
        f = (long)h->next;
        h->held[worker] = f;
        ORDER();
        h->next = f + 1;
    } else {
        res = KN_RING_DONE;
        goto out;
    }
    *frame = f;
    res = KN_RING_FRAME;
out:
    ring_unlock(r);
    return res;
}

int kn_ring_acquire(kn_ring *r, int worker, long frame, kn_ring_planes *p)
{
    KN_REQUIRE(r && p && valid_worker(worker) && valid_frame(r, frame));
    if (ring_lock(r) != 0) return KN_RING_STOPPED;
    struct ring_shm *h = r->h;
    int res = KN_RING_STOPPED;
    if (h->held[worker] != frame) {
        fail_locked(r, KN_EINTERNAL, "frame ring: worker %d acquired frame %ld without holding it", worker, frame);
        goto out;
    }
    int s = (int)(frame % r->slots);
    for (;;) {
        if (stopped(r)) goto out;
        uint64_t w = h->slot[s];
        if (w == slot_word(SLOT_FREE, 0, frame)) {
            h->slot[s] = slot_word(SLOT_WRITING, worker, frame);   /* one store */
            fill_planes(r, frame, p);
            res = KN_RING_FRAME;
            goto out;
        }
        if (slot_frame(w) >= frame) {
            fail_locked(r, KN_EINTERNAL, "frame ring: slot %d is already past frame %ld", s, frame);
            goto out;
        }
        if (ev_wait(r, &h->ev_prod, NULL) < 0) return KN_RING_STOPPED;
    }
out:
    ring_unlock(r);
    return res;
}

void kn_ring_publish(kn_ring *r, int worker, long frame)
{
    KN_REQUIRE(r && valid_worker(worker) && valid_frame(r, frame));
    if (ring_lock(r) != 0) return;
    struct ring_shm *h = r->h;
    int s = (int)(frame % r->slots);
    if (h->slot[s] != slot_word(SLOT_WRITING, worker, frame) || h->held[worker] != frame) {
        fail_locked(r, KN_EINTERNAL, "frame ring: worker %d published frame %ld it was not writing", worker, frame);
        goto out;
    }
    /* Slot first: a worker killed after it published (slot READY) but while
     * it still holds the frame is finished by repair_locked. */
    h->slot[s] = slot_word(SLOT_READY, 0, frame);
    ORDER();
    h->held[worker] = -1;
    ev_wake(&h->ev_cons);
out:
    ring_unlock(r);
}

/* ---- consumer ----------------------------------------------------------- */

/* timeout_ms < 0 waits without a limit; 0 only looks. */
int kn_ring_wait(kn_ring *r, long frame, kn_ring_planes *p, int timeout_ms)
{
    KN_REQUIRE(r && p && valid_frame(r, frame));
    if (ring_lock(r) != 0) return KN_RING_STOPPED;
    struct ring_shm *h = r->h;
    int res = KN_RING_STOPPED;
    struct timespec deadline, *dl = NULL;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        dl = &deadline;
    }
    int s = (int)(frame % r->slots);
    for (int timed_out = 0;; ) {
        if (stopped(r)) goto out;
        if (h->slot[s] == slot_word(SLOT_READY, 0, frame)) {
            fill_planes(r, frame, p);
            res = KN_RING_FRAME;
            goto out;
        }
        if (timed_out || timeout_ms == 0) {
            res = -1;
            goto out;
        }
        int e = ev_wait(r, &h->ev_cons, dl);
        if (e < 0) return KN_RING_STOPPED;
        timed_out = e == ETIMEDOUT;   /* look once more, then give up */
    }
out:
    ring_unlock(r);
    return res;
}

void kn_ring_release(kn_ring *r, long frame)
{
    KN_REQUIRE(r && valid_frame(r, frame));
    if (ring_lock(r) != 0) return;
    struct ring_shm *h = r->h;
    int s = (int)(frame % r->slots);
    if (h->slot[s] != slot_word(SLOT_READY, 0, frame)) {
        /* A release after a stop may come from an encoder tearing down;
         * otherwise a double release is a bug worth failing the job for. */
        if (!stopped(r))
            fail_locked(r, KN_EINTERNAL, "frame ring: frame %ld released but it was not ready", frame);
        goto out;
    }
    h->slot[s] = slot_word(SLOT_FREE, 0, frame + r->slots);
    h->released++;
    ev_wake(&h->ev_prod);
out:
    ring_unlock(r);
}

/* ---- stop, failure, supervision ----------------------------------------- */

void kn_ring_cancel(kn_ring *r)
{
    KN_REQUIRE(r);
    if (ring_lock(r) != 0) return;
    r->h->canceled = 1;
    wake_all(r);
    ring_unlock(r);
}

void kn_ring_fail(kn_ring *r, int code, const char *msg)
{
    KN_REQUIRE(r);
    if (ring_lock(r) != 0) return;
    /* The copy happens under the lock, before the code is set (see the file
     * comment); tests/test_ring.c dies inside it to exercise the robust
     * mutex. */
    fail_locked(r, code, "%s", msg && *msg ? msg : "the frame ring failed (no reason given)");
    ring_unlock(r);
}

int kn_ring_error(kn_ring *r, kn_err *err)
{
    KN_REQUIRE(r);
    if (ring_lock(r) != 0) return kn_err_set(err, KN_EINTERNAL, NULL, "the frame ring lock is unusable");
    int code = r->h->fail_code;
    char msg[RING_MSG_CAP];
    memcpy(msg, r->h->fail_msg, sizeof msg);
    ring_unlock(r);
    if (code == KN_OK) return KN_OK;
    msg[sizeof msg - 1] = '\0';
    return kn_err_set(err, code, NULL, "%s", msg);
}

int kn_ring_canceled(kn_ring *r)
{
    KN_REQUIRE(r);
    if (ring_lock(r) != 0) return 0;
    int c = r->h->canceled != 0;
    ring_unlock(r);
    return c;
}

/* With the mutex held: 1 if frame is waiting in the requeue. */
static int in_requeue(kn_ring *r, uint32_t head, uint32_t len, long frame)
{
    for (uint32_t i = 0; i < len; i++)
        if (r->h->rq_frames[(head + i) % KN_RING_MAX_WORKERS] == frame) return 1;
    return 0;
}

/* With the mutex held: frame's crash count after counting one more crash,
 * or -1 when the table is full. */
static long count_crash(kn_ring *r, long frame)
{
    struct ring_shm *h = r->h;
    int n = h->n_crash;
    if (n < 0 || n > RING_CRASH_CAP) n = RING_CRASH_CAP;   /* corrupt: treat as full */
    for (int i = 0; i < n; i++)
        if (h->crash_frame[i] == frame) return (long)++h->crash_count[i];
    if (n == RING_CRASH_CAP) return -1;
    h->crash_frame[n] = frame;
    h->crash_count[n] = 1;
    ORDER();
    h->n_crash = n + 1;   /* last: the entry is complete */
    return 1;
}

/* With the mutex held: 1 if held frame f is not really held - a claim that
 * never completed (f still queued or >= next) or a publish that did (its
 * slot is READY(f) or has moved past f). Only a holder that died inside a
 * critical section leaves such a hold. */
static int stale_hold(kn_ring *r, uint32_t head, uint32_t len, long f)
{
    if (f >= r->h->next || in_requeue(r, head, len, f)) return 1;
    uint64_t w = r->h->slot[f % r->slots];
    return slot_frame(w) > f || (slot_frame(w) == f && slot_state(w) == SLOT_READY);
}

/* With the mutex held, after its owner died: undoes or finishes the
 * transition the owner was in (the file comment lists them). */
static void repair_locked(kn_ring *r)
{
    struct ring_shm *h = r->h;
    uint32_t head, len;
    if (rq_get(r, &head, &len) != 0) return;
    for (int w = 0; w < KN_RING_MAX_WORKERS; w++) {
        long f = (long)h->held[w];
        if (f < 0) continue;
        if (f >= r->n_frames || stale_hold(r, head, len, f)) h->held[w] = -1;
    }
}

long kn_ring_worker_lost(kn_ring *r, int worker)
{
    KN_REQUIRE(r && valid_worker(worker));
    if (ring_lock(r) != 0) return -1;
    struct ring_shm *h = r->h;
    long ret = -1;
    uint32_t head, len;
    long f = (long)h->held[worker];
    if (f < 0) goto out;
    if (f >= r->n_frames) {   /* corrupt */
        h->held[worker] = -1;
        goto out;
    }
    if (stopped(r)) {
        h->held[worker] = -1;
        ret = f;
        goto out;
    }
    if (rq_get(r, &head, &len) != 0) goto out;
    if (stale_hold(r, head, len, f)) {   /* repair_locked handles these; kept as a guard */
        h->held[worker] = -1;
        goto out;
    }
    int s = (int)(f % r->slots);
    uint64_t w = h->slot[s];
    ret = f;
    long crashes = count_crash(r, f);
    if (crashes < 0) {
        fail_locked(r, KN_ECRASH, "render workers crashed on %d different frames (last: frame %ld)",
                    RING_CRASH_CAP, f);
        h->held[worker] = -1;
        goto out;
    }
    if (crashes >= 2) {
        fail_locked(r, KN_ECRASH, "frame %ld crashed a render worker twice", f);
        h->held[worker] = -1;
        goto out;
    }
    if (len >= KN_RING_MAX_WORKERS) {   /* cannot happen: each queued frame came from a distinct holder */
        fail_locked(r, KN_EINTERNAL, "frame ring: requeue overflow while requeueing frame %ld", f);
        h->held[worker] = -1;
        goto out;
    }
    if (slot_state(w) == SLOT_WRITING && slot_frame(w) == f && slot_worker(w) == worker)
        h->slot[s] = slot_word(SLOT_FREE, 0, f);
    h->rq_frames[(head + len) % KN_RING_MAX_WORKERS] = f;
    ORDER();
    h->rq = rq_pack(head, len + 1);
    ORDER();
    h->held[worker] = -1;
    wake_all(r);
out:
    ring_unlock(r);
    return ret;
}

void kn_ring_progress(kn_ring *r, long *rendered, long *released)
{
    long a = 0, b = 0;
    KN_REQUIRE(r);
    if (ring_lock(r) == 0) {
        b = (long)r->h->released;
        a = b;
        for (int i = 0; i < r->slots; i++) a += slot_state(r->h->slot[i]) == SLOT_READY;
        ring_unlock(r);
    }
    if (rendered) *rendered = a;
    if (released) *released = b;
}
