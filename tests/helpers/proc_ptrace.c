/* proc_ptrace PID: a hostile payload trying to take over PID (its --init
 * parent): PTRACE_ATTACH, then PTRACE_SEIZE. Prints one line per attempt,
 * "attach: ok" / "seize: ok" (and detaches again) or the errno's name,
 * e.g. "attach: EPERM". Exits 0 either way. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

static const char *name(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EACCES: return "EACCES";
    default: return strerror(e);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    pid_t pid = atoi(argv[1]);
    if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
        waitpid(pid, NULL, __WALL);
        ptrace(PTRACE_DETACH, pid, 0, 0);
        puts("attach: ok");
    } else {
        printf("attach: %s\n", name(errno));
    }
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
        ptrace(PTRACE_DETACH, pid, 0, 0);
        puts("seize: ok");
    } else {
        printf("seize: %s\n", name(errno));
    }
    return 0;
}
