/*
 * tests/support/testutil.h - helpers shared by the cmocka tests: temporary
 * files, a loopback HTTP/1.1 client, and starting the real server. Every
 * test program is its own process (ctest runs each file separately).
 */
#ifndef KN_TESTS_SUPPORT_TESTUTIL_H
#define KN_TESTS_SUPPORT_TESTUTIL_H

#include <stddef.h>
#include <time.h>

/* Creates a fresh temporary directory (under $TMPDIR or /tmp) and writes
 * its path to out; out is "" when that failed. */
void tu_tmpdir(char *out, size_t outsz);

/* Removes a directory tree (best effort). */
void tu_rmtree(const char *path);

/* Reads a whole file into a malloc'ed NUL-terminated buffer; NULL on error. */
char *tu_read_file(const char *path, size_t *len);

/* Writes len bytes to path; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);

/* Path of a file in the source tree (KN_SOURCE_DIR/rel) in a static buffer. */
const char *tu_src(const char *rel);

/* The CLOCK_REALTIME time timeout_ms from now, as sem_timedwait and
 * pthread_cond_timedwait (default clock) take it. */
struct timespec tu_deadline(int timeout_ms);

/* ---- a minimal HTTP/1.1 client ------------------------------------- */

typedef struct tu_resp {
    int status;          /* 0 when the request failed */
    char *headers;       /* raw header block, NUL-terminated */
    char *body;          /* NUL-terminated (body may contain NULs: use len) */
    size_t len;
} tu_resp;

/* Sends one request to 127.0.0.1:port with "Connection: close" and reads the
 * whole answer. extra_headers: "Name: value\r\n..." or NULL. */
int tu_http(int port, const char *method, const char *path, const char *extra_headers,
            const void *body, size_t body_len, tu_resp *out);
void tu_resp_free(tu_resp *r);

/* Value of a response header (case-insensitive name) in a static buffer, or
 * NULL. */
const char *tu_header(const tu_resp *r, const char *name);

/* Starts `kinora serve` (KN_TEST_BIN) on a free port with data dir `data`
 * and extra args (NULL-terminated list, may be NULL). Returns the child pid
 * and stores the port; the server's stderr goes to data/server.log. */
int tu_server_start(const char *data, const char *const *extra, int *port);

/* SIGTERM (or SIGKILL if hard) the server and reap it. */
void tu_server_stop(int pid, int hard);

#endif
