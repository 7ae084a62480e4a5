/*
 * common/log.c - see log.h. The level and tag are process globals set once at
 * startup (before threads), so reading them unlocked is safe.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int g_level = -1;
static char g_tag[16] = "kinora";

static int env_level(void)
{
    const char *s = getenv("KINORA_LOG");
    if (!s) return KN_LOG_INFO;
    if (!strcasecmp(s, "debug")) return KN_LOG_DEBUG;
    if (!strcasecmp(s, "warn")) return KN_LOG_WARN;
    if (!strcasecmp(s, "error")) return KN_LOG_ERROR;
    if (!strcasecmp(s, "quiet")) return KN_LOG_QUIET;
    return KN_LOG_INFO;
}

void kn_log_set_level(int level) { g_level = level; }
int kn_log_level(void) { if (g_level < 0) g_level = env_level(); return g_level; }
void kn_log_set_tag(const char *tag) { snprintf(g_tag, sizeof g_tag, "%s", tag); }

double kn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double kn_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void kn_time_format(double epoch, char buf[32])
{
    time_t s = (time_t)epoch;
    int ms = (int)((epoch - (double)s) * 1000.0);
    if (ms < 0) ms = 0;
    if (ms > 999) ms = 999;
    struct tm tm;
    gmtime_r(&s, &tm);
    /* strftime bounds every field, so the result always fits 32 bytes. */
    char base[24];
    if (strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0) base[0] = '\0';
    snprintf(buf, 32, "%.19s.%03uZ", base, (unsigned)ms % 1000u);
}

void kn_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < kn_log_level() || level >= KN_LOG_QUIET) return;
    char line[2048], ts[32];
    kn_time_format(kn_now(), ts);
    int n = snprintf(line, sizeof line, "%s %-5s [%s %d] ", ts, names[level], g_tag, (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line - 1) n = (int)sizeof line - 2;
    while (n > 0 && line[n - 1] == '\n') n--;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
