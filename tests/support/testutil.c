/* tests/support/testutil.c - see testutil.h. */
#include "tests/support/testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tu_tmpdir(char *out, size_t outsz)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, outsz, "%s/kinora-test.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(out)) out[0] = '\0';
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

void tu_rmtree(const char *path)
{
    if (path && *path) nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb; cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

const char *tu_src(const char *rel)
{
    static char buf[4096];
#ifdef KN_SOURCE_DIR
    snprintf(buf, sizeof buf, "%s/%s", KN_SOURCE_DIR, rel);
#else
    snprintf(buf, sizeof buf, "%s", rel);
#endif
    return buf;
}

struct timespec tu_deadline(int timeout_ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += timeout_ms / 1000;
    t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* ---- HTTP client ----------------------------------------------------- */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

void tu_resp_free(tu_resp *r)
{
    if (!r) return;
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tu_http(int port, const char *method, const char *path, const char *extra_headers,
            const void *body, size_t body_len, tu_resp *out)
{
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        close(fd);
        return -1;
    }
    char head[4096];
    int k = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s",
                     method, path, extra_headers ? extra_headers : "", "");
    if (body) k += snprintf(head + k, sizeof head - (size_t)k, "Content-Length: %zu\r\n", body_len);
    k += snprintf(head + k, sizeof head - (size_t)k, "\r\n");
    if (write_all(fd, head, (size_t)k) != 0 || (body && write_all(fd, body, body_len) != 0)) {
        /* The server may answer (413) before reading everything: go on. */
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 120000) <= 0) break;
        if (cap - n < 65536) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        free(buf);
        return -1;
    }
    size_t hl = (size_t)(sep - buf) + 2;
    out->headers = strndup(buf, hl);
    size_t bl = n - (hl + 2);
    out->body = malloc(bl + 1);
    memcpy(out->body, sep + 4, bl);
    out->body[bl] = '\0';
    out->len = bl;
    /* Chunked answers (MHD uses them for unknown sizes): de-chunk. */
    const char *te = tu_header(out, "Transfer-Encoding");
    if (te && strcasecmp(te, "chunked") == 0) {
        char *src = out->body, *dst = malloc(bl + 1);
        size_t dn = 0;
        char *p = src;
        for (;;) {
            unsigned long sz = strtoul(p, &p, 16);
            p = strstr(p, "\r\n");
            if (!p || sz == 0) break;
            p += 2;
            memcpy(dst + dn, p, sz);
            dn += sz;
            p += sz + 2;
        }
        dst[dn] = '\0';
        free(out->body);
        out->body = dst;
        out->len = dn;
    }
    free(buf);
    return 0;
}

const char *tu_header(const tu_resp *r, const char *name)
{
    static char val[1024];
    if (!r->headers) return NULL;
    size_t nl = strlen(name);
    const char *p = strstr(r->headers, "\r\n");
    while (p && p[2]) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ') v++;
            const char *e = strstr(v, "\r\n");
            size_t vl = e ? (size_t)(e - v) : strlen(v);
            if (vl >= sizeof val) vl = sizeof val - 1;
            memcpy(val, v, vl);
            val[vl] = '\0';
            return val;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

int tu_server_start(const char *data, const char *const *extra, int *port)
{
    char pf[4200], logp[4200];
    snprintf(pf, sizeof pf, "%s/port", data);
    snprintf(logp, sizeof logp, "%s/server.log", data);
    unlink(pf);
    mkdir(data, 0755);
    pid_t pid = fork();
    if (pid == 0) {
        /* A failed assertion longjmps past the test's server stop: the
         * server must not outlive the test process (ctest would wait on it
         * until its timeout). */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (lf >= 0) dup2(lf, 2);
        const char *argv[32] = {"kinora", "serve", "--port", "0", "--bind", "127.0.0.1", "--data", data,
                                "--port-file", pf};
        int n = 10;
        for (int i = 0; extra && extra[i] && n < 31; i++) argv[n++] = extra[i];
        argv[n] = NULL;
        (void)argv;
#ifdef KN_TEST_BIN
        execv(KN_TEST_BIN, (char *const *)argv);
#endif
        _exit(127);
    }
    /* Wait for the port file: the server writes it once listening. A test
     * helper may poll here (the server is another process we cannot wait on). */
    for (int i = 0; i < 3000; i++) {
        char *s = tu_read_file(pf, NULL);
        if (s) {
            *port = (int)strtol(s, NULL, 10);
            free(s);
            return pid;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return -1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

void tu_server_stop(int pid, int hard)
{
    if (pid <= 0) return;
    kill(pid, hard ? SIGKILL : SIGTERM);
    waitpid(pid, NULL, 0);
}
