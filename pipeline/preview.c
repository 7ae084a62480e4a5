/*
 * pipeline/preview.c - one frame to PNG in a child process (see preview.h).
 *
 * The child reads all of stdin before it writes anything, so the parent
 * writes the whole document, closes the pipe, then reads; neither side can
 * block the other. The read loop is bounded by the deadline (poll) and by
 * KN_PREVIEW_MAX_PNG.
 */
#include "pipeline/preview.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"

extern char **environ;

int kn_preview_render(const char *self_exe, const char *doc, size_t len, long frame, int timeout_ms,
                      uint8_t **png_out, size_t *png_len, kn_err *err)
{
    int in[2] = {-1, -1}, outp[2] = {-1, -1};
    pid_t pid = -1;
    uint8_t *png = NULL;
    size_t n = 0, cap = 0;
    int rc = KN_OK, status = 0;
    char fbuf[32];

    *png_out = NULL;
    *png_len = 0;
    snprintf(fbuf, sizeof fbuf, "%ld", frame);
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot create pipes: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot start the preview renderer: out of memory");
        goto out;
    }
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    char *argv[] = {"kinora", "frame", "-", "--frame", fbuf, "-o", "-", NULL};
    int se = posix_spawn(&pid, self_exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(outp[1]);
    in[0] = outp[1] = -1;
    if (se != 0) {
        pid = -1;
        rc = kn_err_set(err, KN_EIO, NULL, "cannot start the preview renderer: %s", strerror(se));
        goto out;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(in[1], doc + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;   /* the child died: its exit status tells why */
        off += (size_t)w;
    }
    close(in[1]);
    in[1] = -1;
    double deadline = kn_mono() + timeout_ms / 1000.0;
    for (;;) {
        int left = (int)((deadline - kn_mono()) * 1000);
        if (left <= 0) break;
        struct pollfd pf = {.fd = outp[0], .events = POLLIN};
        int pr = poll(&pf, 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 262144;
            if (ncap > KN_PREVIEW_MAX_PNG) break;
            uint8_t *nb = realloc(png, ncap);
            if (!nb) break;
            png = nb;
            cap = ncap;
        }
        ssize_t r = read(outp[0], png + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    pid = -1;
    if (n < 8 || memcmp(png, "\x89PNG", 4) != 0) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "the preview renderer failed (status %d)", status);
        goto out;
    }
    *png_out = png;
    *png_len = n;
    png = NULL;
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0) close(in[i]);
        if (outp[i] >= 0) close(outp[i]);
    }
    free(png);
    return rc;
}
