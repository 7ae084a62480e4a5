/*
 * tests/support/docparse.c - parsing job documents in tests (see docparse.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tests/support/docparse.h"

/* Copy of s with ' turned into ", in a malloc'ed buffer. */
char *tu_doc_q(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    for (char *c = d; *c; c++)
        if (*c == '\'') *c = '"';
    return d;
}

kn_doc *tu_doc_ok_lim(const char *src, const kn_doc_limits *lim)
{
    char *json = tu_doc_q(src);
    kn_doc *doc = NULL;
    kn_err err;
    int rc = kn_doc_parse(json, strlen(json), lim, &doc, &err);
    if (rc != KN_OK)
        print_error("unexpected error %d at \"%s\": %s\n", rc, err.path, err.msg);
    assert_int_equal(rc, KN_OK);
    assert_int_equal(err.code, KN_OK);
    assert_non_null(doc);
    free(json);
    return doc;
}

kn_doc *tu_doc_ok(const char *src)
{
    return tu_doc_ok_lim(src, NULL);
}

/* Parses src expecting failure; returns the error. */
kn_err tu_doc_fail_lim(const char *src, const kn_doc_limits *lim, int code)
{
    char *json = tu_doc_q(src);
    kn_doc *sentinel = (kn_doc *)(uintptr_t)0x1;
    kn_doc *doc = sentinel;
    kn_err err;
    int rc = kn_doc_parse(json, strlen(json), lim, &doc, &err);
    if (rc != code)
        print_error("document %s\n  gave %d (\"%s\": %s), expected %d\n", src, rc, err.path,
                    err.msg, code);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_ptr_equal(doc, sentinel);  /* nothing stored on failure */
    assert_true(err.msg[0] != '\0');
    free(json);
    return err;
}

int tu_doc_find_slot(const kn_doc *d, const char *name)
{
    for (size_t i = 0; i < d->nslots; i++)
        if (strcmp(d->slot_name[i], name) == 0) return (int)i;
    return -1;
}
