/*
 * tests/support/e2e.h - what the end-to-end tests (tests/test_e2e*.c) share:
 * starting the real server on a fresh data dir, JSON over HTTP, submitting
 * a job and waiting for it on its event stream, a small test job, probing a
 * downloaded video, and finding the server's pool and render worker
 * processes in /proc.
 *
 * The server is another process, so the tests wait on what it says, never
 * on the clock: a job's GET /v1/jobs/ID/events stream (server-sent events,
 * chunked) carries every progress and status change and ends after the
 * final status; a process's exit is a pidfd becoming readable. Timeouts
 * here only guard against a hang.
 *
 * The helpers fail the running cmocka test themselves (assert_*, fail_msg).
 */
#ifndef KN_TESTS_SUPPORT_E2E_H
#define KN_TESTS_SUPPORT_E2E_H

#include <stddef.h>

#include <jansson.h>

/* ---- the server and its HTTP API --------------------------------------- */

typedef struct tu_srv {
    char dir[512];   /* its data dir; server.log there has its stderr */
    int pid, port;
} tu_srv;

/* Starts `kinora serve` with extra args (NULL-terminated, may be NULL) on
 * a fresh temporary data dir. */
void tu_srv_start(tu_srv *s, const char *const *extra);
/* SIGTERMs and reaps it, and removes its data dir. */
void tu_srv_stop(tu_srv *s);

/* One request; *status gets the HTTP status. Returns the parsed JSON body
 * (caller decrefs), or NULL for an empty or non-JSON one. */
json_t *tu_http_json(int port, const char *method, const char *path, const char *hdrs,
                     const char *body, int *status);

/* POSTs a job, which must be answered with want_status; returns its id
 * (malloc'ed). */
char *tu_post_job(int port, const char *body, const char *hdrs, int want_status);

/* Waits on the job's event stream until a status event says `want` or a
 * final status (for "rendering", a progress event with frames rendered
 * says so too), then GETs the job once and returns that resource (caller
 * decrefs): its status is `want`, a later one, or final. Fails the test
 * when no such event comes within timeout seconds or the stream ends
 * without a final status. */
json_t *tu_wait_status(int port, const char *id, const char *want, double timeout);

/* tu_wait_status for "succeeded", and the job must have succeeded. */
void tu_expect_succeeded(int port, const char *id, double timeout);

/* The string o[a] (or o[a][b] when b is not NULL), or NULL. */
const char *tu_jstr(json_t *o, const char *a, const char *b);

/* A 64x48, 24 fps job of `frames` frames: a red 16x16 square moving right,
 * preset ultrafast, metadata {"who":"test"}; extra_output (may be NULL) is
 * spliced into "output", e.g. ",\"format\":\"webm\"". malloc'ed. */
char *tu_small_job(int frames, const char *extra_output);

/* How many half-written videos (.part files in DATA/videos) a server's
 * data dir holds. */
int tu_parts_left(const char *data_dir);

/* ---- a job's event stream ---------------------------------------------- */

typedef struct tu_sse {
    int fd;
    int chunked;               /* Transfer-Encoding: chunked */
    int state;                 /* de-chunking state */
    size_t chunk_left;         /* bytes left in the current chunk */
    int done;                  /* the last chunk, or the connection's end, was read */
    char *raw;                 /* bytes read, not yet de-chunked */
    size_t raw_len, raw_cap;
    char *text;                /* the de-chunked stream, not yet parsed */
    size_t text_len, text_cap;
    char event[32];            /* the last event's name ("progress", "status") */
    char *data;                /* and its data line, NUL-terminated; owned */
} tu_sse;

/* Opens GET /v1/jobs/ID/events and reads the answer's head, which must be
 * 200 text/event-stream. */
void tu_sse_open(tu_sse *s, int port, const char *id);

/* Reads the next event into s->event and s->data (comment lines such as
 * keep-alives are skipped). Returns 1 for an event, 0 when the stream ended
 * (the server ends it after the final status event), -1 when nothing came
 * within timeout_ms. */
int tu_sse_next(tu_sse *s, int timeout_ms);

/* The last event's data as JSON (caller decrefs); fails the test when it
 * is not JSON. */
json_t *tu_sse_json(const tu_sse *s);

/* Closes the connection (early, if the stream has not ended: a client
 * leaving) and frees s's buffers. */
void tu_sse_close(tu_sse *s);

/* ---- a downloaded video ------------------------------------------------- */

typedef struct tu_e2e_probe {
    char codec[32];            /* "h264", "hevc", "vp9" */
    int width, height;
    long packets;
    double duration;           /* the stream's, or the container's (WebM) */
    int moov_first;            /* an MP4 with moov before mdat */
} tu_e2e_probe;

void tu_e2e_probe_file(const char *path, tu_e2e_probe *p);

/* ---- processes ------------------------------------------------------------ */

/* PIDs of processes named `comm` (from /proc); returns how many, at most max. */
int tu_find_procs(const char *comm, int *pids, int max);

/* 1 when parent is pid's parent. */
int tu_child_of(int pid, int parent);

/* The kinora-pool process under server pid `server`, or 0. */
int tu_pool_of(int server);

/* Waits until process pid (not our child) has exited, on a pidfd, which
 * becomes readable when it does: a SIGKILLed process on a loaded machine
 * may take a moment to die. timeout_ms only guards against a hang. Returns
 * 1 once it has exited (or is gone), 0 if it still runs. */
int tu_gone_within(int pid, int timeout_ms);

/* CPU seconds the kinora-render workers under pool have used so far. */
double tu_workers_cpu(int pool);

#endif
