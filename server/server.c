/*
 * server/server.c - the daemon's startup and shutdown (see server.h).
 */
#include "server/server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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
    kn_http_config hc = {.port = cfg->port, .bind = cfg->bind, .max_body = cfg->max_body,
                         .max_queued = cfg->max_queued, .token = cfg->token};
    int slots = cfg->ring_slots ? cfg->ring_slots : 2 * cfg->workers + 2;
    kn_pool *pool = NULL;
    kn_store *store = NULL;
    kn_sched *sched = NULL;
    kn_http *http = NULL;
    int rc;
    char path[4200], exe[4096];

    kn_log_set_tag("server");
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
    kn_info("listening on http://%s:%d (data %s, %d render workers, %d ring slots, %d previews at once%s)",
            cfg->bind ? cfg->bind : "0.0.0.0", kn_http_port(http), cfg->data, cfg->workers, slots,
            kn_preview_limit(),
            cfg->token && *cfg->token ? ", token required" : "");
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
