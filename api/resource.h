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

/* {"jobs": [...], "next": id|null} */
char *kn_resource_job_list(const kn_job_rec *recs, size_t n, const char *next);

/* {"error": {"code", "message", "path"?}}; path omitted when NULL or "". */
char *kn_resource_error(const char *code, const char *message, const char *path);

#endif
