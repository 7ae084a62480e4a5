/*
 * api/http.c - see http.h.
 *
 * Threads. MHD runs one thread per connection, on poll() (so no
 * FD_SETSIZE cap on descriptor numbers), because handlers block: a preview
 * waits up to 60 s for its child, a POST parses up to --max-body bytes of
 * document, an event stream sleeps on the scheduler's generation between
 * events. On a small pool of epoll threads each of those would stall every
 * other connection of its thread; here it stalls only its own. The cost is
 * one thread per open connection, which --max-connections bounds (with the
 * descriptors), and --max-connections-per-ip keeps one address from
 * taking them all; MHD closes a connection over either right after accept
 * (at the total cap it also stops polling the listening socket, so some
 * wait in the listen queue instead).
 *
 * Slow clients. MHD's own timeout (--idle-timeout) restarts on every byte,
 * so a client trickling its headers one byte at a time would hold its
 * connection, and its thread, for ever. libmicrohttpd 0.9.75 has no
 * deadline of its own for the request head, so this file keeps one: every
 * connection is put on a list, in deadline order, when MHD accepts it
 * (MHD_OPTION_NOTIFY_CONNECTION) and again when a request on it has been
 * answered (keep-alive: the next head has as long as the first); it leaves
 * the list when its request head is complete (the first call of
 * on_request) or it closes. A watch thread sleeps until the earliest
 * deadline and shuts down the socket of each connection still on the list
 * then, after writing a 408 to one that never completed a request (a
 * kept-alive connection that stays quiet is closed without a word, as an
 * idle one would be). shutdown() makes MHD's own thread see the end of the
 * stream and close the connection as usual; the descriptor stays valid
 * throughout, since MHD reports NOTIFY_CLOSED, which takes the connection
 * off the list under the same mutex, before it closes it. A request body
 * and the answer are under the idle timeout alone.
 *
 * Event streams never meet the idle timeout while their job runs: a
 * stream with nothing to say writes a keep-alive comment every
 * KN_HTTP_SSE_KEEPALIVE_S, and the idle timeout is longer than that.
 *
 * A request's body is collected into a buffer capped at max_body (a larger
 * body is answered 413 without being stored). Routing is by method and
 * path; every answer goes through one of reply_json / reply_error /
 * reply_empty so headers are uniform, and every answer made here carries
 * X-Content-Type-Options: nosniff.
 *
 * Metrics counters are process-wide atomics updated on every answer.
 */
#include "api/http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/resource.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/version.h"
#include "common/require.h"
#include "doc/doc.h"
#include "pipeline/preview.h"


/* One TCP connection, from MHD's NOTIFY_CONNECTION STARTED to CLOSED
 * (its socket context). The list fields and `served` belong to h->mu. */
typedef struct conn {
    struct conn *prev, *next;  /* in h->waiting while listed */
    int listed;                /* waiting for a request head */
    int served;                /* a request was answered on it */
    int fd;                    /* MHD's; valid until NOTIFY_CLOSED */
    double deadline;           /* kn_mono() seconds */
} conn;

struct kn_http {
    struct MHD_Daemon *d;
    kn_store *store;
    kn_sched *sched;
    kn_pool *pool;
    size_t max_body;
    long max_queued;
    char *token;               /* NULL: no auth */
    size_t token_len;
    char self_exe[4096];
    int port;
    int stopping;              /* set before MHD stops: ends event streams */
    long http_by_code[600];    /* answers by status code, for /metrics */

    /* Connections waiting for a request head, earliest deadline first
     * (every deadline is "now + head_timeout" when set, so appending keeps
     * the order). */
    pthread_mutex_t mu;
    pthread_cond_t wake;       /* on CLOCK_MONOTONIC: the watch thread */
    pthread_t watch;
    int mu_ready, wake_ready, watch_started;
    int watch_stop;            /* under mu */
    conn *waiting, *waiting_tail;
    double head_timeout;       /* seconds */
    long open_conns;           /* under mu */
    long head_timeouts;        /* atomics, for /metrics */
    long refused;
    double refused_warned_at;  /* under mu: the last warning about refusals */
    long refused_warned;       /* refusals that warning covered */
    char timeout_answer[512];  /* the 408 the watch thread writes */
    size_t timeout_answer_len;
};

typedef struct req {
    char *body;
    size_t len, cap;
    int too_big;
} req;

/* ---- answers --------------------------------------------------------- */

static void count_status(kn_http *h, unsigned status)
{
    if (status < 600) __atomic_add_fetch(&h->http_by_code[status], 1, __ATOMIC_RELAXED);
}

/* Adds a header; a refusal (MHD is out of memory, or the value is not a
 * valid header) is remembered in *ok, which starts at 1. */
static void add_header(struct MHD_Response *r, const char *name, const char *value, int *ok)
{
    if (*ok && MHD_add_response_header(r, name, value) != MHD_YES) {
        kn_warn("http: could not add the header %s", name);
        *ok = 0;
    }
}

/* Queues r (with the headers every answer carries) and drops our
 * reference to it. When a header could not be added or MHD refuses the
 * answer, MHD_NO: MHD then closes the connection, the one answer this
 * server can still give. */
static enum MHD_Result queue(kn_http *h, struct MHD_Connection *c, unsigned status, struct MHD_Response *r,
                             int ok)
{
    add_header(r, "X-Content-Type-Options", "nosniff", &ok);
    enum MHD_Result ret = ok ? MHD_queue_response(c, status, r) : MHD_NO;
    MHD_destroy_response(r);
    if (ret == MHD_YES) count_status(h, status);
    return ret;
}

static enum MHD_Result send_buf(kn_http *h, struct MHD_Connection *c, unsigned status,
                                char *body, size_t len, const char *ctype, const char *location)
{
    /* For a 405, `location` carries the Allow header's value instead, and
     * for a 416 the Content-Range one. */
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    int ok = 1;
    if (ctype) add_header(r, "Content-Type", ctype, &ok);
    if (location)
        add_header(r, status == 405 ? "Allow" : status == 416 ? "Content-Range" : "Location", location, &ok);
    if (status == 429 || status == 503) add_header(r, "Retry-After", "5", &ok);
    if (status == 401) add_header(r, "WWW-Authenticate", "Bearer", &ok);
    add_header(r, "Cache-Control", "no-store", &ok);
    return queue(h, c, status, r, ok);
}

static enum MHD_Result reply_json(kn_http *h, struct MHD_Connection *c, unsigned status, char *json,
                                  const char *location)
{
    if (!json) {
        const char *oom = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        return send_buf(h, c, 500, strdup(oom), strlen(oom), "application/json", NULL);
    }
    return send_buf(h, c, status, json, strlen(json), "application/json", location);
}

/* An error answer for a KN_E* code: its HTTP status and body code come from
 * the one table in common/err.c. */
static enum MHD_Result reply_error(kn_http *h, struct MHD_Connection *c, int code,
                                   const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum MHD_Result reply_error(kn_http *h, struct MHD_Connection *c, int code,
                                   const char *path, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reply_json(h, c, (unsigned)kn_err_http_status(code),
                      kn_resource_error(kn_err_http_name(code), msg, path), NULL);
}

static enum MHD_Result reply_405(kn_http *h, struct MHD_Connection *c, const char *allow)
{
    char msg[128];
    snprintf(msg, sizeof msg, "method not allowed here; use %s", allow);
    /* 405 carries not_found's code (docs/api.md#errors): the resource has no
     * such operation. */
    return reply_json(h, c, 405, kn_resource_error(kn_err_name(KN_ENOTFOUND), msg, NULL), allow);
}

/* Answers with a failure from a lower layer. A server-side failure's JSON
 * pointer, if any, is not the client's business. */
static enum MHD_Result reply_kn_err(kn_http *h, struct MHD_Connection *c, const kn_err *e)
{
    const char *path = kn_err_http_status(e->code) < 500 ? e->path : NULL;
    return reply_error(h, c, e->code, path, "%s", e->msg);
}

/* ---- ids and auth ---------------------------------------------------- */

int kn_http_new_id(char out[KN_JOB_ID_MAX], kn_err *err)
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    KN_REQUIRE(out);
    unsigned char rnd[22];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return kn_err_set(err, KN_EINTERNAL, NULL, "getrandom failed: %s", strerror(errno));
        got += (size_t)n;
    }
    /* 22 symbols of 62 (rejection-free: 248/62 bias is negligible at 131
     * bits of entropy, well above the 96 the API promises). */
    out[0] = 'j';
    out[1] = '_';
    for (int i = 0; i < 22; i++) out[2 + i] = b62[rnd[i] % 62];
    out[24] = '\0';
    return KN_OK;
}

/* The bearer token, compared in time that depends on the length of what
 * the client sent, never on where it first differs from the token or on
 * the token's length: every byte sent is compared with a byte of the
 * token and the differences are OR-ed together. */
static int token_ok(kn_http *h, struct MHD_Connection *c)
{
    if (!h->token) return 1;
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!a || strncasecmp(a, "Bearer ", 7) != 0) return 0;   /* schemes are case-insensitive */
    a += 7;
    size_t n = h->token_len, m = strlen(a);
    volatile unsigned char diff = n != m;
    for (size_t i = 0; i < m; i++) diff |= (unsigned char)a[i] ^ (unsigned char)h->token[i % n];
    return diff == 0;
}

/* ---- /v1/jobs -------------------------------------------------------- */

static enum MHD_Result post_job(kn_http *h, struct MHD_Connection *c, req *q)
{
    kn_err err;
    kn_err_clear(&err);
    kn_doc *doc = NULL;
    kn_job_rec rec = {0};
    enum MHD_Result ret;
    const char *body = q->body ? q->body : "";
    double t0 = kn_mono();

    /* A pool between two supervisors takes the job once the next is up;
     * one that cannot start another would leave it queued until the
     * server restarts: refuse it instead, so the client retries (against
     * this server once restarted, or another). */
    if (!kn_pool_alive(h->pool) && !kn_pool_can_heal(h->pool)) {
        ret = reply_error(h, c, KN_EUNAVAILABLE, NULL, "no render pool is running, and none can start until the "
                          "server restarts; retry later");
        goto out;
    }
    if (kn_doc_parse(body, q->len, NULL, &doc, &err) != KN_OK) {
        ret = reply_kn_err(h, c, &err);
        goto out;
    }
    if (kn_http_new_id(rec.id, &err) != KN_OK) {
        ret = reply_kn_err(h, c, &err);
        goto out;
    }
    rec.doc = strndup(body, q->len);
    rec.metadata = doc->metadata_json ? strdup(doc->metadata_json) : NULL;
    rec.frames_total = doc->n_frames;
    rec.created_at = kn_now();
    rec.eta_seconds = -1;
    if (!rec.doc) {
        ret = reply_error(h, c, KN_EINTERNAL, NULL, "out of memory storing the job");
        goto out;
    }
    if (memchr(body, '\0', q->len)) {
        ret = reply_error(h, c, KN_EJSON, NULL, "invalid JSON: the body contains a NUL byte");
        goto out;
    }
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (key && (strlen(key) == 0 || strlen(key) > KN_HTTP_IDEM_KEY_MAX)) {
        ret = reply_error(h, c, KN_EINVAL, NULL, "Idempotency-Key must be 1..%d characters",
                          KN_HTTP_IDEM_KEY_MAX);
        goto out;
    }
    int existing = 0;
    if (kn_store_insert(h->store, &rec, key, h->max_queued, &existing, &err) != KN_OK) {
        ret = reply_kn_err(h, c, &err);
        goto out;
    }
    kn_debug("POST %zu bytes: validated and stored in %.3f s", q->len, kn_mono() - t0);
    char loc[96];
    snprintf(loc, sizeof loc, "/v1/jobs/%s", rec.id);
    if (!existing) {
        kn_info("job %s: queued (%ld frames)", rec.id, rec.frames_total);
        kn_sched_offer(h->sched, rec.id, doc);   /* spares the scheduler a parse */
        doc = NULL;
        kn_sched_wake(h->sched);
    }
    ret = reply_json(h, c, existing ? 200 : 201, kn_resource_job(&rec), loc);
out:
    kn_job_rec_clear(&rec);
    kn_doc_destroy(doc);
    return ret;
}

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n < 3 || n >= KN_JOB_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'))
            return 0;
    }
    return 1;
}

static enum MHD_Result get_job(kn_http *h, struct MHD_Connection *c, const char *id)
{
    kn_job_rec rec = {0};
    kn_err err;
    if (!valid_id(id)) return reply_error(h, c, KN_ENOTFOUND, NULL, "no job \"%.64s\"", id);
    if (kn_store_get(h->store, id, &rec, &err) != KN_OK) return reply_kn_err(h, c, &err);
    enum MHD_Result ret = reply_json(h, c, 200, kn_resource_job(&rec), NULL);
    kn_job_rec_clear(&rec);
    return ret;
}

static enum MHD_Result list_jobs(kn_http *h, struct MHD_Connection *c)
{
    const char *status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
    const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    kn_job_status want, *filter = NULL;
    if (status && *status) {
        if (!kn_job_status_parse(status, &want))
            return reply_error(h, c, KN_EINVAL, NULL, "status must be %s", kn_job_status_choices());
        filter = &want;
    }
    long limit = KN_STORE_LIST_DEFAULT;
    if (lim && *lim) {
        char *end;
        limit = strtol(lim, &end, 10);
        if (*end || limit < 1 || limit > KN_STORE_LIST_MAX)
            return reply_error(h, c, KN_EINVAL, NULL, "limit must be an integer 1..%d",
                               KN_STORE_LIST_MAX);
    }
    if (after && !*after) after = NULL;
    if (after && !valid_id(after)) return reply_error(h, c, KN_EINVAL, NULL, "after: unknown cursor");
    kn_job_rec *recs = NULL;
    size_t n = 0;
    char next[KN_JOB_ID_MAX] = "";
    kn_err err;
    /* The byte budget bounds what the store reads as well as the answer:
     * the store stops at the same budget counted on metadata and error
     * text alone, which the answer holds verbatim or longer. */
    if (kn_store_list(h->store, filter, (int)limit, after, KN_HTTP_LIST_MAX_BYTES, &recs, &n, next, &err) !=
        KN_OK)
        return reply_kn_err(h, c, &err);
    enum MHD_Result ret =
        reply_json(h, c, 200, kn_resource_job_list(recs, n, next, KN_HTTP_LIST_MAX_BYTES, NULL), NULL);
    for (size_t i = 0; i < n; i++) kn_job_rec_clear(&recs[i]);
    free(recs);
    return ret;
}

static enum MHD_Result delete_job(kn_http *h, struct MHD_Connection *c, const char *id)
{
    kn_job_rec rec = {0};
    kn_err err;
    enum MHD_Result ret;
    if (!valid_id(id)) return reply_error(h, c, KN_ENOTFOUND, NULL, "no job \"%.64s\"", id);
    if (kn_store_get(h->store, id, &rec, &err) != KN_OK) return reply_kn_err(h, c, &err);
    if (!kn_job_status_is_final(rec.status)) {
        if (kn_store_finish(h->store, id, KN_STATUS_CANCELED, NULL, NULL, NULL, &err) == KN_OK) {
            kn_sched_cancel(h->sched, id);
            kn_sched_notify(h->sched);
            kn_info("job %s: canceled by request", id);
            kn_job_rec_clear(&rec);
            if (kn_store_get(h->store, id, &rec, &err) != KN_OK) return reply_kn_err(h, c, &err);
            ret = reply_json(h, c, 200, kn_resource_job(&rec), NULL);
            goto out;
        }
        if (err.code != KN_ECONFLICT) {
            ret = reply_kn_err(h, c, &err);
            goto out;
        }
        /* It ended meanwhile: read it again (it may have a video now) and
         * delete it. */
        kn_job_rec_clear(&rec);
        if (kn_store_get(h->store, id, &rec, &err) != KN_OK) {
            ret = reply_kn_err(h, c, &err);
            goto out;
        }
    }
    if (rec.has_output) {
        char path[4200];
        kn_sched_video_path(h->sched, id, rec.output.format, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT)
            kn_warn("job %s: cannot remove %s: %s", id, path, strerror(errno));
    }
    if (kn_store_delete(h->store, id, &err) != KN_OK) {
        ret = reply_kn_err(h, c, &err);
        goto out;
    }
    kn_info("job %s: deleted", id);
    ret = send_buf(h, c, 204, NULL, 0, NULL, NULL);
out:
    kn_job_rec_clear(&rec);
    return ret;
}

/* Parses a single "bytes=" range against size. Returns 1 with [*a, *b]
 * inclusive, 0 when the header is absent or not a single byte range (serve
 * everything), -1 when unsatisfiable. */
static int parse_range(const char *hdr, long long size, long long *a, long long *b)
{
    if (!hdr || strncmp(hdr, "bytes=", 6) != 0 || strchr(hdr, ',')) return 0;
    const char *p = hdr + 6;
    char *end;
    if (*p == '-') {
        long long n = strtoll(p + 1, &end, 10);
        if (*end || end == p + 1 || n < 0) return 0;
        if (n == 0 || size == 0) return -1;   /* the last 0 bytes: nothing to send */
        *a = n >= size ? 0 : size - n;
        *b = size - 1;
        return 1;
    }
    long long s = strtoll(p, &end, 10);
    if (end == p || *end != '-' || s < 0) return 0;
    p = end + 1;
    long long e = size - 1;
    if (*p) {
        e = strtoll(p, &end, 10);
        if (*end || e < s) return 0;
        if (e > size - 1) e = size - 1;
    }
    if (s >= size) return -1;
    *a = s;
    *b = e;
    return 1;
}

static enum MHD_Result get_video(kn_http *h, struct MHD_Connection *c, const char *id)
{
    kn_job_rec rec = {0};
    kn_err err;
    if (!valid_id(id)) return reply_error(h, c, KN_ENOTFOUND, NULL, "no job \"%.64s\"", id);
    if (kn_store_get(h->store, id, &rec, &err) != KN_OK) return reply_kn_err(h, c, &err);
    if (rec.status != KN_STATUS_SUCCEEDED) {
        enum MHD_Result r = reply_error(h, c, KN_ENOTREADY, NULL,
                                        "job %s is %s; the video exists once it has succeeded", id,
                                        kn_job_status_name(rec.status));
        kn_job_rec_clear(&rec);
        return r;
    }
    /* A job that succeeded before its output was recorded (a damaged row
     * migrated without it) has no file this server could name. */
    kn_format format = rec.output.format;
    int has_output = rec.has_output;
    kn_job_rec_clear(&rec);
    if (!has_output)
        return reply_error(h, c, KN_EINTERNAL, NULL, "the video of job %s is missing on disk", id);
    char path[4200];
    kn_sched_video_path(h->sched, id, format, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        return reply_error(h, c, KN_EINTERNAL, NULL, "the video of job %s is missing on disk", id);
    }
    char etag[96];
    snprintf(etag, sizeof etag, "\"%s-%llx-%llx\"", id, (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime);
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0)) {
        close(fd);
        /* libmicrohttpd 0.9.75 adds "Content-Length: 0" to a 304 whatever
         * we do (a callback response makes it chunked, which is worse). */
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        int ok = 1;
        add_header(r, "ETag", etag, &ok);
        return queue(h, c, 304, r, ok);
    }
    long long size = (long long)st.st_size, a = 0, b = size - 1;
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    const char *ifr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Range");
    int pr = (ifr && strcmp(ifr, etag) != 0) ? 0 : parse_range(range, size, &a, &b);
    if (pr < 0) {
        close(fd);
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%lld", size);
        /* 416 carries invalid_job's code (docs/api.md#errors). */
        return reply_json(h, c, 416, kn_resource_error(kn_err_name(KN_EINVAL), "range not satisfiable", NULL),
                          cr);
    }
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64((uint64_t)(b - a + 1), fd, (uint64_t)a);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    int ok = 1;
    add_header(r, "Content-Type", kn_format_mime(format), &ok);
    add_header(r, "ETag", etag, &ok);
    add_header(r, "Accept-Ranges", "bytes", &ok);
    unsigned status = 200;
    if (pr == 1) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", a, b, size);
        add_header(r, "Content-Range", cr, &ok);
        status = 206;
    }
    return queue(h, c, status, r, ok);
}

/* ---- /v1/jobs/{id}/events ---------------------------------------------- */

/* One Server-Sent Events stream. MHD calls events_read on the connection's
 * own thread (thread-per-connection), so it may block: it waits on the
 * scheduler's event generation, re-reads the job when it moves, and queues
 * a `progress` event when the counters changed and a `status` event (the
 * whole job resource, on one line) when the status changed. MHD asks for
 * at most one block at a time, and a status event can be far larger (its
 * metadata is up to a request body), so events are built whole into a
 * pending buffer that later calls drain; it is bounded by the largest
 * resource the server can build (KN_HTTP_EVENT_MAX_BYTES). The stream ends
 * once the status event of a final status is out. A comment line every
 * KN_HTTP_SSE_KEEPALIVE_S keeps proxies, and MHD's idle timeout, from
 * closing a quiet stream. */
typedef struct sse {
    kn_http *h;
    char id[KN_JOB_ID_MAX];
    unsigned long gen;
    kn_job_status status;
    int have_status;           /* a status event was queued: status holds it */
    long rendered, encoded;
    int ended;                 /* the final event is queued: end once it is out */
    char *pend;                /* events built, not yet handed to MHD: */
    size_t plen, poff, pcap;   /* [poff, plen) is still to go */
} sse;

/* Buffers that grew past this for a large event are given back once
 * drained, so a long quiet stream does not keep one. */
#define SSE_KEEP_BYTES ((size_t)64 << 10)

static void sse_free(void *cls)
{
    sse *e = cls;
    if (e) free(e->pend);
    free(e);
}

/* Appends to the pending events; -1 when out of memory or past the bound. */
static int sse_put(sse *e, const char *t, size_t n)
{
    if (n > KN_HTTP_EVENT_MAX_BYTES - e->plen) return -1;
    if (e->plen + n > e->pcap) {
        size_t cap = e->pcap ? e->pcap : 4096;
        while (cap < e->plen + n) cap *= 2;
        char *p = realloc(e->pend, cap);
        if (!p) return -1;
        e->pend = p;
        e->pcap = cap;
    }
    memcpy(e->pend + e->plen, t, n);
    e->plen += n;
    return 0;
}

static ssize_t sse_drain(sse *e, char *buf, size_t max)
{
    size_t n = e->plen - e->poff;
    if (n > max) n = max;
    memcpy(buf, e->pend + e->poff, n);
    e->poff += n;
    if (e->poff == e->plen) {
        e->poff = e->plen = 0;
        if (e->pcap > SSE_KEEP_BYTES) {
            free(e->pend);
            e->pend = NULL;
            e->pcap = 0;
        }
    }
    return (ssize_t)n;
}

/* Queues the events the record calls for; -1 when the status event could
 * not be built (out of memory, or a resource past the bound), which ends
 * the stream: the client sees it end without a final status and can read
 * the job instead. */
static int sse_events(sse *e, const kn_job_rec *rec)
{
    if (rec->frames_rendered != e->rendered || rec->frames_encoded != e->encoded) {
        e->rendered = rec->frames_rendered;
        e->encoded = rec->frames_encoded;
        long total = rec->frames_total;
        char ev[512], eta[32];
        if (rec->eta_seconds >= 0) snprintf(eta, sizeof eta, "%.1f", rec->eta_seconds);
        else snprintf(eta, sizeof eta, "null");
        int k = snprintf(ev, sizeof ev,
                         "event: progress\ndata: {\"frames_total\":%ld,\"frames_rendered\":%ld,"
                         "\"frames_encoded\":%ld,\"fraction\":%.4f,\"fps\":%.1f,\"eta_seconds\":%s}\n\n",
                         total, rec->frames_rendered, rec->frames_encoded,
                         total > 0 ? (double)rec->frames_encoded / (double)total : 0.0, rec->render_fps, eta);
        if (k < 0 || (size_t)k >= sizeof ev || sse_put(e, ev, (size_t)k) != 0) return -1;
    }
    if (!e->have_status || rec->status != e->status) {
        char *job = kn_resource_job_line(rec);
        static const char head[] = "event: status\ndata: ";
        int rc = job && sse_put(e, head, sizeof head - 1) == 0 && sse_put(e, job, strlen(job)) == 0 &&
                 sse_put(e, "\n\n", 2) == 0 ? 0 : -1;
        free(job);
        if (rc != 0) {
            kn_warn("job %s: its status event could not be built (out of memory?); ending its event stream",
                    e->id);
            return -1;
        }
        e->status = rec->status;
        e->have_status = 1;
        if (kn_job_status_is_final(rec->status)) e->ended = 1;
    }
    return 0;
}

/* Reads the job and queues what it calls for; 1 when the stream must end
 * (the job is gone, or an event could not be built). */
static int sse_poll(sse *e)
{
    /* The generation moves for every job's progress, and a full read of a
     * record walks all of its metadata (up to a request body). Only a
     * rendering job's progress moves, so a job last seen in another status
     * has nothing new while its status alone, cheap to read, stays. */
    kn_job_status now;
    if (e->have_status && e->status != KN_STATUS_RENDERING &&
        kn_store_get_status(e->h->store, e->id, &now, NULL) == KN_OK && now == e->status)
        return 0;
    kn_job_rec rec = {0};
    if (kn_store_get(e->h->store, e->id, &rec, NULL) != KN_OK) return 1;   /* deleted meanwhile */
    int rc = sse_events(e, &rec);
    kn_job_rec_clear(&rec);
    return rc != 0;
}

static ssize_t events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse *e = cls;
    if (e->poff < e->plen) return sse_drain(e, buf, max);
    if (e->ended || __atomic_load_n(&e->h->stopping, __ATOMIC_ACQUIRE)) return MHD_CONTENT_READER_END_OF_STREAM;
    double since = kn_mono();
    for (;;) {
        if (sse_poll(e)) {
            e->ended = 1;
            e->poff = e->plen = 0;
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (e->plen > 0) return sse_drain(e, buf, max);
        double left = KN_HTTP_SSE_KEEPALIVE_S - (kn_mono() - since);
        if (left <= 0) return snprintf(buf, max, ": keep-alive\n\n");
        e->gen = kn_sched_wait(e->h->sched, e->gen, (int)(left * 1000) + 1);
        if (__atomic_load_n(&e->h->stopping, __ATOMIC_ACQUIRE)) return MHD_CONTENT_READER_END_OF_STREAM;
    }
}

static enum MHD_Result job_events(kn_http *h, struct MHD_Connection *c, const char *id,
                                  const char *method)
{
    kn_job_rec rec = {0};
    kn_err err;
    if (!valid_id(id)) return reply_error(h, c, KN_ENOTFOUND, NULL, "no job \"%.64s\"", id);
    if (kn_store_get(h->store, id, &rec, &err) != KN_OK) return reply_kn_err(h, c, &err);
    kn_job_rec_clear(&rec);
    /* HEAD gets the headers alone: a streamed (chunked) response to HEAD
     * makes libmicrohttpd write the chunked terminator after them, five
     * stray bytes a client reusing the connection reads as garbage. */
    struct MHD_Response *r;
    if (!strcmp(method, "HEAD")) {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        sse *e = calloc(1, sizeof *e);
        if (!e) return reply_error(h, c, KN_EINTERNAL, NULL, "out of memory");
        e->h = h;
        e->rendered = e->encoded = -1;
        e->gen = kn_sched_generation(h->sched);
        snprintf(e->id, sizeof e->id, "%s", id);
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, events_read, e, sse_free);
        if (!r) sse_free(e);   /* else MHD frees it with the response */
    }
    if (!r) return MHD_NO;
    int ok = 1;
    add_header(r, "Content-Type", "text/event-stream", &ok);
    add_header(r, "Cache-Control", "no-cache", &ok);
    add_header(r, "X-Accel-Buffering", "no", &ok);
    return queue(h, c, 200, r, ok);
}

/* ---- preview ----------------------------------------------------------- */

/* Renders one frame in a child process (`kinora frame - --frame N -o -`), so
 * nothing is drawn inside the server. The document was validated here
 * first, so a failure of the child is an internal error, unless there were
 * too many previews at once or the frame needed more memory than a preview
 * may use. */
static enum MHD_Result preview(kn_http *h, struct MHD_Connection *c, req *q)
{
    kn_err err;
    kn_err_clear(&err);
    kn_doc *doc = NULL;
    enum MHD_Result ret;
    uint8_t *png = NULL;
    size_t len = 0;

    if (kn_doc_parse(q->body ? q->body : "", q->len, NULL, &doc, &err) != KN_OK) {
        ret = reply_kn_err(h, c, &err);
        goto out;
    }
    const char *fs = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "frame");
    const char *ts = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "t");
    long frame = 0;
    char *end;
    if (fs && *fs) {
        frame = strtol(fs, &end, 10);
        if (*end || frame < 0 || frame >= doc->n_frames) {
            ret = reply_error(h, c, KN_EINVAL, NULL, "frame must be an integer 0..%ld", doc->n_frames - 1);
            goto out;
        }
    } else if (ts && *ts) {
        double t = strtod(ts, &end);
        if (*end || !(t >= 0) || t > doc->duration) {
            ret = reply_error(h, c, KN_EINVAL, NULL, "t must be a number of seconds 0..%g", doc->duration);
            goto out;
        }
        /* The frame showing time t: the last frame whose time is <= t. */
        frame = (long)(t * doc->fps_num / doc->fps_den + 1e-9);
        if (frame >= doc->n_frames) frame = doc->n_frames - 1;
    }
    if (kn_preview_render(h->self_exe, q->body ? q->body : "", q->len, frame, KN_PREVIEW_TIMEOUT_MS, &png, &len,
                          &err) != KN_OK) {
        /* The child's code: 429 over the preview limit, 413 over its memory
         * limit, 500 when it failed (pipeline/preview.h). */
        ret = reply_kn_err(h, c, &err);
        goto out;
    }
    ret = send_buf(h, c, 200, (char *)png, len, "image/png", NULL);
    png = NULL;
out:
    free(png);
    kn_doc_destroy(doc);
    return ret;
}

/* ---- service endpoints ---------------------------------------------- */

static enum MHD_Result metrics(kn_http *h, struct MHD_Connection *c)
{
    size_t cap = 8192, len = 0;
    char *b = malloc(cap);
    if (!b) return MHD_NO;
#define OUT(...) do { int k_ = snprintf(b + len, cap - len, __VA_ARGS__); if (k_ > 0 && (size_t)k_ < cap - len) len += (size_t)k_; } while (0)
    OUT("# HELP kinora_build_info The running build: its version label; always 1.\n"
        "# TYPE kinora_build_info gauge\nkinora_build_info{version=\"%s\"} 1\n", KN_VERSION);
    OUT("# HELP kinora_jobs Jobs by status.\n# TYPE kinora_jobs gauge\n");
    for (kn_job_status js = 0; js < KN_STATUS_COUNT; js++) {
        long n = 0;
        kn_store_count(h->store, &js, &n, NULL);
        OUT("kinora_jobs{status=\"%s\"} %ld\n", kn_job_status_name(js), n);
    }
    kn_sched_stats st;
    kn_sched_get_stats(h->sched, &st);
    long queued = 0;
    kn_job_status q = KN_STATUS_QUEUED;
    kn_store_count(h->store, &q, &queued, NULL);
    OUT("# TYPE kinora_frames_rendered_total counter\nkinora_frames_rendered_total %ld\n", st.frames_rendered);
    OUT("# TYPE kinora_frames_encoded_total counter\nkinora_frames_encoded_total %ld\n", st.frames_encoded);
    OUT("# TYPE kinora_render_seconds_total counter\nkinora_render_seconds_total %.3f\n", st.render_seconds);
    OUT("# TYPE kinora_encode_seconds_total counter\nkinora_encode_seconds_total %.3f\n", st.encode_seconds);
    OUT("# TYPE kinora_queue_length gauge\nkinora_queue_length %ld\n", queued);
    OUT("# TYPE kinora_worker_restarts_total counter\nkinora_worker_restarts_total %ld\n", kn_pool_restarts(h->pool));
    pthread_mutex_lock(&h->mu);
    long open = h->open_conns;
    pthread_mutex_unlock(&h->mu);
    OUT("# HELP kinora_http_connections Open HTTP connections.\n"
        "# TYPE kinora_http_connections gauge\nkinora_http_connections %ld\n", open);
    OUT("# HELP kinora_http_head_timeouts_total Connections closed for not sending a complete request head in time.\n"
        "# TYPE kinora_http_head_timeouts_total counter\nkinora_http_head_timeouts_total %ld\n",
        __atomic_load_n(&h->head_timeouts, __ATOMIC_RELAXED));
    OUT("# HELP kinora_http_connections_refused_total Connections closed at accept over --max-connections or --max-connections-per-ip.\n"
        "# TYPE kinora_http_connections_refused_total counter\nkinora_http_connections_refused_total %ld\n",
        __atomic_load_n(&h->refused, __ATOMIC_RELAXED));
    OUT("# TYPE kinora_http_requests_total counter\n");
    for (int k = 100; k < 600; k++) {
        long v = __atomic_load_n(&h->http_by_code[k], __ATOMIC_RELAXED);
        if (v) OUT("kinora_http_requests_total{code=\"%d\"} %ld\n", k, v);
    }
#undef OUT
    return send_buf(h, c, 200, b, len, "text/plain; version=0.0.4", NULL);
}

/* ---- routing --------------------------------------------------------- */

static enum MHD_Result route(kn_http *h, struct MHD_Connection *c, const char *url,
                             const char *method, req *q)
{
    int is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!strcmp(url, "/healthz")) {
        if (!is_get) return reply_405(h, c, "GET, HEAD");
        if (!kn_pool_alive(h->pool))
            return reply_json(h, c, 503, strdup("{\"status\":\"render pool down\",\"version\":\"" KN_VERSION "\"}"), NULL);
        return reply_json(h, c, 200, strdup("{\"status\":\"ok\",\"version\":\"" KN_VERSION "\"}"), NULL);
    }
    if (!strcmp(url, "/metrics")) return is_get ? metrics(h, c) : reply_405(h, c, "GET, HEAD");
    if (strncmp(url, "/v1/", 4) != 0)
        return reply_error(h, c, KN_ENOTFOUND, NULL, "no such endpoint: %.200s", url);
    if (!token_ok(h, c))
        return reply_error(h, c, KN_EUNAUTHORIZED, NULL, "missing or wrong bearer token (Authorization: Bearer <token>)");
    if (q->too_big)
        return reply_error(h, c, KN_ETOOBIG, NULL, "the body is over the limit of %zu bytes", h->max_body);

    if (!strcmp(url, "/v1/jobs")) {
        if (!strcmp(method, "POST")) return post_job(h, c, q);
        if (is_get) return list_jobs(h, c);
        return reply_405(h, c, "GET, HEAD, POST");
    }
    if (!strcmp(url, "/v1/preview")) {
        if (!strcmp(method, "POST")) return preview(h, c, q);
        return reply_405(h, c, "POST");
    }
    if (!strncmp(url, "/v1/jobs/", 9)) {
        char id[64];
        const char *rest = url + 9;
        const char *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
        if (n == 0 || n >= sizeof id) return reply_error(h, c, KN_ENOTFOUND, NULL, "no such job");
        memcpy(id, rest, n);
        id[n] = '\0';
        if (!slash) {
            if (is_get) return get_job(h, c, id);
            if (!strcmp(method, "DELETE")) return delete_job(h, c, id);
            return reply_405(h, c, "GET, HEAD, DELETE");
        }
        if (!strcmp(slash, "/video"))
            return is_get ? get_video(h, c, id) : reply_405(h, c, "GET, HEAD");
        if (!strcmp(slash, "/events"))
            return is_get ? job_events(h, c, id, method) : reply_405(h, c, "GET, HEAD");
    }
    return reply_error(h, c, KN_ENOTFOUND, NULL, "no such endpoint: %s %.200s", method, url);
}

/* Counts query arguments whose key or value holds a NUL (%00): C strings
 * would silently cut them ("status=succeeded%00x" read as "succeeded"). */
static enum MHD_Result count_nul_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    if ((key && strlen(key) != key_size) || (value && strlen(value) != value_size)) ++*(int *)cls;
    return MHD_YES;
}

/* ---- connections -------------------------------------------------- */

static conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Takes k off the waiting list if it is on it. Under h->mu. */
static void conn_unlist(kn_http *h, conn *k)
{
    if (!k->listed) return;
    if (k->prev) k->prev->next = k->next;
    else h->waiting = k->next;
    if (k->next) k->next->prev = k->prev;
    else h->waiting_tail = k->prev;
    k->prev = k->next = NULL;
    k->listed = 0;
}

/* Puts k at the end of the waiting list with a deadline head_timeout from
 * now (the latest there is, so the list stays in order). Under h->mu. */
static void conn_list(kn_http *h, conn *k)
{
    conn_unlist(h, k);
    k->deadline = kn_mono() + h->head_timeout;
    k->prev = h->waiting_tail;
    if (h->waiting_tail) h->waiting_tail->next = k;
    else h->waiting = k;
    h->waiting_tail = k;
    k->listed = 1;
    /* The watch thread sleeps until the first deadline, or for ever with
     * none: only a new first entry changes when it must wake. */
    if (h->waiting == k) pthread_cond_signal(&h->wake);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    kn_http *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn *k = ci ? calloc(1, sizeof *k) : NULL;
        *socket_context = k;
        if (!k) {
            /* A connection nobody watches could trickle for ever: drop it. */
            kn_warn("http: out of memory accepting a connection; closing it");
            if (ci) shutdown(ci->connect_fd, SHUT_RDWR);
            return;
        }
        k->fd = ci->connect_fd;
        pthread_mutex_lock(&h->mu);
        h->open_conns++;
        conn_list(h, k);
        pthread_mutex_unlock(&h->mu);
        return;
    }
    if (code != MHD_CONNECTION_NOTIFY_CLOSED) return;
    conn *k = *socket_context;
    *socket_context = NULL;
    if (!k) return;
    pthread_mutex_lock(&h->mu);
    conn_unlist(h, k);
    h->open_conns--;
    pthread_mutex_unlock(&h->mu);
    free(k);
}

/* The watch thread: closes every connection whose request head is not
 * complete by its deadline (see the top of this file). */
static void *watch_main(void *arg)
{
    kn_http *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->watch_stop) {
        double now = kn_mono();
        conn *k;
        while ((k = h->waiting) && k->deadline <= now) {
            conn_unlist(h, k);
            /* Nothing else writes to the socket while its request head is
             * awaited; a full send buffer only costs the client its 408. */
            if (!k->served &&
                send(k->fd, h->timeout_answer, h->timeout_answer_len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                kn_debug("http: writing a 408: %s", strerror(errno));
            if (shutdown(k->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
                kn_warn("http: closing a connection after its head deadline: %s", strerror(errno));
            __atomic_add_fetch(&h->head_timeouts, 1, __ATOMIC_RELAXED);
        }
        if (k) {
            struct timespec ts;
            double t = k->deadline;
            ts.tv_sec = (time_t)t;
            ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
            if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
            pthread_cond_timedwait(&h->wake, &h->mu, &ts);
        } else {
            pthread_cond_wait(&h->wake, &h->mu);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* ---- requests ------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    kn_http *h = cls;
    req *q = *con_cls;
    if (!q) {
        /* The request head is complete: its deadline no longer applies. */
        conn *k = conn_of(c);
        if (k) {
            pthread_mutex_lock(&h->mu);
            conn_unlist(h, k);
            pthread_mutex_unlock(&h->mu);
        }
        q = calloc(1, sizeof *q);
        if (!q) return MHD_NO;
        *con_cls = q;
        /* MHD reads a body in any other transfer coding up to the end of
         * the connection, which a client waiting for its answer never
         * closes: refuse it now rather than at the idle timeout. */
        const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
        if (te && strcasecmp(te, "chunked") != 0)
            return reply_error(h, c, KN_EINVAL, NULL,
                               "Transfer-Encoding \"%.64s\" is not supported: send Content-Length or chunked", te);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            if (*end == '\0' && v > h->max_body) q->too_big = 1;
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (q->too_big) return MHD_YES;
        if (q->len + n > h->max_body) {
            q->too_big = 1;
            free(q->body);
            q->body = NULL;
            q->len = q->cap = 0;
            return MHD_YES;
        }
        if (q->len + n + 1 > q->cap) {
            size_t ncap = q->cap ? q->cap : 65536;
            while (ncap < q->len + n + 1) ncap *= 2;
            if (ncap > h->max_body + 1) ncap = h->max_body + 1;
            char *nb = realloc(q->body, ncap);
            if (!nb) return MHD_NO;
            q->body = nb;
            q->cap = ncap;
        }
        memcpy(q->body + q->len, upload_data, n);
        q->len += n;
        q->body[q->len] = '\0';
        return MHD_YES;
    }
    int nuls = 0;
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, count_nul_arg, &nuls);
    if (nuls) return reply_error(h, c, KN_EINVAL, NULL, "a query argument contains a NUL byte (%%00)");
    return route(h, c, url, method, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    kn_http *h = cls;
    req *q = *con_cls;
    if (q) {
        free(q->body);
        free(q);
    }
    *con_cls = NULL;
    /* Answered, and kept alive: the next request head is awaited as the
     * first was. (A connection ending here is closed next, and
     * NOTIFY_CLOSED takes it off the list again.) */
    conn *k = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? conn_of(c) : NULL;
    if (k) {
        pthread_mutex_lock(&h->mu);
        k->served = 1;
        conn_list(h, k);
        pthread_mutex_unlock(&h->mu);
    }
}

/* MHD reports a client that went away (closing an event stream, a download
 * cut short, a request left half sent or cut off at its head deadline) or
 * that sent something it answers with a 4xx itself the same way as a real
 * fault; only its text tells them apart, and a client leaving or
 * misbehaving is routine, not something an operator should act on. */
static int client_went_away(const char *msg)
{
    static const char *const gone[] = {"socket is no longer available", "Connection reset by peer",
                                       "Broken pipe", "Socket disconnected",
                                       "Connection socket is closed when reading request",
                                       "Socket has been disconnected when reading request",
                                       "Connection was closed by remote side with incomplete request",
                                       "Error processing request (HTTP response code is 4",
                                       "Error processing request (HTTP response code is 505",
                                       "`Content-Length' header", "'Content-Length' header",
                                       "request without `Host' header"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
        if (strstr(msg, gone[i])) return 1;
    return 0;
}

/* A connection over --max-connections or --max-connections-per-ip is
 * closed by MHD right after accept, which says so in this message (0.9.75
 * has no other report of it). Under a flood that is one line per
 * connection: they are counted, and said at most every SUMMARY_S
 * seconds. */
#define REFUSED_MSG "Server reached connection limit"
#define REFUSED_SUMMARY_S 10.0

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    kn_http *h = cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    if (strstr(buf, REFUSED_MSG)) {
        long total = __atomic_add_fetch(&h->refused, 1, __ATOMIC_RELAXED);
        double now = kn_mono();
        long since = 0;
        pthread_mutex_lock(&h->mu);
        if (h->refused_warned_at == 0 || now - h->refused_warned_at >= REFUSED_SUMMARY_S) {
            since = total - h->refused_warned;
            h->refused_warned = total;
            h->refused_warned_at = now;
        }
        pthread_mutex_unlock(&h->mu);
        if (since > 0)
            kn_warn("http: connection cap reached: %ld connection(s) closed at accept since the last report "
                    "(--max-connections, --max-connections-per-ip)", since);
        return;
    }
    if (client_went_away(buf))
        kn_debug("http: %s", buf);
    else
        kn_warn("http: %s", buf);
}

/* A bearer token a client can send: printable ASCII without spaces, as a
 * header value carries it whole. */
int kn_http_check_token(const char *t, kn_err *err)
{
    if (!t) return KN_OK;
    size_t n = strlen(t);
    if (n > KN_HTTP_TOKEN_MAX)
        return kn_err_set(err, KN_EINVAL, NULL, "the token is %zu bytes; at most %d are allowed", n,
                          KN_HTTP_TOKEN_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return kn_err_set(err, KN_EINVAL, NULL,
                              "the token has a byte 0x%02x at offset %zu; only printable ASCII without "
                              "spaces can be sent in an Authorization header",
                              (unsigned char)t[i], i);
    return KN_OK;
}

static unsigned or_default(unsigned v, unsigned def) { return v ? v : def; }

int kn_http_start(const kn_http_config *cfg, kn_store *store, kn_sched *sched,
                  kn_pool *pool, kn_http **out, kn_err *err)
{
    KN_REQUIRE(cfg && store && sched && pool && out);
    int rc = KN_OK;
    *out = NULL;
    unsigned max_conns = or_default(cfg->max_connections, KN_HTTP_MAX_CONNECTIONS_DEFAULT);
    unsigned per_ip = or_default(cfg->max_connections_per_ip, KN_HTTP_MAX_CONNECTIONS_PER_IP_DEFAULT);
    unsigned head_s = or_default(cfg->head_timeout_s, KN_HTTP_HEAD_TIMEOUT_DEFAULT_S);
    unsigned idle_s = or_default(cfg->idle_timeout_s, KN_HTTP_IDLE_TIMEOUT_DEFAULT_S);
    if (per_ip > max_conns) per_ip = max_conns;   /* the smaller cap is the one that holds */
    if (max_conns > KN_HTTP_MAX_CONNECTIONS_MAX || head_s > KN_HTTP_HEAD_TIMEOUT_MAX_S ||
        idle_s < KN_HTTP_IDLE_TIMEOUT_MIN_S || idle_s > KN_HTTP_IDLE_TIMEOUT_MAX_S)
        return kn_err_set(err, KN_EINVAL, NULL,
                          "connection bounds out of range: connections 1..%u, head timeout 1..%u s, "
                          "idle timeout %u..%u s",
                          KN_HTTP_MAX_CONNECTIONS_MAX, KN_HTTP_HEAD_TIMEOUT_MAX_S, KN_HTTP_IDLE_TIMEOUT_MIN_S,
                          KN_HTTP_IDLE_TIMEOUT_MAX_S);
    size_t token_len = cfg->token ? strlen(cfg->token) : 0;
    if ((rc = kn_http_check_token(cfg->token, err)) != KN_OK) return rc;
    if (MHD_is_feature_supported(MHD_FEATURE_POLL) != MHD_YES)
        return kn_err_set(err, KN_EINTERNAL, NULL, "this libmicrohttpd has no poll() support");

    kn_http *h = calloc(1, sizeof *h);
    if (!h) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory starting HTTP");
    h->store = store;
    h->sched = sched;
    h->pool = pool;
    h->max_body = cfg->max_body;
    h->max_queued = cfg->max_queued;
    h->head_timeout = head_s;
    snprintf(h->self_exe, sizeof h->self_exe, "%s", cfg->self_exe ? cfg->self_exe : "/proc/self/exe");
    if (token_len > 0) {
        h->token = strdup(cfg->token);
        h->token_len = token_len;
        if (!h->token) {
            rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory starting HTTP");
            goto fail;
        }
    }
    char msg[160];
    snprintf(msg, sizeof msg, "no complete request head within %u s", head_s);
    char *body = kn_resource_error(kn_err_http_name(KN_ETIMEOUT), msg, NULL);
    int k = body ? snprintf(h->timeout_answer, sizeof h->timeout_answer,
                            "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                            "Content-Type: application/json\r\nCache-Control: no-store\r\n"
                            "X-Content-Type-Options: nosniff\r\nContent-Length: %zu\r\n\r\n%s",
                            strlen(body), body)
                 : -1;
    free(body);
    if (k < 0 || (size_t)k >= sizeof h->timeout_answer) {
        rc = kn_err_set(err, KN_ENOMEM, NULL, "out of memory starting HTTP");
        goto fail;
    }
    h->timeout_answer_len = (size_t)k;

    pthread_condattr_t ca;
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "cannot create a mutex");
        goto fail;
    }
    h->mu_ready = 1;
    if (pthread_condattr_init(&ca) != 0) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "cannot create a condition variable");
        goto fail;
    }
    int crc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (crc == 0) crc = pthread_cond_init(&h->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (crc != 0) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "cannot create a condition variable");
        goto fail;
    }
    h->wake_ready = 1;
    if (pthread_create(&h->watch, NULL, watch_main, h) != 0) {
        rc = kn_err_set(err, KN_EINTERNAL, NULL, "cannot start the connection watch thread");
        goto fail;
    }
    h->watch_started = 1;

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
    if (cfg->bind && *cfg->bind && inet_pton(AF_INET, cfg->bind, &sin.sin_addr) != 1) {
        rc = kn_err_set(err, KN_EINVAL, NULL, "--bind: not an IPv4 address: %s", cfg->bind);
        goto fail;
    }
    h->d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                            (uint16_t)cfg->port, NULL, NULL, on_request, h,
                            /* first, so MHD's own messages about the other
                             * options reach our log too */
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                            MHD_OPTION_CONNECTION_LIMIT, max_conns,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                            MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, KN_HTTP_HEAD_MAX_BYTES,
                            MHD_OPTION_END);
    if (!h->d) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot listen on port %d (in use? try --port)", cfg->port);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : cfg->port;
    *out = h;
    return KN_OK;
fail:
    kn_http_stop(h);
    return rc;
}

int kn_http_port(const kn_http *h)
{
    KN_REQUIRE(h);
    return h->port;
}

void kn_http_stop(kn_http *h)
{
    if (!h) return;
    __atomic_store_n(&h->stopping, 1, __ATOMIC_RELEASE);
    kn_sched_notify(h->sched);   /* wakes event streams so they end */
    /* MHD first: closing its connections empties the waiting list (while
     * the watch thread may still shut some down, harmlessly). */
    if (h->d) MHD_stop_daemon(h->d);
    if (h->watch_started) {
        pthread_mutex_lock(&h->mu);
        h->watch_stop = 1;
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->watch, NULL);
    }
    if (h->wake_ready) pthread_cond_destroy(&h->wake);
    if (h->mu_ready) pthread_mutex_destroy(&h->mu);
    free(h->token);
    free(h);
}
