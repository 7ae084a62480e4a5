/*
 * api/resource.c - see resource.h. Built with jansson so every string is
 * escaped correctly. Metadata alone is pasted as text, and only after it
 * parses as an object: it must come back with the client's own digits.
 */
#include "api/resource.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/require.h"

static json_t *time_or_null(double t)
{
    if (t <= 0) return json_null();
    char buf[32];
    kn_time_format(t, buf);
    return json_string(buf);
}

/* The output object of a succeeded job; the URL is where GET
 * /v1/jobs/{id}/video serves the file. */
static json_t *output_object(const kn_job_rec *r)
{
    const kn_job_output *out = &r->output;
    char url[128];
    snprintf(url, sizeof url, "/v1/jobs/%s/video", r->id);
    json_t *o = json_object();
    json_object_set_new(o, "url", json_string(url));
    json_object_set_new(o, "format", json_string(kn_format_name(out->format)));
    json_object_set_new(o, "codec", json_string(kn_codec_name(out->codec)));
    json_object_set_new(o, "encoder", json_string(out->encoder));
    json_object_set_new(o, "bytes", json_integer(out->bytes));
    json_object_set_new(o, "width", json_integer(out->width));
    json_object_set_new(o, "height", json_integer(out->height));
    json_object_set_new(o, "frames", json_integer(out->frames));
    json_object_set_new(o, "duration", json_real(round(out->duration * 1e6) / 1e6));
    return o;
}

static double round4(double v) { return round(v * 10000.0) / 10000.0; }

static json_t *job_object(const kn_job_rec *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "status", json_string(kn_job_status_name(r->status)));
    json_object_set_new(o, "created_at", time_or_null(r->created_at));
    json_object_set_new(o, "started_at", time_or_null(r->started_at));
    json_object_set_new(o, "finished_at", time_or_null(r->finished_at));

    json_t *p = json_object();
    long total = r->frames_total, encoded = r->frames_encoded;
    json_object_set_new(p, "frames_total", json_integer(total));
    json_object_set_new(p, "frames_rendered", json_integer(r->frames_rendered));
    json_object_set_new(p, "frames_encoded", json_integer(encoded));
    json_object_set_new(p, "fraction", json_real(total > 0 ? round4((double)encoded / (double)total) : 0.0));
    json_object_set_new(p, "fps", json_real(round(r->render_fps * 10.0) / 10.0));
    json_object_set_new(p, "eta_seconds", r->eta_seconds >= 0 ? json_real(round(r->eta_seconds * 10.0) / 10.0) : json_null());
    json_object_set_new(o, "progress", p);

    json_object_set_new(o, "output", r->status == KN_STATUS_SUCCEEDED && r->has_output
                                         ? output_object(r) : json_null());
    if (r->status == KN_STATUS_FAILED) {
        json_t *e = json_object();
        json_object_set_new(e, "code", json_string(r->error_code[0] ? r->error_code : "internal"));
        json_object_set_new(e, "message", json_string(r->error_message ? r->error_message : ""));
        json_object_set_new(o, "error", e);
    } else {
        json_object_set_new(o, "error", json_null());
    }
    return o;   /* "metadata" is spliced in by job_text */
}

static char *dump(json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(v);
    return s;
}

/* A growable text with an owner-visible failure flag; resources are built
 * from pieces that are each already bounded (records, metadata as posted). */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *t, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 512;
        while (nc < b->len + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, t, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *t) { sb_put(b, t, strlen(t)); }

/* Appends JSON text without the whitespace between its tokens. Only
 * valid JSON comes here (it parsed), so whitespace outside a string is
 * insignificant, and inside one it is kept: a string holds no raw control
 * character, and its escapes are copied as they are. */
static void sb_compact(sbuf *b, const char *t)
{
    const char *run = t;   /* start of the text not yet copied */
    int in_str = 0;
    for (const char *p = t; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1]) p++;
            else if (*p == '"') in_str = 0;
        } else if (*p == '"') {
            in_str = 1;
        } else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            sb_put(b, run, (size_t)(p - run));
            run = p + 1;
        }
    }
    sb_str(b, run);
}

/* The job resource as text. Its metadata is the text the client sent,
 * spliced in rather than re-encoded: the API promises it back untouched,
 * and jansson at the 10-digit precision used for our own numbers would
 * round 1732250000123.456 to 1.73225e12. Stored text that does not parse
 * (a damaged row) becomes {}. one_line drops the whitespace between
 * metadata's tokens (sb_compact). */
static void job_text(sbuf *b, const kn_job_rec *r, int one_line)
{
    json_t *o = job_object(r);
    char *body = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10) | JSON_EMBED) : NULL;
    json_decref(o);
    if (!body) {
        b->oom = 1;
        return;
    }
    const char *md = "{}";
    json_t *check = r->metadata ? json_loads(r->metadata, JSON_DECODE_INT_AS_REAL, NULL) : NULL;
    if (json_is_object(check)) md = r->metadata;
    json_decref(check);
    sb_str(b, "{");
    sb_str(b, body);
    sb_str(b, ",\"metadata\":");
    if (one_line) sb_compact(b, md);
    else sb_str(b, md);
    sb_str(b, "}");
    free(body);
}

static char *sb_finish(sbuf *b)
{
    if (b->oom) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

char *kn_resource_job(const kn_job_rec *r)
{
    KN_REQUIRE(r && (unsigned)r->status < KN_STATUS_COUNT);
    sbuf b = {0};
    job_text(&b, r, 0);
    return sb_finish(&b);
}

char *kn_resource_job_line(const kn_job_rec *r)
{
    KN_REQUIRE(r && (unsigned)r->status < KN_STATUS_COUNT);
    sbuf b = {0};
    job_text(&b, r, 1);
    return sb_finish(&b);
}

/* `"next":` and its value: null or a quoted id. */
static void next_text(sbuf *b, const char *next)
{
    json_t *nv = next && *next ? json_string(next) : json_null();
    char *nt = nv ? json_dumps(nv, JSON_ENCODE_ANY) : NULL;
    json_decref(nv);
    if (!nt) b->oom = 1;
    else sb_str(b, nt);
    free(nt);
}

char *kn_resource_job_list(const kn_job_rec *recs, size_t n, const char *next, size_t max_bytes,
                           size_t *taken)
{
    KN_REQUIRE(recs || n == 0);
    /* What closes the list: `],"next":"<id>"}` with the longest id. */
    const size_t tail = 16 + KN_JOB_ID_MAX;
    sbuf b = {0}, one = {0};
    size_t i = 0;
    sb_str(&b, "{\"jobs\":[");
    for (; i < n && !b.oom; i++) {
        one.len = 0;
        if (one.s) one.s[0] = '\0';
        job_text(&one, &recs[i], 0);
        if (one.oom) {
            b.oom = 1;
            break;
        }
        if (i > 0 && max_bytes > 0 && b.len + 1 + one.len + tail > max_bytes) break;
        if (i) sb_str(&b, ",");
        sb_put(&b, one.s, one.len);
    }
    free(one.s);
    sb_str(&b, "],\"next\":");
    next_text(&b, i < n && i > 0 ? recs[i - 1].id : next);
    sb_str(&b, "}");
    if (taken) *taken = i;
    return sb_finish(&b);
}

char *kn_resource_error(const char *code, const char *message, const char *path)
{
    KN_REQUIRE(code && message);
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(code));
    /* A message cut mid-UTF-8 sequence would make json_string fail. */
    json_t *m = json_string(message);
    json_object_set_new(e, "message", m ? m : json_string("(message was not valid UTF-8)"));
    if (path && *path) {
        json_t *pv = json_string(path);
        if (pv) json_object_set_new(e, "path", pv);
    }
    json_t *o = json_object();
    json_object_set_new(o, "error", e);
    return dump(o);
}
