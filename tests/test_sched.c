/*
 * tests/test_sched.c - pipeline/sched on a real temporary store with fake
 * runs (tests/support/fakerun.h, through kn_sched_start_with): jobs run one
 * at a time in queue order; a parsed document offered by POST is used as
 * is; cancel of a queued job, of a running one, and of one canceled while
 * its run was being set up; progress and the event generation (a waiter
 * wakes on each change); failures recorded with their public error code;
 * stop with jobs queued, and the next start picking them up; stale partial
 * files removed at start; video paths by format.
 *
 * Every wait is on a condition (the fake's log, the scheduler's generation)
 * with a timeout that only turns a hang into a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/resource.h"
#include "common/limits.h"
#include "common/log.h"
#include "doc/doc.h"
#include "pipeline/sched.h"
#include "store/store.h"
#include "tests/support/fakerun.h"
#include "tests/support/testutil.h"

#define WAIT_MS 30000

typedef struct fx {
    char dir[512], videos[600];
    kn_store *store;
    kn_sched *sched;
    int next_id;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    tu_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->videos, sizeof f->videos, "%s/videos", f->dir);
    char db[700];
    snprintf(db, sizeof db, "%s/kinora.db", f->dir);
    kn_err err;
    if (!f->dir[0] || mkdir(f->videos, 0755) != 0 || kn_store_open(db, &f->store, &err) != KN_OK) return -1;
    tu_fakerun_reset();
    tu_fakerun_on_create(NULL, NULL);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    kn_sched_stop(f->sched);
    kn_store_close(f->store);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void start(fx *f)
{
    kn_err err;
    assert_int_equal(kn_sched_start_with(f->store, NULL, f->videos, 4, &tu_fakerun_ops, &f->sched, &err), KN_OK);
}

static void stop(fx *f)
{
    kn_sched_stop(f->sched);
    f->sched = NULL;
}

static char *doc_text(long frames, const char *meta)
{
    char *t = tu_fake_job(frames, meta);
    assert_non_null(t);
    return t;
}

/* Queues a job with this document text; its id goes to id. */
static void add_text(fx *f, const char *text, char id[KN_JOB_ID_MAX])
{
    kn_job_rec rec = {0};
    snprintf(rec.id, sizeof rec.id, "j_%03d", ++f->next_id);
    rec.doc = strdup(text);
    rec.created_at = kn_now();
    rec.eta_seconds = -1;
    int existing = 0;
    kn_err err;
    assert_int_equal(kn_store_insert(f->store, &rec, NULL, 0, &existing, &err), KN_OK);
    snprintf(id, KN_JOB_ID_MAX, "%s", rec.id);
    kn_job_rec_clear(&rec);
    if (f->sched) kn_sched_wake(f->sched);
}

static void add(fx *f, long frames, const char *meta, char id[KN_JOB_ID_MAX])
{
    char *t = doc_text(frames, meta);
    add_text(f, t, id);
    free(t);
}

static void get(fx *f, const char *id, kn_job_rec *rec)
{
    kn_err err;
    memset(rec, 0, sizeof *rec);
    assert_int_equal(kn_store_get(f->store, id, rec, &err), KN_OK);
}

static void expect_status(fx *f, const char *id, const char *status)
{
    kn_job_rec rec;
    get(f, id, &rec);
    if (strcmp(kn_job_status_name(rec.status), status) != 0)
        fail_msg("job %s is %s, not %s", id, kn_job_status_name(rec.status), status);
    kn_job_rec_clear(&rec);
}

static void wait_status(fx *f, const char *id, const char *status)
{
    if (tu_sched_wait_status(f->sched, f->store, id, status, WAIT_MS) != 0) {
        kn_job_rec rec;
        get(f, id, &rec);
        fail_msg("job %s ended %s (%s: %s), not %s", id, kn_job_status_name(rec.status), rec.error_code,
                 rec.error_message ? rec.error_message : "", status);
    }
}

static void wait_running(const char *id)
{
    if (tu_fakerun_wait_running(id, WAIT_MS) != 0) fail_msg("job %s never started", id);
}

/* ---- tests ----------------------------------------------------------- */

/* Four queued jobs run one after another, oldest first, and each ends
 * succeeded with its output facts and its video where the scheduler says. */
static void test_runs_jobs_in_queue_order(void **state)
{
    fx *f = *state;
    char id[4][KN_JOB_ID_MAX];
    for (int i = 0; i < 4; i++) add(f, 3 + i, "", id[i]);
    start(f);
    wait_status(f, id[3], "succeeded");
    tu_fakerun_log log;
    tu_fakerun_get_log(&log);
    assert_int_equal(log.execs, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(log.exec_id[i], id[i]);
        kn_job_rec rec;
        get(f, id[i], &rec);
        assert_int_equal(rec.status, KN_STATUS_SUCCEEDED);
        assert_int_equal(rec.attempts, 1);
        assert_int_equal(rec.frames_encoded, 3 + i);
        assert_true(rec.has_output);
        assert_string_equal(rec.output.encoder, "fake");
        assert_int_equal(rec.output.format, KN_FORMAT_MP4);
        char path[800];
        kn_format fmt = rec.output.format;
        kn_job_rec_clear(&rec);
        kn_sched_video_path(f->sched, id[i], fmt, path, sizeof path);
        size_t len = 0;
        char *bytes = tu_read_file(path, &len);
        assert_non_null(bytes);
        assert_int_equal(len, TU_FAKE_VIDEO_BYTES);
        free(bytes);
    }
    kn_sched_stats st;
    kn_sched_get_stats(f->sched, &st);
    assert_int_equal(st.frames_encoded, 3 + 4 + 5 + 6);
    assert_int_equal(st.frames_rendered, 3 + 4 + 5 + 6);
}

/* The document POST parsed and offered is the one the run gets (here it
 * differs from the stored text, which shows); a job nobody offered is
 * parsed from the stored text. */
static void test_offered_document_is_used(void **state)
{
    fx *f = *state;
    char blocker[KN_JOB_ID_MAX], a[KN_JOB_ID_MAX], b[KN_JOB_ID_MAX];
    start(f);
    add(f, 2, "\"fake\":\"block\"", blocker);
    wait_running(blocker);   /* a and b wait behind it */
    add(f, 2, "", a);
    add(f, 2, "", b);
    char *t = doc_text(7, "");
    kn_doc *doc = NULL;
    kn_err err;
    assert_int_equal(kn_doc_parse(t, strlen(t), NULL, &doc, &err), KN_OK);
    free(t);
    kn_sched_offer(f->sched, b, doc);   /* the scheduler owns it now */
    assert_int_equal(kn_store_finish(f->store, blocker, KN_STATUS_CANCELED, NULL, NULL, NULL, &err), KN_OK);
    assert_int_equal(kn_sched_cancel(f->sched, blocker), 1);
    wait_status(f, b, "succeeded");
    tu_fakerun_log log;
    tu_fakerun_get_log(&log);
    assert_int_equal(log.creates, 3);
    assert_int_equal(log.frames[1], 2);   /* a: its stored text */
    assert_int_equal(log.frames[2], 7);   /* b: the offered document */
}

/* A queued job canceled in the store never runs; the running job stops
 * when canceled; the queue then moves on. */
static void test_cancel_queued_and_running(void **state)
{
    fx *f = *state;
    char a[KN_JOB_ID_MAX], b[KN_JOB_ID_MAX], c[KN_JOB_ID_MAX];
    add(f, 5, "\"fake\":\"block\"", a);
    add(f, 5, "", b);
    add(f, 5, "", c);
    start(f);
    wait_running(a);
    expect_status(f, a, "rendering");
    kn_err err;
    /* What DELETE does: mark it canceled, then stop it if it runs. */
    assert_int_equal(kn_store_finish(f->store, b, KN_STATUS_CANCELED, NULL, NULL, NULL, &err), KN_OK);
    assert_int_equal(kn_sched_cancel(f->sched, b), 0);
    assert_int_equal(kn_store_finish(f->store, a, KN_STATUS_CANCELED, NULL, NULL, NULL, &err), KN_OK);
    assert_int_equal(kn_sched_cancel(f->sched, a), 1);
    wait_status(f, c, "succeeded");
    expect_status(f, a, "canceled");
    expect_status(f, b, "canceled");
    tu_fakerun_log log;
    tu_fakerun_get_log(&log);
    assert_int_equal(log.execs, 2);
    assert_string_equal(log.exec_id[0], a);
    assert_string_equal(log.exec_id[1], c);
    assert_int_equal(log.cancels, 1);
    assert_int_equal(kn_sched_cancel(f->sched, c), 0);   /* over: nothing to stop */
    char path[800];
    kn_sched_video_path(f->sched, a, KN_FORMAT_MP4, path, sizeof path);
    assert_int_not_equal(access(path, F_OK), 0);
}

static void cancel_in_store(const char *id, void *ctx)
{
    fx *f = ctx;
    kn_store_finish(f->store, id, KN_STATUS_CANCELED, NULL, NULL, NULL, NULL);
}

/* A DELETE that lands after the job left the queue but before its run
 * started: the run is canceled before exec and the job stays canceled. */
static void test_cancel_while_the_run_is_set_up(void **state)
{
    fx *f = *state;
    char a[KN_JOB_ID_MAX], b[KN_JOB_ID_MAX];
    add(f, 4, "", a);
    tu_fakerun_on_create(cancel_in_store, f);
    start(f);
    wait_status(f, a, "canceled");
    tu_fakerun_on_create(NULL, NULL);
    add(f, 4, "", b);
    wait_status(f, b, "succeeded");
    tu_fakerun_log log;
    tu_fakerun_get_log(&log);
    assert_int_equal(log.canceled_before_exec, 1);
    expect_status(f, a, "canceled");
}

typedef struct waiter {
    kn_sched *s;
    unsigned long seen, got;
} waiter;

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    w->got = kn_sched_wait(w->s, w->seen, WAIT_MS);
    return NULL;
}

/* Each progress report is written to the store and moves the generation,
 * which ends a kn_sched_wait; a waiter with a stale generation returns at
 * once, kn_sched_notify moves it too, and a wait with nothing happening
 * times out with the generation unchanged. */
static void test_progress_moves_the_generation(void **state)
{
    fx *f = *state;
    char s[KN_JOB_ID_MAX];
    add(f, 3, "\"fake\":\"steps\"", s);
    start(f);
    wait_running(s);
    unsigned long g = kn_sched_generation(f->sched);
    assert_int_equal(kn_sched_wait(f->sched, g, 0), g);
    for (long k = 1; k <= 3; k++) {
        tu_fakerun_step();
        unsigned long now = kn_sched_wait(f->sched, g, WAIT_MS);
        assert_true(now > g);
        g = now;
        kn_job_rec rec;
        get(f, s, &rec);
        assert_int_equal(rec.frames_total, 3);
        /* The run may already have made the next report: never behind. */
        assert_true(rec.frames_rendered >= k);
        assert_true(rec.frames_encoded >= k);
        kn_job_rec_clear(&rec);
    }
    wait_status(f, s, "succeeded");
    kn_sched_stats st;
    kn_sched_get_stats(f->sched, &st);
    assert_int_equal(st.frames_rendered, 3);
    assert_int_equal(st.frames_encoded, 3);

    waiter w = {.s = f->sched, .seen = kn_sched_generation(f->sched)};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
    kn_sched_notify(f->sched);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.got, w.seen + 1);
    w.seen = 0;   /* stale: returns the current generation at once */
    assert_int_equal(kn_sched_wait(f->sched, w.seen, WAIT_MS), w.got);
}

/* A failed run is recorded as failed with the documented error code for
 * its KN_E* code and the run's message; the queue goes on. */
static void test_failures_are_recorded(void **state)
{
    fx *f = *state;
    static const struct { int code; const char *name; } C[] = {
        {KN_EENCODE, "encode_failed"}, {KN_EENCODER, "encoder_unavailable"}, {KN_ECRASH, "worker_crashed"},
        {KN_ERENDER, "render_failed"}, {KN_EIO, "storage_failed"}, {KN_EINTERNAL, "render_failed"},
        {KN_EINVAL, "render_failed"},
    };
    enum { N = sizeof C / sizeof C[0] };
    char id[N][KN_JOB_ID_MAX], nocreate[KN_JOB_ID_MAX], bad[KN_JOB_ID_MAX], ok[KN_JOB_ID_MAX];
    for (int i = 0; i < N; i++) {
        char meta[64];
        snprintf(meta, sizeof meta, "\"fake\":\"fail\",\"code\":%d", C[i].code);
        add(f, 2, meta, id[i]);
    }
    add(f, 2, "\"fake\":\"nocreate\"", nocreate);
    add_text(f, "{\"width\":32,\"height\":32,\"fps\":10}", bad);   /* no duration */
    add(f, 2, "", ok);
    start(f);
    wait_status(f, ok, "succeeded");
    for (int i = 0; i < N; i++) {
        kn_job_rec rec;
        get(f, id[i], &rec);
        assert_int_equal(rec.status, KN_STATUS_FAILED);
        assert_string_equal(rec.error_code, C[i].name);
        assert_string_equal(rec.error_message, TU_FAKE_FAIL_MSG);
        assert_false(rec.has_output);
        kn_job_rec_clear(&rec);
    }
    kn_job_rec rec;
    get(f, nocreate, &rec);
    assert_int_equal(rec.status, KN_STATUS_FAILED);
    assert_string_equal(rec.error_code, "render_failed");
    assert_string_equal(rec.error_message, "fake: no run for this job");
    kn_job_rec_clear(&rec);
    get(f, bad, &rec);
    assert_int_equal(rec.status, KN_STATUS_FAILED);
    assert_string_equal(rec.error_code, "render_failed");
    assert_non_null(strstr(rec.error_message, "duration"));
    kn_job_rec_clear(&rec);
    tu_fakerun_log log;
    tu_fakerun_get_log(&log);
    assert_int_equal(log.execs, N + 1);
}

/* A run that died with the render pool (pool_lost) is not the job's
 * fault: the job is queued again, ahead of younger jobs, and succeeds on
 * its next run; one that keeps losing its pool fails with worker_crashed
 * once it has been started KN_JOB_MAX_ATTEMPTS times. */
static void test_pool_lost_requeues(void **state)
{
    fx *f = *state;
    char once[KN_JOB_ID_MAX], always[KN_JOB_ID_MAX], after[KN_JOB_ID_MAX];
    add(f, 2, "\"fake\":\"poollost\",\"times\":1", once);
    add(f, 2, "\"fake\":\"poollost\",\"times\":100", always);
    add(f, 2, "", after);
    start(f);
    wait_status(f, after, "succeeded");
    kn_job_rec rec;
    get(f, once, &rec);
    assert_int_equal(rec.status, KN_STATUS_SUCCEEDED);
    assert_int_equal(rec.attempts, 2);
    kn_job_rec_clear(&rec);
    get(f, always, &rec);
    assert_int_equal(rec.status, KN_STATUS_FAILED);
    assert_int_equal(rec.attempts, KN_JOB_MAX_ATTEMPTS);
    assert_string_equal(rec.error_code, "worker_crashed");
    assert_non_null(strstr(rec.error_message, TU_FAKE_POOL_MSG));
    kn_job_rec_clear(&rec);
    /* FIFO holds: each requeued job ran again before the younger one. */
    tu_fakerun_log log;
    tu_fakerun_get_log(&log);
    assert_int_equal(log.execs, 2 + KN_JOB_MAX_ATTEMPTS + 1);
    assert_string_equal(log.exec_id[0], once);
    assert_string_equal(log.exec_id[1], once);
    for (int i = 0; i < KN_JOB_MAX_ATTEMPTS; i++) assert_string_equal(log.exec_id[2 + i], always);
    assert_string_equal(log.exec_id[2 + KN_JOB_MAX_ATTEMPTS], after);
}

/* Stopping interrupts the running job (it stays rendering, to be queued
 * again at the next start, as after a crash) and leaves the queue alone;
 * the next scheduler runs both, in order. */
static void test_stop_with_queued_jobs(void **state)
{
    fx *f = *state;
    char a[KN_JOB_ID_MAX], b[KN_JOB_ID_MAX];
    add(f, 1, "\"fake\":\"steps\"", a);
    add(f, 2, "", b);
    start(f);
    wait_running(a);
    stop(f);
    kn_sched_stop(NULL);
    expect_status(f, a, "rendering");
    expect_status(f, b, "queued");
    tu_fakerun_log log;
    tu_fakerun_get_log(&log);
    assert_int_equal(log.execs, 1);
    assert_int_equal(log.cancels, 1);

    int requeued = 0, failed = 0;
    kn_err err;
    assert_int_equal(kn_store_recover(f->store, 3, &requeued, &failed, &err), KN_OK);
    assert_int_equal(requeued, 1);
    tu_fakerun_reset();
    start(f);
    wait_running(a);
    tu_fakerun_step();
    wait_status(f, b, "succeeded");
    expect_status(f, a, "succeeded");
    tu_fakerun_get_log(&log);
    assert_int_equal(log.execs, 2);
    assert_string_equal(log.exec_id[0], a);
    assert_string_equal(log.exec_id[1], b);
    kn_job_rec rec;
    get(f, a, &rec);
    assert_int_equal(rec.attempts, 2);
    kn_job_rec_clear(&rec);
}

/* Partial files a crash left in the video folder go at start; finished
 * videos stay. Video paths follow the format. */
static void test_start_cleans_partials_and_paths(void **state)
{
    fx *f = *state;
    char part[800], done[800], path[800];
    snprintf(part, sizeof part, "%s/j_old.mp4.part", f->videos);
    snprintf(done, sizeof done, "%s/j_old.webm", f->videos);
    assert_int_equal(tu_write_file(part, "x", 1), 0);
    assert_int_equal(tu_write_file(done, "y", 1), 0);
    start(f);
    assert_int_not_equal(access(part, F_OK), 0);
    assert_int_equal(access(done, F_OK), 0);
    static const struct { kn_format f; const char *ext; } want[] = {
        {KN_FORMAT_MP4, "mp4"}, {KN_FORMAT_WEBM, "webm"}, {KN_FORMAT_GIF, "gif"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char exp[800];
        snprintf(exp, sizeof exp, "%s/j_x.%s", f->videos, want[i].ext);
        kn_sched_video_path(f->sched, "j_x", want[i].f, path, sizeof path);
        assert_string_equal(path, exp);
    }
}

int main(void)
{
    kn_log_set_level(KN_LOG_ERROR);   /* the failures are on purpose */
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_runs_jobs_in_queue_order),
        T(test_offered_document_is_used),
        T(test_cancel_queued_and_running),
        T(test_cancel_while_the_run_is_set_up),
        T(test_progress_moves_the_generation),
        T(test_failures_are_recorded),
        T(test_pool_lost_requeues),
        T(test_stop_with_queued_jobs),
        T(test_start_cleans_partials_and_paths),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
