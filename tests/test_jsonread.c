/*
 * tests/test_jsonread.c - doc/jsonread against an independent reference,
 * jansson's json_loadb (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
 * JSON_DECODE_INT_AS_REAL): for every input both accept it and build the
 * same values (reals bit for bit), or both refuse it. Plus what jansson
 * cannot tell us: where an error is reported and what it says, and
 * kn_jsonread_member, which finds a member's text as written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/jsonread.h"
#include "tests/json_same.h"

#define JFLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL)

/* Reads s[0..n) with both readers; fails the test unless they agree.
 * Returns whether the input was accepted. */
static int agree_n(const char *s, size_t n)
{
    json_error_t je;
    kn_jsonread_error ke;
    json_t *ref = json_loadb(s, n, JFLAGS, &je);
    json_t *got = kn_jsonread(s, n, &ke);
    int ok = 1;
    if (!ref != !got) {
        print_error("input %.*s\n  jansson: %s\n  jsonread: %s\n", (int)(n > 200 ? 200 : n), s,
                    ref ? "accepted" : je.text, got ? "accepted" : ke.text);
        ok = 0;
    } else if (ref && !json_same(ref, got)) {
        char *a = json_dumps(ref, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        char *b = json_dumps(got, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        print_error("input %.*s\n  jansson:  %s\n  jsonread: %s\n", (int)(n > 200 ? 200 : n), s, a, b);
        free(a);
        free(b);
        ok = 0;
    }
    int accepted = got != NULL;
    json_decref(ref);
    json_decref(got);
    if (!ok) fail();
    return accepted;
}

static int agree(const char *s) { return agree_n(s, strlen(s)); }

static void test_accepted_like_jansson(void **state)
{
    (void)state;
    static const char *const OK[] = {
        "{}", "[]", " \t\r\n[ ]\n", "0", "-0", "-0.0", "0.0e0", "1", "-1", "1.5", "1e5", "1E5",
        "1e+5", "1e-5", "1e05", "123456789", "true", "false", "null", "\"\"", "\"a\"",
        "{\"a\":1,\"b\":[1,2,{\"c\":null}],\"\":true}", "[[[[[]]]]]", "{\"a\":{\"a\":{\"a\":1}}}",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\u00E9\"", "\"\\ud83d\\ude00\"",
        "\"\\uD83D\\uDE00 after\"", "\"\xc3\xa9\"", "\"\xe2\x82\xac\"", "\"\xf0\x9f\x98\x80\"",
        "\"\xf4\x8f\xbf\xbf\"", "\"\x7f\"", "\"\xef\xbb\xbf\"", "{\"\\u0061\":1,\"b\":2}",
        "{\"k\\n\":\"v\\n\",\"k2\":\"\\u20ac\"}",
        /* numbers around the fast path's edges and past them */
        "0.1", "0.2", "0.3", "1e22", "1e23", "1e-22", "1e-23", "9007199254740992",
        "9007199254740993", "9007199254740993.0", "18446744073709551615",
        "18446744073709551616", "123456789012345678901234567890", "1234567890123456789",
        "12345678901234567890", "0.1234567890123456789", "3.14159265358979323846264338327950288",
        "1.7976931348623157e308", "-1.7976931348623157e308", "2.2250738585072011e-308",
        "2.2250738585072014e-308", "4.9e-324", "2.4e-324", "1e-400", "-1e-400", "0e99999",
        "0.000000000000000000000000000001", "1000000000000000000000000000000e-30",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.000000000000000111022302462515654042363166809082031250000001",
        "9007199254740991e22", "9007199254740993e-22", "160.25", "359.99",
        "[1,-2.5,3e2,-4E-2,0.5]", "[[0.5,1.25],[2,3]]",
    };
    for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++)
        if (!agree(OK[i])) fail_msg("refused: %s", OK[i]);
}

static void test_refused_like_jansson(void **state)
{
    (void)state;
    static const char *const BAD[] = {
        "", " ", "[", "]", "{", "}", "[1,]", "[,1]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}",
        "{a:1}", "{'a':1}", "{\"a\":1 \"b\":2}", "{\"a\":1,\"a\":2}", "{\"\":1,\"\":1}",
        "{\"\\u0061\":1,\"a\":2}", "[1] x", "[1]]", "{}{}", "tru", "nul", "falsey", "True",
        "NaN", "Infinity", "-Infinity", "+1", "-", "01", "-01", "1.", ".5", "1.e5", "1e", "1e+",
        "1e-", "0x10", "1.5.3", "1-2", "--1", "1e400", "-1e400", "1.7976931348623159e308",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"\\u0000\"", "\"a\tb\"", "\"a\nb\"",
        "\"\x80\"", "\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\xe0\x80\x80\"", "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xc3\"", "\"\xe2\x82\"",
        "\"\xff\"", "\xef\xbb\xbf{}", "[\"a\" \"b\"]", "{\"a\"}", "{\"a\":}", "[1,,2]",
        "/* c */ 1", "[1] // c",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        if (agree(BAD[i])) fail_msg("accepted: %s", BAD[i]);
}

static void test_nul_bytes_refused(void **state)
{
    (void)state;
    assert_false(agree_n("[1]\0", 4));
    assert_false(agree_n("\"a\0b\"", 5));
    assert_false(agree_n("\0", 1));
    assert_true(agree_n("[1]\0junk", 3));   /* the length bounds the text */
    /* jansson takes a NUL right after a top-level scalar for the end of
     * the text; NUL is never valid JSON, and jsonread refuses it. */
    assert_null(kn_jsonread("0\0", 2, NULL));
    assert_null(kn_jsonread("true\0", 5, NULL));
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 1);
    assert_non_null(s);
    memset(s, '[', (size_t)depth);
    memset(s + depth, ']', (size_t)depth);
    s[depth * 2] = '\0';
    return s;
}

static void test_depth_limit_is_janssons(void **state)
{
    (void)state;
    char *s = nested(KN_JSONREAD_MAX_DEPTH);
    assert_true(agree(s));
    free(s);
    s = nested(KN_JSONREAD_MAX_DEPTH + 1);
    assert_false(agree(s));
    kn_jsonread_error e;
    assert_null(kn_jsonread(s, strlen(s), &e));
    assert_non_null(strstr(e.text, "nesting deeper than 2048"));
    assert_int_equal(e.position, KN_JSONREAD_MAX_DEPTH);
    free(s);
    s = nested(100000);   /* no stack overflow: refused at the limit */
    assert_null(kn_jsonread(s, strlen(s), NULL));
    free(s);
}

/* Numbers in the forms people and programs write them, compared with what
 * jansson (strtod) makes of the same text, bit for bit. */
static void test_numbers_bit_exact(void **state)
{
    (void)state;
    static const char *const FMT[] = { "%.17g", "%.3f", "%.2f", "%g", "%.6e", "%.15g", "%.1f",
                                       "%.0f", "%.20e", "%.9f" };
    unsigned long long x = 0x9E3779B97F4A7C15ull;
    char num[400], doc[512];
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        switch (i % 4) {
        case 0: v = (double)(x % 2000000) / 100.0 - 10000; break;   /* pixel coordinates */
        case 1: v = ldexp((double)(x >> 11), (int)(x % 200) - 150); break;
        case 2: memcpy(&v, &x, sizeof v); break;                    /* any bit pattern */
        default: v = (double)(x % 1000) * pow(10, (double)(int)(x % 61) - 30); break;
        }
        if (!isfinite(v)) continue;
        snprintf(num, sizeof num, FMT[i % 10], v);
        snprintf(doc, sizeof doc, "[%s]", num);
        if (!agree(doc)) fail_msg("refused %s", doc);
    }
    /* Random digit strings: long mantissas, many fraction digits, exponents
     * near the fast path's bounds. */
    for (int i = 0; i < 50000; i++) {
        size_t n = 0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int digits = 1 + (int)(x % 40), point = (int)((x >> 8) % (unsigned)(digits + 1));
        if (x >> 63) num[n++] = '-';
        for (int d = 0; d < digits; d++) {
            if (d == point && d > 0) num[n++] = '.';
            unsigned long long y = x >> (d % 50);
            num[n++] = (char)('0' + (d == 0 ? 1 + y % 9 : y % 10));
        }
        if ((x >> 20) % 2) n += (size_t)snprintf(num + n, sizeof num - n, "e%d", (int)((x >> 24) % 80) - 40);
        num[n] = '\0';
        if (!agree(num)) fail_msg("refused %s", num);
    }
}

/* A per-frame document like bench/make_wave_job.py writes, value for value. */
static void test_large_document(void **state)
{
    (void)state;
    size_t cap = 8u << 20, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    n += (size_t)snprintf(s + n, cap - n, "{\"width\":1280,\"frames\":[");
    for (int f = 0; f < 200; f++) {
        n += (size_t)snprintf(s + n, cap - n, "%s{\"set\":{\"wave.points\":[", f ? "," : "");
        for (int i = 0; i < 500; i++)
            n += (size_t)snprintf(s + n, cap - n, "%s[%.2f,%.2f]", i ? "," : "", 160 + i * 1.9,
                                  360 - 250 * sin(i * 0.0126 + f * 0.021));
        n += (size_t)snprintf(s + n, cap - n, "]}}");
    }
    n += (size_t)snprintf(s + n, cap - n, "],\"metadata\":{\"k\\u00e9y\":\"v\\\"al\"}}");
    assert_true(agree_n(s, n));
    free(s);
}

static void expect_error(const char *s, const char *text, int line, int column, size_t pos)
{
    kn_jsonread_error e;
    memset(&e, 0x55, sizeof e);
    json_t *v = kn_jsonread(s, strlen(s), &e);
    if (v) fail_msg("accepted %s", s);
    if (!strstr(e.text, text)) fail_msg("%s: message \"%s\" lacks \"%s\"", s, e.text, text);
    if (e.line != line || e.column != column || e.position != pos)
        fail_msg("%s: at line %d column %d byte %zu, want line %d column %d byte %zu", s, e.line,
                 e.column, e.position, line, column, pos);
}

/* kn_jsonread_member on a copy of s without its NUL (ASan catches a read
 * past the end); the member's text in out, or NULL when not found. */
static const char *member(const char *s, const char *key, char out[256])
{
    size_t n = strlen(s), off = 0, len = 0;
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    int found = kn_jsonread_member(copy, n, key, &off, &len);
    free(copy);
    if (!found) return NULL;
    assert_true(off + len <= n);
    assert_true(len < 256);
    memcpy(out, s + off, len);
    out[len] = '\0';
    return out;
}

static void test_member_as_written(void **state)
{
    (void)state;
    char b[256];
    static const struct { const char *doc, *want; } cases[] = {
        /* digits jansson would not keep, and brackets inside strings */
        { "{\"a\": 1, \"metadata\": {\"id\": 12345678901234567890, \"x\": [1, \"}]\"]}, \"b\": 2}",
          "{\"id\": 12345678901234567890, \"x\": [1, \"}]\"]}" },
        { " \n{ \"metadata\" :\t\"s\\\"tr\" \n}", "\"s\\\"tr\"" },
        { "{\"\\u006detadata\": 1.50}", "1.50" },          /* an escaped key */
        { "{\"metadata\":-1.5e3}", "-1.5e3" },
        { "{\"metadata\":null,\"z\":1}", "null" },
        { "{\"metadat\": 1, \"metadata2\": [2], \"metadata\": 3}", "3" },
        { "{\"a\": {\"metadata\": 1}, \"b\": 2}", NULL },  /* not top level */
        { "{\"a\": \"\\\"metadata\\\": 5\"}", NULL },      /* inside a string */
        { "[{\"metadata\": 1}]", NULL },
        { "{}", NULL },
        { "", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = member(cases[i].doc, "metadata", b);
        if (!cases[i].want != !got || (got && strcmp(got, cases[i].want) != 0)) {
            print_error("case %zu: %s\n  got %s, want %s\n", i, cases[i].doc,
                        got ? got : "(none)", cases[i].want ? cases[i].want : "(none)");
            fail();
        }
    }
    /* Any key, not only metadata. */
    assert_string_equal(member("{\"a\": 1, \"b\" : [ 2 ] }", "b", b), "[ 2 ]");
    size_t off = 1, len = 1;
    assert_int_equal(kn_jsonread_member(NULL, 0, "metadata", &off, &len), 0);
}

/* The span found is the member's value: reading it gives what reading the
 * whole document gives for that member. */
static void test_member_agrees_with_reader(void **state)
{
    (void)state;
    const char *doc = "{\"width\": 16, \"metadata\": {\"k\": [1e300, -0.0, \"\\u00e9\"], "
                      "\"t\": {\"u\": null}}, \"fps\": 1}";
    size_t off, len;
    assert_int_equal(kn_jsonread_member(doc, strlen(doc), "metadata", &off, &len), 1);
    json_t *whole = kn_jsonread(doc, strlen(doc), NULL);
    json_t *part = kn_jsonread(doc + off, len, NULL);
    assert_non_null(whole);
    assert_non_null(part);
    assert_true(json_same(json_object_get(whole, "metadata"), part));
    json_decref(whole);
    json_decref(part);
}

/* Cut or broken text: whatever is reported stays inside the text. */
static void test_member_bounded(void **state)
{
    (void)state;
    static const char *const cut[] = {
        "{\"metadata\": {\"a\": \"x", "{\"metadata\": \"ab\\", "{\"a\": \"\\", "{\"metadata\"",
        "{\"metadata\":", "{\"\\x\": 1, \"metadata\": 2}", "{\"metadata\": [[[", "{\"a\" 1}",
    };
    char b[256];
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) member(cut[i], "metadata", b);
}

static void test_error_positions(void **state)
{
    (void)state;
    expect_error("{\"a\": 1,\n \"a\": 2}", "duplicate key \"a\"", 2, 2, 10);
    expect_error("[1,\n  2,\n  ]", "a value expected, found ']'", 3, 3, 11);
    expect_error("{\"width\": 640,\n \"height\": }", "a value expected, found '}'", 2, 12, 26);
    expect_error("[\"\xc3\xa9\xc3\xa9\", x]", "found 'x'", 1, 8, 9);   /* columns count characters */
    expect_error("[1] trailing", "end of the document expected", 1, 5, 4);
    expect_error("", "found the end of the document", 1, 1, 0);
    expect_error("[1e400]", "number out of range", 1, 2, 1);
    expect_error("[01]", "leading zeros", 1, 2, 1);
    expect_error("[1.]", "a digit must follow '.'", 1, 2, 1);
    expect_error("[1x]", "unexpected 'x'", 1, 3, 2);
    expect_error("\"abc", "unterminated string", 1, 1, 0);
    expect_error("[\"a\tb\"]", "control character 0x09", 1, 4, 3);
    expect_error("[\"\\q\"]", "invalid escape \\'q'", 1, 3, 2);
    expect_error("[\"\\ud800\"]", "high surrogate", 1, 3, 2);
    expect_error("[\"\\u0000\"]", "\\u0000 is not allowed", 1, 3, 2);
    expect_error("[\"\xc0\x80\"]", "invalid UTF-8", 1, 3, 2);
    expect_error("{\"a\" 1}", "':' expected after a key, found '1'", 1, 6, 5);
    expect_error("{1:2}", "a key in double quotes expected, found '1'", 1, 2, 1);
    expect_error("[1 2]", "',' or ']' expected", 1, 4, 3);
    expect_error("[1, 2", "unterminated array", 1, 1, 0);
    expect_error("{\"a\":1", "unterminated object", 1, 1, 0);
    expect_error("[\x01]", "byte 0x01", 1, 2, 1);
    /* the usual slips from JavaScript and Python get named */
    expect_error("{\"a\": 1,}", "no comma after the last member", 1, 9, 8);
    expect_error("[1, 2, ]", "no comma after the last element", 1, 8, 7);
    expect_error("{'a': 1}", "JSON strings use double quotes", 1, 2, 1);
    expect_error("[NaN]", "NaN and Infinity are not JSON numbers", 1, 2, 1);
    expect_error("[-Infinity]", "NaN and Infinity are not JSON numbers", 1, 2, 1);
    expect_error("[1] // done", "end of the document expected", 1, 5, 4);
    expect_error("// note\n{}", "comments are not allowed", 1, 1, 0);
    /* NULL input with length 0 is an empty document, not a crash */
    kn_jsonread_error e;
    assert_null(kn_jsonread(NULL, 0, &e));
    assert_null(kn_jsonread("[", 1, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_like_jansson),
        cmocka_unit_test(test_refused_like_jansson),
        cmocka_unit_test(test_nul_bytes_refused),
        cmocka_unit_test(test_depth_limit_is_janssons),
        cmocka_unit_test(test_numbers_bit_exact),
        cmocka_unit_test(test_large_document),
        cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_member_as_written),
        cmocka_unit_test(test_member_agrees_with_reader),
        cmocka_unit_test(test_member_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
