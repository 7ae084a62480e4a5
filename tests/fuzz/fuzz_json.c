/*
 * tests/fuzz/fuzz_json.c - differential libFuzzer target for doc/jsonread:
 * any byte string is read by kn_jsonread and by jansson's json_loadb with
 * the flags jsonread.h promises to match. Both must accept it and build the
 * same values (reals bit for bit), or both refuse it, in which case
 * jsonread's error must point inside the input. Every top-level member of
 * an accepted object is found as written by kn_jsonread_member. ASan/UBSan
 * catch reads past the buffer (the input is not NUL-terminated here on
 * purpose).
 *
 * Seeds: tests/fuzz/corpus_json and tests/fuzz/corpus (job documents).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc/jsonread.h"
#include "tests/json_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so a read past the end is an ASan report. */
    char *s = malloc(size ? size : 1);
    if (!s) return 0;
    memcpy(s, data, size);
    json_error_t je;
    kn_jsonread_error ke;
    json_t *ref = json_loadb(s, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
    json_t *got = kn_jsonread(s, size, &ke);
    /* A NUL byte is never valid JSON. jansson stops at a NUL right after a
     * top-level scalar ("0\0" reads as 0); jsonread refuses it. */
    if (memchr(s, 0, size)) {
        if (got) abort();
        json_decref(ref);
        ref = NULL;
    } else if (!ref != !got) {
        abort();
    }
    if (ref && !json_same(ref, got)) abort();
    if (!got && (ke.position > size || ke.line < 1 || ke.column < 1 || !ke.text[0])) abort();
    /* kn_jsonread_member finds every top-level member of an accepted
     * object, and its text reads back as the member's value; on any input
     * it stays inside the buffer. */
    size_t off, len;
    if (got && json_is_object(got)) {
        const char *key;
        json_t *v;
        json_object_foreach(got, key, v) {
            if (!kn_jsonread_member(s, size, key, &off, &len) || off + len > size) abort();
            json_t *m = kn_jsonread(s + off, len, NULL);
            if (!m || !json_same(v, m)) abort();
            json_decref(m);
        }
    }
    if (kn_jsonread_member(s, size, "metadata", &off, &len) && off + len > size) abort();
    json_decref(ref);
    json_decref(got);
    free(s);
    return 0;
}
