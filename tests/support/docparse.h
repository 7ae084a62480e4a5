/*
 * tests/support/docparse.h - parsing job documents in tests: documents are
 * written with single quotes (tu_doc_q turns them into JSON, so none may
 * hold a literal apostrophe), parsed, and the outcome asserted.
 */
#ifndef KN_TESTS_SUPPORT_DOCPARSE_H
#define KN_TESTS_SUPPORT_DOCPARSE_H

#include "doc/doc.h"

/* Copy of s with ' turned into ", malloc'ed (the caller frees it). */
char *tu_doc_q(const char *s);

/* Parses src (single-quoted) with limits lim (NULL: defaults); fails the
 * test unless it parses. The caller destroys the document. */
kn_doc *tu_doc_ok_lim(const char *src, const kn_doc_limits *lim);
kn_doc *tu_doc_ok(const char *src);

/* Parses src expecting the error code `code`, and that nothing is stored on
 * failure; returns the error. */
kn_err tu_doc_fail_lim(const char *src, const kn_doc_limits *lim, int code);

/* The slot named name ("id.prop" or a var), or -1. */
int tu_doc_find_slot(const kn_doc *d, const char *name);

#endif
