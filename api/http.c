/*
 * api/http.c - see http.h.
 *
 * MHD runs one thread per connection; a request's body is collected into a
 * buffer capped at max_body (a larger body is answered 413 without being
 * stored). Routing is by method and path; every answer goes through one of
 * reply_json / reply_error / reply_empty so headers are uniform.
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
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
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


struct kn_http {
    struct MHD_Daemon *d;
    kn_store *store;
    kn_sched *sched;
    kn_pool *pool;
    size_t max_body;
    long max_queued;
    char token[256];
    char self_exe[4096];
    int port;
    int stopping;              /* set before MHD stops: ends event streams */
    long http_by_code[600];    /* answers by status code, for /metrics */
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
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
    if (location)
        MHD_add_response_header(r, status == 405 ? "Allow" : status == 416 ? "Content-Range" : "Location",
                                location);
    if (status == 429) MHD_add_response_header(r, "Retry-After", "5");
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    count_status(h, status);
    return ret;
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

static int token_ok(kn_http *h, struct MHD_Connection *c)
{
    if (!h->token[0]) return 1;
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!a || strncasecmp(a, "Bearer ", 7) != 0) return 0;   /* schemes are case-insensitive */
    a += 7;
    size_t n = strlen(h->token), m = strlen(a);
    unsigned diff = (unsigned)(n ^ m);
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
    if (kn_store_list(h->store, filter, (int)limit, after, &recs, &n, next, &err) != KN_OK)
        return reply_kn_err(h, c, &err);
    enum MHD_Result ret = reply_json(h, c, 200, kn_resource_job_list(recs, n, next), NULL);
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
        MHD_add_response_header(r, "ETag", etag);
        enum MHD_Result ret = MHD_queue_response(c, 304, r);
        MHD_destroy_response(r);
        count_status(h, 304);
        return ret;
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
    MHD_add_response_header(r, "Content-Type", kn_format_mime(format));
    MHD_add_response_header(r, "ETag", etag);
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    unsigned status = 200;
    if (pr == 1) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", a, b, size);
        MHD_add_response_header(r, "Content-Range", cr);
        status = 206;
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    count_status(h, status);
    return ret;
}

/* ---- /v1/jobs/{id}/events ---------------------------------------------- */

/* One Server-Sent Events stream. MHD calls events_read on the connection's
 * own thread (thread-per-connection), so it may block: it waits on the
 * scheduler's event generation, re-reads the job when it moves, and writes
 * a `progress` event when the counters changed and a `status` event (the
 * whole job resource) when the status changed. The stream ends after the
 * status event of a final status. A comment line every 15 s keeps proxies
 * from closing an idle stream. */
typedef struct sse {
    kn_http *h;
    char id[KN_JOB_ID_MAX];
    unsigned long gen;
    kn_job_status status;
    int have_status;           /* a status event was sent: status holds it */
    long rendered, encoded;
    int ended;
} sse;

static ssize_t events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse *e = cls;
    if (e->ended || __atomic_load_n(&e->h->stopping, __ATOMIC_ACQUIRE)) return MHD_CONTENT_READER_END_OF_STREAM;
    double since = kn_mono();
    for (;;) {
        kn_job_rec rec = {0};
        if (kn_store_get(e->h->store, e->id, &rec, NULL) != KN_OK) {
            e->ended = 1;   /* deleted meanwhile */
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        size_t n = 0;
        if (rec.frames_rendered != e->rendered || rec.frames_encoded != e->encoded) {
            e->rendered = rec.frames_rendered;
            e->encoded = rec.frames_encoded;
            long total = rec.frames_total;
            int k = snprintf(buf, max,
                             "event: progress\ndata: {\"frames_total\":%ld,\"frames_rendered\":%ld,"
                             "\"frames_encoded\":%ld,\"fraction\":%.4f,\"fps\":%.1f,\"eta_seconds\":",
                             total, rec.frames_rendered, rec.frames_encoded,
                             total > 0 ? (double)rec.frames_encoded / (double)total : 0.0, rec.render_fps);
            if (k > 0 && (size_t)k < max) n = (size_t)k;
            k = rec.eta_seconds >= 0 ? snprintf(buf + n, max - n, "%.1f}\n\n", rec.eta_seconds)
                                     : snprintf(buf + n, max - n, "null}\n\n");
            n = (k > 0 && (size_t)k < max - n) ? n + (size_t)k : 0;
        }
        if (!e->have_status || rec.status != e->status) {
            char *job = kn_resource_job(&rec);
            int k = job ? snprintf(buf + n, max - n, "event: status\ndata: %s\n\n", job) : -1;
            free(job);
            if (k > 0 && (size_t)k < max - n) {
                n += (size_t)k;
                e->status = rec.status;
                e->have_status = 1;
                if (kn_job_status_is_final(rec.status)) e->ended = 1;
            }
        }
        kn_job_rec_clear(&rec);
        if (n > 0) return (ssize_t)n;
        if (kn_mono() - since >= 15.0) return snprintf(buf, max, ": keep-alive\n\n");
        e->gen = kn_sched_wait(e->h->sched, e->gen, 15000);
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
    sse *e = calloc(1, sizeof *e);
    if (!e) return reply_error(h, c, KN_EINTERNAL, NULL, "out of memory");
    e->h = h;
    e->rendered = e->encoded = -1;
    e->gen = kn_sched_generation(h->sched);
    snprintf(e->id, sizeof e->id, "%s", id);
    /* HEAD gets the headers alone: a streamed (chunked) response to HEAD
     * makes libmicrohttpd write the chunked terminator after them, five
     * stray bytes a client reusing the connection reads as garbage. The
     * block size bounds one read: a job resource fits with room. */
    int head = !strcmp(method, "HEAD");
    struct MHD_Response *r = head ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
                                  : MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, events_read, e, free);
    if (head || !r) free(e);   /* else MHD frees it with the response */
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    count_status(h, 200);
    return ret;
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
    size_t cap = 4096, len = 0;
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    kn_http *h = cls;
    req *q = *con_cls;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q) return MHD_NO;
        *con_cls = q;
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
    (void)cls;
    (void)c;
    (void)toe;
    req *q = *con_cls;
    if (q) {
        free(q->body);
        free(q);
    }
    *con_cls = NULL;
}

/* MHD reports a client that went away (closing an event stream, a download
 * cut short) the same way as a real fault; only its text tells them apart,
 * and a client leaving is routine, not something an operator should act on. */
static int client_went_away(const char *msg)
{
    static const char *const gone[] = {"socket is no longer available", "Connection reset by peer",
                                       "Broken pipe", "Socket disconnected"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
        if (strstr(msg, gone[i])) return 1;
    return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    if (client_went_away(buf))
        kn_debug("http: %s", buf);
    else
        kn_warn("http: %s", buf);
}

int kn_http_start(const kn_http_config *cfg, kn_store *store, kn_sched *sched,
                  kn_pool *pool, kn_http **out, kn_err *err)
{
    KN_REQUIRE(cfg && store && sched && pool && out);
    kn_http *h = calloc(1, sizeof *h);
    if (!h) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory starting HTTP");
    h->store = store;
    h->sched = sched;
    h->pool = pool;
    h->max_body = cfg->max_body;
    h->max_queued = cfg->max_queued;
    snprintf(h->token, sizeof h->token, "%s", cfg->token ? cfg->token : "");
    snprintf(h->self_exe, sizeof h->self_exe, "%s", cfg->self_exe ? cfg->self_exe : "/proc/self/exe");

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
    if (cfg->bind && *cfg->bind && inet_pton(AF_INET, cfg->bind, &sin.sin_addr) != 1) {
        free(h);
        return kn_err_set(err, KN_EINVAL, NULL, "--bind: not an IPv4 address: %s", cfg->bind);
    }
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                            (uint16_t)cfg->port, NULL, NULL, on_request, h,
                            /* first, so MHD's own messages about the other
                             * options reach our log too */
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                            MHD_OPTION_END);
    if (!h->d) {
        free(h);
        return kn_err_set(err, KN_EIO, NULL, "cannot listen on port %d (in use? try --port)", cfg->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : cfg->port;
    *out = h;
    return KN_OK;
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
    MHD_stop_daemon(h->d);
    free(h);
}
