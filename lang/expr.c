/*
 * lang/expr.c - expressions and text templates (see expr.h).
 *
 * kn_expr_compile is a recursive-descent parser (precedence climbing for the
 * binary operators) that emits postfix code while it parses; there is no
 * syntax tree. Constants are folded as code is emitted: when every operand
 * of an operator is a CONST instruction, the operator is applied at compile
 * time with the same inline function eval uses, so folding can never change
 * a result. A ternary whose condition folds keeps only the chosen branch.
 *
 * Invariants of a compiled kn_expr:
 *  - code only reads the stack below its computed high-water mark, which is
 *    at most KN_EXPR_MAX_STACK (compile rejects more), so eval uses a fixed
 *    array on the C stack and never allocates;
 *  - every jump is relative, forward, and lands inside the code or just past
 *    its end; both branches of a ternary leave exactly one value;
 *  - every CONST/EASE argument indexes the pools stored with the code, and
 *    every VAR argument is an index the caller mapped a name to;
 *  - a variable-free expression is one CONST (is_const), so eval of it reads
 *    nothing from vars.
 * The object is one allocation (header, constants, easings, code) and is
 * never written after compile returns.
 *
 * Folding only looks back over instructions at or after fold_floor: the end
 * of a ternary is a jump target, so a CONST just before it is not a plain
 * operand and must not be merged with what follows.
 */
#include "lang/expr.h"

#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lang/easing.h"

/* ---- the operations --------------------------------------------------- */

enum {
    OP_CONST, OP_VAR, OP_EASE,
    /* one operand */
    OP_NEG, OP_NOT, OP_SIN, OP_COS, OP_TAN, OP_ASIN, OP_ACOS, OP_ATAN, OP_SQRT,
    OP_EXP, OP_LOG, OP_LOG10, OP_ABS, OP_FLOOR, OP_CEIL, OP_ROUND,
    /* two */
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_POW, OP_LT, OP_LE, OP_GT, OP_GE,
    OP_EQ, OP_NE, OP_AND, OP_OR, OP_ATAN2, OP_MIN, OP_MAX,
    /* three */
    OP_CLAMP, OP_LERP,
    /* control: pop and jump if zero; jump. Argument: target - this index. */
    OP_JZ, OP_JMP
};

typedef struct insn {
    int32_t op;
    int32_t arg;
} insn;

static int op_arity(int op)
{
    if (op >= OP_NEG && op <= OP_ROUND) return 1;
    if (op >= OP_ADD && op <= OP_MAX) return 2;
    if (op == OP_CLAMP || op == OP_LERP) return 3;
    return 0;
}

/* Python's float %: the result has the sign of b. */
static inline double floor_mod(double a, double b)
{
    double m = fmod(a, b);
    if (m != 0) {
        if ((b < 0) != (m < 0)) m += b;
    } else {
        m = copysign(0.0, b);
    }
    return m;
}

/* min/max that return a NaN operand instead of ignoring it (fmin would). */
static inline double min_nan(double a, double b)
{
    if (a != a) return a;
    if (b != b) return b;
    return b < a ? b : a;
}

static inline double max_nan(double a, double b)
{
    if (a != a) return a;
    if (b != b) return b;
    return b > a ? b : a;
}

static inline double apply1(int op, double a)
{
    switch (op) {
    case OP_NEG:   return -a;
    case OP_NOT:   return a == 0 ? 1.0 : 0.0;
    case OP_SIN:   return sin(a);
    case OP_COS:   return cos(a);
    case OP_TAN:   return tan(a);
    case OP_ASIN:  return asin(a);
    case OP_ACOS:  return acos(a);
    case OP_ATAN:  return atan(a);
    case OP_SQRT:  return sqrt(a);
    case OP_EXP:   return exp(a);
    case OP_LOG:   return log(a);
    case OP_LOG10: return log10(a);
    case OP_ABS:   return fabs(a);
    case OP_FLOOR: return floor(a);
    case OP_CEIL:  return ceil(a);
    case OP_ROUND: return round(a);
    default:       return NAN;
    }
}

static inline double apply2(int op, double a, double b)
{
    switch (op) {
    case OP_ADD:   return a + b;
    case OP_SUB:   return a - b;
    case OP_MUL:   return a * b;
    case OP_DIV:   return a / b;
    case OP_MOD:   return floor_mod(a, b);
    case OP_POW:   return pow(a, b);
    case OP_LT:    return a < b ? 1.0 : 0.0;
    case OP_LE:    return a <= b ? 1.0 : 0.0;
    case OP_GT:    return a > b ? 1.0 : 0.0;
    case OP_GE:    return a >= b ? 1.0 : 0.0;
    case OP_EQ:    return a == b ? 1.0 : 0.0;
    case OP_NE:    return a != b ? 1.0 : 0.0;
    case OP_AND:   return (a != 0 && b != 0) ? 1.0 : 0.0;
    case OP_OR:    return (a != 0 || b != 0) ? 1.0 : 0.0;
    case OP_ATAN2: return atan2(a, b);
    case OP_MIN:   return min_nan(a, b);
    case OP_MAX:   return max_nan(a, b);
    default:       return NAN;
    }
}

static inline double apply3(int op, double a, double b, double c)
{
    switch (op) {
    case OP_CLAMP: return min_nan(max_nan(a, b), c);
    case OP_LERP:  return (1 - c) * a + c * b;
    default:       return NAN;
    }
}

/* ---- names ------------------------------------------------------------ */

typedef struct func {
    const char *name;
    int op;
    int min_args, max_args;   /* max_args 0: no upper limit */
} func;

static const func FUNCS[] = {
    { "sin", OP_SIN, 1, 1 },     { "cos", OP_COS, 1, 1 },     { "tan", OP_TAN, 1, 1 },
    { "asin", OP_ASIN, 1, 1 },   { "acos", OP_ACOS, 1, 1 },   { "atan", OP_ATAN, 1, 1 },
    { "atan2", OP_ATAN2, 2, 2 }, { "sqrt", OP_SQRT, 1, 1 },   { "exp", OP_EXP, 1, 1 },
    { "log", OP_LOG, 1, 1 },     { "log10", OP_LOG10, 1, 1 }, { "pow", OP_POW, 2, 2 },
    { "abs", OP_ABS, 1, 1 },     { "min", OP_MIN, 2, 0 },     { "max", OP_MAX, 2, 0 },
    { "floor", OP_FLOOR, 1, 1 }, { "ceil", OP_CEIL, 1, 1 },   { "round", OP_ROUND, 1, 1 },
    { "clamp", OP_CLAMP, 3, 3 }, { "lerp", OP_LERP, 3, 3 },   { "mod", OP_MOD, 2, 2 },
};
#define NFUNCS (sizeof FUNCS / sizeof FUNCS[0])

static const struct { const char *name; double v; } CONSTS[] = {
    { "pi", 3.14159265358979323846 },
    { "e", 2.71828182845904523536 },
};
#define NCONSTS (sizeof CONSTS / sizeof CONSTS[0])

static const func *find_func(const char *s, size_t n)
{
    for (size_t i = 0; i < NFUNCS; i++)
        if (strlen(FUNCS[i].name) == n && memcmp(FUNCS[i].name, s, n) == 0) return &FUNCS[i];
    return NULL;
}

/* Every easing name is shorter than this; longer identifiers are not one. */
#define EASE_NAME_MAX 40

static int find_easing(const char *s, size_t n, kn_easing *out)
{
    char buf[EASE_NAME_MAX];
    if (n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return kn_easing_by_name(buf, out);
}

bool kn_expr_is_reserved(const char *name)
{
    if (!name) return false;
    kn_easing e;
    size_t n = strlen(name);
    for (size_t i = 0; i < NCONSTS; i++)
        if (strcmp(CONSTS[i].name, name) == 0) return true;
    return find_func(name, n) || find_easing(name, n, &e);
}

/* ---- the parser --------------------------------------------------------- */

enum {
    T_END = 256, T_NUM, T_NAME,
    T_LE, T_GE, T_EQ, T_NE, T_AND, T_OR, T_POW2   /* <= >= == != && || ** */
    /* single-character tokens are their character */
};

typedef struct tok {
    int kind;
    size_t pos;     /* byte offset in the source */
    size_t len;
    double num;
} tok;

typedef struct perr {
    int code;
    size_t pos;           /* byte offset of the fault */
    char what[320];       /* message without the column */
    char hint[160];       /* "" or " (...)" after the column */
} perr;

typedef struct parser {
    const char *s;        /* not NUL-terminated: a template passes a span */
    size_t len, pos;
    tok cur;
    const kn_expr_names *names;
    int depth;

    insn *code;
    size_t ncode, capcode;
    double *k;
    size_t nk, capk;
    kn_easing *ez;
    size_t nez, capez;
    int sp;               /* values on the eval stack at this point */
    size_t fold_floor;

    perr *err;
} parser;

static int fail(parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    p->err->code = KN_EINVAL;
    p->err->pos = pos;
    vsnprintf(p->err->what, sizeof p->err->what, fmt, ap);
    va_end(ap);
    return -1;
}

static void hint(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hint(parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->hint, sizeof p->err->hint, fmt, ap);
    va_end(ap);
}

static int oom(parser *p)
{
    p->err->code = KN_ENOMEM;
    p->err->pos = 0;
    snprintf(p->err->what, sizeof p->err->what, "out of memory compiling an expression");
    return -1;
}

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int ch(const parser *p, size_t i) { return i < p->len ? (unsigned char)p->s[i] : 0; }

/* At most 40 characters of a name (names are [A-Za-z0-9_], safe to print). */
#define NAME_FMT "%.*s%s"
#define NAME_ARG(s, n) (int)((n) > 40 ? 40 : (n)), (s), ((n) > 40 ? "..." : "")

/* How a token reads in a message. */
static const char *tok_desc(const parser *p, const tok *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case T_END:  return "the end of the expression";
    case T_NUM:
        snprintf(buf, cap, "number \"" NAME_FMT "\"", NAME_ARG(p->s + t->pos, t->len));
        break;
    case T_NAME:
        snprintf(buf, cap, "name \"" NAME_FMT "\"", NAME_ARG(p->s + t->pos, t->len));
        break;
    default:     snprintf(buf, cap, "\"%.*s\"", (int)t->len, p->s + t->pos); break;
    }
    return buf;
}

static int lex_number(parser *p, size_t start)
{
    size_t i = start;
    int digits = 0;
    while (is_digit(ch(p, i))) { i++; digits++; }
    if (ch(p, i) == '.') {
        i++;
        while (is_digit(ch(p, i))) { i++; digits++; }
    }
    if (digits && (ch(p, i) == 'e' || ch(p, i) == 'E')) {
        size_t j = i + 1;
        if (ch(p, j) == '+' || ch(p, j) == '-') j++;
        if (!is_digit(ch(p, j))) {
            while (is_alpha(ch(p, j)) || is_digit(ch(p, j))) j++;
            return fail(p, start, "malformed number \"" NAME_FMT "\"",
                        NAME_ARG(p->s + start, j - start));
        }
        while (is_digit(ch(p, j))) j++;
        i = j;
    }
    size_t n = i - start;
    char buf[128];
    /* strtod gets a NUL-terminated copy of exactly the digits checked above,
     * so it cannot read hex, "inf" or past a template's placeholder. */
    if (n >= sizeof buf)
        return fail(p, start, "number longer than %zu characters", sizeof buf - 1);
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (isinf(v))
        return fail(p, start, "number \"" NAME_FMT "\" is too large",
                    NAME_ARG(p->s + start, n));
    p->cur = (tok){ T_NUM, start, n, v };
    p->pos = i;
    return 0;
}

static int next(parser *p)
{
    while (p->pos < p->len) {
        int c = ch(p, p->pos);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
    size_t s = p->pos;
    int c = ch(p, s), c2 = ch(p, s + 1);
    if (s >= p->len) {
        p->cur = (tok){ T_END, s, 0, 0 };
        return 0;
    }
    if (is_digit(c) || (c == '.' && is_digit(c2))) return lex_number(p, s);
    if (is_alpha(c)) {
        size_t i = s + 1;
        while (is_alpha(ch(p, i)) || is_digit(ch(p, i))) i++;
        p->cur = (tok){ T_NAME, s, i - s, 0 };
        p->pos = i;
        return 0;
    }
    int kind = 0, n = 2;
    if (c == '<' && c2 == '=') kind = T_LE;
    else if (c == '>' && c2 == '=') kind = T_GE;
    else if (c == '=' && c2 == '=') kind = T_EQ;
    else if (c == '!' && c2 == '=') kind = T_NE;
    else if (c == '&' && c2 == '&') kind = T_AND;
    else if (c == '|' && c2 == '|') kind = T_OR;
    else if (c == '*' && c2 == '*') kind = T_POW2;
    else if (c && strchr("+-*/%^()<>!?:,", c)) { kind = c; n = 1; }
    if (kind) {
        p->cur = (tok){ kind, s, (size_t)n, 0 };
        p->pos = s + (size_t)n;
        return 0;
    }
    if (c == '=') {
        hint(p, " (use \"==\" to compare)");
        return fail(p, s, "unexpected \"=\"");
    }
    if (c == '&' || c == '|') {
        hint(p, " (use \"%c%c\")", c, c);
        return fail(p, s, "unexpected \"%c\"", c);
    }
    if (c > 0x20 && c < 0x7F && c != '"' && c != '\\')
        return fail(p, s, "unexpected character \"%c\"", c);
    return fail(p, s, "unexpected byte 0x%02X", (unsigned)c);
}

/* ---- emitting ------------------------------------------------------------ */

static int grow(parser *p, void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 32;
    while (nc < need) nc *= 2;
    void *n = realloc(*arr, nc * size);
    if (!n) return oom(p);
    *arr = n;
    *cap = nc;
    return 0;
}

static int emit(parser *p, int op, int32_t arg, int effect)
{
    if (grow(p, (void **)&p->code, &p->capcode, p->ncode + 1, sizeof *p->code)) return -1;
    p->code[p->ncode++] = (insn){ op, arg };
    p->sp += effect;
    if (p->sp > KN_EXPR_MAX_STACK)
        return fail(p, p->cur.pos, "expression is too complex (over %d values pending)",
                    KN_EXPR_MAX_STACK);
    return 0;
}

static int push_const(parser *p, double v)
{
    if (p->nk >= INT32_MAX) return oom(p);
    if (grow(p, (void **)&p->k, &p->capk, p->nk + 1, sizeof *p->k)) return -1;
    p->k[p->nk] = v;
    return emit(p, OP_CONST, (int32_t)p->nk++, 1);
}

/* True if the last n instructions are CONSTs that may be folded. */
static int tail_consts(const parser *p, size_t n)
{
    if (p->ncode < n || p->ncode - n < p->fold_floor) return 0;
    for (size_t i = p->ncode - n; i < p->ncode; i++)
        if (p->code[i].op != OP_CONST) return 0;
    return 1;
}

static double tail_const(const parser *p, size_t back)
{
    return p->k[p->code[p->ncode - back].arg];
}

/* Emits an operator of op_arity(op) operands, or folds it. */
static int emit_op(parser *p, int op)
{
    int n = op_arity(op);
    if (tail_consts(p, (size_t)n)) {
        double v;
        if (n == 1) v = apply1(op, tail_const(p, 1));
        else if (n == 2) v = apply2(op, tail_const(p, 2), tail_const(p, 1));
        else v = apply3(op, tail_const(p, 3), tail_const(p, 2), tail_const(p, 1));
        p->ncode -= (size_t)n;
        p->sp -= n;
        return push_const(p, v);
    }
    return emit(p, op, 0, 1 - n);
}

static int emit_ease(parser *p, const kn_easing *e)
{
    if (tail_consts(p, 1)) {
        double v = kn_easing_apply(e, tail_const(p, 1));
        p->ncode--;
        p->sp--;
        return push_const(p, v);
    }
    if (p->nez >= INT32_MAX) return oom(p);
    if (grow(p, (void **)&p->ez, &p->capez, p->nez + 1, sizeof *p->ez)) return -1;
    p->ez[p->nez] = *e;
    return emit(p, OP_EASE, (int32_t)p->nez++, 0);
}

/* ---- grammar ------------------------------------------------------------- */

static int parse_expr(parser *p);
static int parse_unary(parser *p);

static int enter(parser *p, size_t pos)
{
    if (++p->depth > KN_EXPR_MAX_DEPTH)
        return fail(p, pos, "expression nests deeper than %d levels", KN_EXPR_MAX_DEPTH);
    return 0;
}

static int expect_close(parser *p, size_t open_pos, const char *what)
{
    if (p->cur.kind == ')') return next(p);
    char b[96];
    hint(p, " to close \"%s\" at column %zu", what, open_pos + 1);
    return fail(p, p->cur.pos, "missing \")\" before %s", tok_desc(p, &p->cur, b, sizeof b));
}

/* Near misses of a name in any case: "Sin" -> "sin". */
static const char *near_miss(const parser *p, const char *s, size_t n, char *buf, size_t cap)
{
    if (p->names)
        for (size_t i = 0; i < p->names->n; i++) {
            const char *v = p->names->vars[i].name;
            if (v && strlen(v) == n && strncasecmp(v, s, n) == 0) return v;
        }
    for (size_t i = 0; i < NFUNCS; i++)
        if (strlen(FUNCS[i].name) == n && strncasecmp(FUNCS[i].name, s, n) == 0)
            return FUNCS[i].name;
    for (size_t i = 0; i < NCONSTS; i++)
        if (strlen(CONSTS[i].name) == n && strncasecmp(CONSTS[i].name, s, n) == 0)
            return CONSTS[i].name;
    /* easing.h exports no list of names, so the spec's spellings are
     * rebuilt here; a name missing from this list only loses the hint. */
    if (n < cap && n < EASE_NAME_MAX) {
        static const char *const pre[] = { "easeInOut", "easeIn", "easeOut" };
        static const char *const suf[] = { "Quad", "Cubic", "Quart", "Quint", "Sine", "Expo",
                                           "Circ", "Elastic", "Back", "Bounce", "Poly" };
        static const char *const plain[] = { "linear", "smoothstep", "smootheststep",
                                             "squeeze", "doublespeed", "freeze" };
        for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
            if (strlen(plain[i]) == n && strncasecmp(plain[i], s, n) == 0) return plain[i];
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < sizeof suf / sizeof suf[0]; j++) {
                snprintf(buf, cap, "%s%s", pre[i], suf[j]);
                if (strlen(buf) == n && strncasecmp(buf, s, n) == 0) return buf;
            }
    }
    return NULL;
}

static int lookup_var(const parser *p, const char *s, size_t n, int *index)
{
    if (!p->names) return 0;
    for (size_t i = 0; i < p->names->n; i++) {
        const char *v = p->names->vars[i].name;
        if (v && strlen(v) == n && memcmp(v, s, n) == 0) {
            *index = p->names->vars[i].index;
            return 1;
        }
    }
    return 0;
}

static int parse_call(parser *p, const char *name, size_t n, size_t npos)
{
    const func *f = find_func(name, n);
    kn_easing ease;
    int is_ease = 0, idx;
    if (!f) {
        is_ease = find_easing(name, n, &ease);
        if (!is_ease) {
            char b[EASE_NAME_MAX + 8];
            const char *nm = near_miss(p, name, n, b, sizeof b);
            if (lookup_var(p, name, n, &idx))
                hint(p, " (\"" NAME_FMT "\" is a variable; multiply with \"*\")",
                     NAME_ARG(name, n));
            else if (nm)
                hint(p, " (did you mean \"%s\"?)", nm);
            return fail(p, npos, "unknown function \"" NAME_FMT "\"", NAME_ARG(name, n));
        }
    }
    int min = is_ease ? 1 : f->min_args, max = is_ease ? 1 : f->max_args;
    size_t open = p->cur.pos;
    if (enter(p, npos) || next(p)) return -1;
    int argc = 0;
    if (p->cur.kind != ')') {
        for (;;) {
            if (parse_expr(p)) return -1;
            argc++;
            /* Variadic min/max fold pairwise so the stack stays shallow. */
            if (!is_ease && f->max_args == 0 && argc >= 2 && emit_op(p, f->op)) return -1;
            if (p->cur.kind != ',') break;
            if (next(p)) return -1;
        }
    }
    char what[EASE_NAME_MAX + 8];
    snprintf(what, sizeof what, NAME_FMT "(", NAME_ARG(name, n));
    if (expect_close(p, open, what)) return -1;
    if (argc < min || (max && argc > max)) {
        if (max == 0)
            return fail(p, npos, NAME_FMT "() takes at least %d arguments but got %d",
                        NAME_ARG(name, n), min, argc);
        return fail(p, npos, NAME_FMT "() takes %d argument%s but got %d",
                    NAME_ARG(name, n), min, min == 1 ? "" : "s", argc);
    }
    p->depth--;
    if (is_ease) return emit_ease(p, &ease);
    if (f->max_args == 0) return 0;
    return emit_op(p, f->op);
}

static int parse_primary(parser *p)
{
    tok t = p->cur;
    char b[96];
    switch (t.kind) {
    case T_NUM:
        if (push_const(p, t.num)) return -1;
        return next(p);
    case '(':
        if (enter(p, t.pos) || next(p) || parse_expr(p) || expect_close(p, t.pos, "(")) return -1;
        p->depth--;
        return 0;
    case T_NAME: {
        const char *name = p->s + t.pos;
        size_t n = t.len;
        if (next(p)) return -1;
        if (p->cur.kind == '(') return parse_call(p, name, n, t.pos);
        int idx;
        if (lookup_var(p, name, n, &idx)) {
            if (idx < 0) {
                p->err->code = KN_EINTERNAL;
                p->err->pos = t.pos;
                snprintf(p->err->what, sizeof p->err->what,
                         "variable \"" NAME_FMT "\" has no slot", NAME_ARG(name, n));
                return -1;
            }
            return emit(p, OP_VAR, idx, 1);
        }
        for (size_t i = 0; i < NCONSTS; i++)
            if (strlen(CONSTS[i].name) == n && memcmp(CONSTS[i].name, name, n) == 0)
                return push_const(p, CONSTS[i].v);
        kn_easing e;
        if (find_func(name, n) || find_easing(name, n, &e)) {
            hint(p, " (call it: " NAME_FMT "(...))", NAME_ARG(name, n));
            return fail(p, t.pos, "function \"" NAME_FMT "\" used without arguments",
                        NAME_ARG(name, n));
        }
        char nb[EASE_NAME_MAX + 8];
        const char *nm = near_miss(p, name, n, nb, sizeof nb);
        if (nm) hint(p, " (did you mean \"%s\"?)", nm);
        return fail(p, t.pos, "unknown name \"" NAME_FMT "\"", NAME_ARG(name, n));
    }
    case T_END:
        return fail(p, t.pos, "expected a number, name or \"(\" but the expression ends");
    default:
        return fail(p, t.pos, "expected a number, name or \"(\" but found %s",
                    tok_desc(p, &t, b, sizeof b));
    }
}

static int parse_power(parser *p)
{
    if (parse_primary(p)) return -1;
    if (p->cur.kind != '^' && p->cur.kind != T_POW2) return 0;
    /* The exponent is a unary expression: 2^-1, and 2^3^2 = 2^(3^2). */
    if (enter(p, p->cur.pos) || next(p) || parse_unary(p)) return -1;
    p->depth--;
    return emit_op(p, OP_POW);
}

static int parse_unary(parser *p)
{
    int k = p->cur.kind;
    if (k != '-' && k != '+' && k != '!') return parse_power(p);
    if (enter(p, p->cur.pos) || next(p) || parse_unary(p)) return -1;
    p->depth--;
    if (k == '+') return 0;
    return emit_op(p, k == '-' ? OP_NEG : OP_NOT);
}

static int binary_op(int kind, int *op)
{
    switch (kind) {
    case T_OR:  *op = OP_OR;  return 1;
    case T_AND: *op = OP_AND; return 2;
    case T_EQ:  *op = OP_EQ;  return 3;
    case T_NE:  *op = OP_NE;  return 3;
    case '<':   *op = OP_LT;  return 4;
    case T_LE:  *op = OP_LE;  return 4;
    case '>':   *op = OP_GT;  return 4;
    case T_GE:  *op = OP_GE;  return 4;
    case '+':   *op = OP_ADD; return 5;
    case '-':   *op = OP_SUB; return 5;
    case '*':   *op = OP_MUL; return 6;
    case '/':   *op = OP_DIV; return 6;
    case '%':   *op = OP_MOD; return 6;
    default:    return 0;
    }
}

/* Precedence climbing; all binary operators are left-associative. */
static int parse_binary(parser *p, int min_prec)
{
    if (parse_unary(p)) return -1;
    for (;;) {
        int op, prec = binary_op(p->cur.kind, &op);
        if (!prec || prec < min_prec) return 0;
        if (next(p) || parse_binary(p, prec + 1) || emit_op(p, op)) return -1;
    }
}

static int parse_expr(parser *p)
{
    if (parse_binary(p, 1)) return -1;
    if (p->cur.kind != '?') return 0;
    size_t qpos = p->cur.pos;
    if (enter(p, qpos)) return -1;

    int known = tail_consts(p, 1);
    double cond = known ? tail_const(p, 1) : 0;
    size_t jz = 0;
    if (known) {
        p->ncode--;
        p->sp--;
    } else {
        jz = p->ncode;
        if (emit(p, OP_JZ, 0, -1)) return -1;
    }
    int sp0 = p->sp;
    size_t floor0 = p->fold_floor, then_at = p->ncode;
    p->fold_floor = then_at;
    if (next(p) || parse_expr(p)) return -1;
    if (p->cur.kind != ':') {
        char b[96];
        hint(p, " for the \"?\" at column %zu", qpos + 1);
        return fail(p, p->cur.pos, "missing \":\" before %s", tok_desc(p, &p->cur, b, sizeof b));
    }
    size_t jmp = p->ncode;
    if (!known && emit(p, OP_JMP, 0, 0)) return -1;
    size_t else_at = p->ncode;
    p->sp = sp0;
    p->fold_floor = else_at;
    if (next(p) || parse_expr(p)) return -1;
    p->depth--;

    if (!known) {
        p->code[jz].arg = (int32_t)(else_at - jz);
        p->code[jmp].arg = (int32_t)(p->ncode - jmp);
        p->fold_floor = p->ncode;   /* the end is a jump target */
        return 0;
    }
    /* Keep the chosen branch; jumps are relative, so moving code is safe. */
    size_t keep_len;
    if (cond != 0) {
        keep_len = else_at - then_at;
    } else {
        keep_len = p->ncode - else_at;
        memmove(p->code + then_at, p->code + else_at, keep_len * sizeof *p->code);
    }
    p->ncode = then_at + keep_len;
    p->fold_floor = (keep_len == 1 && p->code[then_at].op == OP_CONST) ? floor0 : p->ncode;
    return 0;
}

/* ---- compiled expressions ------------------------------------------------ */

struct kn_expr {
    size_t ncode;
    const insn *code;
    const double *k;
    const kn_easing *ez;
    bool is_const;
    double value;       /* the value when is_const */
    size_t bytes;       /* the one block holding all of it (kn_expr_bytes) */
};

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

/* Copies the code with only the pool entries it still uses. */
static int finish(parser *p, kn_expr **out)
{
    size_t nk = 0, nez = 0;
    bool has_var = false;
    for (size_t i = 0; i < p->ncode; i++) {
        if (p->code[i].op == OP_CONST) nk++;
        else if (p->code[i].op == OP_EASE) nez++;
        else if (p->code[i].op == OP_VAR) has_var = true;
    }
    size_t off_k = ALIGN8(sizeof(kn_expr));
    size_t off_ez = off_k + nk * sizeof(double);
    size_t off_code = ALIGN8(off_ez + nez * sizeof(kn_easing));
    size_t total = off_code + p->ncode * sizeof(insn);
    char *mem = malloc(total);
    if (!mem) return oom(p);
    kn_expr *e = (kn_expr *)mem;
    double *k = (double *)(mem + off_k);
    kn_easing *ez = (kn_easing *)(mem + off_ez);
    insn *code = (insn *)(mem + off_code);
    nk = nez = 0;
    for (size_t i = 0; i < p->ncode; i++) {
        insn in = p->code[i];
        if (in.op == OP_CONST) {
            k[nk] = p->k[in.arg];
            in.arg = (int32_t)nk++;
        } else if (in.op == OP_EASE) {
            ez[nez] = p->ez[in.arg];
            in.arg = (int32_t)nez++;
        }
        code[i] = in;
    }
    *e = (kn_expr){ p->ncode, code, k, ez, false, NAN, total };
    if (!has_var) {
        /* Folding leaves one CONST here; running the code covers any case
         * it might not, and reads no variable. */
        e->value = kn_expr_eval(e, NULL);
        e->is_const = true;
    }
    *out = e;
    return 0;
}

/* Compiles s[0, len). On failure fills *pe (pos relative to s). */
static int compile_span(const char *s, size_t len, const kn_expr_names *names, kn_expr **out,
                        perr *pe)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.s = s;
    p.len = len;
    p.names = names;
    p.err = pe;
    pe->code = KN_OK;
    pe->hint[0] = '\0';
    *out = NULL;
    int rc = -1;

    if (next(&p)) goto out;
    if (p.cur.kind == T_END) {
        fail(&p, 0, "empty expression");
        goto out;
    }
    if (parse_expr(&p)) goto out;
    if (p.cur.kind != T_END) {
        char b[96];
        if (p.cur.kind == ')') {
            fail(&p, p.cur.pos, "unmatched \")\"");
        } else {
            if (p.cur.kind == T_NUM || p.cur.kind == T_NAME || p.cur.kind == '(')
                hint(&p, " (missing operator?)");
            fail(&p, p.cur.pos, "unexpected %s", tok_desc(&p, &p.cur, b, sizeof b));
        }
        goto out;
    }
    rc = finish(&p, out);
out:
    free(p.code);
    free(p.k);
    free(p.ez);
    return rc;
}

static int report(const perr *pe, int col, int *err_col, kn_err *err)
{
    if (err_col) *err_col = pe->code == KN_ENOMEM ? 0 : col;
    if (pe->code == KN_ENOMEM) return kn_err_set(err, KN_ENOMEM, NULL, "%s", pe->what);
    return kn_err_set(err, pe->code, NULL, "%s at column %d%s", pe->what, col, pe->hint);
}

int kn_expr_compile_span(const char *s, size_t len, int col0, const kn_expr_names *names,
                         kn_expr **out, int *err_col, kn_err *err)
{
    perr pe;
    *out = NULL;
    if (compile_span(s, len, names, out, &pe) == 0) {
        if (err_col) *err_col = 0;
        return KN_OK;
    }
    /* Bytes of the span before the fault are ASCII (anything else is itself
     * the fault), so columns add up. */
    return report(&pe, col0 + (int)pe.pos + 1, err_col, err);
}

int kn_expr_compile(const char *src, const kn_expr_names *names, kn_expr **out,
                    int *err_col, kn_err *err)
{
    perr pe;
    if (out) *out = NULL;
    if (!src || !out) {
        if (err_col) *err_col = 0;
        return kn_err_set(err, KN_EINTERNAL, NULL, "kn_expr_compile: no source or output");
    }
    size_t len = strnlen(src, KN_EXPR_MAX_LEN + 1);
    if (len > KN_EXPR_MAX_LEN) {
        if (err_col) *err_col = KN_EXPR_MAX_LEN + 1;
        return kn_err_set(err, KN_EINVAL, NULL, "expression is longer than %d characters "
                          "at column %d", KN_EXPR_MAX_LEN, KN_EXPR_MAX_LEN + 1);
    }
    if (compile_span(src, len, names, out, &pe) == 0) {
        if (err_col) *err_col = 0;
        return KN_OK;
    }
    return report(&pe, (int)pe.pos + 1, err_col, err);
}

double kn_expr_eval(const kn_expr *e, const double *vars)
{
    if (!e) return NAN;
    if (e->is_const) return e->value;
    double st[KN_EXPR_MAX_STACK];
    double *sp = st;    /* next free slot */
    const insn *pc = e->code, *end = pc + e->ncode;
    while (pc < end) {
        int op = pc->op;
        switch (op) {
        case OP_CONST: *sp++ = e->k[pc->arg]; break;
        case OP_VAR:   *sp++ = vars[pc->arg]; break;
        case OP_EASE:  sp[-1] = kn_easing_apply(&e->ez[pc->arg], sp[-1]); break;
        case OP_NEG:   sp[-1] = -sp[-1]; break;
        case OP_NOT: case OP_SIN: case OP_COS: case OP_TAN: case OP_ASIN: case OP_ACOS:
        case OP_ATAN: case OP_SQRT: case OP_EXP: case OP_LOG: case OP_LOG10: case OP_ABS:
        case OP_FLOOR: case OP_CEIL: case OP_ROUND:
            sp[-1] = apply1(op, sp[-1]);
            break;
        case OP_ADD:   sp--; sp[-1] += sp[0]; break;
        case OP_SUB:   sp--; sp[-1] -= sp[0]; break;
        case OP_MUL:   sp--; sp[-1] *= sp[0]; break;
        case OP_DIV:   sp--; sp[-1] /= sp[0]; break;
        case OP_MOD: case OP_POW: case OP_LT: case OP_LE: case OP_GT: case OP_GE:
        case OP_EQ: case OP_NE: case OP_AND: case OP_OR: case OP_ATAN2: case OP_MIN:
        case OP_MAX:
            sp--;
            sp[-1] = apply2(op, sp[-1], sp[0]);
            break;
        case OP_CLAMP: case OP_LERP:
            sp -= 2;
            sp[-1] = apply3(op, sp[-1], sp[0], sp[1]);
            break;
        case OP_JZ:
            sp--;
            if (sp[0] == 0) {
                pc += pc->arg;
                continue;
            }
            break;
        case OP_JMP:
            pc += pc->arg;
            continue;
        default:
            return NAN;   /* unreachable: compile emits only the ops above */
        }
        pc++;
    }
    return st[0];
}

bool kn_expr_uses(const kn_expr *e, int var_index)
{
    if (!e) return false;
    for (size_t i = 0; i < e->ncode; i++)
        if (e->code[i].op == OP_VAR && e->code[i].arg == var_index) return true;
    return false;
}

bool kn_expr_is_const(const kn_expr *e)
{
    return e && e->is_const;
}

void kn_expr_destroy(kn_expr *e)
{
    free(e);
}

size_t kn_expr_bytes(const kn_expr *e)
{
    return e ? e->bytes : 0;
}
