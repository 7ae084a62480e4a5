/*
 * tests/fuzz/fuzz_expr.c - libFuzzer target for lang/expr: any byte string
 * is compiled both as an expression and as a text template. Either it
 * compiles, and then evaluates/renders without reading outside its buffers,
 * without reading a variable it says it does not use, and with a constant
 * result when it says it is constant; or it fails with KN_EINVAL, a
 * message naming a column inside the input, and no object. ASan/UBSan catch
 * the rest (stack overflow of the eval stack, bad format strings).
 *
 * Seeds: tests/fuzz/corpus_expr. Build (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     tests/fuzz/fuzz_expr.c lang/expr.c lang/easing.c common/err.c -lm
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/expr.h"
#include "lang/template.h"

enum { NV = 6 };
static const kn_expr_var VARS[] = {
    { "t", 0 }, { "frame", 1 }, { "x", 2 }, { "i", 3 }, { "f", 4 }, { "n_frames", 5 },
    { "fps", 1 },   /* two names, one slot */
};
static const kn_expr_names NAMES = { VARS, sizeof VARS / sizeof VARS[0] };
static const double BASE[NV] = { 1.5, 36, -2.25, 7, 0.5, 0 };

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* The message ends in "at column <col>" or has it followed by a hint. */
static void check_error(int rc, const kn_err *err, int col, int max_col)
{
    char at[40];
    if (rc != KN_EINVAL || err->code != rc || !err->msg[0]) abort();
    if (col < 1 || col > max_col) abort();
    snprintf(at, sizeof at, "at column %d", col);
    if (!strstr(err->msg, at)) abort();
}

static void fuzz_expr(const char *s)
{
    kn_expr *e = (kn_expr *)&e;
    kn_err err;
    int col = -1;
    kn_err_clear(&err);
    int rc = kn_expr_compile(s, &NAMES, &e, &col, &err);
    size_t len = strlen(s);
    if (rc != KN_OK) {
        if (e) abort();
        if (len > KN_EXPR_MAX_LEN) {
            if (col != KN_EXPR_MAX_LEN + 1) abort();
            return;
        }
        check_error(rc, &err, col, (int)len + 1);
        /* Expression messages quote only ASCII (JSON-safe) text. */
        for (const char *m = err.msg; *m; m++)
            if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7F) abort();
        return;
    }
    if (!e || err.code != KN_OK) abort();
    double v[NV];
    memcpy(v, BASE, sizeof v);
    double r = kn_expr_eval(e, v);
    /* A variable it does not use cannot change the result. */
    for (int k = 0; k < NV; k++) {
        if (kn_expr_uses(e, k)) continue;
        double w[NV];
        memcpy(w, BASE, sizeof w);
        w[k] = k % 2 ? NAN : -1e300;
        if (!same(kn_expr_eval(e, w), r)) abort();
    }
    if (kn_expr_is_const(e)) {
        for (int k = 0; k < NV; k++)
            if (kn_expr_uses(e, k)) abort();
        if (!same(kn_expr_eval(e, NULL), r)) abort();
    }
    kn_expr_destroy(e);
}

static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static void fuzz_template(const char *s)
{
    kn_template *t = (kn_template *)&t;
    kn_err err;
    int col = -1;
    kn_err_clear(&err);
    int rc = kn_template_compile(s, &NAMES, &t, &col, &err);
    if (rc != KN_OK) {
        if (t) abort();
        if (strlen(s) > KN_TEMPLATE_MAX_LEN) return;
        check_error(rc, &err, col, (int)chars(s) + 1);
        return;
    }
    if (!t) abort();
    double v[NV];
    memcpy(v, BASE, sizeof v);
    static char big[KN_TEMPLATE_MAX_LEN * 2 + KN_TEMPLATE_MAX_EXPRS * 512];
    char small[7];
    size_t n = kn_template_render(t, v, big, sizeof big);
    if (n >= sizeof big || strlen(big) != n) abort();
    size_t m = kn_template_render(t, v, small, sizeof small);
    if (m != n || strlen(small) >= sizeof small) abort();
    if (memcmp(small, big, strlen(small)) != 0) abort();
    if (kn_template_render(t, v, NULL, 0) != n) abort();
    if (kn_template_is_const(t)) {
        static char again[sizeof big];
        for (int k = 0; k < NV; k++) v[k] = NAN;
        if (kn_template_render(t, v, again, sizeof again) != n || strcmp(again, big)) abort();
    }
    kn_template_destroy(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 3 * KN_TEMPLATE_MAX_LEN) return 0;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    fuzz_expr(s);
    fuzz_template(s);
    free(s);
    return 0;
}
