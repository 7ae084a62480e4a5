/*
 * cli/main.c - the `kinora` command: serve, render, frame, validate.
 *
 * Turns arguments into calls on the layers below; `serve` hands a config to
 * server/server.h. `render` forks its render pool before it creates any
 * thread (kn_pool_start), then blocks SIGINT/SIGTERM so that only its signal
 * thread receives them.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/version.h"
#include "common/vocab.h"
#include "doc/doc.h"
#include "encode/encoder.h"
#include "pipeline/pool.h"
#include "pipeline/preview.h"
#include "pipeline/run.h"
#include "render/render.h"
#include "server/server.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage:\n"
            "  kinora --version\n"
            "  kinora serve [--port 8080] [--bind ADDR] [--data DIR] [--workers N] [--ring-slots K]\n"
            "               [--max-body BYTES] [--max-queued N] [--max-previews N] [--token-file PATH]\n"
            "               [--port-file PATH] [--max-connections N] [--max-connections-per-ip N]\n"
            "               [--head-timeout S] [--idle-timeout S] [--allow-unauthenticated]\n"
            "               [--token T (shows in ps)]\n"
            "               (the token: KINORA_TOKEN, --token-file or --token; without one the server\n"
            "               listens on 127.0.0.1 unless --bind ADDR --allow-unauthenticated)\n"
            "  kinora render JOB.json -o OUT.mp4|OUT.webm|OUT.gif [--workers N] [--ring-slots K]\n"
            "  kinora frame JOB.json|- --frame N -o OUT.png|- [--max-memory BYTES]\n"
            "  kinora validate JOB.json|-\n");
}

/* Reads a whole file ("-" = stdin) into a malloc'ed buffer, capped. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "kinora: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 262144;
            if (ncap > KN_CLI_MAX_DOC_BYTES + 1) ncap = KN_CLI_MAX_DOC_BYTES + 1;
            if (ncap <= cap) {
                fprintf(stderr, "kinora: %s is over %zu bytes\n", path, KN_CLI_MAX_DOC_BYTES);
                free(buf);
                buf = NULL;
                goto out;
            }
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                fprintf(stderr, "kinora: out of memory reading %s\n", path);
                free(buf);
                buf = NULL;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    buf[n] = '\0';
    *len = n;
out:
    if (f != stdin) fclose(f);
    return buf;
}

static long parse_long(const char *s, const char *what, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "kinora: %s must be an integer %ld..%ld, not \"%s\"\n", what, lo, hi, s);
        exit(2);
    }
    return v;
}

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > KN_RING_MAX_WORKERS) n = KN_RING_MAX_WORKERS;
    return (int)n;
}

static void print_doc_error(const char *file, const kn_err *e)
{
    if (e->path[0])
        fprintf(stderr, "%s: error at %s: %s\n", file, e->path, e->msg);
    else
        fprintf(stderr, "%s: error: %s\n", file, e->msg);
}

/* ---- validate ---------------------------------------------------------- */

static int cmd_validate(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    size_t len;
    char *text = read_all(argv[1], &len);
    if (!text) return 2;
    kn_doc *doc = NULL;
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_doc_parse(text, len, NULL, &doc, &err);
    if (rc != KN_OK) {
        print_doc_error(argv[1], &err);
    } else {
        printf("ok: %dx%d, %ld frames at %d/%d fps (%.3f s), %s/%s\n", doc->width, doc->height,
               doc->n_frames, doc->fps_num, doc->fps_den, doc->duration,
               kn_format_name(doc->output.format), kn_codec_name(doc->output.codec));
    }
    kn_doc_destroy(doc);
    free(text);
    return rc == KN_OK ? 0 : 1;
}

/* ---- frame --------------------------------------------------------------- */

/* AddressSanitizer reserves terabytes of address space for its shadow
 * memory, so an address-space limit would break it: sanitized builds (the
 * tests' ASan run) skip the limit. */
#if defined(__SANITIZE_ADDRESS__)
#define KN_CLI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KN_CLI_ASAN 1
#endif
#endif

/* --max-memory: RLIMIT_AS at what the process maps already (its code and
 * libraries, about 200 MB, mostly shared) plus bytes, so that the bound is
 * what rendering may allocate, whatever the size of the libraries. Set
 * before the document is read: everything the document makes us allocate
 * counts. */
static int limit_memory(size_t bytes)
{
#ifdef KN_CLI_ASAN
    (void)bytes;
    return 0;
#else
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    int ok = f && fscanf(f, "%lu", &pages) == 1;
    if (f) fclose(f);
    if (!ok) {
        fprintf(stderr, "kinora: --max-memory: cannot read /proc/self/statm\n");
        return -1;
    }
    struct rlimit rl = {.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + bytes};
    rl.rlim_max = rl.rlim_cur;
    if (setrlimit(RLIMIT_AS, &rl) != 0) {
        fprintf(stderr, "kinora: --max-memory: %s\n", strerror(errno));
        return -1;
    }
    return 0;
#endif
}

static int cmd_frame(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    long frame = 0, max_memory = 0;
    static struct option opts[] = {{"frame", required_argument, 0, 'f'}, {"output", required_argument, 0, 'o'},
                                   {"max-memory", required_argument, 0, 'm'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
        if (ch == 'f') frame = parse_long(optarg, "--frame", 0, 100000000);
        else if (ch == 'o') out = optarg;
        else if (ch == 'm') max_memory = parse_long(optarg, "--max-memory", 1, LONG_MAX);
        else { usage(stderr); return 2; }
    }
    if (optind < argc) in = argv[optind];
    if (!in || !out) {
        usage(stderr);
        return 2;
    }
    if (max_memory > 0 && limit_memory((size_t)max_memory) != 0) return 2;
    size_t len;
    char *text = read_all(in, &len);
    if (!text) return 2;
    kn_renderer *r = NULL;
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_renderer_create(text, len, &r, &err);
    if (rc == KN_OK) rc = kn_renderer_draw(r, frame, &err);
    if (rc == KN_OK) {
        if (strcmp(out, "-") == 0) {
            uint8_t *png = NULL;
            size_t n = 0;
            rc = kn_canvas_png_buffer(kn_renderer_canvas(r), &png, &n, &err);
            if (rc == KN_OK && fwrite(png, 1, n, stdout) != n) rc = kn_err_set(&err, KN_EIO, NULL, "writing the PNG to stdout failed");
            free(png);
        } else {
            rc = kn_canvas_write_png(kn_renderer_canvas(r), out, &err);
        }
    }
    if (rc != KN_OK) print_doc_error(in, &err);
    kn_renderer_destroy(r);
    free(text);
    /* Out of memory gets its own status: the preview tells the client the
     * frame is too big for a preview rather than that something broke. */
    return rc == KN_OK ? 0 : rc == KN_ENOMEM ? KN_PREVIEW_EXIT_NOMEM : 1;
}

/* ---- render -------------------------------------------------------------- */

typedef struct cli_progress {
    int tty;
    double last;
} cli_progress;

static void cli_on_progress(void *ctx, const kn_run_progress *p)
{
    cli_progress *c = ctx;
    double now = kn_mono();
    int done = p->encoded >= p->total;
    if (c->tty) {
        int width = 30, fill = p->total ? (int)(width * p->encoded / p->total) : 0;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %ld/%ld frames  %.1f fps  ETA %.1f s ", bar, p->encoded, p->total, p->fps,
                p->eta < 0 ? 0.0 : p->eta);
        if (done) fputc('\n', stderr);
    } else if (done || now - c->last >= 2.0) {
        kn_info("render: %ld/%ld frames encoded (%ld rendered), %.1f fps, ETA %.1f s", p->encoded, p->total,
                p->rendered, p->fps, p->eta < 0 ? 0.0 : p->eta);
        c->last = now;
    }
}

typedef struct sig_ctx {
    kn_run *run;
    sigset_t set;
} sig_ctx;

static void *cli_sig_thread(void *arg)
{
    sig_ctx *s = arg;
    int sig;
    if (sigwait(&s->set, &sig) == 0 && sig != SIGUSR1) {
        kn_warn("render: interrupted, stopping");
        kn_run_cancel(s->run);
    }
    return NULL;
}

static int cmd_render(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    int workers = default_workers(), slots = 0;
    static struct option opts[] = {{"output", required_argument, 0, 'o'}, {"workers", required_argument, 0, 'w'},
                                   {"ring-slots", required_argument, 0, 'k'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:w:k:", opts, NULL)) != -1) {
        if (ch == 'o') out = optarg;
        else if (ch == 'w') workers = (int)parse_long(optarg, "--workers", 1, KN_RING_MAX_WORKERS);
        else if (ch == 'k') slots = (int)parse_long(optarg, "--ring-slots", 1, KN_RING_MAX_SLOTS);
        else { usage(stderr); return 2; }
    }
    if (optind < argc) in = argv[optind];
    if (!in || !out) {
        usage(stderr);
        return 2;
    }
    if (slots == 0) slots = 2 * workers + 2;
    size_t len;
    char *text = read_all(in, &len);
    if (!text) return 2;
    kn_doc *doc = NULL;
    kn_pool *pool = NULL;
    kn_run *run = NULL;
    kn_err err;
    kn_err_clear(&err);
    int rc = kn_doc_parse(text, len, NULL, &doc, &err);
    if (rc != KN_OK) {
        print_doc_error(in, &err);
        goto out;
    }
    /* The document says what to encode; a file named otherwise (a GIF in
     * x.mp4) would only confuse whoever opens it. */
    const kn_output *kind = &doc->output;
    const char *ext = kn_format_extension(kind->format), *dot = strrchr(out, '.');
    if (!dot || strcasecmp(dot + 1, ext) != 0) {
        fprintf(stderr, "kinora: %s: the document's output format is %s, so OUT must end in .%s "
                "(or change \"output\": {\"format\": ...})\n", out, kn_format_name(kind->format), ext);
        rc = KN_EINVAL;
        goto out;
    }
    kn_log_set_tag("render-cli");
    /* Over a file size limit a write fails with EFBIG (storage_failed)
     * instead of killing us with the partial file left behind. */
    signal(SIGXFSZ, SIG_IGN);
    if ((rc = kn_pool_start(workers, &pool, &err)) != KN_OK) goto fail;
    kn_encoder_init_logging();
    if ((rc = kn_run_create(pool, doc, text, len, out, slots, &run, &err)) != KN_OK) goto fail;
    cli_progress cp = {.tty = isatty(STDERR_FILENO)};
    kn_run_set_progress(run, cli_on_progress, &cp);

    sig_ctx sc = {.run = run};
    sigemptyset(&sc.set);
    sigaddset(&sc.set, SIGINT);
    sigaddset(&sc.set, SIGTERM);
    sigaddset(&sc.set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sc.set, NULL);
    pthread_t th;
    int have_th = pthread_create(&th, NULL, cli_sig_thread, &sc) == 0;

    kn_run_result res;
    double t0 = kn_mono();
    rc = kn_run_exec(run, &res, &err);
    if (have_th) {
        pthread_kill(th, SIGUSR1);
        pthread_join(th, NULL);
    }
    if (rc != KN_OK) goto fail;
    kn_info("render: wrote %s: %ld frames, %lld bytes, %s, %.2f s", out, res.frames, res.bytes, res.encoder,
            kn_mono() - t0);
    goto out;
fail:
    fprintf(stderr, "kinora: render failed (%s): %s\n", kn_err_name(rc), err.msg);
out:
    kn_run_destroy(run);
    kn_pool_stop(pool);
    kn_doc_destroy(doc);
    free(text);
    return rc == KN_OK ? 0 : 1;
}

/* ---- serve --------------------------------------------------------------- */

static int cmd_serve(int argc, char **argv)
{
    kn_server_config cfg;
    kn_server_config_defaults(&cfg);
    enum { O_TOKEN_FILE = 256, O_OPEN, O_MAX_CONNS, O_MAX_PER_IP, O_HEAD_TIMEOUT, O_IDLE_TIMEOUT };
    static struct option opts[] = {
        {"port", required_argument, 0, 'p'},      {"data", required_argument, 0, 'd'},
        {"workers", required_argument, 0, 'w'},   {"ring-slots", required_argument, 0, 'k'},
        {"max-body", required_argument, 0, 'b'},  {"max-queued", required_argument, 0, 'q'},
        {"token", required_argument, 0, 't'},     {"bind", required_argument, 0, 'a'},
        {"port-file", required_argument, 0, 'P'}, {"max-previews", required_argument, 0, 'V'},
        {"token-file", required_argument, 0, O_TOKEN_FILE},
        {"allow-unauthenticated", no_argument, 0, O_OPEN},
        {"max-connections", required_argument, 0, O_MAX_CONNS},
        {"max-connections-per-ip", required_argument, 0, O_MAX_PER_IP},
        {"head-timeout", required_argument, 0, O_HEAD_TIMEOUT},
        {"idle-timeout", required_argument, 0, O_IDLE_TIMEOUT}, {0, 0, 0, 0}};
    const char *token_file = NULL;
    char *file_token = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': cfg.port = (int)parse_long(optarg, "--port", 0, 65535); break;
        case 'd': cfg.data = optarg; break;
        case 'w': cfg.workers = (int)parse_long(optarg, "--workers", 1, KN_RING_MAX_WORKERS); break;
        case 'k': cfg.ring_slots = (int)parse_long(optarg, "--ring-slots", 1, KN_RING_MAX_SLOTS); break;
        case 'b':
            cfg.max_body = (size_t)parse_long(optarg, "--max-body", (long)KN_HTTP_MAX_BODY_MIN,
                                              (long)KN_HTTP_MAX_BODY_MAX);
            break;
        case 'q': cfg.max_queued = parse_long(optarg, "--max-queued", 1, KN_HTTP_MAX_QUEUED_MAX); break;
        case 't': cfg.token = optarg; break;
        case 'a': cfg.bind = optarg; break;
        case 'P': cfg.port_file = optarg; break;
        case 'V': cfg.max_previews = (int)parse_long(optarg, "--max-previews", 1, KN_PREVIEW_CONCURRENT_MAX); break;
        case O_TOKEN_FILE: token_file = optarg; break;
        case O_OPEN: cfg.allow_unauthenticated = 1; break;
        case O_MAX_CONNS:
            cfg.max_connections = (unsigned)parse_long(optarg, "--max-connections", 1, KN_HTTP_MAX_CONNECTIONS_MAX);
            break;
        case O_MAX_PER_IP:
            cfg.max_connections_per_ip =
                (unsigned)parse_long(optarg, "--max-connections-per-ip", 1, KN_HTTP_MAX_CONNECTIONS_MAX);
            break;
        case O_HEAD_TIMEOUT:
            cfg.head_timeout_s = (unsigned)parse_long(optarg, "--head-timeout", 1, KN_HTTP_HEAD_TIMEOUT_MAX_S);
            break;
        case O_IDLE_TIMEOUT:
            cfg.idle_timeout_s = (unsigned)parse_long(optarg, "--idle-timeout", KN_HTTP_IDLE_TIMEOUT_MIN_S,
                                                      KN_HTTP_IDLE_TIMEOUT_MAX_S);
            break;
        default: usage(stderr); return 2;
        }
    }
    kn_err err;
    kn_err_clear(&err);
    int rc = 1;
    if (cfg.token && token_file) {
        fprintf(stderr, "kinora: give the token once: --token or --token-file, not both\n");
        return 2;
    }
    if (token_file) {
        if (kn_server_read_token_file(token_file, &file_token, &err) != KN_OK) goto out;
        cfg.token = file_token;
    } else if (cfg.token) {
        kn_warn("--token shows the token to every user of this machine (ps, /proc/PID/cmdline); "
                "use KINORA_TOKEN or --token-file instead");
    } else {
        cfg.token = getenv("KINORA_TOKEN");
    }
    if (kn_server_run(&cfg, &err) != KN_OK) goto out;
    rc = 0;
out:
    if (rc) fprintf(stderr, "kinora: %s\n", err.msg);
    free(file_token);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "render")) return cmd_render(argc - 1, argv + 1);
    if (!strcmp(cmd, "frame")) return cmd_frame(argc - 1, argv + 1);
    if (!strcmp(cmd, "validate")) return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
        printf("kinora %s\n", KN_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "kinora: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
