/*
 * common/limits.h - every limit Kinora enforces, in one place.
 *
 * A limit protects the service: exceeding one is a clear error for the one
 * job or client concerned (a 400/413 or a failed job), never a crash or a
 * stall for anyone else. docs/job-format.md and docs/api.md quote these
 * numbers; change both together.
 *
 * Limits that belong to one module's data structure and are never seen by a
 * client (a scratch buffer, a recursion guard) stay in that module's .c file
 * with a comment saying why.
 */
#ifndef KN_COMMON_LIMITS_H
#define KN_COMMON_LIMITS_H

#include <stddef.h>

/* ---- preview ------------------------------------------------------------ */

/* Longest a preview child may take to draw its frame. */
#define KN_PREVIEW_TIMEOUT_MS 60000
/* Largest PNG a preview child may write. */
#define KN_PREVIEW_MAX_PNG ((size_t)512 << 20)

#endif
