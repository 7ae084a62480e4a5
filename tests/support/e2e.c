/* tests/support/e2e.c - see e2e.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/support/e2e.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "tests/support/decode.h"
#include "tests/support/testutil.h"

/* ---- the server and its HTTP API --------------------------------------- */

void tu_srv_start(tu_srv *s, const char *const *extra)
{
    tu_tmpdir(s->dir, sizeof s->dir);
    assert_true(s->dir[0]);
    s->pid = tu_server_start(s->dir, extra, &s->port);
    assert_true(s->pid > 0);
}

void tu_srv_stop(tu_srv *s)
{
    tu_server_stop(s->pid, 0);
    tu_rmtree(s->dir);
}

json_t *tu_http_json(int port, const char *method, const char *path, const char *hdrs,
                     const char *body, int *status)
{
    tu_resp r;
    int rc = tu_http(port, method, path, hdrs, body, body ? strlen(body) : 0, &r);
    assert_int_equal(rc, 0);
    *status = r.status;
    json_t *j = r.len ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    tu_resp_free(&r);
    return j;
}

char *tu_post_job(int port, const char *body, const char *hdrs, int want_status)
{
    int st;
    json_t *j = tu_http_json(port, "POST", "/v1/jobs", hdrs, body, &st);
    if (st != want_status) fprintf(stderr, "POST answered %d: %s\n", st, j ? json_dumps(j, 0) : "(no body)");
    assert_int_equal(st, want_status);
    char *id = strdup(json_string_value(json_object_get(j, "id")));
    json_decref(j);
    return id;
}

const char *tu_jstr(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b) v = json_object_get(v, b);
    return json_string_value(v);
}

static int is_final(const char *status)
{
    return !strcmp(status, "succeeded") || !strcmp(status, "failed") || !strcmp(status, "canceled");
}

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

json_t *tu_wait_status(int port, const char *id, const char *want, double timeout)
{
    tu_sse s;
    tu_sse_open(&s, port, id);
    double until = mono_now() + timeout;
    for (int seen = 0; !seen;) {
        double left = until - mono_now();
        int r = left > 0 ? tu_sse_next(&s, (int)(left * 1000) + 1) : -1;
        if (r < 0) fail_msg("job %s never became %s (no such event in %g s)", id, want, timeout);
        if (r == 0) break;   /* the stream ended: after a final status, or the job went */
        json_t *j = tu_sse_json(&s);
        if (!strcmp(s.event, "status")) {
            const char *st = tu_jstr(j, "status", NULL);
            seen = st && (!strcmp(st, want) || is_final(st));
        } else if (!strcmp(s.event, "progress") && !strcmp(want, "rendering")) {
            seen = json_integer_value(json_object_get(j, "frames_rendered")) > 0;
        }
        json_decref(j);
    }
    tu_sse_close(&s);

    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    int st;
    json_t *j = tu_http_json(port, "GET", path, NULL, NULL, &st);
    assert_int_equal(st, 200);
    const char *status = tu_jstr(j, "status", NULL);
    assert_non_null(status);
    /* A status only moves forward: once the stream showed `want`, the job
     * is there still or final; anything else means the stream ended early. */
    if (strcmp(status, want) != 0 && !is_final(status))
        fail_msg("job %s is %s after its event stream, neither %s nor final", id, status, want);
    return j;
}

void tu_expect_succeeded(int port, const char *id, double timeout)
{
    json_t *j = tu_wait_status(port, id, "succeeded", timeout);
    const char *status = tu_jstr(j, "status", NULL);
    if (strcmp(status, "succeeded") != 0) {
        const char *msg = tu_jstr(j, "error", "message");
        fail_msg("job %s is %s: %s", id, status, msg ? msg : "(no error)");
    }
    json_decref(j);
}

char *tu_small_job(int frames, const char *extra_output)
{
    char *b = malloc(1024);
    assert_non_null(b);
    snprintf(b, 1024,
             "{\"width\":64,\"height\":48,\"fps\":24,\"duration\":%g,"
             "\"elements\":[{\"id\":\"r\",\"type\":\"rect\",\"x\":0,\"y\":8,\"width\":16,\"height\":16,\"fill\":\"red\"}],"
             "\"timeline\":{\"tween\":{\"r.x\":[0,48]},\"duration\":%g},"
             "\"output\":{\"preset\":\"ultrafast\"%s}, \"metadata\": {\"who\": \"test\"}}",
             frames / 24.0, frames / 24.0, extra_output ? extra_output : "");
    return b;
}

int tu_parts_left(const char *data_dir)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/videos", data_dir);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".part")) n++;
    }
    if (d) closedir(d);
    return n;
}

/* ---- a job's event stream ---------------------------------------------- */

enum { CH_SIZE, CH_DATA, CH_CRLF };

/* Appends n bytes to a growing NUL-terminated buffer. */
static void append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 4096;
        while (*len + n + 1 > ncap) ncap *= 2;
        char *nb = realloc(*buf, ncap);
        assert_non_null(nb);
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Moves what has arrived of the body from raw to text, undoing the chunked
 * transfer encoding (chunk extensions and trailers are not used by MHD). */
static void dechunk(tu_sse *s)
{
    size_t pos = 0;
    while (!s->done && pos < s->raw_len) {
        if (!s->chunked) {
            append(&s->text, &s->text_len, &s->text_cap, s->raw + pos, s->raw_len - pos);
            pos = s->raw_len;
        } else if (s->state == CH_SIZE) {
            const char *eol = memmem(s->raw + pos, s->raw_len - pos, "\r\n", 2);
            if (!eol) break;
            unsigned long size = strtoul(s->raw + pos, NULL, 16);
            pos = (size_t)(eol - s->raw) + 2;
            if (size == 0) {
                s->done = 1;   /* the last chunk: the stream ended */
            } else {
                s->chunk_left = size;
                s->state = CH_DATA;
            }
        } else if (s->state == CH_DATA) {
            size_t n = s->raw_len - pos < s->chunk_left ? s->raw_len - pos : s->chunk_left;
            append(&s->text, &s->text_len, &s->text_cap, s->raw + pos, n);
            pos += n;
            s->chunk_left -= n;
            if (s->chunk_left == 0) s->state = CH_CRLF;
        } else {
            if (s->raw_len - pos < 2) break;
            pos += 2;
            s->state = CH_SIZE;
        }
    }
    memmove(s->raw, s->raw + pos, s->raw_len - pos);
    s->raw_len -= pos;
}

/* Reads what the socket has within timeout_ms into raw. Returns -1 on a
 * timeout, else 0 (the connection's end sets s->done). */
static int fill(tu_sse *s, int timeout_ms)
{
    struct pollfd pf = {.fd = s->fd, .events = POLLIN};
    int r;
    do r = poll(&pf, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r == 0) return -1;
    char buf[16384];
    ssize_t n = -1;
    if (r > 0) {
        do n = read(s->fd, buf, sizeof buf);
        while (n < 0 && errno == EINTR);
    }
    if (n <= 0) {
        s->done = 1;
        return 0;
    }
    append(&s->raw, &s->raw_len, &s->raw_cap, buf, (size_t)n);
    return 0;
}

void tu_sse_open(tu_sse *s, int port, const char *id)
{
    memset(s, 0, sizeof *s);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET /v1/jobs/%s/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", id);
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(write(s->fd, req, (size_t)n), n);
    /* The head comes at once: the stream starts with the job's state. */
    char *end;
    while (!(end = s->raw ? strstr(s->raw, "\r\n\r\n") : NULL)) {
        if (s->done || fill(s, 60000) < 0) fail_msg("GET /v1/jobs/%s/events: no answer", id);
    }
    size_t hl = (size_t)(end - s->raw) + 4;
    int status = 0;
    assert_int_equal(sscanf(s->raw, "HTTP/1.%*d %d", &status), 1);
    if (status != 200) fail_msg("GET /v1/jobs/%s/events answered %d", id, status);
    /* The header block, lower-cased for the lookups below. */
    char *head = strndup(s->raw, hl);
    assert_non_null(head);
    for (char *p = head; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    assert_non_null(strstr(head, "\r\ncontent-type: text/event-stream"));
    s->chunked = strstr(head, "\r\ntransfer-encoding: chunked") != NULL;
    free(head);
    memmove(s->raw, s->raw + hl, s->raw_len - hl + 1);
    s->raw_len -= hl;
    s->state = CH_SIZE;
    dechunk(s);
}

int tu_sse_next(tu_sse *s, int timeout_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        /* An event is a block of lines ended by a blank line. */
        char *end;
        while (s->text && (end = strstr(s->text, "\n\n"))) {
            *end = '\0';
            s->event[0] = '\0';
            free(s->data);
            s->data = NULL;
            for (char *line = s->text, *next; line; line = next) {
                next = strchr(line, '\n');
                if (next) *next++ = '\0';
                if (!strncmp(line, "event: ", 7)) snprintf(s->event, sizeof s->event, "%s", line + 7);
                if (!strncmp(line, "data: ", 6)) {
                    free(s->data);   /* the server sends one data line an event */
                    s->data = strdup(line + 6);
                    assert_non_null(s->data);
                }
            }
            size_t used = (size_t)(end - s->text) + 2;
            memmove(s->text, s->text + used, s->text_len - used + 1);
            s->text_len -= used;
            if (s->event[0] || s->data) return 1;   /* else a comment (keep-alive) */
        }
        if (s->done) return 0;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = timeout_ms - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || fill(s, (int)left) < 0) return -1;
        dechunk(s);
    }
}

json_t *tu_sse_json(const tu_sse *s)
{
    json_t *j = s->data ? json_loads(s->data, 0, NULL) : NULL;
    if (!j) fail_msg("event %s: data is not JSON: %s", s->event, s->data ? s->data : "(none)");
    return j;
}

void tu_sse_close(tu_sse *s)
{
    if (s->fd >= 0) close(s->fd);
    free(s->raw);
    free(s->text);
    free(s->data);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

/* ---- a downloaded video ------------------------------------------------- */

void tu_e2e_probe_file(const char *path, tu_e2e_probe *p)
{
    memset(p, 0, sizeof *p);
    AVFormatContext *fc = NULL;
    assert_int_equal(avformat_open_input(&fc, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(fc, NULL) >= 0);
    AVStream *st = fc->streams[0];
    snprintf(p->codec, sizeof p->codec, "%s", avcodec_get_name(st->codecpar->codec_id));
    p->width = st->codecpar->width;
    p->height = st->codecpar->height;
    /* WebM keeps the duration in the container, not per stream. */
    p->duration = st->duration != AV_NOPTS_VALUE ? st->duration * av_q2d(st->time_base)
                                                 : (double)fc->duration / AV_TIME_BASE;
    AVPacket *pkt = av_packet_alloc();
    while (av_read_frame(fc, pkt) >= 0) {
        p->packets++;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fc);
    p->moov_first = tu_moov_before_mdat(path) == 1;
}

/* ---- processes ------------------------------------------------------------ */

int tu_find_procs(const char *comm, int *pids, int max)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        char p[300];
        snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
        char *c = tu_read_file(p, NULL);
        if (!c) continue;
        c[strcspn(c, "\n")] = '\0';
        if (!strcmp(c, comm)) pids[n++] = (int)strtol(e->d_name, NULL, 10);
        free(c);
    }
    if (d) closedir(d);
    return n;
}

/* The fields of /proc/PID/stat after the command name (which may hold
 * spaces and parentheses), malloc'ed, or NULL when pid is gone. */
static char *stat_fields(int pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    char *s = tu_read_file(p, NULL);
    char *rp = s ? strrchr(s, ')') : NULL;
    char *fields = rp && rp[1] == ' ' ? strdup(rp + 2) : NULL;
    free(s);
    return fields;
}

int tu_child_of(int pid, int parent)
{
    char *f = stat_fields(pid);
    int pp = 0;
    if (f) sscanf(f, "%*c %d", &pp);
    free(f);
    return pp == parent;
}

int tu_pool_of(int server)
{
    int pids[64], n = tu_find_procs("kinora-pool", pids, 64);
    for (int i = 0; i < n; i++)
        if (tu_child_of(pids[i], server)) return pids[i];
    return 0;
}

/* 1 while pid exists and has not exited (a zombie has). */
static int still_running(int pid)
{
    char *f = stat_fields(pid);
    int live = f && f[0] != 'Z' && f[0] != 'X';
    free(f);
    return live;
}

int tu_gone_within(int pid, int timeout_ms)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return errno == ESRCH || !still_running(pid);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int r;
    do r = poll(&pf, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    close(fd);
    return r > 0 || !still_running(pid);
}

double tu_workers_cpu(int pool)
{
    int pids[64], n = tu_find_procs("kinora-render", pids, 64);
    double ticks = 0;
    for (int i = 0; i < n; i++) {
        if (!tu_child_of(pids[i], pool)) continue;
        char *f = stat_fields(pids[i]);
        unsigned long ut = 0, stt = 0;
        if (f && sscanf(f, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) == 2)
            ticks += (double)(ut + stt);
        free(f);
    }
    return ticks / (double)sysconf(_SC_CLK_TCK);
}
