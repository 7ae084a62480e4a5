/*
 * api/resource.h - JSON out: the job resource and error bodies of the HTTP
 * API (docs/contract/api-v1.md, api/openapi.yaml).
 *
 * Ownership: every function returns a malloc'ed NUL-terminated string the
 * caller frees, or NULL when out of memory. Record and string arguments are
 * required (KN_REQUIRE).
 */
#ifndef KN_API_RESOURCE_H
#define KN_API_RESOURCE_H

#include <stddef.h>

#include "store/store.h"

/* The job resource for a stored record: its "output" object is built here
 * from the record's output facts (docs/api.md#the-job-resource), null
 * unless the job succeeded. */
char *kn_resource_job(const kn_job_rec *r);

/* The same resource on one line, for an event stream's `data:` field: the
 * whitespace between metadata's tokens (a pretty-printed object's
 * newlines) is left out; every key, string and digit is as posted. */
char *kn_resource_job_line(const kn_job_rec *r);

/* {"jobs": [...], "next": id|null} holding recs[0..*taken-1]: jobs are
 * added while the text stays within max_bytes (0: no bound), and always at
 * least one. When that stops it early, "next" is the id of the last job
 * listed (the cursor carries on from there), else `next` (NULL or "":
 * null). taken may be NULL. */
char *kn_resource_job_list(const kn_job_rec *recs, size_t n, const char *next, size_t max_bytes,
                           size_t *taken);

/* {"error": {"code", "message", "path"?}}; path omitted when NULL or "". */
char *kn_resource_error(const char *code, const char *message, const char *path);

#endif
