/* sig_stacklimit KB PROGRAM [ARGS...]: sets the stack limit (soft and hard)
 * to KB KiB and execs PROGRAM, with no shell in between: a shell itself may
 * not run under a few KiB of stack. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: sig_stacklimit KB PROGRAM [ARGS...]\n");
        return 2;
    }
    rlim_t bytes = (rlim_t)strtoul(argv[1], NULL, 10) * 1024;
    struct rlimit r = {bytes, bytes};
    if (setrlimit(RLIMIT_STACK, &r) != 0) {
        perror("setrlimit");
        return 2;
    }
    execv(argv[2], argv + 2);
    perror("execv");
    return 2;
}
