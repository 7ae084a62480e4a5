/*
 * tests/test_resource.c - the job resource as clients read it: metadata
 * comes back exactly as posted (digits, big integers, escaped keys), every
 * body is valid JSON, and a damaged stored metadata text never breaks the
 * JSON around it. The output object is built from the record's output
 * facts, only for a job that succeeded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/doc.h"
#include "api/resource.h"
#include "store/store.h"

/* The metadata text kn_doc_parse keeps for body (a copy the caller frees). */
static char *posted_metadata(const char *body)
{
    kn_doc *d = NULL;
    kn_err err;
    if (kn_doc_parse(body, strlen(body), NULL, &d, &err) != KN_OK) fail_msg("%s: %s", err.path, err.msg);
    char *md = d->metadata_json ? strdup(d->metadata_json) : NULL;
    kn_doc_destroy(d);
    return md;
}

static kn_job_rec record(const char *id, char *metadata)
{
    kn_job_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    r.status = KN_STATUS_QUEUED;
    r.created_at = 1763800000.5;
    r.frames_total = 10;
    r.eta_seconds = -1;
    r.metadata = metadata;
    return r;
}

static void test_metadata_untouched(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{\"ts\": 1732250000123.456, \"lat\": 52.520008123456}",
        "{\"big\": 12345678901234567890123, \"u64\": 18446744073709551615, \"neg\": -0.0}",
        "{\"s\": \"caf\\u00e9 \\\"q\\\" }]\", \"nested\": [1, {\"a\": [true, null]}], \"e\": 1E-7}",
        "{}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"width\": 16, \"metadata\": %s, \"height\": 16, \"fps\": 1, \"duration\": 1}",
                 cases[i]);
        char *md = posted_metadata(body);
        assert_non_null(md);
        assert_string_equal(md, cases[i]);
        kn_job_rec r = record("j_abc", md);
        char *out = kn_resource_job(&r);
        assert_non_null(out);
        /* the posted text appears as the value of "metadata", and the whole
         * is one valid JSON object */
        char want[600];
        snprintf(want, sizeof want, "\"metadata\":%s}", cases[i]);
        size_t lo = strlen(out), lw = strlen(want);
        assert_true(lo >= lw);
        assert_string_equal(out + lo - lw, want);
        json_error_t je;
        json_t *j = json_loads(out, JSON_DECODE_INT_AS_REAL, &je);
        if (!j) fail_msg("case %zu: %s in %s", i, je.text, out);
        assert_string_equal(json_string_value(json_object_get(j, "id")), "j_abc");
        assert_true(json_is_object(json_object_get(j, "metadata")));
        json_decref(j);
        free(out);
        kn_job_rec_clear(&r);
    }
}

/* "metadata" may be written with escapes, and a nested document's own
 * metadata is not the job's. */
static void test_metadata_key_forms(void **state)
{
    (void)state;
    char *md = posted_metadata(
        "{\"width\": 16, \"height\": 16, \"fps\": 1, \"duration\": 1, \"elements\": [{\"type\":"
        " \"composition\", \"document\": {\"width\": 16, \"height\": 16, \"fps\": 1,"
        " \"duration\": 1, \"metadata\": {\"inner\": 1}}}], \"\\u006detadata\": {\"n\": 1.50}}");
    assert_non_null(md);
    assert_string_equal(md, "{\"n\": 1.50}");
    free(md);
}

static void test_list_and_damaged_metadata(void **state)
{
    (void)state;
    kn_job_rec v[2] = { record("j_one", strdup("{\"k\": 10000000000000000000001}")),
                        record("j_two", strdup("{\"broken\": ")) };
    size_t taken = 0;
    char *out = kn_resource_job_list(v, 2, "j_one", 0, &taken);
    assert_int_equal(taken, 2);
    assert_non_null(out);
    json_t *j = json_loads(out, JSON_DECODE_INT_AS_REAL, NULL);
    if (!j) fail_msg("not JSON: %s", out);
    json_t *jobs = json_object_get(j, "jobs");
    assert_int_equal(json_array_size(jobs), 2);
    assert_non_null(strstr(out, "\"metadata\":{\"k\": 10000000000000000000001}"));
    assert_int_equal(json_object_size(json_object_get(json_array_get(jobs, 1), "metadata")), 0);
    assert_string_equal(json_string_value(json_object_get(j, "next")), "j_one");
    json_decref(j);
    free(out);

    out = kn_resource_job_list(NULL, 0, NULL, 0, NULL);
    assert_string_equal(out, "{\"jobs\":[],\"next\":null}");
    free(out);
    kn_job_rec_clear(&v[0]);
    kn_job_rec_clear(&v[1]);
}

/* A byte budget: jobs are added while the answer stays within it, at least
 * one, and "next" then names the last job listed. */
static void test_list_budget(void **state)
{
    (void)state;
    kn_job_rec v[3];
    for (int i = 0; i < 3; i++) {
        char id[16], *md = malloc(1002);
        assert_non_null(md);
        snprintf(id, sizeof id, "j_%d", i);
        memset(md, ' ', 1001);
        md[0] = '{';
        md[1000] = '}';
        md[1001] = '\0';
        v[i] = record(id, md);
    }
    size_t taken = 0;
    char *whole = kn_resource_job_list(v, 3, NULL, 0, &taken);
    assert_non_null(whole);
    assert_int_equal(taken, 3);
    size_t len = strlen(whole);
    /* Room for all three: all three, and the caller's next. */
    char *out = kn_resource_job_list(v, 3, "j_more", len + 64, &taken);
    assert_int_equal(taken, 3);
    json_t *j = json_loads(out, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "next")), "j_more");
    json_decref(j);
    free(out);
    /* Two thirds of it: two jobs, next = the second. */
    out = kn_resource_job_list(v, 3, NULL, len * 2 / 3 + 100, &taken);
    assert_true(strlen(out) <= len * 2 / 3 + 100);
    assert_int_equal(taken, 2);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "next")), "j_1");
    json_decref(j);
    free(out);
    /* Less than one job: still one. */
    out = kn_resource_job_list(v, 3, NULL, 10, &taken);
    assert_int_equal(taken, 1);
    j = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "next")), "j_0");
    json_decref(j);
    free(out);
    free(whole);
    for (int i = 0; i < 3; i++) kn_job_rec_clear(&v[i]);
}

/* The event stream's form: one line whatever the metadata's layout, the
 * same JSON value, keys, strings (their escapes and spaces) and digits as
 * posted. */
static void test_job_line(void **state)
{
    (void)state;
    const char *md = "{\n  \"a\" : [ 1.50 ,\r\n\t2 ],\n  \"s\": \"x y\\n\\\" }\",\n  \"big\": 12345678901234567890123\n}\n";
    kn_job_rec r = record("j_line", strdup(md));
    char *line = kn_resource_job_line(&r);
    char *full = kn_resource_job(&r);
    assert_non_null(line);
    assert_null(strchr(line, '\n'));
    assert_null(strchr(line, '\r'));
    assert_non_null(strstr(line, "\"metadata\":{\"a\":[1.50,2],\"s\":\"x y\\n\\\" }\",\"big\":12345678901234567890123}}"));
    json_t *a = json_loads(line, JSON_DECODE_INT_AS_REAL, NULL), *b = json_loads(full, JSON_DECODE_INT_AS_REAL, NULL);
    assert_non_null(a);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(line);
    free(full);
    kn_job_rec_clear(&r);
}

/* The output object, from the record's facts: the fields and their order
 * the API documents, the URL of the video, the duration to the microsecond. */
static void test_output_object(void **state)
{
    (void)state;
    kn_job_rec r = record("j_out", NULL);
    r.status = KN_STATUS_SUCCEEDED;
    r.has_output = true;
    r.output = (kn_job_output){
        .format = KN_FORMAT_WEBM, .codec = KN_CODEC_VP9, .encoder = "libvpx-vp9",
        .bytes = 81234, .width = 1280, .height = 720, .frames = 48, .duration = 1.6016016016,
    };
    char *out = kn_resource_job(&r);
    assert_non_null(out);
    assert_non_null(strstr(out, "\"output\":{\"url\":\"/v1/jobs/j_out/video\",\"format\":\"webm\","
                                "\"codec\":\"vp9\",\"encoder\":\"libvpx-vp9\",\"bytes\":81234,"
                                "\"width\":1280,\"height\":720,\"frames\":48,"
                                "\"duration\":1.601602}"));
    assert_non_null(strstr(out, "\"status\":\"succeeded\""));
    assert_non_null(strstr(out, "\"error\":null"));
    free(out);

    /* a succeeded job without recorded facts (a damaged migrated row) */
    r.has_output = false;
    out = kn_resource_job(&r);
    assert_non_null(strstr(out, "\"output\":null"));
    free(out);

    /* facts are shown for a success only */
    r.has_output = true;
    r.status = KN_STATUS_FAILED;
    snprintf(r.error_code, sizeof r.error_code, "encode_failed");
    r.error_message = strdup("the muxer failed");
    out = kn_resource_job(&r);
    assert_non_null(strstr(out, "\"output\":null"));
    assert_non_null(strstr(out, "\"status\":\"failed\""));
    assert_non_null(strstr(out, "\"error\":{\"code\":\"encode_failed\",\"message\":\"the muxer failed\"}"));
    free(out);
    kn_job_rec_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata_untouched),
        cmocka_unit_test(test_metadata_key_forms),
        cmocka_unit_test(test_list_and_damaged_metadata),
        cmocka_unit_test(test_list_budget),
        cmocka_unit_test(test_job_line),
        cmocka_unit_test(test_output_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
