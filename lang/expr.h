/*
 * lang/expr.h - expressions (spec section 2); text templates, which embed
 * them, are lang/template.h.
 *
 * An expression is the text after the leading '=' of a number-valued field,
 * e.g. "544*smootheststep(t/5)". kn_expr_compile parses it once into a small
 * postfix program; kn_expr_eval runs that program for every frame without
 * parsing or allocating.
 *
 * Ownership: compile allocates the object it returns in *out; the caller
 * owns it and frees it with the matching destroy (NULL is fine). Nothing
 * keeps a pointer into src, text or names after compile returns. A compiled
 * kn_expr is immutable, so any number of threads may evaluate
 * or render the same one at the same time.
 *
 * Variables: the caller lists the names it allows in a kn_expr_names table,
 * each mapped to an index into the double array it passes to eval (the same
 * index may appear under several names). That array must have more entries
 * than the largest index of a name the expression uses; it may be NULL for an
 * expression that uses none (kn_expr_is_const). Lookup order for a bare name
 * is: the caller's table (first match wins), then the constants pi and e. A
 * name directly followed by '(' is a function: the built-ins below, then
 * every easing name of lang/easing.h. Names are case-sensitive.
 *
 * Grammar and precedence, loosest first (all binary operators are
 * left-associative unless noted; like C except for ^):
 *     c ? a : b            ternary, right-associative; only the chosen
 *                          branch runs
 *     ||                   1 if either side is non-zero, else 0
 *     &&                   1 if both sides are non-zero, else 0
 *     ==  !=               exact double comparison, 1 or 0
 *     <  <=  >  >=         1 or 0 (chained like C: 1<2<3 is (1<2)<3)
 *     +  -
 *     *  /  %             % is floored modulo like Python's: -7 % 3 = 2
 *     -x  +x  !x           prefix; !x is 1 if x == 0, else 0
 *     x ^ y, x ** y        power, right-associative and tighter than a
 *                          prefix minus on its left as in Python:
 *                          -2^2 = -4, 2^3^2 = 512, 2^-1 = 0.5
 *     numbers (1, 2.5, .5, 1e-3), names, f(args), ( ... )
 * "Non-zero" includes NaN (as in C). Both sides of && and || are evaluated
 * (nothing has side effects).
 *
 * Functions (fixed arity unless noted): sin cos tan asin acos atan sqrt exp
 * log (natural) log10 abs floor ceil round (half away from zero), atan2(y,x),
 * pow(x,y), mod(x,y) (same as %), min and max (2 or more arguments),
 * clamp(x,lo,hi) = min(max(x,lo),hi), lerp(a,b,u) = (1-u)*a + u*b (u not
 * clamped), and every easing name as a function of one argument, which
 * kn_easing_apply clamps to [0, 1] (NaN counts as 0). min, max and clamp
 * return NaN if any argument is NaN.
 *
 * Results: eval returns whatever IEEE arithmetic gives; 1/0 is inf, 0/0,
 * sqrt(-1), log(-1), mod(x,0) are NaN. The caller decides what a non-finite
 * value means for its field (kn_expr_eval never fails).
 *
 * Errors: compile returns KN_EINVAL with err->msg saying what is wrong and
 * where ("unknown name \"fo\" at column 5") and *err_col (if not NULL) the
 * same 1-based column; err->path is left "" for the caller to fill. For an
 * expression the column counts bytes of src (src never has non-ASCII bytes
 * before an error, since any such byte is itself the error); a caller that
 * reports columns of the whole "=..." string adds 1. Input over
 * KN_EXPR_MAX_LEN, nested deeper than KN_EXPR_MAX_DEPTH, or needing more
 * than KN_EXPR_MAX_STACK pending values (only reachable near the nesting
 * cap) is KN_EINVAL too, with its own message.
 */
#ifndef KN_LANG_EXPR_H
#define KN_LANG_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/limits.h"

/* KN_EXPR_MAX_*: common/limits.h */

typedef struct kn_expr kn_expr;

typedef struct kn_expr_var {
    const char *name;   /* identifier; borrowed, only read during compile */
    int index;          /* >= 0: the slot of vars[] eval reads */
} kn_expr_var;

typedef struct kn_expr_names {
    const kn_expr_var *vars;   /* n entries, borrowed */
    size_t n;
} kn_expr_names;

/* Compiles src (NUL-terminated, without the leading '='). names may be NULL
 * (no variables). On success *out is a new expression and KN_OK is returned;
 * on failure *out is NULL, *err_col the 1-based column, and KN_EINVAL (bad
 * input, see above), KN_ENOMEM or KN_EINTERNAL (a name in the table with a
 * negative index) is returned. err_col and err may be NULL. */
int kn_expr_compile(const char *src, const kn_expr_names *names, kn_expr **out,
                    int *err_col, kn_err *err);

/* The value of e for the variable values vars (see above). Never allocates,
 * never fails; the result may be NaN or infinite. */
double kn_expr_eval(const kn_expr *e, const double *vars);

/* True if evaluating e reads vars[var_index], e.g. to tell an animated value
 * (depends on t or frame) from a static one. Parts removed by constant
 * folding do not count: "0 ? t : 1" does not use t. */
bool kn_expr_uses(const kn_expr *e, int var_index);

/* True if e reads no variable at all: its value is kn_expr_eval(e, NULL). */
bool kn_expr_is_const(const kn_expr *e);

void kn_expr_destroy(kn_expr *e);

/* Bytes of memory e holds (0 for NULL), for a caller that charges what it
 * keeps to a memory limit. */
size_t kn_expr_bytes(const kn_expr *e);

/* True if name is a built-in function, a constant (pi, e) or an easing
 * name, i.e. a variable by that name would be shadowed or confusing. */
bool kn_expr_is_reserved(const char *name);

/* Compiles s[0, len) (no NUL needed) as kn_expr_compile does src, for a
 * caller that finds expressions inside a longer text: col0 is the column of
 * the span's first character minus 1, so err_col and the message give
 * columns of the whole text. *out is NULL on failure. */
int kn_expr_compile_span(const char *s, size_t len, int col0, const kn_expr_names *names,
                         kn_expr **out, int *err_col, kn_err *err);


#endif
