/*
 * pipeline/sched.c - see sched.h.
 *
 * Invariant: `current` is non-NULL exactly while a kn_run executes, and is
 * only read or cleared under `lock`, so a DELETE either reaches the run or
 * finds nothing to stop (and then the store's canceled status wins, because
 * kn_store_finish refuses to change a job that already ended).
 *
 * The render pool may die and heal (pipeline/pool.h). While it is down the
 * scheduler takes no job (each would fail at once), and the pool's
 * listener wakes it when a new supervisor is up. A run that failed because
 * the pool died under it is queued again (kn_store_requeue) until the job
 * has been started KN_JOB_MAX_ATTEMPTS times, the limit crash recovery at
 * startup applies too.
 */
#include "pipeline/sched.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/require.h"
#include "doc/doc.h"
#include "pipeline/run.h"

struct kn_sched {
    kn_store *store;
    kn_pool *pool;
    char video_dir[4096];
    int ring_slots;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int wake, stop;
    kn_run *current;
    char current_id[KN_JOB_ID_MAX];
    kn_sched_stats stats;
    struct {                        /* documents parsed by POST, by job id */
        char id[KN_JOB_ID_MAX];
        kn_doc *doc;
    } offered[4];
    unsigned offered_next;
    pthread_mutex_t ev_lock;        /* job events (kn_sched_wait) */
    pthread_cond_t ev_cond;         /* CLOCK_MONOTONIC */
    unsigned long ev_gen;
    kn_sched_run_ops run;
};

/* An id the store can hold: the scheduler only ever gets ids that came
 * from it or from kn_http_new_id. */
static bool valid_id(const char *id)
{
    return id && id[0] && strnlen(id, KN_JOB_ID_MAX) < KN_JOB_ID_MAX;
}

void kn_sched_notify(kn_sched *s)
{
    KN_REQUIRE(s);
    pthread_mutex_lock(&s->ev_lock);
    s->ev_gen++;
    pthread_cond_broadcast(&s->ev_cond);
    pthread_mutex_unlock(&s->ev_lock);
}

unsigned long kn_sched_generation(kn_sched *s)
{
    KN_REQUIRE(s);
    pthread_mutex_lock(&s->ev_lock);
    unsigned long g = s->ev_gen;
    pthread_mutex_unlock(&s->ev_lock);
    return g;
}

unsigned long kn_sched_wait(kn_sched *s, unsigned long seen, int timeout_ms)
{
    KN_REQUIRE(s && timeout_ms >= 0);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->ev_lock);
    while (s->ev_gen == seen) {
        if (pthread_cond_timedwait(&s->ev_cond, &s->ev_lock, &until) == ETIMEDOUT) break;
    }
    unsigned long g = s->ev_gen;
    pthread_mutex_unlock(&s->ev_lock);
    return g;
}

void kn_sched_offer(kn_sched *s, const char *id, kn_doc *doc)
{
    KN_REQUIRE(s && valid_id(id) && doc);
    pthread_mutex_lock(&s->lock);
    unsigned k = s->offered_next++ % 4;
    kn_doc *old = s->offered[k].doc;
    snprintf(s->offered[k].id, sizeof s->offered[k].id, "%s", id);
    s->offered[k].doc = doc;
    pthread_mutex_unlock(&s->lock);
    kn_doc_destroy(old);
}

/* The offered doc of job id, now owned by the caller, or NULL. */
static kn_doc *take_offered(kn_sched *s, const char *id)
{
    kn_doc *d = NULL;
    pthread_mutex_lock(&s->lock);
    for (int k = 0; k < 4 && !d; k++) {
        if (s->offered[k].doc && strcmp(s->offered[k].id, id) == 0) {
            d = s->offered[k].doc;
            s->offered[k].doc = NULL;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return d;
}

typedef struct prog_ctx {
    kn_sched *s;
    const char *id;
    long rendered_before, encoded_before;
} prog_ctx;

static void on_progress(void *ctx, const kn_run_progress *p)
{
    prog_ctx *c = ctx;
    kn_err err;
    if (kn_store_progress(c->s->store, c->id, p->total, p->rendered, p->encoded, p->fps, p->eta, &err) != KN_OK)
        kn_warn("job %s: could not record progress: %s", c->id, err.msg);
    kn_sched_notify(c->s);
    pthread_mutex_lock(&c->s->lock);
    c->s->stats.frames_rendered += p->rendered - c->rendered_before;
    c->s->stats.frames_encoded += p->encoded - c->encoded_before;
    pthread_mutex_unlock(&c->s->lock);
    c->rendered_before = p->rendered;
    c->encoded_before = p->encoded;
}

void kn_sched_video_path(const kn_sched *s, const char *id, kn_format format, char *buf, size_t n)
{
    KN_REQUIRE(s && valid_id(id) && buf);
    snprintf(buf, n, "%s/%s.%s", s->video_dir, id, kn_format_extension(format));
}

static void fail_job(kn_sched *s, const char *id, int code, const char *msg)
{
    kn_err err;
    const char *name = kn_err_job_code(code);   /* only the documented job codes reach clients */
    kn_warn("job %s failed (%s): %s", id, name, msg);
    if (kn_store_finish(s->store, id, KN_STATUS_FAILED, NULL, name, msg, &err) != KN_OK &&
        err.code != KN_ECONFLICT)
        kn_error("job %s: could not record its failure: %s", id, err.msg);
}

/* The run died with the render pool, not of the job: queue it again
 * while it has attempts left, else fail it with the run's error. */
static void requeue_or_fail(kn_sched *s, const char *id, int code, const char *msg)
{
    kn_err err;
    int requeued = 0;
    if (kn_store_requeue(s->store, id, KN_JOB_MAX_ATTEMPTS, &requeued, &err) != KN_OK) {
        kn_error("job %s: could not queue it again: %s", id, err.msg);
    } else if (requeued) {
        kn_warn("job %s: %s; queued again for the restarted pool", id, msg);
        return;
    }
    char why[600];
    snprintf(why, sizeof why, "%s (the job was started %d times)", msg, KN_JOB_MAX_ATTEMPTS);
    fail_job(s, id, code, why);
}

static void run_one(kn_sched *s, const char *id)
{
    char *text = NULL;
    kn_doc *doc = NULL;
    kn_run *run = NULL;
    kn_err err;
    kn_err_clear(&err);
    char path[4200] = "";

    if (kn_store_get_doc(s->store, id, &text, &err) != KN_OK) {
        kn_error("job %s: cannot read its document back: %s", id, err.msg);
        goto out;
    }
    size_t len = strlen(text);
    doc = take_offered(s, id);
    if (!doc && kn_doc_parse(text, len, NULL, &doc, &err) != KN_OK) {
        fail_job(s, id, KN_ERENDER, err.msg);
        goto out;
    }
    const kn_output *kind = &doc->output;
    kn_sched_video_path(s, id, kind->format, path, sizeof path);
    if (s->run.create(s->pool, doc, text, len, path, s->ring_slots, &run, &err) != KN_OK) {
        fail_job(s, id, err.code, err.msg);
        goto out;
    }
    prog_ctx pc = {.s = s, .id = id};
    s->run.set_progress(run, on_progress, &pc);
    pthread_mutex_lock(&s->lock);
    s->current = run;
    snprintf(s->current_id, sizeof s->current_id, "%s", id);
    int stopping = s->stop;
    pthread_mutex_unlock(&s->lock);
    if (stopping) s->run.cancel(run);

    /* A DELETE that landed between take_next and here already marked the
     * job canceled: do not start rendering it. */
    kn_job_rec now = {0};
    if (kn_store_get(s->store, id, &now, NULL) == KN_OK && now.status != KN_STATUS_RENDERING)
        s->run.cancel(run);
    kn_job_rec_clear(&now);

    kn_info("job %s: rendering %ld frames %dx%d", id, doc->n_frames, doc->width, doc->height);
    kn_sched_notify(s);
    double t0 = kn_mono();
    kn_run_result res;
    int rc = s->run.exec(run, &res, &err);
    double dt = kn_mono() - t0;

    pthread_mutex_lock(&s->lock);
    s->current = NULL;
    s->current_id[0] = '\0';
    s->stats.render_seconds += dt;   /* wall time of the job's pipeline */
    s->stats.encode_seconds += rc == KN_OK || rc == KN_ECANCELED ? res.encode_seconds : 0;
    stopping = s->stop;
    pthread_mutex_unlock(&s->lock);

    if (rc == KN_OK) {
        kn_job_output facts = {
            .format = kind->format, .codec = kind->codec, .bytes = res.bytes,
            .width = doc->width, .height = doc->height, .frames = res.frames,
            .duration = (double)res.frames * doc->fps_den / doc->fps_num,
        };
        snprintf(facts.encoder, sizeof facts.encoder, "%s", res.encoder);
        kn_err ferr;
        if (kn_store_finish(s->store, id, KN_STATUS_SUCCEEDED, &facts, NULL, NULL, &ferr) != KN_OK) {
            /* Canceled while finishing: the cancel wins, drop the file. */
            kn_info("job %s finished but was canceled meanwhile: %s", id, ferr.msg);
            unlink(path);
        } else {
            kn_info("job %s: succeeded in %.2f s (%s, %lld bytes)", id, dt, res.encoder, res.bytes);
        }
    } else if (rc == KN_ECANCELED) {
        if (stopping) {
            kn_info("job %s: interrupted by shutdown; it will run again at the next start", id);
        } else {
            kn_store_finish(s->store, id, KN_STATUS_CANCELED, NULL, NULL, NULL, NULL);
            kn_info("job %s: canceled", id);
        }
    } else if (res.pool_lost && !stopping) {
        requeue_or_fail(s, id, rc, err.msg);
    } else {
        fail_job(s, id, rc, err.msg);
    }
out:
    kn_sched_notify(s);   /* the job ended one way or another */
    s->run.destroy(run);
    kn_doc_destroy(doc);
    free(text);
}

static void *sched_main(void *arg)
{
    kn_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->stop && !s->wake) pthread_cond_wait(&s->cond, &s->lock);
        int stop = s->stop;
        s->wake = 0;
        pthread_mutex_unlock(&s->lock);
        if (stop) break;
        for (;;) {
            char id[KN_JOB_ID_MAX];
            int found = 0;
            kn_err err;
            /* No pool, no job: it waits queued; sched_pool_up wakes us. */
            if (s->pool && !kn_pool_ready(s->pool)) break;
            if (kn_store_take_next(s->store, id, &found, &err) != KN_OK) {
                kn_error("scheduler: cannot read the queue: %s", err.msg);
                break;
            }
            if (!found) break;
            run_one(s, id);
            pthread_mutex_lock(&s->lock);
            stop = s->stop;
            pthread_mutex_unlock(&s->lock);
            if (stop) break;
        }
    }
    return NULL;
}

static void remove_partials(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".part") == 0) {
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}

/* The pool's listener: a new supervisor is up, look at the queue again. */
static void sched_pool_up(void *ctx)
{
    kn_sched_wake(ctx);
}

int kn_sched_start(kn_store *store, kn_pool *pool, const char *video_dir,
                   int ring_slots, kn_sched **out, kn_err *err)
{
    static const kn_sched_run_ops runs = {
        .create = kn_run_create, .set_progress = kn_run_set_progress, .exec = kn_run_exec,
        .cancel = kn_run_cancel, .destroy = kn_run_destroy,
    };
    KN_REQUIRE(pool);   /* the real runs render through it */
    return kn_sched_start_with(store, pool, video_dir, ring_slots, &runs, out, err);
}

int kn_sched_start_with(kn_store *store, kn_pool *pool, const char *video_dir, int ring_slots,
                        const kn_sched_run_ops *ops, kn_sched **out, kn_err *err)
{
    KN_REQUIRE(store && video_dir && ops && out);   /* pool: whatever ops need */
    kn_sched *s = calloc(1, sizeof *s);
    if (!s) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory starting the scheduler");
    s->store = store;
    s->pool = pool;
    s->ring_slots = ring_slots;
    s->run = *ops;
    snprintf(s->video_dir, sizeof s->video_dir, "%s", video_dir);
    remove_partials(video_dir);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_mutex_init(&s->ev_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->ev_cond, &ca);
    pthread_condattr_destroy(&ca);
    s->wake = 1;   /* look at jobs a previous run left queued */
    if (pool) kn_pool_set_listener(pool, sched_pool_up, s);
    int e = pthread_create(&s->thread, NULL, sched_main, s);
    if (e != 0) {
        if (pool) kn_pool_set_listener(pool, NULL, NULL);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->ev_lock);
        pthread_cond_destroy(&s->ev_cond);
        free(s);
        return kn_err_set(err, KN_EINTERNAL, NULL, "cannot start the scheduler thread: %s", strerror(e));
    }
    *out = s;
    return KN_OK;
}

void kn_sched_wake(kn_sched *s)
{
    KN_REQUIRE(s);
    pthread_mutex_lock(&s->lock);
    s->wake = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

int kn_sched_cancel(kn_sched *s, const char *id)
{
    int hit = 0;
    KN_REQUIRE(s && valid_id(id));
    pthread_mutex_lock(&s->lock);
    if (s->current && strcmp(s->current_id, id) == 0) {
        s->run.cancel(s->current);
        hit = 1;
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

void kn_sched_get_stats(kn_sched *s, kn_sched_stats *out)
{
    KN_REQUIRE(s && out);
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}

void kn_sched_stop(kn_sched *s)
{
    if (!s) return;
    if (s->pool) kn_pool_set_listener(s->pool, NULL, NULL);   /* before s goes */
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    if (s->current) s->run.cancel(s->current);
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    for (int k = 0; k < 4; k++) kn_doc_destroy(s->offered[k].doc);
    pthread_mutex_destroy(&s->ev_lock);
    pthread_cond_destroy(&s->ev_cond);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}
