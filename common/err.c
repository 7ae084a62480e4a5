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

const char *kn_err_name(int code)
{
    switch (code) {
    case KN_OK:        return "ok";
    case KN_EINVAL:    return "invalid_job";
    case KN_ENOMEM:    return "internal";
    case KN_EIO:       return "storage_failed";
    case KN_ENOTFOUND: return "not_found";
    case KN_ECONFLICT: return "conflict";
    case KN_EFULL:     return "queue_full";
    case KN_ETOOBIG:   return "payload_too_large";
    case KN_EENCODER:  return "encoder_unavailable";
    case KN_EENCODE:   return "encode_failed";
    case KN_ECRASH:    return "worker_crashed";
    case KN_ERENDER:   return "render_failed";
    case KN_ECANCELED: return "canceled";
    default:           return "internal";
    }
}
