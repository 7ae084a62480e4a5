/*
 * tests/testutil.h - the old place of tests/support/testutil.h, kept only
 * for tests/test_doc.c (edited in another branch); new code includes
 * "tests/support/testutil.h". Remove once test_doc.c does too.
 */
#ifndef KN_TESTS_TESTUTIL_H
#define KN_TESTS_TESTUTIL_H

#include "tests/support/testutil.h"

#endif
