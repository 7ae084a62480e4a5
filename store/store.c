/*
 * store/store.c - the job store on SQLite (see store.h for the contract).
 *
 * One connection per kn_store, opened FULLMUTEX and additionally serialised
 * by s->mu, because a multi-statement operation (BEGIN ... COMMIT) must not
 * interleave with another thread's statements on the same connection.
 *
 * Invariants:
 * - Every SQL text is a constant in this file; data only ever reaches SQLite
 *   through bound parameters.
 * - Every statement is reset (and its bindings cleared) before s->mu is
 *   released, so no read transaction stays open between calls (an open one
 *   would pin the WAL and block checkpoints).
 * - Every operation that reads then writes runs inside BEGIN IMMEDIATE, so
 *   its checks (queue length, idempotency key, current status) still hold
 *   when it writes, even against another process on the same file.
 * - The schema version lives in PRAGMA user_version; migrations[i] takes the
 *   schema from version i to i + 1 and is applied inside one transaction.
 * - Column values: created_at/started_at/finished_at NULL <-> 0 in the
 *   record, eta NULL <-> negative, error_code NULL <-> "", output_format
 *   NULL <-> has_output false (the other output_* columns are set with it).
 * - Text columns holding a vocabulary word (status, output_format,
 *   output_codec) are parsed into the enum when a row is read: this file is
 *   their edge. The schema's CHECK constraints admit the same spellings.
 */
#include "store/store.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/require.h"

#define SCHEMA_VERSION 3
#define BUSY_TIMEOUT_MS 5000
#define ECODE_CAP sizeof(((kn_job_rec *)0)->error_code)

/* migrations[i] upgrades the schema from version i to i + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
    "CREATE TABLE jobs ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  status TEXT NOT NULL CHECK (status IN"
    "    ('queued','rendering','succeeded','failed','canceled')),"
    "  doc TEXT NOT NULL,"
    "  metadata TEXT,"
    "  created_at REAL NOT NULL,"
    "  started_at REAL,"
    "  finished_at REAL,"
    "  frames_total INTEGER NOT NULL DEFAULT 0,"
    "  frames_rendered INTEGER NOT NULL DEFAULT 0,"
    "  frames_encoded INTEGER NOT NULL DEFAULT 0,"
    "  render_fps REAL NOT NULL DEFAULT 0,"
    "  eta REAL,"
    "  error_code TEXT,"
    "  error_message TEXT,"
    "  output TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  idem_key TEXT"
    ");"
    "CREATE INDEX jobs_status_seq ON jobs(status, seq);"
    /* Not UNIQUE: a key may be reused once its 24 h window has passed. */
    "CREATE INDEX jobs_idem_key ON jobs(idem_key, created_at)"
    "  WHERE idem_key IS NOT NULL;"
    "PRAGMA user_version = 1;",

    /* The document moves out of the jobs row: SQLite rewrites a whole row,
     * overflow pages included, on every UPDATE, so with the text inline each
     * progress write of a 2.4 MB per-frame job copied 2.4 MB into the WAL
     * (and every status poll read it back). */
    "CREATE TABLE job_docs ("
    "  seq INTEGER PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE,"
    "  doc TEXT NOT NULL"
    ");"
    "INSERT INTO job_docs (seq, doc) SELECT seq, doc FROM jobs;"
    "ALTER TABLE jobs DROP COLUMN doc;"
    "PRAGMA user_version = 2;",

    /* The output facts become columns instead of a JSON text: the API
     * re-parsed that text to learn a job's format (to find its file), and
     * the scheduler had to build the API's JSON to store it. The backfill
     * reads each stored object once (SQLite's JSON functions); an object
     * without "format" predates webm and gif, so it is mp4, and its codec
     * is the format's default. A row whose text is not such an object keeps
     * no output (the API showed null for it already). */
    "ALTER TABLE jobs ADD COLUMN output_format TEXT"
    "  CHECK (output_format IN ('mp4','webm','gif'));"
    "ALTER TABLE jobs ADD COLUMN output_codec TEXT"
    "  CHECK (output_codec IN ('h264','hevc','vp9','gif'));"
    "ALTER TABLE jobs ADD COLUMN output_encoder TEXT;"
    "ALTER TABLE jobs ADD COLUMN output_bytes INTEGER;"
    "ALTER TABLE jobs ADD COLUMN output_width INTEGER;"
    "ALTER TABLE jobs ADD COLUMN output_height INTEGER;"
    "ALTER TABLE jobs ADD COLUMN output_frames INTEGER;"
    "ALTER TABLE jobs ADD COLUMN output_duration REAL;"
    "UPDATE jobs SET"
    "  output_format = coalesce(json_extract(output, '$.format'), 'mp4'),"
    "  output_codec = coalesce(json_extract(output, '$.codec'),"
    "    CASE coalesce(json_extract(output, '$.format'), 'mp4')"
    "      WHEN 'webm' THEN 'vp9' WHEN 'gif' THEN 'gif' ELSE 'h264' END),"
    "  output_encoder = coalesce(json_extract(output, '$.encoder'), ''),"
    "  output_bytes = coalesce(json_extract(output, '$.bytes'), 0),"
    "  output_width = coalesce(json_extract(output, '$.width'), 0),"
    "  output_height = coalesce(json_extract(output, '$.height'), 0),"
    "  output_frames = coalesce(json_extract(output, '$.frames'), 0),"
    "  output_duration = coalesce(json_extract(output, '$.duration'), 0)"
    /* CASE, because only it is sure to skip the JSON functions (which
     * raise an error on malformed text) when json_valid says no. */
    " WHERE status = 'succeeded' AND CASE WHEN json_valid(output) THEN"
    "  json_type(output) = 'object'"
    "  AND coalesce(json_extract(output, '$.format'), 'mp4') IN ('mp4','webm','gif')"
    "  AND coalesce(json_extract(output, '$.codec'), 'h264') IN ('h264','hevc','vp9','gif')"
    "  ELSE 0 END;"
    "ALTER TABLE jobs DROP COLUMN output;"
    "PRAGMA user_version = 3;",
};

/* The column list every record read uses; read_row() indexes it. */
#define JOB_COLS "id, status, metadata, created_at, started_at, finished_at, "      \
                 "frames_total, frames_rendered, frames_encoded, render_fps, eta, "   \
                 "error_code, error_message, output_format, output_codec, "          \
                 "output_encoder, output_bytes, output_width, output_height, "        \
                 "output_frames, output_duration, attempts"
enum {
    C_ID, C_STATUS, C_METADATA, C_CREATED, C_STARTED, C_FINISHED,
    C_TOTAL, C_RENDERED, C_ENCODED, C_FPS, C_ETA, C_ECODE, C_EMSG,
    C_OFORMAT, C_OCODEC, C_OENCODER, C_OBYTES, C_OWIDTH, C_OHEIGHT, C_OFRAMES, C_ODURATION,
    C_ATTEMPTS,
    C_DOC_SAME      /* ST_IDEM only: 1 when the stored document equals ?3 */
};

enum {
    ST_BEGIN_IMMEDIATE, ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
    ST_GET, ST_IDEM, ST_COUNT_STATUS, ST_COUNT_ALL, ST_INSERT, ST_SEQ_OF,
    ST_LIST_ALL, ST_LIST_STATUS, ST_NEXT_QUEUED, ST_START, ST_PROGRESS,
    ST_FINISH, ST_STATUS_OF, ST_DELETE, ST_RECOVER_FAIL, ST_RECOVER_REQUEUE,
    ST_INSERT_DOC, ST_DOC, ST_REQUEUE, ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
    [ST_IDEM] = "SELECT " JOB_COLS ", (SELECT doc = ?3 FROM job_docs WHERE job_docs.seq = jobs.seq)"
                " FROM jobs WHERE idem_key = ?1 AND created_at >= ?2"
                " ORDER BY seq DESC LIMIT 1",
    [ST_COUNT_STATUS] = "SELECT count(*) FROM jobs WHERE status = ?1",
    [ST_COUNT_ALL] = "SELECT count(*) FROM jobs",
    [ST_INSERT] = "INSERT INTO jobs (id, status, metadata, created_at, frames_total,"
                  " attempts, idem_key) VALUES (?1, 'queued', ?2, ?3, ?4, 0, ?5)",
    [ST_INSERT_DOC] = "INSERT INTO job_docs (seq, doc) VALUES (last_insert_rowid(), ?1)",
    [ST_DOC] = "SELECT d.doc FROM jobs j JOIN job_docs d ON d.seq = j.seq WHERE j.id = ?1",
    [ST_SEQ_OF] = "SELECT seq FROM jobs WHERE id = ?1",
    [ST_LIST_ALL] = "SELECT " JOB_COLS " FROM jobs WHERE seq < ?1"
                    " ORDER BY seq DESC LIMIT ?2",
    [ST_LIST_STATUS] = "SELECT " JOB_COLS " FROM jobs WHERE status = ?3 AND seq < ?1"
                       " ORDER BY seq DESC LIMIT ?2",
    [ST_NEXT_QUEUED] = "SELECT seq, id FROM jobs WHERE status = 'queued'"
                       " ORDER BY seq LIMIT 1",
    /* Progress counters only ever grow (the API promises a monotonic
     * fraction): a job rendered again after a crash keeps showing what the
     * earlier attempt reached until the new attempt passes it. */
    [ST_START] = "UPDATE jobs SET status = 'rendering', started_at = ?2, finished_at = NULL,"
                 " attempts = attempts + 1,"
                 " render_fps = 0, eta = NULL WHERE seq = ?1 AND status = 'queued'",
    [ST_PROGRESS] = "UPDATE jobs SET frames_total = ?2, frames_rendered = MAX(frames_rendered, ?3),"
                    " frames_encoded = MAX(frames_encoded, ?4), render_fps = ?5, eta = ?6"
                    " WHERE id = ?1 AND status = 'rendering'",
    [ST_FINISH] = "UPDATE jobs SET status = ?2, finished_at = ?3,"
                  " error_code = ?5, error_message = ?6,"
                  " output_format = ?4, output_codec = ?7, output_encoder = ?8,"
                  " output_bytes = ?9, output_width = ?10, output_height = ?11,"
                  " output_frames = ?12, output_duration = ?13,"
                  " frames_rendered = CASE WHEN ?2 = 'succeeded' THEN frames_total"
                  "   ELSE frames_rendered END,"
                  " frames_encoded = CASE WHEN ?2 = 'succeeded' THEN frames_total"
                  "   ELSE frames_encoded END,"
                  " eta = CASE WHEN ?2 = 'succeeded' THEN 0 ELSE NULL END"
                  " WHERE id = ?1 AND status IN ('queued', 'rendering')",
    [ST_STATUS_OF] = "SELECT status FROM jobs WHERE id = ?1",
    [ST_DELETE] = "DELETE FROM jobs WHERE id = ?1",
    [ST_RECOVER_FAIL] = "UPDATE jobs SET status = 'failed', finished_at = ?2,"
                        " error_code = 'interrupted',"
                        " error_message = 'interrupted ' || attempts ||"
                        "   ' times (server stopped while rendering); giving up',"
                        " eta = NULL WHERE status = 'rendering' AND attempts >= ?1",
    [ST_RECOVER_REQUEUE] = "UPDATE jobs SET status = 'queued', started_at = NULL,"
                           " render_fps = 0, eta = NULL WHERE status = 'rendering'",
    /* One job whose render pool died under it (kn_store_requeue); its
     * progress stays, as after a crash (see ST_START). */
    [ST_REQUEUE] = "UPDATE jobs SET status = 'queued', started_at = NULL,"
                   " render_fps = 0, eta = NULL WHERE id = ?1 AND status = 'rendering' AND attempts < ?2",
};

struct kn_store {
    pthread_mutex_t mu;
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
};

/* ---- helpers ---------------------------------------------------------- */

/* Fails with KN_EIO: "<what>: <sqlite message>". Call it right at the failing
 * call, before anything else touches the connection (a ROLLBACK would replace
 * the message). */
static int db_fail(sqlite3 *db, kn_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int db_fail(sqlite3 *db, kn_err *err, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *m = db ? sqlite3_errmsg(db) : NULL;
    return kn_err_set(err, KN_EIO, NULL, "%s: %s", what, m ? m : "out of memory");
}

static bool valid_id(const char *id)
{
    return id && id[0] && strnlen(id, KN_JOB_ID_MAX) < KN_JOB_ID_MAX;
}

static bool valid_status(const kn_job_status *st)
{
    return !st || (unsigned)*st < KN_STATUS_COUNT;
}

/* A cached statement, ready to bind. */
static sqlite3_stmt *stmt(kn_store *s, int which)
{
    sqlite3_stmt *st = s->st[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Ends a use of st: releases its read lock and the caller's bound memory. */
static void release(sqlite3_stmt *st)
{
    if (!st) return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Runs a statement that returns no rows (BEGIN, COMMIT, UPDATE...). */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int tx_begin(kn_store *s, int which, kn_err *err, const char *what)
{
    sqlite3_stmt *st = stmt(s, which);
    int rc = step_done(st);
    int ret = rc == SQLITE_OK ? KN_OK : db_fail(s->db, err, "%s: starting a transaction", what);
    release(st);
    return ret;
}

static int tx_commit(kn_store *s, kn_err *err, const char *what)
{
    sqlite3_stmt *st = stmt(s, ST_COMMIT);
    int rc = step_done(st);
    int ret = rc == SQLITE_OK ? KN_OK : db_fail(s->db, err, "%s: committing", what);
    release(st);
    return ret;
}

/* Rolls back if a transaction is still open (some errors already ended it). */
static void tx_rollback(kn_store *s)
{
    if (sqlite3_get_autocommit(s->db)) return;
    sqlite3_stmt *st = stmt(s, ST_ROLLBACK);
    int rc = step_done(st);
    release(st);
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(s->db))
        kn_error("job store: rollback failed: %s", sqlite3_errmsg(s->db));
}

static double col_double(sqlite3_stmt *st, int i, double if_null)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? if_null : sqlite3_column_double(st, i);
}

/* Copies a TEXT column into a fixed buffer ("" for NULL). */
static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* A malloc'ed copy of a TEXT column in *dst (NULL for NULL). KN_ENOMEM when
 * the copy (or SQLite's conversion) fails. */
static int col_dup(sqlite3_stmt *st, int i, char **dst)
{
    *dst = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return KN_OK;
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t) return KN_ENOMEM;
    *dst = strdup((const char *)t);
    return *dst ? KN_OK : KN_ENOMEM;
}

/* Fills *out from the current row of a JOB_COLS query; on failure *out is
 * left untouched. */
static int read_row(sqlite3_stmt *st, kn_job_rec *out, kn_err *err)
{
    kn_job_rec r;
    char word[16];
    memset(&r, 0, sizeof r);
    col_copy(st, C_ID, r.id, sizeof r.id);
    col_copy(st, C_STATUS, word, sizeof word);
    /* The CHECK constraint admits only the five: another word is a damaged
     * or foreign database. */
    if (!kn_job_status_parse(word, &r.status))
        return kn_err_set(err, KN_EIO, NULL, "job %s has status \"%s\" in the database, which "
                          "this build does not know", r.id, word);
    r.has_output = sqlite3_column_type(st, C_OFORMAT) != SQLITE_NULL;
    if (r.has_output) {
        kn_job_output *o = &r.output;
        char codec[16];
        col_copy(st, C_OFORMAT, word, sizeof word);
        col_copy(st, C_OCODEC, codec, sizeof codec);
        if (!kn_format_parse(word, &o->format) || !kn_codec_parse(codec, &o->codec))
            return kn_err_set(err, KN_EIO, NULL, "job %s has output %s/%s in the database, which "
                              "this build does not know", r.id, word, codec);
        col_copy(st, C_OENCODER, o->encoder, sizeof o->encoder);
        o->bytes = (long long)sqlite3_column_int64(st, C_OBYTES);
        o->width = sqlite3_column_int(st, C_OWIDTH);
        o->height = sqlite3_column_int(st, C_OHEIGHT);
        o->frames = (long)sqlite3_column_int64(st, C_OFRAMES);
        o->duration = col_double(st, C_ODURATION, 0);
    }
    col_copy(st, C_ECODE, r.error_code, sizeof r.error_code);
    if (col_dup(st, C_METADATA, &r.metadata) || col_dup(st, C_EMSG, &r.error_message)) {
        kn_job_rec_clear(&r);
        return kn_err_set(err, KN_ENOMEM, NULL, "out of memory reading a job record");
    }
    r.created_at = col_double(st, C_CREATED, 0);
    r.started_at = col_double(st, C_STARTED, 0);
    r.finished_at = col_double(st, C_FINISHED, 0);
    r.frames_total = (long)sqlite3_column_int64(st, C_TOTAL);
    r.frames_rendered = (long)sqlite3_column_int64(st, C_RENDERED);
    r.frames_encoded = (long)sqlite3_column_int64(st, C_ENCODED);
    r.render_fps = col_double(st, C_FPS, 0);
    r.eta_seconds = col_double(st, C_ETA, -1);
    r.attempts = sqlite3_column_int(st, C_ATTEMPTS);
    *out = r;
    return KN_OK;
}

static void free_recs(kn_job_rec *v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) kn_job_rec_clear(&v[i]);
    free(v);
}

/* ---- records ---------------------------------------------------------- */

void kn_job_rec_clear(kn_job_rec *r)
{
    if (!r) return;
    free(r->doc);
    free(r->metadata);
    free(r->error_message);
    memset(r, 0, sizeof *r);
}

/* ---- open / close ----------------------------------------------------- */

/* Runs one PRAGMA-like statement returning a single row and copies its first
 * column into buf (used for journal_mode, whose answer must be checked). */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        col_copy(st, 0, buf, cap);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        buf[0] = '\0';
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
        /* keep the step's message: finalize would report the same code */
        sqlite3_finalize(st);
        return rc;
    }
    return sqlite3_finalize(st);
}

static int migrate(sqlite3 *db, const char *path, kn_err *err)
{
    char buf[32];
    int ret = KN_OK;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, err, "opening job store %s: starting the schema migration", path);
    /* Read inside the transaction: another process may have just migrated. */
    if (query_text(db, "PRAGMA user_version", buf, sizeof buf) != SQLITE_OK) {
        ret = db_fail(db, err, "opening job store %s: reading the schema version", path);
        goto out;
    }
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    if (end == buf || *end || v < 0) {
        ret = kn_err_set(err, KN_EIO, NULL, "opening job store %s: bad schema version \"%s\"",
                         path, buf);
        goto out;
    }
    if (v > SCHEMA_VERSION) {
        ret = kn_err_set(err, KN_EIO, NULL,
                         "opening job store %s: its schema version %ld is newer than this "
                         "build supports (%d); use a newer Kinora or another database",
                         path, v, SCHEMA_VERSION);
        goto out;
    }
    for (long i = v; i < SCHEMA_VERSION; i++) {
        if (sqlite3_exec(db, migrations[i], NULL, NULL, NULL) != SQLITE_OK) {
            ret = db_fail(db, err, "opening job store %s: migrating the schema to version %ld",
                          path, i + 1);
            goto out;
        }
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        ret = db_fail(db, err, "opening job store %s: committing the schema migration", path);
        goto out;
    }
    if (v < SCHEMA_VERSION)
        kn_debug("job store %s: schema migrated from version %ld to %d", path, v, SCHEMA_VERSION);
out:
    if (ret != KN_OK && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return ret;
}

int kn_store_open(const char *path, kn_store **out, kn_err *err)
{
    int ret = KN_OK;
    kn_store *s = NULL;
    char mode[32];
    KN_REQUIRE(out);
    *out = NULL;
    if (!path || !*path)
        return kn_err_set(err, KN_EINVAL, NULL, "job store: no database path given");

    s = calloc(1, sizeof *s);
    if (!s) return kn_err_set(err, KN_ENOMEM, NULL, "job store: out of memory");
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return kn_err_set(err, KN_EINTERNAL, NULL, "job store: cannot create a mutex");
    }

    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        ret = s->db ? db_fail(s->db, err, "opening job store %s", path)
                    : kn_err_set(err, KN_EIO, NULL, "opening job store %s: %s", path,
                                 sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK) {
        ret = db_fail(s->db, err, "opening job store %s: setting the busy timeout", path);
        goto out;
    }
    /* The first statement that reads the file: a non-database fails here. */
    if (query_text(s->db, "PRAGMA journal_mode = WAL", mode, sizeof mode) != SQLITE_OK) {
        ret = db_fail(s->db, err, "opening job store %s: enabling WAL", path);
        goto out;
    }
    if (strcmp(mode, "wal") != 0) {
        ret = kn_err_set(err, KN_EIO, NULL,
                         "opening job store %s: journal_mode is \"%s\", not \"wal\" (WAL needs "
                         "a local file system with shared memory)", path, mode);
        goto out;
    }
    if (sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        ret = db_fail(s->db, err, "opening job store %s: setting synchronous=NORMAL", path);
        goto out;
    }
    if (sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK) {
        ret = db_fail(s->db, err, "opening job store %s: enabling foreign keys", path);
        goto out;
    }
    ret = migrate(s->db, path, err);
    if (ret != KN_OK) goto out;
    for (int i = 0; i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                                NULL);
        if (rc != SQLITE_OK) {
            ret = db_fail(s->db, err, "opening job store %s: preparing statement %d", path, i);
            goto out;
        }
    }
    kn_debug("job store %s open (schema version %d, WAL)", path, SCHEMA_VERSION);
out:
    if (ret != KN_OK) {
        kn_store_close(s);
        return ret;
    }
    *out = s;
    return KN_OK;
}

void kn_store_close(kn_store *s)
{
    if (!s) return;
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        kn_warn("job store: close failed: %s", sqlite3_errmsg(s->db));
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- insert ----------------------------------------------------------- */

int kn_store_insert(kn_store *s, kn_job_rec *rec, const char *idem_key,
                    long max_queued, int *existing, kn_err *err)
{
    int ret = KN_OK;
    sqlite3_stmt *st = NULL;
    KN_REQUIRE(s && rec && valid_id(rec->id) && rec->doc && rec->frames_total >= 0);
    if (existing) *existing = 0;

    double now = kn_now();
    double created = rec->created_at > 0 ? rec->created_at : now;
    char what[96];
    snprintf(what, sizeof what, "storing job %s", rec->id);

    pthread_mutex_lock(&s->mu);
    ret = tx_begin(s, ST_BEGIN_IMMEDIATE, err, what);
    if (ret != KN_OK) goto out;

    if (idem_key) {
        st = stmt(s, ST_IDEM);
        if (bind_text(st, 1, idem_key) || sqlite3_bind_double(st, 2, now - KN_STORE_IDEM_WINDOW_S) ||
            bind_text(st, 3, rec->doc)) {
            ret = db_fail(s->db, err, "%s: looking up its Idempotency-Key", what);
            goto out;
        }
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            kn_job_rec found;
            ret = read_row(st, &found, err);
            if (ret != KN_OK) goto out;
            if (sqlite3_column_int(st, C_DOC_SAME) != 1) {
                ret = kn_err_set(err, KN_ECONFLICT, NULL,
                                 "Idempotency-Key \"%.64s\" was used with a different body "
                                 "(job %s); use a new key for a new job", idem_key, found.id);
                kn_job_rec_clear(&found);
                goto out;
            }
            release(st);
            st = NULL;
            ret = tx_commit(s, err, what);
            if (ret != KN_OK) {
                kn_job_rec_clear(&found);
                goto out;
            }
            /* The record owns its strings (store.h): the caller's copy is
             * replaced by the stored job. */
            kn_job_rec_clear(rec);
            *rec = found;
            if (existing) *existing = 1;
            goto out;
        }
        if (rc != SQLITE_DONE) {
            ret = db_fail(s->db, err, "%s: looking up its Idempotency-Key", what);
            goto out;
        }
        release(st);
        st = NULL;
    }

    if (max_queued > 0) {
        st = stmt(s, ST_COUNT_STATUS);
        if (bind_text(st, 1, kn_job_status_name(KN_STATUS_QUEUED)) ||
            sqlite3_step(st) != SQLITE_ROW) {
            ret = db_fail(s->db, err, "%s: counting queued jobs", what);
            goto out;
        }
        long queued = (long)sqlite3_column_int64(st, 0);
        release(st);
        st = NULL;
        if (queued >= max_queued) {
            ret = kn_err_set(err, KN_EFULL, NULL,
                             "the queue is full (%ld jobs queued, the limit is %ld); retry later",
                             queued, max_queued);
            goto out;
        }
    }

    st = stmt(s, ST_INSERT);
    if (bind_text(st, 1, rec->id) || bind_text(st, 2, rec->metadata) ||
        sqlite3_bind_double(st, 3, created) || sqlite3_bind_int64(st, 4, rec->frames_total) ||
        bind_text(st, 5, idem_key) || step_done(st) != SQLITE_OK) {
        ret = db_fail(s->db, err, "%s", what);
        goto out;
    }
    release(st);
    st = stmt(s, ST_INSERT_DOC);
    if (bind_text(st, 1, rec->doc) || step_done(st) != SQLITE_OK) {
        ret = db_fail(s->db, err, "%s: storing its document", what);
        goto out;
    }
    release(st);
    st = NULL;
    ret = tx_commit(s, err, what);
    if (ret != KN_OK) goto out;

    /* Make rec describe the row as stored. */
    rec->status = KN_STATUS_QUEUED;
    rec->created_at = created;
    rec->started_at = rec->finished_at = 0;
    rec->frames_rendered = rec->frames_encoded = 0;
    rec->render_fps = 0;
    rec->eta_seconds = -1;
    rec->error_code[0] = '\0';
    free(rec->error_message);
    rec->error_message = NULL;
    rec->has_output = false;
    memset(&rec->output, 0, sizeof rec->output);
    rec->attempts = 0;
out:
    release(st);
    if (ret != KN_OK) tx_rollback(s);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

/* ---- reads ------------------------------------------------------------ */

int kn_store_get(kn_store *s, const char *id, kn_job_rec *out, kn_err *err)
{
    int ret = KN_OK;
    KN_REQUIRE(s && valid_id(id) && out);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, ST_GET);
    if (bind_text(st, 1, id)) {
        ret = db_fail(s->db, err, "reading job %.64s", id);
        goto out;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        ret = read_row(st, out, err);
    else if (rc == SQLITE_DONE)
        ret = kn_err_set(err, KN_ENOTFOUND, NULL, "no job \"%.64s\"", id);
    else
        ret = db_fail(s->db, err, "reading job %.64s", id);
out:
    release(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int kn_store_get_status(kn_store *s, const char *id, kn_job_status *out, kn_err *err)
{
    int ret = KN_OK;
    KN_REQUIRE(s && valid_id(id) && out);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, ST_STATUS_OF);
    if (bind_text(st, 1, id)) {
        ret = db_fail(s->db, err, "reading the status of job %.64s", id);
        goto out;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        char word[16];
        col_copy(st, 0, word, sizeof word);
        if (!kn_job_status_parse(word, out))
            ret = kn_err_set(err, KN_EIO, NULL, "job %.64s has status \"%s\" in the database, which this build "
                             "does not know", id, word);
    } else if (rc == SQLITE_DONE) {
        ret = kn_err_set(err, KN_ENOTFOUND, NULL, "no job \"%.64s\"", id);
    } else {
        ret = db_fail(s->db, err, "reading the status of job %.64s", id);
    }
out:
    release(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int kn_store_get_doc(kn_store *s, const char *id, char **doc, kn_err *err)
{
    int ret = KN_OK;
    KN_REQUIRE(s && valid_id(id) && doc);
    *doc = NULL;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, ST_DOC);
    if (bind_text(st, 1, id)) {
        ret = db_fail(s->db, err, "reading the document of job %.64s", id);
        goto out;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (col_dup(st, 0, doc) != KN_OK || !*doc)
            ret = kn_err_set(err, KN_ENOMEM, NULL, "out of memory reading the document of job %.64s", id);
    } else if (rc == SQLITE_DONE) {
        ret = kn_err_set(err, KN_ENOTFOUND, NULL, "no job \"%.64s\"", id);
    } else {
        ret = db_fail(s->db, err, "reading the document of job %.64s", id);
    }
out:
    release(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int kn_store_list(kn_store *s, const kn_job_status *status, int limit, const char *after,
                  size_t max_bytes, kn_job_rec **out, size_t *n, char next[KN_JOB_ID_MAX],
                  kn_err *err)
{
    int ret = KN_OK;
    sqlite3_stmt *st = NULL;
    kn_job_rec *v = NULL;
    size_t cnt = 0, bytes = 0;
    int more = 0;
    char cursor[KN_JOB_ID_MAX + 1] = "";
    KN_REQUIRE(s && out && n && next && valid_status(status));
    /* Copied first: `after` may be the caller's `next` buffer of the last page.
     * One byte over the id limit keeps an over-long cursor unknown. */
    if (after) snprintf(cursor, sizeof cursor, "%s", after);
    *out = NULL;
    *n = 0;
    next[0] = '\0';
    if (limit <= 0) limit = KN_STORE_LIST_DEFAULT;
    if (limit > KN_STORE_LIST_MAX) limit = KN_STORE_LIST_MAX;
    v = calloc((size_t)limit, sizeof *v);
    if (!v) return kn_err_set(err, KN_ENOMEM, NULL, "listing jobs: out of memory");

    pthread_mutex_lock(&s->mu);
    /* One read transaction: the cursor lookup and the page see one snapshot. */
    ret = tx_begin(s, ST_BEGIN, err, "listing jobs");
    if (ret != KN_OK) goto out;

    sqlite3_int64 before = INT64_MAX;
    if (cursor[0]) {
        st = stmt(s, ST_SEQ_OF);
        if (bind_text(st, 1, cursor)) {
            ret = db_fail(s->db, err, "listing jobs after %s", cursor);
            goto out;
        }
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            ret = kn_err_set(err, KN_EINVAL, NULL,
                             "unknown cursor \"%s\" (no such job; list from the start)", cursor);
            goto out;
        }
        if (rc != SQLITE_ROW) {
            ret = db_fail(s->db, err, "listing jobs after %s", cursor);
            goto out;
        }
        before = sqlite3_column_int64(st, 0);
        release(st);
        st = NULL;
    }

    st = stmt(s, status ? ST_LIST_STATUS : ST_LIST_ALL);
    /* One row more than asked tells whether another page exists. */
    if (sqlite3_bind_int64(st, 1, before) || sqlite3_bind_int(st, 2, limit + 1) ||
        (status && bind_text(st, 3, kn_job_status_name(*status)))) {
        ret = db_fail(s->db, err, "listing jobs");
        goto out;
    }
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            ret = db_fail(s->db, err, "listing jobs");
            goto out;
        }
        if (cnt == (size_t)limit) {
            more = 1;
            break;
        }
        /* The sizes come from the row header: a record past the budget is
         * never copied. */
        size_t size = (size_t)sqlite3_column_bytes(st, C_METADATA) + (size_t)sqlite3_column_bytes(st, C_EMSG);
        if (max_bytes > 0 && cnt > 0 && (bytes >= max_bytes || size > max_bytes - bytes)) {
            more = 1;
            break;
        }
        bytes += size;
        ret = read_row(st, &v[cnt], err);
        if (ret != KN_OK) goto out;
        cnt++;
    }
    release(st);
    st = NULL;
    ret = tx_commit(s, err, "listing jobs");
out:
    release(st);
    if (ret != KN_OK) tx_rollback(s);
    pthread_mutex_unlock(&s->mu);
    if (ret != KN_OK) {
        free_recs(v, cnt);
        return ret;
    }
    if (more) snprintf(next, KN_JOB_ID_MAX, "%s", v[cnt - 1].id);
    if (cnt == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = cnt;
    return KN_OK;
}

int kn_store_count(kn_store *s, const kn_job_status *status, long *n, kn_err *err)
{
    int ret = KN_OK;
    KN_REQUIRE(s && n && valid_status(status));
    *n = 0;
    const char *name = status ? kn_job_status_name(*status) : NULL;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, status ? ST_COUNT_STATUS : ST_COUNT_ALL);
    if ((name && bind_text(st, 1, name)) || sqlite3_step(st) != SQLITE_ROW)
        ret = db_fail(s->db, err, "counting %s jobs", name ? name : "all");
    else
        *n = (long)sqlite3_column_int64(st, 0);
    release(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

/* ---- state changes ---------------------------------------------------- */

int kn_store_take_next(kn_store *s, char id[KN_JOB_ID_MAX], int *found, kn_err *err)
{
    int ret = KN_OK;
    sqlite3_stmt *st = NULL;
    KN_REQUIRE(s && id && found);
    id[0] = '\0';
    *found = 0;
    char got[KN_JOB_ID_MAX] = "";

    pthread_mutex_lock(&s->mu);
    ret = tx_begin(s, ST_BEGIN_IMMEDIATE, err, "taking the next queued job");
    if (ret != KN_OK) goto out;
    st = stmt(s, ST_NEXT_QUEUED);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        release(st);
        st = NULL;
        ret = tx_commit(s, err, "taking the next queued job");
        goto out;
    }
    if (rc != SQLITE_ROW) {
        ret = db_fail(s->db, err, "taking the next queued job");
        goto out;
    }
    sqlite3_int64 seq = sqlite3_column_int64(st, 0);
    col_copy(st, 1, got, sizeof got);
    release(st);
    st = stmt(s, ST_START);
    if (sqlite3_bind_int64(st, 1, seq) || sqlite3_bind_double(st, 2, kn_now()) ||
        step_done(st) != SQLITE_OK) {
        ret = db_fail(s->db, err, "starting job %s", got);
        goto out;
    }
    release(st);
    st = NULL;
    ret = tx_commit(s, err, "starting a job");
    if (ret != KN_OK) goto out;
    snprintf(id, KN_JOB_ID_MAX, "%s", got);
    *found = 1;
out:
    release(st);
    if (ret != KN_OK) tx_rollback(s);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int kn_store_progress(kn_store *s, const char *id, long total, long rendered,
                      long encoded, double fps, double eta, kn_err *err)
{
    int ret = KN_OK;
    KN_REQUIRE(s && valid_id(id) && total >= 0 && rendered >= 0 && encoded >= 0);
    if (!isfinite(fps) || fps < 0) fps = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, ST_PROGRESS);
    int rc = bind_text(st, 1, id);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, total);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, rendered);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 4, encoded);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 5, fps);
    if (rc == SQLITE_OK)
        rc = isfinite(eta) && eta >= 0 ? sqlite3_bind_double(st, 6, eta) : sqlite3_bind_null(st, 6);
    if (rc == SQLITE_OK) rc = step_done(st);
    /* No row changed means the job is no longer rendering (canceled, say):
     * nothing to record, and not an error for the renderer. */
    if (rc != SQLITE_OK) ret = db_fail(s->db, err, "recording progress of job %.64s", id);
    release(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int kn_store_finish(kn_store *s, const char *id, kn_job_status status,
                    const kn_job_output *output, const char *error_code,
                    const char *error_message, kn_err *err)
{
    int ret = KN_OK;
    sqlite3_stmt *st = NULL;
    bool ok = status == KN_STATUS_SUCCEEDED, failed = status == KN_STATUS_FAILED;
    KN_REQUIRE(s && valid_id(id) && kn_job_status_is_final(status));
    KN_REQUIRE(!ok || (output && (unsigned)output->format < KN_FORMAT_COUNT &&
                       (unsigned)output->codec < KN_CODEC_COUNT));
    KN_REQUIRE(!failed || (error_code && *error_code && strlen(error_code) < ECODE_CAP));
    const char *name = kn_job_status_name(status);
    char what[96];
    snprintf(what, sizeof what, "finishing job %.40s as %s", id, name);

    pthread_mutex_lock(&s->mu);
    ret = tx_begin(s, ST_BEGIN_IMMEDIATE, err, what);
    if (ret != KN_OK) goto out;
    st = stmt(s, ST_FINISH);
    /* Unbound output parameters stay NULL: only a success has output. */
    int rc = bind_text(st, 1, id);
    if (rc == SQLITE_OK) rc = bind_text(st, 2, name);
    if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 3, kn_now());
    if (rc == SQLITE_OK) rc = bind_text(st, 5, failed ? error_code : NULL);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 6, failed ? (error_message ? error_message : error_code) : NULL);
    if (rc == SQLITE_OK && ok) {
        rc = bind_text(st, 4, kn_format_name(output->format));
        if (rc == SQLITE_OK) rc = bind_text(st, 7, kn_codec_name(output->codec));
        if (rc == SQLITE_OK) rc = bind_text(st, 8, output->encoder);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 9, output->bytes);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 10, output->width);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 11, output->height);
        if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 12, output->frames);
        if (rc == SQLITE_OK) rc = sqlite3_bind_double(st, 13, output->duration);
    }
    if (rc == SQLITE_OK) rc = step_done(st);
    if (rc != SQLITE_OK) {
        ret = db_fail(s->db, err, "%s", what);
        goto out;
    }
    release(st);
    st = NULL;
    if (sqlite3_changes(s->db) == 0) {
        /* Why did nothing change: gone, or already final? */
        st = stmt(s, ST_STATUS_OF);
        if (bind_text(st, 1, id)) {
            ret = db_fail(s->db, err, "%s", what);
            goto out;
        }
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            char cur[16];
            col_copy(st, 0, cur, sizeof cur);
            ret = kn_err_set(err, KN_ECONFLICT, NULL,
                             "job \"%.64s\" is already %s; it cannot become %s", id, cur, name);
        } else if (rc == SQLITE_DONE) {
            ret = kn_err_set(err, KN_ENOTFOUND, NULL, "no job \"%.64s\"", id);
        } else {
            ret = db_fail(s->db, err, "%s", what);
        }
        goto out;
    }
    ret = tx_commit(s, err, what);
out:
    release(st);
    if (ret != KN_OK) tx_rollback(s);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int kn_store_delete(kn_store *s, const char *id, kn_err *err)
{
    int ret = KN_OK;
    KN_REQUIRE(s && valid_id(id));
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, ST_DELETE);
    if (bind_text(st, 1, id) || step_done(st) != SQLITE_OK)
        ret = db_fail(s->db, err, "deleting job %.64s", id);
    else if (sqlite3_changes(s->db) == 0)
        ret = kn_err_set(err, KN_ENOTFOUND, NULL, "no job \"%.64s\"", id);
    release(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int kn_store_recover(kn_store *s, int max_attempts, int *requeued, int *failed, kn_err *err)
{
    int ret = KN_OK;
    sqlite3_stmt *st = NULL;
    int nfail = 0, nreq = 0;
    KN_REQUIRE(s && max_attempts >= 1);
    if (requeued) *requeued = 0;
    if (failed) *failed = 0;
    const char *what = "recovering jobs left rendering";

    pthread_mutex_lock(&s->mu);
    ret = tx_begin(s, ST_BEGIN_IMMEDIATE, err, what);
    if (ret != KN_OK) goto out;
    /* Fail first: the requeue below takes every job still rendering. */
    st = stmt(s, ST_RECOVER_FAIL);
    if (sqlite3_bind_int(st, 1, max_attempts) || sqlite3_bind_double(st, 2, kn_now()) ||
        step_done(st) != SQLITE_OK) {
        ret = db_fail(s->db, err, "%s: failing jobs started %d times", what, max_attempts);
        goto out;
    }
    nfail = sqlite3_changes(s->db);
    release(st);
    st = stmt(s, ST_RECOVER_REQUEUE);
    if (step_done(st) != SQLITE_OK) {
        ret = db_fail(s->db, err, "%s: requeueing", what);
        goto out;
    }
    nreq = sqlite3_changes(s->db);
    release(st);
    st = NULL;
    ret = tx_commit(s, err, what);
    if (ret != KN_OK) goto out;
    if (requeued) *requeued = nreq;
    if (failed) *failed = nfail;
out:
    release(st);
    if (ret != KN_OK) tx_rollback(s);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int kn_store_requeue(kn_store *s, const char *id, int max_attempts, int *requeued, kn_err *err)
{
    int ret = KN_OK;
    KN_REQUIRE(s && valid_id(id) && max_attempts >= 1 && requeued);
    *requeued = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, ST_REQUEUE);
    int rc = bind_text(st, 1, id);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int(st, 2, max_attempts);
    if (rc == SQLITE_OK) rc = step_done(st);
    if (rc != SQLITE_OK) ret = db_fail(s->db, err, "queueing job %.64s again", id);
    else *requeued = sqlite3_changes(s->db) > 0;
    release(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}
