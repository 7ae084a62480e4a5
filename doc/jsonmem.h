/*
 * doc/jsonmem.h - a scratch arena for jansson while it parses a document.
 *
 * A job document may hold millions of numbers (per-frame data); jansson
 * allocates each value separately and json_decref frees them one by one,
 * which made malloc/free the larger part of parsing. Between begin and end,
 * this thread's jansson allocations come from bump-allocated chunks instead;
 * the values stay readable until release, which frees all chunks at once.
 *
 * Rules: never json_decref a value allocated inside the arena (release it
 * instead), and do not keep such values past release. Allocations made
 * outside begin/end, or by other threads, use malloc as usual, and a free of
 * a non-arena pointer while an arena is active still frees it.
 */
#ifndef KN_DOC_JSONMEM_H
#define KN_DOC_JSONMEM_H

/* Starts routing this thread's jansson allocations into a fresh arena. */
void kn_jsonmem_begin(void);

/* Stops allocating from the arena (its values stay valid). */
void kn_jsonmem_end(void);

/* Frees the arena and every value allocated in it. */
void kn_jsonmem_release(void);

#endif
