/*
 * tests/test_color.c - lang/color: every accepted syntax, the named colours,
 * alpha, and the error paths (code, JSON pointer, message).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "lang/color.h"

/* Channels are compared in 0..255 steps: r/255 computed differently may
 * differ in the last bit, never by 1e-9. */
#define EPS 1e-9

static void expect_rgba(const char *s, double r, double g, double b, double a)
{
    kn_color c = { -1, -1, -1, -1 };
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_color_parse(s, &c, "/fill", &err);
    if (rc != KN_OK) fail_msg("\"%s\" rejected: %s", s, err.msg);
    assert_int_equal(err.code, KN_OK);
    if (fabs(c.r - r / 255) > EPS || fabs(c.g - g / 255) > EPS ||
        fabs(c.b - b / 255) > EPS || fabs(c.a - a) > EPS)
        fail_msg("\"%s\" -> (%.10g, %.10g, %.10g, %.10g), expected (%g, %g, %g)/255, %g",
                 s, c.r, c.g, c.b, c.a, r, g, b, a);
}

static void expect_error(const char *s, const char *needle)
{
    kn_color c = { 0.25, 0.5, 0.75, 0.125 };
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_color_parse(s, &c, "/elements/2/stroke", &err);
    if (rc != KN_EINVAL) fail_msg("\"%s\" accepted (rc %d)", s ? s : "(null)", rc);
    assert_int_equal(err.code, KN_EINVAL);
    assert_string_equal(err.path, "/elements/2/stroke");
    if (needle && !strstr(err.msg, needle))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", s ? s : "(null)", err.msg, needle);
    /* *out is untouched on failure. */
    assert_true(c.r == 0.25 && c.g == 0.5 && c.b == 0.75 && c.a == 0.125);
}

static void test_hex(void **state)
{
    (void)state;
    expect_rgba("#000", 0, 0, 0, 1);
    expect_rgba("#fff", 255, 255, 255, 1);
    expect_rgba("#f80", 255, 136, 0, 1);
    expect_rgba("#123456", 0x12, 0x34, 0x56, 1);
    expect_rgba("#ABCDEF", 0xab, 0xcd, 0xef, 1);
    expect_rgba("#aBcDeF", 0xab, 0xcd, 0xef, 1);
    expect_rgba("#ff000080", 255, 0, 0, 128 / 255.0);
    expect_rgba("#00ff00FF", 0, 255, 0, 1);
    expect_rgba("#0000ff00", 0, 0, 255, 0);
    expect_rgba("  #102030\n", 0x10, 0x20, 0x30, 1);
}

static void test_rgb_functions(void **state)
{
    (void)state;
    expect_rgba("rgb(255,0,0)", 255, 0, 0, 1);
    expect_rgba("rgb( 12 , 34 ,56 )", 12, 34, 56, 1);
    expect_rgba("rgb(\t0,\t128,\t255\t)", 0, 128, 255, 1);
    expect_rgba("RGB(1,2,3)", 1, 2, 3, 1);
    expect_rgba("rgb(100%, 50%, 0%)", 255, 127.5, 0, 1);
    expect_rgba("rgb(127.5, 0, 0)", 127.5, 0, 0, 1);
    expect_rgba("rgba(255,0,0,0.5)", 255, 0, 0, 0.5);
    expect_rgba("rgba( 10, 20, 30, 0 )", 10, 20, 30, 0);
    expect_rgba("rgba(10,20,30,1)", 10, 20, 30, 1);
    expect_rgba("rgba(10,20,30,.25)", 10, 20, 30, 0.25);
    expect_rgba("rgba(10,20,30,25%)", 10, 20, 30, 0.25);
    expect_rgba("Rgba(0,0,0,1e-1)", 0, 0, 0, 0.1);
}

static void test_named(void **state)
{
    (void)state;
    expect_rgba("steelblue", 70, 130, 180, 1);
    expect_rgba("SteelBlue", 70, 130, 180, 1);
    expect_rgba("STEELBLUE", 70, 130, 180, 1);
    expect_rgba("red", 255, 0, 0, 1);
    expect_rgba("white", 255, 255, 255, 1);
    expect_rgba("black", 0, 0, 0, 1);
    expect_rgba("rebeccapurple", 102, 51, 153, 1);
    expect_rgba("aliceblue", 240, 248, 255, 1);
    expect_rgba("yellowgreen", 154, 205, 50, 1);
    expect_rgba("lightgoldenrodyellow", 250, 250, 210, 1);
    expect_rgba("gray", 128, 128, 128, 1);
    expect_rgba("grey", 128, 128, 128, 1);
    expect_rgba("darkslategrey", 47, 79, 79, 1);
    expect_rgba("darkslategray", 47, 79, 79, 1);
    expect_rgba("LightGrey", 211, 211, 211, 1);
    expect_rgba("dimgrey", 105, 105, 105, 1);
    expect_rgba("aqua", 0, 255, 255, 1);
    expect_rgba("cyan", 0, 255, 255, 1);
    expect_rgba("fuchsia", 255, 0, 255, 1);
    expect_rgba("  navy  ", 0, 0, 128, 1);
    expect_rgba("none", 0, 0, 0, 0);
    expect_rgba("NONE", 0, 0, 0, 0);
    expect_rgba("transparent", 0, 0, 0, 0);
}

/* The 148 CSS Color 4 names all parse, to colours opaque and in range, and
 * no near-miss spelling is accepted. */
static void test_all_names(void **state)
{
    (void)state;
    static const char *const names[] = {
        "aliceblue", "antiquewhite", "aqua", "aquamarine", "azure", "beige", "bisque",
        "black", "blanchedalmond", "blue", "blueviolet", "brown", "burlywood",
        "cadetblue", "chartreuse", "chocolate", "coral", "cornflowerblue", "cornsilk",
        "crimson", "cyan", "darkblue", "darkcyan", "darkgoldenrod", "darkgray",
        "darkgreen", "darkgrey", "darkkhaki", "darkmagenta", "darkolivegreen",
        "darkorange", "darkorchid", "darkred", "darksalmon", "darkseagreen",
        "darkslateblue", "darkslategray", "darkslategrey", "darkturquoise",
        "darkviolet", "deeppink", "deepskyblue", "dimgray", "dimgrey", "dodgerblue",
        "firebrick", "floralwhite", "forestgreen", "fuchsia", "gainsboro",
        "ghostwhite", "gold", "goldenrod", "gray", "green", "greenyellow", "grey",
        "honeydew", "hotpink", "indianred", "indigo", "ivory", "khaki", "lavender",
        "lavenderblush", "lawngreen", "lemonchiffon", "lightblue", "lightcoral",
        "lightcyan", "lightgoldenrodyellow", "lightgray", "lightgreen", "lightgrey",
        "lightpink", "lightsalmon", "lightseagreen", "lightskyblue",
        "lightslategray", "lightslategrey", "lightsteelblue", "lightyellow", "lime",
        "limegreen", "linen", "magenta", "maroon", "mediumaquamarine", "mediumblue",
        "mediumorchid", "mediumpurple", "mediumseagreen", "mediumslateblue",
        "mediumspringgreen", "mediumturquoise", "mediumvioletred", "midnightblue",
        "mintcream", "mistyrose", "moccasin", "navajowhite", "navy", "oldlace",
        "olive", "olivedrab", "orange", "orangered", "orchid", "palegoldenrod",
        "palegreen", "paleturquoise", "palevioletred", "papayawhip", "peachpuff",
        "peru", "pink", "plum", "powderblue", "purple", "rebeccapurple", "red",
        "rosybrown", "royalblue", "saddlebrown", "salmon", "sandybrown", "seagreen",
        "seashell", "sienna", "silver", "skyblue", "slateblue", "slategray",
        "slategrey", "snow", "springgreen", "steelblue", "tan", "teal", "thistle",
        "tomato", "turquoise", "violet", "wheat", "white", "whitesmoke", "yellow",
        "yellowgreen",
    };
    assert_int_equal(sizeof names / sizeof names[0], 148);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        kn_color c;
        kn_err err;
        kn_err_clear(&err);
        if (kn_color_parse(names[i], &c, NULL, &err) != KN_OK)
            fail_msg("\"%s\" rejected: %s", names[i], err.msg);
        assert_true(c.a == 1.0);
        assert_true(c.r >= 0 && c.r <= 1 && c.g >= 0 && c.g <= 1 && c.b >= 0 && c.b <= 1);
        /* Any case gives the same colour. */
        char up[32];
        size_t n = strlen(names[i]);
        for (size_t k = 0; k <= n; k++)
            up[k] = (char)(k % 2 ? names[i][k] - ('a' - 'A') * (names[i][k] != 0) : names[i][k]);
        kn_color cu;
        assert_int_equal(kn_color_parse(up, &cu, NULL, NULL), KN_OK);
        assert_memory_equal(&c, &cu, sizeof c);
        /* A name cut short is rejected (unless it is itself a name). */
        char cut[32];
        memcpy(cut, names[i], n - 1);
        cut[n - 1] = '\0';
        int is_name = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            is_name |= !strcmp(cut, names[k]);
        if (!is_name)
            assert_int_equal(kn_color_parse(cut, &cu, NULL, NULL), KN_EINVAL);
    }
    /* A few neighbouring colours are distinct (no copy-paste rows). */
    kn_color a, b;
    assert_int_equal(kn_color_parse("lightskyblue", &a, NULL, NULL), KN_OK);
    assert_int_equal(kn_color_parse("skyblue", &b, NULL, NULL), KN_OK);
    assert_true(fabs(a.b - b.b) > 1e-3);
    expect_rgba("lightskyblue", 135, 206, 250, 1);
    expect_rgba("skyblue", 135, 206, 235, 1);
    expect_rgba("mediumspringgreen", 0, 250, 154, 1);
    expect_rgba("springgreen", 0, 255, 127, 1);
    expect_rgba("darkgoldenrod", 184, 134, 11, 1);
    expect_rgba("palevioletred", 219, 112, 147, 1);
}

static void test_errors(void **state)
{
    (void)state;
    /* The message named in the brief, for an unknown word. */
    expect_error("blu", "not a colour: \"blu\" (use #rrggbb, rgb(), rgba() or a CSS name)");
    expect_error("steel blue", "CSS name");
    expect_error("reddish", "CSS name");
    expect_error("", "empty");
    expect_error("   ", "empty");
    expect_error(NULL, NULL);
    expect_error("lightgoldenrodyellowish", "CSS name");

    /* Hex: length, digits, junk. */
    expect_error("#", "3, 6 or 8 digits");
    expect_error("#ff", "3, 6 or 8 digits");
    expect_error("#ffff", "3, 6 or 8 digits");
    expect_error("#fffff", "3, 6 or 8 digits");
    expect_error("#fffffff", "3, 6 or 8 digits");
    expect_error("#fffffffff", "3, 6 or 8 digits");
    expect_error("#ggg", "0-9 and a-f");
    expect_error("#12345z", "0-9 and a-f");
    expect_error("#123456 x", "0-9 and a-f");
    expect_error("# 123456", "0-9 and a-f");
    expect_error("123456", "CSS name");

    /* rgb()/rgba(): ranges. */
    expect_error("rgb(256,0,0)", "red is 256");
    expect_error("rgb(0,-1,0)", "green is -1");
    expect_error("rgb(0,0,300)", "blue is 300");
    expect_error("rgb(0,0,101%)", "blue is 101%");
    expect_error("rgba(0,0,0,1.5)", "alpha is 1.5");
    expect_error("rgba(0,0,0,-0.1)", "alpha");
    expect_error("rgba(0,0,0,150%)", "alpha");

    /* Arity and shape. */
    expect_error("rgb(1,2)", "takes 3 values");
    expect_error("rgb(1,2,3,0.5)", "use rgba(r,g,b,a)");
    expect_error("rgba(1,2,3)", "takes 4 values");
    expect_error("rgba(1,2,3,0.5,1)", "takes 4 values");
    expect_error("rgb()", "red must be a number");
    expect_error("rgb(,1,2)", "red must be a number");
    expect_error("rgb(1,,2)", "green must be a number");
    expect_error("rgb(1 2 3)", "expected \",\"");
    expect_error("rgb(1,2,3", "expected \")\"");
    expect_error("rgb(1,2,3)x", "unexpected text");
    expect_error("rgb(1,2,3))", "unexpected text");
    expect_error("rgb(1,2,3) ;", "unexpected text");
    expect_error("rgb(nan,0,0)", "red must be a number");
    expect_error("rgb(inf,0,0)", "red must be a number");
    expect_error("rgb(0x10,0,0)", "expected \",\"");
    expect_error("rgb(1e999,0,0)", "red must be a number");
    expect_error("rgb (1,2,3)", "CSS name");
    expect_error("hsl(0,100%,50%)", "CSS name");
}

static void test_error_path_and_null_err(void **state)
{
    (void)state;
    kn_color c;
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_color_parse("nope", &c, NULL, &err), KN_EINVAL);
    assert_string_equal(err.path, "");
    assert_int_equal(kn_color_parse("nope", &c, "/background", NULL), KN_EINVAL);
    kn_err_clear(&err);
    assert_int_equal(kn_color_parse("#fff", &c, "/background", &err), KN_OK);
    assert_int_equal(err.code, KN_OK);
    assert_string_equal(err.path, "");
}

/* Messages quote the input, but bounded and safe to put in JSON. */
static void test_message_excerpt(void **state)
{
    (void)state;
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    kn_color c;
    kn_err err;
    kn_err_clear(&err);
    assert_int_equal(kn_color_parse(big, &c, "/p", &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "..."));
    assert_non_null(strstr(err.msg, "CSS name"));
    assert_true(strlen(err.msg) < 200);

    kn_err_clear(&err);
    assert_int_equal(kn_color_parse("bl\"u\\e\n", &c, "/p", &err), KN_EINVAL);
    assert_null(strchr(err.msg, '\n'));
    assert_null(strchr(err.msg, '\\'));

    /* 47 ASCII bytes then a 3-byte character: it is cut whole, not split. */
    char s[64];
    memset(s, 'a', 47);
    memcpy(s + 47, "\xe2\x82\xac" "bcd", 7);
    kn_err_clear(&err);
    assert_int_equal(kn_color_parse(s, &c, "/p", &err), KN_EINVAL);
    assert_null(strstr(err.msg, "\xe2"));
    assert_non_null(strstr(err.msg, "aaa..."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_rgb_functions),
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_all_names),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_path_and_null_err),
        cmocka_unit_test(test_message_excerpt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
