/*
 * tests/test_preview.c - pipeline/preview: one frame to PNG in a child
 * process. The real renderer (KN_TEST_BIN) must give a whole PNG of the
 * document's size; stand-in children (shell scripts in the child's place)
 * that truncate, crash, fail, stall or flood must each give an error, never
 * a 200-worthy PNG, and never block the caller past the deadline. Over the
 * concurrency limit a render is refused at once (429); over its memory
 * limit the child fails cleanly (413).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "pipeline/preview.h"
#include "tests/support/testutil.h"

static const char DOC[] = "{\"width\":64,\"height\":48,\"fps\":10,\"duration\":1,\"background\":\"#102030\","
                          "\"elements\":[{\"type\":\"rect\",\"x\":8,\"y\":8,\"width\":16,\"height\":16,"
                          "\"fill\":\"red\"}]}";

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static cairo_status_t buf_write(void *ctx, const unsigned char *data, unsigned int len)
{
    buf *b = ctx;
    if (b->n + len > b->cap) {
        b->cap = (b->n + len) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return CAIRO_STATUS_SUCCESS;
}

static buf make_png(int w, int h)
{
    buf b = {0};
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 0.2, 0.4, 0.6);
    cairo_paint(cr);
    cairo_destroy(cr);
    assert_int_equal(cairo_surface_write_to_png_stream(s, buf_write, &b), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(s);
    return b;
}

static void test_png_complete(void **state)
{
    (void)state;
    buf b = make_png(40, 30);
    assert_true(kn_preview_png_complete(b.p, b.n));
    for (size_t cut = 1; cut < 40 && cut < b.n; cut++) assert_false(kn_preview_png_complete(b.p, b.n - cut));
    assert_false(kn_preview_png_complete(b.p, 8));
    assert_false(kn_preview_png_complete(NULL, 0));
    uint8_t *more = malloc(b.n + 4);
    memcpy(more, b.p, b.n);
    memset(more + b.n, 0, 4);
    assert_false(kn_preview_png_complete(more, b.n + 4));   /* bytes after IEND */
    more[1] = 'X';
    assert_false(kn_preview_png_complete(more, b.n));       /* not a PNG signature */
    free(more);
    free(b.p);
}

typedef struct png_reader {
    const uint8_t *p;
    size_t n, off;
} png_reader;

static cairo_status_t png_read(void *ctx, unsigned char *data, unsigned int len)
{
    png_reader *r = ctx;
    if (r->n - r->off < len) return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->p + r->off, len);
    r->off += len;
    return CAIRO_STATUS_SUCCESS;
}

/* The real renderer: a whole PNG with the document's size and pixels. */
static void test_real_renderer(void **state)
{
    (void)state;
    uint8_t *png = NULL;
    size_t n = 0;
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_preview_render(KN_TEST_BIN, DOC, strlen(DOC), 3, 60000, &png, &n, &err), KN_OK);
    assert_true(kn_preview_png_complete(png, n));
    png_reader r = {png, n, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(png_read, &r);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(s), 64);
    assert_int_equal(cairo_image_surface_get_height(s), 48);
    cairo_surface_flush(s);
    const uint32_t *px = (const uint32_t *)cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s) / 4;
    assert_int_equal(px[12 * stride + 12] & 0xffffff, 0xff0000);   /* inside the rect */
    assert_int_equal(px[40 * stride + 50] & 0xffffff, 0x102030);   /* background */
    cairo_surface_destroy(s);
    free(png);
    /* A frame the document does not have: the child says so and fails. */
    assert_int_equal(kn_preview_render(KN_TEST_BIN, DOC, strlen(DOC), 99999, 60000, &png, &n, &err),
                     KN_EINTERNAL);
    assert_null(png);
}

typedef struct fixture {
    char dir[512];
    char full[600];   /* a whole PNG the stand-ins can copy */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    tu_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->full, sizeof f->full, "%s/full.png", f->dir);
    buf b = make_png(64, 48);
    assert_int_equal(tu_write_file(f->full, b.p, b.n), 0);
    free(b.p);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* Writes a stand-in child: a shell script the preview runs in the
 * renderer's place (it gets the renderer's arguments, which it ignores). */
static const char *stand_in(fixture *f, const char *name, const char *body)
{
    static char path[700];
    char text[2048];
    snprintf(path, sizeof path, "%s/%s.sh", f->dir, name);
    int k = snprintf(text, sizeof text, "#!/bin/sh\nPNG='%s'\n%s\n", f->full, body);
    assert_int_equal(tu_write_file(path, text, (size_t)k), 0);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

static void expect_failure(const char *exe, const char *doc, size_t len, int timeout_ms, const char *msg)
{
    uint8_t *png = (uint8_t *)"x";
    size_t n = 1;
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_preview_render(exe, doc, len, 0, timeout_ms, &png, &n, &err), KN_EINTERNAL);
    assert_null(png);
    assert_int_equal(n, 0);
    if (!strstr(err.msg, msg)) fail_msg("error \"%s\" does not say \"%s\"", err.msg, msg);
}

static void test_stand_ins(void **state)
{
    fixture *f = *state;
    /* The stand-in that behaves: the whole PNG, exit 0. */
    uint8_t *png = NULL;
    size_t n = 0;
    kn_err err;
    kn_err_clear(&err);
    const char *good = stand_in(f, "good", "cat >/dev/null; cat \"$PNG\"");
    assert_int_equal(kn_preview_render(good, DOC, strlen(DOC), 0, 60000, &png, &n, &err), KN_OK);
    assert_true(kn_preview_png_complete(png, n));
    free(png);

    expect_failure(stand_in(f, "truncated", "cat >/dev/null; head -c 100 \"$PNG\""), DOC, strlen(DOC), 60000,
                   "incomplete PNG");
    expect_failure(stand_in(f, "crash", "cat >/dev/null; cat \"$PNG\"; kill -SEGV $$"), DOC, strlen(DOC), 60000,
                   "signal 11");
    expect_failure(stand_in(f, "fails", "cat >/dev/null; cat \"$PNG\"; exit 3"), DOC, strlen(DOC), 60000,
                   "exit status 3");
    /* Never reads its stdin, never exits: a 4 MB document would fill the
     * pipe and block a writer that waited; the deadline must hold. */
    size_t big = (size_t)4 << 20;
    char *doc = malloc(big);
    memset(doc, ' ', big);
    expect_failure(stand_in(f, "stall", "exec sleep 600"), doc, big, 300, "did not finish in time");
    /* Reads nothing and exits at once: the document write hits EPIPE. */
    expect_failure(stand_in(f, "gone", "exit 0"), doc, big, 60000, "incomplete PNG");
    free(doc);
}

/* ---- bounds ----------------------------------------------------------------- */

typedef struct render_call {
    const char *exe;
    int rc;
    uint8_t *png;
    size_t n;
    kn_err err;
} render_call;

static void *render_thread(void *arg)
{
    render_call *c = arg;
    c->rc = kn_preview_render(c->exe, DOC, strlen(DOC), 0, 60000, &c->png, &c->n, &c->err);
    return NULL;
}

/* With a limit of two, two previews whose renderers are held (each says it
 * started on one fifo, then waits on another) run while a third is refused
 * at once with KN_EFULL (a 429); once they are let go both give whole PNGs
 * and their places are free again. */
static void test_concurrency_limit(void **state)
{
    fixture *f = *state;
    char started[700], go[700], body[2048];
    snprintf(started, sizeof started, "%s/started", f->dir);
    snprintf(go, sizeof go, "%s/go", f->dir);
    assert_int_equal(mkfifo(started, 0600), 0);
    assert_int_equal(mkfifo(go, 0600), 0);
    /* O_RDWR: each fifo stays open, its data kept, whenever the stand-ins
     * open or close their ends, and their opens never block. */
    int sfd = open(started, O_RDWR | O_CLOEXEC), gfd = open(go, O_RDWR | O_CLOEXEC);
    assert_true(sfd >= 0 && gfd >= 0);
    snprintf(body, sizeof body, "cat >/dev/null; echo >'%s'; read x <'%s'; cat \"$PNG\"", started, go);
    const char *held = stand_in(f, "held", body);
    kn_preview_configure(2, KN_PREVIEW_MAX_MEMORY);
    assert_int_equal(kn_preview_limit(), 2);

    render_call c[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].exe = held;
        assert_int_equal(pthread_create(&t[i], NULL, render_thread, &c[i]), 0);
    }
    for (int got = 0; got < 2;) {   /* both renderers are running */
        struct pollfd pf = {.fd = sfd, .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 30000), 1);   /* a hang guard */
        char b[8];
        ssize_t r = read(sfd, b, sizeof b);
        assert_true(r > 0);
        got += (int)r;
    }
    const char *good = stand_in(f, "good", "cat >/dev/null; cat \"$PNG\"");
    uint8_t *png = (uint8_t *)"x";
    size_t n = 1;
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_preview_render(good, DOC, strlen(DOC), 0, 60000, &png, &n, &err), KN_EFULL);
    assert_null(png);
    assert_int_equal(kn_err_http_status(err.code), 429);
    assert_non_null(strstr(err.msg, "2 previews"));

    assert_int_equal(write(gfd, "1\n2\n", 4), 4);   /* one line each: sh's read takes one */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        if (c[i].rc != KN_OK) fail_msg("held render %d: %s", i, c[i].err.msg);
        assert_true(kn_preview_png_complete(c[i].png, c[i].n));
        free(c[i].png);
    }
    for (int i = 0; i < 3; i++) {   /* the places came back */
        assert_int_equal(kn_preview_render(good, DOC, strlen(DOC), 0, 60000, &png, &n, &err), KN_OK);
        free(png);
    }
    close(sfd);
    close(gfd);
    kn_preview_configure(0, KN_PREVIEW_MAX_MEMORY);
    assert_int_equal(kn_preview_limit(), kn_preview_default_limit());
    assert_true(kn_preview_default_limit() >= KN_PREVIEW_CONCURRENT_DEFAULT_MIN);
    assert_true(kn_preview_default_limit() <= KN_PREVIEW_CONCURRENT_DEFAULT_MAX);
}

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

/* The real renderer under a 64 MiB memory limit: an 8K frame (a 133 MB
 * canvas) fails cleanly with KN_ETOOBIG (a 413 saying why), the small
 * document still renders, and the next 8K preview without the limit
 * works. Sanitized builds set no limit (see cli/main.c): skipped there. */
static void test_memory_limit(void **state)
{
    (void)state;
#ifdef ASAN
    print_message("AddressSanitizer: the child sets no memory limit, skipped\n");
    skip();
#else
    static const char BIG[] = "{\"width\":7680,\"height\":4320,\"fps\":10,\"duration\":1,\"background\":\"#102030\"}";
    uint8_t *png = (uint8_t *)"x";
    size_t n = 1;
    kn_err err;
    kn_err_clear(&err);
    kn_preview_configure(0, (size_t)64 << 20);
    assert_int_equal(kn_preview_render(KN_TEST_BIN, BIG, strlen(BIG), 0, 60000, &png, &n, &err), KN_ETOOBIG);
    assert_null(png);
    assert_int_equal(kn_err_http_status(err.code), 413);
    assert_non_null(strstr(err.msg, "64 MiB"));
    assert_int_equal(kn_preview_render(KN_TEST_BIN, DOC, strlen(DOC), 0, 60000, &png, &n, &err), KN_OK);
    assert_true(kn_preview_png_complete(png, n));
    free(png);
    kn_preview_configure(0, KN_PREVIEW_MAX_MEMORY);
    assert_int_equal(kn_preview_render(KN_TEST_BIN, BIG, strlen(BIG), 0, 60000, &png, &n, &err), KN_OK);
    assert_true(kn_preview_png_complete(png, n));
    free(png);
#endif
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* as the server does (see preview.h) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_complete),
        cmocka_unit_test(test_real_renderer),
        cmocka_unit_test_setup_teardown(test_stand_ins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrency_limit, setup, teardown),
        cmocka_unit_test(test_memory_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
