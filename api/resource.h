/*
 * api/resource.h - JSON out: the job resource and error bodies of the HTTP
 * API (docs/contract/api-v1.md, api/openapi.yaml).
 *
 * Ownership: every function returns a malloc'ed NUL-terminated string the
 * caller frees, or NULL when out of memory.
 */
#ifndef KN_API_RESOURCE_H
#define KN_API_RESOURCE_H

#include <stddef.h>

#include "store/store.h"

/* The job resource for a stored record. */
char *kn_resource_job(const kn_job_rec *r);

/* {"jobs": [...], "next": id|null} */
char *kn_resource_job_list(const kn_job_rec *recs, size_t n, const char *next);

/* {"error": {"code", "message", "path"?}}; path omitted when NULL or "". */
char *kn_resource_error(const char *code, const char *message, const char *path);

/* The output object stored with a succeeded job. */
char *kn_resource_output(const char *id, const char *format, const char *codec,
                         const char *encoder, long long bytes, int width, int height,
                         long frames, double duration);

/* The "format" of a stored output object ("mp4", "webm") into buf; "mp4"
 * when output_json is NULL or has none. */
void kn_resource_output_format(const char *output_json, char *buf, size_t n);

#endif
