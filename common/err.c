/*
 * common/err.c - see err.h. Messages are truncated to the fixed buffers so a
 * hostile document can never make an error message allocate or overflow.
 */
#include "common/err.h"

#include <stdio.h>
#include <string.h>

void kn_err_clear(kn_err *e)
{
    if (!e) return;
    e->code = KN_OK;
    e->path[0] = '\0';
    e->msg[0] = '\0';
}

int kn_err_setv(kn_err *e, int code, const char *path, const char *fmt, va_list ap)
{
    if (!e) return code;
    e->code = code;
    snprintf(e->path, sizeof e->path, "%s", path ? path : "");
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

int kn_err_set(kn_err *e, int code, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kn_err_setv(e, code, path, fmt, ap);
    va_end(ap);
    return code;
}

const char *kn_err_excerpt(const char *s, char *buf, size_t cap)
{
    size_t n = 0, i = 0, lim = cap > 52 ? 48 : cap - 4;
    while (s[i] && n < lim) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (n + len > lim) break;
        size_t k = 1;
        while (k < len && ((unsigned char)s[i + k] & 0xC0) == 0x80) k++;
        if (len == 1 || k < len) {
            buf[n++] = (c < 0x20 || c == 0x7F || c >= 0x80 || c == '"' || c == '\\')
                       ? '?' : (char)c;
            i++;
            continue;
        }
        memcpy(buf + n, s + i, len);
        n += len;
        i += len;
    }
    if (s[i]) { memcpy(buf + n, "...", 3); n += 3; }
    buf[n] = '\0';
    return buf;
}

/* One row per code: its name, the HTTP status a request failing with it
 * gets, and the error.code a job failing with it records. */
static const struct err_row {
    const char *name;
    int http;
    const char *job;
} rows[] = {
    [KN_OK] = {"ok", 200, NULL},
    [KN_EINVAL] = {"invalid_job", 400, "render_failed"},
    [KN_EJSON] = {"invalid_json", 400, "render_failed"},
    [KN_ENOMEM] = {"internal", 500, "render_failed"},
    [KN_EIO] = {"storage_failed", 500, "storage_failed"},
    [KN_ENOTFOUND] = {"not_found", 404, "render_failed"},
    [KN_ECONFLICT] = {"conflict", 409, "render_failed"},
    [KN_EFULL] = {"queue_full", 429, "render_failed"},
    [KN_ETOOBIG] = {"payload_too_large", 413, "render_failed"},
    [KN_EENCODER] = {"encoder_unavailable", 500, "encoder_unavailable"},
    [KN_EENCODE] = {"encode_failed", 500, "encode_failed"},
    [KN_ECRASH] = {"worker_crashed", 500, "worker_crashed"},
    [KN_ERENDER] = {"render_failed", 500, "render_failed"},
    [KN_ECANCELED] = {"canceled", 500, "render_failed"},
    [KN_EUNAUTHORIZED] = {"unauthorized", 401, "render_failed"},
    [KN_ENOTREADY] = {"not_ready", 409, "render_failed"},
    [KN_EUNAVAILABLE] = {"unavailable", 503, "render_failed"},
    [KN_ETIMEOUT] = {"timeout", 408, "render_failed"},
    [KN_EINTERNAL] = {"internal", 500, "render_failed"},
};

_Static_assert(sizeof rows / sizeof rows[0] == KN_EINTERNAL + 1,
               "common/err.c: every KN_E* code needs its row");

static const struct err_row *row(int code)
{
    if (code < 0 || (size_t)code >= sizeof rows / sizeof rows[0] || !rows[code].name)
        code = KN_EINTERNAL;
    return &rows[code];
}

const char *kn_err_name(int code) { return row(code)->name; }
int kn_err_http_status(int code) { return row(code)->http; }
/* A 503 keeps its name: it tells the client to come back, not that
 * something broke inside. */
const char *kn_err_http_name(int code)
{
    int http = row(code)->http;
    return http >= 500 && http != 503 ? "internal" : row(code)->name;
}
const char *kn_err_job_code(int code) { return row(code)->job; }
