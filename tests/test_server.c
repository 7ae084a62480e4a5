/*
 * tests/test_server.c - the daemon's startup decisions that need no
 * running server: where it listens (loopback unless a token is set or an
 * open server is asked for) and reading the token from a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/limits.h"
#include "common/log.h"
#include "server/server.h"
#include "tests/support/testutil.h"

static void expect_bind(const char *bind, const char *token, int open, const char *addr, int loopback)
{
    kn_server_config cfg;
    kn_server_config_defaults(&cfg);
    cfg.bind = bind;
    cfg.token = token;
    cfg.allow_unauthenticated = open;
    const char *got = NULL;
    int lo = -1;
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_server_bind_address(&cfg, &got, &lo, &err);
    if (!addr) {
        if (rc != KN_EINVAL)
            fail_msg("bind %s, token %s: accepted as %s", bind ? bind : "(none)", token ? token : "(none)",
                     got ? got : "(none)");
        assert_non_null(strstr(err.msg, "--allow-unauthenticated"));
        return;
    }
    if (rc != KN_OK) fail_msg("bind %s, token %s: %s", bind ? bind : "(none)", token ? token : "(none)", err.msg);
    assert_string_equal(got, addr);
    assert_int_equal(lo, loopback);
}

/* No token: loopback by default and on request, any other address only
 * with --allow-unauthenticated. A token: everywhere by default. */
static void test_bind_address(void **state)
{
    (void)state;
    expect_bind(NULL, NULL, 0, "127.0.0.1", 1);
    expect_bind("", "", 0, "127.0.0.1", 1);
    expect_bind("127.0.0.1", NULL, 0, "127.0.0.1", 1);
    expect_bind("127.3.4.5", NULL, 0, "127.3.4.5", 1);
    expect_bind("0.0.0.0", NULL, 0, NULL, 0);
    expect_bind("10.1.2.3", "", 0, NULL, 0);
    expect_bind("0.0.0.0", NULL, 1, "0.0.0.0", 0);
    expect_bind(NULL, "t0ken", 0, "0.0.0.0", 0);
    expect_bind("10.1.2.3", "t0ken", 0, "10.1.2.3", 0);
    expect_bind("127.0.0.1", "t0ken", 0, "127.0.0.1", 1);
    kn_server_config cfg;
    kn_server_config_defaults(&cfg);
    cfg.bind = "localhost";
    const char *got;
    int lo;
    kn_err err;
    assert_int_equal(kn_server_bind_address(&cfg, &got, &lo, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "not an IPv4 address"));
}

static int read_token(const char *dir, const char *text, size_t len, char **tok, kn_err *err)
{
    char path[700];
    snprintf(path, sizeof path, "%s/token", dir);
    assert_int_equal(tu_write_file(path, text, len), 0);
    chmod(path, 0600);
    return kn_server_read_token_file(path, tok, err);
}

/* The whole file is the token, less one line ending; any length up to
 * KN_HTTP_TOKEN_MAX. */
static void test_token_file(void **state)
{
    (void)state;
    char dir[512];
    tu_tmpdir(dir, sizeof dir);
    assert_true(dir[0]);
    char *tok = NULL;
    kn_err err;
    assert_int_equal(read_token(dir, "s3cret\n", 7, &tok, &err), KN_OK);
    assert_string_equal(tok, "s3cret");
    free(tok);
    assert_int_equal(read_token(dir, "s3cret\r\n", 8, &tok, &err), KN_OK);
    assert_string_equal(tok, "s3cret");
    free(tok);
    assert_int_equal(read_token(dir, "s3cret", 6, &tok, &err), KN_OK);
    assert_string_equal(tok, "s3cret");
    free(tok);

    char *big = malloc(KN_HTTP_TOKEN_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', KN_HTTP_TOKEN_MAX + 1);
    big[KN_HTTP_TOKEN_MAX] = '\n';
    assert_int_equal(read_token(dir, big, KN_HTTP_TOKEN_MAX + 1, &tok, &err), KN_OK);
    assert_int_equal(strlen(tok), KN_HTTP_TOKEN_MAX);
    free(tok);
    big[KN_HTTP_TOKEN_MAX] = 'x';
    assert_int_equal(read_token(dir, big, KN_HTTP_TOKEN_MAX + 1, &tok, &err), KN_EINVAL);
    assert_null(tok);
    assert_non_null(strstr(err.msg, "1..4096 bytes"));
    free(big);

    assert_int_equal(read_token(dir, "\n", 1, &tok, &err), KN_EINVAL);
    assert_int_equal(read_token(dir, "", 0, &tok, &err), KN_EINVAL);
    assert_int_equal(read_token(dir, "a\0b", 3, &tok, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "NUL"));
    char path[700];
    snprintf(path, sizeof path, "%s/none", dir);
    assert_int_equal(kn_server_read_token_file(path, &tok, &err), KN_EIO);
    assert_null(tok);
    tu_rmtree(dir);
}

int main(void)
{
    kn_log_set_level(KN_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_address),
        cmocka_unit_test(test_token_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
