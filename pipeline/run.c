/*
 * pipeline/run.c - see run.h.
 *
 * Frames go from ring slot to encoder without a copy: each pushed frame's
 * release callback frees its ring slot once libavcodec is done with it. The
 * release context for frame f lives in rel[f % slots]: a slot is not reused
 * before it is released, so that entry is never overwritten while in use.
 *
 * GIF jobs run two passes over the clip (see kn_run_exec); r->ring is the
 * ring of the pass under way, NULL between passes.
 */
#include "pipeline/run.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/require.h"
#include "encode/encoder.h"
#include "encode/palette.h"
#include "pipeline/ring.h"

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
    int pool_lost;            /* the pool's supervisor died under this run */
    kn_run_progress_fn progress;
    void *progress_ctx;
    kn_run_encoder_ops enc;
};

static const kn_run_encoder_ops encoder_ops = {
    .create = kn_encoder_create, .name = kn_encoder_name, .set_palette = kn_encoder_set_palette,
    .push = kn_encoder_push, .finish = kn_encoder_finish, .destroy = kn_encoder_destroy,
};

int kn_run_create(kn_pool *pool, const kn_doc *doc, const char *doc_text, size_t len,
                  const char *out_path, int ring_slots, kn_run **out, kn_err *err)
{
    KN_REQUIRE(pool && doc && doc_text && out_path && out);
    kn_run *r = calloc(1, sizeof *r);
    if (!r) return kn_err_set(err, KN_ENOMEM, NULL, "out of memory starting a job");
    r->pool = pool;
    r->doc = doc;
    r->doc_text = doc_text;
    r->len = len;
    r->ring_fd = -1;
    r->enc = encoder_ops;
    r->slots = ring_slots > 0 ? ring_slots : 8;
    if (r->slots > KN_RING_MAX_SLOTS) r->slots = KN_RING_MAX_SLOTS;
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
    KN_REQUIRE(r);
    r->progress = fn;
    r->progress_ctx = ctx;
}

void kn_run_set_encoder_ops(kn_run *r, const kn_run_encoder_ops *ops)
{
    r->enc = *ops;
}

void kn_run_cancel(kn_run *r)
{
    KN_REQUIRE(r);
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

static int is_canceled(kn_run *r)
{
    pthread_mutex_lock(&r->lock);
    int c = r->canceled;
    pthread_mutex_unlock(&r->lock);
    return c;
}

/* Progress. mp4/webm: rendered = frames published in the ring, encoded =
 * frames pushed, fps and eta from the encoding rate since the start.
 * gif: pass 1 renders every frame for the palette, so rendered counts pass
 * 1 and encoded stays 0 (fps 0; eta assumes pass 2 takes as long as pass 1,
 * which renders the same frames); in pass 2 rendered stays at N (the frames
 * are rendered again, but counting them twice would take rendered past
 * total and make it jump) and encoded counts frames written, with fps and
 * eta from pass 2's own rate. Both counters and fraction (encoded / total)
 * only ever grow. */
static void report(kn_run *r, int pass, long encoded, double t0)
{
    if (!r->progress) return;
    kn_run_progress p = {.total = r->doc->n_frames, .encoded = encoded, .eta = -1};
    long released;
    double dt = kn_mono() - t0;
    if (pass == 1) {
        kn_ring_progress(r->ring, &p.rendered, &released);
        p.encoded = 0;
        if (dt > 0 && p.rendered > 0) p.eta = (2.0 * p.total - p.rendered) / (p.rendered / dt);
    } else {
        if (pass == 2) p.rendered = p.total;
        else kn_ring_progress(r->ring, &p.rendered, &released);
        if (dt > 0 && encoded > 0) {
            p.fps = encoded / dt;
            p.eta = (p.total - encoded) / p.fps;
        }
    }
    r->progress(r->progress_ctx, &p);
}

/* A pass over the clip: a fresh ring, and the job handed to the pool. The
 * cancel flag is checked under the lock that kn_run_cancel takes, so a
 * cancel before, between or during passes always reaches the ring. */
static int start_pass(kn_run *r, kn_ring **ring, int *submitted, kn_err *err)
{
    const kn_doc *d = r->doc;
    int rc = kn_ring_create(d->width, d->height, r->slots, d->n_frames, ring, &r->ring_fd, err);
    /* The ring may have taken fewer slots than asked (a small /dev/shm);
     * rel[] keeps its size, indexed modulo the ring's own count. */
    if (rc == KN_OK) r->slots = kn_ring_slots(*ring);
    if (rc != KN_OK) return rc;
    pthread_mutex_lock(&r->lock);
    r->ring = *ring;
    if (r->canceled) kn_ring_cancel(*ring);
    pthread_mutex_unlock(&r->lock);
    if ((rc = kn_pool_submit(r->pool, r->doc_text, r->len, r->ring_fd, err)) != KN_OK) {
        r->pool_lost = kn_pool_job_lost(r->pool);
        return rc;
    }
    *submitted = 1;
    return KN_OK;
}

/* Ends a pass: the pool drops the job, the ring goes. Frames the encoder
 * still holds must have been released first (kn_encoder_destroy). */
static void end_pass(kn_run *r, kn_ring **ring, int *submitted)
{
    if (*submitted) kn_pool_end(r->pool, NULL);
    *submitted = 0;
    pthread_mutex_lock(&r->lock);
    r->ring = NULL;
    pthread_mutex_unlock(&r->lock);
    kn_ring_destroy(*ring);
    *ring = NULL;
    if (r->ring_fd >= 0) close(r->ring_fd);
    r->ring_fd = -1;
}

/* Blocks until frame f is published; an error code when the ring stopped
 * (cancel, a failed frame) or the pool died. A dead supervisor may have
 * been replaced by the time this looks (the pool heals within a fraction of
 * a second), and the replacement knows nothing of this job: hence
 * kn_pool_job_lost, not only kn_pool_alive. */
static int wait_frame(kn_run *r, kn_ring *ring, long f, kn_ring_planes *p, kn_err *err)
{
    int w;
    while ((w = kn_ring_wait(ring, f, p, 500)) == -1) {
        if (kn_pool_job_lost(r->pool)) {
            r->pool_lost = 1;
            return kn_err_set(err, KN_ECRASH, NULL, "the render pool died while rendering frame %ld", f);
        }
        if (!kn_pool_alive(r->pool))
            return kn_err_set(err, KN_ECRASH, NULL, "the render pool has no live worker (frame %ld)", f);
    }
    if (w != KN_RING_STOPPED) return KN_OK;
    if (kn_ring_canceled(ring)) return kn_err_set(err, KN_ECANCELED, NULL, "canceled");
    int rc = kn_ring_error(ring, err);
    if (rc == KN_OK) rc = kn_err_set(err, KN_EINTERNAL, NULL, "the frame ring stopped without a reason");
    return rc;
}

/* GIF pass 1: every frame into the colour histogram (each slot is released
 * as soon as it is counted), then the clip's palette, handed to enc. */
static int palette_pass(kn_run *r, kn_ring *ring, kn_encoder *enc, double t0, kn_run_result *res,
                        kn_err *err)
{
    const kn_doc *d = r->doc;
    kn_palette_hist *hist = NULL;
    kn_palette pal;
    double last = 0, busy = 0;
    int rc = kn_palette_hist_create(&hist, err);
    if (rc != KN_OK) return rc;
    for (long f = 0; f < d->n_frames; f++) {
        kn_ring_planes p;
        if ((rc = wait_frame(r, ring, f, &p, err)) != KN_OK) goto out;
        double h0 = kn_mono();
        rc = kn_palette_hist_add_i420(hist, (const uint8_t *const *)p.data, p.stride, d->width,
                                      d->height, err);
        kn_ring_release(ring, f);
        double now = kn_mono();
        busy += now - h0;
        if (rc != KN_OK) goto out;
        if (now - last >= 0.25) {
            report(r, 1, 0, t0);
            last = now;
        }
    }
    report(r, 1, 0, t0);
    if (is_canceled(r)) {
        rc = kn_err_set(err, KN_ECANCELED, NULL, "canceled");
        goto out;
    }
    double b0 = kn_mono();
    if ((rc = kn_palette_build(hist, KN_PALETTE_GIF_COLORS, &pal, err)) != KN_OK) goto out;
    if ((rc = r->enc.set_palette(enc, &pal, err)) != KN_OK) goto out;
    busy += kn_mono() - b0;
    kn_debug("run: gif palette of %d colours from %ld frames, %.3f s after start (%.3f s building)",
             pal.n, d->n_frames, kn_mono() - t0, kn_mono() - b0);
out:
    res->encode_seconds += busy;
    kn_palette_hist_destroy(hist);
    return rc;
}

/* GIF needs one palette for the whole clip, and a palette from every frame
 * needs every frame before the first can be written. Frames are never
 * spooled (8K frames would not fit anywhere sensible), so a GIF job makes
 * two passes, each on a fresh ring with the job submitted to the pool
 * again: pass 1 feeds the colour histogram, pass 2 encodes against the
 * palette. Rendering is a pure function of the document, so both passes see
 * the same frames. mp4/webm make one pass and stay zero-copy. */
int kn_run_exec(kn_run *r, kn_run_result *res, kn_err *err)
{
    int rc;
    kn_encoder *enc = NULL;
    const kn_doc *d = r->doc;
    int submitted = 0;
    kn_ring *ring = NULL;
    KN_REQUIRE(r && res);
    bool gif = r->doc->output.format == KN_FORMAT_GIF;

    memset(res, 0, sizeof *res);
    double t0 = kn_mono(), t_enc = t0;

    kn_encoder_opts eo = {
        .width = d->width, .height = d->height, .fps_num = d->fps_num, .fps_den = d->fps_den,
        .format = r->doc->output.format, .codec = r->doc->output.codec, .encoder = r->doc->output.encoder,
        .quality = d->output.quality,
        .preset = d->output.preset, .bitrate_kbps = d->output.bitrate_kbps,
        .keyframe_interval = d->output.keyframe_interval,
    };
    /* Workers start compiling the document while the encoder opens (NVENC
     * probing and x264's setup take tens of milliseconds); if the encoder
     * cannot open, the ring is canceled on the way out and the job fails
     * before a frame is encoded. */
    if ((rc = start_pass(r, &ring, &submitted, err)) != KN_OK) goto out;
    if ((rc = r->enc.create(r->part_path, &eo, &enc, err)) != KN_OK) goto out;
    snprintf(res->encoder, sizeof res->encoder, "%s", r->enc.name(enc));

    if (gif) {
        if ((rc = palette_pass(r, ring, enc, t0, res, err)) != KN_OK) goto out;
        end_pass(r, &ring, &submitted);
        if ((rc = start_pass(r, &ring, &submitted, err)) != KN_OK) goto out;
        t_enc = kn_mono();
    }

    double last = 0;
    int pass = gif ? 2 : 0;
    for (long f = 0; f < d->n_frames; f++) {
        kn_ring_planes p;
        if ((rc = wait_frame(r, ring, f, &p, err)) != KN_OK) goto out;
        rel_ctx *c = &r->rel[f % r->slots];
        c->ring = ring;
        c->frame = f;
        if (f == 0) kn_debug("run: first frame ready %.3f s after start", kn_mono() - t0);
        double e0 = kn_mono();
        if ((rc = r->enc.push(enc, f, p.data, p.stride, release_slot, c, err)) != KN_OK) goto out;
        double now = kn_mono();
        res->encode_seconds += now - e0;
        if (now - last >= 0.25) {
            report(r, pass, f + 1, t_enc);
            last = now;
        }
    }
    kn_debug("run: last frame pushed %.3f s after start", kn_mono() - t0);
    double e0 = kn_mono();
    if ((rc = r->enc.finish(enc, err)) != KN_OK) goto out;
    res->encode_seconds += kn_mono() - e0;
    kn_debug("run: encoder flushed %.3f s after start", kn_mono() - t0);
    r->enc.destroy(enc);
    enc = NULL;
    if (rename(r->part_path, r->out_path) != 0) {
        rc = kn_err_set(err, KN_EIO, NULL, "cannot move the finished video to %s: %s", r->out_path, strerror(errno));
        goto out;
    }
    struct stat st;
    res->bytes = stat(r->out_path, &st) == 0 ? (long long)st.st_size : 0;
    res->frames = d->n_frames;
    report(r, pass, d->n_frames, t_enc);
    rc = KN_OK;
out:
    res->pool_lost = rc != KN_OK && rc != KN_ECANCELED && r->pool_lost;
    if (rc != KN_OK && ring) kn_ring_cancel(ring);
    r->enc.destroy(enc);   /* releases any slots libavcodec still held */
    if (rc != KN_OK) unlink(r->part_path);
    end_pass(r, &ring, &submitted);
    return rc;
}

void kn_run_destroy(kn_run *r)
{
    if (!r) return;
    pthread_mutex_destroy(&r->lock);
    free(r->rel);
    free(r);
}
