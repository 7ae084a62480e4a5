/*
 * lang/template.h - text templates (spec section 2): "Frequency={f:.3f}" is
 * literal text with {expr} and {expr:fmt} placeholders, compiled once by
 * kn_template_compile and rendered per frame by kn_template_render. The
 * expressions and their variables are lang/expr.h's.
 *
 * Ownership: compile allocates the template it returns in *out; the caller
 * frees it with kn_template_destroy (NULL is fine). Nothing keeps a pointer
 * into text or names after compile returns. A compiled template is
 * immutable, so any number of threads may render it at the same time.
 *
 * Errors are KN_EINVAL with err->msg as for expressions, but the column
 * counts characters (UTF-8 code points) of text.
 */
#ifndef KN_LANG_TEMPLATE_H
#define KN_LANG_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/limits.h"
#include "lang/expr.h"

/* KN_TEMPLATE_MAX_*: common/limits.h */

typedef struct kn_template kn_template;

/* Compiles a text template. Literal text is copied as is except "{{" and
 * "}}", which stand for one brace. A placeholder is {expr} or {expr:fmt}:
 * the first ':' that is outside parentheses and does not close a ternary
 * '?' starts fmt, so "{t > 1 ? 1 : 2:.1f}" works. fmt is a printf
 * conversion for one value without the '%': flags from "-+ #0" (each at
 * most once), a width up to KN_TEMPLATE_MAX_WIDTH, a precision '.' digits
 * up to KN_TEMPLATE_MAX_PREC, and one conversion of d i x X f F e E g G; no
 * '*', no length modifiers, no '%'. d, i, x and X print the value truncated
 * toward zero as a long long (x and X: its two's complement bits for a
 * negative value); a NaN, infinite or out-of-range value prints as %.0f
 * would with the same flags and width. Without fmt, an integral value below
 * 1e15 in magnitude prints with no decimals ("12", never "-0") and any
 * other as %g. Errors (KN_EINVAL) give the column of the offending brace,
 * or of the fault inside a placeholder's expression, in characters of text.
 * On failure *out is NULL. err_col and err may be NULL. */
int kn_template_compile(const char *text, const kn_expr_names *names, kn_template **out,
                        int *err_col, kn_err *err);

/* Writes the template's text for vars into buf (cap bytes, NUL-terminated
 * when cap > 0; buf may be NULL when cap is 0) and returns the length the
 * whole text has (not counting the NUL), like snprintf: a return >= cap means
 * it was truncated. Truncation never splits a UTF-8 sequence. Never
 * allocates. */
size_t kn_template_render(const kn_template *t, const double *vars, char *buf, size_t cap);

/* As kn_expr_uses / kn_expr_is_const, over all placeholders (a template
 * without placeholders is constant). */
bool kn_template_uses(const kn_template *t, int var_index);
bool kn_template_is_const(const kn_template *t);

/* The longest text kn_template_render can produce for t, its NUL not
 * counted: the literal text plus the longest any one formatted value can be
 * for each placeholder (0 for NULL). A caller sizing what laying out that
 * text costs uses this, whatever the values. */
size_t kn_template_max_len(const kn_template *t);
/* Bytes of memory t holds, its compiled placeholders included (0 for NULL). */
size_t kn_template_bytes(const kn_template *t);

void kn_template_destroy(kn_template *t);

#endif
