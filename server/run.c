/*
 * server/run.c - see run.h.
 *
 * Frames go from ring slot to encoder without a copy: each pushed frame's
 * release callback frees its ring slot once libavcodec is done with it. The
 * release context for frame f lives in rel[f % slots]: a slot is not reused
 * before it is released, so that entry is never overwritten while in use.
 */
#include "server/run.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "encode/encoder.h"
#include "render/ring.h"

typedef struct rel_ctx {
    kn_ring *ring;
    long frame;
} rel_ctx;

struct kn_run {
    kn_pool *pool;
    const kn_doc *doc;
    const char *doc_text;
    size_t len;
    char out_path[4096];
    char part_path[4200];
    int slots;
    kn_ring *ring;
    int ring_fd;
    rel_ctx *rel;
    pthread_mutex_t lock;     /* guards canceled vs ring creation */
    int canceled;
    kn_run_progress_fn progress;
    void *progress_ctx;
};

int kn_run_create(kn_pool *pool, const kn_doc *doc, const char *doc_text, size_t len,
                  const char *out_path, int ring_slots, kn_run **out, kn_err *err)
{
    kn_run *r = calloc(1, sizeof *r);
    if (!r) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory starting a job");
    r->pool = pool;
    r->doc = doc;
    r->doc_text = doc_text;
    r->len = len;
    r->ring_fd = -1;
    r->slots = ring_slots > 0 ? ring_slots : 8;
    if (r->slots > 256) r->slots = 256;
    if ((long)r->slots > doc->n_frames) r->slots = (int)doc->n_frames;
    if (r->slots < 1) r->slots = 1;
    snprintf(r->out_path, sizeof r->out_path, "%s", out_path);
    snprintf(r->part_path, sizeof r->part_path, "%s.part", out_path);
    pthread_mutex_init(&r->lock, NULL);
    r->rel = calloc((size_t)r->slots, sizeof *r->rel);
    if (!r->rel) {
        kn_run_destroy(r);
        return kn_err_set(err, KN_ENOMEM, NULL, "out of memory starting a job");
    }
    *out = r;
    return KN_OK;
}

void kn_run_set_progress(kn_run *r, kn_run_progress_fn fn, void *ctx)
{
    r->progress = fn;
    r->progress_ctx = ctx;
}

void kn_run_cancel(kn_run *r)
{
    pthread_mutex_lock(&r->lock);
    r->canceled = 1;
    if (r->ring) kn_ring_cancel(r->ring);
    pthread_mutex_unlock(&r->lock);
}

static void release_slot(void *opaque)
{
    rel_ctx *c = opaque;
    kn_ring_release(c->ring, c->frame);
}

static void report(kn_run *r, long encoded, double t0)
{
    if (!r->progress) return;
    kn_run_progress p = {.total = r->doc->n_frames, .encoded = encoded, .eta = -1};
    long released;
    kn_ring_progress(r->ring, &p.rendered, &released);
    double dt = kn_mono() - t0;
    if (dt > 0 && encoded > 0) {
        p.fps = encoded / dt;
        p.eta = (p.total - encoded) / p.fps;
    }
    r->progress(r->progress_ctx, &p);
}

int kn_run_exec(kn_run *r, kn_run_result *res, kn_err *err)
{
    int rc;
    kn_encoder *enc = NULL;
    const kn_doc *d = r->doc;
    int submitted = 0;
    kn_ring *ring = NULL;

    memset(res, 0, sizeof *res);
    double t0 = kn_mono();
    if ((rc = kn_ring_create(d->width, d->height, r->slots, d->n_frames, &ring, &r->ring_fd, err)) != KN_OK)
        goto out;
    pthread_mutex_lock(&r->lock);
    r->ring = ring;
    if (r->canceled) kn_ring_cancel(ring);
    pthread_mutex_unlock(&r->lock);

    kn_encoder_opts eo = {
        .width = d->width, .height = d->height, .fps_num = d->fps_num, .fps_den = d->fps_den,
        .format = d->output.format, .codec = d->output.codec, .encoder = d->output.encoder,
        .quality = d->output.quality,
        .preset = d->output.preset, .bitrate_kbps = d->output.bitrate_kbps,
        .keyframe_interval = d->output.keyframe_interval,
    };
    /* Workers start compiling the document while the encoder opens (NVENC
     * probing and x264's setup take tens of milliseconds); if the encoder
     * cannot open, the ring is canceled on the way out and the job fails
     * before a frame is encoded. */
    if ((rc = kn_pool_submit(r->pool, r->doc_text, r->len, r->ring_fd, err)) != KN_OK) goto out;
    submitted = 1;
    if ((rc = kn_encoder_create(r->part_path, &eo, &enc, err)) != KN_OK) goto out;
    snprintf(res->encoder, sizeof res->encoder, "%s", kn_encoder_name(enc));

    double last = 0;
    for (long f = 0; f < d->n_frames; f++) {
        kn_ring_planes p;
        int w;
        while ((w = kn_ring_wait(ring, f, &p, 500)) == -1) {
            if (!kn_pool_alive(r->pool)) {
                rc = kn_err_set(err, KN_ECRASH, NULL, "the render pool died while rendering frame %ld", f);
                goto out;
            }
        }
        if (w == KN_RING_STOPPED) {
            if (kn_ring_canceled(ring)) {
                rc = kn_err_set(err, KN_ECANCELED, NULL, "canceled");
            } else {
                rc = kn_ring_error(ring, err);
                if (rc == KN_OK) rc = kn_err_set(err, KN_EINTERNAL, NULL, "the frame ring stopped without a reason");
            }
            goto out;
        }
        rel_ctx *c = &r->rel[f % r->slots];
        c->ring = ring;
        c->frame = f;
        if (f == 0) kn_debug("run: first frame ready %.3f s after start", kn_mono() - t0);
        double e0 = kn_mono();
        if ((rc = kn_encoder_push(enc, f, p.data, p.stride, release_slot, c, err)) != KN_OK) goto out;
        double now = kn_mono();
        res->encode_seconds += now - e0;
        if (now - last >= 0.25) {
            report(r, f + 1, t0);
            last = now;
        }
    }
    kn_debug("run: last frame pushed %.3f s after start", kn_mono() - t0);
    double e0 = kn_mono();
    if ((rc = kn_encoder_finish(enc, err)) != KN_OK) goto out;
    res->encode_seconds += kn_mono() - e0;
    kn_debug("run: encoder flushed %.3f s after start", kn_mono() - t0);
    kn_encoder_destroy(enc);
    enc = NULL;
    if (rename(r->part_path, r->out_path) != 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot move the finished video to %s: %s", r->out_path, strerror(errno));
        goto out;
    }
    struct stat st;
    res->bytes = stat(r->out_path, &st) == 0 ? (long long)st.st_size : 0;
    res->frames = d->n_frames;
    report(r, d->n_frames, t0);
    rc = KN_OK;
out:
    if (rc != KN_OK && ring) kn_ring_cancel(ring);
    kn_encoder_destroy(enc);   /* releases any slots libavcodec still held */
    if (submitted) kn_pool_end(r->pool, NULL);
    if (rc != KN_OK) unlink(r->part_path);
    pthread_mutex_lock(&r->lock);
    r->ring = NULL;
    pthread_mutex_unlock(&r->lock);
    kn_ring_destroy(ring);
    if (r->ring_fd >= 0) close(r->ring_fd);
    r->ring_fd = -1;
    return rc;
}

void kn_run_destroy(kn_run *r)
{
    if (!r) return;
    pthread_mutex_destroy(&r->lock);
    free(r->rel);
    free(r);
}
