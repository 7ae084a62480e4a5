/*
 * common/err.h - Kinora's one error type.
 *
 * Every fallible function returns an int: KN_OK (0) on success, or one of the
 * KN_E* codes below. When it fails it also fills the caller's kn_err (if the
 * pointer is not NULL) at the failure site with a message a user can act on
 * and, when a field of the job document is at fault, the JSON pointer of that
 * field. A kn_err is a plain value: fixed-size buffers, nothing to free.
 *
 * Invariant: err->code == KN_OK iff nothing failed; kn_err_set never returns
 * KN_OK, so `return kn_err_set(err, KN_EINVAL, ...)` reads as "fail here".
 */
#ifndef KN_COMMON_ERR_H
#define KN_COMMON_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum {
    KN_OK = 0,
    KN_EINVAL,        /* invalid input (job document, argument): a 400 */
    KN_EJSON,         /* the body or file is not JSON at all: a 400 */
    KN_ENOMEM,        /* allocation failed or a size cap was hit */
    KN_EIO,           /* file system, socket or database I/O failed */
    KN_ENOTFOUND,     /* no such job / file */
    KN_ECONFLICT,     /* idempotency key reused with another body, etc. */
    KN_EFULL,         /* queue full */
    KN_ETOOBIG,       /* a body or document over its limit */
    KN_EENCODER,      /* no encoder could be opened (encoder_unavailable) */
    KN_EENCODE,       /* the encoder or muxer failed mid-stream */
    KN_ECRASH,        /* a render worker died twice on the same frame */
    KN_ERENDER,       /* rendering a frame failed */
    KN_ECANCELED,     /* the job was canceled while running */
    KN_EUNAUTHORIZED, /* no or a wrong bearer token (HTTP) */
    KN_ENOTREADY,     /* a job's video asked for before it succeeded */
    KN_EUNAVAILABLE,  /* the service cannot take the request now (no render
                         pool): a 503 the client may retry */
    KN_ETIMEOUT,      /* a client too slow to send its request head: a 408 */
    KN_EINTERNAL      /* a bug or an unexpected library failure */
};

typedef struct kn_err {
    int code;          /* KN_OK or KN_E* */
    char path[256];    /* JSON pointer of the offending field, "" if none */
    char msg[512];     /* human-readable, no trailing newline */
} kn_err;

/* Resets e (may be NULL) to "no error". */
void kn_err_clear(kn_err *e);

/* Records a failure in e (may be NULL) and returns code. path may be NULL.
 * Over-long messages are truncated, never overflowed. */
int kn_err_set(kn_err *e, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int kn_err_setv(kn_err *e, int code, const char *path, const char *fmt, va_list ap);

/* A printable excerpt of user input for error messages, written into buf
 * (cap bytes, >= 8) and returned: at most 48 bytes plus "...", never a split
 * UTF-8 sequence (messages end up in JSON), quotes, backslashes and control
 * characters shown as '?'. */
const char *kn_err_excerpt(const char *s, char *buf, size_t cap);

/* What each code means outside the process, from one table in err.c (a
 * code not listed there reads as KN_EINTERNAL):
 *
 * kn_err_name: the stable snake_case name ("invalid_json", "not_found",
 * "encode_failed"...), for logs and the command line.
 *
 * kn_err_http_status: the HTTP status of a request that fails with the code
 * (KN_EINVAL 400, KN_ENOTFOUND 404, KN_EFULL 429, KN_EIO 500...).
 * kn_err_http_name: the "code" of that answer's error body: the name for a
 * 4xx and for a 503 ("unavailable": nothing failed, the client may retry),
 * "internal" for every other 5xx (clients branch on the documented codes of
 * docs/api.md#errors; the log says which server-side failure it was).
 *
 * kn_err_job_code: the error.code of a job that fails with it, one of the
 * documented job failures (docs/api.md#why-a-job-fails): the encoder,
 * crash, storage and render codes are their own, and anything else (bad
 * document, allocation, a bug) is "render_failed". NULL for KN_OK. */
const char *kn_err_name(int code);
int kn_err_http_status(int code);
const char *kn_err_http_name(int code);
const char *kn_err_job_code(int code);

#endif
