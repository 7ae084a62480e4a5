/*
 * common/require.c - see require.h. The message goes through kn_log so it
 * carries the process tag and pid like every other line (a worker's broken
 * contract is told apart from the server's).
 */
#include "common/require.h"

#include <stdlib.h>

#include "common/log.h"

void kn_require_failed(const char *file, int line, const char *func, const char *cond)
{
    /* The process is about to die: this line is worth more than a quiet log. */
    if (kn_log_level() > KN_LOG_ERROR) kn_log_set_level(KN_LOG_ERROR);
    kn_log(KN_LOG_ERROR, "%s:%d: %s: requirement failed: %s (a bug in the caller; aborting)", file,
           line, func, cond);
    abort();
}
