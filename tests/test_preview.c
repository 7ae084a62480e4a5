/*
 * tests/test_preview.c - pipeline/preview: one frame to PNG in a child
 * process. The real renderer (KN_TEST_BIN) must give a whole PNG of the
 * document's size; stand-in children (shell scripts in the child's place)
 * that truncate, crash, fail, stall or flood must each give an error, never
 * a 200-worthy PNG, and never block the caller past the deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int main(void)
{
    signal(SIGPIPE, SIG_IGN);   /* as the server does (see preview.h) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_complete),
        cmocka_unit_test(test_real_renderer),
        cmocka_unit_test_setup_teardown(test_stand_ins, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
