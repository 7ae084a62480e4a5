/*
 * store/store.h - durable job records behind a small interface (SQLite in
 * WAL mode now; a PostgreSQL backend will implement the same functions).
 *
 * A job record is the request's document text, its status, progress,
 * timestamps, error and output facts. The store is safe to call from any
 * thread (one connection, serialised by a mutex inside).
 *
 * Ownership: kn_job_rec strings are owned by the record; kn_job_rec_clear
 * frees them. Functions that fill a record overwrite it (clear it first if
 * it held data).
 */
#ifndef KN_STORE_STORE_H
#define KN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/vocab.h"

typedef struct kn_store kn_store;

/* The facts of a finished video. The store keeps them as columns; the API
 * turns them into a job's "output" object (api/resource.c). */
typedef struct kn_job_output {
    kn_format format;
    kn_codec codec;
    char encoder[32];           /* libavcodec name of the encoder that ran */
    long long bytes;
    int width, height;
    long frames;
    double duration;            /* seconds */
} kn_job_output;

typedef struct kn_job_rec {
    char id[KN_JOB_ID_MAX];
    kn_job_status status;
    char *doc;                  /* the posted JSON text: set by the caller of
                                   kn_store_insert; reads leave it NULL (see
                                   kn_store_get_doc) */
    char *metadata;             /* JSON text of "metadata", or NULL */
    double created_at;          /* epoch seconds; 0 = null */
    double started_at, finished_at;
    long frames_total, frames_rendered, frames_encoded;
    double render_fps;          /* progress.fps */
    double eta_seconds;         /* < 0 = null */
    char error_code[32];        /* "" = no error */
    char *error_message;        /* NULL = no error */
    bool has_output;            /* output is set: the job succeeded (a row
                                   migrated without its output facts has
                                   none) */
    kn_job_output output;
    int attempts;               /* times rendering started */
} kn_job_rec;

void kn_job_rec_clear(kn_job_rec *r);   /* frees strings, zeroes; accepts NULL */

/* Contract (KN_REQUIRE, common/require.h): every kn_store argument is a
 * handle from kn_store_open; ids are non-empty and shorter than
 * KN_JOB_ID_MAX; out-pointers are not NULL; statuses are in range. A
 * caller validates ids and statuses that come from users before calling. */

/* Opens (creating if needed) the database at path, enables WAL, migrates
 * the schema to the current version. */
int kn_store_open(const char *path, kn_store **out, kn_err *err);
void kn_store_close(kn_store *s);       /* accepts NULL */

/* Inserts a new queued job. When idem_key is not NULL: if a job with this key
 * was created within 24 h and its doc text equals rec->doc, nothing is
 * inserted, *existing is set to 1 and rec is overwritten with that job;
 * if the doc differs, KN_ECONFLICT. max_queued > 0 makes the insert fail with
 * KN_EFULL when that many jobs are already queued. */
int kn_store_insert(kn_store *s, kn_job_rec *rec, const char *idem_key,
                    long max_queued, int *existing, kn_err *err);

/* Reads one job, all but its document (out->doc is NULL: status polls must
 * not copy a multi-megabyte text). KN_ENOTFOUND when absent. */
int kn_store_get(kn_store *s, const char *id, kn_job_rec *out, kn_err *err);

/* The status of job id alone, cheap whatever the size of the record (the
 * status is stored before the metadata, which a read of any later column
 * walks through): how an event stream sees that a queued job has not
 * moved. KN_ENOTFOUND when absent. */
int kn_store_get_status(kn_store *s, const char *id, kn_job_status *out, kn_err *err);

/* The posted document text of job id in *doc (malloc'ed, the caller frees
 * it). KN_ENOTFOUND when the job does not exist. */
int kn_store_get_doc(kn_store *s, const char *id, char **doc, kn_err *err);

/* Lists jobs newest first, those with *status only (status NULL: all).
 * limit <= 0 means KN_STORE_LIST_DEFAULT; more than KN_STORE_LIST_MAX is cut
 * to it. after: an id cursor (list jobs older than it) or NULL; one that
 * names no job is KN_EINVAL. max_bytes > 0 also ends the page before a
 * record whose metadata and error message would take the page's total of
 * them over max_bytes (the first record is always listed), so a page of
 * large records is never read whole into memory; 0: no byte bound. *out is
 * a malloc'ed array of *n records (free each with kn_job_rec_clear, then
 * free the array). next receives the id to pass as `after` for the next
 * page, or "" when there is none. */
int kn_store_list(kn_store *s, const kn_job_status *status, int limit, const char *after,
                  size_t max_bytes, kn_job_rec **out, size_t *n, char next[KN_JOB_ID_MAX],
                  kn_err *err);

/* The oldest queued job's id, moved to rendering with started_at = now and
 * attempts + 1. *found = 0 when the queue is empty. */
int kn_store_take_next(kn_store *s, char id[KN_JOB_ID_MAX], int *found, kn_err *err);

/* Progress of a rendering job (only applied while it is rendering). The
 * counts are >= 0. */
int kn_store_progress(kn_store *s, const char *id, long total, long rendered,
                      long encoded, double fps, double eta, kn_err *err);

/* Ends a job in a final status: succeeded (output required), failed
 * (error_code required, under 32 bytes; error_message may be NULL) or
 * canceled; sets finished_at. Only a job that is queued or rendering
 * changes; returns KN_ECONFLICT otherwise, KN_ENOTFOUND when it is gone. */
int kn_store_finish(kn_store *s, const char *id, kn_job_status status,
                    const kn_job_output *output, const char *error_code,
                    const char *error_message, kn_err *err);

/* Deletes a job record. KN_ENOTFOUND when absent. */
int kn_store_delete(kn_store *s, const char *id, kn_err *err);

/* Crash recovery at startup: every job left rendering goes back to queued,
 * except one that has already been started max_attempts (>= 1) times, which
 * fails with error code "interrupted". *requeued and *failed count them (may
 * be NULL). */
int kn_store_recover(kn_store *s, int max_attempts, int *requeued, int *failed,
                     kn_err *err);

/* Puts one job that is rendering back in the queue, as crash recovery does,
 * when it has been started fewer than max_attempts (>= 1) times: for a run
 * that died with the render pool, not with the job. *requeued is 1 when it
 * was queued again, 0 when it was not rendering (canceled meanwhile, say) or
 * has used its attempts (the caller then fails it). */
int kn_store_requeue(kn_store *s, const char *id, int max_attempts, int *requeued, kn_err *err);

/* Number of jobs with *status (status NULL: all jobs). */
int kn_store_count(kn_store *s, const kn_job_status *status, long *n, kn_err *err);

#endif
