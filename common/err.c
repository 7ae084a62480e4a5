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
