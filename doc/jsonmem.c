/*
 * doc/jsonmem.c - see jsonmem.h.
 *
 * jansson's allocator hooks are process-wide, so they are installed once,
 * before main (a constructor), and are thread-aware: each thread has its own
 * arena state, NULL unless that thread is inside begin/end.
 *
 * Invariant: every arena pointer lies inside one of the thread's chunks, so
 * j_free can tell arena memory (ignored) from malloc memory (freed).
 */
#include "doc/jsonmem.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CHUNK_MIN ((size_t)1 << 20)
#define CHUNK_MAX ((size_t)64 << 20)

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    max_align_t data[];
} chunk;

static __thread chunk *tl_chunks;    /* newest first */
static __thread int tl_active;

static void *j_malloc(size_t n)
{
    if (!tl_active) return malloc(n);
    n = (n + 15) & ~(size_t)15;
    chunk *c = tl_chunks;
    if (!c || c->size - c->used < n) {
        size_t sz = c ? c->size * 2 : CHUNK_MIN;
        if (sz > CHUNK_MAX) sz = CHUNK_MAX;
        if (sz < n) sz = n;
        chunk *nc = malloc(sizeof *nc + sz);
        if (!nc) return NULL;
        nc->next = c;
        nc->size = sz;
        nc->used = 0;
        tl_chunks = c = nc;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void j_free(void *p)
{
    if (!p) return;
    for (chunk *c = tl_chunks; c; c = c->next)
        if ((char *)p >= (char *)c->data && (char *)p < (char *)c->data + c->size) return;
    free(p);
}

__attribute__((constructor)) static void install(void)
{
    json_set_alloc_funcs(j_malloc, j_free);
}

void kn_jsonmem_begin(void)
{
    kn_jsonmem_release();
    tl_active = 1;
}

void kn_jsonmem_end(void) { tl_active = 0; }

void kn_jsonmem_release(void)
{
    tl_active = 0;
    while (tl_chunks) {
        chunk *n = tl_chunks->next;
        free(tl_chunks);
        tl_chunks = n;
    }
}
