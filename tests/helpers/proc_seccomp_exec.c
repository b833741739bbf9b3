/* proc_seccomp_exec [NR:ERRNO]... PROGRAM [ARGS...]: an older kernel or a
 * container engine's seccomp profile, as nsinit would meet it. Each x86_64
 * syscall NR fails with ERRNO (ENOSYS: a kernel without it); with no
 * NR:ERRNO given, clone3 (435) fails with EPERM, as older engines' default
 * profiles do. Everything else is allowed. Sets no_new_privs, installs
 * that classic-BPF filter, then execv's PROGRAM with its arguments (exit
 * 127 if it cannot, 2 on bad arguments). */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MAX_RULES 8

int main(int argc, char **argv) {
    struct sock_filter filter[4 + 2 * MAX_RULES];
    unsigned rules = 0, n = 0;
    int i = 1;
    unsigned nr[MAX_RULES], err[MAX_RULES];

    for (; i < argc && argv[i][0] >= '0' && argv[i][0] <= '9'; i++) {
        char *colon = strchr(argv[i], ':');
        if (!colon || rules == MAX_RULES)
            return 2;
        nr[rules] = strtoul(argv[i], NULL, 10);
        err[rules++] = strtoul(colon + 1, NULL, 10);
    }
    if (i >= argc)
        return 2;
    if (!rules) {
        nr[0] = 435;
        err[0] = EPERM;
        rules = 1;
    }
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                              offsetof(struct seccomp_data, arch));
    /* Another architecture: straight to the final ALLOW. */
    filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0,
                                              1 + 2 * rules);
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                              offsetof(struct seccomp_data, nr));
    for (unsigned r = 0; r < rules; r++) {
        filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr[r], 0, 1);
        filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                                  SECCOMP_RET_ERRNO | (err[r] & 0xffff));
    }
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {n, filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("proc_seccomp_exec: seccomp");
        return 2;
    }
    execv(argv[i], argv + i);
    perror("proc_seccomp_exec: execv");
    return 127;
}
