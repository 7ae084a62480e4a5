/*
 * tests/test_err.c - the one error table and the boundary contracts: each
 * code's name, HTTP status and job error code come from common/err.c; the
 * names clients see are the documented ones (docs/api.md#errors); a failed
 * KN_REQUIRE logs where and what, then aborts, even with NDEBUG defined.
 */
#define NDEBUG 1   /* KN_REQUIRE must not care */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/require.h"

static void test_table(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
        int http;
        const char *http_name, *job;
    } want[] = {
        {KN_EINVAL, "invalid_job", 400, "invalid_job", "render_failed"},
        {KN_EJSON, "invalid_json", 400, "invalid_json", "render_failed"},
        {KN_ENOMEM, "internal", 500, "internal", "render_failed"},
        {KN_EIO, "storage_failed", 500, "internal", "storage_failed"},
        {KN_ENOTFOUND, "not_found", 404, "not_found", "render_failed"},
        {KN_ECONFLICT, "conflict", 409, "conflict", "render_failed"},
        {KN_EFULL, "queue_full", 429, "queue_full", "render_failed"},
        {KN_ETOOBIG, "payload_too_large", 413, "payload_too_large", "render_failed"},
        {KN_EENCODER, "encoder_unavailable", 500, "internal", "encoder_unavailable"},
        {KN_EENCODE, "encode_failed", 500, "internal", "encode_failed"},
        {KN_ECRASH, "worker_crashed", 500, "internal", "worker_crashed"},
        {KN_ERENDER, "render_failed", 500, "internal", "render_failed"},
        {KN_EUNAUTHORIZED, "unauthorized", 401, "unauthorized", "render_failed"},
        {KN_ENOTREADY, "not_ready", 409, "not_ready", "render_failed"},
        {KN_EUNAVAILABLE, "unavailable", 503, "unavailable", "render_failed"},
        {KN_ETIMEOUT, "timeout", 408, "timeout", "render_failed"},
        {KN_EINTERNAL, "internal", 500, "internal", "render_failed"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int c = want[i].code;
        assert_string_equal(kn_err_name(c), want[i].name);
        assert_int_equal(kn_err_http_status(c), want[i].http);
        assert_string_equal(kn_err_http_name(c), want[i].http_name);
        assert_string_equal(kn_err_job_code(c), want[i].job);
    }
    assert_string_equal(kn_err_name(KN_OK), "ok");
    assert_null(kn_err_job_code(KN_OK));
    /* every code has a row; unknown codes read as internal */
    for (int c = KN_OK; c <= KN_EINTERNAL; c++) {
        assert_non_null(kn_err_name(c));
        assert_true(kn_err_http_status(c) >= 200 && kn_err_http_status(c) < 600);
    }
    assert_string_equal(kn_err_name(-3), "internal");
    assert_string_equal(kn_err_name(KN_EINTERNAL + 1), "internal");
    assert_int_equal(kn_err_http_status(999), 500);
    /* a job records only the six documented codes (interrupted is the
     * store's own) */
    static const char *const job_codes[] = {"render_failed", "worker_crashed", "encoder_unavailable",
                                            "encode_failed", "storage_failed"};
    for (int c = KN_EINVAL; c <= KN_EINTERNAL; c++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof job_codes / sizeof job_codes[0]; k++)
            ok |= !strcmp(kn_err_job_code(c), job_codes[k]);
        if (!ok) fail_msg("code %d records \"%s\"", c, kn_err_job_code(c));
    }
}

static void test_set(void **state)
{
    (void)state;
    kn_err e;
    assert_int_equal(kn_err_set(&e, KN_EJSON, "", "invalid JSON: %s", "x"), KN_EJSON);
    assert_int_equal(e.code, KN_EJSON);
    assert_string_equal(e.msg, "invalid JSON: x");
    assert_int_equal(kn_err_set(NULL, KN_EIO, NULL, "nowhere"), KN_EIO);
}

/* A failed requirement in a child whose stderr is a pipe: the line names
 * the file, the line, the function and the condition, then SIGABRT. */
static void test_require(void **state)
{
    (void)state;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(pfd[1], STDERR_FILENO);
        close(pfd[0]);
        int three = 3;
        KN_REQUIRE(three > 2);   /* holds: nothing happens */
        KN_REQUIRE(three == 2);
        _exit(0);
    }
    close(pfd[1]);
    char buf[1024];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(pfd[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    buf[n] = '\0';
    close(pfd[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    assert_non_null(strstr(buf, "test_err.c:"));
    assert_non_null(strstr(buf, "test_require"));
    assert_non_null(strstr(buf, "requirement failed: three == 2"));
    assert_null(strstr(buf, "three > 2"));
}

int main(void)
{
    kn_log_set_level(KN_LOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_require),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
