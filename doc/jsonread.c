/*
 * doc/jsonread.c - see jsonread.h.
 *
 * A recursive-descent reader over a byte range. Invariants:
 *  - r->p never passes r->end; every read of *r->p is preceded by a bounds
 *    check (the input is not NUL-terminated).
 *  - A value is attached to its container as soon as it is complete, so on
 *    failure the caller only has to drop the container it holds: nothing
 *    built is leaked or freed twice.
 *  - Decoded strings never grow: an escape is at least as long as the UTF-8
 *    it stands for, so the scratch buffer is capped at the input length.
 *  - kn_jsonread_member scans without building values, under the same
 *    bounds rule: no pointer goes past end.
 */
#include "doc/jsonread.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const unsigned char *s, *p, *end;
    int depth;
    char *buf;           /* scratch for strings with escapes or non-ASCII */
    size_t cap;
    kn_jsonread_error *e;
} reader;

static json_t *read_value(reader *r);

/* Records the first failure at byte at (the reader stops at the first). */
static json_t *fail_at(reader *r, const unsigned char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *fail_at(reader *r, const unsigned char *at, const char *fmt, ...)
{
    kn_jsonread_error *e = r->e;
    if (!e) return NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    e->position = (size_t)(at - r->s);
    e->line = 1;
    e->column = 1;
    for (const unsigned char *q = r->s; q < at; q++) {
        if (*q == '\n') {
            e->line++;
            e->column = 1;
        } else if ((*q & 0xC0) != 0x80) {
            e->column++;
        }
    }
    return NULL;
}

/* What is at p, for messages: the byte if printable, else a description. */
static const char *what(const reader *r, const unsigned char *p, char buf[16])
{
    if (p >= r->end) return "the end of the document";
    if (*p >= 0x20 && *p < 0x7F) snprintf(buf, 16, "'%c'", *p);
    else snprintf(buf, 16, "byte 0x%02X", *p);
    return buf;
}

static void skip_ws(reader *r)
{
    const unsigned char *p = r->p, *end = r->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    r->p = p;
}

/* ---- strings ---------------------------------------------------------- */

static int hex4(const unsigned char *p, const unsigned char *end, unsigned *out)
{
    if (end - p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0:
 * the same rules as jansson's utf8_check_full. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], cp;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return n;
}

/* Reads the string whose opening quote is at r->p. On success *out and *len hold
 * its decoded UTF-8: a pointer into the input when it needed no decoding,
 * else into r->buf (valid until the next string is read). */
static int read_string(reader *r, const char **out, size_t *len)
{
    const unsigned char *start = ++r->p, *p = start, *end = r->end;
    /* Fast path: plain ASCII up to the closing quote. */
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80) p++;
    if (p < end && *p == '"') {
        *out = (const char *)start;
        *len = (size_t)(p - start);
        r->p = p + 1;
        return 0;
    }
    size_t need = (size_t)(end - start);
    if (need > r->cap) {
        char *nb = realloc(r->buf, need);
        if (!nb) return fail_at(r, start, "out of memory reading a string"), -1;
        r->buf = nb;
        r->cap = need;
    }
    size_t o = (size_t)(p - start);
    if (o) memcpy(r->buf, start, o);
    char wb[16];
    for (;;) {
        if (p >= end) return fail_at(r, start - 1, "unterminated string"), -1;
        unsigned c = *p;
        if (c == '"') break;
        if (c < 0x20) {
            fail_at(r, p, "control character 0x%02X in a string: write it as an escape", c);
            return -1;
        }
        if (c < 0x80) {
            if (c != '\\') {
                r->buf[o++] = (char)c;
                p++;
                continue;
            }
            if (p + 1 >= end) return fail_at(r, start - 1, "unterminated string"), -1;
            unsigned esc = p[1];
            const char *simple = strchr("\"\\/bfnrt", (int)esc);
            if (esc && simple) {
                static const char to[] = "\"\\/\b\f\n\r\t";
                r->buf[o++] = to[simple - "\"\\/bfnrt"];
                p += 2;
                continue;
            }
            if (esc != 'u') {
                fail_at(r, p, "invalid escape \\%s in a string", what(r, p + 1, wb));
                return -1;
            }
            unsigned cp, lo;
            if (hex4(p + 2, end, &cp)) return fail_at(r, p, "\\u must be followed by 4 hex digits"), -1;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail_at(r, p, "invalid Unicode escape \\u%04X: a low surrogate without a high one", cp);
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, end, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    fail_at(r, p, "invalid Unicode escape \\u%04X: a high surrogate must be "
                            "followed by a low one", cp);
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            if (cp == 0) return fail_at(r, p, "\\u0000 is not allowed in a string"), -1;
            o += put_utf8(r->buf + o, cp);
            p += 6;
            continue;
        }
        size_t n = utf8_len(p, end);
        if (!n) return fail_at(r, p, "invalid UTF-8 in a string"), -1;
        memcpy(r->buf + o, p, n);
        o += n;
        p += n;
    }
    *out = r->buf;
    *len = o;
    r->p = p + 1;
    return 0;
}

/* ---- numbers ---------------------------------------------------------- */

static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static locale_t c_locale(void)
{
    static locale_t loc;   /* made once; racing threads make the same one */
    locale_t l = __atomic_load_n(&loc, __ATOMIC_ACQUIRE);
    if (!l) {
        l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        locale_t expected = (locale_t)0;
        if (l && !__atomic_compare_exchange_n(&loc, &expected, l, 0, __ATOMIC_ACQ_REL,
                                              __ATOMIC_ACQUIRE)) {
            freelocale(l);
            l = expected;
        }
    }
    return l;
}

static json_t *read_number(reader *r)
{
    const unsigned char *start = r->p, *p = start, *end = r->end;
    char wb[16];
    int neg = 0;
    uint64_t m = 0;
    int sig = 0;          /* significant digits taken into m */
    int dropped = 0;      /* nonzero digits that did not fit into m */
    long e10 = 0;         /* value = m * 10^e10 (while !dropped) */

    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9')
        return fail_at(r, start, "invalid number: a digit must follow '-'");
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            return fail_at(r, start, "invalid number: leading zeros are not allowed");
    } else {
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            if (sig < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                sig++;
            } else {
                e10++;
                dropped |= *p != '0';
            }
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail_at(r, start, "invalid number: a digit must follow '.'");
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            if (m == 0 && *p == '0') {
                e10--;               /* a leading zero of the fraction */
            } else if (sig < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                sig++;
                e10--;
            } else {
                dropped |= *p != '0';
            }
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p >= end || *p < '0' || *p > '9')
            return fail_at(r, start, "invalid number: a digit must follow the exponent mark");
        long x = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (x < 100000) x = x * 10 + (*p - '0');
        e10 += eneg ? -x : x;
    }
    if (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '.' ||
                    *p == '+' || *p == '-'))
        return fail_at(r, p, "invalid number: unexpected %s", what(r, p, wb));
    r->p = p;

    double v;
    if (!dropped && m <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        v = (double)m;
        v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
        if (neg) v = -v;
    } else {
        /* Long mantissas and large exponents: strtod rounds them exactly. */
        size_t n = (size_t)(p - start);
        char small[64], *tok = n < sizeof small ? small : malloc(n + 1);
        if (!tok) return fail_at(r, start, "out of memory reading a number");
        memcpy(tok, start, n);
        tok[n] = '\0';
        locale_t loc = c_locale();
        v = loc ? strtod_l(tok, NULL, loc) : strtod(tok, NULL);
        if (tok != small) free(tok);
    }
    if (isinf(v)) return fail_at(r, start, "number out of range: its magnitude is above 1.8e308");
    json_t *j = json_real(v);
    if (!j) return fail_at(r, start, "out of memory");
    return j;
}

/* ---- containers ------------------------------------------------------- */

static json_t *read_array(reader *r)
{
    const unsigned char *open = r->p++;
    char wb[16];
    json_t *a = json_array();
    if (!a) return fail_at(r, open, "out of memory");
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        json_t *v = read_value(r);
        if (!v) goto fail;
        if (json_array_append_new(a, v)) {
            fail_at(r, r->p, "out of memory");
            goto fail;
        }
        skip_ws(r);
        if (r->p >= r->end) {
            fail_at(r, open, "unterminated array: ']' expected");
            goto fail;
        }
        if (*r->p == ']') {
            r->p++;
            return a;
        }
        if (*r->p != ',') {
            fail_at(r, r->p, "',' or ']' expected after an array element, found %s",
                    what(r, r->p, wb));
            goto fail;
        }
        r->p++;
        skip_ws(r);
        if (r->p < r->end && *r->p == ']') {
            fail_at(r, r->p, "a value expected, found ']': JSON allows no comma after the "
                    "last element");
            goto fail;
        }
    }
fail:
    json_decref(a);
    return NULL;
}

static json_t *read_object(reader *r)
{
    const unsigned char *open = r->p++;
    char wb[16];
    char *kcopy = NULL;
    json_t *o = json_object();
    if (!o) return fail_at(r, open, "out of memory");
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        if (r->p >= r->end || *r->p != '"') {
            if (r->p < r->end && *r->p == '\'')
                fail_at(r, r->p, "a key in double quotes expected, found a single quote: JSON "
                        "strings use double quotes");
            else if (r->p < r->end && *r->p == '}')
                fail_at(r, r->p, "a key in double quotes expected, found '}': JSON allows no "
                        "comma after the last member");
            else
                fail_at(r, r->p, "a key in double quotes expected, found %s", what(r, r->p, wb));
            goto fail;
        }
        const unsigned char *kat = r->p;
        const char *key;
        size_t klen;
        if (read_string(r, &key, &klen)) goto fail;
        if (key == r->buf) {
            /* The value may be a string too and reuse the scratch buffer. */
            kcopy = malloc(klen ? klen : 1);
            if (!kcopy) {
                fail_at(r, kat, "out of memory");
                goto fail;
            }
            memcpy(kcopy, key, klen);
            key = kcopy;
        }
        if (json_object_getn(o, key, klen)) {
            fail_at(r, kat, "duplicate key \"%.*s\" in an object", klen > 60 ? 60 : (int)klen, key);
            goto fail;
        }
        skip_ws(r);
        if (r->p >= r->end || *r->p != ':') {
            fail_at(r, r->p, "':' expected after a key, found %s", what(r, r->p, wb));
            goto fail;
        }
        r->p++;
        json_t *v = read_value(r);
        if (!v) goto fail;
        if (json_object_setn_new_nocheck(o, key, klen, v)) {
            fail_at(r, kat, "out of memory");
            goto fail;
        }
        free(kcopy);
        kcopy = NULL;
        skip_ws(r);
        if (r->p >= r->end) {
            fail_at(r, open, "unterminated object: '}' expected");
            goto fail;
        }
        if (*r->p == '}') {
            r->p++;
            return o;
        }
        if (*r->p != ',') {
            fail_at(r, r->p, "',' or '}' expected after an object member, found %s",
                    what(r, r->p, wb));
            goto fail;
        }
        r->p++;
        skip_ws(r);
    }
fail:
    free(kcopy);
    json_decref(o);
    return NULL;
}

static json_t *read_value(reader *r)
{
    char wb[16];
    skip_ws(r);
    if (r->p >= r->end) return fail_at(r, r->p, "a value expected, found the end of the document");
    const unsigned char *p = r->p;
    size_t left = (size_t)(r->end - p);
    switch (*p) {
    case '{':
    case '[': {
        if (++r->depth > KN_JSONREAD_MAX_DEPTH)
            return fail_at(r, p, "nesting deeper than %d levels", KN_JSONREAD_MAX_DEPTH);
        json_t *v = *p == '{' ? read_object(r) : read_array(r);
        r->depth--;
        return v;
    }
    case '"': {
        const char *s;
        size_t n;
        if (read_string(r, &s, &n)) return NULL;
        json_t *v = json_stringn_nocheck(s, n);
        return v ? v : fail_at(r, p, "out of memory");
    }
    case 't':
        if (left >= 4 && !memcmp(p, "true", 4)) {
            r->p += 4;
            return json_true();
        }
        break;
    case 'f':
        if (left >= 5 && !memcmp(p, "false", 5)) {
            r->p += 5;
            return json_false();
        }
        break;
    case 'n':
        if (left >= 4 && !memcmp(p, "null", 4)) {
            r->p += 4;
            return json_null();
        }
        break;
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            if (left >= 9 && !memcmp(p, "-Infinity", 9)) break;
            return read_number(r);
        }
    }
    /* Say what the usual slips from JavaScript or Python are. */
    if ((left >= 3 && !memcmp(p, "NaN", 3)) || (left >= 8 && !memcmp(p, "Infinity", 8)) ||
        (left >= 9 && !memcmp(p, "-Infinity", 9)))
        return fail_at(r, p, "NaN and Infinity are not JSON numbers");
    if (left >= 2 && p[0] == '/' && (p[1] == '/' || p[1] == '*'))
        return fail_at(r, p, "comments are not allowed in JSON");
    if (*p == '\'')
        return fail_at(r, p, "a value expected, found a single quote: JSON strings use double quotes");
    return fail_at(r, p, "a value expected, found %s", what(r, p, wb));
}

json_t *kn_jsonread(const char *s, size_t n, kn_jsonread_error *e)
{
    static const char empty[1];
    reader r = {.s = (const unsigned char *)(s ? s : empty)};
    r.p = r.s;
    r.end = r.s + (s ? n : 0);
    r.e = e;
    char wb[16];
    json_t *v = read_value(&r);
    if (v) {
        skip_ws(&r);
        if (r.p < r.end) {
            fail_at(&r, r.p, "end of the document expected after the value, found %s",
                    what(&r, r.p, wb));
            json_decref(v);
            v = NULL;
        }
    }
    free(r.buf);
    return v;
}

/* ---- one member, as written ---------------------------------------------- */

/* Past the string whose opening quote is at p, without decoding it. */
static const unsigned char *scan_string(const unsigned char *p, const unsigned char *end)
{
    for (p++; p < end && *p != '"'; p++) {
        if (*p != '\\') continue;
        if (end - p < 2) return end;
        p++;   /* the escaped byte, which may be a quote */
    }
    return p < end ? p + 1 : end;
}

/* Past the value that starts at p, without building it: a string, a
 * container up to its matching bracket (strings inside skipped whole), or a
 * number or literal up to the next delimiter. */
static const unsigned char *scan_value(const unsigned char *p, const unsigned char *end)
{
    if (p < end && *p == '"') return scan_string(p, end);
    if (p < end && (*p == '{' || *p == '[')) {
        size_t depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = scan_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[') depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
            p++;
        }
        return end;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\r' && *p != '\n' && *p != '\0')
        p++;
    return p;
}

int kn_jsonread_member(const char *s, size_t n, const char *key, size_t *off, size_t *len)
{
    static const char empty[1];
    reader r = {.s = (const unsigned char *)(s ? s : empty)};
    r.p = r.s;
    r.end = r.s + (s ? n : 0);
    size_t klen = strlen(key);
    int found = 0;

    skip_ws(&r);
    if (r.p >= r.end || *r.p != '{') return 0;
    r.p++;
    skip_ws(&r);
    while (r.p < r.end && *r.p == '"') {
        const char *k;
        size_t kl;
        if (read_string(&r, &k, &kl)) break;   /* r.e is NULL: nothing reported */
        int match = kl == klen && !memcmp(k, key, klen);
        skip_ws(&r);
        if (r.p >= r.end || *r.p != ':') break;
        r.p++;
        skip_ws(&r);
        const unsigned char *v0 = r.p;
        r.p = scan_value(r.p, r.end);
        if (match) {
            *off = (size_t)(v0 - r.s);
            *len = (size_t)(r.p - v0);
            found = 1;
            break;
        }
        skip_ws(&r);
        if (r.p < r.end && *r.p == ',') {
            r.p++;
            skip_ws(&r);
        }
    }
    free(r.buf);
    return found;
}
