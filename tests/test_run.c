/*
 * tests/test_run.c - pipeline/run between a render pool and a fake encoder
 * (kn_run_set_encoder_ops) that records what reaches it: every frame in
 * order with the pixels the workers drew (hashes, against the stub's
 * pattern and against the real renderer in this process), progress that
 * only grows and ends at the total, a GIF's two passes, cancel mid-run
 * (KN_ECANCELED, no file left), and encoder failures with their messages;
 * the pool's supervisor killed mid-run (pool_lost, then the healed pool
 * runs the next one); a full disk under the real encoder (storage_failed).
 *
 * The fake holds the last pushed frame until the next push, finish or
 * destroy, as libavcodec holds references, so slots are released late as
 * they are in production; it checks that every push is released exactly
 * once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "doc/doc.h"
#include "pipeline/pool.h"
#include "pipeline/run.h"
#include "render/render.h"
#include "tests/support/stubpool.h"
#include "tests/support/testutil.h"

/* ---- the fake encoder ------------------------------------------------ */

typedef struct fake_enc {
    /* set by the test */
    long fail_push;          /* this frame's push fails; -1 none */
    int fail_create;
    /* recorded */
    char path[4300];
    char format[16];
    int w, h, open;
    long pushed, out_of_order, released, palettes;
    long palette_before_push;   /* set_palette calls made before the first push */
    uint64_t hash[TU_STUB_FRAMES];
    int finished, destroyed;
    kn_encoder_release_fn held_fn;
    void *held_opaque;
} fake_enc;

static fake_enc g_enc;
/* Pushes run on the exec thread; a test may wait for them on another. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_pushed = PTHREAD_COND_INITIALIZER;

static void fake_reset(void)
{
    pthread_mutex_lock(&g_lock);
    memset(&g_enc, 0, sizeof g_enc);
    g_enc.fail_push = -1;
    pthread_mutex_unlock(&g_lock);
}

static void release_held(void)
{
    if (g_enc.held_fn) {
        g_enc.held_fn(g_enc.held_opaque);
        g_enc.released++;
    }
    g_enc.held_fn = NULL;
}

static int fake_create(const char *path, const kn_encoder_opts *o, kn_encoder **out, kn_err *err)
{
    if (g_enc.fail_create) return kn_err_set(err, KN_EENCODER, NULL, "fake: no encoder for you");
    snprintf(g_enc.path, sizeof g_enc.path, "%s", path);
    snprintf(g_enc.format, sizeof g_enc.format, "%s", kn_format_name(o->format));
    g_enc.w = o->width;
    g_enc.h = o->height;
    /* The file the run must rename on success and remove otherwise. */
    if (tu_write_file(path, "fake", 4) != 0) return kn_err_set(err, KN_EIO, NULL, "fake: cannot write %s", path);
    g_enc.open = 1;
    *out = (kn_encoder *)&g_enc;
    return KN_OK;
}

static const char *fake_name(const kn_encoder *e)
{
    (void)e;
    return "fake";
}

static int fake_set_palette(kn_encoder *e, const kn_palette *pal, kn_err *err)
{
    (void)e;
    if (pal->n < 1 || pal->n > 256) return kn_err_set(err, KN_EINVAL, NULL, "fake: palette of %d", pal->n);
    g_enc.palettes++;
    if (g_enc.pushed == 0) g_enc.palette_before_push++;
    return KN_OK;
}

static int fake_push(kn_encoder *e, long index, uint8_t *const data[3], const int stride[3],
                     kn_encoder_release_fn release, void *opaque, kn_err *err)
{
    (void)e;
    pthread_mutex_lock(&g_lock);
    int rc = KN_OK;
    release_held();
    if (index == g_enc.fail_push) {
        release(opaque);   /* the encoder contract: released before a failed push returns */
        g_enc.released++;
        rc = kn_err_set(err, KN_EENCODE, NULL, "fake: disk full at frame %ld", index);
        goto out;
    }
    if (index != g_enc.pushed) g_enc.out_of_order++;
    if (index >= 0 && index < TU_STUB_FRAMES) g_enc.hash[index] = tu_i420_hash(data, stride, g_enc.w, g_enc.h);
    g_enc.pushed++;
    g_enc.held_fn = release;
    g_enc.held_opaque = opaque;
out:
    pthread_cond_broadcast(&g_pushed);
    pthread_mutex_unlock(&g_lock);
    return rc;
}

static int fake_finish(kn_encoder *e, kn_err *err)
{
    (void)e;
    (void)err;
    pthread_mutex_lock(&g_lock);
    release_held();
    g_enc.finished = 1;
    pthread_mutex_unlock(&g_lock);
    return KN_OK;
}

static void fake_destroy(kn_encoder *e)
{
    if (!e) return;
    pthread_mutex_lock(&g_lock);
    release_held();
    g_enc.destroyed++;
    g_enc.open = 0;
    pthread_mutex_unlock(&g_lock);
}

static const kn_run_encoder_ops encoder_ops_real = {
    .create = kn_encoder_create, .name = kn_encoder_name, .set_palette = kn_encoder_set_palette,
    .push = kn_encoder_push, .finish = kn_encoder_finish, .destroy = kn_encoder_destroy,
};

static const kn_run_encoder_ops fake_ops = {
    .create = fake_create, .name = fake_name, .set_palette = fake_set_palette,
    .push = fake_push, .finish = fake_finish, .destroy = fake_destroy,
};

/* Blocks until n frames were pushed (30 s guard). */
static void fake_wait_pushed(long n)
{
    struct timespec until = tu_deadline(30000);
    pthread_mutex_lock(&g_lock);
    int rc = 0;
    while (g_enc.pushed < n && rc == 0) rc = pthread_cond_timedwait(&g_pushed, &g_lock, &until);
    long got = g_enc.pushed;
    pthread_mutex_unlock(&g_lock);
    if (got < n) fail_msg("only %ld of %ld frames reached the encoder", got, n);
}

/* ---- progress -------------------------------------------------------- */

typedef struct prog {
    long calls, total, rendered, encoded;
    int shrank, over;        /* a counter went down / past total */
    double fraction;
} prog;

static void on_progress(void *ctx, const kn_run_progress *p)
{
    prog *g = ctx;
    double fraction = p->total > 0 ? (double)p->encoded / (double)p->total : 0;
    if (g->calls && (p->rendered < g->rendered || p->encoded < g->encoded || fraction < g->fraction))
        g->shrank = 1;
    if (p->rendered > p->total || p->encoded > p->total || p->encoded > p->rendered) g->over = 1;
    g->calls++;
    g->total = p->total;
    g->rendered = p->rendered;
    g->encoded = p->encoded;
    g->fraction = fraction;
}

/* ---- fixture --------------------------------------------------------- */

static tu_stub *g_stub;
static kn_pool *g_pool;
static char g_dir[512];

typedef struct run_case {
    kn_doc *doc;
    char *text;
    char out[700];
    kn_run *run;
    prog pr;
    kn_run_result res;
    kn_err err;
    int rc;
} run_case;

static int setup(void **state)
{
    (void)state;
    kn_log_set_level(KN_LOG_ERROR);
    g_stub = tu_stub_setup();
    tu_tmpdir(g_dir, sizeof g_dir);
    return g_stub && g_dir[0] ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(g_dir);
    return 0;
}

static int after_each(void **state)
{
    (void)state;
    kn_pool_stop(g_pool);
    g_pool = NULL;
    return 0;
}

static void stub_pool(int workers)
{
    kn_err err;
    tu_stub_reset(g_stub);
    fake_reset();
    assert_int_equal(kn_pool_start_with(workers, &tu_stub_ops, &g_pool, &err), KN_OK);
}

static char *stub_doc(int w, int h, long frames, const char *format)
{
    char *t = malloc(256);
    assert_non_null(t);
    snprintf(t, 256, "{\"width\":%d,\"height\":%d,\"fps\":10,\"duration\":%g,\"output\":{\"format\":\"%s\"}}",
             w, h, frames / 10.0, format);
    return t;
}

/* Parses text (taking it) and creates a run writing name in g_dir. */
static void case_make(run_case *c, char *text, const char *name, int slots)
{
    memset(c, 0, sizeof *c);
    c->text = text;
    kn_err err;
    if (kn_doc_parse(text, strlen(text), NULL, &c->doc, &err) != KN_OK) fail_msg("%s: %s", err.path, err.msg);
    snprintf(c->out, sizeof c->out, "%s/%s", g_dir, name);
    assert_int_equal(kn_run_create(g_pool, c->doc, text, strlen(text), c->out, slots, &c->run, &err), KN_OK);
    kn_run_set_encoder_ops(c->run, &fake_ops);
    kn_run_set_progress(c->run, on_progress, &c->pr);
}

static void case_exec(run_case *c)
{
    kn_err_clear(&c->err);
    c->rc = kn_run_exec(c->run, &c->res, &c->err);
}

static void case_free(run_case *c)
{
    kn_run_destroy(c->run);
    kn_doc_destroy(c->doc);
    free(c->text);
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void assert_no_output(const run_case *c)
{
    char part[800];
    snprintf(part, sizeof part, "%s.part", c->out);
    assert_string_equal(g_enc.path, part);   /* the encoder did write there */
    assert_false(exists(part));
    assert_false(exists(c->out));
}

static uint64_t pattern_hash(int w, int h, long f)
{
    int cw = (w + 1) / 2, ch = (h + 1) / 2;
    uint8_t *y = malloc((size_t)w * h), *u = malloc((size_t)cw * ch), *v = malloc((size_t)cw * ch);
    assert_true(y && u && v);
    uint8_t *const planes[3] = {y, u, v};
    const int stride[3] = {w, cw, cw};
    tu_stub_pattern(planes, stride, w, h, f);
    uint64_t hsh = tu_i420_hash(planes, stride, w, h);
    free(y);
    free(u);
    free(v);
    return hsh;
}

/* ---- tests ----------------------------------------------------------- */

/* Every frame reaches the encoder once, in order, with the pixels its
 * worker drew; the .part file becomes the output; progress grows and ends
 * at the total. */
static void test_frames_reach_the_encoder_in_order(void **state)
{
    (void)state;
    stub_pool(3);
    run_case c;
    case_make(&c, stub_doc(34, 18, 30, "mp4"), "a.mp4", 4);
    case_exec(&c);
    assert_int_equal(c.rc, KN_OK);
    assert_int_equal(g_enc.pushed, 30);
    assert_int_equal(g_enc.out_of_order, 0);
    for (long f = 0; f < 30; f++)
        if (g_enc.hash[f] != pattern_hash(34, 18, f)) fail_msg("frame %ld: not the pixels drawn for it", f);
    assert_int_equal(g_enc.released, 30);
    assert_true(g_enc.finished);
    assert_int_equal(g_enc.destroyed, 1);
    assert_int_equal(g_enc.palettes, 0);
    assert_true(exists(c.out));
    assert_false(exists(g_enc.path));   /* the .part, renamed */
    assert_int_equal(c.res.frames, 30);
    assert_int_equal(c.res.bytes, 4);
    assert_string_equal(c.res.encoder, "fake");
    assert_true(c.pr.calls >= 1);
    assert_false(c.pr.shrank);
    assert_false(c.pr.over);
    assert_int_equal(c.pr.total, 30);
    assert_int_equal(c.pr.rendered, 30);
    assert_int_equal(c.pr.encoded, 30);
    case_free(&c);
}

/* The production pool and renderer: what reaches the encoder is what
 * kn_renderer draws for the same document in this process. */
static void test_real_renderer_pixels(void **state)
{
    (void)state;
    fake_reset();
    kn_err err;
    assert_int_equal(kn_pool_start(2, &g_pool, &err), KN_OK);
    static const char doc[] =
        "{\"width\":40,\"height\":30,\"fps\":10,\"duration\":0.8,\"background\":\"#203040\","
        "\"elements\":[{\"id\":\"r\",\"type\":\"rect\",\"x\":0,\"y\":5,\"width\":12,\"height\":12,"
        "\"fill\":\"#ff8000\"},{\"type\":\"circle\",\"cx\":30,\"cy\":20,\"r\":\"=2+frame\",\"fill\":\"#0c0\"}],"
        "\"timeline\":{\"tween\":{\"r.x\":[0,28]},\"duration\":0.8}}";
    run_case c;
    case_make(&c, strdup(doc), "real.mp4", 3);
    case_exec(&c);
    assert_int_equal(c.rc, KN_OK);
    assert_int_equal(g_enc.pushed, 8);
    assert_int_equal(g_enc.out_of_order, 0);

    kn_renderer *r = NULL;
    assert_int_equal(kn_renderer_create(doc, strlen(doc), &r, &err), KN_OK);
    uint8_t y[40 * 30], u[20 * 15], v[20 * 15];
    uint8_t *const planes[3] = {y, u, v};
    const int stride[3] = {40, 20, 20};
    uint64_t first = 0;
    for (long f = 0; f < 8; f++) {
        assert_int_equal(kn_renderer_draw(r, f, &err), KN_OK);
        assert_int_equal(kn_renderer_to_i420(r, planes, stride, &err), KN_OK);
        uint64_t want = tu_i420_hash(planes, stride, 40, 30);
        if (g_enc.hash[f] != want) fail_msg("frame %ld differs from the renderer's", f);
        if (f == 0) first = want;
        else assert_true(want != first);   /* the frames do move */
    }
    kn_renderer_destroy(r);
    case_free(&c);
}

/* GIF: pass 1 draws every frame for the palette (nothing is pushed), the
 * palette is set once before the first push, pass 2 draws and pushes every
 * frame again; progress still only grows. */
static void test_gif_two_passes(void **state)
{
    (void)state;
    stub_pool(2);
    run_case c;
    case_make(&c, stub_doc(21, 17, 12, "gif"), "a.gif", 3);
    case_exec(&c);
    assert_int_equal(c.rc, KN_OK);
    assert_string_equal(g_enc.format, "gif");
    assert_int_equal(g_enc.palettes, 1);
    assert_int_equal(g_enc.palette_before_push, 1);
    assert_int_equal(g_enc.pushed, 12);
    assert_int_equal(g_enc.out_of_order, 0);
    for (long f = 0; f < 12; f++) {
        assert_int_equal(g_stub->attempts[f], 2);
        assert_true(g_enc.hash[f] == pattern_hash(21, 17, f));
    }
    assert_int_equal(g_enc.released, 12);
    assert_false(c.pr.shrank);
    assert_false(c.pr.over);
    assert_int_equal(c.pr.encoded, 12);
    assert_int_equal(c.pr.rendered, 12);
    assert_true(exists(c.out));
    case_free(&c);
}

static void *exec_thread(void *arg)
{
    case_exec(arg);
    return NULL;
}

/* Cancel from another thread while the run waits for a frame a worker is
 * stuck on: KN_ECANCELED, every pushed frame released, no file left, and
 * the pool serves the next run. */
static void test_cancel_mid_run(void **state)
{
    (void)state;
    stub_pool(2);
    g_stub->block_frame = 6;
    run_case c;
    case_make(&c, stub_doc(32, 16, 16, "mp4"), "c.mp4", 4);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, exec_thread, &c), 0);
    assert_true(tu_stub_wait_blocked(g_stub, 30000) > 0);
    fake_wait_pushed(6);   /* frames 0..5 are through; frame 6 cannot come */
    kn_run_cancel(c.run);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(c.rc, KN_ECANCELED);
    assert_int_equal(c.err.code, KN_ECANCELED);
    assert_int_equal(g_enc.pushed, 6);
    assert_int_equal(g_enc.released, 6);
    assert_false(g_enc.finished);
    assert_int_equal(g_enc.destroyed, 1);
    assert_no_output(&c);
    assert_false(c.pr.shrank);
    assert_true(c.pr.encoded < 16);
    case_free(&c);

    fake_reset();
    g_stub->block_frame = -1;
    case_make(&c, stub_doc(32, 16, 5, "mp4"), "c2.mp4", 4);
    case_exec(&c);
    assert_int_equal(c.rc, KN_OK);
    assert_int_equal(g_enc.pushed, 5);
    case_free(&c);
}

/* Canceled before it starts: nothing is pushed and nothing is left. */
static void test_cancel_before_exec(void **state)
{
    (void)state;
    stub_pool(1);
    run_case c;
    case_make(&c, stub_doc(16, 16, 8, "mp4"), "b.mp4", 2);
    kn_run_cancel(c.run);
    case_exec(&c);
    assert_int_equal(c.rc, KN_ECANCELED);
    assert_int_equal(g_enc.pushed, 0);
    assert_no_output(&c);
    case_free(&c);
}

/* A push that fails fails the run with the encoder's code and message; the
 * partial file goes. */
static void test_encoder_push_failure(void **state)
{
    (void)state;
    stub_pool(2);
    g_enc.fail_push = 3;
    run_case c;
    case_make(&c, stub_doc(16, 16, 10, "mp4"), "f.mp4", 4);
    case_exec(&c);
    assert_int_equal(c.rc, KN_EENCODE);
    assert_int_equal(c.err.code, KN_EENCODE);
    assert_string_equal(c.err.msg, "fake: disk full at frame 3");
    assert_int_equal(g_enc.pushed, 3);
    assert_int_equal(g_enc.released, 4);   /* the failed push's frame too */
    assert_int_equal(g_enc.destroyed, 1);
    assert_no_output(&c);
    case_free(&c);
}

/* An encoder that does not open fails the run before any frame, with its
 * message, and the workers are stopped (the pool serves the next run). */
static void test_encoder_open_failure(void **state)
{
    (void)state;
    stub_pool(1);
    g_enc.fail_create = 1;
    run_case c;
    case_make(&c, stub_doc(16, 16, 10, "mp4"), "o.mp4", 2);
    case_exec(&c);
    assert_int_equal(c.rc, KN_EENCODER);
    assert_string_equal(c.err.msg, "fake: no encoder for you");
    assert_int_equal(g_enc.pushed, 0);
    assert_false(exists(c.out));
    case_free(&c);

    fake_reset();
    case_make(&c, stub_doc(16, 16, 3, "mp4"), "o2.mp4", 2);
    case_exec(&c);
    assert_int_equal(c.rc, KN_OK);
    case_free(&c);
}

/* A frame the workers cannot draw fails the run with the render error. */
static void test_render_failure(void **state)
{
    (void)state;
    stub_pool(2);
    g_stub->fail_frame = 5;
    run_case c;
    case_make(&c, stub_doc(16, 16, 10, "mp4"), "r.mp4", 3);
    case_exec(&c);
    assert_int_equal(c.rc, KN_ERENDER);
    assert_string_equal(c.err.msg, "frame 5: stub: frame 5 refused");
    assert_true(g_enc.pushed <= 5);
    assert_int_equal(g_enc.released, g_enc.pushed);
    assert_no_output(&c);
    case_free(&c);
}

/* ---- the pool dies under a run ------------------------------------------- */

static sem_t g_healed;

static void on_heal(void *ctx)
{
    (void)ctx;
    sem_post(&g_healed);
}

/* The supervisor is SIGKILLed while the run waits for a frame: the run
 * fails with worker_crashed and pool_lost set (the scheduler's cue to queue
 * the job again), leaves no file, and once the pool has healed by itself
 * the next run succeeds. */
static void test_pool_dies_mid_run(void **state)
{
    (void)state;
    stub_pool(2);
    kn_pool_set_listener(g_pool, on_heal, NULL);
    g_stub->block_frame = 6;
    run_case c;
    case_make(&c, stub_doc(32, 16, 16, "mp4"), "p.mp4", 4);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, exec_thread, &c), 0);
    assert_true(tu_stub_wait_blocked(g_stub, 30000) > 0);
    fake_wait_pushed(6);
    int sup = kn_pool_supervisor_pid(g_pool);
    int pfd = (int)syscall(SYS_pidfd_open, sup, 0);
    assert_true(pfd >= 0);
    assert_int_equal(kill(sup, SIGKILL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    close(pfd);
    assert_int_equal(c.rc, KN_ECRASH);
    assert_string_equal(kn_err_job_code(c.rc), "worker_crashed");
    assert_true(c.res.pool_lost);
    assert_non_null(strstr(c.err.msg, "render pool died"));
    assert_int_equal(g_enc.released, g_enc.pushed);
    assert_no_output(&c);
    case_free(&c);

    struct timespec until = tu_deadline(30000);   /* a hang guard */
    int w;
    while ((w = sem_timedwait(&g_healed, &until)) != 0 && errno == EINTR) {}
    assert_int_equal(w, 0);
    fake_reset();
    g_stub->block_frame = -1;
    case_make(&c, stub_doc(32, 16, 5, "mp4"), "p2.mp4", 4);
    case_exec(&c);
    assert_int_equal(c.rc, KN_OK);
    assert_false(c.res.pool_lost);
    assert_int_equal(g_enc.pushed, 5);
    case_free(&c);
    assert_int_equal(kn_pool_heals(g_pool), 1);
}

/* ---- a full disk ------------------------------------------------------------ */

/* The real encoder, opened under a small file size limit (RLIMIT_FSIZE,
 * with SIGXFSZ ignored as the server does, writes past it fail with EFBIG):
 * a disk that fills while the video is written. Set in create, after the
 * run made its ring (a memfd the limit would refuse too). */
static int small_disk_create(const char *path, const kn_encoder_opts *opts, kn_encoder **out, kn_err *err)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
    return kn_encoder_create(path, opts, out, err);
}

/* A full disk while writing the video is storage_failed, not
 * encode_failed; the partial file goes, and the next run (room again)
 * succeeds. */
static void test_disk_full_is_storage_failed(void **state)
{
    (void)state;
    struct rlimit saved;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
    kn_encoder_init_logging();   /* libav's lines into the log, at its level */
    static const kn_run_encoder_ops small_disk = {
        .create = small_disk_create, .name = kn_encoder_name, .set_palette = kn_encoder_set_palette,
        .push = kn_encoder_push, .finish = kn_encoder_finish, .destroy = kn_encoder_destroy,
    };
    static const char *const formats[] = {"mp4", "webm", "gif"};
    for (int k = 0; k < 3; k++) {
        stub_pool(2);
        run_case c;
        char name[32];
        snprintf(name, sizeof name, "full.%s", formats[k]);
        case_make(&c, stub_doc(320, 240, 40, formats[k]), name, 4);
        kn_run_set_encoder_ops(c.run, &small_disk);
        case_exec(&c);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        if (c.rc != KN_EIO) fail_msg("%s: %s (%s), not storage_failed", formats[k], kn_err_name(c.rc), c.err.msg);
        assert_string_equal(kn_err_job_code(c.rc), "storage_failed");
        assert_false(c.res.pool_lost);
        char part[800];
        snprintf(part, sizeof part, "%s.part", c.out);
        assert_false(exists(part));
        assert_false(exists(c.out));
        case_free(&c);

        /* Room again: the same job writes its video. */
        case_make(&c, stub_doc(320, 240, 40, formats[k]), name, 4);
        kn_run_set_encoder_ops(c.run, &encoder_ops_real);
        case_exec(&c);
        if (c.rc != KN_OK) fail_msg("%s: %s", formats[k], c.err.msg);
        assert_true(exists(c.out));
        case_free(&c);
        kn_pool_stop(g_pool);
        g_pool = NULL;
    }
    signal(SIGXFSZ, old);
}

int main(void)
{
    sem_init(&g_healed, 0, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_frames_reach_the_encoder_in_order, after_each),
        cmocka_unit_test_teardown(test_real_renderer_pixels, after_each),
        cmocka_unit_test_teardown(test_gif_two_passes, after_each),
        cmocka_unit_test_teardown(test_cancel_mid_run, after_each),
        cmocka_unit_test_teardown(test_cancel_before_exec, after_each),
        cmocka_unit_test_teardown(test_encoder_push_failure, after_each),
        cmocka_unit_test_teardown(test_pool_dies_mid_run, after_each),
        cmocka_unit_test_teardown(test_disk_full_is_storage_failed, after_each),
        cmocka_unit_test_teardown(test_encoder_open_failure, after_each),
        cmocka_unit_test_teardown(test_render_failure, after_each),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
