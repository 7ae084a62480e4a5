/*
 * tests/test_e2e_servers.c - the real server, each test starting its own
 * (on a fresh data dir, with the options it needs): a bearer token; a
 * clean start and stop log nothing alarming, and routine events (NVENC
 * missing, a client leaving an event stream) are not warnings; `kinora
 * render` under a small /dev/shm; a full queue answers 429; a killed render
 * worker is replaced and the job succeeds; cancel kills workers busy on a
 * slow frame; a frame that kills workers fails its job alone; a SIGKILLed
 * server takes its pool along and, restarted on the same data dir,
 * finishes the jobs it had.
 *
 * The tests sharing one server are in test_e2e.c; the helpers both use are
 * in tests/support/e2e.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/version.h"
#include "tests/support/e2e.h"
#include "tests/support/testutil.h"

static void test_token(void **state)
{
    (void)state;
    tu_srv s;
    const char *extra[] = {"--workers", "1", "--token", "s3cret", NULL};
    tu_srv_start(&s, extra);
    int st;
    json_t *j = tu_http_json(s.port, "GET", "/v1/jobs", NULL, NULL, &st);
    assert_int_equal(st, 401);
    assert_string_equal(tu_jstr(j, "error", "code"), "unauthorized");
    json_decref(j);
    j = tu_http_json(s.port, "GET", "/v1/jobs", "Authorization: Bearer wrong\r\n", NULL, &st);
    assert_int_equal(st, 401);
    json_decref(j);
    j = tu_http_json(s.port, "GET", "/v1/jobs", "Authorization: Bearer s3cret\r\n", NULL, &st);
    assert_int_equal(st, 200);
    json_decref(j);
    tu_srv_stop(&s);
}

/* Reads DIR/server.log and fails the test on any WARN or ERROR line, except
 * lines holding one of the strings in `allowed` (NULL-terminated, may be
 * NULL), which it counts instead. Returns that count; *lines (may be NULL)
 * gets the number of lines read. */
static int check_log(const char *dir, const char *const *allowed, int *lines)
{
    char path[600], line[2048];
    snprintf(path, sizeof path, "%s/server.log", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0, hits = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        if (!strstr(line, " WARN ") && !strstr(line, " ERROR ")) continue;
        int ok = 0;
        for (size_t i = 0; allowed && allowed[i] && !ok; i++) ok = strstr(line, allowed[i]) != NULL;
        if (!ok) fail_msg("server log: %s", line);
        hits++;
    }
    fclose(f);
    if (lines) *lines = n;
    return hits;
}

/* A start and a clean stop log nothing a user has to worry about: no WARN
 * or ERROR line (MHD once warned about the order of our own options). */
static void test_clean_start_and_stop_log(void **state)
{
    (void)state;
    tu_srv s;
    const char *extra[] = {"--workers", "1", NULL};
    tu_srv_start(&s, extra);
    int st;
    json_t *j = tu_http_json(s.port, "GET", "/healthz", NULL, NULL, &st);
    assert_int_equal(st, 200);
    json_decref(j);
    tu_server_stop(s.pid, 0);
    int lines = 0;
    check_log(s.dir, NULL, &lines);
    assert_true(lines >= 1);   /* at least "listening on" */
    tu_rmtree(s.dir);
}

/* Opens /v1/jobs/ID/events, reads until the first event has arrived, then
 * closes the socket: a client leaving an event stream early. */
static void events_read_and_leave(int port, const char *id)
{
    tu_sse ev;
    tu_sse_open(&ev, port, id);
    assert_int_equal(tu_sse_next(&ev, 60000), 1);
    tu_sse_close(&ev);
}

/* Routine things are not warnings: NVENC missing on a CPU machine is said
 * once per process however many "auto" jobs fall back, and a client that
 * closes an event stream mid-job is not logged as a fault. */
static void test_quiet_log(void **state)
{
    (void)state;
    tu_srv s;
    const char *extra[] = {"--workers", "1", NULL};
    tu_srv_start(&s, extra);
    /* The first job keeps the single worker busy, so the second is queued
     * when its event stream is opened and closed; its progress events are
     * written to the closed socket later. */
    const char *body = "{\"width\":320,\"height\":240,\"fps\":30,\"duration\":2,"
                       "\"output\":{\"encoder\":\"auto\",\"preset\":\"ultrafast\"},"
                       "\"elements\":[{\"type\":\"rect\",\"x\":\"=t*50\",\"y\":10,"
                       "\"width\":40,\"height\":40,\"fill\":\"red\"}]}";
    char *a = tu_post_job(s.port, body, NULL, 201);
    char *b = tu_post_job(s.port, body, NULL, 201);
    events_read_and_leave(s.port, b);
    char *c = tu_post_job(s.port, body, NULL, 201);
    const char *ids[] = {a, b, c};
    int nvenc = 0;
    for (int i = 0; i < 3; i++) {
        json_t *j = tu_wait_status(s.port, ids[i], "succeeded", 120);
        assert_string_equal(tu_jstr(j, "status", NULL), "succeeded");
        if (strstr(tu_jstr(j, "output", "encoder"), "nvenc")) nvenc++;
        json_decref(j);
        free((char *)ids[i]);
    }
    tu_server_stop(s.pid, 0);
    const char *fallback[] = {"falling back to libx264", "trying libx264", NULL};
    /* Without NVENC every job fell back, and only the first said so. */
    assert_int_equal(check_log(s.dir, fallback, NULL), nvenc ? 0 : 1);
    tu_rmtree(s.dir);
}

/* Docker gives a container a 64 MB /dev/shm: a 1080p job must still render
 * (the ring takes the slots that fit), and so must one where /dev/shm is
 * far too small for even two slots (the ring uses anonymous memory). Runs
 * `kinora render` in a private mount namespace with a small tmpfs over
 * /dev/shm; skipped where this process may not make one. */
static void render_under_shm(const char *size, const char *job, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "unshare -m sh -c 'mount -t tmpfs -o size=%s tmpfs /dev/shm && exec \"%s\" render \"%s\" "
             "-o \"%s\" --workers 8' >/dev/null 2>&1",
             size, KN_TEST_BIN, job, out);
    assert_int_equal(system(cmd), 0);
    tu_e2e_probe p;
    tu_e2e_probe_file(out, &p);
    assert_int_equal(p.width, 1920);
    assert_int_equal(p.height, 1080);
    assert_int_equal(p.packets, 12);
}

static void test_small_dev_shm(void **state)
{
    (void)state;
    if (system("unshare -m sh -c 'mount -t tmpfs -o size=1m tmpfs /dev/shm' >/dev/null 2>&1") != 0) {
        print_message("no private mount namespace here: skipped\n");
        skip();
    }
    char dir[512], job[600], out[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(job, sizeof job, "%s/hd.json", dir);
    snprintf(out, sizeof out, "%s/hd.mp4", dir);
    const char *body = "{\"width\":1920,\"height\":1080,\"fps\":24,\"duration\":0.5,"
                       "\"output\":{\"preset\":\"ultrafast\"},\"elements\":[{\"type\":\"rect\","
                       "\"x\":\"=t*500\",\"y\":100,\"width\":200,\"height\":200,\"fill\":\"red\"}]}";
    assert_int_equal(tu_write_file(job, body, strlen(body)), 0);
    render_under_shm("64m", job, out);   /* 18 slots asked, about 10 fit */
    render_under_shm("4m", job, out);    /* not even 2 slots: anonymous memory */
    tu_rmtree(dir);
}

static void test_queue_full(void **state)
{
    (void)state;
    tu_srv s;
    const char *extra[] = {"--workers", "1", "--max-queued", "1", NULL};
    tu_srv_start(&s, extra);
    const char *slow = "{\"width\":640,\"height\":480,\"fps\":60,\"duration\":60,\"output\":{\"preset\":\"slow\"}}";
    char *a = tu_post_job(s.port, slow, NULL, 201);
    json_decref(tu_wait_status(s.port, a, "rendering", 30));
    char *b = tu_post_job(s.port, slow, NULL, 201);
    tu_resp r;
    assert_int_equal(tu_http(s.port, "POST", "/v1/jobs", NULL, slow, strlen(slow), &r), 0);
    assert_int_equal(r.status, 429);
    assert_non_null(tu_header(&r, "Retry-After"));
    tu_resp_free(&r);
    free(a);
    free(b);
    tu_srv_stop(&s);
}

static void test_killed_worker(void **state)
{
    (void)state;
    tu_srv s;
    const char *extra[] = {"--workers", "2", NULL};
    tu_srv_start(&s, extra);
    const char *body = "{\"width\":320,\"height\":240,\"fps\":30,\"duration\":8,"
                       "\"elements\":[{\"id\":\"c\",\"type\":\"circle\",\"cx\":10,\"cy\":120,\"r\":30,\"fill\":\"#fff\"}],"
                       "\"timeline\":{\"tween\":{\"c.cx\":300},\"duration\":8},\"output\":{\"preset\":\"medium\"}}";
    char *id = tu_post_job(s.port, body, NULL, 201);
    json_decref(tu_wait_status(s.port, id, "rendering", 30));
    int pool = tu_pool_of(s.pid);
    assert_true(pool > 0);
    int pids[64], n = tu_find_procs("kinora-render", pids, 64), killed = 0;
    for (int i = 0; i < n && !killed; i++)
        if (tu_child_of(pids[i], pool)) killed = kill(pids[i], SIGKILL) == 0;
    assert_true(killed);
    json_t *j = tu_wait_status(s.port, id, "succeeded", 120);
    assert_string_equal(tu_jstr(j, "status", NULL), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "output"), "frames")), 240);
    json_decref(j);
    tu_resp r;
    assert_int_equal(tu_http(s.port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    assert_non_null(strstr(r.body, "kinora_worker_restarts_total 1"));
    assert_non_null(strstr(r.body, "\nkinora_build_info{version=\"" KN_VERSION "\"} 1\n"));
    tu_resp_free(&r);
    free(id);
    tu_srv_stop(&s);
}

/* DELETE stops the work even when one frame takes seconds to draw: the
 * workers busy with the canceled job's frames are killed and replaced (not
 * left to finish them), which is not counted as a crash, and the next job
 * runs on their replacements. */
static void test_cancel_mid_slow_frame(void **state)
{
    (void)state;
    tu_srv s;
    const char *extra[] = {"--workers", "2", NULL};
    tu_srv_start(&s, extra);
    /* 60 big translucent radial-gradient circles at 4K: about 5 s a frame. */
    size_t cap = 64 * 1024, len = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    len += (size_t)snprintf(body + len, cap - len,
                            "{\"width\":3840,\"height\":2160,\"fps\":10,\"duration\":5,\"elements\":[");
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"type\":\"circle\",\"cx\":\"=1920+50*sin(t+%d)\",\"cy\":1080,\"r\":1250,"
                                "\"fill\":{\"radial\":[1920,1080,1500],\"stops\":[[0,\"#f00\"],[1,\"#0000ff88\"]]},"
                                "\"stroke\":\"white\",\"stroke_width\":15,\"opacity\":0.5}",
                                i ? "," : "", i);
    snprintf(body + len, cap - len, "],\"output\":{\"preset\":\"ultrafast\"}}");
    char *id = tu_post_job(s.port, body, NULL, 201);
    json_decref(tu_wait_status(s.port, id, "rendering", 30));
    int pool = tu_pool_of(s.pid);
    assert_true(pool > 0);
    /* Cancel once the workers are well into their first frames. Their CPU
     * time has no event to wait on, so this polls /proc (bounded). */
    double cpu = 0;
    for (int k = 0; k < 400 && (cpu = tu_workers_cpu(pool)) < 0.5; k++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(cpu >= 0.5);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    int st;
    json_t *j = tu_http_json(s.port, "GET", path, NULL, NULL, &st);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "progress"), "frames_rendered")), 0);
    json_decref(j);
    int busy[64], nbusy = 0, pids[64], n = tu_find_procs("kinora-render", pids, 64);
    for (int i = 0; i < n; i++)
        if (tu_child_of(pids[i], pool)) busy[nbusy++] = pids[i];
    assert_int_equal(nbusy, 2);
    json_decref(tu_http_json(s.port, "DELETE", path, NULL, NULL, &st));
    assert_int_equal(st, 200);
    char *body2 = tu_small_job(4, NULL);
    char *id2 = tu_post_job(s.port, body2, NULL, 201);
    tu_expect_succeeded(s.port, id2, 60);
    /* Left alone, each would still be drawing its 5 s frame, or idle
     * waiting for the next job. */
    for (int i = 0; i < nbusy; i++)
        if (!tu_gone_within(busy[i], 10000)) fail_msg("render worker %d outlived the canceled job", busy[i]);
    /* Replacing the workers is not a crash. */
    tu_resp r;
    assert_int_equal(tu_http(s.port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    assert_non_null(strstr(r.body, "kinora_worker_restarts_total 0"));
    tu_resp_free(&r);
    free(id);
    free(id2);
    free(body);
    free(body2);
    tu_srv_stop(&s);
}

static void test_crashing_frame(void **state)
{
    (void)state;
    tu_srv s;
    setenv("KINORA_FAULT_CRASH_FRAME", "7", 1);
    const char *extra[] = {"--workers", "2", NULL};
    tu_srv_start(&s, extra);
    unsetenv("KINORA_FAULT_CRASH_FRAME");
    char *body = tu_small_job(24, NULL);
    char *id = tu_post_job(s.port, body, NULL, 201);
    json_t *j = tu_wait_status(s.port, id, "failed", 60);
    assert_string_equal(tu_jstr(j, "status", NULL), "failed");
    assert_string_equal(tu_jstr(j, "error", "code"), "worker_crashed");
    assert_non_null(strstr(tu_jstr(j, "error", "message"), "frame 7"));
    json_decref(j);
    /* The server and later jobs carry on (this one has no frame 7). */
    char *body2 = tu_small_job(5, NULL);
    char *id2 = tu_post_job(s.port, body2, NULL, 201);
    tu_expect_succeeded(s.port, id2, 60);
    free(id);
    free(id2);
    free(body);
    free(body2);
    tu_srv_stop(&s);
}

static void test_server_sigkill_restart(void **state)
{
    (void)state;
    tu_srv s;
    const char *extra[] = {"--workers", "2", NULL};
    tu_srv_start(&s, extra);
    const char *body = "{\"width\":320,\"height\":240,\"fps\":30,\"duration\":10,"
                       "\"elements\":[{\"id\":\"c\",\"type\":\"circle\",\"cx\":10,\"cy\":120,\"r\":30,\"fill\":\"#fff\"}],"
                       "\"timeline\":{\"tween\":{\"c.cx\":300},\"duration\":10},\"output\":{\"preset\":\"medium\"}}";
    char *a = tu_post_job(s.port, body, NULL, 201);
    char *b = tu_post_job(s.port, body, NULL, 201);
    json_decref(tu_wait_status(s.port, a, "rendering", 30));
    int pool = tu_pool_of(s.pid);
    assert_true(pool > 0);
    int workers[64], nw = 0, pids[64], n = tu_find_procs("kinora-render", pids, 64);
    for (int i = 0; i < n; i++)
        if (tu_child_of(pids[i], pool)) workers[nw++] = pids[i];
    assert_true(nw > 0);
    tu_server_stop(s.pid, 1);
    /* PDEATHSIG takes the pool and its workers with the server: each of
     * them exits (waited for on a pidfd; the bound is a hang guard). */
    assert_true(tu_gone_within(pool, 5000));
    for (int i = 0; i < nw; i++)
        if (!tu_gone_within(workers[i], 5000)) fail_msg("render worker %d outlived the server", workers[i]);
    n = tu_find_procs("kinora-render", pids, 64);
    for (int i = 0; i < n; i++) assert_false(tu_child_of(pids[i], pool));

    s.pid = tu_server_start(s.dir, extra, &s.port);
    assert_true(s.pid > 0);
    tu_expect_succeeded(s.port, a, 120);
    tu_expect_succeeded(s.port, b, 120);
    assert_int_equal(tu_parts_left(s.dir), 0);
    free(a);
    free(b);
    tu_srv_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_clean_start_and_stop_log),
        cmocka_unit_test(test_quiet_log),
        cmocka_unit_test(test_small_dev_shm),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_killed_worker),
        cmocka_unit_test(test_cancel_mid_slow_frame),
        cmocka_unit_test(test_crashing_frame),
        cmocka_unit_test(test_server_sigkill_restart),
    };
    return cmocka_run_group_tests_name("e2e_own_server", tests, NULL, NULL);
}
