/* proc_eagain K PROGRAM [ARGS...]: the kernel's EAGAIN from openat2, as it
 * comes when a rename or a mount anywhere on the system races a lookup
 * that crossed "..". Runs PROGRAM under a seccomp filter that hands every
 * openat2 (x86_64 437) to this process (SECCOMP_RET_USER_NOTIF), which
 * fails the first K with EAGAIN and lets the rest go on. Exits with
 * PROGRAM's status (128+N for signal N), 2 on a setup error. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 437, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
    if (argc < 3)
        return 2;
    long left = strtol(argv[1], NULL, 10);
    /* This process never calls openat2 itself: the filter applies to it
     * too, and a notification of its own would wait for itself. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        perror("proc_eagain: no_new_privs");
        return 2;
    }
    int listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                           SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (listener < 0) {
        perror("proc_eagain: seccomp");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        close(listener);
        execv(argv[2], argv + 2);
        perror("proc_eagain: execv");
        _exit(127);
    }
    int pidfd = syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        perror("proc_eagain: pidfd_open");
        return 2;
    }
    struct seccomp_notif_sizes sizes;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes))
        return 2;
    struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
    struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
    for (;;) {
        struct pollfd fds[2] = {{listener, POLLIN, 0}, {pidfd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0)
            continue;
        if (fds[0].revents & POLLIN) {
            memset(req, 0, sizes.seccomp_notif);
            if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
                continue; /* the caller died meanwhile */
            memset(resp, 0, sizes.seccomp_notif_resp);
            resp->id = req->id;
            if (left > 0) {
                left--;
                resp->error = -EAGAIN;
            } else {
                resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            }
            ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
        } else if (fds[1].revents & POLLIN) {
            int status;
            if (waitpid(pid, &status, 0) != pid)
                return 2;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
}
