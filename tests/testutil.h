/*
 * tests/testutil.h - helpers shared by the cmocka tests. Every test program
 * is its own process (ctest runs each file separately).
 */
#ifndef KN_TESTS_TESTUTIL_H
#define KN_TESTS_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh temporary directory (under $TMPDIR or /tmp) and returns
 * its path in a static buffer per call site copy; caller copies it. */
void tu_tmpdir(char *out, size_t outsz);

/* Removes a directory tree (best effort). */
void tu_rmtree(const char *path);

/* Reads a whole file into a malloc'ed NUL-terminated buffer; NULL on error. */
char *tu_read_file(const char *path, size_t *len);

/* Writes len bytes to path; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);

/* Path of a file in the source tree (KN_SOURCE_DIR/rel) in a static buffer. */
const char *tu_src(const char *rel);

#endif
