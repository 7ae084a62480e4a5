/*
 * tests/json_same.h - value-for-value comparison of two jansson trees, for
 * holding doc/jsonread to jansson's own reader (tests/test_jsonread.c and
 * tests/fuzz/fuzz_json.c). Stricter than json_equal: reals must match bit
 * for bit, so -0.0 differs from 0.0 and every rounding shows.
 */
#ifndef KN_TESTS_JSON_SAME_H
#define KN_TESTS_JSON_SAME_H

#include <jansson.h>
#include <string.h>

static inline int json_same(const json_t *a, const json_t *b)
{
    if (!a || !b) return a == b;
    if (json_typeof(a) != json_typeof(b)) return 0;
    switch (json_typeof(a)) {
    case JSON_REAL: {
        double x = json_real_value(a), y = json_real_value(b);
        return memcmp(&x, &y, sizeof x) == 0;
    }
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!json_same(json_array_get(a, i), json_array_get(b, i))) return 0;
        return 1;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b)) return 0;
        const char *k;
        size_t klen;
        json_t *v;
        json_object_keylen_foreach((json_t *)a, k, klen, v) {
            if (!json_same(v, json_object_getn(b, k, klen))) return 0;
        }
        return 1;
    }
    default:
        return 1;   /* true, false, null */
    }
}

#endif
