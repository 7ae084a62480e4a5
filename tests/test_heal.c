/*
 * tests/test_heal.c - the real server heals its render pool: after kill -9
 * of the pool supervisor (kinora-pool) while a job renders, the server
 * starts a new supervisor by itself (from its kinora-launcher), the job
 * that was rendering is queued again and succeeds, /healthz is 200 again,
 * and the next job runs on the new pool; all without restarting anything.
 *
 * The server is another process, so job statuses are polled over HTTP;
 * deadlines only turn a hang into a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/testutil.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void pause_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static json_t *get_json(int port, const char *path, int *status)
{
    tu_resp r;
    assert_int_equal(tu_http(port, "GET", path, NULL, NULL, 0, &r), 0);
    *status = r.status;
    json_t *j = r.len ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    tu_resp_free(&r);
    return j;
}

static char *post_job(int port, const char *body)
{
    tu_resp r;
    assert_int_equal(tu_http(port, "POST", "/v1/jobs", NULL, body, strlen(body), &r), 0);
    if (r.status != 201) fail_msg("POST answered %d: %s", r.status, r.body ? r.body : "");
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    tu_resp_free(&r);
    char *id = strdup(json_string_value(json_object_get(j, "id")));
    json_decref(j);
    return id;
}

/* The job's resource once its status is want or final. */
static json_t *wait_status(int port, const char *id, const char *want, double timeout)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    double t0 = now_s();
    for (;;) {
        int st;
        json_t *j = get_json(port, path, &st);
        assert_int_equal(st, 200);
        const char *s = json_string_value(json_object_get(j, "status"));
        if (!strcmp(s, want) || !strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "canceled")) return j;
        json_decref(j);
        if (now_s() - t0 > timeout) fail_msg("job %s never became %s", id, want);
        pause_ms(20);
    }
}

static int parent_of(int pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    char *s = tu_read_file(p, NULL);
    if (!s) return 0;
    char *rp = strrchr(s, ')');
    int pp = 0;
    if (rp) sscanf(rp + 2, "%*c %d", &pp);
    free(s);
    return pp;
}

/* The process named comm whose parent is parent, or 0. */
static int child_named(const char *comm, int parent)
{
    DIR *d = opendir("/proc");
    int found = 0;
    struct dirent *e;
    while (d && !found && (e = readdir(d))) {
        char p[300];
        snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
        char *c = tu_read_file(p, NULL);
        if (!c) continue;
        c[strcspn(c, "\n")] = '\0';
        int pid = (int)strtol(e->d_name, NULL, 10);
        if (!strcmp(c, comm) && parent_of(pid) == parent) found = pid;
        free(c);
    }
    if (d) closedir(d);
    return found;
}

/* SIGKILLs pid and returns once it has exited (a pidfd: not our child). */
static void kill_and_wait(int pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    assert_true(fd >= 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 30000), 1);
    close(fd);
}

static int count_parts(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t k = strlen(e->d_name);
        n += k > 5 && !strcmp(e->d_name + k - 5, ".part");
    }
    if (d) closedir(d);
    return n;
}

static const char JOB[] = "{\"width\":320,\"height\":240,\"fps\":30,\"duration\":6,"
                          "\"elements\":[{\"id\":\"c\",\"type\":\"circle\",\"cx\":10,\"cy\":120,\"r\":30,\"fill\":\"#fff\"}],"
                          "\"timeline\":{\"tween\":{\"c.cx\":300},\"duration\":6},\"output\":{\"preset\":\"medium\"}}";

static void test_killed_supervisor_heals(void **state)
{
    (void)state;
    char dir[512];
    tu_tmpdir(dir, sizeof dir);
    assert_true(dir[0]);
    const char *extra[] = {"--workers", "2", NULL};
    int port = 0, server = tu_server_start(dir, extra, &port);
    assert_true(server > 0);
    int launcher = child_named("kinora-launcher", server);
    assert_true(launcher > 0);

    char *a = post_job(port, JOB);
    json_decref(wait_status(port, a, "rendering", 30));
    int sup = child_named("kinora-pool", server);
    assert_true(sup > 0);
    kill_and_wait(sup);

    /* The job that was rendering runs again on the new pool and succeeds. */
    json_t *j = wait_status(port, a, "succeeded", 120);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "output"), "frames")), 180);
    json_decref(j);
    int sup2 = child_named("kinora-pool", launcher);
    assert_true(sup2 > 0);
    assert_int_not_equal(sup2, sup);
    int st;
    json_decref(get_json(port, "/healthz", &st));
    assert_int_equal(st, 200);

    /* The next job, and the one after a second kill, run as well. */
    static const char SMALL[] = "{\"width\":64,\"height\":48,\"fps\":24,\"duration\":0.5,"
                                "\"output\":{\"preset\":\"ultrafast\"}}";
    char *b = post_job(port, SMALL);
    j = wait_status(port, b, "succeeded", 60);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "succeeded");
    json_decref(j);
    kill_and_wait(sup2);
    char *c = post_job(port, SMALL);
    j = wait_status(port, c, "succeeded", 60);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "succeeded");
    json_decref(j);

    char vd[600];
    snprintf(vd, sizeof vd, "%s/videos", dir);
    assert_int_equal(count_parts(vd), 0);
    assert_int_equal(kill(server, 0), 0);   /* the same server all along */
    free(a);
    free(b);
    free(c);
    tu_server_stop(server, 0);
    /* It was queued again, not failed and not simply finished before the
     * kill: the log says so. */
    char logp[600];
    snprintf(logp, sizeof logp, "%s/server.log", dir);
    char *log = tu_read_file(logp, NULL);
    assert_non_null(log);
    if (!strstr(log, "queued again for the restarted pool")) fail_msg("no requeue in the log:\n%s", log);
    assert_non_null(strstr(log, "pool restart 2"));
    free(log);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_supervisor_heals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
