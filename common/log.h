/*
 * common/log.h - one log for every process of Kinora (server, pool
 * supervisor, render workers). Lines go to stderr as
 * "2026-11-22T10:00:00.123Z LEVEL [proc pid] message". Safe to call from any
 * thread; each line is written with a single write(2) so lines from several
 * processes never interleave mid-line.
 */
#ifndef KN_COMMON_LOG_H
#define KN_COMMON_LOG_H

enum { KN_LOG_DEBUG = 0, KN_LOG_INFO, KN_LOG_WARN, KN_LOG_ERROR, KN_LOG_QUIET };

/* Sets the minimum level printed (default KN_LOG_INFO; KINORA_LOG=debug in
 * the environment lowers it) and the process tag shown in each line. */
void kn_log_set_level(int level);
void kn_log_set_tag(const char *tag);   /* copied; e.g. "server", "render" */
int kn_log_level(void);

void kn_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define kn_debug(...) kn_log(KN_LOG_DEBUG, __VA_ARGS__)
#define kn_info(...)  kn_log(KN_LOG_INFO, __VA_ARGS__)
#define kn_warn(...)  kn_log(KN_LOG_WARN, __VA_ARGS__)
#define kn_error(...) kn_log(KN_LOG_ERROR, __VA_ARGS__)

/* Wall-clock seconds since the epoch, and a monotonic clock in seconds. */
double kn_now(void);
double kn_mono(void);

/* Formats epoch seconds as RFC 3339 UTC with milliseconds into buf
 * ("2026-11-22T10:00:00.123Z"); buf must hold 32 bytes. */
void kn_time_format(double epoch, char buf[32]);

#endif
