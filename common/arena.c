/*
 * common/arena.c - see arena.h.
 *
 * Layout: a list of chunks, newest bump chunk at the head. Only the head is
 * bumped; a chunk made for one large allocation is linked in behind the
 * head, so the head keeps its free space. Invariant: total == the sum of
 * (header + size) over the chunks plus every charge, and total <= cap.
 */
#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define ALIGN ((size_t)16)
#define DEFAULT_CHUNK ((size_t)64 * 1024)

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    max_align_t data[];
} chunk;

typedef struct deferred {
    struct deferred *next;
    void (*destroy)(void *);
    void *obj;
} deferred;

struct kn_arena {
    chunk *head;
    deferred *defers;   /* newest first; the records live in the arena */
    size_t total, cap;
    size_t next_size;   /* size of the next bump chunk */
    size_t chunk_max;
    unsigned flags;
    int error;          /* KN_ETOOBIG or KN_ENOMEM of the last failure */
};

kn_arena *kn_arena_create(size_t cap, size_t chunk_min, size_t chunk_max, unsigned flags)
{
    kn_arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    if (!chunk_min) chunk_min = DEFAULT_CHUNK;
    if (chunk_max < chunk_min) chunk_max = chunk_min;
    a->cap = cap;
    a->next_size = chunk_min;
    a->chunk_max = chunk_max;
    a->flags = flags;
    return a;
}

void kn_arena_destroy(kn_arena *a)
{
    if (!a) return;
    for (deferred *d = a->defers; d; d = d->next)
        if (d->obj) d->destroy(d->obj);
    chunk *c = a->head;
    while (c) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

static int refuse(kn_arena *a, int code)
{
    a->error = code;
    return code;
}

/* A chunk of size data bytes, counted against the cap, not linked. */
static chunk *chunk_new(kn_arena *a, size_t size)
{
    size_t room = a->cap - a->total;
    if (size > room || sizeof(chunk) > room - size) {
        refuse(a, KN_ETOOBIG);
        return NULL;
    }
    chunk *c = (a->flags & KN_ARENA_ZEROED) ? calloc(1, sizeof *c + size)
                                            : malloc(sizeof *c + size);
    if (!c) {
        refuse(a, KN_ENOMEM);
        return NULL;
    }
    a->total += sizeof *c + size;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

/* Everything that is not a bump within the head chunk. Kept out of line:
 * inlined, its register saves would run before the fast path too. */
__attribute__((noinline)) static void *alloc_slow(kn_arena *a, size_t n)
{
    if (n == 0) n = 1;
    if (n > SIZE_MAX / 4) {
        refuse(a, KN_ETOOBIG);
        return NULL;
    }
    n = (n + ALIGN - 1) & ~(ALIGN - 1);
    if (n > a->next_size / 4) {
        chunk *c = chunk_new(a, n);
        if (!c) return NULL;
        if (a->head) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            a->head = c;
        }
        c->used = n;
        return c->data;
    }
    if (!a->head || a->head->size - a->head->used < n) {
        size_t left = a->cap - a->total;
        size_t room = left > sizeof(chunk) ? left - sizeof(chunk) : 0;
        size_t size = a->next_size < room ? a->next_size : room;
        chunk *c = chunk_new(a, size > n ? size : n);
        if (!c) return NULL;
        c->next = a->head;
        a->head = c;
        if (a->next_size < a->chunk_max)
            a->next_size = a->next_size > a->chunk_max / 2 ? a->chunk_max : 2 * a->next_size;
    }
    void *m = (unsigned char *)a->head->data + a->head->used;
    a->head->used += n;
    return m;
}

void *kn_arena_alloc(kn_arena *a, size_t n)
{
    /* The common case in as few instructions as possible: jansson calls
     * this through doc/jsonmem.c for every value of a document. r - 1
     * wraps for n == 0 and for an n that overflows the rounding, which
     * sends both to alloc_slow. */
    chunk *c = a->head;
    size_t r = (n + ALIGN - 1) & ~(ALIGN - 1);
    if (c && r - 1 < c->size - c->used) {
        void *m = (unsigned char *)c->data + c->used;
        c->used += r;
        return m;
    }
    return alloc_slow(a, n);
}

/* kn_arena_calloc in an arena whose chunks are not zeroed. */
__attribute__((noinline)) static void *alloc_clear(kn_arena *a, size_t n)
{
    void *m = kn_arena_alloc(a, n);
    if (m) memset(m, 0, n);
    return m;
}

void *kn_arena_calloc(kn_arena *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        refuse(a, KN_ETOOBIG);
        return NULL;
    }
    /* The document parser's path: a tail call with nothing to clear. */
    if (a->flags & KN_ARENA_ZEROED) return kn_arena_alloc(a, n);
    return alloc_clear(a, n);
}

int kn_arena_error(const kn_arena *a)
{
    return a->error;
}

size_t kn_arena_total(const kn_arena *a)
{
    return a->total;
}

size_t kn_arena_room(const kn_arena *a)
{
    return a->cap - a->total;
}

int kn_arena_charge(kn_arena *a, size_t n)
{
    if (n > a->cap - a->total) return refuse(a, KN_ETOOBIG);
    a->total += n;
    return KN_OK;
}

int kn_arena_owns(const kn_arena *a, const void *p)
{
    if (!a || !p) return 0;
    uintptr_t q = (uintptr_t)p;
    for (const chunk *c = a->head; c; c = c->next) {
        uintptr_t lo = (uintptr_t)c->data;
        if (q >= lo && q - lo < c->size) return 1;
    }
    return 0;
}

void **kn_arena_defer(kn_arena *a, void (*destroy)(void *))
{
    deferred *d = kn_arena_alloc(a, sizeof *d);
    if (!d) return NULL;
    d->next = a->defers;
    d->destroy = destroy;
    d->obj = NULL;
    a->defers = d;
    return &d->obj;
}
