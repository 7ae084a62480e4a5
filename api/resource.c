/*
 * api/resource.c - see resource.h. Built with jansson so every string is
 * escaped correctly; stored JSON fragments (metadata, output) are parsed back
 * and embedded as values, never pasted as text.
 */
#include "api/resource.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "common/log.h"

static json_t *time_or_null(double t)
{
    if (t <= 0) return json_null();
    char buf[32];
    kn_time_format(t, buf);
    return json_string(buf);
}

static json_t *embedded(const char *text)
{
    if (!text) return json_null();
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

static double round4(double v) { return round(v * 10000.0) / 10000.0; }

static json_t *job_object(const kn_job_rec *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "status", json_string(r->status));
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

    json_object_set_new(o, "output", strcmp(r->status, "succeeded") == 0 ? embedded(r->output) : json_null());
    if (strcmp(r->status, "failed") == 0) {
        json_t *e = json_object();
        json_object_set_new(e, "code", json_string(r->error_code[0] ? r->error_code : "internal"));
        json_object_set_new(e, "message", json_string(r->error_message ? r->error_message : ""));
        json_object_set_new(o, "error", e);
    } else {
        json_object_set_new(o, "error", json_null());
    }
    json_t *md = r->metadata ? embedded(r->metadata) : json_object();
    json_object_set_new(o, "metadata", json_is_null(md) ? json_object() : md);
    return o;
}

static char *dump(json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(v);
    return s;
}

char *kn_resource_job(const kn_job_rec *r) { return dump(job_object(r)); }

char *kn_resource_job_list(const kn_job_rec *recs, size_t n, const char *next)
{
    json_t *o = json_object(), *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, job_object(&recs[i]));
    json_object_set_new(o, "jobs", a);
    json_object_set_new(o, "next", next && *next ? json_string(next) : json_null());
    return dump(o);
}

char *kn_resource_error(const char *code, const char *message, const char *path)
{
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

char *kn_resource_output(const char *id, const char *format, const char *codec,
                         const char *encoder, long long bytes, int width, int height,
                         long frames, double duration)
{
    char url[128];
    snprintf(url, sizeof url, "/v1/jobs/%s/video", id);
    json_t *o = json_object();
    json_object_set_new(o, "url", json_string(url));
    json_object_set_new(o, "format", json_string(format));
    json_object_set_new(o, "codec", json_string(codec));
    json_object_set_new(o, "encoder", json_string(encoder));
    json_object_set_new(o, "bytes", json_integer(bytes));
    json_object_set_new(o, "width", json_integer(width));
    json_object_set_new(o, "height", json_integer(height));
    json_object_set_new(o, "frames", json_integer(frames));
    json_object_set_new(o, "duration", json_real(round(duration * 1e6) / 1e6));
    return dump(o);
}

void kn_resource_output_format(const char *output_json, char *buf, size_t n)
{
    json_t *o = output_json ? json_loads(output_json, 0, NULL) : NULL;
    const char *f = json_string_value(json_object_get(o, "format"));
    snprintf(buf, n, "%s", f && *f ? f : "mp4");
    json_decref(o);
}
