/*
 * tests/test_arena.c - common/arena: alignment, zeroing, the cap (counted
 * with chunk headers, near-cap chunks shrinking, charges), refusal of sizes
 * that overflow, chunk ownership, deferred destructors (newest first, never
 * on NULL) and destroy(NULL). Run under ASan (KINORA_SANITIZE) it also shows
 * that nothing leaks and no pointer reaches past its chunk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/arena.h"
#include "common/err.h"

static void test_alloc_aligned_and_distinct(void **state)
{
    (void)state;
    kn_arena *a = kn_arena_create(1 << 20, 4096, 4096, 0);
    assert_non_null(a);
    unsigned char *prev = NULL;
    for (size_t n = 0; n < 200; n++) {
        unsigned char *p = kn_arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        assert_true(kn_arena_owns(a, p));
        if (n) assert_true(kn_arena_owns(a, p + n - 1));
        memset(p, 0xAB, n);   /* ASan: every byte handed out is writable */
        if (prev) assert_true(p != prev);
        prev = p;
    }
    assert_int_equal(kn_arena_error(a), KN_OK);
    int local;
    assert_false(kn_arena_owns(a, &local));
    assert_false(kn_arena_owns(a, NULL));
    assert_false(kn_arena_owns(NULL, &local));
    kn_arena_destroy(a);
}

static void test_calloc_zeroes(void **state)
{
    (void)state;
    for (unsigned flags = 0; flags <= KN_ARENA_ZEROED; flags += KN_ARENA_ZEROED) {
        kn_arena *a = kn_arena_create(1 << 20, 1024, 1024, flags);
        assert_non_null(a);
        /* Dirty memory first, so a calloc that did not clear would show. */
        for (int i = 0; i < 50; i++) memset(kn_arena_alloc(a, 100), 0xFF, 100);
        for (size_t n = 1; n < 600; n += 37) {
            unsigned char *p = kn_arena_calloc(a, n, 3);
            assert_non_null(p);
            for (size_t i = 0; i < 3 * n; i++) assert_int_equal(p[i], 0);
            memset(p, 0xFF, 3 * n);
        }
        if (flags) {   /* every allocation of a zeroed arena is zero */
            unsigned char *p = kn_arena_alloc(a, 64);
            for (int i = 0; i < 64; i++) assert_int_equal(p[i], 0);
        }
        kn_arena_destroy(a);
    }
}

static void test_cap(void **state)
{
    (void)state;
    /* 10000 bytes: chunks of 4096 with their headers cannot all fit, so the
     * last one shrinks to what is left and the cap is reached by use. */
    kn_arena *a = kn_arena_create(10000, 4096, 4096, 0);
    assert_non_null(a);
    size_t got = 0;
    while (kn_arena_alloc(a, 16)) got += 16;
    assert_int_equal(kn_arena_error(a), KN_ETOOBIG);
    assert_true(kn_arena_total(a) <= 10000);
    assert_int_equal(kn_arena_room(a), 10000 - kn_arena_total(a));
    assert_true(got > 10000 - 3 * 64);   /* at most a few headers lost */
    kn_arena_destroy(a);

    /* One allocation over the cap fails and leaves the arena as it was. */
    a = kn_arena_create(100000, 1024, 1024, KN_ARENA_ZEROED);
    assert_non_null(kn_arena_alloc(a, 10));
    size_t before = kn_arena_total(a);
    assert_null(kn_arena_alloc(a, 200000));
    assert_int_equal(kn_arena_error(a), KN_ETOOBIG);
    assert_int_equal(kn_arena_total(a), before);
    assert_non_null(kn_arena_alloc(a, 10));   /* still usable */
    kn_arena_destroy(a);
}

static void test_large_allocations_get_own_chunks(void **state)
{
    (void)state;
    kn_arena *a = kn_arena_create(1 << 24, 4096, 4096, 0);
    char *small = kn_arena_alloc(a, 16);
    size_t t0 = kn_arena_total(a);
    char *big = kn_arena_alloc(a, 100000);
    assert_non_null(big);
    assert_true(kn_arena_owns(a, big + 99999));
    /* Exactly its size plus a header: the bump chunk was not replaced. */
    assert_true(kn_arena_total(a) - t0 < 100000 + 64);
    char *next = kn_arena_alloc(a, 16);
    assert_ptr_equal(next, small + 16);
    kn_arena_destroy(a);
}

static void test_chunks_grow(void **state)
{
    (void)state;
    /* Chunks double from 1 KiB to 8 KiB: 64 KiB of small allocations take
     * about a dozen chunks, not 64. */
    kn_arena *a = kn_arena_create(1 << 24, 1024, 8192, 0);
    for (int i = 0; i < 1024; i++) assert_non_null(kn_arena_alloc(a, 64));
    size_t total = kn_arena_total(a);
    assert_true(total >= 65536);
    assert_true(total < 65536 + 8192 + 16 * 64);
    kn_arena_destroy(a);
}

static void test_overflow_refused(void **state)
{
    (void)state;
    kn_arena *a = kn_arena_create(SIZE_MAX, 0, 0, 0);
    assert_non_null(a);
    assert_null(kn_arena_alloc(a, SIZE_MAX));
    assert_int_equal(kn_arena_error(a), KN_ETOOBIG);
    assert_null(kn_arena_alloc(a, SIZE_MAX - 8));
    assert_null(kn_arena_calloc(a, SIZE_MAX / 2, 3));
    assert_null(kn_arena_calloc(a, (size_t)1 << 40, (size_t)1 << 40));
    assert_int_equal(kn_arena_error(a), KN_ETOOBIG);
    assert_non_null(kn_arena_calloc(a, 0, 8));   /* zero bytes: a valid pointer */
    kn_arena_destroy(a);
}

static void test_charge(void **state)
{
    (void)state;
    kn_arena *a = kn_arena_create(1000, 256, 256, 0);
    assert_int_equal(kn_arena_charge(a, 600), KN_OK);
    assert_int_equal(kn_arena_total(a), 600);
    assert_int_equal(kn_arena_charge(a, 401), KN_ETOOBIG);
    assert_int_equal(kn_arena_total(a), 600);
    assert_null(kn_arena_alloc(a, 400));   /* 400 + a header is over */
    assert_int_equal(kn_arena_charge(a, 400), KN_OK);
    assert_int_equal(kn_arena_room(a), 0);
    assert_null(kn_arena_alloc(a, 1));
    kn_arena_destroy(a);
}

static int g_order[8], g_n;

static void record(void *p)
{
    g_order[g_n++] = *(int *)p;
}

static void test_defer(void **state)
{
    (void)state;
    static int ids[3] = { 1, 2, 3 };
    g_n = 0;
    kn_arena *a = kn_arena_create(1 << 16, 0, 0, 0);
    for (int i = 0; i < 3; i++) {
        void **slot = kn_arena_defer(a, record);
        assert_non_null(slot);
        assert_null(*slot);
        *slot = &ids[i];
    }
    assert_non_null(kn_arena_defer(a, record));   /* left NULL: not called */
    kn_arena_destroy(a);
    assert_int_equal(g_n, 3);
    assert_int_equal(g_order[0], 3);   /* newest first */
    assert_int_equal(g_order[1], 2);
    assert_int_equal(g_order[2], 1);

    /* A full arena cannot take the record: NULL, and nothing runs later. */
    g_n = 0;
    a = kn_arena_create(0, 0, 0, 0);
    assert_null(kn_arena_defer(a, record));
    assert_int_equal(kn_arena_error(a), KN_ETOOBIG);
    kn_arena_destroy(a);
    assert_int_equal(g_n, 0);
}

static void test_destroy_null(void **state)
{
    (void)state;
    kn_arena_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_aligned_and_distinct),
        cmocka_unit_test(test_calloc_zeroes),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_large_allocations_get_own_chunks),
        cmocka_unit_test(test_chunks_grow),
        cmocka_unit_test(test_overflow_refused),
        cmocka_unit_test(test_charge),
        cmocka_unit_test(test_defer),
        cmocka_unit_test(test_destroy_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
