/* sys_call CALL...: makes each system call with all-zero arguments and
 * prints "CALL ERRNO" (0: it succeeded). CALL is an x86_64 number, or
 * i386:NR (through int 0x80, the 32-bit table) or x32:NR (the x32 table,
 * bit 30 set). A filter that kills the process shows as signal 31 (SIGSYS).
 *
 * sys_call --filter ERRNO NR...: writes to stdout a classic-BPF seccomp
 * filter (struct sock_filter's, as libseccomp's seccomp_export_bpf writes
 * them) that makes each x86_64 call NR fail with ERRNO and kills any other
 * architecture or x32 call, as nsinit's --seccomp-deny does (the benchmark
 * gives it to bubblewrap's --seccomp); --filter-odd writes 7 bytes. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long call32(long nr) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(0), "c"(0), "d"(0) : "memory");
    return ret;
}

static long call64(long nr) {
    long ret;
    register long r10 __asm__("r10") = 0, r8 __asm__("r8") = 0, r9 __asm__("r9") = 0;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(0), "S"(0), "d"(0), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static int write_filter(unsigned err, int n, char **nrs) {
    struct sock_filter f[8 + 256];
    int k = 0;
    if (n > 256)
        return 2;
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    for (int i = 0; i < n; i++)
        f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, strtoul(nrs[i], NULL, 10), n - i, 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA));
    return fwrite(f, sizeof f[0], k, stdout) == (size_t)k ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "--filter"))
        return write_filter(strtoul(argv[2], NULL, 10), argc - 3, argv + 3);
    if (argc == 2 && !strcmp(argv[1], "--filter-odd"))
        return fwrite("1234567", 7, 1, stdout) == 1 ? 0 : 1;
    for (int i = 1; i < argc; i++) {
        long ret;
        if (!strncmp(argv[i], "i386:", 5))
            ret = call32(strtol(argv[i] + 5, NULL, 10));
        else if (!strncmp(argv[i], "x32:", 4))
            ret = call64(0x40000000L | strtol(argv[i] + 4, NULL, 10));
        else
            ret = call64(strtol(argv[i], NULL, 10));
        printf("%s %ld\n", argv[i], ret < 0 && ret > -4096 ? -ret : 0);
        fflush(stdout);
    }
    return 0;
}
