/*
 * tests/test_http.c - the HTTP handlers (api/http) in-process on a loopback
 * port, over a real temporary store, the real scheduler with fake runs
 * (tests/support/fakerun.h) and a render pool of stub workers: POST
 * validation (400 invalid_json / invalid_job, 413), GET and its 404s, list
 * pagination and filters, DELETE of running, queued and finished jobs, 405
 * with Allow, the bearer token, the video with Range, ETag and If-Range
 * (200/206/304/416), the event stream (events larger than MHD's block, a
 * pretty-printed metadata on one data line), list pages within the byte
 * budget, POST while the pool is down (503), nosniff on every answer, the
 * errors libmicrohttpd answers itself, slow clients (connection caps and
 * the request-head deadline) and tokens of any length, /healthz and
 * /metrics.
 *
 * Requests go through the plain-socket client of tests/support/testutil.h.
 * Jobs are awaited on the scheduler's event generation, never by polling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/http.h"
#include "common/limits.h"
#include "common/log.h"
#include "pipeline/pool.h"
#include "pipeline/sched.h"
#include "store/store.h"
#include "tests/support/fakerun.h"
#include "tests/support/stubpool.h"
#include "tests/support/testutil.h"

#define WAIT_MS 30000
/* Room for jobs whose metadata fills a good part of the list budget. */
#define MAX_BODY (256 * 1024)
#define TOKEN "s3cret"

typedef struct fx {
    char dir[512], videos[600];
    kn_pool *pool;
    kn_store *store;
    kn_sched *sched;
    kn_http *http, *locked;    /* without and with a token */
    int port, lport;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    *state = f;
    kn_err err;
    tu_stub_reset(tu_stub_setup());
    tu_fakerun_reset();
    /* Forked before this process has any thread; the round trip makes the
     * pool's workers certainly up, so /healthz has one answer. */
    if (kn_pool_start_with(1, &tu_stub_ops, &f->pool, &err) != KN_OK) return -1;
    if (tu_stub_round_trip(f->pool, 16, 16, 1, &err) != KN_OK) return -1;
    tu_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->videos, sizeof f->videos, "%s/videos", f->dir);
    char db[700];
    snprintf(db, sizeof db, "%s/kinora.db", f->dir);
    if (!f->dir[0] || mkdir(f->videos, 0755) != 0 || kn_store_open(db, &f->store, &err) != KN_OK) return -1;
    if (kn_sched_start_with(f->store, f->pool, f->videos, 4, &tu_fakerun_ops, &f->sched, &err) != KN_OK) return -1;
    kn_http_config hc = {.port = 0, .bind = "127.0.0.1", .max_body = MAX_BODY, .max_queued = 100};
    if (kn_http_start(&hc, f->store, f->sched, f->pool, &f->http, &err) != KN_OK) return -1;
    hc.token = TOKEN;
    if (kn_http_start(&hc, f->store, f->sched, f->pool, &f->locked, &err) != KN_OK) return -1;
    f->port = kn_http_port(f->http);
    f->lport = kn_http_port(f->locked);
    return f->port > 0 && f->lport > 0 && f->port != f->lport ? 0 : -1;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    kn_http_stop(f->http);
    kn_http_stop(f->locked);
    kn_sched_stop(f->sched);
    kn_store_close(f->store);
    kn_pool_stop(f->pool);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- helpers --------------------------------------------------------- */

/* One request; the answer's body parsed as JSON (NULL if it is not). */
static json_t *call(int port, const char *method, const char *path, const char *hdrs, const char *body,
                    size_t len, int *status)
{
    tu_resp r;
    assert_int_equal(tu_http(port, method, path, hdrs, body, len, &r), 0);
    *status = r.status;
    json_t *j = r.len ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    tu_resp_free(&r);
    return j;
}

static const char *jstr(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b) v = json_object_get(v, b);
    return json_string_value(v);
}

/* The error code of an error body, checking the status. */
static void expect_error(int port, const char *method, const char *path, const char *hdrs,
                         const char *body, size_t len, int status, const char *code, const char *ptr)
{
    int st;
    json_t *j = call(port, method, path, hdrs, body, len, &st);
    if (st != status) fail_msg("%s %s: %d, not %d", method, path, st, status);
    assert_non_null(j);
    assert_string_equal(jstr(j, "error", "code"), code);
    assert_non_null(jstr(j, "error", "message"));
    if (ptr) assert_string_equal(jstr(j, "error", "path"), ptr);
    json_decref(j);
}

static char *job_body(long frames, const char *meta)
{
    char *t = tu_fake_job(frames, meta);
    assert_non_null(t);
    return t;
}

/* POSTs a job (201 expected) and returns its id (caller frees). */
static char *post(fx *f, long frames, const char *meta)
{
    char *body = job_body(frames, meta);
    tu_resp r;
    assert_int_equal(tu_http(f->port, "POST", "/v1/jobs", NULL, body, strlen(body), &r), 0);
    free(body);
    if (r.status != 201) fail_msg("POST: %d %s", r.status, r.body);
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    char *id = strdup(jstr(j, "id", NULL));
    assert_string_equal(jstr(j, "status", NULL), "queued");
    char loc[96];
    snprintf(loc, sizeof loc, "/v1/jobs/%s", id);
    assert_string_equal(tu_header(&r, "Location"), loc);
    json_decref(j);
    tu_resp_free(&r);
    return id;
}

static void wait_status(fx *f, const char *id, const char *status)
{
    if (tu_sched_wait_status(f->sched, f->store, id, status, WAIT_MS) != 0)
        fail_msg("job %s never became %s", id, status);
}

static void wait_running(const char *id)
{
    if (tu_fakerun_wait_running(id, WAIT_MS) != 0) fail_msg("job %s never started", id);
}

static void path_of(const char *id, const char *rest, char *buf, size_t n)
{
    snprintf(buf, n, "/v1/jobs/%s%s", id, rest);
}

/* ---- POST and GET ---------------------------------------------------- */

static void test_post_validation(void **state)
{
    fx *f = *state;
    expect_error(f->port, "POST", "/v1/jobs", NULL, "{\"width\":", 9, 400, "invalid_json", NULL);
    expect_error(f->port, "POST", "/v1/jobs", NULL, "", 0, 400, "invalid_json", NULL);
    static const char nul[] = "{\"width\":32\0}";
    expect_error(f->port, "POST", "/v1/jobs", NULL, nul, sizeof nul - 1, 400, "invalid_json", NULL);
    const char *neg = "{\"width\":-1,\"height\":32,\"fps\":10,\"duration\":1}";
    expect_error(f->port, "POST", "/v1/jobs", NULL, neg, strlen(neg), 400, "invalid_job", "/width");
    const char *fps = "{\"width\":32,\"height\":32,\"fps\":0,\"duration\":1}";
    expect_error(f->port, "POST", "/v1/jobs", NULL, fps, strlen(fps), 400, "invalid_job", "/fps");
    char *ok = job_body(2, "");
    expect_error(f->port, "POST", "/v1/jobs", "Idempotency-Key: \r\n", ok, strlen(ok), 400, "invalid_job", NULL);

    /* Over max_body: 413, and nothing stored. */
    size_t big_len = MAX_BODY + 1;
    char *big = malloc(big_len);
    assert_non_null(big);
    memset(big, ' ', big_len);
    memcpy(big, ok, strlen(ok));
    expect_error(f->port, "POST", "/v1/jobs", NULL, big, big_len, 413, "payload_too_large", NULL);
    free(big);

    /* None of them was stored. */
    int st;
    json_t *j = call(f->port, "GET", "/v1/jobs", NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 0);
    json_decref(j);
    free(ok);
}

/* POST, the job runs, GET shows it succeeded; an Idempotency-Key repeat
 * answers 200 with the same job. */
static void test_post_then_get(void **state)
{
    fx *f = *state;
    char *id = post(f, 3, "\"who\":\"me\"");
    wait_status(f, id, "succeeded");
    char path[128];
    path_of(id, "", path, sizeof path);
    int st;
    json_t *j = call(f->port, "GET", path, NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jstr(j, "id", NULL), id);
    assert_string_equal(jstr(j, "status", NULL), "succeeded");
    assert_string_equal(jstr(j, "metadata", "who"), "me");
    assert_string_equal(jstr(j, "output", "encoder"), "fake");
    json_decref(j);

    char *body = job_body(2, "");
    json_t *a = call(f->port, "POST", "/v1/jobs", "Idempotency-Key: k1\r\n", body, strlen(body), &st);
    assert_int_equal(st, 201);
    json_t *b = call(f->port, "POST", "/v1/jobs", "Idempotency-Key: k1\r\n", body, strlen(body), &st);
    assert_int_equal(st, 200);
    assert_string_equal(jstr(a, "id", NULL), jstr(b, "id", NULL));
    json_decref(a);
    json_decref(b);
    free(body);
    free(id);
}

static void test_not_found(void **state)
{
    fx *f = *state;
    static const char *const req[][2] = {
        {"GET", "/v1/jobs/j_nosuchjob"}, {"GET", "/v1/jobs/j_nosuchjob/video"},
        {"GET", "/v1/jobs/j_nosuchjob/events"}, {"DELETE", "/v1/jobs/j_nosuchjob"},
        {"GET", "/v1/jobs/j-bad.id"}, {"GET", "/v1/jobs/j_nosuchjob/other"}, {"GET", "/v2/jobs"},
    };
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
        expect_error(f->port, req[i][0], req[i][1], NULL, NULL, 0, 404, "not_found", NULL);
}

/* ---- list ------------------------------------------------------------ */

/* Five jobs, newest first, two to a page, each exactly once; filters and
 * bad arguments. */
static void test_list_pages(void **state)
{
    fx *f = *state;
    char *id[5];
    for (int i = 0; i < 5; i++) id[i] = post(f, 1, "");
    wait_status(f, id[4], "succeeded");   /* they run in order: all done */
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs?limit=2");
    int seen = 0, st;
    for (int page = 0; page < 3; page++) {
        json_t *j = call(f->port, "GET", path, NULL, NULL, 0, &st);
        assert_int_equal(st, 200);
        json_t *jobs = json_object_get(j, "jobs");
        size_t n = json_array_size(jobs);
        assert_int_equal(n, page < 2 ? 2 : 1);
        for (size_t k = 0; k < n; k++) assert_string_equal(jstr(json_array_get(jobs, k), "id", NULL), id[4 - seen++]);
        const char *next = jstr(j, "next", NULL);
        if (page < 2) {
            assert_non_null(next);
            snprintf(path, sizeof path, "/v1/jobs?limit=2&after=%s", next);
        } else {
            assert_true(json_is_null(json_object_get(j, "next")));
        }
        json_decref(j);
    }
    assert_int_equal(seen, 5);

    json_t *j = call(f->port, "GET", "/v1/jobs?status=succeeded&limit=10", NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 5);
    json_decref(j);
    j = call(f->port, "GET", "/v1/jobs?status=queued", NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 0);
    json_decref(j);

    static const char *const bad[] = {
        "/v1/jobs?limit=0", "/v1/jobs?limit=1001", "/v1/jobs?limit=2x", "/v1/jobs?status=done",
        "/v1/jobs?status=succeeded%00x", "/v1/jobs?after=j_nosuchjob",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(f->port, "GET", bad[i], NULL, NULL, 0, 400, "invalid_job", NULL);
    for (int i = 0; i < 5; i++) free(id[i]);
}

/* ---- DELETE ---------------------------------------------------------- */

/* A running job is canceled (200, its run stopped), a queued one too; a
 * finished job is deleted with its video (204, then 404). */
static void test_delete(void **state)
{
    fx *f = *state;
    char *run = post(f, 5, "\"fake\":\"block\"");
    char *queued = post(f, 5, "");
    wait_running(run);
    char path[128];
    int st;

    path_of(queued, "", path, sizeof path);
    json_t *j = call(f->port, "DELETE", path, NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jstr(j, "status", NULL), "canceled");
    json_decref(j);

    path_of(run, "", path, sizeof path);
    j = call(f->port, "DELETE", path, NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jstr(j, "status", NULL), "canceled");
    json_decref(j);
    tu_fakerun_log log;
    tu_fakerun_get_log(&log);
    assert_int_equal(log.cancels, 1);

    char *done = post(f, 2, "");
    wait_status(f, done, "succeeded");
    tu_fakerun_get_log(&log);
    assert_int_equal(log.execs, 2);   /* run and done; never the canceled queued one */
    char video[800];
    kn_sched_video_path(f->sched, done, KN_FORMAT_MP4, video, sizeof video);
    assert_int_equal(access(video, F_OK), 0);
    path_of(done, "", path, sizeof path);
    j = call(f->port, "DELETE", path, NULL, NULL, 0, &st);
    assert_int_equal(st, 204);
    assert_null(j);
    assert_int_not_equal(access(video, F_OK), 0);
    expect_error(f->port, "GET", path, NULL, NULL, 0, 404, "not_found", NULL);

    /* A canceled job: DELETE now removes it. */
    path_of(run, "", path, sizeof path);
    j = call(f->port, "DELETE", path, NULL, NULL, 0, &st);
    assert_int_equal(st, 204);
    expect_error(f->port, "GET", path, NULL, NULL, 0, 404, "not_found", NULL);
    free(run);
    free(queued);
    free(done);
}

/* ---- methods and auth ------------------------------------------------ */

static void expect_405(int port, const char *method, const char *path, const char *allow)
{
    tu_resp r;
    assert_int_equal(tu_http(port, method, path, NULL, NULL, 0, &r), 0);
    if (r.status != 405) fail_msg("%s %s: %d, not 405", method, path, r.status);
    const char *a = tu_header(&r, "Allow");
    assert_non_null(a);
    assert_string_equal(a, allow);
    tu_resp_free(&r);
}

static void test_method_not_allowed(void **state)
{
    fx *f = *state;
    char *id = post(f, 1, "");
    char job[128], video[128], events[128];
    path_of(id, "", job, sizeof job);
    path_of(id, "/video", video, sizeof video);
    path_of(id, "/events", events, sizeof events);
    expect_405(f->port, "PUT", "/v1/jobs", "GET, HEAD, POST");
    expect_405(f->port, "DELETE", "/v1/jobs", "GET, HEAD, POST");
    expect_405(f->port, "POST", job, "GET, HEAD, DELETE");
    expect_405(f->port, "PATCH", job, "GET, HEAD, DELETE");
    expect_405(f->port, "DELETE", video, "GET, HEAD");
    expect_405(f->port, "POST", events, "GET, HEAD");
    expect_405(f->port, "GET", "/v1/preview", "POST");
    expect_405(f->port, "POST", "/healthz", "GET, HEAD");
    expect_405(f->port, "DELETE", "/metrics", "GET, HEAD");
    free(id);
}

static void test_token(void **state)
{
    fx *f = *state;
    tu_resp r;
    assert_int_equal(tu_http(f->lport, "GET", "/v1/jobs", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 401);
    assert_string_equal(tu_header(&r, "WWW-Authenticate"), "Bearer");
    tu_resp_free(&r);
    static const char *const wrong[] = {
        "Authorization: Bearer nope\r\n", "Authorization: Bearer s3cre\r\n",
        "Authorization: Bearer s3cretX\r\n", "Authorization: Basic s3cret\r\n", "Authorization: s3cret\r\n",
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        expect_error(f->lport, "GET", "/v1/jobs", wrong[i], NULL, 0, 401, "unauthorized", NULL);
    /* A POST without the token is refused before the body is looked at. */
    char *body = job_body(1, "");
    expect_error(f->lport, "POST", "/v1/jobs", NULL, body, strlen(body), 401, "unauthorized", NULL);
    free(body);
    int st;
    json_decref(call(f->lport, "GET", "/v1/jobs", "Authorization: Bearer " TOKEN "\r\n", NULL, 0, &st));
    assert_int_equal(st, 200);
    json_decref(call(f->lport, "GET", "/v1/jobs", "Authorization: bearer " TOKEN "\r\n", NULL, 0, &st));
    assert_int_equal(st, 200);
    /* Outside /v1 nothing asks for it. */
    json_decref(call(f->lport, "GET", "/healthz", NULL, NULL, 0, &st));
    assert_int_equal(st, 200);
    /* And the open server never does. */
    json_decref(call(f->port, "GET", "/v1/jobs", NULL, NULL, 0, &st));
    assert_int_equal(st, 200);
}

/* ---- the video ------------------------------------------------------- */

static tu_resp get_video(fx *f, const char *id, const char *hdrs, int status)
{
    char path[128];
    path_of(id, "/video", path, sizeof path);
    tu_resp r;
    assert_int_equal(tu_http(f->port, "GET", path, hdrs, NULL, 0, &r), 0);
    if (r.status != status) fail_msg("GET %s (%s): %d, not %d", path, hdrs ? hdrs : "", r.status, status);
    return r;
}

/* The answer carries exactly bytes a..b of the fake video. */
static void expect_bytes(const tu_resp *r, long a, long b)
{
    assert_int_equal(r->len, b - a + 1);
    for (long i = a; i <= b; i++)
        if ((uint8_t)r->body[i - a] != tu_fake_video_byte((size_t)i)) fail_msg("byte %ld differs", i);
}

static void expect_range(fx *f, const char *id, const char *range, long a, long b)
{
    char hdr[128], cr[64];
    snprintf(hdr, sizeof hdr, "Range: %s\r\n", range);
    tu_resp r = get_video(f, id, hdr, 206);
    snprintf(cr, sizeof cr, "bytes %ld-%ld/%d", a, b, TU_FAKE_VIDEO_BYTES);
    assert_string_equal(tu_header(&r, "Content-Range"), cr);
    expect_bytes(&r, a, b);
    tu_resp_free(&r);
}

static void expect_416(fx *f, const char *id, const char *range)
{
    char hdr[128], cr[64];
    snprintf(hdr, sizeof hdr, "Range: %s\r\n", range);
    tu_resp r = get_video(f, id, hdr, 416);
    snprintf(cr, sizeof cr, "bytes */%d", TU_FAKE_VIDEO_BYTES);
    assert_string_equal(tu_header(&r, "Content-Range"), cr);
    tu_resp_free(&r);
}

/* The file the scheduler's path names is what GET serves: whole (200),
 * by range (206), not at all past its end (416), 304 for its ETag, and
 * whole again when If-Range names another version. */
static void test_video_ranges(void **state)
{
    fx *f = *state;
    char *id = post(f, 4, "");
    wait_status(f, id, "succeeded");

    tu_resp r = get_video(f, id, NULL, 200);
    expect_bytes(&r, 0, TU_FAKE_VIDEO_BYTES - 1);
    assert_string_equal(tu_header(&r, "Content-Type"), "video/mp4");
    assert_string_equal(tu_header(&r, "Accept-Ranges"), "bytes");
    char etag[128];
    snprintf(etag, sizeof etag, "%s", tu_header(&r, "ETag"));
    tu_resp_free(&r);

    expect_range(f, id, "bytes=0-9", 0, 9);
    expect_range(f, id, "bytes=990-", 990, 999);
    expect_range(f, id, "bytes=-5", 995, 999);
    expect_range(f, id, "bytes=-5000", 0, 999);
    expect_range(f, id, "bytes=995-2000", 995, 999);
    expect_range(f, id, "bytes=500-500", 500, 500);
    expect_416(f, id, "bytes=1000-");
    expect_416(f, id, "bytes=-0");
    /* Not one byte range: the whole file. */
    static const char *const whole[] = {"bytes=0-1,5-6", "bytes=9-3", "items=0-9", "bytes=x-"};
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Range: %s\r\n", whole[i]);
        r = get_video(f, id, hdr, 200);
        expect_bytes(&r, 0, TU_FAKE_VIDEO_BYTES - 1);
        tu_resp_free(&r);
    }

    char hdr[256];
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag);
    r = get_video(f, id, hdr, 304);
    tu_resp_free(&r);
    snprintf(hdr, sizeof hdr, "If-Range: \"stale\"\r\nRange: bytes=0-9\r\n");
    r = get_video(f, id, hdr, 200);
    expect_bytes(&r, 0, TU_FAKE_VIDEO_BYTES - 1);
    tu_resp_free(&r);
    snprintf(hdr, sizeof hdr, "If-Range: %s\r\nRange: bytes=0-9\r\n", etag);
    r = get_video(f, id, hdr, 206);
    expect_bytes(&r, 0, 9);
    tu_resp_free(&r);

    /* The file gone from where the scheduler keeps it: a 500, not a crash. */
    char video[800];
    kn_sched_video_path(f->sched, id, KN_FORMAT_MP4, video, sizeof video);
    assert_int_equal(unlink(video), 0);
    char path[128];
    path_of(id, "/video", path, sizeof path);
    expect_error(f->port, "GET", path, NULL, NULL, 0, 500, "internal", NULL);
    free(id);
}

static void test_video_not_ready(void **state)
{
    fx *f = *state;
    char *id = post(f, 4, "\"fake\":\"block\"");
    wait_running(id);
    char path[128];
    path_of(id, "/video", path, sizeof path);
    expect_error(f->port, "GET", path, NULL, NULL, 0, 409, "not_ready", NULL);
    path_of(id, "", path, sizeof path);
    int st;
    json_decref(call(f->port, "DELETE", path, NULL, NULL, 0, &st));
    assert_int_equal(st, 200);
    free(id);
}

/* ---- events, health, metrics ----------------------------------------- */

typedef struct stream {
    int port;
    char path[128];
    tu_resp r;
    int rc;
} stream;

static void *read_stream(void *arg)
{
    stream *s = arg;
    s->rc = tu_http(s->port, "GET", s->path, NULL, NULL, 0, &s->r);
    return NULL;
}

/* The event stream of a job sent progress and ends with its final status;
 * the job only moves on when the test steps it. */
static void test_event_stream(void **state)
{
    fx *f = *state;
    char *id = post(f, 2, "\"fake\":\"steps\"");
    stream s = {.port = f->port};
    path_of(id, "/events", s.path, sizeof s.path);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_stream, &s), 0);
    wait_running(id);
    tu_fakerun_step();
    tu_fakerun_step();
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.r.status, 200);
    assert_string_equal(tu_header(&s.r, "Content-Type"), "text/event-stream");
    assert_non_null(strstr(s.r.body, "event: progress\ndata: {\"frames_total\":2,"));
    assert_non_null(strstr(s.r.body, "\"frames_encoded\":2,"));
    const char *last = strstr(s.r.body, "event: status\ndata: ");
    assert_non_null(last);
    for (const char *p = last; (p = strstr(p + 1, "event: status\ndata: "));) last = p;
    json_t *j = json_loads(last + strlen("event: status\ndata: "), JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(j);
    assert_string_equal(jstr(j, "status", NULL), "succeeded");
    json_decref(j);
    tu_resp_free(&s.r);
    free(id);
}

static void test_health_and_metrics(void **state)
{
    fx *f = *state;
    char *id = post(f, 3, "");
    wait_status(f, id, "succeeded");
    int st;
    json_t *j = call(f->port, "GET", "/healthz", NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jstr(j, "status", NULL), "ok");
    json_decref(j);
    expect_error(f->port, "POST", "/v1/jobs", NULL, "{", 1, 400, "invalid_json", NULL);

    tu_resp r;
    assert_int_equal(tu_http(f->port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    static const char *const lines[] = {
        "kinora_jobs{status=\"succeeded\"} 1\n", "kinora_jobs{status=\"queued\"} 0\n",
        "kinora_frames_encoded_total 3\n", "kinora_worker_restarts_total 0\n",
        "kinora_http_requests_total{code=\"201\"} 1\n", "kinora_http_requests_total{code=\"400\"} 1\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(r.body, lines[i])) fail_msg("/metrics lacks %s", lines[i]);
    tu_resp_free(&r);

    /* The supervisor gone, and no launcher to start another (the pool
     * heals otherwise: test_pool.c): the health check says so. The
     * supervisor's exit is awaited on a pidfd, as the pool's watchdog
     * reaps it. */
    int launcher = kn_pool_launcher_pid(f->pool);
    assert_int_equal(kill(launcher, SIGKILL), 0);
    siginfo_t si;
    assert_int_equal(waitid(P_PID, (id_t)launcher, &si, WEXITED | WNOWAIT), 0);
    int sup = kn_pool_supervisor_pid(f->pool);
    int pfd = (int)syscall(SYS_pidfd_open, sup, 0);
    assert_true(pfd >= 0);
    assert_int_equal(kill(sup, SIGKILL), 0);
    struct pollfd pf = {.fd = pfd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 30000), 1);
    close(pfd);
    j = call(f->port, "GET", "/healthz", NULL, NULL, 0, &st);
    assert_int_equal(st, 503);
    json_decref(j);
    /* And POST refuses work it could not do, saying to come back. */
    char *body = job_body(1, "");
    assert_int_equal(tu_http(f->port, "POST", "/v1/jobs", NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(tu_header(&r, "Retry-After"), "5");
    j = json_loadb(r.body, r.len, 0, NULL);
    assert_string_equal(jstr(j, "error", "code"), "unavailable");
    json_decref(j);
    tu_resp_free(&r);
    free(body);
    j = call(f->port, "GET", "/v1/jobs", NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);   /* nothing stored */
    json_decref(j);
    free(id);
}

/* ---- large events, list budget ------------------------------------ */

/* A POST body whose metadata is `{"fake":"steps","pad":"xx...",...}` laid
 * out with a newline between every token, `pad` bytes of padding. */
static char *big_meta_job(size_t pad, const char *fake)
{
    size_t cap = pad + 512;
    char *t = malloc(cap);
    assert_non_null(t);
    int k = snprintf(t, cap,
                     "{\"width\":32,\"height\":32,\"fps\":10,\"duration\":0.2,\"metadata\":{\n"
                     "  \"fake\"\n:\r\n\"%s\",\n  \"list\": [\n    1,\n    2.50\n  ],\n  \"pad\": \"",
                     fake);
    memset(t + k, 'x', pad);
    snprintf(t + k + pad, cap - (size_t)k - pad, "\"\n}\n}");
    return t;
}

static char *post_body(fx *f, const char *body)
{
    tu_resp r;
    assert_int_equal(tu_http(f->port, "POST", "/v1/jobs", NULL, body, strlen(body), &r), 0);
    if (r.status != 201) fail_msg("POST: %d %.200s", r.status, r.body);
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    char *id = strdup(jstr(j, "id", NULL));
    json_decref(j);
    tu_resp_free(&r);
    return id;
}

/* A status event of 200 kB (a dozen of MHD's blocks) whose metadata was
 * posted with newlines between its tokens streams whole, on one data
 * line, and the stream ends after it: every line is an event field, a
 * data line is one JSON value, and the last status event holds the
 * metadata as posted (as JSON). */
static void test_event_stream_large(void **state)
{
    fx *f = *state;
    char *body = big_meta_job(200 * 1000, "steps");
    char *id = post_body(f, body);
    stream s = {.port = f->port};
    path_of(id, "/events", s.path, sizeof s.path);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_stream, &s), 0);
    wait_running(id);
    tu_fakerun_step();
    tu_fakerun_step();
    assert_int_equal(pthread_join(t, NULL), 0);   /* the stream ended */
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.r.status, 200);
    assert_string_equal(tu_header(&s.r, "X-Content-Type-Options"), "nosniff");
    json_t *last = NULL;
    int statuses = 0;
    for (char *line = s.r.body, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);   /* every line is complete */
        *nl = '\0';
        if (!*line || !strncmp(line, "event: ", 7) || !strncmp(line, ": ", 2)) continue;
        if (strncmp(line, "data: ", 6) != 0) fail_msg("not an event field: %.80s", line);
        json_t *j = json_loads(line + 6, JSON_DECODE_INT_AS_REAL, NULL);
        if (!j) fail_msg("a data line that is not one JSON value: %.80s", line);
        if (json_object_get(j, "status")) {
            statuses++;
            json_decref(last);
            last = j;
        } else {
            json_decref(j);
        }
    }
    assert_true(statuses >= 1);   /* the job may have ended before the stream began */
    assert_string_equal(jstr(last, "status", NULL), "succeeded");
    json_t *posted = json_loads(body, JSON_DECODE_INT_AS_REAL, NULL);
    assert_true(json_equal(json_object_get(posted, "metadata"), json_object_get(last, "metadata")));
    json_decref(posted);
    json_decref(last);
    tu_resp_free(&s.r);
    free(body);
    free(id);
}

/* Jobs of 240 kB of metadata each: a page holds what fits in
 * KN_HTTP_LIST_MAX_BYTES (four), its `next` carries on, and the next page
 * has the rest. */
static void test_list_byte_budget(void **state)
{
    fx *f = *state;
    char *id[5];
    for (int i = 0; i < 5; i++) {
        char *body = big_meta_job(240 * 1000, "ok");
        id[i] = post_body(f, body);
        free(body);
    }
    tu_resp r;
    assert_int_equal(tu_http(f->port, "GET", "/v1/jobs?limit=10", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(r.len <= KN_HTTP_LIST_MAX_BYTES);
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    json_t *jobs = json_object_get(j, "jobs");
    assert_int_equal(json_array_size(jobs), 4);
    for (int k = 0; k < 4; k++) assert_string_equal(jstr(json_array_get(jobs, (size_t)k), "id", NULL), id[4 - k]);
    assert_string_equal(jstr(j, "next", NULL), id[1]);
    json_decref(j);
    tu_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs?limit=10&after=%s", id[1]);
    int st;
    j = call(f->port, "GET", path, NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "jobs"), 0), "id", NULL), id[0]);
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    for (int i = 0; i < 5; i++) free(id[i]);
}

/* ---- headers and MHD's own answers ------------------------------------ */

static void expect_nosniff(int port, const char *method, const char *path, const char *hdrs, int status)
{
    tu_resp r;
    assert_int_equal(tu_http(port, method, path, hdrs, NULL, 0, &r), 0);
    if (r.status != status) fail_msg("%s %s: %d, not %d", method, path, r.status, status);
    const char *v = tu_header(&r, "X-Content-Type-Options");
    if (!v || strcmp(v, "nosniff") != 0) fail_msg("%s %s: no nosniff", method, path);
    tu_resp_free(&r);
}

/* Every kind of answer Kinora makes carries nosniff. */
static void test_nosniff(void **state)
{
    fx *f = *state;
    char *id = post(f, 2, "");
    wait_status(f, id, "succeeded");
    char job[128], video[128], events[128];
    path_of(id, "", job, sizeof job);
    path_of(id, "/video", video, sizeof video);
    path_of(id, "/events", events, sizeof events);
    expect_nosniff(f->port, "GET", job, NULL, 200);
    expect_nosniff(f->port, "GET", "/v1/jobs", NULL, 200);
    expect_nosniff(f->port, "GET", video, NULL, 200);
    expect_nosniff(f->port, "GET", video, "Range: bytes=0-1\r\n", 206);
    expect_nosniff(f->port, "GET", video, "Range: bytes=5000-\r\n", 416);
    tu_resp r;
    assert_int_equal(tu_http(f->port, "GET", video, NULL, NULL, 0, &r), 0);
    char hdr[256];
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", tu_header(&r, "ETag"));
    tu_resp_free(&r);
    expect_nosniff(f->port, "GET", video, hdr, 304);
    expect_nosniff(f->port, "GET", events, NULL, 200);
    expect_nosniff(f->port, "HEAD", events, NULL, 200);
    expect_nosniff(f->port, "GET", "/healthz", NULL, 200);
    expect_nosniff(f->port, "GET", "/metrics", NULL, 200);
    expect_nosniff(f->port, "GET", "/nowhere", NULL, 404);
    expect_nosniff(f->port, "PUT", "/v1/jobs", NULL, 405);
    expect_nosniff(f->lport, "GET", "/v1/jobs", NULL, 401);
    free(id);
}

/* Sends raw bytes to the server and reads its answer until it closes the
 * connection (or 10 s pass: a hang guard). Returns the status code of the
 * first answer, 0 for none; the answer is left in out (cap bytes). */
static int raw_request(int port, const char *req, size_t len, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) break;   /* it may answer and close before reading it all */
        off += (size_t)w;
    }
    size_t n = 0;
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 10000) <= 0 || n + 1 >= cap) break;
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r <= 0) break;
        n += (size_t)r;
    }
    out[n] = '\0';
    close(fd);
    int status = 0;
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1) status = 0;
    return status;
}

/* What libmicrohttpd 0.9.75 answers itself, before Kinora sees the request
 * (docs/api.md#errors-the-http-library-answers lists exactly these): a
 * request line or head past KN_HTTP_HEAD_MAX_BYTES, a malformed chunked
 * body, a Content-Length that is not a number or too large for 64 bits, an
 * HTTP version other than 1.x. Each closes the connection; the body is its
 * own short HTML. */
static void test_library_errors(void **state)
{
    fx *f = *state;
    size_t big = KN_HTTP_HEAD_MAX_BYTES + 1024;
    char *req = malloc(big + 256), out[4096];
    assert_non_null(req);
    int k = snprintf(req, 256, "GET /");
    memset(req + k, 'a', big);
    snprintf(req + k + big, 256, " HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(raw_request(f->port, req, strlen(req), out, sizeof out), 414);
    k = snprintf(req, 256, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + k, 'a', big);
    snprintf(req + k + big, 256, "\r\n\r\n");
    assert_int_equal(raw_request(f->port, req, strlen(req), out, sizeof out), 431);
    free(req);
    static const struct {
        const char *req;
        int status;
    } cases[] = {
        {"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
        {"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n", 400},
        {"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413},
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400},
        {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = raw_request(f->port, cases[i].req, strlen(cases[i].req), out, sizeof out);
        if (st != cases[i].status) fail_msg("case %zu: %d, not %d: %.200s", i, st, cases[i].status, out);
        assert_non_null(strstr(out, "Connection: close"));
    }
    /* A transfer coding MHD would read to the end of the connection is
     * Kinora's to refuse, at once and in JSON. */
    /* (No body: bytes left unread when the server closes would make its
     * kernel reset the connection, and the answer could be lost.) */
    static const char gz[] = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n";
    assert_int_equal(raw_request(f->port, gz, sizeof gz - 1, out, sizeof out), 400);
    json_t *e = json_loads(strstr(out, "\r\n\r\n") + 4, 0, NULL);
    assert_non_null(e);
    assert_string_equal(jstr(e, "error", "code"), "invalid_job");
    json_decref(e);
    /* The server serves on. */
    int st;
    json_decref(call(f->port, "GET", "/healthz", NULL, NULL, 0, &st));
    assert_int_equal(st, 200);
}

/* ---- slow clients ------------------------------------------------------ */

enum { SLOW_PER_IP = 20, SLOW_CLIENTS = 300, SLOW_HEAD_S = 2, SLOW_IDLE_S = 120 };

/* A second server on the same store and scheduler with small caps and a
 * head deadline of SLOW_HEAD_S (short, yet long enough that a loaded
 * machine still gets a request line out between connect and write; the
 * idle timeout, 120 s, is far beyond anything these tests wait for). */
static kn_http *slow_server(fx *f, int *port)
{
    kn_http_config hc = {.port = 0, .bind = "127.0.0.1", .max_body = MAX_BODY, .max_queued = 100,
                         .max_connections = 4 * SLOW_PER_IP, .max_connections_per_ip = SLOW_PER_IP,
                         .head_timeout_s = SLOW_HEAD_S, .idle_timeout_s = SLOW_IDLE_S};
    kn_http *h = NULL;
    kn_err err;
    if (kn_http_start(&hc, f->store, f->sched, f->pool, &h, &err) != KN_OK) fail_msg("start: %s", err.msg);
    *port = kn_http_port(h);
    return h;
}

/* A non-blocking TCP connection to 127.0.0.1:port from the address src. */
static int connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

static long metric(int port, const char *name)
{
    tu_resp r;
    assert_int_equal(tu_http(port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(r.body, key);
    if (!p) fail_msg("/metrics lacks %s", name);
    long v = strtol(p + strlen(key), NULL, 10);
    tu_resp_free(&r);
    return v;
}

/* 300 clients on 127.0.0.2 trickle a request head one byte every 200 ms.
 * The per-address cap lets 20 of them in at a time and the rest are
 * closed at accept; a client on 127.0.0.1 is served meanwhile; trickling
 * does not extend the head deadline, so every slow connection is closed
 * by the server, those let in with a 408 `timeout`, long before the idle
 * timeout could have done it. */
static void test_slow_clients(void **state)
{
    fx *f = *state;
    int port;
    kn_http *h = slow_server(f, &port);
    static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    int fd[SLOW_CLIENTS], sent[SLOW_CLIENTS] = {0}, open = SLOW_CLIENTS, timeouts = 0, refused = 0;
    char got[SLOW_CLIENTS][512];
    size_t glen[SLOW_CLIENTS] = {0};
    for (int i = 0; i < SLOW_CLIENTS; i++) fd[i] = connect_from("127.0.0.2", port);

    /* A normal client while they are connected. */
    int st;
    json_t *j = call(port, "GET", "/healthz", NULL, NULL, 0, &st);
    assert_int_equal(st, 200);
    json_decref(j);
    /* Open now: at most the slow ones let in, and this request. */
    assert_true(metric(port, "kinora_http_connections") <= SLOW_PER_IP + 1);

    /* Trickle until the server has closed every one; 60 s is a hang
     * guard, half the idle timeout. */
    for (int round = 0; open > 0; round++) {
        if (round >= 300) fail_msg("%d slow connections still open after 60 s", open);
        for (int i = 0; i < SLOW_CLIENTS; i++)
            if (fd[i] >= 0 && send(fd[i], &head[sent[i] % (sizeof head - 1)], 1, MSG_NOSIGNAL) == 1) sent[i]++;
        struct pollfd pf[SLOW_CLIENTS];
        for (int i = 0; i < SLOW_CLIENTS; i++) pf[i] = (struct pollfd){.fd = fd[i], .events = POLLIN};
        assert_true(poll(pf, SLOW_CLIENTS, 200) >= 0);
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            if (fd[i] < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t r = recv(fd[i], got[i] + glen[i], sizeof got[i] - 1 - glen[i], 0);
            if (r > 0) {
                glen[i] += (size_t)r;
                continue;
            }
            if (r < 0 && errno == EAGAIN) continue;
            got[i][glen[i]] = '\0';
            close(fd[i]);
            fd[i] = -1;
            open--;
            if (glen[i] == 0) {
                refused++;
                continue;
            }
            /* Let in, then cut off at the deadline: a 408 with our body. */
            const char *b = strstr(got[i], "\r\n\r\n");
            if (strncmp(got[i], "HTTP/1.1 408 ", 13) != 0 || !b) fail_msg("slow client %d got: %s", i, got[i]);
            json_t *e = json_loads(b + 4, 0, NULL);
            assert_non_null(e);
            assert_string_equal(jstr(e, "error", "code"), "timeout");
            json_decref(e);
            assert_non_null(strstr(got[i], "X-Content-Type-Options: nosniff"));
            timeouts++;
        }
    }
    assert_int_equal(refused + timeouts, SLOW_CLIENTS);
    assert_true(timeouts >= SLOW_PER_IP);
    assert_true(refused > 0);
    assert_int_equal(metric(port, "kinora_http_head_timeouts_total"), timeouts);
    assert_int_equal(metric(port, "kinora_http_connections_refused_total"), refused);
    kn_http_stop(h);
}

/* A kept-alive connection that sends nothing after its answer is closed at
 * the head deadline, without an answer of its own. */
static void test_keepalive_deadline(void **state)
{
    fx *f = *state;
    int port;
    kn_http *h = slow_server(f, &port);
    int fd = connect_from("127.0.0.1", port);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[2048];
    size_t n = 0;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
        /* Read one answer: headers, then Content-Length bytes. */
        n = 0;
        for (;;) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            assert_int_equal(poll(&pf, 1, 30000), 1);
            ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
            assert_true(r > 0);
            n += (size_t)r;
            buf[n] = '\0';
            const char *e = strstr(buf, "\r\n\r\n"), *cl = strstr(buf, "Content-Length: ");
            if (e && cl && n >= (size_t)(e + 4 - buf) + strtoul(cl + 16, NULL, 10)) break;
        }
        assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
    }
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 60000), 1);   /* a hang guard: the deadline is SLOW_HEAD_S */
    assert_int_equal(recv(fd, buf, sizeof buf, 0), 0);
    close(fd);
    kn_http_stop(h);
}

/* An event stream outlives the head deadline: its request head was
 * complete long before. */
static void test_event_stream_outlives_deadline(void **state)
{
    fx *f = *state;
    int port;
    kn_http *h = slow_server(f, &port);
    char *id = post(f, 2, "\"fake\":\"steps\"");
    wait_running(id);
    int fd = connect_from("127.0.0.1", port);
    char req[256], buf[65536] = "";
    int k = snprintf(req, sizeof req, "GET /v1/jobs/%s/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", id);
    assert_int_equal(send(fd, req, (size_t)k, MSG_NOSIGNAL), k);
    size_t n = 0;
    while (!strstr(buf, "event: status")) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 30000), 1);
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        assert_true(r > 0);
        n += (size_t)r;
        buf[n] = '\0';
    }
    /* Two head deadlines pass: the stream is still open (no byte, no end
     * of stream). */
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 2 * SLOW_HEAD_S * 1000 + 500), 0);
    tu_fakerun_step();
    tu_fakerun_step();
    for (;;) {
        pf = (struct pollfd){.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 30000), 1);
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (r == 0) break;
        assert_true(r > 0);
        n += (size_t)r;
        buf[n] = '\0';
    }
    assert_non_null(strstr(buf, "\"status\":\"succeeded\""));
    close(fd);
    free(id);
    kn_http_stop(h);
}

/* ---- tokens ----------------------------------------------------------- */

/* A token is compared whole, whatever its length: 300 bytes are accepted
 * exactly, not their first 255; over KN_HTTP_TOKEN_MAX, or with a byte a
 * header cannot carry, the server does not start. */
static void test_long_token(void **state)
{
    fx *f = *state;
    char tok[301], hdr[400];
    for (int i = 0; i < 300; i++) tok[i] = (char)('a' + i % 26);
    tok[300] = '\0';
    kn_http_config hc = {.port = 0, .bind = "127.0.0.1", .max_body = MAX_BODY, .max_queued = 100, .token = tok};
    kn_http *h = NULL;
    kn_err err;
    assert_int_equal(kn_http_start(&hc, f->store, f->sched, f->pool, &h, &err), KN_OK);
    int port = kn_http_port(h), st;
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
    json_decref(call(port, "GET", "/v1/jobs", hdr, NULL, 0, &st));
    assert_int_equal(st, 200);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %.255s\r\n", tok);
    expect_error(port, "GET", "/v1/jobs", hdr, NULL, 0, 401, "unauthorized", NULL);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %.299sX\r\n", tok);
    expect_error(port, "GET", "/v1/jobs", hdr, NULL, 0, 401, "unauthorized", NULL);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %sa\r\n", tok);
    expect_error(port, "GET", "/v1/jobs", hdr, NULL, 0, 401, "unauthorized", NULL);
    kn_http_stop(h);

    char *huge = malloc(KN_HTTP_TOKEN_MAX + 2);
    assert_non_null(huge);
    memset(huge, 'k', KN_HTTP_TOKEN_MAX + 1);
    huge[KN_HTTP_TOKEN_MAX + 1] = '\0';
    hc.token = huge;
    h = (kn_http *)1;
    assert_int_equal(kn_http_start(&hc, f->store, f->sched, f->pool, &h, &err), KN_EINVAL);
    assert_null(h);
    huge[KN_HTTP_TOKEN_MAX] = '\0';   /* exactly the cap: fine */
    assert_int_equal(kn_http_start(&hc, f->store, f->sched, f->pool, &h, &err), KN_OK);
    kn_http_stop(h);
    free(huge);
    hc.token = "two words";
    assert_int_equal(kn_http_start(&hc, f->store, f->sched, f->pool, &h, &err), KN_EINVAL);
}

int main(void)
{
    kn_log_set_level(KN_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);   /* a 413 may close the socket before the body is sent */
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_post_validation),
        T(test_post_then_get),
        T(test_not_found),
        T(test_list_pages),
        T(test_delete),
        T(test_method_not_allowed),
        T(test_token),
        T(test_video_ranges),
        T(test_video_not_ready),
        T(test_event_stream),
        T(test_health_and_metrics),
        T(test_event_stream_large),
        T(test_list_byte_budget),
        T(test_nosniff),
        T(test_library_errors),
        T(test_slow_clients),
        T(test_keepalive_deadline),
        T(test_event_stream_outlives_deadline),
        T(test_long_token),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
