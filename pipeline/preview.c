/*
 * pipeline/preview.c - one frame to PNG in a child process (see preview.h).
 *
 * The parent feeds the document and drains the PNG in one non-blocking poll
 * loop under one deadline, so no child (stalled, dead, or writing before it
 * has read everything) can block the server; the output is bounded by
 * KN_PREVIEW_MAX_PNG.
 *
 * Invariant: g.running counts the renders between a successful acquire()
 * and their release() (every path out of kn_preview_render), and never
 * exceeds the limit that was in force when each acquired.
 */
#include "pipeline/preview.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/require.h"

extern char **environ;

static struct {
    pthread_mutex_t lock;
    int limit;            /* 0: kn_preview_default_limit() */
    size_t max_memory;    /* per child; 0: none */
    int running;
} g = {PTHREAD_MUTEX_INITIALIZER, 0, KN_PREVIEW_MAX_MEMORY, 0};

int kn_preview_default_limit(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN) / 2;
    if (n < KN_PREVIEW_CONCURRENT_DEFAULT_MIN) n = KN_PREVIEW_CONCURRENT_DEFAULT_MIN;
    if (n > KN_PREVIEW_CONCURRENT_DEFAULT_MAX) n = KN_PREVIEW_CONCURRENT_DEFAULT_MAX;
    return (int)n;
}

void kn_preview_configure(int max_concurrent, size_t max_memory)
{
    KN_REQUIRE(max_concurrent >= 0 && max_concurrent <= KN_PREVIEW_CONCURRENT_MAX);
    pthread_mutex_lock(&g.lock);
    g.limit = max_concurrent;
    g.max_memory = max_memory;
    pthread_mutex_unlock(&g.lock);
}

int kn_preview_limit(void)
{
    pthread_mutex_lock(&g.lock);
    int n = g.limit ? g.limit : kn_preview_default_limit();
    pthread_mutex_unlock(&g.lock);
    return n;
}

/* Takes a place among the running previews, or says why not: never waits,
 * so a flood of previews costs each extra client one quick 429. */
static int acquire(size_t *max_memory, kn_err *err)
{
    pthread_mutex_lock(&g.lock);
    int limit = g.limit ? g.limit : kn_preview_default_limit();
    int ok = g.running < limit;
    if (ok) g.running++;
    *max_memory = g.max_memory;
    pthread_mutex_unlock(&g.lock);
    if (!ok)
        return kn_err_set(err, KN_EFULL, NULL,
                          "%d previews are being rendered, as many as this server renders at once; try again shortly",
                          limit);
    return KN_OK;
}

static void release(void)
{
    pthread_mutex_lock(&g.lock);
    g.running--;
    pthread_mutex_unlock(&g.lock);
}

int kn_preview_png_complete(const uint8_t *p, size_t n)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!p || n < 8 || memcmp(p, sig, 8) != 0) return 0;
    size_t off = 8;
    /* Each chunk: 4-byte big-endian length, 4-byte type, data, 4-byte CRC. */
    while (n - off >= 12) {
        uint32_t len = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 | (uint32_t)p[off + 2] << 8 | p[off + 3];
        if (len > 0x7fffffffu || len > n - off - 12) return 0;
        int iend = memcmp(p + off + 4, "IEND", 4) == 0;
        off += 12 + (size_t)len;
        if (iend) return off == n && len == 0;
    }
    return 0;
}

/* Waits until the child exits or the monotonic deadline passes, without
 * polling: a pidfd becomes readable when its process exits. Returns 1 with
 * *status filled when it exited, 0 when the deadline passed first. */
static int wait_exit(pid_t pid, double deadline, int *status)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        for (;;) {
            int left = (int)((deadline - kn_mono()) * 1000);
            if (left < 0) left = 0;
            struct pollfd pf = {.fd = pfd, .events = POLLIN};
            int pr = poll(&pf, 1, left);
            if (pr < 0 && errno == EINTR) continue;
            close(pfd);
            if (pr <= 0) return 0;
            break;
        }
    }
    /* Without pidfds (kernels before 5.3) the child has closed its stdout,
     * which it does on exit, so this wait is short. */
    return waitpid(pid, status, 0) == pid;
}

int kn_preview_render(const char *self_exe, const char *doc, size_t len, long frame, int timeout_ms,
                      uint8_t **png_out, size_t *png_len, kn_err *err)
{
    int in[2] = {-1, -1}, outp[2] = {-1, -1};
    pid_t pid = -1;
    uint8_t *png = NULL;
    size_t n = 0, cap = 0;
    int rc = KN_OK, status = 0, acquired = 0;
    size_t max_memory = 0;
    char fbuf[32], mbuf[32];

    *png_out = NULL;
    *png_len = 0;
    if ((rc = acquire(&max_memory, err)) != KN_OK) goto out;
    acquired = 1;
    snprintf(fbuf, sizeof fbuf, "%ld", frame);
    snprintf(mbuf, sizeof mbuf, "%zu", max_memory);
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
    char *argv[] = {"kinora", "frame", "-", "--frame", fbuf, "-o", "-", "--max-memory", mbuf, NULL};
    if (max_memory == 0) argv[7] = NULL;
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
    /* One loop feeds the document and drains the PNG, both non-blocking and
     * under one deadline: a child that stops reading its stdin (stalled or
     * dead) cannot block the server, whatever the document's size. */
    double deadline = kn_mono() + timeout_ms / 1000.0;
    const char *why = "did not finish in time";
    int eof = 0;
    size_t off = 0;
    if (fcntl(in[1], F_SETFL, O_NONBLOCK) != 0 || fcntl(outp[0], F_SETFL, O_NONBLOCK) != 0) {
        why = "could not be set up (fcntl)";
        goto reap;
    }
    if (len == 0) {
        close(in[1]);
        in[1] = -1;
    }
    for (;;) {
        int left = (int)((deadline - kn_mono()) * 1000);
        if (left <= 0) break;
        struct pollfd pf[2] = {{.fd = outp[0], .events = POLLIN}, {.fd = in[1], .events = POLLOUT}};
        int pr = poll(pf, in[1] >= 0 ? 2 : 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) {
            why = "could not be polled";
            break;
        }
        if (pr == 0) break;
        if (in[1] >= 0 && pf[1].revents) {
            ssize_t w = write(in[1], doc + off, len - off);
            if (w > 0) off += (size_t)w;
            /* EPIPE (the child is gone, the caller ignores SIGPIPE) or all
             * written: close, and the child's exit status tells the rest. */
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == len) {
                close(in[1]);
                in[1] = -1;
            }
        }
        if (!pf[0].revents) continue;
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 262144;
            uint8_t *nb = ncap <= KN_PREVIEW_MAX_PNG ? realloc(png, ncap) : NULL;
            if (!nb) {
                why = ncap > KN_PREVIEW_MAX_PNG ? "wrote more than the PNG size limit" : "ran the server out of memory";
                break;
            }
            png = nb;
            cap = ncap;
        }
        ssize_t r = read(outp[0], png + n, cap - n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r < 0) {
            why = "could not be read";
            break;
        }
        if (r == 0) {
            eof = 1;
            break;
        }
        n += (size_t)r;
    }
    /* The child closed its stdout, which it does as it exits: give it what
     * is left of the deadline to exit. Only a child that exited 0 after
     * writing a whole PNG counts: one killed mid-write, or one that stalled,
     * may have written a prefix that still starts like a PNG. Any other end
     * of the read kills it at once. */
reap:;
    int exited = eof && wait_exit(pid, deadline, &status);
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    pid = -1;
    if (!exited) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "the preview renderer %s (limit %d ms, %zu MiB)", why,
                        timeout_ms, KN_PREVIEW_MAX_PNG >> 20);
        goto out;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == KN_PREVIEW_EXIT_NOMEM) {
        rc = kn_err_set(err, KN_ETOOBIG, NULL,
                        "the preview needs more memory than a preview may use (%zu MiB); render the job instead",
                        max_memory >> 20);
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* A library that aborts when an allocation fails dies of a signal
         * instead of saying so. */
        if (WIFSIGNALED(status))
            rc = kn_err_set(err, KN_EINTERNAL, NULL, "the preview renderer died of signal %d%s", WTERMSIG(status),
                            max_memory ? " (it may have run out of its memory limit)" : "");
        else
            rc = kn_err_set(err, KN_EINTERNAL, NULL, "the preview renderer failed (exit status %d)",
                            WEXITSTATUS(status));
        goto out;
    }
    if (!kn_preview_png_complete(png, n)) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "the preview renderer wrote an incomplete PNG (%zu bytes)", n);
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
    if (acquired) release();
    return rc;
}
