/*
 * server/server.h - the Kinora daemon: wires the render pool, the job store,
 * the scheduler and the HTTP API together and runs until SIGINT or SIGTERM.
 *
 * This is the only module that knows every layer of a running server; the
 * command line (cli/) fills a kn_server_config and calls kn_server_run.
 *
 * Startup order matters: the render pool is forked before any thread exists
 * (kn_pool_start), then SIGINT/SIGTERM are blocked so that every thread
 * inherits the mask and the calling thread alone receives them via sigwait.
 * Hence kn_server_run must be called from a single-threaded process.
 */
#ifndef KN_SERVER_SERVER_H
#define KN_SERVER_SERVER_H

#include <stddef.h>

#include "common/err.h"

typedef struct kn_server_config {
    int port;               /* 0 = any free port (see port_file) */
    const char *bind;       /* listen address; NULL = the default (see
                               kn_server_bind_address) */
    const char *data;       /* data directory: kinora.db and videos/ */
    int workers;            /* render worker processes */
    int ring_slots;         /* frame ring slots; 0 = 2 * workers + 2 */
    size_t max_body;        /* largest request body, bytes */
    long max_queued;        /* jobs queued at once before POST is a 429 */
    int max_previews;       /* preview renderers at once; 0 = from the CPUs
                               (pipeline/preview.h) */
    const char *token;      /* bearer token; NULL or "" = none */
    int allow_unauthenticated;  /* no token, yet listen beyond loopback */
    /* HTTP connection bounds (api/http.h); 0 = the default. */
    unsigned max_connections, max_connections_per_ip;
    unsigned head_timeout_s, idle_timeout_s;
    const char *port_file;  /* written with the bound port once listening */
} kn_server_config;

/* Fills *cfg with the documented defaults (port 8080, ./data, one worker per
 * online CPU up to 64, 64 MiB bodies, 1000 queued jobs, no token). */
void kn_server_config_defaults(kn_server_config *cfg);

/* The address the server listens on: cfg->bind when set, else every
 * address ("0.0.0.0") when a token is configured and loopback
 * ("127.0.0.1") when none is. Without a token, an address outside
 * 127.0.0.0/8 is refused (KN_EINVAL, saying what to do) unless
 * cfg->allow_unauthenticated: an open server must be asked for. *addr is
 * cfg->bind or a static string; *loopback says whether it is loopback. */
int kn_server_bind_address(const kn_server_config *cfg, const char **addr, int *loopback, kn_err *err);

/* Reads a bearer token from a file: its whole content without one
 * trailing newline (\n or \r\n). An empty token or one over
 * KN_HTTP_TOKEN_MAX bytes is KN_EINVAL; *token is malloc'ed, the caller
 * frees it. */
int kn_server_read_token_file(const char *path, char **token, kn_err *err);

/* Runs the daemon until SIGINT or SIGTERM, then shuts it down in order.
 * Returns KN_OK after a clean shutdown, or the startup failure (err says
 * which resource could not be set up). Strings in cfg are borrowed. */
int kn_server_run(const kn_server_config *cfg, kn_err *err);

#endif
