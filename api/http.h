/*
 * api/http.h - the HTTP API (docs/contract/api-v1.md) on libmicrohttpd.
 *
 * Handlers never render: a POST validates and stores the document, the
 * scheduler renders it in the pool; a preview runs `kinora frame` in a child
 * process. Every error body is {"error": {"code", "message", "path"?}}.
 *
 * Ownership: borrows store, scheduler and pool (they outlive the server);
 * copies the configuration strings.
 */
#ifndef KN_API_HTTP_H
#define KN_API_HTTP_H

#include <stddef.h>

#include "pipeline/pool.h"
#include "pipeline/sched.h"
#include "store/store.h"

typedef struct kn_http kn_http;

typedef struct kn_http_config {
    int port;                /* 0 = any free port (see kn_http_port) */
    const char *bind;        /* IPv4 address to listen on; NULL = all */
    size_t max_body;         /* bytes; larger bodies get 413 */
    long max_queued;         /* queued jobs before 429 */
    const char *token;       /* NULL/"" = no auth; else 1..KN_HTTP_TOKEN_MAX
                                printable ASCII characters (no space) */
    const char *self_exe;    /* path of the kinora binary (for previews) */
    /* Connection bounds (common/limits.h); 0 = the default. */
    unsigned max_connections;         /* open at once */
    unsigned max_connections_per_ip;  /* open at once from one address */
    unsigned head_timeout_s;          /* to deliver a complete request head */
    unsigned idle_timeout_s;          /* without a byte either way */
} kn_http_config;

/* cfg, store, sched, pool and out are required (KN_REQUIRE). A token or
 * a bound out of range is KN_EINVAL. */
int kn_http_start(const kn_http_config *cfg, kn_store *store, kn_sched *sched,
                  kn_pool *pool, kn_http **out, kn_err *err);
int kn_http_port(const kn_http *h);

/* KN_OK when token (NULL or "" = none) is one kn_http_start takes: 1..
 * KN_HTTP_TOKEN_MAX printable ASCII bytes without spaces; else KN_EINVAL
 * saying why. Lets a caller refuse it before starting anything. */
int kn_http_check_token(const char *token, kn_err *err);
void kn_http_stop(kn_http *h);   /* accepts NULL */

/* A new random job id ("j_" + 22 base62 characters, 128 bits). */
int kn_http_new_id(char out[KN_JOB_ID_MAX], kn_err *err);

#endif
