/*
 * tests/test_jsonmem.c - doc/jsonmem: between begin and end this thread's
 * jansson values come from the arena and survive until release; outside it
 * they are malloc'ed and freed as usual (LSan would report a leak, ASan a
 * bad free); the
 * arena's cap makes reading fail with KN_ETOOBIG instead of growing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/err.h"
#include "doc/jsonmem.h"
#include "doc/jsonread.h"

static void test_values_live_until_release(void **state)
{
    (void)state;
    assert_int_equal(kn_jsonmem_begin((size_t)64 << 20), KN_OK);
    const char *text = "{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": true}}";
    json_t *v = kn_jsonread(text, strlen(text), NULL);
    kn_jsonmem_end();
    assert_non_null(v);
    assert_true(json_number_value(json_array_get(json_object_get(v, "a"), 1)) == 2.5);
    /* After end, values are malloc'ed again and freed by json_decref. */
    json_t *m = json_string("outside");
    assert_non_null(m);
    json_decref(m);
    assert_int_equal(kn_jsonmem_error(), KN_OK);
    kn_jsonmem_release();
    assert_int_equal(kn_jsonmem_error(), KN_OK);
    kn_jsonmem_release();   /* twice is harmless */
}

static void test_cap(void **state)
{
    (void)state;
    /* 300 kB of "0," is about 8 MB of jansson values: over a 1 MiB cap. */
    size_t n = 300000;
    char *text = malloc(n + 2);
    assert_non_null(text);
    text[0] = '[';
    for (size_t i = 1; i < n; i += 2) memcpy(text + i, "0,", 2);
    text[n - 1] = '0';
    text[n] = ']';
    assert_int_equal(kn_jsonmem_begin((size_t)1 << 20), KN_OK);
    kn_jsonread_error e;
    json_t *v = kn_jsonread(text, n + 1, &e);
    kn_jsonmem_end();
    assert_null(v);
    assert_non_null(strstr(e.text, "out of memory"));
    assert_int_equal(kn_jsonmem_error(), KN_ETOOBIG);
    kn_jsonmem_release();

    /* The same text fits a larger cap. */
    assert_int_equal(kn_jsonmem_begin((size_t)64 << 20), KN_OK);
    v = kn_jsonread(text, n + 1, &e);
    kn_jsonmem_end();
    assert_non_null(v);
    assert_int_equal(json_array_size(v), n / 2);
    assert_int_equal(kn_jsonmem_error(), KN_OK);
    kn_jsonmem_release();
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_live_until_release),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
