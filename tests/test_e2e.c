/*
 * tests/test_e2e.c - the real server, driven over HTTP on a loopback port,
 * one server shared by every test here: submit, wait on the job's event
 * stream, download, and check the MP4 with libavformat/libavcodec (codec,
 * size, frame count, duration, moov before mdat, decoded pixels of the red
 * square against its easing curve); WebM/VP9 and MP4/HEVC; a GIF (frame
 * count, delays, decoded colours, an odd size, progress over its two
 * passes, cancel in either); Range/HEAD/ETag, 405s and DELETE; cancel;
 * idempotency; validation errors; the encoder choice; list paging;
 * previews; the event stream itself.
 *
 * Tests that need a server of their own (a token, the log, a queue limit,
 * killed workers and servers, a small /dev/shm) are in test_e2e_servers.c;
 * the helpers both use are in tests/support/e2e.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <jansson.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/version.h"
#include "tests/support/decode.h"
#include "tests/support/e2e.h"
#include "tests/support/testutil.h"

/* ---- video checks ---------------------------------------------------- */

/* Decodes every frame; for each wanted frame index, finds the left edge of
 * the red square on row y (the first column whose Cr is clearly red). */
static void red_edges(const char *path, int row, const long *frames, int n, double *edge)
{
    tu_video v;
    assert_int_equal(tu_video_open(&v, path, 0), 0);
    for (int i = 0; i < n; i++) edge[i] = -1;
    for (const AVFrame *f; (f = tu_video_next(&v));) {
        long idx = v.frames - 1;
        for (int i = 0; i < n; i++) {
            if (frames[i] != idx) continue;
            /* Red in BT.601: Cr ~ 240. Edge at chroma resolution, refined
             * with luma: first luma column above half of red's Y (~81). */
            const uint8_t *yrow = f->data[0] + (size_t)row * f->linesize[0];
            for (int x = 0; x < f->width; x++)
                if (yrow[x] > 40) {
                    /* sub-pixel: interpolate coverage from the edge pixel's luma */
                    double cov = (yrow[x] - 16.0) / (81.0 - 16.0);
                    if (cov > 1) cov = 1;
                    edge[i] = x + 1.0 - cov;
                    break;
                }
        }
    }
    assert_int_equal(v.err, 0);
    tu_video_close(&v);
}

static double smootheststep(double x)
{
    return -20 * pow(x, 7) + 70 * pow(x, 6) - 84 * pow(x, 5) + 35 * pow(x, 4);
}

static char *download(int port, const char *id, const char *dir)
{
    char path[256], file[600];
    snprintf(path, sizeof path, "/v1/jobs/%s/video", id);
    tu_resp r;
    assert_int_equal(tu_http(port, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(tu_header(&r, "Content-Type"), "video/mp4");
    snprintf(file, sizeof file, "%s/%s.mp4", dir, id);
    assert_int_equal(tu_write_file(file, r.body, r.len), 0);
    tu_resp_free(&r);
    return strdup(file);
}

/* ---- shared server tests --------------------------------------------- */

static tu_srv g;

static int group_setup(void **state)
{
    (void)state;
    const char *extra[] = {"--workers", "2", "--max-body", "200000", NULL};
    tu_srv_start(&g, extra);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_srv_stop(&g);
    return 0;
}

static void test_redsquare_end_to_end(void **state)
{
    (void)state;
    size_t len;
    char *body = tu_read_file(tu_src("examples/redsquare.json"), &len);
    assert_non_null(body);
    char *id = tu_post_job(g.port, body, NULL, 201);
    assert_int_equal(strncmp(id, "j_", 2), 0);
    assert_true(strlen(id) >= 2 + 17);   /* >= 96 bits in base62 */
    json_t *j = tu_wait_status(g.port, id, "succeeded", 120);
    assert_string_equal(tu_jstr(j, "status", NULL), "succeeded");
    json_t *out = json_object_get(j, "output");
    assert_string_equal(tu_jstr(j, "output", "encoder"), "libx264");
    assert_int_equal(json_integer_value(json_object_get(out, "frames")), 300);
    assert_int_equal(json_integer_value(json_object_get(out, "width")), 640);
    assert_true(fabs(json_number_value(json_object_get(out, "duration")) - 5.0) < 1e-6);
    json_t *pr = json_object_get(j, "progress");
    assert_int_equal(json_integer_value(json_object_get(pr, "frames_encoded")), 300);
    assert_true(fabs(json_number_value(json_object_get(pr, "fraction")) - 1.0) < 1e-9);
    assert_string_equal(tu_jstr(j, "metadata", "example"), "pympanim's red square");
    assert_non_null(tu_jstr(j, "finished_at", NULL));

    char *file = download(g.port, id, g.dir);
    assert_int_equal(json_integer_value(json_object_get(out, "bytes")), (long)({ struct stat sb; stat(file, &sb); sb.st_size; }));
    tu_e2e_probe p;
    tu_e2e_probe_file(file, &p);
    assert_string_equal(p.codec, "h264");
    assert_int_equal(p.width, 640);
    assert_int_equal(p.height, 480);
    assert_int_equal(p.packets, 300);
    assert_true(fabs(p.duration - 5.0) < 1e-3);
    assert_true(p.moov_first);

    long frames[] = {0, 60, 150, 240, 299};
    double edge[5];
    red_edges(file, 240, frames, 5, edge);
    for (int i = 0; i < 5; i++) {
        double t = frames[i] / 60.0;
        double want = 544 * smootheststep(t / 5);
        if (fabs(edge[i] - want) > 1.0) fail_msg("frame %ld: edge at %.2f, easing says %.2f", frames[i], edge[i], want);
    }
    free(file);
    free(id);
    free(body);
    json_decref(j);
}

static void test_video_range_head_etag(void **state)
{
    (void)state;
    char *body = tu_small_job(12, NULL);
    char *id = tu_post_job(g.port, body, NULL, 201);
    json_decref(tu_wait_status(g.port, id, "succeeded", 60));
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s/video", id);
    tu_resp full, r;
    assert_int_equal(tu_http(g.port, "GET", path, NULL, NULL, 0, &full), 0);
    assert_int_equal(full.status, 200);
    assert_string_equal(tu_header(&full, "Accept-Ranges"), "bytes");
    char etag[128];
    snprintf(etag, sizeof etag, "%s", tu_header(&full, "ETag"));
    assert_true(strlen(etag) > 2);
    long size = strtol(tu_header(&full, "Content-Length"), NULL, 10);
    assert_int_equal(size, (long)full.len);

    assert_int_equal(tu_http(g.port, "HEAD", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(strtol(tu_header(&r, "Content-Length"), NULL, 10), size);
    assert_int_equal(r.len, 0);
    tu_resp_free(&r);

    assert_int_equal(tu_http(g.port, "GET", path, "Range: bytes=10-19\r\n", NULL, 0, &r), 0);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.len, 10);
    assert_memory_equal(r.body, full.body + 10, 10);
    char cr[64];
    snprintf(cr, sizeof cr, "bytes 10-19/%ld", size);
    assert_string_equal(tu_header(&r, "Content-Range"), cr);
    tu_resp_free(&r);

    assert_int_equal(tu_http(g.port, "GET", path, "Range: bytes=-4\r\n", NULL, 0, &r), 0);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.len, 4);
    assert_memory_equal(r.body, full.body + size - 4, 4);
    tu_resp_free(&r);

    char hdr[256];
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag);
    assert_int_equal(tu_http(g.port, "GET", path, hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 304);
    tu_resp_free(&r);

    assert_int_equal(tu_http(g.port, "GET", path, "Range: bytes=999999-\r\n", NULL, 0, &r), 0);
    assert_int_equal(r.status, 416);
    char want_cr[64];
    snprintf(want_cr, sizeof want_cr, "bytes */%ld", size);
    assert_non_null(tu_header(&r, "Content-Range"));
    assert_string_equal(tu_header(&r, "Content-Range"), want_cr);
    assert_non_null(tu_header(&r, "Cache-Control"));   /* a JSON answer like the others */
    assert_string_equal(tu_header(&r, "Cache-Control"), "no-store");
    tu_resp_free(&r);

    /* Every known path answers a method it does not take with 405 and the
     * methods it does take, not 404. */
    static const struct { const char *method, *suffix, *allow; } M[] = {
        { "POST", "/video", "GET, HEAD" },   { "DELETE", "/video", "GET, HEAD" },
        { "POST", "/events", "GET, HEAD" },  { "PUT", "", "GET, HEAD, DELETE" },
    };
    for (size_t k = 0; k < sizeof M / sizeof M[0]; k++) {
        char mp[160];
        snprintf(mp, sizeof mp, "/v1/jobs/%s%s", id, M[k].suffix);
        assert_int_equal(tu_http(g.port, M[k].method, mp, NULL, NULL, 0, &r), 0);
        if (r.status != 405) fail_msg("%s %s answered %d", M[k].method, mp, r.status);
        assert_string_equal(tu_header(&r, "Allow"), M[k].allow);
        tu_resp_free(&r);
    }
    assert_int_equal(tu_http(g.port, "POST", "/metrics", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    assert_string_equal(tu_header(&r, "Allow"), "GET, HEAD");
    tu_resp_free(&r);
    tu_resp_free(&full);

    /* DELETE a finished job: 204, then 404 for it and its video. */
    char jp[128];
    snprintf(jp, sizeof jp, "/v1/jobs/%s", id);
    assert_int_equal(tu_http(g.port, "DELETE", jp, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 204);
    tu_resp_free(&r);
    assert_int_equal(tu_http(g.port, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    tu_resp_free(&r);
    free(id);
    free(body);
}

/* Other outputs through the whole service: webm/VP9 and mp4/HEVC. */
static void test_webm_and_hevc(void **state)
{
    (void)state;
    struct { const char *output, *mime, *codec, *ext; } cases[] = {
        {",\"format\":\"webm\"", "video/webm", "vp9", "webm"},
        {",\"codec\":\"hevc\"", "video/mp4", "hevc", "mp4"},
    };
    for (size_t k = 0; k < 2; k++) {
        char *body = tu_small_job(12, cases[k].output);
        char *id = tu_post_job(g.port, body, NULL, 201);
        json_t *j = tu_wait_status(g.port, id, "succeeded", 60);
        assert_string_equal(tu_jstr(j, "status", NULL), "succeeded");
        assert_string_equal(tu_jstr(j, "output", "codec"), cases[k].codec);
        json_decref(j);
        char path[128], file[600];
        snprintf(path, sizeof path, "/v1/jobs/%s/video", id);
        tu_resp r;
        assert_int_equal(tu_http(g.port, "GET", path, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(tu_header(&r, "Content-Type"), cases[k].mime);
        snprintf(file, sizeof file, "%s/%s.%s", g.dir, id, cases[k].ext);
        assert_int_equal(tu_write_file(file, r.body, r.len), 0);
        tu_resp_free(&r);
        tu_e2e_probe p;
        tu_e2e_probe_file(file, &p);
        assert_string_equal(p.codec, cases[k].codec);
        assert_int_equal(p.packets, 12);
        assert_true(fabs(p.duration - 0.5) < 1e-3);
        snprintf(path, sizeof path, "/v1/jobs/%s", id);
        assert_int_equal(tu_http(g.port, "DELETE", path, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 204);
        tu_resp_free(&r);
        char vd[600];
        snprintf(vd, sizeof vd, "%s/videos/%s.%s", g.dir, id, cases[k].ext);
        assert_int_not_equal(access(vd, F_OK), 0);   /* the file went with it */
        free(id);
        free(body);
    }
}

static void test_cancel(void **state)
{
    (void)state;
    /* Long enough to still be rendering when canceled. */
    const char *body =
        "{\"width\":1280,\"height\":720,\"fps\":60,\"duration\":120,"
        "\"elements\":[{\"id\":\"c\",\"type\":\"circle\",\"cx\":100,\"cy\":100,\"r\":50,\"fill\":\"#0f0\"}],"
        "\"timeline\":{\"tween\":{\"c.cx\":1000},\"duration\":120},\"output\":{\"preset\":\"slow\"}}";
    char *id = tu_post_job(g.port, body, NULL, 201);
    json_decref(tu_wait_status(g.port, id, "rendering", 60));
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    int st;
    json_t *j = tu_http_json(g.port, "DELETE", path, NULL, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(tu_jstr(j, "status", NULL), "canceled");
    json_decref(j);
    /* The scheduler is free again within a second: a new job gets going. */
    char *body2 = tu_small_job(6, NULL);
    char *id2 = tu_post_job(g.port, body2, NULL, 201);
    tu_expect_succeeded(g.port, id2, 30);
    assert_int_equal(tu_parts_left(g.dir), 0);
    j = tu_http_json(g.port, "GET", path, NULL, NULL, &st);
    assert_string_equal(tu_jstr(j, "status", NULL), "canceled");
    json_decref(j);
    char vp[160];
    snprintf(vp, sizeof vp, "/v1/jobs/%s/video", id);
    j = tu_http_json(g.port, "GET", vp, NULL, NULL, &st);
    assert_int_equal(st, 409);
    assert_string_equal(tu_jstr(j, "error", "code"), "not_ready");
    json_decref(j);
    free(id);
    free(id2);
    free(body2);
}

/* ---- gif ------------------------------------------------------------------ */

typedef struct gif_probe {
    long packets, frames;
    double total;            /* sum of packet durations, seconds */
    double worst_delay_err;  /* worst |packet duration - 1/fps|, seconds */
    long red_bad;            /* frames whose red square is off */
    int worst_red;           /* worst channel error inside the red square */
} gif_probe;

/* Demuxes and decodes a GIF: packets, durations (the demuxer's, which are
 * the file's delays; min_delay=0 so delays under 2 cs are read as written),
 * and the colours of the still red square at x 0..23, y 24..47 (its border
 * pixel is skipped). */
typedef struct gif_packets {
    gif_probe *g;
    double fps, tb;
} gif_packets;

static void gif_packet(void *ctx, long index, const AVPacket *pkt)
{
    (void)index;
    gif_packets *c = ctx;
    double d = pkt->duration * c->tb;
    c->g->packets++;
    c->g->total += d;
    if (fabs(d - 1 / c->fps) > c->g->worst_delay_err) c->g->worst_delay_err = fabs(d - 1 / c->fps);
}

static void probe_gif(const char *path, double fps, gif_probe *g)
{
    memset(g, 0, sizeof *g);
    tu_video v;
    assert_int_equal(tu_video_open(&v, path, 1), 0);
    assert_string_equal(v.fc->iformat->name, "gif");
    assert_int_equal(v.st->codecpar->codec_id, AV_CODEC_ID_GIF);
    gif_packets pc = {.g = g, .fps = fps, .tb = av_q2d(v.st->time_base)};
    v.on_packet = gif_packet;
    v.ctx = &pc;
    for (const AVFrame *f; (f = tu_video_next(&v));) {
        assert_int_equal(f->format, AV_PIX_FMT_BGRA);   /* FFmpeg 5.1's gif decoder */
        int worst = 0;
        for (int y = 25; y < 47; y++)
            for (int x = 1; x < 23; x++) {
                const uint8_t *p = f->data[0] + (size_t)y * f->linesize[0] + 4 * x;
                int e[3] = {abs(p[2] - 255), p[1], p[0]};
                for (int a = 0; a < 3; a++) worst = e[a] > worst ? e[a] : worst;
            }
        if (worst > g->worst_red) g->worst_red = worst;
        if (worst > 6) g->red_bad++;
        g->frames++;
    }
    assert_int_equal(v.err, 0);
    tu_video_close(&v);
}

#define GIF_SCENE(w, h, fps, dur)                                                                \
    "{\"width\":" #w ",\"height\":" #h ",\"fps\":" #fps ",\"duration\":" #dur ","                  \
    "\"elements\":[{\"type\":\"rect\",\"x\":0,\"y\":24,\"width\":24,\"height\":24,\"fill\":\"red\"},"  \
    "{\"id\":\"c\",\"type\":\"circle\",\"cx\":30,\"cy\":10,\"r\":6,\"fill\":\"steelblue\"},"           \
    "{\"type\":\"text\",\"text\":\"kinora\",\"x\":28,\"y\":40,\"size\":10,\"fill\":\"#ffcc00\"}],"     \
    "\"timeline\":{\"tween\":{\"c.cx\":[30," #w "]},\"duration\":" #dur "},"                     \
    "\"output\":{\"format\":\"gif\"}}"

/* A GIF through the whole service: 25 fps (4 cs a frame), 20 frames. */
static void test_gif_end_to_end(void **state)
{
    (void)state;
    const char *body = GIF_SCENE(64, 48, 25, 0.8);
    char *id = tu_post_job(g.port, body, NULL, 201);
    json_t *j = tu_wait_status(g.port, id, "succeeded", 60);
    assert_string_equal(tu_jstr(j, "status", NULL), "succeeded");
    assert_string_equal(tu_jstr(j, "output", "format"), "gif");
    assert_string_equal(tu_jstr(j, "output", "codec"), "gif");
    assert_string_equal(tu_jstr(j, "output", "encoder"), "gif");
    json_t *out = json_object_get(j, "output");
    assert_int_equal(json_integer_value(json_object_get(out, "frames")), 20);
    json_t *pr = json_object_get(j, "progress");
    assert_int_equal(json_integer_value(json_object_get(pr, "frames_rendered")), 20);
    assert_int_equal(json_integer_value(json_object_get(pr, "frames_encoded")), 20);
    assert_true(fabs(json_number_value(json_object_get(pr, "fraction")) - 1.0) < 1e-9);

    char path[128], file[600];
    snprintf(path, sizeof path, "/v1/jobs/%s/video", id);
    tu_resp r;
    assert_int_equal(tu_http(g.port, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(tu_header(&r, "Content-Type"), "image/gif");
    assert_true(r.len > 13);
    assert_memory_equal(r.body, "GIF89a", 6);
    assert_int_equal(json_integer_value(json_object_get(out, "bytes")), (long)r.len);
    snprintf(file, sizeof file, "%s/%s.gif", g.dir, id);
    assert_int_equal(tu_write_file(file, r.body, r.len), 0);
    tu_resp_free(&r);
    char vd[600];
    snprintf(vd, sizeof vd, "%s/videos/%s.gif", g.dir, id);
    assert_int_equal(access(vd, F_OK), 0);   /* stored under its own extension */

    gif_probe gp;
    probe_gif(file, 25, &gp);
    print_message("gif e2e: %ld frames, %.3f s, worst delay error %.4f s, red off by <= %d\n",
                  gp.frames, gp.total, gp.worst_delay_err, gp.worst_red);
    assert_int_equal(gp.packets, 20);
    assert_int_equal(gp.frames, 20);
    assert_true(gp.worst_delay_err < 0.01 + 1e-9);   /* within a centisecond per frame */
    assert_true(fabs(gp.total - 20 / 25.0) < 0.01);
    assert_int_equal(gp.red_bad, 0);

    /* DELETE takes the .gif with it. */
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    assert_int_equal(tu_http(g.port, "DELETE", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 204);
    tu_resp_free(&r);
    assert_int_not_equal(access(vd, F_OK), 0);
    json_decref(j);
    free(id);

    /* NTSC rate: 3.3367 cs a frame, delays of 3 and 4 summing to 1.0 s +- 0.5 cs. */
    id = tu_post_job(g.port, GIF_SCENE(64, 48, 29.97, 1.001), NULL, 201);
    tu_expect_succeeded(g.port, id, 60);
    snprintf(path, sizeof path, "/v1/jobs/%s/video", id);
    assert_int_equal(tu_http(g.port, "GET", path, NULL, NULL, 0, &r), 0);
    snprintf(file, sizeof file, "%s/%s.gif", g.dir, id);
    assert_int_equal(tu_write_file(file, r.body, r.len), 0);
    tu_resp_free(&r);
    probe_gif(file, 30000 / 1001.0, &gp);
    assert_int_equal(gp.frames, 30);
    assert_true(gp.worst_delay_err < 0.01);
    assert_true(fabs(gp.total - 1.001) <= 0.005 + 1e-9);
    assert_int_equal(gp.red_bad, 0);
    free(id);

    /* gif-specific 400s. */
    int st;
    j = tu_http_json(g.port, "POST", "/v1/jobs", NULL,
                  "{\"width\":64,\"height\":48,\"fps\":120,\"duration\":1,\"output\":{\"format\":\"gif\"}}",
                  &st);
    assert_int_equal(st, 400);
    assert_string_equal(tu_jstr(j, "error", "path"), "/fps");
    json_decref(j);
    j = tu_http_json(g.port, "POST", "/v1/jobs", NULL,
                  "{\"width\":64,\"height\":48,\"fps\":24,\"duration\":1,\"output\":{\"format\":\"gif\","
                  "\"codec\":\"h264\"}}", &st);
    assert_int_equal(st, 400);
    assert_string_equal(tu_jstr(j, "error", "path"), "/output/codec");
    json_decref(j);
}

/* Decodes a GIF whose frames must all be w x h; the RGB of the n points
 * pts[i] = {x, y} of frame k goes to rgb[(k * n + i) * 3 ..] for up to
 * max_frames frames. Returns the frame count. */
static long gif_sample(const char *path, int w, int h, const int (*pts)[2], int n, int *rgb,
                       long max_frames)
{
    tu_video v;
    assert_int_equal(tu_video_open(&v, path, 0), 0);
    assert_string_equal(v.fc->iformat->name, "gif");
    assert_int_equal(v.st->codecpar->width, w);
    assert_int_equal(v.st->codecpar->height, h);
    long frames = 0;
    for (const AVFrame *f; (f = tu_video_next(&v)); frames++) {
        assert_int_equal(f->format, AV_PIX_FMT_BGRA);   /* FFmpeg 5.1's gif decoder */
        assert_int_equal(f->width, w);
        assert_int_equal(f->height, h);
        for (int i = 0; i < n && frames < max_frames; i++) {
            const uint8_t *p = f->data[0] + (size_t)pts[i][1] * f->linesize[0] + 4 * pts[i][0];
            int *o = rgb + (frames * n + i) * 3;
            o[0] = p[2];
            o[1] = p[1];
            o[2] = p[0];
        }
    }
    assert_int_equal(v.err, 0);
    tu_video_close(&v);
    return frames;
}

/* An odd frame size (35 x 21) is fine for gif: a blue background, a red
 * rectangle over the bottom-right corner (x 18..34, y 10..20, so the last
 * column and row, partial 2x2 blocks, are red) and a white 6 x 4 square at
 * the top that slides from x 0 to x 29, reaching the last column on the
 * last frame. mp4 at that size stays a 400. */
static void test_gif_odd_size_end_to_end(void **state)
{
    (void)state;
    const char *body =
        "{\"width\":35,\"height\":21,\"fps\":10,\"duration\":0.5,\"background\":\"#0000ff\","
        "\"elements\":[{\"type\":\"rect\",\"x\":18,\"y\":10,\"width\":17,\"height\":11,\"fill\":\"#ff0000\"},"
        "{\"id\":\"s\",\"type\":\"rect\",\"x\":0,\"y\":0,\"width\":6,\"height\":4,\"fill\":\"#ffffff\"}],"
        "\"timeline\":{\"tween\":{\"s.x\":[0,29]},\"duration\":0.4},"
        "\"output\":{\"format\":\"gif\"}}";
    char *id = tu_post_job(g.port, body, NULL, 201);
    json_t *j = tu_wait_status(g.port, id, "succeeded", 60);
    assert_string_equal(tu_jstr(j, "status", NULL), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "output"), "frames")), 5);
    json_decref(j);

    char path[128], file[600];
    snprintf(path, sizeof path, "/v1/jobs/%s/video", id);
    tu_resp r;
    assert_int_equal(tu_http(g.port, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(tu_header(&r, "Content-Type"), "image/gif");
    snprintf(file, sizeof file, "%s/%s.gif", g.dir, id);
    assert_int_equal(tu_write_file(file, r.body, r.len), 0);
    tu_resp_free(&r);

    enum { RED, BLUE, WHITE };
    static const int colour[3][3] = {{255, 0, 0}, {0, 0, 255}, {255, 255, 255}};
    /* bottom-right corner, bottom-left, last column above the red, the
     * square's start, and the square's end in the last column */
    static const int pts[5][2] = {{34, 20}, {0, 20}, {34, 7}, {1, 1}, {34, 2}};
    int rgb[5 * 5 * 3];
    assert_int_equal(gif_sample(file, 35, 21, pts, 5, rgb, 5), 5);
    for (int k = 0; k < 5; k++) {
        int want[5] = {RED, BLUE, BLUE, k == 0 ? WHITE : BLUE, k == 4 ? WHITE : BLUE};
        for (int i = 0; i < 5; i++)
            for (int a = 0; a < 3; a++) {
                int got = rgb[(k * 5 + i) * 3 + a];
                if (abs(got - colour[want[i]][a]) > 10)
                    fail_msg("frame %d: pixel (%d, %d) is %d,%d,%d, want %d,%d,%d", k, pts[i][0], pts[i][1],
                             rgb[(k * 5 + i) * 3], rgb[(k * 5 + i) * 3 + 1], rgb[(k * 5 + i) * 3 + 2],
                             colour[want[i]][0], colour[want[i]][1], colour[want[i]][2]);
            }
    }
    free(id);

    int st;
    j = tu_http_json(g.port, "POST", "/v1/jobs", NULL,
                  "{\"width\":35,\"height\":21,\"fps\":10,\"duration\":0.5,\"output\":{\"format\":\"mp4\"}}", &st);
    assert_int_equal(st, 400);
    assert_string_equal(tu_jstr(j, "error", "path"), "/width");
    json_decref(j);
}

/* A long GIF: progress never goes back across the two passes (rendered
 * counts pass 1, encoded pass 2), and cancel works in either pass. The
 * progress is read from the job's event stream, which ends with the
 * canceled status. */
static void test_gif_progress_cancel(void **state)
{
    (void)state;
    const char *body = GIF_SCENE(320, 240, 25, 60);   /* 1500 frames */
    char path[128];
    for (int want_pass = 1; want_pass <= 2; want_pass++) {
        char *id = tu_post_job(g.port, body, NULL, 201);
        snprintf(path, sizeof path, "/v1/jobs/%s", id);
        long last_r = 0, last_e = 0;
        double last_f = 0;
        int saw_pass1 = 0, canceled = 0;
        tu_sse ev;
        tu_sse_open(&ev, g.port, id);
        while (!canceled) {
            if (tu_sse_next(&ev, 120000) != 1) fail_msg("gif job never reached pass %d", want_pass);
            /* A status event carries the whole job, a progress event the
             * progress object alone. */
            json_t *j = tu_sse_json(&ev), *pr = j;
            if (!strcmp(ev.event, "status")) {
                const char *status = tu_jstr(j, "status", NULL);
                assert_true(!strcmp(status, "queued") || !strcmp(status, "rendering"));
                pr = json_object_get(j, "progress");
            }
            long rendered = (long)json_integer_value(json_object_get(pr, "frames_rendered"));
            long encoded = (long)json_integer_value(json_object_get(pr, "frames_encoded"));
            double fraction = json_number_value(json_object_get(pr, "fraction"));
            assert_true(rendered >= last_r && encoded >= last_e && fraction >= last_f);
            assert_true(rendered <= 1500 && encoded <= rendered);
            last_r = rendered;
            last_e = encoded;
            last_f = fraction;
            if (rendered > 0 && encoded == 0) saw_pass1 = 1;
            json_decref(j);
            /* Cancel in pass 1 (some frames rendered, none encoded) or in
             * pass 2 (some encoded). */
            if ((want_pass == 1 && saw_pass1) || (want_pass == 2 && encoded > 0)) {
                int st;
                j = tu_http_json(g.port, "DELETE", path, NULL, NULL, &st);
                assert_int_equal(st, 200);
                assert_string_equal(tu_jstr(j, "status", NULL), "canceled");
                json_decref(j);
                canceled = 1;
            }
        }
        char last_status[32] = "";
        for (int r; (r = tu_sse_next(&ev, 60000)) != 0;) {
            if (r < 0) fail_msg("the canceled gif job's event stream did not end");
            if (strcmp(ev.event, "status") != 0) continue;
            json_t *j = tu_sse_json(&ev);
            snprintf(last_status, sizeof last_status, "%s", tu_jstr(j, "status", NULL));
            json_decref(j);
        }
        assert_string_equal(last_status, "canceled");
        tu_sse_close(&ev);
        print_message("gif canceled in pass %d at %ld rendered, %ld encoded\n", want_pass, last_r, last_e);
        if (want_pass == 2) assert_int_equal(last_r, 1500);   /* pass 1 finished */
        free(id);
    }
    /* The scheduler is free again: a new GIF gets going and finishes, and
     * nothing half-written is left behind. */
    char *id = tu_post_job(g.port, GIF_SCENE(64, 48, 25, 0.2), NULL, 201);
    tu_expect_succeeded(g.port, id, 60);
    assert_int_equal(tu_parts_left(g.dir), 0);
    free(id);
}

static void test_idempotency(void **state)
{
    (void)state;
    char *body = tu_small_job(3, NULL);
    char *a = tu_post_job(g.port, body, "Idempotency-Key: k-123\r\n", 201);
    char *b = tu_post_job(g.port, body, "Idempotency-Key: k-123\r\n", 200);
    assert_string_equal(a, b);
    char *other = tu_small_job(4, NULL);
    int st;
    json_t *j = tu_http_json(g.port, "POST", "/v1/jobs", "Idempotency-Key: k-123\r\n", other, &st);
    assert_int_equal(st, 409);
    assert_string_equal(tu_jstr(j, "error", "code"), "conflict");
    json_decref(j);
    free(a);
    free(b);
    free(body);
    free(other);
}

static void test_errors(void **state)
{
    (void)state;
    int st;
    json_t *j = tu_http_json(g.port, "POST", "/v1/jobs", NULL, "{\"width\": 64,", &st);
    assert_int_equal(st, 400);
    assert_string_equal(tu_jstr(j, "error", "code"), "invalid_json");
    json_decref(j);

    j = tu_http_json(g.port, "POST", "/v1/jobs", NULL,
                  "{\"width\":64,\"height\":48,\"fps\":24,\"duration\":1,\"elements\":[{\"type\":\"rect\",\"width\":1,\"height\":1,\"fill\":\"blu\"}]}", &st);
    assert_int_equal(st, 400);
    assert_string_equal(tu_jstr(j, "error", "code"), "invalid_job");
    assert_string_equal(tu_jstr(j, "error", "path"), "/elements/0/fill");
    json_decref(j);

    j = tu_http_json(g.port, "POST", "/v1/jobs", NULL, "{\"width\":65,\"height\":48,\"fps\":24,\"duration\":1}", &st);
    assert_int_equal(st, 400);
    assert_string_equal(tu_jstr(j, "error", "path"), "/width");
    assert_non_null(strstr(tu_jstr(j, "error", "message"), "odd"));
    json_decref(j);

    j = tu_http_json(g.port, "POST", "/v1/jobs", NULL, "{\"width\":64,\"height\":48,\"fps\":24,\"duration\":1,\"colour\":1}", &st);
    assert_int_equal(st, 400);
    assert_string_equal(tu_jstr(j, "error", "path"), "/colour");
    json_decref(j);

    char *big = malloc(300001);
    memset(big, ' ', 300000);
    big[300000] = '\0';
    big[0] = '{';
    big[299999] = '}';
    j = tu_http_json(g.port, "POST", "/v1/jobs", NULL, big, &st);
    assert_int_equal(st, 413);
    assert_string_equal(tu_jstr(j, "error", "code"), "payload_too_large");
    json_decref(j);
    free(big);

    j = tu_http_json(g.port, "GET", "/v1/jobs/j_doesnotexist", NULL, NULL, &st);
    assert_int_equal(st, 404);
    assert_string_equal(tu_jstr(j, "error", "code"), "not_found");
    json_decref(j);

    j = tu_http_json(g.port, "GET", "/healthz", NULL, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(tu_jstr(j, "status", NULL), "ok");
    assert_string_equal(tu_jstr(j, "version", NULL), KN_VERSION);
    json_decref(j);
}

static void test_encoder_choice(void **state)
{
    (void)state;
    char *gpu = tu_small_job(3, ",\"encoder\":\"gpu\",\"preset\":\"p4\"");
    /* tu_small_job already sets preset ultrafast: build a gpu one by hand. */
    free(gpu);
    const char *gbody = "{\"width\":64,\"height\":48,\"fps\":24,\"duration\":0.125,"
                        "\"output\":{\"encoder\":\"gpu\"}}";
    char *id = tu_post_job(g.port, gbody, NULL, 201);
    json_t *j = tu_wait_status(g.port, id, "failed", 60);
    if (!strcmp(tu_jstr(j, "status", NULL), "failed")) {
        assert_string_equal(tu_jstr(j, "error", "code"), "encoder_unavailable");
        assert_non_null(strstr(tu_jstr(j, "error", "message"), "nvenc"));
    } else {
        /* A machine with NVENC: then it must have used it. */
        assert_non_null(strstr(tu_jstr(j, "output", "encoder"), "nvenc"));
    }
    json_decref(j);
    free(id);
    const char *abody = "{\"width\":64,\"height\":48,\"fps\":24,\"duration\":0.125,\"output\":{\"encoder\":\"auto\"}}";
    id = tu_post_job(g.port, abody, NULL, 201);
    j = tu_wait_status(g.port, id, "succeeded", 60);
    assert_string_equal(tu_jstr(j, "status", NULL), "succeeded");
    const char *enc = tu_jstr(j, "output", "encoder");
    assert_true(!strcmp(enc, "libx264") || strstr(enc, "nvenc"));
    json_decref(j);
    free(id);
}

static void test_list_paging(void **state)
{
    (void)state;
    char *ids[5];
    for (int i = 0; i < 5; i++) {
        char *b = tu_small_job(2 + i, NULL);
        ids[i] = tu_post_job(g.port, b, NULL, 201);
        free(b);
    }
    /* Newest first, two per page, following next until null. */
    int seen = 0, st;
    char path[256] = "/v1/jobs?limit=2";
    for (int page = 0; page < 50; page++) {
        json_t *j = tu_http_json(g.port, "GET", path, NULL, NULL, &st);
        assert_int_equal(st, 200);
        json_t *arr = json_object_get(j, "jobs");
        assert_true(json_array_size(arr) <= 2);
        for (size_t k = 0; k < json_array_size(arr); k++) {
            const char *id = tu_jstr(json_array_get(arr, k), "id", NULL);
            if (seen < 5) assert_string_equal(id, ids[4 - seen]);
            seen++;
        }
        json_t *next = json_object_get(j, "next");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        snprintf(path, sizeof path, "/v1/jobs?limit=2&after=%s", json_string_value(next));
        json_decref(j);
    }
    assert_true(seen >= 5);
    for (int i = 0; i < 5; i++) {
        json_decref(tu_wait_status(g.port, ids[i], "succeeded", 60));
        free(ids[i]);
    }
    json_t *j = tu_http_json(g.port, "GET", "/v1/jobs?status=bogus", NULL, NULL, &st);
    assert_int_equal(st, 400);
    json_decref(j);
}

static void test_preview_png(void **state)
{
    (void)state;
    const char *body = "{\"width\":64,\"height\":48,\"fps\":10,\"duration\":1,\"background\":\"#000\","
                       "\"elements\":[{\"id\":\"r\",\"type\":\"rect\",\"x\":0,\"y\":0,\"width\":10,\"height\":10,\"fill\":\"#ff0000\"}],"
                       "\"timeline\":{\"tween\":{\"r.x\":[0,50]},\"duration\":1}}";
    tu_resp r;
    assert_int_equal(tu_http(g.port, "POST", "/v1/preview?frame=5", NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(tu_header(&r, "Content-Type"), "image/png");
    char file[600];
    snprintf(file, sizeof file, "%s/prev.png", g.dir);
    assert_int_equal(tu_write_file(file, r.body, r.len), 0);
    tu_resp_free(&r);
    cairo_surface_t *s = cairo_image_surface_create_from_png(file);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    const uint32_t *px = (const uint32_t *)cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s) / 4;
    /* frame 5 = t 0.5: x = 25, so pixels 25..34 are red, 24 and 35 black. */
    assert_int_equal(px[5 * stride + 25] & 0xffffff, 0xff0000);
    assert_int_equal(px[5 * stride + 34] & 0xffffff, 0xff0000);
    assert_int_equal(px[5 * stride + 24] & 0xffffff, 0);
    assert_int_equal(px[5 * stride + 35] & 0xffffff, 0);
    cairo_surface_destroy(s);

    assert_int_equal(tu_http(g.port, "POST", "/v1/preview?frame=99", NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 400);
    tu_resp_free(&r);
}

static void test_events_stream(void **state)
{
    (void)state;
    char *body = tu_small_job(48, NULL);
    char *id = tu_post_job(g.port, body, NULL, 201);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    tu_resp r;
    /* The stream ends by itself after the final status event. */
    assert_int_equal(tu_http(g.port, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(tu_header(&r, "Content-Type"), "text/event-stream");
    double last = -1;
    int statuses = 0, progresses = 0;
    char final[32] = "";
    for (char *line = strtok(r.body, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "event: progress", 15)) progresses++;
        if (!strncmp(line, "event: status", 13)) statuses++;
        if (strncmp(line, "data: ", 6) != 0) continue;
        json_t *j = json_loads(line + 6, 0, NULL);
        assert_non_null(j);
        json_t *fr = json_object_get(j, "fraction");
        if (fr) {
            assert_true(json_number_value(fr) >= last);   /* monotonic */
            last = json_number_value(fr);
        }
        if (json_object_get(j, "status")) snprintf(final, sizeof final, "%s", tu_jstr(j, "status", NULL));
        json_decref(j);
    }
    assert_true(progresses >= 1);
    assert_true(statuses >= 1);
    assert_string_equal(final, "succeeded");
    assert_true(fabs(last - 1.0) < 1e-9);
    tu_resp_free(&r);
    assert_int_equal(tu_http(g.port, "GET", "/v1/jobs/j_nope/events", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    tu_resp_free(&r);
    free(id);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redsquare_end_to_end),
        cmocka_unit_test(test_video_range_head_etag),
        cmocka_unit_test(test_webm_and_hevc),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_idempotency),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_encoder_choice),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_preview_png),
        cmocka_unit_test(test_events_stream),
        cmocka_unit_test(test_gif_end_to_end),
        cmocka_unit_test(test_gif_odd_size_end_to_end),
        cmocka_unit_test(test_gif_progress_cancel),
    };
    return cmocka_run_group_tests_name("e2e_shared_server", tests, group_setup, group_teardown);
}
