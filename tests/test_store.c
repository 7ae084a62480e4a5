/*
 * tests/test_store.c - the SQLite job store: records round-trip, listing and
 * paging, idempotency, queue limit, state transitions, crash recovery across
 * a killed process, WAL and schema version on disk, concurrent threads, and
 * the error paths. Every test runs on a fresh database in its own temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "store/store.h"
#include "tests/support/death.h"
#include "tests/support/testutil.h"

/* A status filter for list and count. */
#define ST(name) (&(kn_job_status){KN_STATUS_##name})

/* What a finished mp4 looks like to the store. */
static const kn_job_output OUT_MP4 = {
    .format = KN_FORMAT_MP4, .codec = KN_CODEC_H264, .encoder = "libx264", .bytes = 183211,
    .width = 640, .height = 360, .frames = 300, .duration = 10.01,
};

typedef struct {
    char dir[512];
    char db[600];
    kn_store *s;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    tu_tmpdir(f->dir, sizeof f->dir);
    if (!f->dir[0]) { free(f); return -1; }
    snprintf(f->db, sizeof f->db, "%s/jobs.db", f->dir);
    kn_err err = {0};
    if (kn_store_open(f->db, &f->s, &err) != KN_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        tu_rmtree(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    kn_store_close(f->s);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* Inserts a job whose doc is `doc` (copied); returns the store's code. */
static int put(kn_store *s, const char *id, const char *doc, const char *key,
               double created_at, long max_queued, int *existing, kn_job_rec *back, kn_err *err)
{
    kn_job_rec r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    r.doc = strdup(doc);
    assert_non_null(r.doc);
    r.created_at = created_at;
    r.frames_total = 10;
    int rc = kn_store_insert(s, &r, key, max_queued, existing, err);
    if (back) *back = r;
    else kn_job_rec_clear(&r);
    return rc;
}

static void put_ok(kn_store *s, const char *id)
{
    kn_err err = {0};
    int rc = put(s, id, "{\"v\":1}", NULL, 0, 0, NULL, NULL, &err);
    if (rc != KN_OK) fail_msg("insert %s: %s", id, err.msg);
}

static const char *status_of(kn_store *s, const char *id, char buf[16])
{
    kn_job_rec r;
    memset(&r, 0, sizeof r);
    kn_err err = {0};
    assert_int_equal(kn_store_get(s, id, &r, &err), KN_OK);
    snprintf(buf, 16, "%s", kn_job_status_name(r.status));
    kn_job_rec_clear(&r);
    return buf;
}

/* ---- records ---------------------------------------------------------- */

static void test_roundtrip(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    kn_job_rec in, out;
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    snprintf(in.id, sizeof in.id, "j_round");
    in.doc = strdup("{\"width\": 64, \"note\": \"caf\xc3\xa9 'quoted' \\\"x\\\"\"}");
    in.metadata = strdup("{\"customer\":\"acme\"}");
    in.created_at = 1700000000.25;
    in.frames_total = 300;
    int existing = -1;
    assert_int_equal(kn_store_insert(f->s, &in, "key-1", 0, &existing, &err), KN_OK);
    assert_int_equal(existing, 0);
    assert_int_equal(in.status, KN_STATUS_QUEUED);
    assert_true(in.eta_seconds < 0);

    assert_int_equal(kn_store_get(f->s, "j_round", &out, &err), KN_OK);
    assert_string_equal(out.id, "j_round");
    assert_int_equal(out.status, KN_STATUS_QUEUED);
    assert_null(out.doc);   /* reads leave the document out */
    char *doc = NULL;
    assert_int_equal(kn_store_get_doc(f->s, "j_round", &doc, &err), KN_OK);
    assert_string_equal(doc, in.doc);
    free(doc);
    assert_int_equal(kn_store_get_doc(f->s, "j_nope", &doc, &err), KN_ENOTFOUND);
    assert_null(doc);
    assert_string_equal(out.metadata, in.metadata);
    assert_true(out.created_at == 1700000000.25);
    assert_true(out.started_at == 0 && out.finished_at == 0);
    assert_int_equal(out.frames_total, 300);
    assert_int_equal(out.frames_rendered, 0);
    assert_int_equal(out.frames_encoded, 0);
    assert_true(out.render_fps == 0);
    assert_true(out.eta_seconds < 0);
    assert_string_equal(out.error_code, "");
    assert_null(out.error_message);
    assert_false(out.has_output);
    assert_int_equal(out.attempts, 0);
    kn_job_rec_clear(&out);

    /* created_at 0 means "now" */
    double t0 = kn_now();
    kn_job_rec now_rec;
    assert_int_equal(put(f->s, "j_now", "{}", NULL, 0, 0, NULL, &now_rec, &err), KN_OK);
    assert_true(now_rec.created_at >= t0 - 1 && now_rec.created_at <= kn_now() + 1);
    assert_null(now_rec.metadata);
    kn_job_rec_clear(&now_rec);

    /* rendering: started_at, attempts, progress */
    char id[KN_JOB_ID_MAX];
    int found = 0;
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_int_equal(found, 1);
    assert_string_equal(id, "j_round");
    assert_int_equal(kn_store_progress(f->s, id, 300, 120, 110, 212.5, 0.9, &err), KN_OK);
    assert_int_equal(kn_store_get(f->s, id, &out, &err), KN_OK);
    assert_int_equal(out.status, KN_STATUS_RENDERING);
    assert_true(out.started_at >= t0 - 1);
    assert_int_equal(out.frames_total, 300);
    assert_int_equal(out.frames_rendered, 120);
    assert_int_equal(out.frames_encoded, 110);
    assert_true(out.render_fps == 212.5);
    assert_true(out.eta_seconds == 0.9);
    assert_int_equal(out.attempts, 1);
    kn_job_rec_clear(&out);
    /* a negative eta is stored as null */
    assert_int_equal(kn_store_progress(f->s, id, 300, 130, 120, 200, -1, &err), KN_OK);
    assert_int_equal(kn_store_get(f->s, id, &out, &err), KN_OK);
    assert_true(out.eta_seconds < 0);
    kn_job_rec_clear(&out);

    /* succeeded: output, finished_at, counters complete */
    kn_job_output webm = {
        .format = KN_FORMAT_WEBM, .codec = KN_CODEC_VP9, .encoder = "libvpx-vp9",
        .bytes = 183211, .width = 64, .height = 48, .frames = 300, .duration = 12.5,
    };
    assert_int_equal(kn_store_finish(f->s, id, KN_STATUS_SUCCEEDED, &webm, NULL, NULL, &err), KN_OK);
    assert_int_equal(kn_store_get(f->s, id, &out, &err), KN_OK);
    assert_int_equal(out.status, KN_STATUS_SUCCEEDED);
    assert_true(out.has_output);
    assert_int_equal(out.output.format, KN_FORMAT_WEBM);
    assert_int_equal(out.output.codec, KN_CODEC_VP9);
    assert_string_equal(out.output.encoder, "libvpx-vp9");
    assert_int_equal(out.output.bytes, 183211);
    assert_int_equal(out.output.width, 64);
    assert_int_equal(out.output.height, 48);
    assert_int_equal(out.output.frames, 300);
    assert_true(out.output.duration == 12.5);
    assert_true(out.finished_at >= out.started_at && out.finished_at > 0);
    assert_int_equal(out.frames_rendered, 300);
    assert_int_equal(out.frames_encoded, 300);
    assert_string_equal(out.error_code, "");
    assert_null(out.error_message);
    assert_string_equal(out.metadata, in.metadata);
    kn_job_rec_clear(&out);

    /* failed: error code and message, no output */
    assert_int_equal(kn_store_finish(f->s, "j_now", KN_STATUS_FAILED, &webm, "render_failed",
                                     "frame 12: text layer has no font", &err), KN_OK);
    assert_int_equal(kn_store_get(f->s, "j_now", &out, &err), KN_OK);
    assert_int_equal(out.status, KN_STATUS_FAILED);
    assert_string_equal(out.error_code, "render_failed");
    assert_string_equal(out.error_message, "frame 12: text layer has no font");
    assert_false(out.has_output);   /* an output given with a failure is ignored */
    assert_true(out.finished_at > 0);
    assert_true(out.started_at == 0);
    kn_job_rec_clear(&out);

    /* not found */
    assert_int_equal(kn_store_get(f->s, "j_nope", &out, &err), KN_ENOTFOUND);
    assert_int_equal(err.code, KN_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no job \"j_nope\""));
    kn_job_rec_clear(&in);
}

static void test_delete_and_count(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    long n = -1;
    put_ok(f->s, "j_a");
    put_ok(f->s, "j_b");
    put_ok(f->s, "j_c");
    assert_int_equal(kn_store_finish(f->s, "j_b", KN_STATUS_CANCELED, NULL, NULL, NULL, &err), KN_OK);
    assert_int_equal(kn_store_count(f->s, ST(QUEUED), &n, &err), KN_OK);
    assert_int_equal(n, 2);
    assert_int_equal(kn_store_count(f->s, ST(CANCELED), &n, &err), KN_OK);
    assert_int_equal(n, 1);
    assert_int_equal(kn_store_count(f->s, NULL, &n, &err), KN_OK);
    assert_int_equal(n, 3);

    assert_int_equal(kn_store_delete(f->s, "j_a", &err), KN_OK);
    kn_job_rec r;
    memset(&r, 0, sizeof r);
    assert_int_equal(kn_store_get(f->s, "j_a", &r, &err), KN_ENOTFOUND);
    assert_int_equal(kn_store_delete(f->s, "j_a", &err), KN_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no job \"j_a\""));
    assert_int_equal(kn_store_count(f->s, NULL, &n, &err), KN_OK);
    assert_int_equal(n, 2);
}

/* ---- listing ---------------------------------------------------------- */

static void free_list(kn_job_rec *v, size_t n)
{
    for (size_t i = 0; i < n; i++) kn_job_rec_clear(&v[i]);
    free(v);
}

/* Pages through the list with `limit`, checking that the ids come newest
 * first and returning how many rows and pages there were. */
static void page_all(kn_store *s, const kn_job_status *status, int limit, int expect_ids[], int nexpect,
                     int *pages)
{
    char after[KN_JOB_ID_MAX] = "";
    int seen = 0;
    *pages = 0;
    for (;;) {
        kn_job_rec *v = NULL;
        size_t n = 0;
        char next[KN_JOB_ID_MAX];
        kn_err err = {0};
        int rc = kn_store_list(s, status, limit, after[0] ? after : NULL, 0, &v, &n, next, &err);
        if (rc != KN_OK) fail_msg("list: %s", err.msg);
        (*pages)++;
        assert_true(n <= (size_t)limit);
        for (size_t i = 0; i < n; i++) {
            assert_true(seen < nexpect);
            char want[KN_JOB_ID_MAX];
            snprintf(want, sizeof want, "j_%03d", expect_ids[seen]);
            assert_string_equal(v[i].id, want);
            seen++;
        }
        if (n) assert_true(next[0] == '\0' || !strcmp(next, v[n - 1].id));
        free_list(v, n);
        if (!next[0]) break;
        snprintf(after, sizeof after, "%s", next);
        assert_true(*pages < 100);
    }
    assert_int_equal(seen, nexpect);
}

static void test_list(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    char id[KN_JOB_ID_MAX];
    /* The k-th inserted job is j_((7k) mod 25), so id order and insertion
     * order differ: the list must follow insertion, not the id. */
    enum { N = 25 };
    for (int k = 0; k < N; k++) {
        snprintf(id, sizeof id, "j_%03d", (k * 7) % N);
        put_ok(f->s, id);
    }
    /* every third inserted job is canceled */
    for (int k = 0; k < N; k += 3) {
        snprintf(id, sizeof id, "j_%03d", (k * 7) % N);
        assert_int_equal(kn_store_finish(f->s, id, KN_STATUS_CANCELED, NULL, NULL, NULL, &err), KN_OK);
    }
    int all[N], queued[N], canceled[N], nq = 0, nc = 0;
    for (int k = N - 1, i = 0; k >= 0; k--, i++) {
        all[i] = (k * 7) % N;
        if (k % 3 == 0) canceled[nc++] = all[i];
        else queued[nq++] = all[i];
    }

    /* default limit: everything in one page, newest first, no next */
    kn_job_rec *v = NULL;
    size_t n = 0;
    char next[KN_JOB_ID_MAX];
    assert_int_equal(kn_store_list(f->s, NULL, 0, NULL, 0, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, N);
    assert_string_equal(next, "");
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof id, "j_%03d", all[i]);
        assert_string_equal(v[i].id, id);
        assert_null(v[i].doc);
    }
    free_list(v, n);

    int pages;
    page_all(f->s, NULL, 7, all, N, &pages);
    assert_int_equal(pages, 4);                     /* 7+7+7+4 */
    page_all(f->s, NULL, 5, all, N, &pages);
    assert_int_equal(pages, 5);                     /* no empty page after an exact fit */
    page_all(f->s, NULL, 1, all, N, &pages);
    assert_int_equal(pages, N);
    page_all(f->s, ST(QUEUED), 4, queued, nq, &pages);
    page_all(f->s, ST(CANCELED), 2, canceled, nc, &pages);
    assert_int_equal(nc, 9);
    page_all(f->s, ST(RENDERING), 3, NULL, 0, &pages);
    assert_int_equal(pages, 1);

    /* an exact multiple of the limit reports no next page after the last */
    assert_int_equal(kn_store_list(f->s, ST(CANCELED), 9, NULL, 0, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 9);
    assert_string_equal(next, "");
    free_list(v, n);
    assert_int_equal(kn_store_list(f->s, ST(CANCELED), 8, NULL, 0, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 8);
    assert_string_equal(next, v[7].id);
    free_list(v, n);

    /* cursor from another status filter still works (seq based) */
    snprintf(id, sizeof id, "j_%03d", all[10]);
    assert_int_equal(kn_store_list(f->s, NULL, 50, id, 0, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, N - 11);
    free_list(v, n);

    /* bad input */
    v = (kn_job_rec *)1;
    assert_int_equal(kn_store_list(f->s, NULL, 10, "j_unknown", 0, &v, &n, next, &err), KN_EINVAL);
    assert_non_null(strstr(err.msg, "unknown cursor"));
    assert_null(v);
    assert_int_equal(n, 0);
}

/* A byte budget ends a page before the record that would take the page's
 * metadata and error text over it; the first record is listed whatever
 * its size, and the cursor carries on from the last one listed. */
static void test_list_max_bytes(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    /* j_0..j_4, each with 1000 bytes of metadata; j_2 also fails with a
     * 500-byte message. */
    char meta[1001];
    memset(meta, ' ', sizeof meta - 1);
    meta[0] = '{';
    meta[999] = '}';
    meta[1000] = '\0';
    for (int i = 0; i < 5; i++) {
        kn_job_rec r;
        memset(&r, 0, sizeof r);
        snprintf(r.id, sizeof r.id, "j_%d", i);
        r.doc = strdup("{}");
        r.metadata = strdup(meta);
        r.frames_total = 1;
        assert_int_equal(kn_store_insert(f->s, &r, NULL, 0, NULL, &err), KN_OK);
        kn_job_rec_clear(&r);
    }
    char msg[501];
    memset(msg, 'm', 500);
    msg[500] = '\0';
    assert_int_equal(kn_store_finish(f->s, "j_2", KN_STATUS_FAILED, NULL, "render_failed", msg, &err), KN_OK);

    kn_job_rec *v = NULL;
    size_t n = 0;
    char next[KN_JOB_ID_MAX];
    /* 2000 bytes: j_4 and j_3 exactly. */
    assert_int_equal(kn_store_list(f->s, NULL, 10, NULL, 2000, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[1].id, "j_3");
    assert_string_equal(next, "j_3");
    free_list(v, n);
    /* From j_3 on with 2499: j_2 alone is 1500 bytes, j_1 would make 2500. */
    assert_int_equal(kn_store_list(f->s, NULL, 10, "j_3", 2499, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, "j_2");
    assert_string_equal(v[0].error_message, msg);
    assert_string_equal(next, "j_2");
    free_list(v, n);
    /* A budget smaller than any record still lists one at a time. */
    assert_int_equal(kn_store_list(f->s, NULL, 10, "j_2", 10, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, "j_1");
    assert_string_equal(next, "j_1");
    free_list(v, n);
    /* The last page: no next. */
    assert_int_equal(kn_store_list(f->s, NULL, 10, "j_1", 10, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, "j_0");
    assert_string_equal(next, "");
    free_list(v, n);
}

static void test_list_limit_clamp(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    char id[KN_JOB_ID_MAX];
    enum { N = 1003 };
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "j_%04d", i);
        put_ok(f->s, id);
    }
    kn_job_rec *v = NULL;
    size_t n = 0;
    char next[KN_JOB_ID_MAX];
    assert_int_equal(kn_store_list(f->s, NULL, 100000, NULL, 0, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 1000);
    assert_string_equal(v[0].id, "j_1002");
    assert_string_equal(v[999].id, "j_0003");
    assert_string_equal(next, "j_0003");
    free_list(v, n);
    /* `after` may be the caller's `next` buffer itself */
    assert_int_equal(kn_store_list(f->s, NULL, 1000, next, 0, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 3);
    assert_string_equal(v[2].id, "j_0000");
    assert_string_equal(next, "");
    free_list(v, n);
    assert_int_equal(kn_store_list(f->s, NULL, -5, NULL, 0, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 50);
    assert_string_equal(next, "j_0953");
    free_list(v, n);
    assert_int_equal(kn_store_list(f->s, NULL, 1, NULL, 0, &v, &n, next, &err), KN_OK);
    assert_int_equal(n, 1);
    assert_string_equal(next, "j_1002");
    free_list(v, n);
}

/* ---- insert rules ----------------------------------------------------- */

static void test_idempotency(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    int existing = -1;
    long n = 0;
    const char *body = "{\"scene\":[1,2,3]}";

    kn_job_rec first;
    assert_int_equal(put(f->s, "j_first", body, "k1", 0, 0, &existing, &first, &err), KN_OK);
    assert_int_equal(existing, 0);

    /* same key, same body: the first job comes back, nothing inserted */
    kn_job_rec again;
    assert_int_equal(put(f->s, "j_second", body, "k1", 0, 0, &existing, &again, &err), KN_OK);
    assert_int_equal(existing, 1);
    assert_string_equal(again.id, "j_first");
    assert_null(again.doc);
    assert_true(again.created_at == first.created_at);
    kn_job_rec_clear(&again);
    kn_job_rec_clear(&first);
    assert_int_equal(kn_store_count(f->s, NULL, &n, &err), KN_OK);
    assert_int_equal(n, 1);

    /* the stored status comes back, not "queued" */
    char id[KN_JOB_ID_MAX];
    int found;
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_int_equal(put(f->s, "j_third", body, "k1", 0, 0, &existing, &again, &err), KN_OK);
    assert_int_equal(existing, 1);
    assert_int_equal(again.status, KN_STATUS_RENDERING);
    assert_int_equal(again.attempts, 1);
    kn_job_rec_clear(&again);

    /* same key, different body */
    existing = -1;
    assert_int_equal(put(f->s, "j_other", "{\"scene\":[1,2,4]}", "k1", 0, 0, &existing, NULL,
                         &err), KN_ECONFLICT);
    assert_int_equal(existing, 0);
    assert_non_null(strstr(err.msg, "Idempotency-Key"));
    assert_non_null(strstr(err.msg, "different body"));
    /* and whitespace counts: the text is compared exactly */
    assert_int_equal(put(f->s, "j_other", "{\"scene\": [1,2,3]}", "k1", 0, 0, &existing, NULL,
                         &err), KN_ECONFLICT);
    assert_int_equal(kn_store_count(f->s, NULL, &n, &err), KN_OK);
    assert_int_equal(n, 1);

    /* a key used more than 24 h ago starts a new job */
    double old = kn_now() - 25 * 3600.0;
    assert_int_equal(put(f->s, "j_old", body, "k2", old, 0, &existing, NULL, &err), KN_OK);
    assert_int_equal(existing, 0);
    assert_int_equal(put(f->s, "j_new", body, "k2", 0, 0, &existing, &again, &err), KN_OK);
    assert_int_equal(existing, 0);
    assert_string_equal(again.id, "j_new");
    kn_job_rec_clear(&again);
    /* ...and a different body under the stale key is no conflict either */
    assert_int_equal(put(f->s, "j_k3old", body, "k3", old, 0, &existing, NULL, &err), KN_OK);
    assert_int_equal(put(f->s, "j_k3new", "{}", "k3", 0, 0, &existing, NULL, &err), KN_OK);
    assert_int_equal(existing, 0);
    /* the key now maps to the newest job */
    assert_int_equal(put(f->s, "j_k2again", body, "k2", 0, 0, &existing, &again, &err), KN_OK);
    assert_int_equal(existing, 1);
    assert_string_equal(again.id, "j_new");
    kn_job_rec_clear(&again);

    /* no key: never deduplicated */
    assert_int_equal(put(f->s, "j_nokey1", body, NULL, 0, 0, &existing, NULL, &err), KN_OK);
    assert_int_equal(put(f->s, "j_nokey2", body, NULL, 0, 0, &existing, NULL, &err), KN_OK);
    assert_int_equal(existing, 0);
    assert_int_equal(kn_store_count(f->s, NULL, &n, &err), KN_OK);
    assert_int_equal(n, 7);
}

static void test_max_queued(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    int existing;
    long n;
    assert_int_equal(put(f->s, "j_1", "{}", "a", 0, 3, &existing, NULL, &err), KN_OK);
    assert_int_equal(put(f->s, "j_2", "{}", NULL, 0, 3, &existing, NULL, &err), KN_OK);
    assert_int_equal(put(f->s, "j_3", "{}", NULL, 0, 3, &existing, NULL, &err), KN_OK);
    assert_int_equal(put(f->s, "j_4", "{}", NULL, 0, 3, &existing, NULL, &err), KN_EFULL);
    assert_int_equal(err.code, KN_EFULL);
    assert_non_null(strstr(err.msg, "full"));
    kn_job_rec r;
    memset(&r, 0, sizeof r);
    assert_int_equal(kn_store_get(f->s, "j_4", &r, &err), KN_ENOTFOUND);
    /* a retry of an accepted request still answers while the queue is full */
    assert_int_equal(put(f->s, "j_1b", "{}", "a", 0, 3, &existing, NULL, &err), KN_OK);
    assert_int_equal(existing, 1);
    /* no limit */
    assert_int_equal(put(f->s, "j_5", "{}", NULL, 0, 0, &existing, NULL, &err), KN_OK);
    assert_int_equal(kn_store_count(f->s, ST(QUEUED), &n, &err), KN_OK);
    assert_int_equal(n, 4);
    /* only queued jobs count: start two, and one more fits under 4 */
    char id[KN_JOB_ID_MAX];
    int found;
    assert_int_equal(put(f->s, "j_6", "{}", NULL, 0, 4, &existing, NULL, &err), KN_EFULL);
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_int_equal(put(f->s, "j_6", "{}", NULL, 0, 4, &existing, NULL, &err), KN_OK);
    assert_int_equal(put(f->s, "j_7", "{}", NULL, 0, 4, &existing, NULL, &err), KN_OK);
    assert_int_equal(put(f->s, "j_8", "{}", NULL, 0, 4, &existing, NULL, &err), KN_EFULL);
}

static void test_insert_errors(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    put_ok(f->s, "j_dup");
    /* a repeated id is a database failure with a message that says so */
    assert_int_equal(put(f->s, "j_dup", "{}", NULL, 0, 0, NULL, NULL, &err), KN_EIO);
    assert_non_null(strstr(err.msg, "storing job j_dup"));
    assert_non_null(strstr(err.msg, "UNIQUE constraint failed"));
    /* the failed transaction was rolled back: the store still works */
    put_ok(f->s, "j_after");
    long n;
    assert_int_equal(kn_store_count(f->s, NULL, &n, &err), KN_OK);
    assert_int_equal(n, 2);
}

/* ---- state changes ---------------------------------------------------- */

static void test_take_next_fifo(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    char id[KN_JOB_ID_MAX];
    int found = -1;
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_int_equal(found, 0);
    assert_string_equal(id, "");

    put_ok(f->s, "j_z");
    put_ok(f->s, "j_a");
    put_ok(f->s, "j_m");
    const char *order[] = {"j_z", "j_a", "j_m"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
        assert_int_equal(found, 1);
        assert_string_equal(id, order[i]);
    }
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_int_equal(found, 0);

    /* a requeued job is taken again: attempts counts, progress never goes
     * back (the API's fraction is monotonic) */
    assert_int_equal(kn_store_progress(f->s, "j_a", 10, 7, 6, 30, 0.1, &err), KN_OK);
    int requeued = -1, failed = -1;
    assert_int_equal(kn_store_recover(f->s, 5, &requeued, &failed, &err), KN_OK);
    assert_int_equal(requeued, 3);
    assert_int_equal(failed, 0);
    kn_job_rec r;
    memset(&r, 0, sizeof r);
    assert_int_equal(kn_store_get(f->s, "j_a", &r, &err), KN_OK);
    assert_int_equal(r.status, KN_STATUS_QUEUED);
    assert_int_equal(r.frames_rendered, 7);
    assert_int_equal(r.frames_encoded, 6);
    assert_true(r.started_at == 0);
    kn_job_rec_clear(&r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
        assert_string_equal(id, order[i]);  /* requeued jobs keep their place */
    }
    assert_int_equal(kn_store_progress(f->s, "j_a", 12, 5, 4, 30, 0.1, &err), KN_OK);
    assert_int_equal(kn_store_get(f->s, "j_a", &r, &err), KN_OK);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.frames_total, 12);
    assert_int_equal(r.frames_rendered, 7);   /* the new attempt has not passed 7 yet */
    assert_int_equal(r.frames_encoded, 6);
    kn_job_rec_clear(&r);
    assert_int_equal(kn_store_progress(f->s, "j_a", 12, 9, 8, 30, 0.1, &err), KN_OK);
    assert_int_equal(kn_store_get(f->s, "j_a", &r, &err), KN_OK);
    assert_int_equal(r.frames_encoded, 8);
    kn_job_rec_clear(&r);
}

static void test_progress_and_finish(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    char buf[16], id[KN_JOB_ID_MAX];
    int found;
    kn_job_rec r;
    memset(&r, 0, sizeof r);
    put_ok(f->s, "j_q");
    put_ok(f->s, "j_r");
    put_ok(f->s, "j_x");

    /* progress on a queued job changes nothing */
    assert_int_equal(kn_store_progress(f->s, "j_q", 10, 5, 5, 1, 1, &err), KN_OK);
    assert_int_equal(kn_store_get(f->s, "j_q", &r, &err), KN_OK);
    assert_int_equal(r.frames_rendered, 0);
    kn_job_rec_clear(&r);

    /* queued -> canceled, then it can never succeed */
    assert_int_equal(kn_store_finish(f->s, "j_q", KN_STATUS_CANCELED, NULL, NULL, NULL, &err), KN_OK);
    assert_int_equal(kn_store_finish(f->s, "j_q", KN_STATUS_SUCCEEDED, &OUT_MP4, NULL, NULL, &err),
                     KN_ECONFLICT);
    assert_non_null(strstr(err.msg, "canceled"));
    assert_string_equal(status_of(f->s, "j_q", buf), "canceled");

    /* rendering -> canceled keeps its progress; later progress and finish
     * from a renderer that has not noticed yet change nothing */
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_string_equal(id, "j_r");
    assert_int_equal(kn_store_progress(f->s, id, 10, 4, 3, 2, 3, &err), KN_OK);
    assert_int_equal(kn_store_finish(f->s, id, KN_STATUS_CANCELED, NULL, NULL, NULL, &err), KN_OK);
    assert_int_equal(kn_store_progress(f->s, id, 10, 9, 9, 2, 3, &err), KN_OK);
    assert_int_equal(kn_store_finish(f->s, id, KN_STATUS_SUCCEEDED, &OUT_MP4, NULL, NULL, &err), KN_ECONFLICT);
    assert_int_equal(kn_store_finish(f->s, id, KN_STATUS_FAILED, NULL, "render_failed", "x", &err),
                     KN_ECONFLICT);
    assert_int_equal(kn_store_get(f->s, id, &r, &err), KN_OK);
    assert_int_equal(r.status, KN_STATUS_CANCELED);
    assert_int_equal(r.frames_rendered, 4);
    assert_int_equal(r.frames_encoded, 3);
    assert_false(r.has_output);
    assert_string_equal(r.error_code, "");
    assert_true(r.finished_at > 0);
    kn_job_rec_clear(&r);

    /* rendering -> succeeded, then nothing else */
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_string_equal(id, "j_x");
    assert_int_equal(kn_store_finish(f->s, id, KN_STATUS_SUCCEEDED, &OUT_MP4, NULL, NULL, &err),
                     KN_OK);
    assert_int_equal(kn_store_finish(f->s, id, KN_STATUS_CANCELED, NULL, NULL, NULL, &err), KN_ECONFLICT);
    assert_int_equal(kn_store_get(f->s, id, &r, &err), KN_OK);
    assert_int_equal(r.status, KN_STATUS_SUCCEEDED);
    assert_int_equal(r.frames_rendered, 10);
    assert_int_equal(r.frames_encoded, 10);
    assert_true(r.eta_seconds == 0);
    kn_job_rec_clear(&r);

    /* a job that is gone */
    assert_int_equal(kn_store_finish(f->s, "j_missing", KN_STATUS_CANCELED, NULL, NULL, NULL, &err),
                     KN_ENOTFOUND);
}

/* ---- caller contracts ------------------------------------------------- */

/* Each breaks one contract of store.h on a fresh store; KN_REQUIRE must
 * stop the process before the database is touched. */
static void finish_queued(void *s) { kn_store_finish(s, "j_c", KN_STATUS_QUEUED, NULL, NULL, NULL, NULL); }
static void finish_failed_no_code(void *s)
{
    kn_store_finish(s, "j_c", KN_STATUS_FAILED, NULL, NULL, "no code", NULL);
}
static void finish_ok_no_output(void *s) { kn_store_finish(s, "j_c", KN_STATUS_SUCCEEDED, NULL, NULL, NULL, NULL); }
static void finish_bad_status(void *s) { kn_store_finish(s, "j_c", KN_STATUS_COUNT, NULL, NULL, NULL, NULL); }
static void progress_negative(void *s) { kn_store_progress(s, "j_c", -1, 0, 0, 0, 0, NULL); }
static void recover_zero(void *s) { kn_store_recover(s, 0, NULL, NULL, NULL); }
static void get_null_store(void *s)
{
    kn_job_rec r = {0};
    (void)s;
    kn_store_get(NULL, "j_c", &r, NULL);
}
static void get_long_id(void *s)
{
    kn_job_rec r = {0};
    char id[KN_JOB_ID_MAX + 8];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    kn_store_get(s, id, &r, NULL);
}
static void insert_empty_id(void *s)
{
    kn_job_rec r = {0};
    r.doc = "{}";
    kn_store_insert(s, &r, NULL, 0, NULL, NULL);
}
static void insert_no_doc(void *s)
{
    kn_job_rec r = {0};
    snprintf(r.id, sizeof r.id, "j_nodoc");
    kn_store_insert(s, &r, NULL, 0, NULL, NULL);
}
static void count_bad_status(void *s)
{
    long n;
    kn_store_count(s, &(kn_job_status){(kn_job_status)7}, &n, NULL);
}

static void test_contracts(void **state)
{
    fx *f = *state;
    put_ok(f->s, "j_c");
    void (*const broken[])(void *) = {
        finish_queued, finish_failed_no_code, finish_ok_no_output, finish_bad_status,
        progress_negative, recover_zero, get_null_store, get_long_id, insert_empty_id,
        insert_no_doc, count_bad_status,
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        if (!tu_dies(broken[i], f->s)) fail_msg("contract %zu did not stop the process", i);
    /* none of them changed anything */
    char buf[16];
    assert_string_equal(status_of(f->s, "j_c", buf), "queued");
    long n;
    kn_err err = {0};
    assert_int_equal(kn_store_count(f->s, NULL, &n, &err), KN_OK);
    assert_int_equal(n, 1);
}

/* ---- crash recovery --------------------------------------------------- */

/* In a child: open, take the next job, record progress, die without closing.
 * Exit codes tell the parent which step failed. */
static void crash_child(const char *db)
{
    kn_store *s = NULL;
    kn_err err = {0};
    char id[KN_JOB_ID_MAX];
    int found = 0;
    if (kn_store_open(db, &s, &err) != KN_OK) _exit(10);
    if (kn_store_take_next(s, id, &found, &err) != KN_OK || !found) _exit(11);
    if (strcmp(id, "j_crash") != 0) _exit(12);
    if (kn_store_progress(s, id, 10, 6, 5, 50, 0.1, &err) != KN_OK) _exit(13);
    _exit(0);   /* no kn_store_close: the process "crashes" */
}

static void run_crash_child(const char *db)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) crash_child(db);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_crash_recovery(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    kn_job_rec r;
    memset(&r, 0, sizeof r);
    int requeued = -1, failed = -1;
    put_ok(f->s, "j_crash");
    put_ok(f->s, "j_other");
    /* no connection may cross a fork */
    kn_store_close(f->s);
    f->s = NULL;

    for (int attempt = 1; attempt <= 3; attempt++) {
        run_crash_child(f->db);
        /* the child's commits sit in the WAL, not yet checkpointed */
        char wal[700];
        struct stat sb;
        snprintf(wal, sizeof wal, "%s-wal", f->db);
        assert_int_equal(stat(wal, &sb), 0);
        assert_true(sb.st_size > 0);

        assert_int_equal(kn_store_open(f->db, &f->s, &err), KN_OK);
        assert_int_equal(kn_store_get(f->s, "j_crash", &r, &err), KN_OK);
        assert_int_equal(r.status, KN_STATUS_RENDERING);
        assert_int_equal(r.frames_rendered, 6);
        assert_int_equal(r.frames_encoded, 5);
        assert_int_equal(r.attempts, attempt);
        kn_job_rec_clear(&r);

        assert_int_equal(kn_store_recover(f->s, 3, &requeued, &failed, &err), KN_OK);
        assert_int_equal(kn_store_get(f->s, "j_crash", &r, &err), KN_OK);
        if (attempt < 3) {
            assert_int_equal(requeued, 1);
            assert_int_equal(failed, 0);
            assert_int_equal(r.status, KN_STATUS_QUEUED);
            assert_int_equal(r.frames_rendered, 6);   /* kept: progress is monotonic */
            assert_int_equal(r.frames_total, 10);
        } else {
            assert_int_equal(requeued, 0);
            assert_int_equal(failed, 1);
            assert_int_equal(r.status, KN_STATUS_FAILED);
            assert_string_equal(r.error_code, "interrupted");
            assert_non_null(r.error_message);
            assert_non_null(strstr(r.error_message, "interrupted 3 times"));
            assert_true(r.finished_at > 0);
        }
        kn_job_rec_clear(&r);
        /* the job behind it was never touched */
        assert_int_equal(kn_store_get(f->s, "j_other", &r, &err), KN_OK);
        assert_int_equal(r.status, KN_STATUS_QUEUED);
        assert_int_equal(r.attempts, 0);
        kn_job_rec_clear(&r);
        kn_store_close(f->s);
        f->s = NULL;
    }
    /* a failed job is never picked up again */
    assert_int_equal(kn_store_open(f->db, &f->s, &err), KN_OK);
    assert_int_equal(kn_store_recover(f->s, 3, &requeued, &failed, &err), KN_OK);
    assert_int_equal(requeued + failed, 0);
    char id[KN_JOB_ID_MAX];
    int found;
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_string_equal(id, "j_other");
}

/* ---- on-disk format --------------------------------------------------- */

static void test_wal_and_version(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    put_ok(f->s, "j_kept");
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    /* the CHECK keeps out a status nobody knows */
    assert_int_not_equal(sqlite3_exec(db, "UPDATE jobs SET status = 'paused'", NULL, NULL, NULL),
                         SQLITE_OK);
    /* and an output format or codec nobody knows */
    assert_int_not_equal(sqlite3_exec(db, "UPDATE jobs SET output_format = 'mkv'", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE jobs SET output_codec = 'av1'", NULL, NULL, NULL),
                         SQLITE_OK);
    sqlite3_close(db);

    /* reopening keeps the data and does not migrate again */
    kn_store_close(f->s);
    f->s = NULL;
    assert_int_equal(kn_store_open(f->db, &f->s, &err), KN_OK);
    char buf[16];
    assert_string_equal(status_of(f->s, "j_kept", buf), "queued");
    kn_store_close(f->s);
    f->s = NULL;

    /* a database from a newer Kinora is refused, not damaged */
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(kn_store_open(f->db, &f->s, &err), KN_EIO);
    assert_null(f->s);
    assert_non_null(strstr(err.msg, "newer"));
    assert_non_null(strstr(err.msg, f->db));
}

/* Bytes this process has passed to write(2) and friends so far. */
static long long wchar_now(void)
{
    FILE *fp = fopen("/proc/self/io", "r");
    assert_non_null(fp);
    char line[128];
    long long v = -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "wchar: %lld", &v) == 1) break;
    fclose(fp);
    assert_true(v >= 0);
    return v;
}

/* Progress and status writes must not copy the document: a 2 MB per-frame
 * job updated 50 times writes far less than one copy of it. */
static void test_progress_leaves_doc_alone(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    enum { BIG = 2 << 20 };
    char *big = malloc(BIG + 1);
    assert_non_null(big);
    memset(big, ' ', BIG);
    big[0] = '{';
    big[BIG - 1] = '}';
    big[BIG] = '\0';
    assert_int_equal(put(f->s, "j_big", big, NULL, 0, 0, NULL, NULL, &err), KN_OK);
    char id[KN_JOB_ID_MAX];
    int found = 0;
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_true(found);
    long long w0 = wchar_now();
    for (int i = 1; i <= 50; i++)
        assert_int_equal(kn_store_progress(f->s, "j_big", 10, i % 10, i % 10, 30, 1, &err), KN_OK);
    kn_job_rec r = {0};
    assert_int_equal(kn_store_get(f->s, "j_big", &r, &err), KN_OK);
    kn_job_rec_clear(&r);
    assert_int_equal(kn_store_finish(f->s, "j_big", KN_STATUS_SUCCEEDED, &OUT_MP4, NULL, NULL, &err), KN_OK);
    long long written = wchar_now() - w0;
    if (written >= BIG / 2) fail_msg("50 progress writes wrote %lld bytes for a %d-byte document", written, BIG);
    char *doc = NULL;
    assert_int_equal(kn_store_get_doc(f->s, "j_big", &doc, &err), KN_OK);
    assert_string_equal(doc, big);
    free(doc);

    /* deleting the job deletes its document */
    assert_int_equal(kn_store_delete(f->s, "j_big", &err), KN_OK);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM job_docs", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(big);
}

/* A database written by schema version 1 (the document inline in jobs) is
 * migrated on open: every job keeps its document and its state. */
static void test_migrate_from_v1(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    kn_store_close(f->s);
    f->s = NULL;
    unlink(f->db);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    const char *v1 =
        "PRAGMA journal_mode = WAL;"
        "CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
        " status TEXT NOT NULL CHECK (status IN ('queued','rendering','succeeded','failed','canceled')),"
        " doc TEXT NOT NULL, metadata TEXT, created_at REAL NOT NULL, started_at REAL,"
        " finished_at REAL, frames_total INTEGER NOT NULL DEFAULT 0,"
        " frames_rendered INTEGER NOT NULL DEFAULT 0, frames_encoded INTEGER NOT NULL DEFAULT 0,"
        " render_fps REAL NOT NULL DEFAULT 0, eta REAL, error_code TEXT, error_message TEXT,"
        " output TEXT, attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0), idem_key TEXT);"
        "CREATE INDEX jobs_status_seq ON jobs(status, seq);"
        "CREATE INDEX jobs_idem_key ON jobs(idem_key, created_at) WHERE idem_key IS NOT NULL;"
        "INSERT INTO jobs (id, status, doc, created_at, frames_total, attempts) VALUES"
        " ('j_old1', 'queued', '{\"a\":1}', 1700000000, 30, 0),"
        " ('j_old2', 'succeeded', '{\"b\":2}', 1700000001, 60, 1);"
        "UPDATE jobs SET output = '{\"url\":\"/v1/jobs/j_old2/video\",\"codec\":\"h264\","
        "\"encoder\":\"libx264\",\"bytes\":5000,\"width\":320,\"height\":240,\"frames\":60,"
        "\"duration\":2.0}' WHERE id = 'j_old2';"
        "PRAGMA user_version = 1;";
    assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(kn_store_open(f->db, &f->s, &err), KN_OK);
    char buf[16], *doc = NULL;
    assert_string_equal(status_of(f->s, "j_old1", buf), "queued");
    assert_string_equal(status_of(f->s, "j_old2", buf), "succeeded");
    assert_int_equal(kn_store_get_doc(f->s, "j_old1", &doc, &err), KN_OK);
    assert_string_equal(doc, "{\"a\":1}");
    free(doc);
    assert_int_equal(kn_store_get_doc(f->s, "j_old2", &doc, &err), KN_OK);
    assert_string_equal(doc, "{\"b\":2}");
    free(doc);
    /* its output went through both migrations: no "format" then meant mp4 */
    kn_job_rec r = {0};
    assert_int_equal(kn_store_get(f->s, "j_old2", &r, &err), KN_OK);
    assert_true(r.has_output);
    assert_int_equal(r.output.format, KN_FORMAT_MP4);
    assert_int_equal(r.output.codec, KN_CODEC_H264);
    assert_int_equal(r.output.bytes, 5000);
    kn_job_rec_clear(&r);
    /* new jobs queue behind the old ones */
    put_ok(f->s, "j_new");
    char id[KN_JOB_ID_MAX];
    int found = 0;
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_string_equal(id, "j_old1");
}

/* Schema version 2, as a Kinora of that version left it: output facts as
 * one JSON text. */
static const char *const V2_SCHEMA =
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
    " status TEXT NOT NULL CHECK (status IN ('queued','rendering','succeeded','failed','canceled')),"
    " metadata TEXT, created_at REAL NOT NULL, started_at REAL,"
    " finished_at REAL, frames_total INTEGER NOT NULL DEFAULT 0,"
    " frames_rendered INTEGER NOT NULL DEFAULT 0, frames_encoded INTEGER NOT NULL DEFAULT 0,"
    " render_fps REAL NOT NULL DEFAULT 0, eta REAL, error_code TEXT, error_message TEXT,"
    " output TEXT, attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0), idem_key TEXT);"
    "CREATE INDEX jobs_status_seq ON jobs(status, seq);"
    "CREATE INDEX jobs_idem_key ON jobs(idem_key, created_at) WHERE idem_key IS NOT NULL;"
    "CREATE TABLE job_docs (seq INTEGER PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE,"
    " doc TEXT NOT NULL);"
    "PRAGMA user_version = 2;";

/* A version 2 database is migrated on open: each succeeded job's output
 * JSON becomes the output columns once, jobs without one (or with one that
 * is not a valid object) get none, and the JSON column is gone. */
static void test_migrate_from_v2(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    kn_store_close(f->s);
    f->s = NULL;
    unlink(f->db);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, V2_SCHEMA, NULL, NULL, NULL), SQLITE_OK);
    const char *rows =
        "INSERT INTO jobs (id, status, created_at, frames_total, attempts, output) VALUES"
        " ('j_webm', 'succeeded', 1700000000, 48, 1,"
        "  '{\"url\":\"/v1/jobs/j_webm/video\",\"format\":\"webm\",\"codec\":\"vp9\","
        "\"encoder\":\"libvpx-vp9\",\"bytes\":81234,\"width\":1280,\"height\":720,"
        "\"frames\":48,\"duration\":1.601601}'),"
        " ('j_gif', 'succeeded', 1700000001, 10, 1,"
        "  '{\"format\":\"gif\",\"codec\":\"gif\",\"encoder\":\"gif\",\"bytes\":999,"
        "\"width\":33,\"height\":17,\"frames\":10,\"duration\":0.4}'),"
        " ('j_oldmp4', 'succeeded', 1700000002, 5, 1,"
        "  '{\"codec\":\"hevc\",\"encoder\":\"libx265\",\"bytes\":10,\"width\":64,"
        "\"height\":48,\"frames\":5,\"duration\":0.2}'),"
        " ('j_damaged', 'succeeded', 1700000003, 5, 1, '{\"format\": '),"
        " ('j_strange', 'succeeded', 1700000004, 5, 1, '{\"format\":\"mkv\"}'),"
        " ('j_array', 'succeeded', 1700000005, 5, 1, '[1, 2]'),"
        " ('j_queued', 'queued', 1700000006, 5, 0, NULL),"
        " ('j_failed', 'failed', 1700000007, 5, 1, '{\"format\":\"mp4\"}');"
        "INSERT INTO job_docs (seq, doc) SELECT seq, '{}' FROM jobs;";
    assert_int_equal(sqlite3_exec(db, rows, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(kn_store_open(f->db, &f->s, &err), KN_OK);
    kn_job_rec r = {0};
    assert_int_equal(kn_store_get(f->s, "j_webm", &r, &err), KN_OK);
    assert_int_equal(r.status, KN_STATUS_SUCCEEDED);
    assert_true(r.has_output);
    assert_int_equal(r.output.format, KN_FORMAT_WEBM);
    assert_int_equal(r.output.codec, KN_CODEC_VP9);
    assert_string_equal(r.output.encoder, "libvpx-vp9");
    assert_int_equal(r.output.bytes, 81234);
    assert_int_equal(r.output.width, 1280);
    assert_int_equal(r.output.height, 720);
    assert_int_equal(r.output.frames, 48);
    assert_true(r.output.duration == 1.601601);
    kn_job_rec_clear(&r);

    assert_int_equal(kn_store_get(f->s, "j_gif", &r, &err), KN_OK);
    assert_true(r.has_output);
    assert_int_equal(r.output.format, KN_FORMAT_GIF);
    assert_int_equal(r.output.codec, KN_CODEC_GIF);
    assert_int_equal(r.output.width, 33);
    kn_job_rec_clear(&r);

    /* written before webm existed: no "format" means mp4 */
    assert_int_equal(kn_store_get(f->s, "j_oldmp4", &r, &err), KN_OK);
    assert_true(r.has_output);
    assert_int_equal(r.output.format, KN_FORMAT_MP4);
    assert_int_equal(r.output.codec, KN_CODEC_HEVC);
    kn_job_rec_clear(&r);

    static const char *const none[] = {"j_damaged", "j_strange", "j_array", "j_queued", "j_failed"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        assert_int_equal(kn_store_get(f->s, none[i], &r, &err), KN_OK);
        if (r.has_output) fail_msg("%s got an output from its old text", none[i]);
        kn_job_rec_clear(&r);
    }

    /* the JSON column is gone and the version is current */
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info('jobs')"
                                            " WHERE name = 'output'", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* and the migrated store works: a new job finishes with its output */
    put_ok(f->s, "j_new");
    char id[KN_JOB_ID_MAX];
    int found = 0;
    assert_int_equal(kn_store_take_next(f->s, id, &found, &err), KN_OK);
    assert_string_equal(id, "j_queued");
    assert_int_equal(kn_store_finish(f->s, id, KN_STATUS_SUCCEEDED, &OUT_MP4, NULL, NULL, &err), KN_OK);
    assert_int_equal(kn_store_get(f->s, id, &r, &err), KN_OK);
    assert_true(r.has_output);
    assert_string_equal(r.output.encoder, "libx264");
    kn_job_rec_clear(&r);
}

/* ---- threads ---------------------------------------------------------- */

enum { THREADS = 4, PER_THREAD = 40 };

typedef struct {
    kn_store *s;
    int t;
    int failures;
    int taken;
    char msg[512];
} worker_arg;

static void *writer(void *p)
{
    worker_arg *a = p;
    kn_err err = {0};
    for (int i = 0; i < PER_THREAD && !a->failures; i++) {
        char id[KN_JOB_ID_MAX];
        snprintf(id, sizeof id, "j_t%d_%03d", a->t, i);
        kn_job_rec r;
        memset(&r, 0, sizeof r);
        snprintf(r.id, sizeof r.id, "%s", id);
        r.doc = strdup("{\"t\":1}");
        int existing = 0;
        /* every thread also races on one shared idempotency key */
        int rc = kn_store_insert(a->s, &r, i == 0 ? "shared" : NULL, 0, &existing, &err);
        kn_job_rec_clear(&r);
        if (rc == KN_OK) {
            memset(&r, 0, sizeof r);
            if (!existing) rc = kn_store_get(a->s, id, &r, &err);
            kn_job_rec_clear(&r);
        }
        if (rc == KN_OK) {
            kn_job_rec *v = NULL;
            size_t n = 0;
            char next[KN_JOB_ID_MAX];
            rc = kn_store_list(a->s, NULL, 5, NULL, 0, &v, &n, next, &err);
            for (size_t k = 0; k < n; k++) kn_job_rec_clear(&v[k]);
            free(v);
        }
        if (rc == KN_OK && i % 4 == 0) {
            char tid[KN_JOB_ID_MAX];
            int found = 0;
            rc = kn_store_take_next(a->s, tid, &found, &err);
            if (rc == KN_OK && found) {
                a->taken++;
                rc = kn_store_progress(a->s, tid, 10, 5, 5, 1, 1, &err);
                if (rc == KN_OK)
                    rc = kn_store_finish(a->s, tid, KN_STATUS_SUCCEEDED, &OUT_MP4, NULL, NULL, &err);
            }
        }
        if (rc != KN_OK) {
            a->failures++;
            snprintf(a->msg, sizeof a->msg, "%s", err.msg);
        }
    }
    return NULL;
}

static void test_threads(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset(&args[t], 0, sizeof args[t]);
        args[t].s = f->s;
        args[t].t = t;
        assert_int_equal(pthread_create(&th[t], NULL, writer, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        if (args[t].failures) fail_msg("thread %d: %s", t, args[t].msg);
    }
    long all, queued, done, taken = 0;
    for (int t = 0; t < THREADS; t++) taken += args[t].taken;
    assert_int_equal(kn_store_count(f->s, NULL, &all, &err), KN_OK);
    assert_int_equal(kn_store_count(f->s, ST(QUEUED), &queued, &err), KN_OK);
    assert_int_equal(kn_store_count(f->s, ST(SUCCEEDED), &done, &err), KN_OK);
    /* the shared key made exactly one job; the other threads got it back */
    assert_int_equal(all, THREADS * PER_THREAD - (THREADS - 1));
    assert_true(taken > 0);
    assert_int_equal(done, taken);
    assert_int_equal(queued + done, all);
}

/* ---- open errors ------------------------------------------------------ */

static void test_open_errors(void **state)
{
    fx *f = *state;
    kn_err err = {0};
    kn_store *s = (kn_store *)1;
    char path[700];
    snprintf(path, sizeof path, "%s/no/such/dir/jobs.db", f->dir);
    assert_int_equal(kn_store_open(path, &s, &err), KN_EIO);
    assert_null(s);
    assert_int_equal(err.code, KN_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "unable to open database file"));

    snprintf(path, sizeof path, "%s/notadb.db", f->dir);
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)('A' + i % 23);
    assert_int_equal(tu_write_file(path, junk, sizeof junk), 0);
    kn_err_clear(&err);
    assert_int_equal(kn_store_open(path, &s, &err), KN_EIO);
    assert_null(s);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "not a database"));

    assert_int_equal(kn_store_open("", &s, &err), KN_EINVAL);
    kn_store_close(NULL);
    kn_job_rec_clear(NULL);
}

int main(void)
{
    kn_log_set_level(KN_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_limit_clamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_max_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_next_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_and_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contracts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_leaves_doc_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
