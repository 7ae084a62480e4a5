/*
 * tests/support/stubpool.c - see stubpool.h. Everything here but
 * tu_stub_setup, tu_stub_reset and tu_stub_wait_blocked runs in the render
 * workers.
 */
#include "tests/support/stubpool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "doc/doc.h"
#include "pipeline/ring.h"
#include "tests/support/testutil.h"

typedef struct stub_renderer {
    int w, h;
    long frame;
} stub_renderer;

static tu_stub *g_stub;   /* copied into every worker by fork */

tu_stub *tu_stub_setup(void)
{
    if (!g_stub) {
        void *m = mmap(NULL, sizeof *g_stub, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        g_stub = m;
        sem_init(&g_stub->blocked, 1, 0);
    }
    tu_stub_reset(g_stub);
    return g_stub;
}

void tu_stub_reset(tu_stub *s)
{
    s->block_frame = s->kill_frame = s->fail_frame = -1;
    s->fail_create = 0;
    memset(s->attempts, 0, sizeof s->attempts);
    memset(s->drawn_by, 0, sizeof s->drawn_by);
    s->blocked_pid = 0;
    while (sem_trywait(&s->blocked) == 0) {}
}

int tu_stub_wait_blocked(tu_stub *s, int timeout_ms)
{
    struct timespec until = tu_deadline(timeout_ms);
    int rc;
    while ((rc = sem_timedwait(&s->blocked, &until)) != 0 && errno == EINTR) {}
    return rc == 0 ? __atomic_load_n(&s->blocked_pid, __ATOMIC_ACQUIRE) : -1;
}

int tu_stub_round_trip(kn_pool *p, int w, int h, long frames, kn_err *err)
{
    char doc[160];
    snprintf(doc, sizeof doc, "{\"width\":%d,\"height\":%d,\"fps\":10,\"duration\":%g}", w, h, frames / 10.0);
    kn_ring *ring = NULL;
    int fd = -1, submitted = 0, rc = kn_ring_create(w, h, 2, frames, &ring, &fd, err);
    if (rc != KN_OK) goto out;
    if ((rc = kn_pool_submit(p, doc, strlen(doc), fd, err)) != KN_OK) goto out;
    submitted = 1;
    for (long f = 0; f < frames; f++) {
        kn_ring_planes pl;
        int got = -1;
        /* 500 ms at a time, 60 times: a hang guard, not a speed limit. */
        for (int i = 0; i < 60 && got == -1; i++) got = kn_ring_wait(ring, f, &pl, 500);
        if (got != KN_RING_FRAME) {
            rc = got == -1 ? kn_err_set(err, KN_EINTERNAL, NULL, "frame %ld never came", f) : kn_ring_error(ring, err);
            if (rc == KN_OK) rc = kn_err_set(err, KN_EINTERNAL, NULL, "the ring stopped at frame %ld", f);
            goto out;
        }
        long bad = tu_stub_check(pl.data, pl.stride, w, h, f);
        kn_ring_release(ring, f);
        if (bad) {
            rc = kn_err_set(err, KN_EINTERNAL, NULL, "frame %ld: %ld bytes are not its pattern", f, bad);
            goto out;
        }
    }
out:
    if (submitted) kn_pool_end(p, NULL);
    kn_ring_destroy(ring);
    if (fd >= 0) close(fd);
    return rc;
}

static int stub_create(const char *json, size_t len, kn_renderer **out, kn_err *err)
{
    if (g_stub->fail_create) return kn_err_set(err, KN_EINVAL, NULL, "stub: told not to compile");
    kn_doc *d = NULL;
    int rc = kn_doc_parse(json, len, NULL, &d, err);
    if (rc != KN_OK) return rc;
    stub_renderer *r = calloc(1, sizeof *r);
    if (!r) {
        kn_doc_destroy(d);
        return kn_err_set(err, KN_ENOMEM, NULL, "stub: out of memory");
    }
    r->w = d->width;
    r->h = d->height;
    r->frame = -1;
    kn_doc_destroy(d);
    *out = (kn_renderer *)r;
    return KN_OK;
}

static int stub_draw(kn_renderer *kr, long frame, kn_err *err)
{
    stub_renderer *r = (stub_renderer *)kr;
    long tries = frame < TU_STUB_FRAMES ? __atomic_add_fetch(&g_stub->attempts[frame], 1, __ATOMIC_SEQ_CST) : 1;
    if (frame == g_stub->kill_frame) raise(SIGKILL);
    if (frame == g_stub->fail_frame) return kn_err_set(err, KN_ERENDER, NULL, "stub: frame %ld refused", frame);
    if (frame == g_stub->block_frame && tries == 1) {
        __atomic_store_n(&g_stub->blocked_pid, (int)getpid(), __ATOMIC_RELEASE);
        sem_post(&g_stub->blocked);
        for (;;) pause();   /* until the test or the pool kills us */
    }
    r->frame = frame;
    return KN_OK;
}

static int stub_to_i420(kn_renderer *kr, uint8_t *const data[3], const int stride[3], kn_err *err)
{
    (void)err;
    stub_renderer *r = (stub_renderer *)kr;
    tu_stub_pattern(data, stride, r->w, r->h, r->frame);
    if (r->frame >= 0 && r->frame < TU_STUB_FRAMES)
        __atomic_store_n(&g_stub->drawn_by[r->frame], (int)getpid(), __ATOMIC_RELEASE);
    return KN_OK;
}

static void stub_destroy(kn_renderer *kr)
{
    free(kr);
}

const kn_pool_worker_ops tu_stub_ops = {
    .create = stub_create, .draw = stub_draw, .to_i420 = stub_to_i420, .destroy = stub_destroy,
};

/* Every byte depends on the frame, the plane and the position, so a frame
 * delivered twice, out of order, with a wrong stride or swapped planes
 * shows. */
static uint8_t pattern_byte(int plane, int x, int y, long f)
{
    return (uint8_t)(f * 29 + plane * 71 + x * 3 + y * 7 + (x * y >> 3));
}

void tu_stub_pattern(uint8_t *const data[3], const int stride[3], int w, int h, long f)
{
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) data[pl][(size_t)y * stride[pl] + x] = pattern_byte(pl, x, y, f);
    }
}

long tu_stub_check(uint8_t *const data[3], const int stride[3], int w, int h, long f)
{
    long bad = 0;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) bad += data[pl][(size_t)y * stride[pl] + x] != pattern_byte(pl, x, y, f);
    }
    return bad;
}

uint64_t tu_i420_hash(uint8_t *const data[3], const int stride[3], int w, int h)
{
    uint64_t hash = 14695981039346656037ULL;
    for (int pl = 0; pl < 3; pl++) {
        int pw = pl ? (w + 1) / 2 : w, ph = pl ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                hash ^= data[pl][(size_t)y * stride[pl] + x];
                hash *= 1099511628211ULL;
            }
    }
    return hash;
}
