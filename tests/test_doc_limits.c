/*
 * tests/test_doc_limits.c - the job document's limits (doc/, common/limits.h):
 * every cap a document can hit (sizes, counts, depth, path data, texts and
 * fonts) is refused with KN_ETOOBIG or KN_EINVAL at the JSON pointer of the
 * field that crossed it, and what texts, templates, expressions and paths
 * cost is charged to the job's memory limit at parse time, for POST and for
 * `kinora validate` alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/limits.h"
#include "doc/doc.h"
#include "tests/support/docparse.h"
#include "tests/support/testutil.h"

#define HEAD "{'width': 640, 'height': 360, 'fps': 30, "

/* A document of n text elements, each "text" being len bytes of 'a'
 * (malloc'ed; single quotes, for tu_doc_q()). */
static char *texts_doc(int n, size_t len)
{
    size_t cap = (size_t)n * (len + 96) + 256, m = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    m += (size_t)snprintf(s + m, cap - m, HEAD "'duration': 1, 'elements': [");
    for (int i = 0; i < n; i++) {
        m += (size_t)snprintf(s + m, cap - m, "%s{'id': 't%d', 'type': 'text', 'text': '",
                              i ? "," : "", i);
        memset(s + m, 'a', len);
        m += len;
        m += (size_t)snprintf(s + m, cap - m, "'}");
    }
    snprintf(s + m, cap - m, "]}");
    return s;
}

static void test_limits(void **state)
{
    (void)state;
    kn_doc_limits lim;
    kn_doc_limits_default(&lim);
    assert_int_equal(lim.max_frames, 100000);
    assert_true(lim.max_pixels_frames == 1920.0 * 1080 * 36000);
    assert_int_equal(lim.max_bytes, (size_t)256 << 20);

    lim.max_frames = 50;
    kn_err err = tu_doc_fail_lim(HEAD "'duration': 2}", &lim, KN_EINVAL);
    assert_string_equal(err.path, "/duration");
    assert_non_null(strstr(err.msg, "limit of 50"));
    kn_doc *d = tu_doc_ok_lim(HEAD "'duration': 1.6}", &lim);   /* 48 frames */
    kn_doc_destroy(d);
    err = tu_doc_fail_lim(HEAD "'vars': {'a': 0}, 'timeline': {'tween': {'a': 1}, "
                         "'duration': 2}}", &lim, KN_EINVAL);
    assert_string_equal(err.path, "/timeline");

    kn_doc_limits_default(&lim);
    lim.max_pixels_frames = 640.0 * 360 * 10;
    err = tu_doc_fail_lim(HEAD "'duration': 1}", &lim, KN_EINVAL);
    assert_string_equal(err.path, "/duration");
    assert_non_null(strstr(err.msg, "pixels"));

    /* the arena cap: a document of 20000 points needs more than 100 kB */
    kn_doc_limits_default(&lim);
    lim.max_bytes = 100000;
    size_t cap = 20000 * 16 + 256, n = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    n += (size_t)snprintf(big + n, cap - n, HEAD "'duration': 1, 'elements': [{'type': "
                          "'polyline', 'points': [");
    for (int i = 0; i < 20000; i++) n += (size_t)snprintf(big + n, cap - n, "%s[1,2]", i ? "," : "");
    snprintf(big + n, cap - n, "]}]}");
    err = tu_doc_fail_lim(big, &lim, KN_ETOOBIG);
    assert_non_null(strstr(err.msg, "100000 bytes"));
    /* ... and fits the default */
    d = tu_doc_ok(big);
    assert_int_equal(d->init[d->elements[0].slot[KN_P_POINTS]].n, 40000);
    kn_doc_destroy(d);
    free(big);

    /* The cap is for the whole job: compositions share it. One nested
     * document of 20000 points fits 1 MB, four of them do not (each used
     * to get a full cap of its own). */
    lim.max_bytes = 1000000;
    for (int k = 1; k <= 4; k += 3) {
        size_t cap2 = (size_t)k * (20000 * 6 + 512) + 256, m = 0;
        char *comp = malloc(cap2);
        assert_non_null(comp);
        m += (size_t)snprintf(comp + m, cap2 - m, HEAD "'duration': 1, 'elements': [");
        for (int c = 0; c < k; c++) {
            m += (size_t)snprintf(comp + m, cap2 - m, "%s{'type': 'composition', 'document': "
                                  "{'width': 64, 'height': 64, 'fps': 30, 'duration': 1, "
                                  "'elements': [{'type': 'polyline', 'points': [", c ? "," : "");
            for (int i = 0; i < 20000; i++) m += (size_t)snprintf(comp + m, cap2 - m, "%s[1,2]", i ? "," : "");
            m += (size_t)snprintf(comp + m, cap2 - m, "]}]}}");
        }
        snprintf(comp + m, cap2 - m, "]}");
        if (k == 1) {
            d = tu_doc_ok_lim(comp, &lim);
            kn_doc_destroy(d);
        } else {
            err = tu_doc_fail_lim(comp, &lim, KN_ETOOBIG);
            assert_non_null(strstr(err.msg, "1000000 bytes"));
            assert_non_null(strstr(err.path, "/document"));
        }
        free(comp);
    }
    /* ... and so do the canvases their frames are drawn on: two 4K
     * compositions fit 80 MB (2 x 33 MB), three do not. */
    lim.max_bytes = 80000000;
    for (int k = 2; k <= 3; k++) {
        char comp[2048];
        size_t m = (size_t)snprintf(comp, sizeof comp, HEAD "'duration': 1, 'elements': [");
        for (int c = 0; c < k; c++)
            m += (size_t)snprintf(comp + m, sizeof comp - m, "%s{'type': 'composition', 'width': 64, "
                                  "'height': 36, 'document': {'width': 3840, 'height': 2160, "
                                  "'fps': 30, 'duration': 1}}", c ? "," : "");
        snprintf(comp + m, sizeof comp - m, "]}");
        if (k == 2) {
            d = tu_doc_ok_lim(comp, &lim);
            kn_doc_destroy(d);
        } else {
            err = tu_doc_fail_lim(comp, &lim, KN_ETOOBIG);
            assert_string_equal(err.path, "/elements/2/document");
            assert_non_null(strstr(err.msg, "3840x2160 frames"));
        }
    }

    /* a tiny cap still fits a tiny document */
    lim.max_bytes = 8192;
    d = tu_doc_ok_lim(HEAD "'duration': 1, 'elements': [{'type': 'line'}]}", &lim);
    kn_doc_destroy(d);
}

static void test_element_caps(void **state)
{
    (void)state;
    /* 100001 elements */
    size_t cap = 100001 * 20 + 256, n = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    n += (size_t)snprintf(big + n, cap - n, HEAD "'duration': 1, 'elements': [");
    for (int i = 0; i < 100001; i++)
        n += (size_t)snprintf(big + n, cap - n, "%s{'type':'line'}", i ? "," : "");
    snprintf(big + n, cap - n, "]}");
    kn_err err = tu_doc_fail_lim(big, NULL, KN_ETOOBIG);
    assert_string_equal(err.path, "/elements");
    assert_non_null(strstr(err.msg, "100000 elements"));
    free(big);

    /* groups nested 32 deep are fine, 33 are not */
    for (int depth = 32; depth <= 33; depth++) {
        char doc[4096];
        n = (size_t)snprintf(doc, sizeof doc, HEAD "'duration': 1, 'elements': [");
        for (int i = 0; i < depth - 1; i++)
            n += (size_t)snprintf(doc + n, sizeof doc - n, "{'type': 'group', 'children': [");
        n += (size_t)snprintf(doc + n, sizeof doc - n, "{'type': 'line', 'id': 'deep'}");
        for (int i = 0; i < depth - 1; i++) n += (size_t)snprintf(doc + n, sizeof doc - n, "]}");
        snprintf(doc + n, sizeof doc - n, "]}");
        if (depth == 32) {
            kn_doc *d = tu_doc_ok(doc);
            assert_true(tu_doc_find_slot(d, "deep.x1") >= 0);
            kn_doc_destroy(d);
        } else {
            err = tu_doc_fail_lim(doc, NULL, KN_EINVAL);
            assert_non_null(strstr(err.msg, "at most 32 deep"));
            assert_int_equal(strncmp(err.path, "/elements/0/children/0/children/0", 33), 0);
        }
    }
}

static void test_long_path_truncated(void **state)
{
    (void)state;
    /* an unknown key longer than kn_err.path: truncated, never overflowed */
    char doc[2048];
    int n = snprintf(doc, sizeof doc, HEAD "'duration': 1, '");
    memset(doc + n, 'k', 600);
    snprintf(doc + n + 600, sizeof doc - (size_t)n - 600, "': 1}");
    kn_err err = tu_doc_fail_lim(doc, NULL, KN_EINVAL);
    assert_int_equal(strlen(err.path), sizeof err.path - 1);
    assert_true(err.path[0] == '/' && err.path[1] == 'k');
}

/* Texts are charged KN_DOC_TEXT_COST bytes a byte for their layout, the
 * text that tips the job over its memory limit is blamed, and each text
 * counts once at its longest value. */
static void test_text_memory(void **state)
{
    (void)state;
    kn_doc_limits lim;
    kn_err err;
    kn_doc *d;

    /* 3.5 MB holds the layout of two 10 000-byte texts (2.56 MB), not
     * three (3.84 MB), though their bytes alone are 30 kB. */
    kn_doc_limits_default(&lim);
    lim.max_bytes = 3500000;
    char *two = texts_doc(2, 10000), *three = texts_doc(3, 10000);
    d = tu_doc_ok_lim(two, &lim);
    kn_doc_destroy(d);
    err = tu_doc_fail_lim(three, &lim, KN_ETOOBIG);
    assert_string_equal(err.path, "/elements/2/text");
    assert_non_null(strstr(err.msg, "limit of 3500000 bytes"));
    assert_non_null(strstr(err.msg, "30000 bytes"));   /* the texts so far */
    assert_non_null(strstr(err.msg, "shorten"));
    free(two);
    free(three);

    /* The default limit: 32 texts of 60 000 bytes (1.9 MB of text) fit,
     * 40 (2.4 MB) do not, and the 35th is the one blamed. */
    char *fit = texts_doc(32, 60000), *over = texts_doc(40, 60000);
    d = tu_doc_ok(fit);
    kn_doc_destroy(d);
    err = tu_doc_fail_lim(over, NULL, KN_ETOOBIG);
    assert_string_equal(err.path, "/elements/34/text");
    assert_non_null(strstr(err.msg, "268435456 bytes"));
    free(fit);
    free(over);

    /* One slot counts once, at its longest value: three frame sets of
     * 10 000 bytes on one text fit where three texts did not; a longer
     * set on a second text is blamed at its own pointer. */
    size_t cap = 5 * 10000 + 1024, m = 0;
    char *sets = malloc(cap);
    assert_non_null(sets);
    m += (size_t)snprintf(sets + m, cap - m, HEAD "'duration': 1, 'elements': ["
                          "{'id': 'a', 'type': 'text', 'text': 'x'},"
                          "{'id': 'b', 'type': 'text', 'text': 'y'}], 'frames': [");
    for (int i = 0; i < 3; i++) {
        m += (size_t)snprintf(sets + m, cap - m, "%s{'index': %d, 'set': {'a.text': '",
                              i ? "," : "", i);
        memset(sets + m, 'a', 10000);
        m += 10000;
        m += (size_t)snprintf(sets + m, cap - m, "'}}");
    }
    size_t tail = m;
    snprintf(sets + m, cap - m, "]}");
    d = tu_doc_ok_lim(sets, &lim);
    kn_doc_destroy(d);
    m = tail;
    m += (size_t)snprintf(sets + m, cap - m, ",{'index': 5, 'set': {'b.text': '");
    memset(sets + m, 'b', 20000);
    m += 20000;
    snprintf(sets + m, cap - m, "'}}]}");
    err = tu_doc_fail_lim(sets, &lim, KN_ETOOBIG);
    assert_string_equal(err.path, "/frames/3/set/b.text");
    free(sets);

    /* A timeline set is charged like a frame entry: 20 000 bytes on t0
     * add the 10 000 beyond its own text. */
    char *tl = texts_doc(2, 10000);
    char *end = strstr(tl, "]}");
    assert_non_null(end);
    size_t tcap = strlen(tl) + 22000;
    char *tl2 = malloc(tcap);
    assert_non_null(tl2);
    m = (size_t)snprintf(tl2, tcap, "%.*s], 'timeline': {'set': {'t0.text': '", (int)(end - tl), tl);
    memset(tl2 + m, 'c', 20000);
    m += 20000;
    snprintf(tl2 + m, tcap - m, "'}}}");
    err = tu_doc_fail_lim(tl2, &lim, KN_ETOOBIG);
    assert_string_equal(err.path, "/timeline/set/t0.text");
    free(tl);
    free(tl2);
}

/* A template is charged for the longest text it can render: its literal
 * text and 511 bytes per placeholder, at most KN_TEMPLATE_MAX_OUT - 1. */
static void test_text_template_memory(void **state)
{
    (void)state;
    kn_doc_limits lim;
    kn_doc_limits_default(&lim);
    lim.max_bytes = 4000000;
    char buf[4096];
    for (int n = 7; n <= 8; n++) {
        size_t m = (size_t)snprintf(buf, sizeof buf, HEAD "'duration': 1, 'elements': [");
        /* 8 placeholders: 8 x 511 = 4088 bytes, 523 kB of layout each. */
        for (int i = 0; i < n; i++)
            m += (size_t)snprintf(buf + m, sizeof buf - m, "%s{'type': 'text', 'text': "
                                  "'{t}{t}{t}{t}{t}{t}{t}{t}'}", i ? "," : "");
        snprintf(buf + m, sizeof buf - m, "]}");
        if (n == 7) {
            kn_doc_destroy(tu_doc_ok_lim(buf, &lim));
        } else {
            kn_err err = tu_doc_fail_lim(buf, &lim, KN_ETOOBIG);
            assert_string_equal(err.path, "/elements/7/text");
            assert_non_null(strstr(err.msg, "template"));
        }
    }
    /* One placeholder costs 511 bytes of text, not KN_TEMPLATE_MAX_OUT:
     * 50 such templates (3.3 MB) fit. */
    size_t m = (size_t)snprintf(buf, sizeof buf, HEAD "'duration': 1, 'elements': [");
    for (int i = 0; i < 50; i++)
        m += (size_t)snprintf(buf + m, sizeof buf - m, "%s{'type': 'text', 'text': 'n={t}'}",
                              i ? "," : "");
    snprintf(buf + m, sizeof buf - m, "]}");
    kn_doc_destroy(tu_doc_ok_lim(buf, &lim));
}

/* One text, and one font description, have a length limit of their own. */
static void test_text_length_limit(void **state)
{
    (void)state;
    char *at = texts_doc(1, KN_DOC_MAX_TEXT), *over = texts_doc(1, KN_DOC_MAX_TEXT + 1);
    kn_doc *d = tu_doc_ok(at);
    kn_doc_destroy(d);
    kn_err err = tu_doc_fail_lim(over, NULL, KN_ETOOBIG);
    assert_string_equal(err.path, "/elements/0/text");
    assert_non_null(strstr(err.msg, "65536 bytes"));
    free(at);
    free(over);

    char buf[2 * KN_DOC_MAX_FONT];
    int w = snprintf(buf, sizeof buf, HEAD "'duration': 1, 'elements': [{'type': 'text', "
                     "'text': 'hi', 'font': '%0*d'}]}", KN_DOC_MAX_FONT + 1, 0);
    assert_true(w > 0 && (size_t)w < sizeof buf);
    err = tu_doc_fail_lim(buf, NULL, KN_ETOOBIG);
    assert_string_equal(err.path, "/elements/0/font");

    /* A series' legend label is a text too. */
    size_t cap = KN_DOC_MAX_TEXT + 512;
    char *plot = malloc(cap);
    assert_non_null(plot);
    w = snprintf(plot, cap, HEAD "'duration': 1, 'elements': [{'type': 'plot', 'width': 100, "
                 "'height': 100, 'series': [{'type': 'line', 'y': [1, 2], 'label': '%0*d'}]}]}",
                 (int)KN_DOC_MAX_TEXT + 1, 0);
    assert_true(w > 0 && (size_t)w < cap);
    err = tu_doc_fail_lim(plot, NULL, KN_ETOOBIG);
    assert_string_equal(err.path, "/elements/0/series/0/label");
    free(plot);
}

/* Path data's segments live outside the arena and are charged to it. */
static void test_path_memory(void **state)
{
    (void)state;
    size_t cap = 10000 * 8 + 256, m = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    m += (size_t)snprintf(s + m, cap - m, HEAD "'duration': 1, 'elements': [{'type': 'path', "
                          "'d': 'M0 0");
    for (int i = 0; i < 10000; i++) m += (size_t)snprintf(s + m, cap - m, " L%d 1", i % 10);
    snprintf(s + m, cap - m, "'}]}");
    /* 10 000 segments hold about 170 kB. */
    kn_doc_limits lim;
    kn_doc_limits_default(&lim);
    lim.max_bytes = 150000;
    kn_err err = tu_doc_fail_lim(s, &lim, KN_ETOOBIG);
    assert_string_equal(err.path, "/elements/0/d");
    kn_doc_destroy(tu_doc_ok(s));
    free(s);
}

/* `kinora validate` refuses a document whose texts need more than the
 * job's memory limit: a non-zero exit and the pointer in its message. */
static void test_validate_text_memory(void **state)
{
    (void)state;
    char dir[256], path[512], cmd[1200], out[4096];
    tu_tmpdir(dir, sizeof dir);
    assert_true(dir[0]);
    snprintf(path, sizeof path, "%s/texts.json", dir);
    char *src = texts_doc(40, 60000), *json = tu_doc_q(src);
    assert_int_equal(tu_write_file(path, json, strlen(json)), 0);
    snprintf(cmd, sizeof cmd, "'%s' validate '%s' 2>&1", KN_TEST_BIN, path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_not_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(out, "/elements/34/text"));
    assert_non_null(strstr(out, "268435456 bytes"));
    free(src);
    free(json);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_element_caps),
        cmocka_unit_test(test_long_path_truncated),
        cmocka_unit_test(test_text_memory),
        cmocka_unit_test(test_text_template_memory),
        cmocka_unit_test(test_text_length_limit),
        cmocka_unit_test(test_path_memory),
        cmocka_unit_test(test_validate_text_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
