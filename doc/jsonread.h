/*
 * doc/jsonread.h - the job document's JSON reader: strict RFC 8259 text in,
 * jansson values out.
 *
 * Why not json_loadb: a document that pushes data per frame is mostly
 * numbers (the 2.4 MB benchmark job holds 300k of them), and jansson reads
 * one character at a time through a callback and converts every number with
 * a copy, a localeconv() call and strtod. That was 92% of parsing the
 * document (730M instructions), paid once in the server at POST and again in
 * every render worker before its first frame. This reader scans the buffer
 * directly, converts numbers of up to 19 significant digits and decimal
 * exponents within 10^±22 exactly by Clinger's fast path (one correctly
 * rounded operation on exact operands) and hands the rest to strtod_l in
 * the C locale, so every number reads back bit for bit as strtod reads it.
 * It still builds plain jansson values, so everything downstream (and the
 * jsonmem arena) is unchanged. kn_jsonread_member finds one member of a
 * document as it was written, without building anything.
 *
 * What it accepts is exactly what json_loadb accepts with JSON_DECODE_ANY |
 * JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL: one value of any type
 * with optional surrounding whitespace; strings of valid UTF-8 (no overlong
 * forms, surrogates or code points past U+10FFFF), no raw control
 * characters, no \u0000, surrogate escapes only in valid pairs; numbers by
 * the JSON grammar, every one a real (integers included), a number whose
 * magnitude overflows a double refused; duplicate keys in an object refused;
 * nesting at most KN_JSONREAD_MAX_DEPTH deep. One deliberate difference: a
 * NUL byte is refused everywhere, where jansson takes a NUL right after a
 * top-level scalar for the end of the text. tests/test_jsonread.c and the
 * fuzz_json target hold it to that, value for value, against jansson.
 */
#ifndef KN_DOC_JSONREAD_H
#define KN_DOC_JSONREAD_H

#include <jansson.h>
#include <stddef.h>

/* jansson 2.14's JSON_PARSER_MAX_DEPTH: containers nested deeper fail. */
#define KN_JSONREAD_MAX_DEPTH 2048

typedef struct kn_jsonread_error {
    char text[200];     /* what is wrong, for a person, no position in it */
    int line;           /* 1-based line of the offending byte */
    int column;         /* 1-based, in characters (UTF-8 sequences count 1) */
    size_t position;    /* byte offset of the offending byte */
} kn_jsonread_error;

/* Reads the JSON text s[0..n) (no NUL terminator needed; a NUL byte in it is
 * an error like any other stray byte). Returns a new reference the caller
 * owns, or NULL with *e (may be NULL) filled. s is not kept. */
json_t *kn_jsonread(const char *s, size_t n, kn_jsonread_error *e);

/* Finds the top-level member named key (decoded: "\u006detadata" is
 * "metadata") of the JSON object text s[0..n) without building any value.
 * Returns 1 and stores the byte offset and length of the member's value
 * exactly as written (no surrounding whitespace) in *off and *len; returns 0
 * when the text is not an object or has no such member. Meant for text
 * kn_jsonread has accepted, where keys are unique so the member found is
 * the member; on any other text it still reads nothing outside s[0..n),
 * but what it reports may not be a JSON value. Why: the API hands a job's
 * metadata back byte for byte, and numbers that went through jansson would
 * not come back so (a 19-digit id, or 1732250000123.456, loses digits). */
int kn_jsonread_member(const char *s, size_t n, const char *key, size_t *off, size_t *len);

#endif
