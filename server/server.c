/*
 * server/server.c - the daemon's startup and shutdown (see server.h).
 */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/http.h"
#include "common/limits.h"
#include "common/log.h"
#include "encode/encoder.h"
#include "pipeline/pool.h"
#include "pipeline/preview.h"
#include "pipeline/sched.h"
#include "store/store.h"

/* File descriptors kept beside one per connection: the store, videos
 * being written and served, the pool's sockets, preview pipes, logs. */
#define SERVER_FD_RESERVE 256U

void kn_server_config_defaults(kn_server_config *cfg)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > KN_RING_MAX_WORKERS) n = KN_RING_MAX_WORKERS;
    *cfg = (kn_server_config){
        .port = 8080, .data = "./data", .workers = (int)n,
        .max_body = KN_HTTP_MAX_BODY_DEFAULT, .max_queued = KN_HTTP_MAX_QUEUED_DEFAULT,
    };
}

static int mkdir_p(const char *path)
{
    char tmp[4400];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return (mkdir(tmp, 0755) != 0 && errno != EEXIST) ? -1 : 0;
}

int kn_server_bind_address(const kn_server_config *cfg, const char **addr, int *loopback, kn_err *err)
{
    int token = cfg->token && *cfg->token;
    const char *a = cfg->bind && *cfg->bind ? cfg->bind : token ? "0.0.0.0" : "127.0.0.1";
    struct in_addr in;
    if (inet_pton(AF_INET, a, &in) != 1)
        return kn_err_set(err, KN_EINVAL, NULL, "--bind: not an IPv4 address: %s", a);
    int lo = (ntohl(in.s_addr) >> 24) == 127;
    if (!lo && !token && !cfg->allow_unauthenticated)
        return kn_err_set(err, KN_EINVAL, NULL,
                          "refusing to listen on %s without a token: anyone who can reach it could submit "
                          "and delete jobs. Set KINORA_TOKEN or --token-file, or pass "
                          "--allow-unauthenticated if something in front of Kinora does the authentication",
                          a);
    *addr = a;
    *loopback = lo;
    return KN_OK;
}

int kn_server_read_token_file(const char *path, char **token, kn_err *err)
{
    int rc = KN_OK;
    *token = NULL;
    /* One byte over the cap and a line ending tell "too long" apart. */
    size_t cap = KN_HTTP_TOKEN_MAX + 3, n = 0;
    char *buf = malloc(cap + 1);
    FILE *f = fopen(path, "rb");
    if (!buf || !f) {
        rc = kn_err_set(err, buf ? KN_EIO : KN_ENOMEM, NULL, "cannot read the token file %s: %s", path,
                        strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        kn_warn("the token file %s can be read by other users (chmod 600 it)", path);
    n = fread(buf, 1, cap, f);
    if (ferror(f)) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot read the token file %s: %s", path, strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '\r') buf[--n] = '\0';
    if (n == 0 || n > KN_HTTP_TOKEN_MAX || strlen(buf) != n) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "the token file %s must hold one token of 1..%d bytes%s", path,
                        KN_HTTP_TOKEN_MAX, strlen(buf) != n ? " (it has a NUL byte)" : "");
        goto out;
    }
    *token = buf;
    buf = NULL;
out:
    if (f) fclose(f);
    free(buf);
    return rc;
}

/* Makes room in RLIMIT_NOFILE for every connection and the reserve,
 * raising the soft limit up to the hard one as needed. Past the hard
 * limit, an explicit --max-connections is an error and the default is
 * lowered to fit. */
static int fit_fd_limit(const kn_server_config *cfg, unsigned *max_conns, kn_err *err)
{
    unsigned want = cfg->max_connections ? cfg->max_connections : KN_HTTP_MAX_CONNECTIONS_DEFAULT;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return kn_err_set(err, KN_EIO, NULL, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    rlim_t need = (rlim_t)want + SERVER_FD_RESERVE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t to = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        if (to > rl.rlim_cur) {
            rl.rlim_cur = to;
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
                return kn_err_set(err, KN_EIO, NULL, "setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        }
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) {
        *max_conns = want;
        return KN_OK;
    }
    if (cfg->max_connections || rl.rlim_cur < SERVER_FD_RESERVE + 16)
        return kn_err_set(err, KN_EINVAL, NULL,
                          "--max-connections %u needs %u open files, and the limit is %llu (ulimit -n): lower "
                          "--max-connections or raise the limit",
                          want, want + SERVER_FD_RESERVE, (unsigned long long)rl.rlim_cur);
    *max_conns = (unsigned)(rl.rlim_cur - SERVER_FD_RESERVE);
    kn_info("at most %u connections: the open-files limit is %llu (ulimit -n)", *max_conns,
            (unsigned long long)rl.rlim_cur);
    return KN_OK;
}

/* Writes the bound port to path through a temporary file and a rename, so a
 * reader never sees a half-written number. */
static int write_port_file(const char *path, int port, kn_err *err)
{
    char tmpf[4200], num[16];
    if ((size_t)snprintf(tmpf, sizeof tmpf, "%s.tmp", path) >= sizeof tmpf)
        return kn_err_set(err, KN_EINVAL, NULL, "--port-file path is too long");
    int k = snprintf(num, sizeof num, "%d\n", port);
    FILE *f = fopen(tmpf, "w");
    int ok = f && fwrite(num, 1, (size_t)k, f) == (size_t)k;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok || rename(tmpf, path) != 0)
        return kn_err_set(err, KN_EIO, NULL, "cannot write --port-file %s: %s", path, strerror(errno));
    return KN_OK;
}

int kn_server_run(const kn_server_config *cfg, kn_err *err)
{
    kn_http_config hc = {.port = cfg->port, .max_body = cfg->max_body, .max_queued = cfg->max_queued,
                         .token = cfg->token, .max_connections_per_ip = cfg->max_connections_per_ip,
                         .head_timeout_s = cfg->head_timeout_s, .idle_timeout_s = cfg->idle_timeout_s};
    int loopback = 0;
    int slots = cfg->ring_slots ? cfg->ring_slots : 2 * cfg->workers + 2;
    kn_pool *pool = NULL;
    kn_store *store = NULL;
    kn_sched *sched = NULL;
    kn_http *http = NULL;
    int rc;
    char path[4200], exe[4096];

    kn_log_set_tag("server");
    /* What needs no resource is checked before anything starts. */
    if ((rc = kn_http_check_token(cfg->token, err)) != KN_OK) return rc;
    if ((rc = kn_server_bind_address(cfg, &hc.bind, &loopback, err)) != KN_OK) return rc;
    if ((rc = fit_fd_limit(cfg, &hc.max_connections, err)) != KN_OK) return rc;
    /* Before any thread: the pool is forked from a single-threaded process. */
    if ((rc = kn_pool_start(cfg->workers, &pool, err)) != KN_OK) goto out;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Over a file size limit (RLIMIT_FSIZE) a write then fails with EFBIG,
     * which fails that job with storage_failed, instead of killing the
     * server. */
    signal(SIGXFSZ, SIG_IGN);
    kn_preview_configure(cfg->max_previews, KN_PREVIEW_MAX_MEMORY);

    if ((size_t)snprintf(path, sizeof path, "%s/videos", cfg->data) >= sizeof path) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "--data path is too long");
        goto out;
    }
    if (mkdir_p(path) != 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    snprintf(path, sizeof path, "%s/kinora.db", cfg->data);
    if ((rc = kn_store_open(path, &store, err)) != KN_OK) goto out;
    int requeued = 0, failed = 0;
    if ((rc = kn_store_recover(store, KN_JOB_MAX_ATTEMPTS, &requeued, &failed, err)) != KN_OK) goto out;
    if (requeued || failed)
        kn_warn("recovery: %d interrupted job(s) queued again, %d failed after %d attempts", requeued, failed,
                KN_JOB_MAX_ATTEMPTS);
    kn_encoder_init_logging();
    snprintf(path, sizeof path, "%s/videos", cfg->data);
    if ((rc = kn_sched_start(store, pool, path, slots, &sched, err)) != KN_OK) goto out;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    hc.self_exe = exe;
    if ((rc = kn_http_start(&hc, store, sched, pool, &http, err)) != KN_OK) goto out;
    int token = cfg->token && *cfg->token;
    kn_info("listening on http://%s:%d (data %s, %d render workers, %d ring slots, %d previews at once, %s)",
            hc.bind, kn_http_port(http), cfg->data, cfg->workers, slots, kn_preview_limit(),
            token ? "token required" : loopback ? "no token: loopback only" : "no token: open to anyone");
    if (!token && loopback && !(cfg->bind && *cfg->bind))
        kn_info("no token is configured, so only this machine can connect; to serve others set KINORA_TOKEN "
                "or --token-file (or --bind ADDR --allow-unauthenticated)");
    else if (!token && !loopback)
        kn_warn("--allow-unauthenticated: anyone who can reach %s can submit, read and delete jobs", hc.bind);
    if (cfg->port_file && (rc = write_port_file(cfg->port_file, kn_http_port(http), err)) != KN_OK) goto out;
    int sig = 0;
    sigwait(&set, &sig);
    kn_info("signal %d: shutting down", sig);
    rc = KN_OK;
out:
    kn_http_stop(http);
    kn_sched_stop(sched);
    kn_store_close(store);
    kn_pool_stop(pool);
    return rc;
}
