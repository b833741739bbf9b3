/* sig_catch: a payload that takes every signal it can: all blocked
 * (sigfillset + sigprocmask), then sigwaitinfo in a loop. Prints "ready",
 * then each signal's number on its own line, flushed, to stdout or to the
 * file named by argv[1]; exits 0 after SIGRTMIN+10 (44). */
#include <signal.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    sigset_t all;
    FILE *out = stdout;

    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    if (argc > 1 && !(out = fopen(argv[1], "a")))
        return 1;
    fprintf(out, "ready\n");
    fflush(out);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0)
            continue;
        fprintf(out, "%d\n", sig);
        fflush(out);
        if (sig == SIGRTMIN + 10)
            return 0;
    }
}
