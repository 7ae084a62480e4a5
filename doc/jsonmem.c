/*
 * doc/jsonmem.c - see jsonmem.h.
 *
 * jansson's allocator hooks are process-wide, so they are installed once,
 * before main (a constructor), and are thread-aware: each thread has its own
 * arena, NULL unless that thread is between begin and release.
 *
 * Invariant: tl_active implies tl_arena != NULL, and every pointer j_malloc
 * returned while active lies inside one of tl_arena's chunks, so j_free can
 * tell arena memory (left to release) from malloc memory (freed).
 */
#include "doc/jsonmem.h"

#include <jansson.h>
#include <stdlib.h>

#include "common/arena.h"
#include "common/err.h"

/* Chunks double from 1 MiB to 64 MiB: a 2.4 MB document's tree (about
 * 30 MB) takes five chunks, so j_free's ownership walk stays short. */
#define CHUNK_MIN ((size_t)1 << 20)
#define CHUNK_MAX ((size_t)64 << 20)

static __thread kn_arena *tl_arena;
static __thread int tl_active;

static void *j_malloc(size_t n)
{
    if (!tl_active) return malloc(n);
    return kn_arena_alloc(tl_arena, n);
}

static void j_free(void *p)
{
    if (!p || kn_arena_owns(tl_arena, p)) return;
    free(p);
}

__attribute__((constructor)) static void install(void)
{
    json_set_alloc_funcs(j_malloc, j_free);
}

int kn_jsonmem_begin(size_t cap)
{
    kn_jsonmem_release();
    tl_arena = kn_arena_create(cap, CHUNK_MIN, CHUNK_MAX, 0);
    if (!tl_arena) return KN_ENOMEM;
    tl_active = 1;
    return KN_OK;
}

void kn_jsonmem_end(void) { tl_active = 0; }

int kn_jsonmem_error(void)
{
    return tl_arena ? kn_arena_error(tl_arena) : KN_OK;
}

void kn_jsonmem_release(void)
{
    tl_active = 0;
    kn_arena_destroy(tl_arena);
    tl_arena = NULL;
}
