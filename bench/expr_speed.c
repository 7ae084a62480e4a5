/*
 * bench/expr_speed.c - what one compiled expression costs per evaluation:
 * a million evaluations each of a few expressions like those job documents
 * use, with t and frame moving as they do across frames. Moved here from
 * tests/test_expr.c, where a limit on it made the test gate depend on how
 * loaded the machine was; a parsing or allocating evaluator would show
 * here as tens of times slower.
 *
 * usage: expr_speed [evaluations]   (default 1000000)
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "lang/expr.h"

enum { V_T, V_X, V_F, V_FRAME, NV };

int main(int argc, char **argv)
{
    static const kn_expr_var vars[] = {{"t", V_T}, {"x", V_X}, {"f", V_F}, {"frame", V_FRAME}};
    static const kn_expr_names names = {vars, sizeof vars / sizeof vars[0]};
    static const char *const srcs[] = {
        "t",
        "544*smootheststep(t/5)",
        "sin(2*pi*f*t)*exp(-t/4) + clamp(x, 0, 1)*lerp(1, 2, t)",
        "frame % 30 < 15 ? easeOutBounce(t % 1) * 100 : min(t, f, 2) ^ 2",
    };
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (n < 1) n = 1000000;
    for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++) {
        kn_expr *e = NULL;
        kn_err err;
        int col = -1;
        if (kn_expr_compile(srcs[i], &names, &e, &col, &err) != KN_OK) {
            fprintf(stderr, "\"%s\": %s\n", srcs[i], err.msg);
            return 1;
        }
        double v[NV] = {[V_T] = 0, [V_X] = -2.25, [V_F] = 3, [V_FRAME] = 0}, sum = 0;
        double t0 = kn_mono();
        for (long k = 0; k < n; k++) {
            v[V_T] = k * (1.0 / 30);
            v[V_FRAME] = (double)k;
            sum += kn_expr_eval(e, v);
        }
        double ns = (kn_mono() - t0) * 1e9 / (double)n;
        volatile double sink = sum;   /* keeps the loop */
        (void)sink;
        printf("%8.1f ns/eval  (%ld evals)  %s\n", ns, n, srcs[i]);
        kn_expr_destroy(e);
    }
    return 0;
}
