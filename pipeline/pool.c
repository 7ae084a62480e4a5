/*
 * pipeline/pool.c - see pool.h.
 *
 * Invariants:
 *  - The supervisor and the launcher are single-threaded and block only in
 *    poll(2) on their sockets and a signalfd for SIGCHLD: they never
 *    busy-wait. So does the server's watchdog thread.
 *  - Worker slot i keeps its index across respawns; that index is the
 *    worker's identity in the ring, so a dead worker's frame is found there.
 *  - The supervisor holds the active job's fds (ring, document) from JOB to
 *    END; a worker receives its own duplicates and closes them after the job.
 *  - Counters the server reads (restarts, live workers, pids) live in an
 *    anonymous shared page written only by the supervisor alive at the
 *    time, and reset by the watchdog once it is dead.
 *  - The supervisor never writes to its control socket, so the server's end
 *    becomes readable (EOF) exactly when the supervisor has exited.
 *  - kn_pool.ctl and .sup change only on the watchdog thread (and in
 *    kn_pool_stop after it joined), always under .lock.
 */
#include "pipeline/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/require.h"
#include "render/render.h"
#include "pipeline/ring.h"

/* Server <-> supervisor: JOB, END, QUIT. Server <-> launcher: SPAWN, then
 * SPAWNED (len: the pid; the control socket attached) or FAILED (len: the
 * errno), and QUIT. */
enum { MSG_JOB = 1, MSG_END, MSG_QUIT, MSG_SPAWN, MSG_SPAWNED, MSG_FAILED };

#define KN_WORKER_NICE 10

typedef struct pool_msg {
    uint32_t type;
    uint32_t worker;     /* JOB to a worker: its index */
    uint64_t len;        /* JOB: document bytes; SPAWNED: pid; FAILED: errno */
} pool_msg;

typedef struct pool_shared {
    long restarts;
    int alive;
    int pid[KN_RING_MAX_WORKERS];
} pool_shared;

struct kn_pool {
    int nworkers;
    pool_shared *sh;
    pthread_mutex_t lock;    /* guards the fields down to heals */
    int ctl;                 /* server end of the supervisor's control socket; -1 while none */
    pid_t sup;               /* the supervisor; 0 while none (atomic: read without the lock) */
    int sup_ours;            /* 1: forked here (the first), so reaped here; 0: the launcher's */
    double sup_since;        /* kn_mono() when it started */
    unsigned long gen;       /* supervisors started: 1 is the first */
    unsigned long job_gen;   /* gen of the supervisor given the active job; 0: none */
    long heals;
    pid_t launcher;
    int lch;                 /* server end of the launcher's socket: watchdog and stop only */
    int wake;                /* eventfd: stop the watchdog */
    pthread_t watchdog;
    int have_watchdog;
    pthread_mutex_t lsn_lock;   /* held while the listener runs */
    void (*lsn)(void *);
    void *lsn_ctx;
};

/* ---- fd passing ------------------------------------------------------ */

static int send_msg(int sock, const pool_msg *m, const int *fds, int nfds)
{
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof *m};
    char cbuf[CMSG_SPACE(sizeof(int) * 2)];
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        memset(cbuf, 0, sizeof cbuf);
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n;
    do n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof *m ? 0 : -1;
}

/* Returns 1 on a message, 0 on EOF, -1 on error. fds[] gets up to 2 fds
 * (-1 where none came). */
static int recv_msg(int sock, pool_msg *m, int fds[2])
{
    struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
    char cbuf[CMSG_SPACE(sizeof(int) * 2)];
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    fds[0] = fds[1] = -1;
    ssize_t n;
    do n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n == 0) return 0;
    if (n != (ssize_t)sizeof *m) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k && i < 2; i++) memcpy(&fds[i], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
    return 1;
}

/* Dies with the parent; returns -1 if the parent is already gone. */
static int bind_to_parent(const char *name, pid_t parent)
{
    prctl(PR_SET_NAME, name, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    return getppid() == parent ? 0 : -1;
}

/* ---- worker ---------------------------------------------------------- */

/* Test-only fault injection: KINORA_FAULT_CRASH_FRAME=k makes every worker
 * die with SIGSEGV when it renders frame k, so tests can exercise crash
 * recovery through the real binary. */
static long fault_crash_frame(void)
{
    const char *s = getenv("KINORA_FAULT_CRASH_FRAME");
    if (!s || !*s) return -1;
    char *end;
    long v = strtol(s, &end, 10);
    return *end ? -1 : v;
}

static void worker_job(const kn_pool_worker_ops *ops, int idx, int ring_fd, int doc_fd, size_t len)
{
    kn_err err;
    kn_err_clear(&err);
    kn_ring *ring = NULL;
    kn_renderer *r = NULL;
    void *doc = MAP_FAILED;
    long crash = fault_crash_frame();

    if (kn_ring_attach(ring_fd, &ring, &err) != KN_OK) {
        kn_error("worker %d: cannot attach the frame ring: %s", idx, err.msg);
        goto out;
    }
    doc = mmap(NULL, len ? len : 1, PROT_READ, MAP_PRIVATE, doc_fd, 0);
    if (doc == MAP_FAILED) {
        kn_ring_fail(ring, KN_ERENDER, "render worker could not map the job document");
        goto out;
    }
    if (ops->create(doc, len, &r, &err) != KN_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "render worker could not compile the document: %s", err.msg);
        kn_ring_fail(ring, KN_ERENDER, msg);
        goto out;
    }
    for (;;) {
        long f;
        int rc = kn_ring_claim(ring, idx, &f);
        if (rc != KN_RING_FRAME) break;
        if (f == crash) raise(SIGSEGV);
        if (ops->draw(r, f, &err) != KN_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "frame %ld: %s", f, err.msg);
            kn_ring_fail(ring, err.code, msg);
            break;
        }
        kn_ring_planes p;
        if (kn_ring_acquire(ring, idx, f, &p) != KN_RING_FRAME) break;
        if (ops->to_i420(r, p.data, p.stride, &err) != KN_OK) {
            kn_ring_fail(ring, err.code, err.msg);
            break;
        }
        kn_ring_publish(ring, idx, f);
    }
out:
    ops->destroy(r);
    if (doc != MAP_FAILED) munmap(doc, len ? len : 1);
    kn_ring_destroy(ring);
}

static void worker_main(const kn_pool_worker_ops *ops, int idx, int sock, pid_t parent)
{
    if (bind_to_parent("kinora-render", parent) != 0) _exit(0);
    kn_log_set_tag("render");
    /* The encoder is the bottleneck whenever drawing is cheaper than
     * encoding, and the ring's backpressure keeps workers ahead of it with
     * whatever CPU it leaves: so under contention the encoder's threads
     * should win. When drawing is the bottleneck the encoder idles and the
     * workers get the CPU anyway. */
    if (setpriority(PRIO_PROCESS, 0, KN_WORKER_NICE) != 0)
        kn_warn("render worker: cannot lower its priority: %s", strerror(errno));
    for (;;) {
        pool_msg m;
        int fds[2];
        int rc = recv_msg(sock, &m, fds);
        if (rc <= 0) break;
        if (m.type == MSG_JOB && fds[0] >= 0 && fds[1] >= 0) worker_job(ops, idx, fds[0], fds[1], (size_t)m.len);
        if (fds[0] >= 0) close(fds[0]);
        if (fds[1] >= 0) close(fds[1]);
        if (m.type == MSG_QUIT) break;
    }
    _exit(0);
}

/* ---- supervisor ------------------------------------------------------ */

typedef struct sup_state {
    int n;
    pid_t pid[KN_RING_MAX_WORKERS];
    int sock[KN_RING_MAX_WORKERS];
    int ring_fd, doc_fd;
    uint64_t doc_len;
    kn_ring *ring;
    pool_shared *sh;
    unsigned char stopping[KN_RING_MAX_WORKERS];   /* killed by us, not crashed */
    kn_pool_worker_ops ops;
} sup_state;

static void sup_send_job(sup_state *s, int i)
{
    if (s->ring_fd < 0 || s->sock[i] < 0) return;
    pool_msg m = {.type = MSG_JOB, .worker = (uint32_t)i, .len = s->doc_len};
    int fds[2] = {s->ring_fd, s->doc_fd};
    if (send_msg(s->sock[i], &m, fds, 2) != 0) kn_warn("pool: could not hand the job to worker %d: %s", i, strerror(errno));
}

static int sup_spawn(sup_state *s, int i)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        kn_error("pool: socketpair failed: %s", strerror(errno));
        return -1;
    }
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        kn_error("pool: fork failed: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        /* Keep only stdio and our end of the socket. */
        if (dup2(sv[1], 3) < 0) _exit(1);
        close_range(4, ~0U, 0);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        worker_main(&s->ops, i, 3, me);
    }
    close(sv[1]);
    s->pid[i] = pid;
    s->sock[i] = sv[0];
    s->sh->pid[i] = pid;
    return 0;
}

/* A job that stopped early (canceled, or failed on a frame) must stop
 * using the CPU within a second, but a worker only looks at the ring
 * between frames, and one frame of a heavy document (or the parse of a
 * 64 MB one) can take a minute. So its workers are killed, busy or not:
 * sup_reap starts fresh ones, which hold no state worth keeping, in about a
 * millisecond each. */
static void sup_replace_workers(sup_state *s)
{
    if (!s->ring || (!kn_ring_canceled(s->ring) && kn_ring_error(s->ring, NULL) == KN_OK)) return;
    for (int i = 0; i < s->n; i++) {
        if (s->pid[i] <= 0 || s->stopping[i]) continue;
        if (kill(s->pid[i], SIGKILL) == 0) s->stopping[i] = 1;
    }
    kn_debug("pool: the job stopped early: its render workers are replaced");
}

static void sup_drop_job(sup_state *s)
{
    sup_replace_workers(s);
    if (s->ring_fd >= 0) close(s->ring_fd);
    if (s->doc_fd >= 0) close(s->doc_fd);
    kn_ring_destroy(s->ring);
    s->ring = NULL;
    s->ring_fd = s->doc_fd = -1;
}

static void sup_reap(sup_state *s)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        int i;
        for (i = 0; i < s->n && s->pid[i] != pid; i++) {}
        if (i == s->n) continue;
        int stopped = s->stopping[i];
        s->stopping[i] = 0;
        if (stopped)   /* sup_replace_workers's doing: not a crash, not a restart */
            kn_debug("pool: render worker %d (pid %d) stopped", i, (int)pid);
        else if (WIFSIGNALED(status))
            kn_warn("pool: render worker %d (pid %d) killed by signal %d", i, (int)pid, WTERMSIG(status));
        else
            kn_warn("pool: render worker %d (pid %d) exited with status %d", i, (int)pid, WEXITSTATUS(status));
        close(s->sock[i]);
        s->sock[i] = -1;
        s->pid[i] = 0;
        s->sh->pid[i] = 0;
        /* A stopped worker may, in a race, have finished the old frame and
         * claimed one of the next job's before the signal landed: give that
         * frame back too. */
        if (s->ring) {
            long f = kn_ring_worker_lost(s->ring, i);
            if (f >= 0 && kn_ring_error(s->ring, NULL) == KN_OK && !kn_ring_canceled(s->ring))
                kn_warn("pool: frame %ld goes back to the queue", f);
        }
        if (sup_spawn(s, i) == 0) {
            if (!stopped) __atomic_add_fetch(&s->sh->restarts, 1, __ATOMIC_RELAXED);
            sup_send_job(s, i);
        }
    }
    int alive = 0;
    for (int i = 0; i < s->n; i++) alive += s->pid[i] > 0;
    __atomic_store_n(&s->sh->alive, alive, __ATOMIC_RELEASE);
}

static void supervisor_main(int ctl, int n, const kn_pool_worker_ops *ops, pool_shared *sh, pid_t parent)
{
    if (bind_to_parent("kinora-pool", parent) != 0) _exit(0);
    kn_log_set_tag("pool");
    sup_state s = {.n = n, .ring_fd = -1, .doc_fd = -1, .sh = sh, .ops = *ops};
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
    if (sfd < 0) {
        kn_error("pool: signalfd failed: %s", strerror(errno));
        _exit(1);
    }
    for (int i = 0; i < n; i++) {
        s.sock[i] = -1;
        sup_spawn(&s, i);
    }
    sup_reap(&s);
    for (;;) {
        struct pollfd pf[2] = {{.fd = ctl, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) continue;
            kn_error("pool: poll failed: %s", strerror(errno));
            break;
        }
        if (pf[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            ssize_t rd = read(sfd, &si, sizeof si);
            (void)rd;
            sup_reap(&s);
        }
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            pool_msg m;
            int fds[2];
            int rc = recv_msg(ctl, &m, fds);
            if (rc <= 0 || m.type == MSG_QUIT) break;
            if (m.type == MSG_JOB) {
                sup_drop_job(&s);
                kn_err err;
                if (fds[0] < 0 || fds[1] < 0 || kn_ring_attach(fds[0], &s.ring, &err) != KN_OK) {
                    kn_error("pool: job message without a usable ring");
                    if (fds[0] >= 0) close(fds[0]);
                    if (fds[1] >= 0) close(fds[1]);
                    continue;
                }
                s.ring_fd = fds[0];
                s.doc_fd = fds[1];
                s.doc_len = m.len;
                for (int i = 0; i < n; i++) sup_send_job(&s, i);
            } else if (m.type == MSG_END) {
                sup_drop_job(&s);
            }
        }
    }
    for (int i = 0; i < n; i++)
        if (s.pid[i] > 0) kill(s.pid[i], SIGKILL);
    for (int i = 0; i < n; i++)
        if (s.pid[i] > 0) waitpid(s.pid[i], NULL, 0);
    sup_drop_job(&s);
    _exit(0);
}

/* ---- launcher -------------------------------------------------------- */

/* Forks replacement supervisors on request (see pool.h for why a process
 * of its own). It reaps them too: a replacement is its child. */
static void launcher_main(int lch, int n, const kn_pool_worker_ops *ops, pool_shared *sh, pid_t parent)
{
    if (bind_to_parent("kinora-launcher", parent) != 0) _exit(0);
    kn_log_set_tag("launcher");
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
    if (sfd < 0) {
        kn_error("pool launcher: signalfd failed: %s", strerror(errno));
        _exit(1);
    }
    pid_t me = getpid(), sup = 0;
    for (;;) {
        struct pollfd pf[2] = {{.fd = lch, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) continue;
            kn_error("pool launcher: poll failed: %s", strerror(errno));
            break;
        }
        if (pf[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            ssize_t rd = read(sfd, &si, sizeof si);
            (void)rd;
            pid_t pid;
            while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
                if (pid == sup) sup = 0;
        }
        if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        pool_msg m;
        int fds[2];
        int rc = recv_msg(lch, &m, fds);
        if (fds[0] >= 0) close(fds[0]);
        if (fds[1] >= 0) close(fds[1]);
        if (rc <= 0 || m.type == MSG_QUIT) break;
        if (m.type != MSG_SPAWN) continue;
        /* The server asks only once the last one's socket hung up, so it is
         * exiting; make sure before starting its successor. */
        if (sup > 0) {
            kill(sup, SIGKILL);
            waitpid(sup, NULL, 0);
            sup = 0;
        }
        pool_msg reply = {.type = MSG_FAILED};
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
            reply.len = (uint64_t)errno;
            send_msg(lch, &reply, NULL, 0);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(lch);
            close(sfd);
            close(sv[0]);
            supervisor_main(sv[1], n, ops, sh, me);
        }
        int fork_errno = errno;
        close(sv[1]);
        if (pid < 0) {
            reply.len = (uint64_t)fork_errno;
            send_msg(lch, &reply, NULL, 0);
        } else {
            sup = pid;
            reply.type = MSG_SPAWNED;
            reply.len = (uint64_t)pid;
            send_msg(lch, &reply, &sv[0], 1);
        }
        close(sv[0]);
    }
    /* kn_pool_stop told the supervisor to quit, or closed its socket, first:
     * it exits after reaping its workers. */
    if (sup > 0) waitpid(sup, NULL, 0);
    _exit(0);
}

/* ---- server side ----------------------------------------------------- */

/* 1 when fd has hung up or has something to read: on a control socket,
 * which the supervisor never writes to, both mean it has exited. */
static int hung_up(int fd)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int r;
    do r = poll(&pf, 1, 0);
    while (r < 0 && errno == EINTR);
    return r > 0;
}

static int sup_up_locked(kn_pool *p)
{
    return p->ctl >= 0 && !hung_up(p->ctl);
}

/* The supervisor's control socket hung up: forget it, reap it if it is
 * ours, clear what it left in the shared page. Returns how long it ran. */
static double supervisor_gone(kn_pool *p)
{
    pthread_mutex_lock(&p->lock);
    pid_t pid = p->sup;
    int ours = p->sup_ours;
    double lived = kn_mono() - p->sup_since;
    close(p->ctl);
    p->ctl = -1;
    __atomic_store_n(&p->sup, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&p->lock);
    /* Its workers die with it (PDEATHSIG); nobody else writes these now. */
    __atomic_store_n(&p->sh->alive, 0, __ATOMIC_RELEASE);
    for (int i = 0; i < KN_RING_MAX_WORKERS; i++) __atomic_store_n(&p->sh->pid[i], 0, __ATOMIC_RELAXED);
    /* The socket closes as the process exits, so this wait is short; the
     * kill makes sure of it. A replacement is the launcher's to reap. */
    if (ours && pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return lived;
}

/* Asks the launcher for a new supervisor: 1 when it is up, 0 when the
 * launcher could not fork (try again later), -1 when the launcher is gone,
 * -2 when kn_pool_stop wants the watchdog to stop. */
static int launch(kn_pool *p)
{
    pool_msg m = {.type = MSG_SPAWN};
    if (send_msg(p->lch, &m, NULL, 0) != 0) return -1;
    for (;;) {
        struct pollfd pf[2] = {{.fd = p->wake, .events = POLLIN}, {.fd = p->lch, .events = POLLIN}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (pf[0].revents) return -2;
        if (pf[1].revents) break;
    }
    int fds[2];
    if (recv_msg(p->lch, &m, fds) <= 0) return -1;
    if (fds[1] >= 0) close(fds[1]);
    if (m.type != MSG_SPAWNED || fds[0] < 0) {
        if (fds[0] >= 0) close(fds[0]);
        kn_error("pool: the launcher could not start a supervisor: %s", strerror((int)m.len));
        return 0;
    }
    pthread_mutex_lock(&p->lock);
    p->ctl = fds[0];
    __atomic_store_n(&p->sup, (pid_t)m.len, __ATOMIC_RELAXED);
    p->sup_ours = 0;
    p->sup_since = kn_mono();
    p->gen++;
    long heals = ++p->heals;
    pthread_mutex_unlock(&p->lock);
    kn_warn("pool: a new supervisor (pid %d) runs the render workers (pool restart %ld)", (int)m.len, heals);
    return 1;
}

/* Waits ms on the wake fd: 1 when kn_pool_stop asked to stop. */
static int stop_within(kn_pool *p, int ms)
{
    struct pollfd pf = {.fd = p->wake, .events = POLLIN};
    int r;
    do r = poll(&pf, 1, ms);
    while (r < 0 && errno == EINTR);
    return r != 0;
}

/* The watchdog: waits for the supervisor to exit, then starts a new one
 * after the backoff delay (see pool.h). */
static void *watchdog_main(void *arg)
{
    kn_pool *p = arg;
    int delay = 0;   /* the last backoff delay, ms; 0: none yet */
    for (;;) {
        pthread_mutex_lock(&p->lock);
        int ctl = p->ctl;   /* only this thread changes it */
        pthread_mutex_unlock(&p->lock);
        struct pollfd pf[2] = {{.fd = p->wake, .events = POLLIN}, {.fd = ctl, .events = POLLIN}};
        if (poll(pf, ctl >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            kn_error("pool watchdog: poll failed: %s", strerror(errno));
            break;
        }
        if (pf[0].revents) break;
        if (ctl < 0 || !pf[1].revents) continue;
        pid_t pid = __atomic_load_n(&p->sup, __ATOMIC_RELAXED);
        double lived = supervisor_gone(p);
        delay = delay == 0 || lived >= KN_POOL_HEAL_STABLE_S ? KN_POOL_HEAL_MIN_MS
                : delay * 2 > KN_POOL_HEAL_MAX_MS ? KN_POOL_HEAL_MAX_MS : delay * 2;
        kn_error("pool: the render pool supervisor (pid %d) died after %.1f s; starting a new one in %d ms",
                 (int)pid, lived, delay);
        int up = 0;
        while (!up) {
            if (stop_within(p, delay)) return NULL;
            up = launch(p);
            if (up == -2) return NULL;
            if (up == -1) {
                kn_error("pool: the pool launcher is gone: the render pool stays down until the server restarts");
                stop_within(p, -1);
                return NULL;
            }
            if (!up) delay = delay * 2 > KN_POOL_HEAL_MAX_MS ? KN_POOL_HEAL_MAX_MS : delay * 2;
        }
        pthread_mutex_lock(&p->lsn_lock);
        if (p->lsn) p->lsn(p->lsn_ctx);
        pthread_mutex_unlock(&p->lsn_lock);
    }
    return NULL;
}

int kn_pool_start(int nworkers, kn_pool **out, kn_err *err)
{
    static const kn_pool_worker_ops renderer = {
        .create = kn_renderer_create, .draw = kn_renderer_draw,
        .to_i420 = kn_renderer_to_i420, .destroy = kn_renderer_destroy,
    };
    return kn_pool_start_with(nworkers, &renderer, out, err);
}

/* Stops and frees whatever of p exists: the watchdog first (so the exits
 * below are not taken for deaths), then the supervisor, then the launcher,
 * which waits for a supervisor of its own to exit. Only our own children
 * are waited for, by pid. */
static void pool_free(kn_pool *p)
{
    if (p->have_watchdog) {
        uint64_t one = 1;
        ssize_t w = write(p->wake, &one, sizeof one);
        (void)w;
        pthread_join(p->watchdog, NULL);
    }
    if (p->ctl >= 0) {
        pool_msg m = {.type = MSG_QUIT};
        send_msg(p->ctl, &m, NULL, 0);
        close(p->ctl);
    }
    if (p->sup > 0 && p->sup_ours) waitpid(p->sup, NULL, 0);
    if (p->lch >= 0) {
        pool_msg m = {.type = MSG_QUIT};
        send_msg(p->lch, &m, NULL, 0);
        close(p->lch);
    }
    if (p->launcher > 0) waitpid(p->launcher, NULL, 0);
    if (p->wake >= 0) close(p->wake);
    if (p->sh) munmap(p->sh, sizeof *p->sh);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->lsn_lock);
    free(p);
}

int kn_pool_start_with(int nworkers, const kn_pool_worker_ops *ops, kn_pool **out, kn_err *err)
{
    int rc = KN_OK, lsv[2] = {-1, -1}, sv[2] = {-1, -1};
    KN_REQUIRE(out && ops);
    *out = NULL;
    if (nworkers < 1 || nworkers > KN_RING_MAX_WORKERS)
        return kn_err_set(err, KN_EINVAL, NULL, "--workers must be 1..%d, not %d", KN_RING_MAX_WORKERS, nworkers);
    kn_pool *p = calloc(1, sizeof *p);
    if (!p) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory starting the render pool");
    p->nworkers = nworkers;
    p->ctl = p->lch = p->wake = -1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->lsn_lock, NULL);
    p->sh = mmap(NULL, sizeof *p->sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p->sh == MAP_FAILED) {
        p->sh = NULL;
        rc = kn_err_set(err, KN_ENOMEM, NULL, "cannot map the pool's shared page: %s", strerror(errno));
        goto out;
    }
    p->wake = eventfd(0, EFD_CLOEXEC);
    if (p->wake < 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot create the pool's eventfd: %s", strerror(errno));
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lsv) != 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot create the pool's control sockets: %s", strerror(errno));
        goto out;
    }
    pid_t me = getpid();
    fflush(NULL);
    /* The launcher first, so that it holds no end of the first
     * supervisor's socket (that socket must hang up when it exits). */
    p->launcher = fork();
    if (p->launcher < 0) {
        p->launcher = 0;
        rc = kn_err_set(err, KN_EIO, NULL, "cannot fork the render pool launcher: %s", strerror(errno));
        goto out;
    }
    if (p->launcher == 0) {
        close(lsv[0]);
        close(sv[0]);
        close(sv[1]);
        close(p->wake);
        launcher_main(lsv[1], nworkers, ops, p->sh, me);
    }
    close(lsv[1]);
    lsv[1] = -1;
    p->lch = lsv[0];
    lsv[0] = -1;
    pid_t sup = fork();
    if (sup < 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot fork the render pool: %s", strerror(errno));
        goto out;
    }
    if (sup == 0) {
        close(sv[0]);
        close(p->lch);
        close(p->wake);
        supervisor_main(sv[1], nworkers, ops, p->sh, me);
    }
    close(sv[1]);
    sv[1] = -1;
    p->ctl = sv[0];
    sv[0] = -1;
    p->sup = sup;
    p->sup_ours = 1;
    p->sup_since = kn_mono();
    p->gen = 1;
    /* The watchdog takes no signal: the caller blocks SIGINT/SIGTERM only
     * after this returns (to sigwait for them on one thread), and a thread
     * that had them unblocked would receive them and die of them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&p->watchdog, NULL, watchdog_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "cannot start the pool watchdog thread: %s", strerror(e));
        goto out;
    }
    p->have_watchdog = 1;
    *out = p;
    p = NULL;
out:
    for (int i = 0; i < 2; i++) {
        if (lsv[i] >= 0) close(lsv[i]);
        if (sv[i] >= 0) close(sv[i]);
    }
    if (p) pool_free(p);
    return rc;
}

void kn_pool_stop(kn_pool *p)
{
    if (p) pool_free(p);
}

int kn_pool_alive(kn_pool *p)
{
    KN_REQUIRE(p);
    pthread_mutex_lock(&p->lock);
    int up = sup_up_locked(p);
    pthread_mutex_unlock(&p->lock);
    return up && __atomic_load_n(&p->sh->alive, __ATOMIC_ACQUIRE) > 0;
}

int kn_pool_can_heal(kn_pool *p)
{
    KN_REQUIRE(p);
    /* The launcher's death closes its end of the socket pair: a hang-up on
     * ours, seen without reading (events 0 reports only that), so the
     * watchdog's exchanges on it are left alone. */
    struct pollfd pf = {.fd = p->lch, .events = 0};
    return p->lch >= 0 && poll(&pf, 1, 0) == 0;
}

int kn_pool_ready(kn_pool *p)
{
    KN_REQUIRE(p);
    pthread_mutex_lock(&p->lock);
    int up = sup_up_locked(p);
    pthread_mutex_unlock(&p->lock);
    return up;
}

int kn_pool_job_lost(kn_pool *p)
{
    KN_REQUIRE(p);
    pthread_mutex_lock(&p->lock);
    int lost = p->job_gen == 0 || p->job_gen != p->gen || !sup_up_locked(p);
    pthread_mutex_unlock(&p->lock);
    return lost;
}

long kn_pool_heals(kn_pool *p)
{
    KN_REQUIRE(p);
    pthread_mutex_lock(&p->lock);
    long n = p->heals;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void kn_pool_set_listener(kn_pool *p, void (*fn)(void *ctx), void *ctx)
{
    KN_REQUIRE(p);
    pthread_mutex_lock(&p->lsn_lock);
    p->lsn = fn;
    p->lsn_ctx = ctx;
    pthread_mutex_unlock(&p->lsn_lock);
}

int kn_pool_workers(const kn_pool *p) { KN_REQUIRE(p); return p->nworkers; }
long kn_pool_restarts(kn_pool *p) { KN_REQUIRE(p); return __atomic_load_n(&p->sh->restarts, __ATOMIC_RELAXED); }
int kn_pool_supervisor_pid(const kn_pool *p) { KN_REQUIRE(p); return (int)__atomic_load_n(&p->sup, __ATOMIC_RELAXED); }
int kn_pool_launcher_pid(const kn_pool *p) { KN_REQUIRE(p); return (int)p->launcher; }

int kn_pool_worker_pid(kn_pool *p, int i)
{
    KN_REQUIRE(p);
    if (i < 0 || i >= p->nworkers) return 0;
    return __atomic_load_n(&p->sh->pid[i], __ATOMIC_RELAXED);
}

int kn_pool_submit(kn_pool *p, const char *doc, size_t len, int ring_fd, kn_err *err)
{
    int rc = KN_OK;
    KN_REQUIRE(p && (doc || len == 0) && ring_fd >= 0);
    int mfd = memfd_create("kinora-doc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) return kn_err_set(err, KN_EIO, NULL, "memfd_create for the job document failed: %s", strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(mfd, doc + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            rc = kn_err_set(err, KN_EIO, NULL, "writing the job document for the workers failed: %s", strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    /* Workers map it read-only; sealing makes that a guarantee. */
    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    pool_msg m = {.type = MSG_JOB, .len = len};
    int fds[2] = {ring_fd, mfd};
    pthread_mutex_lock(&p->lock);
    int sr = p->ctl >= 0 ? send_msg(p->ctl, &m, fds, 2) : -1;
    int down = p->ctl < 0;
    p->job_gen = sr == 0 ? p->gen : 0;
    pthread_mutex_unlock(&p->lock);
    if (down) rc = kn_err_set(err, KN_EINTERNAL, NULL, "the render pool is restarting");
    else if (sr != 0) rc = kn_err_set(err, KN_EINTERNAL, NULL, "the render pool is not answering (%s)", strerror(errno));
out:
    close(mfd);
    return rc;
}

int kn_pool_end(kn_pool *p, kn_err *err)
{
    KN_REQUIRE(p);
    pool_msg m = {.type = MSG_END};
    pthread_mutex_lock(&p->lock);
    /* A job lost with its supervisor has nothing to end: its successor
     * never saw it. */
    int sr = p->job_gen != 0 && p->job_gen == p->gen && p->ctl >= 0 ? send_msg(p->ctl, &m, NULL, 0) : 0;
    int e = errno;
    p->job_gen = 0;
    pthread_mutex_unlock(&p->lock);
    if (sr != 0) return kn_err_set(err, KN_EINTERNAL, NULL, "the render pool is not answering (%s)", strerror(e));
    return KN_OK;
}
