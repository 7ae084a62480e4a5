/*
 * lang/template.c - text templates (see template.h): literal text with
 * {expr} and {expr:fmt} placeholders.
 *
 * A compiled template is one array of segments, each a literal span of the
 * one literal buffer followed by an optional placeholder (a compiled
 * expression and the snprintf formats its fmt became), and the literal
 * buffer. The last segment has no placeholder. Formats are checked at
 * compile time against a closed grammar (flags, capped width and precision,
 * one conversion), so rendering can hand them to snprintf with a value of
 * the type they expect, and no formatted value exceeds VALUE_MAX bytes:
 * kn_template_max_len is a true bound.
 *
 * Invariants: nseg <= KN_TEMPLATE_MAX_EXPRS + 1; every lit_off + lit_len is
 * within lit; segs[nseg - 1].e is NULL; the object is never written after
 * compile returns.
 */
#include "lang/template.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- templates ------------------------------------------------------------ */

enum { FMT_DEFAULT, FMT_FLOAT, FMT_INT, FMT_UINT };

typedef struct seg {
    size_t lit_off, lit_len;   /* literal text before the placeholder, in lit */
    kn_expr *e;                /* NULL: only the literal (the last segment) */
    int kind;                  /* FMT_* */
    char fmt[48];              /* "%-08.3f", "%+5lld", ... */
    char fallback[32];         /* %.0f with the same flags and width */
} seg;

struct kn_template {
    seg *segs;
    size_t nseg;
    char *lit;
    size_t nlit;               /* bytes of lit, its NUL not counted */
    bool is_const;
};

/* Widths and precisions are capped, so this holds any one formatted value
 * (the longest is %.32f of 1.8e308: 309 + 33 characters) with its NUL. */
#define VALUE_MAX 512

/* 1-based character column of byte offset i (counts UTF-8 lead bytes). */
static int char_col(const char *s, size_t i)
{
    int col = 1;
    for (size_t k = 0; k < i; k++)
        if (((unsigned char)s[k] & 0xC0) != 0x80) col++;
    return col;
}

static int tfail(int *err_col, kn_err *err, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int tfail(int *err_col, kn_err *err, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err_col) *err_col = col;
    kn_err_setv(err, KN_EINVAL, NULL, fmt, ap);
    va_end(ap);
    return KN_EINVAL;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

#define STR_(x) #x
#define STR(x) STR_(x)

/* Checks a placeholder's fmt (f[0, n)) and builds the snprintf formats.
 * Returns NULL or what is wrong. */
static const char *parse_fmt(const char *f, size_t n, seg *sg)
{
    char flags[8] = "";
    size_t nf = 0, i = 0;
    while (i < n && f[i] && strchr("-+ #0", f[i])) {
        if (memchr(flags, f[i], nf)) return "a flag is repeated";
        flags[nf++] = f[i++];
        flags[nf] = '\0';
    }
    int width = -1, prec = -1;
    if (i < n && is_digit((unsigned char)f[i])) {
        width = 0;
        while (i < n && is_digit((unsigned char)f[i])) {
            width = width * 10 + (f[i++] - '0');
            if (width > KN_TEMPLATE_MAX_WIDTH)
                return "the width is over " STR(KN_TEMPLATE_MAX_WIDTH);
        }
    }
    if (i < n && f[i] == '.') {
        i++;
        prec = 0;
        while (i < n && is_digit((unsigned char)f[i])) {
            prec = prec * 10 + (f[i++] - '0');
            if (prec > KN_TEMPLATE_MAX_PREC)
                return "the precision is over " STR(KN_TEMPLATE_MAX_PREC);
        }
    }
    if (i >= n) return "the conversion letter is missing";
    char conv = f[i++];
    if (!conv || !strchr("diXxfFeEgG", conv)) {
        if (conv == '*') return "'*' is not supported";
        if (conv == 'l' || conv == 'h' || conv == 'L' || conv == 'z' || conv == 'j' ||
            conv == 't' || conv == 'q')
            return "length modifiers are not supported";
        return "the conversion must be one of d i x X f F e E g G";
    }
    if (i != n) return "there is text after the conversion letter";
    int is_int = strchr("di", conv) != NULL, is_hex = conv == 'x' || conv == 'X';
    if (is_int && strchr(flags, '#')) return "'#' does not apply to d or i";
    if (is_hex && (strchr(flags, '+') || strchr(flags, ' ')))
        return "'+' and ' ' do not apply to x or X";

    char wp[24] = "";
    if (width >= 0 && prec >= 0) snprintf(wp, sizeof wp, "%d.%d", width, prec);
    else if (width >= 0) snprintf(wp, sizeof wp, "%d", width);
    else if (prec >= 0) snprintf(wp, sizeof wp, ".%d", prec);
    snprintf(sg->fmt, sizeof sg->fmt, "%%%s%s%s%c", flags, wp,
             (is_int || is_hex) ? "ll" : "", conv);
    if (is_int || is_hex) {
        char fl2[8];
        size_t m = 0;
        for (size_t k = 0; flags[k]; k++)
            if (flags[k] != '#') fl2[m++] = flags[k];
        fl2[m] = '\0';
        if (width >= 0) snprintf(sg->fallback, sizeof sg->fallback, "%%%s%d.0f", fl2, width);
        else snprintf(sg->fallback, sizeof sg->fallback, "%%%s.0f", fl2);
    }
    sg->kind = is_int ? FMT_INT : is_hex ? FMT_UINT : FMT_FLOAT;
    return NULL;
}

void kn_template_destroy(kn_template *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nseg; i++) kn_expr_destroy(t->segs[i].e);
    free(t->segs);
    free(t->lit);
    free(t);
}

int kn_template_compile(const char *text, const kn_expr_names *names, kn_template **out,
                        int *err_col, kn_err *err)
{
    int rc = KN_OK;
    kn_template *t = NULL;
    if (err_col) *err_col = 0;
    if (out) *out = NULL;
    if (!text || !out)
        return kn_err_set(err, KN_EINTERNAL, NULL, "kn_template_compile: no text or output");
    size_t len = strnlen(text, KN_TEMPLATE_MAX_LEN + 1);
    if (len > KN_TEMPLATE_MAX_LEN)
        return tfail(err_col, err, KN_TEMPLATE_MAX_LEN + 1,
                     "text is longer than %d bytes", KN_TEMPLATE_MAX_LEN);

    t = calloc(1, sizeof *t);
    if (!t) goto nomem;
    t->lit = malloc(len + 1);
    t->segs = calloc(KN_TEMPLATE_MAX_EXPRS + 1, sizeof *t->segs);
    if (!t->lit || !t->segs) goto nomem;
    t->is_const = true;

    size_t nlit = 0, seg_start = 0, i = 0;
    while (i < len) {
        char c = text[i];
        if (c == '}') {
            if (i + 1 < len && text[i + 1] == '}') {
                t->lit[nlit++] = '}';
                i += 2;
                continue;
            }
            rc = tfail(err_col, err, char_col(text, i), "unmatched \"}\" at column %d "
                       "(write \"}}\" for a literal brace)", char_col(text, i));
            goto out;
        }
        if (c != '{') {
            t->lit[nlit++] = c;
            i++;
            continue;
        }
        if (i + 1 < len && text[i + 1] == '{') {
            t->lit[nlit++] = '{';
            i += 2;
            continue;
        }

        /* A placeholder: find where its expression ends. */
        int bcol = char_col(text, i);
        size_t j = i + 1, colon = 0, close = 0;
        int parens = 0, quest = 0;
        for (; j < len; j++) {
            char d = text[j];
            if (d == '}' || d == '{') break;
            if (d == '(') parens++;
            else if (d == ')' && parens > 0) parens--;
            else if (d == '?' && parens == 0) quest++;
            else if (d == ':' && parens == 0) {
                if (quest > 0) quest--;
                else { colon = j; break; }
            }
        }
        close = colon ? colon + 1 : j;
        while (close < len && text[close] != '}' && text[close] != '{') close++;
        if (close < len && text[close] == '{') {
            int col = char_col(text, close);
            rc = tfail(err_col, err, col, "unexpected \"{\" at column %d inside the "
                       "placeholder that opens at column %d (write \"{{\" for a literal brace)",
                       col, bcol);
            goto out;
        }
        if (close >= len) {
            rc = tfail(err_col, err, bcol, "unclosed \"{\" at column %d (write \"{{\" for a "
                       "literal brace)", bcol);
            goto out;
        }
        if (t->nseg >= KN_TEMPLATE_MAX_EXPRS) {
            rc = tfail(err_col, err, bcol, "too many placeholders: the one at column %d is "
                       "over %d", bcol, KN_TEMPLATE_MAX_EXPRS);
            goto out;
        }
        size_t estart = i + 1, eend = colon ? colon : close;
        size_t k = estart;
        while (k < eend && strchr(" \t\r\n", text[k])) k++;
        if (k == eend) {
            rc = tfail(err_col, err, bcol, "empty placeholder at column %d (write \"{{\" "
                       "for a literal brace)", bcol);
            goto out;
        }
        seg *sg = &t->segs[t->nseg];
        sg->lit_off = seg_start;
        sg->lit_len = nlit - seg_start;
        sg->kind = FMT_DEFAULT;
        if (colon) {
            const char *why = parse_fmt(text + colon + 1, close - colon - 1, sg);
            if (why) {
                char fb[64], ex[64];
                size_t fl = close - colon - 1;
                if (fl >= sizeof fb) fl = sizeof fb - 1;
                memcpy(fb, text + colon + 1, fl);
                fb[fl] = '\0';
                rc = tfail(err_col, err, bcol, "bad format \"%s\" in the placeholder at "
                           "column %d: %s (use [flags][width][.precision] and one of "
                           "d i x X f F e E g G, e.g. {x:.2f})",
                           kn_err_excerpt(fb, ex, sizeof ex), bcol, why);
                goto out;
            }
        }
        rc = kn_expr_compile_span(text + estart, eend - estart, bcol, names, &sg->e, err_col, err);
        if (rc != KN_OK) goto out;
        if (!kn_expr_is_const(sg->e)) t->is_const = false;
        t->nseg++;
        seg_start = nlit;
        i = close + 1;
    }
    t->segs[t->nseg].lit_off = seg_start;
    t->segs[t->nseg].lit_len = nlit - seg_start;
    t->segs[t->nseg].e = NULL;
    t->nseg++;
    t->lit[nlit] = '\0';
    t->nlit = nlit;
    *out = t;
    t = NULL;
    goto out;
nomem:
    rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory compiling a text template");
out:
    kn_template_destroy(t);
    return rc;
}

/* Formats one value; returns the length written to nb (< cap). */
static size_t format_value(const seg *sg, double v, char *nb, size_t cap)
{
    int n;
    if (isnan(v)) v = NAN;    /* glibc prints a negative NaN as "-nan" */
    switch (sg->kind) {
    case FMT_INT:
    case FMT_UINT:
        if (v >= -9223372036854775808.0 && v < 9223372036854775808.0) {
            long long ll = (long long)v;
            if (sg->kind == FMT_INT) n = snprintf(nb, cap, sg->fmt, ll);
            else n = snprintf(nb, cap, sg->fmt, (unsigned long long)ll);
        } else {
            n = snprintf(nb, cap, sg->fallback, isfinite(v) ? trunc(v) : v);
        }
        break;
    case FMT_FLOAT:
        n = snprintf(nb, cap, sg->fmt, v);
        break;
    default:
        if (isfinite(v) && v == trunc(v) && fabs(v) < 1e15)
            n = snprintf(nb, cap, "%.0f", v == 0 ? 0.0 : v);
        else
            n = snprintf(nb, cap, "%g", v);
        break;
    }
    if (n < 0) return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

static void put(char *buf, size_t cap, size_t *total, const char *s, size_t n)
{
    if (cap > 0 && *total < cap - 1) {
        size_t room = cap - 1 - *total;
        memcpy(buf + *total, s, n < room ? n : room);
    }
    *total += n;
}

size_t kn_template_render(const kn_template *t, const double *vars, char *buf, size_t cap)
{
    size_t total = 0;
    if (!t) {
        if (cap) buf[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < t->nseg; i++) {
        const seg *sg = &t->segs[i];
        put(buf, cap, &total, t->lit + sg->lit_off, sg->lit_len);
        if (sg->e) {
            char nb[VALUE_MAX];
            size_t n = format_value(sg, kn_expr_eval(sg->e, vars), nb, sizeof nb);
            put(buf, cap, &total, nb, n);
        }
    }
    if (cap == 0) return total;
    size_t end = total < cap ? total : cap - 1;
    if (total >= cap) {
        /* Drop a UTF-8 sequence the cut left incomplete. */
        size_t j = end, back = 0;
        while (j > 0 && back < 3 && ((unsigned char)buf[j - 1] & 0xC0) == 0x80) { j--; back++; }
        if (j > 0) {
            unsigned char lead = (unsigned char)buf[j - 1];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (need > 1 && (j - 1) + need > end) end = j - 1;
        }
    }
    buf[end] = '\0';
    return total;
}

bool kn_template_uses(const kn_template *t, int var_index)
{
    if (!t) return false;
    for (size_t i = 0; i < t->nseg; i++)
        if (kn_expr_uses(t->segs[i].e, var_index)) return true;
    return false;
}

size_t kn_template_max_len(const kn_template *t)
{
    if (!t) return 0;
    size_t n = t->nlit;
    for (size_t i = 0; i < t->nseg; i++)
        if (t->segs[i].e) n += VALUE_MAX - 1;
    return n;
}

size_t kn_template_bytes(const kn_template *t)
{
    if (!t) return 0;
    /* segs is allocated for the most placeholders a template may have. */
    size_t n = sizeof *t + (KN_TEMPLATE_MAX_EXPRS + 1) * sizeof *t->segs + t->nlit + 1;
    for (size_t i = 0; i < t->nseg; i++) n += kn_expr_bytes(t->segs[i].e);
    return n;
}

bool kn_template_is_const(const kn_template *t)
{
    return !t || t->is_const;
}
