/*
 * common/require.h - contracts at module boundaries that stay on in shipped
 * builds.
 *
 * KN_REQUIRE(cond) states what a caller must guarantee when it calls a
 * module's public function: a non-NULL handle, an id of the right length, a
 * frame index inside the ring, an enum value inside its range. A false
 * condition is a bug in the caller, not bad input: it logs
 * "file:line: function: requirement failed: cond" and aborts, whatever
 * NDEBUG says, so the bug stops where it is instead of corrupting a job
 * record or a frame ring further on. Input from users (documents, query
 * strings, CLI arguments) is never checked with it: that gets a KN_E* error
 * with a message the user can act on (common/err.h).
 */
#ifndef KN_COMMON_REQUIRE_H
#define KN_COMMON_REQUIRE_H

/* Logs the failed requirement through common/log and aborts. */
_Noreturn void kn_require_failed(const char *file, int line, const char *func, const char *cond);

#define KN_REQUIRE(cond) \
    ((cond) ? (void)0 : kn_require_failed(__FILE__, __LINE__, __func__, #cond))

#endif
