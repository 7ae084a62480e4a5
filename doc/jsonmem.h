/*
 * doc/jsonmem.h - a scratch arena (common/arena.h) for jansson while it
 * reads a document.
 *
 * A job document may hold millions of numbers (per-frame data); jansson
 * allocates each value separately and json_decref frees them one by one,
 * which made malloc/free the larger part of parsing. Between begin and end,
 * this thread's jansson allocations come from an arena instead; the values
 * stay readable until release, which frees them all at once.
 *
 * Rules: never json_decref a value allocated inside the arena (release it
 * instead), and do not keep such values past release. Allocations made
 * outside begin/end, or by other threads, use malloc as usual, and a free of
 * a non-arena pointer while an arena exists still frees it. The arena is
 * capped: past the cap jansson's allocations fail (kn_jsonread then reports
 * "out of memory") and kn_jsonmem_error says KN_ETOOBIG.
 */
#ifndef KN_DOC_JSONMEM_H
#define KN_DOC_JSONMEM_H

#include <stddef.h>

/* Releases this thread's previous arena, if any, and routes its jansson
 * allocations into a fresh one of at most cap bytes. KN_OK, or KN_ENOMEM
 * (nothing routed) when the arena cannot be created. */
int kn_jsonmem_begin(size_t cap);

/* Stops allocating from the arena (its values stay valid). */
void kn_jsonmem_end(void);

/* KN_ETOOBIG or KN_ENOMEM when an allocation from this thread's arena has
 * failed since begin, else KN_OK. */
int kn_jsonmem_error(void);

/* Frees the arena and every value allocated in it. */
void kn_jsonmem_release(void);

#endif
