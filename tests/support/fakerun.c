/* tests/support/fakerun.c - see fakerun.h. */
#include "tests/support/fakerun.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/vocab.h"
#include "common/log.h"
#include "doc/doc.h"
#include "tests/support/testutil.h"

enum { MODE_OK, MODE_BLOCK, MODE_STEPS, MODE_FAIL, MODE_NOCREATE, MODE_POOLLOST };

typedef struct fake_run {
    char id[KN_JOB_ID_MAX];
    char out_path[4300];
    long frames;
    int mode, code;
    int canceled;
    kn_run_progress_fn progress;
    void *progress_ctx;
} fake_run;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;   /* any change below */
static tu_fakerun_log g_log;
static long g_steps;
static void (*g_on_create)(const char *id, void *ctx);
static void *g_on_create_ctx;

void tu_fakerun_reset(void)
{
    pthread_mutex_lock(&g_lock);
    memset(&g_log, 0, sizeof g_log);
    g_steps = 0;
    pthread_mutex_unlock(&g_lock);
}

void tu_fakerun_get_log(tu_fakerun_log *out)
{
    pthread_mutex_lock(&g_lock);
    *out = g_log;
    pthread_mutex_unlock(&g_lock);
}

void tu_fakerun_on_create(void (*fn)(const char *id, void *ctx), void *ctx)
{
    pthread_mutex_lock(&g_lock);
    g_on_create = fn;
    g_on_create_ctx = ctx;
    pthread_mutex_unlock(&g_lock);
}

int tu_fakerun_wait_running(const char *id, int timeout_ms)
{
    struct timespec until = tu_deadline(timeout_ms);
    int found = 0, rc = 0;
    pthread_mutex_lock(&g_lock);
    for (;;) {
        for (int i = 0; i < g_log.execs && i < TU_FAKE_LOG && !found; i++) found = !strcmp(g_log.exec_id[i], id);
        if (found || rc == ETIMEDOUT) break;
        rc = pthread_cond_timedwait(&g_cond, &g_lock, &until);
    }
    pthread_mutex_unlock(&g_lock);
    return found ? 0 : -1;
}

void tu_fakerun_step(void)
{
    pthread_mutex_lock(&g_lock);
    g_steps++;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
}

char *tu_fake_job(long frames, const char *meta)
{
    char *t = malloc(256);
    if (t) snprintf(t, 256, "{\"width\":32,\"height\":32,\"fps\":10,\"duration\":%g,\"metadata\":{%s}}",
                    frames / 10.0, meta);
    return t;
}

uint8_t tu_fake_video_byte(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 8) * 13 + 1);
}

/* The job id is the output file's name without its extension. */
static void id_of(const char *path, char id[KN_JOB_ID_MAX])
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strchr(base, '.');
    size_t n = dot ? (size_t)(dot - base) : strlen(base);
    if (n >= KN_JOB_ID_MAX) n = KN_JOB_ID_MAX - 1;
    memcpy(id, base, n);
    id[n] = '\0';
}

static void read_mode(const kn_doc *doc, int *mode, int *code)
{
    *mode = MODE_OK;
    *code = 0;
    json_t *m = doc->metadata_json ? json_loads(doc->metadata_json, 0, NULL) : NULL;
    const char *f = json_string_value(json_object_get(m, "fake"));
    if (f && !strcmp(f, "block")) *mode = MODE_BLOCK;
    if (f && !strcmp(f, "steps")) *mode = MODE_STEPS;
    if (f && !strcmp(f, "nocreate")) *mode = MODE_NOCREATE;
    if (f && !strcmp(f, "fail")) {
        *mode = MODE_FAIL;
        *code = (int)json_integer_value(json_object_get(m, "code"));
    }
    if (f && !strcmp(f, "poollost")) {
        *mode = MODE_POOLLOST;
        *code = (int)json_integer_value(json_object_get(m, "times"));
    }
    json_decref(m);
}

static int fake_create(kn_pool *pool, const kn_doc *doc, const char *doc_text, size_t len,
                       const char *out_path, int ring_slots, kn_run **out, kn_err *err)
{
    (void)pool;
    (void)doc_text;
    (void)len;
    (void)ring_slots;
    int mode, code;
    read_mode(doc, &mode, &code);
    pthread_mutex_lock(&g_lock);
    if (g_log.creates < TU_FAKE_LOG) g_log.frames[g_log.creates] = doc->n_frames;
    g_log.creates++;
    void (*hook)(const char *, void *) = g_on_create;
    void *hook_ctx = g_on_create_ctx;
    pthread_mutex_unlock(&g_lock);
    if (mode == MODE_NOCREATE) return kn_err_set(err, KN_ENOMEM, NULL, "fake: no run for this job");
    fake_run *r = calloc(1, sizeof *r);
    if (!r) return kn_err_set(err, KN_ENOMEM, NULL, "fake: out of memory");
    snprintf(r->out_path, sizeof r->out_path, "%s", out_path);
    id_of(out_path, r->id);
    r->frames = doc->n_frames;
    r->mode = mode;
    r->code = code;
    if (hook) hook(r->id, hook_ctx);
    *out = (kn_run *)r;
    return KN_OK;
}

static void fake_set_progress(kn_run *kr, kn_run_progress_fn fn, void *ctx)
{
    fake_run *r = (fake_run *)kr;
    r->progress = fn;
    r->progress_ctx = ctx;
}

static void report(fake_run *r, long done)
{
    kn_run_progress p = {.total = r->frames, .rendered = done, .encoded = done, .fps = 0,
                         .eta = done == r->frames ? 0 : -1};
    if (r->progress) r->progress(r->progress_ctx, &p);
}

static int finish_ok(fake_run *r, kn_run_result *res, kn_err *err)
{
    FILE *f = fopen(r->out_path, "wb");
    if (!f) return kn_err_set(err, KN_EIO, NULL, "fake: cannot write %s", r->out_path);
    for (size_t i = 0; i < TU_FAKE_VIDEO_BYTES; i++) fputc(tu_fake_video_byte(i), f);
    if (fclose(f) != 0) return kn_err_set(err, KN_EIO, NULL, "fake: cannot write %s", r->out_path);
    snprintf(res->encoder, sizeof res->encoder, "fake");
    res->frames = r->frames;
    res->bytes = TU_FAKE_VIDEO_BYTES;
    return KN_OK;
}

static int fake_exec(kn_run *kr, kn_run_result *res, kn_err *err)
{
    fake_run *r = (fake_run *)kr;
    memset(res, 0, sizeof *res);
    pthread_mutex_lock(&g_lock);
    if (g_log.execs < TU_FAKE_LOG) snprintf(g_log.exec_id[g_log.execs], KN_JOB_ID_MAX, "%s", r->id);
    g_log.execs++;
    if (r->canceled) g_log.canceled_before_exec++;
    pthread_cond_broadcast(&g_cond);
    int rc = KN_OK;
    /* A hang guard only: a test that forgets to cancel or step fails
     * instead of waiting for ctest's timeout. */
    struct timespec until = tu_deadline(60000);
    if (r->mode == MODE_BLOCK) {
        int w = 0;
        while (!r->canceled && w != ETIMEDOUT) w = pthread_cond_timedwait(&g_cond, &g_lock, &until);
    }
    long done = 0, seen = g_steps;
    while (r->mode == MODE_STEPS && !r->canceled && done < r->frames) {
        if (g_steps > seen) {
            seen++;
            done++;
            pthread_mutex_unlock(&g_lock);
            report(r, done);   /* outside the lock: it writes the store */
            pthread_mutex_lock(&g_lock);
            continue;
        }
        if (pthread_cond_timedwait(&g_cond, &g_lock, &until) == ETIMEDOUT) break;
    }
    int canceled = r->canceled, runs = 0;
    for (int i = 0; i < g_log.execs && i < TU_FAKE_LOG; i++) runs += !strcmp(g_log.exec_id[i], r->id);
    pthread_mutex_unlock(&g_lock);

    if (canceled) return kn_err_set(err, KN_ECANCELED, NULL, "canceled");
    if (r->mode == MODE_BLOCK || (r->mode == MODE_STEPS && done < r->frames))
        return kn_err_set(err, KN_EINTERNAL, NULL, "fake: the test never let job %s go on", r->id);
    if (r->mode == MODE_FAIL) return kn_err_set(err, r->code, NULL, TU_FAKE_FAIL_MSG);
    if (r->mode == MODE_POOLLOST && runs <= r->code) {
        res->pool_lost = 1;
        return kn_err_set(err, KN_ECRASH, NULL, TU_FAKE_POOL_MSG);
    }
    if ((rc = finish_ok(r, res, err)) != KN_OK) return rc;
    report(r, r->frames);
    return KN_OK;
}

static void fake_cancel(kn_run *kr)
{
    fake_run *r = (fake_run *)kr;
    pthread_mutex_lock(&g_lock);
    r->canceled = 1;
    g_log.cancels++;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
}

static void fake_destroy(kn_run *kr)
{
    free(kr);
}

const kn_sched_run_ops tu_fakerun_ops = {
    .create = fake_create, .set_progress = fake_set_progress, .exec = fake_exec,
    .cancel = fake_cancel, .destroy = fake_destroy,
};

int tu_sched_wait_status(kn_sched *s, kn_store *st, const char *id, const char *status, int timeout_ms)
{
    double until = kn_mono() + timeout_ms / 1000.0;
    for (;;) {
        /* The generation first: a change after it is read ends the wait. */
        unsigned long gen = kn_sched_generation(s);
        kn_job_rec rec = {0};
        if (kn_store_get(st, id, &rec, NULL) != KN_OK) return -1;
        kn_job_status want;
        if (!kn_job_status_parse(status, &want)) return -1;
        int done = rec.status == want, other = !done && kn_job_status_is_final(rec.status);
        kn_job_rec_clear(&rec);
        if (done) return 0;
        if (other) return -1;
        double left = until - kn_mono();
        if (left <= 0) return -1;
        kn_sched_wait(s, gen, (int)(left * 1000) + 1);
    }
}
