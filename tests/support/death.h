/*
 * tests/support/death.h - checks that a broken caller contract stops the process:
 * KN_REQUIRE (common/require.h) logs and aborts, so the call runs in a
 * forked child and the test looks at how the child ended.
 */
#ifndef KN_TESTS_SUPPORT_DEATH_H
#define KN_TESTS_SUPPORT_DEATH_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn(arg) in a child process; true when the child died of SIGABRT,
 * false when fn returned (or the child ended any other way). */
static inline bool tu_dies(void (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);   /* an expected abort needs no core file */
        fn(arg);
        _exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return false;
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

#endif
