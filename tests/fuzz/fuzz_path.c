/*
 * tests/fuzz/fuzz_path.c - libFuzzer target for the SVG path data parser
 * (lang/path.h): any byte string must either parse into a path that keeps
 * every invariant path.h promises, or fail with a consistent error code,
 * message and column, without crashing, leaking or reading outside the
 * input (ASan/UBSan catch the rest). A parsed path is also appended to a
 * Cairo context, which must stay out of its error state.
 *
 * The input is cut at its first NUL (kn_path_parse takes a C string).
 * Built as fuzz_path with -DKINORA_FUZZ=ON (clang); seeds in
 * tests/fuzz/corpus_path. By hand:
 *   clang -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
 *     common/err.c lang/path.c tests/fuzz/fuzz_path.c \
 *     $(pkg-config --cflags --libs cairo) -lm -o /tmp/fuzz_path
 *   /tmp/fuzz_path -max_total_time=60 -max_len=4096 /tmp/corpus tests/fuzz/corpus_path
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "lang/path.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int in_range(double v)
{
    return fabs(v) <= KN_PATH_COORD_MAX;   /* false for NaN too */
}

static void check_path(const kn_path *p)
{
    size_t n = kn_path_count(p);
    CHECK(n <= KN_PATH_MAX_SEGMENTS);
    kn_path_seg *s = n ? malloc(n * sizeof *s) : NULL;
    CHECK(n == 0 || s);
    CHECK(kn_path_segments(p, s, n) == n);

    double box[4];
    int nonempty = kn_path_extents(p, box);
    CHECK(nonempty == (n > 0));
    if (n > 0) CHECK(s[0].op == KN_PATH_MOVE_TO);
    for (size_t i = 0; i < n; i++) {
        static const int np[4] = { 1, 1, 3, 0 };
        CHECK(s[i].op <= KN_PATH_CLOSE);
        if (s[i].op == KN_PATH_LINE_TO || s[i].op == KN_PATH_CURVE_TO)
            CHECK(i > 0 && s[i - 1].op != KN_PATH_CLOSE);
        for (int k = 0; k < 3; k++) {
            if (k < np[s[i].op]) {
                CHECK(in_range(s[i].pt[k][0]) && in_range(s[i].pt[k][1]));
            } else {
                CHECK(s[i].pt[k][0] == 0 && s[i].pt[k][1] == 0);
            }
        }
        /* Every on-curve point lies in the box (control points need not). */
        int last = np[s[i].op] - 1;
        if (last >= 0) {
            double x = s[i].pt[last][0], y = s[i].pt[last][1];
            CHECK(x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3]);
        }
    }
    free(s);

    /* Cairo takes it without entering its error state; fill and stroke
     * only small paths to keep executions fast. */
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_A8, 16, 16);
    cairo_t *cr = cairo_create(surf);
    kn_path_append(p, cr);
    CHECK(cairo_status(cr) == CAIRO_STATUS_SUCCESS);
    if (n <= 64) {
        cairo_scale(cr, 0.01, 0.01);
        cairo_fill_preserve(cr);
        cairo_stroke(cr);
        CHECK(cairo_status(cr) == CAIRO_STATUS_SUCCESS);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *d = malloc(size + 1);
    if (!d) return 0;
    memcpy(d, data, size);
    d[size] = '\0';
    size_t len = strlen(d);

    kn_path *p = (kn_path *)&d;   /* must be overwritten */
    kn_err err;
    int col = -7;
    kn_err_clear(&err);
    int rc = kn_path_parse(d, &p, &col, &err);
    if (rc == KN_OK) {
        CHECK(p != NULL && col == 0 && err.code == KN_OK);
        check_path(p);
    } else {
        CHECK(p == NULL);
        CHECK(err.code == rc && err.msg[0] != '\0');
        CHECK(rc == KN_EINVAL || rc == KN_ETOOBIG || rc == KN_ENOMEM);
        /* a syntax or range error points into the data or just past it */
        if (rc == KN_EINVAL) CHECK(col >= 1 && (size_t)col <= len + 1);
        else CHECK(col >= 0 && (size_t)col <= len + 1);
        /* messages end up in JSON: plain printable ASCII, no quote or
         * backslash, whatever the input held */
        for (const char *m = err.msg; *m; m++)
            CHECK(*m >= 0x20 && *m < 0x7f && *m != '"' && *m != '\\');
    }
    kn_path_destroy(p);
    free(d);
    return 0;
}
