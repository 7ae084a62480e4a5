/*
 * common/arena.h - a capped bump allocator: many small allocations that are
 * freed together, at once.
 *
 * Why: a parsed job document is thousands to millions of small objects that
 * live and die together (doc/), and so is the temporary jansson tree of one
 * parse (doc/jsonmem.c); one malloc and one free per object was the larger
 * part of parsing a document of per-frame data. An arena takes memory from
 * malloc in chunks, hands it out by moving a pointer and frees every chunk
 * in kn_arena_destroy.
 *
 * Invariants:
 *  - the arena's total (bytes obtained from malloc for chunks, their headers
 *    included, plus bytes charged with kn_arena_charge) never exceeds the cap
 *    given to kn_arena_create. A request that would pass it fails with
 *    KN_ETOOBIG, one that malloc refuses with KN_ENOMEM; either way nothing
 *    is allocated or counted and the arena stays usable. The arena's own header is not
 *    counted.
 *  - every pointer handed out is aligned to 16 bytes (what malloc gives on
 *    x86-64, enough for any type there) and stays valid, and
 *    never moves, until kn_arena_destroy; nothing is freed before then.
 *  - size arithmetic is checked: a count or size near SIZE_MAX fails with
 *    KN_ETOOBIG instead of wrapping.
 *
 * Not thread-safe: an arena is used by one thread at a time.
 * Ownership: the arena owns its chunks and everything in them; the objects
 * registered with kn_arena_defer are destroyed with it.
 */
#ifndef KN_COMMON_ARENA_H
#define KN_COMMON_ARENA_H

#include <stddef.h>

#include "common/err.h"   /* the KN_E* codes of kn_arena_error */

typedef struct kn_arena kn_arena;

enum {
    /* Chunks come from calloc, so every allocation is zeroed already and
     * kn_arena_calloc costs no more than kn_arena_alloc. Fresh pages are
     * zero anyway (the kernel clears them and calloc knows), which makes
     * this the cheaper way for memory that must start zeroed; without it,
     * kn_arena_calloc clears each allocation itself. */
    KN_ARENA_ZEROED = 1
};

/* Creates an empty arena that may hold at most cap bytes in all (see the
 * invariants); flags is 0 or KN_ARENA_ZEROED. The first chunk is chunk_min
 * bytes and each later one twice the one before, up to chunk_max: a small
 * document stays small, and a big parse makes few chunks. An allocation larger than a quarter of the next
 * chunk gets a chunk of exactly its size, so a big array does not abandon
 * the chunk being filled half empty. Near the cap the next chunk shrinks to
 * what is left, so the cap is reached by use, not by chunk rounding.
 * chunk_min 0 means 64 KiB; chunk_max below chunk_min means chunk_min.
 * Returns NULL when out of memory. */
kn_arena *kn_arena_create(size_t cap, size_t chunk_min, size_t chunk_max, unsigned flags);

/* Runs the functions registered with kn_arena_defer (newest first), then
 * frees every chunk and the arena. Accepts NULL. */
void kn_arena_destroy(kn_arena *a);

/* n bytes (n == 0 counts as 1), 16-byte aligned, valid until
 * kn_arena_destroy; zeroed only in a KN_ARENA_ZEROED arena. NULL when the
 * cap or malloc refuses; then kn_arena_error says which. */
void *kn_arena_alloc(kn_arena *a, size_t n);

/* count objects of size bytes each, zeroed; count * size is checked for
 * overflow (KN_ETOOBIG). NULL on failure, as kn_arena_alloc. */
void *kn_arena_calloc(kn_arena *a, size_t count, size_t size);

/* KN_ETOOBIG or KN_ENOMEM: why the most recent failed call of this arena
 * failed; KN_OK while none has. */
int kn_arena_error(const kn_arena *a);

/* Bytes counted against the cap so far, and how many are left. */
size_t kn_arena_total(const kn_arena *a);
size_t kn_arena_room(const kn_arena *a);

/* Counts n bytes that live outside the arena (decoded pixels, a nested
 * arena) against its cap, so that one cap bounds everything one owner
 * holds. KN_ETOOBIG, and nothing counted, when fewer than n bytes are left. */
int kn_arena_charge(kn_arena *a, size_t n);

/* Whether p points into one of this arena's chunks (a NULL arena owns
 * nothing). Walks the chunk list: cheap while chunks are few, which the
 * doubling chunk sizes keep them. */
int kn_arena_owns(const kn_arena *a, const void *p);

/* Registers destroy to run on an object when the arena is destroyed, for
 * objects made outside the arena that live as long as it (a compiled
 * expression, decoded pixels). Returns the slot the caller stores the
 * object's pointer in; it starts NULL, and destroy is not called while it
 * is NULL, so the slot can be taken before the object exists and a failure
 * between the two leaks nothing. NULL (kn_arena_error says why) when the
 * arena cannot hold the record; the object is then still the caller's. */
void **kn_arena_defer(kn_arena *a, void (*destroy)(void *));

#endif
